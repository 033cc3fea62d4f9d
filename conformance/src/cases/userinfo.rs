//! UserInfo: Bearer header or body, signed and encrypted responses.

use http::Method;
use rpkit::claims::Claims;

use super::harness::{check, describe, Ctx, Outcome, Rp, Sent, ENC_CLIENT_ID, USER};
use crate::Endpoint;

/// Log in with `rp`, then fetch UserInfo; returns the claims and the request as sent.
async fn fetch(ctx: &Ctx, rp: &Rp) -> Result<(Claims, Sent), String> {
    let token = ctx.signed_in(rp).await?;
    let claims = rp.client.userinfo(&token).await.map_err(|e| format!("rejected: {}", describe(&e)))?;
    let sent = rp.last_sent_to(Endpoint::Userinfo).ok_or("no UserInfo request was sent")?;
    check(!sent.query_access_token, || "the access token was sent in the query".into())?;
    check(claims.get_str("sub") == Some(USER), || format!("sub {:?}", claims.get_str("sub")))?;
    check(claims.get_str("email") == Some("alice@example.com"), || "no email claim".into())?;
    Ok((claims, sent))
}

/// `rp-userinfo-bearer-header`: `GET` with `Authorization: Bearer`.
pub(crate) async fn rp_userinfo_bearer_header(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let (_, sent) = fetch(ctx, &rp).await?;
    check(sent.method == Method::GET && sent.bearer_header && !sent.body_access_token, || format!("{sent:?}"))?;
    Ok("accepted: GET with Authorization: Bearer".into())
}

/// `rp-userinfo-bearer-body`: `POST` with `access_token` in the form body.
pub(crate) async fn rp_userinfo_bearer_body(ctx: &Ctx) -> Outcome {
    let mut config = ctx.config();
    config.client_kwargs.userinfo_post = true;
    let rp = ctx.rp_with(config)?;
    let (_, sent) = fetch(ctx, &rp).await?;
    check(sent.method == Method::POST && sent.body_access_token && !sent.bearer_header, || format!("{sent:?}"))?;
    Ok("accepted: POST with access_token in the body".into())
}

fn jwt_response(sent: &Sent) -> Result<(), String> {
    check(sent.response_type.as_deref() == Some("application/jwt"), || {
        format!("the response was {:?}, not application/jwt", sent.response_type)
    })
}

/// `rp-userinfo-sig`: a signed UserInfo response (`application/jwt`).
pub(crate) async fn rp_userinfo_sig(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.userinfo_signed = true);
    let (claims, sent) = fetch(ctx, &rp).await?;
    jwt_response(&sent)?;
    check(claims.get_str("iss") == Some(ctx.op.issuer()), || "the signed response has no iss".into())?;
    Ok("accepted: RS256-signed UserInfo verified with the JWKS".into())
}

/// `rp-userinfo-enc`: an encrypted (not signed) UserInfo response.
pub(crate) async fn rp_userinfo_enc(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    let rp = ctx.rp_with(ctx.config().client_id(ENC_CLIENT_ID).decryption_key(keys.enc_private.clone()))?;
    ctx.op.behavior().update(|b| b.userinfo_encrypt_only = true);
    let (_, sent) = fetch(ctx, &rp).await?;
    jwt_response(&sent)?;
    Ok("accepted: RSA-OAEP/A128GCM JWE of the JSON claims".into())
}

/// `rp-userinfo-sig+enc`: a signed, then encrypted UserInfo response.
pub(crate) async fn rp_userinfo_sig_enc(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    let rp = ctx.rp_with(ctx.config().client_id(ENC_CLIENT_ID).decryption_key(keys.enc_private.clone()))?;
    let (claims, sent) = fetch(ctx, &rp).await?;
    jwt_response(&sent)?;
    check(claims.get_str("iss") == Some(ctx.op.issuer()), || "the signed response has no iss".into())?;
    Ok("accepted: JWE around an RS256 JWS".into())
}
