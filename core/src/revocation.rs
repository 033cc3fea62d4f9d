//! Token revocation ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)) and token
//! introspection ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)): requests the
//! client authenticates like its token requests, and their responses, typed.
//!
//! ```
//! use rpkit::revocation::{introspection_request, parse_introspection_response, revocation_request, TokenTypeHint};
//! use rpkit::rand::SystemRandom;
//! use rpkit::{ClientConfig, UnixTime};
//! let cfg = ClientConfig::new("op")
//!     .client_id("app")
//!     .client_secret("s3cret")
//!     .revocation_endpoint("https://op.example/revoke")
//!     .introspection_endpoint("https://op.example/introspect");
//! let now = UnixTime::from_secs(1_700_000_000);
//! let req = revocation_request(&cfg, None, "rt-1", Some(TokenTypeHint::RefreshToken), &SystemRandom::new(), now)?;
//! assert_eq!(req.uri(), "https://op.example/revoke");
//! assert!(req.headers().contains_key("authorization")); // client_secret_basic
//!
//! let inactive = http::Response::new(br#"{"active":false}"#.to_vec());
//! assert!(!parse_introspection_response(&inactive)?.is_active());
//! # let _ = introspection_request;
//! # Ok::<(), rpkit::Error>(())
//! ```

use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{Endpoints, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use crate::wire;
use serde_json::Value;

/// What kind of token is revoked or introspected (`token_type_hint`, RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The registered value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

fn form(token: &str, hint: Option<TokenTypeHint>) -> Vec<(String, String)> {
    let mut form = vec![("token".to_owned(), token.to_owned())];
    if let Some(hint) = hint {
        form.push(("token_type_hint".to_owned(), hint.as_str().to_owned()));
    }
    form
}

/// The revocation request for `token` (RFC 7009 §2.1): a POST to the revocation endpoint
/// (configured, else the metadata's) with the client's authentication.
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`revocation_endpoint`),
/// TLS and client-authentication configuration errors.
pub fn revocation_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    token: &str,
    hint: Option<TokenTypeHint>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoints = Endpoints::resolve(config, metadata);
    let endpoint = endpoints.require_revocation(config)?;
    token_request(config, metadata, endpoint, token, hint, rng, now)
}

/// The authenticated POST of `token` (and its hint) to `endpoint`, for both RFCs.
fn token_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    endpoint: &str,
    token: &str,
    hint: Option<TokenTypeHint>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    crate::token::authenticated_post(config, metadata, endpoint, form(token, hint), rng, now)
}

/// Reads the revocation response: `200` is success (also for a token the provider did not
/// know, RFC 7009 §2.2).
///
/// # Errors
/// [`Error::Provider`] for an RFC 7009 §2.2.1 error (`unsupported_token_type`,
/// `invalid_client`, …); [`Error::Http`] for another status; [`Error::TooLarge`].
pub fn parse_revocation_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<(), Error> {
    let body = wire::body_of(response, Endpoint::Revocation)?;
    if response.status().is_success() {
        return Ok(());
    }
    Err(error_of(body).unwrap_or(Error::Http { endpoint: Endpoint::Revocation, status: response.status().as_u16() }))
}

fn error_of(body: &[u8]) -> Option<Error> {
    let map: serde_json::Map<String, Value> = serde_json::from_slice(body).ok()?;
    let code = map.get("error")?.as_str()?;
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    Some(Error::Provider(ProviderError::from_wire(code, text("error_description"), text("error_uri"))))
}

/// The introspection request for `token` (RFC 7662 §2.1), authenticated like a token
/// request.
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing)
/// (`introspection_endpoint`), TLS and client-authentication configuration errors.
pub fn introspection_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    token: &str,
    hint: Option<TokenTypeHint>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoints = Endpoints::resolve(config, metadata);
    token_request(config, metadata, endpoints.require_introspection(config)?, token, hint, rng, now)
}

/// An introspection answer (RFC 7662 §2.2): active with its claims, or inactive — in
/// which case nothing else the provider said is kept (§2.2: "SHOULD NOT include any
/// additional information").
#[derive(Debug, Clone, PartialEq)]
pub enum Introspection {
    /// The token is active; its claims (`scope`, `client_id`, `username`, `exp`, `sub`,
    /// `aud`, `iss`, …).
    Active(Claims),
    /// The token is not active (expired, revoked, unknown, or not for this client).
    Inactive,
}

impl Introspection {
    /// Whether the token is active.
    pub fn is_active(&self) -> bool {
        matches!(self, Introspection::Active(_))
    }

    /// The claims of an active token.
    pub fn claims(&self) -> Option<&Claims> {
        match self {
            Introspection::Active(c) => Some(c),
            Introspection::Inactive => None,
        }
    }

    /// The `scope` of an active token.
    pub fn scope(&self) -> Option<&str> {
        self.claims().and_then(|c| c.get_str("scope"))
    }

    /// The `client_id` an active token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.claims().and_then(|c| c.get_str("client_id"))
    }
}

/// Reads the introspection response: a JSON object whose `active` is a boolean.
///
/// # Errors
/// [`Error::Malformed`] when `active` is missing or not a boolean, or the body is not a
/// JSON object; [`Error::Provider`] / [`Error::Http`] for an error status;
/// [`Error::TooLarge`].
pub fn parse_introspection_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<Introspection, Error> {
    let body = wire::body_of(response, Endpoint::Introspection)?;
    if !response.status().is_success() {
        return Err(error_of(body)
            .unwrap_or(Error::Http { endpoint: Endpoint::Introspection, status: response.status().as_u16() }));
    }
    let map: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| Error::malformed("introspection response: not a JSON object"))?;
    match map.get("active") {
        Some(Value::Bool(true)) => Ok(Introspection::Active(Claims::new(map))),
        Some(Value::Bool(false)) => Ok(Introspection::Inactive),
        _ => Err(Error::malformed("introspection response: `active` is not a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededRandom;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn cfg() -> ClientConfig {
        ClientConfig::new("op")
            .client_id("app")
            .client_secret("s3cret")
            .issuer("https://op.example")
            .revocation_endpoint("https://op.example/revoke")
            .introspection_endpoint("https://op.example/introspect")
    }

    fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_revocation_request_posts_the_token_and_its_hint_with_client_authentication() {
        let req =
            revocation_request(&cfg(), None, "rt-1", Some(TokenTypeHint::RefreshToken), &SeededRandom::new(1), NOW)
                .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body()).into_owned().collect();
        assert_eq!(form, [("token".into(), "rt-1".into()), ("token_type_hint".into(), "refresh_token".into())]);
        assert!(req.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
        assert!(req.headers()["authorization"].is_sensitive());
    }

    #[test]
    fn revocation_needs_a_tls_endpoint() {
        let err =
            revocation_request(&ClientConfig::new("op").client_id("a"), None, "t", None, &SeededRandom::new(1), NOW)
                .unwrap_err();
        assert!(
            matches!(err, Error::Config(crate::error::ConfigError::Missing { ref key, .. }) if key == "revocation_endpoint")
        );
        let plain = cfg().revocation_endpoint("http://op.example/revoke");
        let err = revocation_request(&plain, None, "t", None, &SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(crate::error::ConfigError::InsecureEndpoint { .. })));
        // Discovered.
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            revocation_endpoint: Some("https://op.example/r".into()),
            ..Default::default()
        };
        let bare = ClientConfig::new("op").client_id("app").client_secret("s");
        let req = revocation_request(&bare, Some(&md), "t", None, &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.uri(), "https://op.example/r");
    }

    #[test]
    fn revocation_responses() {
        assert_eq!(parse_revocation_response(&resp(200, "")), Ok(()));
        let err = parse_revocation_response(&resp(400, r#"{"error":"unsupported_token_type"}"#)).unwrap_err();
        assert!(matches!(err, Error::Provider(ref p) if p.error == "unsupported_token_type"));
        assert_eq!(
            parse_revocation_response(&resp(503, "busy")),
            Err(Error::Http { endpoint: Endpoint::Revocation, status: 503 })
        );
    }

    #[test]
    fn introspection_results_are_typed_and_an_inactive_token_keeps_nothing() {
        let active = r#"{"active":true,"scope":"read write","client_id":"app","username":"alice","exp":1700003600}"#;
        let i = parse_introspection_response(&resp(200, active)).unwrap();
        assert!(i.is_active());
        assert_eq!(i.scope(), Some("read write"));
        assert_eq!(i.client_id(), Some("app"));
        assert_eq!(i.claims().unwrap().exp(), Some(1_700_003_600));
        let inactive = parse_introspection_response(&resp(200, r#"{"active":false,"username":"leaked"}"#)).unwrap();
        assert_eq!(inactive, Introspection::Inactive);
        for bad in [r#"{"active":"true"}"#, r#"{"scope":"x"}"#, "[]", "nope"] {
            assert!(matches!(parse_introspection_response(&resp(200, bad)), Err(Error::Malformed { .. })), "{bad}");
        }
        let err = parse_introspection_response(&resp(401, r#"{"error":"invalid_client"}"#)).unwrap_err();
        assert!(matches!(err, Error::Provider(ref p) if p.error == "invalid_client"));
    }
}
