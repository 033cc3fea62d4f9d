//! Revocation (RFC 7009) and introspection (RFC 7662): a revoked refresh token is dead at
//! the provider (introspection says so, a refresh is refused), introspection answers are
//! typed, and an inactive answer keeps nothing the provider added to it.

use rpkit::client::ClientError;
use rpkit::revocation::{Introspection, TokenTypeHint};
use rpkit::Error;
use serde_json::json;

use super::harness::{check, describe, Ctx, Outcome, CLIENT_ID};

/// `rpkit-revocation-refresh_token`: revoke the refresh token; introspection says
/// inactive for it and for the grant's access token; the refresh is refused with
/// "log in again" and emits no token-update event.
pub(crate) async fn rpkit_revocation_refresh_token(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    let refresh = token.refresh_token.clone().ok_or("the login gave no refresh token")?;
    rp.client.revoke_token(&token).await.map_err(|e| format!("the revocation failed: {}", describe(&e)))?;
    check(rp.sent().iter().filter(|s| s.path == "/revoke").count() == 1, || {
        "no request reached the revocation endpoint".into()
    })?;
    let after = rp
        .client
        .introspect_token(refresh.secret(), Some(TokenTypeHint::RefreshToken))
        .await
        .map_err(|e| format!("introspection failed: {}", describe(&e)))?;
    check(!after.is_active(), || "the revoked refresh token introspects active".into())?;
    let access = rp
        .client
        .introspect_token(token.access_token.secret(), None)
        .await
        .map_err(|e| format!("introspection failed: {}", describe(&e)))?;
    check(!access.is_active(), || "the grant's access token survived the revocation".into())?;
    match rp.client.refresh_token(&token).await {
        Ok(_) => Err("a refresh with the revoked refresh token succeeded".into()),
        Err(ClientError::Core(Error::ReauthenticationRequired(p))) if p.error == "invalid_grant" => {
            check(rp.token_updates() == 0, || "a token-update event for a refused refresh".into())?;
            Ok("revoked: introspection inactive (refresh and access token), refresh refused with invalid_grant".into())
        }
        Err(e) => Err(format!("the refresh failed with {} (expected ReauthenticationRequired)", describe(&e))),
    }
}

/// `rpkit-introspection-active`: an active access token, with the scope and the client
/// it was issued to.
pub(crate) async fn rpkit_introspection_active(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    let answer = rp
        .client
        .introspect_token(token.access_token.secret(), Some(TokenTypeHint::AccessToken))
        .await
        .map_err(|e| format!("introspection failed: {}", describe(&e)))?;
    let Introspection::Active(claims) = &answer else {
        return Err("the fresh access token introspects inactive".into());
    };
    check(claims.get_str("client_id") == Some(CLIENT_ID), || format!("client_id {:?}", claims.get_str("client_id")))?;
    check(answer.scope().is_some_and(|s| s.split(' ').any(|s| s == "openid")), || "no openid scope".into())?;
    Ok("Active, with client_id and scope".into())
}

/// `rpkit-introspection-inactive`: `{"active": false, …}` with claims the provider should
/// not have sent: `Inactive`, and none of them kept.
pub(crate) async fn rpkit_introspection_inactive(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    ctx.op.behavior().update(|b| {
        b.introspection_body =
            Some(json!({"active": false, "scope": "admin", "sub": "mallory", "client_id": CLIENT_ID}))
    });
    let answer = rp
        .client
        .introspect_token(token.access_token.secret(), None)
        .await
        .map_err(|e| format!("introspection failed: {}", describe(&e)))?;
    check(answer == Introspection::Inactive, || format!("{answer:?} (expected Inactive)"))?;
    check(answer.scope().is_none() && answer.claims().is_none(), || "claims of an inactive token were kept".into())?;
    Ok("rejected: Inactive, the extra claims dropped".into())
}

/// `rpkit-introspection-active-not-boolean`: `"active": "true"` (a string) is not an
/// answer: a typed error, never "active".
pub(crate) async fn rpkit_introspection_active_not_boolean(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    ctx.op.behavior().update(|b| b.introspection_body = Some(json!({"active": "true", "scope": "openid"})));
    match rp.client.introspect_token(token.access_token.secret(), None).await {
        Ok(a) => Err(format!("accepted as {a:?} (expected Malformed)")),
        Err(e @ ClientError::Core(Error::Malformed { .. })) => Ok(format!("rejected: {}", describe(&e))),
        Err(e) => Err(format!("rejected with {} (expected Malformed)", describe(&e))),
    }
}

/// `rpkit-revocation-unsupported_token_type`: the provider's error code reaches the caller.
pub(crate) async fn rpkit_revocation_unsupported_token_type(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    ctx.op.behavior().update(|b| b.revocation_error = Some("unsupported_token_type".into()));
    match rp.client.revoke_token(&token).await {
        Ok(()) => Err("accepted (expected Provider(unsupported_token_type))".into()),
        Err(e @ ClientError::Core(Error::Provider(_))) if describe(&e) == "Provider(unsupported_token_type)" => {
            Ok(format!("rejected: {}", describe(&e)))
        }
        Err(e) => Err(format!("rejected with {} (expected Provider(unsupported_token_type))", describe(&e))),
    }
}
