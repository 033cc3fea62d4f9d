//! A server-side actix-session store in this process's memory.

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use rpkit::client::{Clock, SystemClock};
use rpkit::rand::{random_token, SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

type State = HashMap<String, String>;

struct Entry {
    state: State,
    expires_at: u64,
}

/// An actix-session [`SessionStore`] that keeps sessions in memory: the cookie carries
/// only a random 256-bit id, so **a logout deletes the session for every copy of the
/// cookie** — which `CookieSessionStore` cannot do.
///
/// For one process (a demo, a single instance, tests); several instances need a shared
/// server-side store such as actix-session's `RedisSessionStore`. Clones share the
/// sessions; expired ones are dropped when read and on every save.
///
/// ```
/// use actix_web::cookie::Key;
/// use actix_web::App;
/// use rpkit_actix::{session_middleware, MemorySessionStore};
///
/// let store = MemorySessionStore::new();
/// let key = Key::generate(); // a fixed key from configuration in production
/// let app = App::new().wrap(session_middleware(store.clone(), key, true));
/// # drop(app);
/// assert!(store.is_empty());
/// ```
#[derive(Clone)]
pub struct MemorySessionStore {
    sessions: Arc<Mutex<HashMap<String, Entry>>>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn SecureRandom>,
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl MemorySessionStore {
    /// An empty store on the system clock and random source.
    pub fn new() -> Self {
        MemorySessionStore {
            sessions: Arc::default(),
            clock: Arc::new(SystemClock),
            rng: Arc::new(SystemRandom::new()),
        }
    }

    /// Takes the time for session expiry from `clock` (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How many sessions are held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        self.clock.now().as_secs()
    }

    fn deadline(&self, ttl: &Duration) -> u64 {
        self.now().saturating_add(u64::try_from(ttl.whole_seconds()).unwrap_or(0))
    }
}

impl SessionStore for MemorySessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let now = self.now();
        let mut sessions = self.lock();
        match sessions.get(key.as_ref()) {
            Some(entry) if entry.expires_at > now => Ok(Some(entry.state.clone())),
            Some(_) => {
                sessions.remove(key.as_ref());
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let id = random_token(&*self.rng, 32).map_err(|_| SaveError::Other(anyhow::anyhow!("random source failed")))?;
        let now = self.now();
        let expires_at = self.deadline(ttl);
        let mut sessions = self.lock();
        sessions.retain(|_, e| e.expires_at > now);
        sessions.insert(id.clone(), Entry { state, expires_at });
        SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(&self, key: SessionKey, state: State, ttl: &Duration) -> Result<SessionKey, UpdateError> {
        let expires_at = self.deadline(ttl);
        let updated = match self.lock().get_mut(key.as_ref()) {
            Some(entry) => {
                *entry = Entry { state: state.clone(), expires_at };
                true
            }
            None => false,
        };
        if updated {
            return Ok(key);
        }
        // Deleted meanwhile (a logout in another tab): never resurrect it under the old id.
        self.save(state, ttl).await.map_err(|e| UpdateError::Other(anyhow::anyhow!(e.to_string())))
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let expires_at = self.deadline(ttl);
        if let Some(entry) = self.lock().get_mut(key.as_ref()) {
            entry.expires_at = expires_at;
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.lock().remove(key.as_ref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpkit::client::ManualClock;

    #[actix_web::test]
    async fn deleted_session_is_gone_for_every_copy_of_its_cookie() {
        let store = MemorySessionStore::new();
        let key = store.save(State::from([("a".into(), "1".into())]), &Duration::hours(1)).await.unwrap();
        let copy = SessionKey::try_from(key.as_ref().to_owned()).unwrap();
        store.delete(&key).await.unwrap();
        assert_eq!(store.load(&copy).await.unwrap(), None);
        // An update under the deleted id gets a new id.
        let new = store.update(copy, State::new(), &Duration::hours(1)).await.unwrap();
        assert_ne!(new.as_ref(), key.as_ref());
    }

    #[actix_web::test]
    async fn expired_session_reads_as_none() {
        let clock = Arc::new(ManualClock::new(1_000));
        let store = MemorySessionStore::new().with_clock(Arc::clone(&clock));
        let key = store.save(State::new(), &Duration::seconds(60)).await.unwrap();
        assert!(store.load(&key).await.unwrap().is_some());
        clock.advance(61);
        assert!(store.load(&key).await.unwrap().is_none());
        assert!(store.is_empty());
    }
}
