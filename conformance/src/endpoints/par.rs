//! `POST /par`: pushed authorization requests (RFC 9126), and signed request objects
//! (RFC 9101) at the PAR and authorization endpoints.
//!
//! The PAR endpoint authenticates the client exactly as the token endpoint does, takes the
//! authorization parameters (or a signed `request` holding them), and answers `201` with a
//! single-use `request_uri` that expires ([`ParBehavior::ttl_secs`], 60 s by default).
//! The authorization endpoint then accepts `client_id` + `request_uri` in place of the
//! parameters. A request object is accepted only when its signature verifies with a key
//! the client registered, `alg` is not `none`, `iss` and `client_id` are the client, `aud`
//! is the issuer, and `exp` is in the future.
//!
//! The metadata members `require_pushed_authorization_requests` and
//! `require_signed_request_object` (set through
//! [`Behavior::metadata_set_members`](crate::Behavior::metadata_set_members)) are enforced
//! by the authorization endpoint, so a test switches a requirement on in one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::keys::{split_compact, verify_with_jwk};
use crate::provider::RunningProvider;
use crate::respond::{error_page, json_no_store, oauth_error};
use crate::state::{lock, AuthzRequest, ResponseMode, Shared};
use crate::util::{now, random_token, Params};

/// The path of the PAR endpoint.
pub(crate) const PAR_PATH: &str = "/par";

/// The `request_uri` prefix of RFC 9126 §2.2.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Switches for the PAR endpoint's answers (all off by default).
#[derive(Clone, Debug, PartialEq)]
pub struct ParBehavior {
    /// Answer every push with this OAuth `error` (status 400).
    pub error: Option<String>,
    /// Send this as `expires_in` instead of the lifetime (`Value::Null`: leave it out).
    pub expires_in: Option<Value>,
    /// How long a `request_uri` stays valid, in seconds (default 60).
    pub ttl_secs: i64,
}

impl Default for ParBehavior {
    fn default() -> Self {
        ParBehavior { error: None, expires_in: None, ttl_secs: 60 }
    }
}

/// What the provider saw of pushed requests and request objects, for assertions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParRecord {
    /// Requests to the PAR endpoint (accepted or not).
    pub pushes: u64,
    /// Pushes answered with a `request_uri`.
    pub accepted: u64,
    /// `request_uri`s redeemed at the authorization endpoint.
    pub redeemed: u64,
    /// The header `alg` of every request object received (at either endpoint), verified
    /// or not: a test can check that `none` never appears.
    pub request_object_algs: Vec<String>,
    /// Request objects that passed every check.
    pub request_objects_verified: u64,
    /// The parameters of the last accepted push (as the authorization request will see them).
    pub last_pushed: Option<BTreeMap<String, String>>,
}

/// One issued `request_uri`.
struct Entry {
    client_id: String,
    params: BTreeMap<String, String>,
    signed: bool,
    expires_at: i64,
}

/// The PAR state kept in [`Shared`].
#[derive(Default)]
pub(crate) struct ParState {
    entries: Mutex<HashMap<String, Entry>>,
    record: Mutex<ParRecord>,
    behavior: Mutex<ParBehavior>,
}

impl RunningProvider {
    /// The PAR endpoint URL (`{issuer}/par`).
    pub fn par_endpoint(&self) -> String {
        format!("{}{PAR_PATH}", self.issuer())
    }

    /// Changes the PAR endpoint's misbehaviours.
    pub fn update_par_behavior(&self, f: impl FnOnce(&mut ParBehavior)) {
        f(&mut lock(&self.shared().par.behavior));
    }

    /// What the provider saw of pushed requests and request objects.
    pub fn par_record(&self) -> ParRecord {
        lock(&self.shared().par.record).clone()
    }

    /// Makes every issued, unredeemed `request_uri` expired now (the provider "expired" it
    /// while the browser was on its way).
    pub fn expire_request_uris(&self) {
        for entry in lock(&self.shared().par.entries).values_mut() {
            entry.expires_at = now() - 1;
        }
    }
}

/// The members this endpoint adds to the metadata document.
pub(crate) fn extend_metadata(shared: &Shared, members: &mut Map<String, Value>) {
    members.insert("pushed_authorization_request_endpoint".into(), format!("{}{PAR_PATH}", shared.issuer).into());
    members.insert("require_pushed_authorization_requests".into(), false.into());
    members.insert("request_parameter_supported".into(), true.into());
    members
        .insert("request_object_signing_alg_values_supported".into(), serde_json::json!(["RS256", "ES256", "EdDSA"]));
    members.insert("require_signed_request_object".into(), false.into());
}

/// `POST /par` (RFC 9126 §2).
pub(crate) async fn par(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    lock(&shared.par.record).pushes += 1;
    let behavior = lock(&shared.par.behavior).clone();
    if let Some(error) = &behavior.error {
        return oauth_error(StatusCode::BAD_REQUEST, error, "forced by the development provider's behaviour");
    }
    let (client, params) = match crate::endpoints::token::authenticate_form(&shared, &headers, &body) {
        Ok(ok) => ok,
        Err(response) => return *response,
    };
    let bad = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    if params.has("request_uri") {
        return bad("request_uri must not be pushed (RFC 9126 §2.1)");
    }
    let (mut map, signed) = match params.get("request") {
        Some(jwt) => match verify_request_object(&shared, jwt, Some(&client.client_id)) {
            Ok(map) => (map, true),
            Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request_object", &why),
        },
        None => {
            let mut map = params.into_map();
            for auth in ["client_secret", "client_assertion", "client_assertion_type"] {
                map.remove(auth);
            }
            (map, false)
        }
    };
    map.insert("client_id".into(), client.client_id.clone());
    if !map.get("redirect_uri").is_some_and(|uri| client.redirect_uris.iter().any(|r| r == uri)) {
        return bad("redirect_uri is missing or not registered for this client");
    }
    if map.get("response_type").map(String::as_str) != Some("code") {
        return bad("response_type must be code");
    }
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_token(24));
    let ttl = behavior.ttl_secs;
    {
        let mut entries = lock(&shared.par.entries);
        entries.retain(|_, e| e.expires_at > now() - 600);
        entries.insert(
            request_uri.clone(),
            Entry { client_id: client.client_id.clone(), params: map.clone(), signed, expires_at: now() + ttl },
        );
    }
    {
        let mut record = lock(&shared.par.record);
        record.accepted += 1;
        record.last_pushed = Some(map);
    }
    let mut answer = Map::new();
    answer.insert("request_uri".into(), request_uri.into());
    match behavior.expires_in {
        None => {
            answer.insert("expires_in".into(), ttl.into());
        }
        Some(Value::Null) => {}
        Some(v) => {
            answer.insert("expires_in".into(), v);
        }
    }
    json_no_store(StatusCode::CREATED, &Value::Object(answer))
}

/// The authorization parameters for an authorization request: those of a redeemed
/// `request_uri`, of a verified request object, or the query as sent; with the metadata's
/// requirements enforced. `Err` is the response to send instead.
pub(crate) fn authorization_params(shared: &Shared, params: Params) -> Result<Params, Box<Response>> {
    let metadata = crate::endpoints::discovery::metadata(shared);
    let required = |member: &str| metadata.get(member).and_then(Value::as_bool).unwrap_or(false);
    let (params, pushed, signed) = if let Some(uri) = params.get("request_uri") {
        let entry = lock(&shared.par.entries).remove(uri);
        let Some(entry) = entry else {
            return Err(Box::new(error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request_uri: unknown or already used request_uri.",
            )));
        };
        if params.get("client_id") != Some(entry.client_id.as_str()) {
            return Err(Box::new(error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request_uri: issued to another client.",
            )));
        }
        if entry.expires_at <= now() {
            return Err(Box::new(reject(shared, &entry.params, "invalid_request_uri", "the request_uri has expired")));
        }
        lock(&shared.par.record).redeemed += 1;
        (Params::from_map(entry.params), true, entry.signed)
    } else if let Some(jwt) = params.get("request") {
        match verify_request_object(shared, jwt, params.get("client_id")) {
            Ok(mut map) => {
                if params.get("response_type").is_some_and(|rt| map.get("response_type").is_some_and(|m| m != rt)) {
                    return Err(Box::new(reject(
                        shared,
                        &map,
                        "invalid_request_object",
                        "response_type differs from the query's",
                    )));
                }
                if let Some(id) = params.get("client_id") {
                    map.insert("client_id".into(), id.to_owned());
                }
                (Params::from_map(map), false, true)
            }
            Err(why) => return Err(Box::new(reject(shared, &params.into_map(), "invalid_request_object", &why))),
        }
    } else {
        (params, false, false)
    };
    if required("require_pushed_authorization_requests") && !pushed {
        return Err(Box::new(reject(
            shared,
            &params.into_map(),
            "invalid_request",
            "pushed authorization requests are required",
        )));
    }
    if required("require_signed_request_object") && !signed {
        return Err(Box::new(reject(
            shared,
            &params.into_map(),
            "invalid_request",
            "a signed request object is required",
        )));
    }
    Ok(params)
}

/// An error back to the client's redirect URI (with `state` and `iss`) when the client and
/// the redirect URI are known, else an error page.
fn reject(shared: &Shared, params: &BTreeMap<String, String>, error: &str, description: &str) -> Response {
    let client = params.get("client_id").and_then(|id| shared.clients.get(id));
    let redirect_uri = params.get("redirect_uri").filter(|uri| client.is_some_and(|c| c.redirect_uris.contains(uri)));
    let (Some(client), Some(redirect_uri)) = (client, redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, &format!("{error}: {description}."));
    };
    let request = AuthzRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        response_mode: ResponseMode::Query,
        scope: params.get("scope").cloned().unwrap_or_default(),
        state: params.get("state").cloned(),
        nonce: None,
        code_challenge: None,
        max_age: None,
    };
    crate::endpoints::authorize::error_response(shared, &request, error, description)
}

/// Checks a request object (RFC 9101 §6) and returns the authorization parameters it
/// carries (every claim but the JWT's own, as text).
fn verify_request_object(
    shared: &Shared,
    jwt: &str,
    expected_client: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let parts = split_compact(jwt).ok_or("the request object is not a compact JWS with a JSON payload")?;
    let alg = parts.header.get("alg").and_then(Value::as_str).unwrap_or("").to_owned();
    lock(&shared.par.record).request_object_algs.push(alg.clone());
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        return Err("the request object is unsigned".into());
    }
    let text = |k: &str| parts.payload.get(k).and_then(Value::as_str);
    let client_id = text("client_id").ok_or("the request object has no client_id")?;
    if expected_client.is_some_and(|e| e != client_id) {
        return Err("the request object's client_id is not the query's (or the authenticated) client".into());
    }
    let client = shared.clients.get(client_id).ok_or("the request object's client_id is unknown")?;
    if text("iss") != Some(client_id) {
        return Err("the request object's iss is not the client_id".into());
    }
    let aud_ok = match parts.payload.get("aud") {
        Some(Value::String(a)) => *a == shared.issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(shared.issuer.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err("the request object's aud is not the issuer".into());
    }
    let now = now();
    match parts.payload.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        Some(_) => return Err("the request object has expired".into()),
        None => return Err("the request object has no exp".into()),
    }
    if parts.payload.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now + 5) {
        return Err("the request object is not valid yet (nbf)".into());
    }
    if !client.jwks.iter().any(|k| verify_with_jwk(&parts, k)) {
        return Err("the request object's signature does not verify with the client's keys".into());
    }
    if parts.payload.contains_key("request") || parts.payload.contains_key("request_uri") {
        return Err("the request object must not contain request or request_uri".into());
    }
    lock(&shared.par.record).request_objects_verified += 1;
    let mut map = BTreeMap::new();
    for (k, v) in &parts.payload {
        if matches!(k.as_str(), "iss" | "aud" | "exp" | "iat" | "nbf" | "jti") {
            continue;
        }
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        map.insert(k.clone(), v);
    }
    Ok(map)
}
