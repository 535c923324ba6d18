//! Attempts in flight to one source, bounded in all and by client.
//!
//! A sent attempt runs to its own end whatever becomes of its operation
//! (so that the breaker hears of a hang); this stage keeps those that
//! outlive their clients from taking every socket, and one client from
//! taking every place.

use std::collections::HashMap;
use std::sync::Arc;

use super::pacing::ClientId;

/// Attempts to one source in flight at most. A sent attempt runs to its
/// own end whatever becomes of its operation (so that the breaker hears of
/// a hang), so clients that go away could otherwise leave thousands open
/// (issue 22 attack: 3,000 sockets to a hung upstream); past this, an
/// attempt fails at once as the gateway's unavailability, not the
/// upstream's.
pub const ATTEMPTS_IN_FLIGHT: usize = 256;

/// Attempts to one source one client may have in flight: a quarter of
/// [`ATTEMPTS_IN_FLIGHT`], so that one client whose operations hang (or
/// who leaves them hanging) cannot take every slot from the others. A
/// client past its share waits for one of its own attempts to end (within
/// its operation's deadline) rather than failing: an operation that fans
/// out wider is paced by its share, not refused.
pub const CLIENT_ATTEMPTS_IN_FLIGHT: usize = ATTEMPTS_IN_FLIGHT / 4;

/// The attempts in flight to one source, in all and by client.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    by_client: std::sync::Mutex<HashMap<ClientId, usize>>,
    /// Woken whenever an attempt ends, for clients waiting on their share.
    freed: tokio::sync::Notify,
}

/// One attempt's place in [`InFlight`], given back when dropped.
pub(super) struct InFlightSlot {
    in_flight: Arc<InFlight>,
    client: ClientId,
}

/// Why no place was taken.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NoPlace {
    /// The source has every place taken: the attempt fails at once.
    Source,
    /// The client has its share: the attempt may wait for one of its own.
    Client,
}

impl InFlight {
    /// A place for `client`'s attempt, if the source and the client have
    /// one left.
    pub(super) fn try_take(self: &Arc<Self>, client: &ClientId) -> Result<InFlightSlot, NoPlace> {
        let mut by_client = self
            .by_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let total: usize = by_client.values().sum();
        let mine = by_client.get(client).copied().unwrap_or(0);
        if total >= ATTEMPTS_IN_FLIGHT {
            return Err(NoPlace::Source);
        }
        if mine >= CLIENT_ATTEMPTS_IN_FLIGHT {
            return Err(NoPlace::Client);
        }
        by_client.insert(client.clone(), mine + 1);
        Ok(InFlightSlot {
            in_flight: Arc::clone(self),
            client: client.clone(),
        })
    }

    /// A place for `client`'s attempt: at once, or, when only the client's
    /// share is taken, once one of its attempts ends, before `deadline`.
    pub(super) async fn take(
        self: &Arc<Self>,
        client: &ClientId,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<InFlightSlot, NoPlace> {
        loop {
            // Registered before looking, so that an attempt ending between
            // the look and the wait is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            match self.try_take(client) {
                Err(NoPlace::Client) => {}
                taken => return taken,
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, freed).await.is_err() {
                        return Err(NoPlace::Client);
                    }
                }
                None => freed.await,
            }
        }
    }
}

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let mut by_client = self
            .in_flight
            .by_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                by_client.remove(&self.client);
            }
        }
        drop(by_client);
        self.in_flight.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    /// One step: a client asks for a place, or an attempt holding one ends.
    #[derive(Clone, Debug)]
    enum Step {
        Take(usize),
        End(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0usize..6).prop_map(Step::Take),
            1 => any::<usize>().prop_map(Step::End),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Generated takes and ends against a model: a place is given
        /// exactly when the source has fewer than [`ATTEMPTS_IN_FLIGHT`]
        /// and the client fewer than [`CLIENT_ATTEMPTS_IN_FLIGHT`]; the
        /// refusal says which is full; an ended attempt's place is given
        /// back to its client.
        #[test]
        fn places_are_given_within_the_source_and_the_clients_share(
            steps in proptest::collection::vec(step(), 200..700),
        ) {
            let in_flight = Arc::new(InFlight::default());
            let clients: Vec<ClientId> = (0..6).map(|n| ClientId(format!("c{n}"))).collect();
            let mut held: Vec<(usize, InFlightSlot)> = Vec::new();
            for step in steps {
                match step {
                    Step::Take(client) => {
                        let total = held.len();
                        let mine = held.iter().filter(|(owner, _)| *owner == client).count();
                        let taken = in_flight.try_take(&clients[client]);
                        match taken {
                            Ok(slot) => {
                                prop_assert!(total < ATTEMPTS_IN_FLIGHT && mine < CLIENT_ATTEMPTS_IN_FLIGHT);
                                held.push((client, slot));
                            }
                            Err(NoPlace::Source) => prop_assert!(total >= ATTEMPTS_IN_FLIGHT),
                            Err(NoPlace::Client) => {
                                prop_assert!(total < ATTEMPTS_IN_FLIGHT && mine >= CLIENT_ATTEMPTS_IN_FLIGHT);
                            }
                        }
                    }
                    Step::End(which) if !held.is_empty() => {
                        held.swap_remove(which % held.len());
                    }
                    Step::End(_) => {}
                }
            }
        }
    }

    /// A client past its share waits for one of its own attempts to end
    /// (another client's ending does not free its share), and gives up at
    /// its deadline.
    #[tokio::test(start_paused = true)]
    async fn a_client_past_its_share_waits_for_its_own_attempt_or_its_deadline() {
        let in_flight = Arc::new(InFlight::default());
        let (mine, other) = (ClientId("mine".into()), ClientId("other".into()));
        let mut held: Vec<InFlightSlot> = (0..CLIENT_ATTEMPTS_IN_FLIGHT)
            .map(|_| in_flight.try_take(&mine).unwrap())
            .collect();
        let others = in_flight.try_take(&other).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let waiting = tokio::spawn({
            let in_flight = Arc::clone(&in_flight);
            let mine = mine.clone();
            async move { in_flight.take(&mine, Some(deadline)).await.ok() }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(others);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            !waiting.is_finished(),
            "another client's end frees nothing of mine"
        );
        held.pop();
        let given = waiting.await.unwrap();
        assert!(given.is_some(), "given the place my attempt gave back");

        let late = in_flight.take(
            &mine,
            Some(tokio::time::Instant::now() + Duration::from_secs(3)),
        );
        assert_eq!(late.await.err(), Some(NoPlace::Client));
        drop((held, given));
    }
}
