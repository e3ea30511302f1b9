//! Validation of bucket names and object keys, by S3's rules.

use crate::StoreError;

/// S3's longest key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Checks a bucket name against S3's general-purpose bucket naming rules:
/// 3–63 characters of lowercase letters, digits, hyphens and dots, starting and
/// ending with a letter or digit, no adjacent dots, not shaped like an IPv4
/// address, and none of the reserved prefixes/suffixes.
pub fn validate_bucket_name(name: &str) -> Result<(), StoreError> {
    let fail = |reason| Err(StoreError::InvalidBucketName { name: name.to_string(), reason });
    if name.len() < 3 || name.len() > 63 {
        return fail("must be 3 to 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return fail("may contain only lowercase letters, digits, hyphens and dots");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return fail("must start and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return fail("must not contain two adjacent periods or a period next to a hyphen");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return fail("must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return fail("uses a prefix or suffix S3 reserves");
    }
    Ok(())
}

/// Checks an object key: 1–1024 bytes of UTF-8 without NUL. Everything else —
/// `..`, `//`, a leading or trailing `/`, backslashes — is a valid S3 key that the
/// store must round-trip safely.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let fail = |reason| Err(StoreError::InvalidKey { key: key.to_string(), reason });
    if key.is_empty() {
        return fail("must not be empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return fail("must be at most 1024 bytes of UTF-8");
    }
    if key.contains('\0') {
        return fail("must not contain a NUL character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "my.bucket.1", "a1b", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok} should be valid");
        }
        for bad in ["ab", "ABC", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "my_bucket", &"a".repeat(64), "xn--abc", "_smartstorage"] {
            assert!(validate_bucket_name(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn keys_allow_everything_but_empty_long_and_nul() {
        for ok in ["a", "a/b", "../../etc/passwd", "a//b/", ".", "..", "ü/名前", "back\\slash"] {
            assert!(validate_key(ok).is_ok(), "{ok} should be valid");
        }
        assert!(validate_key("").is_err());
        assert!(validate_key("a\0b").is_err());
        assert!(validate_key(&"k".repeat(1025)).is_err());
        assert!(validate_key(&"k".repeat(1024)).is_ok());
    }
}
