//! haplog's Parquet schema, version 1: one row per log line, HAProxy's own
//! field names, signed types only (Spark widens unsigned ones), timers as
//! 32-bit integers with NULL where HAProxy logged -1, times as UTC
//! microseconds. One table ([`COLUMNS`]) makes the Arrow schema, the row
//! builders and each engine's table definition, so they cannot disagree;
//! docs/export.md documents it.

use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};
use haplog_format::Field;

/// The schema's version, in the files' metadata (`haplog.schema_version`);
/// raised on any change that is not an added column.
pub const SCHEMA_VERSION: u32 = 1;

/// What a column holds, and where its value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The input's name.
    File,
    /// The 1-based line number in its input.
    Line,
    /// The line's kind (`traffic`, `error`, `state`, …).
    Kind,
    /// The log format that read the line (`httplog`, `tcplog`, …).
    Format,
    /// The request's date (the request date, else the accept date), UTC.
    Time,
    /// The syslog header's host, tag and pid.
    Host,
    Tag,
    Pid,
    /// The line was cut by HAProxy's length limit.
    Truncated,
    /// Logged before the request ended (`option logasap`).
    Incomplete,
    /// A field as text; NULL when absent (`-`).
    Text(Field),
    /// A timer: NULL when absent or -1; a `+` (logasap) dropped.
    Timer(Field),
    /// A number that fits 32 bits (status, port, connection count).
    Int(Field),
    /// A number that may not (bytes, counters).
    Long(Field),
    /// The retries field without its `+`, and whether it had one.
    Retries,
    Redispatched,
    /// A `{a|b}` capture block, as a list.
    Captures(Field),
    /// A part of the request: the format's own field, else the request
    /// line's part.
    Method,
    Path,
    Query,
    Authority,
    Version,
    /// The text of a line that is not traffic.
    Message,
}

/// Columns whose values are mostly different (dictionaries of them cost
/// time and save nothing: measured on the generated log, client ports
/// and byte counts are smaller and faster without) or that grow line by
/// line (stored as deltas).
pub fn plain(source: Source) -> bool {
    matches!(
        source,
        Source::Text(Field::Request)
            | Source::Text(Field::UniqueId)
            | Source::Int(Field::ClientPort)
            | Source::Long(Field::BytesRead)
            | Source::Long(Field::RequestCounter)
            | Source::Line
            | Source::Time
    )
}

/// A column's Arrow type, by its source.
pub fn data_type(source: Source) -> DataType {
    use Source::*;
    match source {
        Line => DataType::Int64,
        Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Pid | Timer(_) | Int(_) | Retries => DataType::Int32,
        Long(_) => DataType::Int64,
        Truncated | Incomplete | Redispatched => DataType::Boolean,
        Captures(_) => DataType::List(Arc::new(ArrowField::new("item", DataType::Utf8, true))),
        _ => DataType::Utf8,
    }
}

/// A column: its name, its source and what it means.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub source: Source,
    pub doc: &'static str,
}

const fn column(name: &'static str, source: Source, doc: &'static str) -> Column {
    Column { name, source, doc }
}

/// Every column, in file order.
pub const COLUMNS: &[Column] = &[
    column("ts", Source::Time, "the request's date (request date, else accept date) in UTC, to the millisecond; a date without a zone is read in --utc-offset"),
    column("file", Source::File, "the input file (`-` for standard input)"),
    column("line", Source::Line, "the line's number in its file, from 1"),
    column("kind", Source::Kind, "traffic, error, state, health, notice, connect, json, unparsed, … (docs/report.md)"),
    column("format", Source::Format, "the log format that read the line: httplog, tcplog, httpslog, clf, json, a custom log-format's name"),
    column("host", Source::Host, "the syslog header's host"),
    column("tag", Source::Tag, "the syslog header's tag (haproxy)"),
    column("pid", Source::Pid, "the syslog header's process id"),
    column("truncated", Source::Truncated, "the line was cut by HAProxy's line length limit"),
    column("incomplete", Source::Incomplete, "logged before the request ended (option logasap): ta/tt and bytes_read are so far"),
    column("client_ip", Source::Text(Field::ClientIp), "%ci"),
    column("client_port", Source::Int(Field::ClientPort), "%cp"),
    column("frontend_ip", Source::Text(Field::FrontendIp), "%fi"),
    column("frontend_port", Source::Int(Field::FrontendPort), "%fp"),
    column("frontend", Source::Text(Field::Frontend), "%ft: the frontend, with `~` after it for TLS"),
    column("bind", Source::Text(Field::Bind), "the bind line's name (error lines)"),
    column("backend", Source::Text(Field::Backend), "%b"),
    column("server", Source::Text(Field::Server), "%s: the server, `<NOSRV>` when none took the request"),
    column("backend_ip", Source::Text(Field::BackendIp), "%bi"),
    column("backend_port", Source::Int(Field::BackendPort), "%bp"),
    column("server_ip", Source::Text(Field::ServerIp), "%si"),
    column("server_port", Source::Int(Field::ServerPort), "%sp"),
    column("th", Source::Timer(Field::Th), "Th: handshake time (ms)"),
    column("ti", Source::Timer(Field::Ti), "Ti: idle time before the request (ms)"),
    column("tr_headers", Source::Timer(Field::TR), "TR: time to receive the request headers (ms)"),
    column("tq", Source::Timer(Field::Tq), "Tq: Th + Ti + TR, pre-1.7 httplog (ms)"),
    column("tw", Source::Timer(Field::Tw), "Tw: time waiting in queues (ms)"),
    column("tc", Source::Timer(Field::Tc), "Tc: time to connect to the server (ms)"),
    column("tr", Source::Timer(Field::Tr), "Tr: the server's response time, to its headers (ms)"),
    column("td", Source::Timer(Field::Td), "Td: data transfer time (ms)"),
    column("ta", Source::Timer(Field::Ta), "Ta: active time of the request, accept to end (ms)"),
    column("tt", Source::Timer(Field::Tt), "Tt: total session time, with the idle time (ms)"),
    column("tu", Source::Timer(Field::Tu), "Tu: total time as seen by the client (ms)"),
    column("status", Source::Int(Field::Status), "%ST: the HTTP status; -1 when there was no response"),
    column("bytes_read", Source::Long(Field::BytesRead), "%B: bytes sent to the client"),
    column("bytes_uploaded", Source::Long(Field::BytesUploaded), "%U: bytes received from the client"),
    column("captured_request_cookie", Source::Text(Field::CookieRequest), "%CC"),
    column("captured_response_cookie", Source::Text(Field::CookieResponse), "%CS"),
    column("termination_state", Source::Text(Field::Termination), "%tsc: the termination state (`----`, `SC--`, `cD--`, …)"),
    column("actconn", Source::Int(Field::ActConn), "%ac: connections on the process"),
    column("feconn", Source::Int(Field::FeConn), "%fc: connections on the frontend"),
    column("beconn", Source::Int(Field::BeConn), "%bc: connections on the backend"),
    column("srv_conn", Source::Int(Field::SrvConn), "%sc: connections on the server"),
    column("retries", Source::Retries, "%rc: connection retries"),
    column("redispatched", Source::Redispatched, "the retries field had a `+`: the request was redispatched to another server"),
    column("srv_queue", Source::Int(Field::SrvQueue), "%sq: the server's queue when the request was queued"),
    column("backend_queue", Source::Int(Field::BackendQueue), "%bq: the backend's queue"),
    column("captured_request_headers", Source::Captures(Field::CapturedRequestHeaders), "%hr: the captured request headers, in capture order"),
    column("captured_response_headers", Source::Captures(Field::CapturedResponseHeaders), "%hs: the captured response headers"),
    column("request", Source::Text(Field::Request), "%r: the request line as logged"),
    column("method", Source::Method, "the request's method"),
    column("authority", Source::Authority, "the authority of an absolute URI (HTTP/2, gRPC)"),
    column("path", Source::Path, "the target's path (a gRPC call's /package.Service/Method)"),
    column("query", Source::Query, "the target's query string, without `?`"),
    column("version", Source::Version, "the request's HTTP version"),
    column("unique_id", Source::Text(Field::UniqueId), "%ID"),
    column("ssl_version", Source::Text(Field::SslVersion), "%sslv"),
    column("ssl_cipher", Source::Text(Field::SslCipher), "%sslc"),
    column("sni", Source::Text(Field::Sni), "the TLS server name"),
    column("fc_err", Source::Text(Field::ConnectionError), "connection error (error lines)"),
    column("ssl_fc_err", Source::Text(Field::SslError), "TLS error (error lines)"),
    column("request_counter", Source::Long(Field::RequestCounter), "%rt"),
    column("message", Source::Message, "the text of a line that is not traffic"),
];

/// The Arrow schema of [`COLUMNS`], with the version in its metadata.
pub fn arrow_schema() -> Schema {
    let fields: Vec<ArrowField> = COLUMNS
        .iter()
        .map(|c| {
            ArrowField::new(
                c.name,
                data_type(c.source),
                !matches!(
                    c.source,
                    Source::File
                        | Source::Line
                        | Source::Kind
                        | Source::Truncated
                        | Source::Incomplete
                ),
            )
        })
        .collect();
    Schema::new(fields).with_metadata(
        arrow_schema::Metadata::default().with("haplog.schema_version", SCHEMA_VERSION.to_string()),
    )
}

/// An engine whose table definition [`ddl`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    ClickHouse,
    DuckDb,
    Spark,
}

/// Names that fit ClickHouse's LowCardinality: few distinct values.
fn few_values(source: Source) -> bool {
    matches!(
        source,
        Source::File
            | Source::Kind
            | Source::Format
            | Source::Host
            | Source::Tag
            | Source::Text(Field::Frontend)
            | Source::Text(Field::Bind)
            | Source::Text(Field::Backend)
            | Source::Text(Field::Server)
            | Source::Text(Field::Termination)
            | Source::Method
            | Source::Version
            | Source::Text(Field::SslVersion)
            | Source::Text(Field::SslCipher)
    )
}

fn type_name(engine: Engine, c: &Column, nullable: bool) -> String {
    let base = match (engine, data_type(c.source)) {
        (Engine::ClickHouse, DataType::Timestamp(..)) => "DateTime64(6, 'UTC')".to_string(),
        (Engine::ClickHouse, DataType::Int32) => "Int32".to_string(),
        (Engine::ClickHouse, DataType::Int64) => "Int64".to_string(),
        (Engine::ClickHouse, DataType::Boolean) => "Bool".to_string(),
        (Engine::ClickHouse, DataType::List(_)) => "Array(Nullable(String))".to_string(),
        (Engine::ClickHouse, _) if few_values(c.source) => {
            return if nullable {
                "LowCardinality(Nullable(String))".to_string()
            } else {
                "LowCardinality(String)".to_string()
            };
        }
        (Engine::ClickHouse, _) => "String".to_string(),
        (Engine::DuckDb, DataType::Timestamp(..)) => "TIMESTAMPTZ".to_string(),
        (Engine::DuckDb, DataType::Int32) => "INTEGER".to_string(),
        (Engine::DuckDb, DataType::Int64) => "BIGINT".to_string(),
        (Engine::DuckDb, DataType::Boolean) => "BOOLEAN".to_string(),
        (Engine::DuckDb, DataType::List(_)) => "VARCHAR[]".to_string(),
        (Engine::DuckDb, _) => "VARCHAR".to_string(),
        (Engine::Spark, DataType::Timestamp(..)) => "TIMESTAMP".to_string(),
        (Engine::Spark, DataType::Int32) => "INT".to_string(),
        (Engine::Spark, DataType::Int64) => "BIGINT".to_string(),
        (Engine::Spark, DataType::Boolean) => "BOOLEAN".to_string(),
        (Engine::Spark, DataType::List(_)) => "ARRAY<STRING>".to_string(),
        (Engine::Spark, _) => "STRING".to_string(),
    };
    match engine {
        Engine::ClickHouse if nullable && !matches!(data_type(c.source), DataType::List(_)) => {
            format!("Nullable({base})")
        }
        Engine::DuckDb | Engine::Spark if !nullable => format!("{base} NOT NULL"),
        _ => base,
    }
}

/// The table definition for `engine`, named `table`: a ClickHouse
/// MergeTree partitioned by day and ordered by backend, server and time;
/// a DuckDB table; a Spark table over Parquet.
pub fn ddl(engine: Engine, table: &str) -> String {
    let schema = arrow_schema();
    let mut out = match engine {
        Engine::ClickHouse | Engine::DuckDb | Engine::Spark => format!("CREATE TABLE {table} (\n"),
    };
    let width = COLUMNS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for (i, (c, f)) in COLUMNS.iter().zip(schema.fields()).enumerate() {
        let comma = if i + 1 < COLUMNS.len() { "," } else { "" };
        let ty = type_name(engine, c, f.is_nullable());
        match engine {
            Engine::ClickHouse => out.push_str(&format!(
                "    {:width$} {ty}{comma}\n",
                format!("`{}`", c.name),
                width = width + 2
            )),
            _ => out.push_str(&format!("    {:width$} {ty}{comma}\n", c.name)),
        }
    }
    out.push(')');
    match engine {
        Engine::ClickHouse => out.push_str(
            "\nENGINE = MergeTree\nPARTITION BY toDate(ts)\nORDER BY (backend, server, ts)\nSETTINGS allow_nullable_key = 1;\n",
        ),
        Engine::DuckDb => out.push_str(";\n"),
        Engine::Spark => out.push_str("\nUSING PARQUET;\n"),
    }
    out
}

/// The columns as a Markdown table (docs/export.md holds it): name,
/// Parquet/Arrow type, whether it may be NULL, meaning.
pub fn markdown() -> String {
    let schema = arrow_schema();
    let mut out = String::from("| column | type | NULL | meaning |\n|---|---|---|---|\n");
    for (c, f) in COLUMNS.iter().zip(schema.fields()) {
        let ty = match f.data_type() {
            DataType::Timestamp(..) => "timestamp (µs, UTC)".to_string(),
            DataType::Int32 => "int32".to_string(),
            DataType::Int64 => "int64".to_string(),
            DataType::Boolean => "boolean".to_string(),
            DataType::List(_) => "list of string".to_string(),
            _ => "string".to_string(),
        };
        let null = if f.is_nullable() { "yes" } else { "no" };
        out.push_str(&format!(
            "| `{}` | {ty} | {null} | {} |\n",
            c.name,
            c.doc.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
    }

    #[test]
    fn docs_export_md_lists_the_columns_as_written() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/export.md"),
        )
        .unwrap();
        assert!(
            doc.contains(&markdown()),
            "docs/export.md's column table is not `haplog schema --markdown`'s"
        );
    }

    #[test]
    fn no_unsigned_types() {
        for f in arrow_schema().fields() {
            assert!(!matches!(
                f.data_type(),
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
            ));
        }
    }

    #[test]
    fn table_definitions_name_every_column() {
        for engine in [Engine::ClickHouse, Engine::DuckDb, Engine::Spark] {
            let d = ddl(engine, "haproxy");
            for c in COLUMNS {
                assert!(d.contains(c.name), "{engine:?} {}", c.name);
            }
        }
        let ch = ddl(Engine::ClickHouse, "haproxy");
        assert!(ch.contains("`ts`") && ch.contains("DateTime64(6, 'UTC')"));
        assert!(ch.contains("LowCardinality(Nullable(String))"));
        assert!(ch.contains("Nullable(Int32)"));
    }
}
