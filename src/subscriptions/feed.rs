//! One polled feed of new records: a poll loop per key, shared by every
//! subscriber of that key.
//!
//! The first subscriber of a key starts its loop; later ones join it, so a
//! key costs one upstream request per interval however many subscribers it
//! has. The loop's first successful poll is the baseline (what exists is not
//! news); from then on every record with an identity the loop has not seen
//! is sent to the subscribers, oldest first. When the last subscriber leaves,
//! the loop stops at once and forgets the key.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::broadcast;

use crate::error::Error;

/// How a feed asks its upstream for the newest records of a key.
pub trait Poller: Send + Sync + 'static {
    /// What subscribers subscribe to (e.g. a set of jurisdictions).
    type Key: Clone + Eq + Hash + Debug + Send + Sync + 'static;
    type Record: Send + Sync + 'static;

    /// The newest records for `key`, newest first: one upstream request.
    fn poll(&self, key: &Self::Key) -> BoxFuture<'static, Result<Vec<Arc<Self::Record>>, Error>>;

    /// What tells one record from another in this feed.
    fn identity(record: &Self::Record) -> String;
}

/// What a subscriber receives.
#[derive(Debug)]
pub enum FeedEvent<R> {
    /// A record the feed had not seen before.
    New(Arc<R>),
    /// A poll failed after the previous one succeeded (repeated failures
    /// are told once; the feed keeps polling and resumes on its own).
    Failed(Error),
}

impl<R> Clone for FeedEvent<R> {
    fn clone(&self) -> Self {
        match self {
            Self::New(record) => Self::New(record.clone()),
            Self::Failed(error) => Self::Failed(error.clone()),
        }
    }
}

/// The feed already polls as many keys as it may: a new key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedsFull {
    pub max_keys: usize,
}

/// How many events a slow subscriber may fall behind before it misses some.
const BACKLOG: usize = 256;

/// Identities remembered per key, past which only the latest poll's are
/// kept (a record that left the newest window does not come back).
const MAX_REMEMBERED: usize = 10_000;

/// A feed: a cheap `Clone` handle.
pub struct Feed<P: Poller> {
    inner: Arc<FeedInner<P>>,
}

impl<P: Poller> Clone for Feed<P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

/// A key no longer polled: when it last was, and what it had seen.
struct Rest {
    polled_at: tokio::time::Instant,
    seen: Option<HashSet<String>>,
}

/// The keys being polled, each with the channel of its subscribers.
type ChannelMap<K, R> = HashMap<K, broadcast::Sender<FeedEvent<R>>>;
type Channels<K, R> = Mutex<ChannelMap<K, R>>;

struct FeedInner<P: Poller> {
    poller: P,
    interval: Duration,
    max_keys: usize,
    /// The keys being polled, each with the channel of its subscribers.
    channels: Channels<P::Key, P::Record>,
    /// Keys whose last subscriber left within the interval: when they were
    /// last polled and what was seen. A key subscribed to again is polled
    /// an interval after its last poll, not at once (subscribing and
    /// leaving in a loop polled the upstream as fast as a client could
    /// churn), and goes on from what was seen. At most `max_keys`.
    resting: Mutex<HashMap<P::Key, Rest>>,
    /// Called after each poll (for the metrics).
    on_poll: Box<dyn Fn() + Send + Sync>,
    /// Called after a poll that found records the feed had not seen (the
    /// whole-response cache drops what was built from the source).
    on_news: Box<dyn Fn() + Send + Sync>,
}

impl<P: Poller> Feed<P> {
    /// A feed polling each subscribed key every `interval`, at most
    /// `max_keys` keys at once.
    pub fn new(poller: P, interval: Duration, max_keys: usize) -> Self {
        Self::with_poll_hook(poller, interval, max_keys, || {})
    }

    /// Like [`Feed::new`], calling `on_poll` after every poll.
    pub fn with_poll_hook(
        poller: P,
        interval: Duration,
        max_keys: usize,
        on_poll: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self::with_hooks(poller, interval, max_keys, on_poll, || {})
    }

    /// Like [`Feed::with_poll_hook`], also calling `on_news` after every
    /// poll that found a record the feed had not seen.
    pub fn with_hooks(
        poller: P,
        interval: Duration,
        max_keys: usize,
        on_poll: impl Fn() + Send + Sync + 'static,
        on_news: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Arc::new(FeedInner {
                poller,
                interval,
                max_keys,
                channels: Mutex::default(),
                resting: Mutex::default(),
                on_poll: Box::new(on_poll),
                on_news: Box::new(on_news),
            }),
        }
    }

    /// The events of `key` from now on; the stream ends only if the feed
    /// is dropped. Dropping the stream unsubscribes.
    pub fn subscribe(
        &self,
        key: P::Key,
    ) -> Result<BoxStream<'static, FeedEvent<P::Record>>, FeedsFull> {
        let mut channels = self.channels();
        let receiver = match channels.get(&key) {
            Some(sender) => sender.subscribe(),
            None => {
                if channels.len() >= self.inner.max_keys {
                    return Err(FeedsFull {
                        max_keys: self.inner.max_keys,
                    });
                }
                let (sender, receiver) = broadcast::channel(BACKLOG);
                channels.insert(key.clone(), sender.clone());
                tokio::spawn(poll_loop(self.inner.clone(), key, sender));
                receiver
            }
        };
        Ok(
            futures::stream::unfold(receiver, |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) => return Some((event, receiver)),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(
                                missed,
                                "a subscriber fell behind its feed and missed events"
                            );
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            })
            .boxed(),
        )
    }

    /// Keys polled now.
    pub fn polled_keys(&self) -> usize {
        self.channels().len()
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, ChannelMap<P::Key, P::Record>> {
        self.inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<P: Poller> FeedInner<P> {
    /// Keeps `key`'s rest for an interval, dropping rests older than that
    /// and, past `max_keys`, the oldest.
    fn rest(&self, key: P::Key, rest: Rest) {
        let mut resting = self.resting.lock().unwrap_or_else(PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        resting.retain(|_, rest| rest.polled_at + self.interval > now);
        if rest.polled_at + self.interval <= now {
            return;
        }
        if resting.len() >= self.max_keys {
            let oldest = resting
                .iter()
                .min_by_key(|(_, rest)| rest.polled_at)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                resting.remove(&oldest);
            }
        }
        resting.insert(key, rest);
    }
}

/// Polls `key` every interval until its last subscriber leaves.
async fn poll_loop<P: Poller>(
    feed: Arc<FeedInner<P>>,
    key: P::Key,
    sender: broadcast::Sender<FeedEvent<P::Record>>,
) {
    // A key polled within the interval goes on from then: its next poll
    // is an interval after its last, and what it saw is still seen.
    let rested = feed
        .resting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&key);
    let (start, mut seen, mut polled_at) = match rested {
        Some(rest) => (
            rest.polled_at + feed.interval,
            rest.seen,
            Some(rest.polled_at),
        ),
        // `None` until the baseline poll succeeds.
        None => (tokio::time::Instant::now(), None, None),
    };
    let mut failing = false;
    let mut ticks = tokio::time::interval_at(start.max(tokio::time::Instant::now()), feed.interval);
    // A slow poll delays the next one rather than bunching them up.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = sender.closed() => {}
        }
        {
            // Under the lock that `subscribe` takes: nobody joins a loop
            // that is leaving.
            let mut channels = feed.channels.lock().unwrap_or_else(PoisonError::into_inner);
            if sender.receiver_count() == 0 {
                channels.remove(&key);
                if let Some(polled_at) = polled_at {
                    feed.rest(key, Rest { polled_at, seen });
                }
                return;
            }
        }
        polled_at = Some(tokio::time::Instant::now());
        let polled = feed.poller.poll(&key).await;
        (feed.on_poll)();
        match polled {
            Ok(records) => {
                failing = false;
                let identities = records.iter().map(|record| P::identity(record));
                match &mut seen {
                    None => seen = Some(identities.collect()),
                    Some(seen) => {
                        // Oldest first, as they happened.
                        let mut news = false;
                        for record in records.iter().rev() {
                            if seen.insert(P::identity(record)) {
                                news = true;
                                let _ = sender.send(FeedEvent::New(record.clone()));
                            }
                        }
                        if news {
                            (feed.on_news)();
                        }
                        if seen.len() > MAX_REMEMBERED {
                            *seen = identities.collect();
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(?key, code = error.code(), %error, "a subscription poll failed");
                if !failing {
                    failing = true;
                    let _ = sender.send(FeedEvent::Failed(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use proptest::strategy::{Strategy, ValueTree};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// An upstream whose newest records the test sets, counting polls.
    #[derive(Clone, Default)]
    struct Upstream {
        records: Arc<Mutex<Vec<Arc<String>>>>,
        polls: Arc<AtomicU32>,
        fail: Arc<std::sync::atomic::AtomicBool>,
        /// When each key was polled.
        times: Arc<Mutex<Vec<(&'static str, tokio::time::Instant)>>>,
    }

    impl Upstream {
        fn publish(&self, id: &str) {
            self.records
                .lock()
                .unwrap()
                .insert(0, Arc::new(id.to_owned()));
        }
        fn polls(&self) -> u32 {
            self.polls.load(Ordering::SeqCst)
        }
    }

    impl Poller for Upstream {
        type Key = &'static str;
        type Record = String;

        fn poll(&self, key: &&'static str) -> BoxFuture<'static, Result<Vec<Arc<String>>, Error>> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            let key = *key;
            self.times
                .lock()
                .unwrap()
                .push((key, tokio::time::Instant::now()));
            let failed = self.fail.load(Ordering::SeqCst);
            let records: Vec<Arc<String>> = self
                .records
                .lock()
                .unwrap()
                .iter()
                .filter(|record| record.starts_with(key))
                .cloned()
                .collect();
            Box::pin(async move {
                if failed {
                    return Err(Error::UpstreamUnavailable {
                        upstream: Source::Gta,
                        status: Some(503),
                        retry_after: None,
                    });
                }
                Ok(records)
            })
        }

        fn identity(record: &String) -> String {
            record.clone()
        }
    }

    const INTERVAL: Duration = Duration::from_secs(30);

    /// Lets the poll loops run up to the next interval.
    async fn next_interval() {
        tokio::time::sleep(INTERVAL).await;
        tokio::task::yield_now().await;
    }

    fn new_ids(events: Vec<FeedEvent<String>>) -> Vec<String> {
        events
            .into_iter()
            .map(|event| match event {
                FeedEvent::New(record) => (*record).clone(),
                FeedEvent::Failed(error) => panic!("unexpected failure: {error}"),
            })
            .collect()
    }

    /// Takes the events ready now, without waiting for more.
    async fn ready(stream: &mut BoxStream<'static, FeedEvent<String>>) -> Vec<FeedEvent<String>> {
        tokio::task::yield_now().await;
        let mut events = Vec::new();
        while let Some(Some(event)) = futures::FutureExt::now_or_never(stream.next()) {
            events.push(event);
        }
        events
    }

    #[tokio::test(start_paused = true)]
    async fn subscribers_of_a_key_share_one_poll_per_interval_and_see_only_new_records() {
        let upstream = Upstream::default();
        upstream.publish("CN-1");
        let feed = Feed::new(upstream.clone(), INTERVAL, 10);
        let mut first = feed.subscribe("CN").unwrap();
        let mut second = feed.subscribe("CN").unwrap();
        tokio::task::yield_now().await;
        assert_eq!(upstream.polls(), 1, "one baseline poll for both");
        assert!(
            ready(&mut first).await.is_empty(),
            "what existed is not news"
        );

        upstream.publish("CN-2");
        upstream.publish("CN-3");
        next_interval().await;
        assert_eq!(upstream.polls(), 2);
        assert_eq!(
            new_ids(ready(&mut first).await),
            ["CN-2", "CN-3"],
            "oldest first"
        );
        assert_eq!(new_ids(ready(&mut second).await), ["CN-2", "CN-3"]);

        next_interval().await;
        assert_eq!(upstream.polls(), 3);
        assert!(
            ready(&mut first).await.is_empty(),
            "nothing new, nothing sent"
        );
        assert_eq!(feed.polled_keys(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn each_key_has_its_own_loop_and_the_number_of_keys_is_bounded() {
        let upstream = Upstream::default();
        let feed = Feed::new(upstream.clone(), INTERVAL, 2);
        let mut china = feed.subscribe("CN").unwrap();
        let _brazil = feed.subscribe("BR").unwrap();
        assert_eq!(
            feed.subscribe("US").err(),
            Some(FeedsFull { max_keys: 2 }),
            "a third key is refused"
        );
        tokio::task::yield_now().await;
        assert_eq!(upstream.polls(), 2);
        upstream.publish("BR-1");
        upstream.publish("CN-1");
        next_interval().await;
        assert_eq!(
            new_ids(ready(&mut china).await),
            ["CN-1"],
            "only its key's records"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_stops_when_the_last_subscriber_leaves() {
        let upstream = Upstream::default();
        let feed = Feed::new(upstream.clone(), INTERVAL, 1);
        let first = feed.subscribe("CN").unwrap();
        let second = feed.subscribe("CN").unwrap();
        tokio::task::yield_now().await;
        drop(first);
        next_interval().await;
        assert_eq!(upstream.polls(), 2, "one subscriber left: still polled");
        drop(second);
        tokio::task::yield_now().await;
        assert_eq!(
            feed.polled_keys(),
            0,
            "forgotten as soon as the last one left"
        );
        next_interval().await;
        assert_eq!(upstream.polls(), 2, "no poll without subscribers");
        // The slot is free for another key.
        let _other = feed.subscribe("US").unwrap();
    }

    /// Issue 22's re-attack: subscribing and leaving in a loop polled the
    /// upstream at every subscribe. Generated sequences of subscribes,
    /// leaves and waits over three keys, on paused time: a key is never
    /// polled twice within an interval, however its subscribers come and
    /// go, and a key with a subscriber is polled again within an interval.
    #[test]
    fn a_key_is_polled_at_most_once_an_interval_whoever_comes_and_goes() {
        #[derive(Clone, Debug)]
        enum Step {
            Subscribe(usize),
            Leave(usize),
            Wait(u64),
        }
        let steps = proptest::collection::vec(
            proptest::prop_oneof![
                (0usize..3).prop_map(Step::Subscribe),
                (0usize..3).prop_map(Step::Leave),
                (0u64..45_000).prop_map(Step::Wait),
            ],
            1..80,
        );
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..64 {
            let steps = steps.new_tree(&mut runner).unwrap().current();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                const KEYS: [&str; 3] = ["CN", "BR", "US"];
                let upstream = Upstream::default();
                let feed = Feed::new(upstream.clone(), INTERVAL, 3);
                let mut subscribers: Vec<Vec<BoxStream<'static, FeedEvent<String>>>> =
                    vec![Vec::new(), Vec::new(), Vec::new()];
                for step in &steps {
                    match step {
                        Step::Subscribe(key) => {
                            subscribers[*key].push(feed.subscribe(KEYS[*key]).unwrap())
                        }
                        Step::Leave(key) => {
                            subscribers[*key].pop();
                        }
                        Step::Wait(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
                    }
                    tokio::task::yield_now().await;
                }
                // Whoever is left waits two intervals: polled in each.
                let before = upstream.times.lock().unwrap().len();
                let listened: Vec<usize> =
                    (0..3).filter(|key| !subscribers[*key].is_empty()).collect();
                next_interval().await;
                next_interval().await;
                let times = upstream.times.lock().unwrap().clone();
                for key in &listened {
                    assert!(
                        times[before..]
                            .iter()
                            .any(|(polled, _)| *polled == KEYS[*key]),
                        "{steps:?}: {} not polled while subscribed",
                        KEYS[*key]
                    );
                }
                for key in KEYS {
                    let at: Vec<_> = times
                        .iter()
                        .filter(|(polled, _)| *polled == key)
                        .map(|(_, at)| *at)
                        .collect();
                    for pair in at.windows(2) {
                        assert!(
                            pair[1] - pair[0] >= INTERVAL,
                            "{steps:?}: {key} polled {:?} apart",
                            pair[1] - pair[0]
                        );
                    }
                }
            });
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_told_once_and_the_feed_resumes() {
        let upstream = Upstream::default();
        let feed = Feed::new(upstream.clone(), INTERVAL, 1);
        let mut events = feed.subscribe("CN").unwrap();
        tokio::task::yield_now().await;
        upstream.fail.store(true, Ordering::SeqCst);
        next_interval().await;
        next_interval().await;
        let failures = ready(&mut events).await;
        assert_eq!(failures.len(), 1, "two failed polls, one event");
        assert!(
            matches!(
                &failures[0],
                FeedEvent::Failed(Error::UpstreamUnavailable {
                    upstream: Source::Gta,
                    ..
                })
            ),
            "{failures:?}"
        );
        upstream.fail.store(false, Ordering::SeqCst);
        upstream.publish("CN-9");
        next_interval().await;
        assert_eq!(new_ids(ready(&mut events).await), ["CN-9"]);
    }
}
