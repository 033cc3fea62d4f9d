//! The device authorization grant (RFC 8628): the RP polls while the provider's scripted
//! user approves, denies or lets the code expire; the provider records when each poll
//! arrived, so the pacing (`interval`, `slow_down`) and the deadline are checked on the
//! wire.

use std::time::Duration;

use rpkit::client::{ClientError, OAuthClient};
use rpkit::device::{DeviceAuthorization, DeviceError};
use rpkit::{Error, Token};

use super::harness::{check, claim, describe, Ctx, Outcome, USER};

/// Starts a device login with the standard RP and polls in the background.
async fn start(
    ctx: &Ctx,
    interval: u64,
    lifetime: Duration,
) -> Result<(DeviceAuthorization, tokio::task::JoinHandle<Result<Token, ClientError>>), String> {
    ctx.op.device_user().set_timing(interval, lifetime);
    let rp = ctx.rp()?;
    let authorization =
        rp.client.device_authorize(None).await.map_err(|e| format!("device authorization: {}", describe(&e)))?;
    let client: OAuthClient = rp.client.clone();
    let a = authorization.clone();
    let poll = tokio::spawn(async move { client.poll_device_token(&a).await });
    Ok((authorization, poll))
}

/// Waits (bounded) until the provider has seen `n` polls for `user_code`.
async fn polls_seen(ctx: &Ctx, user_code: &str, n: usize) -> Result<Vec<Duration>, String> {
    for _ in 0..400 {
        let polls = ctx.op.device_user().polls(user_code);
        if polls.len() >= n {
            return Ok(polls);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the RP did not poll {n} time(s) within 20 s"))
}

async fn outcome(
    poll: tokio::task::JoinHandle<Result<Token, ClientError>>,
) -> Result<Result<Token, ClientError>, String> {
    poll.await.map_err(|e| format!("the polling task failed: {e}"))
}

/// `rpkit-device-login`: approved after a pending poll, the token arrives with a
/// validated ID token (no nonce in the device flow).
pub(crate) async fn rpkit_device_login(ctx: &Ctx) -> Outcome {
    let (a, poll) = start(ctx, 1, Duration::from_secs(30)).await?;
    check(a.verification_uri_complete.as_deref().is_some_and(|u| u.contains(&a.user_code)), || {
        "no verification_uri_complete with the user code".into()
    })?;
    polls_seen(ctx, &a.user_code, 1).await?;
    check(ctx.op.device_user().approve(&a.user_code, USER), || "the user could not approve".into())?;
    let token = outcome(poll).await?.map_err(|e| format!("the login failed: {}", describe(&e)))?;
    check(claim(&token, "sub").as_deref() == Some(USER), || format!("sub {:?}", claim(&token, "sub")))?;
    let polls = ctx.op.device_user().polls(&a.user_code);
    let gaps_ok = polls.windows(2).all(|w| w[1] - w[0] >= Duration::from_millis(750));
    check(gaps_ok, || format!("polls closer than the interval: {polls:?}"))?;
    Ok(format!("accepted: {} polls (pending, then the token), ID token sub {USER}", polls.len()))
}

/// `rpkit-device-slow_down`: after `slow_down` the next poll comes at least interval + 5 s
/// after the one that earned it, as the provider measured.
pub(crate) async fn rpkit_device_slow_down(ctx: &Ctx) -> Outcome {
    let user = ctx.op.device_user();
    ctx.op.device_user().set_timing(1, Duration::from_secs(30));
    let rp = ctx.rp()?;
    let a = rp.client.device_authorize(None).await.map_err(|e| format!("device authorization: {}", describe(&e)))?;
    check(user.force_error(&a.user_code, "slow_down"), || "could not script slow_down".into())?;
    let client = rp.client.clone();
    let auth = a.clone();
    let poll = tokio::spawn(async move { client.poll_device_token(&auth).await });
    let polls = polls_seen(ctx, &a.user_code, 2).await?;
    check(user.approve(&a.user_code, USER), || "the user could not approve".into())?;
    outcome(poll).await?.map_err(|e| format!("the login failed: {}", describe(&e)))?;
    let gap = polls[1] - polls[0];
    check(gap >= Duration::from_secs(6) - Duration::from_millis(250), || {
        format!("the poll after slow_down came {gap:?} later (at least 6 s expected)")
    })?;
    Ok(format!("accepted: the poll after slow_down came {:.1} s later (interval 1 s + 5 s)", gap.as_secs_f64()))
}

/// `rpkit-device-expired_token`: the provider says the code expired.
pub(crate) async fn rpkit_device_expired_token(ctx: &Ctx) -> Outcome {
    let (a, poll) = start(ctx, 1, Duration::from_secs(30)).await?;
    check(ctx.op.device_user().force_error(&a.user_code, "expired_token"), || "could not script".into())?;
    match outcome(poll).await? {
        Err(ClientError::Core(Error::Device(DeviceError::ExpiredToken(p)))) if p.error == "expired_token" => {
            Ok("rejected: Device::ExpiredToken(expired_token)".into())
        }
        Err(e) => Err(format!("wrong error: {}", describe(&e))),
        Ok(_) => Err("a token after expired_token".into()),
    }
}

/// `rpkit-device-access_denied`: the user denies.
pub(crate) async fn rpkit_device_access_denied(ctx: &Ctx) -> Outcome {
    let (a, poll) = start(ctx, 1, Duration::from_secs(30)).await?;
    polls_seen(ctx, &a.user_code, 1).await?;
    check(ctx.op.device_user().deny(&a.user_code), || "the user could not deny".into())?;
    match outcome(poll).await? {
        Err(ClientError::Core(Error::Device(DeviceError::AccessDenied(p)))) if p.error == "access_denied" => {
            Ok("rejected: Device::AccessDenied(access_denied)".into())
        }
        Err(e) => Err(format!("wrong error: {}", describe(&e))),
        Ok(_) => Err("a token after a denial".into()),
    }
}

/// `rpkit-device-deadline`: nobody approves; the RP stops polling at the deadline by
/// itself (no poll at or after `expires_in`, so the provider never has to say
/// `expired_token`).
pub(crate) async fn rpkit_device_deadline(ctx: &Ctx) -> Outcome {
    let lifetime = Duration::from_secs(4);
    let (a, poll) = start(ctx, 1, lifetime).await?;
    let result = outcome(poll).await?;
    let polls = ctx.op.device_user().polls(&a.user_code);
    check(polls.iter().all(|p| *p < lifetime), || format!("a poll at or past the deadline: {polls:?}"))?;
    check(!polls.is_empty(), || "the RP never polled".into())?;
    match result {
        Err(ClientError::Core(Error::Device(DeviceError::Deadline { .. }))) => Ok(format!(
            "rejected: Device::Deadline after {} polls, the last at {:.1} s of 4 s",
            polls.len(),
            polls.last().map_or(0.0, Duration::as_secs_f64)
        )),
        Err(e) => Err(format!("wrong error: {}", describe(&e))),
        Ok(_) => Err("a token nobody approved".into()),
    }
}
