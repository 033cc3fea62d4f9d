//! Client authentication at the token endpoint
//! ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1),
//! [RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2),
//! [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
//!
//! Two steps: [`resolve_method`] picks the method (configured, else negotiated from the
//! provider's `token_endpoint_auth_methods_supported`), then [`apply_client_auth`] adds
//! the credentials to a token request's form and returns the `Authorization` header to
//! send, if any.
//!
//! ```
//! use rpkit::client_auth::{apply_client_auth, resolve_method};
//! use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
//! use rpkit::rand::SeededRandom;
//! use rpkit::time::UnixTime;
//!
//! let config = ClientConfig::new("github").client_id("my id").client_secret("s3cret:x");
//! let method = resolve_method(&config, None).unwrap();
//! assert_eq!(method, TokenEndpointAuthMethod::ClientSecretBasic);
//! let mut form = vec![("grant_type".to_owned(), "authorization_code".to_owned())];
//! let header = apply_client_auth(method, &config, "https://op.example/token", &SeededRandom::new(1),
//!     UnixTime::from_secs(1_700_000_000), &mut form).unwrap().unwrap();
//! assert!(header.is_sensitive());
//! // base64("my+id:s3cret%3Ax")
//! assert_eq!(header.to_str().unwrap(), "Basic bXkraWQ6czNjcmV0JTNBeA==");
//! ```

use crate::config::{AssertionAudience, ClientConfig, TokenEndpointAuthMethod};
use crate::discovery::ProviderMetadata;
use crate::error::{ConfigError, Error};
use crate::jose::sign::{SigningKey, SigningKeyError};
use crate::rand::{random_token, SecureRandom};
use crate::secret::ClientSecret;
use crate::time::UnixTime;
use base64ct::{Base64, Encoding};
use http::HeaderValue;

/// `client_assertion_type` for JWT client assertions
/// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)).
pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion (`exp - iat`), in seconds. Short, so that a captured
/// assertion is useless soon; well under the five minutes some providers allow at most.
pub const ASSERTION_LIFETIME_SECS: u64 = 60;

/// Random bytes in an assertion's `jti` (256 bits, base64url-encoded).
pub const ASSERTION_JTI_BYTES: usize = 32;

/// Picks the token endpoint authentication method.
///
/// 1. `client_kwargs.token_endpoint_auth_method`, when configured, wins.
/// 2. Else, when the metadata lists `token_endpoint_auth_methods_supported`, the first
///    of these the provider supports and the configuration can satisfy:
///    `private_key_jwt` (a private key is configured), `client_secret_basic`,
///    `client_secret_post`, `client_secret_jwt` (a secret is configured), `none` (no secret).
/// 3. Else `client_secret_basic` with a secret, `private_key_jwt` with only a private key,
///    `none` with neither (RFC 8414 §2's default is `client_secret_basic`).
///
/// # Errors
/// [`Error::Config`] ([`ConfigError::Missing`]) when the method needs a `client_secret` or
/// `private_key` that is not configured; [`ConfigError::Invalid`] for
/// `client_kwargs.token_endpoint_auth_method` when the provider supports no method this
/// configuration can use.
pub fn resolve_method(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
) -> Result<TokenEndpointAuthMethod, Error> {
    use TokenEndpointAuthMethod as M;
    if let Some(method) = config.client_kwargs.token_endpoint_auth_method {
        check_requirements(method, config)?;
        return Ok(method);
    }
    let has_secret = config.client_secret.is_some();
    let has_key = config.private_key.is_some();
    let supported = metadata.and_then(|m| m.token_endpoint_auth_methods_supported.as_deref()).unwrap_or_default();
    if supported.is_empty() {
        return Ok(if has_secret {
            M::ClientSecretBasic
        } else if has_key {
            M::PrivateKeyJwt
        } else {
            M::None
        });
    }
    let preference = [
        (M::PrivateKeyJwt, has_key),
        (M::ClientSecretBasic, has_secret),
        (M::ClientSecretPost, has_secret),
        (M::ClientSecretJwt, has_secret),
        (M::None, !has_secret),
    ];
    let offered = |m: M| supported.iter().any(|s| s == m.as_str());
    if let Some((method, _)) = preference.iter().find(|(m, usable)| *usable && offered(*m)) {
        return Ok(*method);
    }
    // Nothing fits: say what the provider's favourite method lacks.
    match preference.iter().map(|(m, _)| *m).find(|m| offered(*m)) {
        Some(M::PrivateKeyJwt) => Err(config.missing("private_key").into()),
        Some(M::ClientSecretBasic | M::ClientSecretPost | M::ClientSecretJwt) => {
            Err(config.missing("client_secret").into())
        }
        _ => Err(ConfigError::Invalid {
            client: config.name.clone(),
            key: "client_kwargs.token_endpoint_auth_method".to_owned(),
            expected: format!("a method the provider supports ({})", supported.join(", ")),
        }
        .into()),
    }
}

fn check_requirements(method: TokenEndpointAuthMethod, config: &ClientConfig) -> Result<(), Error> {
    use TokenEndpointAuthMethod as M;
    match method {
        M::ClientSecretBasic | M::ClientSecretPost | M::ClientSecretJwt if config.client_secret.is_none() => {
            Err(config.missing("client_secret").into())
        }
        M::PrivateKeyJwt if config.private_key.is_none() => Err(config.missing("private_key").into()),
        _ => Ok(()),
    }
}

/// Adds client credentials to a token request.
///
/// - `client_secret_basic`: returns `Authorization: Basic …` over the form-urlencoded id
///   and secret (RFC 6749 §2.3.1); the form is left alone.
/// - `client_secret_post`: `client_id` and `client_secret` in the form.
/// - `none`: `client_id` in the form.
/// - `client_secret_jwt` (HS256 keyed by the secret) and `private_key_jwt`:
///   `client_assertion_type`, `client_assertion` and `client_id` in the form. The
///   assertion's claims are `iss` = `sub` = client id, `aud` = `audience` (see
///   [`assertion_audience`]: the issuer identifier unless configured otherwise), a fresh
///   256-bit `jti`, `iat` = `now`, `exp` = `now` + [`ASSERTION_LIFETIME_SECS`]; its header
///   carries `private_key_id` (else the JWK's `kid`).
///
/// Parameters set here replace same-named ones already in `form`. The private key is
/// parsed on every call; to parse it once, use [`signing_key`] and
/// [`apply_client_auth_with_key`].
///
/// # Security
/// The returned header is marked sensitive (HTTP/2 HPACK never indexes it).
///
/// # Errors
/// [`Error::Config`] when `client_id`, the secret or the key is missing or unusable;
/// [`Error::Random`] when the random source failed.
pub fn apply_client_auth(
    method: TokenEndpointAuthMethod,
    config: &ClientConfig,
    audience: &str,
    rng: &dyn SecureRandom,
    now: UnixTime,
    form: &mut Vec<(String, String)>,
) -> Result<Option<HeaderValue>, Error> {
    apply_client_auth_with_key(method, config, None, audience, rng, now, form)
}

/// [`apply_client_auth`] with an already parsed `private_key_jwt` key (`None`: parse
/// `config.private_key`).
///
/// # Errors
/// As [`apply_client_auth`].
pub fn apply_client_auth_with_key(
    method: TokenEndpointAuthMethod,
    config: &ClientConfig,
    key: Option<&SigningKey>,
    audience: &str,
    rng: &dyn SecureRandom,
    now: UnixTime,
    form: &mut Vec<(String, String)>,
) -> Result<Option<HeaderValue>, Error> {
    use TokenEndpointAuthMethod as M;
    let client_id = config.client_id.as_deref().ok_or_else(|| config.missing("client_id"))?;
    let secret = || config.client_secret.as_ref().ok_or_else(|| Error::from(config.missing("client_secret")));
    match method {
        M::ClientSecretBasic => return basic_authorization(client_id, secret()?).map(Some),
        M::ClientSecretPost => {
            let secret = secret()?;
            set_param(form, "client_id", client_id);
            set_param(form, "client_secret", secret.secret());
        }
        M::None => set_param(form, "client_id", client_id),
        M::ClientSecretJwt => {
            let key = SigningKey::hs256(secret()?).map_err(|e| invalid_key(config, "client_secret", &e))?;
            let assertion = client_assertion(&key, None, client_id, audience, rng, now)?;
            set_assertion(form, client_id, assertion);
        }
        M::PrivateKeyJwt => {
            let kept;
            let key = match key {
                Some(key) => key,
                None => {
                    kept = kept_signing_key(config)?;
                    &*kept
                }
            };
            let assertion = client_assertion(key, config.private_key_id.as_deref(), client_id, audience, rng, now)?;
            set_assertion(form, client_id, assertion);
        }
    }
    Ok(None)
}

/// The `aud` of a client assertion for this client: the issuer identifier (configured,
/// derived from `server_metadata_url`, or discovered) unless
/// `client_kwargs.client_assertion_audience` is `"token_endpoint"`.
///
/// A single string, never an array: the OpenID Foundation's advisory of January 2025
/// (audience injection) showed that an assertion whose `aud` a provider could read as
/// "any endpoint of mine" can be replayed to another provider that shares the client's
/// key; the issuer identifier names exactly one provider.
///
/// ```
/// use rpkit::client_auth::assertion_audience;
/// use rpkit::config::{AssertionAudience, ClientConfig};
/// let cfg = ClientConfig::new("op").issuer("https://op.example");
/// assert_eq!(assertion_audience(&cfg, None, "https://op.example/token").unwrap(), "https://op.example");
/// let mut legacy = cfg.clone();
/// legacy.client_kwargs.client_assertion_audience = AssertionAudience::TokenEndpoint;
/// assert_eq!(assertion_audience(&legacy, None, "https://op.example/token").unwrap(), "https://op.example/token");
/// ```
///
/// # Errors
/// [`ConfigError::Missing`] (`issuer`) when the issuer is neither configured nor
/// discovered: configure it, or ask for the token endpoint explicitly.
pub fn assertion_audience(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    token_endpoint: &str,
) -> Result<String, Error> {
    match config.client_kwargs.client_assertion_audience {
        AssertionAudience::TokenEndpoint => Ok(token_endpoint.to_owned()),
        AssertionAudience::Issuer => {
            Ok(crate::discovery::Endpoints::resolve(config, metadata).require_issuer(config)?.to_owned())
        }
    }
}

/// Parses `config.private_key` into a [`SigningKey`] for `private_key_jwt`, once; keep it
/// and pass it to [`apply_client_auth_with_key`].
///
/// # Errors
/// [`Error::Config`]: [`ConfigError::Missing`] without a key, [`ConfigError::Invalid`]
/// (saying why, never showing the key) when it cannot be used.
pub fn signing_key(config: &ClientConfig) -> Result<SigningKey, Error> {
    let material = config.private_key.as_ref().ok_or_else(|| config.missing("private_key"))?;
    SigningKey::from_material(material).map_err(|e| invalid_key(config, "private_key", &e))
}

/// [`signing_key`], parsed once per configuration (and its clones) and kept while
/// `private_key` holds the same material.
pub(crate) fn kept_signing_key(config: &ClientConfig) -> Result<std::sync::Arc<SigningKey>, Error> {
    let material = config.private_key.as_ref().ok_or_else(|| config.missing("private_key"))?;
    config
        .parsed_keys
        .signing
        .get_or_parse(material, SigningKey::from_material)
        .map_err(|e| invalid_key(config, "private_key", &e))
}

fn invalid_key(config: &ClientConfig, key: &str, e: &SigningKeyError) -> Error {
    let expected = match e {
        SigningKeyError::WeakHmacKey => {
            "a secret of at least 32 bytes for client_secret_jwt (RFC 7518 §3.2)".to_owned()
        }
        other => format!("an RSA, EC P-256 or Ed25519 private key, PEM or JWK ({other})"),
    };
    ConfigError::Invalid { client: config.name.clone(), key: key.to_owned(), expected }.into()
}

/// The `Authorization: Basic` value for `client_secret_basic`: base64 of the
/// form-urlencoded client id, `:`, and the form-urlencoded secret
/// ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1), Appendix B).
///
/// # Errors
/// Infallible in practice (base64 is always a valid header value); typed for safety.
pub fn basic_authorization(client_id: &str, secret: &ClientSecret) -> Result<HeaderValue, Error> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret.secret()));
    let mut value = HeaderValue::try_from(format!("Basic {}", Base64::encode_string(credentials.as_bytes())))
        .map_err(|_| Error::unusable_config("client credentials: not usable in an Authorization header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A JWT client assertion ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)):
/// `iss` = `sub` = `client_id`, `aud` = `audience` (one string), a fresh random
/// `jti`, `iat` = `now`, `exp` = `now` + [`ASSERTION_LIFETIME_SECS`].
///
/// # Errors
/// [`Error::Random`] when the random source failed, [`Error::Malformed`] when signing failed.
pub fn client_assertion(
    key: &SigningKey,
    kid: Option<&str>,
    client_id: &str,
    audience: &str,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<String, Error> {
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": random_token(rng, ASSERTION_JTI_BYTES)?,
        "iat": now.as_secs(),
        "exp": now.plus(ASSERTION_LIFETIME_SECS).as_secs(),
    });
    key.sign_jwt(kid, &claims)
}

fn set_assertion(form: &mut Vec<(String, String)>, client_id: &str, assertion: String) {
    set_param(form, "client_assertion_type", JWT_BEARER_ASSERTION_TYPE);
    set_param(form, "client_assertion", &assertion);
    set_param(form, "client_id", client_id);
}

/// Sets `name` to `value`, replacing earlier occurrences (a parameter must not be repeated,
/// RFC 6749 §3.2).
pub(crate) fn set_param(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    form.retain(|(k, _)| k != name);
    form.push((name.to_owned(), value.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::sign::tests as keys;
    use crate::rand::SeededRandom;
    use TokenEndpointAuthMethod as M;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    /// What the assertions are addressed to: the issuer identifier ([`assertion_audience`]).
    const AUDIENCE: &str = "https://op.example";
    const LONG_SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn with_secret() -> ClientConfig {
        ClientConfig::new("op").client_id("client-1").client_secret(LONG_SECRET)
    }

    fn with_key(pem: &str) -> ClientConfig {
        ClientConfig::new("op").client_id("client-1").private_key(pem)
    }

    #[test]
    fn the_private_key_is_parsed_once_per_material_and_shared_by_clones() {
        let config = with_key(keys::RSA_PKCS8);
        let first = kept_signing_key(&config).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &kept_signing_key(&config).unwrap()));
        assert!(std::sync::Arc::ptr_eq(&first, &kept_signing_key(&config.clone()).unwrap()));
        // Another key in the same (cloned) configuration is parsed, and then used.
        let mut changed = config.clone();
        changed.private_key = Some(keys::EC_PKCS8.into());
        let second = kept_signing_key(&changed).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &second));
        assert_eq!(second.algorithm(), SigningKey::from_text(keys::EC_PKCS8).unwrap().algorithm());
        // A key that does not parse is an error every time, and nothing is kept for it.
        changed.private_key = Some("not a key".into());
        for _ in 0..2 {
            assert!(matches!(kept_signing_key(&changed), Err(Error::Config(ConfigError::Invalid { .. }))));
        }
        assert_eq!(config, with_key(keys::RSA_PKCS8), "kept keys are not part of the configuration's identity");
        assert!(!format!("{config:?}").contains("BEGIN"));
    }

    fn metadata(methods: &[&str]) -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            token_endpoint_auth_methods_supported: Some(methods.iter().map(|s| (*s).to_owned()).collect()),
            ..Default::default()
        }
    }

    fn apply(method: M, config: &ClientConfig, form: &mut Vec<(String, String)>) -> Result<Option<HeaderValue>, Error> {
        apply_client_auth(method, config, AUDIENCE, &SeededRandom::new(9), NOW, form)
    }

    fn get<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn decode_basic(header: &HeaderValue) -> String {
        let b64 = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        String::from_utf8(Base64::decode_vec(b64).unwrap()).unwrap()
    }

    #[test]
    fn basic_auth_form_urlencodes_id_and_secret_before_base64() {
        let vectors = [
            ("client", "secret", "client:secret"),
            ("id:with:colons", "se:cret", "id%3Awith%3Acolons:se%3Acret"),
            ("with space", "a b", "with+space:a+b"),
            ("per%cent", "100%", "per%25cent:100%25"),
            ("clïent", "sécret€", "cl%C3%AFent:s%C3%A9cret%E2%82%AC"),
            ("a+b&c=d", "~._-*", "a%2Bb%26c%3Dd:%7E._-*"),
        ];
        for (id, secret, expected) in vectors {
            let h = basic_authorization(id, &ClientSecret::new(secret)).unwrap();
            assert_eq!(decode_basic(&h), expected, "{id} / {secret}");
            assert!(h.is_sensitive());
        }
    }

    #[test]
    fn basic_auth_returns_a_header_and_leaves_the_form_alone() {
        let mut form = vec![("grant_type".to_owned(), "authorization_code".to_owned())];
        let h = apply(M::ClientSecretBasic, &with_secret(), &mut form).unwrap().unwrap();
        assert_eq!(decode_basic(&h), format!("client-1:{LONG_SECRET}"));
        assert_eq!(form.len(), 1);
    }

    #[test]
    fn post_puts_id_and_secret_in_the_body() {
        let mut form = vec![("client_id".to_owned(), "stale".to_owned())];
        assert!(apply(M::ClientSecretPost, &with_secret(), &mut form).unwrap().is_none());
        assert_eq!(get(&form, "client_id"), Some("client-1"));
        assert_eq!(get(&form, "client_secret"), Some(LONG_SECRET));
        assert_eq!(form.iter().filter(|(k, _)| k == "client_id").count(), 1);
    }

    #[test]
    fn none_sends_only_the_client_id() {
        let mut form = Vec::new();
        let config = ClientConfig::new("spa").client_id("public");
        assert!(apply(M::None, &config, &mut form).unwrap().is_none());
        assert_eq!(form, vec![("client_id".to_owned(), "public".to_owned())]);
    }

    #[test]
    fn missing_client_id_is_a_config_error() {
        let config = ClientConfig::new("op").client_secret(LONG_SECRET);
        let err = apply(M::ClientSecretBasic, &config, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "client_id"));
    }

    #[test]
    fn secret_methods_without_a_secret_are_config_errors() {
        let config = ClientConfig::new("op").client_id("c");
        for method in [M::ClientSecretBasic, M::ClientSecretPost, M::ClientSecretJwt] {
            let err = apply(method, &config, &mut Vec::new()).unwrap_err();
            assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "client_secret"));
        }
        let err = apply(M::PrivateKeyJwt, &config, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "private_key"));
    }

    fn check_assertion_claims(claims: &serde_json::Value) {
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["iat"], NOW.as_secs());
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > NOW.as_secs() && exp <= NOW.as_secs() + 300);
        let jti = crate::jose::b64::decode(claims["jti"].as_str().unwrap()).unwrap();
        assert_eq!(jti.len(), 32);
    }

    #[test]
    fn private_key_jwt_assertion_is_signed_and_carries_the_required_claims() {
        let config = with_key(keys::RSA_PKCS8).private_key_id("key-7");
        let mut form = Vec::new();
        assert!(apply(M::PrivateKeyJwt, &config, &mut form).unwrap().is_none());
        assert_eq!(get(&form, "client_assertion_type"), Some(JWT_BEARER_ASSERTION_TYPE));
        assert_eq!(get(&form, "client_id"), Some("client-1"));
        assert_eq!(get(&form, "client_secret"), None);
        let key = signing_key(&config).unwrap();
        let (header, claims) = keys::verify_jwt(&key, get(&form, "client_assertion").unwrap());
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "key-7"}));
        check_assertion_claims(&claims);
    }

    #[test]
    fn private_key_jwt_works_with_ec_and_ed25519_keys() {
        for material in [keys::EC_PKCS8, keys::ED_JWK] {
            let config = with_key(material);
            let mut form = Vec::new();
            apply(M::PrivateKeyJwt, &config, &mut form).unwrap();
            let key = signing_key(&config).unwrap();
            let (_, claims) = keys::verify_jwt(&key, get(&form, "client_assertion").unwrap());
            check_assertion_claims(&claims);
        }
        // The JWK's own kid is used when no private_key_id is configured.
        let config = with_key(keys::ED_JWK);
        let mut form = Vec::new();
        apply(M::PrivateKeyJwt, &config, &mut form).unwrap();
        let (header, _) = keys::verify_jwt(&signing_key(&config).unwrap(), get(&form, "client_assertion").unwrap());
        assert_eq!(header["kid"], "ed-test-1");
    }

    #[test]
    fn assertion_jti_is_unique_per_call() {
        let config = with_key(keys::EC_PKCS8);
        let key = signing_key(&config).unwrap();
        let rng = SeededRandom::new(1);
        let jti = |form: &[(String, String)]| {
            keys::verify_jwt(&key, get(form, "client_assertion").unwrap()).1["jti"].as_str().unwrap().to_owned()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        apply_client_auth_with_key(M::PrivateKeyJwt, &config, Some(&key), AUDIENCE, &rng, NOW, &mut a).unwrap();
        apply_client_auth_with_key(M::PrivateKeyJwt, &config, Some(&key), AUDIENCE, &rng, NOW, &mut b).unwrap();
        assert_ne!(jti(&a), jti(&b));
    }

    #[test]
    fn client_secret_jwt_is_hs256_keyed_by_the_secret() {
        let mut form = Vec::new();
        apply(M::ClientSecretJwt, &with_secret(), &mut form).unwrap();
        let jwt = get(&form, "client_assertion").unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, LONG_SECRET.as_bytes());
        ring::hmac::verify(&key, input.as_bytes(), &crate::jose::b64::decode(sig).unwrap()).unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&crate::jose::b64::decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&crate::jose::b64::decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
        check_assertion_claims(&claims);
        assert_eq!(get(&form, "client_secret"), None);
    }

    #[test]
    fn client_secret_jwt_with_a_short_secret_is_a_config_error() {
        let config = ClientConfig::new("op").client_id("c").client_secret("short");
        let err = apply(M::ClientSecretJwt, &config, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { ref key, .. }) if key == "client_secret"));
        assert!(!err.to_string().contains("short\""));
    }

    #[test]
    fn unusable_private_key_is_a_config_error_without_the_key() {
        let config = with_key("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----");
        let err = apply(M::PrivateKeyJwt, &config, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { ref key, .. }) if key == "private_key"));
        assert!(!err.to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn configured_method_wins_over_metadata() {
        let config = with_secret().token_endpoint_auth_method(M::ClientSecretPost);
        let md = metadata(&["client_secret_basic"]);
        assert_eq!(resolve_method(&config, Some(&md)).unwrap(), M::ClientSecretPost);
    }

    #[test]
    fn configured_method_without_its_credential_is_rejected() {
        let config = ClientConfig::new("op").client_id("c").token_endpoint_auth_method(M::PrivateKeyJwt);
        let err = resolve_method(&config, None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "private_key"));
        let config = ClientConfig::new("op").client_id("c").token_endpoint_auth_method(M::ClientSecretBasic);
        let err = resolve_method(&config, None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "client_secret"));
    }

    #[test]
    fn defaults_without_metadata_follow_the_credentials() {
        assert_eq!(resolve_method(&with_secret(), None).unwrap(), M::ClientSecretBasic);
        assert_eq!(resolve_method(&ClientConfig::new("x").client_id("c"), None).unwrap(), M::None);
        assert_eq!(resolve_method(&with_key(keys::EC_PKCS8), None).unwrap(), M::PrivateKeyJwt);
        let empty = metadata(&[]);
        assert_eq!(resolve_method(&with_secret(), Some(&empty)).unwrap(), M::ClientSecretBasic);
    }

    #[test]
    fn metadata_choice_follows_the_preference_order() {
        let all =
            metadata(&["none", "client_secret_jwt", "client_secret_post", "client_secret_basic", "private_key_jwt"]);
        assert_eq!(resolve_method(&with_secret(), Some(&all)).unwrap(), M::ClientSecretBasic);
        let both = with_secret().private_key(keys::EC_PKCS8);
        assert_eq!(resolve_method(&both, Some(&all)).unwrap(), M::PrivateKeyJwt);
        let post_only = metadata(&["client_secret_post"]);
        assert_eq!(resolve_method(&with_secret(), Some(&post_only)).unwrap(), M::ClientSecretPost);
        let jwt_only = metadata(&["client_secret_jwt", "unknown_method"]);
        assert_eq!(resolve_method(&with_secret(), Some(&jwt_only)).unwrap(), M::ClientSecretJwt);
        let public = ClientConfig::new("x").client_id("c");
        assert_eq!(resolve_method(&public, Some(&all)).unwrap(), M::None);
    }

    #[test]
    fn metadata_without_a_usable_method_is_a_config_error() {
        let md = metadata(&["private_key_jwt"]);
        let err = resolve_method(&with_secret(), Some(&md)).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "private_key"));
        let md = metadata(&["client_secret_basic"]);
        let err = resolve_method(&ClientConfig::new("x").client_id("c"), Some(&md)).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "client_secret"));
        let md = metadata(&["tls_client_auth"]);
        let err = resolve_method(&with_secret(), Some(&md)).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { .. })));
    }
}
