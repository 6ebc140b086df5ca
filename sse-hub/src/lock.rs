//! The one way this crate takes a `std` lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, also when it is poisoned: every update under this crate's
/// locks leaves the state consistent before it can panic (allocation
/// aside), so a poisoned lock is still usable, and one panicking thread
/// does not take every channel down with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
