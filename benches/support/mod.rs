//! What the benchmarks share: the gateway binary as a child process, and
//! reading its memory from /proc.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use trade_graph::sample::SAMPLE_KEY;

/// A running gateway process; killed and reaped when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// The gateway binary's command, listening on `port`, logging warnings
    /// only, its output discarded; the caller adds its settings.
    pub fn command(port: u16) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trade-graph"));
        command
            .env("TRADE_GRAPH_LISTEN", format!("127.0.0.1:{port}"))
            .env("TRADE_GRAPH_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Points every source of `command` at the simulator at `base_url`
    /// (live mode, with the simulator's key).
    pub fn live_against(command: &mut Command, base_url: &str) {
        for source in ["GTA", "COMTRADE", "ITA"] {
            command
                .env(format!("TRADE_GRAPH_{source}_URL"), base_url)
                .env(format!("TRADE_GRAPH_{source}_KEY"), SAMPLE_KEY);
        }
    }

    /// Starts `command` (from [`Server::command`] with the same `port`) and
    /// returns once it accepts connections (panics after 10 s).
    pub fn start(mut command: Command, port: u16) -> Self {
        let child = command.spawn().expect("the trade-graph binary starts");
        // Owned by `Server` at once, so that it is killed and reaped on any exit.
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not start");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A line of `/proc/<pid>/status` (e.g. `VmHWM`), in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Peak resident set size of `pid`, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

/// Resident set size of `pid` now, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// CPU time `pid` has used (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) end with ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}
