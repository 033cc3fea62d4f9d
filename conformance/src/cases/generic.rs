//! rpkit's own negatives: every ID token claim check, the callback checks (state,
//! RFC 9207 `iss`, provider errors), and odd but valid token responses.

use rpkit::callback::CallbackParams;
use rpkit::client::{AuthorizeOptions, ClientError};
use rpkit::error::{CallbackError, IdTokenError, TokenError};
use rpkit::{Error, StateError};

use super::harness::{accepted, check, rejected_callback, rejected_token, Attempt, Ctx, Outcome};
use crate::{Behavior, SigningAlg};

/// A login with `misbehave` switched on.
async fn attempt(ctx: &Ctx, misbehave: impl FnOnce(&mut Behavior)) -> Result<Attempt, String> {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(misbehave);
    ctx.sign_in(&rp).await
}

async fn id_token_rejected(
    ctx: &Ctx,
    misbehave: impl FnOnce(&mut Behavior),
    want: &str,
    ok: impl Fn(&IdTokenError) -> bool,
) -> Outcome {
    let a = attempt(ctx, misbehave).await?;
    rejected_token(&a, want, |e| matches!(e, ClientError::Core(Error::IdToken(i)) if ok(i)))
}

fn missing(name: &'static str) -> impl Fn(&IdTokenError) -> bool {
    move |e| matches!(e, IdTokenError::MissingClaim { name: n } if *n == name)
}

fn algorithm(alg: &'static str) -> impl Fn(&IdTokenError) -> bool {
    move |e| matches!(e, IdTokenError::Algorithm { alg: a } if a == alg)
}

/// `rpkit-id_token-alg-other-family`: the RP registered RS256; the OP signs with ES256.
pub(crate) async fn rpkit_id_token_alg_other_family(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp_with(ctx.config().id_token_algs(["RS256"]))?;
    ctx.op.behavior().update(|b| b.id_token_alg = Some(SigningAlg::ES256));
    let a = ctx.sign_in(&rp).await?;
    rejected_token(
        &a,
        "IdToken::Algorithm(ES256)",
        |e| matches!(e, ClientError::Core(Error::IdToken(i)) if algorithm("ES256")(i)),
    )
}

/// `rpkit-id_token-alg-hs256-unconfigured`: HS256 is never accepted unless configured.
pub(crate) async fn rpkit_id_token_alg_hs256_unconfigured(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_alg = Some(SigningAlg::HS256),
        "IdToken::Algorithm(HS256)",
        algorithm("HS256"),
    )
    .await
}

/// `rpkit-id_token-exp-missing`.
pub(crate) async fn rpkit_id_token_exp_missing(ctx: &Ctx) -> Outcome {
    id_token_rejected(ctx, |b| b.id_token_omit_exp = true, "IdToken::MissingClaim(exp)", missing("exp")).await
}

/// `rpkit-id_token-iss-missing`.
pub(crate) async fn rpkit_id_token_iss_missing(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_remove_claims = vec!["iss".into()],
        "IdToken::MissingClaim(iss)",
        missing("iss"),
    )
    .await
}

/// `rpkit-id_token-aud-missing`.
pub(crate) async fn rpkit_id_token_aud_missing(ctx: &Ctx) -> Outcome {
    id_token_rejected(ctx, |b| b.id_token_omit_aud = true, "IdToken::MissingClaim(aud)", missing("aud")).await
}

/// `rpkit-id_token-nonce-missing`: the RP sent a nonce, the ID token has none.
pub(crate) async fn rpkit_id_token_nonce_missing(ctx: &Ctx) -> Outcome {
    id_token_rejected(ctx, |b| b.id_token_omit_nonce = true, "IdToken::MissingClaim(nonce)", missing("nonce")).await
}

/// `rpkit-id_token-iat-week-old`.
pub(crate) async fn rpkit_id_token_iat_week_old(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_iat_offset_secs = -7 * 24 * 3600,
        "IdToken::IssuedTooLongAgo",
        |e| matches!(e, IdTokenError::IssuedTooLongAgo),
    )
    .await
}

/// `rpkit-id_token-expired`: `exp` two hours earlier (one hour in the past).
pub(crate) async fn rpkit_id_token_expired(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_exp_offset_secs = -7200,
        "IdToken::Expired",
        |e| matches!(e, IdTokenError::Expired),
    )
    .await
}

/// `rpkit-id_token-aud-multiple-no-azp`: `aud` = [client, other] without `azp`.
pub(crate) async fn rpkit_id_token_aud_multiple_no_azp(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| {
            b.id_token_extra_audience = Some("another-client".into());
            b.id_token_omit_azp = true;
        },
        "IdToken::AuthorizedParty",
        |e| matches!(e, IdTokenError::AuthorizedParty),
    )
    .await
}

/// `rpkit-id_token-bad-at_hash` (the Implicit profile's `rp-id_token-bad-at_hash`, for a
/// code-flow ID token that carries one).
pub(crate) async fn rpkit_id_token_bad_at_hash(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_wrong_at_hash = true,
        "IdToken::AtHash",
        |e| matches!(e, IdTokenError::AtHash),
    )
    .await
}

/// `rpkit-id_token-logout-typ`: a JWT typed `logout+jwt` is not an ID token.
pub(crate) async fn rpkit_id_token_logout_typ(ctx: &Ctx) -> Outcome {
    id_token_rejected(
        ctx,
        |b| b.id_token_typ = Some("logout+jwt".into()),
        "IdToken::NotAnIdToken",
        |e| matches!(e, IdTokenError::NotAnIdToken),
    )
    .await
}

async fn tampered(ctx: &Ctx, tamper: impl FnOnce(&mut Vec<(String, String)>)) -> Result<Attempt, String> {
    let rp = ctx.rp()?;
    ctx.sign_in_tampered(&rp, &AuthorizeOptions::default(), tamper).await
}

/// `rpkit-callback-state-wrong`: a `state` the RP never issued.
pub(crate) async fn rpkit_callback_state_wrong(ctx: &Ctx) -> Outcome {
    let a = tampered(ctx, |p| {
        for (k, v) in p.iter_mut() {
            if k == "state" {
                *v = "forged-state".into();
            }
        }
    })
    .await?;
    rejected_callback(&a, "State::Unknown", |e| {
        matches!(e, ClientError::Core(Error::State(StateError::Unknown { .. })))
    })
}

/// `rpkit-callback-state-missing`.
pub(crate) async fn rpkit_callback_state_missing(ctx: &Ctx) -> Outcome {
    let a = tampered(ctx, |p| p.retain(|(k, _)| k != "state")).await?;
    rejected_callback(&a, "State::Missing", |e| matches!(e, ClientError::Core(Error::State(StateError::Missing))))
}

/// `rpkit-callback-replayed`: the same authorization response a second time.
pub(crate) async fn rpkit_callback_replayed(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let (mut pending, front) = ctx.begin(&rp, &AuthorizeOptions::default()).await?;
    let pairs: Vec<(String, String)> = front.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let first = ctx.finish(&rp, &mut pending, front.params).await;
    accepted(first).map_err(|e| format!("first use: {e}"))?;
    let replay = CallbackParams::from_pairs(pairs).map_err(|e| e.to_string())?;
    let again = ctx.finish(&rp, &mut pending, replay).await;
    rejected_callback(&again, "State::Unknown", |e| {
        matches!(e, ClientError::Core(Error::State(StateError::Unknown { .. })))
    })
}

/// `rpkit-callback-iss-wrong`: RFC 9207 `iss` of another issuer.
pub(crate) async fn rpkit_callback_iss_wrong(ctx: &Ctx) -> Outcome {
    let a = attempt(ctx, |b| b.callback_issuer = Some("https://op.invalid".into())).await?;
    rejected_callback(&a, "Callback::IssuerMismatch", |e| {
        matches!(e, ClientError::Core(Error::Callback(CallbackError::IssuerMismatch { .. })))
    })
}

/// `rpkit-callback-iss-missing`: no `iss` although the metadata promises it.
pub(crate) async fn rpkit_callback_iss_missing(ctx: &Ctx) -> Outcome {
    let a = attempt(ctx, |b| b.callback_omit_iss = true).await?;
    rejected_callback(&a, "Callback::MissingIssuer", |e| {
        matches!(e, ClientError::Core(Error::Callback(CallbackError::MissingIssuer)))
    })
}

/// `rpkit-authorize-error`: `error=access_denied` in the query.
pub(crate) async fn rpkit_authorize_error(ctx: &Ctx) -> Outcome {
    let a = attempt(ctx, |b| b.authorize_error = Some("access_denied".into())).await?;
    rejected_callback(&a, "Provider(access_denied)", |e| match e {
        ClientError::Core(Error::Provider(p)) => p.error == "access_denied",
        _ => false,
    })
}

/// `rpkit-token-token_type-case`: `token_type` is case-insensitive (RFC 6749 §5.1).
pub(crate) async fn rpkit_token_token_type_case(ctx: &Ctx) -> Outcome {
    let token = accepted(attempt(ctx, |b| b.token_type = Some("bEaReR".into())).await?)?;
    check(token.token_type == "bEaReR" && token.is_bearer(), || format!("token_type {:?}", token.token_type))?;
    Ok("accepted: token_type bEaReR is Bearer".into())
}

/// `rpkit-token-no-expires_in`: `expires_in` is optional.
pub(crate) async fn rpkit_token_no_expires_in(ctx: &Ctx) -> Outcome {
    let token = accepted(attempt(ctx, |b| b.token_omit_expires_in = true).await?)?;
    check(token.expires_in.is_none() && token.expires_at.is_none(), || "an expiry was invented".into())?;
    Ok("accepted: no expires_in, no expires_at".into())
}

/// `rpkit-token-no-scope`: `scope` is optional when it is what was asked for.
pub(crate) async fn rpkit_token_no_scope(ctx: &Ctx) -> Outcome {
    let token = accepted(attempt(ctx, |b| b.token_omit_scope = true).await?)?;
    check(token.scope.is_none(), || "a scope was invented".into())?;
    Ok("accepted: no scope".into())
}

/// `rpkit-token-no-id_token`: an `openid` code exchange must return an ID token.
pub(crate) async fn rpkit_token_no_id_token(ctx: &Ctx) -> Outcome {
    let a = attempt(ctx, |b| b.token_omit_id_token = true).await?;
    rejected_token(&a, "Token::MissingIdToken", |e| {
        matches!(e, ClientError::Core(Error::Token(TokenError::MissingIdToken)))
    })
}

/// `rpkit-token-error-status-200`: an OAuth error body with HTTP 200.
pub(crate) async fn rpkit_token_error_status_200(ctx: &Ctx) -> Outcome {
    let a = attempt(ctx, |b| {
        b.token_error = Some("invalid_grant".into());
        b.token_error_with_status_200 = true;
    })
    .await?;
    rejected_token(&a, "Provider(invalid_grant)", |e| match e {
        ClientError::Core(Error::Provider(p)) => p.error == "invalid_grant",
        _ => false,
    })
}
