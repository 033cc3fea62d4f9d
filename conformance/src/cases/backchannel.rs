//! Back-Channel Logout RP profile: the RP logs out through the end-session endpoint, the
//! OP posts a logout token to the RP's `backchannel_logout_uri`, and the RP answers 200
//! (valid) or 400 (invalid), always with `Cache-Control: no-store`.

use rpkit::client::ClientError;
use rpkit::error::{JoseError, LogoutError};
use rpkit::Error;

use super::harness::{check, claim, describe, Ctx, Outcome, Received, Rp, USER};
use crate::{Behavior, SigningAlg, BACKCHANNEL_LOGOUT_EVENT};

/// The RP of this profile: it registered `id_token_signed_response_alg=RS256`, so its
/// ID tokens and logout tokens must be RS256.
fn rp(ctx: &Ctx) -> Result<Rp, String> {
    ctx.rp_with(ctx.config().id_token_algs(["RS256"]))
}

/// Log in, switch `misbehave` on, log out RP-initiated; returns the ID token's `sid` and
/// what the receiver did with the one logout request it got.
async fn deliver(ctx: &Ctx, misbehave: impl FnOnce(&mut Behavior)) -> Result<(String, Received), String> {
    let rp = rp(ctx)?;
    let token = ctx.signed_in(&rp).await?;
    let sid = claim(&token, "sid").ok_or("the ID token has no sid")?;
    let receiver = ctx.receiver()?;
    receiver.take();
    ctx.op.behavior().update(misbehave);
    let logout = ctx.rp_initiated_logout(&rp, &token).await?;
    logout.validated.map_err(|e| format!("the post-logout redirect was rejected: {}", describe(&e)))?;
    let mut got = receiver.take();
    check(got.len() == 1, || format!("the RP received {} logout requests (expected 1)", got.len()))?;
    Ok((sid, got.remove(0)))
}

fn no_store(r: &Received) -> Result<(), String> {
    check(r.cache_control.as_deref() == Some("no-store"), || format!("Cache-Control {:?}", r.cache_control))
}

/// `rp-backchannel-rpinitlogout`: a valid logout token ends the session it names.
pub(crate) async fn rp_backchannel_rpinitlogout(ctx: &Ctx) -> Outcome {
    let (sid, r) = deliver(ctx, |_| {}).await?;
    let target = r.outcome.as_ref().map_err(|e| format!("rejected: {}", describe(e)))?;
    check(r.status == 200, || format!("answered {} to a valid logout token", r.status))?;
    no_store(&r)?;
    check(target.sid.as_deref() == Some(sid.as_str()), || format!("sid {:?}", target.sid))?;
    check(target.sub.as_deref() == Some(USER), || format!("sub {:?}", target.sub))?;
    check(target.matches(Some(USER), Some(&sid)), || "the target does not match the RP's session".into())?;
    check(!target.matches(Some(USER), Some("another-session")), || "the target matches another session".into())?;
    Ok("accepted: 200, Cache-Control: no-store; the session (sub, sid) is ended".into())
}

/// A bad logout token: the RP answers 400 with `no-store` and ends no session.
async fn rejected(
    ctx: &Ctx,
    misbehave: impl FnOnce(&mut Behavior),
    want: &str,
    ok: impl Fn(&ClientError) -> bool,
) -> Outcome {
    let (_, r) = deliver(ctx, misbehave).await?;
    let err = match &r.outcome {
        Ok(target) => return Err(format!("accepted (status {}): would end sid {:?}", r.status, target.sid)),
        Err(e) => e,
    };
    if !ok(err) {
        return Err(format!("rejected with {} (expected {want})", describe(err)));
    }
    check(r.status == 400, || format!("answered {} instead of 400", r.status))?;
    no_store(&r)?;
    Ok(format!("rejected: 400, no-store, {}; no session ended", describe(err)))
}

/// `rp-backchannel-rpinitlogout-lt-alg-none`: an unsigned logout token.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_alg_none(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| b.logout_token_alg = Some(SigningAlg::None),
        "Jose::AlgNone",
        |e| matches!(e, ClientError::Core(Error::Jose(JoseError::AlgNone))),
    )
    .await
}

/// `rp-backchannel-rpinitlogout-lt-wrong-alg`: a logout token signed with another
/// algorithm than the registered RS256: HS256 (keyed by the client secret), then ES256
/// (with the OP's own EC key).
pub(crate) async fn rp_backchannel_rpinitlogout_lt_wrong_alg(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    for alg in [SigningAlg::HS256, SigningAlg::ES256] {
        ctx.op.behavior().reset();
        let outcome = rejected(
            ctx,
            |b| b.logout_token_alg = Some(alg),
            "Jose::AlgorithmNotAllowed",
            |e| matches!(e, ClientError::Core(Error::Jose(JoseError::AlgorithmNotAllowed { .. }))),
        )
        .await
        .map_err(|e| format!("{}: {e}", alg.as_str()))?;
        seen.push(format!("{}: {outcome}", alg.as_str()));
    }
    Ok(seen.join("; "))
}

/// `rp-backchannel-rpinitlogout-lt-wrong-issuer`.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_wrong_issuer(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| {
            b.logout_token_set_claims.insert("iss".into(), "https://op.invalid".into());
        },
        "Logout::Issuer",
        |e| matches!(e, ClientError::Core(Error::Logout(LogoutError::Issuer { .. }))),
    )
    .await
}

/// `rp-backchannel-rpinitlogout-lt-wrong-aud`.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_wrong_aud(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| {
            b.logout_token_set_claims.insert("aud".into(), "another-client".into());
        },
        "Logout::Audience",
        |e| matches!(e, ClientError::Core(Error::Logout(LogoutError::Audience))),
    )
    .await
}

/// `rp-backchannel-rpinitlogout-lt-no-event`: no `events` claim.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_no_event(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| b.logout_token_remove_claims = vec!["events".into()],
        "Logout::Events",
        |e| matches!(e, ClientError::Core(Error::Logout(LogoutError::Events))),
    )
    .await
}

/// `rp-backchannel-rpinitlogout-lt-wrong-event`: an `events` claim without the
/// back-channel logout event.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_wrong_event(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| {
            let events = serde_json::json!({ "http://schemas.openid.net/event/not-logout": {} });
            debug_assert!(events.get(BACKCHANNEL_LOGOUT_EVENT).is_none());
            b.logout_token_set_claims.insert("events".into(), events);
        },
        "Logout::Events",
        |e| matches!(e, ClientError::Core(Error::Logout(LogoutError::Events))),
    )
    .await
}

/// `rp-backchannel-rpinitlogout-lt-with-nonce`: a logout token must not carry a nonce.
pub(crate) async fn rp_backchannel_rpinitlogout_lt_with_nonce(ctx: &Ctx) -> Outcome {
    rejected(
        ctx,
        |b| {
            b.logout_token_set_claims.insert("nonce".into(), "a-nonce".into());
        },
        "Logout::Nonce",
        |e| matches!(e, ClientError::Core(Error::Logout(LogoutError::Nonce))),
    )
    .await
}
