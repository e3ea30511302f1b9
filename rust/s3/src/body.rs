//! Request bodies: plain or `aws-chunked`, with an idle timeout, a length check,
//! and the trailers (aws-chunked or HTTP) collected for checksum verification.
//! Handlers pull decoded payload chunks with [`RequestBody::next_chunk`].
//!
//! Verification happens here, as bytes stream, so no handler can forget it:
//! a hex `x-amz-content-sha256` is checked against the payload, and in signed
//! streaming mode every chunk signature and the trailer signature are checked
//! (see [`RequestBody::with_signature_chain`]). A failure is returned by
//! `next_chunk` before it reports the end of the body, so a handler that
//! commits only after the end never stores an unverified body.

use crate::config::Limits;
use crate::error::{S3Error, S3Result};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::time::Duration;

/// How the payload is framed on the wire, from `x-amz-content-sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadMode {
    /// The body is the payload; its SHA-256 may be given as hex (`Some`) or
    /// be `UNSIGNED-PAYLOAD` / absent (`None`).
    Plain {
        /// The declared hex SHA-256 of the payload, to verify as it streams.
        sha256: Option<String>,
    },
    /// `aws-chunked` framing; signed chunks and/or trailers as declared.
    Chunked {
        /// Chunks carry `chunk-signature=` extensions (STREAMING-AWS4-HMAC-SHA256-*).
        signed: bool,
        /// A trailer section follows the last chunk (`*-TRAILER`).
        trailer: bool,
    },
}

impl PayloadMode {
    /// Reads the mode from the request headers.
    pub fn from_headers(headers: &HeaderMap) -> S3Result<PayloadMode> {
        let value = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
        Ok(match value {
            None | Some("UNSIGNED-PAYLOAD") => PayloadMode::Plain { sha256: None },
            Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => PayloadMode::Chunked { signed: true, trailer: false },
            Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") => PayloadMode::Chunked { signed: true, trailer: true },
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER") => PayloadMode::Chunked { signed: false, trailer: true },
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                PayloadMode::Plain { sha256: Some(hex.to_ascii_lowercase()) }
            }
            Some(other) => {
                return Err(S3Error::invalid_argument(format!(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, or a SHA-256 hex digest; got {other:?}"
                ))
                .with_field("ArgumentName", "x-amz-content-sha256"));
            }
        })
    }
}

/// A request body being read.
pub struct RequestBody {
    incoming: Incoming,
    mode: PayloadMode,
    decoder: Option<crate::chunked::AwsChunkedDecoder>,
    pending: VecDeque<Bytes>,
    trailers: HeaderMap,
    /// Payload length the client declared (decoded length for aws-chunked).
    declared_len: Option<u64>,
    received: u64,
    idle_timeout: Duration,
    done: bool,
    /// SHA-256 of a plain payload and the hex value the client declared.
    content_sha256: Option<(crate::checksum::BodyHasher, String)>,
    /// The chunk-signature chain of a signed aws-chunked body.
    chain: Option<crate::auth::ChunkSignatureChain>,
    /// The first verification failure; every later call returns it again.
    failed: Option<S3Error>,
}

impl RequestBody {
    /// Wraps hyper's body, reading framing and declared length from the headers.
    pub fn new(incoming: Incoming, headers: &HeaderMap, limits: &Limits) -> S3Result<RequestBody> {
        let mode = PayloadMode::from_headers(headers)?;
        let header_u64 = |name: &str| -> S3Result<Option<u64>> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()).map(Some).ok_or_else(|| {
                    S3Error::invalid_argument(format!("{name} must be a non-negative integer"))
                        .with_field("ArgumentName", name.to_string())
                }),
            }
        };
        let declared_len = match &mode {
            PayloadMode::Plain { .. } => header_u64("content-length")?,
            PayloadMode::Chunked { .. } => header_u64("x-amz-decoded-content-length")?,
        };
        let content_sha256 = match &mode {
            PayloadMode::Plain { sha256: Some(hex) } => {
                let no_checksums: [crate::checksum::ChecksumAlgorithm; 0] = [];
                Some((crate::checksum::BodyHasher::new(false, true, no_checksums), hex.clone()))
            }
            _ => None,
        };
        let decoder = match &mode {
            PayloadMode::Chunked { signed, trailer } => {
                Some(crate::chunked::AwsChunkedDecoder::new(*signed, *trailer))
            }
            PayloadMode::Plain { .. } => None,
        };
        Ok(RequestBody {
            incoming,
            mode,
            decoder,
            pending: VecDeque::new(),
            trailers: HeaderMap::new(),
            declared_len,
            received: 0,
            idle_timeout: limits.request_timeout,
            done: false,
            content_sha256,
            chain: None,
            failed: None,
        })
    }

    /// Verifies the chunk signatures (and the trailer signature) of a signed
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD*` body with `chain`, and enforces
    /// AWS's 8 KiB minimum size for every chunk but the last. No effect on
    /// other payload modes.
    pub fn with_signature_chain(mut self, chain: crate::auth::ChunkSignatureChain) -> Self {
        if let PayloadMode::Chunked { signed: true, .. } = self.mode {
            self.decoder = self.decoder.take().map(|d| d.with_min_chunk_size(crate::chunked::AWS_MIN_CHUNK_SIZE));
            self.chain = Some(chain);
        }
        self
    }

    /// How the payload is framed.
    pub fn mode(&self) -> &PayloadMode {
        &self.mode
    }

    /// The payload length the client declared, if it did.
    pub fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    /// Payload bytes delivered so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Trailers received (aws-chunked trailer section or HTTP trailers);
    /// complete once [`next_chunk`](Self::next_chunk) has returned `None`.
    pub fn trailers(&self) -> &HeaderMap {
        &self.trailers
    }

    /// The next piece of payload, or `None` at the end. Fails with
    /// IncompleteBody when the client sent fewer bytes than declared, and with
    /// RequestTimeout when nothing arrives for the configured time.
    pub async fn next_chunk(&mut self) -> S3Result<Option<Bytes>> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.next_chunk_inner().await;
        if let Err(err) = &result
            && matches!(err.code, "SignatureDoesNotMatch" | "XAmzContentSHA256Mismatch")
        {
            self.failed = Some(err.clone());
        }
        result
    }

    async fn next_chunk_inner(&mut self) -> S3Result<Option<Bytes>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                self.received += chunk.len() as u64;
                if let Some(declared) = self.declared_len
                    && self.received > declared
                {
                    return Err(S3Error::invalid_request(format!(
                        "The body is longer than the declared length of {declared} bytes"
                    )));
                }
                return Ok(Some(chunk));
            }
            if self.done {
                return Ok(None);
            }
            let frame = tokio::time::timeout(self.idle_timeout, self.incoming.frame()).await.map_err(|_| {
                S3Error::request_timeout(
                    "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
                )
            })?;
            match frame {
                None => {
                    self.finish()?;
                }
                Some(Err(e)) => {
                    return Err(S3Error::incomplete_body(format!("The request body could not be read: {e}")));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.accept_wire_bytes(data)?,
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers.extend(trailers);
                        }
                    }
                },
            }
        }
    }

    fn accept_wire_bytes(&mut self, data: Bytes) -> S3Result<()> {
        match &mut self.decoder {
            None => {
                if let Some((hasher, _)) = &mut self.content_sha256 {
                    hasher.update(&data);
                }
                if !data.is_empty() {
                    self.pending.push_back(data);
                }
            }
            Some(decoder) => {
                decoder.push(data);
                self.drain_decoder()?;
            }
        }
        Ok(())
    }

    fn drain_decoder(&mut self) -> S3Result<()> {
        while let Some(event) = self.decoder.as_mut().map(|d| d.next_event()).transpose()?.flatten() {
            self.apply_chunk_event(event)?;
        }
        Ok(())
    }

    fn apply_chunk_event(&mut self, event: crate::chunked::ChunkedEvent) -> S3Result<()> {
        use crate::chunked::ChunkedEvent as ChunkEvent;
        match event {
            ChunkEvent::Data(data) => {
                if let Some(chain) = &mut self.chain {
                    chain.update(&data);
                }
                if !data.is_empty() {
                    self.pending.push_back(data);
                }
            }
            ChunkEvent::Trailer { name, value } => {
                if let Some(chain) = &mut self.chain {
                    chain.add_trailer(&name, &value);
                }
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| S3Error::invalid_request(format!("Invalid trailer name {name:?}")))?;
                let value = http::HeaderValue::from_str(&value)
                    .map_err(|_| S3Error::invalid_request(format!("Invalid value for trailer {name}")))?;
                self.trailers.insert(name, value);
            }
            ChunkEvent::ChunkEnd { size, signature } => {
                if let Some(chain) = &mut self.chain {
                    chain.verify_chunk(size, signature.as_deref())?;
                }
            }
            ChunkEvent::TrailerSignature(signature) => {
                if let Some(chain) = &mut self.chain {
                    chain.verify_trailer(&signature)?;
                }
            }
            ChunkEvent::End => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> S3Result<()> {
        if let Some(decoder) = &mut self.decoder {
            decoder.finish()?;
            self.drain_decoder()?;
        }
        self.done = true;
        let total = self.received + self.pending.iter().map(|b| b.len() as u64).sum::<u64>();
        if let Some(declared) = self.declared_len
            && total < declared
        {
            return Err(S3Error::incomplete_body(format!(
                "You did not provide the number of bytes specified by the Content-Length HTTP header: declared {declared}, received {total}"
            )));
        }
        if let Some((hasher, expected)) = self.content_sha256.take() {
            hasher.finish().verify_content_sha256(&expected)?;
        }
        Ok(())
    }

    /// Reads the whole payload into memory, for small documents (XML, JSON).
    /// More than `limit` bytes → `too_large` error.
    pub async fn read_to_bytes(mut self, limit: usize, too_large: impl FnOnce() -> S3Error) -> S3Result<Bytes> {
        if self.declared_len.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next_chunk().await? {
            if buf.len() + chunk.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}
