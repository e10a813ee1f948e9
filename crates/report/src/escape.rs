//! Escaping bytes for JSON, CSV, Markdown and the terminal.

use std::borrow::Cow;

/// Appends `bytes` as a JSON string (quotes included). Invalid UTF-8
/// becomes U+FFFD, as a lossy decoder would.
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Most values are plain ASCII with nothing to escape.
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        json_str_body(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
    out.push(b'"');
}

fn json_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)) {
            // A C1 control (U+0080-U+009F, CSI among them) escaped too, so
            // that NDJSON on a terminal drives nothing.
            out.extend_from_slice(&bytes[start..i]);
            push_unicode_escape(out, bytes[i + 1]);
            start = i + 2;
            continue;
        }
        if start > i {
            continue;
        }
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            push_unicode_escape(out, b);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `\u00XX` for a code point below 0x100.
fn push_unicode_escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    out.push(HEX[(c >> 4) as usize]);
    out.push(HEX[(c & 15) as usize]);
}

/// Appends `bytes` as one CSV field (RFC 4180): quoted when it holds a
/// comma, a quote or a line break. Invalid UTF-8 becomes U+FFFD.
pub fn csv_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let needs_quotes = bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if needs_quotes {
        out.push(b'"');
    }
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
    if needs_quotes {
        out.push(b'"');
    }
}

/// Text with its control characters shown, not obeyed: log bytes are
/// written by whoever sends requests, and ESC, CSI, OSC and the other C0
/// and C1 controls would drive the terminal that shows them (move the
/// cursor, retitle the window, hide text). Each becomes `\xNN` (`\x1b`);
/// everything else is left as it is.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0 (tab and newline included: a cell holds one line), DEL and C1.
fn is_control(c: char) -> bool {
    matches!(u32::from(c), 0..=0x1f | 0x7f..=0x9f)
}

/// How CSV cells are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvStyle {
    /// Text cells that a spreadsheet would run as a formula get a `'` in
    /// front ([`formula_guarded`]); off for `--csv-raw`.
    pub guard_formulas: bool,
    /// Control characters shown as `\xNN` ([`inert`]): for a terminal.
    pub inert: bool,
}

impl Default for CsvStyle {
    fn default() -> CsvStyle {
        CsvStyle {
            guard_formulas: true,
            inert: false,
        }
    }
}

/// Whether a cell needs a `'` in front so that Excel and LibreOffice show
/// it instead of running it (OWASP's CSV injection): text starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return. Numbers (`-1`, `+12`)
/// stay numbers, and dashes and letters alone (termination states such as
/// `----` or `--NI`) cannot call anything and stay as HAProxy wrote them.
pub fn formula_guarded(cell: &[u8]) -> bool {
    let Some(&first) = cell.first() else {
        return false;
    };
    if !matches!(first, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') {
        return false;
    }
    let number = {
        let digits = cell
            .strip_prefix(b"+")
            .or(cell.strip_prefix(b"-"))
            .unwrap_or(cell);
        let mut parts = digits.splitn(2, |&b| b == b'.');
        let whole = parts.next().unwrap_or_default();
        let fraction = parts.next();
        !whole.is_empty()
            && whole.iter().all(u8::is_ascii_digit)
            && fraction.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
    };
    let dashes_and_letters = cell.iter().all(|&b| b == b'-' || b.is_ascii_alphabetic());
    !number && !dashes_and_letters
}

/// A text cell as written in `style`: made inert, then guarded against
/// formulas; not yet quoted.
pub fn csv_shown(bytes: &[u8], style: CsvStyle) -> Cow<'_, [u8]> {
    let shown: Cow<'_, [u8]> = if style.inert {
        match inert(&String::from_utf8_lossy(bytes)) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }
    } else {
        Cow::Borrowed(bytes)
    };
    if style.guard_formulas && formula_guarded(&shown) {
        let mut guarded = Vec::with_capacity(shown.len() + 1);
        guarded.push(b'\'');
        guarded.extend_from_slice(&shown);
        Cow::Owned(guarded)
    } else {
        shown
    }
}

/// Appends one CSV cell in `style`: [`csv_shown`], then quoted as
/// [`csv_field`] does.
pub fn csv_cell(out: &mut Vec<u8>, bytes: &[u8], style: CsvStyle) {
    csv_field(out, &csv_shown(bytes, style));
}

/// A Markdown table cell: inert, its pipes, backslashes, backticks, link
/// brackets and `*` escaped, `<` as `&lt;` (no HTML), one line. (An `_`
/// inside a word, as in `be_static`, emphasises nothing.)
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in inert(s).chars() {
        match c {
            '\\' | '|' | '`' | '[' | ']' | '*' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_parse_back() {
        for input in [
            &b"plain"[..],
            b"quote \" back \\ slash",
            b"ctl \x01\x1f\x7f tab\t nl\n",
            b"caf\xc3\xa9 and bad \xff\xfe bytes",
            b"c1 \xc2\x9b31m \xc2\x80\xc2\xa0 \xc2",
            b"",
        ] {
            let mut out = Vec::new();
            json_string(&mut out, input);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, String::from_utf8_lossy(input));
            assert!(
                !out.windows(2).any(|w| w[0] == 0xc2 && w[1] < 0xa0),
                "C1 escaped"
            );
        }
    }

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(inert("/a?b=c"), "/a?b=c");
        assert!(matches!(inert("caf\u{e9}"), Cow::Borrowed(_)));
        assert_eq!(
            inert("\x1b[2J\x1b]0;pwned\x07"),
            "\\x1b[2J\\x1b]0;pwned\\x07"
        );
        assert_eq!(inert("a\tb\nc\u{9b}31m\x7f"), "a\\x09b\\x0ac\\x9b31m\\x7f");
    }

    #[test]
    fn formulas_are_guarded_numbers_are_not() {
        for cell in [
            "=1+2",
            "=HYPERLINK(\"x\")",
            "+cmd",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=",
            "-1e3",
        ] {
            assert!(formula_guarded(cell.as_bytes()), "{cell:?}");
        }
        for cell in [
            "-1", "+12", "3.5", "-0.25", "-", "----", "--NI", "CD--", "/path", "", "a=b",
        ] {
            assert!(!formula_guarded(cell.as_bytes()), "{cell:?}");
        }
        let mut out = Vec::new();
        csv_cell(&mut out, b"=1+2,3", CsvStyle::default());
        assert_eq!(out, b"\"'=1+2,3\"");
        out.clear();
        csv_cell(
            &mut out,
            b"=1+2",
            CsvStyle {
                guard_formulas: false,
                inert: false,
            },
        );
        assert_eq!(out, b"=1+2");
        out.clear();
        csv_cell(
            &mut out,
            b"a\x1bb",
            CsvStyle {
                guard_formulas: true,
                inert: true,
            },
        );
        assert_eq!(out, b"a\\x1bb");
    }

    #[test]
    fn markdown_cells_are_text() {
        assert_eq!(
            markdown_cell("a|b `c` [x](javascript:y) <script> *s* \\ \x1b"),
            "a\\|b \\`c\\` \\[x\\](javascript:y) &lt;script> \\*s\\* \\\\ \\\\x1b",
            "a backslash escaped, so the escape renders as `\\x1b`"
        );
    }

    #[test]
    fn csv_fields() {
        let mut out = Vec::new();
        csv_field(&mut out, b"a,b \"c\"");
        assert_eq!(out, b"\"a,b \"\"c\"\"\"");
        out.clear();
        csv_field(&mut out, b"plain");
        assert_eq!(out, b"plain");
    }
}
