//! HAProxy `log-format` strings: tokenising them, and the built-in ones.
//!
//! Every built-in traffic format (tcplog, httplog, httpslog, CLF) is itself
//! a log-format string, so one compiler covers them and a user's custom
//! format alike (log-formats spec, section f).

use std::fmt;

/// A piece of a log-format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Text printed as is (`%%` already turned into `%`).
    Literal(String),
    /// A `%` item.
    Item(ItemSpec),
}

/// One `%` item: `%[{flags}][(name)](alias | [sample expression])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemSpec {
    pub value: Value,
    /// The `+Q` flag (quoted), from the item or from a preceding `%o`.
    pub quoted: bool,
    /// The `+X` flag (hexadecimal numbers).
    pub hex: bool,
    /// The `+E` flag (backslash escapes inside quotes).
    pub escaped: bool,
    /// HAProxy 3.0's `%(name)` or `%(name:type)`.
    pub name: Option<String>,
}

/// What an item prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A log-format variable such as `ci`, `Tw` or `tsc`.
    Alias(String),
    /// A sample expression, `%[ssl_fc_sni]`, without the brackets.
    Sample(String),
}

/// A log-format string that cannot be read, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset in the string.
    pub at: usize,
    pub reason: &'static str,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "log-format: {} at byte {}", self.reason, self.at)
    }
}

impl std::error::Error for FormatError {}

/// The built-in formats, as HAProxy defines them (src/log.c).
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
/// `option httplog`, 1.7 and later.
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// `option httplog` before 1.7: the accept date and the Tq…Tt timers.
pub const HTTPLOG_LEGACY: &str = "%ci:%cp [%t] %ft %b/%s %Tq/%Tw/%Tc/%Tr/%Tt %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// `option httpslog` (2.5 and later).
pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";
/// `option httplog clf`, 1.7 and later.
pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";
/// `option tcplog clf` (3.1 and later).
pub const TCPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%T] \"TCP \" 000 %B \"\" \"\" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq \"\" \"\" ";
/// The error-log-format HAProxy's documentation suggests for TLS errors.
pub const ERROR_LOG_TLS: &str = "%ci:%cp [%tr] %ft %ac/%fc %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";

/// The built-in formats by the names users give them.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("httplog", HTTPLOG),
    ("httpslog", HTTPSLOG),
    ("tcplog", TCPLOG),
    ("clf", HTTPLOG_CLF),
    ("tcpclf", TCPLOG_CLF),
    ("legacy16", HTTPLOG_LEGACY),
    ("error-tls", ERROR_LOG_TLS),
];

/// Reads a log-format string as written in haproxy.cfg. The whole
/// directive may be pasted: a leading `log-format` keyword and surrounding
/// double quotes are removed, and haproxy.cfg's backslash escapes (`\"`,
/// `\ `, `\\`) undone.
pub fn tokenize(text: &str) -> Result<Vec<Token>, FormatError> {
    let unquoted = config_value(text);
    let s = unquoted.as_str();
    let bytes = s.as_bytes();
    let mut tokens = Vec::new();
    let mut literal = String::new();
    // `%o` flags that apply to every later item.
    let mut default_quoted = false;
    let mut default_hex = false;
    let mut default_escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let next = s[i..].find('%').map_or(s.len(), |j| i + j);
            literal.push_str(&s[i..next]);
            i = next;
            continue;
        }
        let start = i;
        i += 1;
        if bytes.get(i) == Some(&b'%') {
            literal.push('%');
            i += 1;
            continue;
        }
        let (mut quoted, mut hex, mut escaped) = (default_quoted, default_hex, default_escaped);
        if bytes.get(i) == Some(&b'{') {
            let close = s[i..].find('}').ok_or(FormatError {
                at: i,
                reason: "'{' of the item flags is never closed",
            })? + i;
            for flag in split_flags(&s[i + 1..close]) {
                match flag {
                    ("+", "Q") => quoted = true,
                    ("-", "Q") => quoted = false,
                    ("+", "X") => hex = true,
                    ("-", "X") => hex = false,
                    ("+", "E") => escaped = true,
                    ("-", "E") => escaped = false,
                    // +json, +cbor, +bin and others change the encoding of
                    // the whole line; they are not needed to find values.
                    _ => {}
                }
            }
            i = close + 1;
        }
        let mut name = None;
        if bytes.get(i) == Some(&b'(') {
            let close = s[i..].find(')').ok_or(FormatError {
                at: i,
                reason: "'(' of the item name is never closed",
            })? + i;
            let inner = &s[i + 1..close];
            name = Some(inner.split(':').next().unwrap_or(inner).to_string());
            i = close + 1;
        }
        let value = if bytes.get(i) == Some(&b'[') {
            let close = matching_bracket(bytes, i).ok_or(FormatError {
                at: i,
                reason: "'[' of the sample expression is never closed",
            })?;
            let expr = s[i + 1..close].to_string();
            i = close + 1;
            Value::Sample(expr)
        } else {
            let end = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .map_or(bytes.len(), |j| i + j);
            if end == i {
                return Err(FormatError {
                    at: start,
                    reason: "'%' is followed by neither a variable, '[' nor '%'",
                });
            }
            let alias = &s[i..end];
            i = end;
            if alias == "o" {
                // `%o` prints nothing: its flags become the default.
                default_quoted = quoted;
                default_hex = hex;
                default_escaped = escaped;
                continue;
            }
            Value::Alias(alias.to_string())
        };
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Item(ItemSpec {
            value,
            quoted,
            hex,
            escaped,
            name,
        }));
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

/// `+Q,-X` or `+Q+X` → `[("+", "Q"), ("-", "X")]`.
fn split_flags(flags: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = flags;
    while let Some(sign_at) = rest.find(['+', '-']) {
        let sign = &rest[sign_at..sign_at + 1];
        let body = &rest[sign_at + 1..];
        let end = body.find(['+', '-', ',']).unwrap_or(body.len());
        out.push((sign, &body[..end]));
        rest = &body[end..];
    }
    out
}

/// The `]` that closes the `[` at `open`, counting nested brackets.
fn matching_bracket(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The value of a `log-format` directive as haproxy.cfg would read it.
fn config_value(text: &str) -> String {
    let mut s = text.trim();
    for keyword in ["log-format-sd", "error-log-format", "log-format"] {
        if let Some(rest) = s.strip_prefix(keyword) {
            if rest.starts_with([' ', '\t']) {
                s = rest.trim_start();
                break;
            }
        }
    }
    let quote = match s.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) if s.len() >= 2 && s.as_bytes()[s.len() - 1] == q => Some(q),
        _ => None,
    };
    match quote {
        Some(b'\'') => s[1..s.len() - 1].to_string(),
        Some(_) => unescape(&s[1..s.len() - 1]),
        None => unescape(s),
    }
}

/// Undoes haproxy.cfg's backslash escapes.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\' | ' ' | '\'' | '#' | '$')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(name: &str, quoted: bool) -> Token {
        Token::Item(ItemSpec {
            value: Value::Alias(name.to_string()),
            quoted,
            hex: false,
            escaped: false,
            name: None,
        })
    }

    fn lit(text: &str) -> Token {
        Token::Literal(text.to_string())
    }

    #[test]
    fn tcplog_tokens() {
        let t = tokenize(TCPLOG).unwrap();
        assert_eq!(
            &t[..8],
            &[
                alias("ci", false),
                lit(":"),
                alias("cp", false),
                lit(" ["),
                alias("t", false),
                lit("] "),
                alias("ft", false),
                lit(" "),
            ]
        );
        assert_eq!(t.iter().filter(|t| matches!(t, Token::Item(_))).count(), 18);
    }

    #[test]
    fn flags_and_default_flags() {
        let t = tokenize(HTTPLOG).unwrap();
        assert_eq!(t.last(), Some(&alias("r", true)));
        let clf = tokenize(HTTPLOG_CLF).unwrap();
        // `%{+Q}o` quotes every later string item; `%{-Q}ci` opts out.
        // (The blank after `%o` is kept here; HAProxy never prints a
        // leading blank, which the matcher accounts for.)
        assert_eq!(clf[0], lit(" "));
        assert_eq!(clf[1], alias("ci", false));
        assert_eq!(clf[3], alias("trg", true));
        assert_eq!(clf[5], alias("r", true));
        let tcp_clf = tokenize(TCPLOG_CLF).unwrap();
        assert!(tcp_clf.contains(&alias("ts", true)));
        assert!(tcp_clf.contains(&lit("-- ")));
    }

    #[test]
    fn samples_names_and_percent() {
        let t = tokenize("%{+Q}[var(txn.ua),json(utf8s)] 100%% %(client_ip)ci %{+X}Ts").unwrap();
        assert_eq!(
            t,
            vec![
                Token::Item(ItemSpec {
                    value: Value::Sample("var(txn.ua),json(utf8s)".into()),
                    quoted: true,
                    hex: false,
                    escaped: false,
                    name: None,
                }),
                lit(" 100% "),
                Token::Item(ItemSpec {
                    value: Value::Alias("ci".into()),
                    quoted: false,
                    hex: false,
                    escaped: false,
                    name: Some("client_ip".into()),
                }),
                lit(" "),
                Token::Item(ItemSpec {
                    value: Value::Alias("Ts".into()),
                    quoted: false,
                    hex: true,
                    escaped: false,
                    name: None,
                }),
            ]
        );
    }

    #[test]
    fn a_pasted_directive_is_unquoted() {
        let direct = tokenize("%ci:%cp \"%r\"").unwrap();
        assert_eq!(tokenize(r#"log-format "%ci:%cp \"%r\"""#).unwrap(), direct);
        assert_eq!(tokenize(r#"  log-format %ci:%cp\ "%r" "#).unwrap(), direct);
        assert_eq!(tokenize(r#"'%ci:%cp "%r"'"#).unwrap(), direct);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(tokenize("%ci %{+Q").unwrap_err().at, 5);
        assert_eq!(tokenize("%[src").unwrap_err().at, 1);
        let e = tokenize("abc % def").unwrap_err();
        assert_eq!(e.at, 4);
        assert!(e.to_string().contains("byte 4"), "{e}");
    }

    #[test]
    fn every_built_in_tokenizes() {
        for (name, text) in BUILT_IN {
            let tokens = tokenize(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(tokens.len() > 5, "{name}");
        }
    }
}
