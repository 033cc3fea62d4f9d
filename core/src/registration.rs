//! Dynamic client registration ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)) and its
//! management protocol ([RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)): register a
//! client from its metadata, then read, update or delete it with the registration access
//! token. The result becomes a [`ClientConfig`] for the registry.
//!
//! ```text
//!  registration_request(base, endpoint, &metadata, initial_token?) ──► POST JSON registration_endpoint
//!  parse_registration_response(response)  ◄── 201 client_id, client_secret, registration_access_token, …
//!        └─► RegisteredClient ──► client_config(name) ──► OAuth::register
//!  read_request / update_request / delete_request(base, &registered) ──► GET / PUT / DELETE registration_client_uri
//!  parse_management_response(response, &registered) / parse_delete_response(response)
//! ```
//!
//! ```
//! use rpkit::registration::{parse_registration_response, registration_request, ClientMetadata};
//! use rpkit::ClientConfig;
//! let base = ClientConfig::new("dyn");
//! let metadata = ClientMetadata::new()
//!     .redirect_uris(["https://app.example/cb"])
//!     .client_name("My app")
//!     .token_endpoint_auth_method("client_secret_basic");
//! let req = registration_request(&base, "https://op.example/register", &metadata, None)?;
//! assert_eq!(req.method(), http::Method::POST);
//!
//! let created = http::Response::builder().status(201).body(
//!     br#"{"client_id":"c-1","client_secret":"cs-s3cret","registration_access_token":"rat-s3cret",
//!          "registration_client_uri":"https://op.example/register/c-1",
//!          "redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#.to_vec(),
//! ).unwrap();
//! let registered = parse_registration_response(&created)?;
//! assert_eq!(registered.client_id, "c-1");
//! assert!(!format!("{registered:?}").contains("s3cret"));
//! let config = registered.client_config("dyn").server_metadata_url("https://op.example/.well-known/openid-configuration");
//! assert_eq!(config.client_id.as_deref(), Some("c-1"));
//! assert_eq!(config.redirect_uri.as_deref(), Some("https://app.example/cb"));
//! # Ok::<(), rpkit::Error>(())
//! ```

use crate::config::{ClientConfig, TokenEndpointAuthMethod};
use crate::discovery::{check_transport, ProviderMetadata};
use crate::error::{Endpoint, Error, ProviderError};
use crate::secret::{ClientSecret, InitialAccessToken, RegistrationAccessToken};
use crate::wire;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a registration (or a management request) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2): a redirect URI was refused.
    #[error("the provider refused a redirect URI: {0}")]
    InvalidRedirectUri(ProviderError),
    /// `invalid_client_metadata` (RFC 7591 §3.2.2): a metadata value was refused.
    #[error("the provider refused the client metadata: {0}")]
    InvalidClientMetadata(ProviderError),
    /// `invalid_software_statement` (RFC 7591 §3.2.2).
    #[error("the provider refused the software statement: {0}")]
    InvalidSoftwareStatement(ProviderError),
    /// `unapproved_software_statement` (RFC 7591 §3.2.2).
    #[error("the provider does not approve the software statement: {0}")]
    UnapprovedSoftwareStatement(ProviderError),
    /// The registration has no `registration_client_uri` or `registration_access_token`,
    /// so it cannot be read, updated or deleted (RFC 7592 is optional for providers).
    #[error("the registration cannot be managed: the provider returned no {missing}")]
    NotManageable {
        /// The missing member.
        missing: &'static str,
    },
    /// A management response names another client than the one asked for.
    #[error("the client configuration response is for another client")]
    ClientIdMismatch,
}

impl RegistrationError {
    /// What the provider said, when it said it.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            RegistrationError::InvalidRedirectUri(p)
            | RegistrationError::InvalidClientMetadata(p)
            | RegistrationError::InvalidSoftwareStatement(p)
            | RegistrationError::UnapprovedSoftwareStatement(p) => Some(p),
            RegistrationError::NotManageable { .. } | RegistrationError::ClientIdMismatch => None,
        }
    }
}

impl ProviderMetadata {
    /// `registration_endpoint` (RFC 8414 §2, OIDC Discovery §3), if the provider has one.
    pub fn registration_endpoint(&self) -> Option<&str> {
        self.extra_str("registration_endpoint")
    }
}

/// Client metadata ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)): a
/// JSON object with typed setters for the common members; any other member with
/// [`ClientMetadata::set`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMetadata(Map<String, Value>);

impl ClientMetadata {
    /// Empty metadata (the provider fills in its defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets any member.
    #[must_use]
    pub fn set(mut self, member: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(member.into(), value.into());
        self
    }

    /// `redirect_uris`.
    #[must_use]
    pub fn redirect_uris<I: IntoIterator<Item = S>, S: Into<String>>(self, uris: I) -> Self {
        self.set("redirect_uris", strings(uris))
    }

    /// `grant_types` (e.g. `authorization_code`, `refresh_token`,
    /// `urn:ietf:params:oauth:grant-type:device_code`).
    #[must_use]
    pub fn grant_types<I: IntoIterator<Item = S>, S: Into<String>>(self, grants: I) -> Self {
        self.set("grant_types", strings(grants))
    }

    /// `response_types` (e.g. `code`; an empty list for a device-only client).
    #[must_use]
    pub fn response_types<I: IntoIterator<Item = S>, S: Into<String>>(self, types: I) -> Self {
        self.set("response_types", strings(types))
    }

    /// `token_endpoint_auth_method`.
    #[must_use]
    pub fn token_endpoint_auth_method(self, method: &str) -> Self {
        self.set("token_endpoint_auth_method", method)
    }

    /// `client_name`.
    #[must_use]
    pub fn client_name(self, name: impl Into<String>) -> Self {
        self.set("client_name", name.into())
    }

    /// `scope` (space-separated).
    #[must_use]
    pub fn scope(self, scope: impl Into<String>) -> Self {
        self.set("scope", scope.into())
    }

    /// A member.
    pub fn get(&self, member: &str) -> Option<&Value> {
        self.0.get(member)
    }

    /// A string member.
    pub fn get_str(&self, member: &str) -> Option<&str> {
        self.0.get(member).and_then(Value::as_str)
    }

    /// The members.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

/// A registered client ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1),
/// [RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3)): its credentials, the
/// registration access token for managing it, and the metadata as the provider
/// registered it. `Debug` shows neither secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for a confidential client.
    pub client_secret: Option<ClientSecret>,
    /// `registration_access_token` (RFC 7592): keep it as safely as the client secret.
    pub registration_access_token: Option<RegistrationAccessToken>,
    /// `registration_client_uri` (RFC 7592): where to read, update and delete the client.
    pub registration_client_uri: Option<String>,
    /// `client_id_issued_at`, seconds since the epoch.
    pub client_id_issued_at: Option<u64>,
    /// `client_secret_expires_at`, seconds since the epoch; `0` means never (RFC 7591 §3.2.1).
    pub client_secret_expires_at: Option<u64>,
    /// Every other member: the metadata as registered (the provider may have changed or
    /// added values).
    pub metadata: ClientMetadata,
}

impl RegisteredClient {
    /// A configuration for the registry: `client_id`, `client_secret`, the first
    /// registered redirect URI, `scope` and `token_endpoint_auth_method` as registered.
    /// Add the provider (`server_metadata_url`, or endpoints) before registering it.
    pub fn client_config(&self, name: &str) -> ClientConfig {
        self.apply_to(ClientConfig::new(name))
    }

    /// `base` (with its provider settings) with this client's credentials and registered
    /// values filled in; what `base` sets for `redirect_uri`, `scope` or the
    /// authentication method wins.
    pub fn apply_to(&self, mut base: ClientConfig) -> ClientConfig {
        base.client_id = Some(self.client_id.clone());
        base.client_secret = self.client_secret.clone();
        if base.redirect_uri.is_none() {
            base.redirect_uri = self
                .metadata
                .get("redirect_uris")
                .and_then(Value::as_array)
                .and_then(|uris| uris.first())
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        if base.client_kwargs.scope.is_none() {
            base.client_kwargs.scope = self.metadata.get_str("scope").map(str::to_owned);
        }
        if base.client_kwargs.token_endpoint_auth_method.is_none() {
            base.client_kwargs.token_endpoint_auth_method =
                self.metadata.get_str("token_endpoint_auth_method").and_then(TokenEndpointAuthMethod::parse);
        }
        base
    }

    /// Whether the client secret has expired at `now` (`client_secret_expires_at`, `0`:
    /// never).
    pub fn secret_expired(&self, now: crate::UnixTime) -> bool {
        matches!(self.client_secret_expires_at, Some(at) if at != 0 && now.as_secs() >= at)
    }
}

/// The registration endpoint: `endpoint` if given, else the metadata's
/// `registration_endpoint`; `https` (or loopback `http`) per [`check_transport`].
///
/// # Errors
/// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`registration_endpoint`);
/// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint).
pub fn registration_endpoint<'a>(
    base: &ClientConfig,
    endpoint: Option<&'a str>,
    metadata: Option<&'a ProviderMetadata>,
) -> Result<&'a str, Error> {
    let (url, discovered) = match (endpoint, metadata.and_then(ProviderMetadata::registration_endpoint)) {
        (Some(url), _) => (url, false),
        (None, Some(url)) => (url, true),
        (None, None) => return Err(base.missing("registration_endpoint").into()),
    };
    check_transport(base, "registration_endpoint", url, discovered)?;
    Ok(url)
}

/// The registration request (RFC 7591 §3.1): `metadata` as JSON, POSTed to `endpoint`,
/// with the initial access token as a Bearer credential when the provider requires one.
/// `base` is the configuration the registered client will start from (its name and
/// `danger_allow_insecure_http` apply to the TLS check).
///
/// # Errors
/// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint);
/// [`Error::Malformed`] for an endpoint that is not a URL.
pub fn registration_request(
    base: &ClientConfig,
    endpoint: &str,
    metadata: &ClientMetadata,
    initial_access_token: Option<&InitialAccessToken>,
) -> Result<http::Request<Vec<u8>>, Error> {
    check_transport(base, "registration_endpoint", endpoint, false)?;
    let body = serde_json::to_vec(&metadata.0).map_err(|_| Error::unusable_config("client metadata: not JSON"))?;
    json_request(http::Method::POST, endpoint, initial_access_token.map(InitialAccessToken::secret), body)
}

fn json_request(
    method: http::Method,
    url: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, Error> {
    wire::parse_url(url, "registration endpoint")?;
    let mut builder = http::Request::builder().method(method).uri(url).header(ACCEPT, "application/json");
    if !body.is_empty() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    if let Some(token) = bearer {
        let mut value = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Error::unusable_config("registration access token: not a valid header value"))?;
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    builder.body(body).map_err(|_| Error::unusable_config("registration endpoint: not a valid URI"))
}

/// Where and with what to manage `registered`: its `registration_client_uri` (TLS
/// checked) and its registration access token.
fn management<'a>(base: &ClientConfig, registered: &'a RegisteredClient) -> Result<(&'a str, &'a str), Error> {
    let uri = registered
        .registration_client_uri
        .as_deref()
        .ok_or(RegistrationError::NotManageable { missing: "registration_client_uri" })?;
    let token = registered
        .registration_access_token
        .as_ref()
        .ok_or(RegistrationError::NotManageable { missing: "registration_access_token" })?;
    check_transport(base, "registration_client_uri", uri, true)?;
    Ok((uri, token.secret()))
}

/// The read request (RFC 7592 §2.1): GET `registration_client_uri` with the registration
/// access token.
///
/// # Errors
/// [`RegistrationError::NotManageable`]; the TLS check.
pub fn read_request(base: &ClientConfig, registered: &RegisteredClient) -> Result<http::Request<Vec<u8>>, Error> {
    let (uri, token) = management(base, registered)?;
    json_request(http::Method::GET, uri, Some(token), Vec::new())
}

/// The update request (RFC 7592 §2.2): PUT the **whole** new `metadata` (what it leaves
/// out, the provider may reset) with `client_id` — and `client_secret`, which must match —
/// to `registration_client_uri`. The registration members themselves
/// (`registration_access_token`, `registration_client_uri`, `client_secret_expires_at`,
/// `client_id_issued_at`) are never sent.
///
/// # Errors
/// As [`read_request`].
pub fn update_request(
    base: &ClientConfig,
    registered: &RegisteredClient,
    metadata: &ClientMetadata,
) -> Result<http::Request<Vec<u8>>, Error> {
    let (uri, token) = management(base, registered)?;
    let mut body = metadata.0.clone();
    for forbidden in
        ["registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"]
    {
        body.remove(forbidden);
    }
    body.insert("client_id".into(), Value::String(registered.client_id.clone()));
    if let Some(secret) = &registered.client_secret {
        body.insert("client_secret".into(), Value::String(secret.secret().to_owned()));
    }
    let body = serde_json::to_vec(&body).map_err(|_| Error::unusable_config("client metadata: not JSON"))?;
    json_request(http::Method::PUT, uri, Some(token), body)
}

/// The delete request (RFC 7592 §2.3): DELETE `registration_client_uri` with the
/// registration access token.
///
/// # Errors
/// As [`read_request`].
pub fn delete_request(base: &ClientConfig, registered: &RegisteredClient) -> Result<http::Request<Vec<u8>>, Error> {
    let (uri, token) = management(base, registered)?;
    json_request(http::Method::DELETE, uri, Some(token), Vec::new())
}

/// Reads the registration response (RFC 7591 §3.2): `201 Created` (any 2xx) with the
/// client information.
///
/// # Errors
/// [`RegistrationError`] for the RFC 7591 §3.2.2 error codes, [`Error::Provider`] for
/// another error object, [`Error::Http`] for another status, [`Error::Malformed`] when
/// `client_id` is missing or a member has the wrong type, [`Error::TooLarge`].
pub fn parse_registration_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<RegisteredClient, Error> {
    let map = success_body(response)?;
    registered_from(map, None)
}

/// Reads the answer to a read or update request (RFC 7592 §3): the client information as
/// now registered. A registration access token or client URI the answer does not repeat
/// is kept from `previous`; a new one replaces it (the provider may rotate them).
///
/// # Errors
/// As [`parse_registration_response`]; [`RegistrationError::ClientIdMismatch`] when the
/// answer names another client.
pub fn parse_management_response<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    previous: &RegisteredClient,
) -> Result<RegisteredClient, Error> {
    let map = success_body(response)?;
    registered_from(map, Some(previous))
}

/// Reads the delete response (RFC 7592 §2.3): `204 No Content` (any 2xx).
///
/// # Errors
/// As [`parse_registration_response`] for an error answer.
pub fn parse_delete_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<(), Error> {
    let body = wire::body_of(response, Endpoint::Registration)?;
    if response.status().is_success() {
        return Ok(());
    }
    Err(error_of(response.status(), body))
}

fn success_body<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<Map<String, Value>, Error> {
    let body = wire::body_of(response, Endpoint::Registration)?;
    if !response.status().is_success() {
        return Err(error_of(response.status(), body));
    }
    serde_json::from_slice(body).map_err(|_| Error::malformed("registration response: not a JSON object"))
}

fn error_of(status: http::StatusCode, body: &[u8]) -> Error {
    let map: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let Some(err) = map.as_ref().and_then(|map| {
        let code = map.get("error")?.as_str()?;
        let text = |k: &str| map.get(k).and_then(Value::as_str);
        Some(ProviderError::from_wire(code, text("error_description"), text("error_uri")))
    }) else {
        return Error::Http { endpoint: Endpoint::Registration, status: status.as_u16() };
    };
    match err.error.as_str() {
        "invalid_redirect_uri" => RegistrationError::InvalidRedirectUri(err).into(),
        "invalid_client_metadata" => RegistrationError::InvalidClientMetadata(err).into(),
        "invalid_software_statement" => RegistrationError::InvalidSoftwareStatement(err).into(),
        "unapproved_software_statement" => RegistrationError::UnapprovedSoftwareStatement(err).into(),
        _ => Error::Provider(err),
    }
}

fn registered_from(
    mut map: Map<String, Value>,
    previous: Option<&RegisteredClient>,
) -> Result<RegisteredClient, Error> {
    let bad = |member: &str| Error::malformed(format!("registration response: `{member}` is not of the right type"));
    let client_id = match map.remove("client_id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(_) => return Err(bad("client_id")),
        None => return Err(Error::malformed("registration response: `client_id` is missing")),
    };
    if let Some(previous) = previous {
        if previous.client_id != client_id {
            return Err(RegistrationError::ClientIdMismatch.into());
        }
    }
    let mut string = |member: &str| match map.remove(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(member)),
    };
    let client_secret = string("client_secret")?.map(ClientSecret::new);
    let token = string("registration_access_token")?.map(RegistrationAccessToken::new);
    let uri = string("registration_client_uri")?;
    if let Some(uri) = &uri {
        match url::Url::parse(uri) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => return Err(bad("registration_client_uri")),
        }
    }
    let mut number = |member: &str| match map.remove(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(member)),
        Some(_) => Err(bad(member)),
    };
    let client_id_issued_at = number("client_id_issued_at")?;
    let client_secret_expires_at = number("client_secret_expires_at")?;
    Ok(RegisteredClient {
        client_id,
        client_secret: client_secret.or_else(|| previous.and_then(|p| p.client_secret.clone())),
        registration_access_token: token.or_else(|| previous.and_then(|p| p.registration_access_token.clone())),
        registration_client_uri: uri.or_else(|| previous.and_then(|p| p.registration_client_uri.clone())),
        client_id_issued_at: client_id_issued_at.or_else(|| previous.and_then(|p| p.client_id_issued_at)),
        client_secret_expires_at,
        metadata: ClientMetadata(map),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    const CREATED: &str = r#"{"client_id":"c-1","client_secret":"cs-s3cret","registration_access_token":"rat-s3cret",
        "registration_client_uri":"https://op.example/reg/c-1","client_id_issued_at":1700000000,
        "client_secret_expires_at":0,"redirect_uris":["https://app.example/cb"],"scope":"openid email",
        "token_endpoint_auth_method":"client_secret_post","client_name":"App"}"#;

    fn registered() -> RegisteredClient {
        parse_registration_response(&resp(201, CREATED)).unwrap()
    }

    #[test]
    fn the_registration_request_posts_json_with_the_initial_access_token() {
        let md = ClientMetadata::new().redirect_uris(["https://app.example/cb"]).grant_types(["authorization_code"]);
        let iat = InitialAccessToken::new("iat-s3cret");
        let req = registration_request(&ClientConfig::new("dyn"), "https://op.example/reg", &md, Some(&iat)).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer iat-s3cret");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body["redirect_uris"][0], "https://app.example/cb");
        let req = registration_request(&ClientConfig::new("dyn"), "https://op.example/reg", &md, None).unwrap();
        assert!(!req.headers().contains_key(AUTHORIZATION));
    }

    #[test]
    fn registration_endpoints_must_be_tls() {
        let md = ClientMetadata::new();
        let err = registration_request(&ClientConfig::new("dyn"), "http://op.example/reg", &md, None).unwrap_err();
        assert!(matches!(err, Error::Config(crate::error::ConfigError::InsecureEndpoint { .. })));
        assert!(registration_request(&ClientConfig::new("dyn"), "http://127.0.0.1:9/reg", &md, None).is_ok());
        let err = registration_endpoint(&ClientConfig::new("dyn"), None, None).unwrap_err();
        assert!(
            matches!(err, Error::Config(crate::error::ConfigError::Missing { ref key, .. }) if key == "registration_endpoint")
        );
        let mut pm = ProviderMetadata { issuer: "https://op.example".into(), ..Default::default() };
        pm.extra.insert("registration_endpoint".into(), "https://op.example/r".into());
        assert_eq!(registration_endpoint(&ClientConfig::new("dyn"), None, Some(&pm)).unwrap(), "https://op.example/r");
        let mut insecure = registered();
        insecure.registration_client_uri = Some("http://op.example/reg/c-1".into());
        let err = read_request(&ClientConfig::new("dyn"), &insecure).unwrap_err();
        assert!(matches!(err, Error::Config(crate::error::ConfigError::InsecureEndpoint { .. })));
    }

    #[test]
    fn the_registration_response_keeps_secrets_as_secrets_and_the_rest_as_metadata() {
        let r = registered();
        assert_eq!(r.client_id, "c-1");
        assert_eq!(r.client_secret.as_ref().unwrap().secret(), "cs-s3cret");
        assert_eq!(r.registration_access_token.as_ref().unwrap().secret(), "rat-s3cret");
        assert_eq!(r.registration_client_uri.as_deref(), Some("https://op.example/reg/c-1"));
        assert_eq!(r.client_id_issued_at, Some(1_700_000_000));
        assert!(!r.secret_expired(crate::UnixTime::from_secs(u64::MAX / 2)), "0 means never");
        assert_eq!(r.metadata.get_str("client_name"), Some("App"));
        assert!(r.metadata.get("client_secret").is_none());
        let debug = format!("{r:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let cfg = r.client_config("dyn");
        assert_eq!(cfg.name, "dyn");
        assert_eq!(cfg.client_id.as_deref(), Some("c-1"));
        assert_eq!(cfg.scope_str(), Some("openid email"));
        assert_eq!(cfg.redirect_uri.as_deref(), Some("https://app.example/cb"));
        assert_eq!(cfg.client_kwargs.token_endpoint_auth_method, Some(TokenEndpointAuthMethod::ClientSecretPost));
        let kept = r.apply_to(ClientConfig::new("dyn").scope("openid"));
        assert_eq!(kept.scope_str(), Some("openid"));
    }

    #[test]
    fn registration_errors_are_typed() {
        let err =
            parse_registration_response(&resp(400, r#"{"error":"invalid_redirect_uri","error_description":"no"}"#))
                .unwrap_err();
        assert!(
            matches!(err, Error::Registration(RegistrationError::InvalidRedirectUri(ref p)) if p.description.as_deref() == Some("no"))
        );
        assert_eq!(err.provider_error_code(), Some("invalid_redirect_uri"));
        let err = parse_registration_response(&resp(400, r#"{"error":"invalid_client_metadata"}"#)).unwrap_err();
        assert!(matches!(err, Error::Registration(RegistrationError::InvalidClientMetadata(_))));
        let err = parse_registration_response(&resp(400, r#"{"error":"invalid_software_statement"}"#)).unwrap_err();
        assert!(matches!(err, Error::Registration(RegistrationError::InvalidSoftwareStatement(_))));
        let err = parse_registration_response(&resp(401, r#"{"error":"invalid_token"}"#)).unwrap_err();
        assert!(matches!(err, Error::Provider(ref p) if p.error == "invalid_token"));
        let err = parse_registration_response(&resp(503, "down")).unwrap_err();
        assert_eq!(err, Error::Http { endpoint: Endpoint::Registration, status: 503 });
        for bad in [
            r#"{"client_secret":"x"}"#,
            r#"{"client_id":7}"#,
            r#"{"client_id":"a","client_secret":1}"#,
            r#"{"client_id":"a","registration_client_uri":"javascript:x"}"#,
            r#"{"client_id":"a","client_id_issued_at":"x"}"#,
            "[]",
        ] {
            assert!(matches!(parse_registration_response(&resp(201, bad)), Err(Error::Malformed { .. })), "{bad}");
        }
    }

    #[test]
    fn read_update_and_delete_use_the_registration_access_token() {
        let r = registered();
        let base = ClientConfig::new("dyn");
        let read = read_request(&base, &r).unwrap();
        assert_eq!(read.method(), http::Method::GET);
        assert_eq!(read.uri(), "https://op.example/reg/c-1");
        assert_eq!(read.headers()[AUTHORIZATION], "Bearer rat-s3cret");
        assert!(read.body().is_empty());
        let md = r.metadata.clone().client_name("Renamed").set("registration_access_token", "forged");
        let update = update_request(&base, &r, &md).unwrap();
        assert_eq!(update.method(), http::Method::PUT);
        let body: Value = serde_json::from_slice(update.body()).unwrap();
        assert_eq!(body["client_id"], "c-1");
        assert_eq!(body["client_secret"], "cs-s3cret");
        assert_eq!(body["client_name"], "Renamed");
        assert!(body.get("registration_access_token").is_none());
        let delete = delete_request(&base, &r).unwrap();
        assert_eq!(delete.method(), http::Method::DELETE);
        assert_eq!(parse_delete_response(&resp(204, "")), Ok(()));
        assert!(matches!(parse_delete_response(&resp(401, r#"{"error":"invalid_token"}"#)), Err(Error::Provider(_))));
        let mut unmanaged = r.clone();
        unmanaged.registration_access_token = None;
        assert_eq!(
            read_request(&base, &unmanaged).unwrap_err(),
            Error::Registration(RegistrationError::NotManageable { missing: "registration_access_token" })
        );
    }

    #[test]
    fn management_responses_keep_or_rotate_the_credentials_and_must_name_the_same_client() {
        let r = registered();
        let same = parse_management_response(&resp(200, r#"{"client_id":"c-1","client_name":"Renamed"}"#), &r).unwrap();
        assert_eq!(same.registration_access_token, r.registration_access_token);
        assert_eq!(same.client_secret, r.client_secret);
        assert_eq!(same.metadata.get_str("client_name"), Some("Renamed"));
        let rotated =
            parse_management_response(&resp(200, r#"{"client_id":"c-1","registration_access_token":"rat-2"}"#), &r)
                .unwrap();
        assert_eq!(rotated.registration_access_token.unwrap().secret(), "rat-2");
        let other = parse_management_response(&resp(200, r#"{"client_id":"c-2"}"#), &r).unwrap_err();
        assert_eq!(other, Error::Registration(RegistrationError::ClientIdMismatch));
    }
}
