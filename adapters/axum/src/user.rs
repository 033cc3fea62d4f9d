//! The logged-in user: what the session keeps, the extractor that requires it, and the
//! revocation list that back-channel logout fills.

use crate::error::AuthError;
use crate::session::AuthSession;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use rpkit::logout::LogoutTarget;
use rpkit::{Claims, Token, UnixTime};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The session key of the logged-in [`AuthUser`].
pub const USER_KEY: &str = "rpkit.user";

/// A logged-in user as the session keeps it: the provider's name, the token (with the
/// ID token and, in `token.userinfo`, its validated claims), the claims from the UserInfo
/// endpoint, and when the login happened.
///
/// It is stored only after every check of the login passed
/// ([`complete_login`](crate::complete_login)). `Debug` redacts the tokens.
///
/// ```
/// use rpkit::{Claims, Token};
/// use rpkit_axum::AuthUser;
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
    sub: Option<String>,
    sid: Option<String>,
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
/// affected. This works for any session store, including the encrypted cookie, which has
/// no server-side copy to delete.
///
/// The list lives in this process: clones share it, but several instances each need the
/// logout (or a shared implementation). Entries are kept [`ttl`](Self::ttl) seconds
/// (default 30 days — keep it at least as long as your sessions live) and at most
/// [`max_entries`](Self::max_entries).
///
/// Make it available to the extractor through your router state (`FromRef`):
///
/// ```
/// use axum::extract::FromRef;
/// use axum::{routing::get, Router};
/// use rpkit_axum::{CurrentUser, Revocations};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     revocations: Revocations,
/// }
///
/// async fn me(CurrentUser(user): CurrentUser) -> String {
///     user.name().unwrap_or("?").to_owned()
/// }
///
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .with_state(AppState { revocations: Revocations::new() });
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
        inner.entries.push_back(Revoked {
            provider: provider.to_owned(),
            sub: target.sub.clone(),
            sid: target.sid.clone(),
            at: now,
        });
        while inner.entries.len() > inner.max {
            inner.entries.pop_front();
        }
    }

    /// Whether `user`'s login was ended by a back-channel logout.
    pub fn is_revoked(&self, user: &AuthUser) -> bool {
        let inner = self.lock();
        inner.entries.iter().any(|e| {
            e.provider == user.provider
                && user.logged_in_at <= e.at
                && LogoutTarget {
                    sub: e.sub.clone(),
                    sid: e.sid.clone(),
                    jti: String::new(),
                    iat: e.at,
                    claims: Claims::default(),
                }
                .matches(user.sub(), user.sid())
        })
    }
}

/// The logged-in user, as an axum extractor: answers `401 {"error":"login_required"}`
/// when nobody is logged in, or when a back-channel logout ended this login (the user is
/// then removed from the session).
///
/// Needs a session layer (see [`AuthSession`]) and a [`Revocations`] in the router state
/// (through `FromRef`). `Option<CurrentUser>` never rejects for a missing login.
///
/// ```
/// use rpkit_axum::CurrentUser;
///
/// async fn profile(CurrentUser(user): CurrentUser) -> String {
///     format!("{} via {}", user.name().unwrap_or("someone"), user.provider)
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
    ///
    /// # Errors
    /// Session store failures.
    pub async fn load(session: &AuthSession, revocations: &Revocations) -> Result<Option<AuthUser>, AuthError> {
        let Some(user) = session.get::<AuthUser>(USER_KEY).await? else {
            return Ok(None);
        };
        if revocations.is_revoked(&user) {
            tracing::info!(provider = %user.provider, "session ended by back-channel logout");
            session.remove(USER_KEY).await?;
            return Ok(None);
        }
        Ok(Some(user))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Revocations: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        let revocations = Revocations::from_ref(state);
        CurrentUser::load(&session, &revocations).await?.map(CurrentUser).ok_or(AuthError::LoginRequired)
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Revocations: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        let revocations = Revocations::from_ref(state);
        Ok(CurrentUser::load(&session, &revocations).await?.map(CurrentUser))
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

    #[test]
    fn user_debug_hides_tokens() {
        let u = user("dev", "alice", Some("s1"), T0);
        let text = format!("{u:?}");
        assert!(!text.contains("x.y.z"));
        assert!(text.contains("alice"));
    }
}
