//! JWS algorithms and the crypto provider that verifies their signatures.
//!
//! [RFC 7518 §3](https://www.rfc-editor.org/rfc/rfc7518#section-3) (RS*, PS*, ES*, HS*),
//! [RFC 8037 §3.1](https://www.rfc-editor.org/rfc/rfc8037#section-3.1) (EdDSA with Ed25519).
//!
//! As in rustls, the cryptography sits behind a small trait, [`CryptoProvider`]. The
//! default provider is `ring`; the cargo feature `aws-lc-rs` switches
//! [`default_provider`] to `aws-lc-rs`. `ring` has no P-521, so without that feature
//! `ES512` is verified with OpenSSL (already linked for JWE). A verification allocates
//! nothing (except `ES512` on the OpenSSL path).

use super::JoseError;
use std::fmt;

/// A JWS signature algorithm rpkit implements ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1)).
///
/// `none` is not an algorithm here: an unsecured JWS is always rejected.
///
/// ```
/// use rpkit::jose::Algorithm;
/// assert_eq!(Algorithm::from_name("ES256"), Some(Algorithm::Es256));
/// assert_eq!(Algorithm::Es256.name(), "ES256");
/// assert_eq!(Algorithm::from_name("none"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    Ps512,
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// ECDSA with P-384 and SHA-384.
    Es384,
    /// ECDSA with P-521 and SHA-512.
    Es512,
    /// EdDSA with Ed25519 (RFC 8037).
    EdDsa,
    /// HMAC with SHA-256, keyed by the client secret.
    Hs256,
    /// HMAC with SHA-384, keyed by the client secret.
    Hs384,
    /// HMAC with SHA-512, keyed by the client secret.
    Hs512,
}

/// The hash an algorithm uses, for `at_hash`/`c_hash` ([OIDC Core §3.1.3.6](https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowTokenValidation)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The digest of `data`, returned in a fixed buffer with its length.
    pub(crate) fn digest(self, data: &[u8]) -> ring::digest::Digest {
        let alg = match self {
            HashAlg::Sha256 => &ring::digest::SHA256,
            HashAlg::Sha384 => &ring::digest::SHA384,
            HashAlg::Sha512 => &ring::digest::SHA512,
        };
        ring::digest::digest(alg, data)
    }
}

impl Algorithm {
    /// Every algorithm rpkit implements.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::EdDsa,
        Algorithm::Hs256,
        Algorithm::Hs384,
        Algorithm::Hs512,
    ];

    /// Parses a registered `alg` name (case-sensitive, as RFC 7515 says).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Algorithm::Rs256,
            "RS384" => Algorithm::Rs384,
            "RS512" => Algorithm::Rs512,
            "PS256" => Algorithm::Ps256,
            "PS384" => Algorithm::Ps384,
            "PS512" => Algorithm::Ps512,
            "ES256" => Algorithm::Es256,
            "ES384" => Algorithm::Es384,
            "ES512" => Algorithm::Es512,
            "EdDSA" => Algorithm::EdDsa,
            "HS256" => Algorithm::Hs256,
            "HS384" => Algorithm::Hs384,
            "HS512" => Algorithm::Hs512,
            _ => return None,
        })
    }

    /// The registered `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Hs256 => "HS256",
            Algorithm::Hs384 => "HS384",
            Algorithm::Hs512 => "HS512",
        }
    }

    /// Whether this is an HMAC algorithm (keyed by a shared secret, never by a JWK).
    pub const fn is_hmac(self) -> bool {
        matches!(self, Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512)
    }

    /// The hash for `at_hash`/`c_hash`: the algorithm's own hash; SHA-512 for EdDSA with
    /// Ed25519.
    pub const fn hash(self) -> HashAlg {
        match self {
            Algorithm::Rs256 | Algorithm::Ps256 | Algorithm::Es256 | Algorithm::Hs256 => HashAlg::Sha256,
            Algorithm::Rs384 | Algorithm::Ps384 | Algorithm::Es384 | Algorithm::Hs384 => HashAlg::Sha384,
            Algorithm::Rs512 | Algorithm::Ps512 | Algorithm::Es512 | Algorithm::Hs512 | Algorithm::EdDsa => {
                HashAlg::Sha512
            }
        }
    }

    /// The kind of public key that verifies this algorithm (`None` for HMAC).
    pub const fn key_kind(self) -> Option<KeyKind> {
        match self {
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => Some(KeyKind::Rsa),
            Algorithm::Es256 => Some(KeyKind::Ec(Curve::P256)),
            Algorithm::Es384 => Some(KeyKind::Ec(Curve::P384)),
            Algorithm::Es512 => Some(KeyKind::Ec(Curve::P521)),
            Algorithm::EdDsa => Some(KeyKind::Ed25519),
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => None,
        }
    }

    pub(crate) const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A NIST curve for ECDSA ([RFC 7518 §6.2.1.1](https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl Curve {
    /// The length of one coordinate (and of `r`, `s`) in bytes.
    pub const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The JWK `crv` name.
    pub const fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }
}

/// The kind of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA (RS*, PS*).
    Rsa,
    /// ECDSA on a curve (ES*).
    Ec(Curve),
    /// Ed25519 (EdDSA).
    Ed25519,
}

/// The smallest RSA modulus rpkit verifies with, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus rpkit verifies with, in bits.
pub const MAX_RSA_BITS: usize = 8192;

/// A public key, decoded and checked once, ready to verify signatures.
///
/// Built from a JWK by [`Jwk`](super::jwk::Jwk); what it holds is plain bytes in the
/// form the providers take directly (RSA `n`/`e` without leading zeros, an uncompressed EC
/// point `04‖x‖y`, a raw Ed25519 key), so a verification never re-parses the JWK.
#[derive(Clone)]
pub struct PublicKey {
    inner: KeyInner,
    /// The key as aws-lc-rs parses it, per algorithm, built on first use: an aws-lc-rs
    /// verification then skips building the key (for RSA, its Montgomery constants) each time.
    #[cfg(feature = "aws-lc-rs")]
    aws_lc: aws_lc::ParsedKeys,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for PublicKey {}

impl From<KeyInner> for PublicKey {
    fn from(inner: KeyInner) -> Self {
        PublicKey {
            inner,
            #[cfg(feature = "aws-lc-rs")]
            aws_lc: aws_lc::ParsedKeys::default(),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum KeyInner {
    Rsa { n: Box<[u8]>, e: Box<[u8]> },
    Ec { curve: Curve, point: Box<[u8]> },
    Ed25519([u8; 32]),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            KeyInner::Rsa { n, .. } => write!(f, "PublicKey(RSA-{})", n.len() * 8),
            KeyInner::Ec { curve, .. } => write!(f, "PublicKey(EC {})", curve.name()),
            KeyInner::Ed25519(_) => f.write_str("PublicKey(Ed25519)"),
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent.
    ///
    /// # Errors
    /// [`JoseError::UnusableKey`] when the modulus is outside 2048–8192 bits or the
    /// exponent is not an odd number ≥ 3 of at most 33 bits.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, JoseError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(JoseError::UnusableKey { what: format!("RSA modulus of {bits} bits (2048–8192 required)") });
        }
        let e_ok = !e.is_empty()
            && e.len() <= 5
            && e.last().is_some_and(|b| b & 1 == 1)
            && (e.len() > 1 || e.first().is_some_and(|b| *b >= 3));
        if !e_ok {
            return Err(JoseError::UnusableKey { what: "RSA exponent out of range".into() });
        }
        Ok(KeyInner::Rsa { n: n.into(), e: e.into() }.into())
    }

    /// An EC key from its affine coordinates, each exactly the curve's coordinate length.
    ///
    /// # Errors
    /// [`JoseError::UnusableKey`] for a coordinate of the wrong length. (Whether the point
    /// is on the curve is checked by the provider at verification.)
    pub fn ec(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, JoseError> {
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(JoseError::UnusableKey { what: format!("{} coordinates must be {len} bytes", curve.name()) });
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(KeyInner::Ec { curve, point: point.into() }.into())
    }

    /// An Ed25519 key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`JoseError::UnusableKey`] when `x` is not 32 bytes.
    pub fn ed25519(x: &[u8]) -> Result<Self, JoseError> {
        let raw: [u8; 32] =
            x.try_into().map_err(|_| JoseError::UnusableKey { what: "Ed25519 keys are 32 bytes".into() })?;
        Ok(KeyInner::Ed25519(raw).into())
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        match &self.inner {
            KeyInner::Rsa { .. } => KeyKind::Rsa,
            KeyInner::Ec { curve, .. } => KeyKind::Ec(*curve),
            KeyInner::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// Whether this key can verify `alg` (never true for HMAC algorithms).
    pub fn fits(&self, alg: Algorithm) -> bool {
        alg.key_kind() == Some(self.kind())
    }

    /// RSA modulus and exponent (big-endian, no leading zeros), for providers.
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.inner {
            KeyInner::Rsa { n, e } => Some((n, e)),
            _ => None,
        }
    }

    /// The uncompressed EC point `04‖x‖y`, for providers.
    pub fn ec_point(&self) -> Option<(Curve, &[u8])> {
        match &self.inner {
            KeyInner::Ec { curve, point } => Some((*curve, point)),
            _ => None,
        }
    }

    /// The raw Ed25519 public key, for providers.
    pub fn ed25519_bytes(&self) -> Option<&[u8; 32]> {
        match &self.inner {
            KeyInner::Ed25519(raw) => Some(raw),
            _ => None,
        }
    }
}

/// The cryptography behind JWS verification.
///
/// Implementations verify one signature with a ready key; they must not allocate per
/// call where the backend allows it, and must compare HMAC tags in constant time.
/// [`default_provider`] returns the one rpkit uses.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A short name for logs (`"ring"`, `"aws-lc-rs"`).
    fn name(&self) -> &'static str;

    /// Verifies `signature` over `message` with `key` under `alg`.
    ///
    /// # Errors
    /// [`JoseError::BadSignature`] when it does not verify;
    /// [`JoseError::KeyTypeMismatch`] when `key` cannot verify `alg`.
    fn verify(&self, alg: Algorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), JoseError>;

    /// Verifies an HMAC `tag` over `message` keyed by `secret`, in constant time.
    ///
    /// # Errors
    /// [`JoseError::BadSignature`] when it does not verify;
    /// [`JoseError::UnsupportedAlgorithm`] when `alg` is not an HMAC algorithm.
    fn verify_hmac(&self, alg: Algorithm, secret: &[u8], message: &[u8], tag: &[u8]) -> Result<(), JoseError>;
}

fn mismatch(alg: Algorithm) -> JoseError {
    JoseError::KeyTypeMismatch { alg: alg.name().to_owned() }
}

/// The body of a [`CryptoProvider`] over a crate with ring's `signature` and `hmac` API
/// (`ring` itself and `aws-lc-rs`), so both providers verify with the same table; `$p521`
/// verifies ES512 (`point`, `message`, `signature` in scope).
macro_rules! ring_like_provider {
    (
        $provider:ty, $name:literal, $krate:ident,
        |$point:ident, $message:ident, $signature:ident| $p521:expr,
        |$key:ident, $alg:ident| $parsed:expr $(,)?
    ) => {
        impl CryptoProvider for $provider {
            fn name(&self) -> &'static str {
                $name
            }

            fn verify(
                &self,
                $alg: Algorithm,
                $key: &PublicKey,
                $message: &[u8],
                $signature: &[u8],
            ) -> Result<(), JoseError> {
                use $krate::signature as sig;
                let (alg, key) = ($alg, $key);
                let bad = |_| JoseError::BadSignature;
                if let Some(result) = $parsed {
                    return result;
                }
                let ec = |params: &'static sig::EcdsaVerificationAlgorithm, point: &[u8]| {
                    sig::UnparsedPublicKey::new(params, point).verify($message, $signature).map_err(bad)
                };
                match (&key.inner, alg) {
                    (KeyInner::Rsa { n, e }, _) => {
                        let params: &sig::RsaParameters = match alg {
                            Algorithm::Rs256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                            Algorithm::Rs384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                            Algorithm::Rs512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                            Algorithm::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
                            Algorithm::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
                            Algorithm::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
                            _ => return Err(mismatch(alg)),
                        };
                        sig::RsaPublicKeyComponents { n: &**n, e: &**e }
                            .verify(params, $message, $signature)
                            .map_err(bad)
                    }
                    (KeyInner::Ec { curve: Curve::P256, point }, Algorithm::Es256) => {
                        ec(&sig::ECDSA_P256_SHA256_FIXED, point)
                    }
                    (KeyInner::Ec { curve: Curve::P384, point }, Algorithm::Es384) => {
                        ec(&sig::ECDSA_P384_SHA384_FIXED, point)
                    }
                    (KeyInner::Ec { curve: Curve::P521, point: $point }, Algorithm::Es512) => $p521,
                    (KeyInner::Ed25519(raw), Algorithm::EdDsa) => {
                        sig::UnparsedPublicKey::new(&sig::ED25519, raw).verify($message, $signature).map_err(bad)
                    }
                    _ => Err(mismatch(alg)),
                }
            }

            fn verify_hmac(&self, alg: Algorithm, secret: &[u8], message: &[u8], tag: &[u8]) -> Result<(), JoseError> {
                use $krate::hmac;
                let h = match alg {
                    Algorithm::Hs256 => hmac::HMAC_SHA256,
                    Algorithm::Hs384 => hmac::HMAC_SHA384,
                    Algorithm::Hs512 => hmac::HMAC_SHA512,
                    _ => return Err(JoseError::UnsupportedAlgorithm { alg: alg.name().to_owned() }),
                };
                hmac::verify(&hmac::Key::new(h, secret), message, tag).map_err(|_| JoseError::BadSignature)
            }
        }
    };
}

/// The provider backed by `ring` (with OpenSSL for `ES512`, which `ring` lacks).
#[derive(Debug, Clone, Copy, Default)]
pub struct RingProvider;

ring_like_provider!(
    RingProvider,
    "ring",
    ring,
    |point, message, signature| p521::verify(point, message, signature),
    // `ring` has no parsed public keys.
    |key, alg| None::<Result<(), JoseError>>,
);

/// ES512 through OpenSSL, for the `ring` provider.
mod p521 {
    use super::JoseError;
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcKey, EcPoint};
    use openssl::ecdsa::EcdsaSig;
    use openssl::nid::Nid;

    pub(super) fn verify(point: &[u8], message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let bad = |_| JoseError::BadSignature;
        let (r, s) = match signature.len() {
            132 => signature.split_at(66),
            _ => return Err(JoseError::BadSignature),
        };
        let group = EcGroup::from_curve_name(Nid::SECP521R1).map_err(bad)?;
        let mut ctx = BigNumContext::new().map_err(bad)?;
        let point = EcPoint::from_bytes(&group, point, &mut ctx).map_err(bad)?;
        let key = EcKey::from_public_key(&group, &point).map_err(bad)?;
        key.check_key().map_err(bad)?;
        let sig =
            EcdsaSig::from_private_components(BigNum::from_slice(r).map_err(bad)?, BigNum::from_slice(s).map_err(bad)?)
                .map_err(bad)?;
        let digest = super::HashAlg::Sha512.digest(message);
        match sig.verify(digest.as_ref(), &key) {
            Ok(true) => Ok(()),
            _ => Err(JoseError::BadSignature),
        }
    }
}

/// The provider backed by `aws-lc-rs` (cargo feature `aws-lc-rs`), P-521 included.
#[cfg(feature = "aws-lc-rs")]
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLcProvider;

#[cfg(feature = "aws-lc-rs")]
ring_like_provider!(
    AwsLcProvider,
    "aws-lc-rs",
    aws_lc_rs,
    |point, message, signature| {
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED, point)
            .verify(message, signature)
            .map_err(|_| JoseError::BadSignature)
    },
    // A key aws-lc-rs could not parse (or a key of the wrong type) takes the general path,
    // which gives the same error as before.
    |key, alg| key
        .aws_lc
        .get(&key.inner, alg)
        .map(|parsed| parsed.verify_sig(message, signature).map_err(|_| JoseError::BadSignature)),
);

/// Keys parsed by aws-lc-rs once and kept with the [`PublicKey`].
#[cfg(feature = "aws-lc-rs")]
mod aws_lc {
    use super::{Algorithm, Curve, KeyInner};
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
    use std::sync::OnceLock;

    /// One slot per algorithm a key of its type can verify (six for RSA, one otherwise);
    /// `None` in a slot: aws-lc-rs refused the key for that algorithm.
    #[derive(Clone, Default)]
    pub(super) struct ParsedKeys([OnceLock<Option<ParsedPublicKey>>; 6]);

    impl ParsedKeys {
        /// The key parsed for `alg`, parsing it on first use.
        pub(super) fn get(&self, inner: &KeyInner, alg: Algorithm) -> Option<&ParsedPublicKey> {
            let point: (&'static dyn sig::VerificationAlgorithm, &[u8]) = match (inner, alg) {
                (KeyInner::Rsa { n, e }, _) => {
                    let (slot, params): (usize, &'static sig::RsaParameters) = match alg {
                        Algorithm::Rs256 => (0, &sig::RSA_PKCS1_2048_8192_SHA256),
                        Algorithm::Rs384 => (1, &sig::RSA_PKCS1_2048_8192_SHA384),
                        Algorithm::Rs512 => (2, &sig::RSA_PKCS1_2048_8192_SHA512),
                        Algorithm::Ps256 => (3, &sig::RSA_PSS_2048_8192_SHA256),
                        Algorithm::Ps384 => (4, &sig::RSA_PSS_2048_8192_SHA384),
                        Algorithm::Ps512 => (5, &sig::RSA_PSS_2048_8192_SHA512),
                        _ => return None,
                    };
                    let components = sig::RsaPublicKeyComponents { n: &**n, e: &**e };
                    return self.0.get(slot)?.get_or_init(|| components.to_parsed_public_key(params).ok()).as_ref();
                }
                (KeyInner::Ec { curve: Curve::P256, point }, Algorithm::Es256) => {
                    (&sig::ECDSA_P256_SHA256_FIXED, point)
                }
                (KeyInner::Ec { curve: Curve::P384, point }, Algorithm::Es384) => {
                    (&sig::ECDSA_P384_SHA384_FIXED, point)
                }
                (KeyInner::Ec { curve: Curve::P521, point }, Algorithm::Es512) => {
                    (&sig::ECDSA_P521_SHA512_FIXED, point)
                }
                (KeyInner::Ed25519(raw), Algorithm::EdDsa) => (&sig::ED25519, raw),
                _ => return None,
            };
            let (params, bytes) = point;
            self.0.first()?.get_or_init(|| ParsedPublicKey::new(params, bytes).ok()).as_ref()
        }
    }
}

/// The provider rpkit uses: `aws-lc-rs` with that cargo feature, else `ring`.
pub fn default_provider() -> &'static dyn CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    {
        &AwsLcProvider
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        &RingProvider
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Algorithm::from_name("none"), None);
        assert_eq!(Algorithm::from_name("rs256"), None);
        assert_eq!(Algorithm::from_name("Ed25519"), None);
    }

    #[test]
    fn at_hash_uses_sha512_for_eddsa() {
        assert_eq!(Algorithm::EdDsa.hash(), HashAlg::Sha512);
        assert_eq!(Algorithm::Es384.hash(), HashAlg::Sha384);
        assert_eq!(Algorithm::Ps256.hash(), HashAlg::Sha256);
    }

    #[test]
    fn keys_fit_only_their_algorithms() {
        let ec = PublicKey::ec(Curve::P256, &[1; 32], &[2; 32]).unwrap();
        assert!(ec.fits(Algorithm::Es256));
        assert!(!ec.fits(Algorithm::Es384));
        assert!(!ec.fits(Algorithm::Rs256));
        assert!(!ec.fits(Algorithm::Hs256));
        let ed = PublicKey::ed25519(&[7; 32]).unwrap();
        assert!(ed.fits(Algorithm::EdDsa));
        assert!(!ed.fits(Algorithm::Es256));
    }

    #[test]
    fn provider_refuses_a_key_of_the_wrong_type() {
        let ec = PublicKey::ec(Curve::P256, &[1; 32], &[2; 32]).unwrap();
        let err = default_provider().verify(Algorithm::Rs256, &ec, b"m", b"s").unwrap_err();
        assert!(matches!(err, JoseError::KeyTypeMismatch { .. }));
        let err = default_provider().verify(Algorithm::Es384, &ec, b"m", b"s").unwrap_err();
        assert!(matches!(err, JoseError::KeyTypeMismatch { .. }));
    }

    #[test]
    fn small_rsa_moduli_and_bad_exponents_are_refused() {
        assert!(matches!(PublicKey::rsa(&[0xff; 128], &[1, 0, 1]), Err(JoseError::UnusableKey { .. })));
        assert!(PublicKey::rsa(&[0xff; 256], &[1, 0, 1]).is_ok());
        // Leading zeros do not count towards the size.
        assert!(PublicKey::rsa(&[[0u8; 4].as_slice(), &[0x7f; 255]].concat(), &[3]).is_err());
        assert!(matches!(PublicKey::rsa(&[0xff; 256], &[1]), Err(JoseError::UnusableKey { .. })));
        assert!(matches!(PublicKey::rsa(&[0xff; 256], &[2]), Err(JoseError::UnusableKey { .. })));
        assert!(matches!(PublicKey::rsa(&[0xff; 256], &[]), Err(JoseError::UnusableKey { .. })));
    }

    #[test]
    fn ec_coordinates_must_have_the_curve_length() {
        assert!(PublicKey::ec(Curve::P256, &[1; 31], &[2; 32]).is_err());
        assert!(PublicKey::ec(Curve::P384, &[1; 48], &[2; 48]).is_ok());
        assert!(PublicKey::ec(Curve::P521, &[1; 65], &[2; 66]).is_err());
        assert!(PublicKey::ed25519(&[0; 31]).is_err());
    }

    /// The same key verifies with several algorithms, again and again, whatever the
    /// provider keeps between calls; an unusable key is a bad signature every time.
    #[test]
    fn a_key_verifies_repeatedly_and_under_each_of_its_algorithms() {
        use crate::jose::testkeys::Signer;
        use crate::jose::{verify_jws, AlgPolicy};
        let all = AlgPolicy::from_algorithms(Algorithm::ALL);
        for alg in [Algorithm::Rs256, Algorithm::Ps256, Algorithm::Rs512, Algorithm::Ps384] {
            let signer = Signer::rsa(1, alg);
            let keys = Signer::rsa(1, Algorithm::Rs256).jwks();
            for _ in 0..3 {
                let token = signer.sign(&serde_json::json!({"sub": "x"}));
                assert!(verify_jws(&token, &keys, &all, None).is_ok(), "{alg:?}");
                let forged = format!("{}x", &token[..token.len() - 1]);
                assert!(verify_jws(&forged, &keys, &all, None).is_err(), "{alg:?}");
            }
        }
        for signer in [Signer::es256(), Signer::es384(), Signer::es512(), Signer::ed25519(1)] {
            let keys = signer.jwks();
            for _ in 0..3 {
                let token = signer.sign(&serde_json::json!({"sub": "x"}));
                assert!(verify_jws(&token, &keys, &all, None).is_ok(), "{:?}", signer.alg);
            }
        }
        let off_curve = PublicKey::ec(Curve::P256, &[1; 32], &[2; 32]).unwrap();
        for _ in 0..2 {
            let err = default_provider().verify(Algorithm::Es256, &off_curve, b"m", &[1; 64]).unwrap_err();
            assert_eq!(err, JoseError::BadSignature);
        }
        assert_eq!(off_curve.clone(), off_curve);
    }

    #[test]
    fn default_provider_follows_the_cargo_feature() {
        let expected = if cfg!(feature = "aws-lc-rs") { "aws-lc-rs" } else { "ring" };
        assert_eq!(default_provider().name(), expected);
    }

    #[test]
    fn hmac_verifies_in_constant_time_via_the_provider() {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"secret");
        let tag = ring::hmac::sign(&key, b"msg");
        let p = default_provider();
        assert!(p.verify_hmac(Algorithm::Hs256, b"secret", b"msg", tag.as_ref()).is_ok());
        assert_eq!(p.verify_hmac(Algorithm::Hs256, b"other", b"msg", tag.as_ref()), Err(JoseError::BadSignature));
        assert!(matches!(
            p.verify_hmac(Algorithm::Rs256, b"secret", b"msg", tag.as_ref()),
            Err(JoseError::UnsupportedAlgorithm { .. })
        ));
    }
}
