//! The answers of the endpoints beyond the code flow — PAR (RFC 9126), device
//! authorization and polling (RFC 8628), registration (RFC 7591/7592), revocation and
//! introspection (RFC 7009/7662) — and DPoP's nonce headers (RFC 9449). The first input
//! byte picks the parser; the rest is a response (see `rpkit_fuzz::response`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::device::{parse_device_authorization_response, DevicePoll, DeviceStep};
use rpkit::dpop::{dpop_challenge_error, dpop_nonce, resource_nonce_challenge, token_nonce_challenge};
use rpkit::login::Provider;
use rpkit::par::parse_par_response;
use rpkit::registration::parse_registration_response;
use rpkit::revocation::{parse_introspection_response, parse_revocation_response, Introspection};
use rpkit_fuzz::NOW;
use serde_json::Value;
use std::sync::OnceLock;

/// A device authorization as a provider would answer it, to poll with.
fn device() -> &'static rpkit::device::DeviceAuthorization {
    static DEVICE: OnceLock<rpkit::device::DeviceAuthorization> = OnceLock::new();
    DEVICE.get_or_init(|| {
        let body = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT",
            "verification_uri":"https://op.example.com/device","expires_in":1800,"interval":5}"#;
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("a response");
        parse_device_authorization_response(&response, Some("openid"), NOW).expect("the seed device authorization")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let response = rpkit_fuzz::response(rest);
    let body_json = || serde_json::from_slice::<Value>(response.body()).ok();
    match which % 7 {
        0 => {
            if let Ok(pushed) = parse_par_response(&response, NOW) {
                assert!(response.status().is_success());
                assert!(!pushed.request_uri().is_empty());
                assert!(pushed.expires_in() > 0 && pushed.expires_at() > NOW);
                let shown = format!("{pushed:?}");
                assert!(shown.contains("request_uri: \"[redacted]\""), "Debug shows the request_uri: {shown}");
            }
        }
        1 => {
            if let Ok(device) = parse_device_authorization_response(&response, Some("openid"), NOW) {
                assert!(response.status().is_success());
                assert!(device.expires_at > NOW && device.interval > 0);
                assert!(!device.device_code.secret().is_empty());
                let mut blank = device.clone();
                blank.device_code = rpkit::secret::DeviceCode::new("x");
                assert_eq!(format!("{device:?}"), format!("{blank:?}"), "Debug shows the device code");
            }
        }
        2 => {
            // A poll's answer: never a token without a 2xx, never a panic.
            let provider = Provider::from_parts(
                std::sync::Arc::new(rpkit_fuzz::config()),
                Some(std::sync::Arc::new(rpkit_fuzz::metadata(true))),
            );
            for proof_sent in [false, true] {
                let mut poll = DevicePoll::new(device());
                if let Ok(DeviceStep::Done(_)) = poll.handle_token_response_dpop(&provider, &response, NOW, proof_sent) {
                    assert!(response.status().is_success());
                }
            }
        }
        3 => {
            if let Ok(registered) = parse_registration_response(&response) {
                assert!(response.status().is_success());
                assert!(!registered.client_id.is_empty());
                // Debug never depends on the secrets (the same text may appear elsewhere,
                // e.g. in an unknown member the provider echoed).
                let mut blank = registered.clone();
                blank.client_secret = blank.client_secret.as_ref().map(|_| rpkit::secret::ClientSecret::new("x"));
                blank.registration_access_token = blank
                    .registration_access_token
                    .as_ref()
                    .map(|_| rpkit::secret::RegistrationAccessToken::new("x"));
                assert_eq!(format!("{registered:?}"), format!("{blank:?}"), "Debug shows a secret");
            }
        }
        4 => match parse_introspection_response(&response) {
            Ok(Introspection::Active(_)) => {
                assert!(response.status().is_success());
                assert_eq!(body_json().and_then(|v| v.get("active").cloned()), Some(Value::Bool(true)));
            }
            Ok(Introspection::Inactive) => {
                assert_eq!(body_json().and_then(|v| v.get("active").cloned()), Some(Value::Bool(false)));
            }
            Err(_) => {}
        },
        5 => {
            if parse_revocation_response(&response).is_ok() {
                assert!(response.status().is_success());
            }
        }
        _ => {
            let _ = dpop_nonce(&response);
            let _ = token_nonce_challenge(&response);
            let _ = resource_nonce_challenge(&response);
            if let Some(header) = rpkit_fuzz::text(rest) {
                let _ = dpop_challenge_error(header);
            }
        }
    }
});
