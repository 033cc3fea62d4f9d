//! A provider's JWK Set: `jwks::JwkSet::parse` over the raw input and
//! `JwkSet::from_response` over the framed one, then key selection for every algorithm
//! and signature verification of fixed tokens with whatever keys were accepted (so odd
//! RSA moduli, EC points and Ed25519 keys reach the crypto backend).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::jose::{verify_jws, AlgPolicy, Algorithm};
use rpkit::jwks::JwkSet;

fuzz_target!(|data: &[u8]| {
    let parsed = JwkSet::parse(data);
    let from_response = JwkSet::from_response(&rpkit_fuzz::response(data));
    for set in [parsed, from_response].into_iter().flatten() {
        assert!(!set.is_empty());
        assert_eq!(set.len(), set.keys().len());
        for alg in Algorithm::ALL {
            if let Ok(key) = set.select(None, alg) {
                assert!(key.fits(alg));
            }
            for key in set.keys() {
                let Some(kid) = key.kid() else { continue };
                assert!(set.contains_kid(kid));
                if let Ok(found) = set.select(Some(kid), alg) {
                    assert_eq!(found.kid(), Some(kid));
                    assert!(found.fits(alg));
                }
            }
        }
        let policy = AlgPolicy::public_key_algorithms();
        for token in &rpkit_fuzz::fixture().id_tokens {
            if let Ok(verified) = verify_jws(token, &set, &policy, None) {
                assert!(!verified.header.alg.is_hmac());
            }
        }
    }
});
