//! One self-contained HTML page: styles inline (light, dark and print),
//! no script or resource fetched from anywhere, charts drawn as inline SVG.
//! Every text that reaches the page goes through [`escape`]: log lines and
//! server messages are written by strangers, and a `<script>` in them must
//! show as those characters and run nothing.

use std::fmt::Write as _;

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls show as what they are, never act.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A cell of a [`table`]: text (left-aligned) or a number (right-aligned,
/// so columns of figures line up).
pub enum Cell {
    Text(String),
    Number(String),
}

/// A table with a header row; every cell escaped.
pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            match cell {
                Cell::Text(text) => {
                    let _ = write!(out, "<td>{}</td>", escape(text));
                }
                Cell::Number(text) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", escape(text));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Horizontal bars, one per `(label, value)`, scaled to the largest, with
/// the value written at each bar's end; an SVG with a title for screen
/// readers.
pub fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    const ROW: usize = 22;
    const LABEL: usize = 110;
    const WIDTH: usize = 640;
    let most = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = bars.len() * ROW + 8;
    let mut out = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
        escape(title)
    );
    let room = (WIDTH - LABEL - 70) as f64;
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = i * ROW + 4;
        let length = (*value as f64 / most as f64 * room)
            .round()
            .max(if *value > 0 { 1.0 } else { 0.0 });
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{LABEL}\" y=\"{y}\" width=\"{length}\" height=\"{}\"/><text class=\"value\" x=\"{}\" y=\"{}\">{value}</text>",
            LABEL - 6,
            y + 15,
            escape(label),
            ROW - 6,
            LABEL as f64 + length + 6.0,
            y + 15,
        );
    }
    out.push_str("</svg>\n");
    out
}

/// `bytes` as a link that saves them as `file` (a data: URI: nothing to
/// fetch).
pub fn download_link(label: &str, file: &str, mime: &str, bytes: &[u8]) -> String {
    format!(
        "<a class=\"button\" download=\"{}\" href=\"data:{mime};base64,{}\">{}</a>",
        escape(file),
        base64(bytes),
        escape(label)
    )
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A page of sections, each with an anchor the page's navigation links.
#[derive(Default)]
pub struct Page {
    title: String,
    subtitle: Option<String>,
    sections: Vec<(String, String, String)>,
    /// One inline script, allowed by its hash: the policy lets nothing
    /// else run, so text that slipped into markup still could not.
    script: Option<&'static str>,
}

impl Page {
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            ..Page::default()
        }
    }

    pub fn subtitle(&mut self, text: &str) -> &mut Page {
        self.subtitle = Some(text.to_string());
        self
    }

    /// The page's one script (a constant of the program, never data).
    pub fn script(&mut self, script: &'static str) -> &mut Page {
        self.script = Some(script);
        self
    }

    /// A section: `id` is its anchor, `body` HTML already escaped.
    pub fn section(&mut self, id: &str, heading: &str, body: String) -> &mut Page {
        self.sections
            .push((id.to_string(), heading.to_string(), body));
        self
    }

    pub fn render(&self, footer: &str) -> String {
        let scripts = match self.script {
            Some(script) => {
                use sha2::Digest as _;
                format!(
                    "; script-src 'sha256-{}'",
                    base64(&sha2::Sha256::digest(script.as_bytes()))
                )
            }
            None => String::new(),
        };
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:{scripts}\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
            escape(&self.title),
            escape(&self.title)
        );
        if let Some(subtitle) = &self.subtitle {
            let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(subtitle));
        }
        out.push_str("<nav>");
        for (id, heading, _) in &self.sections {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", escape(id), escape(heading));
        }
        out.push_str("</nav>\n</header>\n<main>\n");
        for (id, heading, body) in &self.sections {
            let _ = write!(
                out,
                "<section id=\"{}\">\n<h2>{}</h2>\n{body}</section>\n",
                escape(id),
                escape(heading)
            );
        }
        let _ = write!(out, "</main>\n<footer>{}</footer>\n", escape(footer));
        if let Some(script) = self.script {
            let _ = writeln!(out, "<script>{script}</script>");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// The style every haplog page shares (the report page, `haplog load -O
/// html` and the live view): colours for light, dark and print, tables,
/// facts, charts and their palette (`s0`…`s7`, a line's colour as
/// `--c`).
pub const STYLE: &str = "
:root { color-scheme: light dark; --fg: #1d232a; --bg: #ffffff; --muted: #5b6672; --line: #d8dee4; --bar: #2a7f9e; --bad: #b3261e; --card: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ec; --bg: #14181c; --muted: #9aa5b1; --line: #2e363e; --bar: #4fb3d9; --bad: #ff8a80; --card: #1c2228; } }
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1080px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; }
nav a { margin-right: 1rem; color: var(--bar); text-decoration: none; } nav a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: .4rem 0 1rem; } th, td { padding: .3rem .7rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
pre { background: var(--card); padding: .8rem; overflow-x: auto; border-radius: 6px; }
.chart { max-width: 100%; height: auto; } .chart .bar { fill: var(--bar); } .chart text { fill: var(--fg); font-size: 12px; font-variant-numeric: tabular-nums; }
.tags span { display: inline-block; background: var(--card); border: 1px solid var(--line); border-radius: 4px; padding: .1rem .45rem; margin: 0 .4rem .4rem 0; }
.bad { color: var(--bad); font-weight: 600; } .good { font-weight: 600; }
.button { display: inline-block; border: 1px solid var(--line); border-radius: 6px; padding: .3rem .8rem; margin-right: .5rem; color: var(--fg); text-decoration: none; background: var(--card); }
.facts { display: flex; flex-wrap: wrap; gap: .4rem 1.6rem; margin: .4rem 0 1rem; } .facts div { min-width: 9rem; } .facts dt { color: var(--muted); font-size: .85rem; } .facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.scroll { overflow-x: auto; }
td.bad { color: var(--bad); font-weight: 600; }
tr.group td { border-top: 2px solid var(--line); }
th.num { text-align: right; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th[aria-sort=ascending] button::after { content: ' \\25B2'; font-size: .7em; } th[aria-sort=descending] button::after { content: ' \\25BC'; font-size: .7em; }
ol.findings { padding-left: 1.4rem; } ol.findings li { margin: .35rem 0; } .rule { display: inline-block; font-size: .8rem; color: var(--bad); border: 1px solid var(--bad); border-radius: 4px; padding: 0 .35rem; margin-right: .3rem; }
.note, .none { color: var(--muted); font-size: .9rem; }
figure.chart-box { margin: .6rem 0 1.2rem; } figcaption { font-weight: 600; margin-bottom: .2rem; } figcaption .unit { color: var(--muted); font-weight: 400; }
.chart.line { width: 100%; height: auto; max-width: 900px; } .chart .grid { stroke: var(--line); stroke-width: 1; } .chart .tick { fill: var(--muted); font-size: 11px; }
.chart .series polyline { fill: none; stroke-width: 1.6; stroke-linejoin: round; } .chart .series.dashed polyline { stroke-dasharray: 5 3; stroke-width: 1.2; }
.legend { list-style: none; padding: 0; margin: .2rem 0 0; display: flex; flex-wrap: wrap; gap: .2rem 1rem; font-size: .85rem; } .swatch { display: inline-block; width: 1.2rem; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: .35rem; } .swatch.dashed { border-top-style: dashed; }
.s0 { --c: #1f77b4; } .s1 { --c: #d62728; } .s2 { --c: #2ca02c; } .s3 { --c: #9467bd; } .s4 { --c: #ff7f0e; } .s5 { --c: #17becf; } .s6 { --c: #8c564b; } .s7 { --c: #e377c2; }
@media (prefers-color-scheme: dark) { .s0 { --c: #5fa8e8; } .s1 { --c: #ff6b6b; } .s2 { --c: #6ad66a; } .s3 { --c: #c3a3f0; } .s4 { --c: #ffb25b; } .s5 { --c: #5fe0ef; } .s6 { --c: #c9a08f; } .s7 { --c: #f5a3dc; } }
.series polyline, polyline.series-line { stroke: var(--c); } .series circle { fill: var(--c); } .swatch { border-color: var(--c); }
polyline.series-line { fill: none; stroke-width: 2; }
details { margin: .4rem 0 1rem; } summary { cursor: pointer; color: var(--muted); }
footer { color: var(--muted); margin-top: 2rem; border-top: 1px solid var(--line); padding-top: .6rem; font-size: .9rem; }
@media print { :root { color-scheme: light; --fg: #000; --bg: #fff; --muted: #444; --line: #bbb; } nav, .button, summary { display: none; } body { max-width: none; padding: 0; } figure, table { break-inside: avoid; } th button::after { content: none !important; } .scroll { overflow: visible; } }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_text_is_inert() {
        let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'&\u{1b}[31m";
        let escaped = escape(hostile);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'));
        assert!(!escaped.contains('\'') && !escaped.contains('\u{1b}'));
        assert_eq!(
            escaped,
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;\\x1B[31m"
        );
        let page = {
            let mut page = Page::new(hostile);
            page.section(
                "s",
                hostile,
                table(&[hostile], &[vec![Cell::Text(hostile.into())]]),
            );
            page.section("c", "chart", bar_chart(hostile, &[(hostile.into(), 3)]));
            page.render(hostile)
        };
        assert!(
            !page.contains("<script") && !page.contains("<img"),
            "{page}"
        );
    }

    #[test]
    fn base64_as_rfc_4648_writes_it() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bar_chart("t", &[("a".into(), 10), ("b".into(), 5), ("c".into(), 0)]);
        assert!(svg.contains("width=\"460\""), "{svg}");
        assert!(svg.contains("width=\"230\""), "{svg}");
        assert!(svg.contains("width=\"0\""), "{svg}");
    }
}
