//! The login and logout steps, named as in Authlib, over an [`AuthSession`].

use crate::error::AuthError;
use crate::session::AuthSession;
use crate::user::unix_now;
use axum::extract::{FromRequest, Request};
use axum::response::{Html, IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY};
use http::{HeaderValue, Method, StatusCode};
use rpkit::authorize::PendingSet;
use rpkit::callback::{CallbackParams, MAX_CALLBACK_BYTES};
use rpkit::client::web::{
    self, is_form_urlencoded, AuthUser, CallbackInput, Revocations, CSRF_KEY, LOGOUT_KEY, MAX_CSRF_FORM_BYTES,
    PENDING_KEY, USER_KEY,
};
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::logout::{LogoutTarget, PendingLogout, PendingLogouts};
use rpkit::Token;
use std::fmt;
use std::ops::Deref;

/// A `302 Found` to the provider (authorization or end-session endpoint), never cached.
///
/// ```
/// use axum::response::IntoResponse;
/// use rpkit_axum::AuthRedirect;
/// let r = AuthRedirect::new(url::Url::parse("https://op.example/authorize?state=x").unwrap());
/// let response = r.into_response();
/// assert_eq!(response.status(), http::StatusCode::FOUND);
/// assert_eq!(response.headers()["location"], "https://op.example/authorize?state=x");
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
///
/// `Debug` shows the URL with its `state`, `nonce`, `code_challenge` and
/// `id_token_hint` replaced by `[redacted]` ([`web::redacted_redirect_url`]): a logged
/// state lets the log's reader complete or forge the login.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRedirect {
    url: url::Url,
}

impl fmt::Debug for AuthRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRedirect").field("url", &web::redacted_redirect_url(&self.url)).finish()
    }
}

impl AuthRedirect {
    /// A redirect to `url`.
    pub fn new(url: url::Url) -> Self {
        AuthRedirect { url }
    }

    /// Where it redirects.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

impl IntoResponse for AuthRedirect {
    fn into_response(self) -> Response {
        let mut response = StatusCode::FOUND.into_response();
        let headers = response.headers_mut();
        match HeaderValue::from_str(self.url.as_str()) {
            Ok(location) => {
                headers.insert(LOCATION, location);
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // The authorization URL carries the state; do not leak it to the provider's
        // subresources via Referer.
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        response
    }
}

/// Starts a login (Authlib's `authorize_redirect`): builds the authorization URL (state,
/// nonce, PKCE S256), records the pending authorization in the session (bounded,
/// expiring) and returns the `302` to send.
///
/// # Errors
/// Configuration, discovery and random-source errors (nothing is stored then); session
/// errors (e.g. [`SessionError::TooLarge`](crate::SessionError::TooLarge) for a full cookie).
///
/// ```no_run
/// use axum::extract::{Path, State};
/// use rpkit::client::{AuthorizeOptions, OAuth};
/// use rpkit_axum::{authorize_redirect, AuthError, AuthRedirect, AuthSession};
///
/// async fn login(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession)
///     -> Result<AuthRedirect, AuthError> {
///     let client = oauth.create_client(&name)?;
///     let options = AuthorizeOptions::redirect_uri(format!("https://app.example/auth/{name}/callback"));
///     authorize_redirect(&session, &client, &options).await
/// }
/// ```
pub async fn authorize_redirect(
    session: &AuthSession,
    client: &OAuthClient,
    options: &AuthorizeOptions,
) -> Result<AuthRedirect, AuthError> {
    let mut pending: PendingSet = session.get(PENDING_KEY).await?.unwrap_or_default();
    let url = client.authorize_redirect(&mut pending, options).await?;
    session.insert(PENDING_KEY, &pending).await?;
    Ok(AuthRedirect::new(url.to_url()))
}

/// Handles the callback (Authlib's `authorize_access_token`): every check of the
/// authorization response against the session's pending authorizations, the code
/// exchange and ID token validation. Returns the token, with the ID token's claims in
/// `token.userinfo`.
///
/// The matching pending authorization is consumed whatever the outcome (a replayed
/// callback fails). Nothing else is stored: see [`complete_login`] to log the user in.
///
/// # Errors
/// Every rejection of [`OAuthClient::authorize_access_token`] (→ `400`, or `502` when the
/// provider failed); session errors.
pub async fn authorize_access_token(
    session: &AuthSession,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<Token, AuthError> {
    let mut pending: PendingSet = session.get(PENDING_KEY).await?.unwrap_or_default();
    let had_entries = !pending.is_empty();
    let outcome = client.authorize_access_token(&mut pending, callback.params()).await;
    if had_entries {
        if pending.is_empty() {
            session.remove(PENDING_KEY).await?;
        } else {
            session.insert(PENDING_KEY, &pending).await?;
        }
        // The entry stays consumed even when the answer is a 502.
        session.save().await?;
    }
    Ok(outcome?)
}

/// Handles the callback and logs the user in: [`authorize_access_token`], then the
/// UserInfo request (OpenID Connect clients with a UserInfo endpoint; its `sub` must equal
/// the ID token's), then — only when every check passed — a new session id and the
/// [`AuthUser`] in the session.
///
/// # Errors
/// As [`authorize_access_token`], plus UserInfo errors. On any error the session holds
/// no new user (a previous login, if any, is left as it was).
///
/// # Security
/// The session id is cycled before the user is stored (session fixation). The pending
/// authorization is consumed either way.
///
/// ```no_run
/// use axum::extract::{Path, State};
/// use axum::response::Redirect;
/// use rpkit::client::OAuth;
/// use rpkit_axum::{complete_login, AuthError, AuthSession, Callback};
///
/// async fn callback(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession, callback: Callback)
///     -> Result<Redirect, AuthError> {
///     let client = oauth.create_client(&name)?;
///     let user = complete_login(&session, &client, &callback).await?;
///     tracing::info!(provider = %user.provider, "logged in");
///     Ok(Redirect::to("/"))
/// }
/// ```
pub async fn complete_login(
    session: &AuthSession,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<AuthUser, AuthError> {
    let token = authorize_access_token(session, client, callback).await?;
    let user = web::login_user(client, token, unix_now()).await?;
    login(session, &user).await?;
    Ok(user)
}

/// Stores `user` as the logged-in user, under a new session id (session fixation
/// defence). Use it when you complete the login yourself.
///
/// # Errors
/// Session errors; the user is not stored then.
pub async fn login(session: &AuthSession, user: &AuthUser) -> Result<(), AuthError> {
    session.cycle_id().await?;
    // A new CSRF token for the logged-in session: one seen before the login is no proof.
    session.remove(CSRF_KEY).await?;
    session.insert(USER_KEY, user).await?;
    Ok(())
}

/// The session's CSRF token, drawn from the registry's random source and stored under
/// [`CSRF_KEY`] on first use. Render it into the logout form
/// ([`rpkit::client::web::logout_form`]); [`logout_redirect`] checks it.
///
/// # Errors
/// The random source or the session failed.
///
/// ```no_run
/// use axum::extract::State;
/// use axum::response::Html;
/// use rpkit::client::{web::logout_form, OAuth};
/// use rpkit_axum::{csrf_token, AuthError, AuthSession, CurrentUser};
///
/// async fn home(State(oauth): State<OAuth>, session: AuthSession, CurrentUser(user): CurrentUser)
///     -> Result<Html<String>, AuthError> {
///     let token = csrf_token(&session, &oauth).await?;
///     Ok(Html(format!("Hello! {}", logout_form(&user.provider, &token))))
/// }
/// ```
pub async fn csrf_token(session: &AuthSession, oauth: &OAuth) -> Result<String, AuthError> {
    let stored: Option<String> = session.get(CSRF_KEY).await?;
    let token = web::session_csrf_token(oauth, stored.as_deref()).map_err(ClientError::Core)?;
    if token.is_new {
        session.insert(CSRF_KEY, &token.value).await?;
    }
    Ok(token.value)
}

/// The logout request as an axum extractor: a `POST` with an
/// `application/x-www-form-urlencoded` body (at most 4 KiB) whose `csrf_token` field
/// [`logout_redirect`] checks against the session.
///
/// # Errors
/// `405` for any other method (a `GET` — a link, an `<img>`, a prefetch — must not log
/// anyone out); `400` for another content type or an unreadable body. A missing token is
/// not rejected here but by [`logout_redirect`] (`403`).
///
/// ```
/// use axum::extract::FromRequest;
/// use rpkit_axum::LogoutForm;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let post = http::Request::post("/logout/dev")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(axum::body::Body::from("csrf_token=abc"))
///     .unwrap();
/// assert_eq!(LogoutForm::from_request(post, &()).await.unwrap().csrf_token(), Some("abc"));
/// let get = http::Request::get("/logout/dev").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(LogoutForm::from_request(get, &()).await.unwrap_err().status(), http::StatusCode::METHOD_NOT_ALLOWED);
/// # }
/// ```
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

    /// The presented token.
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

impl<S: Send + Sync> FromRequest<S> for LogoutForm {
    type Rejection = AuthError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if request.method() != Method::POST {
            return Err(AuthError::MethodNotAllowed("logout accepts POST only"));
        }
        if !is_form_urlencoded(request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
            return Err(AuthError::BadRequest("a logout must be application/x-www-form-urlencoded"));
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_CSRF_FORM_BYTES)
            .await
            .map_err(|_| AuthError::BadRequest("the logout body is unreadable or too large"))?;
        Ok(LogoutForm { csrf_token: web::csrf_from_form(&body) })
    }
}

/// Whether `form` carries the session's CSRF token (constant-time comparison).
///
/// # Errors
/// Session store failures.
pub async fn check_csrf(session: &AuthSession, form: &LogoutForm) -> Result<bool, AuthError> {
    let expected: Option<String> = session.get(CSRF_KEY).await?;
    Ok(web::check_csrf(expected.as_deref(), form.csrf_token()))
}

/// Replaces the logged-in user's token (after an automatic refresh), keeping the rest.
///
/// # Errors
/// Session errors.
pub async fn update_token(session: &AuthSession, user: &AuthUser, token: Token) -> Result<AuthUser, AuthError> {
    let mut updated = user.clone();
    updated.token = token;
    session.insert(USER_KEY, &updated).await?;
    Ok(updated)
}

/// Logs out locally and builds the provider's logout redirect (Authlib's
/// `logout_redirect`, OpenID Connect RP-Initiated Logout).
///
/// `form` must carry the session's CSRF token ([`csrf_token`]); otherwise this answers
/// [`AuthError::CsrfMismatch`] (`403`) and the session is untouched — a cross-site page
/// cannot log the user out.
///
/// The session is ended first — emptied and deleted from the store, whatever happens
/// next — so the user is logged out here; the pending logout goes to a new session. Then the end-session URL is built with the stored ID token as
/// `id_token_hint` (unless `options` has one), and, when `options` has a
/// `post_logout_redirect_uri`, a fresh `state` that is kept in the session for
/// [`validate_logout_response`].
///
/// # Errors
/// [`rpkit::error::ConfigError::Missing`] when the provider has no end-session endpoint
/// (the local logout has happened); discovery and session errors.
///
/// ```no_run
/// use axum::extract::{Path, State};
/// use rpkit::client::{LogoutOptions, OAuth};
/// use rpkit_axum::{logout_redirect, AuthError, AuthRedirect, AuthSession, LogoutForm};
///
/// // .route("/logout/{name}", axum::routing::post(logout))
/// async fn logout(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession, form: LogoutForm)
///     -> Result<AuthRedirect, AuthError> {
///     let client = oauth.create_client(&name)?;
///     logout_redirect(&session, &client, &form, LogoutOptions::default()).await
/// }
/// ```
pub async fn logout_redirect(
    session: &AuthSession,
    client: &OAuthClient,
    form: &LogoutForm,
    options: LogoutOptions,
) -> Result<AuthRedirect, AuthError> {
    if !check_csrf(session, form).await? {
        return Err(AuthError::CsrfMismatch);
    }
    let user: Option<AuthUser> = session.get(USER_KEY).await?;
    let mut pending: PendingLogouts = session.get(LOGOUT_KEY).await?.unwrap_or_default();
    // Ended in the store at once: the local logout holds even if the provider fails next.
    session.flush().await?;
    let url = web::logout_redirect(client, options, user, &mut pending).await?;
    if !pending.is_empty() {
        session.insert(LOGOUT_KEY, &pending).await?;
    }
    Ok(AuthRedirect::new(url))
}

/// Checks the provider's redirect back after logout (Authlib's
/// `validate_logout_response`): `query` must carry the `state` of a pending logout of
/// this session, for any client of `oauth` (one `post_logout_redirect_uri` can serve
/// every provider). The entry is consumed either way, and its client's pending TTL
/// applies.
///
/// # Errors
/// [`rpkit::StateError`] variants (missing, unknown, expired) and a repeated `state`
/// (all `400`); session errors.
pub async fn validate_logout_response(
    session: &AuthSession,
    oauth: &OAuth,
    query: &str,
) -> Result<PendingLogout, AuthError> {
    let mut pending: PendingLogouts = session.get(LOGOUT_KEY).await?.unwrap_or_default();
    let had_entries = !pending.is_empty();
    let outcome = web::validate_logout_response(oauth, query, &mut pending, unix_now());
    if had_entries {
        if pending.is_empty() {
            session.remove(LOGOUT_KEY).await?;
        } else {
            session.insert(LOGOUT_KEY, &pending).await?;
        }
        session.save().await?;
    }
    Ok(outcome?)
}

/// Handles an OpenID Connect back-channel logout request body (`logout_token=…`): the
/// logout token is validated (signature, `iss`, `aud`, `iat`, `events`, no `nonce`,
/// `sid`/`sub`, `jti` replay) and, when valid, the sessions it names are recorded in
/// `revocations` so that [`CurrentUser`](crate::CurrentUser) ends them.
///
/// Answer the provider with [`BackchannelResponse`].
///
/// # Errors
/// Every rejection of [`OAuthClient::validate_backchannel_logout`].
pub async fn backchannel_logout(
    client: &OAuthClient,
    revocations: &Revocations,
    body: &[u8],
) -> Result<LogoutTarget, AuthError> {
    Ok(web::backchannel_logout(client, revocations, body, unix_now()).await?)
}

/// The answer to a back-channel logout request (Back-Channel Logout §2.8): `200` when
/// the token was valid, else `400 {"error":"invalid_request"}`; always
/// `Cache-Control: no-store`.
///
/// ```
/// use axum::response::IntoResponse;
/// use rpkit_axum::{AuthError, BackchannelResponse};
/// let bad: Result<(), AuthError> = Err(AuthError::BadRequest("no body"));
/// let response = BackchannelResponse::from(&bad).into_response();
/// assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackchannelResponse {
    ok: bool,
}

impl<T> From<&Result<T, AuthError>> for BackchannelResponse {
    fn from(outcome: &Result<T, AuthError>) -> Self {
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "back-channel logout rejected");
        }
        BackchannelResponse { ok: outcome.is_ok() }
    }
}

impl IntoResponse for BackchannelResponse {
    fn into_response(self) -> Response {
        let mut response = if self.ok {
            StatusCode::OK.into_response()
        } else {
            let mut r = (StatusCode::BAD_REQUEST, r#"{"error":"invalid_request"}"#).into_response();
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        };
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The authorization response as an axum extractor: the query of a `GET` callback, or
/// the `application/x-www-form-urlencoded` body of a `response_mode=form_post` `POST`
/// (at most 64 KiB), parsed strictly ([`CallbackParams`]).
///
/// # Errors
/// Rejects with `405` for a method other than `GET` and `POST` — `HEAD` included: a link
/// prefetcher's `HEAD` must not consume the pending authorization — and with `400` for
/// another content type, an unreadable or oversized body, or parameters
/// [`CallbackParams`] refuses (repeated, not UTF-8, too many).
///
/// # `form_post` and `SameSite=Lax` cookies
/// A `form_post` callback is a cross-site `POST` from the provider's page, and browsers
/// do not send `SameSite=Lax` cookies with it, so the session (and its pending
/// authorization) is missing. [`form_post_relay`] answers such a request with a small
/// page that re-posts the same fields from our own origin, which carries the cookie.
///
/// ```
/// use axum::extract::FromRequest;
/// use rpkit_axum::Callback;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let get = http::Request::get("/auth/corp/callback?code=abc&state=xyz").body(axum::body::Body::empty()).unwrap();
/// let callback = Callback::from_request(get, &()).await.unwrap();
/// assert_eq!(callback.params().state(), Some("xyz"));
///
/// let post = http::Request::post("/auth/corp/callback")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(axum::body::Body::from("code=abc&state=xyz"))
///     .unwrap();
/// let callback = Callback::from_request(post, &()).await.unwrap();
/// assert!(callback.is_form_post());
///
/// let repeated = http::Request::get("/cb?state=a&state=b").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(Callback::from_request(repeated, &()).await.unwrap_err().status(), http::StatusCode::BAD_REQUEST);
/// # }
/// ```
#[derive(Debug)]
pub struct Callback(CallbackInput);

impl Callback {
    /// Wraps parameters parsed elsewhere (a `GET` callback).
    pub fn from_params(params: CallbackParams) -> Self {
        Callback(CallbackInput::from_params(params))
    }

    /// The framework-neutral callback.
    pub fn into_inner(self) -> CallbackInput {
        self.0
    }
}

/// [`params`](CallbackInput::params), [`is_form_post`](CallbackInput::is_form_post),
/// [`is_relayed`](CallbackInput::is_relayed).
impl Deref for Callback {
    type Target = CallbackInput;

    fn deref(&self) -> &CallbackInput {
        &self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for Callback {
    type Rejection = AuthError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bad = |e: rpkit::error::CallbackError| AuthError::Client(ClientError::Core(e.into()));
        // Not HEAD: axum routes it to GET handlers, and a prefetcher's HEAD would spend the
        // pending state before the browser's real GET.
        if request.method() == Method::GET {
            let params = CallbackParams::from_uri(request.uri()).map_err(bad)?;
            return Ok(Callback::from_params(params));
        }
        if request.method() != Method::POST {
            return Err(AuthError::MethodNotAllowed("the callback accepts GET and POST only"));
        }
        let form = is_form_urlencoded(request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
        if !form {
            return Err(AuthError::BadRequest("a form_post callback must be application/x-www-form-urlencoded"));
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_CALLBACK_BYTES)
            .await
            .map_err(|_| AuthError::BadRequest("the callback body is unreadable or too large"))?;
        CallbackInput::from_form_body(&body).map(Callback).map_err(bad)
    }
}

/// For a `form_post` callback that arrived without the session (see [`Callback`]),
/// a page that re-posts the same fields to `action` from our origin, so the browser
/// sends the `SameSite=Lax` session cookie. Returns `None` when no relay is needed: a
/// `GET`, an already relayed `POST`, or a session that holds pending authorizations.
///
/// Every value is HTML-escaped; the page is `no-store` and sends no `Referer`.
///
/// # Errors
/// Session errors.
pub async fn form_post_relay(
    session: &AuthSession,
    callback: &Callback,
    action: &str,
) -> Result<Option<Response>, AuthError> {
    if !callback.is_form_post() || callback.is_relayed() {
        return Ok(None);
    }
    let pending: Option<PendingSet> = session.get(PENDING_KEY).await?;
    let Some(page) = web::form_post_relay_page(callback, pending.as_ref(), action) else {
        return Ok(None);
    };
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(Some(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn extract(request: http::Request<Body>) -> Result<Callback, AuthError> {
        Callback::from_request(request, &()).await
    }

    #[tokio::test]
    async fn get_callback_reads_the_query() {
        let cb = extract(http::Request::get("/cb?code=c&state=s").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(cb.params().code(), Some("c"));
        assert!(!cb.is_form_post());
    }

    #[tokio::test]
    async fn form_post_callback_reads_the_body_and_strips_the_relay_marker() {
        let request = http::Request::post("/cb")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
            .body(Body::from("code=c&state=s&rpkit_relay=1"))
            .unwrap();
        let cb = extract(request).await.unwrap();
        assert!(cb.is_form_post());
        assert!(cb.is_relayed());
        assert_eq!(cb.params().state(), Some("s"));
        assert!(!cb.params().contains(rpkit::client::web::RELAY_FIELD));
    }

    #[tokio::test]
    async fn callback_with_repeated_state_is_rejected() {
        let err = extract(http::Request::get("/cb?state=a&state=b").body(Body::empty()).unwrap()).await.unwrap_err();
        assert!(matches!(
            err,
            AuthError::Client(ClientError::Core(rpkit::Error::Callback(
                rpkit::error::CallbackError::DuplicateParameter { .. }
            )))
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn post_callback_of_another_content_type_is_rejected() {
        let request = http::Request::post("/cb")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from("{\"code\":\"c\"}"))
            .unwrap();
        assert!(matches!(extract(request).await.unwrap_err(), AuthError::BadRequest(_)));
    }

    #[tokio::test]
    async fn oversized_form_post_is_rejected() {
        let request = http::Request::post("/cb")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("code={}", "a".repeat(MAX_CALLBACK_BYTES + 1))))
            .unwrap();
        assert!(matches!(extract(request).await.unwrap_err(), AuthError::BadRequest(_)));
    }

    #[tokio::test]
    async fn other_methods_are_rejected() {
        let request = http::Request::put("/cb").body(Body::empty()).unwrap();
        assert!(matches!(extract(request).await.unwrap_err(), AuthError::MethodNotAllowed(_)));
    }

    #[tokio::test]
    async fn head_callback_is_405_and_reads_nothing() {
        let request = http::Request::head("/cb?code=c&state=s").body(Body::empty()).unwrap();
        let err = extract(request).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn auth_redirect_debug_does_not_contain_the_state_nonce_or_challenge() {
        let url = url::Url::parse(
            "https://op.example/authorize?response_type=code&client_id=c&state=STATE-SECRET&nonce=NONCE-SECRET\
             &code_challenge=CHALLENGE-SECRET&code_challenge_method=S256",
        )
        .unwrap();
        let debug = format!("{:?}", AuthRedirect::new(url));
        for secret in ["STATE-SECRET", "NONCE-SECRET", "CHALLENGE-SECRET"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("https://op.example/authorize"), "{debug}");
        assert!(debug.contains("state=[redacted]"), "{debug}");
    }

    #[tokio::test]
    async fn logout_form_by_get_is_405() {
        let request = http::Request::get("/logout/dev?csrf_token=x").body(Body::empty()).unwrap();
        let err = LogoutForm::from_request(request, &()).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn logout_form_with_a_repeated_token_presents_none() {
        let request = http::Request::post("/logout/dev")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf_token=a&csrf_token=b"))
            .unwrap();
        assert_eq!(LogoutForm::from_request(request, &()).await.unwrap().csrf_token(), None);
    }
}
