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
//! time and the session's **creation time**. A cookie last written longer ago than
//! [`max_age`](CookieSessionLayer::max_age), or whose session was created longer ago
//! than [`absolute_lifetime`](CookieSessionLayer::absolute_lifetime) (writes do not
//! extend it), is ignored even when the browser still sends it.
//!
//! A cookie that is tampered with, truncated, sealed under an unknown key, expired or
//! garbled is treated as an **empty session** — never an error, never a panic.

use crate::session::SessionError;
use axum::body::Body;
use cookie::{Cookie, SameSite};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use rpkit::client::{Clock, SystemClock};
use rpkit::rand::{CryptoRandom, SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

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

/// The longest a cookie session lives from its creation, however often it is written
/// (one day).
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The prefix that makes browsers insist on `Secure`, `Path=/` and no `Domain`
/// ([RFC 6265bis §4.1.3.2](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2)).
pub const HOST_PREFIX: &str = "__Host-";

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
    absolute_lifetime: Duration,
    max_bytes: usize,
    rng: Arc<dyn SecureRandom>,
    clock: Arc<dyn Clock>,
}

impl Settings {
    fn max_age_secs(&self) -> u64 {
        self.max_age.as_secs()
    }

    fn absolute_secs(&self) -> u64 {
        self.absolute_lifetime.as_secs()
    }

    fn now(&self) -> u64 {
        self.clock.now().as_secs()
    }

    /// A `__Host-` cookie is only kept by browsers when it is `Secure`, has `Path=/` and
    /// no `Domain`: enforce that rather than emit a cookie that silently disappears.
    fn enforce_prefixes(&mut self) {
        if self.name.starts_with(HOST_PREFIX) {
            self.secure = true;
            self.path = "/".to_owned();
            self.domain = None;
        } else if self.name.starts_with("__Secure-") {
            self.secure = true;
        }
    }
}

/// A tower layer keeping the session in an encrypted cookie ([module docs](self)).
///
/// Handlers reach the session through [`AuthSession`](crate::AuthSession) (or
/// [`CookieSession`] directly). Defaults: cookie `rpkit_session`, `Path=/`, `HttpOnly`,
/// `SameSite=Lax`, `Secure`, one day since the last write and at most one day since the
/// session was created, 4096-byte limit. Behind `https`, use
/// [`host_prefix`](Self::host_prefix) for a `__Host-` cookie.
///
/// # Security
/// - The key must be secret and shared only by the instances of the application; rotate
///   it with [`previous_key`](Self::previous_key) so that live sessions survive.
/// - Random 96-bit nonces are safe for about 2³² writes per key (NIST SP 800-38D §8.3);
///   rotate the key well before that.
/// - A cookie session cannot be revoked server-side by deleting it: an old copy stays
///   valid until it expires, and logging out only drops the browser's copy. The
///   [`absolute_lifetime`](Self::absolute_lifetime) bounds how long a copied cookie
///   works however often it is refreshed; [`Revocations`](crate::Revocations)
///   (back-channel logout, checked by [`CurrentUser`](crate::CurrentUser) on every
///   request) ends logins early. Where a logout must end every copy at once, use a
///   server-side tower-sessions store instead.
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
            .field("absolute_lifetime", &s.absolute_lifetime)
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
                absolute_lifetime: DEFAULT_ABSOLUTE_LIFETIME,
                max_bytes: DEFAULT_MAX_COOKIE_BYTES,
                rng: Arc::new(SystemRandom::new()),
                clock: Arc::new(SystemClock),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        let f = |s: &mut Settings| {
            f(s);
            s.enforce_prefixes();
        };
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
                    absolute_lifetime: old.absolute_lifetime,
                    max_bytes: old.max_bytes,
                    rng: Arc::clone(&old.rng),
                    clock: Arc::clone(&old.clock),
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

    /// The cookie name (default `rpkit_session`). A name starting with `__Host-` makes
    /// the cookie `Secure`, `Path=/` and host-only whatever else is set.
    #[must_use]
    pub fn name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|s| s.name = name)
    }

    /// Whether the cookie name carries the `__Host-` prefix (default off). On, the name
    /// becomes `__Host-<name>` and the cookie is forced `Secure`, `Path=/`, without
    /// `Domain` — later [`secure`](Self::secure), [`path`](Self::path) and
    /// [`domain`](Self::domain) calls cannot weaken that. Turn it on whenever the app is
    /// served over `https`.
    ///
    /// # Security
    /// A `__Host-` cookie cannot be set or overwritten by a sibling subdomain or over
    /// plain `http` (cookie tossing, session fixation through a related domain).
    ///
    /// ```
    /// use rpkit_axum::{CookieKey, CookieSessionLayer};
    /// let layer = CookieSessionLayer::new(CookieKey::generate()?).host_prefix(true).secure(false);
    /// assert_eq!(layer.cookie_name(), "__Host-rpkit_session");
    /// assert!(layer.is_secure()); // enforced
    /// # Ok::<(), rpkit_axum::SessionError>(())
    /// ```
    #[must_use]
    pub fn host_prefix(self, on: bool) -> Self {
        self.edit(|s| {
            let base = s.name.strip_prefix(HOST_PREFIX).unwrap_or(&s.name).to_owned();
            s.name = if on { format!("{HOST_PREFIX}{base}") } else { base };
        })
    }

    /// The cookie name as sent (with its prefix, if any).
    pub fn cookie_name(&self) -> &str {
        &self.settings.name
    }

    /// Whether the cookie is `Secure`.
    pub fn is_secure(&self) -> bool {
        self.settings.secure
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

    /// The longest a session lives from its creation, however often it is written
    /// (default one day). The creation time is sealed in the cookie and kept by every
    /// write; an older cookie is no session, and the cookie's `Max-Age` never reaches
    /// past this deadline.
    ///
    /// # Security
    /// A copied cookie keeps the login only until this deadline, even if whoever holds
    /// it keeps the session busy.
    #[must_use]
    pub fn absolute_lifetime(self, lifetime: Duration) -> Self {
        self.edit(|s| s.absolute_lifetime = lifetime)
    }

    /// Takes the time from `clock` instead of the system clock: pass the registry's
    /// ([`shared_clock`](Self::shared_clock) with `OAuth::clock`) so that one clock governs
    /// logins and session lifetimes, or a `ManualClock` in tests.
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        self.shared_clock(Arc::new(clock))
    }

    /// Takes the time from a shared `clock` (e.g. [`OAuth::clock`](rpkit::client::OAuth::clock)).
    #[must_use]
    pub fn shared_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.edit(|s| s.clock = clock)
    }

    /// The largest `name=value` the layer writes (default 4096 bytes). A write that would
    /// exceed it fails with [`SessionError::TooLarge`] and changes nothing.
    #[must_use]
    pub fn max_cookie_bytes(self, max: usize) -> Self {
        self.edit(|s| s.max_bytes = max)
    }

    /// Draws the AES-GCM nonces from `rng` instead of [`SystemRandom`].
    ///
    /// # Security
    /// Only a [`CryptoRandom`] — a source the operating system seeds — is accepted: a
    /// nonce repeated under the key (as a seeded, deterministic source repeats them
    /// from one process to the next) gives away the key stream and lets anyone forge
    /// cookies. So a test's `SeededRandom` does not compile here:
    ///
    /// ```compile_fail
    /// use rpkit_axum::{CookieKey, CookieSessionLayer};
    /// let layer = CookieSessionLayer::new(CookieKey::generate().unwrap()).rng(rpkit::rand::SeededRandom::new(1));
    /// ```
    ///
    /// ```
    /// use rpkit_axum::{CookieKey, CookieSessionLayer};
    /// let layer = CookieSessionLayer::new(CookieKey::generate()?).rng(rpkit::rand::ThreadRandom::new());
    /// # let _ = rpkit::rand::SeededRandom::new(1); // exists here: the failure above is the bound's
    /// # Ok::<(), rpkit_axum::SessionError>(())
    /// ```
    #[must_use]
    pub fn rng(self, rng: impl CryptoRandom + 'static) -> Self {
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
        let now = self.settings.now();
        let session = CookieSession::read(Arc::clone(&self.settings), request.headers(), now);
        request.extensions_mut().insert(session.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let now = session.settings.now();
            if let Err(e) = session.write(response.headers_mut(), now) {
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
    /// When the session was created (sealed in the cookie, never refreshed); `None`
    /// until the first write of a new session.
    created: Option<u64>,
}

#[derive(Serialize)]
struct PayloadOut<'a> {
    /// Issued at (the last write).
    t: u64,
    /// Created at (the session's first write).
    c: u64,
    d: &'a Map<String, Value>,
}

#[derive(Deserialize)]
struct PayloadIn {
    t: u64,
    /// Absent in cookies of earlier releases: the issue time stands in.
    #[serde(default)]
    c: Option<u64>,
    d: Map<String, Value>,
}

/// What a valid cookie holds.
struct Opened {
    data: Map<String, Value>,
    created: u64,
    /// Sealed with a previous key: re-seal it.
    rotated: bool,
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
            if let Some(opened) = open(&settings, cookie.value(), now) {
                state.data = opened.data;
                state.modified = opened.rotated;
                state.created = Some(opened.created);
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
            let created = state.created.unwrap_or(now);
            let value = seal(s, &state.data, created, now)?;
            // The browser drops it no later than the absolute deadline.
            let left = s.absolute_secs().saturating_sub(now.saturating_sub(created));
            let max_age = i64::try_from(s.max_age_secs().min(left)).unwrap_or(i64::MAX);
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

    /// Empties the session; the response deletes the cookie. What is stored afterwards
    /// is a new session, with a new creation time.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.data.clear();
        state.created = None;
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

/// The length of unpadded base64 for `n` bytes.
fn b64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

fn sealed_len(name: &str, plaintext_len: usize) -> usize {
    name.len() + 1 + b64_len(1 + NONCE_LEN + plaintext_len + TAG_LEN)
}

fn check_size(s: &Settings, data: &Map<String, Value>) -> Result<(), SessionError> {
    // The issue time is a 10-digit number for the next few centuries; measure with now.
    let now = s.now();
    let plain = serde_json::to_vec(&PayloadOut { t: now, c: now, d: data }).map_err(|_| SessionError::Serialize)?;
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
fn seal(s: &Settings, data: &Map<String, Value>, created: u64, now: u64) -> Result<String, SessionError> {
    let mut buf =
        serde_json::to_vec(&PayloadOut { t: now, c: created, d: data }).map_err(|_| SessionError::Serialize)?;
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

/// Opens a cookie value, or `None` for anything unusable (bad encoding, unknown version,
/// wrong key, tampering, idle or absolute expiry, bad JSON).
fn open(s: &Settings, value: &str, now: u64) -> Option<Opened> {
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
            let created = payload.c.unwrap_or(payload.t);
            let skew_ok = payload.t <= now.saturating_add(FUTURE_SKEW_SECS) && created <= payload.t;
            let idle_ok = now.saturating_sub(payload.t) <= s.max_age_secs();
            let absolute_ok = now.saturating_sub(created) <= s.absolute_secs();
            return (skew_ok && idle_ok && absolute_ok).then_some(Opened { data: payload.d, created, rotated: i > 0 });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rpkit::rand::{SeededRandom, ThreadRandom};
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn key(byte: u8) -> CookieKey {
        CookieKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    fn layer() -> CookieSessionLayer {
        CookieSessionLayer::new(key(7)).rng(ThreadRandom::new()).secure(false)
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

    /// `<Probe<R>>::ACCEPTED` is true exactly when [`CookieSessionLayer::rng`] takes an
    /// `R` (an inherent constant wins over the trait's default when its bound holds).
    struct Probe<R>(std::marker::PhantomData<R>);
    trait Refused {
        const ACCEPTED: bool = false;
    }
    impl<R> Refused for Probe<R> {}
    #[allow(dead_code)]
    impl<R: CryptoRandom + 'static> Probe<R> {
        const ACCEPTED: bool = true;
    }

    #[test]
    fn the_layer_refuses_a_deterministic_random_source() {
        const { assert!(!<Probe<SeededRandom>>::ACCEPTED, "a seeded source would repeat AES-GCM nonces") };
        const { assert!(!<Probe<Arc<SeededRandom>>>::ACCEPTED) };
        const { assert!(<Probe<SystemRandom>>::ACCEPTED && <Probe<ThreadRandom>>::ACCEPTED) };
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
        let plain = serde_json::to_vec(&PayloadOut { t: NOW, c: NOW, d: &map(data) }).unwrap();
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

    #[test]
    fn cookie_past_its_absolute_lifetime_is_no_session_even_when_rewritten() {
        let l = layer().max_age(Duration::from_secs(10 * 3600)).absolute_lifetime(Duration::from_secs(24 * 3600));
        let first = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        // Busy all day: every write seals a new cookie, but the creation time stays.
        let mut pair = first;
        for hours in [8, 16, 23] {
            let s = read_back(&l, &pair, NOW + hours * 3600);
            assert_eq!(s.get_value("user"), Some(json!("alice")), "after {hours} h");
            s.insert_value("seen", json!(hours)).unwrap();
            let mut out = HeaderMap::new();
            s.write(&mut out, NOW + hours * 3600).unwrap();
            pair = cookie_pair(out.get(SET_COOKIE).unwrap().to_str().unwrap());
        }
        // Written an hour ago (well inside max_age), created 24 h + 1 s ago: no session.
        assert!(!read_back(&l, &pair, NOW + 24 * 3600).is_empty());
        assert!(read_back(&l, &pair, NOW + 24 * 3600 + 1).is_empty());
    }

    #[test]
    fn cookie_max_age_never_reaches_past_the_absolute_deadline() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let s = read_back(&l, &pair, NOW + 23 * 3600);
        s.insert_value("n", json!(1)).unwrap();
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW + 23 * 3600).unwrap();
        assert!(out.get(SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=3600"));
    }

    #[test]
    fn cleared_session_starts_a_new_absolute_lifetime() {
        let l = layer();
        let pair = cookie_pair(&written(&l, json!({"user": "alice"}), NOW));
        let s = read_back(&l, &pair, NOW + 20 * 3600);
        s.clear();
        s.insert_value("rpkit.logout", json!([])).unwrap();
        let mut out = HeaderMap::new();
        s.write(&mut out, NOW + 20 * 3600).unwrap();
        let fresh = cookie_pair(out.get(SET_COOKIE).unwrap().to_str().unwrap());
        assert!(!read_back(&l, &fresh, NOW + 30 * 3600).is_empty());
    }

    #[tokio::test]
    async fn layer_takes_time_from_the_injected_clock_and_expires_old_sessions() {
        use axum::routing::get;
        use tower::Service as _;
        let clock = Arc::new(rpkit::client::ManualClock::new(NOW));
        let l = layer().max_age(Duration::from_secs(3 * 3600)).absolute_lifetime(Duration::from_secs(4 * 3600));
        let l = l.clock(Arc::clone(&clock));
        async fn touch(session: crate::AuthSession) -> String {
            let n: u64 = session.get("n").await.ok().flatten().unwrap_or(0);
            session.insert("n", &(n + 1)).await.unwrap();
            n.to_string()
        }
        let mut app: axum::Router = axum::Router::new().route("/", get(touch)).layer(l);
        let mut cookie = String::new();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let mut req = Request::get("/").body(Body::empty()).unwrap();
            if !cookie.is_empty() {
                req.headers_mut().insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
            }
            let res = app.call(req).await.unwrap();
            cookie = cookie_pair(res.headers().get(SET_COOKIE).unwrap().to_str().unwrap());
            let body = axum::body::to_bytes(res.into_body(), 100).await.unwrap();
            seen.push(String::from_utf8(body.to_vec()).unwrap());
            clock.advance(3600 + 1);
        }
        // Each request came within max_age of the last, but the fifth is past the absolute
        // lifetime of 4 h: a new session.
        assert_eq!(seen, ["0", "1", "2", "3", "0"]);
    }

    #[test]
    fn host_prefix_forces_secure_root_path_and_no_domain() {
        let l = layer().host_prefix(true).secure(false).path("/app").domain("example.com");
        assert_eq!(l.cookie_name(), "__Host-rpkit_session");
        let set = written(&l, json!({"a": 1}), NOW);
        assert!(set.starts_with("__Host-rpkit_session="), "{set}");
        assert!(set.contains("Secure"), "{set}");
        assert!(set.contains("Path=/;") || set.ends_with("Path=/"), "{set}");
        assert!(!set.contains("Domain"), "{set}");
        // A cookie of that name is read back.
        assert_eq!(read_back(&l, &cookie_pair(&set), NOW).get_value("a"), Some(json!(1)));
    }

    #[test]
    fn explicit_host_prefixed_name_is_enforced_too_and_can_be_turned_off() {
        let l = CookieSessionLayer::new(key(7)).name("__Host-app").secure(false).domain("example.com");
        assert!(l.is_secure());
        let set = written(&l, json!({"a": 1}), NOW);
        assert!(set.contains("Secure") && !set.contains("Domain"), "{set}");
        let plain = CookieSessionLayer::new(key(7)).host_prefix(true).host_prefix(false).secure(false);
        assert_eq!(plain.cookie_name(), "rpkit_session");
        assert!(!plain.is_secure());
    }

    #[test]
    fn cookie_of_an_earlier_release_without_a_creation_time_is_read() {
        let l = layer();
        // `t` only: the issue time stands in for the creation time.
        let old = serde_json::to_vec(&json!({"t": NOW, "d": {"user": "alice"}})).unwrap();
        let mut buf = old;
        let nonce = [3u8; NONCE_LEN];
        l.settings
            .key
            .0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad("rpkit_session")), &mut buf)
            .unwrap();
        let mut raw = vec![FORMAT_VERSION];
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&buf);
        let pair = format!("rpkit_session={}", rpkit::jose::b64::encode(&raw));
        assert_eq!(read_back(&l, &pair, NOW + 60).get_value("user"), Some(json!("alice")));
        assert!(read_back(&l, &pair, NOW + 24 * 3600 + 1).is_empty());
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
