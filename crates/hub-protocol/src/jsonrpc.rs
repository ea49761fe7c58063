//! The JSON-RPC 2.0 envelope: ids, requests, notifications, responses, errors, and decoding from
//! bytes with the error codes the specification prescribes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeMap};
use serde_json::value::RawValue;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters (also: unknown tool, prompt or resource name).
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;
/// The connection to the peer closed before it answered (MCP SDKs' `ConnectionClosed`).
pub const CONNECTION_CLOSED: i64 = -32000;
/// The peer did not answer within the request timeout (MCP SDKs' `RequestTimeout`).
pub const REQUEST_TIMEOUT: i64 = -32001;
/// The client cancelled the request (`notifications/cancelled`); LSP's code for the same.
pub const REQUEST_CANCELLED: i64 = -32800;

/// A request id: a string or an integer. MCP forbids `null` ids on requests.
///
/// Fractional numbers and integers outside `i64` are rejected as invalid requests: JSON-RPC says
/// numbers SHOULD NOT have fractional parts, and every MCP SDK uses small integers or strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

/// A request: it has an id and expects exactly one response.
#[derive(Debug, Clone)]
pub struct Request {
    /// Correlates the response with this request.
    pub id: Id,
    /// The method name, e.g. `tools/call`.
    pub method: String,
    /// The params, untouched.
    pub params: Option<Box<RawValue>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name, e.g. `notifications/initialized`.
    pub method: String,
    /// The params, untouched.
    pub params: Option<Box<RawValue>>,
}

/// A response: the result of a request or its error.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request it answers; `None` (sent as `null`) only for errors about a message
    /// whose id could not be read.
    pub id: Option<Id>,
    /// The result, untouched, or the error.
    pub outcome: Result<Box<RawValue>, ErrorObject>,
}

/// The `error` member of a failed response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorObject {
    /// One of the codes above, or an application-defined one.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Optional structured detail, untouched (`"data": null` stays a present `null`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present_raw")]
    pub data: Option<Box<RawValue>>,
}

/// Any single JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// See [`Request`].
    Request(Request),
    /// See [`Notification`].
    Notification(Notification),
    /// See [`Response`].
    Response(Response),
}

/// Why bytes could not be decoded into a [`Message`]; [`DecodeError::to_response`] turns it into
/// the error response the peer should get.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON at all (JSON-RPC `-32700`).
    #[error("parse error: {0}")]
    Parse(String),
    /// JSON, but not a valid JSON-RPC 2.0 message (`-32600`). Carries the id when it was readable,
    /// so the error response can be correlated.
    #[error("invalid request: {reason}")]
    Invalid {
        /// The message's id, when it had a usable one.
        id: Option<Id>,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON array: a batch. Decode it with [`decode_batch`] where the negotiated protocol
    /// version allows batches (2025-03-26 only).
    #[error("invalid request: JSON-RPC batches are not supported by this protocol version")]
    Batch,
}

// Equality compares raw JSON by its text: two messages are equal when they would be forwarded as
// the same bytes. (`RawValue` itself has no `PartialEq`.)

fn raw_text(v: Option<&RawValue>) -> Option<&str> {
    v.map(RawValue::get)
}

impl PartialEq for Request {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && self.method == o.method
            && raw_text(self.params.as_deref()) == raw_text(o.params.as_deref())
    }
}

impl PartialEq for Notification {
    fn eq(&self, o: &Self) -> bool {
        self.method == o.method && raw_text(self.params.as_deref()) == raw_text(o.params.as_deref())
    }
}

impl PartialEq for Response {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && match (&self.outcome, &o.outcome) {
                (Ok(a), Ok(b)) => a.get() == b.get(),
                (Err(a), Err(b)) => a == b,
                _ => false,
            }
    }
}

impl PartialEq for ErrorObject {
    fn eq(&self, o: &Self) -> bool {
        self.code == o.code
            && self.message == o.message
            && raw_text(self.data.as_deref()) == raw_text(o.data.as_deref())
    }
}

// === impl Id ===

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for Id {
    fn from(n: i64) -> Self {
        Id::Number(n)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::String(s.to_owned())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Number(n) => s.serialize_i64(*n),
            Id::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Id::from_value(&v)
            .ok_or_else(|| serde::de::Error::custom("an id must be a string or an integer"))
    }
}

impl Id {
    /// Reads an id from any JSON value; `None` for `null`, fractions, booleans, objects, arrays.
    fn from_value(v: &serde_json::Value) -> Option<Id> {
        match v {
            serde_json::Value::Number(n) => n.as_i64().map(Id::Number),
            serde_json::Value::String(s) => Some(Id::String(s.clone())),
            _ => None,
        }
    }
}

// === impl ErrorObject ===

impl ErrorObject {
    /// An error without data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject { code, message: message.into(), data: None }
    }

    /// Attaches structured data.
    pub fn with_data(mut self, data: &serde_json::Value) -> Self {
        self.data = serde_json::value::to_raw_value(data).ok();
        self
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

// === impl Request / Notification / Response ===

impl Request {
    /// A request with params given as a JSON value.
    pub fn new(
        id: impl Into<Id>,
        method: impl Into<String>,
        params: Option<&serde_json::Value>,
    ) -> Self {
        Request { id: id.into(), method: method.into(), params: params.map(raw_from_value) }
    }

    /// Deserializes the params into a typed view; a missing `params` reads as `{}`.
    pub fn parse_params<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ErrorObject> {
        parse_params(self.params.as_deref())
    }
}

impl Notification {
    /// A notification with params given as a JSON value.
    pub fn new(method: impl Into<String>, params: Option<&serde_json::Value>) -> Self {
        Notification { method: method.into(), params: params.map(raw_from_value) }
    }

    /// Deserializes the params into a typed view; a missing `params` reads as `{}`.
    pub fn parse_params<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ErrorObject> {
        parse_params(self.params.as_deref())
    }
}

impl Response {
    /// A successful response with a result already in raw form.
    pub fn ok(id: Id, result: Box<RawValue>) -> Self {
        Response { id: Some(id), outcome: Ok(result) }
    }

    /// A successful response; the result is serialized here.
    pub fn ok_value<T: Serialize>(id: Id, result: &T) -> Self {
        match serde_json::value::to_raw_value(result) {
            Ok(raw) => Response::ok(id, raw),
            Err(e) => Response::err(Some(id), ErrorObject::new(INTERNAL_ERROR, e.to_string())),
        }
    }

    /// A failed response.
    pub fn err(id: Option<Id>, error: ErrorObject) -> Self {
        Response { id, outcome: Err(error) }
    }
}

fn raw_from_value(v: &serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a serde_json::Value always serializes")
}

fn parse_params<'a, T: Deserialize<'a>>(params: Option<&'a RawValue>) -> Result<T, ErrorObject> {
    let text = params.map_or("{}", RawValue::get);
    serde_json::from_str(text)
        .map_err(|e| ErrorObject::new(INVALID_PARAMS, format!("invalid params: {e}")))
}

// === impl Message ===

impl Message {
    /// Encodes the message as compact JSON (no trailing newline).
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("messages hold only valid JSON and string keys")
    }

    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) => None,
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Message::Notification(n)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        match self {
            Message::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    map.serialize_entry("params", p)?;
                }
            }
            Message::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if let Some(p) = &n.params {
                    map.serialize_entry("params", p)?;
                }
            }
            Message::Response(r) => {
                map.serialize_entry("id", &r.id)?;
                match &r.outcome {
                    Ok(result) => map.serialize_entry("result", result)?,
                    Err(error) => map.serialize_entry("error", error)?,
                }
            }
        }
        map.end()
    }
}

// === impl DecodeError ===

impl DecodeError {
    /// The JSON-RPC error code for this failure.
    pub fn code(&self) -> i64 {
        match self {
            DecodeError::Parse(_) => PARSE_ERROR,
            DecodeError::Invalid { .. } | DecodeError::Batch => INVALID_REQUEST,
        }
    }

    /// The error response to send back (id `null` unless the id was readable).
    pub fn to_response(&self) -> Response {
        let id = match self {
            DecodeError::Invalid { id, .. } => id.clone(),
            DecodeError::Parse(_) | DecodeError::Batch => None,
        };
        Response::err(id, ErrorObject::new(self.code(), self.to_string()))
    }
}

// === decoding ===

/// The fields of any JSON-RPC message, read leniently so that every problem can be reported as
/// `-32600` with a precise reason rather than as a serde type error.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    jsonrpc: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<serde_json::Value>,
    #[serde(default)]
    params: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present_raw")]
    result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present_raw")]
    error: Option<Box<RawValue>>,
}

/// Distinguishes a member that is present with value `null` (`Some(Value::Null)`) from an absent
/// one (`None`, through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// Like [`present`], for a member kept raw: `"result": null` is a result, not a missing member.
fn present_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// Decodes one JSON-RPC message from bytes.
///
/// Invalid UTF-8 and malformed JSON are `-32700`; valid JSON that is not a JSON-RPC 2.0 message
/// is `-32600`; a JSON array is [`DecodeError::Batch`].
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'[') {
        // Still reject malformed arrays as parse errors, so the error code is right.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|e| DecodeError::Parse(e.to_string()))?;
        return Err(DecodeError::Batch);
    }
    let envelope: Envelope = match serde_json::from_slice(bytes) {
        Ok(env) => env,
        Err(e) if e.is_data() => {
            // Valid JSON of the wrong shape (a number, a string, a field of the wrong type).
            return Err(invalid(None, format!("not a JSON-RPC message: {e}")));
        }
        Err(e) => return Err(DecodeError::Parse(e.to_string())),
    };
    from_envelope(envelope)
}

/// Decodes a JSON-RPC batch (a JSON array) into its elements, each decoded on its own so that one
/// bad element does not spoil the others. An empty array is invalid.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Result<Message, DecodeError>>, DecodeError> {
    let items: Vec<Box<RawValue>> = match serde_json::from_slice(bytes) {
        Ok(items) => items,
        Err(e) if e.is_data() => return Err(invalid(None, format!("not a JSON-RPC batch: {e}"))),
        Err(e) => return Err(DecodeError::Parse(e.to_string())),
    };
    if items.is_empty() {
        return Err(invalid(None, "empty batch".to_owned()));
    }
    Ok(items
        .iter()
        .map(|raw| {
            if raw.get().starts_with('[') {
                Err(invalid(None, "nested batch".to_owned()))
            } else {
                decode(raw.get().as_bytes())
            }
        })
        .collect())
}

fn invalid(id: Option<Id>, reason: String) -> DecodeError {
    DecodeError::Invalid { id, reason }
}

fn from_envelope(env: Envelope) -> Result<Message, DecodeError> {
    let id = match &env.id {
        None => None,
        Some(v) => match Id::from_value(v) {
            Some(id) => Some(Some(id)),
            None if v.is_null() => Some(None),
            None => {
                return Err(invalid(None, format!("id must be a string or an integer, got {v}")));
            }
        },
    };
    let readable_id = id.clone().flatten();
    match env.jsonrpc {
        Some(serde_json::Value::String(ref v)) if v == "2.0" => {}
        _ => return Err(invalid(readable_id, "\"jsonrpc\" must be \"2.0\"".to_owned())),
    }
    if let Some(method) = env.method {
        let serde_json::Value::String(method) = method else {
            return Err(invalid(readable_id, "\"method\" must be a string".to_owned()));
        };
        if env.result.is_some() || env.error.is_some() {
            return Err(invalid(
                readable_id,
                "a request cannot carry \"result\" or \"error\"".to_owned(),
            ));
        }
        if let Some(p) = &env.params {
            let t = p.get().trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return Err(invalid(
                    readable_id,
                    "\"params\" must be an object or an array".to_owned(),
                ));
            }
        }
        return match id {
            None => Ok(Message::Notification(Notification { method, params: env.params })),
            Some(Some(id)) => Ok(Message::Request(Request { id, method, params: env.params })),
            Some(None) => Err(invalid(None, "request id must not be null".to_owned())),
        };
    }
    let Some(id) = id else {
        return Err(invalid(None, "message has neither \"method\" nor \"id\"".to_owned()));
    };
    let outcome = match (env.result, env.error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(serde_json::from_str::<ErrorObject>(error.get())
            .map_err(|e| invalid(id.clone(), format!("malformed \"error\" member: {e}")))?),
        (Some(_), Some(_)) => {
            return Err(invalid(
                id,
                "a response cannot carry both \"result\" and \"error\"".to_owned(),
            ));
        }
        (None, None) => {
            return Err(invalid(id, "a response must carry \"result\" or \"error\"".to_owned()));
        }
    };
    Ok(Message::Response(Response { id, outcome }))
}

#[cfg(test)]
mod tests;
