//! The login and logout steps over an actix-session [`Session`]: each reads the session,
//! runs the step of [`rpkit::client::web`] of the same name, and writes back the edit it
//! returns.

use crate::error::{into_actix, AuthError};
use crate::session;
use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Responder};
use rpkit::callback::MAX_CALLBACK_BYTES;
use rpkit::client::web::{self as rpweb, AuthUser, CallbackInput, Revocations, MAX_CSRF_FORM_BYTES};
use rpkit::client::{AuthorizeOptions, LogoutOptions, OAuth, OAuthClient};
use rpkit::logout::{LogoutTarget, PendingLogout};
use rpkit::Token;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

/// A `302 Found` to the provider (authorization or end-session endpoint):
/// [`rpweb::redirect_response`] — never cached, no `Referer` (the URL carries the `state`).
///
/// ```
/// let url = url::Url::parse("https://op.example/authorize?state=x").unwrap();
/// let response = rpkit_actix::redirect_to_provider(&url);
/// assert_eq!(response.status(), actix_web::http::StatusCode::FOUND);
/// assert_eq!(response.headers().get("location").unwrap(), "https://op.example/authorize?state=x");
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// ```
pub fn redirect_to_provider(url: &url::Url) -> HttpResponse {
    into_actix(rpweb::redirect_response(url))
}

/// Starts a login ([`rpweb::authorize_redirect`]): the pending authorization goes to the
/// session, the `302` to the provider is returned.
///
/// # Errors
/// Configuration, discovery and random-source errors (nothing is stored then); session
/// serialization errors.
pub async fn authorize_redirect(
    session: &Session,
    client: &OAuthClient,
    options: &AuthorizeOptions,
) -> Result<HttpResponse, AuthError> {
    let url = session::settle(session, rpweb::authorize_redirect(client, session::values(session), options).await)?;
    Ok(redirect_to_provider(&url))
}

/// Handles the callback ([`rpweb::authorize_access_token`]) and returns the token; the
/// pending authorization is consumed whatever the outcome. See [`complete_login`].
///
/// # Errors
/// Every rejection of [`OAuthClient::authorize_access_token`]; session errors.
pub async fn authorize_access_token(
    session: &Session,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<Token, AuthError> {
    session::settle(session, rpweb::authorize_access_token(client, session::values(session), callback).await)
}

/// Handles the callback and logs the user in ([`rpweb::complete_login`]): only when
/// every check passed does the session get a new id and the [`AuthUser`].
///
/// # Errors
/// As [`authorize_access_token`], plus refresh and UserInfo errors; the session then
/// holds no new user.
pub async fn complete_login(
    session: &Session,
    client: &OAuthClient,
    callback: &Callback,
) -> Result<AuthUser, AuthError> {
    session::settle(session, rpweb::complete_login(client, session::values(session), callback).await)
}

/// Stores `user` as the logged-in user ([`rpweb::login_edit`]: a new session id, a new
/// CSRF token). Use it when you complete the login yourself.
///
/// # Errors
/// Session serialization errors; the user is not stored then.
pub fn login(session: &Session, user: &AuthUser) -> Result<(), AuthError> {
    Ok(session::apply(session, rpweb::login_edit(user))?)
}

/// The session's CSRF token ([`rpweb::session_csrf_token`]), stored on first use. Render
/// it into the logout form ([`rpkit::client::web::logout_form`]); [`logout_redirect`]
/// checks it.
///
/// # Errors
/// The random source failed, or the session could not be written.
pub fn csrf_token(session: &Session, oauth: &OAuth) -> Result<String, AuthError> {
    session::settle(session, rpweb::session_csrf_token(oauth, &session::values(session)))
}

/// Whether `form` carries the session's CSRF token (constant-time comparison).
pub fn check_csrf(session: &Session, form: &LogoutForm) -> bool {
    rpweb::check_csrf(session::values(session).csrf.as_deref(), form.csrf_token())
}

/// The logout request as an actix extractor ([`rpweb::LogoutForm::from_parts`]): a
/// `POST` form whose `csrf_token` [`logout_redirect`] checks; `405` for a `GET`.
///
/// ```
/// use actix_web::test::TestRequest;
/// use actix_web::FromRequest;
/// use rpkit_actix::LogoutForm;
///
/// # actix_web::rt::System::new().block_on(async {
/// let (req, mut payload) = TestRequest::get().uri("/logout/dev").to_http_parts();
/// let err = LogoutForm::from_request(&req, &mut payload).await.unwrap_err();
/// assert_eq!(err.status(), actix_web::http::StatusCode::METHOD_NOT_ALLOWED);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutForm(pub rpweb::LogoutForm);

impl Deref for LogoutForm {
    type Target = rpweb::LogoutForm;
    fn deref(&self) -> &rpweb::LogoutForm {
        &self.0
    }
}

/// A core request rule: method, `Content-Type`, query and body to a value.
type RequestRule<T> = fn(&str, Option<&str>, Option<&str>, Option<&[u8]>) -> Result<T, rpweb::WebError>;

/// Reads what the core's request rules look at: method, `Content-Type`, query, and the
/// body up to `limit` (`None` when unreadable or larger), then hands them to `parse`.
fn from_parts<T: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
    parse: RequestRule<T>,
) -> Pin<Box<dyn Future<Output = Result<T, AuthError>>>> {
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let body = match web::Payload::from_request(&req, &mut payload).await {
            Ok(p) => p.to_bytes_limited(limit).await.ok().and_then(Result::ok),
            Err(_) => None,
        };
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        Ok(parse(req.method().as_str(), content_type, Some(req.query_string()), body.as_deref())?)
    })
}

impl FromRequest for LogoutForm {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        from_parts(req, payload, MAX_CSRF_FORM_BYTES, |method, content_type, _query, body| {
            rpweb::LogoutForm::from_parts(method, content_type, body).map(LogoutForm)
        })
    }
}

/// Replaces the logged-in user's token (after an automatic refresh), keeping the rest.
///
/// # Errors
/// Session serialization errors.
pub fn update_token(session: &Session, user: &AuthUser, token: Token) -> Result<AuthUser, AuthError> {
    let (updated, edit) = rpweb::update_token(user, token);
    session::apply(session, edit)?;
    Ok(updated)
}

/// Logs out locally and builds the provider's logout redirect
/// ([`rpweb::logout_redirect`]): `form` must carry the session's CSRF token (else `403`
/// and the session is untouched); then the session ends, whatever the provider does.
///
/// # Errors
/// [`rpkit::error::ConfigError::Missing`] when the provider has no end-session endpoint
/// (the local logout has happened); discovery and session errors.
pub async fn logout_redirect(
    session: &Session,
    client: &OAuthClient,
    form: &LogoutForm,
    options: LogoutOptions,
) -> Result<HttpResponse, AuthError> {
    let outcome = rpweb::logout_redirect(client, session::values(session), form, options).await;
    session::settle(session, outcome).map(|url| redirect_to_provider(&url))
}

/// Checks the provider's redirect back after logout
/// ([`rpweb::validate_logout_response`]): `query` must carry the `state` of a pending
/// logout of this session.
///
/// # Errors
/// [`rpkit::StateError`] variants — missing, unknown, expired, repeated — all `400`.
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
    session::settle(session, rpweb::validate_logout_response(oauth, session::values(session), query))
}

/// Handles an OpenID Connect back-channel logout request body
/// ([`rpweb::backchannel_logout`]); the sessions it names end at the next request
/// ([`CurrentUser`](crate::CurrentUser)). Answer with [`BackchannelResponse`].
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
    rpweb::backchannel_logout(client, revocations, body).await.map_err(AuthError::from)
}

/// The answer to a back-channel logout request ([`rpweb::backchannel_http_response`]):
/// `200`, or `400 {"error":"invalid_request"}`; always `no-store`. The provider never
/// learns why a logout token was refused, and nothing is logged here: the handler holds
/// the outcome and logs what it wants (the demo logs both a logout and a refusal).
///
/// ```
/// use actix_web::http::StatusCode;
/// use rpkit::client::web::WebError;
/// use rpkit_actix::{AuthError, BackchannelResponse};
///
/// let bad: Result<(), AuthError> = Err(WebError::BadRequest("no body").into());
/// let response = BackchannelResponse::from(&bad).into_response();
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// ```
#[derive(Debug)]
pub struct BackchannelResponse(http::Response<Vec<u8>>);

impl<T> From<&Result<T, AuthError>> for BackchannelResponse {
    fn from(outcome: &Result<T, AuthError>) -> Self {
        BackchannelResponse(rpweb::backchannel_http_response(outcome))
    }
}

impl BackchannelResponse {
    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        into_actix(self.0)
    }
}

impl Responder for BackchannelResponse {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.into_response()
    }
}

/// The authorization response as an actix extractor, by the rules of
/// [`CallbackInput::from_parts`]: the query of a `GET`, or the form body of a
/// `response_mode=form_post` `POST` (at most 64 KiB); `405` for any other method —
/// `HEAD` included — and `400` for anything else unusable.
///
/// A `form_post` callback is a cross-site `POST`, which does not carry a `SameSite=Lax`
/// session cookie: answer it with [`form_post_relay`].
#[derive(Debug)]
pub struct Callback(pub CallbackInput);

impl Deref for Callback {
    type Target = CallbackInput;
    fn deref(&self) -> &CallbackInput {
        &self.0
    }
}

impl FromRequest for Callback {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        from_parts(req, payload, MAX_CALLBACK_BYTES, |method, content_type, query, body| {
            CallbackInput::from_parts(method, content_type, query, body).map(Callback)
        })
    }
}

/// For a `form_post` callback that arrived without the session (see [`Callback`]), the
/// page that re-posts it from our origin ([`rpweb::form_post_relay`]); `None` when no
/// relay is needed.
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
    rpweb::form_post_relay(callback, &session::values(session), action).map(into_actix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_session::SessionExt;
    use actix_web::body::MessageBody;
    use actix_web::http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY};
    use actix_web::http::{Method, StatusCode};
    use actix_web::test::TestRequest;
    use proptest::prelude::*;
    use rpkit::authorize::PendingSet;
    use rpkit::callback::{CallbackError, CallbackParams};
    use rpkit::client::web::{WebError, CSRF_KEY, PENDING_KEY, USER_KEY};
    use rpkit::client::ClientError;

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
            AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::Callback(
                CallbackError::DuplicateParameter { .. }
            ))))
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[actix_web::test]
    async fn form_post_with_repeated_state_is_rejected() {
        let err = extract(form("state=a&state=b&code=c")).await.unwrap_err();
        assert!(matches!(
            err,
            AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::Callback(
                CallbackError::DuplicateParameter { .. }
            ))))
        ));
    }

    #[actix_web::test]
    async fn post_callback_of_another_content_type_is_rejected() {
        let request = TestRequest::post()
            .uri("/cb")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload("{\"code\":\"c\"}");
        assert!(matches!(extract(request).await.unwrap_err(), AuthError::Web(WebError::BadRequest(_))));
    }

    #[actix_web::test]
    async fn oversized_form_post_is_rejected() {
        let err = extract(form(format!("code={}", "a".repeat(MAX_CALLBACK_BYTES + 1)))).await.unwrap_err();
        assert!(matches!(err, AuthError::Web(WebError::BadRequest(_))));
    }

    #[actix_web::test]
    async fn other_methods_are_rejected() {
        let err = extract(TestRequest::put().uri("/cb")).await.unwrap_err();
        assert!(matches!(err, AuthError::Web(WebError::MethodNotAllowed(_))));
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
        for form in [None, Some("B".repeat(43)), Some(String::new())].map(|t| LogoutForm(rpweb::LogoutForm::new(t))) {
            let err = logout_redirect(&session, &client, &form, LogoutOptions::default()).await.unwrap_err();
            assert!(matches!(err, AuthError::Web(WebError::CsrfMismatch)), "{err:?}");
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
        LogoutForm(rpweb::LogoutForm::new(Some(csrf_token(session, oauth).unwrap())))
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
            AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::State(rpkit::StateError::Unknown { .. }))))
        ));
        let missing = validate_logout_response(&session, &oauth, "").unwrap_err();
        assert!(matches!(
            missing,
            AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::State(rpkit::StateError::Missing))))
        ));
        let repeated = validate_logout_response(&session, &oauth, &format!("state={state}&state=x")).unwrap_err();
        assert!(matches!(
            repeated,
            AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::State(rpkit::StateError::Repeated))))
        ));
        assert_eq!(repeated.code(), "state_repeated");
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
        let callback = Callback(CallbackInput::from_params(
            CallbackParams::from_query(&format!("error=access_denied&state={state}")).unwrap(),
        ));
        let err = complete_login(&session, &client, &callback).await.unwrap_err();
        assert_eq!(err.code(), "access_denied");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(!session.contains_key(PENDING_KEY));
        assert!(!session.contains_key(USER_KEY));
    }

    proptest! {
        #[test]
        fn form_post_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = CallbackInput::from_parts("POST", Some("application/x-www-form-urlencoded"), None, Some(&body));
        }
    }
}
