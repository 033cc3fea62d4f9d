//! Typed access to an actix-session [`Session`], and the middleware with safe defaults.

use crate::error::{AuthError, SessionError};
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::SessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Key, SameSite};
use rpkit::client::web::{Outcome, SessionEdit, SessionValues, SESSION_KEYS};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The default name of the session cookie over plain `http` (loopback development).
pub const DEFAULT_COOKIE_NAME: &str = "rpkit_session";

/// The name of the session cookie when `secure`: the `__Host-` prefix makes browsers
/// insist on `Secure`, `Path=/` and no `Domain`, so a sibling subdomain or a plain-`http`
/// page cannot plant or overwrite it.
pub const DEFAULT_COOKIE_NAME_HTTPS: &str = "__Host-rpkit_session";

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

/// What the web flows read: the values under [`SESSION_KEYS`].
pub(crate) fn values(session: &Session) -> SessionValues {
    SessionValues::from_json(SESSION_KEYS.map(|key| (key, get::<serde_json::Value>(session, key))))
}

/// Writes back what a web flow asked for ([`SessionEdit`], in its order). actix-session
/// writes the session with every response, so `save_now` needs nothing more.
pub(crate) fn apply(session: &Session, edit: SessionEdit) -> Result<(), SessionError> {
    if edit.end_session {
        // A new key for what follows (the pending logout): the old cookie names nothing.
        session.clear();
        session.renew();
    }
    if edit.renew_id {
        session.renew();
    }
    for key in edit.remove {
        session.remove(key);
    }
    for (key, value) in edit.set {
        insert(session, key, &value)?;
    }
    Ok(())
}

/// Applies a flow's edit, whatever its result, then gives the result.
pub(crate) fn settle<T>(session: &Session, outcome: Outcome<T>) -> Result<T, AuthError> {
    apply(session, outcome.edit)?;
    Ok(outcome.result?)
}

/// actix-session's [`SessionMiddleware`] over any store, set up for OAuth logins.
///
/// - cookie `HttpOnly`, `SameSite=Lax` (the callback is a top-level `GET` from the
///   provider, which `Lax` lets through; for `form_post` see
///   [`form_post_relay`](crate::form_post_relay)), `Path=/`, no `Domain`;
/// - when `secure` is true: `Secure` and the name `__Host-rpkit_session`
///   ([`DEFAULT_COOKIE_NAME_HTTPS`]); pass `false` only for a plain-`http` development
///   base URL, where a browser would never send a `Secure` cookie back (the name is then
///   `rpkit_session`);
/// - the cookie content is encrypted and authenticated with `key` (with a server-side
///   store that is the session id; with `CookieSessionStore` the whole session);
/// - a persistent cookie that lives one day.
///
/// It works with any [`SessionStore`]: this crate stores only serde data.
///
/// # Security
/// **Use a server-side store** — actix-session's `RedisSessionStore` for several
/// instances, [`MemorySessionStore`](crate::MemorySessionStore) for one — whenever logout
/// must mean something. With `CookieSessionStore` the session *is* the cookie: a logout
/// only asks this browser to drop it, so a copy of the cookie (stolen, or saved before)
/// keeps the login until it expires, and nothing on the server can revoke it. A
/// server-side store deletes the session, and every copy of the cookie names nothing.
/// (Back-channel logouts are still checked by [`CurrentUser`](crate::CurrentUser) for
/// every store.) Cookie-only sessions also hit the browsers' 4 KB cookie limit with large
/// ID tokens.
///
/// ```
/// use actix_web::cookie::Key;
/// use actix_web::App;
/// use rpkit_actix::MemorySessionStore;
///
/// let key = Key::generate(); // load a fixed 64-byte key from configuration instead
/// let app = App::new().wrap(rpkit_actix::session_middleware(MemorySessionStore::new(), key, true));
/// # drop(app);
/// ```
pub fn session_middleware<S: SessionStore>(store: S, key: Key, secure: bool) -> SessionMiddleware<S> {
    SessionMiddleware::builder(store, key)
        .cookie_name(if secure { DEFAULT_COOKIE_NAME_HTTPS } else { DEFAULT_COOKIE_NAME }.to_owned())
        .cookie_domain(None)
        .cookie_secure(secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(1)))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, web, App, HttpResponse};

    async fn set_cookie_of(secure: bool) -> String {
        let app = test::init_service(
            App::new().wrap(session_middleware(crate::MemorySessionStore::new(), Key::generate(), secure)).route(
                "/",
                web::get().to(|s: Session| async move {
                    s.insert("n", 1).unwrap();
                    HttpResponse::Ok().finish()
                }),
            ),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned()
    }

    #[actix_web::test]
    async fn secure_session_cookie_has_the_host_prefix_secure_root_path_and_no_domain() {
        let cookie = set_cookie_of(true).await;
        assert!(cookie.starts_with("__Host-rpkit_session="), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
    }

    #[actix_web::test]
    async fn plain_http_session_cookie_has_no_prefix_and_is_not_secure() {
        let cookie = set_cookie_of(false).await;
        assert!(cookie.starts_with("rpkit_session="), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
}
