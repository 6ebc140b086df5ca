//! The adapters' plumbing, beside the codec: a stream of events as a
//! stream of body chunks ([`EncodeStream`], with [`KeepAlive`]), and the
//! event front in the frameworks' shape ([`FrameworkEvent`]). Feature
//! `stream`.

mod encode_stream;
mod framework_event;

pub use self::encode_stream::{
    EncodeStream, EndOnError, IntoOutgoing, KeepAlive, Outgoing, ZERO_COPY_MIN,
};
pub use self::framework_event::{FrameworkEvent, FrameworkEventBuilder};
