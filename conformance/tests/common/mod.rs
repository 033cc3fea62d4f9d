//! Shared helpers for the integration tests: a browser-less RP driven by reqwest.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use rpkit_conformance::{ClientRegistration, DevProvider, DevProviderBuilder, DevUser, RunningProvider};
use serde_json::{Map, Value};

pub const CLIENT_ID: &str = "rp";
/// At least 32 bytes, so HS256 tokens keyed by it satisfy strict JOSE libraries.
pub const SECRET: &str = "rp-secret-0123456789-0123456789-0123";
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const POST_LOGOUT: &str = "http://127.0.0.1:9/logged-out";

/// A reqwest client that never follows redirects, with a bounded timeout.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The standard confidential client.
pub fn client() -> ClientRegistration {
    ClientRegistration::confidential(CLIENT_ID, SECRET).redirect_uri(REDIRECT).post_logout_redirect_uri(POST_LOGOUT)
}

/// A builder with the standard client and two users.
pub fn builder() -> DevProviderBuilder {
    DevProvider::builder()
        .client(client())
        .user(DevUser::new("alice").email("alice@example.com").name("Alice Example"))
        .user(DevUser::new("bob").with_sub("user-0002").name("Bob"))
}

pub async fn start() -> RunningProvider {
    builder().start().await.unwrap()
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string();
    (verifier, challenge)
}

/// Standard authorization request parameters for the standard client.
pub fn authz_params(challenge: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Replace or add a parameter.
pub fn set(params: &mut Vec<(String, String)>, key: &str, value: &str) {
    params.retain(|(k, _)| k != key);
    params.push((key.into(), value.into()));
}

/// Remove a parameter.
pub fn unset(params: &mut Vec<(String, String)>, key: &str) {
    params.retain(|(k, _)| k != key);
}

/// The query parameters of a redirect response's `Location`.
pub fn location_params(resp: &reqwest::Response) -> BTreeMap<String, String> {
    let loc = resp.headers().get("location").expect("a Location header").to_str().unwrap();
    let url = url::Url::parse(loc).unwrap();
    url.query_pairs().into_owned().collect()
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").expect("a Location header").to_str().unwrap().to_string()
}

/// The value of a hidden input in an HTML page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The provider's session cookie (`name=value`) from a response.
pub fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.starts_with("rpkit_devop_"))
        .map(str::to_string)
}

/// GET /authorize, expecting the login form; returns the `login_request` id.
pub async fn open_login_form(op: &RunningProvider, http: &reqwest::Client, params: &[(String, String)]) -> String {
    let resp = http.get(op.authorization_endpoint()).query(params).send().await.unwrap();
    assert_eq!(resp.status(), 200, "expected the login form");
    let html = resp.text().await.unwrap();
    hidden(&html, "login_request").expect("a login_request field")
}

/// Submit the login form.
pub async fn submit_login(
    op: &RunningProvider,
    http: &reqwest::Client,
    login_request: &str,
    username: &str,
) -> reqwest::Response {
    http.post(op.authorization_endpoint())
        .form(&[("login_request", login_request), ("username", username)])
        .send()
        .await
        .unwrap()
}

/// The outcome of a successful front-channel login.
pub struct Login {
    pub code: String,
    pub params: BTreeMap<String, String>,
    pub cookie: String,
}

/// Log in as `username` through the form and return the code.
pub async fn login(op: &RunningProvider, http: &reqwest::Client, params: &[(String, String)], username: &str) -> Login {
    let id = open_login_form(op, http, params).await;
    let resp = submit_login(op, http, &id, username).await;
    assert_eq!(resp.status(), 302);
    let cookie = session_cookie(&resp).expect("a session cookie");
    let params = location_params(&resp);
    let code = params.get("code").expect("a code").clone();
    Login { code, params, cookie }
}

/// Exchange a code with client_secret_basic.
pub async fn exchange(op: &RunningProvider, http: &reqwest::Client, code: &str, verifier: &str) -> reqwest::Response {
    http.post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// Full login + code exchange; returns the token response JSON.
pub async fn tokens(op: &RunningProvider, http: &reqwest::Client) -> Value {
    let (verifier, challenge) = pkce();
    let login = login(op, http, &authz_params(&challenge), "alice").await;
    let resp = exchange(op, http, &login.code, &verifier).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Decode a JWT without verifying it.
pub fn decode(jwt: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut it = jwt.split('.');
    let h = Base64UrlUnpadded::decode_vec(it.next().unwrap()).unwrap();
    let p = Base64UrlUnpadded::decode_vec(it.next().unwrap()).unwrap();
    (serde_json::from_slice(&h).unwrap(), serde_json::from_slice(&p).unwrap())
}

/// Verify a JWS against a JWKS with josekit (key chosen by `kid`, else by `alg`/`kty`).
pub fn verify(jwks: &Value, jwt: &str) -> Result<Map<String, Value>, String> {
    let (header, _) = decode(jwt);
    let alg = header.get("alg").and_then(Value::as_str).ok_or("no alg")?;
    let kid = header.get("kid").and_then(Value::as_str);
    let kty = match alg {
        "RS256" => "RSA",
        "ES256" => "EC",
        "EdDSA" => "OKP",
        other => return Err(format!("unsupported alg {other}")),
    };
    let keys = jwks["keys"].as_array().ok_or("no keys")?;
    let candidates: Vec<&Value> =
        keys.iter().filter(|k| k["kty"] == kty).filter(|k| kid.map_or(true, |kid| k["kid"] == kid)).collect();
    if candidates.len() != 1 {
        return Err(format!("{} candidate keys", candidates.len()));
    }
    let mut map = candidates[0].as_object().unwrap().clone();
    if kid.is_none() {
        // josekit insists on a matching header kid when the key has one.
        map.remove("kid");
    }
    let jwk = josekit::jwk::Jwk::from_map(map).map_err(|e| e.to_string())?;
    let verifier: Box<dyn josekit::jws::JwsVerifier> = match alg {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap()),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
        _ => Box::new(josekit::jws::EdDSA.verifier_from_jwk(&jwk).unwrap()),
    };
    let (payload, _) = josekit::jws::deserialize_compact(jwt, &*verifier).map_err(|e| e.to_string())?;
    serde_json::from_slice(&payload).map_err(|e| e.to_string())
}

/// Fetch the provider's JWKS over HTTP.
pub async fn fetch_jwks(op: &RunningProvider, http: &reqwest::Client) -> Value {
    http.get(op.jwks_uri()).send().await.unwrap().json().await.unwrap()
}

/// A tiny back-channel logout receiver: records every `logout_token` POSTed to it.
pub struct Receiver {
    pub uri: String,
    pub tokens: Arc<Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

pub async fn receiver() -> Receiver {
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = tokens.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let token = url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                store.lock().unwrap().push(token);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { uri: format!("http://{addr}/backchannel"), tokens, _task: task }
}
