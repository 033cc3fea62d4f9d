//! Test-only signers: committed RSA/EC keys (made with `openssl genpkey`), Ed25519 from
//! fixed seeds, tokens minted with `ring` (OpenSSL for P-521, which `ring` lacks).

use super::b64;
use super::crypto::Algorithm;
use super::jwk::Jwk;
use crate::jwks::JwkSet;
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};

pub(crate) const RSA1_PEM: &str = include_str!("testdata/rsa1.pem");
pub(crate) const P256_PEM: &str = include_str!("testdata/p256.pem");
pub(crate) const P384_PEM: &str = include_str!("testdata/p384.pem");
pub(crate) const P521_PEM: &str = include_str!("testdata/p521.pem");

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    P521(openssl::ec::EcKey<openssl::pkey::Private>),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

/// A key that mints test tokens.
pub(crate) struct Signer {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    key: Key,
}

fn rng() -> ring::rand::SystemRandom {
    ring::rand::SystemRandom::new()
}

impl Signer {
    /// RSA key `n` (1..=3) signing with `alg` (RS* or PS*).
    pub(crate) fn rsa(n: u8, alg: Algorithm) -> Self {
        let der: &[u8] = match n {
            1 => include_bytes!("testdata/rsa1.pk8"),
            2 => include_bytes!("testdata/rsa2.pk8"),
            _ => include_bytes!("testdata/rsa3.pk8"),
        };
        let kid = Some(format!("rsa{n}"));
        Signer { alg, kid, key: Key::Rsa(RsaKeyPair::from_pkcs8(der).unwrap()) }
    }

    pub(crate) fn es256() -> Self {
        let key = EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            include_bytes!("testdata/p256.pk8"),
            &rng(),
        )
        .unwrap();
        Signer { alg: Algorithm::Es256, kid: Some("p256".into()), key: Key::Ec(key) }
    }

    pub(crate) fn es384() -> Self {
        let key = EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            include_bytes!("testdata/p384.pk8"),
            &rng(),
        )
        .unwrap();
        Signer { alg: Algorithm::Es384, kid: Some("p384".into()), key: Key::Ec(key) }
    }

    pub(crate) fn es512() -> Self {
        let key = openssl::ec::EcKey::private_key_from_pem(P521_PEM.as_bytes()).unwrap();
        Signer { alg: Algorithm::Es512, kid: Some("p521".into()), key: Key::P521(key) }
    }

    pub(crate) fn ed25519(seed: u8) -> Self {
        let key = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        Signer { alg: Algorithm::EdDsa, kid: Some(format!("ed{seed}")), key: Key::Ed(key) }
    }

    pub(crate) fn hmac(alg: Algorithm, secret: &str) -> Self {
        Signer { alg, kid: None, key: Key::Hmac(secret.as_bytes().to_vec()) }
    }

    #[must_use]
    pub(crate) fn with_kid(mut self, kid: Option<&str>) -> Self {
        self.kid = kid.map(Into::into);
        self
    }

    #[must_use]
    pub(crate) fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// The public JWK (with `kid` when set).
    pub(crate) fn jwk_json(&self) -> Value {
        let mut v = match &self.key {
            Key::Rsa(k) => {
                let c = sig::RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
                json!({"kty": "RSA", "n": b64::encode(&c.n), "e": b64::encode(&c.e)})
            }
            Key::Ec(k) => {
                let point = k.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "x": b64::encode(&point[1..=len]), "y": b64::encode(&point[len + 1..])})
            }
            Key::P521(k) => {
                let group = k.group();
                let mut ctx = openssl::bn::BigNumContext::new().unwrap();
                let (mut x, mut y) = (openssl::bn::BigNum::new().unwrap(), openssl::bn::BigNum::new().unwrap());
                k.public_key().affine_coordinates(group, &mut x, &mut y, &mut ctx).unwrap();
                json!({"kty": "EC", "crv": "P-521",
                    "x": b64::encode(&x.to_vec_padded(66).unwrap()), "y": b64::encode(&y.to_vec_padded(66).unwrap())})
            }
            Key::Ed(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(k.public_key().as_ref())}),
            Key::Hmac(_) => json!({"kty": "oct"}),
        };
        if let Some(kid) = &self.kid {
            v["kid"] = json!(kid);
        }
        v
    }

    pub(crate) fn jwk(&self) -> Jwk {
        Jwk::from_json(&self.jwk_json()).unwrap()
    }

    /// The signer's JWK Set (for HMAC, which has none, an unrelated RSA key's).
    pub(crate) fn jwks(&self) -> JwkSet {
        match self.key {
            Key::Hmac(_) => Signer::rsa(1, Algorithm::Rs256).jwks(),
            _ => JwkSet::from_keys(vec![self.jwk()]),
        }
    }

    /// Signs `signing_input` with this key (under `self.alg`).
    pub(crate) fn sign_raw(&self, signing_input: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::Rsa(k) => {
                let enc: &'static dyn sig::RsaEncoding = match self.alg {
                    Algorithm::Rs384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::Rs512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::Ps256 => &sig::RSA_PSS_SHA256,
                    Algorithm::Ps384 => &sig::RSA_PSS_SHA384,
                    Algorithm::Ps512 => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(enc, &rng(), signing_input, &mut out).unwrap();
                out
            }
            Key::Ec(k) => k.sign(&rng(), signing_input).unwrap().as_ref().to_vec(),
            Key::P521(k) => {
                let digest = ring::digest::digest(&ring::digest::SHA512, signing_input);
                let s = openssl::ecdsa::EcdsaSig::sign(digest.as_ref(), k).unwrap();
                [s.r().to_vec_padded(66).unwrap(), s.s().to_vec_padded(66).unwrap()].concat()
            }
            Key::Ed(k) => k.sign(signing_input).as_ref().to_vec(),
            Key::Hmac(secret) => {
                let h = match self.alg {
                    Algorithm::Hs384 => ring::hmac::HMAC_SHA384,
                    Algorithm::Hs512 => ring::hmac::HMAC_SHA512,
                    _ => ring::hmac::HMAC_SHA256,
                };
                ring::hmac::sign(&ring::hmac::Key::new(h, secret), signing_input).as_ref().to_vec()
            }
        }
    }

    /// The default header: `alg`, `typ: JWT`, and `kid` when set.
    pub(crate) fn header(&self) -> Value {
        let mut h = json!({"alg": self.alg.name(), "typ": "JWT"});
        if let Some(kid) = &self.kid {
            h["kid"] = json!(kid);
        }
        h
    }

    /// A compact JWS of `payload` under `header` (taken as is).
    pub(crate) fn sign_with_header(&self, header: &Value, payload: &[u8]) -> String {
        let input = format!("{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(payload));
        let signature = self.sign_raw(input.as_bytes());
        format!("{input}.{}", b64::encode(&signature))
    }

    /// A compact JWS of `claims` under the default header.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims.to_string().as_bytes())
    }
}
