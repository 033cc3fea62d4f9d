//! DPoP (RFC 9449): proofs at the token and UserInfo endpoints, the server nonce dance,
//! and the downgrade and nonce-loop negatives. The provider verifies every proof
//! strictly (see `endpoints::dpop`); these cases also read its proof log to show what the
//! RP sent.

use rpkit::client::ClientError;
use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
use rpkit::dpop::DpopError;
use rpkit::{Error, Token};

use super::harness::{check, describe, Ctx, Outcome, Rp, PKJ_CLIENT_ID, SIG_KID, USER};
use super::{accept, reject, CaseSpec};
use crate::{DpopProofRecord, Endpoint};

/// The DPoP profile's cases.
pub(super) const CASES: &[CaseSpec] = &[
    accept("rpkit-dpop-login-userinfo"),
    accept("rpkit-dpop-refresh"),
    accept("rpkit-dpop-client_credentials"),
    accept("rpkit-dpop-nonce-token"),
    accept("rpkit-dpop-nonce-userinfo"),
    accept("rpkit-dpop-nonce-private_key_jwt"),
    accept("rpkit-dpop-nonce-rotation"),
    accept("rpkit-dpop-htu-htm"),
    reject("rpkit-dpop-nonce-always-stale", "Dpop::NonceRetryExhausted after one retry"),
    reject("rpkit-dpop-token_type-bearer", "Dpop::NotDpopBound"),
];

pub(super) async fn run(ctx: &Ctx, id: &str) -> Outcome {
    ctx.op.reset_dpop();
    match id {
        "rpkit-dpop-login-userinfo" => login_userinfo(ctx).await,
        "rpkit-dpop-refresh" => refresh(ctx).await,
        "rpkit-dpop-client_credentials" => client_credentials(ctx).await,
        "rpkit-dpop-nonce-token" => nonce_token(ctx).await,
        "rpkit-dpop-nonce-userinfo" => nonce_userinfo(ctx).await,
        "rpkit-dpop-nonce-private_key_jwt" => nonce_private_key_jwt(ctx).await,
        "rpkit-dpop-nonce-rotation" => nonce_rotation(ctx).await,
        "rpkit-dpop-htu-htm" => htu_htm(ctx).await,
        "rpkit-dpop-nonce-always-stale" => nonce_always_stale(ctx).await,
        "rpkit-dpop-token_type-bearer" => token_type_bearer(ctx).await,
        other => Err(format!("no case implements {other}")),
    }
}

fn dpop_config(ctx: &Ctx) -> ClientConfig {
    ctx.config().dpop(None)
}

fn proofs_to(ctx: &Ctx, endpoint: Endpoint) -> Vec<DpopProofRecord> {
    ctx.op.dpop_proofs().into_iter().filter(|p| p.endpoint == endpoint).collect()
}

fn refused(proofs: &[DpopProofRecord]) -> Vec<String> {
    proofs.iter().filter_map(|p| p.refused.clone()).collect()
}

/// The token is DPoP-bound to the RP's key at the provider.
async fn bound_to_rp_key(ctx: &Ctx, rp: &Rp, token: &Token) -> Result<String, String> {
    check(token.is_dpop(), || format!("token_type is {:?}, not DPoP", token.token_type))?;
    let key = rp.client.dpop_key().await.map_err(|e| describe(&e))?.ok_or("the RP has no DPoP key")?;
    let binding = ctx.op.dpop_binding(token.access_token.secret());
    check(binding.as_deref() == Some(key.thumbprint()), || "the token is not bound to the RP's key".into())?;
    Ok(key.thumbprint().to_owned())
}

async fn login(ctx: &Ctx, rp: &Rp) -> Result<Token, String> {
    let token = ctx.signed_in(rp).await?;
    bound_to_rp_key(ctx, rp, &token).await?;
    Ok(token)
}

/// `rpkit-dpop-login-userinfo`: a DPoP-bound login (with `dpop_jkt`) and UserInfo with a
/// proof carrying `ath`, presented as `Authorization: DPoP`.
async fn login_userinfo(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = ctx.signed_in(&rp).await?;
    let jkt = bound_to_rp_key(ctx, &rp, &token).await?;
    let authz = ctx.op.last_authorization_request().ok_or("no authorization request")?;
    check(authz.get("dpop_jkt") == Some(&jkt), || format!("dpop_jkt was {:?}", authz.get("dpop_jkt")))?;
    let claims = rp.client.userinfo(&token).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    check(claims.sub() == Some(USER), || "UserInfo has another sub".into())?;
    let sent = rp.last_sent_to(Endpoint::Userinfo).ok_or("no UserInfo request")?;
    check(!sent.bearer_header, || "the DPoP token was sent as Bearer".into())?;
    let info = proofs_to(ctx, Endpoint::Userinfo);
    check(info.len() == 1 && info[0].refused.is_none() && info[0].ath, || format!("UserInfo proofs: {info:?}"))?;
    Ok("accepted: token_type DPoP bound to the RP key (dpop_jkt sent); UserInfo with a proof and ath".into())
}

/// `rpkit-dpop-refresh`: the refresh carries a proof and gets a DPoP-bound token.
async fn refresh(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = login(ctx, &rp).await?;
    let new = rp.client.refresh_token(&token).await.map_err(|e| format!("refresh failed: {}", describe(&e)))?;
    bound_to_rp_key(ctx, &rp, &new).await?;
    check(new.access_token != token.access_token, || "the access token did not change".into())?;
    let token_proofs = proofs_to(ctx, Endpoint::Token);
    check(token_proofs.len() == 2 && refused(&token_proofs).is_empty(), || format!("token proofs: {token_proofs:?}"))?;
    Ok("accepted: the refresh carried a proof; the new token is DPoP-bound".into())
}

/// `rpkit-dpop-client_credentials`: the client credentials grant with a proof.
async fn client_credentials(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = rp.client.fetch_access_token(Some("openid")).await.map_err(|e| describe(&e))?;
    bound_to_rp_key(ctx, &rp, &token).await?;
    Ok("accepted: a DPoP-bound client credentials token".into())
}

/// `rpkit-dpop-nonce-token`: the token endpoint demands a nonce: one retry with it.
async fn nonce_token(ctx: &Ctx) -> Outcome {
    ctx.op.behavior().update(|b| b.dpop_require_nonce = true);
    let rp = ctx.rp_with(dpop_config(ctx))?;
    login(ctx, &rp).await?;
    let proofs = proofs_to(ctx, Endpoint::Token);
    let refusals = refused(&proofs);
    check(proofs.len() == 2 && refusals == ["use_dpop_nonce"], || format!("token proofs: {proofs:?}"))?;
    check(proofs[1].nonce.is_some(), || "the retry had no nonce".into())?;
    check(rp.sent_to(Endpoint::Token) == 2, || format!("{} token requests", rp.sent_to(Endpoint::Token)))?;
    Ok("accepted: use_dpop_nonce answered by one retry with the server's nonce".into())
}

/// `rpkit-dpop-nonce-userinfo`: UserInfo demands a nonce: one retry with it.
async fn nonce_userinfo(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = login(ctx, &rp).await?;
    ctx.op.behavior().update(|b| b.dpop_require_nonce = true);
    rp.client.userinfo(&token).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    let proofs = proofs_to(ctx, Endpoint::Userinfo);
    check(refused(&proofs) == ["use_dpop_nonce"] && proofs.len() == 2, || format!("UserInfo proofs: {proofs:?}"))?;
    check(proofs.iter().all(|p| p.ath), || "a UserInfo proof lacked ath".into())?;
    Ok("accepted: WWW-Authenticate DPoP use_dpop_nonce answered by one retry".into())
}

/// `rpkit-dpop-nonce-private_key_jwt`: the nonce retry carries a fresh client assertion
/// (the provider refuses a replayed assertion `jti`).
async fn nonce_private_key_jwt(ctx: &Ctx) -> Outcome {
    ctx.op.behavior().update(|b| b.dpop_require_nonce = true);
    let keys = ctx.keys().await?;
    let config = dpop_config(ctx)
        .client_id(PKJ_CLIENT_ID)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
        .private_key(keys.sig_private.clone())
        .private_key_id(SIG_KID);
    let rp = ctx.rp_with(config)?;
    login(ctx, &rp).await?;
    let proofs = proofs_to(ctx, Endpoint::Token);
    check(refused(&proofs) == ["use_dpop_nonce"], || format!("token proofs: {proofs:?}"))?;
    Ok("accepted: the retry re-authenticated with a new assertion and the nonce".into())
}

/// `rpkit-dpop-nonce-rotation`: every answer carries a new nonce and only the newest is
/// accepted: after the first dance the RP always sends the newest, never an old one.
async fn nonce_rotation(ctx: &Ctx) -> Outcome {
    ctx.op.behavior().update(|b| b.dpop_rotate_nonce = true);
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = login(ctx, &rp).await?;
    rp.client.userinfo(&token).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    let new = rp.client.refresh_token(&token).await.map_err(|e| format!("refresh failed: {}", describe(&e)))?;
    rp.client.userinfo(&new).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    let all = ctx.op.dpop_proofs();
    let refusals = refused(&all);
    check(refusals == ["use_dpop_nonce"], || format!("refusals after the first: {refusals:?}"))?;
    let accepted: Vec<_> = all.iter().filter(|p| p.refused.is_none()).filter_map(|p| p.nonce.clone()).collect();
    let mut unique = accepted.clone();
    unique.sort();
    unique.dedup();
    check(accepted.len() == 4 && unique.len() == 4, || format!("accepted nonces: {accepted:?}"))?;
    Ok("accepted: one nonce dance, then the newest nonce on each of 4 requests".into())
}

/// `rpkit-dpop-htu-htm`: endpoints advertised with a query: `htu` drops it, `htm` is the
/// method (the provider checks both exactly).
async fn htu_htm(ctx: &Ctx) -> Outcome {
    let token_url = ctx.op.token_endpoint();
    let userinfo_url = ctx.op.userinfo_endpoint();
    ctx.op.behavior().update(|b| {
        b.metadata_set_members.insert("token_endpoint".into(), format!("{token_url}?tenant=a").into());
        b.metadata_set_members.insert("userinfo_endpoint".into(), format!("{userinfo_url}?tenant=a").into());
    });
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let token = login(ctx, &rp).await?;
    rp.client.userinfo(&token).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    let all = ctx.op.dpop_proofs();
    let ok = |p: &DpopProofRecord, htm: &str, htu: &str| {
        p.refused.is_none() && p.htm.as_deref() == Some(htm) && p.htu.as_deref() == Some(htu)
    };
    check(all.len() == 2, || format!("proofs: {all:?}"))?;
    check(ok(&all[0], "POST", &token_url) && ok(&all[1], "GET", &userinfo_url), || format!("proofs: {all:?}"))?;
    Ok("accepted: htu without the query, htm POST at the token endpoint and GET at UserInfo".into())
}

/// `rpkit-dpop-nonce-always-stale`: a provider that wants a new nonce every time: the RP
/// retries once, then fails with a typed error (no loop).
async fn nonce_always_stale(ctx: &Ctx) -> Outcome {
    ctx.op.behavior().update(|b| b.dpop_nonce_always_stale = true);
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let attempt = ctx.sign_in(&rp).await?;
    let err = match attempt.result {
        Ok(_) => return Err("accepted (expected NonceRetryExhausted)".into()),
        Err(e) => e,
    };
    let typed = matches!(
        err,
        ClientError::Core(Error::Dpop(DpopError::NonceRetryExhausted { endpoint: rpkit::error::Endpoint::Token }))
    );
    check(typed, || format!("rejected with {} (expected Dpop::NonceRetryExhausted)", describe(&err)))?;
    check(attempt.rp_token_requests == 2, || format!("{} token requests (expected 2)", attempt.rp_token_requests))?;
    Ok(format!("rejected: {} after exactly one retry", describe(&err)))
}

/// `rpkit-dpop-token_type-bearer`: a Bearer token issued to a DPoP request is refused
/// (no downgrade), and nothing is called with it.
async fn token_type_bearer(ctx: &Ctx) -> Outcome {
    ctx.op.behavior().update(|b| b.token_type = Some("Bearer".into()));
    let rp = ctx.rp_with(dpop_config(ctx))?;
    let attempt = ctx.sign_in(&rp).await?;
    let err = match attempt.result {
        Ok(_) => return Err("accepted a Bearer token to a DPoP request".into()),
        Err(e) => e,
    };
    let typed = matches!(err, ClientError::Core(Error::Dpop(DpopError::NotDpopBound { .. })));
    check(typed, || format!("rejected with {} (expected Dpop::NotDpopBound)", describe(&err)))?;
    check(rp.sent_to(Endpoint::Userinfo) == 0, || "UserInfo was called".into())?;
    Ok(format!("rejected: {}", describe(&err)))
}
