//! The framework-neutral half of a web adapter (`rpkit-axum`, `rpkit-actix`, yours).
//!
//! An adapter is session storage, redirects and extractors; everything two adapters
//! would both need is here, as plain data and functions over it, with no web framework
//! types and no async runtime:
//!
//! - the session keys ([`PENDING_KEY`], [`LOGOUT_KEY`], [`USER_KEY`]) and what is stored
//!   under them: the [`PendingSet`], the [`PendingLogouts`] and the logged-in [`AuthUser`];
//! - the steps of a login and a logout between the session reads and writes:
//!   [`login_user`], [`logout_redirect`], [`validate_logout_response`];
//! - the back-channel [`Revocations`] (in the registry's [`SharedStore`] with
//!   [`Revocations::of`]), filled by [`backchannel_logout`];
//! - the HTTP answer to an error ([`ErrorResponse`]: one status table for every adapter);
//! - the `form_post` callback ([`CallbackInput`]) and the same-origin relay page
//!   ([`form_post_relay_page`]), and [`escape_html`];
//! - the per-session CSRF token that guards the logout `POST` ([`csrf_token`],
//!   [`check_csrf`], [`logout_form`]).
//!
//! The adapter reads the session, calls these, and writes back what they return: that
//! works as well for an async session API (tower-sessions) as for a sync one
//! (actix-session).
//!
//! ```
//! use rpkit::client::web::{ErrorResponse, PENDING_KEY};
//! use rpkit::client::ClientError;
//! use rpkit::{Error, StateError};
//!
//! let replayed = ClientError::from(Error::State(StateError::Unknown { session_empty: false }));
//! let answer = ErrorResponse::from(&replayed);
//! assert_eq!((answer.status, answer.code.as_str()), (400, "state_unknown"));
//! assert_eq!(answer.body(), r#"{"error":"state_unknown"}"#);
//! assert_eq!(PENDING_KEY, "rpkit.pending");
//! ```

use super::store::{Login, MemoryStore, SharedStore, StoreError};
use super::{AuthorizeOptions, ClientError, Clock, LogoutOptions, OAuth, OAuthClient, SystemClock};
use crate::authorize::PendingSet;
use crate::callback::{CallbackError, CallbackParams, MAX_CALLBACK_BYTES};
use crate::claims::Claims;
use crate::config::DEFAULT_PENDING_TTL;
use crate::error::Error;
use crate::logout::{LogoutTarget, PendingLogout, PendingLogouts};
use crate::time::UnixTime;
use crate::token::Token;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The session key of the pending authorizations ([`PendingSet`]).
pub const PENDING_KEY: &str = "rpkit.pending";

/// The session key of the pending RP-initiated logouts ([`PendingLogouts`]).
pub const LOGOUT_KEY: &str = "rpkit.logout";

/// The session key of the logged-in [`AuthUser`].
pub const USER_KEY: &str = "rpkit.user";

/// The session key of the pending OAuth 1.0a temporary credentials
/// ([`crate::oauth1::PendingOAuth1Set`]).
pub const OAUTH1_KEY: &str = "rpkit.oauth1";

/// The form field the [`form_post_relay_page`] adds when it re-posts a callback from our
/// own origin.
pub const RELAY_FIELD: &str = "rpkit_relay";

/// Pending logouts kept per session (the oldest is dropped beyond).
pub const MAX_PENDING_LOGOUTS: usize = 4;

/// Default retention of a revocation: sessions older than this must be gone anyway.
pub const DEFAULT_REVOCATION_TTL_SECS: u64 = 30 * 24 * 60 * 60;

/// Default number of revocations kept (the oldest are forgotten first).
pub const DEFAULT_MAX_REVOCATIONS: usize = 100_000;

/// A logged-in user as the session keeps it: the provider's name, the token (with the
/// ID token and, in `token.userinfo`, its validated claims), the claims from the UserInfo
/// endpoint, and when the login happened.
///
/// It is plain serde data, so any session store keeps it. Adapters store it only after
/// every check of the login passed ([`login_user`]). `Debug` redacts the tokens.
///
/// ```
/// use rpkit::client::web::AuthUser;
/// use rpkit::{Claims, Token};
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
        // Neither the claims nor the subject: they are personal data, and logs keep them.
        let userinfo = self.userinfo.as_ref().map(|c| format!("[{} claims, redacted]", c.as_map().len()));
        f.debug_struct("AuthUser")
            .field("provider", &self.provider)
            .field("token", &self.token)
            .field("userinfo", &userinfo)
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

    /// What a `/me` endpoint shows: `{"provider", "userinfo", "id_token_claims"}` — the
    /// claims only, never a token.
    pub fn profile_json(&self) -> serde_json::Value {
        serde_json::json!({
            "provider": self.provider,
            "userinfo": self.userinfo,
            "id_token_claims": self.id_token_claims(),
        })
    }
}

/// What the web flows read from the session: the value under each of [`SESSION_KEYS`],
/// `None` when absent or of another shape (an older release, a tampered store).
///
/// The adapter reads the keys (async or not, however its store works), builds this with
/// [`SessionValues::from_json`], hands it to a flow, and applies the [`SessionEdit`] the
/// flow returns: the flows themselves never touch a session.
#[derive(Default)]
#[non_exhaustive]
pub struct SessionValues {
    /// [`PENDING_KEY`]: the pending authorizations.
    pub pending: Option<PendingSet>,
    /// [`LOGOUT_KEY`]: the pending RP-initiated logouts.
    pub logouts: Option<PendingLogouts>,
    /// [`USER_KEY`]: the logged-in user.
    pub user: Option<AuthUser>,
    /// [`CSRF_KEY`]: the session's CSRF token.
    pub csrf: Option<String>,
    /// [`OAUTH1_KEY`]: the pending OAuth 1.0a temporary credentials.
    pub oauth1: Option<crate::oauth1::PendingOAuth1Set>,
}

impl fmt::Debug for SessionValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionValues")
            .field("pending", &self.pending.as_ref().map(PendingSet::len))
            .field("logouts", &self.logouts.as_ref().map(PendingLogouts::len))
            .field("user", &self.user)
            .field("csrf", &self.csrf.as_ref().map(|_| "[redacted]"))
            .field("oauth1", &self.oauth1.as_ref().map(crate::oauth1::PendingOAuth1Set::len))
            .finish()
    }
}

/// Every session key the web flows read and write.
pub const SESSION_KEYS: [&str; 5] = [PENDING_KEY, LOGOUT_KEY, USER_KEY, CSRF_KEY, OAUTH1_KEY];

impl SessionValues {
    /// From the JSON stored under each key (keys other than [`SESSION_KEYS`] are ignored;
    /// a value of another shape reads as absent).
    ///
    /// ```
    /// use rpkit::client::web::{SessionValues, CSRF_KEY, USER_KEY};
    /// let values = SessionValues::from_json([
    ///     (CSRF_KEY, Some(serde_json::json!("token"))),
    ///     (USER_KEY, Some(serde_json::json!({"provider": 5}))), // not a user: absent
    /// ]);
    /// assert_eq!(values.csrf.as_deref(), Some("token"));
    /// assert!(values.user.is_none() && values.pending.is_none());
    /// ```
    pub fn from_json<'k>(entries: impl IntoIterator<Item = (&'k str, Option<serde_json::Value>)>) -> Self {
        fn read<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Option<T> {
            serde_json::from_value(value).ok()
        }
        let mut values = SessionValues::default();
        for (key, value) in entries {
            let Some(value) = value else { continue };
            match key {
                PENDING_KEY => values.pending = read(value),
                LOGOUT_KEY => values.logouts = read(value),
                USER_KEY => values.user = read(value),
                CSRF_KEY => values.csrf = read(value),
                OAUTH1_KEY => values.oauth1 = read(value),
                _ => {}
            }
        }
        values
    }
}

/// What a flow asks the adapter to write back to the session, in this order: end the
/// session ([`end_session`](Self::end_session)), give it a new id
/// ([`renew_id`](Self::renew_id)), remove keys, store values, and write it to its store
/// at once ([`save_now`](Self::save_now)).
///
/// A pure result, so each adapter has one `apply` for every flow. `Debug` shows the keys
/// only (the values hold PKCE verifiers and tokens).
///
/// ```
/// use rpkit::client::web::{SessionEdit, USER_KEY, CSRF_KEY};
/// let edit = SessionEdit::default().renew_id().remove(CSRF_KEY).set(USER_KEY, &"alice");
/// assert!(edit.renew_id && !edit.end_session);
/// assert_eq!(edit.remove, [CSRF_KEY]);
/// assert_eq!(edit.set, [(USER_KEY, serde_json::json!("alice"))]);
/// assert!(!format!("{edit:?}").contains("alice"));
/// ```
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SessionEdit {
    /// Empty the session and delete it from its store (logout); what is stored
    /// afterwards goes to a new session.
    pub end_session: bool,
    /// A new session id, keeping the data (login: session fixation defence).
    pub renew_id: bool,
    /// Keys to remove.
    pub remove: Vec<&'static str>,
    /// Values to store, as JSON.
    pub set: Vec<(&'static str, serde_json::Value)>,
    /// Write the session to its store now, whatever the response: a consumed `state`
    /// must stay consumed even when the answer is a `5xx` (tower-sessions saves nothing
    /// for those).
    pub save_now: bool,
}

impl fmt::Debug for SessionEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<&str> = self.set.iter().map(|(k, _)| *k).collect();
        f.debug_struct("SessionEdit")
            .field("end_session", &self.end_session)
            .field("renew_id", &self.renew_id)
            .field("remove", &self.remove)
            .field("set", &set)
            .field("save_now", &self.save_now)
            .finish()
    }
}

impl SessionEdit {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SessionEdit::default()
    }

    /// Also ends the session first.
    #[must_use]
    pub fn end_session(mut self) -> Self {
        self.end_session = true;
        self
    }

    /// Also renews the session id.
    #[must_use]
    pub fn renew_id(mut self) -> Self {
        self.renew_id = true;
        self
    }

    /// Also writes the session to its store at once.
    #[must_use]
    pub fn save_now(mut self) -> Self {
        self.save_now = true;
        self
    }

    /// Also removes `key` (and forgets an earlier [`set`](Self::set) of it).
    #[must_use]
    pub fn remove(mut self, key: &'static str) -> Self {
        self.set.retain(|(k, _)| *k != key);
        if !self.remove.contains(&key) {
            self.remove.push(key);
        }
        self
    }

    /// Also stores `value` under `key` (replacing an earlier one).
    #[must_use]
    pub fn set(mut self, key: &'static str, value: &impl Serialize) -> Self {
        // The session values are string-keyed maps, strings and lists: they always
        // serialize. Were one not to, `null` reads back as absent, never as another value.
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.remove.retain(|k| *k != key);
        self.set.retain(|(k, _)| *k != key);
        self.set.push((key, value));
        self
    }

    /// This edit, then `next`: the flags add up, and where both name a key, `next` wins.
    #[must_use]
    pub fn then(mut self, next: SessionEdit) -> Self {
        self.end_session |= next.end_session;
        self.renew_id |= next.renew_id;
        self.save_now |= next.save_now;
        for key in next.remove {
            self = self.remove(key);
        }
        for (key, value) in next.set {
            self.remove.retain(|k| *k != key);
            self.set.retain(|(k, _)| *k != key);
            self.set.push((key, value));
        }
        self
    }
}

/// What a web flow returns: its result, and the [`SessionEdit`] to apply **whatever the
/// result** (a consumed pending login stays consumed when the login fails).
#[derive(Debug)]
#[must_use = "apply the edit to the session, then answer with the result"]
pub struct Outcome<T> {
    /// The flow's result.
    pub result: Result<T, WebError>,
    /// What to write back to the session.
    pub edit: SessionEdit,
}

impl<T> Outcome<T> {
    fn new(result: Result<T, impl Into<WebError>>, edit: SessionEdit) -> Self {
        Outcome { result: result.map_err(Into::into), edit }
    }

    fn failed(e: impl Into<WebError>) -> Self {
        Outcome { result: Err(e.into()), edit: SessionEdit::default() }
    }
}

/// Starts a login (Authlib's `authorize_redirect`): the authorization URL (state, nonce,
/// PKCE S256) to redirect to ([`redirect_response`]), and the session's pending
/// authorizations with the new one stored (bounded, expiring by the registry's clock).
///
/// # Errors
/// Configuration, discovery and random-source errors; nothing is to be stored then.
pub async fn authorize_redirect(
    client: &OAuthClient,
    session: SessionValues,
    options: &AuthorizeOptions,
) -> Outcome<url::Url> {
    if client.is_oauth1() {
        // The same call for an OAuth 1.0a client, as in Authlib: temporary credentials,
        // kept like a pending authorization (bounded, expiring, single use).
        let Some(callback) = options.redirect_uri.as_deref().or(client.config().redirect_uri.as_deref()) else {
            return Outcome::failed(ClientError::Core(client.config().missing("redirect_uri").into()));
        };
        let mut pending = session.oauth1.unwrap_or_default();
        return match client.authorize_redirect_oauth1(&mut pending, callback).await {
            Ok(url) => Outcome::new(Ok::<_, WebError>(url), SessionEdit::default().set(OAUTH1_KEY, &pending)),
            Err(e) => Outcome::failed(e),
        };
    }
    let mut pending = session.pending.unwrap_or_default();
    match client.authorize_redirect(&mut pending, options).await {
        Ok(url) => Outcome::new(Ok::<_, WebError>(url.to_url()), SessionEdit::default().set(PENDING_KEY, &pending)),
        Err(e) => Outcome::failed(e),
    }
}

/// Handles the callback (Authlib's `authorize_access_token`): every check of the
/// authorization response against the session's pending authorizations, the code
/// exchange and ID token validation. The token has the ID token's claims in
/// `token.userinfo`.
///
/// The matching pending authorization is consumed whatever the outcome (the edit removes
/// it and saves at once), so a replayed callback fails. Nothing else is stored: see
/// [`complete_login`].
///
/// # Errors
/// Every rejection of [`OAuthClient::authorize_access_token`] ([`Fault::of`] says its
/// status).
pub async fn authorize_access_token(
    client: &OAuthClient,
    session: SessionValues,
    callback: &CallbackInput,
) -> Outcome<Token> {
    if client.is_oauth1() {
        return authorize_access_token_oauth1(client, session, callback).await;
    }
    let mut pending = session.pending.unwrap_or_default();
    let had_entries = !pending.is_empty();
    let result = client.authorize_access_token(&mut pending, callback.params()).await;
    let mut edit = SessionEdit::default();
    if had_entries {
        edit = if pending.is_empty() { edit.remove(PENDING_KEY) } else { edit.set(PENDING_KEY, &pending) };
        edit = edit.save_now();
    }
    Outcome::new(result, edit)
}

/// The OAuth 1.0a callback: the temporary token checked and used up, the verifier
/// exchanged; the token credentials come back as a [`Token`] ([`oauth1_token`] reads them
/// back) whose `userinfo` holds `sub` (`user_id`) and `name` (`screen_name`) when the
/// provider sent them.
async fn authorize_access_token_oauth1(
    client: &OAuthClient,
    session: SessionValues,
    callback: &CallbackInput,
) -> Outcome<Token> {
    let mut pending = session.oauth1.unwrap_or_default();
    let had_entries = !pending.is_empty();
    let query = crate::wire::form_encode(
        ["oauth_token", "oauth_verifier", "denied"]
            .into_iter()
            .filter_map(|k| callback.params().get(k).map(|v| (k, v))),
    );
    let result = client.authorize_access_token_oauth1(&mut pending, &query).await.map(token_of_oauth1);
    let mut edit = SessionEdit::default();
    if had_entries {
        edit = if pending.is_empty() { edit.remove(OAUTH1_KEY) } else { edit.set(OAUTH1_KEY, &pending) };
        edit = edit.save_now();
    }
    Outcome::new(result, edit)
}

/// The `token_type` of OAuth 1.0a token credentials kept as a [`Token`].
pub const OAUTH1_TOKEN_TYPE: &str = "OAuth1";

/// OAuth 1.0a token credentials as the [`Token`] an [`AuthUser`] keeps: `oauth_token` as
/// the access token, the secret in `extra` (never in `Debug`), `token_type` `OAuth1`.
fn token_of_oauth1(t: crate::oauth1::OAuth1Token) -> Token {
    let mut extra = t.extra;
    let mut claims = serde_json::Map::new();
    if let Some(id) = extra.get("user_id").and_then(serde_json::Value::as_str) {
        claims.insert("sub".into(), id.into());
    }
    if let Some(name) = extra.get("screen_name").and_then(serde_json::Value::as_str) {
        claims.insert("name".into(), name.into());
        claims.insert("preferred_username".into(), name.into());
    }
    extra.insert("oauth_token_secret".into(), t.token_secret.secret().into());
    Token {
        access_token: t.token,
        token_type: OAUTH1_TOKEN_TYPE.into(),
        expires_in: None,
        expires_at: None,
        refresh_token: None,
        refresh_expires_in: None,
        scope: None,
        id_token: None,
        userinfo: (!claims.is_empty()).then(|| Claims::new(claims)),
        extra,
    }
}

/// The OAuth 1.0a token credentials an [`AuthUser`]'s token holds, when it is one.
pub fn oauth1_token(token: &Token) -> Option<crate::oauth1::OAuth1Token> {
    if token.token_type != OAUTH1_TOKEN_TYPE {
        return None;
    }
    let secret = token.extra.get("oauth_token_secret")?.as_str()?;
    let mut extra = token.extra.clone();
    extra.remove("oauth_token_secret");
    Some(crate::oauth1::OAuth1Token {
        token: token.access_token.clone(),
        token_secret: crate::secret::TokenSecret::new(secret),
        extra,
    })
}

/// `GET path` (relative to `api_base_url`) as the logged-in `user`: Bearer (refreshed
/// when about to expire) for OAuth 2, signed for OAuth 1.0a.
///
/// # Errors
/// As [`OAuthClient::get`] / [`OAuthClient::get_oauth1`].
pub async fn api_get(client: &OAuthClient, user: &AuthUser, path: &str) -> Result<super::ApiResponse, ClientError> {
    match oauth1_token(&user.token) {
        Some(t) if client.is_oauth1() => client.get_oauth1(path, &t).await,
        _ => client.get(path, &user.token).await,
    }
}

/// Handles the callback and logs the user in: [`authorize_access_token`], then
/// [`login_user`], then — only when every check passed — [`login_edit`] (a new session
/// id, a new CSRF token, the [`AuthUser`]).
///
/// # Errors
/// As [`authorize_access_token`], plus refresh and UserInfo errors. On any error the edit
/// stores no user (a previous login, if any, stays as it was).
pub async fn complete_login(
    client: &OAuthClient,
    session: SessionValues,
    callback: &CallbackInput,
) -> Outcome<AuthUser> {
    let Outcome { result, edit } = authorize_access_token(client, session, callback).await;
    let token = match result {
        Ok(token) => token,
        Err(e) => return Outcome { result: Err(e), edit },
    };
    match login_user(client, token).await {
        Ok(user) => {
            let edit = edit.then(login_edit(&user));
            Outcome { result: Ok(user), edit }
        }
        Err(e) => Outcome::new(Err::<AuthUser, _>(e), edit),
    }
}

/// Stores `user` as the logged-in user: a new session id (session fixation), and the
/// CSRF token dropped (one seen before the login is no proof).
pub fn login_edit(user: &AuthUser) -> SessionEdit {
    SessionEdit::default().renew_id().remove(CSRF_KEY).set(USER_KEY, user)
}

/// The steps of a login after the callback passed every check ([`OAuthClient::authorize_access_token`]):
/// a token about to expire is refreshed first (so that the session keeps the current
/// one), then the UserInfo claims are fetched when the client is OpenID Connect and the
/// provider has a UserInfo endpoint (their `sub` must equal the ID token's), and the
/// [`AuthUser`] logged in now (by the registry's clock) is returned for [`login_edit`].
///
/// # Errors
/// Refresh, discovery and UserInfo errors; nothing is to be stored then.
pub async fn login_user(client: &OAuthClient, token: Token) -> Result<AuthUser, ClientError> {
    let token = client.ensure_fresh(&token).await?.unwrap_or(token);
    let userinfo = fetch_userinfo(client, &token).await?;
    Ok(AuthUser::new(client.name(), token, userinfo, client.now()))
}

/// The UserInfo claims for a fresh login, when the client can ask for them.
async fn fetch_userinfo(client: &OAuthClient, token: &Token) -> Result<Option<Claims>, ClientError> {
    let config = client.config();
    if client.is_oauth1() {
        // OAuth 1.0a has no UserInfo: what the provider said of the user came with the token.
        return Ok(None);
    }
    let openid = token.userinfo.is_some() || config.is_openid();
    if !openid {
        return Ok(None);
    }
    let has_endpoint = config.userinfo_endpoint.is_some()
        || client.load_server_metadata().await?.is_some_and(|m| m.userinfo_endpoint.is_some());
    if !has_endpoint {
        return Ok(None);
    }
    client.userinfo(token).await.map(Some)
}

/// The logged-in user, unless absent or ended by a back-channel logout (then the edit
/// removes it from the session). The revocation is looked up in `revocations`' store on
/// every call: with [`Revocations::of`] a shared store, so a logout delivered to another
/// instance ends this session too.
///
/// # Errors
/// [`ClientError::Store`] (`503`, [`Fault::StoreUnavailable`]) when the store cannot
/// answer: never a silent "not revoked". The session is left as it was.
pub async fn current_user(session: SessionValues, revocations: &Revocations) -> Outcome<Option<AuthUser>> {
    match session.user {
        Some(user) => match revocations.is_revoked(&user).await {
            Ok(true) => Outcome { result: Ok(None), edit: SessionEdit::default().remove(USER_KEY) },
            Ok(false) => Outcome { result: Ok(Some(user)), edit: SessionEdit::default() },
            Err(e) => Outcome::failed(ClientError::Store(e)),
        },
        None => Outcome { result: Ok(None), edit: SessionEdit::default() },
    }
}

/// `user` with a new token (after an automatic refresh), and the edit that stores it.
pub fn update_token(user: &AuthUser, token: Token) -> (AuthUser, SessionEdit) {
    let mut updated = user.clone();
    updated.token = token;
    let edit = SessionEdit::default().set(USER_KEY, &updated);
    (updated, edit)
}

/// The session's CSRF token ([`csrf_token`], from the registry's random source), and the
/// edit that stores it when it was just drawn.
///
/// # Errors
/// [`Error::Random`] when the random source fails.
pub fn session_csrf_token(oauth: &OAuth, session: &SessionValues) -> Outcome<String> {
    match csrf_token(session.csrf.as_deref(), &*oauth.shared.rng) {
        Ok(token) if token.is_new => {
            let edit = SessionEdit::default().set(CSRF_KEY, &token.value);
            Outcome { result: Ok(token.value), edit }
        }
        Ok(token) => Outcome { result: Ok(token.value), edit: SessionEdit::default() },
        Err(e) => Outcome::failed(e),
    }
}

/// Logs out locally and builds the provider's logout URL (Authlib's `logout_redirect`,
/// OpenID Connect RP-Initiated Logout).
///
/// `form` must carry the session's CSRF token; otherwise the result is
/// [`WebError::CsrfMismatch`] (`403`) and the edit is empty — a cross-site page cannot log
/// the user out. Then the edit ends the session whatever happens next (the user is logged
/// out here even when the provider fails), and keeps the pending logouts — with a new one
/// when `options` has a `post_logout_redirect_uri` (at most [`MAX_PENDING_LOGOUTS`]) — in
/// the new session for [`validate_logout_response`]. The session user's ID token is the
/// `id_token_hint` when it logged in with this client and `options` has none. When the
/// user's token has a refresh token and the provider a revocation endpoint, the refresh
/// token is revoked first (RFC 7009; best effort: the logout never waits on its answer).
///
/// # Errors
/// [`crate::error::ConfigError::Missing`] when the provider has no end-session endpoint
/// (the local logout still happens); discovery errors.
pub async fn logout_redirect(
    client: &OAuthClient,
    session: SessionValues,
    form: &LogoutForm,
    mut options: LogoutOptions,
) -> Outcome<url::Url> {
    if !check_csrf(session.csrf.as_deref(), form.csrf_token()) {
        return Outcome::failed(WebError::CsrfMismatch);
    }
    let user = session.user.filter(|u| u.provider == client.name());
    if let Some(user) = user.as_ref().filter(|u| u.token.refresh_token.is_some()) {
        if client.can_revoke().await {
            // RFC 7009: the provider forgets the grant, so the refresh token the session
            // held is worth nothing even if it leaked. Best effort: the local logout
            // happens whatever the provider answers.
            let _ = client.revoke_token(&user.token).await;
        }
    }
    if options.id_token_hint.is_none() {
        options.id_token_hint = user.and_then(|u| u.token.id_token);
    }
    let mut pending = session.logouts.unwrap_or_default();
    let result = client.logout_redirect(&options).await.map(|(url, entry)| {
        if let Some(entry) = entry {
            pending.insert(entry, MAX_PENDING_LOGOUTS);
        }
        url
    });
    let mut edit = SessionEdit::default().end_session();
    if !pending.is_empty() {
        edit = edit.set(LOGOUT_KEY, &pending);
    }
    Outcome::new(result, edit)
}

/// Checks the provider's redirect back after logout (Authlib's
/// `validate_logout_response`) against the session's pending logouts, for any client of
/// `oauth` (one `post_logout_redirect_uri` can serve every provider). The matching entry
/// is consumed either way, and its client's pending TTL applies, by the registry's clock;
/// `state`s are compared in constant time. When no entry matches (or its client is gone),
/// the core says which state error, with the default TTL.
///
/// # Errors
/// [`crate::StateError`] variants (missing, unknown, expired, repeated): all the
/// browser's, `400`. A repeated `state` consumes nothing.
pub fn validate_logout_response(oauth: &OAuth, session: SessionValues, query: &str) -> Outcome<PendingLogout> {
    let mut pending = session.logouts.unwrap_or_default();
    let had_entries = !pending.is_empty();
    let state = url::form_urlencoded::parse(query.strip_prefix('?').unwrap_or(query).as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v);
    // Which client issued this state decides the TTL; compare with every entry.
    let mut owner = None;
    if let Some(state) = state.as_deref() {
        for entry in pending.iter() {
            if entry.state.ct_eq(state) && owner.is_none() {
                owner = Some(entry.client.clone());
            }
        }
    }
    let result = match owner.map(|name| oauth.create_client(&name)) {
        Some(Ok(client)) => client.validate_logout_response(query, &mut pending),
        _ => {
            crate::logout::validate_logout_response(query, &mut pending, oauth.shared.clock.now(), DEFAULT_PENDING_TTL)
                .map_err(ClientError::from)
        }
    };
    let mut edit = SessionEdit::default();
    if had_entries {
        edit = if pending.is_empty() { edit.remove(LOGOUT_KEY) } else { edit.set(LOGOUT_KEY, &pending) };
        edit = edit.save_now();
    }
    Outcome::new(result, edit)
}

/// Handles an OpenID Connect back-channel logout request body (`logout_token=…`): the
/// logout token is validated ([`OAuthClient::validate_backchannel_logout`]: signature,
/// `iss`, `aud`, `iat`, `events`, no `nonce`, `sid`/`sub`, `jti` replay) and, when valid,
/// the sessions it names are recorded in `revocations` as ended now (by the registry's
/// clock). With [`Revocations::of`] that is the registry's [`SharedStore`]: every instance
/// sharing it ends the session, and the `jti` is refused on all of them. Answer the
/// provider with [`backchannel_http_response`].
///
/// # Errors
/// Every rejection of [`OAuthClient::validate_backchannel_logout`]; nothing is recorded
/// then. [`ClientError::Store`] when the store cannot record the revocation (`503`: the
/// provider may retry, and its retry is then refused as a replay only if the `jti` was
/// recorded — see the [store module](super::store)).
pub async fn backchannel_logout(
    client: &OAuthClient,
    revocations: &Revocations,
    body: &[u8],
) -> Result<LogoutTarget, ClientError> {
    let target = client.validate_backchannel_logout(body).await?;
    revocations.revoke(client.name(), &target, client.now()).await?;
    Ok(target)
}

/// The sessions ended by back-channel logout
/// ([OIDC Back-Channel Logout](https://openid.net/specs/openid-connect-backchannel-1_0.html)),
/// which an adapter checks for the logged-in user on every request.
///
/// A logout token names a provider session (`sid`) or a user (`sub`); every local login
/// it matches ([`Login::is_ended_by`]) that happened at or before the logout ends: the
/// adapter removes the user from that session and answers `401`. A later login is not
/// affected. This works for any session store, including an encrypted cookie, which has
/// no server-side copy to delete.
///
/// It is a handle on a [`SharedStore`] and a clock; clones share them.
/// [`Revocations::of`] uses the registry's store ([`OAuth::shared_store`]) and clock: give
/// every instance's registry the same store (e.g. `rpkit_redis::RedisStore`) and a logout
/// delivered to one instance ends the session on all of them. [`Revocations::new`] keeps
/// its own list in this process, as before there was a store. A store that cannot answer
/// is an error ([`StoreError`], `503`), never a silent "not revoked".
///
/// ```
/// # futures_util::FutureExt::now_or_never(async {
/// use rpkit::client::web::{AuthUser, Revocations};
/// use rpkit::logout::LogoutTarget;
/// use rpkit::{Claims, Token, UnixTime};
///
/// let token: Token = serde_json::from_value(serde_json::json!({
///     "access_token": "at", "token_type": "Bearer", "userinfo": {"sub": "alice", "sid": "s1"}
/// })).unwrap();
/// let user = AuthUser::new("corp", token, None, UnixTime::from_secs(100));
/// let revocations = Revocations::new().with_clock(rpkit::client::ManualClock::new(300));
/// let target = LogoutTarget {
///     sub: None, sid: Some("s1".into()), jti: "j".into(), iat: UnixTime::from_secs(200), claims: Claims::default(),
/// };
/// revocations.revoke("corp", &target, UnixTime::from_secs(200)).await.unwrap();
/// assert!(revocations.is_revoked(&user).await.unwrap());
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Revocations {
    store: Arc<dyn SharedStore>,
    clock: Arc<dyn Clock>,
    memory: Option<MemoryStore>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Revocations");
        match &self.memory {
            Some(memory) => d.field("in_memory", &memory.revocations()),
            None => d.field("store", &"shared"),
        };
        d.finish()
    }
}

impl Revocations {
    /// An empty list in this process's memory ([`MemoryStore`]), with the default
    /// retention and capacity, on the system clock. Another instance does not see it: for
    /// several instances use [`Revocations::of`] with a shared store.
    pub fn new() -> Self {
        Self::memory(MemoryStore::new(), Arc::new(SystemClock))
    }

    fn memory(store: MemoryStore, clock: Arc<dyn Clock>) -> Self {
        Revocations { store: Arc::new(store.clone()), clock, memory: Some(store) }
    }

    /// The revocations in `oauth`'s [`SharedStore`] ([`OAuth::shared_store`]), by its
    /// clock: shared with every instance whose registry has the same store. With the
    /// registry's default store that is this process's memory, as [`Revocations::new`].
    pub fn of(oauth: &OAuth) -> Self {
        Revocations { store: Arc::clone(oauth.shared_store()), clock: oauth.clock(), memory: None }
    }

    /// The revocations in `store`, by `clock`.
    pub fn in_store(store: Arc<dyn SharedStore>, clock: Arc<dyn Clock>) -> Self {
        Revocations { store, clock, memory: None }
    }

    /// Takes "now" (for retention) from `clock` (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Keeps each revocation `secs` seconds: for the in-memory list of
    /// [`Revocations::new`] (a new, empty one); a shared store has its own setting.
    #[must_use]
    pub fn ttl(self, secs: u64) -> Self {
        match self.memory {
            Some(m) => Self::memory(m.revocation_ttl(std::time::Duration::from_secs(secs)), self.clock),
            None => self,
        }
    }

    /// Keeps at most `max` revocations (at least 1): for the in-memory list of
    /// [`Revocations::new`] (a new, empty one); a shared store has its own bounds.
    #[must_use]
    pub fn max_entries(self, max: usize) -> Self {
        match self.memory {
            Some(m) => Self::memory(m.max_revocations(max), self.clock),
            None => self,
        }
    }

    /// How many revocations the in-memory list holds (`None` for a shared store).
    pub fn in_memory_len(&self) -> Option<usize> {
        self.memory.as_ref().map(MemoryStore::revocations)
    }

    /// The store the revocations are kept in.
    pub fn store(&self) -> &Arc<dyn SharedStore> {
        &self.store
    }

    /// Records that the sessions `target` names at `provider` ended at `at`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    pub async fn revoke(&self, provider: &str, target: &LogoutTarget, at: UnixTime) -> Result<(), StoreError> {
        self.store.revoke(provider, target, at).await
    }

    /// Whether `user`'s login was ended by a back-channel logout.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer: the caller must not take
    /// it for "not revoked".
    pub async fn is_revoked(&self, user: &AuthUser) -> Result<bool, StoreError> {
        self.store.is_revoked(&Login::of(user), self.clock.now()).await
    }
}

/// Whose fault a failed web request is, and so its HTTP status: the one table every web
/// adapter answers by ([`Fault::status`]).
///
/// | fault | status | when |
/// |---|---|---|
/// | [`BadRequest`](Fault::BadRequest) | `400` | the browser's input (or a back-channel sender's): a wrong, expired, replayed or repeated `state`, the provider's `error` the browser brought back, a bad ID token, an `iss` mismatch, an unusable callback or form |
/// | [`LoginRequired`](Fault::LoginRequired) | `401` | nobody is logged in, or the token can no longer be refreshed |
/// | [`Forbidden`](Fault::Forbidden) | `403` | a state-changing request without the session's CSRF token |
/// | [`NotFound`](Fault::NotFound) | `404` | no client registered under that name |
/// | [`MethodNotAllowed`](Fault::MethodNotAllowed) | `405` | a method the route does not take (a `HEAD` callback, a `GET` logout) |
/// | [`Server`](Fault::Server) | `500` | the application's configuration or the server: a configured URL that does not parse, a missing key, the random source, a session that cannot be written |
/// | [`Provider`](Fault::Provider) | `502` | the provider failed: unreachable, timed out, an HTTP error, an oversized or garbled answer, bad metadata |
/// | [`StoreUnavailable`](Fault::StoreUnavailable) | `503` | a shared session store (Redis, SQL) cannot be reached: try again later |
///
/// ```
/// use rpkit::client::web::Fault;
/// use rpkit::client::ClientError;
/// use rpkit::{Error, StateError};
///
/// let repeated = ClientError::from(Error::State(StateError::Repeated));
/// assert_eq!(Fault::of(&repeated), Fault::BadRequest);
/// assert_eq!(Fault::of(&Error::unusable_config("authorize_url: relative URL").into()).status(), 500);
/// assert_eq!(Fault::StoreUnavailable.status(), 503);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// `400`: the browser's (or another sender's) input.
    BadRequest,
    /// `401`: a login is needed.
    LoginRequired,
    /// `403`: the CSRF token is missing or wrong.
    Forbidden,
    /// `404`: no such client.
    NotFound,
    /// `405`: not a method this route takes.
    MethodNotAllowed,
    /// `500`: the configuration or the server.
    Server,
    /// `502`: the provider.
    Provider,
    /// `503`: a shared session store is unavailable.
    StoreUnavailable,
}

impl Fault {
    /// The HTTP status (the table on [`Fault`]).
    pub const fn status(self) -> u16 {
        match self {
            Fault::BadRequest => 400,
            Fault::LoginRequired => 401,
            Fault::Forbidden => 403,
            Fault::NotFound => 404,
            Fault::MethodNotAllowed => 405,
            Fault::Server => 500,
            Fault::Provider => 502,
            Fault::StoreUnavailable => 503,
        }
    }

    /// Whether the status is a `5xx`: the server's, the provider's or the store's fault
    /// (log it as an error; the rest are the client's, a warning at most).
    pub const fn is_server_error(self) -> bool {
        self.status() >= 500
    }

    /// Whose fault a [`ClientError`] is.
    pub fn of(e: &ClientError) -> Fault {
        if e.is_provider_failure() {
            return Fault::Provider;
        }
        match e {
            ClientError::UnknownClient { .. } => Fault::NotFound,
            // The shared store (revocations, jtis, refresh leases) cannot be reached: the
            // request may be retried, and nothing fell back to per-process state.
            ClientError::Store(super::store::StoreError::Corrupt { .. }) => Fault::Server,
            ClientError::Store(_) => Fault::StoreUnavailable,
            // The application asked an OAuth 1.0a client for an OAuth 2 flow.
            ClientError::OAuth1Client { .. } | ClientError::NotOAuth1 { .. } => Fault::Server,
            ClientError::NoToken { .. } => Fault::LoginRequired,
            ClientError::Core(Error::Config(_) | Error::Random) => Fault::Server,
            // The refresh token is gone or was refused: the user must log in again.
            ClientError::Core(Error::ReauthenticationRequired(_) | Error::NoRefreshToken) => Fault::LoginRequired,
            // An HTTP error status, metadata that is garbage or names another issuer: the
            // provider's failure, not the browser's.
            ClientError::Core(Error::Http { .. } | Error::Discovery(_)) => Fault::Provider,
            // An unusable DPoP key, a store that cannot keep one, a DPoP token where it
            // cannot go: the application's setup, not the browser's request.
            ClientError::Core(Error::Dpop(_)) => Fault::Server,
            _ => Fault::BadRequest,
        }
    }
}

/// What can go wrong in a web flow, whatever the framework: each adapter's error type
/// wraps it (adding its session store's failures) and answers with
/// [`ErrorResponse::from`].
///
/// ```
/// use rpkit::client::web::{ErrorResponse, Fault, WebError};
/// let e = WebError::MethodNotAllowed("the callback accepts GET and POST only");
/// assert_eq!((e.fault(), e.code()), (Fault::MethodNotAllowed, "method_not_allowed"));
/// assert_eq!(ErrorResponse::from(&WebError::CsrfMismatch), ErrorResponse::new(403, "csrf_mismatch"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The client (protocol, provider or transport) failed: [`Fault::of`].
    #[error(transparent)]
    Client(#[from] ClientError),
    /// No user is logged in (or their session was ended by a back-channel logout): `401`.
    #[error("no user is logged in")]
    LoginRequired,
    /// The request itself is unusable (wrong content type, unreadable or oversized body,
    /// an absolute API path): `400`.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A state-changing request (logout) whose CSRF token is missing or does not match
    /// the session's: `403`, and nothing was changed.
    #[error("the CSRF token is missing or does not match the session")]
    CsrfMismatch,
    /// The request's method is not accepted here (a `HEAD` callback, a `GET` logout):
    /// `405`, and nothing was changed.
    #[error("method not allowed: {0}")]
    MethodNotAllowed(&'static str),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        WebError::Client(ClientError::Core(e))
    }
}

impl From<CallbackError> for WebError {
    fn from(e: CallbackError) -> Self {
        WebError::Client(ClientError::Core(e.into()))
    }
}

impl WebError {
    /// Whose fault it is (the table on [`Fault`]).
    pub fn fault(&self) -> Fault {
        match self {
            WebError::Client(e) => Fault::of(e),
            WebError::LoginRequired => Fault::LoginRequired,
            WebError::BadRequest(_) => Fault::BadRequest,
            WebError::CsrfMismatch => Fault::Forbidden,
            WebError::MethodNotAllowed(_) => Fault::MethodNotAllowed,
        }
    }

    /// A short, stable code for the response body (`state_unknown`, `access_denied`,
    /// `login_required`, `csrf_mismatch`, …): [`ClientError::code`] for a client error.
    pub fn code(&self) -> &str {
        match self {
            WebError::Client(e) => e.code(),
            WebError::LoginRequired => "login_required",
            WebError::BadRequest(_) => "invalid_request",
            WebError::CsrfMismatch => "csrf_mismatch",
            WebError::MethodNotAllowed(_) => "method_not_allowed",
        }
    }
}

/// The code a session store's failure answers with when the store cannot be reached
/// ([`Fault::StoreUnavailable`], `503`).
pub const STORE_UNAVAILABLE_CODE: &str = "session_store_unavailable";

/// The HTTP answer to an error: a status and a short code, sent as the JSON body
/// `{"error": "<code>"}` ([`body`](Self::body)) with `Cache-Control: no-store`
/// ([`to_http`](Self::to_http)).
///
/// The status follows the one table on [`Fault`]; the code is [`WebError::code`]. The
/// body never contains a secret, a code, a state or a token.
///
/// ```
/// use rpkit::client::web::ErrorResponse;
/// use rpkit::client::ClientError;
///
/// let unknown = ErrorResponse::from(&ClientError::UnknownClient { name: "nope".into() });
/// assert_eq!((unknown.status, unknown.code.as_str()), (404, "unknown_client"));
/// let response = ErrorResponse::new(401, "login_required").to_http();
/// assert_eq!(response.body(), br#"{"error":"login_required"}"#);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The short, stable error code.
    pub code: String,
}

impl ErrorResponse {
    /// The body's media type.
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// An answer with `status` and `code`.
    pub fn new(status: u16, code: impl Into<String>) -> Self {
        ErrorResponse { status, code: code.into() }
    }

    /// The answer for `fault` with `code`.
    pub fn for_fault(fault: Fault, code: impl Into<String>) -> Self {
        ErrorResponse::new(fault.status(), code)
    }

    /// The JSON body, `{"error": "<code>"}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.code }).to_string()
    }

    /// Whether the status is a `5xx`: the server's, the provider's or the store's fault.
    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }

    /// The whole response: the status, the JSON body, `Content-Type: application/json`
    /// and `Cache-Control: no-store`.
    pub fn to_http(&self) -> http::Response<Vec<u8>> {
        let mut response = http::Response::new(self.body().into_bytes());
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(Self::CONTENT_TYPE));
        headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl From<&WebError> for ErrorResponse {
    fn from(e: &WebError) -> Self {
        ErrorResponse::for_fault(e.fault(), e.code())
    }
}

impl From<&ClientError> for ErrorResponse {
    fn from(e: &ClientError) -> Self {
        ErrorResponse::for_fault(Fault::of(e), e.code())
    }
}

/// The HTTP status for a [`ClientError`]: [`Fault::of`]`(e).status()`.
pub fn client_error_status(e: &ClientError) -> u16 {
    Fault::of(e).status()
}

/// The `302 Found` to the provider (authorization or end-session endpoint):
/// `Cache-Control: no-store`, and `Referrer-Policy: no-referrer` (the URL carries the
/// `state`; the provider's pages must not see it in a `Referer`).
///
/// ```
/// let url = url::Url::parse("https://op.example/authorize?state=x").unwrap();
/// let response = rpkit::client::web::redirect_response(&url);
/// assert_eq!(response.status(), 302);
/// assert_eq!(response.headers()["location"], "https://op.example/authorize?state=x");
/// assert_eq!(response.headers()["referrer-policy"], "no-referrer");
/// ```
pub fn redirect_response(url: &url::Url) -> http::Response<Vec<u8>> {
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return ErrorResponse::for_fault(Fault::Server, "invalid_redirect").to_http();
    };
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.insert(http::header::LOCATION, location);
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The answer to a `form_post` callback that arrived without the session
/// ([`form_post_relay_page`] as a `200` HTML response, `no-store`, no `Referer`), or
/// `None` when no relay is needed: a `GET`, an already relayed `POST`, or a session that
/// holds pending authorizations.
pub fn form_post_relay(
    callback: &CallbackInput,
    session: &SessionValues,
    action: &str,
) -> Option<http::Response<Vec<u8>>> {
    let page = form_post_relay_page(callback, session.pending.as_ref(), action)?;
    let mut response = http::Response::new(page.into_bytes());
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Some(response)
}

/// The answer to a back-channel logout request
/// ([Back-Channel Logout §2.8](https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse)),
/// [`crate::logout::backchannel_response`] for any error type: `200` when the logout
/// token was valid, else `400 {"error":"invalid_request"}`; always
/// `Cache-Control: no-store`.
///
/// ```
/// let bad: Result<(), &str> = Err("no logout_token");
/// let response = rpkit::client::web::backchannel_http_response(&bad);
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// assert_eq!(rpkit::client::web::backchannel_http_response(&Ok::<_, ()>(())).status(), 200);
/// ```
pub fn backchannel_http_response<T, E>(outcome: &Result<T, E>) -> http::Response<Vec<u8>> {
    // The provider learns only that it failed, never why.
    let outcome = match outcome {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::bad_request("back-channel logout rejected")),
    };
    crate::logout::backchannel_response(&outcome)
}

/// The authorization response as a web request brought it: the parameters, and whether
/// it was a `form_post` `POST` and whether our own [`form_post_relay_page`] re-posted it.
///
/// ```
/// use rpkit::client::web::CallbackInput;
///
/// let relayed = CallbackInput::from_form_body(b"code=c&state=s&rpkit_relay=1").unwrap();
/// assert!(relayed.is_form_post() && relayed.is_relayed());
/// assert_eq!(relayed.params().state(), Some("s"));
/// assert!(!relayed.params().contains("rpkit_relay"));
/// assert!(CallbackInput::from_form_body(b"state=a&state=b").is_err());
/// ```
#[derive(Debug)]
pub struct CallbackInput {
    params: CallbackParams,
    posted: bool,
    relayed: bool,
}

impl CallbackInput {
    /// Parameters of a `GET` callback (or parsed elsewhere).
    pub fn from_params(params: CallbackParams) -> Self {
        CallbackInput { params, posted: false, relayed: false }
    }

    /// Parses a `form_post` body strictly ([`CallbackParams::from_form_body`]), taking
    /// out the [`RELAY_FIELD`] marker.
    ///
    /// # Errors
    /// Whatever [`CallbackParams`] refuses (repeated, not UTF-8, too large, too many).
    pub fn from_form_body(body: &[u8]) -> Result<Self, CallbackError> {
        let parsed = CallbackParams::from_form_body(body)?;
        let relayed = parsed.get(RELAY_FIELD) == Some("1");
        let params = if parsed.contains(RELAY_FIELD) {
            CallbackParams::from_pairs(
                parsed.iter().filter(|(k, _)| *k != RELAY_FIELD).map(|(k, v)| (k.to_owned(), v.to_owned())),
            )?
        } else {
            parsed
        };
        Ok(CallbackInput { params, posted: true, relayed })
    }

    /// The callback of a web request, by one set of rules for every adapter:
    ///
    /// - `GET`: the `query` ([`CallbackParams::from_query`]);
    /// - `POST` (`response_mode=form_post`): the `body`, which must be
    ///   `application/x-www-form-urlencoded` and at most [`MAX_CALLBACK_BYTES`]
    ///   ([`from_form_body`](Self::from_form_body)); pass `None` when it could not be read
    ///   within that limit;
    /// - any other method — `HEAD` included: a link prefetcher's `HEAD` must not spend the
    ///   pending authorization before the browser's real `GET` — is refused.
    ///
    /// `method` is the request method's name (`"GET"`), so any framework's type fits.
    ///
    /// # Errors
    /// [`WebError::MethodNotAllowed`] (`405`); [`WebError::BadRequest`] (`400`) for
    /// another content type or an unreadable or oversized body; the parameters
    /// [`CallbackParams`] refuses (repeated, not UTF-8, too many; `400`).
    ///
    /// ```
    /// use rpkit::client::web::{CallbackInput, Fault};
    ///
    /// let get = CallbackInput::from_parts("GET", None, Some("code=c&state=s"), None).unwrap();
    /// assert_eq!(get.params().code(), Some("c"));
    /// let form = Some("application/x-www-form-urlencoded");
    /// let post = CallbackInput::from_parts("POST", form, None, Some(b"code=c&state=s")).unwrap();
    /// assert!(post.is_form_post());
    /// let head = CallbackInput::from_parts("HEAD", None, Some("code=c&state=s"), None).unwrap_err();
    /// assert_eq!(head.fault(), Fault::MethodNotAllowed);
    /// let json = CallbackInput::from_parts("POST", Some("application/json"), None, Some(b"{}")).unwrap_err();
    /// assert_eq!(json.fault(), Fault::BadRequest);
    /// ```
    pub fn from_parts(
        method: &str,
        content_type: Option<&str>,
        query: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Self, WebError> {
        match method {
            "GET" => Ok(CallbackInput::from_params(CallbackParams::from_query(query.unwrap_or(""))?)),
            "POST" => {
                if !is_form_urlencoded(content_type) {
                    return Err(WebError::BadRequest("a form_post callback must be application/x-www-form-urlencoded"));
                }
                match body {
                    Some(body) if body.len() <= MAX_CALLBACK_BYTES => Ok(CallbackInput::from_form_body(body)?),
                    _ => Err(WebError::BadRequest("the callback body is unreadable or too large")),
                }
            }
            _ => Err(WebError::MethodNotAllowed("the callback accepts GET and POST only")),
        }
    }

    /// The parsed parameters.
    pub fn params(&self) -> &CallbackParams {
        &self.params
    }

    /// Whether it came as a `POST` (`form_post`).
    pub fn is_form_post(&self) -> bool {
        self.posted
    }

    /// Whether it was re-posted by the [`form_post_relay_page`].
    pub fn is_relayed(&self) -> bool {
        self.relayed
    }
}

/// Whether a `Content-Type` header value is `application/x-www-form-urlencoded` (any
/// parameters, any case): the only body a `form_post` callback may have.
///
/// ```
/// use rpkit::client::web::is_form_urlencoded;
/// assert!(is_form_urlencoded(Some("application/x-www-form-urlencoded; charset=utf-8")));
/// assert!(!is_form_urlencoded(Some("application/json")));
/// assert!(!is_form_urlencoded(None));
/// ```
pub fn is_form_urlencoded(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// For a `form_post` callback that arrived without the session, an HTML page that
/// re-posts the same fields to `action` from our origin, so that the browser sends the
/// `SameSite=Lax` session cookie (a cross-site `POST` does not carry it). `pending` is
/// what the session holds under [`PENDING_KEY`].
///
/// Returns `None` when no relay is needed: a `GET`, an already relayed `POST`, or a
/// session that holds pending authorizations. Every value is HTML-escaped; serve the
/// page with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
///
/// ```
/// use rpkit::client::web::{form_post_relay_page, CallbackInput};
///
/// let callback = CallbackInput::from_form_body(b"code=c&state=%3Cs%3E").unwrap();
/// let page = form_post_relay_page(&callback, None, "/auth/dev/callback").unwrap();
/// assert!(page.contains("value=\"&lt;s&gt;\""));
/// assert!(page.contains("name=\"rpkit_relay\" value=\"1\""));
/// ```
pub fn form_post_relay_page(callback: &CallbackInput, pending: Option<&PendingSet>, action: &str) -> Option<String> {
    if !callback.posted || callback.relayed || pending.is_some_and(|p| !p.is_empty()) {
        return None;
    }
    let mut fields = String::new();
    for (k, v) in callback.params.iter() {
        fields.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape_html(k), escape_html(v)));
    }
    Some(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{fields}\
         <input type=\"hidden\" name=\"{RELAY_FIELD}\" value=\"1\">\
         <noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
        escape_html(action)
    ))
}

/// The session key of the per-session CSRF token that guards logout ([`csrf_token`]).
pub const CSRF_KEY: &str = "rpkit.csrf";

/// The form field that carries the CSRF token ([`logout_form`], [`csrf_from_form`]).
pub const CSRF_FIELD: &str = "csrf_token";

/// Random bytes in a CSRF token: 256 bits (DESIGN §3 asks at least 128 of every
/// unguessable value).
pub const CSRF_TOKEN_BYTES: usize = 32;

/// The largest logout form body an adapter reads.
pub const MAX_CSRF_FORM_BYTES: usize = 4 * 1024;

/// The session's CSRF token, as [`csrf_token`] returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken {
    /// The token (base64url) to render into forms.
    pub value: String,
    /// Whether it was just drawn: the adapter must store it under [`CSRF_KEY`].
    pub is_new: bool,
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfToken").field("value", &"[redacted]").field("is_new", &self.is_new).finish()
    }
}

/// The per-session CSRF token (synchronizer token pattern,
/// [OWASP CSRF cheat sheet](https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html)):
/// `stored` (what the session holds under [`CSRF_KEY`]) when it is a well-formed token,
/// else a new one of [`CSRF_TOKEN_BYTES`] random bytes from `rng` (then
/// [`CsrfToken::is_new`]: store it).
///
/// # Errors
/// [`Error::Random`] when the random source fails.
///
/// # Security
/// A state-changing request (logout) must carry it in a `POST` body and pass
/// [`check_csrf`]: a cross-site page cannot read it, so it cannot forge the request.
///
/// ```
/// use rpkit::client::web::{check_csrf, csrf_token};
/// use rpkit::rand::SeededRandom;
///
/// let rng = SeededRandom::new(7);
/// let first = csrf_token(None, &rng).unwrap();
/// assert!(first.is_new && first.value.len() >= 43);
/// let again = csrf_token(Some(&first.value), &rng).unwrap();
/// assert_eq!((again.value.as_str(), again.is_new), (first.value.as_str(), false));
/// assert!(check_csrf(Some(&first.value), Some(&first.value)));
/// assert!(!check_csrf(Some(&first.value), Some("guess")));
/// ```
pub fn csrf_token(stored: Option<&str>, rng: &dyn crate::rand::SecureRandom) -> Result<CsrfToken, Error> {
    match stored {
        Some(value) if is_csrf_token(value) => Ok(CsrfToken { value: value.to_owned(), is_new: false }),
        _ => Ok(CsrfToken { value: crate::rand::random_token(rng, CSRF_TOKEN_BYTES)?, is_new: true }),
    }
}

/// Whether `value` has the shape of a token from [`csrf_token`].
fn is_csrf_token(value: &str) -> bool {
    value.len() == crate::jose::b64::encode(&[0u8; CSRF_TOKEN_BYTES]).len()
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether the `presented` CSRF token (from the form) equals the `expected` one (from
/// the session), compared in constant time. Nothing expected, nothing presented, or an
/// empty token never matches.
///
/// ```
/// use rpkit::client::web::check_csrf;
/// assert!(!check_csrf(None, Some("x")));
/// assert!(!check_csrf(Some("x"), None));
/// assert!(!check_csrf(Some(""), Some("")));
/// ```
pub fn check_csrf(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (Some(e), Some(p)) if !e.is_empty() => crate::secret::constant_time_eq(e.as_bytes(), p.as_bytes()),
        _ => false,
    }
}

/// The [`CSRF_FIELD`] of an `application/x-www-form-urlencoded` body: `None` when it is
/// absent, repeated, or the body is larger than [`MAX_CSRF_FORM_BYTES`].
///
/// ```
/// use rpkit::client::web::csrf_from_form;
/// assert_eq!(csrf_from_form(b"csrf_token=abc").as_deref(), Some("abc"));
/// assert_eq!(csrf_from_form(b"csrf_token=a&csrf_token=b"), None);
/// assert_eq!(csrf_from_form(b"other=1"), None);
/// ```
pub fn csrf_from_form(body: &[u8]) -> Option<String> {
    if body.len() > MAX_CSRF_FORM_BYTES {
        return None;
    }
    let mut values = url::form_urlencoded::parse(body).filter(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// The logout request: a `POST` with an `application/x-www-form-urlencoded` body (at
/// most [`MAX_CSRF_FORM_BYTES`]) whose [`CSRF_FIELD`] [`logout_redirect`] checks against
/// the session. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}

impl fmt::Debug for LogoutForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutForm").field("csrf_token", &self.csrf_token.as_ref().map(|_| "[redacted]")).finish()
    }
}

impl LogoutForm {
    /// A logout request that presented `csrf_token` (for handlers that read the form
    /// themselves).
    pub fn new(csrf_token: Option<String>) -> Self {
        LogoutForm { csrf_token }
    }

    /// The logout request of a web request: only a `POST` (a `GET` — a link, an `<img>`,
    /// a prefetch — must not log anyone out) of a form; `body` is `None` when it could not
    /// be read within [`MAX_CSRF_FORM_BYTES`]. A missing or repeated token is not refused
    /// here but by [`logout_redirect`] (`403`).
    ///
    /// # Errors
    /// [`WebError::MethodNotAllowed`] (`405`) for any other method;
    /// [`WebError::BadRequest`] (`400`) for another content type or an unreadable body.
    ///
    /// ```
    /// use rpkit::client::web::{Fault, LogoutForm};
    /// let form = Some("application/x-www-form-urlencoded");
    /// assert_eq!(LogoutForm::from_parts("POST", form, Some(b"csrf_token=abc")).unwrap().csrf_token(), Some("abc"));
    /// assert_eq!(LogoutForm::from_parts("GET", None, None).unwrap_err().fault(), Fault::MethodNotAllowed);
    /// ```
    pub fn from_parts(method: &str, content_type: Option<&str>, body: Option<&[u8]>) -> Result<Self, WebError> {
        if method != "POST" {
            return Err(WebError::MethodNotAllowed("logout accepts POST only"));
        }
        if !is_form_urlencoded(content_type) {
            return Err(WebError::BadRequest("a logout must be application/x-www-form-urlencoded"));
        }
        match body {
            Some(body) if body.len() <= MAX_CSRF_FORM_BYTES => Ok(LogoutForm { csrf_token: csrf_from_form(body) }),
            _ => Err(WebError::BadRequest("the logout body is unreadable or too large")),
        }
    }

    /// The presented token.
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// The logout button: a `POST` form to `/logout/{name}` with the CSRF token as a hidden
/// [`CSRF_FIELD`]. Every value is escaped.
///
/// ```
/// let form = rpkit::client::web::logout_form("dev", "TOKEN");
/// assert!(form.starts_with("<form method=\"post\" action=\"/logout/dev\">"));
/// assert!(form.contains("<input type=\"hidden\" name=\"csrf_token\" value=\"TOKEN\">"));
/// ```
pub fn logout_form(name: &str, csrf_token: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/logout/{}\"><input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form>",
        escape_html(&path_segment(name)),
        escape_html(csrf_token)
    )
}

/// Query parameters of a redirect to the provider whose values [`redacted_redirect_url`]
/// hides: what binds the response to this browser, and whole tokens.
pub const REDACTED_REDIRECT_PARAMS: &[&str] =
    &["state", "nonce", "code_challenge", "id_token_hint", "logout_hint", "request", "login_hint"];

/// A redirect URL for `Debug` and logs: the values of [`REDACTED_REDIRECT_PARAMS`]
/// replaced by `[redacted]`, the fragment and user info dropped.
///
/// # Security
/// A logged `state` (with the pending authorization) lets whoever reads the log finish
/// the victim's login or forge a callback; an `id_token_hint` is a whole ID token.
///
/// ```
/// use rpkit::client::web::redacted_redirect_url;
/// let url = url::Url::parse("https://op.example/authorize?client_id=c&state=S3CR3T&nonce=N&code_challenge=C").unwrap();
/// assert_eq!(
///     redacted_redirect_url(&url),
///     "https://op.example/authorize?client_id=c&state=[redacted]&nonce=[redacted]&code_challenge=[redacted]"
/// );
/// ```
pub fn redacted_redirect_url(url: &url::Url) -> String {
    let mut out = url.clone();
    out.set_fragment(None);
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out.set_query(None);
    let mut text = out.to_string();
    if let Some(query) = url.query() {
        let mut parts = Vec::new();
        for pair in query.split('&') {
            let raw_key = pair.split('=').next().unwrap_or("");
            let key = url::form_urlencoded::parse(raw_key.as_bytes()).next().map(|(k, _)| k.into_owned());
            let hidden = key.is_some_and(|k| REDACTED_REDIRECT_PARAMS.contains(&k.as_str()));
            parts.push(if hidden { format!("{raw_key}=[redacted]") } else { pair.to_owned() });
        }
        text.push('?');
        text.push_str(&parts.join("&"));
    }
    text
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
///
/// ```
/// assert_eq!(
///     rpkit::client::web::escape_html(r#"<a href="x">'&'</a>"#),
///     "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `name` percent-encoded as one URL path segment (a client name in `/login/{name}`).
///
/// ```
/// assert_eq!(rpkit::client::web::path_segment("my corp/1"), "my%20corp%2F1");
/// ```
pub fn path_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The `<li>` "Log in with …" link to `/login/{name}` for each client name, escaped.
///
/// ```
/// let links = rpkit::client::web::login_links(["dev".to_owned()]);
/// assert_eq!(links, "<li><a href=\"/login/dev\">Log in with dev</a></li>");
/// ```
pub fn login_links(names: impl IntoIterator<Item = String>) -> String {
    names
        .into_iter()
        .map(|n| {
            format!(
                "<li><a href=\"/login/{}\">Log in with {}</a></li>",
                escape_html(&path_segment(&n)),
                escape_html(&n)
            )
        })
        .collect()
}

/// Whether `uri` is plain `http` on a loopback host (`127.0.0.0/8`, `::1`,
/// `localhost`): a development address, where browsers drop `Secure` cookies and a
/// development provider may deliver back-channel logouts.
///
/// ```
/// use rpkit::client::web::is_loopback_http;
/// assert!(is_loopback_http("http://127.0.0.1:8000"));
/// assert!(is_loopback_http("http://localhost/cb"));
/// assert!(!is_loopback_http("https://127.0.0.1"));
/// assert!(!is_loopback_http("http://app.example"));
/// ```
pub fn is_loopback_http(uri: &str) -> bool {
    url::Url::parse(uri)
        .is_ok_and(|u| u.scheme() == "http" && u.host().as_ref().is_some_and(crate::wire::is_loopback_host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::TransportError;
    use crate::error::{CallbackError as CbError, ConfigError, Endpoint, ProviderError, StateError};
    use proptest::prelude::*;
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

    fn core(e: Error) -> ClientError {
        ClientError::Core(e)
    }

    fn status(e: &ClientError) -> u16 {
        ErrorResponse::from(e).status
    }

    fn revocations() -> Revocations {
        Revocations::new().with_clock(crate::client::ManualClock::new(T0.plus(100).as_secs()))
    }

    #[tokio::test]
    async fn logout_by_sid_ends_only_that_provider_session() {
        let r = revocations();
        r.revoke("dev", &target(Some("alice"), Some("s1")), T0.plus(10)).await.unwrap();
        assert!(r.is_revoked(&user("dev", "alice", Some("s1"), T0)).await.unwrap());
        assert!(!r.is_revoked(&user("dev", "alice", Some("s2"), T0)).await.unwrap());
        assert!(!r.is_revoked(&user("other", "alice", Some("s1"), T0)).await.unwrap());
    }

    #[tokio::test]
    async fn logout_by_sub_ends_every_earlier_login_of_that_user() {
        let r = revocations();
        r.revoke("dev", &target(Some("alice"), None), T0.plus(10)).await.unwrap();
        assert!(r.is_revoked(&user("dev", "alice", Some("s1"), T0)).await.unwrap());
        assert!(r.is_revoked(&user("dev", "alice", None, T0.plus(10))).await.unwrap());
        assert!(!r.is_revoked(&user("dev", "bob", None, T0)).await.unwrap());
    }

    #[tokio::test]
    async fn a_login_after_the_logout_is_not_revoked() {
        let r = revocations();
        r.revoke("dev", &target(Some("alice"), None), T0).await.unwrap();
        assert!(!r.is_revoked(&user("dev", "alice", None, T0.plus(1))).await.unwrap());
    }

    #[tokio::test]
    async fn revocations_are_bounded_and_expire() {
        let clock = Arc::new(crate::client::ManualClock::new(T0.as_secs()));
        let r = Revocations::new().max_entries(2).ttl(100).with_clock(Arc::clone(&clock));
        for i in 0..5 {
            r.revoke("dev", &target(Some(&format!("u{i}")), None), T0).await.unwrap();
        }
        assert_eq!(r.in_memory_len(), Some(2));
        assert!(r.is_revoked(&user("dev", "u4", None, T0)).await.unwrap());
        clock.set(T0.plus(101).as_secs());
        assert!(!r.is_revoked(&user("dev", "u4", None, T0)).await.unwrap(), "expired after its TTL");
        r.revoke("dev", &target(Some("late"), None), T0.plus(101)).await.unwrap();
        assert_eq!(r.in_memory_len(), Some(1));
    }

    #[tokio::test]
    async fn revocation_clones_share_the_list() {
        let r = revocations();
        let clone = r.clone();
        clone.revoke("dev", &target(None, Some("s1")), T0).await.unwrap();
        assert_eq!(r.in_memory_len(), Some(1));
        assert!(r.is_revoked(&user("dev", "alice", Some("s1"), T0)).await.unwrap());
    }

    #[tokio::test]
    async fn a_target_naming_neither_sub_nor_sid_revokes_nobody() {
        let r = revocations();
        r.revoke("dev", &target(None, None), T0.plus(10)).await.unwrap();
        assert!(!r.is_revoked(&user("dev", "alice", Some("s1"), T0)).await.unwrap());
    }

    #[tokio::test]
    async fn revocations_of_a_registry_share_its_store_with_every_registry_on_that_store() {
        let store = MemoryStore::new();
        let clock = Arc::new(crate::client::ManualClock::new(T0.plus(100).as_secs()));
        let a = OAuth::builder(NeverCalled).shared_store(store.clone()).clock(Arc::clone(&clock)).build();
        let b = OAuth::builder(NeverCalled).shared_store(store.clone()).clock(clock).build();
        Revocations::of(&a).revoke("dev", &target(None, Some("s1")), T0.plus(10)).await.unwrap();
        assert!(Revocations::of(&b).is_revoked(&user("dev", "alice", Some("s1"), T0)).await.unwrap());
        assert_eq!(store.revocations(), 1);
        assert!(Revocations::of(&a).in_memory_len().is_none());
    }

    /// A store that never answers, as a Redis that is down.
    struct DownStore;

    #[async_trait::async_trait]
    impl SharedStore for DownStore {
        async fn revoke(&self, _: &str, _: &LogoutTarget, _: UnixTime) -> Result<(), StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn is_revoked(&self, _: &Login<'_>, _: UnixTime) -> Result<bool, StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn insert_jti_if_new(&self, _: &str, _: &str, _: UnixTime, _: UnixTime) -> Result<bool, StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn acquire_lease(
            &self,
            _: &str,
            _: &str,
            _: std::time::Duration,
            _: UnixTime,
        ) -> Result<Option<crate::client::store::Lease>, StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn release_lease(&self, _: crate::client::store::Lease) -> Result<bool, StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn wait_for_lease(&self, _: &str, _: std::time::Duration) -> Result<(), StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn publish_refreshed(
            &self,
            _: &str,
            _: &[u8],
            _: std::time::Duration,
            _: UnixTime,
        ) -> Result<(), StoreError> {
            Err(StoreError::unavailable("down"))
        }
        async fn refreshed(&self, _: &str, _: UnixTime) -> Result<Option<Vec<u8>>, StoreError> {
            Err(StoreError::unavailable("down"))
        }
    }

    #[tokio::test]
    async fn a_store_that_cannot_answer_is_503_and_keeps_the_session_rather_than_passing_the_user() {
        let r = Revocations::in_store(Arc::new(DownStore), Arc::new(crate::client::ManualClock::new(T0.as_secs())));
        let session = SessionValues { user: Some(user("dev", "alice", Some("s1"), T0)), ..Default::default() };
        let Outcome { result, edit } = current_user(session, &r).await;
        let e = result.unwrap_err();
        assert_eq!((e.fault(), e.fault().status()), (Fault::StoreUnavailable, 503));
        assert!(edit.is_empty(), "the user stays in the session until the store answers");
        // Nobody logged in: nothing to look up, so no store error.
        let Outcome { result, .. } = current_user(SessionValues::default(), &r).await;
        assert!(result.unwrap().is_none());
    }

    #[test]
    fn user_debug_hides_tokens_and_personal_data() {
        let mut u = user("dev", "alice", Some("s1"), T0);
        u.userinfo =
            Some(Claims::new(json!({"sub": "alice", "email": "alice@example.com"}).as_object().unwrap().clone()));
        let text = format!("{u:?}");
        assert!(!text.contains("x.y.z"));
        assert!(!text.contains("\"at\""));
        assert!(!text.contains("alice"), "{text}");
        assert!(text.contains("dev"));
    }

    #[test]
    fn user_round_trips_through_json_as_a_session_store_keeps_it() {
        let u = user("dev", "alice", Some("s1"), T0);
        let back: AuthUser = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back.sub(), Some("alice"));
        assert_eq!(back.sid(), Some("s1"));
        assert_eq!(back.logged_in_at, T0);
        assert_eq!(back.token.id_token.as_ref().map(|t| t.secret().to_owned()), Some("x.y.z".to_owned()));
    }

    #[test]
    fn profile_json_shows_claims_but_no_token() {
        let u = user("dev", "alice", Some("s1"), T0);
        let profile = u.profile_json();
        assert_eq!(profile["provider"], "dev");
        assert_eq!(profile["id_token_claims"]["sub"], "alice");
        assert_eq!(profile["userinfo"], serde_json::Value::Null);
        let text = profile.to_string();
        assert!(!text.contains("x.y.z") && !text.contains("\"at\""));
    }

    #[test]
    fn bad_input_from_browser_or_provider_is_400_with_its_code() {
        let cases = [
            (core(Error::State(StateError::Missing)), "state_missing"),
            (core(Error::State(StateError::Expired)), "state_expired"),
            (core(Error::State(StateError::Unknown { session_empty: true })), "state_unknown"),
            (core(Error::Callback(CbError::IssuerMismatch { expected: "a".into(), found: "b".into() })), "invalid_iss"),
            (
                core(Error::Provider(ProviderError { error: "access_denied".into(), description: None, uri: None })),
                "access_denied",
            ),
        ];
        for (e, code) in cases {
            assert_eq!(ErrorResponse::from(&e), ErrorResponse::new(400, code), "{e}");
        }
    }

    #[test]
    fn provider_failures_are_502() {
        let cases = [
            ClientError::Transport { endpoint: Endpoint::Token, source: TransportError::Timeout },
            ClientError::Transport { endpoint: Endpoint::Token, source: TransportError::Connect("refused".into()) },
            core(Error::Http { endpoint: Endpoint::Token, status: 503 }),
            core(Error::TooLarge { endpoint: Endpoint::UserInfo, limit: 1 }),
            core(Error::malformed("token response: not JSON")),
            core(Error::Discovery(crate::discovery::DiscoveryError::IssuerMismatch {
                expected: "a".into(),
                found: "b".into(),
            })),
        ];
        for e in cases {
            assert_eq!(status(&e), 502, "{e}");
            assert!(ErrorResponse::from(&e).is_server_error());
        }
    }

    #[test]
    fn server_faults_are_500_dead_refresh_401_and_unknown_client_404() {
        let config = core(Error::Config(ConfigError::Missing { client: "dev".into(), key: "client_id".into() }));
        assert_eq!(status(&config), 500);
        assert_eq!(status(&core(Error::Random)), 500);
        assert_eq!(status(&core(Error::NoRefreshToken)), 401);
        let refused = ProviderError { error: "invalid_grant".into(), description: None, uri: None };
        let reauth = ErrorResponse::from(&core(Error::ReauthenticationRequired(refused)));
        assert_eq!(reauth, ErrorResponse::new(401, "invalid_grant"));
        assert!(!reauth.is_server_error());
        assert_eq!(ErrorResponse::from(&ClientError::UnknownClient { name: "nope".into() }).status, 404);
    }

    /// A registry whose transport refuses everything (no test here reaches the network).
    fn offline_registry(clock: super::super::ManualClock) -> OAuth {
        struct Offline;
        #[async_trait::async_trait]
        impl super::super::HttpClient for Offline {
            async fn send(
                &self,
                _: http::Request<Vec<u8>>,
                _: usize,
            ) -> Result<http::Response<Vec<u8>>, TransportError> {
                Err(TransportError::Connect("offline".into()))
            }
        }
        let oauth = OAuth::builder(Offline).clock(clock).rng(crate::rand::SeededRandom::new(9)).build();
        oauth.register(
            crate::config::ClientConfig::new("dev")
                .client_id("c")
                .authorize_url("https://op.example/authorize")
                .end_session_endpoint("https://op.example/logout"),
        );
        oauth
    }

    fn logged_out_state(url: &url::Url) -> String {
        url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap()
    }

    #[test]
    fn repeated_state_and_bad_browser_input_are_400_configuration_500_provider_502() {
        let repeated = core(Error::State(StateError::Repeated));
        assert_eq!(ErrorResponse::from(&repeated), ErrorResponse::new(400, "state_repeated"));
        assert_eq!(status(&core(Error::bad_request("back-channel logout request: body is not UTF-8"))), 400);
        // A configured URL that does not parse is the application's fault, not the provider's.
        assert_eq!(status(&core(Error::unusable_config("authorize_url: relative URL"))), 500);
        assert_eq!(status(&core(Error::Http { endpoint: Endpoint::Token, status: 404 })), 502);
        assert_eq!(status(&ClientError::NoToken { name: "dev".into() }), 401);
        assert_eq!(status(&ClientError::OAuth1Client { name: "dev".into() }), 500);
        assert_eq!(Fault::StoreUnavailable.status(), 503);
        assert!(Fault::StoreUnavailable.is_server_error() && !Fault::BadRequest.is_server_error());
    }

    #[test]
    fn web_errors_follow_the_table() {
        let cases = [
            (WebError::LoginRequired, 401, "login_required"),
            (WebError::BadRequest("x"), 400, "invalid_request"),
            (WebError::CsrfMismatch, 403, "csrf_mismatch"),
            (WebError::MethodNotAllowed("x"), 405, "method_not_allowed"),
            (WebError::Client(ClientError::UnknownClient { name: "n".into() }), 404, "unknown_client"),
        ];
        for (e, status, code) in cases {
            assert_eq!(ErrorResponse::from(&e), ErrorResponse::new(status, code), "{e}");
        }
        let http = ErrorResponse::new(503, STORE_UNAVAILABLE_CODE).to_http();
        assert_eq!(http.status(), 503);
        assert_eq!(http.headers()[http::header::CONTENT_TYPE], "application/json");
        assert_eq!(http.body(), br#"{"error":"session_store_unavailable"}"#);
        let down = ClientError::Store(super::super::store::StoreError::Unavailable { reason: "timeout".into() });
        assert_eq!(Fault::of(&down).status(), 503);
        let busy = ClientError::Store(super::super::store::StoreError::LeaseBusy);
        assert_eq!(Fault::of(&busy).status(), 503);
        let corrupt = ClientError::Store(super::super::store::StoreError::Corrupt { what: "revocation" });
        assert_eq!(Fault::of(&corrupt).status(), 500);
    }

    #[test]
    fn callback_accepts_get_and_form_post_only() {
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        for method in ["HEAD", "PUT", "DELETE", "get"] {
            let e = CallbackInput::from_parts(method, form, Some("code=c&state=s"), Some(b"code=c")).unwrap_err();
            assert_eq!(e.fault(), Fault::MethodNotAllowed, "{method}");
        }
        let json = CallbackInput::from_parts("POST", Some("application/json"), None, Some(b"code=c")).unwrap_err();
        assert_eq!(json, WebError::BadRequest("a form_post callback must be application/x-www-form-urlencoded"));
        let big = vec![b'a'; MAX_CALLBACK_BYTES + 1];
        for body in [None, Some(&big[..])] {
            assert_eq!(CallbackInput::from_parts("POST", form, None, body).unwrap_err().fault(), Fault::BadRequest);
        }
        let repeated = CallbackInput::from_parts("GET", None, Some("state=a&state=b"), None).unwrap_err();
        assert!(matches!(
            repeated,
            WebError::Client(ClientError::Core(Error::Callback(CbError::DuplicateParameter { .. })))
        ));
        assert_eq!(repeated.fault(), Fault::BadRequest);
        let relayed =
            CallbackInput::from_parts("POST", form, Some("ignored=1"), Some(b"code=c&rpkit_relay=1")).unwrap();
        assert!(relayed.is_form_post() && relayed.is_relayed());
        assert!(!CallbackInput::from_parts("GET", None, None, None).unwrap().is_form_post());
    }

    #[test]
    fn logout_form_is_a_post_of_a_small_form() {
        let form = Some("application/x-www-form-urlencoded");
        assert_eq!(
            LogoutForm::from_parts("GET", form, Some(b"csrf_token=x")).unwrap_err().fault(),
            Fault::MethodNotAllowed
        );
        assert_eq!(
            LogoutForm::from_parts("POST", Some("text/plain"), Some(b"")).unwrap_err().fault(),
            Fault::BadRequest
        );
        let big = vec![b'a'; MAX_CSRF_FORM_BYTES + 1];
        assert_eq!(LogoutForm::from_parts("POST", form, Some(&big)).unwrap_err().fault(), Fault::BadRequest);
        assert_eq!(
            LogoutForm::from_parts("POST", form, Some(b"csrf_token=a&csrf_token=b")).unwrap().csrf_token(),
            None
        );
        assert!(!format!("{:?}", LogoutForm::new(Some("SECRET".into()))).contains("SECRET"));
    }

    #[test]
    fn session_edits_compose_and_the_later_write_wins() {
        let first = SessionEdit::default().set(PENDING_KEY, &1).save_now();
        let edit = first.then(SessionEdit::default().renew_id().remove(PENDING_KEY).set(USER_KEY, &"u"));
        assert!(edit.renew_id && edit.save_now && !edit.end_session);
        assert_eq!(edit.remove, [PENDING_KEY]);
        assert_eq!(edit.set, [(USER_KEY, json!("u"))]);
        let again = edit.then(SessionEdit::default().set(PENDING_KEY, &2));
        assert!(again.remove.is_empty());
        assert!(SessionEdit::default().is_empty() && !again.is_empty());
    }

    #[tokio::test]
    async fn a_revoked_user_is_removed_and_a_valid_one_kept() {
        let r = revocations();
        r.revoke("dev", &target(None, Some("s1")), T0.plus(5)).await.unwrap();
        let revoked = SessionValues { user: Some(user("dev", "alice", Some("s1"), T0)), ..Default::default() };
        let Outcome { result, edit } = current_user(revoked, &r).await;
        assert!(result.unwrap().is_none());
        assert_eq!(edit.remove, [USER_KEY]);
        let kept = SessionValues { user: Some(user("dev", "alice", Some("s2"), T0)), ..Default::default() };
        let Outcome { result, edit } = current_user(kept, &r).await;
        assert!(result.unwrap().is_some() && edit.is_empty());
    }

    #[tokio::test]
    async fn logout_needs_the_csrf_token_then_ends_the_session_and_its_state_validates_once() {
        let oauth = offline_registry(super::super::ManualClock::new(T0.as_secs()));
        let client = oauth.create_client("dev").unwrap();
        let options =
            || LogoutOptions { post_logout_redirect_uri: Some("https://app.example/out".into()), ..Default::default() };
        let token = session_csrf_token(&oauth, &SessionValues::default());
        let csrf = token.result.unwrap();
        assert_eq!(token.edit.set, [(CSRF_KEY, json!(csrf.clone()))]);
        let values = || SessionValues {
            csrf: Some(csrf.clone()),
            user: Some(user("dev", "alice", None, T0)),
            ..Default::default()
        };

        let refused = logout_redirect(&client, values(), &LogoutForm::new(Some("guess".into())), options()).await;
        assert_eq!(refused.result.unwrap_err(), WebError::CsrfMismatch);
        assert!(refused.edit.is_empty(), "nothing changes without the token");

        let done = logout_redirect(&client, values(), &LogoutForm::new(Some(csrf.clone())), options()).await;
        let url = done.result.unwrap();
        assert!(done.edit.end_session);
        assert_eq!(url.query_pairs().find(|(k, _)| k == "id_token_hint").unwrap().1, "x.y.z");
        let logouts: PendingLogouts = serde_json::from_value(done.edit.set[0].1.clone()).unwrap();
        let state = logged_out_state(&url);
        let stored = || SessionValues::from_json([(LOGOUT_KEY, Some(serde_json::to_value(&logouts).unwrap()))]);

        let repeated = validate_logout_response(&oauth, stored(), &format!("state={state}&state={state}"));
        assert_eq!(ErrorResponse::from(&repeated.result.unwrap_err()), ErrorResponse::new(400, "state_repeated"));
        let first = validate_logout_response(&oauth, stored(), &format!("?state={state}"));
        assert_eq!(first.result.unwrap().client, "dev");
        assert_eq!(first.edit.remove, [LOGOUT_KEY]);
        assert!(first.edit.save_now);
        let unknown = validate_logout_response(&oauth, SessionValues::default(), &format!("state={state}"));
        assert_eq!(unknown.result.unwrap_err().code(), "state_unknown");
    }

    #[tokio::test]
    async fn logout_revokes_the_refresh_token_when_the_provider_can_and_logs_out_whatever_it_answers() {
        #[derive(Default)]
        struct Revoker(std::sync::Mutex<Vec<String>>, bool);
        #[async_trait::async_trait]
        impl super::super::HttpClient for std::sync::Arc<Revoker> {
            async fn send(
                &self,
                r: http::Request<Vec<u8>>,
                _: usize,
            ) -> Result<http::Response<Vec<u8>>, TransportError> {
                let form = String::from_utf8_lossy(r.body()).into_owned();
                self.0.lock().unwrap().push(format!("{} {}", r.uri().path(), form));
                let status = if self.1 { 503 } else { 200 };
                Ok(http::Response::builder().status(status).body(Vec::new()).unwrap())
            }
        }
        for failing in [false, true] {
            let http = std::sync::Arc::new(Revoker(Default::default(), failing));
            let oauth = OAuth::builder(std::sync::Arc::clone(&http)).build();
            let client = oauth.register(
                crate::config::ClientConfig::new("dev")
                    .client_id("c")
                    .client_secret("s")
                    .authorize_url("https://op.example/authorize")
                    .end_session_endpoint("https://op.example/logout")
                    .revocation_endpoint("https://op.example/revoke"),
            );
            let mut u = user("dev", "alice", None, T0);
            u.token.refresh_token = Some(crate::secret::RefreshToken::new("rt-1"));
            let csrf = session_csrf_token(&oauth, &SessionValues::default()).result.unwrap();
            let values = SessionValues { csrf: Some(csrf.clone()), user: Some(u), ..Default::default() };
            let done = logout_redirect(&client, values, &LogoutForm::new(Some(csrf)), LogoutOptions::default()).await;
            assert!(done.result.is_ok() && done.edit.end_session, "logged out whatever the provider answered");
            let sent = http.0.lock().unwrap().clone();
            assert_eq!(sent, ["/revoke token=rt-1&token_type_hint=refresh_token"], "failing: {failing}");
        }
        // Without a revocation endpoint nothing is sent (the offline registry would fail).
        let oauth = offline_registry(super::super::ManualClock::new(T0.as_secs()));
        let client = oauth.create_client("dev").unwrap();
        let mut u = user("dev", "alice", None, T0);
        u.token.refresh_token = Some(crate::secret::RefreshToken::new("rt-1"));
        let csrf = session_csrf_token(&oauth, &SessionValues::default()).result.unwrap();
        let values = SessionValues { csrf: Some(csrf.clone()), user: Some(u), ..Default::default() };
        assert!(logout_redirect(&client, values, &LogoutForm::new(Some(csrf)), LogoutOptions::default())
            .await
            .result
            .is_ok());
    }

    #[tokio::test]
    async fn pending_logins_expire_by_the_registrys_clock() {
        let clock = std::sync::Arc::new(super::super::ManualClock::new(T0.as_secs()));
        let oauth = OAuth::builder_shared(std::sync::Arc::new(NeverCalled))
            .shared_clock(clock.clone())
            .rng(crate::rand::SeededRandom::new(2))
            .build();
        oauth.register(crate::config::ClientConfig::new("dev").client_id("c").authorize_url("https://op.example/a"));
        let client = oauth.create_client("dev").unwrap();
        let started = authorize_redirect(
            &client,
            SessionValues::default(),
            &AuthorizeOptions::redirect_uri("https://app.example/cb"),
        )
        .await;
        let url = started.result.unwrap();
        let pending = started.edit.set[0].1.clone();
        let callback =
            CallbackInput::from_parts("GET", None, Some(&format!("code=c&state={}", logged_out_state(&url))), None)
                .unwrap();
        clock.advance(DEFAULT_PENDING_TTL + 1);
        let late =
            authorize_access_token(&client, SessionValues::from_json([(PENDING_KEY, Some(pending))]), &callback).await;
        assert_eq!(late.result.unwrap_err().code(), "state_expired");
        assert_eq!(late.edit.remove, [PENDING_KEY], "consumed even so");
        assert!(late.edit.save_now);
    }

    struct NeverCalled;
    #[async_trait::async_trait]
    impl super::super::HttpClient for NeverCalled {
        async fn send(&self, _: http::Request<Vec<u8>>, _: usize) -> Result<http::Response<Vec<u8>>, TransportError> {
            unreachable!("no request is made")
        }
    }

    #[test]
    fn responses_carry_no_store_and_no_referrer() {
        let url = url::Url::parse("https://op.example/authorize?state=s").unwrap();
        let r = redirect_response(&url);
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()[http::header::CACHE_CONTROL], "no-store");
        let cb = CallbackInput::from_form_body(b"code=c&state=s").unwrap();
        let relay = form_post_relay(&cb, &SessionValues::default(), "/cb").unwrap();
        assert_eq!(relay.headers()[http::header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(relay.headers()[http::header::REFERRER_POLICY], "no-referrer");
        let bad = backchannel_http_response(&Err::<(), _>(WebError::BadRequest("x")));
        assert_eq!((bad.status().as_u16(), bad.body().as_slice()), (400, &br#"{"error":"invalid_request"}"#[..]));
    }

    #[test]
    fn error_body_is_json_with_only_the_code() {
        let e =
            core(Error::Callback(CbError::IssuerMismatch { expected: "https://op".into(), found: "<script>".into() }));
        assert_eq!(ErrorResponse::from(&e).body(), r#"{"error":"invalid_iss"}"#);
        assert_eq!(ErrorResponse::new(400, "a\"b").body(), r#"{"error":"a\"b"}"#);
    }

    #[test]
    fn escape_html_escapes_every_special_character() {
        assert_eq!(
            escape_html("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
        assert_eq!(escape_html("plain – text"), "plain – text");
    }

    #[test]
    fn form_body_with_repeated_state_is_rejected() {
        let err = CallbackInput::from_form_body(b"state=a&state=b&code=c").unwrap_err();
        assert!(matches!(err, CbError::DuplicateParameter { .. }));
    }

    #[test]
    fn a_relay_marker_other_than_1_is_stripped_but_not_trusted() {
        let cb = CallbackInput::from_form_body(b"code=c&state=s&rpkit_relay=2").unwrap();
        assert!(!cb.is_relayed());
        assert!(!cb.params().contains(RELAY_FIELD));
    }

    #[test]
    fn relay_page_escapes_every_value_and_marks_the_repost() {
        let cb = CallbackInput::from_form_body(b"code=%22%3E%3Cscript%3Ex%3C%2Fscript%3E&state=s").unwrap();
        let page = form_post_relay_page(&cb, None, "/auth/\"dev\"/callback").unwrap();
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
        assert!(page.contains("action=\"/auth/&quot;dev&quot;/callback\""));
        assert!(page.contains("name=\"rpkit_relay\" value=\"1\""));
        assert!(form_post_relay_page(&cb, Some(&PendingSet::default()), "/cb").is_some());
    }

    #[test]
    fn relayed_or_get_callbacks_need_no_relay() {
        let relayed = CallbackInput::from_form_body(b"code=c&state=s&rpkit_relay=1").unwrap();
        assert!(form_post_relay_page(&relayed, None, "/cb").is_none());
        let get = CallbackInput::from_params(CallbackParams::from_query("code=c&state=s").unwrap());
        assert!(form_post_relay_page(&get, None, "/cb").is_none());
    }

    #[test]
    fn form_content_type_is_recognised_with_parameters_and_any_case() {
        assert!(is_form_urlencoded(Some(" Application/X-WWW-Form-Urlencoded ;charset=utf-8")));
        assert!(!is_form_urlencoded(Some("multipart/form-data")));
        assert!(!is_form_urlencoded(Some("")));
    }

    #[test]
    fn login_links_escape_and_encode_names() {
        let links = login_links(["a b<".to_owned()]);
        assert_eq!(links, "<li><a href=\"/login/a%20b%3C\">Log in with a b&lt;</a></li>");
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup_characters(text in ".{0,200}") {
            let escaped = escape_html(&text);
            prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
        }

        #[test]
        fn form_post_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(cb) = CallbackInput::from_form_body(&body) {
                let _ = form_post_relay_page(&cb, None, "/cb");
            }
        }
    }

    #[test]
    fn redacted_redirect_url_hides_state_nonce_challenge_and_tokens() {
        let url = url::Url::parse(
            "https://u:pw@op.example/end?id_token_hint=eyJ.eyJ.sig&state=S3CR3T&st%61te=ENC&client_id=c#frag",
        )
        .unwrap();
        let text = redacted_redirect_url(&url);
        for secret in ["S3CR3T", "ENC", "eyJ", "pw", "frag"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.starts_with("https://op.example/end?"), "{text}");
        assert!(text.contains("client_id=c"), "{text}");
    }

    #[test]
    fn csrf_token_has_at_least_128_random_bits_and_differs_per_session() {
        let rng = crate::rand::SeededRandom::new(3);
        let a = csrf_token(None, &rng).unwrap();
        let b = csrf_token(None, &rng).unwrap();
        assert!(a.is_new && b.is_new);
        assert_ne!(a.value, b.value);
        assert!(crate::jose::b64::decode(&a.value).unwrap().len() * 8 >= 128);
        assert!(!format!("{a:?}").contains(&a.value));
    }

    #[test]
    fn malformed_stored_csrf_token_is_replaced() {
        let rng = crate::rand::SeededRandom::new(4);
        for bad in ["", "short", "<script>", &"a".repeat(100)] {
            let t = csrf_token(Some(bad), &rng).unwrap();
            assert!(t.is_new, "{bad}");
            assert_ne!(t.value, bad);
        }
    }

    #[test]
    fn wrong_missing_or_prefix_csrf_token_does_not_match() {
        let rng = crate::rand::SeededRandom::new(5);
        let t = csrf_token(None, &rng).unwrap().value;
        assert!(check_csrf(Some(&t), Some(&t)));
        assert!(!check_csrf(Some(&t), Some(&t[..t.len() - 1])));
        assert!(!check_csrf(Some(&t), Some(&format!("{t}x"))));
        assert!(!check_csrf(Some(&t), None));
        assert!(!check_csrf(None, Some(&t)));
    }
}
