//! Prints what each committed seed reaches: the outcome of the main call of its target
//! (`ok` or the error), so a seed that no longer gets past the outer checks (an expired
//! key, a changed claim rule) shows up. Run from `fuzz/`: `cargo run --example show_seeds`.

use rpkit::callback::{validate_callback, CallbackParams};
use rpkit::discovery::MetadataCache;
use rpkit::id_token::IdTokenValidator;
use rpkit::jose::{jwe, verify_jws, AlgPolicy, Algorithm};
use rpkit::jwks::JwkSet;
use rpkit::logout::{
    parse_backchannel_request, validate_logout_response, validate_logout_token, BackchannelLogoutValidator,
    PendingLogout,
};
use rpkit::secret::{AccessToken, AuthorizationCode, Nonce};
use rpkit::token::{parse_token_response, Grant};
use rpkit::userinfo::{parse_userinfo, UserInfoContext};
use rpkit::ClientConfig;
use rpkit_fuzz::*;
use rpkit_settings::{Format, Settings};
use std::fmt::Debug;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut targets: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    targets.sort();
    for dir in targets {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut seeds: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seed-"))
            .collect();
        seeds.sort();
        for seed in seeds {
            let data = std::fs::read(&seed).unwrap();
            let outcome = run(&target, &data);
            println!("{target:15} {:40} {outcome}", seed.file_name().unwrap().to_string_lossy());
        }
    }
}

fn show<T, E: Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn run(target: &str, data: &[u8]) -> String {
    let fx = fixture();
    let text = String::from_utf8_lossy(data);
    let all = AlgPolicy::from_algorithms(Algorithm::ALL);
    match target {
        "callback" => {
            let params = match CallbackParams::from_query(&text) {
                Ok(p) => p,
                Err(e) => return format!("{e:?}"),
            };
            let md = metadata(true);
            show(validate_callback(&params, &mut pending_set(), &config(), Some(&md), NOW))
        }
        "token_response" => {
            let r = response(data);
            let grants = [Grant::AuthorizationCode { openid: true }, Grant::Refresh, Grant::ClientCredentials];
            grants.iter().map(|g| show(parse_token_response(&r, NOW, *g))).collect::<Vec<_>>().join(" | ")
        }
        "discovery" => show(MetadataCache::from_response(&response(data), ISSUER, NOW)),
        "jwks" => match JwkSet::parse(data) {
            Ok(set) => format!("ok: {} keys", set.len()),
            Err(_) => JwkSet::from_response(&response(data))
                .map_or_else(|e| format!("{e:?}"), |s| format!("ok (response): {} keys", s.len())),
        },
        "jws" => show(verify_jws(&text, &fx.jwks, &all, Some(&fx.secret))),
        "id_token" => {
            let base = IdTokenValidator::new(ISSUER, CLIENT_ID).algorithms(all).hmac_secret(fx.secret.clone());
            let v = if jwe_like(&text) { base.decryption_key(fx.dec_rsa.clone()) } else { base.nonce(NONCE) };
            let strict = v
                .clone()
                .access_token(&AccessToken::new(ACCESS_TOKEN))
                .code(&AuthorizationCode::new(CODE))
                .require_at_hash(true)
                .require_c_hash(true);
            let ec = IdTokenValidator::new(ISSUER, CLIENT_ID).algorithms(all).decryption_key(fx.dec_ec.clone());
            format!(
                "{} | strict {} | ec {}",
                show(v.validate(&text, &fx.jwks, NOW)),
                show(strict.validate(&text, &fx.jwks, NOW)),
                show(ec.validate(&text, &fx.jwks, NOW))
            )
        }
        "jwe" => {
            format!("rsa {} | ec {}", show(jwe::decrypt(&text, &fx.dec_rsa)), show(jwe::decrypt(&text, &fx.dec_ec)))
        }
        "userinfo" => {
            let ctx = UserInfoContext {
                issuer: Some(ISSUER.into()),
                client_id: Some(CLIENT_ID.into()),
                policy: all,
                hmac_secret: Some(fx.secret.clone()),
                decryption_key: Some(fx.dec_rsa.clone()),
            };
            show(parse_userinfo(&response(data), Some("248289761001"), Some(&fx.jwks), &ctx))
        }
        "logout" => {
            let token = parse_backchannel_request(data).unwrap_or_else(|_| text.to_string());
            let v = BackchannelLogoutValidator::new(ISSUER, CLIENT_ID).policy(all).hmac_secret(fx.secret.clone());
            let v = if jwe_like(&token) { v.decryption_key(fx.dec_ec.clone()) } else { v };
            let mut pending = rpkit::logout::PendingLogouts::new();
            pending.insert(
                PendingLogout {
                    client: CLIENT_NAME.into(),
                    state: Nonce::new(STATE),
                    post_logout_redirect_uri: "https://client.example.org/bye".into(),
                    created_at: NOW.minus(30),
                },
                8,
            );
            format!(
                "token {} | response {}",
                show(validate_logout_token(&token, &v, &fx.jwks, NOW, None)),
                show(validate_logout_response(&text, &mut pending, NOW, 600))
            )
        }
        "settings" => {
            let json = Settings::parse(&text, Format::Json, "s.json").map(|s| s.len());
            let toml = Settings::parse(&text, Format::Toml, "s.toml").map(|s| s.len());
            let value = serde_json::from_slice(data).map_err(|e| e.to_string());
            let client = value.and_then(|v| ClientConfig::from_value("x", &v).map_err(|e| e.to_string()));
            let keys = client.as_ref().ok().map(|c| show(IdTokenValidator::from_config(c, None)));
            format!("json {json:?} | toml {toml:?} | client {} {keys:?}", show(client.as_ref()))
        }
        other => format!("unknown target {other}"),
    }
}

fn jwe_like(text: &str) -> bool {
    rpkit::jose::is_jwe(text.trim())
}
