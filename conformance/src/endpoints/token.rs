//! `POST /token`: the token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; OIDC Core §3.1.3,
//! §12) with client authentication (RFC 6749 §2.3, OIDC Core §9, RFC 7523).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use base64ct::{Base64, Encoding};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value};

use crate::behavior::{Behavior, Endpoint};
use crate::issue::{id_token, IdTokenInput};
use crate::keys::{s256, split_compact, verify_hs256, verify_with_jwk};
use crate::registration::{AuthMethod, ClientRegistration};
use crate::respond::{faults, json_no_store, no_store, oauth_error, response};
use crate::state::{lock, AccessGrant, RefreshGrant, Shared, TokenRequestRecord};
use crate::util::{ct_eq, now, random_token, scopes, Params};

/// RFC 7523 §2.2 assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token endpoint failure.
struct Fail {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Add `WWW-Authenticate: Basic` (RFC 6749 §5.2 for `invalid_client` with Basic).
    basic_challenge: bool,
}

impl Fail {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into(), basic_challenge: false }
    }

    fn client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_challenge: false,
        }
    }

    fn into_response(self) -> Response {
        let mut r = oauth_error(self.status, self.error, &self.description);
        if self.basic_challenge {
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"rpkit-dev-provider\""));
        }
        r
    }
}

pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = faults(&shared, Endpoint::Token).await {
        return r;
    }
    let b = shared.behavior.get();
    if let Some(to) = &b.token_redirect_to {
        let mut r = response(StatusCode::TEMPORARY_REDIRECT, "text/plain", "");
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert(LOCATION, v);
        }
        return r;
    }
    if let Some(error) = &b.token_error {
        let status = if b.token_error_with_status_200 { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        return oauth_error(status, error, "forced by the development provider's behaviour");
    }
    // RFC 9449: a proof, when sent, is checked before anything else is.
    let proof = match super::dpop::check(&shared, &b, &headers, Endpoint::Token, "POST", None) {
        Ok(proof) => proof,
        Err(refusal) => return super::dpop::token_refusal(refusal),
    };
    match handle(&shared, &b, &headers, &body) {
        Ok(mut body) => {
            if let Some(jkt) = &proof {
                super::dpop::bind(&shared, &mut body, jkt);
            }
            let mut r = success(&b, body);
            super::dpop::decorate(&shared, &b, &mut r);
            r
        }
        Err(fail) => fail.into_response(),
    }
}

fn handle(shared: &Shared, b: &Behavior, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Fail> {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form {
        return Err(Fail::bad("invalid_request", "the body must be application/x-www-form-urlencoded"));
    }
    let params = Params::parse(body)
        .map_err(|dup| Fail::bad("invalid_request", format!("parameter {:?} sent more than once", dup.0)))?;
    let mut record =
        TokenRequestRecord {
            params: params
                .clone()
                .into_map()
                .into_iter()
                .map(|(k, v)| {
                    if k == "client_secret" || k == "client_assertion" {
                        (k, "<redacted>".to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            auth_method: None,
            client_id: None,
            accept: headers.get(ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string),
        };
    let auth = authenticate(shared, headers, &params);
    if let Ok((client, method)) = &auth {
        record.auth_method = Some(*method);
        record.client_id = Some(client.client_id.clone());
    }
    *lock(&shared.last_token_request) = Some(record);
    let (client, _) = auth?;

    match params.get("grant_type") {
        Some("authorization_code") => authorization_code(shared, b, client, &params),
        Some("refresh_token") => refresh_token(shared, b, client, &params),
        Some("client_credentials") => client_credentials(shared, client, &params),
        Some(rpkit::device::DEVICE_CODE_GRANT_TYPE) => {
            crate::endpoints::device::token_grant(shared, b, client, &params)
                .map_err(|(error, description)| Fail::bad(error, description))
        }
        Some(_) => {
            Err(Fail::bad("unsupported_grant_type", "supported: authorization_code, refresh_token, client_credentials"))
        }
        None => Err(Fail::bad("invalid_request", "grant_type is missing")),
    }
}

/// Decode one `application/x-www-form-urlencoded` component (RFC 6749 §2.3.1 says the
/// Basic credentials are encoded this way before base64).
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Authenticate the client by exactly one method.
fn authenticate<'s>(
    shared: &'s Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(&'s ClientRegistration, AuthMethod), Fail> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim());
    let presented =
        [basic.is_some(), params.has("client_secret"), params.has("client_assertion")].iter().filter(|x| **x).count();
    if presented > 1 {
        return Err(Fail::bad("invalid_request", "more than one client authentication method used"));
    }
    let (client, method) = if let Some(creds) = basic {
        let fail = |d: &str| Fail { basic_challenge: true, ..Fail::client(d) };
        let decoded = Base64::decode_vec(creds)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| fail("malformed Basic credentials"))?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| fail("malformed Basic credentials"))?;
        let id = form_decode(id).ok_or_else(|| fail("malformed Basic credentials"))?;
        let secret = form_decode(secret).ok_or_else(|| fail("malformed Basic credentials"))?;
        let client = shared.client(&id).ok_or_else(|| fail("unknown client"))?;
        if !client.accepts(AuthMethod::ClientSecretBasic) {
            return Err(fail("client_secret_basic is not allowed for this client"));
        }
        if !client.secret.as_deref().is_some_and(|s| ct_eq(s, &secret)) {
            return Err(fail("wrong client secret"));
        }
        (client, AuthMethod::ClientSecretBasic)
    } else if let Some(assertion) = params.get("client_assertion") {
        authenticate_assertion(shared, params, assertion)?
    } else if let Some(secret) = params.get("client_secret") {
        let client = params
            .get("client_id")
            .and_then(|id| shared.client(id))
            .ok_or_else(|| Fail::client("unknown or missing client_id"))?;
        if !client.accepts(AuthMethod::ClientSecretPost) {
            return Err(Fail::client("client_secret_post is not allowed for this client"));
        }
        if !client.secret.as_deref().is_some_and(|s| ct_eq(s, secret)) {
            return Err(Fail::client("wrong client secret"));
        }
        (client, AuthMethod::ClientSecretPost)
    } else {
        let client = params
            .get("client_id")
            .and_then(|id| shared.client(id))
            .ok_or_else(|| Fail::client("no client authentication and no known client_id"))?;
        if !client.accepts(AuthMethod::None) {
            return Err(Fail::client("this client must authenticate"));
        }
        (client, AuthMethod::None)
    };
    if params.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(Fail::client("client_id does not match the authenticated client"));
    }
    Ok((client, method))
}

/// `client_secret_jwt` / `private_key_jwt` (OIDC Core §9, RFC 7523 §3).
fn authenticate_assertion<'s>(
    shared: &'s Shared,
    params: &Params,
    assertion: &str,
) -> Result<(&'s ClientRegistration, AuthMethod), Fail> {
    if params.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(Fail::bad(
            "invalid_request",
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let parts = split_compact(assertion).ok_or_else(|| Fail::client("malformed client assertion"))?;
    let claim = |k: &str| parts.payload.get(k).and_then(Value::as_str);
    let client = claim("iss")
        .and_then(|iss| shared.client(iss))
        .ok_or_else(|| Fail::client("assertion iss is not a known client"))?;
    let alg = parts.header.get("alg").and_then(Value::as_str);
    let method = if alg == Some("HS256") {
        if !client.accepts(AuthMethod::ClientSecretJwt) {
            return Err(Fail::client("client_secret_jwt is not allowed for this client"));
        }
        let ok = client.secret.as_deref().is_some_and(|s| verify_hs256(&parts, s.as_bytes()));
        if !ok {
            return Err(Fail::client("client assertion signature does not verify"));
        }
        AuthMethod::ClientSecretJwt
    } else {
        if !client.accepts(AuthMethod::PrivateKeyJwt) {
            return Err(Fail::client("private_key_jwt is not allowed for this client"));
        }
        if !client.jwks.iter().any(|k| verify_with_jwk(&parts, k)) {
            return Err(Fail::client("client assertion signature does not verify"));
        }
        AuthMethod::PrivateKeyJwt
    };
    if claim("sub") != Some(client.client_id.as_str()) {
        return Err(Fail::client("assertion sub must equal iss (the client id)"));
    }
    let token_endpoint = shared.url(Endpoint::Token);
    let aud = parts.payload.get("aud");
    if shared.behavior.get().token_assertion_aud_issuer_only {
        if !matches!(aud, Some(Value::String(a)) if *a == shared.issuer) {
            return Err(Fail::client("assertion aud must be the issuer identifier, as a single string"));
        }
    } else {
        let aud_ok = match aud {
            Some(Value::String(a)) => *a == token_endpoint || *a == shared.issuer,
            Some(Value::Array(list)) => {
                list.iter().filter_map(Value::as_str).any(|a| a == token_endpoint || a == shared.issuer)
            }
            _ => false,
        };
        if !aud_ok {
            return Err(Fail::client("assertion aud must be the token endpoint or the issuer"));
        }
    }
    let now = now();
    // NumericDate may be fractional (RFC 7519 §2).
    let exp = parts
        .payload
        .get("exp")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)))
        .ok_or_else(|| Fail::client("assertion exp is missing"))?;
    if exp <= now - 5 {
        return Err(Fail::client("assertion has expired"));
    }
    let jti = claim("jti").ok_or_else(|| Fail::client("assertion jti is missing"))?;
    let mut store = shared.store();
    store.purge(now);
    let key = format!("{}\u{0}{}", client.client_id, jti);
    if store.assertion_jtis.contains_key(&key) {
        return Err(Fail::client("assertion jti was already used"));
    }
    store.assertion_jtis.insert(key, exp.max(now + 60));
    Ok((client, method))
}

/// RFC 7636 §4.1: 43–128 unreserved characters.
fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn authorization_code(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Map<String, Value>, Fail> {
    let code = params.get("code").ok_or_else(|| Fail::bad("invalid_request", "code is missing"))?;
    let now = now();
    let grant = {
        let mut store = shared.store();
        store.purge(now);
        match store.codes.remove(code) {
            Some(g) => g,
            None => {
                // RFC 6749 §4.1.2: a replayed code revokes what it produced.
                if let Some(tokens) = store.spent_codes.get(code).cloned() {
                    for t in tokens {
                        store.access.remove(&t);
                        store.refresh.remove(&t);
                    }
                    return Err(Fail::bad("invalid_grant", "the code was already used"));
                }
                return Err(Fail::bad("invalid_grant", "unknown or expired code"));
            }
        }
    };
    // From here the code is spent whatever happens: a failed redemption must not leave
    // it usable for a second guess.
    shared.store().spent_codes.insert(code.to_string(), Vec::new());
    if grant.request.client_id != client.client_id {
        return Err(Fail::bad("invalid_grant", "the code was issued to another client"));
    }
    if params.get("redirect_uri") != Some(grant.request.redirect_uri.as_str()) {
        return Err(Fail::bad("invalid_grant", "redirect_uri does not match the authorization request"));
    }
    match (&grant.request.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !is_valid_verifier(verifier) || !ct_eq(&s256(verifier), challenge) {
                return Err(Fail::bad("invalid_grant", "PKCE verification failed"));
            }
        }
        (Some(_), None) => {
            return Err(Fail::bad("invalid_grant", "code_verifier is missing"));
        }
        (None, Some(_)) => {
            return Err(Fail::bad("invalid_grant", "code_verifier sent but no code_challenge was"));
        }
        (None, None) => {}
    }
    let user = shared.user(&grant.username).ok_or_else(|| Fail::bad("invalid_grant", "the user no longer exists"))?;

    let (access_token, expires_in) = new_access_token(
        shared,
        AccessGrant {
            client_id: client.client_id.clone(),
            username: Some(grant.username.clone()),
            scope: grant.request.scope.clone(),
            sid: Some(grant.sid.clone()),
            expires_at: 0,
        },
    );
    let refresh = random_token(32);
    {
        let mut store = shared.store();
        if !b.token_omit_refresh_token {
            store.refresh.insert(
                refresh.clone(),
                RefreshGrant {
                    client_id: client.client_id.clone(),
                    username: grant.username.clone(),
                    scope: grant.request.scope.clone(),
                    sid: grant.sid.clone(),
                    auth_time: grant.auth_time,
                },
            );
        }
        store.spent_codes.insert(code.to_string(), vec![access_token.clone(), refresh.clone()]);
    }
    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(access_token.clone()));
    body.insert("token_type".into(), Value::from("Bearer"));
    body.insert("expires_in".into(), Value::from(expires_in));
    body.insert("scope".into(), Value::from(grant.request.scope.clone()));
    body.insert("refresh_token".into(), Value::from(refresh));
    if scopes(&grant.request.scope).contains(&"openid") {
        let input = IdTokenInput {
            client,
            user,
            scope: &grant.request.scope,
            nonce: grant.request.nonce.as_deref(),
            auth_time: grant.auth_time,
            sid: Some(&grant.sid),
            access_token: Some(&access_token),
            code: Some(code),
        };
        let jwt = id_token(shared, b, &input)
            .map_err(|e| Fail::bad("server_error", format!("cannot sign the ID token: {e}")))?;
        body.insert("id_token".into(), Value::from(jwt));
    }
    Ok(body)
}

fn refresh_token(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Map<String, Value>, Fail> {
    let presented =
        params.get("refresh_token").ok_or_else(|| Fail::bad("invalid_request", "refresh_token is missing"))?;
    let grant = {
        let store = shared.store();
        store.refresh.get(presented).cloned()
    }
    .ok_or_else(|| Fail::bad("invalid_grant", "unknown, revoked or already used refresh token"))?;
    if grant.client_id != client.client_id {
        return Err(Fail::bad("invalid_grant", "the refresh token was issued to another client"));
    }
    let granted = scopes(&grant.scope);
    let scope = match params.get("scope") {
        Some(requested) => {
            if !scopes(requested).iter().all(|s| granted.contains(s)) {
                return Err(Fail::bad("invalid_scope", "the requested scope exceeds the original grant"));
            }
            requested.to_string()
        }
        None => grant.scope.clone(),
    };
    let user = shared.user(&grant.username).ok_or_else(|| Fail::bad("invalid_grant", "the user no longer exists"))?;
    let (access_token, expires_in) = new_access_token(
        shared,
        AccessGrant {
            client_id: client.client_id.clone(),
            username: Some(grant.username.clone()),
            scope: scope.clone(),
            sid: Some(grant.sid.clone()),
            expires_at: 0,
        },
    );
    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(access_token.clone()));
    body.insert("token_type".into(), Value::from("Bearer"));
    body.insert("expires_in".into(), Value::from(expires_in));
    body.insert("scope".into(), Value::from(scope.clone()));
    if !b.token_omit_refresh_token {
        // Rotation: the presented token dies, a new one (same grant) replaces it.
        let new_refresh = random_token(32);
        let mut store = shared.store();
        if store.refresh.remove(presented).is_none() {
            return Err(Fail::bad("invalid_grant", "refresh token already used"));
        }
        store.refresh.insert(new_refresh.clone(), RefreshGrant { scope: grant.scope.clone(), ..grant.clone() });
        body.insert("refresh_token".into(), Value::from(new_refresh));
    }
    if scopes(&scope).contains(&"openid") {
        let input = IdTokenInput {
            client,
            user,
            scope: &scope,
            nonce: None,
            auth_time: grant.auth_time,
            sid: Some(&grant.sid),
            access_token: Some(&access_token),
            code: None,
        };
        let jwt = id_token(shared, b, &input)
            .map_err(|e| Fail::bad("server_error", format!("cannot sign the ID token: {e}")))?;
        body.insert("id_token".into(), Value::from(jwt));
    }
    Ok(body)
}

/// The form of a revocation or introspection request, and the client it authenticates.
fn authenticated_form<'s>(
    shared: &'s Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(&'s ClientRegistration, Params), Fail> {
    let params = Params::parse(body)
        .map_err(|dup| Fail::bad("invalid_request", format!("parameter {:?} sent more than once", dup.0)))?;
    let (client, _) = authenticate(shared, headers, &params)?;
    Ok((client, params))
}

/// [`authenticated_form`] with the failure as the response to send: for the device
/// authorization endpoint (RFC 8628 §3.1) and the PAR endpoint (RFC 9126).
pub(crate) fn authenticate_form<'s>(
    shared: &'s Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(&'s ClientRegistration, Params), Box<Response>> {
    authenticated_form(shared, headers, body).map_err(|f| Box::new(f.into_response()))
}

/// `POST /revoke` (RFC 7009): revokes a refresh token (and the access tokens of its
/// session) or an access token of the authenticated client; `200` also for an unknown
/// token (§2.2).
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (client, params) = match authenticated_form(&shared, &headers, &body) {
        Ok(ok) => ok,
        Err(fail) => return fail.into_response(),
    };
    let Some(token) = params.get("token").map(str::to_owned) else {
        return Fail::bad("invalid_request", "token is missing").into_response();
    };
    if let Some(error) = shared.behavior.get().revocation_error {
        return oauth_error(StatusCode::BAD_REQUEST, &error, "as configured");
    }
    let mut store = shared.store();
    if let Some(grant) = store.refresh.get(&token).cloned() {
        if grant.client_id == client.client_id {
            store.refresh.remove(&token);
            store.access.retain(|_, a| !(a.client_id == grant.client_id && a.sid.as_deref() == Some(&grant.sid)));
        }
    } else if store.access.get(&token).is_some_and(|a| a.client_id == client.client_id) {
        store.access.remove(&token);
    }
    let mut r = response(StatusCode::OK, "text/plain", "");
    no_store(&mut r);
    r
}

/// `POST /introspect` (RFC 7662): whether a token of the authenticated client is active,
/// with its claims when it is.
pub(crate) async fn introspect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (client, params) = match authenticated_form(&shared, &headers, &body) {
        Ok(ok) => ok,
        Err(fail) => return fail.into_response(),
    };
    if let Some(body) = shared.behavior.get().introspection_body {
        return json_no_store(StatusCode::OK, &body);
    }
    let token = params.get("token").unwrap_or_default().to_owned();
    let now = now();
    let store = shared.store();
    let answer =
        if let Some(a) = store.access.get(&token).filter(|a| a.client_id == client.client_id && a.expires_at > now) {
            let mut answer = serde_json::json!({"active": true, "scope": a.scope, "client_id": a.client_id,
                "username": a.username, "sub": a.username, "exp": a.expires_at, "token_type": "Bearer",
                "iss": shared.issuer});
            if let Some(cnf) = super::dpop::confirmation(&shared, &token) {
                answer["cnf"] = cnf;
                answer["token_type"] = "DPoP".into();
            }
            answer
        } else if let Some(r) = store.refresh.get(&token).filter(|r| r.client_id == client.client_id) {
            serde_json::json!({"active": true, "scope": r.scope, "client_id": r.client_id, "username": r.username,
                           "sub": r.username, "token_type": "refresh_token", "iss": shared.issuer})
        } else {
            serde_json::json!({"active": false})
        };
    json_no_store(StatusCode::OK, &answer)
}

fn client_credentials(
    shared: &Shared,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Map<String, Value>, Fail> {
    if !client.is_confidential() {
        return Err(Fail::bad("unauthorized_client", "public clients cannot use client_credentials"));
    }
    let scope = params.get("scope").unwrap_or_default().to_string();
    let (access_token, expires_in) = new_access_token(
        shared,
        AccessGrant {
            client_id: client.client_id.clone(),
            username: None,
            scope: scope.clone(),
            sid: None,
            expires_at: 0,
        },
    );
    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(access_token));
    body.insert("token_type".into(), Value::from("Bearer"));
    body.insert("expires_in".into(), Value::from(expires_in));
    body.insert("scope".into(), Value::from(scope));
    Ok(body)
}

/// Store a new access token for `grant`; returns it and its lifetime.
pub(crate) fn new_access_token(shared: &Shared, mut grant: AccessGrant) -> (String, i64) {
    let token = random_token(32);
    let ttl = shared.options.access_token_ttl;
    grant.expires_at = now() + ttl;
    shared.store().access.insert(token.clone(), grant);
    (token, ttl)
}

/// Apply the response-shape switches and serialize.
fn success(b: &Behavior, mut body: Map<String, Value>) -> Response {
    if let Some(t) = &b.token_type {
        body.insert("token_type".into(), Value::from(t.clone()));
    }
    if b.token_omit_expires_in {
        body.remove("expires_in");
    }
    if b.token_omit_scope {
        body.remove("scope");
    }
    if b.token_omit_id_token {
        body.remove("id_token");
    }
    if b.token_omit_refresh_token {
        body.remove("refresh_token");
    }
    if b.token_response_form_encoded {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &body {
            match v {
                Value::String(s) => ser.append_pair(k, s),
                other => ser.append_pair(k, &other.to_string()),
            };
        }
        let mut r = response(StatusCode::OK, "application/x-www-form-urlencoded", ser.finish());
        no_store(&mut r);
        r
    } else {
        json_no_store(StatusCode::OK, &Value::Object(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decode_handles_plus_and_percent() {
        assert_eq!(form_decode("a+b%3A%25").as_deref(), Some("a b:%"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }

    #[test]
    fn verifier_charset_and_length_follow_rfc7636() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"-._~".repeat(11)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    proptest::proptest! {
        #[test]
        fn form_decode_never_panics(s in "\\PC{0,64}") {
            let _ = form_decode(&s);
        }
    }
}
