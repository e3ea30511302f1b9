//! Incremental decoder for `Content-Encoding: aws-chunked` request bodies.
//!
//! S3 clients stream uploads in this framing when `x-amz-content-sha256` is one of:
//!
//! | `x-amz-content-sha256`                       | signatures | trailer |
//! | -------------------------------------------- | ---------- | ------- |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`         | yes        | no      |
//! | `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` | yes        | yes     |
//! | `STREAMING-UNSIGNED-PAYLOAD-TRAILER`         | no         | yes     |
//!
//! The last one is what `@aws-sdk/client-s3` v3 sends by default for every
//! PutObject/UploadPart (with `x-amz-trailer: x-amz-checksum-crc32`).
//!
//! Wire format (all lines end in CRLF):
//!
//! ```text
//! 10000;chunk-signature=<64 hex>      <- signed modes; unsigned: just "10000"
//! <65536 bytes>
//! 400;chunk-signature=<64 hex>
//! <1024 bytes>
//! 0;chunk-signature=<64 hex>          <- the final, empty chunk
//! x-amz-checksum-crc32:<base64>       <- trailer modes only
//! x-amz-trailer-signature:<64 hex>    <- signed trailer mode only
//!                                     <- empty line ends the body
//! ```
//!
//! [`AwsChunkedDecoder`] is a push/pull state machine: [`push`](AwsChunkedDecoder::push)
//! the pieces as they arrive from the socket (split anywhere, even byte by byte),
//! then pull [`ChunkedEvent`]s with [`next_event`](AwsChunkedDecoder::next_event).
//! Payload bytes are never copied: [`ChunkedEvent::Data`] holds slices of the
//! pushed [`Bytes`]. Only header and trailer lines (at most [`MAX_LINE_LEN`]
//! bytes each) are buffered.
//!
//! The decoder only parses; it verifies no signature. Each chunk's data events
//! are followed by a [`ChunkedEvent::ChunkEnd`] carrying that chunk's signature,
//! so the authentication layer hashes the data as it passes and checks the
//! signature before accepting the chunk.
//!
//! Tolerated deviations seen from real clients: bare LF line ends, spaces and
//! tabs around sizes, extensions, trailer names and values, trailer names in any
//! case, a blank line between the final chunk and the trailers, a missing final
//! empty line, and a missing CRLF on the last trailer line when the body ends.

use std::collections::VecDeque;

use bytes::Bytes;
use http::StatusCode;

use crate::error::{S3Error, S3Result};

/// Longest accepted chunk-header or trailer line, excluding its line end.
///
/// A valid chunk header is at most ~100 bytes (16 hex digits,
/// `;chunk-signature=` and 64 hex digits) and the longest S3 trailer
/// (`x-amz-trailer-signature:` + 64 hex) is under 100 bytes too. 4 KiB leaves
/// generous room for whitespace and unknown extensions while bounding what one
/// upload can make the server buffer before a line ends (no newline within
/// 4 KiB is an error, not a reason to keep reading).
pub const MAX_LINE_LEN: usize = 4096;

/// Most trailer lines accepted, not counting `x-amz-trailer-signature`.
///
/// `x-amz-trailer` announces a single checksum header today; 16 leaves room for
/// future trailers while bounding trailer memory to 16 × [`MAX_LINE_LEN`].
pub const MAX_TRAILERS: usize = 16;

/// Largest chunk size accepted: 5 GiB, the largest single PUT or part S3
/// accepts, so no valid chunk is bigger. Larger claims (and hex numbers that do
/// not fit in 64 bits) are rejected with `InvalidChunkSizeError` before any
/// data is read.
pub const MAX_CHUNK_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// AWS's minimum size of every chunk but the last in signed streaming uploads
/// ("Only the last chunk is allowed to have a size less than 8192 bytes").
/// Enforced only when enabled with [`AwsChunkedDecoder::with_min_chunk_size`].
pub const AWS_MIN_CHUNK_SIZE: u64 = 8192;

/// Length of a hex-encoded HMAC-SHA256 signature (`chunk-signature`,
/// `x-amz-trailer-signature`).
pub const SIGNATURE_HEX_LEN: usize = 64;

/// The trailer carrying the signature over the other trailers.
pub const TRAILER_SIGNATURE_NAME: &str = "x-amz-trailer-signature";

/// The message AWS sends with `MalformedTrailerError`; details follow it.
const MALFORMED_TRAILER: &str =
    "The request contained trailing data that was not well-formed or did not conform to our published schema.";

/// One step of a decoded aws-chunked body, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkedEvent {
    /// Payload bytes of the current chunk: a zero-copy slice of pushed input.
    /// A chunk's data may arrive as several events; never empty.
    Data(Bytes),
    /// The current chunk is complete (its data and the CRLF after it).
    /// `signature` is the lowercase hex `chunk-signature` in signed modes,
    /// `None` in unsigned mode. The final chunk has `size == 0`.
    ChunkEnd {
        /// Declared (and received) data size of the chunk.
        size: u64,
        /// The chunk's signature (signed modes only).
        signature: Option<String>,
    },
    /// A trailing header after the final chunk. `name` is lowercase, `value`
    /// is trimmed of surrounding spaces and tabs.
    Trailer {
        /// Lowercase header name, e.g. `x-amz-checksum-crc32`.
        name: String,
        /// Header value, e.g. the base64 checksum.
        value: String,
    },
    /// The `x-amz-trailer-signature` value (lowercase hex). Always the last
    /// trailer; required in signed trailer mode.
    TrailerSignature(String),
    /// The body is complete. Emitted once; no event follows.
    End,
}

/// Where the decoder is in the framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `size[;ext]` line.
    Header,
    /// Inside chunk data, with this many bytes still to come.
    Data { remaining: u64 },
    /// Reading the (empty) line that ends chunk data.
    DataEnd,
    /// After the final chunk: reading trailer lines until an empty line.
    Trailers,
    /// [`ChunkedEvent::End`] was returned.
    Done,
}

/// Incremental aws-chunked decoder; see the [module docs](self).
///
/// ```
/// # use smartstorage_s3::chunked::{AwsChunkedDecoder, ChunkedEvent};
/// # use bytes::Bytes;
/// # fn main() -> Result<(), smartstorage_s3::S3Error> {
/// let mut decoder = AwsChunkedDecoder::new(false, true);
/// let mut data = Vec::new();
/// for piece in [&b"5\r\nhel"[..], b"lo\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"] {
///     decoder.push(Bytes::copy_from_slice(piece));
///     while let Some(event) = decoder.next_event()? {
///         if let ChunkedEvent::Data(bytes) = event { data.extend_from_slice(&bytes) }
///     }
/// }
/// decoder.finish()?; // the socket reached EOF
/// while let Some(_event) = decoder.next_event()? {}
/// assert_eq!(data, b"hello");
/// assert!(decoder.is_done());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AwsChunkedDecoder {
    /// Require (and report) `chunk-signature` extensions and the trailer signature.
    expect_signatures: bool,
    /// Accept trailer lines after the final chunk.
    expect_trailer: bool,
    /// Every chunk but the last must be at least this big (0: no minimum).
    min_chunk_size: u64,
    state: State,
    /// Pushed input not yet consumed, oldest first; never holds empty pieces.
    input: VecDeque<Bytes>,
    /// The current header/trailer line so far (without its line end).
    line: Vec<u8>,
    /// Size of the chunk being read.
    chunk_size: u64,
    /// Signature of the chunk being read.
    chunk_signature: Option<String>,
    /// The previous data chunk was smaller than `min_chunk_size`.
    previous_chunk_small: bool,
    /// Payload bytes returned so far.
    decoded_len: u64,
    /// Names of the trailers returned so far (duplicates are rejected).
    trailer_names: Vec<String>,
    /// `x-amz-trailer-signature` was returned.
    trailer_signature_seen: bool,
    /// One blank line right after the final chunk was skipped (trailer modes).
    blank_skipped: bool,
    /// [`finish`](Self::finish) was called: no more input will come.
    eof: bool,
    /// The first error, returned again by every later call.
    failed: Option<S3Error>,
}

impl AwsChunkedDecoder {
    /// A decoder for one request body. `expect_signatures`: the content-sha256
    /// is one of the `STREAMING-AWS4-HMAC-SHA256-*` values (every chunk must
    /// carry a `chunk-signature`). `expect_trailer`: it ends in `-TRAILER`.
    pub fn new(expect_signatures: bool, expect_trailer: bool) -> Self {
        AwsChunkedDecoder {
            expect_signatures,
            expect_trailer,
            min_chunk_size: 0,
            state: State::Header,
            input: VecDeque::with_capacity(4),
            line: Vec::with_capacity(128),
            chunk_size: 0,
            chunk_signature: None,
            previous_chunk_small: false,
            decoded_len: 0,
            trailer_names: Vec::new(),
            trailer_signature_seen: false,
            blank_skipped: false,
            eof: false,
            failed: None,
        }
    }

    /// Rejects (with `InvalidChunkSizeError`) a data chunk that follows a
    /// chunk smaller than `min` bytes, as AWS does with [`AWS_MIN_CHUNK_SIZE`]
    /// for signed streaming. Off by default: unsigned SDK uploads send chunks
    /// as the source stream yields them, whatever their size.
    pub fn with_min_chunk_size(mut self, min: u64) -> Self {
        self.min_chunk_size = min;
        self
    }

    /// Adds the next piece of the raw body. Call [`next_event`](Self::next_event)
    /// until it returns `Ok(None)` before pushing more, to keep memory flat.
    pub fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.input.push_back(piece);
        }
    }

    /// Signals the end of the raw body. Fails with `IncompleteBody` when the
    /// body stopped before the final chunk (or inside one). After `Ok`, drain
    /// [`next_event`](Self::next_event): it yields the remaining events, then
    /// [`ChunkedEvent::End`] (or an error), never `Ok(None)` before `End`.
    pub fn finish(&mut self) -> S3Result<()> {
        self.eof = true;
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if !self.input.is_empty() {
            // Undrained input: next_event will judge once it has consumed it.
            return Ok(());
        }
        let incomplete = match self.state {
            State::Header | State::Data { .. } | State::DataEnd => Some(self.incomplete_error()),
            State::Trailers | State::Done => None,
        };
        match incomplete {
            Some(err) => Err(self.fail(err)),
            None => Ok(()),
        }
    }

    /// The next decoded event, or `Ok(None)` when more input is needed (or
    /// after [`ChunkedEvent::End`]). Errors are sticky: once a call fails,
    /// every later call returns the same error.
    pub fn next_event(&mut self) -> S3Result<Option<ChunkedEvent>> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.step() {
            Ok(event) => Ok(event),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Payload bytes decoded so far; compare with `x-amz-decoded-content-length`
    /// once [`ChunkedEvent::End`] arrives.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// True once [`ChunkedEvent::End`] was returned.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn fail(&mut self, err: S3Error) -> S3Error {
        self.failed = Some(err.clone());
        err
    }

    fn step(&mut self) -> S3Result<Option<ChunkedEvent>> {
        loop {
            match self.state {
                State::Data { remaining } => {
                    let Some(front) = self.input.front_mut() else {
                        return self.need_more();
                    };
                    let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(front.len());
                    let data = front.split_to(take);
                    if front.is_empty() {
                        self.input.pop_front();
                    }
                    let remaining = remaining - data.len() as u64;
                    self.decoded_len = self.decoded_len.saturating_add(data.len() as u64);
                    self.state = if remaining == 0 { State::DataEnd } else { State::Data { remaining } };
                    return Ok(Some(ChunkedEvent::Data(data)));
                }
                State::Header => {
                    if !self.read_line()? {
                        return self.need_more();
                    }
                    let (size, signature) = parse_chunk_header(&self.line, self.expect_signatures)?;
                    self.line.clear();
                    if size == 0 {
                        self.state = State::Trailers;
                        return Ok(Some(ChunkedEvent::ChunkEnd { size: 0, signature }));
                    }
                    if self.previous_chunk_small {
                        return Err(S3Error::new(
                            "InvalidChunkSizeError",
                            StatusCode::BAD_REQUEST,
                            format!(
                                "Only the last chunk is allowed to have a size less than {} bytes (a chunk of {:#x} bytes follows a smaller one)",
                                self.min_chunk_size, size
                            ),
                        ));
                    }
                    self.previous_chunk_small = size < self.min_chunk_size;
                    self.chunk_size = size;
                    self.chunk_signature = signature;
                    self.state = State::Data { remaining: size };
                }
                State::DataEnd => {
                    if !self.read_line()? {
                        return self.need_more();
                    }
                    if !self.line.is_empty() {
                        return Err(S3Error::invalid_request(format!(
                            "aws-chunked chunk data is longer than its declared size {:#x}: found {} after it instead of CRLF",
                            self.chunk_size,
                            show(&self.line)
                        )));
                    }
                    self.state = State::Header;
                    return Ok(Some(ChunkedEvent::ChunkEnd {
                        size: self.chunk_size,
                        signature: self.chunk_signature.take(),
                    }));
                }
                State::Trailers => {
                    if !self.read_line()? {
                        if !self.eof {
                            return Ok(None);
                        }
                        if self.line.is_empty() {
                            return self.end();
                        }
                        // Tolerated: the last trailer line lacks its CRLF.
                    }
                    if self.line.is_empty() {
                        if self.expect_trailer && self.trailer_names.is_empty() && !self.blank_skipped {
                            // Tolerated: "0;chunk-signature=..\r\n\r\n" then trailers.
                            self.blank_skipped = true;
                            continue;
                        }
                        return self.end();
                    }
                    let event = self.trailer_event()?;
                    self.line.clear();
                    return Ok(Some(event));
                }
                State::Done => {
                    if let Some(extra) = self.input.front() {
                        return Err(S3Error::invalid_request(format!(
                            "unexpected data after the end of the aws-chunked body: {}",
                            show(extra)
                        )));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// `Ok(None)` while more input may come; `IncompleteBody` after EOF.
    fn need_more(&self) -> S3Result<Option<ChunkedEvent>> {
        if self.eof { Err(self.incomplete_error()) } else { Ok(None) }
    }

    fn incomplete_error(&self) -> S3Error {
        let detail = match self.state {
            State::Header if self.line.is_empty() => "before the final zero-size chunk".to_string(),
            State::Header => format!("inside the chunk header {}", show(&self.line)),
            State::Data { remaining } => {
                format!("inside a chunk of {:#x} bytes ({remaining} bytes missing)", self.chunk_size)
            }
            State::DataEnd => "before the CRLF that ends a chunk".to_string(),
            State::Trailers | State::Done => "after the final chunk".to_string(),
        };
        S3Error::incomplete_body(format!(
            "The request body terminated unexpectedly: the aws-chunked body ended {detail} after {} decoded bytes",
            self.decoded_len
        ))
    }

    /// The body is complete: checks the trailer rules and returns `End`.
    fn end(&mut self) -> S3Result<Option<ChunkedEvent>> {
        if self.expect_signatures && self.expect_trailer && !self.trailer_signature_seen {
            return Err(malformed_trailer(format!(
                "the signed trailer section has no {TRAILER_SIGNATURE_NAME}"
            )));
        }
        self.line.clear();
        self.state = State::Done;
        // Anything already pushed after the final empty line is an error.
        if let Some(extra) = self.input.front() {
            return Err(S3Error::invalid_request(format!(
                "unexpected data after the end of the aws-chunked body: {}",
                show(extra)
            )));
        }
        Ok(Some(ChunkedEvent::End))
    }

    /// Parses `self.line` as a trailer and checks the count/order rules.
    fn trailer_event(&mut self) -> S3Result<ChunkedEvent> {
        if !self.expect_trailer {
            return Err(malformed_trailer(format!(
                "trailer {} sent, but x-amz-content-sha256 does not announce trailers",
                show(&self.line)
            )));
        }
        if self.trailer_signature_seen {
            return Err(malformed_trailer(format!(
                "trailer {} follows {TRAILER_SIGNATURE_NAME}, which must be the last trailer",
                show(&self.line)
            )));
        }
        let (name, value) = parse_trailer_line(&self.line)?;
        if name.eq_ignore_ascii_case(TRAILER_SIGNATURE_NAME.as_bytes()) {
            let signature = parse_signature(value).ok_or_else(|| {
                malformed_trailer(format!("{TRAILER_SIGNATURE_NAME} {} is not 64 hex digits", show(value)))
            })?;
            self.trailer_signature_seen = true;
            return Ok(ChunkedEvent::TrailerSignature(signature));
        }
        if self.trailer_names.len() >= MAX_TRAILERS {
            return Err(malformed_trailer(format!("more than {MAX_TRAILERS} trailers")));
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if self.trailer_names.contains(&name) {
            return Err(malformed_trailer(format!("trailer {name} is sent twice")));
        }
        let value = String::from_utf8_lossy(value).into_owned();
        self.trailer_names.push(name.clone());
        Ok(ChunkedEvent::Trailer { name, value })
    }

    /// Moves input into `self.line` up to the next LF. Returns true when the
    /// line is complete (LF consumed, LF and a preceding CR stripped).
    fn read_line(&mut self) -> S3Result<bool> {
        while let Some(front) = self.input.front_mut() {
            // Scan no further than the line budget (+2 for CRLF).
            let budget = (MAX_LINE_LEN + 2).saturating_sub(self.line.len());
            let window = &front[..front.len().min(budget)];
            if let Some(pos) = window.iter().position(|&b| b == b'\n') {
                self.line.extend_from_slice(&window[..pos]);
                let _ = front.split_to(pos + 1);
                if front.is_empty() {
                    self.input.pop_front();
                }
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                if self.line.len() > MAX_LINE_LEN {
                    return Err(self.line_too_long());
                }
                return Ok(true);
            }
            if window.len() == budget {
                return Err(self.line_too_long());
            }
            self.line.extend_from_slice(window);
            self.input.pop_front();
        }
        if self.eof && self.line.last() == Some(&b'\r') {
            // A line cut at EOF right after its CR.
            self.line.pop();
        }
        Ok(false)
    }

    fn line_too_long(&self) -> S3Error {
        let what = if self.state == State::Trailers { "trailer line" } else { "chunk header" };
        let message = format!("aws-chunked {what} is longer than {MAX_LINE_LEN} bytes: {}", show(&self.line));
        if self.state == State::Trailers { malformed_trailer(message) } else { S3Error::invalid_request(message) }
    }
}

/// `MalformedTrailerError` (400) with AWS's message plus `detail`.
fn malformed_trailer(detail: String) -> S3Error {
    S3Error::new("MalformedTrailerError", StatusCode::BAD_REQUEST, format!("{MALFORMED_TRAILER} ({detail})"))
}

/// Parses `hex-size[;name[=value]]*` (line end already stripped).
fn parse_chunk_header(line: &[u8], expect_signatures: bool) -> S3Result<(u64, Option<String>)> {
    let mut parts = line.split(|&b| b == b';');
    let size_field = trim_ows(parts.next().unwrap_or_default());
    let size = parse_chunk_size(size_field).map_err(|err| match err {
        SizeError::Malformed => S3Error::invalid_request(format!(
            "invalid aws-chunked chunk header {}: the chunk size must be hexadecimal",
            show(line)
        )),
        SizeError::TooLarge => S3Error::new(
            "InvalidChunkSizeError",
            StatusCode::BAD_REQUEST,
            format!(
                "aws-chunked chunk size {} exceeds the maximum of {MAX_CHUNK_SIZE} bytes",
                show(size_field)
            ),
        ),
    })?;
    let mut signature = None;
    for extension in parts {
        let (name, value) = match extension.iter().position(|&b| b == b'=') {
            Some(eq) => (trim_ows(&extension[..eq]), trim_ows(&extension[eq + 1..])),
            None => (trim_ows(extension), &b""[..]),
        };
        if !name.eq_ignore_ascii_case(b"chunk-signature") || !expect_signatures {
            continue; // Unknown extensions, or signatures in unsigned mode: ignored.
        }
        if signature.is_some() {
            return Err(S3Error::invalid_request(format!(
                "aws-chunked chunk header {} has two chunk-signature extensions",
                show(line)
            )));
        }
        signature = Some(parse_signature(value).ok_or_else(|| {
            S3Error::invalid_request(format!(
                "aws-chunked chunk-signature {} is not {SIGNATURE_HEX_LEN} hex digits",
                show(value)
            ))
        })?);
    }
    if expect_signatures && signature.is_none() {
        return Err(S3Error::invalid_request(format!(
            "aws-chunked chunk header {} has no chunk-signature, required by the signed streaming payload",
            show(line)
        )));
    }
    Ok((size, signature))
}

/// Why a chunk size field was rejected.
enum SizeError {
    /// Empty or not hexadecimal.
    Malformed,
    /// Over [`MAX_CHUNK_SIZE`] (or over 64 bits).
    TooLarge,
}

/// Parses a hex chunk size without overflow, capped at [`MAX_CHUNK_SIZE`].
fn parse_chunk_size(field: &[u8]) -> Result<u64, SizeError> {
    if field.is_empty() {
        return Err(SizeError::Malformed);
    }
    let mut size: u64 = 0;
    for &b in field {
        let digit = (b as char).to_digit(16).ok_or(SizeError::Malformed)?;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(digit)))
            .filter(|&s| s <= MAX_CHUNK_SIZE)
            .ok_or(SizeError::TooLarge)?;
    }
    Ok(size)
}

/// A 64-hex-digit signature, lowercased; `None` if malformed.
fn parse_signature(value: &[u8]) -> Option<String> {
    (value.len() == SIGNATURE_HEX_LEN && value.iter().all(u8::is_ascii_hexdigit))
        .then(|| String::from_utf8_lossy(value).to_ascii_lowercase())
}

/// Splits `name:value`, trims both, and checks the characters: the name must
/// be an HTTP token, the value visible ASCII with inner spaces/tabs.
fn parse_trailer_line(line: &[u8]) -> S3Result<(&[u8], &[u8])> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| malformed_trailer(format!("trailer line {} has no ':'", show(line))))?;
    let name = trim_ows(&line[..colon]);
    let value = trim_ows(&line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(malformed_trailer(format!("invalid trailer name {}", show(name))));
    }
    if !value.iter().all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
        return Err(malformed_trailer(format!("invalid characters in trailer value {}", show(value))));
    }
    Ok((name, value))
}

/// RFC 9110 token character.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Trims optional whitespace (spaces and tabs) on both sides.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Bytes for an error message: quoted, escaped, cut to 64 bytes.
fn show(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    let cut = &bytes[..bytes.len().min(SHOWN)];
    let mut shown = format!("\"{}\"", cut.escape_ascii());
    if bytes.len() > SHOWN {
        shown.push_str("...");
    }
    shown
}


#[cfg(test)]
mod tests {
    //! Private helpers; the decoder's behaviour is tested through its public
    //! API in `tests/chunked_decoder.rs`.
    use super::*;

    #[test]
    fn chunk_sizes_are_hex_capped_and_overflow_free() {
        assert!(matches!(parse_chunk_size(b"0"), Ok(0)));
        assert!(matches!(parse_chunk_size(b"10000"), Ok(65536)));
        assert!(matches!(parse_chunk_size(b"00000000000000000000000400"), Ok(1024)));
        assert!(matches!(parse_chunk_size(b"aBcD"), Ok(0xabcd)));
        assert!(matches!(parse_chunk_size(b"140000000"), Ok(MAX_CHUNK_SIZE)));
        assert!(matches!(parse_chunk_size(b"140000001"), Err(SizeError::TooLarge)));
        assert!(matches!(parse_chunk_size(b"ffffffffffffffffffffffff"), Err(SizeError::TooLarge)));
        for bad in [&b""[..], b"g", b"1 0", b"-1", b"0x10", "١".as_bytes()] {
            assert!(matches!(parse_chunk_size(bad), Err(SizeError::Malformed)), "{bad:?}");
        }
    }

    #[test]
    fn helpers_trim_validate_and_show() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(parse_signature(&[b'A'; 64]), Some("a".repeat(64)));
        assert_eq!(parse_signature(&[b'a'; 63]), None);
        assert_eq!(parse_signature(&[b'g'; 64]), None);
        assert_eq!(show(b"a\r\n\"\x00"), "\"a\\r\\n\\\"\\x00\"");
        assert_eq!(show(&[b'x'; 100]), format!("\"{}\"...", "x".repeat(64)));
        assert!(parse_trailer_line(b"x-amz-checksum-crc32 : v ").is_ok());
        assert!(parse_trailer_line(b"a b:v").is_err());
    }

    #[test]
    fn the_line_buffer_never_exceeds_its_bound() {
        let mut decoder = AwsChunkedDecoder::new(true, true);
        let header = format!("400;chunk-signature={}\r\n", "a".repeat(64));
        for byte in header.bytes().chain(std::iter::repeat_n(b'a', 1024)).chain(*b"\r\n0;chunk-signature=") {
            decoder.push(Bytes::copy_from_slice(&[byte]));
            while decoder.next_event().unwrap().is_some() {}
            assert!(decoder.line.len() <= MAX_LINE_LEN + 1);
            assert!(decoder.input.is_empty(), "everything pushed was consumed");
        }
        assert_eq!(decoder.line, b"0;chunk-signature=");
        assert_eq!(decoder.decoded_len(), 1024);
    }
}
