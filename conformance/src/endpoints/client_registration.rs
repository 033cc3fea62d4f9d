//! Dynamic client registration (RFC 7591, `POST /register`) and client configuration
//! management (RFC 7592: `GET`, `PUT`, `DELETE /register/{client_id}` with the
//! registration access token).
//!
//! Registered clients are served by the authorization and token endpoints like the
//! static ones. Each registration or update fills one slot of an append-only table the
//! provider owns (at most [`MAX_REGISTRATIONS`], then `invalid_client_metadata`), so the
//! endpoints borrow a client record for as long as they hold the provider's state, as they
//! do a static one, and the records go when the provider goes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::registration::{AuthMethod, ClientRegistration};
use crate::respond::{json_no_store, oauth_error, response};
use crate::state::Shared;
use crate::util::{ct_eq, now, random_token};

/// How many registrations and updates one provider accepts.
pub const MAX_REGISTRATIONS: usize = 256;

/// The largest registration request body accepted.
const MAX_BODY: usize = 64 * 1024;

struct Dynamic {
    /// The slot of the client's current record in [`DynamicClients::slots`].
    slot: usize,
    token: String,
    metadata: Map<String, Value>,
    issued_at: i64,
}

/// The dynamically registered clients.
pub(crate) struct DynamicClients {
    clients: RwLock<HashMap<String, Dynamic>>,
    /// Append-only: a slot is set once and never changes, so `&self` borrows of it last.
    slots: Box<[OnceLock<ClientRegistration>]>,
    next: AtomicUsize,
}

impl Default for DynamicClients {
    fn default() -> Self {
        Self {
            clients: RwLock::default(),
            slots: (0..MAX_REGISTRATIONS).map(|_| OnceLock::new()).collect(),
            next: AtomicUsize::new(0),
        }
    }
}

impl DynamicClients {
    /// The registered client `client_id`, if any.
    pub(crate) fn get(&self, client_id: &str) -> Option<&ClientRegistration> {
        let slot = self.clients.read().unwrap_or_else(PoisonError::into_inner).get(client_id).map(|d| d.slot)?;
        self.slots.get(slot).and_then(OnceLock::get)
    }

    /// The record in `slot`.
    fn record(&self, slot: usize) -> &ClientRegistration {
        self.slots[slot].get().expect("a slot is filled before its index is handed out")
    }

    /// Puts `client` in a fresh slot and returns its index, or `None` past the limit.
    fn keep(&self, client: ClientRegistration) -> Option<usize> {
        let slot = self.next.fetch_add(1, Ordering::SeqCst);
        self.slots.get(slot)?.set(client).ok()?;
        Some(slot)
    }
}

struct Reject(StatusCode, &'static str, String);

impl Reject {
    fn into_response(self) -> Response {
        oauth_error(self.0, self.1, &self.2)
    }
}

fn error(status: StatusCode, code: &'static str, description: &str) -> Reject {
    Reject(status, code, description.to_owned())
}

/// A validated registration: the client, its secret, the metadata as registered.
type Validated = (ClientRegistration, Option<String>, Map<String, Value>);

/// Validates client metadata and builds the registration; `client_id` and `secret` are
/// the ones to use (new, or kept on update).
fn client_from(client_id: &str, secret: Option<&str>, md: &Map<String, Value>) -> Result<Validated, Reject> {
    let bad_uri = |d: &str| error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", d);
    let bad_md = |d: &str| error(StatusCode::BAD_REQUEST, "invalid_client_metadata", d);
    let mut uris = Vec::new();
    match md.get("redirect_uris") {
        None => {}
        Some(Value::Array(list)) => {
            for v in list {
                let s = v.as_str().ok_or_else(|| bad_uri("redirect_uris must be strings"))?;
                match url::Url::parse(s) {
                    Ok(u) if u.fragment().is_none() && matches!(u.scheme(), "https" | "http") => {
                        uris.push(s.to_owned())
                    }
                    _ => return Err(bad_uri(&format!("{s:?} is not an absolute http(s) URI without fragment"))),
                }
            }
        }
        Some(_) => return Err(bad_uri("redirect_uris must be an array")),
    }
    let method = match md.get("token_endpoint_auth_method") {
        None => AuthMethod::ClientSecretBasic,
        Some(Value::String(m)) => match m.as_str() {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "none" => AuthMethod::None,
            other => return Err(bad_md(&format!("token_endpoint_auth_method {other:?} is not supported here"))),
        },
        Some(_) => return Err(bad_md("token_endpoint_auth_method must be a string")),
    };
    let grants: Vec<&str> = match md.get("grant_types") {
        None => vec!["authorization_code"],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(bad_md("grant_types must be an array")),
    };
    if grants.contains(&"authorization_code") && uris.is_empty() {
        return Err(bad_uri("the authorization_code grant needs redirect_uris"));
    }
    let (mut client, secret) = match method {
        AuthMethod::None => (ClientRegistration::public(client_id), None),
        _ => {
            let secret = secret.map_or_else(|| random_token(32), str::to_owned);
            (
                ClientRegistration::confidential(client_id, secret.clone()).token_endpoint_auth_method(method),
                Some(secret),
            )
        }
    };
    for uri in &uris {
        client = client.redirect_uri(uri.clone());
    }
    let mut registered = md.clone();
    registered.insert("token_endpoint_auth_method".into(), Value::from(method.as_str()));
    registered.insert("grant_types".into(), Value::from(grants.iter().map(|g| Value::from(*g)).collect::<Vec<_>>()));
    for member in ["client_id", "client_secret", "registration_access_token", "registration_client_uri"] {
        registered.remove(member);
    }
    Ok((client, secret, registered))
}

fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Reject> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json || body.len() > MAX_BODY {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "the body must be a JSON object"));
    }
    serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "the body must be a JSON object"))
}

fn information(shared: &Shared, d: &Dynamic, with_token: bool) -> Value {
    let client = shared.dynamic_clients.record(d.slot);
    let mut out = d.metadata.clone();
    out.insert("client_id".into(), Value::from(client.client_id.clone()));
    if let Some(secret) = &client.secret {
        out.insert("client_secret".into(), Value::from(secret.clone()));
        out.insert("client_secret_expires_at".into(), Value::from(0));
    }
    out.insert("client_id_issued_at".into(), Value::from(d.issued_at));
    out.insert(
        "registration_client_uri".into(),
        Value::from(format!("{}/register/{}", shared.issuer, client.client_id)),
    );
    if with_token {
        out.insert("registration_access_token".into(), Value::from(d.token.clone()));
    }
    Value::Object(out)
}

/// `POST /register` (RFC 7591 §3).
pub(crate) async fn register(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let md = match json_body(&headers, &body) {
        Ok(md) => md,
        Err(r) => return r.into_response(),
    };
    let client_id = format!("dyn-{}", random_token(12));
    let (client, _, metadata) = match client_from(&client_id, None, &md) {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    let Some(slot) = shared.dynamic_clients.keep(client) else {
        return error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "too many registrations at this provider")
            .into_response();
    };
    let d = Dynamic { slot, token: random_token(32), metadata, issued_at: now() };
    let answer = information(&shared, &d, true);
    shared.dynamic_clients.clients.write().unwrap_or_else(PoisonError::into_inner).insert(client_id, d);
    json_no_store(StatusCode::CREATED, &answer)
}

/// The bearer token of a management request, checked against the client's registration
/// access token (RFC 7592 §2: `401` with `invalid_token` otherwise).
fn authorized(shared: &Shared, headers: &HeaderMap, client_id: &str) -> Result<(), Reject> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let clients = shared.dynamic_clients.clients.read().unwrap_or_else(PoisonError::into_inner);
    match (clients.get(client_id), presented) {
        (Some(d), Some(t)) if ct_eq(&d.token, &t) => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "no such client, or a wrong registration access token",
        )),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorized(&shared, &headers, &client_id) {
        return r.into_response();
    }
    let clients = shared.dynamic_clients.clients.read().unwrap_or_else(PoisonError::into_inner);
    match clients.get(&client_id) {
        Some(d) => json_no_store(StatusCode::OK, &information(&shared, d, false)),
        None => error(StatusCode::UNAUTHORIZED, "invalid_token", "no such client").into_response(),
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): replaces the metadata.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorized(&shared, &headers, &client_id) {
        return r.into_response();
    }
    let md = match json_body(&headers, &body) {
        Ok(md) => md,
        Err(r) => return r.into_response(),
    };
    if md.get("client_id").and_then(Value::as_str) != Some(client_id.as_str()) {
        return error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "client_id must be sent and match")
            .into_response();
    }
    let old_secret = shared.dynamic_clients.get(&client_id).and_then(|c| c.secret.clone());
    if let Some(sent) = md.get("client_secret").and_then(Value::as_str) {
        if !old_secret.as_deref().is_some_and(|s| ct_eq(s, sent)) {
            return error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "client_secret does not match")
                .into_response();
        }
    }
    let (client, _, metadata) = match client_from(&client_id, old_secret.as_deref(), &md) {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    let Some(slot) = shared.dynamic_clients.keep(client) else {
        return error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "too many registrations at this provider")
            .into_response();
    };
    let mut clients = shared.dynamic_clients.clients.write().unwrap_or_else(PoisonError::into_inner);
    let Some(d) = clients.get_mut(&client_id) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_token", "no such client").into_response();
    };
    d.slot = slot;
    d.metadata = metadata;
    json_no_store(StatusCode::OK, &information(&shared, d, false))
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): `204`, and the client is gone.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorized(&shared, &headers, &client_id) {
        return r.into_response();
    }
    shared.dynamic_clients.clients.write().unwrap_or_else(PoisonError::into_inner).remove(&client_id);
    let mut store = shared.store();
    store.access.retain(|_, a| a.client_id != client_id);
    store.refresh.retain(|_, r| r.client_id != client_id);
    response(StatusCode::NO_CONTENT, "text/plain", "")
}
