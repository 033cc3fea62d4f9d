//! Provider metadata (OIDC Discovery / RFC 8414): `discovery::parse_metadata` against the
//! expected issuer (and an empty one, which nothing may match), `MetadataCache::from_response` and `cache_max_age` over the
//! input's headers, then what the client derives from the metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::discovery::{
    cache_max_age, effective_id_token_algs, parse_metadata, Endpoints, MetadataCache, MAX_METADATA_MAX_AGE,
};
use rpkit::id_token::IdTokenValidator;
use rpkit_fuzz::{config, ISSUER, NOW};

fuzz_target!(|data: &[u8]| {
    let response = rpkit_fuzz::response(data);
    let max_age = cache_max_age(response.headers());
    assert!(max_age <= MAX_METADATA_MAX_AGE);

    let checked = parse_metadata(&response, ISSUER);
    if let Ok(md) = &checked {
        assert_eq!(md.issuer, ISSUER, "issuer mismatch accepted");
    }
    // No way to skip the comparison: an empty expectation matches nothing.
    assert!(parse_metadata(&response, "").is_err(), "metadata accepted without an issuer to compare");
    let cached = MetadataCache::from_response(&response, ISSUER, NOW);
    assert_eq!(checked.is_ok(), cached.is_ok());
    let Ok(cache) = cached else { return };
    assert!(response.status().is_success());
    assert_eq!(cache.max_age, max_age);
    assert_eq!(cache.refresh_at(), NOW.plus(max_age));
    let md = &cache.metadata;

    // The cache is stored between processes: serde must round-trip it.
    let stored = serde_json::to_string(&cache).expect("serialize metadata cache");
    let back: MetadataCache = serde_json::from_str(&stored).expect("deserialize stored metadata cache");
    assert_eq!(back, cache, "metadata changed through storage: {stored}");

    // What a client derives from it.
    let cfg = config();
    let bare = rpkit::ClientConfig::new("op").client_id("c");
    for cfg in [&cfg, &bare] {
        let endpoints = Endpoints::resolve(cfg, Some(md));
        let _ = endpoints.require_token(cfg);
        let _ = endpoints.require_userinfo(cfg);
        let _ = endpoints.require_jwks_uri(cfg);
        let _ = endpoints.require_end_session(cfg);
        let algs = effective_id_token_algs(cfg, Some(md), &["RS256", "ES256", "EdDSA", "HS256"]);
        assert!(!algs.is_empty());
        assert!(algs.iter().all(|a| !a.eq_ignore_ascii_case("none")));
        if let Ok(v) = IdTokenValidator::from_config(cfg, Some(md)) {
            let _ = v.allowed_algorithms();
        }
    }
    let _ = md.supports_id_token_alg("RS256");
    let _ = md.backchannel_logout_session_supported();
});
