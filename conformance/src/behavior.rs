//! Runtime-switchable misbehaviours of the development provider.
//!
//! A [`Behavior`] is a plain, serde-friendly bag of switches, all off by default. A
//! provider with the default `Behavior` is a well-behaved OpenID Provider; each switch
//! breaks exactly one thing, so a relying-party test can show that the RP notices.
//! The switches are the raw material of the OpenID RP certification cases
//! (<https://openid.net/certification/rp_testing/>).
//!
//! Switch them at runtime through the [`BehaviorHandle`] that
//! [`RunningProvider::behavior`](crate::RunningProvider::behavior) returns; every
//! request reads the current value, so a change applies to the next request.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

/// An endpoint of the development provider, used to count requests and to aim faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /.well-known/openid-configuration`.
    Discovery,
    /// `GET /jwks`.
    Jwks,
    /// `GET|POST /authorize`.
    Authorize,
    /// `POST /token`.
    Token,
    /// `GET|POST /userinfo`.
    Userinfo,
    /// `GET|POST /end_session`.
    EndSession,
}

impl Endpoint {
    /// All endpoints, in discovery order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Userinfo,
        Endpoint::EndSession,
    ];

    /// The path the endpoint is served at, relative to the issuer.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Discovery => "/.well-known/openid-configuration",
            Endpoint::Jwks => "/jwks",
            Endpoint::Authorize => "/authorize",
            Endpoint::Token => "/token",
            Endpoint::Userinfo => "/userinfo",
            Endpoint::EndSession => "/end_session",
        }
    }
}

/// A JWS algorithm the provider can sign ID tokens (and signed UserInfo) with.
///
/// See RFC 7518 §3 (<https://www.rfc-editor.org/rfc/rfc7518#section-3>) and RFC 8037
/// for `EdDSA`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the default, OIDC Core §15.1).
    #[default]
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
    /// HMAC SHA-256 keyed by the client secret (OIDC Core §10.1). Public clients have no
    /// secret; for them the provider falls back to `RS256`.
    HS256,
    /// No signature at all (`alg: none`, an "Unsecured JWS"). Never advertised; only for
    /// testing that an RP rejects it.
    #[serde(rename = "none")]
    None,
}

impl SigningAlg {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::HS256 => "HS256",
            SigningAlg::None => "none",
        }
    }
}

/// A delay injected before an endpoint answers, to test client timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDelay {
    /// The endpoint that hangs.
    pub endpoint: Endpoint,
    /// How long it hangs before it answers, in milliseconds.
    pub millis: u64,
}

/// Switches that make the provider misbehave; `Behavior::default()` is a correct
/// provider.
///
/// Every field is public and has a serde default, so a test can write
/// `Behavior { id_token_omit_kid: true, ..Behavior::default() }` or load one from JSON
/// (`{"id_token_alg": "none"}`). Switches on ID tokens apply to every ID token the token
/// endpoint issues (code exchange and refresh).
///
/// # Example
/// ```
/// use rpkit_conformance::{Behavior, Endpoint, SigningAlg};
///
/// let b: Behavior = serde_json::from_str(r#"{"id_token_alg": "none", "token_type": "bEaReR"}"#)?;
/// assert_eq!(b.id_token_alg, Some(SigningAlg::None));
/// assert_eq!(b.token_type.as_deref(), Some("bEaReR"));
/// assert!(!b.id_token_bad_signature);
/// assert_eq!(Behavior::default(), serde_json::from_str("{}")?);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behavior {
    // ----- ID token claims -----
    /// Put this `iss` in ID tokens instead of the issuer.
    pub id_token_issuer: Option<String>,
    /// Put this single `aud` in ID tokens instead of the client id.
    pub id_token_audience: Option<String>,
    /// Leave `aud` out of ID tokens.
    pub id_token_omit_aud: bool,
    /// Add this second audience to ID tokens (`aud` becomes an array); `azp` is set to the
    /// client id unless [`id_token_omit_azp`](Self::id_token_omit_azp) is on.
    pub id_token_extra_audience: Option<String>,
    /// Leave `azp` out of ID tokens even when there are several audiences.
    pub id_token_omit_azp: bool,
    /// Put this `sub` in ID tokens instead of the user's.
    pub id_token_sub: Option<String>,
    /// Put this `nonce` in ID tokens instead of the one from the authorization request.
    pub id_token_nonce: Option<String>,
    /// Leave `nonce` out of ID tokens.
    pub id_token_omit_nonce: bool,
    /// Shift `iat` by this many seconds (negative = in the past, e.g. `-604800` for a week).
    pub id_token_iat_offset_secs: i64,
    /// Shift `exp` by this many seconds (e.g. `-7200` makes a one-hour token expired).
    pub id_token_exp_offset_secs: i64,
    /// Leave `exp` out of ID tokens.
    pub id_token_omit_exp: bool,
    /// Put a wrong `at_hash` in ID tokens.
    pub id_token_wrong_at_hash: bool,
    /// Set these claims in ID tokens (last word: overrides everything above).
    pub id_token_set_claims: BTreeMap<String, serde_json::Value>,
    /// Remove these claims from ID tokens (applied last).
    pub id_token_remove_claims: Vec<String>,

    // ----- ID token signature -----
    /// Sign ID tokens with this algorithm instead of the client's registered one
    /// ([`SigningAlg::None`] sends an unsigned token).
    pub id_token_alg: Option<SigningAlg>,
    /// Flip bits in the ID token signature so it does not verify.
    pub id_token_bad_signature: bool,
    /// Leave `kid` out of the ID token header.
    pub id_token_omit_kid: bool,
    /// Put this `typ` in the ID token header (e.g. `logout+jwt`); default `JWT`.
    pub id_token_typ: Option<String>,
    /// Sign ID tokens with the key that the last
    /// [`rotate_keys`](crate::RunningProvider::rotate_keys) retired (it is no longer in the
    /// JWKS; with no rotation yet, the current key). A provider that dropped a key from
    /// its JWKS while a token signed with it is still around.
    pub id_token_sign_with_retired_key: bool,

    // ----- JWKS -----
    /// Serve this many additional (unused) RSA keys in the JWKS.
    pub jwks_extra_keys: u8,
    /// Strip `kid` from every key in the JWKS and from every token header.
    pub jwks_omit_kid: bool,
    /// Send this `Cache-Control` on the JWKS instead of `public, max-age=3600` (e.g.
    /// `max-age=120`); an empty string sends no `Cache-Control` at all.
    pub jwks_cache_control: Option<String>,

    // ----- Discovery -----
    /// Advertise this `issuer` in the metadata instead of the real one.
    pub metadata_issuer: Option<String>,
    /// Set these members in the metadata (last word: overrides everything above), e.g. a
    /// plain-http `token_endpoint` on another host.
    pub metadata_set_members: BTreeMap<String, serde_json::Value>,

    // ----- Authorization response -----
    /// Answer every valid authorization request with this `error` (e.g. `access_denied`).
    pub authorize_error: Option<String>,
    /// The `error_description` sent with [`authorize_error`](Self::authorize_error)
    /// instead of the default text (e.g. one with CR, LF or ESC in it).
    pub authorize_error_description: Option<String>,
    /// Leave `iss` out of the authorization response (RFC 9207).
    pub callback_omit_iss: bool,
    /// Send this `iss` in the authorization response instead of the issuer.
    pub callback_issuer: Option<String>,

    // ----- Token endpoint -----
    /// Send this `token_type` (e.g. `bEaReR`) instead of `Bearer`.
    pub token_type: Option<String>,
    /// Leave `expires_in` out of token responses.
    pub token_omit_expires_in: bool,
    /// Leave `scope` out of token responses.
    pub token_omit_scope: bool,
    /// Leave `id_token` out of token responses.
    pub token_omit_id_token: bool,
    /// Leave `refresh_token` out of token responses (an existing refresh token stays
    /// valid when this is on during a refresh).
    pub token_omit_refresh_token: bool,
    /// Answer every token request with this OAuth error (`invalid_grant`, …) …
    pub token_error: Option<String>,
    /// … and with HTTP 200 instead of 400.
    pub token_error_with_status_200: bool,
    /// Encode token responses as `application/x-www-form-urlencoded` (as GitHub does
    /// without an `Accept` header).
    pub token_response_form_encoded: bool,
    /// Answer token requests with `307 Temporary Redirect` to this URL.
    pub token_redirect_to: Option<String>,
    /// Accept a `client_secret_jwt` / `private_key_jwt` assertion only when its `aud` is
    /// the issuer identifier as a single string (the OpenID Foundation's January 2025
    /// audience-injection advisory; FAPI 2.0); by default the token endpoint URL and
    /// arrays holding either are accepted too.
    pub token_assertion_aud_issuer_only: bool,

    // ----- UserInfo -----
    /// Return this `sub` from UserInfo instead of the user's.
    pub userinfo_sub: Option<String>,
    /// Return UserInfo as a signed JWT (`application/jwt`, with `iss` and `aud`).
    pub userinfo_signed: bool,
    /// Remove these claims from UserInfo responses, after `iss` and `aud` are added to a
    /// signed one (e.g. `iss`, which a signed response must carry).
    pub userinfo_remove_claims: Vec<String>,
    /// For a client with a UserInfo encryption key, encrypt the JSON claims without
    /// signing them first (OIDC Core §5.3.2 allows "encrypted only"; the default is
    /// signed, then encrypted).
    pub userinfo_encrypt_only: bool,

    // ----- RP-initiated logout -----
    /// Redirect to the post-logout URI with this `state` instead of the RP's.
    pub end_session_state: Option<String>,
    /// Redirect to the post-logout URI without the RP's `state`.
    pub end_session_omit_state: bool,

    // ----- Back-channel logout tokens -----
    /// Set these claims in logout tokens (e.g. a `nonce`, which RPs must reject).
    pub logout_token_set_claims: BTreeMap<String, serde_json::Value>,
    /// Remove these claims from logout tokens (e.g. `events`).
    pub logout_token_remove_claims: Vec<String>,
    /// Sign logout tokens with this algorithm instead of the client's registered one
    /// ([`SigningAlg::None`] sends an unsigned token; `HS256` is keyed by the client secret).
    pub logout_token_alg: Option<SigningAlg>,

    // ----- Revocation (RFC 7009) and introspection (RFC 7662) -----
    /// Answer revocation requests with `400` and this `error` code.
    pub revocation_error: Option<String>,
    /// Answer introspection requests with this JSON body instead of the token's state.
    pub introspection_body: Option<serde_json::Value>,

    // ----- Transport faults -----
    /// Hang before answering on one endpoint.
    pub delay: Option<EndpointDelay>,
    /// Answer on this endpoint with a 5 MiB JSON body.
    pub huge_body: Option<Endpoint>,
    /// Answer on this endpoint with `500` and an HTML page.
    pub html_500: Option<Endpoint>,

    // ----- DPoP (RFC 9449) -----
    /// Demand the server's DPoP nonce at the token and UserInfo endpoints (§8, §9): a
    /// proof without the current nonce is answered `use_dpop_nonce` with a `DPoP-Nonce`.
    pub dpop_require_nonce: bool,
    /// Refuse every nonce, answering `use_dpop_nonce` with a fresh one each time (an RP
    /// must retry once, then give up).
    pub dpop_nonce_always_stale: bool,
    /// Demand nonces and rotate them: every successful response carries a new
    /// `DPoP-Nonce`, and only the newest is accepted.
    pub dpop_rotate_nonce: bool,
}

/// A shared, runtime-switchable handle to the provider's [`Behavior`].
///
/// Cheap to clone; every clone controls the same provider.
///
/// # Example
/// ```
/// use rpkit_conformance::{Behavior, BehaviorHandle};
///
/// let handle = BehaviorHandle::default();
/// handle.update(|b| b.token_type = Some("bEaReR".into()));
/// assert_eq!(handle.get().token_type.as_deref(), Some("bEaReR"));
/// handle.reset();
/// assert_eq!(handle.get(), Behavior::default());
/// ```
#[derive(Clone, Debug, Default)]
pub struct BehaviorHandle {
    inner: Arc<RwLock<Behavior>>,
}

impl BehaviorHandle {
    /// A handle starting from `behavior`.
    pub fn new(behavior: Behavior) -> Self {
        Self { inner: Arc::new(RwLock::new(behavior)) }
    }

    /// A copy of the current behaviour.
    pub fn get(&self) -> Behavior {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replace the behaviour.
    pub fn set(&self, behavior: Behavior) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = behavior;
    }

    /// Change the behaviour in place.
    pub fn update(&self, f: impl FnOnce(&mut Behavior)) {
        f(&mut self.inner.write().unwrap_or_else(PoisonError::into_inner));
    }

    /// Switch every misbehaviour off.
    pub fn reset(&self) {
        self.set(Behavior::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_round_trips_through_json() {
        let b = Behavior {
            id_token_alg: Some(SigningAlg::None),
            delay: Some(EndpointDelay { endpoint: Endpoint::Token, millis: 10 }),
            huge_body: Some(Endpoint::Jwks),
            ..Behavior::default()
        };
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains(r#""id_token_alg":"none""#));
        assert!(json.contains(r#""endpoint":"token""#));
        let back: Behavior = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn endpoint_paths_are_distinct() {
        let mut paths: Vec<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Endpoint::ALL.len());
    }
}
