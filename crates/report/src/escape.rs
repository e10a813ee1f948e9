//! Escaping bytes for JSON and CSV output.

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
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
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
            b"",
        ] {
            let mut out = Vec::new();
            json_string(&mut out, input);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, String::from_utf8_lossy(input));
        }
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
