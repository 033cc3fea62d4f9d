//! DPoP proof building: `rpkit::dpop::DpopKey::proof` against a plain `ring` ES256
//! signature of the same signing input bytes, in one criterion group.
//!
//! Run with `cargo bench -p rpkit --bench dpop` (add `-- --interleaved-only` for the
//! interleaved table alone).
//!
//! - `proof`: a whole proof for a UserInfo call: a 128-bit `jti` from `ThreadRandom` (the
//!   client's default source), `htu` normalized (query and fragment dropped), the claims
//!   JSON with `nonce` and `ath` (SHA-256 of the access token), base64url, the ES256
//!   signature, the compact serialization.
//! - `ring_es256`: `ring`'s `EcdsaKeyPair::sign` (P-256, fixed-size signature) of a proof's
//!   signing input (`header.claims`, the same bytes), with the same key: the floor.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

#[path = "support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, Criterion};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rpkit::dpop::DpopKey;
use rpkit::jose::b64;
use rpkit::rand::ThreadRandom;
use rpkit::secret::AccessToken;
use rpkit::time::UnixTime;
use serde_json::Value;

const CONTENDERS: [&str; 2] = ["proof", "ring_es256"];
const HTU: &str = "https://op.example/userinfo?schema=openid#f";
const NONCE: &str = "eyJ7S_zG.eyJH0-Z.HX4w-7v";

struct Setup {
    key: DpopKey,
    ring_key: EcdsaKeyPair,
    ring_rng: ring::rand::SystemRandom,
    rng: ThreadRandom,
    now: UnixTime,
    token: AccessToken,
    signing_input: Vec<u8>,
}

impl Setup {
    fn new() -> Self {
        let rng = ThreadRandom::new();
        let material = DpopKey::generate_material(&rng).unwrap();
        let key = DpopKey::from_material(&material).unwrap();
        let jwk: Value = serde_json::from_str(material.secret()).unwrap();
        let member = |m: &str| b64::decode(jwk[m].as_str().unwrap()).unwrap();
        let mut public = vec![4u8];
        public.extend(member("x"));
        public.extend(member("y"));
        let ring_rng = ring::rand::SystemRandom::new();
        let ring_key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &member("d"),
            &public,
            &ring_rng,
        )
        .unwrap();
        let now = UnixTime::from_secs(1_700_000_000);
        let token = AccessToken::new("Kz~8qP3xN1vY5rT0wB7mJ2cH6fD9sL4aE");
        let proof = key.proof("GET", HTU, now, &rng, Some(NONCE), Some(&token)).unwrap();
        let (input, _) = proof.rsplit_once('.').unwrap();
        let signing_input = input.as_bytes().to_vec();
        Setup { key, ring_key, ring_rng, rng, now, token, signing_input }
    }

    fn run(&self, which: usize) -> usize {
        match which {
            0 => self
                .key
                .proof("GET", black_box(HTU), self.now, &self.rng, Some(NONCE), Some(&self.token))
                .unwrap()
                .len(),
            _ => self.ring_key.sign(&self.ring_rng, black_box(&self.signing_input)).unwrap().as_ref().len(),
        }
    }
}

fn bench(c: &mut Criterion) {
    let setup = Setup::new();
    support::group(c, "dpop_proof", &CONTENDERS, |which| setup.run(which));
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
    let (rounds, batch) = (200, 200);
    let setup = Setup::new();
    println!("\ninterleaved minimum per call ({rounds} rounds x {batch} calls), ratio to ring_es256:");
    let best = support::minimum_per_call(rounds, batch, CONTENDERS.len(), |which| setup.run(which));
    support::print_ratios("dpop", &CONTENDERS, &best, 1);
}
