//! Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
//!
//! - **RP-initiated** ([RP-Initiated Logout §2–§3](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)):
//!   [`LogoutRequest`] builds the end-session URL the browser is sent to (Authlib's
//!   `logout_redirect`); when a `post_logout_redirect_uri` is given it returns a
//!   [`PendingLogout`] to keep in the session, and [`validate_logout_response`] checks the
//!   `state` the provider sends back (Authlib's `validate_logout_response`).
//! - **Back-channel** ([Back-Channel Logout §2](https://openid.net/specs/openid-connect-backchannel-1_0.html)):
//!   in its own module, [`crate::backchannel`]; its items are re-exported here.
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
//! let mut session = rpkit::logout::PendingLogouts::new();
//! session.insert(pending, 8);
//! let query = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| format!("state={v}")).unwrap();
//! let done = validate_logout_response(&query, &mut session, now.plus(5), 600).unwrap();
//! assert_eq!(done.post_logout_redirect_uri, "https://app.example/logged-out");
//! assert!(session.is_empty()); // single use
//! ```

use crate::config::ClientConfig;
use crate::discovery::{Endpoints, ProviderMetadata};
use crate::error::{Error, StateError};
use crate::pending::{Pending, PendingStore, STATE_BYTES};
use crate::rand::{random_token, SecureRandom};
use crate::secret::{IdTokenString, Nonce};
use crate::time::UnixTime;
use crate::wire;
use serde::{Deserialize, Serialize};

pub use crate::backchannel::{
    backchannel_response, parse_backchannel_request, validate_logout_token, BackchannelLogoutValidator, JtiCache,
    LogoutTarget, SeenJtis, BACKCHANNEL_LOGOUT_EVENT, DEFAULT_LOGOUT_TOKEN_MAX_AGE,
};

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
    /// A decryption key is configured (the client registered for encrypted tokens), and
    /// the logout token is not encrypted: the same rule as for ID tokens.
    #[error("the logout token must be encrypted and is not")]
    EncryptionRequired,
    /// The logout token's `nbf` is still in the future.
    #[error("the logout token is not valid yet (`nbf`)")]
    NotYetValid,
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

/// The pending RP-initiated logouts of one session: a [`PendingStore`] (bounded,
/// expiring, single-use, constant-time) keyed by `state`.
pub type PendingLogouts = PendingStore<PendingLogout>;

impl Pending for PendingLogout {
    fn key(&self) -> &str {
        self.state.secret()
    }

    fn created_at(&self) -> UnixTime {
        self.created_at
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
    pending: &mut PendingLogouts,
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
    pending: &mut PendingLogouts,
    now: UnixTime,
    ttl: u64,
) -> Result<PendingLogout, Error> {
    Ok(pending.take(state, now, ttl)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use crate::rand::SeededRandom;
    use proptest::prelude::*;

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

    fn logouts(entries: Vec<PendingLogout>) -> PendingLogouts {
        let mut store = PendingLogouts::new();
        store.extend(entries);
        store
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
        let mut store = logouts(vec![pending_for("other", NOW), pending_for("abc", NOW)]);
        let got = validate_logout_response("?state=abc", &mut store, NOW.plus(10), 600).unwrap();
        assert!(got.state.ct_eq("abc"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn replayed_logout_response_is_rejected() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        validate_logout_response("state=abc", &mut store, NOW, 600).unwrap();
        let err = validate_logout_response("state=abc", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn logout_response_without_state_is_rejected() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        for q in ["", "foo=bar", "state="] {
            let err = validate_logout_response(q, &mut store, NOW, 600).unwrap_err();
            assert_eq!(err, Error::State(StateError::Missing), "{q}");
        }
        assert_eq!(store.len(), 1, "a missing state consumes nothing");
    }

    #[test]
    fn logout_response_with_unknown_state_is_rejected() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        let err = validate_logout_response("state=abd", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: false }));
        let err = validate_logout_response("state=abc", &mut PendingLogouts::new(), NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn expired_logout_response_is_rejected_and_consumed() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        let err = validate_logout_response("state=abc", &mut store, NOW.plus(601), 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Expired));
        assert!(store.is_empty());
    }

    #[test]
    fn parsed_state_is_validated_like_a_query() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        assert_eq!(validate_logout_state(None, &mut store, NOW, 600), Err(Error::State(StateError::Missing)));
        assert!(validate_logout_state(Some("abc"), &mut store, NOW, 600).is_ok());
        assert_eq!(
            validate_logout_state(Some("abc"), &mut store, NOW, 600),
            Err(Error::State(StateError::Unknown { session_empty: true }))
        );
    }

    #[test]
    fn repeated_state_is_a_typed_state_error_and_consumes_nothing() {
        let mut store = logouts(vec![pending_for("abc", NOW)]);
        let err = validate_logout_response("state=abc&state=abc", &mut store, NOW, 600).unwrap_err();
        assert_eq!(err, Error::State(StateError::Repeated));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn pending_logouts_are_bounded() {
        let mut store = PendingLogouts::new();
        for i in 0..5 {
            store.insert(pending_for(&format!("s{i}"), NOW.plus(i)), 3);
        }
        assert_eq!(store.len(), 3);
        assert!(store.iter().next().unwrap().state.ct_eq("s2"));
    }

    proptest! {
        #[test]
        fn validate_logout_response_never_panics(query in ".{0,128}", ttl in any::<u64>(), at in any::<u64>()) {
            let mut store = logouts(vec![pending_for("abc", NOW)]);
            let _ = validate_logout_response(&query, &mut store, UnixTime::from_secs(at), ttl);
        }
    }
}
