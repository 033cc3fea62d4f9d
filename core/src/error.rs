//! The core's error type: one `#[non_exhaustive]` enum with typed sub-enums.
//!
//! Programs match on variants (`Error::State(StateError::Expired)`,
//! `Error::IdToken(IdTokenError::Audience { .. })`), people read the `Display` text.
//! No variant carries a secret, an authorization code, a verifier or a whole token;
//! what the provider said (`error`, `error_description`, `error_uri`) is kept verbatim.

use std::fmt;

pub use crate::callback::CallbackError;
pub use crate::device::DeviceError;
pub use crate::discovery::DiscoveryError;
pub use crate::dpop::DpopError;
pub use crate::id_token::IdTokenError;
pub use crate::jose::JoseError;
pub use crate::logout::LogoutError;
pub use crate::oauth1::OAuth1Error;
pub use crate::registration::RegistrationError;
pub use crate::token::TokenError;
pub use crate::userinfo::UserInfoError;

/// Everything the sans-IO core can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The callback's `state` did not lead to a pending authorization.
    #[error(transparent)]
    State(#[from] StateError),
    /// The provider answered with an OAuth error (authorization or token endpoint).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A refresh failed with `invalid_grant`: the user has to log in again.
    #[error("the refresh token was rejected, the user must log in again: {0}")]
    ReauthenticationRequired(ProviderError),
    /// A refresh was needed but the token has no refresh token; nothing was sent.
    #[error("the token has expired and holds no refresh token")]
    NoRefreshToken,
    /// The authorization response (callback) was unacceptable.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The token endpoint's response was unacceptable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The ID token failed validation.
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    /// A JOSE object (JWS, JWE, JWK, JWKS) was unacceptable.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// Provider metadata was unacceptable.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The UserInfo response was unacceptable.
    #[error(transparent)]
    UserInfo(#[from] UserInfoError),
    /// A logout response or logout token was unacceptable.
    #[error(transparent)]
    Logout(#[from] LogoutError),
    /// An OAuth 1.0a step failed (signing, request token, callback, access token).
    #[error(transparent)]
    OAuth1(#[from] OAuth1Error),
    /// An endpoint answered with an unexpected HTTP status (and no OAuth error body).
    #[error("the {endpoint} endpoint answered with HTTP status {status}")]
    Http {
        /// Which endpoint.
        endpoint: Endpoint,
        /// The status code.
        status: u16,
    },
    /// A response **from the provider** was not what the protocol says it must be (the
    /// provider's fault: web adapters answer `502`).
    #[error("malformed {what}")]
    Malformed {
        /// What was wrong, e.g. "token response: `expires_in` is not a number".
        what: String,
    },
    /// A request that reached the application (a browser's redirect back, a back-channel
    /// logout POST) is not well-formed: the sender's fault (`400`), never the provider's.
    #[error("bad request: {what}")]
    BadRequest {
        /// What was wrong, e.g. "back-channel logout request: body is not UTF-8".
        what: String,
    },
    /// A response body exceeded the size limit and was not parsed.
    #[error("the {endpoint} response is larger than {limit} bytes")]
    TooLarge {
        /// Which endpoint.
        endpoint: Endpoint,
        /// The limit in bytes.
        limit: usize,
    },
    /// The random source failed.
    #[error("the random source failed")]
    Random,
    /// The device authorization grant ended without a token (RFC 8628).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Dynamic client registration failed (RFC 7591/7592).
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// A DPoP step failed (RFC 9449): a token not bound as asked, a nonce loop, a key.
    #[error(transparent)]
    Dpop(crate::dpop::DpopError),
}

impl Error {
    /// A [`Error::Malformed`] (the provider's response) with the given description.
    pub fn malformed(what: impl Into<String>) -> Self {
        Error::Malformed { what: what.into() }
    }

    /// A [`Error::BadRequest`] (input a browser or another request brought).
    pub fn bad_request(what: impl Into<String>) -> Self {
        Error::BadRequest { what: what.into() }
    }

    /// A [`ConfigError::Unusable`]: a configured value (or one the application passed)
    /// that cannot be used as it is.
    pub fn unusable_config(what: impl Into<String>) -> Self {
        Error::Config(ConfigError::Unusable { what: what.into() })
    }

    /// The provider's OAuth `error` code, when this error carries one.
    pub fn provider_error_code(&self) -> Option<&str> {
        match self {
            Error::Provider(p) | Error::ReauthenticationRequired(p) => Some(&p.error),
            Error::Device(d) => d.provider_error().map(|p| p.error.as_str()),
            Error::Registration(r) => r.provider_error().map(|p| p.error.as_str()),
            _ => None,
        }
    }
}

/// The endpoint a response came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The authorization endpoint (its redirect back to us).
    Authorization,
    /// The token endpoint.
    Token,
    /// The UserInfo endpoint.
    UserInfo,
    /// The discovery (server metadata) document.
    Discovery,
    /// The JWKS document.
    Jwks,
    /// A protected resource under `api_base_url`.
    Resource,
    /// The end-session endpoint.
    EndSession,
    /// The OAuth 1.0a request-token (temporary credentials) endpoint.
    RequestToken,
    /// The token revocation endpoint (RFC 7009).
    Revocation,
    /// The token introspection endpoint (RFC 7662).
    Introspection,
    /// The device authorization endpoint (RFC 8628).
    DeviceAuthorization,
    /// The client registration endpoint or a client configuration endpoint (RFC 7591/7592).
    Registration,
    /// The pushed authorization request endpoint (RFC 9126).
    PushedAuthorization,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Authorization => "authorization",
            Endpoint::Token => "token",
            Endpoint::UserInfo => "UserInfo",
            Endpoint::Discovery => "discovery",
            Endpoint::Jwks => "JWKS",
            Endpoint::Resource => "resource",
            Endpoint::EndSession => "end-session",
            Endpoint::RequestToken => "request-token",
            Endpoint::Revocation => "revocation",
            Endpoint::Introspection => "introspection",
            Endpoint::DeviceAuthorization => "device authorization",
            Endpoint::Registration => "registration",
            Endpoint::PushedAuthorization => "pushed authorization request",
        })
    }
}

/// Why a `state` did not match a pending authorization (or logout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The response carried no `state` parameter.
    #[error("the response has no `state` parameter")]
    Missing,
    /// No pending entry has this state. When the session holds no pending entry at all,
    /// the session cookie was probably lost (`session_empty`).
    #[error("the `state` matches no pending request{}", if *session_empty { " (the session holds none: was the session cookie lost?)" } else { "" })]
    Unknown {
        /// The session held no pending entry at all.
        session_empty: bool,
    },
    /// The pending entry existed but is older than its lifetime.
    #[error("the pending request for this `state` has expired")]
    Expired,
    /// The response carries `state` more than once: refused without looking any up.
    #[error("the response repeats the `state` parameter")]
    Repeated,
}

/// An OAuth 2.0 error response ([RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1),
/// [§5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)), kept as the provider sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the provider answered `{error}`{}", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct ProviderError {
    /// The `error` code, e.g. `access_denied`, `invalid_grant`.
    pub error: String,
    /// `error_description`, if any.
    pub description: Option<String>,
    /// `error_uri`, if any.
    pub uri: Option<String>,
}

/// The longest `error` code kept from a provider (RFC 6749 codes are short ASCII words).
pub const MAX_ERROR_CODE_CHARS: usize = 64;
/// The longest `error_description` / `error_uri` kept from a provider.
pub const MAX_ERROR_TEXT_CHARS: usize = 256;

impl ProviderError {
    /// An error with only a code.
    pub fn new(error: impl Into<String>) -> Self {
        ProviderError { error: error.into(), description: None, uri: None }
    }

    /// An error as received from a provider (or relayed by a browser): each field cut to
    /// [`MAX_ERROR_CODE_CHARS`] / [`MAX_ERROR_TEXT_CHARS`] characters, with control and
    /// bidirectional-override characters replaced, so that what an attacker writes into
    /// `error_description` cannot forge or hide log lines. A well-formed code (RFC 6749
    /// §5.2: printable ASCII) is kept as sent.
    ///
    /// ```
    /// use rpkit::ProviderError;
    /// let e = ProviderError::from_wire("access_denied", Some("no\r\nINFO forged line"), None);
    /// assert_eq!(e.error, "access_denied");
    /// assert!(!e.description.unwrap().contains('\n'));
    /// ```
    pub fn from_wire(error: &str, description: Option<&str>, uri: Option<&str>) -> Self {
        ProviderError {
            error: sanitized(error, MAX_ERROR_CODE_CHARS),
            description: description.map(|d| sanitized(d, MAX_ERROR_TEXT_CHARS)),
            uri: uri.map(|u| sanitized(u, MAX_ERROR_TEXT_CHARS)),
        }
    }
}

/// A client configuration (or settings entry) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key that rpkit does not know: a typo must not silently disable a check.
    #[error("client `{client}`: unknown key `{key}`")]
    UnknownKey {
        /// The client's registered name.
        client: String,
        /// The key path, e.g. `client_kwargs.scpoe`.
        key: String,
    },
    /// A key with a value of the wrong shape.
    #[error("client `{client}`: key `{key}`: expected {expected}")]
    Invalid {
        /// The client's registered name.
        client: String,
        /// The key path.
        key: String,
        /// What was expected (never the offending value: it may be a secret).
        expected: String,
    },
    /// An endpoint (configured, or discovered when `key` starts with `metadata.`) is
    /// neither `https` nor plain `http` on a loopback host: a code, token or secret would
    /// cross the network in clear text. `client_kwargs.danger_allow_insecure_http` turns
    /// the check off, for closed test networks only.
    #[error("client `{client}`: `{key}` is not an https URL (plain http is accepted for loopback hosts only)")]
    InsecureEndpoint {
        /// The client's registered name.
        client: String,
        /// The configuration key (`access_token_url`) or the metadata member
        /// (`metadata.token_endpoint`).
        key: String,
    },
    /// A configured value (or one the application passed, such as a resource path) that
    /// cannot be used as it is: a URL that does not parse, a header value with control
    /// characters.
    #[error("configuration: {what}")]
    Unusable {
        /// What was wrong (never the value itself: it may be a secret).
        what: String,
    },
    /// A value the requested operation needs is not configured (nor discovered).
    #[error("client `{client}`: `{key}` is required for this operation and is not configured")]
    Missing {
        /// The client's registered name.
        client: String,
        /// The missing key.
        key: String,
    },
}

/// Makes text that a provider or a browser chose safe to put in an error message, and so
/// in a log line: at most `max` characters (an ellipsis marks a cut), every control
/// character (CR, LF, ESC, …) and every bidirectional-override or invisible formatting
/// character replaced by U+FFFD, so that the text can neither forge log lines nor hide
/// what it says.
pub(crate) fn sanitized(text: &str, max: usize) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    let mut out = String::with_capacity(text.len().min(max * 4));
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if unsafe_char(c) { '\u{FFFD}' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacker_text_in_errors_is_bounded_and_has_no_control_characters() {
        let forged = "bad\r\n2026-01-01 INFO admin logged in\u{1b}[31m\u{202e}txt.exe";
        let clean = sanitized(forged, 1000);
        assert!(!clean.chars().any(|c| c.is_control() || c == '\u{202e}'), "{clean:?}");
        assert!(clean.starts_with("bad\u{FFFD}\u{FFFD}2026"));
        let long = "x".repeat(1000);
        assert_eq!(sanitized(&long, 64).chars().count(), 65);
        assert!(sanitized(&long, 64).ends_with('…'));
        assert_eq!(sanitized("short", 64), "short");
    }

    #[test]
    fn state_error_messages_say_which() {
        assert_eq!(StateError::Missing.to_string(), "the response has no `state` parameter");
        assert!(StateError::Unknown { session_empty: true }.to_string().contains("session cookie"));
        assert!(!StateError::Unknown { session_empty: false }.to_string().contains("cookie"));
        assert!(StateError::Expired.to_string().contains("expired"));
    }

    #[test]
    fn provider_error_keeps_the_code_and_description() {
        let e = Error::Provider(ProviderError {
            error: "access_denied".into(),
            description: Some("user said no".into()),
            uri: None,
        });
        assert_eq!(e.to_string(), "the provider answered `access_denied`: user said no");
        assert_eq!(e.provider_error_code(), Some("access_denied"));
    }

    #[test]
    fn config_errors_name_client_and_key() {
        let e = ConfigError::UnknownKey { client: "github".into(), key: "scpoe".into() };
        assert_eq!(e.to_string(), "client `github`: unknown key `scpoe`");
    }

    #[test]
    fn http_errors_name_the_endpoint() {
        let e = Error::Http { endpoint: Endpoint::Token, status: 500 };
        assert_eq!(e.to_string(), "the token endpoint answered with HTTP status 500");
    }
}
