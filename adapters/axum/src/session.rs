//! One session API over tower-sessions and the encrypted cookie store.

use crate::cookie_store::CookieSession;
use crate::error::AuthError;
use axum::response::{IntoResponse, Response};
use rpkit::client::web::{Fault, Outcome, SessionEdit, SessionValues, SESSION_KEYS, STORE_UNAVAILABLE_CODE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Why the session could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Neither a `tower_sessions::SessionManagerLayer` nor a
    /// [`CookieSessionLayer`](crate::CookieSessionLayer) wraps the route.
    #[error("no session layer: add tower_sessions::SessionManagerLayer or rpkit_axum::CookieSessionLayer")]
    NoSessionLayer,
    /// The tower-sessions store failed.
    #[error("the session store failed: {0}")]
    Store(String),
    /// The session store's backend (Redis, SQL) cannot be reached: `503`, worth a retry.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// The sealed cookie would be larger than the configured limit; nothing was changed.
    #[error("the session would need a {size}-byte cookie, over the {limit}-byte limit")]
    TooLarge {
        /// The size the cookie would have had.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A value could not be serialized.
    #[error("a session value could not be serialized")]
    Serialize,
    /// The cookie key is not 32 bytes (or not base64 of 32 bytes).
    #[error("the cookie key must be 32 bytes (base64 of 32 bytes)")]
    InvalidKey,
    /// The cookie name or attributes do not fit in an HTTP header.
    #[error("the cookie name or attributes are not valid in a header")]
    InvalidCookieName,
    /// The random source failed.
    #[error("the random source failed")]
    Random,
}

impl SessionError {
    /// The short code answered in error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::NoSessionLayer => "no_session_layer",
            SessionError::Store(_) => "session_store_failed",
            SessionError::Unavailable(_) => STORE_UNAVAILABLE_CODE,
            SessionError::TooLarge { .. } => "session_too_large",
            SessionError::Serialize => "session_serialize_failed",
            SessionError::InvalidKey => "invalid_cookie_key",
            SessionError::InvalidCookieName => "invalid_cookie_name",
            SessionError::Random => "random_source_failed",
        }
    }
}

impl SessionError {
    /// Whose fault it is: the server's (`500`), or an unreachable store's (`503`).
    pub fn fault(&self) -> Fault {
        match self {
            SessionError::Unavailable(_) => Fault::StoreUnavailable,
            _ => Fault::Server,
        }
    }
}

impl IntoResponse for SessionError {
    /// The JSON error of [`AuthError`]: a session problem is the server's, not the user's.
    fn into_response(self) -> Response {
        AuthError::Session(self).into_response()
    }
}

impl From<tower_sessions::session::Error> for SessionError {
    fn from(e: tower_sessions::session::Error) -> Self {
        use tower_sessions::session_store::Error as Store;
        match e {
            // What a store reports when its backend does not answer.
            tower_sessions::session::Error::Store(Store::Backend(why)) => SessionError::Unavailable(why),
            e => SessionError::Store(e.to_string()),
        }
    }
}

#[derive(Clone)]
enum Backend {
    Tower(tower_sessions::Session),
    Cookie(CookieSession),
}

/// The session of the current request, whichever store keeps it: a
/// [tower-sessions](https://docs.rs/tower-sessions) `Session` (memory, Redis, SQL, … —
/// the cookie holds only an id) or a [`CookieSession`] (the data itself, encrypted, in
/// the cookie).
///
/// It is an axum extractor: it takes the session the layer put in the request
/// extensions, and rejects with `500 no_session_layer` when no layer is installed.
/// Values are stored as JSON; a stored value that no longer deserializes into the type
/// asked for reads as absent.
///
/// ```
/// use axum::{routing::get, Router};
/// use rpkit_axum::AuthSession;
/// use tower_sessions::{MemoryStore, SessionManagerLayer};
///
/// async fn visits(session: AuthSession) -> String {
///     let n: u64 = session.get("visits").await.ok().flatten().unwrap_or(0);
///     let _ = session.insert("visits", &(n + 1)).await;
///     format!("visit {}", n + 1)
/// }
///
/// let app: Router = Router::new()
///     .route("/", get(visits))
///     .layer(SessionManagerLayer::new(MemoryStore::default()));
/// ```
#[derive(Clone)]
pub struct AuthSession(Backend);

impl fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Backend::Tower(_) => f.write_str("AuthSession(tower-sessions)"),
            Backend::Cookie(_) => f.write_str("AuthSession(cookie)"),
        }
    }
}

impl From<tower_sessions::Session> for AuthSession {
    fn from(s: tower_sessions::Session) -> Self {
        AuthSession(Backend::Tower(s))
    }
}

impl From<CookieSession> for AuthSession {
    fn from(s: CookieSession) -> Self {
        AuthSession(Backend::Cookie(s))
    }
}

impl AuthSession {
    /// The value stored under `key` as JSON.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn get_value(&self, key: &str) -> Result<Option<Value>, SessionError> {
        match &self.0 {
            Backend::Tower(s) => Ok(s.get_value(key).await?),
            Backend::Cookie(s) => Ok(s.get_value(key)),
        }
    }

    /// The value stored under `key`; a value of another shape reads as `None`.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        Ok(self.get_value(key).await?.and_then(|v| match serde_json::from_value(v) {
            Ok(t) => Some(t),
            Err(_) => {
                tracing::warn!(key, "ignoring a session value of an unexpected shape");
                None
            }
        }))
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`SessionError::Serialize`], [`SessionError::TooLarge`] (cookie store; the session
    /// is unchanged), [`SessionError::Store`].
    pub async fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value).map_err(|_| SessionError::Serialize)?;
        match &self.0 {
            Backend::Tower(s) => {
                s.insert_value(key, value).await?;
                Ok(())
            }
            Backend::Cookie(s) => s.insert_value(key, value),
        }
    }

    /// Removes the value under `key`.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn remove(&self, key: &str) -> Result<(), SessionError> {
        match &self.0 {
            Backend::Tower(s) => {
                s.remove_value(key).await?;
                Ok(())
            }
            Backend::Cookie(s) => {
                s.remove_value(key);
                Ok(())
            }
        }
    }

    /// Gives the session a new id, keeping its data (session fixation defence at login).
    ///
    /// The cookie store has no id: a new cookie is sealed on every write, and a cookie
    /// planted before the login never carries the logged-in user.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn cycle_id(&self) -> Result<(), SessionError> {
        match &self.0 {
            Backend::Tower(s) => Ok(s.cycle_id().await?),
            Backend::Cookie(_) => Ok(()),
        }
    }

    /// Writes the session to its store now instead of when the response leaves.
    ///
    /// tower-sessions does not save a session when the response is a server error
    /// (`5xx`): a consumed pending authorization would come back to life after a `502`.
    /// The flows here call this after changes that must stick whatever the response. The
    /// cookie store writes its cookie on every response, so this does nothing there.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn save(&self) -> Result<(), SessionError> {
        match &self.0 {
            Backend::Tower(s) => Ok(s.save().await?),
            Backend::Cookie(_) => Ok(()),
        }
    }

    /// Ends the session now: empties it and deletes it from the store (tower-sessions),
    /// or empties the cookie. Values inserted afterwards go to a new session.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn flush(&self) -> Result<(), SessionError> {
        match &self.0 {
            Backend::Tower(s) => {
                s.flush().await?;
                // flush keeps the record's id, and a store may reuse it for the next
                // save: draw a new one so the old cookie names nothing.
                s.cycle_id().await?;
                Ok(())
            }
            Backend::Cookie(s) => {
                s.clear();
                Ok(())
            }
        }
    }

    /// What the web flows read: the values under [`SESSION_KEYS`].
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn values(&self) -> Result<SessionValues, SessionError> {
        let mut entries = Vec::with_capacity(SESSION_KEYS.len());
        for key in SESSION_KEYS {
            entries.push((key, self.get_value(key).await?));
        }
        Ok(SessionValues::from_json(entries))
    }

    /// Writes back what a web flow asked for ([`SessionEdit`], in its order).
    ///
    /// # Errors
    /// Store failures, [`SessionError::TooLarge`] (cookie store).
    pub async fn apply(&self, edit: SessionEdit) -> Result<(), SessionError> {
        if edit.end_session {
            self.flush().await?;
        }
        if edit.renew_id {
            self.cycle_id().await?;
        }
        for key in edit.remove {
            self.remove(key).await?;
        }
        for (key, value) in edit.set {
            self.insert(key, &value).await?;
        }
        if edit.save_now {
            self.save().await?;
        }
        Ok(())
    }

    /// Applies a flow's edit, whatever its result, then gives the result.
    ///
    /// # Errors
    /// The flow's error, or the session's when the edit could not be written.
    pub async fn settle<T>(&self, outcome: Outcome<T>) -> Result<T, AuthError> {
        self.apply(outcome.edit).await?;
        Ok(outcome.result?)
    }

    /// Removes everything from the session.
    pub async fn clear(&self) {
        match &self.0 {
            Backend::Tower(s) => s.clear().await,
            Backend::Cookie(s) => s.clear(),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuthSession {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(s) = parts.extensions.get::<tower_sessions::Session>() {
            return Ok(AuthSession(Backend::Tower(s.clone())));
        }
        if let Some(s) = parts.extensions.get::<CookieSession>() {
            return Ok(AuthSession(Backend::Cookie(s.clone())));
        }
        Err(SessionError::NoSessionLayer)
    }
}
