//! The demo application behind `cargo run -p rpkit-axum --example demo`, shared by
//! `examples/demo.rs`, the tests (which serve it on `127.0.0.1:0`) and the conformance
//! interop tests, each of which includes this file with `#[path]` — and a complete
//! reference for wiring rpkit-axum into an app, through its public API only.
//!
//! Routes (the HTTP contract):
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | HTML: the user's name and email and a logout form (`POST`, with the session's CSRF token), or one "Log in with …" link per client |
//! | `GET /login/{name}` | `302` to the provider's authorization endpoint |
//! | `GET\|POST /auth/{name}/callback` | `303` to `/` on success; `400 {"error":code}` on a failed check (no login); `502` when the provider failed |
//! | `GET /me` | `200 {"provider", "userinfo", "id_token_claims"}`, or `401 {"error":"login_required"}` |
//! | `GET /api/{name}/{*path}` | the provider API's answer to a `GET` with the user's token (refreshed and re-stored when needed) |
//! | `POST /logout/{name}` (form field `csrf_token`) | clears the session; `302` to the end-session endpoint (`id_token_hint`, `post_logout_redirect_uri=<base>/logged-out`, `state`); `403` and nothing changed for a missing or wrong token; `405` for a `GET` |
//! | `GET /logged-out?state=…` | `200` for the pending state, `400` otherwise |
//! | `POST /backchannel-logout/{name}` | `200` (`Cache-Control: no-store`) for a valid logout token — that user's sessions end — else `400` |
//!
//! An unknown `{name}` or route is `404`.
//!
//! The session cookie is `HttpOnly`, `SameSite=Lax`, and — when the base URL is `https` —
//! `__Host-rpkit_demo`, `Secure`, `Path=/`, host-only; over plain `http` on loopback it is
//! `rpkit_demo` without `Secure` (browsers would not return it). Encrypted cookie
//! sessions live at most [`DEFAULT_ABSOLUTE_LIFETIME`](rpkit_axum::DEFAULT_ABSOLUTE_LIFETIME)
//! from the login however active they are, and logout cannot revoke a copied cookie:
//! the default in-memory store can.
//! A `form_post` callback is a cross-site `POST` that does not carry a `Lax` cookie; the
//! callback answers it with a same-origin auto-submitting page ([`form_post_relay`]),
//! whose `POST` does carry it.
//!
//! Time comes from the registry's clock (`OAuth::clock`), for the encrypted cookie
//! sessions too, so a test's `ManualClock` governs logins, revocations and cookies alike.

#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, OriginalUri, Path, RawQuery, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use rpkit::client::web::{escape_html, login_links, logout_form, path_segment, ErrorResponse, Revocations, WebError};
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::error::{ConfigError, Error};
use rpkit_axum::{
    authorize_redirect, backchannel_logout, complete_login, csrf_token, form_post_relay, logout_redirect, update_token,
    validate_logout_response, AuthError, AuthSession, BackchannelResponse, Callback, CookieKey, CookieSessionLayer,
    CurrentUser, LogoutForm, SessionError,
};
use tower_sessions::cookie::SameSite;
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// The session cookie's name in the demo over plain `http`.
pub const DEMO_COOKIE: &str = "rpkit_demo";

/// The session cookie's name in the demo over `https`: `__Host-` makes browsers insist
/// on `Secure`, `Path=/` and no `Domain`.
pub const DEMO_COOKIE_HTTPS: &str = "__Host-rpkit_demo";

/// Where the demo keeps sessions.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum DemoSessions {
    /// tower-sessions with its `MemoryStore` (one process).
    #[default]
    Memory,
    /// The encrypted cookie store: any instance with the same key continues the session.
    Cookie(CookieKey),
    /// tower-sessions on Redis (`rpkit_redis`): every instance on the same Redis
    /// continues the session, and a logout deletes it for all of them.
    Redis(rpkit_redis::sessions::tower::RedisSessionStore),
}

/// How to build the demo app.
///
/// ```ignore
/// use demo_app::{DemoOptions, DemoSessions};
/// let options = DemoOptions::new(url::Url::parse("http://127.0.0.1:8000").unwrap());
/// assert_eq!(options.redirect_uri("dev"), "http://127.0.0.1:8000/auth/dev/callback");
/// assert!(matches!(options.sessions, DemoSessions::Memory));
/// ```
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The public base URL of the app (no trailing slash needed).
    pub base_url: url::Url,
    /// The session store.
    pub sessions: DemoSessions,
    /// The back-channel revocations; `None`: in the registry's shared store
    /// (`Revocations::of(&oauth)`), so instances on one Redis share them.
    pub revocations: Option<Revocations>,
}

impl DemoOptions {
    /// Options for an app served at `base_url`, with in-memory sessions.
    pub fn new(base_url: url::Url) -> Self {
        DemoOptions { base_url, sessions: DemoSessions::Memory, revocations: None }
    }

    /// Uses `sessions`.
    #[must_use]
    pub fn sessions(mut self, sessions: DemoSessions) -> Self {
        self.sessions = sessions;
        self
    }

    fn base(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_owned()
    }

    /// `<base>/auth/<name>/callback`, the default redirect URI.
    pub fn redirect_uri(&self, name: &str) -> String {
        format!("{}/auth/{}/callback", self.base(), path_segment(name))
    }

    /// `<base>/logged-out`, the post-logout redirect URI.
    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/logged-out", self.base())
    }

    /// `<base>/backchannel-logout/<name>`, the back-channel logout URI to register.
    pub fn backchannel_logout_uri(&self, name: &str) -> String {
        format!("{}/backchannel-logout/{}", self.base(), path_segment(name))
    }
}

#[derive(Clone)]
struct DemoState {
    oauth: OAuth,
    options: DemoOptions,
    revocations: Revocations,
}

impl FromRef<DemoState> for Revocations {
    fn from_ref(state: &DemoState) -> Self {
        state.revocations.clone()
    }
}

/// Builds the demo router over the registered clients of `oauth`, with its session
/// layer; token-update events are logged.
///
/// ```ignore
/// # async fn run(oauth: rpkit::client::OAuth) -> std::io::Result<()> {
/// use demo_app::{app, DemoOptions};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let base = url::Url::parse("http://127.0.0.1:8000").unwrap();
/// axum::serve(listener, app(oauth, DemoOptions::new(base))).await
/// # }
/// ```
pub fn app(oauth: OAuth, options: DemoOptions) -> Router {
    oauth.on_token_update(|update| {
        tracing::info!(client = %update.name, expires_at = ?update.token.expires_at, "token refreshed");
    });
    let secure = options.base_url.scheme() == "https";
    let sessions = options.sessions.clone();
    let clock = oauth.clock();
    let revocations = options.revocations.clone().unwrap_or_else(|| Revocations::of(&oauth));
    let router = Router::new()
        .route("/", get(index))
        .route("/login/{name}", get(login))
        .route("/auth/{name}/callback", get(callback).post(callback))
        .route("/me", get(me))
        .route("/api/{name}/{*path}", get(api))
        .route("/logout/{name}", post(logout))
        .route("/logged-out", get(logged_out))
        .route("/backchannel-logout/{name}", post(backchannel))
        .fallback(not_found)
        .with_state(DemoState { oauth, options, revocations });
    match sessions {
        DemoSessions::Memory => router.layer(
            SessionManagerLayer::new(MemoryStore::default())
                .with_name(if secure { DEMO_COOKIE_HTTPS } else { DEMO_COOKIE })
                .with_secure(secure)
                .with_path("/")
                .with_http_only(true)
                .with_same_site(SameSite::Lax),
        ),
        DemoSessions::Redis(store) => router
            .layer(
                SessionManagerLayer::new(store)
                    .with_name(if secure { DEMO_COOKIE_HTTPS } else { DEMO_COOKIE })
                    .with_secure(secure)
                    .with_path("/")
                    .with_http_only(true)
                    .with_same_site(SameSite::Lax),
            )
            // Outside the session layer, whose save after the handler answers a lost
            // Redis with an empty 500.
            .layer(axum::middleware::from_fn(store_unavailable_is_503)),
        DemoSessions::Cookie(key) => router.layer(
            CookieSessionLayer::new(key).name(DEMO_COOKIE).secure(secure).host_prefix(secure).shared_clock(clock),
        ),
    }
}

/// `503 session_store_unavailable` when a Redis session store call of this request
/// failed (`rpkit_redis::sessions::watch_unavailable`), whatever the layers answered.
async fn store_unavailable_is_503(request: Request, next: axum::middleware::Next) -> Response {
    let (response, unavailable) = rpkit_redis::sessions::watch_unavailable(next.run(request)).await;
    if unavailable {
        return AuthError::Session(SessionError::Unavailable("Redis did not answer".into())).into_response();
    }
    response
}

fn client(state: &DemoState, name: &str) -> Result<OAuthClient, AuthError> {
    Ok(state.oauth.create_client(name)?)
}

async fn not_found() -> Response {
    ErrorResponse::new(StatusCode::NOT_FOUND.as_u16(), "not_found").to_http().map(Body::from).into_response()
}

async fn index(
    State(state): State<DemoState>,
    session: AuthSession,
    user: Option<CurrentUser>,
) -> Result<Response, AuthError> {
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>rpkit demo</title></head><body><h1>rpkit demo</h1>",
    );
    match user {
        Some(CurrentUser(user)) => {
            let token = csrf_token(&session, &state.oauth).await?;
            body.push_str(&format!(
                "<p>Logged in with <b>{}</b> as <b>{}</b> (<span id=\"email\">{}</span>).</p>\
                 <p><a href=\"/me\">/me</a></p>{}",
                escape_html(&user.provider),
                escape_html(user.name().unwrap_or("?")),
                escape_html(user.email().unwrap_or("no email")),
                logout_form(&user.provider, &token),
            ));
        }
        None => {
            body.push_str(&format!("<ul>{}</ul>", login_links(state.oauth.names())));
        }
    }
    body.push_str("</body></html>");
    let mut response = Html(body).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn login(
    State(state): State<DemoState>,
    Path(name): Path<String>,
    session: AuthSession,
) -> Result<Response, AuthError> {
    let client = client(&state, &name)?;
    let config = client.config();
    let mut options = AuthorizeOptions::default();
    if config.redirect_uri.is_none() && config.client_kwargs.redirect_uri.is_none() {
        options.redirect_uri = Some(state.options.redirect_uri(&name));
    }
    Ok(authorize_redirect(&session, &client, &options).await?.into_response())
}

async fn callback(
    State(state): State<DemoState>,
    Path(name): Path<String>,
    OriginalUri(uri): OriginalUri,
    session: AuthSession,
    request: Request,
) -> Result<Response, AuthError> {
    let client = client(&state, &name)?;
    let callback = Callback::from_request(request, &state).await?;
    if let Some(relay) = form_post_relay(&session, &callback, uri.path()).await? {
        return Ok(relay);
    }
    let user = complete_login(&session, &client, &callback).await?;
    tracing::info!(provider = %user.provider, sub = ?user.sub(), "logged in");
    Ok(Redirect::to("/").into_response())
}

async fn me(CurrentUser(user): CurrentUser) -> Response {
    let mut response = Json(user.profile_json()).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn api(
    State(state): State<DemoState>,
    Path((name, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    session: AuthSession,
) -> Result<Response, AuthError> {
    let client = client(&state, &name)?;
    let user = CurrentUser::load(&session, &state.revocations).await?.ok_or(WebError::LoginRequired)?;
    if user.provider != name {
        // Never send one provider's token to another.
        return Err(WebError::LoginRequired.into());
    }
    // Only paths under `api_base_url`: an absolute URL would send the user's token to
    // whatever host the browser names (the core refuses a relative path that leaves the
    // base's origin, e.g. `//evil.example`).
    if url::Url::parse(&path).is_ok() {
        return Err(WebError::BadRequest("the API path must be relative to api_base_url").into());
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let answer = rpkit::client::web::api_get(&client, &user, &target).await?;
    if let Some(token) = answer.refreshed.clone() {
        update_token(&session, &user, token).await?;
    }
    let status = answer.status();
    let content_type = answer.response.headers().get(CONTENT_TYPE).cloned();
    let mut response = Response::new(Body::from(answer.response.into_body()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static("application/octet-stream")));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

async fn logout(
    State(state): State<DemoState>,
    Path(name): Path<String>,
    session: AuthSession,
    form: LogoutForm,
) -> Result<Response, AuthError> {
    let client = client(&state, &name)?;
    let options = LogoutOptions {
        post_logout_redirect_uri: Some(state.options.post_logout_redirect_uri()),
        ..Default::default()
    };
    match logout_redirect(&session, &client, &form, options).await {
        Ok(redirect) => Ok(redirect.into_response()),
        // A provider without an end-session endpoint (plain OAuth 2.0): the local logout
        // has happened; go home.
        Err(AuthError::Web(WebError::Client(ClientError::Core(Error::Config(ConfigError::Missing {
            key, ..
        })))))
            if key == "end_session_endpoint" =>
        {
            Ok(Redirect::to("/").into_response())
        }
        Err(e) => Err(e),
    }
}

async fn logged_out(
    State(state): State<DemoState>,
    RawQuery(query): RawQuery,
    session: AuthSession,
) -> Result<Response, AuthError> {
    // A wrong, missing, expired or repeated `state` is the browser's: 400 with its code.
    let entry = validate_logout_response(&session, &state.oauth, query.as_deref().unwrap_or("")).await?;
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Logged out</title></head>\
         <body><p>You are logged out of {}.</p><p><a href=\"/\">Home</a></p></body></html>",
        escape_html(&entry.client)
    );
    Ok(Html(page).into_response())
}

async fn backchannel(State(state): State<DemoState>, Path(name): Path<String>, body: Bytes) -> Response {
    let client = match client(&state, &name) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let outcome = backchannel_logout(&client, &state.revocations, &body).await;
    match &outcome {
        Ok(target) => tracing::info!(client = %name, sub = ?target.sub, sid = ?target.sid, "back-channel logout"),
        Err(e) => tracing::warn!(client = %name, error = %e, "back-channel logout rejected"),
    }
    BackchannelResponse::from(&outcome).into_response()
}
