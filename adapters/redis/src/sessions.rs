//! Web sessions on the same Redis connection: [`SessionRecords`], and the session stores
//! of tower-sessions (feature `tower-sessions`) and actix-session (feature
//! `actix-session`) built on it.
//!
//! Why not the frameworks' own Redis stores: `tower-sessions-redis-store` 0.16 is built
//! on tower-sessions-core 0.14 (its `SessionStore` is not the trait tower-sessions 0.15
//! asks for) and on a second Redis client (fred); actix-session's `redis-session` uses
//! redis-rs 0.32, a second copy of redis-rs beside this crate's 1.x, and reports a lost
//! connection as an opaque error. These stores share [`RedisStore`]'s one multiplexed,
//! self-reconnecting connection and its bounded calls, and say "unavailable" in a way
//! each adapter answers with `503`.
//!
//! | key | type | value | TTL |
//! |---|---|---|---|
//! | `{prefix}session:{id}` | string | the session, JSON | the session's expiry |

use crate::{millis, RedisStore};
use rpkit::client::store::StoreError;
use std::fmt;
use std::time::Duration;

/// Session records (opaque bytes under a session id) in Redis, each call bounded by the
/// store's operation timeout and failing with [`StoreError::Unavailable`] when Redis
/// cannot answer. Cheap to clone.
#[derive(Clone)]
pub struct SessionRecords {
    store: RedisStore,
}

impl fmt::Debug for SessionRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecords").field("prefix", &self.store.keys.prefix).finish_non_exhaustive()
    }
}

/// How [`SessionRecords::put`] treats an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Only when no record has this id (a new session).
    New,
    /// Only when a record has this id (an update never resurrects a deleted session).
    Existing,
}

impl RedisStore {
    /// Session records on this store's connection, under `{prefix}session:`.
    pub fn sessions(&self) -> SessionRecords {
        SessionRecords { store: self.clone() }
    }
}

impl SessionRecords {
    fn key(&self, id: &str) -> String {
        self.store.keys.key(&["session", id])
    }

    /// The record of `id`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn load(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.store.conn.clone();
        let get = redis::cmd("GET").arg(self.key(id)).to_owned();
        self.store.run(get.query_async(&mut conn)).await
    }

    /// Writes the record of `id` for `ttl` ([`Put`] says when); `false` when the
    /// condition did not hold and nothing was written.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn put(&self, id: &str, value: &[u8], ttl: Duration, when: Put) -> Result<bool, StoreError> {
        let mut conn = self.store.conn.clone();
        let condition = match when {
            Put::New => "NX",
            Put::Existing => "XX",
        };
        let set = redis::cmd("SET").arg(self.key(id)).arg(value).arg(condition).arg("PX").arg(millis(ttl)).to_owned();
        let reply: Option<String> = self.store.run(set.query_async(&mut conn)).await?;
        Ok(reply.is_some())
    }

    /// Sets the TTL of `id`'s record; `false` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut conn = self.store.conn.clone();
        let expire = redis::cmd("PEXPIRE").arg(self.key(id)).arg(millis(ttl)).to_owned();
        Ok(self.store.run(expire.query_async::<i64>(&mut conn)).await? == 1)
    }

    /// Deletes `id`'s record.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.store.conn.clone();
        let del = redis::cmd("DEL").arg(self.key(id)).to_owned();
        self.store.run(del.query_async::<i64>(&mut conn)).await.map(drop)
    }

    /// The size in bytes of `id`'s record (`0` when absent): for capacity planning.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn stored_len(&self, id: &str) -> Result<usize, StoreError> {
        let mut conn = self.store.conn.clone();
        let len = redis::cmd("STRLEN").arg(self.key(id)).to_owned();
        self.store.run(len.query_async(&mut conn)).await
    }
}

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
tokio::task_local! {
    static UNAVAILABLE: std::cell::Cell<bool>;
}

/// Records that a session store call of the current request found Redis unavailable.
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
fn mark(e: &StoreError) {
    if matches!(e, StoreError::Unavailable { .. }) {
        let _ = UNAVAILABLE.try_with(|flag| flag.set(true));
    }
}

/// Runs `request` (a web framework's whole request, session layer included) and says
/// whether one of its session store calls found Redis unavailable: the session layers
/// answer such a failure after the handler with an opaque `500`, which a middleware
/// around them turns into `503` with this (see [`tower::RedisSessionStore`],
/// [`actix::store_unavailable_is_503`]). Features `tower-sessions` or `actix-session`.
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
pub async fn watch_unavailable<F: std::future::Future>(request: F) -> (F::Output, bool) {
    UNAVAILABLE
        .scope(std::cell::Cell::new(false), async move {
            let output = request.await;
            (output, UNAVAILABLE.with(std::cell::Cell::get))
        })
        .await
}

/// tower-sessions on Redis (feature `tower-sessions`).
#[cfg(feature = "tower-sessions")]
pub mod tower {
    use super::{Put, SessionRecords};
    use async_trait::async_trait;
    use rpkit::client::store::StoreError;
    use std::time::Duration;
    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_core::session_store::{Error, Result};

    /// A tower-sessions `SessionStore` on [`SessionRecords`]: the record as JSON under
    /// `{prefix}session:{id}`, expiring with the session.
    ///
    /// A Redis that cannot answer is `session_store::Error::Backend`, which rpkit-axum
    /// answers `503 session_store_unavailable` (its `SessionError::Unavailable`) when a
    /// handler reads the session. The session layer's own save after the handler answers
    /// a failure with an empty `500`: wrap the app in a middleware that runs the request
    /// in [`watch_unavailable`](super::watch_unavailable) and answers `503` when it says
    /// so (the axum demo's `store_unavailable_is_503` does, with `axum::middleware::from_fn`,
    /// outside the `SessionManagerLayer`). A save
    /// only updates a session that still exists, so a request racing a logout on another
    /// instance cannot bring the ended session back.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rpkit_redis::Error> {
    /// use rpkit_redis::{sessions::tower::RedisSessionStore, RedisStore};
    ///
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// let sessions = RedisSessionStore::new(store.sessions());
    /// // then: tower_sessions::SessionManagerLayer::new(sessions), and share `store`
    /// // with the registry: OAuth::builder(http).shared_store(store)
    /// # drop(sessions); Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct RedisSessionStore {
        records: SessionRecords,
    }

    impl RedisSessionStore {
        /// Sessions in `records`.
        pub fn new(records: SessionRecords) -> Self {
            RedisSessionStore { records }
        }
    }

    fn backend(e: StoreError) -> Error {
        super::mark(&e);
        Error::Backend(e.to_string())
    }

    fn ttl(record: &Record) -> Duration {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let at = u64::try_from(record.expiry_date.unix_timestamp()).unwrap_or(0);
        Duration::from_secs(at.saturating_sub(now).max(1))
    }

    fn encode(record: &Record) -> Result<Vec<u8>> {
        serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
    }

    #[async_trait]
    impl tower_sessions_core::SessionStore for RedisSessionStore {
        async fn create(&self, record: &mut Record) -> Result<()> {
            let value = encode(record)?;
            // A fresh 128-bit id colliding is next to impossible; if it does, draw again.
            while !self.records.put(&record.id.to_string(), &value, ttl(record), Put::New).await.map_err(backend)? {
                record.id = Id::default();
            }
            Ok(())
        }

        async fn save(&self, record: &Record) -> Result<()> {
            self.records
                .put(&record.id.to_string(), &encode(record)?, ttl(record), Put::Existing)
                .await
                .map_err(backend)?;
            Ok(())
        }

        async fn load(&self, id: &Id) -> Result<Option<Record>> {
            match self.records.load(&id.to_string()).await.map_err(backend)? {
                Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Decode(e.to_string())),
                None => Ok(None),
            }
        }

        async fn delete(&self, id: &Id) -> Result<()> {
            self.records.delete(&id.to_string()).await.map_err(backend)
        }
    }
}

/// actix-session on Redis (feature `actix-session`).
#[cfg(feature = "actix-session")]
pub mod actix {
    use super::{Put, SessionRecords};
    use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
    use actix_web::body::{BoxBody, MessageBody};
    use actix_web::dev::{ServiceRequest, ServiceResponse};
    use actix_web::error::InternalError;
    use actix_web::middleware::Next;
    use actix_web::HttpResponse;
    use rpkit::client::store::StoreError;
    use rpkit::client::web::{ErrorResponse, Fault, STORE_UNAVAILABLE_CODE};
    use rpkit::rand::{random_token, SecureRandom, SystemRandom};
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    type State = HashMap<String, String>;

    /// An actix-session `SessionStore` on [`SessionRecords`]: the state as JSON under
    /// `{prefix}session:{key}`, the key 256 random bits.
    ///
    /// actix-session answers every store error with an opaque `500`; wrap the app in
    /// [`store_unavailable_is_503`] (outside the `SessionMiddleware`) so that a Redis that
    /// cannot answer is `503 session_store_unavailable` instead. An update of a session
    /// deleted meanwhile (a logout in another tab or instance) gets a new key, never the
    /// old one.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rpkit_redis::Error> {
    /// use actix_web::{cookie::Key, middleware::from_fn, App};
    /// use rpkit_redis::sessions::actix::{store_unavailable_is_503, RedisSessionStore};
    /// use rpkit_redis::RedisStore;
    ///
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
    /// let sessions = RedisSessionStore::new(store.sessions());
    /// let app = App::new()
    ///     .wrap(actix_session::SessionMiddleware::new(sessions, Key::generate()))
    ///     .wrap(from_fn(store_unavailable_is_503));
    /// # drop(app); Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct RedisSessionStore {
        records: SessionRecords,
        rng: Arc<dyn SecureRandom>,
    }

    impl std::fmt::Debug for RedisSessionStore {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisSessionStore").field("records", &self.records).finish_non_exhaustive()
        }
    }

    impl RedisSessionStore {
        /// Sessions in `records`, with keys from the system random source.
        pub fn new(records: SessionRecords) -> Self {
            RedisSessionStore { records, rng: Arc::new(SystemRandom::new()) }
        }

        fn failed(e: StoreError) -> anyhow::Error {
            super::mark(&e);
            anyhow::Error::new(e)
        }
    }

    fn ttl(ttl: &actix_web::cookie::time::Duration) -> Duration {
        Duration::from_secs(u64::try_from(ttl.whole_seconds()).unwrap_or(0).max(1))
    }

    impl SessionStore for RedisSessionStore {
        async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
            match self.records.load(key.as_ref()).await.map_err(|e| LoadError::Other(Self::failed(e)))? {
                Some(bytes) => {
                    serde_json::from_slice(&bytes).map(Some).map_err(|e| LoadError::Deserialization(e.into()))
                }
                None => Ok(None),
            }
        }

        async fn save(&self, state: State, ttl_: &actix_web::cookie::time::Duration) -> Result<SessionKey, SaveError> {
            let value = serde_json::to_vec(&state).map_err(|e| SaveError::Serialization(e.into()))?;
            loop {
                let id = random_token(&*self.rng, 32)
                    .map_err(|_| SaveError::Other(anyhow::anyhow!("random source failed")))?;
                if self
                    .records
                    .put(&id, &value, ttl(ttl_), Put::New)
                    .await
                    .map_err(|e| SaveError::Other(Self::failed(e)))?
                {
                    return SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()));
                }
            }
        }

        async fn update(
            &self,
            key: SessionKey,
            state: State,
            ttl_: &actix_web::cookie::time::Duration,
        ) -> Result<SessionKey, UpdateError> {
            let value = serde_json::to_vec(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
            if self
                .records
                .put(key.as_ref(), &value, ttl(ttl_), Put::Existing)
                .await
                .map_err(|e| UpdateError::Other(Self::failed(e)))?
            {
                return Ok(key);
            }
            // Deleted meanwhile: never resurrect it under the old key.
            self.save(state, ttl_).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }

        async fn update_ttl(
            &self,
            key: &SessionKey,
            ttl_: &actix_web::cookie::time::Duration,
        ) -> Result<(), anyhow::Error> {
            self.records.touch(key.as_ref(), ttl(ttl_)).await.map(drop).map_err(Self::failed)
        }

        async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
            self.records.delete(key.as_ref()).await.map_err(Self::failed)
        }
    }

    /// An actix middleware (for `actix_web::middleware::from_fn`) that answers `503
    /// {"error":"session_store_unavailable"}` (`Cache-Control: no-store`) whenever a
    /// [`RedisSessionStore`] call of this request failed because Redis could not answer,
    /// instead of actix-session's opaque `500`. Wrap it outside the `SessionMiddleware`
    /// (a later `.wrap`).
    ///
    /// # Errors
    /// The inner service's errors, when the store did not fail.
    pub async fn store_unavailable_is_503(
        req: ServiceRequest,
        next: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        let (result, unavailable) = super::watch_unavailable(next.call(req)).await;
        if !unavailable {
            return result.map(ServiceResponse::map_into_boxed_body);
        }
        let answer = || {
            let answer = ErrorResponse::for_fault(Fault::StoreUnavailable, STORE_UNAVAILABLE_CODE).to_http();
            let mut response = HttpResponse::build(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
            for (name, value) in answer.headers() {
                if let (Ok(name), Ok(value)) = (
                    actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
                    actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
                ) {
                    response.insert_header((name, value));
                }
            }
            response.body(answer.into_body())
        };
        match result {
            Ok(res) => Ok(res.into_response(answer())),
            // The session middleware failed before or after the handler: the request is
            // inside the error, so answer through it.
            Err(_) => Err(InternalError::from_response("the session store is unavailable", answer()).into()),
        }
    }
}
