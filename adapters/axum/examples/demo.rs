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
//!   (any instance with the key continues a login) instead of server memory;
//! - `RPKIT_REDIS_URL` — e.g. `redis://127.0.0.1:6379`: sessions (tower-sessions on
//!   Redis), back-channel revocations, logout-token `jti`s and the refresh lease live in
//!   that Redis, so several instances serve one user (see the README); unset: memory;
//! - `RPKIT_DEV_PROVIDER_ADDR` — where the development provider listens (default: a free
//!   loopback port); `RPKIT_DEMO_PEER_URLS` — base URLs of the other instances
//!   (comma-separated), whose callback URIs it accepts too;
//! - `RPKIT_DEV_ISSUER` — the issuer of a development provider another instance started:
//!   use it instead of starting one.
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
use rpkit_redis::sessions::tower::RedisSessionStore;
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

    let http = ReqwestClient::new()?;
    let oauth = match std::env::var("RPKIT_REDIS_URL") {
        Ok(url) => {
            let store = rpkit_redis::RedisStore::connect(url).await?;
            options = options.sessions(DemoSessions::Redis(RedisSessionStore::new(store.sessions())));
            println!("sessions, revocations, logout-token jtis and refresh leases in Redis");
            OAuth::builder(http).shared_store(store).build()
        }
        Err(_) => OAuth::new(http),
    };
    // Keeps the development provider running while the app serves.
    let mut provider: Option<RunningProvider> = None;
    let shared_issuer = std::env::var("RPKIT_DEV_ISSUER").ok();
    match std::env::var_os("RPKIT_SETTINGS") {
        Some(_) => {
            let settings = Settings::from_env()?;
            for config in settings.into_configs() {
                println!("registered client `{}`", config.name);
                oauth.register(config);
            }
        }
        None if shared_issuer.is_some() => {
            let issuer = shared_issuer.unwrap_or_default();
            oauth.register(dev_client_at(issuer.trim_end_matches('/')));
            println!("using the development OpenID Provider at {issuer}");
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
    for peer in std::env::var("RPKIT_DEMO_PEER_URLS").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        let peer = DemoOptions::new(url::Url::parse(peer.trim())?);
        registration = registration
            .redirect_uri(peer.redirect_uri("dev"))
            .post_logout_redirect_uri(peer.post_logout_redirect_uri());
    }
    // The development provider delivers back-channel logouts to loopback `http` only.
    let backchannel = options.backchannel_logout_uri("dev");
    if is_loopback_http(&backchannel) {
        registration = registration.backchannel_logout_uri(backchannel);
    }
    let mut builder = DevProvider::builder();
    if let Ok(addr) = std::env::var("RPKIT_DEV_PROVIDER_ADDR") {
        builder = builder.bind(addr.parse()?);
    }
    let op = builder
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
    dev_client_at(op.issuer())
}

fn dev_client_at(issuer: &str) -> ClientConfig {
    ClientConfig::new("dev")
        .client_id(DEV_CLIENT_ID)
        .client_secret(DEV_CLIENT_SECRET)
        .server_metadata_url(format!("{issuer}/.well-known/openid-configuration"))
        .api_base_url(format!("{issuer}/"))
        .scope("openid profile email offline_access")
}
