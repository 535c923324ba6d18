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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
#[cfg(test)]
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};

/// The ids in use on one socket, each with whether the server has sent a
/// result for it.
type InUse = Arc<Mutex<HashMap<String, bool>>>;

/// Messages the server has queued for the socket, at most.
const OUTGOING: usize = 64;

/// The longest subscription id a client may use. Clients use counters or
/// UUIDs (36 bytes).
pub const MAX_ID_BYTES: usize = 256;

/// The longest close reason RFC 6455 allows (a control frame's 125 bytes,
/// less the code's two).
const MAX_CLOSE_REASON_BYTES: usize = 123;

/// What a socket's client has been doing: the operations it has open, and
/// when the socket last did something for it. A socket with neither for
/// the idle timeout is closed (issue 22: initialised sockets that
/// subscribed to nothing held a descriptor each for ever).
///
/// Only results count: an operation's result sent (`next` with data, or
/// `data` in the older protocol) and the end of an operation that had one.
/// Messages alone do not: a client that pings, or sends a `subscribe` the
/// server refuses (an invalid document, answered with errors only), or a `complete`
/// for an id it never had, held its socket for ever by sending one a
/// minute.
#[derive(Clone)]
pub struct SocketActivity {
    in_use: InUse,
    last_used: Arc<Mutex<tokio::time::Instant>>,
}

impl SocketActivity {
    fn new() -> Self {
        Self {
            in_use: InUse::default(),
            last_used: Arc::new(Mutex::new(tokio::time::Instant::now())),
        }
    }

    /// How long the socket has had no operation open and no result; `None`
    /// while an operation is open.
    pub fn idle_for(&self) -> Option<std::time::Duration> {
        if !lock(&self.in_use).is_empty() {
            return None;
        }
        let last = *self.last_used.lock().unwrap_or_else(|e| e.into_inner());
        Some(last.elapsed())
    }

    fn used(&self) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
    }

    /// The client subscribes with `id`: false when the id is in use.
    fn subscribed(&self, id: &str) -> bool {
        let mut in_use = lock(&self.in_use);
        if in_use.contains_key(id) {
            return false;
        }
        in_use.insert(id.to_owned(), false);
        true
    }

    /// The operation `id` ended (by the client or the server): the socket
    /// was in use until now if it had a result.
    fn ended(&self, id: &str) {
        if lock(&self.in_use).remove(id) == Some(true) {
            self.used();
        }
    }

    /// The server sends `text` to the client.
    fn server_sends(&self, text: &str) {
        let Some((kind, id)) = server_message(text) else {
            return;
        };
        match kind {
            ServerMessage::Result => {
                if let Some(answered) = lock(&self.in_use).get_mut(&id) {
                    *answered = true;
                }
                self.used();
            }
            ServerMessage::Refusal => {}
            ServerMessage::End => self.ended(&id),
        }
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
    let activity = SocketActivity::new();
    let server_side = activity.clone();
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
                server_side.server_sends(text.as_str());
            }
            if to_socket.send(message).await.is_err() {
                return;
            }
        }
        let _ = to_socket.close().await;
    };
    let closer = outgoing.clone();
    let client_side = activity.clone();
    let incoming = from_socket
        .scan(closer, move |closer, message| {
            let verdict = match &message {
                Ok(Message::Text(text)) => client_message(&client_side, text.as_str()),
                Err(error) if too_big(error) => Verdict::TooBig,
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
                    // Past --max-body-bytes: 1009, as RFC 6455 says (the
                    // socket was dropped without a code).
                    Verdict::TooBig => {
                        close(closer, 1009, "a message is at most --max-body-bytes").await;
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
    TooBig,
}

/// Whether the socket's read failed on a message (or frame) past its size
/// limit. tungstenite says so only in its error's text ("Space limit
/// exceeded: Message too long", "Message too long"), which axum wraps.
fn too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("Message too long") || text.contains("Space limit exceeded")
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

fn lock(in_use: &InUse) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
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
fn client_message(activity: &SocketActivity, text: &str) -> Verdict {
    match type_and_id(text) {
        Some((kind, id)) if (kind == "subscribe" || kind == "start") && id.len() > MAX_ID_BYTES => {
            Verdict::IdTooLong
        }
        Some((kind, id)) if kind == "subscribe" || kind == "start" => {
            if activity.subscribed(&id) {
                Verdict::Pass
            } else {
                Verdict::Duplicate(id)
            }
        }
        Some((kind, id)) if kind == "complete" || kind == "stop" => {
            activity.ended(&id);
            Verdict::Pass
        }
        _ => Verdict::Pass,
    }
}

/// What a server message is to an operation.
#[derive(Debug, PartialEq)]
enum ServerMessage {
    /// A result: `next` (`data` in the older protocol) with data. A
    /// refusal is a `next` with errors only (then `complete`), and is not
    /// one.
    Result,
    /// A refusal, or another message that neither answers nor ends.
    Refusal,
    /// Its end: `complete` or `error`.
    End,
}

/// The kind and id of a server message about an operation (serde writes
/// the tag first, so they are told apart before the payload is read).
fn server_message(text: &str) -> Option<(ServerMessage, String)> {
    if text.starts_with(r#"{"type":"next""#) || text.starts_with(r#"{"type":"data""#) {
        #[derive(serde::Deserialize)]
        struct Next {
            id: String,
            payload: Option<Payload>,
        }
        #[derive(serde::Deserialize)]
        struct Payload {
            #[serde(default)]
            data: Option<serde::de::IgnoredAny>,
        }
        let next: Next = serde_json::from_str(text).ok()?;
        let kind = match next.payload {
            Some(Payload { data: Some(_) }) => ServerMessage::Result,
            _ => ServerMessage::Refusal,
        };
        return Some((kind, next.id));
    }
    if text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#) {
        return type_and_id(text).map(|(_, id)| (ServerMessage::End, id));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_duplicate_id_is_refused_until_its_subscription_ends() {
        let activity = SocketActivity::new();
        let subscribe = r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { a }"}}"#;
        assert!(matches!(
            client_message(&activity, subscribe),
            Verdict::Pass
        ));
        assert!(
            matches!(client_message(&activity, subscribe), Verdict::Duplicate(id) if id == "1")
        );
        assert!(matches!(
            client_message(&activity, r#"{"type":"complete","id":"1"}"#),
            Verdict::Pass
        ));
        assert!(matches!(
            client_message(&activity, subscribe),
            Verdict::Pass
        ));
        activity.server_sends(r#"{"type":"error","id":"1","payload":[]}"#);
        assert!(matches!(
            client_message(&activity, subscribe),
            Verdict::Pass
        ));
        assert_eq!(
            server_message(r#"{"type":"next","id":"1","payload":{"data":{"error":1}}}"#),
            Some((ServerMessage::Result, "1".to_owned()))
        );
    }

    /// What happens on a socket, in the model below.
    #[derive(Debug, Clone)]
    enum Event {
        Subscribe(u8),
        Complete(u8),
        Next(u8),
        Refused(u8),
        ServerComplete(u8),
        Error(u8),
        Ping,
        Wait(u64),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (0u8..4).prop_map(Event::Subscribe),
            (0u8..4).prop_map(Event::Complete),
            (0u8..4).prop_map(Event::Next),
            (0u8..4).prop_map(Event::Refused),
            (0u8..4).prop_map(Event::ServerComplete),
            (0u8..4).prop_map(Event::Error),
            Just(Event::Ping),
            (1u64..5_000).prop_map(Event::Wait),
        ]
    }

    proptest! {
        /// The idle rule, over generated sockets on paused time: the clock
        /// is stopped while an operation is open, and restarts only on a
        /// result sent or the end of an operation that had one. Refused
        /// subscribes (answered with errors only, or ended by `error`
        /// with no result), `complete` for ids
        /// not in use, and pings never restart it (each kept a socket
        /// open for ever by being sent once a minute).
        #[test]
        fn only_results_keep_a_socket_from_idling(events in proptest::collection::vec(event(), 1..60)) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let activity = SocketActivity::new();
                let started = tokio::time::Instant::now();
                // The model: open ids with whether they had a result, and
                // when the socket was last used.
                let mut open: HashMap<u8, bool> = HashMap::new();
                let mut last_used = started;
                for event in &events {
                    let now = tokio::time::Instant::now();
                    match *event {
                        Event::Subscribe(id) => {
                            let text = format!(r#"{{"type":"subscribe","id":"{id}","payload":{{}}}}"#);
                            let passed = matches!(client_message(&activity, &text), Verdict::Pass);
                            prop_assert_eq!(passed, !open.contains_key(&id));
                            open.entry(id).or_insert(false);
                        }
                        Event::Complete(id) | Event::ServerComplete(id) | Event::Error(id) => {
                            let text = match event {
                                Event::Complete(_) => format!(r#"{{"type":"complete","id":"{id}"}}"#),
                                Event::ServerComplete(_) => format!(r#"{{"type":"complete","id":"{id}"}}"#),
                                _ => format!(r#"{{"type":"error","id":"{id}","payload":[]}}"#),
                            };
                            if matches!(event, Event::Complete(_)) {
                                client_message(&activity, &text);
                            } else {
                                activity.server_sends(&text);
                            }
                            if open.remove(&id) == Some(true) {
                                last_used = now;
                            }
                        }
                        Event::Next(id) => {
                            activity.server_sends(&format!(r#"{{"type":"next","id":"{id}","payload":{{"data":{{}}}}}}"#));
                            if let Some(answered) = open.get_mut(&id) {
                                *answered = true;
                            }
                            last_used = now;
                        }
                        Event::Refused(id) => {
                            activity.server_sends(&format!(r#"{{"type":"next","id":"{id}","payload":{{"data":null,"errors":[{{"message":"no"}}]}}}}"#));
                        }
                        Event::Ping => {
                            client_message(&activity, r#"{"type":"ping"}"#);
                        }
                        Event::Wait(ms) => tokio::time::advance(Duration::from_millis(ms)).await,
                    }
                    let expected = open.is_empty().then(|| tokio::time::Instant::now() - last_used);
                    prop_assert_eq!(activity.idle_for(), expected, "after {:?}", event);
                }
                if !events.iter().any(|event| matches!(event, Event::Next(_))) && open.is_empty() {
                    prop_assert_eq!(activity.idle_for(), Some(tokio::time::Instant::now() - started));
                }
                Ok(())
            })?;
        }
    }
}
