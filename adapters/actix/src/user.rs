//! The logged-in user: what the session keeps, the extractor that requires it, and the
//! revocation list that back-channel logout fills.

use crate::error::{AuthError, SessionError};
use crate::session;
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use rpkit::logout::LogoutTarget;
use rpkit::{Claims, Token, UnixTime};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The session key of the logged-in [`AuthUser`].
pub const USER_KEY: &str = "rpkit.user";

/// A logged-in user as the session keeps it: the provider's name, the token (with the
/// ID token and, in `token.userinfo`, its validated claims), the claims from the UserInfo
/// endpoint, and when the login happened.
///
/// It is plain serde data, so any actix-session store keeps it (`CookieSessionStore`,
/// `RedisSessionStore`, your own). It is stored only after every check of the login
/// passed ([`complete_login`](crate::complete_login)). `Debug` redacts the tokens.
///
/// ```
/// use rpkit::{Claims, Token};
/// use rpkit_actix::AuthUser;
///
/// let token: Token = serde_json::from_value(serde_json::json!({
///     "access_token": "at", "token_type": "Bearer",
///     "userinfo": {"sub": "alice", "sid": "s1", "name": "Alice"}
/// })).unwrap();
/// let userinfo = Claims::from_json(r#"{"sub": "alice", "email": "alice@example.com"}"#).unwrap();
/// let user = AuthUser::new("corp", token, Some(userinfo), rpkit::UnixTime::from_secs(1_700_000_000));
/// assert_eq!(user.sub(), Some("alice"));
/// assert_eq!(user.sid(), Some("s1"));
/// assert_eq!(user.email(), Some("alice@example.com"));
/// assert_eq!(user.name(), Some("Alice"));
/// assert!(!format!("{user:?}").contains("\"at\""));
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthUser {
    /// The registered name of the provider the user logged in with.
    pub provider: String,
    /// The token; `token.userinfo` holds the validated ID token claims.
    pub token: Token,
    /// Claims from the UserInfo endpoint (their `sub` was checked against the ID token's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Claims>,
    /// When the login completed.
    pub logged_in_at: UnixTime,
}

impl fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthUser")
            .field("provider", &self.provider)
            .field("sub", &self.sub())
            .field("token", &self.token)
            .field("logged_in_at", &self.logged_in_at)
            .finish_non_exhaustive()
    }
}

impl AuthUser {
    /// A user who logged in with `provider` at `logged_in_at`.
    pub fn new(provider: impl Into<String>, token: Token, userinfo: Option<Claims>, logged_in_at: UnixTime) -> Self {
        AuthUser { provider: provider.into(), token, userinfo, logged_in_at }
    }

    /// The validated ID token claims, when the login was OpenID Connect.
    pub fn id_token_claims(&self) -> Option<&Claims> {
        self.token.userinfo.as_ref()
    }

    fn claim(&self, name: &str) -> Option<&str> {
        self.userinfo.as_ref().and_then(|c| c.get_str(name)).or_else(|| self.id_token_claims()?.get_str(name))
    }

    /// The subject: the ID token's `sub`, else the UserInfo `sub`.
    pub fn sub(&self) -> Option<&str> {
        self.id_token_claims().and_then(|c| c.get_str("sub")).or_else(|| self.userinfo.as_ref()?.get_str("sub"))
    }

    /// The provider's session id (`sid` of the ID token), for back-channel logout.
    pub fn sid(&self) -> Option<&str> {
        self.id_token_claims().and_then(|c| c.get_str("sid"))
    }

    /// A display name: `name`, else `preferred_username`, else `sub`.
    pub fn name(&self) -> Option<&str> {
        self.claim("name").or_else(|| self.claim("preferred_username")).or_else(|| self.sub())
    }

    /// The `email` claim.
    pub fn email(&self) -> Option<&str> {
        self.claim("email")
    }
}

/// The wall clock as a [`UnixTime`] (the adapter is the IO edge; the core never reads it).
pub(crate) fn unix_now() -> UnixTime {
    UnixTime::from_secs(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// Default retention of a revocation: sessions older than this must be gone anyway.
pub const DEFAULT_REVOCATION_TTL_SECS: u64 = 30 * 24 * 60 * 60;

/// Default number of revocations kept (the oldest are forgotten first).
pub const DEFAULT_MAX_REVOCATIONS: usize = 100_000;

#[derive(Debug, Clone)]
struct Revoked {
    provider: String,
    target: LogoutTarget,
    at: UnixTime,
}

struct RevocationsInner {
    entries: VecDeque<Revoked>,
    ttl: u64,
    max: usize,
}

/// The sessions ended by back-channel logout
/// ([OIDC Back-Channel Logout](https://openid.net/specs/openid-connect-backchannel-1_0.html)),
/// checked on every request by the [`CurrentUser`] extractor.
///
/// A logout token names a provider session (`sid`) or a user (`sub`); every local login
/// it matches ([`LogoutTarget::matches`]) that happened at or before the logout ends: the
/// extractor removes the user from that session and answers `401`. A later login is not
/// affected. This works for any session store, including `CookieSessionStore`, which has
/// no server-side copy to delete.
///
/// The list lives in this process: clones share it, but several instances each need the
/// logout (or a shared implementation). Entries are kept [`ttl`](Self::ttl) seconds
/// (default 30 days — keep it at least as long as your sessions live) and at most
/// [`max_entries`](Self::max_entries).
///
/// Register it as app data, `web::Data<Revocations>`: [`CurrentUser`] refuses to run
/// without it (`500 server_misconfigured`) rather than silently skip the check.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use rpkit_actix::{CurrentUser, Revocations};
///
/// async fn me(CurrentUser(user): CurrentUser) -> HttpResponse {
///     HttpResponse::Ok().body(user.name().unwrap_or("?").to_owned())
/// }
///
/// let revocations = web::Data::new(Revocations::new());
/// let app = App::new().app_data(revocations.clone()).route("/me", web::get().to(me));
/// # drop(app);
/// ```
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Mutex<RevocationsInner>>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations").field("len", &self.len()).finish()
    }
}

impl Revocations {
    /// An empty list with the default retention and capacity.
    pub fn new() -> Self {
        Revocations {
            inner: Arc::new(Mutex::new(RevocationsInner {
                entries: VecDeque::new(),
                ttl: DEFAULT_REVOCATION_TTL_SECS,
                max: DEFAULT_MAX_REVOCATIONS,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RevocationsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps each revocation `secs` seconds.
    #[must_use]
    pub fn ttl(self, secs: u64) -> Self {
        self.lock().ttl = secs;
        self
    }

    /// Keeps at most `max` revocations (at least 1).
    #[must_use]
    pub fn max_entries(self, max: usize) -> Self {
        self.lock().max = max.max(1);
        self
    }

    /// How many revocations are held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that the sessions `target` names at `provider` ended at `now`.
    pub fn revoke(&self, provider: &str, target: &LogoutTarget, now: UnixTime) {
        let mut inner = self.lock();
        let ttl = inner.ttl;
        inner.entries.retain(|e| now.secs_since(e.at) <= ttl);
        let target = LogoutTarget {
            sub: target.sub.clone(),
            sid: target.sid.clone(),
            jti: String::new(),
            iat: target.iat,
            claims: Claims::default(),
        };
        inner.entries.push_back(Revoked { provider: provider.to_owned(), target, at: now });
        while inner.entries.len() > inner.max {
            inner.entries.pop_front();
        }
    }

    /// Whether `user`'s login was ended by a back-channel logout.
    pub fn is_revoked(&self, user: &AuthUser) -> bool {
        let inner = self.lock();
        inner.entries.iter().any(|e| {
            e.provider == user.provider && user.logged_in_at <= e.at && e.target.matches(user.sub(), user.sid())
        })
    }
}

/// The logged-in user, as an actix extractor: answers `401 {"error":"login_required"}`
/// when nobody is logged in, or when a back-channel logout ended this login (the user is
/// then removed from the session).
///
/// Needs the actix-session `SessionMiddleware` and a `web::Data<`[`Revocations`]`>` app
/// data. `Option<CurrentUser>` gives `None` instead of rejecting.
///
/// ```
/// use actix_web::HttpResponse;
/// use rpkit_actix::CurrentUser;
///
/// async fn profile(CurrentUser(user): CurrentUser) -> HttpResponse {
///     HttpResponse::Ok().body(format!("{} via {}", user.name().unwrap_or("someone"), user.provider))
/// }
///
/// async fn home(user: Option<CurrentUser>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "please log in" }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub AuthUser);

impl CurrentUser {
    /// The session's user unless absent or revoked (then removed from the session).
    pub fn load(session: &Session, revocations: &Revocations) -> Option<AuthUser> {
        let user = session::get::<AuthUser>(session, USER_KEY)?;
        if revocations.is_revoked(&user) {
            tracing::info!(provider = %user.provider, "session ended by back-channel logout");
            session.remove(USER_KEY);
            return None;
        }
        Some(user)
    }

    fn extract(req: &HttpRequest) -> Result<CurrentUser, AuthError> {
        let revocations = req
            .app_data::<web::Data<Revocations>>()
            .ok_or(SessionError::MissingAppData("web::Data<rpkit_actix::Revocations>"))?;
        CurrentUser::load(&req.get_session(), revocations).map(CurrentUser).ok_or(AuthError::LoginRequired)
    }
}

impl FromRequest for CurrentUser {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(CurrentUser::extract(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn user(provider: &str, sub: &str, sid: Option<&str>, at: UnixTime) -> AuthUser {
        let mut claims = json!({"sub": sub});
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        let token: Token = serde_json::from_value(json!({
            "access_token": "at", "token_type": "Bearer", "id_token": "x.y.z", "userinfo": claims
        }))
        .unwrap();
        AuthUser::new(provider, token, None, at)
    }

    fn target(sub: Option<&str>, sid: Option<&str>) -> LogoutTarget {
        LogoutTarget {
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
            jti: "j".into(),
            iat: T0,
            claims: Claims::default(),
        }
    }

    #[test]
    fn logout_by_sid_ends_only_that_provider_session() {
        let r = Revocations::new();
        r.revoke("dev", &target(Some("alice"), Some("s1")), T0.plus(10));
        assert!(r.is_revoked(&user("dev", "alice", Some("s1"), T0)));
        assert!(!r.is_revoked(&user("dev", "alice", Some("s2"), T0)));
        assert!(!r.is_revoked(&user("other", "alice", Some("s1"), T0)));
    }

    #[test]
    fn logout_by_sub_ends_every_earlier_login_of_that_user() {
        let r = Revocations::new();
        r.revoke("dev", &target(Some("alice"), None), T0.plus(10));
        assert!(r.is_revoked(&user("dev", "alice", Some("s1"), T0)));
        assert!(r.is_revoked(&user("dev", "alice", None, T0.plus(10))));
        assert!(!r.is_revoked(&user("dev", "bob", None, T0)));
    }

    #[test]
    fn a_login_after_the_logout_is_not_revoked() {
        let r = Revocations::new();
        r.revoke("dev", &target(Some("alice"), None), T0);
        assert!(!r.is_revoked(&user("dev", "alice", None, T0.plus(1))));
    }

    #[test]
    fn revocations_are_bounded_and_expire() {
        let r = Revocations::new().max_entries(2).ttl(100);
        for i in 0..5 {
            r.revoke("dev", &target(Some(&format!("u{i}")), None), T0);
        }
        assert_eq!(r.len(), 2);
        r.revoke("dev", &target(Some("late"), None), T0.plus(101));
        assert_eq!(r.len(), 1);
    }

    fn request_with_user(revocations: Option<Revocations>, logged_in: Option<AuthUser>) -> HttpRequest {
        let mut test = actix_web::test::TestRequest::get();
        if let Some(r) = revocations {
            test = test.app_data(web::Data::new(r));
        }
        let req = test.to_http_request();
        if let Some(u) = logged_in {
            session::insert(&req.get_session(), USER_KEY, &u).unwrap();
        }
        req
    }

    #[test]
    fn current_user_is_the_stored_user() {
        let req = request_with_user(Some(Revocations::new()), Some(user("dev", "alice", Some("s1"), T0)));
        let CurrentUser(u) = CurrentUser::extract(&req).unwrap();
        assert_eq!(u.sub(), Some("alice"));
    }

    #[test]
    fn current_user_without_login_is_401() {
        let req = request_with_user(Some(Revocations::new()), None);
        let err = CurrentUser::extract(&req).unwrap_err();
        assert!(matches!(err, AuthError::LoginRequired));
        assert_eq!(err.status(), actix_web::http::StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn revoked_user_is_401_and_removed_from_the_session() {
        let revocations = Revocations::new();
        revocations.revoke("dev", &target(None, Some("s1")), unix_now());
        let req = request_with_user(Some(revocations), Some(user("dev", "alice", Some("s1"), T0)));
        assert!(matches!(CurrentUser::extract(&req).unwrap_err(), AuthError::LoginRequired));
        assert!(!req.get_session().contains_key(USER_KEY));
    }

    #[test]
    fn current_user_without_revocations_app_data_refuses_rather_than_skips_the_check() {
        let req = request_with_user(None, Some(user("dev", "alice", Some("s1"), T0)));
        let err = CurrentUser::extract(&req).unwrap_err();
        assert!(matches!(err, AuthError::Session(SessionError::MissingAppData(_))));
        assert_eq!(err.status(), actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn stored_user_of_another_shape_reads_as_logged_out() {
        let req = request_with_user(Some(Revocations::new()), None);
        req.get_session().insert(USER_KEY, serde_json::json!({"provider": 5})).unwrap();
        assert!(matches!(CurrentUser::extract(&req).unwrap_err(), AuthError::LoginRequired));
    }

    #[test]
    fn user_debug_hides_tokens() {
        let u = user("dev", "alice", Some("s1"), T0);
        let text = format!("{u:?}");
        assert!(!text.contains("x.y.z"));
        assert!(text.contains("alice"));
    }

    #[test]
    fn user_round_trips_through_json_as_a_session_store_keeps_it() {
        let u = user("dev", "alice", Some("s1"), T0);
        let text = serde_json::to_string(&u).unwrap();
        let back: AuthUser = serde_json::from_str(&text).unwrap();
        assert_eq!(back.sub(), Some("alice"));
        assert_eq!(back.sid(), Some("s1"));
        assert_eq!(back.logged_in_at, T0);
        assert_eq!(back.token.id_token.as_ref().map(|t| t.secret().to_owned()), Some("x.y.z".to_owned()));
    }
}
