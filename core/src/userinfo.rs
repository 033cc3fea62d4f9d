//! The UserInfo endpoint ([OIDC Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)).
//!
//! [`userinfo_request`] builds the request (access token in the `Authorization: Bearer`
//! header, or in a POST body; never in the query), [`parse_userinfo`] checks the answer:
//! a JSON object, or a signed (and possibly encrypted) JWT, whose `sub` must be the ID
//! token's.
//!
//! ```
//! use rpkit::userinfo::{parse_userinfo, userinfo_request, UserInfoContext};
//! use rpkit::token::Token;
//!
//! let token: Token = serde_json::from_str(r#"{"access_token":"at-1","token_type":"Bearer"}"#).unwrap();
//! let req = userinfo_request("https://op.example/userinfo", &token, false).unwrap();
//! assert_eq!(req.headers()["authorization"], "Bearer at-1");
//!
//! let resp = http::Response::builder()
//!     .header("content-type", "application/json")
//!     .body(br#"{"sub":"248289761001","email":"j@example.com"}"#.to_vec())
//!     .unwrap();
//! let claims = parse_userinfo(&resp, Some("248289761001"), None, &UserInfoContext::default()).unwrap();
//! assert_eq!(claims.email(), Some("j@example.com"));
//! ```

use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{effective_id_token_algs, Endpoints, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::jose::jwe::{self, DecryptionKey};
use crate::jose::{self, AlgPolicy, Algorithm};
use crate::jwks::JwkSet;
use crate::secret::ClientSecret;
use crate::token::Token;
use crate::wire;
use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::Value;

/// Why a UserInfo response was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserInfoError {
    /// The UserInfo `sub` differs from the ID token's.
    #[error("the UserInfo `sub` is not the ID token's `sub`")]
    SubjectMismatch,
    /// The response has no `sub` (it is REQUIRED, OIDC Core §5.3.2).
    #[error("the UserInfo response has no `sub`")]
    MissingSubject,
    /// A signed UserInfo response's `iss` is not the provider's issuer (OIDC Core §5.3.2).
    #[error("the signed UserInfo response's issuer `{found}` is not the expected issuer `{expected}`")]
    Issuer {
        /// The issuer the client expects.
        expected: String,
        /// What the response says.
        found: String,
    },
    /// A signed UserInfo response's `aud` does not contain the client's `client_id`
    /// (OIDC Core §5.3.2).
    #[error("the signed UserInfo response is not addressed to this client")]
    Audience,
    /// A signed UserInfo response lacks `iss` or `aud` (OIDC Core §5.3.2).
    #[error("the signed UserInfo response has no `{name}`")]
    MissingClaim {
        /// `iss` or `aud`.
        name: &'static str,
    },
    /// The response is an encrypted JWT (JWE) but no decryption key is configured.
    #[error("the UserInfo response is encrypted and no decryption key is configured")]
    NoDecryptionKey,
    /// The response's media type is neither `application/json` nor `application/jwt`.
    #[error("the UserInfo response has the unexpected media type `{media_type}`")]
    UnexpectedContentType {
        /// The media type (truncated).
        media_type: String,
    },
}

/// What [`parse_userinfo`] needs to check a signed or encrypted UserInfo response. For
/// plain JSON responses nothing here is used, so `UserInfoContext::default()` will do.
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::userinfo::UserInfoContext;
/// let cfg = ClientConfig::new("op").client_id("app").issuer("https://op.example");
/// let ctx = UserInfoContext::from_config(&cfg, None).unwrap();
/// assert_eq!(ctx.issuer.as_deref(), Some("https://op.example"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct UserInfoContext {
    /// The expected `iss` of a signed response.
    pub issuer: Option<String>,
    /// The `client_id` a signed response's `aud` must contain.
    pub client_id: Option<String>,
    /// Allowed JWS algorithms (the client's ID-token policy).
    pub policy: AlgPolicy,
    /// The HMAC key for `HS*` (the client secret).
    pub hmac_secret: Option<ClientSecret>,
    /// The key for encrypted responses.
    pub decryption_key: Option<DecryptionKey>,
}

impl UserInfoContext {
    /// The context of a configured client: issuer and endpoints resolved with
    /// [`Endpoints::resolve`], the algorithm policy of its ID tokens
    /// ([`effective_id_token_algs`]), its secret and its decryption key.
    ///
    /// # Errors
    /// [`JoseError::InvalidDecryptionKey`](crate::jose::JoseError::InvalidDecryptionKey)
    /// when the configured decryption key cannot be read.
    pub fn from_config(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> Result<Self, Error> {
        let supported: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        let algs = effective_id_token_algs(config, metadata, &supported);
        let decryption_key = config.parsed_decryption_key()?;
        Ok(UserInfoContext {
            issuer: Endpoints::resolve(config, metadata).issuer,
            client_id: config.client_id.clone(),
            policy: AlgPolicy::new(&algs),
            hmac_secret: config.client_secret.clone(),
            decryption_key,
        })
    }
}

/// The UserInfo request (OIDC Core §5.3.1, RFC 6750 §2.1–§2.2).
///
/// `post == false`: `GET` with `Authorization: Bearer <access token>` (the default).
/// `post == true`: `POST` with the form body `access_token=<access token>`. The token is
/// never put in the query. The `Authorization` header is marked sensitive. A DPoP-bound
/// token ([`Token::is_dpop`]) is always sent as `GET` with `Authorization: DPoP <token>`
/// (RFC 9449 §7.1), whatever `post` says; add its proof with
/// [`DpopKey::add_proof`](crate::dpop::DpopKey::add_proof).
///
/// # Errors
/// [`Error::Malformed`] when `endpoint` is not an absolute URL or the access token cannot
/// be a header value (the token itself is not in the error).
pub fn userinfo_request(endpoint: &str, token: &Token, post: bool) -> Result<http::Request<Vec<u8>>, Error> {
    wire::parse_url(endpoint, "userinfo_endpoint")?;
    let access_token = token.access_token.secret();
    // RFC 9449 §7.1: a DPoP-bound token is only ever sent in the header, scheme `DPoP`.
    if token.is_dpop() {
        let mut value = HeaderValue::from_str(&format!("DPoP {access_token}"))
            .map_err(|_| Error::malformed("access token: not a valid header value"))?;
        value.set_sensitive(true);
        return wire::get(endpoint, "application/json, application/jwt")?.header(AUTHORIZATION, value).build();
    }
    if post {
        wire::post_form(endpoint, wire::form_encode([("access_token", access_token)]))?.build()
    } else {
        let mut value = HeaderValue::from_str(&format!("Bearer {access_token}"))
            .map_err(|_| Error::malformed("access token: not a valid header value"))?;
        value.set_sensitive(true);
        wire::get(endpoint, "application/json, application/jwt")?.header(AUTHORIZATION, value).build()
    }
}

/// [`userinfo_request`] for a configured client: the endpoint is the configured
/// `userinfo_endpoint`, else the metadata's; POST when `client_kwargs.userinfo_post`.
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`userinfo_endpoint`), else
/// as [`userinfo_request`].
pub fn userinfo_request_for(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    token: &Token,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoints = Endpoints::resolve(config, metadata);
    userinfo_request(endpoints.require_userinfo(config)?, token, config.client_kwargs.userinfo_post)
}

/// Parses and checks a UserInfo response (OIDC Core §5.3.2–§5.3.4).
///
/// - Size cap first ([`wire::MAX_RESPONSE_BYTES`]).
/// - Non-2xx: an RFC 6750 §3 `WWW-Authenticate` error (e.g. `invalid_token`) or a JSON
///   `error` body becomes [`Error::Provider`]; anything else [`Error::Http`].
/// - `application/jwt`: a JWS verified with [`jose::verify_jws`] under `ctx.policy` and
///   `keys` (or `ctx.hmac_secret` for `HS*`); a JWE (nested JWT) is decrypted first with
///   `ctx.decryption_key`. Unlike ID tokens, an unencrypted response is accepted even when a
///   decryption key is configured: whether UserInfo is encrypted is a separate registration
///   (`userinfo_encrypted_response_alg`). A signed response must carry `iss` and `aud`
///   ([`UserInfoError::MissingClaim`], OIDC Core §5.3.2); `iss` and `aud`, whenever
///   present, must be the issuer and contain the `client_id`.
/// - Otherwise (`application/json`, or no media type): a JSON object.
/// - `sub` must be present, and equal `expected_sub` (the ID token's) when given.
///
/// # Errors
/// [`Error::TooLarge`], [`Error::Http`], [`Error::Provider`], [`Error::Malformed`],
/// [`Error::Jose`] (signature, algorithm, unknown `kid` — fetch the JWKS again, rate
/// limited — or decryption), [`UserInfoError::MissingSubject`],
/// [`UserInfoError::SubjectMismatch`], [`UserInfoError::Issuer`],
/// [`UserInfoError::Audience`], [`UserInfoError::NoDecryptionKey`],
/// [`UserInfoError::UnexpectedContentType`].
pub fn parse_userinfo<B: AsRef<[u8]>>(
    resp: &http::Response<B>,
    expected_sub: Option<&str>,
    keys: Option<&JwkSet>,
    ctx: &UserInfoContext,
) -> Result<Claims, Error> {
    let body = wire::body_of(resp, Endpoint::UserInfo)?;
    if !resp.status().is_success() {
        return Err(error_response(resp, body));
    }
    let claims = match wire::media_type(resp).as_deref() {
        Some("application/jwt") => signed_claims(body, keys, ctx)?,
        None | Some("application/json") => json_claims(body)?,
        Some(other) if other.ends_with("+json") => json_claims(body)?,
        Some(other) => {
            return Err(UserInfoError::UnexpectedContentType { media_type: other.chars().take(64).collect() }.into())
        }
    };
    match (claims.get("sub"), expected_sub) {
        (Some(Value::String(sub)), _) if sub.is_empty() => Err(UserInfoError::MissingSubject.into()),
        (Some(Value::String(sub)), Some(expected)) if sub != expected => Err(UserInfoError::SubjectMismatch.into()),
        (Some(Value::String(_)), _) => Ok(claims),
        (None | Some(Value::Null), _) => Err(UserInfoError::MissingSubject.into()),
        (Some(_), _) => Err(Error::malformed("UserInfo response: `sub` is not a string")),
    }
}

fn json_claims(body: &[u8]) -> Result<Claims, Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Claims::new(map)),
        Ok(_) => Err(Error::malformed("UserInfo response: not a JSON object")),
        Err(_) => Err(Error::malformed("UserInfo response: not JSON")),
    }
}

fn signed_claims(body: &[u8], keys: Option<&JwkSet>, ctx: &UserInfoContext) -> Result<Claims, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::malformed("UserInfo JWT: not UTF-8"))?.trim();
    let decrypted;
    let jws = if jose::is_jwe(text) {
        let key = ctx.decryption_key.as_ref().ok_or(UserInfoError::NoDecryptionKey)?;
        decrypted = String::from_utf8(jwe::decrypt(text, key)?)
            .map_err(|_| Error::malformed("UserInfo JWT: decrypted content is not UTF-8"))?;
        decrypted.trim()
    } else {
        text
    };
    let signed = !jws.starts_with('{');
    let claims = if !signed {
        // OIDC Core §5.3.2: a UserInfo response may be encrypted without being signed; the
        // plaintext is then the claims themselves (as trustworthy as a plain JSON answer
        // over TLS). Only reachable through decryption: a bare JSON body is not a JWT.
        if std::ptr::eq(jws, text) {
            return Err(Error::malformed("UserInfo JWT: not a JWS or JWE"));
        }
        json_claims(jws.as_bytes())?
    } else {
        let empty = JwkSet::from_keys(Vec::new());
        let verified = jose::verify_jws(jws, keys.unwrap_or(&empty), &ctx.policy, ctx.hmac_secret.as_ref())?;
        verified.claims()?
    };
    // OIDC Core §5.3.2: a signed response carries `iss` and `aud`; without them a signed
    // UserInfo answer of this provider for another client (or another provider's, signed
    // with a shared key) would pass. An encrypted-only response is checked when it has them.
    if signed {
        if claims.get("iss").is_none() {
            return Err(UserInfoError::MissingClaim { name: "iss" }.into());
        }
        if claims.get("aud").is_none() {
            return Err(UserInfoError::MissingClaim { name: "aud" }.into());
        }
    }
    if let Some(iss) = claims.get("iss") {
        let expected = ctx.issuer.as_deref().unwrap_or_default();
        if iss.as_str() != Some(expected) || expected.is_empty() {
            let found = crate::error::sanitized(&iss.as_str().map_or_else(|| iss.to_string(), str::to_owned), 256);
            return Err(UserInfoError::Issuer { expected: expected.to_owned(), found }.into());
        }
    }
    if claims.get("aud").is_some() {
        let client_id = ctx.client_id.as_deref().unwrap_or_default();
        if client_id.is_empty() || !claims.audiences().is_some_and(|auds| auds.contains(&client_id)) {
            return Err(UserInfoError::Audience.into());
        }
    }
    Ok(claims)
}

/// The check of one UserInfo response as a state machine: a JSON answer is checked at
/// once; a signed (or encrypted) one (`application/jwt`) against the provider's keys,
/// asking for the JWK Set when the core's [`KeyCheck`](crate::jwks::KeyCheck) says so.
///
/// ```
/// use rpkit::jwks::{JwksCache, KeyStep};
/// use rpkit::userinfo::UserInfoCheck;
/// use rpkit::{ClientConfig, UnixTime};
/// let config = ClientConfig::new("op").client_id("app").issuer("https://op.example");
/// let response = http::Response::builder()
///     .header("content-type", "application/json")
///     .body(br#"{"sub":"u1","email":"u1@example.com"}"#.to_vec())?;
/// let mut check = UserInfoCheck::new(response, &config, None, Some("u1"))?;
/// let mut keys: Option<JwksCache> = None;
/// match check.poll(&mut keys, UnixTime::from_secs(1_700_000_000))? {
///     KeyStep::Done(claims) => assert_eq!(claims.email(), Some("u1@example.com")),
///     KeyStep::Fetch(_) => unreachable!("plain JSON needs no keys"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UserInfoCheck {
    response: http::Response<Vec<u8>>,
    ctx: UserInfoContext,
    expected_sub: Option<String>,
    /// For a JWT answer: the body and its key check.
    jwt: Option<(String, crate::jwks::KeyCheck)>,
}

impl UserInfoCheck {
    /// The check of `response` for the client `config`; `expected_sub` is the ID token's
    /// `sub` (the UserInfo `sub` must equal it).
    ///
    /// # Errors
    /// Configuration errors (decryption key, a JWT answer without a usable `jwks_uri`).
    pub fn new(
        response: http::Response<Vec<u8>>,
        config: &ClientConfig,
        metadata: Option<&ProviderMetadata>,
        expected_sub: Option<&str>,
    ) -> Result<Self, Error> {
        let ctx = UserInfoContext::from_config(config, metadata)?;
        let is_jwt =
            response.status().is_success() && wire::media_type(&response).as_deref() == Some("application/jwt");
        let jwt = if is_jwt {
            let body = String::from_utf8_lossy(wire::body_of(&response, Endpoint::UserInfo)?).trim().to_owned();
            let key_check = crate::jwks::KeyCheck::new(&body, config, metadata)?;
            Some((body, key_check))
        } else {
            None
        };
        Ok(UserInfoCheck { response, ctx, expected_sub: expected_sub.map(str::to_owned), jwt })
    }

    /// Checks the response ([`parse_userinfo`]) with the keys of `keys`, or asks for the
    /// JWK Set.
    ///
    /// # Errors
    /// As [`parse_userinfo`], once no fetch could change the verdict.
    pub fn poll(
        &mut self,
        keys: &mut dyn crate::jwks::KeySource,
        now: crate::time::UnixTime,
    ) -> Result<crate::jwks::KeyStep<Claims>, Error> {
        let (response, ctx, sub) = (&self.response, &self.ctx, self.expected_sub.as_deref());
        match &mut self.jwt {
            None => parse_userinfo(response, sub, None, ctx).map(crate::jwks::KeyStep::Done),
            Some((_, key_check)) => key_check.poll(keys, now, |set| parse_userinfo(response, sub, Some(set), ctx)),
        }
    }

    /// Records that the JWK Set was fetched for this check (after a
    /// [`KeyStep::Fetch`](crate::jwks::KeyStep::Fetch)).
    pub fn keys_fetched(&mut self) {
        if let Some((_, key_check)) = &mut self.jwt {
            key_check.keys_fetched();
        }
    }
}

fn error_response<B>(resp: &http::Response<B>, body: &[u8]) -> Error {
    let status = resp.status().as_u16();
    for value in resp.headers().get_all(WWW_AUTHENTICATE) {
        if let Some(err) = value.to_str().ok().and_then(bearer_error) {
            return Error::Provider(err);
        }
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if let Some(code) = map.get("error").and_then(Value::as_str).filter(|c| !c.is_empty()) {
            let text = |k: &str| map.get(k).and_then(Value::as_str);
            return Error::Provider(ProviderError::from_wire(code, text("error_description"), text("error_uri")));
        }
    }
    Error::Http { endpoint: Endpoint::UserInfo, status }
}

/// The RFC 6750 §3 error of a `WWW-Authenticate` header (`error`, `error_description`,
/// `error_uri` auth-params), if it carries one.
pub fn bearer_error(header: &str) -> Option<ProviderError> {
    let params = auth_params(header);
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let error = get("error").filter(|e| !e.is_empty())?;
    Some(ProviderError::from_wire(&error, get("error_description").as_deref(), get("error_uri").as_deref()))
}

/// Every `name=value` auth-param of a challenge list (RFC 9110 §11.2); scheme names and
/// token68 values are skipped. Never fails: junk yields fewer pairs.
fn auth_params(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = header.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ',' || c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            if !name.is_empty() {
                out.push((name, value));
            }
        } else if name.is_empty() && chars.peek().is_none() {
            break;
        } else if name.is_empty() {
            // A stray character that starts nothing: skip it to guarantee progress.
            chars.next();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use crate::jose::testkeys::Signer;
    use crate::jose::JoseError;
    use proptest::prelude::*;
    use serde_json::json;

    const ISS: &str = "https://op.example";

    fn token() -> Token {
        serde_json::from_value(json!({"access_token": "at-secret", "token_type": "Bearer"})).unwrap()
    }

    fn json_resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn jwt_resp(jwt: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().header("content-type", "application/jwt").body(jwt.as_bytes().to_vec()).unwrap()
    }

    fn ctx(policy: AlgPolicy) -> UserInfoContext {
        UserInfoContext { issuer: Some(ISS.into()), client_id: Some("app".into()), policy, ..Default::default() }
    }

    #[test]
    fn get_request_carries_the_token_in_a_sensitive_bearer_header() {
        let req = userinfo_request("https://op.example/userinfo", &token(), false).unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer at-secret");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        assert!(req.uri().query().is_none());
        assert!(req.body().is_empty());
    }

    #[test]
    fn post_request_carries_the_token_in_the_body() {
        let req = userinfo_request("https://op.example/userinfo", &token(), true).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.body(), b"access_token=at-secret");
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert!(req.uri().query().is_none());
    }

    #[test]
    fn request_with_relative_endpoint_or_bad_token_is_refused_without_the_token() {
        assert!(matches!(
            userinfo_request("/userinfo", &token(), false),
            Err(Error::Config(crate::error::ConfigError::Unusable { .. }))
        ));
        let mut bad = token();
        bad.access_token = crate::secret::AccessToken::new("line\nbreak-secret");
        let err = userinfo_request("https://op.example/userinfo", &bad, false).unwrap_err();
        assert!(!err.to_string().contains("break-secret"));
    }

    #[test]
    fn request_for_a_client_uses_configured_then_discovered_endpoint() {
        let md = ProviderMetadata {
            issuer: ISS.into(),
            userinfo_endpoint: Some("https://op.example/md-userinfo".into()),
            ..Default::default()
        };
        let cfg = ClientConfig::new("op");
        assert_eq!(userinfo_request_for(&cfg, Some(&md), &token()).unwrap().uri(), "https://op.example/md-userinfo");
        let cfg = cfg.userinfo_endpoint("https://op.example/cfg-userinfo");
        assert_eq!(userinfo_request_for(&cfg, Some(&md), &token()).unwrap().uri(), "https://op.example/cfg-userinfo");
        let mut post = ClientConfig::new("op").userinfo_endpoint("https://op.example/u");
        post.client_kwargs.userinfo_post = true;
        assert_eq!(userinfo_request_for(&post, None, &token()).unwrap().method(), http::Method::POST);
        let err = userinfo_request_for(&ClientConfig::new("op"), None, &token()).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { key, .. }) if key == "userinfo_endpoint"));
    }

    #[test]
    fn json_userinfo_with_matching_sub_is_accepted() {
        let c = parse_userinfo(
            &json_resp(200, r#"{"sub":"u1","name":"Jane"}"#),
            Some("u1"),
            None,
            &ctx(AlgPolicy::default()),
        )
        .unwrap();
        assert_eq!(c.name(), Some("Jane"));
    }

    #[test]
    fn json_userinfo_without_expected_sub_needs_only_a_sub() {
        assert!(parse_userinfo(&json_resp(200, r#"{"sub":"u1"}"#), None, None, &UserInfoContext::default()).is_ok());
    }

    #[test]
    fn userinfo_with_another_sub_is_rejected() {
        let err = parse_userinfo(&json_resp(200, r#"{"sub":"u2"}"#), Some("u1"), None, &UserInfoContext::default())
            .unwrap_err();
        assert_eq!(err, Error::UserInfo(UserInfoError::SubjectMismatch));
    }

    #[test]
    fn userinfo_without_sub_is_rejected() {
        for body in [r#"{"name":"x"}"#, r#"{"sub":""}"#, r#"{"sub":null}"#] {
            let err = parse_userinfo(&json_resp(200, body), None, None, &UserInfoContext::default()).unwrap_err();
            assert_eq!(err, Error::UserInfo(UserInfoError::MissingSubject), "{body}");
        }
        let err = parse_userinfo(&json_resp(200, r#"{"sub":5}"#), None, None, &UserInfoContext::default()).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
    }

    #[test]
    fn non_object_or_non_json_userinfo_is_malformed() {
        for body in ["[]", "\"sub\"", "<html>", ""] {
            let err = parse_userinfo(&json_resp(200, body), None, None, &UserInfoContext::default()).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{body}");
        }
    }

    #[test]
    fn unexpected_media_type_is_rejected() {
        let resp = http::Response::builder().header("content-type", "text/html").body(b"{}".to_vec()).unwrap();
        let err = parse_userinfo(&resp, None, None, &UserInfoContext::default()).unwrap_err();
        assert!(matches!(err, Error::UserInfo(UserInfoError::UnexpectedContentType { .. })));
    }

    #[test]
    fn oversized_userinfo_is_refused() {
        let resp = json_resp(200, &"x".repeat(wire::MAX_RESPONSE_BYTES + 1));
        let err = parse_userinfo(&resp, None, None, &UserInfoContext::default()).unwrap_err();
        assert!(matches!(err, Error::TooLarge { endpoint: Endpoint::UserInfo, .. }));
    }

    #[test]
    fn www_authenticate_error_becomes_a_provider_error() {
        let resp = http::Response::builder()
            .status(401)
            .header(
                WWW_AUTHENTICATE,
                r#"Bearer realm="example", error="invalid_token", error_description="The access token \"expired\"""#,
            )
            .body(Vec::new())
            .unwrap();
        let err = parse_userinfo(&resp, None, None, &UserInfoContext::default()).unwrap_err();
        assert_eq!(
            err,
            Error::Provider(ProviderError {
                error: "invalid_token".into(),
                description: Some("The access token \"expired\"".into()),
                uri: None,
            })
        );
        assert_eq!(err.provider_error_code(), Some("invalid_token"));
    }

    #[test]
    fn json_error_body_becomes_a_provider_error() {
        let err = parse_userinfo(
            &json_resp(403, r#"{"error":"insufficient_scope"}"#),
            None,
            None,
            &UserInfoContext::default(),
        )
        .unwrap_err();
        assert_eq!(err.provider_error_code(), Some("insufficient_scope"));
    }

    #[test]
    fn bare_error_status_is_an_http_error() {
        let resp = http::Response::builder()
            .status(401)
            .header(WWW_AUTHENTICATE, r#"Bearer realm="example""#)
            .body(Vec::new())
            .unwrap();
        let err = parse_userinfo(&resp, None, None, &UserInfoContext::default()).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::UserInfo, status: 401 });
        let err = parse_userinfo(&json_resp(500, "oops"), None, None, &UserInfoContext::default()).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::UserInfo, status: 500 });
    }

    #[test]
    fn bearer_error_reads_several_challenges_and_tokens() {
        let e = bearer_error(r#"DPoP algs="ES256", Bearer error=invalid_token,error_uri="https://e""#).unwrap();
        assert_eq!(e.error, "invalid_token");
        assert_eq!(e.uri.as_deref(), Some("https://e"));
        assert!(bearer_error("Bearer").is_none());
        assert!(bearer_error("Basic abc==").is_none());
    }

    #[test]
    fn signed_userinfo_is_verified_and_checked() {
        let signer = Signer::es256();
        let jwt = signer.sign(&json!({"sub": "u1", "iss": ISS, "aud": "app", "email": "j@example.com"}));
        let c =
            parse_userinfo(&jwt_resp(&jwt), Some("u1"), Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"]))).unwrap();
        assert_eq!(c.email(), Some("j@example.com"));
    }

    #[test]
    fn signed_userinfo_without_iss_or_aud_is_rejected() {
        let signer = Signer::es256();
        let ctx = ctx(AlgPolicy::new(["ES256"]));
        for (claims, name) in [
            (json!({"sub": "u1"}), "iss"),
            (json!({"sub": "u1", "aud": "app"}), "iss"),
            (json!({"sub": "u1", "iss": ISS}), "aud"),
        ] {
            let jwt = signer.sign(&claims);
            assert_eq!(
                parse_userinfo(&jwt_resp(&jwt), Some("u1"), Some(&signer.jwks()), &ctx).unwrap_err(),
                Error::UserInfo(UserInfoError::MissingClaim { name }),
                "{claims}"
            );
        }
    }

    #[test]
    fn signed_userinfo_is_refused_when_no_issuer_is_known_to_compare_with() {
        let signer = Signer::es256();
        let mut ctx = ctx(AlgPolicy::new(["ES256"]));
        ctx.issuer = None;
        let jwt = signer.sign(&json!({"sub": "u1", "iss": ISS, "aud": "app"}));
        let err = parse_userinfo(&jwt_resp(&jwt), Some("u1"), Some(&signer.jwks()), &ctx).unwrap_err();
        assert!(matches!(err, Error::UserInfo(UserInfoError::Issuer { .. })), "{err:?}");
    }

    #[test]
    fn signed_userinfo_from_another_issuer_is_rejected() {
        let signer = Signer::es256();
        let jwt = signer.sign(&json!({"sub": "u1", "iss": "https://evil.example", "aud": "app"}));
        let err =
            parse_userinfo(&jwt_resp(&jwt), None, Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"]))).unwrap_err();
        assert_eq!(
            err,
            Error::UserInfo(UserInfoError::Issuer { expected: ISS.into(), found: "https://evil.example".into() })
        );
    }

    #[test]
    fn signed_userinfo_for_another_client_is_rejected() {
        let signer = Signer::es256();
        let jwt = signer.sign(&json!({"sub": "u1", "iss": ISS, "aud": ["other", "third"]}));
        let err =
            parse_userinfo(&jwt_resp(&jwt), None, Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"]))).unwrap_err();
        assert_eq!(err, Error::UserInfo(UserInfoError::Audience));
    }

    #[test]
    fn signed_userinfo_with_another_sub_is_rejected() {
        let signer = Signer::es256();
        let jwt = signer.sign(&json!({"sub": "u2", "iss": ISS, "aud": "app"}));
        let err = parse_userinfo(&jwt_resp(&jwt), Some("u1"), Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"])))
            .unwrap_err();
        assert_eq!(err, Error::UserInfo(UserInfoError::SubjectMismatch));
    }

    #[test]
    fn signed_userinfo_with_a_disallowed_alg_or_bad_signature_is_rejected() {
        let signer = Signer::es256();
        let jwt = signer.sign(&json!({"sub": "u1"}));
        let err = parse_userinfo(&jwt_resp(&jwt), None, Some(&signer.jwks()), &ctx(AlgPolicy::default())).unwrap_err();
        assert!(matches!(err, Error::Jose(JoseError::AlgorithmNotAllowed { .. })));
        let other = Signer::ed25519(3).with_kid(Some("p256"));
        let forged = other.with_alg(Algorithm::EdDsa).sign(&json!({"sub": "u1"}));
        let err =
            parse_userinfo(&jwt_resp(&forged), None, Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256", "EdDSA"])))
                .unwrap_err();
        assert!(matches!(err, Error::Jose(JoseError::KeyTypeMismatch { .. })), "{err:?}");
        let parts: Vec<&str> = jwt.split('.').collect();
        let swapped = format!("{}.{}.{}", parts[0], jose::b64::encode(br#"{"sub":"victim"}"#), parts[2]);
        let err = parse_userinfo(&jwt_resp(&swapped), None, Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"])))
            .unwrap_err();
        assert_eq!(err, Error::Jose(JoseError::BadSignature));
        let unsigned =
            format!("{}.{}.", jose::b64::encode(br#"{"alg":"none"}"#), jose::b64::encode(br#"{"sub":"u1"}"#));
        let err = parse_userinfo(&jwt_resp(&unsigned), None, Some(&signer.jwks()), &ctx(AlgPolicy::new(["ES256"])))
            .unwrap_err();
        assert_eq!(err, Error::Jose(JoseError::AlgNone));
    }

    #[test]
    fn signed_userinfo_with_unknown_kid_asks_for_a_jwks_refetch() {
        let signer = Signer::es256().with_kid(Some("rotated"));
        let jwt = signer.sign(&json!({"sub": "u1"}));
        let err = parse_userinfo(&jwt_resp(&jwt), None, Some(&Signer::es256().jwks()), &ctx(AlgPolicy::new(["ES256"])))
            .unwrap_err();
        assert!(matches!(&err, Error::Jose(e) if e.is_unknown_key()), "{err:?}");
    }

    #[test]
    fn hmac_signed_userinfo_uses_the_client_secret() {
        let signer = Signer::hmac(Algorithm::Hs256, "a-client-secret-of-at-least-32-bytes!");
        let jwt = signer.sign(&json!({"sub": "u1", "iss": ISS, "aud": "app"}));
        let mut ctx = ctx(AlgPolicy::new(["HS256"]));
        ctx.hmac_secret = Some(ClientSecret::new("a-client-secret-of-at-least-32-bytes!"));
        assert!(parse_userinfo(&jwt_resp(&jwt), Some("u1"), None, &ctx).is_ok());
        ctx.hmac_secret = Some(ClientSecret::new("another-secret-of-at-least-32-bytes!!"));
        assert!(matches!(parse_userinfo(&jwt_resp(&jwt), Some("u1"), None, &ctx), Err(Error::Jose(_))));
    }

    #[test]
    fn encrypted_userinfo_is_decrypted_then_verified() {
        use crate::jose::jwe::tests::{encrypt, key};
        let signer = Signer::es256();
        let inner = signer.sign(&json!({"sub": "u1", "iss": ISS, "aud": "app"}));
        let jwe = encrypt(inner.as_bytes(), crate::jose::testkeys::P256_PEM, "ECDH-ES", "A256GCM");
        let mut ctx = ctx(AlgPolicy::new(["ES256"]));
        ctx.decryption_key = Some(key(crate::jose::testkeys::P256_PEM));
        let c = parse_userinfo(&jwt_resp(&jwe), Some("u1"), Some(&signer.jwks()), &ctx).unwrap();
        assert_eq!(c.sub(), Some("u1"));
        // With a decryption key configured, a signed-only response is still accepted.
        assert!(parse_userinfo(&jwt_resp(&inner), Some("u1"), Some(&signer.jwks()), &ctx).is_ok());
    }

    #[test]
    fn encrypted_but_unsigned_userinfo_is_accepted_with_its_checks() {
        use crate::jose::jwe::tests::{encrypt, key};
        let mut ctx = ctx(AlgPolicy::new(["ES256"]));
        ctx.decryption_key = Some(key(crate::jose::testkeys::P256_PEM));
        let enc = |claims: &str| encrypt(claims.as_bytes(), crate::jose::testkeys::P256_PEM, "ECDH-ES", "A256GCM");
        // OIDC Core §5.3.2: "The response MAY be encrypted without also being signed."
        let ok = enc(r#"{"sub":"u1","email":"a.b@example.com","iss":"https://op.example"}"#);
        let c = parse_userinfo(&jwt_resp(&ok), Some("u1"), None, &ctx).unwrap();
        assert_eq!(c.email(), Some("a.b@example.com"));
        let other_sub = enc(r#"{"sub":"u2"}"#);
        assert_eq!(
            parse_userinfo(&jwt_resp(&other_sub), Some("u1"), None, &ctx).unwrap_err(),
            Error::UserInfo(UserInfoError::SubjectMismatch)
        );
        let wrong_aud = enc(r#"{"sub":"u1","aud":"someone-else"}"#);
        assert_eq!(
            parse_userinfo(&jwt_resp(&wrong_aud), Some("u1"), None, &ctx).unwrap_err(),
            Error::UserInfo(UserInfoError::Audience)
        );
    }

    #[test]
    fn plain_json_labelled_as_a_jwt_is_rejected() {
        let err =
            parse_userinfo(&jwt_resp(r#"{"sub":"u1"}"#), Some("u1"), None, &ctx(AlgPolicy::default())).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. } | Error::Jose(_)), "{err:?}");
    }

    #[test]
    fn encrypted_userinfo_without_a_key_is_rejected() {
        let err = parse_userinfo(&jwt_resp("h.k.iv.ct.tag"), None, None, &ctx(AlgPolicy::default())).unwrap_err();
        assert_eq!(err, Error::UserInfo(UserInfoError::NoDecryptionKey));
    }

    #[test]
    fn context_from_config_takes_issuer_client_and_policy() {
        let cfg = ClientConfig::new("op").client_id("app").client_secret("s").id_token_algs(["ES256"]);
        let md = ProviderMetadata { issuer: ISS.into(), ..Default::default() };
        let ctx = UserInfoContext::from_config(&cfg, Some(&md)).unwrap();
        assert_eq!(ctx.issuer.as_deref(), Some(ISS));
        assert_eq!(ctx.client_id.as_deref(), Some("app"));
        assert!(ctx.policy.allows(Algorithm::Es256) && !ctx.policy.allows(Algorithm::Rs256));
        assert!(ctx.hmac_secret.is_some() && ctx.decryption_key.is_none());
        let bad = cfg.decryption_key("not a key");
        assert!(matches!(
            UserInfoContext::from_config(&bad, None),
            Err(Error::Jose(JoseError::InvalidDecryptionKey { .. }))
        ));
    }

    proptest! {
        #[test]
        fn parse_userinfo_never_panics(
            status in 100u16..600,
            ct in "(application/json|application/jwt|text/plain|)",
            www in "[ -~]{0,48}",
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut b = http::Response::builder().status(status);
            if !ct.is_empty() {
                b = b.header("content-type", ct);
            }
            if let Ok(v) = HeaderValue::from_str(&www) {
                b = b.header(WWW_AUTHENTICATE, v);
            }
            let resp = b.body(body).unwrap();
            let keys = Signer::es256().jwks();
            let _ = parse_userinfo(&resp, Some("u1"), Some(&keys), &ctx(AlgPolicy::new(["ES256"])));
        }

        #[test]
        fn bearer_error_never_panics(header in ".{0,96}") {
            let _ = bearer_error(&header);
        }
    }
}
