//! One behaviour suite for every web adapter's demo app (`rpkit-axum`, `rpkit-actix`):
//! each crate's `tests/behaviour.rs` includes this file with `#[path]`, defines
//! `async fn start() -> Site` (its demo app on `127.0.0.1:0`, registered as `dev` with
//! the development provider, which logs `alice` in at once), and invokes
//! [`web_behaviour_suite!`] with its async test attribute. The same HTTP exchanges must
//! give the same answers from both.

#![allow(dead_code)]

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use rpkit_conformance::RunningProvider;
use serde_json::Value;
use std::time::Duration;

/// A running demo app and its provider.
pub struct Site {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The development provider the app is registered with as `dev`.
    pub op: RunningProvider,
    /// Keeps the app's server alive (dropped at the end of the test).
    pub guard: Box<dyn std::any::Any>,
    /// A "browser": cookies kept, redirects not followed.
    pub browser: reqwest::Client,
}

/// A browser for a [`Site`].
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("browser")
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get(LOCATION).expect("Location").to_str().expect("ASCII").to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn error_code(r: reqwest::Response) -> String {
    let body: Value = r.json().await.expect("a JSON error body");
    body["error"].as_str().expect("an error code").to_owned()
}

impl Site {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(self.url(path)).send().await.expect("request")
    }

    /// `/login/dev` → the provider (auto-login) → the callback URL, not yet visited.
    pub async fn start_login(&self) -> String {
        let r = self.get("/login/dev").await;
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        let r = self.browser.get(location(&r)).send().await.expect("provider");
        assert_eq!(r.status(), StatusCode::FOUND, "the provider logs alice in at once");
        let callback = location(&r);
        assert!(callback.starts_with(&self.url("/auth/dev/callback?")), "{callback}");
        callback
    }

    pub async fn login(&self) {
        let callback = self.start_login().await;
        let r = self.browser.get(&callback).send().await.expect("callback");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    }

    pub async fn me(&self) -> (StatusCode, Value) {
        let r = self.get("/me").await;
        (r.status(), r.json().await.expect("JSON body"))
    }

    /// The CSRF token of the home page's logout form.
    pub async fn csrf_token(&self) -> String {
        let home = self.get("/").await.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let start = home.find(marker).unwrap_or_else(|| panic!("no logout form in {home}")) + marker.len();
        home[start..].split('"').next().unwrap().to_owned()
    }

    pub async fn stop(self) {
        drop(self.guard);
        self.op.shutdown().await;
    }
}

pub async fn login_then_me_shows_the_user(site: &Site) {
    let (status, body) = site.me().await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("login_required")));
    site.login().await;
    let (status, me) = site.me().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["provider"], "dev");
    assert_eq!(me["userinfo"]["email"], "alice@example.com");
    assert_eq!(me["id_token_claims"]["iss"], site.op.issuer());
}

pub async fn head_on_the_callback_is_405_and_spends_nothing(site: &Site) {
    let callback = site.start_login().await;
    let r = site.browser.head(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = site.browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the real GET still logs in");
}

pub async fn logout_by_post_with_the_csrf_token_and_a_repeated_state_is_400(site: &Site) {
    site.login().await;
    let r = site.get("/logout/dev").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "a GET logs nobody out");
    let r = site.browser.post(site.url("/logout/dev")).form(&[("csrf_token", "guess")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "csrf_mismatch");
    assert_eq!(site.me().await.0, StatusCode::OK, "still logged in");

    let token = site.csrf_token().await;
    let r = site.browser.post(site.url("/logout/dev")).form(&[("csrf_token", token)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let end_session = location(&r);
    assert!(end_session.starts_with(&site.op.end_session_endpoint()), "{end_session}");
    assert_eq!(site.me().await.0, StatusCode::UNAUTHORIZED, "logged out at once");
    let state = query_param(&end_session, "state").expect("a logout state");

    // The browser's fault, named as such: 400 state_repeated, and nothing consumed.
    let r = site.get(&format!("/logged-out?state={state}&state={state}")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(error_code(r).await, "state_repeated");
    let r = site.get(&format!("/logged-out?state={state}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = site.get(&format!("/logged-out?state={state}")).await;
    assert_eq!((r.status(), error_code(r).await.as_str()), (StatusCode::BAD_REQUEST, "state_unknown"));
}

pub async fn backchannel_logout_is_200_for_a_valid_token_and_400_otherwise(site: &Site) {
    site.login().await;
    for body in ["", "logout_token=not.a.jwt", "logout_token=a&logout_token=b"] {
        let r = site
            .browser
            .post(site.url("/backchannel-logout/dev"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }
    assert_eq!(site.me().await.0, StatusCode::OK, "a rejected logout token ends nothing");
    let deliveries = site.op.backchannel_logout("alice").await;
    assert_eq!(deliveries.iter().map(|d| d.status).collect::<Vec<_>>(), [Some(200)], "{deliveries:?}");
    assert_eq!(site.me().await.0, StatusCode::UNAUTHORIZED);
}

/// "Log in with dev-oauth1": the same routes and calls as OAuth 2, over OAuth 1.0a
/// (temporary credentials kept in the session, single use; a signed API call).
pub async fn oauth1_login_then_me_and_a_signed_api_call(site: &Site) {
    let r = site.get("/login/dev-oauth1").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let authorize = location(&r);
    assert!(authorize.starts_with(&format!("{}/oauth1/authorize?oauth_token=", site.op.issuer())), "{authorize}");
    let r = site.browser.get(&authorize).send().await.unwrap();
    assert!(r.status().is_redirection(), "the provider redirects back: {}", r.status());
    let callback = location(&r);
    assert!(callback.starts_with(&site.url("/auth/dev-oauth1/callback?")), "{callback}");
    let r = site.browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let (status, me) = site.me().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["provider"], "dev-oauth1");
    assert_eq!(me["id_token_claims"]["name"], "alice");
    assert!(!me.to_string().contains("oauth_token_secret"), "no secret on the page: {me}");

    let r = site.get("/api/dev-oauth1/account").await;
    assert_eq!(r.status(), StatusCode::OK);
    let account: Value = r.json().await.unwrap();
    assert_eq!(account["screen_name"], "alice");
    assert_eq!(site.op.oauth1_verified("account"), 1, "the provider verified the signature itself");

    // The temporary credentials were single use.
    let r = site.browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(site.op.oauth1_verified("access_token"), 1);
}

pub async fn unknown_provider_is_404(site: &Site) {
    for path in ["/login/nope", "/auth/nope/callback?code=c&state=s"] {
        let r = site.get(path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(r).await, "unknown_client");
    }
    let r = site.browser.post(site.url("/backchannel-logout/nope")).form(&[("logout_token", "x")]).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::NOT_FOUND);
}

/// PAR (RFC 9126): with the provider's `require_pushed_authorization_requests`, the
/// client pushes the request and the browser carries only `client_id` and `request_uri`;
/// the adapter needs nothing for it.
pub async fn login_through_par_when_the_provider_requires_it(site: &Site) {
    site.op.behavior().update(|b| {
        b.metadata_set_members.insert("require_pushed_authorization_requests".into(), Value::Bool(true));
    });
    let r = site.get("/login/dev").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let to_op = location(&r);
    let names: Vec<String> = url::Url::parse(&to_op).expect("URL").query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{to_op}");
    let r = site.browser.get(&to_op).send().await.expect("provider");
    assert_eq!(r.status(), StatusCode::FOUND, "the provider accepts the pushed request");
    let r = site.browser.get(location(&r)).send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let (status, me) = site.me().await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(site.op.par_record().redeemed, 1);
}

/// One test per behaviour above, each against a fresh `start().await`.
#[macro_export]
macro_rules! web_behaviour_suite {
    ($test:meta) => {
        $crate::web_behaviour_suite!(@tests $test;
            login_then_me_shows_the_user,
            head_on_the_callback_is_405_and_spends_nothing,
            logout_by_post_with_the_csrf_token_and_a_repeated_state_is_400,
            backchannel_logout_is_200_for_a_valid_token_and_400_otherwise,
            unknown_provider_is_404,
            oauth1_login_then_me_and_a_signed_api_call,
            login_through_par_when_the_provider_requires_it,
        );
    };
    (@tests $test:meta; $($name:ident,)*) => {
        $(
            #[$test]
            async fn $name() {
                let site = start().await;
                web_suite::$name(&site).await;
                site.stop().await;
            }
        )*
    };
}
