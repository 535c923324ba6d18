//! The whole-response cache and HTTP caching (issue 24), end to end: a
//! repeated operation is answered from its first answer's bytes without
//! asking any upstream; a response with errors is never kept; news from a
//! subscription poll drops what was built from its source; GET answers
//! carry `Cache-Control`, `ETag` and `Vary` and answer `If-None-Match` with
//! 304; POST answers are `no-store`. Lifetimes on a paused clock, and the
//! memory bound under generated sequences, are tested in
//! `operation::response_cache`.

mod common;

use std::time::Duration;

use common::socket::Socket;
use common::{upstream_requests, TestGateway};
use serde_json::{json, Value};
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

const ON: [&str; 2] = ["--response-cache-max-mb", "16"];

/// Every source: flows (Comtrade), offices and leads (ITA), interventions
/// (GTA).
const PROFILE: &str = r#"{ jurisdiction(iso3: "BRA") { name
    tradeFlows(periods: ["2022"]) { value }
    officeLocations { post } tradeLeads(limit: 3) { title }
    interventionsAffecting(limit: 5) { items { id } } } }"#;

const FLOWS: &str =
    r#"{ tradeFlows(reporters: ["DEU"], periods: ["2021"], flow: EXPORT) { value } }"#;

const INTERVENTIONS: &str =
    r#"{ jurisdiction(iso3: "USA") { interventionsImplemented(limit: 5) { items { id } } } }"#;

fn simulator_total(gateway: &TestGateway) -> u64 {
    [Source::Gta, Source::Comtrade, Source::Ita]
        .into_iter()
        .map(|source| gateway.simulator.request_count(source))
        .sum()
}

/// POSTs `body` and returns the status, headers and body text.
async fn post(gateway: &TestGateway, body: Value) -> (u16, reqwest::header::HeaderMap, String) {
    let response = gateway
        .http()
        .post(format!("{}/graphql", gateway.url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// GETs `/graphql` with `params` (and `headers`).
async fn get(
    gateway: &TestGateway,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut request = gateway
        .http()
        .get(format!("{}/graphql?{query}", gateway.url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// A body up to its `extensions.upstream` value: data and cost.
fn before_upstream(body: &str) -> &str {
    &body[..body.rfind("\"upstream\":").expect("extensions.upstream")]
}

fn from_cache(response: &Value) -> bool {
    response["extensions"]["upstream"]["responseCache"]["hit"] == true
}

/// A repeat is the first answer's bytes (its data and cost), asks no
/// upstream, says where it came from and what the first execution cost, and
/// counts as a hit in the metrics.
#[tokio::test]
async fn a_repeat_is_answered_from_the_first_answers_bytes_without_asking_upstreams() {
    let gateway = TestGateway::start_with(&ON).await;
    let (_, _, first) = post(&gateway, json!({ "query": PROFILE })).await;
    let first_json: Value = serde_json::from_str(&first).unwrap();
    assert!(first_json.get("errors").is_none(), "{first}");
    assert!(!from_cache(&first_json));
    let sent = simulator_total(&gateway);
    assert!(sent >= 3, "every source asked once: {first}");

    let (status, headers, second) = post(&gateway, json!({ "query": PROFILE })).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(simulator_total(&gateway), sent, "no upstream asked");
    assert_eq!(
        before_upstream(&second),
        before_upstream(&first),
        "same bytes"
    );
    let second_json: Value = serde_json::from_str(&second).unwrap();
    assert!(from_cache(&second_json), "{second}");
    for source in ["gta", "comtrade", "ita"] {
        assert_eq!(upstream_requests(&second_json, source), 0, "{source}");
    }
    let cached = &second_json["extensions"]["upstream"]["responseCache"];
    assert_eq!(cached["original"], first_json["extensions"]["upstream"]);
    assert!(cached["ageSeconds"].as_u64().is_some(), "{cached}");

    // Other variables, another operation: run.
    let (_, _, other) = post(
        &gateway,
        json!({ "query": "query($iso3: String) { jurisdiction(iso3: $iso3) { tradeFlows(periods: [\"2022\"]) { value } } }", "variables": { "iso3": "ARG" } }),
    )
    .await;
    assert!(!from_cache(&serde_json::from_str(&other).unwrap()));
    assert!(simulator_total(&gateway) > sent);

    let metrics = gateway.get_text("/metrics").await;
    assert!(
        metrics.contains("trade_graph_operations_total{outcome=\"ok\",cache=\"hit\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("trade_graph_operations_total{outcome=\"ok\",cache=\"miss\"} 2\n"),
        "{metrics}"
    );
}

/// A response with errors (a source failed, the rest answered) is never
/// kept: the repeat asks the upstreams again and gets the fixed answer.
#[tokio::test]
async fn a_response_with_errors_is_never_kept() {
    let gateway = TestGateway::start_with(&ON).await;
    gateway
        .simulator
        .inject_fault(Source::Gta, Fault::Malformed);
    let (_, _, broken) = post(&gateway, json!({ "query": PROFILE })).await;
    let broken: Value = serde_json::from_str(&broken).unwrap();
    assert!(broken.get("errors").is_some(), "{broken}");
    assert!(!broken["data"].is_null(), "the other sources answered");
    let gta_before = gateway.gta_requests();

    gateway.simulator.clear_fault(Source::Gta);
    let (_, _, fixed) = post(&gateway, json!({ "query": PROFILE })).await;
    let fixed: Value = serde_json::from_str(&fixed).unwrap();
    assert!(!from_cache(&fixed), "{fixed}");
    assert!(fixed.get("errors").is_none(), "{fixed}");
    assert!(gateway.gta_requests() > gta_before, "GTA asked again");
    // The good answer is kept.
    let (_, _, again) = post(&gateway, json!({ "query": PROFILE })).await;
    assert!(from_cache(&serde_json::from_str(&again).unwrap()));
}

/// GET answers say how long caches may keep them (what is left of the
/// shortest upstream lifetime used), carry a validator and `Vary: Accept`,
/// and a client holding the tag gets 304; POST answers are `no-store`.
#[tokio::test]
async fn get_answers_are_cacheable_with_validators_and_post_answers_are_not() {
    // GTA's answers live 5 minutes here, Comtrade's a day.
    let gateway = TestGateway::start_with(&[ON[0], ON[1], "--gta-cache-ttl", "5m"]).await;
    let (status, headers, body) = get(&gateway, &[("query", PROFILE)], &[]).await;
    assert_eq!(status, 200, "{body}");
    let max_age: u64 = headers["cache-control"]
        .to_str()
        .unwrap()
        .strip_prefix("public, max-age=")
        .expect("public, max-age")
        .parse()
        .unwrap();
    assert!((290..=300).contains(&max_age), "GTA's 5 minutes: {max_age}");
    assert!(headers
        .get_all("vary")
        .iter()
        .any(|vary| vary.to_str().unwrap().contains("accept")));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");

    // The repeat (from the cache) has the same tag.
    let sent = simulator_total(&gateway);
    let (_, headers, _) = get(&gateway, &[("query", PROFILE)], &[]).await;
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    let (status, headers, body) =
        get(&gateway, &[("query", PROFILE)], &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    assert_eq!(simulator_total(&gateway), sent);
    // Another tag: the whole answer.
    let (status, _, _) = get(
        &gateway,
        &[("query", PROFILE)],
        &[("if-none-match", "W/\"other\"")],
    )
    .await;
    assert_eq!(status, 200);

    // A query answered from the crosswalk alone lives as long as the
    // longest upstream lifetime (Comtrade's day).
    let (_, headers, _) = get(
        &gateway,
        &[("query", "{ jurisdiction(iso3: \"FRA\") { name } }")],
        &[],
    )
    .await;
    let cache_control = headers["cache-control"].to_str().unwrap();
    assert!(
        ["public, max-age=86400", "public, max-age=86399"].contains(&cache_control),
        "{cache_control}"
    );

    // Errors: no-store, no tag.
    gateway
        .simulator
        .inject_fault(Source::Comtrade, Fault::Malformed);
    let (_, headers, body) = get(&gateway, &[("query", FLOWS)], &[]).await;
    assert!(body.contains("errors"), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("etag").is_none());
    gateway.simulator.clear_fault(Source::Comtrade);
    // A request error: no-store.
    let (_, headers, _) = get(&gateway, &[("query", "{ nope }")], &[]).await;
    assert_eq!(headers["cache-control"], "no-store");

    // POST, even of a kept response: no-store.
    let (_, headers, body) = post(&gateway, json!({ "query": PROFILE })).await;
    assert!(from_cache(&serde_json::from_str(&body).unwrap()));
    assert_eq!(headers["cache-control"], "no-store");
}

/// A persisted query's hash-only GET (the short URL CDNs cache) is answered
/// from the cache with the same validator as the document it names.
#[tokio::test]
async fn a_hash_only_get_shares_the_documents_entry() {
    let gateway = TestGateway::start_with(&ON).await;
    let hash = trade_graph::server::persisted_queries::sha256_hex(FLOWS);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let (_, headers, first) = get(
        &gateway,
        &[("query", FLOWS), ("extensions", &extensions)],
        &[],
    )
    .await;
    assert!(
        !from_cache(&serde_json::from_str(&first).unwrap()),
        "{first}"
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let sent = gateway.comtrade_requests();
    let (status, headers, body) = get(&gateway, &[("extensions", &extensions)], &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(from_cache(&serde_json::from_str(&body).unwrap()), "{body}");
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    assert_eq!(gateway.comtrade_requests(), sent);

    // A document sent with another document's hash is not answered from
    // the cache: it is refused, as without one.
    let (_, _, mismatch) = post(
        &gateway,
        json!({ "query": INTERVENTIONS, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }),
    )
    .await;
    assert!(
        mismatch.contains("PERSISTED_QUERY_HASH_MISMATCH"),
        "{mismatch}"
    );
}

/// A hash alone is answered from the cache only once a client registered
/// its document: a document cached from a plain GET does not make its hash
/// known (found by an attack: anyone could probe what others asked, and
/// the store said PERSISTED_QUERY_NOT_FOUND only while nothing was cached).
#[tokio::test]
async fn an_unregistered_hash_is_not_answered_from_the_cache() {
    let gateway = TestGateway::start_with(&ON).await;
    let (status, _, first) = get(&gateway, &[("query", FLOWS)], &[]).await;
    assert_eq!(status, 200, "{first}");
    let (_, _, again) = get(&gateway, &[("query", FLOWS)], &[]).await;
    assert!(
        from_cache(&serde_json::from_str(&again).unwrap()),
        "{again}"
    );
    let hash = trade_graph::server::persisted_queries::sha256_hex(FLOWS);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let (_, headers, body) = get(&gateway, &[("extensions", &extensions)], &[]).await;
    assert!(body.contains("PERSISTED_QUERY_NOT_FOUND"), "{body}");
    assert!(headers.get("etag").is_none());
}

/// The same answer in two media types is two representations, each with
/// its own validator (a CDN revalidating one must not be told it holds the
/// other, whose content type differs).
#[tokio::test]
async fn each_representation_has_its_own_etag() {
    let gateway = TestGateway::start_with(&ON).await;
    let tag = |accept: &'static str| {
        let gateway = &gateway;
        async move {
            let (status, headers, body) =
                get(gateway, &[("query", FLOWS)], &[("accept", accept)]).await;
            assert_eq!(status, 200, "{body}");
            headers["etag"].to_str().unwrap().to_owned()
        }
    };
    let graphql = tag("application/graphql-response+json").await;
    let json = tag("application/json").await;
    assert_ne!(graphql, json);
    assert_eq!(tag("application/json").await, json);
    let (status, _, _) = get(
        &gateway,
        &[("query", FLOWS)],
        &[
            ("accept", "application/graphql-response+json"),
            ("if-none-match", &json),
        ],
    )
    .await;
    assert_eq!(status, 200, "the other representation's tag does not match");
    let (status, _, _) = get(
        &gateway,
        &[("query", FLOWS)],
        &[
            ("accept", "application/json"),
            ("if-none-match", &format!("W/{json}")),
        ],
    )
    .await;
    assert_eq!(status, 200, "W/W/ is not an entity tag");
}

/// A batch's operations are looked up one by one: a kept one is answered
/// from the cache, the others run.
#[tokio::test]
async fn a_batch_answers_its_kept_operations_from_the_cache() {
    let gateway = TestGateway::start_with(&ON).await;
    post(&gateway, json!({ "query": FLOWS })).await;
    let (_, _, body) = post(
        &gateway,
        json!([{ "query": FLOWS }, { "query": INTERVENTIONS }]),
    )
    .await;
    let answers: Value = serde_json::from_str(&body).unwrap();
    assert!(from_cache(&answers[0]), "{body}");
    assert!(!from_cache(&answers[1]), "{body}");
    assert!(answers[1].get("errors").is_none(), "{body}");
}

/// When a subscription poll sees new interventions, responses built from
/// GTA are asked again; responses that did not use GTA stay.
#[tokio::test]
async fn news_from_a_subscription_poll_drops_what_was_built_from_its_source() {
    let gateway = TestGateway::start_publishing(
        Duration::from_millis(20),
        &[ON[0], ON[1], "--ita-max-requests", "300"],
    )
    .await;
    for query in [INTERVENTIONS, FLOWS] {
        gateway.query(query).await;
        assert!(from_cache(&gateway.query(query).await), "{query}");
    }
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe(
            "news",
            r#"subscription { newInterventions(implementers: ["USA", "CHN", "IND", "BRA", "DEU"]) { id } }"#,
        )
        .await;
    let mut others = Vec::new();
    // Waits for the feed to tell news (published every 20 ms), not a clock.
    let news = socket.next_payloads("news", 1, &mut others).await;
    assert!(news[0].get("errors").is_none(), "{news:?}");

    let gta_before = gateway.gta_requests();
    let interventions = gateway.query(INTERVENTIONS).await;
    assert!(!from_cache(&interventions), "{interventions}");
    assert!(
        upstream_requests(&interventions, "gta") >= 1 && gateway.gta_requests() > gta_before,
        "asked GTA again, past the upstream cache too: {interventions}"
    );
    let flows = gateway.query(FLOWS).await;
    assert!(from_cache(&flows), "Comtrade had no news: {flows}");
}
