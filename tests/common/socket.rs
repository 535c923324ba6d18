//! A `graphql-transport-ws` client for tests: the protocol's handshake,
//! subscribe messages, and the messages that come back.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestGateway;

/// How long a test waits for one message before it fails (events come
/// every few tens of milliseconds in tests; this only bounds a broken
/// gateway).
const PATIENCE: Duration = Duration::from_secs(20);

/// One `graphql-transport-ws` connection.
pub struct Socket(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Socket {
    /// Connects and completes the protocol's handshake.
    pub async fn open(gateway: &TestGateway) -> Self {
        Self::open_with(gateway, &[]).await
    }

    /// [`Socket::open`], the handshake carrying `headers` too.
    pub async fn open_with(gateway: &TestGateway, headers: &[(&'static str, &str)]) -> Self {
        let (stream, response) = Self::upgrade_with(gateway, headers)
            .await
            .expect("the WebSocket handshake succeeds");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        let mut socket = Self(stream);
        socket.send(json!({ "type": "connection_init" })).await;
        assert_eq!(socket.receive().await["type"], "connection_ack");
        socket
    }

    /// The WebSocket handshake alone, offering `graphql-transport-ws`.
    pub async fn upgrade(
        gateway: &TestGateway,
    ) -> Result<
        (
            WebSocketStream<MaybeTlsStream<TcpStream>>,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    > {
        Self::upgrade_with(gateway, &[]).await
    }

    async fn upgrade_with(
        gateway: &TestGateway,
        headers: &[(&'static str, &str)],
    ) -> Result<
        (
            WebSocketStream<MaybeTlsStream<TcpStream>>,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    > {
        let url = format!("{}/graphql", gateway.url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request).await
    }

    /// Closes the connection (a WebSocket close frame).
    pub async fn close(mut self) {
        let _ = self.0.close(None).await;
    }

    pub async fn send(&mut self, message: Value) {
        self.0
            .send(Message::text(message.to_string()))
            .await
            .expect("the gateway takes the message");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    /// The close frame the gateway ends the socket with (messages before
    /// it are passed over).
    pub async fn closed_with(&mut self) -> Option<(u16, String)> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("a message within the patience");
            match message {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|frame| (u16::from(frame.code), frame.reason.to_string()))
                }
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }

    /// Sends the protocol's ping every 100 ms (and a WebSocket ping) until
    /// the gateway closes the socket; its close code.
    pub async fn ping_until_closed(&mut self) -> Option<u16> {
        self.send_until_closed(|_| json!({ "type": "ping" })).await
    }

    /// Sends `message(n)` (the n-th) every 100 ms, each with a WebSocket
    /// ping, until the gateway closes the socket; its close code.
    pub async fn send_until_closed(
        &mut self,
        mut message: impl FnMut(u64) -> Value,
    ) -> Option<u16> {
        let sending = async {
            for n in 0.. {
                let text = message(n).to_string();
                if self.0.send(Message::text(text)).await.is_err()
                    || self.0.send(Message::Ping(Vec::new().into())).await.is_err()
                {
                    // The gateway closed while this was sending: its close
                    // frame may still be there to read (not a timing race
                    // for the test to lose).
                    while let Ok(Some(Ok(message))) =
                        tokio::time::timeout(std::time::Duration::from_secs(1), self.0.next()).await
                    {
                        if let Message::Close(frame) = message {
                            return frame.map(|frame| u16::from(frame.code));
                        }
                    }
                    return None;
                }
                match tokio::time::timeout(std::time::Duration::from_millis(100), self.0.next())
                    .await
                {
                    Ok(Some(Ok(Message::Close(frame)))) => {
                        return frame.map(|frame| u16::from(frame.code))
                    }
                    Ok(None | Some(Err(_))) => return None,
                    _ => continue,
                }
            }
            None
        };
        tokio::time::timeout(PATIENCE, sending)
            .await
            .expect("closed within the patience, messages or not")
    }

    /// The next protocol message.
    pub async fn receive(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("a message within the patience")
                .expect("the socket is open")
                .expect("a readable message");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(frame) => panic!("the gateway closed the socket: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The payloads of the next `count` `next` messages for `id`; messages
    /// for other ids are kept for later.
    pub async fn next_payloads(
        &mut self,
        id: &str,
        count: usize,
        others: &mut Vec<Value>,
    ) -> Vec<Value> {
        let mut payloads = Vec::new();
        while payloads.len() < count {
            let message = self.receive().await;
            if message["id"] == id {
                assert_eq!(message["type"], "next", "{message}");
                payloads.push(message["payload"].clone());
            } else {
                others.push(message);
            }
        }
        payloads
    }

    /// The one error payload that refused subscription `id`, which is then
    /// complete. Events of other subscriptions on the socket, which may
    /// arrive in between, are passed over.
    pub async fn refusal(&mut self, id: &str) -> Value {
        let message = self.receive_for(id).await;
        assert_eq!(message["type"], "next", "{message}");
        let payload = message["payload"].clone();
        assert!(payload.get("data").is_none_or(Value::is_null), "{payload}");
        let complete = self.receive_for(id).await;
        assert_eq!(complete, json!({ "id": id, "type": "complete" }));
        payload
    }

    /// The next message for `id`, passing over those for other ids.
    async fn receive_for(&mut self, id: &str) -> Value {
        loop {
            let message = self.receive().await;
            if message["id"] == id {
                return message;
            }
        }
    }
}
