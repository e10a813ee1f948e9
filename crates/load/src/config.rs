//! ghz's `--config` files (JSON, TOML or YAML, keys named as the long
//! flags) turned into command-line arguments, so that one parser reads
//! both and the flags given on the command line win, as in ghz.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::LoadError;
use crate::units::{parse_bytes, parse_go_duration};

/// How a key's value becomes an argument.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Text,
    Bool,
    Count,
    Signed,
    Duration,
    Size,
    /// A JSON object of strings, passed as JSON (metadata, tags).
    StringMap,
    /// Request data: an object or a non-empty array of objects.
    Data,
    /// A list of paths, joined by commas.
    List,
    /// The server, the positional argument.
    Host,
    /// ghz's `--debug` log path: accepted and left unused.
    Ignored,
}

/// Every key of ghz 0.121's `runner.Config`, and the flag it sets. Keys
/// are the long flag names, with ghz's own spellings (`skipFirst`,
/// `skipTLS`, `cacert`).
const KEYS: &[(&str, Kind)] = &[
    ("proto", Kind::Text),
    ("protoset", Kind::Text),
    ("call", Kind::Text),
    ("cacert", Kind::Text),
    ("cert", Kind::Text),
    ("key", Kind::Text),
    ("count-errors", Kind::Bool),
    ("skipTLS", Kind::Bool),
    ("skipFirst", Kind::Count),
    ("cname", Kind::Text),
    ("authority", Kind::Text),
    ("insecure", Kind::Bool),
    ("total", Kind::Count),
    ("async", Kind::Bool),
    ("concurrency", Kind::Count),
    ("concurrency-schedule", Kind::Text),
    ("concurrency-start", Kind::Count),
    ("concurrency-end", Kind::Count),
    ("concurrency-step", Kind::Signed),
    ("concurrency-step-duration", Kind::Duration),
    ("concurrency-max-duration", Kind::Duration),
    ("connections", Kind::Count),
    ("rps", Kind::Count),
    ("duration", Kind::Duration),
    ("duration-stop", Kind::Text),
    ("max-duration", Kind::Duration),
    ("timeout", Kind::Duration),
    ("data", Kind::Data),
    ("data-file", Kind::Text),
    ("binary-file", Kind::Text),
    ("metadata", Kind::StringMap),
    ("metadata-file", Kind::Text),
    ("stream-interval", Kind::Duration),
    ("stream-call-duration", Kind::Duration),
    ("stream-call-count", Kind::Count),
    ("stream-dynamic-messages", Kind::Bool),
    ("output", Kind::Text),
    ("format", Kind::Text),
    ("connect-timeout", Kind::Duration),
    ("keepalive", Kind::Duration),
    ("cpus", Kind::Count),
    ("import-paths", Kind::List),
    ("name", Kind::Text),
    ("tags", Kind::StringMap),
    ("reflect-metadata", Kind::StringMap),
    ("debug", Kind::Ignored),
    ("host", Kind::Host),
    ("enable-compression", Kind::Bool),
    ("load-schedule", Kind::Text),
    ("load-start", Kind::Count),
    ("load-end", Kind::Count),
    ("load-step", Kind::Signed),
    ("load-step-duration", Kind::Duration),
    ("load-max-duration", Kind::Duration),
    ("lb-strategy", Kind::Text),
    ("max-recv-message-size", Kind::Size),
    ("max-send-message-size", Kind::Size),
    ("disable-template-functions", Kind::Bool),
    ("disable-template-data", Kind::Bool),
    // haplog's own: objectives belong in a CI job's config too.
    ("slo", Kind::Text),
];

/// What the command line gave itself, so the file does not add a second
/// source of the same thing (`-d` on the command line replaces the file's
/// `data` and `data-file`, as ghz's merge does).
#[derive(Clone, Copy, Debug, Default)]
pub struct Given {
    pub host: bool,
    pub data: bool,
    pub metadata: bool,
}

/// A config file as arguments: `--key=value` for each key set to other
/// than its zero value (ghz treats zero as unset), then the host.
#[derive(Debug, Default, PartialEq)]
pub struct ConfigArgs {
    pub args: Vec<String>,
    /// Things the reader should know (keys accepted and not used).
    pub notes: Vec<String>,
}

/// Read `path` (by its extension: .json, .toml, .yaml/.yml; any other is
/// tried as each in turn) into arguments.
pub fn arguments(path: &Path, given: Given) -> Result<ConfigArgs, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e.to_string()))?;
    let value = parse(path, &text)?;
    from_value(path, &value, given)
}

fn config_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Config {
        path: PathBuf::from(path),
        message: message.into(),
    }
}

fn parse(path: &Path, text: &str) -> Result<Value, LoadError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let json = |t: &str| serde_json::from_str::<Value>(t).map_err(|e| format!("not JSON: {e}"));
    let toml = |t: &str| {
        toml::from_str::<toml::Value>(t)
            .map_err(|e| format!("not TOML: {}", e.message()))
            .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
    };
    let yaml = |t: &str| {
        serde_yaml::from_str::<serde_yaml::Value>(t)
            .map_err(|e| format!("not YAML: {e}"))
            .and_then(|v| {
                serde_json::to_value(v).map_err(|e| format!("YAML keys must be strings: {e}"))
            })
    };
    let parsed = match extension.as_str() {
        "json" => json(text),
        "toml" => toml(text),
        "yaml" | "yml" => yaml(text),
        _ => json(text)
            .or_else(|_| toml(text))
            .or_else(|_| yaml(text))
            .map_err(|_| {
                "neither JSON, TOML nor YAML (name it .json, .toml or .yaml to see why)".to_string()
            }),
    };
    parsed.map_err(|message| config_error(path, message))
}

fn from_value(path: &Path, value: &Value, given: Given) -> Result<ConfigArgs, LoadError> {
    let object = match value {
        Value::Object(object) => object,
        Value::Null => return Ok(ConfigArgs::default()),
        _ => return Err(config_error(path, "expected keys and values at the top")),
    };
    let mut out = ConfigArgs::default();
    let mut host = None;
    for (key, value) in object {
        let fail = |message: String| config_error(path, format!("{key:?}: {message}"));
        let (key, kind) = KEYS
            .iter()
            // Go's JSON and TOML decoders match keys regardless of case.
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .ok_or_else(|| {
                fail("not a ghz config key (keys are the long flag names: total, concurrency, rps, call, host, ...)".into())
            })?;
        let key = *key;
        let skip_given = match key {
            "data" | "data-file" | "binary-file" => given.data,
            "metadata" | "metadata-file" => given.metadata,
            "host" => given.host,
            _ => false,
        };
        if value.is_null() || skip_given {
            continue;
        }
        let flag = format!("--{key}");
        let argument = match kind {
            Kind::Text => {
                let text = value
                    .as_str()
                    .ok_or_else(|| fail(format!("expected a string, not {value}")))?;
                if key == "duration-stop" {
                    // ghz lower-cases it and runs "close" for anything else.
                    let mode = text.to_ascii_lowercase();
                    let mode = if matches!(mode.as_str(), "close" | "wait" | "ignore") {
                        mode
                    } else {
                        out.notes.push(format!(
                            "--config {}: \"duration-stop\" {text:?} is not close, wait or ignore; running close, as ghz does",
                            path.display()
                        ));
                        "close".into()
                    };
                    Some(format!("{flag}={mode}"))
                } else {
                    (!text.is_empty()).then(|| format!("{flag}={text}"))
                }
            }
            Kind::Bool => match value {
                Value::Bool(true) => Some(flag),
                Value::Bool(false) => None,
                _ => return Err(fail(format!("expected true or false, not {value}"))),
            },
            Kind::Count => {
                let n = value
                    .as_u64()
                    .ok_or_else(|| fail(format!("expected a whole number >= 0, not {value}")))?;
                (n != 0).then(|| format!("{flag}={n}"))
            }
            Kind::Signed => {
                let n = value
                    .as_i64()
                    .ok_or_else(|| fail(format!("expected a whole number, not {value}")))?;
                (n != 0).then(|| format!("{flag}={n}"))
            }
            Kind::Duration => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if n.as_u64() == Some(0) => "0".into(),
                    _ => {
                        return Err(fail(format!(
                            "{value} is not a duration: give a string with a unit, like \"20s\""
                        )))
                    }
                };
                let duration = parse_go_duration(&text).map_err(fail)?;
                (!duration.is_zero()).then(|| format!("{flag}={text}"))
            }
            Kind::Size => {
                let text = value
                    .as_str()
                    .ok_or_else(|| fail(format!("expected a size like \"4MB\", not {value}")))?;
                if text.is_empty() {
                    None
                } else {
                    parse_bytes(text).map_err(fail)?;
                    Some(format!("{flag}={text}"))
                }
            }
            Kind::StringMap => {
                let map = value
                    .as_object()
                    .ok_or_else(|| fail(format!("expected keys and string values, not {value}")))?;
                if let Some((k, v)) = map.iter().find(|(_, v)| !v.is_string()) {
                    return Err(fail(format!("the value of {k:?} is {v}, not a string")));
                }
                Some(format!("{flag}={value}"))
            }
            Kind::Data => {
                check_data(value).map_err(|m| fail(m.into()))?;
                Some(format!("{flag}={value}"))
            }
            Kind::List => {
                let items = value
                    .as_array()
                    .ok_or_else(|| fail(format!("expected a list of paths, not {value}")))?;
                let paths = items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .ok_or_else(|| fail(format!("expected a path, not {item}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (!paths.is_empty()).then(|| format!("{flag}={}", paths.join(",")))
            }
            Kind::Host => {
                let text = value
                    .as_str()
                    .ok_or_else(|| fail(format!("expected host:port, not {value}")))?;
                host = (!text.is_empty()).then(|| text.to_string());
                None
            }
            Kind::Ignored => {
                out.notes.push(format!(
                    "--config {}: {key:?} is ghz's debug log; haplog keeps none",
                    path.display()
                ));
                None
            }
        };
        out.args.extend(argument);
    }
    // The host last, after every flag, so no flag can take it as a value.
    out.args.extend(host);
    Ok(out)
}

/// ghz's rule for `data`: an object, or a non-empty array of objects.
fn check_data(data: &Value) -> Result<(), &'static str> {
    match data {
        Value::Object(_) => Ok(()),
        Value::Array(items) if items.is_empty() => Err("the data array must not be empty"),
        Value::Array(items) if items.iter().all(Value::is_object) => Ok(()),
        Value::Array(_) => Err("the data array must hold objects only"),
        _ => Err("expected an object, or an array of objects"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/ghz-config")
            .join(name)
    }

    /// ghz's own config tests (runner/config_test.go): files 0 to 4 and 6
    /// are refused, file 5 is read, in each of the three syntaxes.
    #[test]
    fn ghz_config_files_are_read_or_refused_as_ghz_does() {
        let refused = [
            (0, "\"data\""),
            (1, "\"duration\""),
            (2, "\"max-duration\""),
            (3, "\"stream-interval\""),
            (4, "\"timeout\""),
            (6, "-message-size\""),
        ];
        for extension in ["json", "toml", "yaml"] {
            for (n, names) in refused {
                let name = format!("config{n}.{extension}");
                let error = arguments(&testdata(&name), Given::default())
                    .expect_err(&name)
                    .to_string();
                assert!(error.contains(names), "{name}: {error}");
                assert!(error.contains(&name), "{name}: {error}");
            }
            let name = format!("config5.{extension}");
            let read = arguments(&testdata(&name), Given::default()).expect(&name);
            let mut args = read.args.clone();
            args.sort();
            assert_eq!(
                args,
                [
                    "--call=grpcbin.GRPCBin.DummyUnary",
                    "--data={\"f_strings\":[\"123\",\"456\"]}",
                    "--duration=20s",
                    "--import-paths=/home/user/pb/grpcbin",
                    "--insecure",
                    "--max-duration=60s",
                    "--max-recv-message-size=1024mb",
                    "--max-send-message-size=2000mib",
                    "--proto=grpcbin.proto",
                    "--stream-interval=25s",
                    "--timeout=30s",
                    "127.0.0.1:9000",
                ],
                "{name}"
            );
            assert_eq!(read.args.last().unwrap(), "127.0.0.1:9000", "host last");
        }
    }

    #[test]
    fn the_command_line_replaces_the_files_host_data_and_metadata() {
        let given = Given {
            host: true,
            data: true,
            metadata: true,
        };
        let read = arguments(&testdata("config.json"), given).unwrap();
        assert!(read.args.iter().all(|a| !a.starts_with("--data")
            && !a.starts_with("--metadata")
            && a != "0.0.0.0:50051"));
        let all = arguments(&testdata("config.toml"), Given::default()).unwrap();
        assert!(all
            .args
            .contains(&"--metadata={\"rn\":\"{{.RequestNumber}}\"}".to_string()));
        assert!(all.args.contains(&"--skipFirst=5".to_string()));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let path = Path::new("x.json");
        let check = |text: &str, want: &str| {
            let value: Value = serde_json::from_str(text).unwrap();
            let error = from_value(path, &value, Given::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains(want), "{text}: {error}");
        };
        check(r#"{"totl": 5}"#, "\"totl\": not a ghz config key");
        check(
            r#"{"total": -5}"#,
            "\"total\": expected a whole number >= 0",
        );
        check(
            r#"{"insecure": "yes"}"#,
            "\"insecure\": expected true or false",
        );
        check(r#"{"timeout": 20}"#, "give a string with a unit");
        check(r#"{"data": []}"#, "must not be empty");
        check(r#"{"metadata": {"a": 1}}"#, "\"a\" is 1, not a string");
        check("[1]", "expected keys and values");
    }

    #[test]
    fn zero_values_are_unset_and_duration_stop_falls_back_to_close() {
        let value: Value = serde_json::from_str(
            r#"{"total": 0, "keepalive": "0s", "insecure": false, "name": "", "duration-stop": "Later", "load-step": -2}"#,
        )
        .unwrap();
        let read = from_value(Path::new("c.json"), &value, Given::default()).unwrap();
        assert_eq!(read.args, ["--duration-stop=close", "--load-step=-2"]);
        assert_eq!(read.notes.len(), 1);
    }
}
