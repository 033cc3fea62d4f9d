//! The provider's shared state: registrations, keys, grants, sessions, counters.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::behavior::{BehaviorHandle, Endpoint};
use crate::keys::KeySet;
use crate::registration::{AuthMethod, ClientRegistration, DevUser};

/// Options fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) require_pkce: bool,
    pub(crate) claims_in_id_token: bool,
    pub(crate) auto_login: Option<String>,
    pub(crate) access_token_ttl: i64,
    pub(crate) id_token_ttl: i64,
    pub(crate) code_ttl: i64,
    pub(crate) login_ttl: i64,
}

/// How the authorization response is returned (OAuth 2.0 Multiple Response Types §2.1,
/// Form Post Response Mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    Query,
    FormPost,
}

/// A validated authorization request.
#[derive(Clone, Debug)]
pub(crate) struct AuthzRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) response_mode: ResponseMode,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) max_age: Option<i64>,
}

/// An authorization request waiting for the user to log in.
pub(crate) struct PendingLogin {
    pub(crate) request: AuthzRequest,
    pub(crate) expires_at: i64,
}

/// A logged-in browser session at the provider.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The public session id (`sid` claim).
    pub(crate) sid: String,
    /// The secret cookie value.
    pub(crate) cookie: String,
    pub(crate) username: String,
    pub(crate) auth_time: i64,
    /// Clients that received a code in this session.
    pub(crate) clients: BTreeSet<String>,
}

/// An issued, not yet redeemed authorization code.
pub(crate) struct CodeGrant {
    pub(crate) request: AuthzRequest,
    pub(crate) username: String,
    pub(crate) auth_time: i64,
    pub(crate) sid: String,
    pub(crate) expires_at: i64,
}

/// What an access token stands for.
#[derive(Clone, Debug)]
pub(crate) struct AccessGrant {
    pub(crate) client_id: String,
    /// `None` for client credentials.
    pub(crate) username: Option<String>,
    pub(crate) scope: String,
    pub(crate) sid: Option<String>,
    pub(crate) expires_at: i64,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) scope: String,
    pub(crate) sid: String,
    pub(crate) auth_time: i64,
}

/// Mutable grant and session storage.
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) pending: HashMap<String, PendingLogin>,
    pub(crate) codes: HashMap<String, CodeGrant>,
    /// Redeemed codes and the tokens issued for them, revoked if the code is replayed
    /// (RFC 6749 §4.1.2).
    pub(crate) spent_codes: HashMap<String, Vec<String>>,
    pub(crate) access: HashMap<String, AccessGrant>,
    pub(crate) refresh: HashMap<String, RefreshGrant>,
    pub(crate) sessions: HashMap<String, Session>,
    /// `jti`s of client assertions seen, with their expiry (replay protection).
    pub(crate) assertion_jtis: HashMap<String, i64>,
}

impl Store {
    /// Drop expired pending logins, codes, access tokens and assertion ids.
    pub(crate) fn purge(&mut self, now: i64) {
        self.pending.retain(|_, p| p.expires_at > now);
        self.codes.retain(|_, c| c.expires_at > now);
        self.access.retain(|_, a| a.expires_at > now);
        self.assertion_jtis.retain(|_, exp| *exp > now);
    }

    /// The session whose cookie value is `cookie`.
    pub(crate) fn session_by_cookie(&self, cookie: &str) -> Option<&Session> {
        self.sessions.values().find(|s| crate::util::ct_eq(&s.cookie, cookie))
    }

    /// Remove a session and revoke the tokens bound to it, except refresh tokens granted
    /// with `offline_access` (they outlive the browser session by design).
    pub(crate) fn end_session(&mut self, sid: &str) -> Option<Session> {
        let session = self.sessions.remove(sid)?;
        self.access.retain(|_, a| a.sid.as_deref() != Some(session.sid.as_str()));
        self.refresh.retain(|_, r| r.sid != session.sid || crate::util::scopes(&r.scope).contains(&"offline_access"));
        Some(session)
    }
}

/// Per-endpoint request counts, for single-flight and caching tests.
///
/// A snapshot taken by [`RunningProvider::counters`](crate::RunningProvider::counters).
///
/// # Example
/// ```
/// use rpkit_conformance::{Counters, Endpoint};
///
/// let c = Counters { discovery: 1, jwks: 2, ..Counters::default() };
/// assert_eq!(c.get(Endpoint::Jwks), 2);
/// assert_eq!(c.total(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests to the discovery document.
    pub discovery: u64,
    /// Requests to the JWKS.
    pub jwks: u64,
    /// Requests to the authorization endpoint (GET and POST, including login submissions).
    pub authorize: u64,
    /// Requests to the token endpoint.
    pub token: u64,
    /// Requests to the UserInfo endpoint.
    pub userinfo: u64,
    /// Requests to the end-session endpoint.
    pub end_session: u64,
    /// Back-channel logout tokens sent (attempts, successful or not).
    pub backchannel_logout: u64,
}

impl Counters {
    /// The count of one endpoint.
    pub fn get(&self, endpoint: Endpoint) -> u64 {
        match endpoint {
            Endpoint::Discovery => self.discovery,
            Endpoint::Jwks => self.jwks,
            Endpoint::Authorize => self.authorize,
            Endpoint::Token => self.token,
            Endpoint::Userinfo => self.userinfo,
            Endpoint::EndSession => self.end_session,
        }
    }

    /// All endpoint requests added up (back-channel deliveries not included).
    pub fn total(&self) -> u64 {
        Endpoint::ALL.iter().map(|e| self.get(*e)).sum()
    }
}

/// Atomic counters behind [`Counters`].
#[derive(Default)]
pub(crate) struct CounterCells {
    endpoints: [AtomicU64; 6],
    backchannel: AtomicU64,
}

impl CounterCells {
    fn index(endpoint: Endpoint) -> usize {
        match endpoint {
            Endpoint::Discovery => 0,
            Endpoint::Jwks => 1,
            Endpoint::Authorize => 2,
            Endpoint::Token => 3,
            Endpoint::Userinfo => 4,
            Endpoint::EndSession => 5,
        }
    }

    pub(crate) fn hit(&self, endpoint: Endpoint) {
        if let Some(c) = self.endpoints.get(Self::index(endpoint)) {
            c.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn backchannel_sent(&self) {
        self.backchannel.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let get = |e| self.endpoints.get(Self::index(e)).map_or(0, |c| c.load(Ordering::SeqCst));
        Counters {
            discovery: get(Endpoint::Discovery),
            jwks: get(Endpoint::Jwks),
            authorize: get(Endpoint::Authorize),
            token: get(Endpoint::Token),
            userinfo: get(Endpoint::Userinfo),
            end_session: get(Endpoint::EndSession),
            backchannel_logout: self.backchannel.load(Ordering::SeqCst),
        }
    }

    pub(crate) fn reset(&self) {
        for c in &self.endpoints {
            c.store(0, Ordering::SeqCst);
        }
        self.backchannel.store(0, Ordering::SeqCst);
    }
}

/// A token request as the provider saw it, for assertions in RP tests.
///
/// Secrets (`client_secret`, `client_assertion`) are replaced by `<redacted>`; the
/// authentication method tells how the client authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestRecord {
    /// The form parameters (secrets redacted).
    pub params: BTreeMap<String, String>,
    /// How the client authenticated, when authentication succeeded.
    pub auth_method: Option<AuthMethod>,
    /// The authenticated client, when authentication succeeded.
    pub client_id: Option<String>,
    /// The `Accept` header, if any.
    pub accept: Option<String>,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) issuer: String,
    pub(crate) clients: HashMap<String, ClientRegistration>,
    pub(crate) users: Vec<DevUser>,
    pub(crate) options: Options,
    pub(crate) keys: RwLock<Arc<KeySet>>,
    /// The key set the last rotation replaced (no longer served in the JWKS).
    pub(crate) retired_keys: RwLock<Option<Arc<KeySet>>>,
    pub(crate) decoy_keys: Mutex<Vec<Map<String, Value>>>,
    pub(crate) behavior: BehaviorHandle,
    pub(crate) counters: CounterCells,
    pub(crate) store: Mutex<Store>,
    pub(crate) http: reqwest::Client,
    pub(crate) cookie_name: String,
    pub(crate) last_authorization_request: Mutex<Option<BTreeMap<String, String>>>,
    pub(crate) last_token_request: Mutex<Option<TokenRequestRecord>>,
    /// Device authorizations (RFC 8628).
    pub(crate) device: crate::endpoints::device::DeviceState,
    /// Dynamically registered clients (RFC 7591).
    pub(crate) dynamic_clients: crate::endpoints::client_registration::DynamicClients,
    /// DPoP nonces, proof `jti`s, bound tokens and the proof log.
    pub(crate) dpop: crate::endpoints::dpop::DpopState,
    /// Pushed authorization requests (RFC 9126) and request objects seen.
    pub(crate) par: crate::endpoints::par::ParState,
}

impl Shared {
    /// The current key set.
    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The key set the last rotation retired, else the current one.
    pub(crate) fn retired_keys(&self) -> Arc<KeySet> {
        let retired = self.retired_keys.read().unwrap_or_else(PoisonError::into_inner).clone();
        retired.unwrap_or_else(|| self.keys())
    }

    /// Lock the grant store.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user called `username`.
    /// A registered client: static, else dynamically registered (RFC 7591).
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.clients.get(client_id).or_else(|| self.dynamic_clients.get(client_id))
    }

    pub(crate) fn user(&self, username: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// The URL of an endpoint.
    pub(crate) fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.issuer, endpoint.path())
    }
}

/// Lock a mutex, ignoring poisoning (a panicked handler leaves consistent data here).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
