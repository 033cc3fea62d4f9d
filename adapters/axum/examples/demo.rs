//! The rpkit demo: log in with OpenID Connect in an axum app.
//!
//! ```text
//! cargo run -p rpkit-axum --example demo
//! ```
//!
//! Environment:
//! - `RPKIT_DEMO_ADDR` — where to listen (default `127.0.0.1:8000`);
//! - `RPKIT_DEMO_BASE_URL` — the public base URL (default `http://` + that address);
//! - `RPKIT_SETTINGS` — a TOML or JSON file with `AUTHLIB_OAUTH_CLIENTS`; every client in
//!   it is registered and no provider is started. Unset: a development OpenID Provider
//!   starts in-process and is registered as `dev`, with the user `alice`;
//! - `RPKIT_DEMO_SESSION_KEY` — base64 of 32 bytes: keep sessions in an encrypted cookie
//!   (any instance with the key continues a login) instead of server memory.
//!
//! See `support/demo_app.rs` for the routes.

#[path = "support/demo_app.rs"]
mod demo_app;

use demo_app::{app, DemoOptions, DemoSessions};
use rpkit::client::web::is_loopback_http;
use rpkit::client::OAuth;
use rpkit::ClientConfig;
use rpkit_axum::CookieKey;
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser, RunningProvider};
use rpkit_reqwest::ReqwestClient;
use rpkit_settings::Settings;
use std::error::Error;
use std::net::SocketAddr;

const DEV_CLIENT_ID: &str = "rpkit-demo";
const DEV_CLIENT_SECRET: &str = "rpkit-demo-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_target(false).init();

    let addr: SocketAddr = std::env::var("RPKIT_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into()).parse()?;
    let base = std::env::var("RPKIT_DEMO_BASE_URL").unwrap_or_else(|_| format!("http://{addr}"));
    let mut options = DemoOptions::new(url::Url::parse(&base)?);
    if let Ok(key) = std::env::var("RPKIT_DEMO_SESSION_KEY") {
        options = options.sessions(DemoSessions::Cookie(CookieKey::from_base64(&key)?));
    }

    let oauth = OAuth::new(ReqwestClient::new()?);
    // Keeps the development provider running while the app serves.
    let mut provider: Option<RunningProvider> = None;
    match std::env::var_os("RPKIT_SETTINGS") {
        Some(_) => {
            let settings = Settings::from_env()?;
            for config in settings.into_configs() {
                println!("registered client `{}`", config.name);
                oauth.register(config);
            }
        }
        None => {
            let op = start_dev_provider(&options).await?;
            oauth.register(dev_client(&op));
            oauth.register(rpkit_conformance::oauth1::client_config(
                &op,
                "dev-oauth1",
                rpkit_conformance::oauth1::DEMO_CONSUMER_KEY,
                rpkit_conformance::oauth1::DEMO_CONSUMER_SECRET,
                &options.redirect_uri("dev-oauth1"),
            ));
            println!("development OpenID Provider at {} (user: alice)", op.issuer());
            provider = Some(op);
        }
    }

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("rpkit demo: open {}/", base.trim_end_matches('/'));
    axum::serve(listener, app(oauth, options))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(op) = provider {
        op.shutdown().await;
    }
    Ok(())
}

async fn start_dev_provider(options: &DemoOptions) -> Result<RunningProvider, Box<dyn Error>> {
    let mut registration = ClientRegistration::confidential(DEV_CLIENT_ID, DEV_CLIENT_SECRET)
        .redirect_uri(options.redirect_uri("dev"))
        .post_logout_redirect_uri(options.post_logout_redirect_uri());
    // The development provider delivers back-channel logouts to loopback `http` only.
    let backchannel = options.backchannel_logout_uri("dev");
    if is_loopback_http(&backchannel) {
        registration = registration.backchannel_logout_uri(backchannel);
    }
    let op = DevProvider::builder()
        .client(registration)
        .oauth1_consumer(rpkit_conformance::Oauth1Consumer::new(
            rpkit_conformance::oauth1::DEMO_CONSUMER_KEY,
            rpkit_conformance::oauth1::DEMO_CONSUMER_SECRET,
        ))
        .user(DevUser::new("alice").name("Alice Example").email("alice@example.com").email_verified(true))
        .start()
        .await?;
    Ok(op)
}

fn dev_client(op: &RunningProvider) -> ClientConfig {
    ClientConfig::new("dev")
        .client_id(DEV_CLIENT_ID)
        .client_secret(DEV_CLIENT_SECRET)
        .server_metadata_url(op.discovery_url())
        .api_base_url(format!("{}/", op.issuer()))
        .scope("openid profile email offline_access")
}
