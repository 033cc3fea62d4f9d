//! Token endpoint client authentication. Each RP uses a client the provider pins to one
//! method, so a login only succeeds with that method.

use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};

use super::harness::{check, Ctx, Outcome, JWT_CLIENT_ID, PKJ_CLIENT_ID, POST_CLIENT_ID, SIG_KID};
use crate::AuthMethod;

async fn authenticates(ctx: &Ctx, config: ClientConfig, client_id: &str, want: AuthMethod) -> Outcome {
    let rp = ctx.rp_with(config)?;
    ctx.signed_in(&rp).await?;
    let record = ctx.op.last_token_request().ok_or("the provider saw no token request")?;
    check(record.auth_method == Some(want) && record.client_id.as_deref() == Some(client_id), || {
        format!("the provider saw {:?} for {:?}", record.auth_method, record.client_id)
    })?;
    Ok(format!("accepted: the provider authenticated {client_id} by {want}"))
}

/// `rp-token_endpoint-client_secret_post`.
pub(crate) async fn rp_token_endpoint_client_secret_post(ctx: &Ctx) -> Outcome {
    let config =
        ctx.config().client_id(POST_CLIENT_ID).token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretPost);
    authenticates(ctx, config, POST_CLIENT_ID, AuthMethod::ClientSecretPost).await
}

/// `rp-token_endpoint-client_secret_jwt`: an HS256 assertion keyed by the secret.
pub(crate) async fn rp_token_endpoint_client_secret_jwt(ctx: &Ctx) -> Outcome {
    let config =
        ctx.config().client_id(JWT_CLIENT_ID).token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretJwt);
    authenticates(ctx, config, JWT_CLIENT_ID, AuthMethod::ClientSecretJwt).await
}

/// `rp-token_endpoint-private_key_jwt`: an ES256 assertion with the RP's key.
pub(crate) async fn rp_token_endpoint_private_key_jwt(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    let config = ctx
        .config()
        .client_id(PKJ_CLIENT_ID)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
        .private_key(keys.sig_private.clone())
        .private_key_id(SIG_KID);
    authenticates(ctx, config, PKJ_CLIENT_ID, AuthMethod::PrivateKeyJwt).await
}
