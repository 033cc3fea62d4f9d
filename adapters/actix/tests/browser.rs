//! The actix demo in a real browser: headless Chromium over WebDriver logs in through the
//! development provider's HTML form, calls the API, logs out — by the query response
//! and by `form_post` (see `contract-tests/browser_support.rs`).
//!
//! Without `chromium`/`chromedriver` installed these tests print that they did not run
//! and pass, unless `RPKIT_REQUIRE_BROWSER=1`.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;

#[path = "../../contract-tests/browser_support.rs"]
mod browser_support;

use actix_web::dev::ServerHandle;
use browser_support::{
    bounded, log_in_call_the_api_and_log_out, log_in_with_oauth1_and_call_the_signed_api, Browser, Demo, Mode,
    PROVIDER_ADDR,
};
use demo_app::{dev_client_config, start_dev_provider};
use rpkit::client::OAuth;
use rpkit_conformance::RunningProvider;
use rpkit_reqwest::ReqwestClient;
use std::net::TcpListener;
use std::time::Duration;

/// The demo app on `127.0.0.1` and the provider on `127.0.0.2` (another site).
struct Running {
    base: String,
    op: RunningProvider,
    server: ServerHandle,
}

/// The demo as `examples/demo-actix.rs` wires it (one worker), with `response_mode`
/// set on the client when given.
async fn start(response_mode: Option<&str>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let op = start_dev_provider(&base, |b| b.bind(PROVIDER_ADDR)).await.expect("the development provider starts");
    let http = ReqwestClient::builder().timeout(Duration::from_secs(5)).build().expect("http client");
    let oauth = OAuth::new(http);
    demo_app::log_token_updates(&oauth);
    let mut config = dev_client_config(&op);
    config.client_kwargs.response_mode = response_mode.map(str::to_owned);
    oauth.register(config);
    oauth.register(demo_app::dev_oauth1_client_config(&op, &base));
    let server = demo_app::Demo::new(oauth, &base).serve(listener, 1).expect("serve");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Running { base, op, server: handle }
}

async fn journey(mode: Mode) {
    let Some(browser) = Browser::launch("actix").await else { return };
    let running = start((mode == Mode::FormPost).then_some("form_post")).await;
    // bob's name has markup in it: the page must show it as text.
    let demo = Demo {
        base: &running.base,
        issuer: running.op.issuer(),
        cookie: rpkit_actix::DEFAULT_COOKIE_NAME,
        username: "bob",
        display_name: "Bob <Builder>",
        email: "bob@example.com",
    };
    bounded(log_in_call_the_api_and_log_out(&browser, &demo, mode)).await;
    browser.close().await;
    running.server.stop(false).await;
    running.op.shutdown().await;
}

#[actix_web::test]
async fn browser_logs_in_through_the_provider_form_calls_the_api_and_logs_out() {
    journey(Mode::Query).await;
}

#[actix_web::test]
async fn browser_logs_in_with_the_oauth1_provider_and_calls_the_signed_api() {
    let Some(browser) = Browser::launch("actix").await else { return };
    let running = start(None).await;
    let demo = Demo {
        base: &running.base,
        issuer: running.op.issuer(),
        cookie: rpkit_actix::DEFAULT_COOKIE_NAME,
        username: "alice",
        display_name: "alice",
        email: "alice@example.com",
    };
    bounded(log_in_with_oauth1_and_call_the_signed_api(&browser, &demo, "alice")).await;
    browser.close().await;
    running.server.stop(false).await;
    running.op.shutdown().await;
}

#[actix_web::test]
async fn browser_completes_a_cross_site_form_post_login_through_the_relay() {
    journey(Mode::FormPost).await;
}
