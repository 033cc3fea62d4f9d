//! A real browser for the demos' tests: Debian's headless Chromium, driven over W3C
//! WebDriver (its `chromedriver`, started here on a free loopback port) with fantoccini,
//! and the login journey a person takes through a demo app and the development provider.
//! Included by `adapters/{axum,actix}/tests/browser.rs` with `#[path]`.
//!
//! Without `chromium` and `chromedriver` on `PATH` the tests say so and pass, unless
//! `RPKIT_REQUIRE_BROWSER=1` (as in `.ci/run`), which makes that a failure.
//!
//! Screenshots go to `<target>/browser/<framework>-….png`.

#![allow(dead_code)]

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bound of every wait: for chromedriver to listen, a page to load, an element to
/// appear, a redirect chain to end.
pub const WAIT: Duration = Duration::from_secs(20);

/// The bound of one whole journey (its steps are bounded by [`WAIT`] each).
pub const JOURNEY: Duration = Duration::from_secs(120);

/// Where the development provider listens in these tests: another loopback address than
/// the app's `127.0.0.1`, hence another *site* (an IP address is its own site; ports do
/// not count), so that the browser applies `SameSite` as it would between a real
/// provider and a real app.
pub const PROVIDER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0);

/// The flags Chromium runs with. This machine has no network: without the
/// background-networking flags Chromium's own connections fail and slow it down.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,700",
];

/// `program` on `PATH`, if it is there.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// `chromium` and `chromedriver`, or `None` (and a plain note) when either is missing.
///
/// # Panics
/// When one is missing and `RPKIT_REQUIRE_BROWSER=1`.
pub fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    match (on_path("chromium"), on_path("chromedriver")) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            if std::env::var("RPKIT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("RPKIT_REQUIRE_BROWSER=1 but chromium/chromedriver are not on PATH (apt-get install chromium chromium-driver)");
            }
            // Straight to stderr, past the test harness's capture: a pass must not hide it.
            let _ = writeln!(std::io::stderr(), "chromium/chromedriver not found: the browser test did not run");
            None
        }
    }
}

/// A `chromedriver` child process on a loopback port, killed (with the browsers it
/// started: its process group) on drop.
pub struct Chromedriver {
    child: Child,
    port: u16,
    pid_file: Option<PathBuf>,
}

/// Where to note chromedriver's pid while it runs, when `RPKIT_TEST_PIDDIR` names a
/// directory: `.ci/run` ends the process group of any left behind by a test binary that
/// died without unwinding.
fn pid_file(pid: u32) -> Option<PathBuf> {
    let dir = std::env::var_os("RPKIT_TEST_PIDDIR")?;
    Some(Path::new(&dir).join(format!("chromedriver.{pid}")))
}

impl Chromedriver {
    /// Starts `driver` on a free loopback port and waits (at most [`WAIT`]) until it
    /// listens; its log goes to `log`.
    ///
    /// # Panics
    /// When it cannot start, exits, or does not listen in time.
    pub fn start(driver: &Path, log: &Path) -> Chromedriver {
        // `--port=0`: chromedriver takes a free port itself and says which on stdout
        // ("… started successfully on port N."). Picking one here and handing it over
        // raced with the other tests' listeners: a connect could reach one of them.
        let mut command = Command::new(driver);
        command
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            // Its own process group: dropping it ends the browsers it started too.
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let pid_file = pid_file(child.id());
        if let Some(file) = &pid_file {
            let _ = std::fs::write(file, child.id().to_string());
        }
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let (tx, rx) = std::sync::mpsc::channel::<u16>();
        // Reads to the end, so that chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    if let Ok(port) = rest.trim_end_matches('.').trim().parse() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let mut driver = Chromedriver { child, port: 0, pid_file };
        match rx.recv_timeout(WAIT) {
            Ok(port) => driver.port = port,
            Err(_) => {
                let exited = driver.child.try_wait().ok().flatten();
                panic!(
                    "chromedriver did not say it listens within {WAIT:?} (exited: {exited:?}); its log:\n{}",
                    read_log(log)
                );
            }
        }
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, driver.port)),
            Duration::from_millis(200),
        )
        .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver's port {} does not answer; its log:\n{}",
                driver.port,
                read_log(log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// `http://127.0.0.1:PORT`, its WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The group is ours (process_group(0) above made the child its leader).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(file) = &self.pid_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// The last few kilobytes of chromedriver's log, for a failure message.
fn read_log(log: &Path) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(4000)..]).into_owned()
}

/// One headless Chromium under chromedriver, with a fresh profile.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// `axum` or `actix`: the screenshots' prefix.
    pub framework: &'static str,
    // Dropped after the client: the driver kills Chromium, then the profile goes.
    driver: Chromedriver,
    profile: tempfile::TempDir,
    // Released last: the next test's browser starts after this one is gone.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Whose turn it is to run a browser (see [`Browser::launch`]).
static BROWSER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Browser {
    /// Starts chromedriver and a Chromium session, or returns `None` when they are not
    /// installed (see [`browser_tools`]).
    ///
    /// # Panics
    /// When they are installed but do not start within [`WAIT`].
    pub async fn launch(framework: &'static str) -> Option<Browser> {
        let (chromium, driver) = browser_tools()?;
        // One Chromium at a time in a test binary: three at once on a 2-core machine
        // made session creation miss its bound.
        let turn = BROWSER_TURN.lock().await;
        let mut last = String::new();
        // A session that does not come up is retried with a fresh chromedriver, twice.
        for _attempt in 0..3 {
            match Self::try_launch(&chromium, &driver).await {
                Ok((client, driver, profile)) => {
                    return Some(Browser { client, framework, driver, profile, _turn: turn })
                }
                Err(why) => {
                    let _ = writeln!(std::io::stderr(), "no Chromium session yet ({why}); trying again");
                    last = why;
                }
            }
        }
        panic!("no Chromium session in 3 attempts: {last}");
    }

    async fn try_launch(chromium: &Path, driver: &Path) -> Result<(Client, Chromedriver, tempfile::TempDir), String> {
        let profile = tempfile::Builder::new().prefix("rpkit-chromium-").tempdir().expect("a temp dir");
        let user_data = profile.path().join("profile");
        let log = profile.path().join("chromedriver.log");
        let driver = Chromedriver::start(driver, &log);
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        let ms = u64::try_from(WAIT.as_millis()).unwrap_or(u64::MAX);
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            // Network events, for what cookies each request carried (`requests`).
            // and the console (`console`, in failure messages).
            "goog:loggingPrefs": { "performance": "ALL", "browser": "ALL" },
            "timeouts": { "pageLoad": ms, "script": ms, "implicit": 0 },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let capabilities: Capabilities = capabilities;
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let endpoint = driver.url();
        match tokio::time::timeout(WAIT, builder.connect(&endpoint)).await {
            Ok(Ok(client)) => Ok((client, driver, profile)),
            Ok(Err(e)) => Err(format!("{e}; chromedriver's log:\n{}", read_log(&log))),
            Err(_) => Err(format!("no session within {WAIT:?}; chromedriver's log:\n{}", read_log(&log))),
        }
    }

    /// Ends the WebDriver session (Chromium exits), then chromedriver.
    pub async fn close(self) {
        let Browser { client, driver, profile, _turn, .. } = self;
        let _ = tokio::time::timeout(WAIT, client.close()).await;
        drop(driver);
        drop(profile);
        drop(_turn);
    }

    /// Opens `url` (bounded by the page-load timeout).
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The current URL.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// Waits (at most [`WAIT`]) for an element.
    pub async fn find(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        let what = format!("{locator:?}");
        match self.client.wait().at_most(WAIT).for_element(locator).await {
            Ok(element) => element,
            Err(e) => panic!("no {what} within {WAIT:?} ({e}) on {}:\n{}", self.url().await, self.text().await),
        }
    }

    /// Waits (at most [`WAIT`]) until the current URL satisfies `done`, and returns it.
    pub async fn wait_for_url(&self, what: &str, done: impl Fn(&url::Url) -> bool) -> url::Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if done(&url) {
                return url;
            }
            if Instant::now() >= deadline {
                panic!(
                    "not at {what} within {WAIT:?}: at {url}:\n{}\nconsole:\n{}",
                    self.text().await,
                    self.console().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The console's messages since the last call, one a line.
    pub async fn console(&self) -> String {
        let entries = self.client.issue_cmd(Log("browser")).await.unwrap_or_default();
        let lines: Vec<&str> = entries.as_array().into_iter().flatten().filter_map(|e| e["message"].as_str()).collect();
        lines.join("\n")
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// A script's value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Saves a PNG of the viewport to `<target>/browser/<framework>-<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = target_dir().join("browser");
        std::fs::create_dir_all(&dir).expect("target/browser");
        let path = dir.join(format!("{}-{name}.png", self.framework));
        std::fs::write(&path, png).expect("write the screenshot");
        println!("screenshot: {}", path.display());
        path
    }

    /// Every request the browser has sent since the last call (from Chromium's
    /// performance log): method, URL, and the names of the cookies it carried or that
    /// were blocked (with why).
    pub async fn requests(&self) -> Vec<SentRequest> {
        let entries = self.client.issue_cmd(Log("performance")).await.expect("the performance log");
        let mut order: Vec<String> = Vec::new();
        let mut by_id: HashMap<String, SentRequest> = HashMap::new();
        for entry in entries.as_array().into_iter().flatten() {
            let Some(message) = entry["message"].as_str().and_then(|m| serde_json::from_str::<Value>(m).ok()) else {
                continue;
            };
            let event = &message["message"];
            let params = &event["params"];
            let Some(id) = params["requestId"].as_str() else { continue };
            match event["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    // A redirect reuses the id: the hop is a new request.
                    let key = format!("{id}#{}", order.iter().filter(|k| k.starts_with(&format!("{id}#"))).count());
                    order.push(key.clone());
                    by_id.insert(
                        key,
                        SentRequest {
                            method: params["request"]["method"].as_str().unwrap_or_default().to_owned(),
                            url: params["request"]["url"].as_str().unwrap_or_default().to_owned(),
                            cookies_sent: Vec::new(),
                            cookies_blocked: Vec::new(),
                        },
                    );
                }
                Some("Network.requestWillBeSentExtraInfo") => {
                    // Belongs to the latest hop of that id.
                    let Some(key) = order.iter().rev().find(|k| k.starts_with(&format!("{id}#"))).cloned() else {
                        continue;
                    };
                    let Some(request) = by_id.get_mut(&key) else { continue };
                    for c in params["associatedCookies"].as_array().into_iter().flatten() {
                        let name = c["cookie"]["name"].as_str().unwrap_or_default().to_owned();
                        let reasons: Vec<String> = c["blockedReasons"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect();
                        if reasons.is_empty() {
                            request.cookies_sent.push(name);
                        } else {
                            request.cookies_blocked.push((name, reasons));
                        }
                    }
                }
                _ => {}
            }
        }
        order.into_iter().filter_map(|k| by_id.remove(&k)).collect()
    }
}

/// One request as Chromium sent it.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The names of the cookies it carried.
    pub cookies_sent: Vec<String>,
    /// The cookies it did not carry, each with Chromium's reasons (`SameSiteLax`, …).
    pub cookies_blocked: Vec<(String, Vec<String>)>,
}

/// chromedriver's log endpoint (not in W3C WebDriver; chromedriver keeps it): `performance`
/// (DevTools network events) or `browser` (the console, CSP reports included).
#[derive(Debug)]
struct Log(&'static str);

impl WebDriverCompatibleCommand for Log {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": self.0 }).to_string()))
    }
}

/// The Cargo target directory this test binary was built in (`<target>/debug/deps/…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"))
}

/// How the provider sends the authorization response back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A redirect with the code in the query: a top-level cross-site `GET`.
    Query,
    /// `response_mode=form_post`: an auto-submitted cross-site `POST`.
    FormPost,
}

/// One demo app and its provider, as the journey needs them.
pub struct Demo<'a> {
    /// The app's base URL, `http://127.0.0.1:PORT`.
    pub base: &'a str,
    /// The provider's issuer.
    pub issuer: &'a str,
    /// The session cookie's name.
    pub cookie: &'a str,
    /// The user to type into the provider's form, and the name the app shows for them.
    pub username: &'a str,
    /// The user's name as the home page shows it.
    pub display_name: &'a str,
    /// The user's email (in the API's answer).
    pub email: &'a str,
}

/// Runs `journey` within [`JOURNEY`].
pub async fn bounded<F: Future<Output = ()>>(journey: F) {
    tokio::time::timeout(JOURNEY, journey).await.unwrap_or_else(|_| panic!("the journey took over {JOURNEY:?}"));
}

/// A person's visit: the home page, "Log in with dev", the provider's login form (typed
/// into and submitted), back home logged in, the session cookie's attributes, an
/// `/api/dev/userinfo` call answered with JSON, the logout button, the provider's
/// end-session redirect, the logged-out page. With [`Mode::FormPost`] it also checks
/// that the provider's cross-site `POST` went without the `SameSite=Lax` session cookie
/// and that the app's same-origin relay re-posted it with the cookie.
pub async fn log_in_call_the_api_and_log_out(b: &Browser, demo: &Demo<'_>, mode: Mode) {
    let suffix = if mode == Mode::FormPost { "-form-post" } else { "" };
    let home = format!("{}/", demo.base);
    let callback = format!("{}/auth/dev/callback", demo.base);

    b.goto(&home).await;
    b.find(Locator::LinkText("Log in with dev")).await.click().await.expect("click Log in with dev");

    // The provider's login page.
    let field = b.find(Locator::Css("input[name=\"username\"][autocomplete=\"username\"]")).await;
    let at = b.url().await;
    assert!(at.as_str().starts_with(demo.issuer), "at the provider ({}), not {at}", demo.issuer);
    let page = b.text().await;
    assert!(page.contains("asks you to log in"), "{page}");
    b.screenshot(&format!("provider-login{suffix}")).await;
    let _ = b.requests().await;

    field.send_keys(demo.username).await.expect("type the username");
    b.find(Locator::XPath("//button[normalize-space()='Log in']")).await.click().await.expect("click Log in");

    // Home again, logged in.
    b.wait_for_url("the home page", |u| u.as_str() == home).await;
    let greeting = b.find(Locator::XPath("//p[starts-with(normalize-space(), 'Logged in with')]")).await;
    let greeting = greeting.text().await.expect("the greeting");
    assert!(greeting.contains(&format!("as {}", demo.display_name)), "{greeting}");
    b.find(Locator::XPath("//form[@action='/logout/dev']//button[normalize-space()='Log out']")).await;
    b.screenshot(&format!("logged-in{suffix}")).await;

    let requests = b.requests().await;
    let to_callback: Vec<&SentRequest> = requests.iter().filter(|r| r.url.starts_with(&callback)).collect();
    match mode {
        Mode::Query => {
            assert_eq!(to_callback.len(), 1, "{requests:#?}");
            let hop = to_callback[0];
            assert_eq!(hop.method, "GET");
            // A top-level cross-site GET carries a Lax cookie.
            assert!(hop.cookies_sent.iter().any(|c| c == demo.cookie), "{hop:#?}");
        }
        Mode::FormPost => {
            assert_eq!(to_callback.len(), 2, "the provider's POST, then the relay's: {requests:#?}");
            let (cross_site, relayed) = (to_callback[0], to_callback[1]);
            assert_eq!((cross_site.method.as_str(), relayed.method.as_str()), ("POST", "POST"));
            assert!(!cross_site.cookies_sent.iter().any(|c| c == demo.cookie), "{cross_site:#?}");
            assert!(
                cross_site.cookies_blocked.iter().any(|(c, why)| c == demo.cookie && why.iter().any(|w| w.ends_with("SameSiteLax"))),
                "Chromium withholds the session cookie for SameSite=Lax (`SameSiteLax`, or `SchemefulSameSiteLax` as it \
                 names it between loopback addresses): {cross_site:#?}"
            );
            assert!(relayed.cookies_sent.iter().any(|c| c == demo.cookie), "{relayed:#?}");
        }
    }

    // The session cookie as the browser keeps it.
    let cookies = b.client.get_all_cookies().await.expect("the cookies");
    let session =
        cookies.iter().find(|c| c.name() == demo.cookie).unwrap_or_else(|| panic!("no {} in {cookies:?}", demo.cookie));
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(session.same_site().map(|s| s.to_string()), Some("Lax".to_owned()), "{session:?}");
    assert_eq!(session.path(), Some("/"), "{session:?}");
    assert_ne!(session.secure(), Some(true), "plain http on loopback: {session:?}");
    assert_eq!(session.domain(), Some("127.0.0.1"), "host-only: {session:?}");
    let script_sees = b.eval("return document.cookie").await;
    assert!(!script_sees.as_str().unwrap_or_default().contains(demo.cookie), "HttpOnly: {script_sees}");

    // The provider's API through the app, with the user's token.
    b.goto(&format!("{}/api/dev/userinfo", demo.base)).await;
    assert_eq!(b.eval("return document.contentType").await, "application/json");
    let body = b.text().await;
    let userinfo: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(userinfo["sub"], demo.username, "{userinfo}");
    assert_eq!(userinfo["email"], demo.email, "{userinfo}");

    // The logout button, then the provider's end-session redirect back to us.
    b.goto(&home).await;
    b.find(Locator::XPath("//form[@action='/logout/dev']//button[normalize-space()='Log out']"))
        .await
        .click()
        .await
        .expect("click Log out");
    let out = b.wait_for_url("the logged-out page", |u| u.path() == "/logged-out").await;
    assert!(out.as_str().starts_with(demo.base), "{out}");
    assert!(out.query_pairs().any(|(k, v)| k == "state" && !v.is_empty()), "{out}");
    let page = b.text().await;
    assert!(page.contains("You are logged out of dev"), "{page}");
    let requests = b.requests().await;
    let logout = requests.iter().position(|r| r.method == "POST" && r.url == format!("{}/logout/dev", demo.base));
    let end_session = requests.iter().position(|r| r.url.starts_with(&format!("{}/end_session", demo.issuer)));
    assert!(matches!((logout, end_session), (Some(a), Some(b)) if a < b), "{requests:#?}");

    // Nobody is logged in any more.
    b.goto(&home).await;
    b.find(Locator::LinkText("Log in with dev")).await;
    b.goto(&format!("{}/me", demo.base)).await;
    let me: Value = serde_json::from_str(&b.text().await).expect("JSON");
    assert_eq!(me["error"], "login_required");
}

/// "Log in with dev-oauth1": the provider's OAuth 1.0a mode (temporary credentials, the
/// authorize redirect — it logs `user` in at once — and token credentials), back home
/// logged in, and the signed API call answered with JSON. Screenshot `logged-in-oauth1`.
pub async fn log_in_with_oauth1_and_call_the_signed_api(b: &Browser, demo: &Demo<'_>, user: &str) {
    let home = format!("{}/", demo.base);
    b.goto(&home).await;
    b.find(Locator::LinkText("Log in with dev-oauth1")).await.click().await.expect("click Log in with dev-oauth1");
    b.wait_for_url("the home page", |u| u.as_str() == home).await;
    let greeting = b.find(Locator::XPath("//p[starts-with(normalize-space(), 'Logged in with')]")).await;
    let greeting = greeting.text().await.expect("the greeting");
    assert!(greeting.contains("dev-oauth1"), "{greeting}");
    b.screenshot("logged-in-oauth1").await;
    let requests = b.requests().await;
    assert!(
        requests.iter().any(|r| r.url.starts_with(&format!("{}/oauth1/authorize?oauth_token=", demo.issuer))),
        "{requests:#?}"
    );
    let callback = format!("{}/auth/dev-oauth1/callback", demo.base);
    let hop = requests.iter().find(|r| r.url.starts_with(&callback)).expect("the OAuth 1.0a callback");
    assert!(
        hop.cookies_sent.iter().any(|c| c == demo.cookie),
        "the session holding the temporary credentials: {hop:#?}"
    );

    b.goto(&format!("{}/api/dev-oauth1/account", demo.base)).await;
    let body = b.text().await;
    let account: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(account["screen_name"], user, "{account}");
}
