//! A stream of events as a stream of HTTP body chunks, for servers and the
//! framework adapters (feature `stream`): [`EncodeStream`] encodes each
//! item as it comes (an [`Event`](crate::Event), a [`Frame`](crate::Frame),
//! or an [`EncodedFrame`](crate::EncodedFrame) a broadcaster encoded once),
//! sends [`KeepAlive`] comments on silence, and ends on a server's
//! shutdown signal.

mod encode_stream;
mod keep_alive;
mod started;

pub use self::encode_stream::{EncodeStream, EndOnError, IntoOutgoing, Outgoing, ZERO_COPY_MIN};
pub use self::keep_alive::KeepAlive;
pub use self::started::{started, Started};
