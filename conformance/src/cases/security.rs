//! Security: a hostile or careless provider. Keys it dropped from its JWKS, cache
//! lifetimes, the client-assertion audience, plain-http endpoints in its metadata, error
//! responses from another issuer, control characters in its error text, signed UserInfo
//! without `iss` / `aud`, an essential `acr` it ignores, a refreshed ID token the RP has
//! nothing to compare with, a discovery URL that implies no issuer.
//!
//! Cases that let time pass give the RP a [`ManualClock`] and shift the provider's `iat` /
//! `exp` by the same amount, so that only the caches see the time go by.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rpkit::client::{AuthorizeOptions, ClientError, ManualClock};
use rpkit::config::{AssertionAudience, ClientConfig, TokenEndpointAuthMethod};
use rpkit::error::{CallbackError, ConfigError, IdTokenError, JoseError, UserInfoError, MAX_ERROR_TEXT_CHARS};
use rpkit::jwks::DEFAULT_JWKS_MAX_AGE_SECS;
use rpkit::{Error, ProviderError};

use super::harness::{
    accepted, check, claim, describe, id_token_header, rejected_callback, rejected_token, Ctx, Outcome, Rp, CLIENT_ID,
    JWT_CLIENT_ID, PKJ_CLIENT_ID, REDIRECT, SCOPE, SECRET, SIG_KID,
};
use crate::{AuthMethod, Endpoint};

/// The RP's clock and the provider's token times, moved forward together.
struct Time {
    clock: Arc<ManualClock>,
}

impl Time {
    /// A clock at the system's now.
    fn start() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Time { clock: Arc::new(ManualClock::new(now)) }
    }

    /// `secs` pass: for the RP's caches, and for the ID tokens the provider issues from
    /// now on (their `iat` and `exp` follow the RP's clock).
    fn pass(&self, ctx: &Ctx, secs: u64) {
        self.clock.advance(secs);
        let shift = i64::try_from(secs).unwrap_or(i64::MAX);
        ctx.op.behavior().update(|b| {
            b.id_token_iat_offset_secs += shift;
            b.id_token_exp_offset_secs += shift;
        });
    }
}

fn jwks_fetches(rp: &Rp, want: usize, when: &str) -> Result<(), String> {
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == want, || format!("{when}: the JWKS was fetched {fetches} times (expected {want})"))
}

/// `rpkit-jwks-removed-key-expires`: the provider rotates its keys (the old key leaves the
/// JWKS) but keeps signing with the old one. The cached set verifies it until its max age
/// (no `Cache-Control`: [`DEFAULT_JWKS_MAX_AGE_SECS`]); after that the set is fetched
/// again and the login is refused, since the key is gone.
pub(crate) async fn rpkit_jwks_removed_key_expires(ctx: &Ctx) -> Outcome {
    let time = Time::start();
    let rp = ctx.rp_with_clock(ctx.config(), time.clock.clone())?;
    ctx.op.behavior().update(|b| b.jwks_cache_control = Some(String::new()));
    let first = accepted(ctx.sign_in(&rp).await?)?;
    let old_kid = id_token_header(&first, "kid").ok_or("the first ID token has no kid")?;
    jwks_fetches(&rp, 1, "first login")?;

    ctx.op.rotate_keys().map_err(|e| format!("rotation failed: {e}"))?;
    ctx.op.behavior().update(|b| b.id_token_sign_with_retired_key = true);
    time.pass(ctx, DEFAULT_JWKS_MAX_AGE_SECS - 1);
    let cached = accepted(ctx.sign_in(&rp).await?).map_err(|e| format!("before the max age: {e}"))?;
    check(id_token_header(&cached, "kid").as_deref() == Some(old_kid.as_str()), || {
        "the second ID token is not signed with the removed key".into()
    })?;
    jwks_fetches(&rp, 1, "before the max age")?;

    time.pass(ctx, 1);
    let attempt = ctx.sign_in(&rp).await?;
    let outcome = rejected_token(
        &attempt,
        "Jose::UnknownKid",
        |e| matches!(e, ClientError::Core(Error::Jose(JoseError::UnknownKid { kid })) if *kid == old_kid),
    )?;
    jwks_fetches(&rp, 2, "at the max age")?;

    ctx.op.behavior().update(|b| b.id_token_sign_with_retired_key = false);
    accepted(ctx.sign_in(&rp).await?).map_err(|e| format!("with the current key: {e}"))?;
    jwks_fetches(&rp, 2, "with the current key")?;
    Ok(format!(
        "removed key verified from the cache for {} s, then {outcome}; the JWKS fetched again once; the current key verifies",
        DEFAULT_JWKS_MAX_AGE_SECS - 1
    ))
}

/// `rpkit-jwks-cache-control-max-age`: the JWKS comes with `Cache-Control: max-age=120`;
/// it is used for 119 s and fetched again at 120 s.
pub(crate) async fn rpkit_jwks_cache_control_max_age(ctx: &Ctx) -> Outcome {
    let time = Time::start();
    let rp = ctx.rp_with_clock(ctx.config(), time.clock.clone())?;
    ctx.op.behavior().update(|b| b.jwks_cache_control = Some("max-age=120".into()));
    accepted(ctx.sign_in(&rp).await?)?;
    jwks_fetches(&rp, 1, "first login")?;
    time.pass(ctx, 119);
    accepted(ctx.sign_in(&rp).await?)?;
    jwks_fetches(&rp, 1, "after 119 s")?;
    time.pass(ctx, 1);
    accepted(ctx.sign_in(&rp).await?)?;
    jwks_fetches(&rp, 2, "after 120 s")?;
    Ok("accepted: JWKS cached for 119 s, fetched again at 120 s (max-age=120)".into())
}

/// `rpkit-token_endpoint-assertion-aud-issuer`: the token endpoint accepts a client
/// assertion only with `aud` = the issuer, a single string; `private_key_jwt` and
/// `client_secret_jwt` logins succeed, and an RP set to the token endpoint audience is
/// refused (so the switch bites).
pub(crate) async fn rpkit_token_endpoint_assertion_aud_issuer(ctx: &Ctx) -> Outcome {
    let keys = ctx.keys().await?;
    ctx.op.behavior().update(|b| b.token_assertion_aud_issuer_only = true);
    let pkj = ctx
        .config()
        .client_id(PKJ_CLIENT_ID)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
        .private_key(keys.sig_private.clone())
        .private_key_id(SIG_KID);
    let jwt =
        ctx.config().client_id(JWT_CLIENT_ID).token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretJwt);
    for (config, client_id, method) in
        [(pkj.clone(), PKJ_CLIENT_ID, AuthMethod::PrivateKeyJwt), (jwt, JWT_CLIENT_ID, AuthMethod::ClientSecretJwt)]
    {
        let rp = ctx.rp_with(config)?;
        ctx.signed_in(&rp).await.map_err(|e| format!("{method}: {e}"))?;
        let record = ctx.op.last_token_request().ok_or("the provider saw no token request")?;
        check(record.auth_method == Some(method) && record.client_id.as_deref() == Some(client_id), || {
            format!("the provider saw {:?} for {:?}", record.auth_method, record.client_id)
        })?;
    }
    let mut legacy = pkj;
    legacy.client_kwargs.client_assertion_audience = AssertionAudience::TokenEndpoint;
    let rp = ctx.rp_with(legacy)?;
    let attempt = ctx.sign_in(&rp).await?;
    rejected_token(&attempt, "Provider(invalid_client) for aud = token endpoint", |e| match e {
        ClientError::Core(Error::Provider(p)) => p.error == "invalid_client",
        _ => false,
    })
    .map_err(|e| format!("aud = token endpoint: {e}"))?;
    Ok("accepted: private_key_jwt and client_secret_jwt with aud = issuer; aud = token endpoint refused".into())
}

fn insecure(key: &'static str) -> impl Fn(&ClientError) -> bool {
    move |e| matches!(e, ClientError::Core(Error::Config(ConfigError::InsecureEndpoint { key: k, .. })) if k == key)
}

/// `rpkit-discovery-insecure-endpoint`: the metadata advertises plain-http endpoints on
/// another host: `token_endpoint` (refused before the code is sent), `jwks_uri` (refused
/// before the keys are fetched), `userinfo_endpoint` (refused before the access token is
/// sent). Nothing goes to them.
pub(crate) async fn rpkit_discovery_insecure_endpoint(ctx: &Ctx) -> Outcome {
    let set = |member: &str, path: &str| {
        let url = format!("http://op.invalid{path}");
        ctx.op.behavior().update(|b| {
            b.metadata_set_members.clear();
            b.metadata_set_members.insert(member.into(), url.into());
        });
    };

    set("token_endpoint", "/token");
    let rp = ctx.rp()?;
    let attempt = ctx.sign_in(&rp).await?;
    rejected_callback(
        &attempt,
        "Config::InsecureEndpoint(metadata.token_endpoint)",
        insecure("metadata.token_endpoint"),
    )?;
    check(rp.sent_to(Endpoint::Token) == 0, || "a token request was sent".into())?;

    set("jwks_uri", "/jwks");
    let rp = ctx.rp()?;
    let before = ctx.op.counters();
    let attempt = ctx.sign_in(&rp).await?;
    rejected_token(&attempt, "Config::InsecureEndpoint(metadata.jwks_uri)", insecure("metadata.jwks_uri"))?;
    check(rp.sent_to(Endpoint::Jwks) == 0 && ctx.op.counters().jwks == before.jwks, || {
        "the JWKS was requested".into()
    })?;

    set("userinfo_endpoint", "/userinfo");
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    match rp.client.userinfo(&token).await {
        Ok(_) => return Err("UserInfo claims came from a plain-http endpoint".into()),
        Err(e) if insecure("metadata.userinfo_endpoint")(&e) => {}
        Err(e) => return Err(format!("UserInfo: {} (expected InsecureEndpoint)", describe(&e))),
    }
    check(rp.sent_to(Endpoint::Userinfo) == 0, || "a UserInfo request was sent".into())?;
    Ok("rejected: Config(InsecureEndpoint) for metadata.token_endpoint, .jwks_uri, .userinfo_endpoint; \
        nothing sent to them"
        .into())
}

/// `rpkit-discovery-issuer-required`: a discovery URL without the well-known suffix (here
/// with a query, as Azure AD B2C's policy URLs have) implies no issuer; without a
/// configured `issuer` the RP refuses before any request, with one it logs in.
pub(crate) async fn rpkit_discovery_issuer_required(ctx: &Ctx) -> Outcome {
    let url = format!("{}?p=B2C_1_signin", ctx.op.discovery_url());
    let rp = ctx.rp_with(ctx.config().server_metadata_url(url.clone()))?;
    let before = ctx.op.counters();
    let mut pending = rpkit::authorize::PendingSet::new();
    match rp.client.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await {
        Ok(_) => return Err("accepted: an authorization URL without a known issuer".into()),
        Err(ClientError::Core(Error::Config(ConfigError::Missing { key, .. }))) if key == "issuer" => {}
        Err(e) => return Err(format!("rejected with {} (expected Config::Missing(issuer))", describe(&e))),
    }
    check(pending.is_empty(), || "a pending authorization was stored".into())?;
    check(rp.sent().is_empty() && ctx.op.counters() == before, || "a request was made".into())?;

    let rp = ctx.rp_with(ctx.config().server_metadata_url(url).issuer(ctx.op.issuer()))?;
    ctx.signed_in(&rp).await.map_err(|e| format!("with issuer configured: {e}"))?;
    Ok("rejected: Config(Missing(issuer)); no request; with issuer configured the login succeeds".into())
}

/// `rpkit-callback-iss-unverifiable`: no discovery and no configured issuer, and the
/// authorization response carries an `iss`: nothing can tell a mix-up from the right
/// provider, so it is refused (unless `accept_unverifiable_iss`).
pub(crate) async fn rpkit_callback_iss_unverifiable(ctx: &Ctx) -> Outcome {
    let op = &ctx.op;
    let manual = ClientConfig::new("manual")
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .authorize_url(op.authorization_endpoint())
        .access_token_url(op.token_endpoint())
        .jwks_uri(op.jwks_uri())
        .redirect_uri(REDIRECT)
        .scope(SCOPE)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic);
    let rp = ctx.rp_with(manual.clone())?;
    let attempt = ctx.sign_in(&rp).await?;
    rejected_callback(&attempt, "Callback::UnverifiableIssuer", |e| {
        matches!(e, ClientError::Core(Error::Callback(CallbackError::UnverifiableIssuer)))
    })?;
    let rp = ctx.rp_with(manual.issuer(op.issuer()))?;
    ctx.signed_in(&rp).await.map_err(|e| format!("with issuer configured: {e}"))?;
    Ok("rejected: Callback(UnverifiableIssuer); no token request; with issuer configured the login succeeds".into())
}

/// `rpkit-callback-error-wrong-iss`: an error response (`access_denied`) with another
/// issuer's `iss`, and one without the `iss` the metadata promises: a mix-up, not this
/// provider's answer.
pub(crate) async fn rpkit_callback_error_wrong_iss(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| {
        b.authorize_error = Some("access_denied".into());
        b.callback_issuer = Some("https://op.invalid".into());
    });
    let attempt = ctx.sign_in(&rp).await?;
    let wrong = rejected_callback(&attempt, "Callback::IssuerMismatch", |e| {
        matches!(e, ClientError::Core(Error::Callback(CallbackError::IssuerMismatch { .. })))
    })?;
    ctx.op.behavior().update(|b| b.callback_omit_iss = true);
    let attempt = ctx.sign_in(&rp).await?;
    rejected_callback(&attempt, "Callback::MissingIssuer", |e| {
        matches!(e, ClientError::Core(Error::Callback(CallbackError::MissingIssuer)))
    })
    .map_err(|e| format!("error without iss: {e}"))?;
    Ok(format!("{wrong}; without iss: Callback(MissingIssuer)"))
}

/// `rpkit-callback-error-description-control-chars`: `error_description` with CR, LF,
/// ESC, BEL, a right-to-left override and 2 000 more characters: the provider error keeps
/// the code and the readable text, without control characters, cut to
/// [`MAX_ERROR_TEXT_CHARS`].
pub(crate) async fn rpkit_callback_error_description_control_chars(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let forged =
        format!("denied\r\n2026-01-01 INFO admin logged in\u{1b}[31m\u{7}\u{202e}txt.exe {}", "x".repeat(2000));
    ctx.op.behavior().update(|b| {
        b.authorize_error = Some("access_denied".into());
        b.authorize_error_description = Some(forged);
    });
    let attempt = ctx.sign_in(&rp).await?;
    let outcome = rejected_callback(
        &attempt,
        "Provider(access_denied)",
        |e| matches!(e, ClientError::Core(Error::Provider(p)) if p.error == "access_denied"),
    )?;
    let Err(ClientError::Core(Error::Provider(ProviderError { description, .. }))) = &attempt.result else {
        return Err("no provider error".into());
    };
    let text = description.as_deref().ok_or("the description was dropped")?;
    let bad = |c: char| c.is_control() || c == '\u{202e}';
    check(!text.chars().any(bad), || format!("control characters kept: {text:?}"))?;
    check(text.starts_with("denied") && text.contains("INFO admin logged in"), || format!("text lost: {text:?}"))?;
    let n = text.chars().count();
    check(n <= MAX_ERROR_TEXT_CHARS + 1, || format!("{n} characters kept"))?;
    let shown = attempt.result.as_ref().err().map(ToString::to_string).unwrap_or_default();
    check(!shown.chars().any(bad), || "the error's Display has control characters".into())?;
    Ok(format!("{outcome}; description without control characters, {n} characters"))
}

/// `rpkit-userinfo-sig-no-iss-aud`: a signed UserInfo response without `iss`, then one
/// without `aud` (both REQUIRED in a signed response, OIDC Core §5.3.2): no claims.
pub(crate) async fn rpkit_userinfo_sig_no_iss_aud(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    for name in ["iss", "aud"] {
        let rp = ctx.rp()?;
        let token = ctx.signed_in(&rp).await?;
        ctx.op.behavior().update(|b| {
            b.userinfo_signed = true;
            b.userinfo_remove_claims = vec![name.into()];
        });
        let result = rp.client.userinfo(&token).await;
        ctx.op.behavior().reset();
        check(rp.sent_to(Endpoint::Userinfo) == 1, || "no UserInfo request was sent".into())?;
        match result {
            Ok(_) => return Err(format!("accepted a signed UserInfo response without {name}")),
            Err(ClientError::Core(Error::UserInfo(UserInfoError::MissingClaim { name: n }))) if n == name => {}
            Err(e) => return Err(format!("without {name}: {} (expected UserInfo::MissingClaim)", describe(&e))),
        }
        seen.push(format!("MissingClaim({name})"));
    }
    Ok(format!("rejected: UserInfo({}); no claims", seen.join(", ")))
}

/// `rpkit-id_token-acr-essential`: the `claims` parameter asks for `acr` as essential
/// with one value; an ID token with another `acr`, or none, is refused; with the
/// requested value it is accepted.
pub(crate) async fn rpkit_id_token_acr_essential(ctx: &Ctx) -> Outcome {
    const WANT: &str = "urn:rpkit:loa:2";
    let claims = format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{WANT}"]}}}}}}"#);
    let options = AuthorizeOptions::default().param("claims", claims);
    let with_acr = |acr: Option<&str>| {
        ctx.op.behavior().update(|b| {
            b.id_token_set_claims.clear();
            b.id_token_remove_claims.clear();
            match acr {
                Some(acr) => {
                    b.id_token_set_claims.insert("acr".into(), acr.into());
                }
                None => b.id_token_remove_claims.push("acr".into()),
            }
        });
    };
    let is_acr = |e: &ClientError| matches!(e, ClientError::Core(Error::IdToken(IdTokenError::Acr)));

    with_acr(Some("urn:rpkit:loa:1"));
    let rp = ctx.rp()?;
    let attempt = ctx.sign_in_tampered(&rp, &options, |_| {}).await?;
    let outcome = rejected_token(&attempt, "IdToken::Acr", is_acr)?;

    with_acr(None);
    let attempt = ctx.sign_in_tampered(&rp, &options, |_| {}).await?;
    rejected_token(&attempt, "IdToken::Acr", is_acr).map_err(|e| format!("without acr: {e}"))?;

    with_acr(Some(WANT));
    let token = accepted(ctx.sign_in_tampered(&rp, &options, |_| {}).await?)?;
    check(claim(&token, "acr").as_deref() == Some(WANT), || format!("acr {:?}", claim(&token, "acr")))?;
    Ok(format!("{outcome} (also without acr); acr {WANT} accepted"))
}

/// `rpkit-refresh-id_token-without-original`: the stored token lost its validated claims
/// (`userinfo == None`, e.g. restored from a store that kept only the strings); a refresh
/// that returns an ID token cannot be compared with anything and is refused.
pub(crate) async fn rpkit_refresh_id_token_without_original(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let token = ctx.signed_in(&rp).await?;
    check(token.refresh_token.is_some(), || "the login gave no refresh token".into())?;
    let mut stored = token.clone();
    stored.userinfo = None;
    let before = ctx.op.counters();
    let result = rp.client.refresh_token(&stored).await;
    let after = ctx.op.counters();
    check(after.token == before.token + 1, || "no refresh request was sent".into())?;
    match result {
        Ok(_) => return Err("accepted a refreshed ID token without the original's claims".into()),
        Err(ClientError::Core(Error::IdToken(IdTokenError::RefreshWithoutOriginal))) => {}
        Err(e) => return Err(format!("rejected with {} (expected IdToken::RefreshWithoutOriginal)", describe(&e))),
    }
    check(rp.token_updates() == 0, || "a token-update event was emitted for a rejected refresh".into())?;
    check(after.userinfo == before.userinfo, || "the UserInfo endpoint was called".into())?;
    Ok("rejected: IdToken(RefreshWithoutOriginal); no token, no token-update event".into())
}
