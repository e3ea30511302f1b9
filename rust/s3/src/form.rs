//! A streaming `multipart/form-data` parser (RFC 7578 / RFC 2046), sans I/O:
//! push bytes in as they arrive, pull [`FormEvent`]s out. Part bodies come
//! out as soon as they cannot be the start of a boundary, so a file part of
//! any size passes through with memory bounded by the boundary length plus
//! the largest chunk pushed. Any input yields events or a [`FormError`];
//! nothing panics.

use bytes::{Buf, Bytes, BytesMut};

/// Largest header block of one part: far above what browsers send (a
/// Content-Disposition with a long file name and a Content-Type), small
/// enough that a client cannot make us buffer much before the body.
pub const MAX_PART_HEADERS: usize = 8 * 1024;

/// Longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY: usize = 70;

/// Why a body is not acceptable multipart/form-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormError {}

fn err<T>(message: impl Into<String>) -> Result<T, FormError> {
    Err(FormError(message.into()))
}

/// The headers of one part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartHeaders {
    /// The form field name (`Content-Disposition: form-data; name="…"`).
    pub name: String,
    /// The file name, for file parts (`filename*` preferred over `filename`).
    pub filename: Option<String>,
    /// The part's own Content-Type.
    pub content_type: Option<String>,
}

/// What the parser found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEvent {
    /// A part begins.
    Part(PartHeaders),
    /// Bytes of the current part's body (a part may yield many, or none).
    Data(Bytes),
    /// The current part ended.
    PartEnd,
    /// The closing boundary: the form is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    AfterDelimiter,
    Headers,
    Body,
    Done,
}

/// The parser. Feed it with [`push`](Self::push) and [`finish`](Self::finish);
/// drain it with [`next_event`](Self::next_event).
#[derive(Debug)]
pub struct FormParser {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    buf: BytesMut,
    state: State,
    eof: bool,
}

/// The boundary parameter of a `multipart/form-data` Content-Type.
pub fn boundary_from_content_type(content_type: &str) -> Result<String, FormError> {
    let mut params = content_type.split(';');
    let mime = params.next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return err(format!("expected Content-Type multipart/form-data, got {mime:?}"));
    }
    for param in params {
        let Some((name, value)) = param.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("boundary") {
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            return Ok(value.to_string());
        }
    }
    err("the multipart/form-data Content-Type has no boundary parameter")
}

impl FormParser {
    /// A parser for parts separated by `boundary` (1–70 visible characters).
    pub fn new(boundary: &str) -> Result<FormParser, FormError> {
        if boundary.is_empty() || boundary.len() > MAX_BOUNDARY || !boundary.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return err(format!("invalid multipart boundary {boundary:?}: use 1 to {MAX_BOUNDARY} printable ASCII characters"));
        }
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        // The first boundary has no CRLF before it; pretend it does so one
        // search finds every delimiter.
        let mut buf = BytesMut::with_capacity(8192);
        buf.extend_from_slice(b"\r\n");
        Ok(FormParser { delimiter, buf, state: State::Preamble, eof: false })
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.state != State::Done {
            self.buf.extend_from_slice(data);
        }
    }

    /// Marks the end of the input.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether the closing boundary was seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next event; `Ok(None)` when more input is needed (or, after
    /// [`FormEvent::End`], forever: the epilogue is ignored).
    pub fn next_event(&mut self) -> Result<Option<FormEvent>, FormError> {
        loop {
            match self.state {
                State::Done => {
                    self.buf.clear();
                    return Ok(None);
                }
                State::Preamble => match find(&self.buf, &self.delimiter) {
                    Some(i) => {
                        self.buf.advance(i + self.delimiter.len());
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        let keep = partial_suffix(&self.buf, &self.delimiter);
                        self.buf.advance(self.buf.len() - keep);
                        return if self.eof { err("the body has no multipart boundary") } else { Ok(None) };
                    }
                },
                State::AfterDelimiter => {
                    if self.buf.len() < 2 {
                        return if self.eof { err("the body ends right after a boundary") } else { Ok(None) };
                    }
                    if self.buf.starts_with(b"--") {
                        self.state = State::Done;
                        self.buf.clear();
                        return Ok(Some(FormEvent::End));
                    }
                    // Optional transport padding, then CRLF.
                    let pad = self.buf.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
                    if self.buf.len() < pad + 2 {
                        if pad > 256 || self.eof {
                            return err("malformed multipart boundary line");
                        }
                        return Ok(None);
                    }
                    if &self.buf[pad..pad + 2] != b"\r\n" {
                        return err("a multipart boundary must be followed by CRLF");
                    }
                    self.buf.advance(pad + 2);
                    self.state = State::Headers;
                }
                State::Headers => {
                    let end = if self.buf.starts_with(b"\r\n") { Some(0) } else { find(&self.buf, b"\r\n\r\n") };
                    let Some(end) = end else {
                        if self.buf.len() > MAX_PART_HEADERS {
                            return err(format!("the headers of a form part exceed {MAX_PART_HEADERS} bytes"));
                        }
                        return if self.eof { err("the body ends inside the headers of a form part") } else { Ok(None) };
                    };
                    if end > MAX_PART_HEADERS {
                        return err(format!("the headers of a form part exceed {MAX_PART_HEADERS} bytes"));
                    }
                    let block = self.buf.split_to(end);
                    self.buf.advance(if end == 0 { 2 } else { 4 });
                    let headers = parse_part_headers(&block)?;
                    self.state = State::Body;
                    return Ok(Some(FormEvent::Part(headers)));
                }
                State::Body => {
                    if let Some(i) = find(&self.buf, &self.delimiter) {
                        if i > 0 {
                            return Ok(Some(FormEvent::Data(self.buf.split_to(i).freeze())));
                        }
                        self.buf.advance(self.delimiter.len());
                        self.state = State::AfterDelimiter;
                        return Ok(Some(FormEvent::PartEnd));
                    }
                    let safe = self.buf.len() - partial_suffix(&self.buf, &self.delimiter);
                    if safe > 0 {
                        return Ok(Some(FormEvent::Data(self.buf.split_to(safe).freeze())));
                    }
                    return if self.eof { err("the body ends inside a form part (no closing boundary)") } else { Ok(None) };
                }
            }
        }
    }
}

/// First position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let i = from + hay[from..=hay.len() - needle.len()].iter().position(|b| *b == first)?;
        if hay[i..].starts_with(needle) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle`
/// (bytes that may be the start of a delimiter split across pushes).
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = needle.len().saturating_sub(1).min(hay.len());
    (1..=max).rev().find(|&n| needle.starts_with(&hay[hay.len() - n..])).unwrap_or(0)
}

/// Text of a header value: UTF-8 (what browsers send), else Latin-1.
fn header_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn parse_part_headers(block: &[u8]) -> Result<PartHeaders, FormError> {
    let mut disposition = None;
    let mut content_type = None;
    let text = header_text(block);
    for line in text.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            return err(format!("malformed form part header line {line:?}"));
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim().to_string());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let Some(disposition) = disposition else {
        return err("a form part has no Content-Disposition header");
    };
    let params = split_params(&disposition);
    let Some((kind, _)) = params.first() else { return err("empty Content-Disposition") };
    if !kind.eq_ignore_ascii_case("form-data") {
        return err(format!("expected Content-Disposition: form-data, got {kind:?}"));
    }
    let param = |key: &str| params.iter().skip(1).find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| v.clone());
    let Some(name) = param("name") else {
        return err("a form part's Content-Disposition has no name");
    };
    let filename = param("filename*").and_then(|v| decode_ext_value(&v)).or_else(|| param("filename"));
    Ok(PartHeaders { name, filename, content_type })
}

/// Splits `form-data; name="a;b"; filename=x` into (name, value) pairs,
/// honouring quoted strings with backslash escapes.
fn split_params(value: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == ';' || c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut val = None;
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut v = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                v.push(n);
                            }
                        }
                        c => v.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| *c != ';') {
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    v.push(c);
                    chars.next();
                }
                v = v.trim().to_string();
            }
            val = Some(v);
        }
        out.push((key.trim().to_string(), val));
        if chars.next().is_none() {
            return out;
        }
    }
}

/// Decodes an RFC 5987 extended value (`UTF-8''%E2%82%AC.txt`).
fn decode_ext_value(value: &str) -> Option<String> {
    let (charset, rest) = value.split_once('\'')?;
    let (_lang, encoded) = rest.split_once('\'')?;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else {
        Some(bytes.iter().map(|&b| b as char).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `body` pushed in `chunk`-byte pieces; Data events coalesced.
    pub(crate) fn parse_all(boundary: &str, body: &[u8], chunk: usize) -> Result<Vec<FormEvent>, FormError> {
        let mut p = FormParser::new(boundary)?;
        let mut events: Vec<FormEvent> = Vec::new();
        let push_event = |e: FormEvent, events: &mut Vec<FormEvent>| match (events.last_mut(), e) {
            (Some(FormEvent::Data(prev)), FormEvent::Data(d)) => {
                let mut joined = BytesMut::from(&prev[..]);
                joined.extend_from_slice(&d);
                *prev = joined.freeze();
            }
            (_, e) => events.push(e),
        };
        for piece in body.chunks(chunk.max(1)) {
            p.push(piece);
            while let Some(e) = p.next_event()? {
                push_event(e, &mut events);
            }
        }
        p.finish();
        while let Some(e) = p.next_event()? {
            push_event(e, &mut events);
        }
        Ok(events)
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuser/${filename}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\n--Xy-almost\r\n\r\n--XyZ--\r\nepilogue";

    #[test]
    fn parses_fields_and_files() {
        let events = parse_all("XyZ", BODY, 4096).unwrap();
        assert_eq!(
            events,
            vec![
                FormEvent::Part(PartHeaders { name: "key".into(), filename: None, content_type: None }),
                FormEvent::Data(Bytes::from_static(b"user/${filename}")),
                FormEvent::PartEnd,
                FormEvent::Part(PartHeaders {
                    name: "file".into(),
                    filename: Some("a \"b\".txt".into()),
                    content_type: Some("text/plain".into())
                }),
                FormEvent::Data(Bytes::from_static(b"line1\r\n--Xy-almost\r\n")),
                FormEvent::PartEnd,
                FormEvent::End,
            ]
        );
    }

    #[test]
    fn every_split_gives_the_same_events() {
        let whole = parse_all("XyZ", BODY, 4096).unwrap();
        for chunk in 1..BODY.len() {
            assert_eq!(parse_all("XyZ", BODY, chunk).unwrap(), whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn empty_parts_and_no_headers_are_fine() {
        let body = b"--b\r\nContent-Disposition: form-data; name=empty\r\n\r\n\r\n--b--";
        let events = parse_all("b", body, 3).unwrap();
        assert_eq!(events[0], FormEvent::Part(PartHeaders { name: "empty".into(), ..Default::default() }));
        assert_eq!(events[1], FormEvent::PartEnd);
        assert_eq!(events[2], FormEvent::End);
        assert!(parse_all("b", b"--b\r\n\r\nx\r\n--b--", 5).is_err(), "a part needs Content-Disposition");
    }

    #[test]
    fn truncated_and_malformed_bodies_are_errors() {
        for body in [
            &b""[..],
            b"no boundary here",
            b"--b",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--b",
            b"--bX\r\n",
            b"--b\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b--",
            b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--",
            b"--b\r\nbroken header\r\n\r\nv\r\n--b--",
        ] {
            assert!(parse_all("b", body, 7).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        let huge = format!("--b\r\nContent-Disposition: form-data; name=a\r\nX: {}\r\n\r\nv\r\n--b--", "y".repeat(MAX_PART_HEADERS));
        assert!(parse_all("b", huge.as_bytes(), 1000).is_err());
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(boundary_from_content_type("multipart/form-data; boundary=----WebKit123").unwrap(), "----WebKit123");
        assert_eq!(boundary_from_content_type("Multipart/Form-Data;charset=utf-8; boundary=\"a b\"").unwrap(), "a b");
        assert!(boundary_from_content_type("multipart/form-data").is_err());
        assert!(boundary_from_content_type("text/plain; boundary=x").is_err());
        assert!(FormParser::new("").is_err());
        assert!(FormParser::new(&"x".repeat(71)).is_err());
        assert!(FormParser::new("a\r\nb").is_err());
    }

    #[test]
    fn file_names_decode_rfc5987_and_quotes() {
        let h = parse_part_headers(b"Content-Disposition: form-data; name=\"file\"; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt").unwrap();
        assert_eq!(h.filename.as_deref(), Some("€ rates.txt"));
        let h = parse_part_headers(b"content-disposition: form-data; name=\"a;b\"").unwrap();
        assert_eq!(h.name, "a;b");
    }

    #[test]
    fn large_bodies_stream_without_buffering() {
        let mut p = FormParser::new("bnd").unwrap();
        p.push(b"--bnd\r\nContent-Disposition: form-data; name=file; filename=x\r\n\r\n");
        assert!(matches!(p.next_event().unwrap(), Some(FormEvent::Part(_))));
        let block = vec![b'\r'; 64 * 1024];
        let mut total = 0;
        for _ in 0..64 {
            p.push(&block);
            while let Some(FormEvent::Data(d)) = p.next_event().unwrap() {
                total += d.len();
            }
            assert!(p.buf.len() < 16, "buffered {}", p.buf.len());
        }
        assert!(total >= 64 * 64 * 1024 - 16);
    }
}
