//! The demo app's HTTP contract, driven over loopback against the development provider
//! with a cookie-keeping, non-redirecting HTTP client.

use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use rpkit::client::{ManualClock, OAuth};
use rpkit::ClientConfig;
#[path = "../examples/support/demo_app.rs"]
mod demo_app;

use demo_app::{app, DemoOptions, DemoSessions};
use rpkit_axum::CookieKey;
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser, Endpoint, RunningProvider};
use rpkit_reqwest::ReqwestClient;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const CLIENT_ID: &str = "demo-client";
const CLIENT_SECRET: &str = "demo-secret";
/// Every request of these tests is bounded.
const TIMEOUT: Duration = Duration::from_secs(20);

/// One running demo app.
struct App {
    base: String,
    task: JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The development provider and one or more demo apps registered with it.
struct Harness {
    op: RunningProvider,
    apps: Vec<App>,
}

impl Harness {
    fn app(&self) -> &str {
        &self.apps[0].base
    }
}

/// What to vary between tests.
#[derive(Clone)]
struct Setup {
    instances: usize,
    sessions: DemoSessions,
    response_mode: Option<&'static str>,
    clock: Option<Arc<ManualClock>>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup { instances: 1, sessions: DemoSessions::Memory, response_mode: None, clock: None }
    }
}

async fn start(setup: Setup) -> Harness {
    // Bind first: the provider must know the apps' redirect URIs.
    let mut listeners = Vec::new();
    for _ in 0..setup.instances {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listeners.push((listener, base));
    }
    let mut registration = ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET);
    for (_, base) in &listeners {
        let options = DemoOptions::new(url::Url::parse(base).unwrap());
        registration = registration
            .redirect_uri(options.redirect_uri("dev"))
            .post_logout_redirect_uri(options.post_logout_redirect_uri());
    }
    // The first instance gets the back-channel logouts.
    let first = DemoOptions::new(url::Url::parse(&listeners[0].1).unwrap());
    registration = registration.backchannel_logout_uri(first.backchannel_logout_uri("dev"));
    let op = DevProvider::builder()
        .client(registration)
        .user(DevUser::new("alice").name("Alice <Example>").email("alice@example.com"))
        .auto_login("alice")
        .start()
        .await
        .unwrap();

    let revocations = rpkit_axum::Revocations::new();
    let mut apps = Vec::new();
    for (listener, base) in listeners {
        let http = ReqwestClient::builder().timeout(Duration::from_secs(3)).build().unwrap();
        let oauth = match &setup.clock {
            Some(clock) => OAuth::builder(http).shared_clock(clock.clone()).build(),
            None => OAuth::new(http),
        };
        let mut config = ClientConfig::new("dev")
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .server_metadata_url(op.discovery_url())
            .api_base_url(format!("{}/", op.issuer()))
            .scope("openid profile email offline_access");
        config.client_kwargs.response_mode = setup.response_mode.map(str::to_owned);
        if setup.clock.is_some() {
            // The app's clock runs ahead of the provider's: accept its ID tokens' `iat`.
            config.client_kwargs.id_token_max_age = Some(86_400);
        }
        oauth.register(config);
        let mut options = DemoOptions::new(url::Url::parse(&base).unwrap()).sessions(setup.sessions.clone());
        options.revocations = Some(revocations.clone());
        let router = app(oauth, options);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        apps.push(App { base, task });
    }
    Harness { op, apps }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).expect("a Location header").to_str().unwrap().to_owned()
}

fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `/login/dev` → the provider (auto-login) → the callback URL it sends the browser to.
async fn start_login(browser: &reqwest::Client, base: &str) -> String {
    let login = browser.get(format!("{base}/login/dev")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let at_op = browser.get(location(&login)).send().await.unwrap();
    assert_eq!(at_op.status(), StatusCode::FOUND, "the provider should redirect back at once");
    location(&at_op)
}

/// A whole login; returns nothing but leaves the browser logged in.
async fn log_in(browser: &reqwest::Client, base: &str) {
    let callback = start_login(browser, base).await;
    let done = browser.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    assert_eq!(location(&done), "/");
}

/// The CSRF token in the logout form of an index page.
fn csrf_token_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no logout form in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The logout button: the index page's form, `POST`ed with its CSRF token.
async fn log_out(browser: &reqwest::Client, base: &str) -> reqwest::Response {
    let index = browser.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    let token = csrf_token_of(&index);
    browser.post(format!("{base}/logout/dev")).form(&[("csrf_token", token.as_str())]).send().await.unwrap()
}

async fn me(browser: &reqwest::Client, base: &str) -> (StatusCode, Value) {
    let response = browser.get(format!("{base}/me")).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn full_login_shows_the_user_on_me_and_the_index_page() {
    let h = start(Setup::default()).await;
    let b = browser();
    let index = b.get(format!("{}/", h.app())).send().await.unwrap().text().await.unwrap();
    assert!(index.contains("<a href=\"/login/dev\">Log in with dev</a>"), "{index}");

    log_in(&b, h.app()).await;

    let (status, body) = me(&b, h.app()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["provider"], "dev");
    assert_eq!(body["userinfo"]["sub"], "alice");
    assert_eq!(body["userinfo"]["email"], "alice@example.com");
    assert_eq!(body["id_token_claims"]["sub"], "alice");
    assert_eq!(body["id_token_claims"]["iss"], h.op.issuer());
    assert_eq!(body["id_token_claims"]["aud"], CLIENT_ID);

    let index = b.get(format!("{}/", h.app())).send().await.unwrap().text().await.unwrap();
    assert!(index.contains("alice@example.com"), "{index}");
    assert!(index.contains("Alice &lt;Example&gt;"), "the name must be escaped: {index}");
    assert!(!index.contains("Alice <Example>"));
    assert!(index.contains("<form method=\"post\" action=\"/logout/dev\">"), "{index}");
    assert!(csrf_token_of(&index).len() >= 43, "{index}");
}

#[tokio::test]
async fn authorization_request_carries_state_nonce_pkce_and_our_redirect_uri() {
    let h = start(Setup::default()).await;
    let b = browser();
    let login = b.get(format!("{}/login/dev", h.app())).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    assert_eq!(login.headers()[CACHE_CONTROL], "no-store");
    let url = location(&login);
    assert!(url.starts_with(&h.op.authorization_endpoint()));
    let q = query(&url);
    assert_eq!(q["redirect_uri"], format!("{}/auth/dev/callback", h.app()));
    assert_eq!(q["scope"], "openid profile email offline_access");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q.contains_key("state") && q.contains_key("nonce"));
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_not_secure_over_http() {
    let h = start(Setup::default()).await;
    let login = browser().get(format!("{}/login/dev", h.app())).send().await.unwrap();
    let cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("rpkit_demo="), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"));
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rpkit_demo="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn session_id_changes_at_login_and_at_logout() {
    let h = start(Setup::default()).await;
    let b = browser();
    let login = b.get(format!("{}/login/dev", h.app())).send().await.unwrap();
    let before = session_cookie(&login).unwrap();
    let at_op = b.get(location(&login)).send().await.unwrap();
    let done = b.get(location(&at_op)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let logged_in = session_cookie(&done).expect("a new session id at login");
    assert_ne!(before, logged_in);
    let logout = log_out(&b, h.app()).await;
    let after = session_cookie(&logout).expect("a new session for the pending logout");
    assert_ne!(after, logged_in);
    // the old id names nothing any more
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let stolen = plain.get(format!("{}/me", h.app())).header("cookie", &logged_in).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn me_without_login_is_401_json() {
    let h = start(Setup::default()).await;
    let (status, body) = me(&browser(), h.app()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "login_required");
}

#[tokio::test]
async fn api_calls_the_provider_with_the_users_token() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;
    let response = b.get(format!("{}/api/dev/userinfo", h.app())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], "alice");
    // the token goes only to the provider's API origin
    for path in ["http://127.0.0.1:9/steal", "HTTPS://evil.example/x", "mailto:x@evil.example", "//evil.example/x"] {
        let response = b.get(format!("{}/api/dev/{path}", h.app())).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    // without a login, nothing is sent
    let anonymous = browser().get(format!("{}/api/dev/userinfo", h.app())).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_refreshes_an_expiring_token_and_keeps_the_new_one_in_the_session() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let clock = Arc::new(ManualClock::new(now));
    let h = start(Setup { clock: Some(clock.clone()), ..Setup::default() }).await;
    let b = browser();
    log_in(&b, h.app()).await;
    let after_login = h.op.counters().get(Endpoint::Token);

    // 59 minutes later the one-hour token is within the 60 s leeway: refreshed first.
    clock.advance(3600 - 30);
    let response = b.get(format!("{}/api/dev/userinfo", h.app())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    assert_eq!(h.op.counters().get(Endpoint::Token) - after_login, 1, "one refresh");

    // Past the client's memory of that refresh, only the stored new token works: the old
    // refresh token was rotated away by the provider.
    clock.advance(400);
    let response = b.get(format!("{}/api/dev/userinfo", h.app())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    assert_eq!(h.op.counters().get(Endpoint::Token) - after_login, 1, "the stored token is fresh");
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn api_with_a_refused_refresh_is_401() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let clock = Arc::new(ManualClock::new(now));
    let h = start(Setup { clock: Some(clock.clone()), ..Setup::default() }).await;
    let b = browser();
    log_in(&b, h.app()).await;
    clock.advance(3600);
    h.op.behavior().update(|b| b.token_error = Some("invalid_grant".into()));
    let response = b.get(format!("{}/api/dev/userinfo", h.app())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn logout_redirects_to_end_session_and_logged_out_accepts_only_the_pending_state() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;

    let logout = log_out(&b, h.app()).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session = location(&logout);
    assert!(end_session.starts_with(&h.op.end_session_endpoint()), "{end_session}");
    let q = query(&end_session);
    assert_eq!(q["post_logout_redirect_uri"], format!("{}/logged-out", h.app()));
    assert!(q["id_token_hint"].split('.').count() >= 3);
    let state = q["state"].clone();
    assert!(state.len() >= 22);

    // The local session is gone at once.
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);

    // A wrong state is refused, and does not spend the right one.
    let bad = b.get(format!("{}/logged-out?state=not-the-state", h.app())).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "state_unknown");
    let missing = b.get(format!("{}/logged-out", h.app())).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    // The provider sends the browser back with the state.
    let at_op = b.get(&end_session).send().await.unwrap();
    assert_eq!(at_op.status(), StatusCode::FOUND);
    let back = location(&at_op);
    assert_eq!(query(&back)["state"], state);
    let ok = b.get(&back).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("logged out"));

    // Single use.
    let replay = b.get(&back).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn backchannel_logout_ends_the_session() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);

    let deliveries = h.op.backchannel_logout("alice").await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");

    let (status, body) = me(&b, h.app()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "login_required");
    // and a new login works again
    log_in(&b, h.app()).await;
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn backchannel_logout_with_a_bad_token_is_400_no_store() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;
    for body in ["", "logout_token=", "logout_token=a.b.c", "foo=bar"] {
        let response = b
            .post(format!("{}/backchannel-logout/dev", h.app()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }
    // A logout token with a nonce is refused too, and ends nothing.
    h.op.behavior().update(|b| {
        b.logout_token_set_claims.insert("nonce".into(), "n".into());
    });
    let deliveries = h.op.backchannel_logout("alice").await;
    assert_eq!(deliveries[0].status, Some(400), "{deliveries:?}");
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn callback_with_wrong_state_is_400_and_logs_nobody_in() {
    let h = start(Setup::default()).await;
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { "forged".to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "state_unknown");
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.op.counters().get(Endpoint::Token), 0, "no token request on a bad state");
}

#[tokio::test]
async fn replayed_callback_is_400() {
    let h = start(Setup::default()).await;
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    assert_eq!(b.get(&callback).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let replay = b.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(replay.json::<Value>().await.unwrap()["error"], "state_unknown");
}

#[tokio::test]
async fn callback_from_another_browser_is_400() {
    let h = start(Setup::default()).await;
    let callback = start_login(&browser(), h.app()).await;
    let other = browser();
    let response = other.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&other, h.app()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provider_error_in_the_callback_is_400_with_its_code() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| b.authorize_error = Some("access_denied".into()));
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let response = b.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "access_denied");
}

#[tokio::test]
async fn bad_id_token_is_400_and_logs_nobody_in() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| b.id_token_bad_signature = true);
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let response = b.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn userinfo_of_another_subject_is_400_and_logs_nobody_in() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| b.userinfo_sub = Some("mallory".into()));
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let response = b.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_userinfo");
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_endpoint_down_is_502_and_logs_nobody_in() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| b.html_500 = Some(Endpoint::Token));
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let response = b.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
    // The pending authorization was consumed: retrying the same callback is a state error.
    h.op.behavior().reset();
    assert_eq!(b.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unreachable_provider_is_502() {
    let h = start(Setup::default()).await;
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let Harness { op, apps } = h;
    op.shutdown().await;
    let response = b.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    drop(apps);
}

#[tokio::test]
async fn login_started_on_one_instance_finishes_on_another_with_the_cookie_store() {
    let key = CookieKey::generate().unwrap();
    let h = start(Setup { instances: 2, sessions: DemoSessions::Cookie(key), ..Setup::default() }).await;
    let (a, b_base) = (&h.apps[0].base, &h.apps[1].base);
    let b = browser();
    // Start on A (A's redirect URI), then hand the callback to B.
    let callback = start_login(&b, a).await;
    let on_b = callback.replacen(a.as_str(), b_base, 1);
    assert_ne!(on_b, callback);
    let done = b.get(&on_b).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    // Loopback cookies are not isolated by port, so both instances see the login.
    assert_eq!(me(&b, b_base).await.1["userinfo"]["sub"], "alice");
    assert_eq!(me(&b, a).await.0, StatusCode::OK);
}

#[tokio::test]
async fn cookie_store_login_fits_in_the_cookie_and_logs_out() {
    let key = CookieKey::generate().unwrap();
    let h = start(Setup { sessions: DemoSessions::Cookie(key), ..Setup::default() }).await;
    let b = browser();
    log_in(&b, h.app()).await;
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
    let logout = log_out(&b, h.app()).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
    // back-channel logout works without a server-side session store
    log_in(&b, h.app()).await;
    h.op.backchannel_logout("alice").await;
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tampered_session_cookie_is_an_empty_session() {
    let key = CookieKey::generate().unwrap();
    let h = start(Setup { sessions: DemoSessions::Cookie(key), ..Setup::default() }).await;
    let b = browser();
    log_in(&b, h.app()).await;
    let plain = reqwest::Client::builder().redirect(redirect::Policy::none()).no_proxy().build().unwrap();
    for forged in ["rpkit_demo=AAAA", "rpkit_demo=", "rpkit_demo=%00%ff"] {
        let response = plain.get(format!("{}/me", h.app())).header("cookie", forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{forged}");
    }
}

/// The provider's form_post page: its action and fields.
fn form_fields(page: &str) -> (String, Vec<(String, String)>) {
    fn attr(tag: &str, name: &str) -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    }
    let form_start = page.find("<form").unwrap();
    let action = attr(&page[form_start..], "action").unwrap();
    let fields =
        page.split("<input").skip(1).filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value")?))).collect();
    (action, fields)
}

async fn form_post_page(b: &reqwest::Client, base: &str) -> String {
    let login = b.get(format!("{base}/login/dev")).send().await.unwrap();
    let at_op = b.get(location(&login)).send().await.unwrap();
    assert_eq!(at_op.status(), StatusCode::OK, "form_post answers with a page");
    at_op.text().await.unwrap()
}

#[tokio::test]
async fn form_post_callback_logs_in() {
    let h = start(Setup { response_mode: Some("form_post"), ..Setup::default() }).await;
    let b = browser();
    let page = form_post_page(&b, h.app()).await;
    let (action, fields) = form_fields(&page);
    assert_eq!(action, format!("{}/auth/dev/callback", h.app()));
    let done = b.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    assert_eq!(me(&b, h.app()).await.1["userinfo"]["sub"], "alice");
}

#[tokio::test]
async fn form_post_without_the_lax_cookie_is_relayed_through_a_same_origin_page() {
    let h = start(Setup { response_mode: Some("form_post"), ..Setup::default() }).await;
    let b = browser();
    let page = form_post_page(&b, h.app()).await;
    let (action, fields) = form_fields(&page);

    // A cross-site POST: the browser withholds the SameSite=Lax cookie.
    let cookieless = reqwest::Client::builder().redirect(redirect::Policy::none()).no_proxy().build().unwrap();
    let relay = cookieless.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(relay.status(), StatusCode::OK);
    assert_eq!(relay.headers()[CACHE_CONTROL], "no-store");
    let relay_page = relay.text().await.unwrap();
    let (relay_action, relay_fields) = form_fields(&relay_page);
    assert_eq!(relay_action, "/auth/dev/callback");
    assert!(relay_fields.contains(&("rpkit_relay".to_owned(), "1".to_owned())));

    // The page's same-origin POST carries the cookie.
    let done = b.post(format!("{}{relay_action}", h.app())).form(&relay_fields).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn relayed_form_post_without_a_session_is_400_not_a_loop() {
    let h = start(Setup::default()).await;
    let plain = reqwest::Client::builder().redirect(redirect::Policy::none()).no_proxy().build().unwrap();
    let response = plain
        .post(format!("{}/auth/dev/callback", h.app()))
        .form(&[("code", "c"), ("state", "s"), ("rpkit_relay", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "state_unknown");
}

#[tokio::test]
async fn relay_page_escapes_every_value() {
    let h = start(Setup::default()).await;
    let plain = reqwest::Client::builder().redirect(redirect::Policy::none()).no_proxy().build().unwrap();
    let response = plain
        .post(format!("{}/auth/dev/callback", h.app()))
        .form(&[("code", "\"><script>alert(1)</script>"), ("state", "s'<b>")])
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<b>"));
    assert!(page.contains("&quot;&gt;&lt;script&gt;"));
}

#[tokio::test]
async fn unknown_client_names_and_routes_are_404() {
    let h = start(Setup::default()).await;
    let b = browser();
    for path in ["/login/nope", "/auth/nope/callback?code=a&state=b", "/api/nope/userinfo", "/nope"] {
        let response = b.get(format!("{}{path}", h.app())).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let logout = b.post(format!("{}/logout/nope", h.app())).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NOT_FOUND);
    let post = b.post(format!("{}/backchannel-logout/nope", h.app())).body("logout_token=x").send().await.unwrap();
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    // a logged-in user cannot call another provider's API with this token
    log_in(&b, h.app()).await;
    assert_eq!(b.get(format!("{}/api/nope/x", h.app())).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn logout_by_get_does_not_end_the_session() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;
    // A link, an <img> or a prefetch on any page must not log the user out.
    let get = b.get(format!("{}/logout/dev", h.app())).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let with_token = b.get(format!("{}/logout/dev?csrf_token=x", h.app())).send().await.unwrap();
    assert_eq!(with_token.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK, "the session survives a GET");
}

#[tokio::test]
async fn logout_without_the_sessions_csrf_token_is_403_and_the_session_survives() {
    let h = start(Setup::default()).await;
    let (victim, attacker) = (browser(), browser());
    log_in(&victim, h.app()).await;
    log_in(&attacker, h.app()).await;
    // The attacker's own token, a made-up one, none, and a repeated field.
    let attackers = csrf_token_of(&attacker.get(format!("{}/", h.app())).send().await.unwrap().text().await.unwrap());
    let url = format!("{}/logout/dev", h.app());
    let forms: Vec<Vec<(&str, &str)>> = vec![
        vec![("csrf_token", attackers.as_str())],
        vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
        vec![],
        vec![("other", "1")],
    ];
    for form in forms {
        let response = victim.post(&url).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "csrf_mismatch");
    }
    let no_body = victim.post(&url).send().await.unwrap();
    assert_eq!(no_body.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&victim, h.app()).await.0, StatusCode::OK, "the session is untouched");
    // The real form still works.
    assert_eq!(log_out(&victim, h.app()).await.status(), StatusCode::FOUND);
    assert_eq!(me(&victim, h.app()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&attacker, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn csrf_token_changes_at_login() {
    let h = start(Setup::default()).await;
    let b = browser();
    log_in(&b, h.app()).await;
    let first = csrf_token_of(&b.get(format!("{}/", h.app())).send().await.unwrap().text().await.unwrap());
    assert_eq!(log_out(&b, h.app()).await.status(), StatusCode::FOUND);
    log_in(&b, h.app()).await;
    let second = csrf_token_of(&b.get(format!("{}/", h.app())).send().await.unwrap().text().await.unwrap());
    assert_ne!(first, second);
    let stale = b.post(format!("{}/logout/dev", h.app())).form(&[("csrf_token", first.as_str())]).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn head_on_the_callback_is_405_and_the_real_callback_still_succeeds() {
    let h = start(Setup::default()).await;
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    // A link prefetcher's HEAD must not spend the pending state.
    let head = b.head(&callback).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    let done = b.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    assert_eq!(me(&b, h.app()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn copied_cookie_session_is_refused_after_a_backchannel_logout() {
    let key = CookieKey::generate().unwrap();
    let h = start(Setup { sessions: DemoSessions::Cookie(key), ..Setup::default() }).await;
    let b = browser();
    let callback = start_login(&b, h.app()).await;
    let done = b.get(&callback).send().await.unwrap();
    let copied = session_cookie(&done).expect("the logged-in cookie");
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let with_copy = || plain.get(format!("{}/me", h.app())).header("cookie", &copied).send();
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::OK, "the copy works before");
    h.op.backchannel_logout("alice").await;
    // CurrentUser checks the revocations on every request, whichever copy comes.
    assert_eq!(with_copy().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me(&b, h.app()).await.0, StatusCode::UNAUTHORIZED);
}

/// The demo at an `https` base URL, served on loopback without a provider: the login
/// redirect of a plain OAuth 2.0 client is enough to see the session cookie.
async fn https_demo_cookie(sessions: DemoSessions) -> String {
    let oauth = OAuth::new(ReqwestClient::new().unwrap());
    oauth.register(
        ClientConfig::new("plain")
            .client_id("c")
            .authorize_url("https://op.example/authorize")
            .access_token_url("https://op.example/token"),
    );
    let options = DemoOptions::new(url::Url::parse("https://app.example").unwrap()).sessions(sessions);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app(oauth, options);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let login = browser().get(format!("{base}/login/plain")).send().await.unwrap();
    task.abort();
    assert_eq!(login.status(), StatusCode::FOUND);
    login.headers()[SET_COOKIE].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn https_demo_session_cookie_has_the_host_prefix_secure_root_path_and_no_domain() {
    for sessions in [DemoSessions::Memory, DemoSessions::Cookie(CookieKey::generate().unwrap())] {
        let cookie = https_demo_cookie(sessions).await;
        assert!(cookie.starts_with("__Host-rpkit_demo="), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}

#[tokio::test]
async fn login_goes_through_par_when_the_provider_requires_it() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| {
        b.metadata_set_members.insert("require_pushed_authorization_requests".into(), Value::Bool(true));
    });
    let b = browser();
    let login = b.get(format!("{}/login/dev", h.app())).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let url = location(&login);
    assert!(url.starts_with(&h.op.authorization_endpoint()), "{url}");
    let q = query(&url);
    assert_eq!(q.keys().map(String::as_str).collect::<Vec<_>>(), ["client_id", "request_uri"], "{url}");
    let at_op = b.get(&url).send().await.unwrap();
    assert_eq!(at_op.status(), StatusCode::FOUND, "the provider accepts the pushed request");
    let done = b.get(location(&at_op)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    let (status, body) = me(&b, h.app()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id_token_claims"]["sub"], "alice");
    let record = h.op.par_record();
    assert_eq!((record.accepted, record.redeemed), (1, 1));
}

#[tokio::test]
async fn a_refused_push_answers_with_an_error_and_no_redirect() {
    let h = start(Setup::default()).await;
    h.op.behavior().update(|b| {
        b.metadata_set_members.insert("require_pushed_authorization_requests".into(), Value::Bool(true));
    });
    h.op.update_par_behavior(|p| p.error = Some("invalid_request".into()));
    let b = browser();
    let login = b.get(format!("{}/login/dev", h.app())).send().await.unwrap();
    assert!(login.status().is_client_error(), "{}", login.status());
    assert!(login.headers().get(LOCATION).is_none(), "no redirect");
    assert_eq!(h.op.counters().authorize, 0, "the browser was not sent to the provider");
}
