//! The producers of this process ([`Producers`]), each reachable by a
//! [`Signal`] that a cancel raises: what [`Hub::cancel`](crate::Hub::cancel)
//! reaches here, and what the cancels of other instances are delivered to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::Waker;

use crate::lock::lock;

/// The channels that have a producer in this process, and how to reach it.
#[derive(Debug, Default)]
pub(crate) struct Producers {
    pub(crate) signals: Mutex<HashMap<Arc<str>, Arc<Signal>>>,
}

impl Producers {
    /// Tells `channel`'s producer to stop; whether there is one here.
    pub(crate) fn cancel(&self, channel: &str) -> bool {
        let signal = lock(&self.signals).get(channel).cloned();
        signal.is_some_and(|signal| {
            signal.raise();
            true
        })
    }
}

/// A flag raised once, with the tasks waiting for it.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    pub(crate) state: Mutex<(bool, Vec<Waker>)>,
}

impl Signal {
    pub(crate) fn raise(&self) {
        let waiters = {
            let mut state = lock(&self.state);
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        for waker in waiters {
            waker.wake();
        }
    }

    pub(crate) fn is_raised(&self) -> bool {
        lock(&self.state).0
    }
}
