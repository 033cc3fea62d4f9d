//! The rpkit-actix demo: log in with OpenID Connect in an actix-web app.
//!
//! ```sh
//! cargo run -p rpkit-actix --example demo-actix
//! ```
//!
//! - `RPKIT_DEMO_ADDR` — where to listen (default `127.0.0.1:8000`);
//! - `RPKIT_DEMO_BASE_URL` — how browsers reach it (default `http://` + the address);
//! - `RPKIT_SETTINGS` — unset: a development OpenID Provider starts in-process and is
//!   registered as `dev`; set: the clients of that settings file (and the
//!   `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>` overrides) are registered, and no provider starts.
//! - `RPKIT_DEMO_SESSION_KEY` — base64 of 32 bytes: the key sealing the session cookie;
//!   unset: a random key per start. Sessions live server-side in memory
//!   (`rpkit_actix::MemorySessionStore`: the cookie holds only an id), so a logout ends
//!   the session for every copy of the cookie. Do not switch to `CookieSessionStore` for
//!   an app that needs logout: a cookie-only session cannot be revoked before it
//!   expires, and a copied cookie keeps the login. Several instances need a shared
//!   server-side store (actix-session's `RedisSessionStore`);
//! - `RPKIT_REDIS_URL` — e.g. `redis://127.0.0.1:6379`: sessions
//!   (`rpkit_redis::sessions::actix::RedisSessionStore`), back-channel revocations,
//!   logout-token `jti`s and the refresh lease live in that Redis, so several instances
//!   serve one user (see the README); unset: memory;
//! - `RPKIT_DEV_PROVIDER_ADDR` — where the development provider listens (default: a free
//!   loopback port); `RPKIT_DEMO_PEER_URLS` — base URLs of the other instances
//!   (comma-separated), whose callback URIs it accepts too;
//! - `RPKIT_DEV_ISSUER` — the issuer of a development provider another instance started:
//!   use it instead of starting one;
//! - `RUST_LOG` — log filter (default `info`).

#[path = "support/demo_app.rs"]
mod demo_app;

use demo_app::{
    dev_client_config, dev_client_config_at, dev_oauth1_client_config, log_token_updates, start_dev_provider_for, Demo,
    DemoSettings, DEV_NAME,
};
use rpkit::client::OAuth;
use rpkit_reqwest::ReqwestClient;
use std::net::TcpListener;

type BoxError = Box<dyn std::error::Error>;

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    let settings = DemoSettings::from_env();
    let session_key = demo_app::session_key_from_env()?;
    let listener = TcpListener::bind(&settings.addr).map_err(|e| format!("cannot listen on {}: {e}", settings.addr))?;
    let http = ReqwestClient::new()?;
    let redis = match std::env::var("RPKIT_REDIS_URL") {
        Ok(url) => Some(rpkit_redis::RedisStore::connect(url).await?),
        Err(_) => None,
    };
    let oauth = match &redis {
        Some(store) => {
            tracing::info!("sessions, revocations, logout-token jtis and refresh leases in Redis");
            OAuth::builder(http).shared_store(store.clone()).build()
        }
        None => OAuth::new(http),
    };
    log_token_updates(&oauth);

    // Kept alive for as long as the demo runs.
    let mut provider = None;
    if std::env::var_os("RPKIT_SETTINGS").is_some() {
        let configured = rpkit_settings::Settings::from_env()?;
        for config in configured.into_configs() {
            tracing::info!(client = %config.name, "registered from RPKIT_SETTINGS");
            oauth.register(config);
        }
        if oauth.names().is_empty() {
            tracing::warn!("RPKIT_SETTINGS names no client: nobody can log in");
        }
    } else if let Ok(issuer) = std::env::var("RPKIT_DEV_ISSUER") {
        oauth.register(dev_client_config_at(&issuer));
        tracing::info!(%issuer, "using the development OpenID Provider another instance started");
    } else {
        let peers: Vec<String> = std::env::var("RPKIT_DEMO_PEER_URLS")
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.trim().to_owned())
            .collect();
        let bind = std::env::var("RPKIT_DEV_PROVIDER_ADDR").ok().map(|a| a.parse()).transpose()?;
        let op = start_dev_provider_for(&settings.base_url, &peers, |b| match bind {
            Some(addr) => b.bind(addr),
            None => b,
        })
        .await?;
        oauth.register(dev_client_config(&op));
        oauth.register(dev_oauth1_client_config(&op, &settings.base_url));
        tracing::info!(issuer = %op.issuer(), "development OpenID Provider started (users: alice, bob)");
        provider = Some(op);
    }

    let mut demo = Demo::new(oauth, &settings.base_url);
    if let Some(key) = session_key {
        // Session ids sealed with this key stay readable across restarts of the cookie key.
        demo = demo.with_key(key);
    }
    let server = match &redis {
        Some(store) => demo.serve_on_redis(listener, 2, store)?,
        None => demo.serve(listener, 2)?,
    };
    println!("rpkit actix demo: open {}/", settings.base_url);
    if provider.is_some() {
        println!("log in with \"{DEV_NAME}\" as alice or bob (no password)");
    }
    server.await?;
    if let Some(op) = provider {
        op.shutdown().await;
    }
    Ok(())
}
