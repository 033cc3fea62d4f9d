//! Several rpkit-axum demo instances on one real Redis and one development provider:
//! the scenarios of adapters/contract-tests/multi_instance.rs.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;
#[path = "../../contract-tests/multi_instance.rs"]
mod multi;
#[path = "../../redis/tests/common/mod.rs"]
mod redis_server;

use demo_app::{app, DemoOptions, DemoSessions};
use multi::Instance;
use rpkit_redis::sessions::tower::RedisSessionStore;

/// Serves the axum demo with tower-sessions on Redis and revocations in the registry's
/// store (`Revocations::of`, the demo's default).
fn launch(instance: Instance) {
    let Instance { listener, base, oauth, store } = instance;
    let options = DemoOptions::new(url::Url::parse(&base).unwrap())
        .sessions(DemoSessions::Redis(RedisSessionStore::new(store.sessions())));
    let router = app(oauth, options);
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_on_one_instance_callback_on_another_works_on_all() {
    multi::login_on_one_instance_callback_on_another_works_on_all(&launch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_on_one_instance_ends_the_session_on_all_and_a_replay_is_refused() {
    multi::backchannel_logout_on_one_instance_ends_the_session_on_all_and_a_replay_is_refused(&launch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_on_three_instances_with_one_expired_token_refresh_it_once() {
    multi::concurrent_calls_on_three_instances_with_one_expired_token_refresh_it_once(&launch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_everywhere_and_the_apps_recover() {
    multi::redis_down_is_503_everywhere_and_the_apps_recover(&launch).await;
}
