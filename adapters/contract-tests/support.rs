//! A loopback test server and the HttpClient contract checks run against it.
//!
//! Shared by `rpkit-reqwest` and `rpkit-hyper` (each includes it with `#[path]`): both
//! adapters must pass the same contract.

#![allow(dead_code)]

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rpkit::client::{HttpClient, TransportError};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket};

/// The size of the large bodies the server sends.
pub const BIG: usize = 5 * 1024 * 1024;
/// The cap used against them.
pub const CAP: usize = 1024 * 1024;
/// The short timeout the adapters under test are configured with.
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
/// No test may take longer than this.
const BOUND: Duration = Duration::from_secs(5);

/// What the server saw of the last request to `/echo`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct State {
    hits: Mutex<HashMap<String, usize>>,
    last: Mutex<Option<Recorded>>,
    /// Bytes of a large body handed to hyper to write.
    pub big_sent: AtomicUsize,
    /// A large body reached its end.
    pub big_finished: AtomicBool,
    /// A large body was dropped (the connection ended, one way or another).
    pub big_dropped: AtomicBool,
    /// Connections that ended with an error (reset, closed mid-response).
    pub conn_errors: AtomicUsize,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 with one route per behaviour under test.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<State>,
}

impl Server {
    /// Binds an ephemeral loopback port and serves until the test's runtime shuts down.
    pub async fn start() -> Server {
        let socket = TcpSocket::new_v4().expect("socket");
        // A small send buffer (inherited by accepted sockets) so that a large body cannot
        // vanish into kernel buffers: the server only gets ahead of the client by a little.
        socket.set_send_buffer_size(64 * 1024).expect("SO_SNDBUF");
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let listener: TcpListener = socket.listen(64).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State::default());
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let st = st.clone();
                tokio::spawn(async move {
                    let for_svc = st.clone();
                    let svc = hyper::service::service_fn(move |req| handle(for_svc.clone(), req));
                    let result =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                    if result.is_err() {
                        st.conn_errors.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        Server { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    pub fn last(&self) -> Option<Recorded> {
        self.state.last.lock().unwrap().clone()
    }

    /// Waits (bounded) until the large body has been dropped by the server.
    pub async fn wait_big_dropped(&self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.state.big_dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

type Reply = Response<TestBody>;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    use http_body_util::BodyExt;
    let path = req.uri().path().to_owned();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let reply = match path.as_str() {
        "/json" => Response::builder()
            .header("content-type", "application/json")
            .body(TestBody::full(r#"{"ok":true,"n":1}"#))
            .unwrap(),
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Response::new(TestBody::full(""))
        }
        "/big-cl-stall" => {
            Response::builder().header("content-length", BIG.to_string()).body(TestBody::Stall { sent: false }).unwrap()
        }
        "/stall" => Response::builder().header("content-length", "100").body(TestBody::Stall { sent: false }).unwrap(),
        "/big" => Response::new(TestBody::big(state.clone())),
        "/big-cl" => {
            Response::builder().header("content-length", BIG.to_string()).body(TestBody::big(state.clone())).unwrap()
        }
        "/redirect" => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "/target")
            .body(TestBody::full("moved"))
            .unwrap(),
        "/target" => Response::new(TestBody::full("you followed a redirect")),
        "/html500" => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .header("content-type", "text/html")
            .body(TestBody::full("<html><body><h1>Internal Server Error</h1></body></html>"))
            .unwrap(),
        "/echo" => {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
            *state.last.lock().unwrap() = Some(Recorded {
                method: parts.method,
                path_and_query: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                headers: parts.headers,
                body,
            });
            Response::new(TestBody::full("recorded"))
        }
        _ => Response::builder().status(StatusCode::NOT_FOUND).body(TestBody::full("")).unwrap(),
    };
    Ok(reply)
}

/// The server's response bodies.
pub enum TestBody {
    Full(Option<Bytes>),
    /// [`BIG`] bytes in 64 KiB frames, counted as they are handed to hyper.
    Big {
        remaining: usize,
        state: Arc<State>,
    },
    /// Ten bytes, then nothing, forever.
    Stall {
        sent: bool,
    },
}

impl TestBody {
    fn full(s: &'static str) -> Self {
        TestBody::Full(Some(Bytes::from_static(s.as_bytes())))
    }

    fn big(state: Arc<State>) -> Self {
        TestBody::Big { remaining: BIG, state }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        const FRAME: usize = 64 * 1024;
        match self.get_mut() {
            TestBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            TestBody::Big { remaining, state } => {
                if *remaining == 0 {
                    state.big_finished.store(true, Ordering::SeqCst);
                    return Poll::Ready(None);
                }
                let n = FRAME.min(*remaining);
                *remaining -= n;
                state.big_sent.fetch_add(n, Ordering::SeqCst);
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'a'; n])))))
            }
            TestBody::Stall { sent } => {
                if *sent {
                    Poll::Pending
                } else {
                    *sent = true;
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"0123456789")))))
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, TestBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            TestBody::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            TestBody::Full(None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for TestBody {
    fn drop(&mut self) {
        if let TestBody::Big { state, .. } = self {
            state.big_dropped.store(true, Ordering::SeqCst);
        }
    }
}

fn get(url: &str) -> Request<Vec<u8>> {
    Request::get(url).body(Vec::new()).unwrap()
}

/// Runs `fut` but fails the test if it takes longer than [`BOUND`].
async fn bounded<F: std::future::Future>(fut: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = tokio::time::timeout(BOUND, fut).await.expect("the call did not finish within the test's bound");
    (out, start.elapsed())
}

// ---- the contract ------------------------------------------------------------------------

pub async fn json_response_comes_back_whole(client: &dyn HttpClient) {
    let server = Server::start().await;
    let req = Request::get(server.url("/json")).header("accept", "application/json").body(Vec::new()).unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    let res = res.expect("a response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(res.body()).expect("JSON");
    assert_eq!(v, serde_json::json!({"ok": true, "n": 1}));
}

/// `client` must be configured with [`SHORT_TIMEOUT`].
pub async fn hanging_server_times_out(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, elapsed) = bounded(client.send(get(&server.url("/hang")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::Timeout);
    assert!(elapsed >= SHORT_TIMEOUT - Duration::from_millis(50), "fired too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "fired too late: {elapsed:?}");
}

/// `client` must be configured with [`SHORT_TIMEOUT`].
pub async fn stalled_body_times_out(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, elapsed) = bounded(client.send(get(&server.url("/stall")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::Timeout);
    assert!(elapsed < Duration::from_secs(3), "fired too late: {elapsed:?}");
}

pub async fn oversized_streamed_body_is_cut_off(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, elapsed) = bounded(client.send(get(&server.url("/big")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::TooLarge { limit: CAP });
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    server.wait_big_dropped().await;
    let sent = server.state.big_sent.load(Ordering::SeqCst);
    assert!(server.state.big_dropped.load(Ordering::SeqCst), "the server never saw the connection end");
    assert!(!server.state.big_finished.load(Ordering::SeqCst), "the whole body was sent ({sent} bytes)");
    assert!(sent < BIG, "the whole body was sent ({sent} bytes)");
}

pub async fn oversized_content_length_is_refused_before_the_body(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, elapsed) = bounded(client.send(get(&server.url("/big-cl")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::TooLarge { limit: CAP });
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    server.wait_big_dropped().await;
    let sent = server.state.big_sent.load(Ordering::SeqCst);
    assert!(!server.state.big_finished.load(Ordering::SeqCst), "the whole body was sent ({sent} bytes)");
    assert!(sent < BIG, "the whole body was sent ({sent} bytes)");
}

/// `client` must be configured with [`SHORT_TIMEOUT`]: a client that waited for the body
/// instead of trusting the declared length would time out.
pub async fn declared_oversize_is_refused_without_waiting_for_the_body(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, elapsed) = bounded(client.send(get(&server.url("/big-cl-stall")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::TooLarge { limit: CAP });
    assert!(elapsed < SHORT_TIMEOUT, "waited for the body: {elapsed:?}");
}

pub async fn body_exactly_at_the_cap_is_accepted(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/big")), BIG)).await;
    let res = res.expect("a body of exactly max_body bytes is allowed");
    assert_eq!(res.body().len(), BIG);
    assert!(server.state.big_finished.load(Ordering::SeqCst));

    let (res, _) = bounded(client.send(get(&server.url("/big-cl")), BIG - 1)).await;
    assert_eq!(res.unwrap_err(), TransportError::TooLarge { limit: BIG - 1 });
}

pub async fn redirect_is_returned_not_followed(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/redirect")), CAP)).await;
    let res = res.expect("a response");
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/target");
    assert_eq!(res.body().as_slice(), b"moved");
    // Give a (wrongly) following client time to make the second request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.hits("/redirect"), 1);
    assert_eq!(server.hits("/target"), 0, "the redirect was followed");
}

pub async fn server_error_page_is_a_response_not_an_error(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/html500")), CAP)).await;
    let res = res.expect("a 500 is a response");
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.headers()["content-type"], "text/html");
    assert!(res.body().starts_with(b"<html>"));
}

pub async fn default_user_agent_is_sent(client: &dyn HttpClient, expected: &str) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/echo")), CAP)).await;
    res.expect("a response");
    let seen = server.last().expect("the request was recorded");
    let agents: Vec<_> = seen.headers.get_all("user-agent").iter().collect();
    assert_eq!(agents, [expected]);
}

pub async fn request_user_agent_is_kept(client: &dyn HttpClient) {
    let server = Server::start().await;
    let req = Request::get(server.url("/echo")).header("user-agent", "my-app/2.0").body(Vec::new()).unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    res.expect("a response");
    let seen = server.last().expect("the request was recorded");
    let agents: Vec<_> = seen.headers.get_all("user-agent").iter().collect();
    assert_eq!(agents, ["my-app/2.0"]);
}

pub async fn post_body_and_headers_arrive_unchanged(client: &dyn HttpClient) {
    let server = Server::start().await;
    let body = b"grant_type=authorization_code&code=abc%2B123&redirect_uri=https%3A%2F%2Frp%2Fcb".to_vec();
    let req = Request::post(server.url("/echo?x=1&y=%20"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("authorization", "Basic Y2xpZW50OnNlY3JldA==")
        .header("dpop", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
        .body(body.clone())
        .unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    assert_eq!(res.expect("a response").status(), StatusCode::OK);
    let seen = server.last().expect("the request was recorded");
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path_and_query, "/echo?x=1&y=%20");
    assert_eq!(seen.body, body);
    assert_eq!(seen.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(seen.headers["accept"], "application/json");
    assert_eq!(seen.headers["authorization"], "Basic Y2xpZW50OnNlY3JldA==");
    assert_eq!(seen.headers["dpop"], "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
    assert_eq!(seen.headers["content-length"], body.len().to_string());
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

pub async fn refused_connection_is_a_connect_error_without_secrets(client: &dyn HttpClient) {
    let addr = closed_port().await;
    let url = format!("http://alice:PASSWORD-SECRET@{addr}/token?code=CODE-SECRET&state=s#FRAGMENT-SECRET");
    let req = Request::post(url)
        .header("authorization", "Bearer HEADER-SECRET")
        .body(b"client_secret=BODY-SECRET".to_vec())
        .unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    let err = res.unwrap_err();
    let TransportError::Connect(text) = &err else { panic!("expected Connect, got {err:?}") };
    for secret in ["PASSWORD-SECRET", "alice", "CODE-SECRET", "FRAGMENT-SECRET", "HEADER-SECRET", "BODY-SECRET"] {
        assert!(!text.contains(secret), "{secret} leaked into {text:?}");
        assert!(!err.to_string().contains(secret), "{secret} leaked into {err}");
    }
    assert!(text.contains(&format!("{addr}/token")), "the URL without its query is useful: {text:?}");
}

pub async fn relative_uri_is_an_error_not_a_panic(client: &dyn HttpClient) {
    let req = Request::get("/token?code=CODE-SECRET").body(Vec::new()).unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    let err = res.unwrap_err();
    assert!(matches!(err, TransportError::Other(_)), "{err:?}");
    assert!(!err.to_string().contains("CODE-SECRET"), "{err}");
}

/// `http://0.0.0.0:port/…` of the test server: not a loopback address by the core's rule
/// ([`rpkit::wire::is_secure_uri`]), yet Linux and macOS deliver it to the loopback
/// listener, so the server can tell whether anything was sent.
fn non_loopback_http_url(server: &Server, path: &str) -> String {
    format!("http://0.0.0.0:{}{path}", server.addr.port())
}

/// `client` has the default transport policy.
pub async fn plain_http_to_a_non_loopback_host_is_refused_before_sending(client: &dyn HttpClient) {
    let server = Server::start().await;
    let url = non_loopback_http_url(&server, "/echo?code=CODE-SECRET");
    let req = Request::post(url).body(b"client_secret=BODY-SECRET".to_vec()).unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    let err = res.unwrap_err();
    let expected_url = format!("http://0.0.0.0:{}/echo", server.addr.port());
    assert_eq!(err, TransportError::InsecureTransport { url: expected_url }, "{err:?}");
    assert!(!err.to_string().contains("CODE-SECRET"), "{err}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.hits("/echo"), 0, "the request was sent");
}

/// `client` has the default transport policy.
pub async fn non_http_scheme_is_refused_before_sending(client: &dyn HttpClient) {
    let req = Request::get("ftp://op.example/token?code=CODE-SECRET").body(Vec::new()).unwrap();
    let (res, _) = bounded(client.send(req, CAP)).await;
    let err = res.unwrap_err();
    assert_eq!(err, TransportError::InsecureTransport { url: "ftp://op.example/token".into() });
}

/// `client` has the default transport policy: loopback `http` needs no setting.
pub async fn plain_http_to_loopback_is_sent(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/json")), CAP)).await;
    assert_eq!(res.expect("loopback http is allowed").status(), StatusCode::OK);
    assert_eq!(server.hits("/json"), 1);
}

/// `client` was built with `danger_allow_insecure_http(true)`.
pub async fn danger_allow_insecure_http_sends_plain_http_to_any_host(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&non_loopback_http_url(&server, "/json")), CAP)).await;
    assert_eq!(res.expect("the setting lets plain http through").status(), StatusCode::OK);
    assert_eq!(server.hits("/json"), 1);
}

/// `client` was built with `https_only(true)`: even loopback `http` is refused.
pub async fn https_only_refuses_plain_http_even_to_loopback(client: &dyn HttpClient) {
    let server = Server::start().await;
    let (res, _) = bounded(client.send(get(&server.url("/json")), CAP)).await;
    let err = res.unwrap_err();
    assert!(matches!(err, TransportError::InsecureTransport { .. }), "{err:?}");
    assert_eq!(server.hits("/json"), 0);
}

/// `client` must be configured with a connect timeout of [`SHORT_TIMEOUT`].
///
/// A listener whose accept queue is full makes Linux drop further SYNs, so a connect to it
/// hangs until the client gives up — on loopback, without leaving the machine.
pub async fn unanswered_connect_times_out(client: &dyn HttpClient) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let listener = socket.listen(1).expect("listen");
    let addr = listener.local_addr().expect("addr");
    // Fill the queue; never accept.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(100), tokio::net::TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    let (res, elapsed) = bounded(client.send(get(&format!("http://{addr}/")), CAP)).await;
    assert_eq!(res.unwrap_err(), TransportError::Timeout);
    assert!(elapsed < Duration::from_secs(3), "fired too late: {elapsed:?}");
    drop(fillers);
    drop(listener);
}

/// The contract tests every adapter runs, for an adapter type whose builder has
/// `connect_timeout`, `timeout`, `user_agent`, `https_only`, `danger_allow_insecure_http`
/// and `build`, and which has
/// `from_timeout_secs`. Adapter-specific tests stay in the adapter's own test file.
macro_rules! contract_tests {
    ($client:ty, $default_ua:expr) => {
        fn client() -> $client {
            <$client>::builder()
                .connect_timeout(support::SHORT_TIMEOUT)
                .timeout(support::SHORT_TIMEOUT)
                .build()
                .expect("client")
        }

        fn client_with_total_timeout(total: std::time::Duration) -> $client {
            <$client>::builder().connect_timeout(support::SHORT_TIMEOUT).timeout(total).build().expect("client")
        }

        #[tokio::test]
        async fn json_response_comes_back_whole() {
            support::json_response_comes_back_whole(&client()).await;
        }

        #[tokio::test]
        async fn hanging_server_times_out() {
            support::hanging_server_times_out(&client()).await;
        }

        #[tokio::test]
        async fn hanging_server_times_out_with_from_timeout_secs() {
            support::hanging_server_times_out(&<$client>::from_timeout_secs(0.3).expect("client")).await;
        }

        #[tokio::test]
        async fn stalled_body_times_out() {
            support::stalled_body_times_out(&client()).await;
        }

        #[tokio::test]
        async fn unanswered_connect_times_out() {
            support::unanswered_connect_times_out(&client_with_total_timeout(std::time::Duration::from_secs(4))).await;
        }

        #[tokio::test]
        async fn oversized_streamed_body_is_cut_off() {
            support::oversized_streamed_body_is_cut_off(&client()).await;
        }

        #[tokio::test]
        async fn oversized_content_length_is_refused_before_the_body() {
            support::oversized_content_length_is_refused_before_the_body(&client()).await;
        }

        #[tokio::test]
        async fn declared_oversize_is_refused_without_waiting_for_the_body() {
            support::declared_oversize_is_refused_without_waiting_for_the_body(&client()).await;
        }

        #[tokio::test]
        async fn body_exactly_at_the_cap_is_accepted() {
            let client = <$client>::builder().timeout(std::time::Duration::from_secs(4)).build().expect("client");
            support::body_exactly_at_the_cap_is_accepted(&client).await;
        }

        #[tokio::test]
        async fn redirect_is_returned_not_followed() {
            support::redirect_is_returned_not_followed(&client()).await;
        }

        #[tokio::test]
        async fn server_error_page_is_a_response_not_an_error() {
            support::server_error_page_is_a_response_not_an_error(&client()).await;
        }

        #[tokio::test]
        async fn default_user_agent_is_sent() {
            support::default_user_agent_is_sent(&client(), $default_ua).await;
        }

        #[tokio::test]
        async fn configured_user_agent_is_sent() {
            let client = <$client>::builder().user_agent("my-rp/3 rpkit").build().expect("client");
            support::default_user_agent_is_sent(&client, "my-rp/3 rpkit").await;
        }

        #[tokio::test]
        async fn request_user_agent_is_kept() {
            support::request_user_agent_is_kept(&client()).await;
        }

        #[tokio::test]
        async fn post_body_and_headers_arrive_unchanged() {
            support::post_body_and_headers_arrive_unchanged(&client()).await;
        }

        #[tokio::test]
        async fn refused_connection_is_a_connect_error_without_secrets() {
            support::refused_connection_is_a_connect_error_without_secrets(&client()).await;
        }

        #[tokio::test]
        async fn relative_uri_is_an_error_not_a_panic() {
            support::relative_uri_is_an_error_not_a_panic(&client()).await;
        }

        #[tokio::test]
        async fn https_only_refuses_plain_http_even_to_loopback() {
            let client = <$client>::builder().https_only(true).build().expect("client");
            support::https_only_refuses_plain_http_even_to_loopback(&client).await;
        }

        #[tokio::test]
        async fn https_only_wins_over_danger_allow_insecure_http() {
            let client =
                <$client>::builder().https_only(true).danger_allow_insecure_http(true).build().expect("client");
            support::https_only_refuses_plain_http_even_to_loopback(&client).await;
        }

        #[tokio::test]
        async fn plain_http_to_a_non_loopback_host_is_refused_before_sending() {
            support::plain_http_to_a_non_loopback_host_is_refused_before_sending(&client()).await;
            support::plain_http_to_a_non_loopback_host_is_refused_before_sending(&<$client>::new().expect("client"))
                .await;
        }

        #[tokio::test]
        async fn non_http_scheme_is_refused_before_sending() {
            support::non_http_scheme_is_refused_before_sending(&client()).await;
        }

        #[tokio::test]
        async fn plain_http_to_loopback_is_sent() {
            support::plain_http_to_loopback_is_sent(&client()).await;
        }

        #[tokio::test]
        async fn danger_allow_insecure_http_sends_plain_http_to_any_host() {
            let client = <$client>::builder()
                .connect_timeout(support::SHORT_TIMEOUT)
                .timeout(support::SHORT_TIMEOUT)
                .danger_allow_insecure_http(true)
                .build()
                .expect("client");
            support::danger_allow_insecure_http_sends_plain_http_to_any_host(&client).await;
        }
    };
}
