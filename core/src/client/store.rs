//! State that several instances of one app must share: [`SharedStore`].
//!
//! One process keeps this state in memory ([`MemoryStore`], the default). Behind a load
//! balancer, instance A's memory is not instance B's: a back-channel logout received by A
//! must end the session on B, a logout token replayed to B must be refused, and two
//! instances that meet the same expired token must not both spend its refresh token
//! (a rotated refresh token spent twice fails, and the user is logged out — Authlib
//! issue #548). Give every instance's registry the same store
//! ([`OAuthBuilder::shared_store`](super::OAuthBuilder::shared_store)), e.g.
//! `rpkit_redis::RedisStore`.
//!
//! What is shared:
//!
//! | what | written when | read when | kept |
//! |---|---|---|---|
//! | revoked sessions, by `sid` and by `sub`, per provider | a back-channel logout ended them | on every request of a logged-in user | the store's revocation TTL (default 30 days) |
//! | accepted logout-token `jti`s, per provider | a logout token passed every other check | the same | until `iat + max_age + leeway` (the core's rule) |
//! | a refresh lease per token | an instance starts refreshing that token | another instance meets the same token | until released, at most [`REFRESH_LEASE`] |
//! | the refreshed token, sealed | the lease holder got it | a waiter re-reads it instead of refreshing | 5 minutes |
//!
//! A store that cannot answer says so ([`StoreError::Unavailable`], which the client
//! reports as [`ClientError::Store`](super::ClientError::Store)); the client never falls
//! back to per-process state, which would silently undo a logout on another instance.
//!
//! # Security
//! The refreshed token is published sealed (ChaCha20-Poly1305) under a key derived from
//! the *old* token, which only the instances holding that token know: reading the store
//! reveals neither token. Keys are hashes of tokens, never tokens. Revocations name the
//! provider's `sid` and `sub` in clear (they are identifiers, not credentials); protect
//! the store like a session store.

use super::ClientError;
use crate::logout::{JtiCache, LogoutTarget, SeenJtis};
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use crate::token::Token;
use async_trait::async_trait;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a refresh lease is held at most: a refresh that takes longer (the holder
/// died, or its provider hangs) lets another instance take over.
pub const REFRESH_LEASE: Duration = Duration::from_secs(30);

/// How long a refreshed token stays published for instances that still hold the old one.
pub const REFRESH_PUBLISH: Duration = Duration::from_secs(super::REFRESH_MEMORY_SECS);

/// How long revocations are kept by default: 30 days (keep it at least as long as your
/// sessions live).
pub const DEFAULT_REVOCATION_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How many `jti`s [`MemoryStore`] remembers per provider (as each client did before).
pub const MEMORY_JTI_CAPACITY: usize = 10_000;

/// How many revocations [`MemoryStore`] keeps at most.
pub const MEMORY_MAX_REVOCATIONS: usize = 100_000;

/// How many refreshed tokens [`MemoryStore`] keeps published at most.
const MEMORY_MAX_REFRESHED: usize = 10_000;

/// How many times a refresh waits for another instance's lease before giving up.
const LEASE_ROUNDS: usize = 4;

/// Why a [`SharedStore`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer in time, or the connection to it failed. Web adapters
    /// answer `503`.
    #[error("the shared store is unavailable: {reason}")]
    Unavailable {
        /// What failed (never a credential or a token).
        reason: String,
    },
    /// The store answered with something this version did not write there.
    #[error("the shared store holds an unreadable {what}")]
    Corrupt {
        /// Which kind of entry.
        what: &'static str,
    },
    /// Another instance kept the refresh lease of this token through every wait.
    #[error("another instance kept refreshing this token for too long")]
    LeaseBusy,
}

impl StoreError {
    /// A [`StoreError::Unavailable`] saying `reason`.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        StoreError::Unavailable { reason: reason.into() }
    }
}

/// A local login, as [`SharedStore::is_revoked`] asks about it.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    /// The registered name of the provider the user logged in with.
    pub provider: &'a str,
    /// The ID token's `sub`.
    pub sub: Option<&'a str>,
    /// The ID token's `sid`.
    pub sid: Option<&'a str>,
    /// When the login completed.
    pub logged_in_at: UnixTime,
}

impl fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `sub` and `sid` are personal data, and logs keep them.
        f.debug_struct("Login")
            .field("provider", &self.provider)
            .field("logged_in_at", &self.logged_in_at)
            .finish_non_exhaustive()
    }
}

impl<'a> Login<'a> {
    /// The login of a web adapter's user.
    pub fn of(user: &'a super::web::AuthUser) -> Self {
        Login { provider: &user.provider, sub: user.sub(), sid: user.sid(), logged_in_at: user.logged_in_at }
    }

    /// Whether a revocation of `sub`/`sid` at `at` ends this login: the same rule as
    /// [`LogoutTarget::matches`], for logins at or before `at`.
    pub fn is_ended_by(&self, sub: Option<&str>, sid: Option<&str>, at: UnixTime) -> bool {
        let target = LogoutTarget {
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
            jti: String::new(),
            iat: at,
            claims: crate::claims::Claims::default(),
        };
        self.logged_in_at <= at && target.matches(self.sub, self.sid)
    }
}

/// A refresh lease held by this instance ([`SharedStore::acquire_lease`]). Give it back
/// with [`SharedStore::release_lease`]; dropped without that, it runs out after its TTL
/// (a store may free it at once, as [`MemoryStore`] does).
pub struct Lease {
    key: String,
    holder: String,
    guard: Option<Box<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Lease {
    /// The lease on `key` held by `holder` (the random value only its holder knows).
    pub fn new(key: impl Into<String>, holder: impl Into<String>) -> Self {
        Lease { key: key.into(), holder: holder.into(), guard: None }
    }

    /// Keeps `guard` alive as long as the lease (for a store whose lease is a lock).
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }

    /// The leased key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The holder's value, which release compares before deleting.
    pub fn holder(&self) -> &str {
        &self.holder
    }
}

/// What several instances of an app share (see the [module docs](self)).
///
/// Every method is atomic on its own: two instances calling it at once see one
/// outcome. `now` is the client's clock; an implementation with its own expiry (Redis
/// `PX`) may use it only to turn an absolute time into a TTL.
///
/// # Errors
/// Every method returns [`StoreError::Unavailable`] when the store cannot answer within
/// its timeout; none may block without bound.
#[async_trait]
pub trait SharedStore: Send + Sync + 'static {
    /// Records that `provider` ended the sessions `target` names (its `sid`, its `sub`, or
    /// both) at `at`.
    async fn revoke(&self, provider: &str, target: &LogoutTarget, at: UnixTime) -> Result<(), StoreError>;

    /// Whether a recorded revocation ends `login` ([`Login::is_ended_by`]).
    async fn is_revoked(&self, login: &Login<'_>, now: UnixTime) -> Result<bool, StoreError>;

    /// Records the logout-token `jti` of `provider` until `until`; `false` when it was
    /// already recorded and not yet expired (a replay).
    async fn insert_jti_if_new(
        &self,
        provider: &str,
        jti: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Takes the lease on `key` for `holder` for at most `ttl`; `None` when another
    /// holder has it.
    async fn acquire_lease(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        now: UnixTime,
    ) -> Result<Option<Lease>, StoreError>;

    /// Gives `lease` back if it is still held by its holder; `false` when it was not (it
    /// ran out, and maybe another holder has it now: that one is left alone).
    async fn release_lease(&self, lease: Lease) -> Result<bool, StoreError>;

    /// Waits until the lease on `key` is free, or `max` passed. It may return early: the
    /// caller tries to acquire again.
    async fn wait_for_lease(&self, key: &str, max: Duration) -> Result<(), StoreError>;

    /// Publishes the (sealed) refreshed token of `key` for `ttl`.
    async fn publish_refreshed(&self, key: &str, sealed: &[u8], ttl: Duration, now: UnixTime)
        -> Result<(), StoreError>;

    /// The (sealed) refreshed token published for `key`, if any.
    async fn refreshed(&self, key: &str, now: UnixTime) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key` unless a value is there already (no expiry), and returns
    /// what the store holds afterwards: `value`, or what another instance put first. This
    /// is how instances agree on one generated DPoP key ([`crate::dpop`]): whoever comes
    /// first wins, and everybody uses the winner's.
    ///
    /// The default answers [`StoreError::Unavailable`]: a store that cannot do this
    /// atomically must not pretend to (configure `dpop_key` instead).
    async fn put_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let _ = (key, value);
        Err(StoreError::unavailable("this store cannot keep a generated DPoP key; configure `dpop_key`"))
    }
}

#[derive(Debug, Clone)]
struct Revoked {
    provider: String,
    sub: Option<String>,
    sid: Option<String>,
    at: UnixTime,
}

#[derive(Default)]
struct MemoryInner {
    revoked: VecDeque<Revoked>,
    jtis: HashMap<String, SeenJtis>,
    leases: HashMap<String, Arc<async_lock::Mutex<()>>>,
    refreshed: HashMap<String, (Vec<u8>, UnixTime)>,
    /// [`SharedStore::put_if_absent`] values (one per client with a generated DPoP key).
    kept: HashMap<String, Vec<u8>>,
}

/// The in-process [`SharedStore`], and the registry's default: exactly what one process
/// did before there was a store. Clones share it, so one `MemoryStore` can serve several
/// registries in one process (as tests of several "instances" do).
///
/// Bounded: at most [`MEMORY_MAX_REVOCATIONS`] revocations (oldest dropped), kept
/// [`DEFAULT_REVOCATION_TTL`] by default; [`MEMORY_JTI_CAPACITY`] `jti`s per provider
/// (soonest-to-expire dropped, as [`SeenJtis`]). Expiry follows the `now` passed in. A
/// lease is a lock: held until released or dropped.
///
/// ```
/// # futures_util::FutureExt::now_or_never(async {
/// use rpkit::client::store::{Login, MemoryStore, SharedStore};
/// use rpkit::logout::LogoutTarget;
/// use rpkit::{Claims, UnixTime};
///
/// let store = MemoryStore::new();
/// let ended = LogoutTarget {
///     sub: None, sid: Some("s1".into()), jti: "j".into(), iat: UnixTime::from_secs(200), claims: Claims::default(),
/// };
/// store.revoke("corp", &ended, UnixTime::from_secs(200)).await.unwrap();
/// let login = Login { provider: "corp", sub: Some("alice"), sid: Some("s1"), logged_in_at: UnixTime::from_secs(100) };
/// assert!(store.is_revoked(&login, UnixTime::from_secs(300)).await.unwrap());
/// let later = Login { logged_in_at: UnixTime::from_secs(250), ..login };
/// assert!(!store.is_revoked(&later, UnixTime::from_secs(300)).await.unwrap());
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
    revocation_ttl: Duration,
    max_revocations: usize,
    jti_capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("revocations", &inner.revoked.len())
            .field("leases", &inner.leases.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with the default retention and bounds.
    pub fn new() -> Self {
        MemoryStore {
            inner: Arc::default(),
            revocation_ttl: DEFAULT_REVOCATION_TTL,
            max_revocations: MEMORY_MAX_REVOCATIONS,
            jti_capacity: MEMORY_JTI_CAPACITY,
        }
    }

    /// Keeps each revocation `ttl`.
    #[must_use]
    pub fn revocation_ttl(mut self, ttl: Duration) -> Self {
        self.revocation_ttl = ttl;
        self
    }

    /// Keeps at most `max` revocations (at least 1).
    #[must_use]
    pub fn max_revocations(mut self, max: usize) -> Self {
        self.max_revocations = max.max(1);
        self
    }

    /// Remembers at most `capacity` `jti`s per provider (at least 1).
    #[must_use]
    pub fn jti_capacity(mut self, capacity: usize) -> Self {
        self.jti_capacity = capacity.max(1);
        self
    }

    /// How many revocations are held.
    pub fn revocations(&self) -> usize {
        self.lock().revoked.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SharedStore for MemoryStore {
    async fn revoke(&self, provider: &str, target: &LogoutTarget, at: UnixTime) -> Result<(), StoreError> {
        let ttl = self.revocation_ttl.as_secs();
        let mut inner = self.lock();
        inner.revoked.retain(|e| at.secs_since(e.at) <= ttl);
        inner.revoked.push_back(Revoked {
            provider: provider.to_owned(),
            sub: target.sub.clone(),
            sid: target.sid.clone(),
            at,
        });
        while inner.revoked.len() > self.max_revocations {
            inner.revoked.pop_front();
        }
        Ok(())
    }

    async fn is_revoked(&self, login: &Login<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let ttl = self.revocation_ttl.as_secs();
        let inner = self.lock();
        Ok(inner.revoked.iter().any(|e| {
            e.provider == login.provider
                && now.secs_since(e.at) <= ttl
                && login.is_ended_by(e.sub.as_deref(), e.sid.as_deref(), e.at)
        }))
    }

    async fn insert_jti_if_new(
        &self,
        provider: &str,
        jti: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let capacity = self.jti_capacity;
        let mut inner = self.lock();
        let seen = inner.jtis.entry(provider.to_owned()).or_insert_with(|| SeenJtis::new(capacity));
        seen.prune(now);
        Ok(seen.insert_if_new(jti, until))
    }

    async fn acquire_lease(
        &self,
        key: &str,
        holder: &str,
        _ttl: Duration,
        _now: UnixTime,
    ) -> Result<Option<Lease>, StoreError> {
        let mut inner = self.lock();
        // A lock nobody holds or waits for is referenced by the map alone.
        inner.leases.retain(|k, lock| k == key || Arc::strong_count(lock) > 1);
        let lock = Arc::clone(inner.leases.entry(key.to_owned()).or_default());
        Ok(lock.try_lock_arc().map(|guard| Lease::new(key, holder).with_guard(guard)))
    }

    async fn release_lease(&self, lease: Lease) -> Result<bool, StoreError> {
        // The guard is the lease: dropping it frees the lock and wakes the waiters.
        Ok(lease.guard.is_some())
    }

    async fn wait_for_lease(&self, key: &str, _max: Duration) -> Result<(), StoreError> {
        // The holder is in this process and its refresh has the HTTP client's timeout.
        let lock = self.lock().leases.get(key).cloned();
        if let Some(lock) = lock {
            drop(lock.lock_arc().await);
        }
        Ok(())
    }

    async fn publish_refreshed(
        &self,
        key: &str,
        sealed: &[u8],
        ttl: Duration,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.refreshed.retain(|_, (_, until)| *until >= now);
        while inner.refreshed.len() >= MEMORY_MAX_REFRESHED {
            let Some(soonest) = inner.refreshed.iter().min_by_key(|(_, (_, u))| *u).map(|(k, _)| k.clone()) else {
                break;
            };
            inner.refreshed.remove(&soonest);
        }
        inner.refreshed.insert(key.to_owned(), (sealed.to_vec(), now.plus(ttl.as_secs())));
        Ok(())
    }

    async fn refreshed(&self, key: &str, now: UnixTime) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock();
        Ok(inner.refreshed.get(key).filter(|(_, until)| *until >= now).map(|(v, _)| v.clone()))
    }

    async fn put_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.lock().kept.entry(key.to_owned()).or_insert_with(|| value.to_vec()).clone())
    }
}

/// The core's `jti` rule, captured: it calls this only once every other check passed,
/// with the time until which the `jti` must be remembered. The shared store then
/// records it atomically.
#[derive(Default)]
pub(super) struct AcceptedJti(pub(super) Option<(String, UnixTime)>);

impl JtiCache for AcceptedJti {
    fn insert_if_new(&mut self, jti: &str, until: UnixTime) -> bool {
        self.0 = Some((jti.to_owned(), until));
        true
    }
}

/// The shared name of a token's refresh (lease and published result): a hash of it.
pub(super) fn lease_key(refresh_key: &[u8; 32]) -> String {
    hex(refresh_key)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Seals a refreshed token under a key only the holders of the old token can derive.
pub(super) struct RefreshSeal {
    key: ring::aead::LessSafeKey,
    aad: String,
}

impl RefreshSeal {
    const CONTEXT: &'static [u8] = b"rpkit refresh seal v1\0";
    const NONCE: usize = ring::aead::NONCE_LEN;

    pub(super) fn for_token(old: &Token, lease_key: &str) -> Option<Self> {
        let rt = old.refresh_token.as_ref()?.secret();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(Self::CONTEXT);
        ctx.update(&(rt.len() as u64).to_be_bytes());
        ctx.update(rt.as_bytes());
        ctx.update(old.access_token.secret().as_bytes());
        let digest = ctx.finish();
        let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, digest.as_ref()).ok()?;
        Some(RefreshSeal { key: ring::aead::LessSafeKey::new(unbound), aad: lease_key.to_owned() })
    }

    pub(super) fn seal(&self, token: &Token, rng: &dyn SecureRandom) -> Result<Vec<u8>, ClientError> {
        let mut nonce = [0u8; Self::NONCE];
        rng.fill(&mut nonce)?;
        let mut sealed = serde_json::to_vec(token).map_err(|_| StoreError::Corrupt { what: "refreshed token" })?;
        self.key
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(self.aad.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| StoreError::Corrupt { what: "refreshed token" })?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(out)
    }

    pub(super) fn open(&self, sealed: &[u8]) -> Result<Token, StoreError> {
        let corrupt = StoreError::Corrupt { what: "refreshed token" };
        if sealed.len() < Self::NONCE {
            return Err(corrupt);
        }
        let (nonce, body) = sealed.split_at(Self::NONCE);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt.clone())?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, ring::aead::Aad::from(self.aad.as_bytes()), &mut body)
            .map_err(|_| corrupt.clone())?;
        serde_json::from_slice(plain).map_err(|_| corrupt)
    }
}

impl super::OAuthClient {
    /// [`do_refresh`](Self::do_refresh) under the shared store's lease on this token, so
    /// that one instance refreshes it and the others re-read the result instead of
    /// spending the (rotated) refresh token again. The in-process single-flight in
    /// [`refresh_token`](Self::refresh_token) already made this caller the only one of
    /// its process.
    ///
    /// A store failure before the refresh is an error (nothing is sent). After a
    /// successful refresh the new token is returned even if publishing it fails: losing
    /// it would lose the rotated refresh token; a lease that could not be released runs
    /// out after [`REFRESH_LEASE`].
    pub(super) async fn refresh_across_instances(
        &self,
        old: &Token,
        refresh_key: &[u8; 32],
    ) -> Result<Token, ClientError> {
        let store = &*self.inner.shared.store;
        let key = lease_key(refresh_key);
        let seal = RefreshSeal::for_token(old, &key).ok_or(ClientError::Core(crate::Error::NoRefreshToken))?;
        let mut holder = [0u8; 16];
        self.rng().fill(&mut holder)?;
        let holder = hex(&holder);
        for _ in 0..LEASE_ROUNDS {
            if let Some(sealed) = store.refreshed(&key, self.now()).await? {
                return Ok(seal.open(&sealed)?);
            }
            let Some(lease) = store.acquire_lease(&key, &holder, REFRESH_LEASE, self.now()).await? else {
                store.wait_for_lease(&key, REFRESH_LEASE).await?;
                continue;
            };
            // The previous holder may have published and released between our read and
            // our acquire.
            let published = match store.refreshed(&key, self.now()).await {
                Ok(published) => published,
                Err(e) => {
                    let _ = store.release_lease(lease).await;
                    return Err(e.into());
                }
            };
            if let Some(sealed) = published {
                let _ = store.release_lease(lease).await;
                return Ok(seal.open(&sealed)?);
            }
            let result = self.do_refresh(old).await;
            if let Ok(new) = &result {
                if let Ok(sealed) = seal.seal(new, self.rng()) {
                    let _ = store.publish_refreshed(&key, &sealed, REFRESH_PUBLISH, self.now()).await;
                }
            }
            let _ = store.release_lease(lease).await;
            return result;
        }
        Err(StoreError::LeaseBusy.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn t(secs: u64) -> UnixTime {
        UnixTime::from_secs(secs)
    }

    fn ended(sub: Option<&str>, sid: Option<&str>) -> LogoutTarget {
        LogoutTarget {
            sub: sub.map(Into::into),
            sid: sid.map(Into::into),
            jti: "j".into(),
            iat: t(0),
            claims: Default::default(),
        }
    }

    fn login<'a>(sub: Option<&'a str>, sid: Option<&'a str>, at: u64) -> Login<'a> {
        Login { provider: "corp", sub, sid, logged_in_at: t(at) }
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        f.now_or_never().expect("the memory store never waits here")
    }

    #[test]
    fn memory_revocation_by_sid_ends_logins_with_that_sid_at_or_before_it() {
        let store = MemoryStore::new();
        run(store.revoke("corp", &ended(None, Some("s1")), t(200))).unwrap();
        assert!(run(store.is_revoked(&login(Some("u"), Some("s1"), 200), t(300))).unwrap());
        assert!(!run(store.is_revoked(&login(Some("u"), Some("s1"), 201), t(300))).unwrap());
        assert!(!run(store.is_revoked(&login(Some("u"), Some("s2"), 100), t(300))).unwrap());
        assert!(!run(store.is_revoked(&login(Some("u"), None, 100), t(300))).unwrap());
        let other = Login { provider: "other", ..login(Some("u"), Some("s1"), 100) };
        assert!(!run(store.is_revoked(&other, t(300))).unwrap());
    }

    #[test]
    fn memory_revocation_by_sub_ends_every_session_of_that_user() {
        let store = MemoryStore::new();
        run(store.revoke("corp", &ended(Some("alice"), None), t(200))).unwrap();
        assert!(run(store.is_revoked(&login(Some("alice"), Some("s1"), 100), t(300))).unwrap());
        assert!(run(store.is_revoked(&login(Some("alice"), None, 100), t(300))).unwrap());
        assert!(!run(store.is_revoked(&login(Some("bob"), None, 100), t(300))).unwrap());
    }

    #[test]
    fn memory_revocations_expire_and_are_bounded() {
        let store = MemoryStore::new().revocation_ttl(Duration::from_secs(100)).max_revocations(2);
        run(store.revoke("corp", &ended(None, Some("s1")), t(200))).unwrap();
        assert!(!run(store.is_revoked(&login(None, Some("s1"), 100), t(301))).unwrap(), "expired");
        run(store.revoke("corp", &ended(None, Some("s2")), t(210))).unwrap();
        run(store.revoke("corp", &ended(None, Some("s3")), t(220))).unwrap();
        assert_eq!(store.revocations(), 2);
        assert!(!run(store.is_revoked(&login(None, Some("s1"), 100), t(230))).unwrap(), "oldest dropped");
    }

    #[test]
    fn memory_jtis_are_single_use_per_provider_until_they_expire() {
        let store = MemoryStore::new();
        assert!(run(store.insert_jti_if_new("corp", "j1", t(200), t(100))).unwrap());
        assert!(!run(store.insert_jti_if_new("corp", "j1", t(200), t(150))).unwrap());
        assert!(run(store.insert_jti_if_new("other", "j1", t(200), t(150))).unwrap());
        assert!(run(store.insert_jti_if_new("corp", "j1", t(300), t(201))).unwrap(), "forgotten after until");
    }

    #[test]
    fn memory_lease_has_one_holder_and_is_freed_by_release_or_drop() {
        let store = MemoryStore::new();
        let lease = run(store.acquire_lease("k", "a", REFRESH_LEASE, t(0))).unwrap().unwrap();
        assert!(run(store.acquire_lease("k", "b", REFRESH_LEASE, t(0))).unwrap().is_none());
        assert!(run(store.acquire_lease("other", "b", REFRESH_LEASE, t(0))).unwrap().is_some());
        assert!(run(store.release_lease(lease)).unwrap());
        let again = run(store.acquire_lease("k", "b", REFRESH_LEASE, t(0))).unwrap().unwrap();
        drop(again);
        run(store.wait_for_lease("k", REFRESH_LEASE)).unwrap();
        assert!(run(store.acquire_lease("k", "c", REFRESH_LEASE, t(0))).unwrap().is_some());
        assert!(!run(store.release_lease(Lease::new("k", "not-the-holder"))).unwrap());
    }

    #[test]
    fn memory_refreshed_tokens_expire() {
        let store = MemoryStore::new();
        run(store.publish_refreshed("k", b"sealed", Duration::from_secs(10), t(100))).unwrap();
        assert_eq!(run(store.refreshed("k", t(110))).unwrap().as_deref(), Some(&b"sealed"[..]));
        assert_eq!(run(store.refreshed("k", t(111))).unwrap(), None);
    }

    fn token(at: &str, rt: &str) -> Token {
        serde_json::from_value(serde_json::json!({"access_token": at, "token_type": "Bearer", "refresh_token": rt}))
            .unwrap()
    }

    #[test]
    fn a_sealed_token_opens_only_with_the_old_token() {
        let old = token("at-0", "rt-0");
        let new = token("at-1", "rt-1");
        let seal = RefreshSeal::for_token(&old, "k").unwrap();
        let sealed = seal.seal(&new, &crate::rand::SeededRandom::new(1)).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("at-1") && !text.contains("rt-1"), "the store sees no token");
        assert_eq!(seal.open(&sealed).unwrap(), new);
        let stranger = RefreshSeal::for_token(&token("at-0", "rt-x"), "k").unwrap();
        assert_eq!(stranger.open(&sealed), Err(StoreError::Corrupt { what: "refreshed token" }));
        let elsewhere = RefreshSeal::for_token(&old, "k2").unwrap();
        assert!(elsewhere.open(&sealed).is_err(), "bound to its key");
        assert!(seal.open(&sealed[..5]).is_err());
    }

    #[test]
    fn debug_of_a_login_shows_no_subject() {
        let l = login(Some("alice@example.com"), Some("sid-secret"), 1);
        let debug = format!("{l:?}");
        assert!(!debug.contains("alice") && !debug.contains("sid-secret"), "{debug}");
    }

    #[test]
    fn store_errors_say_what_failed() {
        assert_eq!(
            StoreError::unavailable("connection refused").to_string(),
            "the shared store is unavailable: connection refused"
        );
        assert_eq!(StoreError::LeaseBusy.to_string(), "another instance kept refreshing this token for too long");
    }
}
