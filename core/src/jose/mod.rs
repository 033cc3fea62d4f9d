//! JOSE: base64url, JWK, JWS and JWE, behind a small crypto provider.

pub mod b64;
pub mod crypto;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod sign;

/// Errors of JOSE objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Not a JWS/JWE compact serialization.
    #[error("malformed {what}")]
    Malformed {
        /// What was wrong.
        what: String,
    },
}
