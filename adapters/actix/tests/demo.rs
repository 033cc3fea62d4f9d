//! The demo app against the development provider, over loopback, with a reqwest
//! "browser" (cookie store on, redirects off) that follows every hop by hand.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;

use actix_session::storage::{CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use demo_app::{dev_client_config, start_dev_provider, Demo, DEV_CLIENT_ID};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use rpkit::client::{ManualClock, OAuth};
use rpkit::ClientConfig;
use rpkit_conformance::{DevProviderBuilder, RunningProvider};
use rpkit_reqwest::ReqwestClient;
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Upper bound of every test request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Harness {
    base: String,
    op: RunningProvider,
    browser: reqwest::Client,
    server: ServerHandle,
    /// The demo's clock (starts at the real time; only tests that need it move it).
    clock: Arc<ManualClock>,
    /// The demo's registry (shared: clients registered here are served at once).
    oauth: OAuth,
}

impl Harness {
    async fn start() -> Harness {
        Self::start_with(|b| b.auto_login("alice"), |c| c).await
    }

    async fn start_with(
        provider: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
        client: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Harness {
        let store = rpkit_actix::MemorySessionStore::new();
        Self::start_with_store(provider, client, move || store.clone()).await
    }

    async fn start_with_store<S: SessionStore + 'static>(
        provider: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
        client: impl FnOnce(ClientConfig) -> ClientConfig,
        store: impl Fn() -> S + Clone + Send + 'static,
    ) -> Harness {
        Self::start_full(provider, client, store, None).await
    }

    async fn start_full<S: SessionStore + 'static>(
        provider: impl FnOnce(DevProviderBuilder) -> DevProviderBuilder,
        client: impl FnOnce(ClientConfig) -> ClientConfig,
        store: impl Fn() -> S + Clone + Send + 'static,
        key: Option<Key>,
    ) -> Harness {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let op = start_dev_provider(&base, provider).await.expect("development provider starts");
        let http = ReqwestClient::builder().timeout(Duration::from_secs(5)).build().expect("http client");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        let clock = Arc::new(ManualClock::new(now));
        let oauth = OAuth::builder(http).clock(Arc::clone(&clock)).build();
        demo_app::log_token_updates(&oauth);
        oauth.register(client(dev_client_config(&op)));
        let mut demo = Demo::new(oauth.clone(), &base);
        if let Some(key) = key {
            demo = demo.with_key(key);
        }
        let server = demo.serve_with_store(listener, 1, store).expect("serve");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Harness { base, op, browser: browser(true), server: handle, clock, oauth }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.expect("request")
    }

    /// `/login/dev` → the provider (auto-login) → the callback URL, not yet visited.
    async fn start_login(&self) -> String {
        let r = self.get(&self.url("/login/dev")).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let authorize = location(&r);
        assert!(authorize.starts_with(&self.op.authorization_endpoint()), "{authorize}");
        let r = self.get(&authorize).await;
        assert_eq!(r.status(), StatusCode::FOUND, "the provider logs alice in at once");
        let callback = location(&r);
        assert!(callback.starts_with(&self.url("/auth/dev/callback?")), "{callback}");
        callback
    }

    async fn login(&self) {
        let callback = self.start_login().await;
        let r = self.get(&callback).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
        assert_eq!(location(&r), "/");
        let cookie = r.headers().get(SET_COOKIE).expect("a new session cookie at login").to_str().unwrap();
        // Browsers drop cookies over 4096 bytes; CookieSessionStore must fit the login.
        assert!(cookie.len() < 4096, "session cookie of {} bytes", cookie.len());
    }

    /// The logout button: the home page's form, `POST`ed with its CSRF token.
    async fn logout(&self, name: &str) -> reqwest::Response {
        let home = self.get(&self.url("/")).await.text().await.unwrap();
        let token = csrf_token_of(&home);
        self.browser.post(self.url(&format!("/logout/{name}"))).form(&[("csrf_token", token)]).send().await.unwrap()
    }

    async fn me(&self) -> (StatusCode, Value) {
        let r = self.get(&self.url("/me")).await;
        let status = r.status();
        (status, r.json().await.expect("JSON body"))
    }

    async fn stop(self) {
        self.server.stop(false).await;
        self.op.shutdown().await;
    }
}

/// The CSRF token in the logout form of a home page.
fn csrf_token_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no logout form in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn browser(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .expect("browser")
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get(LOCATION).expect("Location").to_str().expect("ASCII").to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| if k == name { (k.into_owned(), value.to_owned()) } else { (k.into_owned(), v.into_owned()) })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// The `name`/`value` pairs of the hidden inputs of a form page.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    };
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
                let len = tag[start..].find('"')?;
                Some(unescape(&tag[start..start + len]))
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

#[actix_web::test]
async fn full_login_then_me_api_and_home_page() {
    let h = Harness::start().await;
    let (status, body) = h.me().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "login_required");
    let home = h.get(&h.url("/")).await.text().await.unwrap();
    assert!(home.contains("<a href=\"/login/dev\">Log in with dev</a>"), "{home}");

    h.login().await;

    let (status, me) = h.me().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["provider"], "dev");
    assert_eq!(me["userinfo"]["email"], "alice@example.com");
    assert_eq!(me["userinfo"]["sub"], me["id_token_claims"]["sub"]);
    assert_eq!(me["id_token_claims"]["iss"], h.op.issuer());
    assert_eq!(me["id_token_claims"]["aud"], DEV_CLIENT_ID);

    let home = h.get(&h.url("/")).await;
    assert_eq!(home.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let home = home.text().await.unwrap();
    assert!(home.contains("Alice Example") && home.contains("alice@example.com"), "{home}");
    assert!(home.contains("<form method=\"post\" action=\"/logout/dev\">"), "{home}");
    assert!(csrf_token_of(&home).len() >= 43, "{home}");

    let api = h.get(&h.url("/api/dev/userinfo")).await;
    assert_eq!(api.status(), StatusCode::OK);
    let claims: Value = api.json().await.unwrap();
    assert_eq!(claims["sub"], me["id_token_claims"]["sub"]);
    h.stop().await;
}

#[actix_web::test]
async fn session_cookie_is_http_only_lax_and_not_secure_over_http() {
    let h = Harness::start().await;
    let r = h.get(&h.url("/login/dev")).await;
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let cookie = r.headers().get(SET_COOKIE).expect("session cookie").to_str().unwrap().to_owned();
    assert!(cookie.starts_with("rpkit_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    h.stop().await;
}

#[actix_web::test]
async fn logout_redirects_to_the_end_session_endpoint_and_checks_the_state() {
    let h = Harness::start().await;
    h.login().await;
    let r = h.logout("dev").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let end_session = location(&r);
    assert!(end_session.starts_with(&h.op.end_session_endpoint()), "{end_session}");
    assert!(query_param(&end_session, "id_token_hint").is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(query_param(&end_session, "post_logout_redirect_uri").unwrap(), h.url("/logged-out"));
    let state = query_param(&end_session, "state").expect("state");

    // The local session is gone at once.
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);

    // A wrong state is refused and does not consume the pending one.
    let r = h.get(&h.url("/logged-out?state=not-the-state")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("state_unknown"));
    let r = h.get(&h.url("/logged-out")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("state_missing"));

    // The provider sends the browser back with the state.
    let r = h.get(&end_session).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = location(&r);
    assert!(back.starts_with(&h.url("/logged-out?")), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some(state.as_str()));
    let r = h.get(&back).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("logged out of <b>dev</b>"));

    // Single use.
    let r = h.get(&back).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    h.stop().await;
}

#[actix_web::test]
async fn backchannel_logout_ends_the_session() {
    let h = Harness::start().await;
    h.login().await;
    assert_eq!(h.me().await.0, StatusCode::OK);

    let deliveries = h.op.backchannel_logout("alice").await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");

    let (status, body) = h.me().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "login_required");
    assert_eq!(h.get(&h.url("/api/dev/userinfo")).await.status(), StatusCode::UNAUTHORIZED);
    let home = h.get(&h.url("/")).await.text().await.unwrap();
    assert!(home.contains("Log in with dev"), "{home}");

    // A new login after the logout is not affected.
    h.login().await;
    assert_eq!(h.me().await.0, StatusCode::OK);
    h.stop().await;
}

#[actix_web::test]
async fn invalid_backchannel_logout_is_400_and_no_store() {
    let h = Harness::start().await;
    h.login().await;
    let post = |body: &'static str| {
        h.browser
            .post(h.url("/backchannel-logout/dev"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for body in ["", "logout_token=not.a.jwt", "logout_token=eyJhbGciOiJub25lIn0.e30."] {
        let r = post(body).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }
    assert_eq!(h.me().await.0, StatusCode::OK, "a rejected logout token ends nothing");
    h.stop().await;
}

#[actix_web::test]
async fn callback_with_wrong_state_is_400_and_logs_nobody_in() {
    let h = Harness::start().await;
    let callback = h.start_login().await;

    let forged = with_param(&callback, "state", "forged-state");
    let r = h.get(&forged).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "state_unknown");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);

    let r = h.get(&with_param(&callback, "iss", "https://evil.example")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_iss");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);

    // The mix-up attempt consumed that state: the genuine callback no longer works.
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "state_unknown");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn replayed_callback_is_400_and_keeps_the_first_login() {
    let h = Harness::start().await;
    let callback = h.start_login().await;
    assert_eq!(h.get(&callback).await.status(), StatusCode::SEE_OTHER);
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "state_unknown");
    assert_eq!(h.me().await.0, StatusCode::OK);
    h.stop().await;
}

#[actix_web::test]
async fn provider_error_in_the_callback_is_400_with_its_code() {
    let h = Harness::start().await;
    h.op.behavior().update(|b| b.authorize_error = Some("access_denied".into()));
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "access_denied");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn bad_id_token_is_400_and_logs_nobody_in() {
    let h = Harness::start().await;
    h.op.behavior().update(|b| b.id_token_audience = Some("someone-else".into()));
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_id_token");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn provider_down_during_the_callback_is_502_and_logs_nobody_in() {
    let h = Harness::start().await;
    let callback = h.start_login().await;
    let Harness { base, op, browser, server, .. } = h;
    op.shutdown().await;
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "provider_unreachable");
    let r = browser.get(format!("{base}/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    server.stop(false).await;
}

#[actix_web::test]
async fn provider_5xx_at_the_token_endpoint_is_502() {
    let h = Harness::start().await;
    h.op.behavior().update(|b| b.html_500 = Some(rpkit_conformance::Endpoint::Token));
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "provider_http_error");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);

    // The pending login was consumed all the same: once the provider is back, the same
    // callback is refused rather than retried.
    h.op.behavior().reset();
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "state_unknown");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn api_refuses_absolute_urls_and_other_providers() {
    let h = Harness::start().await;
    assert_eq!(h.get(&h.url("/api/dev/userinfo")).await.status(), StatusCode::UNAUTHORIZED);
    h.login().await;
    let r = h.get(&h.url("/api/dev/http://127.0.0.1:9/steal")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = h.get(&h.url("/api/dev//127.0.0.1:9/steal")).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    // A token from `dev` is never sent to another provider.
    h.oauth.register(ClientConfig::new("other").client_id("x").api_base_url("http://127.0.0.1:9/"));
    let r = h.get(&h.url("/api/other/userinfo")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h.get(&h.url("/api/dev/userinfo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    h.stop().await;
}

#[actix_web::test]
async fn logout_from_a_provider_without_end_session_endpoint_goes_home() {
    let h = Harness::start().await;
    h.oauth.register(
        ClientConfig::new("plain")
            .client_id("plain-id")
            .authorize_url(h.op.authorization_endpoint())
            .access_token_url(h.op.token_endpoint()),
    );
    h.login().await;
    let r = h.logout("plain").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED, "the local logout happened");
    h.stop().await;
}

#[actix_web::test]
async fn unknown_routes_are_404_json() {
    let h = Harness::start().await;
    let r = h.get(&h.url("/nowhere")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not_found");
    let r = h.get(&h.url("/login/nope")).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unknown_client");
    h.stop().await;
}

#[actix_web::test]
async fn api_refreshes_an_expiring_token_and_stores_the_new_one() {
    let h = Harness::start_with(|b| b.auto_login("alice").access_token_lifetime(Duration::from_secs(120)), |c| c).await;
    h.login().await;
    assert_eq!(h.op.counters().token, 1);

    let r = h.get(&h.url("/api/dev/userinfo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h.op.counters().token, 1, "a fresh token is used as it is");

    // Access tokens live two minutes; one minute later the token is within the 60 s leeway.
    h.clock.advance(61);
    let r = h.get(&h.url("/api/dev/userinfo")).await;
    let status = r.status();
    assert_eq!(status, StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(h.op.counters().token, 2, "one refresh before the call");

    // The refreshed token (with the rotated refresh token) was stored in the session:
    // a minute later, the next call refreshes with it. With the old, spent refresh
    // token the provider would answer `invalid_grant` and the call would fail.
    h.clock.advance(61);
    let r = h.get(&h.url("/api/dev/userinfo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h.op.counters().token, 3);
    let last = h.op.last_token_request().expect("a token request");
    assert_eq!(last.params.get("grant_type").map(String::as_str), Some("refresh_token"));
    assert_eq!(h.me().await.0, StatusCode::OK);
    h.stop().await;
}

#[actix_web::test]
async fn form_post_callback_logs_in_and_a_cookieless_post_gets_the_relay_page() {
    let h = Harness::start_with(|b| b.auto_login("alice"), |c| c.authorize_param("response_mode", "form_post")).await;
    let r = h.get(&h.url("/login/dev")).await;
    let r = h.get(&location(&r)).await;
    assert_eq!(r.status(), StatusCode::OK, "form_post answers with an auto-submitting page");
    let fields = hidden_inputs(&r.text().await.unwrap());
    assert!(fields.iter().any(|(k, _)| k == "code"), "{fields:?}");

    // Without the session cookie (a cross-site POST with SameSite=Lax): the relay page.
    let r = browser(false).post(h.url("/auth/dev/callback")).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    let relayed = hidden_inputs(&r.text().await.unwrap());
    assert!(relayed.contains(&("rpkit_relay".to_owned(), "1".to_owned())), "{relayed:?}");
    for field in &fields {
        assert!(relayed.contains(field), "{field:?} is re-posted unchanged");
    }
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);

    // The relay page re-posts from our origin, with the cookie.
    let r = h.browser.post(h.url("/auth/dev/callback")).form(&relayed).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, me) = h.me().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["userinfo"]["email"], "alice@example.com");
    h.stop().await;
}

#[actix_web::test]
async fn unknown_provider_names_are_404() {
    let h = Harness::start().await;
    h.login().await;
    let r = h.browser.post(h.url("/logout/nope")).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for path in ["/login/nope", "/auth/nope/callback?code=c&state=s", "/api/nope/userinfo"] {
        assert_eq!(h.get(&h.url(path)).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = h.browser.post(h.url("/auth/nope/callback")).form(&[("code", "c")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = h.browser.post(h.url("/backchannel-logout/nope")).form(&[("logout_token", "x")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.me().await.0, StatusCode::OK, "still logged in");
    h.stop().await;
}

#[actix_web::test]
async fn home_page_escapes_the_users_name() {
    let h = Harness::start_with(|b| b.auto_login("bob"), |c| c).await;
    h.login().await;
    let home = h.get(&h.url("/")).await.text().await.unwrap();
    assert!(home.contains("Bob &lt;Builder&gt;"), "{home}");
    assert!(!home.contains("<Builder>"), "{home}");
    h.stop().await;
}

/// A server-side store (the shape of `RedisSessionStore`: the cookie carries only a
/// random id), in memory.
#[derive(Clone, Default)]
struct MemoryStore(Arc<Mutex<HashMap<String, HashMap<String, String>>>>);

impl MemoryStore {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, String>>> {
        self.0.lock().unwrap()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        Ok(self.sessions().get(key.as_ref()).cloned())
    }

    async fn save(&self, state: HashMap<String, String>, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let id = rpkit::rand::random_token(&rpkit::rand::SystemRandom::new(), 32)
            .map_err(|_| SaveError::Other(anyhow::anyhow!("random source failed")))?;
        self.sessions().insert(id.clone(), state);
        SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        self.sessions().insert(key.as_ref().to_owned(), state);
        Ok(key)
    }

    async fn update_ttl(&self, _key: &SessionKey, _ttl: &CookieDuration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.sessions().remove(key.as_ref());
        Ok(())
    }
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("rpkit_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

#[actix_web::test]
async fn server_side_store_keeps_only_serde_data_and_renews_the_session_id_at_login() {
    let store = MemoryStore::default();
    let shared = store.clone();
    let h = Harness::start_with_store(|b| b.auto_login("alice"), |c| c, move || shared.clone()).await;

    let r = h.get(&h.url("/login/dev")).await;
    let before = session_cookie(&r).expect("a session cookie for the pending login");
    assert_eq!(store.sessions().len(), 1);
    let pending = store.sessions().values().next().unwrap()["rpkit.pending"].clone();
    let entries: Vec<Value> = serde_json::from_str(&pending).expect("the pending set is JSON");
    assert_eq!(entries.len(), 1);

    let r = h.get(&location(&r)).await;
    let r = h.get(&location(&r)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = session_cookie(&r).expect("a new session cookie at login");
    assert_ne!(before, after, "session fixation: the id changes at login");
    let sessions = store.sessions().clone();
    assert_eq!(sessions.len(), 1, "the pre-login session is deleted");
    let state = sessions.values().next().unwrap();
    assert!(!state.contains_key("rpkit.pending"), "the pending login is consumed");
    let user: Value = serde_json::from_str(&state["rpkit.user"]).expect("the user is JSON");
    assert_eq!(user["provider"], "dev");
    assert!(user["token"]["id_token"].is_string());
    assert_eq!(user["userinfo"]["email"], "alice@example.com");

    let (status, me) = h.me().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["userinfo"]["email"], "alice@example.com");

    // Back-channel logout ends it here too.
    h.op.backchannel_logout("alice").await;
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn api_with_a_refused_refresh_is_401() {
    let h = Harness::start_with(|b| b.auto_login("alice").access_token_lifetime(Duration::from_secs(120)), |c| c).await;
    h.login().await;
    h.clock.advance(61);
    h.op.behavior().update(|b| b.token_error = Some("invalid_grant".into()));
    let r = h.get(&h.url("/api/dev/userinfo")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    h.stop().await;
}

#[actix_web::test]
async fn callback_from_another_browser_is_400() {
    let h = Harness::start().await;
    let callback = h.start_login().await;
    let other = browser(true);
    let r = other.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "state_unknown");
    let r = other.get(h.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn userinfo_of_another_subject_is_400_and_logs_nobody_in() {
    let h = Harness::start().await;
    h.op.behavior().update(|b| b.userinfo_sub = Some("mallory".into()));
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_userinfo");
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn relayed_form_post_without_a_session_is_400_not_a_loop() {
    let h = Harness::start().await;
    let r = browser(false)
        .post(h.url("/auth/dev/callback"))
        .form(&[("code", "c"), ("state", "s"), ("rpkit_relay", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "state_unknown");
    h.stop().await;
}

#[actix_web::test]
async fn tampered_session_cookie_is_an_empty_session() {
    let h = Harness::start().await;
    h.login().await;
    let forged = browser(false);
    for cookie in ["rpkit_session=garbage", "rpkit_session=", "rpkit_session=%00%ff"] {
        let r = forged.get(h.url("/me")).header(reqwest::header::COOKIE, cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{cookie}");
    }
    assert_eq!(h.me().await.0, StatusCode::OK);
    h.stop().await;
}

#[actix_web::test]
async fn login_started_on_one_instance_finishes_on_another_sharing_the_cookie_key() {
    let key = demo_app::session_key_from_base64("q2mN3X7pW0m8h9gE1c5vR4tYb6uJ2kL0o3iA8sD7fQw").unwrap();
    let a = Harness::start_full(|b| b.auto_login("alice"), |c| c, CookieSessionStore::default, Some(key.clone())).await;
    // B: a second app with the same key and the same client registration at the provider.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let b_base = format!("http://{}", listener.local_addr().unwrap());
    let oauth_b = OAuth::new(ReqwestClient::new().unwrap());
    oauth_b.register(dev_client_config(&a.op).redirect_uri(a.url("/auth/dev/callback")));
    let server_b =
        Demo::new(oauth_b, &b_base).with_key(key).serve_with_store(listener, 1, CookieSessionStore::default).unwrap();
    let handle_b = server_b.handle();
    actix_web::rt::spawn(server_b);

    let callback = a.start_login().await;
    let on_b = callback.replacen(&a.base, &b_base, 1);
    assert_ne!(on_b, callback);
    let r = a.get(&on_b).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    // Loopback cookies are not isolated by port, so both instances see the login.
    let r = a.get(&format!("{b_base}/me")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(a.me().await.0, StatusCode::OK);
    handle_b.stop(false).await;
    a.stop().await;
}

#[test]
fn session_key_must_be_base64_of_32_bytes() {
    assert!(demo_app::session_key_from_base64("q2mN3X7pW0m8h9gE1c5vR4tYb6uJ2kL0o3iA8sD7fQw=").is_ok());
    assert!(demo_app::session_key_from_base64("q2mN3X7pW0m8h9gE1c5vR4tYb6uJ2kL0o3iA8sD7fQ").is_err());
    assert!(demo_app::session_key_from_base64("").is_err());
    assert!(demo_app::session_key_from_base64("not base64 at all!").is_err());
}

#[actix_web::test]
async fn session_id_changes_at_login_and_at_logout() {
    let store = MemoryStore::default();
    let shared = store.clone();
    let h = Harness::start_with_store(|b| b.auto_login("alice"), |c| c, move || shared.clone()).await;
    h.login().await;
    let before: Vec<String> = store.sessions().keys().cloned().collect();
    assert_eq!(before.len(), 1);
    let r = h.logout("dev").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let after: Vec<String> = store.sessions().keys().cloned().collect();
    assert_eq!(after.len(), 1, "only the new session, holding the pending logout");
    assert_ne!(before, after);
    let state = store.sessions()[&after[0]].clone();
    assert!(!state.contains_key("rpkit.user"));
    assert!(state.contains_key("rpkit.logout"));
    h.stop().await;
}

#[actix_web::test]
async fn logout_by_get_does_not_end_the_session() {
    let h = Harness::start().await;
    h.login().await;
    // A link, an <img> or a prefetch on any page must not log the user out.
    for url in [h.url("/logout/dev"), h.url("/logout/dev?csrf_token=x")] {
        let r = h.get(&url).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{url}");
    }
    assert_eq!(h.me().await.0, StatusCode::OK, "the session survives a GET");
    h.stop().await;
}

#[actix_web::test]
async fn logout_without_the_sessions_csrf_token_is_403_and_the_session_survives() {
    let h = Harness::start().await;
    h.login().await;
    let url = h.url("/logout/dev");
    let forms: Vec<Vec<(&str, &str)>> =
        vec![vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")], vec![], vec![("other", "1")]];
    for form in forms {
        let r = h.browser.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "csrf_mismatch");
    }
    assert_eq!(h.browser.post(&url).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.me().await.0, StatusCode::OK, "the session is untouched");
    assert_eq!(h.logout("dev").await.status(), StatusCode::FOUND);
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[actix_web::test]
async fn head_on_the_callback_is_405_and_the_real_callback_still_succeeds() {
    let h = Harness::start().await;
    let callback = h.start_login().await;
    // A link prefetcher's HEAD must not spend the pending state.
    let head = h.browser.head(&callback).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = h.get(&callback).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    assert_eq!(h.me().await.0, StatusCode::OK);
    h.stop().await;
}

#[actix_web::test]
async fn logout_with_the_default_store_ends_every_copy_of_the_session_cookie() {
    let h = Harness::start().await;
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    let copied = session_cookie(&r).expect("the logged-in cookie");
    let other = browser(false);
    let with_copy =
        || other.get(h.url("/me")).header(reqwest::header::COOKIE, format!("rpkit_session={copied}")).send();
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::OK, "the copy works before");
    assert_eq!(h.logout("dev").await.status(), StatusCode::FOUND);
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::UNAUTHORIZED, "the server-side session is gone");
    h.stop().await;
}

#[actix_web::test]
async fn copied_cookie_store_session_is_refused_after_a_backchannel_logout() {
    let h = Harness::start_with_store(|b| b.auto_login("alice"), |c| c, CookieSessionStore::default).await;
    let callback = h.start_login().await;
    let r = h.get(&callback).await;
    let copied = session_cookie(&r).expect("the logged-in cookie");
    let other = browser(false);
    let with_copy =
        || other.get(h.url("/me")).header(reqwest::header::COOKIE, format!("rpkit_session={copied}")).send();
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::OK);
    h.op.backchannel_logout("alice").await;
    // CurrentUser checks the revocations on every request, whichever copy comes.
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.me().await.0, StatusCode::UNAUTHORIZED);
    h.stop().await;
}
