//! Server-sent events: a decoder with a hard cap on event size, and a reader over a reqwest
//! response.
//!
//! [`SseCodec`] follows the WHATWG event-stream format (lines end with CRLF, LF or CR; `:` starts
//! a comment; `data`, `event`, `id` and `retry` fields; an empty line ends an event; a leading
//! BOM is skipped). It is written here rather than taken from `sse-stream` for two properties an
//! upstream connection needs and that crate does not have: memory is bounded (an event larger
//! than the cap becomes one [`SseFrame::TooLarge`] and its bytes are dropped as they arrive,
//! like [`LineCodec`](crate::LineCodec) does for stdio lines), and malformed input never ends
//! the stream (`data` stays bytes, so invalid UTF-8 is reported by the JSON decoder for that one
//! message; `event` and `id` are read lossily).
//!
//! Blocks are returned as they are, metadata-only ones included (a priming event with only an
//! `id`, a `retry` update): resumption needs to see them. The reconnection state machine
//! (last event id, retry delay) belongs to the caller.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// One unit of an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseFrame {
    /// A complete event block.
    Event(SseEvent),
    /// An event over the cap, dropped. `len` counts the bytes of its lines plus one per line
    /// end, up to the empty line that ended it.
    TooLarge {
        /// Bytes dropped.
        len: usize,
    },
}

/// A decoded event block. Fields are not inherited from earlier blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The `event` field (the event type); `None` means the default type, `message`.
    pub event: Option<String>,
    /// The `data` lines joined with `\n`; `None` if the block had no `data` field. Not
    /// necessarily UTF-8.
    pub data: Option<Bytes>,
    /// The `id` field; an empty value (which resets the last event id) is `Some("")`. Ids
    /// containing NUL are ignored, as the format prescribes.
    pub id: Option<String>,
    /// The `retry` field in milliseconds, when it was a valid number.
    pub retry: Option<u64>,
}

/// A [`Decoder`] of server-sent events with a cap on the size of one event.
///
/// Never fails on content. The buffer holds at most `max_event_bytes` bytes of an event plus
/// whatever the last read appended. An incomplete final event is dropped at end of stream, as
/// the format prescribes.
#[derive(Debug, Clone)]
pub struct SseCodec {
    max_event_bytes: usize,
    /// The event being read.
    event: SseEvent,
    /// Bytes of the event's lines so far, plus one per line end.
    event_bytes: usize,
    /// The event is over the cap: its lines are dropped until the empty line that ends it.
    discarding: bool,
    /// While discarding, part of the current line was already dropped (so it is not empty).
    in_line: bool,
    /// The last line ended with a `\r` at the end of the buffer: a `\n` that starts the next
    /// read belongs to it.
    after_cr: bool,
    /// Where to resume looking for a line end, so no byte is scanned twice.
    next_index: usize,
    /// Whether the start of the stream (and a BOM there) has been dealt with.
    started: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseCodec {
    /// A codec that drops events larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        SseCodec {
            max_event_bytes,
            event: SseEvent::default(),
            event_bytes: 0,
            discarding: false,
            in_line: false,
            after_cr: false,
            next_index: 0,
            started: false,
        }
    }

    /// The next complete frame in `buf`, consuming its bytes; `None` if more bytes are needed.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Option<SseFrame> {
        loop {
            if !self.started {
                if buf.len() < BOM.len() && BOM.starts_with(buf) {
                    return None;
                }
                if buf.starts_with(BOM) {
                    buf.advance(BOM.len());
                }
                self.started = true;
            }
            if self.after_cr {
                let &first = buf.first()?;
                if first == b'\n' {
                    buf.advance(1);
                }
                self.after_cr = false;
            }
            let start = self.next_index.min(buf.len());
            let Some(offset) = buf[start..].iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.partial_line(buf);
                return None;
            };
            let end = start + offset;
            self.next_index = 0;
            let terminator = match (buf[end], buf.get(end + 1)) {
                (b'\r', Some(b'\n')) => 2,
                (b'\r', None) => {
                    self.after_cr = true;
                    1
                }
                _ => 1,
            };
            let line = buf.split_to(end);
            buf.advance(terminator);
            if line.is_empty() && !self.in_line {
                if let Some(frame) = self.finish_event() {
                    return Some(frame);
                }
                continue;
            }
            self.in_line = false;
            // A line end counts as one byte whatever its form, so that where reads split a
            // CRLF never changes the count.
            self.event_bytes = self.event_bytes.saturating_add(line.len() + 1);
            if self.discarding {
                continue;
            }
            if self.event_bytes > self.max_event_bytes {
                self.start_discarding();
                continue;
            }
            self.field(&line);
        }
    }

    /// No line end in `buf`: keep the partial line, unless it takes the event over the cap.
    fn partial_line(&mut self, buf: &mut BytesMut) {
        if !self.discarding && self.event_bytes.saturating_add(buf.len()) <= self.max_event_bytes {
            self.next_index = buf.len();
            return;
        }
        if !self.discarding {
            self.start_discarding();
        }
        self.event_bytes = self.event_bytes.saturating_add(buf.len());
        self.in_line |= !buf.is_empty();
        self.next_index = 0;
        buf.clear();
    }

    fn start_discarding(&mut self) {
        self.discarding = true;
        self.event = SseEvent::default();
    }

    /// The empty line that ends an event: returns it (or its being too large), if anything.
    fn finish_event(&mut self) -> Option<SseFrame> {
        let len = std::mem::take(&mut self.event_bytes);
        let event = std::mem::take(&mut self.event);
        if std::mem::take(&mut self.discarding) {
            return Some(SseFrame::TooLarge { len });
        }
        let empty = event.event.is_none()
            && event.data.is_none()
            && event.id.is_none()
            && event.retry.is_none();
        (!empty).then_some(SseFrame::Event(event))
    }

    /// One `name: value` line of the current event.
    fn field(&mut self, line: &[u8]) {
        if line.first() == Some(&b':') {
            return; // a comment (often a keep-alive)
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                let data = match self.event.data.take() {
                    Some(previous) => {
                        let mut joined = BytesMut::with_capacity(previous.len() + 1 + value.len());
                        joined.extend_from_slice(&previous);
                        joined.extend_from_slice(b"\n");
                        joined.extend_from_slice(value);
                        joined.freeze()
                    }
                    None => Bytes::copy_from_slice(value),
                };
                self.event.data = Some(data);
            }
            b"event" => self.event.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"id" if !value.contains(&0) => {
                self.event.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All digits, so only overflow can fail; an overflowing value is ignored.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                    self.event.retry = Some(ms);
                }
            }
            _ => {}
        }
    }
}

impl Decoder for SseCodec {
    type Item = SseFrame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<SseFrame>, std::io::Error> {
        Ok(self.next_frame(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<SseFrame>, std::io::Error> {
        if let Some(frame) = self.next_frame(buf) {
            return Ok(Some(frame));
        }
        // What is left is an unterminated event: dropped, as the format prescribes.
        buf.clear();
        *self = SseCodec { started: true, ..SseCodec::new(self.max_event_bytes) };
        Ok(None)
    }
}

/// Reads the frames of a `text/event-stream` response body.
#[derive(Debug)]
pub(crate) struct EventReader {
    response: reqwest::Response,
    buf: BytesMut,
    codec: SseCodec,
    ended: bool,
}

impl EventReader {
    pub(crate) fn new(response: reqwest::Response, max_event_bytes: usize) -> Self {
        EventReader {
            response,
            buf: BytesMut::new(),
            codec: SseCodec::new(max_event_bytes),
            ended: false,
        }
    }

    /// The next frame; `None` at the end of the body (an unterminated last event is dropped),
    /// an error if the body broke. After either, `None` forever.
    pub(crate) async fn next(&mut self) -> Option<Result<SseFrame, reqwest::Error>> {
        loop {
            if let Some(frame) = self.codec.next_frame(&mut self.buf) {
                return Some(Ok(frame));
            }
            if self.ended {
                return None;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) => {
                    self.ended = true;
                    self.buf.clear();
                }
                Err(error) => {
                    self.ended = true;
                    self.buf.clear();
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
