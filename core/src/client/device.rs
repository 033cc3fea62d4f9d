//! The device authorization grant (RFC 8628) over the client's [`HttpClient`](super::HttpClient) and
//! [`Clock`](super::Clock): the polling loop waits on [`Clock::sleep`](super::Clock::sleep), so it runs on any async runtime
//! and, with a [`ManualClock`](super::ManualClock), in no real time at all.

use super::{ClientError, OAuthClient};
use crate::device::{
    device_authorization_request, parse_device_authorization_response, DeviceAuthorization, DeviceError, DevicePoll,
    DeviceStep,
};
use crate::error::Endpoint;
use crate::token::Token;
use std::time::Duration;

/// A hard cap on loop turns (sleeps and polls) of one [`OAuthClient::poll_device_token`],
/// whatever the clock does: the longest accepted lifetime polled every second, twice over.
/// The resolution of [`UnixTime`](crate::UnixTime), added to every wait.
const CLOCK_GRANULARITY_SECS: u64 = 1;

const MAX_TURNS: u64 = 2 * crate::device::MAX_EXPIRES_IN_SECS + 16;

impl OAuthClient {
    /// Starts a device login (RFC 8628 §3.1): asks the device authorization endpoint
    /// (configured `device_authorization_endpoint`, else discovered) for a user code.
    /// Show [`DeviceAuthorization::user_code`] and `verification_uri` (or
    /// `verification_uri_complete`, e.g. as a QR code) to the user, then call
    /// [`OAuthClient::poll_device_token`]. `scope`: given, else the configured scope.
    ///
    /// # Errors
    /// [`crate::error::ConfigError::Missing`] without a device authorization endpoint;
    /// the provider's error; a malformed answer; transport failures.
    pub async fn device_authorize(&self, scope: Option<&str>) -> Result<DeviceAuthorization, ClientError> {
        self.refuse_oauth1()?;
        let metadata = self.load_server_metadata().await?;
        let config = &self.inner.config;
        let scope = scope.or(config.scope_str());
        let request = device_authorization_request(config, metadata.as_deref(), scope, self.rng(), self.now())?;
        let response = self.send(request, Endpoint::DeviceAuthorization).await?;
        Ok(parse_device_authorization_response(&response, scope, self.now())?)
    }

    /// Polls the token endpoint until the user has approved `authorization` (RFC 8628
    /// §3.4–3.5), sleeping on the registry's [`Clock`](super::Clock) between polls: at least
    /// `interval` seconds apart (one more, as the clock has whole seconds), 5 s more after
    /// every `slow_down`, never at or past the deadline. The token's ID
    /// token (for an `openid` scope) is validated as for a login, without a nonce.
    ///
    /// Cancel it by dropping the future.
    ///
    /// # Errors
    /// [`DeviceError::AccessDenied`], [`DeviceError::ExpiredToken`] (the provider's
    /// word), [`DeviceError::Deadline`] (the lifetime ran out here: nothing more is sent);
    /// other token endpoint errors, ID token errors, transport failures.
    pub async fn poll_device_token(&self, authorization: &DeviceAuthorization) -> Result<Token, ClientError> {
        self.refuse_oauth1()?;
        let provider = self.provider().await?;
        let mut poll = DevicePoll::new(authorization);
        let clock = &self.inner.shared.clock;
        for _ in 0..MAX_TURNS {
            let now = self.now();
            let Some(due) = poll.next_poll_at(now) else { break };
            if due > now {
                // One second more: the clock has whole seconds, so the last poll may have
                // left up to a second after the time it was recorded at, and RFC 8628 §3.5
                // asks for at least `interval` seconds between polls.
                clock.sleep(Duration::from_secs(due.secs_since(now) + CLOCK_GRANULARITY_SECS)).await;
                continue;
            }
            let request = poll.poll_request(&provider, self.rng(), now)?;
            // With DPoP on, the poll carries a proof (and answers `use_dpop_nonce` once).
            let sent = self.send_token_request(request, provider.metadata()).await?;
            match poll.handle_token_response_dpop(&provider, &sent.response, self.now(), sent.proof_sent)? {
                DeviceStep::Pending | DeviceStep::SlowDown => {}
                DeviceStep::Done(step) => return self.finish_login(step).await,
            }
        }
        Err(ClientError::Core(DeviceError::Deadline { expires_at: poll.expires_at().as_secs() }.into()))
    }
}
