//! Newline-delimited framing of a child's stdout (and stderr), with a hard cap on line length.
//!
//! MCP's stdio transport sends one JSON-RPC message per line. [`LineCodec`] cuts a byte stream
//! into such lines without looking at their content: it does not check UTF-8 or JSON (the JSON
//! decoder reports both), and it never fails on content, only on I/O. A line longer than the cap
//! becomes a single [`Frame::TooLong`] and its bytes are dropped as they arrive, so a server
//! that writes an endless line cannot make the hub buffer it.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// One unit of a newline-delimited stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A non-blank line without its terminator (`\n` or `\r\n`). Not necessarily UTF-8.
    Line(Bytes),
    /// A line longer than the cap, dropped. `len` is its length in bytes, counting everything
    /// before the `\n` (a `\r` included).
    TooLong {
        /// Length of the dropped line.
        len: usize,
    },
}

/// A [`Decoder`] that yields one [`Frame`] per non-blank line.
///
/// - Lines end with `\n`; one trailing `\r` is stripped (CRLF).
/// - Empty and whitespace-only lines are skipped.
/// - A partial line waits for more bytes; at end of stream ([`Decoder::decode_eof`]) a final
///   unterminated line is yielded as well.
/// - A line whose length (everything before its `\n`) exceeds `max_line_bytes` yields exactly
///   one [`Frame::TooLong`], reported when its end is reached; meanwhile its bytes are
///   discarded as they arrive, so the buffer never holds more than `max_line_bytes + 1` bytes of
///   it plus whatever the last read appended.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max_line_bytes: usize,
    /// Where to resume looking for `\n` in the buffer, so no byte is scanned twice.
    next_index: usize,
    /// `Some(n)` while dropping a line that is too long: `n` bytes of it dropped so far.
    discarding: Option<usize>,
}

impl LineCodec {
    /// A codec that drops lines longer than `max_line_bytes`.
    pub fn new(max_line_bytes: usize) -> Self {
        LineCodec { max_line_bytes, next_index: 0, discarding: None }
    }

    /// The cap on line length this codec was built with.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    /// Turns the raw bytes of a line (terminator removed) into a frame, or `None` if blank.
    fn finish_line(mut line: BytesMut) -> Option<Frame> {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(Frame::Line(line.freeze()))
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        loop {
            if let Some(dropped) = self.discarding {
                match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.discarding = None;
                        return Ok(Some(Frame::TooLong { len: dropped + i }));
                    }
                    None => {
                        self.discarding = Some(dropped + buf.len());
                        buf.clear();
                        return Ok(None);
                    }
                }
            }
            // A `\n` at index `max_line_bytes` or before ends a line that fits; looking further
            // is pointless.
            let end = buf.len().min(self.max_line_bytes.saturating_add(1));
            let start = self.next_index.min(end);
            match buf[start..end].iter().position(|&b| b == b'\n') {
                Some(offset) => {
                    let i = start + offset;
                    let mut line = buf.split_to(i + 1);
                    line.truncate(i);
                    self.next_index = 0;
                    if let Some(frame) = Self::finish_line(line) {
                        return Ok(Some(frame));
                    }
                }
                None if buf.len() > self.max_line_bytes => {
                    self.next_index = 0;
                    self.discarding = Some(0);
                }
                None => {
                    self.next_index = buf.len();
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        // No complete line is left; what remains is one unterminated line (or nothing).
        if let Some(dropped) = self.discarding.take() {
            let len = dropped + buf.len();
            buf.clear();
            return Ok(Some(Frame::TooLong { len }));
        }
        self.next_index = 0;
        if buf.is_empty() {
            return Ok(None);
        }
        Ok(Self::finish_line(buf.split()))
    }
}

#[cfg(test)]
mod tests;
