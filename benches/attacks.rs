//! The hostile requests of issue 9 against the release binary in sample mode
//! (default settings, as `cargo run --release`): for each, a fresh gateway,
//! the attack, and what it cost the gateway: its peak RSS, the CPU time it
//! spent, the answer's code and time, and whether `/healthz` still answers.
//! The fragment bomb is also sent 200 times to measure the CPU time of one
//! refusal.
//!
//! Run: `cargo bench --bench attacks`. Prints Markdown for BENCHMARKS.md.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use support::{cpu_seconds, free_port, open_fds, peak_rss_mib, rss_mib, Server};

fn start(extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut command = Server::command(port);
    for (name, value) in extra {
        command.env(name, value);
    }
    Server::start(command, port)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// POSTs `body` (JSON text); the answer's first error code (or "data") and
/// how long it took.
fn post(url: &str, body: String) -> (String, Duration) {
    runtime().block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let started = Instant::now();
        let outcome = client
            .post(format!("{url}/graphql"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let code = match outcome {
            Err(error) => format!("no answer ({error})"),
            Ok(response) => {
                let status = response.status();
                let json: serde_json::Value = response.json().await.unwrap_or_default();
                json["errors"][0]["extensions"]["code"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP {status}, data"))
            }
        };
        (code, started.elapsed())
    })
}

fn query(text: &str) -> String {
    serde_json::json!({ "query": text }).to_string()
}

fn healthy(url: &str) -> bool {
    runtime().block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
}

fn fragment_bomb(levels: usize) -> String {
    let mut bomb = String::from("query Bomb { ...F0 }\n");
    for level in 0..levels {
        bomb.push_str(&format!(
            "fragment F{level} on Query {{ ...F{next} ...F{next} }}\n",
            next = level + 1
        ));
    }
    bomb.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    bomb
}

fn nested_pages(levels: usize) -> String {
    let mut inner = String::from("totalCount");
    for _ in 0..levels {
        inner = format!(
            "items {{ implementingJurisdictions {{ interventionsImplemented(limit: 20) {{ {inner} }} }} }}"
        );
    }
    format!("{{ interventions(limit: 20) {{ {inner} }} }}")
}

fn main() {
    let attacks: Vec<(&str, String)> = vec![
        (
            "1,600 nested lists in a directive (3.2 KB)",
            query(&format!(
                "{{ __typename @include(if: {}true{}) }}",
                "[".repeat(1600),
                "]".repeat(1600)
            )),
        ),
        (
            "nested pages and jurisdictions (283 bytes)",
            query(&nested_pages(3)),
        ),
        ("one level deeper (358 bytes)", query(&nested_pages(4))),
        (
            "fragment bomb, 2^30 fields (1.2 KB)",
            query(&fragment_bomb(30)),
        ),
        (
            "every jurisdiction's page (61 bytes)",
            query("{ jurisdictions { interventionsAffecting(limit: 50) { totalCount } } }"),
        ),
        (
            "3,999 aliases with different offsets",
            query(&format!(
                "{{ {} }}",
                (1..4000)
                    .map(|offset| format!(
                        "a{offset}: interventions(offset: {offset}) {{ totalCount }} "
                    ))
                    .collect::<String>()
            )),
        ),
        (
            "a 250 KB document of whitespace",
            query(&format!("{{ __typename }}{}", " ".repeat(250 * 1024))),
        ),
        // Not attacks: what the defaults let through at their largest.
        (
            "allowed: 4,000 interventions with their affected jurisdictions (cost 948,001)",
            query("{ interventions(limit: 4000) { items { id title affectedJurisdictions { iso3 } } } }"),
        ),
        (
            "allowed: the README's imports from every partner by HS chapter (cost 424,275)",
            query(r#"{ tradeFlows(reporters: ["BRA", "IND"], partners: ["all"], periods: ["2020"], commodities: ["27", "AG2"], flow: IMPORT) { reporter { iso3 } partner { iso3 } commodityCode commodity value } }"#),
        ),
    ];

    println!("## Hostile requests (release binary, sample mode, default settings)\n");
    println!("| attack | answer | time | gateway CPU | RSS before | peak RSS | /healthz after |");
    println!("|---|---|---|---|---|---|---|");
    for (name, body) in attacks {
        let server = start(&[]);
        let pid = server.child.id();
        std::thread::sleep(Duration::from_millis(300));
        let before = rss_mib(pid);
        let cpu_before = cpu_seconds(pid);
        let (code, took) = post(&server.url, body);
        let cpu = cpu_seconds(pid) - cpu_before;
        let peak = peak_rss_mib(pid);
        let health = if healthy(&server.url) { "yes" } else { "NO" };
        println!(
            "| {name} | `{code}` | {:.1} ms | {:.0} ms | {before:.1} MiB | {peak:.1} MiB | {health} |",
            took.as_secs_f64() * 1000.0,
            cpu * 1000.0
        );
        std::io::stdout().flush().unwrap();
    }

    // The CPU time of one fragment-bomb refusal, over 200 of them.
    let server = start(&[]);
    let pid = server.child.id();
    let bomb = query(&fragment_bomb(30));
    post(&server.url, bomb.clone());
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    for _ in 0..200 {
        post(&server.url, bomb.clone());
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    println!(
        "\nFragment bomb (30 levels, 2^30 fields): 200 refusals took {:.0} ms of gateway CPU ({:.2} ms each; 10 ms clock ticks), {:.0} ms wall.",
        cpu * 1000.0,
        cpu * 1000.0 / 200.0,
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Connections whose headers never finish, with a 2 s header timeout.
    let server = start(&[("TRADE_GRAPH_HEADER_READ_TIMEOUT", "2s")]);
    let pid = server.child.id();
    let address = server.url.trim_start_matches("http://").to_owned();
    let fds_before = open_fds(pid);
    let mut held = Vec::new();
    for _ in 0..2000 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            let _ = stream.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Ty");
            held.push(stream);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let fds_held = open_fds(pid);
    std::thread::sleep(Duration::from_secs(4));
    let fds_after = open_fds(pid);
    // Closed by the server: end of stream, an answer (408) or a reset;
    // still open: the read times out.
    let closed = held
        .iter_mut()
        .map(|stream| {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
            let mut buffer = [0u8; 256];
            match stream.read(&mut buffer).map(|_bytes| ()) {
                Ok(_) => true,
                Err(error) => !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            }
        })
        .filter(|closed| *closed)
        .count();
    println!(
        "\nUnfinished headers: {} connections held {fds_held} descriptors ({fds_before} before); 4 s later (header timeout 2 s) {fds_after}, and {closed} of them were closed or answered by the server; /healthz answers: {}; peak RSS {:.1} MiB.",
        held.len(),
        if healthy(&server.url) { "yes" } else { "no" },
        peak_rss_mib(pid)
    );
}
