//! The development provider's OAuth 1.0a mode (RFC 5849): temporary credentials,
//! authorization, token credentials and one protected resource, under `/oauth1/…`.
//!
//! Signatures are verified by this module's own implementation of RFC 5849 §3.4–§3.5
//! (parameter collection from the `Authorization` header, the query and a form body;
//! §3.6 percent-encoding; the base string; HMAC-SHA1 and PLAINTEXT), written
//! independently of rpkit's signer, so that the two check each other. Timestamps must be
//! within 10 minutes, and a nonce is accepted once per consumer (§3.3).
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /oauth1/request_token` | signed with the consumer secret; `oauth_callback` required → `oauth_token`, `oauth_token_secret`, `oauth_callback_confirmed=true` |
//! | `GET /oauth1/authorize?oauth_token=…` | logs in the auto-login user (or `?user=…`); `302` to the callback with `oauth_token` and `oauth_verifier`; `?deny=1` sends `denied=…` |
//! | `POST /oauth1/access_token` | signed with the temporary token's secret, `oauth_verifier` once → token credentials, `user_id`, `screen_name` |
//! | `GET /oauth1/account` | signed with the token credentials → the user as JSON |

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64ct::{Base64, Encoding};
use serde_json::json;

use crate::registration::DevUser;

/// The consumer key the demo apps register with the provider's OAuth 1.0a mode.
pub const DEMO_CONSUMER_KEY: &str = "rpkit-demo-oauth1";
/// Its shared secret (a development value, like the demo's OAuth 2 client secret).
pub const DEMO_CONSUMER_SECRET: &str = "rpkit-demo-oauth1-secret";

/// The rpkit client configuration for the provider's OAuth 1.0a mode: `name`, consumer
/// `key`/`secret`, the callback `redirect_uri`, and `api_base_url` = `<issuer>/oauth1/`
/// (so `get_oauth1("account", …)` reaches the protected resource).
pub fn client_config(
    op: &crate::RunningProvider,
    name: &str,
    key: &str,
    secret: &str,
    redirect_uri: &str,
) -> rpkit::ClientConfig {
    let base = op.issuer();
    let mut cfg = rpkit::ClientConfig::new(name)
        .client_id(key)
        .client_secret(secret)
        .authorize_url(format!("{base}/oauth1/authorize"))
        .access_token_url(format!("{base}/oauth1/access_token"))
        .api_base_url(format!("{base}/oauth1/"))
        .redirect_uri(redirect_uri);
    cfg.request_token_url = Some(format!("{base}/oauth1/request_token"));
    cfg
}

/// An OAuth 1.0a consumer (client) of the development provider.
#[derive(Clone, Debug)]
pub struct Oauth1Consumer {
    pub(crate) key: String,
    pub(crate) secret: String,
}

impl Oauth1Consumer {
    /// A consumer with this key (`oauth_consumer_key`) and shared secret.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Oauth1Consumer { key: key.into(), secret: secret.into() }
    }
}

struct Temporary {
    consumer: String,
    secret: String,
    callback: String,
    verifier: Option<(String, String)>, // (verifier, username)
}

struct Issued {
    consumer: String,
    secret: String,
    username: String,
}

#[derive(Default)]
struct Store {
    temporary: HashMap<String, Temporary>,
    tokens: HashMap<String, Issued>,
    nonces: HashSet<(String, String, String)>,
    serial: u64,
}

/// The OAuth 1.0a side of the development provider.
pub(crate) struct Oauth1State {
    issuer: String,
    consumers: HashMap<String, Oauth1Consumer>,
    users: Vec<DevUser>,
    auto_login: Option<String>,
    store: Mutex<Store>,
    /// Requests whose signature verified, per route (for tests).
    pub(crate) verified: Mutex<BTreeMap<&'static str, usize>>,
}

impl Oauth1State {
    pub(crate) fn new(
        issuer: String,
        consumers: Vec<Oauth1Consumer>,
        users: Vec<DevUser>,
        auto_login: Option<String>,
    ) -> Self {
        Oauth1State {
            issuer,
            consumers: consumers.into_iter().map(|c| (c.key.clone(), c)).collect(),
            users,
            auto_login,
            store: Mutex::default(),
            verified: Mutex::default(),
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn router(state: Arc<Oauth1State>) -> Router {
    Router::new()
        .route("/oauth1/request_token", post(request_token))
        .route("/oauth1/authorize", get(authorize))
        .route("/oauth1/access_token", post(access_token))
        .route("/oauth1/account", get(account))
        .with_state(state)
}

fn problem(status: StatusCode, problem: &str) -> Response {
    (status, [("content-type", "application/x-www-form-urlencoded")], format!("oauth_problem={problem}"))
        .into_response()
}

fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    ([("content-type", "application/x-www-form-urlencoded")], body).into_response()
}

/// RFC 5849 §3.6: percent-encode everything but the unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `oauth_*` parameters of an `Authorization: OAuth …` header (§3.5.1), `realm` left out.
fn header_params(headers: &HeaderMap) -> Option<Vec<(String, String)>> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let rest = value.strip_prefix("OAuth ")?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        let (k, v) = (decode(k)?, decode(v)?);
        if k != "realm" {
            out.push((k, v));
        }
    }
    Some(out)
}

/// A request that verified: its `oauth_*` parameters.
struct Verified {
    params: HashMap<String, String>,
}

/// Verifies the request's signature (§3.4) with the consumer secret and `token_secret`
/// (looked up from `oauth_token` by `token_secret_of`).
fn verify(
    state: &Oauth1State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    token_secret_of: impl FnOnce(&Store, &str, &str) -> Option<String>,
) -> Result<Verified, &'static str> {
    let bad = |p: &'static str| p;
    let mut all: Vec<(String, String)> = Vec::new();
    if let Some(query) = uri.query() {
        all.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
    }
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        all.extend(url::form_urlencoded::parse(body).into_owned());
    }
    if let Some(h) = header_params(headers) {
        all.extend(h);
    }
    let signature = all
        .iter()
        .find(|(k, _)| k == "oauth_signature")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| bad("parameter_absent"))?;
    all.retain(|(k, _)| k != "oauth_signature");
    let oauth: HashMap<String, String> = all.iter().filter(|(k, _)| k.starts_with("oauth_")).cloned().collect();
    let get = |k: &str| oauth.get(k).cloned().unwrap_or_default();
    let consumer = state.consumers.get(&get("oauth_consumer_key")).ok_or_else(|| bad("consumer_key_unknown"))?;
    let method_name = get("oauth_signature_method");
    if !matches!(method_name.as_str(), "HMAC-SHA1" | "PLAINTEXT") {
        return Err(bad("signature_method_rejected"));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if method_name == "HMAC-SHA1" {
        let ts: u64 = get("oauth_timestamp").parse().map_err(|_| bad("timestamp_refused"))?;
        if ts.abs_diff(now) > 600 {
            return Err(bad("timestamp_refused"));
        }
        let nonce = get("oauth_nonce");
        if nonce.is_empty() || !state.store().nonces.insert((consumer.key.clone(), get("oauth_timestamp"), nonce)) {
            return Err(bad("nonce_used"));
        }
    }
    let token_secret = {
        let store = state.store();
        match oauth.get("oauth_token") {
            Some(token) => token_secret_of(&store, &consumer.key, token).ok_or_else(|| bad("token_rejected"))?,
            None => token_secret_of(&store, &consumer.key, "").ok_or_else(|| bad("token_rejected"))?,
        }
    };
    let key = format!("{}&{}", encode(&consumer.secret), encode(&token_secret));
    let expected = if method_name == "PLAINTEXT" {
        key
    } else {
        // §3.4.1.3.2: encode, sort by name then value, join.
        let mut pairs: Vec<(String, String)> = all.iter().map(|(k, v)| (encode(k), encode(v))).collect();
        pairs.sort();
        let normalized = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        // §3.4.1.2: scheme and host lowercase, default port left out, no query.
        let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        let authority = uri.authority().map(|a| a.as_str().to_ascii_lowercase()).unwrap_or(host);
        let authority = authority.strip_suffix(":80").unwrap_or(&authority).to_owned();
        let base_uri = format!("http://{authority}{}", uri.path());
        let base = format!("{}&{}&{}", method.as_str().to_ascii_uppercase(), encode(&base_uri), encode(&normalized));
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes()),
            base.as_bytes(),
        );
        Base64::encode_string(mac.as_ref())
    };
    if !rpkit::secret::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(bad("signature_invalid"));
    }
    Ok(Verified { params: oauth })
}

fn count(state: &Oauth1State, route: &'static str) {
    *state.verified.lock().unwrap_or_else(PoisonError::into_inner).entry(route).or_default() += 1;
}

async fn request_token(
    State(state): State<Arc<Oauth1State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let verified =
        match verify(&state, &method, &uri, &headers, &body, |_, _, token| token.is_empty().then(String::new)) {
            Ok(v) => v,
            Err(p) => return problem(StatusCode::UNAUTHORIZED, p),
        };
    let Some(callback) = verified.params.get("oauth_callback").filter(|c| !c.is_empty()).cloned() else {
        return problem(StatusCode::BAD_REQUEST, "parameter_absent");
    };
    count(&state, "request_token");
    let mut store = state.store();
    store.serial += 1;
    let (token, secret) = (format!("tmp-{}-{}", store.serial, random()), random());
    let consumer = verified.params["oauth_consumer_key"].clone();
    store.temporary.insert(token.clone(), Temporary { consumer, secret: secret.clone(), callback, verifier: None });
    form_response(&[("oauth_token", &token), ("oauth_token_secret", &secret), ("oauth_callback_confirmed", "true")])
}

async fn authorize(State(state): State<Arc<Oauth1State>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let token = q.get("oauth_token").cloned().unwrap_or_default();
    let username = q
        .get("user")
        .cloned()
        .or_else(|| state.auto_login.clone())
        .or_else(|| state.users.first().map(|u| u.username.clone()));
    let mut store = state.store();
    let Some(temp) = store.temporary.get_mut(&token) else {
        return problem(StatusCode::BAD_REQUEST, "token_rejected");
    };
    let mut back = match url::Url::parse(&temp.callback) {
        Ok(u) => u,
        Err(_) => return problem(StatusCode::BAD_REQUEST, "parameter_rejected"),
    };
    if q.contains_key("deny") {
        back.query_pairs_mut().append_pair("denied", &token);
        return Redirect::to(back.as_str()).into_response();
    }
    let Some(username) = username.filter(|u| state.users.iter().any(|x| &x.username == u)) else {
        return problem(StatusCode::FORBIDDEN, "user_refused");
    };
    let verifier = random();
    temp.verifier = Some((verifier.clone(), username));
    back.query_pairs_mut().append_pair("oauth_token", &token).append_pair("oauth_verifier", &verifier);
    Redirect::to(back.as_str()).into_response()
}

async fn access_token(
    State(state): State<Arc<Oauth1State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let verified = verify(&state, &method, &uri, &headers, &body, |store, consumer, token| {
        store.temporary.get(token).filter(|t| t.consumer == consumer).map(|t| t.secret.clone())
    });
    let verified = match verified {
        Ok(v) => v,
        Err(p) => return problem(StatusCode::UNAUTHORIZED, p),
    };
    let token = verified.params.get("oauth_token").cloned().unwrap_or_default();
    let mut store = state.store();
    // Temporary credentials are single use, whatever the outcome.
    let Some(temp) = store.temporary.remove(&token) else {
        return problem(StatusCode::UNAUTHORIZED, "token_used");
    };
    let Some((verifier, username)) = temp.verifier else {
        return problem(StatusCode::UNAUTHORIZED, "permission_unknown");
    };
    let presented = verified.params.get("oauth_verifier").cloned().unwrap_or_default();
    if !rpkit::secret::constant_time_eq(presented.as_bytes(), verifier.as_bytes()) {
        return problem(StatusCode::UNAUTHORIZED, "verifier_invalid");
    }
    count(&state, "access_token");
    store.serial += 1;
    let (access, secret) = (format!("tok-{}-{}", store.serial, random()), random());
    let user_id = state.users.iter().find(|u| u.username == username).map(|u| u.sub.clone()).unwrap_or_default();
    store
        .tokens
        .insert(access.clone(), Issued { consumer: temp.consumer, secret: secret.clone(), username: username.clone() });
    form_response(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &secret),
        ("user_id", &user_id),
        ("screen_name", &username),
    ])
}

async fn account(
    State(state): State<Arc<Oauth1State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let verified = verify(&state, &method, &uri, &headers, &body, |store, consumer, token| {
        store.tokens.get(token).filter(|t| t.consumer == consumer).map(|t| t.secret.clone())
    });
    let verified = match verified {
        Ok(v) => v,
        Err(p) => return problem(StatusCode::UNAUTHORIZED, p),
    };
    count(&state, "account");
    let store = state.store();
    let issued = &store.tokens[&verified.params["oauth_token"]];
    let user = state.users.iter().find(|u| u.username == issued.username);
    let mut body = json!({"screen_name": issued.username, "issuer": state.issuer});
    if let Some(user) = user {
        body["id_str"] = user.sub.clone().into();
        for (k, v) in &user.claims {
            body[k] = v.clone();
        }
    }
    axum::Json(body).into_response()
}

fn random() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("the OS random source");
    base64ct::Base64UrlUnpadded::encode_string(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_is_rfc_5849s() {
        assert_eq!(encode("a b+c/~_.-"), "a%20b%2Bc%2F~_.-");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(decode("a%20b%2Bc").as_deref(), Some("a b+c"));
        assert_eq!(decode("%zz"), None);
    }

    #[test]
    fn the_authorization_header_is_read_without_realm() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            r#"OAuth realm="Example", oauth_consumer_key="c%20k", oauth_nonce="n""#.parse().unwrap(),
        );
        let p = header_params(&h).unwrap();
        assert_eq!(p, vec![("oauth_consumer_key".into(), "c k".into()), ("oauth_nonce".into(), "n".into())]);
    }
}
