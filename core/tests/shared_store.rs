//! The shared store (`rpkit::client::store`) in the async client: two instances over one
//! `MemoryStore`, and a store that cannot answer.

mod instances;
mod support;

use async_trait::async_trait;
use instances::*;
use rpkit::client::store::{Lease, Login};
use rpkit::client::{ClientError, MemoryStore, SharedStore, StoreError};
use rpkit::logout::LogoutTarget;
use rpkit::UnixTime;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn memory_instances() -> Instances {
    let store = MemoryStore::new();
    Instances::new(Arc::new(store.clone()), Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_refreshes_over_two_instances_sharing_a_memory_store_cause_one_refresh() {
    let report = hundred_refreshes_over_two_instances(&memory_instances()).await;
    assert_eq!((report.refresh_requests, report.token_update_events), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_token_replayed_to_another_instance_sharing_the_store_is_refused() {
    logout_token_replayed_to_the_other_instance_is_refused(&memory_instances()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_with_stores_of_their_own_each_refresh() {
    // The default: every registry has a MemoryStore of its own, as before there was a
    // store. Two such instances do not coordinate (which is why the store exists).
    let inst = Instances::new(Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
    let old = inst.login().await;
    inst.clock.advance(3600 - 30);
    inst.a.refresh_token(&old).await.unwrap();
    // B spends the rotated refresh token again and the provider refuses it: the user
    // would be logged out (Authlib issue #548).
    let err = inst.b.refresh_token(&old).await.unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
    assert_eq!(inst.op.seen().token_refresh, 2);
}

/// A store whose server is gone: every call fails as a real one would.
struct DownStore;

fn down() -> StoreError {
    StoreError::unavailable("connection refused")
}

#[async_trait]
impl SharedStore for DownStore {
    async fn revoke(&self, _: &str, _: &LogoutTarget, _: UnixTime) -> Result<(), StoreError> {
        Err(down())
    }
    async fn is_revoked(&self, _: &Login<'_>, _: UnixTime) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn insert_jti_if_new(&self, _: &str, _: &str, _: UnixTime, _: UnixTime) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn acquire_lease(&self, _: &str, _: &str, _: Duration, _: UnixTime) -> Result<Option<Lease>, StoreError> {
        Err(down())
    }
    async fn release_lease(&self, _: Lease) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn wait_for_lease(&self, _: &str, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn publish_refreshed(&self, _: &str, _: &[u8], _: Duration, _: UnixTime) -> Result<(), StoreError> {
        Err(down())
    }
    async fn refreshed(&self, _: &str, _: UnixTime) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_store_fails_the_refresh_before_anything_is_sent() {
    let inst = Instances::new(Arc::new(DownStore), Arc::new(DownStore));
    let old = inst.login().await;
    inst.clock.advance(3600 - 30);
    let err = inst.a.get("items/1", &old).await.unwrap_err();
    assert_eq!(err, ClientError::Store(down()));
    assert!(err.is_store_failure() && !err.is_provider_failure());
    assert_eq!(err.code(), "store_unavailable");
    assert_eq!(inst.op.seen().token_refresh, 0, "no refresh without the lease");
    assert_eq!(inst.op.with(|s| s.resource_auth.len()), 0, "no resource call either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_store_refuses_the_logout_token_rather_than_forget_its_jti() {
    let inst = Instances::new(Arc::new(DownStore), Arc::new(DownStore));
    let token = inst.op.logout_token("jti-1", json!({}));
    let err = inst.a.validate_backchannel_logout(format!("logout_token={token}").as_bytes()).await.unwrap_err();
    assert_eq!(err, ClientError::Store(down()));
}
