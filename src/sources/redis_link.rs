//! The one connection replicas share Redis through (`--redis-url`), for the
//! shared response cache and the shared admission of upstream requests.
//!
//! Redis is never a reason not to answer: a replica starts even when Redis
//! cannot be reached (it connects in the background and says so), every
//! call is bounded by a short timeout, and each failed call marks Redis
//! unavailable until one succeeds again. What each user does meanwhile is
//! its own business: the cache fetches alone, admission falls back to the
//! replica's local share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::http::Secret;

/// How long a Redis call may take before the replica does without it.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// How often a replica without Redis tries to connect.
const CONNECT_RETRY: Duration = Duration::from_secs(1);
/// How often an idle link pings Redis, so that its state is known
/// without traffic.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// A handle on the replicas' Redis; cheap to clone.
#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    /// The connection in use; `None` while Redis is away (calls then do
    /// without it at once, instead of each waiting out a timeout).
    connection: Arc<Mutex<Option<ConnectionManager>>>,
    /// Whether a task is trying to connect.
    connecting: Arc<AtomicBool>,
    available: Arc<AtomicBool>,
    /// Whether a refusal (authentication) was logged since the last
    /// success: said once, not at every retry.
    refused_logged: Arc<AtomicBool>,
}

/// Whether Redis answered but will not serve this client (no or wrong
/// password, an ACL user without the rights).
fn refuses_this_client(error: &redis::RedisError) -> bool {
    matches!(error.kind(), redis::ErrorKind::AuthenticationFailed)
        || matches!(error.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisLink")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// A link to Redis at `url`. A URL that is not a Redis URL is refused
    /// (without repeating it: it may carry a password); a Redis that does
    /// not answer yet is not: the replica starts on its own and connects
    /// when Redis does.
    pub async fn open(url: &Secret) -> Result<Self, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|error| format!("--redis-url is not a Redis URL: {:?}", error.kind()))?;
        let link = Self {
            client,
            connection: Arc::new(Mutex::new(None)),
            connecting: Arc::new(AtomicBool::new(false)),
            available: Arc::new(AtomicBool::new(false)),
            refused_logged: Arc::new(AtomicBool::new(false)),
        };
        if !link.try_connect().await {
            tracing::warn!(
                "cannot reach Redis at --redis-url yet: this replica starts on its own (local share of each budget) and keeps trying"
            );
            link.reconnect();
        }
        link.watch();
        Ok(link)
    }

    /// Pings Redis every [`PROBE_INTERVAL`] while the link lives, so that
    /// `/readyz` and `trade_graph_redis_up` tell the truth on an idle
    /// replica too (a Redis that died between requests was reported up
    /// until the next request touched it).
    fn watch(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let connection = Arc::downgrade(&self.connection);
        let (client, connecting, available, refused_logged) = (
            self.client.clone(),
            self.connecting.clone(),
            self.available.clone(),
            self.refused_logged.clone(),
        );
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(PROBE_INTERVAL).await;
                // Gone with the gateway that held it.
                let Some(connection) = connection.upgrade() else {
                    return;
                };
                let link = RedisLink {
                    client: client.clone(),
                    connection,
                    connecting: connecting.clone(),
                    available: available.clone(),
                    refused_logged: refused_logged.clone(),
                };
                if link.lock().is_some() {
                    let _: Option<String> = link
                        .call(|mut connection| async move {
                            redis::cmd("PING").query_async(&mut connection).await
                        })
                        .await;
                }
            }
        });
    }

    async fn try_connect(&self) -> bool {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CALL_TIMEOUT * 4)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        let Ok(Ok(mut connection)) = tokio::time::timeout(CALL_TIMEOUT * 8, connect).await else {
            return false;
        };
        // Connected is not admitted: a Redis that wants a password answers
        // every command NOAUTH, and the replica must not count it as
        // shared.
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        match tokio::time::timeout(CALL_TIMEOUT * 4, ping).await {
            Ok(Ok(_)) => {
                *self.lock() = Some(connection);
                self.note(true);
                true
            }
            Ok(Err(error)) if refuses_this_client(&error) => {
                if !self.refused_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(kind = ?error.kind(), "Redis refuses this replica's commands: it wants a password (or another user) that --redis-url does not give; answering without it");
                }
                false
            }
            _ => false,
        }
    }

    /// Drops the connection and connects again in the background, until
    /// Redis answers (one task at a time).
    fn reconnect(&self) {
        self.lock().take();
        if self.connecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.connecting.store(false, Ordering::Release);
            return;
        };
        let link = self.clone();
        runtime.spawn(async move {
            while !link.try_connect().await {
                tokio::time::sleep(CONNECT_RETRY).await;
            }
            link.connecting.store(false, Ordering::Release);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ConnectionManager>> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the last call reached Redis.
    /// The flag behind [`Self::available`], for the metric that exports it.
    pub fn availability(&self) -> Arc<AtomicBool> {
        self.available.clone()
    }

    pub fn available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    /// Runs one Redis call, bounded by [`CALL_TIMEOUT`]; `None` when Redis
    /// is not connected, fails or is too slow (it is then marked
    /// unavailable, and a connection is sought again in the background).
    pub async fn call<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.lock().clone()?;
        match tokio::time::timeout(CALL_TIMEOUT, call(connection)).await {
            Ok(Ok(value)) => {
                self.note(true);
                Some(value)
            }
            Ok(Err(error)) if refuses_this_client(&error) => {
                // Reached, but not admitted: as good as away.
                self.note(false);
                self.reconnect();
                None
            }
            Ok(Err(error)) if !error.is_io_error() && !error.is_unrecoverable_error() => {
                // Redis answered, with an error (a script's, a type's): the
                // link is fine; the kind only, a server error can echo the
                // command.
                tracing::warn!(kind = ?error.kind(), "Redis refused a call");
                None
            }
            _ => {
                self.note(false);
                self.reconnect();
                None
            }
        }
    }
    fn note(&self, reached: bool) {
        if reached {
            self.refused_logged.store(false, Ordering::Relaxed);
        }
        let was = self.available.swap(reached, Ordering::Relaxed);
        if was != reached {
            if reached {
                tracing::info!("Redis is reachable: replicas share the cache and admission");
            } else {
                tracing::warn!(
                    "Redis is unreachable: this replica fetches on its own and keeps to its local share until it returns"
                );
            }
        }
    }
}
