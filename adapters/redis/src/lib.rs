//! # rpkit-redis — rpkit's shared state on Redis
//!
//! [`RedisStore`] is a [`SharedStore`] for several instances of one app behind a load
//! balancer: a back-channel logout received by one instance ends the session on all of
//! them, a logout token is accepted once across all of them, and one expired token is
//! refreshed once across all of them (the others re-read the new token instead of
//! spending the rotated refresh token again). Give every instance's registry a store on
//! the same Redis:
//!
//! ```no_run
//! # async fn run(http: impl rpkit::client::HttpClient) -> Result<(), rpkit_redis::Error> {
//! use rpkit::client::OAuth;
//! use rpkit_redis::RedisStore;
//!
//! let store = RedisStore::builder("redis://127.0.0.1:6379/").prefix("myapp:rpkit:").connect().await?;
//! let oauth = OAuth::builder(http).shared_store(store).build();
//! # let _ = oauth; Ok(()) }
//! ```
//!
//! ## Guarantees
//! - **Atomic operations only**: `SET … NX PX` for `jti`s and lease acquisition, a Lua
//!   compare-and-delete for lease release, one Lua script for each revocation write and
//!   read. Two instances racing see one outcome.
//! - **Bounded**: every call answers within the [operation
//!   timeout](RedisStoreBuilder::operation_timeout) (default 2 s; connect and response
//!   timeouts 1 s each) or fails with [`StoreError::Unavailable`]. A lost connection is
//!   never a hang and never a silent fallback to per-process state; the connection is
//!   re-established in the background, and calls succeed again once Redis is back.
//! - **No secrets in keys or errors**: keys hold hashes of tokens, never tokens; the
//!   refreshed token is stored sealed by the core (only holders of the old token can open
//!   it); error texts never contain the URL (it may carry a password).
//!
//! ## Keys
//! Every key starts with the [prefix](RedisStoreBuilder::prefix) (default `rpkit:`).
//! `{provider}`, `{sid}`, `{sub}` and `{jti}` are escaped (`%` → `%25`, `:` → `%3A`) so that
//! no value can reach into another key's space; `{hash}` is 64 hex digits of SHA-256 over
//! the token.
//!
//! | key | type | value | TTL |
//! |---|---|---|---|
//! | `rpkit:revoked:{provider}:sid:{sid}` | hash | field `""` (logout named no `sub`) or `=` + `sub` → the time of the logout (Unix seconds, the latest kept) | revocation TTL (default 30 days), renewed on each write |
//! | `rpkit:revoked:{provider}:sub:{sub}` | string | the time of the logout (a logout naming only `sub`) | revocation TTL |
//! | `rpkit:jti:{provider}:{jti}` | string | `1` | until `iat + max_age + leeway` of the logout token (the core's rule), at least 1 s |
//! | `rpkit:lease:{hash}` | string | the holder's random value | [`REFRESH_LEASE`](rpkit::client::store::REFRESH_LEASE) (30 s) at most; deleted by its holder when the refresh ends |
//! | `rpkit:refreshed:{hash}` | string | the refreshed token, sealed (ChaCha20-Poly1305) | [`REFRESH_PUBLISH`](rpkit::client::store::REFRESH_PUBLISH) (5 min) |
//!
//! A login is revoked when a revocation of its provider names its `sid` (with its `sub`
//! or no `sub`) or, for a logout naming only a `sub`, its `sub`, at or after the time it
//! logged in, and within the revocation TTL — the rule of
//! [`Login::is_ended_by`](rpkit::client::store::Login::is_ended_by).
//!
//! ## Security
//! Protect Redis as you protect a session store: ACLs, `requirepass`, TLS (`rediss://`
//! needs one of the `redis` crate's TLS features) or a private network. A writer to these
//! keys can end sessions (write a revocation) or delay refreshes (hold a lease) but cannot
//! log anyone in or read a token.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use rpkit::client::store::{Lease, Login, SharedStore, StoreError, DEFAULT_REVOCATION_TTL};
use rpkit::logout::LogoutTarget;
use rpkit::UnixTime;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use rpkit::client::store;

pub mod sessions;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "rpkit:";

/// The default bound on one store call, reconnection included.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a waiter looks whether another instance's lease is gone.
const LEASE_POLL: Duration = Duration::from_millis(10);

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Redis URL could not be used (the text never contains the URL itself).
    #[error("the Redis URL is not usable: {reason}")]
    Url {
        /// Why.
        reason: String,
    },
    /// Redis could not be reached or did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds a [`RedisStore`].
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    operation_timeout: Duration,
    revocation_ttl: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("revocation_ttl", &self.revocation_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Prefixes every key with `prefix` (default [`DEFAULT_PREFIX`], `rpkit:`), e.g. to
    /// keep two apps apart on one Redis.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Each connection attempt gives up after `timeout` (default 1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Each command gives up after `timeout` without an answer (default 1 s).
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Each store call, reconnection included, gives up after `timeout` (default 2 s).
    #[must_use]
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Keeps each revocation `ttl` (default 30 days; at least as long as your sessions).
    #[must_use]
    pub fn revocation_ttl(mut self, ttl: Duration) -> Self {
        self.revocation_ttl = ttl;
        self
    }

    /// Connects (within the operation timeout) and returns the store.
    ///
    /// # Errors
    /// [`Error::Url`] for a URL the client does not accept; [`Error::Store`] with
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisStore, Error> {
        let client =
            redis::Client::open(self.url.as_str()).map_err(|e| Error::Url { reason: format!("{:?}", e.kind()) })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(3);
        let timeout = self.operation_timeout;
        let conn = bounded(timeout, ConnectionManager::new_with_config(client, config)).await?;
        Ok(RedisStore {
            conn,
            keys: Arc::new(Keys { prefix: self.prefix }),
            timeout,
            revocation_ttl: self.revocation_ttl,
        })
    }
}

struct Keys {
    prefix: String,
}

impl Keys {
    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            if i == 0 {
                key.push_str(part); // the kind: a constant of ours
            } else {
                escape_into(&mut key, part);
            }
        }
        key
    }
}

/// `%` → `%25`, `:` → `%3A`: a value cannot end its key component early.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

/// A [`SharedStore`] on Redis (see the [crate docs](crate) for the keys). Cheap to
/// clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    timeout: Duration,
    revocation_ttl: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.keys.prefix)
            .field("operation_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A builder for the Redis at `url` (`redis://[user:password@]host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            revocation_ttl: DEFAULT_REVOCATION_TTL,
        }
    }

    /// Connects to `url` with the defaults.
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.keys.prefix
    }

    async fn run<T>(&self, op: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        bounded(self.timeout, op).await
    }
}

async fn bounded<T>(timeout: Duration, op: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(unavailable(&e)),
        Err(_) => Err(StoreError::unavailable(format!("no answer within {} ms", timeout.as_millis()))),
    }
}

/// A reason that names what failed without the URL or any value sent.
fn unavailable(e: &redis::RedisError) -> StoreError {
    let reason = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection lost".to_owned()
    } else if let Some(code) = e.code() {
        format!("Redis answered {code}")
    } else {
        format!("{:?}", e.kind())
    };
    StoreError::unavailable(reason)
}

/// Records a revocation, keeping the latest time, and (re)sets the key's TTL.
/// KEYS[1]: the key; ARGV: `h` (hash, field ARGV[2]) or `s` (string), the time, the TTL.
const REVOKE: &str = r"
local at = tonumber(ARGV[3])
local cur
if ARGV[1] == 'h' then cur = redis.call('HGET', KEYS[1], ARGV[2]) else cur = redis.call('GET', KEYS[1]) end
if (not cur) or tonumber(cur) < at then
  if ARGV[1] == 'h' then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) else redis.call('SET', KEYS[1], ARGV[3]) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
";

/// Whether a login is revoked. KEYS[1]: its sid hash; KEYS[2]: its sub key.
/// ARGV: has_sid, has_sub, `=`+sub, logged_in_at, now, ttl.
const IS_REVOKED: &str = r"
local t, now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function ends(at) return at and tonumber(at) >= t and now - tonumber(at) <= ttl end
if ARGV[1] == '1' then
  if ARGV[2] == '1' then
    if ends(redis.call('HGET', KEYS[1], '')) or ends(redis.call('HGET', KEYS[1], ARGV[3])) then return 1 end
  else
    for _, at in ipairs(redis.call('HVALS', KEYS[1])) do if ends(at) then return 1 end end
  end
end
if ARGV[2] == '1' and ends(redis.call('GET', KEYS[2])) then return 1 end
return 0
";

/// Deletes the lease only if it is still held by this holder.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl SharedStore for RedisStore {
    async fn revoke(&self, provider: &str, target: &LogoutTarget, at: UnixTime) -> Result<(), StoreError> {
        let (key, kind, field) = match (&target.sid, &target.sub) {
            (Some(sid), sub) => {
                let field = sub.as_ref().map(|s| format!("={s}")).unwrap_or_default();
                (self.keys.key(&["revoked", provider, "sid", sid]), "h", field)
            }
            (None, Some(sub)) => (self.keys.key(&["revoked", provider, "sub", sub]), "s", String::new()),
            (None, None) => return Ok(()),
        };
        let ttl = self.revocation_ttl.as_secs().max(1);
        let mut conn = self.conn.clone();
        let script = Script::new(REVOKE);
        let mut call = script.key(key);
        call.arg(kind).arg(field).arg(at.as_secs()).arg(ttl);
        self.run(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    async fn is_revoked(&self, login: &Login<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let sid_key = self.keys.key(&["revoked", login.provider, "sid", login.sid.unwrap_or("")]);
        let sub_key = self.keys.key(&["revoked", login.provider, "sub", login.sub.unwrap_or("")]);
        let flag = |present: bool| if present { "1" } else { "0" };
        let mut conn = self.conn.clone();
        let script = Script::new(IS_REVOKED);
        let mut call = script.key(sid_key);
        call.key(sub_key)
            .arg(flag(login.sid.is_some()))
            .arg(flag(login.sub.is_some()))
            .arg(format!("={}", login.sub.unwrap_or("")))
            .arg(login.logged_in_at.as_secs())
            .arg(now.as_secs())
            .arg(self.revocation_ttl.as_secs());
        Ok(self.run(call.invoke_async::<i64>(&mut conn)).await? == 1)
    }

    async fn insert_jti_if_new(
        &self,
        provider: &str,
        jti: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let key = self.keys.key(&["jti", provider, jti]);
        // Remembered through `until` inclusive, as the in-memory set does.
        let ttl = Duration::from_secs(until.as_secs().saturating_sub(now.as_secs()).saturating_add(1));
        let mut conn = self.conn.clone();
        let set = redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(millis(ttl)).to_owned();
        let reply: Option<String> = self.run(set.query_async(&mut conn)).await?;
        Ok(reply.is_some())
    }

    async fn acquire_lease(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        _now: UnixTime,
    ) -> Result<Option<Lease>, StoreError> {
        let lease_key = self.keys.key(&["lease", key]);
        let mut conn = self.conn.clone();
        let set = redis::cmd("SET").arg(&lease_key).arg(holder).arg("NX").arg("PX").arg(millis(ttl)).to_owned();
        let reply: Option<String> = self.run(set.query_async(&mut conn)).await?;
        Ok(reply.map(|_| Lease::new(key, holder)))
    }

    async fn release_lease(&self, lease: Lease) -> Result<bool, StoreError> {
        let lease_key = self.keys.key(&["lease", lease.key()]);
        let mut conn = self.conn.clone();
        let script = Script::new(RELEASE);
        let mut call = script.key(lease_key);
        call.arg(lease.holder());
        Ok(self.run(call.invoke_async::<i64>(&mut conn)).await? == 1)
    }

    async fn wait_for_lease(&self, key: &str, max: Duration) -> Result<(), StoreError> {
        let lease_key = self.keys.key(&["lease", key]);
        let deadline = tokio::time::Instant::now() + max;
        let mut conn = self.conn.clone();
        loop {
            let held: bool = self.run(conn.exists(&lease_key)).await?;
            if !held || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    async fn publish_refreshed(
        &self,
        key: &str,
        sealed: &[u8],
        ttl: Duration,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        let key = self.keys.key(&["refreshed", key]);
        let mut conn = self.conn.clone();
        let set = redis::cmd("SET").arg(&key).arg(sealed).arg("PX").arg(millis(ttl)).to_owned();
        self.run(set.query_async::<()>(&mut conn)).await
    }

    async fn refreshed(&self, key: &str, _now: UnixTime) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.key(&["refreshed", key]);
        let mut conn = self.conn.clone();
        self.run(conn.get(&key)).await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let key = self.keys.key(&["kept", key]);
        let mut conn = self.conn.clone();
        // `SET … NX GET` (Redis ≥ 7): one atomic step that answers the value already there.
        let set = redis::cmd("SET").arg(&key).arg(value).arg("NX").arg("GET").to_owned();
        let before: Option<Vec<u8>> = self.run(set.query_async(&mut conn)).await?;
        Ok(before.unwrap_or_else(|| value.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_components_are_escaped_so_no_value_reaches_another_key() {
        let keys = Keys { prefix: "rpkit:".into() };
        assert_eq!(keys.key(&["revoked", "corp", "sid", "s1"]), "rpkit:revoked:corp:sid:s1");
        // A provider named "a:sid" and a sid "x" must not collide with provider "a", sid "sid:x".
        let one = keys.key(&["revoked", "a:sid", "sid", "x"]);
        let two = keys.key(&["revoked", "a", "sid", "sid:x"]);
        assert_ne!(one, two);
        assert_eq!(one, "rpkit:revoked:a%3Asid:sid:x");
        assert_eq!(keys.key(&["jti", "p", "50%:x"]), "rpkit:jti:p:50%25%3Ax");
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_without_echoing_it() {
        let err = RedisStore::connect("nope://user:hunter2@host").await.unwrap_err();
        assert!(matches!(err, Error::Url { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn nothing_listening_is_unavailable_within_the_timeout() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let err = RedisStore::builder(format!("redis://:hunter2@127.0.0.1:{port}/"))
            .operation_timeout(Duration::from_millis(500))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Unavailable { .. })), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
