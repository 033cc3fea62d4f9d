//! Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101): the
//! RP pushes when configured or required, redirects with `request_uri` only, refuses a
//! bad PAR answer before any redirect (nothing stored in the session), gets the
//! provider's error at the callback when the `request_uri` expired, and signs request
//! objects (never `alg: none`) by value or through PAR.

use rpkit::authorize::PendingSet;
use rpkit::client::{AuthorizeOptions, ClientError};
use rpkit::config::{ClientConfig, TokenEndpointAuthMethod};
use rpkit::error::ConfigError;
use rpkit::Error;
use serde_json::{json, Value};

use super::harness::{
    accepted, check, claim, describe, rejected_callback, Ctx, Outcome, Rp, PKJ_CLIENT_ID, SIG_KID, USER,
};
use super::{accept, reject, CaseSpec};
use crate::ParBehavior;

/// The cases, in run order.
pub(crate) const PAR: &[CaseSpec] = &[
    accept("rpkit-par-login"),
    accept("rpkit-par-private_key_jwt"),
    accept("rpkit-par-required-by-metadata"),
    reject("rpkit-par-required-no-endpoint", "Config::Missing(pushed_authorization_request_endpoint)"),
    reject("rpkit-par-error", "Provider(invalid_request), no redirect, nothing stored"),
    reject("rpkit-par-expires_in-missing-or-zero", "Malformed(expires_in), nothing stored"),
    reject("rpkit-par-request_uri-expired", "Provider(invalid_request_uri), no token request"),
    accept("rpkit-jar-by-value"),
    accept("rpkit-jar-through-par"),
    accept("rpkit-jar-required-by-metadata"),
    reject("rpkit-jar-required-no-key", "Config::Missing(private_key)"),
    reject("rpkit-jar-never-alg-none", "Config::Invalid(request_object_signing_alg) when only none is listed"),
];

/// Runs the case `id`.
pub(crate) async fn run_case(ctx: &Ctx, id: &str) -> Outcome {
    ctx.op.update_par_behavior(|b| *b = ParBehavior::default());
    match id {
        "rpkit-par-login" => par_login(ctx).await,
        "rpkit-par-private_key_jwt" => par_private_key_jwt(ctx).await,
        "rpkit-par-required-by-metadata" => par_required_by_metadata(ctx).await,
        "rpkit-par-required-no-endpoint" => par_required_no_endpoint(ctx).await,
        "rpkit-par-error" => par_error(ctx).await,
        "rpkit-par-expires_in-missing-or-zero" => par_expires_in_missing_or_zero(ctx).await,
        "rpkit-par-request_uri-expired" => par_request_uri_expired(ctx).await,
        "rpkit-jar-by-value" => jar_by_value(ctx).await,
        "rpkit-jar-through-par" => jar_through_par(ctx).await,
        "rpkit-jar-required-by-metadata" => jar_required_by_metadata(ctx).await,
        "rpkit-jar-required-no-key" => jar_required_no_key(ctx).await,
        "rpkit-jar-never-alg-none" => jar_never_alg_none(ctx).await,
        other => Err(format!("no PAR/JAR case implements {other}")),
    }
}

fn set_metadata(ctx: &Ctx, members: &[(&str, Value)]) {
    ctx.op.behavior().update(|b| {
        for (k, v) in members {
            b.metadata_set_members.insert((*k).to_owned(), v.clone());
        }
    });
}

/// The `private_key_jwt` client (its key is registered, so request objects verify too).
async fn pkj_config(ctx: &Ctx) -> Result<ClientConfig, String> {
    let keys = ctx.keys().await?;
    Ok(ctx
        .config()
        .client_id(PKJ_CLIENT_ID)
        .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
        .private_key(keys.sig_private.clone())
        .private_key_id(SIG_KID))
}

/// Query parameter names of an authorization URL.
fn query_names(url: &rpkit::authorize::AuthorizationUrl) -> Vec<String> {
    url.to_url().query_pairs().map(|(k, _)| k.into_owned()).collect()
}

/// A full login whose authorization URL must carry exactly `names`; returns a summary.
async fn login_with_url(ctx: &Ctx, rp: &Rp, names: &[&str]) -> Result<String, String> {
    let mut pending = PendingSet::new();
    let url = rp
        .client
        .authorize_redirect(&mut pending, &AuthorizeOptions::default())
        .await
        .map_err(|e| format!("authorize_redirect failed: {}", describe(&e)))?;
    let sent = query_names(&url);
    check(sent == names, || format!("the authorization URL carried {sent:?}, expected {names:?}"))?;
    let front = ctx.front_channel(&url).await?;
    let attempt = ctx.finish(rp, &mut pending, front.params).await;
    let token = accepted(attempt)?;
    check(claim(&token, "sub").as_deref() == Some(USER), || "another user".into())?;
    Ok(format!("URL {}", sent.join("+")))
}

async fn par_login(ctx: &Ctx) -> Outcome {
    let mut cfg = ctx.config();
    cfg.client_kwargs.use_par = true;
    let rp = ctx.rp_with(cfg)?;
    let url = login_with_url(ctx, &rp, &["client_id", "request_uri"]).await?;
    let r = ctx.op.par_record();
    check(r.accepted == 1 && r.redeemed == 1, || format!("pushed {} / redeemed {}", r.accepted, r.redeemed))?;
    let pushed = r.last_pushed.unwrap_or_default();
    for name in ["state", "nonce", "code_challenge", "redirect_uri", "scope"] {
        check(pushed.contains_key(name), || format!("the push lacked {name}"))?;
    }
    Ok(format!("accepted: pushed with client_secret_basic, {url}"))
}

async fn par_private_key_jwt(ctx: &Ctx) -> Outcome {
    let mut cfg = pkj_config(ctx).await?;
    cfg.client_kwargs.use_par = true;
    let before = ctx.op.par_record().accepted;
    let rp = ctx.rp_with(cfg)?;
    let url = login_with_url(ctx, &rp, &["client_id", "request_uri"]).await?;
    check(ctx.op.par_record().accepted == before + 1, || "no push accepted".into())?;
    Ok(format!("accepted: pushed with a private_key_jwt assertion (aud = issuer), {url}"))
}

async fn par_required_by_metadata(ctx: &Ctx) -> Outcome {
    set_metadata(ctx, &[("require_pushed_authorization_requests", json!(true))]);
    let before = ctx.op.par_record().accepted;
    let rp = ctx.rp()?;
    check(!rp.client.config().client_kwargs.use_par, || "use_par was configured".into())?;
    let url = login_with_url(ctx, &rp, &["client_id", "request_uri"]).await?;
    check(ctx.op.par_record().accepted == before + 1, || "no push accepted".into())?;
    Ok(format!("accepted: pushed without configuration, {url}"))
}

/// The outcome of an `authorize_redirect` that must fail before any redirect.
async fn refused_before_redirect(ctx: &Ctx, rp: &Rp, want: &str, ok: impl Fn(&ClientError) -> bool) -> Outcome {
    let authorize_before = ctx.op.counters().authorize;
    let mut pending = PendingSet::new();
    let err = match rp.client.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await {
        Ok(url) => return Err(format!("accepted, redirecting to {url} (expected {want})")),
        Err(e) => e,
    };
    check(ok(&err), || format!("rejected with {} (expected {want})", describe(&err)))?;
    check(pending.is_empty(), || "a pending authorization was stored".into())?;
    check(ctx.op.counters().authorize == authorize_before, || "the authorization endpoint was reached".into())?;
    Ok(format!("rejected: {}; nothing stored, no redirect", describe(&err)))
}

async fn par_required_no_endpoint(ctx: &Ctx) -> Outcome {
    set_metadata(
        ctx,
        &[
            ("require_pushed_authorization_requests", json!(true)),
            ("pushed_authorization_request_endpoint", Value::Null),
        ],
    );
    let rp = ctx.rp()?;
    refused_before_redirect(ctx, &rp, "Config::Missing(pushed_authorization_request_endpoint)", |e| {
        matches!(e, ClientError::Core(Error::Config(ConfigError::Missing { key, client })) if key == "pushed_authorization_request_endpoint" && client.starts_with("dev-"))
    })
    .await
}

async fn par_error(ctx: &Ctx) -> Outcome {
    ctx.op.update_par_behavior(|b| b.error = Some("invalid_request".into()));
    let mut cfg = ctx.config();
    cfg.client_kwargs.use_par = true;
    let rp = ctx.rp_with(cfg)?;
    refused_before_redirect(ctx, &rp, "Provider(invalid_request)", |e| e.code() == "invalid_request").await
}

async fn par_expires_in_missing_or_zero(ctx: &Ctx) -> Outcome {
    let mut cfg = ctx.config();
    cfg.client_kwargs.use_par = true;
    let rp = ctx.rp_with(cfg)?;
    let mut out = Vec::new();
    for (label, value) in [("missing", Value::Null), ("zero", json!(0)), ("negative", json!(-1)), ("text", json!("60"))]
    {
        ctx.op.update_par_behavior(|b| b.expires_in = Some(value));
        let outcome = refused_before_redirect(
            ctx,
            &rp,
            "Malformed(expires_in)",
            |e| matches!(e, ClientError::Core(Error::Malformed { what }) if what.contains("expires_in")),
        )
        .await
        .map_err(|e| format!("{label}: {e}"))?;
        out.push(format!("{label}: {outcome}"));
    }
    Ok(out.join("; "))
}

async fn par_request_uri_expired(ctx: &Ctx) -> Outcome {
    let mut cfg = ctx.config();
    cfg.client_kwargs.use_par = true;
    let rp = ctx.rp_with(cfg)?;
    let mut pending = PendingSet::new();
    let url = rp
        .client
        .authorize_redirect(&mut pending, &AuthorizeOptions::default())
        .await
        .map_err(|e| format!("authorize_redirect failed: {}", describe(&e)))?;
    ctx.op.expire_request_uris();
    let front = ctx.front_channel(&url).await?;
    let attempt = ctx.finish(&rp, &mut pending, front.params).await;
    rejected_callback(&attempt, "Provider(invalid_request_uri)", |e| e.code() == "invalid_request_uri")
}

async fn jar_by_value(ctx: &Ctx) -> Outcome {
    let mut cfg = pkj_config(ctx).await?;
    cfg.client_kwargs.request_object = true;
    let before = ctx.op.par_record();
    let rp = ctx.rp_with(cfg)?;
    let url = login_with_url(ctx, &rp, &["client_id", "request", "response_type", "scope"]).await?;
    let after = ctx.op.par_record();
    check(after.request_objects_verified == before.request_objects_verified + 1, || {
        "no request object verified".into()
    })?;
    check(after.accepted == before.accepted, || "the request was pushed".into())?;
    Ok(format!("accepted: request object by value verified by the provider, {url}"))
}

async fn jar_through_par(ctx: &Ctx) -> Outcome {
    let mut cfg = pkj_config(ctx).await?;
    cfg.client_kwargs.request_object = true;
    cfg.client_kwargs.use_par = true;
    let before = ctx.op.par_record();
    let rp = ctx.rp_with(cfg)?;
    let url = login_with_url(ctx, &rp, &["client_id", "request_uri"]).await?;
    let after = ctx.op.par_record();
    check(after.request_objects_verified == before.request_objects_verified + 1, || {
        "no request object verified".into()
    })?;
    check(after.accepted == before.accepted + 1, || "nothing was pushed".into())?;
    Ok(format!("accepted: signed request object pushed and verified, {url}"))
}

async fn jar_required_by_metadata(ctx: &Ctx) -> Outcome {
    set_metadata(ctx, &[("require_signed_request_object", json!(true))]);
    let cfg = pkj_config(ctx).await?;
    let before = ctx.op.par_record().request_objects_verified;
    let rp = ctx.rp_with(cfg)?;
    let url = login_with_url(ctx, &rp, &["client_id", "request", "response_type", "scope"]).await?;
    check(ctx.op.par_record().request_objects_verified == before + 1, || "no request object verified".into())?;
    Ok(format!("accepted: signed without configuration, {url}"))
}

async fn jar_required_no_key(ctx: &Ctx) -> Outcome {
    set_metadata(ctx, &[("require_signed_request_object", json!(true))]);
    let rp = ctx.rp()?;
    refused_before_redirect(
        ctx,
        &rp,
        "Config::Missing(private_key)",
        |e| matches!(e, ClientError::Core(Error::Config(ConfigError::Missing { key, .. })) if key == "private_key"),
    )
    .await
}

async fn jar_never_alg_none(ctx: &Ctx) -> Outcome {
    // With `none` offered next to ES256, the RP signs ES256, by value and through PAR.
    set_metadata(ctx, &[("request_object_signing_alg_values_supported", json!(["none", "ES256"]))]);
    let mut cfg = pkj_config(ctx).await?;
    cfg.client_kwargs.request_object = true;
    let seen_before = ctx.op.par_record().request_object_algs.len();
    let rp = ctx.rp_with(cfg.clone())?;
    login_with_url(ctx, &rp, &["client_id", "request", "response_type", "scope"]).await?;
    cfg.client_kwargs.use_par = true;
    let rp = ctx.rp_with(cfg.clone())?;
    login_with_url(ctx, &rp, &["client_id", "request_uri"]).await?;
    let all = ctx.op.par_record().request_object_algs;
    check(all.len() == seen_before + 2, || format!("the provider saw {} request objects", all.len() - seen_before))?;
    check(all.iter().all(|a| a != "none" && !a.is_empty()), || format!("algorithms seen: {all:?}"))?;
    // With only `none` offered, the RP refuses rather than send an unsigned object.
    set_metadata(ctx, &[("request_object_signing_alg_values_supported", json!(["none"]))]);
    let rp = ctx.rp_with(cfg)?;
    let outcome = refused_before_redirect(ctx, &rp, "Config::Invalid(request_object_signing_alg)", |e| {
        matches!(e, ClientError::Core(Error::Config(ConfigError::Invalid { key, .. })) if key == "client_kwargs.request_object_signing_alg")
    })
    .await?;
    check(ctx.op.par_record().request_object_algs.len() == all.len(), || "a request object was sent".into())?;
    Ok(format!(
        "every request object this profile sent was {:?}; {outcome}",
        all.iter().collect::<std::collections::BTreeSet<_>>()
    ))
}
