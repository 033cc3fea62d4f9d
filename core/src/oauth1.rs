//! OAuth 1.0a ([RFC 5849](https://www.rfc-editor.org/rfc/rfc5849)), sans-IO: request
//! signing and the three-legged flow, as Authlib's OAuth 1 client does it.
//!
//! ```text
//!   request_token_request(cfg, callback, rng, now) ──► POST request_token_url (signed)
//!   parse_request_token_response(resp)            ◄── oauth_token, oauth_token_secret, oauth_callback_confirmed=true
//!   authorization_url(cfg, &request_token, now)    ──► browser ─► authorize_url?oauth_token=…
//!            │ PendingOAuth1 (serde) → the session
//!   validate_callback(query, &mut pending, now, ttl) ◄── browser ◄─ redirect: oauth_token, oauth_verifier
//!   access_token_request(cfg, &pending, verifier, rng, now) ──► POST access_token_url (signed)
//!   parse_access_token_response(resp)              ◄── oauth_token, oauth_token_secret, user_id, …
//!   sign_request(&mut req, &credentials, method, placement, rng, now)   resource calls
//! ```
//!
//! Configuration uses Authlib's keys: `client_id` (the consumer key), `client_secret`,
//! `request_token_url`, `request_token_params`, `authorize_url`, `authorize_params`,
//! `access_token_url`, `access_token_params`, and in `client_kwargs` `signature_method`
//! (`HMAC-SHA1` by default, `RSA-SHA1` with `private_key` as PEM, `PLAINTEXT`) and
//! `signature_type` (`HEADER` by default, `QUERY`, `BODY`).
//!
//! A whole flow against a fake provider:
//!
//! ```
//! use rpkit::oauth1::{self, OAuth1Token};
//! use rpkit::{rand::SeededRandom, ClientConfig, UnixTime};
//!
//! let cfg = ClientConfig::from_value("twitter", &serde_json::json!({
//!     "client_id": "consumer-key",
//!     "client_secret": "consumer-secret",
//!     "request_token_url": "https://api.twitter.com/oauth/request_token",
//!     "authorize_url": "https://api.twitter.com/oauth/authenticate",
//!     "access_token_url": "https://api.twitter.com/oauth/access_token",
//! }))?;
//! let (rng, now) = (SeededRandom::new(7), UnixTime::from_secs(1_700_000_000));
//!
//! // 1. Temporary credentials.
//! let req = oauth1::request_token_request(&cfg, "https://app.example/authorize", &rng, now)?;
//! assert!(req.headers()["authorization"].to_str()?.starts_with("OAuth "));
//! let resp = http::Response::new("oauth_token=rt&oauth_token_secret=rs&oauth_callback_confirmed=true");
//! let request_token = oauth1::parse_request_token_response(&resp)?;
//!
//! // 2. Send the user to the provider; keep `pending` in the session.
//! let (url, pending) = oauth1::authorization_url(&cfg, &request_token, now)?;
//! assert_eq!(url.as_str(), "https://api.twitter.com/oauth/authenticate?oauth_token=rt");
//! let mut session = oauth1::PendingOAuth1Set::new();
//! session.insert(pending, 8);
//!
//! // 3. The provider redirects back: the entry is taken (single use).
//! let (pending, verifier) =
//!     oauth1::validate_callback("oauth_token=rt&oauth_verifier=v123", &mut session, now.plus(30), 600)?;
//! assert!(session.is_empty());
//!
//! // 4. Token credentials.
//! let req = oauth1::access_token_request(&cfg, &pending, &verifier, &rng, now.plus(31))?;
//! assert!(req.headers()["authorization"].to_str()?.contains("oauth_verifier=\"v123\""));
//! let resp = http::Response::new("oauth_token=at&oauth_token_secret=at-s3cret&screen_name=alice");
//! let token: OAuth1Token = oauth1::parse_access_token_response(&resp)?;
//! assert_eq!(token.extra["screen_name"], "alice");
//! assert!(!format!("{token:?}").contains("at-s3cret"));
//!
//! // 5. Signed resource calls.
//! let mut call = http::Request::get("https://api.twitter.com/1.1/account/verify_credentials.json").body(Vec::new())?;
//! let creds = oauth1::Credentials::from_config(&cfg)?.with_token(&token);
//! let (method, placement) = oauth1::signature_settings(&cfg)?;
//! oauth1::sign_request(&mut call, &creds, method, placement, &rng, now.plus(40))?;
//! assert!(call.headers()["authorization"].to_str()?.contains("oauth_token=\"at\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::config::ClientConfig;
use crate::error::{ConfigError, Endpoint, Error, ProviderError, StateError};
use crate::pending::{Pending, PendingStore};
use crate::rand::SecureRandom;
use crate::secret::{AccessToken, ClientSecret, OAuth1Verifier, PrivateKeyMaterial, TokenSecret};
use crate::time::UnixTime;
use base64ct::{Base64, Encoding};
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Why an OAuth 1.0a step was refused.
///
/// Never carries a token, a secret or a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuth1Error {
    /// `PLAINTEXT` sends the secrets themselves: refused over anything but `https`
    /// ([RFC 5849 §3.4.4](https://www.rfc-editor.org/rfc/rfc5849#section-3.4.4)).
    #[error("the PLAINTEXT signature method is only allowed over https")]
    PlaintextRequiresHttps,
    /// The request cannot be signed as it is (relative URI, non-HTTP scheme, body placement
    /// with a body that is not a form).
    #[error("the request cannot be signed: {reason}")]
    NotSignable {
        /// What is wrong.
        reason: &'static str,
    },
    /// The request-token response lacks `oauth_callback_confirmed=true`
    /// ([RFC 5849 §2.1](https://www.rfc-editor.org/rfc/rfc5849#section-2.1)): the provider
    /// may be an OAuth 1.0 (not 1.0a) server, open to session fixation.
    #[error("the request-token response does not confirm the callback (`oauth_callback_confirmed` is not `true`)")]
    CallbackNotConfirmed,
    /// The user refused authorization (Twitter's `denied=` callback).
    #[error("the user denied the authorization")]
    Denied,
    /// The callback has no `oauth_token`.
    #[error("the callback has no `oauth_token`")]
    MissingToken,
    /// The callback's `oauth_token` is not the pending request token.
    #[error("the callback's `oauth_token` does not match the pending request token")]
    TokenMismatch,
    /// The callback has no `oauth_verifier`.
    #[error("the callback has no `oauth_verifier`")]
    MissingVerifier,
    /// The pending authorization is older than its lifetime.
    #[error("the pending OAuth 1.0a authorization has expired")]
    Expired,
}

/// An OAuth 1.0a signature method ([RFC 5849 §3.4](https://www.rfc-editor.org/rfc/rfc5849#section-3.4)).
///
/// ```
/// use rpkit::oauth1::SignatureMethod;
/// assert_eq!(SignatureMethod::parse("RSA-SHA1"), Some(SignatureMethod::RsaSha1));
/// assert_eq!(SignatureMethod::default().as_str(), "HMAC-SHA1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureMethod {
    /// `HMAC-SHA1`, keyed by the client secret and token secret (§3.4.2). The default.
    #[default]
    HmacSha1,
    /// `RSA-SHA1` with the client's RSA private key (§3.4.3).
    RsaSha1,
    /// `PLAINTEXT`: the secrets themselves (§3.4.4); https only.
    Plaintext,
}

impl SignatureMethod {
    /// The registered name (`HMAC-SHA1`, `RSA-SHA1`, `PLAINTEXT`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::RsaSha1 => "RSA-SHA1",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }

    /// Parses a registered name (exact, as Authlib's constants).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "HMAC-SHA1" => SignatureMethod::HmacSha1,
            "RSA-SHA1" => SignatureMethod::RsaSha1,
            "PLAINTEXT" => SignatureMethod::Plaintext,
            _ => return None,
        })
    }
}

/// Where the protocol parameters go ([RFC 5849 §3.5](https://www.rfc-editor.org/rfc/rfc5849#section-3.5));
/// Authlib's `signature_type`.
///
/// ```
/// use rpkit::oauth1::Placement;
/// assert_eq!(Placement::parse("QUERY"), Some(Placement::Query));
/// assert_eq!(Placement::default(), Placement::Header);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    /// `Authorization: OAuth …` (§3.5.1). The default.
    #[default]
    Header,
    /// The request URI's query (§3.5.3).
    Query,
    /// A form-encoded body (§3.5.2).
    Body,
}

impl Placement {
    /// Authlib's name (`HEADER`, `QUERY`, `BODY`).
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Header => "HEADER",
            Placement::Query => "QUERY",
            Placement::Body => "BODY",
        }
    }

    /// Parses Authlib's name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "HEADER" => Placement::Header,
            "QUERY" => Placement::Query,
            "BODY" => Placement::Body,
            _ => return None,
        })
    }
}

/// The signature method and placement configured for `config` (`client_kwargs.signature_method`,
/// `client_kwargs.signature_type`; defaults `HMAC-SHA1` and `HEADER`).
///
/// # Errors
/// [`ConfigError::Invalid`] for an unknown name.
pub fn signature_settings(config: &ClientConfig) -> Result<(SignatureMethod, Placement), Error> {
    let kw = &config.client_kwargs;
    let method = match kw.signature_method.as_deref() {
        None => SignatureMethod::default(),
        Some(m) => SignatureMethod::parse(m)
            .ok_or_else(|| invalid(config, "client_kwargs.signature_method", "HMAC-SHA1, RSA-SHA1 or PLAINTEXT"))?,
    };
    let placement = match kw.signature_type.as_deref() {
        None => Placement::default(),
        Some(p) => Placement::parse(p)
            .ok_or_else(|| invalid(config, "client_kwargs.signature_type", "HEADER, QUERY or BODY"))?,
    };
    Ok((method, placement))
}

fn invalid(config: &ClientConfig, key: &str, expected: &str) -> Error {
    ConfigError::Invalid { client: config.name.clone(), key: key.to_owned(), expected: expected.to_owned() }.into()
}

/// What signs a request: the client credentials and, once obtained, a token and its secret
/// ([RFC 5849 §1.1](https://www.rfc-editor.org/rfc/rfc5849#section-1.1)). `Debug` hides
/// the secrets and the token.
///
/// ```
/// use rpkit::oauth1::Credentials;
/// let c = Credentials::new("consumer-key").client_secret("s3cret").token("t0ken", "t0ken-s3cret");
/// let debug = format!("{c:?}");
/// assert!(!debug.contains("s3cret") && !debug.contains("t0ken"));
/// ```
#[derive(Clone, Default)]
pub struct Credentials {
    /// The client's registered name (for configuration errors).
    pub name: String,
    /// The client identifier (`oauth_consumer_key`).
    pub client_id: String,
    /// The client shared secret (HMAC-SHA1, PLAINTEXT).
    pub client_secret: Option<ClientSecret>,
    /// The client's RSA private key in PEM (RSA-SHA1).
    pub rsa_key: Option<PrivateKeyMaterial>,
    /// `rsa_key` as parsed on first use, shared by clones and with the configuration the
    /// credentials came from: an RSA key's checks cost far more than the signature.
    parsed_rsa: std::sync::Arc<crate::config::KeyMemo<RsaSha1Key>>,
    /// The token identifier (`oauth_token`): temporary or token credentials.
    pub token: Option<String>,
    /// The token's shared secret.
    pub token_secret: Option<TokenSecret>,
    /// `realm` for the `Authorization` header (not signed, §3.5.1).
    pub realm: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("rsa_key", &self.rsa_key)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("token_secret", &self.token_secret)
            .field("realm", &self.realm)
            .finish()
    }
}

impl Credentials {
    /// Credentials with only a client identifier.
    pub fn new(client_id: impl Into<String>) -> Self {
        Credentials { name: "(unnamed)".into(), client_id: client_id.into(), ..Default::default() }
    }

    /// The client credentials of `config`: `client_id`, `client_secret`, `private_key`.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] without `client_id`.
    pub fn from_config(config: &ClientConfig) -> Result<Self, Error> {
        let client_id = config.client_id.clone().ok_or_else(|| config.missing("client_id"))?;
        Ok(Credentials {
            name: config.name.clone(),
            client_id,
            client_secret: config.client_secret.clone(),
            rsa_key: config.private_key.clone(),
            parsed_rsa: std::sync::Arc::clone(&config.parsed_keys.oauth1_rsa),
            ..Default::default()
        })
    }

    /// Sets the client secret.
    #[must_use]
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Sets the RSA private key (PEM).
    #[must_use]
    pub fn rsa_key(mut self, pem: impl Into<PrivateKeyMaterial>) -> Self {
        self.rsa_key = Some(pem.into());
        self
    }

    /// Sets the token and its secret.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>, secret: impl Into<TokenSecret>) -> Self {
        self.token = Some(token.into());
        self.token_secret = Some(secret.into());
        self
    }

    /// Sets the token credentials of an access token.
    #[must_use]
    pub fn with_token(self, token: &OAuth1Token) -> Self {
        self.token(token.token.secret(), token.token_secret.clone())
    }

    /// Sets the header `realm`.
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    fn missing(&self, key: &str) -> Error {
        ConfigError::Missing { client: self.name.clone(), key: key.to_owned() }.into()
    }
}

/// Percent-encodes `text` as RFC 5849 §3.6 requires: every byte but the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) as `%XX` with upper-case hex digits.
///
/// ```
/// assert_eq!(rpkit::oauth1::percent_encode("a b+é~"), "a%20b%2B%C3%A9~");
/// ```
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The signature base string of `request` with the protocol parameters `oauth`
/// ([RFC 5849 §3.4.1](https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1)): the method,
/// the base string URI (lower-case scheme and host, default port dropped, no query) and
/// the normalized parameters — the query's, a form body's (only with
/// `Content-Type: application/x-www-form-urlencoded`) and `oauth`, without `oauth_signature`
/// — each encoded, sorted and joined with `&`. Also what a server recomputes to verify.
///
/// # Errors
/// [`OAuth1Error::NotSignable`] for a relative URI or a scheme other than http(s).
pub fn signature_base_string<B: AsRef<[u8]>>(
    request: &Request<B>,
    oauth: &[(String, String)],
) -> Result<String, Error> {
    let uri = base_string_uri(request.uri())?;
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(q) = request.uri().query() {
        params.extend(url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (percent_encode(&k), percent_encode(&v))));
    }
    if is_form(request.headers()) {
        params.extend(
            url::form_urlencoded::parse(request.body().as_ref()).map(|(k, v)| (percent_encode(&k), percent_encode(&v))),
        );
    }
    params.extend(oauth.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))));
    // §3.4.1.3.1: `oauth_signature` is excluded wherever it appears.
    params.retain(|(k, _)| k != "oauth_signature");
    params.sort();
    let normalized = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    Ok(format!(
        "{}&{}&{}",
        percent_encode(&request.method().as_str().to_ascii_uppercase()),
        percent_encode(&uri),
        percent_encode(&normalized)
    ))
}

fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mt| mt.trim().eq_ignore_ascii_case(crate::wire::FORM_CONTENT_TYPE))
}

fn not_signable(reason: &'static str) -> Error {
    OAuth1Error::NotSignable { reason }.into()
}

/// §3.4.1.2: `scheme://host[:port]/path`, lower-case scheme and host, default port dropped.
fn base_string_uri(uri: &http::Uri) -> Result<String, Error> {
    let scheme = uri.scheme_str().ok_or_else(|| not_signable("the URI is not absolute"))?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(not_signable("the URI scheme is not http or https")),
    };
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| not_signable("the URI has no host"))?;
    let host = host.to_ascii_lowercase();
    let port = match uri.port_u16() {
        Some(p) if p != default_port => format!(":{p}"),
        _ => String::new(),
    };
    let path = match uri.path() {
        "" => "/",
        p => p,
    };
    Ok(format!("{scheme}://{host}{port}{path}"))
}

/// Signs `request` in place ([RFC 5849 §3](https://www.rfc-editor.org/rfc/rfc5849#section-3)):
/// adds `oauth_consumer_key`, `oauth_token` (when the credentials hold one),
/// `oauth_signature_method`, `oauth_timestamp` (`now`), `oauth_nonce` (from `rng`),
/// `oauth_version=1.0` and `oauth_signature`, in the `Authorization` header, the query or
/// the form body as `placement` says. Use it for resource calls with token credentials.
///
/// ```
/// use rpkit::oauth1::{sign_request, Credentials, Placement, SignatureMethod};
/// use rpkit::{rand::SeededRandom, UnixTime};
/// let creds = Credentials::new("key").client_secret("secret").token("tok", "tok-secret");
/// let mut req = http::Request::get("https://api.example/items?page=2").body(Vec::new()).unwrap();
/// sign_request(&mut req, &creds, SignatureMethod::HmacSha1, Placement::Query, &SeededRandom::new(1), UnixTime::from_secs(1))?;
/// assert!(req.uri().query().unwrap().starts_with("page=2&oauth_consumer_key=key&"));
/// # Ok::<(), rpkit::Error>(())
/// ```
///
/// # Errors
/// [`OAuth1Error::PlaintextRequiresHttps`]; [`OAuth1Error::NotSignable`] for a relative or
/// non-HTTP URI, or body placement with a body that is not a form; [`ConfigError::Missing`]
/// without the secret or key the method needs; [`ConfigError::Invalid`] for a key that is
/// not an RSA private key in PEM; [`Error::Random`].
///
/// # Security
/// `PLAINTEXT` sends the secrets as the signature and is refused over `http`. HMAC-SHA1 and
/// RSA-SHA1 are what RFC 5849 defines; SHA-1 is weak, use OAuth 2 where the provider offers it.
pub fn sign_request(
    request: &mut Request<Vec<u8>>,
    credentials: &Credentials,
    method: SignatureMethod,
    placement: Placement,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<(), Error> {
    sign_with(request, credentials, method, placement, &[], rng, now)
}

fn sign_with(
    request: &mut Request<Vec<u8>>,
    credentials: &Credentials,
    method: SignatureMethod,
    placement: Placement,
    extra: &[(&str, &str)],
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<(), Error> {
    // Fail before drawing randomness or building anything.
    base_string_uri(request.uri())?;
    if method == SignatureMethod::Plaintext
        && request.uri().scheme_str().map(str::to_ascii_lowercase).as_deref() != Some("https")
    {
        return Err(OAuth1Error::PlaintextRequiresHttps.into());
    }
    if placement == Placement::Body && !request.body().is_empty() && !is_form(request.headers()) {
        return Err(not_signable("body placement needs an application/x-www-form-urlencoded body"));
    }

    let mut nonce = [0u8; 16];
    rng.fill(&mut nonce)?;
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), credentials.client_id.clone()),
        ("oauth_signature_method".into(), method.as_str().into()),
        ("oauth_timestamp".into(), now.as_secs().to_string()),
        ("oauth_nonce".into(), crate::jose::b64::encode(&nonce)),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some(t) = &credentials.token {
        oauth.push(("oauth_token".into(), t.clone()));
    }
    oauth.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));

    let signature = signature_for(request, credentials, method, &oauth)?;
    oauth.push(("oauth_signature".into(), signature));
    place(request, credentials, placement, &oauth)
}

fn signature_for(
    request: &Request<Vec<u8>>,
    credentials: &Credentials,
    method: SignatureMethod,
    oauth: &[(String, String)],
) -> Result<String, Error> {
    let token_secret = credentials.token_secret.as_ref().map(TokenSecret::secret).unwrap_or("");
    match method {
        SignatureMethod::HmacSha1 | SignatureMethod::Plaintext => {
            let secret = credentials.client_secret.as_ref().ok_or_else(|| credentials.missing("client_secret"))?;
            let key = format!("{}&{}", percent_encode(secret.secret()), percent_encode(token_secret));
            if method == SignatureMethod::Plaintext {
                return Ok(key);
            }
            let base = signature_base_string(request, oauth)?;
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
            Ok(Base64::encode_string(ring::hmac::sign(&key, base.as_bytes()).as_ref()))
        }
        SignatureMethod::RsaSha1 => {
            let pem = credentials.rsa_key.as_ref().ok_or_else(|| credentials.missing("private_key"))?;
            let base = signature_base_string(request, oauth)?;
            let invalid = || -> Error {
                ConfigError::Invalid {
                    client: credentials.name.clone(),
                    key: "private_key".into(),
                    expected: "an RSA private key in PEM (for RSA-SHA1)".into(),
                }
                .into()
            };
            let key = credentials.parsed_rsa.get_or_parse(pem, RsaSha1Key::from_pem).map_err(|()| invalid())?;
            key.sign(base.as_bytes()).ok_or_else(invalid)
        }
    }
}

/// An RSA private key parsed for RSA-SHA1 signatures (RFC 5849 §3.4.3).
pub(crate) struct RsaSha1Key(openssl::pkey::PKey<openssl::pkey::Private>);

impl RsaSha1Key {
    fn from_pem(pem: &PrivateKeyMaterial) -> Result<Self, ()> {
        let key = openssl::pkey::PKey::private_key_from_pem(pem.secret().as_bytes()).map_err(drop)?;
        if key.id() != openssl::pkey::Id::RSA {
            return Err(());
        }
        Ok(RsaSha1Key(key))
    }

    fn sign(&self, data: &[u8]) -> Option<String> {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &self.0).ok()?;
        signer.update(data).ok()?;
        Some(Base64::encode_string(&signer.sign_to_vec().ok()?))
    }
}

fn place(
    request: &mut Request<Vec<u8>>,
    credentials: &Credentials,
    placement: Placement,
    oauth: &[(String, String)],
) -> Result<(), Error> {
    let pairs = oauth.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>();
    match placement {
        Placement::Header => {
            let mut parts = Vec::with_capacity(oauth.len() + 1);
            if let Some(realm) = &credentials.realm {
                parts.push(format!("realm=\"{}\"", percent_encode(realm)));
            }
            parts.extend(oauth.iter().map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v))));
            let value = HeaderValue::try_from(format!("OAuth {}", parts.join(", ")))
                .map_err(|_| not_signable("the Authorization header is not a valid header value"))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Placement::Query => {
            let uri = request.uri().to_string();
            let joined = pairs.join("&");
            let with_query = match request.uri().query() {
                Some("") => format!("{uri}{joined}"),
                Some(_) => format!("{uri}&{joined}"),
                None => format!("{uri}?{joined}"),
            };
            *request.uri_mut() =
                http::Uri::try_from(with_query).map_err(|_| not_signable("the signed URI is not a valid URI"))?;
        }
        Placement::Body => {
            // An empty body (checked in `sign_with`) becomes a form; it had no parameters to sign.
            if !is_form(request.headers()) {
                request.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(crate::wire::FORM_CONTENT_TYPE));
            }
            let body = request.body_mut();
            for pair in pairs {
                if !body.is_empty() {
                    body.push(b'&');
                }
                body.extend_from_slice(pair.as_bytes());
            }
        }
    }
    Ok(())
}

/// Temporary credentials from the request-token endpoint
/// ([RFC 5849 §2.1](https://www.rfc-editor.org/rfc/rfc5849#section-2.1)). `Debug` hides
/// both values.
///
/// ```
/// let resp = http::Response::new("oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=true");
/// let rt = rpkit::oauth1::parse_request_token_response(&resp)?;
/// assert_eq!(rt.token, "t");
/// assert!(!format!("{rt:?}").contains("\"t\""));
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestToken {
    /// `oauth_token`.
    pub token: String,
    /// `oauth_token_secret`.
    pub secret: TokenSecret,
}

impl fmt::Debug for RequestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestToken").field("token", &"[redacted]").field("secret", &self.secret).finish()
    }
}

/// What must survive between the authorization redirect and the callback: keep it in the
/// session (it is `serde`; its `Debug` hides the token and its secret).
///
/// ```
/// use rpkit::oauth1::{authorization_url, RequestToken};
/// use rpkit::{secret::TokenSecret, ClientConfig, UnixTime};
/// let cfg = ClientConfig::new("twitter").authorize_url("https://api.twitter.com/oauth/authorize");
/// let rt = RequestToken { token: "t".into(), secret: TokenSecret::new("s") };
/// let (_, pending) = authorization_url(&cfg, &rt, UnixTime::from_secs(5))?;
/// let stored = serde_json::to_string(&pending).unwrap();
/// let back: rpkit::oauth1::PendingOAuth1 = serde_json::from_str(&stored).unwrap();
/// assert_eq!(back, pending);
/// assert!(!format!("{pending:?}").contains("\"s\""));
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOAuth1 {
    /// The client's registered name.
    pub client: String,
    /// The request token (`oauth_token`) sent to the authorization endpoint.
    pub request_token: String,
    /// Its secret, which signs the access-token request.
    pub request_token_secret: TokenSecret,
    /// When the redirect was built.
    pub created_at: UnixTime,
}

impl fmt::Debug for PendingOAuth1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingOAuth1")
            .field("client", &self.client)
            .field("request_token", &"[redacted]")
            .field("request_token_secret", &self.request_token_secret)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Token credentials from the access-token endpoint
/// ([RFC 5849 §2.3](https://www.rfc-editor.org/rfc/rfc5849#section-2.3)), with the
/// provider's other fields (`user_id`, `screen_name`, …) in `extra`. `Debug` hides the
/// token and secret. See the [module example](self).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth1Token {
    /// `oauth_token`.
    pub token: AccessToken,
    /// `oauth_token_secret`.
    pub token_secret: TokenSecret,
    /// Every other field of the response.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for OAuth1Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Token")
            .field("token", &self.token)
            .field("token_secret", &self.token_secret)
            .field("extra", &self.extra)
            .finish()
    }
}

fn require<'a>(config: &ClientConfig, value: &'a Option<String>, key: &str) -> Result<&'a str, Error> {
    let url = value.as_deref().ok_or_else(|| Error::from(config.missing(key)))?;
    crate::discovery::check_transport(config, key, url, false)?;
    Ok(url)
}

/// Checks that `credentials` can sign with `method`, naming the missing key.
fn check_credentials(credentials: &Credentials, method: SignatureMethod) -> Result<(), Error> {
    match method {
        SignatureMethod::HmacSha1 | SignatureMethod::Plaintext if credentials.client_secret.is_none() => {
            Err(credentials.missing("client_secret"))
        }
        SignatureMethod::RsaSha1 if credentials.rsa_key.is_none() => Err(credentials.missing("private_key")),
        _ => Ok(()),
    }
}

fn signed_post(
    config: &ClientConfig,
    url: &str,
    credentials: &Credentials,
    params: &crate::config::Params,
    extra: &[(&str, &str)],
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<Request<Vec<u8>>, Error> {
    let (method, placement) = signature_settings(config)?;
    check_credentials(credentials, method)?;
    let body = crate::wire::form_encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(CONTENT_TYPE, HeaderValue::from_static(crate::wire::FORM_CONTENT_TYPE))
        .body(body.into_bytes())
        .map_err(|_| Error::unusable_config("request: invalid URI"))?;
    sign_with(&mut request, credentials, method, placement, extra, rng, now)?;
    Ok(request)
}

/// The signed request for temporary credentials
/// ([RFC 5849 §2.1](https://www.rfc-editor.org/rfc/rfc5849#section-2.1)): a POST to
/// `request_token_url` with `oauth_callback` and the `request_token_params` (as form
/// parameters). Authlib's `fetch_request_token`.
///
/// # Errors
/// [`ConfigError::Missing`] without `request_token_url`, `client_id` or the secret/key the
/// signature method needs; [`ConfigError::Invalid`] for an unknown `signature_method` or
/// `signature_type`; the errors of [`sign_request`].
pub fn request_token_request(
    config: &ClientConfig,
    callback_uri: &str,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<Request<Vec<u8>>, Error> {
    let url = require(config, &config.request_token_url, "request_token_url")?;
    let credentials = Credentials::from_config(config)?;
    signed_post(config, url, &credentials, &config.request_token_params, &[("oauth_callback", callback_uri)], rng, now)
}

/// Reads the request-token response: `oauth_token`, `oauth_token_secret`, and
/// `oauth_callback_confirmed`, which must be `true` (§2.1).
///
/// # Errors
/// [`Error::TooLarge`]; [`Error::Provider`] for an error body (`error=…`, `oauth_problem=…`,
/// or JSON with `error`/`errors`); [`Error::Http`] for another non-2xx status;
/// [`OAuth1Error::CallbackNotConfirmed`]; [`Error::Malformed`] for a body that is not a
/// form with both values (once each).
pub fn parse_request_token_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<RequestToken, Error> {
    let mut fields = parse_credentials_response(response, Endpoint::RequestToken)?;
    let confirmed = fields.remove("oauth_callback_confirmed");
    if confirmed.as_ref().and_then(Value::as_str) != Some("true") {
        return Err(OAuth1Error::CallbackNotConfirmed.into());
    }
    let (token, secret) = take_token(&mut fields, "request-token response")?;
    Ok(RequestToken { token, secret })
}

/// The authorization endpoint URL with `oauth_token` (and `authorize_params`) added to its
/// existing query ([RFC 5849 §2.2](https://www.rfc-editor.org/rfc/rfc5849#section-2.2)),
/// and the [`PendingOAuth1`] to keep in the session. Authlib's `create_authorization_url`.
///
/// # Errors
/// [`ConfigError::Missing`] without `authorize_url`; [`Error::Malformed`] when it is not an
/// absolute URL.
pub fn authorization_url(
    config: &ClientConfig,
    request_token: &RequestToken,
    now: UnixTime,
) -> Result<(url::Url, PendingOAuth1), Error> {
    let endpoint = require(config, &config.authorize_url, "authorize_url")?;
    let mut url = crate::wire::parse_url(endpoint, "authorize_url")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("oauth_token", &request_token.token);
        for (k, v) in &config.authorize_params {
            q.append_pair(k, v);
        }
    }
    let pending = PendingOAuth1 {
        client: config.name.clone(),
        request_token: request_token.token.clone(),
        request_token_secret: request_token.secret.clone(),
        created_at: now,
    };
    Ok((url, pending))
}

/// The temporary credentials of one session: a [`PendingStore`] (bounded, expiring,
/// single-use, constant-time) of [`PendingOAuth1`], keyed by the request token.
pub type PendingOAuth1Set = PendingStore<PendingOAuth1>;

impl Pending for PendingOAuth1 {
    fn key(&self) -> &str {
        &self.request_token
    }

    fn created_at(&self) -> UnixTime {
        self.created_at
    }
}

/// Checks the provider's redirect back (§2.2) against the session's pending temporary
/// credentials, takes the matching entry (single use: a replayed callback fails) and
/// returns it with the `oauth_verifier`. `query` is the callback's query string (a leading
/// `?` is ignored). The tokens are compared in constant time.
///
/// # Errors
/// [`OAuth1Error::Denied`] when the user refused (`denied=…`, as Twitter sends; the entry
/// is used up); [`OAuth1Error::MissingToken`], [`OAuth1Error::TokenMismatch`] (no pending
/// entry has this token), [`OAuth1Error::MissingVerifier`]; [`OAuth1Error::Expired`] when
/// the entry is older than `ttl` seconds; [`Error::BadRequest`] for a repeated parameter.
pub fn validate_callback(
    query: &str,
    pending: &mut PendingOAuth1Set,
    now: UnixTime,
    ttl: u64,
) -> Result<(PendingOAuth1, OAuth1Verifier), Error> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let (mut token, mut verifier, mut denied) = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "oauth_token" => &mut token,
            "oauth_verifier" => &mut verifier,
            "denied" => &mut denied,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Error::bad_request(format!(
                "OAuth 1.0a callback: `{}` is repeated",
                crate::error::sanitized(&k, 64)
            )));
        }
        *slot = Some(v.into_owned());
    }
    if let Some(denied) = denied {
        // The refused request's temporary credentials are of no further use.
        let _ = pending.take(Some(&denied), now, ttl);
        return Err(OAuth1Error::Denied.into());
    }
    let token = token.filter(|t| !t.is_empty()).ok_or(OAuth1Error::MissingToken)?;
    let entry = pending.take(Some(&token), now, ttl).map_err(|e| match e {
        StateError::Expired => OAuth1Error::Expired,
        _ => OAuth1Error::TokenMismatch,
    })?;
    let verifier = verifier.filter(|v| !v.is_empty()).ok_or(OAuth1Error::MissingVerifier)?;
    Ok((entry, OAuth1Verifier::new(verifier)))
}

/// The signed request for token credentials
/// ([RFC 5849 §2.3](https://www.rfc-editor.org/rfc/rfc5849#section-2.3)): a POST to
/// `access_token_url` with the request token, signed with its secret, `oauth_verifier`,
/// and the `access_token_params` (as form parameters). Authlib's `fetch_access_token`.
///
/// # Errors
/// [`ConfigError::Missing`] without `access_token_url`, `client_id` or the secret/key the
/// signature method needs; the errors of [`sign_request`].
pub fn access_token_request(
    config: &ClientConfig,
    pending: &PendingOAuth1,
    verifier: &OAuth1Verifier,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<Request<Vec<u8>>, Error> {
    let url = require(config, &config.access_token_url, "access_token_url")?;
    let credentials =
        Credentials::from_config(config)?.token(pending.request_token.clone(), pending.request_token_secret.clone());
    signed_post(
        config,
        url,
        &credentials,
        &config.access_token_params,
        &[("oauth_verifier", verifier.secret())],
        rng,
        now,
    )
}

/// Reads the access-token response: `oauth_token`, `oauth_token_secret`, and every other
/// field into [`OAuth1Token::extra`].
///
/// # Errors
/// As [`parse_request_token_response`], without the callback confirmation.
pub fn parse_access_token_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<OAuth1Token, Error> {
    let mut fields = parse_credentials_response(response, Endpoint::Token)?;
    let (token, secret) = take_token(&mut fields, "access-token response")?;
    Ok(OAuth1Token { token: AccessToken::new(token), token_secret: secret, extra: fields })
}

fn take_token(fields: &mut Map<String, Value>, what: &str) -> Result<(String, TokenSecret), Error> {
    let mut take = |key: &str| match fields.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(Error::malformed(format!("{what}: no `{key}`"))),
    };
    let token = take("oauth_token")?;
    let secret = take("oauth_token_secret")?;
    Ok((token, TokenSecret::new(secret)))
}

/// Size check, error bodies, status, then the form (or JSON) fields.
fn parse_credentials_response<B: AsRef<[u8]>>(
    response: &Response<B>,
    endpoint: Endpoint,
) -> Result<Map<String, Value>, Error> {
    let body = crate::wire::body_of(response, endpoint)?;
    let is_json = crate::wire::media_type(response).as_deref() == Some("application/json");
    let fields = if is_json { json_fields(body) } else { form_fields(body) };
    if let Some(err) = fields.as_ref().ok().and_then(provider_error) {
        return Err(Error::Provider(err));
    }
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Http { endpoint, status: status.as_u16() });
    }
    fields
}

fn form_fields(body: &[u8]) -> Result<Map<String, Value>, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::malformed("OAuth 1.0a response: not UTF-8"))?;
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(text.trim().as_bytes()) {
        if out.insert(k.clone().into_owned(), Value::String(v.into_owned())).is_some() {
            return Err(Error::malformed(format!(
                "OAuth 1.0a response: `{}` is repeated",
                crate::error::sanitized(&k, 64)
            )));
        }
    }
    Ok(out)
}

fn json_fields(body: &[u8]) -> Result<Map<String, Value>, Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::malformed("OAuth 1.0a response: not a JSON object")),
    }
}

/// An error body: `error` (OAuth 2 style), `oauth_problem` (the OAuth Problem Reporting
/// extension), or Twitter's JSON `{"errors": [{"code": 32, "message": "…"}]}`.
fn provider_error(fields: &Map<String, Value>) -> Option<ProviderError> {
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    if let Some(error) = text("error") {
        return Some(ProviderError::from_wire(error, text("error_description"), text("error_uri")));
    }
    if let Some(error) = text("oauth_problem") {
        return Some(ProviderError::from_wire(error, text("oauth_problem_advice"), None));
    }
    let first = fields.get("errors")?.as_array()?.first()?;
    let error = match first.get("code") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "error".to_owned(),
    };
    Some(ProviderError::from_wire(&error, first.get("message").and_then(Value::as_str), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::testkeys::{P256_PEM, RSA1_PEM};
    use crate::rand::SeededRandom;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn photos() -> ClientConfig {
        ClientConfig::new("photos")
            .client_id("dpf43f3p2l4k3l03")
            .client_secret("kd94hf93k423kf44")
            .authorize_url("https://photos.example.net/authorize?lang=en")
            .access_token_url("https://photos.example.net/token")
            .tap(|c| c.request_token_url = Some("https://photos.example.net/initiate".into()))
    }

    trait Tap: Sized {
        fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
    }
    impl Tap for ClientConfig {
        fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
            f(&mut self);
            self
        }
    }

    fn pending() -> PendingOAuth1 {
        PendingOAuth1 {
            client: "photos".into(),
            request_token: "hh5s93j4hdidpola".into(),
            request_token_secret: TokenSecret::new("hdhd0244k9j7ao03"),
            created_at: NOW,
        }
    }

    fn response(status: u16, content_type: &str, body: &str) -> Response<Vec<u8>> {
        Response::builder().status(status).header(CONTENT_TYPE, content_type).body(body.as_bytes().to_vec()).unwrap()
    }

    fn form(body: &str) -> Response<Vec<u8>> {
        response(200, "application/x-www-form-urlencoded", body)
    }

    /// The `oauth_*` parameters of a signed request, from wherever `placement` put them.
    fn oauth_params(req: &Request<Vec<u8>>, placement: Placement) -> BTreeMap<String, String> {
        let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().unwrap().1.into_owned();
        match placement {
            Placement::Header => {
                let h = req.headers()[AUTHORIZATION].to_str().unwrap().strip_prefix("OAuth ").unwrap().to_owned();
                h.split(", ")
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_owned(), decode(v.trim_matches('"')))
                    })
                    .collect()
            }
            Placement::Query => url::form_urlencoded::parse(req.uri().query().unwrap().as_bytes())
                .filter(|(k, _)| k.starts_with("oauth_"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            Placement::Body => url::form_urlencoded::parse(req.body())
                .filter(|(k, _)| k.starts_with("oauth_"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// What a provider does: recompute the base string and the HMAC-SHA1.
    fn hmac_verifies(req: &Request<Vec<u8>>, placement: Placement, key: &str) -> bool {
        let params = oauth_params(req, placement);
        let header: Vec<(String, String)> = match placement {
            Placement::Header => {
                params.iter().filter(|(k, _)| *k != "realm").map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            _ => Vec::new(),
        };
        let base = signature_base_string(req, &header).unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
        let sig = Base64::decode_vec(&params["oauth_signature"]).unwrap();
        ring::hmac::verify(&key, base.as_bytes(), &sig).is_ok()
    }

    // ---- RFC 5849 vectors -------------------------------------------------------------

    #[test]
    fn base_string_matches_rfc5849_section_3_4_1_1() {
        let req = Request::post("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"c2&a3=2+q".to_vec())
            .unwrap();
        let oauth = pairs(&[
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
            ("oauth_signature", "djosJKDKJSD8743243%2Fjdk33klY%3D"),
        ]);
        assert_eq!(
            signature_base_string(&req, &oauth).unwrap(),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    fn hmac_of(req: &Request<Vec<u8>>, creds: &Credentials, oauth: &[(&str, &str)]) -> String {
        signature_for(req, creds, SignatureMethod::HmacSha1, &pairs(oauth)).unwrap()
    }

    #[test]
    fn hmac_sha1_matches_the_rfc5849_section_1_2_temporary_credentials_signature() {
        let req = Request::post("https://photos.example.net/initiate").body(Vec::new()).unwrap();
        let creds = Credentials::new("dpf43f3p2l4k3l03").client_secret("kd94hf93k423kf44");
        let sig = hmac_of(
            &req,
            &creds,
            &[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131200"),
                ("oauth_nonce", "wIjqoS"),
                ("oauth_callback", "http://printer.example.com/ready"),
            ],
        );
        assert_eq!(sig, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");
    }

    #[test]
    fn hmac_sha1_matches_the_rfc5849_section_1_2_token_credentials_signature() {
        let req = Request::post("https://photos.example.net/token").body(Vec::new()).unwrap();
        let creds = Credentials::new("dpf43f3p2l4k3l03")
            .client_secret("kd94hf93k423kf44")
            .token("hh5s93j4hdidpola", "hdhd0244k9j7ao03");
        let sig = hmac_of(
            &req,
            &creds,
            &[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_token", "hh5s93j4hdidpola"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "walatlh"),
                ("oauth_verifier", "hfdp7dh39dks9884"),
            ],
        );
        assert_eq!(sig, "gKgrFCywp7rO0OXSjdot/IHF7IU=");
    }

    #[test]
    fn hmac_sha1_matches_the_rfc5849_section_1_2_resource_signature() {
        let req =
            Request::get("http://photos.example.net/photos?file=vacation.jpg&size=original").body(Vec::new()).unwrap();
        let creds = Credentials::new("dpf43f3p2l4k3l03")
            .client_secret("kd94hf93k423kf44")
            .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00");
        let sig = hmac_of(
            &req,
            &creds,
            &[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_token", "nnch734d00sl2jdk"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131202"),
                ("oauth_nonce", "chapoH"),
            ],
        );
        assert_eq!(sig, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    }

    #[test]
    fn hmac_sha1_matches_twitters_documented_example_with_a_form_body() {
        let req = Request::post("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21".to_vec())
            .unwrap();
        let creds = Credentials::new("xvz1evFS4wEEPTGEFPHBog")
            .client_secret("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw")
            .token("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE");
        let sig = hmac_of(
            &req,
            &creds,
            &[
                ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
                ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "1318622958"),
                ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
                ("oauth_version", "1.0"),
            ],
        );
        assert_eq!(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    }

    #[test]
    fn plaintext_signature_is_the_encoded_secrets_joined_by_an_ampersand() {
        let mut req = Request::post("https://photos.example.net/initiate").body(Vec::new()).unwrap();
        let creds = Credentials::new("k").client_secret("kd94hf93k423kf44");
        sign_request(&mut req, &creds, SignatureMethod::Plaintext, Placement::Header, &SeededRandom::new(1), NOW)
            .unwrap();
        let p = oauth_params(&req, Placement::Header);
        assert_eq!(p["oauth_signature"], "kd94hf93k423kf44&");
        assert_eq!(p["oauth_signature_method"], "PLAINTEXT");

        let mut req = Request::post("https://photos.example.net/token").body(Vec::new()).unwrap();
        let creds = Credentials::new("k").client_secret("a b&c").token("t", "pfkk/00");
        sign_request(&mut req, &creds, SignatureMethod::Plaintext, Placement::Header, &SeededRandom::new(1), NOW)
            .unwrap();
        assert_eq!(oauth_params(&req, Placement::Header)["oauth_signature"], "a%20b%26c&pfkk%2F00");
    }

    #[test]
    fn rsa_sha1_signs_the_base_string_and_verifies_with_the_public_key() {
        let mut req = Request::get("https://photos.example.net/photos?size=original").body(Vec::new()).unwrap();
        let creds = Credentials::new("k").rsa_key(RSA1_PEM).token("t", "ignored");
        sign_request(&mut req, &creds, SignatureMethod::RsaSha1, Placement::Header, &SeededRandom::new(1), NOW)
            .unwrap();
        let params = oauth_params(&req, Placement::Header);
        assert_eq!(params["oauth_signature_method"], "RSA-SHA1");
        let header: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let base = signature_base_string(&req, &header).unwrap();
        assert!(base.starts_with("GET&https%3A%2F%2Fphotos.example.net%2Fphotos&oauth_consumer_key%3Dk%26"));
        assert!(base.ends_with("%26size%3Doriginal"));

        let key = openssl::pkey::PKey::private_key_from_pem(RSA1_PEM.as_bytes()).unwrap();
        let public = openssl::pkey::PKey::public_key_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
        let sig = Base64::decode_vec(&params["oauth_signature"]).unwrap();
        let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha1(), &public).unwrap();
        v.update(base.as_bytes()).unwrap();
        assert!(v.verify(&sig).unwrap(), "the signature covers exactly the base string");
        let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha1(), &public).unwrap();
        v.update(format!("{base}x").as_bytes()).unwrap();
        assert!(!v.verify(&sig).unwrap());
    }

    // ---- encoding and normalization -----------------------------------------------------

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("!*'();:@&=+$,/?#[]"), "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D");
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("%"), "%25");
        assert_eq!(percent_encode("é☃"), "%C3%A9%E2%98%83");
    }

    #[test]
    fn base_string_uri_lowercases_scheme_and_host_and_drops_default_ports() {
        let base = |uri: &str| {
            let req = Request::get(uri).body(Vec::<u8>::new()).unwrap();
            let s = signature_base_string(&req, &[]).unwrap();
            s.split('&').nth(1).unwrap().to_owned()
        };
        assert_eq!(base("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"), "http%3A%2F%2Fexample.com%2Fr%2520v%2FX");
        assert_eq!(base("https://www.example.net:8080/?q=1"), "https%3A%2F%2Fwww.example.net%3A8080%2F");
        assert_eq!(base("https://example.net:443/p"), "https%3A%2F%2Fexample.net%2Fp");
        assert_eq!(base("http://example.net:443/p"), "http%3A%2F%2Fexample.net%3A443%2Fp");
        assert_eq!(base("https://example.net"), "https%3A%2F%2Fexample.net%2F");
    }

    #[test]
    fn duplicate_parameters_are_sorted_by_name_then_value() {
        let req = Request::get("https://example.net/p?b=2&a=3&a=1&a=%20&c").body(Vec::<u8>::new()).unwrap();
        let s = signature_base_string(&req, &pairs(&[("oauth_nonce", "n")])).unwrap();
        assert!(s.ends_with("&a%3D%2520%26a%3D1%26a%3D3%26b%3D2%26c%3D%26oauth_nonce%3Dn"), "{s}");
    }

    #[test]
    fn a_body_that_is_not_a_form_is_not_signed() {
        let req = Request::post("https://example.net/p")
            .header(CONTENT_TYPE, "application/json")
            .body(b"a=b".to_vec())
            .unwrap();
        assert_eq!(signature_base_string(&req, &[]).unwrap(), "POST&https%3A%2F%2Fexample.net%2Fp&");
    }

    // ---- placement ------------------------------------------------------------------

    fn resource_creds() -> Credentials {
        Credentials::new("key").client_secret("sec ret").token("tok", "tok/secret")
    }

    const HMAC_KEY: &str = "sec%20ret&tok%2Fsecret";

    #[test]
    fn header_placement_puts_every_protocol_parameter_in_the_authorization_header() {
        let mut req = Request::get("https://api.example.net/items?page=2").body(Vec::new()).unwrap();
        let creds = resource_creds().realm("Photos");
        sign_request(&mut req, &creds, SignatureMethod::HmacSha1, Placement::Header, &SeededRandom::new(3), NOW)
            .unwrap();
        let header = req.headers()[AUTHORIZATION].to_str().unwrap();
        assert!(header.starts_with("OAuth realm=\"Photos\", oauth_consumer_key=\"key\", "), "{header}");
        let p = oauth_params(&req, Placement::Header);
        assert_eq!(p["oauth_timestamp"], "1700000000");
        assert_eq!(p["oauth_version"], "1.0");
        assert_eq!(p["oauth_token"], "tok");
        assert!(p["oauth_nonce"].len() >= 22);
        assert_eq!(req.uri().query(), Some("page=2"));
        assert!(hmac_verifies(&req, Placement::Header, HMAC_KEY));
        assert!(!hmac_verifies(&req, Placement::Header, "sec%20ret&other"));
    }

    #[test]
    fn query_placement_appends_the_protocol_parameters_to_the_query() {
        let mut req = Request::get("https://api.example.net/items?page=2").body(Vec::new()).unwrap();
        sign_request(
            &mut req,
            &resource_creds(),
            SignatureMethod::HmacSha1,
            Placement::Query,
            &SeededRandom::new(3),
            NOW,
        )
        .unwrap();
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert!(req.uri().query().unwrap().starts_with("page=2&oauth_consumer_key=key&"));
        assert!(hmac_verifies(&req, Placement::Query, HMAC_KEY));

        let mut bare = Request::get("https://api.example.net/items").body(Vec::new()).unwrap();
        sign_request(
            &mut bare,
            &resource_creds(),
            SignatureMethod::HmacSha1,
            Placement::Query,
            &SeededRandom::new(3),
            NOW,
        )
        .unwrap();
        assert!(bare.uri().query().unwrap().starts_with("oauth_consumer_key=key&"));
        assert!(hmac_verifies(&bare, Placement::Query, HMAC_KEY));
    }

    #[test]
    fn body_placement_appends_the_protocol_parameters_to_a_form_body() {
        let mut req = Request::post("https://api.example.net/items")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"name=a+b".to_vec())
            .unwrap();
        sign_request(
            &mut req,
            &resource_creds(),
            SignatureMethod::HmacSha1,
            Placement::Body,
            &SeededRandom::new(3),
            NOW,
        )
        .unwrap();
        assert!(std::str::from_utf8(req.body()).unwrap().starts_with("name=a+b&oauth_consumer_key=key&"));
        assert!(hmac_verifies(&req, Placement::Body, HMAC_KEY));

        let mut empty = Request::post("https://api.example.net/items").body(Vec::new()).unwrap();
        sign_request(
            &mut empty,
            &resource_creds(),
            SignatureMethod::HmacSha1,
            Placement::Body,
            &SeededRandom::new(3),
            NOW,
        )
        .unwrap();
        assert_eq!(empty.headers()[CONTENT_TYPE], "application/x-www-form-urlencoded");
        assert!(hmac_verifies(&empty, Placement::Body, HMAC_KEY));
    }

    #[test]
    fn nonces_differ_between_requests() {
        let rng = SeededRandom::new(9);
        let mut a = Request::get("https://api.example.net/").body(Vec::new()).unwrap();
        let mut b = a.clone();
        sign_request(&mut a, &resource_creds(), SignatureMethod::HmacSha1, Placement::Header, &rng, NOW).unwrap();
        sign_request(&mut b, &resource_creds(), SignatureMethod::HmacSha1, Placement::Header, &rng, NOW).unwrap();
        assert_ne!(
            oauth_params(&a, Placement::Header)["oauth_nonce"],
            oauth_params(&b, Placement::Header)["oauth_nonce"]
        );
    }

    // ---- signing rejects --------------------------------------------------------------

    fn sign_err(uri: &str, creds: &Credentials, method: SignatureMethod, placement: Placement) -> Error {
        let mut req = Request::post(uri).header(CONTENT_TYPE, "application/json").body(b"{}".to_vec()).unwrap();
        if placement != Placement::Body {
            req.headers_mut().remove(CONTENT_TYPE);
            req.body_mut().clear();
        }
        let before = req.clone();
        let err = sign_request(&mut req, creds, method, placement, &SeededRandom::new(1), NOW).unwrap_err();
        assert_eq!(req.uri(), before.uri());
        assert_eq!(req.headers(), before.headers());
        assert_eq!(req.body(), before.body());
        err
    }

    #[test]
    fn plaintext_over_http_is_refused() {
        let creds = Credentials::new("k").client_secret("s");
        let err = sign_err("http://photos.example.net/initiate", &creds, SignatureMethod::Plaintext, Placement::Header);
        assert_eq!(err, Error::OAuth1(OAuth1Error::PlaintextRequiresHttps));
    }

    #[test]
    fn relative_and_non_http_uris_are_not_signable() {
        let creds = Credentials::new("k").client_secret("s");
        for uri in ["/relative", "ftp://example.net/x"] {
            let err = sign_err(uri, &creds, SignatureMethod::HmacSha1, Placement::Header);
            assert!(matches!(err, Error::OAuth1(OAuth1Error::NotSignable { .. })), "{uri}: {err:?}");
        }
    }

    #[test]
    fn body_placement_with_a_json_body_is_not_signable() {
        let creds = Credentials::new("k").client_secret("s");
        let err = sign_err("https://example.net/x", &creds, SignatureMethod::HmacSha1, Placement::Body);
        assert!(matches!(err, Error::OAuth1(OAuth1Error::NotSignable { .. })));
    }

    #[test]
    fn signing_without_the_needed_secret_or_key_names_it() {
        let bare = Credentials::new("k");
        for (method, key) in [
            (SignatureMethod::HmacSha1, "client_secret"),
            (SignatureMethod::Plaintext, "client_secret"),
            (SignatureMethod::RsaSha1, "private_key"),
        ] {
            let err = sign_err("https://example.net/x", &bare, method, Placement::Header);
            assert!(matches!(&err, Error::Config(ConfigError::Missing { key: k, .. }) if k == key), "{err:?}");
        }
    }

    #[test]
    fn rsa_sha1_with_a_key_that_is_not_rsa_pem_is_a_configuration_error() {
        for key in [P256_PEM, "not a key", "{\"kty\":\"RSA\"}"] {
            let creds = Credentials::new("k").rsa_key(key);
            let err = sign_err("https://example.net/x", &creds, SignatureMethod::RsaSha1, Placement::Header);
            assert!(matches!(&err, Error::Config(ConfigError::Invalid { key, .. }) if key == "private_key"), "{err:?}");
            assert!(!err.to_string().contains("BEGIN"));
        }
    }

    // ---- request token ----------------------------------------------------------------

    #[test]
    fn request_token_request_is_a_signed_post_with_the_callback_and_params() {
        let cfg = photos().tap(|c| {
            c.request_token_params.insert("x_auth_access_type".into(), "read".into());
        });
        let req = request_token_request(&cfg, "http://printer.example.com/ready", &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "https://photos.example.net/initiate");
        assert_eq!(req.body(), b"x_auth_access_type=read");
        let p = oauth_params(&req, Placement::Header);
        assert_eq!(p["oauth_callback"], "http://printer.example.com/ready");
        assert_eq!(p["oauth_consumer_key"], "dpf43f3p2l4k3l03");
        assert!(!p.contains_key("oauth_token"));
        assert!(hmac_verifies(&req, Placement::Header, "kd94hf93k423kf44&"));
    }

    #[test]
    fn configured_signature_type_and_method_are_used() {
        let cfg = photos().tap(|c| {
            c.client_kwargs.signature_type = Some("BODY".into());
            c.client_kwargs.signature_method = Some("PLAINTEXT".into());
        });
        let req = request_token_request(&cfg, "oob", &SeededRandom::new(1), NOW).unwrap();
        let p = oauth_params(&req, Placement::Body);
        assert_eq!(p["oauth_signature_method"], "PLAINTEXT");
        assert_eq!(p["oauth_signature"], "kd94hf93k423kf44&");
        assert!(req.headers().get(AUTHORIZATION).is_none());
    }

    #[test]
    fn unknown_signature_settings_are_configuration_errors() {
        let bad_method = photos().tap(|c| c.client_kwargs.signature_method = Some("HMAC-SHA256".into()));
        let err = request_token_request(&bad_method, "oob", &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Config(ConfigError::Invalid { key, .. }) if key == "client_kwargs.signature_method")
        );
        let bad_type = photos().tap(|c| c.client_kwargs.signature_type = Some("COOKIE".into()));
        let err = request_token_request(&bad_type, "oob", &SeededRandom::new(1), NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Config(ConfigError::Invalid { key, .. }) if key == "client_kwargs.signature_type")
        );
    }

    fn missing_key(err: Error) -> String {
        match err {
            Error::Config(ConfigError::Missing { client, key }) => {
                assert_eq!(client, "photos");
                key
            }
            other => panic!("not a missing key: {other:?}"),
        }
    }

    #[test]
    fn missing_configuration_keys_are_named() {
        let rng = SeededRandom::new(1);
        let no = |f: fn(&mut ClientConfig)| photos().tap(f);
        let err = request_token_request(&no(|c| c.request_token_url = None), "oob", &rng, NOW).unwrap_err();
        assert_eq!(missing_key(err), "request_token_url");
        let err = request_token_request(&no(|c| c.client_id = None), "oob", &rng, NOW).unwrap_err();
        assert_eq!(missing_key(err), "client_id");
        let err = request_token_request(&no(|c| c.client_secret = None), "oob", &rng, NOW).unwrap_err();
        assert_eq!(missing_key(err), "client_secret");
        let rsa = no(|c| c.client_kwargs.signature_method = Some("RSA-SHA1".into()));
        let err = request_token_request(&rsa, "oob", &rng, NOW).unwrap_err();
        assert_eq!(missing_key(err), "private_key");
        let rt = RequestToken { token: "t".into(), secret: TokenSecret::new("s") };
        let err = authorization_url(&no(|c| c.authorize_url = None), &rt, NOW).unwrap_err();
        assert_eq!(missing_key(err), "authorize_url");
        let v = OAuth1Verifier::new("v");
        let err = access_token_request(&no(|c| c.access_token_url = None), &pending(), &v, &rng, NOW).unwrap_err();
        assert_eq!(missing_key(err), "access_token_url");
    }

    #[test]
    fn rsa_sha1_flow_signs_with_the_configured_private_key() {
        let cfg = photos().tap(|c| {
            c.client_secret = None;
            c.private_key = Some(PrivateKeyMaterial::new(RSA1_PEM));
            c.client_kwargs.signature_method = Some("RSA-SHA1".into());
        });
        let req = request_token_request(&cfg, "oob", &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(oauth_params(&req, Placement::Header)["oauth_signature_method"], "RSA-SHA1");
    }

    #[test]
    fn the_rsa_sha1_key_is_parsed_once_per_configuration() {
        let material = PrivateKeyMaterial::new(RSA1_PEM);
        let cfg = photos().tap(|c| {
            c.client_secret = None;
            c.private_key = Some(material.clone());
            c.client_kwargs.signature_method = Some("RSA-SHA1".into());
        });
        for seed in 0..3 {
            request_token_request(&cfg, "oob", &SeededRandom::new(seed), NOW).unwrap();
        }
        // Kept with the configuration: asking again parses nothing.
        let kept = cfg
            .parsed_keys
            .oauth1_rsa
            .get_or_parse(&material, |_| -> Result<RsaSha1Key, ()> { panic!("parsed a second time") });
        assert!(kept.is_ok());
        // A key that is not RSA is refused, every time.
        let ec = photos().tap(|c| {
            c.client_secret = None;
            c.private_key = Some(PrivateKeyMaterial::new(crate::jose::testkeys::P256_PEM));
            c.client_kwargs.signature_method = Some("RSA-SHA1".into());
        });
        for _ in 0..2 {
            let err = request_token_request(&ec, "oob", &SeededRandom::new(1), NOW).unwrap_err();
            assert!(matches!(&err, Error::Config(ConfigError::Invalid { key, .. }) if key == "private_key"));
        }
    }

    #[test]
    fn request_token_response_is_parsed() {
        let rt = parse_request_token_response(&form(
            "oauth_token=hh5s93j4hdidpola&oauth_token_secret=hdhd0244k9j7ao03&oauth_callback_confirmed=true",
        ))
        .unwrap();
        assert_eq!(rt.token, "hh5s93j4hdidpola");
        assert!(rt.secret.ct_eq("hdhd0244k9j7ao03"));
        let dbg = format!("{rt:?}");
        assert!(!dbg.contains("hh5s93j4hdidpola") && !dbg.contains("hdhd0244k9j7ao03"));
        // Twitter answers with text/html; the content type does not matter for a form.
        let rt = parse_request_token_response(&response(
            200,
            "text/html",
            "oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=true\n",
        ))
        .unwrap();
        assert!(rt.secret.ct_eq("b"));
    }

    #[test]
    fn request_token_without_callback_confirmation_is_rejected() {
        for body in [
            "oauth_token=t&oauth_token_secret=s",
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=false",
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=TRUE",
        ] {
            assert_eq!(
                parse_request_token_response(&form(body)),
                Err(Error::OAuth1(OAuth1Error::CallbackNotConfirmed))
            );
        }
    }

    #[test]
    fn provider_error_bodies_keep_the_providers_code() {
        let err = parse_request_token_response(&response(
            401,
            "application/x-www-form-urlencoded",
            "oauth_problem=signature_invalid&oauth_problem_advice=bad+sig",
        ))
        .unwrap_err();
        assert_eq!(
            err,
            Error::Provider(ProviderError {
                error: "signature_invalid".into(),
                description: Some("bad sig".into()),
                uri: None
            })
        );
        let err = parse_access_token_response(&response(400, "text/plain", "error=invalid_verifier")).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("invalid_verifier"));
        let err = parse_access_token_response(&response(
            401,
            "application/json; charset=utf-8",
            r#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#,
        ))
        .unwrap_err();
        assert_eq!(err.provider_error_code(), Some("32"));
        // An error body with a 200 status is still an error.
        let err = parse_request_token_response(&form("error=temporarily_unavailable")).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("temporarily_unavailable"));
    }

    #[test]
    fn non_2xx_without_an_error_body_is_an_http_error() {
        let err = parse_request_token_response(&response(503, "text/html", "<html>busy</html>")).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::RequestToken, status: 503 });
        let err = parse_access_token_response(&response(401, "text/plain", "")).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::Token, status: 401 });
        let err = parse_access_token_response(&response(500, "application/json", "not json")).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::Token, status: 500 });
    }

    #[test]
    fn malformed_credential_bodies_are_rejected() {
        for body in [
            &b"oauth_token=t"[..],
            b"oauth_token_secret=s",
            b"oauth_token=&oauth_token_secret=s",
            b"oauth_token=t&oauth_token=u&oauth_token_secret=s",
            b"oauth_token=t&oauth_token_secret=\xff",
            b"\xff\xfe",
            b"",
        ] {
            let resp = Response::new(body.to_vec());
            let err = parse_access_token_response(&resp).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{body:?}: {err:?}");
        }
        let err = parse_access_token_response(&response(200, "application/json", "[1]")).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
        let err = parse_access_token_response(&response(
            200,
            "application/json",
            r#"{"oauth_token":1,"oauth_token_secret":"s"}"#,
        ))
        .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
    }

    #[test]
    fn oversized_responses_are_refused_before_parsing() {
        let big = Response::new(vec![b'a'; crate::wire::MAX_RESPONSE_BYTES + 1]);
        assert_eq!(
            parse_request_token_response(&big),
            Err(Error::TooLarge { endpoint: Endpoint::RequestToken, limit: crate::wire::MAX_RESPONSE_BYTES })
        );
        assert_eq!(
            parse_access_token_response(&big),
            Err(Error::TooLarge { endpoint: Endpoint::Token, limit: crate::wire::MAX_RESPONSE_BYTES })
        );
    }

    // ---- authorize redirect and callback ------------------------------------------------

    #[test]
    fn authorization_url_keeps_the_endpoint_query_and_adds_the_request_token() {
        let cfg = photos().authorize_param("force_login", "true");
        let rt = RequestToken { token: "hh5s93j4hdidpola".into(), secret: TokenSecret::new("hdhd0244k9j7ao03") };
        let (url, pending) = authorization_url(&cfg, &rt, NOW).unwrap();
        assert_eq!(
            url.as_str(),
            "https://photos.example.net/authorize?lang=en&oauth_token=hh5s93j4hdidpola&force_login=true"
        );
        assert_eq!(pending.client, "photos");
        assert_eq!(pending.request_token, "hh5s93j4hdidpola");
        assert_eq!(pending.created_at, NOW);
        let dbg = format!("{pending:?}");
        assert!(!dbg.contains("hh5s93j4hdidpola") && !dbg.contains("hdhd0244k9j7ao03"));
        let json = serde_json::to_value(&pending).unwrap();
        assert_eq!(serde_json::from_value::<PendingOAuth1>(json).unwrap(), pending);
    }

    #[test]
    fn callback_returns_the_verifier_for_the_pending_token() {
        let v = validate_callback(
            "?oauth_token=hh5s93j4hdidpola&oauth_verifier=hfdp7dh39dks9884",
            &mut session(),
            NOW,
            600,
        )
        .unwrap()
        .1;
        assert!(v.ct_eq("hfdp7dh39dks9884"));
        assert!(!format!("{v:?}").contains("hfdp"));
    }

    fn session() -> PendingOAuth1Set {
        let mut set = PendingOAuth1Set::new();
        set.insert(pending(), 8);
        set
    }

    #[test]
    fn an_oauth1_callback_is_single_use() {
        let mut set = session();
        let q = "oauth_token=hh5s93j4hdidpola&oauth_verifier=v";
        let (entry, _) = validate_callback(q, &mut set, NOW, 600).unwrap();
        assert_eq!(entry, pending());
        assert_eq!(validate_callback(q, &mut set, NOW, 600), Err(Error::OAuth1(OAuth1Error::TokenMismatch)));
        // A denied callback uses its entry up too.
        let mut set = session();
        assert_eq!(
            validate_callback("denied=hh5s93j4hdidpola", &mut set, NOW, 600),
            Err(Error::OAuth1(OAuth1Error::Denied))
        );
        assert!(set.is_empty());
    }

    #[test]
    fn callback_with_another_token_is_rejected() {
        let err =
            validate_callback("oauth_token=hh5s93j4hdidpolb&oauth_verifier=v", &mut session(), NOW, 600).unwrap_err();
        assert_eq!(err, Error::OAuth1(OAuth1Error::TokenMismatch));
        let err =
            validate_callback("oauth_token=hh5s93j4hdidpol&oauth_verifier=v", &mut session(), NOW, 600).unwrap_err();
        assert_eq!(err, Error::OAuth1(OAuth1Error::TokenMismatch));
    }

    #[test]
    fn callback_without_a_token_is_rejected() {
        for q in ["oauth_verifier=v", "oauth_token=&oauth_verifier=v", ""] {
            assert_eq!(validate_callback(q, &mut session(), NOW, 600), Err(Error::OAuth1(OAuth1Error::MissingToken)));
        }
    }

    #[test]
    fn callback_without_a_verifier_is_rejected() {
        for q in ["oauth_token=hh5s93j4hdidpola", "oauth_token=hh5s93j4hdidpola&oauth_verifier="] {
            assert_eq!(
                validate_callback(q, &mut session(), NOW, 600),
                Err(Error::OAuth1(OAuth1Error::MissingVerifier))
            );
        }
    }

    #[test]
    fn callback_where_the_user_denied_is_a_denied_error() {
        let err = validate_callback("denied=hh5s93j4hdidpola", &mut session(), NOW, 600).unwrap_err();
        assert_eq!(err, Error::OAuth1(OAuth1Error::Denied));
    }

    #[test]
    fn callback_after_the_pending_lifetime_is_rejected() {
        let q = "oauth_token=hh5s93j4hdidpola&oauth_verifier=v";
        assert!(validate_callback(q, &mut session(), NOW.plus(600), 600).is_ok());
        assert_eq!(validate_callback(q, &mut session(), NOW.plus(601), 600), Err(Error::OAuth1(OAuth1Error::Expired)));
    }

    #[test]
    fn callback_with_repeated_parameters_is_a_bad_request() {
        for q in [
            "oauth_token=hh5s93j4hdidpola&oauth_token=hh5s93j4hdidpola&oauth_verifier=v",
            "oauth_token=hh5s93j4hdidpola&oauth_verifier=v&oauth_verifier=w",
        ] {
            assert!(matches!(validate_callback(q, &mut session(), NOW, 600), Err(Error::BadRequest { .. })));
        }
    }

    // ---- access token -----------------------------------------------------------------

    #[test]
    fn access_token_request_is_signed_with_the_request_token_secret_and_carries_the_verifier() {
        let cfg = photos();
        let v = OAuth1Verifier::new("hfdp7dh39dks9884");
        let req = access_token_request(&cfg, &pending(), &v, &SeededRandom::new(1), NOW).unwrap();
        assert_eq!(req.uri(), "https://photos.example.net/token");
        let p = oauth_params(&req, Placement::Header);
        assert_eq!(p["oauth_token"], "hh5s93j4hdidpola");
        assert_eq!(p["oauth_verifier"], "hfdp7dh39dks9884");
        assert!(!p.contains_key("oauth_callback"));
        assert!(hmac_verifies(&req, Placement::Header, "kd94hf93k423kf44&hdhd0244k9j7ao03"));
        assert!(!hmac_verifies(&req, Placement::Header, "kd94hf93k423kf44&"));
    }

    #[test]
    fn access_token_response_keeps_extra_fields() {
        let t = parse_access_token_response(&form(
            "oauth_token=nnch734d00sl2jdk&oauth_token_secret=pfkkdhi9sl3r4s00&user_id=12&screen_name=alice",
        ))
        .unwrap();
        assert!(t.token.ct_eq("nnch734d00sl2jdk"));
        assert!(t.token_secret.ct_eq("pfkkdhi9sl3r4s00"));
        assert_eq!(t.extra["user_id"], "12");
        assert_eq!(t.extra["screen_name"], "alice");
        assert!(!t.extra.contains_key("oauth_token"));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("nnch734d00sl2jdk") && !dbg.contains("pfkkdhi9sl3r4s00"));
        let back: OAuth1Token = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let creds = Credentials::from_config(&photos()).unwrap().with_token(&t);
        assert_eq!(creds.token.as_deref(), Some("nnch734d00sl2jdk"));
    }

    #[test]
    fn error_messages_carry_no_secrets() {
        let all = [
            OAuth1Error::PlaintextRequiresHttps,
            OAuth1Error::NotSignable { reason: "x" },
            OAuth1Error::CallbackNotConfirmed,
            OAuth1Error::Denied,
            OAuth1Error::MissingToken,
            OAuth1Error::TokenMismatch,
            OAuth1Error::MissingVerifier,
            OAuth1Error::Expired,
        ];
        for e in all {
            let text = Error::from(e.clone()).to_string();
            assert!(!text.is_empty());
            assert_eq!(text, e.to_string());
        }
    }

    // ---- never panics -----------------------------------------------------------------

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn credential_response_parsers_never_panic(
            status in 100u16..600,
            json in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..256),
            text in "(oauth_token|oauth_token_secret|oauth_callback_confirmed|error|oauth_problem|errors|[a-z]{1,4})(=[a-z0-9%+&=]{0,8})?(&[a-z_]{1,20}=[a-z0-9%]{0,6}){0,4}",
        ) {
            let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
            for bytes in [body.clone(), text.clone().into_bytes()] {
                let resp = Response::builder().status(status).header(CONTENT_TYPE, ct).body(bytes).unwrap();
                let _ = parse_request_token_response(&resp);
                let _ = parse_access_token_response(&resp);
            }
        }

        #[test]
        fn callback_parser_never_panics(query in ".{0,128}", t in "[a-z%&=?]{0,24}") {
            let _ = validate_callback(&query, &mut session(), NOW, 600);
            let q = format!("oauth_token={t}&oauth_verifier={t}&{query}");
            if let Ok((_, v)) = validate_callback(&q, &mut session(), NOW, 600) {
                prop_assert!(!v.secret().is_empty());
            }
        }

        #[test]
        fn signing_arbitrary_urls_and_params_never_panics(
            uri in "(https?|HTTP|ftp)://[a-zA-Z0-9.\\-]{0,12}(:[0-9]{1,5})?(/[a-zA-Z0-9%._~!$'()*+,;=:@\\-]{0,8}){0,3}(\\?[ -~]{0,24})?",
            rel in "[ -~]{0,32}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
            secret in ".{0,16}",
            token in proptest::option::of(".{0,16}"),
            realm in proptest::option::of(".{0,8}"),
            method in 0usize..3,
            placement in 0usize..3,
        ) {
            let method = [SignatureMethod::HmacSha1, SignatureMethod::RsaSha1, SignatureMethod::Plaintext][method];
            let placement = [Placement::Header, Placement::Query, Placement::Body][placement];
            let mut creds = Credentials::new(secret.clone()).client_secret(secret.clone()).rsa_key(RSA1_PEM);
            if let Some(t) = token {
                creds = creds.token(t.clone(), t);
            }
            creds.realm = realm;
            for target in [uri.as_str(), rel.as_str()] {
                let Ok(mut req) = Request::post(target).header(CONTENT_TYPE, crate::wire::FORM_CONTENT_TYPE).body(body.clone()) else {
                    continue;
                };
                let _ = signature_base_string(&req, &[]);
                if sign_request(&mut req, &creds, method, placement, &SeededRandom::new(1), NOW).is_ok()
                    && method == SignatureMethod::HmacSha1
                {
                    let key = format!("{}&{}", percent_encode(&secret), percent_encode(creds.token_secret.as_ref().map(TokenSecret::secret).unwrap_or("")));
                    prop_assert!(hmac_verifies(&req, placement, &key), "{target}");
                }
            }
        }
    }
}
