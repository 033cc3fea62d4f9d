//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
//! a device without a browser asks for a user code, shows it with a verification URI, and
//! polls the token endpoint until the user has approved (or denied) it on another device.
//!
//! ```text
//!  device_authorization_request(config, md, scope, rng, now) ──► POST device_authorization_endpoint
//!  parse_device_authorization_response(response, scope, now) ◄── user_code, verification_uri, …
//!        └─► DeviceAuthorization  (show user_code + verification_uri to the user)
//!  DevicePoll::new(&authorization)
//!  loop: wait until DevicePoll::next_poll_at(now)  (None: the deadline has passed, stop)
//!        DevicePoll::poll_request(&provider, rng, now) ──► POST token endpoint (device_code grant)
//!        DevicePoll::handle_token_response(&provider, response, now)
//!              ├─► DeviceStep::Pending    (authorization_pending: poll again after `interval`)
//!              ├─► DeviceStep::SlowDown   (slow_down: `interval` += 5 s, RFC 8628 §3.5)
//!              ├─► DeviceStep::Done(LoginStep)  (verify the ID token as for a login)
//!              └─► Err: DeviceError::{ExpiredToken, AccessDenied}, other provider errors
//! ```
//!
//! The core never waits: the caller (the async [`client`](crate::client), over its
//! `Clock`) sleeps until [`DevicePoll::next_poll_at`]. A poll asked for too early or past
//! the deadline is refused before anything is built.
//!
//! ```
//! use rpkit::device::{device_authorization_request, parse_device_authorization_response, DevicePoll, DeviceStep};
//! use rpkit::login::Provider;
//! use rpkit::rand::SeededRandom;
//! use rpkit::{ClientConfig, UnixTime};
//! let config = ClientConfig::new("tv")
//!     .client_id("tv-app")
//!     .device_authorization_endpoint("https://op.example/device")
//!     .access_token_url("https://op.example/token")
//!     .token_endpoint_auth_method(rpkit::config::TokenEndpointAuthMethod::None);
//! let now = UnixTime::from_secs(1_700_000_000);
//! let rng = SeededRandom::new(7);
//! let req = device_authorization_request(&config, None, Some("profile"), &rng, now)?;
//! assert_eq!(req.uri(), "https://op.example/device");
//!
//! let answer = http::Response::new(
//!     br#"{"device_code":"dc-s3cret","user_code":"WDJB-MJHT","verification_uri":"https://op.example/device",
//!          "expires_in":600,"interval":5}"#.to_vec(),
//! );
//! let authorization = parse_device_authorization_response(&answer, Some("profile"), now)?;
//! assert_eq!(authorization.user_code, "WDJB-MJHT");
//! assert!(!format!("{authorization:?}").contains("dc-s3cret"));
//!
//! let provider = Provider::new(config);
//! let mut poll = DevicePoll::new(&authorization);
//! let due = poll.next_poll_at(now).unwrap();
//! assert_eq!(due, now.plus(5));
//! let _request = poll.poll_request(&provider, &rng, due)?;
//! let pending = http::Response::builder().status(400)
//!     .body(br#"{"error":"authorization_pending"}"#.to_vec()).unwrap();
//! assert!(matches!(poll.handle_token_response(&provider, &pending, due)?, DeviceStep::Pending));
//! assert_eq!(poll.next_poll_at(due), Some(due.plus(5)));
//! # Ok::<(), rpkit::Error>(())
//! ```

use crate::config::ClientConfig;
use crate::discovery::{check_transport, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::login::{LoginStep, Provider};
use crate::rand::SecureRandom;
use crate::secret::DeviceCode;
use crate::time::UnixTime;
use crate::token::{self, Grant};
use crate::wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The device grant's `grant_type` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The polling interval when the provider names none (RFC 8628 §3.2: 5 seconds).
pub const DEFAULT_INTERVAL_SECS: u64 = 5;

/// How much a `slow_down` answer adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: u64 = 5;

/// The longest interval accepted from a provider (or reached by `slow_down`s): one hour.
pub const MAX_INTERVAL_SECS: u64 = 3600;

/// The longest device code lifetime accepted from a provider: one day.
pub const MAX_EXPIRES_IN_SECS: u64 = 86_400;

/// The longest `user_code` / `device_code` kept (characters).
const MAX_CODE_CHARS: usize = 4096;

/// Why a device flow ended without a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The provider says the device code expired (`expired_token`): start again.
    #[error("the device code has expired (the user did not approve in time): {0}")]
    ExpiredToken(ProviderError),
    /// The user refused the authorization (`access_denied`).
    #[error("the user denied the device authorization: {0}")]
    AccessDenied(ProviderError),
    /// The device code's lifetime is over: no further poll is sent.
    #[error("the device authorization expired at {expires_at} (seconds since the epoch); polling stopped")]
    Deadline {
        /// The deadline, in seconds since the epoch.
        expires_at: u64,
    },
    /// A poll was asked for before the interval had passed (it would earn a `slow_down`).
    #[error("the next device poll is due in {wait_secs} s")]
    TooEarly {
        /// Seconds left until the poll is due.
        wait_secs: u64,
    },
}

impl DeviceError {
    /// What the provider said, when it said it (`expired_token`, `access_denied`).
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            DeviceError::ExpiredToken(p) | DeviceError::AccessDenied(p) => Some(p),
            DeviceError::Deadline { .. } | DeviceError::TooEarly { .. } => None,
        }
    }
}

impl ClientConfig {
    /// Sets the device authorization endpoint (`device_authorization_endpoint`, RFC 8628
    /// §3.1; else discovered).
    #[must_use]
    pub fn device_authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.device_authorization_endpoint = Some(url.into());
        self
    }
}

impl ProviderMetadata {
    /// `device_authorization_endpoint` (RFC 8628 §4), if the provider has one.
    pub fn device_authorization_endpoint(&self) -> Option<&str> {
        self.extra_str("device_authorization_endpoint")
    }
}

/// The device authorization endpoint: `device_authorization_endpoint` configured, else the
/// metadata's; `https` (or loopback `http`).
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing)
/// (`device_authorization_endpoint`);
/// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint).
pub fn device_authorization_endpoint<'a>(
    config: &'a ClientConfig,
    metadata: Option<&'a ProviderMetadata>,
) -> Result<&'a str, Error> {
    const KEY: &str = "device_authorization_endpoint";
    let (url, discovered) = match (
        config.device_authorization_endpoint.as_deref(),
        metadata.and_then(|m| m.device_authorization_endpoint()),
    ) {
        (Some(url), _) => (url, false),
        (None, Some(url)) => (url, true),
        (None, None) => return Err(config.missing(KEY).into()),
    };
    check_transport(config, KEY, url, discovered)?;
    Ok(url)
}

/// The device authorization request (RFC 8628 §3.1): a POST of `scope` (given, else the
/// configured scope) to the device authorization endpoint, with the client's
/// authentication as for the token endpoint (`client_id` in the body for a public client).
///
/// # Errors
/// As [`device_authorization_endpoint`]; client-authentication configuration errors.
pub fn device_authorization_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    scope: Option<&str>,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<http::Request<Vec<u8>>, Error> {
    let endpoint = device_authorization_endpoint(config, metadata)?;
    let mut form = Vec::new();
    if let Some(scope) = scope.or(config.scope_str()) {
        form.push(("scope".to_owned(), scope.to_owned()));
    }
    token::authenticated_post(config, metadata, endpoint, form, rng, now)
}

/// A device authorization: what to show the user, and what to poll with
/// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)).
///
/// Plain data (`serde`), so a device can keep it across restarts. Its `Debug` never shows
/// the device code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    /// `device_code`: the polling credential.
    pub device_code: DeviceCode,
    /// `user_code`: what the user types at the verification URI.
    pub user_code: String,
    /// `verification_uri`: where the user goes.
    pub verification_uri: String,
    /// `verification_uri_complete`: the URI with the user code in it (for a QR code).
    pub verification_uri_complete: Option<String>,
    /// When the response was received (`now` of
    /// [`parse_device_authorization_response`]): the first poll is due one `interval` later.
    pub issued_at: UnixTime,
    /// `expires_in` added to the time the response was received: no poll after it.
    pub expires_at: UnixTime,
    /// `interval` in seconds (default 5).
    pub interval: u64,
    /// The scope that was asked for.
    pub scope: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

impl DeviceAuthorization {
    /// Whether the scope asked for contains `openid` (the token response then must carry
    /// an ID token, which is validated).
    pub fn is_openid(&self) -> bool {
        self.scope.as_deref().is_some_and(|s| s.split(' ').any(|x| x == "openid"))
    }
}

/// Reads the device authorization response (RFC 8628 §3.2, errors §3.3 as RFC 6749 §5.2).
/// `scope` is the one sent (as given to [`device_authorization_request`], or the
/// configured one).
///
/// # Errors
/// [`Error::Provider`] for an error object; [`Error::Http`] for another non-2xx status;
/// [`Error::Malformed`] when a required member is missing or of the wrong type, a code is
/// empty or too long, a URI is not absolute `http(s)`, `expires_in` is 0 or above
/// [`MAX_EXPIRES_IN_SECS`], `interval` is 0 or above [`MAX_INTERVAL_SECS`];
/// [`Error::TooLarge`].
pub fn parse_device_authorization_response<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    scope: Option<&str>,
    now: UnixTime,
) -> Result<DeviceAuthorization, Error> {
    let body = wire::body_of(response, Endpoint::DeviceAuthorization)?;
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if !response.status().is_success() {
        return Err(parsed
            .as_ref()
            .and_then(provider_error)
            .map(Error::Provider)
            .unwrap_or(Error::Http { endpoint: Endpoint::DeviceAuthorization, status: response.status().as_u16() }));
    }
    let mut map = parsed.ok_or_else(|| malformed("not a JSON object"))?;
    if let Some(err) = provider_error(&map) {
        return Err(Error::Provider(err));
    }
    let device_code = code(&mut map, "device_code")?;
    let user_code = code(&mut map, "user_code")?;
    let verification_uri =
        uri(&mut map, "verification_uri")?.ok_or_else(|| malformed("`verification_uri` is missing"))?;
    let verification_uri_complete = uri(&mut map, "verification_uri_complete")?;
    let expires_in = number(&mut map, "expires_in")?.ok_or_else(|| malformed("`expires_in` is missing"))?;
    if expires_in == 0 || expires_in > MAX_EXPIRES_IN_SECS {
        return Err(malformed("`expires_in` is out of range"));
    }
    let interval = number(&mut map, "interval")?.unwrap_or(DEFAULT_INTERVAL_SECS);
    if interval == 0 || interval > MAX_INTERVAL_SECS {
        return Err(malformed("`interval` is out of range"));
    }
    Ok(DeviceAuthorization {
        device_code: DeviceCode::new(device_code),
        user_code,
        verification_uri,
        verification_uri_complete,
        issued_at: now,
        expires_at: now.plus(expires_in),
        interval,
        scope: scope.map(str::to_owned),
        extra: map,
    })
}

fn malformed(what: &str) -> Error {
    Error::malformed(format!("device authorization response: {what}"))
}

fn provider_error(map: &Map<String, Value>) -> Option<ProviderError> {
    let code = map.get("error")?.as_str()?;
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    Some(ProviderError::from_wire(code, text("error_description"), text("error_uri")))
}

fn code(map: &mut Map<String, Value>, name: &str) -> Result<String, Error> {
    match map.remove(name) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_CODE_CHARS => Ok(s),
        Some(Value::String(_)) => {
            Err(Error::malformed(format!("device authorization response: `{name}` is empty or too long")))
        }
        Some(_) => Err(Error::malformed(format!("device authorization response: `{name}` is not a string"))),
        None => Err(Error::malformed(format!("device authorization response: `{name}` is missing"))),
    }
}

fn uri(map: &mut Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    let bad = || Error::malformed(format!("device authorization response: `{name}` is not an absolute http(s) URI"));
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_CODE_CHARS => match url::Url::parse(&s) {
            // Shown to a person (or as a QR code): never `javascript:` or `data:`.
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.has_host() => Ok(Some(s)),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

fn number(map: &mut Map<String, Value>, name: &str) -> Result<Option<u64>, Error> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| Error::malformed(format!("device authorization response: `{name}` is not a whole number"))),
        // Tolerated as for the token response's `expires_in`.
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| Error::malformed(format!("device authorization response: `{name}` is not a whole number"))),
        Some(_) => Err(Error::malformed(format!("device authorization response: `{name}` is not a whole number"))),
    }
}

/// The polling state of one device authorization (RFC 8628 §3.4–3.5): when the next poll
/// is due, the current interval (raised by `slow_down`), the deadline.
///
/// Plain data; [`poll_request`](Self::poll_request) builds the token request (and records
/// the poll), [`handle_token_response`](Self::handle_token_response) reads the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePoll {
    device_code: DeviceCode,
    openid: bool,
    expires_at: UnixTime,
    issued_at: UnixTime,
    interval: u64,
    /// When the last poll was sent (the next is due `interval` later).
    last_poll: Option<UnixTime>,
    polls: u32,
}

/// What a device token response means.
#[derive(Debug)]
#[must_use]
// Returned once per poll and consumed at once.
#[allow(clippy::large_enum_variant)]
pub enum DeviceStep {
    /// `authorization_pending`: poll again at [`DevicePoll::next_poll_at`].
    Pending,
    /// `slow_down`: the interval grew by 5 s (for this and every later poll); poll again
    /// at [`DevicePoll::next_poll_at`].
    SlowDown,
    /// The token: done, or its ID token to verify ([`LoginStep`], as for a login).
    Done(LoginStep),
}

impl DevicePoll {
    /// The polling state for `authorization`; the first poll is due one `interval` after
    /// the authorization was received ([`DeviceAuthorization::issued_at`]).
    pub fn new(authorization: &DeviceAuthorization) -> Self {
        DevicePoll {
            device_code: authorization.device_code.clone(),
            openid: authorization.is_openid(),
            issued_at: authorization.issued_at,
            expires_at: authorization.expires_at,
            interval: authorization.interval.clamp(1, MAX_INTERVAL_SECS),
            last_poll: None,
            polls: 0,
        }
    }

    fn due(&self) -> UnixTime {
        self.last_poll.unwrap_or(self.issued_at).plus(self.interval)
    }

    /// The current interval in seconds.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// The deadline: no poll is sent at or after it.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// How many polls were sent.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// When the next poll may be sent (`now` if it is already due), or `None` when that
    /// would be at or past the deadline: stop polling then.
    #[must_use]
    pub fn next_poll_at(&self, now: UnixTime) -> Option<UnixTime> {
        let due = self.due();
        let at = if due > now { due } else { now };
        (at < self.expires_at).then_some(at)
    }

    /// The device access token request (RFC 8628 §3.4,
    /// [`token::device_code_request`]), recorded as a poll at `now`.
    ///
    /// # Errors
    /// [`DeviceError::Deadline`] at or past the deadline, [`DeviceError::TooEarly`] before
    /// [`next_poll_at`](Self::next_poll_at) — nothing is built then; the token request's
    /// configuration errors.
    pub fn poll_request(
        &mut self,
        provider: &Provider,
        rng: &dyn SecureRandom,
        now: UnixTime,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        if now >= self.expires_at {
            return Err(DeviceError::Deadline { expires_at: self.expires_at.as_secs() }.into());
        }
        let due = self.due();
        if now < due {
            return Err(DeviceError::TooEarly { wait_secs: due.secs_since(now) }.into());
        }
        let request = token::device_code_request(provider.config(), provider.metadata(), &self.device_code, rng, now)?;
        self.polls = self.polls.saturating_add(1);
        self.last_poll = Some(now);
        Ok(request)
    }

    /// Reads the token endpoint's answer to a poll sent at or before `now`.
    ///
    /// # Errors
    /// [`DeviceError::ExpiredToken`], [`DeviceError::AccessDenied`]; any other provider
    /// error as [`Error::Provider`]; the token response's errors
    /// ([`token::parse_token_response`]), [`crate::token::TokenError::MissingIdToken`] for
    /// an `openid` request without an ID token.
    pub fn handle_token_response<B: AsRef<[u8]>>(
        &mut self,
        provider: &Provider,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<DeviceStep, Error> {
        self.handle_token_response_dpop(provider, response, now, false)
    }

    /// [`handle_token_response`](Self::handle_token_response) for a poll that carried a
    /// DPoP proof when `proof_sent` (RFC 9449): then the token must be DPoP-bound.
    ///
    /// # Errors
    /// As [`handle_token_response`](Self::handle_token_response);
    /// [`DpopError::NotDpopBound`](crate::dpop::DpopError::NotDpopBound).
    pub fn handle_token_response_dpop<B: AsRef<[u8]>>(
        &mut self,
        provider: &Provider,
        response: &http::Response<B>,
        now: UnixTime,
        proof_sent: bool,
    ) -> Result<DeviceStep, Error> {
        match token::parse_token_response_dpop(response, now, Grant::DeviceCode { openid: self.openid }, proof_sent) {
            Ok(mut token) => {
                if !self.openid {
                    token.id_token = None;
                    return Ok(DeviceStep::Done(LoginStep::Done(token)));
                }
                Ok(DeviceStep::Done(crate::login::verify_fresh_id_token(provider, token)?))
            }
            Err(Error::Provider(p)) => match p.error.as_str() {
                "authorization_pending" => Ok(DeviceStep::Pending),
                "slow_down" => {
                    // For this and every later poll (RFC 8628 §3.5): the next one is due
                    // the new interval after the poll that earned it.
                    self.interval = self.interval.saturating_add(SLOW_DOWN_SECS).min(MAX_INTERVAL_SECS);
                    Ok(DeviceStep::SlowDown)
                }
                "expired_token" => Err(DeviceError::ExpiredToken(p).into()),
                "access_denied" => Err(DeviceError::AccessDenied(p).into()),
                _ => Err(Error::Provider(p)),
            },
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenEndpointAuthMethod;
    use crate::rand::SeededRandom;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn cfg() -> ClientConfig {
        ClientConfig::new("tv")
            .client_id("tv-app")
            .access_token_url("https://op.example/token")
            .device_authorization_endpoint("https://op.example/device")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::None)
    }

    fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    fn form(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        url::form_urlencoded::parse(req.body()).into_owned().collect()
    }

    const OK: &str = r#"{"device_code":"dc-s3cret","user_code":"WDJB-MJHT","verification_uri":"https://op.example/device",
        "verification_uri_complete":"https://op.example/device?user_code=WDJB-MJHT","expires_in":600,"interval":5}"#;

    fn authorization(scope: Option<&str>) -> DeviceAuthorization {
        parse_device_authorization_response(&resp(200, OK), scope, NOW).unwrap()
    }

    #[test]
    fn the_device_authorization_request_posts_the_scope_and_the_public_client_id() {
        let req =
            device_authorization_request(&cfg(), None, Some("openid profile"), &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "https://op.example/device");
        assert_eq!(form(&req), [("scope".into(), "openid profile".into()), ("client_id".into(), "tv-app".into())]);
        let confidential =
            cfg().client_secret("s").token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic);
        let req = device_authorization_request(&confidential, None, None, &SeededRandom::new(1), NOW).unwrap();
        assert!(req.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
    }

    #[test]
    fn the_device_authorization_endpoint_is_configured_or_discovered_and_must_be_tls() {
        let bare = ClientConfig::new("tv").client_id("a");
        let err = device_authorization_request(&bare, None, None, &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(err, Error::Config(crate::error::ConfigError::Missing { ref key, .. }) if key == "device_authorization_endpoint")
        );
        let mut md = ProviderMetadata { issuer: "https://op.example".into(), ..Default::default() };
        md.extra.insert("device_authorization_endpoint".into(), "http://op.example/device".into());
        let err = device_authorization_request(&bare, Some(&md), None, &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(err, Error::Config(crate::error::ConfigError::InsecureEndpoint { ref key, .. }) if key == "metadata.device_authorization_endpoint")
        );
        md.extra.insert("device_authorization_endpoint".into(), "https://op.example/d".into());
        let req = device_authorization_request(&bare, Some(&md), None, &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.uri(), "https://op.example/d");
    }

    #[test]
    fn the_device_authorization_response_is_parsed_with_an_absolute_deadline_and_a_redacted_code() {
        let a = authorization(Some("openid"));
        assert_eq!(a.device_code.secret(), "dc-s3cret");
        assert_eq!(a.user_code, "WDJB-MJHT");
        assert_eq!(a.expires_at, NOW.plus(600));
        assert_eq!(a.interval, 5);
        assert!(a.is_openid());
        assert!(!format!("{a:?}").contains("dc-s3cret"));
        let no_interval =
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d","expires_in":"60"}"#;
        let a = parse_device_authorization_response(&resp(200, no_interval), None, NOW).unwrap();
        assert_eq!(a.interval, DEFAULT_INTERVAL_SECS);
        assert_eq!(a.expires_at, NOW.plus(60));
    }

    #[test]
    fn bad_device_authorization_responses_are_typed_errors() {
        let base = r#""device_code":"d","user_code":"u","verification_uri":"https://op.example/d""#;
        for bad in [
            format!("{{{base}}}"),                                       // no expires_in
            format!("{{{base},\"expires_in\":0}}"),                      // zero lifetime
            format!("{{{base},\"expires_in\":600,\"interval\":0}}"),     // zero interval
            format!("{{{base},\"expires_in\":600,\"interval\":99999}}"), // absurd interval
            format!("{{{base},\"expires_in\":-1}}"),
            r#"{"user_code":"u","verification_uri":"https://op.example/d","expires_in":60}"#.to_owned(),
            r#"{"device_code":"","user_code":"u","verification_uri":"https://op.example/d","expires_in":60}"#
                .to_owned(),
            r#"{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":60}"#
                .to_owned(),
            r#"{"device_code":"d","user_code":7,"verification_uri":"https://op.example/d","expires_in":60}"#.to_owned(),
            "not json".to_owned(),
        ] {
            let err = parse_device_authorization_response(&resp(200, &bad), None, NOW).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{bad}: {err:?}");
            assert!(!err.to_string().contains("dc-"), "{err}");
        }
        let err =
            parse_device_authorization_response(&resp(400, r#"{"error":"invalid_scope"}"#), None, NOW).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("invalid_scope"));
        let err = parse_device_authorization_response(&resp(502, "gateway"), None, NOW).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::DeviceAuthorization, status: 502 });
        let huge = vec![b' '; crate::wire::MAX_RESPONSE_BYTES + 1];
        let big = http::Response::builder().status(200).body(huge).unwrap();
        assert!(matches!(parse_device_authorization_response(&big, None, NOW), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn the_poll_request_is_the_device_code_grant_and_waits_for_the_interval() {
        let provider = Provider::new(cfg());
        let a = authorization(None);
        let mut poll = DevicePoll::new(&a);
        assert_eq!(poll.next_poll_at(NOW), Some(NOW.plus(5)));
        let early = poll.poll_request(&provider, &SeededRandom::new(1), NOW.plus(4)).unwrap_err();
        assert_eq!(early, Error::Device(DeviceError::TooEarly { wait_secs: 1 }));
        let req = poll.poll_request(&provider, &SeededRandom::new(1), NOW.plus(5)).unwrap();
        assert_eq!(req.uri(), "https://op.example/token");
        assert_eq!(
            form(&req),
            [
                ("grant_type".into(), DEVICE_CODE_GRANT_TYPE.into()),
                ("device_code".into(), "dc-s3cret".into()),
                ("client_id".into(), "tv-app".into())
            ]
        );
        assert_eq!(poll.polls(), 1);
        assert_eq!(poll.next_poll_at(NOW.plus(5)), Some(NOW.plus(10)));
    }

    #[test]
    fn pending_waits_the_interval_and_slow_down_adds_five_seconds_for_good() {
        let provider = Provider::new(cfg());
        let mut poll = DevicePoll::new(&authorization(None));
        let rng = SeededRandom::new(1);
        let t1 = NOW.plus(5);
        let _ = poll.poll_request(&provider, &rng, t1).unwrap();
        let step =
            poll.handle_token_response(&provider, &resp(400, r#"{"error":"authorization_pending"}"#), t1).unwrap();
        assert!(matches!(step, DeviceStep::Pending));
        assert_eq!(poll.next_poll_at(t1), Some(t1.plus(5)));
        let t2 = t1.plus(5);
        let _ = poll.poll_request(&provider, &rng, t2).unwrap();
        let step = poll.handle_token_response(&provider, &resp(400, r#"{"error":"slow_down"}"#), t2).unwrap();
        assert!(matches!(step, DeviceStep::SlowDown));
        assert_eq!(poll.interval(), 10);
        assert_eq!(poll.next_poll_at(t2), Some(t2.plus(10)));
        assert!(matches!(
            poll.poll_request(&provider, &rng, t2.plus(9)),
            Err(Error::Device(DeviceError::TooEarly { .. }))
        ));
        let t3 = t2.plus(10);
        let _ = poll.poll_request(&provider, &rng, t3).unwrap();
        let _ = poll.handle_token_response(&provider, &resp(400, r#"{"error":"authorization_pending"}"#), t3).unwrap();
        assert_eq!(poll.next_poll_at(t3), Some(t3.plus(10)), "the slower interval stays");
    }

    #[test]
    fn expired_denied_and_other_errors_are_typed_with_the_providers_code() {
        let provider = Provider::new(cfg());
        let mut poll = DevicePoll::new(&authorization(None));
        let expired =
            poll.handle_token_response(&provider, &resp(400, r#"{"error":"expired_token"}"#), NOW).unwrap_err();
        assert!(matches!(expired, Error::Device(DeviceError::ExpiredToken(ref p)) if p.error == "expired_token"));
        assert_eq!(expired.provider_error_code(), Some("expired_token"));
        let denied = poll
            .handle_token_response(&provider, &resp(400, r#"{"error":"access_denied","error_description":"no"}"#), NOW)
            .unwrap_err();
        assert!(
            matches!(denied, Error::Device(DeviceError::AccessDenied(ref p)) if p.description.as_deref() == Some("no"))
        );
        let other = poll.handle_token_response(&provider, &resp(400, r#"{"error":"invalid_grant"}"#), NOW).unwrap_err();
        assert!(matches!(other, Error::Provider(ref p) if p.error == "invalid_grant"));
        let http = poll.handle_token_response(&provider, &resp(500, "oops"), NOW).unwrap_err();
        assert!(matches!(http, Error::Http { status: 500, .. }));
    }

    #[test]
    fn no_poll_is_built_at_or_past_the_deadline() {
        let provider = Provider::new(cfg());
        let a = authorization(None);
        let mut poll = DevicePoll::new(&a);
        assert_eq!(poll.next_poll_at(NOW.plus(599)), Some(NOW.plus(599)));
        assert_eq!(poll.next_poll_at(NOW.plus(600)), None);
        let err = poll.poll_request(&provider, &SeededRandom::new(1), NOW.plus(600)).unwrap_err();
        assert_eq!(err, Error::Device(DeviceError::Deadline { expires_at: NOW.plus(600).as_secs() }));
        assert_eq!(poll.polls(), 0);
        // A slow_down that pushes the next poll past the deadline ends the polling too.
        let short = r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d","expires_in":12,"interval":5}"#;
        let a = parse_device_authorization_response(&resp(200, short), None, NOW).unwrap();
        let mut poll = DevicePoll::new(&a);
        let _ = poll.poll_request(&provider, &SeededRandom::new(1), NOW.plus(5)).unwrap();
        let _ = poll.handle_token_response(&provider, &resp(400, r#"{"error":"slow_down"}"#), NOW.plus(5)).unwrap();
        assert_eq!(poll.next_poll_at(NOW.plus(5)), None);
    }

    #[test]
    fn a_token_ends_the_flow_and_an_openid_request_needs_an_id_token() {
        let provider = Provider::new(cfg());
        let ok = r#"{"access_token":"at","token_type":"Bearer","expires_in":60,"id_token":"ignored.for.oauth"}"#;
        let mut poll = DevicePoll::new(&authorization(Some("profile")));
        match poll.handle_token_response(&provider, &resp(200, ok), NOW).unwrap() {
            DeviceStep::Done(LoginStep::Done(token)) => {
                assert_eq!(token.access_token.secret(), "at");
                assert_eq!(token.expires_at, Some(NOW.plus(60)));
                assert!(token.id_token.is_none(), "an ID token a plain OAuth request did not ask for is dropped");
            }
            other => panic!("{other:?}"),
        }
        let mut poll = DevicePoll::new(&authorization(Some("openid")));
        let no_id = r#"{"access_token":"at","token_type":"Bearer"}"#;
        let err = poll.handle_token_response(&provider, &resp(200, no_id), NOW).unwrap_err();
        assert_eq!(err, Error::Token(crate::token::TokenError::MissingIdToken));
        let step = poll.handle_token_response(&provider, &resp(200, ok), NOW);
        assert!(
            !matches!(step, Ok(DeviceStep::Done(LoginStep::Done(_)))),
            "an openid ID token is verified, never passed through"
        );
    }

    #[test]
    fn device_authorization_endpoint_is_a_settings_key() {
        let cfg = ClientConfig::from_value(
            "tv",
            &serde_json::json!({"device_authorization_endpoint": "https://op.example/d"}),
        )
        .unwrap();
        assert_eq!(cfg.device_authorization_endpoint.as_deref(), Some("https://op.example/d"));
        let err = ClientConfig::from_value("tv", &serde_json::json!({"device_authorization_endpoint": 3})).unwrap_err();
        assert!(matches!(err, crate::error::ConfigError::Invalid { .. }));
    }

    #[test]
    fn the_poll_state_round_trips_through_serde_without_leaking_in_debug() {
        let poll = DevicePoll::new(&authorization(None));
        let json = serde_json::to_string(&poll).unwrap();
        let back: DevicePoll = serde_json::from_str(&json).unwrap();
        assert_eq!(back, poll);
        assert!(!format!("{poll:?}").contains("dc-s3cret"));
    }
}
