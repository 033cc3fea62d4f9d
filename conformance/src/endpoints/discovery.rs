//! `GET /.well-known/openid-configuration` (OIDC Discovery §4), `GET /jwks` (RFC 7517 §5)
//! and the index page.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use crate::behavior::Endpoint;
use crate::keys::KeySet;
use crate::respond::{faults, html_page, response};
use crate::state::{lock, Shared};
use crate::util::html_escape;

/// The provider metadata document.
pub(crate) fn metadata(shared: &Shared) -> Value {
    let b = shared.behavior.get();
    let issuer = b.metadata_issuer.clone().unwrap_or_else(|| shared.issuer.clone());
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": shared.url(Endpoint::Authorize),
        "token_endpoint": shared.url(Endpoint::Token),
        "userinfo_endpoint": shared.url(Endpoint::Userinfo),
        "jwks_uri": shared.url(Endpoint::Jwks),
        "end_session_endpoint": shared.url(Endpoint::EndSession),
        "revocation_endpoint": format!("{}/revoke", shared.issuer),
        "introspection_endpoint": format!("{}/introspect", shared.issuer),
        "device_authorization_endpoint": format!("{}/device_authorization", shared.issuer),
        "registration_endpoint": format!("{}/register", shared.issuer),
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"],
        "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA", "HS256"],
        "userinfo_signing_alg_values_supported": ["RS256", "ES256", "EdDSA", "HS256"],
        "id_token_encryption_alg_values_supported": ["RSA-OAEP"],
        "id_token_encryption_enc_values_supported": ["A128GCM"],
        "userinfo_encryption_alg_values_supported": ["RSA-OAEP"],
        "userinfo_encryption_enc_values_supported": ["A128GCM"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["HS256", "RS256", "PS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "c_hash", "azp",
            "name", "given_name", "family_name", "preferred_username", "email", "email_verified"
        ],
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
    });
    if let Some(members) = doc.as_object_mut() {
        crate::endpoints::par::extend_metadata(shared, members);
        members.extend(b.metadata_set_members.clone());
    }
    doc
}

pub(crate) async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = faults(&shared, Endpoint::Discovery).await {
        return r;
    }
    let mut r = response(StatusCode::OK, "application/json", metadata(&shared).to_string());
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The JWKS as served, with the JWKS switches applied (decoys must already exist).
pub(crate) fn jwks_document(shared: &Shared, keys: &KeySet) -> Value {
    let b = shared.behavior.get();
    let mut list = keys.public_jwks();
    let decoys = lock(&shared.decoy_keys);
    list.extend(decoys.iter().take(usize::from(b.jwks_extra_keys)).cloned());
    if b.jwks_omit_kid {
        for k in &mut list {
            k.remove("kid");
        }
    }
    json!({ "keys": list })
}

/// Make sure `n` decoy RSA keys exist (generated off the async threads).
async fn ensure_decoys(shared: &Arc<Shared>, n: usize) {
    let have = lock(&shared.decoy_keys).len();
    if have >= n {
        return;
    }
    let missing = n - have;
    let generated = tokio::task::spawn_blocking(move || {
        (0..missing)
            .filter_map(|i| {
                let jwk = josekit::jwk::Jwk::generate_rsa_key(2048).ok()?;
                let mut public = jwk.to_public_key().ok()?;
                public.set_key_id(format!("decoy-{}-{}", i, crate::util::random_token(4)));
                public.set_algorithm("RS256");
                public.set_key_use("sig");
                let public: Map<String, Value> = public.into();
                Some(public)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    lock(&shared.decoy_keys).extend(generated);
}

pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(r) = faults(&shared, Endpoint::Jwks).await {
        return r;
    }
    let extra = usize::from(shared.behavior.get().jwks_extra_keys);
    ensure_decoys(&shared, extra).await;
    let doc = jwks_document(&shared, &shared.keys());
    let mut r = response(StatusCode::OK, "application/jwk-set+json", doc.to_string());
    let cache_control = shared.behavior.get().jwks_cache_control;
    let value = match cache_control.as_deref() {
        None => Some(HeaderValue::from_static("public, max-age=3600")),
        Some("") => None,
        Some(other) => HeaderValue::from_str(other).ok(),
    };
    if let Some(value) = value {
        r.headers_mut().insert(CACHE_CONTROL, value);
    }
    r
}

/// A human-readable page saying what this is and who can log in.
pub(crate) async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let users: String =
        shared.users.iter().map(|u| format!("<li><code>{}</code></li>", html_escape(&u.username))).collect();
    let mut clients: Vec<_> = shared.clients.keys().collect();
    clients.sort();
    let clients: String = clients.iter().map(|c| format!("<li><code>{}</code></li>", html_escape(c))).collect();
    let body = format!(
        "<p>This is rpkit's development OpenID Provider. It is for local development and \
         tests only: anyone can log in as any listed user without a password.</p>\
         <p>Issuer: <code>{issuer}</code><br>Discovery: <a href=\"{disc}\">{disc}</a></p>\
         <h2>Users</h2><ul>{users}</ul><h2>Clients</h2><ul>{clients}</ul>",
        issuer = html_escape(&shared.issuer),
        disc = html_escape(&shared.url(Endpoint::Discovery)),
    );
    html_page(StatusCode::OK, "Development OpenID Provider", &body)
}
