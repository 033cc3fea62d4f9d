//! The OpenID RP certification cases (`rpkit_conformance::cases`) as tests: one test per
//! profile, which runs every case of the profile against its own provider and fails with
//! the table of the cases that did not do what the certification expects.

use rpkit_conformance::cases::{render_table, run_profile, Expected, Profile};

async fn assert_profile(profile: Profile) {
    let reports = run_profile(profile).await;
    assert_eq!(reports.len(), profile.cases().len(), "every case of {profile} reports");
    let failed: Vec<_> = reports.iter().filter(|r| !r.passed()).cloned().collect();
    assert!(
        failed.is_empty(),
        "{} of {} {profile} cases failed:\n{}",
        failed.len(),
        reports.len(),
        render_table(&failed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_profile() {
    assert_profile(Profile::Basic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_profile() {
    assert_profile(Profile::Config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_profile() {
    assert_profile(Profile::FormPost).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_profile() {
    assert_profile(Profile::RpInitiatedLogout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_channel_logout_profile() {
    assert_profile(Profile::BackChannelLogout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_algorithms_and_encryption() {
    assert_profile(Profile::IdToken).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_requests_and_responses() {
    assert_profile(Profile::UserInfo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_authentication() {
    assert_profile(Profile::TokenEndpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_keeps_the_identity() {
    assert_profile(Profile::Refresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_negatives() {
    assert_profile(Profile::Generic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_hostile_provider() {
    assert_profile(Profile::Security).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_introspection() {
    assert_profile(Profile::Revocation).await;
}

/// The certification test IDs each profile must cover, and whether the RP must accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_authorization_requests_and_request_objects() {
    assert_profile(Profile::Par).await;
}

#[test]
fn the_catalogue_covers_the_certification_profiles() {
    let basic: &[(&str, bool)] = &[
        ("rp-response_type-code", true),
        ("rp-id_token-issuer-mismatch", false),
        ("rp-id_token-sub", false),
        ("rp-id_token-aud", false),
        ("rp-id_token-iat", false),
        ("rp-id_token-kid-absent-single-jwks", true),
        ("rp-id_token-kid-absent-multiple-jwks", false),
        ("rp-id_token-sig-rs256", true),
        ("rp-id_token-sig-none", false),
        ("rp-id_token-bad-sig-rs256", false),
        ("rp-userinfo-bad-sub-claim", false),
        ("rp-nonce-invalid", false),
        ("rp-scope-userinfo-claims", true),
        ("rp-token_endpoint-client_secret_basic", true),
    ];
    let form_post_error: &[(&str, bool)] = &[("rp-response_mode-form_post-error", false)];
    let config: &[(&str, bool)] = &[
        ("rp-discovery-openid-configuration", true),
        ("rp-discovery-jwks_uri-keys", true),
        ("rp-discovery-issuer-not-matching-config", false),
        ("rp-key-rotation-op-sign-key", true),
        ("rp-key-rotation-op-sign-key-native", true),
    ];
    let rp_logout: &[(&str, bool)] =
        &[("rp-init-logout", true), ("rp-init-logout-other-state", false), ("rp-init-logout-no-state", false)];
    let backchannel: &[(&str, bool)] = &[
        ("rp-backchannel-rpinitlogout", true),
        ("rp-backchannel-rpinitlogout-lt-alg-none", false),
        ("rp-backchannel-rpinitlogout-lt-wrong-alg", false),
        ("rp-backchannel-rpinitlogout-lt-wrong-issuer", false),
        ("rp-backchannel-rpinitlogout-lt-wrong-aud", false),
        ("rp-backchannel-rpinitlogout-lt-no-event", false),
        ("rp-backchannel-rpinitlogout-lt-wrong-event", false),
        ("rp-backchannel-rpinitlogout-lt-with-nonce", false),
    ];
    let id_token: &[(&str, bool)] = &[
        ("rp-id_token-sig-es256", true),
        ("rp-id_token-sig-hs256", true),
        ("rp-id_token-bad-sig-es256", false),
        ("rp-id_token-bad-sig-hs256", false),
        ("rp-id_token-sig+enc", true),
    ];
    let userinfo: &[(&str, bool)] = &[
        ("rp-userinfo-bearer-header", true),
        ("rp-userinfo-bearer-body", true),
        ("rp-userinfo-sig", true),
        ("rp-userinfo-enc", true),
        ("rp-userinfo-sig+enc", true),
    ];
    let token_endpoint: &[(&str, bool)] = &[
        ("rp-token_endpoint-client_secret_post", true),
        ("rp-token_endpoint-client_secret_jwt", true),
        ("rp-token_endpoint-private_key_jwt", true),
    ];
    let required: Vec<(Profile, Vec<(&str, bool)>)> = vec![
        (Profile::Basic, basic.to_vec()),
        (Profile::FormPost, basic.iter().chain(form_post_error).copied().collect()),
        (Profile::Config, config.to_vec()),
        (Profile::RpInitiatedLogout, rp_logout.to_vec()),
        (Profile::BackChannelLogout, backchannel.to_vec()),
        (Profile::IdToken, id_token.to_vec()),
        (Profile::UserInfo, userinfo.to_vec()),
        (Profile::TokenEndpoint, token_endpoint.to_vec()),
    ];
    for (profile, ids) in required {
        let cases = profile.cases();
        for (id, accept) in ids {
            let case = cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{profile} lacks {id}"));
            assert_eq!(case.expected == Expected::Accept, accept, "{profile} {id}: {}", case.expected);
        }
    }
    // The hardened core's behaviours against a hostile provider.
    let security: &[(&str, bool)] = &[
        ("rpkit-jwks-removed-key-expires", false),
        ("rpkit-jwks-cache-control-max-age", true),
        ("rpkit-token_endpoint-assertion-aud-issuer", true),
        ("rpkit-discovery-insecure-endpoint", false),
        ("rpkit-discovery-issuer-required", false),
        ("rpkit-callback-iss-unverifiable", false),
        ("rpkit-callback-error-wrong-iss", false),
        ("rpkit-callback-error-description-control-chars", false),
        ("rpkit-userinfo-sig-no-iss-aud", false),
        ("rpkit-id_token-acr-essential", false),
        ("rpkit-refresh-id_token-without-original", false),
    ];
    let cases = Profile::Security.cases();
    for (id, accept) in security {
        let case = cases.iter().find(|c| c.id == *id).unwrap_or_else(|| panic!("Security lacks {id}"));
        assert_eq!(case.expected == Expected::Accept, *accept, "Security {id}: {}", case.expected);
    }
    assert!(Profile::Refresh.cases().iter().any(|c| c.id.contains("iss") && c.expected != Expected::Accept));
    assert!(Profile::Refresh.cases().iter().any(|c| c.id.contains("sub") && c.expected != Expected::Accept));
}
