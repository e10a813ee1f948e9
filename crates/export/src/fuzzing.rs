//! The body of the export's fuzz target, here so that the test suite can
//! replay it on a stable toolchain: any bytes, read as log lines (the
//! first line, when it holds a `%`, also as a custom log-format), become
//! rows of a Parquet file in memory that the parquet crate's own reader
//! must read back whole.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use bytes::Bytes;
use haplog_format::LineParser;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;

use crate::chunk::PageEncoder;
use crate::rows::{Origin, Rows};
use crate::{has_row, leaves, schema, writer_properties};

/// Rows in each row group: small, so that a fuzz input spans several.
const GROUP: usize = 7;

pub fn export_everything(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let formats = haplog_format::fuzzing::formats_for(first);
    let mut parser = LineParser::new(&formats, None);

    let schema: SchemaRef = Arc::new(schema::arrow_schema());
    let leaves = leaves(&schema, std::path::Path::new("fuzz")).expect("the schema converts");
    let parquet = parquet::arrow::ArrowSchemaConverter::new()
        .convert(&schema)
        .expect("the schema converts");
    let mut writer = SerializedFileWriter::new(
        Vec::new(),
        parquet.root_schema_ptr(),
        Arc::new(writer_properties(1)),
    )
    .expect("a writer in memory");
    let mut pages = PageEncoder::new(1).expect("zstd starts");
    let mut rows = Rows::new(&leaves, 0);
    let mut written = 0;
    let mut flush = |rows: &mut Rows, writer: &mut SerializedFileWriter<Vec<u8>>| {
        let columns = rows.finish(&mut pages).expect("rows encode");
        let mut group = writer.next_row_group().expect("a row group");
        for column in columns {
            group
                .append_column(&column.bytes, column.close)
                .expect("a column chunk appends");
        }
        group.close().expect("the row group closes");
    };
    for (n, line) in std::iter::once(first).chain(lines).enumerate() {
        let record = parser.parse(line);
        if !has_row(record.kind) {
            continue;
        }
        let origin = Origin {
            file: "fuzz",
            line: n as u64 + 1,
        };
        rows.push(&origin, &record);
        written += 1;
        if rows.len() == GROUP {
            flush(&mut rows, &mut writer);
        }
    }
    if !rows.is_empty() {
        flush(&mut rows, &mut writer);
    }
    let file = Bytes::from(writer.into_inner().expect("the file closes"));
    let reader = SerializedFileReader::new(file).expect("the file reads back");
    assert_eq!(reader.metadata().file_metadata().num_rows(), written);
    // Every value of every column decodes.
    for row in reader.get_row_iter(None).expect("rows iterate") {
        row.expect("a row decodes");
    }
}

#[cfg(test)]
mod tests {
    /// Hostile lines, the fuzz target's way: cut, doubled, not UTF-8,
    /// empty, endless.
    #[test]
    fn hostile_lines_export_and_read_back() {
        let line = "10.0.0.1:4000 [02/Dec/2026:10:00:00.000] fe be/s1 0/0/1/2/3 200 100 - - ---- 1/1/0/0/0 0/0 {caf\u{e9}|x} {y} \"GET /a?b HTTP/1.1\"";
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n\n\n".to_vec(),
            line.as_bytes().to_vec(),
            [line.as_bytes(), b"\n", &line.as_bytes()[..40], b"\xff\xfe\n", b"-1"].concat(),
            (0..50).flat_map(|i| format!("{line} {i}\n").into_bytes()).collect(),
            b"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B\n1.2.3.4:5 [02/Dec/2026:10:00:00.000] f b/s -1/-1/-1/-1/99999999999 999 -5\n".to_vec(),
            vec![b'x'; 200_000],
        ];
        inputs.push(line.replace(' ', "\u{0}").into_bytes());
        for input in inputs {
            super::export_everything(&input);
        }
    }
}
