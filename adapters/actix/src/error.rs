//! Errors of the actix glue and the HTTP responses they become.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rpkit::client::web::{client_error_status, ErrorResponse};
use rpkit::client::ClientError;

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
/// `Cache-Control: no-store` and the status [`AuthError::status`] gives: for a client
/// error, the table of [`ErrorResponse`] (`400` bad input, `401` refresh no longer
/// possible, `404` unknown client, `500` configuration, `502` the provider failed);
/// `401` for [`AuthError::LoginRequired`], `400` for [`AuthError::BadRequest`], `403`
/// for [`AuthError::CsrfMismatch`], `405` for [`AuthError::MethodNotAllowed`], `500`
/// for a session failure. The body never contains a secret, a code, a state or a token.
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
        .insert_header((CONTENT_TYPE, ErrorResponse::CONTENT_TYPE))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(ErrorResponse::new(status.as_u16(), code).body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use rpkit::error::{CallbackError, Endpoint, Error};
    use rpkit::StateError;

    fn core(e: Error) -> AuthError {
        AuthError::Client(ClientError::Core(e))
    }

    #[test]
    fn client_errors_follow_the_core_table() {
        let replayed = core(Error::State(StateError::Unknown { session_empty: true }));
        assert_eq!((replayed.status(), replayed.code()), (StatusCode::BAD_REQUEST, "state_unknown"));
        assert_eq!(core(Error::malformed("not JSON")).status(), StatusCode::BAD_GATEWAY);
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
        assert_eq!(AuthError::Session(SessionError::Serialize).status(), StatusCode::INTERNAL_SERVER_ERROR);
        let missing = AuthError::Session(SessionError::MissingAppData("x"));
        assert_eq!((missing.status(), missing.code()), (StatusCode::INTERNAL_SERVER_ERROR, "server_misconfigured"));
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
