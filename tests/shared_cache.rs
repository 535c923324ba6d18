//! Replicas sharing the response cache through Redis (`--redis-url`): an
//! answer one replica fetched is a cache hit on another; with Redis stopped
//! each replica answers on its own and says so in /healthz; when Redis
//! returns, sharing resumes. Needs `redis-server` (Debian's package; `.ci/run`
//! installs it), hence ignored by `cargo test`:
//!
//!     cargo test --test shared_cache -- --ignored

mod common;

use std::time::Duration;

use common::{free_port, until_redis_holds, upstream_requests, Redis, TestGateway};

const FLOWS: &str =
    r#"{ tradeFlows(reporters: ["BRA"], periods: ["2021"], flow: EXPORT) { value } }"#;

#[tokio::test]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn replicas_share_answers_and_survive_redis_going_away() {
    let port = free_port();
    let redis = Redis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    // Two replicas, and they say so: a replica Redis finds beyond
    // --replicas has no pacing turns of its own while Redis is away.
    let first = TestGateway::start_with(&["--redis-url", &url, "--replicas", "2"]).await;
    let second = TestGateway::start_with(&["--redis-url", &url, "--replicas", "2"]).await;

    let fetched = first.query(FLOWS).await;
    assert!(fetched.get("errors").is_none(), "{fetched}");
    assert_eq!(upstream_requests(&fetched, "comtrade"), 1);
    // The first replica stores in the background: wait until it is there
    // (asking the second replica before would have it fetch for itself).
    until_redis_holds(&url, "trade-graph:v2:comtrade:*", |_| true).await;
    let shared = second.query(FLOWS).await;
    assert_eq!(upstream_requests(&shared, "comtrade"), 0, "{shared}");
    assert_eq!(shared["extensions"]["upstream"]["comtrade"]["cacheHits"], 1);
    assert_eq!(shared["data"], fetched["data"], "the same answer");
    assert_eq!(
        second.comtrade_requests(),
        0,
        "the second replica's upstream was not asked"
    );
    assert!(second
        .get_text("/healthz")
        .await
        .contains(r#""redis":"shared""#));

    // Redis goes away: the replica answers on its own, and says so.
    drop(redis);
    let alone = second
        .query(r#"{ tradeFlows(reporters: ["IND"], periods: ["2021"], flow: EXPORT) { value } }"#)
        .await;
    assert!(alone.get("errors").is_none(), "{alone}");
    assert_eq!(upstream_requests(&alone, "comtrade"), 1);
    assert!(second.get_text("/healthz").await.contains("unavailable"));

    // Redis returns (empty): sharing resumes.
    let _redis = Redis::start(port).await;
    let mut resumed = false;
    // Replicas without Redis try to connect again every second.
    for year in 1980..2020 {
        let query = format!(
            r#"{{ tradeFlows(reporters: ["ZAF"], periods: ["{year}"], flow: EXPORT) {{ value }} }}"#
        );
        let answer = first.query(&query).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = second.query(&query).await;
        if upstream_requests(&again, "comtrade") == 0 {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "sharing resumed after Redis came back");
    assert!(second
        .get_text("/healthz")
        .await
        .contains(r#""redis":"shared""#));
}

/// The whole-response cache's second level: a response one replica ran is
/// a hit on another (after its own document guard passed), which asks no
/// upstream; news one replica's subscription poll sees makes the shared
/// entries built from that source a miss for every replica.
#[tokio::test]
#[ignore = "needs redis-server; .ci/run installs and runs it"]
async fn replicas_share_whole_responses() {
    let port = free_port();
    let _redis = Redis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/0");
    let flags = ["--redis-url", &url, "--response-cache-max-mb", "16"];
    let first = TestGateway::start_with(&flags).await;
    let second = TestGateway::start_with(&flags).await;

    let ran = first.query(FLOWS).await;
    assert!(ran.get("errors").is_none(), "{ran}");
    assert!(ran["extensions"]["upstream"]["responseCache"].is_null());
    // The first replica stores in the background: wait until it is there
    // (news keys share the prefix; they are not a response).
    until_redis_holds(&url, "trade-graph:response:v1:*", |key| {
        !key.contains(":news:")
    })
    .await;
    let shared = second.query(FLOWS).await;
    let cached = &shared["extensions"]["upstream"]["responseCache"];
    assert_eq!(cached["hit"], true, "{shared}");
    assert_eq!(cached["original"], ran["extensions"]["upstream"]);
    assert_eq!(shared["data"], ran["data"]);
    assert_eq!(
        second.comtrade_requests(),
        0,
        "the second replica asked nobody"
    );
    assert_eq!(upstream_requests(&shared, "comtrade"), 0);

    // A document the second replica's guard refuses is refused, whatever
    // Redis holds: the guard runs before the shared level is asked.
    let deep = format!(
        "{{ {}__typename{} }}",
        "jurisdiction(iso3: \"BRA\") { ".repeat(40),
        " }".repeat(40)
    );
    let refused = second.query(&deep).await;
    assert!(refused.get("errors").is_some(), "{refused}");
}
