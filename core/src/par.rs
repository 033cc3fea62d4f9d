//! Pushed authorization requests, PAR
//! ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)).
//!
//! The parameters of an authorization request are POSTed, with the client's
//! authentication, to the provider's `pushed_authorization_request_endpoint`; the
//! provider answers `201` with a `request_uri` and its lifetime (`expires_in`), and the
//! browser is sent to the authorization endpoint with only `client_id` and that
//! `request_uri`. The [`PendingAuthorization`](crate::authorize::PendingAuthorization) is the
//! one [`AuthorizationRequest::build`](crate::authorize::AuthorizationRequest::build)
//! made, so the callback is handled as without PAR.
//!
//! ```text
//!   AuthorizationRequest::build ─► (url, pending)
//!   push_request(config, metadata, &url) ─► http::Request (POST, client auth) ──► PAR endpoint
//!   PushedAuthorization::handle_response ◄─ 201 {"request_uri", "expires_in"} ◄──
//!        └─► authorization endpoint ?client_id=…&request_uri=…  (store `pending` only now)
//! ```
//!
//! ```
//! use rpkit::authorize::AuthorizationRequest;
//! use rpkit::config::ClientConfig;
//! use rpkit::par::push_request;
//! use rpkit::rand::SystemRandom;
//! use rpkit::UnixTime;
//!
//! let config = ClientConfig::new("bank")
//!     .client_id("my-app")
//!     .client_secret("s3cret")
//!     .authorize_url("https://op.example/authorize")
//!     .pushed_authorization_request_endpoint("https://op.example/par");
//! let now = UnixTime::from_secs(1_700_000_000);
//! let rng = SystemRandom::new();
//! let (url, pending) = AuthorizationRequest::new(&config).build(&rng, now)?;
//! let push = push_request(&config, None, &url, &rng, now)?;
//! assert_eq!(push.request.uri(), "https://op.example/par");
//! assert!(push.request.headers().contains_key("authorization")); // client_secret_basic
//!
//! let answer = http::Response::builder()
//!     .status(201)
//!     .body(br#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#.to_vec())
//!     .unwrap();
//! let (redirect, pushed) = push.next.handle_response(&answer, now)?;
//! assert_eq!(redirect.as_str(),
//!     "https://op.example/authorize?client_id=my-app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc");
//! assert_eq!(pushed.expires_at(), now.plus(60));
//! # let _ = pending;
//! # Ok::<(), rpkit::Error>(())
//! ```

use crate::authorize::AuthorizationUrl;
use crate::config::ClientConfig;
use crate::discovery::{check_transport, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::login::Send;
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use crate::wire;
use serde_json::Value;

/// The longest `request_uri` accepted from a provider (they are short URNs; the cap keeps
/// a hostile answer out of the browser's URL).
pub const MAX_REQUEST_URI_CHARS: usize = 2048;

/// The configuration key (and metadata member) of the PAR endpoint.
const KEY: &str = "pushed_authorization_request_endpoint";

impl ClientConfig {
    /// Sets the pushed authorization request endpoint (RFC 9126; else discovered).
    #[must_use]
    pub fn pushed_authorization_request_endpoint(mut self, url: impl Into<String>) -> Self {
        self.pushed_authorization_request_endpoint = Some(url.into());
        self
    }
}

/// Whether authorization requests of this client are pushed: `client_kwargs.use_par`, or
/// the provider's `require_pushed_authorization_requests`.
pub fn uses_par(config: &ClientConfig, metadata: Option<&ProviderMetadata>) -> bool {
    config.client_kwargs.use_par || metadata.is_some_and(|m| m.require_pushed_authorization_requests)
}

/// The PAR endpoint: `pushed_authorization_request_endpoint` as configured, else the
/// metadata's; either must be `https` or loopback `http` ([`check_transport`]).
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing)
/// (`pushed_authorization_request_endpoint`, naming the client)
/// when neither is set; [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint).
pub fn par_endpoint<'a>(config: &'a ClientConfig, metadata: Option<&'a ProviderMetadata>) -> Result<&'a str, Error> {
    if let Some(url) = config.pushed_authorization_request_endpoint.as_deref() {
        check_transport(config, KEY, url, false)?;
        return Ok(url);
    }
    let url = metadata
        .and_then(|m| m.pushed_authorization_request_endpoint.as_deref())
        .ok_or_else(|| Error::Config(config.missing(KEY)))?;
    check_transport(config, KEY, url, true)?;
    Ok(url)
}

/// The pushed authorization request for `url` (what
/// [`AuthorizationRequest::build`](crate::authorize::AuthorizationRequest::build)
/// returned): a POST of its parameters — or, when the client uses request objects
/// ([`crate::jar::uses_request_object`]), of `client_id` and a signed `request` holding
/// them — to the PAR
/// endpoint, authenticated as at the token endpoint (RFC 9126 §2.1; `private_key_jwt`
/// assertions are addressed to the issuer, see
/// [`assertion_audience`](crate::client_auth::assertion_audience)).
///
/// The endpoint's own query parameters stay in the authorization URL the response leads
/// to; they are not pushed.
///
/// # Errors
/// [`par_endpoint`]'s; client authentication configuration errors; request object
/// errors ([`crate::jar::request_object`]).
#[must_use = "the request must be sent and its response handled"]
pub fn push_request(
    config: &ClientConfig,
    metadata: Option<&ProviderMetadata>,
    url: &AuthorizationUrl,
    rng: &dyn SecureRandom,
    now: UnixTime,
) -> Result<Send<PushedAuthorization>, Error> {
    let endpoint = par_endpoint(config, metadata)?;
    let client_id =
        config.client_id.as_deref().filter(|id| !id.is_empty()).ok_or_else(|| config.missing("client_id"))?;
    let split = crate::jar::split(url);
    // `client_id` is in the body whatever the authentication method: it is a parameter of
    // the authorization request (RFC 6749 §4.1.1), and providers (oidc-provider) require it.
    let form = if crate::jar::uses_request_object(config, metadata) {
        let jwt = crate::jar::request_object(config, metadata, &split.params, rng, now)?;
        vec![("client_id".to_owned(), client_id.to_owned()), ("request".to_owned(), jwt)]
    } else {
        split.params
    };
    let request = crate::token::authenticated_post(config, metadata, endpoint, form, rng, now)?;
    Ok(Send {
        request,
        next: PushedAuthorization { authorization_endpoint: split.endpoint, client_id: client_id.to_owned() },
    })
}

/// What handles the PAR endpoint's response: it knows the authorization endpoint the
/// browser goes to next.
#[derive(Debug, Clone)]
pub struct PushedAuthorization {
    authorization_endpoint: url::Url,
    client_id: String,
}

/// A `request_uri` the provider issued, and when it stops being valid. Its `Debug` hides
/// the value (it stands for the pushed `state` and `nonce` until it is redeemed).
#[derive(Clone, PartialEq, Eq)]
pub struct PushedRequestUri {
    request_uri: String,
    expires_in: u64,
    expires_at: UnixTime,
}

impl std::fmt::Debug for PushedRequestUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushedRequestUri")
            .field("request_uri", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl PushedRequestUri {
    /// The `request_uri` (RFC 9126 §2.2), e.g. `urn:ietf:params:oauth:request_uri:…`.
    pub fn request_uri(&self) -> &str {
        &self.request_uri
    }

    /// Its lifetime in seconds, as the provider said.
    pub fn expires_in(&self) -> u64 {
        self.expires_in
    }

    /// `now` + `expires_in`: the browser must reach the authorization endpoint before.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

impl PushedAuthorization {
    /// Reads the PAR endpoint's answer (RFC 9126 §2.2, §2.3) and returns the URL to send
    /// the browser to — the authorization endpoint (its own query kept) with `client_id` and
    /// `request_uri` — and the `request_uri` with its expiry. `201` is the success status;
    /// `200` is accepted too.
    ///
    /// # Errors
    /// - [`Error::TooLarge`] past [`wire::MAX_RESPONSE_BYTES`];
    /// - [`Error::Provider`] with the provider's `error` code for an error object (whatever
    ///   the status), so nothing is redirected and nothing should be stored;
    /// - [`Error::Http`] ([`Endpoint::PushedAuthorization`]) for another status without one;
    /// - [`Error::Malformed`] for a body that is not a JSON object, a `request_uri` that is
    ///   missing, empty, not a string or longer than [`MAX_REQUEST_URI_CHARS`], and an
    ///   `expires_in` that is missing, not a positive integer, or so large that it is
    ///   already past the end of time.
    pub fn handle_response<B: AsRef<[u8]>>(
        self,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<(AuthorizationUrl, PushedRequestUri), Error> {
        let pushed = parse_par_response(response, now)?;
        let url = crate::jar::with_params(
            self.authorization_endpoint,
            &[("client_id", &self.client_id), ("request_uri", &pushed.request_uri)],
        );
        Ok((url, pushed))
    }
}

/// Parses a PAR endpoint response; see [`PushedAuthorization::handle_response`].
///
/// # Errors
/// As [`PushedAuthorization::handle_response`].
pub fn parse_par_response<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    now: UnixTime,
) -> Result<PushedRequestUri, Error> {
    let body = wire::body_of(response, Endpoint::PushedAuthorization)?;
    let status = response.status().as_u16();
    let object = serde_json::from_slice::<Value>(body).ok().and_then(|v| match v {
        Value::Object(map) => Some(map),
        _ => None,
    });
    if let Some(map) = &object {
        if let Some(code) = map.get("error").and_then(Value::as_str) {
            let text = |k: &str| map.get(k).and_then(Value::as_str);
            return Err(Error::Provider(ProviderError::from_wire(code, text("error_description"), text("error_uri"))));
        }
    }
    if status != 201 && status != 200 {
        return Err(Error::Http { endpoint: Endpoint::PushedAuthorization, status });
    }
    let map = object.ok_or_else(|| Error::malformed("pushed authorization response: not a JSON object"))?;
    let request_uri = match map.get("request_uri") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_REQUEST_URI_CHARS => s.clone(),
        Some(Value::String(s)) if !s.is_empty() => {
            return Err(Error::malformed("pushed authorization response: `request_uri` is too long"))
        }
        None | Some(Value::Null) => {
            return Err(Error::malformed("pushed authorization response: `request_uri` is missing"))
        }
        Some(_) => {
            return Err(Error::malformed("pushed authorization response: `request_uri` is not a non-empty string"))
        }
    };
    let expires_in = match map.get("expires_in") {
        None | Some(Value::Null) => {
            return Err(Error::malformed("pushed authorization response: `expires_in` is missing"))
        }
        Some(Value::Number(n)) => n.as_u64().filter(|n| *n > 0),
        Some(_) => None,
    }
    .ok_or_else(|| Error::malformed("pushed authorization response: `expires_in` is not a positive integer"))?;
    let expires_at = now
        .as_secs()
        .checked_add(expires_in)
        .map(UnixTime::from_secs)
        .ok_or_else(|| Error::malformed("pushed authorization response: `expires_in` is out of range"))?;
    Ok(PushedRequestUri { request_uri, expires_in, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::AuthorizationRequest;
    use crate::config::TokenEndpointAuthMethod;
    use crate::error::ConfigError;
    use crate::rand::SeededRandom;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn config() -> ClientConfig {
        ClientConfig::new("bank")
            .client_id("app")
            .client_secret("s3cret")
            .issuer("https://op.example")
            .authorize_url("https://op.example/authorize?tenant=t1")
            .redirect_uri("https://app.example/cb")
            .pushed_authorization_request_endpoint("https://op.example/par")
            .scope("openid email")
    }

    fn push(cfg: &ClientConfig, md: Option<&ProviderMetadata>) -> Result<Send<PushedAuthorization>, Error> {
        let (url, _) = AuthorizationRequest::new(cfg).prompt("login").build(&SeededRandom::new(3), NOW)?;
        push_request(cfg, md, &url, &SeededRandom::new(4), NOW)
    }

    fn form(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        url::form_urlencoded::parse(req.body()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn answer(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    const OK: &str = r#"{"request_uri":"urn:ietf:params:oauth:request_uri:x1","expires_in":90}"#;

    #[test]
    fn pushed_body_has_every_authorization_parameter_and_client_auth() {
        let cfg = config();
        let step = push(&cfg, None).unwrap();
        assert_eq!(step.request.method(), http::Method::POST);
        assert_eq!(step.request.uri(), "https://op.example/par");
        assert!(step.request.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
        let body = form(&step.request);
        let names: Vec<&str> = body.iter().map(|(k, _)| k.as_str()).collect();
        for name in ["response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge", "prompt"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        assert!(!names.contains(&"tenant"), "the endpoint's own query is not pushed");
        assert!(body.iter().any(|(k, v)| k == "client_id" && v == "app"), "client_id is a request parameter");
        assert!(!names.contains(&"client_secret"), "client_secret_basic puts the secret in the header only");
    }

    #[test]
    fn private_key_jwt_assertion_is_addressed_to_the_issuer() {
        let mut cfg = config().private_key(crate::jose::sign::tests::EC_PKCS8);
        cfg.client_secret = None;
        cfg.client_kwargs.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::PrivateKeyJwt);
        let body = form(&push(&cfg, None).unwrap().request);
        let assertion = &body.iter().find(|(k, _)| k == "client_assertion").unwrap().1;
        let key = crate::client_auth::signing_key(&cfg).unwrap();
        let (_, claims) = crate::jose::sign::tests::verify_jwt(&key, assertion);
        assert_eq!(claims["aud"], "https://op.example");
        assert!(body.iter().any(|(k, v)| k == "client_id" && v == "app"));
    }

    #[test]
    fn with_request_objects_only_the_signed_request_is_pushed() {
        let mut cfg = config().private_key(crate::jose::sign::tests::EC_PKCS8);
        cfg.client_kwargs.request_object = true;
        let body = form(&push(&cfg, None).unwrap().request);
        let names: Vec<&str> = body.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["client_id", "request"]);
        let key = crate::client_auth::signing_key(&cfg).unwrap();
        let (header, claims) = crate::jose::sign::tests::verify_jwt(&key, &body[1].1);
        assert_eq!(header["typ"], "oauth-authz-req+jwt");
        assert_eq!(claims["prompt"], "login");
        assert_eq!(claims["client_id"], "app");
    }

    #[test]
    fn redirect_keeps_the_endpoints_query_and_sends_only_client_id_and_request_uri() {
        let (url, pushed) = push(&config(), None).unwrap().next.handle_response(&answer(201, OK), NOW).unwrap();
        assert_eq!(
            url.as_str(),
            "https://op.example/authorize?tenant=t1&client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax1"
        );
        assert_eq!(pushed.request_uri(), "urn:ietf:params:oauth:request_uri:x1");
        assert!(format!("{url:?}").contains("request_uri=[redacted]"));
        assert!(!format!("{pushed:?}").contains("x1"));
        assert_eq!(pushed.expires_in(), 90);
        assert_eq!(pushed.expires_at(), NOW.plus(90));
    }

    #[test]
    fn status_200_is_accepted_too() {
        assert!(parse_par_response(&answer(200, OK), NOW).is_ok());
    }

    #[test]
    fn provider_error_is_typed_with_its_code() {
        let err = parse_par_response(&answer(400, r#"{"error":"invalid_request","error_description":"no"}"#), NOW)
            .unwrap_err();
        assert_eq!(err.provider_error_code(), Some("invalid_request"));
        let err = parse_par_response(&answer(401, r#"{"error":"invalid_client"}"#), NOW).unwrap_err();
        assert_eq!(err.provider_error_code(), Some("invalid_client"));
    }

    #[test]
    fn other_status_without_error_body_is_an_http_error() {
        let err = parse_par_response(&answer(500, "<html>oops</html>"), NOW).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::PushedAuthorization, status: 500 });
    }

    #[test]
    fn malformed_answers_are_refused() {
        let cases = [
            ("not json", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (r#"{"expires_in":60}"#, "`request_uri` is missing"),
            (r#"{"request_uri":"","expires_in":60}"#, "`request_uri`"),
            (r#"{"request_uri":7,"expires_in":60}"#, "`request_uri`"),
            (r#"{"request_uri":"urn:x"}"#, "`expires_in` is missing"),
            (r#"{"request_uri":"urn:x","expires_in":0}"#, "not a positive integer"),
            (r#"{"request_uri":"urn:x","expires_in":-5}"#, "not a positive integer"),
            (r#"{"request_uri":"urn:x","expires_in":1.5}"#, "not a positive integer"),
            (r#"{"request_uri":"urn:x","expires_in":"60"}"#, "not a positive integer"),
            (r#"{"request_uri":"urn:x","expires_in":18446744073709551615}"#, "out of range"),
        ];
        for (body, says) in cases {
            let err = parse_par_response(&answer(201, body), NOW).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{body}: {err:?}");
            assert!(err.to_string().contains(says), "{body}: {err}");
        }
        let long = format!(r#"{{"request_uri":"{}","expires_in":60}}"#, "u".repeat(MAX_REQUEST_URI_CHARS + 1));
        assert!(parse_par_response(&answer(201, &long), NOW).unwrap_err().to_string().contains("too long"));
    }

    #[test]
    fn oversized_answer_is_refused_before_parsing() {
        let big = "x".repeat(wire::MAX_RESPONSE_BYTES + 1);
        let err = parse_par_response(&answer(201, &big), NOW).unwrap_err();
        assert!(matches!(err, Error::TooLarge { endpoint: Endpoint::PushedAuthorization, .. }));
    }

    #[test]
    fn no_endpoint_is_a_config_error_naming_the_client() {
        let mut cfg = config();
        cfg.pushed_authorization_request_endpoint = None;
        let err = push(&cfg, None).unwrap_err();
        assert_eq!(err, Error::Config(cfg.missing("pushed_authorization_request_endpoint")));
        assert_eq!(
            err.to_string(),
            "client `bank`: `pushed_authorization_request_endpoint` is required for this operation and is not configured"
        );
    }

    #[test]
    fn discovered_endpoint_is_used_and_must_be_https() {
        let mut cfg = config();
        cfg.pushed_authorization_request_endpoint = None;
        let md = ProviderMetadata {
            issuer: "https://op.example".into(),
            pushed_authorization_request_endpoint: Some("https://op.example/as/par".into()),
            ..Default::default()
        };
        assert_eq!(push(&cfg, Some(&md)).unwrap().request.uri(), "https://op.example/as/par");
        let md = ProviderMetadata { pushed_authorization_request_endpoint: Some("http://op.example/par".into()), ..md };
        let err = push(&cfg, Some(&md)).unwrap_err();
        assert_eq!(
            err,
            Error::Config(ConfigError::InsecureEndpoint {
                client: "bank".into(),
                key: "metadata.pushed_authorization_request_endpoint".into()
            })
        );
        cfg.pushed_authorization_request_endpoint = Some("http://op.example/par".into());
        assert!(matches!(push(&cfg, None).unwrap_err(), Error::Config(ConfigError::InsecureEndpoint { .. })));
    }

    #[test]
    fn par_is_used_when_configured_or_required() {
        let mut cfg = ClientConfig::new("x");
        assert!(!uses_par(&cfg, None));
        let md = ProviderMetadata { require_pushed_authorization_requests: true, ..Default::default() };
        assert!(uses_par(&cfg, Some(&md)));
        cfg.client_kwargs.use_par = true;
        assert!(uses_par(&cfg, None));
    }

    #[test]
    fn metadata_flags_are_parsed_and_type_checked() {
        let resp = |body: &str| http::Response::new(body.as_bytes().to_vec());
        let md = crate::discovery::parse_metadata(
            &resp(
                r#"{"issuer":"https://op.example","pushed_authorization_request_endpoint":"https://op.example/par",
                    "require_pushed_authorization_requests":true,"require_signed_request_object":true,
                    "request_object_signing_alg_values_supported":["ES256"]}"#,
            ),
            "https://op.example",
        )
        .unwrap();
        assert!(md.require_pushed_authorization_requests && md.require_signed_request_object);
        assert_eq!(md.pushed_authorization_request_endpoint.as_deref(), Some("https://op.example/par"));
        assert_eq!(md.request_object_signing_alg_values_supported, Some(vec!["ES256".to_owned()]));
        for bad in [
            r#"{"issuer":"https://op.example","require_pushed_authorization_requests":"yes"}"#,
            r#"{"issuer":"https://op.example","request_object_signing_alg_values_supported":"ES256"}"#,
            r#"{"issuer":"https://op.example","pushed_authorization_request_endpoint":"par"}"#,
        ] {
            assert!(crate::discovery::parse_metadata(&resp(bad), "https://op.example").is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_answer_is_a_value_or_a_typed_error_never_a_panic(
            status in 100u16..600,
            body in proptest::string::string_regex(r#"\{("(request_uri|expires_in|error)":("[a-z:]{0,12}"|-?[0-9]{1,20}(\.5)?|null|true),?){0,3}\}|.{0,40}"#).unwrap(),
        ) {
            let response = http::Response::builder().status(status).body(body.into_bytes()).unwrap();
            if let Ok(pushed) = parse_par_response(&response, NOW) {
                proptest::prop_assert!(pushed.expires_in() > 0 && !pushed.request_uri().is_empty());
                proptest::prop_assert!(status == 200 || status == 201);
            }
        }
    }
}
