//! JWS compact serialization: parse, select the key, verify.
//!
//! [RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1) (compact form),
//! [§5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2) (validation),
//! [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725) (JWT best current practices:
//! algorithm allow-lists, no `none`, keys bound to algorithms).

use super::crypto::{default_provider, Algorithm, CryptoProvider};
use super::{truncated, JoseError};
use crate::claims::Claims;
use crate::error::Error;
use crate::jwks::JwkSet;
use crate::secret::ClientSecret;
use serde::Deserialize;
use std::borrow::Cow;

/// The largest JWS compact serialization accepted, in bytes.
pub const MAX_JWS_BYTES: usize = 256 * 1024;
/// The largest encoded JOSE header accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// An allow-list of JWS algorithms.
///
/// The default allows `RS256` only (OIDC Core §15.1). `none` can never be allowed, and
/// names rpkit does not implement are dropped.
///
/// ```
/// use rpkit::jose::{AlgPolicy, Algorithm};
/// let p = AlgPolicy::new(["RS256", "ES256", "none", "XX999"]);
/// assert!(p.allows(Algorithm::Es256));
/// assert!(!p.allows(Algorithm::Hs256));
/// assert_eq!(p.algorithms().count(), 2);
/// assert!(AlgPolicy::default().allows(Algorithm::Rs256));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlgPolicy {
    bits: u16,
}

impl Default for AlgPolicy {
    fn default() -> Self {
        AlgPolicy::from_algorithms([Algorithm::Rs256])
    }
}

impl std::fmt::Debug for AlgPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.algorithms().map(Algorithm::name)).finish()
    }
}

impl AlgPolicy {
    /// A policy allowing the named algorithms (unknown names and `none` are dropped).
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        AlgPolicy::from_algorithms(names.into_iter().filter_map(|n| Algorithm::from_name(n.as_ref())))
    }

    /// A policy allowing exactly these algorithms.
    pub fn from_algorithms<I: IntoIterator<Item = Algorithm>>(algs: I) -> Self {
        AlgPolicy { bits: algs.into_iter().fold(0, |bits, a| bits | a.bit()) }
    }

    /// Every public-key algorithm rpkit implements (no `HS*`).
    pub fn public_key_algorithms() -> Self {
        AlgPolicy::from_algorithms(Algorithm::ALL.into_iter().filter(|a| !a.is_hmac()))
    }

    /// A policy that allows nothing.
    pub const fn empty() -> Self {
        AlgPolicy { bits: 0 }
    }

    /// Whether `alg` is allowed.
    pub const fn allows(&self, alg: Algorithm) -> bool {
        self.bits & alg.bit() != 0
    }

    /// Whether nothing is allowed.
    pub const fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        Algorithm::ALL.into_iter().filter(|a| self.allows(*a))
    }

    /// The algorithms both policies allow.
    #[must_use]
    pub const fn intersect(self, other: AlgPolicy) -> Self {
        AlgPolicy { bits: self.bits & other.bits }
    }

    /// This policy without the `HS*` algorithms.
    #[must_use]
    pub fn without_hmac(self) -> Self {
        self.intersect(AlgPolicy::public_key_algorithms())
    }
}

/// The JOSE header members rpkit reads ([RFC 7515 §4.1](https://www.rfc-editor.org/rfc/rfc7515#section-4.1)).
///
/// `jwk`, `jku`, `x5u`, `x5c` are ignored: keys only ever come from the provider's JWK
/// Set (or the client secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    /// `alg`.
    pub alg: Algorithm,
    /// `kid`.
    pub kid: Option<String>,
    /// `typ` (e.g. `JWT`, `logout+jwt`).
    pub typ: Option<String>,
    /// `cty` (`JWT` for a nested token).
    pub cty: Option<String>,
}

/// A JWS whose signature verified: its header and its payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedJws {
    /// The protected header.
    pub header: JwsHeader,
    /// The payload, base64url-decoded.
    pub payload: Vec<u8>,
}

impl VerifiedJws {
    /// The payload as a JSON object of claims.
    ///
    /// # Errors
    /// [`JoseError::Malformed`] when the payload is not a JSON object.
    pub fn claims(&self) -> Result<Claims, Error> {
        serde_json::from_slice(&self.payload).map_err(|_| JoseError::malformed("JWS payload: not a JSON object").into())
    }
}

/// A member that only needs to be noticed (`crit`): any value marks it present.
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Present(true))
    }
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cty: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Present,
}

impl<'a> RawHeader<'a> {
    /// The header through the fast walk ([`crate::jsonscan`]); `None` when `serde_json`
    /// must decide (the walk is not sure, a member has a type the derive would refuse, or a
    /// member is repeated, which the derive refuses too).
    fn walk(text: &'a str) -> Option<Self> {
        use crate::jsonscan::{walk_object, Value};
        let mut header = RawHeader { alg: None, kid: None, typ: None, cty: None, crit: Present(false) };
        let mut seen = [false; 5];
        walk_object(text, |name, value| {
            let (index, slot) = match name {
                "alg" => (0, &mut header.alg),
                "kid" => (1, &mut header.kid),
                "typ" => (2, &mut header.typ),
                "cty" => (3, &mut header.cty),
                "crit" => {
                    header.crit = Present(true);
                    (4, &mut None)
                }
                _ => return Some(()),
            };
            if std::mem::replace(&mut seen[index], true) {
                return None;
            }
            match value {
                _ if index == 4 => {}
                Value::Str(s) => *slot = Some(Cow::Borrowed(s)),
                Value::Null => {}
                _ => return None,
            }
            Some(())
        })?;
        Some(header)
    }
}

/// A JWS split and its header decoded, signature not yet checked.
pub(crate) struct ParsedJws<'a> {
    pub(crate) header: JwsHeader,
    pub(crate) signing_input: &'a [u8],
    pub(crate) payload_b64: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// Marks a byte outside the base64url alphabet in the [`DECODE`] tables (above the 24
/// bits that four characters carry).
const NOT_B64: u32 = 1 << 24;

/// One table per position of a character in a group of four: the character's 6 bits
/// already shifted into place, so a group decodes with four loads and three ORs.
const fn decode_table(shift: u32) -> [u32; 256] {
    let mut t = [NOT_B64; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    t
}

static DECODE: [[u32; 256]; 4] = [decode_table(18), decode_table(12), decode_table(6), decode_table(0)];

/// The 24 bits of a group of four characters, with [`NOT_B64`] set if any is not base64url.
#[inline(always)]
fn group(src: &[u8; 4]) -> u32 {
    DECODE[0][usize::from(src[0])]
        | DECODE[1][usize::from(src[1])]
        | DECODE[2][usize::from(src[2])]
        | DECODE[3][usize::from(src[3])]
}

/// base64url decoding for public JWS parts (header, payload, signature).
///
/// Same acceptance as [`crate::jose::b64::decode`] (optional `=` padding, canonical trailing bits),
/// but table-driven rather than constant-time: nothing here is secret, and this is the
/// hot path of every ID token validation (a 2048-bit RSA token has ~1 KB of base64url).
/// Eight characters become six bytes per step; an invalid character is noticed once, at
/// the end, which is fine for public data. A property test pins it to
/// [`crate::jose::b64::decode`].
pub(crate) fn decode_public(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.strip_suffix("==").or_else(|| text.strip_suffix('=')).unwrap_or(text);
    let bytes = trimmed.as_bytes();
    let tail_len = match bytes.len() % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        _ => return None,
    };
    let groups = bytes.len() / 4;
    let mut out = vec![0u8; groups * 3 + tail_len];
    let (body, rest) = bytes.split_at(groups * 4);
    let (out_body, out_tail) = out.split_at_mut(groups * 3);

    let mut flags = 0u32;
    let mut src8 = body.chunks_exact(8);
    let mut dst6 = out_body.chunks_exact_mut(6);
    for (src, dst) in (&mut src8).zip(&mut dst6) {
        let (Ok(hi), Ok(lo)) = (<&[u8; 4]>::try_from(&src[..4]), <&[u8; 4]>::try_from(&src[4..])) else {
            return None;
        };
        let (hi, lo) = (group(hi), group(lo));
        flags |= hi | lo;
        // The flag bit of `hi` lands above the 48 bits written.
        let both = (u64::from(hi) << 24) | u64::from(lo);
        dst.copy_from_slice(&both.to_be_bytes()[2..]);
    }
    // At most one group of four is left over.
    if let (Ok(src), dst) = (<&[u8; 4]>::try_from(src8.remainder()), dst6.into_remainder()) {
        let bits = group(src);
        flags |= bits;
        dst.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    if flags & NOT_B64 != 0 {
        return None;
    }
    if !rest.is_empty() {
        let mut acc = 0u32;
        for &c in rest {
            let v = DECODE[3][usize::from(c)];
            if v & NOT_B64 != 0 {
                return None;
            }
            acc = (acc << 6) | v;
        }
        // 2 chars carry 12 bits for 1 byte, 3 chars 18 bits for 2 bytes; the spare low
        // bits must be zero (canonical encoding).
        let spare = if rest.len() == 2 { 4 } else { 2 };
        if acc & ((1 << spare) - 1) != 0 {
            return None;
        }
        let value = (acc >> spare).to_be_bytes();
        out_tail.copy_from_slice(&value[4 - tail_len..]);
    }
    Some(out)
}

fn malformed(what: &str) -> JoseError {
    JoseError::malformed(format!("JWS: {what}"))
}

fn parse_header(encoded: &str) -> Result<JwsHeader, JoseError> {
    if encoded.len() > MAX_HEADER_BYTES {
        return Err(malformed("header too large"));
    }
    let bytes = decode_public(encoded).ok_or_else(|| malformed("header is not base64url"))?;
    // A derived struct would also accept a JSON array; the header must be an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(malformed("header is not a JSON object"));
    }
    let raw = match std::str::from_utf8(&bytes).ok().and_then(RawHeader::walk) {
        Some(raw) => raw,
        None => serde_json::from_slice(&bytes).map_err(|_| malformed("header is not valid JSON"))?,
    };
    let alg = raw.alg.ok_or_else(|| malformed("header has no `alg`"))?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(JoseError::AlgNone);
    }
    if raw.crit.0 {
        // rpkit implements no JWS extension, so any `crit` names one it does not understand.
        return Err(JoseError::CritUnsupported);
    }
    let alg = Algorithm::from_name(&alg).ok_or_else(|| JoseError::UnsupportedAlgorithm { alg: truncated(&alg, 32) })?;
    Ok(JwsHeader {
        alg,
        kid: raw.kid.map(Cow::into_owned),
        typ: raw.typ.map(Cow::into_owned),
        cty: raw.cty.map(Cow::into_owned),
    })
}

/// Splits a compact JWS and decodes its header and signature.
pub(crate) fn parse(compact: &str) -> Result<ParsedJws<'_>, JoseError> {
    if compact.len() > MAX_JWS_BYTES {
        return Err(malformed("larger than the size limit"));
    }
    let mut parts = compact.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(if super::is_jwe(compact) {
            malformed("a JWE was given where a JWS is expected")
        } else {
            malformed("not three dot-separated parts")
        });
    };
    let header = parse_header(h)?;
    let signature = decode_public(s).ok_or_else(|| malformed("signature is not base64url"))?;
    let signing_input = compact.as_bytes().get(..h.len() + 1 + p.len()).ok_or_else(|| malformed("truncated"))?;
    Ok(ParsedJws { header, signing_input, payload_b64: p, signature })
}

/// Decodes the header of a compact JWS **without verifying anything** (to look at `kid`
/// or `typ` before choosing what to do).
///
/// # Errors
/// As the header checks of [`verify_jws`].
pub fn peek_header(compact: &str) -> Result<JwsHeader, Error> {
    Ok(parse(compact)?.header)
}

/// Verifies a parsed JWS with a provider, returning the decoded payload.
pub(crate) fn verify_parsed(
    provider: &dyn CryptoProvider,
    parsed: &ParsedJws<'_>,
    keys: &JwkSet,
    policy: &AlgPolicy,
    hmac_secret: Option<&ClientSecret>,
) -> Result<Vec<u8>, JoseError> {
    let alg = parsed.header.alg;
    if !policy.allows(alg) {
        return Err(JoseError::AlgorithmNotAllowed { alg: alg.name().to_owned() });
    }
    if alg.is_hmac() {
        // HS* is keyed by the client secret only, never by a (public) JWK.
        let secret = hmac_secret.ok_or_else(|| JoseError::NoKey { alg: alg.name().to_owned() })?;
        provider.verify_hmac(alg, secret.secret().as_bytes(), parsed.signing_input, &parsed.signature)?;
    } else {
        let key = keys.select(parsed.header.kid.as_deref(), alg)?;
        provider.verify(alg, key.public_key(), parsed.signing_input, &parsed.signature)?;
    }
    decode_public(parsed.payload_b64).ok_or_else(|| malformed("payload is not base64url"))
}

/// Verifies a JWS compact serialization and returns its header and payload.
///
/// Checks, in order: size, exactly three parts, the header (a JSON object with a string
/// `alg`; `alg: none` rejected; any `crit` rejected; optional string `kid`, `typ`,
/// `cty`), the algorithm against `policy`, the key (for `HS*` the client secret, never a
/// JWK; otherwise selected from `keys` by `kid`, see [`JwkSet::select`]), the signature.
/// Header `jwk`/`jku`/`x5u`/`x5c` are ignored.
///
/// # Errors
/// [`Error::Jose`] with [`JoseError::Malformed`], [`JoseError::AlgNone`],
/// [`JoseError::CritUnsupported`], [`JoseError::UnsupportedAlgorithm`],
/// [`JoseError::AlgorithmNotAllowed`], [`JoseError::UnknownKid`] (fetch the JWKS again,
/// rate-limited), [`JoseError::NoKey`], [`JoseError::AmbiguousKey`],
/// [`JoseError::KeyTypeMismatch`] or [`JoseError::BadSignature`].
///
/// # Security
/// The result is only as good as `keys`: they must come from the provider's `jwks_uri`
/// over TLS. A [`JoseError::BadSignature`] must never trigger a refetch.
///
/// ```
/// use rpkit::jose::{verify_jws, AlgPolicy, JoseError};
/// use rpkit::jwks::JwkSet;
/// use rpkit::Error;
/// let keys = JwkSet::parse(br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#).unwrap();
/// // {"alg":"none"} is never accepted, whatever the policy.
/// let err = verify_jws("eyJhbGciOiJub25lIn0.e30.", &keys, &AlgPolicy::new(["EdDSA"]), None).unwrap_err();
/// assert_eq!(err, Error::Jose(JoseError::AlgNone));
/// ```
pub fn verify_jws(
    compact: &str,
    keys: &JwkSet,
    policy: &AlgPolicy,
    hmac_secret: Option<&ClientSecret>,
) -> Result<VerifiedJws, Error> {
    let parsed = parse(compact)?;
    let payload = verify_parsed(default_provider(), &parsed, keys, policy, hmac_secret)?;
    Ok(VerifiedJws { header: parsed.header, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64;
    use crate::jose::testkeys::Signer;
    use proptest::prelude::*;
    use serde_json::json;

    fn policy_all() -> AlgPolicy {
        AlgPolicy::from_algorithms(Algorithm::ALL)
    }

    fn jose_err(r: Result<VerifiedJws, Error>) -> JoseError {
        match r {
            Err(Error::Jose(e)) => e,
            other => panic!("expected a JOSE error, got {other:?}"),
        }
    }

    #[test]
    fn every_public_key_algorithm_verifies() {
        let signers = [
            Signer::rsa(1, Algorithm::Rs256),
            Signer::rsa(1, Algorithm::Rs384),
            Signer::rsa(1, Algorithm::Rs512),
            Signer::rsa(2, Algorithm::Ps256),
            Signer::rsa(2, Algorithm::Ps384),
            Signer::rsa(2, Algorithm::Ps512),
            Signer::es256(),
            Signer::es384(),
            Signer::es512(),
            Signer::ed25519(1),
        ];
        for s in &signers {
            let token = s.sign(&json!({"sub": "x"}));
            let v = verify_jws(&token, &s.jwks(), &policy_all(), None).unwrap_or_else(|e| panic!("{}: {e}", s.alg));
            assert_eq!(v.header.alg, s.alg);
            assert_eq!(v.claims().unwrap().sub(), Some("x"));
        }
    }

    #[test]
    fn a_tampered_payload_is_a_bad_signature() {
        for s in [Signer::rsa(1, Algorithm::Rs256), Signer::es256(), Signer::es512(), Signer::ed25519(2)] {
            let token = s.sign(&json!({"sub": "alice"}));
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = b64::encode(br#"{"sub":"mallory"}"#);
            parts[1] = &forged;
            let err = jose_err(verify_jws(&parts.join("."), &s.jwks(), &policy_all(), None));
            assert_eq!(err, JoseError::BadSignature, "{}", s.alg);
        }
    }

    #[test]
    fn a_signature_by_another_key_is_a_bad_signature() {
        let signer = Signer::rsa(2, Algorithm::Rs256).with_kid(Some("rsa1"));
        let token = signer.sign(&json!({}));
        let keys = Signer::rsa(1, Algorithm::Rs256).jwks();
        assert_eq!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::BadSignature);
    }

    #[test]
    fn alg_none_is_always_rejected() {
        let keys = Signer::ed25519(1).jwks();
        for alg in ["none", "None", "NONE"] {
            let h = b64::encode(json!({"alg": alg}).to_string().as_bytes());
            let token = format!("{h}.{}.", b64::encode(b"{}"));
            assert_eq!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::AlgNone);
        }
    }

    #[test]
    fn an_algorithm_outside_the_policy_is_rejected() {
        let s = Signer::es256();
        let token = s.sign(&json!({}));
        let err = jose_err(verify_jws(&token, &s.jwks(), &AlgPolicy::default(), None));
        assert_eq!(err, JoseError::AlgorithmNotAllowed { alg: "ES256".into() });
    }

    #[test]
    fn unknown_algorithms_are_unsupported() {
        let s = Signer::ed25519(1);
        let token = s.sign_with_header(&json!({"alg": "ES256K"}), b"{}");
        assert!(matches!(
            jose_err(verify_jws(&token, &s.jwks(), &policy_all(), None)),
            JoseError::UnsupportedAlgorithm { .. }
        ));
    }

    #[test]
    fn crit_is_rejected() {
        let s = Signer::ed25519(1);
        for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!(null), json!("x")] {
            let token = s.sign_with_header(&json!({"alg": "EdDSA", "crit": crit}), b"{}");
            assert_eq!(jose_err(verify_jws(&token, &s.jwks(), &policy_all(), None)), JoseError::CritUnsupported);
        }
    }

    #[test]
    fn an_unknown_kid_is_a_distinct_error() {
        let s = Signer::ed25519(1).with_kid(Some("rotated"));
        let token = s.sign(&json!({}));
        let keys = Signer::ed25519(1).jwks();
        let err = jose_err(verify_jws(&token, &keys, &policy_all(), None));
        assert_eq!(err, JoseError::UnknownKid { kid: "rotated".into() });
        assert!(err.is_unknown_key());
    }

    #[test]
    fn header_keys_are_never_used_for_verification() {
        // The attacker signs with its own key and embeds it; the provider's set lacks it.
        let attacker = Signer::ed25519(9).with_kid(None);
        let header = json!({"alg": "EdDSA", "jwk": attacker.jwk_json(), "jku": "https://evil.example/jwks",
            "x5u": "https://evil.example/cert", "x5c": ["AAAA"]});
        let token = attacker.sign_with_header(&header, b"{}");
        let keys = Signer::ed25519(1).jwks();
        assert_eq!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::BadSignature);
    }

    #[test]
    fn hmac_uses_the_client_secret_only() {
        let s = Signer::hmac(Algorithm::Hs256, "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t");
        let token = s.sign(&json!({"sub": "h"}));
        let secret = ClientSecret::new("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t");
        let keys = Signer::ed25519(1).jwks();
        assert!(verify_jws(&token, &keys, &policy_all(), Some(&secret)).is_ok());
        let wrong = ClientSecret::new("another");
        assert_eq!(jose_err(verify_jws(&token, &keys, &policy_all(), Some(&wrong))), JoseError::BadSignature);
        assert!(matches!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::NoKey { .. }));
    }

    #[test]
    fn a_public_key_is_never_an_hmac_secret() {
        // Classic confusion: HS256 "signed" with the RSA public key's bytes as the secret.
        let rsa = Signer::rsa(1, Algorithm::Rs256);
        let public_n = rsa.jwk_json()["n"].as_str().unwrap().to_owned();
        let forged = Signer::hmac(Algorithm::Hs256, &public_n).with_kid(Some("rsa1")).sign(&json!({}));
        let err = jose_err(verify_jws(&forged, &rsa.jwks(), &policy_all(), None));
        assert!(matches!(err, JoseError::NoKey { .. }));
    }

    #[test]
    fn key_type_must_fit_the_algorithm() {
        // A P-256 key with kid "p256" and a token claiming ES384 with that kid.
        let s = Signer::es256();
        let token = Signer::es384().with_kid(Some("p256")).sign(&json!({}));
        assert!(matches!(
            jose_err(verify_jws(&token, &s.jwks(), &policy_all(), None)),
            JoseError::KeyTypeMismatch { .. }
        ));
        let relabeled = Signer::es256().with_alg(Algorithm::Es512).sign(&json!({}));
        assert!(matches!(
            jose_err(verify_jws(&relabeled, &s.jwks(), &policy_all(), None)),
            JoseError::KeyTypeMismatch { .. }
        ));
        let rsa_token = Signer::rsa(1, Algorithm::Rs256).with_kid(Some("p256")).sign(&json!({}));
        assert!(matches!(
            jose_err(verify_jws(&rsa_token, &s.jwks(), &policy_all(), None)),
            JoseError::KeyTypeMismatch { .. }
        ));
    }

    #[test]
    fn without_kid_several_keys_are_ambiguous() {
        let a = Signer::rsa(1, Algorithm::Rs256);
        let b = Signer::rsa(2, Algorithm::Rs256);
        let keys = JwkSet::from_keys(vec![a.jwk(), b.jwk()]);
        let token = a.with_kid(None).sign(&json!({}));
        assert_eq!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::AmbiguousKey);
        let one = JwkSet::from_keys(vec![Signer::rsa(1, Algorithm::Rs256).jwk()]);
        assert!(verify_jws(&token, &one, &policy_all(), None).is_ok());
    }

    #[test]
    fn shapes_other_than_three_parts_are_malformed() {
        let keys = Signer::ed25519(1).jwks();
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "e30.e30"] {
            assert!(
                matches!(jose_err(verify_jws(bad, &keys, &policy_all(), None)), JoseError::Malformed { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn headers_that_are_not_objects_or_lack_alg_are_malformed() {
        let keys = Signer::ed25519(1).jwks();
        for header in
            [json!(["EdDSA"]), json!("EdDSA"), json!({}), json!({"alg": 5}), json!({"alg": "EdDSA", "kid": 1})]
        {
            let token = format!("{}.e30.AAAA", b64::encode(header.to_string().as_bytes()));
            assert!(
                matches!(jose_err(verify_jws(&token, &keys, &policy_all(), None)), JoseError::Malformed { .. }),
                "{header}"
            );
        }
        let not_b64 = "!!!.e30.AAAA";
        assert!(matches!(jose_err(verify_jws(not_b64, &keys, &policy_all(), None)), JoseError::Malformed { .. }));
    }

    #[test]
    fn oversized_tokens_are_malformed() {
        let big = format!("{}.{}.AAAA", b64::encode(br#"{"alg":"EdDSA"}"#), "A".repeat(MAX_JWS_BYTES));
        let keys = Signer::ed25519(1).jwks();
        assert!(matches!(jose_err(verify_jws(&big, &keys, &policy_all(), None)), JoseError::Malformed { .. }));
    }

    #[test]
    fn header_members_are_returned() {
        let s = Signer::ed25519(1);
        let token = s.sign_with_header(&json!({"alg": "EdDSA", "kid": "ed1", "typ": "logout+jwt", "cty": "x"}), b"{}");
        let v = verify_jws(&token, &s.jwks(), &policy_all(), None).unwrap();
        assert_eq!(
            v.header,
            JwsHeader {
                alg: Algorithm::EdDsa,
                kid: Some("ed1".into()),
                typ: Some("logout+jwt".into()),
                cty: Some("x".into())
            }
        );
        assert_eq!(peek_header(&token).unwrap(), v.header);
    }

    #[test]
    fn policies_drop_none_and_unknown_names() {
        let p = AlgPolicy::new(["none", "RS256", "HS256", "bogus"]);
        assert_eq!(p.algorithms().collect::<Vec<_>>(), [Algorithm::Rs256, Algorithm::Hs256]);
        assert_eq!(p.without_hmac().algorithms().collect::<Vec<_>>(), [Algorithm::Rs256]);
        assert!(AlgPolicy::empty().is_empty());
        assert_eq!(format!("{:?}", AlgPolicy::default()), r#"{"RS256"}"#);
    }

    #[test]
    fn the_walked_header_is_the_derived_one() {
        fn fields(h: &RawHeader<'_>) -> [Option<String>; 5] {
            let own = |c: &Option<Cow<'_, str>>| c.as_deref().map(str::to_owned);
            [own(&h.alg), own(&h.kid), own(&h.typ), own(&h.cty), h.crit.0.then(String::new)]
        }
        for text in [
            r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
            r#"{"alg":"ES256","cty":"JWT","x":[1,{"y":null}],"crit":null}"#,
            r#"{"alg":"ES256","typ":null,"crit":["exp"]}"#,
            "{}",
        ] {
            let walked = RawHeader::walk(text).unwrap_or_else(|| panic!("{text}"));
            let derived: RawHeader<'_> = serde_json::from_str(text).unwrap();
            assert_eq!(fields(&walked), fields(&derived), "{text}");
        }
        // Left to the derive, which decides (and refuses the first three).
        for text in [r#"{"alg":"RS256","alg":"none"}"#, r#"{"alg":5}"#, r#"{"kid":["a"]}"#, r#"{"kid":"\u0041"}"#] {
            assert!(RawHeader::walk(text).is_none(), "{text}");
        }
        assert!(serde_json::from_str::<RawHeader<'_>>(r#"{"alg":"RS256","alg":"none"}"#).is_err());
    }

    #[test]
    fn public_decoding_agrees_with_b64_on_edge_cases() {
        for text in
            ["", "Zg", "Zg=", "Zg==", "Zm8", "Zm8=", "Zm9v", "Zh", "Zm9", "a", "Zg===", "+/+/", "Z g", "_-_-", "AA"]
        {
            assert_eq!(decode_public(text), b64::decode(text), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn public_decoding_agrees_with_b64(text in "[A-Za-z0-9_=+/ -]{0,64}") {
            prop_assert_eq!(decode_public(&text), b64::decode(&text));
        }

        #[test]
        fn public_decoding_agrees_with_b64_on_one_bad_character(
            data in proptest::collection::vec(any::<u8>(), 0..100),
            at in any::<proptest::sample::Index>(),
            c in prop_oneof![Just('+'), Just('/'), Just('='), Just(' '), Just('.'), Just('\u{e9}'), Just('\0'), any::<char>()],
        ) {
            let mut text: Vec<char> = b64::encode(&data).chars().collect();
            if !text.is_empty() {
                let i = at.index(text.len());
                text[i] = c;
            }
            let text: String = text.into_iter().collect();
            prop_assert_eq!(decode_public(&text), b64::decode(&text));
        }

        #[test]
        fn public_decoding_agrees_with_b64_on_any_text(text in "\\PC{0,80}") {
            prop_assert_eq!(decode_public(&text), b64::decode(&text));
        }

        #[test]
        fn the_walked_header_agrees_with_the_derive(text in r#"\{ ?("(alg|kid|typ|cty|crit|x)" ?: ?("[A-Z0-9a-z\\]{0,4}"|null|1|-1|true|\[\]|\{\}|\["a"\]),?){0,5}\}"#) {
            let derived = serde_json::from_str::<RawHeader<'_>>(&text);
            if let Some(walked) = RawHeader::walk(&text) {
                prop_assert!(derived.is_ok(), "walked what the derive refuses: {}", text);
                if let Ok(d) = derived {
                    prop_assert_eq!((walked.alg, walked.kid, walked.typ, walked.cty, walked.crit.0), (d.alg, d.kid, d.typ, d.cty, d.crit.0));
                }
            }
        }

        #[test]
        fn public_decoding_round_trips(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(decode_public(&b64::encode(&data)), Some(data));
        }

        #[test]
        fn jws_parsing_never_panics(s in "\\PC{0,300}") {
            let keys = Signer::ed25519(1).jwks();
            let _ = verify_jws(&s, &keys, &AlgPolicy::from_algorithms(Algorithm::ALL), None);
        }

        #[test]
        fn jws_with_random_parts_never_panics(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,80}", sig in "[A-Za-z0-9_=-]{0,90}") {
            let keys = Signer::ed25519(1).jwks();
            let _ = verify_jws(&format!("{h}.{p}.{sig}"), &keys, &AlgPolicy::from_algorithms(Algorithm::ALL), None);
        }

        #[test]
        fn jws_with_random_json_headers_never_panics(alg in "(EdDSA|RS256|HS256|ES512|none|)", kid in "\\PC{0,10}", extra in "\\PC{0,40}") {
            let header = json!({"alg": alg, "kid": kid, "x": extra});
            let token = format!("{}.e30.AAAA", b64::encode(header.to_string().as_bytes()));
            let keys = Signer::ed25519(1).jwks();
            let _ = verify_jws(&token, &keys, &AlgPolicy::from_algorithms(Algorithm::ALL), Some(&ClientSecret::new("k")));
        }
    }
}
