//! Logout: the back-channel logout POST body (`logout::parse_backchannel_request`), the
//! logout token in it — or the whole input as a token — validated by
//! `logout::validate_logout_token` (fixed JWK Set and client secret; plain and encrypted
//! with the RSA and EC keys; with a `jti` replay cache), and the RP-initiated logout
//! redirect's query (`logout::validate_logout_response`) against a session holding one
//! pending logout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::jose::{AlgPolicy, Algorithm};
use rpkit::logout::{
    parse_backchannel_request, validate_logout_response, validate_logout_token, BackchannelLogoutValidator,
    LogoutTarget, PendingLogout, SeenJtis,
};
use rpkit::secret::Nonce;
use rpkit::{Error, StateError};
use rpkit_fuzz::{fixture, CLIENT_ID, CLIENT_NAME, ISSUER, NOW, STATE};
use std::sync::OnceLock;

fn validators() -> &'static [BackchannelLogoutValidator; 3] {
    static V: OnceLock<[BackchannelLogoutValidator; 3]> = OnceLock::new();
    V.get_or_init(|| {
        let fx = fixture();
        let plain = BackchannelLogoutValidator::new(ISSUER, CLIENT_ID)
            .policy(AlgPolicy::from_algorithms(Algorithm::ALL))
            .hmac_secret(fx.secret.clone());
        [plain.clone(), plain.clone().decryption_key(fx.dec_rsa.clone()), plain.decryption_key(fx.dec_ec.clone())]
    })
}

fuzz_target!(|data: &[u8]| {
    let from_body = parse_backchannel_request(data);
    if let Ok(token) = &from_body {
        assert!(!token.is_empty());
        tokens(token);
    }
    if let Some(text) = rpkit_fuzz::text(data) {
        if from_body.is_err() {
            tokens(text);
        }
        response(text);
    }
});

fn tokens(compact: &str) {
    let keys = &fixture().jwks;
    for validator in validators() {
        let mut jtis = SeenJtis::new(16);
        match validate_logout_token(compact, validator, keys, NOW, Some(&mut jtis)) {
            Ok(target) => {
                check(&target);
                // The same token again is a replay.
                let again = validate_logout_token(compact, validator, keys, NOW, Some(&mut jtis));
                assert!(
                    matches!(again, Err(Error::Logout(rpkit::logout::LogoutError::Replay))),
                    "replayed logout token: {again:?}"
                );
            }
            Err(_) => assert!(jtis.is_empty(), "a rejected token's jti was recorded"),
        }
    }
}

fn check(target: &LogoutTarget) {
    assert!(target.sub.is_some() || target.sid.is_some());
    assert!(!target.jti.is_empty());
    assert_eq!(target.claims.iss(), Some(ISSUER));
    assert!(target.claims.audiences().is_some_and(|a| a.contains(&CLIENT_ID)));
    assert!(target.claims.get("nonce").is_none());
    assert!(target.matches(target.sub.as_deref(), target.sid.as_deref()));
}

fn response(query: &str) {
    let pending = PendingLogout {
        client: CLIENT_NAME.into(),
        state: Nonce::new(STATE),
        post_logout_redirect_uri: "https://client.example.org/logged-out".into(),
        created_at: NOW.minus(30),
    };
    let mut session = rpkit::logout::PendingLogouts::new();
    session.insert(pending.clone(), 8);
    match validate_logout_response(query, &mut session, NOW, 600) {
        Ok(found) => {
            assert_eq!(found, pending);
            assert!(session.is_empty());
            let again = validate_logout_response(query, &mut session, NOW, 600);
            assert!(matches!(again, Err(Error::State(StateError::Unknown { session_empty: true }))));
        }
        Err(Error::State(StateError::Unknown { .. })) => assert_eq!(session.len(), 1),
        Err(_) => {}
    }
}
