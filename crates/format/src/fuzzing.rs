//! The body of the parser's fuzz target, here so that the test suite can
//! replay the committed fuzz seeds on a stable toolchain.

use crate::{FormatOptions, Formats, LineParser};

/// The formats a fuzz input is read with: the built-in ones, and its
/// `first` line as a custom log-format when it holds a `%` (one that does
/// not compile is a clean error, never a panic, and is left out).
pub fn formats_for(first: &[u8]) -> Formats {
    let mut options = FormatOptions::default();
    if first.contains(&b'%') {
        options
            .custom
            .push(String::from_utf8_lossy(first).into_owned());
    }
    let formats = Formats::new(&options).or_else(|_| Formats::new(&FormatOptions::default()));
    formats.expect("the built-in formats compile")
}

/// Reads `data` as a log: the first line, when it holds a `%`, is also
/// tried as a custom log-format; every line is parsed and every field read.
pub fn parse_everything(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let formats = formats_for(first);
    let mut parser = LineParser::new(&formats, None);
    for line in std::iter::once(first).chain(lines) {
        let record = parser.parse(line);
        if let Some(format) = record.format {
            for i in 0..format.items().len() {
                let v = record.item(i).expect("an item of the format");
                assert!(v.len() <= line.len());
            }
        }
        for &field in crate::Field::ALL {
            if let Some(v) = record.get(field) {
                let _ = crate::record::parse_number(v);
                let _ = crate::record::request_parts(v);
            }
        }
    }
}
