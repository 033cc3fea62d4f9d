//! Errors of the development provider's own API (not the OAuth errors it sends).

/// Why the development provider could not be started or could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevProviderError {
    /// Binding the listening socket failed.
    #[error("cannot bind the development provider: {0}")]
    Bind(#[from] std::io::Error),
    /// Generating or using a key failed.
    #[error("key error: {0}")]
    Key(String),
    /// A client registration is unusable.
    #[error("client {client:?}: {reason}")]
    InvalidClient {
        /// The client id.
        client: String,
        /// What is wrong.
        reason: String,
    },
    /// A user registration is unusable.
    #[error("user {user:?}: {reason}")]
    InvalidUser {
        /// The username.
        user: String,
        /// What is wrong.
        reason: String,
    },
    /// Building the HTTP client for back-channel logout failed.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// Serializing a token failed.
    #[error("serialization failed: {0}")]
    Json(#[from] serde_json::Error),
}
