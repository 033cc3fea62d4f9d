//! Token response parsing: `rpkit::token::parse_token_response` against the peers'
//! response types.
//!
//! Run with `cargo bench -p rpkit --bench token` (add `-- --interleaved-only` for the
//! interleaved table alone).
//!
//! The response is a realistic ~1.2 KB JSON body: an RS256 `id_token`, opaque access and
//! refresh tokens, `token_type`, `expires_in`, `scope` and one extension member.
//!
//! - `rpkit`: `parse_token_response` on an `http::Response` (content type, size limit,
//!   error object, every member checked; the `id_token` kept as a string, decoded later
//!   exactly once by the validator).
//! - `oauth2`: v5 `serde_json::from_slice::<BasicTokenResponse>` (no `id_token` field).
//! - `openidconnect`: v4 `serde_json::from_slice::<CoreTokenResponse>`, which splits and
//!   decodes the ID token's header and claims while parsing (and again when verifying).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

#[path = "support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, Criterion};
use rpkit::jose::b64;
use rpkit::time::UnixTime;
use rpkit::token::{parse_token_response, Grant};
use serde_json::json;

const CONTENDERS: [&str; 3] = ["rpkit", "oauth2", "openidconnect"];
const GRANT: Grant = Grant::AuthorizationCode { openid: true };

fn id_token(now: u64) -> String {
    let header = json!({"alg": "RS256", "kid": "rsa3", "typ": "JWT"});
    let claims = json!({
        "iss": "https://op.example", "sub": "248289761001", "aud": "client-1", "exp": now + 3600,
        "iat": now, "auth_time": now - 100, "nonce": "n-0S6_WzA2Mj", "azp": "client-1",
        "at_hash": "ZCSLNjiUkpC-CO0xqyEDTQ", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
        "acr": "urn:mace:incommon:iap:silver", "amr": ["pwd", "mfa"], "email": "janedoe@example.com",
    });
    // Parsing never verifies: a signature of the right length (RSA 2048) is enough.
    let signature: Vec<u8> = (0..=255u8).collect();
    format!(
        "{}.{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes()),
        b64::encode(&signature)
    )
}

fn body(id_token: &str) -> Vec<u8> {
    json!({
        "access_token": "SlAV32hkKG-2FPlrXgJ9cWqhkN8RbQaBuT6qYvZeYx4mT3kL",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "8xLOxBtZp8-Rk2Hd7wLqvN4mCjXa9PfTs0uEy6KgQhVb1o",
        "scope": "openid email profile offline_access",
        "id_token": id_token,
        "session_state": "5b2c3f0e-6a1d-4e8f-9c7b-2d4a6f8e0b1c",
    })
    .to_string()
    .into_bytes()
}

fn json_response(body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder().status(200).header("content-type", "application/json").body(body).unwrap()
}

struct Setup {
    now: UnixTime,
    response: http::Response<Vec<u8>>,
}

impl Setup {
    fn new() -> Self {
        let now = UnixTime::from_secs(1_700_000_000);
        let token = id_token(now.as_secs());
        let response = json_response(body(&token));
        let len = response.body().len();
        assert!((1100..1400).contains(&len), "response is {len} bytes");

        // The parse keeps the ID token as the string received: nothing decoded, no claims.
        let parsed = parse_token_response(&response, now, GRANT).unwrap();
        assert_eq!(parsed.id_token.as_ref().map(|t| t.secret()), Some(token.as_str()));
        assert!(parsed.userinfo.is_none());
        // And an ID token that cannot be decoded at all parses just the same: the parse
        // does not look inside it (it is decoded once, by the validator).
        let opaque = parse_token_response(&json_response(body("not.base64url!.at-all")), now, GRANT).unwrap();
        assert_eq!(opaque.id_token.as_ref().map(|t| t.secret()), Some("not.base64url!.at-all"));
        Setup { now, response }
    }

    /// Runs contender `which` (an index into [`CONTENDERS`]) once.
    fn run(&self, which: usize) -> usize {
        let response = black_box(&self.response);
        match which {
            0 => parse_token_response(response, self.now, GRANT).unwrap().access_token.secret().len(),
            1 => {
                use oauth2::TokenResponse;
                let t: oauth2::basic::BasicTokenResponse = serde_json::from_slice(response.body()).unwrap();
                t.access_token().secret().len()
            }
            _ => {
                use openidconnect::OAuth2TokenResponse;
                let t: openidconnect::core::CoreTokenResponse = serde_json::from_slice(response.body()).unwrap();
                t.access_token().secret().len()
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let setup = Setup::new();
    support::group(c, "token_response", &CONTENDERS, |which| setup.run(which));
}

criterion_group! {
    name = benches;
    config = support::criterion(std::time::Duration::from_secs(3));
    targets = bench
}

fn main() {
    if !support::interleaved_only() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    let (rounds, batch) = (300, 200);
    let setup = Setup::new();
    println!("\ninterleaved minimum per call ({rounds} rounds x {batch} calls), ratio to rpkit:");
    let best = support::minimum_per_call(rounds, batch, CONTENDERS.len(), |which| setup.run(which));
    support::print_ratios("token", &CONTENDERS, &best, 0);
}
