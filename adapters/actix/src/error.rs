//! The actix glue's error: the framework-neutral [`WebError`] or a session failure, both
//! answered by the one status table of [`Fault`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use rpkit::client::web::{ErrorResponse, Fault, WebError, STORE_UNAVAILABLE_CODE};
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
    /// A shared session store cannot be reached (`503`): for stores that report it.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

impl SessionError {
    /// The short code answered in error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::Serialize => "session_serialize_failed",
            SessionError::MissingAppData(_) => "server_misconfigured",
            SessionError::Unavailable(_) => STORE_UNAVAILABLE_CODE,
        }
    }

    /// Whose fault it is: the server's (`500`), or an unreachable store's (`503`).
    pub fn fault(&self) -> Fault {
        if let SessionError::Unavailable(_) = self {
            Fault::StoreUnavailable
        } else {
            Fault::Server
        }
    }
}

/// Everything that can go wrong in a login, logout or API call through rpkit-actix.
///
/// As an actix [`ResponseError`] it is [`ErrorResponse::to_http`]: a JSON body
/// `{"error": "<code>"}`, `Cache-Control: no-store`, and the status of the table on
/// [`Fault`] (`400` the browser's input, `401` login needed, `403` CSRF, `404` unknown
/// client, `405` method, `500` configuration or server, `502` the provider, `503` a
/// shared session store down).
///
/// ```
/// use actix_web::http::StatusCode;
/// use actix_web::ResponseError;
/// use rpkit::client::web::WebError;
/// use rpkit::client::ClientError;
/// use rpkit::{Error, StateError};
/// use rpkit_actix::AuthError;
///
/// let repeated = AuthError::from(ClientError::from(Error::State(StateError::Repeated)));
/// assert_eq!((repeated.status(), repeated.code()), (StatusCode::BAD_REQUEST, "state_repeated"));
/// assert_eq!(AuthError::from(WebError::LoginRequired).error_response().status(), StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A step of the flow refused or failed ([`WebError`]).
    #[error(transparent)]
    Web(#[from] WebError),
    /// The session could not be written.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<ClientError> for AuthError {
    fn from(e: ClientError) -> Self {
        AuthError::Web(WebError::Client(e))
    }
}

impl AuthError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            AuthError::Web(e) => e.fault(),
            AuthError::Session(e) => e.fault(),
        }
    }

    /// A short, stable error code for the response body.
    pub fn code(&self) -> &str {
        match self {
            AuthError::Web(e) => e.code(),
            AuthError::Session(e) => e.code(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.fault().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let (fault, code) = (self.fault(), self.code());
        match fault {
            Fault::LoginRequired => {}
            f if f.is_server_error() => tracing::error!(error = %self, code, "OAuth request failed"),
            _ => tracing::warn!(error = %self, code, "OAuth request rejected"),
        }
        into_actix(ErrorResponse::for_fault(fault, code).to_http())
    }
}

/// A core response as an actix one (actix-web has its own `http` types).
pub(crate) fn into_actix(response: http::Response<Vec<u8>>) -> HttpResponse {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(response.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use rpkit::error::{CallbackError, Error};

    #[test]
    fn session_failures_are_500_and_an_unreachable_store_503() {
        assert_eq!(AuthError::Session(SessionError::Serialize).status(), StatusCode::INTERNAL_SERVER_ERROR);
        let missing = AuthError::Session(SessionError::MissingAppData("x"));
        assert_eq!((missing.status(), missing.code()), (StatusCode::INTERNAL_SERVER_ERROR, "server_misconfigured"));
        assert_eq!(
            AuthError::Session(SessionError::Unavailable("down".into())).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn response_body_is_json_with_only_the_code() {
        let e = AuthError::from(ClientError::Core(Error::Callback(CallbackError::IssuerMismatch {
            expected: "https://op".into(),
            found: "<script>".into(),
        })));
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers().get(CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(response.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        let body = response.into_body().try_into_bytes().unwrap();
        assert_eq!(&body[..], br#"{"error":"invalid_iss"}"#);
    }
}
