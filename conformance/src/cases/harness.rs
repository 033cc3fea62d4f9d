//! The machinery the cases share: the provider of a profile, the RP under test (rpkit's
//! async client over `rpkit-reqwest`, with a request log), a browser without JavaScript
//! (reqwest, redirects off) and a back-channel logout receiver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{
    AuthorizeOptions, ClientError, HttpClient, LogoutOptions, ManualClock, OAuth, OAuthClient, TransportError,
};
use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
use rpkit::logout::{backchannel_response, LogoutTarget};
use rpkit::{Error, Token};
use rpkit_reqwest::ReqwestClient;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::{AuthMethod, ClientRegistration, Counters, DevProvider, DevUser, Endpoint, RunningProvider};

/// The RP's client id at the provider (accepts every secret-based method).
pub(crate) const CLIENT_ID: &str = "rp";
/// Its secret: at least 32 bytes, so that HS256 ID tokens and `client_secret_jwt`
/// assertions keyed by it are acceptable (RFC 7518 §3.2).
pub(crate) const SECRET: &str = "rp-secret-0123456789-0123456789-0123";
/// The client whose ID tokens and UserInfo responses are encrypted to the RP's RSA key.
pub(crate) const ENC_CLIENT_ID: &str = "rp-enc";
/// Clients pinned to one token endpoint authentication method each.
pub(crate) const POST_CLIENT_ID: &str = "rp-post";
pub(crate) const JWT_CLIENT_ID: &str = "rp-jwt";
pub(crate) const PKJ_CLIENT_ID: &str = "rp-pkj";
/// Nothing listens there: the browser never follows the redirect, it hands the query (or
/// the form) to the RP.
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub(crate) const POST_LOGOUT: &str = "http://127.0.0.1:9/logged-out";
/// The user who logs in.
pub(crate) const USER: &str = "alice";
/// The scope the RP asks for.
pub(crate) const SCOPE: &str = "openid profile email";

/// The outcome of one case: `Ok(what happened)` when it is what the certification
/// expects, `Err(what went wrong)` otherwise.
pub(crate) type Outcome = Result<String, String>;

/// How the authorization response reaches the RP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A redirect with the parameters in the query.
    Query,
    /// An auto-submitting HTML form (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

// ---------------------------------------------------------------------------------------
// Keys the RP owns (generated once per process: RSA key generation is slow).

/// The RP's own keys: an RSA key that ID tokens and UserInfo are encrypted to, and a
/// P-256 key for `private_key_jwt`.
pub(crate) struct RpKeys {
    /// Private RSA JWK (JSON text) for `decryption_key`.
    pub(crate) enc_private: String,
    /// Its public half, registered at the provider.
    pub(crate) enc_public: Value,
    /// Private P-256 JWK (JSON text) for `private_key`.
    pub(crate) sig_private: String,
    /// Its public half, registered at the provider.
    pub(crate) sig_public: Value,
}

/// The `kid` of the RP's `private_key_jwt` key.
pub(crate) const SIG_KID: &str = "rp-sig-1";

static RP_KEYS: OnceCell<Arc<RpKeys>> = OnceCell::const_new();

fn generate_keys() -> Result<RpKeys, String> {
    use josekit::jwk::Jwk;
    let err = |e: josekit::JoseError| format!("RP key generation failed: {e}");
    let mut enc = Jwk::generate_rsa_key(2048).map_err(err)?;
    enc.set_key_id("rp-enc-1");
    let mut enc_pub = enc.to_public_key().map_err(err)?;
    enc_pub.set_key_id("rp-enc-1");
    let mut sig = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).map_err(err)?;
    sig.set_key_id(SIG_KID);
    let mut sig_pub = sig.to_public_key().map_err(err)?;
    sig_pub.set_key_id(SIG_KID);
    let to_value = |jwk: Jwk| -> Value {
        let map: serde_json::Map<String, Value> = jwk.into();
        Value::Object(map)
    };
    Ok(RpKeys {
        enc_private: enc.to_string(),
        enc_public: to_value(enc_pub),
        sig_private: sig.to_string(),
        sig_public: to_value(sig_pub),
    })
}

async fn rp_keys() -> Result<Arc<RpKeys>, String> {
    RP_KEYS
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(generate_keys).await.map_err(|e| e.to_string())?.map(Arc::new)
        })
        .await
        .cloned()
}

// ---------------------------------------------------------------------------------------
// The RP's HTTP client, with a log of what it sent.

/// What the RP sent (never a secret: only the method, the path and where a token was).
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) method: http::Method,
    pub(crate) path: String,
    /// `Authorization: Bearer …` was set.
    pub(crate) bearer_header: bool,
    /// The form body held `access_token`.
    pub(crate) body_access_token: bool,
    /// The query held `access_token` (never acceptable).
    pub(crate) query_access_token: bool,
    /// The media type of the answer, if one came.
    pub(crate) response_type: Option<String>,
}

/// An [`HttpClient`] that logs each request and forwards it to `rpkit-reqwest`.
#[derive(Clone)]
pub(crate) struct Recorder {
    inner: ReqwestClient,
    log: Arc<Mutex<Vec<Sent>>>,
}

#[async_trait]
impl HttpClient for Recorder {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        max_body: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let has_param = |raw: &[u8]| url::form_urlencoded::parse(raw).any(|(k, _)| k == "access_token");
        let form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut sent = Sent {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            bearer_header: request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.get(..7))
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer ")),
            body_access_token: form && has_param(request.body()),
            query_access_token: request.uri().query().is_some_and(|q| has_param(q.as_bytes())),
            response_type: None,
        };
        let result = self.inner.send(request, max_body).await;
        if let Ok(resp) = &result {
            sent.response_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        }
        self.log.lock().unwrap_or_else(PoisonError::into_inner).push(sent);
        result
    }
}

/// One RP under test: a fresh `OAuth` registry with one client, so that every case starts
/// with empty metadata and JWKS caches.
pub(crate) struct Rp {
    pub(crate) client: OAuthClient,
    log: Arc<Mutex<Vec<Sent>>>,
    updates: Arc<AtomicUsize>,
}

impl Rp {
    /// Everything the RP sent so far.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many requests went to the provider's `endpoint`.
    pub(crate) fn sent_to(&self, endpoint: Endpoint) -> usize {
        self.sent().iter().filter(|s| s.path == endpoint.path()).count()
    }

    /// The last request to `endpoint`.
    pub(crate) fn last_sent_to(&self, endpoint: Endpoint) -> Option<Sent> {
        self.sent().into_iter().rev().find(|s| s.path == endpoint.path())
    }

    /// How many token-update events the registry emitted.
    pub(crate) fn token_updates(&self) -> usize {
        self.updates.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------
// The back-channel logout receiver: the RP's `backchannel_logout_uri`.

/// What the receiver did with one logout request.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) outcome: Result<LogoutTarget, ClientError>,
    pub(crate) status: u16,
    pub(crate) cache_control: Option<String>,
}

type Slot<T> = Arc<Mutex<T>>;

/// A small axum app that validates logout tokens with the current RP client and answers
/// with [`backchannel_response`].
pub(crate) struct Receiver {
    pub(crate) uri: String,
    client: Slot<Option<OAuthClient>>,
    log: Slot<Vec<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start() -> Result<Self, String> {
        let client: Slot<Option<OAuthClient>> = Arc::default();
        let log: Slot<Vec<Received>> = Arc::default();
        let (c, l) = (client.clone(), log.clone());
        let app = axum::Router::new().route(
            "/backchannel-logout",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (c, l) = (c.clone(), l.clone());
                async move {
                    let current = c.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    let outcome = match current {
                        Some(client) => client.validate_backchannel_logout(&body).await,
                        None => Err(ClientError::UnknownClient { name: "(no RP yet)".into() }),
                    };
                    let core: Result<(), Error> = match &outcome {
                        Ok(_) => Ok(()),
                        Err(ClientError::Core(e)) => Err(e.clone()),
                        Err(other) => Err(Error::malformed(other.to_string())),
                    };
                    let resp = backchannel_response(&core);
                    let cache_control =
                        resp.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    l.lock().unwrap_or_else(PoisonError::into_inner).push(Received {
                        outcome,
                        status: resp.status().as_u16(),
                        cache_control,
                    });
                    resp.map(axum::body::Body::from)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { uri: format!("http://{addr}/backchannel-logout"), client, log, task })
    }

    fn serve(&self, client: &OAuthClient) {
        *self.client.lock().unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
    }

    /// Take what was received so far.
    pub(crate) fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

// ---------------------------------------------------------------------------------------
// The context of one profile run.

/// One provider with the RP's registrations, a browser, and (for back-channel logout) a
/// receiver.
pub(crate) struct Ctx {
    pub(crate) op: RunningProvider,
    pub(crate) mode: Mode,
    browser: reqwest::Client,
    receiver: Option<Receiver>,
    next: AtomicUsize,
}

/// Options of [`Ctx::start`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Setup {
    pub(crate) form_post: bool,
    pub(crate) backchannel: bool,
}

impl Ctx {
    /// Start a provider with the RP's client registrations.
    pub(crate) async fn start(setup: Setup) -> Result<Ctx, String> {
        let keys = rp_keys().await?;
        let receiver = if setup.backchannel { Some(Receiver::start().await?) } else { None };
        let mut rp = ClientRegistration::confidential(CLIENT_ID, SECRET)
            .redirect_uri(REDIRECT)
            .post_logout_redirect_uri(POST_LOGOUT);
        if let Some(r) = &receiver {
            rp = rp.backchannel_logout_uri(r.uri.clone());
        }
        let enc = ClientRegistration::confidential(ENC_CLIENT_ID, SECRET)
            .redirect_uri(REDIRECT)
            .id_token_encryption_key(keys.enc_public.clone())
            .userinfo_encryption_key(keys.enc_public.clone());
        let pinned = |id: &str, method: AuthMethod| {
            ClientRegistration::confidential(id, SECRET).redirect_uri(REDIRECT).token_endpoint_auth_method(method)
        };
        let pkj = ClientRegistration::confidential(PKJ_CLIENT_ID, SECRET)
            .redirect_uri(REDIRECT)
            .private_key_jwt_key(keys.sig_public.clone())
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt);
        let op = DevProvider::builder()
            .client(rp)
            .client(enc)
            .client(pinned(POST_CLIENT_ID, AuthMethod::ClientSecretPost))
            .client(pinned(JWT_CLIENT_ID, AuthMethod::ClientSecretJwt))
            .client(pkj)
            .user(DevUser::new(USER).email("alice@example.com").name("Alice Example"))
            .start()
            .await
            .map_err(|e| format!("the provider did not start: {e}"))?;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| e.to_string())?;
        let mode = if setup.form_post { Mode::FormPost } else { Mode::Query };
        Ok(Ctx { op, mode, browser, receiver, next: AtomicUsize::new(0) })
    }

    /// Stop the provider.
    pub(crate) async fn shutdown(self) {
        self.op.shutdown().await;
    }

    /// The RP's keys.
    pub(crate) async fn keys(&self) -> Result<Arc<RpKeys>, String> {
        rp_keys().await
    }

    /// The standard RP configuration: discovery, `client_secret_basic`, PKCE (rpkit's
    /// default), the profile's response mode.
    pub(crate) fn config(&self) -> ClientConfig {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let mut cfg = ClientConfig::new(format!("dev-{n}"))
            .client_id(CLIENT_ID)
            .client_secret(SECRET)
            .server_metadata_url(self.op.discovery_url())
            .redirect_uri(REDIRECT)
            .scope(SCOPE)
            .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic);
        if self.mode == Mode::FormPost {
            cfg.client_kwargs.response_mode = Some("form_post".into());
        }
        cfg
    }

    /// A fresh RP with the standard configuration.
    pub(crate) fn rp(&self) -> Result<Rp, String> {
        self.rp_with(self.config())
    }

    /// A fresh RP with `config`. In the back-channel profile it also becomes the client
    /// the receiver validates logout tokens with.
    pub(crate) fn rp_with(&self, config: ClientConfig) -> Result<Rp, String> {
        self.build_rp(config, None)
    }

    /// A fresh RP with `config` whose clock is `clock` (the system clock otherwise), for
    /// cases that let time pass (cache lifetimes).
    pub(crate) fn rp_with_clock(&self, config: ClientConfig, clock: Arc<ManualClock>) -> Result<Rp, String> {
        self.build_rp(config, Some(clock))
    }

    fn build_rp(&self, config: ClientConfig, clock: Option<Arc<ManualClock>>) -> Result<Rp, String> {
        let http = ReqwestClient::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("rpkit-reqwest: {e}"))?;
        let log: Arc<Mutex<Vec<Sent>>> = Arc::default();
        let mut builder = OAuth::builder(Recorder { inner: http, log: log.clone() });
        if let Some(clock) = clock {
            builder = builder.clock(clock);
        }
        let oauth = builder.build();
        let updates = Arc::new(AtomicUsize::new(0));
        let counter = updates.clone();
        oauth.on_token_update(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let client = oauth.register(config);
        if let Some(r) = &self.receiver {
            r.serve(&client);
        }
        Ok(Rp { client, log, updates })
    }

    /// The back-channel receiver (back-channel profile only).
    pub(crate) fn receiver(&self) -> Result<&Receiver, String> {
        self.receiver.as_ref().ok_or_else(|| "this profile has no back-channel receiver".to_owned())
    }

    // ----- the browser -----

    /// Follow the authorization URL like a browser: the login form (logging in as
    /// [`USER`]), then the redirect or the auto-submitting form back to [`REDIRECT`].
    pub(crate) async fn front_channel(&self, url: &rpkit::authorize::AuthorizationUrl) -> Result<FrontChannel, String> {
        let resp = self.browser.get(url.as_str()).send().await.map_err(|e| format!("GET /authorize: {e}"))?;
        if resp.status() == 200 {
            let html = resp.text().await.map_err(|e| e.to_string())?;
            let Some(id) = hidden_inputs(&html).into_iter().find(|(k, _)| k == "login_request").map(|(_, v)| v) else {
                return form_post(&html);
            };
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("login_request", &id)
                .append_pair("username", USER)
                .finish();
            let resp = self
                .browser
                .post(self.op.authorization_endpoint())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("POST /authorize: {e}"))?;
            return authorization_response(resp).await;
        }
        authorization_response(resp).await
    }

    /// Start a login with `rp` and go through the front channel: the pending
    /// authorization (the RP's session) and what came back to the redirect URI.
    pub(crate) async fn begin(
        &self,
        rp: &Rp,
        options: &AuthorizeOptions,
    ) -> Result<(PendingSet, FrontChannel), String> {
        let mut pending = PendingSet::new();
        let url = rp
            .client
            .authorize_redirect(&mut pending, options)
            .await
            .map_err(|e| format!("authorize_redirect failed: {}", describe(&e)))?;
        let front = self.front_channel(&url).await?;
        if front.mode != self.mode {
            return Err(format!("the authorization response came as {:?}, not {:?}", front.mode, self.mode));
        }
        Ok((pending, front))
    }

    /// Hand an authorization response to `authorize_access_token`, noting what the
    /// provider and the RP saw meanwhile.
    pub(crate) async fn finish(&self, rp: &Rp, pending: &mut PendingSet, params: CallbackParams) -> Attempt {
        let rp_tokens_before = rp.sent_to(Endpoint::Token);
        let before = self.op.counters();
        let result = rp.client.authorize_access_token(pending, &params).await;
        let after = self.op.counters();
        let rp_token_requests = rp.sent_to(Endpoint::Token).saturating_sub(rp_tokens_before);
        Attempt { result, before, after, rp_token_requests }
    }

    /// Start a login with `rp`, go through the front channel, let `tamper` change the
    /// authorization response, and hand it to `authorize_access_token`.
    pub(crate) async fn sign_in_tampered(
        &self,
        rp: &Rp,
        options: &AuthorizeOptions,
        tamper: impl FnOnce(&mut Vec<(String, String)>),
    ) -> Result<Attempt, String> {
        let (mut pending, front) = self.begin(rp, options).await?;
        let mut pairs: Vec<(String, String)> = front.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        tamper(&mut pairs);
        let params = CallbackParams::from_pairs(pairs).map_err(|e| format!("callback parameters: {e}"))?;
        Ok(self.finish(rp, &mut pending, params).await)
    }

    /// [`sign_in_tampered`](Self::sign_in_tampered) without tampering and without options.
    pub(crate) async fn sign_in(&self, rp: &Rp) -> Result<Attempt, String> {
        self.sign_in_tampered(rp, &AuthorizeOptions::default(), |_| {}).await
    }

    /// A successful login, or why not.
    pub(crate) async fn signed_in(&self, rp: &Rp) -> Result<Token, String> {
        let attempt = self.sign_in(rp).await?;
        attempt.result.map_err(|e| format!("the login failed: {}", describe(&e)))
    }

    /// RP-initiated logout with `id_token_hint` and the post-logout redirect URI: the
    /// browser follows the logout URL; returns the redirect's query and what the RP says
    /// about it ([`OAuthClient::validate_logout_response`]).
    pub(crate) async fn rp_initiated_logout(&self, rp: &Rp, token: &Token) -> Result<LogoutResult, String> {
        let options = LogoutOptions {
            post_logout_redirect_uri: Some(POST_LOGOUT.into()),
            id_token_hint: token.id_token.clone(),
            ..LogoutOptions::default()
        };
        let (url, pending_entry) =
            rp.client.logout_redirect(&options).await.map_err(|e| format!("logout_redirect: {}", describe(&e)))?;
        let sent_state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
        let mut pending = rpkit::logout::PendingLogouts::new();
        pending.extend(pending_entry);
        let resp = self.browser.get(url.as_str()).send().await.map_err(|e| format!("GET /end_session: {e}"))?;
        if !resp.status().is_redirection() {
            return Err(format!("the end-session endpoint answered {} instead of redirecting", resp.status()));
        }
        let location = location(&resp)?;
        let back = url::Url::parse(&location).map_err(|_| format!("bad Location {location:?}"))?;
        if !same_endpoint(&back, POST_LOGOUT) {
            return Err(format!("redirected to {location}, not to the post-logout URI"));
        }
        let query = back.query().unwrap_or_default().to_owned();
        let validated = rp.client.validate_logout_response(&query, &mut pending);
        Ok(LogoutResult { sent_state, query, validated })
    }
}

/// The browser's view of the authorization response.
pub(crate) struct FrontChannel {
    pub(crate) params: CallbackParams,
    pub(crate) mode: Mode,
}

/// One pass through `authorize_access_token`.
pub(crate) struct Attempt {
    pub(crate) result: Result<Token, ClientError>,
    /// Provider counters just before and after `authorize_access_token`.
    pub(crate) before: Counters,
    pub(crate) after: Counters,
    /// Token requests the RP sent during `authorize_access_token`.
    pub(crate) rp_token_requests: usize,
}

/// The end of an RP-initiated logout.
pub(crate) struct LogoutResult {
    pub(crate) sent_state: Option<String>,
    pub(crate) query: String,
    pub(crate) validated: Result<rpkit::logout::PendingLogout, ClientError>,
}

fn location(resp: &reqwest::Response) -> Result<String, String> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| "a redirect without Location".to_owned())
}

/// Whether `url` is `endpoint` (scheme, host, port, path), whatever the query.
fn same_endpoint(url: &url::Url, endpoint: &str) -> bool {
    url::Url::parse(endpoint).is_ok_and(|e| {
        e.scheme() == url.scheme() && e.host() == url.host() && e.port() == url.port() && e.path() == url.path()
    })
}

async fn authorization_response(resp: reqwest::Response) -> Result<FrontChannel, String> {
    let status = resp.status();
    if status.is_redirection() {
        let location = location(&resp)?;
        let url = url::Url::parse(&location).map_err(|_| format!("bad Location {location:?}"))?;
        if !same_endpoint(&url, REDIRECT) {
            return Err(format!("redirected to {location}, not to the redirect URI"));
        }
        let params =
            CallbackParams::from_query(url.query().unwrap_or_default()).map_err(|e| format!("callback query: {e}"))?;
        return Ok(FrontChannel { params, mode: Mode::Query });
    }
    let html = resp.text().await.map_err(|e| e.to_string())?;
    if status == 200 {
        return form_post(&html);
    }
    Err(format!("the authorization endpoint answered {status}"))
}

/// Read an auto-submitting Form Post page: the form must post to [`REDIRECT`].
fn form_post(html: &str) -> Result<FrontChannel, String> {
    let action =
        attribute(tag_after(html, "<form").ok_or("a page without a form")?, "action").ok_or("a form without action")?;
    if action != REDIRECT {
        return Err(format!("the form posts to {action}, not to the redirect URI"));
    }
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in hidden_inputs(html) {
        body.append_pair(&k, &v);
    }
    let params =
        CallbackParams::from_form_body(body.finish().as_bytes()).map_err(|e| format!("form_post body: {e}"))?;
    Ok(FrontChannel { params, mode: Mode::FormPost })
}

/// The text of the first tag starting with `start` (up to its `>`).
fn tag_after<'h>(html: &'h str, start: &str) -> Option<&'h str> {
    let from = html.find(start)?;
    let rest = html.get(from..)?;
    let end = rest.find('>')?;
    rest.get(..end)
}

/// The value of `name="…"` in a tag, HTML-unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let from = tag.find(&marker)? + marker.len();
    let rest = tag.get(from..)?;
    let end = rest.find('"')?;
    Some(unescape(rest.get(..end)?))
}

/// `(name, value)` of every hidden input of a page.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(tag) = tag_after(rest, "<input") {
        if attribute(tag, "type").as_deref() == Some("hidden") {
            if let (Some(k), Some(v)) = (attribute(tag, "name"), attribute(tag, "value")) {
                out.push((k, v));
            }
        }
        let Some(next) = rest.find("<input").and_then(|i| rest.get(i + 6..)) else {
            break;
        };
        rest = next;
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------
// Describing outcomes.

/// A short description of an error: its variant path, with long field values elided.
pub(crate) fn describe(e: &ClientError) -> String {
    match e {
        ClientError::Core(Error::Provider(p)) => return format!("Provider({})", p.error),
        ClientError::Core(Error::ReauthenticationRequired(p)) => {
            return format!("ReauthenticationRequired({})", p.error)
        }
        ClientError::Core(Error::Jose(rpkit::error::JoseError::Malformed { what })) => {
            return format!("Jose(Malformed: {what})")
        }
        ClientError::Core(Error::Malformed { what }) => return format!("Malformed: {what}"),
        _ => {}
    }
    let full = format!("{e:?}");
    let full = full.strip_prefix("Core(").and_then(|s| s.strip_suffix(')')).unwrap_or(&full);
    let mut out = String::new();
    let mut depth = 0usize;
    let mut inner = String::new();
    for c in full.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    inner.clear();
                    continue;
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let trimmed = inner.trim();
                    if trimmed.chars().count() <= 48 {
                        out.push_str(&format!("{{ {trimmed} }}"));
                    } else {
                        out.push_str("{ … }");
                    }
                    continue;
                }
            }
            _ => {}
        }
        if depth == 0 {
            out.push(c);
        } else {
            inner.push(c);
        }
    }
    out
}

/// The protected header of a compact JWS (`None` for a JWE or garbage).
pub(crate) fn jws_header(compact: &str) -> Option<serde_json::Map<String, Value>> {
    let parts: Vec<&str> = compact.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let bytes = rpkit::jose::b64::decode(parts.first()?)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The header member `name` of the token's ID token, as text.
pub(crate) fn id_token_header(token: &Token, name: &str) -> Option<String> {
    let header = jws_header(token.id_token.as_ref()?.secret())?;
    header.get(name)?.as_str().map(str::to_owned)
}

/// The validated ID token claim `name` of a token, as text.
pub(crate) fn claim(token: &Token, name: &str) -> Option<String> {
    token.userinfo.as_ref()?.get(name)?.as_str().map(str::to_owned)
}

/// The token was accepted: it is returned, with validated ID token claims.
pub(crate) fn accepted(attempt: Attempt) -> Result<Token, String> {
    match attempt.result {
        Ok(token) => {
            if token.userinfo.is_none() {
                return Err("accepted, but without validated ID token claims".into());
            }
            Ok(token)
        }
        Err(e) => Err(format!("rejected: {}", describe(&e))),
    }
}

/// The ID token (or the token response) was rejected with the expected error: no token
/// came back, and the RP made no UserInfo call.
pub(crate) fn rejected_token(attempt: &Attempt, want: &str, ok: impl Fn(&ClientError) -> bool) -> Outcome {
    let err = match &attempt.result {
        Ok(_) => return Err(format!("accepted (expected {want})")),
        Err(e) => e,
    };
    if !ok(err) {
        return Err(format!("rejected with {} (expected {want})", describe(err)));
    }
    if attempt.after.userinfo != attempt.before.userinfo {
        return Err("rejected, but the UserInfo endpoint was called".into());
    }
    Ok(format!("rejected: {}; no token, no UserInfo call", describe(err)))
}

/// The authorization response was rejected with the expected error before any token
/// request.
pub(crate) fn rejected_callback(attempt: &Attempt, want: &str, ok: impl Fn(&ClientError) -> bool) -> Outcome {
    let err = match &attempt.result {
        Ok(_) => return Err(format!("accepted (expected {want})")),
        Err(e) => e,
    };
    if !ok(err) {
        return Err(format!("rejected with {} (expected {want})", describe(err)));
    }
    if attempt.after.token != attempt.before.token || attempt.rp_token_requests != 0 {
        return Err(format!("rejected with {}, but a token request was made", describe(err)));
    }
    Ok(format!("rejected: {}; no token request", describe(err)))
}

/// Fail with `msg` unless `cond`.
pub(crate) fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_inputs_are_read_and_unescaped() {
        let html = "<form method=\"post\" action=\"http://127.0.0.1:9/cb\">\
                    <input type=\"hidden\" name=\"code\" value=\"a&amp;b\">\
                    <input type=\"hidden\" name=\"state\" value=\"&quot;s&#39;\">\
                    <input name=\"username\" autocomplete=\"username\"></form>";
        assert_eq!(
            hidden_inputs(html),
            vec![("code".to_owned(), "a&b".to_owned()), ("state".to_owned(), "\"s'".to_owned())]
        );
        let front = form_post(html).unwrap();
        assert_eq!(front.params.code(), Some("a&b"));
        assert_eq!(front.params.state(), Some("\"s'"));
    }

    #[test]
    fn a_form_posting_elsewhere_is_refused() {
        let html = "<form method=\"post\" action=\"http://evil.example/cb\"></form>";
        assert!(form_post(html).is_err());
    }

    #[test]
    fn describe_elides_long_fields() {
        let e = ClientError::Core(Error::IdToken(rpkit::error::IdTokenError::MissingClaim { name: "sub" }));
        assert_eq!(describe(&e), "IdToken(MissingClaim { name: \"sub\" })");
        let e = ClientError::Core(Error::IdToken(rpkit::error::IdTokenError::Issuer {
            expected: "http://127.0.0.1:1234".into(),
            found: "https://evil.example".into(),
        }));
        assert_eq!(describe(&e), "IdToken(Issuer { … })");
        let e = ClientError::Core(Error::Provider(rpkit::ProviderError::new("access_denied")));
        assert_eq!(describe(&e), "Provider(access_denied)");
    }

    #[test]
    fn same_endpoint_ignores_the_query_only() {
        let u = url::Url::parse("http://127.0.0.1:9/cb?code=x").unwrap();
        assert!(same_endpoint(&u, REDIRECT));
        let u = url::Url::parse("http://127.0.0.1:9/cb/x?code=x").unwrap();
        assert!(!same_endpoint(&u, REDIRECT));
    }
}
