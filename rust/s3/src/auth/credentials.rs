//! The credentials the server accepts, changeable while it runs (the binary's
//! IPC adds and removes them), and the cache of derived signing keys.

use super::sigv4::{SigningKey, derive_signing_key};
use crate::config::Credential;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// Most signing keys kept. A client signs with today's date (and, around
/// midnight, yesterday's), for one region and service, so live entries are
/// about two per credential: 1024 covers hundreds of active credentials. When
/// full the cache is emptied; re-deriving a key costs four HMACs (~2 µs), so
/// a simple bound beats an LRU here.
pub const SIGNING_KEY_CACHE_SIZE: usize = 1024;

/// Why a credential was refused by [`CredentialStore::add`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The access key id is empty or contains a character that cannot appear
    /// in a SigV4 credential scope (`/`, `,`, `=`, whitespace, control).
    #[error("invalid access key id {0:?}: use 1-128 visible ASCII characters other than '/', ',', '=' and ';'")]
    InvalidAccessKeyId(String),
    /// The secret is empty or not visible ASCII.
    #[error("invalid secret access key for {0:?}: use 1-256 visible ASCII characters")]
    InvalidSecret(String),
}

/// (access key, scope date, region, service).
type CacheKey = (String, String, String, String);

/// The live set of credentials plus the signing-key cache. Shared by every
/// request (`AppState`) and by the binary (through `RunningServer::credentials`).
#[derive(Default)]
pub struct CredentialStore {
    /// Access key id → secret, in insertion order (the first is the default one).
    credentials: RwLock<Vec<Credential>>,
    /// Derived signing keys.
    signing_keys: Mutex<HashMap<CacheKey, SigningKey>>,
}

/// Shows access key ids and the cache size, never secrets or signing keys.
impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.list().into_iter().map(|c| c.access_key_id).collect();
        f.debug_struct("CredentialStore").field("access_key_ids", &ids).field("cached_keys", &self.cached_keys()).finish()
    }
}

impl CredentialStore {
    /// A store holding `initial` (later duplicates of an access key replace earlier ones).
    pub fn new(initial: impl IntoIterator<Item = Credential>) -> Self {
        let store = CredentialStore::default();
        for credential in initial {
            // Config validation already checked them; keep whatever is usable.
            if let Err(e) = store.add(credential) {
                tracing::warn!(error = %e, "ignoring credential");
            }
        }
        store
    }

    /// Adds a credential, or replaces the secret of an existing access key
    /// (its cached signing keys are dropped). Returns true when it replaced one.
    pub fn add(&self, credential: Credential) -> Result<bool, CredentialError> {
        validate_credential(&credential)?;
        let replaced = {
            let mut list = self.credentials.write().unwrap_or_else(|e| e.into_inner());
            match list.iter_mut().find(|c| c.access_key_id == credential.access_key_id) {
                Some(existing) => {
                    existing.secret_access_key = credential.secret_access_key.clone();
                    true
                }
                None => {
                    list.push(credential.clone());
                    false
                }
            }
        };
        if replaced {
            self.forget_keys(&credential.access_key_id);
        }
        Ok(replaced)
    }

    /// Removes the credential with this access key; requests signed with it
    /// fail with InvalidAccessKeyId from now on. Returns true if it existed.
    /// Buckets it owns keep their owner (re-adding the key restores access).
    pub fn remove(&self, access_key_id: &str) -> bool {
        let removed = {
            let mut list = self.credentials.write().unwrap_or_else(|e| e.into_inner());
            let before = list.len();
            list.retain(|c| c.access_key_id != access_key_id);
            list.len() != before
        };
        self.forget_keys(access_key_id);
        removed
    }

    /// Every credential, in insertion order.
    pub fn list(&self) -> Vec<Credential> {
        self.credentials.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The first credential (what `getStorageDescriptor()` hands out).
    pub fn first(&self) -> Option<Credential> {
        self.credentials.read().unwrap_or_else(|e| e.into_inner()).first().cloned()
    }

    /// Whether `access_key_id` is known.
    pub fn contains(&self, access_key_id: &str) -> bool {
        self.credentials.read().unwrap_or_else(|e| e.into_inner()).iter().any(|c| c.access_key_id == access_key_id)
    }

    /// The signing key of `access_key_id` for `date`/`region`/`service`, from
    /// the cache or derived now; `None` when the access key is unknown.
    pub fn signing_key(&self, access_key_id: &str, date: &str, region: &str, service: &str) -> Option<SigningKey> {
        let cache_key: CacheKey = (access_key_id.into(), date.into(), region.into(), service.into());
        if let Some(key) = self.signing_keys.lock().unwrap_or_else(|e| e.into_inner()).get(&cache_key) {
            return Some(*key);
        }
        let secret = self
            .credentials
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.access_key_id == access_key_id)
            .map(|c| c.secret_access_key.clone())?;
        let key = derive_signing_key(&secret, date, region, service);
        let mut cache = self.signing_keys.lock().unwrap_or_else(|e| e.into_inner());
        // Re-check under the lock: a concurrent remove/replace must win over
        // a key derived from the old secret.
        let still_current = self
            .credentials
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|c| c.access_key_id == access_key_id && c.secret_access_key == secret);
        if still_current {
            if cache.len() >= SIGNING_KEY_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(cache_key, key);
        }
        Some(key)
    }

    /// Number of cached signing keys (for tests and metrics).
    pub fn cached_keys(&self) -> usize {
        self.signing_keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn forget_keys(&self, access_key_id: &str) {
        self.signing_keys.lock().unwrap_or_else(|e| e.into_inner()).retain(|k, _| k.0 != access_key_id);
    }
}

/// Checks that a credential can be used in SigV4 (what [`CredentialStore::add`]
/// enforces), so config loading and IPC can refuse a bad one up front.
pub fn validate_credential(c: &Credential) -> Result<(), CredentialError> {
    let id = &c.access_key_id;
    let id_ok = (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b',' | b'=' | b';'));
    if !id_ok {
        return Err(CredentialError::InvalidAccessKeyId(id.clone()));
    }
    let secret = &c.secret_access_key;
    if !(1..=256).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::InvalidSecret(id.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(id: &str, secret: &str) -> Credential {
        Credential { access_key_id: id.into(), secret_access_key: secret.into() }
    }

    #[test]
    fn credentials_can_be_added_replaced_and_removed() {
        let store = CredentialStore::new([cred("A", "a1"), cred("B", "b1")]);
        assert_eq!(store.list().len(), 2);
        let k1 = store.signing_key("A", "20130524", "us-east-1", "s3").unwrap();
        assert_eq!(k1, derive_signing_key("a1", "20130524", "us-east-1", "s3"));
        assert_eq!(store.cached_keys(), 1);
        assert!(store.add(cred("A", "a2")).unwrap(), "replaces");
        assert_eq!(store.cached_keys(), 0, "the old key is forgotten");
        let k2 = store.signing_key("A", "20130524", "us-east-1", "s3").unwrap();
        assert_ne!(k1, k2);
        assert!(!store.add(cred("C", "c")).unwrap());
        assert_eq!(store.first().unwrap().access_key_id, "A");
        assert!(store.remove("A"));
        assert!(!store.remove("A"));
        assert_eq!(store.signing_key("A", "20130524", "us-east-1", "s3"), None);
        assert_eq!(store.list().iter().map(|c| c.access_key_id.as_str()).collect::<Vec<_>>(), ["B", "C"]);
    }

    #[test]
    fn unusable_credentials_are_refused() {
        let store = CredentialStore::default();
        for bad in ["", "a/b", "a b", "a,b", "a=b", "é"] {
            assert!(matches!(store.add(cred(bad, "s")), Err(CredentialError::InvalidAccessKeyId(_))), "{bad:?}");
        }
        assert!(matches!(store.add(cred("A", "")), Err(CredentialError::InvalidSecret(_))));
        assert!(matches!(store.add(cred("A", "a b")), Err(CredentialError::InvalidSecret(_))));
        // The default smartstorage credential and AWS-style keys are fine.
        assert!(store.add(cred("STORAGE", "STORAGE")).is_ok());
        assert!(store.add(cred("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")).is_ok());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let store = CredentialStore::new([cred("A", "very-secret-value")]);
        let key = store.signing_key("A", "20130524", "us-east-1", "s3").unwrap();
        let shown = format!("{store:?} {:?}", store.list());
        assert!(shown.contains("\"A\"") && !shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains(&format!("{}", key[0])) || !shown.contains(&format!("{}, {}", key[0], key[1])), "{shown}");
    }

    #[test]
    fn the_signing_key_cache_is_bounded() {
        let store = CredentialStore::new([cred("A", "a")]);
        for day in 0..(SIGNING_KEY_CACHE_SIZE + 10) {
            store.signing_key("A", &format!("{day:08}"), "us-east-1", "s3");
            assert!(store.cached_keys() <= SIGNING_KEY_CACHE_SIZE);
        }
    }
}
