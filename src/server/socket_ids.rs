//! One subscription per id on a socket, as graphql-transport-ws requires.
//!
//! The protocol says a `subscribe` whose id is already in use closes the
//! socket with 4409 ("Subscriber for <id> already exists"); async-graphql
//! replaces the running subscription instead, silently. This stage stands
//! between the socket and async-graphql: it keeps the ids in use (added
//! by a client's `subscribe`, removed by its `complete` or by the server's
//! `complete` or `error` for the id) and closes the socket with 4409 on a
//! duplicate. The older `graphql-ws` protocol's `start` and `stop` are
//! read the same way.
//!
//! Ids are bounded ([`MAX_ID_BYTES`]): the set of ids in use is held for
//! the socket's life and a duplicate's close reason names the id, so an id
//! as long as a message (256 KiB) cost that much memory per subscription
//! and made a close frame that no WebSocket may send (a close reason is at
//! most 123 bytes), leaving the client waiting. A longer id closes the
//! socket with 4400, as the protocol closes any invalid message.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};

/// The ids in use on one socket.
type InUse = Arc<Mutex<HashSet<String>>>;

/// Messages the server has queued for the socket, at most.
const OUTGOING: usize = 64;

/// The longest subscription id a client may use. Clients use counters or
/// UUIDs (36 bytes).
pub const MAX_ID_BYTES: usize = 256;

/// The longest close reason RFC 6455 allows (a control frame's 125 bytes,
/// less the code's two).
const MAX_CLOSE_REASON_BYTES: usize = 123;

/// What a socket's client has been doing: the subscriptions it has open
/// and when it last sent a message. A socket with neither for the idle
/// timeout is closed (issue 22: initialised sockets that subscribed to
/// nothing held a descriptor each for ever).
#[derive(Clone)]
pub struct SocketActivity {
    in_use: InUse,
    last_message: Arc<Mutex<tokio::time::Instant>>,
}

impl SocketActivity {
    /// How long the socket has had no subscription and no message from its
    /// client; `None` while a subscription is open.
    pub fn idle_for(&self) -> Option<std::time::Duration> {
        if !lock(&self.in_use).is_empty() {
            return None;
        }
        let last = *self.last_message.lock().unwrap_or_else(|e| e.into_inner());
        Some(last.elapsed())
    }
}

/// Whether a client's message uses the socket: anything but a ping or a
/// pong (graphql-transport-ws's `ping`/`pong`, subscriptions-transport-ws's
/// `ka`), which only say the client is there.
fn uses_the_socket(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_str::<Kind<'_>>(text) {
        Ok(Kind { kind: Some(kind) }) => !matches!(kind.as_ref(), "ping" | "pong" | "ka"),
        _ => true,
    }
}

/// `socket` as the sink and stream async-graphql serves, with duplicate
/// ids closing it with 4409; the returned future forwards the server's
/// messages to the socket and must be run beside, until `served` fires
/// (async-graphql is done), when it sends what is queued and closes.
pub fn guard(
    socket: WebSocket,
    served: tokio::sync::oneshot::Receiver<()>,
) -> (
    mpsc::Sender<Message>,
    impl Stream<Item = Result<Message, axum::Error>> + Send + Unpin,
    impl std::future::Future<Output = ()> + Send,
    SocketActivity,
) {
    let (mut to_socket, from_socket) = socket.split();
    let (outgoing, mut queued) = mpsc::channel::<Message>(OUTGOING);
    let in_use: InUse = Arc::default();
    let activity = SocketActivity {
        in_use: in_use.clone(),
        last_message: Arc::new(Mutex::new(tokio::time::Instant::now())),
    };
    let seen = activity.last_message.clone();
    let server_side = in_use.clone();
    let forward = async move {
        let mut served = std::pin::pin!(served);
        let mut draining = false;
        loop {
            let message = if draining {
                match queued.try_recv() {
                    Ok(message) => message,
                    _ => break,
                }
            } else {
                tokio::select! {
                    message = queued.next() => match message {
                        Some(message) => message,
                        None => break,
                    },
                    _ = &mut served => {
                        draining = true;
                        continue;
                    }
                }
            };
            if let Message::Text(text) = &message {
                if let Some(id) = ended_by_server(text.as_str()) {
                    lock(&server_side).remove(&id);
                }
            }
            if to_socket.send(message).await.is_err() {
                return;
            }
        }
        let _ = to_socket.close().await;
    };
    let closer = outgoing.clone();
    let incoming = from_socket
        .scan(closer, move |closer, message| {
            // Only what uses the socket keeps it: a client that pings (a
            // WebSocket ping, or the protocol's) and subscribes to nothing
            // held a descriptor for ever (issue 22 attack).
            if matches!(&message, Ok(Message::Text(text)) if uses_the_socket(text.as_str())) {
                *seen.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
            }
            let verdict = match &message {
                Ok(Message::Text(text)) => client_message(&in_use, text.as_str()),
                _ => Verdict::Pass,
            };
            let closer = closer.clone();
            async move {
                match verdict {
                    Verdict::Pass => Some(message),
                    Verdict::Duplicate(id) => {
                        close(closer, 4409, &format!("Subscriber for {id} already exists")).await;
                        None
                    }
                    Verdict::IdTooLong => {
                        close(
                            closer,
                            4400,
                            &format!("a subscription id is at most {MAX_ID_BYTES} bytes"),
                        )
                        .await;
                        None
                    }
                }
            }
        })
        .boxed();
    (outgoing, incoming, forward, activity)
}

enum Verdict {
    Pass,
    Duplicate(String),
    IdTooLong,
}

/// Closes the socket with `code`, its reason cut to what a close frame
/// holds (at a character boundary).
async fn close(mut closer: mpsc::Sender<Message>, code: u16, reason: &str) {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let _ = closer
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason[..end].into(),
        })))
        .await;
}

fn lock(in_use: &InUse) -> std::sync::MutexGuard<'_, HashSet<String>> {
    in_use.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `type` and `id` of a protocol message, when it has both.
fn type_and_id(text: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        id: Option<String>,
    }
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    Some((envelope.kind, envelope.id?))
}

/// What a client's message does to the ids in use.
fn client_message(in_use: &InUse, text: &str) -> Verdict {
    match type_and_id(text) {
        Some((kind, id)) if (kind == "subscribe" || kind == "start") && id.len() > MAX_ID_BYTES => {
            Verdict::IdTooLong
        }
        Some((kind, id)) if kind == "subscribe" || kind == "start" => {
            if lock(in_use).insert(id.clone()) {
                Verdict::Pass
            } else {
                Verdict::Duplicate(id)
            }
        }
        Some((kind, id)) if kind == "complete" || kind == "stop" => {
            lock(in_use).remove(&id);
            Verdict::Pass
        }
        _ => Verdict::Pass,
    }
}

/// The id a server message ends, for `complete` and `error` (serde writes
/// the tag first, so events are told apart without parsing them).
fn ended_by_server(text: &str) -> Option<String> {
    if !(text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#)) {
        return None;
    }
    type_and_id(text).map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_id_is_refused_until_its_subscription_ends() {
        let in_use = InUse::default();
        let subscribe = r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { a }"}}"#;
        assert!(matches!(client_message(&in_use, subscribe), Verdict::Pass));
        assert!(matches!(client_message(&in_use, subscribe), Verdict::Duplicate(id) if id == "1"));
        assert!(matches!(
            client_message(&in_use, r#"{"type":"complete","id":"1"}"#),
            Verdict::Pass
        ));
        assert!(matches!(client_message(&in_use, subscribe), Verdict::Pass));
        let ended = ended_by_server(r#"{"type":"error","id":"1","payload":[]}"#).unwrap();
        lock(&in_use).remove(&ended);
        assert!(matches!(client_message(&in_use, subscribe), Verdict::Pass));
        assert_eq!(
            ended_by_server(r#"{"type":"next","id":"1","payload":{"data":{"error":1}}}"#),
            None
        );
    }
}
