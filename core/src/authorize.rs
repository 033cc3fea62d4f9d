//! The authorization request: the URL the browser is sent to, and what to remember.
//!
//! [RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1),
//! [RFC 7636 (PKCE)](https://www.rfc-editor.org/rfc/rfc7636),
//! [OIDC Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest),
//! [RFC 9700 (OAuth 2.0 Security BCP)](https://www.rfc-editor.org/rfc/rfc9700).
//!
//! [`AuthorizationRequest::build`] returns the [`AuthorizationUrl`] and a [`PendingAuthorization`] — the
//! `state`, `nonce`, PKCE verifier, redirect URI and issue time the callback needs. The
//! web framework keeps pending authorizations in the session as a [`PendingSet`], which
//! is bounded (the oldest entry is dropped past capacity) and whose entries expire, so a
//! cookie-backed session neither grows without bound nor accepts a stale `state`.

use crate::config::{ClientConfig, CodeChallengeMethod, DEFAULT_MAX_PENDING, DEFAULT_PENDING_TTL};
use crate::discovery::{check_transport, ProviderMetadata};
use crate::error::{ConfigError, Error};
use crate::pending::{Pending, PendingStore};
use crate::rand::SecureRandom;
use crate::secret::{Nonce, PkceVerifier};
use crate::time::UnixTime;
use ring::digest;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Random bytes in a `state` or `nonce` (256 bits; RFC 9700 §4.7 and DESIGN §3 ask ≥ 128).
pub const STATE_BYTES: usize = 32;

/// Length of a generated PKCE code verifier: the shortest RFC 7636 §4.1 allows (43 to
/// 128), drawn uniformly from its whole alphabet — about 260 bits, above the 256 that §7.1
/// asks for.
pub const PKCE_VERIFIER_LEN: usize = 43;

/// The RFC 7636 §4.1 `unreserved` alphabet a verifier is drawn from.
const PKCE_ALPHABET: &[u8; 66] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// Random bytes drawn for a verifier's rejection sampling: 43 characters need about 56
/// bytes at the 77 % acceptance rate; with 80, running short (and drawing again) has a
/// probability of about 2 × 10⁻⁷.
const PKCE_POOL: usize = 80;

/// Parameters rpkit generates itself; neither `authorize_params` nor per-call extras may
/// set them (doing so is a [`ConfigError::Invalid`], not silently ignored).
pub const RESERVED_PARAMS: [&str; 6] =
    ["response_type", "client_id", "state", "nonce", "code_challenge", "code_challenge_method"];

/// An authorization request under construction (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
///
/// The URL carries, in this order: the endpoint's own query parameters, `response_type=code`,
/// `client_id`, `redirect_uri`, `scope`, `state`, `nonce` (only when the scope contains
/// `openid`), `code_challenge` and `code_challenge_method=S256` (unless
/// `client_kwargs.code_challenge_method` is disabled), then `client_kwargs.response_mode`,
/// `config.authorize_params`, and the per-call extras set on this builder.
///
/// Precedence for a value given in several places: per-call (later calls win over earlier
/// ones) > `authorize_params` > `client_kwargs` / top-level configuration. `scope`,
/// `redirect_uri`, `max_age` and `response_mode` may be given through
/// [`param`](Self::param) or `authorize_params` as well; they are recorded in the
/// [`PendingAuthorization`] wherever they came from.
///
/// # Errors
/// See [`build`](Self::build).
///
/// # Security
/// `state` and `nonce` are 256-bit random values; PKCE S256 is on by default. Setting a
/// generated parameter (`state`, `nonce`, `client_id`, …) through `authorize_params` or
/// [`param`](Self::param) is an error rather than being ignored, so that nobody believes
/// their own `state` is in use.
///
/// ```
/// use rpkit::authorize::{AuthorizationRequest, PendingSet};
/// use rpkit::config::ClientConfig;
/// use rpkit::rand::SystemRandom;
/// use rpkit::UnixTime;
///
/// let config = ClientConfig::new("corp")
///     .client_id("my-app")
///     .authorize_url("https://op.example/authorize")
///     .scope("openid email");
/// let now = UnixTime::from_secs(1_700_000_000);
/// let (url, pending) = AuthorizationRequest::new(&config)
///     .redirect_uri("https://app.example/callback")
///     .prompt("login")
///     .build(&SystemRandom::new(), now)?;
///
/// assert!(url.as_str().starts_with("https://op.example/authorize?response_type=code&client_id=my-app"));
/// assert_eq!(url.to_url().query_pairs().filter(|(k, _)| k == "prompt").count(), 1);
/// assert!(pending.nonce().is_some()); // an OpenID Connect request carries a nonce
/// assert!(pending.code_verifier().is_some()); // and PKCE S256
///
/// // Keep it in the session until the callback comes back.
/// let mut session = PendingSet::default();
/// session.insert(pending, PendingSet::max_for(&config));
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizationRequest<'a> {
    config: &'a ClientConfig,
    metadata: Option<&'a ProviderMetadata>,
    params: Vec<(String, String)>,
}

impl<'a> AuthorizationRequest<'a> {
    /// A request for the client `config`.
    pub fn new(config: &'a ClientConfig) -> Self {
        AuthorizationRequest { config, metadata: None, params: Vec::new() }
    }

    /// Provider metadata, for the `authorization_endpoint` when `authorize_url` is not
    /// configured.
    #[must_use]
    pub fn metadata(mut self, metadata: &'a ProviderMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The redirect URI for this request (else `redirect_uri` from the configuration).
    #[must_use]
    pub fn redirect_uri(self, uri: impl Into<String>) -> Self {
        self.param("redirect_uri", uri)
    }

    /// The scope for this request, overriding `client_kwargs.scope`.
    #[must_use]
    pub fn scope(self, scope: impl Into<String>) -> Self {
        self.param("scope", scope)
    }

    /// `prompt` (OIDC Core §3.1.2.1), e.g. `login`, `consent`, `none`.
    #[must_use]
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.param("prompt", prompt)
    }

    /// `login_hint` (OIDC Core §3.1.2.1).
    #[must_use]
    pub fn login_hint(self, hint: impl Into<String>) -> Self {
        self.param("login_hint", hint)
    }

    /// `max_age` in seconds (OIDC Core §3.1.2.1); remembered so that `auth_time` is checked.
    #[must_use]
    pub fn max_age(self, secs: u64) -> Self {
        self.param("max_age", secs.to_string())
    }

    /// `acr_values` (OIDC Core §3.1.2.1).
    #[must_use]
    pub fn acr_values(self, values: impl Into<String>) -> Self {
        self.param("acr_values", values)
    }

    /// `response_mode` (e.g. `form_post`), overriding `client_kwargs.response_mode`.
    #[must_use]
    pub fn response_mode(self, mode: impl Into<String>) -> Self {
        self.param("response_mode", mode)
    }

    /// `ui_locales` (OIDC Core §3.1.2.1).
    #[must_use]
    pub fn ui_locales(self, locales: impl Into<String>) -> Self {
        self.param("ui_locales", locales)
    }

    /// Any other parameter. Setting the same key twice keeps the last value. Keys in
    /// [`RESERVED_PARAMS`] make [`build`](Self::build) fail.
    #[must_use]
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.params.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.params.push((key, value)),
        }
        self
    }

    /// Draws `state`, `nonce` and the PKCE verifier and builds the URL.
    ///
    /// Returns the URL to redirect the browser to, and the [`PendingAuthorization`] to
    /// store (in a [`PendingSet`]) until the callback. Everything is drawn with one
    /// `rng.fill`.
    ///
    /// # Errors
    /// - [`Error::Config`] with [`ConfigError::Missing`] for `client_id`, or for
    ///   `authorize_url` when neither it nor the metadata's `authorization_endpoint` is set;
    /// - [`Error::Config`] with [`ConfigError::Invalid`] when `authorize_url` is not an
    ///   absolute URL without fragment, when `authorize_params` or a per-call parameter
    ///   sets one of [`RESERVED_PARAMS`], or when `max_age` is not a non-negative integer;
    /// - [`Error::Malformed`] when the metadata's `authorization_endpoint` is not an
    ///   absolute URL without fragment;
    /// - [`Error::Random`] when the random source fails.
    #[must_use = "the URL must be sent to the browser and the pending authorization stored"]
    pub fn build(
        self,
        rng: &dyn SecureRandom,
        now: UnixTime,
    ) -> Result<(AuthorizationUrl, PendingAuthorization), Error> {
        let config = self.config;
        let endpoint = self.endpoint()?;
        let client_id =
            config.client_id.as_deref().filter(|id| !id.is_empty()).ok_or_else(|| config.missing("client_id"))?;

        let mut redirect_uri = config.redirect_uri.as_deref().or(config.client_kwargs.redirect_uri.as_deref());
        let mut scope = config.client_kwargs.scope.as_deref();
        let mut extras = Extras::default();
        if let Some(mode) = &config.client_kwargs.response_mode {
            extras.set("response_mode", mode);
        }
        let configured = config.authorize_params.iter().map(|(k, v)| (k, v, true));
        let per_call = self.params.iter().map(|(k, v)| (k, v, false));
        for (key, value, from_config) in configured.chain(per_call) {
            if RESERVED_PARAMS.contains(&key.as_str()) {
                let key = if from_config { format!("authorize_params.{key}") } else { key.clone() };
                return Err(invalid(config, &key, "a parameter rpkit does not generate itself"));
            }
            match key.as_str() {
                "redirect_uri" => redirect_uri = Some(value),
                "scope" => scope = Some(value),
                _ => extras.set(key, value),
            }
        }
        let redirect_uri = redirect_uri.filter(|r| !r.is_empty());
        let scope = scope.filter(|s| !s.trim().is_empty());
        let max_age = match extras.get("max_age") {
            Some(text) => Some(text.parse::<u64>().map_err(|_| invalid(config, "max_age", "a non-negative integer"))?),
            None => None,
        };
        let openid = scope.is_some_and(|s| s.split_ascii_whitespace().any(|x| x == "openid"));
        let pkce = config.client_kwargs.code_challenge_method == CodeChallengeMethod::S256;

        let secrets = Secrets::draw(rng, openid, pkce)?;
        let challenge = secrets.code_verifier.as_ref().map(pkce_challenge);

        // `Pair::plain` for names and values that need no escaping (fixed ASCII, base64url).
        let mut ours: Vec<Pair<'_>> = Vec::with_capacity(8 + extras.0.len());
        ours.extend([Pair::plain("response_type", "code"), Pair::new("client_id", client_id)]);
        if let Some(r) = redirect_uri {
            ours.push(Pair::new("redirect_uri", r));
        }
        if let Some(s) = scope {
            ours.push(Pair::new("scope", s));
        }
        ours.push(Pair::plain("state", secrets.state.secret()));
        if let Some(n) = &secrets.nonce {
            ours.push(Pair::plain("nonce", n.secret()));
        }
        if let Some(c) = &challenge {
            ours.push(Pair::plain("code_challenge", c));
            ours.push(Pair::plain("code_challenge_method", "S256"));
        }
        ours.extend(extras.0.iter().map(|&(k, v)| Pair::new(k, v)));
        let url = endpoint.with_query(&ours);

        let pending = PendingAuthorization {
            client: config.name.clone(),
            state: secrets.state,
            nonce: secrets.nonce,
            code_verifier: secrets.code_verifier,
            redirect_uri: redirect_uri.map(str::to_owned),
            scope: scope.map(str::to_owned),
            max_age,
            created_at: now,
            response_mode: extras.get("response_mode").map(str::to_owned),
            essential_acr: extras.get("claims").and_then(essential_acr_values),
        };
        Ok((url, pending))
    }

    fn endpoint(&self) -> Result<Endpoint<'a>, Error> {
        let config = self.config;
        if let Some(text) = config.authorize_url.as_deref() {
            let endpoint = Endpoint::parse(text)
                .ok_or_else(|| invalid(config, "authorize_url", "an absolute URL without fragment"))?;
            check_transport(config, "authorize_url", text, false)?;
            return Ok(endpoint);
        }
        if let Some(text) = self.metadata.and_then(|m| m.authorization_endpoint.as_deref()) {
            let endpoint = Endpoint::parse(text).ok_or_else(|| {
                Error::malformed("provider metadata: `authorization_endpoint` is not an absolute URL without fragment")
            })?;
            check_transport(config, "authorize_url", text, true)?;
            return Ok(endpoint);
        }
        Err(Error::Config(config.missing("authorize_url")))
    }
}

/// The essential `acr` values of a `claims` request parameter (OIDC Core §5.5.1.1):
/// `id_token.acr` with `essential: true` and `value` or `values`.
fn essential_acr_values(claims: &str) -> Option<Vec<String>> {
    let request: serde_json::Value = serde_json::from_str(claims).ok()?;
    let acr = request.get("id_token")?.get("acr")?;
    if acr.get("essential").and_then(serde_json::Value::as_bool) != Some(true) {
        return None;
    }
    let values: Vec<String> = match (acr.get("value"), acr.get("values")) {
        (Some(serde_json::Value::String(v)), _) => vec![v.clone()],
        (_, Some(serde_json::Value::Array(vs))) => vs.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => return None,
    };
    (!values.is_empty()).then_some(values)
}

/// Ordered parameters where setting a key again replaces its value in place (borrowed
/// from the configuration and the builder: nothing is copied).
#[derive(Default)]
struct Extras<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Extras<'a> {
    fn set(&mut self, key: &'a str, value: &'a str) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// The secrets of one authorization request, drawn with a single call to the source.
struct Secrets {
    state: Nonce,
    nonce: Option<Nonce>,
    code_verifier: Option<PkceVerifier>,
}

impl Secrets {
    /// One `rng.fill` for `state`, `nonce` (when `openid`) and the PKCE verifier's bytes
    /// (when `pkce`); the verifier's part is drawn again only if rejection sampling runs
    /// out of accepted bytes.
    fn draw(rng: &dyn SecureRandom, openid: bool, pkce: bool) -> Result<Self, Error> {
        let mut buf = [0u8; 2 * STATE_BYTES + PKCE_POOL];
        let nonce_len = if openid { STATE_BYTES } else { 0 };
        let pool_len = if pkce { PKCE_POOL } else { 0 };
        let used = &mut buf[..STATE_BYTES + nonce_len + pool_len];
        let drawn = rng.fill(used).and_then(|()| {
            let (state, rest) = used.split_at_mut(STATE_BYTES);
            let (nonce, pool) = rest.split_at_mut(nonce_len);
            Ok(Secrets {
                state: Nonce::new(crate::jose::b64::encode(state)),
                nonce: openid.then(|| Nonce::new(crate::jose::b64::encode(nonce))),
                code_verifier: if pkce { Some(verifier_from(rng, pool)?) } else { None },
            })
        });
        buf.fill(0);
        drawn
    }
}

fn invalid(config: &ClientConfig, key: &str, expected: &str) -> Error {
    Error::Config(ConfigError::Invalid {
        client: config.name.clone(),
        key: key.to_owned(),
        expected: expected.to_owned(),
    })
}

/// RFC 6749 §3.1: the endpoint URI is absolute and "MUST NOT include a fragment component".
fn absolute_without_fragment(text: &str) -> Option<url::Url> {
    url::Url::parse(text).ok().filter(|u| u.fragment().is_none() && !u.cannot_be_a_base())
}

/// A query parameter rpkit sends.
#[derive(Debug, Clone, Copy)]
struct Pair<'p> {
    name: &'p str,
    value: &'p str,
    /// Both are made only of characters `application/x-www-form-urlencoded` leaves as
    /// they are, so they are copied without a scan.
    plain: bool,
}

impl<'p> Pair<'p> {
    fn new(name: &'p str, value: &'p str) -> Self {
        Pair { name, value, plain: false }
    }

    fn plain(name: &'p str, value: &'p str) -> Self {
        debug_assert!(name.bytes().chain(value.bytes()).all(is_form_plain), "{name}={value}");
        Pair { name, value, plain: true }
    }
}

/// A validated authorization endpoint.
enum Endpoint<'a> {
    /// Text that is already in the form the `url` crate would serialize it to and has no
    /// query: the parameters are appended to it directly (see [`is_plain_endpoint`]).
    Plain(&'a str),
    /// Anything else, parsed.
    Parsed(url::Url),
}

impl<'a> Endpoint<'a> {
    /// `text` as an endpoint, if it is an absolute URL without fragment.
    fn parse(text: &'a str) -> Option<Self> {
        if is_plain_endpoint(text) {
            return Some(Endpoint::Plain(text));
        }
        absolute_without_fragment(text).map(Endpoint::Parsed)
    }

    /// The endpoint with `ours` added to its query, exactly as [`append_query`] adds them.
    fn with_query(self, ours: &[Pair<'_>]) -> AuthorizationUrl {
        match self {
            Endpoint::Plain(text) => {
                let len = ours.iter().map(|p| p.name.len() + p.value.len() + 2).sum::<usize>();
                // Room for a few escapes (`redirect_uri` has about six) without regrowing.
                let mut out = String::with_capacity(text.len() + len + 48);
                out.push_str(text);
                let mut separator = "?";
                for pair in ours {
                    out.push_str(separator);
                    separator = "&";
                    if pair.plain {
                        out.push_str(pair.name);
                        out.push('=');
                        out.push_str(pair.value);
                    } else {
                        push_form_encoded(&mut out, pair.name);
                        out.push('=');
                        push_form_encoded(&mut out, pair.value);
                    }
                }
                AuthorizationUrl(out)
            }
            Endpoint::Parsed(mut url) => {
                append_query(&mut url, ours);
                AuthorizationUrl(url.into())
            }
        }
    }
}

/// Whether `text` is an `http(s)` URL without query or fragment that the `url` crate
/// would serialize unchanged, so that it needs no parse: a lowercase ASCII host name
/// (no IP address, no punycode label), an optional non-default port without leading
/// zeros, and a path of characters the path needs no escaping for, without `%` or dot
/// segments. Anything else (including every URL this rejects as an endpoint) is parsed.
fn is_plain_endpoint(text: &str) -> bool {
    let (rest, default_port) = if let Some(rest) = text.strip_prefix("https://") {
        (rest.as_bytes(), 443)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (rest.as_bytes(), 80)
    } else {
        return false;
    };
    let host_end = rest.iter().position(|&b| b == b'/' || b == b':').unwrap_or(rest.len());
    let Some((host, tail)) = rest.split_at_checked(host_end) else { return false };

    // Host: dot-separated non-empty labels of `a-z 0-9 -`, none punycode, the last one
    // starting with a letter (one starting with a digit could be read as IPv4).
    let mut label_start = 0;
    for (i, &b) in host.iter().enumerate() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {}
            b'.' if i > label_start => label_start = i + 1,
            _ => return false,
        }
        if i == label_start && host.get(i..i + 4) == Some(b"xn--") {
            return false;
        }
    }
    if !host.get(label_start).is_some_and(u8::is_ascii_lowercase) {
        return false;
    }

    // Port: a number without leading zero, in range and not the scheme's default.
    let path = match tail.strip_prefix(b":") {
        Some(port_and_path) => {
            let port_end = port_and_path.iter().position(|&b| b == b'/').unwrap_or(port_and_path.len());
            let Some((port, path)) = port_and_path.split_at_checked(port_end) else { return false };
            let number = port.iter().try_fold(0u32, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')).filter(|&n| n <= 65535)
            });
            if port.first().map_or(true, |&b| b == b'0') || number.map_or(true, |n| n == default_port) {
                return false;
            }
            path
        }
        None => tail,
    };

    // Path: absolute, characters that need no escaping (no `%`), no `.` or `..` segment.
    let mut segment_start = 0;
    for (i, &b) in path.iter().enumerate() {
        if !PATH_PLAIN[usize::from(b)] {
            return false;
        }
        if b == b'/' {
            if i > 0 && matches!(path.get(segment_start..i), Some(b".") | Some(b"..")) {
                return false;
            }
            segment_start = i + 1;
        }
    }
    path.first() == Some(&b'/') && !matches!(path.get(segment_start..), Some(b".") | Some(b".."))
}

/// Bytes a URL path keeps as they are, other than `%`: ASCII letters, digits and
/// `-._~!$&'()*+,;=:@/`.
const PATH_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        b += 1;
    }
    table
};

/// Whether `application/x-www-form-urlencoded` leaves byte `b` as it is: ASCII letters,
/// digits and `*-._`.
fn is_form_plain(b: u8) -> bool {
    FORM_PLAIN[usize::from(b)]
}

/// [`is_form_plain`] as a table.
const FORM_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
        b += 1;
    }
    table
};

/// `%00%01…%FF`: the escape of byte `b` is `ESCAPES[3 * b..3 * b + 3]`.
const ESCAPES: &str = {
    const BYTES: [u8; 768] = {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 768];
        let mut b = 0;
        while b < 256 {
            out[3 * b] = b'%';
            out[3 * b + 1] = HEX[b >> 4];
            out[3 * b + 2] = HEX[b & 0xf];
            b += 1;
        }
        out
    };
    match std::str::from_utf8(&BYTES) {
        Ok(text) => text,
        Err(_) => panic!("escapes are ASCII"),
    }
};

/// Appends `text` `application/x-www-form-urlencoded` (as `form_urlencoded::byte_serialize`):
/// ASCII letters, digits and `*-._` as they are, space as `+`, every other byte as `%XX`.
fn push_form_encoded(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if is_form_plain(b) {
            continue;
        }
        // `start..i` holds only ASCII bytes, so both ends are character boundaries.
        if let Some(run) = text.get(start..i) {
            out.push_str(run);
        }
        let at = 3 * usize::from(b);
        out.push_str(if b == b' ' { "+" } else { ESCAPES.get(at..at + 3).unwrap_or_default() });
        start = i + 1;
    }
    if let Some(run) = text.get(start..) {
        out.push_str(run);
    }
}

/// Appends `ours` to the endpoint's query. The endpoint's own parameters are kept, except
/// those with a name we send: RFC 6749 §3.1 forbids a parameter appearing twice, and ours
/// must be the one the provider sees.
fn append_query(url: &mut url::Url, ours: &[Pair<'_>]) {
    let sent_by_us = |name: &str| ours.iter().any(|o| o.name == name);
    let mut kept = Vec::new();
    if url.query().is_some() && url.query_pairs().any(|(k, _)| sent_by_us(&k)) {
        kept =
            url.query_pairs().filter(|(k, _)| !sent_by_us(k)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        url.set_query(None);
    }
    // One serializer for everything: the URL's query is finished once.
    let mut q = url.query_pairs_mut();
    for (k, v) in &kept {
        q.append_pair(k, v);
    }
    for pair in ours {
        q.append_pair(pair.name, pair.value);
    }
}

/// A fresh PKCE code verifier: [`PKCE_VERIFIER_LEN`] characters drawn uniformly from the
/// whole [RFC 7636 §4.1](https://www.rfc-editor.org/rfc/rfc7636#section-4.1) alphabet
/// (`A–Z a–z 0–9 - . _ ~`).
///
/// Bytes are drawn from `rng` and those ≥ 198 (3 × 66) are rejected, so every character is
/// equally likely (about 260 bits of entropy).
///
/// ```
/// use rpkit::authorize::{pkce_verifier, PKCE_VERIFIER_LEN};
/// use rpkit::rand::SystemRandom;
/// let v = pkce_verifier(&SystemRandom::new())?;
/// assert_eq!(v.secret().len(), PKCE_VERIFIER_LEN);
/// # Ok::<(), rpkit::Error>(())
/// ```
///
/// # Errors
/// [`Error::Random`] when the source fails, or keeps producing only rejected bytes.
pub fn pkce_verifier(rng: &dyn SecureRandom) -> Result<PkceVerifier, Error> {
    let mut pool = [0u8; PKCE_POOL];
    let verifier = rng.fill(&mut pool).and_then(|()| verifier_from(rng, &mut pool));
    pool.fill(0);
    verifier
}

/// A verifier from the random bytes in `pool`, refilling `pool` from `rng` while fewer than
/// [`PKCE_VERIFIER_LEN`] bytes have been accepted.
fn verifier_from(rng: &dyn SecureRandom, pool: &mut [u8]) -> Result<PkceVerifier, Error> {
    // Byte → character, 0 for a rejected byte (≥ 198): a lookup instead of a division.
    const CHAR_OF: [u8; 256] = {
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < 3 * PKCE_ALPHABET.len() {
            table[b] = PKCE_ALPHABET[b % PKCE_ALPHABET.len()];
            b += 1;
        }
        table
    };
    let mut out = [0u8; PKCE_VERIFIER_LEN];
    let mut len = 0;
    // A healthy source accepts 77 % of bytes; 32 rounds without enough accepted bytes
    // means the source is broken, which must not become an endless loop.
    for round in 0..32 {
        if round > 0 {
            rng.fill(pool)?;
        }
        for &b in pool.iter() {
            let c = CHAR_OF[usize::from(b)];
            if c != 0 {
                let Some(slot) = out.get_mut(len) else { break };
                *slot = c;
                len += 1;
            }
        }
        if len == PKCE_VERIFIER_LEN {
            // Every byte comes from the ASCII alphabet.
            let verifier = std::str::from_utf8(&out).map(PkceVerifier::new).map_err(|_| Error::Random);
            out.fill(0);
            return verifier;
        }
    }
    Err(Error::Random)
}

/// The S256 code challenge of `verifier`: `BASE64URL(SHA256(ASCII(verifier)))`
/// ([RFC 7636 §4.2](https://www.rfc-editor.org/rfc/rfc7636#section-4.2)).
///
/// ```
/// use rpkit::authorize::pkce_challenge;
/// use rpkit::secret::PkceVerifier;
/// // RFC 7636 Appendix B
/// let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(pkce_challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
pub fn pkce_challenge(verifier: &PkceVerifier) -> String {
    crate::jose::b64::encode(digest::digest(&digest::SHA256, verifier.secret().as_bytes()).as_ref())
}

/// The authorization URL the browser is sent to: the endpoint with the request's query.
///
/// A checked URL string (it always parses as a `url::Url` with the same serialization);
/// use it as the `Location` of a redirect with [`as_str`](Self::as_str), or turn it into
/// a [`url::Url`] with [`to_url`](Self::to_url) to inspect it. It carries the `state`,
/// `nonce` and PKCE `code_challenge` (never the verifier).
///
/// ```
/// use rpkit::authorize::AuthorizationRequest;
/// use rpkit::config::ClientConfig;
/// use rpkit::rand::ThreadRandom;
/// use rpkit::UnixTime;
///
/// let config = ClientConfig::new("corp").client_id("my-app").authorize_url("https://op.example/authorize");
/// let (url, _pending) = AuthorizationRequest::new(&config).build(&ThreadRandom::new(), UnixTime::from_secs(1_700_000_000))?;
/// let location: &str = url.as_str();
/// assert_eq!(url.to_url().as_str(), location);
/// assert_eq!(url.to_url().host_str(), Some("op.example"));
/// assert_eq!(url.to_string(), location);
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthorizationUrl(String);

/// The URL with the values of `state`, `nonce` and `code_challenge` replaced: they bind
/// the browser's session to this login, and a log that keeps them helps forge a callback.
/// A request object (`request`, RFC 9101) carries them too, and a pushed `request_uri`
/// (RFC 9126) stands for them: both are replaced as well.
impl fmt::Debug for AuthorizationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, query) = self.0.split_once('?').unwrap_or((self.0.as_str(), ""));
        let mut shown = String::with_capacity(self.0.len());
        shown.push_str(head);
        for (i, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            shown.push(if i == 0 { '?' } else { '&' });
            match pair.split_once('=') {
                Some((name, _)) if matches!(name, "state" | "nonce" | "code_challenge" | "request" | "request_uri") => {
                    shown.push_str(name);
                    shown.push_str("=[redacted]");
                }
                _ => shown.push_str(pair),
            }
        }
        f.debug_tuple("AuthorizationUrl").field(&shown).finish()
    }
}

impl AuthorizationUrl {
    /// A URL built elsewhere in the core (PAR, request objects) from a checked endpoint.
    pub(crate) fn from_checked(url: url::Url) -> Self {
        AuthorizationUrl(url.into())
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The URL parsed (a parse of the whole URL, about 1 µs).
    pub fn to_url(&self) -> url::Url {
        // Built from a parsed (or parse-equivalent) endpoint and a form-encoded query.
        url::Url::parse(&self.0).unwrap_or_else(|e| unreachable!("an AuthorizationUrl always parses: {e}"))
    }
}

impl fmt::Display for AuthorizationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AuthorizationUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<AuthorizationUrl> for String {
    fn from(url: AuthorizationUrl) -> String {
        url.0
    }
}

impl From<AuthorizationUrl> for url::Url {
    fn from(url: AuthorizationUrl) -> url::Url {
        url.to_url()
    }
}

impl PartialEq<str> for AuthorizationUrl {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AuthorizationUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What must survive from the authorization request to the callback: `state`, `nonce`,
/// PKCE verifier, redirect URI, scope, `max_age`, issue time and client name.
///
/// It is `serde` data that the web framework keeps in the session (inside a
/// [`PendingSet`]); field names are abbreviated because sessions often live in cookies.
/// It is not `Clone` (it holds the single-use PKCE verifier) and its `Debug` redacts the
/// state, nonce and verifier.
///
/// ```
/// use rpkit::authorize::{AuthorizationRequest, PendingAuthorization};
/// use rpkit::config::ClientConfig;
/// use rpkit::rand::SystemRandom;
/// use rpkit::UnixTime;
///
/// let config = ClientConfig::new("github").client_id("id").authorize_url("https://github.com/login/oauth/authorize");
/// let (_url, pending) = AuthorizationRequest::new(&config).build(&SystemRandom::new(), UnixTime::from_secs(1_700_000_000))?;
/// let stored = serde_json::to_string(&pending).unwrap();
/// let back: PendingAuthorization = serde_json::from_str(&stored).unwrap();
/// assert_eq!(back.client(), "github");
/// assert!(!format!("{back:?}").contains(back.state().secret()));
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingAuthorization {
    #[serde(rename = "c")]
    client: String,
    #[serde(rename = "s")]
    state: Nonce,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    nonce: Option<Nonce>,
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    code_verifier: Option<PkceVerifier>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<String>,
    #[serde(rename = "sc", default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(rename = "ma", default, skip_serializing_if = "Option::is_none")]
    max_age: Option<u64>,
    #[serde(rename = "t")]
    created_at: UnixTime,
    #[serde(rename = "rm", default, skip_serializing_if = "Option::is_none")]
    response_mode: Option<String>,
    #[serde(rename = "ea", default, skip_serializing_if = "Option::is_none")]
    essential_acr: Option<Vec<String>>,
}

impl PendingAuthorization {
    /// The registered name of the client that made the request.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The `state` sent.
    pub fn state(&self) -> &Nonce {
        &self.state
    }

    /// The `nonce` sent (OpenID Connect requests only).
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// The PKCE code verifier, for the token request (absent when PKCE is disabled).
    pub fn code_verifier(&self) -> Option<&PkceVerifier> {
        self.code_verifier.as_ref()
    }

    /// The PKCE code verifier, moved out for the token request (it is single-use).
    pub fn take_code_verifier(&mut self) -> Option<PkceVerifier> {
        self.code_verifier.take()
    }

    /// The `redirect_uri` sent, which the token request must repeat (RFC 6749 §4.1.3).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// The `scope` sent.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether the scope sent contains `openid`.
    pub fn is_openid(&self) -> bool {
        self.scope.as_deref().is_some_and(|s| s.split_ascii_whitespace().any(|x| x == "openid"))
    }

    /// The `acr` values the `claims` request parameter asked for as essential in the ID
    /// token (`{"id_token":{"acr":{"essential":true,"values":[…]}}}`), so that the ID
    /// token's `acr` is checked against them.
    pub fn essential_acr(&self) -> Option<&[String]> {
        self.essential_acr.as_deref()
    }

    /// The `max_age` sent, so that the ID token's `auth_time` is checked against it.
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// When the request was built.
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }

    /// The `response_mode` asked for, if any.
    pub fn response_mode(&self) -> Option<&str> {
        self.response_mode.as_deref()
    }
}

/// The pending authorizations of one session: a [`PendingStore`] (bounded, expiring,
/// single-use, constant-time) of [`PendingAuthorization`]s, keyed by `state`.
///
/// Several logins may be in flight in one browser (two tabs, two providers); each gets an
/// entry. It serializes as a plain JSON array of compact entries.
pub type PendingSet = PendingStore<PendingAuthorization>;

impl Pending for PendingAuthorization {
    fn key(&self) -> &str {
        self.state.secret()
    }

    fn created_at(&self) -> UnixTime {
        self.created_at
    }
}

impl PendingStore<PendingAuthorization> {
    /// The capacity configured for `config` (`client_kwargs.max_pending`, default
    /// [`DEFAULT_MAX_PENDING`]).
    pub fn max_for(config: &ClientConfig) -> usize {
        config.client_kwargs.max_pending.unwrap_or(DEFAULT_MAX_PENDING)
    }

    /// The lifetime in seconds configured for `config` (`client_kwargs.pending_ttl`,
    /// default [`DEFAULT_PENDING_TTL`]).
    pub fn ttl_for(config: &ClientConfig) -> u64 {
        config.client_kwargs.pending_ttl.unwrap_or(DEFAULT_PENDING_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StateError;
    use crate::rand::SeededRandom;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn config() -> ClientConfig {
        ClientConfig::new("corp")
            .client_id("my-app")
            .authorize_url("https://op.example/authorize")
            .redirect_uri("https://app.example/cb")
            .scope("openid email")
    }

    #[test]
    fn essential_acr_values_of_the_claims_parameter_are_remembered() {
        let claims = r#"{"id_token":{"acr":{"essential":true,"values":["phr","phrh"]}}}"#;
        let (_, pending) = build(AuthorizationRequest::new(&config()).param("claims", claims));
        assert_eq!(pending.essential_acr(), Some(&["phr".to_owned(), "phrh".to_owned()][..]));
        let one = r#"{"id_token":{"acr":{"essential":true,"value":"phr"}}}"#;
        let (_, pending) = build(AuthorizationRequest::new(&config()).param("claims", one));
        assert_eq!(pending.essential_acr(), Some(&["phr".to_owned()][..]));
        // Voluntary, missing or malformed: nothing to enforce.
        for voluntary in [r#"{"id_token":{"acr":{"values":["phr"]}}}"#, r#"{"userinfo":{}}"#, "not json"] {
            let (_, pending) = build(AuthorizationRequest::new(&config()).param("claims", voluntary));
            assert_eq!(pending.essential_acr(), None, "{voluntary}");
        }
        // It survives the session store.
        let (_, pending) = build(AuthorizationRequest::new(&config()).param("claims", one));
        let back: PendingAuthorization = serde_json::from_str(&serde_json::to_string(&pending).unwrap()).unwrap();
        assert_eq!(back.essential_acr(), Some(&["phr".to_owned()][..]));
    }

    #[test]
    fn authorization_url_debug_hides_state_nonce_and_challenge() {
        let (url, pending) = build(AuthorizationRequest::new(&config()));
        let debug = format!("{url:?}");
        assert!(!debug.contains(pending.state().secret()), "{debug}");
        assert!(!debug.contains(pending.nonce().unwrap().secret()), "{debug}");
        let challenge = query(&url).into_iter().find(|(k, _)| k == "code_challenge").unwrap().1;
        assert!(!debug.contains(&challenge), "{debug}");
        assert!(debug.contains("state=[redacted]") && debug.contains("client_id=my-app"), "{debug}");
    }

    #[test]
    fn a_plain_http_authorization_endpoint_is_refused() {
        let cfg = config().authorize_url("http://op.example/authorize");
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "authorize_url"));
        let loopback = config().authorize_url("http://localhost:8080/authorize");
        assert!(AuthorizationRequest::new(&loopback).build(&SeededRandom::new(1), NOW).is_ok());
    }

    fn query(url: &AuthorizationUrl) -> Vec<(String, String)> {
        url.to_url().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn query_map(url: &AuthorizationUrl) -> HashMap<String, String> {
        query(url).into_iter().collect()
    }

    fn build(req: AuthorizationRequest<'_>) -> (AuthorizationUrl, PendingAuthorization) {
        req.build(&SeededRandom::new(1), NOW).unwrap()
    }

    fn pending_at(seed: u64, t: UnixTime) -> PendingAuthorization {
        let cfg = config();
        AuthorizationRequest::new(&cfg).build(&SeededRandom::new(seed), t).unwrap().1
    }

    #[test]
    fn authorization_url_has_parameters_in_order() {
        let cfg = config();
        let (url, _) = build(AuthorizationRequest::new(&cfg).prompt("login"));
        let names: Vec<String> = query(&url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "prompt"
            ]
        );
        let q = query_map(&url);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "my-app");
        assert_eq!(q["redirect_uri"], "https://app.example/cb");
        assert_eq!(q["scope"], "openid email");
        assert_eq!(q["code_challenge_method"], "S256");
    }

    #[test]
    fn authorization_url_keeps_existing_endpoint_query() {
        let cfg = config().authorize_url("https://op.example/authorize?tenant=abc&x=1");
        let (url, _) = build(AuthorizationRequest::new(&cfg));
        let q = query(&url);
        assert_eq!(q[0], ("tenant".to_owned(), "abc".to_owned()));
        assert_eq!(q[1], ("x".to_owned(), "1".to_owned()));
        assert_eq!(q[2].0, "response_type");
    }

    #[test]
    fn endpoint_query_cannot_smuggle_a_second_state_or_client_id() {
        let cfg = config().authorize_url("https://op.example/authorize?state=evil&tenant=abc&client_id=other");
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        let q = query(&url);
        assert_eq!(q.iter().filter(|(k, _)| k == "state").count(), 1);
        assert_eq!(q.iter().filter(|(k, _)| k == "client_id").count(), 1);
        assert_eq!(q[0], ("tenant".to_owned(), "abc".to_owned()));
        let q = query_map(&url);
        assert_eq!(q["state"], pending.state().secret());
        assert_eq!(q["client_id"], "my-app");
    }

    #[test]
    fn configured_authorize_url_wins_over_metadata() {
        let cfg = config();
        let meta = ProviderMetadata {
            issuer: "https://op.example".into(),
            authorization_endpoint: Some("https://other.example/auth".into()),
            ..Default::default()
        };
        let (url, _) = build(AuthorizationRequest::new(&cfg).metadata(&meta));
        assert_eq!(url.to_url().host_str(), Some("op.example"));
    }

    #[test]
    fn metadata_authorization_endpoint_is_used_when_not_configured() {
        let mut cfg = config();
        cfg.authorize_url = None;
        let meta = ProviderMetadata {
            issuer: "https://op.example".into(),
            authorization_endpoint: Some("https://op.example/oauth2/auth".into()),
            ..Default::default()
        };
        let (url, _) = build(AuthorizationRequest::new(&cfg).metadata(&meta));
        assert_eq!(url.to_url().path(), "/oauth2/auth");
    }

    #[test]
    fn missing_endpoint_is_a_config_error() {
        let mut cfg = config();
        cfg.authorize_url = None;
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(err, Error::Config(ConfigError::Missing { client: "corp".into(), key: "authorize_url".into() }));
    }

    #[test]
    fn malformed_endpoints_are_rejected() {
        let cfg = config().authorize_url("/relative/path");
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { ref key, .. }) if key == "authorize_url"));

        let cfg = config().authorize_url("https://op.example/authorize#frag");
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { .. })));

        let mut cfg = config();
        cfg.authorize_url = None;
        let meta = ProviderMetadata { authorization_endpoint: Some("not a url".into()), ..Default::default() };
        let err = AuthorizationRequest::new(&cfg).metadata(&meta).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
    }

    #[test]
    fn missing_client_id_is_a_config_error() {
        let mut cfg = config();
        cfg.client_id = None;
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(err, Error::Config(ConfigError::Missing { client: "corp".into(), key: "client_id".into() }));
    }

    #[test]
    fn state_and_nonce_are_256_bit_url_safe_and_recorded() {
        let cfg = config();
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        let q = query_map(&url);
        for value in [&q["state"], &q["nonce"]] {
            assert_eq!(crate::jose::b64::decode(value).map(|b| b.len()), Some(STATE_BYTES));
        }
        assert_eq!(q["state"], pending.state().secret());
        assert_eq!(Some(q["nonce"].as_str()), pending.nonce().map(Nonce::secret));
        assert_ne!(q["state"], q["nonce"]);
    }

    #[test]
    fn nonce_is_sent_only_for_openid_scopes() {
        let cfg = config().scope("user:email");
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        assert!(!query_map(&url).contains_key("nonce"));
        assert!(pending.nonce().is_none());
        assert!(!pending.is_openid());

        let (url, pending) = build(AuthorizationRequest::new(&cfg).scope("profile openid"));
        assert!(query_map(&url).contains_key("nonce"));
        assert!(pending.is_openid());
        assert_eq!(pending.scope(), Some("profile openid"));
    }

    #[test]
    fn openid_must_be_a_whole_scope_token_to_ask_for_a_nonce() {
        let cfg = config().scope("openidx notopenid");
        let (url, _) = build(AuthorizationRequest::new(&cfg));
        assert!(!query_map(&url).contains_key("nonce"));
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(pkce_challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn pkce_challenge_in_url_is_derived_from_the_stored_verifier() {
        let cfg = config();
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        let verifier = pending.code_verifier().unwrap();
        assert_eq!(query_map(&url)["code_challenge"], pkce_challenge(verifier));
    }

    #[test]
    fn pkce_verifier_uses_the_full_unreserved_alphabet() {
        let rng = SeededRandom::new(9);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let v = pkce_verifier(&rng).unwrap();
            assert_eq!(v.secret().len(), PKCE_VERIFIER_LEN);
            assert!((43..=128).contains(&v.secret().len()));
            for b in v.secret().bytes() {
                assert!(PKCE_ALPHABET.contains(&b), "byte {b} outside the RFC 7636 alphabet");
                seen.insert(b);
            }
        }
        assert_eq!(seen.len(), PKCE_ALPHABET.len(), "every alphabet character eventually appears");
        assert_ne!(pkce_verifier(&rng).unwrap().secret(), pkce_verifier(&rng).unwrap().secret());
    }

    #[test]
    fn build_draws_randomness_once_and_refills_only_pkce_when_rejection_runs_out() {
        struct Counting(std::sync::atomic::AtomicUsize, bool);
        impl SecureRandom for Counting {
            fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
                let call = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.1 && call == 0 {
                    // The first draw yields only bytes the PKCE sampling rejects.
                    dest.fill(0xff);
                } else {
                    for (i, b) in dest.iter_mut().enumerate() {
                        *b = i as u8;
                    }
                }
                Ok(())
            }
        }
        let cfg = config();
        let rng = Counting(0.into(), false);
        let (url, pending) = AuthorizationRequest::new(&cfg).build(&rng, NOW).unwrap();
        assert_eq!(rng.0.into_inner(), 1);
        // state, nonce and the verifier's pool are consecutive slices of the one draw.
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(pending.state().secret(), crate::jose::b64::encode(&bytes[..32]));
        assert_eq!(pending.nonce().unwrap().secret(), crate::jose::b64::encode(&bytes[32..64]));
        let expected: String =
            bytes[64..64 + PKCE_VERIFIER_LEN].iter().map(|&b| PKCE_ALPHABET[usize::from(b) % 66] as char).collect();
        assert_eq!(pending.code_verifier().unwrap().secret(), expected);
        assert_eq!(query_map(&url)["code_challenge"], pkce_challenge(pending.code_verifier().unwrap()));

        let rng = Counting(0.into(), true);
        let (_, pending) = AuthorizationRequest::new(&cfg).build(&rng, NOW).unwrap();
        assert_eq!(rng.0.into_inner(), 2);
        assert_eq!(pending.code_verifier().unwrap().secret().len(), PKCE_VERIFIER_LEN);
    }

    #[test]
    fn build_and_pkce_verifier_fail_on_a_source_that_only_yields_rejected_bytes() {
        struct Stuck;
        impl SecureRandom for Stuck {
            fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
                dest.fill(0xff);
                Ok(())
            }
        }
        let cfg = config();
        assert_eq!(AuthorizationRequest::new(&cfg).build(&Stuck, NOW).unwrap_err(), Error::Random);
        assert_eq!(pkce_verifier(&Stuck).unwrap_err(), Error::Random);
    }

    #[test]
    fn random_source_failure_is_reported() {
        struct Broken;
        impl SecureRandom for Broken {
            fn fill(&self, _: &mut [u8]) -> Result<(), Error> {
                Err(Error::Random)
            }
        }
        let cfg = config();
        assert_eq!(AuthorizationRequest::new(&cfg).build(&Broken, NOW).unwrap_err(), Error::Random);
    }

    #[test]
    fn pkce_can_be_disabled() {
        let mut cfg = config();
        cfg.client_kwargs.code_challenge_method = CodeChallengeMethod::Disabled;
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        let q = query_map(&url);
        assert!(!q.contains_key("code_challenge"));
        assert!(!q.contains_key("code_challenge_method"));
        assert!(pending.code_verifier().is_none());
    }

    #[test]
    fn same_seed_gives_the_same_url() {
        let cfg = config();
        let (a, _) = build(AuthorizationRequest::new(&cfg));
        let (b, _) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(a, b);
    }

    #[test]
    fn redirect_uri_per_call_wins_then_config_then_client_kwargs() {
        let mut cfg = config();
        cfg.client_kwargs.redirect_uri = Some("https://app.example/kwargs".into());
        let (url, pending) = build(AuthorizationRequest::new(&cfg).redirect_uri("https://app.example/call"));
        assert_eq!(query_map(&url)["redirect_uri"], "https://app.example/call");
        assert_eq!(pending.redirect_uri(), Some("https://app.example/call"));

        let (url, _) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(query_map(&url)["redirect_uri"], "https://app.example/cb");

        cfg.redirect_uri = None;
        let (url, _) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(query_map(&url)["redirect_uri"], "https://app.example/kwargs");
    }

    #[test]
    fn redirect_uri_may_be_absent() {
        let mut cfg = config();
        cfg.redirect_uri = None;
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        assert!(!query_map(&url).contains_key("redirect_uri"));
        assert!(pending.redirect_uri().is_none());
    }

    #[test]
    fn per_call_extras_win_over_authorize_params() {
        let cfg = config().authorize_param("prompt", "consent").authorize_param("access_type", "offline");
        let (url, _) = build(AuthorizationRequest::new(&cfg).prompt("login").param("hd", "example.com"));
        let q = query(&url);
        assert_eq!(q.iter().filter(|(k, _)| k == "prompt").count(), 1);
        let q = query_map(&url);
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["hd"], "example.com");
    }

    #[test]
    fn reserved_parameters_cannot_be_overridden() {
        for key in RESERVED_PARAMS {
            let cfg = config().authorize_param(key, "x");
            let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
            assert!(
                matches!(&err, Error::Config(ConfigError::Invalid { key: k, .. }) if *k == format!("authorize_params.{key}")),
                "{key}: {err:?}"
            );

            let cfg = config();
            let err = AuthorizationRequest::new(&cfg).param(key, "x").build(&SeededRandom::new(1), NOW).unwrap_err();
            assert!(matches!(&err, Error::Config(ConfigError::Invalid { key: k, .. }) if k == key), "{key}: {err:?}");
        }
    }

    #[test]
    fn max_age_and_response_mode_are_sent_and_remembered() {
        let cfg = config();
        let (url, pending) = build(AuthorizationRequest::new(&cfg).max_age(300).response_mode("form_post"));
        let q = query_map(&url);
        assert_eq!(q["max_age"], "300");
        assert_eq!(q["response_mode"], "form_post");
        assert_eq!(pending.max_age(), Some(300));
        assert_eq!(pending.response_mode(), Some("form_post"));
    }

    #[test]
    fn max_age_from_authorize_params_is_remembered_and_must_be_a_number() {
        let cfg = config().authorize_param("max_age", "60");
        let (_, pending) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(pending.max_age(), Some(60));

        let cfg = config().authorize_param("max_age", "soon");
        let err = AuthorizationRequest::new(&cfg).build(&SeededRandom::new(1), NOW).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Invalid { ref key, .. }) if key == "max_age"));
    }

    #[test]
    fn response_mode_comes_from_client_kwargs_unless_set_per_call() {
        let mut cfg = config();
        cfg.client_kwargs.response_mode = Some("form_post".into());
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(query_map(&url)["response_mode"], "form_post");
        assert_eq!(pending.response_mode(), Some("form_post"));

        let (url, pending) = build(AuthorizationRequest::new(&cfg).response_mode("query"));
        assert_eq!(query(&url).iter().filter(|(k, _)| k == "response_mode").count(), 1);
        assert_eq!(pending.response_mode(), Some("query"));
    }

    #[test]
    fn scope_in_authorize_params_or_param_is_the_scope_sent_and_remembered() {
        let cfg = config().scope("email").authorize_param("scope", "openid profile");
        let (url, pending) = build(AuthorizationRequest::new(&cfg));
        let q = query(&url);
        assert_eq!(q.iter().filter(|(k, _)| k == "scope").count(), 1);
        assert!(query_map(&url).contains_key("nonce"));
        assert_eq!(pending.scope(), Some("openid profile"));

        let (_, pending) = build(AuthorizationRequest::new(&cfg).param("scope", "email"));
        assert_eq!(pending.scope(), Some("email"));
        assert!(pending.nonce().is_none());
    }

    #[test]
    fn all_oidc_extras_are_sent() {
        let cfg = config();
        let (url, _) = build(
            AuthorizationRequest::new(&cfg)
                .login_hint("a@b.example")
                .acr_values("urn:mace:loa:2")
                .ui_locales("fr-CA fr"),
        );
        let q = query_map(&url);
        assert_eq!(q["login_hint"], "a@b.example");
        assert_eq!(q["acr_values"], "urn:mace:loa:2");
        assert_eq!(q["ui_locales"], "fr-CA fr");
    }

    #[test]
    fn pending_records_client_and_time() {
        let cfg = config();
        let (_, pending) = build(AuthorizationRequest::new(&cfg));
        assert_eq!(pending.client(), "corp");
        assert_eq!(pending.created_at(), NOW);
    }

    #[test]
    fn pending_debug_redacts_state_nonce_and_verifier() {
        let cfg = config();
        let (_, pending) = build(AuthorizationRequest::new(&cfg));
        let dbg = format!("{pending:?}");
        assert!(!dbg.contains(pending.state().secret()));
        assert!(!dbg.contains(pending.nonce().unwrap().secret()));
        assert!(!dbg.contains(pending.code_verifier().unwrap().secret()));
    }

    #[test]
    fn pending_round_trips_through_compact_json() {
        let cfg = config();
        let (_, pending) = build(AuthorizationRequest::new(&cfg).max_age(5));
        let json = serde_json::to_string(&pending).unwrap();
        assert!(json.len() < 300, "{} bytes: {json}", json.len());
        let back: PendingAuthorization = serde_json::from_str(&json).unwrap();
        assert_eq!(back.state(), pending.state());
        assert_eq!(back.nonce(), pending.nonce());
        assert_eq!(back.code_verifier(), pending.code_verifier());
        assert_eq!(back.redirect_uri(), pending.redirect_uri());
        assert_eq!(back.max_age(), Some(5));
        assert_eq!(back.created_at(), NOW);
    }

    #[test]
    fn take_code_verifier_moves_it_out() {
        let mut p = pending_at(1, NOW);
        assert!(p.take_code_verifier().is_some());
        assert!(p.code_verifier().is_none());
    }

    #[test]
    fn pending_set_takes_the_matching_entry_once() {
        let mut set = PendingSet::new();
        let a = pending_at(1, NOW);
        let b = pending_at(2, NOW);
        let sb = b.state().secret().to_owned();
        set.insert(a, 8);
        set.insert(b, 8);
        let got = set.take(Some(&sb), NOW.plus(1), 600).unwrap();
        assert_eq!(got.state().secret(), sb);
        assert_eq!(set.len(), 1);
        assert_eq!(set.take(Some(&sb), NOW.plus(2), 600).unwrap_err(), StateError::Unknown { session_empty: false });
    }

    #[test]
    fn pending_set_drops_oldest_past_capacity() {
        let mut set = PendingSet::new();
        let states: Vec<String> = (0..4)
            .map(|i| {
                let p = pending_at(i, NOW.plus(i));
                let s = p.state().secret().to_owned();
                set.insert(p, 3);
                s
            })
            .collect();
        assert_eq!(set.len(), 3);
        assert_eq!(
            set.take(Some(&states[0]), NOW.plus(10), 600).unwrap_err(),
            StateError::Unknown { session_empty: false }
        );
        for s in &states[1..] {
            assert!(set.take(Some(s), NOW.plus(10), 600).is_ok());
        }
        assert!(set.is_empty());
    }

    #[test]
    fn pending_set_capacity_zero_still_keeps_the_new_entry() {
        let mut set = PendingSet::new();
        set.insert(pending_at(1, NOW), 0);
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn pending_set_capacity_and_ttl_come_from_client_kwargs() {
        let mut cfg = config();
        assert_eq!(PendingSet::max_for(&cfg), DEFAULT_MAX_PENDING);
        assert_eq!(PendingSet::ttl_for(&cfg), DEFAULT_PENDING_TTL);
        cfg.client_kwargs.max_pending = Some(2);
        cfg.client_kwargs.pending_ttl = Some(60);
        assert_eq!(PendingSet::max_for(&cfg), 2);
        assert_eq!(PendingSet::ttl_for(&cfg), 60);
    }

    #[test]
    fn expired_state_is_rejected_with_expired_and_removed() {
        let mut set = PendingSet::new();
        let p = pending_at(1, NOW);
        let s = p.state().secret().to_owned();
        set.insert(p, 8);
        assert_eq!(set.take(Some(&s), NOW.plus(601), 600).unwrap_err(), StateError::Expired);
        assert!(set.is_empty());
    }

    #[test]
    fn state_at_exactly_the_ttl_is_still_accepted() {
        let mut set = PendingSet::new();
        let p = pending_at(1, NOW);
        let s = p.state().secret().to_owned();
        set.insert(p, 8);
        assert!(set.take(Some(&s), NOW.plus(600), 600).is_ok());
    }

    #[test]
    fn missing_or_empty_state_is_rejected_with_missing() {
        let mut set = PendingSet::new();
        set.insert(pending_at(1, NOW), 8);
        assert_eq!(set.take(None, NOW, 600).unwrap_err(), StateError::Missing);
        assert_eq!(set.take(Some(""), NOW, 600).unwrap_err(), StateError::Missing);
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn unknown_state_says_whether_the_session_was_empty() {
        let mut set = PendingSet::new();
        assert_eq!(set.take(Some("abc"), NOW, 600).unwrap_err(), StateError::Unknown { session_empty: true });
        set.insert(pending_at(1, NOW), 8);
        assert_eq!(set.take(Some("abc"), NOW, 600).unwrap_err(), StateError::Unknown { session_empty: false });
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn prune_expired_keeps_fresh_entries() {
        let mut set = PendingSet::new();
        set.insert(pending_at(1, NOW), 8);
        set.insert(pending_at(2, NOW.plus(500)), 8);
        set.prune_expired(NOW.plus(700), 600);
        assert_eq!(set.len(), 1);
        assert_eq!(set.iter().next().map(PendingAuthorization::created_at), Some(NOW.plus(500)));
    }

    #[test]
    fn pending_set_serializes_compactly_and_round_trips() {
        let mut set = PendingSet::new();
        for i in 0..8 {
            set.insert(pending_at(i, NOW), 8);
        }
        let json = serde_json::to_string(&set).unwrap();
        assert!(json.starts_with('['));
        assert!(json.len() < 8 * 300, "{} bytes", json.len());
        let back: PendingSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), 8);
    }

    /// The URL the old code produced: parse the endpoint, append through `url`'s serializer.
    fn reference_url(text: &str, ours: &[Pair<'_>]) -> Option<String> {
        let mut url = absolute_without_fragment(text)?;
        append_query(&mut url, ours);
        Some(url.into())
    }

    #[test]
    fn plain_endpoints_skip_the_parse_and_others_do_not() {
        for text in [
            "https://op.example/authorize",
            "https://op.example/",
            "http://localhost:8080/oauth2/v1/authorize",
            "https://login.example.com:8443/realms/x/protocol/openid-connect/auth",
            "https://a-b.c1.example/.well-known/x;y=z/@me~!$'()*+,",
        ] {
            assert!(is_plain_endpoint(text), "{text}");
        }
        for text in [
            "https://op.example",                 // serialized with a trailing `/`
            "https://op.example:443/authorize",   // default port dropped
            "http://op.example:80/authorize",     // default port dropped
            "https://op.example:0443/authorize",  // leading zero dropped
            "https://op.example:65536/authorize", // out of range
            "https://op.example:/authorize",      // empty port
            "https://OP.example/authorize",       // host lowercased
            "https://xn--nxasmq6b.example/a",     // punycode checked
            "https://127.0.0.1/authorize",        // IPv4
            "https://op.0x7f/authorize",          // could be IPv4
            "https://[::1]/authorize",            // IPv6
            "https://op..example/authorize",      // empty label
            "https://.op.example/authorize",      // empty label
            "https://op.example./authorize",      // empty label
            "https://op.example/a/../authorize",  // dot segment
            "https://op.example/a/./authorize",   // dot segment
            "https://op.example/a/..",            // dot segment
            "https://op.example/a%2e/authorize",  // percent-escape
            "https://op.example/a b",             // escaped space
            "https://op.example/a\\b",            // backslash is a slash
            "https://op.example/authorize?x=1",   // a query
            "https://op.example/authorize#f",     // a fragment
            "https://user@op.example/authorize",  // userinfo
            "HTTPS://op.example/authorize",       // scheme lowercased
            "ftp://op.example/authorize",
            "/authorize",
            "",
        ] {
            assert!(!is_plain_endpoint(text), "{text}");
        }
    }

    #[test]
    fn plain_and_parsed_endpoints_give_the_same_url() {
        let ours = [
            Pair::plain("response_type", "code"),
            Pair::new("client_id", "my app/ü"),
            Pair::new("redirect_uri", "https://app.example/cb?x=1&y=2"),
            Pair::plain("state", "abc-_XYZ019"),
            Pair::new("claims", "{\"id_token\":{\"acr\":null}} *-._~+%"),
        ];
        for text in ["https://op.example/authorize", "http://localhost:8080/a/b;c=d"] {
            assert!(matches!(Endpoint::parse(text), Some(Endpoint::Plain(_))));
            let url = Endpoint::parse(text).unwrap().with_query(&ours);
            assert_eq!(Some(url.as_str().to_owned()), reference_url(text, &ours));
            assert_eq!(url.to_url().as_str(), url.as_str());
        }
    }

    #[test]
    fn authorization_url_converts_to_text_and_to_url() {
        let cfg = config();
        let (url, _) = build(AuthorizationRequest::new(&cfg));
        let text = url.as_str().to_owned();
        assert_eq!(url.to_string(), text);
        assert_eq!(url.as_ref(), text);
        assert_eq!(url, text.as_str());
        assert_eq!(url.to_url().as_str(), text);
        assert_eq!(url::Url::from(url.clone()).as_str(), text);
        assert_eq!(String::from(url.clone()), text);
        assert_eq!(url.into_string(), text);
    }

    fn pair_strategy() -> impl Strategy<Value = (String, String)> {
        ("[a-z_]{1,8}|\\PC{0,6}", "\\PC{0,16}|[ -~]{0,16}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn form_encoding_matches_form_urlencoded(text in "\\PC{0,40}|[ -~]{0,40}|.{0,20}") {
            let mut out = String::from("x");
            push_form_encoded(&mut out, &text);
            let expected: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            prop_assert_eq!(&out[1..], expected.as_str());
        }

        #[test]
        fn plain_endpoints_are_what_url_serializes(
            text in prop_oneof![
                "https?://[a-z0-9-]{1,5}(\\.[a-z0-9.-]{0,5}){0,2}(:[0-9]{1,5})?(/[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,5}){0,3}",
                "(https?|HTTPS|ftp)://[a-z0-9.A-Z_-]{0,12}(:[0-9]{0,6})?(/[a-zA-Z0-9.%~!$&'()*+,;=:@_ \\\\|^`{}<>\"-]{0,6}){0,4}[?#]?",
            ],
        ) {
            if is_plain_endpoint(&text) {
                let url = url::Url::parse(&text);
                prop_assert!(url.is_ok(), "{} does not parse", text);
                let url = url.unwrap();
                prop_assert_eq!(url.as_str(), text.as_str());
                prop_assert!(url.query().is_none() && url.fragment().is_none() && !url.cannot_be_a_base());
            }
        }

        #[test]
        fn any_endpoint_text_never_panics(text in "\\PC{0,60}") {
            let _ = is_plain_endpoint(&text);
            let _ = Endpoint::parse(&text);
        }

        #[test]
        fn built_url_matches_the_url_serializer(
            endpoint in "https://(op|OP|op\\.example:443|op\\.example:8443|[a-z]{1,4}\\.ex)(/[a-zA-Z0-9._~%-]{0,6}){0,3}(\\?((state|tenant|client_id|x)=[a-z0-9%+]{0,4}&?){0,3})?",
            extras in proptest::collection::vec(pair_strategy(), 0..5),
            client_id in "\\PC{1,12}",
        ) {
            let mut ours = vec![
                Pair::plain("response_type", "code"),
                Pair::new("client_id", &client_id),
                Pair::plain("state", "s-_0aZ"),
                Pair::plain("code_challenge_method", "S256"),
            ];
            ours.extend(extras.iter().map(|(k, v)| Pair::new(k, v)));
            let ours = ours;
            let built = Endpoint::parse(&endpoint).map(|e| e.with_query(&ours).into_string());
            prop_assert_eq!(&built, &reference_url(&endpoint, &ours));
            if let Some(built) = built {
                prop_assert_eq!(url::Url::parse(&built).map(String::from).ok(), Some(built));
            }
        }
    }
}
