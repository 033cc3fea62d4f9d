//! Token requests and responses
//! ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3), [§4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4),
//! [§5](https://www.rfc-editor.org/rfc/rfc6749#section-5), [§6](https://www.rfc-editor.org/rfc/rfc6749#section-6);
//! [OIDC Core §3.1.3.3](https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse)).
//!
//! Builders return the POST to send ([`exchange_request`], [`refresh_request`],
//! [`client_credentials_request`]); [`parse_token_response`] turns the answer into a
//! [`Token`] or a typed error. The `id_token` is kept as a string here: it is validated
//! later, exactly once, by `id_token`.
//!
//! ```
//! use rpkit::config::ClientConfig;
//! use rpkit::rand::SeededRandom;
//! use rpkit::secret::{AuthorizationCode, PkceVerifier};
//! use rpkit::time::UnixTime;
//! use rpkit::token::{exchange_request, parse_token_response, Grant};
//!
//! let config = ClientConfig::new("github")
//!     .client_id("my-id")
//!     .client_secret("my-secret")
//!     .access_token_url("https://github.com/login/oauth/access_token");
//! let now = UnixTime::from_secs(1_700_000_000);
//! let request = exchange_request(&config, None, AuthorizationCode::new("the-code"),
//!     Some("https://app.example/callback"), Some(PkceVerifier::new("v".repeat(43))),
//!     &SeededRandom::new(1), now).unwrap();
//! assert_eq!(request.method(), http::Method::POST);
//! assert!(request.headers().contains_key(http::header::AUTHORIZATION));
//!
//! // What the provider answered:
//! let response = http::Response::builder()
//!     .header("content-type", "application/json")
//!     .body(r#"{"access_token":"at","token_type":"bearer","expires_in":3600}"#)
//!     .unwrap();
//! let token = parse_token_response(&response, now, Grant::AuthorizationCode { openid: false }).unwrap();
//! assert_eq!(token.expires_at, Some(now.plus(3600)));
//! ```
//!
//! # Security
//! HTTP adapters must not follow redirects for token requests (they would resend the
//! code and the client credentials), and must stop reading bodies at
//! [`MAX_RESPONSE_BYTES`](crate::wire::MAX_RESPONSE_BYTES).

use crate::claims::Claims;
use crate::client_auth::{apply_client_auth, assertion_audience, resolve_method};
use crate::config::{ClientConfig, Params, TokenEndpointAuthMethod};
use crate::discovery::{check_transport, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::rand::SecureRandom;
use crate::secret::{AccessToken, AuthorizationCode, IdTokenString, PkceVerifier, RefreshToken};
use crate::time::UnixTime;
use crate::wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Errors specific to token responses and to using a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// An `openid` request's token response has no `id_token` (OIDC Core §3.1.3.3).
    #[error("the token response to an OpenID Connect request has no `id_token`")]
    MissingIdToken,
    /// The token response has no (or an empty) `access_token` (RFC 6749 §5.1).
    #[error("the token response has no `access_token`")]
    MissingAccessToken,
    /// The token response has no `token_type` (RFC 6749 §5.1).
    #[error("the token response has no `token_type`")]
    MissingTokenType,
    /// The `token_type` is not `Bearer` (compared case-insensitively); rpkit only
    /// presents bearer tokens (RFC 6750).
    #[error("unsupported token type `{token_type}` (only Bearer is supported)")]
    UnsupportedTokenType {
        /// The type as sent (at most 64 characters of it).
        token_type: String,
    },
    /// A member of the token response has the wrong JSON type.
    #[error("token response: `{member}` is not {expected}")]
    InvalidMember {
        /// The member, e.g. `expires_in`.
        member: &'static str,
        /// What it should be, e.g. `a number of seconds`.
        expected: &'static str,
    },
    /// `token_placement = body` cannot be honoured for this resource request
    /// (RFC 6750 §2.2: not with GET or HEAD, and only in a form body).
    #[error("the access token cannot be sent in the request body: {reason}")]
    CannotPlaceInBody {
        /// Why, e.g. `GET requests have no body`.
        reason: &'static str,
    },
    /// A relative resource path resolved to another origin than `api_base_url`
    /// (e.g. `//other.example/x`); the token is not sent there.
    #[error("the resource path leaves the origin of `api_base_url`; refusing to send the token there")]
    PathLeavesApiBase,
}

/// A token as the provider issued it, plus what rpkit derived (`expires_at`, `userinfo`).
///
/// Serializes (secrets included, in full) for storage in a session or database; its
/// `Debug` is redacted: it shows the token type, expiry and scope, the names of the
/// other members, and neither the tokens nor the claims (which are personal data).
///
/// ```
/// let token: rpkit::Token = serde_json::from_value(serde_json::json!({
///     "access_token": "at-s3cret", "token_type": "Bearer", "refresh_token": "rt-s3cret",
///     "userinfo": {"sub": "alice", "email": "alice@example.com"}, "session_key": "sk-s3cret"
/// })).unwrap();
/// let debug = format!("{token:?}");
/// for hidden in ["s3cret", "alice"] {
///     assert!(!debug.contains(hidden), "{debug}");
/// }
/// assert!(debug.contains("session_key"));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// `access_token`.
    pub access_token: AccessToken,
    /// `token_type` as sent (compare with [`Token::is_bearer`]).
    pub token_type: String,
    /// `expires_in` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// `expires_in` added to the time the response was received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UnixTime>,
    /// `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// `refresh_expires_in` (Keycloak and others), kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
    /// `scope` as granted (absent: as requested, RFC 6749 §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `id_token`, compact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdTokenString>,
    /// The validated ID token's claims, as Authlib puts them in `token['userinfo']`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Claims>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let claims = self.userinfo.as_ref().map(|c| format!("[{} claims, redacted]", c.as_map().len()));
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token)
            .field("userinfo", &claims)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Whether `token_type` is `Bearer`, compared case-insensitively (RFC 6749 §5.1).
    pub fn is_bearer(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("bearer")
    }

    /// Whether `token_type` is `DPoP` (case-insensitively): a DPoP-bound token
    /// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)), presented as
    /// `Authorization: DPoP …` with a proof.
    pub fn is_dpop(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("dpop")
    }

    /// Combines this (old) token with the response to refreshing it
    /// ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)): a response
    /// without a `refresh_token` keeps the old one; a response with one replaces it. A
    /// response without an `id_token` keeps the original one (OIDC Core §12.2), so it can
    /// still serve as `id_token_hint`. Everything else comes from `new`.
    #[must_use]
    pub fn merge_refresh(self, new: Token) -> Token {
        let mut merged = new;
        if merged.refresh_token.is_none() {
            merged.refresh_token = self.refresh_token;
        }
        // OIDC Core §12.2: a refresh response may omit the ID token; the original one stays
        // the login's evidence (and the `id_token_hint` for logout).
        if merged.id_token.is_none() {
            merged.id_token = self.id_token;
        }
        merged
    }
}

/// Which grant a token response answers; it decides what the response must contain and
/// how errors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// The authorization code exchange; `openid` when the request's scope had `openid`
    /// (the response must then carry an `id_token`).
    AuthorizationCode {
        /// Whether the authorization request was an OpenID Connect one.
        openid: bool,
    },
    /// A refresh; `invalid_grant` means the user has to log in again.
    Refresh,
    /// The client credentials grant.
    ClientCredentials,
    /// The device authorization grant (RFC 8628 §3.4); `openid` when the device
    /// authorization request's scope had `openid` (the response must then carry an
    /// `id_token`).
    DeviceCode {
        /// Whether the device authorization request was an OpenID Connect one.
        openid: bool,
    },
}

/// The token endpoint: `access_token_url`, else the metadata's `token_endpoint`.
///
/// # Errors
/// [`Error::Config`] (`access_token_url` missing) when neither is known;
/// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint) when it
/// is not `https` (or loopback `http`).
pub fn token_endpoint<'a>(config: &'a ClientConfig, metadata: Option<&'a ProviderMetadata>) -> Result<&'a str, Error> {
    let (url, discovered) =
        match (config.access_token_url.as_deref(), metadata.and_then(|m| m.token_endpoint.as_deref())) {
            (Some(url), _) => (url, false),
            (None, Some(url)) => (url, true),
            (None, None) => return Err(config.missing("access_token_url").into()),
        };
    check_transport(config, "access_token_url", url, discovered)?;
    Ok(url)
}

/// The refresh endpoint: `refresh_token_url`, else [`token_endpoint`].
///
/// # Errors
/// As [`token_endpoint`].
pub fn refresh_endpoint<'a>(
    config: &'a ClientConfig,
    metadata: Option<&'a ProviderMetadata>,
) -> Result<&'a str, Error> {
    match config.refresh_token_url.as_deref() {
        Some(url) => check_transport(config, "refresh_token_url", url, false).map(|()| url),
        None => token_endpoint(config, metadata),
    }
}

/// The authorization code exchange ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)):
/// `grant_type=authorization_code`, `code`, `redirect_uri` (the one sent in the
/// authorization request), `code_verifier`, then `access_token_params`, with client
/// authentication applied ([`crate::client_auth`]).
///
/// # Errors
/// [`Error::Config`] when the endpoint or a credential is missing, [`Error::Malformed`]
/// when the endpoint is not a URL, [`Error::Random`].
pub fn exchange_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    code: AuthorizationCode,
    redirect_uri: Option<&str>,
    code_verifier: Option<PkceVerifier>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoint = token_endpoint(config, metadata)?;
    let mut form = vec![pair("grant_type", "authorization_code"), pair("code", code.secret())];
    if let Some(uri) = redirect_uri {
        form.push(pair("redirect_uri", uri));
    }
    if let Some(verifier) = &code_verifier {
        form.push(pair("code_verifier", verifier.secret()));
    }
    let method = resolve_method(config, metadata)?;
    build(config, metadata, method, endpoint, form, &config.access_token_params, rng, now)
}

/// A refresh request ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)) to
/// `refresh_token_url` (else the token endpoint): `grant_type=refresh_token`,
/// `refresh_token`, `scope` when given (absent: the originally granted scope), then
/// `refresh_token_params`, with client authentication.
///
/// # Errors
/// As [`exchange_request`].
pub fn refresh_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoint = refresh_endpoint(config, metadata)?;
    let mut form = vec![pair("grant_type", "refresh_token"), pair("refresh_token", refresh_token.secret())];
    if let Some(scope) = scope {
        form.push(pair("scope", scope));
    }
    let method = resolve_method(config, metadata)?;
    build(config, metadata, method, endpoint, form, &config.refresh_token_params, rng, now)
}

/// A client credentials request ([RFC 6749 §4.4.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2)),
/// Authlib's `fetch_access_token()` without a code: `grant_type=client_credentials`,
/// `scope` (given, else the configured scope), then `access_token_params`.
///
/// # Errors
/// As [`exchange_request`]; also [`Error::Config`] (`client_secret` missing) for a public
/// client, since this grant is for confidential clients only (RFC 6749 §4.4).
#[doc(alias = "fetch_access_token")]
pub fn client_credentials_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    scope: Option<&str>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoint = token_endpoint(config, metadata)?;
    let method = resolve_method(config, metadata)?;
    if method == TokenEndpointAuthMethod::None {
        return Err(config.missing("client_secret").into());
    }
    let mut form = vec![pair("grant_type", "client_credentials")];
    if let Some(scope) = scope.or(config.scope_str()) {
        form.push(pair("scope", scope));
    }
    build(config, metadata, method, endpoint, form, &config.access_token_params, rng, now)
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[allow(clippy::too_many_arguments)]
fn build(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    method: TokenEndpointAuthMethod,
    endpoint: &str,
    mut form: Vec<(String, String)>,
    extra: &Params,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    wire::parse_url(endpoint, "token endpoint")?;
    // Configured extras never override the protocol parameters set above.
    for (k, v) in extra {
        if !form.iter().any(|(fk, _)| fk == k) {
            form.push((k.clone(), v.clone()));
        }
    }
    let audience = match method {
        TokenEndpointAuthMethod::ClientSecretJwt | TokenEndpointAuthMethod::PrivateKeyJwt => {
            assertion_audience(config, metadata, endpoint)?
        }
        _ => String::new(),
    };
    let authorization = apply_client_auth(method, config, &audience, rng, now, &mut form)?;
    let body = wire::form_encode(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut request = wire::post_form(endpoint, body)?;
    if let Some(value) = authorization {
        request = request.header(http::header::AUTHORIZATION, value);
    }
    request.build()
}

/// A POST of `form` to `endpoint` with the client's authentication (as for the token
/// endpoint: the method configured or chosen from the metadata; assertions addressed to
/// the issuer): what revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) send.
pub(crate) fn authenticated_post(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    endpoint: &str,
    form: Vec<(String, String)>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let method = resolve_method(config, metadata)?;
    build(config, metadata, method, endpoint, form, &Params::default(), rng, now)
}

/// A device access token request ([RFC 8628 §3.4](https://www.rfc-editor.org/rfc/rfc8628#section-3.4))
/// to the token endpoint: `grant_type=urn:ietf:params:oauth:grant-type:device_code`,
/// `device_code`, then `access_token_params`, with client authentication (`client_id`
/// for a public client). [`crate::device::DevicePoll::poll_request`] calls it; any header
/// a token request needs (e.g. a DPoP proof) is added to what it returns, as for the other
/// grants.
///
/// # Errors
/// As [`exchange_request`].
pub fn device_code_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    device_code: &crate::secret::DeviceCode,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoint = token_endpoint(config, metadata)?;
    let form =
        vec![pair("grant_type", crate::device::DEVICE_CODE_GRANT_TYPE), pair("device_code", device_code.secret())];
    let method = resolve_method(config, metadata)?;
    build(config, metadata, method, endpoint, form, &config.access_token_params, rng, now)
}

/// Parses the token endpoint's response ([RFC 6749 §5](https://www.rfc-editor.org/rfc/rfc6749#section-5)).
///
/// Accepts JSON (by content type, or a body starting with `{`) and form-encoded bodies
/// (`application/x-www-form-urlencoded` or `text/plain`, as GitHub sends without an
/// `Accept` header). `expires_at` is `now + expires_in`; a numeric string `expires_in`
/// is tolerated; unknown members are kept in [`Token::extra`] (except `userinfo` and
/// `expires_at`, which only rpkit sets).
///
/// # Errors
/// - [`Error::TooLarge`] past [`MAX_RESPONSE_BYTES`](crate::wire::MAX_RESPONSE_BYTES), before parsing.
/// - [`Error::Provider`] for an RFC 6749 §5.2 error object, whatever the status (some
///   providers send errors with 200); on [`Grant::Refresh`], `invalid_grant` is
///   [`Error::ReauthenticationRequired`].
/// - [`Error::Http`] for another non-2xx status.
/// - [`Error::Malformed`] for a body that is neither a JSON object nor a form.
/// - [`Error::Token`]: [`TokenError::MissingAccessToken`], [`TokenError::MissingTokenType`],
///   [`TokenError::UnsupportedTokenType`], [`TokenError::InvalidMember`],
///   [`TokenError::MissingIdToken`] (an `openid` code exchange without `id_token`).
///
/// No error contains a token.
pub fn parse_token_response<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    now: UnixTime,
    grant: Grant,
) -> Result<Token, Error> {
    parse_token_response_dpop(response, now, grant, false)
}

/// [`parse_token_response`] for a request that carried a DPoP proof when `proof_sent`
/// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)): the `token_type`
/// must then be `DPoP` (case-insensitively) — a Bearer token is refused, not accepted as a
/// downgrade. Without a proof it is exactly [`parse_token_response`] (Bearer only).
///
/// # Errors
/// As [`parse_token_response`]; [`DpopError::NotDpopBound`](crate::dpop::DpopError::NotDpopBound)
/// when a proof was sent and the token is not DPoP-bound.
pub fn parse_token_response_dpop<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    now: UnixTime,
    grant: Grant,
    proof_sent: bool,
) -> Result<Token, Error> {
    let body = wire::body_of(response, Endpoint::Token)?;
    // Filled in place: the members are ~300 bytes, not worth moving around.
    let mut members = Members::default();
    let decoded = decode_body(body, media_type(response), &mut members).map(|()| &mut members);
    token_from_body_as(decoded, response.status(), now, grant, proof_sent)
}

/// The rest of [`parse_token_response`], once the body is decoded.
#[cfg(test)]
fn token_from_body(
    decoded: Result<&mut Members, Error>,
    status: http::StatusCode,
    now: UnixTime,
    grant: Grant,
) -> Result<Token, Error> {
    token_from_body_as(decoded, status, now, grant, false)
}

fn token_from_body_as(
    decoded: Result<&mut Members, Error>,
    status: http::StatusCode,
    now: UnixTime,
    grant: Grant,
    dpop: bool,
) -> Result<Token, Error> {
    if let Ok(members) = &decoded {
        let object = &members.extra;
        // `has_error` spares hashing the name when there is no `error` (the usual case).
        match members.has_error.then(|| object.get("error")).flatten() {
            Some(Value::String(code)) => {
                let text = |name: &str| object.get(name).and_then(Value::as_str);
                let err = ProviderError::from_wire(code, text("error_description"), text("error_uri"));
                return Err(if grant == Grant::Refresh && err.error == "invalid_grant" {
                    Error::ReauthenticationRequired(err)
                } else {
                    Error::Provider(err)
                });
            }
            Some(Value::Null) | None => {}
            Some(_) if status.is_success() => return Err(Error::malformed("token response: `error` is not a string")),
            Some(_) => {}
        }
    }
    if !status.is_success() {
        return Err(Error::Http { endpoint: Endpoint::Token, status: status.as_u16() });
    }
    token_from_members_as(decoded?, now, grant, dpop)
}

/// A decoded response body: the members rpkit interprets, each as sent (the last one when
/// repeated, as a JSON map would keep it), and every other member in `extra`. `error`,
/// `error_description` and `error_uri` stay in `extra`, as they always have.
#[derive(Default)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Members {
    access_token: Option<Raw>,
    token_type: Option<Raw>,
    expires_in: Option<Raw>,
    refresh_expires_in: Option<Raw>,
    refresh_token: Option<Raw>,
    id_token: Option<Raw>,
    scope: Option<Raw>,
    extra: Map<String, Value>,
    /// Whether `extra` has an `error` member.
    has_error: bool,
}

/// A known member's value, as much of it as the checks need (a `Value` is 72 bytes; this
/// is 32). Objects and booleans are parsed and validated all the same, then dropped.
#[cfg_attr(test, derive(Debug, PartialEq))]
enum Raw {
    Null,
    Str(String),
    Num(serde_json::Number),
    Array(Vec<Value>),
    Other,
}

impl Raw {
    fn from_value(value: Value) -> Raw {
        match value {
            Value::Null => Raw::Null,
            Value::String(s) => Raw::Str(s),
            Value::Number(n) => Raw::Num(n),
            Value::Array(items) => Raw::Array(items),
            Value::Bool(_) | Value::Object(_) => Raw::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> serde::de::Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Raw, E> {
                Ok(Raw::Other)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Raw, E> {
                Ok(Raw::Num(n.into()))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Raw, E> {
                Ok(Raw::Num(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Raw, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Raw::Other, Raw::Num))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Raw, E> {
                Ok(Raw::Str(s.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Raw, E> {
                Ok(Raw::Str(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    items.push(item);
                }
                Ok(Raw::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                while map.next_entry::<String, Value>()?.is_some() {}
                Ok(Raw::Other)
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

impl Members {
    /// Takes the known members out of a form-decoded map.
    fn from_map(mut object: Map<String, Value>) -> Self {
        let mut take = |name: &str| object.remove(name).map(Raw::from_value);
        let mut members = Members {
            access_token: take("access_token"),
            token_type: take("token_type"),
            expires_in: take("expires_in"),
            refresh_expires_in: take("refresh_expires_in"),
            refresh_token: take("refresh_token"),
            id_token: take("id_token"),
            scope: take("scope"),
            extra: Map::new(),
            has_error: false,
        };
        // Only rpkit sets these: a provider-sent `userinfo` must never become trusted
        // claims after a serialize/deserialize round trip.
        object.remove("userinfo");
        object.remove("expires_at");
        members.has_error = object.contains_key("error");
        members.extra = object;
        members
    }

    /// Keeps an unknown member (the last one when repeated, as a map does).
    fn insert_extra(&mut self, name: String, value: Value) {
        self.has_error |= name == "error";
        self.extra.insert(name, value);
    }

    fn slot(&mut self, field: &Field) -> Option<&mut Option<Raw>> {
        Some(match field {
            Field::AccessToken => &mut self.access_token,
            Field::TokenType => &mut self.token_type,
            Field::ExpiresIn => &mut self.expires_in,
            Field::RefreshExpiresIn => &mut self.refresh_expires_in,
            Field::RefreshToken => &mut self.refresh_token,
            Field::IdToken => &mut self.id_token,
            Field::Scope => &mut self.scope,
            Field::Dropped | Field::Other(_) => return None,
        })
    }
}

/// A member name of a JSON token response; only unknown names are allocated.
enum Field {
    AccessToken,
    TokenType,
    ExpiresIn,
    RefreshExpiresIn,
    RefreshToken,
    IdToken,
    Scope,
    /// `userinfo` and `expires_at`: only rpkit sets these, so a provider-sent one is
    /// parsed (with the same validation as any member) and dropped.
    Dropped,
    Other(String),
}

impl Field {
    fn known(name: &str) -> Option<Field> {
        Some(match name {
            "access_token" => Field::AccessToken,
            "token_type" => Field::TokenType,
            "expires_in" => Field::ExpiresIn,
            "refresh_expires_in" => Field::RefreshExpiresIn,
            "refresh_token" => Field::RefreshToken,
            "id_token" => Field::IdToken,
            "scope" => Field::Scope,
            "userinfo" | "expires_at" => Field::Dropped,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl serde::de::Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(Field::known(name).unwrap_or_else(|| Field::Other(name.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, name: String) -> Result<Field, E> {
                Ok(Field::known(&name).unwrap_or(Field::Other(name)))
            }
        }
        deserializer.deserialize_str(FieldVisitor)
    }
}

/// The fast path for JSON bodies: a scanner for the top-level object that accepts only
/// valid JSON and gives the same [`Members`] as the `serde_json` path ([`JsonBody`]).
///
/// The body's UTF-8 is validated once, up front; member names and escape-free strings are
/// then found with a quick search for `"`, `\` and control characters and taken as they
/// are. Whatever else a member's value is (a string with escapes, a number other than a
/// plain unsigned integer, an array or object) is measured here and parsed by
/// `serde_json` on its slice. On anything unexpected (bad syntax, invalid UTF-8, a value
/// nested deeper than [`scan::MAX_NESTING`], a body that is not an object) the scanner
/// gives up with `None` and the caller parses the whole body with `serde_json`, which then
/// decides acceptance and the error: the scanner never has to reproduce an error, only to
/// accept nothing that `serde_json` would refuse. Every step moves forward through the
/// body at most twice (once here, once in `serde_json` on a slice), without recursion.
mod scan {
    use super::{Field, Members, Raw};
    use crate::jsonscan::{plain_u64, Scanner};
    use serde::de::DeserializeOwned;
    use serde_json::Value;
    use std::borrow::Cow;

    /// Values nested deeper than this go to the `serde_json` path, whose own limit then
    /// decides (it counts the enclosing object, which a slice parse would not: far below
    /// it, the two agree).
    pub(super) const MAX_NESTING: usize = 64;

    /// Fills `members` (empty) with the members of `body` if it is a JSON object this
    /// scanner handles, else gives `None` (and `members` is to be discarded).
    pub(super) fn members(body: &[u8], members: &mut Members) -> Option<()> {
        let text = std::str::from_utf8(body).ok()?;
        let mut s = Scanner::new(text);
        s.skip_ws();
        s.eat(b'{')?;
        s.skip_ws();
        if s.eat(b'}').is_none() {
            loop {
                let field = match known_name(&mut s) {
                    Some(field) => field,
                    None => {
                        let name = s.string()?;
                        Field::known(&name).unwrap_or_else(|| Field::Other(name.into_owned()))
                    }
                };
                s.skip_ws();
                s.eat(b':')?;
                s.skip_ws();
                match (members.slot(&field), field) {
                    // Strings, the usual case, go straight into their slot.
                    (Some(slot), _) if s.peek() == Some(b'"') => *slot = Some(Raw::Str(s.string()?.into_owned())),
                    (Some(slot), _) => *slot = Some(value::<Raw>(&mut s)?),
                    (None, Field::Other(name)) => {
                        let value = value::<Value>(&mut s)?;
                        members.insert_extra(name, value);
                    }
                    // `userinfo`, `expires_at`: validated as any value, then dropped.
                    (None, _) => drop(value::<Value>(&mut s)?),
                }
                s.skip_ws();
                match s.peek()? {
                    b',' => {
                        s.pos += 1;
                        s.skip_ws();
                    }
                    b'}' => {
                        s.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        s.at_end().then_some(())
    }

    /// A member value as the `serde_json` path would build it.
    trait Build: DeserializeOwned {
        fn string(s: Cow<'_, str>) -> Self;
        fn unsigned(n: u64) -> Self;
        fn boolean(b: bool) -> Self;
        fn null() -> Self;
    }

    impl Build for Raw {
        fn string(s: Cow<'_, str>) -> Self {
            Raw::Str(s.into_owned())
        }
        fn unsigned(n: u64) -> Self {
            Raw::Num(n.into())
        }
        fn boolean(_: bool) -> Self {
            Raw::Other
        }
        fn null() -> Self {
            Raw::Null
        }
    }

    impl Build for Value {
        fn string(s: Cow<'_, str>) -> Self {
            Value::String(s.into_owned())
        }
        fn unsigned(n: u64) -> Self {
            Value::Number(n.into())
        }
        fn boolean(b: bool) -> Self {
            Value::Bool(b)
        }
        fn null() -> Self {
            Value::Null
        }
    }

    /// A member name rpkit reads, at `pos`, written plainly (the usual case): found
    /// without scanning it as a string. `None` leaves `pos` as it is.
    fn known_name(s: &mut Scanner<'_>) -> Option<Field> {
        let rest = s.rest();
        let (field, quoted): (Field, &[u8]) = match *rest.get(1)? {
            b'a' => (Field::AccessToken, b"\"access_token\""),
            b't' => (Field::TokenType, b"\"token_type\""),
            b'e' => (Field::ExpiresIn, b"\"expires_in\""),
            b'r' if rest.get(9) == Some(&b't') => (Field::RefreshToken, b"\"refresh_token\""),
            b'r' => (Field::RefreshExpiresIn, b"\"refresh_expires_in\""),
            b'i' => (Field::IdToken, b"\"id_token\""),
            b's' => (Field::Scope, b"\"scope\""),
            _ => return None,
        };
        rest.starts_with(quoted).then(|| {
            s.pos += quoted.len();
            field
        })
    }

    /// The value at `pos`, built as `serde_json` would build it: plain strings and
    /// unsigned integers here, anything else by `serde_json` on the value's text.
    fn value<T: Build>(s: &mut Scanner<'_>) -> Option<T> {
        match s.peek()? {
            b'"' => s.string().map(T::string),
            b'0'..=b'9' | b'-' => {
                let number = s.number();
                match plain_u64(number) {
                    Some(n) => Some(T::unsigned(n)),
                    // Signs, fractions, exponents, overflow and invalid forms (`01`, `1.`,
                    // `-`) are `serde_json`'s, so each ends up as it would.
                    None => serde_json::from_str(number).ok(),
                }
            }
            b't' => s.literal("true").map(|()| T::boolean(true)),
            b'f' => s.literal("false").map(|()| T::boolean(false)),
            b'n' => s.literal("null").map(|()| T::null()),
            b'[' | b'{' => serde_json::from_str(s.nested(MAX_NESTING)?).ok(),
            _ => None,
        }
    }
}

/// A JSON body: an object's members, or `None` for any other valid JSON value (still
/// fully parsed, so that invalid JSON is told apart from a valid non-object).
struct JsonBody(Option<Members>);

impl<'de> Deserialize<'de> for JsonBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> serde::de::Visitor<'de> for BodyVisitor {
    type Value = JsonBody;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonBody, A::Error> {
        let mut members = Members::default();
        while let Some(field) = map.next_key::<Field>()? {
            match (members.slot(&field), field) {
                (Some(slot), _) => *slot = Some(map.next_value()?),
                (None, Field::Other(name)) => {
                    let value = map.next_value()?;
                    members.insert_extra(name, value);
                }
                (None, _) => drop(map.next_value::<Value>()?),
            }
        }
        Ok(JsonBody(Some(members)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonBody, A::Error> {
        while seq.next_element::<Value>()?.is_some() {}
        Ok(JsonBody(None))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<JsonBody, E> {
        Ok(JsonBody(None))
    }
}

/// The response's media type as [`wire::media_type`] finds it, but borrowed and not
/// lowercased (compare it with `eq_ignore_ascii_case`): no allocation on every parse.
fn media_type<B>(response: &http::Response<B>) -> Option<&str> {
    let ct = response.headers().get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    Some(ct.split(';').next().unwrap_or("").trim())
}

/// Decodes a body whose media type (any case) is `media_type` into `members` (empty).
fn decode_body(body: &[u8], media_type: Option<&str>, members: &mut Members) -> Result<(), Error> {
    let starts_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let json_type = media_type.is_some_and(|m| {
        m.eq_ignore_ascii_case("application/json")
            || m.len().checked_sub(5).and_then(|i| m.get(i..)).is_some_and(|end| end.eq_ignore_ascii_case("+json"))
    });
    if json_type || starts_like_json {
        // The common case: an object of strings and numbers, scanned directly.
        if scan::members(body, members).is_some() {
            return Ok(());
        }
        // Anything else (including every invalid body, so that errors are decided in one
        // place): straight into the members with `serde_json`, no map of the whole body.
        return match serde_json::from_slice::<JsonBody>(body) {
            Ok(JsonBody(Some(decoded))) => {
                *members = decoded;
                Ok(())
            }
            Ok(JsonBody(None)) => Err(Error::malformed("token response: not a JSON object")),
            Err(_) => Err(Error::malformed("token response: invalid JSON")),
        };
    }
    match media_type {
        None => decode_form(body).map(|map| *members = Members::from_map(map)),
        Some(m) if m.eq_ignore_ascii_case(wire::FORM_CONTENT_TYPE) || m.eq_ignore_ascii_case("text/plain") => {
            decode_form(body).map(|map| *members = Members::from_map(map))
        }
        Some(other) => Err(Error::malformed(format!(
            "token response: unexpected content type `{}` (expected JSON)",
            crate::error::sanitized(&other.to_ascii_lowercase(), 64)
        ))),
    }
}

fn decode_form(body: &[u8]) -> Result<Map<String, Value>, Error> {
    if body.is_empty() || !body.contains(&b'=') {
        return Err(Error::malformed("token response: neither JSON nor form-encoded"));
    }
    let mut map = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if k.is_empty() {
            return Err(Error::malformed("token response: neither JSON nor form-encoded"));
        }
        map.entry(k.into_owned()).or_insert(Value::String(v.into_owned()));
    }
    Ok(map)
}

/// The token from the members, which it takes.
#[cfg(test)]
fn token_from_members(members: &mut Members, now: UnixTime, grant: Grant) -> Result<Token, Error> {
    token_from_members_as(members, now, grant, false)
}

fn token_from_members_as(members: &mut Members, now: UnixTime, grant: Grant, dpop: bool) -> Result<Token, Error> {
    let access_token = match members.access_token.take() {
        Some(Raw::Str(s)) if !s.is_empty() => AccessToken::new(s),
        None | Some(Raw::Null | Raw::Str(_)) => return Err(TokenError::MissingAccessToken.into()),
        Some(_) => return Err(invalid("access_token", "a string")),
    };
    let token_type = match members.token_type.take() {
        Some(Raw::Str(s)) if !s.is_empty() => s,
        None | Some(Raw::Null | Raw::Str(_)) => return Err(TokenError::MissingTokenType.into()),
        Some(_) => return Err(invalid("token_type", "a string")),
    };
    if dpop && !token_type.eq_ignore_ascii_case("dpop") {
        let token_type = crate::error::sanitized(&token_type, 64);
        return Err(crate::dpop::DpopError::NotDpopBound { token_type }.into());
    }
    if !dpop && !token_type.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::UnsupportedTokenType { token_type: crate::error::sanitized(&token_type, 64) }.into());
    }
    let expires_in = seconds(members.expires_in.take(), "expires_in")?;
    let refresh_expires_in = seconds(members.refresh_expires_in.take(), "refresh_expires_in")?;
    let refresh_token = opt_string(members.refresh_token.take(), "refresh_token")?.map(RefreshToken::new);
    let id_token = opt_string(members.id_token.take(), "id_token")?.map(IdTokenString::new);
    let scope = match members.scope.take() {
        None | Some(Raw::Null) => None,
        Some(Raw::Str(s)) => Some(s),
        // Non-standard but seen in the wild: a list of scopes.
        Some(Raw::Array(items)) => Some(
            items
                .iter()
                .map(|i| i.as_str().ok_or_else(|| invalid("scope", "a string")))
                .collect::<Result<Vec<_>, _>>()?
                .join(" "),
        ),
        Some(_) => return Err(invalid("scope", "a string")),
    };
    if matches!(grant, Grant::AuthorizationCode { openid: true } | Grant::DeviceCode { openid: true })
        && id_token.is_none()
    {
        return Err(TokenError::MissingIdToken.into());
    }
    Ok(Token {
        access_token,
        token_type,
        expires_in,
        expires_at: expires_in.map(|secs| now.plus(secs)),
        refresh_token,
        refresh_expires_in,
        scope,
        id_token,
        userinfo: None,
        extra: std::mem::take(&mut members.extra),
    })
}

fn invalid(member: &'static str, expected: &'static str) -> Error {
    TokenError::InvalidMember { member, expected }.into()
}

fn seconds(value: Option<Raw>, member: &'static str) -> Result<Option<u64>, Error> {
    let from_f64 = |f: f64| (f.is_finite() && f >= 0.0).then_some(f as u64);
    let parsed = match value {
        None | Some(Raw::Null) => return Ok(None),
        Some(Raw::Num(n)) => n.as_u64().or_else(|| n.as_f64().and_then(from_f64)),
        Some(Raw::Str(s)) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| s.parse::<f64>().ok().and_then(from_f64))
        }
        Some(_) => None,
    };
    parsed.map(Some).ok_or_else(|| invalid(member, "a non-negative number of seconds"))
}

fn opt_string(value: Option<Raw>, member: &'static str) -> Result<Option<String>, Error> {
    match value {
        None | Some(Raw::Null) => Ok(None),
        Some(Raw::Str(s)) if s.is_empty() => Ok(None),
        Some(Raw::Str(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(member, "a string")),
    }
}

/// A copy of the token-endpoint POST `request` to send again (the DPoP nonce retry, RFC
/// 9449 §8), with fresh client authentication: a JWT client assertion is single-use (its
/// `jti`, RFC 7523 §3), so the copy carries a new one; other methods are copied as they
/// are. Any `DPoP` header is dropped (the retry needs a new proof). Usable for every token
/// request: code exchange, refresh, client credentials, device code.
///
/// # Errors
/// As [`exchange_request`] (configuration, signing, the random source).
pub fn retry_request(
    request: &http::Request<Vec<u8>>,
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy.headers_mut().remove(crate::dpop::DPOP_HEADER);
    let method = resolve_method(config, metadata)?;
    if matches!(method, TokenEndpointAuthMethod::ClientSecretJwt | TokenEndpointAuthMethod::PrivateKeyJwt) {
        let mut form: Vec<(String, String)> = url::form_urlencoded::parse(request.body()).into_owned().collect();
        if form.iter().any(|(k, _)| k == "client_assertion") {
            let audience = assertion_audience(config, metadata, &request.uri().to_string())?;
            apply_client_auth(method, config, &audience, rng, now, &mut form)?;
            *copy.body_mut() = wire::form_encode(form.iter().map(|(k, v)| (k.as_str(), v.as_str()))).into_bytes();
            copy.headers_mut().remove(http::header::CONTENT_LENGTH);
        }
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenEndpointAuthMethod as M;
    use crate::error::ConfigError;
    use crate::rand::SeededRandom;
    use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
    use proptest::prelude::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    const CODE: Grant = Grant::AuthorizationCode { openid: false };
    const OIDC: Grant = Grant::AuthorizationCode { openid: true };

    fn config() -> ClientConfig {
        ClientConfig::new("op")
            .client_id("client-1")
            .client_secret("secret-1")
            .access_token_url("https://op.example/token")
    }

    fn form_of(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        url::form_urlencoded::parse(req.body()).into_owned().collect()
    }

    fn get<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn json200(body: Vec<u8>) -> http::Response<Vec<u8>> {
        http::Response::builder().header(CONTENT_TYPE, "application/json").body(body).unwrap()
    }

    fn typed(status: u16, content_type: &str, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn exchange(config: &ClientConfig, md: Option<&ProviderMetadata>) -> Result<http::Request<Vec<u8>>, Error> {
        exchange_request(
            config,
            md,
            AuthorizationCode::new("code-1"),
            Some("https://app.example/cb"),
            Some(PkceVerifier::new("verifier-1")),
            &SeededRandom::new(1),
            NOW,
        )
    }

    fn assertion_claims(req: &http::Request<Vec<u8>>) -> Value {
        let form = form_of(req);
        let assertion = get(&form, "client_assertion").expect("a client assertion");
        let payload = assertion.split('.').nth(1).unwrap();
        serde_json::from_slice(&crate::jose::b64::decode(payload).unwrap()).unwrap()
    }

    fn private_key_jwt() -> ClientConfig {
        config()
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
            .private_key(crate::jose::testkeys::P256_PEM)
    }

    #[test]
    fn client_assertions_are_addressed_to_the_issuer_as_one_string() {
        // Configured issuer.
        let cfg = private_key_jwt().issuer("https://op.example");
        let claims = assertion_claims(&exchange(&cfg, None).unwrap());
        assert_eq!(claims["aud"], "https://op.example");
        // Discovered issuer; client_secret_jwt too.
        let md = ProviderMetadata { issuer: "https://op.example/t1".into(), ..Default::default() };
        let claims = assertion_claims(&exchange(&private_key_jwt(), Some(&md)).unwrap());
        assert_eq!(claims["aud"], "https://op.example/t1");
        let hs = config()
            .client_secret("a-client-secret-of-at-least-32-bytes!")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretJwt);
        let claims = assertion_claims(&exchange(&hs, Some(&md)).unwrap());
        assert_eq!(claims["aud"], "https://op.example/t1");
        assert!(claims["aud"].is_string(), "never an array");
    }

    #[test]
    fn the_token_endpoint_audience_is_an_explicit_setting() {
        let json = serde_json::json!({"client_kwargs": {"client_assertion_audience": "token_endpoint"}});
        let mut cfg = ClientConfig::from_value("op", &json).unwrap();
        cfg = cfg
            .client_id("client-1")
            .access_token_url("https://op.example/token")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
            .private_key(crate::jose::testkeys::P256_PEM)
            .issuer("https://op.example");
        let claims = assertion_claims(&exchange(&cfg, None).unwrap());
        assert_eq!(claims["aud"], "https://op.example/token");
        let bad = serde_json::json!({"client_kwargs": {"client_assertion_audience": ["both"]}});
        assert!(matches!(ClientConfig::from_value("op", &bad), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn a_client_assertion_without_a_known_issuer_is_a_config_error() {
        let err = exchange(&private_key_jwt(), None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "issuer"), "{err:?}");
    }

    #[test]
    fn token_requests_to_plain_http_hosts_are_refused_before_anything_is_built() {
        let plain = config().access_token_url("http://op.example/token");
        let err = exchange(&plain, None).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "access_token_url")
        );
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            token_endpoint: Some("http://op.example/token".into()),
            ..Default::default()
        };
        let mut discovered = config();
        discovered.access_token_url = None;
        let err = exchange(&discovered, Some(&md)).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "metadata.token_endpoint"),
            "{err:?}"
        );
        let refresh = config().refresh_token_url("http://op.example/refresh");
        let err =
            refresh_request(&refresh, None, &RefreshToken::new("rt"), None, &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "refresh_token_url")
        );
        // Loopback is a development address; the opt-out is explicit and loudly named.
        assert!(exchange(&config().access_token_url("http://127.0.0.1:9000/token"), None).is_ok());
        let mut opted_out = plain.clone();
        opted_out.client_kwargs.danger_allow_insecure_http = true;
        assert!(exchange(&opted_out, None).is_ok());
    }

    #[test]
    fn exchange_request_posts_the_code_redirect_uri_and_verifier() {
        let config = config().token_endpoint_auth_method(M::ClientSecretPost);
        let mut config = config;
        config.access_token_params.insert("resource".into(), "https://api.example".into());
        config.access_token_params.insert("grant_type".into(), "evil".into());
        let req = exchange(&config, None).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "https://op.example/token");
        assert_eq!(req.headers()[ACCEPT], "application/json");
        assert_eq!(req.headers()[CONTENT_TYPE], wire::FORM_CONTENT_TYPE);
        let form = form_of(&req);
        assert_eq!(get(&form, "grant_type"), Some("authorization_code"));
        assert_eq!(get(&form, "code"), Some("code-1"));
        assert_eq!(get(&form, "redirect_uri"), Some("https://app.example/cb"));
        assert_eq!(get(&form, "code_verifier"), Some("verifier-1"));
        assert_eq!(get(&form, "resource"), Some("https://api.example"));
        assert_eq!(get(&form, "client_secret"), Some("secret-1"));
        assert_eq!(form.iter().filter(|(k, _)| k == "grant_type").count(), 1, "extras never override");
        assert!(!req.headers().contains_key(AUTHORIZATION));
    }

    #[test]
    fn exchange_request_uses_basic_auth_by_default_and_marks_it_sensitive() {
        let req = exchange(&config(), None).unwrap();
        let auth = &req.headers()[AUTHORIZATION];
        assert!(auth.to_str().unwrap().starts_with("Basic "));
        assert!(auth.is_sensitive());
        assert_eq!(get(&form_of(&req), "client_secret"), None);
    }

    #[test]
    fn token_endpoint_falls_back_to_metadata_then_errors() {
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            token_endpoint: Some("https://op.example/discovered-token".into()),
            ..Default::default()
        };
        let mut cfg = config();
        cfg.access_token_url = None;
        assert_eq!(exchange(&cfg, Some(&md)).unwrap().uri(), "https://op.example/discovered-token");
        let err = exchange(&cfg, None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "access_token_url"));
        // The configured endpoint wins over the discovered one.
        assert_eq!(exchange(&config(), Some(&md)).unwrap().uri(), "https://op.example/token");
    }

    #[test]
    fn invalid_token_endpoint_is_a_configuration_error_not_a_panic() {
        let cfg = config().access_token_url("not a url");
        assert!(matches!(exchange(&cfg, None), Err(Error::Config(ConfigError::Unusable { .. }))));
    }

    #[test]
    fn refresh_request_honours_refresh_token_url_and_params() {
        let mut cfg = config().refresh_token_url("https://op.example/refresh");
        cfg.refresh_token_params.insert("audience".into(), "api".into());
        let req =
            refresh_request(&cfg, None, &RefreshToken::new("rt-1"), Some("a b"), &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.uri(), "https://op.example/refresh");
        let form = form_of(&req);
        assert_eq!(get(&form, "grant_type"), Some("refresh_token"));
        assert_eq!(get(&form, "refresh_token"), Some("rt-1"));
        assert_eq!(get(&form, "scope"), Some("a b"));
        assert_eq!(get(&form, "audience"), Some("api"));
        let plain =
            refresh_request(&config(), None, &RefreshToken::new("rt"), None, &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(plain.uri(), "https://op.example/token");
        assert_eq!(get(&form_of(&plain), "scope"), None);
    }

    #[test]
    fn client_credentials_request_sends_the_configured_scope() {
        let cfg = config().scope("read write");
        let req = client_credentials_request(&cfg, None, None, &SeededRandom::new(1), NOW).unwrap();
        let form = form_of(&req);
        assert_eq!(get(&form, "grant_type"), Some("client_credentials"));
        assert_eq!(get(&form, "scope"), Some("read write"));
        let req = client_credentials_request(&cfg, None, Some("read"), &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(get(&form_of(&req), "scope"), Some("read"));
    }

    #[test]
    fn client_credentials_for_a_public_client_is_refused() {
        let cfg = ClientConfig::new("spa").client_id("c").access_token_url("https://op.example/token");
        let err = client_credentials_request(&cfg, None, None, &SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "client_secret"));
    }

    #[test]
    fn json_response_becomes_a_token_with_expires_at() {
        let body = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1",
            "refresh_expires_in":"7200","scope":"openid email","id_token":"a.b.c","session_state":"xyz"}"#;
        let t = parse_token_response(&json(200, body), NOW, OIDC).unwrap();
        assert_eq!(t.access_token.secret(), "at-1");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.expires_at, Some(NOW.plus(3600)));
        assert_eq!(t.refresh_token.as_ref().map(RefreshToken::secret), Some("rt-1"));
        assert_eq!(t.refresh_expires_in, Some(7200));
        assert_eq!(t.scope.as_deref(), Some("openid email"));
        assert_eq!(t.id_token.as_ref().map(IdTokenString::secret), Some("a.b.c"));
        assert_eq!(t.extra.get("session_state"), Some(&Value::from("xyz")));
        assert!(t.userinfo.is_none(), "the ID token is not decoded here");
    }

    #[test]
    fn missing_expires_in_and_scope_are_accepted() {
        let t = parse_token_response(&json(200, r#"{"access_token":"a","token_type":"bearer"}"#), NOW, CODE).unwrap();
        assert_eq!((t.expires_in, t.expires_at, t.scope), (None, None, None));
    }

    #[test]
    fn numeric_string_and_fractional_expires_in_are_tolerated() {
        let t = parse_token_response(
            &json(200, r#"{"access_token":"a","token_type":"bearer","expires_in":" 60 "}"#),
            NOW,
            CODE,
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(NOW.plus(60)));
        let t = parse_token_response(
            &json(200, r#"{"access_token":"a","token_type":"bearer","expires_in":59.9}"#),
            NOW,
            CODE,
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(59));
    }

    #[test]
    fn odd_case_token_type_is_accepted() {
        for tt in ["bearer", "BEARER", "BeArEr"] {
            let body = format!(r#"{{"access_token":"a","token_type":"{tt}"}}"#);
            let t = parse_token_response(&json(200, &body), NOW, CODE).unwrap();
            assert_eq!(t.token_type, tt);
            assert!(t.is_bearer());
        }
    }

    #[test]
    fn non_bearer_token_type_is_rejected() {
        let err =
            parse_token_response(&json(200, r#"{"access_token":"a","token_type":"DPoP"}"#), NOW, CODE).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::UnsupportedTokenType { token_type: "DPoP".into() }));
    }

    #[test]
    fn missing_token_type_or_access_token_is_a_typed_error() {
        let err = parse_token_response(&json(200, r#"{"access_token":"a"}"#), NOW, CODE).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::MissingTokenType));
        let err = parse_token_response(&json(200, r#"{"token_type":"bearer"}"#), NOW, CODE).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::MissingAccessToken));
        let err =
            parse_token_response(&json(200, r#"{"access_token":"","token_type":"bearer"}"#), NOW, CODE).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::MissingAccessToken));
    }

    #[test]
    fn wrong_member_types_name_the_member() {
        let cases = [
            (r#"{"access_token":5,"token_type":"bearer"}"#, "access_token"),
            (r#"{"access_token":"a","token_type":["bearer"]}"#, "token_type"),
            (r#"{"access_token":"a","token_type":"bearer","expires_in":"soon"}"#, "expires_in"),
            (r#"{"access_token":"a","token_type":"bearer","expires_in":-5}"#, "expires_in"),
            (r#"{"access_token":"a","token_type":"bearer","expires_in":true}"#, "expires_in"),
            (r#"{"access_token":"a","token_type":"bearer","refresh_token":{}}"#, "refresh_token"),
            (r#"{"access_token":"a","token_type":"bearer","scope":7}"#, "scope"),
            (r#"{"access_token":"a","token_type":"bearer","id_token":1}"#, "id_token"),
            (r#"{"access_token":"a","token_type":"bearer","refresh_expires_in":[]}"#, "refresh_expires_in"),
        ];
        for (body, member) in cases {
            let err = parse_token_response(&json(200, body), NOW, CODE).unwrap_err();
            assert!(
                matches!(err, Error::Token(TokenError::InvalidMember { member: m, .. }) if m == member),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn openid_exchange_without_id_token_is_rejected() {
        let err =
            parse_token_response(&json(200, r#"{"access_token":"a","token_type":"bearer"}"#), NOW, OIDC).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::MissingIdToken));
        // Refreshes need not carry a new ID token (OIDC Core §12.2).
        assert!(parse_token_response(&json(200, r#"{"access_token":"a","token_type":"bearer"}"#), NOW, Grant::Refresh)
            .is_ok());
    }

    #[test]
    fn error_object_is_a_provider_error_keeping_the_code() {
        let body = r#"{"error":"invalid_client","error_description":"bad secret","error_uri":"https://op.example/e"}"#;
        let err = parse_token_response(&json(401, body), NOW, CODE).unwrap_err();
        assert_eq!(
            err,
            Error::Provider(ProviderError {
                error: "invalid_client".into(),
                description: Some("bad secret".into()),
                uri: Some("https://op.example/e".into()),
            })
        );
    }

    #[test]
    fn error_object_sent_with_200_is_still_an_error() {
        let err = parse_token_response(&json(200, r#"{"error":"invalid_request"}"#), NOW, CODE).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("invalid_request"));
        assert!(matches!(err, Error::Provider(_)));
        // GitHub answers a bad code with a 200 form body.
        let gh = typed(
            200,
            "application/x-www-form-urlencoded",
            "error=bad_verification_code&error_description=The+code+is+wrong",
        );
        let err = parse_token_response(&gh, NOW, CODE).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("bad_verification_code"));
    }

    #[test]
    fn invalid_grant_on_refresh_requires_reauthentication() {
        let err = parse_token_response(&json(400, r#"{"error":"invalid_grant"}"#), NOW, Grant::Refresh).unwrap_err();
        assert!(matches!(err, Error::ReauthenticationRequired(ref p) if p.error == "invalid_grant"));
        // The same code on a code exchange is an ordinary provider error.
        let err = parse_token_response(&json(400, r#"{"error":"invalid_grant"}"#), NOW, CODE).unwrap_err();
        assert!(matches!(err, Error::Provider(_)));
        let err = parse_token_response(&json(400, r#"{"error":"invalid_client"}"#), NOW, Grant::Refresh).unwrap_err();
        assert!(matches!(err, Error::Provider(_)));
    }

    #[test]
    fn non_2xx_without_an_error_body_is_an_http_error() {
        let html = typed(502, "text/html", "<html>Bad gateway</html>");
        assert_eq!(
            parse_token_response(&html, NOW, CODE).unwrap_err(),
            Error::Http { endpoint: Endpoint::Token, status: 502 }
        );
        let empty = json(500, "");
        assert_eq!(
            parse_token_response(&empty, NOW, CODE).unwrap_err(),
            Error::Http { endpoint: Endpoint::Token, status: 500 }
        );
    }

    #[test]
    fn html_or_garbage_with_200_is_malformed() {
        for resp in [
            typed(200, "text/html", "<html>login</html>"),
            json(200, "{not json"),
            json(200, "[1,2]"),
            typed(200, "text/plain", "just words"),
        ] {
            let err = parse_token_response(&resp, NOW, CODE).unwrap_err();
            assert!(matches!(err, Error::Malformed { ref what } if what.starts_with("token response")), "{err:?}");
        }
    }

    #[test]
    fn five_mib_body_is_too_large() {
        let resp = http::Response::new(vec![b' '; 5 * 1024 * 1024]);
        assert_eq!(
            parse_token_response(&resp, NOW, CODE).unwrap_err(),
            Error::TooLarge { endpoint: Endpoint::Token, limit: wire::MAX_RESPONSE_BYTES }
        );
    }

    #[test]
    fn form_encoded_github_response_is_parsed() {
        let body = "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer";
        for ct in ["application/x-www-form-urlencoded", "text/plain; charset=utf-8"] {
            let t = parse_token_response(&typed(200, ct, body), NOW, CODE).unwrap();
            assert_eq!(t.access_token.secret(), "gho_16C7e42F292c6912E7710c838347Ae178B4a");
            assert_eq!(t.scope.as_deref(), Some("repo,gist"));
            assert!(t.is_bearer());
        }
        let no_type = http::Response::new(body.as_bytes().to_vec());
        assert!(parse_token_response(&no_type, NOW, CODE).is_ok());
    }

    #[test]
    fn json_body_with_a_misleading_content_type_is_still_json() {
        let resp = typed(200, "text/javascript", r#" {"access_token":"a","token_type":"bearer"}"#);
        assert!(parse_token_response(&resp, NOW, CODE).is_ok());
    }

    #[test]
    fn content_types_are_compared_case_insensitively() {
        let body = r#"{"access_token":"a","token_type":"bearer"}"#;
        for ct in ["Application/JSON; charset=UTF-8", "application/vnd.op+JSON", " application/json "] {
            // A body that does not start with `{` is JSON only by its content type.
            let resp = typed(200, ct, &format!("\u{feff}{body}"));
            let err = parse_token_response(&resp, NOW, CODE).unwrap_err();
            assert_eq!(err, Error::malformed("token response: invalid JSON"), "{ct}");
        }
        let form = "access_token=a&token_type=bearer";
        for ct in ["APPLICATION/X-WWW-FORM-URLENCODED", "Text/Plain;charset=utf-8"] {
            assert!(parse_token_response(&typed(200, ct, form), NOW, CODE).is_ok(), "{ct}");
        }
        let err = parse_token_response(&typed(200, "Text/HTML; charset=utf-8", form), NOW, CODE).unwrap_err();
        assert_eq!(err, Error::malformed("token response: unexpected content type `text/html` (expected JSON)"));
        let long = format!("X/{}", "Y".repeat(100));
        let err = parse_token_response(&typed(200, &long, form), NOW, CODE).unwrap_err();
        let expected = format!("token response: unexpected content type `x/{}…` (expected JSON)", "y".repeat(62));
        assert_eq!(err, Error::malformed(expected));
    }

    #[test]
    fn provider_sent_userinfo_never_becomes_claims() {
        let body = r#"{"access_token":"a","token_type":"bearer","userinfo":{"sub":"admin"},"expires_at":1}"#;
        let t = parse_token_response(&json(200, body), NOW, CODE).unwrap();
        assert!(t.userinfo.is_none());
        assert!(!t.extra.contains_key("userinfo") && !t.extra.contains_key("expires_at"));
        let round: Token = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert!(round.userinfo.is_none());
    }

    #[test]
    fn errors_never_contain_tokens() {
        let body = r#"{"access_token":"SECRET-AT","token_type":"mac","refresh_token":"SECRET-RT"}"#;
        let err = parse_token_response(&json(200, body), NOW, CODE).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("SECRET"));
        let t = parse_token_response(&json(200, r#"{"access_token":"SECRET-AT","token_type":"bearer"}"#), NOW, CODE)
            .unwrap();
        assert!(!format!("{t:?}").contains("SECRET"));
    }

    fn token(at: &str, rt: Option<&str>) -> Token {
        Token {
            access_token: AccessToken::new(at),
            token_type: "Bearer".into(),
            expires_in: None,
            expires_at: None,
            refresh_token: rt.map(RefreshToken::new),
            refresh_expires_in: None,
            scope: None,
            id_token: None,
            userinfo: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn refresh_without_refresh_token_keeps_the_old_one() {
        let merged = token("old-at", Some("old-rt")).merge_refresh(token("new-at", None));
        assert_eq!(merged.access_token.secret(), "new-at");
        assert_eq!(merged.refresh_token.as_ref().map(RefreshToken::secret), Some("old-rt"));
    }

    #[test]
    fn refresh_without_id_token_keeps_the_original_one() {
        let mut old = token("old-at", Some("old-rt"));
        old.id_token = Some(IdTokenString::new("original.id.token"));
        let merged = old.merge_refresh(token("new-at", None));
        assert_eq!(merged.id_token.as_ref().map(IdTokenString::secret), Some("original.id.token"));
        let mut newer = token("newer-at", None);
        newer.id_token = Some(IdTokenString::new("refreshed.id.token"));
        let merged = merged.merge_refresh(newer);
        assert_eq!(merged.id_token.as_ref().map(IdTokenString::secret), Some("refreshed.id.token"));
    }

    #[test]
    fn refresh_with_a_new_refresh_token_replaces_the_old_one() {
        let merged = token("old-at", Some("old-rt")).merge_refresh(token("new-at", Some("new-rt")));
        assert_eq!(merged.refresh_token.as_ref().map(RefreshToken::secret), Some("new-rt"));
    }

    /// The members as the previous parse saw them: the whole body as a `serde_json` map,
    /// known members taken out of it.
    fn via_map(body: &str) -> Result<Token, Error> {
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => token_from_members(&mut Members::from_map(map), NOW, CODE),
            Ok(_) => Err(Error::malformed("token response: not a JSON object")),
            Err(_) => Err(Error::malformed("token response: invalid JSON")),
        }
    }

    #[test]
    fn repeated_members_keep_the_last_value_as_a_map_would() {
        let body = r#"{"expires_in":"soon","access_token":"a","token_type":"bearer","expires_in":5,"x":1,"x":2}"#;
        let t = parse_token_response(&json(200, body), NOW, CODE).unwrap();
        assert_eq!(t.expires_in, Some(5));
        assert_eq!(t.extra.get("x"), Some(&Value::from(2)));
        assert_eq!(Ok(t), via_map(body));
        let body = r#"{"access_token":"a","token_type":"bearer","expires_in":5,"expires_in":"soon"}"#;
        let err = parse_token_response(&json(200, body), NOW, CODE).unwrap_err();
        assert!(matches!(err, Error::Token(TokenError::InvalidMember { member: "expires_in", .. })));
    }

    #[test]
    fn escaped_member_names_are_recognised() {
        let body = r#"{"access\u005ftoken":"a","token_type":"bearer","s\u0063ope":"x","\u0078":1}"#;
        let t = parse_token_response(&json(200, body), NOW, CODE).unwrap();
        assert_eq!(t.access_token.secret(), "a");
        assert_eq!(t.scope.as_deref(), Some("x"));
        assert_eq!(t.extra.get("x"), Some(&Value::from(1)));
    }

    #[test]
    fn non_object_json_is_not_an_object_and_broken_json_is_invalid() {
        for body in ["[1,{\"a\":[]}]", "\"text\"", "5", "-1.5", "true", "null"] {
            let err = parse_token_response(&json(200, body), NOW, CODE).unwrap_err();
            assert_eq!(err, Error::malformed("token response: not a JSON object"), "{body}");
        }
        for body in ["[1,", "{\"a\":1} x", "{\"a\":\"\\ud800\"}", "{\"a\":1e999}", "{\"a\":1,}"] {
            let err = parse_token_response(&json(200, body), NOW, CODE).unwrap_err();
            assert_eq!(err, Error::malformed("token response: invalid JSON"), "{body}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse_token_response(&json(200, &deep), NOW, CODE).unwrap_err(), via_map(&deep).unwrap_err());
    }

    /// What the scanner makes of a JSON body.
    fn scanned(body: &[u8]) -> Option<Members> {
        let mut members = Members::default();
        scan::members(body, &mut members).map(|()| members)
    }

    /// What the `serde_json` path makes of a JSON body: `Ok(None)` for valid JSON that is
    /// not an object, `Err` for invalid JSON.
    fn via_serde(body: &[u8]) -> Result<Option<Members>, ()> {
        serde_json::from_slice::<JsonBody>(body).map(|b| b.0).map_err(drop)
    }

    /// The scanner accepts exactly the valid objects (nested at most `MAX_NESTING` deep),
    /// with the members the `serde_json` path finds.
    fn assert_scan_agrees(body: &[u8]) -> Result<(), TestCaseError> {
        let text = String::from_utf8_lossy(body);
        match (scanned(body), via_serde(body)) {
            (Some(fast), Ok(Some(slow))) => prop_assert_eq!(fast, slow, "{}", text),
            (None, Ok(None) | Err(())) => {}
            (Some(_), _) => prop_assert!(false, "the scanner accepted what serde_json refuses: {}", text),
            (None, Ok(Some(_))) => prop_assert!(false, "the scanner gave up on a valid object: {}", text),
        }
        Ok(())
    }

    const BENCH_LIKE: &str = r#"{"access_token":"SlAV32hkKG","token_type":"Bearer","expires_in":3600,
        "refresh_token":"8xLOxBtZp8","scope":"openid email","id_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "session_state":"5b2c3f0e"}"#;

    #[test]
    fn common_responses_take_the_scanner_path() {
        for body in [
            BENCH_LIKE,
            r#"{}"#,
            " {\t\"access_token\" :\r\n\"a\" , \"token_type\":\"bearer\"}\n",
            r#"{"access_token":"a","token_type":"bearer","expires_in":0,"ok":true,"no":false,"n":null}"#,
            r#"{"access_token":"a","token_type":"bearer","scope":["a","b"],"x":{"y":[1,{"z":"\""}]}}"#,
            r#"{"error":"invalid_grant","error_uri":"https:\/\/op.example\/e","error_description":"caf\u00e9 ☕"}"#,
            r#"{"expires_in":-1,"refresh_expires_in":2.5e3,"x":18446744073709551616,"y":-0}"#,
        ] {
            assert!(scanned(body.as_bytes()).is_some(), "{body}");
            assert_scan_agrees(body.as_bytes()).unwrap();
        }
        let t = parse_token_response(&json(200, BENCH_LIKE), NOW, OIDC).unwrap();
        assert_eq!(t.id_token.as_ref().map(IdTokenString::secret), Some("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert_eq!(Ok(t), via_map(BENCH_LIKE));
    }

    #[test]
    fn scanner_gives_up_on_everything_serde_json_refuses() {
        let refused = [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{'a':1}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":1e999}",
            "{\"a\":1x}",
            "{\"a\":tru}",
            "{\"a\":True}",
            "{\"a\":nulll}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\\\":1}",
            "{\"a\":[1,]}",
            "{\"a\":[}",
            "{\"a\":{\"b\"}}",
            "{\"a\":1}}",
            "{\"a\":1} x",
            "{\"a\":1}\u{a0}",
            "\u{feff}{\"a\":1}",
            "\u{c}{\"a\":1}",
            "[1]",
            "\"{}\"",
        ];
        for body in refused {
            assert!(scanned(body.as_bytes()).is_none(), "{body:?}");
            assert!(!matches!(via_serde(body.as_bytes()), Ok(Some(_))), "{body:?}");
        }
        let invalid_utf8 = b"{\"a\":\"\xff\"}";
        assert!(scanned(invalid_utf8).is_none());
        assert_eq!(via_serde(invalid_utf8), Err(()));
    }

    #[test]
    fn deep_values_are_left_to_serde_json_and_its_limit() {
        for depth in [1, 63, 64, 65, 125, 126, 127, 128, 129, 300] {
            let body = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(scanned(body.as_bytes()).is_some(), depth <= scan::MAX_NESTING, "{depth}");
            assert_eq!(
                parse_token_response(&json(200, &body), NOW, CODE).map_err(|e| e.to_string()),
                via_map(&body).map_err(|e| e.to_string()),
                "{depth}"
            );
            // serde_json counts the top-level object too: 126 nested arrays are the most in
            // a body, where 127 would pass on their own (so the scanner must not hand those
            // to serde_json as a slice).
            assert_eq!(via_serde(body.as_bytes()).is_ok(), depth <= 126, "{depth}");
        }
    }

    /// One of `valid` mostly, else one of `invalid`.
    fn mostly(valid: &[&'static str], invalid: &[&'static str]) -> BoxedStrategy<String> {
        let pick = |items: &[&'static str]| proptest::sample::select(items.to_vec()).prop_map(str::to_owned);
        prop_oneof![40 => pick(valid), 1 => pick(invalid)].boxed()
    }

    /// A JSON string, mostly valid: plain text, non-ASCII, escapes; sometimes an invalid
    /// escape, a lone surrogate or a raw control character.
    fn gen_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9 _.~-]{1,8}",
            "[a-zA-Z0-9_.-]{40,120}",
            mostly(
                &[
                    "é",
                    "😀",
                    "\u{7f}",
                    "\\n",
                    "\\\"",
                    "\\\\",
                    "\\/",
                    "\\u00e9",
                    "\\ud83d\\ude00",
                    "access_token",
                    "\\u005f"
                ],
                &["\\ud800", "\\x", "\\u12", "\u{1}", "\t", "\"", "\\", "\\\u{1}"],
            ),
        ];
        proptest::collection::vec(piece, 0..5).prop_map(|parts| format!("\"{}\"", parts.concat()))
    }

    fn gen_number() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            mostly(
                &[
                    "0",
                    "-0",
                    "7",
                    "3600",
                    "1.5",
                    "-1",
                    "2.5e3",
                    "1E+2",
                    "1e-2",
                    "-0.0",
                    "18446744073709551615",
                    "18446744073709551616",
                    "9999999999999999999",
                    "12345678901234567890",
                    "1e308",
                ],
                &["01", "00", "1e999", "-", "1.", ".5", "+1", "1e", "1-2", "1.2.3", "0x1", "NaN"],
            ),
        ]
    }

    fn gen_ws() -> BoxedStrategy<String> {
        mostly(&["", "", "", " ", "\n\t", "\r\n "], &["\u{a0}", "\u{c}", "\u{b}"])
    }

    fn gen_key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(vec![
                "access_token", "token_type", "expires_in", "refresh_expires_in", "refresh_token", "id_token",
                "scope", "userinfo", "expires_at", "error", "x", "access\\u005ftoken", "s\\u0063ope",
                // Near misses of the names found without a string scan.
                "access_tokens", "access_toke", "refresh_", "refresh_t", "refresh_tokens", "refresh_expires",
                "id_token\\n", "scope ", "s", "", "token_type\\\"", "e",
            ])
            .prop_map(|k| format!("\"{k}\"")),
            1 => gen_string(),
        ]
    }

    fn gen_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            3 => gen_string(),
            2 => gen_number(),
            1 => mostly(&["true", "false", "null"], &["tru", "nul", "True", "nulll"]),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..4), gen_ws())
                    .prop_map(|(items, ws)| format!("[{ws}{}]", items.join(","))),
                proptest::collection::vec((gen_key(), gen_ws(), inner), 0..4).prop_map(|members| {
                    let members: Vec<_> = members.iter().map(|(k, ws, v)| format!("{k}{ws}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// A token-response-like body: an object of generated members with generated
    /// whitespace, sometimes with a trailing comma or characters, sometimes truncated or
    /// with one byte inserted or removed.
    fn gen_body() -> impl Strategy<Value = Vec<u8>> {
        let member = (gen_ws(), gen_key(), gen_ws(), gen_ws(), gen_value(), gen_ws())
            .prop_map(|(w1, k, w2, w3, v, w4)| format!("{w1}{k}{w2}:{w3}{v}{w4}"));
        let object = (
            gen_ws(),
            proptest::collection::vec(member, 0..8),
            mostly(&[""], &[",", "x"]),
            mostly(&["", " \n"], &["x", "}", ",", "\u{a0}", "\0"]),
        )
            .prop_map(|(ws, members, inside, after)| format!("{ws}{{{}{inside}}}{after}", members.join(",")));
        // 0..=9: as generated; 10: truncated; 11: one byte inserted; 12: one byte removed.
        (object, 0..13u8, any::<proptest::sample::Index>(), any::<u8>()).prop_map(|(text, edit, at, byte)| {
            let mut bytes = text.into_bytes();
            match edit {
                10 => bytes.truncate(at.index(bytes.len() + 1)),
                11 => bytes.insert(at.index(bytes.len() + 1), byte),
                12 if !bytes.is_empty() => {
                    bytes.remove(at.index(bytes.len()));
                }
                _ => {}
            }
            bytes
        })
    }

    proptest! {
        #[test]
        fn scanner_agrees_with_serde_json_on_generated_bodies(body in gen_body()) {
            assert_scan_agrees(&body)?;
        }

        #[test]
        fn scanner_agrees_with_serde_json_on_generated_values(value in gen_value()) {
            assert_scan_agrees(format!("{{\"access_token\":{value},\"x\":{value}}}").as_bytes())?;
        }

        #[test]
        fn generated_bodies_parse_as_with_a_map(body in gen_body(), refresh in any::<bool>()) {
            // Through the whole parse: the same token or the same error as the previous
            // parse, which took the members out of a map of the whole body.
            let grant = if refresh { Grant::Refresh } else { OIDC };
            let mut members = match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => Ok(Members::from_map(map)),
                Ok(_) => Err(Error::malformed("token response: not a JSON object")),
                Err(_) => Err(Error::malformed("token response: invalid JSON")),
            };
            let expected = token_from_body(members.as_mut().map_err(|e| e.clone()), http::StatusCode::OK, NOW, grant);
            prop_assert_eq!(parse_token_response(&json200(body), NOW, grant), expected);
        }

        #[test]
        fn parse_token_response_never_panics(
            status in prop_oneof![Just(200u16), Just(400), Just(500), 100u16..600],
            content_type in prop_oneof![
                Just("application/json".to_owned()), Just("application/x-www-form-urlencoded".to_owned()),
                Just("text/plain".to_owned()), Just("text/html".to_owned()), Just(String::new()), "[ -~]{0,20}"
            ],
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                "[{}\\[\\]\":,a-z_0-9 =&%.-]{0,200}".prop_map(String::into_bytes),
                gen_body(),
            ],
            refresh in any::<bool>(),
        ) {
            let mut builder = http::Response::builder().status(status);
            if let Ok(v) = http::HeaderValue::from_str(&content_type) {
                builder = builder.header(CONTENT_TYPE, v);
            }
            let resp = builder.body(body).unwrap();
            let grant = if refresh { Grant::Refresh } else { OIDC };
            let _ = parse_token_response(&resp, NOW, grant);
        }

        #[test]
        fn direct_json_parse_agrees_with_a_map_parse(
            members in proptest::collection::vec((
                prop_oneof![Just("access_token"), Just("token_type"), Just("expires_in"), Just("scope"),
                    Just("refresh_token"), Just("id_token"), Just("refresh_expires_in"), Just("userinfo"),
                    Just("expires_at"), Just("error_description"), Just("x"), Just("access\\u005ftoken")],
                prop_oneof![Just("null"), Just("true"), Just("\"\""), Just("\"a\""), Just("\"bearer\""),
                    Just("\" 7 \""), Just("3600"), Just("-1"), Just("2.5"), Just("1e999"), Just("[\"a\",\"b\"]"),
                    Just("[1]"), Just("{}"), Just("\"\\ud800\""), Just("\"\\u00e9\"")],
            ), 0..9),
        ) {
            let body = format!(
                "{{{}}}",
                members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",")
            );
            prop_assert_eq!(parse_token_response(&json(200, &body), NOW, CODE), via_map(&body));
        }

        #[test]
        fn members_of_any_json_type_never_panic(
            member in prop_oneof![Just("access_token"), Just("token_type"), Just("expires_in"), Just("scope"),
                Just("refresh_token"), Just("id_token"), Just("error"), Just("refresh_expires_in")],
            value in prop_oneof![
                Just(Value::Null), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from), ".{0,10}".prop_map(Value::from), Just(serde_json::json!([1])),
            ],
        ) {
            let mut obj = serde_json::json!({"access_token": "a", "token_type": "bearer"});
            obj[member] = value;
            let _ = parse_token_response(&json(200, &obj.to_string()), NOW, CODE);
        }
    }
}
