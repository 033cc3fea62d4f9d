//! Minting JWTs: ID tokens (OIDC Core §2), logout tokens (Back-Channel Logout §2.4)
//! and signed UserInfo responses, with the configured misbehaviours applied.

use serde_json::{Map, Value};

use crate::behavior::{Behavior, SigningAlg};
use crate::error::DevProviderError;
use crate::keys::{encrypt_jwt, encrypt_payload, half_hash, sign_compact, Signer};
use crate::registration::{ClientRegistration, DevUser};
use crate::state::Shared;
use crate::util::{now, random_token, scopes};

/// The back-channel logout event type (Back-Channel Logout §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What goes into an ID token.
pub(crate) struct IdTokenInput<'a> {
    pub(crate) client: &'a ClientRegistration,
    pub(crate) user: &'a DevUser,
    pub(crate) scope: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) auth_time: i64,
    pub(crate) sid: Option<&'a str>,
    pub(crate) access_token: Option<&'a str>,
    pub(crate) code: Option<&'a str>,
}

/// The algorithm actually used for `client`: the behaviour override, else the
/// registration; HS256 needs a client secret and falls back to RS256 without one.
fn effective_alg(b: &Behavior, client: &ClientRegistration) -> SigningAlg {
    let alg = b.id_token_alg.unwrap_or(client.id_token_alg);
    if alg == SigningAlg::HS256 && client.secret.is_none() {
        SigningAlg::RS256
    } else {
        alg
    }
}

/// How to sign one token.
struct SignSpec<'a> {
    alg: SigningAlg,
    typ: &'a str,
    corrupt: bool,
    omit_kid: bool,
    /// Sign with the key set the last rotation retired.
    retired: bool,
}

/// Sign `payload` for `client`, honouring the kid/signature switches.
fn sign_for_client(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    spec: SignSpec<'_>,
    payload: &Map<String, Value>,
) -> Result<String, DevProviderError> {
    let SignSpec { alg, typ, corrupt, omit_kid, retired } = spec;
    let keys = if retired { shared.retired_keys() } else { shared.keys() };
    let mut header = Map::new();
    header.insert("typ".into(), Value::from(typ));
    let signer = match alg {
        SigningAlg::None => Signer::Unsigned,
        SigningAlg::HS256 => Signer::Hmac(client.secret.as_deref().unwrap_or_default().as_bytes()),
        asym => {
            let key = keys.key(asym).ok_or_else(|| DevProviderError::Key(format!("no {} key", asym.as_str())))?;
            if !omit_kid && !b.jwks_omit_kid {
                header.insert("kid".into(), Value::from(key.kid.clone()));
            }
            Signer::Key(key)
        }
    };
    sign_compact(header, payload, signer, corrupt)
}

/// Mint an ID token.
pub(crate) fn id_token(shared: &Shared, b: &Behavior, input: &IdTokenInput<'_>) -> Result<String, DevProviderError> {
    let alg = effective_alg(b, input.client);
    let iat = now();
    let client_id = input.client.client_id.as_str();
    let scope_list = scopes(input.scope);

    let mut claims = if shared.options.claims_in_id_token {
        input.user.claims_for_scope(&scope_list)
    } else {
        let mut m = Map::new();
        m.insert("sub".into(), Value::from(input.user.sub.clone()));
        m
    };
    claims.insert("iss".into(), Value::from(shared.issuer.clone()));
    claims.insert("aud".into(), Value::from(client_id));
    claims.insert("exp".into(), Value::from(iat + shared.options.id_token_ttl + b.id_token_exp_offset_secs));
    claims.insert("iat".into(), Value::from(iat + b.id_token_iat_offset_secs));
    claims.insert("auth_time".into(), Value::from(input.auth_time));
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), Value::from(nonce));
    }
    if let Some(sid) = input.sid {
        claims.insert("sid".into(), Value::from(sid));
    }
    if let Some(at) = input.access_token {
        let hash = if b.id_token_wrong_at_hash { half_hash(alg, "not the access token") } else { half_hash(alg, at) };
        claims.insert("at_hash".into(), Value::from(hash));
    }
    if let Some(code) = input.code {
        claims.insert("c_hash".into(), Value::from(half_hash(alg, code)));
    }

    // Misbehaviours, in the order the Behavior docs describe.
    if let Some(iss) = &b.id_token_issuer {
        claims.insert("iss".into(), Value::from(iss.clone()));
    }
    if let Some(aud) = &b.id_token_audience {
        claims.insert("aud".into(), Value::from(aud.clone()));
    }
    if let Some(extra) = &b.id_token_extra_audience {
        let first = claims.get("aud").cloned().unwrap_or(Value::Null);
        claims.insert("aud".into(), Value::Array(vec![first, Value::from(extra.clone())]));
        if !b.id_token_omit_azp {
            claims.insert("azp".into(), Value::from(client_id));
        }
    }
    if b.id_token_omit_aud {
        claims.remove("aud");
    }
    if let Some(sub) = &b.id_token_sub {
        claims.insert("sub".into(), Value::from(sub.clone()));
    }
    if let Some(nonce) = &b.id_token_nonce {
        claims.insert("nonce".into(), Value::from(nonce.clone()));
    }
    if b.id_token_omit_nonce {
        claims.remove("nonce");
    }
    if b.id_token_omit_exp {
        claims.remove("exp");
    }
    if b.id_token_omit_azp {
        claims.remove("azp");
    }
    for (k, v) in &b.id_token_set_claims {
        claims.insert(k.clone(), v.clone());
    }
    for k in &b.id_token_remove_claims {
        claims.remove(k);
    }

    let typ = b.id_token_typ.as_deref().unwrap_or("JWT");
    let spec = SignSpec {
        alg,
        typ,
        corrupt: b.id_token_bad_signature,
        omit_kid: b.id_token_omit_kid,
        retired: b.id_token_sign_with_retired_key,
    };
    let signed = sign_for_client(shared, b, input.client, spec, &claims)?;
    match &input.client.id_token_encryption_key {
        Some(jwk) => encrypt_jwt(jwk, &signed),
        None => Ok(signed),
    }
}

/// Mint a logout token for `client` (Back-Channel Logout §2.4).
pub(crate) fn logout_token(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    sub: Option<&str>,
    sid: Option<&str>,
) -> Result<String, DevProviderError> {
    let iat = now();
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(shared.issuer.clone()));
    claims.insert("aud".into(), Value::from(client.client_id.clone()));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("exp".into(), Value::from(iat + 120));
    claims.insert("jti".into(), Value::from(random_token(16)));
    if let Some(sub) = sub {
        claims.insert("sub".into(), Value::from(sub));
    }
    if let Some(sid) = sid {
        claims.insert("sid".into(), Value::from(sid));
    }
    let mut events = Map::new();
    events.insert(BACKCHANNEL_LOGOUT_EVENT.into(), Value::Object(Map::new()));
    claims.insert("events".into(), Value::Object(events));
    for (k, v) in &b.logout_token_set_claims {
        claims.insert(k.clone(), v.clone());
    }
    for k in &b.logout_token_remove_claims {
        claims.remove(k);
    }
    // Logout tokens use the client's registered algorithm unless `logout_token_alg` says
    // otherwise; ID-token misbehaviours do not apply to them.
    let alg = b.logout_token_alg.unwrap_or(client.id_token_alg);
    let alg = if alg == SigningAlg::HS256 && client.secret.is_none() { SigningAlg::RS256 } else { alg };
    let spec = SignSpec { alg, typ: "logout+jwt", corrupt: false, omit_kid: false, retired: false };
    sign_for_client(shared, b, client, spec, &claims)
}

/// Mint a signed (and, when the client registered a key, encrypted) UserInfo response
/// (OIDC Core §5.3.2).
pub(crate) fn userinfo_jwt(
    shared: &Shared,
    b: &Behavior,
    client: &ClientRegistration,
    mut claims: Map<String, Value>,
) -> Result<String, DevProviderError> {
    claims.insert("iss".into(), Value::from(shared.issuer.clone()));
    claims.insert("aud".into(), Value::from(client.client_id.clone()));
    for k in &b.userinfo_remove_claims {
        claims.remove(k);
    }
    if let (true, Some(jwk)) = (b.userinfo_encrypt_only, &client.userinfo_encryption_key) {
        return encrypt_payload(jwk, Value::Object(claims).to_string().as_bytes(), None);
    }
    let alg = effective_alg(b, client);
    let spec = SignSpec { alg, typ: "JWT", corrupt: false, omit_kid: false, retired: false };
    let signed = sign_for_client(shared, b, client, spec, &claims)?;
    match &client.userinfo_encryption_key {
        Some(jwk) => encrypt_jwt(jwk, &signed),
        None => Ok(signed),
    }
}

/// Sign arbitrary claims with the provider's current key for `alg` (RS256/ES256/EdDSA)
/// or unsigned (`none`).
pub(crate) fn sign_claims(
    shared: &Shared,
    alg: SigningAlg,
    typ: &str,
    claims: &Map<String, Value>,
) -> Result<String, DevProviderError> {
    let keys = shared.keys();
    let mut header = Map::new();
    header.insert("typ".into(), Value::from(typ));
    let signer = match alg {
        SigningAlg::None => Signer::Unsigned,
        SigningAlg::HS256 => return Err(DevProviderError::Key("HS256 needs a client secret; use an ID token".into())),
        asym => {
            let key = keys.key(asym).ok_or_else(|| DevProviderError::Key(format!("no {} key", asym.as_str())))?;
            header.insert("kid".into(), Value::from(key.kid.clone()));
            Signer::Key(key)
        }
    };
    sign_compact(header, claims, signer, false)
}
