//! ID token validation (OIDC Core 3.1.3.7): `id_token::IdTokenValidator::validate` with the
//! fixed JWK Set (RSA, P-256, Ed25519) and client secret (`HS*`), for plain JWS tokens and
//! for encrypted ones (RSA and EC decryption keys), and `validate_refreshed` against the
//! original claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::id_token::IdTokenValidator;
use rpkit::jose::{AlgPolicy, Algorithm};
use rpkit::secret::{AccessToken, AuthorizationCode};
use rpkit::{Claims, UnixTime};
use rpkit_fuzz::{fixture, id_token_claims, ACCESS_TOKEN, CLIENT_ID, CODE, ISSUER, NONCE, NOW};
use std::sync::OnceLock;

struct Validators {
    plain: IdTokenValidator,
    strict: IdTokenValidator,
    rsa: IdTokenValidator,
    ec: IdTokenValidator,
    original: Claims,
}

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(|| {
        let fx = fixture();
        let base = IdTokenValidator::new(ISSUER, CLIENT_ID)
            .algorithms(AlgPolicy::from_algorithms(Algorithm::ALL))
            .hmac_secret(fx.secret.clone())
            .nonce(NONCE);
        let strict = base
            .clone()
            .max_age(3600)
            .access_token(&AccessToken::new(ACCESS_TOKEN))
            .code(&AuthorizationCode::new(CODE))
            .require_at_hash(true)
            .require_c_hash(true);
        let original = serde_json::from_value(id_token_claims()).expect("claims");
        Validators {
            rsa: base.clone().decryption_key(fx.dec_rsa.clone()),
            ec: base.clone().decryption_key(fx.dec_ec.clone()),
            plain: base,
            strict,
            original,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(compact) = rpkit_fuzz::text(data) else { return };
    let v = validators();
    let keys = &fixture().jwks;
    for validator in [&v.plain, &v.strict, &v.rsa, &v.ec] {
        if let Ok(claims) = validator.validate(compact, keys, NOW) {
            check(&claims, NOW, true);
        }
    }
    for validator in [&v.plain, &v.rsa] {
        if let Ok(claims) = validator.validate_refreshed(&v.original, compact, keys, NOW) {
            check(&claims, NOW, false);
            assert_eq!(claims.sub(), v.original.sub());
        }
    }
});

/// What every accepted ID token must satisfy, whatever path it took.
fn check(claims: &Claims, now: UnixTime, fresh: bool) {
    assert_eq!(claims.iss(), Some(ISSUER));
    assert!(claims.audiences().is_some_and(|a| a.contains(&CLIENT_ID)));
    assert!(claims.sub().is_some_and(|s| !s.is_empty()));
    let leeway = rpkit::config::DEFAULT_LEEWAY;
    assert!(claims.exp().is_some_and(|exp| exp.saturating_add(leeway) > now.as_secs()));
    assert!(claims.iat().is_some_and(|iat| iat <= now.as_secs() + leeway));
    assert!(claims.get("events").is_none());
    if fresh {
        assert_eq!(claims.nonce(), Some(NONCE));
    }
}
