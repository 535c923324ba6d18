//! Logging as configured (`--log`, `--log-format`): plain lines, coloured
//! only when they go to a terminal (a file or a collector gets no escape
//! codes), or one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. A filter that does not parse falls back
/// to the default, with a warning saying so.
pub fn init(config: &Config) {
    let (filter, bad_filter) = match EnvFilter::try_new(&config.log) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info,tower_http=warn"), Some(error)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(error) = bad_filter {
        tracing::warn!(%error, filter = %config.log, "--log is not a valid filter; logging at info");
    }
}
