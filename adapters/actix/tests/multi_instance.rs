//! Several rpkit-actix demo instances on one real Redis and one development provider:
//! the scenarios of adapters/contract-tests/multi_instance.rs.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;
#[path = "../../contract-tests/multi_instance.rs"]
mod multi;
#[path = "../../redis/tests/common/mod.rs"]
mod redis_server;

use actix_web::cookie::Key;
use demo_app::Demo;
use multi::Instance;

/// Serves the actix demo with sessions on Redis (`RedisSessionStore`, with the 503
/// middleware) and revocations in the registry's store (`Revocations::of`, the default).
/// The instances share the cookie key, as they must (`RPKIT_DEMO_SESSION_KEY`): the
/// session id in the cookie is sealed with it.
fn launch(instance: Instance) {
    static KEY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(Key::generate).clone();
    let Instance { listener, base, oauth, store } = instance;
    let server = Demo::new(oauth, &base).with_key(key).serve_on_redis(listener, 1, &store).expect("serve");
    actix_web::rt::spawn(server);
}

#[actix_web::test]
async fn login_on_one_instance_callback_on_another_works_on_all() {
    multi::login_on_one_instance_callback_on_another_works_on_all(&launch).await;
}

#[actix_web::test]
async fn backchannel_logout_on_one_instance_ends_the_session_on_all_and_a_replay_is_refused() {
    multi::backchannel_logout_on_one_instance_ends_the_session_on_all_and_a_replay_is_refused(&launch).await;
}

#[actix_web::test]
async fn concurrent_calls_on_three_instances_with_one_expired_token_refresh_it_once() {
    multi::concurrent_calls_on_three_instances_with_one_expired_token_refresh_it_once(&launch).await;
}

#[actix_web::test]
async fn redis_down_is_503_everywhere_and_the_apps_recover() {
    multi::redis_down_is_503_everywhere_and_the_apps_recover(&launch).await;
}
