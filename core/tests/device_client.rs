//! The async client's device flow (RFC 8628) and dynamic registration (RFC 7591/7592)
//! over a scripted in-memory provider and a virtual clock: the polling loop's waits
//! advance the clock at once, so minutes of polling take no real time, and the provider
//! records the virtual time of every poll.

use async_trait::async_trait;
use rpkit::client::{ClientError, Clock, HttpClient, ManualClock, OAuth, TransportError};
use rpkit::config::TokenEndpointAuthMethod;
use rpkit::device::DeviceError;
use rpkit::rand::SeededRandom;
use rpkit::registration::{ClientMetadata, RegistrationError};
use rpkit::{ClientConfig, Error};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const T0: u64 = 1_700_000_000;

/// What the provider saw of one request: method, path, `Authorization`, body.
type Seen = (http::Method, String, Option<String>, String);

struct Script {
    clock: Arc<ManualClock>,
    device: String,
    answers: Mutex<VecDeque<(u16, &'static str)>>,
    polls: Mutex<Vec<u64>>,
    seen: Mutex<Vec<Seen>>,
}

fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[async_trait]
impl HttpClient for Script {
    async fn send(&self, req: http::Request<Vec<u8>>, _max: usize) -> Result<http::Response<Vec<u8>>, TransportError> {
        let path = req.uri().path().to_owned();
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = String::from_utf8_lossy(req.body()).into_owned();
        self.seen.lock().unwrap().push((req.method().clone(), path.clone(), auth, body));
        Ok(match (req.method().as_str(), path.as_str()) {
            (_, "/.well-known/openid-configuration") => resp(
                200,
                r#"{"issuer":"https://op.example","token_endpoint":"https://op.example/token",
                    "device_authorization_endpoint":"https://op.example/device",
                    "registration_endpoint":"https://op.example/register"}"#,
            ),
            ("POST", "/device") => resp(200, &self.device),
            ("POST", "/token") => {
                self.polls.lock().unwrap().push(self.clock.now().as_secs());
                let (status, body) =
                    self.answers.lock().unwrap().pop_front().unwrap_or((400, r#"{"error":"authorization_pending"}"#));
                resp(status, body)
            }
            ("POST", "/register") => resp(
                201,
                r#"{"client_id":"c-1","client_secret":"cs-1","registration_access_token":"rat-1",
                    "registration_client_uri":"https://op.example/register/c-1","client_name":"App",
                    "redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#,
            ),
            ("GET", "/register/c-1") => resp(200, r#"{"client_id":"c-1","client_name":"App"}"#),
            ("PUT", "/register/c-1") => {
                resp(200, r#"{"client_id":"c-1","client_name":"Renamed","registration_access_token":"rat-2"}"#)
            }
            ("DELETE", "/register/c-1") => resp(204, ""),
            ("POST", "/register-bad") => resp(400, r#"{"error":"invalid_client_metadata","error_description":"no"}"#),
            _ => resp(404, "{}"),
        })
    }
}

const DEVICE: &str = r#"{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://op.example/activate",
    "expires_in":600,"interval":5}"#;

fn setup(device: &str, answers: Vec<(u16, &'static str)>) -> (Arc<Script>, OAuth, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let script = Arc::new(Script {
        clock: clock.clone(),
        device: device.to_owned(),
        answers: Mutex::new(answers.into()),
        polls: Mutex::default(),
        seen: Mutex::default(),
    });
    let oauth = OAuth::builder_shared(script.clone()).clock(clock.clone()).rng(SeededRandom::new(3)).build();
    (script, oauth, clock)
}

fn device_client() -> ClientConfig {
    ClientConfig::new("tv")
        .client_id("tv-app")
        .server_metadata_url("https://op.example/.well-known/openid-configuration")
        .scope("profile")
        .token_endpoint_auth_method(TokenEndpointAuthMethod::None)
}

const TOKEN: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#;
const PENDING: &str = r#"{"error":"authorization_pending"}"#;
const SLOW: &str = r#"{"error":"slow_down"}"#;

#[tokio::test]
async fn polling_waits_the_interval_and_five_more_seconds_after_slow_down_in_virtual_time() {
    let (script, oauth, clock) = setup(DEVICE, vec![(400, PENDING), (400, SLOW), (400, PENDING), (200, TOKEN)]);
    let client = oauth.register(device_client());
    let a = client.device_authorize(None).await.unwrap();
    assert_eq!(a.user_code, "ABCD-EFGH");
    let started = Instant::now();
    let token = client.poll_device_token(&a).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "virtual time: no real waiting");
    assert_eq!(token.access_token.secret(), "at-1");
    assert_eq!(token.expires_at.map(|t| t.as_secs()), Some(clock.now().as_secs() + 300));
    let polls = script.polls.lock().unwrap().clone();
    assert_eq!(polls.len(), 4);
    let gaps: Vec<u64> = std::iter::once(polls[0] - T0).chain(polls.windows(2).map(|w| w[1] - w[0])).collect();
    // Interval 5 (+1 s for the clock's whole seconds); after the slow_down, 10 (+1) for good.
    assert_eq!(gaps, [6, 6, 11, 11]);
    let seen = script.seen.lock().unwrap();
    let device_req = seen.iter().find(|(_, p, _, _)| p == "/device").unwrap();
    assert!(device_req.3.contains("client_id=tv-app") && device_req.3.contains("scope=profile"));
    let poll = seen.iter().find(|(_, p, _, _)| p == "/token").unwrap();
    assert!(poll.3.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"));
    assert!(poll.3.contains("device_code=dc-1"));
}

#[tokio::test]
async fn polling_stops_at_the_deadline_without_a_poll_past_it() {
    let short = r#"{"device_code":"dc-1","user_code":"U","verification_uri":"https://op.example/a","expires_in":20,"interval":5}"#;
    let (script, oauth, _clock) = setup(short, vec![]);
    let client = oauth.register(device_client());
    let a = client.device_authorize(None).await.unwrap();
    let err = client.poll_device_token(&a).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Device(DeviceError::Deadline { expires_at: T0 + 20 })));
    assert_eq!(err.code(), "expired_token");
    let polls = script.polls.lock().unwrap().clone();
    assert_eq!(polls, [T0 + 6, T0 + 12, T0 + 18]);
}

#[tokio::test]
async fn denial_expiry_and_other_errors_end_polling_typed() {
    for (answer, check) in [
        (r#"{"error":"access_denied"}"#, "access_denied"),
        (r#"{"error":"expired_token"}"#, "expired_token"),
        (r#"{"error":"invalid_client"}"#, "invalid_client"),
    ] {
        let (script, oauth, _) = setup(DEVICE, vec![(400, PENDING), (400, answer)]);
        let client = oauth.register(device_client());
        let a = client.device_authorize(None).await.unwrap();
        let err = client.poll_device_token(&a).await.unwrap_err();
        assert_eq!(err.provider_error_code(), Some(check), "{err:?}");
        assert_eq!(script.polls.lock().unwrap().len(), 2, "nothing is sent after {check}");
        match check {
            "access_denied" => assert!(matches!(err, ClientError::Core(Error::Device(DeviceError::AccessDenied(_))))),
            "expired_token" => assert!(matches!(err, ClientError::Core(Error::Device(DeviceError::ExpiredToken(_))))),
            _ => assert!(matches!(err, ClientError::Core(Error::Provider(_)))),
        }
    }
}

#[tokio::test]
async fn an_openid_device_login_needs_an_id_token() {
    let (_, oauth, _) = setup(DEVICE, vec![(200, TOKEN)]);
    let client = oauth.register(device_client().scope("openid"));
    let a = client.device_authorize(None).await.unwrap();
    assert!(a.is_openid());
    let err = client.poll_device_token(&a).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Token(rpkit::token::TokenError::MissingIdToken)));
}

#[tokio::test]
async fn register_dynamic_discovers_the_endpoint_and_manages_the_registration() {
    let (script, oauth, _) = setup(DEVICE, vec![]);
    let base = ClientConfig::new("dyn").server_metadata_url("https://op.example/.well-known/openid-configuration");
    let md = ClientMetadata::new().redirect_uris(["https://app.example/cb"]).client_name("App");
    let iat = rpkit::secret::InitialAccessToken::new("iat-1");
    let (client, registered) = oauth.register_dynamic(base, None, &md, Some(&iat)).await.unwrap();
    assert_eq!(oauth.names(), ["dyn"]);
    assert_eq!(client.config().client_id.as_deref(), Some("c-1"));
    assert_eq!(client.config().client_secret.as_ref().map(|s| s.secret()), Some("cs-1"));
    assert_eq!(client.config().redirect_uri.as_deref(), Some("https://app.example/cb"));
    let read = client.read_registration(&registered).await.unwrap();
    assert_eq!(read.registration_access_token.as_ref().unwrap().secret(), "rat-1", "kept when not repeated");
    let updated = client.update_registration(&read, &read.metadata.clone().client_name("Renamed")).await.unwrap();
    assert_eq!(updated.metadata.get_str("client_name"), Some("Renamed"));
    assert_eq!(updated.registration_access_token.as_ref().unwrap().secret(), "rat-2", "rotated");
    client.delete_registration(&updated).await.unwrap();
    let seen = script.seen.lock().unwrap();
    let auth: Vec<_> = seen
        .iter()
        .filter(|(_, p, _, _)| p.starts_with("/register"))
        .map(|(m, _, a, _)| (m.clone(), a.clone()))
        .collect();
    assert_eq!(
        auth,
        [
            (http::Method::POST, Some("Bearer iat-1".into())),
            (http::Method::GET, Some("Bearer rat-1".into())),
            (http::Method::PUT, Some("Bearer rat-1".into())),
            (http::Method::DELETE, Some("Bearer rat-2".into())),
        ]
    );
    let put = seen.iter().find(|(m, _, _, _)| m == http::Method::PUT).unwrap();
    let body: serde_json::Value = serde_json::from_str(&put.3).unwrap();
    assert_eq!(body["client_id"], "c-1");
    assert_eq!(body["client_name"], "Renamed");
}

#[tokio::test]
async fn a_refused_registration_is_typed_and_registers_nothing() {
    let (_, oauth, _) = setup(DEVICE, vec![]);
    let err = oauth
        .register_dynamic(
            ClientConfig::new("dyn"),
            Some("https://op.example/register-bad"),
            &ClientMetadata::new(),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Core(Error::Registration(RegistrationError::InvalidClientMetadata(ref p))) if p.description.as_deref() == Some("no"))
    );
    assert_eq!(err.code(), "invalid_client_metadata");
    assert!(oauth.names().is_empty());
    let err = oauth
        .register_dynamic(ClientConfig::new("dyn"), Some("http://op.example/register"), &ClientMetadata::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::Config(rpkit::error::ConfigError::InsecureEndpoint { .. }))));
}

#[tokio::test]
async fn the_system_clock_sleeps_in_real_time_without_a_runtime_timer() {
    let start = Instant::now();
    rpkit::client::SystemClock.sleep(Duration::from_millis(30)).await;
    assert!(start.elapsed() >= Duration::from_millis(30));
    // Many concurrent sleeps share the one timer thread.
    let sleeps: Vec<_> = (0..20).map(|i| rpkit::client::timer_sleep(Duration::from_millis(5 * i))).collect();
    futures_util::future::join_all(sleeps).await;
    assert!(start.elapsed() < Duration::from_secs(5));
}
