//! The README's "embed the core" example — a whole login with the sans-IO core and no
//! `rpkit::client` — driven against the development provider over an in-memory
//! transport (the provider's router called directly, no socket on the RP side).

mod common;

use rpkit::ClientConfig;
use rpkit_conformance::RunningProvider;

include!("embed/example.rs");

/// The in-memory transport: every request goes straight to the provider's router.
struct InMemory<'a> {
    op: &'a RunningProvider,
    sent: Vec<String>,
}

impl Http for InMemory<'_> {
    async fn send(&mut self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        self.sent.push(request.uri().path().to_owned());
        self.op.handle(request).await
    }
}

fn now() -> UnixTime {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    UnixTime::from_secs(secs)
}

fn config(op: &RunningProvider) -> ClientConfig {
    ClientConfig::new("dev")
        .client_id(common::CLIENT_ID)
        .client_secret(common::SECRET)
        .server_metadata_url(op.discovery_url())
        .scope("openid profile email")
}

/// The browser: asks the provider's authorization endpoint (auto-login) and returns the
/// query of the redirect back to the RP.
async fn browser(op: &RunningProvider, url: &str) -> String {
    let request = http::Request::get(url).body(Vec::new()).unwrap();
    let response = op.handle(request).await;
    assert!(response.status().is_redirection(), "authorization endpoint answered {}", response.status());
    let location = response.headers()[http::header::LOCATION].to_str().unwrap();
    let location = url::Url::parse(location).unwrap();
    assert!(location.as_str().starts_with(common::REDIRECT), "{location}");
    location.query().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_readme_example_logs_in_against_the_development_provider_in_memory() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    let mut provider = Provider::new(config(&op));
    let mut http = InMemory { op: &op, sent: Vec::new() };

    let (url, mut session) = start_login(&mut provider, &mut http, common::REDIRECT, now()).await.unwrap();
    let query = browser(&op, &url).await;
    let token = finish_login(&mut provider, &mut http, &mut session, &query, now()).await.unwrap();

    let claims = token.userinfo.as_ref().expect("the ID token's claims");
    assert_eq!(claims.email(), Some("alice@example.com"));
    assert!(token.id_token.is_some());
    assert_eq!(http.sent, ["/.well-known/openid-configuration", "/token", "/jwks"]);
    assert!(session.is_empty(), "the pending authorization was used up");

    // A second login reuses the discovered metadata and the cached keys.
    let (url, mut session) = start_login(&mut provider, &mut http, common::REDIRECT, now()).await.unwrap();
    let query = browser(&op, &url).await;
    finish_login(&mut provider, &mut http, &mut session, &query, now()).await.unwrap();
    assert_eq!(&http.sent[3..], ["/token"]);

    // The same callback again: refused by the core, nothing sent.
    let replay = finish_login(&mut provider, &mut http, &mut session, &query, now()).await.unwrap_err();
    assert!(matches!(replay, Error::State(_)), "{replay:?}");
    assert_eq!(http.sent.len(), 4);
}

#[tokio::test]
async fn the_readme_example_refuses_a_forged_id_token_without_the_client() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    op.behavior().update(|b| b.id_token_bad_signature = true);
    let mut provider = Provider::new(config(&op));
    let mut http = InMemory { op: &op, sent: Vec::new() };
    let (url, mut session) = start_login(&mut provider, &mut http, common::REDIRECT, now()).await.unwrap();
    let query = browser(&op, &url).await;
    let err = finish_login(&mut provider, &mut http, &mut session, &query, now()).await.unwrap_err();
    assert!(matches!(err, Error::IdToken(_)), "{err:?}");
}

#[test]
fn the_readme_shows_exactly_this_example() {
    let readme = include_str!("../../README.md");
    let example = include_str!("embed/example.rs");
    assert!(readme.contains(example.trim_end()), "README.md's embed example differs from tests/embed/example.rs");
}
