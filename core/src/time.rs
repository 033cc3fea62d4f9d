//! Time as a value: the core never reads a clock.
//!
//! Every time-dependent call takes `now: UnixTime`. Callers get it from their
//! clock (`UnixTime::from_system_time` of the system time, or the async client's
//! `Clock`), tests pass a fixed value.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch (1970-01-01T00:00:00Z), as JWT `NumericDate`s are
/// ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2)).
///
/// ```
/// use rpkit::time::UnixTime;
/// let issued = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(issued.plus(60).as_secs(), 1_700_000_060);
/// assert!(issued < issued.plus(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// A time `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Converts a `SystemTime` (times before the epoch become the epoch).
    ///
    /// This is a pure conversion; reading the clock is the caller's business.
    pub fn from_system_time(t: SystemTime) -> Self {
        UnixTime(t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating at `u64::MAX`.
    #[must_use]
    pub const fn plus(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    #[must_use]
    pub const fn minus(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// Seconds from `earlier` to `self`, or zero when `earlier` is later.
    pub const fn secs_since(self, earlier: UnixTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The same instant as a [`Duration`] since the epoch.
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for UnixTime {
    fn from(secs: u64) -> Self {
        UnixTime(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        assert_eq!(UnixTime::from_secs(u64::MAX).plus(10).as_secs(), u64::MAX);
        assert_eq!(UnixTime::from_secs(5).minus(10), UnixTime::EPOCH);
        assert_eq!(UnixTime::from_secs(5).secs_since(UnixTime::from_secs(10)), 0);
    }

    #[test]
    fn system_time_before_epoch_maps_to_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(UnixTime::from_system_time(before), UnixTime::EPOCH);
        let after = UNIX_EPOCH + Duration::from_secs(42);
        assert_eq!(UnixTime::from_system_time(after).as_secs(), 42);
    }

    #[test]
    fn serializes_as_a_plain_number() {
        let t = UnixTime::from_secs(1_700_000_000);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
        let back: UnixTime = serde_json::from_str("1700000000").unwrap();
        assert_eq!(back, t);
    }
}
