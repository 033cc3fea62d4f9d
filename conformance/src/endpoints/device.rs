//! The device authorization grant (RFC 8628): `POST /device_authorization`, the token
//! endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant, the verification page
//! `/device` for a person, and a scripted user ([`DeviceUser`]) that approves or denies a
//! user code from a test.
//!
//! The token endpoint answers `authorization_pending` until the user decides,
//! `slow_down` (and adds 5 s to the interval, RFC 8628 §3.5) when polled faster than the
//! interval, `expired_token` past the lifetime, `access_denied` after a denial, and
//! records when every poll arrived so a test can check the RP's pacing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use crate::behavior::Behavior;
use crate::issue::{id_token, IdTokenInput};
use crate::registration::ClientRegistration;
use crate::respond::{html_page, json_no_store, oauth_error};
use crate::state::{AccessGrant, Shared};
use crate::util::{html_escape, now, random_token, scopes, Params};

/// Polls closer together than the interval by less than this are not punished: the RP's
/// clock has whole seconds, and a request's latency varies.
const POLL_TOLERANCE: Duration = Duration::from_millis(250);

/// At most this many device authorizations are kept (oldest dropped).
const MAX_GRANTS: usize = 256;

/// At most this many polls are recorded per user code.
const MAX_POLLS: usize = 1024;

#[derive(Clone, Debug)]
enum Decision {
    Pending,
    Approved { username: String, auth_time: i64 },
    Denied,
}

struct DeviceGrant {
    client_id: String,
    scope: String,
    user_code: String,
    issued: Instant,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    decision: Decision,
    /// Answers the test forces on the next polls (`slow_down`, `expired_token`, …).
    forced: VecDeque<&'static str>,
}

/// The provider's device authorizations and the record of polls.
#[derive(Default)]
pub(crate) struct DeviceState {
    inner: Mutex<DeviceInner>,
}

struct DeviceInner {
    grants: HashMap<String, DeviceGrant>,
    /// user code → device code.
    by_user_code: HashMap<String, String>,
    /// user code → when each poll arrived, from the device authorization's issue.
    polls: HashMap<String, Vec<Duration>>,
    interval: Duration,
    lifetime: Duration,
}

impl Default for DeviceInner {
    fn default() -> Self {
        DeviceInner {
            grants: HashMap::new(),
            by_user_code: HashMap::new(),
            polls: HashMap::new(),
            interval: Duration::from_secs(5),
            lifetime: Duration::from_secs(600),
        }
    }
}

impl DeviceState {
    fn lock(&self) -> std::sync::MutexGuard<'_, DeviceInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The scripted user of the device flow, and the record of the RP's polls
/// ([`RunningProvider::device_user`](crate::RunningProvider::device_user)).
///
/// ```
/// use rpkit_conformance::{ClientRegistration, DevProvider, DevUser};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let op = DevProvider::builder()
///     .client(ClientRegistration::public("tv"))
///     .user(DevUser::new("alice"))
///     .start()
///     .await?;
/// let user = op.device_user();
/// user.set_timing(1, std::time::Duration::from_secs(30));
/// assert!(!user.approve("NO-SUCH-CODE", "alice"));
/// op.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DeviceUser {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DeviceUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceUser").finish_non_exhaustive()
    }
}

impl DeviceUser {
    /// The `interval` (seconds, at least 1) and lifetime of device authorizations issued
    /// from now on (default 5 s and 10 minutes).
    pub fn set_timing(&self, interval_secs: u64, lifetime: Duration) {
        let mut d = self.shared.device.lock();
        d.interval = Duration::from_secs(interval_secs.max(1));
        d.lifetime = lifetime;
    }

    /// The user logs in as `username` and approves `user_code`; `false` if no pending
    /// authorization has that code (or the user is unknown).
    pub fn approve(&self, user_code: &str, username: &str) -> bool {
        if self.shared.user(username).is_none() {
            return false;
        }
        self.decide(user_code, Decision::Approved { username: username.to_owned(), auth_time: now() })
    }

    /// The user denies `user_code`; `false` if no pending authorization has that code.
    pub fn deny(&self, user_code: &str) -> bool {
        self.decide(user_code, Decision::Denied)
    }

    /// The next poll for `user_code` is answered with `error` (`slow_down` also adds 5 s
    /// to the interval, `expired_token` ends the authorization); `false` if unknown.
    pub fn force_error(&self, user_code: &str, error: &'static str) -> bool {
        let mut d = self.shared.device.lock();
        let Some(code) = d.by_user_code.get(user_code).cloned() else { return false };
        match d.grants.get_mut(&code) {
            Some(g) => {
                g.forced.push_back(error);
                true
            }
            None => false,
        }
    }

    /// When each token poll for `user_code` arrived, measured from the device
    /// authorization's issue.
    pub fn polls(&self, user_code: &str) -> Vec<Duration> {
        self.shared.device.lock().polls.get(user_code).cloned().unwrap_or_default()
    }

    /// The user codes issued so far that are still known (pending or decided, not yet
    /// redeemed or expired).
    pub fn user_codes(&self) -> Vec<String> {
        self.shared.device.lock().by_user_code.keys().cloned().collect()
    }

    fn decide(&self, user_code: &str, decision: Decision) -> bool {
        let mut d = self.shared.device.lock();
        let Some(code) = d.by_user_code.get(user_code).cloned() else { return false };
        match d.grants.get_mut(&code) {
            Some(g) if matches!(g.decision, Decision::Pending) && Instant::now() < g.expires => {
                g.decision = decision;
                true
            }
            _ => false,
        }
    }
}

/// A user code: 8 letters without vowels or look-alikes, `XXXX-XXXX` (RFC 8628 §6.1).
fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let raw = random_token(16);
    let letters: String = raw.bytes().take(8).map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// `POST /device_authorization` (RFC 8628 §3.1–3.2).
pub(crate) async fn device_authorization(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, params) = match crate::endpoints::token::authenticate_form(&shared, &headers, &body) {
        Ok(ok) => ok,
        Err(response) => return *response,
    };
    let scope = params.get("scope").unwrap_or_default().to_owned();
    if let Some(bad) = scopes(&scope).into_iter().find(|s| !SCOPES.contains(s)) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &format!("unknown scope {bad:?}"));
    }
    let device_code = random_token(32);
    let user_code = user_code();
    let mut d = shared.device.lock();
    if d.grants.len() >= MAX_GRANTS {
        if let Some(oldest) = d.grants.iter().min_by_key(|(_, g)| g.issued).map(|(k, _)| k.clone()) {
            if let Some(g) = d.grants.remove(&oldest) {
                d.by_user_code.remove(&g.user_code);
                d.polls.remove(&g.user_code);
            }
        }
    }
    let issued = Instant::now();
    let (interval, lifetime) = (d.interval, d.lifetime);
    d.by_user_code.insert(user_code.clone(), device_code.clone());
    d.polls.insert(user_code.clone(), Vec::new());
    d.grants.insert(
        device_code.clone(),
        DeviceGrant {
            client_id: client.client_id.clone(),
            scope,
            user_code: user_code.clone(),
            issued,
            expires: issued + lifetime,
            interval,
            last_poll: None,
            decision: Decision::Pending,
            forced: VecDeque::new(),
        },
    );
    drop(d);
    let verification_uri = format!("{}/device", shared.issuer);
    json_no_store(
        StatusCode::OK,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
            "expires_in": lifetime.as_secs().max(1),
            "interval": interval.as_secs(),
        }),
    )
}

const SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone", "offline_access"];

/// The token endpoint's device code grant (RFC 8628 §3.4–3.5) for the authenticated
/// `client`. An error is `(error code, description)`.
pub(crate) fn token_grant(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    params: &Params,
) -> Result<Map<String, Value>, (&'static str, String)> {
    let code = params.get("device_code").ok_or(("invalid_request", "device_code is missing".to_owned()))?;
    let arrived = Instant::now();
    let mut d = shared.device.lock();
    let grant = d.grants.get_mut(code).ok_or(("invalid_grant", "unknown device code".to_owned()))?;
    if grant.client_id != client.client_id {
        return Err(("invalid_grant", "the device code was issued to another client".into()));
    }
    let user_code = grant.user_code.clone();
    let since_issue = arrived.duration_since(grant.issued);
    let previous = grant.last_poll.replace(arrived);
    let forced = grant.forced.pop_front();
    let expired = arrived >= grant.expires;
    let too_fast = previous.is_some_and(|p| arrived.duration_since(p) + POLL_TOLERANCE < grant.interval);
    if forced == Some("slow_down") || (forced.is_none() && !expired && too_fast) {
        grant.interval += Duration::from_secs(5);
    }
    let decision = grant.decision.clone();
    let scope = grant.scope.clone();
    if let Some(log) = d.polls.get_mut(&user_code) {
        if log.len() < MAX_POLLS {
            log.push(since_issue);
        }
    }
    let forget = |d: &mut DeviceInner| {
        d.grants.remove(code);
        d.by_user_code.remove(&user_code);
    };
    match forced {
        Some("slow_down") => return Err(("slow_down", "forced by the test".into())),
        Some("expired_token") => {
            forget(&mut d);
            return Err(("expired_token", "forced by the test".into()));
        }
        Some(other) => return Err((other, "forced by the test".into())),
        None => {}
    }
    if expired {
        forget(&mut d);
        return Err(("expired_token", "the device code has expired".into()));
    }
    if too_fast {
        return Err(("slow_down", "polled faster than the interval".into()));
    }
    match decision {
        Decision::Pending => Err(("authorization_pending", "the user has not decided yet".into())),
        Decision::Denied => {
            forget(&mut d);
            Err(("access_denied", "the user denied the request".into()))
        }
        Decision::Approved { username, auth_time } => {
            forget(&mut d);
            drop(d);
            issue(shared, b, client, &username, &scope, auth_time)
        }
    }
}

fn issue(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    username: &str,
    scope: &str,
    auth_time: i64,
) -> Result<Map<String, Value>, (&'static str, String)> {
    let user = shared.user(username).ok_or(("invalid_grant", "the user is gone".to_owned()))?;
    let (access_token, expires_in) = crate::endpoints::token::new_access_token(
        shared,
        AccessGrant {
            client_id: client.client_id.clone(),
            username: Some(username.to_owned()),
            scope: scope.to_owned(),
            sid: None,
            expires_at: 0,
        },
    );
    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(access_token.clone()));
    body.insert("token_type".into(), Value::from("Bearer"));
    body.insert("expires_in".into(), Value::from(expires_in));
    body.insert("scope".into(), Value::from(scope));
    if scopes(scope).contains(&"openid") {
        let input = IdTokenInput {
            client,
            user,
            scope,
            nonce: None,
            auth_time,
            sid: None,
            access_token: Some(&access_token),
            code: None,
        };
        let jwt =
            id_token(shared, b, &input).map_err(|e| ("server_error", format!("cannot sign the ID token: {e}")))?;
        body.insert("id_token".into(), Value::from(jwt));
    }
    Ok(body)
}

/// `GET /device` (the `verification_uri`): a page where a person enters (or, from
/// `verification_uri_complete`, confirms) the user code, names the dev user to log in as,
/// and approves or denies. Like the login form, it is for local development only.
pub(crate) async fn verification_page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let code = Params::parse(query.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("user_code").map(str::to_owned))
        .unwrap_or_default();
    let user = shared.users.first().map(|u| u.username.clone()).unwrap_or_default();
    let body = format!(
        "<p>Enter the code shown on your device.</p>\
         <form method=\"post\" action=\"/device\">\
         <p><label>Code <input name=\"user_code\" value=\"{code}\" autocomplete=\"off\"></label></p>\
         <p><label>User <input name=\"username\" value=\"{user}\"></label></p>\
         <button name=\"action\" value=\"approve\">Approve</button> \
         <button name=\"action\" value=\"deny\">Deny</button></form>",
        code = html_escape(&code),
        user = html_escape(&user),
    );
    html_page(StatusCode::OK, "Device login", &body)
}

/// `POST /device`: the decision from [`verification_page`].
pub(crate) async fn verification_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(params) = Params::parse(&body) else {
        return html_page(StatusCode::BAD_REQUEST, "Device login", "<p>Repeated parameters.</p>");
    };
    let user = DeviceUser { shared: shared.clone() };
    let code = params.get("user_code").unwrap_or_default().trim().to_ascii_uppercase();
    let done = match params.get("action") {
        Some("approve") => user.approve(&code, params.get("username").unwrap_or_default()),
        Some("deny") => user.deny(&code),
        _ => false,
    };
    if done {
        html_page(StatusCode::OK, "Device login", "<p>Done. You can return to your device.</p>")
    } else {
        html_page(
            StatusCode::BAD_REQUEST,
            "Device login",
            "<p>That code is unknown, expired or already used, or the user is unknown.</p>",
        )
    }
}
