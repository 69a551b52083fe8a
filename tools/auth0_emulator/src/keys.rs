//! The committed test keys (see `keys/README.md`): not secrets, never trusted
//! by a deployed service.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

/// One of the emulator's RSA key pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TestKey {
    /// Published and signing from the start (`kid` `dev-key-1`).
    Dev,
    /// Published by [`crate::Emulator::publish_key`] in rotation tests (`kid` `dev-key-2`).
    Rotated,
    /// Never published unless a test asks (`kid` `foreign-key`).
    Foreign,
}

impl TestKey {
    pub fn kid(self) -> &'static str {
        match self {
            TestKey::Dev => "dev-key-1",
            TestKey::Rotated => "dev-key-2",
            TestKey::Foreign => "foreign-key",
        }
    }

    /// The private key, then the public key.
    fn pems(self) -> (&'static str, &'static str) {
        match self {
            TestKey::Dev => committed_key_pair!("dev-signing"),
            TestKey::Rotated => committed_key_pair!("rotated-signing"),
            TestKey::Foreign => committed_key_pair!("foreign-signing"),
        }
    }

    fn private_pem(self) -> &'static str {
        self.pems().0
    }

    /// The public key in PEM form (what a confused verifier might use as an
    /// HMAC secret).
    pub fn public_key_pem(self) -> &'static str {
        self.pems().1
    }
}

/// The key to sign with. The PEMs are committed and known good.
pub fn encoding_key(key: TestKey) -> EncodingKey {
    #[allow(clippy::expect_used)]
    EncodingKey::from_rsa_pem(key.private_pem().as_bytes())
        .expect("committed test key is valid PEM")
}

/// The public JWK, as a JWKS publishes it.
pub fn public_jwk(key: TestKey) -> Value {
    #[allow(clippy::expect_used)]
    let jwk = Jwk::from_encoding_key(&encoding_key(key), Algorithm::RS256)
        .expect("an RSA key converts to a JWK");
    let mut value = serde_json::to_value(jwk).unwrap_or_default();
    value["kid"] = Value::from(key.kid());
    value["use"] = Value::from("sig");
    value["alg"] = Value::from("RS256");
    value
}

/// The public key of `key` in PEM (SubjectPublicKeyInfo) form, as committed
/// in `keys/`.
pub fn public_key_pem(key: TestKey) -> &'static str {
    key.public_key_pem()
}
