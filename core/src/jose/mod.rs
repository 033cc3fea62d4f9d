//! JOSE: base64url, JWK, JWS and JWE, behind a small crypto provider.
//!
//! - [`verify_jws`] checks a JWS compact serialization
//!   ([RFC 7515](https://www.rfc-editor.org/rfc/rfc7515)) against a
//!   [`JwkSet`](crate::jwks::JwkSet) (or, for `HS*`, the client secret) under an
//!   [`AlgPolicy`], and returns the header and the payload bytes.
//! - [`jwe::decrypt`] opens a JWE compact serialization
//!   ([RFC 7516](https://www.rfc-editor.org/rfc/rfc7516)) with a [`jwe::DecryptionKey`].
//! - [`crypto`] holds the algorithms and the provider that verifies signatures (`ring` by
//!   default, `aws-lc-rs` with the cargo feature of that name).
//!
//! No type of a crypto or JOSE crate appears in this API: those crates are details that
//! can be swapped.

pub mod b64;
pub mod crypto;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod sign;
#[cfg(test)]
pub(crate) mod testkeys;

pub use crypto::Algorithm;
pub use jws::{verify_jws, AlgPolicy, JwsHeader, VerifiedJws};

/// Errors of JOSE objects (JWS, JWE, JWK, JWK Set).
///
/// [`JoseError::UnknownKid`] (and [`JoseError::NoKey`]) are the two errors after which a
/// caller may fetch the JWKS again (rate-limited, see
/// [`JwksCache`](crate::jwks::JwksCache)); [`JoseError::BadSignature`] never justifies a
/// refetch. Use [`JoseError::is_unknown_key`] to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Not a well-formed JWS/JWE compact serialization, JWK or JWK Set.
    #[error("malformed {what}")]
    Malformed {
        /// What was wrong.
        what: String,
    },
    /// The `alg` (or JWE `enc`) is not one rpkit implements.
    #[error("unsupported algorithm `{alg}`")]
    UnsupportedAlgorithm {
        /// The algorithm name (truncated to 32 characters).
        alg: String,
    },
    /// The `alg` is implemented but not in the allow-list for this object.
    #[error("algorithm `{alg}` is not allowed here")]
    AlgorithmNotAllowed {
        /// The algorithm name.
        alg: String,
    },
    /// `alg: none` (an unsecured JWS) is never accepted.
    #[error("unsecured JWS (`alg: none`) is never accepted")]
    AlgNone,
    /// The header has a `crit` member naming an extension rpkit does not understand
    /// ([RFC 7515 §4.1.11](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11)).
    #[error("the JOSE header lists critical extensions rpkit does not understand")]
    CritUnsupported,
    /// The selected key cannot be used with the token's algorithm (e.g. an RSA key for
    /// `ES256`, a P-256 key for `ES384`).
    #[error("the key with this `kid` does not fit algorithm `{alg}`")]
    KeyTypeMismatch {
        /// The algorithm of the token.
        alg: String,
    },
    /// No key of the JWK Set has the token's `kid`. The key set may be stale: fetch it
    /// again once (rate-limited), then retry.
    #[error("no key with `kid` `{kid}` in the JWK Set")]
    UnknownKid {
        /// The `kid` of the token (truncated to 64 characters).
        kid: String,
    },
    /// The token has no `kid` and several keys of the set could verify it.
    #[error("the token has no `kid` and several keys fit its algorithm")]
    AmbiguousKey,
    /// No key is available for the token's algorithm (no fitting key in the set, or no
    /// client secret for `HS*`).
    #[error("no key is available for algorithm `{alg}`")]
    NoKey {
        /// The algorithm of the token.
        alg: String,
    },
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A JWK Set held no key usable for signature verification.
    #[error("the JWK Set holds no usable signature verification key")]
    NoUsableKeys,
    /// A single JWK cannot be used (unsupported `kty`/`crv`, wrong size, `use: enc`…).
    #[error("unusable JWK: {what}")]
    UnusableKey {
        /// Why.
        what: String,
    },
    /// A JWE could not be decrypted (wrong key, tampered ciphertext or tag). No detail is
    /// given on purpose (padding/decryption oracles).
    #[error("the JWE could not be decrypted")]
    Decryption,
    /// A JWE was expected (a decryption key is configured) but the object is not one.
    #[error("an encrypted JWT (JWE) was expected")]
    EncryptionRequired,
    /// The decryption key material is not a usable RSA or EC private key (PEM or JWK).
    #[error("the decryption key is unusable: {what}")]
    InvalidDecryptionKey {
        /// Why (never the key itself).
        what: String,
    },
}

impl JoseError {
    /// Whether fetching the JWK Set again could help: [`JoseError::UnknownKid`] or
    /// [`JoseError::NoKey`] (a rotated key). Never true for a bad signature.
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, JoseError::UnknownKid { .. } | JoseError::NoKey { .. })
    }

    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        JoseError::Malformed { what: what.into() }
    }
}

/// Truncates attacker-controlled text before it goes into an error.
pub(crate) fn truncated(text: &str, max: usize) -> String {
    crate::error::sanitized(text, max)
}

/// Whether `compact` has the shape of a JWE compact serialization (five dot-separated
/// parts) rather than a JWS (three).
///
/// ```
/// assert!(rpkit::jose::is_jwe("a.b.c.d.e"));
/// assert!(!rpkit::jose::is_jwe("a.b.c"));
/// ```
pub fn is_jwe(compact: &str) -> bool {
    // `split` finds separators with memchr; stop after a sixth part.
    compact.split('.').take(6).count() == 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwe_shape_is_five_parts() {
        assert!(is_jwe("h.k.iv.ct.tag"));
        assert!(is_jwe("...."));
        assert!(!is_jwe("h.p.s"));
        assert!(!is_jwe("h.k.iv.ct.tag.x"));
        assert!(!is_jwe(""));
    }

    #[test]
    fn only_unknown_kid_and_no_key_justify_a_refetch() {
        assert!(JoseError::UnknownKid { kid: "k".into() }.is_unknown_key());
        assert!(JoseError::NoKey { alg: "RS256".into() }.is_unknown_key());
        assert!(!JoseError::BadSignature.is_unknown_key());
        assert!(!JoseError::AmbiguousKey.is_unknown_key());
    }

    #[test]
    fn error_text_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(truncated(&long, 64).chars().count(), 65);
    }
}
