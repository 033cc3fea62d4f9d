//! ID token validation.

/// Why an ID token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The signature does not verify.
    #[error("the ID token signature does not verify")]
    Signature,
}
