//! The functions' logs: what Lambda's advanced logging controls ask for
//! (JSON or text, a level), every line naming its target, and a ceiling on
//! the crates that log the raw traffic passing through them.
//!
//! Lambda's default set-up (`lambda_http::tracing::init_default_subscriber`)
//! is not used: it leaves the target out, so the audit lines (target
//! `audit`) cannot be told from the rest, and at TRACE it lets the Lambda
//! runtime log every event whole (the caller's JWT) and the AWS SDK log
//! every answer whole (the management secret).

use std::io;
use std::str::FromStr;

use tracing::{Dispatch, warn};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Crates that log requests or answers whole, and the most verbose level at
/// which they do not. A name matches as a prefix (`aws_` is every AWS SDK
/// crate, `lambda_` the runtime and `lambda_http`); their lines never go past
/// this, whatever level the function is given. Found by running a function
/// at TRACE (docs/behaviour.md, "Logs"): at TRACE `lambda_runtime` logs the
/// raw event, the caller's JWT in it; `aws_smithy_runtime` logs the
/// Secrets Manager answer, the management secret in it, and the request with
/// its `x-amz-security-token` (the role's session token), which `aws_sigv4`
/// logs too. At DEBUG none of them logs more than names, addresses and
/// timings. (hyper and reqwest log connections only; rustls logs through
/// `log`, which nothing here forwards.)
pub const CAPPED: [(&str, LevelFilter); 2] = [
    ("lambda_", LevelFilter::DEBUG),
    ("aws_", LevelFilter::DEBUG),
];

/// The shape of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    Json,
    /// tracing's plain text.
    Text,
}

/// What the environment asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub level: LevelFilter,
    pub format: Format,
    /// The variable that named the level, if its value was not a level
    /// (INFO is used instead, and said once logging works).
    pub unreadable: Option<&'static str>,
}

impl Settings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Lambda's advanced logging controls: the format from
    /// `AWS_LAMBDA_LOG_FORMAT`, the level from `AWS_LAMBDA_LOG_LEVEL`, else
    /// `RUST_LOG`, else INFO.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name| lookup(name).filter(|value| !value.trim().is_empty());
        let format = match get("AWS_LAMBDA_LOG_FORMAT") {
            Some(format) if format.trim().eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Text,
        };
        let named = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
            .into_iter()
            .find_map(|name| Some((name, get(name)?)));
        let (level, unreadable) = match named {
            None => (LevelFilter::INFO, None),
            Some((name, value)) => match level(&value) {
                Some(level) => (level, None),
                None => (LevelFilter::INFO, Some(name)),
            },
        };
        Settings {
            level,
            format,
            unreadable,
        }
    }
}

/// A level name, any case; Lambda's FATAL is tracing's ERROR.
fn level(value: &str) -> Option<LevelFilter> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("fatal") {
        return Some(LevelFilter::ERROR);
    }
    LevelFilter::from_str(value).ok()
}

/// The subscriber for `level` and `format`, writing to `writer`: each line
/// with its target, and the [`CAPPED`] crates held to their ceilings.
pub fn subscriber<W>(level: LevelFilter, format: Format, writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let ceilings = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        // What Lambda's default set-up turns off: the audit trail is found by it.
        .with_target(true)
        // As Lambda's default set-up: CloudWatch timestamps every line.
        .without_time()
        .with_writer(writer);
    match format {
        Format::Json => Dispatch::new(builder.json().finish().with(ceilings)),
        Format::Text => Dispatch::new(builder.finish().with(ceilings)),
    }
}

/// Installs the subscriber the environment asks for, writing to standard
/// output (which Lambda sends to CloudWatch). A process that already has
/// one keeps it.
pub fn init() {
    let settings = Settings::from_env();
    let installed = tracing::dispatcher::set_global_default(subscriber(
        settings.level,
        settings.format,
        io::stdout,
    ));
    if let (Ok(()), Some(variable)) = (installed, settings.unreadable) {
        // The variable only: its value could be anything.
        warn!(
            variable,
            "not a log level (trace, debug, info, warn, error, fatal or off); logging at INFO"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tracing::Level;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Settings::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned()))
    }

    #[test]
    fn the_level_and_format_follow_lambdas_controls() {
        let default = settings(&[]);
        assert_eq!(
            (default.level, default.format, default.unreadable),
            (LevelFilter::INFO, Format::Text, None)
        );
        let lambda = settings(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("RUST_LOG", "error"),
        ]);
        assert_eq!(
            (lambda.level, lambda.format),
            (LevelFilter::DEBUG, Format::Json)
        );
        assert_eq!(settings(&[("RUST_LOG", "trace")]).level, LevelFilter::TRACE);
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", " "), ("RUST_LOG", "warn")]).level,
            LevelFilter::WARN
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).level,
            LevelFilter::ERROR
        );
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).format,
            Format::Text
        );
        let odd = settings(&[("RUST_LOG", "m2m_shared=debug")]);
        assert_eq!(
            (odd.level, odd.unreadable),
            (LevelFilter::INFO, Some("RUST_LOG"))
        );
    }

    /// What a subscriber writes, kept for the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[test]
    fn every_line_names_its_target_in_either_format() {
        for format in [Format::Json, Format::Text] {
            let out = Captured::default();
            let dispatch = subscriber(LevelFilter::INFO, format, out.clone());
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::info!(target: "audit", action = "create_client", "audit");
            });
            let text = out.text();
            let named = match format {
                Format::Json => text.contains(r#""target":"audit""#),
                Format::Text => text.contains(" audit: "),
            };
            assert!(named, "{format:?}: {text}");
        }
    }

    /// Whether a line of `target` would be written at TRACE, DEBUG and INFO.
    macro_rules! written_at {
        ($target:literal) => {
            [
                tracing::enabled!(target: $target, Level::TRACE),
                tracing::enabled!(target: $target, Level::DEBUG),
                tracing::enabled!(target: $target, Level::INFO),
            ]
        };
    }

    #[test]
    fn capped_crates_stay_below_their_ceiling_whatever_the_level() {
        for (level, capped, others) in [
            (LevelFilter::TRACE, [false, true, true], [true, true, true]),
            (LevelFilter::DEBUG, [false, true, true], [false, true, true]),
            // A ceiling never raises a crate above the level asked for.
            (
                LevelFilter::WARN,
                [false, false, false],
                [false, false, false],
            ),
        ] {
            let dispatch = subscriber(level, Format::Json, Captured::default());
            tracing::dispatcher::with_default(&dispatch, || {
                // Module paths of the capped crates: the names match as prefixes.
                let seen = [
                    written_at!("lambda_runtime::layers::api_response"),
                    written_at!("lambda_http::request"),
                    written_at!("aws_smithy_runtime::client::orchestrator"),
                    written_at!("aws_sdk_secretsmanager::operation"),
                    written_at!("aws_sigv4::http_request::sign"),
                ];
                assert_eq!(seen, [capped; 5], "{level}");
                assert_eq!(written_at!("m2m_shared::auth"), others, "{level}");
                assert_eq!(written_at!("audit"), others, "{level}");
            });
        }
    }
}
