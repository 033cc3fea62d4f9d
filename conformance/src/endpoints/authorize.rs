//! `GET|POST /authorize`: the authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2)
//! with a password-less login form.
//!
//! Requests whose `client_id` or `redirect_uri` cannot be trusted get an error page;
//! every other error goes back to the client as `error=…&state=…&iss=…` (RFC 6749
//! §4.1.2.1, RFC 9207).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::behavior::Endpoint;
use crate::respond::{error_page, faults, html_page, redirect};
use crate::state::{lock, AuthzRequest, CodeGrant, PendingLogin, ResponseMode, Session, Shared};
use crate::util::{html_escape, now, random_token, scopes, Params};

/// The single entry point for GET and POST.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = faults(&shared, Endpoint::Authorize).await {
        return r;
    }
    let raw: &[u8] = if method == Method::POST { &body } else { query.as_deref().unwrap_or_default().as_bytes() };
    let params = match Params::parse(raw) {
        Ok(p) => p,
        Err(dup) => {
            return error_page(StatusCode::BAD_REQUEST, &format!("The parameter {:?} was sent more than once.", dup.0))
        }
    };
    let cookie = session_cookie(&shared, &headers);
    if method == Method::POST && params.has("login_request") {
        login_submit(&shared, &params)
    } else {
        authorization_request(&shared, params, cookie.as_deref())
    }
}

/// The provider's session cookie value, if the browser sent one.
fn session_cookie(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == shared.cookie_name)
        .map(|(_, value)| value.to_string())
}

fn authorization_request(shared: &Shared, params: Params, cookie: Option<&str>) -> Response {
    // PAR `request_uri` / JAR `request`: the parameters they carry replace the query.
    let params = match crate::endpoints::par::authorization_params(shared, params) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let Some(client) = params.get("client_id").and_then(|id| shared.client(id)) else {
        return error_page(StatusCode::BAD_REQUEST, "Unknown or missing client_id.");
    };
    let Some(redirect_uri) = params.get("redirect_uri").filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is missing or is not registered for this client (exact match).",
        );
    };
    *lock(&shared.last_authorization_request) = Some(params.clone().into_map());

    let response_mode = match params.get("response_mode") {
        None | Some("query") => Some(ResponseMode::Query),
        Some("form_post") => Some(ResponseMode::FormPost),
        Some(_) => None,
    };
    let mut request = AuthzRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_mode: response_mode.unwrap_or(ResponseMode::Query),
        scope: params.get("scope").unwrap_or_default().to_string(),
        state: params.get("state").map(str::to_string),
        nonce: params.get("nonce").map(str::to_string),
        code_challenge: None,
        max_age: None,
    };
    let fail = |request: &AuthzRequest, error: &str, description: &str| {
        authorization_response(
            shared,
            request,
            vec![("error".into(), error.into()), ("error_description".into(), description.into())],
            None,
        )
    };
    if response_mode.is_none() {
        return fail(&request, "invalid_request", "unsupported response_mode (query, form_post)");
    }
    let b = shared.behavior.get();
    if let Some(error) = &b.authorize_error {
        let description =
            b.authorize_error_description.as_deref().unwrap_or("forced by the development provider's behaviour");
        return fail(&request, error, description);
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => return fail(&request, "unsupported_response_type", "only response_type=code is supported"),
        None => return fail(&request, "invalid_request", "response_type is missing"),
    }
    if params.has("request") {
        return fail(&request, "request_not_supported", "request objects are not supported");
    }
    if params.has("request_uri") {
        return fail(&request, "request_uri_not_supported", "request_uri is not supported");
    }
    match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (None, None) if shared.options.require_pkce || !client.is_confidential() => {
            return fail(
                &request,
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            )
        }
        (None, None) => {}
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {
            request.code_challenge = Some(challenge.to_string());
        }
        (Some(_), Some("S256")) => return fail(&request, "invalid_request", "malformed code_challenge"),
        _ => return fail(&request, "invalid_request", "code_challenge_method must be S256"),
    }
    if let Some(max_age) = params.get("max_age") {
        match max_age.parse::<i64>() {
            Ok(v) if v >= 0 => request.max_age = Some(v),
            _ => return fail(&request, "invalid_request", "max_age must be a non-negative integer"),
        }
    }
    let prompt = scopes(params.get("prompt").unwrap_or_default());
    if prompt.contains(&"none") && prompt.len() > 1 {
        return fail(&request, "invalid_request", "prompt=none cannot be combined");
    }

    let now = now();
    let session = cookie.and_then(|c| {
        let store = shared.store();
        store.session_by_cookie(c).cloned()
    });
    let fresh = |s: &Session| request.max_age.map_or(true, |m| now - s.auth_time <= m);
    match session {
        Some(s) if fresh(&s) && !prompt.contains(&"login") => {
            return issue_code(shared, request, &s, None);
        }
        _ if prompt.contains(&"none") => {
            return fail(&request, "login_required", "the user is not logged in");
        }
        _ => {}
    }
    if let Some(username) = shared.options.auto_login.clone() {
        return log_in(shared, request, &username);
    }
    let id = random_token(16);
    let mut store = shared.store();
    store.purge(now);
    store
        .pending
        .insert(id.clone(), PendingLogin { request: request.clone(), expires_at: now + shared.options.login_ttl });
    drop(store);
    login_form(shared, &request, &id)
}

/// RFC 7636 §4.2: an S256 challenge is 43 base64url characters.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn login_form(shared: &Shared, request: &AuthzRequest, login_request: &str) -> Response {
    let action = html_escape(&shared.url(Endpoint::Authorize));
    let id = html_escape(login_request);
    let users: String = shared
        .users
        .iter()
        .map(|u| {
            format!(
                "<form method=\"post\" action=\"{action}\">\
                 <input type=\"hidden\" name=\"login_request\" value=\"{id}\">\
                 <input type=\"hidden\" name=\"username\" value=\"{name}\">\
                 <button type=\"submit\">Log in as {name}</button></form>",
                name = html_escape(&u.username)
            )
        })
        .collect();
    let body = format!(
        "<p>The application <code>{client}</code> asks you to log in (scope: <code>{scope}</code>).</p>\
         <p>This development provider has no passwords: pick a user.</p>\
         {users}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"login_request\" value=\"{id}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\" autofocus></label> \
         <button type=\"submit\">Log in</button> \
         <button type=\"submit\" name=\"cancel\" value=\"1\">Cancel</button></form>",
        client = html_escape(&request.client_id),
        scope = html_escape(&request.scope),
    );
    html_page(StatusCode::OK, "Log in", &body)
}

fn login_submit(shared: &Shared, params: &Params) -> Response {
    let pending =
        params.get("login_request").and_then(|id| shared.store().pending.remove(id)).filter(|p| p.expires_at > now());
    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This login request is unknown, expired or already used. Start again from the application.",
        );
    };
    let request = pending.request;
    let error = |error: &str, description: &str| {
        authorization_response(
            shared,
            &request,
            vec![("error".into(), error.into()), ("error_description".into(), description.into())],
            None,
        )
    };
    if params.has("cancel") {
        return error("access_denied", "the user cancelled the login");
    }
    match params.get("username") {
        Some(username) if shared.user(username).is_some() => {
            let username = username.to_string();
            log_in(shared, request, &username)
        }
        _ => error("access_denied", "unknown user"),
    }
}

/// Start a new provider session for `username` and issue a code.
fn log_in(shared: &Shared, request: AuthzRequest, username: &str) -> Response {
    let session = Session {
        sid: random_token(16),
        cookie: random_token(32),
        username: username.to_string(),
        auth_time: now(),
        clients: Default::default(),
    };
    shared.store().sessions.insert(session.sid.clone(), session.clone());
    let cookie = format!("{}={}; Path=/; HttpOnly; SameSite=Lax", shared.cookie_name, session.cookie);
    issue_code(shared, request, &session, Some(cookie))
}

/// Issue a single-use code bound to the request, the user and the session.
fn issue_code(shared: &Shared, request: AuthzRequest, session: &Session, set_cookie: Option<String>) -> Response {
    let code = random_token(32);
    let now = now();
    {
        let mut store = shared.store();
        store.purge(now);
        if let Some(s) = store.sessions.get_mut(&session.sid) {
            s.clients.insert(request.client_id.clone());
        }
        store.codes.insert(
            code.clone(),
            CodeGrant {
                request: request.clone(),
                username: session.username.clone(),
                auth_time: session.auth_time,
                sid: session.sid.clone(),
                expires_at: now + shared.options.code_ttl,
            },
        );
    }
    authorization_response(shared, &request, vec![("code".into(), code)], set_cookie)
}

/// Send `params` (plus `state` and `iss`) back to the client's redirect URI, by query or
/// by auto-submitting form.
fn authorization_response(
    shared: &Shared,
    request: &AuthzRequest,
    mut params: Vec<(String, String)>,
    set_cookie: Option<String>,
) -> Response {
    if let Some(state) = &request.state {
        params.push(("state".into(), state.clone()));
    }
    let b = shared.behavior.get();
    if !b.callback_omit_iss {
        let iss = b.callback_issuer.unwrap_or_else(|| shared.issuer.clone());
        params.push(("iss".into(), iss));
    }
    let mut response = match request.response_mode {
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(&request.redirect_uri) else {
                return error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a URL.");
            };
            url.query_pairs_mut().extend_pairs(params.iter());
            redirect(url.as_str())
        }
        ResponseMode::FormPost => form_post(&request.redirect_uri, &params),
    };
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// An OAuth error back to the client (PAR and request-object failures).
pub(crate) fn error_response(shared: &Shared, request: &AuthzRequest, error: &str, description: &str) -> Response {
    authorization_response(
        shared,
        request,
        vec![("error".into(), error.into()), ("error_description".into(), description.into())],
        None,
    )
}

/// The Form Post Response Mode page: an auto-submitting form.
fn form_post(action: &str, params: &[(String, String)]) -> Response {
    let inputs: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", html_escape(k), html_escape(v)))
        .collect();
    let body = format!(
        "<form method=\"post\" action=\"{}\">{inputs}\
         <noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script>document.forms[0].submit()</script>",
        html_escape(action)
    );
    html_page(StatusCode::OK, "Continue", &body)
}
