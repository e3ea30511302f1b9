//! Object keys ↔ relative paths inside a bucket directory.
//!
//! A key is split on `/` into segments; each segment becomes one directory level
//! (the last one names the object's files). Segment text is kept as-is except for
//! a few escapes (`%XX`, uppercase hex of the byte), so paths stay legible:
//!
//! | in the key | on disk | why |
//! | --- | --- | --- |
//! | `%` | `%25` | it is the escape character |
//! | control characters (`0x01`–`0x1F`, `0x7F`) and `\` | `%XX` | terminals, shells and other platforms mangle them |
//! | `.` at the start of a path component | `%2E` | no component is ever `.`, `..` or a hidden file |
//! | `.` followed by `s3` | `%2E` | `.s3` marks the store's own file suffixes ([`RESERVED`]) |
//! | an empty segment (`a//b`, leading or trailing `/`) | `%` | a lone `%` never occurs in escaped text, and one byte keeps even `////…` within the OS path limit |
//! | a segment longer than [`MAX_CHUNK_BYTES`] | `chunk%+/chunk%+/…/rest` | file names are limited to 255 bytes |
//!
//! Decoding reverses this and then re-encodes: a path is accepted only when it is
//! the canonical encoding of its key, so distinct keys always have distinct paths
//! and stray files never alias a key.

use std::path::{Path, PathBuf};

/// The longest encoded text placed in one path component, in bytes. File names
/// are limited to 255 bytes on ext4, xfs, btrfs and APFS; an object's data file
/// appends at most `.s3data-` + a 32-character version + `-10000` (46 bytes) to
/// its component, so 200 leaves room with margin.
pub(crate) const MAX_CHUNK_BYTES: usize = 200;

/// Suffix of a directory that continues the same key segment one level deeper
/// (a `%` not followed by two hex digits never occurs in escaped text).
pub(crate) const CONTINUATION: &str = "%+";

/// The path component standing for an empty key segment: a lone `%` (escaped
/// text always has two hex digits after `%`). One byte, so a key of 1024 slashes
/// maps to about 2 KiB of path, well within Linux's 4 KiB limit.
pub(crate) const EMPTY_SEGMENT: &str = "%";

/// Bytes the longest file name of an object adds to its base name:
/// `.s3data-` + a 32-character version + `-10000`.
pub(crate) const LONGEST_SUFFIX: usize = 46;

/// The longest path the OS accepts in one call (`PATH_MAX` without the NUL):
/// 4095 bytes on Linux, 1023 on macOS. Escaping grows a key at most about 3.1×,
/// so on Linux every key fits under a root path of up to ~900 bytes.
pub(crate) const MAX_PATH_BYTES: usize = libc::PATH_MAX as usize - 1;

/// Text that never occurs in an encoded component (its `.` is escaped), so every
/// store-owned file suffix starts with it and cannot collide with a directory.
pub(crate) const RESERVED: &str = ".s3";

/// Where a key lives inside its bucket directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPath {
    /// Directory components from the bucket directory down to the object's directory.
    pub dirs: Vec<String>,
    /// The object's base name: its files are `<base>.s3meta` and `<base>.s3data-…`.
    pub base: String,
}

impl KeyPath {
    /// The directory holding the object's files.
    pub fn dir(&self, bucket_dir: &Path) -> PathBuf {
        let mut path = bucket_dir.to_path_buf();
        path.extend(&self.dirs);
        path
    }

    /// Length in bytes of the longest path among the object's files.
    pub fn longest_path_len(&self, bucket_dir: &Path) -> usize {
        bucket_dir.as_os_str().len() + self.dirs.iter().map(|d| d.len() + 1).sum::<usize>() + 1 + self.base.len() + LONGEST_SUFFIX
    }
}

/// Maps a (validated) key to its place in the bucket directory.
pub(crate) fn encode_key(key: &str) -> KeyPath {
    let mut dirs = Vec::new();
    for segment in key.split('/') {
        push_segment(segment, &mut dirs);
    }
    // `split` yields at least one segment and each pushes at least one component.
    let base = dirs.pop().unwrap_or_default();
    KeyPath { dirs, base }
}

/// The key stored at `dirs`/`base`, if that path is the canonical encoding of a valid key.
pub(crate) fn decode_key<S: AsRef<str>>(dirs: &[S], base: &str) -> Option<String> {
    let mut key = String::new();
    let mut segment = String::new();
    let mut first = true;
    for component in dirs.iter().map(AsRef::as_ref).chain(std::iter::once(base)) {
        if let Some(chunk) = component.strip_suffix(CONTINUATION) {
            segment.push_str(chunk);
            continue;
        }
        segment.push_str(component);
        if !first {
            key.push('/');
        }
        first = false;
        if segment != EMPTY_SEGMENT {
            key.push_str(&unescape(&segment)?);
        }
        segment.clear();
    }
    if !segment.is_empty() || crate::names::validate_key(&key).is_err() {
        return None;
    }
    let canonical = encode_key(&key);
    (canonical.base == base && canonical.dirs.iter().map(String::as_str).eq(dirs.iter().map(AsRef::as_ref))).then_some(key)
}

/// True for a character that is always written as `%XX`.
fn always_escaped(c: char) -> bool {
    c == '%' || c == '\\' || c.is_ascii_control()
}

/// Escapes one segment and appends it to `out` as components of at most
/// [`MAX_CHUNK_BYTES`]; all but the segment's last one end in [`CONTINUATION`].
fn push_segment(segment: &str, out: &mut Vec<String>) {
    if segment.is_empty() {
        out.push(EMPTY_SEGMENT.to_string());
        return;
    }
    let capacity = segment.len().min(MAX_CHUNK_BYTES) + CONTINUATION.len();
    let mut current = String::with_capacity(capacity);
    for (i, c) in segment.char_indices() {
        let reserved_dot = c == '.' && segment[i + 1..].starts_with("s3");
        let escape_anywhere = always_escaped(c) || reserved_dot;
        let len = |at_start: bool| if escape_anywhere || (c == '.' && at_start) { 3 } else { c.len_utf8() };
        if current.len() + len(current.is_empty()) > MAX_CHUNK_BYTES {
            let mut full = std::mem::replace(&mut current, String::with_capacity(capacity));
            full.push_str(CONTINUATION);
            out.push(full);
        }
        if escape_anywhere || (c == '.' && current.is_empty()) {
            // Only ASCII characters are ever escaped, so `c as u8` is the byte itself.
            push_escaped(&mut current, c as u8);
        } else {
            current.push(c);
        }
    }
    out.push(current);
}

/// Appends `%XX` (uppercase hex) for `byte`.
fn push_escaped(text: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    text.push('%');
    text.push(char::from(HEX[usize::from(byte >> 4)]));
    text.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

/// Reverses the `%XX` escapes; `None` for malformed text or escapes that do not form UTF-8.
fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kp(dirs: &[&str], base: &str) -> KeyPath {
        KeyPath { dirs: dirs.iter().map(|s| s.to_string()).collect(), base: base.to_string() }
    }

    #[test]
    fn plain_keys_stay_legible() {
        assert_eq!(encode_key("photos/cat.jpg"), kp(&["photos"], "cat.jpg"));
        assert_eq!(encode_key("a"), kp(&[], "a"));
        assert_eq!(encode_key("ü/名前 with space:colon"), kp(&["ü"], "名前 with space:colon"));
    }

    #[test]
    fn troublesome_segments_are_escaped() {
        assert_eq!(encode_key(".."), kp(&[], "%2E."));
        assert_eq!(encode_key("./x/.hidden"), kp(&["%2E", "x"], "%2Ehidden"));
        assert_eq!(encode_key("a//b/"), kp(&["a", "%", "b"], "%"));
        assert_eq!(encode_key("/lead"), kp(&["%"], "lead"));
        assert_eq!(encode_key("%2e%2e"), kp(&[], "%252e%252e"));
        assert_eq!(encode_key("back\\slash\ttab"), kp(&[], "back%5Cslash%09tab"));
        assert_eq!(encode_key("x.s3meta/y"), kp(&["x%2Es3meta"], "y"));
    }

    #[test]
    fn long_segments_continue_in_deeper_directories() {
        let key = "k".repeat(450);
        let path = encode_key(&key);
        assert_eq!(path.dirs, vec![format!("{}%+", "k".repeat(200)), format!("{}%+", "k".repeat(200))]);
        assert_eq!(path.base, "k".repeat(50));
        assert_eq!(decode_key(&path.dirs, &path.base).as_deref(), Some(key.as_str()));
        // A chunk starting with '.' gets its dot escaped like any other component.
        let dots = format!("{}.{}", "k".repeat(200), "z");
        assert_eq!(encode_key(&dots).base, "%2Ez");
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        assert_eq!(decode_key::<&str>(&[], "%2e."), None, "lowercase escape");
        assert_eq!(decode_key::<&str>(&[], ".."), None);
        assert_eq!(decode_key::<&str>(&[], "a%2Fb"), None, "escaped slash");
        assert_eq!(decode_key::<&str>(&[], "x%+"), None, "continuation without an end");
        assert_eq!(decode_key::<&str>(&[], "%ZZ"), None);
        assert_eq!(decode_key::<&str>(&["a%+"], "b"), None, "short chunk marked as continued");
        assert_eq!(decode_key(&["a"], "b").as_deref(), Some("a/b"));
    }

    /// Keys built from the characters that matter most, plus arbitrary unicode.
    fn key_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-z]{1,8}",
            2 => Just("/".to_string()),
            2 => Just(".".to_string()),
            1 => Just("..".to_string()),
            1 => Just("%".to_string()),
            1 => Just("%2e".to_string()),
            1 => Just("\\".to_string()),
            1 => Just(".s3".to_string()),
            1 => Just("s3meta".to_string()),
            1 => Just("%+".to_string()),
            1 => "[\u{1}-\u{1f}\u{7f}]",
            2 => "\\PC{1,4}",
            1 => "[a-zé名🦀]{150,300}",
        ];
        proptest::collection::vec(piece, 1..24).prop_map(|pieces| {
            let mut key: String = pieces.concat();
            while key.len() > 1024 {
                key.pop();
            }
            key
        }).prop_filter("valid key", |k| crate::names::validate_key(k).is_ok())
    }

    fn components(path: &KeyPath) -> impl Iterator<Item = &str> {
        path.dirs.iter().map(String::as_str).chain(std::iter::once(path.base.as_str()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_key_round_trips(key in key_strategy()) {
            let path = encode_key(&key);
            prop_assert_eq!(decode_key(&path.dirs, &path.base), Some(key));
        }

        #[test]
        fn paths_stay_inside_the_bucket(key in key_strategy()) {
            let path = encode_key(&key);
            let bucket = Path::new("/data/bucket");
            let full = path.dir(bucket).join(format!("{}.s3data-{}-10000", path.base, "0".repeat(32)));
            prop_assert!(full.starts_with(bucket));
            for component in components(&path) {
                prop_assert!(!component.is_empty());
                prop_assert!(!component.starts_with('.'), "component {:?}", component);
                prop_assert!(!component.contains('/') && !component.contains('\0') && !component.contains('\\'));
                prop_assert!(!component.contains(RESERVED), "component {:?}", component);
                prop_assert!(component.len() + LONGEST_SUFFIX <= 255, "component of {} bytes", component.len());
            }
            // Escaping grows a key at most ~3.1×: every key fits in Linux's PATH_MAX under a short root.
            prop_assert!(path.longest_path_len(Path::new("")) <= 3 * key.len() + 3 * key.len() / 60 + LONGEST_SUFFIX + 8);
            for part in full.strip_prefix(bucket).unwrap().components() {
                prop_assert!(matches!(part, std::path::Component::Normal(_)), "{:?}", part);
            }
        }

        #[test]
        fn distinct_keys_never_share_or_shadow_paths(a in key_strategy(), b in key_strategy()) {
            prop_assume!(a != b);
            let (pa, pb) = (encode_key(&a), encode_key(&b));
            prop_assert!(pa != pb);
            // An object's files never coincide with a directory of another key.
            let file_a = pa.dirs.iter().cloned().chain(std::iter::once(format!("{}.s3meta", pa.base))).collect::<Vec<_>>();
            let dirs_b = &pb.dirs;
            prop_assert!(!(dirs_b.len() >= file_a.len() && dirs_b[..file_a.len()] == file_a[..]));
        }
    }
}
