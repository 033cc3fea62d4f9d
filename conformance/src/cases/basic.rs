//! Basic RP profile (code flow); the Form Post profile runs the same cases with
//! `response_mode=form_post`.

use rpkit::client::ClientError;
use rpkit::error::{IdTokenError, JoseError, UserInfoError};
use rpkit::Error;

use super::harness::{
    accepted, check, claim, describe, id_token_header, rejected_callback, rejected_token, Ctx, Mode, Outcome,
    CLIENT_ID, USER,
};
use crate::{AuthMethod, Endpoint, SigningAlg};

/// `rp-response_type-code`: a code flow (with PKCE S256, state and nonce) ends with a
/// validated ID token.
pub(crate) async fn rp_response_type_code(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = accepted(ctx.sign_in(&rp).await?)?;
    let req = ctx.op.last_authorization_request().ok_or("the provider saw no authorization request")?;
    let param = |k: &str| req.get(k).map(String::as_str);
    check(param("response_type") == Some("code"), || format!("response_type {:?}", param("response_type")))?;
    check(param("code_challenge_method") == Some("S256"), || "no PKCE S256".into())?;
    check(param("state").is_some() && param("nonce").is_some(), || "no state or no nonce".into())?;
    if ctx.mode == Mode::FormPost {
        check(param("response_mode") == Some("form_post"), || "response_mode=form_post was not asked for".into())?;
    }
    check(claim(&token, "sub").as_deref() == Some(USER), || format!("sub {:?}", claim(&token, "sub")))?;
    check(claim(&token, "aud").as_deref() == Some(CLIENT_ID), || "aud is not the client".into())?;
    Ok(format!("accepted: code + PKCE S256, state, nonce; sub {USER}"))
}

/// `rp-id_token-issuer-mismatch`: an ID token from another issuer.
pub(crate) async fn rp_id_token_issuer_mismatch(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_issuer = Some("https://op.invalid".into()));
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::Issuer", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. })))
    })
}

/// `rp-id_token-sub`: an ID token without `sub`.
pub(crate) async fn rp_id_token_sub(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_remove_claims = vec!["sub".into()]);
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::MissingClaim(sub)", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::MissingClaim { name: "sub" })))
    })
}

/// `rp-id_token-aud`: an ID token for another client, and one without `aud`.
pub(crate) async fn rp_id_token_aud(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_audience = Some("another-client".into()));
    let wrong = ctx.sign_in(&rp).await?;
    let wrong = rejected_token(&wrong, "IdToken::Audience", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Audience)))
    })
    .map_err(|e| format!("wrong aud: {e}"))?;
    ctx.op.behavior().reset();
    ctx.op.behavior().update(|b| b.id_token_omit_aud = true);
    let missing = ctx.sign_in(&rp).await?;
    let missing = rejected_token(&missing, "IdToken::MissingClaim(aud)", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::MissingClaim { name: "aud" })))
    })
    .map_err(|e| format!("missing aud: {e}"))?;
    Ok(format!("wrong aud {wrong}; missing aud {missing}"))
}

/// `rp-id_token-iat`: an ID token without `iat`.
pub(crate) async fn rp_id_token_iat(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_remove_claims = vec!["iat".into()]);
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::MissingClaim(iat)", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::MissingClaim { name: "iat" })))
    })
}

/// `rp-id_token-kid-absent-single-jwks`: no `kid`, and one key in the JWKS that fits the
/// algorithm (the other keys are EC and OKP): that key is used.
pub(crate) async fn rp_id_token_kid_absent_single_jwks(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_omit_kid = true);
    let token = accepted(ctx.sign_in(&rp).await?)?;
    check(id_token_header(&token, "kid").is_none(), || "the ID token had a kid".into())?;
    Ok("accepted: no kid, the single RSA key of the JWKS verified it".into())
}

/// `rp-id_token-kid-absent-multiple-jwks`: no `kid` and two RSA keys in the JWKS.
pub(crate) async fn rp_id_token_kid_absent_multiple_jwks(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| {
        b.id_token_omit_kid = true;
        b.jwks_extra_keys = 1;
    });
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "Jose::AmbiguousKey", |e| matches!(e, ClientError::Core(Error::Jose(JoseError::AmbiguousKey))))
}

/// `rp-id_token-sig-rs256`: an RS256-signed ID token.
pub(crate) async fn rp_id_token_sig_rs256(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_alg = Some(SigningAlg::RS256));
    let token = accepted(ctx.sign_in(&rp).await?)?;
    let alg = id_token_header(&token, "alg");
    check(alg.as_deref() == Some("RS256"), || format!("alg {alg:?}"))?;
    Ok("accepted: RS256, key by kid from jwks_uri".into())
}

/// `rp-id_token-sig-none`: an unsigned ID token (`alg: none`) is rejected by default.
pub(crate) async fn rp_id_token_sig_none(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_alg = Some(SigningAlg::None));
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::Algorithm(none)", |e| match e {
        ClientError::Core(Error::IdToken(IdTokenError::Algorithm { alg })) => alg == "none",
        _ => false,
    })
}

/// `rp-id_token-bad-sig-rs256`: a corrupted RS256 signature; it must not make the RP
/// fetch the JWKS again.
pub(crate) async fn rp_id_token_bad_sig_rs256(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_bad_signature = true);
    let a = ctx.sign_in(&rp).await?;
    let outcome = rejected_token(&a, "IdToken::Signature", |e| {
        matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Signature)))
    })?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 1, || format!("the JWKS was fetched {fetches} times (a bad signature must not refetch)"))?;
    Ok(format!("{outcome}; JWKS fetched once"))
}

/// `rp-userinfo-bad-sub-claim`: UserInfo for another `sub` than the ID token's.
pub(crate) async fn rp_userinfo_bad_sub_claim(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    ctx.op.behavior().update(|b| b.userinfo_sub = Some("mallory".into()));
    match rp.client.userinfo(&token).await {
        Ok(_) => Err("accepted UserInfo for another subject".into()),
        Err(ClientError::Core(Error::UserInfo(UserInfoError::SubjectMismatch))) => {
            Ok("rejected: UserInfo(SubjectMismatch); no claims returned".into())
        }
        Err(e) => Err(format!("rejected with {} (expected UserInfo::SubjectMismatch)", describe(&e))),
    }
}

/// `rp-nonce-invalid`: an ID token with another nonce than the one sent.
pub(crate) async fn rp_nonce_invalid(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.id_token_nonce = Some("not-the-nonce-that-was-sent".into()));
    let a = ctx.sign_in(&rp).await?;
    rejected_token(&a, "IdToken::Nonce", |e| matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Nonce))))
}

/// `rp-scope-userinfo-claims`: claims asked for with `profile email` come from UserInfo.
pub(crate) async fn rp_scope_userinfo_claims(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    let scope = ctx.op.last_authorization_request().and_then(|r| r.get("scope").cloned()).unwrap_or_default();
    check(scope.split(' ').any(|s| s == "email") && scope.split(' ').any(|s| s == "profile"), || {
        format!("scope {scope:?} lacks profile or email")
    })?;
    let claims = rp.client.userinfo(&token).await.map_err(|e| format!("UserInfo failed: {}", describe(&e)))?;
    check(claims.get_str("sub") == Some(USER), || "UserInfo sub".into())?;
    check(claims.get_str("email") == Some("alice@example.com"), || "no email claim".into())?;
    check(claims.get_str("name") == Some("Alice Example"), || "no name claim".into())?;
    Ok("accepted: email and name from UserInfo for scope profile email".into())
}

/// `rp-token_endpoint-client_secret_basic`.
pub(crate) async fn rp_token_endpoint_client_secret_basic(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.signed_in(&rp).await?;
    let seen = ctx.op.last_token_request().and_then(|r| r.auth_method);
    check(seen == Some(AuthMethod::ClientSecretBasic), || format!("the provider saw {seen:?}"))?;
    Ok("accepted: the provider authenticated the RP by client_secret_basic".into())
}

/// `rp-response_mode-form_post-error`: an error delivered by Form Post.
pub(crate) async fn rp_response_mode_form_post_error(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.authorize_error = Some("access_denied".into()));
    let a = ctx.sign_in(&rp).await?;
    rejected_callback(&a, "Provider(access_denied)", |e| match e {
        ClientError::Core(Error::Provider(p)) => p.error == "access_denied",
        _ => false,
    })
}
