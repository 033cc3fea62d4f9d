//! The one store of what a session keeps between a redirect and the browser's return:
//! pending logins ([`PendingAuthorization`](crate::authorize::PendingAuthorization)),
//! pending RP-initiated logouts ([`PendingLogout`](crate::logout::PendingLogout)) and
//! OAuth 1.0a temporary credentials ([`PendingOAuth1`](crate::oauth1::PendingOAuth1)).
//!
//! A [`PendingStore`] is bounded (inserting past capacity drops the oldest entry),
//! expiring (an entry older than its lifetime is refused and pruned), single-use (a
//! matched entry is removed whatever the outcome, so a replayed response fails) and
//! compares the returned value with every entry in constant time. It serializes as a plain
//! JSON array, for any session store.

use crate::error::StateError;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};

/// Bytes of randomness in every `state` the core generates (256 bits), for logins and
/// logouts alike.
pub const STATE_BYTES: usize = 32;

/// How many entries [`PendingStore::extend`] keeps (and the usual capacity: a few logins
/// or logouts in flight per browser).
pub const DEFAULT_MAX_ENTRIES: usize = 8;

/// An entry of a [`PendingStore`].
pub trait Pending {
    /// The value the provider's response must bring back: the `state` (or, for OAuth
    /// 1.0a, the temporary `oauth_token`).
    fn key(&self) -> &str;
    /// When the entry was made.
    fn created_at(&self) -> UnixTime;
}

/// Pending entries of one session: bounded, expiring, single-use, constant-time.
///
/// ```
/// use rpkit::authorize::{AuthorizationRequest, PendingSet};
/// use rpkit::config::ClientConfig;
/// use rpkit::rand::SystemRandom;
/// use rpkit::{StateError, UnixTime};
///
/// let config = ClientConfig::new("corp").client_id("id").authorize_url("https://op.example/authorize");
/// let now = UnixTime::from_secs(1_700_000_000);
/// let (_url, pending) = AuthorizationRequest::new(&config).build(&SystemRandom::new(), now)?;
/// let state = pending.state().secret().to_owned();
///
/// let mut set = PendingSet::default();
/// set.insert(pending, PendingSet::max_for(&config));
/// let ttl = PendingSet::ttl_for(&config);
/// assert!(set.take(Some(&state), now.plus(5), ttl).is_ok());
/// // single use:
/// assert_eq!(set.take(Some(&state), now.plus(6), ttl).unwrap_err(), StateError::Unknown { session_empty: true });
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PendingStore<T> {
    entries: Vec<T>,
}

impl<T> Default for PendingStore<T> {
    fn default() -> Self {
        PendingStore { entries: Vec::new() }
    }
}

impl<T: Pending> PendingStore<T> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `entry`, then drops the oldest entries (by `created_at`, then insertion order)
    /// until at most `max` remain. A `max` of 0 is treated as 1: the entry just added is
    /// always kept, and a session cannot grow without bound.
    pub fn insert(&mut self, entry: T, max: usize) {
        self.entries.push(entry);
        let max = max.max(1);
        while self.entries.len() > max {
            let oldest = self.entries.iter().enumerate().min_by_key(|(i, e)| (e.created_at(), *i)).map(|(i, _)| i);
            match oldest {
                Some(i) => drop(self.entries.remove(i)),
                None => break,
            }
        }
    }

    /// Adds each entry (at most one, usually: what a redirect builder returned), keeping
    /// at most [`DEFAULT_MAX_ENTRIES`].
    pub fn extend(&mut self, entries: impl IntoIterator<Item = T>) {
        for entry in entries {
            self.insert(entry, DEFAULT_MAX_ENTRIES);
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest inserted first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter()
    }

    /// Removes entries older than `ttl` seconds at `now`.
    pub fn prune_expired(&mut self, now: UnixTime, ttl: u64) {
        self.entries.retain(|e| now.secs_since(e.created_at()) <= ttl);
    }

    /// Removes and returns the entry whose key equals `key`; prunes expired entries.
    ///
    /// # Errors
    /// - [`StateError::Missing`] when `key` is `None` or empty;
    /// - [`StateError::Unknown`] when no entry matches (`session_empty` when the store held
    ///   nothing, which usually means the session cookie was lost);
    /// - [`StateError::Expired`] when the matching entry is older than `ttl` seconds (it
    ///   is removed all the same).
    ///
    /// # Security
    /// `key` is compared with every entry in constant time, without stopping at a match,
    /// so timing reveals neither the stored values nor which entry matched.
    pub fn take(&mut self, key: Option<&str>, now: UnixTime, ttl: u64) -> Result<T, StateError> {
        let key = key.filter(|s| !s.is_empty()).ok_or(StateError::Missing)?;
        let session_empty = self.entries.is_empty();
        let mut found = None;
        for (i, entry) in self.entries.iter().enumerate() {
            let equal = crate::secret::constant_time_eq(entry.key().as_bytes(), key.as_bytes());
            if equal && found.is_none() {
                found = Some(i);
            }
        }
        let matched = found.map(|i| self.entries.remove(i));
        self.prune_expired(now, ttl);
        let entry = matched.ok_or(StateError::Unknown { session_empty })?;
        if now.secs_since(entry.created_at()) > ttl {
            return Err(StateError::Expired);
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct E(&'static str, u64);

    impl Pending for E {
        fn key(&self) -> &str {
            self.0
        }
        fn created_at(&self) -> UnixTime {
            UnixTime::from_secs(self.1)
        }
    }

    #[test]
    fn a_store_is_bounded_expiring_and_single_use() {
        let mut s = PendingStore::new();
        for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
            s.insert(E(k, 100 + i as u64), 2);
        }
        assert_eq!(s.len(), 2, "the oldest was dropped");
        assert_eq!(s.take(Some("a"), UnixTime::from_secs(110), 60), Err(StateError::Unknown { session_empty: false }));
        assert_eq!(s.take(Some("b"), UnixTime::from_secs(110), 60), Ok(E("b", 101)));
        assert_eq!(s.take(Some("b"), UnixTime::from_secs(110), 60), Err(StateError::Unknown { session_empty: false }));
        assert_eq!(s.take(Some("c"), UnixTime::from_secs(200), 60), Err(StateError::Expired));
        assert!(s.is_empty());
        assert_eq!(s.take(None, UnixTime::from_secs(200), 60), Err(StateError::Missing));
        assert_eq!(s.take(Some(""), UnixTime::from_secs(200), 60), Err(StateError::Missing));
        assert_eq!(s.take(Some("x"), UnixTime::from_secs(200), 60), Err(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn taking_prunes_the_expired_entries_and_a_prefix_never_matches() {
        let mut s = PendingStore::new();
        s.insert(E("old", 0), 8);
        s.insert(E("fresh-state", 1000), 8);
        assert!(s.take(Some("fresh"), UnixTime::from_secs(1001), 60).is_err());
        assert_eq!(s.len(), 1, "the expired entry is gone");
        assert!(s.take(Some("fresh-state"), UnixTime::from_secs(1001), 60).is_ok());
    }

    #[test]
    fn a_store_serializes_as_a_plain_array() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct S(String, u64);
        let s = PendingStore { entries: vec![S("k".into(), 5)] };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"[["k",5]]"#);
    }
}
