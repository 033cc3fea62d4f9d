//! Every check of OIDC Core §3.1.3.7 with a positive and a negative case.

use super::*;
use crate::config::ClientConfig;
use crate::jose::jwe::tests::{encrypt, key as decryption_key};
use crate::jose::testkeys::{Signer, P256_PEM, RSA1_PEM};
use crate::secret::PrivateKeyMaterial;
use proptest::prelude::*;
use serde_json::{json, Value};

const ISS: &str = "https://op.example";
const CLIENT: &str = "client-1";
const NOW: u64 = 1_700_000_000;
const NONCE: &str = "n-0S6_WzA2Mj";

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "248289761001", "aud": CLIENT,
        "exp": NOW + 300, "iat": NOW - 10, "auth_time": NOW - 100, "nonce": NONCE,
    })
}

fn with(mut c: Value, name: &str, value: Value) -> Value {
    c[name] = value;
    c
}

fn without(mut c: Value, name: &str) -> Value {
    c.as_object_mut().unwrap().remove(name);
    c
}

fn validator() -> IdTokenValidator {
    IdTokenValidator::new(ISS, CLIENT).algorithms(AlgPolicy::public_key_algorithms()).nonce(NONCE)
}

fn rs() -> Signer {
    Signer::rsa(1, Algorithm::Rs256)
}

fn check_with(v: &IdTokenValidator, s: &Signer, c: &Value) -> Result<Claims, Error> {
    v.validate(&s.sign(c), &s.jwks(), now())
}

fn check(c: Value) -> Result<Claims, Error> {
    check_with(&validator(), &rs(), &c)
}

#[track_caller]
fn id_err(r: Result<Claims, Error>) -> IdTokenError {
    match r {
        Err(Error::IdToken(e)) => e,
        other => panic!("expected an ID token error, got {other:?}"),
    }
}

#[track_caller]
fn jose_err(r: Result<Claims, Error>) -> JoseError {
    match r {
        Err(Error::Jose(e)) => e,
        other => panic!("expected a JOSE error, got {other:?}"),
    }
}

// --- signature and algorithm ---

#[test]
fn a_valid_token_returns_its_claims() {
    let c = check(claims()).unwrap();
    assert_eq!(c.sub(), Some("248289761001"));
    assert_eq!(c.nonce(), Some(NONCE));
}

#[test]
fn every_public_key_algorithm_validates() {
    for s in [
        Signer::rsa(2, Algorithm::Ps256),
        Signer::rsa(3, Algorithm::Rs512),
        Signer::es256(),
        Signer::es384(),
        Signer::es512(),
        Signer::ed25519(4),
    ] {
        check_with(&validator(), &s, &claims()).unwrap_or_else(|e| panic!("{}: {e}", s.alg));
    }
}

#[test]
fn a_signature_from_another_key_is_rejected() {
    let token = Signer::rsa(2, Algorithm::Rs256).with_kid(Some("rsa1")).sign(&claims());
    let err = id_err(validator().validate(&token, &rs().jwks(), now()));
    assert_eq!(err, IdTokenError::Signature);
}

#[test]
fn a_tampered_claim_breaks_the_signature() {
    let s = rs();
    let token = s.sign(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64::encode(with(claims(), "sub", json!("admin")).to_string().as_bytes());
    let err = id_err(validator().validate(&parts.join("."), &s.jwks(), now()));
    assert_eq!(err, IdTokenError::Signature);
}

#[test]
fn an_algorithm_outside_the_allow_list_is_rejected() {
    let v = IdTokenValidator::new(ISS, CLIENT).nonce(NONCE);
    assert!(check_with(&v, &rs(), &claims()).is_ok());
    let err = id_err(check_with(&v, &Signer::es256(), &claims()));
    assert_eq!(err, IdTokenError::Algorithm { alg: "ES256".into() });
}

#[test]
fn alg_none_is_rejected() {
    let h = b64::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let token = format!("{h}.{}.", b64::encode(claims().to_string().as_bytes()));
    let err = id_err(validator().validate(&token, &rs().jwks(), now()));
    assert_eq!(err, IdTokenError::Algorithm { alg: "none".into() });
}

#[test]
fn hmac_is_rejected_unless_the_client_lists_it() {
    let s = Signer::hmac(Algorithm::Hs256, "client-secret-of-the-rp");
    let v = validator().hmac_secret(ClientSecret::new("client-secret-of-the-rp"));
    assert_eq!(id_err(check_with(&v, &s, &claims())), IdTokenError::Algorithm { alg: "HS256".into() });

    let cfg = ClientConfig::new("c")
        .client_id(CLIENT)
        .issuer(ISS)
        .client_secret("client-secret-of-the-rp")
        .id_token_algs(["HS256"]);
    let v = IdTokenValidator::from_config(&cfg, None).unwrap().nonce(NONCE);
    assert!(check_with(&v, &s, &claims()).is_ok());
    let wrong = Signer::hmac(Algorithm::Hs256, "guessed");
    assert_eq!(id_err(check_with(&v, &wrong, &claims())), IdTokenError::Signature);
}

#[test]
fn metadata_algorithms_are_intersected_and_never_enable_hmac() {
    let cfg = ClientConfig::new("c").client_id(CLIENT).issuer(ISS).client_secret("secret");
    let meta = ProviderMetadata {
        issuer: ISS.into(),
        id_token_signing_alg_values_supported: Some(vec!["ES256".into(), "HS256".into(), "none".into(), "X".into()]),
        ..Default::default()
    };
    let v = IdTokenValidator::from_config(&cfg, Some(&meta)).unwrap();
    assert_eq!(v.allowed_algorithms().algorithms().collect::<Vec<_>>(), [Algorithm::Es256]);
    let v = v.nonce(NONCE);
    assert!(check_with(&v, &Signer::es256(), &claims()).is_ok());
    let hs = Signer::hmac(Algorithm::Hs256, "secret");
    assert_eq!(id_err(check_with(&v, &hs, &claims())), IdTokenError::Algorithm { alg: "HS256".into() });
}

#[test]
fn the_default_algorithm_is_rs256() {
    let cfg = ClientConfig::new("c").client_id(CLIENT).issuer(ISS);
    let v = IdTokenValidator::from_config(&cfg, None).unwrap();
    assert_eq!(v.allowed_algorithms(), AlgPolicy::default());
}

// --- what kind of JWT ---

#[test]
fn a_logout_token_typ_is_not_an_id_token() {
    let s = rs();
    let header = json!({"alg": "RS256", "kid": "rsa1", "typ": "logout+jwt"});
    let token = s.sign_with_header(&header, claims().to_string().as_bytes());
    assert_eq!(id_err(validator().validate(&token, &s.jwks(), now())), IdTokenError::NotAnIdToken);
    let jwt =
        s.sign_with_header(&json!({"alg": "RS256", "kid": "rsa1", "typ": "JWT"}), claims().to_string().as_bytes());
    assert!(validator().validate(&jwt, &s.jwks(), now()).is_ok());
}

#[test]
fn access_tokens_and_security_events_are_not_id_tokens() {
    let s = rs();
    for typ in ["at+jwt", "application/at+jwt", "Application/Logout+JWT", "secevent+jwt"] {
        let header = json!({"alg": "RS256", "kid": "rsa1", "typ": typ});
        let token = s.sign_with_header(&header, claims().to_string().as_bytes());
        assert_eq!(id_err(validator().validate(&token, &s.jwks(), now())), IdTokenError::NotAnIdToken, "{typ}");
    }
    // Multi-byte characters around the prefix length must not panic.
    for typ in ["JWT", "jwt", "application/jwt", "application/", "a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"] {
        let header = json!({"alg": "RS256", "kid": "rsa1", "typ": typ});
        let token = s.sign_with_header(&header, claims().to_string().as_bytes());
        assert!(validator().validate(&token, &s.jwks(), now()).is_ok(), "{typ}");
    }
}

#[test]
fn an_events_claim_is_not_an_id_token() {
    let c = with(claims(), "events", json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    assert_eq!(id_err(check(c)), IdTokenError::NotAnIdToken);
}

#[test]
fn a_payload_that_is_not_a_json_object_is_malformed() {
    let s = rs();
    let token = s.sign_with_header(&s.header(), b"[1,2]");
    assert!(matches!(jose_err(validator().validate(&token, &s.jwks(), now())), JoseError::Malformed { .. }));
}

// --- iss ---

#[test]
fn the_issuer_must_match_exactly() {
    let err = id_err(check(with(claims(), "iss", json!("https://op.example/"))));
    assert_eq!(err, IdTokenError::Issuer { expected: ISS.into(), found: "https://op.example/".into() });
    let err = id_err(check(with(claims(), "iss", json!("https://evil.example"))));
    assert!(matches!(err, IdTokenError::Issuer { .. }));
}

#[test]
fn a_missing_issuer_is_rejected() {
    assert_eq!(id_err(check(without(claims(), "iss"))), IdTokenError::MissingClaim { name: "iss" });
    assert_eq!(id_err(check(with(claims(), "iss", json!(1)))), IdTokenError::MissingClaim { name: "iss" });
}

// --- aud / azp ---

#[test]
fn aud_as_a_string_or_an_array_containing_the_client_is_accepted() {
    assert!(check(with(claims(), "aud", json!([CLIENT]))).is_ok());
    let c = with(with(claims(), "aud", json!([CLIENT, "other"])), "azp", json!(CLIENT));
    assert!(check(c).is_ok());
}

#[test]
fn aud_without_the_client_is_rejected() {
    assert_eq!(id_err(check(with(claims(), "aud", json!("other")))), IdTokenError::Audience);
    assert_eq!(id_err(check(with(claims(), "aud", json!(["a", "b"])))), IdTokenError::Audience);
    assert_eq!(id_err(check(with(claims(), "aud", json!([])))), IdTokenError::Audience);
    assert_eq!(id_err(check(with(claims(), "aud", json!("client-10")))), IdTokenError::Audience);
}

#[test]
fn aud_of_the_wrong_type_is_rejected() {
    assert_eq!(id_err(check(with(claims(), "aud", json!(5)))), IdTokenError::Audience);
    assert_eq!(id_err(check(with(claims(), "aud", json!([CLIENT, 5])))), IdTokenError::Audience);
    assert_eq!(id_err(check(without(claims(), "aud"))), IdTokenError::MissingClaim { name: "aud" });
}

#[test]
fn several_audiences_require_azp() {
    let c = with(claims(), "aud", json!([CLIENT, "other"]));
    assert_eq!(id_err(check(c)), IdTokenError::AuthorizedParty);
}

#[test]
fn azp_must_be_the_client() {
    assert!(check(with(claims(), "azp", json!(CLIENT))).is_ok());
    assert_eq!(id_err(check(with(claims(), "azp", json!("other")))), IdTokenError::AuthorizedParty);
    let c = with(with(claims(), "aud", json!([CLIENT, "other"])), "azp", json!("other"));
    assert_eq!(id_err(check(c)), IdTokenError::AuthorizedParty);
    assert_eq!(id_err(check(with(claims(), "azp", json!(null)))), IdTokenError::AuthorizedParty);
}

// --- exp / iat / nbf ---

#[test]
fn exp_is_required() {
    assert_eq!(id_err(check(without(claims(), "exp"))), IdTokenError::MissingClaim { name: "exp" });
    assert_eq!(id_err(check(with(claims(), "exp", json!("soon")))), IdTokenError::MissingClaim { name: "exp" });
}

#[test]
fn exp_in_the_past_beyond_the_leeway_is_expired() {
    assert!(check(with(claims(), "exp", json!(NOW - 59))).is_ok());
    assert_eq!(id_err(check(with(claims(), "exp", json!(NOW - 60)))), IdTokenError::Expired);
    let strict = validator().leeway(0);
    assert!(check_with(&strict, &rs(), &with(claims(), "exp", json!(NOW + 1))).is_ok());
    assert_eq!(id_err(check_with(&strict, &rs(), &with(claims(), "exp", json!(NOW)))), IdTokenError::Expired);
}

#[test]
fn iat_is_required() {
    assert_eq!(id_err(check(without(claims(), "iat"))), IdTokenError::MissingClaim { name: "iat" });
}

#[test]
fn iat_in_the_future_beyond_the_leeway_is_rejected() {
    assert!(check(with(claims(), "iat", json!(NOW + 60))).is_ok());
    assert_eq!(id_err(check(with(claims(), "iat", json!(NOW + 61)))), IdTokenError::IssuedInFuture);
}

#[test]
fn iat_older_than_the_maximum_age_is_rejected() {
    assert!(check(with(claims(), "iat", json!(NOW - 660))).is_ok());
    assert_eq!(id_err(check(with(claims(), "iat", json!(NOW - 661)))), IdTokenError::IssuedTooLongAgo);
    let v = validator().max_iat_age(3600);
    assert!(check_with(&v, &rs(), &with(claims(), "iat", json!(NOW - 3000))).is_ok());
}

#[test]
fn nbf_in_the_future_beyond_the_leeway_is_rejected() {
    assert!(check(with(claims(), "nbf", json!(NOW + 60))).is_ok());
    assert_eq!(id_err(check(with(claims(), "nbf", json!(NOW + 61)))), IdTokenError::NotYetValid);
    assert_eq!(id_err(check(with(claims(), "nbf", json!("x")))), IdTokenError::MissingClaim { name: "nbf" });
}

#[test]
fn fractional_times_are_accepted() {
    assert!(check(with(claims(), "iat", json!((NOW - 10) as f64 + 0.5))).is_ok());
}

// --- sub ---

#[test]
fn sub_is_required_and_a_non_empty_string() {
    assert_eq!(id_err(check(without(claims(), "sub"))), IdTokenError::MissingClaim { name: "sub" });
    assert_eq!(id_err(check(with(claims(), "sub", json!("")))), IdTokenError::MissingClaim { name: "sub" });
    assert_eq!(id_err(check(with(claims(), "sub", json!(42)))), IdTokenError::MissingClaim { name: "sub" });
}

// --- nonce ---

#[test]
fn the_nonce_must_match_the_request() {
    assert_eq!(id_err(check(with(claims(), "nonce", json!("replayed")))), IdTokenError::Nonce);
    assert_eq!(id_err(check(with(claims(), "nonce", json!(1)))), IdTokenError::MissingClaim { name: "nonce" });
}

#[test]
fn a_nonce_sent_must_come_back() {
    assert_eq!(id_err(check(without(claims(), "nonce"))), IdTokenError::MissingClaim { name: "nonce" });
}

#[test]
fn without_an_expected_nonce_the_claim_is_not_needed() {
    let v = IdTokenValidator::new(ISS, CLIENT);
    assert!(check_with(&v, &rs(), &without(claims(), "nonce")).is_ok());
}

// --- at_hash / c_hash ---

#[test]
fn at_hash_matching_the_access_token_is_accepted() {
    let at = AccessToken::new("jHkWEdUXMU1BwAsC4vtUsZwnNnQe");
    let c = with(claims(), "at_hash", json!("ZCSLNjiUkpC-CO0xqyEDTQ"));
    assert!(check_with(&validator().access_token(&at), &rs(), &c).is_ok());
    // Padding is tolerated.
    let padded = with(claims(), "at_hash", json!("ZCSLNjiUkpC-CO0xqyEDTQ=="));
    assert!(check_with(&validator().access_token(&at), &rs(), &padded).is_ok());
}

#[test]
fn at_hash_of_another_token_is_rejected() {
    let at = AccessToken::new("another-access-token");
    let c = with(claims(), "at_hash", json!("ZCSLNjiUkpC-CO0xqyEDTQ"));
    assert_eq!(id_err(check_with(&validator().access_token(&at), &rs(), &c)), IdTokenError::AtHash);
    let garbage = with(claims(), "at_hash", json!("!!"));
    assert_eq!(id_err(check_with(&validator().access_token(&at), &rs(), &garbage)), IdTokenError::AtHash);
    let number = with(claims(), "at_hash", json!(7));
    assert_eq!(id_err(check_with(&validator().access_token(&at), &rs(), &number)), IdTokenError::AtHash);
}

#[test]
fn at_hash_uses_the_hash_of_the_algorithm() {
    let at = AccessToken::new("token-value");
    for s in [Signer::es384(), Signer::ed25519(1), Signer::rsa(1, Algorithm::Ps256)] {
        let c = with(claims(), "at_hash", json!(left_half_hash(s.alg, "token-value")));
        assert!(check_with(&validator().access_token(&at), &s, &c).is_ok(), "{}", s.alg);
        // The SHA-256 value is wrong for SHA-384/512 algorithms.
        if s.alg.hash() != Algorithm::Rs256.hash() {
            let c = with(claims(), "at_hash", json!(left_half_hash(Algorithm::Rs256, "token-value")));
            assert_eq!(id_err(check_with(&validator().access_token(&at), &s, &c)), IdTokenError::AtHash);
        }
    }
    // EdDSA with Ed25519 hashes with SHA-512: 32 bytes of it.
    assert_eq!(b64::decode(&left_half_hash(Algorithm::EdDsa, "x")).unwrap().len(), 32);
}

#[test]
fn at_hash_may_be_absent_unless_required() {
    let at = AccessToken::new("token-value");
    assert!(check_with(&validator().access_token(&at), &rs(), &claims()).is_ok());
    let v = validator().access_token(&at).require_at_hash(true);
    assert_eq!(id_err(check_with(&v, &rs(), &claims())), IdTokenError::MissingClaim { name: "at_hash" });
}

#[test]
fn c_hash_must_match_the_code() {
    let code = AuthorizationCode::new("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk");
    let good = with(claims(), "c_hash", json!("LDktKdoQak3Pk0cnXxCltA"));
    assert!(check_with(&validator().code(&code), &rs(), &good).is_ok());
    let bad = with(claims(), "c_hash", json!(left_half_hash(Algorithm::Rs256, "other-code")));
    assert_eq!(id_err(check_with(&validator().code(&code), &rs(), &bad)), IdTokenError::CHash);
    let v = validator().code(&code).require_c_hash(true);
    assert_eq!(id_err(check_with(&v, &rs(), &claims())), IdTokenError::MissingClaim { name: "c_hash" });
}

// --- essential acr ---

#[test]
fn an_acr_outside_the_essential_values_is_rejected() {
    let v = validator().essential_acr(vec!["urn:mace:incommon:iap:silver".into(), "phr".into()]);
    let s = rs();
    assert!(check_with(&v, &s, &with(claims(), "acr", json!("phr"))).is_ok());
    assert_eq!(id_err(check_with(&v, &s, &with(claims(), "acr", json!("0")))), IdTokenError::Acr);
    assert_eq!(id_err(check_with(&v, &s, &claims())), IdTokenError::Acr, "absent");
    assert_eq!(id_err(check_with(&v, &s, &with(claims(), "acr", json!(["phr"])))), IdTokenError::Acr, "not a string");
    // Nothing essential asked: any acr is fine.
    assert!(check_with(&validator(), &s, &with(claims(), "acr", json!("0"))).is_ok());
}

// --- auth_time / max_age ---

#[test]
fn max_age_requires_auth_time() {
    let v = validator().max_age(600);
    assert_eq!(
        id_err(check_with(&v, &rs(), &without(claims(), "auth_time"))),
        IdTokenError::MissingClaim { name: "auth_time" }
    );
    assert!(check_with(&validator(), &rs(), &without(claims(), "auth_time")).is_ok());
}

#[test]
fn auth_time_older_than_max_age_is_rejected() {
    let v = validator().max_age(600);
    assert!(check_with(&v, &rs(), &with(claims(), "auth_time", json!(NOW - 660))).is_ok());
    assert_eq!(id_err(check_with(&v, &rs(), &with(claims(), "auth_time", json!(NOW - 661)))), IdTokenError::AuthTime);
    assert_eq!(id_err(check_with(&v, &rs(), &with(claims(), "auth_time", json!(NOW + 61)))), IdTokenError::AuthTime);
}

// --- keys ---

#[test]
fn an_unknown_kid_surfaces_distinctly_for_a_refetch() {
    let token = Signer::rsa(2, Algorithm::Rs256).sign(&claims());
    let err = validator().validate(&token, &rs().jwks(), now()).unwrap_err();
    assert_eq!(err, Error::Jose(JoseError::UnknownKid { kid: "rsa2".into() }));
    assert!(should_refetch_jwks(&err));
    // After the refetch the new key is there.
    let keys = JwkSet::from_keys(vec![rs().jwk(), Signer::rsa(2, Algorithm::Rs256).jwk()]);
    assert!(validator().validate(&token, &keys, now()).is_ok());
}

#[test]
fn a_bad_signature_never_asks_for_a_refetch() {
    let token = Signer::rsa(2, Algorithm::Rs256).with_kid(Some("rsa1")).sign(&claims());
    let err = validator().validate(&token, &rs().jwks(), now()).unwrap_err();
    assert!(!should_refetch_jwks(&err));
}

#[test]
fn the_right_key_is_found_by_kid_among_several() {
    let keys = JwkSet::from_keys(vec![
        Signer::rsa(1, Algorithm::Rs256).jwk(),
        Signer::rsa(2, Algorithm::Rs256).jwk(),
        Signer::rsa(3, Algorithm::Rs256).jwk(),
    ]);
    let token = Signer::rsa(3, Algorithm::Rs256).sign(&claims());
    assert!(validator().validate(&token, &keys, now()).is_ok());
    let no_kid = Signer::rsa(3, Algorithm::Rs256).with_kid(None).sign(&claims());
    assert_eq!(jose_err(validator().validate(&no_kid, &keys, now())), JoseError::AmbiguousKey);
}

// --- encryption ---

#[test]
fn an_encrypted_id_token_is_decrypted_then_validated() {
    let inner = Signer::es256().sign(&claims());
    let v = validator().decryption_key(decryption_key(RSA1_PEM));
    for alg in ["RSA-OAEP", "RSA-OAEP-256"] {
        let jwe = encrypt(inner.as_bytes(), RSA1_PEM, alg, "A128CBC-HS256");
        let c = v.validate(&jwe, &Signer::es256().jwks(), now()).unwrap();
        assert_eq!(c.sub(), Some("248289761001"));
    }
    let v = validator().decryption_key(decryption_key(P256_PEM));
    let jwe = encrypt(inner.as_bytes(), P256_PEM, "ECDH-ES+A256KW", "A256GCM");
    assert!(v.validate(&jwe, &Signer::es256().jwks(), now()).is_ok());
}

#[test]
fn the_inner_token_of_a_jwe_is_fully_validated() {
    let inner = Signer::es256().sign(&with(claims(), "aud", json!("someone-else")));
    let jwe = encrypt(inner.as_bytes(), RSA1_PEM, "RSA-OAEP", "A256GCM");
    let v = validator().decryption_key(decryption_key(RSA1_PEM));
    assert_eq!(id_err(v.validate(&jwe, &Signer::es256().jwks(), now())), IdTokenError::Audience);
}

#[test]
fn with_a_decryption_key_an_unencrypted_token_is_rejected() {
    let v = validator().decryption_key(decryption_key(RSA1_PEM));
    assert_eq!(id_err(check_with(&v, &rs(), &claims())), IdTokenError::EncryptionRequired);
}

#[test]
fn without_a_decryption_key_an_encrypted_token_is_rejected() {
    let jwe = encrypt(rs().sign(&claims()).as_bytes(), RSA1_PEM, "RSA-OAEP", "A256GCM");
    assert_eq!(id_err(validator().validate(&jwe, &rs().jwks(), now())), IdTokenError::UnexpectedEncryption);
}

#[test]
fn a_jwe_that_does_not_hold_a_jws_is_malformed() {
    let jwe = encrypt(b"\xff\xfe not a token", RSA1_PEM, "RSA-OAEP", "A256GCM");
    let v = validator().decryption_key(decryption_key(RSA1_PEM));
    assert!(matches!(jose_err(v.validate(&jwe, &rs().jwks(), now())), JoseError::Malformed { .. }));
}

// --- configuration ---

#[test]
fn from_config_takes_issuer_leeway_and_max_iat_age() {
    let json = json!({
        "client_id": CLIENT,
        "server_metadata_url": "https://op.example/.well-known/openid-configuration",
        "client_kwargs": {"leeway": 5, "id_token_max_age": 30},
    });
    let cfg = ClientConfig::from_value("c", &json).unwrap();
    let v = IdTokenValidator::from_config(&cfg, None).unwrap().nonce(NONCE);
    assert_eq!(v.issuer(), ISS);
    assert_eq!(v.client_id(), CLIENT);
    assert!(check_with(&v, &rs(), &with(claims(), "exp", json!(NOW - 4))).is_ok());
    assert_eq!(id_err(check_with(&v, &rs(), &with(claims(), "exp", json!(NOW - 5)))), IdTokenError::Expired);
    assert_eq!(id_err(check_with(&v, &rs(), &with(claims(), "iat", json!(NOW - 36)))), IdTokenError::IssuedTooLongAgo);
}

#[test]
fn from_config_falls_back_to_the_metadata_issuer() {
    let cfg = ClientConfig::new("c").client_id(CLIENT);
    let meta = ProviderMetadata { issuer: ISS.into(), ..Default::default() };
    assert_eq!(IdTokenValidator::from_config(&cfg, Some(&meta)).unwrap().issuer(), ISS);
}

#[test]
fn from_config_needs_a_client_id_and_an_issuer() {
    let err = IdTokenValidator::from_config(&ClientConfig::new("c").issuer(ISS), None).unwrap_err();
    assert!(matches!(err, Error::Config(crate::error::ConfigError::Missing { ref key, .. }) if key == "client_id"));
    let err = IdTokenValidator::from_config(&ClientConfig::new("c").client_id(CLIENT), None).unwrap_err();
    assert!(matches!(err, Error::Config(crate::error::ConfigError::Missing { ref key, .. }) if key == "issuer"));
}

#[test]
fn from_config_loads_the_decryption_key() {
    let cfg = ClientConfig::new("c").client_id(CLIENT).issuer(ISS).decryption_key(PrivateKeyMaterial::new(RSA1_PEM));
    let v = IdTokenValidator::from_config(&cfg, None).unwrap();
    assert_eq!(id_err(check_with(&v, &rs(), &claims())), IdTokenError::EncryptionRequired);
    let bad = ClientConfig::new("c").client_id(CLIENT).issuer(ISS).decryption_key(PrivateKeyMaterial::new("nope"));
    assert!(matches!(
        IdTokenValidator::from_config(&bad, None),
        Err(Error::Jose(JoseError::InvalidDecryptionKey { .. }))
    ));
}

#[test]
fn debug_output_hides_secrets() {
    let v = validator()
        .hmac_secret(ClientSecret::new("the-client-secret"))
        .access_token(&AccessToken::new("the-access-token"))
        .code(&AuthorizationCode::new("the-code"));
    let text = format!("{v:?}");
    for secret in ["the-client-secret", "the-access-token", "the-code", NONCE] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}

#[test]
fn errors_never_contain_the_token() {
    let token = rs().sign(&with(claims(), "aud", json!("other")));
    let err = validator().validate(&token, &rs().jwks(), now()).unwrap_err();
    assert!(!err.to_string().contains(&token[..20]));
}

// --- refresh (§12.2) ---

fn original() -> Claims {
    check(claims()).unwrap()
}

fn refreshed(c: Value) -> Result<Claims, Error> {
    // No nonce is sent with a refresh; the validator for it has none.
    let v = IdTokenValidator::new(ISS, CLIENT).max_age(60);
    v.validate_refreshed(&original(), &rs().sign(&c), &rs().jwks(), now())
}

#[test]
fn a_refreshed_token_with_the_same_identity_is_accepted() {
    assert!(refreshed(claims()).is_ok());
    assert!(refreshed(without(claims(), "nonce")).is_ok());
    // auth_time stays the original's even though max_age has passed since.
    assert!(refreshed(with(claims(), "auth_time", json!(NOW - 100))).is_ok());
}

#[test]
fn a_refreshed_token_for_another_subject_is_rejected() {
    let err = id_err(refreshed(with(claims(), "sub", json!("someone-else"))));
    assert_eq!(err, IdTokenError::RefreshMismatch { claim: "sub" });
}

#[test]
fn a_refreshed_token_with_other_audiences_is_rejected() {
    let c = with(with(claims(), "aud", json!([CLIENT, "other"])), "azp", json!(CLIENT));
    assert!(matches!(id_err(refreshed(c)), IdTokenError::RefreshMismatch { claim: "aud" | "azp" }));
    // The same audience written as an array is the same audience.
    assert!(refreshed(with(claims(), "aud", json!([CLIENT]))).is_ok());
}

#[test]
fn a_refreshed_token_with_another_nonce_is_rejected() {
    let err = id_err(refreshed(with(claims(), "nonce", json!("different"))));
    assert_eq!(err, IdTokenError::RefreshMismatch { claim: "nonce" });
}

#[test]
fn a_refreshed_token_with_another_auth_time_is_rejected() {
    let err = id_err(refreshed(with(claims(), "auth_time", json!(NOW - 5))));
    assert_eq!(err, IdTokenError::RefreshMismatch { claim: "auth_time" });
}

#[test]
fn a_refreshed_token_from_another_issuer_is_rejected() {
    let err = id_err(refreshed(with(claims(), "iss", json!("https://other.example"))));
    assert!(matches!(err, IdTokenError::Issuer { .. }));
}

#[test]
fn a_refreshed_token_is_fully_validated() {
    assert_eq!(id_err(refreshed(with(claims(), "exp", json!(NOW - 100)))), IdTokenError::Expired);
}

// --- realistic shape ---

/// The ~650-byte, 19-member claims used by the benchmarks.
pub(crate) fn large_claims() -> Value {
    json!({
        "iss": ISS, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 10,
        "auth_time": NOW - 100, "nonce": NONCE, "azp": CLIENT, "at_hash": "ZCSLNjiUkpC-CO0xqyEDTQ",
        "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "acr": "urn:mace:incommon:iap:silver",
        "amr": ["pwd", "mfa"], "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
        "email": "janedoe@example.com", "email_verified": true,
        "picture": "https://op.example/users/248289761001/avatar-200x200.jpg",
        "groups": ["engineering", "platform", "on-call", "admins-readonly"],
    })
}

#[test]
fn a_large_realistic_token_validates() {
    let c = large_claims();
    assert_eq!(c.as_object().unwrap().len(), 19);
    let at = AccessToken::new("jHkWEdUXMU1BwAsC4vtUsZwnNnQe");
    let claims = check_with(&validator().access_token(&at), &rs(), &c).unwrap();
    assert_eq!(claims.email(), Some("janedoe@example.com"));
}

proptest! {
    #[test]
    fn validate_never_panics_on_arbitrary_strings(s in "\\PC{0,400}") {
        let _ = validator().validate(&s, &rs().jwks(), now());
        let _ = validator().decryption_key(decryption_key(RSA1_PEM)).validate(&s, &rs().jwks(), now());
    }

    #[test]
    fn validate_never_panics_on_signed_arbitrary_claims(
        iss in prop_oneof![Just(json!(ISS)), any::<i64>().prop_map(|n| json!(n)), "\\PC{0,10}".prop_map(|s| json!(s))],
        aud in prop_oneof![Just(json!(CLIENT)), Just(json!([CLIENT, 1])), Just(json!(null)), Just(json!({}))],
        exp in prop_oneof![any::<u64>().prop_map(|n| json!(n)), any::<f64>().prop_map(|f| json!(f)), Just(json!("x"))],
        iat in prop_oneof![any::<u64>().prop_map(|n| json!(n)), any::<i64>().prop_map(|n| json!(n))],
        extra in "\\PC{0,20}",
    ) {
        let c = json!({"iss": iss, "aud": aud, "exp": exp, "iat": iat, "nbf": iat, "auth_time": exp,
            "sub": extra, "nonce": extra, "at_hash": extra, "c_hash": extra, "azp": extra});
        let v = validator().max_age(u64::MAX).max_iat_age(u64::MAX).leeway(u64::MAX)
            .access_token(&AccessToken::new("a")).code(&AuthorizationCode::new("c"));
        let _ = check_with(&v, &Signer::ed25519(1), &c);
    }
}

// --- claims parsed from a borrowed view ---

fn check_text(payload: &str) -> Result<Claims, Error> {
    let s = rs();
    let token = s.sign_with_header(&s.header(), payload.as_bytes());
    validator().validate(&token, &s.jwks(), now())
}

fn payload(extra: &str) -> String {
    format!(
        r#"{{"iss":"{ISS}","sub":"248289761001","aud":"{CLIENT}","exp":{},"iat":{},"nonce":"{NONCE}"{extra}}}"#,
        NOW + 300,
        NOW - 10
    )
}

#[test]
fn duplicated_claims_are_checked_by_their_last_value() {
    // RFC 7519 §4: reject, or use the lexically last member; the map and the checks agree.
    let c = check_text(&payload(r#","sub":"last""#)).unwrap();
    assert_eq!(c.sub(), Some("last"));
    assert_eq!(c.get("sub"), Some(&json!("last")));
    let err = id_err(check_text(&payload(r#","iss":"https://evil.example""#)));
    assert!(matches!(err, IdTokenError::Issuer { .. }));
    assert_eq!(id_err(check_text(&payload(r#","aud":"other""#))), IdTokenError::Audience);
    assert_eq!(id_err(check_text(&payload(r#","exp":"soon""#))), IdTokenError::MissingClaim { name: "exp" });
}

#[test]
fn escaped_claims_are_compared_unescaped() {
    let c = check_text(&payload(r#","iss":"https:\/\/op.example","aud":["client\u002d1"],"sub":"\u00e9""#)).unwrap();
    assert_eq!(c.iss(), Some(ISS));
    assert_eq!(c.sub(), Some("é"));
    assert_eq!(c.audiences(), Some(vec![CLIENT]));
}

#[test]
fn a_payload_the_map_would_reject_is_malformed() {
    for extra in [r#","x":"\ud800""#, r#","x":1e400"#, r#"} "#] {
        let err = jose_err(check_text(&payload(extra)));
        assert!(matches!(err, JoseError::Malformed { .. }), "{extra}: {err:?}");
    }
}

#[test]
fn validated_claims_build_the_same_map_as_an_eager_parse() {
    let text = payload(r#","amr":["pwd"],"email_verified":true,"nbf":1.5,"name":"J\u00e9""#);
    let c = check_text(&text).unwrap();
    assert_eq!(c, Claims::from_json(&text).unwrap());
    assert_eq!(c.exp(), Some(NOW + 300));
    assert_eq!(c.nbf(), Some(1));
    assert_eq!(c.name(), Some("Jé"));
    assert_eq!(c.email_verified(), Some(true));
}
