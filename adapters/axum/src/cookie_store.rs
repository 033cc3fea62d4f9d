//! A session kept entirely in an encrypted cookie: no shared store between instances.
//!
//! [`CookieSessionLayer`] decrypts the session cookie of each request into a
//! [`CookieSession`] (a JSON map) and, when a handler changed it, encrypts it into a fresh
//! `Set-Cookie` on the response. Any instance holding the same [`CookieKey`] can read
//! it, so a login started on one instance finishes on another.
//!
//! Sealing is AES-256-GCM ([RFC 5116](https://www.rfc-editor.org/rfc/rfc5116)) with a
//! fresh 96-bit random nonce per write; the cookie name is authenticated data, so a value
//! cannot be replayed under another cookie name. The cookie value is
//! `base64url(version || nonce || ciphertext || tag)`; the plaintext carries its issue
//! time, and a cookie older than [`max_age`](CookieSessionLayer::max_age) is ignored
//! even when the browser still sends it.
//!
//! A cookie that is tampered with, truncated, sealed under an unknown key, expired or
//! garbled is treated as an **empty session** — never an error, never a panic.

use crate::session::SessionError;
use axum::body::Body;
use cookie::{Cookie, SameSite};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use rpkit::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first byte of every sealed value; a future format gets another.
const FORMAT_VERSION: u8 = 1;

/// Length of the AES-256-GCM key in bytes.
pub const KEY_LEN: usize = 32;

/// Length of the authentication tag appended to the ciphertext.
const TAG_LEN: usize = 16;

/// The default cookie name.
pub const DEFAULT_COOKIE_NAME: &str = "rpkit_session";

/// Browsers keep cookies up to about 4096 bytes of name and value (RFC 6265 §6.1 asks
/// for at least that); a larger one is silently dropped, which would lose the login.
pub const DEFAULT_MAX_COOKIE_BYTES: usize = 4096;

/// How long a cookie session lives without being written again (one day).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// A cookie issued this far in the future (clock skew between instances) is still read.
const FUTURE_SKEW_SECS: u64 = 60;

/// The secret key that seals session cookies (AES-256-GCM, 32 bytes).
///
/// Load it from configuration (every instance must share it); [`CookieKey::generate`]
/// makes a random one for a single process. `Debug` never shows the key.
///
/// ```
/// use rpkit_axum::CookieKey;
///
/// // 32 random bytes, base64url — e.g. from `RPKIT_COOKIE_KEY`.
/// let key = CookieKey::from_base64("q2mN3X7pW0m8h9gE1c5vR4tYb6uJ2kL0o3iA8sD7fQw")?;
/// assert_eq!(format!("{key:?}"), "CookieKey(..)");
/// assert!(CookieKey::from_bytes(&[0u8; 16]).is_err()); // too short
/// # Ok::<(), rpkit_axum::SessionError>(())
/// ```
#[derive(Clone)]
pub struct CookieKey(Arc<LessSafeKey>);

impl CookieKey {
    /// A key from exactly [`KEY_LEN`] bytes.
    ///
    /// # Errors
    /// [`SessionError::InvalidKey`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SessionError> {
        if bytes.len() != KEY_LEN {
            return Err(SessionError::InvalidKey);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SessionError::InvalidKey)?;
        Ok(CookieKey(Arc::new(LessSafeKey::new(unbound))))
    }

    /// A key from base64url (padding tolerated) or standard base64 text of 32 bytes.
    ///
    /// # Errors
    /// [`SessionError::InvalidKey`] when the text is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SessionError> {
        let text = text.trim();
        let normalized: String = text
            .chars()
            .map(|c| {
                if c == '+' {
                    '-'
                } else if c == '/' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let bytes = rpkit::jose::b64::decode(&normalized).ok_or(SessionError::InvalidKey)?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key. Sessions sealed with it die with the process, and other
    /// instances cannot read them: use a configured key for more than one instance.
    ///
    /// # Errors
    /// [`SessionError::Random`] when the system random source fails.
    pub fn generate() -> Result<Self, SessionError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SessionError::Random)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

/// The settings shared by every request through one [`CookieSessionLayer`].
struct Settings {
    key: CookieKey,
    previous_keys: Vec<CookieKey>,
    name: String,
    path: String,
    domain: Option<String>,
    secure: bool,
    same_site: SameSite,
    max_age: Duration,
    max_bytes: usize,
    rng: Arc<dyn SecureRandom>,
}

impl Settings {
    fn max_age_secs(&self) -> u64 {
        self.max_age.as_secs()
    }
}

/// A tower layer keeping the session in an encrypted cookie ([module docs](self)).
///
/// Handlers reach the session through [`AuthSession`](crate::AuthSession) (or
/// [`CookieSession`] directly). Defaults: cookie `rpkit_session`, `Path=/`, `HttpOnly`,
/// `SameSite=Lax`, `Secure`, one-day lifetime, 4096-byte limit.
///
/// # Security
/// - The key must be secret and shared only by the instances of the application; rotate
///   it with [`previous_key`](Self::previous_key) so that live sessions survive.
/// - Random 96-bit nonces are safe for about 2³² writes per key (NIST SP 800-38D §8.3);
///   rotate the key well before that.
/// - A cookie session cannot be revoked server-side by deleting it: an old copy stays
///   valid until it expires. Use [`Revocations`](crate::Revocations) (back-channel
///   logout) and a short [`max_age`](Self::max_age) where that matters.
/// - Concurrent requests of one browser each write the whole cookie; the last response
///   wins.
///
/// ```
/// use axum::{routing::get, Router};
/// use rpkit_axum::{AuthSession, CookieKey, CookieSessionLayer};
///
/// async fn count(session: AuthSession) -> String {
///     let n: u64 = session.get("n").await.ok().flatten().unwrap_or(0);
///     session.insert("n", &(n + 1)).await.ok();
///     n.to_string()
/// }
///
/// let key = CookieKey::generate()?;
/// let app: Router = Router::new()
///     .route("/", get(count))
///     .layer(CookieSessionLayer::new(key).secure(false)); // plain http on loopback only
/// # Ok::<(), rpkit_axum::SessionError>(())
/// ```
#[derive(Clone)]
pub struct CookieSessionLayer {
    settings: Arc<Settings>,
}

impl fmt::Debug for CookieSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("CookieSessionLayer")
            .field("name", &s.name)
            .field("path", &s.path)
            .field("domain", &s.domain)
            .field("secure", &s.secure)
            .field("same_site", &s.same_site)
            .field("max_age", &s.max_age)
            .field("max_bytes", &s.max_bytes)
            .finish_non_exhaustive()
    }
}

impl CookieSessionLayer {
    /// A layer sealing sessions with `key`.
    pub fn new(key: CookieKey) -> Self {
        CookieSessionLayer {
            settings: Arc::new(Settings {
                key,
                previous_keys: Vec::new(),
                name: DEFAULT_COOKIE_NAME.to_owned(),
                path: "/".to_owned(),
                domain: None,
                secure: true,
                same_site: SameSite::Lax,
                max_age: DEFAULT_MAX_AGE,
                max_bytes: DEFAULT_MAX_COOKIE_BYTES,
                rng: Arc::new(SystemRandom::new()),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        match Arc::get_mut(&mut self.settings) {
            Some(s) => f(s),
            None => {
                let old = &*self.settings;
                let mut s = Settings {
                    key: old.key.clone(),
                    previous_keys: old.previous_keys.clone(),
                    name: old.name.clone(),
                    path: old.path.clone(),
                    domain: old.domain.clone(),
                    secure: old.secure,
                    same_site: old.same_site,
                    max_age: old.max_age,
                    max_bytes: old.max_bytes,
                    rng: Arc::clone(&old.rng),
                };
                f(&mut s);
                self.settings = Arc::new(s);
            }
        }
        self
    }

    /// Also accepts cookies sealed with `key` (key rotation); they are re-sealed with the
    /// current key on the next write.
    #[must_use]
    pub fn previous_key(self, key: CookieKey) -> Self {
        self.edit(|s| s.previous_keys.push(key))
    }

    /// The cookie name (default `rpkit_session`).
    #[must_use]
    pub fn name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|s| s.name = name)
    }

    /// The cookie `Path` (default `/`).
    #[must_use]
    pub fn path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|s| s.path = path)
    }

    /// The cookie `Domain` (default: none, host-only).
    #[must_use]
    pub fn domain(self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        self.edit(|s| s.domain = Some(domain))
    }

    /// Whether the cookie is `Secure` (default `true`). Turn it off only for plain
    /// `http` on loopback, where browsers would not send a `Secure` cookie back.
    #[must_use]
    pub fn secure(self, secure: bool) -> Self {
        self.edit(|s| s.secure = secure)
    }

    /// The cookie's `SameSite` (default `Lax`, which the OAuth redirect back needs;
    /// `Strict` would lose the session on the callback).
    #[must_use]
    pub fn same_site(self, same_site: SameSite) -> Self {
        self.edit(|s| s.same_site = same_site)
    }

    /// How long a session lives after its last write (default one day). Older cookies
    /// are ignored even if the browser keeps sending them.
    #[must_use]
    pub fn max_age(self, max_age: Duration) -> Self {
        self.edit(|s| s.max_age = max_age)
    }

    /// The largest `name=value` the layer writes (default 4096 bytes). A write that would
    /// exceed it fails with [`SessionError::TooLarge`] and changes nothing.
    #[must_use]
    pub fn max_cookie_bytes(self, max: usize) -> Self {
        self.edit(|s| s.max_bytes = max)
    }

    /// Draws nonces from `rng` instead of the system CSPRNG (tests only).
    #[must_use]
    pub fn rng(self, rng: impl SecureRandom + 'static) -> Self {
        let rng: Arc<dyn SecureRandom> = Arc::new(rng);
        self.edit(|s| s.rng = rng)
    }
}

impl<S> tower::Layer<S> for CookieSessionLayer {
    type Service = CookieSessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieSessionService { inner, settings: Arc::clone(&self.settings) }
    }
}

/// The service made by [`CookieSessionLayer`].
#[derive(Clone)]
pub struct CookieSessionService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> fmt::Debug for CookieSessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSessionService").finish_non_exhaustive()
    }
}

impl<S, ReqBody> tower::Service<Request<ReqBody>> for CookieSessionService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let session = CookieSession::read(Arc::clone(&self.settings), request.headers(), unix_now());
        request.extensions_mut().insert(session.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if let Err(e) = session.write(response.headers_mut(), unix_now()) {
                tracing::error!(error = %e, "could not write the session cookie");
                let mut failed = Response::new(Body::from("the session could not be saved"));
                *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return Ok(failed);
            }
            Ok(response)
        })
    }
}

/// The session of one request under [`CookieSessionLayer`]: a JSON map.
///
/// Taken from the request extensions (it is an axum extractor); clones share the map.
/// Prefer [`AuthSession`](crate::AuthSession), which works with tower-sessions too.
#[derive(Clone)]
pub struct CookieSession {
    state: Arc<Mutex<State>>,
    settings: Arc<Settings>,
}

impl fmt::Debug for CookieSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        let keys: Vec<&String> = state.data.keys().collect();
        f.debug_struct("CookieSession").field("keys", &keys).field("modified", &state.modified).finish()
    }
}

#[derive(Default)]
struct State {
    data: Map<String, Value>,
    modified: bool,
    /// The request carried a cookie of ours (valid or not), so an emptied session
    /// must delete it.
    had_cookie: bool,
}

#[derive(Serialize)]
struct PayloadOut<'a> {
    t: u64,
    d: &'a Map<String, Value>,
}

#[derive(Deserialize)]
struct PayloadIn {
    t: u64,
    d: Map<String, Value>,
}

impl CookieSession {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the session from the request's `Cookie` headers; anything unusable gives an
    /// empty session.
    fn read(settings: Arc<Settings>, headers: &HeaderMap, now: u64) -> Self {
        let mut state = State::default();
        let candidates = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| Cookie::parse(pair.trim()).ok())
            .filter(|c| c.name() == settings.name);
        for cookie in candidates {
            state.had_cookie = true;
            if let Some((data, rotated)) = open(&settings, cookie.value(), now) {
                state.data = data;
                state.modified = rotated;
                break;
            }
        }
        CookieSession { state: Arc::new(Mutex::new(state)), settings }
    }

    /// Adds the `Set-Cookie` for a modified session.
    fn write(&self, headers: &mut HeaderMap, now: u64) -> Result<(), SessionError> {
        let state = self.lock();
        if !state.modified {
            return Ok(());
        }
        let s = &self.settings;
        let cookie = if state.data.is_empty() {
            if !state.had_cookie {
                return Ok(());
            }
            self.cookie(String::new(), cookie::time::Duration::ZERO)
        } else {
            let value = seal(s, &state.data, now)?;
            let max_age = i64::try_from(s.max_age_secs()).unwrap_or(i64::MAX);
            self.cookie(value, cookie::time::Duration::seconds(max_age))
        };
        let header = HeaderValue::from_str(&cookie.to_string()).map_err(|_| SessionError::InvalidCookieName)?;
        headers.append(SET_COOKIE, header);
        Ok(())
    }

    fn cookie(&self, value: String, max_age: cookie::time::Duration) -> Cookie<'static> {
        let s = &self.settings;
        let mut builder = Cookie::build((s.name.clone(), value))
            .path(s.path.clone())
            .http_only(true)
            .secure(s.secure)
            .same_site(s.same_site)
            .max_age(max_age);
        if let Some(domain) = &s.domain {
            builder = builder.domain(domain.clone());
        }
        builder.build()
    }

    /// The value stored under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.lock().data.get(key).cloned()
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`SessionError::TooLarge`] when the sealed cookie would exceed the limit; the
    /// session is unchanged then.
    pub fn insert_value(&self, key: &str, value: Value) -> Result<(), SessionError> {
        let mut state = self.lock();
        let mut data = state.data.clone();
        data.insert(key.to_owned(), value);
        check_size(&self.settings, &data)?;
        state.data = data;
        state.modified = true;
        Ok(())
    }

    /// Removes and returns the value under `key`.
    pub fn remove_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        let old = state.data.remove(key);
        if old.is_some() {
            state.modified = true;
        }
        old
    }

    /// Empties the session; the response deletes the cookie.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.data.clear();
        state.modified = true;
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CookieSession {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CookieSession>().cloned().ok_or(SessionError::NoSessionLayer)
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The length of unpadded base64 for `n` bytes.
fn b64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

fn sealed_len(name: &str, plaintext_len: usize) -> usize {
    name.len() + 1 + b64_len(1 + NONCE_LEN + plaintext_len + TAG_LEN)
}

fn check_size(s: &Settings, data: &Map<String, Value>) -> Result<(), SessionError> {
    // The issue time is a 10-digit number for the next few centuries; measure with now.
    let plain = serde_json::to_vec(&PayloadOut { t: unix_now(), d: data }).map_err(|_| SessionError::Serialize)?;
    let size = sealed_len(&s.name, plain.len());
    if size > s.max_bytes {
        return Err(SessionError::TooLarge { size, limit: s.max_bytes });
    }
    Ok(())
}

fn aad(name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + name.len());
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Seals `data` with the current key and a fresh nonce.
fn seal(s: &Settings, data: &Map<String, Value>, now: u64) -> Result<String, SessionError> {
    let mut buf = serde_json::to_vec(&PayloadOut { t: now, d: data }).map_err(|_| SessionError::Serialize)?;
    let size = sealed_len(&s.name, buf.len());
    if size > s.max_bytes {
        return Err(SessionError::TooLarge { size, limit: s.max_bytes });
    }
    let mut nonce = [0u8; NONCE_LEN];
    s.rng.fill(&mut nonce).map_err(|_| SessionError::Random)?;
    s.key
        .0
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(&s.name)), &mut buf)
        .map_err(|_| SessionError::Serialize)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(rpkit::jose::b64::encode(&out))
}

/// Opens a cookie value: `Some((data, sealed_with_an_old_key))`, or `None` for anything
/// unusable (bad encoding, unknown version, wrong key, tampering, expiry, bad JSON).
fn open(s: &Settings, value: &str, now: u64) -> Option<(Map<String, Value>, bool)> {
    // Reject absurd sizes before decoding anything.
    if value.is_empty() || value.len() > s.max_bytes.max(DEFAULT_MAX_COOKIE_BYTES) * 2 {
        return None;
    }
    let raw = rpkit::jose::b64::decode(value)?;
    let (&version, rest) = raw.split_first()?;
    if version != FORMAT_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let keys = std::iter::once(&s.key).chain(s.previous_keys.iter());
    for (i, key) in keys.enumerate() {
        let mut buf = sealed.to_vec();
        let opened = key.0.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad(&s.name)), &mut buf);
        if let Ok(plain) = opened {
            let payload: PayloadIn = serde_json::from_slice(plain).ok()?;
            let fresh =
                payload.t <= now.saturating_add(FUTURE_SKEW_SECS) && now.saturating_sub(payload.t) <= s.max_age_secs();
            return fresh.then_some((payload.d, i > 0));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rpkit::rand::SeededRandom;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn key(byte: u8) -> CookieKey {
        CookieKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    fn layer() -> CookieSessionLayer {
        CookieSessionLayer::new(key(7)).rng(SeededRandom::new(1)).secure(false)
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    /// Writes `data` through a session and returns the `Set-Cookie` header.
    fn written(layer: &CookieSessionLayer, data: Value, now: u64) -> String {
        let session = CookieSession::read(Arc::clone(&layer.settings), &HeaderMap::new(), now);
        for (k, v) in map(data) {
            session.insert_value(&k, v).unwrap();
        }
        let mut out = HeaderMap::new();
        session.write(&mut out, now).unwrap();
        out.get(SET_COOKIE).unwrap().to_str().unwrap().to_owned()
    }

    fn cookie_pair(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    fn read_back(layer: &CookieSessionLayer, pair: &str, now: u64) -> CookieSession {
        CookieSession::read(Arc::clone(&layer.settings), &headers_with(pair), now)
    }

    #[test]
    fn sealed_session_round_trips_and_another_instance_with_the_key_reads_it() {
        let a = layer();
        let set = written(&a, json!({"user": {"name": "alice"}, "n": 3}), NOW);
        let b = CookieSessionLayer::new(key(7)).secure(false);
        let s = read_back(&b, &cookie_pair(&set), NOW + 5);
        assert_eq!(s.get_value("n"), Some(json!(3)));
        assert_eq!(s.get_value("user"), Some(json!({"name": "alice"})));
    }

    #[test]
    fn set_cookie_is_http_only_lax_and_not_secure_over_http() {
        let set = written(&layer(), json!({"a": 1}), NOW);
        assert!(set.starts_with("rpkit_session="));
        assert!(set.contains("HttpOnly"));
        assert!(set.contains("SameSite=Lax"));
        assert!(set.contains("Path=/"));
        assert!(set.contains("Max-Age=86400"));
        assert!(!set.contains("Secure"));
        let secure = written(&CookieSessionLayer::new(key(7)), json!({"a": 1}), NOW);
        assert!(secure.contains("Secure"));
    }

    #[test]
    fn every_write_uses_a_fresh_nonce() {
        let l = layer();
        let a = written(&l, json!({"a": 1}), NOW);
        let b = written(&l, json!({"a": 1}), NOW);
        assert_ne!(a, b);
    }

    #[test]
    fn cookie_is_not_readable_in_clear() {
        let set = written(&layer(), json!({"secret": "hunter2-very-visible"}), NOW);
        let raw = rpkit::jose::b64::decode(cookie_pair(&set).trim_start_matches("rpkit_session=")).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("hunter2"));
    }

    #[test]
    fn tampered_cookie_is_an_empty_session() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let value = pair.trim_start_matches("rpkit_session=");
        let mut raw = rpkit::jose::b64::decode(value).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("rpkit_session={}", rpkit::jose::b64::encode(&raw));
        let s = read_back(&l, &tampered, NOW);
        assert!(s.is_empty());
        // every single-byte flip is refused
        for i in 0..raw.len() {
            let mut r = rpkit::jose::b64::decode(value).unwrap();
            r[i] ^= 0x80;
            let c = format!("rpkit_session={}", rpkit::jose::b64::encode(&r));
            assert!(read_back(&l, &c, NOW).is_empty(), "flip at {i} accepted");
        }
    }

    #[test]
    fn cookie_sealed_with_another_key_is_an_empty_session() {
        let pair = cookie_pair(&written(&layer(), json!({"user": "alice"}), NOW));
        let other = CookieSessionLayer::new(key(8));
        assert!(read_back(&other, &pair, NOW).is_empty());
    }

    #[test]
    fn cookie_under_another_name_is_not_accepted() {
        let pair = cookie_pair(&written(&layer(), json!({"user": "alice"}), NOW));
        let renamed = pair.replacen("rpkit_session=", "other=", 1);
        let other = CookieSessionLayer::new(key(7)).name("other");
        assert!(read_back(&other, &renamed, NOW).is_empty());
    }

    #[test]
    fn expired_cookie_is_an_empty_session() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        assert!(!read_back(&l, &pair, NOW + 86_400).is_empty());
        assert!(read_back(&l, &pair, NOW + 86_401).is_empty());
        // issued too far in the future
        assert!(read_back(&l, &pair, NOW - 61).is_empty());
    }

    #[test]
    fn garbage_cookies_are_empty_sessions() {
        let l = layer();
        for v in ["", "x", "%%%", "AAAA", "AQ", &"A".repeat(20_000), "rpkit_session"] {
            assert!(read_back(&l, &format!("rpkit_session={v}"), NOW).is_empty(), "{v}");
        }
    }

    #[test]
    fn rotated_key_still_opens_and_reseals_with_the_new_key() {
        let old = layer();
        let pair = cookie_pair(&written(&old, json!({"user": "alice"}), NOW));
        let rotated = CookieSessionLayer::new(key(9)).previous_key(key(7)).secure(false);
        let s = read_back(&rotated, &pair, NOW);
        assert_eq!(s.get_value("user"), Some(json!("alice")));
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW).unwrap();
        let resealed = cookie_pair(out.get(SET_COOKIE).unwrap().to_str().unwrap());
        let only_new = CookieSessionLayer::new(key(9));
        assert_eq!(read_back(&only_new, &resealed, NOW).get_value("user"), Some(json!("alice")));
    }

    #[test]
    fn oversized_insert_is_refused_and_changes_nothing() {
        let l = layer().max_cookie_bytes(200);
        let s = CookieSession::read(Arc::clone(&l.settings), &HeaderMap::new(), NOW);
        s.insert_value("a", json!("small")).unwrap();
        let err = s.insert_value("b", json!("x".repeat(300))).unwrap_err();
        assert!(matches!(err, SessionError::TooLarge { limit: 200, .. }));
        assert_eq!(s.get_value("b"), None);
        assert_eq!(s.get_value("a"), Some(json!("small")));
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW).unwrap();
        assert!(out.get(SET_COOKIE).unwrap().len() <= 200 + 100);
    }

    #[test]
    fn written_cookie_respects_the_size_estimate() {
        let l = layer();
        let data = json!({"k": "v".repeat(1000)});
        let pair = cookie_pair(&written(&l, data.clone(), NOW));
        let plain = serde_json::to_vec(&PayloadOut { t: NOW, d: &map(data) }).unwrap();
        assert_eq!(pair.len(), sealed_len("rpkit_session", plain.len()));
    }

    #[test]
    fn cleared_session_deletes_the_cookie() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let s = read_back(&l, &pair, NOW);
        s.clear();
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW).unwrap();
        let set = out.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(set.starts_with("rpkit_session=;"));
        assert!(set.contains("Max-Age=0"));
    }

    #[test]
    fn unmodified_session_sets_no_cookie() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let s = read_back(&l, &pair, NOW);
        let _ = s.get_value("user");
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW).unwrap();
        assert!(out.get(SET_COOKIE).is_none());
        // nor does an untouched empty session
        let empty = CookieSession::read(Arc::clone(&l.settings), &HeaderMap::new(), NOW);
        empty.write(&mut out, NOW).unwrap();
        assert!(out.get(SET_COOKIE).is_none());
    }

    #[test]
    fn the_first_valid_cookie_of_several_wins() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let header = format!("rpkit_session=garbage; theme=dark; {pair}");
        assert_eq!(read_back(&l, &header, NOW).get_value("user"), Some(json!("alice")));
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes_only() {
        assert!(CookieKey::from_base64(&rpkit::jose::b64::encode(&[1u8; 32])).is_ok());
        assert!(CookieKey::from_base64("q2mN3X7pW0m8h9gE1c5vR4tYb6uJ2kL0o3iA8sD7fQw=").is_ok());
        assert!(matches!(CookieKey::from_base64("short"), Err(SessionError::InvalidKey)));
        assert!(matches!(CookieKey::from_base64("not base64 !!"), Err(SessionError::InvalidKey)));
        assert!(matches!(CookieKey::from_bytes(&[0u8; 33]), Err(SessionError::InvalidKey)));
    }

    proptest! {
        #[test]
        fn opening_arbitrary_cookie_values_never_panics(value in ".{0,600}") {
            let l = layer();
            if let Ok(h) = HeaderValue::from_str(&format!("rpkit_session={value}")) {
                let mut headers = HeaderMap::new();
                headers.insert(COOKIE, h);
                prop_assert!(CookieSession::read(Arc::clone(&l.settings), &headers, NOW).is_empty());
            }
            prop_assert!(open(&l.settings, &value, NOW).is_none());
        }

        #[test]
        fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let l = layer();
            prop_assert!(open(&l.settings, &rpkit::jose::b64::encode(&bytes), NOW).is_none());
        }
    }
}
