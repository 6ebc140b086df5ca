//! Producers across instances: leases, so that a channel whose producer's
//! instance is lost ends with an error, and cancels, which reach a
//! producer on whichever instance runs it.
//!
//! A producer's channel has a *lease* in the sorted set `<prefix>leases`:
//! its deadline, by Redis's clock. Each instance renews the leases of its
//! producers every third of [`DEFAULT_LEASE_TTL`] (one script for all),
//! and, in the same task, runs `expire.lua`, which ends every channel
//! whose lease ran out with [`End::Error`]([`LOST`]). So a lost instance's
//! channels end within the lease plus a third of it (6.7 s by default),
//! by whichever instance looks first. A cancel is a message on the pub/sub
//! channel `<prefix>cancel`, which every instance subscribes to; the one
//! that runs the producer raises its [`Producer::cancelled`](crate::Producer::cancelled).

use std::sync::Arc;
use std::time::Duration;

use super::shared::{CancelHook, Shared};
use super::timing::bounded;
use super::RedisError;
use crate::end::End;
use crate::lock::lock;

/// How long a producer's lease lasts without renewal (default of
/// [`RedisBackendBuilder::lease_ttl`](super::RedisBackendBuilder::lease_ttl)).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(5);

/// What the end says when a producer's lease ran out.
pub const LOST: &str = "the producer's instance was lost";

impl Shared {
    pub(super) fn leases_key(&self) -> String {
        format!("{}leases", self.prefix)
    }

    pub(super) fn cancel_name(&self) -> String {
        format!("{}cancel", self.prefix)
    }

    /// Takes the lease of `channel` for this instance, and renews it until
    /// [`release`](Self::release).
    pub(super) async fn lease(&self, channel: &str) -> Result<(), RedisError> {
        self.renew(&[channel.to_owned()]).await?;
        lock(&self.leased).insert(channel.to_owned());
        Ok(())
    }

    /// Sets the leases of `channels` to run out a lease's time from now
    /// (one round trip: `lease.lua`).
    async fn renew(&self, channels: &[String]) -> Result<(), RedisError> {
        let mut invocation = self.lease.key(self.leases_key());
        invocation.arg(self.lease_ttl.as_millis().max(1).to_string());
        for channel in channels {
            invocation.arg(channel);
        }
        let mut commands = self.commands.clone();
        let _: u64 = bounded(self.timeout, invocation.invoke_async(&mut commands)).await?;
        Ok(())
    }

    /// Stops renewing the lease of `channel` (its end takes it away).
    pub(super) fn release(&self, channel: &str) {
        lock(&self.leased).remove(channel);
    }

    /// One round: renews this instance's leases, then ends the channels
    /// whose leases ran out.
    pub(super) async fn renew_and_expire(&self) -> Result<(), RedisError> {
        let leased: Vec<String> = lock(&self.leased).iter().cloned().collect();
        if !leased.is_empty() {
            self.renew(&leased).await?;
        }
        let mut commands = self.commands.clone();
        let lost = End::Error(LOST.to_owned());
        let mut invocation = self.expire.key(self.leases_key());
        invocation
            .arg(&self.prefix)
            .arg(&lost.frame(None).into_bytes()[..])
            .arg(lost.to_json())
            .arg(self.local_limits.ended_ttl.as_millis().max(1).to_string())
            .arg(self.history_events);
        let _: Vec<String> = bounded(self.timeout, invocation.invoke_async(&mut commands)).await?;
        Ok(())
    }

    /// Asks every instance to cancel `channel`'s producer; whether one holds
    /// its lease.
    pub(super) async fn cancel(&self, channel: &str) -> Result<bool, RedisError> {
        let mut commands = self.commands.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("PUBLISH")
            .arg(self.cancel_name())
            .arg(channel)
            .ignore()
            .cmd("ZSCORE")
            .arg(self.leases_key())
            .arg(channel);
        let (score,): (Option<f64>,) =
            bounded(self.timeout, pipe.query_async(&mut commands)).await?;
        Ok(score.is_some())
    }

    /// A cancel arrived for `channel`.
    pub(super) fn on_cancel(&self, channel: &str) {
        let hook = lock(&self.cancel_hook).clone();
        if let Some(CancelHook(hook)) = hook {
            hook(channel);
        }
    }
}

/// Renews and expires leases every third of the lease, for as long as the
/// backend lives (an error is retried at the next round).
pub(super) async fn run_leases(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(shared.lease_ttl / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let _ = shared.renew_and_expire().await;
    }
}
