//! OpenID Connect Back-Channel Logout 1.0: the provider POSTs a `logout_token` to the
//! client ([Back-Channel Logout §2](https://openid.net/specs/openid-connect-backchannel-1_0.html));
//! [`parse_backchannel_request`] extracts it, [`validate_logout_token`] checks it (§2.6)
//! and says which session (`sub`, `sid`) to end, and [`backchannel_response`] is the
//! answer to send back (§2.8).
//!
//! The registered claims (`iss`, `aud`, `azp`, `exp`, `iat`, `nbf`) and the encryption
//! rule are checked by the same code as an ID token's ([`crate::jwt`]); what is particular
//! to a logout token — `typ`, the `events` claim, no `nonce`, `sub` or `sid`, the `jti`
//! replay check — is checked here.

use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{effective_id_token_algs, Endpoints, ProviderMetadata};
use crate::error::Error;
use crate::jose::jwe::DecryptionKey;
use crate::jose::{self, AlgPolicy, Algorithm};
use crate::jwks::JwkSet;
use crate::jwt;
use crate::logout::LogoutError;
use crate::secret::ClientSecret;
use crate::time::UnixTime;
use crate::wire;
use serde_json::Value;
use std::collections::BTreeMap;

/// The `events` member that marks a back-channel logout token (Back-Channel Logout §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

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
    let jws = match jwt::jws_of(compact, v.decryption_key.as_ref())? {
        Ok(jws) => jws,
        Err(jwt::EncryptionViolation::Required) => return Err(LogoutError::EncryptionRequired.into()),
        Err(jwt::EncryptionViolation::NoKey) => return Err(LogoutError::NoDecryptionKey.into()),
    };
    let verified = jose::verify_jws(&jws, keys, &v.policy, v.hmac_secret.as_ref())?;
    if let Some(typ) = &verified.header.typ {
        let t = typ.to_ascii_lowercase();
        let t = t.strip_prefix("application/").unwrap_or(&t);
        if t != "logout+jwt" && t != "jwt" {
            return Err(LogoutError::Type { typ: crate::error::sanitized(typ, 64) }.into());
        }
    }
    let rules = jwt::Rules {
        issuer: &v.issuer,
        client_id: &v.client_id,
        leeway: v.leeway,
        max_iat_age: v.max_age,
        exp_required: false,
    };
    let text =
        String::from_utf8(verified.payload).map_err(|_| Error::malformed("logout token: claims are not UTF-8"))?;
    let not_claims = || Error::from(jose::JoseError::malformed("logout token payload: not a JSON object"));
    let mut iat = 0;
    let claims = Claims::parse_checked(text, not_claims, |view| {
        iat = jwt::check_registered(view, &rules, now.as_secs()).map_err(|e| registered_error(e, v, now))?.iat;
        Ok(())
    })?;

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

/// A registered-claim violation as the logout token's error.
fn registered_error(violation: jwt::Violation, v: &BackchannelLogoutValidator, now: UnixTime) -> Error {
    use jwt::Violation as V;
    match violation {
        V::Missing("iss") => LogoutError::Issuer { expected: v.issuer.clone(), found: String::new() }.into(),
        V::Issuer(found) => LogoutError::Issuer { expected: v.issuer.clone(), found }.into(),
        V::Missing("aud") | V::Audience => LogoutError::Audience.into(),
        V::AuthorizedParty => LogoutError::AuthorizedParty.into(),
        V::Missing("iat") => LogoutError::MissingIssuedAt.into(),
        V::Missing(name) => Error::malformed(format!("logout token: `{name}` is not a number")),
        V::Expired(exp) => LogoutError::Expired { exp }.into(),
        V::IssuedInFuture(iat) => LogoutError::IssuedInFuture { iat, now: now.as_secs() }.into(),
        V::IssuedTooLongAgo(iat) => LogoutError::TooOld { iat, max_age: v.max_age }.into(),
        V::NotYetValid => LogoutError::NotYetValid.into(),
    }
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
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

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

    #[test]
    fn a_plain_logout_token_is_refused_when_the_client_registered_for_encryption() {
        let v = validator().decryption_key(crate::jose::jwe::tests::key(crate::jose::testkeys::P256_PEM));
        let err = validate_logout_token(&logout_jwt(&logout_claims()), &v, &keys(), NOW, None).unwrap_err();
        assert_eq!(err, Error::Logout(LogoutError::EncryptionRequired));
    }

    #[test]
    fn logout_token_not_valid_yet_is_rejected_and_exp_has_the_id_token_boundary() {
        let future = with(|c| drop(c.insert("nbf".into(), json!(NOW.as_secs() + 61))));
        assert_eq!(logout_err(&future), LogoutError::NotYetValid);
        let soon = with(|c| drop(c.insert("nbf".into(), json!(NOW.as_secs() + 60))));
        assert!(check(&soon).is_ok());
        // exp + leeway == now: expired, as for an ID token (one rule for both).
        let leeway = validator().leeway;
        let edge = with(|c| drop(c.insert("exp".into(), json!(NOW.as_secs() - leeway))));
        assert!(matches!(logout_err(&edge), LogoutError::Expired { .. }));
        let inside = with(|c| drop(c.insert("exp".into(), json!(NOW.as_secs() - leeway + 1))));
        assert!(check(&inside).is_ok());
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
        fn parse_backchannel_request_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_backchannel_request(&body);
        }
    }
}
