//! Config RP profile: discovery, the JWKS from `jwks_uri`, key rotation.

use rpkit::authorize::PendingSet;
use rpkit::client::{AuthorizeOptions, ClientError};
use rpkit::error::DiscoveryError;
use rpkit::Error;

use super::harness::{accepted, check, describe, id_token_header, Ctx, Outcome};
use crate::Endpoint;

/// `rp-discovery-openid-configuration`: the issuer and endpoints come from the
/// discovery document, fetched once.
pub(crate) async fn rp_discovery_openid_configuration(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let md = rp
        .client
        .load_server_metadata()
        .await
        .map_err(|e| format!("discovery failed: {}", describe(&e)))?
        .ok_or("no metadata although server_metadata_url is set")?;
    check(md.issuer == ctx.op.issuer(), || format!("issuer {}", md.issuer))?;
    let op = &ctx.op;
    for (name, got, want) in [
        ("authorization_endpoint", &md.authorization_endpoint, op.authorization_endpoint()),
        ("token_endpoint", &md.token_endpoint, op.token_endpoint()),
        ("userinfo_endpoint", &md.userinfo_endpoint, op.userinfo_endpoint()),
        ("jwks_uri", &md.jwks_uri, op.jwks_uri()),
        ("end_session_endpoint", &md.end_session_endpoint, op.end_session_endpoint()),
    ] {
        check(got.as_deref() == Some(want.as_str()), || format!("{name} {got:?}"))?;
    }
    ctx.signed_in(&rp).await?;
    let fetches = rp.sent_to(Endpoint::Discovery);
    check(fetches == 1, || format!("the discovery document was fetched {fetches} times"))?;
    Ok("accepted: issuer and endpoints discovered (one fetch), login through them".into())
}

/// `rp-discovery-jwks_uri-keys`: the ID token is verified with keys from `jwks_uri`,
/// fetched once and cached.
pub(crate) async fn rp_discovery_jwks_uri_keys(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    accepted(ctx.sign_in(&rp).await?)?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 1, || format!("the JWKS was fetched {fetches} times"))?;
    accepted(ctx.sign_in(&rp).await?)?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 1, || format!("the cached JWKS was fetched again ({fetches} fetches)"))?;
    Ok("accepted: keys from jwks_uri, fetched once for two logins".into())
}

/// `rp-discovery-issuer-not-matching-config`: the document's `issuer` is not the one the
/// discovery URL implies; nothing is used from it.
pub(crate) async fn rp_discovery_issuer_not_matching_config(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    ctx.op.behavior().update(|b| b.metadata_issuer = Some("https://op.invalid".into()));
    let before = ctx.op.counters();
    let mut pending = PendingSet::new();
    let result = rp.client.authorize_redirect(&mut pending, &AuthorizeOptions::default()).await;
    let after = ctx.op.counters();
    match result {
        Ok(_) => return Err("accepted: an authorization URL was built from the mismatching metadata".into()),
        Err(ClientError::Core(Error::Discovery(DiscoveryError::IssuerMismatch { .. }))) => {}
        Err(e) => return Err(format!("rejected with {} (expected Discovery::IssuerMismatch)", describe(&e))),
    }
    check(pending.is_empty(), || "a pending authorization was stored".into())?;
    let others = rp.sent().iter().filter(|s| s.path != Endpoint::Discovery.path()).count();
    check(others == 0 && after.authorize == before.authorize, || "requests other than discovery were made".into())?;
    Ok("rejected: Discovery(IssuerMismatch); no authorization request".into())
}

/// `rp-key-rotation-op-sign-key`: the OP rotates its signing key between two logins; the
/// RP fetches the JWKS again for the unknown `kid`.
pub(crate) async fn rp_key_rotation_op_sign_key(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    let first = accepted(ctx.sign_in(&rp).await?)?;
    ctx.op.rotate_keys().map_err(|e| format!("rotation failed: {e}"))?;
    let second = accepted(ctx.sign_in(&rp).await?)?;
    let (k1, k2) = (id_token_header(&first, "kid"), id_token_header(&second, "kid"));
    check(k1.is_some() && k1 != k2, || format!("kids {k1:?} then {k2:?}: no rotation"))?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 2, || format!("the JWKS was fetched {fetches} times (expected 2)"))?;
    Ok("accepted: new kid after rotation, JWKS fetched again once".into())
}

/// `rp-key-rotation-op-sign-key-native`: the OP rotates its keys right before signing
/// the ID token of a login that is already under way.
pub(crate) async fn rp_key_rotation_op_sign_key_native(ctx: &Ctx) -> Outcome {
    let rp = ctx.rp()?;
    accepted(ctx.sign_in(&rp).await?)?;
    let (mut pending, front) = ctx.begin(&rp, &AuthorizeOptions::default()).await?;
    ctx.op.rotate_keys().map_err(|e| format!("rotation failed: {e}"))?;
    let attempt = ctx.finish(&rp, &mut pending, front.params).await;
    accepted(attempt)?;
    let fetches = rp.sent_to(Endpoint::Jwks);
    check(fetches == 2, || format!("the JWKS was fetched {fetches} times (expected 2)"))?;
    Ok("accepted: keys rotated just before signing, JWKS fetched again once".into())
}
