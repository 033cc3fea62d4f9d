//! Refresh: a refreshed ID token must keep the original's `iss`, `sub`, `aud` (OIDC Core
//! §12.2); a failed refresh returns no token and emits no token-update event.

use rpkit::client::ClientError;
use rpkit::error::IdTokenError;
use rpkit::{Error, Token};

use super::harness::{check, claim, describe, Ctx, Outcome, Rp, USER};
use crate::Behavior;

/// Log in, switch `misbehave` on, refresh.
async fn refresh(
    ctx: &Ctx,
    misbehave: impl FnOnce(&mut Behavior),
) -> Result<(Rp, Token, Result<Token, ClientError>), String> {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    check(token.refresh_token.is_some(), || "the login gave no refresh token".into())?;
    ctx.op.behavior().update(misbehave);
    let result = rp.client.refresh_token(&token).await;
    Ok((rp, token, result))
}

fn same_secret<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    a.is_some() && a == b
}

/// `rpkit-refresh_token`: a refresh with rotation; the new ID token is validated.
pub(crate) async fn rpkit_refresh_token(ctx: &Ctx) -> Outcome {
    let (rp, old, result) = refresh(ctx, |_| {}).await?;
    let new = result.map_err(|e| format!("rejected: {}", describe(&e)))?;
    check(new.access_token != old.access_token, || "the access token did not change".into())?;
    check(new.refresh_token.is_some() && new.refresh_token != old.refresh_token, || "no rotated refresh token".into())?;
    check(new.id_token.is_some() && new.id_token != old.id_token, || "no new ID token".into())?;
    check(claim(&new, "sub").as_deref() == Some(USER), || "the refreshed claims lost sub".into())?;
    check(rp.token_updates() == 1, || format!("{} token-update events (expected 1)", rp.token_updates()))?;
    Ok("accepted: new access, refresh and ID token; one token-update event".into())
}

/// `rpkit-refresh_token-kept`: a refresh response without `refresh_token` keeps the old one.
pub(crate) async fn rpkit_refresh_token_kept(ctx: &Ctx) -> Outcome {
    let (_, old, result) = refresh(ctx, |b| b.token_omit_refresh_token = true).await?;
    let new = result.map_err(|e| format!("rejected: {}", describe(&e)))?;
    check(same_secret(&new.refresh_token, &old.refresh_token), || "the old refresh token was not kept".into())?;
    Ok("accepted: the old refresh token is kept".into())
}

fn rejected(rp: &Rp, result: Result<Token, ClientError>, want: &str, ok: impl Fn(&ClientError) -> bool) -> Outcome {
    let err = match result {
        Ok(_) => return Err(format!("accepted (expected {want})")),
        Err(e) => e,
    };
    if !ok(&err) {
        return Err(format!("rejected with {} (expected {want})", describe(&err)));
    }
    check(rp.token_updates() == 0, || "a token-update event was emitted for a rejected refresh".into())?;
    Ok(format!("rejected: {}; no token, no token-update event", describe(&err)))
}

/// `rpkit-refresh_token-id_token-iss`: the refreshed ID token has another issuer.
pub(crate) async fn rpkit_refresh_token_id_token_iss(ctx: &Ctx) -> Outcome {
    let (rp, _, result) = refresh(ctx, |b| b.id_token_issuer = Some("https://op.invalid".into())).await?;
    rejected(&rp, result, "IdToken::Issuer", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. })))
    })
}

/// `rpkit-refresh_token-id_token-sub`: the refreshed ID token is for another user.
pub(crate) async fn rpkit_refresh_token_id_token_sub(ctx: &Ctx) -> Outcome {
    let (rp, _, result) = refresh(ctx, |b| b.id_token_sub = Some("mallory".into())).await?;
    rejected(&rp, result, "IdToken::RefreshMismatch(sub)", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::RefreshMismatch { claim: "sub" })))
    })
}

/// `rpkit-refresh_token-invalid_grant`: the user must log in again.
pub(crate) async fn rpkit_refresh_token_invalid_grant(ctx: &Ctx) -> Outcome {
    let (rp, _, result) = refresh(ctx, |b| b.token_error = Some("invalid_grant".into())).await?;
    rejected(&rp, result, "ReauthenticationRequired", |e| match e {
        ClientError::Core(Error::ReauthenticationRequired(p)) => p.error == "invalid_grant",
        _ => false,
    })
}
