//! What the provider refuses: each test pins one rejection.

mod common;

use common::*;
use rpkit_conformance::{ClientRegistration, DevProvider, DevProviderError, DevUser};
use serde_json::Value;

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn wrong_pkce_verifier_is_rejected_and_spends_the_code() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let wrong = "x".repeat(43);
    let resp = exchange(&op, &http, &login.code, &wrong).await;
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    // The right verifier no longer helps: a failed redemption spent the code.
    let resp = exchange(&op, &http, &login.code, &verifier).await;
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn missing_pkce_verifier_is_rejected() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", login.code.as_str()), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn reused_code_is_rejected_and_revokes_its_tokens() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let first: Value = exchange(&op, &http, &login.code, &verifier).await.json().await.unwrap();
    let resp = exchange(&op, &http, &login.code, &verifier).await;
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    let ui =
        http.get(op.userinfo_endpoint()).bearer_auth(first["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(ui.status(), 401, "tokens from a replayed code are revoked");
    op.shutdown().await;
}

#[tokio::test]
async fn wrong_redirect_uri_at_the_token_endpoint_is_rejected() {
    let op = start().await;
    let http = http();
    let (verifier, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_is_rejected_with_401_and_a_basic_challenge() {
    let op = start().await;
    let http = http();
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(error_of(resp).await, (401, "invalid_client".into()));

    let resp = http
        .post(op.token_endpoint())
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT_ID), ("client_secret", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (401, "invalid_client".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn confidential_client_without_authentication_is_rejected() {
    let op = start().await;
    let resp = http()
        .post(op.token_endpoint())
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (401, "invalid_client".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_rejected() {
    let op = start().await;
    let resp = http()
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT_ID), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_request".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn code_issued_to_another_client_is_rejected() {
    let op = builder()
        .client(ClientRegistration::confidential("other", "other-secret").redirect_uri(REDIRECT))
        .start()
        .await
        .unwrap();
    let http = http();
    let (verifier, challenge) = pkce();
    let login = login(&op, &http, &authz_params(&challenge), "alice").await;
    let resp = http
        .post(op.token_endpoint())
        .basic_auth("other", Some("other-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", login.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn refresh_token_of_another_client_is_rejected() {
    let op = builder()
        .client(ClientRegistration::confidential("other", "other-secret").redirect_uri(REDIRECT))
        .start()
        .await
        .unwrap();
    let http = http();
    let tok = tokens(&op, &http).await;
    let resp = http
        .post(op.token_endpoint())
        .basic_auth("other", Some("other-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_grant".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn refresh_asking_for_more_scope_is_rejected() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tok["refresh_token"].as_str().unwrap()),
            ("scope", "openid admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_scope".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn token_requests_must_be_form_encoded_without_duplicates() {
    let op = start().await;
    let http = http();
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_request".into()));
    let resp = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_request".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn unknown_grant_type_is_rejected() {
    let op = start().await;
    let resp = http()
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "unsupported_grant_type".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn public_clients_cannot_use_client_credentials() {
    let op =
        DevProvider::builder().client(ClientRegistration::public("spa").redirect_uri(REDIRECT)).start().await.unwrap();
    let resp = http()
        .post(op.token_endpoint())
        .form(&[("grant_type", "client_credentials"), ("client_id", "spa")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (400, "unauthorized_client".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn unknown_client_or_unregistered_redirect_uri_gets_a_page_not_a_redirect() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "client_id", "nobody");
    let resp = http.get(op.authorization_endpoint()).query(&params).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());

    let mut params = authz_params(&challenge);
    set(&mut params, "redirect_uri", "http://127.0.0.1:9/cb/../evil");
    let resp = http.get(op.authorization_endpoint()).query(&params).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(op.last_authorization_request().is_none());
    op.shutdown().await;
}

async fn authorize_error(op: &rpkit_conformance::RunningProvider, params: &[(String, String)]) -> (String, String) {
    let resp = http().get(op.authorization_endpoint()).query(params).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let p = location_params(&resp);
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], op.issuer());
    (p["error"].clone(), p.get("error_description").cloned().unwrap_or_default())
}

#[tokio::test]
async fn missing_or_plain_pkce_is_an_invalid_request() {
    let op = start().await;
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    unset(&mut params, "code_challenge");
    unset(&mut params, "code_challenge_method");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");

    let mut params = authz_params(&challenge);
    set(&mut params, "code_challenge_method", "plain");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");

    let mut params = authz_params(&challenge);
    set(&mut params, "code_challenge", "short");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");
    op.shutdown().await;
}

#[tokio::test]
async fn pkce_can_be_optional_for_confidential_clients_only() {
    let op = builder()
        .require_pkce(false)
        .client(ClientRegistration::public("spa").redirect_uri(REDIRECT))
        .start()
        .await
        .unwrap();
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    unset(&mut params, "code_challenge");
    unset(&mut params, "code_challenge_method");
    let http = http();
    let id = open_login_form(&op, &http, &params).await;
    assert!(!id.is_empty());
    set(&mut params, "client_id", "spa");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");
    op.shutdown().await;
}

#[tokio::test]
async fn other_response_types_and_modes_are_refused() {
    let op = start().await;
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "response_type", "token");
    assert_eq!(authorize_error(&op, &params).await.0, "unsupported_response_type");
    let mut params = authz_params(&challenge);
    set(&mut params, "response_mode", "fragment");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");
    let mut params = authz_params(&challenge);
    // Request objects are supported now (RFC 9101): one that does not parse is refused.
    set(&mut params, "request", "eyJ.eyJ.sig");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request_object");
    let mut params = authz_params(&challenge);
    set(&mut params, "max_age", "-1");
    assert_eq!(authorize_error(&op, &params).await.0, "invalid_request");
    op.shutdown().await;
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let op = start().await;
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "prompt", "none");
    assert_eq!(authorize_error(&op, &params).await.0, "login_required");
    op.shutdown().await;
}

#[tokio::test]
async fn unknown_user_and_cancel_are_access_denied() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let id = open_login_form(&op, &http, &authz_params(&challenge)).await;
    let resp = submit_login(&op, &http, &id, "mallory").await;
    assert_eq!(resp.status(), 302);
    let p = location_params(&resp);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-123");
    assert!(session_cookie(&resp).is_none());

    let id = open_login_form(&op, &http, &authz_params(&challenge)).await;
    let resp = http
        .post(op.authorization_endpoint())
        .form(&[("login_request", id.as_str()), ("cancel", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(location_params(&resp)["error"], "access_denied");
    op.shutdown().await;
}

#[tokio::test]
async fn a_login_request_is_single_use() {
    let op = start().await;
    let http = http();
    let (_, challenge) = pkce();
    let id = open_login_form(&op, &http, &authz_params(&challenge)).await;
    assert_eq!(submit_login(&op, &http, &id, "alice").await.status(), 302);
    assert_eq!(submit_login(&op, &http, &id, "alice").await.status(), 400);
    op.shutdown().await;
}

#[tokio::test]
async fn the_login_form_escapes_what_it_echoes() {
    let op = start().await;
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    set(&mut params, "scope", "openid <script>alert(1)</script>\"");
    let html = http().get(op.authorization_endpoint()).query(&params).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    op.shutdown().await;
}

#[tokio::test]
async fn duplicate_authorization_parameters_are_rejected() {
    let op = start().await;
    let (_, challenge) = pkce();
    let mut params = authz_params(&challenge);
    params.push(("state".into(), "second".into()));
    let resp = http().get(op.authorization_endpoint()).query(&params).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    op.shutdown().await;
}

#[tokio::test]
async fn userinfo_refuses_query_tokens_unknown_tokens_and_missing_openid() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let at = tok["access_token"].as_str().unwrap();

    let resp = http.get(op.userinfo_endpoint()).query(&[("access_token", at)]).send().await.unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_request".into()));

    let resp = http.get(op.userinfo_endpoint()).bearer_auth("not-a-token").send().await.unwrap();
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(error_of(resp).await, (401, "invalid_token".into()));

    let resp = http.get(op.userinfo_endpoint()).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    let resp = http.post(op.userinfo_endpoint()).bearer_auth(at).form(&[("access_token", at)]).send().await.unwrap();
    assert_eq!(error_of(resp).await, (400, "invalid_request".into()));

    let cc: Value = http
        .post(op.token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = http.get(op.userinfo_endpoint()).bearer_auth(cc["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(error_of(resp).await, (403, "insufficient_scope".into()));
    op.shutdown().await;
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let op = builder().access_token_lifetime(std::time::Duration::from_secs(1)).start().await.unwrap();
    let http = http();
    let tok = tokens(&op, &http).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let resp =
        http.get(op.userinfo_endpoint()).bearer_auth(tok["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    op.shutdown().await;
}

#[tokio::test]
async fn end_session_rejects_forged_hints_and_unregistered_redirects() {
    let op = start().await;
    let http = http();
    let tok = tokens(&op, &http).await;
    let id_token = tok["id_token"].as_str().unwrap();

    // A hint whose signature does not verify.
    let sig_start = id_token.rfind('.').unwrap() + 1;
    let mid = sig_start + 10;
    let flipped = if &id_token[mid..=mid] == "A" { "B" } else { "A" };
    let forged = format!("{}{}{}", &id_token[..mid], flipped, &id_token[mid + 1..]);
    let resp = http.get(op.end_session_endpoint()).query(&[("id_token_hint", forged.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 400);

    // An unsigned hint.
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), Value::from(op.issuer()));
    claims.insert("aud".into(), Value::from(CLIENT_ID));
    let unsigned = op.sign_jwt(rpkit_conformance::SigningAlg::None, "JWT", &claims).unwrap();
    let resp = http.get(op.end_session_endpoint()).query(&[("id_token_hint", unsigned.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 400);

    // A post-logout URI that is not registered.
    let resp = http
        .get(op.end_session_endpoint())
        .query(&[("id_token_hint", id_token), ("post_logout_redirect_uri", "http://127.0.0.1:9/evil")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());

    // A post-logout URI without any way to tell the client.
    let resp =
        http.get(op.end_session_endpoint()).query(&[("post_logout_redirect_uri", POST_LOGOUT)]).send().await.unwrap();
    assert_eq!(resp.status(), 400);

    // A client_id that is not the hint's audience.
    let resp = http
        .get(op.end_session_endpoint())
        .query(&[("id_token_hint", id_token), ("client_id", "other")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(op.sessions().len(), 1, "nothing was logged out");
    op.shutdown().await;
}

#[tokio::test]
async fn builder_rejects_unusable_registrations() {
    let err =
        DevProvider::builder().client(client().backchannel_logout_uri("http://10.0.0.1/bc")).start().await.unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidClient { .. }), "{err}");

    let err = DevProvider::builder()
        .client(ClientRegistration::confidential("c", "s").redirect_uri("/relative"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidClient { .. }));

    let err = DevProvider::builder().client(client()).client(client()).start().await.unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidClient { .. }));

    let err = DevProvider::builder()
        .client(client().private_key_jwt_key(serde_json::json!({"kty": "RSA"})))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidClient { .. }));

    let err = DevProvider::builder()
        .client(client().id_token_encryption_key(serde_json::json!({"kty": "oct", "k": "AAAA"})))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidClient { .. }));

    let err = DevProvider::builder().user(DevUser::new("a")).user(DevUser::new("a")).start().await.unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidUser { .. }));

    let err = DevProvider::builder().auto_login("ghost").start().await.unwrap_err();
    assert!(matches!(err, DevProviderError::InvalidUser { .. }));

    let err = DevProvider::builder().bind("0.0.0.0:0".parse().unwrap()).start().await.unwrap_err();
    assert!(matches!(err, DevProviderError::Bind(_)));
}

#[tokio::test]
async fn client_assertion_checks_audience_subject_and_type() {
    let op = start().await;
    let http = http();
    let signer = josekit::jws::HS256.signer_from_bytes(SECRET).unwrap();
    let header = josekit::jws::JwsHeader::new();
    let base = || {
        let mut p = josekit::jwt::JwtPayload::new();
        p.set_issuer(CLIENT_ID);
        p.set_subject(CLIENT_ID);
        p.set_audience(vec![op.token_endpoint()]);
        p.set_expires_at(&(std::time::SystemTime::now() + std::time::Duration::from_secs(60)));
        p
    };
    let send = |jwt: String, typ: &'static str| {
        let http = http.clone();
        let url = op.token_endpoint();
        async move {
            http.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", typ),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    let mut p = base();
    p.set_jwt_id("a1");
    p.set_audience(vec!["https://elsewhere.example/token"]);
    let jwt = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    assert_eq!(error_of(send(jwt, JWT_BEARER).await).await.1, "invalid_client");

    let mut p = base();
    p.set_jwt_id("a2");
    p.set_subject("someone-else");
    let jwt = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    assert_eq!(error_of(send(jwt, JWT_BEARER).await).await.1, "invalid_client");

    let mut p = base();
    p.set_jwt_id("a3");
    p.set_expires_at(&(std::time::SystemTime::now() - std::time::Duration::from_secs(60)));
    let jwt = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    assert_eq!(error_of(send(jwt, JWT_BEARER).await).await.1, "invalid_client");

    let mut p = base();
    p.set_jwt_id("a4");
    let jwt = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    assert_eq!(error_of(send(jwt, "urn:wrong").await).await.1, "invalid_request");

    let p = base(); // no jti
    let jwt = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    assert_eq!(error_of(send(jwt, JWT_BEARER).await).await.1, "invalid_client");
    op.shutdown().await;
}
