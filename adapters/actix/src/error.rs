//! Errors of the actix glue and the HTTP responses they become.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rpkit::client::ClientError;
use rpkit::error::Error;

/// Why the session could not be written.
///
/// Reading never fails: a stored value that no longer deserializes into the type asked
/// for (an older release, a tampered server-side store) reads as absent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A value could not be serialized into the session.
    #[error("a session value could not be serialized")]
    Serialize,
    /// The request carries no [`HttpRequest`](actix_web::HttpRequest) app data this crate
    /// needs (a [`Revocations`](crate::Revocations) registered with `App::app_data`).
    #[error("missing app data: {0}")]
    MissingAppData(&'static str),
}

impl SessionError {
    /// The short code answered in error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::Serialize => "session_serialize_failed",
            SessionError::MissingAppData(_) => "server_misconfigured",
        }
    }
}

/// Everything that can go wrong in a login, logout or API call through rpkit-actix.
///
/// As an actix [`ResponseError`], it is a JSON body `{"error": "<code>"}` with
/// `Cache-Control: no-store` and the status [`AuthError::status`] gives:
///
/// | status | when |
/// |---|---|
/// | `400` | bad input from the browser or the provider: wrong/expired/replayed `state`, the provider's `error`, a bad ID token, an `iss` mismatch, … |
/// | `401` | no logged-in user ([`AuthError::LoginRequired`]), or a token that can no longer be refreshed |
/// | `404` | no client registered under that name |
/// | `500` | the server's fault: configuration, session serialization, random source |
/// | `502` | the provider failed: unreachable, timed out, 5xx, oversized or garbled answers |
///
/// The body never contains a secret, a code, a state or a token.
///
/// ```
/// use actix_web::http::StatusCode;
/// use actix_web::ResponseError;
/// use rpkit::client::ClientError;
/// use rpkit::{Error, StateError};
/// use rpkit_actix::AuthError;
///
/// let replayed = AuthError::from(ClientError::from(Error::State(StateError::Unknown { session_empty: false })));
/// assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(replayed.code(), "state_unknown");
/// assert_eq!(AuthError::LoginRequired.error_response().status(), StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The client (protocol, provider or transport) failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The session could not be written.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// No user is logged in (or their session was ended by a back-channel logout).
    #[error("no user is logged in")]
    LoginRequired,
    /// The callback request itself is unusable (wrong method or content type, unreadable
    /// body).
    #[error("bad callback request: {0}")]
    BadRequest(&'static str),
}

impl AuthError {
    /// The HTTP status this error answers with (see the table on [`AuthError`]).
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::LoginRequired => StatusCode::UNAUTHORIZED,
            AuthError::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::Client(e) => client_status(e),
        }
    }

    /// A short, stable error code for the response body (`state_unknown`,
    /// `access_denied`, `invalid_id_token`, `provider_unreachable`, `login_required`, …).
    pub fn code(&self) -> &str {
        match self {
            AuthError::LoginRequired => "login_required",
            AuthError::Session(e) => e.code(),
            AuthError::BadRequest(_) => "invalid_request",
            AuthError::Client(e) => e.code(),
        }
    }
}

fn client_status(e: &ClientError) -> StatusCode {
    if e.is_provider_failure() {
        return StatusCode::BAD_GATEWAY;
    }
    match e {
        ClientError::UnknownClient { .. } => StatusCode::NOT_FOUND,
        ClientError::Core(Error::Config(_) | Error::Random) => StatusCode::INTERNAL_SERVER_ERROR,
        // The refresh token is gone or was refused: the user must log in again.
        ClientError::Core(Error::ReauthenticationRequired(_) | Error::NoRefreshToken) => StatusCode::UNAUTHORIZED,
        // Metadata that is garbage or names another issuer is the provider's failure,
        // not the browser's.
        ClientError::Core(Error::Discovery(_)) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, code = self.code(), "OAuth request failed");
        } else if status != StatusCode::UNAUTHORIZED {
            tracing::warn!(error = %self, code = self.code(), "OAuth request rejected");
        }
        json_error(status, self.code())
    }
}

/// A `{"error": code}` JSON response that no cache keeps.
pub(crate) fn json_error(status: StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(serde_json::json!({ "error": code }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use rpkit::client::TransportError;
    use rpkit::error::{CallbackError, ConfigError, Endpoint};
    use rpkit::{ProviderError, StateError};

    fn core(e: Error) -> AuthError {
        AuthError::Client(ClientError::Core(e))
    }

    #[test]
    fn bad_input_from_browser_or_provider_is_400_with_its_code() {
        let cases = [
            (core(Error::State(StateError::Missing)), "state_missing"),
            (core(Error::State(StateError::Expired)), "state_expired"),
            (core(Error::State(StateError::Unknown { session_empty: true })), "state_unknown"),
            (
                core(Error::Callback(CallbackError::IssuerMismatch { expected: "a".into(), found: "b".into() })),
                "invalid_iss",
            ),
            (
                core(Error::Provider(ProviderError { error: "access_denied".into(), description: None, uri: None })),
                "access_denied",
            ),
            (AuthError::BadRequest("method"), "invalid_request"),
        ];
        for (e, code) in cases {
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{e}");
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn provider_failures_are_502() {
        let cases = [
            AuthError::Client(ClientError::Transport { endpoint: Endpoint::Token, source: TransportError::Timeout }),
            AuthError::Client(ClientError::Transport {
                endpoint: Endpoint::Token,
                source: TransportError::Connect("refused".into()),
            }),
            core(Error::Http { endpoint: Endpoint::Token, status: 503 }),
            core(Error::TooLarge { endpoint: Endpoint::UserInfo, limit: 1 }),
            core(Error::malformed("token response: not JSON")),
        ];
        for e in cases {
            assert_eq!(e.status(), StatusCode::BAD_GATEWAY, "{e}");
        }
    }

    #[test]
    fn server_faults_are_500_missing_login_or_refresh_401_and_unknown_client_404() {
        let config = core(Error::Config(ConfigError::Missing { client: "dev".into(), key: "client_id".into() }));
        assert_eq!(config.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(AuthError::Session(SessionError::Serialize).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(AuthError::LoginRequired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(core(Error::NoRefreshToken).status(), StatusCode::UNAUTHORIZED);
        let refused = ProviderError { error: "invalid_grant".into(), description: None, uri: None };
        let reauth = core(Error::ReauthenticationRequired(refused));
        assert_eq!((reauth.status(), reauth.code()), (StatusCode::UNAUTHORIZED, "invalid_grant"));
        let unknown = AuthError::Client(ClientError::UnknownClient { name: "nope".into() });
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn response_body_is_json_with_only_the_code() {
        let e = core(Error::Callback(CallbackError::IssuerMismatch {
            expected: "https://op".into(),
            found: "<script>".into(),
        }));
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers().get(CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(response.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let body = response.into_body().try_into_bytes().unwrap();
        assert_eq!(&body[..], br#"{"error":"invalid_iss"}"#);
    }
}
