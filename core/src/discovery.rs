//! Provider metadata: OpenID Connect Discovery 1.0 and RFC 8414.
//!
//! [OIDC Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata),
//! [§4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig),
//! [RFC 8414 §2–§3](https://www.rfc-editor.org/rfc/rfc8414#section-2).
//!
//! The flow is the usual sans-IO pair: [`metadata_request`] builds the GET, the caller
//! sends it, [`parse_metadata`] (or [`MetadataCache::from_response`]) checks the answer.
//! [`Endpoints::resolve`] then merges what was discovered with what the client
//! configuration says, explicit configuration first.
//!
//! ```
//! use rpkit::discovery::{discovery_url_for_issuer, metadata_request, parse_metadata};
//! let url = discovery_url_for_issuer("https://op.example/tenant").unwrap();
//! assert_eq!(url, "https://op.example/tenant/.well-known/openid-configuration");
//! let req = metadata_request(&url).unwrap();
//! assert_eq!(req.method(), http::Method::GET);
//!
//! let body = br#"{"issuer":"https://op.example/tenant",
//!                 "token_endpoint":"https://op.example/tenant/token"}"#;
//! let resp = http::Response::builder().status(200).body(&body[..]).unwrap();
//! let md = parse_metadata(&resp, "https://op.example/tenant").unwrap();
//! assert_eq!(md.token_endpoint.as_deref(), Some("https://op.example/tenant/token"));
//! ```

use crate::config::ClientConfig;
use crate::error::{Endpoint, Error};
use crate::time::UnixTime;
use crate::wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The OpenID Connect well-known suffix (OIDC Discovery §4).
pub const WELL_KNOWN_OPENID: &str = "/.well-known/openid-configuration";
/// The RFC 8414 well-known suffix (RFC 8414 §3), inserted between host and path.
pub const WELL_KNOWN_OAUTH: &str = "/.well-known/oauth-authorization-server";

/// Errors of provider metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The metadata's `issuer` is not the issuer the discovery URL was built from
    /// (OIDC Discovery §4.3).
    #[error("the metadata's issuer `{found}` is not the expected issuer `{expected}`")]
    IssuerMismatch {
        /// What the configuration (or discovery URL) implies.
        expected: String,
        /// What the metadata says.
        found: String,
    },
    /// The metadata has no `issuer` member (it is REQUIRED, OIDC Discovery §3).
    #[error("the provider metadata has no `issuer`")]
    MissingIssuer,
    /// The `issuer` is not an `http(s)` URL without query and fragment (OIDC Discovery §3,
    /// RFC 8414 §2).
    #[error("the metadata's issuer `{found}` is not an http(s) URL without query or fragment")]
    InvalidIssuer {
        /// What the metadata says.
        found: String,
    },
    /// An endpoint member is not an absolute `http(s)` URL without fragment.
    #[error("the metadata member `{member}` is not an absolute http(s) URL without fragment")]
    InvalidEndpoint {
        /// The member's name, e.g. `token_endpoint`.
        member: String,
    },
}

/// Provider metadata: the members rpkit uses, typed; all others kept in `extra`.
///
/// Build it with [`parse_metadata`], which checks the member types and the issuer;
/// deserializing it directly checks nothing.
///
/// ```
/// use rpkit::discovery::ProviderMetadata;
/// let md = ProviderMetadata {
///     issuer: "https://op.example".into(),
///     end_session_endpoint: Some("https://op.example/logout".into()),
///     ..Default::default()
/// };
/// assert!(md.extra.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// `userinfo_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `end_session_endpoint` (RP-Initiated Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// `scopes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `response_types_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// `response_modes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// `grant_types_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// `userinfo_signing_alg_values_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// `backchannel_logout_supported`.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5): every authorization request
    /// must be pushed first.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// `request_object_signing_alg_values_supported` (OIDC Discovery §3, RFC 9101 §10.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg_values_supported: Option<Vec<String>>,
    /// `require_signed_request_object` (RFC 9101 §10.5): the authorization parameters
    /// must come in a signed request object.
    #[serde(default)]
    pub require_signed_request_object: bool,
}

/// Members that must be strings when present.
const STRING_MEMBERS: &[&str] = &[
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "registration_endpoint",
    "device_authorization_endpoint",
    "pushed_authorization_request_endpoint",
    "check_session_iframe",
    "service_documentation",
    "op_policy_uri",
    "op_tos_uri",
];

/// The subset of [`STRING_MEMBERS`] the client sends requests to (or fetches keys from):
/// these must be absolute `http(s)` URLs.
const ENDPOINT_MEMBERS: &[&str] = &[
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "registration_endpoint",
    "device_authorization_endpoint",
    "pushed_authorization_request_endpoint",
];

/// Members that must be arrays of strings when present.
const STRING_LIST_MEMBERS: &[&str] = &[
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "id_token_signing_alg_values_supported",
    "userinfo_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "request_object_signing_alg_values_supported",
];

/// Members that must be booleans when present.
const BOOL_MEMBERS: &[&str] = &[
    "authorization_response_iss_parameter_supported",
    "backchannel_logout_supported",
    "require_pushed_authorization_requests",
    "require_signed_request_object",
];

impl ProviderMetadata {
    /// An extra (untyped) string member, e.g. `introspection_endpoint`.
    pub fn extra_str(&self, member: &str) -> Option<&str> {
        self.extra.get(member).and_then(Value::as_str)
    }

    /// Whether the provider lists `alg` in `id_token_signing_alg_values_supported`.
    pub fn supports_id_token_alg(&self, alg: &str) -> bool {
        self.id_token_signing_alg_values_supported.as_ref().is_some_and(|algs| algs.iter().any(|a| a == alg))
    }

    /// `backchannel_logout_session_supported`: whether logout tokens carry `sid`.
    pub fn backchannel_logout_session_supported(&self) -> bool {
        self.extra.get("backchannel_logout_session_supported").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// The OpenID Connect discovery URL of `issuer`: the issuer (without a trailing `/`)
/// followed by `/.well-known/openid-configuration` (OIDC Discovery §4.1).
///
/// # Errors
/// [`DiscoveryError::InvalidIssuer`] when `issuer` is not an `http(s)` URL without query
/// and fragment.
pub fn discovery_url_for_issuer(issuer: &str) -> Result<String, Error> {
    check_issuer_syntax(issuer)?;
    Ok(format!("{}{WELL_KNOWN_OPENID}", issuer.trim_end_matches('/')))
}

/// The RFC 8414 metadata URL of `issuer`: the well-known suffix goes between the host and
/// the issuer's path (RFC 8414 §3.1), e.g. `https://as.example/t1` →
/// `https://as.example/.well-known/oauth-authorization-server/t1`.
///
/// # Errors
/// As [`discovery_url_for_issuer`].
pub fn oauth_metadata_url_for_issuer(issuer: &str) -> Result<String, Error> {
    let url = check_issuer_syntax(issuer)?;
    let path = url.path().trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    Ok(format!("{origin}{WELL_KNOWN_OAUTH}{path}"))
}

fn check_issuer_syntax(issuer: &str) -> Result<url::Url, Error> {
    let invalid = || Error::Discovery(DiscoveryError::InvalidIssuer { found: issuer.to_owned() });
    let url = url::Url::parse(issuer).map_err(|_| invalid())?;
    let ok = matches!(url.scheme(), "https" | "http")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && !issuer.contains(['?', '#']);
    if ok {
        Ok(url)
    } else {
        Err(invalid())
    }
}

/// The GET request for a metadata document, with `Accept: application/json`.
///
/// # Errors
/// [`Error::Malformed`] when `url` is not an absolute URL.
pub fn metadata_request(url: &str) -> Result<http::Request<Vec<u8>>, Error> {
    wire::parse_url(url, "discovery URL")?;
    wire::get(url, "application/json")?.build()
}

/// Parses and checks a metadata response.
///
/// Checks, in order: the size cap ([`wire::MAX_RESPONSE_BYTES`]); a 2xx status; a JSON
/// object; the types of the members rpkit knows; `issuer` present, syntactically an
/// issuer and **exactly** equal to `expected_issuer` (no trailing slash or case folding,
/// OIDC Discovery §4.3, the mix-up defence); every endpoint member an absolute URL.
///
/// There is no way to skip the issuer comparison: a caller that cannot derive the issuer
/// from the discovery URL ([`ClientConfig::expected_issuer`]) must configure it.
/// Endpoints are parsed here for their syntax; whether each one is `https` (or loopback
/// `http`) is checked where it is used ([`check_transport`]), so that one rule covers
/// configured and discovered endpoints alike.
///
/// # Errors
/// [`Error::TooLarge`], [`Error::Http`] (endpoint [`Endpoint::Discovery`]),
/// [`Error::Malformed`] naming the offending member, [`DiscoveryError::MissingIssuer`],
/// [`DiscoveryError::InvalidIssuer`], [`DiscoveryError::IssuerMismatch`],
/// [`DiscoveryError::InvalidEndpoint`].
pub fn parse_metadata<B: AsRef<[u8]>>(
    resp: &http::Response<B>,
    expected_issuer: &str,
) -> Result<ProviderMetadata, Error> {
    let body = wire::body_of(resp, Endpoint::Discovery)?;
    if !resp.status().is_success() {
        return Err(Error::Http { endpoint: Endpoint::Discovery, status: resp.status().as_u16() });
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| Error::malformed("provider metadata: not JSON"))?;
    let Value::Object(obj) = value else {
        return Err(Error::malformed("provider metadata: not a JSON object"));
    };
    check_member_types(&obj)?;

    let issuer = match obj.get("issuer") {
        None | Some(Value::Null) => return Err(DiscoveryError::MissingIssuer.into()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Error::malformed("provider metadata: `issuer` is not a string")),
    };
    if issuer != expected_issuer {
        let found = crate::error::sanitized(&issuer, 256);
        return Err(DiscoveryError::IssuerMismatch { expected: expected_issuer.to_owned(), found }.into());
    }
    check_issuer_syntax(&issuer)?;
    for member in ENDPOINT_MEMBERS {
        if let Some(Value::String(u)) = obj.get(*member) {
            if !is_endpoint_url(u) {
                return Err(DiscoveryError::InvalidEndpoint { member: (*member).to_owned() }.into());
            }
        }
    }
    serde_json::from_value(Value::Object(obj))
        .map_err(|_| Error::malformed("provider metadata: unexpected member type"))
}

fn check_member_types(obj: &Map<String, Value>) -> Result<(), Error> {
    let wrong =
        |member: &str, expected: &str| Error::malformed(format!("provider metadata: `{member}` is not {expected}"));
    for member in STRING_MEMBERS {
        match obj.get(*member) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(_) => return Err(wrong(member, "a string")),
        }
    }
    for member in STRING_LIST_MEMBERS {
        match obj.get(*member) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => return Err(wrong(member, "an array of strings")),
        }
    }
    for member in BOOL_MEMBERS {
        match obj.get(*member) {
            None | Some(Value::Bool(_)) => {}
            Some(_) => return Err(wrong(member, "a boolean")),
        }
    }
    Ok(())
}

/// An absolute `http(s)` URL with a host and no fragment (RFC 6749 §3.1, §3.2).
fn is_endpoint_url(text: &str) -> bool {
    url::Url::parse(text)
        .map(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some() && u.fragment().is_none())
        .unwrap_or(false)
}

/// The endpoints a client uses, each from the configuration if set there, else from the
/// provider metadata.
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::discovery::{Endpoints, ProviderMetadata};
/// let md = ProviderMetadata {
///     issuer: "https://op.example".into(),
///     token_endpoint: Some("https://op.example/token".into()),
///     userinfo_endpoint: Some("https://op.example/me".into()),
///     ..Default::default()
/// };
/// let cfg = ClientConfig::new("op").userinfo_endpoint("https://op.example/custom-me");
/// let ep = Endpoints::resolve(&cfg, Some(&md));
/// assert_eq!(ep.token.as_deref(), Some("https://op.example/token"));
/// assert_eq!(ep.userinfo.as_deref(), Some("https://op.example/custom-me"));
/// assert!(ep.require_end_session(&cfg).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `authorize_url`, else `authorization_endpoint`.
    pub authorization: Option<String>,
    /// `access_token_url`, else `token_endpoint`.
    pub token: Option<String>,
    /// `refresh_token_url`, else the token endpoint.
    pub refresh: Option<String>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `end_session_endpoint`.
    pub end_session: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    pub revocation: Option<String>,
    /// `introspection_endpoint` (RFC 7662).
    pub introspection: Option<String>,
    /// The issuer: [`ClientConfig::expected_issuer`], else the metadata's `issuer`.
    pub issuer: Option<String>,
}

impl Endpoints {
    /// Merges configuration and metadata; explicit configuration values win.
    pub fn resolve(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> Endpoints {
        let md = |f: fn(&ProviderMetadata) -> Option<&String>| metadata.and_then(f).cloned();
        let token = config.access_token_url.clone().or_else(|| md(|m| m.token_endpoint.as_ref()));
        Endpoints {
            authorization: config.authorize_url.clone().or_else(|| md(|m| m.authorization_endpoint.as_ref())),
            refresh: config.refresh_token_url.clone().or_else(|| token.clone()),
            token,
            userinfo: config.userinfo_endpoint.clone().or_else(|| md(|m| m.userinfo_endpoint.as_ref())),
            jwks_uri: config.jwks_uri.clone().or_else(|| md(|m| m.jwks_uri.as_ref())),
            end_session: config.end_session_endpoint.clone().or_else(|| md(|m| m.end_session_endpoint.as_ref())),
            revocation: config.revocation_endpoint.clone().or_else(|| md(|m| m.revocation_endpoint.as_ref())),
            introspection: config
                .introspection_endpoint
                .clone()
                .or_else(|| metadata.and_then(|m| m.extra_str("introspection_endpoint")).map(str::to_owned)),
            issuer: config.expected_issuer().or_else(|| metadata.map(|m| m.issuer.clone()).filter(|i| !i.is_empty())),
        }
    }

    /// The UserInfo endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`userinfo_endpoint`)
    /// when neither configured nor discovered.
    pub fn require_userinfo(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.userinfo, config, "userinfo_endpoint")
    }

    /// The end-session endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`end_session_endpoint`)
    /// when neither configured nor discovered.
    pub fn require_end_session(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.end_session, config, "end_session_endpoint")
    }

    /// The token endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`access_token_url`).
    pub fn require_token(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.token, config, "access_token_url")
    }

    /// The authorization endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`authorize_url`).
    pub fn require_authorization(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.authorization, config, "authorize_url")
    }

    /// The revocation endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`revocation_endpoint`);
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint).
    pub fn require_revocation(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.revocation, config, "revocation_endpoint")
    }

    /// The introspection endpoint.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`introspection_endpoint`);
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint).
    pub fn require_introspection(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.introspection, config, "introspection_endpoint")
    }

    /// The JWKS URL.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`jwks_uri`).
    pub fn require_jwks_uri(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.jwks_uri, config, "jwks_uri")
    }

    /// The expected issuer.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`issuer`).
    pub fn require_issuer(&self, config: &ClientConfig) -> Result<&str, Error> {
        require(&self.issuer, config, "issuer")
    }
}

fn require<'a>(value: &'a Option<String>, config: &ClientConfig, key: &str) -> Result<&'a str, Error> {
    let url = value.as_deref().ok_or_else(|| Error::Config(config.missing(key)))?;
    if key != "issuer" {
        let configured = configured_value(config, key) == Some(url);
        check_transport(config, key, url, !configured)?;
    }
    Ok(url)
}

/// The configured value of an endpoint key (to tell configured from discovered values).
fn configured_value<'a>(config: &'a ClientConfig, key: &str) -> Option<&'a str> {
    match key {
        "authorize_url" => config.authorize_url.as_deref(),
        "access_token_url" => config.access_token_url.as_deref(),
        "refresh_token_url" => config.refresh_token_url.as_deref(),
        "userinfo_endpoint" => config.userinfo_endpoint.as_deref(),
        "jwks_uri" => config.jwks_uri.as_deref(),
        "end_session_endpoint" => config.end_session_endpoint.as_deref(),
        "api_base_url" => config.api_base_url.as_deref(),
        "server_metadata_url" => config.server_metadata_url.as_deref(),
        "request_token_url" => config.request_token_url.as_deref(),
        "revocation_endpoint" => config.revocation_endpoint.as_deref(),
        "introspection_endpoint" => config.introspection_endpoint.as_deref(),
        "pushed_authorization_request_endpoint" => config.pushed_authorization_request_endpoint.as_deref(),
        _ => None,
    }
}

/// The metadata member that stands for a configuration key, for error messages.
fn metadata_member(key: &str) -> &str {
    match key {
        "authorize_url" => "authorization_endpoint",
        "access_token_url" | "refresh_token_url" => "token_endpoint",
        other => other,
    }
}

/// Refuses an endpoint that is neither `https` nor loopback `http`
/// ([`wire::is_secure_transport`]) unless `client_kwargs.danger_allow_insecure_http` is
/// set. `key` names the configuration key; `discovered` says the value came from the
/// provider's metadata (the error then names the metadata member).
///
/// Every request the core builds for a client passes through this check: discovery,
/// authorization, token, refresh, JWKS, UserInfo, end-session, revocation, resource calls
/// (`api_base_url`) and OAuth 1.0a.
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::discovery::check_transport;
/// let cfg = ClientConfig::new("op");
/// assert!(check_transport(&cfg, "access_token_url", "https://op.example/token", false).is_ok());
/// assert!(check_transport(&cfg, "access_token_url", "http://127.0.0.1:9000/token", false).is_ok());
/// let err = check_transport(&cfg, "access_token_url", "http://op.example/token", true).unwrap_err();
/// assert_eq!(err.to_string(),
///     "client `op`: `metadata.token_endpoint` is not an https URL (plain http is accepted for loopback hosts only)");
/// ```
///
/// # Errors
/// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint);
/// [`Error::Malformed`] when `url` is not an absolute URL.
pub fn check_transport(config: &ClientConfig, key: &str, url: &str, discovered: bool) -> Result<(), Error> {
    // The common case without a URL parse: the caller parses the URL it sends anyway.
    if url.len() > 8 && url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
        return Ok(());
    }
    let parsed = wire::parse_url(url, key)?;
    if wire::is_secure_transport(&parsed) || config.client_kwargs.danger_allow_insecure_http {
        return Ok(());
    }
    let key = if discovered { format!("metadata.{}", metadata_member(key)) } else { key.to_owned() };
    Err(crate::error::ConfigError::InsecureEndpoint { client: config.name.clone(), key }.into())
}

/// The ID token algorithms a client accepts.
///
/// 1. The configured `id_token_signing_alg_values_supported`, as given (the only way to
///    allow `HS*`, OIDC Core §10.1);
/// 2. else the metadata's list intersected with `supported` (what the JOSE layer can
///    verify), minus `none` and every `HS*`;
/// 3. else (no metadata list, or an empty intersection) `["RS256"]`, the OIDC default.
///
/// `none` never comes out of this function, whatever the inputs.
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::discovery::{effective_id_token_algs, ProviderMetadata};
/// let md = ProviderMetadata {
///     id_token_signing_alg_values_supported: Some(vec!["ES256".into(), "HS256".into(), "none".into()]),
///     ..Default::default()
/// };
/// let algs = effective_id_token_algs(&ClientConfig::new("op"), Some(&md), &["RS256", "ES256", "HS256"]);
/// assert_eq!(algs, ["ES256"]);
/// ```
pub fn effective_id_token_algs(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    supported: &[&str],
) -> Vec<String> {
    if let Some(configured) = &config.id_token_signing_alg_values_supported {
        let algs: Vec<String> = configured.iter().filter(|a| !a.eq_ignore_ascii_case("none")).cloned().collect();
        if !algs.is_empty() {
            return algs;
        }
    }
    let from_metadata: Vec<String> = metadata
        .and_then(|m| m.id_token_signing_alg_values_supported.as_ref())
        .map(|algs| {
            algs.iter()
                .filter(|a| supported.contains(&a.as_str()) && *a != "none" && !a.starts_with("HS"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if from_metadata.is_empty() {
        vec!["RS256".to_owned()]
    } else {
        from_metadata
    }
}

/// How long metadata is kept when the response does not say (24 hours).
pub const DEFAULT_METADATA_MAX_AGE: u64 = 24 * 60 * 60;
/// The longest `max-age` honoured (7 days): a provider's key or endpoint changes must
/// reach the client eventually, whatever a cache header says.
pub const MAX_METADATA_MAX_AGE: u64 = 7 * 24 * 60 * 60;
/// Seconds until the next attempt after a failed refresh (see [`MetadataCache::refresh_failed`]).
pub const METADATA_RETRY_AFTER: u64 = 60;

/// Provider metadata with its fetch time and lifetime: a plain value the caller keeps
/// (the async client holds one per provider).
///
/// # Serving stale metadata
/// When a refresh of stale metadata fails (network error, 5xx, malformed document, even an
/// issuer mismatch), the caller keeps serving the old metadata: it was validated when
/// fetched, and a provider outage must not log every user out. Call
/// [`MetadataCache::refresh_failed`], which keeps the metadata and schedules the next
/// attempt [`METADATA_RETRY_AFTER`] seconds later, so a failing provider is not asked on
/// every request. A successful fetch replaces the whole value.
///
/// ```
/// use rpkit::discovery::MetadataCache;
/// use rpkit::time::UnixTime;
/// let body = br#"{"issuer":"https://op.example"}"#;
/// let resp = http::Response::builder()
///     .header("cache-control", "public, max-age=3600")
///     .body(&body[..])
///     .unwrap();
/// let t0 = UnixTime::from_secs(1_700_000_000);
/// let cache = MetadataCache::from_response(&resp, "https://op.example", t0).unwrap();
/// assert!(!cache.is_stale(t0.plus(3599)));
/// assert!(cache.is_stale(t0.plus(3600)));
/// // The refresh failed: keep serving, try again in a minute.
/// let cache = cache.refresh_failed(t0.plus(3600));
/// assert_eq!(cache.metadata.issuer, "https://op.example");
/// assert!(!cache.is_stale(t0.plus(3630)));
/// assert!(cache.is_stale(t0.plus(3660)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataCache {
    /// The validated metadata.
    pub metadata: ProviderMetadata,
    /// When it was fetched.
    pub fetched_at: UnixTime,
    /// Seconds it stays fresh after `fetched_at`; 0 means "revalidate before next use".
    pub max_age: u64,
    /// After a failed refresh: when to try again (overrides `fetched_at + max_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<UnixTime>,
}

impl MetadataCache {
    /// Metadata fetched at `now`, fresh for `max_age` seconds.
    pub fn new(metadata: ProviderMetadata, now: UnixTime, max_age: u64) -> Self {
        MetadataCache { metadata, fetched_at: now, max_age, retry_at: None }
    }

    /// Parses a metadata response ([`parse_metadata`]) and reads its lifetime from
    /// `Cache-Control` ([`cache_max_age`]).
    ///
    /// # Errors
    /// As [`parse_metadata`].
    pub fn from_response<B: AsRef<[u8]>>(
        resp: &http::Response<B>,
        expected_issuer: &str,
        now: UnixTime,
    ) -> Result<Self, Error> {
        let metadata = parse_metadata(resp, expected_issuer)?;
        Ok(MetadataCache::new(metadata, now, cache_max_age(resp.headers())))
    }

    /// When the metadata should next be refreshed.
    pub fn refresh_at(&self) -> UnixTime {
        self.retry_at.unwrap_or_else(|| self.fetched_at.plus(self.max_age))
    }

    /// Whether a refresh is due at `now`. Stale metadata may still be used (see the type's
    /// docs); this only says a new fetch should be attempted.
    pub fn is_stale(&self, now: UnixTime) -> bool {
        now >= self.refresh_at()
    }

    /// Seconds since the metadata was fetched.
    pub fn age(&self, now: UnixTime) -> u64 {
        now.secs_since(self.fetched_at)
    }

    /// Records a failed refresh at `now`: keeps the metadata and schedules the next attempt
    /// [`METADATA_RETRY_AFTER`] seconds later.
    #[must_use]
    pub fn refresh_failed(self, now: UnixTime) -> Self {
        MetadataCache { retry_at: Some(now.plus(METADATA_RETRY_AFTER)), ..self }
    }
}

/// The lifetime a response's `Cache-Control` asks for.
///
/// `no-store` or `no-cache` → 0 (revalidate before next use); `max-age=N` → `N`, capped at
/// [`MAX_METADATA_MAX_AGE`]; absent or malformed → [`DEFAULT_METADATA_MAX_AGE`].
pub fn cache_max_age(headers: &http::HeaderMap) -> u64 {
    declared_max_age(headers).map_or(DEFAULT_METADATA_MAX_AGE, |n| n.min(MAX_METADATA_MAX_AGE))
}

/// The lifetime a response's `Cache-Control` declares: `Some(0)` for `no-store` /
/// `no-cache`, `Some(N)` for `max-age=N` (the first one), `None` when it declares none.
pub fn declared_max_age(headers: &http::HeaderMap) -> Option<u64> {
    let mut max_age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim())),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(0);
            }
            if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
                let arg = arg.map(|a| a.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(a));
                max_age = arg.filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit())).map(|a| {
                    // Digits only, so the parse fails only on overflow: treat that as "very long".
                    a.parse::<u64>().unwrap_or(u64::MAX)
                });
            }
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use proptest::prelude::*;

    const ISS: &str = "https://op.example/tenant";

    fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    fn doc(extra: &str) -> String {
        format!(
            r#"{{"issuer":"{ISS}","authorization_endpoint":"{ISS}/authorize","token_endpoint":"{ISS}/token"{extra}}}"#
        )
    }

    #[test]
    fn discovery_url_appends_the_well_known_suffix() {
        assert_eq!(
            discovery_url_for_issuer("https://op.example/").unwrap(),
            "https://op.example/.well-known/openid-configuration"
        );
        assert_eq!(discovery_url_for_issuer(ISS).unwrap(), format!("{ISS}/.well-known/openid-configuration"));
    }

    #[test]
    fn oauth_metadata_url_inserts_the_suffix_before_the_path() {
        assert_eq!(
            oauth_metadata_url_for_issuer("https://as.example/t1").unwrap(),
            "https://as.example/.well-known/oauth-authorization-server/t1"
        );
        assert_eq!(
            oauth_metadata_url_for_issuer("https://as.example").unwrap(),
            "https://as.example/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn issuers_with_query_or_fragment_have_no_discovery_url() {
        for bad in ["https://op.example?x=1", "https://op.example#f", "op.example", "ftp://op.example"] {
            let err = discovery_url_for_issuer(bad).unwrap_err();
            assert!(matches!(err, Error::Discovery(DiscoveryError::InvalidIssuer { .. })), "{bad}");
        }
    }

    #[test]
    fn metadata_request_is_a_get_accepting_json() {
        let req = metadata_request("https://op.example/.well-known/openid-configuration").unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(req.headers()[http::header::ACCEPT], "application/json");
        assert!(req.body().is_empty());
        // A relative discovery URL is a configuration mistake, not the provider's fault.
        assert!(matches!(
            metadata_request("/relative"),
            Err(Error::Config(crate::error::ConfigError::Unusable { .. }))
        ));
    }

    #[test]
    fn valid_metadata_parses_and_keeps_unknown_members() {
        let md = parse_metadata(&resp(200, &doc(r#","backchannel_logout_supported":true,"x_custom":{"a":1}"#)), ISS)
            .unwrap();
        assert_eq!(md.issuer, ISS);
        assert_eq!(md.token_endpoint.as_deref(), Some("https://op.example/tenant/token"));
        assert!(md.backchannel_logout_supported);
        assert_eq!(md.extra["x_custom"]["a"], 1);
    }

    #[test]
    fn the_issuer_is_compared_with_the_expected_one_whatever_the_discovery_url() {
        assert!(parse_metadata(&resp(200, &doc("")), ISS).is_ok());
        // There is no "don't know, skip it": an empty expectation matches no issuer.
        assert!(matches!(
            parse_metadata(&resp(200, &doc("")), ""),
            Err(Error::Discovery(DiscoveryError::IssuerMismatch { .. }))
        ));
    }

    #[test]
    fn issuer_must_match_exactly() {
        for expected in ["https://op.example/tenant/", "https://OP.example/tenant", "https://op.example/other"] {
            let err = parse_metadata(&resp(200, &doc("")), expected).unwrap_err();
            assert_eq!(
                err,
                Error::Discovery(DiscoveryError::IssuerMismatch { expected: expected.into(), found: ISS.into() })
            );
            let text = err.to_string();
            assert!(text.contains(expected) && text.contains(ISS), "{text}");
        }
    }

    #[test]
    fn missing_issuer_is_rejected() {
        let err = parse_metadata(&resp(200, r#"{"token_endpoint":"https://op.example/t"}"#), ISS).unwrap_err();
        assert_eq!(err, Error::Discovery(DiscoveryError::MissingIssuer));
    }

    #[test]
    fn issuer_with_a_query_is_rejected_even_when_expected() {
        let err = parse_metadata(&resp(200, r#"{"issuer":"https://op.example/?a=b"}"#), "https://op.example/?a=b")
            .unwrap_err();
        assert!(matches!(err, Error::Discovery(DiscoveryError::InvalidIssuer { .. })));
    }

    #[test]
    fn non_success_status_is_an_http_error() {
        let err = parse_metadata(&resp(503, &doc("")), ISS).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::Discovery, status: 503 });
    }

    #[test]
    fn oversized_metadata_is_refused() {
        let big = format!(r#"{{"issuer":"{ISS}","pad":"{}"}}"#, "x".repeat(wire::MAX_RESPONSE_BYTES));
        let err = parse_metadata(&resp(200, &big), ISS).unwrap_err();
        assert!(matches!(err, Error::TooLarge { endpoint: Endpoint::Discovery, .. }));
    }

    #[test]
    fn non_json_and_non_objects_are_malformed() {
        for body in ["<html>", "[1,2]", "\"issuer\"", ""] {
            let err = parse_metadata(&resp(200, body), ISS).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{body}");
        }
    }

    #[test]
    fn wrong_member_types_are_malformed_and_named() {
        let cases = [
            (r#","token_endpoint":5"#, "token_endpoint"),
            (r#","scopes_supported":"openid""#, "scopes_supported"),
            (r#","id_token_signing_alg_values_supported":["RS256",1]"#, "id_token_signing_alg_values_supported"),
            (r#","backchannel_logout_supported":"yes""#, "backchannel_logout_supported"),
        ];
        for (extra, member) in cases {
            let body = format!(r#"{{"issuer":"{ISS}"{extra}}}"#);
            match parse_metadata(&resp(200, &body), ISS).unwrap_err() {
                Error::Malformed { what } => assert!(what.contains(member), "{what}"),
                other => panic!("{other:?}"),
            }
        }
        let err = parse_metadata(&resp(200, r#"{"issuer":7}"#), ISS).unwrap_err();
        assert!(matches!(err, Error::Malformed { what } if what.contains("issuer")));
    }

    #[test]
    fn relative_or_non_http_endpoints_are_rejected() {
        for bad in ["/token", "javascript:alert(1)", "https://op.example/token#frag", "file:///etc/passwd"] {
            let body = format!(r#"{{"issuer":"{ISS}","token_endpoint":"{bad}"}}"#);
            let err = parse_metadata(&resp(200, &body), ISS).unwrap_err();
            assert_eq!(
                err,
                Error::Discovery(DiscoveryError::InvalidEndpoint { member: "token_endpoint".into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn loopback_http_endpoints_are_allowed() {
        let body = r#"{"issuer":"http://127.0.0.1:8080","jwks_uri":"http://127.0.0.1:8080/jwks"}"#;
        let md = parse_metadata(&resp(200, body), "http://127.0.0.1:8080").unwrap();
        assert_eq!(md.jwks_uri.as_deref(), Some("http://127.0.0.1:8080/jwks"));
    }

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: ISS.into(),
            authorization_endpoint: Some("https://op/authorize".into()),
            token_endpoint: Some("https://op/token".into()),
            userinfo_endpoint: Some("https://op/userinfo".into()),
            jwks_uri: Some("https://op/jwks".into()),
            end_session_endpoint: Some("https://op/logout".into()),
            revocation_endpoint: Some("https://op/revoke".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_endpoint_must_be_tls_or_loopback_configured_or_discovered() {
        use crate::error::ConfigError;
        let insecure = |e: Error| match e {
            Error::Config(ConfigError::InsecureEndpoint { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        let plain = ProviderMetadata {
            issuer: ISS.into(),
            userinfo_endpoint: Some("http://op.example/userinfo".into()),
            jwks_uri: Some("http://op.example/jwks".into()),
            end_session_endpoint: Some("http://op.example/logout".into()),
            ..Default::default()
        };
        let cfg = ClientConfig::new("op");
        let ep = Endpoints::resolve(&cfg, Some(&plain));
        assert_eq!(insecure(ep.require_userinfo(&cfg).unwrap_err()), "metadata.userinfo_endpoint");
        assert_eq!(insecure(ep.require_jwks_uri(&cfg).unwrap_err()), "metadata.jwks_uri");
        assert_eq!(insecure(ep.require_end_session(&cfg).unwrap_err()), "metadata.end_session_endpoint");
        // Configured values are named by their configuration key.
        let cfg = ClientConfig::new("op").userinfo_endpoint("http://op.example/me").jwks_uri("HTTP://op.example/k");
        let ep = Endpoints::resolve(&cfg, Some(&plain));
        assert_eq!(insecure(ep.require_userinfo(&cfg).unwrap_err()), "userinfo_endpoint");
        assert_eq!(insecure(ep.require_jwks_uri(&cfg).unwrap_err()), "jwks_uri");
        // Loopback http and https pass; so does everything with the explicit opt-out.
        let cfg =
            ClientConfig::new("op").userinfo_endpoint("http://127.0.0.1:3000/me").jwks_uri("https://op.example/k");
        let ep = Endpoints::resolve(&cfg, None);
        assert!(ep.require_userinfo(&cfg).is_ok() && ep.require_jwks_uri(&cfg).is_ok());
        let mut opted_out = ClientConfig::new("op");
        opted_out.client_kwargs.danger_allow_insecure_http = true;
        assert!(Endpoints::resolve(&opted_out, Some(&plain)).require_end_session(&opted_out).is_ok());
        // A lookalike of loopback is not loopback.
        let cfg = ClientConfig::new("op").userinfo_endpoint("http://127.0.0.1.nip.example/me");
        assert_eq!(insecure(Endpoints::resolve(&cfg, None).require_userinfo(&cfg).unwrap_err()), "userinfo_endpoint");
    }

    #[test]
    fn endpoints_come_from_metadata_when_not_configured() {
        let ep = Endpoints::resolve(&ClientConfig::new("op"), Some(&metadata()));
        assert_eq!(ep.authorization.as_deref(), Some("https://op/authorize"));
        assert_eq!(ep.token.as_deref(), Some("https://op/token"));
        assert_eq!(ep.refresh.as_deref(), Some("https://op/token"));
        assert_eq!(ep.userinfo.as_deref(), Some("https://op/userinfo"));
        assert_eq!(ep.jwks_uri.as_deref(), Some("https://op/jwks"));
        assert_eq!(ep.end_session.as_deref(), Some("https://op/logout"));
        assert_eq!(ep.revocation.as_deref(), Some("https://op/revoke"));
        assert_eq!(ep.issuer.as_deref(), Some(ISS));
    }

    #[test]
    fn configured_endpoints_win_over_discovered_ones() {
        let cfg = ClientConfig::new("op")
            .authorize_url("https://cfg/authorize")
            .access_token_url("https://cfg/token")
            .refresh_token_url("https://cfg/refresh")
            .userinfo_endpoint("https://cfg/userinfo")
            .jwks_uri("https://cfg/jwks")
            .end_session_endpoint("https://cfg/logout")
            .issuer("https://cfg");
        let ep = Endpoints::resolve(&cfg, Some(&metadata()));
        assert_eq!(ep.authorization.as_deref(), Some("https://cfg/authorize"));
        assert_eq!(ep.token.as_deref(), Some("https://cfg/token"));
        assert_eq!(ep.refresh.as_deref(), Some("https://cfg/refresh"));
        assert_eq!(ep.userinfo.as_deref(), Some("https://cfg/userinfo"));
        assert_eq!(ep.jwks_uri.as_deref(), Some("https://cfg/jwks"));
        assert_eq!(ep.end_session.as_deref(), Some("https://cfg/logout"));
        assert_eq!(ep.issuer.as_deref(), Some("https://cfg"));
    }

    #[test]
    fn missing_endpoints_are_config_errors_naming_the_key() {
        let cfg = ClientConfig::new("corp");
        let ep = Endpoints::resolve(&cfg, None);
        assert_eq!(
            ep.require_userinfo(&cfg).unwrap_err(),
            Error::Config(ConfigError::Missing { client: "corp".into(), key: "userinfo_endpoint".into() })
        );
        assert!(matches!(
            ep.require_end_session(&cfg),
            Err(Error::Config(ConfigError::Missing { key, .. })) if key == "end_session_endpoint"
        ));
        assert!(ep.require_token(&cfg).is_err() && ep.require_jwks_uri(&cfg).is_err());
        assert!(ep.require_issuer(&cfg).is_err() && ep.require_authorization(&cfg).is_err());
    }

    #[test]
    fn issuer_is_derived_from_the_discovery_url_before_metadata() {
        let cfg = ClientConfig::new("op").server_metadata_url(format!("{ISS}{WELL_KNOWN_OPENID}"));
        let md = ProviderMetadata { issuer: "https://other".into(), ..Default::default() };
        assert_eq!(Endpoints::resolve(&cfg, Some(&md)).issuer.as_deref(), Some(ISS));
    }

    #[test]
    fn configured_algs_win_and_may_include_hmac() {
        let cfg = ClientConfig::new("op").id_token_algs(["HS256", "none"]);
        let md = ProviderMetadata {
            id_token_signing_alg_values_supported: Some(vec!["ES256".into()]),
            ..Default::default()
        };
        assert_eq!(effective_id_token_algs(&cfg, Some(&md), &["ES256", "HS256"]), ["HS256"]);
    }

    #[test]
    fn metadata_algs_are_intersected_and_never_none_or_hmac() {
        let md = ProviderMetadata {
            id_token_signing_alg_values_supported: Some(vec![
                "none".into(),
                "HS256".into(),
                "ES256".into(),
                "XX999".into(),
                "RS256".into(),
            ]),
            ..Default::default()
        };
        let algs = effective_id_token_algs(&ClientConfig::new("op"), Some(&md), &["RS256", "ES256", "HS256", "none"]);
        assert_eq!(algs, ["ES256", "RS256"]);
    }

    #[test]
    fn algs_default_to_rs256() {
        assert_eq!(effective_id_token_algs(&ClientConfig::new("op"), None, &["RS256"]), ["RS256"]);
        let md =
            ProviderMetadata { id_token_signing_alg_values_supported: Some(vec!["none".into()]), ..Default::default() };
        assert_eq!(effective_id_token_algs(&ClientConfig::new("op"), Some(&md), &["RS256"]), ["RS256"]);
    }

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(http::header::CACHE_CONTROL, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cache_control_max_age_is_honoured() {
        assert_eq!(cache_max_age(&headers(&["public, max-age=3600"])), 3600);
        assert_eq!(cache_max_age(&headers(&["Max-Age = \"120\""])), 120);
        assert_eq!(cache_max_age(&headers(&["public", "max-age=5"])), 5);
        assert_eq!(cache_max_age(&headers(&["max-age=0"])), 0);
    }

    #[test]
    fn cache_control_no_store_and_no_cache_mean_revalidate() {
        assert_eq!(cache_max_age(&headers(&["max-age=3600, no-store"])), 0);
        assert_eq!(cache_max_age(&headers(&["no-cache"])), 0);
    }

    #[test]
    fn missing_or_malformed_cache_control_uses_the_default() {
        assert_eq!(cache_max_age(&headers(&[])), DEFAULT_METADATA_MAX_AGE);
        for bad in ["max-age=-5", "max-age=abc", "max-age=", "max-age", "max-age=1.5"] {
            assert_eq!(cache_max_age(&headers(&[bad])), DEFAULT_METADATA_MAX_AGE, "{bad}");
        }
    }

    #[test]
    fn huge_max_age_is_capped() {
        assert_eq!(cache_max_age(&headers(&["max-age=999999999999999999999999"])), MAX_METADATA_MAX_AGE);
        assert_eq!(cache_max_age(&headers(&["max-age=31536000"])), MAX_METADATA_MAX_AGE);
    }

    #[test]
    fn cache_built_from_a_response_expires_on_time() {
        let t0 = UnixTime::from_secs(1_000_000);
        let r = http::Response::builder().body(doc("").into_bytes()).unwrap();
        let c = MetadataCache::from_response(&r, ISS, t0).unwrap();
        assert_eq!(c.max_age, DEFAULT_METADATA_MAX_AGE);
        assert!(!c.is_stale(t0.plus(DEFAULT_METADATA_MAX_AGE - 1)));
        assert!(c.is_stale(t0.plus(DEFAULT_METADATA_MAX_AGE)));
        let no_store =
            http::Response::builder().header("cache-control", "no-store").body(doc("").into_bytes()).unwrap();
        assert!(MetadataCache::from_response(&no_store, ISS, t0).unwrap().is_stale(t0));
    }

    #[test]
    fn cache_from_a_bad_response_is_an_error() {
        let r = resp(200, &doc(""));
        assert!(matches!(
            MetadataCache::from_response(&r, "https://evil", UnixTime::EPOCH),
            Err(Error::Discovery(DiscoveryError::IssuerMismatch { .. }))
        ));
    }

    #[test]
    fn failed_refresh_serves_stale_metadata_and_retries_later() {
        let t0 = UnixTime::from_secs(1_000_000);
        let cache = MetadataCache::new(metadata(), t0, 100);
        let t1 = t0.plus(150);
        assert!(cache.is_stale(t1));
        let after = cache.clone().refresh_failed(t1);
        assert_eq!(after.metadata, cache.metadata);
        assert_eq!(after.fetched_at, t0);
        assert_eq!(after.age(t1), 150);
        assert!(!after.is_stale(t1));
        assert!(!after.is_stale(t1.plus(METADATA_RETRY_AFTER - 1)));
        assert!(after.is_stale(t1.plus(METADATA_RETRY_AFTER)));
        // A second failure pushes the retry again.
        let again = after.refresh_failed(t1.plus(METADATA_RETRY_AFTER));
        assert_eq!(again.refresh_at(), t1.plus(2 * METADATA_RETRY_AFTER));
    }

    #[test]
    fn cache_round_trips_through_serde() {
        let c = MetadataCache::new(metadata(), UnixTime::from_secs(5), 10).refresh_failed(UnixTime::from_secs(20));
        let text = serde_json::to_string(&c).unwrap();
        let back: MetadataCache = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
    }

    proptest! {
        #[test]
        fn parse_metadata_never_panics(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let r = http::Response::builder().status(status).body(body).unwrap();
            let _ = parse_metadata(&r, ISS);
        }

        #[test]
        fn parse_metadata_never_panics_on_json_shaped_input(
            issuer in "[a-z:/.?#]{0,30}",
            member in "(token_endpoint|jwks_uri|scopes_supported|backchannel_logout_supported|x)",
            value in "(1|true|null|\"[a-z:/#]{0,20}\"|\\[\\]|\\[1\\]|\\{\\})",
        ) {
            let body = format!(r#"{{"issuer":"{issuer}","{member}":{value}}}"#);
            let _ = parse_metadata(&resp(200, &body), &issuer);
        }

        #[test]
        fn cache_max_age_never_panics(text in "[ -~]{0,64}") {
            if let Ok(v) = http::HeaderValue::from_str(&text) {
                let mut h = http::HeaderMap::new();
                h.insert(http::header::CACHE_CONTROL, v);
                prop_assert!(cache_max_age(&h) <= MAX_METADATA_MAX_AGE);
            }
        }
    }
}
