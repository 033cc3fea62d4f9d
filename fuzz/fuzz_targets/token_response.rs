//! The token endpoint's response (`token::parse_token_response`), status, headers and body
//! from the input (see `rpkit_fuzz::response`), under every `Grant`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::secret::{AccessToken, IdTokenString, RefreshToken};
use rpkit::token::{parse_token_response, Grant};
use rpkit::{Error, Token};
use rpkit_fuzz::NOW;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let response = rpkit_fuzz::response(data);
    let grants = [
        Grant::AuthorizationCode { openid: true },
        Grant::AuthorizationCode { openid: false },
        Grant::Refresh,
        Grant::ClientCredentials,
    ];
    for grant in grants {
        match parse_token_response(&response, NOW, grant) {
            Ok(token) => check(&token, &response, grant),
            Err(Error::ReauthenticationRequired(e)) => assert!(grant == Grant::Refresh && e.error == "invalid_grant"),
            Err(_) => {}
        }
    }
});

fn check(token: &Token, response: &http::Response<Vec<u8>>, grant: Grant) {
    assert!(response.status().is_success());
    assert!(!token.access_token.secret().is_empty());
    assert!(token.is_bearer());
    assert!(token.userinfo.is_none(), "a provider-sent `userinfo` became claims");
    assert_eq!(token.expires_at, token.expires_in.map(|s| NOW.plus(s)));
    if grant == (Grant::AuthorizationCode { openid: true }) {
        assert!(token.id_token.is_some());
    }
    // The members are the body's, as `serde_json` reads them (the parse scans common
    // bodies itself): a body that is a JSON object is always parsed as JSON.
    if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(response.body()) {
        let text = |name: &str| map.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        assert_eq!(Some(token.access_token.secret()), text("access_token"));
        assert_eq!(Some(token.token_type.as_str()), text("token_type"));
        assert_eq!(token.refresh_token.as_ref().map(RefreshToken::secret), text("refresh_token"));
        assert_eq!(token.id_token.as_ref().map(IdTokenString::secret), text("id_token"));
        if let Some(Value::String(scope)) = map.get("scope") {
            assert_eq!(token.scope.as_ref(), Some(scope));
        }
        for name in [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_expires_in",
            "refresh_token",
            "id_token",
            "scope",
            "userinfo",
            "expires_at",
        ] {
            map.remove(name);
        }
        assert_eq!(token.extra, map, "unknown members differ from serde_json's");
    }
    // Debug never depends on the secrets.
    let mut blank = token.clone();
    blank.access_token = AccessToken::new("x");
    blank.refresh_token = blank.refresh_token.as_ref().map(|_| RefreshToken::new("x"));
    blank.id_token = blank.id_token.as_ref().map(|_| IdTokenString::new("x"));
    assert_eq!(format!("{token:?}"), format!("{blank:?}"), "Debug shows a token");
    // Tokens are stored in sessions: serde must round-trip them.
    let stored = serde_json::to_string(token).expect("serialize token");
    let back: Token = serde_json::from_str(&stored).expect("deserialize stored token");
    assert_eq!(&back, token, "token changed through storage: {stored}");
}
