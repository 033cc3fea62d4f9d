//! JWE compact serialization: `jose::jwe::decrypt` with a fixed RSA key (RSA-OAEP,
//! RSA-OAEP-256) and a fixed P-256 key (ECDH-ES, ECDH-ES+A*KW), as encrypted ID tokens,
//! UserInfo responses and logout tokens reach it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::jose::{is_jwe, jwe};
use rpkit_fuzz::fixture;

fuzz_target!(|data: &[u8]| {
    let Some(compact) = rpkit_fuzz::text(data) else { return };
    let fx = fixture();
    for key in [&fx.dec_rsa, &fx.dec_ec] {
        if let Ok(plaintext) = jwe::decrypt(compact, key) {
            assert!(is_jwe(compact));
            // Decryption is a function of the input: the same bytes decrypt the same way.
            assert_eq!(jwe::decrypt(compact, key).ok(), Some(plaintext));
        }
    }
});
