//! Fault injection and request accounting for the simulator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sources::Source;

/// What the simulator does instead of answering normally.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and body.
    Status { status: u16, body: String },
    /// Answer 200 with a body that is not the API's JSON.
    Malformed,
    /// Wait this long before answering (longer than the gateway's timeout
    /// makes a timeout).
    Delay(Duration),
}

/// One request as the simulator received it: what tests assert the wire on.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
}

#[derive(Default)]
struct SourceState {
    fault: Option<Fault>,
    requests: Vec<RecordedRequest>,
}

/// Per-source faults and request logs. A std `Mutex` is right here: it is
/// held only to copy a few values, never across an await.
#[derive(Clone, Default)]
pub(super) struct Faults {
    sources: Arc<Mutex<HashMap<Source, SourceState>>>,
}

impl Faults {
    pub fn set(&self, source: Source, fault: Option<Fault>) {
        self.lock().entry(source).or_default().fault = fault;
    }

    /// Records a request and returns the fault to apply to it.
    pub fn record(&self, source: Source, request: RecordedRequest) -> Option<Fault> {
        let mut sources = self.lock();
        let state = sources.entry(source).or_default();
        state.requests.push(request);
        state.fault.clone()
    }

    pub fn count(&self, source: Source) -> u64 {
        self.lock()
            .get(&source)
            .map_or(0, |state| state.requests.len() as u64)
    }

    pub fn recorded(&self, source: Source) -> Vec<RecordedRequest> {
        self.lock()
            .get(&source)
            .map(|state| state.requests.clone())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Source, SourceState>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
