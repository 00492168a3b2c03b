//! Wall-clock time and timeouts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, with microsecond resolution.
pub fn now_seconds() -> f64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// How long a blocking operation may wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// One attempt that gives up if the lock is held by another thread
    /// (nonblock mode without a timeout).
    TryOnce,
    /// One attempt, waiting for the lock but not for a message (timeout <= 0).
    Poll,
    /// Wait for a message until the deadline.
    Until(Instant),
    /// Wait without limit.
    Forever,
}

impl Wait {
    /// One attempt that does not wait for anything but, unless `nonblock`,
    /// the lock: how `addmsg`, `setmsg` and `clear` go about it.
    pub fn once(nonblock: bool) -> Wait {
        if nonblock { Wait::TryOnce } else { Wait::Poll }
    }

    /// The wait for an optional timeout in seconds and the nonblock flag.
    /// NaN counts as 0, like a negative timeout.
    pub fn from_timeout(timeout: Option<f64>, nonblock: bool) -> Wait {
        match timeout {
            None if nonblock => Wait::TryOnce,
            None => Wait::Forever,
            Some(t) if t > 0.0 => deadline_after(t).map_or(Wait::Forever, Wait::Until),
            Some(_) => Wait::Poll,
        }
    }
}

/// `Instant::now() + seconds`, None if that is beyond representable time.
pub fn deadline_after(seconds: f64) -> Option<Instant> {
    let d = Duration::try_from_secs_f64(seconds).ok()?;
    Instant::now().checked_add(d)
}
