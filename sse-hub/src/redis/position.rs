//! Positions in a channel's log (`<epoch>-<seq>`), and the frames read
//! from Redis with their positions.

use bytes::Bytes;
use sse_codec::{ByteStr, EncodedFrame};

use crate::end::End;
use crate::log::FrameLog;

/// A position in a channel's log: `epoch` 0 and `seq` 0 for a channel
/// Redis holds nothing of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) epoch: u64,
    pub(super) seq: u64,
}

impl Position {
    /// The position an SSE id names, if it is one of ours: `<epoch>-<seq>`
    /// in decimal, as this backend writes it (no sign, no leading zero).
    pub(super) fn parse(id: &str) -> Option<Position> {
        let (epoch, seq) = id.split_once('-')?;
        let number = |s: &str| {
            let canonical = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            canonical.then(|| s.parse::<u64>().ok()).flatten()
        };
        Some(Position {
            epoch: number(epoch)?,
            seq: number(seq)?,
        })
    }

    /// The SSE id of this position, `None` for an empty channel.
    pub(super) fn id(self) -> Option<ByteStr> {
        (self.epoch != 0).then(|| ByteStr::from(format!("{}-{}", self.epoch, self.seq)))
    }

    /// The position before the first frame of this one's epoch: `<epoch>-0`,
    /// the id a client resumes from to get the whole epoch.
    pub(super) fn epoch_start(self) -> Position {
        Position {
            epoch: self.epoch,
            seq: 0,
        }
    }

    /// What a frame at `next` is to a reader at `self`.
    pub(super) fn step(self, next: Position) -> Step {
        if next.epoch == self.epoch {
            match next.seq {
                seq if seq <= self.seq => Step::Old,
                seq if seq == self.seq + 1 => Step::Next,
                _ => Step::Gap,
            }
        } else if self == Position::default() && next.seq == 1 {
            // The first event of a channel that was empty.
            Step::Next
        } else {
            Step::Gap
        }
    }
}

pub(super) enum Step {
    /// Handed over already.
    Old,
    /// The successor: hand it over.
    Next,
    /// Something is missing in between, or it is of another epoch.
    Gap,
}

/// A frame received from Redis.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) at: Position,
    pub(super) id: ByteStr,
    pub(super) frame: EncodedFrame,
    /// Set when the frame is the channel's end.
    pub(super) end: Option<End>,
}

impl Received {
    /// Appends it to `log`: as a frame, or as the channel's end.
    pub(super) fn append_to(self, log: &FrameLog) {
        match self.end {
            Some(end) => log.push_end_frame(self.id, self.frame, end),
            None => log.push(self.id, self.frame),
        }
    }
}

/// What marks a channel's end in Redis, in front of its frame (see
/// `publish.lua`).
const END_MARK: &[u8] = b":end\n";

/// A frame read from Redis, with its position; `None` for bytes that are
/// not one of our frames (the log or the channel was written by something
/// else), which are treated as missing.
pub(super) fn parse_frame(wire: Bytes) -> Option<Received> {
    let (wire, is_end) = match wire.strip_prefix(END_MARK) {
        Some(_) => (wire.slice(END_MARK.len()..), true),
        None => (wire, false),
    };
    let (frame, event) = EncodedFrame::from_wire(wire).ok()?;
    let id = ByteStr::from(event.id()?);
    let end = if is_end {
        Some(End::from_json(event.data())?)
    } else {
        None
    };
    Some(Received {
        at: Position::parse(&id)?,
        id,
        frame,
        end,
    })
}

/// Whether `frames` are exactly the positions after `after` up to `upto`
/// of `epoch`.
pub(super) fn complete(frames: &[Option<Received>], epoch: u64, after: u64, upto: u64) -> bool {
    upto.checked_sub(after) == u64::try_from(frames.len()).ok()
        && frames.iter().zip(after + 1..).all(|(frame, seq)| {
            frame
                .as_ref()
                .is_some_and(|received| received.at == Position { epoch, seq })
        })
}

/// What `read.lua` answered.
pub(super) struct LogRead {
    pub(super) head: Position,
    pub(super) frames: Vec<Option<Received>>,
    /// The seq of the channel's end, if it ended.
    pub(super) ended: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_only_as_written() {
        let at = |epoch, seq| Some(Position { epoch, seq });
        assert_eq!(
            Position::parse("1764000000123456-7"),
            at(1_764_000_000_123_456, 7)
        );
        for not_ours in [
            "", "7", "-7", "1-", "01-7", "1-07", "+1-7", "1-+7", "1-7-8", "a-1", "1 -7",
        ] {
            assert_eq!(Position::parse(not_ours), None, "{not_ours:?}");
        }
        assert_eq!(Position { epoch: 5, seq: 9 }.id().as_deref(), Some("5-9"));
        assert_eq!(Position::default().id(), None);
    }

    #[test]
    fn steps() {
        let p = |epoch, seq| Position { epoch, seq };
        assert!(matches!(p(5, 3).step(p(5, 4)), Step::Next));
        assert!(matches!(p(5, 3).step(p(5, 3)), Step::Old));
        assert!(matches!(p(5, 3).step(p(5, 5)), Step::Gap));
        assert!(matches!(p(5, 3).step(p(6, 4)), Step::Gap));
        assert!(matches!(p(5, 3).step(p(4, 9)), Step::Gap));
        assert!(matches!(p(0, 0).step(p(6, 1)), Step::Next));
        assert!(matches!(p(0, 0).step(p(6, 2)), Step::Gap));
    }
}
