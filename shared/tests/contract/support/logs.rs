//! Every log line the service writes during the tests, as Lambda would get
//! it (JSON), metrics included, kept in memory so tests can search it for
//! leaks and audit lines.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use lambda_http::tracing::subscriber::fmt::MakeWriter;
use serde_json::Value;

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct MakeCapture;

impl<'a> MakeWriter<'a> for MakeCapture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        Capture
    }
}

/// Installs the capturing subscriber (once per test process), at DEBUG so
/// that even verbose lines are searched.
pub fn install() {
    INSTALLED.get_or_init(|| {
        // The metrics' EMF lines too, as Lambda would get them: the leak
        // checks read them with the rest.
        m2m_shared::metrics::install_sink(|line| {
            LOGS.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(line.as_bytes());
        });
        let _ = lambda_http::tracing::subscriber::fmt()
            .json()
            .with_max_level(lambda_http::tracing::Level::DEBUG)
            .with_writer(MakeCapture)
            .try_init();
    });
}

/// Everything logged so far.
pub fn text() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// Every line logged so far, parsed.
pub fn lines() -> Vec<Value> {
    text()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
