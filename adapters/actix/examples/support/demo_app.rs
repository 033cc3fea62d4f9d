//! The rpkit-actix demo app, shared by `examples/demo-actix.rs` and the tests (which
//! start it on `127.0.0.1:0` against the development provider).
//!
//! The HTTP contract is the same as the axum demo's:
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | HTML: the user's name and email and a logout form (`POST` with the session's CSRF token), or a login link per client |
//! | `GET /login/{name}` | `302` to the provider's authorization endpoint |
//! | `GET\|POST /auth/{name}/callback` | `303` to `/`; `400 {"error":code}`; `502` when the provider failed |
//! | `GET /me` | `200 {"provider","userinfo","id_token_claims"}`, else `401` |
//! | `GET /api/{name}/{path}` | the provider API's answer, with the user's token (auto-refresh) |
//! | `POST /logout/{name}` (form field `csrf_token`) | local logout, `302` to the end-session endpoint; `403` and nothing changed without the session's token; `405` for a `GET` |
//! | `GET /logged-out?state=…` | `200` for the pending state, else `400` |
//! | `POST /backchannel-logout/{name}` | `200` (`no-store`) for a valid logout token, else `400` |
//!
//! An unknown `{name}` or route is `404 {"error":"not_found"|"unknown_client"}`; a `HEAD`
//! on the callback is `405` (a prefetcher must not spend the pending login).
//!
//! Sessions live server-side, in a [`MemorySessionStore`] (the cookie, `__Host-` behind
//! `https`, holds only an id), so logout deletes them for every copy of the cookie.
//! `CookieSessionStore` (through [`Demo::serve_with_store`]) lets several instances share
//! sessions by key, but then a logout cannot revoke a copied cookie.

#![allow(dead_code)]

use actix_session::storage::SessionStore;
use actix_session::Session;
use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::http::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rpkit::client::web::{is_loopback_http, login_links, logout_form, path_segment, WebError};
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::error::ConfigError;
use rpkit::ClientConfig;
use rpkit_actix::{
    authorize_redirect, backchannel_logout, complete_login, csrf_token, escape_html, form_post_relay, logout_redirect,
    session_middleware, update_token, validate_logout_response, AuthError, AuthUser, BackchannelResponse, Callback,
    CurrentUser, LogoutForm, MemorySessionStore, Revocations,
};
use rpkit_conformance::{ClientRegistration, DevProvider, DevProviderBuilder, DevUser, RunningProvider};
use rpkit_redis::sessions::actix::{store_unavailable_is_503, RedisSessionStore};
use std::net::TcpListener;

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";

/// The name the development provider is registered under.
pub const DEV_NAME: &str = "dev";

/// The scope asked of the development provider.
pub const DEV_SCOPE: &str = "openid profile email offline_access";

/// The demo's client id and secret at the development provider.
pub const DEV_CLIENT_ID: &str = "rpkit-demo";
const DEV_CLIENT_SECRET: &str = "rpkit-demo-secret";

/// Where the demo listens and how browsers reach it.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// `RPKIT_DEMO_ADDR`, default `127.0.0.1:8000`.
    pub addr: String,
    /// `RPKIT_DEMO_BASE_URL`, default `http://` + the address; no trailing slash.
    pub base_url: String,
}

impl DemoSettings {
    /// From the environment.
    pub fn from_env() -> Self {
        let addr = std::env::var("RPKIT_DEMO_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
        let base_url = std::env::var("RPKIT_DEMO_BASE_URL").ok();
        Self::new(addr, base_url)
    }

    /// From an address and an optional base URL.
    pub fn new(addr: impl Into<String>, base_url: Option<String>) -> Self {
        let addr = addr.into();
        let base_url = base_url.unwrap_or_else(|| format!("http://{addr}"));
        DemoSettings { addr, base_url: base_url.trim_end_matches('/').to_owned() }
    }
}

/// The cookie key from `RPKIT_DEMO_SESSION_KEY` (base64 of 32 bytes, as for the axum
/// demo), expanded with HKDF into actix's signing and encryption keys; `None` when unset.
///
/// # Errors
/// When the value is not base64 of exactly 32 bytes.
pub fn session_key_from_env() -> Result<Option<Key>, String> {
    let Ok(text) = std::env::var("RPKIT_DEMO_SESSION_KEY") else {
        return Ok(None);
    };
    session_key_from_base64(&text).map(Some)
}

/// A cookie key from base64 (standard or URL-safe, padding tolerated) of 32 bytes.
///
/// # Errors
/// When the text is not base64 of exactly 32 bytes.
pub fn session_key_from_base64(text: &str) -> Result<Key, String> {
    let normalized: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    match rpkit::jose::b64::decode(&normalized) {
        Some(bytes) if bytes.len() == 32 => Ok(Key::derive_from(&bytes)),
        _ => Err("RPKIT_DEMO_SESSION_KEY must be base64 of 32 bytes".to_owned()),
    }
}

/// The development provider, set up for a demo at `base_url`: client `rpkit-demo` with
/// the demo's callback, post-logout and back-channel logout URIs, and two users. Pass
/// the builder through `customize` to change it (tests use `auto_login`).
///
/// # Errors
/// When the provider cannot start.
pub async fn start_dev_provider(
    base_url: &str,
    customize: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
) -> Result<RunningProvider, rpkit_conformance::DevProviderError> {
    start_dev_provider_for(base_url, &[], customize).await
}

/// [`start_dev_provider`] that also accepts the callback and post-logout URIs of
/// `peers` (the base URLs of other instances sharing this provider); back-channel
/// logouts go to `base_url`.
///
/// # Errors
/// When the provider cannot start.
pub async fn start_dev_provider_for(
    base_url: &str,
    peers: &[String],
    customize: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
) -> Result<RunningProvider, rpkit_conformance::DevProviderError> {
    let mut client = ClientRegistration::confidential(DEV_CLIENT_ID, DEV_CLIENT_SECRET)
        .redirect_uri(format!("{base_url}/auth/{DEV_NAME}/callback"))
        .post_logout_redirect_uri(format!("{base_url}/logged-out"));
    for peer in peers {
        let peer = peer.trim_end_matches('/');
        client = client
            .redirect_uri(format!("{peer}/auth/{DEV_NAME}/callback"))
            .post_logout_redirect_uri(format!("{peer}/logged-out"));
    }
    if is_loopback_http(base_url) {
        // The development provider delivers logout tokens to loopback only.
        client = client.backchannel_logout_uri(format!("{base_url}/backchannel-logout/{DEV_NAME}"));
    }
    let builder = DevProvider::builder()
        .client(client)
        .oauth1_consumer(rpkit_conformance::Oauth1Consumer::new(
            rpkit_conformance::oauth1::DEMO_CONSUMER_KEY,
            rpkit_conformance::oauth1::DEMO_CONSUMER_SECRET,
        ))
        .user(DevUser::new("alice").name("Alice Example").email("alice@example.com"))
        .user(DevUser::new("bob").name("Bob <Builder>").email("bob@example.com"));
    customize(builder).start().await
}

/// The client configuration of the development provider.
pub fn dev_client_config(op: &RunningProvider) -> ClientConfig {
    dev_client_config_at(op.issuer())
}

/// The client configuration of a development provider at `issuer` (started by another
/// instance: `RPKIT_DEV_ISSUER`).
pub fn dev_client_config_at(issuer: &str) -> ClientConfig {
    let issuer = issuer.trim_end_matches('/');
    ClientConfig::new(DEV_NAME)
        .client_id(DEV_CLIENT_ID)
        .client_secret(DEV_CLIENT_SECRET)
        .server_metadata_url(format!("{issuer}/.well-known/openid-configuration"))
        .api_base_url(format!("{issuer}/"))
        .scope(DEV_SCOPE)
}

/// The OAuth 1.0a client of the development provider (its OAuth 1.0a mode), named
/// `dev-oauth1`, for a demo at `base_url`.
pub fn dev_oauth1_client_config(op: &RunningProvider, base_url: &str) -> ClientConfig {
    rpkit_conformance::oauth1::client_config(
        op,
        DEV_OAUTH1_NAME,
        rpkit_conformance::oauth1::DEMO_CONSUMER_KEY,
        rpkit_conformance::oauth1::DEMO_CONSUMER_SECRET,
        &format!("{base_url}/auth/{DEV_OAUTH1_NAME}/callback"),
    )
}

/// The registered name of the development provider's OAuth 1.0a client.
pub const DEV_OAUTH1_NAME: &str = "dev-oauth1";

/// Logs every token refresh (the seed's `token_update` signal), without the token.
pub fn log_token_updates(oauth: &OAuth) {
    oauth.on_token_update(|update| {
        tracing::info!(
            client = %update.name,
            expires_at = ?update.token.expires_at,
            rotated_refresh_token = update.refresh_token.is_some(),
            "token_update: stored the refreshed token"
        );
    });
}

/// What every handler shares.
#[derive(Clone)]
struct DemoState {
    oauth: OAuth,
    base_url: String,
}

impl DemoState {
    fn client(&self, name: &str) -> Result<OAuthClient, AuthError> {
        Ok(self.oauth.create_client(name)?)
    }
}

/// The demo app: routes, session middleware and shared state.
#[derive(Clone)]
pub struct Demo {
    state: DemoState,
    revocations: Revocations,
    key: Key,
}

impl Demo {
    /// The demo over `oauth` for browsers reaching it at `base_url`, with a fresh cookie
    /// key; back-channel revocations in the registry's shared store
    /// (`Revocations::of(&oauth)`: memory by default, Redis with `RPKIT_REDIS_URL`).
    pub fn new(oauth: OAuth, base_url: &str) -> Self {
        Demo {
            revocations: Revocations::of(&oauth),
            state: DemoState { oauth, base_url: base_url.trim_end_matches('/').to_owned() },
            key: Key::generate(),
        }
    }

    /// Keeps back-channel revocations in `revocations` instead.
    #[must_use]
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = revocations;
        self
    }

    /// Serves the demo with sessions in Redis ([`RedisSessionStore`] on `store`'s
    /// connection); a Redis that cannot answer is `503`.
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn serve_on_redis(
        self,
        listener: TcpListener,
        workers: usize,
        store: &rpkit_redis::RedisStore,
    ) -> std::io::Result<Server> {
        let sessions = RedisSessionStore::new(store.sessions());
        self.serve_with_store(listener, workers, move || sessions.clone())
    }

    /// Seals session cookies with `key` (64 bytes). With `CookieSessionStore`
    /// ([`Demo::serve_with_store`]) instances sharing it continue each other's sessions.
    #[must_use]
    pub fn with_key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// The sessions ended by back-channel logout.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// Serves the demo on `listener` with `workers` worker threads, sessions in one
    /// [`MemorySessionStore`] shared by the workers. Run (or spawn) the returned server.
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn serve(self, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
        let store = MemorySessionStore::new();
        self.serve_with_store(listener, workers, move || store.clone())
    }

    /// [`Demo::serve`] with another session store (`RedisSessionStore`, …), which
    /// `make_store` makes for each worker.
    ///
    /// # Security
    /// With `CookieSessionStore` the whole session is the cookie: logout cannot revoke a
    /// copy of it before it expires. Prefer a server-side store.
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn serve_with_store<S, F>(self, listener: TcpListener, workers: usize, make_store: F) -> std::io::Result<Server>
    where
        S: SessionStore + 'static,
        F: Fn() -> S + Clone + Send + 'static,
    {
        let secure = self.state.base_url.starts_with("https://");
        let state = web::Data::new(self.state);
        let revocations = web::Data::new(self.revocations);
        let key = self.key;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(revocations.clone())
                .wrap(session_middleware(make_store(), key.clone(), secure))
                // Outside the session middleware: a Redis session store that cannot
                // answer is 503, not actix-session's opaque 500 (a no-op for others).
                .wrap(from_fn(store_unavailable_is_503))
                .route("/", web::get().to(index))
                .route("/login/{name}", web::get().to(login))
                // One resource: a method other than GET or POST (HEAD included) is 405.
                .service(
                    web::resource("/auth/{name}/callback")
                        .route(web::get().to(callback))
                        .route(web::post().to(callback)),
                )
                .route("/me", web::get().to(me))
                .route("/api/{name}/{path:.*}", web::get().to(api))
                // POST only: a GET (a link, an <img>, a prefetch) is 405 and logs nobody out.
                .service(web::resource("/logout/{name}").route(web::post().to(logout)))
                .route("/logged-out", web::get().to(logged_out))
                .route("/backchannel-logout/{name}", web::post().to(backchannel))
                .default_service(web::to(not_found))
        })
        .workers(workers.max(1))
        .listen(listener)?
        .run();
        Ok(server)
    }
}

fn html(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((CONTENT_SECURITY_POLICY, "default-src 'none'; form-action 'self'"))
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
            escape_html(title)
        ))
}

async fn index(
    state: web::Data<DemoState>,
    session: Session,
    user: Result<CurrentUser, AuthError>,
) -> Result<HttpResponse, AuthError> {
    // Not `Option<CurrentUser>`: actix's `Option` extractor would turn a store that
    // cannot answer (503) into "not logged in".
    let user = match user {
        Ok(user) => Some(user),
        Err(AuthError::Web(WebError::LoginRequired)) => None,
        Err(e) => return Err(e),
    };
    // Browsers hold a form's redirects to `form-action` too: the logout form's 302 goes
    // on to the provider's end-session endpoint, which must be allowed.
    let end_session = match &user {
        Some(CurrentUser(user)) => end_session_origin(&state, &user.provider).await,
        None => None,
    };
    let body = match user {
        Some(CurrentUser(user)) => format!(
            "<h1>rpkit actix demo</h1><p>Logged in with <b>{provider}</b> as <b>{name}</b> &lt;{email}&gt;.</p>\
             <p><a href=\"/me\">/me</a> · <a href=\"/api/{provider_path}/userinfo\">/api/{provider}/userinfo</a></p>\
             {logout}",
            provider = escape_html(&user.provider),
            provider_path = escape_html(&path_segment(&user.provider)),
            name = escape_html(user.name().unwrap_or("(no name)")),
            email = escape_html(user.email().unwrap_or("no email")),
            logout = logout_form(&user.provider, &csrf_token(&session, &state.oauth)?),
        ),
        None => {
            let links = login_links(state.oauth.names());
            format!("<h1>rpkit actix demo</h1><p>Not logged in.</p><ul>{links}</ul>")
        }
    };
    let mut page = html(StatusCode::OK, "rpkit actix demo", &body);
    if let Some(csp) = end_session
        .and_then(|origin| HeaderValue::from_str(&format!("default-src 'none'; form-action 'self' {origin}")).ok())
    {
        page.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
    }
    Ok(page)
}

/// The origin of `provider`'s end-session endpoint (from its cached discovery document).
async fn end_session_origin(state: &DemoState, provider: &str) -> Option<String> {
    let metadata = state.client(provider).ok()?.load_server_metadata().await.ok()??;
    let endpoint = url::Url::parse(metadata.end_session_endpoint.as_deref()?).ok()?;
    Some(endpoint.origin().ascii_serialization())
}

fn redirect_uri(state: &DemoState, client: &OAuthClient) -> Option<String> {
    let config = client.config();
    if config.redirect_uri.is_some() || config.client_kwargs.redirect_uri.is_some() {
        return None;
    }
    Some(format!("{}/auth/{}/callback", state.base_url, path_segment(client.name())))
}

async fn login(
    state: web::Data<DemoState>,
    name: web::Path<String>,
    session: Session,
) -> Result<HttpResponse, AuthError> {
    let client = state.client(&name)?;
    let options = AuthorizeOptions { redirect_uri: redirect_uri(&state, &client), params: Vec::new() };
    authorize_redirect(&session, &client, &options).await
}

async fn callback(
    state: web::Data<DemoState>,
    name: web::Path<String>,
    session: Session,
    callback: Result<Callback, AuthError>,
) -> Result<HttpResponse, AuthError> {
    let client = state.client(&name)?;
    let callback = callback?;
    let action = format!("/auth/{}/callback", path_segment(client.name()));
    if let Some(page) = form_post_relay(&session, &callback, &action) {
        return Ok(page);
    }
    let user = complete_login(&session, &client, &callback).await?;
    tracing::info!(provider = %user.provider, sub = ?user.sub(), "logged in");
    Ok(see_other("/"))
}

async fn me(user: Result<CurrentUser, AuthError>) -> Result<HttpResponse, AuthError> {
    let CurrentUser(user) = user?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(user.profile_json()))
}

async fn api(
    state: web::Data<DemoState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    session: Session,
    user: Result<CurrentUser, AuthError>,
) -> Result<HttpResponse, AuthError> {
    let (name, rest) = path.into_inner();
    let client = state.client(&name)?;
    let CurrentUser(user) = user?;
    if user.provider != client.name() {
        return Err(WebError::LoginRequired.into());
    }
    // Only paths under `api_base_url`: an absolute URL would send the user's token to
    // whatever host the browser names (the core refuses a relative path that leaves the
    // base's origin, e.g. `//evil.example`).
    if url::Url::parse(&rest).is_ok() {
        return Err(WebError::BadRequest("the API path must be relative to api_base_url").into());
    }
    let target = match req.query_string() {
        "" => rest,
        q => format!("{rest}?{q}"),
    };
    let response = rpkit::client::web::api_get(&client, &user, &target).await?;
    if let Some(token) = response.refreshed.clone() {
        refresh_stored(&session, &user, token)?;
    }
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = response
        .response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    Ok(HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(response.response.into_body()))
}

fn refresh_stored(session: &Session, user: &AuthUser, token: rpkit::Token) -> Result<(), AuthError> {
    update_token(session, user, token)?;
    tracing::info!(provider = %user.provider, "stored the refreshed token in the session");
    Ok(())
}

async fn logout(
    state: web::Data<DemoState>,
    name: web::Path<String>,
    session: Session,
    form: Result<LogoutForm, AuthError>,
) -> Result<HttpResponse, AuthError> {
    let client = state.client(&name)?;
    let options = LogoutOptions {
        post_logout_redirect_uri: Some(format!("{}/logged-out", state.base_url)),
        ..LogoutOptions::default()
    };
    match logout_redirect(&session, &client, &form?, options).await {
        // A provider without an end-session endpoint (plain OAuth 2.0): the local logout
        // has happened; go home.
        Err(AuthError::Web(WebError::Client(ClientError::Core(rpkit::Error::Config(ConfigError::Missing {
            key,
            ..
        })))))
            if key == "end_session_endpoint" =>
        {
            Ok(see_other("/"))
        }
        other => other,
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).insert_header((CACHE_CONTROL, "no-store")).finish()
}

/// `{"error": code}` with the status, never cached.
fn json_error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).insert_header((CACHE_CONTROL, "no-store")).json(serde_json::json!({ "error": code }))
}

async fn not_found() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "not_found")
}

async fn logged_out(
    state: web::Data<DemoState>,
    req: HttpRequest,
    session: Session,
) -> Result<HttpResponse, AuthError> {
    // A wrong, missing, expired or repeated `state` is the browser's: 400 with its code.
    let done = validate_logout_response(&session, &state.oauth, req.query_string())?;
    let body = format!(
        "<h1>Logged out</h1><p>You are logged out of <b>{}</b>.</p><p><a href=\"/\">Home</a></p>",
        escape_html(&done.client)
    );
    Ok(html(StatusCode::OK, "Logged out", &body))
}

async fn backchannel(
    state: web::Data<DemoState>,
    revocations: web::Data<Revocations>,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<BackchannelResponse, AuthError> {
    let client = state.client(&name)?;
    let outcome = backchannel_logout(&client, &revocations, &body).await;
    match &outcome {
        Ok(target) => {
            tracing::info!(provider = %client.name(), sub = ?target.sub, sid = ?target.sid, "back-channel logout")
        }
        Err(e) => tracing::warn!(provider = %client.name(), error = %e, "back-channel logout rejected"),
    }
    Ok(BackchannelResponse::from(&outcome))
}
