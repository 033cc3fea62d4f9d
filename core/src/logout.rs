//! Logout.

/// Why a logout response or logout token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The logout token has a `nonce`.
    #[error("a logout token must not contain a `nonce`")]
    Nonce,
}
