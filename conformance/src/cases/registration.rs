//! Dynamic client registration (RFC 7591) and management (RFC 7592): register, log in
//! with the new client, read, update and delete it; a refused registration is typed.

use std::time::Duration;

use rpkit::client::{ClientError, OAuth};
use rpkit::config::ClientConfig;
use rpkit::registration::{ClientMetadata, RegistrationError};
use rpkit::Error;
use rpkit_reqwest::ReqwestClient;

use super::harness::{check, claim, describe, Ctx, Outcome, REDIRECT, SCOPE, USER};

fn oauth() -> Result<OAuth, String> {
    let http = ReqwestClient::builder().timeout(Duration::from_secs(20)).build().map_err(|e| e.to_string())?;
    Ok(OAuth::new(http))
}

fn base(ctx: &Ctx, name: &str) -> ClientConfig {
    ClientConfig::new(name).server_metadata_url(ctx.op.discovery_url()).scope(SCOPE)
}

fn metadata() -> ClientMetadata {
    ClientMetadata::new()
        .redirect_uris([REDIRECT])
        .grant_types(["authorization_code", "refresh_token"])
        .token_endpoint_auth_method("client_secret_basic")
        .client_name("rpkit conformance")
}

/// `rpkit-registration-login`: a client registered through the discovered
/// `registration_endpoint` logs in (code flow, validated ID token).
pub(crate) async fn rpkit_registration_login(ctx: &Ctx) -> Outcome {
    let oauth = oauth()?;
    let (client, registered) = oauth
        .register_dynamic(base(ctx, "dyn-login"), None, &metadata(), None)
        .await
        .map_err(|e| format!("registration failed: {}", describe(&e)))?;
    check(client.config().client_id.as_deref() == Some(registered.client_id.as_str()), || {
        "client_id not applied".into()
    })?;
    check(registered.registration_access_token.is_some(), || "no registration access token".into())?;
    check(!format!("{registered:?}").contains(registered.client_secret.as_ref().map_or("-", |s| s.secret())), || {
        "the client secret shows in Debug".into()
    })?;
    let rp = ctx.rp_with(client.config().clone())?;
    let token = ctx.signed_in(&rp).await?;
    check(claim(&token, "aud").as_deref() == Some(registered.client_id.as_str()), || {
        "aud is not the new client".into()
    })?;
    Ok(format!("accepted: registered {}, logged in as {USER}", registered.client_id))
}

/// `rpkit-registration-invalid_redirect_uri`: the provider refuses a redirect URI; the RP
/// reports the typed error.
pub(crate) async fn rpkit_registration_invalid_redirect_uri(ctx: &Ctx) -> Outcome {
    let oauth = oauth()?;
    let md = metadata().redirect_uris(["not a uri#frag"]);
    match oauth.register_dynamic(base(ctx, "dyn-bad"), None, &md, None).await {
        Err(ClientError::Core(Error::Registration(RegistrationError::InvalidRedirectUri(p)))) => {
            Ok(format!("rejected: Registration::InvalidRedirectUri({})", p.error))
        }
        Err(e) => Err(format!("wrong error: {}", describe(&e))),
        Ok(_) => Err("registered with a bad redirect URI".into()),
    }
}

/// `rpkit-registration-management`: read, update (the whole metadata, `client_id`
/// included), read again, delete; after the delete the registration cannot be read and
/// the credentials no longer work.
pub(crate) async fn rpkit_registration_management(ctx: &Ctx) -> Outcome {
    let oauth = oauth()?;
    let md = metadata().grant_types(["authorization_code", "client_credentials"]);
    let (client, registered) = oauth
        .register_dynamic(base(ctx, "dyn-manage"), Some(&ctx.op.registration_endpoint()), &md, None)
        .await
        .map_err(|e| format!("registration failed: {}", describe(&e)))?;
    let read = client.read_registration(&registered).await.map_err(|e| format!("read: {}", describe(&e)))?;
    check(read.metadata.get_str("client_name") == Some("rpkit conformance"), || "read: wrong client_name".into())?;
    let updated = client
        .update_registration(&read, &read.metadata.clone().client_name("renamed"))
        .await
        .map_err(|e| format!("update: {}", describe(&e)))?;
    check(updated.metadata.get_str("client_name") == Some("renamed"), || "update: name unchanged".into())?;
    let again = client.read_registration(&updated).await.map_err(|e| format!("read after update: {}", describe(&e)))?;
    check(again.metadata.get_str("client_name") == Some("renamed"), || "read after update: name unchanged".into())?;
    client.fetch_access_token(None).await.map_err(|e| format!("token before delete: {}", describe(&e)))?;
    client.delete_registration(&again).await.map_err(|e| format!("delete: {}", describe(&e)))?;
    check(!ctx.op.is_dynamically_registered(&registered.client_id), || "still registered".into())?;
    let gone = client.read_registration(&again).await;
    check(matches!(&gone, Err(ClientError::Core(Error::Provider(p))) if p.error == "invalid_token"), || {
        format!("read after delete: {gone:?}")
    })?;
    let refused = client.fetch_access_token(None).await;
    check(matches!(&refused, Err(ClientError::Core(Error::Provider(p))) if p.error == "invalid_client"), || {
        format!("token after delete: {refused:?}")
    })?;
    Ok("accepted: read, update, read, delete; then invalid_token and invalid_client".into())
}
