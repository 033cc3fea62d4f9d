//! `GET|POST /userinfo` (OIDC Core §5.3) with Bearer tokens (RFC 6750 §2.1, §2.2; the
//! query form of §2.3 is refused).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use crate::behavior::Endpoint;
use crate::issue::userinfo_jwt;
use crate::respond::{faults, json_no_store, no_store, oauth_error, response};
use crate::state::Shared;
use crate::util::{now, scopes, Params};

/// A Bearer error with its `WWW-Authenticate` challenge (RFC 6750 §3).
fn bearer_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    let mut r = oauth_error(status, error, description);
    let challenge = format!("Bearer realm=\"rpkit-dev-provider\", error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    r
}

pub(crate) async fn userinfo(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = faults(&shared, Endpoint::Userinfo).await {
        return r;
    }
    let in_query =
        query.as_deref().and_then(|q| Params::parse(q.as_bytes()).ok()).is_some_and(|p| p.has("access_token"));
    if in_query {
        return bearer_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "access tokens are not accepted in the query string",
        );
    }
    let header_token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
        .map(|(scheme, t)| (scheme.eq_ignore_ascii_case("dpop"), t.trim().to_string()));
    // RFC 9449 §7: a DPoP token comes with a proof (with `ath`) by the key it is bound
    // to, and is refused as Bearer; a Bearer token is never presented with the DPoP scheme.
    let header_token = match header_token {
        Some((dpop_scheme, token)) => {
            let binding = shared.dpop.binding(&token);
            match (dpop_scheme, binding) {
                (false, Some(_)) => return super::dpop::token_misuse("a DPoP-bound token presented as Bearer"),
                (true, None) => return super::dpop::token_misuse("not a DPoP-bound token"),
                (true, Some(jkt)) => {
                    let b = shared.behavior.get();
                    match super::dpop::check(&shared, &b, &headers, Endpoint::Userinfo, method.as_str(), Some(&token)) {
                        Ok(Some(proof_jkt)) if proof_jkt == jkt => {}
                        Ok(Some(_)) => return super::dpop::token_misuse("the proof is by another key"),
                        Ok(None) => return super::dpop::token_misuse("the DPoP proof is missing"),
                        Err(refusal) => return super::dpop::resource_refusal(refusal),
                    }
                }
                (false, None) => {}
            }
            Some(token)
        }
        None => None,
    };
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body_token = if method == Method::POST && is_form {
        match Params::parse(&body) {
            Ok(p) => p.get("access_token").map(str::to_string),
            Err(_) => return bearer_error(StatusCode::BAD_REQUEST, "invalid_request", "duplicate parameter"),
        }
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return bearer_error(StatusCode::BAD_REQUEST, "invalid_request", "more than one access token sent")
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            let mut r = response(StatusCode::UNAUTHORIZED, "application/json", "{}");
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"rpkit-dev-provider\""));
            return r;
        }
    };
    let grant = {
        let mut store = shared.store();
        store.purge(now());
        store.access.get(&token).cloned()
    };
    let Some(grant) = grant else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", "unknown, expired or revoked access token");
    };
    let scope_list = scopes(&grant.scope);
    let user = grant.username.as_deref().and_then(|u| shared.user(u));
    let (Some(user), true) = (user, scope_list.contains(&"openid")) else {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token was not granted with the openid scope for a user",
        );
    };
    let mut claims = user.claims_for_scope(&scope_list);
    let b = shared.behavior.get();
    if let Some(sub) = &b.userinfo_sub {
        claims.insert("sub".into(), Value::from(sub.clone()));
    }
    for k in &b.userinfo_remove_claims {
        claims.remove(k);
    }
    let encrypted = shared.client(&grant.client_id).is_some_and(|c| c.userinfo_encryption_key.is_some());
    if b.userinfo_signed || encrypted {
        let Some(client) = shared.client(&grant.client_id) else {
            return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "client vanished");
        };
        return match userinfo_jwt(&shared, &b, client, claims) {
            Ok(jwt) => {
                let mut r = response(StatusCode::OK, "application/jwt", jwt);
                no_store(&mut r);
                r
            }
            Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
        };
    }
    let mut r = json_no_store(StatusCode::OK, &Value::Object(claims));
    super::dpop::decorate(&shared, &b, &mut r);
    r
}
