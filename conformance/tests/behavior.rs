//! Every `Behavior` switch has a visible effect on the wire.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use common::*;
use rpkit_conformance::{
    Behavior, ClientRegistration, DevProvider, DevUser, Endpoint, EndpointDelay, RunningProvider, SigningAlg,
    BACKCHANNEL_LOGOUT_EVENT, HUGE_BODY_BYTES,
};
use serde_json::{json, Map, Value};

/// Log in, exchange the code and return the token response and the decoded ID token.
async fn id_token_under(op: &RunningProvider, b: Behavior) -> (Value, Map<String, Value>, Map<String, Value>) {
    op.behavior().set(b);
    let tok = tokens(op, &http()).await;
    let (header, claims) = decode(tok["id_token"].as_str().unwrap());
    op.behavior().reset();
    (tok, header, claims)
}

fn at_hash(access_token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    Base64UrlUnpadded::encode_string(&d.as_ref()[..16])
}

#[tokio::test]
async fn id_token_claim_switches_change_the_claims() {
    let op = start().await;
    let (_, _, normal) = id_token_under(&op, Behavior::default()).await;
    assert_eq!(normal["iss"], op.issuer());
    assert_eq!(normal["aud"], CLIENT_ID);
    assert_eq!(normal["nonce"], "n-456");

    let (_, _, c) =
        id_token_under(&op, Behavior { id_token_issuer: Some("https://evil.example".into()), ..Behavior::default() })
            .await;
    assert_eq!(c["iss"], "https://evil.example", "id_token_issuer");

    let (_, _, c) =
        id_token_under(&op, Behavior { id_token_audience: Some("someone-else".into()), ..Behavior::default() }).await;
    assert_eq!(c["aud"], "someone-else", "id_token_audience");

    let (_, _, c) = id_token_under(&op, Behavior { id_token_omit_aud: true, ..Behavior::default() }).await;
    assert!(c.get("aud").is_none(), "id_token_omit_aud");

    let (_, _, c) =
        id_token_under(&op, Behavior { id_token_extra_audience: Some("api".into()), ..Behavior::default() }).await;
    assert_eq!(c["aud"], json!([CLIENT_ID, "api"]), "id_token_extra_audience");
    assert_eq!(c["azp"], CLIENT_ID);

    let (_, _, c) = id_token_under(
        &op,
        Behavior { id_token_extra_audience: Some("api".into()), id_token_omit_azp: true, ..Behavior::default() },
    )
    .await;
    assert_eq!(c["aud"], json!([CLIENT_ID, "api"]));
    assert!(c.get("azp").is_none(), "id_token_omit_azp");

    let (_, _, c) =
        id_token_under(&op, Behavior { id_token_sub: Some("impostor".into()), ..Behavior::default() }).await;
    assert_eq!(c["sub"], "impostor", "id_token_sub");

    let (_, _, c) =
        id_token_under(&op, Behavior { id_token_nonce: Some("other-nonce".into()), ..Behavior::default() }).await;
    assert_eq!(c["nonce"], "other-nonce", "id_token_nonce");

    let (_, _, c) = id_token_under(&op, Behavior { id_token_omit_nonce: true, ..Behavior::default() }).await;
    assert!(c.get("nonce").is_none(), "id_token_omit_nonce");

    let (_, _, c) = id_token_under(&op, Behavior { id_token_iat_offset_secs: -604_800, ..Behavior::default() }).await;
    let week_ago = c["exp"].as_i64().unwrap() - 3600 - 604_800;
    assert!((c["iat"].as_i64().unwrap() - week_ago).abs() <= 2, "id_token_iat_offset_secs");

    let (_, _, c) = id_token_under(&op, Behavior { id_token_exp_offset_secs: -7200, ..Behavior::default() }).await;
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), -3600, "id_token_exp_offset_secs");

    let (_, _, c) = id_token_under(&op, Behavior { id_token_omit_exp: true, ..Behavior::default() }).await;
    assert!(c.get("exp").is_none(), "id_token_omit_exp");

    let (tok, _, c) = id_token_under(&op, Behavior::default()).await;
    assert_eq!(c["at_hash"], at_hash(tok["access_token"].as_str().unwrap()));
    let (tok, _, c) = id_token_under(&op, Behavior { id_token_wrong_at_hash: true, ..Behavior::default() }).await;
    assert_ne!(c["at_hash"], at_hash(tok["access_token"].as_str().unwrap()), "id_token_wrong_at_hash");

    let mut set = BTreeMap::new();
    set.insert("events".to_string(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    set.insert("nbf".to_string(), json!(4_102_444_800_i64));
    let (_, _, c) = id_token_under(
        &op,
        Behavior {
            id_token_set_claims: set,
            id_token_remove_claims: vec!["sub".into(), "iat".into()],
            ..Behavior::default()
        },
    )
    .await;
    assert!(c.get("events").is_some(), "id_token_set_claims");
    assert_eq!(c["nbf"], 4_102_444_800_i64);
    assert!(c.get("sub").is_none(), "id_token_remove_claims");
    assert!(c.get("iat").is_none());
    op.shutdown().await;
}

#[tokio::test]
async fn id_token_signature_switches_change_the_jws() {
    let op = start().await;
    let http = http();
    let jwks = fetch_jwks(&op, &http).await;

    for (alg, name) in [(SigningAlg::ES256, "ES256"), (SigningAlg::EdDSA, "EdDSA")] {
        let (tok, h, _) = id_token_under(&op, Behavior { id_token_alg: Some(alg), ..Behavior::default() }).await;
        assert_eq!(h["alg"], name);
        let claims = verify(&jwks, tok["id_token"].as_str().unwrap()).unwrap();
        assert_eq!(claims["sub"], "alice");
        // at_hash follows the algorithm's hash (SHA-512 for Ed25519).
        let at = tok["access_token"].as_str().unwrap();
        if alg == SigningAlg::EdDSA {
            assert_ne!(claims["at_hash"], at_hash(at));
            assert_eq!(claims["at_hash"].as_str().unwrap().len(), 43);
        } else {
            assert_eq!(claims["at_hash"], at_hash(at));
        }
    }

    let (tok, h, _) =
        id_token_under(&op, Behavior { id_token_alg: Some(SigningAlg::HS256), ..Behavior::default() }).await;
    assert_eq!(h["alg"], "HS256");
    assert!(h.get("kid").is_none());
    let verifier = josekit::jws::HS256.verifier_from_bytes(SECRET).unwrap();
    josekit::jws::deserialize_compact(tok["id_token"].as_str().unwrap(), &verifier)
        .expect("HS256 keyed by the client secret");

    let (tok, h, _) =
        id_token_under(&op, Behavior { id_token_alg: Some(SigningAlg::None), ..Behavior::default() }).await;
    assert_eq!(h["alg"], "none");
    assert!(tok["id_token"].as_str().unwrap().ends_with('.'));

    let (tok, _, _) = id_token_under(&op, Behavior { id_token_bad_signature: true, ..Behavior::default() }).await;
    assert!(verify(&jwks, tok["id_token"].as_str().unwrap()).is_err());

    let (tok, h, _) = id_token_under(&op, Behavior { id_token_omit_kid: true, ..Behavior::default() }).await;
    assert!(h.get("kid").is_none());
    // One RSA key in the JWKS: still verifiable by key type.
    assert!(verify(&jwks, tok["id_token"].as_str().unwrap()).is_ok());

    let (_, h, _) =
        id_token_under(&op, Behavior { id_token_typ: Some("logout+jwt".into()), ..Behavior::default() }).await;
    assert_eq!(h["typ"], "logout+jwt");
    op.shutdown().await;
}

#[tokio::test]
async fn registered_alg_is_used_and_hs256_falls_back_for_public_clients() {
    let op = DevProvider::builder()
        .client(client().id_token_signed_response_alg(SigningAlg::ES256))
        .client(
            ClientRegistration::public("spa").redirect_uri(REDIRECT).id_token_signed_response_alg(SigningAlg::HS256),
        )
        .user(DevUser::new("alice"))
        .start()
        .await
        .unwrap();
    let http = http();
    let tok = tokens(&op, &http).await;
    assert_eq!(decode(tok["id_token"].as_str().unwrap()).0["alg"], "ES256");

    let (verifier, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "client_id", "spa");
    let login = login(&op, &http, &params, "alice").await;
    let tok: Value = http
        .post(op.token_endpoint())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
            ("client_id", "spa"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decode(tok["id_token"].as_str().unwrap()).0["alg"], "RS256");
    op.shutdown().await;
}

#[tokio::test]
async fn jwks_switches_add_keys_and_strip_kids() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    op.behavior().set(Behavior { jwks_extra_keys: 2, jwks_omit_kid: true, ..Behavior::default() });
    let jwks = fetch_jwks(&op, &http).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 5, "jwks_extra_keys");
    assert!(keys.iter().all(|k| k.get("kid").is_none()), "jwks_omit_kid");
    assert_eq!(keys.iter().filter(|k| k["kty"] == "RSA").count(), 3);
    // Tokens lose their kid too, so an RP cannot pick among the RSA keys by kid.
    let tok2 = tokens(&op, &http).await;
    let (h, _) = decode(tok2["id_token"].as_str().unwrap());
    assert!(h.get("kid").is_none());
    assert_eq!(verify(&jwks, tok2["id_token"].as_str().unwrap()).unwrap_err(), "3 candidate keys");
    // The token issued before the switch names a kid the JWKS no longer shows.
    assert_eq!(verify(&jwks, tok["id_token"].as_str().unwrap()).unwrap_err(), "0 candidate keys");
    op.shutdown().await;
}

#[tokio::test]
async fn metadata_issuer_switch_changes_discovery() {
    let op = start().await;
    op.behavior().update(|b| b.metadata_issuer = Some("http://127.0.0.1:1".into()));
    let meta: Value = http().get(op.discovery_url()).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["issuer"], "http://127.0.0.1:1");
    assert_eq!(meta["token_endpoint"], op.token_endpoint());
    op.shutdown().await;
}

#[tokio::test]
async fn authorization_response_switches() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();

    op.behavior().update(|b| b.authorize_error = Some("temporarily_unavailable".into()));
    let resp = http.get(op.authorization_endpoint()).query(&authz_params(&challenge)).send().await.unwrap();
    let p = location_params(&resp);
    assert_eq!(p["error"], "temporarily_unavailable", "authorize_error");
    assert_eq!(p["state"], "st-123");

    op.behavior().set(Behavior { callback_omit_iss: true, ..Behavior::default() });
    let l = login(&op, &http, &authz_params(&challenge), "alice").await;
    assert!(!l.params.contains_key("iss"), "callback_omit_iss");

    op.behavior().set(Behavior { callback_issuer: Some("https://mix-up.example".into()), ..Behavior::default() });
    let l = login(&op, &http, &authz_params(&challenge), "alice").await;
    assert_eq!(l.params["iss"], "https://mix-up.example", "callback_issuer");
    op.shutdown().await;
}

#[tokio::test]
async fn token_response_shape_switches() {
    let op = start().await;
    let http = http();
    op.behavior().set(Behavior {
        token_type: Some("bEaReR".into()),
        token_omit_expires_in: true,
        token_omit_scope: true,
        ..Behavior::default()
    });
    let tok = tokens(&op, &http).await;
    assert_eq!(tok["token_type"], "bEaReR", "token_type");
    assert!(tok.get("expires_in").is_none(), "token_omit_expires_in");
    assert!(tok.get("scope").is_none(), "token_omit_scope");

    op.behavior().set(Behavior { token_omit_id_token: true, token_omit_refresh_token: true, ..Behavior::default() });
    let tok = tokens(&op, &http).await;
    assert!(tok.get("id_token").is_none(), "token_omit_id_token");
    assert!(tok.get("refresh_token").is_none(), "token_omit_refresh_token");
    assert!(tok["access_token"].is_string());

    op.behavior().set(Behavior { token_response_form_encoded: true, ..Behavior::default() });
    let (verifier, challenge) = pkce();
    let l = login(&op, &http, &authz_params(&challenge), "alice").await;
    let resp = exchange(&op, &http, &l.code, &verifier).await;
    assert_eq!(resp.headers()["content-type"], "application/x-www-form-urlencoded", "token_response_form_encoded");
    let body = resp.text().await.unwrap();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    assert_eq!(form["token_type"], "Bearer");
    assert_eq!(form["expires_in"], "3600");
    op.shutdown().await;
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_old_refresh_token() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    op.behavior().update(|b| b.token_omit_refresh_token = true);
    for _ in 0..2 {
        let resp = http
            .post(op.token_endpoint())
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(body.get("refresh_token").is_none());
    }
    op.shutdown().await;
}

#[tokio::test]
async fn token_error_switches() {
    let op = start().await;
    let http = http();
    let send = || {
        http.post(op.token_endpoint())
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    op.behavior().update(|b| b.token_error = Some("invalid_grant".into()));
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_grant");

    op.behavior().update(|b| b.token_error_with_status_200 = true);
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 200, "token_error_with_status_200");
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_grant");

    op.behavior().set(Behavior { html_500: Some(Endpoint::Token), ..Behavior::default() });
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 500, "html_500");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

    op.behavior().set(Behavior { token_redirect_to: Some("http://127.0.0.1:9/steal".into()), ..Behavior::default() });
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 307, "token_redirect_to");
    assert_eq!(resp.headers()["location"], "http://127.0.0.1:9/steal");

    op.behavior().reset();
    assert_eq!(send().await.unwrap().status(), 200);
    op.shutdown().await;
}

#[tokio::test]
async fn userinfo_switches() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let at = tok["access_token"].as_str().unwrap();

    op.behavior().update(|b| b.userinfo_sub = Some("someone-else".into()));
    let ui: Value = http.get(op.userinfo_endpoint()).bearer_auth(at).send().await.unwrap().json().await.unwrap();
    assert_eq!(ui["sub"], "someone-else", "userinfo_sub");

    op.behavior().set(Behavior { userinfo_signed: true, ..Behavior::default() });
    let resp = http.get(op.userinfo_endpoint()).bearer_auth(at).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    let jwt = resp.text().await.unwrap();
    let claims = verify(&fetch_jwks(&op, &http).await, &jwt).unwrap();
    assert_eq!(claims["sub"], "alice", "userinfo_signed");
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    op.shutdown().await;
}

#[tokio::test]
async fn logout_token_claim_switches() {
    let rx = receiver().await;
    let op = DevProvider::builder()
        .client(client().backchannel_logout_uri(rx.uri.clone()))
        .user(DevUser::new("alice"))
        .start()
        .await
        .unwrap();
    let mut set = BTreeMap::new();
    set.insert("nonce".to_string(), json!("n"));
    op.behavior().set(Behavior {
        logout_token_set_claims: set,
        logout_token_remove_claims: vec!["events".into()],
        ..Behavior::default()
    });
    let d = op.backchannel_logout("alice").await;
    assert!(d[0].delivered());
    let token = rx.tokens.lock().unwrap()[0].clone();
    let (_, claims) = decode(&token);
    assert_eq!(claims["nonce"], "n", "logout_token_set_claims");
    assert!(claims.get("events").is_none(), "logout_token_remove_claims");
    op.shutdown().await;
}

#[tokio::test]
async fn transport_fault_switches() {
    let op = start().await;
    let http = http();

    op.behavior().set(Behavior {
        delay: Some(EndpointDelay { endpoint: Endpoint::Discovery, millis: 1500 }),
        ..Behavior::default()
    });
    let err = http.get(op.discovery_url()).timeout(Duration::from_millis(300)).send().await.unwrap_err();
    assert!(err.is_timeout(), "delay: {err}");
    // Other endpoints are not delayed.
    let resp = http.get(op.jwks_uri()).timeout(Duration::from_millis(1000)).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    op.behavior().set(Behavior { huge_body: Some(Endpoint::Jwks), ..Behavior::default() });
    let body = http.get(op.jwks_uri()).send().await.unwrap().bytes().await.unwrap();
    assert!(body.len() >= HUGE_BODY_BYTES, "huge_body");
    assert!(serde_json::from_slice::<Value>(&body).is_ok());

    op.behavior().set(Behavior { html_500: Some(Endpoint::Discovery), ..Behavior::default() });
    let resp = http.get(op.discovery_url()).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    op.shutdown().await;
}

#[tokio::test]
async fn behavior_given_at_start_applies_from_the_first_request() {
    let op = builder()
        .behavior(Behavior { metadata_issuer: Some("x".into()), ..Behavior::default() })
        .start()
        .await
        .unwrap();
    assert_eq!(op.metadata()["issuer"], "x");
    op.behavior().reset();
    assert_eq!(op.metadata()["issuer"], op.issuer());
    op.shutdown().await;
}

#[tokio::test]
async fn retired_key_switch_signs_with_the_key_the_rotation_removed() {
    let op = start().await;
    let http = http();
    let old_jwks = fetch_jwks(&op, &http).await;
    let old_kid = op.key_ids()[0].clone();
    op.rotate_keys().unwrap();
    let new_jwks = fetch_jwks(&op, &http).await;
    let (tok, h, _) =
        id_token_under(&op, Behavior { id_token_sign_with_retired_key: true, ..Behavior::default() }).await;
    assert_eq!(h["kid"], old_kid.as_str(), "id_token_sign_with_retired_key");
    let jwt = tok["id_token"].as_str().unwrap();
    assert!(verify(&old_jwks, jwt).is_ok());
    assert_eq!(verify(&new_jwks, jwt).unwrap_err(), "0 candidate keys", "the old key left the JWKS");
    let (_, h, _) = id_token_under(&op, Behavior::default()).await;
    assert_eq!(h["kid"], op.key_ids()[0].as_str());
    op.shutdown().await;
}

#[tokio::test]
async fn jwks_cache_control_switch_sets_or_drops_the_header() {
    let op = start().await;
    let http = http();
    let cache_control =
        |resp: &reqwest::Response| resp.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
    let resp = http.get(op.jwks_uri()).send().await.unwrap();
    assert_eq!(cache_control(&resp).as_deref(), Some("public, max-age=3600"));
    op.behavior().update(|b| b.jwks_cache_control = Some("max-age=120".into()));
    let resp = http.get(op.jwks_uri()).send().await.unwrap();
    assert_eq!(cache_control(&resp).as_deref(), Some("max-age=120"));
    op.behavior().update(|b| b.jwks_cache_control = Some(String::new()));
    let resp = http.get(op.jwks_uri()).send().await.unwrap();
    assert_eq!(cache_control(&resp), None);
    op.shutdown().await;
}

#[tokio::test]
async fn metadata_members_switch_overrides_discovery() {
    let op = start().await;
    op.behavior().update(|b| {
        b.metadata_set_members.insert("token_endpoint".into(), "http://op.invalid/token".into());
    });
    let meta: Value = http().get(op.discovery_url()).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["token_endpoint"], "http://op.invalid/token");
    assert_eq!(meta["issuer"], op.issuer());
    op.shutdown().await;
}

#[tokio::test]
async fn authorize_error_description_switch_is_sent_verbatim() {
    let op = start().await;
    let (_, challenge) = pkce();
    op.behavior().update(|b| {
        b.authorize_error = Some("access_denied".into());
        b.authorize_error_description = Some("no\r\n\u{1b}[31mforged".into());
    });
    let resp = http().get(op.authorization_endpoint()).query(&authz_params(&challenge)).send().await.unwrap();
    let p = location_params(&resp);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["error_description"], "no\r\n\u{1b}[31mforged");
    op.shutdown().await;
}

#[tokio::test]
async fn userinfo_remove_claims_switch_strips_signed_and_json_claims() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let at = tok["access_token"].as_str().unwrap();
    op.behavior().set(Behavior { userinfo_remove_claims: vec!["email".into()], ..Behavior::default() });
    let ui: Value = http.get(op.userinfo_endpoint()).bearer_auth(at).send().await.unwrap().json().await.unwrap();
    assert!(ui.get("email").is_none());
    assert_eq!(ui["sub"], "alice");
    op.behavior().set(Behavior {
        userinfo_signed: true,
        userinfo_remove_claims: vec!["iss".into()],
        ..Behavior::default()
    });
    let jwt = http.get(op.userinfo_endpoint()).bearer_auth(at).send().await.unwrap().text().await.unwrap();
    let claims = verify(&fetch_jwks(&op, &http).await, &jwt).unwrap();
    assert!(claims.get("iss").is_none(), "userinfo_remove_claims after iss is added");
    assert_eq!(claims["aud"], CLIENT_ID);
    op.shutdown().await;
}

#[tokio::test]
async fn issuer_only_assertion_audience_switch_refuses_the_token_endpoint_and_arrays() {
    let op = start().await;
    let http = http();
    op.behavior().update(|b| b.token_assertion_aud_issuer_only = true);
    let signer = josekit::jws::HS256.signer_from_bytes(SECRET).unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_token_type("JWT");
    let send = |aud: Value, jti: &'static str| {
        let mut claims = Map::new();
        claims.insert("iss".into(), CLIENT_ID.into());
        claims.insert("sub".into(), CLIENT_ID.into());
        claims.insert("aud".into(), aud);
        claims.insert("jti".into(), jti.into());
        let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
        claims.insert("exp".into(), exp.into());
        let payload = josekit::jwt::JwtPayload::from_map(claims).unwrap();
        let jwt = josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap();
        let http = http.clone();
        let url = op.token_endpoint();
        async move {
            http.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(send(op.token_endpoint().into(), "a-1").await, 401, "the token endpoint");
    assert_eq!(send(json!([op.issuer()]), "a-2").await, 401, "an array holding the issuer");
    assert_eq!(send(op.issuer().into(), "a-3").await, 200, "the issuer as a string");
    op.behavior().reset();
    assert_eq!(send(op.token_endpoint().into(), "a-4").await, 200, "by default the token endpoint too");
    op.shutdown().await;
}
