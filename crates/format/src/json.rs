//! JSON traffic lines without their log-format: a lenient reading of the
//! object, its keys mapped to fields by name.
//!
//! HAProxy writes JSON log-formats that are not always valid JSON: `+1`
//! for retries after a redispatch and `+N` timers with logasap, a bare `-`
//! for an absent unquoted value, and lines cut at 1024 bytes. They are read
//! as HAProxy meant them (spec f.1).

use crate::compiled::{Span, MAX_ITEMS};
use crate::field::{Field, FieldSet};

/// Fields found in a JSON object.
#[derive(Clone, Copy, Debug)]
pub struct JsonFields {
    /// Indexed by `Field as usize`; valid where `present` has the bit.
    pub spans: [Span; MAX_ITEMS],
    pub present: FieldSet,
    /// The line ended inside the object.
    pub truncated: bool,
}

/// Reads `m` as a JSON object, keeping the spans of the keys it knows.
/// `None` when `m` is not an object or names no traffic field.
pub fn fields(m: &[u8]) -> Option<JsonFields> {
    let mut out = JsonFields {
        spans: [Span::default(); MAX_ITEMS],
        present: FieldSet::EMPTY,
        truncated: false,
    };
    let mut s = Scan { m, i: 0 };
    s.ws();
    if s.peek() != Some(b'{') {
        return None;
    }
    match s.object(&mut out, &[], 0) {
        Some(()) => {}
        None if s.i >= m.len() => out.truncated = true,
        None => return None,
    }
    let traffic = [
        Field::ClientIp,
        Field::Status,
        Field::Backend,
        Field::Frontend,
        Field::Termination,
    ];
    traffic
        .iter()
        .any(|&f| out.present.contains(f))
        .then_some(out)
}

/// The field a key (with its parents, for nested objects) stands for.
fn field_of(parent: &[u8], key: &[u8]) -> Option<Field> {
    let timer = |k: &[u8]| -> Option<Field> {
        Some(match k {
            b"Th" => Field::Th,
            b"Ti" => Field::Ti,
            b"TR" => Field::TR,
            b"Tq" => Field::Tq,
            b"Tw" => Field::Tw,
            b"Tc" => Field::Tc,
            b"Tr" => Field::Tr,
            b"Td" => Field::Td,
            b"Ta" => Field::Ta,
            b"Tt" => Field::Tt,
            b"Tu" => Field::Tu,
            _ => return None,
        })
    };
    if parent == b"timers" {
        return timer(key);
    }
    if !parent.is_empty() {
        return None;
    }
    if let Some(f) = timer(key) {
        return Some(f);
    }
    let alias = match key {
        b"ts" | b"date" | b"timestamp" | b"time" => Some(Field::RequestDate),
        b"client_addr" | b"src" | b"src_ip" => Some(Field::ClientIp),
        b"src_port" => Some(Field::ClientPort),
        b"frontend_name" | b"fe" => Some(Field::Frontend),
        b"backend_name" | b"be" => Some(Field::Backend),
        b"server_name" | b"srv" => Some(Field::Server),
        b"status_code" | b"http_status" => Some(Field::Status),
        b"bytes" | b"bytes_sent" => Some(Field::BytesRead),
        b"bytes_received" => Some(Field::BytesUploaded),
        b"termination" | b"termination_code" => Some(Field::Termination),
        b"request_id" | b"id" => Some(Field::UniqueId),
        b"http_method" => Some(Field::Method),
        b"http_version" => Some(Field::Version),
        b"request_line" => Some(Field::Request),
        _ => None,
    };
    alias.or_else(|| {
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.name().as_bytes() == key)
    })
}

struct Scan<'a> {
    m: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.m.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// An object at `{`; known keys go to `out`.
    fn object(&mut self, out: &mut JsonFields, parent: &[u8], depth: usize) -> Option<()> {
        if depth > 8 {
            return None;
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            let m = self.m;
            let key = &m[key.start as usize..key.end as usize];
            self.ws();
            if self.peek() != Some(b':') {
                return None;
            }
            self.i += 1;
            self.ws();
            if self.peek() == Some(b'{') {
                // Only the first level of nesting is named (`timers.TR`).
                let nested: &[u8] = if parent.is_empty() { key } else { b"\0" };
                self.object(out, nested, depth + 1)?;
            } else {
                let span = self.value(depth)?;
                if let Some(f) = field_of(parent, key) {
                    if !out.present.contains(f) {
                        out.present.insert(f);
                        out.spans[f as usize] = span;
                    }
                }
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string at `"`: the span of its contents (escapes left as written).
    fn string(&mut self) -> Option<Span> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let start = self.i;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let span = Span {
                        start: start as u32,
                        end: self.i as u32,
                    };
                    self.i += 1;
                    return Some(span);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        None
    }

    /// A value other than an object: its span (strings without quotes).
    /// Lenient: `+N` numbers and a bare `-` are accepted.
    fn value(&mut self, depth: usize) -> Option<Span> {
        match self.peek()? {
            b'"' => self.string(),
            b'[' => {
                let start = self.i;
                self.skip_nested(depth)?;
                Some(Span {
                    start: start as u32,
                    end: self.i as u32,
                })
            }
            _ => {
                let start = self.i;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                (self.i > start).then_some(Span {
                    start: start as u32,
                    end: self.i as u32,
                })
            }
        }
    }

    /// Skips a balanced `[...]` or `{...}`, strings included.
    fn skip_nested(&mut self, depth: usize) -> Option<()> {
        if depth > 8 {
            return None;
        }
        let mut level = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'[' | b'{' => level += 1,
                b']' | b'}' => {
                    level -= 1;
                    if level == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &JsonFields, m: &'a [u8], field: Field) -> Option<&'a [u8]> {
        f.present
            .contains(field)
            .then(|| f.spans[field as usize].of(m))
    }

    #[test]
    fn hand_written_json_from_the_corpus() {
        let m = br#"{"ts":"24/Nov/2026:15:56:44.158","client_ip":"127.0.0.1","client_port":47922,"frontend":"fe_http","backend":"be_static","server":"nginx1","timers":{"TR":0,"Tw":0,"Tc":0,"Tr":1,"Ta":1,"Th":0,"Ti":0,"Tt":1},"status":200,"bytes_read":235,"termination_state":"----","retries":+1,"request":"GET /x HTTP/1.1","user_agent":"curl \"8\"","request_id":"-"}"#;
        let f = fields(m).unwrap();
        assert!(!f.truncated);
        assert_eq!(get(&f, m, Field::ClientIp), Some(&b"127.0.0.1"[..]));
        assert_eq!(get(&f, m, Field::ClientPort), Some(&b"47922"[..]));
        assert_eq!(get(&f, m, Field::Tr), Some(&b"1"[..]));
        assert_eq!(get(&f, m, Field::Retries), Some(&b"+1"[..]));
        assert_eq!(
            get(&f, m, Field::RequestDate),
            Some(&b"24/Nov/2026:15:56:44.158"[..])
        );
        assert_eq!(get(&f, m, Field::UniqueId), Some(&b"-"[..]));
        assert_eq!(get(&f, m, Field::Request), Some(&b"GET /x HTTP/1.1"[..]));
    }

    #[test]
    fn haproxy_3_json_and_cut_lines() {
        let m = br#"{"client_ip": "::1", "status": 503, "backend": "be", "port": -}"#;
        let f = fields(m).unwrap();
        assert_eq!(get(&f, m, Field::Status), Some(&b"503"[..]));
        let cut = br#"{"client_ip":"127.0.0.1","status":404,"uri":"/static/LLLL"#;
        let f = fields(cut).unwrap();
        assert!(f.truncated);
        assert_eq!(get(&f, cut, Field::Status), Some(&b"404"[..]));
        assert_eq!(get(&f, cut, Field::Uri), None);
    }

    #[test]
    fn objects_without_traffic_fields_are_not_traffic() {
        assert!(fields(br#"{"MESSAGE":"x","_PID":"1"}"#).is_none());
        assert!(fields(b"[1,2]").is_none());
        assert!(fields(b"{").is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_without_panic(m in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut object = b"{\"status\":".to_vec();
            object.extend_from_slice(&m);
            for input in [&m[..], &object[..]] {
                if let Some(f) = fields(input) {
                    for field in Field::ALL {
                        let _ = get(&f, input, *field);
                    }
                }
            }
        }
    }
}
