//! The terminal view: one screen that says who is slow, what is failing
//! and why. A header with the window's figures; the servers with a
//! sparkline of their request rate and their percentiles; termination
//! states in words next to the busiest URLs; the latest failed requests.
//! Keys change the window, the order and the backend shown, pause, and
//! show help. The terminal is restored on `q`, Ctrl-C and panic.

use std::io;
use std::time::Duration;

use haplog_analyze::traffic::SlowRequest;
use haplog_report::escape::inert;
use haplog_report::model::Stamp;
use haplog_report::render::clip;
use haplog_report::termination;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::{DefaultTerminal, Frame};

use crate::slot::{Flow, Slot};
use crate::store::Store;
use crate::view::window_name;

/// The servers' order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Requests,
    Failed,
    P99,
    Name,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Requests => Sort::Failed,
            Sort::Failed => Sort::P99,
            Sort::P99 => Sort::Name,
            Sort::Name => Sort::Requests,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sort::Requests => "requests",
            Sort::Failed => "failed %",
            Sort::P99 => "Tt p99",
            Sort::Name => "name",
        }
    }
}

/// What the keys chose.
#[derive(Clone, Debug)]
struct Choices {
    /// Index into the windows.
    window: usize,
    sort: Sort,
    /// Only this backend's servers.
    backend: Option<Vec<u8>>,
    paused: bool,
    help: bool,
}

/// After a key: go on, or leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// A key changed what is shown: draw now.
    Redraw,
    Quit,
}

/// One server's row.
struct ServerRow {
    name: String,
    requests: u64,
    rate: f64,
    failed_share: Option<f64>,
    tt: [Option<u64>; 3],
    tr99: Option<u64>,
    tw99: Option<u64>,
    tc99: Option<u64>,
    state: Option<([u8; 2], u64)>,
    spark: String,
}

/// Everything a frame shows, computed once per refresh (and kept while
/// paused).
struct Screen {
    title: String,
    at: String,
    window: String,
    requests: u64,
    rate: f64,
    failed: u64,
    lines: u64,
    unparsed: u64,
    lag: Option<i64>,
    since_start: u64,
    servers: Vec<ServerRow>,
    states: Vec<([u8; 2], u64)>,
    urls: Vec<(String, u64, u64)>,
    failures: Vec<SlowRequest>,
}

/// The terminal view. Dropping it restores the terminal.
pub struct Tui {
    terminal: DefaultTerminal,
    choices: Choices,
    screen: Option<Screen>,
    /// A key changed what the screen holds: compute it even if paused.
    recompute: bool,
    windows: Vec<u32>,
    title: String,
}

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Characters of a sparkline.
const SPARK_WIDTH: usize = 12;

impl Tui {
    /// Takes over the terminal (raw mode, the alternate screen; a panic
    /// gives it back first). `title` names what is followed.
    pub fn start(windows: &[u32], title: &str) -> io::Result<Tui> {
        Ok(Tui {
            terminal: ratatui::try_init()?,
            choices: Choices {
                window: 0,
                sort: Sort::Requests,
                backend: None,
                paused: false,
                help: false,
            },
            screen: None,
            recompute: false,
            windows: windows.to_vec(),
            title: title.to_string(),
        })
    }

    /// Computes the screen from `store` at `now` (unless paused) and draws it.
    pub fn draw(&mut self, store: &Store, now: i64) -> io::Result<()> {
        if !self.choices.paused || self.screen.is_none() || self.recompute {
            self.recompute = false;
            self.screen = Some(self.compute(store, now));
        }
        let (screen, choices) = (self.screen.as_ref().expect("computed"), &self.choices);
        let windows = &self.windows;
        self.terminal
            .draw(|frame| render(frame, screen, choices, windows))?;
        Ok(())
    }

    /// Waits up to `timeout` for keys and applies them.
    pub fn handle_events(
        &mut self,
        store: &Store,
        now: i64,
        timeout: Duration,
    ) -> io::Result<Action> {
        if !event::poll(timeout)? {
            return Ok(Action::Continue);
        }
        // Everything queued, so a held key does not lag behind.
        let mut action = Action::Continue;
        loop {
            let ev = event::read()?;
            if let Event::Key(key) = &ev {
                if key.kind != KeyEventKind::Release {
                    let c = &mut self.choices;
                    match key.code {
                        KeyCode::Char('q') | KeyCode::Esc
                            if !c.help || key.code == KeyCode::Char('q') =>
                        {
                            return Ok(Action::Quit)
                        }
                        KeyCode::Esc => c.help = false,
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Ok(Action::Quit)
                        }
                        KeyCode::Char(d @ '1'..='9') => {
                            let i = d as usize - '1' as usize;
                            if i < self.windows.len() {
                                c.window = i;
                            }
                            self.recompute = true;
                        }
                        KeyCode::Char('w') | KeyCode::Tab => {
                            c.window = (c.window + 1) % self.windows.len();
                            self.recompute = true;
                        }
                        KeyCode::Char('s') => {
                            c.sort = c.sort.next();
                            self.recompute = true;
                        }
                        KeyCode::Char('b') => {
                            c.backend =
                                next_backend(store, now, self.windows[c.window], c.backend.take());
                            self.recompute = true;
                        }
                        KeyCode::Char('p') | KeyCode::Char(' ') => c.paused = !c.paused,
                        KeyCode::Char('?') | KeyCode::Char('h') => c.help = !c.help,
                        _ => {}
                    }
                    action = Action::Redraw;
                }
            }
            if let Event::Resize(..) = ev {
                action = Action::Redraw;
            }
            if !event::poll(Duration::ZERO)? {
                return Ok(action);
            }
        }
    }

    fn compute(&self, store: &Store, now: i64) -> Screen {
        let seconds = self.windows[self.choices.window];
        let slot = store.window(now, seconds);
        let mut servers: Vec<ServerRow> = slot
            .servers
            .iter()
            .filter(|((backend, _), _)| self.choices.backend.as_ref().is_none_or(|b| b == backend))
            .map(|((backend, server), flow)| {
                let key = (backend.clone(), server.clone());
                let per_second = store.per_second(now, seconds, |s: &Slot| {
                    s.servers.get(&key).map_or(0, |f| f.requests)
                });
                server_row(backend, server, flow, seconds, &per_second)
            })
            .collect();
        sort_servers(&mut servers, self.choices.sort);
        let mut states: Vec<([u8; 2], u64)> =
            slot.terminations.iter().map(|(k, n)| (*k, *n)).collect();
        states.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let failed = slot.servers.values().map(|f| f.failed).sum();
        Screen {
            title: self.title.clone(),
            at: Stamp {
                local_ms: now * 1000,
                offset_minutes: Some(0),
                millis: false,
            }
            .iso(),
            window: window_name(seconds),
            requests: slot.requests,
            rate: slot.requests as f64 / f64::from(seconds),
            failed,
            lines: slot.lines,
            unparsed: slot.unparsed(),
            lag: store.newest().map(|n| (now - n).max(0)),
            since_start: store.totals().0,
            servers,
            states,
            urls: slot
                .urls
                .iter()
                .map(|(u, c)| {
                    (
                        String::from_utf8_lossy(u).into_owned(),
                        c.requests,
                        c.failed,
                    )
                })
                .collect(),
            failures: slot.failed.iter().rev().cloned().collect(),
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        ratatui::restore();
        // After leaving the alternate screen: the main screen's cursor.
        let _ = ratatui::crossterm::execute!(io::stdout(), ratatui::crossterm::cursor::Show);
    }
}

/// The next backend to show alone (after all of them: all again).
fn next_backend(
    store: &Store,
    now: i64,
    seconds: u32,
    current: Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let slot = store.window(now, seconds);
    let backends: Vec<Vec<u8>> = slot.backends().into_keys().collect();
    match current {
        None => backends.first().cloned(),
        Some(b) => backends.iter().skip_while(|x| **x != b).nth(1).cloned(),
    }
}

fn server_row(
    backend: &[u8],
    server: &[u8],
    flow: &Flow,
    seconds: u32,
    per_second: &[u64],
) -> ServerRow {
    let tt = flow.tt.to_histogram();
    let p99 = |h: &haplog_analyze::SparseHistogram| h.to_histogram().quantile(0.99);
    ServerRow {
        name: format!(
            "{}/{}",
            inert(&String::from_utf8_lossy(backend)),
            inert(&String::from_utf8_lossy(server))
        ),
        requests: flow.requests,
        rate: flow.requests as f64 / f64::from(seconds),
        failed_share: (flow.requests > 0)
            .then(|| flow.failed as f64 * 100.0 / flow.requests as f64),
        tt: [tt.quantile(0.5), tt.quantile(0.99), tt.quantile(0.999)],
        tr99: p99(&flow.tr),
        tw99: p99(&flow.tw),
        tc99: p99(&flow.tc),
        state: flow.top_abnormal(),
        spark: sparkline(per_second),
    }
}

/// `values` (one per second, oldest first) in [`SPARK_WIDTH`] characters,
/// each the sum of its share of the seconds.
fn sparkline(values: &[u64]) -> String {
    if values.is_empty() {
        return String::new();
    }
    let width = SPARK_WIDTH.min(values.len());
    let buckets: Vec<u64> = (0..width)
        .map(|i| {
            let (a, b) = (i * values.len() / width, (i + 1) * values.len() / width);
            values[a..b.max(a + 1)].iter().sum()
        })
        .collect();
    let top = buckets.iter().copied().max().unwrap_or(0);
    buckets
        .iter()
        .map(|&v| {
            if top == 0 || v == 0 {
                ' '
            } else {
                SPARK[((v * 7).div_ceil(top)) as usize]
            }
        })
        .collect()
}

fn sort_servers(rows: &mut [ServerRow], sort: Sort) {
    rows.sort_by(|a, b| {
        let order = match sort {
            Sort::Requests => b.requests.cmp(&a.requests),
            Sort::Failed => b
                .failed_share
                .unwrap_or(0.0)
                .total_cmp(&a.failed_share.unwrap_or(0.0)),
            Sort::P99 => b.tt[1].cmp(&a.tt[1]),
            Sort::Name => std::cmp::Ordering::Equal,
        };
        order.then(a.name.cmp(&b.name))
    });
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn render(frame: &mut Frame<'_>, s: &Screen, c: &Choices, windows: &[u32]) {
    let area = frame.area();
    let [header, servers, middle, failures, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Percentage(25),
        Constraint::Percentage(22),
        Constraint::Length(1),
    ])
    .areas(area);

    let bad = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let failed_share = if s.requests > 0 {
        s.failed as f64 * 100.0 / s.requests as f64
    } else {
        0.0
    };
    let windows_text: Vec<Span> = windows
        .iter()
        .enumerate()
        .flat_map(|(i, w)| {
            let style = if i == c.window {
                bold.fg(Color::Cyan)
            } else {
                Style::default()
            };
            [
                Span::styled(format!("[{}] {}", i + 1, window_name(*w)), style),
                Span::raw(" "),
            ]
        })
        .collect();
    let mut first = vec![Span::styled(
        format!("{} requests ({:.1}/s)  ", s.requests, s.rate),
        bold,
    )];
    first.push(Span::styled(
        format!("failed {} ({:.1}%)", s.failed, failed_share),
        if s.failed > 0 { bad } else { Style::default() },
    ));
    first.push(Span::raw(format!(
        "  lines {}  unparsed {}  since start {}  lag {}",
        s.lines,
        s.unparsed,
        s.since_start,
        s.lag.map_or_else(|| "-".to_string(), |l| format!("{l}s"))
    )));
    let mut second = vec![Span::raw("window ")];
    second.extend(windows_text);
    second.push(Span::raw(format!(" sort: {}", c.sort.name())));
    if c.paused {
        second.push(Span::styled("  PAUSED", bad));
    }
    let title = format!(
        " haplog live · {} · last {} · {} ",
        inert(&s.title),
        s.window,
        s.at
    );
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)])
            .block(Block::default().borders(Borders::TOP).title(title)),
        header,
    );

    // Servers.
    let heads = [
        "server", "req", "req/s", "rate", "fail%", "p50", "p99", "p99.9", "Tr99", "Tw99", "Tc99",
        "state",
    ];
    let rows = s.servers.iter().map(|r| {
        let fail = r
            .failed_share
            .map_or_else(|| "-".to_string(), |f| format!("{f:.1}"));
        let state = r.state.map_or_else(String::new, |(st, n)| {
            format!(
                "{} {n} {}",
                String::from_utf8_lossy(&st),
                clip(termination::explain(st), Some(40))
            )
        });
        let fail_style = if r.failed_share.unwrap_or(0.0) >= 5.0 {
            bad
        } else {
            Style::default()
        };
        Row::new(vec![
            Cell::from(r.name.clone()),
            Cell::from(r.requests.to_string()),
            Cell::from(format!("{:.1}", r.rate)),
            Cell::from(r.spark.clone()).style(Style::default().fg(Color::Green)),
            Cell::from(fail).style(fail_style),
            Cell::from(ms(r.tt[0])),
            Cell::from(ms(r.tt[1])),
            Cell::from(ms(r.tt[2])),
            Cell::from(ms(r.tr99)),
            Cell::from(ms(r.tw99)),
            Cell::from(ms(r.tc99)),
            Cell::from(state),
        ])
    });
    let widths = [
        Constraint::Min(14),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(SPARK_WIDTH as u16),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Min(10),
    ];
    let backend = c.backend.as_ref().map_or_else(
        || "all backends".to_string(),
        |b| format!("backend {}", inert(&String::from_utf8_lossy(b))),
    );
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(heads).style(bold))
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(format!(" Servers ({backend}; Tt in ms) ")),
            ),
        servers,
    );

    // Termination states and URLs side by side.
    let [states, urls] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
    let total: u64 = s.states.iter().map(|x| x.1).sum();
    let state_rows = s.states.iter().map(|(st, n)| {
        let share = if total > 0 {
            *n as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let style = if st != b"--" { bad } else { Style::default() };
        Row::new(vec![
            Cell::from(String::from_utf8_lossy(st).into_owned()).style(style),
            Cell::from(n.to_string()),
            Cell::from(format!("{share:.1}%")),
            Cell::from(termination::explain(*st)),
        ])
    });
    frame.render_widget(
        Table::new(
            state_rows,
            [
                Constraint::Length(3),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Min(10),
            ],
        )
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(" Termination states "),
        ),
        states,
    );
    let url_rows = s.urls.iter().map(|(u, n, f)| {
        Row::new(vec![
            Cell::from(inert(u).into_owned()),
            Cell::from(n.to_string()),
            Cell::from(f.to_string()).style(if *f > 0 { bad } else { Style::default() }),
        ])
    });
    frame.render_widget(
        Table::new(
            url_rows,
            [
                Constraint::Min(10),
                Constraint::Length(7),
                Constraint::Length(6),
            ],
        )
        .header(Row::new(["url", "req", "failed"]).style(bold))
        .block(
            Block::default()
                .borders(Borders::TOP | Borders::LEFT)
                .title(" Top URLs "),
        ),
        urls,
    );

    // The latest failures.
    let failure_rows = s.failures.iter().map(|r| {
        let time = r.time.map_or_else(String::new, |t| {
            Stamp {
                local_ms: t.local_ms,
                offset_minutes: None,
                millis: true,
            }
            .human()[11..]
                .to_string()
        });
        let server = format!(
            "{}/{}",
            String::from_utf8_lossy(&r.backend),
            String::from_utf8_lossy(&r.server)
        );
        Row::new(vec![
            Cell::from(time),
            Cell::from(inert(&server).into_owned()),
            Cell::from(r.status.map_or_else(|| "-".to_string(), |v| v.to_string())),
            Cell::from(
                r.termination
                    .map_or_else(String::new, |t| String::from_utf8_lossy(&t).into_owned()),
            ),
            Cell::from(format!("{}ms", r.tt)),
            Cell::from(inert(&String::from_utf8_lossy(&r.request)).into_owned()),
        ])
    });
    frame.render_widget(
        Table::new(
            failure_rows,
            [
                Constraint::Length(12),
                Constraint::Min(12),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Min(10),
            ],
        )
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(" Latest failed requests "),
        ),
        failures,
    );

    frame.render_widget(
        Paragraph::new(Line::from(vec![Span::styled(
            " q quit · 1-9/w window · s sort · b backend · p pause · ? help",
            Style::default().add_modifier(Modifier::DIM),
        )])),
        footer,
    );

    if c.help {
        let text = vec![
            Line::from(Span::styled("Keys", bold)),
            Line::from("q, Ctrl-C    quit (the terminal is restored)"),
            Line::from("1-9, w, Tab  the window: the last 10 s, 1 min, 5 min (--window)"),
            Line::from("s            order servers by requests, failed %, Tt p99, name"),
            Line::from("b            one backend's servers at a time, then all"),
            Line::from("p, space     pause the screen (reading goes on)"),
            Line::from("?, h, Esc    this help"),
            Line::from(""),
            Line::from("Tt total, Tr server response, Tw queue, Tc connect, in ms."),
            Line::from("state: the most frequent abnormal termination state."),
        ];
        let popup = centered(area, 70, 14);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Help ")),
            popup,
        );
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest() {
        assert_eq!(sparkline(&[0, 1, 2, 4]), " ▃▅█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[0; 30]).chars().count(), SPARK_WIDTH);
    }
}
