//! A client in its several states (asked for, created, changed, as Auth0
//! stores it), the rule of what a client id can be, and the grant clients
//! get.

use super::clock::{STALE_AFTER, micros, now_micros};
use super::credential::{Credential, NewKey};
use super::owner::Owner;
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

/// A validated create request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub description: String,
    /// The scopes asked for (distinct, at least one), if the caller chose;
    /// whether each may be granted is the operation's to check.
    pub scopes: Option<Vec<String>>,
    /// The key it authenticates with instead of a secret, if the caller
    /// sent one.
    pub public_key: Option<NewKey>,
}

/// A client just created, with the only copy of its secret we will ever hand out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedClient {
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// `None` for a key client, which has no secret anyone may see.
    pub client_secret: Option<SecretString>,
    /// What its grant holds.
    pub scopes: Vec<String>,
    /// A key client's credentials (`None`: it uses a secret).
    pub credentials: Option<Vec<Credential>>,
}

/// A client's new secret, which only its rotation's answer shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// A validated update request: what changes (at least one of the three).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The scopes its grant is to hold instead (distinct, at least one);
    /// whether each may be granted is the operation's to check.
    pub scopes: Option<Vec<String>>,
}

impl ClientUpdate {
    /// Whether it changes the profile Auth0 keeps of the client (its name
    /// or description), as opposed to only its grant's scopes.
    pub fn changes_profile(&self) -> bool {
        self.name.is_some() || self.description.is_some()
    }
}

/// Whether a client may obtain tokens: `Active` clients have their grant,
/// `Disabled` ones none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientStatus {
    Active,
    Disabled,
}

impl ClientStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(ClientStatus::Active),
            "disabled" => Some(ClientStatus::Disabled),
            _ => None,
        }
    }
}

/// What a change of a client may leave different in Auth0 from the index
/// until it is over: its profile (name and description), its access (the
/// grant, by its status), its grant's scopes, its key credentials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aspects {
    pub profile: bool,
    pub access: bool,
    pub scopes: bool,
    /// Its key credentials: which Auth0 holds, and which it has enabled.
    pub credentials: bool,
}

impl Aspects {
    pub const PROFILE: Aspects = Aspects {
        profile: true,
        access: false,
        scopes: false,
        credentials: false,
    };
    pub const ACCESS: Aspects = Aspects {
        profile: false,
        access: true,
        scopes: false,
        credentials: false,
    };
    pub const SCOPES: Aspects = Aspects {
        profile: false,
        access: false,
        scopes: true,
        credentials: false,
    };
    pub const CREDENTIALS: Aspects = Aspects {
        profile: false,
        access: false,
        scopes: false,
        credentials: true,
    };

    pub fn is_empty(self) -> bool {
        !self.profile && !self.access && !self.scopes && !self.credentials
    }

    pub fn union(self, other: Aspects) -> Aspects {
        Aspects {
            profile: self.profile || other.profile,
            access: self.access || other.access,
            scopes: self.scopes || other.scopes,
            credentials: self.credentials || other.credentials,
        }
    }

    pub fn without(self, other: Aspects) -> Aspects {
        Aspects {
            profile: self.profile && !other.profile,
            access: self.access && !other.access,
            scopes: self.scopes && !other.scopes,
            credentials: self.credentials && !other.credentials,
        }
    }

    /// As the index writes them: `profile`, `access`, `scopes`,
    /// `credentials`, space-separated.
    pub fn to_words(self) -> String {
        let mut words = Vec::new();
        if self.profile {
            words.push("profile");
        }
        if self.access {
            words.push("access");
        }
        if self.scopes {
            words.push("scopes");
        }
        if self.credentials {
            words.push("credentials");
        }
        words.join(" ")
    }

    pub fn from_words(words: &str) -> Aspects {
        let has = |word: &str| words.split_whitespace().any(|w| w == word);
        Aspects {
            profile: has("profile"),
            access: has("access"),
            scopes: has("scopes"),
            credentials: has("credentials"),
        }
    }
}

/// A change of a client under way (an update, a disable, an enable): while
/// it is recorded, Auth0 may differ from the index in its aspects. A change
/// that stops half-way is found by the reconciler, which makes Auth0 match
/// the index again (docs/owner-index.md, "Changes").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChange {
    /// Names the change, so that only it ends itself.
    pub id: String,
    /// When it began (µs).
    pub started_at: u64,
    pub aspects: Aspects,
    /// The deadline (µs) of the request that runs it: past it, no request
    /// runs it any more (it answered, or stopped), and the next change
    /// takes it over at once. 0: no request runs it.
    pub until: u64,
}

impl PendingChange {
    /// A change beginning now, run by a request that may take as long as
    /// any (until it is stale: [`STALE_AFTER`]); see [`Self::running_until`].
    pub fn begin(aspects: Aspects) -> Self {
        let started_at = now_micros();
        PendingChange {
            id: ksuid::Ksuid::generate().to_base62(),
            started_at,
            aspects,
            until: started_at.saturating_add(micros(STALE_AFTER)),
        }
    }

    /// This change, run by a request whose deadline is `until` (µs).
    pub fn running_until(self, until: u64) -> Self {
        PendingChange { until, ..self }
    }

    /// Whether a request may still be running it at `now` (µs): it began at
    /// or after `stale_before` (before that, it stopped half-way whatever
    /// its deadline said) and its request's deadline has not passed. Only
    /// then is another change of the client refused (409).
    pub fn under_way(&self, now: u64, stale_before: u64) -> bool {
        self.started_at >= stale_before && self.until > now
    }
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
    /// The creation that made it (`client_metadata.creation_id`: the
    /// creation's chosen id), if the service made it and recorded one.
    pub creation_id: Option<String>,
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

/// A client's grant for the service's API, as the directory holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// What clients are authorized for: the API (`GRANT_AUDIENCE`) and the
/// scopes they may be granted (`GRANT_SCOPES`), each client all of them or
/// those chosen when it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPolicy {
    pub audience: String,
    pub scopes: Vec<String>,
}

impl GrantPolicy {
    /// The scopes of a client: those recorded, or all of the policy's for
    /// a client recorded before scopes could be chosen. In the policy's
    /// order, either way.
    pub fn scopes_of(&self, recorded: Option<&[String]>) -> Vec<String> {
        match recorded {
            None => self.scopes.clone(),
            Some(recorded) => {
                // Scopes since dropped from the policy are still granted:
                // shown after the policy's own.
                let known = self.scopes.iter().filter(|scope| recorded.contains(scope));
                let dropped = recorded.iter().filter(|scope| !self.scopes.contains(scope));
                known.chain(dropped).cloned().collect()
            }
        }
    }
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
