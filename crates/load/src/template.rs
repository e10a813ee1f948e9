//! ghz's call templates: `-d` and `-m` strings are Go `text/template`s run
//! once per call, so a request can carry its number or a fresh UUID
//! (`{"id":"{{.RequestNumber}}"}`).
//!
//! haplog supports the actions people use in practice: the call fields
//! (`{{.RequestNumber}}`, `{{.WorkerID}}`, `{{.Timestamp}}`, ...) and the
//! functions `newUUID`, `randomString N` and `randomInt MIN MAX`, with Go's
//! `{{-`/`-}}` whitespace trimming. Anything else (sprig, pipelines, `if`)
//! is refused when the run starts, naming the action, rather than sent
//! literally.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a template can refer to, for one call.
#[derive(Clone, Debug)]
pub struct CallContext<'a> {
    pub worker_id: &'a str,
    pub request_number: u64,
    pub fully_qualified_name: &'a str,
    pub method_name: &'a str,
    pub service_name: &'a str,
    pub input_name: &'a str,
    pub output_name: &'a str,
    pub is_client_streaming: bool,
    pub is_server_streaming: bool,
    pub now: SystemTime,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Field(Field),
    NewUuid,
    RandomString(i64),
    RandomInt(i64, i64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    WorkerId,
    RequestNumber,
    FullyQualifiedName,
    MethodName,
    ServiceName,
    InputName,
    OutputName,
    IsClientStreaming,
    IsServerStreaming,
    Timestamp,
    TimestampUnix,
    TimestampUnixMilli,
    TimestampUnixNano,
    Uuid,
}

/// A parsed template. `Template::parse` of a string with no actions gives
/// one that is [`Template::is_static`], so callers can render it once.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// `functions` is false under `--disable-template-functions`.
    pub fn parse(text: &str, functions: bool) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut pending = String::new();
        while let Some(open) = rest.find("{{") {
            let mut before = &rest[..open];
            let after_open = &rest[open + 2..];
            let (trim_left, body_start) = match after_open.strip_prefix("- ") {
                Some(body) => (true, body),
                None => (false, after_open),
            };
            if trim_left {
                before = before.trim_end();
            }
            pending.push_str(before);
            let close = body_start
                .find("}}")
                .ok_or_else(|| format!("unclosed action in template {text:?}"))?;
            let mut body = &body_start[..close];
            let mut after = &body_start[close + 2..];
            if let Some(trimmed) = body.strip_suffix(" -") {
                body = trimmed;
                after = after.trim_start();
            }
            if !pending.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut pending)));
            }
            pieces.push(parse_action(body.trim(), functions)?);
            rest = after;
        }
        pending.push_str(rest);
        if !pending.is_empty() {
            pieces.push(Piece::Text(pending));
        }
        Ok(Template { pieces })
    }

    pub fn is_static(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    pub fn render(&self, context: &CallContext<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(field) => render_field(*field, context, &mut out),
                Piece::NewUuid => out.push_str(&new_uuid()),
                Piece::RandomString(length) => out.push_str(&random_string(*length)),
                Piece::RandomInt(min, max) => {
                    let span = (*max - *min).max(1) as u64;
                    out.push_str(&(*min + (next_random() % span) as i64).to_string());
                }
            }
        }
        out
    }
}

fn parse_action(body: &str, functions: bool) -> Result<Piece, String> {
    let unsupported = || {
        format!(
            "unsupported template action {{{{{body}}}}}: haplog supports the call fields \
             (.RequestNumber, .WorkerID, .Timestamp, ...) and newUUID, randomString N, randomInt MIN MAX"
        )
    };
    if let Some(name) = body.strip_prefix('.') {
        let field = match name {
            "WorkerID" => Field::WorkerId,
            "RequestNumber" => Field::RequestNumber,
            "FullyQualifiedName" => Field::FullyQualifiedName,
            "MethodName" => Field::MethodName,
            "ServiceName" => Field::ServiceName,
            "InputName" => Field::InputName,
            "OutputName" => Field::OutputName,
            "IsClientStreaming" => Field::IsClientStreaming,
            "IsServerStreaming" => Field::IsServerStreaming,
            "Timestamp" => Field::Timestamp,
            "TimestampUnix" => Field::TimestampUnix,
            "TimestampUnixMilli" => Field::TimestampUnixMilli,
            "TimestampUnixNano" => Field::TimestampUnixNano,
            "UUID" => Field::Uuid,
            _ => return Err(format!("unknown template field {{{{.{name}}}}}")),
        };
        return Ok(Piece::Field(field));
    }
    if !functions {
        return Err(unsupported());
    }
    let words: Vec<&str> = body.split_whitespace().collect();
    let number = |word: &str| {
        word.parse::<i64>()
            .map_err(|_| format!("{{{{{body}}}}}: {word:?} is not a whole number"))
    };
    match words.as_slice() {
        ["newUUID"] => Ok(Piece::NewUuid),
        ["randomString", length] => Ok(Piece::RandomString(number(length)?)),
        ["randomInt", min, max] => {
            let (min, max) = (number(min)?, number(max)?);
            if max < min {
                return Err(format!("{{{{{body}}}}}: MAX is below MIN"));
            }
            Ok(Piece::RandomInt(min, max))
        }
        _ => Err(unsupported()),
    }
}

fn render_field(field: Field, c: &CallContext<'_>, out: &mut String) {
    let since_epoch = c.now.duration_since(UNIX_EPOCH).unwrap_or_default();
    match field {
        Field::WorkerId => out.push_str(c.worker_id),
        Field::RequestNumber => out.push_str(&c.request_number.to_string()),
        Field::FullyQualifiedName => out.push_str(c.fully_qualified_name),
        Field::MethodName => out.push_str(c.method_name),
        Field::ServiceName => out.push_str(c.service_name),
        Field::InputName => out.push_str(c.input_name),
        Field::OutputName => out.push_str(c.output_name),
        Field::IsClientStreaming => out.push_str(bool_text(c.is_client_streaming)),
        Field::IsServerStreaming => out.push_str(bool_text(c.is_server_streaming)),
        Field::Timestamp => out.push_str(&rfc3339(since_epoch.as_secs() as i64, None)),
        Field::TimestampUnix => out.push_str(&since_epoch.as_secs().to_string()),
        Field::TimestampUnixMilli => out.push_str(&since_epoch.as_millis().to_string()),
        Field::TimestampUnixNano => out.push_str(&since_epoch.as_nanos().to_string()),
        Field::Uuid => out.push_str(&new_uuid()),
    }
}

fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// RFC 3339 in UTC, as Go's `time.RFC3339` (`nanos: None`) or
/// `time.RFC3339Nano` (trailing zeros of the fraction dropped) prints it.
pub fn rfc3339(unix_seconds: i64, nanos: Option<u32>) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let second_of_day = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = haplog_format::time::civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if let Some(nanos) = nanos.filter(|n| *n > 0) {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

static RANDOM_SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
static RANDOM_COUNTER: AtomicU64 = AtomicU64::new(1);

/// splitmix64 over a shared counter, seeded from the clock: good enough for
/// test data, and lock-free across calls.
pub(crate) fn next_random() -> u64 {
    let seed = *RANDOM_SEED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let n = RANDOM_COUNTER.fetch_add(1, Ordering::Relaxed);
    splitmix64(seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random (version 4) UUID in its usual text form.
pub fn new_uuid() -> String {
    let high = next_random();
    let low = next_random();
    let high = (high & !0xF000) | 0x4000; // version 4
    let low = (low & !(0xC0 << 56)) | (0x80 << 56); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// ghz's `randomString`: letters and digits; a length of 0 or less picks a
/// random length from 2 to 16.
fn random_string(length: i64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let length = if length <= 0 {
        2 + (next_random() % 15) as usize
    } else {
        length as usize
    };
    (0..length)
        .map(|_| ALPHABET[(next_random() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// A call of `haplog.demo.Tts/Speak` by worker `g3c0`, for tests.
#[cfg(test)]
pub(crate) fn test_context(request_number: u64, now: SystemTime) -> CallContext<'static> {
    CallContext {
        worker_id: "g3c0",
        request_number,
        fully_qualified_name: "haplog.demo.Tts.Speak",
        method_name: "Speak",
        service_name: "Tts",
        input_name: "SpeakRequest",
        output_name: "SpeakResponse",
        is_client_streaming: false,
        is_server_streaming: true,
        now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(now: SystemTime) -> CallContext<'static> {
        test_context(41, now)
    }

    #[test]
    fn renders_fields() {
        let now = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let t = Template::parse(
            r#"{"n":"{{.RequestNumber}}","w":"{{ .WorkerID }}","m":"{{.FullyQualifiedName}}","t":"{{.Timestamp}}","ms":{{.TimestampUnixMilli}},"s":{{.IsServerStreaming}}}"#,
            true,
        )
        .unwrap();
        assert!(!t.is_static());
        assert_eq!(
            t.render(&context(now)),
            r#"{"n":"41","w":"g3c0","m":"haplog.demo.Tts.Speak","t":"2023-11-14T22:13:20Z","ms":1700000000123,"s":true}"#
        );
    }

    #[test]
    fn static_text_and_trimming() {
        let t = Template::parse(r#"{"text":"hi"}"#, true).unwrap();
        assert!(t.is_static());
        assert_eq!(t.render(&context(UNIX_EPOCH)), r#"{"text":"hi"}"#);
        let t = Template::parse("a  {{- .MethodName -}}  b", true).unwrap();
        assert_eq!(t.render(&context(UNIX_EPOCH)), "aSpeakb");
    }

    #[test]
    fn functions() {
        let t = Template::parse("{{newUUID}}|{{randomString 8}}|{{randomInt 5 6}}", true).unwrap();
        let out = t.render(&context(UNIX_EPOCH));
        let parts: Vec<&str> = out.split('|').collect();
        assert_eq!(parts[0].len(), 36);
        assert_eq!(&parts[0][14..15], "4");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2], "5");
        assert_ne!(new_uuid(), new_uuid());
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "{{.Nope}}",
            "{{ upper .MethodName }}",
            "{{ if .X }}",
            "{{.RequestNumber",
        ] {
            assert!(Template::parse(bad, true).is_err(), "{bad}");
        }
        let err = Template::parse("{{newUUID}}", false).unwrap_err();
        assert!(err.contains("unsupported"), "{err}");
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(86_399, Some(120_000_000)),
            "1970-01-01T23:59:59.12Z"
        );
        assert_eq!(rfc3339(86_400, Some(0)), "1970-01-02T00:00:00Z");
    }
}
