//! The happy paths, driven over loopback by a plain HTTP client.

mod common;

use base64ct::Encoding;
use common::*;
use rpkit_conformance::{AuthMethod, ClientRegistration, DevProvider, DevUser, SigningAlg, BACKCHANNEL_LOGOUT_EVENT};
use serde_json::{json, Map, Value};

#[tokio::test]
async fn full_code_flow_from_discovery_to_backchannel_logout() {
    let rx = receiver().await;
    let op = DevProvider::builder()
        .client(client().backchannel_logout_uri(rx.uri.clone()))
        .user(DevUser::new("alice").email("alice@example.com").name("Alice Example"))
        .start()
        .await
        .unwrap();
    let http = http();

    // Discovery.
    let meta: Value = http.get(op.discovery_url()).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["issuer"], op.issuer());
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["backchannel_logout_supported"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_modes_supported"], json!(["query", "form_post"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"])
    );
    assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["RS256", "ES256", "EdDSA", "HS256"]));
    for key in ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"] {
        assert!(meta[key].as_str().unwrap().starts_with(op.issuer()), "{key}");
    }

    // JWKS: public keys only, each with kid and use=sig.
    let jwks: Value = http.get(meta["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    for k in jwks["keys"].as_array().unwrap() {
        assert!(k["kid"].is_string());
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none(), "private part leaked: {k}");
    }

    // Authorization: form, submit, redirect with code, state and iss.
    let (verifier, challenge) = pkce();
    let id = open_login_form(&op, &http, &authz_params(&challenge)).await;
    let resp = submit_login(&op, &http, &id, "alice").await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with(REDIRECT));
    let params = location_params(&resp);
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], op.issuer());
    let code = params["code"].clone();

    // Token exchange with PKCE and client_secret_basic.
    let resp = exchange(&op, &http, &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    assert_eq!(tok["scope"], "openid profile email");
    let access = tok["access_token"].as_str().unwrap();
    let refresh = tok["refresh_token"].as_str().unwrap();
    let id_token = tok["id_token"].as_str().unwrap();
    assert_eq!(op.last_token_request().unwrap().auth_method, Some(AuthMethod::ClientSecretBasic));

    // The ID token verifies against /jwks and carries the protocol claims.
    let (header, _) = decode(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], op.key_ids()[0]);
    let claims = verify(&jwks, id_token).unwrap();
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["email"], "alice@example.com");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
    assert!(claims["auth_time"].as_i64().unwrap() <= iat);
    assert!(claims["sid"].is_string());
    assert!(claims["at_hash"].is_string());
    assert!(claims["c_hash"].is_string());
    assert!(claims.get("azp").is_none());

    // UserInfo, by header and by POST body.
    let ui: Value = http.get(op.userinfo_endpoint()).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(ui["sub"], "alice");
    assert_eq!(ui["name"], "Alice Example");
    assert_eq!(ui["email_verified"], true);
    let ui2: Value =
        http.post(op.userinfo_endpoint()).form(&[("access_token", access)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(ui2, ui);

    // Refresh with rotation.
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tok2: Value = resp.json().await.unwrap();
    let refresh2 = tok2["refresh_token"].as_str().unwrap();
    assert_ne!(refresh2, refresh);
    let claims2 = verify(&jwks, tok2["id_token"].as_str().unwrap()).unwrap();
    for k in ["iss", "sub", "aud", "auth_time", "sid"] {
        assert_eq!(claims2[k], claims[k], "{k}");
    }
    assert!(claims2.get("nonce").is_none());
    let reuse = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 400);
    let err: Value = reuse.json().await.unwrap();
    assert_eq!(err["error"], "invalid_grant");

    // RP-initiated logout: redirect with state, session ended, back-channel delivered.
    assert_eq!(op.sessions().len(), 1);
    let resp = http
        .get(op.end_session_endpoint())
        .query(&[("id_token_hint", id_token), ("post_logout_redirect_uri", POST_LOGOUT), ("state", "bye-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with(POST_LOGOUT));
    assert_eq!(location_params(&resp)["state"], "bye-1");
    assert!(op.sessions().is_empty());
    let tokens = rx.tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 1);
    let (lheader, _) = decode(&tokens[0]);
    assert_eq!(lheader["typ"], "logout+jwt");
    let logout = verify(&jwks, &tokens[0]).unwrap();
    assert_eq!(logout["iss"], op.issuer());
    assert_eq!(logout["aud"], CLIENT_ID);
    assert_eq!(logout["sub"], "alice");
    assert_eq!(logout["sid"], claims["sid"]);
    assert!(logout["jti"].is_string());
    assert!(logout["iat"].is_i64() && logout["exp"].is_i64());
    assert_eq!(logout["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    assert!(logout.get("nonce").is_none());
    assert_eq!(op.counters().backchannel_logout, 1);

    // The session's tokens died with it (no offline_access).
    let after =
        http.get(op.userinfo_endpoint()).bearer_auth(tok2["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(after.status(), 401);

    let c = op.counters();
    assert_eq!((c.discovery, c.jwks, c.token, c.userinfo, c.end_session), (1, 1, 3, 3, 1));
    assert_eq!(c.authorize, 2);
    op.shutdown().await;
}

#[tokio::test]
async fn form_post_response_mode_renders_an_auto_submitting_form() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "response_mode", "form_post");
    set(&mut params, "state", "<\"quoted\">");
    let id = open_login_form(&op, &http, &params).await;
    let resp = submit_login(&op, &http, &id, "alice").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(html.contains("document.forms[0].submit()"));
    assert!(hidden(&html, "code").is_some());
    assert_eq!(hidden(&html, "iss").unwrap(), op.issuer());
    assert_eq!(hidden(&html, "state").unwrap(), "&lt;&quot;quoted&quot;&gt;");
    op.shutdown().await;
}

#[tokio::test]
async fn an_existing_session_skips_the_form_and_prompt_login_forces_it() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let first = login(&op, &http, &authz_params(&challenge), "alice").await;

    // Same browser (cookie): code at once.
    let resp = http
        .get(op.authorization_endpoint())
        .query(&authz_params(&challenge))
        .header("cookie", &first.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(location_params(&resp).contains_key("code"));

    // prompt=none with the session works too.
    let mut params = authz_params(&challenge);
    set(&mut params, "prompt", "none");
    let resp =
        http.get(op.authorization_endpoint()).query(&params).header("cookie", &first.cookie).send().await.unwrap();
    assert!(location_params(&resp).contains_key("code"));

    // prompt=login shows the form again.
    set(&mut params, "prompt", "login");
    let resp =
        http.get(op.authorization_endpoint()).query(&params).header("cookie", &first.cookie).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // max_age=0 makes the session too old.
    let mut params = authz_params(&challenge);
    set(&mut params, "max_age", "0");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let resp =
        http.get(op.authorization_endpoint()).query(&params).header("cookie", &first.cookie).send().await.unwrap();
    assert_eq!(resp.status(), 200, "stale session must re-authenticate");
    op.shutdown().await;
}

#[tokio::test]
async fn auto_login_redirects_at_once() {
    let op = builder().auto_login("bob").start().await.unwrap();
    let http = http();
    let (verifier, challenge) = pkce();
    let resp = http.get(op.authorization_endpoint()).query(&authz_params(&challenge)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let code = location_params(&resp)["code"].clone();
    let tok: Value = exchange(&op, &http, &code, &verifier).await.json().await.unwrap();
    let (_, claims) = decode(tok["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "user-0002");
    op.shutdown().await;
}

#[tokio::test]
async fn public_client_uses_auth_method_none_with_pkce() {
    let op = DevProvider::builder()
        .client(ClientRegistration::public("spa").redirect_uri(REDIRECT))
        .user(DevUser::new("alice"))
        .start()
        .await
        .unwrap();
    let http = http();
    let (verifier, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "client_id", "spa");
    let login = login(&op, &http, &params, "alice").await;
    let resp = http
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
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(op.last_token_request().unwrap().auth_method, Some(AuthMethod::None));
    op.shutdown().await;
}

#[tokio::test]
async fn client_secret_post_is_accepted_and_recorded_redacted() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let resp = http
        .post(op.token_endpoint())
        .header("accept", "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rec = op.last_token_request().unwrap();
    assert_eq!(rec.auth_method, Some(AuthMethod::ClientSecretPost));
    assert_eq!(rec.params["client_secret"], "<redacted>");
    assert_eq!(rec.params["code_verifier"], verifier);
    assert_eq!(rec.accept.as_deref(), Some("application/json"));
    op.shutdown().await;
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let op = DevProvider::builder()
        .client(ClientRegistration::confidential("my client:1", "s3cr%t +&").redirect_uri(REDIRECT))
        .start()
        .await
        .unwrap();
    let http = http();
    let id = url::form_urlencoded::byte_serialize(b"my client:1").collect::<String>();
    let secret = url::form_urlencoded::byte_serialize(b"s3cr%t +&").collect::<String>();
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["scope"], "api");
    assert!(tok.get("refresh_token").is_none());
    assert!(tok.get("id_token").is_none());
    op.shutdown().await;
}

/// Build a client assertion (RFC 7523 §3).
fn assertion_claims(op: &rpkit_conformance::RunningProvider, jti: &str) -> josekit::jwt::JwtPayload {
    let mut p = josekit::jwt::JwtPayload::new();
    p.set_issuer(CLIENT_ID);
    p.set_subject(CLIENT_ID);
    p.set_audience(vec![op.token_endpoint()]);
    p.set_jwt_id(jti);
    p.set_expires_at(&(std::time::SystemTime::now() + std::time::Duration::from_secs(60)));
    p
}

async fn token_with_assertion(
    op: &rpkit_conformance::RunningProvider,
    http: &reqwest::Client,
    assertion: &str,
) -> reqwest::Response {
    http.post(op.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn client_secret_jwt_is_accepted_once_per_jti() {
    let op = start().await;
    let http = http();
    let signer = josekit::jws::HS256.signer_from_bytes(SECRET).unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_token_type("JWT");
    let jwt = josekit::jwt::encode_with_signer(&assertion_claims(&op, "j-1"), &header, &signer).unwrap();
    let resp = token_with_assertion(&op, &http, &jwt).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(op.last_token_request().unwrap().auth_method, Some(AuthMethod::ClientSecretJwt));
    let replay = token_with_assertion(&op, &http, &jwt).await;
    assert_eq!(replay.status(), 401);

    let wrong = josekit::jws::HS256.signer_from_bytes("not-the-secret-0123456789-0123456789").unwrap();
    let jwt = josekit::jwt::encode_with_signer(&assertion_claims(&op, "j-2"), &header, &wrong).unwrap();
    let resp = token_with_assertion(&op, &http, &jwt).await;
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "invalid_client");
    op.shutdown().await;
}

#[tokio::test]
async fn private_key_jwt_verifies_with_the_registered_key() {
    let key = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
    let public: Map<String, Value> = key.to_public_key().unwrap().into();
    let op = DevProvider::builder()
        .client(
            ClientRegistration::confidential(CLIENT_ID, SECRET)
                .redirect_uri(REDIRECT)
                .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
                .private_key_jwt_key(Value::Object(public)),
        )
        .start()
        .await
        .unwrap();
    let http = http();
    let signer = josekit::jws::ES256.signer_from_jwk(&key).unwrap();
    let header = josekit::jws::JwsHeader::new();
    let jwt = josekit::jwt::encode_with_signer(&assertion_claims(&op, "k-1"), &header, &signer).unwrap();
    let resp = token_with_assertion(&op, &http, &jwt).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(op.last_token_request().unwrap().auth_method, Some(AuthMethod::PrivateKeyJwt));

    // Another key does not verify; the secret is no longer accepted either.
    let other = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
    let signer = josekit::jws::ES256.signer_from_jwk(&other).unwrap();
    let jwt = josekit::jwt::encode_with_signer(&assertion_claims(&op, "k-2"), &header, &signer).unwrap();
    assert_eq!(token_with_assertion(&op, &http, &jwt).await.status(), 401);
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    op.shutdown().await;
}

#[tokio::test]
async fn userinfo_claims_follow_the_scope() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "scope", "openid email");
    let login = login(&op, &http, &params, "alice").await;
    let tok: Value = exchange(&op, &http, &login.code, &verifier).await.json().await.unwrap();
    let ui: Value = http
        .get(op.userinfo_endpoint())
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["email"], "alice@example.com");
    assert!(ui.get("name").is_none());
    assert!(ui.get("preferred_username").is_none());
    op.shutdown().await;
}

#[tokio::test]
async fn claims_can_be_kept_out_of_the_id_token() {
    let op = builder().claims_in_id_token(false).start().await.unwrap();
    let tok = tokens(&op, &http()).await;
    let (_, claims) = decode(tok["id_token"].as_str().unwrap());
    assert!(claims.get("email").is_none());
    assert_eq!(claims["sub"], "alice");
    op.shutdown().await;
}

#[tokio::test]
async fn offline_access_refresh_tokens_survive_logout() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "scope", "openid offline_access");
    let login = login(&op, &http, &params, "alice").await;
    let tok: Value = exchange(&op, &http, &login.code, &verifier).await.json().await.unwrap();
    let resp = http
        .get(op.end_session_endpoint())
        .query(&[("id_token_hint", tok["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("logged out"));
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    op.shutdown().await;
}

#[tokio::test]
async fn backchannel_logout_api_notifies_clients_of_a_users_sessions() {
    let rx = receiver().await;
    let op = builder()
        .client(
            ClientRegistration::confidential("other", "x")
                .redirect_uri(REDIRECT)
                .backchannel_logout_uri(rx.uri.clone()),
        )
        .start()
        .await
        .unwrap();
    let http = http();
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "client_id", "other");
    let first = login(&op, &http, &params, "alice").await;
    assert_eq!(op.sessions()[0].clients, vec!["other".to_string()]);
    let sid = op.sessions()[0].sid.clone();

    let deliveries = op.backchannel_logout("alice").await;
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].delivered(), "{deliveries:?}");
    assert_eq!(deliveries[0].sid.as_deref(), Some(sid.as_str()));
    assert!(op.sessions().is_empty());

    // The cookie no longer logs in.
    let resp =
        http.get(op.authorization_endpoint()).query(&params).header("cookie", &first.cookie).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // No session left: a sub-only token goes to every client with a back-channel URI.
    let deliveries = op.backchannel_logout("alice").await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].sid, None);
    let tokens = rx.tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    let (_, claims) = decode(&tokens[1]);
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("sid").is_none());

    // Unknown subject: nothing sent.
    assert!(op.backchannel_logout("nobody").await.is_empty());
    op.shutdown().await;
}

#[tokio::test]
async fn backchannel_delivery_failure_is_reported_not_raised() {
    // Bind and drop a listener to get a loopback port with nobody behind it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let op = builder()
        .client(
            ClientRegistration::confidential("gone", "x")
                .redirect_uri(REDIRECT)
                .backchannel_logout_uri(format!("http://127.0.0.1:{port}/bc")),
        )
        .user(DevUser::new("carol"))
        .start()
        .await
        .unwrap();
    let d = op.backchannel_logout("carol").await;
    assert_eq!(d.len(), 1);
    assert!(!d[0].delivered());
    assert!(d[0].error.is_some());
    op.shutdown().await;
}

#[tokio::test]
async fn rotate_keys_replaces_the_kid_and_drops_the_old_key() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let id_token = tok["id_token"].as_str().unwrap();
    let old_kid = op.key_ids()[0].clone();
    assert!(verify(&fetch_jwks(&op, &http).await, id_token).is_ok());

    op.rotate_keys().unwrap();
    assert_ne!(op.key_ids()[0], old_kid);
    let jwks = fetch_jwks(&op, &http).await;
    assert!(!jwks.to_string().contains(&old_kid));
    assert!(verify(&jwks, id_token).is_err());
    let tok = tokens(&op, &http).await;
    let (header, _) = decode(tok["id_token"].as_str().unwrap());
    assert_eq!(header["kid"], op.key_ids()[0]);
    assert!(verify(&jwks, tok["id_token"].as_str().unwrap()).is_ok());
    op.shutdown().await;
}

#[tokio::test]
async fn sign_jwt_signs_with_the_current_keys() {
    let op = start().await;
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(op.issuer()));
    let jwks = op.jwks();
    for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
        let jwt = op.sign_jwt(alg, "JWT", &claims).unwrap();
        assert_eq!(verify(&jwks, &jwt).unwrap()["iss"], op.issuer());
    }
    let unsigned = op.sign_jwt(SigningAlg::None, "JWT", &claims).unwrap();
    assert!(unsigned.ends_with('.'));
    assert!(op.sign_jwt(SigningAlg::HS256, "JWT", &claims).is_err());
    op.shutdown().await;
}

#[tokio::test]
async fn counters_count_each_endpoint_and_reset() {
    let op = start().await;
    let http = http();
    for _ in 0..3 {
        http.get(op.discovery_url()).send().await.unwrap();
    }
    http.get(op.jwks_uri()).send().await.unwrap();
    let c = op.counters();
    assert_eq!((c.discovery, c.jwks, c.total()), (3, 1, 4));
    op.reset_counters();
    assert_eq!(op.counters().total(), 0);
    op.shutdown().await;
}

#[tokio::test]
async fn the_index_page_lists_users_escaped() {
    let op = builder().user(DevUser::new("<script>x</script>")).start().await.unwrap();
    let html = http().get(format!("{}/", op.issuer())).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(!html.contains("<script>x"));
    op.shutdown().await;
}

#[tokio::test]
async fn id_token_and_userinfo_can_be_encrypted_to_the_client() {
    let key = josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
    let mut public = key.to_public_key().unwrap();
    public.set_key_id("rp-enc-1");
    let public = Value::Object(public.into());
    let op = builder()
        .client(
            ClientRegistration::confidential("enc", SECRET)
                .redirect_uri(REDIRECT)
                .id_token_encryption_key(public.clone())
                .userinfo_encryption_key(public),
        )
        .start()
        .await
        .unwrap();
    let http = http();
    let (verifier, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "client_id", "enc");
    let login = login(&op, &http, &params, "alice").await;
    let tok: Value = http
        .post(op.token_endpoint())
        .basic_auth("enc", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwe = tok["id_token"].as_str().unwrap();
    assert_eq!(jwe.split('.').count(), 5, "a compact JWE");
    let header: Value =
        serde_json::from_slice(&base64ct::Base64UrlUnpadded::decode_vec(jwe.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!((header["alg"].as_str(), header["enc"].as_str()), (Some("RSA-OAEP"), Some("A128GCM")));
    assert_eq!(header["cty"], "JWT");
    assert_eq!(header["kid"], "rp-enc-1");
    let decrypter = josekit::jwe::RSA_OAEP.decrypter_from_jwk(&key).unwrap();
    let (inner, _) = josekit::jwe::deserialize_compact(jwe, &decrypter).unwrap();
    let jwks = fetch_jwks(&op, &http).await;
    let claims = verify(&jwks, std::str::from_utf8(&inner).unwrap()).unwrap();
    assert_eq!(claims["aud"], "enc");
    assert_eq!(claims["nonce"], "n-456");

    let resp =
        http.get(op.userinfo_endpoint()).bearer_auth(tok["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    let jwe = resp.text().await.unwrap();
    let (inner, _) = josekit::jwe::deserialize_compact(&jwe, &decrypter).unwrap();
    let claims = verify(&jwks, std::str::from_utf8(&inner).unwrap()).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    op.shutdown().await;
}
