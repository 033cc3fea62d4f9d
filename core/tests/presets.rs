//! The provider presets against local imitations of each provider's behaviour: the hosts
//! and paths of the preset, answered in memory the way the real provider answers (GitHub's
//! form-encoded token response without `Accept: application/json`, Entra's multi-tenant
//! issuer template, X's PKCE and Basic authentication, …).

mod support;

use async_trait::async_trait;
use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{ClientError, HttpClient, ManualClock, OAuth, TransportError};
use rpkit::error::IdTokenError;
use rpkit::jose::sign::SigningKey;
use rpkit::providers::{identity_endpoint, preset, PRESETS};
use rpkit::rand::SeededRandom;
use rpkit::{ClientConfig, Error};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::{json_response, mint, new_key, T0};

type Handler = dyn Fn(&http::Request<Vec<u8>>, &Imitation) -> http::Response<Vec<u8>> + Send + Sync;

/// A provider imitation: one handler for every request, and what it saw.
struct Imitation {
    handler: Box<Handler>,
    key: Arc<SigningKey>,
    /// The authorization request's query (nonce, code_challenge…), captured by `authorize`.
    authz: Mutex<HashMap<String, String>>,
    seen: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl HttpClient for Imitation {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _max: usize,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let uri = request.uri();
        self.seen.lock().unwrap().push((uri.host().unwrap_or_default().to_owned(), uri.path().to_owned()));
        Ok((self.handler)(&request, self))
    }
}

impl Imitation {
    fn new(
        handler: impl Fn(&http::Request<Vec<u8>>, &Imitation) -> http::Response<Vec<u8>> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Imitation {
            handler: Box::new(handler),
            key: new_key("k1"),
            authz: Mutex::default(),
            seen: Mutex::default(),
        })
    }

    fn jwks(&self) -> http::Response<Vec<u8>> {
        json_response(200, &json!({"keys": [self.key.public_jwk().unwrap()]}))
    }

    fn nonce(&self) -> String {
        self.authz.lock().unwrap().get("nonce").cloned().unwrap_or_default()
    }

    fn paths(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|(h, p)| format!("{h}{p}")).collect()
    }
}

fn form(req: &http::Request<Vec<u8>>) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.body()).into_owned().collect()
}

fn accepts_json(req: &http::Request<Vec<u8>>) -> bool {
    req.headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// Registers `cfg` over the imitation, runs a login through it (the "browser" step
/// records the authorization request and answers with `code=c1`), and returns the result.
async fn login(op: &Arc<Imitation>, cfg: ClientConfig) -> Result<rpkit::Token, ClientError> {
    let http: Arc<dyn HttpClient> = Arc::clone(op) as Arc<dyn HttpClient>;
    let oauth = OAuth::builder_shared(http).clock(ManualClock::new(T0)).rng(SeededRandom::new(3)).build();
    let client =
        oauth.register(cfg.client_id("app").client_secret("app-secret").redirect_uri("https://app.example/cb"));
    let mut session = PendingSet::new();
    let url = client.authorize_redirect(&mut session, &Default::default()).await?.to_url();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let state = query["state"].clone();
    *op.authz.lock().unwrap() = query;
    let params = CallbackParams::from_query(&format!("code=c1&state={state}")).unwrap();
    let token = client.authorize_access_token(&mut session, &params).await?;
    if let Some((path, _)) = identity_endpoint(&cfg_name(&client)) {
        client.get(path, &token).await?;
    }
    Ok(token)
}

fn cfg_name(client: &rpkit::client::OAuthClient) -> String {
    client.name().to_owned()
}

#[tokio::test]
async fn github_form_encoded_token_responses_and_the_user_endpoint() {
    let op = Imitation::new(|req, _| match (req.uri().host(), req.uri().path()) {
        (Some("github.com"), "/login/oauth/access_token") => {
            assert_eq!(form(req)["grant_type"], "authorization_code");
            // GitHub answers form-encoded unless the client asks for JSON.
            if accepts_json(req) {
                json_response(200, &json!({"access_token": "gho_1", "token_type": "bearer", "scope": "user:email"}))
            } else {
                http::Response::builder()
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(b"access_token=gho_1&token_type=bearer&scope=user%3Aemail".to_vec())
                    .unwrap()
            }
        }
        (Some("api.github.com"), "/user") => {
            assert_eq!(req.headers()["authorization"], "Bearer gho_1");
            json_response(200, &json!({"id": 1, "login": "octocat", "email": null}))
        }
        (Some("api.github.com"), "/user/emails") => json_response(
            200,
            &json!([{"email": "octocat@github.com", "primary": true, "verified": true},
                    {"email": "old@example.com", "primary": false, "verified": false}]),
        ),
        other => panic!("unexpected request {other:?}"),
    });
    let token = login(&op, preset("github").unwrap()).await.unwrap();
    assert_eq!(token.access_token.secret(), "gho_1");
    assert!(token.id_token.is_none() && token.userinfo.is_none(), "not OpenID Connect");
    assert_eq!(op.paths(), ["github.com/login/oauth/access_token", "api.github.com/user"]);
    // The e-mail (null on `user` when private) comes from `user/emails`: the primary, verified one.
    let http: Arc<dyn HttpClient> = Arc::clone(&op) as Arc<dyn HttpClient>;
    let github = OAuth::builder_shared(http).clock(ManualClock::new(T0)).build().register(preset("github").unwrap());
    let emails: Value = github.get("user/emails", &token).await.unwrap().json().unwrap();
    let primary = emails.as_array().unwrap().iter().find(|e| e["primary"] == true && e["verified"] == true).unwrap();
    assert_eq!(primary["email"], "octocat@github.com");

    // Without the Accept header GitHub's form body is still read.
    let body = http::Response::builder()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"access_token=gho_2&token_type=bearer&scope=user%3Aemail".to_vec())
        .unwrap();
    let token = rpkit::token::parse_token_response(
        &body,
        rpkit::UnixTime::from_secs(T0),
        rpkit::token::Grant::AuthorizationCode { openid: false },
    )
    .unwrap();
    assert_eq!(token.access_token.secret(), "gho_2");
    assert_eq!(token.scope.as_deref(), Some("user:email"));
}

/// An Entra ID imitation: `common` metadata announcing the issuer template, ID tokens
/// whose `iss` names the user's tenant (`tid_in_iss`) and whose `tid` claim is `tid`.
fn entra(tid_in_iss: &'static str, tid: Option<&'static str>) -> Arc<Imitation> {
    Imitation::new(move |req, op| {
        let base = "https://login.microsoftonline.com";
        match req.uri().path() {
            "/common/v2.0/.well-known/openid-configuration" => json_response(
                200,
                &json!({
                    "issuer": format!("{base}/{{tenantid}}/v2.0"),
                    "authorization_endpoint": format!("{base}/common/oauth2/v2.0/authorize"),
                    "token_endpoint": format!("{base}/common/oauth2/v2.0/token"),
                    "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }),
            ),
            "/common/discovery/v2.0/keys" => op.jwks(),
            "/common/oauth2/v2.0/token" => {
                let mut claims = json!({
                    "iss": format!("{base}/{tid_in_iss}/v2.0"), "aud": "app", "sub": "entra-user",
                    "iat": T0, "exp": T0 + 3600, "nonce": op.nonce(),
                });
                if let Some(tid) = tid {
                    claims["tid"] = tid.into();
                }
                let id_token = mint(&op.key, None, &claims);
                json_response(200, &json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
            }
            other => panic!("unexpected request {other}"),
        }
    })
}

#[tokio::test]
async fn microsoft_multi_tenant_issuer_is_the_template_with_the_tokens_own_tid() {
    let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let token = login(&entra(tenant, Some(tenant)), preset("microsoft").unwrap()).await.unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), Some("entra-user"));

    // An ID token whose `tid` is not the tenant its `iss` names: another tenant's token.
    let err = login(&entra(tenant, Some("72f988bf-86f1-41af-91ab-2d7cd011db47")), preset("microsoft").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. }))), "{err:?}");
    // No `tid` at all: the template cannot be filled.
    let err = login(&entra(tenant, None), preset("microsoft").unwrap()).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. }))), "{err:?}");
    // The literal template as `iss` is no tenant either.
    let err = login(&entra("{tenantid}", Some("")), preset("microsoft").unwrap()).await.unwrap_err();
    assert!(matches!(err, ClientError::Core(Error::IdToken(IdTokenError::Issuer { .. }))), "{err:?}");
}

/// A plain OpenID Provider imitation at `issuer` (Google, GitLab).
fn oidc(issuer: &'static str) -> Arc<Imitation> {
    Imitation::new(move |req, op| match req.uri().path() {
        "/.well-known/openid-configuration" => json_response(
            200,
            &json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/o/authorize"),
                "token_endpoint": format!("{issuer}/o/token"),
                "jwks_uri": format!("{issuer}/o/certs"),
                "id_token_signing_alg_values_supported": ["ES256"],
            }),
        ),
        "/o/certs" => op.jwks(),
        "/o/token" => {
            let claims = json!({"iss": issuer, "aud": "app", "sub": "u-1", "iat": T0, "exp": T0 + 3600,
                                "nonce": op.nonce(), "email": "u@example.com"});
            let id_token = mint(&op.key, None, &claims);
            json_response(200, &json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
        }
        other => panic!("unexpected request {other}"),
    })
}

#[tokio::test]
async fn google_and_gitlab_log_in_through_discovery() {
    for (name, issuer) in [("google", "https://accounts.google.com"), ("gitlab", "https://gitlab.com")] {
        let op = oidc(issuer);
        let token = login(&op, preset(name).unwrap()).await.unwrap();
        assert_eq!(token.userinfo.unwrap().email(), Some("u@example.com"), "{name}");
        assert_eq!(op.paths()[0], format!("{}/.well-known/openid-configuration", &issuer[8..]), "{name}");
    }
}

#[tokio::test]
async fn discord_identity_comes_from_users_me() {
    let op = Imitation::new(|req, _| match req.uri().path() {
        "/api/oauth2/token" => {
            json_response(200, &json!({"access_token": "d1", "token_type": "Bearer", "expires_in": 604800}))
        }
        "/api/users/@me" => json_response(200, &json!({"id": "80351110224678912", "username": "nelly"})),
        other => panic!("unexpected request {other}"),
    });
    login(&op, preset("discord").unwrap()).await.unwrap();
    assert_eq!(op.paths(), ["discord.com/api/oauth2/token", "discord.com/api/users/@me"]);
}

#[tokio::test]
async fn x_uses_pkce_and_basic_authentication() {
    let op = Imitation::new(|req, op| match req.uri().path() {
        "/2/oauth2/token" => {
            let f = form(req);
            // PKCE S256: the verifier hashes to the challenge the authorization request sent.
            let challenge = op.authz.lock().unwrap()["code_challenge"].clone();
            assert_eq!(
                rpkit::authorize::pkce_challenge(&rpkit::secret::PkceVerifier::new(&f["code_verifier"])),
                challenge
            );
            assert!(req.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
            assert!(!f.contains_key("client_secret"));
            json_response(
                200,
                &json!({"access_token": "x1", "token_type": "bearer", "refresh_token": "xr1",
                                       "scope": "tweet.read users.read offline.access", "expires_in": 7200}),
            )
        }
        "/2/users/me" => json_response(200, &json!({"data": {"id": "2244994945", "username": "XDevelopers"}})),
        other => panic!("unexpected request {other}"),
    });
    let token = login(&op, preset("x").unwrap()).await.unwrap();
    assert!(token.refresh_token.is_some());
    assert_eq!(op.authz.lock().unwrap()["code_challenge_method"], "S256");
}

#[test]
fn twitter_oauth1_preset_signs_its_request_token_request() {
    let cfg = preset("twitter").unwrap().client_id("consumer-key").client_secret("consumer-secret");
    let rng = SeededRandom::new(1);
    let req =
        rpkit::oauth1::request_token_request(&cfg, "https://app.example/cb", &rng, rpkit::UnixTime::from_secs(T0))
            .unwrap();
    assert_eq!(req.uri(), "https://api.twitter.com/oauth/request_token");
    let auth = req.headers()["authorization"].to_str().unwrap();
    assert!(auth.starts_with("OAuth ") && auth.contains("oauth_signature_method=\"HMAC-SHA1\""), "{auth}");
}

#[test]
fn every_preset_is_named_in_settings_and_overridable() {
    for name in PRESETS {
        let entry = json!({"preset": name, "client_id": "id", "client_kwargs": {"timeout": 5}});
        let cfg = ClientConfig::from_value(name, &entry).unwrap();
        let base = preset(name).unwrap();
        assert_eq!(cfg.scope_str(), base.scope_str(), "{name}: the preset's scope survives a kwargs override");
        assert_eq!(cfg.access_token_url, base.access_token_url, "{name}");
        assert_eq!(cfg.client_kwargs.timeout, Some(5.0));
        let overridden: Value = json!({"preset": name, "api_base_url": "https://proxy.example/api/"});
        let cfg = ClientConfig::from_value(name, &overridden).unwrap();
        assert_eq!(cfg.api_base_url.as_deref(), Some("https://proxy.example/api/"));
    }
    let err = ClientConfig::from_value("x", &json!({"preset": "myspace"})).unwrap_err();
    assert!(err.to_string().contains("one of github"), "{err}");
}
