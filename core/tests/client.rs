//! The async client (`rpkit::client`) against an in-memory provider: whole flows,
//! single-flight caches and refresh, key rotation, discovery caching, logout, errors.
//!
//! Deterministic: a `ManualClock`, `SeededRandom`, and a fake `HttpClient` that counts
//! requests per endpoint. The only real waiting is the fake provider's 2 ms per request,
//! which makes concurrent callers overlap.

mod support;

use rpkit::authorize::{pkce_challenge, PendingSet};
use rpkit::callback::CallbackParams;
use rpkit::client::{
    AuthorizeOptions, ClientError, FetchToken, HttpClient, LogoutOptions, ManualClock, OAuth, TransportError,
};
use rpkit::error::{CallbackError, ConfigError, DiscoveryError, Endpoint, IdTokenError, JoseError, LogoutError};
use rpkit::error::{StateError, UserInfoError};
use rpkit::logout::PendingLogouts;
use rpkit::rand::SeededRandom;
use rpkit::{Error, ProviderError, Token};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::*;

fn query_map(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A token as a session would hold it, built from JSON.
fn stored_token(value: Value) -> Token {
    serde_json::from_value(value).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. The code flow
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_returns_a_token_with_id_token_claims_and_userinfo_checks_the_subject() {
    let bed = Bed::new();
    let mut session = PendingSet::new();
    let url = bed.client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();

    // The authorization URL: the discovered endpoint with our parameters.
    assert_eq!(url.host_str(), Some("op.example"));
    assert_eq!(url.path(), "/authorize");
    let q = query_map(&url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert_eq!(q["scope"], "openid email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43);
    assert_ne!(q["state"], q["nonce"]);

    // The session holds what the callback needs, matching the URL.
    assert_eq!(session.len(), 1);
    let pending = session.iter().next().unwrap();
    assert_eq!(pending.state().secret(), q["state"]);
    assert_eq!(pending.nonce().unwrap().secret(), q["nonce"]);
    assert_eq!(pkce_challenge(pending.code_verifier().unwrap()), q["code_challenge"]);
    assert_eq!(pending.redirect_uri(), Some(REDIRECT_URI));

    // The provider redirects back; the callback exchanges the code.
    let callback = bed.op.authorize(&url);
    let params = CallbackParams::from_query(&callback).unwrap();
    let token = bed.client.authorize_access_token(&mut session, &params).await.unwrap();
    assert!(session.is_empty(), "the pending authorization is single-use");

    // The token request: code, the PKCE verifier hashing to the challenge (checked by the
    // fake provider too), the same redirect_uri, client_secret_basic.
    let (form, auth) = bed.op.with(|s| (s.token_forms[0].clone(), s.token_auth[0].clone()));
    assert_eq!(form["grant_type"], "authorization_code");
    assert!(form["code"].starts_with("code-"));
    assert_eq!(form["redirect_uri"], REDIRECT_URI);
    let verifier = &form["code_verifier"];
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    assert_eq!(rpkit::jose::b64::encode(digest.as_ref()), q["code_challenge"]);
    assert!(!form.contains_key("client_secret"), "the secret travels in the Authorization header only");
    assert!(auth.unwrap().starts_with("Basic "));

    // The token, with the ID token's claims in `userinfo`.
    assert!(token.access_token.secret().starts_with("at-"));
    assert!(token.refresh_token.is_some());
    assert_eq!(token.expires_at.map(|t| t.as_secs()), Some(T0 + 3600));
    assert!(token.id_token.is_some());
    let claims = token.userinfo.as_ref().unwrap();
    assert_eq!(claims.sub(), Some(SUB));
    assert_eq!(claims.iss(), Some(ISSUER));
    assert_eq!(claims.nonce(), Some(q["nonce"].as_str()));
    assert_eq!(claims.get_str("email"), Some("user@example.com"));

    let seen = bed.op.seen();
    assert_eq!((seen.discovery, seen.jwks, seen.token_code, seen.userinfo), (1, 1, 1, 0));

    // UserInfo (JSON) with the token.
    let info = bed.client.userinfo(&token).await.unwrap();
    assert_eq!(info.sub(), Some(SUB));
    assert_eq!(info.get_str("name"), Some("User One"));
    assert_eq!(bed.op.seen().userinfo, 1);

    // A UserInfo response about someone else is refused.
    bed.op.with(|s| s.userinfo_sub = "someone-else".into());
    let err = bed.client.userinfo(&token).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::UserInfo(UserInfoError::SubjectMismatch))), "{err:?}");
    assert_eq!(err.code(), "invalid_userinfo");
    assert!(!err.is_provider_failure());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_userinfo_is_verified_with_the_cached_jwks() {
    let bed = Bed::new();
    let token = bed.login().await.unwrap();
    bed.op.with(|s| s.userinfo_jwt = true);
    let info = bed.client.userinfo(&token).await.unwrap();
    assert_eq!(info.sub(), Some(SUB));
    assert_eq!(info.iss(), Some(ISSUER));
    assert_eq!(bed.op.seen().jwks, 1, "the JWKS fetched for the ID token is reused");

    bed.op.with(|s| s.userinfo_sub = "someone-else".into());
    let err = bed.client.userinfo(&token).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::UserInfo(UserInfoError::SubjectMismatch))), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_options_set_the_redirect_uri_and_extra_parameters() {
    let bed = Bed::new();
    let mut session = PendingSet::new();
    let options = AuthorizeOptions::redirect_uri("https://app.example/other-cb").param("prompt", "login");
    let url = bed.client.authorize_redirect(&mut session, &options).await.unwrap().to_url();
    let q = query_map(&url);
    assert_eq!(q["redirect_uri"], "https://app.example/other-cb");
    assert_eq!(q["prompt"], "login");
    // The token request repeats the redirect URI actually sent.
    let params = CallbackParams::from_query(&bed.op.authorize(&url)).unwrap();
    bed.client.authorize_access_token(&mut session, &params).await.unwrap();
    assert_eq!(bed.op.with(|s| s.token_forms[0]["redirect_uri"].clone()), "https://app.example/other-cb");
}

// ---------------------------------------------------------------------------------------
// 2. Single-flight discovery and JWKS
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_callbacks_cause_one_discovery_and_one_jwks_fetch() {
    let bed = Bed::new();
    // Another worker builds the 100 authorization requests, so that `bed.client` starts
    // the callbacks with cold caches.
    let (_front, front) = bed.worker(11);
    let mut callbacks = Vec::new();
    for _ in 0..100 {
        let mut session = PendingSet::new();
        let url = front.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
        callbacks.push((session, bed.op.authorize(&url)));
    }
    let before = bed.op.seen();
    assert_eq!((before.discovery, before.jwks), (1, 0));

    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(mut session, query)| {
            let client = bed.client.clone();
            tokio::spawn(async move {
                let params = CallbackParams::from_query(&query).unwrap();
                client.authorize_access_token(&mut session, &params).await
            })
        })
        .collect();
    let mut access_tokens = std::collections::HashSet::new();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.userinfo.as_ref().and_then(|c| c.sub()), Some(SUB));
        access_tokens.insert(token.access_token.secret().to_owned());
    }
    assert_eq!(access_tokens.len(), 100);

    let after = bed.op.seen();
    let discovery = after.discovery - before.discovery;
    let jwks = after.jwks - before.jwks;
    let token = after.token_code - before.token_code;
    println!("100 concurrent authorize_access_token: discovery fetches = {discovery}, JWKS fetches = {jwks}, token requests = {token}");
    assert_eq!(discovery, 1);
    assert_eq!(jwks, 1);
    assert_eq!(token, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_discovery_that_fails_is_fetched_once() {
    let bed = Bed::new();
    bed.op.with(|s| {
        s.discovery_status = 500;
        s.delay_ms = 10;
    });
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = bed.client.clone();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                client.load_server_metadata().await
            })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(
            matches!(err, ClientError::Core(Error::Http { endpoint: Endpoint::Discovery, status: 500 })),
            "{err:?}"
        );
        assert!(err.is_provider_failure());
    }
    let fetches = bed.op.seen().discovery;
    println!("20 concurrent load_server_metadata against a failing provider: discovery fetches = {fetches}");
    assert_eq!(fetches, 1, "waiters share the failed attempt instead of retrying one after another");

    // A later call (not waiting on that attempt) tries again, and succeeds once the
    // provider is back.
    bed.op.with(|s| s.discovery_status = 200);
    let md = bed.client.load_server_metadata().await.unwrap().unwrap();
    assert_eq!(md.issuer, ISSUER);
    assert_eq!(bed.op.seen().discovery, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_jwks_fetch_that_fails_is_fetched_once() {
    let bed = Bed::new();
    let (_front, front) = bed.worker(5);
    let mut callbacks = Vec::new();
    for _ in 0..20 {
        let mut session = PendingSet::new();
        let url = front.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
        callbacks.push((session, bed.op.authorize(&url)));
    }
    bed.op.with(|s| {
        s.jwks_status = 503;
        s.jwks_gate = Some(20);
    });
    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(mut session, query)| {
            let client = bed.client.clone();
            tokio::spawn(async move {
                let params = CallbackParams::from_query(&query).unwrap();
                client.authorize_access_token(&mut session, &params).await
            })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, ClientError::Core(Error::Http { endpoint: Endpoint::Jwks, status: 503 })), "{err:?}");
    }
    let fetches = bed.op.seen().jwks;
    println!("20 concurrent callbacks against a failing JWKS endpoint: JWKS fetches = {fetches}");
    assert_eq!(fetches, 1);

    bed.op.with(|s| {
        s.jwks_status = 200;
        s.jwks_gate = None;
    });
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 2);
}

// ---------------------------------------------------------------------------------------
// 3. Single-flight refresh
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_calls_with_one_expired_token_cause_one_refresh() {
    let bed = Bed::new();
    let old = bed.login().await.unwrap();
    let callbacks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&callbacks);
    bed.oauth.on_token_update(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut stream = bed.oauth.token_updates();

    bed.clock.advance(3600 - 30); // within the 60 s leeway of expiry
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let client = bed.client.clone();
            let token = old.clone();
            tokio::spawn(async move { client.get(&format!("items/{i}"), &token).await })
        })
        .collect();
    let new = one_shared_refresh(tasks, &old).await;
    let auths = bed.op.with(|s| s.resource_auth.clone());
    assert_eq!(auths.len(), 100);
    assert!(auths.iter().all(|a| *a == format!("Bearer {}", new.access_token.secret())));

    let refreshes = bed.op.seen().token_refresh;
    let callback_events = callbacks.load(Ordering::SeqCst);
    let mut stream_events = Vec::new();
    while let Ok(event) = stream.try_recv() {
        stream_events.push(event);
    }
    println!(
        "100 concurrent get() with one expired token: refresh requests = {refreshes}, on_token_update calls = {callback_events}, token_updates() events = {}",
        stream_events.len()
    );
    assert_eq!(refreshes, 1);
    assert_eq!(callback_events, 1);
    assert_eq!(stream_events.len(), 1);
    let event = &stream_events[0];
    assert_eq!(event.name, "op");
    assert_eq!(event.token, new);
    assert_eq!(event.refresh_token, old.refresh_token, "the event names the OLD refresh token");
    assert!(event.access_token.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_still_holding_the_old_token_gets_the_new_one_without_a_second_refresh() {
    let bed = Bed::new();
    let old = bed.login().await.unwrap();
    bed.clock.advance(3600);
    let first = bed.client.get("a", &old).await.unwrap().refreshed.unwrap();
    bed.clock.advance(5);
    // The old refresh token was rotated away: spending it again would fail.
    let second = bed.client.get("b", &old).await.unwrap().refreshed.unwrap();
    assert_eq!(first, second);
    assert_eq!(bed.op.seen().token_refresh, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_retried_by_the_next_call() {
    let bed = Bed::new();
    let old = bed.login().await.unwrap();
    bed.clock.advance(3600);
    bed.op.with(|s| s.fail.insert("/token".into(), TransportError::Timeout));
    let err = bed.client.get("a", &old).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Transport { endpoint: Endpoint::Token, source: TransportError::Timeout }),
        "{err:?}"
    );
    assert_eq!(bed.op.seen().resource, 0, "nothing is sent with an expired token");

    // The provider is back a second later: the same token must refresh now, not replay
    // the cached timeout for minutes.
    bed.op.with(|s| s.fail.clear());
    bed.clock.advance(1);
    let resp = bed.client.get("a", &old).await.unwrap();
    assert!(resp.refreshed.is_some());
    assert_eq!(bed.op.seen().token_refresh, 1);
    assert_eq!(bed.op.seen().failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_without_rotation_are_refreshed_each_time_they_expire() {
    let bed = Bed::new();
    bed.op.with(|s| {
        s.expires_in = 120;
        s.refresh_mode = RefreshMode::NoNewRefreshToken;
    });
    let t0 = bed.login().await.unwrap();
    bed.clock.advance(61); // 59 s left, inside the 60 s leeway
    let t1 = bed.client.get("a", &t0).await.unwrap().refreshed.unwrap();
    assert_eq!(t1.refresh_token, t0.refresh_token, "no new refresh token: the old one is kept");
    assert_eq!(t1.expires_at.unwrap().as_secs(), T0 + 61 + 120);

    bed.clock.advance(61); // t1 is about to expire in turn
    let t2 = bed.client.get("a", &t1).await.unwrap().refreshed.expect("t1 needs a refresh as well");
    assert_ne!(t2.access_token.secret(), t1.access_token.secret(), "a new access token, not t1 again");
    assert_eq!(t2.expires_at.unwrap().as_secs(), T0 + 122 + 120);
    assert_eq!(bed.op.seen().token_refresh, 2);
    let auths = bed.op.with(|s| s.resource_auth.clone());
    assert_eq!(auths[1], format!("Bearer {}", t2.access_token.secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_whose_refresh_is_rejected_all_fail_after_one_request() {
    let bed = Bed::new();
    let old = bed.login().await.unwrap();
    bed.op.with(|s| s.refresh_mode = RefreshMode::InvalidGrant);
    bed.clock.advance(3600);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = bed.client.clone();
            let token = old.clone();
            tokio::spawn(async move { client.get("x", &token).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, ClientError::Core(Error::ReauthenticationRequired(ref p)) if p.error == "invalid_grant"));
    }
    assert_eq!(bed.op.seen().token_refresh, 1);
    assert_eq!(bed.op.seen().resource, 0);
}

// ---------------------------------------------------------------------------------------
// 4. Bad callbacks and bad ID tokens
// ---------------------------------------------------------------------------------------

/// A session with one pending authorization and the provider's honest callback query.
async fn start(bed: &Bed) -> (PendingSet, String) {
    let mut session = PendingSet::new();
    let url = bed.client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
    let query = bed.op.authorize(&url);
    (session, query)
}

fn replace_param(query: &str, name: &str, value: Option<&str>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != name {
            out.append_pair(&k, &v);
        }
    }
    if let Some(v) = value {
        out.append_pair(name, v);
    }
    out.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_with_a_wrong_state_sends_no_token_request() {
    let bed = Bed::new();
    let (mut session, query) = start(&bed).await;
    let forged = replace_param(&query, "state", Some("not-the-state"));
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&forged).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Unknown { session_empty: false })));
    assert_eq!(err.code(), "state_unknown");

    let missing = replace_param(&query, "state", None);
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&missing).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Missing)));
    assert_eq!(err.code(), "state_missing");
    assert_eq!(bed.op.seen().token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_flows_refuse_an_oauth1_client_and_send_nothing() {
    let mut cfg = config();
    cfg.request_token_url = Some("https://op.example/oauth/request_token".into());
    let bed = Bed::with_config(cfg);
    let expected = ClientError::OAuth1Client { name: "op".into() };

    let mut session = PendingSet::new();
    let err = bed.client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap_err();
    assert_eq!(err, expected);
    assert_eq!(err.code(), "oauth1_client");
    assert!(err.to_string().contains("request_token_url"));
    assert!(session.is_empty());
    let err = bed.client.create_authorization_url(&AuthorizeOptions::default()).await.unwrap_err();
    assert_eq!(err, expected);

    let params = CallbackParams::from_query("code=c&state=s").unwrap();
    let err = bed.client.authorize_access_token(&mut session, &params).await.unwrap_err();
    assert_eq!(err, expected);
    assert_eq!(bed.op.seen(), Default::default(), "no request of any kind was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_with_a_provider_error_sends_no_token_request() {
    let bed = Bed::new();
    let (mut session, query) = start(&bed).await;
    let state = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "state").unwrap().1.into_owned();
    let error = format!("error=access_denied&error_description=The+user+said+no&state={state}");
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&error).unwrap())
        .await
        .unwrap_err();
    let expected =
        ProviderError { error: "access_denied".into(), description: Some("The user said no".into()), uri: None };
    assert_eq!(err, ClientError::Core(Error::Provider(expected)));
    assert_eq!(err.code(), "access_denied");
    assert_eq!(err.provider_error_code(), Some("access_denied"));
    assert!(session.is_empty(), "the state is spent");
    assert_eq!(bed.op.seen().token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_with_a_wrong_or_missing_iss_is_refused_when_the_provider_advertises_it() {
    let bed = Bed::new();
    bed.op.with(|s| s.iss_parameter_supported = true);
    let (mut session, query) = start(&bed).await;
    let forged = replace_param(&query, "iss", Some("https://attacker.example"));
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&forged).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Core(Error::Callback(CallbackError::IssuerMismatch { expected, found }))
            if expected == ISSUER && found == "https://attacker.example"),
        "{err:?}"
    );
    assert_eq!(err.code(), "invalid_iss");

    let (mut session, query) = start(&bed).await;
    let without = replace_param(&query, "iss", None);
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&without).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Callback(CallbackError::MissingIssuer)));
    assert_eq!(err.code(), "missing_iss");
    assert_eq!(bed.op.seen().token_requests(), 0);

    // The honest callback works.
    let (mut session, query) = start(&bed).await;
    bed.client.authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap()).await.unwrap();
    assert_eq!(bed.op.seen().token_code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_for_another_audience_is_rejected_before_any_userinfo_request() {
    let bed = Bed::new();
    bed.op.with(|s| {
        s.id_token_overrides.insert("aud".into(), "another-app".into());
    });
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Audience)));
    assert_eq!(err.code(), "invalid_id_token");
    let seen = bed.op.seen();
    assert_eq!((seen.token_code, seen.userinfo), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_with_a_wrong_nonce_is_rejected_before_any_userinfo_request() {
    let bed = Bed::new();
    bed.op.with(|s| {
        s.id_token_overrides.insert("nonce".into(), "forged-nonce".into());
    });
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Nonce)));

    bed.op.with(|s| {
        s.id_token_overrides.insert("nonce".into(), Value::Null);
    });
    let err = bed.login().await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::MissingClaim { name: "nonce" }))), "{err:?}");
    let seen = bed.op.seen();
    assert_eq!((seen.token_code, seen.userinfo), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_from_another_issuer_or_expired_is_rejected() {
    let bed = Bed::new();
    bed.op.with(|s| {
        s.id_token_overrides.insert("iss".into(), "https://attacker.example".into());
    });
    let err = bed.login().await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. }))), "{err:?}");

    bed.op.with(|s| {
        s.id_token_overrides.clear();
        s.id_token_overrides.insert("exp".into(), json!(T0 - 120));
    });
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Expired)));
    assert_eq!(bed.op.seen().userinfo, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_sent_in_the_request_requires_a_recent_auth_time() {
    let bed = Bed::new();
    let login = |auth_time: Option<u64>| {
        let bed = &bed;
        async move {
            bed.op.with(|s| {
                s.id_token_overrides.insert("auth_time".into(), auth_time.map_or(Value::Null, Value::from));
            });
            let mut session = PendingSet::new();
            let options = AuthorizeOptions::default().param("max_age", "300");
            let url = bed.client.authorize_redirect(&mut session, &options).await.unwrap().to_url();
            assert_eq!(query_map(&url)["max_age"], "300");
            let params = CallbackParams::from_query(&bed.op.authorize(&url)).unwrap();
            bed.client.authorize_access_token(&mut session, &params).await
        }
    };
    let err = login(None).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::MissingClaim { name: "auth_time" })));
    let err = login(Some(T0 - 1000)).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::AuthTime)));
    let token = login(Some(T0 - 100)).await.unwrap();
    assert_eq!(token.userinfo.unwrap().auth_time(), Some(T0 - 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_id_tokens_are_checked_with_the_client_secret_without_the_jwks() {
    let bed = Bed::with_config(support::config().id_token_algs(["HS256"]));
    let hmac = rpkit::jose::sign::SigningKey::hs256(&rpkit::secret::ClientSecret::new(CLIENT_SECRET)).unwrap();
    bed.op.with(|s| s.signing = Arc::new(hmac));
    let token = bed.login().await.unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), Some(SUB));
    assert_eq!(bed.op.seen().jwks, 0);

    // Keyed by another secret: a bad signature, still no JWKS request.
    let other = rpkit::jose::sign::SigningKey::hs256(&rpkit::secret::ClientSecret::new("x".repeat(40))).unwrap();
    bed.op.with(|s| s.signing = Arc::new(other));
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Signature)));
    assert_eq!(bed.op.seen().jwks, 0);

    // Without opting in, an HS256 ID token is refused (algorithm confusion).
    let bed = Bed::new();
    let hmac = rpkit::jose::sign::SigningKey::hs256(&rpkit::secret::ClientSecret::new(CLIENT_SECRET)).unwrap();
    bed.op.with(|s| s.signing = Arc::new(hmac));
    let err = bed.login().await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::Algorithm { .. }))), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// 5. Key rotation and the JWKS refetch rate limit
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);

    // The provider rotates to k2: one refetch, then success.
    let k2 = new_key("k2");
    bed.op.with(|s| {
        s.signing = Arc::clone(&k2);
        s.published = vec![Arc::clone(&k2)];
    });
    let token = bed.login().await.unwrap();
    assert_eq!(token.userinfo.as_ref().and_then(|c| c.sub()), Some(SUB));
    assert_eq!(bed.op.seen().jwks, 2, "exactly one refetch for the new kid");
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 2, "the new key is cached");

    // 30 s later another unknown kid: refused without asking the provider (even though
    // the provider would now publish it).
    bed.clock.advance(30);
    let k3 = new_key("k3");
    bed.op.with(|s| {
        s.signing = Arc::clone(&k3);
        s.published = vec![Arc::clone(&k2), Arc::clone(&k3)];
    });
    let err = bed.login().await.unwrap_err();
    assert!(matches!(&err, ClientError::Core(Error::Jose(JoseError::UnknownKid { kid })) if kid == "k3"), "{err:?}");
    assert_eq!(err.code(), "invalid_jwt");
    assert_eq!(bed.op.seen().jwks, 2, "rate limit: no refetch within 60 s");

    // 61 s after the last refetch a refetch is allowed again.
    bed.clock.advance(31);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 3);
    println!("key rotation: JWKS fetches = {} (initial, rotation, after the rate-limit window)", bed.op.seen().jwks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_with_a_known_kid_never_causes_a_refetch() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);

    bed.op.with(|s| s.tamper_id_token = true);
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Signature)));

    // Signed by an attacker's key that claims the provider's kid.
    let forger = new_key("k1");
    bed.op.with(|s| {
        s.tamper_id_token = false;
        s.signing = forger;
    });
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Signature)));
    assert_eq!(bed.op.seen().jwks, 1, "a bad signature is not a reason to refetch");
    assert_eq!(bed.op.seen().userinfo, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callbacks_after_a_rotation_cause_one_refetch() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    let k2 = new_key("k2");
    bed.op.with(|s| {
        s.signing = Arc::clone(&k2);
        s.published = vec![k2];
    });
    let mut callbacks = Vec::new();
    for _ in 0..30 {
        callbacks.push(start(&bed).await);
    }
    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(mut session, query)| {
            let client = bed.client.clone();
            tokio::spawn(async move {
                client.authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap()).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(bed.op.seen().jwks, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_provider_removed_stops_verifying_within_the_max_age() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);
    // The provider removes k1 (compromised) and publishes k2; whoever holds k1 still signs
    // with it and names it.
    bed.op.with(|s| s.published = vec![new_key("k2")]);
    bed.clock.advance(rpkit::jwks::DEFAULT_JWKS_MAX_AGE_SECS - 1);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1, "within the max age the cached set answers");
    bed.clock.advance(1);
    let err = bed.login().await.unwrap_err();
    assert!(matches!(&err, ClientError::Core(Error::Jose(JoseError::UnknownKid { kid })) if kid == "k1"), "{err:?}");
    assert_eq!(bed.op.seen().jwks, 2, "past the max age the set is fetched again, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_max_age_follows_cache_control_within_bounds() {
    let bed = Bed::new();
    bed.op.with(|s| s.jwks_cache_control = Some("public, max-age=120".into()));
    bed.login().await.unwrap();
    bed.clock.advance(119);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);
    bed.clock.advance(1);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 2, "refetched after 120 s");
    // A year-long max-age is cut to the bound: a removed key cannot live that long.
    bed.op.with(|s| s.jwks_cache_control = Some("max-age=31536000".into()));
    bed.clock.advance(120);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 3);
    bed.clock.advance(rpkit::jwks::MAX_JWKS_MAX_AGE_SECS);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 4);
    // `no-store` cannot turn every validation into a fetch: one a minute at most.
    bed.op.with(|s| s.jwks_cache_control = Some("no-store".into()));
    bed.clock.advance(rpkit::jwks::MAX_JWKS_MAX_AGE_SECS);
    bed.login().await.unwrap();
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_validations_after_the_max_age_share_one_jwks_fetch() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    bed.clock.advance(rpkit::jwks::DEFAULT_JWKS_MAX_AGE_SECS);
    let mut callbacks = Vec::new();
    for _ in 0..30 {
        callbacks.push(start(&bed).await);
    }
    bed.op.with(|s| s.jwks_delay_ms = 50);
    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(mut session, query)| {
            let client = bed.client.clone();
            tokio::spawn(async move {
                client.authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap()).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(bed.op.seen().jwks, 2, "one initial fetch, one shared refetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_jwks_refetch_does_not_stall_validations_the_cached_keys_answer() {
    let bed = Bed::new();
    bed.login().await.unwrap();
    let k1 = bed.op.with(|s| Arc::clone(&s.signing));
    let k2 = new_key("k2");
    // The provider rotates to k2; its JWKS endpoint takes 3 s to answer.
    bed.op.with(|s| {
        s.signing = Arc::clone(&k2);
        s.published = vec![Arc::clone(&k1), Arc::clone(&k2)];
        s.jwks_delay_ms = 3000;
    });
    let (mut session, query) = start(&bed).await;
    let client = bed.client.clone();
    let exchanged_before = bed.op.seen().token_requests();
    let slow = tokio::spawn(async move {
        client.authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap()).await
    });
    // Bounded wait until the slow login's token exchange is done (its ID token names k2).
    for _ in 0..2000 {
        if bed.op.seen().token_requests() > exchanged_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Meanwhile a token under k1, which the cache holds, validates without waiting.
    bed.op.with(|s| s.signing = Arc::clone(&k1));
    bed.login().await.unwrap();
    assert!(!slow.is_finished(), "the cached-key validation finished while the refetch was still running");
    assert_eq!(slow.await.unwrap().unwrap().userinfo.unwrap().sub(), Some(SUB));
    assert_eq!(bed.op.seen().jwks, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_key_without_kid_causes_one_rate_limited_refetch() {
    let bed = Bed::new();
    let a = new_key_without_kid();
    bed.op.with(|s| {
        s.signing = Arc::clone(&a);
        s.published = vec![a];
    });
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);
    // The provider replaces its only key, neither naming a kid.
    let b = new_key_without_kid();
    bed.op.with(|s| {
        s.signing = Arc::clone(&b);
        s.published = vec![b];
    });
    // A set fetched moments ago is not refetched for a bad signature.
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Signature)));
    assert_eq!(bed.op.seen().jwks, 1);
    // Once the set is a minute old, one refetch, and the new key verifies.
    bed.clock.advance(rpkit::jwks::REFETCH_INTERVAL_SECS);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().jwks, 2);
    // A forged no-kid token right after: refused, and no second refetch within the minute.
    bed.op.with(|s| s.signing = new_key_without_kid());
    bed.clock.advance(rpkit::jwks::REFETCH_INTERVAL_SECS - 1);
    let err = bed.login().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::Signature)));
    assert_eq!(bed.op.seen().jwks, 2);
}

// ---------------------------------------------------------------------------------------
// 6. Discovery
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_of_another_issuer_is_refused() {
    let bed = Bed::new();
    bed.op.with(|s| s.metadata_issuer = "https://attacker.example".into());
    let err = bed.client.create_authorization_url(&AuthorizeOptions::default()).await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Core(Error::Discovery(DiscoveryError::IssuerMismatch {
            expected: ISSUER.into(),
            found: "https://attacker.example".into(),
        }))
    );
    assert_eq!(err.code(), "invalid_provider_metadata");
    // Not cached: the next call asks again.
    let _ = bed.client.load_server_metadata().await.unwrap_err();
    assert_eq!(bed.op.seen().discovery, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_cached_refreshed_when_stale_and_served_stale_when_the_refresh_fails() {
    let bed = Bed::new(); // the provider sends Cache-Control: max-age=300
    let a = bed.client.load_server_metadata().await.unwrap().unwrap();
    let b = bed.client.load_server_metadata().await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.token_endpoint.as_deref(), Some("https://op.example/token"));
    assert_eq!(bed.op.seen().discovery, 1, "two calls, one fetch");

    bed.clock.advance(299);
    bed.client.load_server_metadata().await.unwrap();
    assert_eq!(bed.op.seen().discovery, 1, "still fresh at 299 s");

    bed.clock.advance(1);
    bed.client.load_server_metadata().await.unwrap();
    assert_eq!(bed.op.seen().discovery, 2, "stale after max-age: fetched again");

    // The provider fails: the stale metadata is served.
    bed.op.with(|s| s.discovery_status = 500);
    bed.clock.advance(300);
    let stale = bed.client.load_server_metadata().await.unwrap().unwrap();
    assert_eq!(stale.issuer, ISSUER);
    assert_eq!(bed.op.seen().discovery, 3);
    // …and not asked again on every call: next attempt 60 s later.
    bed.client.load_server_metadata().await.unwrap();
    bed.clock.advance(59);
    bed.client.load_server_metadata().await.unwrap();
    assert_eq!(bed.op.seen().discovery, 3);
    bed.clock.advance(1);
    bed.client.load_server_metadata().await.unwrap();
    assert_eq!(bed.op.seen().discovery, 4);

    // A transport failure is handled the same way, and the login keeps working.
    bed.op.with(|s| {
        s.discovery_status = 200;
        s.fail.insert("/.well-known/openid-configuration".into(), TransportError::Timeout);
    });
    bed.clock.advance(60);
    bed.login().await.unwrap();
    assert_eq!(bed.op.seen().failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_discovery_url_the_configured_endpoints_are_used() {
    let cfg = rpkit::ClientConfig::new("plain")
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .authorize_url("https://op.example/authorize")
        .access_token_url("https://op.example/token")
        .api_base_url(API_BASE)
        .redirect_uri(REDIRECT_URI);
    let bed = Bed::with_config(cfg);
    assert!(bed.client.load_server_metadata().await.unwrap().is_none());
    let mut session = PendingSet::new();
    let url = bed.client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
    assert!(!query_map(&url).contains_key("nonce"), "no openid scope, no nonce");
    let params = CallbackParams::from_query(&bed.op.authorize(&url)).unwrap();
    let token = bed.client.authorize_access_token(&mut session, &params).await.unwrap();
    assert!(token.access_token.secret().starts_with("at-"));
    assert_eq!(bed.op.seen().discovery, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_nobody_asked_for_is_dropped_unvalidated() {
    // A plain OAuth 2.0 client (no `openid` scope, no issuer, no JWKS): an ID token in the
    // response cannot be validated, so it must neither fail the login nor be kept.
    let cfg = rpkit::ClientConfig::new("plain")
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .authorize_url("https://op.example/authorize")
        .access_token_url("https://op.example/token")
        .redirect_uri(REDIRECT_URI);
    let bed = Bed::with_config(cfg);
    bed.op.with(|s| s.unsolicited_id_token = true);
    let mut session = PendingSet::new();
    let url = bed.client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
    let params = CallbackParams::from_query(&bed.op.authorize(&url)).unwrap();
    let token = bed.client.authorize_access_token(&mut session, &params).await.unwrap();
    assert!(token.id_token.is_none());
    assert!(token.userinfo.is_none());
    assert_eq!(bed.op.seen().jwks, 0);
}

// ---------------------------------------------------------------------------------------
// 7. Refresh outcomes
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_without_refresh_token_sends_nothing() {
    let bed = Bed::new();
    let token = stored_token(json!({
        "access_token": "at-old", "token_type": "Bearer", "expires_at": T0 - 10,
    }));
    let err = bed.client.get("me", &token).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::NoRefreshToken));
    assert_eq!(err.code(), "no_refresh_token");
    let err = bed.client.refresh_token(&token).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::NoRefreshToken));
    let err = bed.client.userinfo(&token).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::NoRefreshToken));
    assert_eq!(bed.op.seen(), Seen::default(), "not a single request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_on_refresh_asks_for_reauthentication() {
    let bed = Bed::new();
    let events = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&events);
    bed.oauth.on_token_update(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let token = bed.login().await.unwrap();
    bed.op.with(|s| s.refresh_mode = RefreshMode::InvalidGrant);
    bed.clock.advance(3600);
    let err = bed.client.get("me", &token).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Core(Error::ReauthenticationRequired(p)) if p.error == "invalid_grant"
            && p.description.as_deref() == Some("revoked")),
        "{err:?}"
    );
    assert_eq!(err.code(), "invalid_grant");
    assert!(!err.is_provider_failure());
    assert_eq!(bed.op.seen().resource, 0);
    assert_eq!(events.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_response_without_refresh_token_keeps_the_old_one() {
    let bed = Bed::new();
    bed.op.with(|s| s.refresh_mode = RefreshMode::NoNewRefreshToken);
    let old = bed.login().await.unwrap();
    bed.clock.advance(3600);
    let new = bed.client.refresh_token(&old).await.unwrap();
    assert_ne!(new.access_token.secret(), old.access_token.secret());
    assert_eq!(new.refresh_token, old.refresh_token);
    assert_eq!(new.expires_at.unwrap().as_secs(), T0 + 7200);
    assert_eq!(bed.op.with(|s| s.token_forms.last().unwrap()["grant_type"].clone()), "refresh_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshed_id_token_must_keep_the_subject() {
    let bed = Bed::new();
    let events = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&events);
    bed.oauth.on_token_update(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let old = bed.login().await.unwrap();

    bed.op.with(|s| s.refresh_id_token_sub = Some("intruder".into()));
    bed.clock.advance(3600);
    let err = bed.client.get("me", &old).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::RefreshMismatch { claim: "sub" })));
    assert_eq!(bed.op.seen().resource, 0);
    assert_eq!(events.load(Ordering::SeqCst), 0, "a rejected refresh is not announced");

    // The same subject is accepted, and its claims become the token's `userinfo`.
    let bed = Bed::new();
    let old = bed.login().await.unwrap();
    bed.op.with(|s| s.refresh_id_token_sub = Some(SUB.into()));
    bed.clock.advance(3600);
    let new = bed.client.refresh_token(&old).await.unwrap();
    assert_ne!(new.id_token, old.id_token);
    let claims = new.userinfo.unwrap();
    assert_eq!(claims.sub(), Some(SUB));
    assert_eq!(claims.iat(), Some(T0 + 3600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_id_token_without_the_originals_claims_is_refused() {
    let bed = Bed::new();
    let mut old = bed.login().await.unwrap();
    // A token whose validated claims were lost (stored without `userinfo`, say).
    old.userinfo = None;
    bed.op.with(|s| s.refresh_id_token_sub = Some("someone-else".into()));
    bed.clock.advance(3600);
    let err = bed.client.refresh_token(&old).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::IdToken(IdTokenError::RefreshWithoutOriginal)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_url_without_the_well_known_suffix_needs_a_configured_issuer() {
    let cfg = support::config().server_metadata_url("https://op.example/meta.json");
    let bed = Bed::with_config(cfg.clone());
    let err = bed.client.create_authorization_url(&AuthorizeOptions::default()).await.unwrap_err();
    assert!(matches!(&err, ClientError::Core(Error::Config(ConfigError::Missing { key, .. })) if key == "issuer"));
    assert_eq!(bed.op.seen().discovery, 0, "refused before any request: the issuer check cannot be skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_discovery_url_is_refused_before_any_request() {
    let cfg = support::config().server_metadata_url("http://op.example/.well-known/openid-configuration");
    let bed = Bed::with_config(cfg);
    let err = bed.client.create_authorization_url(&AuthorizeOptions::default()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Core(Error::Config(ConfigError::InsecureEndpoint { key, .. })) if key == "server_metadata_url"),
        "{err:?}"
    );
    assert_eq!(bed.op.seen().discovery, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_tokens_are_used_as_they_are() {
    let bed = Bed::new();
    let token = bed.login().await.unwrap();
    bed.clock.advance(3600 - 61);
    let resp = bed.client.post("items", &json!({"a": 1}), &token).await.unwrap();
    assert!(resp.refreshed.is_none());
    let body: Value = resp.json().unwrap();
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/v1/items");
    assert_eq!(body["body"], r#"{"a":1}"#);
    for (resp, method) in [
        (bed.client.put("items/1", &json!({}), &token).await.unwrap(), "PUT"),
        (bed.client.patch("items/1", &json!({}), &token).await.unwrap(), "PATCH"),
        (bed.client.delete("items/1", &token).await.unwrap(), "DELETE"),
    ] {
        assert_eq!(resp.json::<Value>().unwrap()["method"], method);
    }
    assert_eq!(bed.op.seen().token_refresh, 0);
    assert_eq!(bed.client.ensure_fresh(&token).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// 8. Client credentials, the fetch_token hook, the registry
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_access_token_uses_the_client_credentials_grant() {
    let bed = Bed::new();
    let token = bed.client.fetch_access_token(Some("api.read")).await.unwrap();
    assert!(token.access_token.secret().starts_with("at-"));
    assert!(token.refresh_token.is_none());
    assert_eq!(token.scope.as_deref(), Some("api.read"));
    let (form, auth) = bed.op.with(|s| (s.token_forms[0].clone(), s.token_auth[0].clone()));
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "api.read");
    assert!(auth.unwrap().starts_with("Basic "));
    assert_eq!(bed.op.seen().token_client_credentials, 1);

    // Without a scope argument the configured scope is sent.
    bed.client.fetch_access_token(None).await.unwrap();
    assert_eq!(bed.op.with(|s| s.token_forms[1]["scope"].clone()), "openid email");
}

struct Store(HashMap<String, Token>);

#[async_trait::async_trait]
impl FetchToken for Store {
    async fn fetch_token(&self, name: &str, user: &str) -> Option<Token> {
        assert_eq!(name, "op");
        self.0.get(user).cloned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_for_user_uses_the_fetch_token_hook() {
    let bed = Bed::new();
    let err = bed.client.get_for_user("me", "alice").await.unwrap_err();
    assert_eq!(err, ClientError::NoToken { name: "op".into() }, "no hook, no token");

    let alice = stored_token(json!({"access_token": "at-alice", "token_type": "Bearer", "expires_at": T0 + 600}));
    bed.oauth.set_fetch_token(Store(HashMap::from([("alice".to_owned(), alice)])));
    let resp = bed.client.get_for_user("me", "alice").await.unwrap();
    assert_eq!(resp.json::<Value>().unwrap()["authorization"], "Bearer at-alice");
    assert_eq!(resp.json::<Value>().unwrap()["path"], "/v1/me");

    let err = bed.client.get_for_user("me", "bob").await.unwrap_err();
    assert_eq!(err, ClientError::NoToken { name: "op".into() });
    assert_eq!(err.code(), "no_token");
    assert_eq!(bed.op.seen().resource, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_finds_clients_by_name() {
    let bed = Bed::new();
    bed.oauth.register(rpkit::ClientConfig::new("github").client_id("gh"));
    assert_eq!(bed.oauth.names(), vec!["github".to_owned(), "op".to_owned()]);
    let op = bed.oauth.create_client("op").unwrap();
    assert_eq!(op.name(), "op");
    assert_eq!(op.config().client_id.as_deref(), Some(CLIENT_ID));
    // Clones share the caches.
    op.load_server_metadata().await.unwrap();
    bed.client.load_server_metadata().await.unwrap();
    assert_eq!(bed.op.seen().discovery, 1);

    let err = bed.oauth.create_client("nope").unwrap_err();
    assert_eq!(err, ClientError::UnknownClient { name: "nope".into() });
    assert_eq!(err.code(), "unknown_client");
    assert!(!format!("{:?}", bed.oauth).contains(CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_for_another_client_is_refused() {
    let bed = Bed::new();
    let mut cfg = support::config();
    cfg.name = "other".into();
    let other = bed.oauth.register(cfg);
    let (mut session, query) = start(&bed).await;
    let err =
        other.authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Core(Error::Callback(CallbackError::ClientMismatch { expected, found }))
            if expected == "other" && found == "op"),
        "{err:?}"
    );
    assert_eq!(err.code(), "client_mismatch");
    assert_eq!(bed.op.seen().token_requests(), 0);
}

// ---------------------------------------------------------------------------------------
// 9. Transport failures and error codes
// ---------------------------------------------------------------------------------------

struct Failing(TransportError);

#[async_trait::async_trait]
impl HttpClient for Failing {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
        _max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        Err(self.0.clone())
    }
}

fn failing(err: TransportError) -> rpkit::client::OAuthClient {
    let oauth = OAuth::builder(Failing(err)).clock(ManualClock::new(T0)).rng(SeededRandom::new(1)).build();
    oauth.register(support::config())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_timeout_is_a_provider_failure() {
    let client = failing(TransportError::Timeout);
    let err = client.create_authorization_url(&AuthorizeOptions::default()).await.unwrap_err();
    assert_eq!(err, ClientError::Transport { endpoint: Endpoint::Discovery, source: TransportError::Timeout });
    assert!(err.is_provider_failure());
    assert_eq!(err.code(), "provider_timeout");
    assert_eq!(err.provider_error_code(), None);
    assert_eq!(err.to_string(), "the discovery request failed: the request timed out");

    let client = failing(TransportError::Connect("refused".into()));
    let err = client.load_server_metadata().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { source: TransportError::Connect(_), .. }));
    assert!(err.is_provider_failure());
    assert_eq!(err.code(), "provider_unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_maps_to_too_large() {
    let client = failing(TransportError::TooLarge { limit: 1024 });
    let err = client.load_server_metadata().await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::TooLarge { endpoint: Endpoint::Discovery, limit: 1024 }));
    assert!(err.is_provider_failure());
    assert_eq!(err.code(), "response_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_timeout_during_the_code_exchange_is_reported_as_such() {
    let bed = Bed::new();
    let (mut session, query) = start(&bed).await;
    bed.op.with(|s| s.fail.insert("/token".into(), TransportError::Timeout));
    let err = bed
        .client
        .authorize_access_token(&mut session, &CallbackParams::from_query(&query).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Transport { endpoint: Endpoint::Token, source: TransportError::Timeout });
    assert!(err.is_provider_failure());
}

#[test]
fn client_error_codes_are_stable_and_secret_free() {
    let cases: Vec<(ClientError, &str, bool)> = vec![
        (Error::State(StateError::Missing).into(), "state_missing", false),
        (Error::State(StateError::Expired).into(), "state_expired", false),
        (Error::Callback(CallbackError::MissingCode).into(), "missing_code", false),
        (
            Error::Callback(CallbackError::UnexpectedToken { param: "id_token".into() }).into(),
            "unexpected_token",
            false,
        ),
        (Error::Http { endpoint: Endpoint::Token, status: 503 }.into(), "provider_http_error", true),
        (Error::Http { endpoint: Endpoint::Token, status: 404 }.into(), "provider_http_error", false),
        (Error::malformed("token response: invalid JSON").into(), "malformed_response", true),
        (
            Error::Config(ConfigError::Missing { client: "op".into(), key: "client_id".into() }).into(),
            "client_configuration_error",
            false,
        ),
        (Error::Logout(LogoutError::Replay).into(), "invalid_logout_token", false),
        (Error::Random.into(), "random_source_failed", false),
        (Error::ReauthenticationRequired(ProviderError::new("invalid_grant")).into(), "invalid_grant", false),
        (Error::Provider(ProviderError::new("server_error")).into(), "server_error", false),
    ];
    for (err, code, provider_failure) in cases {
        assert_eq!(err.code(), code, "{err:?}");
        assert_eq!(err.is_provider_failure(), provider_failure, "{err:?}");
    }
}

// ---------------------------------------------------------------------------------------
// 10. Logout
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_redirect_builds_the_url_and_the_pending_state() {
    let bed = Bed::new();
    let token = bed.login().await.unwrap();
    let options = LogoutOptions {
        post_logout_redirect_uri: Some("https://app.example/bye".into()),
        id_token_hint: token.id_token.clone(),
        ..Default::default()
    };
    let (url, pending) = bed.client.logout_redirect(&options).await.unwrap();
    assert_eq!(url.host_str(), Some("op.example"));
    assert_eq!(url.path(), "/logout");
    let q = query_map(&url);
    assert_eq!(q["id_token_hint"], token.id_token.as_ref().unwrap().secret());
    assert_eq!(q["post_logout_redirect_uri"], "https://app.example/bye");
    assert!(!q.contains_key("client_id"), "the ID token hint identifies the client");
    let pending = pending.expect("a post-logout redirect leaves a pending state");
    assert_eq!(pending.state.secret(), q["state"]);
    assert_eq!(pending.client, "op");
    assert_eq!(pending.post_logout_redirect_uri, "https://app.example/bye");
    assert_eq!(pending.created_at.as_secs(), T0);

    // Without a redirect URI: no state, nothing to keep.
    let (url, pending) = bed.client.logout_redirect(&LogoutOptions::default()).await.unwrap();
    assert!(pending.is_none());
    assert!(url.query().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_response_state_is_checked_and_single_use() {
    let bed = Bed::new();
    let options =
        LogoutOptions { post_logout_redirect_uri: Some("https://app.example/bye".into()), ..Default::default() };
    let (_url, pending) = bed.client.logout_redirect(&options).await.unwrap();
    let pending = pending.unwrap();
    let state = pending.state.secret().to_owned();
    let mut store = PendingLogouts::new();
    store.extend([pending.clone()]);

    let err = bed.client.validate_logout_response("state=wrong", &mut store).unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Unknown { session_empty: false })));
    let err = bed.client.validate_logout_response("", &mut store).unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Missing)));
    assert_eq!(store.len(), 1);

    let ok = bed.client.validate_logout_response(&format!("?state={state}"), &mut store).unwrap();
    assert_eq!(ok, pending);
    assert!(store.is_empty());
    let err = bed.client.validate_logout_response(&format!("state={state}"), &mut store).unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Unknown { session_empty: true })));

    // An old pending logout has expired.
    let mut store = PendingLogouts::new();
    store.extend([pending]);
    bed.clock.advance(601);
    let err = bed.client.validate_logout_response(&format!("state={state}"), &mut store).unwrap_err();
    assert_eq!(err, ClientError::Core(Error::State(StateError::Expired)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_accepts_a_valid_token_once() {
    let bed = Bed::new();
    let token = bed.op.logout_token("jti-1", json!({}));
    let body = format!("logout_token={token}");
    let target = bed.client.validate_backchannel_logout(body.as_bytes()).await.unwrap();
    assert_eq!(target.sub.as_deref(), Some(SUB));
    assert_eq!(target.sid.as_deref(), Some("sid-1"));
    assert_eq!(target.jti, "jti-1");
    assert_eq!(target.iat.as_secs(), T0);
    assert!(target.matches(Some(SUB), Some("sid-1")));

    bed.clock.advance(5);
    let err = bed.client.validate_backchannel_logout(body.as_bytes()).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Logout(LogoutError::Replay)));
    assert_eq!(err.code(), "invalid_logout_token");

    // Another jti is fine.
    let other = bed.op.logout_token("jti-2", json!({}));
    bed.client.validate_backchannel_logout(format!("logout_token={other}").as_bytes()).await.unwrap();
    assert_eq!(bed.op.seen().jwks, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_from_another_issuer_is_refused() {
    let bed = Bed::new();
    let token = bed.op.logout_token("jti-1", json!({"iss": "https://attacker.example"}));
    let err = bed.client.validate_backchannel_logout(format!("logout_token={token}").as_bytes()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Core(Error::Logout(LogoutError::Issuer { expected, found }))
            if expected == ISSUER && found == "https://attacker.example"),
        "{err:?}"
    );

    // A refused token does not burn its jti: the genuine one with the same jti passes.
    let genuine = bed.op.logout_token("jti-1", json!({}));
    bed.client.validate_backchannel_logout(format!("logout_token={genuine}").as_bytes()).await.unwrap();

    let err = bed.client.validate_backchannel_logout(b"other=1").await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Logout(LogoutError::MissingLogoutToken)));

    let with_nonce = bed.op.logout_token("jti-3", json!({"nonce": "n"}));
    let err =
        bed.client.validate_backchannel_logout(format!("logout_token={with_nonce}").as_bytes()).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Logout(LogoutError::Nonce)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replays_of_one_logout_token_are_accepted_once() {
    let bed = Bed::new();
    let token = bed.op.logout_token("jti-race", json!({}));
    let body = format!("logout_token={token}");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = bed.client.clone();
            let body = body.clone();
            tokio::spawn(async move { client.validate_backchannel_logout(body.as_bytes()).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e, ClientError::Core(Error::Logout(LogoutError::Replay))),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(bed.op.seen().jwks, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_token_replay_is_refused_for_as_long_as_the_token_is_acceptable() {
    // A long acceptable age: the jti must be remembered at least that long.
    let mut cfg = support::config();
    cfg.client_kwargs.id_token_max_age = Some(7200);
    let bed = Bed::with_config(cfg);
    let token = bed.op.logout_token("jti-long", json!({}));
    let body = format!("logout_token={token}");
    bed.client.validate_backchannel_logout(body.as_bytes()).await.unwrap();

    bed.clock.advance(3601);
    let err = bed.client.validate_backchannel_logout(body.as_bytes()).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::Logout(LogoutError::Replay)));

    // Once the token itself is too old, it is refused as such.
    bed.clock.advance(7200);
    let err = bed.client.validate_backchannel_logout(body.as_bytes()).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::Logout(LogoutError::TooOld { .. }))), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// Authlib's hooks: update_token and compliance_fix
// ---------------------------------------------------------------------------------------

type Rows = Arc<std::sync::Mutex<Vec<(String, Option<String>, String)>>>;

/// A token table: the `update_token` hook writes the refreshed token into it.
struct Stored(Rows);

#[async_trait::async_trait]
impl rpkit::client::UpdateToken for Stored {
    async fn update_token(&self, update: &rpkit::resource::TokenUpdate) {
        let old_rt = update.refresh_token.as_ref().map(|t| t.secret().to_owned());
        self.0.lock().unwrap().push((update.name.clone(), old_rt, update.token.access_token.secret().to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_token_persists_each_refresh_once_before_the_caller_gets_it() {
    let bed = Bed::new();
    let rows = Rows::default();
    bed.oauth.set_update_token(Stored(Arc::clone(&rows)));
    let old = bed.login().await.unwrap();
    bed.clock.advance(3600);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (client, token) = (bed.client.clone(), old.clone());
            tokio::spawn(async move { client.get("me", &token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let rows = rows.lock().unwrap().clone();
    assert_eq!(rows.len(), 1, "one refresh, one update: {rows:?}");
    let (name, old_rt, new_at) = &rows[0];
    assert_eq!(name, "op");
    assert_eq!(
        old_rt.as_deref(),
        old.refresh_token.as_ref().map(|t| t.secret()),
        "the row is found by the old refresh token"
    );
    assert_ne!(new_at, old.access_token.secret());
}

struct RewriteEmail(Arc<std::sync::Mutex<Vec<Endpoint>>>);

impl rpkit::client::ComplianceFix for RewriteEmail {
    fn request(&self, endpoint: Endpoint, request: &mut http::Request<Vec<u8>>) {
        self.0.lock().unwrap().push(endpoint);
        request.headers_mut().insert("x-compliance", http::HeaderValue::from_static("1"));
    }
    fn response(&self, endpoint: Endpoint, response: &mut http::Response<Vec<u8>>) {
        if endpoint == Endpoint::UserInfo {
            let body = String::from_utf8_lossy(response.body()).replace("user@example.com", "fixed@example.com");
            *response.body_mut() = body.into_bytes();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_fix_sees_every_request_and_response_before_the_core() {
    let bed = Bed::new();
    let seen = Arc::new(std::sync::Mutex::default());
    let client = bed.oauth.register_with_fix(bed.client.config().clone(), RewriteEmail(Arc::clone(&seen)));
    let mut session = PendingSet::new();
    let url = client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap().to_url();
    let params = CallbackParams::from_query(&bed.op.authorize(&url)).unwrap();
    let token = client.authorize_access_token(&mut session, &params).await.unwrap();
    let claims = client.userinfo(&token).await.unwrap();
    assert_eq!(claims.email(), Some("fixed@example.com"), "the fix rewrote the answer before the core read it");
    let seen = seen.lock().unwrap().clone();
    for endpoint in [Endpoint::Discovery, Endpoint::Token, Endpoint::Jwks, Endpoint::UserInfo] {
        assert!(seen.contains(&endpoint), "{endpoint:?} not seen: {seen:?}");
    }
}
