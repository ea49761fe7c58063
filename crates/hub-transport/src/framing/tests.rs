use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::{Frame, LineCodec};

/// Feeds `chunks` one by one, decoding after each, then signals end of stream.
fn decode_chunks(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.put_slice(chunk);
        while let Some(frame) = codec.decode(&mut buf).expect("the codec never fails on content") {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("the codec never fails on content") {
        frames.push(frame);
    }
    frames
}

fn decode_all(max: usize, input: &[u8]) -> Vec<Frame> {
    decode_chunks(max, &[input])
}

fn line(s: &[u8]) -> Frame {
    Frame::Line(Bytes::copy_from_slice(s))
}

/// The specification of the framer, written as plainly as possible.
fn reference(max: usize, input: &[u8]) -> Vec<Frame> {
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop(); // the input ended with `\n`: no unterminated last line
    }
    pieces
        .into_iter()
        .filter_map(|raw| {
            if raw.len() > max {
                return Some(Frame::TooLong { len: raw.len() });
            }
            let stripped = raw.strip_suffix(b"\r").unwrap_or(raw);
            if stripped.iter().all(u8::is_ascii_whitespace) { None } else { Some(line(stripped)) }
        })
        .collect()
}

#[test]
fn splits_lines() {
    assert_eq!(decode_all(64, b"{\"a\":1}\n{\"b\":2}\n"), [line(b"{\"a\":1}"), line(b"{\"b\":2}")]);
}

#[test]
fn strips_crlf() {
    assert_eq!(decode_all(64, b"one\r\ntwo\r\n"), [line(b"one"), line(b"two")]);
    // Only one trailing `\r` goes, and a `\r` elsewhere stays.
    assert_eq!(decode_all(64, b"a\rb\r\r\n"), [line(b"a\rb\r")]);
}

#[test]
fn skips_empty_and_whitespace_lines() {
    assert_eq!(decode_all(64, b"\n\n  \t\n\r\none\n \r\n\ntwo"), [line(b"one"), line(b"two")]);
}

#[test]
fn partial_line_waits_for_more_bytes() {
    let mut codec = LineCodec::new(64);
    let mut buf = BytesMut::from(&b"{\"jsonrpc\":"[..]);
    assert_eq!(codec.decode(&mut buf).expect("no content errors"), None);
    buf.put_slice(b"\"2.0\"}");
    assert_eq!(codec.decode(&mut buf).expect("no content errors"), None);
    buf.put_slice(b"\nnext");
    assert_eq!(
        codec.decode(&mut buf).expect("no content errors"),
        Some(line(b"{\"jsonrpc\":\"2.0\"}"))
    );
    assert_eq!(codec.decode(&mut buf).expect("no content errors"), None);
    assert_eq!(codec.decode_eof(&mut buf).expect("no content errors"), Some(line(b"next")));
    assert_eq!(codec.decode_eof(&mut buf).expect("no content errors"), None);
}

#[test]
fn decode_eof_yields_final_unterminated_line() {
    assert_eq!(decode_all(64, b"a\nlast"), [line(b"a"), line(b"last")]);
    assert_eq!(decode_all(64, b"a\nlast\r"), [line(b"a"), line(b"last")]);
    assert_eq!(decode_all(64, b"a\n   "), [line(b"a")]);
    assert_eq!(decode_all(4, b"a\n0123456789"), [line(b"a"), Frame::TooLong { len: 10 }]);
}

#[test]
fn line_at_the_limit_fits_and_one_more_byte_does_not() {
    assert_eq!(
        decode_all(4, b"abcd\nabcde\nxy\n"),
        [line(b"abcd"), Frame::TooLong { len: 5 }, line(b"xy")]
    );
}

#[test]
fn oversized_line_yields_one_too_long_then_next_line_decodes() {
    let mut input = vec![b'x'; 10_000];
    input.extend_from_slice(b"\n{\"ok\":true}\n");
    assert_eq!(decode_all(100, &input), [Frame::TooLong { len: 10_000 }, line(b"{\"ok\":true}")]);
    // The same, arriving in small pieces.
    let chunks: Vec<&[u8]> = input.chunks(7).collect();
    assert_eq!(
        decode_chunks(100, &chunks),
        [Frame::TooLong { len: 10_000 }, line(b"{\"ok\":true}")]
    );
}

#[test]
fn oversized_line_does_not_grow_the_buffer() {
    let max = 1024;
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let chunk = [b'y'; 300];
    for _ in 0..1000 {
        buf.put_slice(&chunk);
        assert_eq!(codec.decode(&mut buf).expect("no content errors"), None);
        assert!(buf.len() <= max, "buffer holds {} bytes", buf.len());
    }
    buf.put_slice(b"\nfine\n");
    assert_eq!(
        codec.decode(&mut buf).expect("no content errors"),
        Some(Frame::TooLong { len: 300_000 })
    );
    assert_eq!(codec.decode(&mut buf).expect("no content errors"), Some(line(b"fine")));
    assert!(buf.is_empty());
}

#[test]
fn invalid_utf8_passes_through() {
    assert_eq!(decode_all(64, b"\xff\xfe{\"a\":\xc3}\n"), [line(b"\xff\xfe{\"a\":\xc3}")]);
}

#[test]
fn reference_model_agrees_on_examples() {
    for input in [&b""[..], b"\n", b"a", b"a\n\nb\r\n", b"0123456789\nab", b" \r\n0123456789"] {
        assert_eq!(decode_all(5, input), reference(5, input), "input {input:?}");
    }
}

/// Streams made of bytes that stress the framer: terminators, whitespace, JSON, invalid UTF-8.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] = b"\n\n\n\r\r  \t{{}\xff\xc3aaaabbbbcccc";
    proptest::collection::vec(0..ALPHABET.len(), 0..400)
        .prop_map(|picks| picks.into_iter().map(|i| ALPHABET[i]).collect())
}

proptest! {
    #[test]
    fn chunking_is_invisible(
        input in stream(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
        max in 1_usize..40,
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for to in points {
            chunks.push(&input[from..to]);
            from = to;
        }
        chunks.push(&input[from..]);
        let expected = decode_all(max, &input);
        prop_assert_eq!(&decode_chunks(max, &chunks), &expected);
        prop_assert_eq!(expected, reference(max, &input));
    }

    #[test]
    fn byte_at_a_time_matches_reference(input in stream(), max in 1_usize..40) {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(decode_chunks(max, &chunks), reference(max, &input));
    }
}
