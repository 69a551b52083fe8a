//! The domain: the nouns every other module speaks of (the owner, a client
//! in its several states, the grant new clients get), the rule of what a
//! client id can be, and the two ports through which the operations reach
//! what they need: [`ClientDirectory`], where clients and their credentials
//! live (Auth0), and [`OwnerIndex`], who owns what (DynamoDB). It knows
//! nothing of HTTP, Lambda, Auth0's wire format or AWS, and imports only the
//! leaf modules.

mod directory;
mod index;

use std::fmt;

pub use directory::ClientDirectory;
pub use index::{
    Begun, Creation, IdempotencyClaim, IdempotencyRecord, IndexedClient, KeyState, OwnerIndex,
    Page, Position, StaleOperation, SweepState,
};

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

/// Owners are stored in Auth0 client metadata, whose values hold 255 characters.
pub const MAX_OWNER_CHARS: usize = 255;

/// Microseconds since the epoch: when things began, in the index. Strictly
/// increasing within a process, so that two clients an owner creates one
/// after the other are listed in that order even within a microsecond.
pub fn now_micros() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| u64::try_from(now.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(clock.max(last + 1))
        })
        .unwrap_or(clock);
    clock.max(previous + 1)
}

/// `duration` in microseconds, as the index counts time.
pub fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The caller, as proven by its token: the `client_id` (or `azp`) of the
/// application that called us. It owns every client it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    /// Owners come from a verified token, or from what the service itself
    /// recorded (the index, Auth0's `owner_client_id` metadata): never from
    /// a request. `None` for a value that cannot be an owner (blank, over
    /// 255 characters, control characters).
    pub fn parse(id: &str) -> Option<Self> {
        (!id.trim().is_empty()
            && id.chars().count() <= MAX_OWNER_CHARS
            && !id.chars().any(char::is_control))
        .then(|| Owner(id.to_owned()))
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
    /// Its owner, if it is an M2M client this service made (by its
    /// metadata).
    pub fn service_owner(&self) -> Option<Owner> {
        self.owner
            .as_deref()
            .filter(|_| self.machine_to_machine)
            .and_then(Owner::parse)
    }
}

/// What new clients are authorized for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPolicy {
    pub audience: String,
    pub scopes: Vec<String>,
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
