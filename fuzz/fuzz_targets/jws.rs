//! JWS compact serialization: `jose::jws::peek_header` and `jose::verify_jws` against the
//! fixed JWK Set (RSA, P-256, Ed25519) and client secret (`HS*`) under several policies.
//!
//! Beyond "no panic": whatever verifies must carry the very signature our key makes over
//! that signing input (RS256, EdDSA and HMAC signatures are deterministic), and the
//! header `verify_jws` reports must be the one `peek_header` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::jose::jws::peek_header;
use rpkit::jose::{b64, verify_jws, AlgPolicy, Algorithm};
use rpkit_fuzz::{all_signing_keys, fixture};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    let Some(compact) = rpkit_fuzz::text(data) else { return };
    let fx = fixture();
    let peeked = peek_header(compact);
    let everything = AlgPolicy::from_algorithms(Algorithm::ALL);
    let cases = [
        (AlgPolicy::default(), None),
        (AlgPolicy::public_key_algorithms(), Some(&fx.secret)),
        (everything, Some(&fx.secret)),
        (everything, None),
    ];
    for (policy, secret) in cases {
        let Ok(verified) = verify_jws(compact, &fx.jwks, &policy, secret) else { continue };
        let alg = verified.header.alg;
        assert!(policy.allows(alg), "{alg} verified outside the policy");
        assert!(!alg.is_hmac() || secret.is_some());
        assert_eq!(peeked.as_ref().ok(), Some(&verified.header));
        let _ = verified.claims();
        check_signature(compact, alg);
    }
});

/// The signature of a verified JWS is exactly the one our key makes, for deterministic
/// algorithms: anything else verified by mistake.
fn check_signature(compact: &str, alg: Algorithm) {
    static KEYS: OnceLock<Vec<rpkit::jose::sign::SigningKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(all_signing_keys);
    let name = match alg {
        Algorithm::Rs256 | Algorithm::EdDsa | Algorithm::Hs256 => alg.name(),
        _ => return,
    };
    let (input, signature) = compact.rsplit_once('.').expect("verified JWS has three parts");
    let signature = b64::decode(signature).expect("verified signature is base64url");
    let key = keys.iter().find(|k| k.algorithm().as_str() == name).expect("a fixture key signs every verified alg");
    let expected = key.sign(input.as_bytes()).expect("sign");
    assert_eq!(signature, expected, "{name} signature verified but is not the one the key makes");
}
