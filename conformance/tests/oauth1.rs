//! OAuth 1.0a through `rpkit::client` against the development provider's OAuth 1.0a
//! mode, whose RFC 5849 signature check is its own implementation (not rpkit's signer):
//! temporary credentials, the authorization redirect, the callback (single use,
//! constant-time token check, `denied`), token credentials and a signed resource call.

mod common;

use rpkit::client::{ClientError, OAuth};
use rpkit::oauth1::{OAuth1Error, PendingOAuth1Set};
use rpkit::{ClientConfig, Error};
use rpkit_conformance::{Oauth1Consumer, RunningProvider};

const CALLBACK: &str = "http://127.0.0.1:9/auth/dev-oauth1/callback";

async fn provider() -> RunningProvider {
    common::builder()
        .auto_login("alice")
        .oauth1_consumer(Oauth1Consumer::new("dev-consumer", "dev-consumer-secret"))
        .start()
        .await
        .unwrap()
}

fn config(op: &RunningProvider, secret: &str) -> ClientConfig {
    let base = op.issuer();
    let mut cfg = ClientConfig::new("dev-oauth1")
        .client_id("dev-consumer")
        .client_secret(secret)
        .authorize_url(format!("{base}/oauth1/authorize"))
        .access_token_url(format!("{base}/oauth1/access_token"))
        .api_base_url(format!("{base}/oauth1/"));
    cfg.request_token_url = Some(format!("{base}/oauth1/request_token"));
    cfg
}

fn client(op: &RunningProvider, secret: &str) -> rpkit::client::OAuthClient {
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    oauth.register(config(op, secret))
}

/// The browser: follows the authorization URL to the provider, returns the callback query.
async fn browser(url: &url::Url) -> String {
    let resp = common::http().get(url.as_str()).send().await.unwrap();
    assert!(resp.status().is_redirection(), "authorize answered {}", resp.status());
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(CALLBACK), "{location}");
    location.query().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_oauth1_login_and_a_signed_call_go_through_the_client() {
    let op = provider().await;
    let client = client(&op, "dev-consumer-secret");
    assert!(client.is_oauth1());
    let mut session = PendingOAuth1Set::new();
    let url = client.authorize_redirect_oauth1(&mut session, CALLBACK).await.unwrap();
    assert_eq!(session.len(), 1, "the temporary credentials are kept in the session");
    assert_eq!(op.oauth1_verified("request_token"), 1, "the provider verified rpkit's signature on its own");

    let query = browser(&url).await;
    let token = client.authorize_access_token_oauth1(&mut session, &query).await.unwrap();
    assert!(session.is_empty(), "used up");
    assert_eq!(token.extra["screen_name"], "alice");
    assert_eq!(op.oauth1_verified("access_token"), 1);

    let account = client.get_oauth1("account", &token).await.unwrap();
    assert_eq!(account.status(), 200);
    let body: serde_json::Value = account.json().unwrap();
    assert_eq!(body["screen_name"], "alice");
    assert_eq!(op.oauth1_verified("account"), 1);

    // The same callback again: refused by the client, nothing sent.
    let replay = client.authorize_access_token_oauth1(&mut session, &query).await.unwrap_err();
    assert_eq!(replay, ClientError::Core(Error::OAuth1(OAuth1Error::TokenMismatch)));
    assert_eq!(op.oauth1_verified("access_token"), 1);
}

#[tokio::test]
async fn a_wrong_consumer_secret_is_refused_by_the_providers_own_check() {
    let op = provider().await;
    let client = client(&op, "not-the-secret");
    let err = client.authorize_redirect_oauth1(&mut PendingOAuth1Set::new(), CALLBACK).await.unwrap_err();
    assert!(matches!(&err, ClientError::Core(Error::Provider(p)) if p.error == "signature_invalid"), "{err:?}");
    assert_eq!(op.oauth1_verified("request_token"), 0);
}

#[tokio::test]
async fn a_denied_authorization_is_an_error_and_uses_the_entry_up() {
    let op = provider().await;
    let client = client(&op, "dev-consumer-secret");
    let mut session = PendingOAuth1Set::new();
    let mut url = client.authorize_redirect_oauth1(&mut session, CALLBACK).await.unwrap();
    url.query_pairs_mut().append_pair("deny", "1");
    let query = browser(&url).await;
    let err = client.authorize_access_token_oauth1(&mut session, &query).await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::OAuth1(OAuth1Error::Denied)));
    assert!(session.is_empty());
}

#[tokio::test]
async fn a_forged_callback_token_sends_nothing() {
    let op = provider().await;
    let client = client(&op, "dev-consumer-secret");
    let mut session = PendingOAuth1Set::new();
    client.authorize_redirect_oauth1(&mut session, CALLBACK).await.unwrap();
    let err =
        client.authorize_access_token_oauth1(&mut session, "oauth_token=forged&oauth_verifier=v").await.unwrap_err();
    assert_eq!(err, ClientError::Core(Error::OAuth1(OAuth1Error::TokenMismatch)));
    assert_eq!(op.oauth1_verified("access_token"), 0);
}

#[tokio::test]
async fn oauth2_and_oauth1_flows_refuse_the_other_kind_of_client() {
    let op = provider().await;
    let oauth1 = client(&op, "dev-consumer-secret");
    let err = oauth1.fetch_access_token(None).await.unwrap_err();
    assert!(matches!(err, ClientError::OAuth1Client { .. } | ClientError::Core(_)), "{err:?}");
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    let oauth2 = oauth.register(ClientConfig::new("plain").client_id("x").authorize_url("https://op.example/a"));
    let err = oauth2.authorize_redirect_oauth1(&mut PendingOAuth1Set::new(), CALLBACK).await.unwrap_err();
    assert_eq!(err, ClientError::NotOAuth1 { name: "plain".into() });
}
