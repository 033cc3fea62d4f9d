//! DPoP: sender-constrained tokens by proof of possession
//! ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)).
//!
//! A [`DpopKey`] is the client's proof key (ES256 on P-256 by default; any key
//! [`SigningKey`] signs with, except HMAC). For every token request, and every UserInfo or
//! resource request made with a DPoP-bound token, the client sends a `DPoP` header: a JWT
//! signed with that key ([`DpopKey::proof`], §4.2) naming the HTTP method (`htm`), the
//! target URI without query and fragment (`htu`), the time (`iat`), a random `jti`, the
//! server's nonce when it asked for one (§8, §9) and, on resource calls, the hash of the
//! access token (`ath`, §4.2).
//!
//! The server nonce dance: an authorization server answers `400 {"error":"use_dpop_nonce"}`
//! with a `DPoP-Nonce` header ([`token_nonce_challenge`]); a resource server answers `401`
//! with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce` header
//! ([`resource_nonce_challenge`]). The client retries **once** with that nonce. Any
//! response may carry a newer `DPoP-Nonce` ([`dpop_nonce`]); the client remembers the
//! latest per origin ([`DpopNonces`]).
//!
//! ```
//! use rpkit::dpop::DpopKey;
//! use rpkit::rand::SeededRandom;
//! use rpkit::time::UnixTime;
//!
//! let rng = SeededRandom::new(7);
//! let key = DpopKey::generate(&rng)?;
//! assert_eq!(key.algorithm().as_str(), "ES256");
//! assert_eq!(key.thumbprint().len(), 43); // base64url of a SHA-256 digest
//! let proof = key.proof("POST", "https://op.example/token?x=1#f", UnixTime::from_secs(1_700_000_000),
//!     &rng, Some("server-nonce"), None)?;
//! let claims = proof.split('.').nth(1).unwrap();
//! let claims: serde_json::Value =
//!     serde_json::from_slice(&rpkit::jose::b64::decode(claims).unwrap()).unwrap();
//! assert_eq!(claims["htu"], "https://op.example/token"); // no query, no fragment
//! assert_eq!(claims["nonce"], "server-nonce");
//! assert!(!format!("{key:?}").contains("\"d\""));
//! # Ok::<(), rpkit::Error>(())
//! ```
//!
//! # Security
//! The private key never appears in `Debug` or errors. A configured key
//! (`dpop_key`) is preferred over a generated one: a generated key is kept in the client's
//! shared store so that every instance of the app proves with the same key, and lives as
//! long as that store keeps it.

use crate::error::{Endpoint, Error};
use crate::jose::sign::{SigningAlgorithm, SigningKey, SigningKeyError};
use crate::rand::{random_token, SecureRandom};
use crate::secret::{AccessToken, PrivateKeyMaterial};
use crate::time::UnixTime;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// The `typ` of a DPoP proof JWT (RFC 9449 §4.2).
pub const DPOP_JWT_TYPE: &str = "dpop+jwt";
/// The `DPoP` request header carrying the proof (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";
/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";
/// Bytes of randomness in a proof's `jti` (128 bits).
pub const JTI_BYTES: usize = 16;
/// The longest server nonce accepted (longer values are ignored, not echoed).
pub const MAX_NONCE_LEN: usize = 1024;
/// Origins whose nonce a [`DpopNonces`] remembers at most (oldest forgotten first).
pub const MAX_NONCE_ORIGINS: usize = 256;
const MAX_CHALLENGE_LEN: usize = 8 * 1024;

/// What can go wrong with DPoP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The configured key cannot sign DPoP proofs (an HMAC secret, say).
    #[error("unusable DPoP key: {0}")]
    UnsupportedKey(String),
    /// A proof was sent, yet the token endpoint issued a token of another type (a
    /// downgrade to Bearer is refused, RFC 9449 §5).
    #[error("a DPoP proof was sent but the token endpoint issued a `{token_type}` token")]
    NotDpopBound {
        /// The `token_type` as sent (at most 64 characters of it).
        token_type: String,
    },
    /// The server asked for a fresh nonce again after the one retry (RFC 9449 §8, §9).
    #[error("the {endpoint} endpoint asked for a new DPoP nonce again after the retry")]
    NonceRetryExhausted {
        /// Which endpoint.
        endpoint: Endpoint,
    },
    /// A DPoP-bound token can only be presented in the `Authorization` header (§7.1).
    #[error("a DPoP-bound token can only be sent in the Authorization header (RFC 9449 §7.1)")]
    TokenNotInHeader,
    /// The request's target URI cannot be a proof's `htu` (not absolute).
    #[error("the request URI is not an absolute http(s) URI usable as `htu`")]
    InvalidTarget,
    /// The shared store could not keep the generated key.
    #[error("the generated DPoP key could not be kept in the shared store: {0}")]
    Store(String),
}

impl From<DpopError> for Error {
    fn from(e: DpopError) -> Self {
        Error::Dpop(e)
    }
}

/// A DPoP proof key with its public JWK, RFC 7638 thumbprint and the proof header
/// (JSON, base64url) computed once.
///
/// ```
/// use rpkit::dpop::DpopKey;
/// use rpkit::secret::PrivateKeyMaterial;
/// let jwk = r#"{"kty":"EC","crv":"P-256",
///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
///   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
/// let key = DpopKey::from_material(&PrivateKeyMaterial::new(jwk))?;
/// assert_eq!(key.public_jwk()["kty"], "EC");
/// assert!(key.public_jwk().get("d").is_none());
/// # Ok::<(), rpkit::Error>(())
/// ```
pub struct DpopKey {
    key: SigningKey,
    jwk: Value,
    thumbprint: String,
    /// `base64url(header JSON) + "."`, the start of every proof.
    header_prefix: String,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.algorithm().as_str())
            .field("jkt", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// Wraps a parsed signing key (RSA → RS256, P-256 → ES256, Ed25519 → EdDSA).
    ///
    /// # Errors
    /// [`DpopError::UnsupportedKey`] for an HMAC key: a proof must be verifiable with the
    /// public key in its header.
    pub fn from_signing_key(key: SigningKey) -> Result<Self, Error> {
        let full = key
            .public_jwk()
            .ok_or_else(|| DpopError::UnsupportedKey("a symmetric key cannot sign DPoP proofs".to_owned()))?;
        let (jwk, thumbprint) = public_members_and_thumbprint(&full)?;
        let header = serde_json::json!({"typ": DPOP_JWT_TYPE, "alg": key.algorithm().as_str(), "jwk": jwk});
        let mut header_prefix = crate::jose::b64::encode(header.to_string().as_bytes());
        header_prefix.push('.');
        Ok(DpopKey { key, jwk, thumbprint, header_prefix })
    }

    /// Parses configured key material: PEM (PKCS#8, PKCS#1, SEC 1) or a private JWK.
    ///
    /// # Errors
    /// [`Error::Malformed`] saying why (never showing the key); [`DpopError::UnsupportedKey`].
    pub fn from_material(material: &PrivateKeyMaterial) -> Result<Self, Error> {
        Self::from_signing_key(SigningKey::from_material(material)?)
    }

    /// A new ES256 (P-256) key drawn from `rng`.
    ///
    /// # Errors
    /// [`Error::Random`] when the random source failed.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, Error> {
        Self::from_material(&Self::generate_material(rng)?)
    }

    /// A new ES256 (P-256) private key as JWK text, drawn from `rng`: what the client
    /// keeps in its shared store so that every instance uses the same key.
    ///
    /// # Errors
    /// [`Error::Random`] when the random source failed.
    pub fn generate_material(rng: &dyn SecureRandom) -> Result<PrivateKeyMaterial, Error> {
        use openssl::bn::{BigNum, BigNumContext};
        use openssl::ec::{EcGroup, EcPoint, PointConversionForm};
        use openssl::nid::Nid;
        let failed = |_| Error::malformed("DPoP key generation failed");
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(failed)?;
        let mut ctx = BigNumContext::new().map_err(failed)?;
        let mut order = BigNum::new().map_err(failed)?;
        group.order(&mut order, &mut ctx).map_err(failed)?;
        // A scalar outside [1, n-1] comes up with probability ~2^-32; eight draws bound it.
        for _ in 0..8 {
            let mut d = [0u8; 32];
            rng.fill(&mut d)?;
            let scalar = BigNum::from_slice(&d).map_err(failed)?;
            if scalar.num_bits() == 0 || scalar >= order {
                continue;
            }
            let mut point = EcPoint::new(&group).map_err(failed)?;
            point.mul_generator2(&group, &scalar, &mut ctx).map_err(failed)?;
            let public = point.to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx).map_err(failed)?;
            let (x, y) = (public.get(1..33).ok_or(Error::Random)?, public.get(33..65).ok_or(Error::Random)?);
            let jwk = serde_json::json!({
                "kty": "EC", "crv": "P-256",
                "x": crate::jose::b64::encode(x), "y": crate::jose::b64::encode(y),
                "d": crate::jose::b64::encode(&d),
            });
            d.fill(0);
            return Ok(PrivateKeyMaterial::new(jwk.to_string()));
        }
        Err(Error::Random)
    }

    /// The proof algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.key.algorithm()
    }

    /// The public key as put in proof headers: only the RFC 7638 required members.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The JWK SHA-256 thumbprint ([RFC 7638](https://www.rfc-editor.org/rfc/rfc7638)),
    /// base64url: the authorization request's `dpop_jkt` (RFC 9449 §10) and the token's
    /// `cnf.jkt`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A DPoP proof JWT (RFC 9449 §4.2) for a request `htm` `htu` at `now`.
    ///
    /// `htu` loses its query and fragment here (§4.2); `nonce` is the server's latest
    /// `DPoP-Nonce`; `access_token` (resource and UserInfo calls) adds
    /// `ath` = base64url(SHA-256(token)).
    ///
    /// # Errors
    /// [`DpopError::InvalidTarget`] for a relative `htu`; [`Error::Random`];
    /// [`Error::Malformed`] when signing failed.
    pub fn proof(
        &self,
        htm: &str,
        htu: &str,
        now: UnixTime,
        rng: &dyn SecureRandom,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
    ) -> Result<String, Error> {
        let htu = normalize_htu(htu)?;
        let jti = random_token(rng, JTI_BYTES)?;
        let mut claims = String::with_capacity(160);
        claims.push_str("{\"jti\":\"");
        claims.push_str(&jti); // base64url: nothing to escape
        claims.push_str("\",\"htm\":");
        push_json_str(&mut claims, htm);
        claims.push_str(",\"htu\":");
        push_json_str(&mut claims, &htu);
        claims.push_str(",\"iat\":");
        claims.push_str(&now.as_secs().to_string());
        if let Some(nonce) = nonce {
            claims.push_str(",\"nonce\":");
            push_json_str(&mut claims, nonce);
        }
        if let Some(token) = access_token {
            claims.push_str(",\"ath\":\"");
            claims.push_str(&access_token_hash(token));
            claims.push('"');
        }
        claims.push('}');
        let mut out = String::with_capacity(self.header_prefix.len() + claims.len() * 4 / 3 + 100);
        out.push_str(&self.header_prefix);
        out.push_str(&crate::jose::b64::encode(claims.as_bytes()));
        let signature = self.key.sign(out.as_bytes()).map_err(Error::from)?;
        out.push('.');
        out.push_str(&crate::jose::b64::encode(&signature));
        Ok(out)
    }

    /// Adds a `DPoP` header to `request`: a proof for its method and URI.
    ///
    /// # Errors
    /// As [`DpopKey::proof`].
    pub fn add_proof<B>(
        &self,
        request: &mut http::Request<B>,
        now: UnixTime,
        rng: &dyn SecureRandom,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
    ) -> Result<(), Error> {
        let proof = self.proof(request.method().as_str(), &request.uri().to_string(), now, rng, nonce, access_token)?;
        let value = http::HeaderValue::try_from(proof).map_err(|_| Error::malformed("DPoP proof header"))?;
        request.headers_mut().insert(DPOP_HEADER, value);
        Ok(())
    }
}

/// The proof's `signing key` errors read as the other key errors do.
impl From<SigningKeyError> for DpopError {
    fn from(e: SigningKeyError) -> Self {
        DpopError::UnsupportedKey(e.to_string())
    }
}

/// `base64url(SHA-256(access token))`: a proof's `ath` (RFC 9449 §4.2).
pub fn access_token_hash(token: &AccessToken) -> String {
    crate::jose::b64::encode(ring::digest::digest(&ring::digest::SHA256, token.secret().as_bytes()).as_ref())
}

/// `uri` as a proof's `htu`: without query and fragment (RFC 9449 §4.2), normalized as
/// `url` does (lower-case scheme and host, default port dropped).
///
/// # Errors
/// [`DpopError::InvalidTarget`] when `uri` is not an absolute http(s) URI.
pub fn normalize_htu(uri: &str) -> Result<String, Error> {
    let mut url = url::Url::parse(uri).map_err(|_| DpopError::InvalidTarget)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(DpopError::InvalidTarget.into());
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.into())
}

/// The RFC 7638 members of a public JWK and its SHA-256 thumbprint.
fn public_members_and_thumbprint(full: &Value) -> Result<(Value, String), Error> {
    let required: &[&str] = match full.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => return Err(DpopError::UnsupportedKey("key type".to_owned()).into()),
    };
    let mut members = Map::new();
    for name in required {
        let value = full.get(*name).cloned().ok_or_else(|| DpopError::UnsupportedKey(format!("JWK `{name}`")))?;
        members.insert((*name).to_owned(), value);
    }
    // serde_json's map is ordered by key and writes no whitespace: exactly RFC 7638 §3.
    let canonical = Value::Object(members.clone()).to_string();
    let thumbprint =
        crate::jose::b64::encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref());
    Ok((Value::Object(members), thumbprint))
}

fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::String(s.to_owned()).to_string());
    }
}

/// The `DPoP-Nonce` of a response (RFC 9449 §8.1), if it carries a well-formed one
/// (`NQCHAR`s, at most [`MAX_NONCE_LEN`]); junk is ignored.
pub fn dpop_nonce<B>(response: &http::Response<B>) -> Option<String> {
    let value = response.headers().get(DPOP_NONCE_HEADER)?.to_str().ok()?.trim();
    let nqchar = |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
    (!value.is_empty() && value.len() <= MAX_NONCE_LEN && value.bytes().all(nqchar)).then(|| value.to_owned())
}

/// The new nonce when an authorization server's response asks for one (RFC 9449 §8):
/// status 400, a JSON body with `"error": "use_dpop_nonce"`, and a `DPoP-Nonce` header.
pub fn token_nonce_challenge<B: AsRef<[u8]>>(response: &http::Response<B>) -> Option<String> {
    if response.status() != http::StatusCode::BAD_REQUEST {
        return None;
    }
    let body = response.body().as_ref();
    if body.len() > crate::wire::MAX_RESPONSE_BYTES {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    (value.get("error")?.as_str()? == "use_dpop_nonce").then(|| dpop_nonce(response)).flatten()
}

/// The new nonce when a resource server's response asks for one (RFC 9449 §9): status 401,
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"`, and a `DPoP-Nonce` header.
pub fn resource_nonce_challenge<B>(response: &http::Response<B>) -> Option<String> {
    if response.status() != http::StatusCode::UNAUTHORIZED {
        return None;
    }
    let asks = response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| dpop_challenge_error(v).as_deref() == Some("use_dpop_nonce"));
    asks.then(|| dpop_nonce(response)).flatten()
}

/// The `error` auth-param of the `DPoP` challenge in a `WWW-Authenticate` value, if any.
/// Bounded and total: junk gives `None`.
pub fn dpop_challenge_error(header: &str) -> Option<String> {
    if header.len() > MAX_CHALLENGE_LEN {
        return None;
    }
    let bytes = header.as_bytes();
    let mut i = 0;
    let mut scheme_is_dpop = false;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t' || bytes[i] == b',') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b',' | b'=') {
            i += 1;
        }
        let name = &header[start..i];
        let mut j = i;
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'=' && !name.is_empty() {
            j += 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            let mut value = String::new();
            if j < bytes.len() && bytes[j] == b'"' {
                j += 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' && j + 1 < bytes.len() {
                        j += 1;
                    }
                    value.push(bytes[j] as char);
                    j += 1;
                }
                j += 1; // closing quote
            } else {
                let vstart = j;
                while j < bytes.len() && !matches!(bytes[j], b' ' | b'\t' | b',') {
                    j += 1;
                }
                value.push_str(&header[vstart..j]);
            }
            if scheme_is_dpop && name.eq_ignore_ascii_case("error") {
                return Some(value);
            }
            i = j;
        } else if !name.is_empty() {
            // A bare token: a scheme name (or a token68, which is never `DPoP`).
            scheme_is_dpop = name.eq_ignore_ascii_case("dpop");
            i = j.max(i);
        } else {
            i += 1;
        }
    }
    None
}

/// Checks the `token_type` of a token issued in answer to a request that carried a proof
/// (`proof_sent`): it must be `DPoP`, case-insensitively (RFC 9449 §5) — no downgrade to
/// Bearer. Without a proof, any type the token parser accepts is fine.
///
/// # Errors
/// [`DpopError::NotDpopBound`].
pub fn check_token_type(token: &crate::Token, proof_sent: bool) -> Result<(), Error> {
    if proof_sent && !token.token_type.eq_ignore_ascii_case("dpop") {
        return Err(DpopError::NotDpopBound { token_type: crate::error::sanitized(&token.token_type, 64) }.into());
    }
    Ok(())
}

/// The latest `DPoP-Nonce` of each server origin.
///
/// In-process on purpose: a nonce is a hint, and a stale one costs one retry (the server
/// answers `use_dpop_nonce` with a fresh one), so it need not be shared between instances.
/// Bounded at [`MAX_NONCE_ORIGINS`].
///
/// ```
/// use rpkit::dpop::DpopNonces;
/// let nonces = DpopNonces::default();
/// let resp = http::Response::builder().header("DPoP-Nonce", "n-1").body(()).unwrap();
/// nonces.observe("https://op.example/token", &resp);
/// assert_eq!(nonces.get("https://op.example/userinfo").as_deref(), Some("n-1"));
/// assert_eq!(nonces.get("https://api.example/"), None);
/// ```
#[derive(Default)]
pub struct DpopNonces {
    by_origin: Mutex<HashMap<String, (u64, String)>>,
    counter: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.by_origin.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("DpopNonces").field("origins", &n).finish()
    }
}

impl DpopNonces {
    fn origin(uri: &str) -> Option<String> {
        url::Url::parse(uri).ok().map(|u| u.origin().ascii_serialization())
    }

    /// The latest nonce of `uri`'s origin.
    pub fn get(&self, uri: &str) -> Option<String> {
        let origin = Self::origin(uri)?;
        self.by_origin.lock().unwrap_or_else(PoisonError::into_inner).get(&origin).map(|(_, n)| n.clone())
    }

    /// Remembers `nonce` for `uri`'s origin.
    pub fn set(&self, uri: &str, nonce: String) {
        let Some(origin) = Self::origin(uri) else { return };
        let stamp = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.by_origin.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_NONCE_ORIGINS && !map.contains_key(&origin) {
            if let Some(oldest) = map.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(origin, (stamp, nonce));
    }

    /// Remembers the `DPoP-Nonce` of a response from `uri`, if it has one.
    pub fn observe<B>(&self, uri: &str, response: &http::Response<B>) {
        if let Some(nonce) = dpop_nonce(response) {
            self.set(uri, nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededRandom;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn parts(jwt: &str) -> (Value, Value, Vec<u8>) {
        let mut it = jwt.split('.');
        let dec = |s: &str| crate::jose::b64::decode(s).unwrap();
        let h = serde_json::from_slice(&dec(it.next().unwrap())).unwrap();
        let c = serde_json::from_slice(&dec(it.next().unwrap())).unwrap();
        (h, c, dec(it.next().unwrap()))
    }

    fn verify(key: &DpopKey, jwt: &str) {
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let jwk = key.public_jwk();
        let mut point = vec![4u8];
        point.extend(crate::jose::b64::decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(crate::jose::b64::decode(jwk["y"].as_str().unwrap()).unwrap());
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(input.as_bytes(), &crate::jose::b64::decode(sig).unwrap())
            .expect("the proof verifies with the header's key");
    }

    #[test]
    fn proof_has_the_rfc_9449_header_and_claims() {
        let rng = SeededRandom::new(1);
        let key = DpopKey::generate(&rng).unwrap();
        let token = AccessToken::new("at-123");
        let jwt = key.proof("GET", "https://rs.example/api/x?y=1#frag", NOW, &rng, Some("n1"), Some(&token)).unwrap();
        let (header, claims, sig) = parts(&jwt);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(&header["jwk"], key.public_jwk());
        assert!(header["jwk"].get("d").is_none(), "the header holds the public key only");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://rs.example/api/x");
        assert_eq!(claims["iat"], NOW.as_secs());
        assert_eq!(claims["nonce"], "n1");
        // RFC 9449 §4.2: base64url(SHA-256(ASCII(token))).
        let digest = ring::digest::digest(&ring::digest::SHA256, b"at-123");
        assert_eq!(claims["ath"], crate::jose::b64::encode(digest.as_ref()));
        assert!(crate::jose::b64::decode(claims["jti"].as_str().unwrap()).unwrap().len() >= 16);
        assert_eq!(sig.len(), 64);
        verify(&key, &jwt);
    }

    #[test]
    fn proof_without_nonce_or_token_has_neither_claim_and_jti_differs() {
        let rng = SeededRandom::new(2);
        let key = DpopKey::generate(&rng).unwrap();
        let a = parts(&key.proof("POST", "https://op.example/token", NOW, &rng, None, None).unwrap()).1;
        let b = parts(&key.proof("POST", "https://op.example/token", NOW, &rng, None, None).unwrap()).1;
        assert!(a.get("nonce").is_none() && a.get("ath").is_none());
        assert_ne!(a["jti"], b["jti"]);
    }

    #[test]
    fn relative_or_non_http_htu_is_refused() {
        let rng = SeededRandom::new(3);
        let key = DpopKey::generate(&rng).unwrap();
        for bad in ["/token", "", "ftp://op.example/x", "not a uri"] {
            assert_eq!(key.proof("POST", bad, NOW, &rng, None, None), Err(DpopError::InvalidTarget.into()), "{bad}");
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1's RSA example key; its thumbprint is given there.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let full = serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
        let (members, thumbprint) = public_members_and_thumbprint(&full).unwrap();
        assert_eq!(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert!(members.get("kid").is_none());
    }

    #[test]
    fn generated_material_round_trips_and_keys_differ_by_draw() {
        let rng = SeededRandom::new(4);
        let m1 = DpopKey::generate_material(&rng).unwrap();
        let m2 = DpopKey::generate_material(&rng).unwrap();
        let k1 = DpopKey::from_material(&m1).unwrap();
        assert_eq!(k1.thumbprint(), DpopKey::from_material(&m1).unwrap().thumbprint());
        assert_ne!(k1.thumbprint(), DpopKey::from_material(&m2).unwrap().thumbprint());
    }

    #[test]
    fn debug_is_redacted() {
        let rng = SeededRandom::new(5);
        let material = DpopKey::generate_material(&rng).unwrap();
        let d: Value = serde_json::from_str(material.secret()).unwrap();
        let key = DpopKey::from_material(&material).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(d["d"].as_str().unwrap()), "{debug}");
        assert!(debug.contains("ES256"));
    }

    #[test]
    fn hmac_and_junk_keys_are_refused() {
        let hmac = SigningKey::hs256(&crate::secret::ClientSecret::new("x".repeat(40))).unwrap();
        assert!(matches!(DpopKey::from_signing_key(hmac), Err(Error::Dpop(DpopError::UnsupportedKey(_)))));
        assert!(DpopKey::from_material(&PrivateKeyMaterial::new("junk")).is_err());
    }

    #[test]
    fn rsa_and_ed25519_keys_sign_proofs_with_their_algorithm() {
        let rng = SeededRandom::new(6);
        for (pem, alg) in [(crate::jose::sign::tests::RSA_PKCS8, "RS256"), (crate::jose::sign::tests::ED_JWK, "EdDSA")]
        {
            let key = DpopKey::from_material(&PrivateKeyMaterial::new(pem)).unwrap();
            let (header, _, _) = parts(&key.proof("POST", "https://op.example/t", NOW, &rng, None, None).unwrap());
            assert_eq!(header["alg"], alg);
            assert!(header["jwk"].get("d").is_none());
        }
    }

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn token_endpoint_nonce_challenge_needs_400_the_error_and_the_header() {
        let ok = resp(400, &[("DPoP-Nonce", "abc")], r#"{"error":"use_dpop_nonce"}"#);
        assert_eq!(token_nonce_challenge(&ok).as_deref(), Some("abc"));
        assert_eq!(token_nonce_challenge(&resp(400, &[], r#"{"error":"use_dpop_nonce"}"#)), None);
        assert_eq!(token_nonce_challenge(&resp(400, &[("DPoP-Nonce", "abc")], r#"{"error":"invalid_grant"}"#)), None);
        assert_eq!(token_nonce_challenge(&resp(200, &[("DPoP-Nonce", "abc")], r#"{"error":"use_dpop_nonce"}"#)), None);
        assert_eq!(token_nonce_challenge(&resp(400, &[("DPoP-Nonce", "abc")], "junk{")), None);
    }

    #[test]
    fn resource_nonce_challenge_reads_the_dpop_scheme_only() {
        let ok = resp(
            401,
            &[("WWW-Authenticate", r#"DPoP error="use_dpop_nonce", error_description="x""#), ("DPoP-Nonce", "n")],
            "",
        );
        assert_eq!(resource_nonce_challenge(&ok).as_deref(), Some("n"));
        let bearer = resp(401, &[("WWW-Authenticate", r#"Bearer error="use_dpop_nonce""#), ("DPoP-Nonce", "n")], "");
        assert_eq!(resource_nonce_challenge(&bearer), None);
        let both = resp(
            401,
            &[
                ("WWW-Authenticate", r#"Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce""#),
                ("DPoP-Nonce", "n"),
            ],
            "",
        );
        assert_eq!(resource_nonce_challenge(&both).as_deref(), Some("n"));
        let other = resp(401, &[("WWW-Authenticate", r#"DPoP error="invalid_token""#), ("DPoP-Nonce", "n")], "");
        assert_eq!(resource_nonce_challenge(&other), None);
    }

    #[test]
    fn junk_headers_never_panic() {
        for junk in
            ["", "=", "DPoP", "DPoP error", "DPoP error=", "DPoP error=\"", "DPoP error=\"\\", ",,,", "é DPoP error=é"]
        {
            let _ = dpop_challenge_error(junk);
        }
        assert_eq!(dpop_challenge_error(&"DPoP ".repeat(5000)), None);
        for bad in ["has space", "quo\"te", "back\\slash", &"n".repeat(MAX_NONCE_LEN + 1)] {
            assert_eq!(dpop_nonce(&resp(400, &[("DPoP-Nonce", bad)], "")), None, "{bad}");
        }
    }

    #[test]
    fn token_type_must_be_dpop_when_a_proof_was_sent() {
        let token = |t: &str| -> crate::Token {
            serde_json::from_value(serde_json::json!({"access_token": "a", "token_type": t})).unwrap()
        };
        assert!(check_token_type(&token("DPoP"), true).is_ok());
        assert!(check_token_type(&token("dpop"), true).is_ok());
        assert!(matches!(check_token_type(&token("Bearer"), true), Err(Error::Dpop(DpopError::NotDpopBound { .. }))));
        assert!(check_token_type(&token("Bearer"), false).is_ok());
    }

    fn dpop_token(t: &str) -> crate::Token {
        serde_json::from_value(serde_json::json!({"access_token": "at-1", "token_type": t})).unwrap()
    }

    #[test]
    fn token_response_to_a_proof_must_be_dpop_and_without_one_must_be_bearer() {
        use crate::token::{parse_token_response, parse_token_response_dpop, Grant};
        let body = |t: &str| {
            http::Response::builder()
                .header("content-type", "application/json")
                .body(format!(r#"{{"access_token":"at","token_type":"{t}"}}"#))
                .unwrap()
        };
        let g = Grant::ClientCredentials;
        assert!(parse_token_response_dpop(&body("DPoP"), NOW, g, true).unwrap().is_dpop());
        assert!(parse_token_response_dpop(&body("dpop"), NOW, g, true).is_ok());
        assert!(matches!(
            parse_token_response_dpop(&body("Bearer"), NOW, g, true),
            Err(Error::Dpop(DpopError::NotDpopBound { .. }))
        ));
        assert!(matches!(
            parse_token_response(&body("DPoP"), NOW, g),
            Err(Error::Token(crate::token::TokenError::UnsupportedTokenType { .. }))
        ));
        assert!(parse_token_response_dpop(&body("Bearer"), NOW, g, false).unwrap().is_bearer());
    }

    #[test]
    fn dpop_tokens_use_the_dpop_scheme_and_never_the_body() {
        let config = crate::ClientConfig::new("c").api_base_url("https://api.example/");
        let req = crate::resource::get(&config, "me").build(Some(&dpop_token("DPoP"))).unwrap();
        assert_eq!(req.headers()["authorization"], "DPoP at-1");
        let mut body_config = config.clone();
        body_config.client_kwargs.token_placement = crate::config::TokenPlacement::Body;
        let err = crate::resource::post(&body_config, "x").build(Some(&dpop_token("DPoP"))).unwrap_err();
        assert_eq!(err, Error::Dpop(DpopError::TokenNotInHeader));
        let userinfo = crate::userinfo::userinfo_request("https://op.example/ui", &dpop_token("DPoP"), true).unwrap();
        assert_eq!(userinfo.method(), http::Method::GET);
        assert_eq!(userinfo.headers()["authorization"], "DPoP at-1");
        assert!(userinfo.body().is_empty(), "the DPoP token never goes in the body");
    }

    #[test]
    fn add_proof_names_the_request_method_and_uri() {
        let rng = SeededRandom::new(8);
        let key = DpopKey::generate(&rng).unwrap();
        let mut req = http::Request::post("https://op.example/token?x=1").body(Vec::<u8>::new()).unwrap();
        key.add_proof(&mut req, NOW, &rng, None, None).unwrap();
        let (_, claims, _) = parts(req.headers()[DPOP_HEADER].to_str().unwrap());
        assert_eq!((claims["htm"].as_str(), claims["htu"].as_str()), (Some("POST"), Some("https://op.example/token")));
    }

    #[test]
    fn a_retried_token_request_carries_a_fresh_client_assertion_and_no_proof() {
        use crate::config::TokenEndpointAuthMethod;
        let rng = SeededRandom::new(9);
        let config = crate::ClientConfig::new("c")
            .client_id("client")
            .issuer("https://op.example")
            .access_token_url("https://op.example/token")
            .private_key(crate::jose::sign::tests::EC_PKCS8)
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt);
        let mut first = crate::token::client_credentials_request(&config, None, Some("a"), &rng, NOW).unwrap();
        DpopKey::generate(&rng).unwrap().add_proof(&mut first, NOW, &rng, None, None).unwrap();
        let retry = crate::token::retry_request(&first, &config, None, &rng, NOW).unwrap();
        let form = |r: &http::Request<Vec<u8>>| -> Vec<(String, String)> {
            url::form_urlencoded::parse(r.body()).into_owned().collect()
        };
        let get = |f: &[(String, String)], k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (a, b) = (form(&first), form(&retry));
        assert_ne!(get(&a, "client_assertion"), get(&b, "client_assertion"));
        assert_eq!(get(&a, "scope"), get(&b, "scope"));
        assert_eq!(get(&b, "grant_type").as_deref(), Some("client_credentials"));
        assert!(retry.headers().get(DPOP_HEADER).is_none());
        assert_eq!(retry.uri(), first.uri());

        let basic = crate::ClientConfig::new("c")
            .client_id("client")
            .client_secret("s")
            .access_token_url("https://op.example/token");
        let plain = crate::token::client_credentials_request(&basic, None, None, &rng, NOW).unwrap();
        let again = crate::token::retry_request(&plain, &basic, None, &rng, NOW).unwrap();
        assert_eq!(again.body(), plain.body());
        assert_eq!(again.headers()["authorization"], plain.headers()["authorization"]);
    }

    #[test]
    fn config_keys_turn_dpop_on_and_take_a_key() {
        let material = DpopKey::generate_material(&SeededRandom::new(10)).unwrap();
        let jwk: Value = serde_json::from_str(material.secret()).unwrap();
        let cfg = crate::ClientConfig::from_value(
            "c",
            &serde_json::json!({"client_kwargs": {"dpop": true}, "dpop_key": jwk}),
        )
        .unwrap();
        assert!(cfg.client_kwargs.dpop);
        let key = cfg.parsed_dpop_key().unwrap().unwrap();
        assert_eq!(key.thumbprint(), DpopKey::from_material(&material).unwrap().thumbprint());
        assert!(!format!("{cfg:?}").contains(jwk["d"].as_str().unwrap()));
        let bad = crate::ClientConfig::from_value("c", &serde_json::json!({"dpop_key": "junk"})).unwrap();
        let err = bad.parsed_dpop_key().unwrap_err();
        assert!(err.to_string().contains("dpop_key"), "{err}");
        assert!(crate::ClientConfig::from_value("c", &serde_json::json!({"client_kwargs": {"dpop": "yes"}})).is_err());
        assert!(crate::ClientConfig::from_value("c", &serde_json::json!({"client_kwargs": {"dpopp": true}})).is_err());
        assert!(!crate::ClientConfig::new("c").client_kwargs.dpop, "off by default");
    }

    #[test]
    fn nonces_are_kept_per_origin_and_bounded() {
        let nonces = DpopNonces::default();
        nonces.set("https://a.example/x", "1".into());
        nonces.set("https://a.example/y", "2".into());
        assert_eq!(nonces.get("https://a.example/").as_deref(), Some("2"));
        for i in 0..MAX_NONCE_ORIGINS + 10 {
            nonces.set(&format!("https://h{i}.example/"), i.to_string());
        }
        assert_eq!(nonces.by_origin.lock().unwrap().len(), MAX_NONCE_ORIGINS);
        assert_eq!(nonces.get("not a url"), None);
    }
}
