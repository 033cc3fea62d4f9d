//! The async client's error type.

use super::store::StoreError;
use super::transport::TransportError;
use crate::error::{Endpoint, Error};

/// Everything the async client can report: a core error, or a transport failure.
///
/// `Clone` so that one outcome of a single-flight fetch or refresh can be handed to
/// every waiter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The protocol core rejected something (see [`Error`]).
    #[error(transparent)]
    Core(#[from] Error),
    /// No response arrived from an endpoint.
    #[error("the {endpoint} request failed: {source}")]
    Transport {
        /// Which endpoint.
        endpoint: Endpoint,
        /// Why.
        #[source]
        source: TransportError,
    },
    /// No client is registered under this name.
    #[error("no OAuth client is registered as `{name}`")]
    UnknownClient {
        /// The name asked for.
        name: String,
    },
    /// An OAuth 2 flow was asked of a client configured for OAuth 1.0a (it has
    /// `request_token_url`); use `rpkit::oauth1` for it.
    #[error("client `{name}` is an OAuth 1.0a client (it has `request_token_url`): the OAuth 2 flow does not apply, use the `_oauth1` flows")]
    OAuth1Client {
        /// The client name.
        name: String,
    },
    /// An OAuth 1.0a flow was asked of a client without `request_token_url`.
    #[error("client `{name}` is not an OAuth 1.0a client (it has no `request_token_url`)")]
    NotOAuth1 {
        /// The client name.
        name: String,
    },
    /// The store shared between instances could not answer; nothing was decided on
    /// per-process state instead. Web adapters answer `503`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The `fetch_token` hook found no token for this user.
    #[error("no token is stored for this user and client `{name}`")]
    NoToken {
        /// The client name.
        name: String,
    },
}

impl ClientError {
    /// Whether the provider failed (unreachable, timed out, 5xx, oversized or garbled
    /// answer) rather than the request or the user's input being wrong. Web adapters
    /// answer 502 for these and 400 for the rest.
    pub fn is_provider_failure(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Core(Error::Http { status, .. }) => *status >= 500,
            ClientError::Core(Error::TooLarge { .. }) => true,
            ClientError::Core(Error::Malformed { .. }) => true,
            ClientError::Core(Error::Dpop(
                crate::dpop::DpopError::NotDpopBound { .. } | crate::dpop::DpopError::NonceRetryExhausted { .. },
            )) => true,
            _ => false,
        }
    }

    /// A short, stable code for this error, for an error page or a JSON body: the
    /// provider's own `error` code when it sent one (`access_denied`, `invalid_grant`),
    /// else rpkit's (`state_unknown`, `invalid_iss`, `invalid_id_token`, …). Never contains
    /// a secret.
    pub fn code(&self) -> &str {
        use crate::error::{CallbackError as C, StateError as S};
        let core = match self {
            ClientError::Core(e) => e,
            ClientError::Transport { source: TransportError::Timeout, .. } => return "provider_timeout",
            ClientError::Transport { .. } => return "provider_unreachable",
            ClientError::UnknownClient { .. } => return "unknown_client",
            ClientError::NoToken { .. } => return "no_token",
            ClientError::OAuth1Client { .. } => return "oauth1_client",
            ClientError::NotOAuth1 { .. } => return "not_oauth1_client",
            ClientError::Store(StoreError::LeaseBusy) => return "store_busy",
            ClientError::Store(_) => return "store_unavailable",
        };
        match core {
            Error::Provider(p) | Error::ReauthenticationRequired(p) => &p.error,
            Error::State(S::Missing) => "state_missing",
            Error::State(S::Unknown { .. }) => "state_unknown",
            Error::State(S::Expired) => "state_expired",
            Error::State(S::Repeated) => "state_repeated",
            Error::Callback(C::MissingCode) => "missing_code",
            Error::Callback(C::MissingIssuer) => "missing_iss",
            Error::Callback(C::IssuerMismatch { .. }) => "invalid_iss",
            Error::Callback(C::UnexpectedToken { .. }) => "unexpected_token",
            Error::Callback(C::ClientMismatch { .. }) => "client_mismatch",
            Error::Callback(_) => "invalid_callback",
            Error::IdToken(_) => "invalid_id_token",
            Error::Jose(_) => "invalid_jwt",
            Error::UserInfo(_) => "invalid_userinfo",
            Error::Logout(_) => "invalid_logout_token",
            Error::OAuth1(crate::oauth1::OAuth1Error::Denied) => "access_denied",
            Error::OAuth1(_) => "oauth1_error",
            Error::Discovery(_) => "invalid_provider_metadata",
            Error::Token(_) => "invalid_token_response",
            Error::Http { .. } => "provider_http_error",
            Error::TooLarge { .. } => "response_too_large",
            Error::Malformed { .. } => "malformed_response",
            Error::BadRequest { .. } => "bad_request",
            Error::Config(_) => "client_configuration_error",
            Error::NoRefreshToken => "no_refresh_token",
            Error::Random => "random_source_failed",
            Error::Device(crate::device::DeviceError::Deadline { .. }) => "expired_token",
            Error::Device(crate::device::DeviceError::TooEarly { .. }) => "slow_down",
            Error::Device(d) => d.provider_error().map_or("device_flow_error", |p| p.error.as_str()),
            Error::Registration(r) => r.provider_error().map_or("invalid_registration", |p| p.error.as_str()),
            Error::Dpop(crate::dpop::DpopError::NotDpopBound { .. }) => "dpop_not_bound",
            Error::Dpop(crate::dpop::DpopError::NonceRetryExhausted { .. }) => "dpop_nonce_loop",
            Error::Dpop(_) => "dpop_error",
        }
    }

    /// Whether the store shared between instances failed ([`ClientError::Store`]): the
    /// app's own infrastructure, neither the provider nor the request. Web adapters
    /// answer `503`.
    pub fn is_store_failure(&self) -> bool {
        matches!(self, ClientError::Store(_))
    }

    /// The provider's OAuth `error` code, if the provider sent one.
    pub fn provider_error_code(&self) -> Option<&str> {
        match self {
            ClientError::Core(e) => e.provider_error_code(),
            _ => None,
        }
    }
}

impl From<crate::error::ConfigError> for ClientError {
    fn from(e: crate::error::ConfigError) -> Self {
        ClientError::Core(Error::Config(e))
    }
}
