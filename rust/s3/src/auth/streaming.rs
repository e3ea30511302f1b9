//! Verifying `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` bodies: every
//! chunk's signature chains from the previous one (the first from the
//! request's seed signature) over the SHA-256 of the chunk data, and the
//! trailer section is signed last. [`crate::body::RequestBody`] feeds the
//! decoder's events here as they stream, so a forged chunk fails the request
//! before the handler can commit anything.

use super::sigv4::{SigningKey, chunk_string_to_sign, sha256_hex, sign, spaced_hex, trailer_string_to_sign};
use crate::error::{S3Error, S3Result};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The message of every SignatureDoesNotMatch S3 sends.
pub const SIGNATURE_MISMATCH: &str =
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

/// The running state of a signed aws-chunked body.
pub struct ChunkSignatureChain {
    access_key: String,
    signing_key: SigningKey,
    timestamp: String,
    scope: String,
    /// The signature the next chunk (or the trailer) chains from.
    previous: String,
    /// SHA-256 of the current chunk's data so far.
    chunk: Sha256,
    /// Canonical trailer lines (`name:value\n`) so far.
    trailers: Vec<u8>,
    /// The zero-size final chunk was verified.
    final_chunk_seen: bool,
}

impl std::fmt::Debug for ChunkSignatureChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the signing key.
        f.debug_struct("ChunkSignatureChain").field("scope", &self.scope).field("previous", &self.previous).finish()
    }
}

impl ChunkSignatureChain {
    /// A chain seeded with the request's signature. `timestamp` is the long
    /// date (`20130524T000000Z`), `scope` the credential scope line.
    pub fn new(access_key: String, signing_key: SigningKey, timestamp: String, scope: String, seed: String) -> Self {
        ChunkSignatureChain {
            access_key,
            signing_key,
            timestamp,
            scope,
            previous: seed,
            chunk: Sha256::new(),
            trailers: Vec::new(),
            final_chunk_seen: false,
        }
    }

    /// Hashes a piece of the current chunk's data.
    pub fn update(&mut self, data: &[u8]) {
        self.chunk.update(data);
    }

    /// Ends the current chunk: checks `signature` against the chain.
    pub fn verify_chunk(&mut self, size: u64, signature: Option<&str>) -> S3Result<()> {
        let digest = std::mem::take(&mut self.chunk).finalize();
        let string_to_sign = chunk_string_to_sign(&self.timestamp, &self.scope, &self.previous, &hex::encode(digest));
        self.check(string_to_sign, signature.unwrap_or_default())?;
        if size == 0 {
            self.final_chunk_seen = true;
        }
        Ok(())
    }

    /// Records one trailer (lowercase name, trimmed value) for the trailer signature.
    pub fn add_trailer(&mut self, name: &str, value: &str) {
        self.trailers.extend_from_slice(name.as_bytes());
        self.trailers.push(b':');
        self.trailers.extend_from_slice(value.as_bytes());
        self.trailers.push(b'\n');
    }

    /// Checks `x-amz-trailer-signature` over the trailers seen, chained from
    /// the final chunk's signature.
    pub fn verify_trailer(&mut self, signature: &str) -> S3Result<()> {
        if !self.final_chunk_seen {
            return Err(S3Error::invalid_request("x-amz-trailer-signature arrived before the final chunk"));
        }
        let string_to_sign =
            trailer_string_to_sign(&self.timestamp, &self.scope, &self.previous, &sha256_hex(&self.trailers));
        self.check(string_to_sign, signature)
    }

    fn check(&mut self, string_to_sign: String, provided: &str) -> S3Result<()> {
        let expected = sign(&self.signing_key, string_to_sign.as_bytes());
        if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
            self.previous = expected;
            return Ok(());
        }
        Err(S3Error::signature_does_not_match(SIGNATURE_MISMATCH)
            .with_field("AWSAccessKeyId", self.access_key.clone())
            .with_field("StringToSign", string_to_sign.clone())
            .with_field("SignatureProvided", provided.to_string())
            .with_field("StringToSignBytes", spaced_hex(string_to_sign.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::sigv4::derive_signing_key;
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn chain(seed: &str) -> ChunkSignatureChain {
        let key = derive_signing_key(SECRET, "20130524", "us-east-1", "s3");
        ChunkSignatureChain::new(
            "AKIAIOSFODNN7EXAMPLE".into(),
            key,
            "20130524T000000Z".into(),
            "20130524/us-east-1/s3/aws4_request".into(),
            seed.into(),
        )
    }

    /// AWS "Example: PUT Object" of sigv4-streaming: 64 KiB + 1 KiB of 'a' and
    /// the final empty chunk, chained from the documented seed signature.
    #[test]
    fn example_streaming_put_object_chunk_signatures() {
        let mut c = chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        c.update(&[b'a'; 65536]);
        c.verify_chunk(65536, Some("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")).unwrap();
        // Data may arrive in pieces.
        c.update(&[b'a'; 1000]);
        c.update(&[b'a'; 24]);
        c.verify_chunk(1024, Some("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")).unwrap();
        c.verify_chunk(0, Some("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")).unwrap();
    }

    /// AWS "Example: PUT Object" of sigv4-streaming-trailers (CRC32C trailer).
    #[test]
    fn example_streaming_put_object_with_trailer_signatures() {
        let mut c = chain("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
        c.update(&[b'a'; 65536]);
        c.verify_chunk(65536, Some("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2")).unwrap();
        c.update(&[b'a'; 1024]);
        c.verify_chunk(1024, Some("1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7")).unwrap();
        c.verify_chunk(0, Some("2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")).unwrap();
        c.add_trailer("x-amz-checksum-crc32c", "sOO8/Q==");
        assert_eq!(sha256_hex(&c.trailers), "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774");
        c.verify_trailer("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435").unwrap();
    }

    #[test]
    fn a_forged_chunk_breaks_the_chain() {
        let mut c = chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        let mut data = vec![b'a'; 65536];
        data[100] = b'b';
        c.update(&data);
        let e = c
            .verify_chunk(65536, Some("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"))
            .unwrap_err();
        assert_eq!(e.code, "SignatureDoesNotMatch");
        assert!(e.fields.iter().any(|(n, v)| *n == "StringToSign" && v.starts_with("AWS4-HMAC-SHA256-PAYLOAD\n")));
        // A missing signature, or a trailer before the final chunk, fail too.
        let mut c = chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        assert!(c.verify_chunk(0, None).is_err());
        let mut c = chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        assert!(c.verify_trailer(&"0".repeat(64)).is_err());
    }
}
