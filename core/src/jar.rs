//! Signed authorization request objects, JAR
//! ([RFC 9101](https://www.rfc-editor.org/rfc/rfc9101),
//! [OIDC Core §6.1](https://openid.net/specs/openid-connect-core-1_0.html#RequestObject)).
//!
//! The parameters an [`AuthorizationRequest`](crate::authorize::AuthorizationRequest) put
//! in its URL (state, nonce, PKCE challenge, `authorize_params`, per-call extras) become the
//! claims of a JWT signed with the client's `private_key`, plus `iss` = `client_id`, `aud` =
//! the issuer, `client_id`, `iat`, `nbf`, `exp` (= `iat` + [`REQUEST_OBJECT_LIFETIME_SECS`])
//! and a random `jti`; the header says `typ: oauth-authz-req+jwt`. The object goes either
//! by value in the authorization URL ([`authorization_url_by_value`]) or in the body of a
//! pushed authorization request ([`crate::par`]).
//!
//! ```
//! use rpkit::authorize::AuthorizationRequest;
//! use rpkit::config::ClientConfig;
//! use rpkit::jar::authorization_url_by_value;
//! use rpkit::rand::SystemRandom;
//! use rpkit::UnixTime;
//! // A test key (core/tests/data/ec-p256.jwk.json); never use it for anything else.
//! let key = r#"{"kty":"EC","crv":"P-256","x":"09Cbmt1fM3HCU6RNdhJQt2HFyY405LbN4eAHTzFVtok","y":"J4KvU84F5jEw5xput6I5cH-3m2x13oNcsnEYRlt_4q8","d":"K7ggm2muICzogDypsmDzYNV7n-RlVWSqeHf9dBHkfXc"}"#;
//! let config = ClientConfig::new("bank")
//!     .client_id("my-app")
//!     .issuer("https://op.example")
//!     .authorize_url("https://op.example/authorize")
//!     .private_key(key)
//!     .scope("openid");
//! let now = UnixTime::from_secs(1_700_000_000);
//! let rng = SystemRandom::new();
//! let (plain, _pending) = AuthorizationRequest::new(&config).build(&rng, now)?;
//! let url = authorization_url_by_value(&config, None, &plain, &rng, now)?.to_url();
//! let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
//! assert_eq!(names, ["client_id", "request", "response_type", "scope"]); // no state outside
//! # Ok::<(), rpkit::Error>(())
//! ```
//!
//! # Security
//! A request object is never unsigned (`alg: none` is not produced by any path), and
//! its `alg` is the one of the configured key; when the provider lists
//! `request_object_signing_alg_values_supported`, that algorithm must be in the list.

use crate::authorize::AuthorizationUrl;
use crate::config::ClientConfig;
use crate::discovery::{Endpoints, ProviderMetadata};
use crate::error::{ConfigError, Error};
use crate::jose::sign::SigningKey;
use crate::rand::{random_token, SecureRandom};
use crate::time::UnixTime;
use serde_json::{Map, Value};

/// Lifetime of a request object (`exp - iat`), in seconds: RFC 9101 asks for a short
/// one and FAPI 2.0 for at most 60 minutes; five minutes covers a slow login page.
pub const REQUEST_OBJECT_LIFETIME_SECS: u64 = 300;

/// The media type's short form in the JWT header (RFC 9101 §10.8).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// Random bytes in a request object's `jti` (256 bits).
pub const REQUEST_OBJECT_JTI_BYTES: usize = 32;

/// Parameters of the authorization URL that stay outside the request object (the
/// endpoint's own query is kept as well). `client_id` must be outside (RFC 9101 §5);
/// `response_type` and `scope` are repeated for OpenID Connect (OIDC Core §6.1).
const OUTSIDE: [&str; 2] = ["response_type", "scope"];

/// Whether authorization requests of this client carry a signed request object:
/// `client_kwargs.request_object`, `client_kwargs.request_object_signing_alg`, or the
/// provider's `require_signed_request_object`.
pub fn uses_request_object(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> bool {
    config.client_kwargs.request_object
        || config.client_kwargs.request_object_signing_alg.is_some()
        || metadata.is_some_and(|m| m.require_signed_request_object)
}

/// The signed request object carrying `params` (the authorization parameters, in order).
///
/// `max_age` is sent as a number (OIDC Core §3.1.2.1 defines it as one); every other
/// parameter as a string.
///
/// # Errors
/// - [`ConfigError::Missing`] for `client_id`, `private_key` (a request object needs the
///   client's key, also when the provider requires one) or the issuer (the `aud`);
/// - [`ConfigError::Invalid`] for `private_key` when it cannot be used, and for
///   `client_kwargs.request_object_signing_alg` when it is not the key's algorithm or
///   the provider does not list it in `request_object_signing_alg_values_supported`;
/// - [`Error::Random`] when the random source failed.
pub fn request_object(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    params: &[(String, String)],
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<String, Error> {
    let client_id =
        config.client_id.as_deref().filter(|id| !id.is_empty()).ok_or_else(|| config.missing("client_id"))?;
    let key = crate::client_auth::kept_signing_key(config)?;
    check_algorithm(config, metadata, &key)?;
    let issuer = Endpoints::resolve(config, metadata).require_issuer(config)?.to_owned();

    let mut claims = Map::new();
    for (name, value) in params {
        let value = match name.as_str() {
            "max_age" => value.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(value.as_str())),
            _ => Value::from(value.as_str()),
        };
        claims.insert(name.clone(), value);
    }
    // The registered claims last, so that no parameter can replace them.
    claims.insert("iss".into(), client_id.into());
    claims.insert("aud".into(), issuer.into());
    claims.insert("client_id".into(), client_id.into());
    claims.insert("iat".into(), now.as_secs().into());
    claims.insert("nbf".into(), now.as_secs().into());
    claims.insert("exp".into(), now.plus(REQUEST_OBJECT_LIFETIME_SECS).as_secs().into());
    claims.insert("jti".into(), random_token(rng, REQUEST_OBJECT_JTI_BYTES)?.into());
    sign(&key, config.private_key_id.as_deref(), &Value::Object(claims))
}

/// Refuses a key whose algorithm is not the configured one or not one the provider lists.
fn check_algorithm(config: &ClientConfig, metadata: Option<&ProviderMetadata>, key: &SigningKey) -> Result<(), Error> {
    let alg = key.algorithm().as_str();
    let invalid = |expected: String| {
        Error::Config(ConfigError::Invalid {
            client: config.name.clone(),
            key: "client_kwargs.request_object_signing_alg".to_owned(),
            expected,
        })
    };
    if let Some(wanted) = &config.client_kwargs.request_object_signing_alg {
        if wanted != alg {
            return Err(invalid(format!("the algorithm of `private_key` ({alg})")));
        }
    }
    if let Some(supported) = metadata.and_then(|m| m.request_object_signing_alg_values_supported.as_deref()) {
        if !supported.iter().any(|s| s == alg) {
            let listed: Vec<&str> = supported.iter().map(String::as_str).filter(|s| *s != "none").collect();
            return Err(invalid(format!(
                "a key for an algorithm the provider accepts ({}); `private_key` signs {alg}",
                listed.join(", ")
            )));
        }
    }
    Ok(())
}

/// A compact JWS with the header `{"alg":…,"typ":"oauth-authz-req+jwt","kid":…}`.
fn sign(key: &SigningKey, kid: Option<&str>, claims: &Value) -> Result<String, Error> {
    let mut header = Map::new();
    header.insert("alg".into(), key.algorithm().as_str().into());
    header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
    if let Some(kid) = kid.or(key.kid()) {
        header.insert("kid".into(), kid.into());
    }
    let mut out = crate::jose::b64::encode(Value::Object(header).to_string().as_bytes());
    out.push('.');
    out.push_str(&crate::jose::b64::encode(claims.to_string().as_bytes()));
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&crate::jose::b64::encode(&signature));
    Ok(out)
}

/// An authorization URL split into the endpoint (with its own query parameters) and the
/// parameters rpkit added, which start at `response_type` (the first one it sends; an
/// endpoint parameter of the same name was dropped when the URL was built).
pub(crate) struct SplitUrl {
    /// The endpoint with its own query parameters.
    pub(crate) endpoint: url::Url,
    /// rpkit's parameters, in order.
    pub(crate) params: Vec<(String, String)>,
}

pub(crate) fn split(url: &AuthorizationUrl) -> SplitUrl {
    let mut endpoint = url.to_url();
    let pairs: Vec<(String, String)> = endpoint.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let start = pairs.iter().position(|(k, _)| k == "response_type").unwrap_or(0);
    let (own, ours) = pairs.split_at(start);
    endpoint.set_query(None);
    if !own.is_empty() {
        endpoint.query_pairs_mut().extend_pairs(own);
    }
    SplitUrl { endpoint, params: ours.to_vec() }
}

/// Adds `pairs` to the endpoint's query, dropping the endpoint's own parameters of the
/// same names (a parameter must not appear twice, RFC 6749 §3.1).
pub(crate) fn with_params(mut endpoint: url::Url, pairs: &[(&str, &str)]) -> AuthorizationUrl {
    if endpoint.query().is_some() {
        let kept: Vec<(String, String)> = endpoint
            .query_pairs()
            .filter(|(k, _)| !pairs.iter().any(|(name, _)| name == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        endpoint.set_query(None);
        if !kept.is_empty() {
            endpoint.query_pairs_mut().extend_pairs(kept);
        }
    }
    endpoint.query_pairs_mut().extend_pairs(pairs);
    AuthorizationUrl::from_checked(endpoint)
}

/// The authorization URL with its parameters moved into a signed request object sent by
/// value (RFC 9101 §5.1): the endpoint's own query, `client_id`, `request`, then
/// `response_type` and `scope` repeated outside (OIDC Core §6.1).
///
/// `url` is what [`AuthorizationRequest::build`](crate::authorize::AuthorizationRequest::build)
/// returned; its [`PendingAuthorization`](crate::authorize::PendingAuthorization) is
/// unchanged (the callback is the same).
///
/// # Errors
/// As [`request_object`].
pub fn authorization_url_by_value(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    url: &AuthorizationUrl,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<AuthorizationUrl, Error> {
    let split = split(url);
    let jwt = request_object(config, metadata, &split.params, rng, now)?;
    let client_id = config.client_id.as_deref().unwrap_or_default();
    let mut outside = vec![("client_id", client_id), ("request", jwt.as_str())];
    for name in OUTSIDE {
        if let Some((k, v)) = split.params.iter().find(|(k, _)| k == name) {
            outside.push((k.as_str(), v.as_str()));
        }
    }
    Ok(with_params(split.endpoint, &outside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::AuthorizationRequest;
    use crate::jose::sign::tests as keys;
    use crate::rand::SeededRandom;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn config() -> ClientConfig {
        ClientConfig::new("bank")
            .client_id("app")
            .issuer("https://op.example")
            .authorize_url("https://op.example/authorize?tenant=t1")
            .redirect_uri("https://app.example/cb")
            .private_key(keys::EC_PKCS8)
            .private_key_id("k1")
            .scope("openid email")
    }

    fn decode(jwt: &str) -> (Value, Value) {
        let mut parts = jwt.split('.');
        let mut part = || serde_json::from_slice(&crate::jose::b64::decode(parts.next().unwrap()).unwrap()).unwrap();
        (part(), part())
    }

    fn built(config: &ClientConfig) -> AuthorizationUrl {
        AuthorizationRequest::new(config).max_age(30).build(&SeededRandom::new(7), NOW).unwrap().0
    }

    #[test]
    fn request_object_carries_every_parameter_and_the_registered_claims() {
        let cfg = config();
        let url = authorization_url_by_value(&cfg, None, &built(&cfg), &SeededRandom::new(1), NOW).unwrap().to_url();
        let q: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["tenant", "client_id", "request", "response_type", "scope"]);
        let (header, claims) = decode(&q[2].1);
        assert_eq!(header["typ"], "oauth-authz-req+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "k1");
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["client_id"], "app");
        assert_eq!(claims["aud"], "https://op.example");
        assert_eq!(claims["iat"], NOW.as_secs());
        assert_eq!(claims["nbf"], NOW.as_secs());
        assert_eq!(claims["exp"], NOW.as_secs() + REQUEST_OBJECT_LIFETIME_SECS);
        assert!(claims["jti"].as_str().unwrap().len() >= 43);
        for name in ["state", "nonce", "code_challenge", "redirect_uri"] {
            assert!(claims[name].is_string(), "{name}");
        }
        assert_eq!(claims["max_age"], 30);
        assert_eq!(claims["code_challenge_method"], "S256");
        assert!(claims.get("tenant").is_none(), "the endpoint's own parameters stay in the URL");
    }

    #[test]
    fn request_object_signature_verifies_with_the_public_key() {
        let cfg = config();
        let jwt = request_object(&cfg, None, &[("scope".into(), "openid".into())], &SeededRandom::new(1), NOW).unwrap();
        let key = crate::client_auth::signing_key(&cfg).unwrap();
        let (header, claims) = crate::jose::sign::tests::verify_jwt(&key, &jwt);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(claims["scope"], "openid");
    }

    #[test]
    fn debug_of_a_url_with_a_request_object_hides_it() {
        let cfg = config();
        let url = authorization_url_by_value(&cfg, None, &built(&cfg), &SeededRandom::new(1), NOW).unwrap();
        let jwt = url.to_url().query_pairs().find(|(k, _)| k == "request").unwrap().1.into_owned();
        let debug = format!("{url:?}");
        assert!(debug.contains("request=[redacted]") && !debug.contains(&jwt[..20]), "{debug}");
    }

    #[test]
    fn a_parameter_cannot_replace_a_registered_claim() {
        let cfg = config();
        let params = [("iss".to_owned(), "evil".to_owned()), ("aud".to_owned(), "x".to_owned())];
        let (_, claims) = decode(&request_object(&cfg, None, &params, &SeededRandom::new(1), NOW).unwrap());
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["aud"], "https://op.example");
    }

    #[test]
    fn request_object_without_a_key_is_a_config_error_naming_the_client() {
        let mut cfg = config();
        cfg.private_key = None;
        let err = authorization_url_by_value(&cfg, None, &built(&cfg), &SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(err, Error::Config(cfg.missing("private_key")));
        assert!(err.to_string().contains("`bank`"));
    }

    #[test]
    fn request_object_without_an_issuer_is_a_config_error() {
        let mut cfg = config();
        cfg.issuer = None;
        let err = request_object(&cfg, None, &[], &SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(err, Error::Config(cfg.missing("issuer")));
    }

    #[test]
    fn configured_alg_other_than_the_keys_is_refused() {
        let mut cfg = config();
        cfg.client_kwargs.request_object_signing_alg = Some("RS256".into());
        let err = request_object(&cfg, None, &[], &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::Invalid { ref key, .. }) if key == "client_kwargs.request_object_signing_alg"),
            "{err}"
        );
    }

    #[test]
    fn alg_the_provider_does_not_list_is_refused_and_none_is_never_used() {
        let cfg = config();
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            request_object_signing_alg_values_supported: Some(vec!["none".into(), "RS256".into()]),
            ..Default::default()
        };
        let err = request_object(&cfg, Some(&md), &[], &SeededRandom::new(1), NOW).unwrap_err();
        assert!(err.to_string().contains("RS256") && !err.to_string().contains("none"), "{err}");
        let md = ProviderMetadata { request_object_signing_alg_values_supported: Some(vec!["ES256".into()]), ..md };
        let (header, _) = decode(&request_object(&cfg, Some(&md), &[], &SeededRandom::new(1), NOW).unwrap());
        assert_eq!(header["alg"], "ES256");
    }

    #[test]
    fn request_objects_are_used_when_configured_or_required() {
        let mut cfg = ClientConfig::new("x");
        let md = ProviderMetadata { require_signed_request_object: true, ..Default::default() };
        assert!(!uses_request_object(&cfg, None));
        assert!(uses_request_object(&cfg, Some(&md)));
        cfg.client_kwargs.request_object = true;
        assert!(uses_request_object(&cfg, None));
        let mut cfg = ClientConfig::new("x");
        cfg.client_kwargs.request_object_signing_alg = Some("ES256".into());
        assert!(uses_request_object(&cfg, None));
    }

    #[test]
    fn config_keys_are_read_from_settings() {
        let json = serde_json::json!({"client_kwargs": {"request_object": true, "request_object_signing_alg": "ES256", "use_par": true},
                                      "pushed_authorization_request_endpoint": "https://op.example/par"});
        let cfg = ClientConfig::from_value("bank", &json).unwrap();
        assert!(cfg.client_kwargs.request_object && cfg.client_kwargs.use_par);
        assert_eq!(cfg.client_kwargs.request_object_signing_alg.as_deref(), Some("ES256"));
        assert_eq!(cfg.pushed_authorization_request_endpoint.as_deref(), Some("https://op.example/par"));
        let bad = serde_json::json!({"client_kwargs": {"use_par": "yes"}});
        assert!(ClientConfig::from_value("bank", &bad).is_err());
    }
}
