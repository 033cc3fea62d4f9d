//! ID token validation: rpkit against the raw `ring` signature check and two peer crates.
//!
//! Same tokens for everyone: RS256 (a 3-key JWK Set, looked up by `kid`), ES256, EdDSA;
//! ~650-byte claims with 19 members. Run with `cargo bench -p rpkit --bench id_token`.
//!
//! - `ring_floor`: `ring` verifying pre-decoded signing input and signature with a
//!   pre-decoded key — no parsing, no claims: the floor any validator sits on.
//! - `rpkit_verify_jws`: rpkit's JWS check alone (parse, key by kid, verify, decode payload).
//! - `aws_lc_floor` (with `--features aws-lc-rs`): the same floor with `aws-lc-rs`.
//! - `rpkit`: full OIDC Core §3.1.3.7 validation, then `sub` read from the returned claims
//!   (the claims' map is not built: nothing asked for it).
//! - `rpkit_map`: the same, then the whole claims map (`as_map`), as before claims were lazy.
//! - `jsonwebtoken`: v11 with `aws_lc_rs`: `decode_header`, key by kid, `decode` with
//!   issuer, audience and required claims, into a JSON map.
//! - `jsonwebtoken_sub`: the same into a struct holding only `sub`.
//! - `openidconnect`: v4 `CoreIdToken::from_str` + `claims(&verifier, &nonce)`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

#[path = "support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, Criterion};
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use rpkit::id_token::IdTokenValidator;
use rpkit::jose::{b64, verify_jws, AlgPolicy, Algorithm};
use rpkit::jwks::JwkSet;
use rpkit::time::UnixTime;
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::SystemTime;

const ISS: &str = "https://op.example";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";

const RSA: [&[u8]; 3] = [
    include_bytes!("../src/jose/testdata/rsa1.pk8"),
    include_bytes!("../src/jose/testdata/rsa2.pk8"),
    include_bytes!("../src/jose/testdata/rsa3.pk8"),
];

fn claims(now: u64) -> Value {
    json!({
        "iss": ISS, "sub": "248289761001", "aud": CLIENT, "exp": now + 86_400, "iat": now - 10,
        "auth_time": now - 100, "nonce": NONCE, "azp": CLIENT, "at_hash": "ZCSLNjiUkpC-CO0xqyEDTQ",
        "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "acr": "urn:mace:incommon:iap:silver",
        "amr": ["pwd", "mfa"], "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
        "email": "janedoe@example.com", "email_verified": true,
        "picture": "https://op.example/users/248289761001/avatar-200x200.jpg",
        "groups": ["engineering", "platform", "on-call", "admins-readonly"],
    })
}

/// One algorithm's token, keys in every form the contenders need, and the floor's inputs.
struct Case {
    name: &'static str,
    alg: Algorithm,
    token: String,
    jwks_json: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    floor_key: FloorKey,
}

enum FloorKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Point(&'static sig::EdDSAParameters, Vec<u8>),
    Ec(&'static sig::EcdsaVerificationAlgorithm, Vec<u8>),
}

fn mint(header: Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> (String, Vec<u8>, Vec<u8>) {
    let input =
        format!("{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(claims.to_string().as_bytes()));
    let signature = sign(input.as_bytes());
    let token = format!("{input}.{}", b64::encode(&signature));
    (token, input.into_bytes(), signature)
}

fn cases(now: u64) -> Vec<Case> {
    let rng = ring::rand::SystemRandom::new();
    let c = claims(now);
    let mut out = Vec::new();

    // RS256 with three keys; the token is signed by the last one.
    let rsa: Vec<RsaKeyPair> = RSA.iter().map(|der| RsaKeyPair::from_pkcs8(der).unwrap()).collect();
    let comps: Vec<sig::RsaPublicKeyComponents<Vec<u8>>> = rsa.iter().map(|k| k.public().into()).collect();
    let jwks: Vec<Value> = comps
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"kty": "RSA", "kid": format!("rsa{}", i + 1), "use": "sig", "alg": "RS256",
            "n": b64::encode(&p.n), "e": b64::encode(&p.e)})
        })
        .collect();
    let (token, signing_input, signature) = mint(json!({"alg": "RS256", "kid": "rsa3", "typ": "JWT"}), &c, |m| {
        let mut s = vec![0; rsa[2].public().modulus_len()];
        rsa[2].sign(&sig::RSA_PKCS1_SHA256, &rng, m, &mut s).unwrap();
        s
    });
    out.push(Case {
        name: "RS256",
        alg: Algorithm::Rs256,
        token,
        jwks_json: json!({ "keys": jwks }).to_string(),
        signing_input,
        signature,
        floor_key: FloorKey::Rsa { n: comps[2].n.clone(), e: comps[2].e.clone() },
    });

    // ES256.
    let ec = EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        include_bytes!("../src/jose/testdata/p256.pk8"),
        &rng,
    )
    .unwrap();
    let point = ec.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "p256", "use": "sig", "alg": "ES256",
        "x": b64::encode(&point[1..33]), "y": b64::encode(&point[33..])});
    let (token, signing_input, signature) =
        mint(json!({"alg": "ES256", "kid": "p256", "typ": "JWT"}), &c, |m| ec.sign(&rng, m).unwrap().as_ref().to_vec());
    out.push(Case {
        name: "ES256",
        alg: Algorithm::Es256,
        token,
        jwks_json: json!({ "keys": [jwk] }).to_string(),
        signing_input,
        signature,
        floor_key: FloorKey::Ec(&sig::ECDSA_P256_SHA256_FIXED, point),
    });

    // EdDSA (Ed25519).
    let ed = Ed25519KeyPair::from_seed_unchecked(&[42; 32]).unwrap();
    let raw = ed.public_key().as_ref().to_vec();
    let jwk =
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "use": "sig", "alg": "EdDSA", "x": b64::encode(&raw)});
    let (token, signing_input, signature) =
        mint(json!({"alg": "EdDSA", "kid": "ed", "typ": "JWT"}), &c, |m| ed.sign(m).as_ref().to_vec());
    out.push(Case {
        name: "EdDSA",
        alg: Algorithm::EdDsa,
        token,
        jwks_json: json!({ "keys": [jwk] }).to_string(),
        signing_input,
        signature,
        floor_key: FloorKey::Point(&sig::ED25519, raw),
    });
    out
}

fn floor(case: &Case) -> bool {
    match &case.floor_key {
        FloorKey::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
            .verify(&sig::RSA_PKCS1_2048_8192_SHA256, &case.signing_input, &case.signature)
            .is_ok(),
        FloorKey::Ec(alg, point) => {
            sig::UnparsedPublicKey::new(*alg, point).verify(&case.signing_input, &case.signature).is_ok()
        }
        FloorKey::Point(alg, raw) => {
            sig::UnparsedPublicKey::new(*alg, raw).verify(&case.signing_input, &case.signature).is_ok()
        }
    }
}

fn jsonwebtoken_keys(case: &Case) -> Vec<(String, jsonwebtoken::DecodingKey)> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&case.jwks_json).unwrap();
    set.keys
        .iter()
        .map(|k| (k.common.key_id.clone().unwrap(), jsonwebtoken::DecodingKey::from_jwk(k).unwrap()))
        .collect()
}

/// Everything each contender prepares once (keys parsed, verifiers built), outside timing.
struct Setup {
    now: UnixTime,
    keys: JwkSet,
    policy: AlgPolicy,
    validator: IdTokenValidator,
    jwt_keys: Vec<(String, jsonwebtoken::DecodingKey)>,
    jwt_validation: jsonwebtoken::Validation,
    oidc_verifier: openidconnect::core::CoreIdTokenVerifier<'static>,
    oidc_nonce: openidconnect::Nonce,
}

const CONTENDERS: &[&str] = &[
    "ring_floor",
    #[cfg(feature = "aws-lc-rs")]
    "aws_lc_floor",
    "rpkit_verify_jws",
    "rpkit",
    "rpkit_map",
    "jsonwebtoken",
    "jsonwebtoken_sub",
    "openidconnect",
];

/// The claims `jsonwebtoken_sub` asks for.
#[derive(serde::Deserialize)]
struct Sub {
    sub: String,
}

#[cfg(feature = "aws-lc-rs")]
fn aws_lc_floor(case: &Case) -> bool {
    use aws_lc_rs::signature as alc;
    match &case.floor_key {
        FloorKey::Rsa { n, e } => alc::RsaPublicKeyComponents { n, e }
            .verify(&alc::RSA_PKCS1_2048_8192_SHA256, &case.signing_input, &case.signature)
            .is_ok(),
        FloorKey::Ec(_, point) => alc::UnparsedPublicKey::new(&alc::ECDSA_P256_SHA256_FIXED, point)
            .verify(&case.signing_input, &case.signature)
            .is_ok(),
        FloorKey::Point(_, raw) => {
            alc::UnparsedPublicKey::new(&alc::ED25519, raw).verify(&case.signing_input, &case.signature).is_ok()
        }
    }
}

impl Setup {
    fn new(case: &Case, now: UnixTime) -> Self {
        use openidconnect::core::{CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
        let keys = JwkSet::parse(case.jwks_json.as_bytes()).unwrap();
        let policy = AlgPolicy::from_algorithms([case.alg]);
        let validator = IdTokenValidator::new(ISS, CLIENT).algorithms(policy).nonce(NONCE);
        let (jwt_alg, oidc_alg) = match case.alg {
            Algorithm::Rs256 => (jsonwebtoken::Algorithm::RS256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
            Algorithm::Es256 => (jsonwebtoken::Algorithm::ES256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
            _ => (jsonwebtoken::Algorithm::EdDSA, CoreJwsSigningAlgorithm::EdDsa),
        };
        let mut jwt_validation = jsonwebtoken::Validation::new(jwt_alg);
        jwt_validation.set_audience(&[CLIENT]);
        jwt_validation.set_issuer(&[ISS]);
        jwt_validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let oidc_jwks: CoreJsonWebKeySet = serde_json::from_str(&case.jwks_json).unwrap();
        let oidc_verifier = CoreIdTokenVerifier::new_public_client(
            openidconnect::ClientId::new(CLIENT.into()),
            openidconnect::IssuerUrl::new(ISS.into()).unwrap(),
            oidc_jwks,
        )
        .set_allowed_algs(vec![oidc_alg]);
        Setup {
            now,
            keys,
            policy,
            validator,
            jwt_keys: jsonwebtoken_keys(case),
            jwt_validation,
            oidc_verifier,
            oidc_nonce: openidconnect::Nonce::new(NONCE.into()),
        }
    }

    fn jsonwebtoken<T: serde::de::DeserializeOwned>(&self, token: &str) -> T {
        let header = jsonwebtoken::decode_header(token).unwrap();
        let kid = header.kid.as_deref().unwrap();
        let key = &self.jwt_keys.iter().find(|(k, _)| k == kid).unwrap().1;
        jsonwebtoken::decode::<T>(token, key, &self.jwt_validation).unwrap().claims
    }

    /// Runs contender `which` (one of [`CONTENDERS`]) once; returns a claim count or length
    /// so the work cannot be optimized away.
    fn run(&self, which: &str, case: &Case) -> usize {
        let token = black_box(case.token.as_str());
        match which {
            "ring_floor" => usize::from(floor(case)),
            #[cfg(feature = "aws-lc-rs")]
            "aws_lc_floor" => usize::from(aws_lc_floor(case)),
            "rpkit_verify_jws" => verify_jws(token, &self.keys, &self.policy, None).unwrap().payload.len(),
            "rpkit" => self.validator.validate(token, &self.keys, self.now).unwrap().sub().unwrap().len(),
            "rpkit_map" => self.validator.validate(token, &self.keys, self.now).unwrap().as_map().len(),
            "jsonwebtoken" => self.jsonwebtoken::<serde_json::Map<String, Value>>(token).len(),
            "jsonwebtoken_sub" => self.jsonwebtoken::<Sub>(token).sub.len(),
            _ => {
                let t = openidconnect::core::CoreIdToken::from_str(token).unwrap();
                t.claims(&self.oidc_verifier, &self.oidc_nonce).unwrap().subject().len()
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let now = UnixTime::from_system_time(SystemTime::now());
    for case in cases(now.as_secs()) {
        let setup = Setup::new(&case, now);
        let expected = [("rpkit", 12), ("rpkit_map", 19), ("jsonwebtoken", 19), ("jsonwebtoken_sub", 12)];
        for (which, n) in expected.into_iter().chain([("openidconnect", 12), ("ring_floor", 1)]) {
            assert_eq!(setup.run(which, &case), n, "{which}");
        }
        let mut group = c.benchmark_group(format!("id_token/{}", case.name));
        for name in CONTENDERS {
            group.bench_function(*name, |b| b.iter(|| setup.run(name, &case)));
        }
        group.finish();
    }
}

/// The interleaved minima (see `support`), per algorithm.
fn interleaved(rounds: usize, batch: usize) {
    let now = UnixTime::from_system_time(SystemTime::now());
    println!("\ninterleaved minimum per call ({rounds} rounds x {batch} calls), ratio to ring_floor:");
    for case in cases(now.as_secs()) {
        let setup = Setup::new(&case, now);
        let best =
            support::minimum_per_call(rounds, batch, CONTENDERS.len(), |which| setup.run(CONTENDERS[which], &case));
        support::print_ratios(case.name, CONTENDERS, &best, 0);
    }
}

criterion_group! {
    name = benches;
    config = support::criterion(std::time::Duration::from_secs(4));
    targets = bench
}

/// `--profile ALG CONTENDER SECONDS`: runs one contender in a loop, for `perf record`.
fn profile(alg: &str, which: &str, seconds: u64) {
    let now = UnixTime::from_system_time(SystemTime::now());
    let case = cases(now.as_secs()).into_iter().find(|c| c.name == alg).expect("RS256, ES256 or EdDSA");
    let setup = Setup::new(&case, now);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut calls = 0u64;
    while std::time::Instant::now() < until {
        for _ in 0..100 {
            black_box(setup.run(which, &case));
        }
        calls += 100;
    }
    println!("{alg} {which}: {calls} calls");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        let arg = |k: usize| args.get(i + k).map(String::as_str);
        profile(arg(1).unwrap_or("RS256"), arg(2).unwrap_or("rpkit"), arg(3).and_then(|s| s.parse().ok()).unwrap_or(5));
        return;
    }
    let quick = args.iter().any(|a| a == "--interleaved-only");
    if !quick {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    interleaved(200, 20);
}
