//! ID token validation: all of [OIDC Core §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation),
//! plus `at_hash` ([§3.1.3.6](https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken)),
//! `c_hash` ([§3.3.2.11](https://openid.net/specs/openid-connect-core-1_0.html#HybridIDToken))
//! and refreshed ID tokens ([§12.2](https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse)).
//!
//! An [`IdTokenValidator`] is plain data built from the client configuration (and the
//! provider metadata) plus what the flow remembered (nonce, `max_age`, access token,
//! code). [`IdTokenValidator::validate`] takes the compact token, the provider's
//! [`JwkSet`] and `now`, and returns the claims or a typed error. When the error says the
//! key is unknown ([`should_refetch_jwks`]), fetch the JWK Set once (rate-limited by
//! [`JwksCache`](crate::jwks::JwksCache)) and validate again.

use crate::claims::{Claim, Claims, ClaimsView};
use crate::config::{ClientConfig, DEFAULT_LEEWAY};
use crate::discovery::ProviderMetadata;
use crate::error::Error;
use crate::jose::crypto::{default_provider, Algorithm};
use crate::jose::jwe::DecryptionKey;
use crate::jose::{b64, is_jwe, jws, AlgPolicy, JoseError};
use crate::jwks::JwkSet;
use crate::secret::{constant_time_eq, AccessToken, AuthorizationCode, ClientSecret, Nonce};
use crate::time::UnixTime;
use std::fmt;

/// The default oldest acceptable `iat`, in seconds before now.
pub const DEFAULT_MAX_IAT_AGE: u64 = 600;

/// Why an ID token was rejected.
///
/// Key-selection and format problems come as [`Error::Jose`] instead (notably
/// [`JoseError::UnknownKid`], after which the JWK Set may be fetched again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The signature does not verify.
    #[error("the ID token signature does not verify")]
    Signature,
    /// The `alg` is `none`, unknown, or not in the allow-list.
    #[error("the ID token algorithm `{alg}` is not allowed")]
    Algorithm {
        /// The algorithm of the token (truncated).
        alg: String,
    },
    /// `iss` is not the expected issuer.
    #[error("the ID token issuer `{found}` is not the expected `{expected}`")]
    Issuer {
        /// The configured (or discovered) issuer.
        expected: String,
        /// The token's `iss` (truncated).
        found: String,
    },
    /// `aud` does not contain the client id (or is not a string or array of strings).
    #[error("the ID token audience does not include this client")]
    Audience,
    /// `azp` is not the client id, or is missing while there are several audiences.
    #[error("the ID token authorized party (`azp`) is missing or not this client")]
    AuthorizedParty,
    /// `exp` has passed (beyond the leeway).
    #[error("the ID token has expired")]
    Expired,
    /// `iat` is in the future (beyond the leeway).
    #[error("the ID token was issued in the future")]
    IssuedInFuture,
    /// `iat` is older than the maximum age.
    #[error("the ID token was issued too long ago")]
    IssuedTooLongAgo,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the ID token is not valid yet")]
    NotYetValid,
    /// A required claim is missing (or has the wrong type).
    #[error("the ID token has no valid `{name}` claim")]
    MissingClaim {
        /// The claim name.
        name: &'static str,
    },
    /// `nonce` is not the one sent in the authorization request.
    #[error("the ID token nonce does not match the request")]
    Nonce,
    /// `at_hash` does not match the access token.
    #[error("the ID token `at_hash` does not match the access token")]
    AtHash,
    /// `c_hash` does not match the authorization code.
    #[error("the ID token `c_hash` does not match the authorization code")]
    CHash,
    /// `auth_time` is older than `max_age` allows (or in the future).
    #[error("the end-user authenticated too long ago for the requested `max_age`")]
    AuthTime,
    /// The JWT is another kind of token (`typ` `logout+jwt`, `at+jwt` or `secevent+jwt`, or an
    /// `events` claim), not an ID token.
    #[error("the JWT is not an ID token")]
    NotAnIdToken,
    /// A decryption key is configured, so the ID token must be encrypted, and it is not.
    #[error("the ID token must be encrypted and is not")]
    EncryptionRequired,
    /// The ID token is encrypted (JWE) but no decryption key is configured.
    #[error("the ID token is encrypted and no decryption key is configured")]
    UnexpectedEncryption,
    /// The request asked for `acr` as an essential claim with given values (the `claims`
    /// request parameter, OIDC Core §5.5.1.1) and the ID token's `acr` is absent or none
    /// of them.
    #[error("the ID token's `acr` is not one of the essential values requested")]
    Acr,
    /// A refresh returned an ID token but the token being refreshed holds no validated
    /// claims to compare it with (OIDC Core §12.2 needs the original's `iss`, `sub`,
    /// `aud`): it is refused rather than trusted as a fresh login.
    #[error("the refresh returned an ID token, but the original ID token's claims are not known")]
    RefreshWithoutOriginal,
    /// A refreshed ID token differs from the original in a claim that must stay the same.
    #[error("the refreshed ID token's `{claim}` differs from the original")]
    RefreshMismatch {
        /// The claim name.
        claim: &'static str,
    },
}

/// Whether a validation error means the JWK Set may be stale: an unknown `kid`, or no key
/// for the token's algorithm. Fetch the set once (rate-limited), then validate again.
/// A bad signature never qualifies.
pub fn should_refetch_jwks(err: &Error) -> bool {
    matches!(err, Error::Jose(e) if e.is_unknown_key())
}

/// A value compared later, never printed (the authorization code for `c_hash`).
#[derive(Clone, PartialEq, Eq)]
struct Hidden(String);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The checks an ID token must pass, as plain data.
///
/// ```
/// use rpkit::config::ClientConfig;
/// use rpkit::id_token::IdTokenValidator;
/// use rpkit::jose::Algorithm;
///
/// let cfg = ClientConfig::new("corp")
///     .client_id("my-app")
///     .issuer("https://op.example")
///     .scope("openid email");
/// let v = IdTokenValidator::from_config(&cfg, None)
///     .unwrap()
///     .nonce("n-0S6_WzA2Mj")
///     .max_age(3600);
/// assert_eq!(v.issuer(), "https://op.example");
/// assert!(v.allowed_algorithms().allows(Algorithm::Rs256));
/// assert!(!v.allowed_algorithms().allows(Algorithm::Hs256));
/// // Then, per token: `v.validate(&id_token, &jwks, now)?` returns the claims.
/// ```
#[derive(Debug, Clone)]
pub struct IdTokenValidator {
    issuer: String,
    client_id: String,
    algs: AlgPolicy,
    hmac_secret: Option<ClientSecret>,
    nonce: Option<Nonce>,
    max_age: Option<u64>,
    essential_acr: Option<Vec<String>>,
    leeway: u64,
    max_iat_age: u64,
    access_token: Option<AccessToken>,
    code: Option<Hidden>,
    require_at_hash: bool,
    require_c_hash: bool,
    decryption_key: Option<DecryptionKey>,
}

impl IdTokenValidator {
    /// A validator for tokens from `issuer` to `client_id`: `RS256` only, 60 s leeway,
    /// `iat` at most 600 s old, no nonce.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        IdTokenValidator {
            issuer: issuer.into(),
            client_id: client_id.into(),
            algs: AlgPolicy::default(),
            hmac_secret: None,
            nonce: None,
            max_age: None,
            essential_acr: None,
            leeway: DEFAULT_LEEWAY,
            max_iat_age: DEFAULT_MAX_IAT_AGE,
            access_token: None,
            code: None,
            require_at_hash: false,
            require_c_hash: false,
            decryption_key: None,
        }
    }

    /// A validator from the client configuration and, when discovered, the metadata.
    ///
    /// - issuer: the configured `issuer` (or the one implied by `server_metadata_url`),
    ///   else the metadata's;
    /// - algorithms: the client's `id_token_signing_alg_values_supported` if set (the
    ///   only way to allow `HS*`, keyed by `client_secret`), else the metadata's list ∩
    ///   what rpkit implements, without `HS*`; else `RS256`. Never `none`;
    /// - leeway: `client_kwargs.leeway` (default 60 s); oldest `iat`:
    ///   `client_kwargs.id_token_max_age` (default 600 s);
    /// - `decryption_key`: when set, only encrypted ID tokens are accepted.
    ///
    /// # Errors
    /// [`Error::Config`] when `client_id` or the issuer is unknown; [`Error::Jose`] when
    /// the decryption key is unusable.
    pub fn from_config(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> Result<Self, Error> {
        let client_id = config.client_id.clone().ok_or_else(|| config.missing("client_id"))?;
        let issuer = config
            .expected_issuer()
            .or_else(|| metadata.map(|m| m.issuer.clone()).filter(|i| !i.is_empty()))
            .ok_or_else(|| config.missing("issuer"))?;
        let mut v = IdTokenValidator::new(issuer, client_id);
        if let Some(list) = &config.id_token_signing_alg_values_supported {
            v.algs = AlgPolicy::new(list);
            if v.algs.algorithms().any(Algorithm::is_hmac) {
                v.hmac_secret = config.client_secret.clone();
            }
        } else if let Some(list) = metadata.and_then(|m| m.id_token_signing_alg_values_supported.as_ref()) {
            v.algs = AlgPolicy::new(list).without_hmac();
        }
        v.leeway = config.leeway();
        v.max_iat_age = config.client_kwargs.id_token_max_age.unwrap_or(DEFAULT_MAX_IAT_AGE);
        v.decryption_key = config.parsed_decryption_key()?;
        Ok(v)
    }

    /// Expects this `nonce` (the one sent in the authorization request): the claim must
    /// be present and equal.
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<Nonce>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The `max_age` sent in the request: `auth_time` becomes required and must be
    /// within it.
    #[must_use]
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// The `acr` values the request asked for as an essential claim: the ID token's
    /// `acr` must be one of them ([`IdTokenError::Acr`]).
    #[must_use]
    pub fn essential_acr(mut self, values: Vec<String>) -> Self {
        self.essential_acr = Some(values);
        self
    }

    /// Clock leeway in seconds for `exp`, `iat`, `nbf` and `auth_time`.
    #[must_use]
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// The oldest acceptable `iat`, in seconds before now.
    #[must_use]
    pub fn max_iat_age(mut self, seconds: u64) -> Self {
        self.max_iat_age = seconds;
        self
    }

    /// The access token issued with the ID token: `at_hash`, when present, must match.
    #[must_use]
    pub fn access_token(mut self, token: &AccessToken) -> Self {
        self.access_token = Some(token.clone());
        self
    }

    /// The authorization code issued with the ID token (hybrid flow): `c_hash`, when
    /// present, must match.
    #[must_use]
    pub fn code(mut self, code: &AuthorizationCode) -> Self {
        self.code = Some(Hidden(code.secret().to_owned()));
        self
    }

    /// Requires `at_hash` (ID tokens issued with an access token from the authorization
    /// endpoint, OIDC Core §3.2.2.10).
    #[must_use]
    pub fn require_at_hash(mut self, required: bool) -> Self {
        self.require_at_hash = required;
        self
    }

    /// Requires `c_hash` (hybrid flow ID tokens from the authorization endpoint,
    /// OIDC Core §3.3.2.11).
    #[must_use]
    pub fn require_c_hash(mut self, required: bool) -> Self {
        self.require_c_hash = required;
        self
    }

    /// Replaces the algorithm allow-list. `HS*` also needs [`IdTokenValidator::hmac_secret`].
    #[must_use]
    pub fn algorithms(mut self, policy: AlgPolicy) -> Self {
        self.algs = policy;
        self
    }

    /// The client secret that keys `HS*` (OIDC Core §10.1).
    #[must_use]
    pub fn hmac_secret(mut self, secret: ClientSecret) -> Self {
        self.hmac_secret = Some(secret);
        self
    }

    /// The key that decrypts encrypted ID tokens; once set, unencrypted ones are rejected.
    #[must_use]
    pub fn decryption_key(mut self, key: DecryptionKey) -> Self {
        self.decryption_key = Some(key);
        self
    }

    /// The expected issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id (the expected audience).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The allowed algorithms.
    pub fn allowed_algorithms(&self) -> AlgPolicy {
        self.algs
    }

    /// Validates an ID token and returns its claims.
    ///
    /// In order: encryption (a JWE when a decryption key is configured, else a JWS); the
    /// header (`alg` in the allow-list, never `none`; `typ` of a logout token, JWT access
    /// token or security event rejected); the
    /// signature (key by `kid` from `keys`, `HS*` by the client secret); then `events`
    /// (rejected), `iss`, `aud`, `azp`, `exp`, `iat`, `nbf`, `sub`, `nonce`, `at_hash`,
    /// `c_hash`, `auth_time`.
    ///
    /// # Errors
    /// [`Error::IdToken`] with the failed check; [`Error::Jose`] for a malformed token or
    /// a key problem — [`JoseError::UnknownKid`] (see [`should_refetch_jwks`]),
    /// [`JoseError::AmbiguousKey`], [`JoseError::KeyTypeMismatch`],
    /// [`JoseError::Decryption`].
    pub fn validate(&self, compact: &str, keys: &JwkSet, now: UnixTime) -> Result<Claims, Error> {
        self.validate_inner(compact, keys, now, Mode::Fresh)
    }

    /// Validates an ID token from a refresh response against the original one
    /// (OIDC Core §12.2): all the checks of [`IdTokenValidator::validate`] except nonce,
    /// `max_age` and `c_hash`, then `iss`, `sub`, `aud` and `azp` must equal the
    /// original's, `auth_time` (if the original had one) must be unchanged, and the nonce
    /// must be absent or unchanged.
    ///
    /// # Errors
    /// As [`IdTokenValidator::validate`], plus [`IdTokenError::RefreshMismatch`].
    pub fn validate_refreshed(
        &self,
        original: &Claims,
        compact: &str,
        keys: &JwkSet,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        let claims = self.validate_inner(compact, keys, now, Mode::Refresh)?;
        let mismatch = |claim| Error::IdToken(IdTokenError::RefreshMismatch { claim });
        for name in ["iss", "sub", "azp"] {
            if claims.get(name) != original.get(name) {
                return Err(mismatch(name));
            }
        }
        fn sorted(c: &Claims) -> Vec<&str> {
            let mut a = c.audiences().unwrap_or_default();
            a.sort_unstable();
            a
        }
        if sorted(&claims) != sorted(original) {
            return Err(mismatch("aud"));
        }
        if original.get("auth_time").is_some()
            && claims.get("auth_time").is_some_and(|t| Some(t) != original.get("auth_time"))
        {
            return Err(mismatch("auth_time"));
        }
        if let Some(nonce) = claims.get("nonce") {
            if original.get("nonce") != Some(nonce) {
                return Err(mismatch("nonce"));
            }
        }
        Ok(claims)
    }

    fn validate_inner(&self, compact: &str, keys: &JwkSet, now: UnixTime, mode: Mode) -> Result<Claims, Error> {
        let jws_text = match crate::jwt::jws_of(compact, self.decryption_key.as_ref())? {
            Ok(jws) => jws,
            Err(crate::jwt::EncryptionViolation::Required) => return Err(IdTokenError::EncryptionRequired.into()),
            // Reported below, only once the token fails to parse as a JWS (a JWE never does),
            // so that the common case pays for no five-part scan.
            Err(crate::jwt::EncryptionViolation::NoKey) => std::borrow::Cow::Borrowed(compact),
        };
        // A JWE never parses as a JWS, so without a decryption key the (full) scan for its
        // five parts is only needed when the parse fails.
        let parsed = jws::parse(&jws_text).map_err(|e| match self.decryption_key {
            None if is_jwe(compact) => IdTokenError::UnexpectedEncryption.into(),
            _ => id_token_error(e),
        })?;
        let alg = parsed.header.alg;
        if parsed.header.typ.as_deref().is_some_and(is_other_jwt_type) {
            return Err(IdTokenError::NotAnIdToken.into());
        }
        let payload = jws::verify_parsed(default_provider(), &parsed, keys, &self.algs, self.hmac_secret.as_ref())
            .map_err(id_token_error)?;
        let not_claims = || Error::from(JoseError::malformed("ID token payload: not a JSON object"));
        // One UTF-8 check, then `from_str`: faster than `from_slice` checking each string.
        let text = String::from_utf8(payload).map_err(|_| not_claims())?;
        // The registered claims are checked from a borrowed view; the full map is built
        // only if the caller asks for it.
        Claims::parse_checked(text, not_claims, |view| Ok(self.check_claims(view, alg, now, mode)?))
    }

    fn check_claims(
        &self,
        claims: &ClaimsView<'_>,
        alg: Algorithm,
        now: UnixTime,
        mode: Mode,
    ) -> Result<(), IdTokenError> {
        use IdTokenError as E;
        let missing = |name| E::MissingClaim { name };
        let now = now.as_secs();
        let leeway = self.leeway;

        if !claims.get(Claim::Events).is_absent() {
            return Err(E::NotAnIdToken);
        }

        let rules = crate::jwt::Rules {
            issuer: &self.issuer,
            client_id: &self.client_id,
            leeway,
            max_iat_age: self.max_iat_age,
            exp_required: true,
        };
        crate::jwt::check_registered(claims, &rules, now).map_err(|v| {
            use crate::jwt::Violation as V;
            match v {
                V::Missing(name) => missing(name),
                V::Issuer(found) => E::Issuer { expected: self.issuer.clone(), found },
                V::Audience => E::Audience,
                V::AuthorizedParty => E::AuthorizedParty,
                V::Expired(_) => E::Expired,
                V::IssuedInFuture(_) => E::IssuedInFuture,
                V::IssuedTooLongAgo(_) => E::IssuedTooLongAgo,
                V::NotYetValid => E::NotYetValid,
            }
        })?;

        match claims.get(Claim::Sub).as_str() {
            Some(sub) if !sub.is_empty() => {}
            _ => return Err(missing("sub")),
        }

        if mode == Mode::Fresh {
            if let Some(expected) = &self.nonce {
                let found = claims.get(Claim::Nonce).as_str().ok_or(missing("nonce"))?;
                if !expected.ct_eq(found) {
                    return Err(E::Nonce);
                }
            }
        }

        check_hash(
            claims,
            Claim::AtHash,
            self.access_token.as_ref().map(AccessToken::secret),
            self.require_at_hash,
            alg,
        )
        .map_err(|e| e.unwrap_or(E::AtHash))?;
        if mode == Mode::Fresh {
            check_hash(claims, Claim::CHash, self.code.as_ref().map(|c| c.0.as_str()), self.require_c_hash, alg)
                .map_err(|e| e.unwrap_or(E::CHash))?;
        }

        if let (Some(max_age), Mode::Fresh) = (self.max_age, mode) {
            let auth_time = claims.get(Claim::AuthTime).as_time().ok_or(missing("auth_time"))?;
            if auth_time.saturating_add(max_age).saturating_add(leeway) < now || auth_time > now.saturating_add(leeway)
            {
                return Err(E::AuthTime);
            }
        }
        if let (Some(values), Mode::Fresh) = (&self.essential_acr, mode) {
            let acr = claims.get(Claim::Acr).as_str().ok_or(E::Acr)?;
            if !values.iter().any(|v| v == acr) {
                return Err(E::Acr);
            }
        }
        Ok(())
    }
}

/// Whether a `typ` names another kind of JWT: a logout token (OIDC Back-Channel Logout
/// §2.4), a JWT access token (RFC 9068 §2.1) or a security event token (RFC 8417 §2.3).
/// Media types may carry the `application/` prefix (RFC 7515 §4.1.9).
fn is_other_jwt_type(typ: &str) -> bool {
    let t = typ.get(..12).filter(|p| p.eq_ignore_ascii_case("application/")).map_or(typ, |_| &typ[12..]);
    ["logout+jwt", "at+jwt", "secevent+jwt"].iter().any(|other| t.eq_ignore_ascii_case(other))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fresh,
    Refresh,
}

/// Checks an `at_hash`/`c_hash` claim: `Err(Some(..))` for a missing required claim,
/// `Err(None)` for a mismatch.
fn check_hash(
    claims: &ClaimsView<'_>,
    name: Claim,
    value: Option<&str>,
    required: bool,
    alg: Algorithm,
) -> Result<(), Option<IdTokenError>> {
    let claim = claims.get(name);
    if claim.is_absent() {
        return if required { Err(Some(IdTokenError::MissingClaim { name: name.as_str() })) } else { Ok(()) };
    }
    let Some(value) = value else {
        // Nothing to compare with (the caller did not pass the token or code).
        return Ok(());
    };
    let claim = claim.as_str().and_then(b64::decode).ok_or(None)?;
    let digest = alg.hash().digest(value.as_bytes());
    let half = digest.as_ref().get(..digest.as_ref().len() / 2).ok_or(None)?;
    if constant_time_eq(half, &claim) {
        Ok(())
    } else {
        Err(None)
    }
}

/// Maps JOSE verification errors to the ID token variants a program expects, keeping key
/// selection and format errors as JOSE errors.
fn id_token_error(err: JoseError) -> Error {
    match err {
        JoseError::BadSignature => IdTokenError::Signature.into(),
        JoseError::AlgNone => IdTokenError::Algorithm { alg: "none".into() }.into(),
        JoseError::AlgorithmNotAllowed { alg } | JoseError::UnsupportedAlgorithm { alg } => {
            IdTokenError::Algorithm { alg }.into()
        }
        other => other.into(),
    }
}

/// The `at_hash` / `c_hash` value of `value` for a token signed with `alg`: base64url of
/// the left half of its hash ([OIDC Core §3.1.3.6](https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken)).
///
/// ```
/// use rpkit::id_token::left_half_hash;
/// use rpkit::jose::Algorithm;
/// // The `c_hash` example of OIDC Core appendix A.4.
/// let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
/// assert_eq!(left_half_hash(Algorithm::Rs256, code), "LDktKdoQak3Pk0cnXxCltA");
/// ```
pub fn left_half_hash(alg: Algorithm, value: &str) -> String {
    let digest = alg.hash().digest(value.as_bytes());
    let bytes = digest.as_ref();
    b64::encode(bytes.get(..bytes.len() / 2).unwrap_or(bytes))
}

#[cfg(test)]
mod tests;
