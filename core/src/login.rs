//! A whole login (and a refresh) as a state machine over plain data: the [`Provider`]
//! value every step takes, and flow values consumed by value whose `handle_*` says what
//! comes next.
//!
//! ```text
//!  Provider::poll_discovery(now) ──► Some(request) ─► send ─► Provider::handle_discovery_response
//!  Provider::authorization_url(params, rng, now) ──► URL for the browser + PendingAuthorization
//!  Provider::handle_callback(params, &mut PendingSet, rng, now)
//!        └─► Send { request: token request, next: CodeExchange }
//!  CodeExchange::handle_token_response(&provider, response, now)
//!        ├─► LoginStep::Done(token)                  (plain OAuth 2.0: no ID token kept)
//!        └─► LoginStep::VerifyIdToken(IdTokenCheck)
//!  IdTokenCheck::poll(keys, now)
//!        ├─► Verify::Done(token)                     (claims in token.userinfo)
//!        └─► Verify::Fetch(Send { request: JWKS, next: IdTokenCheck })
//!              send ─► IdTokenCheck::handle_keys_response(keys, response, now) ─► Verify
//! ```
//!
//! Every security decision of a login is made here, not by the caller: the checks of the
//! callback (state, client, RFC 9207 `iss`, front-channel tokens), PKCE and client
//! authentication, dropping an ID token a plain OAuth 2.0 request did not ask for, the
//! nonce, `max_age` and essential `acr` of the request handed to the ID token validator,
//! whether the JWK Set is needed at all (`HS*` is keyed by the client secret), when it
//! must be fetched and whether a failure justifies one rate-limited refetch
//! ([`KeyCheck`]). The async [`client`](crate::client) is a send loop over these values;
//! an embedder with its own HTTP stack writes the same loop (see the README).

use crate::authorize::{AuthorizationRequest, AuthorizationUrl, PendingAuthorization, PendingSet};
use crate::callback::{validate_callback, CallbackParams};
use crate::claims::Claims;
use crate::config::ClientConfig;
use crate::discovery::{check_transport, metadata_request, MetadataCache, ProviderMetadata};
use crate::error::Error;
use crate::id_token::{IdTokenError, IdTokenValidator};
use crate::jwks::{JwksCache, KeyCheck, KeySource, KeyStep};
use crate::rand::SecureRandom;
use crate::secret::RefreshToken;
use crate::time::UnixTime;
use crate::token::{self, Grant, Token, TokenError};
use std::sync::Arc;

/// A request to send, and the flow value that handles its response.
#[derive(Debug)]
#[must_use = "send the request and hand its response to `next`"]
pub struct Send<S> {
    /// The request.
    pub request: http::Request<Vec<u8>>,
    /// What handles the response.
    pub next: S,
}

/// What the core knows of one provider: the client configuration, the discovered
/// metadata, the JWK Set. Plain data; every step takes it the same way.
///
/// Cheap to clone (the configuration and metadata are shared).
///
/// ```
/// use rpkit::login::Provider;
/// use rpkit::{ClientConfig, UnixTime};
/// let config = ClientConfig::new("corp")
///     .client_id("app")
///     .server_metadata_url("https://op.example/.well-known/openid-configuration")
///     .scope("openid");
/// let provider = Provider::new(config);
/// // Nothing discovered yet: the first thing to send is the discovery request.
/// let request = provider.poll_discovery(UnixTime::from_secs(1_700_000_000))?.unwrap();
/// assert_eq!(request.uri(), "https://op.example/.well-known/openid-configuration");
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    config: Arc<ClientConfig>,
    metadata: Option<Arc<ProviderMetadata>>,
    /// When the metadata should be fetched again (`None`: kept fresh by the caller).
    refresh_at: Option<UnixTime>,
    /// The provider's JWK Set, as fetched for this provider's checks.
    pub keys: Option<JwksCache>,
}

impl Provider {
    /// A provider for `config`, nothing discovered or fetched yet.
    pub fn new(config: ClientConfig) -> Self {
        Provider { config: Arc::new(config), metadata: None, refresh_at: None, keys: None }
    }

    /// A provider over shared values: the async client's configuration and the metadata
    /// its single-flight cache keeps fresh (its JWK Set stays in the client's shared
    /// cache, passed to [`IdTokenCheck::poll`] as a [`KeySource`]).
    pub fn from_parts(config: Arc<ClientConfig>, metadata: Option<Arc<ProviderMetadata>>) -> Self {
        Provider { config, metadata, refresh_at: None, keys: None }
    }

    /// The client configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The discovered metadata, if any.
    pub fn metadata(&self) -> Option<&ProviderMetadata> {
        self.metadata.as_deref()
    }

    /// The discovery request to send at `now`: `Some` when `server_metadata_url` is
    /// configured and the metadata is missing or stale, `None` otherwise.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`issuer`) when the
    /// issuer can neither be derived from the discovery URL nor is configured: the issuer
    /// comparison never switches itself off;
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint) for
    /// a discovery URL that is not TLS.
    pub fn poll_discovery(&self, now: UnixTime) -> Result<Option<http::Request<Vec<u8>>>, Error> {
        if self.metadata.is_some() && self.refresh_at.map_or(true, |at| now < at) {
            return Ok(None);
        }
        discovery_request(&self.config)
    }

    /// Takes the discovery response: checks it ([`MetadataCache::from_response`], issuer
    /// included) and keeps it. A failed refresh keeps serving the stale document.
    ///
    /// # Errors
    /// As [`MetadataCache::from_response`], when there is no earlier document to serve.
    pub fn handle_discovery_response<B: AsRef<[u8]>>(
        &mut self,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<(), Error> {
        let expected = self.config.expected_issuer().ok_or_else(|| self.config.missing("issuer"))?;
        match MetadataCache::from_response(response, &expected, now) {
            Ok(fresh) => {
                self.refresh_at = Some(fresh.refresh_at());
                self.metadata = Some(Arc::new(fresh.metadata));
            }
            Err(_) if self.metadata.is_some() => {
                self.refresh_at = Some(now.plus(crate::discovery::METADATA_RETRY_AFTER))
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The authorization URL for the browser and the pending authorization to keep in the
    /// session ([`AuthorizationRequest`]); `params` are per-call extras (`redirect_uri`,
    /// `prompt`, `max_age`, `claims`, …).
    ///
    /// # Errors
    /// As [`AuthorizationRequest::build`].
    pub fn authorization_url<'p>(
        &self,
        params: impl IntoIterator<Item = (&'p str, &'p str)>,
        rng: &dyn SecureRandom,
        now: UnixTime,
    ) -> Result<(AuthorizationUrl, PendingAuthorization), Error> {
        let mut req = AuthorizationRequest::new(&self.config);
        if let Some(md) = self.metadata() {
            req = req.metadata(md);
        }
        for (k, v) in params {
            req = req.param(k, v);
        }
        req.build(rng, now)
    }

    /// Handles the browser's return: every check of the authorization response
    /// ([`validate_callback`]: the pending entry is taken, single use), then the code
    /// exchange request with PKCE and client authentication.
    ///
    /// # Errors
    /// The callback's errors (state, provider error, client, `iss`, front-channel tokens,
    /// missing code) — in which case no request is returned, so none can be sent — and
    /// the token request's (configuration, TLS).
    pub fn handle_callback(
        &self,
        params: &CallbackParams,
        pending: &mut PendingSet,
        rng: &dyn SecureRandom,
        now: UnixTime,
    ) -> Result<Send<CodeExchange>, Error> {
        let md = self.metadata();
        let mut authorized = validate_callback(params, pending, &self.config, md, now)?;
        let verifier = authorized.pending.take_code_verifier();
        let request = token::exchange_request(
            &self.config,
            md,
            authorized.code,
            authorized.pending.redirect_uri(),
            verifier,
            rng,
            now,
        )?;
        Ok(Send { request, next: CodeExchange { pending: authorized.pending, dpop: false } })
    }

    /// The refresh request for `token` (`refresh_token_url`, else the token endpoint).
    ///
    /// # Errors
    /// [`Error::NoRefreshToken`] (nothing to send) when the token has none; configuration
    /// errors.
    pub fn refresh(&self, token: &Token, rng: &dyn SecureRandom, now: UnixTime) -> Result<Send<Refresh>, Error> {
        let rt: &RefreshToken = token.refresh_token.as_ref().ok_or(Error::NoRefreshToken)?;
        let request = token::refresh_request(&self.config, self.metadata(), rt, None, rng, now)?;
        Ok(Send { request, next: Refresh { old: token.clone(), dpop: false } })
    }
}

/// The discovery request for `config`, if it has a `server_metadata_url`.
///
/// # Errors
/// As [`Provider::poll_discovery`].
pub fn discovery_request(config: &ClientConfig) -> Result<Option<http::Request<Vec<u8>>>, Error> {
    let Some(url) = config.server_metadata_url.as_deref() else {
        return Ok(None);
    };
    // Refused before anything is sent: without an expected issuer the document's could not
    // be checked, and that check is the mix-up defence.
    config.expected_issuer().ok_or_else(|| config.missing("issuer"))?;
    check_transport(config, "server_metadata_url", url, false)?;
    metadata_request(url).map(Some)
}

/// A code exchange in flight: handles the token endpoint's response.
#[derive(Debug)]
#[must_use = "hand the token response to `handle_token_response`"]
pub struct CodeExchange {
    pending: PendingAuthorization,
    /// Whether the request carried a DPoP proof (the token must then be DPoP-bound).
    dpop: bool,
}

impl CodeExchange {
    /// Records whether the exchange request was sent with a DPoP proof
    /// ([`crate::dpop`]): the token must then be `token_type: DPoP`, never Bearer.
    pub fn dpop(mut self, proof_sent: bool) -> Self {
        self.dpop = proof_sent;
        self
    }

    /// Takes the token response. A plain OAuth 2.0 login is done; an OpenID Connect one
    /// must have an ID token (OIDC Core §3.1.3.3), which is verified next with the
    /// request's nonce, `max_age` and essential `acr`. An ID token that a plain OAuth 2.0
    /// request did not ask for is dropped unverified, so nothing can rely on it.
    ///
    /// # Errors
    /// As [`token::parse_token_response`]; [`TokenError::MissingIdToken`]; validator
    /// configuration errors.
    pub fn handle_token_response<B: AsRef<[u8]>>(
        self,
        provider: &Provider,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<LoginStep, Error> {
        let openid = self.pending.is_openid();
        let mut token =
            token::parse_token_response_dpop(response, now, Grant::AuthorizationCode { openid }, self.dpop)?;
        if !openid {
            token.id_token = None;
            return Ok(LoginStep::Done(token));
        }
        let config = provider.config();
        let md = provider.metadata();
        let compact = token.id_token.as_ref().ok_or(TokenError::MissingIdToken)?.secret();
        let key_check = KeyCheck::new(compact, config, md)?;
        let mut validator = IdTokenValidator::from_config(config, md)?.access_token(&token.access_token);
        if let Some(nonce) = self.pending.nonce() {
            validator = validator.nonce(nonce.clone());
        }
        if let Some(max_age) = self.pending.max_age() {
            validator = validator.max_age(max_age);
        }
        if let Some(acr) = self.pending.essential_acr() {
            validator = validator.essential_acr(acr.to_vec());
        }
        Ok(LoginStep::VerifyIdToken(IdTokenCheck { token, validator, key_check, original: None }))
    }
}

/// What a login needs after the token response.
#[derive(Debug)]
#[must_use]
// Returned once per step and consumed at once.
#[allow(clippy::large_enum_variant)]
pub enum LoginStep {
    /// Logged in (plain OAuth 2.0, or a refresh that brought no new ID token).
    Done(Token),
    /// Verify the ID token ([`IdTokenCheck::poll`]).
    VerifyIdToken(IdTokenCheck),
}

/// The ID token of a token response, to verify against the provider's keys.
#[derive(Debug)]
#[must_use = "poll it until it is done"]
pub struct IdTokenCheck {
    token: Token,
    validator: IdTokenValidator,
    key_check: KeyCheck,
    /// For a refresh: the claims of the ID token being replaced (OIDC Core §12.2).
    original: Option<Claims>,
}

/// What an [`IdTokenCheck`] needs next.
#[derive(Debug)]
#[must_use]
// Returned once per step and consumed at once.
#[allow(clippy::large_enum_variant)]
pub enum Verify {
    /// Verified: the token, its ID token's claims in `userinfo`.
    Done(Token),
    /// Fetch the JWK Set, then [`IdTokenCheck::handle_keys_response`] (or install it in a
    /// shared cache, [`IdTokenCheck::keys_fetched`] and poll again).
    Fetch(Send<IdTokenCheck>),
}

impl IdTokenCheck {
    /// Verifies the ID token with the keys of `keys` (a [`Provider`]'s `keys`, or a
    /// shared cache), or asks for the JWK Set.
    ///
    /// # Errors
    /// Every ID token error ([`IdTokenError`], JOSE errors) once no fetch could change it.
    pub fn poll(mut self, keys: &mut dyn KeySource, now: UnixTime) -> Result<Verify, Error> {
        let Some(id_token) = self.token.id_token.as_ref() else {
            return Err(TokenError::MissingIdToken.into());
        };
        let compact = id_token.secret();
        let (validator, original) = (&self.validator, self.original.as_ref());
        let step = self.key_check.poll(keys, now, |set| match original {
            Some(original) => validator.validate_refreshed(original, compact, set, now),
            None => validator.validate(compact, set, now),
        })?;
        match step {
            KeyStep::Done(claims) => {
                self.token.userinfo = Some(claims);
                Ok(Verify::Done(self.token))
            }
            KeyStep::Fetch(request) => Ok(Verify::Fetch(Send { request, next: self })),
        }
    }

    /// Records that the JWK Set was fetched and installed for this check (after a
    /// [`Verify::Fetch`]); the next [`poll`](Self::poll)'s verdict is final.
    pub fn keys_fetched(mut self) -> Self {
        self.key_check.keys_fetched();
        self
    }

    /// Takes the JWK Set response of a [`Verify::Fetch`], installs it in `keys` and polls
    /// again.
    ///
    /// # Errors
    /// As [`JwksCache::from_response`], then as [`poll`](Self::poll).
    pub fn handle_keys_response<B: AsRef<[u8]>>(
        self,
        keys: &mut Option<JwksCache>,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<Verify, Error> {
        crate::jwks::install(keys, JwksCache::from_response(response, now)?);
        self.keys_fetched().poll(keys, now)
    }
}

/// A refresh in flight: handles the token endpoint's response.
#[derive(Debug)]
#[must_use = "hand the token response to `handle_token_response`"]
pub struct Refresh {
    old: Token,
    /// Whether the request carried a DPoP proof (the token must then be DPoP-bound).
    dpop: bool,
}

impl Refresh {
    /// Records whether the refresh request was sent with a DPoP proof: the new token must
    /// then be `token_type: DPoP`.
    pub fn dpop(mut self, proof_sent: bool) -> Self {
        self.dpop = proof_sent;
        self
    }

    /// The token being refreshed.
    pub fn old(&self) -> &Token {
        &self.old
    }

    /// Takes the refresh response and merges it into the old token (a missing refresh
    /// token keeps the old one). A new ID token is verified next against the original's
    /// claims (OIDC Core §12.2: same `iss`, `sub`, `aud`, `azp`; nonce absent or
    /// unchanged); one without known original claims is refused, not trusted as a fresh
    /// login. An unchanged or absent ID token keeps the original claims.
    ///
    /// # Errors
    /// As [`token::parse_token_response`] (`invalid_grant` is
    /// [`Error::ReauthenticationRequired`]); [`IdTokenError::RefreshWithoutOriginal`].
    pub fn handle_token_response<B: AsRef<[u8]>>(
        self,
        provider: &Provider,
        response: &http::Response<B>,
        now: UnixTime,
    ) -> Result<LoginStep, Error> {
        let fresh = token::parse_token_response_dpop(response, now, Grant::Refresh, self.dpop)?;
        let mut merged = self.old.clone().merge_refresh(fresh);
        if merged.id_token.is_none() || merged.id_token == self.old.id_token {
            merged.userinfo = self.old.userinfo;
            return Ok(LoginStep::Done(merged));
        }
        let original = self.old.userinfo.ok_or(IdTokenError::RefreshWithoutOriginal)?;
        let config = provider.config();
        let md = provider.metadata();
        let compact = merged.id_token.as_ref().map(|t| t.secret()).unwrap_or_default();
        let key_check = KeyCheck::new(compact, config, md)?;
        let validator = IdTokenValidator::from_config(config, md)?.access_token(&merged.access_token);
        Ok(LoginStep::VerifyIdToken(IdTokenCheck { token: merged, validator, key_check, original: Some(original) }))
    }
}

/// The ID token check of a fresh token obtained without a browser round trip (the device
/// grant, RFC 8628): no nonce, no `max_age`, no original claims; every other check as for
/// the code flow. An OpenID Connect request must have brought an ID token.
///
/// # Errors
/// [`TokenError::MissingIdToken`]; validator configuration errors.
pub(crate) fn verify_fresh_id_token(provider: &Provider, token: Token) -> Result<LoginStep, Error> {
    let config = provider.config();
    let md = provider.metadata();
    let compact = token.id_token.as_ref().ok_or(TokenError::MissingIdToken)?.secret();
    let key_check = KeyCheck::new(compact, config, md)?;
    let validator = IdTokenValidator::from_config(config, md)?.access_token(&token.access_token);
    Ok(LoginStep::VerifyIdToken(IdTokenCheck { token, validator, key_check, original: None }))
}
