//! Starting, inspecting and stopping the development provider.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::behavior::{Behavior, BehaviorHandle, Endpoint, SigningAlg};
use crate::endpoints::logout::{deliver, targets_for_sessions, BackchannelDelivery, LogoutTarget};
use crate::endpoints::{discovery, router};
use crate::error::DevProviderError;
use crate::keys::{usable_client_jwk, usable_encryption_jwk, KeySet};
use crate::registration::{ClientRegistration, DevUser};
use crate::state::{lock, Counters, Options, Shared, Store, TokenRequestRecord};
use crate::util::is_loopback_http;

/// The development OpenID Provider; [`DevProvider::builder`] is where to start.
///
/// It is an in-process OpenID Provider on `127.0.0.1` with a random free port: discovery,
/// JWKS, an authorization endpoint with a password-less login form, a token endpoint
/// (authorization code with PKCE, refresh with rotation, client credentials), UserInfo,
/// RP-initiated logout and back-channel logout. It is for tests, demos and local
/// development only: anyone who can reach the port can log in as any registered user.
///
/// # Example
/// ```
/// use rpkit_conformance::{ClientRegistration, DevProvider, DevUser};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let op = DevProvider::builder()
///     .client(
///         ClientRegistration::confidential("demo-client", "demo-secret")
///             .redirect_uri("http://127.0.0.1:8000/auth/dev/callback")
///             .post_logout_redirect_uri("http://127.0.0.1:8000/logged-out")
///             .backchannel_logout_uri("http://127.0.0.1:8000/backchannel-logout/dev"),
///     )
///     .user(DevUser::new("alice").email("alice@example.com").name("Alice Example"))
///     .start()
///     .await?;
/// assert!(op.issuer().starts_with("http://127.0.0.1:"));
/// assert_eq!(
///     op.discovery_url(),
///     format!("{}/.well-known/openid-configuration", op.issuer())
/// );
/// assert_eq!(op.metadata()["authorization_response_iss_parameter_supported"], true);
/// assert_eq!(op.counters().discovery, 0);
/// op.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DevProvider;

impl DevProvider {
    /// A builder with no clients, no users, all misbehaviours off, PKCE required and
    /// claims in ID tokens.
    pub fn builder() -> DevProviderBuilder {
        DevProviderBuilder::default()
    }
}

/// Configures and starts a [`DevProvider`].
#[derive(Debug)]
pub struct DevProviderBuilder {
    clients: Vec<ClientRegistration>,
    users: Vec<DevUser>,
    bind: SocketAddr,
    behavior: Behavior,
    require_pkce: bool,
    claims_in_id_token: bool,
    auto_login: Option<String>,
    access_token_lifetime: Duration,
    id_token_lifetime: Duration,
    code_lifetime: Duration,
    oauth1_consumers: Vec<crate::oauth1::Oauth1Consumer>,
}

impl Default for DevProviderBuilder {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            users: Vec::new(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            behavior: Behavior::default(),
            require_pkce: true,
            claims_in_id_token: true,
            auto_login: None,
            access_token_lifetime: Duration::from_secs(3600),
            id_token_lifetime: Duration::from_secs(3600),
            code_lifetime: Duration::from_secs(120),
            oauth1_consumers: Vec::new(),
        }
    }
}

impl DevProviderBuilder {
    /// Register a client.
    pub fn client(mut self, client: ClientRegistration) -> Self {
        self.clients.push(client);
        self
    }

    /// Register a user.
    pub fn user(mut self, user: DevUser) -> Self {
        self.users.push(user);
        self
    }

    /// Listen on this address instead of `127.0.0.1:0` (a free port). It must be a
    /// loopback address.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Start with these misbehaviours switched on.
    pub fn behavior(mut self, behavior: Behavior) -> Self {
        self.behavior = behavior;
        self
    }

    /// Whether confidential clients must use PKCE too (default `true`; public clients
    /// always must). Only `S256` is ever accepted.
    pub fn require_pkce(mut self, required: bool) -> Self {
        self.require_pkce = required;
        self
    }

    /// Whether ID tokens carry the user's scope-released claims (`email`, `name`, …) as
    /// well as UserInfo (default `true`, like most providers); with `false` they carry
    /// only the protocol claims and `sub`.
    pub fn claims_in_id_token(mut self, yes: bool) -> Self {
        self.claims_in_id_token = yes;
        self
    }

    /// Registers an OAuth 1.0a consumer for the provider's OAuth 1.0a mode (`/oauth1/…`,
    /// [`crate::oauth1`]).
    pub fn oauth1_consumer(mut self, consumer: crate::oauth1::Oauth1Consumer) -> Self {
        self.oauth1_consumers.push(consumer);
        self
    }

    /// Skip the login form: every authorization request without a provider session logs
    /// in as `username` at once (handy for headless tests that follow redirects).
    pub fn auto_login(mut self, username: impl Into<String>) -> Self {
        self.auto_login = Some(username.into());
        self
    }

    /// Lifetime of access tokens (`expires_in`, default one hour).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Lifetime of ID tokens (`exp - iat`, default one hour).
    pub fn id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_token_lifetime = lifetime;
        self
    }

    /// Lifetime of authorization codes (default two minutes).
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.code_lifetime = lifetime;
        self
    }

    fn validate(&self) -> Result<(), DevProviderError> {
        if !self.bind.ip().is_loopback() {
            return Err(DevProviderError::Bind(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the development provider only listens on loopback addresses",
            )));
        }
        let mut ids = HashSet::new();
        for c in &self.clients {
            let bad = |reason: String| DevProviderError::InvalidClient { client: c.client_id.clone(), reason };
            if c.client_id.is_empty() {
                return Err(bad("empty client id".into()));
            }
            if !ids.insert(c.client_id.as_str()) {
                return Err(bad("registered twice".into()));
            }
            for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
                match url::Url::parse(uri) {
                    Ok(u) if u.fragment().is_none() => {}
                    _ => return Err(bad(format!("{uri:?} is not an absolute URI without fragment"))),
                }
            }
            if let Some(uri) = &c.backchannel_logout_uri {
                if !is_loopback_http(uri) {
                    return Err(bad(format!("back-channel logout URI {uri:?} must be http on a loopback host")));
                }
            }
            let mut enc = c.id_token_encryption_key.iter().chain(&c.userinfo_encryption_key);
            if let Some(k) = enc.find(|k| !usable_encryption_jwk(k)) {
                return Err(bad(format!("unusable RSA-OAEP encryption JWK {k}")));
            }
            if let Some(k) = c.jwks.iter().find(|k| !usable_client_jwk(k)) {
                return Err(bad(format!("unusable public JWK {k}")));
            }
        }
        let mut names = HashSet::new();
        for u in &self.users {
            if u.username.is_empty() || !names.insert(u.username.as_str()) {
                return Err(DevProviderError::InvalidUser {
                    user: u.username.clone(),
                    reason: "empty or registered twice".into(),
                });
            }
        }
        if let Some(name) = &self.auto_login {
            if !names.contains(name.as_str()) {
                return Err(DevProviderError::InvalidUser {
                    user: name.clone(),
                    reason: "auto_login names an unregistered user".into(),
                });
            }
        }
        Ok(())
    }

    /// Generate keys, bind the socket and serve on the current Tokio runtime.
    ///
    /// # Errors
    /// [`DevProviderError::InvalidClient`] / [`DevProviderError::InvalidUser`] for unusable
    /// registrations (a redirect URI that is not absolute, a back-channel URI off
    /// loopback, …), [`DevProviderError::Bind`] when the address cannot be bound,
    /// [`DevProviderError::Key`] when key generation fails.
    pub async fn start(self) -> Result<RunningProvider, DevProviderError> {
        self.validate()?;
        let listener = tokio::net::TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let issuer = format!("http://{addr}");
        let keys =
            tokio::task::spawn_blocking(KeySet::generate).await.map_err(|e| DevProviderError::Key(e.to_string()))??;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| DevProviderError::HttpClient(e.to_string()))?;
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let shared = Arc::new(Shared {
            issuer,
            clients: self.clients.into_iter().map(|c| (c.client_id.clone(), c)).collect::<HashMap<_, _>>(),
            users: self.users.clone(),
            options: Options {
                require_pkce: self.require_pkce,
                claims_in_id_token: self.claims_in_id_token,
                auto_login: self.auto_login.clone(),
                access_token_ttl: secs(self.access_token_lifetime),
                id_token_ttl: secs(self.id_token_lifetime),
                code_ttl: secs(self.code_lifetime),
                login_ttl: 600,
            },
            keys: RwLock::new(Arc::new(keys)),
            retired_keys: RwLock::new(None),
            decoy_keys: Mutex::new(Vec::new()),
            behavior: BehaviorHandle::new(self.behavior),
            counters: Default::default(),
            store: Mutex::new(Store::default()),
            http,
            // Cookies are not isolated by port, and the RP usually runs on 127.0.0.1 too.
            cookie_name: format!("rpkit_devop_{}", addr.port()),
            last_authorization_request: Mutex::new(None),
            last_token_request: Mutex::new(None),
            device: Default::default(),
            dynamic_clients: Default::default(),
            dpop: Default::default(),
            par: Default::default(),
        });
        let oauth1 = Arc::new(crate::oauth1::Oauth1State::new(
            shared.issuer.clone(),
            self.oauth1_consumers,
            self.users,
            self.auto_login,
        ));
        let app = router(shared.clone()).merge(crate::oauth1::router(oauth1.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningProvider { shared, oauth1, addr, shutdown: Some(tx), task: Some(task) })
    }
}

/// A provider session as seen from outside (for assertions in tests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id (the `sid` claim).
    pub sid: String,
    /// The user's subject identifier.
    pub sub: String,
    /// When the user logged in (seconds since the epoch).
    pub auth_time: i64,
    /// Clients that received a code in this session.
    pub clients: Vec<String>,
}

/// A started development provider. Dropping it stops the server too; prefer
/// [`shutdown`](Self::shutdown), which waits for it.
pub struct RunningProvider {
    shared: Arc<Shared>,
    oauth1: Arc<crate::oauth1::Oauth1State>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningProvider").field("issuer", &self.shared.issuer).finish_non_exhaustive()
    }
}

impl RunningProvider {
    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The socket address the provider listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        self.shared.url(Endpoint::Discovery)
    }

    /// The URL of any endpoint.
    pub fn endpoint_url(&self, endpoint: Endpoint) -> String {
        self.shared.url(endpoint)
    }

    /// The authorization endpoint URL.
    pub fn authorization_endpoint(&self) -> String {
        self.shared.url(Endpoint::Authorize)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        self.shared.url(Endpoint::Token)
    }

    /// The UserInfo endpoint URL.
    pub fn userinfo_endpoint(&self) -> String {
        self.shared.url(Endpoint::Userinfo)
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        self.shared.url(Endpoint::Jwks)
    }

    /// The end-session endpoint URL.
    pub fn end_session_endpoint(&self) -> String {
        self.shared.url(Endpoint::EndSession)
    }

    /// The metadata document discovery serves now (misbehaviours applied).
    pub fn metadata(&self) -> Value {
        discovery::metadata(&self.shared)
    }

    /// The public JWKS (`{"keys": [...]}`) the JWKS endpoint serves now, without decoy
    /// keys that were never requested.
    pub fn jwks(&self) -> Value {
        discovery::jwks_document(&self.shared, &self.shared.keys())
    }

    /// Request counts per endpoint since start (or the last [`reset_counters`](Self::reset_counters)).
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    /// Set every counter back to zero.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// The handle that switches misbehaviours at runtime.
    pub fn behavior(&self) -> BehaviorHandle {
        self.shared.behavior.clone()
    }

    /// How many requests to the OAuth 1.0a route (`request_token`, `access_token`,
    /// `account`) carried a signature this provider verified.
    pub fn oauth1_verified(&self, route: &str) -> usize {
        self.oauth1.verified.lock().unwrap_or_else(PoisonError::into_inner).get(route).copied().unwrap_or(0)
    }

    /// Answers one request in memory, without a socket: the provider's router called
    /// directly (an in-memory transport for sans-IO tests). The request's URI may be
    /// absolute (`http://127.0.0.1:…/token`, as the core builds it) or a path. A response
    /// body over 1 MiB is cut.
    pub async fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        use tower::ServiceExt;
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, axum::body::Body::from(body));
        let app = crate::endpoints::router(self.shared.clone()).merge(crate::oauth1::router(self.oauth1.clone()));
        let response = match app.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map(|b| b.to_vec()).unwrap_or_default();
        http::Response::from_parts(parts, bytes)
    }

    /// Replace every signing key by a new one with a new `kid`; the old keys leave the
    /// JWKS at once (tokens signed with them no longer verify against it), and are kept
    /// only for [`Behavior::id_token_sign_with_retired_key`]. Generating an RSA key takes
    /// a moment (tens to hundreds of milliseconds).
    ///
    /// # Errors
    /// [`DevProviderError::Key`] if key generation fails (the old keys stay).
    pub fn rotate_keys(&self) -> Result<(), DevProviderError> {
        let keys = KeySet::generate()?;
        let old =
            std::mem::replace(&mut *self.shared.keys.write().unwrap_or_else(PoisonError::into_inner), Arc::new(keys));
        *self.shared.retired_keys.write().unwrap_or_else(PoisonError::into_inner) = Some(old);
        Ok(())
    }

    /// The `kid`s of the current signing keys (RS256, ES256, EdDSA order).
    pub fn key_ids(&self) -> Vec<String> {
        let keys = self.shared.keys();
        [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA]
            .iter()
            .filter_map(|a| keys.key(*a).map(|k| k.kid.clone()))
            .collect()
    }

    /// Sign arbitrary claims with the provider's current key for `alg` (`RS256`, `ES256`,
    /// `EdDSA`, or `None` for an unsigned token), header `typ` as given and `kid` set.
    /// Handy to craft tokens an RP must accept or reject.
    ///
    /// # Errors
    /// [`DevProviderError::Key`] for `HS256` (it needs a client secret) or a signing
    /// failure.
    pub fn sign_jwt(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &Map<String, Value>,
    ) -> Result<String, DevProviderError> {
        crate::issue::sign_claims(&self.shared, alg, typ, claims)
    }

    /// The live provider sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let store = self.shared.store();
        let mut out: Vec<SessionInfo> = store
            .sessions
            .values()
            .map(|s| SessionInfo {
                sid: s.sid.clone(),
                sub: self.shared.user(&s.username).map_or_else(|| s.username.clone(), |u| u.sub.clone()),
                auth_time: s.auth_time,
                clients: s.clients.iter().cloned().collect(),
            })
            .collect();
        out.sort_by(|a, b| a.sid.cmp(&b.sid));
        out
    }

    /// The parameters of the last authorization request from a known client to a
    /// registered redirect URI.
    pub fn last_authorization_request(&self) -> Option<BTreeMap<String, String>> {
        lock(&self.shared.last_authorization_request).clone()
    }

    /// The last well-formed token request (secrets redacted).
    pub fn last_token_request(&self) -> Option<TokenRequestRecord> {
        lock(&self.shared.last_token_request).clone()
    }

    /// End provider sessions and notify clients over the back channel now.
    ///
    /// `sub_or_sid` names a session (`sid`) or a user (`sub`). Every matching session
    /// ends (its non-`offline_access` tokens are revoked) and each client that got a code
    /// in it and registered a back-channel logout URI receives a logout token with `sub`
    /// and `sid`. If no session matches but a user has that `sub`, every client with a
    /// back-channel URI receives a token with `sub` only. Deliveries are sequential and
    /// each is bounded by a 5 second timeout; failures are reported, not raised.
    pub async fn backchannel_logout(&self, sub_or_sid: &str) -> Vec<BackchannelDelivery> {
        let shared = &self.shared;
        let ended = {
            let mut store = shared.store();
            let sids: Vec<String> = store
                .sessions
                .values()
                .filter(|s| s.sid == sub_or_sid || shared.user(&s.username).is_some_and(|u| u.sub == sub_or_sid))
                .map(|s| s.sid.clone())
                .collect();
            sids.iter().filter_map(|sid| store.end_session(sid)).collect::<Vec<_>>()
        };
        let targets = if ended.is_empty() && shared.users.iter().any(|u| u.sub == sub_or_sid) {
            let mut ids: Vec<&String> =
                shared.clients.values().filter(|c| c.backchannel_logout_uri.is_some()).map(|c| &c.client_id).collect();
            ids.sort();
            ids.into_iter()
                .map(|id| LogoutTarget { client_id: id.clone(), sub: Some(sub_or_sid.to_string()), sid: None })
                .collect()
        } else {
            targets_for_sessions(shared, &ended)
        };
        deliver(shared, targets).await
    }

    /// Every DPoP proof received since the last [`reset_dpop`](Self::reset_dpop) (at most
    /// the latest 256), with what the provider made of it.
    pub fn dpop_proofs(&self) -> Vec<crate::DpopProofRecord> {
        self.shared.dpop.proofs()
    }

    /// Forgets the DPoP proof log, the seen `jti`s and the current nonce.
    pub fn reset_dpop(&self) {
        self.shared.dpop.reset();
    }

    /// The key thumbprint (`cnf.jkt`) an access token is DPoP-bound to, if it is.
    pub fn dpop_binding(&self, access_token: &str) -> Option<String> {
        self.shared.dpop.binding(access_token)
    }

    /// The shared state, for the endpoint modules' own `impl RunningProvider` blocks.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stop serving and wait (at most 5 seconds) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                abort.abort();
            }
        }
    }

    // --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---

    /// The scripted user of the device flow: approves or denies user codes, forces
    /// answers, and shows when the RP polled.
    pub fn device_user(&self) -> crate::DeviceUser {
        crate::DeviceUser { shared: self.shared.clone() }
    }

    /// `POST /device_authorization` (RFC 8628 §3.1).
    pub fn device_authorization_endpoint(&self) -> String {
        format!("{}/device_authorization", self.shared.issuer)
    }

    /// `POST /register` (RFC 7591 §3).
    pub fn registration_endpoint(&self) -> String {
        format!("{}/register", self.shared.issuer)
    }

    /// Whether `client_id` is a dynamically registered client now (not deleted).
    pub fn is_dynamically_registered(&self, client_id: &str) -> bool {
        self.shared.dynamic_clients.get(client_id).is_some()
    }
}

impl Drop for RunningProvider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Hanging requests (the `delay` fault) must not keep the port open forever.
            task.abort();
        }
    }
}
