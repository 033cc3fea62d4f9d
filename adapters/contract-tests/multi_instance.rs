//! Several instances of one demo app behind an imaginary load balancer, sharing one
//! real `redis-server` (sessions, revocations, logout-token `jti`s, refresh leases) and
//! one development provider: the same scenarios for rpkit-axum and rpkit-actix, each of
//! which includes this file with `#[path]` and supplies a [`Launch`] that serves its demo
//! on a listener.
//!
//! The "browser" is one cookie-keeping reqwest client: cookies do not depend on the
//! port, so every instance on 127.0.0.1 sees the same session cookie, as behind a load
//! balancer.
//!
//! Needs `crate::redis_server::RedisServer` (adapters/redis/tests/common): without
//! `redis-server` the scenarios print that they did not run (and fail under
//! `RPKIT_REQUIRE_REDIS=1`).

#![allow(dead_code)]

use crate::redis_server::RedisServer;
use reqwest::header::LOCATION;
use reqwest::{redirect, StatusCode};
use rpkit::client::OAuth;
use rpkit::ClientConfig;
use rpkit_conformance::{
    ClientRegistration, DevProvider, DevUser, RunningProvider, SigningAlg, BACKCHANNEL_LOGOUT_EVENT,
};
use rpkit_redis::RedisStore;
use rpkit_reqwest::ReqwestClient;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const CLIENT_ID: &str = "multi-client";
pub const CLIENT_SECRET: &str = "multi-secret";

/// What a framework needs to serve one instance.
pub struct Instance {
    /// A bound loopback listener (std; the launcher makes it non-blocking as needed).
    pub listener: std::net::TcpListener,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The instance's registry, on `store`.
    pub oauth: OAuth,
    /// The instance's own connection to the shared Redis.
    pub store: RedisStore,
}

/// Serves the demo for one instance (spawned on the current runtime).
pub type Launch<'a> = &'a dyn Fn(Instance);

/// The running instances.
pub struct Cluster {
    pub redis: RedisServer,
    pub op: RunningProvider,
    pub bases: Vec<String>,
    /// Token-update events, over every instance.
    pub updates: Arc<AtomicUsize>,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(200)
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get(LOCATION).expect("a Location header").to_str().unwrap().to_owned()
}

/// `n` instances on one fresh Redis and one provider (access tokens living
/// `access_lifetime`, when given); `None` when redis-server is missing and not required.
pub async fn cluster(n: usize, access_lifetime: Option<Duration>, launch: Launch<'_>) -> Option<Cluster> {
    let redis = RedisServer::start()?;
    let mut listeners = Vec::new();
    for _ in 0..n {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listeners.push((listener, base));
    }
    let mut registration = ClientRegistration::confidential(CLIENT_ID, CLIENT_SECRET);
    for (_, base) in &listeners {
        registration = registration
            .redirect_uri(format!("{base}/auth/dev/callback"))
            .post_logout_redirect_uri(format!("{base}/logged-out"));
    }
    registration = registration.backchannel_logout_uri(format!("{}/backchannel-logout/dev", listeners[0].1));
    let mut builder = DevProvider::builder()
        .client(registration)
        .user(DevUser::new("alice").name("Alice Example").email("alice@example.com"))
        .auto_login("alice");
    if let Some(lifetime) = access_lifetime {
        builder = builder.access_token_lifetime(lifetime);
    }
    let op = builder.start().await.unwrap();
    let updates = Arc::new(AtomicUsize::new(0));
    let mut bases = Vec::new();
    for (listener, base) in listeners {
        let store = RedisStore::builder(redis.url())
            .connect_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(300))
            .operation_timeout(Duration::from_millis(600))
            .connect()
            .await
            .unwrap();
        let http = ReqwestClient::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let oauth = OAuth::builder(http).shared_store(store.clone()).build();
        let counter = Arc::clone(&updates);
        oauth.on_token_update(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut config = ClientConfig::new("dev")
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .server_metadata_url(op.discovery_url())
            .api_base_url(format!("{}/", op.issuer()))
            .scope("openid profile email offline_access");
        if access_lifetime.is_some() {
            // Refresh at expiry, not a minute before: the short token is fresh at login.
            config.client_kwargs.leeway = Some(0);
        }
        oauth.register(config);
        bases.push(base.clone());
        launch(Instance { listener, base, oauth, store });
    }
    Some(Cluster { redis, op, bases, updates })
}

/// Starts a login on `start`, lets the provider log alice in, and brings the callback to
/// `callback_on` (the load balancer picked another instance).
pub async fn log_in(b: &reqwest::Client, start: &str, callback_on: &str) {
    let r = b.get(format!("{start}/login/dev")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "login on {start}");
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "the provider logs alice in at once");
    let callback = location(&r);
    assert!(callback.starts_with(start), "{callback}");
    let callback = callback.replacen(start, callback_on, 1);
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback on {callback_on}: {}", r.text().await.unwrap_or_default());
}

pub async fn status_of(b: &reqwest::Client, url: &str) -> StatusCode {
    b.get(url).send().await.unwrap().status()
}

fn logout_token(op: &RunningProvider, sub: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = serde_json::json!({
        "iss": op.issuer(),
        "aud": CLIENT_ID,
        "iat": now,
        "jti": format!("multi-{now}-{}", std::process::id()),
        "sub": sub,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    op.sign_jwt(SigningAlg::RS256, "logout+jwt", claims.as_object().unwrap()).unwrap()
}

/// (a) A login started on A whose callback lands on B is logged in on A, B and C.
pub async fn login_on_one_instance_callback_on_another_works_on_all(launch: Launch<'_>) {
    let Some(c) = cluster(3, None, launch).await else { return };
    let b = browser();
    log_in(&b, &c.bases[0], &c.bases[1]).await;
    for base in &c.bases {
        let r = b.get(format!("{base}/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "/me on {base}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["id_token_claims"]["sub"], "alice");
    }
    // The session lives in Redis, not in any instance.
    assert!(c.redis.command("DBSIZE").contains(':'), "{}", c.redis.command("DBSIZE"));
}

/// (b) A back-channel logout delivered to A ends the session on B and C; the same token
/// replayed to B is refused.
pub async fn backchannel_logout_on_one_instance_ends_the_session_on_all_and_a_replay_is_refused(launch: Launch<'_>) {
    let Some(c) = cluster(3, None, launch).await else { return };
    let b = browser();
    log_in(&b, &c.bases[0], &c.bases[0]).await;
    for base in &c.bases {
        assert_eq!(status_of(&b, &format!("{base}/me")).await, StatusCode::OK);
    }
    let token = logout_token(&c.op, "alice");
    let body = format!("logout_token={token}");
    let provider = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |base: &str| {
        provider
            .post(format!("{base}/backchannel-logout/dev"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
    };
    assert_eq!(post(&c.bases[0]).await.unwrap().status(), StatusCode::OK, "delivered to A");
    for base in &c.bases[1..] {
        assert_eq!(status_of(&b, &format!("{base}/me")).await, StatusCode::UNAUTHORIZED, "/me on {base}");
    }
    let replay = post(&c.bases[1]).await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST, "the same jti on B is a replay");
    assert_eq!(status_of(&b, &format!("{}/me", c.bases[0])).await, StatusCode::UNAUTHORIZED);
}

/// (c) 100 concurrent API calls over 3 instances with the same expired token: one
/// refresh at the provider, all succeed, one token-update event.
pub async fn concurrent_calls_on_three_instances_with_one_expired_token_refresh_it_once(launch: Launch<'_>) {
    let lifetime = Duration::from_secs(2);
    let Some(c) = cluster(3, Some(lifetime), launch).await else { return };
    let b = browser();
    log_in(&b, &c.bases[0], &c.bases[0]).await;
    assert_eq!(c.updates.load(Ordering::SeqCst), 0, "the token was fresh at login");
    tokio::time::sleep(lifetime + Duration::from_millis(1100)).await;
    c.op.reset_counters();
    let calls = (0..100).map(|i| {
        let b = b.clone();
        let url = format!("{}/api/dev/userinfo", c.bases[i % 3]);
        async move { b.get(&url).send().await.map(|r| r.status()) }
    });
    let statuses = futures_join_all(calls).await;
    let ok = statuses.iter().filter(|s| matches!(s, Ok(StatusCode::OK))).count();
    assert_eq!(ok, 100, "every call succeeds: {statuses:?}");
    let counters = c.op.counters();
    assert_eq!(counters.token, 1, "exactly one refresh request at the provider");
    assert_eq!(counters.userinfo, 100);
    assert_eq!(c.updates.load(Ordering::SeqCst), 1, "one token-update event over all instances");
    println!("refresh requests at the provider: {}, token-update events: {}", counters.token, 1);
}

/// Awaits every future concurrently (spawned, so the calls overlap on a multi-threaded
/// runtime too).
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let set: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in set {
        out.push(handle.await.expect("the call task"));
    }
    out
}

/// (d) Redis stopped mid-run: 503 (not 500, not a login page) on every instance, for a
/// logged-in user and for a new login; back again, the apps recover.
pub async fn redis_down_is_503_everywhere_and_the_apps_recover(launch: Launch<'_>) {
    let Some(mut c) = cluster(2, None, launch).await else { return };
    let b = browser();
    log_in(&b, &c.bases[0], &c.bases[1]).await;

    // A hung Redis (SIGSTOP): no answer within the timeouts.
    c.redis.pause();
    for base in &c.bases {
        for path in ["/me", "/", "/api/dev/userinfo"] {
            let started = Instant::now();
            let r = b.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path} on {base} with Redis paused");
            assert!(started.elapsed() < Duration::from_secs(5), "bounded: {:?}", started.elapsed());
            let body = r.text().await.unwrap();
            assert!(body.contains("session_store_unavailable"), "{body}");
        }
    }
    let fresh = browser();
    let r = fresh.get(format!("{}/login/dev", c.bases[0])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "a new login cannot store its state");
    c.redis.resume();
    wait_for(&b, &format!("{}/me", c.bases[1]), StatusCode::OK).await;
    assert_eq!(status_of(&b, &format!("{}/me", c.bases[0])).await, StatusCode::OK, "the session survived the pause");

    // A stopped Redis (killed: connection refused), then a new, empty one on the port.
    c.redis.stop();
    for base in &c.bases {
        assert_eq!(status_of(&b, &format!("{base}/me")).await, StatusCode::SERVICE_UNAVAILABLE, "/me on {base}");
    }
    c.redis.restart();
    // Its data is gone: the user logs in again, and every instance works.
    wait_for(&b, &format!("{}/me", c.bases[0]), StatusCode::UNAUTHORIZED).await;
    log_in(&b, &c.bases[1], &c.bases[0]).await;
    for base in &c.bases {
        assert_eq!(status_of(&b, &format!("{base}/me")).await, StatusCode::OK, "/me on {base} after the restart");
    }
}

async fn wait_for(b: &reqwest::Client, url: &str, want: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = status_of(b, url).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{url} still answers {got}, not {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
