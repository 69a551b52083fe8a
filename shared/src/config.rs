//! Configuration: read once per container from the environment variables of
//! README's configuration table, validated up front so that a bad deployment
//! is reported once, clearly, instead of failing in odd ways on every request.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::routes::Permission;

/// The API that newly minted clients are authorized for, unless `GRANT_AUDIENCE` says otherwise.
pub const DEFAULT_GRANT_AUDIENCE: &str = "https://butlrauth/";

/// The scopes granted to newly minted clients, unless `GRANT_SCOPES` says otherwise.
pub const DEFAULT_GRANT_SCOPES: [&str; 12] = [
    "read:spaces",
    "write:spaces",
    "delete:spaces",
    "read:rooms",
    "write:rooms",
    "delete:rooms",
    "read:sensors",
    "write:sensors",
    "delete:sensors",
    "read:hives",
    "write:hives",
    "delete:hives",
];

/// Everything the service needs to know about its deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Base URL of the Auth0 tenant, without a trailing slash (`https://tenant.us.auth0.com`).
    pub auth0_base_url: String,
    /// Secrets Manager id or ARN of the Management API credentials.
    pub auth0_secret_id: String,
    /// Expected `iss` of callers' tokens.
    pub jwt_issuer: String,
    /// Expected `aud` of callers' tokens.
    pub jwt_audience: String,
    /// Where callers' signing keys are published.
    pub jwks_url: String,
    /// API identifier the new clients are granted access to.
    pub grant_audience: String,
    /// Scopes granted to new clients.
    pub grant_scopes: Vec<String>,
    /// Whether to ask Auth0 for `client_{ksuid}` ids.
    pub custom_client_ids: bool,
    /// Whether callers need the route's permission (`REQUIRE_CALLER_SCOPES`).
    pub require_caller_scopes: bool,
    /// Whether clients may use key credentials (`KEY_CREDENTIALS`).
    pub key_credentials: bool,
    /// The owner index's DynamoDB table (`CLIENTS_TABLE`).
    pub clients_table: String,
    /// How many clients (and creations under way) an owner may have.
    pub max_clients_per_owner: u32,
    /// How many Auth0-calling operations an owner may start in a minute
    /// (`OWNER_WRITES_PER_MINUTE`).
    pub owner_writes_per_minute: u32,
    /// How often the reconciler sweeps Auth0 against the owner index at
    /// most (`SWEEP_INTERVAL_HOURS`; docs/owner-index.md, "The reconciler").
    pub sweep_interval: Duration,
    /// Where the Management API token is kept (`MANAGEMENT_TOKEN_CACHE`).
    pub management_token_cache: TokenCache,
}

/// `MANAGEMENT_TOKEN_CACHE`: one token for the deployment, kept in the
/// owner index's table (`shared`, the default), or one per container
/// (`container`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCache {
    Shared,
    Container,
}

impl TokenCache {
    pub fn name(self) -> &'static str {
        match self {
            TokenCache::Shared => "shared",
            TokenCache::Container => "container",
        }
    }
}

/// `MAX_CLIENTS_PER_OWNER` unless set.
pub const DEFAULT_MAX_CLIENTS_PER_OWNER: u32 = 50;

/// `OWNER_WRITES_PER_MINUTE` unless set: one change a second, sustained,
/// per owner (a paid tenant's Management API takes 16 a second in all).
pub const DEFAULT_OWNER_WRITES_PER_MINUTE: u32 = 60;
/// More than this is no limit at all: one owner's counter item takes at
/// most 1,000 writes a second (a DynamoDB partition's limit).
const MAX_OWNER_WRITES_PER_MINUTE: u32 = 60_000;

/// Lambda's limit on a function's response (a synchronous invocation's
/// payload): 6 MB, 6,291,456 bytes.
pub const RESPONSE_LIMIT_BYTES: usize = 6 * 1024 * 1024;
/// What a list's response holds besides the list: the envelope lambda_http
/// wraps the body in (status, headers, `isBase64Encoded`, `cookies`), with
/// room to spare. The headers are `content-type` and `x-request-id` (a
/// list without `limit` has no `Link`), under 200 bytes in all.
const RESPONSE_ENVELOPE_BYTES: usize = 4 * 1024;

/// The most bytes one client can take in a list's response, with
/// `grant_scopes` the deployment's `GRANT_SCOPES`: its JSON (`id`, `name`,
/// `description`, `client_id`, `scopes`, `status`, `auth_method`,
/// `last_used_at`) at the longest each
/// field can be, in the characters that take the most room, escaped once
/// as the body's JSON and once more as the body string of the envelope
/// Lambda returns, and the comma after it. The longest: ids of 64
/// characters (`MAX_CLIENT_ID_CHARS`); a name of 255 characters
/// (`MAX_NAME_CHARS`), each `"` (no control characters in a name), which is
/// `\"` in the body and `\\\"` in the envelope, 4 bytes (as much as a
/// 4-byte UTF-8 character); a description of 140 (`MAX_DESCRIPTION_CHARS`),
/// each a control character such as U+0001, `\u0001` then `\\u0001`, 7
/// bytes; every scope of `GRANT_SCOPES`; `status` `disabled`; `auth_method`
/// `client_secret_post`; a
/// `last_used_at` with all six digits of its microseconds.
/// `api::response`'s unit test checks this against the list item it
/// serializes and those limits.
pub fn largest_list_item_bytes(grant_scopes: &[String]) -> usize {
    let item = serde_json::json!({
        "id": "x".repeat(64),
        "name": "\"".repeat(255),
        "description": "\u{1}".repeat(140),
        "client_id": "x".repeat(64),
        "scopes": grant_scopes,
        "status": "disabled",
        // The longer of the two methods.
        "auth_method": "client_secret_post",
        "last_used_at": "9999-12-31T23:59:59.999999Z",
    });
    let body = item.to_string();
    // The body as the envelope's string: its JSON less the two quotes.
    let escaped = serde_json::to_string(&body).map_or(usize::MAX, |text| text.len() - 2);
    escaped.saturating_add(1)
}

/// The most clients whose whole list (without `limit`) fits in Lambda's
/// response, however long their fields: the most `MAX_CLIENTS_PER_OWNER`
/// may be with these `GRANT_SCOPES`.
pub fn max_listable_clients(grant_scopes: &[String]) -> u32 {
    // The list's brackets, then one item and its comma at a time.
    let room = RESPONSE_LIMIT_BYTES - RESPONSE_ENVELOPE_BYTES - 2;
    u32::try_from(room / largest_list_item_bytes(grant_scopes)).unwrap_or(u32::MAX)
}

/// `SWEEP_INTERVAL_HOURS` unless set: the reconciler sweeps Auth0 once a day.
const DEFAULT_SWEEP_INTERVAL_HOURS: u32 = 24;
/// The reconciler's sweep interval unless set.
pub const DEFAULT_SWEEP_INTERVAL: Duration = hours(DEFAULT_SWEEP_INTERVAL_HOURS);
/// A sweep at least once a month: a client Auth0 lost is not listed longer.
const MAX_SWEEP_INTERVAL_HOURS: u32 = 720;

const fn hours(n: u32) -> Duration {
    Duration::from_secs(n as u64 * 60 * 60)
}

/// A setting that is missing or unusable. The message names the variable, never its value
/// (a misplaced secret in the wrong variable must not end up in the logs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
    /// A number above what the deployment can take, which depends on other
    /// settings: `max` says what it is.
    #[error(
        "environment variable {name} is invalid: must be a whole number from 1 to {max}: {reason}"
    )]
    OutOfRange {
        name: &'static str,
        max: u32,
        reason: &'static str,
    },
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can configure many
    /// independent instances in one process without touching the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let auth0_base_url = auth0_base_url(&required("AUTH0_DOMAIN")?)?;
        let auth0_secret_id = required("AUTH0_SECRET_ID")?;
        let jwt_issuer = required("JWT_ISSUER")?;
        let jwt_audience = required("JWT_AUDIENCE")?;
        let clients_table = required("CLIENTS_TABLE")?;
        // A whole number in its range, or the default when unset.
        let bounded = |name: &'static str, default: u32, max: u32, reason: &'static str| {
            get(name).map_or(Ok(default), |value| {
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or(ConfigError::Invalid { name, reason })
            })
        };
        let owner_writes_per_minute = bounded(
            "OWNER_WRITES_PER_MINUTE",
            DEFAULT_OWNER_WRITES_PER_MINUTE,
            MAX_OWNER_WRITES_PER_MINUTE,
            "must be a whole number from 1 to 60000",
        )?;
        let sweep_interval_hours = bounded(
            "SWEEP_INTERVAL_HOURS",
            DEFAULT_SWEEP_INTERVAL_HOURS,
            MAX_SWEEP_INTERVAL_HOURS,
            "must be a whole number of hours from 1 to 720",
        )?;
        // A default URL that is no good is the issuer's fault: the error
        // names the variable that was set.
        let (jwks_url, jwks_from) = match get("JWKS_URL") {
            Some(url) => (url, "JWKS_URL"),
            // The issuer of Auth0 tokens ends with a slash, so this is
            // `https://tenant.auth0.com/.well-known/jwks.json`.
            None => (format!("{jwt_issuer}.well-known/jwks.json"), "JWT_ISSUER"),
        };
        require_http_url(jwks_from, &jwks_url)?;
        let grant_audience = get("GRANT_AUDIENCE").unwrap_or_else(|| DEFAULT_GRANT_AUDIENCE.into());
        let grant_scopes: Vec<String> = match get("GRANT_SCOPES") {
            Some(scopes) => scopes.split_whitespace().map(str::to_owned).collect(),
            None => DEFAULT_GRANT_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        // A list without `limit` answers all of an owner's clients in one
        // response: a quota whose list could pass Lambda's 6 MB is refused
        // here rather than answered 500 by Lambda once an owner has them.
        let most_listable = max_listable_clients(&grant_scopes);
        let max_clients_per_owner = bounded(
            "MAX_CLIENTS_PER_OWNER",
            DEFAULT_MAX_CLIENTS_PER_OWNER,
            u32::MAX,
            "must be a whole number from 1",
        )?;
        if max_clients_per_owner > most_listable {
            return Err(ConfigError::OutOfRange {
                name: "MAX_CLIENTS_PER_OWNER",
                max: most_listable,
                reason: "a list without limit holds every client, and more could pass Lambda's 6 MB response limit with these GRANT_SCOPES (docs/configuration.md)",
            });
        }
        let flag = |name: &'static str| match get(name).as_deref() {
            None => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ConfigError::Invalid {
                name,
                reason: "must be true or false",
            }),
        };
        let custom_client_ids = flag("CUSTOM_CLIENT_IDS")?;
        let management_token_cache = match get("MANAGEMENT_TOKEN_CACHE").as_deref() {
            None => TokenCache::Shared,
            Some(value) if value.eq_ignore_ascii_case("shared") => TokenCache::Shared,
            Some(value) if value.eq_ignore_ascii_case("container") => TokenCache::Container,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "MANAGEMENT_TOKEN_CACHE",
                    reason: "must be shared or container",
                });
            }
        };
        let require_caller_scopes = flag("REQUIRE_CALLER_SCOPES")?;
        let key_credentials = flag("KEY_CREDENTIALS")?;
        // A client minted for this very API, with one of its permissions,
        // could mint clients of its own that its owner can neither see nor
        // delete: refuse to start rather than hand out that escalation.
        if grant_audience == jwt_audience
            && grant_scopes
                .iter()
                .any(|scope| Permission::from_name(scope).is_some())
        {
            return Err(ConfigError::Invalid {
                name: "GRANT_SCOPES",
                reason: "must not hold this service's own permissions (read:, create:, update:, delete:m2m_clients) while GRANT_AUDIENCE is JWT_AUDIENCE",
            });
        }

        Ok(Self {
            auth0_base_url,
            auth0_secret_id,
            jwt_issuer,
            jwt_audience,
            jwks_url,
            grant_audience,
            grant_scopes,
            custom_client_ids,
            require_caller_scopes,
            key_credentials,
            clients_table,
            max_clients_per_owner,
            owner_writes_per_minute,
            management_token_cache,
            sweep_interval: hours(sweep_interval_hours),
        })
    }

    /// The audience of Management API tokens: `https://<AUTH0_DOMAIN>/api/v2/`.
    pub fn management_audience(&self) -> String {
        format!("{}/api/v2/", self.auth0_base_url)
    }
}

/// `AUTH0_DOMAIN` is either a bare tenant domain (https implied) or a full base URL.
fn auth0_base_url(domain: &str) -> Result<String, ConfigError> {
    let url = if domain.contains("://") {
        domain.to_owned()
    } else {
        format!("https://{domain}")
    };
    require_http_url("AUTH0_DOMAIN", &url)?;
    Ok(url.trim_end_matches('/').to_owned())
}

/// An https URL naming a host, or an http one whose host is this machine
/// (docs/behaviour.md, "Outbound connections").
/// Plain http anywhere else would hand the management secret, the
/// Management API token or the callers' keys to the network; on loopback
/// it is how the emulator and other local stand-ins are reached.
fn require_http_url(name: &'static str, url: &str) -> Result<(), ConfigError> {
    let (rest, secure) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) => (rest, false),
        (None, None) => {
            return Err(ConfigError::Invalid {
                name,
                reason: "must be an http(s) URL",
            });
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err(ConfigError::Invalid {
            name,
            reason: "must name a host",
        });
    }
    if !secure && !is_loopback(authority) {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be an https URL (http only for 127.0.0.0/8, [::1] or localhost)",
        });
    }
    Ok(())
}

/// Whether `authority` (`host` or `host:port`) is 127.0.0.0/8, `[::1]` or
/// `localhost`. Anything this does not recognize, however it might resolve,
/// is not loopback: the check errs towards asking for https.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        // `[v6]` or `[v6]:port`
        Some(bracketed) => match bracketed.split_once(']') {
            Some((v6, port)) if port.is_empty() || port.starts_with(':') => {
                return v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
            }
            _ => return false,
        },
        None => authority
            .split_once(':')
            .map_or(authority, |(host, _port)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for Config {
    /// A one-line summary for the start-up log: nothing here is secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "auth0={} issuer={} audience={} jwks={} grant_audience={} scopes={} custom_client_ids={} require_caller_scopes={} key_credentials={} table={} max_clients_per_owner={} owner_writes_per_minute={} management_token_cache={} sweep_interval_hours={}",
            self.auth0_base_url,
            self.jwt_issuer,
            self.jwt_audience,
            self.jwks_url,
            self.grant_audience,
            self.grant_scopes.len(),
            self.custom_client_ids,
            self.require_caller_scopes,
            self.key_credentials,
            self.clients_table,
            self.max_clients_per_owner,
            self.owner_writes_per_minute,
            self.management_token_cache.name(),
            self.sweep_interval.as_secs() / 3600
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The configuration of `vars`; of two with the same name, the later wins.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    /// The required settings with `extra` added or overriding them.
    fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars = REQUIRED.to_vec();
        vars.extend_from_slice(extra);
        config(&vars)
    }

    /// The variable an invalid configuration names, if it is invalid.
    fn invalid(result: Result<Config, ConfigError>) -> Option<&'static str> {
        match result {
            Err(ConfigError::Invalid { name, .. } | ConfigError::OutOfRange { name, .. }) => {
                Some(name)
            }
            _ => None,
        }
    }

    /// That the required settings with `name` set to `value` are refused
    /// as an invalid `name`.
    fn assert_rejected(name: &'static str, value: &'static str) {
        assert_eq!(
            invalid(with(&[(name, value)])),
            Some(name),
            "{name}={value}"
        );
    }

    const REQUIRED: [(&str, &str); 5] = [
        ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
        ("AUTH0_SECRET_ID", "auth0/management"),
        ("JWT_ISSUER", "https://tenant.us.auth0.com/"),
        ("JWT_AUDIENCE", "https://m2m-client-service/"),
        ("CLIENTS_TABLE", "m2m-clients"),
    ];

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&REQUIRED).unwrap();
        assert_eq!(config.auth0_base_url, "https://tenant.us.auth0.com");
        assert_eq!(
            config.management_audience(),
            "https://tenant.us.auth0.com/api/v2/"
        );
        assert_eq!(
            config.jwks_url,
            "https://tenant.us.auth0.com/.well-known/jwks.json"
        );
        assert_eq!(config.grant_audience, "https://butlrauth/");
        assert_eq!(config.grant_scopes.len(), 12);
        assert!(config.grant_scopes.contains(&"delete:hives".to_owned()));
        assert!(config.custom_client_ids);
        assert!(config.require_caller_scopes);
        assert_eq!(config.clients_table, "m2m-clients");
        assert_eq!(config.max_clients_per_owner, 50);
        assert_eq!(config.owner_writes_per_minute, 60);
        assert_eq!(config.management_token_cache, TokenCache::Shared);
        assert_eq!(config.sweep_interval, Duration::from_secs(24 * 60 * 60));
    }

    #[test]
    fn the_token_cache_is_shared_or_per_container() {
        let cache = |value: &'static str| {
            with(&[("MANAGEMENT_TOKEN_CACHE", value)]).map(|c| c.management_token_cache)
        };
        assert_eq!(cache("shared"), Ok(TokenCache::Shared));
        assert_eq!(cache("Container"), Ok(TokenCache::Container));
        for bad in ["none", "dynamodb", "true"] {
            assert_rejected("MANAGEMENT_TOKEN_CACHE", bad);
        }
    }

    #[test]
    fn the_quota_and_the_sweep_interval_are_sensible_numbers() {
        let quota =
            |value| with(&[("MAX_CLIENTS_PER_OWNER", value)]).map(|c| c.max_clients_per_owner);
        let hours = |value| {
            with(&[("SWEEP_INTERVAL_HOURS", value)]).map(|c| c.sweep_interval.as_secs() / 3600)
        };
        let writes =
            |value| with(&[("OWNER_WRITES_PER_MINUTE", value)]).map(|c| c.owner_writes_per_minute);
        assert_eq!(quota("5"), Ok(5));
        assert_eq!(hours("1"), Ok(1));
        assert_eq!(hours("720"), Ok(720));
        assert_eq!(writes("1"), Ok(1));
        assert_eq!(writes("60000"), Ok(60_000));
        for (name, bad) in [
            (
                "MAX_CLIENTS_PER_OWNER",
                ["0", "-1", "five", "100000", "2.5"],
            ),
            ("SWEEP_INTERVAL_HOURS", ["0", "-1", "daily", "721", "1.5"]),
            (
                "OWNER_WRITES_PER_MINUTE",
                ["0", "-1", "many", "60001", "0.5"],
            ),
        ] {
            for value in bad {
                assert_rejected(name, value);
            }
        }
    }

    #[test]
    fn the_quota_is_at_most_what_one_list_can_answer() {
        let scopes = |scopes: &[&str]| scopes.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let most = max_listable_clients(&scopes(&DEFAULT_GRANT_SCOPES));
        // Each client up to 2,522 bytes in the response with the 12
        // default scopes (docs/configuration.md gives the sum).
        assert_eq!(
            largest_list_item_bytes(&scopes(&DEFAULT_GRANT_SCOPES)),
            2_522
        );
        assert_eq!(most, 2_493);
        assert!(
            most as usize * largest_list_item_bytes(&scopes(&DEFAULT_GRANT_SCOPES))
                <= RESPONSE_LIMIT_BYTES - RESPONSE_ENVELOPE_BYTES
        );
        let quota = |value: String| {
            let vars = [("MAX_CLIENTS_PER_OWNER", value.as_str())];
            let mut all = REQUIRED.to_vec();
            all.extend_from_slice(&vars);
            config(&all).map(|c| c.max_clients_per_owner)
        };
        assert_eq!(quota(most.to_string()), Ok(most));
        let refused = quota((most + 1).to_string()).unwrap_err();
        assert_eq!(
            refused,
            ConfigError::OutOfRange {
                name: "MAX_CLIENTS_PER_OWNER",
                max: most,
                reason: "a list without limit holds every client, and more could pass Lambda's 6 MB response limit with these GRANT_SCOPES (docs/configuration.md)",
            }
        );
        assert!(refused.to_string().contains("from 1 to 2493"), "{refused}");
        // Fewer scopes leave room for more clients; a quota the default
        // scopes allow can be too many with many long ones.
        let few = max_listable_clients(&scopes(&["read:a"]));
        assert!(few > most, "{few}");
        let long: Vec<String> = (0..100)
            .map(|n| format!("read:{n}:{}", "x".repeat(60)))
            .collect();
        let many = max_listable_clients(&long);
        assert!(many < 1_000, "{many}");
        let mut all = REQUIRED.to_vec();
        let joined = long.join(" ");
        all.extend_from_slice(&[
            ("GRANT_SCOPES", joined.as_str()),
            ("MAX_CLIENTS_PER_OWNER", "1000"),
        ]);
        assert_eq!(invalid(config(&all)), Some("MAX_CLIENTS_PER_OWNER"));
    }

    #[test]
    fn full_base_urls_and_overrides_are_accepted() {
        let mut vars = REQUIRED.to_vec();
        vars[0] = ("AUTH0_DOMAIN", "http://127.0.0.1:8081/");
        vars.extend([
            ("JWKS_URL", "http://127.0.0.1:9000/keys"),
            ("GRANT_AUDIENCE", "https://other/"),
            ("GRANT_SCOPES", " read:a  write:a "),
            ("CUSTOM_CLIENT_IDS", "FALSE"),
        ]);
        let config = config(&vars).unwrap();
        assert_eq!(config.auth0_base_url, "http://127.0.0.1:8081");
        assert_eq!(config.jwks_url, "http://127.0.0.1:9000/keys");
        assert_eq!(config.grant_audience, "https://other/");
        assert_eq!(config.grant_scopes, ["read:a", "write:a"]);
        assert!(!config.custom_client_ids);
    }

    #[test]
    fn caller_scopes_can_be_turned_off() {
        let off = with(&[("REQUIRE_CALLER_SCOPES", "false")]).unwrap();
        assert!(!off.require_caller_scopes);
        assert!(off.key_credentials);
        let no_keys = with(&[("KEY_CREDENTIALS", "false")]).unwrap();
        assert!(!no_keys.key_credentials);
        assert_rejected("KEY_CREDENTIALS", "off");
        assert_rejected("REQUIRE_CALLER_SCOPES", "no");
    }

    #[test]
    fn minted_clients_can_never_hold_this_services_permissions() {
        let same_api = |scopes: &'static str| {
            with(&[
                ("GRANT_AUDIENCE", "https://m2m-client-service/"),
                ("GRANT_SCOPES", scopes),
            ])
        };
        for scopes in [
            "read:m2m_clients",
            "read:spaces create:m2m_clients",
            "update:m2m_clients",
            "delete:m2m_clients",
        ] {
            assert_eq!(invalid(same_api(scopes)), Some("GRANT_SCOPES"), "{scopes}");
        }
        // The same API with other scopes, or those scopes for another API, is fine.
        assert!(same_api("read:spaces write:spaces").is_ok());
        assert!(with(&[("GRANT_SCOPES", "read:m2m_clients")]).is_ok());
    }

    #[test]
    fn each_required_variable_is_reported_by_name() {
        for (missing, _) in REQUIRED {
            let vars: Vec<_> = REQUIRED
                .into_iter()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(config(&vars), Err(ConfigError::Missing(missing)));
            let blank: Vec<_> = REQUIRED
                .into_iter()
                .map(|(k, v)| if k == missing { (k, "  ") } else { (k, v) })
                .collect();
            assert_eq!(config(&blank), Err(ConfigError::Missing(missing)));
        }
    }

    #[test]
    fn invalid_values_are_rejected_without_echoing_them() {
        let error = with(&[("CUSTOM_CLIENT_IDS", "yes-please")]).unwrap_err();
        assert!(error.to_string().contains("CUSTOM_CLIENT_IDS"));
        assert!(!error.to_string().contains("yes-please"));

        assert_rejected("AUTH0_DOMAIN", "ftp://tenant");
        assert_rejected("JWKS_URL", "not a url");
    }

    #[test]
    fn plain_http_is_only_for_loopback_hosts() {
        for name in ["AUTH0_DOMAIN", "JWKS_URL"] {
            for local in [
                "http://127.0.0.1:8081",
                "http://127.0.0.1",
                "http://127.255.3.4:9/keys",
                "http://localhost:8081/",
                "http://LOCALHOST",
                "http://[::1]:8081/x",
                "http://[::1]",
            ] {
                assert!(with(&[(name, local)]).is_ok(), "{name}={local}");
            }
            for remote in [
                "http://tenant.us.auth0.com",
                "http://tenant.us.auth0.com/.well-known/jwks.json",
                "http://10.0.0.1:8081",
                "http://128.0.0.1",
                "http://0.0.0.0:8081",
                "http://localhost.example.com",
                "http://localhost.",
                "http://a.localhost",
                "http://127.0.0.1.nip.io",
                "http://localhost@example.com",
                "http://[::2]:8081",
                "http://[::ffff:127.0.0.1]",
                "http://[::1]x",
                "http://127.1",
                "http://127.0.0.1\\example.com",
            ] {
                let error = with(&[(name, remote)]).unwrap_err();
                assert!(
                    matches!(error, ConfigError::Invalid { name: n, .. } if n == name),
                    "{name}={remote}: {error}"
                );
                assert!(!error.to_string().contains(remote), "{error}");
            }
            // https is fine anywhere.
            assert!(with(&[(name, "https://10.0.0.1:8443/keys")]).is_ok());
        }
        // The default JWKS URL comes from the issuer, and is checked the
        // same way, naming the issuer.
        assert_rejected("JWT_ISSUER", "http://issuer.example.com/");
        assert!(with(&[("JWT_ISSUER", "http://127.0.0.1:8081/")]).is_ok());
    }
}
