//! The trade-graph binary: parse configuration, set up logging, bind, serve.

use mimalloc::MiMalloc;
use trade_graph::memory::Counting;

use trade_graph::config::Config;
use trade_graph::server;

/// mimalloc rather than glibc's malloc: under many connections glibc's
/// arena locks showed up as the top cost in `perf` (futex waits in
/// `_int_malloc`/`_int_free`), and its per-thread arenas inflate peak RSS.
/// Wrapped to weigh cache entries by what they hold (`trade_graph::memory`).
#[global_allocator]
static ALLOCATOR: Counting<MiMalloc> = Counting(MiMalloc);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ALLOCATOR.installed();
    let (config, warnings) = Config::load();
    let telemetry = match trade_graph::logging::init(&config) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let listener = match tokio::net::TcpListener::bind(config.listen.as_str()).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(listen = %config.listen, %error, "cannot bind the listen address");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = server::run(listener, &config, server::shutdown_signal()).await;
    // The exporter's flush blocks on its own thread's HTTP client.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "trade-graph stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
