//! Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
//!
//! - **RP-initiated** ([RP-Initiated Logout §2–§3](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)):
//!   [`LogoutRequest`] builds the end-session URL the browser is sent to (Authlib's
//!   `logout_redirect`); when a `post_logout_redirect_uri` is given it returns a
//!   [`PendingLogout`] to keep in the session, and [`validate_logout_response`] checks the
//!   `state` the provider sends back (Authlib's `validate_logout_response`).
//! - **Back-channel** ([Back-Channel Logout §2](https://openid.net/specs/openid-connect-backchannel-1_0.html)):
//!   the provider POSTs a `logout_token` to the client; [`parse_backchannel_request`]
//!   extracts it and [`validate_logout_token`] checks it (§2.6) and says which session
//!   (`sub`, `sid`) to end.
//!
//! ```
//! use rpkit::config::ClientConfig;
//! use rpkit::logout::{validate_logout_response, LogoutRequest};
//! use rpkit::rand::SeededRandom;
//! use rpkit::time::UnixTime;
//!
//! let cfg = ClientConfig::new("corp").client_id("app").end_session_endpoint("https://op.example/logout");
//! let now = UnixTime::from_secs(1_700_000_000);
//! let (url, pending) = LogoutRequest::new(&cfg, None)
//!     .post_logout_redirect_uri("https://app.example/logged-out")
//!     .build(&SeededRandom::new(1), now)
//!     .unwrap();
//! assert!(url.as_str().starts_with("https://op.example/logout?"));
//! let pending = pending.unwrap();
//!
//! // Later, the provider redirects to https://app.example/logged-out?state=…
//! let mut session = vec![pending];
//! let query = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| format!("state={v}")).unwrap();
//! let done = validate_logout_response(&query, &mut session, now.plus(5), 600).unwrap();
//! assert_eq!(done.post_logout_redirect_uri, "https://app.example/logged-out");
//! assert!(session.is_empty()); // single use
//! ```

use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{effective_id_token_algs, Endpoints, ProviderMetadata};
use crate::error::{Error, StateError};
use crate::jose::jwe::{self, DecryptionKey};
use crate::jose::{self, AlgPolicy, Algorithm};
use crate::jwks::JwkSet;
use crate::rand::{random_token, SecureRandom};
use crate::secret::{ClientSecret, IdTokenString, Nonce};
use crate::time::UnixTime;
use crate::wire;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The `events` member that marks a back-channel logout token (Back-Channel Logout §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Bytes of randomness in a generated logout `state` (128 bits).
const STATE_BYTES: usize = 16;

/// Why a logout response or logout token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The logout token has a `nonce`.
    #[error("a logout token must not contain a `nonce`")]
    Nonce,
    /// The back-channel request has no `logout_token` parameter.
    #[error("the back-channel logout request has no `logout_token`")]
    MissingLogoutToken,
    /// The logout token is encrypted (a JWE) and no decryption key is configured.
    #[error("the logout token is encrypted and no decryption key is configured")]
    NoDecryptionKey,
    /// The header's `typ` is neither `logout+jwt` nor `JWT` (Back-Channel Logout §2.4).
    #[error("the logout token's `typ` `{typ}` is not `logout+jwt`")]
    Type {
        /// The `typ` (truncated).
        typ: String,
    },
    /// `iss` is missing or not the provider's issuer.
    #[error("the logout token's issuer `{found}` is not the expected issuer `{expected}`")]
    Issuer {
        /// The issuer the client expects.
        expected: String,
        /// What the token says (empty when absent; truncated).
        found: String,
    },
    /// `aud` is missing or does not contain the `client_id`.
    #[error("the logout token is not addressed to this client")]
    Audience,
    /// `azp` is present but not the `client_id`, or missing with several audiences.
    #[error("the logout token's `azp` is not this client")]
    AuthorizedParty,
    /// `iat` is missing (or not a number).
    #[error("the logout token has no `iat`")]
    MissingIssuedAt,
    /// `iat` is later than now plus the leeway.
    #[error("the logout token was issued in the future (iat {iat}, now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// The time of validation.
        now: u64,
    },
    /// `iat` is older than the allowed age plus the leeway.
    #[error("the logout token is too old (iat {iat}, max age {max_age} s)")]
    TooOld {
        /// The token's `iat`.
        iat: u64,
        /// The allowed age in seconds.
        max_age: u64,
    },
    /// `exp` has passed (with leeway).
    #[error("the logout token expired at {exp}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
    },
    /// Neither `sub` nor `sid` is present (one is REQUIRED).
    #[error("the logout token has neither `sub` nor `sid`")]
    MissingSubjectAndSession,
    /// `events` is missing, or has no `http://schemas.openid.net/event/backchannel-logout`
    /// member whose value is a JSON object.
    #[error("the logout token has no back-channel logout event")]
    Events,
    /// `jti` is missing.
    #[error("the logout token has no `jti`")]
    MissingJti,
    /// A logout token with this `jti` was already accepted.
    #[error("the logout token was already used (replayed `jti`)")]
    Replay,
}

/// Whether (and which) `client_id` the end-session request carries.
///
/// `From<bool>` and `From<&str>`/`From<String>` let [`LogoutRequest::client_id`] take
/// `true`, `false` or a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClientIdParam {
    /// Send the configured `client_id` when a `post_logout_redirect_uri` is sent without an
    /// `id_token_hint`, the case RP-Initiated Logout §2 recommends it for.
    #[default]
    Auto,
    /// Always send the configured `client_id`.
    Include,
    /// Never send `client_id`.
    Omit,
    /// Send this value.
    Value(String),
}

impl From<bool> for ClientIdParam {
    fn from(include: bool) -> Self {
        if include {
            ClientIdParam::Include
        } else {
            ClientIdParam::Omit
        }
    }
}

impl From<&str> for ClientIdParam {
    fn from(value: &str) -> Self {
        ClientIdParam::Value(value.to_owned())
    }
}

impl From<String> for ClientIdParam {
    fn from(value: String) -> Self {
        ClientIdParam::Value(value)
    }
}

/// An RP-initiated logout request: the end-session URL to redirect the browser to
/// ([RP-Initiated Logout §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout)),
/// Authlib's `logout_redirect`.
///
/// The endpoint is the configured `end_session_endpoint`, else the metadata's. Query
/// parameters already in the endpoint URL are kept (a parameter this request sets
/// replaces one of the same name).
///
/// # Security
/// Send `id_token_hint` whenever you have the ID token: without it a provider may ask the
/// user to confirm, or ignore `post_logout_redirect_uri`. The generated `state` protects
/// the post-logout landing page against forged redirects; check it with
/// [`validate_logout_response`].
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::logout::LogoutRequest;
/// use rpkit::rand::SeededRandom;
/// use rpkit::secret::IdTokenString;
/// use rpkit::time::UnixTime;
///
/// let cfg = ClientConfig::new("corp").client_id("app").end_session_endpoint("https://op.example/end?tenant=7");
/// let (url, pending) = LogoutRequest::new(&cfg, None)
///     .id_token_hint(&IdTokenString::new("eyJ.eyJ.sig"))
///     .ui_locales("de en")
///     .build(&SeededRandom::new(1), UnixTime::from_secs(0))
///     .unwrap();
/// assert_eq!(url.as_str(), "https://op.example/end?tenant=7&id_token_hint=eyJ.eyJ.sig&ui_locales=de+en");
/// assert!(pending.is_none()); // no post-logout redirect, nothing to remember
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LogoutRequest<'a> {
    config: &'a ClientConfig,
    metadata: Option<&'a ProviderMetadata>,
    post_logout_redirect_uri: Option<String>,
    id_token_hint: Option<IdTokenString>,
    state: Option<String>,
    client_id: ClientIdParam,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
    extra: Vec<(String, String)>,
}

impl<'a> LogoutRequest<'a> {
    /// A logout request for the client `config`, with its (possibly absent) metadata.
    pub fn new(config: &'a ClientConfig, metadata: Option<&'a ProviderMetadata>) -> Self {
        LogoutRequest {
            config,
            metadata,
            post_logout_redirect_uri: None,
            id_token_hint: None,
            state: None,
            client_id: ClientIdParam::Auto,
            logout_hint: None,
            ui_locales: None,
            extra: Vec::new(),
        }
    }

    /// Where the provider sends the browser after logout (must be registered there).
    /// A `state` is generated when none is set, and a [`PendingLogout`] returned.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// The ID token issued at login (recommended).
    pub fn id_token_hint(mut self, id_token: &IdTokenString) -> Self {
        self.id_token_hint = Some(id_token.clone());
        self
    }

    /// An explicit `state` instead of a generated one.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Whether to send `client_id` (`true`/`false`) or which value (a string); see
    /// [`ClientIdParam`] for the default.
    pub fn client_id(mut self, client_id: impl Into<ClientIdParam>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// `logout_hint`: which user is logging out.
    pub fn logout_hint(mut self, hint: impl Into<String>) -> Self {
        self.logout_hint = Some(hint.into());
        self
    }

    /// `ui_locales`: space-separated BCP 47 language tags for the logout pages.
    pub fn ui_locales(mut self, locales: impl Into<String>) -> Self {
        self.ui_locales = Some(locales.into());
        self
    }

    /// Any other parameter (an extension the provider defines).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Builds the end-session URL and, when a `post_logout_redirect_uri` is sent, the
    /// [`PendingLogout`] to store until the provider redirects back.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`end_session_endpoint`)
    /// when neither configured nor discovered; [`Error::Malformed`] when the endpoint or
    /// the post-logout redirect URI is not an absolute URL; [`Error::Random`].
    pub fn build(self, rng: &dyn SecureRandom, now: UnixTime) -> Result<(url::Url, Option<PendingLogout>), Error> {
        let endpoints = Endpoints::resolve(self.config, self.metadata);
        let endpoint = endpoints.require_end_session(self.config)?;
        let mut url = wire::parse_url(endpoint, "end_session_endpoint")?;
        if let Some(uri) = &self.post_logout_redirect_uri {
            wire::parse_url(uri, "post_logout_redirect_uri")?;
        }

        let state = match (&self.state, &self.post_logout_redirect_uri) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(_)) => Some(random_token(rng, STATE_BYTES)?),
            (None, None) => None,
        };
        let client_id = match &self.client_id {
            ClientIdParam::Auto if self.post_logout_redirect_uri.is_some() && self.id_token_hint.is_none() => {
                self.config.client_id.clone()
            }
            ClientIdParam::Auto | ClientIdParam::Omit => None,
            ClientIdParam::Include => {
                Some(self.config.client_id.clone().ok_or_else(|| Error::Config(self.config.missing("client_id")))?)
            }
            ClientIdParam::Value(v) => Some(v.clone()),
        };

        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(hint) = &self.id_token_hint {
            params.push(("id_token_hint", hint.secret()));
        }
        if let Some(hint) = &self.logout_hint {
            params.push(("logout_hint", hint.as_str()));
        }
        if let Some(id) = &client_id {
            params.push(("client_id", id.as_str()));
        }
        if let Some(uri) = &self.post_logout_redirect_uri {
            params.push(("post_logout_redirect_uri", uri.as_str()));
        }
        if let Some(state) = &state {
            params.push(("state", state.as_str()));
        }
        if let Some(locales) = &self.ui_locales {
            params.push(("ui_locales", locales.as_str()));
        }
        for (k, v) in &self.extra {
            params.push((k.as_str(), v.as_str()));
        }

        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let all = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(params.iter().copied());
        let query = wire::form_encode(all);
        url.set_query(if query.is_empty() { None } else { Some(&query) });

        let pending = match (&self.post_logout_redirect_uri, state) {
            (Some(uri), Some(state)) => Some(PendingLogout {
                client: self.config.name.clone(),
                state: Nonce::new(state),
                post_logout_redirect_uri: uri.clone(),
                created_at: now,
            }),
            _ => None,
        };
        Ok((url, pending))
    }
}

/// What must survive between the logout redirect and the provider's redirect back: keep
/// it in the session (it is `serde`; its `Debug` hides the state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogout {
    /// The client's registered name.
    pub client: String,
    /// The `state` sent.
    pub state: Nonce,
    /// The `post_logout_redirect_uri` sent.
    pub post_logout_redirect_uri: String,
    /// When the logout request was built.
    pub created_at: UnixTime,
}

/// Adds `pending` to a session's list, dropping the oldest entries beyond `max` (at least
/// one entry is always kept), so the session cookie cannot grow without bound.
pub fn remember_pending_logout(store: &mut Vec<PendingLogout>, pending: PendingLogout, max: usize) {
    store.push(pending);
    let max = max.max(1);
    if store.len() > max {
        store.sort_by_key(|p| p.created_at);
        let excess = store.len() - max;
        store.drain(..excess);
    }
}

/// Checks the provider's redirect back after an RP-initiated logout (RP-Initiated Logout
/// §3) and returns the stored [`PendingLogout`] (Authlib's `validate_logout_response`).
///
/// `query` is the redirect's query string (a leading `?` is ignored). The matching entry
/// is removed from `pending` whatever the outcome, so a `state` works once; entries older
/// than `ttl` seconds are dropped too. States are compared in constant time.
///
/// # Errors
/// [`StateError::Missing`] without a `state`; [`StateError::Unknown`] when no pending entry
/// has it (`session_empty` when `pending` was empty: the session was probably lost);
/// [`StateError::Expired`] when the entry is older than `ttl`; [`StateError::Repeated`] when
/// `state` is repeated.
pub fn validate_logout_response(
    query: &str,
    pending: &mut Vec<PendingLogout>,
    now: UnixTime,
    ttl: u64,
) -> Result<PendingLogout, Error> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut states = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "state").map(|(_, v)| v);
    let state = states.next();
    if states.next().is_some() {
        return Err(StateError::Repeated.into());
    }
    validate_logout_state(state.as_deref(), pending, now, ttl)
}

/// [`validate_logout_response`] for a `state` already taken from the request (by a web
/// framework's query parser); `None` or empty means absent.
///
/// # Errors
/// As [`validate_logout_response`], except the repeated-`state` check, which is the
/// parser's business.
pub fn validate_logout_state(
    state: Option<&str>,
    pending: &mut Vec<PendingLogout>,
    now: UnixTime,
    ttl: u64,
) -> Result<PendingLogout, Error> {
    let state = match state {
        Some(s) if !s.is_empty() => s,
        _ => return Err(StateError::Missing.into()),
    };

    let session_empty = pending.is_empty();
    // Compare against every entry so timing does not reveal which (or whether one) matched.
    let mut found = None;
    for (i, p) in pending.iter().enumerate() {
        if p.state.ct_eq(state) && found.is_none() {
            found = Some(i);
        }
    }
    let matched = found.map(|i| pending.remove(i));
    pending.retain(|p| now.secs_since(p.created_at) <= ttl);
    let matched = matched.ok_or(StateError::Unknown { session_empty })?;
    if now.secs_since(matched.created_at) > ttl {
        return Err(StateError::Expired.into());
    }
    Ok(matched)
}

/// The default oldest acceptable logout token `iat`, in seconds before now.
pub const DEFAULT_LOGOUT_TOKEN_MAX_AGE: u64 = 600;

/// Remembers the `jti`s of accepted logout tokens, to refuse replays (Back-Channel Logout
/// §2.6 step 9 suggests it). Keep one per provider: `jti` is unique per issuer.
///
/// Implement it over a shared store (a database, Redis…) when several processes receive
/// logout requests; [`SeenJtis`] is an in-memory one.
pub trait JtiCache {
    /// Records `jti` until `until`; returns `false` when it was already recorded (and
    /// not yet forgotten). Must be atomic: two concurrent calls with the same `jti` must
    /// not both return `true`.
    fn insert_if_new(&mut self, jti: &str, until: UnixTime) -> bool;
}

/// A bounded in-memory [`JtiCache`]: entries are forgotten after their `until`, and the
/// soonest-to-expire are dropped beyond `capacity`.
///
/// ```
/// use rpkit::logout::{JtiCache, SeenJtis};
/// use rpkit::time::UnixTime;
/// let mut seen = SeenJtis::new(1000);
/// let t = UnixTime::from_secs(100);
/// assert!(seen.insert_if_new("j1", t));
/// assert!(!seen.insert_if_new("j1", t));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SeenJtis {
    entries: BTreeMap<String, UnixTime>,
    capacity: usize,
}

impl SeenJtis {
    /// An empty cache holding at most `capacity` (at least 1) entries.
    pub fn new(capacity: usize) -> Self {
        SeenJtis { entries: BTreeMap::new(), capacity: capacity.max(1) }
    }

    /// Forgets every entry whose `until` is before `now`.
    pub fn prune(&mut self, now: UnixTime) {
        self.entries.retain(|_, until| *until >= now);
    }

    /// How many `jti`s are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl JtiCache for SeenJtis {
    fn insert_if_new(&mut self, jti: &str, until: UnixTime) -> bool {
        if self.entries.contains_key(jti) {
            return false;
        }
        let capacity = self.capacity.max(1);
        while self.entries.len() >= capacity {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, u)| **u).map(|(k, _)| k.clone()) else { break };
            self.entries.remove(&oldest);
        }
        self.entries.insert(jti.to_owned(), until);
        true
    }
}

/// Which session(s) a valid logout token ends.
#[derive(Debug, Clone, PartialEq)]
pub struct LogoutTarget {
    /// `sub`: the user, when present.
    pub sub: Option<String>,
    /// `sid`: the provider's session id, when present.
    pub sid: Option<String>,
    /// `jti`.
    pub jti: String,
    /// `iat`.
    pub iat: UnixTime,
    /// All claims, for anything else the provider sends.
    pub claims: Claims,
}

impl LogoutTarget {
    /// Whether a local session of user `sub` with provider session `sid` is to end: with a
    /// `sid` in the token, the session's `sid` must equal it (and its `sub` too, when both
    /// are known); with only a `sub`, every session of that user ends.
    pub fn matches(&self, sub: Option<&str>, sid: Option<&str>) -> bool {
        let sub_ok = match (&self.sub, sub) {
            (Some(t), Some(s)) => t == s,
            (Some(_), None) => self.sid.is_some(),
            (None, _) => true,
        };
        let sid_ok = match (&self.sid, sid) {
            (Some(t), Some(s)) => t == s,
            (Some(_), None) => false,
            (None, _) => true,
        };
        sub_ok && sid_ok && (self.sub.is_some() || self.sid.is_some())
    }
}

/// The checks of a back-channel logout token
/// ([Back-Channel Logout §2.6](https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation)).
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::logout::BackchannelLogoutValidator;
/// let cfg = ClientConfig::new("corp").client_id("app").issuer("https://op.example");
/// let v = BackchannelLogoutValidator::from_config(&cfg, None).unwrap().leeway(30).max_age(120);
/// assert_eq!(v.issuer(), "https://op.example");
/// ```
#[derive(Debug, Clone)]
pub struct BackchannelLogoutValidator {
    issuer: String,
    client_id: String,
    policy: AlgPolicy,
    hmac_secret: Option<ClientSecret>,
    decryption_key: Option<DecryptionKey>,
    leeway: u64,
    max_age: u64,
}

impl BackchannelLogoutValidator {
    /// A validator for tokens from `issuer` to `client_id`, with the default policy
    /// (`RS256`), leeway ([`DEFAULT_LEEWAY`](crate::config::DEFAULT_LEEWAY)) and maximum age
    /// ([`DEFAULT_LOGOUT_TOKEN_MAX_AGE`]).
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        BackchannelLogoutValidator {
            issuer: issuer.into(),
            client_id: client_id.into(),
            policy: AlgPolicy::default(),
            hmac_secret: None,
            decryption_key: None,
            leeway: crate::config::DEFAULT_LEEWAY,
            max_age: DEFAULT_LOGOUT_TOKEN_MAX_AGE,
        }
    }

    /// The validator of a configured client: issuer and `client_id` as for ID tokens, the
    /// same algorithm allow-list ([`effective_id_token_algs`]), the client secret for `HS*`,
    /// the decryption key, `leeway`, and `id_token_max_age` as the maximum age.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) for `issuer` or
    /// `client_id`; [`JoseError::InvalidDecryptionKey`](crate::jose::JoseError::InvalidDecryptionKey).
    pub fn from_config(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> Result<Self, Error> {
        let issuer = Endpoints::resolve(config, metadata).require_issuer(config)?.to_owned();
        let client_id = config.client_id.clone().ok_or_else(|| Error::Config(config.missing("client_id")))?;
        let supported: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        let algs = effective_id_token_algs(config, metadata, &supported);
        Ok(BackchannelLogoutValidator {
            issuer,
            client_id,
            policy: AlgPolicy::new(&algs),
            hmac_secret: config.client_secret.clone(),
            // Parsed once per configuration: this runs on every unauthenticated POST to the
            // back-channel endpoint, and an RSA key's checks cost far more than the request.
            decryption_key: config.parsed_decryption_key()?,
            leeway: config.leeway(),
            max_age: config.client_kwargs.id_token_max_age.unwrap_or(DEFAULT_LOGOUT_TOKEN_MAX_AGE),
        })
    }

    /// Sets the allowed algorithms.
    #[must_use]
    pub fn policy(mut self, policy: AlgPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the HMAC key for `HS*` (the client secret).
    #[must_use]
    pub fn hmac_secret(mut self, secret: ClientSecret) -> Self {
        self.hmac_secret = Some(secret);
        self
    }

    /// Sets the key for encrypted logout tokens.
    #[must_use]
    pub fn decryption_key(mut self, key: DecryptionKey) -> Self {
        self.decryption_key = Some(key);
        self
    }

    /// Sets the clock leeway in seconds.
    #[must_use]
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Sets the oldest acceptable `iat`, in seconds before now.
    #[must_use]
    pub fn max_age(mut self, secs: u64) -> Self {
        self.max_age = secs;
        self
    }

    /// The expected issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Validates a logout token; see [`validate_logout_token`].
    ///
    /// # Errors
    /// As [`validate_logout_token`].
    pub fn validate(
        &self,
        compact: &str,
        keys: &JwkSet,
        now: UnixTime,
        jtis: Option<&mut dyn JtiCache>,
    ) -> Result<LogoutTarget, Error> {
        validate_logout_token(compact, self, keys, now, jtis)
    }
}

/// Validates a back-channel logout token (Back-Channel Logout §2.6) and says which
/// session(s) to end.
///
/// A JWE is decrypted first (with the validator's decryption key). Then: a JWS signed
/// with an allowed algorithm (`none` never; `HS*` only with the client secret) by a key of
/// `keys`; header `typ`, if present, `logout+jwt` (or `JWT`); `iss` exactly the issuer;
/// `aud` contains the `client_id`, and `azp` as for ID tokens; `iat` present, not in the
/// future and not older than `max_age` (both with leeway); `exp`, when present, not passed;
/// `sub` or `sid` present; `events` holds the back-channel logout event as a JSON object;
/// no `nonce`; `jti` present; and — when `jtis` is given — not seen before (it is recorded
/// only once every other check passed, until `iat + max_age + leeway`).
///
/// # Errors
/// [`Error::Jose`] (malformed, `alg: none`, algorithm not allowed, unknown `kid` — fetch the
/// JWKS again, rate-limited — bad signature, decryption), [`Error::Malformed`] for claims
/// of the wrong type, and a [`LogoutError`] for each claim check: `NoDecryptionKey`,
/// `Type`, `Issuer`, `Audience`, `AuthorizedParty`, `MissingIssuedAt`, `IssuedInFuture`,
/// `TooOld`, `Expired`, `MissingSubjectAndSession`, `Events`, `Nonce`, `MissingJti`,
/// `Replay`.
pub fn validate_logout_token(
    compact: &str,
    validator: &BackchannelLogoutValidator,
    keys: &JwkSet,
    now: UnixTime,
    jtis: Option<&mut dyn JtiCache>,
) -> Result<LogoutTarget, Error> {
    let v = validator;
    let compact = compact.trim();
    let decrypted;
    let jws = if jose::is_jwe(compact) {
        let key = v.decryption_key.as_ref().ok_or(LogoutError::NoDecryptionKey)?;
        decrypted = String::from_utf8(jwe::decrypt(compact, key)?)
            .map_err(|_| Error::malformed("logout token: decrypted content is not UTF-8"))?;
        decrypted.trim()
    } else {
        compact
    };
    let verified = jose::verify_jws(jws, keys, &v.policy, v.hmac_secret.as_ref())?;
    if let Some(typ) = &verified.header.typ {
        let t = typ.to_ascii_lowercase();
        let t = t.strip_prefix("application/").unwrap_or(&t);
        if t != "logout+jwt" && t != "jwt" {
            return Err(LogoutError::Type { typ: typ.chars().take(64).collect() }.into());
        }
    }
    let claims = verified.claims()?;

    let iss = claims.get("iss");
    if iss.and_then(Value::as_str) != Some(v.issuer.as_str()) {
        let found = match iss {
            None => String::new(),
            Some(Value::String(s)) => s.chars().take(256).collect(),
            Some(other) => other.to_string().chars().take(256).collect(),
        };
        return Err(LogoutError::Issuer { expected: v.issuer.clone(), found }.into());
    }
    let audiences = claims.audiences().ok_or(LogoutError::Audience)?;
    if !audiences.contains(&v.client_id.as_str()) {
        return Err(LogoutError::Audience.into());
    }
    match claims.get("azp") {
        Some(Value::String(azp)) if *azp == v.client_id => {}
        None if audiences.len() == 1 => {}
        _ => return Err(LogoutError::AuthorizedParty.into()),
    }

    let iat = claims.iat().ok_or(LogoutError::MissingIssuedAt)?;
    if iat > now.plus(v.leeway).as_secs() {
        return Err(LogoutError::IssuedInFuture { iat, now: now.as_secs() }.into());
    }
    if now.as_secs().saturating_sub(iat) > v.max_age.saturating_add(v.leeway) {
        return Err(LogoutError::TooOld { iat, max_age: v.max_age }.into());
    }
    match claims.get("exp") {
        None => {}
        Some(_) => {
            let exp = claims.exp().ok_or_else(|| Error::malformed("logout token: `exp` is not a number"))?;
            if now.as_secs() > exp.saturating_add(v.leeway) {
                return Err(LogoutError::Expired { exp }.into());
            }
        }
    }

    let text_claim = |name: &str| -> Result<Option<String>, Error> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(Error::malformed(format!("logout token: `{name}` is not a non-empty string"))),
        }
    };
    let sub = text_claim("sub")?;
    let sid = text_claim("sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(LogoutError::MissingSubjectAndSession.into());
    }
    let event_ok = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !event_ok {
        return Err(LogoutError::Events.into());
    }
    if claims.get("nonce").is_some() {
        return Err(LogoutError::Nonce.into());
    }
    let jti = text_claim("jti")?.ok_or(LogoutError::MissingJti)?;
    if let Some(cache) = jtis {
        let until = UnixTime::from_secs(iat).plus(v.max_age).plus(v.leeway);
        if !cache.insert_if_new(&jti, until) {
            return Err(LogoutError::Replay.into());
        }
    }
    Ok(LogoutTarget { sub, sid, jti, iat: UnixTime::from_secs(iat), claims })
}

/// Extracts the `logout_token` from a back-channel logout POST body
/// (`application/x-www-form-urlencoded`, Back-Channel Logout §2.5).
///
/// # Errors
/// [`LogoutError::MissingLogoutToken`] when absent or empty; [`Error::Malformed`] when the
/// body is too large, not UTF-8, or repeats `logout_token`.
pub fn parse_backchannel_request(body: &[u8]) -> Result<String, Error> {
    if body.len() > wire::MAX_RESPONSE_BYTES {
        return Err(Error::bad_request("back-channel logout request: body too large"));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(Error::bad_request("back-channel logout request: body is not UTF-8"));
    }
    let mut tokens = url::form_urlencoded::parse(body).filter(|(k, _)| k == "logout_token").map(|(_, v)| v);
    let token = tokens.next();
    if tokens.next().is_some() {
        return Err(Error::bad_request("back-channel logout request: `logout_token` is repeated"));
    }
    match token {
        Some(t) if !t.is_empty() => Ok(t.into_owned()),
        _ => Err(LogoutError::MissingLogoutToken.into()),
    }
}

/// The HTTP response to send back to the provider after handling a back-channel logout
/// request (Back-Channel Logout §2.8): `200 OK` on success, `400 Bad Request` with an
/// `invalid_request` JSON body on failure; always `Cache-Control: no-store`.
pub fn backchannel_response<T>(outcome: &Result<T, Error>) -> http::Response<Vec<u8>> {
    let (status, body) = match outcome {
        Ok(_) => (http::StatusCode::OK, Vec::new()),
        Err(_) => (http::StatusCode::BAD_REQUEST, br#"{"error":"invalid_request"}"#.to_vec()),
    };
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    if status != http::StatusCode::OK {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use crate::jose::testkeys::Signer;
    use crate::jose::JoseError;
    use crate::rand::SeededRandom;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    const AFTER: &str = "https://app.example/logged-out";

    fn cfg() -> ClientConfig {
        ClientConfig::new("corp").client_id("app").end_session_endpoint("https://op.example/logout")
    }

    fn params(url: &url::Url) -> Vec<(String, String)> {
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn param(url: &url::Url, key: &str) -> Option<String> {
        url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    fn pending_for(state: &str, created_at: UnixTime) -> PendingLogout {
        PendingLogout {
            client: "corp".into(),
            state: Nonce::new(state),
            post_logout_redirect_uri: AFTER.into(),
            created_at,
        }
    }

    #[test]
    fn logout_with_redirect_generates_a_long_state_and_a_pending_entry() {
        let (url, pending) =
            LogoutRequest::new(&cfg(), None).post_logout_redirect_uri(AFTER).build(&SeededRandom::new(1), NOW).unwrap();
        let state = param(&url, "state").unwrap();
        assert!(state.len() >= 22, "128 bits of base64url");
        let pending = pending.unwrap();
        assert!(pending.state.ct_eq(&state));
        assert_eq!(pending.client, "corp");
        assert_eq!(pending.post_logout_redirect_uri, AFTER);
        assert_eq!(pending.created_at, NOW);
        assert_eq!(param(&url, "post_logout_redirect_uri").as_deref(), Some(AFTER));
    }

    #[test]
    fn generated_states_differ_between_requests() {
        let rng = SeededRandom::new(9);
        let a = LogoutRequest::new(&cfg(), None).post_logout_redirect_uri(AFTER).build(&rng, NOW).unwrap().0;
        let b = LogoutRequest::new(&cfg(), None).post_logout_redirect_uri(AFTER).build(&rng, NOW).unwrap().0;
        assert_ne!(param(&a, "state"), param(&b, "state"));
    }

    #[test]
    fn explicit_state_is_used_as_given() {
        let (url, pending) = LogoutRequest::new(&cfg(), None)
            .post_logout_redirect_uri(AFTER)
            .state("my-state")
            .build(&SeededRandom::new(1), NOW)
            .unwrap();
        assert_eq!(param(&url, "state").as_deref(), Some("my-state"));
        assert!(pending.unwrap().state.ct_eq("my-state"));
    }

    #[test]
    fn all_parameters_are_sent_and_existing_query_is_kept() {
        let cfg = cfg().end_session_endpoint("https://op.example/logout?tenant=7&ui_locales=fr");
        let (url, _) = LogoutRequest::new(&cfg, None)
            .post_logout_redirect_uri(AFTER)
            .id_token_hint(&IdTokenString::new("h.p.s"))
            .state("s1")
            .client_id(true)
            .logout_hint("alice@example.com")
            .ui_locales("de en")
            .param("x_ext", "1")
            .build(&SeededRandom::new(1), NOW)
            .unwrap();
        let expected: Vec<(String, String)> = [
            ("tenant", "7"),
            ("id_token_hint", "h.p.s"),
            ("logout_hint", "alice@example.com"),
            ("client_id", "app"),
            ("post_logout_redirect_uri", AFTER),
            ("state", "s1"),
            ("ui_locales", "de en"),
            ("x_ext", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(params(&url), expected);
    }

    #[test]
    fn client_id_is_sent_automatically_only_without_id_token_hint() {
        let rng = SeededRandom::new(1);
        let (url, _) = LogoutRequest::new(&cfg(), None).post_logout_redirect_uri(AFTER).build(&rng, NOW).unwrap();
        assert_eq!(param(&url, "client_id").as_deref(), Some("app"));
        let (url, _) = LogoutRequest::new(&cfg(), None)
            .post_logout_redirect_uri(AFTER)
            .id_token_hint(&IdTokenString::new("h.p.s"))
            .build(&rng, NOW)
            .unwrap();
        assert_eq!(param(&url, "client_id"), None);
        let (url, _) =
            LogoutRequest::new(&cfg(), None).post_logout_redirect_uri(AFTER).client_id(false).build(&rng, NOW).unwrap();
        assert_eq!(param(&url, "client_id"), None);
        let (url, _) = LogoutRequest::new(&cfg(), None).client_id("other").build(&rng, NOW).unwrap();
        assert_eq!(param(&url, "client_id").as_deref(), Some("other"));
    }

    #[test]
    fn logout_without_redirect_has_no_pending_entry() {
        let (url, pending) = LogoutRequest::new(&cfg(), None).build(&SeededRandom::new(1), NOW).unwrap();
        assert_eq!(url.as_str(), "https://op.example/logout");
        assert!(pending.is_none());
    }

    #[test]
    fn end_session_endpoint_comes_from_metadata_when_not_configured() {
        let cfg = ClientConfig::new("corp").client_id("app");
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            end_session_endpoint: Some("https://op.example/md-logout".into()),
            ..Default::default()
        };
        let (url, _) = LogoutRequest::new(&cfg, Some(&md)).build(&SeededRandom::new(1), NOW).unwrap();
        assert_eq!(url.as_str(), "https://op.example/md-logout");
    }

    #[test]
    fn missing_end_session_endpoint_is_a_config_error() {
        let cfg = ClientConfig::new("corp");
        let err = LogoutRequest::new(&cfg, None).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(
            err,
            Error::Config(ConfigError::Missing { client: "corp".into(), key: "end_session_endpoint".into() })
        );
    }

    #[test]
    fn relative_post_logout_redirect_uri_is_a_configuration_error() {
        let err = LogoutRequest::new(&cfg(), None).post_logout_redirect_uri("/done").build(&SeededRandom::new(1), NOW);
        assert!(matches!(err, Err(Error::Config(crate::error::ConfigError::Unusable { .. }))));
    }

    #[test]
    fn client_id_true_without_a_configured_id_is_a_config_error() {
        let cfg = ClientConfig::new("corp").end_session_endpoint("https://op.example/logout");
        let err = LogoutRequest::new(&cfg, None).client_id(true).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { key, .. }) if key == "client_id"));
    }

    #[test]
    fn pending_logout_debug_hides_the_state_and_round_trips() {
        let p = pending_for("secret-state", NOW);
        assert!(!format!("{p:?}").contains("secret-state"));
        let back: PendingLogout = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn logout_response_with_the_stored_state_returns_the_pending_data() {
        let mut store = vec![pending_for("other", NOW), pending_for("abc", NOW)];
        let got = validate_logout_response("?state=abc", &mut store, NOW.plus(10), 600).unwrap();
        assert!(got.state.ct_eq("abc"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn replayed_logout_response_is_rejected() {
        let mut store = vec![pending_for("abc", NOW)];
        validate_logout_response("state=abc", &mut store, NOW, 600).unwrap();
        let err = validate_logout_response("state=abc", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn logout_response_without_state_is_rejected() {
        let mut store = vec![pending_for("abc", NOW)];
        for q in ["", "foo=bar", "state="] {
            let err = validate_logout_response(q, &mut store, NOW, 600).unwrap_err();
            assert_eq!(err, Error::State(StateError::Missing), "{q}");
        }
        assert_eq!(store.len(), 1, "a missing state consumes nothing");
    }

    #[test]
    fn logout_response_with_unknown_state_is_rejected() {
        let mut store = vec![pending_for("abc", NOW)];
        let err = validate_logout_response("state=abd", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: false }));
        let err = validate_logout_response("state=abc", &mut Vec::new(), NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn expired_logout_response_is_rejected_and_consumed() {
        let mut store = vec![pending_for("abc", NOW)];
        let err = validate_logout_response("state=abc", &mut store, NOW.plus(601), 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Expired));
        assert!(store.is_empty());
    }

    #[test]
    fn parsed_state_is_validated_like_a_query() {
        let mut store = vec![pending_for("abc", NOW)];
        assert_eq!(validate_logout_state(None, &mut store, NOW, 600), Err(Error::State(StateError::Missing)));
        assert!(validate_logout_state(Some("abc"), &mut store, NOW, 600).is_ok());
        assert_eq!(
            validate_logout_state(Some("abc"), &mut store, NOW, 600),
            Err(Error::State(StateError::Unknown { session_empty: true }))
        );
    }

    #[test]
    fn repeated_state_is_a_typed_state_error_and_consumes_nothing() {
        let mut store = vec![pending_for("abc", NOW)];
        let err = validate_logout_response("state=abc&state=abc", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Repeated));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn pending_logouts_are_bounded() {
        let mut store = Vec::new();
        for i in 0..5 {
            remember_pending_logout(&mut store, pending_for(&format!("s{i}"), NOW.plus(i)), 3);
        }
        assert_eq!(store.len(), 3);
        assert!(store[0].state.ct_eq("s2"));
    }

    #[test]
    fn backchannel_request_yields_the_logout_token() {
        assert_eq!(parse_backchannel_request(b"logout_token=a.b.c").unwrap(), "a.b.c");
        assert_eq!(parse_backchannel_request(b"x=1&logout_token=a%2Eb.c").unwrap(), "a.b.c");
    }

    #[test]
    fn backchannel_request_without_token_is_rejected() {
        for body in [&b""[..], b"token=a.b.c", b"logout_token="] {
            let err = parse_backchannel_request(body).unwrap_err();
            assert_eq!(err, Error::Logout(LogoutError::MissingLogoutToken));
        }
    }

    #[test]
    fn backchannel_request_with_repeated_token_or_bad_bytes_is_a_bad_request() {
        assert!(matches!(parse_backchannel_request(b"logout_token=a&logout_token=b"), Err(Error::BadRequest { .. })));
        assert!(matches!(parse_backchannel_request(b"logout_token=\xff\xfe"), Err(Error::BadRequest { .. })));
    }

    #[test]
    fn backchannel_response_says_ok_or_bad_request_and_is_not_cached() {
        let ok = backchannel_response::<()>(&Ok(()));
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()[http::header::CACHE_CONTROL], "no-store");
        let bad = backchannel_response::<()>(&Err(LogoutError::Nonce.into()));
        assert_eq!(bad.status(), 400);
        assert_eq!(bad.body(), br#"{"error":"invalid_request"}"#);
    }

    // ---- back-channel logout tokens ----

    const ISS: &str = "https://op.example";

    #[test]
    fn the_backchannel_validator_parses_the_decryption_key_once_per_configuration() {
        let material = crate::secret::PrivateKeyMaterial::new(crate::jose::testkeys::P256_PEM);
        let config =
            ClientConfig::new("op").client_id("c").issuer("https://op.example").decryption_key(material.clone());
        for _ in 0..3 {
            let v = BackchannelLogoutValidator::from_config(&config, None).unwrap();
            assert!(v.decryption_key.is_some());
        }
        // The key is kept with the configuration (and its clones): asking again parses nothing.
        let kept = config
            .clone()
            .parsed_keys
            .decryption
            .get_or_parse(&material, |_| -> Result<_, Error> { panic!("parsed a second time") });
        assert!(kept.is_ok());
    }

    fn validator() -> BackchannelLogoutValidator {
        BackchannelLogoutValidator::new(ISS, "app").policy(AlgPolicy::new(["ES256", "EdDSA"]))
    }

    fn logout_claims() -> serde_json::Value {
        json!({
            "iss": ISS,
            "aud": "app",
            "iat": NOW.as_secs() - 5,
            "jti": "jti-1",
            "sub": "user-1",
            "sid": "sid-1",
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        })
    }

    fn logout_jwt(claims: &serde_json::Value) -> String {
        let signer = Signer::es256();
        let mut header = signer.header();
        header["typ"] = json!("logout+jwt");
        signer.sign_with_header(&header, claims.to_string().as_bytes())
    }

    fn keys() -> JwkSet {
        Signer::es256().jwks()
    }

    fn check(claims: &serde_json::Value) -> Result<LogoutTarget, Error> {
        validate_logout_token(&logout_jwt(claims), &validator(), &keys(), NOW, None)
    }

    fn with(mutate: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> serde_json::Value {
        let mut c = logout_claims();
        if let Some(map) = c.as_object_mut() {
            mutate(map);
        }
        c
    }

    fn logout_err(claims: &serde_json::Value) -> LogoutError {
        match check(claims) {
            Err(Error::Logout(e)) => e,
            other => panic!("expected a logout error, got {other:?}"),
        }
    }

    #[test]
    fn valid_logout_token_names_the_session() {
        let t = check(&logout_claims()).unwrap();
        assert_eq!(t.sub.as_deref(), Some("user-1"));
        assert_eq!(t.sid.as_deref(), Some("sid-1"));
        assert_eq!(t.jti, "jti-1");
        assert_eq!(t.iat, NOW.minus(5));
        assert_eq!(t.claims.iss(), Some(ISS));
    }

    #[test]
    fn logout_token_with_jwt_typ_or_none_is_accepted() {
        let signer = Signer::es256();
        let jwt = signer.sign(&logout_claims()); // typ: JWT
        assert!(validate_logout_token(&jwt, &validator(), &keys(), NOW, None).is_ok());
        let mut header = signer.header();
        header.as_object_mut().unwrap().remove("typ");
        let jwt = signer.sign_with_header(&header, logout_claims().to_string().as_bytes());
        assert!(validate_logout_token(&jwt, &validator(), &keys(), NOW, None).is_ok());
    }

    #[test]
    fn logout_token_with_another_typ_is_rejected() {
        let signer = Signer::es256();
        let mut header = signer.header();
        header["typ"] = json!("at+jwt");
        let jwt = signer.sign_with_header(&header, logout_claims().to_string().as_bytes());
        let err = validate_logout_token(&jwt, &validator(), &keys(), NOW, None).unwrap_err();
        assert_eq!(err, Error::Logout(LogoutError::Type { typ: "at+jwt".into() }));
    }

    #[test]
    fn unsigned_logout_token_is_rejected() {
        let jwt = format!(
            "{}.{}.",
            jose::b64::encode(br#"{"alg":"none","typ":"logout+jwt"}"#),
            jose::b64::encode(logout_claims().to_string().as_bytes())
        );
        let err = validate_logout_token(&jwt, &validator(), &keys(), NOW, None).unwrap_err();
        assert_eq!(err, Error::Jose(JoseError::AlgNone));
    }

    #[test]
    fn logout_token_with_a_disallowed_alg_is_rejected() {
        let v = validator().policy(AlgPolicy::default());
        let err = validate_logout_token(&logout_jwt(&logout_claims()), &v, &keys(), NOW, None).unwrap_err();
        assert!(matches!(err, Error::Jose(JoseError::AlgorithmNotAllowed { .. })));
    }

    #[test]
    fn logout_token_signed_by_another_key_is_rejected() {
        let forger = Signer::ed25519(7).with_kid(Some("p256")).with_alg(Algorithm::EdDsa);
        let jwt = forger.sign(&logout_claims());
        let err = validate_logout_token(&jwt, &validator(), &keys(), NOW, None).unwrap_err();
        assert!(matches!(err, Error::Jose(ref e) if !e.is_unknown_key()), "{err:?}");
        // The payload swapped for another user's, the signature kept.
        let genuine = logout_jwt(&logout_claims());
        let parts: Vec<&str> = genuine.split('.').collect();
        let other = with(|c| drop(c.insert("sub".into(), json!("victim"))));
        let tampered = format!("{}.{}.{}", parts[0], jose::b64::encode(other.to_string().as_bytes()), parts[2]);
        let err = validate_logout_token(&tampered, &validator(), &keys(), NOW, None).unwrap_err();
        assert_eq!(err, Error::Jose(JoseError::BadSignature));
    }

    #[test]
    fn logout_token_with_unknown_kid_asks_for_a_jwks_refetch() {
        let signer = Signer::es256().with_kid(Some("new-key"));
        let err = validate_logout_token(&signer.sign(&logout_claims()), &validator(), &keys(), NOW, None).unwrap_err();
        assert!(matches!(&err, Error::Jose(e) if e.is_unknown_key()), "{err:?}");
    }

    #[test]
    fn hmac_logout_token_needs_the_client_secret() {
        let secret = "a-client-secret-of-at-least-32-bytes!";
        let jwt = Signer::hmac(Algorithm::Hs256, secret).sign(&logout_claims());
        let v = validator().policy(AlgPolicy::new(["HS256"]));
        assert!(matches!(validate_logout_token(&jwt, &v, &keys(), NOW, None), Err(Error::Jose(_))));
        let v = v.hmac_secret(ClientSecret::new(secret));
        assert!(validate_logout_token(&jwt, &v, &keys(), NOW, None).is_ok());
    }

    #[test]
    fn logout_token_from_another_issuer_is_rejected() {
        let err = logout_err(&with(|c| {
            c.insert("iss".into(), json!("https://op.example/"));
        }));
        assert_eq!(err, LogoutError::Issuer { expected: ISS.into(), found: "https://op.example/".into() });
        let err = logout_err(&with(|c| {
            c.remove("iss");
        }));
        assert_eq!(err, LogoutError::Issuer { expected: ISS.into(), found: String::new() });
    }

    #[test]
    fn logout_token_for_another_client_is_rejected() {
        assert_eq!(logout_err(&with(|c| drop(c.insert("aud".into(), json!("other"))))), LogoutError::Audience);
        assert_eq!(logout_err(&with(|c| drop(c.remove("aud")))), LogoutError::Audience);
        assert_eq!(logout_err(&with(|c| drop(c.insert("aud".into(), json!(5))))), LogoutError::Audience);
    }

    #[test]
    fn logout_token_with_several_audiences_needs_azp() {
        let multi = with(|c| drop(c.insert("aud".into(), json!(["app", "other"]))));
        assert_eq!(logout_err(&multi), LogoutError::AuthorizedParty);
        let mut ok = multi.clone();
        ok["azp"] = json!("app");
        assert!(check(&ok).is_ok());
        let mut wrong = multi;
        wrong["azp"] = json!("other");
        assert_eq!(logout_err(&wrong), LogoutError::AuthorizedParty);
        assert_eq!(logout_err(&with(|c| drop(c.insert("azp".into(), json!("other"))))), LogoutError::AuthorizedParty);
    }

    #[test]
    fn logout_token_without_iat_is_rejected() {
        assert_eq!(logout_err(&with(|c| drop(c.remove("iat")))), LogoutError::MissingIssuedAt);
        assert_eq!(logout_err(&with(|c| drop(c.insert("iat".into(), json!("now"))))), LogoutError::MissingIssuedAt);
    }

    #[test]
    fn logout_token_from_the_future_is_rejected_beyond_leeway() {
        let future = NOW.as_secs() + 61;
        let err = logout_err(&with(|c| drop(c.insert("iat".into(), json!(future)))));
        assert_eq!(err, LogoutError::IssuedInFuture { iat: future, now: NOW.as_secs() });
        assert!(check(&with(|c| drop(c.insert("iat".into(), json!(NOW.as_secs() + 60))))).is_ok());
    }

    #[test]
    fn old_logout_token_is_rejected() {
        let old = NOW.as_secs() - DEFAULT_LOGOUT_TOKEN_MAX_AGE - 61;
        let err = logout_err(&with(|c| drop(c.insert("iat".into(), json!(old)))));
        assert_eq!(err, LogoutError::TooOld { iat: old, max_age: DEFAULT_LOGOUT_TOKEN_MAX_AGE });
    }

    #[test]
    fn expired_logout_token_is_rejected() {
        let exp = NOW.as_secs() - 61;
        assert_eq!(logout_err(&with(|c| drop(c.insert("exp".into(), json!(exp))))), LogoutError::Expired { exp });
        assert!(check(&with(|c| drop(c.insert("exp".into(), json!(NOW.as_secs() + 120))))).is_ok());
        assert!(matches!(check(&with(|c| drop(c.insert("exp".into(), json!("later"))))), Err(Error::Malformed { .. })));
    }

    #[test]
    fn logout_token_needs_sub_or_sid() {
        let neither = with(|c| {
            c.remove("sub");
            c.remove("sid");
        });
        assert_eq!(logout_err(&neither), LogoutError::MissingSubjectAndSession);
        let t = check(&with(|c| drop(c.remove("sub")))).unwrap();
        assert_eq!((t.sub, t.sid.as_deref()), (None, Some("sid-1")));
        let t = check(&with(|c| drop(c.remove("sid")))).unwrap();
        assert_eq!((t.sub.as_deref(), t.sid), (Some("user-1"), None));
    }

    #[test]
    fn logout_token_without_the_logout_event_is_rejected() {
        for events in
            [json!(null), json!({}), json!({BACKCHANNEL_LOGOUT_EVENT: true}), json!([BACKCHANNEL_LOGOUT_EVENT])]
        {
            assert_eq!(logout_err(&with(|c| drop(c.insert("events".into(), events.clone())))), LogoutError::Events);
        }
        assert_eq!(logout_err(&with(|c| drop(c.remove("events")))), LogoutError::Events);
    }

    #[test]
    fn logout_token_with_a_nonce_is_rejected() {
        assert_eq!(logout_err(&with(|c| drop(c.insert("nonce".into(), json!("n"))))), LogoutError::Nonce);
    }

    #[test]
    fn logout_token_without_jti_is_rejected() {
        assert_eq!(logout_err(&with(|c| drop(c.remove("jti")))), LogoutError::MissingJti);
    }

    #[test]
    fn replayed_logout_token_is_rejected() {
        let jwt = logout_jwt(&logout_claims());
        let mut seen = SeenJtis::new(10);
        validate_logout_token(&jwt, &validator(), &keys(), NOW, Some(&mut seen)).unwrap();
        let err = validator().validate(&jwt, &keys(), NOW, Some(&mut seen)).unwrap_err();
        assert_eq!(err, Error::Logout(LogoutError::Replay));
    }

    #[test]
    fn rejected_logout_token_does_not_consume_its_jti() {
        let mut seen = SeenJtis::new(10);
        let bad = logout_jwt(&with(|c| drop(c.insert("nonce".into(), json!("n")))));
        assert!(validate_logout_token(&bad, &validator(), &keys(), NOW, Some(&mut seen)).is_err());
        assert!(seen.is_empty());
        let good = logout_jwt(&logout_claims());
        assert!(validate_logout_token(&good, &validator(), &keys(), NOW, Some(&mut seen)).is_ok());
    }

    #[test]
    fn encrypted_logout_token_is_decrypted_then_verified() {
        use crate::jose::jwe::tests::{encrypt, key};
        let jwe =
            encrypt(logout_jwt(&logout_claims()).as_bytes(), crate::jose::testkeys::P256_PEM, "ECDH-ES", "A128GCM");
        let v = validator().decryption_key(key(crate::jose::testkeys::P256_PEM));
        assert_eq!(validate_logout_token(&jwe, &v, &keys(), NOW, None).unwrap().jti, "jti-1");
    }

    #[test]
    fn encrypted_logout_token_without_a_key_is_rejected() {
        let err = validate_logout_token("h.k.iv.ct.tag", &validator(), &keys(), NOW, None).unwrap_err();
        assert_eq!(err, Error::Logout(LogoutError::NoDecryptionKey));
    }

    #[test]
    fn validator_from_config_takes_issuer_client_and_settings() {
        let cfg = ClientConfig::new("corp").client_id("app").issuer(ISS).id_token_algs(["ES256"]);
        let v = BackchannelLogoutValidator::from_config(&cfg, None).unwrap();
        assert!(validate_logout_token(&logout_jwt(&logout_claims()), &v, &keys(), NOW, None).is_ok());
        let err =
            BackchannelLogoutValidator::from_config(&ClientConfig::new("corp").client_id("app"), None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { key, .. }) if key == "issuer"));
        let err = BackchannelLogoutValidator::from_config(&ClientConfig::new("corp").issuer(ISS), None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { key, .. }) if key == "client_id"));
    }

    #[test]
    fn logout_target_matches_sessions_by_sid_then_sub() {
        let t = check(&logout_claims()).unwrap();
        assert!(t.matches(Some("user-1"), Some("sid-1")));
        assert!(!t.matches(Some("user-1"), Some("sid-2")));
        assert!(!t.matches(Some("user-2"), Some("sid-1")));
        assert!(!t.matches(Some("user-1"), None));
        let by_sub = check(&with(|c| drop(c.remove("sid")))).unwrap();
        assert!(by_sub.matches(Some("user-1"), Some("any")));
        assert!(!by_sub.matches(Some("user-2"), None));
    }

    #[test]
    fn seen_jtis_are_bounded_and_forgotten_after_expiry() {
        let mut seen = SeenJtis::new(2);
        assert!(seen.insert_if_new("a", UnixTime::from_secs(10)));
        assert!(seen.insert_if_new("b", UnixTime::from_secs(20)));
        assert!(seen.insert_if_new("c", UnixTime::from_secs(30)));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert_if_new("a", UnixTime::from_secs(10)), "the soonest-expiring entry was dropped");
        seen.prune(UnixTime::from_secs(25));
        assert_eq!(seen.len(), 1);
        assert!(!seen.insert_if_new("c", UnixTime::from_secs(30)));
    }

    proptest! {
        #[test]
        fn validate_logout_token_never_panics(compact in "[A-Za-z0-9_.=-]{0,200}") {
            let _ = validate_logout_token(&compact, &validator(), &keys(), NOW, Some(&mut SeenJtis::new(4)));
        }

        #[test]
        fn validate_logout_token_never_panics_on_signed_odd_claims(
            member in "(iss|aud|iat|exp|sub|sid|jti|events|nonce|azp)",
            value in prop_oneof![
                Just(json!(null)), Just(json!(-1)), Just(json!(1.5e300)), Just(json!("")),
                Just(json!([])), Just(json!({})), Just(json!([1, "app"])), Just(json!(u64::MAX)),
            ],
        ) {
            let claims = with(|c| drop(c.insert(member.clone(), value.clone())));
            let _ = check(&claims);
        }

        #[test]
        fn validate_logout_response_never_panics(query in ".{0,128}", ttl in any::<u64>(), at in any::<u64>()) {
            let mut store = vec![pending_for("abc", NOW)];
            let _ = validate_logout_response(&query, &mut store, UnixTime::from_secs(at), ttl);
        }

        #[test]
        fn parse_backchannel_request_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_backchannel_request(&body);
        }
    }
}
