//! Typed access to an actix-session [`Session`], and the middleware with safe defaults.

use crate::error::SessionError;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::SessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Key, SameSite};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The default name of the session cookie.
pub const DEFAULT_COOKIE_NAME: &str = "rpkit_session";

/// The value under `key`; a value of another shape (or unreadable) reads as `None`.
pub(crate) fn get<T: DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    match session.get::<T>(key) {
        Ok(value) => value,
        Err(_) => {
            tracing::warn!(key, "ignoring a session value of an unexpected shape");
            None
        }
    }
}

/// Stores `value` under `key`.
pub(crate) fn insert<T: Serialize>(session: &Session, key: &str, value: &T) -> Result<(), SessionError> {
    session.insert(key, value).map_err(|_| SessionError::Serialize)
}

/// actix-session's [`SessionMiddleware`] over any store, set up for OAuth logins.
///
/// - cookie `rpkit_session`, `HttpOnly`, `SameSite=Lax` (the callback is a top-level
///   `GET` from the provider, which `Lax` lets through; for `form_post` see
///   [`form_post_relay`](crate::form_post_relay)), `Path=/`;
/// - `Secure` when `secure` is true — pass `false` only for a plain-`http` development
///   base URL, where a browser would never send a `Secure` cookie back;
/// - the cookie content is encrypted and authenticated with `key` (with
///   `CookieSessionStore` that is the whole session; with `RedisSessionStore` the
///   session id);
/// - a persistent cookie that lives one day.
///
/// It works unchanged with `CookieSessionStore`, `RedisSessionStore` or your own
/// [`SessionStore`]: this crate stores only serde data. Keep in mind that browsers drop
/// cookies over about 4 KB: a logged-in user with a large ID token may not fit into
/// `CookieSessionStore` (the middleware then answers `500`); use a server-side store for
/// such providers.
///
/// ```
/// use actix_session::storage::CookieSessionStore;
/// use actix_web::cookie::Key;
/// use actix_web::App;
///
/// let key = Key::generate(); // load a fixed 64-byte key from configuration instead
/// let app = App::new().wrap(rpkit_actix::session_middleware(CookieSessionStore::default(), key, true));
/// # drop(app);
/// ```
pub fn session_middleware<S: SessionStore>(store: S, key: Key, secure: bool) -> SessionMiddleware<S> {
    SessionMiddleware::builder(store, key)
        .cookie_name(DEFAULT_COOKIE_NAME.to_owned())
        .cookie_secure(secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(1)))
        .build()
}
