//! Two instances of one app (two registries, as two processes would have) over one
//! [`SharedStore`] and the in-memory provider: the scenarios that a store must pass,
//! shared by `core/tests/shared_store.rs` (over `MemoryStore`) and `rpkit-redis`'s tests
//! (over a real `redis-server`).

#![allow(dead_code)]

use crate::support::*;
use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{ClientError, HttpClient, ManualClock, OAuth, OAuthClient, SharedStore};
use rpkit::error::LogoutError;
use rpkit::rand::SeededRandom;
use rpkit::{Error, Token};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Two registries over one provider and clock, each with its own store handle.
pub struct Instances {
    pub clock: Arc<ManualClock>,
    pub op: Arc<FakeOp>,
    pub a: OAuthClient,
    pub b: OAuthClient,
    pub oauth_a: OAuth,
    pub oauth_b: OAuth,
}

fn instance(
    op: &Arc<FakeOp>,
    clock: &Arc<ManualClock>,
    seed: u64,
    store: Arc<dyn SharedStore>,
) -> (OAuth, OAuthClient) {
    let http: Arc<dyn HttpClient> = Arc::clone(op) as Arc<dyn HttpClient>;
    let oauth = OAuth::builder_shared(http)
        .clock(Arc::clone(clock))
        .rng(SeededRandom::new(seed))
        .shared_store_arc(store)
        .build();
    let client = oauth.register(config());
    (oauth, client)
}

impl Instances {
    /// Instance A over `store_a`, instance B over `store_b` (two handles of one store).
    pub fn new(store_a: Arc<dyn SharedStore>, store_b: Arc<dyn SharedStore>) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let op = FakeOp::new(Arc::clone(&clock));
        let (oauth_a, a) = instance(&op, &clock, 11, store_a);
        let (oauth_b, b) = instance(&op, &clock, 12, store_b);
        Instances { clock, op, a, b, oauth_a, oauth_b }
    }

    /// A whole login on instance A.
    pub async fn login(&self) -> Token {
        let mut session = PendingSet::new();
        let url = self.a.authorize_redirect(&mut session, &Default::default()).await.unwrap().to_url();
        let query = self.op.authorize(&url);
        let params = CallbackParams::from_query(&query).unwrap();
        self.a.authorize_access_token(&mut session, &params).await.unwrap()
    }
}

/// What the 100-call run saw.
#[derive(Debug)]
pub struct RefreshReport {
    pub refresh_requests: usize,
    pub token_update_events: usize,
}

/// 100 concurrent `get()`s with one expired token, alternating between the instances:
/// one refresh request at the provider, every caller gets the new token, one event.
pub async fn hundred_refreshes_over_two_instances(inst: &Instances) -> RefreshReport {
    let old = inst.login().await;
    let events = Arc::new(AtomicUsize::new(0));
    for oauth in [&inst.oauth_a, &inst.oauth_b] {
        let counter = Arc::clone(&events);
        oauth.on_token_update(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
    }
    inst.clock.advance(3600 - 30); // within the 60 s leeway of expiry
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let client = if i % 2 == 0 { inst.a.clone() } else { inst.b.clone() };
            let token = old.clone();
            tokio::spawn(async move { client.get(&format!("items/{i}"), &token).await })
        })
        .collect();
    one_shared_refresh(tasks, &old).await;
    let report = RefreshReport {
        refresh_requests: inst.op.seen().token_refresh,
        token_update_events: events.load(Ordering::SeqCst),
    };
    println!(
        "100 concurrent get() over two instances with one expired token: refresh requests = {}, token-update events = {}",
        report.refresh_requests, report.token_update_events
    );
    assert_eq!(report.refresh_requests, 1);
    assert_eq!(report.token_update_events, 1);
    report
}

/// A logout token accepted by instance A is refused as a replay by instance B.
pub async fn logout_token_replayed_to_the_other_instance_is_refused(inst: &Instances) {
    let token = inst.op.logout_token("jti-shared", json!({}));
    let body = format!("logout_token={token}");
    let target = inst.a.validate_backchannel_logout(body.as_bytes()).await.unwrap();
    assert_eq!(target.jti, "jti-shared");
    inst.clock.advance(5);
    let err = inst.b.validate_backchannel_logout(body.as_bytes()).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Logout(LogoutError::Replay)));
    // A refused token does not burn its jti: a token from another issuer with a fresh
    // jti is refused for its issuer, and the genuine one with that jti still passes.
    let forged = inst.op.logout_token("jti-fresh", json!({"iss": "https://attacker.example"}));
    assert!(inst.b.validate_backchannel_logout(format!("logout_token={forged}").as_bytes()).await.is_err());
    let genuine = inst.op.logout_token("jti-fresh", json!({}));
    inst.b.validate_backchannel_logout(format!("logout_token={genuine}").as_bytes()).await.unwrap();
}
