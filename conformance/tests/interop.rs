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
//! One provider process (and one back-channel logout receiver) serves the whole file and
//! is killed when the last test using it ends; the key rotation test runs its own, since
//! it restarts it.

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::KeyPair;
use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{AuthorizeOptions, ClientError, LogoutOptions, OAuth, OAuthClient};
use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
use rpkit::error::{Error, StateError};
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
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// How long one test may take in all.
const TEST_LIMIT: Duration = Duration::from_secs(90);
/// Most redirects and form posts the browser follows for one login or logout.
const MAX_HOPS: usize = 12;

/// The secret of `rp-basic` and `rp-post` (given to the provider script).
const SECRET: &str = "interop-secret-0123456789abcdef0123456789";
/// Where the provider sends the browser back; never fetched (the browser stops there).
const CALLBACK_PATH: &str = "/callback";
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

/// The provider's configuration for the script: the three clients' URIs and the
/// `private_key_jwt` client's public key.
fn op_config(port: u16, app_base: &str, client_jwk_public: &Value) -> Value {
    json!({
        "port": port,
        "redirect_uri": format!("{app_base}{CALLBACK_PATH}"),
        "post_logout_redirect_uri": format!("{app_base}{LOGGED_OUT_PATH}"),
        "backchannel_logout_base": format!("{app_base}/backchannel-logout"),
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
// The RP application: a back-channel logout receiver (axum) ending its sessions.

/// One logged-in session of the RP application.
#[derive(Debug, Clone, PartialEq)]
struct AppSession {
    client: String,
    sub: String,
    sid: Option<String>,
}

/// rpkit's verdict on a logout token: `Ok(sid)`, or the error code.
type Verdict = Result<Option<String>, String>;

#[derive(Default)]
struct AppState {
    oauth: OnceLock<OAuth>,
    sessions: Mutex<Vec<AppSession>>,
    /// Every delivery: the client and rpkit's verdict.
    deliveries: Mutex<Vec<(String, Verdict)>>,
}

impl AppState {
    fn sessions(&self) -> Vec<AppSession> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn deliveries(&self) -> Vec<(String, Verdict)> {
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// `POST /backchannel-logout/{client}`: validate with rpkit, end the matching sessions.
async fn backchannel_logout(
    State(app): State<Arc<AppState>>,
    UrlPath(client): UrlPath<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let Some(rp) = app.oauth.get().and_then(|o| o.create_client(&client).ok()) else {
        return StatusCode::NOT_FOUND;
    };
    let verdict = rp.validate_backchannel_logout(&body).await;
    let (status, record) = match &verdict {
        Ok(target) => {
            app.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|s| !(s.client == client && target.matches(Some(&s.sub), s.sid.as_deref())));
            (StatusCode::OK, Ok(target.sid.clone()))
        }
        Err(e) => (StatusCode::BAD_REQUEST, Err(e.code().to_owned())),
    };
    app.deliveries.lock().unwrap_or_else(PoisonError::into_inner).push((client, record));
    status
}

/// The receiver on its own thread and runtime (tests each have their own runtime), shut
/// down on drop.
struct Receiver {
    addr: SocketAddr,
    app: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        let app = Arc::new(AppState::default());
        let (addr_tx, addr_rx) = mpsc::channel();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&app);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
                let _ = addr_tx.send(listener.local_addr().expect("receiver address"));
                let router =
                    Router::new().route("/backchannel-logout/{client}", post(backchannel_logout)).with_state(state);
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv_timeout(STARTUP_LIMIT).expect("the receiver did not start");
        Receiver { addr, app, shutdown: Some(shutdown), thread: Some(thread) }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Receiver {
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
    app: Receiver,
    jwt_key: String,
    jwt_kid: String,
}

impl Fixture {
    fn start(interop: &Interop) -> Fixture {
        let app = Receiver::start();
        let (jwt_key, jwt_kid, public) = client_key();
        let op = Op::start(interop, &op_config(0, &app.base(), &public));
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        for method in METHODS {
            oauth.register(rp_config(&op, &app.base(), method, &jwt_key, &jwt_kid));
        }
        let _ = app.app.oauth.set(oauth);
        Fixture { op, app, jwt_key, jwt_kid }
    }

    /// A fresh RP (own caches) for client `method`.
    fn rp(&self, method: TokenEndpointAuthMethod) -> (OAuth, OAuthClient) {
        let oauth = OAuth::new(ReqwestClient::new().expect("reqwest"));
        let client = oauth.register(rp_config(&self.op, &self.app.base(), method, &self.jwt_key, &self.jwt_kid));
        (oauth, client)
    }

    fn app_base(&self) -> String {
        self.app.base()
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

/// The RP's registration: discovery does the rest.
fn rp_config(op: &Op, app_base: &str, method: TokenEndpointAuthMethod, jwt_key: &str, jwt_kid: &str) -> ClientConfig {
    let id = client_id(method);
    let config = ClientConfig::new(id)
        .client_id(id)
        .server_metadata_url(op.discovery_url())
        .redirect_uri(format!("{app_base}{CALLBACK_PATH}"))
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
/// consent form and logout confirmation, until a redirect to `stop` (returned).
async fn drive(browser: &reqwest::Client, start: url::Url, stop: &str, user: &str) -> url::Url {
    let mut request = browser.get(start.clone());
    let mut current = start;
    for _ in 0..MAX_HOPS {
        let resp = request.send().await.unwrap_or_else(|e| panic!("browser request to {current}: {e}"));
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location");
            let next = current.join(location).expect("a valid Location");
            if next.as_str().starts_with(stop) {
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
    panic!("no redirect to {stop} within {MAX_HOPS} hops (last at {current})");
}

/// One complete login through rpkit: authorization URL, the browser's trip through the
/// provider's forms, the callback. Returns the token and the callback URL.
async fn login(rp: &OAuthClient, browser: &reqwest::Client, app_base: &str, user: &str) -> (Token, url::Url) {
    let mut pending = PendingSet::new();
    // `prompt=consent`: oidc-provider issues refresh tokens (offline_access) only then.
    let options = AuthorizeOptions::default().param("prompt", "consent");
    let url = rp.authorize_redirect(&mut pending, &options).await.expect("authorization URL");
    let callback = drive(browser, url, &format!("{app_base}{CALLBACK_PATH}"), user).await;
    let params = CallbackParams::from_query(callback.query().unwrap_or("")).expect("callback parameters");
    let token = rp.authorize_access_token(&mut pending, &params).await.expect("the callback is accepted");
    assert!(pending.is_empty(), "the pending authorization is used up");
    (token, callback)
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
    let (token, callback) = login(&rp, &browser(), &f.app_base(), &who).await;
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
        let browser = browser();
        let mut pending = PendingSet::new();
        let url = rp.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await.expect("URL");
        let callback = drive(&browser, url, &format!("{}{CALLBACK_PATH}", f.app_base()), &user("mallory")).await;
        let params = CallbackParams::from_query(callback.query().unwrap_or("")).expect("params");
        let err = rp.authorize_access_token(&mut pending, &params).await.unwrap_err();
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
        let (token, _) = login(&rp, &browser(), &f.app_base(), &who).await;
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
        let (token, _) = login(&rp, &browser(), &f.app_base(), &who).await;
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
        let (token, _) = login(&rp, &browser, &f.app_base(), &user("dave")).await;

        let logged_out = format!("{}{LOGGED_OUT_PATH}", f.app_base());
        let options = LogoutOptions {
            post_logout_redirect_uri: Some(logged_out.clone()),
            id_token_hint: token.id_token.clone(),
            ..LogoutOptions::default()
        };
        let (url, pending) = rp.logout_redirect(&options).await.expect("logout URL");
        assert!(url.as_str().starts_with(&format!("{}/session/end?", f.op.issuer)), "{url}");
        let mut session = vec![pending.expect("a pending logout for the redirect back")];

        let back = drive(&browser, url, &logged_out, "unused").await;
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
        let resp = browser.get(url).send().await.expect("authorize");
        let interaction = resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("to interaction");
        let page = browser.get(f.op.issuer.clone() + interaction).send().await.expect("interaction");
        let html = page.text().await.expect("page");
        assert!(html.contains(r#"name="prompt" value="login""#), "login form expected after logout");
    })
    .await;
}

#[tokio::test]
async fn interop_backchannel_logout_ends_the_app_session() {
    let Some(interop) = interop("interop_backchannel_logout_ends_the_app_session") else { return };
    let f = fixture(&interop);
    bounded("interop_backchannel_logout_ends_the_app_session", async {
        let (_oauth, rp) = f.rp(TokenEndpointAuthMethod::ClientSecretBasic);
        let browser = browser();
        let who = user("erin");
        let (token, _) = login(&rp, &browser, &f.app_base(), &who).await;
        let sid = token.userinfo.as_ref().and_then(|c| c.get_str("sid")).map(str::to_owned);
        assert!(sid.is_some(), "the ID token carries a sid");
        let mine = AppSession { client: "rp-basic".into(), sub: who.clone(), sid: sid.clone() };
        // Another session of the same user elsewhere (another provider session) survives.
        let other = AppSession { client: "rp-basic".into(), sub: who.clone(), sid: Some("another-sid".into()) };
        f.app.app.sessions.lock().unwrap_or_else(PoisonError::into_inner).extend([mine.clone(), other.clone()]);

        // The user signs out at the provider (here through an RP-initiated logout without
        // a redirect back); the provider POSTs a logout token to the receiver before it
        // answers the confirmation.
        let options = LogoutOptions { id_token_hint: token.id_token.clone(), ..LogoutOptions::default() };
        let (url, _) = rp.logout_redirect(&options).await.expect("logout URL");
        let done = drive(&browser, url, &format!("{}/session/end/success", f.op.issuer), "unused").await;
        assert!(done.path().ends_with("/session/end/success"));

        let deliveries = f.app.app.deliveries();
        assert!(
            deliveries.iter().any(|(c, v)| c == "rp-basic" && v.as_ref().ok() == Some(&sid)),
            "a valid logout token for this session reached the app: {deliveries:?}\nprovider stderr:\n{}",
            f.op.stderr()
        );
        let sessions = f.app.app.sessions();
        assert!(!sessions.contains(&mine), "the app session was ended");
        assert!(sessions.contains(&other), "only the provider session's sid was ended");
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

        let (first, _) = login(&rp, &browser(), app_base, &user("frank")).await;
        assert_eq!(op.counts().await["jwks"], 1, "the first login fetched the JWKS once");
        let kid_before = kid_of(&first);

        // Restart with new keys on the same port: same issuer, new signing key.
        let port = op.port;
        drop(op);
        let op = Op::start(&interop, &op_config(port, app_base, &public));
        assert_eq!(op.issuer, issuer);

        let (second, _) = login(&rp, &browser(), app_base, &user("frank")).await;
        assert_ne!(kid_of(&second), kid_before, "the provider signs with a new key");
        assert_eq!(op.counts().await["jwks"], 1, "the unknown kid cost exactly one JWKS refetch");

        // And the keys are cached again: a third login fetches nothing.
        let _ = login(&rp, &browser(), app_base, &user("frank")).await;
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
