//! Interop with a real OpenID Provider: panva's `oidc-provider` 9.x (OpenID-certified),
//! run by node on 127.0.0.1 from `conformance/interop/provider.mjs`.
//!
//! The RP under test is `rpkit::client::OAuth` over `rpkit_reqwest::ReqwestClient`,
//! registered from a `ClientConfig` with `server_metadata_url` pointing at the provider.
//! A "browser" (reqwest with a cookie store, redirects off, followed by hand) fills in
//! the provider's devInteractions login and consent forms and its logout confirmation.
//!
//! Needs node and `conformance/interop/node_modules` (`npm ci --prefix conformance/interop`).
//! Without them the tests are skipped with a notice — unless `RPKIT_INTEROP=1` (CI), when
//! they fail saying what is missing.
//!
//! One provider process and one rpkit-axum demo app (the RP application: it receives the
//! back-channel logouts) serve the whole file; the provider is killed when the last test
//! using it ends. The key rotation test runs its own provider, since it restarts it.

// The RP application: rpkit-axum's demo app, shared with its example and tests.
#[path = "../../adapters/axum/examples/support/demo_app.rs"]
mod demo_app;

use demo_app::DemoOptions;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::KeyPair;
use reqwest::StatusCode;
use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
use rpkit::error::{Error, StateError};
use rpkit::revocation::{Introspection, TokenTypeHint};
use rpkit::token::Token;
use rpkit_reqwest::ReqwestClient;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

/// Set to `1` (CI does) to make a missing node or `node_modules` a failure, not a skip.
const REQUIRE_ENV: &str = "RPKIT_INTEROP";
/// How long the provider may take to print `READY`.
const STARTUP_LIMIT: Duration = Duration::from_secs(90);
/// How long one test may take in all.
const TEST_LIMIT: Duration = Duration::from_secs(90);
/// Most redirects and form posts the browser follows for one login or logout.
const MAX_HOPS: usize = 12;

/// The secret of `rp-basic` and `rp-post` (given to the provider script).
const SECRET: &str = "interop-secret-0123456789abcdef0123456789";
/// Where the provider sends the browser after logout (the demo app's route).
const LOGGED_OUT_PATH: &str = "/logged-out";

// ---------------------------------------------------------------------------------------
// Finding node and the provider package.

/// Where node and the provider script are.
#[derive(Debug, Clone)]
struct Interop {
    node: String,
    dir: PathBuf,
}

/// `Some` when node and `node_modules` are there; else skips (prints a notice) or, with
/// `RPKIT_INTEROP=1`, panics with what is missing.
fn interop(test: &str) -> Option<Interop> {
    static FOUND: OnceLock<Result<Interop, String>> = OnceLock::new();
    let found = FOUND.get_or_init(find_interop);
    match found {
        Ok(found) => Some(found.clone()),
        Err(why) if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") => {
            panic!("{REQUIRE_ENV}=1 but the interop tests cannot run: {why}")
        }
        Err(why) => {
            // Once per run, to the real stderr (the harness does not capture it), so it shows.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\nnote: skipping the interop tests ({test} and the rest): {why}; \
                     set {REQUIRE_ENV}=1 to make this a failure\n"
                );
            });
            None
        }
    }
}

fn find_interop() -> Result<Interop, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    let node = std::env::var("RPKIT_NODE").unwrap_or_else(|_| "node".to_owned());
    let version = Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("node (`{node}`) cannot be run ({e}); install Node.js 20.19 or later"))?;
    if !version.status.success() {
        return Err(format!("`{node} --version` failed; install Node.js 20.19 or later"));
    }
    if !dir.join("node_modules/oidc-provider/package.json").is_file() {
        return Err(format!(
            "{} has no node_modules/oidc-provider; run `npm ci --prefix conformance/interop`",
            dir.display()
        ));
    }
    Ok(Interop { node, dir })
}

// ---------------------------------------------------------------------------------------
// The provider process.

/// A running `provider.mjs`, killed on drop.
struct Op {
    child: Child,
    issuer: String,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Op {
    /// Starts the provider (`port` 0: any free port) and waits, bounded, for `READY`.
    fn start(interop: &Interop, config: &Value) -> Op {
        // The tests run in parallel; ten Node processes loading `oidc-provider` at once on
        // a 2-core machine can take longer than the limit. One start at a time keeps each
        // start fast (the providers then serve concurrently).
        static STARTING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
        let mut child = Command::new(&interop.node)
            .arg("provider.mjs")
            .arg(config.to_string())
            .current_dir(&interop.dir)
            // The script exits when stdin closes: it cannot outlive this process.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    let _ = ready_tx.send(issuer.trim().to_owned());
                }
            }
        });
        let err = child.stderr.take().expect("piped stderr");
        let log = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut err = BufReader::new(err);
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                // Bounded: keep the first 64 KiB.
                if log.len() < 64 * 1024 {
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let issuer = match ready_rx.recv_timeout(STARTUP_LIMIT) {
            Ok(issuer) => issuer,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let log = stderr.lock().unwrap_or_else(PoisonError::into_inner).clone();
                panic!("the provider did not start within {STARTUP_LIMIT:?}; its stderr:\n{log}");
            }
        };
        let port = url::Url::parse(&issuer)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or_else(|| panic!("READY line with no port: {issuer}"));
        Op { child, issuer, port, stderr }
    }

    fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// Requests per endpoint since this process started (the script's counters).
    async fn counts(&self) -> Value {
        let url = format!("{}/__interop/counts", self.issuer);
        reqwest::get(url).await.expect("counts").json().await.expect("counts JSON")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's configuration for the script: the RP app's base URL (the clients' URIs
/// are the demo app's routes under it) and the `private_key_jwt` client's public key.
fn op_config(port: u16, app_base: &str, client_jwk_public: &Value) -> Value {
    json!({
        "port": port,
        "app_base": app_base,
        "client_secret": SECRET,
        "client_jwk": client_jwk_public,
    })
}

/// The `private_key_jwt` client's key: (private JWK text for rpkit, its `kid`, public JWK
/// for the provider).
fn client_key() -> (String, String, Value) {
    let pair = EcKeyPair::generate(EcCurve::P256).expect("P-256 key");
    let kid = "rp-jwt-key-1".to_owned();
    let mut private = pair.to_jwk_key_pair();
    private.set_key_id(&kid);
    private.set_algorithm("ES256");
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(&kid);
    public.set_algorithm("ES256");
    public.set_key_use("sig");
    let public: Value = serde_json::from_str(&public.to_string()).expect("JWK JSON");
    (private.to_string(), kid, public)
}

// ---------------------------------------------------------------------------------------
// The RP application: rpkit-axum's demo router, which also receives back-channel logouts.

/// The demo app on its own thread and runtime (each test has its own runtime), shut down
/// on drop.
struct DemoApp {
    base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoApp {
    /// Binds a free port and starts serving once `oauth` arrives (the clients' registration
    /// needs the provider, which needs the app's URL first).
    fn start() -> (DemoApp, tokio::sync::oneshot::Sender<OAuth>) {
        let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
        let (oauth_tx, oauth_rx) = tokio::sync::oneshot::channel::<OAuth>();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the demo app");
                let addr = listener.local_addr().expect("demo app address");
                let _ = addr_tx.send(addr);
                // No OAuth: the fixture failed to start; nothing to serve.
                let Ok(oauth) = oauth_rx.await else { return };
                let base = url::Url::parse(&format!("http://{addr}")).expect("base URL");
                let app = demo_app::app(oauth, DemoOptions::new(base));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv_timeout(STARTUP_LIMIT).expect("the demo app did not start");
        (DemoApp { base: format!("http://{addr}"), shutdown: Some(shutdown), thread: Some(thread) }, oauth_tx)
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The provider and the RP application shared by this file's tests.
struct Fixture {
    // Field order is drop order: the provider goes first.
    op: Op,
    app: DemoApp,
    jwt_key: String,
    jwt_kid: String,
}

impl Fixture {
    fn start(interop: &Interop) -> Fixture {
        let (app, serve) = DemoApp::start();
        let (jwt_key, jwt_kid, public) = client_key();
        let op = Op::start(interop, &op_config(0, &app.base, &public));
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        for method in METHODS {
            let mut config = rp_config(&op, &app.base, method, &jwt_key, &jwt_kid);
            if method == TokenEndpointAuthMethod::ClientSecretPost {
                // oidc-provider grants offline_access (a refresh token) only with
                // consent: the demo's rp-post sessions hold one, which logout revokes.
                config = config.authorize_param("prompt", "consent");
            }
            oauth.register(config);
        }
        let _ = serve.send(oauth);
        Fixture { op, app, jwt_key, jwt_kid }
    }

    /// A fresh RP (own caches) for client `method`, outside the demo app.
    fn rp(&self, method: TokenEndpointAuthMethod) -> (OAuth, OAuthClient) {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let client = oauth.register(rp_config(&self.op, &self.app.base, method, &self.jwt_key, &self.jwt_kid));
        (oauth, client)
    }

    fn app_base(&self) -> String {
        self.app.base.clone()
    }
}

/// The shared fixture: started by the first test that needs it, stopped (provider
/// killed) when the last test holding it drops it.
fn fixture(interop: &Interop) -> Arc<Fixture> {
    static SHARED: Mutex<Weak<Fixture>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(f) = shared.upgrade() {
        return f;
    }
    let f = Arc::new(Fixture::start(interop));
    *shared = Arc::downgrade(&f);
    f
}

const METHODS: [TokenEndpointAuthMethod; 3] = [
    TokenEndpointAuthMethod::ClientSecretBasic,
    TokenEndpointAuthMethod::ClientSecretPost,
    TokenEndpointAuthMethod::PrivateKeyJwt,
];

fn client_id(method: TokenEndpointAuthMethod) -> &'static str {
    match method {
        TokenEndpointAuthMethod::ClientSecretBasic => "rp-basic",
        TokenEndpointAuthMethod::ClientSecretPost => "rp-post",
        TokenEndpointAuthMethod::PrivateKeyJwt => "rp-jwt",
        other => panic!("no interop client for {other:?}"),
    }
}

/// The RP's registration: discovery does the rest. The redirect URI is the demo app's.
fn rp_config(op: &Op, app_base: &str, method: TokenEndpointAuthMethod, jwt_key: &str, jwt_kid: &str) -> ClientConfig {
    let id = client_id(method);
    let config = ClientConfig::new(id)
        .client_id(id)
        .server_metadata_url(op.discovery_url())
        .redirect_uri(format!("{app_base}/auth/{id}/callback"))
        .scope("openid email profile offline_access")
        .token_endpoint_auth_method(method);
    match method {
        TokenEndpointAuthMethod::PrivateKeyJwt => config.private_key(jwt_key).private_key_id(jwt_kid),
        _ => config.client_secret(SECRET),
    }
}

// ---------------------------------------------------------------------------------------
// The browser: reqwest with a cookie store, redirects followed by hand.

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("browser client")
}

/// The value of attribute `name` in `tag` (HTML-unescaped).
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].replace("&amp;", "&").replace("&#x2F;", "/").replace("&#47;", "/"))
}

/// The first form's action and its hidden inputs.
fn first_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let form_start = html.find("<form")?;
    let form_tag_end = form_start + html[form_start..].find('>')?;
    let action = attr(&html[form_start..form_tag_end], "action")?;
    let form_end = form_start + html[form_start..].find("</form>")?;
    let mut hidden = Vec::new();
    let mut rest = &html[form_tag_end..form_end];
    while let Some(i) = rest.find("<input") {
        let tag_end = i + rest[i..].find('>')?;
        let tag = &rest[i..tag_end];
        if attr(tag, "type").as_deref() == Some("hidden") {
            if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
                hidden.push((n, v));
            }
        }
        rest = &rest[tag_end..];
    }
    Some((action, hidden))
}

/// Follows redirects from `start`, filling in the provider's login form (as `user`),
/// consent form and logout confirmation, until a redirect to a URL that `stop` accepts
/// (returned, not fetched).
async fn drive(browser: &reqwest::Client, start: url::Url, stop: impl Fn(&url::Url) -> bool, user: &str) -> url::Url {
    let mut request = browser.get(start.clone());
    let mut current = start;
    for _ in 0..MAX_HOPS {
        let resp = request.send().await.unwrap_or_else(|e| panic!("browser request to {current}: {e}"));
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location");
            let next = current.join(location).expect("a valid Location");
            if stop(&next) {
                return next;
            }
            request = browser.get(next.clone());
            current = next;
            continue;
        }
        let body = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{status} from {current}:\n{body}");
        let (action, mut fields) =
            first_form(&body).unwrap_or_else(|| panic!("no form at {current} (expected a redirect):\n{body}"));
        let prompt = fields.iter().find(|(k, _)| k == "prompt").map(|(_, v)| v.clone());
        match prompt.as_deref() {
            Some("login") => {
                fields.push(("login".into(), user.into()));
                fields.push(("password".into(), "any password".into()));
            }
            Some("consent") => {}
            _ if body.contains("op.logoutForm") => fields.push(("logout".into(), "yes".into())),
            _ => {} // an auto-submitting form_post page: send its hidden inputs as they are
        }
        let next = current.join(&action).expect("a valid form action");
        request = browser.post(next.clone()).form(&fields);
        current = next;
    }
    panic!("no redirect to the expected place within {MAX_HOPS} hops (last at {current})");
}

/// A `stop` for [`drive`]: a URL starting with `prefix`.
fn starts_with(prefix: &str) -> impl Fn(&url::Url) -> bool + '_ {
    move |url| url.as_str().starts_with(prefix)
}

/// One login attempt through rpkit: the authorization URL (a push first, with PAR; the
/// URL goes to `inspect`), the browser's trip through the provider's forms as `user`, the
/// callback. Returns what rpkit made of it (an `Err` from the push or from the callback)
/// and the callback URL when the browser got there.
async fn attempt_login(
    rp: &OAuthClient,
    browser: &reqwest::Client,
    user: &str,
    options: &AuthorizeOptions,
    inspect: impl FnOnce(&url::Url),
) -> (Result<Token, ClientError>, Option<url::Url>) {
    let mut pending = PendingSet::new();
    let url = match rp.authorize_redirect(&mut pending, options).await {
        Ok(url) => url.to_url(),
        Err(e) => {
            assert!(pending.is_empty(), "nothing stored for a refused authorization request");
            return (Err(e), None);
        }
    };
    inspect(&url);
    let redirect_uri = rp.config().redirect_uri.clone().expect("a redirect URI");
    let callback = drive(browser, url, starts_with(&redirect_uri), user).await;
    let params = CallbackParams::from_query(callback.query().unwrap_or("")).expect("callback parameters");
    let result = rp.authorize_access_token(&mut pending, &params).await;
    assert!(pending.is_empty(), "the pending authorization is used up");
    (result, Some(callback))
}

/// One complete login through rpkit that must succeed. Returns the token and the
/// callback URL.
async fn login(rp: &OAuthClient, browser: &reqwest::Client, user: &str) -> (Token, url::Url) {
    // `prompt=consent`: oidc-provider issues refresh tokens (offline_access) only then.
    let options = AuthorizeOptions::default().param("prompt", "consent");
    let (result, callback) = attempt_login(rp, browser, user, &options, |_| {}).await;
    (result.expect("the callback is accepted"), callback.expect("the callback URL"))
}

/// A login attempt with the default options that must fail: rpkit's error.
async fn refused_login(rp: &OAuthClient, user: &str) -> ClientError {
    let (result, _) = attempt_login(rp, &browser(), user, &AuthorizeOptions::default(), |_| {}).await;
    result.expect_err("the login was refused")
}

/// A user name unique to this test run, so parallel tests never share a subject.
fn user(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("{tag}-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Runs `body` bounded by [`TEST_LIMIT`].
async fn bounded<F: std::future::Future<Output = ()>>(name: &str, body: F) {
    let started = Instant::now();
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("{name} did not finish within {TEST_LIMIT:?}");
    }
    eprintln!("{name}: {:?}", started.elapsed()); // shown with --nocapture
}

/// The checks every login must pass, whatever the client authentication.
async fn assert_login(f: &Fixture, method: TokenEndpointAuthMethod) {
    let (_oauth, rp) = f.rp(method);
    let who = user("alice");
    let (token, callback) = login(&rp, &browser(), &who).await;
    // RFC 9207: the provider said who it is, and rpkit checked it.
    let iss = callback.query_pairs().find(|(k, _)| k == "iss").map(|(_, v)| v.into_owned());
    assert_eq!(iss.as_deref(), Some(f.op.issuer.as_str()));
    assert_eq!(token.token_type, "Bearer");
    assert!(token.refresh_token.is_some(), "offline_access with consent gives a refresh token");
    let claims = token.userinfo.as_ref().expect("validated ID token claims");
    assert_eq!(claims.sub(), Some(who.as_str()));
    assert_eq!(claims.iss(), Some(f.op.issuer.as_str()));
    assert_eq!(claims.audiences(), Some(vec![client_id(method)]));
    assert!(claims.get_str("sid").is_some(), "the ID token carries the session id");
}

// ---------------------------------------------------------------------------------------
// The tests.

#[tokio::test]
async fn interop_login_client_secret_basic() {
    let Some(interop) = interop("interop_login_client_secret_basic") else { return };
    let f = fixture(&interop);
    bounded("interop_login_client_secret_basic", assert_login(&f, TokenEndpointAuthMethod::ClientSecretBasic)).await;
}

#[tokio::test]
async fn interop_login_client_secret_post() {
    let Some(interop) = interop("interop_login_client_secret_post") else { return };
    let f = fixture(&interop);
    bounded("interop_login_client_secret_post", assert_login(&f, TokenEndpointAuthMethod::ClientSecretPost)).await;
}

#[tokio::test]
async fn interop_login_private_key_jwt() {
    let Some(interop) = interop("interop_login_private_key_jwt") else { return };
    let f = fixture(&interop);
    bounded("interop_login_private_key_jwt", assert_login(&f, TokenEndpointAuthMethod::PrivateKeyJwt)).await;
}

#[tokio::test]
async fn interop_login_with_the_wrong_client_secret_is_refused() {
    let Some(interop) = interop("interop_login_with_the_wrong_client_secret_is_refused") else { return };
    let f = fixture(&interop);
    bounded("interop_login_with_the_wrong_client_secret_is_refused", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(
            rp_config(&f.op, &f.app_base(), TokenEndpointAuthMethod::ClientSecretBasic, "", "")
                .client_secret("not-the-secret-0123456789abcdef012345"),
        );
        let err = refused_login(&rp, &user("mallory")).await;
        assert!(
            matches!(&err, ClientError::Core(Error::Provider(p)) if p.error == "invalid_client"),
            "expected invalid_client, got {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn interop_userinfo_matches_the_id_token() {
    let Some(interop) = interop("interop_userinfo_matches_the_id_token") else { return };
    let f = fixture(&interop);
    bounded("interop_userinfo_matches_the_id_token", async {
        let (_oauth, rp) = f.rp(TokenEndpointAuthMethod::ClientSecretBasic);
        let who = user("bob");
        let (token, _) = login(&rp, &browser(), &who).await;
        let info = rp.userinfo(&token).await.expect("UserInfo");
        assert_eq!(info.sub(), Some(who.as_str()));
        assert_eq!(info.get_str("email"), Some(format!("{who}@example.com").as_str()));
        assert_eq!(info.get_str("name"), Some(format!("User {who}").as_str()));
    })
    .await;
}

#[tokio::test]
async fn interop_refresh_rotates_and_the_old_refresh_token_is_rejected() {
    let Some(interop) = interop("interop_refresh_rotates_and_the_old_refresh_token_is_rejected") else { return };
    let f = fixture(&interop);
    bounded("interop_refresh_rotates_and_the_old_refresh_token_is_rejected", async {
        let (_oauth, rp) = f.rp(TokenEndpointAuthMethod::ClientSecretPost);
        let who = user("carol");
        let (token, _) = login(&rp, &browser(), &who).await;
        let old_rt = token.refresh_token.clone().expect("a refresh token");

        let fresh = rp.refresh_token(&token).await.expect("refresh");
        let new_rt = fresh.refresh_token.clone().expect("a rotated refresh token");
        assert!(!new_rt.ct_eq(old_rt.secret()), "the refresh token was rotated");
        assert_ne!(fresh.access_token.secret(), token.access_token.secret());
        // The refreshed ID token was validated against the original one.
        assert_eq!(fresh.userinfo.as_ref().and_then(|c| c.sub()), Some(who.as_str()));
        // The new access token works.
        let info = rp.userinfo(&fresh).await.expect("UserInfo with the refreshed token");
        assert_eq!(info.sub(), Some(who.as_str()));

        // Another RP instance (no single-flight memory of the refresh) presents the old
        // refresh token: the provider refuses it, and rpkit asks for a new login.
        let (_oauth2, other) = f.rp(TokenEndpointAuthMethod::ClientSecretPost);
        let err = other.refresh_token(&token).await.unwrap_err();
        assert!(
            matches!(&err, ClientError::Core(Error::ReauthenticationRequired(p)) if p.error == "invalid_grant"),
            "expected ReauthenticationRequired(invalid_grant), got {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn interop_rp_initiated_logout_returns_with_state() {
    let Some(interop) = interop("interop_rp_initiated_logout_returns_with_state") else { return };
    let f = fixture(&interop);
    bounded("interop_rp_initiated_logout_returns_with_state", async {
        let (_oauth, rp) = f.rp(TokenEndpointAuthMethod::PrivateKeyJwt);
        let browser = browser();
        let (token, _) = login(&rp, &browser, &user("dave")).await;

        let logged_out = format!("{}{LOGGED_OUT_PATH}", f.app_base());
        let options = LogoutOptions {
            post_logout_redirect_uri: Some(logged_out.clone()),
            id_token_hint: token.id_token.clone(),
            ..LogoutOptions::default()
        };
        let (url, pending) = rp.logout_redirect(&options).await.expect("logout URL");
        assert!(url.as_str().starts_with(&format!("{}/session/end?", f.op.issuer)), "{url}");
        let mut session = rpkit::logout::PendingLogouts::new();
        session.extend(pending);
        assert_eq!(session.len(), 1, "a pending logout for the redirect back");

        let back = drive(&browser, url, starts_with(&logged_out), "unused").await;
        let query = back.query().unwrap_or("").to_owned();
        assert!(query.contains("state="), "the provider returned the state: {back}");
        let done = rp.validate_logout_response(&query, &mut session).expect("the logout response is ours");
        assert_eq!(done.post_logout_redirect_uri, logged_out);
        assert!(session.is_empty(), "the pending logout is used up");

        // A replayed logout response is refused.
        let err = rp.validate_logout_response(&query, &mut session).unwrap_err();
        assert!(matches!(err, ClientError::Core(Error::State(StateError::Unknown { .. }))), "{err:?}");

        // The provider's session is gone: a new authorization asks for the login again.
        let mut pending = PendingSet::new();
        let url = rp.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await.expect("URL");
        let resp = browser.get(url.as_str()).send().await.expect("authorize");
        let interaction = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("to interaction");
        let page = browser.get(f.op.issuer.clone() + interaction).send().await.expect("interaction");
        let html = page.text().await.expect("page");
        assert!(html.contains(r#"name="prompt" value="login""#), "login form expected after logout");
    })
    .await;
}

/// Logs in through the demo app as a person's browser would: `/login/<client>` → the
/// provider's forms → the app's callback → `/`.
async fn demo_login(browser: &reqwest::Client, app_base: &str, client: &str, user: &str) {
    let start = url::Url::parse(&format!("{app_base}/login/{client}")).expect("login URL");
    let home = format!("{app_base}/");
    let landed = drive(browser, start, |u| u.as_str() == home, user).await;
    assert_eq!(landed.as_str(), home);
}

/// `GET /me` at the demo app: its status and JSON body.
async fn demo_me(browser: &reqwest::Client, app_base: &str) -> (StatusCode, Value) {
    let resp = browser.get(format!("{app_base}/me")).send().await.expect("GET /me");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn interop_backchannel_logout_ends_the_demo_app_session() {
    let Some(interop) = interop("interop_backchannel_logout_ends_the_demo_app_session") else { return };
    let f = fixture(&interop);
    bounded("interop_backchannel_logout_ends_the_demo_app_session", async {
        let app = f.app_base();
        // Two people logged in to the demo app through the provider.
        let (erin, erin_browser) = (user("erin"), browser());
        let (gina, gina_browser) = (user("gina"), browser());
        demo_login(&erin_browser, &app, "rp-basic", &erin).await;
        demo_login(&gina_browser, &app, "rp-basic", &gina).await;
        let (status, me) = demo_me(&erin_browser, &app).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["id_token_claims"]["sub"], erin.as_str());
        assert!(me["id_token_claims"]["sid"].is_string(), "the ID token carries a sid: {me}");
        let backchannel_before = f.op.counts().await["backchannel"].as_u64().unwrap_or(0);

        // Erin signs out at the provider itself (not through the app): the provider POSTs
        // a logout token to the app's back-channel URI before it answers.
        let end_session = url::Url::parse(&format!("{}/session/end", f.op.issuer)).expect("URL");
        let done = drive(&erin_browser, end_session, |u| u.path() == "/session/end/success", "unused").await;
        assert_eq!(done.origin(), url::Url::parse(&f.op.issuer).expect("issuer").origin());

        let counts = f.op.counts().await;
        assert!(
            counts["backchannel"].as_u64().unwrap_or(0) > backchannel_before,
            "the provider delivered a logout token: {counts}\nprovider stderr:\n{}",
            f.op.stderr()
        );
        let (status, body) = demo_me(&erin_browser, &app).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "Erin's app session ended: {body}");
        assert_eq!(body["error"], "login_required");
        let (status, me) = demo_me(&gina_browser, &app).await;
        assert_eq!(status, StatusCode::OK, "Gina's session is untouched: {me}");
        assert_eq!(me["id_token_claims"]["sub"], gina.as_str());
    })
    .await;
}

#[tokio::test]
async fn interop_demo_app_logout_returns_to_logged_out() {
    let Some(interop) = interop("interop_demo_app_logout_returns_to_logged_out") else { return };
    let f = fixture(&interop);
    bounded("interop_demo_app_logout_returns_to_logged_out", async {
        let app = f.app_base();
        let browser = browser();
        demo_login(&browser, &app, "rp-post", &user("hank")).await;
        assert_eq!(demo_me(&browser, &app).await.0, StatusCode::OK);

        // The app's logout button: a POST carrying the page's CSRF token (a GET is 405
        // and ends nothing).
        let logout_url = format!("{app}/logout/rp-post");
        let refused = browser.get(&logout_url).send().await.expect("GET /logout");
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(demo_me(&browser, &app).await.0, StatusCode::OK, "a GET does not log out");
        let home = browser.get(format!("{app}/")).send().await.expect("GET /").text().await.expect("home page");
        let form = home.find("name=\"csrf_token\"").map(|i| &home[i..]).expect("a logout form on the home page");
        let token = attr(&format!(" {form}"), "value").expect("the CSRF token");
        let revoked_before = f.op.counts().await["revoked"]["rp-post"].as_u64().unwrap_or(0);
        let posted = browser.post(&logout_url).form(&[("csrf_token", token)]).send().await.expect("POST /logout");
        assert_eq!(posted.status(), StatusCode::FOUND);
        // The app revoked the session's refresh token (RFC 7009) before redirecting.
        let revoked_after = f.op.counts().await["revoked"]["rp-post"].as_u64().unwrap_or(0);
        assert_eq!(revoked_after, revoked_before + 1, "the demo's logout revokes the refresh token at the provider");
        let location = posted.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location");
        // Local session cleared, then the provider's end-session confirmation, then back
        // to the app's `/logged-out?state=…`.
        let start = url::Url::parse(location).expect("the end-session URL");
        let logged_out = format!("{app}{LOGGED_OUT_PATH}");
        let back = drive(&browser, start, starts_with(&logged_out), "unused").await;
        assert!(back.query_pairs().any(|(k, _)| k == "state"), "{back}");
        let page = browser.get(back.clone()).send().await.expect("GET /logged-out");
        assert_eq!(page.status(), StatusCode::OK, "the app accepts its own logout state");
        assert_eq!(demo_me(&browser, &app).await.0, StatusCode::UNAUTHORIZED);
        // The same state a second time is refused.
        let again = browser.get(back).send().await.expect("GET /logged-out again");
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn interop_key_rotation_costs_exactly_one_jwks_refetch() {
    let Some(interop) = interop("interop_key_rotation_costs_exactly_one_jwks_refetch") else { return };
    bounded("interop_key_rotation_costs_exactly_one_jwks_refetch", async {
        // Its own provider: this test restarts it.
        let app_base = "http://127.0.0.1:9"; // never contacted: the browser stops at the redirect
        let (jwt_key, jwt_kid, public) = client_key();
        let op = Op::start(&interop, &op_config(0, app_base, &public));
        let issuer = op.issuer.clone();
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp =
            oauth.register(rp_config(&op, app_base, TokenEndpointAuthMethod::ClientSecretBasic, &jwt_key, &jwt_kid));

        let (first, _) = login(&rp, &browser(), &user("frank")).await;
        assert_eq!(op.counts().await["jwks"], 1, "the first login fetched the JWKS once");
        let kid_before = kid_of(&first);

        // Restart with new keys on the same port: same issuer, new signing key.
        let port = op.port;
        drop(op);
        let op = Op::start(&interop, &op_config(port, app_base, &public));
        assert_eq!(op.issuer, issuer);

        let (second, _) = login(&rp, &browser(), &user("frank")).await;
        assert_ne!(kid_of(&second), kid_before, "the provider signs with a new key");
        assert_eq!(op.counts().await["jwks"], 1, "the unknown kid cost exactly one JWKS refetch");

        // And the keys are cached again: a third login fetches nothing.
        let _ = login(&rp, &browser(), &user("frank")).await;
        assert_eq!(op.counts().await["jwks"], 1, "no further JWKS request");
    })
    .await;
}

/// The `kid` in the ID token's header.
fn kid_of(token: &Token) -> String {
    let compact = token.id_token.as_ref().expect("an ID token").secret().to_owned();
    let header = compact.split('.').next().expect("a header");
    let header = rpkit::jose::b64::decode(header).expect("base64url header");
    let header: Value = serde_json::from_slice(&header).expect("JSON header");
    header["kid"].as_str().expect("a kid").to_owned()
}

// ---------------------------------------------------------------------------------------
// Revocation (RFC 7009) and introspection (RFC 7662).

#[tokio::test]
async fn interop_revocation_then_a_refresh_is_refused() {
    let Some(interop) = interop("interop_revocation_then_a_refresh_is_refused") else { return };
    let f = fixture(&interop);
    bounded("interop_revocation_then_a_refresh_is_refused", async {
        let (_oauth, rp) = f.rp(TokenEndpointAuthMethod::ClientSecretBasic);
        let (token, _) = login(&rp, &browser(), &user("erin")).await;
        let refresh = token.refresh_token.clone().expect("a refresh token");
        assert!(rp.can_revoke().await, "oidc-provider advertises its revocation endpoint");

        // Introspection, authenticated like the token endpoint: active, for this client.
        let active = rp.introspect_token(token.access_token.secret(), Some(TokenTypeHint::AccessToken)).await;
        let active = active.expect("introspection");
        assert!(active.is_active(), "{active:?}");
        assert_eq!(active.client_id(), Some(client_id(TokenEndpointAuthMethod::ClientSecretBasic)));
        let rt = rp.introspect_token(refresh.secret(), Some(TokenTypeHint::RefreshToken)).await.expect("introspection");
        assert!(rt.is_active(), "{rt:?}");

        rp.revoke_token(&token).await.expect("revocation");
        let rt = rp.introspect_token(refresh.secret(), Some(TokenTypeHint::RefreshToken)).await.expect("introspection");
        assert_eq!(rt, Introspection::Inactive, "the revoked refresh token");
        let err = rp.refresh_token(&token).await.unwrap_err();
        assert!(
            matches!(&err, ClientError::Core(Error::ReauthenticationRequired(p)) if p.error == "invalid_grant"),
            "expected ReauthenticationRequired(invalid_grant), got {err:?}"
        );
        // An unknown (already revoked) token is no error (RFC 7009 §2.2).
        rp.revoke_token(&token).await.expect("revoking again");
        // A token that was never issued introspects inactive.
        let unknown = rp.introspect_token("not-a-token-0123456789", None).await.expect("introspection");
        assert!(!unknown.is_active());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---

/// The scripted user of a device login: opens `verification_uri_complete`, confirms the
/// code, logs in as `user`, consents — through oidc-provider's devInteractions pages —
/// until the provider's success page.
async fn approve_device(browser: &reqwest::Client, start: url::Url, user: &str) {
    let mut request = browser.get(start.clone());
    let mut current = start;
    for _ in 0..MAX_HOPS {
        let resp = request.send().await.unwrap_or_else(|e| panic!("browser request to {current}: {e}"));
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location");
            let next = current.join(location).expect("a valid Location");
            request = browser.get(next.clone());
            current = next;
            continue;
        }
        let body = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{status} from {current}:\n{body}");
        if body.contains("Sign-in Success") {
            return;
        }
        let (action, mut fields) = first_form(&body).unwrap_or_else(|| panic!("no form at {current}:\n{body}"));
        // The confirmation form carries `confirm=yes` already; the login form needs the user.
        if fields.iter().any(|(k, v)| k == "prompt" && v == "login") {
            fields.push(("login".into(), user.into()));
            fields.push(("password".into(), "any password".into()));
        }
        let next = current.join(&action).expect("a valid form action");
        request = browser.post(next.clone()).form(&fields);
        current = next;
    }
    panic!("no device success page within {MAX_HOPS} hops (last at {current})");
}

#[tokio::test]
async fn interop_device_flow_login_answered_by_a_scripted_user() {
    let Some(interop) = interop("interop_device_flow_login_answered_by_a_scripted_user") else { return };
    let f = fixture(&interop);
    bounded("interop_device_flow_login_answered_by_a_scripted_user", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(
            ClientConfig::new("rp-device")
                .client_id("rp-device")
                .server_metadata_url(f.op.discovery_url())
                .scope("openid email")
                .token_endpoint_auth_method(TokenEndpointAuthMethod::None),
        );
        let authorization = rp.device_authorize(None).await.expect("device authorization");
        assert!(!format!("{authorization:?}").contains(authorization.device_code.secret()));
        let complete = authorization.verification_uri_complete.clone().expect("verification_uri_complete");
        assert!(complete.starts_with(&f.op.issuer));
        let polling = {
            let (rp, a) = (rp.clone(), authorization.clone());
            tokio::spawn(async move { rp.poll_device_token(&a).await })
        };
        let who = user("dora");
        approve_device(&browser(), url::Url::parse(&complete).expect("URL"), &who).await;
        let token = polling.await.expect("the polling task").expect("the device login succeeds");
        let claims = token.userinfo.as_ref().expect("validated ID token claims");
        assert_eq!(claims.sub(), Some(who.as_str()));
        assert_eq!(claims.iss(), Some(f.op.issuer.as_str()));
        assert_eq!(claims.audiences(), Some(vec!["rp-device"]));
        let info = rp.userinfo(&token).await.expect("UserInfo with the device token");
        assert_eq!(info.get_str("email"), Some(format!("{who}@example.com").as_str()));
    })
    .await;
}

#[tokio::test]
async fn interop_device_flow_denied_by_the_user_is_typed() {
    let Some(interop) = interop("interop_device_flow_denied_by_the_user_is_typed") else { return };
    let f = fixture(&interop);
    bounded("interop_device_flow_denied_by_the_user_is_typed", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(
            ClientConfig::new("rp-device")
                .client_id("rp-device")
                .server_metadata_url(f.op.discovery_url())
                .scope("openid")
                .token_endpoint_auth_method(TokenEndpointAuthMethod::None),
        );
        let authorization = rp.device_authorize(None).await.expect("device authorization");
        let polling = {
            let (rp, a) = (rp.clone(), authorization.clone());
            tokio::spawn(async move { rp.poll_device_token(&a).await })
        };
        // The user presses "Abort" on the confirmation page.
        let browser = browser();
        let complete = authorization.verification_uri_complete.clone().expect("verification_uri_complete");
        let page = browser.get(&complete).send().await.expect("confirmation page").text().await.expect("HTML");
        let (action, mut fields) = first_form(&page).expect("the confirmation form");
        fields.retain(|(k, _)| k != "confirm");
        fields.push(("abort".into(), "yes".into()));
        let target = url::Url::parse(&complete).expect("URL").join(&action).expect("action");
        let _ = browser.post(target).form(&fields).send().await.expect("abort");
        let err = polling.await.expect("the polling task").unwrap_err();
        assert!(
            matches!(&err, ClientError::Core(Error::Device(rpkit::device::DeviceError::AccessDenied(p))) if p.error == "access_denied"),
            "expected Device::AccessDenied, got {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn interop_dynamic_registration_register_read_update_login_delete() {
    let Some(interop) = interop("interop_dynamic_registration_register_read_update_login_delete") else { return };
    let f = fixture(&interop);
    bounded("interop_dynamic_registration_register_read_update_login_delete", async {
        use rpkit::registration::{ClientMetadata, RegistrationError};
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let redirect = format!("{}/auth/dyn/callback", f.app_base());
        let base =
            ClientConfig::new("dyn").server_metadata_url(f.op.discovery_url()).scope("openid email offline_access");
        let metadata = ClientMetadata::new()
            .redirect_uris([redirect.as_str()])
            .grant_types(["authorization_code", "refresh_token"])
            .response_types(["code"])
            .token_endpoint_auth_method("client_secret_basic")
            .client_name("rpkit interop");
        let (client, registered) =
            oauth.register_dynamic(base.clone(), None, &metadata, None).await.expect("registration");
        assert!(registered.client_secret.is_some() && registered.registration_access_token.is_some());
        assert_eq!(client.config().redirect_uri.as_deref(), Some(redirect.as_str()));

        let read = client.read_registration(&registered).await.expect("read");
        assert_eq!(read.client_id, registered.client_id);
        assert_eq!(read.metadata.get_str("client_name"), Some("rpkit interop"));

        let updated = client
            .update_registration(&read, &read.metadata.clone().client_name("rpkit interop, renamed"))
            .await
            .expect("update");
        assert_eq!(updated.metadata.get_str("client_name"), Some("rpkit interop, renamed"));
        assert_ne!(
            updated.registration_access_token, read.registration_access_token,
            "oidc-provider rotates the registration access token on update"
        );

        // The registered client logs in.
        let who = user("erin");
        let (token, _) = login(&client, &browser(), &who).await;
        let claims = token.userinfo.as_ref().expect("validated ID token claims");
        assert_eq!(claims.sub(), Some(who.as_str()));
        assert_eq!(claims.audiences(), Some(vec![registered.client_id.as_str()]));

        client.delete_registration(&updated).await.expect("delete");
        let gone = client.read_registration(&updated).await.unwrap_err();
        assert!(matches!(&gone, ClientError::Core(Error::Provider(p)) if p.error == "invalid_token"), "{gone:?}");

        // A refused registration is typed.
        let bad = metadata.clone().redirect_uris(["https://app.example/cb#fragment"]);
        let err = oauth.register_dynamic(base, None, &bad, None).await.unwrap_err();
        assert!(
            matches!(
                &err,
                ClientError::Core(Error::Registration(
                    RegistrationError::InvalidRedirectUri(_) | RegistrationError::InvalidClientMetadata(_)
                ))
            ),
            "{err:?}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// DPoP (RFC 9449): client `rp-dpop` (provider.mjs, `--- DPoP ---`), DPoP-bound tokens
// required, the provider's nonce demanded in every proof.

/// The RP side of `rp-dpop`: `client_secret_basic` with DPoP on and a generated key. Reusable:
/// `.dpop(None)` on any other config (e.g. a PAR + `private_key_jwt` one) turns the same on.
fn rp_dpop_config(op: &Op, app_base: &str) -> ClientConfig {
    let id = "rp-dpop";
    ClientConfig::new(id)
        .client_id(id)
        .client_secret(SECRET)
        .server_metadata_url(op.discovery_url())
        .redirect_uri(format!("{app_base}/auth/{id}/callback"))
        .scope("openid email profile offline_access")
        .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic)
        .dpop(None)
}

#[tokio::test]
async fn interop_dpop_login_userinfo_and_refresh_with_the_nonce_dance() {
    let Some(interop) = interop("interop_dpop_login_userinfo_and_refresh_with_the_nonce_dance") else { return };
    let f = fixture(&interop);
    bounded("interop_dpop_login_userinfo_and_refresh_with_the_nonce_dance", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(rp_dpop_config(&f.op, &f.app_base()));
        let who = user("dpop");
        let (token, _) = login(&rp, &browser(), &who).await;
        assert!(token.is_dpop(), "token_type {:?}", token.token_type);
        assert_eq!(token.userinfo.as_ref().and_then(|c| c.sub()), Some(who.as_str()));
        let metadata = rp.load_server_metadata().await.expect("metadata").expect("discovered");
        let token_endpoint = metadata.token_endpoint.clone().expect("a token endpoint");
        // The provider demanded its nonce: the RP learned one (and retried with it).
        assert!(rp.dpop_nonce(&token_endpoint).is_some(), "no DPoP-Nonce was received");

        let info = rp.userinfo(&token).await.expect("UserInfo with a DPoP proof");
        assert_eq!(info.sub(), Some(who.as_str()));

        // The provider refuses the DPoP-bound token presented as Bearer.
        let userinfo_endpoint = metadata.userinfo_endpoint.clone().expect("a UserInfo endpoint");
        let as_bearer =
            reqwest::Client::new().get(&userinfo_endpoint).bearer_auth(token.access_token.secret()).send().await;
        assert_eq!(as_bearer.expect("an answer").status(), StatusCode::UNAUTHORIZED);

        let fresh = rp.refresh_token(&token).await.expect("refresh with a DPoP proof");
        assert!(fresh.is_dpop(), "refreshed token_type {:?}", fresh.token_type);
        assert_ne!(fresh.access_token.secret(), token.access_token.secret());
        let info = rp.userinfo(&fresh).await.expect("UserInfo with the refreshed token");
        assert_eq!(info.sub(), Some(who.as_str()));
    })
    .await;
}

#[tokio::test]
async fn interop_dpop_bound_client_without_dpop_is_refused() {
    let Some(interop) = interop("interop_dpop_bound_client_without_dpop_is_refused") else { return };
    let f = fixture(&interop);
    bounded("interop_dpop_bound_client_without_dpop_is_refused", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let mut config = rp_dpop_config(&f.op, &f.app_base());
        config.client_kwargs.dpop = false;
        let rp = oauth.register(config);
        let err = refused_login(&rp, &user("nodpop")).await;
        assert!(matches!(&err, ClientError::Core(Error::Provider(_))), "expected the provider's refusal, got {err:?}");
    })
    .await;
}

// --- PAR/JAR ---
// Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101) against
// oidc-provider's `pushedAuthorizationRequests` and `requestObjects` features, with the
// clients `rp-par` and `rp-par-plain` of provider.mjs (both must push).

/// The FAPI-shaped client `rp-par`: `private_key_jwt` (ES256) and every authorization
/// request pushed as a request object signed ES256. The FAPI 2.0 baseline test builds on
/// it (adding DPoP).
fn par_config(op: &Op, app_base: &str, jwt_key: &str, jwt_kid: &str) -> ClientConfig {
    let mut config = ClientConfig::new("rp-par")
        .client_id("rp-par")
        .server_metadata_url(op.discovery_url())
        .redirect_uri(format!("{app_base}/auth/rp-par/callback"))
        .scope("openid email profile offline_access")
        .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
        .private_key(jwt_key)
        .private_key_id(jwt_kid);
    config.client_kwargs.use_par = true;
    config.client_kwargs.request_object_signing_alg = Some("ES256".into());
    config
}

/// `rp-par-plain`: `client_secret_basic`, pushed without a request object (`use_par`
/// says whether rpkit pushes).
fn par_plain_config(op: &Op, app_base: &str, use_par: bool) -> ClientConfig {
    let mut config = ClientConfig::new("rp-par-plain")
        .client_id("rp-par-plain")
        .client_secret(SECRET)
        .server_metadata_url(op.discovery_url())
        .redirect_uri(format!("{app_base}/auth/rp-par-plain/callback"))
        .scope("openid email profile")
        .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic);
    config.client_kwargs.use_par = use_par;
    config
}

/// A login whose authorization URL must carry only `client_id` and `request_uri`.
async fn par_login(rp: &OAuthClient, who: &str) -> Token {
    let (result, _) = attempt_login(rp, &browser(), who, &AuthorizeOptions::default(), |url| {
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(names, ["client_id", "request_uri"], "only the reference goes through the browser: {url}");
    })
    .await;
    let token = result.expect("the callback is accepted");
    assert_eq!(token.userinfo.as_ref().and_then(|c| c.sub()), Some(who));
    token
}

#[tokio::test]
async fn interop_login_through_par_with_a_signed_request_object() {
    let Some(interop) = interop("interop_login_through_par_with_a_signed_request_object") else { return };
    let f = fixture(&interop);
    bounded("interop_login_through_par_with_a_signed_request_object", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(par_config(&f.op, &f.app_base(), &f.jwt_key, &f.jwt_kid));
        let who = user("pia");
        let token = par_login(&rp, &who).await;
        let info = rp.userinfo(&token).await.expect("UserInfo");
        assert_eq!(info.sub(), Some(who.as_str()));

        // The provider requires a signed request object of this client: the same client
        // pushing plain parameters is refused before any redirect, with its error code.
        let mut unsigned = par_config(&f.op, &f.app_base(), &f.jwt_key, &f.jwt_kid);
        unsigned.client_kwargs.request_object_signing_alg = None;
        let rp = oauth.register(unsigned);
        let mut pending = PendingSet::new();
        let err = rp.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await.unwrap_err();
        assert!(
            matches!(&err, ClientError::Core(Error::Provider(p)) if p.error == "invalid_request"),
            "expected the provider's invalid_request, got {err:?}"
        );
        assert!(pending.is_empty(), "nothing stored for a refused push");
    })
    .await;
}

#[tokio::test]
async fn interop_login_through_par_without_request_object() {
    let Some(interop) = interop("interop_login_through_par_without_request_object") else { return };
    let f = fixture(&interop);
    bounded("interop_login_through_par_without_request_object", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(par_plain_config(&f.op, &f.app_base(), true));
        par_login(&rp, &user("quinn")).await;

        // Without pushing, the provider refuses this client's request at the callback.
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(par_plain_config(&f.op, &f.app_base(), false));
        let (result, _) = attempt_login(&rp, &browser(), "unused", &AuthorizeOptions::default(), |url| {
            assert!(url.query_pairs().any(|(k, _)| k == "state"), "not pushed: {url}");
        })
        .await;
        let err = result.unwrap_err();
        assert!(
            matches!(&err, ClientError::Core(Error::Provider(p)) if p.error == "invalid_request"),
            "expected the provider's invalid_request, got {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn interop_login_with_a_request_object_by_value() {
    let Some(interop) = interop("interop_login_with_a_request_object_by_value") else { return };
    let f = fixture(&interop);
    bounded("interop_login_with_a_request_object_by_value", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let mut config =
            rp_config(&f.op, &f.app_base(), TokenEndpointAuthMethod::PrivateKeyJwt, &f.jwt_key, &f.jwt_kid);
        config.client_kwargs.request_object = true;
        let rp = oauth.register(config);
        let who = user("rosa");
        let (result, _) = attempt_login(&rp, &browser(), &who, &AuthorizeOptions::default(), |url| {
            let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
            assert_eq!(names, ["client_id", "request", "response_type", "scope"], "{url}");
        })
        .await;
        let token = result.expect("the callback is accepted");
        assert_eq!(token.userinfo.as_ref().and_then(|c| c.sub()), Some(who.as_str()));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Device flow with DPoP: the polls carry proofs (the provider's nonce demanded, answered
// once), the token is DPoP-bound and UserInfo takes it with a proof.

#[tokio::test]
async fn interop_device_flow_with_dpop_gets_a_bound_token() {
    let Some(interop) = interop("interop_device_flow_with_dpop_gets_a_bound_token") else { return };
    let f = fixture(&interop);
    bounded("interop_device_flow_with_dpop_gets_a_bound_token", async {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(
            ClientConfig::new("rp-device")
                .client_id("rp-device")
                .server_metadata_url(f.op.discovery_url())
                .scope("openid email")
                .token_endpoint_auth_method(TokenEndpointAuthMethod::None)
                .dpop(None),
        );
        let authorization = rp.device_authorize(None).await.expect("device authorization");
        let polling = {
            let (rp, a) = (rp.clone(), authorization.clone());
            tokio::spawn(async move { rp.poll_device_token(&a).await })
        };
        let who = user("dpop-tv");
        let complete = authorization.verification_uri_complete.clone().expect("verification_uri_complete");
        approve_device(&browser(), url::Url::parse(&complete).expect("URL"), &who).await;
        let token = polling.await.expect("the polling task").expect("the device login succeeds");
        assert!(token.is_dpop(), "token_type {}", token.token_type);
        let info = rp.userinfo(&token).await.expect("UserInfo with the DPoP-bound device token");
        assert_eq!(info.sub(), Some(who.as_str()));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// FAPI 2.0 baseline: PAR + DPoP + private_key_jwt (+ PKCE S256, rpkit's default), client
// `rp-fapi` of provider.mjs.

#[tokio::test]
async fn interop_fapi2_baseline_par_dpop_private_key_jwt() {
    let Some(interop) = interop("interop_fapi2_baseline_par_dpop_private_key_jwt") else { return };
    let f = fixture(&interop);
    bounded("interop_fapi2_baseline_par_dpop_private_key_jwt", async {
        let app = f.app_base();
        let mut config = ClientConfig::new("rp-fapi")
            .client_id("rp-fapi")
            .server_metadata_url(f.op.discovery_url())
            .redirect_uri(format!("{app}/auth/rp-fapi/callback"))
            .scope("openid email profile offline_access")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
            .private_key(f.jwt_key.as_str())
            .private_key_id(f.jwt_kid.as_str())
            // oidc-provider grants offline_access (a refresh token) only with consent.
            .authorize_param("prompt", "consent")
            .dpop(None);
        config.client_kwargs.use_par = true;
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let rp = oauth.register(config);

        // The browser sees only client_id and request_uri; oidc-provider checks the pushed
        // dpop_jkt against the proof of the code exchange, the assertion, PKCE.
        let who = user("fapi");
        let token = par_login(&rp, &who).await;
        assert!(token.is_dpop(), "a DPoP-bound access token, not {}", token.token_type);
        let info = rp.userinfo(&token).await.expect("UserInfo with a proof");
        assert_eq!(info.sub(), Some(who.as_str()));

        // Refresh: a proof again (the provider binds the refreshed token to the same key).
        let fresh = rp.refresh_token(&token).await.expect("refresh with DPoP");
        assert!(fresh.is_dpop());
        assert_ne!(fresh.access_token.secret(), token.access_token.secret());
        rp.userinfo(&fresh).await.expect("UserInfo with the refreshed DPoP token");

        // The same client without DPoP is refused by the provider: PAR alone is not enough.
        let mut bare = ClientConfig::new("rp-fapi-bare")
            .client_id("rp-fapi")
            .server_metadata_url(f.op.discovery_url())
            .redirect_uri(format!("{app}/auth/rp-fapi/callback"))
            .scope("openid")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
            .private_key(f.jwt_key.as_str())
            .private_key_id(f.jwt_kid.as_str());
        bare.client_kwargs.use_par = true;
        let rp = oauth.register(bare);
        let (result, _) = attempt_login(&rp, &browser(), &who, &AuthorizeOptions::default(), |_| {}).await;
        assert!(result.is_err(), "a DPoP-bound client logged in without DPoP");
    })
    .await;
}
