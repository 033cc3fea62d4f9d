//! Signing keys, compact JWS creation and verification, and the hashes OIDC needs.

use base64ct::{Base64UrlUnpadded, Encoding};
use josekit::jwk::Jwk;
use josekit::jws::{JwsSigner, JwsVerifier};
use serde_json::{Map, Value};

use crate::behavior::SigningAlg;
use crate::error::DevProviderError;
use crate::util::random_token;

/// One signing key pair with its public JWK.
pub(crate) struct SigningKey {
    pub(crate) alg: SigningAlg,
    pub(crate) kid: String,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    pub(crate) public_jwk: Map<String, Value>,
}

impl SigningKey {
    fn generate(alg: SigningAlg) -> Result<Self, DevProviderError> {
        let kid = format!("{}-{}", alg.as_str().to_ascii_lowercase(), random_token(6));
        let mut jwk = match alg {
            SigningAlg::RS256 => Jwk::generate_rsa_key(2048),
            SigningAlg::ES256 => Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256),
            SigningAlg::EdDSA => Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519),
            SigningAlg::HS256 | SigningAlg::None => {
                return Err(DevProviderError::Key(format!("{} has no key pair", alg.as_str())))
            }
        }
        .map_err(key_err)?;
        jwk.set_key_id(kid.clone());
        jwk.set_algorithm(alg.as_str());
        jwk.set_key_use("sig");
        // `to_public_key` keeps only the key material.
        let mut public = jwk.to_public_key().map_err(key_err)?;
        public.set_key_id(kid.clone());
        public.set_algorithm(alg.as_str());
        public.set_key_use("sig");
        let (signer, verifier): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = match alg {
            SigningAlg::RS256 => (
                Box::new(josekit::jws::RS256.signer_from_jwk(&jwk).map_err(key_err)?),
                Box::new(josekit::jws::RS256.verifier_from_jwk(&public).map_err(key_err)?),
            ),
            SigningAlg::ES256 => (
                Box::new(josekit::jws::ES256.signer_from_jwk(&jwk).map_err(key_err)?),
                Box::new(josekit::jws::ES256.verifier_from_jwk(&public).map_err(key_err)?),
            ),
            _ => (
                Box::new(josekit::jws::EdDSA.signer_from_jwk(&jwk).map_err(key_err)?),
                Box::new(josekit::jws::EdDSA.verifier_from_jwk(&public).map_err(key_err)?),
            ),
        };
        let public_jwk: Map<String, Value> = public.into();
        Ok(Self { alg, kid, signer, verifier, public_jwk })
    }
}

fn key_err(e: josekit::JoseError) -> DevProviderError {
    DevProviderError::Key(e.to_string())
}

/// The provider's current key set: one key per asymmetric algorithm it signs with.
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// Fresh RSA 2048, EC P-256 and Ed25519 keys with new random `kid`s.
    pub(crate) fn generate() -> Result<Self, DevProviderError> {
        Ok(Self {
            keys: vec![
                SigningKey::generate(SigningAlg::RS256)?,
                SigningKey::generate(SigningAlg::ES256)?,
                SigningKey::generate(SigningAlg::EdDSA)?,
            ],
        })
    }

    /// The key for `alg` (`RS256`, `ES256`, `EdDSA`).
    pub(crate) fn key(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.alg == alg)
    }

    /// The public JWKs.
    pub(crate) fn public_jwks(&self) -> Vec<Map<String, Value>> {
        self.keys.iter().map(|k| k.public_jwk.clone()).collect()
    }

    /// Verify a compact JWS signed by one of our keys (chosen by `kid`, else by `alg`) and
    /// return its header and payload.
    pub(crate) fn verify(&self, token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
        let parts = split_compact(token)?;
        let alg = parts.header.get("alg")?.as_str()?;
        let kid = parts.header.get("kid").and_then(Value::as_str);
        let key = self.keys.iter().find(|k| k.alg.as_str() == alg && kid.map_or(true, |kid| kid == k.kid))?;
        key.verifier.verify(parts.signing_input.as_bytes(), &parts.signature).ok()?;
        Some((parts.header, parts.payload))
    }
}

/// A decoded compact JWS (not verified).
pub(crate) struct CompactParts {
    pub(crate) header: Map<String, Value>,
    pub(crate) payload: Map<String, Value>,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

/// Split and decode a compact JWS whose payload is a JSON object.
pub(crate) fn split_compact(token: &str) -> Option<CompactParts> {
    let mut it = token.split('.');
    let (h, p, s) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(h).ok()?).ok()?;
    let payload = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(p).ok()?).ok()?;
    let signature = Base64UrlUnpadded::decode_vec(s).ok()?;
    Some(CompactParts { header, payload, signing_input: format!("{h}.{p}"), signature })
}

/// What to sign with.
pub(crate) enum Signer<'a> {
    /// One of the provider's key pairs.
    Key(&'a SigningKey),
    /// HS256 with a shared secret.
    Hmac(&'a [u8]),
    /// `alg: none`.
    Unsigned,
}

/// Serialize `header` + `payload` as a compact JWS; `alg` is filled in from `signer`.
pub(crate) fn sign_compact(
    mut header: Map<String, Value>,
    payload: &Map<String, Value>,
    signer: Signer<'_>,
    corrupt_signature: bool,
) -> Result<String, DevProviderError> {
    let alg = match &signer {
        Signer::Key(k) => k.alg.as_str(),
        Signer::Hmac(_) => "HS256",
        Signer::Unsigned => "none",
    };
    header.insert("alg".into(), Value::from(alg));
    let h = Base64UrlUnpadded::encode_string(&serde_json::to_vec(&header)?);
    let p = Base64UrlUnpadded::encode_string(&serde_json::to_vec(payload)?);
    let input = format!("{h}.{p}");
    let mut signature = match signer {
        Signer::Key(k) => k.signer.sign(input.as_bytes()).map_err(key_err)?,
        Signer::Hmac(secret) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
            ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
        }
        Signer::Unsigned => Vec::new(),
    };
    if corrupt_signature {
        if let Some(first) = signature.first_mut() {
            *first ^= 0x5a;
        }
        if let Some(last) = signature.last_mut() {
            *last ^= 0xa5;
        }
    }
    Ok(format!("{input}.{}", Base64UrlUnpadded::encode_string(&signature)))
}

/// Verify an HS256 compact JWS with `secret` (constant-time comparison).
pub(crate) fn verify_hs256(parts: &CompactParts, secret: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, parts.signing_input.as_bytes(), &parts.signature).is_ok()
}

/// Verify a compact JWS with a client's public JWK (for `private_key_jwt`).
pub(crate) fn verify_with_jwk(parts: &CompactParts, jwk: &Value) -> bool {
    let Some(map) = jwk.as_object() else {
        return false;
    };
    let Ok(jwk) = Jwk::from_map(map.clone()) else {
        return false;
    };
    let alg = parts.header.get("alg").and_then(Value::as_str);
    let verifier: Result<Box<dyn JwsVerifier>, _> = match alg {
        Some("RS256") => josekit::jws::RS256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        Some("PS256") => josekit::jws::PS256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        Some("ES256") => josekit::jws::ES256.verifier_from_jwk(&jwk).map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        Some("EdDSA") => josekit::jws::EdDSA.verifier_from_jwk(&jwk).map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        _ => return false,
    };
    match verifier {
        Ok(v) => v.verify(parts.signing_input.as_bytes(), &parts.signature).is_ok(),
        Err(_) => false,
    }
}

/// Check that a public JWK can verify at least one supported algorithm.
pub(crate) fn usable_client_jwk(jwk: &Value) -> bool {
    let Some(map) = jwk.as_object() else {
        return false;
    };
    let Ok(jwk) = Jwk::from_map(map.clone()) else {
        return false;
    };
    josekit::jws::RS256.verifier_from_jwk(&jwk).is_ok()
        || josekit::jws::ES256.verifier_from_jwk(&jwk).is_ok()
        || josekit::jws::EdDSA.verifier_from_jwk(&jwk).is_ok()
}

/// Nest a signed JWT in a compact JWE to a client's public RSA key (`RSA-OAEP`,
/// `A128GCM`, `cty: JWT`; OIDC Core §10.2).
pub(crate) fn encrypt_jwt(public_jwk: &Value, signed: &str) -> Result<String, DevProviderError> {
    encrypt_payload(public_jwk, signed.as_bytes(), Some("JWT"))
}

/// Encrypt `payload` to a client's public RSA key (`RSA-OAEP`, `A128GCM`), with `cty`
/// when given (`JWT` for a nested JWT; none for plain JSON claims).
pub(crate) fn encrypt_payload(
    public_jwk: &Value,
    payload: &[u8],
    cty: Option<&str>,
) -> Result<String, DevProviderError> {
    let map =
        public_jwk.as_object().ok_or_else(|| DevProviderError::Key("the encryption JWK is not an object".into()))?;
    let jwk = Jwk::from_map(map.clone()).map_err(key_err)?;
    let encrypter = josekit::jwe::RSA_OAEP.encrypter_from_jwk(&jwk).map_err(key_err)?;
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A128GCM");
    if let Some(cty) = cty {
        header.set_content_type(cty);
    }
    if let Some(kid) = jwk.key_id() {
        header.set_key_id(kid);
    }
    josekit::jwe::serialize_compact(payload, &header, &encrypter).map_err(key_err)
}

/// Whether a public JWK can be used by [`encrypt_jwt`].
pub(crate) fn usable_encryption_jwk(jwk: &Value) -> bool {
    jwk.as_object()
        .and_then(|m| Jwk::from_map(m.clone()).ok())
        .is_some_and(|jwk| josekit::jwe::RSA_OAEP.encrypter_from_jwk(&jwk).is_ok())
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6): base64url of the left half of the hash of
/// the ASCII value, with the hash that goes with the signing algorithm (SHA-512 for
/// Ed25519, as the OpenID errata for EdDSA say; SHA-256 otherwise).
pub(crate) fn half_hash(alg: SigningAlg, value: &str) -> String {
    let algorithm = match alg {
        SigningAlg::EdDSA => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    let digest = ring::digest::digest(algorithm, value.as_bytes());
    let bytes = digest.as_ref();
    Base64UrlUnpadded::encode_string(&bytes[..bytes.len() / 2])
}

/// PKCE S256 transform (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    Base64UrlUnpadded::encode_string(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn each_algorithm_signs_what_our_verifier_accepts() {
        let keys = KeySet::generate().unwrap();
        for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
            let key = keys.key(alg).unwrap();
            let mut header = Map::new();
            header.insert("kid".into(), Value::from(key.kid.clone()));
            let mut payload = Map::new();
            payload.insert("sub".into(), Value::from("alice"));
            let jws = sign_compact(header.clone(), &payload, Signer::Key(key), false).unwrap();
            let (_, claims) = keys.verify(&jws).unwrap();
            assert_eq!(claims["sub"], "alice");
            let bad = sign_compact(header, &payload, Signer::Key(key), true).unwrap();
            assert!(keys.verify(&bad).is_none(), "{alg:?} corrupted signature");
        }
    }

    #[test]
    fn hs256_round_trips_and_rejects_another_secret() {
        let jws = sign_compact(Map::new(), &Map::new(), Signer::Hmac(b"secret"), false).unwrap();
        let parts = split_compact(&jws).unwrap();
        assert!(verify_hs256(&parts, b"secret"));
        assert!(!verify_hs256(&parts, b"other"));
    }

    #[test]
    fn split_compact_rejects_garbage() {
        assert!(split_compact("").is_none());
        assert!(split_compact("a.b").is_none());
        assert!(split_compact("a.b.c.d").is_none());
        assert!(split_compact("!!.??.**").is_none());
    }

    proptest::proptest! {
        #[test]
        fn split_compact_never_panics(s in "\\PC{0,200}") {
            let _ = split_compact(&s);
        }
    }
}
