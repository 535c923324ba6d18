//! The binary's logs: plain text without colour codes when they do not go
//! to a terminal, or JSON lines with `--log-format json`; `--log` sets the
//! filter (and `TRADE_GRAPH_LOG`, as `--help` says).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::ChildProcess;

/// The first line the binary logs when started with `args`.
fn first_log_line(args: &[&str]) -> String {
    let child = Command::new(env!("CARGO_BIN_EXE_trade-graph"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("TRADE_GRAPH_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut child = ChildProcess(child);
    let stderr = child.0.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    line
}

#[test]
fn logs_are_plain_off_a_terminal_and_json_on_request() {
    let plain = first_log_line(&[]);
    assert!(plain.contains("INFO"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "no colour codes in a pipe: {plain:?}"
    );

    let json = first_log_line(&["--log-format", "json"]);
    let line: serde_json::Value = serde_json::from_str(&json).expect("a JSON line");
    assert_eq!(line["level"], "INFO", "{line}");
    assert!(line["fields"]["message"].is_string(), "{line}");
}

#[test]
fn help_names_every_setting_with_its_environment_variable() {
    let help = Command::new(env!("CARGO_BIN_EXE_trade-graph"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for variable in [
        "[env: TRADE_GRAPH_LOG=",
        "[env: TRADE_GRAPH_LOG_FORMAT=",
        "[env: TRADE_GRAPH_LISTEN=",
    ] {
        assert!(help.contains(variable), "--help lacks {variable}");
    }
}
