//! The behaviour suite shared with rpkit-actix, against the axum demo app.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;
#[path = "../../contract-tests/web_suite.rs"]
#[macro_use]
mod web_suite;

use demo_app::{app, DemoOptions};
use rpkit::client::OAuth;
use rpkit::ClientConfig;
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser};
use web_suite::Site;

/// Aborts the app's task when the test ends.
struct Serving(tokio::task::JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn start() -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let options = DemoOptions::new(url::Url::parse(&base).unwrap());
    let registration = ClientRegistration::confidential("suite-client", "suite-secret")
        .redirect_uri(options.redirect_uri("dev"))
        .post_logout_redirect_uri(options.post_logout_redirect_uri())
        .backchannel_logout_uri(options.backchannel_logout_uri("dev"));
    let op = DevProvider::builder()
        .client(registration)
        .user(DevUser::new("alice").email("alice@example.com"))
        .auto_login("alice")
        .oauth1_consumer(rpkit_conformance::Oauth1Consumer::new("suite-consumer", "suite-consumer-secret"))
        .start()
        .await
        .unwrap();
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    oauth.register(
        ClientConfig::new("dev")
            .client_id("suite-client")
            .client_secret("suite-secret")
            .server_metadata_url(op.discovery_url())
            .scope("openid profile email"),
    );
    oauth.register(rpkit_conformance::oauth1::client_config(
        &op,
        "dev-oauth1",
        "suite-consumer",
        "suite-consumer-secret",
        &options.redirect_uri("dev-oauth1"),
    ));
    let router = app(oauth, options);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Site { base, op, guard: Box::new(Serving(task)), browser: web_suite::browser() }
}

web_behaviour_suite!(tokio::test);
