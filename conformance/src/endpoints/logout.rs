//! `GET|POST /end_session` (OIDC RP-Initiated Logout 1.0 §2–3) and back-channel logout
//! delivery (OIDC Back-Channel Logout 1.0 §2.5).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::behavior::{Endpoint, SigningAlg};
use crate::issue::logout_token;
use crate::keys::{split_compact, verify_hs256};
use crate::respond::{error_page, faults, html_page, redirect};
use crate::state::{Session, Shared};
use crate::util::{html_escape, Params};

/// How long one back-channel logout POST may take.
pub(crate) const BACKCHANNEL_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of delivering one logout token to one client's back-channel logout URI.
///
/// # Example
/// ```
/// use rpkit_conformance::BackchannelDelivery;
///
/// let d = BackchannelDelivery {
///     client_id: "demo-client".into(),
///     uri: "http://127.0.0.1:8000/backchannel-logout/dev".into(),
///     sub: Some("alice".into()),
///     sid: Some("abc".into()),
///     status: Some(200),
///     error: None,
/// };
/// assert!(d.delivered());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackchannelDelivery {
    /// The client the token was for.
    pub client_id: String,
    /// Where it was POSTed.
    pub uri: String,
    /// The `sub` claim sent, if any.
    pub sub: Option<String>,
    /// The `sid` claim sent, if any.
    pub sid: Option<String>,
    /// The HTTP status the RP answered with, if it answered.
    pub status: Option<u16>,
    /// Why delivery failed (connection error, timeout, signing error).
    pub error: Option<String>,
}

impl BackchannelDelivery {
    /// Whether the RP acknowledged the logout with a 2xx status (§2.8 asks for 200).
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One logout notification to send: a client, and the subject and/or session.
pub(crate) struct LogoutTarget {
    pub(crate) client_id: String,
    pub(crate) sub: Option<String>,
    pub(crate) sid: Option<String>,
}

/// Targets for the clients of ended sessions that registered a back-channel URI.
pub(crate) fn targets_for_sessions(shared: &Shared, sessions: &[Session]) -> Vec<LogoutTarget> {
    let mut out = Vec::new();
    for s in sessions {
        let sub = shared.user(&s.username).map(|u| u.sub.clone());
        for client_id in &s.clients {
            let has_uri = shared.clients.get(client_id).is_some_and(|c| c.backchannel_logout_uri.is_some());
            if has_uri {
                out.push(LogoutTarget { client_id: client_id.clone(), sub: sub.clone(), sid: Some(s.sid.clone()) });
            }
        }
    }
    out
}

/// POST a logout token to each target's back-channel URI, one after another, each
/// bounded by [`BACKCHANNEL_TIMEOUT`].
pub(crate) async fn deliver(shared: &Shared, targets: Vec<LogoutTarget>) -> Vec<BackchannelDelivery> {
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let Some(client) = shared.clients.get(&t.client_id) else {
            continue;
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        let mut d = BackchannelDelivery {
            client_id: t.client_id.clone(),
            uri: uri.clone(),
            sub: t.sub.clone(),
            sid: t.sid.clone(),
            status: None,
            error: None,
        };
        let b = shared.behavior.get();
        match logout_token(shared, &b, client, t.sub.as_deref(), t.sid.as_deref()) {
            Ok(jwt) => {
                shared.counters.backchannel_sent();
                let body =
                    url::form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", &jwt).finish();
                let sent = shared
                    .http
                    .post(&uri)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
                    .timeout(BACKCHANNEL_TIMEOUT)
                    .send()
                    .await;
                match sent {
                    Ok(resp) => d.status = Some(resp.status().as_u16()),
                    Err(e) => d.error = Some(e.to_string()),
                }
            }
            Err(e) => d.error = Some(e.to_string()),
        }
        out.push(d);
    }
    out
}

/// Verify an `id_token_hint`: issued by us (our key, or HS256 with the audience's
/// secret) for our issuer. Expired hints are fine (§2: the OP should accept them).
fn verify_hint(shared: &Shared, hint: &str) -> Option<serde_json::Map<String, Value>> {
    let claims = if let Some((_, claims)) = shared.keys().verify(hint) {
        claims
    } else {
        let parts = split_compact(hint)?;
        if parts.header.get("alg").and_then(Value::as_str) != Some(SigningAlg::HS256.as_str()) {
            return None;
        }
        let aud = first_audience(&parts.payload)?;
        let secret = shared.clients.get(&aud)?.secret.clone()?;
        if !verify_hs256(&parts, secret.as_bytes()) {
            return None;
        }
        parts.payload
    };
    (claims.get("iss").and_then(Value::as_str) == Some(shared.issuer.as_str())).then_some(claims)
}

/// `azp`, else the first (or only) `aud`.
fn first_audience(claims: &serde_json::Map<String, Value>) -> Option<String> {
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        return Some(azp.to_string());
    }
    match claims.get("aud")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn audiences(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

pub(crate) async fn end_session(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = faults(&shared, Endpoint::EndSession).await {
        return r;
    }
    let raw: &[u8] = if method == Method::POST { &body } else { query.as_deref().unwrap_or_default().as_bytes() };
    let params = match Params::parse(raw) {
        Ok(p) => p,
        Err(dup) => {
            return error_page(StatusCode::BAD_REQUEST, &format!("The parameter {:?} was sent more than once.", dup.0))
        }
    };
    let hint = match params.get("id_token_hint") {
        Some(h) => match verify_hint(&shared, h) {
            Some(c) => Some(c),
            None => return error_page(StatusCode::BAD_REQUEST, "The id_token_hint was not issued by this provider."),
        },
        None => None,
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(claims)) => {
            if !audiences(claims).iter().any(|a| a == id) {
                return error_page(StatusCode::BAD_REQUEST, "The client_id is not an audience of the id_token_hint.");
            }
            Some(id.to_string())
        }
        (Some(id), None) => Some(id.to_string()),
        (None, Some(claims)) => first_audience(claims),
        (None, None) => None,
    };
    let client = client_id.as_deref().and_then(|id| shared.clients.get(id));
    let post_logout = match params.get("post_logout_redirect_uri") {
        Some(uri) => {
            let registered = client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The post_logout_redirect_uri is not registered for this client (or the client is unknown).",
                );
            }
            Some(uri.to_string())
        }
        None => None,
    };

    // Which provider session ends: the one named by the hint's sid, else the browser's.
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == shared.cookie_name)
        .map(|(_, value)| value.to_string());
    let ended: Vec<Session> = {
        let mut store = shared.store();
        let sid = hint
            .as_ref()
            .and_then(|c| c.get("sid"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| cookie.as_deref().and_then(|c| store.session_by_cookie(c)).map(|s| s.sid.clone()));
        sid.and_then(|sid| store.end_session(&sid)).into_iter().collect()
    };
    let targets = targets_for_sessions(&shared, &ended);
    deliver(&shared, targets).await;

    let mut response = match post_logout {
        Some(uri) => match url::Url::parse(&uri) {
            Ok(mut url) => {
                let b = shared.behavior.get();
                let state =
                    b.end_session_state.as_deref().or(params.get("state")).filter(|_| !b.end_session_omit_state);
                if let Some(state) = state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                redirect(url.as_str())
            }
            Err(_) => error_page(StatusCode::BAD_REQUEST, "post_logout_redirect_uri is not a URL."),
        },
        None => html_page(
            StatusCode::OK,
            "Logged out",
            &format!(
                "<p>You are logged out of the development provider{}.</p>",
                client_id
                    .as_deref()
                    .map(|c| format!(" (application <code>{}</code>)", html_escape(c)))
                    .unwrap_or_default()
            ),
        ),
    };
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", shared.cookie_name);
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}
