//! The log formats a haproxy.cfg declares.

/// The `log-format` and `error-log-format` strings of a haproxy.cfg, in
/// order and without duplicates. Built-in formats (`option httplog`, …)
/// need nothing: they are always tried.
pub fn log_formats(config: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let is_format = [
            "log-format ",
            "log-format\t",
            "error-log-format ",
            "error-log-format\t",
        ]
        .iter()
        .any(|k| line.starts_with(k));
        if is_format {
            let directive = strip_comment(line).to_string();
            if !found.contains(&directive) {
                found.push(directive);
            }
        }
    }
    found
}

/// The 1-based place of the `grpc-status` response header among the
/// `capture response header` lines of a haproxy.cfg (`%hs` logs them in
/// that order, `{a|b|c}`), if it captures it.
pub fn grpc_status_capture(config: &str) -> Option<usize> {
    let mut place = 0;
    for line in config.lines() {
        let words: Vec<&str> = strip_comment(line.trim()).split_whitespace().collect();
        if let ["capture", "response", "header", name, ..] = words.as_slice() {
            place += 1;
            if name.eq_ignore_ascii_case("grpc-status") {
                return Some(place);
            }
        }
    }
    None
}

/// The line without a trailing `# comment` (a `#` outside quotes and not
/// escaped).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' | '\'' if quote.is_none() => quote = Some(c),
            c if Some(c) == quote => quote = None,
            '#' if quote.is_none() && line[..i].ends_with([' ', '\t']) => {
                return line[..i].trim_end()
            }
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grpc_status_capture_is_found() {
        let cfg = "frontend fe\n    capture request header Host len 20\n    capture response header Content-Type len 30\n    # capture response header nope len 1\n    capture response header grpc-status len 2 # for haplog\n";
        assert_eq!(grpc_status_capture(cfg), Some(2));
        assert_eq!(grpc_status_capture("frontend fe\n"), None);
    }

    #[test]
    fn directives_are_collected() {
        let cfg = "global\n  log stdout format raw local0\ndefaults\n    log-format \"%ci %ST\" # short\n    # log-format \"%b\"\nfrontend a\n    error-log-format '%ci %ft'\n    log-format \"%ci %ST\"\n";
        assert_eq!(
            log_formats(cfg),
            vec![
                "log-format \"%ci %ST\"".to_string(),
                "error-log-format '%ci %ft'".to_string()
            ]
        );
    }
}
