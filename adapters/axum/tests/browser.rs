//! The axum demo in a real browser: headless Chromium over WebDriver logs in through the
//! development provider's HTML form, calls the API, logs out — by the query response
//! and by `form_post` (see `contract-tests/browser_support.rs`).
//!
//! Without `chromium`/`chromedriver` installed these tests print that they did not run
//! and pass, unless `RPKIT_REQUIRE_BROWSER=1`.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;

#[path = "../../contract-tests/browser_support.rs"]
mod browser_support;

use browser_support::{
    bounded, log_in_call_the_api_and_log_out, log_in_with_oauth1_and_call_the_signed_api, Browser, Demo, Mode,
    PROVIDER_ADDR,
};
use demo_app::{app, DemoOptions, DEMO_COOKIE};
use rpkit::client::OAuth;
use rpkit::ClientConfig;
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser, RunningProvider};
use rpkit_reqwest::ReqwestClient;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const CLIENT_ID: &str = "rpkit-demo";
const CLIENT_SECRET: &str = "rpkit-demo-secret";

/// The demo app on `127.0.0.1` and the provider on `127.0.0.2` (another site).
struct Running {
    base: String,
    op: RunningProvider,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The demo as `examples/demo.rs` wires it, with `response_mode` set on the client when
/// given.
async fn start(response_mode: Option<&str>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let options = DemoOptions::new(url::Url::parse(&base).expect("base URL"));
    let op = DevProvider::builder()
        .bind(PROVIDER_ADDR)
        .client(
            ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET)
                .redirect_uri(options.redirect_uri("dev"))
                .post_logout_redirect_uri(options.post_logout_redirect_uri())
                .backchannel_logout_uri(options.backchannel_logout_uri("dev")),
        )
        .user(DevUser::new("alice").name("Alice Example").email("alice@example.com").email_verified(true))
        .oauth1_consumer(rpkit_conformance::Oauth1Consumer::new("browser-consumer", "browser-consumer-secret"))
        .start()
        .await
        .expect("the development provider starts");
    let http = ReqwestClient::builder().timeout(Duration::from_secs(5)).build().expect("http client");
    let oauth = OAuth::new(http);
    let mut config = ClientConfig::new("dev")
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .server_metadata_url(op.discovery_url())
        .api_base_url(format!("{}/", op.issuer()))
        .scope("openid profile email offline_access");
    config.client_kwargs.response_mode = response_mode.map(str::to_owned);
    oauth.register(config);
    oauth.register(rpkit_conformance::oauth1::client_config(
        &op,
        "dev-oauth1",
        "browser-consumer",
        "browser-consumer-secret",
        &options.redirect_uri("dev-oauth1"),
    ));
    let router = app(oauth, options);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Running { base, op, task }
}

async fn journey(mode: Mode) {
    let Some(browser) = Browser::launch("axum").await else { return };
    let running = start((mode == Mode::FormPost).then_some("form_post")).await;
    let demo = Demo {
        base: &running.base,
        issuer: running.op.issuer(),
        cookie: DEMO_COOKIE,
        username: "alice",
        display_name: "Alice Example",
        email: "alice@example.com",
    };
    bounded(log_in_call_the_api_and_log_out(&browser, &demo, mode)).await;
    browser.close().await;
}

#[tokio::test]
async fn browser_logs_in_through_the_provider_form_calls_the_api_and_logs_out() {
    journey(Mode::Query).await;
}

#[tokio::test]
async fn browser_logs_in_with_the_oauth1_provider_and_calls_the_signed_api() {
    let Some(browser) = Browser::launch("axum").await else { return };
    let running = start(None).await;
    let demo = Demo {
        base: &running.base,
        issuer: running.op.issuer(),
        cookie: DEMO_COOKIE,
        username: "alice",
        display_name: "alice",
        email: "alice@example.com",
    };
    bounded(log_in_with_oauth1_and_call_the_signed_api(&browser, &demo, "alice")).await;
    browser.close().await;
}

#[tokio::test]
async fn browser_completes_a_cross_site_form_post_login_through_the_relay() {
    journey(Mode::FormPost).await;
}
