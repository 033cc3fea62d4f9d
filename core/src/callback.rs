//! The authorization response (the redirect back to us).

/// Errors of the authorization response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The response has no `code`.
    #[error("the authorization response has no `code`")]
    MissingCode,
}
