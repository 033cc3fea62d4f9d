//! The axum glue's error: the framework-neutral [`WebError`] or a session failure, both
//! answered by the one status table of [`Fault`].

use crate::session::SessionError;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rpkit::client::web::{ErrorResponse, Fault, WebError};
use rpkit::client::ClientError;

/// Everything that can go wrong in a login, logout or API call through rpkit-axum.
///
/// As an axum response ([`IntoResponse`]) it is [`ErrorResponse::to_http`]: a JSON body
/// `{"error": "<code>"}`, `Cache-Control: no-store`, and the status of the table on
/// [`Fault`] (`400` the browser's input, `401` login needed, `403` CSRF, `404` unknown
/// client, `405` method, `500` configuration or server, `502` the provider, `503` a
/// shared session store down). The body never contains a secret, a code, a state or a
/// token.
///
/// ```
/// use axum::response::IntoResponse;
/// use http::StatusCode;
/// use rpkit::client::web::WebError;
/// use rpkit::client::ClientError;
/// use rpkit::{Error, StateError};
/// use rpkit_axum::AuthError;
///
/// let repeated = AuthError::from(ClientError::from(Error::State(StateError::Repeated)));
/// assert_eq!((repeated.status(), repeated.code()), (StatusCode::BAD_REQUEST, "state_repeated"));
/// assert_eq!(AuthError::from(WebError::LoginRequired).into_response().status(), StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A step of the flow refused or failed ([`WebError`]: the client, a missing login,
    /// a bad request, a CSRF mismatch, a wrong method).
    #[error(transparent)]
    Web(#[from] WebError),
    /// The session could not be read or written.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<ClientError> for AuthError {
    fn from(e: ClientError) -> Self {
        AuthError::Web(e.into())
    }
}

impl AuthError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        self.answer().0
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.fault().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A short, stable error code for the response body (`state_unknown`,
    /// `access_denied`, `provider_unreachable`, `login_required`, …).
    pub fn code(&self) -> &str {
        self.answer().1
    }

    fn answer(&self) -> (Fault, &str) {
        match self {
            AuthError::Web(e) => (e.fault(), e.code()),
            AuthError::Session(e) => (e.fault(), e.code()),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (fault, code) = self.answer();
        if fault.is_server_error() {
            tracing::error!(error = %self, code, "OAuth request failed");
        } else if fault != Fault::LoginRequired {
            tracing::warn!(error = %self, code, "OAuth request rejected");
        }
        into_axum(ErrorResponse::for_fault(fault, code).to_http())
    }
}

/// A core response as an axum one.
pub(crate) fn into_axum(response: http::Response<Vec<u8>>) -> Response {
    response.map(axum::body::Body::from).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use rpkit::error::{CallbackError, Error};

    #[test]
    fn session_failures_are_500_and_an_unreachable_store_503() {
        assert_eq!(AuthError::from(SessionError::NoSessionLayer).status(), StatusCode::INTERNAL_SERVER_ERROR);
        let down = AuthError::from(SessionError::Unavailable("connection refused".into()));
        assert_eq!((down.status(), down.code()), (StatusCode::SERVICE_UNAVAILABLE, "session_store_unavailable"));
    }

    #[tokio::test]
    async fn response_body_is_json_with_only_the_code() {
        let e = AuthError::from(ClientError::Core(Error::Callback(CallbackError::IssuerMismatch {
            expected: "https://op".into(),
            found: "<script>".into(),
        })));
        let response = e.into_response();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"invalid_iss"}"#);
    }
}
