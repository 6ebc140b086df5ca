//! What a new subscriber missed, read from the Redis stream (invariant 3).

use super::position::{complete, Position};
use super::RedisBackend;
use super::RedisError;
use crate::resume::Replay;

impl RedisBackend {
    /// The frames a subscriber starting at `at` missed after `after`: all
    /// that the log holds up to `at` if `oldest`, else exactly the ones
    /// after `after`, or the reset event if the log no longer has them all.
    pub(super) async fn replay(
        &self,
        channel: &str,
        after: u64,
        at: Position,
        oldest: bool,
    ) -> Result<Replay, RedisError> {
        if at.seq <= after {
            return Ok(Replay::Missed(Vec::new()));
        }
        let read = self.shared.read(channel, after, Some(at.seq)).await?;
        if read.head.epoch != at.epoch {
            // Lost since the sink was added: the live side resets it too.
            return Ok(Replay::Reset {
                last_id: read.head.id(),
                then: Vec::new(),
            });
        }
        let mut frames = read.frames;
        if oldest {
            // Whatever the log still holds, as long as it runs up to `at`.
            let first = frames
                .iter()
                .rposition(Option::is_none)
                .map_or(0, |i| i + 1);
            frames.drain(..first);
            let after = at.seq - u64::try_from(frames.len()).unwrap_or(at.seq);
            if !complete(&frames, at.epoch, after, at.seq) {
                frames.clear();
            }
        } else if !complete(&frames, at.epoch, after, at.seq) {
            return Ok(Replay::Reset {
                last_id: at.id(),
                then: Vec::new(),
            });
        }
        let ended = frames
            .last()
            .is_some_and(|last| last.as_ref().is_some_and(|r| r.end.is_some()));
        let frames = frames
            .into_iter()
            .flatten()
            .map(|received| received.frame)
            .collect();
        // The channel's end is last: nothing follows it.
        Ok(if ended {
            Replay::Ended(frames)
        } else {
            Replay::Missed(frames)
        })
    }
}
