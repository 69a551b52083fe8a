//! The owner: the application that called, which owns every client it
//! creates.

use std::fmt;

/// Owners are stored in Auth0 client metadata, whose values hold 255 characters.
pub const MAX_OWNER_CHARS: usize = 255;

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
