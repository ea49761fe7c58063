//! Shared by the codec targets: feed a byte stream to a `Decoder` in the given chunk sizes.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// Decodes `input` fed in chunks of `sizes` (used in turn; empty = one chunk), then ends the
/// stream. After each chunk the buffer must hold at most `bound(chunk)` bytes: a codec never
/// keeps a whole oversized item. With `drains`, nothing may be left in the buffer at the end.
pub fn decode_chunked<D>(
    mut codec: D,
    input: &[u8],
    sizes: &[usize],
    bound: impl Fn(usize) -> usize,
    drains: bool,
) -> Vec<D::Item>
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = if sizes.is_empty() { rest.len() } else { sizes[i % sizes.len()].min(rest.len()) };
        i += 1;
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        while let Some(f) = codec.decode(&mut buf).expect("the codec never fails on content") {
            frames.push(f);
        }
        assert!(buf.len() <= bound(n), "buffer grew to {}", buf.len());
    }
    while let Some(f) = codec.decode_eof(&mut buf).expect("the codec never fails on content") {
        frames.push(f);
    }
    assert!(!drains || buf.is_empty(), "bytes left after end of stream");
    frames
}
