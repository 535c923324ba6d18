//! Subscriptions over WebSocket (`graphql-transport-ws` on /graphql), end to
//! end against the simulator, which publishes a new intervention and trade
//! lead every few milliseconds here. The feeds' own rules (one poll per
//! key, baseline, failures told once, the loop ending with its last
//! subscriber) are tested with a paused clock in `subscriptions::feed`.

mod common;

use std::time::Duration;

use common::socket::Socket;
use common::TestGateway;
use serde_json::{json, Value};
use trade_graph::sample::Fault;
use trade_graph::sources::Source;

/// A gateway whose simulator publishes every 20 ms and whose feeds poll
/// as often, with `flags` on top.
async fn gateway(flags: &[&str]) -> TestGateway {
    TestGateway::start_publishing(Duration::from_millis(20), flags).await
}

fn code(payload: &Value) -> &str {
    payload["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

const NEW_INTERVENTIONS: &str = r#"subscription {
  newInterventions(implementers: ["USA", "CHN", "IND", "BRA", "DEU"]) {
    id title dateAnnounced implementingJurisdictions { iso3 }
    officesOfImplementers: implementingJurisdictions { officeLocations { id } }
  }
}"#;

#[tokio::test]
async fn subscribers_of_the_same_jurisdictions_share_one_feed_and_see_each_new_intervention() {
    // The guard counts a page of offices per jurisdiction an intervention
    // could list (235); one ITA search answers them all.
    let gateway = gateway(&["--ita-max-requests", "300"]).await;
    let mut socket = Socket::open(&gateway).await;
    socket.subscribe("a", NEW_INTERVENTIONS).await;
    socket.subscribe("b", NEW_INTERVENTIONS).await;
    let mut others = Vec::new();
    let first = socket.next_payloads("a", 3, &mut others).await;

    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(health["subscriptions"]["open"], 2, "{health}");
    assert_eq!(
        health["subscriptions"]["polledKeys"]["interventions"], 1,
        "two subscribers of one key, one poll loop: {health}"
    );

    let mut ids = Vec::new();
    for payload in &first {
        assert!(payload.get("errors").is_none(), "{payload}");
        let intervention = &payload["data"]["newInterventions"];
        let implementers: Vec<&str> = intervention["implementingJurisdictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jurisdiction| jurisdiction["iso3"].as_str().unwrap())
            .collect();
        assert!(
            implementers
                .iter()
                .any(|iso3| ["USA", "CHN", "IND", "BRA", "DEU"].contains(iso3)),
            "only the jurisdictions subscribed to: {implementers:?}"
        );
        ids.push(intervention["id"].as_u64().unwrap());
        // Each event is accounted for alone: its offices are one ITA
        // search (or its cached answer), never the sum of the events so far.
        // (A loaded CI machine once saw 0 here: the event's accounting can
        // be reset while its search is in flight. Counting too little is a
        // known imprecision, left in the note of issue 22; counting the
        // events together is what this guards against.)
        let ita = &payload["extensions"]["upstream"]["ita"];
        assert!(
            ita["requests"].as_u64().unwrap() + ita["cacheHits"].as_u64().unwrap() <= 1,
            "{payload}"
        );
        assert_eq!(
            payload["extensions"]["upstream"]["gta"]["requests"], 0,
            "the poll is the feed's, not the event's"
        );
    }
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "oldest first, each once: {ids:?}"
    );
    assert!(
        ids[0] > 105_000,
        "published while subscribed, not the sample's: {ids:?}"
    );

    // The other subscriber got the same news.
    let second = socket.next_payloads("b", 3, &mut Vec::new()).await;
    let second_ids: Vec<u64> = others
        .iter()
        .map(|message| &message["payload"])
        .chain(second.iter())
        .map(|payload| payload["data"]["newInterventions"]["id"].as_u64().unwrap())
        .take(3)
        .collect();
    assert_eq!(second_ids, ids);

    // Complete: the subscription ends, its slot is given back.
    socket.send(json!({ "id": "a", "type": "complete" })).await;
    socket.send(json!({ "id": "b", "type": "complete" })).await;
    let polls = metric(
        &gateway,
        "trade_graph_subscription_polls_total{feed=\"interventions\"}",
    )
    .await;
    assert!(polls >= 3.0, "the feed polled: {polls}");
}

#[tokio::test]
async fn new_trade_leads_arrive_for_the_countries_subscribed_to() {
    let gateway = gateway(&[]).await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe(
            "leads",
            r#"subscription { newTradeLeads(countries: ["Mexico", "CA", "GB"]) { id title countryCode source } }"#,
        )
        .await;
    let payloads = socket.next_payloads("leads", 2, &mut Vec::new()).await;
    for payload in &payloads {
        let lead = &payload["data"]["newTradeLeads"];
        assert!(
            ["MX", "CA", "GB"].contains(&lead["countryCode"].as_str().unwrap()),
            "{payload}"
        );
        assert!(
            lead["id"].as_str().unwrap().contains("-new-"),
            "a published lead: {payload}"
        );
    }
    assert_ne!(payloads[0], payloads[1]);
}

#[tokio::test]
async fn a_failing_poll_is_one_error_naming_the_source_and_the_feed_resumes() {
    // No retries, and a breaker that lets a poll through soon after.
    let gateway = gateway(&["--retry-max-attempts", "1", "--breaker-open-for", "20ms"]).await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe("s", "subscription { newInterventions { id } }")
        .await;
    socket.next_payloads("s", 1, &mut Vec::new()).await;
    gateway.simulator.inject_fault(
        Source::Gta,
        Fault::Status {
            status: 503,
            body: "down for maintenance".into(),
        },
    );
    let failure = loop {
        let payload = socket
            .next_payloads("s", 1, &mut Vec::new())
            .await
            .remove(0);
        if payload.get("errors").is_some() {
            break payload;
        }
    };
    assert_eq!(
        failure["errors"][0]["extensions"]["source"], "gta",
        "{failure}"
    );
    assert_eq!(code(&failure), "UPSTREAM_UNAVAILABLE", "{failure}");
    gateway.simulator.clear_fault(Source::Gta);
    let resumed = socket
        .next_payloads("s", 1, &mut Vec::new())
        .await
        .remove(0);
    assert!(
        resumed["data"]["newInterventions"]["id"].is_u64(),
        "{resumed}"
    );
}

/// Polls spend the feeds' own share of an operator's budget: once it is
/// spent, subscribers are told once (`UPSTREAM_BUDGET_EXHAUSTED`, naming
/// GTA), the loop keeps polling without sending anything, and queries
/// keep their own share.
#[tokio::test]
async fn polls_keep_to_the_feeds_share_of_the_budget() {
    // GTA allows 8 requests an hour; each client, the feeds being one,
    // may spend a quarter: 2 (the baseline and one poll).
    let gateway = gateway(&[
        "--gta-budget",
        "8",
        "--gta-budget-window",
        "1h",
        "--client-share",
        "0.25",
        "--retry-max-attempts",
        "1",
    ])
    .await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe("s", "subscription { newInterventions { id } }")
        .await;
    let refusal = loop {
        let payload = socket
            .next_payloads("s", 1, &mut Vec::new())
            .await
            .remove(0);
        if payload.get("errors").is_some() {
            break payload;
        }
        assert!(
            payload["data"]["newInterventions"]["id"].is_u64(),
            "{payload}"
        );
    };
    assert_eq!(code(&refusal), "UPSTREAM_BUDGET_EXHAUSTED", "{refusal}");
    assert_eq!(
        refusal["errors"][0]["extensions"]["source"], "gta",
        "{refusal}"
    );
    assert_eq!(gateway.gta_requests(), 2, "the baseline and one poll");

    // Three more polls: each refused before it is sent.
    let polls = "trade_graph_subscription_polls_total{feed=\"interventions\"}";
    let refused_at = metric(&gateway, polls).await;
    while metric(&gateway, polls).await < refused_at + 3.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gateway.gta_requests(), 2, "nothing sent past the share");

    // Another client's query has its own share.
    let answer = gateway
        .query("{ interventions(limit: 1) { totalCount } }")
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(gateway.gta_requests(), 3);
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_a_code_and_no_upstream_call() {
    let gateway = gateway(&[
        "--max-subscriptions-per-connection",
        "1",
        "--max-subscription-feeds",
        "1",
    ])
    .await;
    let mut socket = Socket::open(&gateway).await;
    let gta_before = gateway.simulator.request_count(Source::Gta);

    socket
        .subscribe(
            "unknown",
            r#"subscription { newInterventions(implementers: ["Atlantis"]) { id } }"#,
        )
        .await;
    let refused = socket.refusal("unknown").await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Atlantis"));

    socket
        .subscribe(
            "no-countries",
            "subscription { newTradeLeads(countries: []) { id } }",
        )
        .await;
    assert_eq!(
        code(&socket.refusal("no-countries").await),
        "BAD_USER_INPUT"
    );

    socket
        .subscribe(
            "invalid",
            "subscription { newInterventions { noSuchField } }",
        )
        .await;
    assert_eq!(
        code(&socket.refusal("invalid").await),
        "GRAPHQL_VALIDATION_FAILED"
    );

    let deep = format!(
        "subscription {{ newInterventions {{ {}id{} }} }}",
        "implementingJurisdictions { interventionsImplemented { items { ".repeat(8),
        " } } }".repeat(8)
    );
    // Held to the same upstream demand as a query, per event.
    socket.subscribe("demanding", NEW_INTERVENTIONS).await;
    let refused = socket.refusal("demanding").await;
    assert_eq!(code(&refused), "UPSTREAM_DEMAND_TOO_HIGH", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["source"], "ita");
    socket.subscribe("deep", &deep).await;
    assert_eq!(code(&socket.refusal("deep").await), "OPERATION_TOO_DEEP");
    assert_eq!(
        gateway.simulator.request_count(Source::Gta),
        gta_before,
        "nothing refused reached GTA"
    );

    // One subscription per connection here, one key per feed.
    socket
        .subscribe(
            "first",
            "subscription { newInterventions(implementers: [\"USA\"]) { id } }",
        )
        .await;
    socket
        .subscribe(
            "second",
            "subscription { newInterventions(implementers: [\"USA\"]) { id } }",
        )
        .await;
    let refused = socket.refusal("second").await;
    assert_eq!(code(&refused), "TOO_MANY_SUBSCRIPTIONS", "{refused}");
    let mut other = Socket::open(&gateway).await;
    other
        .subscribe(
            "elsewhere",
            "subscription { newInterventions(implementers: [\"CHN\"]) { id } }",
        )
        .await;
    let refused = other.refusal("elsewhere").await;
    assert_eq!(code(&refused), "TOO_MANY_SUBSCRIPTION_FEEDS", "{refused}");

    // Refusals before a subscription starts count in the operation metrics,
    // as over HTTP.
    for (code, count) in [
        ("TOO_MANY_SUBSCRIPTIONS", 1.0),
        ("OPERATION_TOO_DEEP", 1.0),
        ("UPSTREAM_DEMAND_TOO_HIGH", 1.0),
    ] {
        let name = format!("trade_graph_operation_errors_total{{code=\"{code}\"}}");
        assert_eq!(metric(&gateway, &name).await, count, "{name}");
    }
}

#[tokio::test]
async fn an_event_past_the_result_cap_ends_the_subscription_with_the_refusal() {
    let gateway = gateway(&["--max-result-values", "4"]).await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe(
            "big",
            "subscription { newInterventions { id title description affectedJurisdictions { iso3 name } } }",
        )
        .await;
    let refused = socket.refusal("big").await;
    assert_eq!(code(&refused), "RESULT_TOO_LARGE", "{refused}");
}

#[tokio::test]
async fn queries_over_the_socket_are_held_to_the_same_rules_as_over_http() {
    let gateway = gateway(&[]).await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe("q", r#"{ jurisdiction(iso3: "BRA") { name interventionsImplemented(limit: 2) { items { id } } } }"#)
        .await;
    let answer = socket
        .next_payloads("q", 1, &mut Vec::new())
        .await
        .remove(0);
    assert_eq!(answer["data"]["jurisdiction"]["name"], "Brazil", "{answer}");
    assert_eq!(
        answer["extensions"]["upstream"]["gta"]["requests"], 1,
        "{answer}"
    );
    assert_eq!(
        socket.receive().await,
        json!({ "id": "q", "type": "complete" })
    );

    // A message larger than the socket's first read buffer (8 KiB) is
    // read whole: the buffer grows up to --max-body-bytes.
    let padded = format!(
        "# {}\n{{ jurisdiction(iso3: \"CHN\") {{ name }} }}",
        "x".repeat(40_000)
    );
    socket.subscribe("large", &padded).await;
    let answer = socket
        .next_payloads("large", 1, &mut Vec::new())
        .await
        .remove(0);
    assert_eq!(answer["data"]["jurisdiction"]["name"], "China", "{answer}");

    // Past --max-body-bytes (256 KiB) the socket is closed with 1009, as
    // RFC 6455 says (issue 22's fourth attack: it was dropped without one).
    let too_big = format!(
        "# {}\n{{ jurisdiction(iso3: \"CHN\") {{ name }} }}",
        "x".repeat(300_000)
    );
    socket.subscribe("big", &too_big).await;
    let closed = socket.closed_with().await;
    assert_eq!(
        closed.as_ref().map(|(code, _)| *code),
        Some(1009),
        "{closed:?}"
    );

    // Over HTTP, a subscription is told where to go.
    let response: Value = gateway
        .query("subscription { newInterventions { id } }")
        .await;
    assert_eq!(
        code(&response),
        "SUBSCRIPTION_NEEDS_WEBSOCKET",
        "{response}"
    );
}

/// A subscribe reusing the id of a subscription still running closes the
/// socket with 4409, as graphql-transport-ws requires (async-graphql
/// replaced the running one silently); an id whose subscription was
/// completed may be used again.
#[tokio::test]
async fn a_duplicate_subscription_id_closes_the_socket_with_4409() {
    let gateway = gateway(&[]).await;
    let mut socket = common::socket::Socket::open(&gateway).await;
    let feed = r#"subscription { newTradeLeads(countries: ["USA"]) { title } }"#;
    socket.subscribe("a", feed).await;
    socket
        .send(serde_json::json!({ "id": "a", "type": "complete" }))
        .await;
    socket.subscribe("a", feed).await;
    socket.subscribe("a", feed).await;
    assert_eq!(
        socket.closed_with().await,
        Some((4409, "Subscriber for a already exists".to_owned()))
    );
}

/// An id longer than 256 bytes closes the socket with 4400 (the set of ids
/// in use is held for the socket's life), and a duplicate of a long id
/// closes with 4409 and a reason cut to the 123 bytes a close frame holds
/// (a reason naming a 200 KB id could not be sent: the client waited for
/// ever). Found by an attack on issue 22's fixes.
#[tokio::test]
async fn long_subscription_ids_close_the_socket_with_a_valid_frame() {
    let gateway = gateway(&[]).await;
    let feed = r#"subscription { newTradeLeads(countries: ["USA"]) { title } }"#;
    for length in [257, 200_000] {
        let mut socket = common::socket::Socket::open(&gateway).await;
        socket.subscribe(&"i".repeat(length), feed).await;
        assert_eq!(
            socket.closed_with().await,
            Some((4400, "a subscription id is at most 256 bytes".to_owned())),
            "an id of {length} bytes"
        );
    }
    let mut socket = common::socket::Socket::open(&gateway).await;
    let id = "é".repeat(128);
    socket.subscribe(&id, feed).await;
    socket.subscribe(&id, feed).await;
    let (code, reason) = socket.closed_with().await.expect("closed");
    assert_eq!(code, 4409);
    assert!(reason.len() <= 123, "{}", reason.len());
    assert!(reason.starts_with("Subscriber for é"), "{reason}");
    // Other sockets are served on.
    let mut socket = common::socket::Socket::open(&gateway).await;
    socket
        .subscribe("ok", "{ jurisdiction(iso3: \"CHN\") { name } }")
        .await;
    let answer = socket
        .next_payloads("ok", 1, &mut Vec::new())
        .await
        .remove(0);
    assert_eq!(answer["data"]["jurisdiction"]["name"], "China", "{answer}");
}

/// An initialised socket with no subscription and no message for
/// --idle-timeout is closed (1001); one with a subscription running is
/// not. Found by the attack on issue 22: a thousand idle sockets took every
/// descriptor of a process limited to 1,024.
#[tokio::test]
async fn idle_sockets_are_closed_and_busy_ones_are_not() {
    let gateway = gateway(&["--idle-timeout", "300ms"]).await;
    let mut idle = common::socket::Socket::open(&gateway).await;
    let mut busy = common::socket::Socket::open(&gateway).await;
    busy.subscribe(
        "feed",
        r#"subscription { newInterventions(implementers: ["USA", "CHN", "IND", "BRA", "DEU"]) { id } }"#,
    )
    .await;
    let mut pinging = common::socket::Socket::open(&gateway).await;
    let closed = idle.closed_with().await;
    assert_eq!(closed.map(|(code, _)| code), Some(1001));
    // Pings say the client is there, not that it uses the socket (the
    // attack on issue 22 held 768 pinging sockets, the server unreachable).
    assert_eq!(pinging.ping_until_closed().await, Some(1001));
    // Nor do messages that start nothing: subscribes the gateway refuses
    // (each answered with an error) and completes of ids never used.
    let mut refused = common::socket::Socket::open(&gateway).await;
    let closed = refused
        .send_until_closed(|n| {
            json!({ "type": "subscribe", "id": format!("bad-{n}"), "payload": { "query": "subscription { nothing }" } })
        })
        .await;
    assert_eq!(closed, Some(1001));
    let mut completing = common::socket::Socket::open(&gateway).await;
    let closed = completing
        .send_until_closed(|n| json!({ "type": "complete", "id": format!("never-{n}") }))
        .await;
    assert_eq!(closed, Some(1001));
    // The busy socket has outlived the idle one's timeout: it still gets
    // events.
    let events = busy.next_payloads("feed", 3, &mut Vec::new()).await;
    assert_eq!(events.len(), 3);
}

/// A WebSocket keeps the --max-connections slot of the connection it was
/// upgraded from: with two slots and two sockets open, an HTTP request
/// waits until a socket closes.
#[tokio::test]
async fn websockets_count_against_the_connection_bound() {
    let gateway = gateway(&["--max-connections", "2"]).await;
    let first = common::socket::Socket::open(&gateway).await;
    let _second = common::socket::Socket::open(&gateway).await;
    let waiting = tokio::spawn({
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", gateway.url);
        async move { client.get(url).send().await.unwrap().status() }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "served past the bound");
    first.close().await;
    let status = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("served once a socket gave its slot back")
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let gateway = gateway(&["--header-read-timeout", "100ms"]).await;
    let url = format!("{}/graphql", gateway.url.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    // No connection_init: the gateway closes the socket with 4408, as
    // graphql-transport-ws says (it used to drop the connection).
    let ended = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .expect("the gateway closes the socket");
    match ended {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4408, "{frame:?}");
        }
        other => panic!("a close frame with 4408, not {other:?}"),
    }
}

/// Sockets outlive the header timeout that ends idle HTTP connections, so
/// they are bounded: past `--max-websockets` an upgrade is refused (503,
/// `TOO_MANY_WEBSOCKETS`), and a closed socket gives its slot back.
#[tokio::test]
async fn websocket_connections_are_bounded() {
    let gateway = gateway(&["--max-websockets", "1"]).await;
    let socket = Socket::open(&gateway).await;
    let health: Value = serde_json::from_str(&gateway.get_text("/healthz").await).unwrap();
    assert_eq!(health["subscriptions"]["websockets"], 1, "{health}");
    assert_eq!(metric(&gateway, "trade_graph_websockets_open").await, 1.0);

    match Socket::upgrade(&gateway).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "1");
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("TOO_MANY_WEBSOCKETS"), "{body}");
            assert!(body.contains("--max-websockets"), "{body}");
        }
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|(_, response)| response)
        ),
    }
    // HTTP is not affected.
    let answer = gateway
        .query(r#"{ jurisdiction(iso3: "BRA") { name } }"#)
        .await;
    assert_eq!(answer["data"]["jurisdiction"]["name"], "Brazil", "{answer}");

    socket.close().await;
    // The slot is given back once the gateway has seen the close.
    let reopened = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if metric(&gateway, "trade_graph_websockets_open").await == 0.0 {
                return Socket::open(&gateway).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the closed socket's slot is given back");
    drop(reopened);
}

#[tokio::test]
async fn an_upgrade_without_a_graphql_subprotocol_is_refused() {
    let gateway = gateway(&[]).await;
    let url = format!("{}/graphql", gateway.url.replacen("http", "ws", 1));
    let error = tokio_tungstenite::connect_async(url)
        .await
        .expect_err("no subprotocol, no socket");
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("graphql-transport-ws"), "{body}");
        }
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// A metric's value in /metrics.
async fn metric(gateway: &TestGateway, name: &str) -> f64 {
    let text = gateway.get_text("/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Each operation a socket carries is logged like an HTTP request: one
/// access line when a query is answered, one when a subscription ends
/// (here completed by the client), with the operation's name from its
/// document, the client, method WS and, for a subscription, the events it
/// sent and the upstream requests they cost.
#[tokio::test]
async fn each_operation_over_the_socket_has_its_access_line() {
    let logs = common::logs();
    let gateway = gateway(&[]).await;
    let mut socket = Socket::open(&gateway).await;
    socket
        .subscribe(
            "q",
            r#"query OverTheSocket { jurisdiction(iso3: "BRA") { name } }"#,
        )
        .await;
    socket.next_payloads("q", 1, &mut Vec::new()).await;
    assert_eq!(socket.receive().await["type"], "complete");
    socket
        .subscribe(
            "s",
            r#"subscription WatchingFive { newInterventions(implementers: ["USA", "CHN", "IND", "BRA", "DEU"]) { id } }"#,
        )
        .await;
    socket.next_payloads("s", 2, &mut Vec::new()).await;
    socket.send(json!({ "id": "s", "type": "complete" })).await;
    // Messages are handled in order: once this is answered, the completed
    // subscription has been dropped and logged.
    socket
        .subscribe(
            "after",
            r#"query AfterIt { jurisdiction(iso3: "CHN") { name } }"#,
        )
        .await;
    socket.next_payloads("after", 1, &mut Vec::new()).await;

    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let access = |name: &str| -> String {
        logged
            .lines()
            .find(|line| {
                line.contains("trade_graph::access")
                    && line.contains(&format!("operation_name=\"{name}\""))
            })
            .unwrap_or_else(|| panic!("no access line for {name}"))
            .to_owned()
    };
    let query = access("OverTheSocket");
    for part in [
        "method=\"WS\"",
        "path=\"/graphql\"",
        "client=127.0.0.1",
        "upstream_requests=",
        "outcome=\"ok\"",
        "duration_ms=",
    ] {
        assert!(query.contains(part), "{part} in {query}");
    }
    let subscription = access("WatchingFive");
    for part in [
        "method=\"WS\"",
        "client=127.0.0.1",
        "outcome=\"completed\"",
        "duration_ms=",
    ] {
        assert!(subscription.contains(part), "{part} in {subscription}");
    }
    let events: u64 = subscription
        .split("events=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("events in {subscription}"));
    assert!(events >= 2, "{subscription}");
    // Inside the upgrade request's context (its id, method GET), each
    // operation has an id of its own.
    let ids = |line: &str| -> Vec<String> {
        line.split(" id=")
            .skip(1)
            .chain(line.split("{id=").skip(1))
            .map(|rest| rest.split([' ', '}']).next().unwrap().to_owned())
            .collect()
    };
    assert!(query.contains("method=GET "), "{query}");
    let (query_ids, subscription_ids) = (ids(&query), ids(&subscription));
    assert_eq!(query_ids.len(), 2, "{query}");
    assert_eq!(query_ids[0], subscription_ids[0], "the same connection");
    assert_ne!(query_ids[1], subscription_ids[1], "operations of their own");
}
