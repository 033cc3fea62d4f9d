//! OpenID RP certification cases, run against rpkit's async client.
//!
//! Each case is named after an OpenID RP test ID
//! (<https://openid.net/certification/rp_testing/>, the "old suite" IDs that the current
//! conformance suite still cites) and asserts the outcome the certification expects:
//! the RP accepts, or it rejects **with the specific error** and without using anything
//! from the bad response — no token request after a bad authorization response, no
//! token and no UserInfo call after a bad ID token, no session after a bad logout token.
//! Cases without a certification ID (rpkit's own negatives, refresh, security) are named
//! `rpkit-…`.
//!
//! The RP under test is [`rpkit::client::OAuthClient`] over `rpkit-reqwest`; the OP is the
//! [`DevProvider`](crate::DevProvider) of this crate with the misbehaviour each case
//! needs; the browser is reqwest with redirects off (it reads the login form, the
//! redirect's query or the Form Post page and hands the parameters to the RP). One
//! provider serves each [`Profile`]; every case starts a fresh RP (empty caches).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use rpkit_conformance::cases::{render_table, run_profile, summary, Profile};
//! let reports = run_profile(Profile::Basic).await;
//! print!("{}", render_table(&reports));
//! println!("{}", summary(&reports)); // "14 passed, 0 failed"
//! # }
//! ```

mod backchannel;
mod basic;
mod config;
mod dpop;
mod generic;
mod harness;
mod id_token;
mod logout;
mod par;
mod refresh;
mod revocation;
mod security;
mod token_endpoint;
mod userinfo;
// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
mod device;
mod registration;

use std::fmt;
use std::time::Duration;

use harness::{Ctx, Outcome, Setup};

/// How long one case may take before it counts as failed.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// A group of cases run against one provider; the first five are OpenID certification
/// profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Basic RP (code flow).
    Basic,
    /// Config RP (discovery, JWKS, key rotation).
    Config,
    /// Form Post RP: the Basic cases with `response_mode=form_post`, and an error.
    FormPost,
    /// RP-Initiated Logout RP.
    RpInitiatedLogout,
    /// Back-Channel Logout RP.
    BackChannelLogout,
    /// ID token signing algorithms and encryption.
    IdToken,
    /// UserInfo requests and signed / encrypted responses.
    UserInfo,
    /// Token endpoint client authentication.
    TokenEndpoint,
    /// Refresh: the refreshed ID token must match the original.
    Refresh,
    /// rpkit's own negatives (and odd but valid token responses).
    Generic,
    /// A hostile or careless provider: removed keys, cache lifetimes, assertion audience,
    /// plain-http endpoints, mix-up on the error branch, forged error text.
    Security,
    /// Token revocation (RFC 7009) and introspection (RFC 7662).
    Revocation,
    /// The device authorization grant (RFC 8628).
    Device,
    /// Dynamic client registration and management (RFC 7591/7592).
    Registration,
    /// DPoP (RFC 9449): proofs, the nonce dance, no downgrade to Bearer.
    Dpop,
    /// Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101).
    Par,
}

impl Profile {
    /// Every profile, in run order.
    pub const ALL: [Profile; 16] = [
        Profile::Basic,
        Profile::Config,
        Profile::FormPost,
        Profile::RpInitiatedLogout,
        Profile::BackChannelLogout,
        Profile::IdToken,
        Profile::UserInfo,
        Profile::TokenEndpoint,
        Profile::Refresh,
        Profile::Generic,
        Profile::Security,
        Profile::Revocation,
        Profile::Device,
        Profile::Registration,
        Profile::Dpop,
        Profile::Par,
    ];

    /// The profile's display name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Basic => "Basic",
            Profile::Config => "Config",
            Profile::FormPost => "Form Post",
            Profile::RpInitiatedLogout => "RP-Initiated Logout",
            Profile::BackChannelLogout => "Back-Channel Logout",
            Profile::IdToken => "ID Token",
            Profile::UserInfo => "UserInfo",
            Profile::TokenEndpoint => "Token Endpoint",
            Profile::Refresh => "Refresh",
            Profile::Generic => "Generic",
            Profile::Security => "Security",
            Profile::Revocation => "Revocation",
            Profile::Device => "Device",
            Profile::Registration => "Registration",
            Profile::Dpop => "DPoP",
            Profile::Par => "PAR/JAR",
        }
    }

    /// The cases of the profile.
    pub fn cases(self) -> Vec<CaseSpec> {
        match self {
            Profile::Basic => BASIC.to_vec(),
            Profile::FormPost => BASIC.iter().chain(FORM_POST_EXTRA).copied().collect(),
            Profile::Config => CONFIG.to_vec(),
            Profile::RpInitiatedLogout => RP_LOGOUT.to_vec(),
            Profile::BackChannelLogout => BACKCHANNEL.to_vec(),
            Profile::IdToken => ID_TOKEN.to_vec(),
            Profile::UserInfo => USERINFO.to_vec(),
            Profile::TokenEndpoint => TOKEN_ENDPOINT.to_vec(),
            Profile::Refresh => REFRESH.to_vec(),
            Profile::Generic => GENERIC.to_vec(),
            Profile::Security => SECURITY.to_vec(),
            Profile::Revocation => REVOCATION.to_vec(),
            Profile::Device => DEVICE.to_vec(),
            Profile::Registration => REGISTRATION.to_vec(),
            Profile::Dpop => dpop::CASES.to_vec(),
            Profile::Par => par::PAR.to_vec(),
        }
    }

    fn setup(self) -> Setup {
        Setup { form_post: self == Profile::FormPost, backchannel: self == Profile::BackChannelLogout }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the certification expects of the RP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The RP accepts.
    Accept,
    /// The RP rejects, with this error (rpkit's variant).
    Reject(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Accept => f.write_str("accept"),
            Expected::Reject(what) => write!(f, "reject: {what}"),
        }
    }
}

/// One case: a test ID and what the RP must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseSpec {
    /// The OpenID RP test ID (or `rpkit-…`).
    pub id: &'static str,
    /// The expected outcome.
    pub expected: Expected,
}

const fn accept(id: &'static str) -> CaseSpec {
    CaseSpec { id, expected: Expected::Accept }
}

const fn reject(id: &'static str, what: &'static str) -> CaseSpec {
    CaseSpec { id, expected: Expected::Reject(what) }
}

const BASIC: &[CaseSpec] = &[
    accept("rp-response_type-code"),
    reject("rp-id_token-issuer-mismatch", "IdToken::Issuer"),
    reject("rp-id_token-sub", "IdToken::MissingClaim(sub)"),
    reject("rp-id_token-aud", "IdToken::Audience / MissingClaim(aud)"),
    reject("rp-id_token-iat", "IdToken::MissingClaim(iat)"),
    accept("rp-id_token-kid-absent-single-jwks"),
    reject("rp-id_token-kid-absent-multiple-jwks", "Jose::AmbiguousKey"),
    accept("rp-id_token-sig-rs256"),
    reject("rp-id_token-sig-none", "IdToken::Algorithm(none)"),
    reject("rp-id_token-bad-sig-rs256", "IdToken::Signature"),
    reject("rp-userinfo-bad-sub-claim", "UserInfo::SubjectMismatch"),
    reject("rp-nonce-invalid", "IdToken::Nonce"),
    accept("rp-scope-userinfo-claims"),
    accept("rp-token_endpoint-client_secret_basic"),
];

const FORM_POST_EXTRA: &[CaseSpec] = &[reject("rp-response_mode-form_post-error", "Provider(access_denied)")];

const CONFIG: &[CaseSpec] = &[
    accept("rp-discovery-openid-configuration"),
    accept("rp-discovery-jwks_uri-keys"),
    reject("rp-discovery-issuer-not-matching-config", "Discovery::IssuerMismatch"),
    accept("rp-key-rotation-op-sign-key"),
    accept("rp-key-rotation-op-sign-key-native"),
];

const RP_LOGOUT: &[CaseSpec] = &[
    accept("rp-init-logout"),
    reject("rp-init-logout-other-state", "State::Unknown"),
    reject("rp-init-logout-no-state", "State::Missing"),
];

const BACKCHANNEL: &[CaseSpec] = &[
    accept("rp-backchannel-rpinitlogout"),
    reject("rp-backchannel-rpinitlogout-lt-alg-none", "400, Jose::AlgNone"),
    reject("rp-backchannel-rpinitlogout-lt-wrong-alg", "400, Jose::AlgorithmNotAllowed"),
    reject("rp-backchannel-rpinitlogout-lt-wrong-issuer", "400, Logout::Issuer"),
    reject("rp-backchannel-rpinitlogout-lt-wrong-aud", "400, Logout::Audience"),
    reject("rp-backchannel-rpinitlogout-lt-no-event", "400, Logout::Events"),
    reject("rp-backchannel-rpinitlogout-lt-wrong-event", "400, Logout::Events"),
    reject("rp-backchannel-rpinitlogout-lt-with-nonce", "400, Logout::Nonce"),
];

const ID_TOKEN: &[CaseSpec] = &[
    accept("rp-id_token-sig-es256"),
    accept("rpkit-id_token-sig-eddsa"),
    accept("rp-id_token-sig-hs256"),
    reject("rp-id_token-bad-sig-es256", "IdToken::Signature"),
    reject("rp-id_token-bad-sig-hs256", "IdToken::Signature"),
    accept("rp-id_token-sig+enc"),
    reject("rpkit-id_token-enc-required", "IdToken::EncryptionRequired"),
];

const USERINFO: &[CaseSpec] = &[
    accept("rp-userinfo-bearer-header"),
    accept("rp-userinfo-bearer-body"),
    accept("rp-userinfo-sig"),
    accept("rp-userinfo-enc"),
    accept("rp-userinfo-sig+enc"),
];

const TOKEN_ENDPOINT: &[CaseSpec] = &[
    accept("rp-token_endpoint-client_secret_post"),
    accept("rp-token_endpoint-client_secret_jwt"),
    accept("rp-token_endpoint-private_key_jwt"),
];

const REFRESH: &[CaseSpec] = &[
    accept("rpkit-refresh_token"),
    accept("rpkit-refresh_token-kept"),
    reject("rpkit-refresh_token-id_token-iss", "IdToken::Issuer"),
    reject("rpkit-refresh_token-id_token-sub", "IdToken::RefreshMismatch(sub)"),
    reject("rpkit-refresh_token-invalid_grant", "ReauthenticationRequired"),
];

const GENERIC: &[CaseSpec] = &[
    reject("rpkit-id_token-alg-other-family", "IdToken::Algorithm(ES256)"),
    reject("rpkit-id_token-alg-hs256-unconfigured", "IdToken::Algorithm(HS256)"),
    reject("rpkit-id_token-exp-missing", "IdToken::MissingClaim(exp)"),
    reject("rpkit-id_token-iss-missing", "IdToken::MissingClaim(iss)"),
    reject("rpkit-id_token-aud-missing", "IdToken::MissingClaim(aud)"),
    reject("rpkit-id_token-nonce-missing", "IdToken::MissingClaim(nonce)"),
    reject("rpkit-id_token-iat-week-old", "IdToken::IssuedTooLongAgo"),
    reject("rpkit-id_token-expired", "IdToken::Expired"),
    reject("rpkit-id_token-aud-multiple-no-azp", "IdToken::AuthorizedParty"),
    reject("rpkit-id_token-bad-at_hash", "IdToken::AtHash"),
    reject("rpkit-id_token-logout-typ", "IdToken::NotAnIdToken"),
    reject("rpkit-callback-state-wrong", "State::Unknown"),
    reject("rpkit-callback-state-missing", "State::Missing"),
    reject("rpkit-callback-replayed", "State::Unknown"),
    reject("rpkit-callback-iss-wrong", "Callback::IssuerMismatch"),
    reject("rpkit-callback-iss-missing", "Callback::MissingIssuer"),
    reject("rpkit-authorize-error", "Provider(access_denied)"),
    accept("rpkit-token-token_type-case"),
    accept("rpkit-token-no-expires_in"),
    accept("rpkit-token-no-scope"),
    reject("rpkit-token-no-id_token", "Token::MissingIdToken"),
    reject("rpkit-token-error-status-200", "Provider(invalid_grant)"),
];

const SECURITY: &[CaseSpec] = &[
    reject("rpkit-jwks-removed-key-expires", "Jose::UnknownKid after the JWKS max age"),
    accept("rpkit-jwks-cache-control-max-age"),
    accept("rpkit-token_endpoint-assertion-aud-issuer"),
    reject("rpkit-discovery-insecure-endpoint", "Config::InsecureEndpoint(metadata.*)"),
    reject("rpkit-discovery-issuer-required", "Config::Missing(issuer)"),
    reject("rpkit-callback-iss-unverifiable", "Callback::UnverifiableIssuer"),
    reject("rpkit-callback-error-wrong-iss", "Callback::IssuerMismatch / MissingIssuer"),
    reject("rpkit-callback-error-description-control-chars", "Provider(access_denied), sanitized"),
    reject("rpkit-userinfo-sig-no-iss-aud", "UserInfo::MissingClaim(iss / aud)"),
    reject("rpkit-id_token-acr-essential", "IdToken::Acr"),
    reject("rpkit-refresh-id_token-without-original", "IdToken::RefreshWithoutOriginal"),
];

const REVOCATION: &[CaseSpec] = &[
    accept("rpkit-revocation-refresh_token"),
    accept("rpkit-introspection-active"),
    reject("rpkit-introspection-inactive", "Introspection::Inactive, nothing kept"),
    reject("rpkit-introspection-active-not-boolean", "Malformed"),
    reject("rpkit-revocation-unsupported_token_type", "Provider(unsupported_token_type)"),
];

const DEVICE: &[CaseSpec] = &[
    accept("rpkit-device-login"),
    accept("rpkit-device-slow_down"),
    reject("rpkit-device-expired_token", "Device::ExpiredToken"),
    reject("rpkit-device-access_denied", "Device::AccessDenied"),
    reject("rpkit-device-deadline", "Device::Deadline, no poll past expires_in"),
];

const REGISTRATION: &[CaseSpec] = &[
    accept("rpkit-registration-login"),
    reject("rpkit-registration-invalid_redirect_uri", "Registration::InvalidRedirectUri"),
    accept("rpkit-registration-management"),
];

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseReport {
    /// The test ID.
    pub id: &'static str,
    /// The profile it ran in.
    pub profile: Profile,
    /// What was expected.
    pub expected: Expected,
    /// `Ok(what happened)` when it matched the expectation, else `Err(why not)`.
    pub outcome: Result<String, String>,
}

impl CaseReport {
    /// Whether the RP did what the certification expects.
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

async fn run_case(ctx: &Ctx, id: &str) -> Outcome {
    match id {
        // Basic (and Form Post)
        "rp-response_type-code" => basic::rp_response_type_code(ctx).await,
        "rp-id_token-issuer-mismatch" => basic::rp_id_token_issuer_mismatch(ctx).await,
        "rp-id_token-sub" => basic::rp_id_token_sub(ctx).await,
        "rp-id_token-aud" => basic::rp_id_token_aud(ctx).await,
        "rp-id_token-iat" => basic::rp_id_token_iat(ctx).await,
        "rp-id_token-kid-absent-single-jwks" => basic::rp_id_token_kid_absent_single_jwks(ctx).await,
        "rp-id_token-kid-absent-multiple-jwks" => basic::rp_id_token_kid_absent_multiple_jwks(ctx).await,
        "rp-id_token-sig-rs256" => basic::rp_id_token_sig_rs256(ctx).await,
        "rp-id_token-sig-none" => basic::rp_id_token_sig_none(ctx).await,
        "rp-id_token-bad-sig-rs256" => basic::rp_id_token_bad_sig_rs256(ctx).await,
        "rp-userinfo-bad-sub-claim" => basic::rp_userinfo_bad_sub_claim(ctx).await,
        "rp-nonce-invalid" => basic::rp_nonce_invalid(ctx).await,
        "rp-scope-userinfo-claims" => basic::rp_scope_userinfo_claims(ctx).await,
        "rp-token_endpoint-client_secret_basic" => basic::rp_token_endpoint_client_secret_basic(ctx).await,
        "rp-response_mode-form_post-error" => basic::rp_response_mode_form_post_error(ctx).await,
        // Config
        "rp-discovery-openid-configuration" => config::rp_discovery_openid_configuration(ctx).await,
        "rp-discovery-jwks_uri-keys" => config::rp_discovery_jwks_uri_keys(ctx).await,
        "rp-discovery-issuer-not-matching-config" => config::rp_discovery_issuer_not_matching_config(ctx).await,
        "rp-key-rotation-op-sign-key" => config::rp_key_rotation_op_sign_key(ctx).await,
        "rp-key-rotation-op-sign-key-native" => config::rp_key_rotation_op_sign_key_native(ctx).await,
        // RP-initiated logout
        "rp-init-logout" => logout::rp_init_logout(ctx).await,
        "rp-init-logout-other-state" => logout::rp_init_logout_other_state(ctx).await,
        "rp-init-logout-no-state" => logout::rp_init_logout_no_state(ctx).await,
        // Back-channel logout
        "rp-backchannel-rpinitlogout" => backchannel::rp_backchannel_rpinitlogout(ctx).await,
        "rp-backchannel-rpinitlogout-lt-alg-none" => backchannel::rp_backchannel_rpinitlogout_lt_alg_none(ctx).await,
        "rp-backchannel-rpinitlogout-lt-wrong-alg" => backchannel::rp_backchannel_rpinitlogout_lt_wrong_alg(ctx).await,
        "rp-backchannel-rpinitlogout-lt-wrong-issuer" => {
            backchannel::rp_backchannel_rpinitlogout_lt_wrong_issuer(ctx).await
        }
        "rp-backchannel-rpinitlogout-lt-wrong-aud" => backchannel::rp_backchannel_rpinitlogout_lt_wrong_aud(ctx).await,
        "rp-backchannel-rpinitlogout-lt-no-event" => backchannel::rp_backchannel_rpinitlogout_lt_no_event(ctx).await,
        "rp-backchannel-rpinitlogout-lt-wrong-event" => {
            backchannel::rp_backchannel_rpinitlogout_lt_wrong_event(ctx).await
        }
        "rp-backchannel-rpinitlogout-lt-with-nonce" => {
            backchannel::rp_backchannel_rpinitlogout_lt_with_nonce(ctx).await
        }
        // ID token algorithms and encryption
        "rp-id_token-sig-es256" => id_token::rp_id_token_sig_es256(ctx).await,
        "rpkit-id_token-sig-eddsa" => id_token::rpkit_id_token_sig_eddsa(ctx).await,
        "rp-id_token-sig-hs256" => id_token::rp_id_token_sig_hs256(ctx).await,
        "rp-id_token-bad-sig-es256" => id_token::rp_id_token_bad_sig_es256(ctx).await,
        "rp-id_token-bad-sig-hs256" => id_token::rp_id_token_bad_sig_hs256(ctx).await,
        "rp-id_token-sig+enc" => id_token::rp_id_token_sig_enc(ctx).await,
        "rpkit-id_token-enc-required" => id_token::rpkit_id_token_enc_required(ctx).await,
        // UserInfo
        "rp-userinfo-bearer-header" => userinfo::rp_userinfo_bearer_header(ctx).await,
        "rp-userinfo-bearer-body" => userinfo::rp_userinfo_bearer_body(ctx).await,
        "rp-userinfo-sig" => userinfo::rp_userinfo_sig(ctx).await,
        "rp-userinfo-enc" => userinfo::rp_userinfo_enc(ctx).await,
        "rp-userinfo-sig+enc" => userinfo::rp_userinfo_sig_enc(ctx).await,
        // Token endpoint authentication
        "rp-token_endpoint-client_secret_post" => token_endpoint::rp_token_endpoint_client_secret_post(ctx).await,
        "rp-token_endpoint-client_secret_jwt" => token_endpoint::rp_token_endpoint_client_secret_jwt(ctx).await,
        "rp-token_endpoint-private_key_jwt" => token_endpoint::rp_token_endpoint_private_key_jwt(ctx).await,
        // Refresh
        "rpkit-refresh_token" => refresh::rpkit_refresh_token(ctx).await,
        "rpkit-refresh_token-kept" => refresh::rpkit_refresh_token_kept(ctx).await,
        "rpkit-refresh_token-id_token-iss" => refresh::rpkit_refresh_token_id_token_iss(ctx).await,
        "rpkit-refresh_token-id_token-sub" => refresh::rpkit_refresh_token_id_token_sub(ctx).await,
        "rpkit-refresh_token-invalid_grant" => refresh::rpkit_refresh_token_invalid_grant(ctx).await,
        // Generic
        "rpkit-id_token-alg-other-family" => generic::rpkit_id_token_alg_other_family(ctx).await,
        "rpkit-id_token-alg-hs256-unconfigured" => generic::rpkit_id_token_alg_hs256_unconfigured(ctx).await,
        "rpkit-id_token-exp-missing" => generic::rpkit_id_token_exp_missing(ctx).await,
        "rpkit-id_token-iss-missing" => generic::rpkit_id_token_iss_missing(ctx).await,
        "rpkit-id_token-aud-missing" => generic::rpkit_id_token_aud_missing(ctx).await,
        "rpkit-id_token-nonce-missing" => generic::rpkit_id_token_nonce_missing(ctx).await,
        "rpkit-id_token-iat-week-old" => generic::rpkit_id_token_iat_week_old(ctx).await,
        "rpkit-id_token-expired" => generic::rpkit_id_token_expired(ctx).await,
        "rpkit-id_token-aud-multiple-no-azp" => generic::rpkit_id_token_aud_multiple_no_azp(ctx).await,
        "rpkit-id_token-bad-at_hash" => generic::rpkit_id_token_bad_at_hash(ctx).await,
        "rpkit-id_token-logout-typ" => generic::rpkit_id_token_logout_typ(ctx).await,
        "rpkit-callback-state-wrong" => generic::rpkit_callback_state_wrong(ctx).await,
        "rpkit-callback-state-missing" => generic::rpkit_callback_state_missing(ctx).await,
        "rpkit-callback-replayed" => generic::rpkit_callback_replayed(ctx).await,
        "rpkit-callback-iss-wrong" => generic::rpkit_callback_iss_wrong(ctx).await,
        "rpkit-callback-iss-missing" => generic::rpkit_callback_iss_missing(ctx).await,
        "rpkit-authorize-error" => generic::rpkit_authorize_error(ctx).await,
        "rpkit-token-token_type-case" => generic::rpkit_token_token_type_case(ctx).await,
        "rpkit-token-no-expires_in" => generic::rpkit_token_no_expires_in(ctx).await,
        "rpkit-token-no-scope" => generic::rpkit_token_no_scope(ctx).await,
        "rpkit-token-no-id_token" => generic::rpkit_token_no_id_token(ctx).await,
        "rpkit-token-error-status-200" => generic::rpkit_token_error_status_200(ctx).await,
        // Security
        "rpkit-jwks-removed-key-expires" => security::rpkit_jwks_removed_key_expires(ctx).await,
        "rpkit-jwks-cache-control-max-age" => security::rpkit_jwks_cache_control_max_age(ctx).await,
        "rpkit-token_endpoint-assertion-aud-issuer" => security::rpkit_token_endpoint_assertion_aud_issuer(ctx).await,
        "rpkit-discovery-insecure-endpoint" => security::rpkit_discovery_insecure_endpoint(ctx).await,
        "rpkit-discovery-issuer-required" => security::rpkit_discovery_issuer_required(ctx).await,
        "rpkit-callback-iss-unverifiable" => security::rpkit_callback_iss_unverifiable(ctx).await,
        "rpkit-callback-error-wrong-iss" => security::rpkit_callback_error_wrong_iss(ctx).await,
        "rpkit-callback-error-description-control-chars" => {
            security::rpkit_callback_error_description_control_chars(ctx).await
        }
        "rpkit-userinfo-sig-no-iss-aud" => security::rpkit_userinfo_sig_no_iss_aud(ctx).await,
        "rpkit-id_token-acr-essential" => security::rpkit_id_token_acr_essential(ctx).await,
        "rpkit-refresh-id_token-without-original" => security::rpkit_refresh_id_token_without_original(ctx).await,
        // Revocation and introspection
        "rpkit-revocation-refresh_token" => revocation::rpkit_revocation_refresh_token(ctx).await,
        "rpkit-introspection-active" => revocation::rpkit_introspection_active(ctx).await,
        "rpkit-introspection-inactive" => revocation::rpkit_introspection_inactive(ctx).await,
        "rpkit-introspection-active-not-boolean" => revocation::rpkit_introspection_active_not_boolean(ctx).await,
        "rpkit-revocation-unsupported_token_type" => revocation::rpkit_revocation_unsupported_token_type(ctx).await,
        // Device authorization grant
        "rpkit-device-login" => device::rpkit_device_login(ctx).await,
        "rpkit-device-slow_down" => device::rpkit_device_slow_down(ctx).await,
        "rpkit-device-expired_token" => device::rpkit_device_expired_token(ctx).await,
        "rpkit-device-access_denied" => device::rpkit_device_access_denied(ctx).await,
        "rpkit-device-deadline" => device::rpkit_device_deadline(ctx).await,
        // Dynamic registration
        "rpkit-registration-login" => registration::rpkit_registration_login(ctx).await,
        "rpkit-registration-invalid_redirect_uri" => registration::rpkit_registration_invalid_redirect_uri(ctx).await,
        "rpkit-registration-management" => registration::rpkit_registration_management(ctx).await,
        // DPoP
        id if id.starts_with("rpkit-dpop-") => dpop::run(ctx, id).await,
        id if par::PAR.iter().any(|c| c.id == id) => par::run_case(ctx, id).await,
        other => Err(format!("no case implements {other}")),
    }
}

/// Run every case of `profile` against a fresh provider, one after another.
pub async fn run_profile(profile: Profile) -> Vec<CaseReport> {
    let specs = profile.cases();
    let ctx = match Ctx::start(profile.setup()).await {
        Ok(ctx) => ctx,
        Err(e) => {
            return specs
                .into_iter()
                .map(|s| CaseReport { id: s.id, profile, expected: s.expected, outcome: Err(e.clone()) })
                .collect()
        }
    };
    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        ctx.op.behavior().reset();
        let outcome = match tokio::time::timeout(CASE_TIMEOUT, run_case(&ctx, spec.id)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {} s", CASE_TIMEOUT.as_secs())),
        };
        reports.push(CaseReport { id: spec.id, profile, expected: spec.expected, outcome });
    }
    ctx.op.behavior().reset();
    ctx.shutdown().await;
    reports
}

/// Run every profile (each against its own provider, concurrently) and return the
/// reports in [`Profile::ALL`] order.
pub async fn run_all() -> Vec<CaseReport> {
    let handles: Vec<_> = Profile::ALL.iter().map(|p| tokio::spawn(run_profile(*p))).collect();
    let mut reports = Vec::new();
    for (profile, handle) in Profile::ALL.iter().zip(handles) {
        match handle.await {
            Ok(r) => reports.extend(r),
            Err(e) => reports.extend(profile.cases().into_iter().map(|s| CaseReport {
                id: s.id,
                profile: *profile,
                expected: s.expected,
                outcome: Err(format!("the profile run panicked: {e}")),
            })),
        }
    }
    reports
}

/// The results as a plain-text table: test ID, profile, expected, outcome.
pub fn render_table(reports: &[CaseReport]) -> String {
    let rows: Vec<[String; 4]> = reports
        .iter()
        .map(|r| {
            let outcome = match &r.outcome {
                Ok(what) => format!("PASS  {what}"),
                Err(why) => format!("FAIL  {why}"),
            };
            [r.id.to_owned(), r.profile.to_string(), r.expected.to_string(), outcome]
        })
        .collect();
    let header = ["test ID".to_owned(), "profile".to_owned(), "expected".to_owned(), "outcome".to_owned()];
    let width = |i: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let [id, profile, expected, outcome] = row;
        out.push_str(&format!(
            "{id:<w0$}  {profile:<w1$}  {expected:<w2$}  {outcome}\n",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    out
}

/// `N passed, M failed`.
pub fn summary(reports: &[CaseReport]) -> String {
    let passed = reports.iter().filter(|r| r.passed()).count();
    format!("{passed} passed, {} failed", reports.len() - passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_within_a_profile() {
        for p in Profile::ALL {
            let ids: Vec<_> = p.cases().iter().map(|c| c.id).collect();
            let set: HashSet<_> = ids.iter().collect();
            assert_eq!(set.len(), ids.len(), "{p}");
        }
    }

    #[test]
    fn form_post_runs_the_basic_cases_and_the_error() {
        let basic = Profile::Basic.cases();
        let form_post = Profile::FormPost.cases();
        assert!(basic.iter().all(|c| form_post.contains(c)));
        assert!(form_post.iter().any(|c| c.id == "rp-response_mode-form_post-error"));
    }

    #[test]
    fn the_summary_has_the_fixed_format() {
        let ok = CaseReport { id: "a", profile: Profile::Basic, expected: Expected::Accept, outcome: Ok("x".into()) };
        let bad = CaseReport { outcome: Err("y".into()), ..ok.clone() };
        assert_eq!(summary(&[ok.clone(), bad.clone(), ok]), "2 passed, 1 failed");
        let table = render_table(&[bad]);
        assert!(table.starts_with("test ID"));
        assert!(table.contains("FAIL  y"));
    }
}
