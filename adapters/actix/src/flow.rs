//! The login and logout steps, named as in Authlib, over an actix-session [`Session`].

use crate::error::AuthError;
use crate::session;
use crate::user::unix_now;
use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Responder};
use rpkit::authorize::PendingSet;
use rpkit::callback::{CallbackError, CallbackParams, MAX_CALLBACK_BYTES};
use rpkit::client::web::{
    self as rpweb, is_form_urlencoded, AuthUser, CallbackInput, ErrorResponse, Revocations, CSRF_KEY, LOGOUT_KEY,
    MAX_CSRF_FORM_BYTES, PENDING_KEY, USER_KEY,
};
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::logout::{LogoutTarget, PendingLogout, PendingLogouts};
use rpkit::Token;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

/// A `302 Found` to the provider (authorization or end-session endpoint), never cached,
/// sending no `Referer` (the URL carries the `state`).
///
/// ```
/// let url = url::Url::parse("https://op.example/authorize?state=x").unwrap();
/// let response = rpkit_actix::redirect_to_provider(&url);
/// assert_eq!(response.status(), actix_web::http::StatusCode::FOUND);
/// assert_eq!(response.headers().get("location").unwrap(), "https://op.example/authorize?state=x");
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// ```
pub fn redirect_to_provider(url: &(impl AsRef<str> + ?Sized)) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, url.as_ref()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .finish()
}

/// Starts a login (Authlib's `authorize_redirect`): builds the authorization URL (state,
/// nonce, PKCE S256), records the pending authorization in the session (bounded,
/// expiring) and returns the `302` to send.
///
/// # Errors
/// Configuration, discovery and random-source errors (nothing is stored then); session
/// serialization errors.
///
/// ```no_run
/// use actix_session::Session;
/// use actix_web::{web, HttpResponse};
/// use rpkit::client::{AuthorizeOptions, OAuth};
/// use rpkit_actix::{authorize_redirect, AuthError};
///
/// async fn login(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session)
///     -> Result<HttpResponse, AuthError> {
///     let client = oauth.create_client(&name)?;
///     let options = AuthorizeOptions::redirect_uri(format!("https://app.example/auth/{name}/callback"));
///     authorize_redirect(&session, &client, &options).await
/// }
/// ```
pub async fn authorize_redirect(
    session: &Session,
    client: &OAuthClient,
    options: &AuthorizeOptions,
) -> Result<HttpResponse, AuthError> {
    let mut pending: PendingSet = session::get(session, PENDING_KEY).unwrap_or_default();
    let url = client.authorize_redirect(&mut pending, options).await?;
    session::insert(session, PENDING_KEY, &pending)?;
    Ok(redirect_to_provider(&url))
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
    session: &Session,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<Token, AuthError> {
    let mut pending: PendingSet = session::get(session, PENDING_KEY).unwrap_or_default();
    let had_entries = !pending.is_empty();
    let outcome = client.authorize_access_token(&mut pending, callback.params()).await;
    if had_entries {
        if pending.is_empty() {
            session.remove(PENDING_KEY);
        } else {
            session::insert(session, PENDING_KEY, &pending)?;
        }
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
/// The session id is renewed before the user is stored (session fixation). The pending
/// authorization is consumed either way.
///
/// ```no_run
/// use actix_session::Session;
/// use actix_web::{http::header::LOCATION, web, HttpResponse};
/// use rpkit::client::OAuth;
/// use rpkit_actix::{complete_login, AuthError, Callback};
///
/// async fn callback(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session, callback: Callback)
///     -> Result<HttpResponse, AuthError> {
///     let client = oauth.create_client(&name)?;
///     let user = complete_login(&session, &client, &callback).await?;
///     tracing::info!(provider = %user.provider, "logged in");
///     Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish())
/// }
/// ```
pub async fn complete_login(
    session: &Session,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<AuthUser, AuthError> {
    let token = authorize_access_token(session, client, callback).await?;
    let user = rpweb::login_user(client, token, unix_now()).await?;
    login(session, &user)?;
    Ok(user)
}

/// Stores `user` as the logged-in user, under a new session id (session fixation
/// defence). Use it when you complete the login yourself.
///
/// # Errors
/// Session serialization errors; the user is not stored then.
pub fn login(session: &Session, user: &AuthUser) -> Result<(), AuthError> {
    session.renew();
    // A new CSRF token for the logged-in session: one seen before the login is no proof.
    session.remove(CSRF_KEY);
    session::insert(session, USER_KEY, user)?;
    Ok(())
}

/// The session's CSRF token, drawn from the registry's random source and stored under
/// [`CSRF_KEY`] on first use. Render it into the logout form
/// ([`rpkit::client::web::logout_form`]); [`logout_redirect`] checks it.
///
/// # Errors
/// The random source failed, or the session could not be written.
///
/// ```no_run
/// use actix_session::Session;
/// use actix_web::{web, HttpResponse};
/// use rpkit::client::{web::logout_form, OAuth};
/// use rpkit_actix::{csrf_token, AuthError, CurrentUser};
///
/// async fn home(oauth: web::Data<OAuth>, session: Session, CurrentUser(user): CurrentUser)
///     -> Result<HttpResponse, AuthError> {
///     let token = csrf_token(&session, &oauth)?;
///     Ok(HttpResponse::Ok().body(format!("Hello! {}", logout_form(&user.provider, &token))))
/// }
/// ```
pub fn csrf_token(session: &Session, oauth: &OAuth) -> Result<String, AuthError> {
    let stored: Option<String> = session::get(session, CSRF_KEY);
    let token = rpweb::session_csrf_token(oauth, stored.as_deref()).map_err(ClientError::Core)?;
    if token.is_new {
        session::insert(session, CSRF_KEY, &token.value)?;
    }
    Ok(token.value)
}

/// Whether `form` carries the session's CSRF token (constant-time comparison).
pub fn check_csrf(session: &Session, form: &LogoutForm) -> bool {
    let expected: Option<String> = session::get(session, CSRF_KEY);
    rpweb::check_csrf(expected.as_deref(), form.csrf_token())
}

/// The logout request as an actix extractor: a `POST` with an
/// `application/x-www-form-urlencoded` body (at most 4 KiB) whose `csrf_token` field
/// [`logout_redirect`] checks against the session.
///
/// # Errors
/// `405` for any other method (a `GET` — a link, an `<img>`, a prefetch — must not log
/// anyone out); `400` for another content type or an unreadable body. A missing token is
/// not rejected here but by [`logout_redirect`] (`403`).
///
/// ```
/// use actix_web::test::TestRequest;
/// use actix_web::FromRequest;
/// use rpkit_actix::LogoutForm;
///
/// # actix_web::rt::System::new().block_on(async {
/// let (req, mut payload) = TestRequest::post()
///     .uri("/logout/dev")
///     .insert_header(("content-type", "application/x-www-form-urlencoded"))
///     .set_payload("csrf_token=abc")
///     .to_http_parts();
/// assert_eq!(LogoutForm::from_request(&req, &mut payload).await.unwrap().csrf_token(), Some("abc"));
/// let (req, mut payload) = TestRequest::get().uri("/logout/dev").to_http_parts();
/// let err = LogoutForm::from_request(&req, &mut payload).await.unwrap_err();
/// assert_eq!(err.status(), actix_web::http::StatusCode::METHOD_NOT_ALLOWED);
/// # });
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

impl FromRequest for LogoutForm {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.method() != Method::POST {
            return Box::pin(std::future::ready(Err(AuthError::MethodNotAllowed("logout accepts POST only"))));
        }
        if !is_form_urlencoded(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
            return Box::pin(std::future::ready(Err(AuthError::BadRequest(
                "a logout must be application/x-www-form-urlencoded",
            ))));
        }
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let payload = web::Payload::from_request(&req, &mut payload)
                .await
                .map_err(|_| AuthError::BadRequest("the logout body is unreadable"))?;
            let body = match payload.to_bytes_limited(MAX_CSRF_FORM_BYTES).await {
                Ok(Ok(body)) => body,
                _ => return Err(AuthError::BadRequest("the logout body is unreadable or too large")),
            };
            Ok(LogoutForm { csrf_token: rpweb::csrf_from_form(&body) })
        })
    }
}

/// Replaces the logged-in user's token (after an automatic refresh), keeping the rest.
///
/// # Errors
/// Session serialization errors.
pub fn update_token(session: &Session, user: &AuthUser, token: Token) -> Result<AuthUser, AuthError> {
    let mut updated = user.clone();
    updated.token = token;
    session::insert(session, USER_KEY, &updated)?;
    Ok(updated)
}

/// Logs out locally and builds the provider's logout redirect (Authlib's
/// `logout_redirect`, OpenID Connect RP-Initiated Logout).
///
/// `form` must carry the session's CSRF token ([`csrf_token`]); otherwise this answers
/// [`AuthError::CsrfMismatch`] (`403`) and the session is untouched — a cross-site page
/// cannot log the user out.
///
/// The session is emptied first — whatever happens next, the user is logged out here —
/// and given a new id. Then the end-session URL is built with the stored ID token as
/// `id_token_hint` (unless `options` has one), and, when `options` has a
/// `post_logout_redirect_uri`, a fresh `state` that is kept in the session for
/// [`validate_logout_response`].
///
/// # Errors
/// [`rpkit::error::ConfigError::Missing`] when the provider has no end-session endpoint
/// (the local logout has happened); discovery and session errors.
///
/// ```no_run
/// use actix_session::Session;
/// use actix_web::{web, HttpResponse};
/// use rpkit::client::{LogoutOptions, OAuth};
/// use rpkit_actix::{logout_redirect, AuthError, LogoutForm};
///
/// // .service(web::resource("/logout/{name}").route(web::post().to(logout)))
/// async fn logout(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session, form: LogoutForm)
///     -> Result<HttpResponse, AuthError> {
///     let client = oauth.create_client(&name)?;
///     logout_redirect(&session, &client, &form, LogoutOptions::default()).await
/// }
/// ```
pub async fn logout_redirect(
    session: &Session,
    client: &OAuthClient,
    form: &LogoutForm,
    options: LogoutOptions,
) -> Result<HttpResponse, AuthError> {
    if !check_csrf(session, form) {
        return Err(AuthError::CsrfMismatch);
    }
    let user: Option<AuthUser> = session::get(session, USER_KEY);
    let mut pending: PendingLogouts = session::get(session, LOGOUT_KEY).unwrap_or_default();
    session.clear();
    session.renew();
    let url = rpweb::logout_redirect(client, options, user, &mut pending).await?;
    if !pending.is_empty() {
        session::insert(session, LOGOUT_KEY, &pending)?;
    }
    Ok(redirect_to_provider(&url))
}

/// Checks the provider's redirect back after logout (Authlib's
/// `validate_logout_response`): `query` must carry the `state` of a pending logout of
/// this session, for any client of `oauth` (one `post_logout_redirect_uri` can serve
/// every provider). The matching entry is consumed either way, and its client's pending
/// TTL applies. States are compared in constant time.
///
/// # Errors
/// [`rpkit::StateError`] variants (missing, unknown, expired) and a repeated `state`
/// ([`AuthError::BadRequest`]), all `400`.
///
/// ```no_run
/// use actix_session::Session;
/// use actix_web::{web, HttpRequest, HttpResponse};
/// use rpkit::client::OAuth;
/// use rpkit_actix::{validate_logout_response, AuthError};
///
/// async fn logged_out(oauth: web::Data<OAuth>, req: HttpRequest, session: Session) -> Result<HttpResponse, AuthError> {
///     let done = validate_logout_response(&session, &oauth, req.query_string())?;
///     Ok(HttpResponse::Ok().body(format!("logged out of {}", done.client)))
/// }
/// ```
pub fn validate_logout_response(session: &Session, oauth: &OAuth, query: &str) -> Result<PendingLogout, AuthError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let states = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "state");
    if states.count() > 1 {
        return Err(AuthError::BadRequest("the logout response repeats `state`"));
    }
    let mut pending: PendingLogouts = session::get(session, LOGOUT_KEY).unwrap_or_default();
    let had_entries = !pending.is_empty();
    let outcome = rpweb::validate_logout_response(oauth, query, &mut pending, unix_now());
    if had_entries {
        if pending.is_empty() {
            session.remove(LOGOUT_KEY);
        } else {
            session::insert(session, LOGOUT_KEY, &pending)?;
        }
    }
    outcome.map_err(logout_error)
}

/// A repeated `state` is the browser's bad input, not a garbled provider answer.
fn logout_error(e: ClientError) -> AuthError {
    match e {
        ClientError::Core(rpkit::Error::Malformed { .. }) => {
            AuthError::BadRequest("the logout response repeats `state`")
        }
        other => AuthError::Client(other),
    }
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
///
/// ```no_run
/// use actix_web::web;
/// use rpkit::client::OAuth;
/// use rpkit_actix::{backchannel_logout, BackchannelResponse, Revocations};
///
/// async fn backchannel(
///     oauth: web::Data<OAuth>,
///     revocations: web::Data<Revocations>,
///     name: web::Path<String>,
///     body: web::Bytes,
/// ) -> BackchannelResponse {
///     let outcome = match oauth.create_client(&name) {
///         Ok(client) => backchannel_logout(&client, &revocations, &body).await.map(drop),
///         Err(e) => Err(e.into()),
///     };
///     BackchannelResponse::from(&outcome)
/// }
/// ```
pub async fn backchannel_logout(
    client: &OAuthClient,
    revocations: &Revocations,
    body: &[u8],
) -> Result<LogoutTarget, AuthError> {
    Ok(rpweb::backchannel_logout(client, revocations, body, unix_now()).await?)
}

/// The answer to a back-channel logout request (Back-Channel Logout §2.8): `200` when
/// the token was valid, else `400 {"error":"invalid_request"}`; always
/// `Cache-Control: no-store`.
///
/// ```
/// use actix_web::http::StatusCode;
/// use rpkit_actix::{AuthError, BackchannelResponse};
///
/// let bad: Result<(), AuthError> = Err(AuthError::BadRequest("no body"));
/// let response = BackchannelResponse::from(&bad).into_response();
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
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

impl BackchannelResponse {
    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        if self.ok {
            HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).finish()
        } else {
            HttpResponse::BadRequest()
                .insert_header((CACHE_CONTROL, "no-store"))
                .insert_header((CONTENT_TYPE, ErrorResponse::CONTENT_TYPE))
                .body(ErrorResponse::new(400, "invalid_request").body())
        }
    }
}

impl Responder for BackchannelResponse {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.into_response()
    }
}

/// The authorization response as an actix extractor: the query of a `GET` callback, or
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
/// use actix_web::test::TestRequest;
/// use actix_web::FromRequest;
/// use rpkit_actix::Callback;
///
/// # actix_web::rt::System::new().block_on(async {
/// let (req, mut payload) = TestRequest::get().uri("/auth/dev/callback?code=c&state=s").to_http_parts();
/// let callback = Callback::from_request(&req, &mut payload).await.unwrap();
/// assert_eq!(callback.params().code(), Some("c"));
/// assert!(!callback.is_form_post());
/// # });
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

    /// Parses a `form_post` body, taking out the relay marker.
    fn from_form(body: &[u8]) -> Result<Self, AuthError> {
        CallbackInput::from_form_body(body).map(Callback).map_err(bad_callback)
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

fn bad_callback(e: CallbackError) -> AuthError {
    AuthError::Client(ClientError::Core(e.into()))
}

impl FromRequest for Callback {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let method = req.method().clone();
        // Not HEAD: a prefetcher's HEAD would spend the pending state before the
        // browser's real GET.
        if method == Method::GET {
            let outcome =
                CallbackParams::from_query(req.query_string()).map(Callback::from_params).map_err(bad_callback);
            return Box::pin(std::future::ready(outcome));
        }
        if method != Method::POST {
            return Box::pin(std::future::ready(Err(AuthError::MethodNotAllowed(
                "the callback accepts GET and POST only",
            ))));
        }
        if !is_form_urlencoded(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
            return Box::pin(std::future::ready(Err(AuthError::BadRequest(
                "a form_post callback must be application/x-www-form-urlencoded",
            ))));
        }
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let payload = web::Payload::from_request(&req, &mut payload)
                .await
                .map_err(|_| AuthError::BadRequest("the callback body is unreadable"))?;
            let body = match payload.to_bytes_limited(MAX_CALLBACK_BYTES).await {
                Ok(Ok(body)) => body,
                _ => return Err(AuthError::BadRequest("the callback body is unreadable or too large")),
            };
            Callback::from_form(&body)
        })
    }
}

/// For a `form_post` callback that arrived without the session (see [`Callback`]),
/// a page that re-posts the same fields to `action` from our origin, so the browser
/// sends the `SameSite=Lax` session cookie. Returns `None` when no relay is needed: a
/// `GET`, an already relayed `POST`, or a session that holds pending authorizations.
///
/// Every value is HTML-escaped; the page is `no-store` and sends no `Referer`.
///
/// ```
/// use actix_web::test::TestRequest;
/// use actix_web::FromRequest;
/// use actix_session::SessionExt;
/// use rpkit_actix::{form_post_relay, Callback};
///
/// # actix_web::rt::System::new().block_on(async {
/// let (req, mut payload) = TestRequest::post()
///     .uri("/auth/dev/callback")
///     .insert_header(("content-type", "application/x-www-form-urlencoded"))
///     .set_payload("code=c&state=%3Cs%3E")
///     .to_http_parts();
/// let callback = Callback::from_request(&req, &mut payload).await.unwrap();
/// let page = form_post_relay(&req.get_session(), &callback, "/auth/dev/callback").unwrap();
/// assert_eq!(page.status(), actix_web::http::StatusCode::OK);
/// # });
/// ```
pub fn form_post_relay(session: &Session, callback: &Callback, action: &str) -> Option<HttpResponse> {
    if !callback.is_form_post() || callback.is_relayed() {
        return None;
    }
    let pending: Option<PendingSet> = session::get(session, PENDING_KEY);
    let page = rpweb::form_post_relay_page(callback, pending.as_ref(), action)?;
    Some(
        HttpResponse::build(StatusCode::OK)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((REFERRER_POLICY, "no-referrer"))
            .body(page),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_session::SessionExt;
    use actix_web::body::MessageBody;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    async fn extract(request: TestRequest) -> Result<Callback, AuthError> {
        let (req, mut payload) = request.to_http_parts();
        Callback::from_request(&req, &mut payload).await
    }

    fn form(body: impl Into<String>) -> TestRequest {
        TestRequest::post()
            .uri("/cb")
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8"))
            .set_payload(body.into())
    }

    #[actix_web::test]
    async fn get_callback_reads_the_query() {
        let cb = extract(TestRequest::get().uri("/cb?code=c&state=s")).await.unwrap();
        assert_eq!(cb.params().code(), Some("c"));
        assert_eq!(cb.params().state(), Some("s"));
        assert!(!cb.is_form_post());
    }

    #[actix_web::test]
    async fn form_post_callback_reads_the_body_and_strips_the_relay_marker() {
        let cb = extract(form("code=c&state=s&rpkit_relay=1")).await.unwrap();
        assert!(cb.is_form_post());
        assert!(cb.is_relayed());
        assert_eq!(cb.params().state(), Some("s"));
        assert!(!cb.params().contains(rpweb::RELAY_FIELD));
    }

    #[actix_web::test]
    async fn callback_with_repeated_state_is_rejected() {
        let err = extract(TestRequest::get().uri("/cb?state=a&state=b")).await.unwrap_err();
        assert!(matches!(
            err,
            AuthError::Client(ClientError::Core(rpkit::Error::Callback(CallbackError::DuplicateParameter { .. })))
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[actix_web::test]
    async fn form_post_with_repeated_state_is_rejected() {
        let err = extract(form("state=a&state=b&code=c")).await.unwrap_err();
        assert!(matches!(
            err,
            AuthError::Client(ClientError::Core(rpkit::Error::Callback(CallbackError::DuplicateParameter { .. })))
        ));
    }

    #[actix_web::test]
    async fn post_callback_of_another_content_type_is_rejected() {
        let request = TestRequest::post()
            .uri("/cb")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload("{\"code\":\"c\"}");
        assert!(matches!(extract(request).await.unwrap_err(), AuthError::BadRequest(_)));
    }

    #[actix_web::test]
    async fn oversized_form_post_is_rejected() {
        let err = extract(form(format!("code={}", "a".repeat(MAX_CALLBACK_BYTES + 1)))).await.unwrap_err();
        assert!(matches!(err, AuthError::BadRequest(_)));
    }

    #[actix_web::test]
    async fn other_methods_are_rejected() {
        let err = extract(TestRequest::put().uri("/cb")).await.unwrap_err();
        assert!(matches!(err, AuthError::MethodNotAllowed(_)));
    }

    #[actix_web::test]
    async fn head_callback_is_405_and_reads_nothing() {
        let err = extract(TestRequest::default().method(Method::HEAD).uri("/cb?code=c&state=s")).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[actix_web::test]
    async fn logout_form_by_get_is_405() {
        let (req, mut payload) = TestRequest::get().uri("/logout/dev?csrf_token=x").to_http_parts();
        let err = LogoutForm::from_request(&req, &mut payload).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[actix_web::test]
    async fn logout_with_a_wrong_csrf_token_is_403_and_leaves_the_session() {
        let req = TestRequest::post().to_http_request();
        let session = req.get_session();
        session.insert(USER_KEY, "someone").unwrap();
        session.insert(CSRF_KEY, "A".repeat(43)).unwrap();
        let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
        oauth.register(rpkit::ClientConfig::new("dev").client_id("c").authorize_url("https://op.example/a"));
        let client = oauth.create_client("dev").unwrap();
        for form in [LogoutForm::new(None), LogoutForm::new(Some("B".repeat(43))), LogoutForm::new(Some(String::new()))]
        {
            let err = logout_redirect(&session, &client, &form, LogoutOptions::default()).await.unwrap_err();
            assert!(matches!(err, AuthError::CsrfMismatch), "{err:?}");
            assert_eq!(err.status(), StatusCode::FORBIDDEN);
        }
        assert!(session.contains_key(USER_KEY), "the session is untouched");
    }

    #[actix_web::test]
    async fn relay_page_escapes_every_value_and_marks_the_repost() {
        let cb = extract(form("code=%22%3E%3Cscript%3Ex%3C%2Fscript%3E&state=s")).await.unwrap();
        let req = TestRequest::post().to_http_request();
        let page = form_post_relay(&req.get_session(), &cb, "/auth/dev/callback").unwrap();
        assert_eq!(page.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let body = String::from_utf8(page.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
        assert!(!body.contains("<script>x"));
        assert!(body.contains("&quot;&gt;&lt;script&gt;"));
        assert!(body.contains("name=\"rpkit_relay\" value=\"1\""));
    }

    #[actix_web::test]
    async fn relayed_or_get_callbacks_need_no_relay() {
        let req = TestRequest::post().to_http_request();
        let session = req.get_session();
        let relayed = extract(form("code=c&state=s&rpkit_relay=1")).await.unwrap();
        assert!(form_post_relay(&session, &relayed, "/cb").is_none());
        let get = extract(TestRequest::get().uri("/cb?code=c&state=s")).await.unwrap();
        assert!(form_post_relay(&session, &get, "/cb").is_none());
    }

    fn registry() -> OAuth {
        let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
        oauth.register(
            rpkit::ClientConfig::new("dev")
                .client_id("demo")
                .authorize_url("https://op.example/authorize")
                .end_session_endpoint("https://op.example/logout"),
        );
        oauth
    }

    /// A logout form carrying the session's CSRF token.
    fn csrf_form(session: &Session, oauth: &OAuth) -> LogoutForm {
        LogoutForm::new(Some(csrf_token(session, oauth).unwrap()))
    }

    fn logout_options() -> LogoutOptions {
        LogoutOptions { post_logout_redirect_uri: Some("https://app.example/logged-out".into()), ..Default::default() }
    }

    fn location_state(response: &HttpResponse) -> String {
        let location = response.headers().get(LOCATION).unwrap().to_str().unwrap();
        let url = url::Url::parse(location).unwrap();
        url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap()
    }

    #[actix_web::test]
    async fn logout_clears_the_session_and_its_state_validates_once() {
        let oauth = registry();
        let client = oauth.create_client("dev").unwrap();
        let req = TestRequest::get().to_http_request();
        let session = req.get_session();
        session.insert(USER_KEY, "someone").unwrap();
        let form = csrf_form(&session, &oauth);
        let response = logout_redirect(&session, &client, &form, logout_options()).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(!session.contains_key(USER_KEY));
        let state = location_state(&response);

        let done = validate_logout_response(&session, &oauth, &format!("state={state}")).unwrap();
        assert_eq!(done.client, "dev");
        let again = validate_logout_response(&session, &oauth, &format!("state={state}")).unwrap_err();
        assert_eq!(again.code(), "state_unknown");
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    }

    #[actix_web::test]
    async fn logout_response_with_a_wrong_missing_or_repeated_state_is_400() {
        let oauth = registry();
        let client = oauth.create_client("dev").unwrap();
        let req = TestRequest::get().to_http_request();
        let session = req.get_session();
        let form = csrf_form(&session, &oauth);
        let response = logout_redirect(&session, &client, &form, logout_options()).await.unwrap();
        let state = location_state(&response);

        let wrong = validate_logout_response(&session, &oauth, "state=nope").unwrap_err();
        assert!(matches!(
            wrong,
            AuthError::Client(ClientError::Core(rpkit::Error::State(rpkit::StateError::Unknown { .. })))
        ));
        let missing = validate_logout_response(&session, &oauth, "").unwrap_err();
        assert!(matches!(
            missing,
            AuthError::Client(ClientError::Core(rpkit::Error::State(rpkit::StateError::Missing)))
        ));
        let repeated = validate_logout_response(&session, &oauth, &format!("state={state}&state=x")).unwrap_err();
        assert!(matches!(repeated, AuthError::BadRequest(_)));
        for e in [wrong, missing, repeated] {
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        }
        // None of them consumed the pending logout.
        assert!(validate_logout_response(&session, &oauth, &format!("?state={state}")).is_ok());
    }

    #[actix_web::test]
    async fn authorize_redirect_stores_the_pending_login_and_a_failed_callback_consumes_it() {
        let oauth = registry();
        let client = oauth.create_client("dev").unwrap();
        let req = TestRequest::get().to_http_request();
        let session = req.get_session();
        let response = authorize_redirect(&session, &client, &AuthorizeOptions::redirect_uri("https://app.example/cb"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers().get(REFERRER_POLICY).unwrap(), "no-referrer");
        let state = location_state(&response);
        let pending: PendingSet = session::get(&session, PENDING_KEY).unwrap();
        assert_eq!(pending.len(), 1);

        // The provider's error for that state: 400 with its code, the entry is used up,
        // and nobody is logged in.
        let callback =
            Callback::from_params(CallbackParams::from_query(&format!("error=access_denied&state={state}")).unwrap());
        let err = complete_login(&session, &client, &callback).await.unwrap_err();
        assert_eq!(err.code(), "access_denied");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(!session.contains_key(PENDING_KEY));
        assert!(!session.contains_key(USER_KEY));
    }

    proptest! {
        #[test]
        fn form_post_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Callback::from_form(&body);
        }
    }
}
