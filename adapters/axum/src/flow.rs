//! The login and logout steps over an [`AuthSession`]: each reads the session, runs the
//! step of [`rpkit::client::web`] of the same name, and writes back the edit it returns.

use crate::error::{into_axum, AuthError};
use crate::session::AuthSession;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use rpkit::callback::MAX_CALLBACK_BYTES;
use rpkit::client::web::{self, AuthUser, CallbackInput, Revocations, MAX_CSRF_FORM_BYTES};
use rpkit::client::{AuthorizeOptions, LogoutOptions, OAuth, OAuthClient};
use rpkit::logout::{LogoutTarget, PendingLogout};
use rpkit::Token;
use std::fmt;
use std::ops::Deref;

/// A `302 Found` to the provider (authorization or end-session endpoint):
/// [`web::redirect_response`] — never cached, no `Referer`.
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
        into_axum(web::redirect_response(&self.url))
    }
}

/// Starts a login ([`web::authorize_redirect`]): the pending authorization goes to the
/// session, the `302` to the provider is returned.
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
    let values = session.values().await?;
    session.settle(web::authorize_redirect(client, values, options).await).await.map(AuthRedirect::new)
}

/// Handles the callback ([`web::authorize_access_token`]) and returns the token; the
/// pending authorization is consumed whatever the outcome. See [`complete_login`] to log
/// the user in.
///
/// # Errors
/// Every rejection of [`OAuthClient::authorize_access_token`]; session errors.
pub async fn authorize_access_token(
    session: &AuthSession,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<Token, AuthError> {
    let values = session.values().await?;
    session.settle(web::authorize_access_token(client, values, callback).await).await
}

/// Handles the callback and logs the user in ([`web::complete_login`]): only when every
/// check passed does the session get a new id and the [`AuthUser`].
///
/// # Errors
/// As [`authorize_access_token`], plus refresh and UserInfo errors; the session then
/// holds no new user.
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
    let values = session.values().await?;
    session.settle(web::complete_login(client, values, callback).await).await
}

/// Stores `user` as the logged-in user ([`web::login_edit`]: a new session id, a new
/// CSRF token). Use it when you complete the login yourself.
///
/// # Errors
/// Session errors; the user is not stored then.
pub async fn login(session: &AuthSession, user: &AuthUser) -> Result<(), AuthError> {
    Ok(session.apply(web::login_edit(user)).await?)
}

/// The session's CSRF token ([`web::session_csrf_token`]), stored on first use. Render it
/// into the logout form ([`rpkit::client::web::logout_form`]); [`logout_redirect`]
/// checks it.
///
/// # Errors
/// The random source or the session failed.
pub async fn csrf_token(session: &AuthSession, oauth: &OAuth) -> Result<String, AuthError> {
    let values = session.values().await?;
    session.settle(web::session_csrf_token(oauth, &values)).await
}

/// The logout request as an axum extractor ([`web::LogoutForm::from_parts`]): a `POST`
/// form whose `csrf_token` [`logout_redirect`] checks; `405` for a `GET`.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutForm(pub web::LogoutForm);

impl Deref for LogoutForm {
    type Target = web::LogoutForm;
    fn deref(&self) -> &web::LogoutForm {
        &self.0
    }
}

/// The method, the `Content-Type` and the body (`None` when unreadable or over `limit`).
async fn request_parts(request: Request, limit: usize) -> (String, Option<String>, Option<String>, Option<Vec<u8>>) {
    let method = request.method().as_str().to_owned();
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let query = request.uri().query().map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), limit).await.ok().map(|b| b.to_vec());
    (method, content_type, query, body)
}

impl<S: Send + Sync> FromRequest<S> for LogoutForm {
    type Rejection = AuthError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (method, content_type, _, body) = request_parts(request, MAX_CSRF_FORM_BYTES).await;
        Ok(LogoutForm(web::LogoutForm::from_parts(&method, content_type.as_deref(), body.as_deref())?))
    }
}

/// Whether `form` carries the session's CSRF token (constant-time comparison).
///
/// # Errors
/// Session store failures.
pub async fn check_csrf(session: &AuthSession, form: &LogoutForm) -> Result<bool, AuthError> {
    let values = session.values().await?;
    Ok(web::check_csrf(values.csrf.as_deref(), form.csrf_token()))
}

/// Replaces the logged-in user's token (after an automatic refresh), keeping the rest.
///
/// # Errors
/// Session errors.
pub async fn update_token(session: &AuthSession, user: &AuthUser, token: Token) -> Result<AuthUser, AuthError> {
    let (updated, edit) = web::update_token(user, token);
    session.apply(edit).await?;
    Ok(updated)
}

/// Logs out locally and builds the provider's logout redirect
/// ([`web::logout_redirect`]): `form` must carry the session's CSRF token (else `403` and
/// the session is untouched); then the session ends, whatever the provider does.
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
    let values = session.values().await?;
    session.settle(web::logout_redirect(client, values, form, options).await).await.map(AuthRedirect::new)
}

/// Checks the provider's redirect back after logout ([`web::validate_logout_response`]):
/// `query` must carry the `state` of a pending logout of this session.
///
/// # Errors
/// [`rpkit::StateError`] variants — missing, unknown, expired, repeated — all `400`;
/// session errors.
pub async fn validate_logout_response(
    session: &AuthSession,
    oauth: &OAuth,
    query: &str,
) -> Result<PendingLogout, AuthError> {
    let values = session.values().await?;
    session.settle(web::validate_logout_response(oauth, values, query)).await
}

/// Handles an OpenID Connect back-channel logout request body
/// ([`web::backchannel_logout`]); the sessions it names end at the next request
/// ([`CurrentUser`](crate::CurrentUser)). Answer with [`BackchannelResponse`].
///
/// # Errors
/// Every rejection of [`OAuthClient::validate_backchannel_logout`].
pub async fn backchannel_logout(
    client: &OAuthClient,
    revocations: &Revocations,
    body: &[u8],
) -> Result<LogoutTarget, AuthError> {
    Ok(web::backchannel_logout(client, revocations, body).await?)
}

/// The answer to a back-channel logout request ([`web::backchannel_http_response`]):
/// `200`, or `400 {"error":"invalid_request"}`; always `no-store`. The provider never
/// learns why a logout token was refused, and nothing is logged here: the handler holds
/// the outcome and logs what it wants (the demo logs both a logout and a refusal).
///
/// ```
/// use axum::response::IntoResponse;
/// use rpkit::client::web::WebError;
/// use rpkit_axum::{AuthError, BackchannelResponse};
/// let bad: Result<(), AuthError> = Err(WebError::BadRequest("no body").into());
/// let response = BackchannelResponse::from(&bad).into_response();
/// assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug)]
pub struct BackchannelResponse(http::Response<Vec<u8>>);

impl<T> From<&Result<T, AuthError>> for BackchannelResponse {
    fn from(outcome: &Result<T, AuthError>) -> Self {
        BackchannelResponse(web::backchannel_http_response(outcome))
    }
}

impl IntoResponse for BackchannelResponse {
    fn into_response(self) -> Response {
        into_axum(self.0)
    }
}

/// The authorization response as an axum extractor, by the rules of
/// [`CallbackInput::from_parts`]: the query of a `GET`, or the form body of a
/// `response_mode=form_post` `POST` (at most 64 KiB); `405` for any other method —
/// `HEAD` included — and `400` for anything else unusable.
///
/// # `form_post` and `SameSite=Lax` cookies
/// A `form_post` callback is a cross-site `POST`, which does not carry a `SameSite=Lax`
/// session cookie: answer it with [`form_post_relay`], a page that re-posts the same
/// fields from our own origin.
///
/// ```
/// use axum::extract::FromRequest;
/// use rpkit_axum::Callback;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let get = http::Request::get("/auth/corp/callback?code=abc&state=xyz").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(Callback::from_request(get, &()).await.unwrap().params().state(), Some("xyz"));
/// let head = http::Request::head("/cb?code=abc&state=xyz").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(Callback::from_request(head, &()).await.unwrap_err().status(), http::StatusCode::METHOD_NOT_ALLOWED);
/// let repeated = http::Request::get("/cb?state=a&state=b").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(Callback::from_request(repeated, &()).await.unwrap_err().status(), http::StatusCode::BAD_REQUEST);
/// # }
/// ```
#[derive(Debug)]
pub struct Callback(pub CallbackInput);

impl Deref for Callback {
    type Target = CallbackInput;
    fn deref(&self) -> &CallbackInput {
        &self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for Callback {
    type Rejection = AuthError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (method, content_type, query, body) = request_parts(request, MAX_CALLBACK_BYTES).await;
        let input = CallbackInput::from_parts(&method, content_type.as_deref(), query.as_deref(), body.as_deref())?;
        Ok(Callback(input))
    }
}

/// For a `form_post` callback that arrived without the session (see [`Callback`]), the
/// page that re-posts it from our origin ([`web::form_post_relay`]); `None` when no relay
/// is needed.
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
    let values = session.values().await?;
    Ok(web::form_post_relay(callback, &values, action).map(into_axum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::StatusCode;
    use rpkit::client::web::WebError;

    async fn extract(request: http::Request<Body>) -> Result<Callback, AuthError> {
        Callback::from_request(request, &()).await
    }

    #[tokio::test]
    async fn form_post_callback_reads_the_body_and_strips_the_relay_marker() {
        let request = http::Request::post("/cb")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
            .body(Body::from("code=c&state=s&rpkit_relay=1"))
            .unwrap();
        let cb = extract(request).await.unwrap();
        assert!(cb.is_form_post() && cb.is_relayed());
        assert_eq!(cb.params().state(), Some("s"));
        assert!(!cb.params().contains(rpkit::client::web::RELAY_FIELD));
    }

    #[tokio::test]
    async fn oversized_or_json_form_post_is_400_and_put_or_head_405() {
        let form = |body: String, ct: &str| http::Request::post("/cb").header(CONTENT_TYPE, ct).body(Body::from(body));
        let big = form(format!("code={}", "a".repeat(MAX_CALLBACK_BYTES + 1)), "application/x-www-form-urlencoded");
        assert!(matches!(extract(big.unwrap()).await.unwrap_err(), AuthError::Web(WebError::BadRequest(_))));
        let json = form("{}".into(), "application/json").unwrap();
        assert_eq!(extract(json).await.unwrap_err().status(), StatusCode::BAD_REQUEST);
        for request in [http::Request::put("/cb"), http::Request::head("/cb?code=c&state=s")] {
            let err = extract(request.body(Body::empty()).unwrap()).await.unwrap_err();
            assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
        }
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
        assert!(debug.contains("state=[redacted]"), "{debug}");
    }

    #[tokio::test]
    async fn logout_form_by_get_is_405_and_a_repeated_token_presents_none() {
        let request = http::Request::get("/logout/dev?csrf_token=x").body(Body::empty()).unwrap();
        assert_eq!(LogoutForm::from_request(request, &()).await.unwrap_err().status(), StatusCode::METHOD_NOT_ALLOWED);
        let request = http::Request::post("/logout/dev")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf_token=a&csrf_token=b"))
            .unwrap();
        assert_eq!(LogoutForm::from_request(request, &()).await.unwrap().csrf_token(), None);
    }
}
