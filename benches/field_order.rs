//! What putting a response's keys in selection order costs
//! (`operation::field_order`, run on every executed response).
//!
//! The flagship's response (ten countries' flows, offices, leads and
//! interventions, from the simulator) is ordered (a) as it comes, already in
//! order, which is the check alone, and (b) with every object's keys
//! reversed, which reorders every object; beside it, what one warm flagship
//! costs end to end over HTTP on this machine, for scale.
//!
//! Command: `cargo bench --bench field_order`.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Value, Variables};
use support::FLAGSHIP;
use trade_graph::limits::SchemaIndex;
use trade_graph::operation::SelectionOrder;

const ROUNDS: u32 = 2_000;

fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .rev()
                .map(|(key, value)| (key.clone(), reversed(value)))
                .collect(),
        ),
        Value::List(items) => Value::List(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

fn objects(value: &Value) -> usize {
    match value {
        Value::Object(object) => 1 + object.values().map(objects).sum::<usize>(),
        Value::List(items) => items.iter().map(objects).sum(),
        _ => 0,
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(support::unpaced_gateway("v1", true));
    let client = reqwest::Client::new();
    let ask = || -> serde_json::Value {
        runtime.block_on(async {
            client
                .post(format!("{url}/graphql"))
                .json(&serde_json::json!({ "query": FLAGSHIP }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    };
    let answer = ask();
    assert!(answer.get("errors").is_none(), "{answer}");
    let started = Instant::now();
    for _ in 0..200 {
        ask();
    }
    let warm = started.elapsed() / 200;

    let data = Value::from_json(answer["data"].clone()).unwrap();
    let schema = SchemaIndex::from_sdl(&trade_graph::graph::sdl());
    let document = Arc::new(async_graphql::parser::parse_query(FLAGSHIP).unwrap());
    let order = SelectionOrder::new(document, None, &Variables::default());
    let shuffled = reversed(&data);

    let mut in_order = data.clone();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        order.apply(&mut in_order, &schema);
    }
    let check = started.elapsed() / ROUNDS;
    assert_eq!(in_order, data);

    let mut copies: Vec<Value> = (0..ROUNDS).map(|_| shuffled.clone()).collect();
    let started = Instant::now();
    for copy in &mut copies {
        order.apply(copy, &schema);
    }
    let reorder = started.elapsed() / ROUNDS;
    assert_eq!(copies[0], data);

    println!("flagship response: {} objects", objects(&data));
    println!("| case | per response |");
    println!("|---|---|");
    println!("| keys already in order (check only) | {check:?} |");
    println!("| every object reversed (reorder all) | {reorder:?} |");
    println!("| one warm flagship over HTTP, 1 client | {warm:?} |");
}
