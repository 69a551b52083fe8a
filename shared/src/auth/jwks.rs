//! The issuer's signing keys, fetched once and kept for the life of the
//! container. A token signed by a key we do not know may mean the issuer
//! rotated its keys, so an unknown `kid` triggers a refetch, but at most one
//! per [`JWKS_REFETCH_INTERVAL`], and concurrent refetches share one request:
//! a flood of tokens with made-up `kid`s must not become a flood of fetches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

/// Minimum time between two refetches caused by unknown `kid`s.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// A JWKS endpoint that is down or slow costs a request at most this long.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// A key set larger than this is not a key set.
const MAX_JWKS_BYTES: usize = 256 * 1024;

type KeyMap = HashMap<String, Arc<DecodingKey>>;

pub struct JwksCache {
    http: reqwest::Client,
    url: String,
    keys: RwLock<Arc<KeyMap>>,
    /// Held while a refetch runs; records when the last one started.
    refetch: Mutex<Option<Instant>>,
    /// Bumped after every successful fetch, so that requests that queued
    /// behind one know the set is fresh and do not start another. (Behind a
    /// failed refetch, the refetch budget stops them; behind a failed
    /// start-up load, the first of them tries again.)
    generation: AtomicU64,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

impl JwksCache {
    pub fn new(http: reqwest::Client, url: String) -> Self {
        JwksCache {
            http,
            url,
            keys: RwLock::new(Arc::default()),
            refetch: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// Loads the key set at start-up. A failure is logged, not fatal: the
    /// first token with a `kid` then triggers a refetch. Requests that look
    /// for a key meanwhile wait for this fetch rather than start another.
    pub async fn load(&self) {
        let _refetch = self.refetch.lock().await;
        self.fetch_and_store().await;
    }

    /// Number of usable keys currently cached.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key with this `kid`, refetching the set if it is unknown and the
    /// refetch budget allows.
    pub async fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        let generation_seen = self.generation.load(Ordering::Acquire);
        let mut last_refetch = self.refetch.lock().await;
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        if self.generation.load(Ordering::Acquire) != generation_seen {
            // Someone refetched while we waited and the key is still unknown.
            return None;
        }
        if last_refetch.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            return None;
        }
        *last_refetch = Some(Instant::now());
        self.fetch_and_store().await;
        self.cached(kid)
    }

    fn snapshot(&self) -> Arc<KeyMap> {
        // A poisoned lock only means a panic elsewhere mid-swap of an Arc:
        // the map inside is still whole.
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.snapshot().get(kid).cloned()
    }

    async fn fetch_and_store(&self) {
        let fetched = self.fetch().await;
        crate::metrics::jwks_fetch(fetched.is_ok());
        match fetched {
            Ok(keys) => {
                info!(keys = keys.len(), "loaded JWKS");
                *self
                    .keys
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(keys);
                self.generation.fetch_add(1, Ordering::Release);
            }
            // Keep the keys we had: a broken endpoint must not revoke them.
            Err(reason) => warn!(url = %self.url, reason, "could not fetch JWKS"),
        }
    }

    async fn fetch(&self) -> Result<KeyMap, String> {
        let response = self
            .http
            .get(&self.url)
            .timeout(JWKS_FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|error| error.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err("key set too large".into());
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| error.without_url().to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("key set too large".into());
        }
        let set: KeySet =
            serde_json::from_slice(&body).map_err(|_| "not a JSON key set".to_owned())?;
        Ok(usable_keys(set.keys))
    }
}

/// RSA signing keys with a `kid`; anything else in the set is skipped rather
/// than spoiling the whole set. A key published for encryption (`"use":
/// "enc"`, or any use but `sig`) is not one the issuer signs with, so a
/// token that names it is not the issuer's (RFC 7517, 4.2).
fn usable_keys(keys: Vec<Value>) -> KeyMap {
    keys.into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| {
            matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((kid, Arc::new(key)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An RSA public key published for signing, with this `kid` and `alg`.
    fn rsa(kid: Option<&str>, alg: Option<&str>) -> Value {
        let mut key = json!({
            "kty": "RSA", "use": "sig",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        });
        if let Some(kid) = kid {
            key["kid"] = json!(kid);
        }
        if let Some(alg) = alg {
            key["alg"] = json!(alg);
        }
        key
    }

    fn kids(keys: KeyMap) -> Vec<String> {
        let mut kids: Vec<_> = keys.into_keys().collect();
        kids.sort();
        kids
    }

    #[test]
    fn only_rsa_keys_with_a_kid_are_kept() {
        let keys = usable_keys(vec![
            rsa(Some("a"), Some("RS256")),
            rsa(Some("b"), None),
            rsa(None, Some("RS256")),
            rsa(Some("c"), Some("RS512")),
            json!({"kty": "oct", "kid": "d", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "kid": "e", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            json!("garbage"),
        ]);
        assert_eq!(kids(keys), ["a", "b"]);
    }

    #[test]
    fn only_keys_published_for_signing_are_kept() {
        let with_use = |kid: &str, key_use: Option<&str>| {
            let mut key = rsa(Some(kid), Some("RS256"));
            match key_use {
                Some(key_use) => key["use"] = json!(key_use),
                None => {
                    key.as_object_mut().unwrap().remove("use");
                }
            }
            key
        };
        let keys = usable_keys(vec![
            with_use("signing", Some("sig")),
            with_use("unspecified", None),
            with_use("encryption", Some("enc")),
            with_use("other", Some("wrap")),
        ]);
        assert_eq!(kids(keys), ["signing", "unspecified"]);
    }
}
