//! Requests to protected resources with a bearer token
//! ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750)), relative to `api_base_url`
//! ([RFC 3986 §5](https://www.rfc-editor.org/rfc/rfc3986#section-5)).
//!
//! Authlib's `oauth.github.get('user', token=token)` becomes
//! `resource::get(&config, "user").build(Some(&token))`: the core builds the request, the
//! caller sends it. Before that, [`needs_refresh`] says whether to refresh first; after a
//! refresh, a [`TokenUpdate`] is the seed's `token_update` signal.
//!
//! ```
//! use rpkit::config::ClientConfig;
//! use rpkit::resource;
//! # use rpkit::token::{parse_token_response, Grant};
//! # let now = rpkit::time::UnixTime::from_secs(1_700_000_000);
//! # let resp = http::Response::new(r#"{"access_token":"gho_x","token_type":"bearer"}"#);
//! # let token = parse_token_response(&resp, now, Grant::AuthorizationCode { openid: false }).unwrap();
//!
//! let github = ClientConfig::new("github").api_base_url("https://api.github.com/");
//! let request = resource::get(&github, "user/emails").build(Some(&token)).unwrap();
//! assert_eq!(request.uri(), "https://api.github.com/user/emails");
//! assert_eq!(request.headers()["authorization"], "Bearer gho_x");
//! ```
//!
//! # Security
//! The access token goes in the `Authorization` header, or in a form body with
//! `token_placement = body` — never in the URL, where logs and `Referer` headers would
//! keep it. A relative path that resolves to another origin than `api_base_url` (such as
//! `//elsewhere.example/`) is refused; an **absolute** URL is used as given, and the
//! token goes with it, so only pass absolute URLs you trust.

use crate::config::{ClientConfig, TokenPlacement};
use crate::error::Error;
use crate::secret::{AccessToken, RefreshToken};
use crate::time::UnixTime;
use crate::token::{Token, TokenError};
use crate::wire;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::Method;
use std::fmt;

enum Body {
    Empty,
    Form(Vec<(String, String)>),
    Bytes { data: Vec<u8>, content_type: String },
}

/// A request to a protected resource, built step by step and finished by
/// [`ResourceRequest::build`] with the token to present.
///
/// ```
/// use rpkit::config::{ClientConfig, TokenPlacement};
/// use rpkit::resource::ResourceRequest;
/// # let resp = http::Response::new(r#"{"access_token":"at","token_type":"Bearer"}"#);
/// # let token = rpkit::token::parse_token_response(&resp, rpkit::time::UnixTime::EPOCH,
/// #     rpkit::token::Grant::ClientCredentials).unwrap();
///
/// let mut api = ClientConfig::new("api").api_base_url("https://api.example/v1/");
/// let req = ResourceRequest::new(&api, http::Method::POST, "items")
///     .json(&serde_json::json!({"name": "x"}))
///     .build(Some(&token))
///     .unwrap();
/// assert_eq!(req.uri(), "https://api.example/v1/items");
/// assert_eq!(req.headers()["content-type"], "application/json");
///
/// // RFC 6750 §2.2: the token in a form body instead of the header.
/// api.client_kwargs.token_placement = TokenPlacement::Body;
/// let req = ResourceRequest::new(&api, http::Method::POST, "items")
///     .form([("name", "x")])
///     .build(Some(&token))
///     .unwrap();
/// assert_eq!(req.body(), b"name=x&access_token=at");
/// assert!(!req.headers().contains_key("authorization"));
/// ```
pub struct ResourceRequest {
    client: String,
    api_base_url: Option<String>,
    allow_insecure_http: bool,
    placement: TokenPlacement,
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Body,
    withhold_token: bool,
}

impl fmt::Debug for ResourceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            Body::Empty => "empty",
            Body::Form(_) => "form",
            Body::Bytes { .. } => "bytes",
        };
        f.debug_struct("ResourceRequest")
            .field("client", &self.client)
            .field("method", &self.method)
            .field("target", &self.target)
            .field("placement", &self.placement)
            .field("body", &body)
            .field("withhold_token", &self.withhold_token)
            .finish_non_exhaustive()
    }
}

impl ResourceRequest {
    /// A request for `path_or_url`: a path relative to `api_base_url` (joined per
    /// RFC 3986 §5.2, so with a base of `https://api.example/v1/`, `user` is
    /// `…/v1/user` and `/user` is `https://api.example/user`), or an absolute
    /// `http(s)://` URL used as is.
    pub fn new(config: &ClientConfig, method: Method, path_or_url: impl Into<String>) -> Self {
        ResourceRequest {
            client: config.name.clone(),
            api_base_url: config.api_base_url.clone(),
            allow_insecure_http: config.client_kwargs.danger_allow_insecure_http,
            placement: config.client_kwargs.token_placement,
            method,
            target: path_or_url.into(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            withhold_token: false,
        }
    }

    /// A JSON body (`Content-Type: application/json`).
    #[must_use]
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.body = Body::Bytes { data: value.to_string().into_bytes(), content_type: "application/json".into() };
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    #[must_use]
    pub fn form<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.body = Body::Form(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// A raw body with its content type.
    #[must_use]
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: impl Into<String>) -> Self {
        self.body = Body::Bytes { data: bytes.into(), content_type: content_type.into() };
        self
    }

    /// Adds a header (a `Content-Type` set here wins over the body's).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sends no token even if one is given (Authlib's `withhold_token=True`).
    #[must_use]
    pub fn withhold_token(mut self) -> Self {
        self.withhold_token = true;
        self
    }

    /// Overrides `client_kwargs.token_placement` for this request.
    #[must_use]
    pub fn token_placement(mut self, placement: TokenPlacement) -> Self {
        self.placement = placement;
        self
    }

    /// The URL this request goes to.
    ///
    /// # Errors
    /// [`Error::Config`] (`api_base_url` missing) for a relative path without a base;
    /// [`Error::Malformed`] for an unparsable URL; [`TokenError::PathLeavesApiBase`] when a
    /// relative path resolves to another origin;
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint) when
    /// the URL is neither `https` nor loopback `http` (the token would travel in clear).
    pub fn url(&self) -> Result<url::Url, Error> {
        let url = self.target_url()?;
        if !self.allow_insecure_http && !wire::is_secure_transport(&url) {
            let key = if self.is_absolute() { "resource URL" } else { "api_base_url" };
            return Err(crate::error::ConfigError::InsecureEndpoint {
                client: self.client.clone(),
                key: key.to_owned(),
            }
            .into());
        }
        Ok(url)
    }

    fn is_absolute(&self) -> bool {
        let target = self.target.as_str();
        let scheme_end = target.find("://").unwrap_or(0);
        let scheme = target.get(..scheme_end).unwrap_or_default();
        scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
    }

    fn target_url(&self) -> Result<url::Url, Error> {
        let target = self.target.as_str();
        if self.is_absolute() {
            return wire::parse_url(target, "resource URL");
        }
        let base = self.api_base_url.as_deref().ok_or_else(|| crate::error::ConfigError::Missing {
            client: self.client.clone(),
            key: "api_base_url".to_owned(),
        })?;
        let base = wire::parse_url(base, "api_base_url")?;
        let joined =
            base.join(target).map_err(|_| Error::unusable_config("resource path: cannot be joined to api_base_url"))?;
        if joined.origin() != base.origin() {
            return Err(TokenError::PathLeavesApiBase.into());
        }
        Ok(joined)
    }

    /// Builds the request, presenting `token` (unless withheld) as `Authorization: Bearer`
    /// or, with `token_placement = body`, as an `access_token` form parameter. `None`
    /// sends the request without a token. A DPoP-bound token goes in the header as
    /// `Authorization: DPoP <token>` (RFC 9449 §7.1; its proof is added by
    /// [`DpopKey::add_proof`](crate::dpop::DpopKey::add_proof), which the async client does),
    /// never in the body ([`DpopError::TokenNotInHeader`](crate::dpop::DpopError::TokenNotInHeader)).
    ///
    /// # Errors
    /// As [`ResourceRequest::url`]; [`TokenError::UnsupportedTokenType`] for a token that
    /// is not a bearer token; [`TokenError::CannotPlaceInBody`] for body placement on GET
    /// or HEAD or with a non-form body; [`Error::Malformed`] for an invalid header.
    pub fn build(self, token: Option<&Token>) -> Result<http::Request<Vec<u8>>, Error> {
        let url = self.url()?;
        let ResourceRequest { placement, method, mut headers, mut body, withhold_token, .. } = self;
        if let Some(token) = token.filter(|_| !withhold_token) {
            if !token.is_bearer() && !token.is_dpop() {
                let token_type = token.token_type.chars().take(64).collect();
                return Err(TokenError::UnsupportedTokenType { token_type }.into());
            }
            // RFC 9449 §7.1: a DPoP-bound token goes in the header, with the `DPoP` scheme
            // (the proof itself is added by `dpop::DpopKey::add_proof`).
            let scheme = if token.is_dpop() { "DPoP" } else { "Bearer" };
            if token.is_dpop() && placement == TokenPlacement::Body {
                return Err(crate::dpop::DpopError::TokenNotInHeader.into());
            }
            match placement {
                TokenPlacement::Header => {
                    let mut value = HeaderValue::try_from(format!("{scheme} {}", token.access_token.secret()))
                        .map_err(|_| Error::malformed("access token: not usable in an Authorization header"))?;
                    value.set_sensitive(true);
                    headers.insert(AUTHORIZATION, value);
                }
                TokenPlacement::Body => {
                    if method == Method::GET || method == Method::HEAD {
                        return Err(
                            TokenError::CannotPlaceInBody { reason: "GET and HEAD requests have no body" }.into()
                        );
                    }
                    let access_token = ("access_token".to_owned(), token.access_token.secret().to_owned());
                    body = match body {
                        Body::Empty => Body::Form(vec![access_token]),
                        Body::Form(mut pairs) => {
                            pairs.retain(|(k, _)| k != "access_token");
                            pairs.push(access_token);
                            Body::Form(pairs)
                        }
                        Body::Bytes { .. } => {
                            return Err(
                                TokenError::CannotPlaceInBody { reason: "the request body is not a form" }.into()
                            )
                        }
                    };
                }
            }
        }
        let (data, content_type) = match body {
            Body::Empty => (Vec::new(), None),
            Body::Form(pairs) => (
                wire::form_encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).into_bytes(),
                Some(wire::FORM_CONTENT_TYPE.to_owned()),
            ),
            Body::Bytes { data, content_type } => (data, Some(content_type)),
        };
        if let Some(ct) = content_type {
            if !headers.contains_key(CONTENT_TYPE) {
                let value = HeaderValue::try_from(ct)
                    .map_err(|_| Error::unusable_config("resource request: invalid content type"))?;
                headers.insert(CONTENT_TYPE, value);
            }
        }
        let uri: http::Uri =
            url.as_str().parse().map_err(|_| Error::unusable_config("resource URL: not a valid request URI"))?;
        let mut request = http::Request::new(data);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// A GET request (see [`ResourceRequest::new`]).
pub fn get(config: &ClientConfig, path_or_url: impl Into<String>) -> ResourceRequest {
    ResourceRequest::new(config, Method::GET, path_or_url)
}

/// A POST request (see [`ResourceRequest::new`]).
pub fn post(config: &ClientConfig, path_or_url: impl Into<String>) -> ResourceRequest {
    ResourceRequest::new(config, Method::POST, path_or_url)
}

/// A PUT request (see [`ResourceRequest::new`]).
pub fn put(config: &ClientConfig, path_or_url: impl Into<String>) -> ResourceRequest {
    ResourceRequest::new(config, Method::PUT, path_or_url)
}

/// A PATCH request (see [`ResourceRequest::new`]).
pub fn patch(config: &ClientConfig, path_or_url: impl Into<String>) -> ResourceRequest {
    ResourceRequest::new(config, Method::PATCH, path_or_url)
}

/// A DELETE request (see [`ResourceRequest::new`]).
pub fn delete(config: &ClientConfig, path_or_url: impl Into<String>) -> ResourceRequest {
    ResourceRequest::new(config, Method::DELETE, path_or_url)
}

/// Whether `token` should be refreshed before use: its `expires_at` is known and no later
/// than `now + leeway` (use [`ClientConfig::leeway`]). A token without `expires_at` is
/// used as is.
pub fn needs_refresh(token: &Token, now: UnixTime, leeway: u64) -> bool {
    token.expires_at.is_some_and(|at| at <= now.plus(leeway))
}

/// A refreshed token, as the seed's `token_update` signal reports it:
/// `(name, token, refresh_token=old refresh token | access_token=old access token)`.
///
/// Exactly one of `refresh_token` and `access_token` is set: the OLD refresh token when
/// the old token had one (find the stored token by it), else the OLD access token.
///
/// ```
/// use rpkit::resource::TokenUpdate;
/// # let parse = |b: &'static str| rpkit::token::parse_token_response(&http::Response::new(b),
/// #     rpkit::time::UnixTime::EPOCH, rpkit::token::Grant::Refresh).unwrap();
/// let old = parse(r#"{"access_token":"at1","token_type":"Bearer","refresh_token":"rt1"}"#);
/// let new = parse(r#"{"access_token":"at2","token_type":"Bearer"}"#);
/// let new = old.clone().merge_refresh(new);
/// let update = TokenUpdate::new("github", &old, new);
/// assert_eq!(update.refresh_token.unwrap().secret(), "rt1");
/// assert!(update.access_token.is_none());
/// assert_eq!(update.token.access_token.secret(), "at2");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TokenUpdate {
    /// The client's registered name.
    pub name: String,
    /// The new token.
    pub token: Token,
    /// The old token's refresh token, when it had one.
    pub refresh_token: Option<RefreshToken>,
    /// The old token's access token, when it had no refresh token.
    pub access_token: Option<AccessToken>,
}

impl TokenUpdate {
    /// The update event for replacing `old` with `new` for the client `name`.
    pub fn new(name: impl Into<String>, old: &Token, new: Token) -> Self {
        let (refresh_token, access_token) = match &old.refresh_token {
            Some(rt) => (Some(rt.clone()), None),
            None => (None, Some(old.access_token.clone())),
        };
        TokenUpdate { name: name.into(), token: new, refresh_token, access_token }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use proptest::prelude::*;
    use serde_json::Map;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn token(at: &str, rt: Option<&str>) -> Token {
        Token {
            access_token: AccessToken::new(at),
            token_type: "Bearer".into(),
            expires_in: None,
            expires_at: None,
            refresh_token: rt.map(RefreshToken::new),
            refresh_expires_in: None,
            scope: None,
            id_token: None,
            userinfo: None,
            extra: Map::new(),
        }
    }

    fn api() -> ClientConfig {
        ClientConfig::new("api").api_base_url("https://api.example/v1/")
    }

    fn body_api() -> ClientConfig {
        let mut c = api();
        c.client_kwargs.token_placement = TokenPlacement::Body;
        c
    }

    #[test]
    fn relative_paths_join_per_rfc_3986() {
        let url = |path: &str| get(&api(), path).url().unwrap().to_string();
        assert_eq!(url("user"), "https://api.example/v1/user");
        assert_eq!(url("/user"), "https://api.example/user");
        assert_eq!(url("user/emails?page=2"), "https://api.example/v1/user/emails?page=2");
        assert_eq!(url("../v2/x"), "https://api.example/v2/x");
        let no_slash = ClientConfig::new("api").api_base_url("https://api.example/v1");
        assert_eq!(get(&no_slash, "user").url().unwrap().as_str(), "https://api.example/user");
    }

    #[test]
    fn absolute_urls_are_kept() {
        let req = get(&api(), "https://uploads.example/x?y=1").build(None).unwrap();
        assert_eq!(req.uri(), "https://uploads.example/x?y=1");
        let no_base = ClientConfig::new("api");
        assert_eq!(get(&no_base, "HTTP://127.0.0.1:9/").url().unwrap().as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn a_token_is_never_sent_over_plain_http_to_a_remote_host() {
        let no_base = ClientConfig::new("api");
        let err = get(&no_base, "HTTP://other.example/").build(None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "resource URL"));
        let plain_base = ClientConfig::new("api").api_base_url("http://api.example/v1/");
        let err = get(&plain_base, "user").build(None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::InsecureEndpoint { ref key, .. }) if key == "api_base_url"));
        // The loudly named opt-out, for closed test networks.
        let mut opted_out = plain_base.clone();
        opted_out.client_kwargs.danger_allow_insecure_http = true;
        assert_eq!(get(&opted_out, "user").url().unwrap().as_str(), "http://api.example/v1/user");
    }

    #[test]
    fn relative_path_without_api_base_url_is_a_config_error() {
        let err = get(&ClientConfig::new("api"), "user").build(None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Missing { ref key, .. }) if key == "api_base_url"));
    }

    #[test]
    fn relative_path_leaving_the_api_origin_is_refused() {
        for path in ["//evil.example/steal", "javascript:alert(1)", "user:email", "mailto:x@y"] {
            let err = get(&api(), path).build(Some(&token("at", None))).unwrap_err();
            assert_eq!(err, Error::Token(TokenError::PathLeavesApiBase), "{path}");
        }
    }

    #[test]
    fn bearer_header_is_the_default_and_sensitive() {
        let req = get(&api(), "user").build(Some(&token("at-1", None))).unwrap();
        let auth = &req.headers()[AUTHORIZATION];
        assert_eq!(auth, "Bearer at-1");
        assert!(auth.is_sensitive());
        assert!(req.body().is_empty());
    }

    #[test]
    fn token_is_never_put_in_the_query() {
        for config in [api(), body_api()] {
            for method in [Method::POST, Method::PUT, Method::DELETE] {
                let req =
                    ResourceRequest::new(&config, method, "items?x=1").build(Some(&token("SECRET", None))).unwrap();
                assert!(!req.uri().to_string().contains("SECRET"));
                assert_eq!(req.uri().query(), Some("x=1"));
            }
        }
    }

    #[test]
    fn body_placement_puts_access_token_in_the_form() {
        let req = post(&body_api(), "items")
            .form([("a", "1"), ("access_token", "forged")])
            .build(Some(&token("at", None)))
            .unwrap();
        assert_eq!(req.body(), b"a=1&access_token=at");
        assert_eq!(req.headers()[CONTENT_TYPE], wire::FORM_CONTENT_TYPE);
        assert!(!req.headers().contains_key(AUTHORIZATION));
        let empty = delete(&body_api(), "items/1").build(Some(&token("at", None))).unwrap();
        assert_eq!(empty.body(), b"access_token=at");
    }

    #[test]
    fn body_placement_on_get_or_head_is_refused() {
        for method in [Method::GET, Method::HEAD] {
            let err = ResourceRequest::new(&body_api(), method, "user").build(Some(&token("at", None))).unwrap_err();
            assert!(matches!(err, Error::Token(TokenError::CannotPlaceInBody { .. })));
        }
    }

    #[test]
    fn body_placement_with_a_non_form_body_is_refused() {
        let err = post(&body_api(), "items").json(&serde_json::json!({})).build(Some(&token("at", None))).unwrap_err();
        assert!(matches!(err, Error::Token(TokenError::CannotPlaceInBody { .. })));
        // Without a token there is nothing to place.
        assert!(post(&body_api(), "items").json(&serde_json::json!({})).build(None).is_ok());
    }

    #[test]
    fn withheld_token_is_not_sent() {
        let req = get(&api(), "public").withhold_token().build(Some(&token("at", None))).unwrap();
        assert!(!req.headers().contains_key(AUTHORIZATION));
        let req = get(&api(), "public").build(None).unwrap();
        assert!(!req.headers().contains_key(AUTHORIZATION));
    }

    #[test]
    fn non_bearer_stored_token_is_refused() {
        let mut t = token("at", None);
        t.token_type = "MAC".into();
        let err = get(&api(), "user").build(Some(&t)).unwrap_err();
        assert_eq!(err, Error::Token(TokenError::UnsupportedTokenType { token_type: "MAC".into() }));
    }

    #[test]
    fn token_with_control_characters_is_an_error_not_a_panic() {
        let err = get(&api(), "user").build(Some(&token("a\nb", None))).unwrap_err();
        assert!(matches!(err, Error::Malformed { ref what } if !what.contains("a\nb")));
    }

    #[test]
    fn json_raw_bodies_and_headers_are_sent() {
        let req = put(&api(), "items/1").json(&serde_json::json!({"k": "v"})).build(None).unwrap();
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.body(), br#"{"k":"v"}"#);
        let req = patch(&api(), "items/1")
            .body(b"<x/>".to_vec(), "application/xml")
            .header(http::header::ACCEPT, HeaderValue::from_static("application/xml"))
            .header(CONTENT_TYPE, HeaderValue::from_static("text/xml"))
            .build(None)
            .unwrap();
        assert_eq!(req.headers()[CONTENT_TYPE], "text/xml");
        assert_eq!(req.headers()[http::header::ACCEPT], "application/xml");
        let err = post(&api(), "x").body(Vec::new(), "bad\ntype").build(None).unwrap_err();
        assert!(matches!(err, Error::Config(ConfigError::Unusable { .. })));
    }

    #[test]
    fn needs_refresh_respects_expiry_and_leeway() {
        let mut t = token("at", Some("rt"));
        assert!(!needs_refresh(&t, NOW, 60), "unknown expiry: use as is");
        t.expires_at = Some(NOW.minus(1));
        assert!(needs_refresh(&t, NOW, 0));
        t.expires_at = Some(NOW.plus(30));
        assert!(needs_refresh(&t, NOW, 60));
        assert!(!needs_refresh(&t, NOW, 10));
        t.expires_at = Some(NOW.plus(3600));
        assert!(!needs_refresh(&t, NOW, 60));
    }

    #[test]
    fn token_update_names_the_old_refresh_token_when_there_was_one() {
        let old = token("at-old", Some("rt-old"));
        let update = TokenUpdate::new("github", &old, token("at-new", Some("rt-new")));
        assert_eq!(update.name, "github");
        assert_eq!(update.refresh_token.as_ref().map(RefreshToken::secret), Some("rt-old"));
        assert!(update.access_token.is_none());
        assert_eq!(update.token.access_token.secret(), "at-new");
    }

    #[test]
    fn token_update_names_the_old_access_token_otherwise() {
        let update = TokenUpdate::new("github", &token("at-old", None), token("at-new", None));
        assert!(update.refresh_token.is_none());
        assert_eq!(update.access_token.as_ref().map(AccessToken::secret), Some("at-old"));
    }

    #[test]
    fn debug_does_not_show_bodies() {
        let req = post(&api(), "x").form([("password", "hunter2")]);
        assert!(!format!("{req:?}").contains("hunter2"));
    }

    proptest! {
        #[test]
        fn building_any_path_never_panics(path in ".{0,80}", placement_body in any::<bool>()) {
            let config = if placement_body { body_api() } else { api() };
            let t = token("at", None);
            if let Ok(req) = post(&config, path.clone()).build(Some(&t)) {
                prop_assert!(!req.uri().to_string().contains("access_token=at"));
            }
            let _ = get(&config, path).build(Some(&t));
        }
    }
}
