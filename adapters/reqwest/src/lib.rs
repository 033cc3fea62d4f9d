//! # rpkit-reqwest — an [`HttpClient`] for rpkit over [`reqwest`]
//!
//! [`ReqwestClient`] sends the requests that the sans-IO core builds and hands back the
//! whole response, with the guarantees the [`HttpClient`] contract asks for:
//!
//! - **no redirects** are followed: a 3xx comes back as it is ([RFC 9700 §4.11]);
//! - a **connect timeout** and a **total timeout** (headers and body), 10 s each by default,
//!   reported as [`TransportError::Timeout`];
//! - a **response size cap**: the body is read chunk by chunk and reading stops as soon as
//!   it passes `max_body` ([`TransportError::TooLarge`]); a `Content-Length` above the cap
//!   is refused before any of the body is read;
//! - a `User-Agent` of `rpkit/<version>` unless the request carries one;
//! - idle pooled connections dropped after [`POOL_IDLE_TIMEOUT`] (4 s), before common
//!   servers' keep-alive timeouts close them under a request;
//! - **TLS required**: a request to anything but `https://`, or plain `http://` to a
//!   loopback host, is refused before anything is sent
//!   ([`TransportError::InsecureTransport`]); see
//!   [`danger_allow_insecure_http`](ReqwestClientBuilder::danger_allow_insecure_http);
//! - TLS by rustls (ring), never native-tls or OpenSSL. The `webpki-roots` feature
//!   (default) trusts the Mozilla roots, `native-roots` the operating system's.
//!
//! Error text names the URL without its query, fragment or user info, and never the
//! request's headers or body: a query may hold an authorization code, headers and bodies
//! hold client secrets and tokens.
//!
//! ```no_run
//! use rpkit::client::HttpClient;
//! use rpkit_reqwest::ReqwestClient;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let http = ReqwestClient::builder().timeout(std::time::Duration::from_secs(5)).build()?;
//! let request = http::Request::get("https://op.example/.well-known/openid-configuration")
//!     .header("accept", "application/json")
//!     .body(Vec::new())?;
//! let response = http.send(request, rpkit::wire::MAX_RESPONSE_BYTES).await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```
//!
//! [RFC 9700 §4.11]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use http::header::{HeaderValue, USER_AGENT};
use rpkit::client::adapter::{check_transport, error_chain, redacted_url, TransportPolicy};
use rpkit::client::{HttpClient, TransportError};
use std::error::Error as _;
use std::time::Duration;

/// How long an idle pooled connection is kept: under the 5 s keep-alive timeout of
/// Node.js and Apache servers, so that a request never goes out on a connection the
/// server is closing at that moment (a `connection reset` on, e.g., a device-flow poll
/// every 5–6 s). Found against oidc-provider, which runs on Node.js.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// The default connect timeout and total timeout: 10 seconds each (Authlib's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` sent when the request has none: `rpkit/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("rpkit/", env!("CARGO_PKG_VERSION"));

/// Largest buffer reserved up front from a response's `Content-Length`; the rest grows as
/// bytes actually arrive, so a lying header cannot make us allocate the whole cap.
const MAX_PREALLOCATE: usize = 64 * 1024;

/// An [`HttpClient`] over a [`reqwest::Client`] that never follows redirects.
///
/// Cheap to clone (the connection pool is shared). Build one with [`ReqwestClient::new`],
/// [`ReqwestClient::builder`] or [`ReqwestClient::from_timeout_secs`] (for Authlib's
/// `client_kwargs.timeout`), or wrap a client you configured with
/// [`ReqwestClient::from_client`].
///
/// # Security
/// Redirects are off: a token endpoint that answers 302 must not get the code or client
/// credentials re-sent somewhere else ([RFC 9700 §4.11]). Plain `http` is refused unless
/// it goes to a loopback host ([`rpkit::wire::is_secure_uri`]), so a misconfigured
/// endpoint cannot send a code or secret in clear text. The response body is capped per
/// call by `max_body`.
///
/// ```
/// use rpkit_reqwest::ReqwestClient;
/// use std::time::Duration;
///
/// let http = ReqwestClient::builder()
///     .connect_timeout(Duration::from_secs(3))
///     .timeout(Duration::from_secs(10))
///     .user_agent("my-app/1.0 rpkit")
///     .build()
///     .expect("a valid configuration");
/// assert_eq!(http.timeout(), Duration::from_secs(10));
///
/// // Authlib's `client_kwargs = {"timeout": 2.5}`:
/// let http = ReqwestClient::from_timeout_secs(2.5).expect("a positive timeout");
/// assert_eq!(http.timeout(), Duration::from_millis(2500));
/// assert!(ReqwestClient::from_timeout_secs(-1.0).is_err());
/// ```
///
/// [RFC 9700 §4.11]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
    timeout: Duration,
    user_agent: HeaderValue,
    policy: TransportPolicy,
}

impl ReqwestClient {
    /// A client with the defaults: 10 s connect and total timeouts, `rpkit/<version>`.
    ///
    /// # Errors
    /// [`BuildError::Backend`] if the TLS backend cannot be set up.
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// A builder to set the timeouts, user agent and HTTPS-only mode.
    pub fn builder() -> ReqwestClientBuilder {
        ReqwestClientBuilder::default()
    }

    /// A client whose connect and total timeouts are both `secs` seconds, as Authlib's
    /// `client_kwargs.timeout` gives them.
    ///
    /// # Errors
    /// [`BuildError::InvalidTimeout`] unless `secs` is finite and positive;
    /// [`BuildError::Backend`] if the TLS backend cannot be set up.
    pub fn from_timeout_secs(secs: f64) -> Result<Self, BuildError> {
        Self::builder().timeout_secs(secs)?.build()
    }

    /// Wraps a [`reqwest::Client`] you built yourself (for proxies, extra root
    /// certificates, client certificates…).
    ///
    /// The total timeout of each request is this adapter's ([`DEFAULT_TIMEOUT`], change it
    /// with [`with_timeout`](Self::with_timeout)) and overrides the client's; the connect
    /// timeout is the client's own.
    ///
    /// # Security
    /// **You must have disabled redirects** on that client
    /// (`.redirect(reqwest::redirect::Policy::none())`); reqwest follows up to 10 by
    /// default, which would re-send a token request to wherever a 3xx points. This cannot
    /// be checked from here.
    ///
    /// ```
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .connect_timeout(std::time::Duration::from_secs(5))
    ///     .build()
    ///     .expect("a TLS backend");
    /// let http = rpkit_reqwest::ReqwestClient::from_client(client);
    /// # let _ = http;
    /// ```
    ///
    /// Requests without TLS are refused as with [`ReqwestClient::new`]; change that with
    /// [`with_transport_policy`](Self::with_transport_policy).
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestClient {
            client,
            timeout: DEFAULT_TIMEOUT,
            user_agent: HeaderValue::from_static(DEFAULT_USER_AGENT),
            policy: TransportPolicy::default(),
        }
    }

    /// Sets which URLs this client sends to (default: `https`, or `http` to loopback).
    ///
    /// # Security
    /// [`TransportPolicy::DangerAllowInsecureHttp`] sends codes, tokens and client
    /// secrets in clear text to any host: only for a test network you control.
    #[must_use]
    pub fn with_transport_policy(mut self, policy: TransportPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Which URLs this client sends to.
    pub fn transport_policy(&self) -> TransportPolicy {
        self.policy
    }

    /// Sets the total timeout of each request (connecting, headers and the whole body).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` sent on requests that carry none.
    ///
    /// # Errors
    /// [`BuildError::InvalidUserAgent`] if it is not a valid header value.
    pub fn with_user_agent(mut self, user_agent: &str) -> Result<Self, BuildError> {
        self.user_agent = HeaderValue::from_str(user_agent).map_err(|_| BuildError::InvalidUserAgent)?;
        Ok(self)
    }

    /// The total timeout of each request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The wrapped [`reqwest::Client`].
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        check_transport(request.uri(), self.policy)?;
        let url = redacted_url(request.uri());
        let mut request = reqwest::Request::try_from(request).map_err(|e| map_error(e, &url))?;
        if !request.headers().contains_key(USER_AGENT) {
            request.headers_mut().insert(USER_AGENT, self.user_agent.clone());
        }
        *request.timeout_mut() = Some(self.timeout);

        let mut response = self.client.execute(request).await.map_err(|e| map_error(e, &url))?;
        let declared = response.content_length();
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(TransportError::TooLarge { limit: max_body });
        }
        let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(usize::MAX)).min(MAX_PREALLOCATE);
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(|e| map_error(e, &url))? {
            if chunk.len() > max_body - body.len() {
                return Err(TransportError::TooLarge { limit: max_body });
            }
            body.extend_from_slice(&chunk);
        }

        let mut out = http::Response::new(body);
        *out.status_mut() = response.status();
        *out.version_mut() = response.version();
        *out.headers_mut() = std::mem::take(response.headers_mut());
        Ok(out)
    }
}

/// Configures a [`ReqwestClient`]: timeouts, user agent, which URLs it sends to.
///
/// ```
/// use std::time::Duration;
/// let http = rpkit_reqwest::ReqwestClient::builder()
///     .timeout(Duration::from_secs(5))
///     .https_only(true)
///     .build()
///     .expect("a valid configuration");
/// # let _ = http;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ReqwestClientBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    https_only: bool,
    allow_insecure_http: bool,
}

impl Default for ReqwestClientBuilder {
    fn default() -> Self {
        ReqwestClientBuilder {
            connect_timeout: DEFAULT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            https_only: false,
            allow_insecure_http: false,
        }
    }
}

impl ReqwestClientBuilder {
    /// How long to wait for the TCP and TLS connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take in all, connecting and reading the whole body
    /// included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets both timeouts to `secs` seconds, as Authlib's `client_kwargs.timeout`.
    ///
    /// # Errors
    /// [`BuildError::InvalidTimeout`] unless `secs` is finite and positive.
    pub fn timeout_secs(self, secs: f64) -> Result<Self, BuildError> {
        let timeout = timeout_from_secs(secs)?;
        Ok(self.connect_timeout(timeout).timeout(timeout))
    }

    /// The `User-Agent` sent on requests that carry none (default `rpkit/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Refuse plain `http://` even to a loopback host (default off: `https://` or
    /// `http://` to loopback, so that development providers work; nothing else).
    pub fn https_only(mut self, on: bool) -> Self {
        self.https_only = on;
        self
    }

    /// Let plain `http://` requests go to **any** host (default off).
    ///
    /// [`https_only`](Self::https_only) wins over this.
    ///
    /// # Security
    /// Authorization codes, tokens and client secrets then cross the network in clear
    /// text, readable and changeable by anyone on the path
    /// ([RFC 9700 §4.1](https://www.rfc-editor.org/rfc/rfc9700#section-4.1)). Turn it on
    /// only for a test network you control, never in production. Loopback `http` does not
    /// need it.
    pub fn danger_allow_insecure_http(mut self, on: bool) -> Self {
        self.allow_insecure_http = on;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`BuildError::InvalidUserAgent`] for a user agent that is not a header value;
    /// [`BuildError::Backend`] if the TLS backend cannot be set up.
    pub fn build(self) -> Result<ReqwestClient, BuildError> {
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| BuildError::InvalidUserAgent)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .https_only(self.https_only)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(|e| BuildError::Backend(error_chain(&e)))?;
        let policy = if self.https_only {
            TransportPolicy::HttpsOnly
        } else if self.allow_insecure_http {
            TransportPolicy::DangerAllowInsecureHttp
        } else {
            TransportPolicy::HttpsOrLoopback
        };
        Ok(ReqwestClient { client, timeout: self.timeout, user_agent, policy })
    }
}

/// Why a [`ReqwestClient`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A timeout given in seconds was not a finite positive number.
    #[error("the timeout must be a finite number of seconds above zero, not {0}")]
    InvalidTimeout(f64),
    /// The user agent contains characters a header value cannot hold.
    #[error("the user agent is not a valid header value")]
    InvalidUserAgent,
    /// reqwest could not build its client (the TLS backend failed to initialise).
    #[error("could not build the HTTP client: {0}")]
    Backend(String),
}

fn timeout_from_secs(secs: f64) -> Result<Duration, BuildError> {
    rpkit::client::adapter::timeout_from_secs(secs).ok_or(BuildError::InvalidTimeout(secs))
}

/// Maps a reqwest error to a [`TransportError`] whose text holds no secret.
fn map_error(err: reqwest::Error, url: &str) -> TransportError {
    if err.is_timeout() {
        return TransportError::Timeout;
    }
    let err = err.without_url();
    let text = format!("{} ({url})", error_chain(&err));
    if err.is_connect() || connection_broke(&err) {
        TransportError::Connect(text)
    } else {
        TransportError::Other(text)
    }
}

/// Whether the error came from a connection that was refused, reset or closed early.
fn connection_broke(err: &reqwest::Error) -> bool {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionRefused | ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
            {
                return true;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() {
                return true;
            }
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_secs_rejects_zero_negative_nan_and_infinite() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::MAX] {
            assert!(matches!(timeout_from_secs(bad), Err(BuildError::InvalidTimeout(_))), "{bad}");
        }
        assert_eq!(timeout_from_secs(2.5).unwrap(), Duration::from_millis(2500));
    }

    #[test]
    fn invalid_user_agent_is_rejected() {
        let err = ReqwestClient::builder().user_agent("bad\nagent").build().unwrap_err();
        assert_eq!(err, BuildError::InvalidUserAgent);
    }

    #[test]
    fn default_user_agent_names_rpkit_and_version() {
        assert_eq!(DEFAULT_USER_AGENT, format!("rpkit/{}", env!("CARGO_PKG_VERSION")));
    }
}
