//! Per-operation batching without a timer: the keys an operation's resolvers
//! ask for are collected, and go out as one batch the moment the operation can
//! make no further progress without them.
//!
//! Why not async-graphql's `DataLoader`: it closes a batch on a timer (1 ms by
//! default), so every operation that touches a source waits out the window
//! even when the response cache answers at once, and a large query whose keys
//! take longer than the window to register is split into extra upstream
//! requests (BENCHMARKS.md measured both: a 5 ms Comtrade window was most of
//! the warm latency, and a 1 ms one cost 3 requests instead of 1 at 100
//! jurisdictions × 12 periods).
//!
//! The moment a batch is complete is knowable instead: every resolver of an
//! operation runs inside the one future that executes it. When that future
//! returns `Pending` without having woken itself, every resolver that could
//! register a key has done so and is waiting. [`drive`] wraps the execution,
//! notices that moment, and runs the batches in the same task (a cache-served
//! batch finishes within the same poll, with no thread hop and no timer).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::Loader;
use futures::channel::oneshot;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::AtomicWaker;

use crate::error::Error;
use crate::source::Source;

/// One batch of loads, ready to run.
pub type Batch = BoxFuture<'static, ()>;

type Answer<K, V> = Result<HashMap<K, V>, Error>;

/// The loads waiting for the next batch.
type Waiting<K, V> = Vec<Waiter<K, V>>;

/// One `load_many` call waiting for its batch.
struct Waiter<K, V> {
    keys: Vec<K>,
    reply: oneshot::Sender<Answer<K, V>>,
}

/// Collects the keys of one operation for one loader; [`drive`] sends them.
pub struct BatchLoader<K, L: Loader<K>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    loader: Arc<L>,
    waiting: Arc<Mutex<Waiting<K, L::Value>>>,
    /// Whether the keys of different loads share a call of the loader (off
    /// only to measure the baseline: each load is then a call of its own).
    batching: bool,
    /// Set once [`drive`] runs the operation; until then nothing would ever
    /// send the batch, so loads go straight to the loader.
    driven: Arc<AtomicBool>,
    /// The upstream behind the loader and the operation's deadline, to name
    /// in the error of a load the deadline cut off.
    source: Source,
    deadline: Duration,
}

impl<K, L> Clone for BatchLoader<K, L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    fn clone(&self) -> Self {
        Self {
            loader: self.loader.clone(),
            waiting: self.waiting.clone(),
            batching: self.batching,
            driven: self.driven.clone(),
            source: self.source,
            deadline: self.deadline,
        }
    }
}

impl<K, L> BatchLoader<K, L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Error>,
{
    /// A loader for `source`'s keys; `deadline` is the operation's, for
    /// the error of loads it cuts off.
    pub fn new(
        loader: L,
        source: Source,
        batching: bool,
        driven: Arc<AtomicBool>,
        deadline: Duration,
    ) -> Self {
        Self {
            loader: Arc::new(loader),
            waiting: Arc::default(),
            batching,
            driven,
            source,
            deadline,
        }
    }

    /// The values of `keys` (a key the loader has no value for is absent).
    pub async fn load_many(&self, keys: impl IntoIterator<Item = K>) -> Answer<K, L::Value> {
        let keys: Vec<K> = keys.into_iter().collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        if !self.batching || !self.driven.load(Ordering::Acquire) {
            return self.loader.load(&keys).await;
        }
        let (reply, answer) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Waiter { keys, reply });
        // The sender is dropped unanswered when the operation's deadline cut
        // the batch off (or the operation itself was dropped, and then so is
        // this future).
        answer.await.unwrap_or_else(|_| {
            Err(Error::DeadlineExceeded {
                upstream: self.source,
                after: self.deadline,
            })
        })
    }

    /// The value of one key.
    pub async fn load_one(&self, key: K) -> Result<Option<L::Value>, Error> {
        let mut values = self.load_many([key.clone()]).await?;
        Ok(values.remove(&key))
    }

    /// Everything asked for since the last call, as one batch to run; `None`
    /// when nothing waits.
    pub fn take_batch(&self) -> Option<Batch> {
        let waiters =
            std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner));
        if waiters.is_empty() {
            return None;
        }
        let loader = self.loader.clone();
        // One span per batch sent, under the operation's (a trace shows
        // which loads went out together, and how long each batch took).
        let span = tracing::debug_span!(
            "source.batch",
            loader = loader_name::<L>(),
            keys = tracing::field::Empty,
        );
        Some(Box::pin(tracing::Instrument::instrument(
            async move {
                // Distinct keys, in the order they were asked for.
                let mut seen = HashSet::new();
                let keys: Vec<K> = waiters
                    .iter()
                    .flat_map(|waiter| waiter.keys.iter())
                    .filter(|key| seen.insert(*key))
                    .cloned()
                    .collect();
                tracing::Span::current().record("keys", keys.len());
                let values = loader.load(&keys).await;
                for waiter in waiters {
                    let answer = match &values {
                        Err(error) => Err(error.clone()),
                        Ok(values) => Ok(waiter
                            .keys
                            .into_iter()
                            .filter_map(|key| {
                                let value = values.get(&key)?.clone();
                                Some((key, value))
                            })
                            .collect()),
                    };
                    // A waiter whose resolver was dropped no longer listens.
                    let _ = waiter.reply.send(answer);
                }
            },
            span,
        )))
    }
}

/// A loader's type name without its path ("GtaSearchLoader"), for spans.
fn loader_name<L>() -> &'static str {
    let name = std::any::type_name::<L>();
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::").next().unwrap_or(name)
}

/// Something that holds an operation's waiting keys.
pub trait PendingBatches {
    /// Marks the operation as driven: from now on loads wait for a batch.
    fn start_driving(&self);
    /// Every batch that has keys waiting.
    fn take_batches(&self) -> Vec<Batch>;
    /// When the operation's loads are cut off: batches running then are
    /// dropped (their loads fail with [`Error::DeadlineExceeded`]) and later
    /// ones are not sent; the operation then finishes with what it has.
    fn deadline(&self) -> Option<tokio::time::Instant>;
    /// Whether the operation is to be stopped at once (its result grew past
    /// the cap).
    fn abandoned(&self) -> bool;
}

/// Records that the operation asked to be polled again (so it is not idle
/// yet), and wakes the task running [`drive`] when the wake comes from
/// outside its poll (an upstream answer). A wake during the poll is the
/// operation yielding, which [`drive`] answers itself.
#[derive(Default)]
struct IdleSignal {
    woken: AtomicBool,
    polling: AtomicBool,
    task: AtomicWaker,
}

impl Wake for IdleSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            self.task.wake();
        }
    }
}

/// How many times in one poll [`drive`] polls an operation again at once when
/// it yields (async-graphql's lists yield after polling every field once),
/// before it yields to the runtime itself. Going to the back of the runtime's
/// queue at every such yield made each cache-served operation wait behind
/// every other connection twice, and kept all of them in memory at once.
const YIELDS_ANSWERED_IN_PLACE: u32 = 32;

/// Runs `operation` and sends its batches each time it goes idle.
pub async fn drive<F: Future>(pending: &impl PendingBatches, operation: F) -> Option<F::Output> {
    pending.start_driving();
    let mut operation = std::pin::pin!(operation);
    let mut running: FuturesUnordered<Batch> = FuturesUnordered::new();
    let signal = Arc::new(IdleSignal::default());
    let waker = Waker::from(signal.clone());
    let mut deadline = pending
        .deadline()
        .map(|at| Box::pin(tokio::time::sleep_until(at)));
    let mut expired = false;
    std::future::poll_fn(|cx| {
        signal.task.register(cx.waker());
        if let Some(sleep) = deadline.as_mut() {
            if !expired && sleep.as_mut().poll(cx).is_ready() {
                // Dropping the batches drops their waiters' senders, which
                // fails the loads and wakes the operation.
                expired = true;
                running = FuturesUnordered::new();
            }
        }
        let mut yields_left = YIELDS_ANSWERED_IN_PLACE;
        loop {
            // Batches that finish answer their waiters, which wakes them.
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            signal.woken.store(false, Ordering::SeqCst);
            signal.polling.store(true, Ordering::SeqCst);
            let mut operation_cx = std::task::Context::from_waker(&waker);
            let polled = operation.as_mut().poll(&mut operation_cx);
            signal.polling.store(false, Ordering::SeqCst);
            if pending.abandoned() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(output) = polled {
                return Poll::Ready(Some(output));
            }
            if signal.woken.load(Ordering::SeqCst) {
                // It wants polling again: it is not idle, more keys may come.
                if yields_left > 0 {
                    yields_left -= 1;
                    continue;
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let batches = pending.take_batches();
            if batches.is_empty() {
                return Poll::Pending;
            }
            if expired {
                // Past the deadline nothing more is sent: the loads fail.
                drop(batches);
                continue;
            }
            running.extend(batches);
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Doubles its keys; records every batch it was called with; key 13 fails.
    #[derive(Default)]
    struct Doubler {
        calls: Arc<Mutex<Vec<Vec<u32>>>>,
    }

    impl Loader<u32> for Doubler {
        type Value = u32;
        type Error = Error;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Error> {
            self.calls.lock().unwrap().push(keys.to_vec());
            // An answer that is not ready at first, as an upstream's is not.
            tokio::task::yield_now().await;
            if keys.contains(&99) {
                // An upstream that never answers.
                std::future::pending::<()>().await;
            }
            if keys.contains(&13) {
                return Err(Error::BadInput("13 is unlucky".into()));
            }
            Ok(keys.iter().map(|&key| (key, key * 2)).collect())
        }
    }

    struct Operation {
        doubler: BatchLoader<u32, Doubler>,
        driven: Arc<AtomicBool>,
        sent: AtomicUsize,
        deadline: Option<tokio::time::Instant>,
        abandoned: AtomicBool,
    }

    impl Operation {
        fn new(batching: bool) -> (Self, Arc<Mutex<Vec<Vec<u32>>>>) {
            let loader = Doubler::default();
            let calls = loader.calls.clone();
            let driven = Arc::new(AtomicBool::new(false));
            let operation = Self {
                doubler: BatchLoader::new(
                    loader,
                    Source::Gta,
                    batching,
                    driven.clone(),
                    Duration::from_secs(1),
                ),
                driven,
                sent: AtomicUsize::new(0),
                deadline: None,
                abandoned: AtomicBool::new(false),
            };
            (operation, calls)
        }
    }

    impl PendingBatches for Operation {
        fn start_driving(&self) {
            self.driven.store(true, Ordering::Release);
        }
        fn take_batches(&self) -> Vec<Batch> {
            let batches: Vec<_> = self.doubler.take_batch().into_iter().collect();
            self.sent.fetch_add(batches.len(), Ordering::Relaxed);
            batches
        }
        fn deadline(&self) -> Option<tokio::time::Instant> {
            self.deadline
        }
        fn abandoned(&self) -> bool {
            self.abandoned.load(Ordering::Relaxed)
        }
    }

    #[tokio::test]
    async fn keys_asked_for_together_go_in_one_batch_and_dependent_ones_in_the_next() {
        let (operation, calls) = Operation::new(true);
        let loader = &operation.doubler;
        let (first, second) = drive(&operation, async {
            let siblings = futures::future::join_all((1..=4).map(|key| loader.load_one(key))).await;
            // Asked only after the first answers: a second batch.
            let dependent = loader.load_many([2, 5]).await.unwrap();
            (siblings, dependent)
        })
        .await
        .expect("not abandoned");
        let first: Vec<_> = first.into_iter().map(|value| value.unwrap()).collect();
        assert_eq!(first, vec![Some(2), Some(4), Some(6), Some(8)]);
        assert_eq!(second, HashMap::from([(2, 4), (5, 10)]));
        assert_eq!(*calls.lock().unwrap(), vec![vec![1, 2, 3, 4], vec![2, 5]]);
        assert_eq!(operation.sent.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn the_same_key_asked_twice_in_a_batch_is_loaded_once() {
        let (operation, calls) = Operation::new(true);
        let loader = &operation.doubler;
        let answers = drive(&operation, async {
            futures::join!(loader.load_many([7, 8]), loader.load_many([8, 9]))
        })
        .await
        .expect("not abandoned");
        assert_eq!(answers.0.unwrap(), HashMap::from([(7, 14), (8, 16)]));
        assert_eq!(answers.1.unwrap(), HashMap::from([(8, 16), (9, 18)]));
        assert_eq!(*calls.lock().unwrap(), vec![vec![7, 8, 9]]);
    }

    #[tokio::test]
    async fn a_failed_batch_answers_every_load_in_it_with_the_error() {
        let (operation, calls) = Operation::new(true);
        let loader = &operation.doubler;
        let (lucky, unlucky) = drive(&operation, async {
            futures::join!(loader.load_many([1, 2]), loader.load_many([3, 13]))
        })
        .await
        .expect("not abandoned");
        let error = Error::BadInput("13 is unlucky".into());
        assert_eq!(lucky.unwrap_err(), error);
        assert_eq!(unlucky.unwrap_err(), error);
        assert_eq!(*calls.lock().unwrap(), vec![vec![1, 2, 3, 13]]);
    }

    #[tokio::test]
    async fn batching_off_calls_the_loader_once_per_load() {
        let (operation, calls) = Operation::new(false);
        let loader = &operation.doubler;
        let (few, one) = drive(&operation, async {
            futures::join!(loader.load_many([1, 2, 3]), loader.load_one(4))
        })
        .await
        .expect("not abandoned");
        assert_eq!(few.unwrap().len(), 3);
        assert_eq!(one.unwrap(), Some(8));
        assert_eq!(*calls.lock().unwrap(), vec![vec![1, 2, 3], vec![4]]);
        assert_eq!(operation.sent.load(Ordering::Relaxed), 0);
    }

    /// Wakes its task and returns `Pending` `times` times, as a future that
    /// yields does.
    struct Yields {
        times: u32,
    }

    impl Future for Yields {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context) -> Poll<()> {
            if self.times == 0 {
                return Poll::Ready(());
            }
            self.times -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn an_operation_that_yields_is_polled_again_in_place_up_to_a_bound() {
        let (operation, _) = Operation::new(true);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);

        let mut few = std::pin::pin!(drive(&operation, Yields { times: 3 }));
        assert!(few.as_mut().poll(&mut cx).is_ready());

        let times = YIELDS_ANSWERED_IN_PLACE + 5;
        let mut many = std::pin::pin!(drive(&operation, Yields { times }));
        assert!(
            many.as_mut().poll(&mut cx).is_pending(),
            "yields to the runtime in the end"
        );
        assert!(many.as_mut().poll(&mut cx).is_ready());
    }

    #[tokio::test]
    async fn a_load_outside_a_driven_operation_goes_straight_to_the_loader() {
        let (operation, calls) = Operation::new(true);
        let answer = operation.doubler.load_one(21).await.unwrap();
        assert_eq!(answer, Some(42));
        assert_eq!(*calls.lock().unwrap(), vec![vec![21]]);
        assert_eq!(operation.sent.load(Ordering::Relaxed), 0);
    }

    /// At the deadline a hung batch is dropped: its loads fail naming the
    /// source, loads already answered keep their values (paused time).
    #[tokio::test(start_paused = true)]
    async fn the_deadline_fails_only_the_loads_still_waiting() {
        let (mut operation, _) = Operation::new(true);
        operation.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(1));
        let loader = &operation.doubler;
        let started = tokio::time::Instant::now();
        let (answered, hung) = drive(&operation, async {
            let answered = loader.load_one(1).await;
            let hung = loader.load_one(99).await;
            (answered, hung)
        })
        .await
        .expect("not abandoned");
        assert_eq!(answered.unwrap(), Some(2));
        assert_eq!(
            hung.unwrap_err(),
            Error::DeadlineExceeded {
                upstream: Source::Gta,
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    /// An abandoned operation stops at once, its output never produced.
    #[tokio::test]
    async fn an_abandoned_operation_stops() {
        let (operation, _) = Operation::new(true);
        operation.abandoned.store(true, Ordering::Relaxed);
        let loader = &operation.doubler;
        let output = drive(&operation, async { loader.load_one(1).await }).await;
        assert!(output.is_none());
    }
}
