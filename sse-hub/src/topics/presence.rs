//! Presence: entries every instance of a topic hub sees (its active
//! subscriptions, for Mercure's subscription API), each owned by the
//! instance that put it and gone with it.
//!
//! Each instance keeps its own entries here and, through the backend
//! (`Backend::presence_*`; on Redis one hash per instance with a time to
//! live), shares them. A task refreshes the instance's set every
//! [`REFRESH`] (and puts it back whole if the backend lost it), and lists
//! every instance's: an instance whose set vanished died (its set expired
//! after [`TTL`]), and the instance with the smallest id among those left
//! announces its entries as departed, once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::Backend;
use crate::lock::lock;

/// How often an instance refreshes its set and looks at the others'.
pub const REFRESH: Duration = Duration::from_secs(5);

/// How long an instance's set outlives the instance: an instance that died
/// is seen gone at most `TTL + REFRESH` after its last refresh.
pub const TTL: Duration = Duration::from_secs(15);

/// Entries of one owner.
type Entries = BTreeMap<String, String>;

#[derive(Debug)]
pub(crate) struct Presence {
    /// This instance's id.
    pub(crate) instance: String,
    pub(crate) local: Mutex<Entries>,
    /// What the last listing found of every other instance.
    others: Mutex<BTreeMap<String, Entries>>,
    pub(crate) departed: tokio::sync::broadcast::Sender<Vec<(String, String)>>,
}

impl Presence {
    pub(crate) fn new(instance: String) -> Self {
        Presence {
            instance,
            local: Mutex::new(Entries::new()),
            others: Mutex::new(BTreeMap::new()),
            departed: tokio::sync::broadcast::channel(64).0,
        }
    }
}

/// The refreshing task of `presence`, on `backend`, under `scope`.
pub(crate) async fn refresh<B: Backend>(
    presence: Arc<Presence>,
    hub: crate::Hub<B>,
    scope: String,
) {
    let mut ticks = tokio::time::interval(REFRESH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let backend = hub.backend();
        match backend
            .presence_refresh(&scope, &presence.instance, TTL)
            .await
        {
            Ok(true) | Err(_) => {}
            Ok(false) => {
                // Gone (Redis lost it): put it back whole.
                let mut entries: Vec<(String, String)> = lock(&presence.local)
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                entries.push(sentinel());
                let _ = backend
                    .presence_put(&scope, &presence.instance, &entries, TTL)
                    .await;
            }
        }
        let Ok(Some(listed)) = backend.presence_list(&scope).await else {
            continue;
        };
        let mut now: BTreeMap<String, Entries> = BTreeMap::new();
        for (owner, _, _) in &listed {
            if *owner != presence.instance {
                now.entry(owner.clone()).or_default();
            }
        }
        for (owner, key, value) in listed {
            if owner != presence.instance && key != sentinel().0 {
                now.entry(owner).or_default().insert(key, value);
            }
        }
        let before = std::mem::replace(&mut *lock(&presence.others), now.clone());
        let alive: BTreeSet<&String> = now.keys().chain([&presence.instance]).collect();
        let gone: Vec<(String, String)> = before
            .into_iter()
            .filter(|(owner, _)| !alive.contains(owner))
            .flat_map(|(_, entries)| entries)
            .collect();
        // One instance announces: the smallest id left.
        if !gone.is_empty() && alive.first() == Some(&&presence.instance) {
            let _ = presence.departed.send(gone);
        }
    }
}

/// The entry every instance's set holds, so that an instance without
/// entries is seen alive too.
pub(crate) fn sentinel() -> (String, String) {
    (String::new(), String::new())
}
