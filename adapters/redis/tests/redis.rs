//! `RedisStore` against a real `redis-server` started on loopback for each test.

mod common;
#[path = "../../../core/tests/instances/mod.rs"]
mod instances;
#[path = "../../../core/tests/support/mod.rs"]
mod support;

use common::RedisServer;
use rpkit::client::store::{Lease, Login, SharedStore, StoreError, REFRESH_LEASE};
use rpkit::client::ClientError;
use rpkit::logout::LogoutTarget;
use rpkit::{Claims, UnixTime};
use rpkit_redis::RedisStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn t(secs: u64) -> UnixTime {
    UnixTime::from_secs(secs)
}

fn ended(sub: Option<&str>, sid: Option<&str>) -> LogoutTarget {
    LogoutTarget {
        sub: sub.map(Into::into),
        sid: sid.map(Into::into),
        jti: "j".into(),
        iat: t(0),
        claims: Claims::default(),
    }
}

fn login<'a>(sub: Option<&'a str>, sid: Option<&'a str>, at: u64) -> Login<'a> {
    Login { provider: "corp", sub, sid, logged_in_at: t(at) }
}

async fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder(server.url()).operation_timeout(Duration::from_millis(800)).connect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jti_is_set_if_absent_per_provider_and_expires() {
    let Some(server) = RedisServer::start() else { return };
    let (a, b) = (store(&server).await, store(&server).await);
    let now = t(1_000);
    assert!(a.insert_jti_if_new("corp", "j1", t(1_600), now).await.unwrap());
    assert!(!b.insert_jti_if_new("corp", "j1", t(1_600), now).await.unwrap(), "a replay to another instance");
    assert!(b.insert_jti_if_new("other", "j1", t(1_600), now).await.unwrap(), "jti is unique per issuer only");
    // The key and its TTL are what the crate docs say.
    let pttl: i64 = server.command("PTTL rpkit:jti:corp:j1").trim().trim_start_matches(':').parse().unwrap();
    assert!((600_000..=601_000).contains(&pttl), "PTTL {pttl}");

    // Remembered through `until` (here: now), then forgotten.
    assert!(a.insert_jti_if_new("corp", "short", now, now).await.unwrap());
    assert!(!a.insert_jti_if_new("corp", "short", now, now).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if a.insert_jti_if_new("corp", "short", t(1_001), t(1_001)).await.unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the jti did not expire");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_of_one_jti_accept_exactly_one() {
    let Some(server) = RedisServer::start() else { return };
    let stores = [store(&server).await, store(&server).await];
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = stores[i % 2].clone();
            tokio::spawn(async move { s.insert_jti_if_new("corp", "race", t(2_000), t(1_000)).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_by_sid_on_one_instance_ends_the_login_on_another() {
    let Some(server) = RedisServer::start() else { return };
    let (a, b) = (store(&server).await, store(&server).await);
    a.revoke("corp", &ended(Some("alice"), Some("s1")), t(200)).await.unwrap();
    assert!(b.is_revoked(&login(Some("alice"), Some("s1"), 200), t(300)).await.unwrap());
    assert!(b.is_revoked(&login(None, Some("s1"), 100), t(300)).await.unwrap());
    assert!(!b.is_revoked(&login(Some("alice"), Some("s1"), 201), t(300)).await.unwrap(), "a later login stays");
    assert!(!b.is_revoked(&login(Some("alice"), Some("s2"), 100), t(300)).await.unwrap(), "another session");
    assert!(!b.is_revoked(&login(Some("bob"), Some("s1"), 100), t(300)).await.unwrap(), "another user's sid");
    assert!(!b.is_revoked(&login(Some("alice"), None, 100), t(300)).await.unwrap(), "no sid: not this one");
    let elsewhere = Login { provider: "other", ..login(Some("alice"), Some("s1"), 100) };
    assert!(!b.is_revoked(&elsewhere, t(300)).await.unwrap(), "another provider");
    // A sid-only logout ends every user's login with that sid.
    b.revoke("corp", &ended(None, Some("s9")), t(200)).await.unwrap();
    assert!(a.is_revoked(&login(Some("carol"), Some("s9"), 150), t(300)).await.unwrap());
    assert!(server.command("TTL rpkit:revoked:corp:sid:s1").starts_with(':'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_by_sub_on_one_instance_ends_every_session_of_that_user_on_another() {
    let Some(server) = RedisServer::start() else { return };
    let (a, b) = (store(&server).await, store(&server).await);
    a.revoke("corp", &ended(Some("alice"), None), t(200)).await.unwrap();
    assert!(b.is_revoked(&login(Some("alice"), Some("s1"), 100), t(300)).await.unwrap());
    assert!(b.is_revoked(&login(Some("alice"), None, 200), t(300)).await.unwrap());
    assert!(!b.is_revoked(&login(Some("bob"), Some("s1"), 100), t(300)).await.unwrap());
    assert!(!b.is_revoked(&login(Some("alice"), None, 250), t(300)).await.unwrap());
    // An earlier logout does not move the recorded time back.
    a.revoke("corp", &ended(Some("alice"), None), t(50)).await.unwrap();
    assert!(b.is_revoked(&login(Some("alice"), None, 150), t(300)).await.unwrap());
    // Past the revocation TTL (checked against `now`), it no longer counts.
    let short = RedisStore::builder(server.url()).revocation_ttl(Duration::from_secs(100)).connect().await.unwrap();
    assert!(!short.is_revoked(&login(Some("alice"), None, 100), t(301)).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_prefixes_do_not_see_each_other() {
    let Some(server) = RedisServer::start() else { return };
    let a = store(&server).await;
    let other = RedisStore::builder(server.url()).prefix("app2:").connect().await.unwrap();
    a.revoke("corp", &ended(Some("alice"), None), t(200)).await.unwrap();
    assert!(!other.is_revoked(&login(Some("alice"), None, 100), t(300)).await.unwrap());
    assert!(a.insert_jti_if_new("corp", "j", t(900), t(100)).await.unwrap());
    assert!(other.insert_jti_if_new("corp", "j", t(900), t(100)).await.unwrap());
    assert_eq!(other.prefix(), "app2:");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_of_many_concurrent_acquirers_holds_the_lease() {
    let Some(server) = RedisServer::start() else { return };
    let stores = [store(&server).await, store(&server).await];
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = stores[i % 2].clone();
            tokio::spawn(
                async move { s.acquire_lease("k1", &format!("holder-{i}"), REFRESH_LEASE, t(0)).await.unwrap() },
            )
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(lease) = task.await.unwrap() {
            winners.push(lease);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one acquirer wins");
    let lease = winners.pop().unwrap();
    let holder = lease.holder().to_owned();

    // A release by anyone else does nothing.
    assert!(!stores[1].release_lease(Lease::new("k1", "not-the-holder")).await.unwrap());
    assert!(stores[1].acquire_lease("k1", "late", REFRESH_LEASE, t(0)).await.unwrap().is_none(), "still held");
    assert!(server.command("GET rpkit:lease:k1").contains(&holder));

    // Its holder's release frees it, and a waiter sees that at once.
    assert!(stores[0].release_lease(lease).await.unwrap());
    let started = Instant::now();
    stores[1].wait_for_lease("k1", Duration::from_secs(5)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(stores[1].acquire_lease("k1", "late", REFRESH_LEASE, t(0)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_runs_out_after_its_ttl_and_its_old_holder_cannot_release_the_next_one() {
    let Some(server) = RedisServer::start() else { return };
    let s = store(&server).await;
    let first = s.acquire_lease("k2", "first", Duration::from_millis(300), t(0)).await.unwrap().unwrap();
    assert!(s.acquire_lease("k2", "second", REFRESH_LEASE, t(0)).await.unwrap().is_none());
    // A waiter returns when the TTL frees the lease (bounded by its max).
    let started = Instant::now();
    s.wait_for_lease("k2", Duration::from_secs(5)).await.unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    let second = s.acquire_lease("k2", "second", REFRESH_LEASE, t(0)).await.unwrap().expect("the TTL freed it");
    assert!(!s.release_lease(first).await.unwrap(), "the old holder's release leaves the new lease alone");
    assert!(s.acquire_lease("k2", "third", REFRESH_LEASE, t(0)).await.unwrap().is_none());
    assert!(s.release_lease(second).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_token_is_read_back_and_expires() {
    let Some(server) = RedisServer::start() else { return };
    let (a, b) = (store(&server).await, store(&server).await);
    a.publish_refreshed("k3", b"\x00sealed\xff", Duration::from_millis(300), t(0)).await.unwrap();
    assert_eq!(b.refreshed("k3", t(0)).await.unwrap().as_deref(), Some(&b"\x00sealed\xff"[..]));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(b.refreshed("k3", t(0)).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_refreshes_over_two_instances_sharing_redis_cause_one_refresh() {
    let Some(server) = RedisServer::start() else { return };
    let inst = instances::Instances::new(Arc::new(store(&server).await), Arc::new(store(&server).await));
    let report = instances::hundred_refreshes_over_two_instances(&inst).await;
    assert_eq!((report.refresh_requests, report.token_update_events), (1, 1));
    // Redis saw a hash of the token, never the token.
    let keys = server.command("KEYS *");
    assert!(keys.contains("rpkit:refreshed:"), "{keys}");
    assert!(!keys.contains("rt-") && !keys.contains("at-"), "{keys}");
    let published = keys.lines().find(|l| l.starts_with("rpkit:refreshed:")).unwrap();
    let value = server.command(&format!("GET {published}"));
    assert!(!value.contains("rt-") && !value.contains("at-") && !value.contains("Bearer"), "sealed: {value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_token_replayed_to_another_instance_over_redis_is_refused() {
    let Some(server) = RedisServer::start() else { return };
    let inst = instances::Instances::new(Arc::new(store(&server).await), Arc::new(store(&server).await));
    instances::logout_token_replayed_to_the_other_instance_is_refused(&inst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_is_unavailable_within_the_timeout_and_recovers_once_restarted() {
    let Some(mut server) = RedisServer::start() else { return };
    let timeout = Duration::from_millis(800);
    let s = RedisStore::builder(server.url()).operation_timeout(timeout).connect().await.unwrap();
    assert!(s.insert_jti_if_new("corp", "before", t(2_000), t(1_000)).await.unwrap());

    server.stop();
    for jti in ["during-1", "during-2", "during-3"] {
        let started = Instant::now();
        let err = s.insert_jti_if_new("corp", jti, t(2_000), t(1_000)).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
        assert!(took < timeout + Duration::from_millis(500), "answered after {took:?}");
        assert!(s.is_revoked(&login(Some("a"), None, 1), t(2)).await.is_err(), "never a silent `not revoked`");
    }
    // Through the client too: a typed error (web adapters answer 503), nothing sent.
    let err = ClientError::from(s.acquire_lease("k", "h", REFRESH_LEASE, t(0)).await.unwrap_err());
    assert!(err.is_store_failure());
    assert_eq!(err.code(), "store_unavailable");

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let recovered = loop {
        match s.insert_jti_if_new("corp", "after", t(2_000), t(1_000)).await {
            Ok(accepted) => break accepted,
            Err(StoreError::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("Redis is back but the store still fails: {e:?}"),
        }
    };
    assert!(recovered);
    // The scripts were lost with the server's memory; EVALSHA falls back to EVAL.
    s.revoke("corp", &ended(Some("alice"), None), t(200)).await.unwrap();
    assert!(s.is_revoked(&login(Some("alice"), None, 100), t(300)).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_absent_keeps_the_first_value_for_every_instance() {
    let Some(server) = RedisServer::start() else { return };
    let (a, b) = (store(&server).await, store(&server).await);
    let first = a.put_if_absent("dpop-key.corp", b"key-a").await.unwrap();
    let second = b.put_if_absent("dpop-key.corp", b"key-b").await.unwrap();
    assert_eq!((first.as_slice(), second.as_slice()), (&b"key-a"[..], &b"key-a"[..]));
    let other = b.put_if_absent("dpop-key.other", b"key-b").await.unwrap();
    assert_eq!(other, b"key-b");
    let ttl = server.command("PTTL rpkit:kept:dpop-key.corp");
    assert!(ttl.contains("-1"), "kept without expiry: {ttl}");
}
