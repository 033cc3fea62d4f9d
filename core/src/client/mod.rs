//! The async client: drives the sans-IO core over an [`HttpClient`] and a [`Clock`].
//!
//! Enabled by the default `client` feature; `--no-default-features` leaves only the
//! sans-IO layer (no async-trait, no async code at all).
//!
//! [`OAuth`] is the registry users hold (Authlib's `OAuth()`): plain data, `Clone`, no type
//! parameters. Each registered provider is an [`OAuthClient`] that owns its metadata and
//! JWKS caches (single-flight: N concurrent callers cause one fetch, even when it fails)
//! and its refresh slots (single-flight per token: N concurrent API calls with the same
//! expired token cause one refresh, and all N get the new token; a failed refresh is
//! shared by those waiting for it and retried by later calls). It depends on no async
//! runtime.
//!
//! ```no_run
//! # async fn demo(http: impl rpkit::client::HttpClient) -> Result<(), rpkit::client::ClientError> {
//! use rpkit::client::OAuth;
//! use rpkit::ClientConfig;
//!
//! let oauth = OAuth::new(http);
//! oauth.register(
//!     ClientConfig::new("github")
//!         .client_id("id")
//!         .client_secret("secret")
//!         .authorize_url("https://github.com/login/oauth/authorize")
//!         .access_token_url("https://github.com/login/oauth/access_token")
//!         .api_base_url("https://api.github.com/")
//!         .scope("user:email"),
//! );
//! oauth.on_token_update(|update| println!("store the new token for {}", update.name));
//! let github = oauth.create_client("github")?;
//! let (url, pending) = github.create_authorization_url(&Default::default()).await?;
//! # let _ = (url, pending);
//! # Ok(()) }
//! ```

// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
mod device;
mod dpop;
mod dynamic;
mod error;
mod events;
pub mod store;
mod transport;
pub mod web;

pub use self::dpop::TokenResponse;
pub use self::error::ClientError;
pub use self::store::{MemoryStore, SharedStore, StoreError};
pub use self::transport::{adapter, timer_sleep, Clock, HttpClient, ManualClock, SystemClock, TransportError};

use self::events::EventBus;
use crate::authorize::{AuthorizationUrl, PendingAuthorization, PendingSet};
use crate::callback::CallbackParams;
use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{MetadataCache, ProviderMetadata};
use crate::error::{Endpoint, Error};
use crate::id_token::should_refetch_jwks;
use crate::jwks::{JwkSet, JwksCache, KeyCheck, KeySource, KeyStep};
use crate::login::{LoginStep, Provider, Verify};
use crate::logout::{
    BackchannelLogoutValidator, LogoutError, LogoutRequest, LogoutTarget, PendingLogout, PendingLogouts,
};
use crate::rand::{SecureRandom, ThreadRandom};
use crate::resource::{needs_refresh, ResourceRequest, TokenUpdate};
use crate::time::UnixTime;
use crate::token::{self, Grant, Token};
use crate::userinfo::{userinfo_request_for, UserInfoCheck};
use async_trait::async_trait;
use futures_util::future::{self as fut, BoxFuture, FutureExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// How long a finished refresh is remembered, so that callers still holding the old
/// token get the new one instead of spending a rotated refresh token twice.
const REFRESH_MEMORY_SECS: u64 = 300;

/// Persists a refreshed token: Authlib's `update_token` hook. Called once per refresh,
/// after the token-update event, and awaited before the caller gets the new token — so
/// when it returns, the database holds what every later request will load.
///
/// Keep tokens in a database instead of the session: implement [`FetchToken`] (load the
/// user's token) and `UpdateToken` (find the stored row by `update.refresh_token`, or by
/// `update.access_token` when the old token had none, and replace it by `update.token`),
/// then call the API with [`OAuthClient::get_for_user`] and friends.
///
/// ```
/// use rpkit::client::UpdateToken;
/// use rpkit::resource::TokenUpdate;
/// struct Db;
/// #[async_trait::async_trait]
/// impl UpdateToken for Db {
///     async fn update_token(&self, update: &TokenUpdate) {
///         // UPDATE oauth_tokens SET token = $1 WHERE name = $2 AND refresh_token = $3
///         let _ = (&update.name, &update.token, &update.refresh_token);
///     }
/// }
/// ```
#[async_trait]
pub trait UpdateToken: Send + Sync + 'static {
    /// Stores `update.token` in place of the token `update` names.
    async fn update_token(&self, update: &TokenUpdate);
}

/// Rewrites what a provider that bends the protocol sends or expects, before the core
/// builds on it: Authlib's `compliance_fix`. Both methods default to doing nothing.
///
/// ```
/// use rpkit::client::ComplianceFix;
/// use rpkit::error::Endpoint;
/// /// A provider that sends `expires_in` as a string with a unit: "3600s".
/// struct StripSeconds;
/// impl ComplianceFix for StripSeconds {
///     fn response(&self, endpoint: Endpoint, response: &mut http::Response<Vec<u8>>) {
///         if endpoint == Endpoint::Token {
///             let body = String::from_utf8_lossy(response.body()).replace("s\"", "\"");
///             *response.body_mut() = body.into_bytes();
///         }
///     }
/// }
/// ```
pub trait ComplianceFix: Send + Sync + 'static {
    /// Called on every request the client sends to `endpoint`, after the core built it.
    fn request(&self, endpoint: Endpoint, request: &mut http::Request<Vec<u8>>) {
        let _ = (endpoint, request);
    }
    /// Called on every response from `endpoint`, before the core reads it.
    fn response(&self, endpoint: Endpoint, response: &mut http::Response<Vec<u8>>) {
        let _ = (endpoint, response);
    }
}

/// Loads a user's stored token for a client: Authlib's `fetch_token` hook.
#[async_trait]
pub trait FetchToken: Send + Sync + 'static {
    /// The token stored for `user` with the client `name`, if any.
    async fn fetch_token(&self, name: &str, user: &str) -> Option<Token>;
}

struct Shared {
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn SecureRandom>,
    events: EventBus,
    fetch_token: RwLock<Option<Arc<dyn FetchToken>>>,
    update_token: RwLock<Option<Arc<dyn UpdateToken>>>,
    store: Arc<dyn SharedStore>,
}

/// The registry of named OAuth clients (Authlib's `OAuth()`).
///
/// Cheap to clone: clones share the registry, caches and subscribers.
#[derive(Clone)]
pub struct OAuth {
    shared: Arc<Shared>,
    clients: Arc<RwLock<HashMap<String, OAuthClient>>>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").field("clients", &self.names()).finish_non_exhaustive()
    }
}

/// Builds an [`OAuth`] registry with a custom clock or random source.
pub struct OAuthBuilder {
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn SecureRandom>,
    store: Arc<dyn SharedStore>,
}

impl OAuthBuilder {
    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Uses `clock` (shared) instead of the system clock.
    #[must_use]
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `rng` instead of [`ThreadRandom`] (e.g. `SystemRandom` for one system call per
    /// draw, or `SeededRandom` in tests).
    #[must_use]
    pub fn rng(mut self, rng: impl SecureRandom + 'static) -> Self {
        self.rng = Arc::new(rng);
        self
    }

    /// Shares revocations, logout-token `jti`s and refresh leases with the other
    /// instances of the app through `store` (e.g. `rpkit_redis::RedisStore`) instead of a
    /// [`MemoryStore`] of this registry's own. See [`store`].
    #[must_use]
    pub fn shared_store(mut self, store: impl SharedStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// As [`OAuthBuilder::shared_store`], with a store already behind an `Arc`.
    #[must_use]
    pub fn shared_store_arc(mut self, store: Arc<dyn SharedStore>) -> Self {
        self.store = store;
        self
    }

    /// The registry.
    pub fn build(self) -> OAuth {
        OAuth {
            shared: Arc::new(Shared {
                http: self.http,
                clock: self.clock,
                rng: self.rng,
                events: EventBus::default(),
                fetch_token: RwLock::new(None),
                update_token: RwLock::new(None),
                store: self.store,
            }),
            clients: Arc::new(RwLock::new(HashMap::new())),
        }
    }
}

impl OAuth {
    /// A registry over `http`, with the system clock and [`ThreadRandom`] (a per-thread
    /// ChaCha20 generator keyed from the operating system's CSPRNG, re-keyed after a fork).
    pub fn new(http: impl HttpClient) -> Self {
        Self::builder(http).build()
    }

    /// A builder over `http`.
    pub fn builder(http: impl HttpClient) -> OAuthBuilder {
        Self::builder_shared(Arc::new(http))
    }

    /// A builder over a shared `http` client.
    pub fn builder_shared(http: Arc<dyn HttpClient>) -> OAuthBuilder {
        OAuthBuilder {
            http,
            clock: Arc::new(SystemClock),
            rng: Arc::new(ThreadRandom::new()),
            store: Arc::new(MemoryStore::new()),
        }
    }

    /// Registers (or replaces) the client named `config.name` and returns it.
    pub fn register(&self, config: ClientConfig) -> OAuthClient {
        let client = OAuthClient {
            inner: Arc::new(ClientInner {
                config: Arc::new(config),
                shared: Arc::clone(&self.shared),
                fix: RwLock::new(None),
                metadata: async_lock::Mutex::new(Fetched::default()),
                metadata_attempts: AtomicU64::new(0),
                jwks: Mutex::new(JwksSlot::default()),
                refreshes: Mutex::new(HashMap::new()),
                dpop: dpop::DpopSlot::default(),
            }),
        };
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client.inner.config.name.clone(), client.clone());
        client
    }

    /// The client registered as `name` (Authlib's `oauth.create_client(name)`).
    ///
    /// # Errors
    /// [`ClientError::UnknownClient`] when no client has that name.
    pub fn create_client(&self, name: &str) -> Result<OAuthClient, ClientError> {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| ClientError::UnknownClient { name: name.to_owned() })
    }

    /// The registry's [`Clock`]: give it to whatever else needs the time of this
    /// registry (a session layer, a test's [`ManualClock`]), so that one clock governs
    /// logins, expiries and revocations.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.clients.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        names.sort();
        names
    }

    /// Calls `callback` for every refresh of any client's token (the seed's
    /// `token_update` signal): `(name, new token, old refresh_token | old access_token)`.
    pub fn on_token_update(&self, callback: impl Fn(&TokenUpdate) + Send + Sync + 'static) {
        self.shared.events.subscribe(Arc::new(callback));
    }

    /// A stream of token-update events (dropping it unsubscribes).
    pub fn token_updates(&self) -> futures_channel::mpsc::UnboundedReceiver<TokenUpdate> {
        self.shared.events.stream()
    }

    /// The store shared with the other instances (a [`MemoryStore`] of its own unless
    /// [`OAuthBuilder::shared_store`] gave one): web adapters check revocations in it.
    pub fn shared_store(&self) -> &Arc<dyn SharedStore> {
        &self.shared.store
    }

    /// Sets the `update_token` hook: called (and awaited) once per refresh with the new
    /// token, to persist it ([`UpdateToken`]).
    pub fn set_update_token(&self, hook: impl UpdateToken) {
        *self.shared.update_token.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
    }

    /// Registers (or replaces) the client named `config.name` with a compliance fix
    /// ([`ComplianceFix`]) applied to every request it sends and response it reads.
    pub fn register_with_fix(&self, config: ClientConfig, fix: impl ComplianceFix) -> OAuthClient {
        let client = self.register(config);
        *client.inner.fix.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(fix));
        client
    }

    /// Sets the `fetch_token` hook used by [`OAuthClient::get_for_user`] and friends.
    pub fn set_fetch_token(&self, hook: impl FetchToken) {
        *self.shared.fetch_token.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
    }
}

type RefreshOutcome = Result<Token, ClientError>;

struct RefreshSlot {
    started: UnixTime,
    outcome: Arc<async_lock::Mutex<Option<RefreshOutcome>>>,
}

/// The metadata cache and a shared copy handed to callers without cloning the document.
struct MetadataSlot {
    cache: MetadataCache,
    shared: Arc<ProviderMetadata>,
}

/// A cached document and the failure of the last attempt to fetch it.
///
/// Callers that waited for the lock while an attempt was made share its outcome — the
/// document, or the error when there is none to serve — instead of each fetching again
/// one after the other: N concurrent callers cause one fetch even when it fails. The
/// attempt counter beside it (read before locking) tells whether an attempt completed
/// while a caller waited.
struct Fetched<T> {
    value: Option<T>,
    last_error: Option<ClientError>,
}

impl<T> Default for Fetched<T> {
    fn default() -> Self {
        Fetched { value: None, last_error: None }
    }
}

/// One JWK Set fetch, shared by every caller that needs it (single-flight). It runs as long
/// as one of them polls it, so a caller that gives up does not strand the others.
type JwksFlight = fut::Shared<BoxFuture<'static, Result<JwksCache, ClientError>>>;

#[derive(Default)]
struct JwksSlot {
    cache: Option<JwksCache>,
    /// The fetch in flight and its number (so that only its own result is installed).
    flight: Option<(u64, JwksFlight)>,
    flights: u64,
}

struct ClientInner {
    config: Arc<ClientConfig>,
    shared: Arc<Shared>,
    fix: RwLock<Option<Arc<dyn ComplianceFix>>>,
    metadata: async_lock::Mutex<Fetched<MetadataSlot>>,
    /// Completed metadata fetch attempts (changed only under the `metadata` lock).
    metadata_attempts: AtomicU64,
    /// The JWK Set and the fetch in flight. A plain mutex, held for a few instructions and
    /// never across a request: a slow JWKS endpoint delays only the callers that need the
    /// fetch (they share one), never the validations the cached keys can answer.
    jwks: Mutex<JwksSlot>,
    refreshes: Mutex<HashMap<[u8; 32], RefreshSlot>>,
    /// The DPoP key once loaded and the latest server nonces (RFC 9449).
    dpop: dpop::DpopSlot,
}

/// One registered provider (Authlib's `oauth.github`). Cheap to clone.
#[derive(Clone)]
pub struct OAuthClient {
    inner: Arc<ClientInner>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("name", &self.inner.config.name).finish_non_exhaustive()
    }
}

/// Per-call options of [`OAuthClient::create_authorization_url`].
#[derive(Debug, Clone, Default)]
pub struct AuthorizeOptions {
    /// The redirect URI for this request (else the configured one).
    pub redirect_uri: Option<String>,
    /// Extra parameters: `prompt`, `login_hint`, `max_age`, `acr_values`,
    /// `response_mode`, `scope`, …
    pub params: Vec<(String, String)>,
}

impl AuthorizeOptions {
    /// Options with a redirect URI.
    pub fn redirect_uri(uri: impl Into<String>) -> Self {
        AuthorizeOptions { redirect_uri: Some(uri.into()), params: Vec::new() }
    }

    /// Adds a parameter.
    #[must_use]
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }
}

/// A resource response, with the refreshed token when a refresh happened first.
#[derive(Debug)]
pub struct ApiResponse {
    /// The provider's response, whatever its status.
    pub response: http::Response<Vec<u8>>,
    /// The new token when the old one had to be refreshed; store it.
    pub refreshed: Option<Token>,
}

impl ApiResponse {
    /// The body as JSON.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is not JSON of that shape.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(self.response.body())
            .map_err(|_| ClientError::Core(Error::malformed("resource response: not the expected JSON")))
    }

    /// The HTTP status.
    pub fn status(&self) -> http::StatusCode {
        self.response.status()
    }
}

impl OAuthClient {
    /// The registered name.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The OAuth 2 flows refuse an OAuth 1.0a client rather than run against its provider.
    fn refuse_oauth1(&self) -> Result<(), ClientError> {
        match self.inner.config.request_token_url {
            Some(_) => Err(ClientError::OAuth1Client { name: self.name().to_owned() }),
            None => Ok(()),
        }
    }

    /// Now, by the registry's [`Clock`] (what every step of this client takes as `now`).
    pub fn now(&self) -> UnixTime {
        self.inner.shared.clock.now()
    }

    fn rng(&self) -> &dyn SecureRandom {
        &*self.inner.shared.rng
    }

    /// Sends a request built by the core, capping the body at the core's limit.
    async fn send(
        &self,
        mut request: http::Request<Vec<u8>>,
        endpoint: Endpoint,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        let fix = self.inner.fix.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(fix) = &fix {
            fix.request(endpoint, &mut request);
        }
        let mut response = send_capped(&*self.inner.shared.http, request, endpoint).await?;
        if let Some(fix) = &fix {
            fix.response(endpoint, &mut response);
        }
        Ok(response)
    }

    /// Builds the authorization URL and the pending authorization to keep in the session
    /// (the core of Authlib's `authorize_redirect`).
    ///
    /// # Errors
    /// Configuration errors, discovery failures, a failing random source.
    pub async fn create_authorization_url(
        &self,
        options: &AuthorizeOptions,
    ) -> Result<(AuthorizationUrl, PendingAuthorization), ClientError> {
        self.refuse_oauth1()?;
        let provider = self.provider().await?;
        // RFC 9449 §10: bind the code to the DPoP key.
        let key = self.dpop_key().await?;
        let jkt = key.as_deref().map(|k| ("dpop_jkt", k.thumbprint()));
        let redirect = options.redirect_uri.iter().map(|uri| ("redirect_uri", uri.as_str()));
        let params = redirect.chain(jkt).chain(options.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let built = provider.authorization_url(params, self.rng(), self.now())?;
        self.push_or_sign_authorization(&provider, built).await
    }

    /// Creates the authorization URL and records the pending authorization in `pending`
    /// (what a session holds), bounded and expiring as configured.
    ///
    /// # Errors
    /// As [`OAuthClient::create_authorization_url`].
    pub async fn authorize_redirect(
        &self,
        pending: &mut PendingSet,
        options: &AuthorizeOptions,
    ) -> Result<AuthorizationUrl, ClientError> {
        let (url, entry) = self.create_authorization_url(options).await?;
        pending.prune_expired(self.now(), PendingSet::ttl_for(&self.inner.config));
        pending.insert(entry, PendingSet::max_for(&self.inner.config));
        Ok(url)
    }

    /// Handles the callback: every check of the authorization response, the code
    /// exchange, ID token validation (fetching the JWKS only when needed) — and returns the
    /// token with the ID token's claims in `userinfo` (Authlib's `authorize_access_token`).
    ///
    /// Nothing from a rejected response is used: a bad callback causes no token request,
    /// a bad ID token no further call.
    ///
    /// # Errors
    /// State errors, the provider's error, callback checks, token endpoint errors, ID token
    /// validation errors, transport failures.
    pub async fn authorize_access_token(
        &self,
        pending: &mut PendingSet,
        params: &CallbackParams,
    ) -> Result<Token, ClientError> {
        self.refuse_oauth1()?;
        let provider = self.provider().await?;
        let exchange = provider.handle_callback(params, pending, self.rng(), self.now())?;
        let sent = self.send_token_request(exchange.request, provider.metadata()).await?;
        let step = exchange.next.dpop(sent.proof_sent).handle_token_response(&provider, &sent.response, self.now())?;
        self.finish_login(step).await
    }

    /// The provider as the core's flow values take it: this client's configuration and
    /// its (cached, single-flight) metadata.
    async fn provider(&self) -> Result<Provider, ClientError> {
        let metadata = self.load_server_metadata().await?;
        Ok(Provider::from_parts(Arc::clone(&self.inner.config), metadata))
    }

    /// Drives a [`LoginStep`] to its end: verifies the ID token against the shared JWK
    /// Set, fetching it when the core asks (single-flight, no lock held across the fetch).
    async fn finish_login(&self, step: LoginStep) -> Result<Token, ClientError> {
        let mut check = match step {
            LoginStep::Done(token) => return Ok(token),
            LoginStep::VerifyIdToken(check) => check,
        };
        let mut keys = SharedKeys::new(&self.inner.jwks);
        // Bounded: after one fetch the core's verdict is final.
        for _ in 0..3 {
            match check.poll(&mut keys, self.now())? {
                Verify::Done(token) => return Ok(token),
                Verify::Fetch(fetch) => {
                    self.fetch_jwks(fetch.request, &keys).await?;
                    check = fetch.next.keys_fetched();
                }
            }
        }
        Err(ClientError::Core(crate::jose::JoseError::NoUsableKeys.into()))
    }

    /// The client credentials grant (Authlib's `fetch_access_token` without a code).
    ///
    /// # Errors
    /// Token endpoint errors, transport failures.
    pub async fn fetch_access_token(&self, scope: Option<&str>) -> Result<Token, ClientError> {
        let metadata = self.load_server_metadata().await?;
        let request =
            token::client_credentials_request(&self.inner.config, metadata.as_deref(), scope, self.rng(), self.now())?;
        let sent = self.send_token_request(request, metadata.as_deref()).await?;
        Ok(token::parse_token_response_dpop(&sent.response, self.now(), Grant::ClientCredentials, sent.proof_sent)?)
    }

    /// Refreshes `token` now, single-flight per token: concurrent callers with the same
    /// token share one request and all get the new token (callers still holding the old
    /// token shortly afterwards get it too, so a rotated refresh token is never spent
    /// twice). A failure is shared by the callers waiting for that request; the next call
    /// tries again. Emits one token-update event.
    ///
    /// # Errors
    /// [`Error::NoRefreshToken`] (nothing sent) when the token has none;
    /// [`Error::ReauthenticationRequired`] on `invalid_grant`; transport failures.
    pub async fn refresh_token(&self, token: &Token) -> Result<Token, ClientError> {
        let rt = token.refresh_token.as_ref().ok_or(ClientError::Core(Error::NoRefreshToken))?;
        let key = refresh_key(rt.secret(), token.access_token.secret());
        let now = self.now();
        let slot = {
            let mut map = self.inner.refreshes.lock().unwrap_or_else(PoisonError::into_inner);
            map.retain(|_, s| now.secs_since(s.started) < REFRESH_MEMORY_SECS);
            Arc::clone(
                &map.entry(key)
                    .or_insert_with(|| RefreshSlot { started: now, outcome: Arc::new(async_lock::Mutex::new(None)) })
                    .outcome,
            )
        };
        let mut outcome = slot.lock().await;
        if let Some(done) = &*outcome {
            return done.clone();
        }
        let result = self.refresh_across_instances(token, &key).await;
        *outcome = Some(result.clone());
        if result.is_err() {
            // The callers already waiting on this slot share the failure; later callers
            // try again (a timeout must not be replayed for minutes).
            let mut map = self.inner.refreshes.lock().unwrap_or_else(PoisonError::into_inner);
            if map.get(&key).is_some_and(|s| Arc::ptr_eq(&s.outcome, &slot)) {
                map.remove(&key);
            }
        }
        result
    }

    async fn do_refresh(&self, old: &Token) -> Result<Token, ClientError> {
        let provider = self.provider().await?;
        let refresh = provider.refresh(old, self.rng(), self.now())?;
        let sent = self.send_token_request(refresh.request, provider.metadata()).await?;
        let step = refresh.next.dpop(sent.proof_sent).handle_token_response(&provider, &sent.response, self.now())?;
        let merged = self.finish_login(step).await?;
        let update = TokenUpdate::new(self.inner.config.name.clone(), old, merged.clone());
        self.inner.shared.events.emit(&update);
        let hook = self.inner.shared.update_token.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(hook) = hook {
            hook.update_token(&update).await;
        }
        Ok(merged)
    }

    /// Returns a refreshed token when `token` expires within the leeway (single-flight),
    /// `None` when it is still good.
    ///
    /// # Errors
    /// As [`OAuthClient::refresh_token`].
    pub async fn ensure_fresh(&self, token: &Token) -> Result<Option<Token>, ClientError> {
        if needs_refresh(token, self.now(), self.inner.config.leeway()) {
            self.refresh_token(token).await.map(Some)
        } else {
            Ok(None)
        }
    }

    /// Sends a resource request with `token`, refreshing it first when it is about to
    /// expire. The refreshed token comes back in [`ApiResponse::refreshed`] and as a
    /// token-update event.
    ///
    /// # Errors
    /// Refresh errors (nothing is sent then), request building errors, transport failures.
    pub async fn request(&self, request: ResourceRequest, token: &Token) -> Result<ApiResponse, ClientError> {
        let refreshed = self.ensure_fresh(token).await?;
        let current = refreshed.as_ref().unwrap_or(token);
        let http_request = request.build(Some(current))?;
        let response = self.send_presenting(http_request, current, Endpoint::Resource).await?;
        Ok(ApiResponse { response, refreshed })
    }

    /// OAuth 1.0a, step 1 (Authlib's `authorize_redirect` for an OAuth 1 client): fetches
    /// temporary credentials from `request_token_url` (signed, with `oauth_callback` =
    /// `callback_uri`), keeps them in `pending` (bounded, expiring, single use) and returns
    /// the authorization URL to send the browser to.
    ///
    /// # Errors
    /// [`ClientError::NotOAuth1`] for an OAuth 2 client; the errors of
    /// [`crate::oauth1::request_token_request`] and
    /// [`crate::oauth1::parse_request_token_response`]; transport failures.
    pub async fn authorize_redirect_oauth1(
        &self,
        pending: &mut crate::oauth1::PendingOAuth1Set,
        callback_uri: &str,
    ) -> Result<url::Url, ClientError> {
        let cfg = self.oauth1_config()?;
        let request = crate::oauth1::request_token_request(cfg, callback_uri, self.rng(), self.now())?;
        let response = self.send(request, Endpoint::RequestToken).await?;
        let temporary = crate::oauth1::parse_request_token_response(&response)?;
        let (url, entry) = crate::oauth1::authorization_url(cfg, &temporary, self.now())?;
        pending.prune_expired(self.now(), PendingSet::ttl_for(cfg));
        pending.insert(entry, PendingSet::max_for(cfg));
        Ok(url)
    }

    /// OAuth 1.0a, step 2 (Authlib's `authorize_access_token`): checks the callback query
    /// against `pending` (the temporary token, in constant time, single use, not expired;
    /// `denied`), then exchanges the verifier for token credentials.
    ///
    /// # Errors
    /// [`crate::oauth1::OAuth1Error`] variants for the callback; the access-token
    /// endpoint's errors; transport failures. Nothing is sent for a bad callback.
    pub async fn authorize_access_token_oauth1(
        &self,
        pending: &mut crate::oauth1::PendingOAuth1Set,
        query: &str,
    ) -> Result<crate::oauth1::OAuth1Token, ClientError> {
        let cfg = self.oauth1_config()?;
        let (entry, verifier) = crate::oauth1::validate_callback(query, pending, self.now(), PendingSet::ttl_for(cfg))?;
        let request = crate::oauth1::access_token_request(cfg, &entry, &verifier, self.rng(), self.now())?;
        let response = self.send(request, Endpoint::Token).await?;
        Ok(crate::oauth1::parse_access_token_response(&response)?)
    }

    /// An OAuth 1.0a resource call: `request` (relative to `api_base_url`, as for
    /// [`OAuthClient::request`]) signed with the client and token credentials, with the
    /// configured signature method and placement (RFC 5849 §3).
    ///
    /// # Errors
    /// [`ClientError::NotOAuth1`] for an OAuth 2 client; signing errors; transport failures.
    pub async fn request_oauth1(
        &self,
        request: ResourceRequest,
        token: &crate::oauth1::OAuth1Token,
    ) -> Result<ApiResponse, ClientError> {
        let cfg = self.oauth1_config()?;
        let mut http_request = request.build(None)?;
        let credentials = crate::oauth1::Credentials::from_config(cfg)?.with_token(token);
        let (method, placement) = crate::oauth1::signature_settings(cfg)?;
        crate::oauth1::sign_request(&mut http_request, &credentials, method, placement, self.rng(), self.now())?;
        let response = self.send(http_request, Endpoint::Resource).await?;
        Ok(ApiResponse { response, refreshed: None })
    }

    /// `GET path` relative to `api_base_url`, signed with OAuth 1.0a token credentials.
    ///
    /// # Errors
    /// As [`OAuthClient::request_oauth1`].
    pub async fn get_oauth1(&self, path: &str, token: &crate::oauth1::OAuth1Token) -> Result<ApiResponse, ClientError> {
        self.request_oauth1(crate::resource::get(&self.inner.config, path), token).await
    }

    /// The configuration, when this is an OAuth 1.0a client (`request_token_url` set).
    fn oauth1_config(&self) -> Result<&ClientConfig, ClientError> {
        match self.inner.config.request_token_url {
            Some(_) => Ok(&self.inner.config),
            None => Err(ClientError::NotOAuth1 { name: self.name().to_owned() }),
        }
    }

    /// Revokes `token` at the provider (RFC 7009): its refresh token when it has one (which,
    /// per §2.1, revokes the grant's access tokens too), else its access token.
    ///
    /// # Errors
    /// [`crate::error::ConfigError::Missing`] without a revocation endpoint; the provider's
    /// error; transport failures.
    pub async fn revoke_token(&self, token: &Token) -> Result<(), ClientError> {
        use crate::revocation::{parse_revocation_response, revocation_request, TokenTypeHint};
        let metadata = self.load_server_metadata().await?;
        let (value, hint) = match &token.refresh_token {
            Some(rt) => (rt.secret(), TokenTypeHint::RefreshToken),
            None => (token.access_token.secret(), TokenTypeHint::AccessToken),
        };
        let request =
            revocation_request(&self.inner.config, metadata.as_deref(), value, Some(hint), self.rng(), self.now())?;
        let response = self.send(request, Endpoint::Revocation).await?;
        Ok(parse_revocation_response(&response)?)
    }

    /// Whether the provider has a revocation endpoint (configured, or in its metadata).
    pub async fn can_revoke(&self) -> bool {
        if self.inner.config.revocation_endpoint.is_some() {
            return true;
        }
        matches!(self.load_server_metadata().await, Ok(Some(m)) if m.revocation_endpoint.is_some())
    }

    /// Asks the provider whether `token` is active (RFC 7662).
    ///
    /// # Errors
    /// [`crate::error::ConfigError::Missing`] without an introspection endpoint; a
    /// malformed answer; the provider's error; transport failures.
    pub async fn introspect_token(
        &self,
        token: &str,
        hint: Option<crate::revocation::TokenTypeHint>,
    ) -> Result<crate::revocation::Introspection, ClientError> {
        use crate::revocation::{introspection_request, parse_introspection_response};
        let metadata = self.load_server_metadata().await?;
        let request =
            introspection_request(&self.inner.config, metadata.as_deref(), token, hint, self.rng(), self.now())?;
        let response = self.send(request, Endpoint::Introspection).await?;
        Ok(parse_introspection_response(&response)?)
    }

    /// Whether this is an OAuth 1.0a client (`request_token_url` set): use the `_oauth1`
    /// flows for it.
    pub fn is_oauth1(&self) -> bool {
        self.inner.config.request_token_url.is_some()
    }

    /// `GET path` relative to `api_base_url` with `token` (auto-refresh).
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn get(&self, path: &str, token: &Token) -> Result<ApiResponse, ClientError> {
        self.request(crate::resource::get(&self.inner.config, path), token).await
    }

    /// `POST path` with a JSON body (auto-refresh).
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn post(&self, path: &str, json: &serde_json::Value, token: &Token) -> Result<ApiResponse, ClientError> {
        self.request(crate::resource::post(&self.inner.config, path).json(json), token).await
    }

    /// `PUT path` with a JSON body (auto-refresh).
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn put(&self, path: &str, json: &serde_json::Value, token: &Token) -> Result<ApiResponse, ClientError> {
        self.request(crate::resource::put(&self.inner.config, path).json(json), token).await
    }

    /// `PATCH path` with a JSON body (auto-refresh).
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn patch(&self, path: &str, json: &serde_json::Value, token: &Token) -> Result<ApiResponse, ClientError> {
        self.request(crate::resource::patch(&self.inner.config, path).json(json), token).await
    }

    /// `DELETE path` (auto-refresh).
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn delete(&self, path: &str, token: &Token) -> Result<ApiResponse, ClientError> {
        self.request(crate::resource::delete(&self.inner.config, path), token).await
    }

    /// `GET path` with the token the `fetch_token` hook returns for `user`.
    ///
    /// # Errors
    /// [`ClientError::NoToken`] when the hook (or no hook) finds none; else as
    /// [`OAuthClient::request`].
    pub async fn get_for_user(&self, path: &str, user: &str) -> Result<ApiResponse, ClientError> {
        let hook = self.inner.shared.fetch_token.read().unwrap_or_else(PoisonError::into_inner).clone();
        let token = match hook {
            Some(h) => h.fetch_token(self.name(), user).await,
            None => None,
        }
        .ok_or_else(|| ClientError::NoToken { name: self.name().to_owned() })?;
        self.get(path, &token).await
    }
}

/// Per-call options of [`OAuthClient::logout_redirect`] (Authlib's `logout_redirect`
/// arguments).
#[derive(Debug, Clone, Default)]
pub struct LogoutOptions {
    /// Where the provider sends the browser afterwards (must be registered there).
    pub post_logout_redirect_uri: Option<String>,
    /// The ID token issued at login (recommended).
    pub id_token_hint: Option<crate::secret::IdTokenString>,
    /// An explicit state (else one is generated when a redirect URI is given).
    pub state: Option<String>,
    /// Send `client_id` too.
    pub client_id: bool,
    /// `logout_hint`.
    pub logout_hint: Option<String>,
    /// `ui_locales`.
    pub ui_locales: Option<String>,
}

impl OAuthClient {
    /// The provider metadata, fetched once and cached (single-flight: concurrent callers
    /// share one request); refreshed when stale per `Cache-Control`, and served stale when
    /// a refresh fails. `None` when no `server_metadata_url` is configured.
    ///
    /// # Errors
    /// Discovery errors (issuer mismatch, malformed document, HTTP errors) on the first
    /// fetch; transport failures.
    pub async fn load_server_metadata(&self) -> Result<Option<Arc<ProviderMetadata>>, ClientError> {
        if self.inner.config.server_metadata_url.is_none() {
            return Ok(None);
        }
        let attempts = &self.inner.metadata_attempts;
        let ticket = attempts.load(Ordering::Acquire);
        let mut state = self.inner.metadata.lock().await;
        let now = self.now();
        // An attempt completed while we waited: share its outcome.
        let attempted_meanwhile = attempts.load(Ordering::Acquire) != ticket;
        if let Some(slot) = state.value.as_ref().filter(|s| attempted_meanwhile || !s.cache.is_stale(now)) {
            return Ok(Some(Arc::clone(&slot.shared)));
        }
        if let Some(err) = state.last_error.as_ref().filter(|_| attempted_meanwhile) {
            return Err(err.clone());
        }
        let fetched = async {
            let config = &self.inner.config;
            // The core refuses a discovery URL it could not check the answer of (no
            // expected issuer) or that is not TLS, before anything is sent.
            let request =
                crate::login::discovery_request(config)?.ok_or_else(|| config.missing("server_metadata_url"))?;
            let response = self.send(request, Endpoint::Discovery).await?;
            let expected = config.expected_issuer().unwrap_or_default();
            Ok::<_, ClientError>(MetadataCache::from_response(&response, &expected, self.now())?)
        }
        .await;
        attempts.fetch_add(1, Ordering::AcqRel);
        match (fetched, state.value.take()) {
            (Ok(fresh), _) => {
                let shared = Arc::new(fresh.metadata.clone());
                state.value = Some(MetadataSlot { cache: fresh, shared: Arc::clone(&shared) });
                state.last_error = None;
                Ok(Some(shared))
            }
            (Err(_), Some(stale)) => {
                let shared = Arc::clone(&stale.shared);
                state.value =
                    Some(MetadataSlot { cache: stale.cache.refresh_failed(now), shared: Arc::clone(&shared) });
                Ok(Some(shared))
            }
            (Err(e), None) => {
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Joins the JWK Set fetch in flight, or starts one with `request`; installs its result
    /// in the shared cache.
    async fn fetch_jwks(&self, request: http::Request<Vec<u8>>, keys: &SharedKeys<'_>) -> Result<(), ClientError> {
        let (id, flight) = {
            let mut slot = self.inner.jwks.lock().unwrap_or_else(PoisonError::into_inner);
            let installed_meanwhile = match (&slot.cache, &keys.seen) {
                (Some(cache), Some(seen)) => !cache.set.same_as(seen) && !cache.is_stale(self.now()),
                (Some(cache), None) => !cache.is_stale(self.now()),
                (None, _) => false,
            };
            match &slot.flight {
                Some(flight) => flight.clone(),
                None if installed_meanwhile => return Ok(()),
                None => {
                    let http = Arc::clone(&self.inner.shared.http);
                    let clock = Arc::clone(&self.inner.shared.clock);
                    let fix = self.inner.fix.read().unwrap_or_else(PoisonError::into_inner).clone();
                    let fetch = async move {
                        let mut request = request;
                        if let Some(fix) = &fix {
                            fix.request(Endpoint::Jwks, &mut request);
                        }
                        let mut response = send_capped(&*http, request, Endpoint::Jwks).await?;
                        if let Some(fix) = &fix {
                            fix.response(Endpoint::Jwks, &mut response);
                        }
                        Ok(JwksCache::from_response(&response, clock.now())?)
                    };
                    slot.flights += 1;
                    let flight = (slot.flights, fetch.boxed().shared());
                    slot.flight = Some(flight.clone());
                    flight
                }
            }
        };
        let outcome = flight.await;
        let mut slot = self.inner.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.flight.as_ref().is_some_and(|(current, _)| *current == id) {
            slot.flight = None;
            if let Ok(fresh) = &outcome {
                crate::jwks::install(&mut slot.cache, fresh.clone());
            }
        }
        outcome.map(drop)
    }

    /// Runs `check` against the provider's keys: a send loop over the core's
    /// [`KeyCheck`], which decides whether the JWK Set is needed (not for `HS*`), when to
    /// fetch it (none cached, or past its max age) and whether a failure justifies one
    /// rate-limited refetch. The fetch is single-flight, and no lock is held while it runs:
    /// a slow JWKS endpoint delays only the callers that need it.
    async fn verify_with_keys<T>(
        &self,
        compact: &str,
        metadata: Option<&ProviderMetadata>,
        check: impl Fn(&JwkSet) -> Result<T, Error>,
    ) -> Result<T, ClientError> {
        let mut key_check = KeyCheck::new(compact, &self.inner.config, metadata)?;
        let mut keys = SharedKeys::new(&self.inner.jwks);
        // Bounded: after one fetch the core's verdict is final.
        for _ in 0..3 {
            match key_check.poll(&mut keys, self.now(), &check)? {
                KeyStep::Done(value) => return Ok(value),
                KeyStep::Fetch(request) => {
                    self.fetch_jwks(request, &keys).await?;
                    key_check.keys_fetched();
                }
            }
        }
        Err(ClientError::Core(crate::jose::JoseError::NoUsableKeys.into()))
    }

    /// Fetches the UserInfo claims with `token` (OIDC Core §5.3): JSON or a signed (and
    /// optionally encrypted) JWT. Its `sub` must equal the ID token's (Authlib does not
    /// check this). Refreshes first when the token is about to expire; the caller gets
    /// the refreshed token through the token-update event.
    ///
    /// # Errors
    /// [`crate::userinfo::UserInfoError::SubjectMismatch`] and the other UserInfo errors;
    /// transport failures.
    pub async fn userinfo(&self, token: &Token) -> Result<Claims, ClientError> {
        let refreshed = self.ensure_fresh(token).await?;
        let token = refreshed.as_ref().unwrap_or(token);
        let metadata = self.load_server_metadata().await?;
        let md = metadata.as_deref();
        let request = userinfo_request_for(&self.inner.config, md, token)?;
        let response = self.send_presenting(request, token, Endpoint::UserInfo).await?;
        let expected_sub = token.userinfo.as_ref().and_then(Claims::sub);
        let mut check = UserInfoCheck::new(response, &self.inner.config, md, expected_sub)?;
        let mut keys = SharedKeys::new(&self.inner.jwks);
        // Bounded: after one fetch the core's verdict is final.
        for _ in 0..3 {
            match check.poll(&mut keys, self.now())? {
                KeyStep::Done(claims) => return Ok(claims),
                KeyStep::Fetch(request) => {
                    self.fetch_jwks(request, &keys).await?;
                    check.keys_fetched();
                }
            }
        }
        Err(ClientError::Core(crate::jose::JoseError::NoUsableKeys.into()))
    }

    /// Builds the RP-initiated logout URL (Authlib's `logout_redirect`). Returns the
    /// pending logout to store when a `post_logout_redirect_uri` was given; check it with
    /// [`OAuthClient::validate_logout_response`] when the browser comes back.
    ///
    /// # Errors
    /// [`crate::error::ConfigError::Missing`] without an end-session endpoint; discovery
    /// failures.
    pub async fn logout_redirect(
        &self,
        options: &LogoutOptions,
    ) -> Result<(url::Url, Option<PendingLogout>), ClientError> {
        let metadata = self.load_server_metadata().await?;
        let mut req = LogoutRequest::new(&self.inner.config, metadata.as_deref());
        if let Some(uri) = &options.post_logout_redirect_uri {
            req = req.post_logout_redirect_uri(uri.clone());
        }
        if let Some(hint) = &options.id_token_hint {
            req = req.id_token_hint(hint);
        }
        if let Some(state) = &options.state {
            req = req.state(state.clone());
        }
        if options.client_id {
            req = req.client_id(true);
        }
        if let Some(h) = &options.logout_hint {
            req = req.logout_hint(h.clone());
        }
        if let Some(l) = &options.ui_locales {
            req = req.ui_locales(l.clone());
        }
        Ok(req.build(self.rng(), self.now())?)
    }

    /// Checks the provider's redirect back after logout (Authlib's
    /// `validate_logout_response`): the `state` must be a pending one (single use).
    ///
    /// # Errors
    /// [`crate::StateError`] variants: missing, unknown, expired.
    pub fn validate_logout_response(
        &self,
        query: &str,
        pending: &mut PendingLogouts,
    ) -> Result<PendingLogout, ClientError> {
        let ttl = PendingSet::ttl_for(&self.inner.config);
        Ok(crate::logout::validate_logout_response(query, pending, self.now(), ttl)?)
    }

    /// Validates a back-channel logout request body (`logout_token=…`, OIDC Back-Channel
    /// Logout §2.6) and says which sessions to end. Replayed `jti`s are refused.
    ///
    /// # Errors
    /// [`crate::logout::LogoutError`] variants and JOSE errors; transport failures while
    /// fetching the JWKS.
    pub async fn validate_backchannel_logout(&self, body: &[u8]) -> Result<LogoutTarget, ClientError> {
        let compact = crate::logout::parse_backchannel_request(body)?;
        let metadata = self.load_server_metadata().await?;
        let md = metadata.as_deref();
        let validator = BackchannelLogoutValidator::from_config(&self.inner.config, md)?;
        let now = self.now();
        // The core records the jti only once every other check passed (so a
        // refetch-and-retry after an unknown `kid` does not trip the replay check), and
        // remembers it until the token could no longer be accepted anyway
        // (`iat + max_age + leeway`), however long the configured maximum age.
        // The shared store then records it atomically, so a replay to another instance
        // is refused too.
        let (target, accepted) = self
            .verify_with_keys(&compact, md, |keys| {
                let mut accepted = store::AcceptedJti::default();
                validator.validate(&compact, keys, now, Some(&mut accepted)).map(|t| (t, accepted))
            })
            .await?;
        let (jti, until) = accepted.0.ok_or(ClientError::Core(LogoutError::MissingJti.into()))?;
        if !self.inner.shared.store.insert_jti_if_new(self.name(), &jti, until, now).await? {
            return Err(ClientError::Core(LogoutError::Replay.into()));
        }
        Ok(target)
    }

    /// PAR (RFC 9126) and JAR (RFC 9101) for [`OAuthClient::create_authorization_url`]:
    /// when the client pushes its requests (`client_kwargs.use_par`, or the provider's
    /// `require_pushed_authorization_requests`) the parameters — signed in a request
    /// object when the client uses those — are POSTed to the PAR endpoint and the URL
    /// carries only `client_id` and `request_uri`; else, with request objects, the
    /// parameters go by value in `request`. The pending authorization is the one built
    /// before, returned only on success, so a refused push stores nothing.
    async fn push_or_sign_authorization(
        &self,
        provider: &Provider,
        (url, pending): (AuthorizationUrl, PendingAuthorization),
    ) -> Result<(AuthorizationUrl, PendingAuthorization), ClientError> {
        let config = provider.config();
        let md = provider.metadata();
        if crate::par::uses_par(config, md) {
            let push = crate::par::push_request(config, md, &url, self.rng(), self.now())?;
            let response = self.send(push.request, Endpoint::PushedAuthorization).await?;
            let (url, _request_uri) = push.next.handle_response(&response, self.now())?;
            return Ok((url, pending));
        }
        if crate::jar::uses_request_object(config, md) {
            let url = crate::jar::authorization_url_by_value(config, md, &url, self.rng(), self.now())?;
            return Ok((url, pending));
        }
        Ok((url, pending))
    }
}

/// Sends a request built by the core over `http`, capping the body at the core's limit.
async fn send_capped(
    http: &dyn HttpClient,
    request: http::Request<Vec<u8>>,
    endpoint: Endpoint,
) -> Result<http::Response<Vec<u8>>, ClientError> {
    match http.send(request, crate::wire::MAX_RESPONSE_BYTES).await {
        Ok(resp) => Ok(resp),
        Err(TransportError::TooLarge { limit }) => Err(ClientError::Core(Error::TooLarge { endpoint, limit })),
        Err(source) => Err(ClientError::Transport { endpoint, source }),
    }
}

/// The client's shared JWK Set as the core's [`KeySource`]: the cache, and the fetch in
/// flight, which a failure that a newer set could fix may join instead of claiming a
/// refetch of its own.
///
/// It remembers the set it last handed out: a fetch asked for after that is skipped when
/// another caller has installed a newer set meanwhile (for a first fetch: any set), so
/// racing tasks cause one fetch.
struct SharedKeys<'a> {
    slot: &'a Mutex<JwksSlot>,
    seen: Option<JwkSet>,
}

impl<'a> SharedKeys<'a> {
    fn new(slot: &'a Mutex<JwksSlot>) -> Self {
        SharedKeys { slot, seen: None }
    }
}

impl KeySource for SharedKeys<'_> {
    fn fresh_keys(&mut self, now: UnixTime) -> Option<JwkSet> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = slot.cache.fresh_keys(now);
        self.seen = fresh.clone();
        fresh
    }

    fn claim_refetch(&mut self, err: &Error, token_names_key: bool, now: UnixTime) -> bool {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let joinable = slot.flight.is_some() && should_refetch_jwks(err);
        joinable || slot.cache.claim_refetch(err, token_names_key, now)
    }
}

/// The refresh slot of a token: its refresh token *and* its access token. Callers holding
/// the same token share one refresh (and, for a while, its outcome); the token a refresh
/// produced gets a refresh of its own when it expires in turn, even when the provider did
/// not rotate the refresh token.
fn refresh_key(refresh_token: &str, access_token: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&(refresh_token.len() as u64).to_be_bytes());
    ctx.update(refresh_token.as_bytes());
    ctx.update(access_token.as_bytes());
    let digest = ctx.finish();
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}
