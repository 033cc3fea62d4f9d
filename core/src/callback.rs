//! The authorization response (the redirect back to us) and its validation.
//!
//! [RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2),
//! [RFC 9207 (`iss` in the authorization response)](https://www.rfc-editor.org/rfc/rfc9207),
//! [RFC 9700 §4.4 (mix-up) and §4.5 (injection)](https://www.rfc-editor.org/rfc/rfc9700),
//! [OAuth 2.0 Form Post Response Mode](https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html).
//!
//! [`CallbackParams`] parses the query string (`GET`) or the `form_post` body (`POST`);
//! [`validate_callback`] matches it against the session's [`PendingSet`] and returns the
//! authorization code with the pending authorization it belongs to, or says why not.
//! No token request should be made unless it returns `Ok`.

use crate::authorize::{PendingAuthorization, PendingSet};
use crate::config::ClientConfig;
use crate::discovery::ProviderMetadata;
use crate::error::{sanitized, Error, ProviderError};
use crate::secret::AuthorizationCode;
use crate::time::UnixTime;
use std::fmt;

/// The largest query string or form body accepted (64 KiB).
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

/// The most parameters accepted in one response.
pub const MAX_CALLBACK_PARAMS: usize = 100;

/// Longest parameter name quoted in an error; longer names are cut (they come from the
/// browser and end up in logs).
const MAX_NAME_IN_ERROR: usize = 64;

/// Errors of the authorization response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The response has no `code`.
    #[error("the authorization response has no `code`")]
    MissingCode,
    /// A parameter appears more than once (RFC 6749 §3.1: "MUST NOT be included more
    /// than once").
    #[error("the authorization response repeats the parameter `{name}`")]
    DuplicateParameter {
        /// The repeated name (cut to 64 bytes).
        name: String,
    },
    /// The query string or body is larger than [`MAX_CALLBACK_BYTES`].
    #[error("the authorization response is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The response has more than [`MAX_CALLBACK_PARAMS`] parameters.
    #[error("the authorization response has more than {limit} parameters")]
    TooManyParameters {
        /// The limit.
        limit: usize,
    },
    /// A parameter name or value is not UTF-8 once percent-decoded.
    #[error("the authorization response has a parameter {} that is not valid UTF-8", .name.as_deref().map(|n| format!("`{n}`")).unwrap_or_else(|| "name".to_owned()))]
    InvalidUtf8 {
        /// The parameter's name, when the name itself is valid (cut to 64 bytes).
        name: Option<String>,
    },
    /// The `state` belongs to a request another client made (RFC 9700 §4.4 mix-up defence).
    #[error("the authorization response for client `{found}` arrived at client `{expected}`")]
    ClientMismatch {
        /// The client validating the callback.
        expected: String,
        /// The client that made the request.
        found: String,
    },
    /// The provider advertises `authorization_response_iss_parameter_supported` but the
    /// response has no `iss` (RFC 9207 §2.4).
    #[error("the authorization response has no `iss` although the provider promises one")]
    MissingIssuer,
    /// The response's `iss` is not the expected issuer (RFC 9207 §2.4).
    #[error("the authorization response comes from issuer `{found}`, expected `{expected}`")]
    IssuerMismatch {
        /// The issuer of the provider the request was sent to.
        expected: String,
        /// The `iss` in the response.
        found: String,
    },
    /// The response carries `iss` but no issuer is known to compare it with (no `issuer`
    /// configured, none derivable from `server_metadata_url`, no metadata): nothing could
    /// tell a mix-up from the right provider. Configure the issuer, or set
    /// `client_kwargs.accept_unverifiable_iss` (RFC 9207 §2.4).
    #[error("the authorization response carries `iss` but no issuer is configured to compare it with")]
    UnverifiableIssuer,
    /// A token arrived through the front channel in a code flow (RFC 9700 §4.4, §2.1.2).
    #[error("the authorization response carries `{param}`, which a code flow never returns")]
    UnexpectedToken {
        /// `id_token` or `access_token`.
        param: String,
    },
}

/// The parameters of an authorization response, parsed strictly.
///
/// Built from the query string of a `GET` callback ([`from_query`](Self::from_query),
/// [`from_uri`](Self::from_uri)), from the body of a `response_mode=form_post` `POST`
/// ([`from_form_body`](Self::from_form_body)), or from pairs an adapter already has
/// ([`from_pairs`](Self::from_pairs)).
///
/// # Errors
/// Every constructor refuses, with a [`CallbackError`]: input over
/// [`MAX_CALLBACK_BYTES`], more than [`MAX_CALLBACK_PARAMS`] parameters, a repeated
/// parameter, and names or values that are not UTF-8 once percent-decoded. Empty
/// segments (`a=1&&b=2`) and parameters with an empty name are skipped.
///
/// # Security
/// `Debug` shows only parameter names and the provider's error fields, never `code`,
/// `state` or tokens.
///
/// ```
/// use rpkit::callback::CallbackParams;
/// let p = CallbackParams::from_query("code=SplxlOBeZQQYbYS6WxSbIA&state=xyz&iss=https%3A%2F%2Fop.example")?;
/// assert_eq!(p.get("iss"), Some("https://op.example"));
/// assert!(!format!("{p:?}").contains("SplxlOBeZQQYbYS6WxSbIA"));
///
/// let posted = CallbackParams::from_form_body(b"code=abc&state=xyz")?;
/// assert_eq!(posted.len(), 2);
///
/// use rpkit::error::CallbackError;
/// assert_eq!(
///     CallbackParams::from_query("code=a&code=b").unwrap_err(),
///     CallbackError::DuplicateParameter { name: "code".into() }
/// );
/// # Ok::<(), CallbackError>(())
/// ```
#[derive(Default)]
pub struct CallbackParams {
    pairs: Vec<(String, String)>,
}

impl CallbackParams {
    /// Parses a query string (a leading `?` is ignored).
    ///
    /// # Errors
    /// See [`CallbackParams`].
    pub fn from_query(query: &str) -> Result<Self, CallbackError> {
        Self::parse(query.strip_prefix('?').unwrap_or(query).as_bytes())
    }

    /// Parses an `application/x-www-form-urlencoded` body (`response_mode=form_post`).
    ///
    /// # Errors
    /// See [`CallbackParams`].
    pub fn from_form_body(body: &[u8]) -> Result<Self, CallbackError> {
        Self::parse(body)
    }

    /// Parses the query of a request URI; a URI without a query gives no parameters.
    ///
    /// # Errors
    /// See [`CallbackParams`].
    pub fn from_uri(uri: &http::Uri) -> Result<Self, CallbackError> {
        Self::from_query(uri.query().unwrap_or(""))
    }

    /// Takes already-decoded pairs, with the same checks (limits, duplicates, empty names
    /// skipped).
    ///
    /// # Errors
    /// See [`CallbackParams`].
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, CallbackError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut params = CallbackParams::default();
        let mut bytes = 0usize;
        for (k, v) in pairs {
            let (k, v) = (k.into(), v.into());
            bytes = bytes.saturating_add(k.len()).saturating_add(v.len()).saturating_add(2);
            if bytes > MAX_CALLBACK_BYTES {
                return Err(CallbackError::TooLarge { limit: MAX_CALLBACK_BYTES });
            }
            params.push(k, v)?;
        }
        Ok(params)
    }

    fn parse(input: &[u8]) -> Result<Self, CallbackError> {
        if input.len() > MAX_CALLBACK_BYTES {
            return Err(CallbackError::TooLarge { limit: MAX_CALLBACK_BYTES });
        }
        let mut params = CallbackParams::default();
        for segment in input.split(|&b| b == b'&') {
            if segment.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (segment.get(..i).unwrap_or_default(), segment.get(i + 1..).unwrap_or_default()),
                None => (segment, &b""[..]),
            };
            let name =
                String::from_utf8(percent_decode(raw_name)).map_err(|_| CallbackError::InvalidUtf8 { name: None })?;
            let value = String::from_utf8(percent_decode(raw_value))
                .map_err(|_| CallbackError::InvalidUtf8 { name: Some(cut(&name)) })?;
            params.push(name, value)?;
        }
        Ok(params)
    }

    fn push(&mut self, name: String, value: String) -> Result<(), CallbackError> {
        if name.is_empty() {
            return Ok(());
        }
        if self.pairs.iter().any(|(k, _)| *k == name) {
            return Err(CallbackError::DuplicateParameter { name: cut(&name) });
        }
        if self.pairs.len() >= MAX_CALLBACK_PARAMS {
            return Err(CallbackError::TooManyParameters { limit: MAX_CALLBACK_PARAMS });
        }
        self.pairs.push((name, value));
        Ok(())
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether parameter `name` is present (possibly with an empty value).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// `state`.
    pub fn state(&self) -> Option<&str> {
        self.get("state")
    }

    /// `code`.
    pub fn code(&self) -> Option<&str> {
        self.get("code")
    }

    /// `iss` (RFC 9207).
    pub fn iss(&self) -> Option<&str> {
        self.get("iss")
    }

    /// `error` (RFC 6749 §4.1.2.1).
    pub fn error(&self) -> Option<&str> {
        self.get("error")
    }

    /// The parameter names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// The pairs, in order. Values include secrets (`code`, `state`).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.pairs {
            match k.as_str() {
                "error" | "error_description" | "error_uri" | "iss" => map.entry(k, v),
                _ => map.entry(k, &"[redacted]"),
            };
        }
        map.finish()
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits is kept as is (as WHATWG URL parsing does).
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).copied().and_then(hex);
                let lo = input.get(i + 2).copied().and_then(hex);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn cut(name: &str) -> String {
    sanitized(name, MAX_NAME_IN_ERROR)
}

/// A validated authorization response: the code to exchange and the request it answers.
///
/// Not `Clone`: the code is single-use. Its `Debug` redacts the code, state, nonce and
/// verifier.
#[derive(Debug)]
pub struct AuthorizedCallback {
    /// The authorization code, for the token request.
    pub code: AuthorizationCode,
    /// The pending authorization it answers (nonce, PKCE verifier, redirect URI, …),
    /// already removed from the session's [`PendingSet`].
    pub pending: PendingAuthorization,
    /// The `iss` of the response (RFC 9207), if it had one; it has been checked.
    pub iss: Option<String>,
}

/// Validates an authorization response against the session's pending authorizations.
///
/// Steps, in order (each failure stops; no token request may be made on an error):
/// 1. The entry whose `state` matches is taken from `pending` (single use; TTL
///    `client_kwargs.pending_ttl`) — else [`Error::State`] saying missing, unknown or
///    expired.
/// 2. The entry must have been made by this client (`config.name`) — else
///    [`CallbackError::ClientMismatch`].
/// 3. RFC 9207: the expected issuer is `metadata.issuer`, else
///    [`ClientConfig::expected_issuer`]. When the metadata advertises
///    `authorization_response_iss_parameter_supported`, `iss` must be present
///    ([`CallbackError::MissingIssuer`]); when present it must be equal, byte for byte
///    ([`CallbackError::IssuerMismatch`]), and an `iss` with no issuer to compare it with
///    is refused ([`CallbackError::UnverifiableIssuer`]) unless
///    `client_kwargs.accept_unverifiable_iss` is set.
/// 4. Only then an `error` parameter becomes [`Error::Provider`] with the provider's
///    `error`, `error_description` and `error_uri` (cut and cleaned of control
///    characters, [`ProviderError::from_wire`]).
/// 5. No `id_token` or `access_token` ([`CallbackError::UnexpectedToken`]).
/// 6. A non-empty `code` ([`CallbackError::MissingCode`]).
///
/// Once an entry has matched it stays consumed whatever the outcome, so a replayed
/// callback fails with [`crate::StateError::Unknown`].
///
/// # Errors
/// As listed above. Errors never contain the code or the state.
///
/// # Security
/// An error response whose `state` is missing or unknown is reported as the state error,
/// not as the provider's error: it was not solicited by this session, so its
/// `error_description` (which an attacker can choose) is not passed on as if the provider
/// had said it. The issuer is checked before the code is returned, which defeats mix-up
/// attacks when the provider supports RFC 9207.
///
/// ```
/// use rpkit::authorize::{AuthorizationRequest, PendingSet};
/// use rpkit::callback::{validate_callback, CallbackParams};
/// use rpkit::config::ClientConfig;
/// use rpkit::rand::SystemRandom;
/// use rpkit::{Error, StateError, UnixTime};
///
/// let config = ClientConfig::new("corp")
///     .client_id("my-app")
///     .authorize_url("https://op.example/authorize")
///     .issuer("https://op.example");
/// let now = UnixTime::from_secs(1_700_000_000);
/// let (_url, pending) = AuthorizationRequest::new(&config).build(&SystemRandom::new(), now)?;
/// let state = pending.state().secret().to_owned();
/// let mut session = PendingSet::default();
/// session.insert(pending, PendingSet::max_for(&config));
///
/// // The browser comes back with ?code=…&state=…&iss=…
/// let query = format!("code=abc&state={state}&iss=https%3A%2F%2Fop.example");
/// let params = CallbackParams::from_query(&query)?;
/// let ok = validate_callback(&params, &mut session, &config, None, now.plus(30))?;
/// assert_eq!(ok.code.secret(), "abc");
///
/// // The same callback again is refused: the state was single-use.
/// let again = validate_callback(&params, &mut session, &config, None, now.plus(31)).unwrap_err();
/// assert_eq!(again, Error::State(StateError::Unknown { session_empty: true }));
/// # Ok::<(), Error>(())
/// ```
pub fn validate_callback(
    params: &CallbackParams,
    pending: &mut PendingSet,
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    now: UnixTime,
) -> Result<AuthorizedCallback, Error> {
    let entry = pending.take(params.state(), now, PendingSet::ttl_for(config))?;

    // The client and issuer checks come before the `error` branch too: an error response
    // from the wrong provider (a mix-up) must not be reported as this provider's answer.
    if entry.client() != config.name {
        return Err(
            CallbackError::ClientMismatch { expected: config.name.clone(), found: entry.client().to_owned() }.into()
        );
    }

    let iss = params.iss();
    let advertised = metadata.is_some_and(|m| m.authorization_response_iss_parameter_supported);
    if advertised && iss.is_none() {
        return Err(CallbackError::MissingIssuer.into());
    }
    if let Some(found) = iss {
        let expected =
            metadata.map(|m| m.issuer.clone()).filter(|i| !i.is_empty()).or_else(|| config.expected_issuer());
        match expected {
            Some(expected) if found != expected => {
                return Err(CallbackError::IssuerMismatch { expected, found: sanitized(found, 256) }.into());
            }
            Some(_) => {}
            None if config.client_kwargs.accept_unverifiable_iss => {}
            None => return Err(CallbackError::UnverifiableIssuer.into()),
        }
    }

    if let Some(error) = params.error() {
        return Err(Error::Provider(ProviderError::from_wire(
            error,
            params.get("error_description"),
            params.get("error_uri"),
        )));
    }

    for param in ["id_token", "access_token"] {
        if params.contains(param) {
            return Err(CallbackError::UnexpectedToken { param: param.to_owned() }.into());
        }
    }

    let code = params.code().filter(|c| !c.is_empty()).ok_or(CallbackError::MissingCode)?;
    Ok(AuthorizedCallback { code: AuthorizationCode::new(code), pending: entry, iss: iss.map(str::to_owned) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::AuthorizationRequest;
    use crate::error::StateError;
    use crate::rand::SeededRandom;
    use proptest::prelude::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
    const ISSUER: &str = "https://op.example";

    fn config() -> ClientConfig {
        ClientConfig::new("corp")
            .client_id("my-app")
            .authorize_url("https://op.example/authorize")
            .redirect_uri("https://app.example/cb")
            .scope("openid")
            .issuer(ISSUER)
    }

    fn metadata(iss_supported: bool) -> ProviderMetadata {
        ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: Some("https://op.example/authorize".into()),
            authorization_response_iss_parameter_supported: iss_supported,
            ..Default::default()
        }
    }

    /// A session holding one pending authorization of `cfg`; returns it and the state.
    fn session(cfg: &ClientConfig) -> (PendingSet, String) {
        let (_, p) = AuthorizationRequest::new(cfg).build(&SeededRandom::new(1), NOW).unwrap();
        let state = p.state().secret().to_owned();
        let mut set = PendingSet::new();
        set.insert(p, 8);
        (set, state)
    }

    fn params(pairs: &[(&str, &str)]) -> CallbackParams {
        CallbackParams::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn run(pairs: &[(&str, &str)], meta: Option<&ProviderMetadata>) -> Result<AuthorizedCallback, Error> {
        let cfg = config();
        let (mut set, state) = session(&cfg);
        let pairs: Vec<(&str, &str)> =
            pairs.iter().map(|&(k, v)| (k, if v == "$STATE" { state.as_str() } else { v })).collect();
        validate_callback(&params(&pairs), &mut set, &cfg, meta, NOW.plus(10))
    }

    // --- parsing ---

    #[test]
    fn query_is_parsed_and_percent_decoded() {
        let p = CallbackParams::from_query("?code=a%2Fb+c&state=s&error_description=caf%C3%A9").unwrap();
        assert_eq!(p.code(), Some("a/b c"));
        assert_eq!(p.state(), Some("s"));
        assert_eq!(p.get("error_description"), Some("café"));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn form_post_body_is_parsed() {
        let p = CallbackParams::from_form_body(
            b"code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&iss=https%3A%2F%2Fop.example",
        )
        .unwrap();
        assert_eq!(p.code(), Some("SplxlOBeZQQYbYS6WxSbIA"));
        assert_eq!(p.state(), Some("af0ifjsldkj"));
        assert_eq!(p.iss(), Some("https://op.example"));
    }

    #[test]
    fn uri_query_is_parsed_and_a_uri_without_query_gives_nothing() {
        let uri: http::Uri = "/cb?code=c&state=s".parse().unwrap();
        let p = CallbackParams::from_uri(&uri).unwrap();
        assert_eq!(p.code(), Some("c"));
        let bare: http::Uri = "/cb".parse().unwrap();
        assert!(CallbackParams::from_uri(&bare).unwrap().is_empty());
    }

    #[test]
    fn repeated_parameter_is_rejected() {
        let err = CallbackParams::from_query("state=a&code=x&state=b").unwrap_err();
        assert_eq!(err, CallbackError::DuplicateParameter { name: "state".into() });
        // Also when the repetition hides behind percent-encoding.
        let err = CallbackParams::from_form_body(b"code=x&c%6Fde=y").unwrap_err();
        assert_eq!(err, CallbackError::DuplicateParameter { name: "code".into() });
        let err = CallbackParams::from_pairs([("iss", "a"), ("iss", "b")]).unwrap_err();
        assert_eq!(err, CallbackError::DuplicateParameter { name: "iss".into() });
    }

    #[test]
    fn oversized_input_is_rejected() {
        let big = format!("code={}", "a".repeat(MAX_CALLBACK_BYTES));
        assert_eq!(
            CallbackParams::from_query(&big).unwrap_err(),
            CallbackError::TooLarge { limit: MAX_CALLBACK_BYTES }
        );
        assert_eq!(
            CallbackParams::from_form_body(big.as_bytes()).unwrap_err(),
            CallbackError::TooLarge { limit: MAX_CALLBACK_BYTES }
        );
        let value = "a".repeat(MAX_CALLBACK_BYTES);
        assert_eq!(
            CallbackParams::from_pairs([("code", value.as_str())]).unwrap_err(),
            CallbackError::TooLarge { limit: MAX_CALLBACK_BYTES }
        );
    }

    #[test]
    fn too_many_parameters_are_rejected() {
        let ok: Vec<String> = (0..MAX_CALLBACK_PARAMS).map(|i| format!("p{i}=v")).collect();
        assert_eq!(CallbackParams::from_query(&ok.join("&")).unwrap().len(), MAX_CALLBACK_PARAMS);
        let too_many: Vec<String> = (0..=MAX_CALLBACK_PARAMS).map(|i| format!("p{i}=v")).collect();
        assert_eq!(
            CallbackParams::from_query(&too_many.join("&")).unwrap_err(),
            CallbackError::TooManyParameters { limit: MAX_CALLBACK_PARAMS }
        );
    }

    #[test]
    fn invalid_utf8_is_rejected_with_the_parameter_name() {
        assert_eq!(
            CallbackParams::from_query("code=%FF%FE").unwrap_err(),
            CallbackError::InvalidUtf8 { name: Some("code".into()) }
        );
        assert_eq!(CallbackParams::from_query("%C3=x").unwrap_err(), CallbackError::InvalidUtf8 { name: None });
        assert_eq!(
            CallbackParams::from_form_body(b"state=\xff").unwrap_err(),
            CallbackError::InvalidUtf8 { name: Some("state".into()) }
        );
    }

    #[test]
    fn empty_segments_names_and_bare_keys_are_tolerated() {
        let p = CallbackParams::from_query("&&code=x&&=ignored&flag&bad=%zz%4").unwrap();
        assert_eq!(p.code(), Some("x"));
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get("bad"), Some("%zz%4"));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn long_duplicate_names_are_cut_in_errors() {
        let name = "é".repeat(100);
        let err = CallbackParams::from_pairs([(name.as_str(), "a"), (name.as_str(), "b")]).unwrap_err();
        let CallbackError::DuplicateParameter { name: shown } = err else { panic!("{err:?}") };
        assert!(shown.chars().count() <= MAX_NAME_IN_ERROR + 1);
    }

    #[test]
    fn params_debug_redacts_code_and_state_but_shows_the_error() {
        let p = CallbackParams::from_query("code=SECRETCODE&state=SECRETSTATE&error=access_denied").unwrap();
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("SECRETCODE"));
        assert!(!dbg.contains("SECRETSTATE"));
        assert!(dbg.contains("access_denied"));
    }

    // --- validation ---

    #[test]
    fn valid_callback_returns_code_pending_and_iss() {
        let ok = run(&[("code", "the-code"), ("state", "$STATE"), ("iss", ISSUER)], Some(&metadata(true))).unwrap();
        assert_eq!(ok.code.secret(), "the-code");
        assert_eq!(ok.pending.client(), "corp");
        assert!(ok.pending.code_verifier().is_some());
        assert_eq!(ok.iss.as_deref(), Some(ISSUER));
    }

    #[test]
    fn valid_callback_without_iss_is_accepted_when_not_advertised() {
        let ok = run(&[("code", "c"), ("state", "$STATE")], Some(&metadata(false))).unwrap();
        assert!(ok.iss.is_none());
        assert!(run(&[("code", "c"), ("state", "$STATE")], None).is_ok());
    }

    #[test]
    fn callback_with_replayed_state_is_rejected() {
        let cfg = config();
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state)]);
        assert!(validate_callback(&p, &mut set, &cfg, None, NOW).is_ok());
        let err = validate_callback(&p, &mut set, &cfg, None, NOW).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn callback_without_state_is_rejected_with_missing() {
        let err = run(&[("code", "c")], None).unwrap_err();
        assert_eq!(err, Error::State(StateError::Missing));
    }

    #[test]
    fn callback_with_unknown_state_is_rejected_and_keeps_the_session() {
        let cfg = config();
        let (mut set, _) = session(&cfg);
        let err =
            validate_callback(&params(&[("code", "c"), ("state", "forged")]), &mut set, &cfg, None, NOW).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: false }));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn callback_on_empty_session_says_the_session_is_empty() {
        let cfg = config();
        let mut set = PendingSet::new();
        let err = validate_callback(&params(&[("code", "c"), ("state", "s")]), &mut set, &cfg, None, NOW).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: true }));
    }

    #[test]
    fn expired_state_is_rejected_with_expired() {
        let mut cfg = config();
        cfg.client_kwargs.pending_ttl = Some(60);
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state)]);
        let err = validate_callback(&p, &mut set, &cfg, None, NOW.plus(61)).unwrap_err();
        assert_eq!(err, Error::State(StateError::Expired));
        assert!(set.is_empty());
    }

    #[test]
    fn error_response_keeps_provider_code_description_and_uri() {
        let err = run(
            &[
                ("error", "access_denied"),
                ("error_description", "The user said no"),
                ("error_uri", "https://op.example/help"),
                ("state", "$STATE"),
            ],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Provider(ProviderError {
                error: "access_denied".into(),
                description: Some("The user said no".into()),
                uri: Some("https://op.example/help".into()),
            })
        );
    }

    #[test]
    fn error_response_consumes_the_pending_entry() {
        let cfg = config();
        let (mut set, state) = session(&cfg);
        let p = params(&[("error", "login_required"), ("state", &state)]);
        assert!(matches!(validate_callback(&p, &mut set, &cfg, None, NOW), Err(Error::Provider(_))));
        assert!(set.is_empty());
    }

    #[test]
    fn unsolicited_error_response_is_reported_as_a_state_error() {
        let err = run(&[("error", "access_denied"), ("error_description", "click evil.example")], None).unwrap_err();
        assert_eq!(err, Error::State(StateError::Missing));
        let err = run(&[("error", "access_denied"), ("state", "forged")], None).unwrap_err();
        assert_eq!(err, Error::State(StateError::Unknown { session_empty: false }));
    }

    #[test]
    fn state_of_another_client_is_rejected_with_client_mismatch() {
        let github =
            ClientConfig::new("github").client_id("gh").authorize_url("https://github.com/login/oauth/authorize");
        let (mut set, state) = session(&github);
        let cfg = config();
        let err =
            validate_callback(&params(&[("code", "c"), ("state", &state)]), &mut set, &cfg, None, NOW).unwrap_err();
        assert_eq!(
            err,
            Error::Callback(CallbackError::ClientMismatch { expected: "corp".into(), found: "github".into() })
        );
        assert!(set.is_empty(), "the matched entry is consumed");
    }

    #[test]
    fn iss_missing_when_advertised_is_rejected() {
        let err = run(&[("code", "c"), ("state", "$STATE")], Some(&metadata(true))).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::MissingIssuer));
    }

    #[test]
    fn iss_mismatch_is_rejected_even_when_not_advertised() {
        let err = run(&[("code", "c"), ("state", "$STATE"), ("iss", "https://evil.example")], Some(&metadata(false)))
            .unwrap_err();
        assert_eq!(
            err,
            Error::Callback(CallbackError::IssuerMismatch {
                expected: ISSUER.into(),
                found: "https://evil.example".into()
            })
        );
    }

    #[test]
    fn iss_comparison_is_exact() {
        for found in ["https://op.example/", "HTTPS://op.example", "https://op.example ", ""] {
            let err = run(&[("code", "c"), ("state", "$STATE"), ("iss", found)], Some(&metadata(true))).unwrap_err();
            assert!(matches!(err, Error::Callback(CallbackError::IssuerMismatch { .. })), "{found:?}: {err:?}");
        }
    }

    #[test]
    fn iss_is_checked_against_the_configured_issuer_without_metadata() {
        let err = run(&[("code", "c"), ("state", "$STATE"), ("iss", "https://evil.example")], None).unwrap_err();
        assert!(matches!(err, Error::Callback(CallbackError::IssuerMismatch { .. })));
        assert!(run(&[("code", "c"), ("state", "$STATE"), ("iss", ISSUER)], None).is_ok());
    }

    #[test]
    fn iss_is_checked_against_the_discovery_url_derived_issuer() {
        let mut cfg = config();
        cfg.issuer = None;
        cfg.server_metadata_url = Some("https://op.example/.well-known/openid-configuration".into());
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state), ("iss", "https://evil.example")]);
        let err = validate_callback(&p, &mut set, &cfg, None, NOW).unwrap_err();
        assert!(
            matches!(err, Error::Callback(CallbackError::IssuerMismatch { ref expected, .. }) if expected == ISSUER)
        );
    }

    #[test]
    fn metadata_issuer_takes_precedence_over_configuration() {
        let mut cfg = config();
        cfg.issuer = Some("https://configured.example".into());
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state), ("iss", ISSUER)]);
        assert!(validate_callback(&p, &mut set, &cfg, Some(&metadata(true)), NOW).is_ok());
    }

    #[test]
    fn iss_without_a_known_issuer_is_refused_unless_configured() {
        let mut cfg = config();
        cfg.issuer = None;
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state), ("iss", "https://whoever.example")]);
        let err = validate_callback(&p, &mut set, &cfg, None, NOW).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::UnverifiableIssuer));
        // The opt-in for providers that send `iss` while nothing here knows their issuer.
        cfg.client_kwargs.accept_unverifiable_iss = true;
        let (mut set, state) = session(&cfg);
        let p = params(&[("code", "c"), ("state", &state), ("iss", "https://whoever.example")]);
        let ok = validate_callback(&p, &mut set, &cfg, None, NOW).unwrap();
        assert_eq!(ok.iss.as_deref(), Some("https://whoever.example"));
    }

    #[test]
    fn an_error_response_from_another_issuer_is_a_mix_up_not_the_providers_error() {
        let cfg = config();
        let (mut set, state) = session(&cfg);
        let p = params(&[("error", "access_denied"), ("state", &state), ("iss", "https://evil.example")]);
        let err = validate_callback(&p, &mut set, &cfg, Some(&metadata(true)), NOW).unwrap_err();
        assert!(matches!(err, Error::Callback(CallbackError::IssuerMismatch { .. })), "{err:?}");
        // Missing `iss` where the provider promises one: refused before the error, too.
        let (mut set, state) = session(&cfg);
        let p = params(&[("error", "access_denied"), ("state", &state)]);
        let err = validate_callback(&p, &mut set, &cfg, Some(&metadata(true)), NOW).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::MissingIssuer));
        // From the right issuer, the provider's error is reported, its text cleaned.
        let (mut set, state) = session(&cfg);
        let p = params(&[
            ("error", "access_denied"),
            ("error_description", "no\r\n[INFO] user admin logged in"),
            ("state", &state),
            ("iss", ISSUER),
        ]);
        let Err(Error::Provider(e)) = validate_callback(&p, &mut set, &cfg, Some(&metadata(true)), NOW) else {
            panic!("expected the provider's error")
        };
        assert_eq!(e.error, "access_denied");
        assert!(!e.description.unwrap().contains(['\r', '\n']));
    }

    #[test]
    fn an_error_response_for_another_client_is_a_client_mismatch() {
        let other = ClientConfig::new("other").client_id("x").authorize_url("https://op.example/authorize");
        let (mut set, state) = session(&other);
        let p = params(&[("error", "access_denied"), ("state", &state)]);
        let err = validate_callback(&p, &mut set, &config(), None, NOW).unwrap_err();
        assert!(matches!(err, Error::Callback(CallbackError::ClientMismatch { .. })), "{err:?}");
    }

    #[test]
    fn front_channel_id_token_is_rejected() {
        let err = run(&[("code", "c"), ("state", "$STATE"), ("id_token", "eyJ...")], None).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::UnexpectedToken { param: "id_token".into() }));
    }

    #[test]
    fn front_channel_access_token_is_rejected_even_when_empty() {
        let err = run(&[("code", "c"), ("state", "$STATE"), ("access_token", "")], None).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::UnexpectedToken { param: "access_token".into() }));
    }

    #[test]
    fn missing_or_empty_code_is_rejected() {
        let err = run(&[("state", "$STATE")], None).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::MissingCode));
        let err = run(&[("state", "$STATE"), ("code", "")], None).unwrap_err();
        assert_eq!(err, Error::Callback(CallbackError::MissingCode));
    }

    #[test]
    fn failed_validation_still_consumes_the_matched_entry() {
        let cfg = config();
        let (mut set, state) = session(&cfg);
        let p = params(&[("state", &state)]);
        assert_eq!(
            validate_callback(&p, &mut set, &cfg, None, NOW).unwrap_err(),
            Error::Callback(CallbackError::MissingCode)
        );
        let retry = params(&[("state", &state), ("code", "c")]);
        assert_eq!(
            validate_callback(&retry, &mut set, &cfg, None, NOW).unwrap_err(),
            Error::State(StateError::Unknown { session_empty: true })
        );
    }

    #[test]
    fn right_entry_is_taken_among_several() {
        let cfg = config();
        let mut set = PendingSet::new();
        let mut states = Vec::new();
        for seed in 0..5 {
            let (_, p) = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(seed), NOW.plus(seed)).unwrap();
            states.push(p.state().secret().to_owned());
            set.insert(p, 8);
        }
        let ok =
            validate_callback(&params(&[("code", "c"), ("state", &states[2])]), &mut set, &cfg, None, NOW).unwrap();
        assert_eq!(ok.pending.created_at(), NOW.plus(2));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn errors_never_contain_the_code_or_state() {
        let cfg = config();
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("code", "SECRETCODE"), ("state", "$STATE"), ("iss", "https://evil.example")],
            vec![("code", "SECRETCODE"), ("state", "$STATE"), ("id_token", "x")],
            vec![("code", "SECRETCODE"), ("state", "SECRETSTATE")],
            vec![("code", "SECRETCODE"), ("state", "$STATE"), ("error", "e")],
        ];
        for case in cases {
            let (mut set, state) = session(&cfg);
            let pairs: Vec<(&str, &str)> =
                case.iter().map(|&(k, v)| (k, if v == "$STATE" { state.as_str() } else { v })).collect();
            let err = validate_callback(&params(&pairs), &mut set, &cfg, Some(&metadata(true)), NOW).unwrap_err();
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(
                    !text.contains("SECRETCODE") && !text.contains("SECRETSTATE") && !text.contains(&state),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn callback_error_messages_are_readable() {
        assert_eq!(
            CallbackError::DuplicateParameter { name: "code".into() }.to_string(),
            "the authorization response repeats the parameter `code`"
        );
        assert!(CallbackError::InvalidUtf8 { name: None }.to_string().contains("name"));
        assert!(CallbackError::InvalidUtf8 { name: Some("code".into()) }.to_string().contains("`code`"));
        assert!(CallbackError::MissingIssuer.to_string().contains("iss"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn from_query_never_panics(s in "\\PC*") {
            let _ = CallbackParams::from_query(&s);
        }

        #[test]
        fn from_query_never_panics_on_form_like_input(s in "([a-z%+=&]|%[0-9a-fA-F]{0,2}){0,200}") {
            let _ = CallbackParams::from_query(&s);
        }

        #[test]
        fn from_form_body_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = CallbackParams::from_form_body(&bytes);
        }

        #[test]
        fn parsed_values_round_trip_through_form_encoding(
            pairs in proptest::collection::btree_map("[a-z_]{1,10}", "\\PC{0,20}", 0..10)
        ) {
            let encoded = crate::wire::form_encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let parsed = CallbackParams::from_form_body(encoded.as_bytes()).unwrap();
            prop_assert_eq!(parsed.len(), pairs.len());
            for (k, v) in &pairs {
                prop_assert_eq!(parsed.get(k), Some(v.as_str()));
            }
        }

        #[test]
        fn validate_callback_never_panics_on_arbitrary_params(
            pairs in proptest::collection::vec(
                (prop_oneof![
                    Just("code".to_owned()), Just("state".to_owned()), Just("iss".to_owned()),
                    Just("error".to_owned()), Just("error_description".to_owned()),
                    Just("id_token".to_owned()), Just("access_token".to_owned()), "[a-z_]{1,8}",
                ], "\\PC{0,40}"),
                0..8,
            ),
            use_real_state in any::<bool>(),
            advertised in any::<bool>(),
            with_metadata in any::<bool>(),
            elapsed in 0u64..2000,
        ) {
            let cfg = config();
            let (mut set, state) = session(&cfg);
            let mut pairs = pairs;
            if use_real_state {
                pairs.retain(|(k, _)| k != "state");
                pairs.push(("state".to_owned(), state));
            }
            if let Ok(p) = CallbackParams::from_pairs(pairs) {
                let meta = metadata(advertised);
                let before = set.len();
                let result = validate_callback(&p, &mut set, &cfg, with_metadata.then_some(&meta), NOW.plus(elapsed));
                if result.is_ok() {
                    prop_assert!(set.len() < before);
                }
            }
        }
    }
}
