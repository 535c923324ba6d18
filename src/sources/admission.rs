//! Whether an upstream request may go, and when: the admission stage of a
//! source's pipeline. A replica alone decides with its own [`Pacer`];
//! replicas sharing Redis decide together ([`SharedAdmission`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::pacing::{ClientId, Pacer, PlanReservation, Reservation};
use super::shared_admission::SharedAdmission;
use crate::error::Error;

/// A source's admission: local, or shared by the replicas.
#[derive(Debug, Clone)]
pub enum Admission {
    Local(Arc<Pacer>),
    Shared(Arc<SharedAdmission>),
}

/// How a source's requests are being admitted, for `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionMode {
    /// This replica's own pacing and budget (no `--redis-url`).
    Local,
    /// One decision for all replicas, in Redis.
    Shared,
    /// Redis is away: this replica keeps to its share of `replicas`.
    LocalShare { replicas: u32 },
}

impl AdmissionMode {
    /// The mode in words.
    pub fn describe(self) -> String {
        match self {
            Self::Local => "local".into(),
            Self::Shared => "shared".into(),
            Self::LocalShare { replicas } => {
                format!("local share: Redis unavailable, 1/{replicas} of the budget and pacing")
            }
        }
    }
}

impl Admission {
    pub fn mode(&self) -> AdmissionMode {
        match self {
            Self::Local(_) => AdmissionMode::Local,
            Self::Shared(shared) if shared.is_shared() => AdmissionMode::Shared,
            Self::Shared(shared) => AdmissionMode::LocalShare {
                replicas: shared.replicas(),
            },
        }
    }

    /// Readies the admission before the replica serves: a shared one leases
    /// its pacing turns now (a replica that went without Redis on a guessed
    /// turn could share it with another's).
    pub async fn prepare(&self) {
        if let Self::Shared(shared) = self {
            shared.lease_before_serving().await;
        }
    }

    /// Reserves `needed` requests for `client`'s plan in one step, or
    /// refuses the whole plan with the numbers.
    pub async fn reserve_plan(
        &self,
        needed: u32,
        client: &ClientId,
    ) -> Result<PlanReservation, Error> {
        match self {
            Self::Local(pacer) => pacer.reserve_plan(needed, client),
            Self::Shared(shared) => shared.reserve_plan(needed, client).await,
        }
    }

    /// Reserves one request for `client`.
    pub async fn reserve(&self, client: &ClientId) -> Result<Reservation, Error> {
        match self {
            Self::Local(pacer) => pacer.reserve(client),
            Self::Shared(shared) => shared.reserve(client).await,
        }
    }

    /// Requests `client` may still spend in the window, as this replica
    /// knows it (`None`: no budget). With Redis, the budget's remainder as
    /// last seen; the reservation is what decides.
    pub fn client_room(&self, client: &ClientId) -> Option<u32> {
        match self {
            Self::Local(pacer) => pacer.client_room(client),
            Self::Shared(shared) => shared.remaining(),
        }
    }

    /// Requests the budget has left in its window (`None`: no budget).
    pub fn remaining(&self) -> Option<u32> {
        match self {
            Self::Local(pacer) => pacer.remaining(),
            Self::Shared(shared) => shared.remaining(),
        }
    }

    /// Waits for this request's turn, or says why it has none (the request
    /// should fail now instead).
    pub async fn wait_turn(&self, deadline: Option<Instant>) -> Result<(), NoTurn> {
        match self {
            Self::Local(pacer) => {
                let wait = pacer.expected_wait();
                if deadline.is_some_and(|deadline| Instant::now() + wait > deadline) {
                    return Err(NoTurn::PastDeadline(wait));
                }
                pacer.wait_turn().await;
                Ok(())
            }
            Self::Shared(shared) => shared.wait_turn(deadline).await,
        }
    }
}

/// Why a request has no pacing turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTurn {
    /// Its turn would come past the operation's deadline, this long from
    /// now.
    PastDeadline(Duration),
    /// It could keep none of the turns it was given (each came, or was
    /// known, later than the slack allows): a machine too busy to keep the
    /// interval. Worth trying again after this long.
    Late(Duration),
    /// Redis is away and this replica has no turn of its own on the
    /// replicas' grid (its index was never leased: it started, or
    /// restarted, while Redis was away or every index was taken). A turn
    /// guessed could be another replica's, two requests in one interval.
    NoOwnTurn(Duration),
}

impl NoTurn {
    /// When to try again.
    pub fn wait(self) -> Duration {
        match self {
            Self::PastDeadline(wait) | Self::Late(wait) | Self::NoOwnTurn(wait) => wait,
        }
    }

    /// What the client is told.
    pub fn describe(self, source: crate::source::Source) -> String {
        match self {
            Self::PastDeadline(wait) => format!(
                "the gateway paces {source} and {} of queue are ahead of this request, past the operation's deadline",
                humantime::format_duration(Duration::from_secs(wait.as_secs()))
            ),
            Self::Late(_) => format!(
                "the gateway could not send this request to {source} within its pacing turn (the machine is busy)"
            ),
            Self::NoOwnTurn(_) => format!(
                "the replicas' pacing of {source} is shared through Redis, which this replica cannot reach, and it has no turn of its own until it can"
            ),
        }
    }
}
