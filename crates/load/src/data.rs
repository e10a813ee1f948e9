//! What each call sends: request messages from `-d`/`-D` JSON or `-b`/`-B`
//! binary, and metadata from `-m`/`-M`, rendered per call when they hold
//! template actions.

use bytes::Bytes;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue, MetadataKey, MetadataMap};

use crate::error::LoadError;
use crate::schema::{CallKind, Method};
use crate::template::{CallContext, Template};

/// Where request data comes from, as given on the command line.
#[derive(Clone, Debug)]
pub enum DataInput {
    /// No data: every call sends one empty message.
    None,
    /// JSON text (`-d`, `-D`, or `-d @` from stdin); `flag` names the source.
    Json { flag: &'static str, text: String },
    /// Serialized messages (`-b` from stdin, `-B` from a file).
    Binary { flag: &'static str, bytes: Vec<u8> },
}

/// How templates may be used (`--disable-template-*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TemplateOptions {
    pub disable_data: bool,
    pub disable_functions: bool,
}

impl TemplateOptions {
    /// `text` as a template to render per call, or `None` when it is to be
    /// used as it is (templates disabled, or no action in it).
    fn template(self, flag: &'static str, text: &str) -> Result<Option<Template>, LoadError> {
        if self.disable_data {
            return Ok(None);
        }
        let template =
            Template::parse(text, !self.disable_functions).map_err(|e| LoadError::data(flag, e))?;
        Ok((!template.is_static()).then_some(template))
    }
}

/// The request messages of a run.
#[derive(Clone, Debug)]
pub struct Payload {
    input: MessageDescriptor,
    kind: CallKind,
    form: Form,
    /// The JSON as given, echoed in the JSON report's options.
    pub json: Option<serde_json::Value>,
    pub binary: bool,
    /// Things worth telling the user about the input (e.g. an ambiguous -B).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
enum Form {
    /// Encoded once for the whole run.
    Fixed(Vec<Bytes>),
    /// JSON rendered and encoded per call.
    Templated {
        flag: &'static str,
        template: Template,
    },
}

impl Payload {
    pub fn new(
        input: DataInput,
        method: &Method,
        options: TemplateOptions,
    ) -> Result<Payload, LoadError> {
        let descriptor = method.descriptor.input();
        let mut payload = Payload {
            input: descriptor.clone(),
            kind: method.kind,
            form: Form::Fixed(Vec::new()),
            json: None,
            binary: false,
            notes: Vec::new(),
        };
        match input {
            DataInput::None => {
                payload.form = Form::Fixed(vec![Bytes::new()]);
            }
            DataInput::Json { flag, text } => {
                payload.form = match options.template(flag, &text)? {
                    Some(template) => {
                        // As ghz reports it: the text as JSON when it is
                        // JSON (templates inside strings), else nothing.
                        payload.json = serde_json::from_str(&text).ok();
                        Form::Templated { flag, template }
                    }
                    None => {
                        let value = parse_json(flag, &text)?;
                        let messages = json_to_messages(flag, &value, &descriptor)?;
                        payload.json = Some(value);
                        Form::Fixed(messages)
                    }
                };
            }
            DataInput::Binary { flag, bytes } => {
                let (messages, note) = split_binary(flag, &bytes, &descriptor)?;
                payload.notes.extend(note);
                payload.binary = true;
                payload.form = Form::Fixed(messages);
            }
        }
        if let Form::Fixed(messages) = &payload.form {
            if messages.is_empty() {
                return Err(LoadError::data("-d", "an empty array sends no message"));
            }
        }
        Ok(payload)
    }

    /// The messages call number `context.request_number` sends: one, picked
    /// round-robin, for unary and server streaming; the whole list, in order,
    /// for client streaming and bidi.
    pub fn messages(&self, context: &CallContext<'_>) -> Result<Vec<Bytes>, String> {
        let rendered;
        let all: &[Bytes] = match &self.form {
            Form::Fixed(messages) => messages,
            Form::Templated { flag, template } => {
                let text = template.render(context);
                let value = parse_json(flag, &text).map_err(|e| e.to_string())?;
                rendered =
                    json_to_messages(flag, &value, &self.input).map_err(|e| e.to_string())?;
                &rendered
            }
        };
        if self.kind.client_streams() {
            Ok(all.to_vec())
        } else {
            let pick = (context.request_number % all.len().max(1) as u64) as usize;
            Ok(all.get(pick).cloned().into_iter().collect())
        }
    }

    /// Message `index` of a client or bidi stream rendered on its own, with
    /// the template's values drawn afresh (`--stream-dynamic-messages`):
    /// element `index` (cycled) of an array, or the object itself.
    pub fn stream_message(&self, context: &CallContext<'_>, index: u64) -> Result<Bytes, String> {
        let Form::Templated { flag, template } = &self.form else {
            let messages = self.fixed().unwrap_or_default();
            let len = messages.len().max(1) as u64;
            return Ok(messages
                .get((index % len) as usize)
                .cloned()
                .unwrap_or_default());
        };
        let value = parse_json(flag, &template.render(context)).map_err(|e| e.to_string())?;
        let item = match &value {
            serde_json::Value::Array(items) if !items.is_empty() => {
                &items[(index % items.len() as u64) as usize]
            }
            other => other,
        };
        let mut one = json_to_messages(flag, item, &self.input).map_err(|e| e.to_string())?;
        Ok(one.pop().unwrap_or_default())
    }

    /// The data holds template actions, rendered per call.
    pub fn is_templated(&self) -> bool {
        matches!(self.form, Form::Templated { .. })
    }

    /// The fixed messages, when the data has no template actions.
    pub fn fixed(&self) -> Option<&[Bytes]> {
        match &self.form {
            Form::Fixed(messages) => Some(messages),
            Form::Templated { .. } => None,
        }
    }
}

fn parse_json(flag: &'static str, text: &str) -> Result<serde_json::Value, LoadError> {
    serde_json::from_str(text).map_err(|e| LoadError::data(flag, format!("not JSON: {e}")))
}

/// An object, or an array of objects, to encoded messages.
fn json_to_messages(
    flag: &'static str,
    value: &serde_json::Value,
    descriptor: &MessageDescriptor,
) -> Result<Vec<Bytes>, LoadError> {
    let one = |item: &serde_json::Value| -> Result<Bytes, LoadError> {
        if !item.is_object() {
            return Err(LoadError::data(
                flag,
                format!("expected a JSON object or an array of objects, found {item}"),
            ));
        }
        let message = DynamicMessage::deserialize(descriptor.clone(), item)
            .map_err(|e| LoadError::data(flag, format!("not a {}: {e}", descriptor.full_name())))?;
        Ok(Bytes::from(message.encode_to_vec()))
    };
    match value {
        serde_json::Value::Array(items) => items.iter().map(one).collect(),
        item => Ok(vec![one(item)?]),
    }
}

/// Messages written length-delimited (each after its varint length, as
/// protobuf's `writeDelimitedTo`): what `-B` reads back as those messages,
/// whatever their bytes.
pub fn delimited(messages: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        prost::encoding::encode_varint(message.len() as u64, &mut out);
        out.extend_from_slice(message);
    }
    out
}

/// ghz's rule for binary data: first try varint-length-delimited messages
/// (running out of bytes ends that reading quietly; a message that does not
/// decode abandons it); if that gave none, the whole input is one message.
/// The messages are decoded and re-encoded, as ghz does.
pub fn split_binary(
    flag: &'static str,
    bytes: &[u8],
    descriptor: &MessageDescriptor,
) -> Result<(Vec<Bytes>, Option<String>), LoadError> {
    let decode = |slice: &[u8]| DynamicMessage::decode(descriptor.clone(), slice);
    let mut delimited = Vec::new();
    let mut rest = bytes;
    let mut clean = true;
    while !rest.is_empty() {
        let mut cursor = rest;
        let Ok(length) = prost::encoding::decode_varint(&mut cursor) else {
            break;
        };
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        if length > cursor.len() {
            break;
        }
        match decode(&cursor[..length]) {
            Ok(message) => delimited.push(Bytes::from(message.encode_to_vec())),
            Err(_) => {
                clean = false;
                break;
            }
        }
        rest = &cursor[length..];
    }
    let single = decode(bytes);
    if clean && !delimited.is_empty() {
        let note = single.is_ok().then(|| {
            format!(
                "{flag}: the data reads both as {} length-delimited message(s) and as one message; \
                 using the delimited reading, as ghz does",
                delimited.len()
            )
        });
        return Ok((delimited, note));
    }
    match single {
        Ok(message) => Ok((vec![Bytes::from(message.encode_to_vec())], None)),
        Err(e) => Err(LoadError::data(
            flag,
            format!(
                "neither length-delimited messages nor one {}: {e}",
                descriptor.full_name()
            ),
        )),
    }
}

/// Request metadata (`-m`/`-M`): a JSON object of strings.
#[derive(Clone, Debug)]
pub struct Metadata {
    form: MetadataForm,
    /// As given, for the JSON report's options.
    pub json: Option<serde_json::Value>,
}

#[derive(Clone, Debug)]
enum MetadataForm {
    Fixed(MetadataMap),
    Templated(Template),
}

impl Metadata {
    pub fn none() -> Metadata {
        Metadata {
            form: MetadataForm::Fixed(MetadataMap::new()),
            json: None,
        }
    }

    pub fn new(
        flag: &'static str,
        text: &str,
        options: TemplateOptions,
    ) -> Result<Self, LoadError> {
        match options.template(flag, text)? {
            Some(template) => Ok(Metadata {
                form: MetadataForm::Templated(template),
                // As for data: the object ghz reports, when it parses.
                json: serde_json::from_str(text).ok(),
            }),
            None => {
                let value = parse_json(flag, text)?;
                let map = metadata_map(&value).map_err(|e| LoadError::data(flag, e))?;
                Ok(Metadata {
                    form: MetadataForm::Fixed(map),
                    json: Some(value),
                })
            }
        }
    }

    pub fn for_call(&self, context: &CallContext<'_>) -> Result<MetadataMap, String> {
        match &self.form {
            MetadataForm::Fixed(map) => Ok(map.clone()),
            MetadataForm::Templated(template) => {
                let text = template.render(context);
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| format!("metadata is not JSON: {e}"))?;
                metadata_map(&value)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(&self.form, MetadataForm::Fixed(map) if map.is_empty())
    }
}

/// `{"key":"value",...}` to gRPC metadata; `-bin` keys carry the string's
/// bytes as a binary value.
pub fn metadata_map(value: &serde_json::Value) -> Result<MetadataMap, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("expected a JSON object of strings, found {value}"))?;
    let mut map = MetadataMap::new();
    for (key, value) in object {
        let text = value
            .as_str()
            .ok_or_else(|| format!("the value of {key:?} is not a string"))?;
        let lower = key.to_ascii_lowercase();
        if lower.ends_with("-bin") {
            let key = MetadataKey::from_bytes(lower.as_bytes())
                .map_err(|_| format!("{key:?} is not a valid metadata key"))?;
            map.append_bin(key, BinaryMetadataValue::from_bytes(text.as_bytes()));
        } else {
            let key = MetadataKey::from_bytes(lower.as_bytes())
                .map_err(|_| format!("{key:?} is not a valid metadata key"))?;
            let value: AsciiMetadataValue = text
                .parse()
                .map_err(|_| format!("the value of {key:?} is not printable ASCII"))?;
            map.append(key, value);
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{find_method, pool_from_sources};
    use std::time::UNIX_EPOCH;

    fn method(name: &str) -> Method {
        let pool = pool_from_sources(&[("demo.proto", crate::testserver::DEMO_PROTO)]).unwrap();
        find_method(&pool, &format!("haplog.demo.Tts/{name}")).unwrap()
    }

    fn context(n: u64) -> CallContext<'static> {
        crate::template::test_context(n, UNIX_EPOCH)
    }

    fn text_of(bytes: &Bytes) -> String {
        let m = method("Speak");
        let message = DynamicMessage::decode(m.descriptor.input(), bytes.as_ref()).unwrap();
        message
            .get_field_by_name("text")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn json(text: &str) -> DataInput {
        DataInput::Json {
            flag: "-d",
            text: text.to_string(),
        }
    }

    #[test]
    fn json_array_is_round_robin_for_unary_and_one_stream_for_client_streaming() {
        let data = r#"[{"text":"a"},{"text":"b"},{"text":"c"}]"#;
        let unary = Payload::new(json(data), &method("Speak"), TemplateOptions::default()).unwrap();
        let picked: Vec<String> = (0..5)
            .map(|n| text_of(&unary.messages(&context(n)).unwrap()[0]))
            .collect();
        assert_eq!(picked, ["a", "b", "c", "a", "b"]);
        let batch = Payload::new(
            json(data),
            &method("SpeakBatch"),
            TemplateOptions::default(),
        )
        .unwrap();
        let all = batch.messages(&context(7)).unwrap();
        assert_eq!(all.iter().map(text_of).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn camel_case_json_names_are_accepted() {
        let p = Payload::new(
            json(r#"{"sampleRate":16000}"#),
            &method("Speak"),
            TemplateOptions::default(),
        )
        .unwrap();
        let bytes = &p.messages(&context(0)).unwrap()[0];
        assert_eq!(bytes.as_ref(), [0x18, 0x80, 0x7d]);
    }

    #[test]
    fn templated_json_is_rendered_per_call() {
        let p = Payload::new(
            json(r#"{"text":"call {{.RequestNumber}}"}"#),
            &method("Speak"),
            TemplateOptions::default(),
        )
        .unwrap();
        assert!(p.fixed().is_none());
        assert_eq!(text_of(&p.messages(&context(12)).unwrap()[0]), "call 12");
        let literal = Payload::new(
            json(r#"{"text":"call {{.RequestNumber}}"}"#),
            &method("Speak"),
            TemplateOptions {
                disable_data: true,
                disable_functions: true,
            },
        )
        .unwrap();
        assert_eq!(
            text_of(&literal.messages(&context(12)).unwrap()[0]),
            "call {{.RequestNumber}}"
        );
    }

    #[test]
    fn bad_json_names_the_flag_and_the_problem() {
        let m = method("Speak");
        let err = Payload::new(json(r#"{"txt":"a"}"#), &m, TemplateOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("-d: not a haplog.demo.SpeakRequest"),
            "{err}"
        );
        let err = Payload::new(json("{"), &m, TemplateOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("-d: not JSON"), "{err}");
        let err = Payload::new(json("[1]"), &m, TemplateOptions::default()).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }

    fn encoded(text: &str) -> Vec<u8> {
        let m = method("Speak");
        let mut message = DynamicMessage::new(m.descriptor.input());
        message.set_field_by_name("text", prost_reflect::Value::String(text.into()));
        message.encode_to_vec()
    }

    #[test]
    fn binary_single_and_delimited() {
        let m = method("Speak");
        let single = encoded("hello world");
        let (messages, _) = split_binary("-B", &single, &m.descriptor.input()).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(text_of(&messages[0]), "hello world");

        let mut delimited = Vec::new();
        for text in ["one", "two"] {
            let bytes = encoded(text);
            prost::encoding::encode_varint(bytes.len() as u64, &mut delimited);
            delimited.extend_from_slice(&bytes);
        }
        let (messages, _) = split_binary("-B", &delimited, &m.descriptor.input()).unwrap();
        assert_eq!(
            messages.iter().map(text_of).collect::<Vec<_>>(),
            ["one", "two"]
        );

        // A truncated tail ends the delimited reading quietly.
        delimited.extend_from_slice(&[40, 1, 2]);
        let (messages, _) = split_binary("-B", &delimited, &m.descriptor.input()).unwrap();
        assert_eq!(messages.len(), 2);

        let err = split_binary("-B", &[0xFF, 0xFF, 0xFF], &m.descriptor.input()).unwrap_err();
        assert!(err.to_string().starts_with("-B: neither"), "{err}");
    }

    #[test]
    fn metadata_maps_and_templates() {
        let md = Metadata::new(
            "-m",
            r#"{"request-id":"{{.RequestNumber}}","Trace-Bin":"xy"}"#,
            TemplateOptions::default(),
        )
        .unwrap();
        let map = md.for_call(&context(5)).unwrap();
        assert_eq!(map.get("request-id").unwrap(), "5");
        assert_eq!(
            map.get_bin("trace-bin")
                .unwrap()
                .to_bytes()
                .unwrap()
                .as_ref(),
            b"xy"
        );
        assert!(Metadata::new("-m", r#"{"a":1}"#, TemplateOptions::default()).is_err());
        assert!(Metadata::new("-m", r#"["a"]"#, TemplateOptions::default()).is_err());
    }
}
