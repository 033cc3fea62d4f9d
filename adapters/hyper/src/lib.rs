//! # rpkit-hyper — an [`HttpClient`] for rpkit over hyper 1 and rustls
//!
//! [`HyperClient`] sends the requests that the sans-IO core builds over hyper-util's
//! pooled client with [`hyper_rustls`] (HTTP/1.1 and HTTP/2), and hands back the whole
//! response, with the guarantees the [`HttpClient`] contract asks for:
//!
//! - **no redirects**: hyper never follows them, a 3xx comes back as it is
//!   ([RFC 9700 §4.11]);
//! - a **connect timeout** and a **total timeout** (headers and body), 10 s each by default,
//!   reported as [`TransportError::Timeout`] (the total one runs on `tokio::time`, so this
//!   adapter needs a Tokio runtime with the time driver);
//! - a **response size cap**: the body is read frame by frame and reading stops as soon as
//!   it passes `max_body` ([`TransportError::TooLarge`]); a `Content-Length` above the cap
//!   is refused before any of the body is read;
//! - a `User-Agent` of `rpkit/<version>` unless the request carries one;
//! - **TLS required**: a request to anything but `https://`, or plain `http://` to a
//!   loopback host, is refused before anything is sent
//!   ([`TransportError::InsecureTransport`]); see
//!   [`danger_allow_insecure_http`](HyperClientBuilder::danger_allow_insecure_http);
//! - TLS by rustls with the ring provider. The `webpki-roots` feature (default) trusts the
//!   Mozilla roots, `native-roots` the operating system's; or pass your own
//!   [`rustls::ClientConfig`].
//!
//! Error text names the URL without its query, fragment or user info, and never the
//! request's headers or body: a query may hold an authorization code, headers and bodies
//! hold client secrets and tokens.
//!
//! ```no_run
//! use rpkit::client::HttpClient;
//! use rpkit_hyper::HyperClient;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let http = HyperClient::builder().timeout(std::time::Duration::from_secs(5)).build()?;
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
use bytes::Bytes;
use http::header::{HeaderValue, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rpkit::client::adapter::{check_transport, error_chain, redacted_url, TransportPolicy};
use rpkit::client::{HttpClient, TransportError};
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The default connect timeout and total timeout: 10 seconds each (Authlib's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` sent when the request has none: `rpkit/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("rpkit/", env!("CARGO_PKG_VERSION"));

/// Largest buffer reserved up front from a response's `Content-Length`; the rest grows as
/// bytes actually arrive, so a lying header cannot make us allocate the whole cap.
const MAX_PREALLOCATE: usize = 64 * 1024;

type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An [`HttpClient`] over hyper 1 (hyper-util's pooled client) and rustls.
///
/// Cheap to clone (the connection pool is shared). Build one with [`HyperClient::new`],
/// [`HyperClient::builder`] or [`HyperClient::from_timeout_secs`] (for Authlib's
/// `client_kwargs.timeout`). Must be used inside a Tokio runtime.
///
/// # Security
/// hyper does not follow redirects, so a token endpoint that answers 302 cannot get the
/// code or client credentials re-sent elsewhere ([RFC 9700 §4.11]). Plain `http` is
/// refused unless it goes to a loopback host ([`rpkit::wire::is_secure_uri`]), so a
/// misconfigured endpoint cannot send a code or secret in clear text. The response body
/// is capped per call by `max_body`.
///
/// ```
/// use rpkit_hyper::HyperClient;
/// use std::time::Duration;
///
/// let http = HyperClient::builder()
///     .connect_timeout(Duration::from_secs(3))
///     .timeout(Duration::from_secs(10))
///     .user_agent("my-app/1.0 rpkit")
///     .build()
///     .expect("a valid configuration");
/// assert_eq!(http.timeout(), Duration::from_secs(10));
///
/// // Authlib's `client_kwargs = {"timeout": 2.5}`:
/// let http = HyperClient::from_timeout_secs(2.5).expect("a positive timeout");
/// assert_eq!(http.timeout(), Duration::from_millis(2500));
/// assert!(HyperClient::from_timeout_secs(f64::NAN).is_err());
/// ```
///
/// [RFC 9700 §4.11]: https://www.rfc-editor.org/rfc/rfc9700#section-4.11
#[derive(Clone)]
pub struct HyperClient {
    pool: Pool,
    timeout: Duration,
    user_agent: HeaderValue,
    policy: TransportPolicy,
}

impl fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperClient")
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HyperClient {
    /// A client with the defaults: 10 s connect and total timeouts, `rpkit/<version>`,
    /// the default root certificates.
    ///
    /// # Errors
    /// [`BuildError::Tls`] if no root certificates are available.
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// A builder to set the timeouts, user agent, HTTPS-only mode and TLS configuration.
    pub fn builder() -> HyperClientBuilder {
        HyperClientBuilder::default()
    }

    /// A client whose connect and total timeouts are both `secs` seconds, as Authlib's
    /// `client_kwargs.timeout` gives them.
    ///
    /// # Errors
    /// [`BuildError::InvalidTimeout`] unless `secs` is finite and positive;
    /// [`BuildError::Tls`] if no root certificates are available.
    pub fn from_timeout_secs(secs: f64) -> Result<Self, BuildError> {
        Self::builder().timeout_secs(secs)?.build()
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

    /// Which URLs this client sends to.
    pub fn transport_policy(&self) -> TransportPolicy {
        self.policy
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        max_body: usize,
        url: &str,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let response = self.pool.request(request).await.map_err(|e| map_error(&e, url))?;
        let (parts, mut incoming) = response.into_parts();
        // hyper reports a declared Content-Length as the exact size hint.
        let declared = incoming.size_hint().upper();
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(TransportError::TooLarge { limit: max_body });
        }
        let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(usize::MAX)).min(MAX_PREALLOCATE);
        let mut body = Vec::with_capacity(capacity);
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| map_error(&e, url))?;
            // Trailers carry nothing the core reads.
            if let Ok(data) = frame.into_data() {
                if data.len() > max_body - body.len() {
                    return Err(TransportError::TooLarge { limit: max_body });
                }
                body.extend_from_slice(&data);
            }
        }
        Ok(http::Response::from_parts(parts, body))
    }
}

#[async_trait]
impl HttpClient for HyperClient {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        check_transport(request.uri(), self.policy)?;
        let url = redacted_url(request.uri());
        let (mut parts, body) = request.into_parts();
        if !parts.headers.contains_key(USER_AGENT) {
            parts.headers.insert(USER_AGENT, self.user_agent.clone());
        }
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        match tokio::time::timeout(self.timeout, self.exchange(request, max_body, &url)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(TransportError::Timeout),
        }
    }
}

/// Which certificates the client trusts.
#[derive(Clone)]
enum Tls {
    #[cfg(feature = "webpki-roots")]
    Webpki,
    #[cfg(feature = "native-roots")]
    Native,
    Config(Arc<rustls::ClientConfig>),
}

/// Configures a [`HyperClient`]: timeouts, user agent, which URLs it sends to, TLS roots.
///
/// ```
/// use std::time::Duration;
/// let http = rpkit_hyper::HyperClient::builder()
///     .timeout(Duration::from_secs(5))
///     .https_only(true)
///     .build()
///     .expect("a valid configuration");
/// # let _ = http;
/// ```
#[derive(Clone)]
#[must_use]
pub struct HyperClientBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    https_only: bool,
    allow_insecure_http: bool,
    tls: Option<Tls>,
}

impl fmt::Debug for HyperClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperClientBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("https_only", &self.https_only)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl Default for HyperClientBuilder {
    fn default() -> Self {
        HyperClientBuilder {
            connect_timeout: DEFAULT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            https_only: false,
            allow_insecure_http: false,
            tls: None,
        }
    }
}

impl HyperClientBuilder {
    /// How long to wait for the TCP connection (default 10 s).
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

    /// Trust the Mozilla root certificates compiled into `webpki-roots` (the default when
    /// that feature is on).
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots(mut self) -> Self {
        self.tls = Some(Tls::Webpki);
        self
    }

    /// Trust the operating system's root certificates (the default when only the
    /// `native-roots` feature is on).
    #[cfg(feature = "native-roots")]
    pub fn native_roots(mut self) -> Self {
        self.tls = Some(Tls::Native);
        self
    }

    /// Use this rustls configuration (your own roots, client certificates…). Its ALPN list
    /// is replaced by `h2, http/1.1`.
    pub fn tls_config(mut self, config: impl Into<Arc<rustls::ClientConfig>>) -> Self {
        self.tls = Some(Tls::Config(config.into()));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`BuildError::InvalidUserAgent`] for a user agent that is not a header value;
    /// [`BuildError::Tls`] if the root certificates cannot be loaded (or neither root
    /// feature is on and no [`tls_config`](Self::tls_config) was given).
    pub fn build(self) -> Result<HyperClient, BuildError> {
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| BuildError::InvalidUserAgent)?;
        let tls = self.tls.clone().map_or_else(default_tls, Ok)?;
        let with_roots = hyper_rustls::HttpsConnectorBuilder::new();
        let with_roots = match tls {
            #[cfg(feature = "webpki-roots")]
            Tls::Webpki => {
                with_roots.with_provider_and_webpki_roots(ring()).map_err(|e| BuildError::Tls(e.to_string()))?
            }
            #[cfg(feature = "native-roots")]
            Tls::Native => {
                with_roots.with_provider_and_native_roots(ring()).map_err(|e| BuildError::Tls(e.to_string()))?
            }
            Tls::Config(config) => with_roots.with_tls_config(Arc::unwrap_or_clone(config)),
        };
        let with_schemes = if self.https_only { with_roots.https_only() } else { with_roots.https_or_http() };

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(self.connect_timeout));
        tcp.set_nodelay(true);
        let connector = with_schemes.enable_all_versions().wrap_connector(tcp);

        let pool = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            // Under Node.js/Apache's 5 s keep-alive: never reuse a connection the
            // server is closing (see rpkit-reqwest's `POOL_IDLE_TIMEOUT`).
            .pool_idle_timeout(Duration::from_secs(4))
            .timer(TokioTimer::new())
            .build(connector);
        let policy = if self.https_only {
            TransportPolicy::HttpsOnly
        } else if self.allow_insecure_http {
            TransportPolicy::DangerAllowInsecureHttp
        } else {
            TransportPolicy::HttpsOrLoopback
        };
        Ok(HyperClient { pool, timeout: self.timeout, user_agent, policy })
    }
}

/// rustls' ring provider, chosen explicitly so that another crate enabling aws-lc-rs in
/// rustls cannot make the choice ambiguous.
#[cfg(any(feature = "webpki-roots", feature = "native-roots"))]
fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[allow(unreachable_code)]
fn default_tls() -> Result<Tls, BuildError> {
    #[cfg(feature = "webpki-roots")]
    return Ok(Tls::Webpki);
    #[cfg(feature = "native-roots")]
    return Ok(Tls::Native);
    Err(BuildError::Tls("no root certificates: enable `webpki-roots` or `native-roots`, or give a tls_config".into()))
}

/// Why a [`HyperClient`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A timeout given in seconds was not a finite positive number.
    #[error("the timeout must be a finite number of seconds above zero, not {0}")]
    InvalidTimeout(f64),
    /// The user agent contains characters a header value cannot hold.
    #[error("the user agent is not a valid header value")]
    InvalidUserAgent,
    /// The TLS configuration could not be set up.
    #[error("could not set up TLS: {0}")]
    Tls(String),
}

fn timeout_from_secs(secs: f64) -> Result<Duration, BuildError> {
    rpkit::client::adapter::timeout_from_secs(secs).ok_or(BuildError::InvalidTimeout(secs))
}

/// Maps a hyper or hyper-util error to a [`TransportError`] whose text holds no secret
/// (neither error type carries the request's URL, headers or body).
fn map_error(err: &(dyn StdError + 'static), url: &str) -> TransportError {
    let mut connect = false;
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(client) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= client.is_connect();
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return TransportError::Timeout;
            }
            connect |= h.is_incomplete_message() || h.is_closed();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return TransportError::Timeout,
                ConnectionRefused | ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => connect = true,
                _ => {}
            }
        }
        source = e.source();
    }
    let text = format!("{} ({url})", error_chain(err));
    if connect {
        TransportError::Connect(text)
    } else {
        TransportError::Other(text)
    }
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
        let err = HyperClient::builder().user_agent("bad\nagent").build().unwrap_err();
        assert_eq!(err, BuildError::InvalidUserAgent);
    }

    #[test]
    fn default_user_agent_names_rpkit_and_version() {
        assert_eq!(DEFAULT_USER_AGENT, format!("rpkit/{}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn io_timeout_in_the_chain_is_a_timeout() {
        let err = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert_eq!(map_error(&err, "http://x/"), TransportError::Timeout);
    }

    #[test]
    fn reset_connection_is_a_connect_error() {
        let err = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(map_error(&err, "http://x/"), TransportError::Connect(_)));
    }
}
