//! Key credentials (Private Key JWT): the public key a caller sends, and a
//! credential as the client holds it. The caller keeps the private key; no
//! secret of a key client ever crosses the wire.

use serde::{Deserialize, Serialize};

/// How many credentials a client may hold (Auth0's limit, which counts
/// every stored credential, enabled or not).
pub const MAX_CREDENTIALS: usize = 2;

/// The signing algorithms a credential may name (Auth0's
/// `PublicKeyCredentialAlgorithmEnum`).
pub const KEY_ALGORITHMS: [&str; 3] = ["RS256", "RS384", "PS256"];

/// A validated `public_key`: the caller's RSA public key (SPKI PEM), the
/// algorithm it signs with, and when it stops working, if ever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub pem: String,
    pub alg: String,
    /// RFC 3339, UTC (`…Z`), in the future when it was accepted.
    pub expires_at: Option<String>,
    /// The key's RFC 7638 thumbprint: the `kid` Auth0 gives it, by which a
    /// credential whose creation was not confirmed is found.
    pub thumbprint_sha256: String,
}

/// A credential of a key client, as the index records it and the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Auth0's id of it (`cred_…`).
    pub credential_id: String,
    pub alg: String,
    pub thumbprint_sha256: String,
    /// RFC 3339 with its offset.
    pub created_at: String,
    /// RFC 3339 with its offset; `None`: it never expires.
    pub expires_at: Option<String>,
}

/// How a client authenticates to get a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A client secret (`client_secret_post`).
    Secret,
    /// Client assertions signed with one of its keys (`private_key_jwt`).
    PrivateKeyJwt,
}

impl AuthMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Secret => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// A client's, by whether it has key credentials (`None`: it has a secret).
    pub fn of(credentials: Option<&[Credential]>) -> Self {
        match credentials {
            Some(_) => AuthMethod::PrivateKeyJwt,
            None => AuthMethod::Secret,
        }
    }
}

/// A credential as Auth0 holds it: its id, and the `kid` it was given (the
/// key's thumbprint unless someone named another).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryCredential {
    pub credential: Credential,
    pub kid: String,
}
