//! The development provider's PAR endpoint and request-object checks, driven in memory
//! (`RunningProvider::handle`) with requests rpkit's sans-IO core builds: what the
//! provider refuses is what makes the PAR/JAR conformance cases mean something.

mod common;

use rpkit::authorize::{AuthorizationRequest, AuthorizationUrl};
use rpkit::config::TokenEndpointAuthMethod;
use rpkit::par::push_request;
use rpkit::rand::SystemRandom;
use rpkit::{ClientConfig, UnixTime};
use rpkit_conformance::{ClientRegistration, RunningProvider};
use serde_json::Value;

const KID: &str = "par-test-key";

/// A P-256 key pair: (private JWK text, public JWK).
fn key() -> (String, Value) {
    use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
    use josekit::jwk::KeyPair;
    let pair = EcKeyPair::generate(EcCurve::P256).unwrap();
    let mut private = pair.to_jwk_key_pair();
    private.set_key_id(KID);
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(KID);
    (private.to_string(), serde_json::from_str(&public.to_string()).unwrap())
}

async fn provider(public: Value) -> RunningProvider {
    common::builder()
        .client(
            ClientRegistration::confidential("rp-key", common::SECRET)
                .redirect_uri(common::REDIRECT)
                .private_key_jwt_key(public),
        )
        .auto_login("alice")
        .start()
        .await
        .unwrap()
}

fn now() -> UnixTime {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    UnixTime::from_secs(secs)
}

fn config(op: &RunningProvider, private: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new("dev")
        .client_id("rp-key")
        .client_secret(common::SECRET)
        .issuer(op.issuer())
        .authorize_url(op.authorization_endpoint())
        .pushed_authorization_request_endpoint(op.par_endpoint())
        .redirect_uri(common::REDIRECT)
        .scope("openid")
        .private_key(private)
        .private_key_id(KID)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic);
    cfg.client_kwargs.request_object = true;
    cfg
}

fn built(cfg: &ClientConfig, at: UnixTime) -> AuthorizationUrl {
    AuthorizationRequest::new(cfg).build(&SystemRandom::new(), at).unwrap().0
}

/// Pushes with the request object built at `at`; returns status and JSON body.
async fn push(op: &RunningProvider, cfg: &ClientConfig, at: UnixTime) -> (u16, Value) {
    let step = push_request(cfg, None, &built(cfg, at), &SystemRandom::new(), at).unwrap();
    let resp = op.handle(step.request).await;
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

/// Pushes a hand-made form (client_secret_basic).
async fn push_form(op: &RunningProvider, form: &[(&str, &str)]) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let basic =
        rpkit::client_auth::basic_authorization("rp-key", &rpkit::secret::ClientSecret::new(common::SECRET)).unwrap();
    let req = http::Request::post(op.par_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic)
        .body(body.into_bytes())
        .unwrap();
    let resp = op.handle(req).await;
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

async fn authorize(op: &RunningProvider, url: &str) -> http::Response<Vec<u8>> {
    op.handle(http::Request::get(url).body(Vec::new()).unwrap()).await
}

#[tokio::test]
async fn a_request_uri_is_single_use() {
    let (private, public) = key();
    let op = provider(public).await;
    let cfg = config(&op, &private);
    let step = push_request(&cfg, None, &built(&cfg, now()), &SystemRandom::new(), now()).unwrap();
    let resp = op.handle(step.request).await;
    assert_eq!(resp.status(), 201);
    let (url, pushed) = step.next.handle_response(&resp, now()).unwrap();
    assert!(pushed.request_uri().starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(pushed.expires_in(), 60);
    let first = authorize(&op, url.as_str()).await;
    assert_eq!(first.status(), 302, "redeemed once");
    assert!(first.headers()["location"].to_str().unwrap().contains("code="));
    let again = authorize(&op, url.as_str()).await;
    assert_eq!(again.status(), 400, "a second use is refused");
    assert_eq!(op.par_record().redeemed, 1);
}

#[tokio::test]
async fn a_push_needs_client_authentication() {
    let (private, public) = key();
    let op = provider(public).await;
    let cfg = config(&op, &private).client_secret("not-the-secret-0123456789-0123456789");
    let (status, body) = push(&op, &cfg, now()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn request_objects_that_fail_a_check_are_refused() {
    let (private, public) = key();
    let op = provider(public).await;
    let cfg = config(&op, &private);
    assert_eq!(push(&op, &cfg, now()).await.0, 201, "the good one is accepted");

    // Expired: built ten minutes ago (it lives five).
    let (status, body) = push(&op, &cfg, UnixTime::from_secs(now().as_secs() - 600)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request_object")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("expired"));

    // Addressed to another issuer.
    let other = cfg.clone().issuer("https://op.invalid");
    let (status, body) = push(&op, &other, now()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request_object")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("aud"));

    // Signed with a key the client did not register.
    let (stranger, _) = key();
    let (status, body) = push(&op, &config(&op, &stranger), now()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request_object")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("signature"));

    // Unsigned.
    let b64 = |v: &Value| rpkit::jose::b64::encode(v.to_string().as_bytes());
    let claims = serde_json::json!({"iss": "rp-key", "client_id": "rp-key", "aud": op.issuer(),
        "exp": now().as_secs() + 60, "response_type": "code", "redirect_uri": common::REDIRECT});
    let unsigned = format!("{}.{}.", b64(&serde_json::json!({"alg": "none"})), b64(&claims));
    let (status, body) = push_form(&op, &[("client_id", "rp-key"), ("request", &unsigned)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request_object")), "{body}");
    assert!(op.par_record().request_object_algs.contains(&"none".to_owned()), "the provider saw the none");

    // A pushed `request_uri` and an unregistered redirect URI.
    let (status, _) = push_form(&op, &[("client_id", "rp-key"), ("request_uri", "urn:x")]).await;
    assert_eq!(status, 400);
    let (status, _) = push_form(
        &op,
        &[("client_id", "rp-key"), ("response_type", "code"), ("redirect_uri", "http://127.0.0.1:9/other")],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_metadata_advertises_par_and_request_objects() {
    let (_, public) = key();
    let op = provider(public).await;
    let md = op.metadata();
    assert_eq!(md["pushed_authorization_request_endpoint"], op.par_endpoint());
    assert_eq!(md["require_pushed_authorization_requests"], false);
    assert_eq!(md["request_parameter_supported"], true);
    assert!(md["request_object_signing_alg_values_supported"].as_array().unwrap().iter().all(|a| a != "none"));
}
