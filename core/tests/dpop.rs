//! DPoP resource calls through `rpkit::client` against a scripted resource server (no
//! sockets): `Authorization: DPoP` with a proof carrying `ath`, one retry on
//! `WWW-Authenticate: DPoP error="use_dpop_nonce"`, the newest nonce remembered, and a
//! server that always wants another nonce costs exactly one retry.

use async_trait::async_trait;
use rpkit::client::{ClientError, HttpClient, OAuth, TransportError};
use rpkit::dpop::{access_token_hash, DpopError};
use rpkit::error::Endpoint;
use rpkit::{ClientConfig, Error, Token};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What the resource server saw: (authorization header, proof claims).
type Log = Arc<Mutex<Vec<(String, Value)>>>;

struct ResourceServer {
    log: Log,
    /// Whether every nonce is refused.
    always_stale: bool,
}

fn claims(proof: &str) -> Value {
    let part = proof.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&rpkit::jose::b64::decode(part).expect("base64url")).expect("JSON")
}

#[async_trait]
impl HttpClient for ResourceServer {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let auth = request.headers()["authorization"].to_str().unwrap().to_owned();
        let proof = claims(request.headers()["dpop"].to_str().unwrap());
        let mut log = self.log.lock().unwrap();
        log.push((auth, proof.clone()));
        let current = format!("n{}", log.len());
        let expected = format!("n{}", log.len() - 1);
        let fresh = !self.always_stale && proof.get("nonce").and_then(Value::as_str) == Some(expected.as_str());
        let builder = http::Response::builder().header("dpop-nonce", current);
        Ok(if fresh {
            builder.status(200).body(br#"{"ok":true}"#.to_vec()).unwrap()
        } else {
            builder
                .status(401)
                .header("www-authenticate", r#"DPoP error="use_dpop_nonce", error_description="fresh nonce""#)
                .body(Vec::new())
                .unwrap()
        })
    }
}

fn token() -> Token {
    serde_json::from_value(serde_json::json!({"access_token": "at-dpop", "token_type": "DPoP"})).unwrap()
}

fn client(always_stale: bool) -> (rpkit::client::OAuthClient, Log) {
    let log = Log::default();
    let oauth = OAuth::new(ResourceServer { log: log.clone(), always_stale });
    let cfg = ClientConfig::new("api").client_id("c").api_base_url("https://api.example/v1/").dpop(None);
    (oauth.register(cfg), log)
}

#[tokio::test]
async fn a_resource_call_with_a_dpop_token_retries_once_with_the_nonce_then_uses_the_newest() {
    let (client, log) = client(false);
    let first = client.get("me?fields=a#frag", &token()).await.unwrap();
    assert_eq!(first.status(), 200);
    let second = client.get("me", &token()).await.unwrap();
    assert_eq!(second.status(), 200);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "one retry on the first call, none on the second: {log:?}");
    for (auth, proof) in &log {
        assert_eq!(auth, "DPoP at-dpop");
        assert_eq!(proof["htm"], "GET");
        assert_eq!(proof["htu"], "https://api.example/v1/me");
        assert_eq!(proof["ath"], access_token_hash(&token().access_token));
    }
    assert!(log[0].1.get("nonce").is_none());
    assert_eq!(log[1].1["nonce"], "n1", "the retry uses the challenge's nonce");
    assert_eq!(log[2].1["nonce"], "n2", "the next call uses the newest nonce");
    assert_ne!(log[1].1["jti"], log[2].1["jti"]);
}

#[tokio::test]
async fn a_resource_server_that_always_wants_a_new_nonce_costs_exactly_one_retry() {
    let (client, log) = client(true);
    let err = client.get("me", &token()).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Core(Error::Dpop(DpopError::NonceRetryExhausted { endpoint: Endpoint::Resource }))),
        "{err:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_dpop_token_on_a_client_without_dpop_is_refused_before_sending() {
    let log = Log::default();
    let oauth = OAuth::new(ResourceServer { log: log.clone(), always_stale: false });
    let client = oauth.register(ClientConfig::new("api").client_id("c").api_base_url("https://api.example/"));
    let err = client.get("me", &token()).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::Dpop(DpopError::UnsupportedKey(_)))), "{err:?}");
    assert!(log.lock().unwrap().is_empty(), "nothing was sent");
}

#[test]
fn web_adapters_answer_a_downgrade_or_a_nonce_loop_502_and_a_setup_fault_500() {
    use rpkit::client::web::ErrorResponse;
    let core = |e: DpopError| ClientError::Core(Error::Dpop(e));
    let downgrade = ErrorResponse::from(&core(DpopError::NotDpopBound { token_type: "Bearer".into() }));
    assert_eq!((downgrade.status, downgrade.code.as_str()), (502, "dpop_not_bound"));
    let looped = ErrorResponse::from(&core(DpopError::NonceRetryExhausted { endpoint: Endpoint::Token }));
    assert_eq!((looped.status, looped.code.as_str()), (502, "dpop_nonce_loop"));
    let setup = ErrorResponse::from(&core(DpopError::UnsupportedKey("hmac".into())));
    assert_eq!((setup.status, setup.code.as_str()), (500, "dpop_error"));
}
