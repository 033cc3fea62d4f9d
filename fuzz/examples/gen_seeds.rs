//! Writes the committed seed corpus: `fuzz/corpus/<target>/seed-*`.
//!
//! Run from `fuzz/`: `cargo run --example gen_seeds` (a plain build, no sanitizer). The
//! seeds are realistic, valid inputs signed and encrypted with the keys under `keys/`, so
//! fuzzing starts past the outer checks. ECDSA signatures and JWE encryption are
//! randomised, so a re-run rewrites those seeds with different (equally valid) bytes.

use josekit::jwe::{JweHeader, ECDH_ES, ECDH_ES_A128KW, RSA_OAEP, RSA_OAEP_256};
use rpkit::id_token::left_half_hash;
use rpkit::jose::sign::SigningKey;
use rpkit::jose::{b64, Algorithm};
use rpkit_fuzz::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

const RSA_ENC_PUB: &str = include_str!("../keys/rsa-enc.pub.pem");
const P256_ENC_PUB: &str = include_str!("../keys/p256-enc.pub.pem");

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let keys = all_signing_keys();
    let [rsa, ec, ed, hs] = [&keys[0], &keys[1], &keys[2], &keys[3]];
    let mut out = Seeds { root, count: 0 };

    // ---------------------------------------------------------------- callback
    let t = "callback";
    out.put(t, "query-code-state-iss", format!("code={CODE}&state={STATE}&iss=https%3A%2F%2Fop.example.com"));
    out.put(t, "query-leading-question-mark", format!("?code={CODE}&state={STATE}"));
    out.put(
        t,
        "form-post-with-session-state",
        format!("code={CODE}&state={STATE}&session_state=b7Qf2Z8X.kT4f9M&iss=https%3A%2F%2Fop.example.com"),
    );
    out.put(
        t,
        "provider-error",
        format!(
            "error=access_denied&error_description=The+resource+owner+denied+the+request&\
             error_uri=https%3A%2F%2Fop.example.com%2Ferrors%2Fdenied&state={STATE}"
        ),
    );
    out.put(t, "wrong-issuer", format!("code={CODE}&state={STATE}&iss=https%3A%2F%2Fevil.example.net"));
    out.put(t, "implicit-token-in-callback", format!("code={CODE}&state={STATE}&access_token=2YotnFZFEjr1zCsicMWpAA"));
    out.put(t, "percent-and-plus", format!("code=%53pl%78+%2B%zz&state={STATE}&&=x&scope=openid%20email"));
    out.put(t, "unknown-state", format!("code={CODE}&state=Zm9yZ2Vk"));

    // ---------------------------------------------------------------- token_response
    let t = "token_response";
    let id_token = rsa.sign_jwt(None, &id_token_claims()).unwrap();
    let json_head = "200\nContent-Type: application/json;charset=UTF-8\nCache-Control: no-store\nPragma: no-cache\n\n";
    out.put(
        t,
        "oidc-code-exchange",
        format!(
            "{json_head}{}",
            pretty(&json!({
                "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA", "scope": "openid profile email", "id_token": id_token,
            }))
        ),
    );
    out.put(
        t,
        "github-form",
        "200\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\n\n\
         access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
    );
    out.put(
        t,
        "github-text-plain",
        "200\nContent-Type: text/plain\n\naccess_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&token_type=bearer",
    );
    out.put(
        t,
        "keycloak-refresh",
        format!(
            "{json_head}{}",
            json!({
                "access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "expires_in": "300", "refresh_expires_in": 1800,
                "refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "token_type": "bearer", "not-before-policy": 0,
                "session_state": "a856fb91-eabc-460e-8f7a-b7a3a5a2c3d4", "scope": ["openid", "email", "profile"],
            })
        ),
    );
    out.put(
        t,
        "invalid-grant-400",
        "400\nContent-Type: application/json\n\n\
         {\"error\":\"invalid_grant\",\"error_description\":\"Refresh token expired\",\"error_uri\":\"https://op.example.com/e\"}",
    );
    out.put(t, "error-with-200", "200\nContent-Type: application/json\n\n{\"error\":\"slow_down\"}");
    out.put(t, "server-error-html", "503\nContent-Type: text/html\n\n<html><body>Service Unavailable</body></html>");
    out.put(t, "bare-json-no-head", "{\"access_token\":\"abc\",\"token_type\":\"mac\",\"expires_in\":1e3}");

    // ---------------------------------------------------------------- discovery
    let t = "discovery";
    let metadata = json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://op.example.com/authorize",
        "token_endpoint": "https://op.example.com/token",
        "userinfo_endpoint": "https://op.example.com/userinfo",
        "jwks_uri": "https://op.example.com/.well-known/jwks.json",
        "end_session_endpoint": "https://op.example.com/logout",
        "revocation_endpoint": "https://op.example.com/revoke",
        "introspection_endpoint": "https://op.example.com/introspect",
        "registration_endpoint": "https://op.example.com/register",
        "check_session_iframe": "https://op.example.com/check_session",
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code", "id_token", "code id_token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA", "HS256", "none"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "claims_supported": ["sub", "iss", "name", "email"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
    });
    out.put(
        t,
        "oidc-full",
        format!(
            "200\nContent-Type: application/json\nCache-Control: public, max-age=3600, must-revalidate\n\n{}",
            pretty(&metadata)
        ),
    );
    out.put(
        t,
        "rfc8414-minimal",
        format!(
            "200\nContent-Type: application/json\nCache-Control: no-cache\n\n{}",
            json!({"issuer": ISSUER, "authorization_endpoint": "https://op.example.com/authorize",
                   "token_endpoint": "https://op.example.com/token", "response_types_supported": ["code"]})
        ),
    );
    out.put(
        t,
        "other-issuer-http-endpoints",
        format!(
            "200\nCache-Control: max-age=\"99999999999999999999\"\nCache-Control: private\n\n{}",
            json!({"issuer": "http://localhost:8080/realms/dev", "token_endpoint": "http://localhost:8080/t",
                   "jwks_uri": "http://localhost:8080/certs", "mtls_endpoint_aliases": {"token_endpoint": "x"}})
        ),
    );
    out.put(t, "not-found", "404\nContent-Type: text/html\n\n<h1>Not Found</h1>");

    // ---------------------------------------------------------------- jwks
    let t = "jwks";
    out.put(t, "fixture-raw", jwks_json());
    let extra = |jwk: josekit::jwk::Jwk| -> Value {
        let public = jwk.to_public_key().unwrap();
        serde_json::from_str(&public.to_string()).unwrap()
    };
    let mut p384 = extra(josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P384).unwrap());
    p384["kid"] = json!("p384-2024");
    p384["alg"] = json!("ES384");
    let mut p521 = extra(josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P521).unwrap());
    p521["kid"] = json!("p521");
    let mut enc: Value = serde_json::from_str(&jwks_json()).unwrap();
    let keys_arr = enc["keys"].as_array_mut().unwrap();
    keys_arr.push(p384);
    keys_arr.push(p521);
    keys_arr.push(json!({"kty": "RSA", "use": "enc", "kid": "enc-1", "alg": "RSA-OAEP", "e": "AQAB",
        "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"}));
    keys_arr.push(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "sym"}));
    keys_arr.push(json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "k1"}));
    keys_arr.push(json!({"kty": "OKP", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}));
    out.put(
        t,
        "mixed-response",
        format!("200\nContent-Type: application/jwk-set+json\nCache-Control: max-age=86400\n\n{}", pretty(&enc)),
    );
    out.put(
        t,
        "one-ed25519-no-kid",
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})
        .to_string(),
    );

    // ---------------------------------------------------------------- jws
    let t = "jws";
    for (name, key) in [("rs256", rsa), ("es256", ec), ("eddsa", ed), ("hs256", hs)] {
        out.put(t, &format!("id-token-{name}"), key.sign_jwt(None, &id_token_claims()).unwrap());
    }
    out.put(
        t,
        "rs256-no-kid",
        jws(rsa, &json!({"alg": "RS256", "typ": "JWT"}), json!({"sub": "x"}).to_string().as_bytes()),
    );
    out.put(
        t,
        "eddsa-nested-cty",
        jws(ed, &json!({"alg": "EdDSA", "kid": "ed-1", "cty": "JWT", "jku": "https://evil/jwks"}), b"not json"),
    );
    out.put(t, "alg-none", format!("{}.{}.", b64::encode(br#"{"alg":"none"}"#), b64::encode(b"{}")));
    out.put(
        t,
        "crit",
        format!("{}.{}.c2ln", b64::encode(br#"{"alg":"RS256","crit":["b64"],"b64":false}"#), b64::encode(b"{}")),
    );

    // ---------------------------------------------------------------- id_token
    let t = "id_token";
    for (name, key) in [("rs256", rsa), ("es256", ec), ("eddsa", ed), ("hs256", hs)] {
        out.put(t, &format!("signed-{name}"), key.sign_jwt(None, &id_token_claims()).unwrap());
    }
    let mut strict = id_token_claims();
    strict["at_hash"] = json!(left_half_hash(Algorithm::Rs256, ACCESS_TOKEN));
    strict["c_hash"] = json!(left_half_hash(Algorithm::Rs256, CODE));
    strict["aud"] = json!([CLIENT_ID, "https://api.example.com"]);
    strict["azp"] = json!(CLIENT_ID);
    strict["nbf"] = json!(NOW.as_secs() - 10);
    strict["acr"] = json!("urn:mace:incommon:iap:silver");
    strict["amr"] = json!(["pwd", "mfa"]);
    let strict_token = rsa.sign_jwt(None, &strict).unwrap();
    out.put(t, "signed-rs256-hashes-azp", &strict_token);
    let mut refreshed = id_token_claims();
    refreshed.as_object_mut().unwrap().remove("nonce");
    refreshed["iat"] = json!(NOW.as_secs() - 1);
    out.put(t, "refreshed-no-nonce", ec.sign_jwt(None, &refreshed).unwrap());
    let logout_typ = jws(
        rsa,
        &json!({"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"}),
        id_token_claims().to_string().as_bytes(),
    );
    out.put(t, "typ-logout-jwt", &logout_typ);
    let inner = rsa.sign_jwt(None, &id_token_claims()).unwrap();
    let encrypted = [
        ("rsa-oaep-a256gcm", encrypt_rsa(false, "A256GCM", inner.as_bytes())),
        ("rsa-oaep-256-a128cbc-hs256", encrypt_rsa(true, "A128CBC-HS256", inner.as_bytes())),
        ("ecdh-es-a128gcm", encrypt_ec(false, "A128GCM", inner.as_bytes())),
        (
            "ecdh-es-a128kw-a256cbc-hs512",
            encrypt_ec(true, "A256CBC-HS512", ed.sign_jwt(None, &id_token_claims()).unwrap().as_bytes()),
        ),
    ];
    for (name, token) in &encrypted {
        out.put(t, &format!("encrypted-{name}"), token);
    }

    // ---------------------------------------------------------------- jwe
    let t = "jwe";
    for (name, token) in &encrypted {
        out.put(t, name, token);
    }
    out.put(t, "rsa-oaep-a192gcm-json", encrypt_rsa(false, "A192GCM", br#"{"sub":"248289761001"}"#));
    out.put(t, "ecdh-es-a192cbc-hs384", encrypt_ec(false, "A192CBC-HS384", b"plain text"));

    // ---------------------------------------------------------------- userinfo
    let t = "userinfo";
    let userinfo = json!({
        "sub": "248289761001", "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
        "preferred_username": "j.doe", "email": "janedoe@example.com", "email_verified": true,
        "picture": "https://example.com/janedoe/me.jpg", "address": {"country": "NZ"}, "updated_at": 1_690_000_000,
    });
    out.put(t, "json", format!("200\nContent-Type: application/json; charset=utf-8\n\n{}", pretty(&userinfo)));
    out.put(t, "json-no-content-type", format!("200\n\n{userinfo}"));
    let mut signed_claims = userinfo.clone();
    signed_claims["iss"] = json!(ISSUER);
    signed_claims["aud"] = json!(CLIENT_ID);
    let signed = rsa.sign_jwt(None, &signed_claims).unwrap();
    out.put(t, "jwt-rs256", format!("200\nContent-Type: application/jwt\n\n{signed}"));
    out.put(
        t,
        "jwt-hs256",
        format!("200\nContent-Type: application/jwt\n\n{}", hs.sign_jwt(None, &signed_claims).unwrap()),
    );
    out.put(
        t,
        "jwt-encrypted",
        format!("200\nContent-Type: application/jwt\n\n{}", encrypt_rsa(false, "A128GCM", signed.as_bytes())),
    );
    out.put(
        t,
        "bearer-invalid-token",
        "401\nWWW-Authenticate: Bearer realm=\"example\", error=\"invalid_token\", \
         error_description=\"The access token expired\", error_uri=\"https://op.example.com/e\"\n\n",
    );
    out.put(
        t,
        "error-json-403",
        "403\nContent-Type: application/problem+json\nWWW-Authenticate: Basic realm=x, Bearer scope=\"openid\"\n\n\
         {\"error\":\"insufficient_scope\",\"error_description\":\"needs openid\"}",
    );

    // ---------------------------------------------------------------- logout
    let t = "logout";
    let logout_claims = json!({
        "iss": ISSUER, "aud": CLIENT_ID, "iat": NOW.as_secs() - 5, "exp": NOW.as_secs() + 120,
        "jti": "bWJq", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "sub": "248289761001",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    let logout_header = json!({"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"});
    let logout_token = jws(rsa, &logout_header, logout_claims.to_string().as_bytes());
    out.put(t, "backchannel-rs256", format!("logout_token={logout_token}"));
    let mut sid_only = logout_claims.clone();
    sid_only.as_object_mut().unwrap().remove("sub");
    sid_only.as_object_mut().unwrap().remove("exp");
    out.put(
        t,
        "backchannel-eddsa-sid-only",
        format!(
            "logout_token={}",
            jws(
                ed,
                &json!({"alg": "EdDSA", "kid": "ed-1", "typ": "application/logout+jwt"}),
                sid_only.to_string().as_bytes()
            )
        ),
    );
    out.put(t, "raw-token-hs256", hs.sign_jwt(None, &logout_claims).unwrap());
    out.put(
        t,
        "backchannel-encrypted",
        format!("logout_token={}", encrypt_ec(true, "A128GCM", logout_token.as_bytes())),
    );
    out.put(t, "front-logout-response", format!("state={STATE}"));
    out.put(t, "front-logout-response-repeated", format!("?state={STATE}&state=other&foo=bar"));

    // ---------------------------------------------------------------- settings
    let t = "settings";
    out.put(
        t,
        "django-json",
        pretty(&json!({
            "DEBUG": false,
            "AUTHLIB_OAUTH_CLIENTS": {
                "github": {
                    "client_id": "Iv1.8a61f9b3a7aba766", "client_secret": "1f4c6f0e0d0b7d6d0f9c",
                    "access_token_url": "https://github.com/login/oauth/access_token",
                    "authorize_url": "https://github.com/login/oauth/authorize",
                    "api_base_url": "https://api.github.com/", "client_kwargs": {"scope": "user:email"},
                },
                "op": {
                    "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "server_metadata_url": "https://op.example.com/.well-known/openid-configuration",
                    "authorize_params": {"prompt": "consent", "max_age": 300},
                    "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                    "private_key": P256_PEM, "private_key_id": "ec-1",
                    "client_kwargs": {"scope": ["openid", "profile"], "token_endpoint_auth_method": "private_key_jwt",
                        "code_challenge_method": "S256", "leeway": 30, "timeout": 2.5, "max_pending": 4,
                        "pending_ttl": 300, "id_token_max_age": 600, "userinfo_post": true},
                },
            },
        })),
    );
    out.put(
        t,
        "toml",
        format!(
            "# rpkit settings\n[oauth_clients.google]\nclient_id = \"from-settings\"\n\
             client_secret = \"GOCSPX-abcdefghijklmnop\"\n\
             server_metadata_url = \"https://accounts.google.com/.well-known/openid-configuration\"\n\
             client_kwargs = {{ scope = \"openid profile email\", token_endpoint_auth_method = \"client_secret_post\" }}\n\n\
             [oauth_clients.op]\nclient_id = \"{CLIENT_ID}\"\nissuer = \"{ISSUER}\"\nredirect_uri = \"{REDIRECT_URI}\"\n\
             decryption_key = '''\n{RSA_ENC_PEM}'''\n\n[oauth_clients.op.authorize_params]\nprompt = \"login\"\n"
        ),
    );
    let mut jwk_key: Value = rpkit_fuzz::signing_keys()[2].public_jwk().unwrap();
    jwk_key["d"] = json!("not-the-private-half");
    out.put(
        t,
        "client-object-jwk-keys",
        pretty(&json!({
            "client_id": "jwk-client", "issuer": ISSUER, "private_key": jwk_key.to_string(),
            "decryption_key": json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}).to_string(),
            "jwks_uri": "https://op.example.com/jwks", "end_session_endpoint": "https://op.example.com/logout",
            "client_kwargs": {"token_placement": "header", "response_mode": "form_post"},
        })),
    );

    // ---------------------------------------------------------------- regressions
    // A JWE with a 15-byte IV and a CBC `enc` made OpenSSL panic inside josekit (found by
    // the `jwe` target). With ECDH-ES any curve point yields a content key, so this needs no
    // secret at all: the generator point as `epk`, zero IV, ciphertext and tag.
    let short_iv = short_cbc_iv_jwe();
    out.put("jwe", "regression-short-cbc-iv", &short_iv);
    out.put("id_token", "regression-short-cbc-iv", &short_iv);
    out.put("logout", "regression-short-cbc-iv", format!("logout_token={short_iv}"));
    out.put("userinfo", "regression-short-cbc-iv", format!("200\nContent-Type: application/jwt\n\n{short_iv}"));

    eprintln!("wrote {} seeds", out.count);
}

struct Seeds {
    root: PathBuf,
    count: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, content: impl AsRef<[u8]>) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{name}")), content).unwrap();
        self.count += 1;
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// A compact JWS of `payload` under `header`, signed by `key`.
fn jws(key: &SigningKey, header: &Value, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

/// An `ECDH-ES` / `A128CBC-HS256` JWE whose IV is one byte short (see the regressions).
fn short_cbc_iv_jwe() -> String {
    const P256_GX: &str = "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296";
    const P256_GY: &str = "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
    let hex = |h: &str| -> Vec<u8> {
        (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
    };
    let header = format!(
        r#"{{"alg":"ECDH-ES","enc":"A128CBC-HS256","epk":{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}}}"#,
        b64::encode(&hex(P256_GX)),
        b64::encode(&hex(P256_GY))
    );
    format!(
        "{}..{}.{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(&[0; 15]),
        b64::encode(&[0; 16]),
        b64::encode(&[0; 16])
    )
}

fn jwe_header(enc: &str) -> JweHeader {
    let mut header = JweHeader::new();
    header.set_content_encryption(enc);
    header.set_content_type("JWT");
    header
}

/// A JWE to the fixture's RSA decryption key (RSA-OAEP or RSA-OAEP-256).
fn encrypt_rsa(sha256: bool, enc: &str, payload: &[u8]) -> String {
    let alg = if sha256 { &RSA_OAEP_256 } else { &RSA_OAEP };
    let encrypter = alg.encrypter_from_pem(RSA_ENC_PUB).unwrap();
    josekit::jwe::serialize_compact(payload, &jwe_header(enc), &encrypter).unwrap()
}

/// A JWE to the fixture's P-256 decryption key (ECDH-ES or ECDH-ES+A128KW).
fn encrypt_ec(wrapped: bool, enc: &str, payload: &[u8]) -> String {
    let alg = if wrapped { &ECDH_ES_A128KW } else { &ECDH_ES };
    let encrypter = alg.encrypter_from_pem(P256_ENC_PUB).unwrap();
    josekit::jwe::serialize_compact(payload, &jwe_header(enc), &encrypter).unwrap()
}
