//! RP-Initiated Logout RP profile.

use rpkit::client::ClientError;
use rpkit::{Error, StateError};

use super::harness::{check, claim, describe, Ctx, LogoutResult, Outcome, POST_LOGOUT};

/// Log in, then log out through the end-session endpoint.
async fn login_then_logout(
    ctx: &Ctx,
    misbehave: impl FnOnce(&mut crate::Behavior),
) -> Result<(String, LogoutResult), String> {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    let sid = claim(&token, "sid").ok_or("the ID token has no sid")?;
    ctx.op.behavior().update(misbehave);
    let result = ctx.rp_initiated_logout(&rp, &token).await?;
    check(result.sent_state.is_some(), || "the logout request carried no state".into())?;
    check(!ctx.op.sessions().iter().any(|s| s.sid == sid), || "the provider session was not ended".into())?;
    Ok((sid, result))
}

/// `rp-init-logout`: the RP sends `id_token_hint`, `post_logout_redirect_uri` and `state`
/// and accepts the redirect back with its state.
pub(crate) async fn rp_init_logout(ctx: &Ctx) -> Outcome {
    let (_, result) = login_then_logout(ctx, |_| {}).await?;
    let pending = result.validated.map_err(|e| format!("rejected: {}", describe(&e)))?;
    check(pending.post_logout_redirect_uri == POST_LOGOUT, || "another post-logout URI".into())?;
    Ok("accepted: OP session ended, redirect back with the RP's state".into())
}

fn rejected_state(result: LogoutResult, want: &str, ok: impl Fn(&StateError) -> bool) -> Outcome {
    match result.validated {
        Ok(_) => Err(format!("accepted a post-logout redirect with query {:?}", result.query)),
        Err(ClientError::Core(Error::State(e))) if ok(&e) => {
            Ok(format!("rejected: State({e:?}); the logout is not confirmed to the user"))
        }
        Err(e) => Err(format!("rejected with {} (expected {want})", describe(&e))),
    }
}

/// `rp-init-logout-other-state`: the OP redirects back with another `state`.
pub(crate) async fn rp_init_logout_other_state(ctx: &Ctx) -> Outcome {
    let (_, result) = login_then_logout(ctx, |b| b.end_session_state = Some("not-the-rp-state".into())).await?;
    rejected_state(result, "State::Unknown", |e| matches!(e, StateError::Unknown { .. }))
}

/// `rp-init-logout-no-state`: the OP redirects back without the `state` the RP sent.
pub(crate) async fn rp_init_logout_no_state(ctx: &Ctx) -> Outcome {
    let (_, result) = login_then_logout(ctx, |b| b.end_session_omit_state = true).await?;
    rejected_state(result, "State::Missing", |e| matches!(e, StateError::Missing))
}
