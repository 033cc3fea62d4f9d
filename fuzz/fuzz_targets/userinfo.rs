//! The UserInfo response (`userinfo::parse_userinfo`): status, headers (content type,
//! `WWW-Authenticate`) and body from the input, so both `application/json` and
//! `application/jwt` (signed, or encrypted then signed) bodies are reached, with and
//! without an expected `sub` and a JWK Set; plus `userinfo::bearer_error` on each
//! `WWW-Authenticate` header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::jose::{AlgPolicy, Algorithm};
use rpkit::userinfo::{bearer_error, parse_userinfo, UserInfoContext};
use rpkit_fuzz::{fixture, CLIENT_ID, ISSUER};
use serde_json::Value;
use std::sync::OnceLock;

const SUB: &str = "248289761001";

fn contexts() -> &'static [UserInfoContext; 3] {
    static C: OnceLock<[UserInfoContext; 3]> = OnceLock::new();
    C.get_or_init(|| {
        let fx = fixture();
        let signed = UserInfoContext {
            issuer: Some(ISSUER.into()),
            client_id: Some(CLIENT_ID.into()),
            policy: AlgPolicy::from_algorithms(Algorithm::ALL),
            hmac_secret: Some(fx.secret.clone()),
            decryption_key: Some(fx.dec_rsa.clone()),
        };
        let ec = UserInfoContext { decryption_key: Some(fx.dec_ec.clone()), ..signed.clone() };
        [UserInfoContext::default(), signed, ec]
    })
}

fuzz_target!(|data: &[u8]| {
    let response = rpkit_fuzz::response(data);
    for value in response.headers().get_all(http::header::WWW_AUTHENTICATE) {
        if let Ok(text) = value.to_str() {
            let _ = bearer_error(text);
        }
    }
    let keys = &fixture().jwks;
    for ctx in contexts() {
        for expected_sub in [None, Some(SUB)] {
            for keys in [None, Some(keys)] {
                let Ok(claims) = parse_userinfo(&response, expected_sub, keys, ctx) else { continue };
                assert!(response.status().is_success());
                let sub = claims.sub().expect("accepted UserInfo has a `sub`");
                assert!(!sub.is_empty());
                if let Some(expected) = expected_sub {
                    assert_eq!(sub, expected);
                }
                if let (Some(iss), Some(expected)) = (claims.get("iss"), ctx.issuer.as_deref()) {
                    // A JSON body's `iss` is not checked; a signed one's must be the issuer.
                    if is_jwt(&response) {
                        assert_eq!(iss, &Value::from(expected));
                    }
                }
            }
        }
    }
});

fn is_jwt(response: &http::Response<Vec<u8>>) -> bool {
    rpkit::wire::media_type(response).as_deref() == Some("application/jwt")
}
