//! The two traits the async client drives the core over: [`HttpClient`] and [`Clock`].

use crate::time::UnixTime;
use async_trait::async_trait;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

/// Sends one HTTP request and returns the whole response.
///
/// Implementations (`rpkit-reqwest`, `rpkit-hyper`, or your own) must:
/// - **not follow redirects** (a token request redirected elsewhere would leak the code
///   or credentials — RFC 9700 §4.11);
/// - enforce a connect and total **timeout** and report it as [`TransportError::Timeout`];
/// - stop reading a body past `max_body` bytes and report [`TransportError::TooLarge`]
///   instead of growing memory;
/// - send the request exactly as given (the core sets `Accept`, `Content-Type`,
///   `Authorization`).
///
/// ```
/// use rpkit::client::{HttpClient, TransportError};
/// struct Refuse;
/// #[async_trait::async_trait]
/// impl HttpClient for Refuse {
///     async fn send(&self, _req: http::Request<Vec<u8>>, _max_body: usize)
///         -> Result<http::Response<Vec<u8>>, TransportError> {
///         Err(TransportError::Connect("offline".into()))
///     }
/// }
/// ```
#[async_trait]
pub trait HttpClient: Send + Sync + 'static {
    /// Sends `request`; reads at most `max_body` bytes of the response body.
    ///
    /// # Errors
    /// A [`TransportError`] for anything that kept a whole HTTP response from arriving.
    /// An HTTP error status is **not** an error here: the core interprets it.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError>;
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The connect or total timeout fired.
    #[error("the request timed out")]
    Timeout,
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The response body exceeded the limit; reading stopped.
    #[error("the response body exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Any other transport failure (TLS, protocol error, invalid URL).
    #[error("transport error: {0}")]
    Other(String),
    /// The request was refused before anything was sent: its URL is neither `https` nor
    /// plain `http` to a loopback host ([`crate::wire::is_secure_uri`]), or the adapter
    /// was told to send `https` only.
    #[error("refused to send a request without TLS ({url})")]
    InsecureTransport {
        /// The URL without user info, query or fragment
        /// ([`adapter::redacted_url`]).
        url: String,
    },
}

/// The current time, for the async client (the core takes `now` as a parameter), and
/// waiting (the device flow's polling loop).
pub trait Clock: Send + Sync + 'static {
    /// Now, in seconds since the epoch.
    fn now(&self) -> UnixTime;

    /// A future that completes once `duration` has passed on this clock.
    ///
    /// It must not depend on one async runtime. The default waits in real time on
    /// rpkit's timer thread ([`timer_sleep`]); a clock whose time is not the system's
    /// overrides it ([`ManualClock`] moves its own time forward at once).
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(timer_sleep(duration))
    }
}

/// Waits `duration` in real time without an async runtime: one lazily started helper
/// thread (`rpkit-timer`) keeps the pending deadlines and completes each sleep's oneshot
/// channel when its time comes. A dropped sleep is forgotten at the next wake-up.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = std::time::Instant::now();
/// rpkit::client::timer_sleep(std::time::Duration::from_millis(20)).await;
/// assert!(start.elapsed() >= std::time::Duration::from_millis(20));
/// # }
/// ```
pub fn timer_sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
    let (tx, rx) = futures_channel::oneshot::channel();
    if duration.is_zero() {
        let _ = tx.send(());
    } else {
        timer::schedule(Instant::now() + duration, tx);
    }
    async move {
        // An error means the timer thread could not be started: do not spin, return.
        let _ = rx.await;
    }
}

mod timer {
    use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
    use std::time::Instant;

    type Entry = (Instant, futures_channel::oneshot::Sender<()>);

    struct Timer {
        pending: Mutex<Vec<Entry>>,
        wake: Condvar,
    }

    fn timer() -> Option<&'static Timer> {
        static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
        *TIMER.get_or_init(|| {
            let t: &'static Timer =
                Box::leak(Box::new(Timer { pending: Mutex::new(Vec::new()), wake: Condvar::new() }));
            std::thread::Builder::new().name("rpkit-timer".into()).spawn(move || run(t)).ok().map(|_| t)
        })
    }

    pub(super) fn schedule(at: Instant, tx: futures_channel::oneshot::Sender<()>) {
        // Without a timer thread the sender is dropped and the sleep ends at once (the
        // caller's loop is bounded by its deadline all the same).
        if let Some(t) = timer() {
            t.pending.lock().unwrap_or_else(PoisonError::into_inner).push((at, tx));
            t.wake.notify_one();
        }
    }

    fn run(t: &'static Timer) {
        let mut pending = t.pending.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            let mut i = 0;
            while i < pending.len() {
                if pending[i].0 <= now || pending[i].1.is_canceled() {
                    let (_, tx) = pending.swap_remove(i);
                    let _ = tx.send(());
                } else {
                    i += 1;
                }
            }
            pending = match pending.iter().map(|(at, _)| *at).min() {
                Some(next) => {
                    t.wake
                        .wait_timeout(pending, next.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => t.wake.wait(pending).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// The operating system's clock.
///
/// This is the one place in `rpkit` that reads the system time; everything below the
/// client takes `now` as a parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_system_time(SystemTime::now())
    }
}

/// A clock that returns what it was last set to, for tests.
///
/// ```
/// use rpkit::client::{Clock, ManualClock};
/// let clock = ManualClock::new(1_700_000_000);
/// clock.advance(30);
/// assert_eq!(clock.now().as_secs(), 1_700_000_030);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    /// A clock stopped at `secs`.
    pub fn new(secs: u64) -> Self {
        ManualClock(std::sync::atomic::AtomicU64::new(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, secs: u64) {
        self.0.store(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Virtual time: moves the clock forward by `duration` (rounded up to whole seconds)
    /// at once, so a test of a polling loop takes no real time.
    ///
    /// ```
    /// use rpkit::client::{Clock, ManualClock};
    /// let clock = ManualClock::new(100);
    /// let sleep = clock.sleep(std::time::Duration::from_secs(5));
    /// assert_eq!(clock.now().as_secs(), 105);
    /// # drop(sleep);
    /// ```
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
        self.advance(secs);
        Box::pin(std::future::ready(()))
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        (**self).sleep(duration)
    }
}

/// Helpers for [`HttpClient`] implementations, so every adapter reports errors the same
/// way and none leaks a secret.
pub mod adapter {
    use std::error::Error as StdError;
    use std::fmt::Write as _;
    use std::time::Duration;

    /// `scheme://host[:port]/path` of a URI: no user info, query or fragment (a query may
    /// carry a code, user info a password). Use it in [`super::TransportError`] texts.
    ///
    /// ```
    /// use rpkit::client::adapter::redacted_url;
    /// let uri: http::Uri = "https://user:pw@op.example:8443/token?code=SECRET".parse().unwrap();
    /// assert_eq!(redacted_url(&uri), "https://op.example:8443/token");
    /// ```
    pub fn redacted_url(uri: &http::Uri) -> String {
        let mut out = String::new();
        if let Some(scheme) = uri.scheme_str() {
            out.push_str(scheme);
            out.push_str("://");
        }
        if let Some(host) = uri.host() {
            out.push_str(host);
        }
        if let Some(port) = uri.port_u16() {
            let _ = write!(out, ":{port}");
        }
        out.push_str(uri.path());
        out
    }

    /// Which URLs an [`HttpClient`](super::HttpClient) adapter sends to.
    ///
    /// # Security
    /// Tokens, codes and client credentials travel in these requests: without TLS anyone
    /// on the path reads them ([RFC 9700 §4.1](https://www.rfc-editor.org/rfc/rfc9700#section-4.1)).
    /// Only [`TransportPolicy::DangerAllowInsecureHttp`] lets plain `http` leave the
    /// machine.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    #[non_exhaustive]
    pub enum TransportPolicy {
        /// `https`, or plain `http` to a loopback host (the default):
        /// [`crate::wire::is_secure_uri`].
        #[default]
        HttpsOrLoopback,
        /// `https` only, loopback included.
        HttpsOnly,
        /// `https` or plain `http` to any host. For tests on a private network only.
        DangerAllowInsecureHttp,
    }

    /// Refuses, before anything is sent, a request `policy` does not allow: a
    /// [`super::TransportError::InsecureTransport`] naming the URL without its query, or
    /// [`super::TransportError::Other`] for a URL that is not absolute `http(s)`.
    ///
    /// # Errors
    /// As above.
    ///
    /// ```
    /// use rpkit::client::adapter::{check_transport, TransportPolicy};
    /// use rpkit::client::TransportError;
    /// let uri = |s: &str| s.parse::<http::Uri>().unwrap();
    /// let default = TransportPolicy::default();
    /// assert!(check_transport(&uri("https://op.example/token"), default).is_ok());
    /// assert!(check_transport(&uri("http://127.0.0.1:8080/token"), default).is_ok());
    /// assert_eq!(
    ///     check_transport(&uri("http://op.example/token?code=SECRET"), default),
    ///     Err(TransportError::InsecureTransport { url: "http://op.example/token".into() }),
    /// );
    /// assert!(check_transport(&uri("http://127.0.0.1/token"), TransportPolicy::HttpsOnly).is_err());
    /// assert!(check_transport(&uri("http://op.example/"), TransportPolicy::DangerAllowInsecureHttp).is_ok());
    /// ```
    pub fn check_transport(uri: &http::Uri, policy: TransportPolicy) -> Result<(), super::TransportError> {
        let refuse = || super::TransportError::InsecureTransport { url: redacted_url(uri) };
        match (uri.scheme_str(), uri.host()) {
            (Some(scheme), Some(_)) if scheme.eq_ignore_ascii_case("https") => Ok(()),
            (Some(scheme), Some(_)) if scheme.eq_ignore_ascii_case("http") => match policy {
                TransportPolicy::DangerAllowInsecureHttp => Ok(()),
                TransportPolicy::HttpsOrLoopback if crate::wire::is_secure_uri(uri) => Ok(()),
                _ => Err(refuse()),
            },
            (Some(_), Some(_)) => Err(refuse()),
            _ => Err(super::TransportError::Other(format!("not an absolute http(s) URL ({})", redacted_url(uri)))),
        }
    }

    /// The error and its causes, joined by `: `. Call it on an error that does not carry
    /// the request URL (or headers, or body).
    pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(e) = source {
            let _ = write!(text, ": {e}");
            source = e.source();
        }
        text
    }

    /// A timeout from `client_kwargs.timeout` seconds: positive and finite, else `None`.
    ///
    /// ```
    /// use rpkit::client::adapter::timeout_from_secs;
    /// assert_eq!(timeout_from_secs(2.5), Some(std::time::Duration::from_millis(2500)));
    /// assert_eq!(timeout_from_secs(0.0), None);
    /// assert_eq!(timeout_from_secs(f64::NAN), None);
    /// ```
    pub fn timeout_from_secs(secs: f64) -> Option<Duration> {
        Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero())
    }
}
