//! Logging as configured (`--log`, `--log-format`): plain lines, coloured
//! only when they go to a terminal (a file or a collector gets no escape
//! codes), or one JSON object per line; and, when the environment asks for
//! it, traces exported over OpenTelemetry ([`crate::telemetry`]).
//!
//! Each output has its own filter: `--log` decides what is written to
//! stderr, and the trace exporter takes the gateway's own spans down to
//! debug (the upstream attempts), whatever `--log` says.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::{Config, LogFormat};
use crate::telemetry::{self, Telemetry};

/// Installs the global subscriber, and the trace exporter when the
/// `OTEL_*` variables ask for one. A filter that does not parse falls back
/// to the default, with a warning saying so; an exporter that cannot be
/// built is refused (`Err`), since the operator asked for traces.
pub fn init(config: &Config) -> Result<Telemetry, String> {
    let (filter, bad_filter) = match EnvFilter::try_new(&config.log) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info,tower_http=warn"), Some(error)),
    };
    let (telemetry, tracer) = telemetry::from_env()?;
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Text => fmt
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
    };
    let traces = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(
                Targets::new()
                    .with_target("trade_graph", LevelFilter::DEBUG)
                    .with_default(LevelFilter::OFF),
            )
    });
    tracing_subscriber::registry().with(fmt).with(traces).init();
    if let Some(error) = bad_filter {
        tracing::warn!(%error, filter = %config.log, "--log is not a valid filter; logging at info");
    }
    if telemetry.is_on() {
        tracing::info!("exporting traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)");
    }
    Ok(telemetry)
}
