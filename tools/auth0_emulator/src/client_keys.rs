//! What a test needs to act as a Private Key JWT client of the emulator (or
//! of any tenant): the committed test key pairs (`keys/README.md`; not
//! secrets), public keys Auth0 refuses, and client assertions signed as
//! Auth0 requires them
//! (<https://auth0.com/docs/get-started/authentication-and-authorization-flow/authenticate-with-private-key-jwt>).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// `client_assertion_type` of a request that authenticates with a client
/// assertion (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long the assertions of [`assertion_claims`] live: Auth0 takes at
/// most 5 minutes and recommends at most one.
pub const ASSERTION_LIFETIME_SECS: u64 = 60;

/// A committed RSA key pair for a client's credentials: the private key in
/// PKCS#8 PEM, the public key in SPKI PEM (what Auth0's `pem` takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// 2048 bits.
    A,
    /// 2048 bits: the next key of a rotation.
    B,
    /// 2048 bits: one key more than a client may hold.
    C,
    /// 4096 bits: the largest size Auth0 takes.
    Max,
}

impl ClientKey {
    /// The private key, then the public key.
    fn pems(self) -> (&'static str, &'static str) {
        match self {
            ClientKey::A => committed_key_pair!("client-a"),
            ClientKey::B => committed_key_pair!("client-b"),
            ClientKey::C => committed_key_pair!("client-c"),
            ClientKey::Max => committed_key_pair!("client-max"),
        }
    }

    pub fn private_pem(self) -> &'static str {
        self.pems().0
    }

    pub fn public_pem(self) -> &'static str {
        self.pems().1
    }

    /// The key's RFC 7638 thumbprint: the `kid` Auth0 gives a credential
    /// made from it.
    ///
    /// # Panics
    /// Never for these committed keys.
    pub fn thumbprint(self) -> String {
        #[allow(clippy::expect_used)]
        crate::jwk_thumbprint(self.public_pem()).expect("the committed client keys are valid")
    }
}

/// An RSA public key of 1024 bits: too small for Auth0 (2048 to 4096).
pub const SMALL_RSA_PUBLIC_PEM: &str = include_str!("../keys/client-small-public.pem");
/// An RSA public key of 8192 bits: too large for Auth0.
pub const HUGE_RSA_PUBLIC_PEM: &str = include_str!("../keys/client-huge-public.pem");
/// An EC (P-256) public key: Auth0's credentials are RSA keys.
pub const EC_PUBLIC_PEM: &str = include_str!("../keys/client-ec-p256-public.pem");
/// A self-signed certificate a real tenant took as a `public_key`
/// credential, and the `kid` it answered (recorded by
/// auth0/terraform-provider-auth0, `TestAccClientCredentialsPrivateKeyJWTFullRotation.yaml`):
/// Auth0's `kid` is the RFC 7638 thumbprint of the certificate's key.
pub const AUTH0_RECORDED_CERTIFICATE_PEM: &str =
    include_str!("../keys/auth0-recorded-certificate.pem");
pub const AUTH0_RECORDED_CERTIFICATE_KID: &str = "-BytQCzAFJsUuNOzZI5OlJyrOc0PyQCzgExAN0AhbWk";

/// The claims Auth0 requires of a client assertion: `iss` and `sub` the
/// client id, `aud` the tenant's URL with its trailing slash (added if
/// `tenant_url` has none), `iat` now, `exp` [`ASSERTION_LIFETIME_SECS`]
/// later, and a `jti` no other call returns. Change any before signing
/// to build a bad one.
pub fn assertion_claims(client_id: &str, tenant_url: &str) -> Value {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Unique across the processes of a test run too (several may share
    // one emulator binary): the pid, the clock, a counter.
    let jti = format!(
        "{:x}-{:x}-{}",
        std::process::id(),
        now.as_nanos(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{}/", tenant_url.trim_end_matches('/')),
        "iat": now.as_secs(),
        "exp": now.as_secs() + ASSERTION_LIFETIME_SECS,
        "jti": jti,
    })
}

/// `claims` signed under `header` (its `alg` RS256, RS384 or PS256, its
/// `kid` optional) with the RSA private key `private_key_pem` (PKCS#1 or
/// PKCS#8).
///
/// # Panics
/// If the key is not an RSA private key or `header.alg` not an RSA
/// algorithm: a test's mistake.
pub fn sign_assertion(header: &Header, claims: &Value, private_key_pem: &str) -> String {
    #[allow(clippy::expect_used)]
    let key =
        EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).expect("an RSA private key in PEM");
    #[allow(clippy::expect_used)]
    jsonwebtoken::encode(header, claims, &key).expect("an RSA algorithm signs with an RSA key")
}

/// A client assertion for `client_id` at the tenant `tenant_url`, signed
/// RS256 with `private_key_pem` and no `kid` (Auth0 then tries each of the
/// client's credentials): [`assertion_claims`], signed.
///
/// # Panics
/// As [`sign_assertion`].
pub fn client_assertion(client_id: &str, tenant_url: &str, private_key_pem: &str) -> String {
    sign_assertion(
        &Header::new(Algorithm::RS256),
        &assertion_claims(client_id, tenant_url),
        private_key_pem,
    )
}

/// The body of a client credentials request for `audience` that
/// authenticates with `assertion` instead of a secret (as JSON; send it as
/// a form or as JSON).
pub fn assertion_grant(assertion: &str, audience: &str) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "audience": audience,
    })
}
