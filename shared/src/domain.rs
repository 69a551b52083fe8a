//! The domain: the nouns every other module speaks of (the owner, a client
//! in its several states, the grant new clients get), the rule of what a
//! client id can be, and [`ClientDirectory`], the port through which the
//! operations reach wherever clients live. It knows nothing of HTTP, Lambda,
//! Auth0's wire format or AWS, and imports only the leaf modules.

use std::fmt;
use std::future::Future;

use tokio::time::Instant;

use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Ids are Auth0 client ids (32 alphanumerics) or ours (`client_` + 27
/// base62); at most this long. Anything else cannot exist.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Whether `id` could be a client id at all (`^[A-Za-z0-9_-]{1,64}$`). Ids
/// that cannot exist are answered 404 without asking anyone, and are never
/// echoed into logs (they are the caller's text).
pub fn is_possible_client_id(id: &str) -> bool {
    (1..=MAX_CLIENT_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The caller, as proven by its token: the `client_id` (or `azp`) of the
/// application that called us. It owns every client it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    /// Only the authenticator makes owners, from a verified token.
    pub(crate) fn new(id: String) -> Self {
        Owner(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated create request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub description: String,
}

/// A client as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSummary {
    pub client_id: String,
    pub name: String,
    pub description: String,
}

/// A client just created, with the only copy of its secret we will ever hand out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedClient {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub client_secret: SecretString,
}

/// A client as the directory stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryClient {
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// Whether it is a machine-to-machine application (`non_interactive`).
    pub machine_to_machine: bool,
    /// Who created it through this service, if anyone did.
    pub owner: Option<String>,
}

impl DirectoryClient {
    pub fn is_owned_by(&self, owner: &Owner) -> bool {
        self.machine_to_machine && self.owner.as_deref() == Some(owner.as_str())
    }

    pub fn into_summary(self) -> ClientSummary {
        ClientSummary {
            client_id: self.client_id,
            name: self.name,
            description: self.description,
        }
    }
}

/// What new clients are authorized for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPolicy {
    pub audience: String,
    pub scopes: Vec<String>,
}

/// Where clients live (Auth0 in production). Every call gets the instant by
/// which it must have given up, retries included.
pub trait ClientDirectory: Send + Sync {
    /// Creates an M2M client recording `owner`; returns it with its secret.
    /// A creation whose outcome could not be seen by `deadline` is undone
    /// by `discard_deadline`, the later instant.
    fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        deadline: Instant,
        discard_deadline: Instant,
    ) -> impl Future<Output = Result<CreatedClient, UpstreamError>> + Send;

    /// Authorizes `client_id` for the policy's API and scopes.
    fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;

    /// Every M2M client in the directory, whoever owns it.
    fn list_clients(
        &self,
        deadline: Instant,
    ) -> impl Future<Output = Result<Vec<DirectoryClient>, UpstreamError>> + Send;

    /// The client with this id, if it exists.
    fn get_client(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<DirectoryClient>, UpstreamError>> + Send;

    /// Deletes the client; deleting one that does not exist succeeds.
    fn delete_client(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        for good in [
            "a",
            "client_2Vq1XRrT5Fpml4JCeT0f6QfB9Xh",
            "AaiyAPdpYdesoKnqjj8HJqRn4T5titww",
            "with-dash_and_underscore",
            &"x".repeat(64),
        ] {
            assert!(is_possible_client_id(good), "{good}");
        }
        for bad in [
            "",
            "has space",
            "../clients",
            "a/b",
            "a%2Fb",
            "caf\u{e9}",
            "a.b",
            &"x".repeat(65),
        ] {
            assert!(!is_possible_client_id(bad), "{bad}");
        }
    }
}
