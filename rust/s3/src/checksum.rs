//! Body hashing in one pass, and the S3 checksum rules.
//!
//! S3 checksums travel as `x-amz-checksum-<algorithm>` headers (or aws-chunked
//! trailers) whose value is the base64 of the big-endian CRC or the digest
//! bytes. [`BodyHasher`] feeds every requested hash (Content-MD5/ETag MD5, the
//! `x-amz-content-sha256` SHA-256 and any checksum algorithms) from one
//! `update` call per buffer, without allocating. The multipart helpers combine
//! part checksums into the object's `COMPOSITE` or `FULL_OBJECT` checksum as
//! described in "Checking object integrity" of the S3 user guide.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use crc_fast::CrcAlgorithm;
use md5::Md5;
use sha1::Sha1;
use md5::Digest as _;
use sha2::{Digest as _, Sha256};
use smartstorage_store::Checksums;
use subtle::ConstantTimeEq;

use crate::error::{S3Error, S3Result};

/// A checksum algorithm S3 accepts in `x-amz-checksum-*`,
/// `x-amz-sdk-checksum-algorithm` and `x-amz-checksum-algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChecksumAlgorithm {
    /// CRC-32/ISO-HDLC (the zlib/Ethernet CRC).
    Crc32,
    /// CRC-32C (Castagnoli, iSCSI).
    Crc32c,
    /// CRC-64/NVME, S3's default since 2025.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order S3 documents them.
    pub const ALL: [ChecksumAlgorithm; 5] = [Self::Crc32, Self::Crc32c, Self::Crc64Nvme, Self::Sha1, Self::Sha256];

    /// Parses an algorithm name in any case (`CRC32`, `crc32c`, `CRC64NVME`,
    /// `SHA1`, `sha256`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|algo| algo.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Like [`from_name`](Self::from_name), with the `InvalidRequest` AWS sends
    /// for an unknown `x-amz-sdk-checksum-algorithm`/`x-amz-checksum-algorithm`.
    pub fn parse(name: &str) -> S3Result<Self> {
        Self::from_name(name).ok_or_else(|| {
            S3Error::invalid_request(format!(
                "Checksum algorithm provided is unsupported: \"{name}\". Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
            ))
        })
    }

    /// The algorithm whose header is `header` (`x-amz-checksum-crc32`, any case).
    pub fn from_header_name(header: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|algo| algo.header_name().eq_ignore_ascii_case(header.trim()))
    }

    /// Lowercase name, as in header names and the store's [`Checksums`] keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "crc32",
            Self::Crc32c => "crc32c",
            Self::Crc64Nvme => "crc64nvme",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
        }
    }

    /// Uppercase name, as in XML `<ChecksumAlgorithm>` and AWS error messages.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header carrying this checksum: `x-amz-checksum-<name>`.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Length in bytes of the raw checksum (before base64).
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// True for the CRCs, the only algorithms with `FULL_OBJECT` multipart checksums.
    pub fn is_crc(self) -> bool {
        self.crc_algorithm().is_some()
    }

    /// Whether S3 allows this algorithm with `checksum_type` for multipart
    /// uploads: `FULL_OBJECT` for CRC32, CRC32C, CRC64NVME; `COMPOSITE` for
    /// CRC32, CRC32C, SHA1, SHA256.
    pub fn supports(self, checksum_type: ChecksumType) -> bool {
        match checksum_type {
            ChecksumType::FullObject => self.is_crc(),
            ChecksumType::Composite => self != Self::Crc64Nvme,
        }
    }

    /// The multipart checksum type S3 uses when `CreateMultipartUpload` names
    /// only the algorithm: `FULL_OBJECT` for CRC64NVME (its only type),
    /// `COMPOSITE` for the others.
    pub fn default_checksum_type(self) -> ChecksumType {
        if self == Self::Crc64Nvme { ChecksumType::FullObject } else { ChecksumType::Composite }
    }

    fn crc_algorithm(self) -> Option<CrcAlgorithm> {
        match self {
            Self::Crc32 => Some(CrcAlgorithm::Crc32IsoHdlc),
            Self::Crc32c => Some(CrcAlgorithm::Crc32Iscsi),
            Self::Crc64Nvme => Some(CrcAlgorithm::Crc64Nvme),
            Self::Sha1 | Self::Sha256 => None,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}

/// How a multipart object's checksum is derived from its parts
/// (`x-amz-checksum-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// The checksum of the whole object's bytes (CRCs combined from the parts).
    FullObject,
    /// A checksum of the part checksums, suffixed with `-<part count>`.
    Composite,
}

impl ChecksumType {
    /// Parses `FULL_OBJECT` / `COMPOSITE` (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            n if n.eq_ignore_ascii_case("FULL_OBJECT") => Some(Self::FullObject),
            n if n.eq_ignore_ascii_case("COMPOSITE") => Some(Self::Composite),
            _ => None,
        }
    }

    /// Like [`from_name`](Self::from_name) with an `InvalidRequest` naming the value.
    pub fn parse(name: &str) -> S3Result<Self> {
        Self::from_name(name).ok_or_else(|| {
            S3Error::invalid_request(format!(
                "Value for x-amz-checksum-type header is invalid: \"{name}\". Valid values are FULL_OBJECT and COMPOSITE."
            ))
        })
    }

    /// `FULL_OBJECT` or `COMPOSITE`, as in headers, XML and [`ObjectMeta`](smartstorage_store::ObjectMeta).
    pub fn name(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks an algorithm/type pair for `CreateMultipartUpload`, with AWS's error
/// ("The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.").
pub fn validate_checksum_type(algorithm: ChecksumAlgorithm, checksum_type: ChecksumType) -> S3Result<()> {
    if algorithm.supports(checksum_type) {
        return Ok(());
    }
    Err(S3Error::invalid_request(format!(
        "The {checksum_type} checksum type cannot be used with the {} checksum algorithm.",
        algorithm.name()
    )))
}

/// A set of [`ChecksumAlgorithm`]s: a bit set, `Copy` and allocation-free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChecksumSet(u8);

impl ChecksumSet {
    /// The empty set.
    pub const EMPTY: ChecksumSet = ChecksumSet(0);

    /// Adds `algorithm`.
    pub fn insert(&mut self, algorithm: ChecksumAlgorithm) {
        self.0 |= algorithm.bit();
    }

    /// True if `algorithm` is in the set.
    pub fn contains(self, algorithm: ChecksumAlgorithm) -> bool {
        self.0 & algorithm.bit() != 0
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in [`ChecksumAlgorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = ChecksumAlgorithm> {
        ChecksumAlgorithm::ALL.into_iter().filter(move |algo| self.contains(*algo))
    }
}

impl FromIterator<ChecksumAlgorithm> for ChecksumSet {
    fn from_iter<I: IntoIterator<Item = ChecksumAlgorithm>>(iter: I) -> Self {
        let mut set = ChecksumSet::EMPTY;
        for algo in iter {
            set.insert(algo);
        }
        set
    }
}

/// Block size [`BodyHasher::update`] feeds each hash at a time: 32 KiB fits
/// the L1/L2 cache of any current CPU, and is large enough that the per-call
/// setup of the SIMD CRC kernels is negligible.
pub const UPDATE_BLOCK: usize = 32 * 1024;

/// Computes, in one pass over a body, the MD5 (ETag, Content-MD5), the
/// SHA-256 (`x-amz-content-sha256`) and any checksums. SHA-256 is computed
/// once even when both the content hash and the SHA256 checksum are wanted.
#[derive(Clone)]
pub struct BodyHasher {
    md5: Option<Md5>,
    sha256: Option<Sha256>,
    sha1: Option<Sha1>,
    crc32: Option<crc_fast::Digest>,
    crc32c: Option<crc_fast::Digest>,
    crc64nvme: Option<crc_fast::Digest>,
    /// The raw SHA-256 was asked for (not only the SHA256 checksum).
    want_sha256: bool,
    checksums: ChecksumSet,
    len: u64,
}

impl fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyHasher")
            .field("md5", &self.md5.is_some())
            .field("sha256", &self.want_sha256)
            .field("checksums", &self.checksums)
            .field("len", &self.len)
            .finish()
    }
}

impl BodyHasher {
    /// A hasher computing the MD5 if `md5`, the SHA-256 if `sha256`, and each
    /// checksum in `checksums` (algorithms or references to them).
    pub fn new<I>(md5: bool, sha256: bool, checksums: I) -> Self
    where
        I: IntoIterator,
        I::Item: Borrow<ChecksumAlgorithm>,
    {
        let checksums: ChecksumSet = checksums.into_iter().map(|algo| *algo.borrow()).collect();
        let crc = |algo: ChecksumAlgorithm| {
            checksums.contains(algo).then(|| algo.crc_algorithm().map(crc_fast::Digest::new)).flatten()
        };
        BodyHasher {
            md5: md5.then(Md5::new),
            sha256: (sha256 || checksums.contains(ChecksumAlgorithm::Sha256)).then(Sha256::new),
            sha1: checksums.contains(ChecksumAlgorithm::Sha1).then(Sha1::new),
            crc32: crc(ChecksumAlgorithm::Crc32),
            crc32c: crc(ChecksumAlgorithm::Crc32c),
            crc64nvme: crc(ChecksumAlgorithm::Crc64Nvme),
            want_sha256: sha256,
            checksums,
            len: 0,
        }
    }

    /// Feeds `data` to every hash. Allocation-free. Large buffers are fed in
    /// [`UPDATE_BLOCK`]-sized blocks so each block is read from memory once and
    /// then stays in cache for all the hashes.
    pub fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        for block in data.chunks(UPDATE_BLOCK) {
            if let Some(h) = &mut self.md5 {
                h.update(block);
            }
            if let Some(h) = &mut self.sha256 {
                h.update(block);
            }
            if let Some(h) = &mut self.sha1 {
                h.update(block);
            }
            for crc in [&mut self.crc32, &mut self.crc32c, &mut self.crc64nvme].into_iter().flatten() {
                crc.update(block);
            }
        }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if no byte was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The checksums this hasher computes.
    pub fn checksum_set(&self) -> ChecksumSet {
        self.checksums
    }

    /// The final digests.
    pub fn finish(mut self) -> BodyDigests {
        let md5 = self.md5.map(|h| <[u8; 16]>::from(h.finalize()));
        let sha256 = self.sha256.map(|h| <[u8; 32]>::from(h.finalize()));
        let mut checksums = BTreeMap::new();
        for algo in self.checksums.iter() {
            let raw = match algo {
                ChecksumAlgorithm::Crc32 => self.crc32.map(|d| crc_bytes(algo, d.finalize())),
                ChecksumAlgorithm::Crc32c => self.crc32c.map(|d| crc_bytes(algo, d.finalize())),
                ChecksumAlgorithm::Crc64Nvme => self.crc64nvme.map(|d| crc_bytes(algo, d.finalize())),
                ChecksumAlgorithm::Sha1 => self.sha1.take().map(|h| h.finalize().to_vec()),
                ChecksumAlgorithm::Sha256 => sha256.map(|d| d.to_vec()),
            };
            if let Some(raw) = raw {
                checksums.insert(algo, BASE64.encode(raw));
            }
        }
        BodyDigests { len: self.len, md5, sha256: if self.want_sha256 { sha256 } else { None }, checksums }
    }
}

/// What [`BodyHasher::finish`] computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDigests {
    /// Bytes hashed.
    pub len: u64,
    /// Raw MD5, if asked for.
    pub md5: Option<[u8; 16]>,
    /// Raw SHA-256, if asked for.
    pub sha256: Option<[u8; 32]>,
    /// Checksums as `x-amz-checksum-*` values (base64).
    pub checksums: BTreeMap<ChecksumAlgorithm, String>,
}

impl BodyDigests {
    /// The MD5 as lowercase hex: the ETag of a single-part object (unquoted).
    pub fn md5_hex(&self) -> Option<String> {
        self.md5.map(hex::encode)
    }

    /// The base64 value of `algorithm`'s checksum, if computed.
    pub fn checksum(&self, algorithm: ChecksumAlgorithm) -> Option<&str> {
        self.checksums.get(&algorithm).map(String::as_str)
    }

    /// Compares the computed checksum with the client's base64 value: AWS's
    /// `BadDigest` ("The CRC32 you specified did not match the calculated
    /// checksum.") on mismatch, `InternalError` if it was not computed.
    pub fn verify_checksum(&self, algorithm: ChecksumAlgorithm, expected_b64: &str) -> S3Result<()> {
        let Some(actual) = self.checksum(algorithm) else {
            return Err(S3Error::internal_error(format!("the {algorithm} checksum was not computed")));
        };
        if bool::from(actual.as_bytes().ct_eq(expected_b64.trim().as_bytes())) {
            return Ok(());
        }
        Err(S3Error::bad_digest(format!(
            "The {algorithm} you specified did not match the calculated checksum. (sent {}, computed {actual})",
            expected_b64.trim()
        )))
    }

    /// Compares the SHA-256 with an `x-amz-content-sha256` hex value:
    /// `XAmzContentSHA256Mismatch` with AWS's two extra fields on mismatch.
    pub fn verify_content_sha256(&self, expected_hex: &str) -> S3Result<()> {
        let Some(sha256) = self.sha256 else {
            return Err(S3Error::internal_error("the SHA-256 of the body was not computed"));
        };
        let actual = hex::encode(sha256);
        if bool::from(actual.as_bytes().ct_eq(expected_hex.trim().to_ascii_lowercase().as_bytes())) {
            return Ok(());
        }
        Err(S3Error::content_sha256_mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")
            .with_field("ClientComputedContentSHA256", expected_hex.trim())
            .with_field("S3ComputedContentSHA256", actual))
    }

    /// The checksums keyed by lowercase name, as the store keeps them.
    pub fn to_store_checksums(&self) -> Checksums {
        self.checksums.iter().map(|(algo, value)| (algo.name().to_string(), value.clone())).collect()
    }
}

/// The base64 checksum of `data` (one-shot helper).
pub fn checksum_of(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
    let mut hasher = BodyHasher::new(false, false, [algorithm]);
    hasher.update(data);
    hasher.finish().checksums.remove(&algorithm).unwrap_or_default()
}

/// Big-endian bytes of a CRC value, as wide as the algorithm.
fn crc_bytes(algorithm: ChecksumAlgorithm, crc: u64) -> Vec<u8> {
    crc.to_be_bytes()[8 - algorithm.digest_len()..].to_vec()
}

/// Decodes a base64 checksum value; `None` unless it is canonical base64 of
/// exactly [`ChecksumAlgorithm::digest_len`] bytes.
pub fn decode_checksum_value(algorithm: ChecksumAlgorithm, b64: &str) -> Option<Vec<u8>> {
    BASE64.decode(b64.trim()).ok().filter(|raw| raw.len() == algorithm.digest_len())
}

/// Checks an `x-amz-checksum-*` header value, with AWS's `InvalidRequest`
/// ("Value for x-amz-checksum-crc32 header is invalid.").
pub fn validate_checksum_value(algorithm: ChecksumAlgorithm, b64: &str) -> S3Result<()> {
    match decode_checksum_value(algorithm, b64) {
        Some(_) => Ok(()),
        None => Err(S3Error::invalid_request(format!(
            "Value for {} header is invalid. (\"{}\" is not base64 of {} bytes)",
            algorithm.header_name(),
            b64.escape_debug(),
            algorithm.digest_len()
        ))),
    }
}

/// The `COMPOSITE` checksum of a multipart object:
/// `base64(H(raw part checksum 1 ‖ … ‖ raw part checksum N))-N`, where `H` is
/// the algorithm itself. `parts` are the parts' base64 checksums in order.
pub fn composite_checksum<S: AsRef<str>>(
    algorithm: ChecksumAlgorithm,
    parts: impl IntoIterator<Item = S>,
) -> S3Result<String> {
    validate_checksum_type(algorithm, ChecksumType::Composite)?;
    let mut hasher = BodyHasher::new(false, false, [algorithm]);
    let mut count = 0usize;
    for (index, part) in parts.into_iter().enumerate() {
        let raw = decode_checksum_value(algorithm, part.as_ref()).ok_or_else(|| invalid_part_checksum(algorithm, index))?;
        hasher.update(&raw);
        count += 1;
    }
    let digest = hasher.finish().checksums.remove(&algorithm).unwrap_or_default();
    Ok(format!("{digest}-{count}"))
}

/// The `FULL_OBJECT` checksum of a multipart object (CRC algorithms only):
/// the part CRCs combined, as if computed over the concatenated bytes.
/// `parts` are `(base64 part checksum, part size in bytes)` in order.
pub fn full_object_checksum<S: AsRef<str>>(
    algorithm: ChecksumAlgorithm,
    parts: impl IntoIterator<Item = (S, u64)>,
) -> S3Result<String> {
    validate_checksum_type(algorithm, ChecksumType::FullObject)?;
    let Some(crc_algorithm) = algorithm.crc_algorithm() else {
        return Err(S3Error::internal_error(format!("{algorithm} is not a CRC")));
    };
    let mut combined: Option<u64> = None;
    for (index, (part, len)) in parts.into_iter().enumerate() {
        let raw = decode_checksum_value(algorithm, part.as_ref()).ok_or_else(|| invalid_part_checksum(algorithm, index))?;
        let crc = raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        combined = Some(match combined {
            None => crc,
            Some(acc) => crc_fast::checksum_combine(crc_algorithm, acc, crc, len),
        });
    }
    let crc = combined.unwrap_or_else(|| crc_fast::checksum(crc_algorithm, b""));
    Ok(BASE64.encode(crc_bytes(algorithm, crc)))
}

fn invalid_part_checksum(algorithm: ChecksumAlgorithm, index: usize) -> S3Error {
    S3Error::invalid_request(format!(
        "Value for {} of part {} is invalid: it must be base64 of {} bytes.",
        algorithm.header_name(),
        index + 1,
        algorithm.digest_len()
    ))
}

/// Parses a `Content-MD5` header: base64 of 16 bytes, else AWS's `InvalidDigest`.
pub fn parse_content_md5(header: &str) -> S3Result<[u8; 16]> {
    BASE64
        .decode(header.trim())
        .ok()
        .and_then(|raw| <[u8; 16]>::try_from(raw).ok())
        .ok_or_else(|| {
            S3Error::invalid_digest(format!(
                "The Content-MD5 you specified is not valid. (\"{}\" is not base64 of 16 bytes)",
                header.escape_debug()
            ))
        })
}

/// Compares the client's Content-MD5 with the body's MD5: AWS's `BadDigest`
/// on mismatch, with the `ExpectedDigest`/`CalculatedDigest` fields (base64).
pub fn verify_content_md5(expected: &[u8; 16], actual: &[u8; 16]) -> S3Result<()> {
    if bool::from(expected.ct_eq(actual)) {
        return Ok(());
    }
    Err(S3Error::bad_digest(format!(
        "The Content-MD5 you specified did not match what we received. (sent {}, computed {})",
        BASE64.encode(expected),
        BASE64.encode(actual)
    ))
    .with_field("ExpectedDigest", BASE64.encode(expected))
    .with_field("CalculatedDigest", BASE64.encode(actual)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn algorithm_names_round_trip() {
        for algo in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_name(algo.name()), Some(algo));
            assert_eq!(ChecksumAlgorithm::from_name(algo.api_name()), Some(algo));
            assert_eq!(ChecksumAlgorithm::from_header_name(algo.header_name()), Some(algo));
            assert_eq!(algo.header_name(), format!("x-amz-checksum-{}", algo.name()));
        }
        assert_eq!(ChecksumAlgorithm::from_name("Crc64NVME"), Some(ChecksumAlgorithm::Crc64Nvme));
        assert_eq!(ChecksumAlgorithm::from_name("md5"), None);
        assert_eq!(ChecksumAlgorithm::parse("crc16").unwrap_err().code, "InvalidRequest");
        assert_eq!(ChecksumType::from_name("full_object"), Some(ChecksumType::FullObject));
        assert_eq!(ChecksumType::parse("BOTH").unwrap_err().code, "InvalidRequest");
    }

    /// Known values: the standard "123456789" check values of each CRC, and
    /// the SHA digests of "abc".
    #[test]
    fn checksums_match_reference_vectors() {
        let check = |algo, data: &[u8], hex_value: &str| {
            let raw = hex::decode(hex_value).unwrap();
            assert_eq!(checksum_of(algo, data), BASE64.encode(raw), "{algo}");
        };
        check(ChecksumAlgorithm::Crc32, b"123456789", "cbf43926");
        check(ChecksumAlgorithm::Crc32c, b"123456789", "e3069283");
        check(ChecksumAlgorithm::Crc64Nvme, b"123456789", "ae8b14860a799888");
        check(ChecksumAlgorithm::Sha1, b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d");
        check(ChecksumAlgorithm::Sha256, b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // What AWS SDKs send for an empty body.
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32, b""), "AAAAAA==");
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc64Nvme, b""), "AAAAAAAAAAA=");
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32, b"hello world"), "DUoRhQ==");
    }

    #[test]
    fn crc32c_of_the_aws_trailer_example_matches_its_trailer() {
        // sigv4-streaming-trailers: 65 KiB of 'a' with x-amz-checksum-crc32c:sOO8/Q==.
        assert_eq!(checksum_of(ChecksumAlgorithm::Crc32c, &[b'a'; 66560]), "sOO8/Q==");
    }

    #[test]
    fn body_hasher_computes_everything_in_one_pass() {
        let mut hasher = BodyHasher::new(true, true, ChecksumAlgorithm::ALL);
        for piece in [&b"hello"[..], b" ", b"world"] {
            hasher.update(piece);
        }
        assert_eq!(hasher.len(), 11);
        let digests = hasher.finish();
        assert_eq!(digests.md5_hex().unwrap(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(
            hex::encode(digests.sha256.unwrap()),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        for algo in ChecksumAlgorithm::ALL {
            assert_eq!(digests.checksum(algo).unwrap(), checksum_of(algo, b"hello world"));
        }
        digests.verify_checksum(ChecksumAlgorithm::Crc32, "DUoRhQ==").unwrap();
        let err = digests.verify_checksum(ChecksumAlgorithm::Crc32, "AAAAAA==").unwrap_err();
        assert_eq!((err.code, err.message.starts_with("The CRC32 you specified did not match")), ("BadDigest", true));
        digests
            .verify_content_sha256("B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9")
            .unwrap();
        let err = digests.verify_content_sha256(&"0".repeat(64)).unwrap_err();
        assert_eq!(err.code, "XAmzContentSHA256Mismatch");
        assert_eq!(digests.to_store_checksums()["crc32"], "DUoRhQ==");
    }

    #[test]
    fn buffers_larger_than_a_block_hash_like_small_pieces() {
        let data: Vec<u8> = (0..3 * UPDATE_BLOCK + 17).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = BodyHasher::new(true, true, ChecksumAlgorithm::ALL);
        whole.update(&data);
        let mut pieces = BodyHasher::new(true, true, ChecksumAlgorithm::ALL);
        for piece in data.chunks(1000) {
            pieces.update(piece);
        }
        assert_eq!(whole.finish(), pieces.finish());
    }

    #[test]
    fn body_hasher_reports_only_what_was_asked() {
        let mut hasher = BodyHasher::new(false, false, [ChecksumAlgorithm::Sha256]);
        hasher.update(b"abc");
        let digests = hasher.finish();
        assert_eq!((digests.md5, digests.sha256), (None, None));
        assert_eq!(digests.checksums.len(), 1);
        assert_eq!(digests.verify_checksum(ChecksumAlgorithm::Crc32, "AAAAAA==").unwrap_err().code, "InternalError");
    }

    #[test]
    fn checksum_values_are_validated_by_length_and_encoding() {
        validate_checksum_value(ChecksumAlgorithm::Crc32, "DUoRhQ==").unwrap();
        validate_checksum_value(ChecksumAlgorithm::Crc64Nvme, "AAAAAAAAAAA=").unwrap();
        for (algo, bad) in [
            (ChecksumAlgorithm::Crc32, "AAAAAAAAAAA="),
            (ChecksumAlgorithm::Crc32, "DUoRhQ"),
            (ChecksumAlgorithm::Crc32, "not base64!"),
            (ChecksumAlgorithm::Sha256, ""),
        ] {
            let err = validate_checksum_value(algo, bad).unwrap_err();
            assert_eq!(err.code, "InvalidRequest");
            assert!(err.message.starts_with(&format!("Value for {} header is invalid.", algo.header_name())));
        }
    }

    #[test]
    fn content_md5_is_parsed_and_compared() {
        let md5 = parse_content_md5("XrY7u+Ae7tCTyyK7j1rNww==").unwrap();
        assert_eq!(hex::encode(md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        verify_content_md5(&md5, &md5).unwrap();
        assert_eq!(verify_content_md5(&md5, &[0; 16]).unwrap_err().code, "BadDigest");
        for bad in ["", "abc", "XrY7u+Ae7tCTyyK7j1rNww", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="] {
            assert_eq!(parse_content_md5(bad).unwrap_err().code, "InvalidDigest", "{bad}");
        }
    }

    #[test]
    fn allowed_multipart_checksum_types_follow_aws() {
        use ChecksumAlgorithm::*;
        use ChecksumType::*;
        let allowed: Vec<_> = ChecksumAlgorithm::ALL
            .into_iter()
            .flat_map(|a| [FullObject, Composite].map(move |t| (a, t)))
            .filter(|(a, t)| validate_checksum_type(*a, *t).is_ok())
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Crc32, FullObject),
                (Crc32, Composite),
                (Crc32c, FullObject),
                (Crc32c, Composite),
                (Crc64Nvme, FullObject),
                (Sha1, Composite),
                (Sha256, Composite),
            ]
        );
        assert_eq!(
            validate_checksum_type(Sha1, FullObject).unwrap_err().message,
            "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."
        );
        assert_eq!(Crc64Nvme.default_checksum_type(), FullObject);
        assert_eq!(Crc32.default_checksum_type(), Composite);
    }

    #[test]
    fn composite_checksum_hashes_the_raw_part_checksums() {
        for algo in [ChecksumAlgorithm::Crc32, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Sha1, ChecksumAlgorithm::Sha256]
        {
            let parts = [checksum_of(algo, b"part one"), checksum_of(algo, b"part two")];
            let raw: Vec<u8> = parts.iter().flat_map(|p| BASE64.decode(p).unwrap()).collect();
            let expected = format!("{}-2", checksum_of(algo, &raw));
            assert_eq!(composite_checksum(algo, &parts).unwrap(), expected, "{algo}");
        }
        let err = composite_checksum(ChecksumAlgorithm::Crc32, ["DUoRhQ==", "bad"]).unwrap_err();
        assert!(err.message.contains("part 2"), "{}", err.message);
        assert!(composite_checksum(ChecksumAlgorithm::Crc64Nvme, ["AAAAAAAAAAA="]).is_err());
    }

    #[test]
    fn full_object_checksum_rejects_non_crc_algorithms() {
        let err = full_object_checksum(ChecksumAlgorithm::Sha256, [(checksum_of(ChecksumAlgorithm::Sha256, b""), 0)]);
        assert_eq!(err.unwrap_err().code, "InvalidRequest");
        assert_eq!(full_object_checksum::<&str>(ChecksumAlgorithm::Crc32, []).unwrap(), "AAAAAA==");
    }

    proptest! {
        #[test]
        fn full_object_checksum_equals_the_crc_of_the_concatenation(
            parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2000), 1..6),
            which in 0usize..3,
        ) {
            let algo = [ChecksumAlgorithm::Crc32, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Crc64Nvme][which];
            let values: Vec<(String, u64)> =
                parts.iter().map(|p| (checksum_of(algo, p), p.len() as u64)).collect();
            prop_assert_eq!(full_object_checksum(algo, values).unwrap(), checksum_of(algo, &parts.concat()));
        }

        #[test]
        fn splitting_the_input_does_not_change_the_digests(
            data in prop::collection::vec(any::<u8>(), 0..3000),
            cut in any::<usize>(),
        ) {
            let cut = cut % (data.len() + 1);
            let mut whole = BodyHasher::new(true, true, ChecksumAlgorithm::ALL);
            whole.update(&data);
            let mut split = BodyHasher::new(true, true, ChecksumAlgorithm::ALL);
            split.update(&data[..cut]);
            split.update(&data[cut..]);
            prop_assert_eq!(whole.finish(), split.finish());
        }
    }
}
