//! Request and response plumbing shared by every endpoint module.
//!
//! The core's requests are `http::Request<Vec<u8>>`; responses come back as
//! `http::Response<B>` with `B: AsRef<[u8]>`. Bodies larger than
//! [`MAX_RESPONSE_BYTES`] are refused before any parsing.

use crate::error::{Endpoint, Error};
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, Request, Response};

/// The largest response body the core parses (1 MiB). HTTP adapters should stop
/// reading at this size too, so memory does not grow with a hostile provider.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// `application/x-www-form-urlencoded` content type.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_encode<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// Parses an absolute URL, naming `what` in the error.
///
/// # Errors
/// [`Error::Malformed`] when `text` is not an absolute URL.
pub fn parse_url(text: &str, what: &str) -> Result<url::Url, Error> {
    url::Url::parse(text).map_err(|_| Error::unusable_config(format!("{what}: not an absolute URL")))
}

/// Whether `host` is a loopback host: `127.0.0.0/8`, `::1` or `localhost`.
///
/// ```
/// assert!(rpkit::wire::is_loopback_host(&url::Host::Domain("localhost")));
/// assert!(!rpkit::wire::is_loopback_host(&url::Host::Domain("op.example")));
/// ```
pub fn is_loopback_host<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => d.as_ref().eq_ignore_ascii_case("localhost"),
    }
}

/// Whether a request to `url` is protected by TLS, or is plain `http` to a loopback host
/// (a development address that never leaves the machine).
///
/// Every endpoint the core sends a token, a code, a secret or a credential to must pass
/// this check ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1),
/// [§3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2),
/// [RFC 9700 §4.1](https://www.rfc-editor.org/rfc/rfc9700#section-4.1)); the HTTP
/// adapters apply the same rule to everything they send.
///
/// ```
/// use rpkit::wire::is_secure_transport;
/// let ok = |s: &str| is_secure_transport(&url::Url::parse(s).unwrap());
/// assert!(ok("https://op.example/token"));
/// assert!(ok("http://127.0.0.1:8000/token"));
/// assert!(ok("http://[::1]/token"));
/// assert!(ok("http://localhost/token"));
/// assert!(!ok("http://op.example/token"));
/// assert!(!ok("http://127.0.0.1.op.example/token"));
/// assert!(!ok("ftp://op.example/token"));
/// ```
pub fn is_secure_transport(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url.host().as_ref().is_some_and(is_loopback_host),
        _ => false,
    }
}

/// As [`is_secure_transport`], for an `http::Uri` (what the HTTP adapters send).
///
/// ```
/// use rpkit::wire::is_secure_uri;
/// assert!(is_secure_uri(&"https://op.example/x".parse().unwrap()));
/// assert!(is_secure_uri(&"http://127.0.0.1:9/x".parse().unwrap()));
/// assert!(!is_secure_uri(&"http://op.example/x".parse().unwrap()));
/// ```
pub fn is_secure_uri(uri: &http::Uri) -> bool {
    url::Url::parse(&uri.to_string()).is_ok_and(|u| is_secure_transport(&u))
}

/// A POST with a form body and `Accept: application/json`.
///
/// # Errors
/// [`Error::Malformed`] when `url` is not a valid request URI.
pub fn post_form(url: &str, body: String) -> Result<RequestBuilder, Error> {
    let builder = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    Ok(RequestBuilder { builder, body: body.into_bytes() })
}

/// A GET with `Accept` set.
///
/// # Errors
/// [`Error::Malformed`] when `url` is not a valid request URI.
pub fn get(url: &str, accept: &'static str) -> Result<RequestBuilder, Error> {
    let builder = Request::builder().method(Method::GET).uri(url).header(ACCEPT, HeaderValue::from_static(accept));
    Ok(RequestBuilder { builder, body: Vec::new() })
}

/// An `http::request::Builder` with its body, finished by [`RequestBuilder::build`].
#[derive(Debug)]
pub struct RequestBuilder {
    builder: http::request::Builder,
    body: Vec<u8>,
}

impl RequestBuilder {
    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: http::header::HeaderName, value: HeaderValue) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Builds the request.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the URI or a header was invalid.
    pub fn build(self) -> Result<Request<Vec<u8>>, Error> {
        self.builder.body(self.body).map_err(|_| Error::unusable_config("request: invalid URI or header"))
    }
}

/// Checks size and returns the body bytes of a response.
///
/// # Errors
/// [`Error::TooLarge`] past [`MAX_RESPONSE_BYTES`].
pub fn body_of<B: AsRef<[u8]>>(response: &Response<B>, endpoint: Endpoint) -> Result<&[u8], Error> {
    let body = response.body().as_ref();
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(Error::TooLarge { endpoint, limit: MAX_RESPONSE_BYTES });
    }
    Ok(body)
}

/// The response's media type (`Content-Type` without parameters), lowercased.
pub fn media_type<B>(response: &Response<B>) -> Option<String> {
    let ct = response.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode([("a b", "c&d=e"), ("x", "é")]), "a+b=c%26d%3De&x=%C3%A9");
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let resp = Response::new(vec![b'a'; MAX_RESPONSE_BYTES + 1]);
        assert_eq!(
            body_of(&resp, Endpoint::Token),
            Err(Error::TooLarge { endpoint: Endpoint::Token, limit: MAX_RESPONSE_BYTES })
        );
        let ok = Response::new(vec![b'a'; 10]);
        assert_eq!(body_of(&ok, Endpoint::Token).unwrap().len(), 10);
    }

    #[test]
    fn media_type_drops_parameters() {
        let resp = Response::builder().header(CONTENT_TYPE, "Application/JSON; charset=utf-8").body(()).unwrap();
        assert_eq!(media_type(&resp).as_deref(), Some("application/json"));
    }

    #[test]
    fn post_form_sets_accept_and_content_type() {
        let req = post_form("https://op.example/token", "a=b".into()).unwrap().build().unwrap();
        assert_eq!(req.headers()[ACCEPT], "application/json");
        assert_eq!(req.headers()[CONTENT_TYPE], FORM_CONTENT_TYPE);
        assert_eq!(req.body(), b"a=b");
    }

    #[test]
    fn invalid_uris_are_errors_not_panics() {
        assert!(post_form("not a uri", String::new()).unwrap().build().is_err());
    }
}
