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

/// Reads JSON log lines from `lines` until one satisfies `wanted`.
fn next_json_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for line in lines.by_ref() {
        let line = line.expect("a log line");
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if wanted(&value) {
            return value;
        }
    }
    panic!("the log ended before the line looked for");
}

/// One access line per request at info, carrying the request's context
/// (its id, taken from the client's X-Request-Id and sent back, the
/// operation's name from its document, the client, the upstream requests
/// it cost); a setting no flag reads is warned about by name.
#[test]
fn each_request_is_logged_once_with_its_context() {
    use std::io::{Read, Write};
    let child = Command::new(env!("CARGO_BIN_EXE_trade-graph"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--response-cache-max-mb", "16"])
        .env_remove("TRADE_GRAPH_LOG")
        .env("TRADE_GRAPH_GTA_KYE", "oops")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut child = ChildProcess(child);
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let warning = next_json_line(&mut lines, |line| line["level"] == "WARN");
    assert_eq!(
        warning["fields"]["message"],
        "TRADE_GRAPH_GTA_KYE is set but no setting reads it: did you mean TRADE_GRAPH_GTA_KEY?"
    );
    let listening = next_json_line(&mut lines, |line| {
        line["fields"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("listening on http://"))
    });
    let message = listening["fields"]["message"].as_str().unwrap();
    let address = message
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();

    // No operationName: the name comes from the document.
    let body = r#"{"query":"query CountryPage { jurisdiction(iso3: \"BRA\") { name interventionsAffecting(limit: 1) { totalCount } } }"}"#;
    let post = |id: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /graphql HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\nx-request-id: {id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(&format!("x-request-id: {id}")), "{answer}");
        answer
    };
    post("trace-me-42");

    let access = next_json_line(&mut lines, |line| line["target"] == "trade_graph::access");
    assert_eq!(access["level"], "INFO", "{access}");
    assert_eq!(access["fields"]["status"], 200, "{access}");
    assert!(access["fields"]["duration_ms"].as_f64().unwrap() > 0.0);
    let span = &access["span"];
    assert_eq!(span["name"], "request", "{access}");
    assert_eq!(span["id"], "trace-me-42");
    assert_eq!(span["method"], "POST");
    assert_eq!(span["path"], "/graphql");
    assert_eq!(span["operation_name"], "CountryPage");
    assert_eq!(span["client"], "127.0.0.1");
    assert_eq!(span["upstream_requests"], 1, "{access}");

    // The same operation again is answered by the whole-response cache
    // (nothing parsed): its line still names the operation and the client.
    let answer = post("trace-me-43");
    assert!(
        answer.contains(r#""responseCache":{"hit":true"#),
        "{answer}"
    );
    let access = next_json_line(&mut lines, |line| line["target"] == "trade_graph::access");
    let span = &access["span"];
    assert_eq!(span["id"], "trace-me-43", "{access}");
    assert_eq!(span["operation_name"], "CountryPage", "{access}");
    assert_eq!(span["client"], "127.0.0.1", "{access}");
    assert_eq!(span["upstream_requests"], 0, "{access}");
}

/// A key with a line break inside, from the environment as from a flag, stops
/// the binary at start-up with a message naming the variable, and nothing
/// of the key is printed.
#[test]
fn a_key_with_a_line_break_is_refused_at_start_up_without_echoing_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_trade-graph"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--gta-url",
            "https://gta.example",
        ])
        .env_remove("TRADE_GRAPH_LOG")
        .env("TRADE_GRAPH_GTA_KEY", "firstHalfOfKey\nsecondHalfOfKey")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stderr.contains("TRADE_GRAPH_GTA_KEY"), "{stderr}");
    assert!(stderr.contains("line break"), "{stderr}");
    for shown in [&stderr, &stdout] {
        assert!(
            !shown.contains("firstHalf") && !shown.contains("secondHalf"),
            "{shown}"
        );
    }
}
