//! The client configuration: Authlib's `register()` keys as plain data.
//!
//! [`ClientConfig`] holds every key Authlib's Django client accepts (DESIGN §2), with the
//! same meaning, plus typed extras. It is `Clone`, has no type parameters and is built
//! either in code (builder methods) or from a JSON value (the `AUTHLIB_OAUTH_CLIENTS`
//! shape; the settings adapter uses [`ClientConfig::from_value`]).
//!
//! Unlike Authlib, an **unknown key is an error** naming the key and the client: a typo
//! such as `client_kwargs.scpoe` must not silently turn a check off.

use crate::error::ConfigError;
use crate::secret::{ClientSecret, PrivateKeyMaterial};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Extra request parameters (`authorize_params`, `access_token_params`, …).
///
/// Scalar JSON values (strings, numbers, booleans) are accepted and sent as text, as a
/// Python dict of `{'max_age': 300}` would be.
pub type Params = BTreeMap<String, String>;

/// How the client authenticates at the token endpoint
/// ([OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication),
/// [RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// An HMAC-signed JWT assertion keyed by the client secret (RFC 7523).
    ClientSecretJwt,
    /// A JWT assertion signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
    /// A public client: `client_id` in the body, no secret.
    None,
}

impl TokenEndpointAuthMethod {
    /// The registered name, e.g. `client_secret_basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "client_secret_basic" => Self::ClientSecretBasic,
            "client_secret_post" => Self::ClientSecretPost,
            "client_secret_jwt" => Self::ClientSecretJwt,
            "private_key_jwt" => Self::PrivateKeyJwt,
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// The PKCE challenge method ([RFC 7636 §4.2](https://www.rfc-editor.org/rfc/rfc7636#section-4.2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CodeChallengeMethod {
    /// SHA-256 of the verifier, the default for every code flow (RFC 9700 §2.1.1).
    #[default]
    S256,
    /// PKCE turned off (`"code_challenge_method": false` or `"none"`), for providers that
    /// reject the parameters. Not recommended.
    Disabled,
}

/// Where the access token goes on resource requests
/// ([RFC 6750 §2](https://www.rfc-editor.org/rfc/rfc6750#section-2)). Never the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenPlacement {
    /// `Authorization: Bearer …` (the default).
    #[default]
    Header,
    /// `access_token` form parameter in the body (RFC 6750 §2.2).
    Body,
}

/// Authlib's `client_kwargs`: options of the OAuth session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientKwargs {
    /// Space-separated scopes (a JSON list is joined with spaces).
    pub scope: Option<String>,
    /// Token endpoint authentication; when `None`, chosen from the secret and the
    /// provider's `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// PKCE method; S256 unless turned off.
    pub code_challenge_method: CodeChallengeMethod,
    /// Where the access token goes on resource requests.
    pub token_placement: TokenPlacement,
    /// Seconds of clock leeway for `exp`/`iat`/`nbf` and for "refresh before expiry" (default 60).
    pub leeway: Option<u64>,
    /// Network timeout in seconds, for HTTP adapters (default 10, at most
    /// [`MAX_TIMEOUT_SECS`]).
    pub timeout: Option<f64>,
    /// The redirect URI (also accepted at the top level).
    pub redirect_uri: Option<String>,
    /// `response_mode` to ask for (e.g. `form_post`).
    pub response_mode: Option<String>,
    /// How many pending authorizations a session keeps (default 8).
    pub max_pending: Option<usize>,
    /// Seconds a pending authorization stays valid (default 600).
    pub pending_ttl: Option<u64>,
    /// Oldest acceptable ID token `iat`, in seconds before now (default 600).
    pub id_token_max_age: Option<u64>,
    /// Send UserInfo requests as POST with the token in the body instead of a GET with a
    /// Bearer header.
    pub userinfo_post: bool,
    /// OAuth 1.0a signature method (Authlib's `signature_method`: `HMAC-SHA1`, `RSA-SHA1`,
    /// `PLAINTEXT`); checked by `rpkit::oauth1`. Default `HMAC-SHA1`.
    pub signature_method: Option<String>,
    /// OAuth 1.0a parameter placement (Authlib's `signature_type`: `HEADER`, `QUERY`,
    /// `BODY`); checked by `rpkit::oauth1`. Default `HEADER`.
    pub signature_type: Option<String>,
    /// The `aud` of `private_key_jwt` / `client_secret_jwt` assertions: the issuer
    /// identifier by default (the audience-injection advisory of January 2025); set
    /// `"token_endpoint"` for a provider that still insists on its token endpoint URL.
    pub client_assertion_audience: AssertionAudience,
    /// Accept plain `http` endpoints on hosts other than loopback. Off by default: every
    /// endpoint (configured or discovered) must be `https` or loopback `http`. Turning it on
    /// sends codes, tokens and secrets in clear text; for closed test networks only.
    pub danger_allow_insecure_http: bool,
    /// Accept a callback `iss` parameter when no issuer is known to compare it with (no
    /// `issuer`, no discovery). Off by default: such a parameter is refused, since nothing
    /// could tell a mix-up apart from the right provider (RFC 9207 §2.4).
    pub accept_unverifiable_iss: bool,
    /// Sender-constrain tokens with DPoP ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)):
    /// a proof on every token request, `dpop_jkt` on the authorization request, and
    /// DPoP-bound tokens presented with proofs. Off by default. The key is `dpop_key`, else
    /// one generated once and kept in the shared store (see [`crate::dpop`]).
    pub dpop: bool,
    /// Push every authorization request to the provider's
    /// `pushed_authorization_request_endpoint` first (RFC 9126) and redirect with the
    /// `request_uri` it returns. Also done without this key when the metadata says
    /// `require_pushed_authorization_requests`.
    pub use_par: bool,
    /// Send the authorization parameters as a request object signed with `private_key`
    /// (RFC 9101): `request` by value in the URL, or in the pushed body with PAR. Also
    /// done without this key when `request_object_signing_alg` is set or the metadata
    /// says `require_signed_request_object`.
    pub request_object: bool,
    /// The `alg` of signed request objects (e.g. `ES256`); it must be the algorithm of
    /// `private_key`. Setting it turns request objects on.
    pub request_object_signing_alg: Option<String>,
}

/// The `aud` of client assertions (`private_key_jwt`, `client_secret_jwt`).
///
/// [RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3) allows either value;
/// the issuer identifier, a single string, is what the OpenID Foundation's January 2025
/// advisory on audience injection asks for, and what FAPI 2.0 requires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssertionAudience {
    /// The issuer identifier (default).
    #[default]
    Issuer,
    /// The token endpoint URL (older providers).
    TokenEndpoint,
}

/// One registered client: every Authlib key (DESIGN §2) plus typed extras.
///
/// ```
/// use rpkit::config::ClientConfig;
/// let github = ClientConfig::new("github")
///     .client_id("my-id")
///     .client_secret("my-secret")
///     .authorize_url("https://github.com/login/oauth/authorize")
///     .access_token_url("https://github.com/login/oauth/access_token")
///     .api_base_url("https://api.github.com/")
///     .scope("user:email");
/// assert_eq!(github.scope_str(), Some("user:email"));
/// assert!(format!("{github:?}").contains("[redacted]"));
///
/// // The same client as a Django project writes it in AUTHLIB_OAUTH_CLIENTS:
/// let json = serde_json::json!({
///     "client_id": "my-id",
///     "client_secret": "my-secret",
///     "access_token_url": "https://github.com/login/oauth/access_token",
///     "authorize_url": "https://github.com/login/oauth/authorize",
///     "api_base_url": "https://api.github.com/",
///     "client_kwargs": {"scope": "user:email"}
/// });
/// let loaded = ClientConfig::from_value("github", &json).unwrap();
/// assert_eq!(loaded.client_id.as_deref(), Some("my-id"));
///
/// // A typo is an error that names the client and the key:
/// let typo = serde_json::json!({"client_kwargs": {"scpoe": "openid"}});
/// let err = ClientConfig::from_value("github", &typo).unwrap_err();
/// assert_eq!(err.to_string(), "client `github`: unknown key `client_kwargs.scpoe`");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientConfig {
    /// The registered name (`github`, `google`, …).
    pub name: String,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<ClientSecret>,
    /// The authorization endpoint.
    pub authorize_url: Option<String>,
    /// Extra authorization request parameters.
    pub authorize_params: Params,
    /// The token endpoint.
    pub access_token_url: Option<String>,
    /// Extra code-exchange parameters.
    pub access_token_params: Params,
    /// Endpoint for refresh requests (else the token endpoint). Authlib ignores it; we don't.
    pub refresh_token_url: Option<String>,
    /// Extra refresh parameters.
    pub refresh_token_params: Params,
    /// Base URL for resource calls (`get("user", …)`).
    pub api_base_url: Option<String>,
    /// The discovery document (`…/.well-known/openid-configuration`).
    pub server_metadata_url: Option<String>,
    /// OAuth session options.
    pub client_kwargs: ClientKwargs,
    /// OAuth 1.0a request-token endpoint.
    pub request_token_url: Option<String>,
    /// OAuth 1.0a request-token parameters.
    pub request_token_params: Params,
    /// The provider's JWKS (else discovered).
    pub jwks_uri: Option<String>,
    /// The expected issuer (else derived from `server_metadata_url`).
    pub issuer: Option<String>,
    /// The UserInfo endpoint (else discovered).
    pub userinfo_endpoint: Option<String>,
    /// The end-session endpoint (else discovered).
    pub end_session_endpoint: Option<String>,
    /// The token revocation endpoint, RFC 7009 (else discovered).
    pub revocation_endpoint: Option<String>,
    /// The token introspection endpoint, RFC 7662 (else discovered).
    pub introspection_endpoint: Option<String>,
    /// Allowed ID token algorithms (else the metadata's, intersected with what rpkit
    /// supports; default `RS256`). HS* must be listed here explicitly.
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// User agent for HTTP adapters.
    pub user_agent: Option<String>,
    /// The redirect URI (Authlib passes it per call; it may be fixed here).
    pub redirect_uri: Option<String>,
    /// Private key (PEM or JWK) for `private_key_jwt`.
    pub private_key: Option<PrivateKeyMaterial>,
    /// `kid` to put in `private_key_jwt` assertions.
    pub private_key_id: Option<String>,
    /// Private key (PEM or JWK) to decrypt encrypted ID tokens / UserInfo. When set,
    /// unencrypted ID tokens are rejected.
    pub decryption_key: Option<PrivateKeyMaterial>,
    /// `private_key` and `decryption_key` as parsed on first use, shared by clones.
    pub(crate) parsed_keys: ParsedKeys,
    /// The device authorization endpoint, RFC 8628 (else discovered).
    pub device_authorization_endpoint: Option<String>,
    /// The DPoP proof key (PEM or private JWK; ES256, RS256 or EdDSA), used when
    /// `client_kwargs.dpop` is on. Preferred over a generated key: it survives the shared
    /// store and is the same on every instance by construction.
    pub dpop_key: Option<PrivateKeyMaterial>,
    /// The pushed authorization request endpoint, RFC 9126 (else discovered).
    pub pushed_authorization_request_endpoint: Option<String>,
}

/// Keys parsed from a configuration's key material, kept so that a client parses each once
/// (an RSA key's checks cost far more than the request it signs) rather than on every token
/// request, ID token or UserInfo response.
///
/// Each value is kept with the material it came from and used only while the
/// configuration still holds that material, so changing `private_key` or
/// `decryption_key` takes effect at once. It is not part of the configuration's identity
/// (`==` ignores it) and shows nothing in `Debug`.
#[derive(Clone, Default)]
pub(crate) struct ParsedKeys {
    pub(crate) signing: Arc<KeyMemo<crate::jose::sign::SigningKey>>,
    pub(crate) decryption: Arc<KeyMemo<crate::jose::jwe::DecryptionKey>>,
    /// `private_key` as an OAuth 1.0a RSA-SHA1 key.
    pub(crate) oauth1_rsa: Arc<KeyMemo<crate::oauth1::RsaSha1Key>>,
    /// `dpop_key` as a DPoP proof key.
    pub(crate) dpop: Arc<KeyMemo<crate::dpop::DpopKey>>,
}

impl PartialEq for ParsedKeys {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ParsedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedKeys")
    }
}

/// One key parsed from `material`, kept with it.
pub(crate) struct KeyMemo<T>(Mutex<Option<(PrivateKeyMaterial, Arc<T>)>>);

impl<T> Default for KeyMemo<T> {
    fn default() -> Self {
        KeyMemo(Mutex::new(None))
    }
}

impl<T> KeyMemo<T> {
    /// The key parsed from `material`: the kept one when it came from the same material,
    /// else `parse`d now (and kept when that succeeds). Concurrent first uses parse once.
    pub(crate) fn get_or_parse<E>(
        &self,
        material: &PrivateKeyMaterial,
        parse: impl FnOnce(&PrivateKeyMaterial) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((kept_from, key)) = slot.as_ref() {
            if kept_from == material {
                return Ok(Arc::clone(key));
            }
        }
        let key = Arc::new(parse(material)?);
        *slot = Some((material.clone(), Arc::clone(&key)));
        Ok(key)
    }
}

/// Default clock leeway in seconds.
pub const DEFAULT_LEEWAY: u64 = 60;
/// Default lifetime of a pending authorization in seconds.
pub const DEFAULT_PENDING_TTL: u64 = 600;
/// Default number of pending authorizations per session.
pub const DEFAULT_MAX_PENDING: usize = 8;
/// Default HTTP timeout in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// The longest HTTP timeout a configuration may set, in seconds: a provider that stalls
/// must not hold a login (and the server's resources) for longer.
pub const MAX_TIMEOUT_SECS: f64 = 600.0;

const TIMEOUT_EXPECTED: &str = "a positive number of seconds, at most 600";

const WELL_KNOWN_OIDC: &str = "/.well-known/openid-configuration";
const WELL_KNOWN_OAUTH: &str = "/.well-known/oauth-authorization-server";

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

impl ClientConfig {
    /// An empty configuration for the client registered as `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ClientConfig { name: name.into(), ..Default::default() }
    }

    setters! {
        /// Sets `client_id`.
        client_id: String,
        /// Sets `client_secret`.
        client_secret: ClientSecret,
        /// Sets the authorization endpoint.
        authorize_url: String,
        /// Sets the token endpoint.
        access_token_url: String,
        /// Sets the refresh endpoint.
        refresh_token_url: String,
        /// Sets the resource base URL.
        api_base_url: String,
        /// Sets the discovery URL.
        server_metadata_url: String,
        /// Sets the JWKS URL.
        jwks_uri: String,
        /// Sets the expected issuer.
        issuer: String,
        /// Sets the UserInfo endpoint.
        userinfo_endpoint: String,
        /// Sets the end-session endpoint.
        end_session_endpoint: String,
        /// Sets the revocation endpoint.
        revocation_endpoint: String,
        /// Sets the introspection endpoint.
        introspection_endpoint: String,
        /// Sets the user agent.
        user_agent: String,
        /// Sets the redirect URI.
        redirect_uri: String,
        /// Sets the `private_key_jwt` key (PEM or JWK text).
        private_key: PrivateKeyMaterial,
        /// Sets the `kid` of the `private_key_jwt` key.
        private_key_id: String,
        /// Sets the JWE decryption key (PEM or JWK text).
        decryption_key: PrivateKeyMaterial,
    }

    /// Sets the scope (`client_kwargs.scope`).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.client_kwargs.scope = Some(scope.into());
        self
    }

    /// Sets the token endpoint authentication method.
    #[must_use]
    pub fn token_endpoint_auth_method(mut self, method: TokenEndpointAuthMethod) -> Self {
        self.client_kwargs.token_endpoint_auth_method = Some(method);
        self
    }

    /// Sets the allowed ID token algorithms.
    #[must_use]
    pub fn id_token_algs<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.id_token_signing_alg_values_supported = Some(algs.into_iter().map(Into::into).collect());
        self
    }

    /// Adds an authorization request parameter.
    #[must_use]
    pub fn authorize_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.insert(key.into(), value.into());
        self
    }

    /// The scope string, if any.
    pub fn scope_str(&self) -> Option<&str> {
        self.client_kwargs.scope.as_deref()
    }

    /// Whether the scope contains `openid` (an OpenID Connect flow).
    pub fn is_openid(&self) -> bool {
        self.scope_str().is_some_and(|s| s.split(' ').any(|x| x == "openid"))
    }

    /// The clock leeway in seconds.
    pub fn leeway(&self) -> u64 {
        self.client_kwargs.leeway.unwrap_or(DEFAULT_LEEWAY)
    }

    /// The expected issuer: `issuer` if set, else `server_metadata_url` without its
    /// well-known suffix (OIDC Discovery §4; RFC 8414 §3 inserts the suffix after the host).
    pub fn expected_issuer(&self) -> Option<String> {
        if let Some(iss) = &self.issuer {
            return Some(iss.clone());
        }
        let url = self.server_metadata_url.as_deref()?;
        if let Some(base) = url.strip_suffix(WELL_KNOWN_OIDC) {
            return Some(base.to_owned());
        }
        if let Some(idx) = url.find(WELL_KNOWN_OAUTH) {
            let (head, tail) = url.split_at(idx);
            return Some(format!("{head}{}", &tail[WELL_KNOWN_OAUTH.len()..]));
        }
        None
    }

    /// The JWE decryption key, parsed from `decryption_key` once per configuration (and its
    /// clones) and shared by the ID token, UserInfo and back-channel logout validators.
    pub(crate) fn parsed_decryption_key(&self) -> Result<Option<crate::jose::jwe::DecryptionKey>, crate::Error> {
        let Some(material) = &self.decryption_key else { return Ok(None) };
        let key = self.parsed_keys.decryption.get_or_parse(material, crate::jose::jwe::DecryptionKey::from_material)?;
        Ok(Some(crate::jose::jwe::DecryptionKey::clone(&key)))
    }

    /// Turns DPoP on (`client_kwargs.dpop`), with `key` (PEM or private JWK) or, with
    /// `None`, a key generated once and kept in the shared store.
    #[must_use]
    pub fn dpop(mut self, key: Option<PrivateKeyMaterial>) -> Self {
        self.client_kwargs.dpop = true;
        self.dpop_key = key;
        self
    }

    /// `dpop_key` parsed once (and kept while it holds the same material); `None` when no
    /// key is configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] (`dpop_key`) saying why, never showing the key.
    pub fn parsed_dpop_key(&self) -> Result<Option<Arc<crate::dpop::DpopKey>>, crate::Error> {
        let Some(material) = &self.dpop_key else { return Ok(None) };
        self.parsed_keys.dpop.get_or_parse(material, crate::dpop::DpopKey::from_material).map(Some).map_err(|e| {
            ConfigError::Invalid {
                client: self.name.clone(),
                key: "dpop_key".to_owned(),
                expected: format!("an EC P-256, RSA or Ed25519 private key, PEM or JWK ({e})"),
            }
            .into()
        })
    }

    /// Fills every endpoint, URL and `client_kwargs.scope` / `token_endpoint_auth_method`
    /// that is not set here from `base` (a preset): what is set here wins.
    fn fill_from(&mut self, base: ClientConfig) {
        macro_rules! fill {
            ($($field:ident),*) => { $( if self.$field.is_none() { self.$field = base.$field; } )* };
        }
        fill!(
            authorize_url,
            access_token_url,
            refresh_token_url,
            api_base_url,
            server_metadata_url,
            request_token_url,
            jwks_uri,
            issuer,
            userinfo_endpoint,
            end_session_endpoint,
            revocation_endpoint,
            introspection_endpoint
        );
        if self.client_kwargs.scope.is_none() {
            self.client_kwargs.scope = base.client_kwargs.scope;
        }
        if self.client_kwargs.token_endpoint_auth_method.is_none() {
            self.client_kwargs.token_endpoint_auth_method = base.client_kwargs.token_endpoint_auth_method;
        }
    }

    /// A [`ConfigError::Missing`] for `key` on this client.
    pub fn missing(&self, key: &str) -> ConfigError {
        ConfigError::Missing { client: self.name.clone(), key: key.to_owned() }
    }

    /// Reads a configuration from the `AUTHLIB_OAUTH_CLIENTS` JSON shape.
    ///
    /// # Errors
    /// [`ConfigError::UnknownKey`] for a key rpkit does not know (with its path, e.g.
    /// `client_kwargs.scpoe`); [`ConfigError::Invalid`] for a value of the wrong type. The
    /// offending value is never part of the error (it may be a secret).
    pub fn from_value(name: &str, value: &Value) -> Result<Self, ConfigError> {
        let obj = value.as_object().ok_or_else(|| invalid(name, "", "an object of client settings"))?;
        let mut cfg = ClientConfig::new(name);
        // A named preset is the starting point, whatever the key order; the other keys
        // override it one by one.
        if let Some(preset) = obj.get("preset") {
            cfg.set_key("preset", preset)?;
        }
        for (key, v) in obj.iter().filter(|(k, _)| k.as_str() != "preset") {
            match (key.as_str(), v) {
                // Over a preset, `client_kwargs` overrides key by key (the preset's scope
                // stays unless the entry names another).
                ("client_kwargs", Value::Object(kwargs)) if obj.contains_key("preset") => {
                    for (k, v) in kwargs {
                        cfg.set_kwarg(k, v)?;
                    }
                }
                _ => cfg.set_key(key, v)?,
            }
        }
        Ok(cfg)
    }

    /// Sets one top-level key from a JSON value, as [`ClientConfig::from_value`] does.
    /// The settings adapter uses it for environment overrides.
    ///
    /// # Errors
    /// As [`ClientConfig::from_value`].
    pub fn set_key(&mut self, key: &str, v: &Value) -> Result<(), ConfigError> {
        let name = self.name.clone();
        let n = name.as_str();
        match key {
            "client_id" => self.client_id = opt_string(n, key, v)?,
            "client_secret" => self.client_secret = opt_string(n, key, v)?.map(ClientSecret::new),
            "authorize_url" => self.authorize_url = opt_string(n, key, v)?,
            "authorize_params" => self.authorize_params = params(n, key, v)?,
            "access_token_url" => self.access_token_url = opt_string(n, key, v)?,
            "access_token_params" => self.access_token_params = params(n, key, v)?,
            "refresh_token_url" => self.refresh_token_url = opt_string(n, key, v)?,
            "refresh_token_params" => self.refresh_token_params = params(n, key, v)?,
            "api_base_url" => self.api_base_url = opt_string(n, key, v)?,
            "server_metadata_url" => self.server_metadata_url = opt_string(n, key, v)?,
            "request_token_url" => self.request_token_url = opt_string(n, key, v)?,
            "request_token_params" => self.request_token_params = params(n, key, v)?,
            "jwks_uri" => self.jwks_uri = opt_string(n, key, v)?,
            "issuer" => self.issuer = opt_string(n, key, v)?,
            "userinfo_endpoint" => self.userinfo_endpoint = opt_string(n, key, v)?,
            "end_session_endpoint" => self.end_session_endpoint = opt_string(n, key, v)?,
            "revocation_endpoint" => self.revocation_endpoint = opt_string(n, key, v)?,
            "introspection_endpoint" => self.introspection_endpoint = opt_string(n, key, v)?,
            "user_agent" => self.user_agent = opt_string(n, key, v)?,
            "redirect_uri" => self.redirect_uri = opt_string(n, key, v)?,
            "private_key" => self.private_key = opt_key_material(n, key, v)?,
            "private_key_id" => self.private_key_id = opt_string(n, key, v)?,
            "decryption_key" => self.decryption_key = opt_key_material(n, key, v)?,
            "device_authorization_endpoint" => self.device_authorization_endpoint = opt_string(n, key, v)?,
            "id_token_signing_alg_values_supported" => {
                self.id_token_signing_alg_values_supported = match v {
                    Value::Null => None,
                    _ => Some(string_list(n, key, v)?),
                }
            }
            "client_kwargs" => self.client_kwargs = client_kwargs(n, v)?,
            "preset" => {
                let preset = v
                    .as_str()
                    .and_then(crate::providers::preset)
                    .ok_or_else(|| invalid(n, key, &format!("one of {}", crate::providers::PRESETS.join(", "))))?;
                self.fill_from(preset);
            }
            "dpop_key" => self.dpop_key = opt_key_material(n, key, v)?,
            "pushed_authorization_request_endpoint" => {
                self.pushed_authorization_request_endpoint = opt_string(n, key, v)?
            }
            _ => return Err(ConfigError::UnknownKey { client: name, key: key.to_owned() }),
        }
        Ok(())
    }

    /// Sets one `client_kwargs` key from a JSON value.
    ///
    /// # Errors
    /// As [`ClientConfig::from_value`].
    pub fn set_kwarg(&mut self, key: &str, v: &Value) -> Result<(), ConfigError> {
        set_kwarg(&self.name.clone(), &mut self.client_kwargs, key, v)
    }
}

impl<'de> Deserialize<'de> for ClientConfig {
    /// Deserializes without a name (the name is usually the key it is stored under; set
    /// [`ClientConfig::name`] afterwards, or use [`ClientConfig::from_value`]).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ClientConfig::from_value("(unnamed)", &v).map_err(serde::de::Error::custom)
    }
}

fn invalid(client: &str, key: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid { client: client.to_owned(), key: key.to_owned(), expected: expected.to_owned() }
}

fn opt_string(client: &str, key: &str, v: &Value) -> Result<Option<String>, ConfigError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid(client, key, "a string")),
    }
}

fn opt_key_material(client: &str, key: &str, v: &Value) -> Result<Option<PrivateKeyMaterial>, ConfigError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(PrivateKeyMaterial::new(s.clone()))),
        Value::Object(_) => Ok(Some(PrivateKeyMaterial::new(v.to_string()))),
        _ => Err(invalid(client, key, "a PEM string or a JWK object")),
    }
}

fn string_list(client: &str, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
    match v {
        Value::String(s) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| invalid(client, key, "a list of strings")))
            .collect(),
        _ => Err(invalid(client, key, "a list of strings")),
    }
}

fn params(client: &str, key: &str, v: &Value) -> Result<Params, ConfigError> {
    let obj = match v {
        Value::Null => return Ok(Params::new()),
        Value::Object(o) => o,
        _ => return Err(invalid(client, key, "an object of parameters")),
    };
    let mut out = Params::new();
    for (k, val) in obj {
        let text = match val {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(invalid(client, &format!("{key}.{k}"), "a string, number or boolean")),
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn client_kwargs(client: &str, v: &Value) -> Result<ClientKwargs, ConfigError> {
    let mut kw = ClientKwargs::default();
    let obj: &Map<String, Value> = match v {
        Value::Null => return Ok(kw),
        Value::Object(o) => o,
        _ => return Err(invalid(client, "client_kwargs", "an object")),
    };
    for (key, val) in obj {
        set_kwarg(client, &mut kw, key, val)?;
    }
    Ok(kw)
}

fn set_kwarg(client: &str, kw: &mut ClientKwargs, key: &str, v: &Value) -> Result<(), ConfigError> {
    let path = format!("client_kwargs.{key}");
    let p = path.as_str();
    match key {
        "scope" => {
            kw.scope = match v {
                Value::Null => None,
                _ => Some(string_list(client, p, v)?.join(" ")),
            }
        }
        "token_endpoint_auth_method" => {
            kw.token_endpoint_auth_method = match v {
                Value::Null => None,
                Value::String(s) => Some(TokenEndpointAuthMethod::parse(s).ok_or_else(|| {
                    invalid(
                        client,
                        p,
                        "one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none",
                    )
                })?),
                _ => return Err(invalid(client, p, "a string")),
            }
        }
        "code_challenge_method" => {
            kw.code_challenge_method = match v {
                Value::String(s) if s == "S256" => CodeChallengeMethod::S256,
                Value::String(s) if s == "none" => CodeChallengeMethod::Disabled,
                Value::Bool(false) | Value::Null => CodeChallengeMethod::Disabled,
                _ => {
                    return Err(invalid(
                        client,
                        p,
                        "\"S256\" (or false/\"none\" to turn PKCE off; \"plain\" is not offered)",
                    ))
                }
            }
        }
        "token_placement" => {
            kw.token_placement = match v.as_str() {
                Some("header") => TokenPlacement::Header,
                Some("body") => TokenPlacement::Body,
                _ => return Err(invalid(client, p, "\"header\" or \"body\" (tokens are never put in the query)")),
            }
        }
        "leeway" => kw.leeway = opt_u64(client, p, v)?,
        "max_pending" => {
            kw.max_pending = opt_u64(client, p, v)?
                .map(|n| {
                    usize::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| invalid(client, p, "a positive integer"))
                })
                .transpose()?
        }
        "pending_ttl" => kw.pending_ttl = opt_u64(client, p, v)?,
        "id_token_max_age" => kw.id_token_max_age = opt_u64(client, p, v)?,
        "timeout" => {
            kw.timeout = match v {
                Value::Null => None,
                Value::Number(n) => Some(
                    n.as_f64()
                        .filter(|t| *t > 0.0 && *t <= MAX_TIMEOUT_SECS)
                        .ok_or_else(|| invalid(client, p, TIMEOUT_EXPECTED))?,
                ),
                _ => return Err(invalid(client, p, TIMEOUT_EXPECTED)),
            }
        }
        "redirect_uri" => kw.redirect_uri = opt_string(client, p, v)?,
        "response_mode" => kw.response_mode = opt_string(client, p, v)?,
        "signature_method" => kw.signature_method = opt_string(client, p, v)?,
        "signature_type" => kw.signature_type = opt_string(client, p, v)?,
        "userinfo_post" => kw.userinfo_post = opt_bool(client, p, v)?,
        "danger_allow_insecure_http" => kw.danger_allow_insecure_http = opt_bool(client, p, v)?,
        "accept_unverifiable_iss" => kw.accept_unverifiable_iss = opt_bool(client, p, v)?,
        "client_assertion_audience" => {
            kw.client_assertion_audience = match v {
                Value::Null => AssertionAudience::Issuer,
                Value::String(s) if s == "issuer" => AssertionAudience::Issuer,
                Value::String(s) if s == "token_endpoint" => AssertionAudience::TokenEndpoint,
                _ => return Err(invalid(client, p, "\"issuer\" or \"token_endpoint\"")),
            }
        }
        "dpop" => kw.dpop = opt_bool(client, p, v)?,
        "use_par" => kw.use_par = opt_bool(client, p, v)?,
        "request_object" => kw.request_object = opt_bool(client, p, v)?,
        "request_object_signing_alg" => kw.request_object_signing_alg = opt_string(client, p, v)?,
        _ => return Err(ConfigError::UnknownKey { client: client.to_owned(), key: path }),
    }
    Ok(())
}

fn opt_bool(client: &str, key: &str, v: &Value) -> Result<bool, ConfigError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(invalid(client, key, "a boolean")),
    }
}

fn opt_u64(client: &str, key: &str, v: &Value) -> Result<Option<u64>, ConfigError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| invalid(client, key, "a non-negative integer")),
        Value::String(s) => s.parse().map(Some).map_err(|_| invalid(client, key, "a non-negative integer")),
        _ => Err(invalid(client, key, "a non-negative integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_security_switches_are_off_by_default_and_typed() {
        let c = ClientConfig::from_value("op", &json!({})).unwrap();
        assert!(!c.client_kwargs.danger_allow_insecure_http);
        assert!(!c.client_kwargs.accept_unverifiable_iss);
        assert_eq!(c.client_kwargs.client_assertion_audience, AssertionAudience::Issuer);
        let c = ClientConfig::from_value(
            "op",
            &json!({"client_kwargs": {"danger_allow_insecure_http": true, "accept_unverifiable_iss": true,
                                      "client_assertion_audience": "token_endpoint"}}),
        )
        .unwrap();
        assert!(c.client_kwargs.danger_allow_insecure_http && c.client_kwargs.accept_unverifiable_iss);
        assert_eq!(c.client_kwargs.client_assertion_audience, AssertionAudience::TokenEndpoint);
        for bad in [json!({"danger_allow_insecure_http": "yes"}), json!({"client_assertion_audience": "aud"})] {
            let err = ClientConfig::from_value("op", &json!({ "client_kwargs": bad })).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
        }
    }

    #[test]
    fn a_key_memo_parses_once_per_material_and_keeps_no_failure() {
        let memo: KeyMemo<String> = KeyMemo::default();
        let calls = std::cell::Cell::new(0);
        let parse = |m: &PrivateKeyMaterial| {
            calls.set(calls.get() + 1);
            if m.secret() == "bad" {
                Err("unusable")
            } else {
                Ok(m.secret().to_uppercase())
            }
        };
        let a = PrivateKeyMaterial::new("a");
        assert_eq!(*memo.get_or_parse(&a, parse).unwrap(), "A");
        assert_eq!(*memo.get_or_parse(&a, parse).unwrap(), "A");
        assert_eq!(calls.get(), 1);
        let b = PrivateKeyMaterial::new("b");
        assert_eq!(*memo.get_or_parse(&b, parse).unwrap(), "B");
        assert_eq!(calls.get(), 2);
        let bad = PrivateKeyMaterial::new("bad");
        assert_eq!(memo.get_or_parse(&bad, parse).unwrap_err(), "unusable");
        assert_eq!(memo.get_or_parse(&bad, parse).unwrap_err(), "unusable");
        assert_eq!(calls.get(), 4);
        // The last good key is still kept.
        assert_eq!(*memo.get_or_parse(&b, parse).unwrap(), "B");
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn django_github_settings_load_unchanged() {
        let v = json!({
            "client_id": "GitHub Client ID",
            "client_secret": "GitHub Client Secret",
            "access_token_url": "https://github.com/login/oauth/access_token",
            "authorize_url": "https://github.com/login/oauth/authorize",
            "api_base_url": "https://api.github.com/",
            "client_kwargs": {"scope": "user:email"}
        });
        let c = ClientConfig::from_value("github", &v).unwrap();
        assert_eq!(c.name, "github");
        assert_eq!(c.client_secret.as_ref().unwrap().secret(), "GitHub Client Secret");
        assert_eq!(c.scope_str(), Some("user:email"));
        assert!(!c.is_openid());
    }

    #[test]
    fn every_design_key_is_accepted() {
        let v = json!({
            "client_id": "id", "client_secret": "s", "authorize_url": "https://a/", "authorize_params": {"prompt": "login", "max_age": 300, "x": true},
            "access_token_url": "https://t/", "access_token_params": {}, "refresh_token_url": "https://r/", "refresh_token_params": {"a": "b"},
            "api_base_url": "https://api/", "server_metadata_url": "https://op/.well-known/openid-configuration",
            "client_kwargs": {"scope": ["openid", "email"], "token_endpoint_auth_method": "client_secret_post", "code_challenge_method": "S256",
                "token_placement": "body", "leeway": 30, "timeout": 2.5, "redirect_uri": "https://rp/cb", "response_mode": "form_post",
                "max_pending": 4, "pending_ttl": 120, "id_token_max_age": 300, "userinfo_post": true},
            "request_token_url": null, "request_token_params": null, "jwks_uri": "https://op/jwks", "issuer": "https://op",
            "userinfo_endpoint": "https://op/userinfo", "end_session_endpoint": "https://op/logout",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"], "user_agent": "me", "redirect_uri": "https://rp/cb2",
            "private_key": {"kty": "EC"}, "private_key_id": "k1", "decryption_key": "-----BEGIN PRIVATE KEY-----"
        });
        let c = ClientConfig::from_value("op", &v).unwrap();
        assert_eq!(c.authorize_params.get("max_age").map(String::as_str), Some("300"));
        assert_eq!(c.authorize_params.get("x").map(String::as_str), Some("true"));
        assert_eq!(c.scope_str(), Some("openid email"));
        assert!(c.is_openid());
        assert_eq!(c.client_kwargs.token_endpoint_auth_method, Some(TokenEndpointAuthMethod::ClientSecretPost));
        assert_eq!(c.client_kwargs.token_placement, TokenPlacement::Body);
        assert_eq!(c.leeway(), 30);
        assert_eq!(c.client_kwargs.timeout, Some(2.5));
        assert_eq!(c.client_kwargs.max_pending, Some(4));
        assert!(c.client_kwargs.userinfo_post);
        assert_eq!(
            c.id_token_signing_alg_values_supported.as_deref(),
            Some(&["RS256".to_owned(), "ES256".to_owned()][..])
        );
        assert!(c.private_key.unwrap().secret().contains("EC"));
    }

    #[test]
    fn a_timeout_must_be_positive_and_at_most_ten_minutes() {
        for bad in [json!(0), json!(-1), json!(600.5), json!(1e300), json!("10"), json!(true)] {
            let v = json!({"client_id": "c", "client_kwargs": {"timeout": bad}});
            let err = ClientConfig::from_value("op", &v).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key, expected, .. }
                    if key == "client_kwargs.timeout" && expected == TIMEOUT_EXPECTED),
                "{bad}: {err:?}"
            );
        }
        for good in [json!(0.5), json!(600), json!(null)] {
            let v = json!({"client_id": "c", "client_kwargs": {"timeout": good}});
            assert!(ClientConfig::from_value("op", &v).is_ok(), "{good}");
        }
    }

    #[test]
    fn unknown_top_level_key_names_key_and_client() {
        let err = ClientConfig::from_value("google", &json!({"client_secrte": "x"})).unwrap_err();
        assert_eq!(err, ConfigError::UnknownKey { client: "google".into(), key: "client_secrte".into() });
    }

    #[test]
    fn unknown_client_kwargs_key_names_its_path() {
        let err = ClientConfig::from_value("google", &json!({"client_kwargs": {"scpoe": "openid"}})).unwrap_err();
        assert_eq!(err, ConfigError::UnknownKey { client: "google".into(), key: "client_kwargs.scpoe".into() });
    }

    #[test]
    fn wrong_types_are_errors_that_do_not_echo_the_value() {
        let err = ClientConfig::from_value("x", &json!({"client_secret": 123456789})).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "client_secret"));
        assert!(!err.to_string().contains("123456789"));
        let err = ClientConfig::from_value("x", &json!({"client_kwargs": {"leeway": -5}})).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "client_kwargs.leeway"));
        let err = ClientConfig::from_value("x", &json!({"authorize_params": {"a": [1]}})).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "authorize_params.a"));
        assert!(ClientConfig::from_value("x", &json!("a string")).is_err());
    }

    #[test]
    fn token_placement_in_the_query_is_refused() {
        let err = ClientConfig::from_value("x", &json!({"client_kwargs": {"token_placement": "uri"}})).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }));
    }

    #[test]
    fn pkce_plain_is_refused_and_pkce_can_be_turned_off() {
        assert!(ClientConfig::from_value("x", &json!({"client_kwargs": {"code_challenge_method": "plain"}})).is_err());
        let c = ClientConfig::from_value("x", &json!({"client_kwargs": {"code_challenge_method": false}})).unwrap();
        assert_eq!(c.client_kwargs.code_challenge_method, CodeChallengeMethod::Disabled);
        assert_eq!(ClientConfig::new("y").client_kwargs.code_challenge_method, CodeChallengeMethod::S256);
    }

    #[test]
    fn unknown_auth_method_is_refused() {
        let err =
            ClientConfig::from_value("x", &json!({"client_kwargs": {"token_endpoint_auth_method": "tls_client_auth"}}))
                .unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "client_kwargs.token_endpoint_auth_method"));
    }

    #[test]
    fn zero_max_pending_is_refused() {
        assert!(ClientConfig::from_value("x", &json!({"client_kwargs": {"max_pending": 0}})).is_err());
    }

    #[test]
    fn expected_issuer_comes_from_config_or_discovery_url() {
        let c =
            ClientConfig::new("a").server_metadata_url("https://op.example/tenant/.well-known/openid-configuration");
        assert_eq!(c.expected_issuer().as_deref(), Some("https://op.example/tenant"));
        let c = ClientConfig::new("a")
            .server_metadata_url("https://op.example/.well-known/oauth-authorization-server/tenant");
        assert_eq!(c.expected_issuer().as_deref(), Some("https://op.example/tenant"));
        let c = c.issuer("https://explicit");
        assert_eq!(c.expected_issuer().as_deref(), Some("https://explicit"));
        assert_eq!(ClientConfig::new("a").server_metadata_url("https://op/meta.json").expected_issuer(), None);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = ClientConfig::new("a").client_secret("s3cr3t-value").private_key("-----BEGIN PRIVATE KEY-----abc");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t-value"));
        assert!(!dbg.contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn deserialize_goes_through_the_same_checks() {
        let ok: ClientConfig = serde_json::from_str(r#"{"client_id":"a"}"#).unwrap();
        assert_eq!(ok.client_id.as_deref(), Some("a"));
        let err = serde_json::from_str::<ClientConfig>(r#"{"clientid":"a"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown key `clientid`"));
    }

    #[test]
    fn defaults_apply_when_keys_are_omitted() {
        let c = ClientConfig::new("a");
        assert_eq!(c.leeway(), DEFAULT_LEEWAY);
        assert_eq!(c.client_kwargs.token_placement, TokenPlacement::Header);
        assert!(c.client_kwargs.token_endpoint_auth_method.is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn arb_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>().prop_map(|f| json!(f)),
                "[a-z_]{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(
                        prop_oneof![
                            Just("client_id".to_owned()),
                            Just("client_kwargs".to_owned()),
                            Just("scope".to_owned()),
                            Just("leeway".to_owned()),
                            Just("timeout".to_owned()),
                            Just("authorize_params".to_owned()),
                            Just("max_pending".to_owned()),
                            "[a-z_]{1,10}"
                        ],
                        inner,
                        0..5
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn arbitrary_settings_shaped_json_never_panics(v in arb_json()) {
                let _ = ClientConfig::from_value("p", &v);
            }

            #[test]
            fn arbitrary_text_never_panics(s in ".{0,200}") {
                let _ = serde_json::from_str::<ClientConfig>(&s);
            }
        }
    }
}
