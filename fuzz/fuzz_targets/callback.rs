//! The authorization response as the browser brings it back: a query string
//! (`CallbackParams::from_query`) or a `form_post` body (`from_form_body`), then
//! `validate_callback` against a session holding one pending authorization whose `state`
//! the input may or may not carry, with no metadata and with metadata that does or does
//! not advertise RFC 9207 `iss`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::callback::{validate_callback, CallbackParams};
use rpkit::{Error, StateError};
use rpkit_fuzz::{config, metadata, pending_set, ISSUER, NOW, STATE};

fuzz_target!(|data: &[u8]| {
    let config = config();
    let with_iss = metadata(true);
    let without_iss = metadata(false);
    let mut parsed = vec![CallbackParams::from_form_body(data)];
    if let Some(query) = rpkit_fuzz::text(data) {
        parsed.push(CallbackParams::from_query(query));
    }
    for params in parsed {
        let Ok(params) = params else { continue };
        let _ = format!("{params:?}");
        for md in [None, Some(&with_iss), Some(&without_iss)] {
            let mut session = pending_set();
            let outcome = validate_callback(&params, &mut session, &config, md, NOW);
            if let Ok(ok) = &outcome {
                // Whatever passed must be what the checks promise.
                assert_eq!(params.state(), Some(STATE));
                assert!(params.error().is_none());
                assert_eq!(Some(ok.code.secret()), params.code());
                assert!(!ok.code.secret().is_empty());
                assert!(params.iss().is_none_or(|iss| iss == ISSUER));
                assert!(!params.contains("id_token") && !params.contains("access_token"));
                assert!(session.is_empty());
            }
            if params.state() != Some(STATE) {
                assert!(matches!(outcome, Err(Error::State(_))), "unsolicited callback accepted: {outcome:?}");
            }
            // Single use: the same callback never passes twice.
            let again = validate_callback(&params, &mut session, &config, md, NOW);
            assert!(
                matches!(again, Err(Error::State(StateError::Missing | StateError::Unknown { .. }))),
                "replayed callback: {again:?}"
            );
        }
    }
});
