//! ID token signing algorithms and encryption.

use rpkit::client::ClientError;
use rpkit::config::ClientConfig;
use rpkit::error::IdTokenError;
use rpkit::Error;

use super::harness::{accepted, check, id_token_header, rejected_token, Ctx, Outcome, ENC_CLIENT_ID, USER};
use crate::{Endpoint, SigningAlg};

/// The RP registered for HS256 ID tokens (keyed by its client secret).
fn hs256_config(ctx: &Ctx) -> ClientConfig {
    ctx.config().id_token_algs(["HS256"])
}

async fn accepts_alg(ctx: &Ctx, config: ClientConfig, alg: SigningAlg) -> Result<super::harness::Rp, String> {
    let rp = ctx.rp_with(config)?;
    ctx.op.behavior().update(|b| b.id_token_alg = Some(alg));
    let token = accepted(ctx.sign_in(&rp).await?)?;
    let seen = id_token_header(&token, "alg");
    check(seen.as_deref() == Some(alg.as_str()), || format!("alg {seen:?}"))?;
    check(token.userinfo.as_ref().and_then(|c| c.get_str("sub")) == Some(USER), || "sub".into())?;
    Ok(rp)
}

/// `rp-id_token-sig-es256`.
pub(crate) async fn rp_id_token_sig_es256(ctx: &Ctx) -> Outcome {
    accepts_alg(ctx, ctx.config(), SigningAlg::ES256).await?;
    Ok("accepted: ES256 (P-256 key from the JWKS)".into())
}

/// `rpkit-id_token-sig-eddsa`: Ed25519.
pub(crate) async fn rpkit_id_token_sig_eddsa(ctx: &Ctx) -> Outcome {
    accepts_alg(ctx, ctx.config(), SigningAlg::EdDSA).await?;
    Ok("accepted: EdDSA (Ed25519 key from the JWKS)".into())
}

/// `rp-id_token-sig-hs256`: keyed by the client secret; no JWKS needed.
pub(crate) async fn rp_id_token_sig_hs256(ctx: &Ctx) -> Outcome {
    let rp = accepts_alg(ctx, hs256_config(ctx), SigningAlg::HS256).await?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 0, || format!("the JWKS was fetched {fetches} times for an HS256 token"))?;
    Ok("accepted: HS256 keyed by the client secret, no JWKS fetch".into())
}

fn bad_signature(attempt: &super::harness::Attempt) -> Outcome {
    rejected_token(attempt, "IdToken::Signature", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Signature)))
    })
}

/// `rp-id_token-bad-sig-es256`.
pub(crate) async fn rp_id_token_bad_sig_es256(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| {
        b.id_token_alg = Some(SigningAlg::ES256);
        b.id_token_bad_signature = true;
    });
    bad_signature(&ctx.sign_in(&rp).await?)
}

/// `rp-id_token-bad-sig-hs256`.
pub(crate) async fn rp_id_token_bad_sig_hs256(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(hs256_config(ctx))?;
    ctx.op.behavior().update(|b| {
        b.id_token_alg = Some(SigningAlg::HS256);
        b.id_token_bad_signature = true;
    });
    bad_signature(&ctx.sign_in(&rp).await?)
}

/// `rp-id_token-sig+enc`: a signed ID token nested in a JWE to the RP's RSA key.
pub(crate) async fn rp_id_token_sig_enc(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    let rp = ctx.rp_with(ctx.config().client_id(ENC_CLIENT_ID).decryption_key(keys.enc_private.clone()))?;
    let token = accepted(ctx.sign_in(&rp).await?)?;
    let parts = token.id_token.as_ref().map_or(0, |t| t.secret().split('.').count());
    check(parts == 5, || format!("the ID token has {parts} parts, not a JWE"))?;
    check(token.userinfo.as_ref().and_then(|c| c.get_str("sub")) == Some(USER), || "sub".into())?;
    Ok("accepted: RSA-OAEP/A128GCM JWE around an RS256 JWS".into())
}

/// `rpkit-id_token-enc-required`: an RP with a decryption key refuses a plain ID token.
pub(crate) async fn rpkit_id_token_enc_required(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    let rp = ctx.rp_with(ctx.config().decryption_key(keys.enc_private.clone()))?;
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::EncryptionRequired", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::EncryptionRequired)))
    })
}
