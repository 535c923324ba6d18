//! Replicas deciding admission together through Redis (`--redis-url`):
//! three replicas in front of one Comtrade stub keep its rate (one request
//! per interval, all replicas together) and one budget between them; with
//! Redis stopped each keeps to its local share, and when Redis returns they
//! share again and the shared window counts what they sent alone.
//!
//! Needs `redis-server` (Debian's package; `.ci/run` installs it), hence
//! ignored by `cargo test`:
//!
//!     cargo test --test shared_admission -- --ignored
//!
//! These run on the real clock on purpose: what they check is the spacing
//! of requests as the upstream receives them, from three replicas whose only
//! common clock is Redis's. The assertions are safety properties (never two
//! requests within the interval, never more than the budget), which a slow
//! machine can only make easier to keep.

mod common;

use std::time::{Duration, Instant};

use common::{error_codes, free_port, upstream_requests, Redis, TestGateway};
use trade_graph::sample::{ComtradeRules, Fault, Simulator, SimulatorOptions};
use trade_graph::sources::Source;

const REPORTERS: [&str; 12] = [
    "BRA", "IND", "ZAF", "DEU", "FRA", "JPN", "KOR", "MEX", "CAN", "AUS", "CHN", "USA",
];

/// A flows query needing one Comtrade request of its own: the `n`th of a
/// sequence that never repeats (no answer comes from a cache).
fn unique_flows(n: usize) -> String {
    let reporter = REPORTERS[n % REPORTERS.len()];
    let year = 1990 + n / REPORTERS.len();
    format!(
        r#"{{ tradeFlows(reporters: ["{reporter}"], periods: ["{year}"], flow: EXPORT) {{ value }} }}"#
    )
}

/// A Comtrade stub enforcing one request per `interval`.
async fn comtrade_stub(interval: Duration) -> Simulator {
    Simulator::start(SimulatorOptions {
        comtrade: ComtradeRules {
            interval,
            ..ComtradeRules::default()
        },
        ..SimulatorOptions::default()
    })
    .await
    .expect("stub starts")
}

/// Three replicas sharing `redis_url`, all sending Comtrade requests to
/// `stub`, with Comtrade's `interval` and `budget`.
async fn replicas(
    redis_url: &str,
    stub: &Simulator,
    interval: &str,
    budget: &str,
) -> Vec<TestGateway> {
    let stub_url = stub.base_url();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(
            TestGateway::start_with(&[
                "--readiness-redis",
                "required",
                "--redis-url",
                redis_url,
                "--replicas",
                "3",
                "--comtrade-url",
                &stub_url,
                "--comtrade-interval",
                interval,
                "--comtrade-budget",
                budget,
                // Every test client is 127.0.0.1: one client, all the budget.
                "--client-share",
                "1",
            ])
            .await,
        );
    }
    replicas
}

/// Comtrade requests a replica sent, from its /metrics.
async fn sent_by(replica: &TestGateway) -> u64 {
    let metrics = replica.get_text("/metrics").await;
    metrics
        .lines()
        .find(|line| line.starts_with(r#"trade_graph_upstream_requests_total{source="comtrade"}"#))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |count| count.parse().expect("a count"))
}

/// Comtrade data requests the stub received, in order of arrival.
fn arrivals(stub: &Simulator) -> Vec<Instant> {
    stub.recorded_requests(Source::Comtrade)
        .iter()
        .map(|request| request.received)
        .collect()
}

/// Every replica runs `per_replica` loops of never-repeating flows queries
/// until `until`; returns the error codes seen.
async fn load(replicas: &[TestGateway], per_replica: usize, until: Instant) -> Vec<String> {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let runs = replicas.iter().flat_map(|replica| {
        let counter = counter.clone();
        (0..per_replica).map(move |_| {
            let counter = counter.clone();
            async move {
                let mut codes = Vec::new();
                while Instant::now() < until {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let answer = replica.query(&unique_flows(n)).await;
                    let errors = error_codes(&answer);
                    if !errors.is_empty() {
                        // Refused: do not spin on the gateway.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    codes.extend(errors);
                }
                codes
            }
        })
    });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect()
}

// Several threads, as in pacing_holds_while_redis_flaps: on one, a busy
// machine delays the replicas' Redis calls past their bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn three_replicas_keep_comtrade_rate_and_budget_together() {
    let port = free_port();
    let _redis = Redis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    // The replicas pace at a second; the stub refuses anything within half
    // of it, and that is the gap checked: a send that wakes late on a busy
    // machine narrows one gap by its lateness (66 ms was seen at load 8),
    // while two replicas in one turn would be milliseconds apart.
    let interval = Duration::from_millis(500);
    let stub = comtrade_stub(interval).await;
    let replicas = replicas(&url, &stub, "1s", "12").await;

    // 20 s of concurrent operations, three at a time on each replica.
    let codes = load(&replicas, 3, Instant::now() + Duration::from_secs(20)).await;

    let arrived = arrivals(&stub);
    assert!(
        arrived.len() <= 12,
        "together within the budget of 12: {}",
        arrived.len()
    );
    assert!(
        arrived.len() >= 10,
        "20 s at one a second: the budget, not the rate, was the limit ({} sent)",
        arrived.len()
    );
    for pair in arrived.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= interval,
            "two requests {gap:?} apart: the replicas broke the one-a-second rule (by more than a late wake-up)"
        );
    }
    assert!(
        codes.iter().all(|code| code == "UPSTREAM_BUDGET_EXHAUSTED"),
        "only budget refusals, no rate-limit answers from the stub: {codes:?}"
    );
    assert!(codes.iter().any(|code| code == "UPSTREAM_BUDGET_EXHAUSTED"));
    let mut per_replica = Vec::new();
    for replica in &replicas {
        per_replica.push(sent_by(replica).await);
        assert!(replica
            .get_text("/healthz")
            .await
            .contains(r#""comtrade":"shared""#));
    }
    assert_eq!(
        per_replica.iter().sum::<u64>(),
        arrived.len() as u64,
        "{per_replica:?}"
    );
    assert!(
        per_replica.iter().filter(|&&sent| sent > 0).count() >= 2,
        "more than one replica sent: {per_replica:?}"
    );

    // What one replica fetched is a cache hit on another, budget or not.
    let fetched = replicas[0].query(&unique_flows(0)).await;
    let again = replicas[2].query(&unique_flows(0)).await;
    assert!(again.get("errors").is_none(), "{again}");
    assert_eq!(upstream_requests(&again, "comtrade"), 0, "{again}");
    assert_eq!(again["data"], fetched["data"]);
    assert_eq!(arrivals(&stub).len(), arrived.len());
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn without_redis_replicas_keep_to_local_shares_and_report_back() {
    let port = free_port();
    let redis = Redis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    let stub = comtrade_stub(Duration::from_millis(500)).await;
    // Budget 15 for three: a local share of 5 each.
    let replicas = replicas(&url, &stub, "500ms", "15").await;

    // Shared: the first replica spends 3.
    for n in 0..3 {
        let answer = replicas[0].query(&unique_flows(n)).await;
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let before = [
        sent_by(&replicas[0]).await,
        sent_by(&replicas[1]).await,
        sent_by(&replicas[2]).await,
    ];
    assert_eq!(before, [3, 0, 0]);

    // Redis stops: each replica keeps to its share, less what it sent.
    drop(redis);
    let codes = load(&replicas, 2, Instant::now() + Duration::from_secs(8)).await;
    assert!(
        codes.iter().any(|code| code == "UPSTREAM_BUDGET_EXHAUSTED"),
        "the local shares ran out: {codes:?}"
    );
    let mut alone = Vec::new();
    for (replica, before) in replicas.iter().zip(before) {
        let sent = sent_by(replica).await;
        assert!(
            sent <= 5,
            "a replica keeps to its local share of 5: sent {sent}"
        );
        alone.push(sent - before);
        let health = replica.get_text("/healthz").await;
        assert!(health.contains("local share"), "{health}");
        let ready = replica.get_text("/readyz").await;
        assert!(ready.contains("not ready"), "{ready}");
        assert!(replica
            .get_text("/metrics")
            .await
            .contains(r#"trade_graph_upstream_admission_shared{source="comtrade"} 0"#));
    }
    let total = arrivals(&stub).len();
    assert!(total <= 15, "together within the budget: {total}");

    // Redis returns (empty): the replicas share again, and the shared
    // window counts what each sent alone.
    let _redis = Redis::start(port).await;
    let mut n = 1000;
    for replica in &replicas {
        let mut last = None;
        for _ in 0..50 {
            n += 1;
            let answer = replica.query(&unique_flows(n)).await;
            let health = replica.get_text("/healthz").await;
            let ready = replica.get_text("/readyz").await;
            if answer.get("errors").is_none()
                && health.contains(r#""comtrade":"shared""#)
                && ready.contains(r#""status":"ready""#)
            {
                last = None;
                break;
            }
            last = Some((answer, health));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            last.is_none(),
            "sharing resumed after Redis came back: {last:?}"
        );
    }
    for replica in &replicas {
        assert!(replica
            .get_text("/metrics")
            .await
            .contains("trade_graph_redis_up 1"));
    }
    // Refunds of places not used are given back in the background: wait
    // for the count to settle on what was sent (a minute only keeps a
    // regression from hanging the run; it was a fixed 300 ms).
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let sent_since_redis_stopped = arrivals(&stub).len() as u64 - 3;
    let mut counted = 0u64;
    for _ in 0..6_000 {
        counted = redis::cmd("ZCARD")
            .arg("trade-graph:v1:admission:comtrade:window")
            .query_async(&mut connection)
            .await
            .unwrap();
        if counted == sent_since_redis_stopped {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        counted, sent_since_redis_stopped,
        "the shared window counts what the replicas sent alone ({alone:?}) and since"
    );
}

/// A replica whose Redis is not there yet starts anyway, on its local
/// share, and says so; this one needs no Redis, so `cargo test` runs it.
#[tokio::test]
async fn a_replica_starts_without_redis_on_its_local_share() {
    let nothing_there = format!("redis://127.0.0.1:{}/0", free_port());
    let gateway = TestGateway::start_with(&[
        "--redis-url",
        &nothing_there,
        "--replicas",
        "4",
        "--readiness-redis",
        "required",
    ])
    .await;
    let answer = gateway.query(&unique_flows(0)).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(upstream_requests(&answer, "comtrade"), 1);
    let health: serde_json::Value =
        serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(
        health["admission"]["comtrade"],
        "local share: Redis unavailable, 1/4 of the budget and pacing"
    );
    assert!(health["redis"]
        .as_str()
        .is_some_and(|redis| redis.starts_with("unavailable")));
    // The URL (it may hold a password) is in neither.
    assert!(!health.to_string().contains(&nothing_there));
    // Alive, but not ready: a load balancer sends its traffic to replicas
    // that share the budgets.
    let ready = gateway
        .http()
        .get(format!("{}/readyz", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["reasons"][0], "Redis (--redis-url) is unreachable");
    assert!(gateway
        .get_text("/metrics")
        .await
        .contains("trade_graph_redis_up 0"));

    // By default a replica without Redis stays in rotation (losing Redis
    // must not take every replica out at once), and says why it is degraded.
    let default =
        TestGateway::start_with(&["--redis-url", &nothing_there, "--replicas", "4"]).await;
    let ready = default
        .http()
        .get(format!("{}/readyz", default.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(ready["degraded"][0]
        .as_str()
        .is_some_and(|why| why.starts_with("Redis (--redis-url) is unreachable")));
    assert!(!ready.to_string().contains(&nothing_there));
}

/// A `--redis-url` that is not a Redis URL is refused when the flags are
/// read, naming the scheme and what is expected, without repeating it (it
/// may hold a password).
#[tokio::test]
async fn a_redis_url_that_is_not_one_is_refused_at_start_up() {
    use clap::Parser;
    for url in [
        "http://secret-password@redis:6379",
        "rediss://:secret-password@redis:6379",
        "secret-password",
    ] {
        let error =
            trade_graph::config::Config::try_parse_from(["trade-graph", "--redis-url", url])
                .expect_err("refused")
                .to_string();
        assert!(error.contains("expected redis://"), "{error}");
        assert!(!error.contains("secret-password"), "{error}");
    }
}

/// Waits until `/readyz` answers `status` (the link's probe runs every two
/// seconds; bounded so that a broken probe fails rather than hangs).
async fn ready_becomes(gateway: &TestGateway, status: u16) {
    for _ in 0..300 {
        let response = gateway
            .http()
            .get(format!("{}/readyz", gateway.url))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {status}");
}

/// An idle replica notices Redis going away and coming back by itself (no
/// request needed), and a Redis that wants a password this replica does not
/// give is not "up": found by an attack, which saw both reported healthy.
#[tokio::test]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn redis_health_is_known_without_traffic_and_a_refusal_is_not_health() {
    let port = free_port();
    let redis = Redis::start(port).await;
    let gateway = TestGateway::start_with(&[
        "--readiness-redis",
        "required",
        "--redis-url",
        &format!("redis://127.0.0.1:{port}/0"),
    ])
    .await;
    ready_becomes(&gateway, 200).await;
    drop(redis);
    ready_becomes(&gateway, 503).await;
    assert!(gateway
        .get_text("/metrics")
        .await
        .contains("trade_graph_redis_up 0"));
    let _redis = Redis::start(port).await;
    ready_becomes(&gateway, 200).await;
    assert!(gateway
        .get_text("/metrics")
        .await
        .contains("trade_graph_redis_up 1"));

    let guarded = free_port();
    let _guarded = Redis::start_with(guarded, &["--requirepass", "s3cret"]).await;
    let without_password = TestGateway::start_with(&[
        "--readiness-redis",
        "required",
        "--redis-url",
        &format!("redis://127.0.0.1:{guarded}/0"),
    ])
    .await;
    let answer = without_password.query(&unique_flows(7)).await;
    assert!(
        answer.get("errors").is_none(),
        "answers on its own: {answer}"
    );
    ready_becomes(&without_password, 503).await;
    assert!(without_password
        .get_text("/metrics")
        .await
        .contains("trade_graph_redis_up 0"));
    let with_password = TestGateway::start_with(&[
        "--readiness-redis",
        "required",
        "--redis-url",
        &format!("redis://:s3cret@127.0.0.1:{guarded}/0"),
    ])
    .await;
    ready_becomes(&with_password, 200).await;
}

/// A `Retry-After` one replica is told holds the source on every replica
/// from the moment it is answered: the others send nothing into the
/// refusal, not even before their next poll of Redis.
#[tokio::test]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn a_retry_after_holds_the_source_on_every_replica() {
    let port = free_port();
    let _redis = Redis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    let stub = Simulator::start(SimulatorOptions::default())
        .await
        .expect("stub starts");
    let stub_url = stub.base_url();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        replicas.push(
            TestGateway::start_with(&[
                "--redis-url",
                &url,
                "--replicas",
                "2",
                "--gta-url",
                &stub_url,
            ])
            .await,
        );
    }
    stub.inject_fault(
        Source::Gta,
        Fault::RetryAfter {
            status: 429,
            seconds: 30,
        },
    );
    let query = |iso3: &str| {
        format!(
            r#"{{ jurisdiction(iso3: "{iso3}") {{ interventionsAffecting(limit: 2) {{ totalCount }} }} }}"#
        )
    };
    let first = replicas[0].query(&query("BRA")).await;
    assert_eq!(error_codes(&first), ["UPSTREAM_RATE_LIMITED"], "{first}");
    stub.clear_fault(Source::Gta);
    let sent = stub.recorded_requests(Source::Gta).len();
    assert_eq!(sent, 1, "one request, not retried past its wait");

    // At once, with no wait for a poll: the replica that was told wrote
    // the hold before it answered, and the other reads it before sending
    // (issue 22's fourth attack: each replica sent its own request for
    // 100 ms after the first answer).
    for iso3 in ["IND", "ZAF"] {
        let response = replicas[1].query(&query(iso3)).await;
        assert_eq!(
            error_codes(&response),
            ["UPSTREAM_RATE_LIMITED"],
            "{response}"
        );
        let wait = response["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{response}"));
        assert!((25..=30).contains(&wait), "{response}");
        assert_eq!(upstream_requests(&response, "gta"), 0, "{response}");
    }
    assert_eq!(
        stub.recorded_requests(Source::Gta).len(),
        sent,
        "nothing sent by either replica while held"
    );
}

/// What the seeded scheduler does to Redis next.
#[derive(Debug, Clone, Copy)]
enum RedisFault {
    /// SIGKILL: connections reset, data gone.
    Kill,
    /// A new server on the same port, empty.
    Restart,
    /// SIGSTOP: connections open, nothing answers.
    Freeze,
    /// SIGCONT.
    Thaw,
}

/// The pacing rule across Redis loss, stall and return: three replicas
/// under steady load while a seeded scheduler kills, restarts, freezes and
/// thaws their Redis at random moments. Whatever the mode each replica is
/// in (shared, alone, or between), the stub never receives two requests
/// within its interval. The seeds are fixed so that CI is repeatable; set
/// `TRADE_GRAPH_FLAP_SEEDS=1,2,3` to explore others, and keep any seed
/// that finds something here.
// Several threads: three replicas share this test's runtime, and on one
// thread a busy machine delays their Redis calls past their 250 ms bound
// (each replica has its own process in production).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn pacing_holds_while_redis_flaps() {
    let seeds: Vec<u64> = std::env::var("TRADE_GRAPH_FLAP_SEEDS")
        .ok()
        .map(|seeds| {
            seeds
                .split(',')
                .map(|seed| seed.trim().parse().expect("seeds are numbers"))
                .collect()
        })
        // 7 found local turns colliding with shared slots handed out
        // behind a replica's back (before cells had owners); 4 found
        // indexes reshuffled when Redis restarted empty, under turns
        // already taken; 42 the first run's other seed.
        .unwrap_or_else(|| vec![7, 4, 42]);
    for seed in seeds {
        flap_run(seed).await;
    }
}

async fn flap_run(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let port = free_port();
    let mut redis = Some(Redis::start(port).await);
    let mut frozen = false;
    let url = format!("redis://127.0.0.1:{port}/0");
    // The stub refuses anything within 450 ms of the last request; the
    // replicas pace at 600 ms. A request goes out within the slack (20 ms)
    // of its turn or leaves it, so the 150 ms between is only for the send
    // itself on a busy machine; a request made late for its turn by a
    // Redis call (a frozen Redis answers nothing for 250 ms, which once
    // came between a turn and its send: 0.77 s at a 1 s interval) would
    // fall within it, as would two replicas sending in the same turn.
    let stub_interval = Duration::from_millis(450);
    let stub = comtrade_stub(stub_interval).await;
    let replicas = replicas(&url, &stub, "600ms", "100000").await;

    let until = Instant::now() + Duration::from_secs(16);
    let faults_applied = async {
        let mut faults = Vec::new();
        while Instant::now() + Duration::from_secs(1) < until {
            tokio::time::sleep(Duration::from_millis(rng.u64(700..2_500))).await;
            let fault = match (&redis, frozen, rng.u8(0..2)) {
                (None, _, _) => RedisFault::Restart,
                (Some(_), _, 0) => RedisFault::Kill,
                (Some(_), true, _) => RedisFault::Thaw,
                (Some(_), false, _) => RedisFault::Freeze,
            };
            match fault {
                RedisFault::Kill => {
                    redis = None;
                    frozen = false;
                }
                RedisFault::Restart => redis = Some(Redis::start(port).await),
                RedisFault::Freeze => {
                    redis.as_ref().expect("running").pause();
                    frozen = true;
                }
                RedisFault::Thaw => {
                    redis.as_ref().expect("running").resume();
                    frozen = false;
                }
            }
            faults.push(fault);
        }
        faults
    };
    let (codes, faults) = tokio::join!(load(&replicas, 2, until), faults_applied);
    if frozen {
        redis.as_ref().expect("running").resume();
    }

    let arrived = arrivals(&stub);
    println!(
        "seed {seed}: faults {faults:?}; {} requests sent; refusals {:?}",
        arrived.len(),
        codes
    );
    for pair in arrived.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= stub_interval,
            "seed {seed}: two requests {gap:?} apart after faults {faults:?}"
        );
    }
    assert!(
        arrived.len() >= 8,
        "seed {seed}: the replicas kept sending through the faults: {} requests, refusals {codes:?}",
        arrived.len()
    );
    assert!(
        faults.len() >= 4,
        "seed {seed}: Redis was flapped: {faults:?}"
    );
}
