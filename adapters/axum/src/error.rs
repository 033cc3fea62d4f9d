//! Errors of the axum glue and the HTTP responses they become.

use crate::session::SessionError;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use rpkit::client::web::{client_error_status, ErrorResponse};
use rpkit::client::ClientError;

/// Everything that can go wrong in a login, logout or API call through rpkit-axum.
///
/// As an axum response ([`IntoResponse`]), it is a JSON body `{"error": "<code>"}` with
/// `Cache-Control: no-store` and the status [`AuthError::status`] gives: for a client
/// error, the table of [`ErrorResponse`] (`400` bad input, `401` refresh no longer
/// possible, `404` unknown client, `500` configuration, `502` the provider failed);
/// `401` for [`AuthError::LoginRequired`], `400` for [`AuthError::BadRequest`], `403`
/// for [`AuthError::CsrfMismatch`], `405` for [`AuthError::MethodNotAllowed`], `500`
/// for a session failure. The body never contains a secret, a code, a state or a token.
///
/// ```
/// use axum::response::IntoResponse;
/// use http::StatusCode;
/// use rpkit::client::ClientError;
/// use rpkit::{Error, StateError};
/// use rpkit_axum::AuthError;
///
/// let replayed = AuthError::from(ClientError::from(Error::State(StateError::Unknown { session_empty: false })));
/// assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(replayed.code(), "state_unknown");
/// assert_eq!(AuthError::LoginRequired.into_response().status(), StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The client (protocol, provider or transport) failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The session could not be read or written.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// No user is logged in (or their session was ended by a back-channel logout).
    #[error("no user is logged in")]
    LoginRequired,
    /// The callback request itself is unusable (wrong method or content type, unreadable
    /// body).
    #[error("bad callback request: {0}")]
    BadRequest(&'static str),
    /// A state-changing request (logout) whose CSRF token is missing or does not match
    /// the session's: `403`, and nothing was changed.
    #[error("the CSRF token is missing or does not match the session")]
    CsrfMismatch,
    /// The request's method is not accepted here (a `HEAD` or `GET` where only `GET` or
    /// `POST` may change state): `405`, and nothing was changed.
    #[error("method not allowed: {0}")]
    MethodNotAllowed(&'static str),
}

impl AuthError {
    /// The HTTP status this error answers with (see the table on [`AuthError`]).
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::LoginRequired => StatusCode::UNAUTHORIZED,
            AuthError::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::CsrfMismatch => StatusCode::FORBIDDEN,
            AuthError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AuthError::Client(e) => {
                StatusCode::from_u16(client_error_status(e)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// A short, stable error code for the response body (`state_unknown`,
    /// `access_denied`, `invalid_id_token`, `provider_unreachable`, `login_required`, …).
    pub fn code(&self) -> &str {
        match self {
            AuthError::LoginRequired => "login_required",
            AuthError::Session(e) => e.code(),
            AuthError::BadRequest(_) => "invalid_request",
            AuthError::CsrfMismatch => "csrf_mismatch",
            AuthError::MethodNotAllowed(_) => "method_not_allowed",
            AuthError::Client(e) => e.code(),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
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
pub(crate) fn json_error(status: StatusCode, code: &str) -> Response {
    let mut response = (status, ErrorResponse::new(status.as_u16(), code).body()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(ErrorResponse::CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpkit::error::{CallbackError, Endpoint, Error};
    use rpkit::StateError;

    fn core(e: Error) -> AuthError {
        AuthError::Client(ClientError::Core(e))
    }

    #[test]
    fn client_errors_follow_the_core_table() {
        let replayed = core(Error::State(StateError::Unknown { session_empty: false }));
        assert_eq!((replayed.status(), replayed.code()), (StatusCode::BAD_REQUEST, "state_unknown"));
        assert_eq!(core(Error::Http { endpoint: Endpoint::Token, status: 503 }).status(), StatusCode::BAD_GATEWAY);
        assert_eq!(core(Error::NoRefreshToken).status(), StatusCode::UNAUTHORIZED);
        let unknown = AuthError::Client(ClientError::UnknownClient { name: "nope".into() });
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn adapter_errors_are_401_400_and_500() {
        assert_eq!(
            (AuthError::LoginRequired.status(), AuthError::LoginRequired.code()),
            (StatusCode::UNAUTHORIZED, "login_required")
        );
        let bad = AuthError::BadRequest("method");
        assert_eq!((bad.status(), bad.code()), (StatusCode::BAD_REQUEST, "invalid_request"));
        assert_eq!(AuthError::Session(SessionError::NoSessionLayer).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn response_body_is_json_with_only_the_code() {
        let e = core(Error::Callback(CallbackError::IssuerMismatch {
            expected: "https://op".into(),
            found: "<script>".into(),
        }));
        let response = e.into_response();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"invalid_iss"}"#);
    }
}
