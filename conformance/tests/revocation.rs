//! Token revocation (RFC 7009) and introspection (RFC 7662) through `rpkit::client`
//! against the development provider: introspection says active, the refresh token is
//! revoked, then a refresh is refused and introspection says inactive.

mod common;

use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{AuthorizeOptions, ClientError, OAuth};
use rpkit::revocation::TokenTypeHint;
use rpkit::{ClientConfig, Error};

#[tokio::test]
async fn a_revoked_refresh_token_is_refused_and_introspects_inactive() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    let client = oauth.register(
        ClientConfig::new("dev")
            .client_id(common::CLIENT_ID)
            .client_secret(common::SECRET)
            .server_metadata_url(op.discovery_url())
            .redirect_uri(common::REDIRECT)
            .scope("openid profile offline_access"),
    );
    let mut session = PendingSet::new();
    let url = client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap();
    let resp = common::http().get(url.as_str()).send().await.unwrap();
    let back = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let params = CallbackParams::from_query(back.query().unwrap_or_default()).unwrap();
    let token = client.authorize_access_token(&mut session, &params).await.unwrap();
    let refresh = token.refresh_token.clone().expect("a refresh token (offline_access)");

    // Active, with the scope and the client it was issued to.
    let active = client.introspect_token(token.access_token.secret(), Some(TokenTypeHint::AccessToken)).await.unwrap();
    assert!(active.is_active());
    assert_eq!(active.client_id(), Some(common::CLIENT_ID));
    assert!(active.scope().is_some_and(|s| s.contains("openid")));

    client.revoke_token(&token).await.unwrap();
    let after = client.introspect_token(refresh.secret(), Some(TokenTypeHint::RefreshToken)).await.unwrap();
    assert!(!after.is_active(), "the revoked refresh token is inactive");
    let gone = client.introspect_token(token.access_token.secret(), None).await.unwrap();
    assert!(!gone.is_active(), "revoking the refresh token revoked the grant's access tokens");

    let err = client.refresh_token(&token).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::ReauthenticationRequired(_))), "{err:?}");
    // Revoking again is no error (RFC 7009 §2.2: an unknown token is answered 200).
    client.revoke_token(&token).await.unwrap();
}

#[tokio::test]
async fn revocation_and_introspection_need_client_authentication() {
    let op = common::builder().start().await.unwrap();
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    let client = oauth.register(
        ClientConfig::new("dev")
            .client_id(common::CLIENT_ID)
            .client_secret("the wrong secret")
            .server_metadata_url(op.discovery_url()),
    );
    let err = client.introspect_token("whatever", None).await.unwrap_err();
    assert!(matches!(&err, ClientError::Core(Error::Provider(p)) if p.error == "invalid_client"), "{err:?}");
}
