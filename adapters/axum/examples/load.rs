//! Load figures for BENCHMARKS.md: completed logins per second over loopback (login →
//! provider → callback → `/me`) for one demo instance in memory, for three instances on
//! one real Redis, and for a bare axum app doing the same four HTTP hops without rpkit;
//! p50 and p99 of the callback; the bytes a session takes in Redis and in the cookie
//! store.
//!
//! ```sh
//! cargo run --release -p rpkit-axum --example load            # needs redis-server for the Redis rows
//! RPKIT_LOAD_LOGINS=2000 RPKIT_LOAD_CONCURRENCY=32 cargo run --release -p rpkit-axum --example load
//! ```

#[path = "support/demo_app.rs"]
mod demo_app;
#[path = "../../contract-tests/multi_instance.rs"]
mod multi;
#[path = "../../redis/tests/common/mod.rs"]
mod redis_server;

use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use demo_app::{app, DemoOptions, DemoSessions};
use reqwest::header::{LOCATION, SET_COOKIE};
use rpkit::client::OAuth;
use rpkit::ClientConfig;
use rpkit_axum::CookieKey;
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser};
use rpkit_redis::sessions::tower::RedisSessionStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[LOCATION].to_str().expect("ASCII").to_owned()
}

/// One login through `bases` (round robin by `i`): the times of the whole login and of
/// the callback, and the session cookie's size.
async fn one_login(bases: &[String], i: usize) -> (Duration, Duration, usize) {
    let b = browser();
    let (start, end) = (&bases[i % bases.len()], &bases[(i + 1) % bases.len()]);
    let t0 = Instant::now();
    let r = b.get(format!("{start}/login/dev")).send().await.expect("login");
    assert_eq!(r.status(), 302);
    let r = b.get(location(&r)).send().await.expect("provider");
    assert!(r.status().is_redirection());
    let callback = location(&r).replacen(start.as_str(), end.as_str(), 1);
    let t1 = Instant::now();
    let r = b.get(&callback).send().await.expect("callback");
    let callback_time = t1.elapsed();
    assert_eq!(r.status(), 303, "callback");
    let cookie = r.headers().get_all(SET_COOKIE).iter().map(|v| v.len()).max().unwrap_or(0);
    let r = b.get(format!("{}/me", bases[(i + 2) % bases.len()])).send().await.expect("me");
    assert_eq!(r.status(), 200, "/me");
    (t0.elapsed(), callback_time, cookie)
}

struct Row {
    what: &'static str,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    cookie: usize,
}

async fn run(what: &'static str, bases: Vec<String>, logins: usize, concurrency: usize) -> Row {
    // Warm-up: discovery, JWKS, connections.
    for i in 0..bases.len() * 2 {
        one_login(&bases, i).await;
    }
    let bases = Arc::new(bases);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (bases, next) = (Arc::clone(&bases), Arc::clone(&next));
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= logins {
                        break samples;
                    }
                    samples.push(one_login(&bases, i).await);
                }
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("a load task"));
    }
    let elapsed = t0.elapsed();
    let mut callbacks: Vec<Duration> = samples.iter().map(|s| s.1).collect();
    callbacks.sort();
    let at = |q: f64| callbacks[((callbacks.len() as f64 * q) as usize).min(callbacks.len() - 1)];
    Row {
        what,
        per_sec: samples.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        cookie: samples.iter().map(|s| s.2).max().unwrap_or(0),
    }
}

/// One demo instance with its own provider, sessions as `sessions`.
async fn single(sessions: DemoSessions) -> (String, rpkit_conformance::RunningProvider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let options = DemoOptions::new(url::Url::parse(&base).expect("url")).sessions(sessions);
    let op = DevProvider::builder()
        .client(ClientRegistration::confidential("load", "load-secret").redirect_uri(options.redirect_uri("dev")))
        .user(DevUser::new("alice").name("Alice").email("alice@example.com"))
        .auto_login("alice")
        .start()
        .await
        .expect("provider");
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().expect("http"));
    oauth.register(
        ClientConfig::new("dev")
            .client_id("load")
            .client_secret("load-secret")
            .server_metadata_url(op.discovery_url())
            .scope("openid profile email"),
    );
    let router = app(oauth, options);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, op)
}

/// The same four hops without rpkit: `/login/dev` → a bare "provider" → the callback
/// (which sets a cookie) → `/me`.
async fn bare() -> String {
    let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let p = format!("http://{}", provider.local_addr().expect("addr"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let back = format!("{base}/auth/dev/callback?code=c&state=s");
    let op = axum::Router::new().route("/authorize", get(move || async move { Redirect::to(&back) }));
    let to_provider = format!("{p}/authorize");
    let rp = axum::Router::new()
        .route("/login/dev", get(move || async move { Redirect::temporary(&to_provider).into_response() }))
        .route(
            "/auth/dev/callback",
            get(|| async { ([(SET_COOKIE.as_str(), "s=1; HttpOnly; Path=/")], Redirect::to("/")).into_response() }),
        )
        .route("/me", get(|| async { axum::Json(serde_json::json!({"sub": "alice"})) }));
    tokio::spawn(async move {
        let _ = axum::serve(provider, op).await;
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, rp).await;
    });
    base
}

#[tokio::main]
async fn main() {
    let logins = env("RPKIT_LOAD_LOGINS", 1000);
    let concurrency = env("RPKIT_LOAD_CONCURRENCY", 16);
    println!("{logins} logins, {concurrency} at a time, over loopback\n");
    let mut rows = Vec::new();

    let base = bare().await;
    // The bare app answers 307 to /login and 303 nowhere: count its hops the same way.
    rows.push(run_bare(&base, logins, concurrency).await);

    let (base, _op) = single(DemoSessions::Memory).await;
    rows.push(run("1 instance, sessions in memory", vec![base], logins, concurrency).await);
    let (base, _op2) = single(DemoSessions::Cookie(CookieKey::generate().expect("key"))).await;
    rows.push(run("1 instance, encrypted-cookie sessions", vec![base], logins, concurrency).await);

    let launch = |instance: multi::Instance| {
        let multi::Instance { listener, base, oauth, store } = instance;
        let options = DemoOptions::new(url::Url::parse(&base).expect("url"))
            .sessions(DemoSessions::Redis(RedisSessionStore::new(store.sessions())));
        let router = app(oauth, options);
        listener.set_nonblocking(true).expect("nonblocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    };
    let mut redis_bytes = None;
    match multi::cluster(3, None, &launch).await {
        Some(cluster) => {
            let before = used_memory(&cluster.redis);
            let row = run("3 instances on one Redis", cluster.bases.clone(), logins, concurrency).await;
            let keys = cluster.redis.command("DBSIZE");
            let after = used_memory(&cluster.redis);
            let n = logins + cluster.bases.len() * 2;
            redis_bytes = Some((after.saturating_sub(before) / n.max(1), keys.trim().to_owned()));
            rows.push(row);
        }
        None => println!("redis-server not found: the Redis row did not run"),
    }

    let floor = rows[0].per_sec;
    println!("| setup | logins/s | callback p50 | callback p99 | cost per login vs bare axum | largest Set-Cookie |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.1}× | {} B |",
            r.what,
            r.per_sec,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            floor / r.per_sec,
            r.cookie
        );
    }
    if let Some((bytes, keys)) = redis_bytes {
        println!("\nRedis: ~{bytes} bytes of used_memory per login (session, pending entry, CSRF), DBSIZE {keys}");
    }
}

async fn run_bare(base: &str, logins: usize, concurrency: usize) -> Row {
    let base = base.to_owned();
    let one = |b: reqwest::Client, base: String| async move {
        let r = b.get(format!("{base}/login/dev")).send().await.expect("login");
        let r = b.get(location(&r)).send().await.expect("provider");
        let callback = location(&r);
        let t1 = Instant::now();
        let r = b.get(&callback).send().await.expect("callback");
        let cb = t1.elapsed();
        let cookie = r.headers().get_all(SET_COOKIE).iter().map(|v| v.len()).max().unwrap_or(0);
        let _ = b.get(format!("{base}/me")).send().await.expect("me");
        (cb, cookie)
    };
    let t0 = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, base) = (Arc::clone(&next), base.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < logins {
                    out.push(one(browser(), base.clone()).await);
                }
                out
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("a load task"));
    }
    let elapsed = t0.elapsed();
    let mut cbs: Vec<Duration> = samples.iter().map(|s| s.0).collect();
    cbs.sort();
    let at = |q: f64| cbs[((cbs.len() as f64 * q) as usize).min(cbs.len() - 1)];
    Row {
        what: "bare axum, same 4 hops (no rpkit)",
        per_sec: samples.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        cookie: samples.iter().map(|s| s.1).max().unwrap_or(0),
    }
}

fn used_memory(redis: &redis_server::RedisServer) -> usize {
    let info = redis.command("INFO memory");
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}
