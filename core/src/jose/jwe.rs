//! JWE compact serialization: decryption of encrypted ID tokens and UserInfo responses.
//!
//! [RFC 7516](https://www.rfc-editor.org/rfc/rfc7516), algorithms from
//! [RFC 7518 §4–5](https://www.rfc-editor.org/rfc/rfc7518#section-4),
//! [OIDC Core §10.2](https://openid.net/specs/openid-connect-core-1_0.html#Encryption).
//!
//! Key management: `RSA-OAEP`, `RSA-OAEP-256` (RSA keys), `ECDH-ES`, `ECDH-ES+A128KW`,
//! `ECDH-ES+A192KW`, `ECDH-ES+A256KW` (EC keys). Content encryption: `A128GCM`,
//! `A192GCM`, `A256GCM`, `A128CBC-HS256`, `A192CBC-HS384`, `A256CBC-HS512`. Refused:
//! `RSA1_5` (Bleichenbacher padding oracle), `dir` and the symmetric key wraps (the RP has
//! no shared content key), compression (`zip`) and any `crit`.
//!
//! The work is done by `josekit`, whose types stay inside this module.

use super::{b64, truncated, JoseError};
use crate::error::Error;
use crate::secret::PrivateKeyMaterial;
use josekit::jwe::alg::ecdh_es::EcdhEsJweDecrypter;
use josekit::jwe::alg::rsaes::RsaesJweDecrypter;
use josekit::jwe::JweDecrypter;
use serde_json::{Map, Value};
use std::fmt;

/// The largest JWE compact serialization accepted, in bytes.
pub const MAX_JWE_BYTES: usize = 512 * 1024;

const CONTENT_ENCRYPTIONS: [&str; 6] =
    ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"];

/// The relying party's private key for JWE decryption (RSA or EC), from PEM or JWK text.
///
/// ```
/// use rpkit::jose::jwe::DecryptionKey;
/// use rpkit::secret::PrivateKeyMaterial;
/// let err = DecryptionKey::from_material(&PrivateKeyMaterial::new("not a key")).unwrap_err();
/// assert!(err.to_string().contains("decryption key"));
/// ```
#[derive(Clone)]
pub struct DecryptionKey(Inner);

#[derive(Clone)]
enum Inner {
    Rsa {
        oaep: Option<RsaesJweDecrypter>,
        oaep_256: Option<RsaesJweDecrypter>,
    },
    Ec {
        es: Option<EcdhEsJweDecrypter>,
        a128: Option<EcdhEsJweDecrypter>,
        a192: Option<EcdhEsJweDecrypter>,
        a256: Option<EcdhEsJweDecrypter>,
    },
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Inner::Rsa { .. } => "RSA",
            Inner::Ec { .. } => "EC",
        };
        write!(f, "DecryptionKey({kind}, [redacted])")
    }
}

fn invalid_key(what: &str) -> JoseError {
    JoseError::InvalidDecryptionKey { what: what.to_owned() }
}

impl DecryptionKey {
    /// Reads a private key: PEM (PKCS#8, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`)
    /// or a private JWK (`kty` `RSA` or `EC`, with `d`). RSA keys need ≥ 2048 bits.
    ///
    /// # Errors
    /// [`JoseError::InvalidDecryptionKey`] when the text is neither (the key itself never
    /// appears in the error).
    pub fn from_material(material: &PrivateKeyMaterial) -> Result<Self, Error> {
        let text = material.secret().trim();
        let inner = if text.starts_with('{') { Self::from_jwk(text)? } else { Self::from_pem(text)? };
        Ok(DecryptionKey(inner))
    }

    fn from_pem(pem: &str) -> Result<Inner, JoseError> {
        use josekit::jwe::{ECDH_ES, ECDH_ES_A128KW, ECDH_ES_A192KW, ECDH_ES_A256KW, RSA_OAEP, RSA_OAEP_256};
        if let Ok(oaep) = RSA_OAEP.decrypter_from_pem(pem) {
            return Ok(Inner::Rsa { oaep: Some(oaep), oaep_256: RSA_OAEP_256.decrypter_from_pem(pem).ok() });
        }
        if let Ok(es) = ECDH_ES.decrypter_from_pem(pem) {
            return Ok(Inner::Ec {
                es: Some(es),
                a128: ECDH_ES_A128KW.decrypter_from_pem(pem).ok(),
                a192: ECDH_ES_A192KW.decrypter_from_pem(pem).ok(),
                a256: ECDH_ES_A256KW.decrypter_from_pem(pem).ok(),
            });
        }
        Err(invalid_key("not an RSA (≥ 2048 bits) or EC private key in PEM"))
    }

    fn from_jwk(text: &str) -> Result<Inner, JoseError> {
        use josekit::jwe::{ECDH_ES, ECDH_ES_A128KW, ECDH_ES_A192KW, ECDH_ES_A256KW, RSA_OAEP, RSA_OAEP_256};
        let jwk = josekit::jwk::Jwk::from_bytes(text.as_bytes()).map_err(|_| invalid_key("not a JWK"))?;
        let inner = match jwk.key_type() {
            "RSA" => Inner::Rsa {
                oaep: RSA_OAEP.decrypter_from_jwk(&jwk).ok(),
                oaep_256: RSA_OAEP_256.decrypter_from_jwk(&jwk).ok(),
            },
            "EC" | "OKP" => Inner::Ec {
                es: ECDH_ES.decrypter_from_jwk(&jwk).ok(),
                a128: ECDH_ES_A128KW.decrypter_from_jwk(&jwk).ok(),
                a192: ECDH_ES_A192KW.decrypter_from_jwk(&jwk).ok(),
                a256: ECDH_ES_A256KW.decrypter_from_jwk(&jwk).ok(),
            },
            _ => return Err(invalid_key("JWK `kty` must be RSA or EC")),
        };
        let usable = match &inner {
            Inner::Rsa { oaep, oaep_256 } => oaep.is_some() || oaep_256.is_some(),
            Inner::Ec { es, a128, a192, a256 } => es.is_some() || a128.is_some() || a192.is_some() || a256.is_some(),
        };
        if usable {
            Ok(inner)
        } else {
            Err(invalid_key("the JWK is not a private key usable for decryption"))
        }
    }

    fn decrypter(&self, alg: &str) -> Result<&dyn JweDecrypter, JoseError> {
        let found: Option<&dyn JweDecrypter> = match (&self.0, alg) {
            (Inner::Rsa { oaep, .. }, "RSA-OAEP") => oaep.as_ref().map(|d| d as _),
            (Inner::Rsa { oaep_256, .. }, "RSA-OAEP-256") => oaep_256.as_ref().map(|d| d as _),
            (Inner::Ec { es, .. }, "ECDH-ES") => es.as_ref().map(|d| d as _),
            (Inner::Ec { a128, .. }, "ECDH-ES+A128KW") => a128.as_ref().map(|d| d as _),
            (Inner::Ec { a192, .. }, "ECDH-ES+A192KW") => a192.as_ref().map(|d| d as _),
            (Inner::Ec { a256, .. }, "ECDH-ES+A256KW") => a256.as_ref().map(|d| d as _),
            _ => None,
        };
        found.ok_or_else(|| JoseError::KeyTypeMismatch { alg: alg.to_owned() })
    }
}

fn malformed(what: &str) -> JoseError {
    JoseError::malformed(format!("JWE: {what}"))
}

const KEY_MANAGEMENT: [&str; 6] =
    ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"];

/// The protected header of a JWE, checked against what rpkit accepts. Returns `alg` and
/// `enc`.
fn check_header(encoded: &str) -> Result<(String, String), JoseError> {
    if encoded.len() > super::jws::MAX_HEADER_BYTES {
        return Err(malformed("header too large"));
    }
    let bytes = b64::decode(encoded).ok_or_else(|| malformed("header is not base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| malformed("header is not a JSON object"))?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or_else(|| malformed("header has no `alg`"))?;
    let enc = header.get("enc").and_then(Value::as_str).ok_or_else(|| malformed("header has no `enc`"))?;
    if header.contains_key("crit") {
        return Err(JoseError::CritUnsupported);
    }
    if !KEY_MANAGEMENT.contains(&alg) {
        return Err(JoseError::UnsupportedAlgorithm { alg: truncated(alg, 32) });
    }
    if !CONTENT_ENCRYPTIONS.contains(&enc) {
        return Err(JoseError::UnsupportedAlgorithm { alg: truncated(enc, 32) });
    }
    if header.contains_key("zip") {
        // Decompression before authentication-checked size limits invites zip bombs.
        return Err(JoseError::UnsupportedAlgorithm { alg: "zip".into() });
    }
    Ok((alg.to_owned(), enc.to_owned()))
}

/// The initialization vector and authentication tag lengths, in bytes, that `enc`
/// requires ([RFC 7518 §5.2.2](https://www.rfc-editor.org/rfc/rfc7518#section-5.2.2),
/// [§5.2.3–5.2.5](https://www.rfc-editor.org/rfc/rfc7518#section-5.2.3),
/// [§5.3](https://www.rfc-editor.org/rfc/rfc7518#section-5.3)).
fn iv_and_tag_len(enc: &str) -> Option<(usize, usize)> {
    Some(match enc {
        "A128CBC-HS256" => (16, 16),
        "A192CBC-HS384" => (16, 24),
        "A256CBC-HS512" => (16, 32),
        "A128GCM" | "A192GCM" | "A256GCM" => (12, 16),
        _ => return None,
    })
}

/// Decrypts a JWE compact serialization and returns the plaintext (for an encrypted ID
/// token: the inner JWS, to be verified next).
///
/// # Errors
/// [`JoseError::Malformed`] when it is not five parts or the header is unreadable;
/// [`JoseError::UnsupportedAlgorithm`] for `RSA1_5`, `dir`, symmetric key wraps, an
/// unknown `enc`, or `zip`; [`JoseError::CritUnsupported`] for `crit`;
/// [`JoseError::KeyTypeMismatch`] when the key cannot do the JWE's `alg` (an EC key for
/// `RSA-OAEP`); [`JoseError::Decryption`] when decryption or authentication fails (no
/// further detail, by design).
///
pub fn decrypt(compact: &str, key: &DecryptionKey) -> Result<Vec<u8>, Error> {
    if compact.len() > MAX_JWE_BYTES {
        return Err(malformed("larger than the size limit").into());
    }
    if !super::is_jwe(compact) {
        return Err(malformed("not five dot-separated parts").into());
    }
    let mut parts = compact.split('.');
    let header_b64 = parts.next().unwrap_or_default();
    let (alg, enc) = check_header(header_b64)?;
    let (ek, iv, ciphertext, tag) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    // josekit hands the IV to OpenSSL unchecked, and OpenSSL's CBC setup panics on one shorter
    // than a block: check the lengths RFC 7518 fixes before anything is decrypted.
    let (iv_len, tag_len) = iv_and_tag_len(&enc).ok_or_else(|| malformed("unsupported `enc`"))?;
    let iv = b64::decode(iv)
        .filter(|v| v.len() == iv_len)
        .ok_or_else(|| malformed("initialization vector of the wrong length"))?;
    let tag = b64::decode(tag)
        .filter(|t| t.len() == tag_len)
        .ok_or_else(|| malformed("authentication tag of the wrong length"))?;
    let ciphertext = b64::decode(ciphertext).ok_or_else(|| malformed("ciphertext is not base64url"))?;
    let encrypted_key = if ek.is_empty() {
        None
    } else {
        Some(b64::decode(ek).ok_or_else(|| malformed("encrypted key is not base64url"))?)
    };
    let header_json = b64::decode(header_b64).ok_or_else(|| malformed("header is not base64url"))?;
    let header =
        josekit::jwe::JweHeader::from_bytes(&header_json).map_err(|_| malformed("header is not a JWE header"))?;
    let content = content_encryption(&enc).ok_or_else(|| malformed("unsupported `enc`"))?;

    let decrypter = key.decrypter(&alg)?;
    let cek = decrypter.decrypt(encrypted_key.as_deref(), content, &header).map_err(|_| JoseError::Decryption)?;
    // RFC 7516 §5.2 step 14: the AAD of a compact JWE is its encoded protected header.
    let aad = header_b64.as_bytes();
    // RFC 7518 §5.2.2.2: the CBC-HS tag is checked before decryption, in constant time, so
    // a forged ciphertext never reaches the cipher (no padding oracle, no timing
    // difference between a bad tag and bad padding); josekit would decrypt first.
    if let Some(hmac) = cbc_hmac(&enc) {
        if !cbc_hs_tag_matches(hmac, &cek, aad, &iv, &ciphertext, &tag) {
            return Err(JoseError::Decryption.into());
        }
    }
    let plaintext =
        content.decrypt(&cek, Some(&iv), &ciphertext, aad, Some(&tag)).map_err(|_| JoseError::Decryption)?;
    Ok(plaintext)
}

/// josekit's content encryption for `enc`.
fn content_encryption(enc: &str) -> Option<&'static dyn josekit::jwe::JweContentEncryption> {
    use josekit::jwe::enc;
    Some(match enc {
        "A128CBC-HS256" => &enc::A128CBC_HS256,
        "A192CBC-HS384" => &enc::A192CBC_HS384,
        "A256CBC-HS512" => &enc::A256CBC_HS512,
        "A128GCM" => &enc::A128GCM,
        "A192GCM" => &enc::A192GCM,
        "A256GCM" => &enc::A256GCM,
        _ => return None,
    })
}

/// The HMAC of an `AES_CBC_HMAC_SHA2` content encryption ([RFC 7518 §5.2.3–5.2.5](https://www.rfc-editor.org/rfc/rfc7518#section-5.2.3)).
fn cbc_hmac(enc: &str) -> Option<ring::hmac::Algorithm> {
    Some(match enc {
        "A128CBC-HS256" => ring::hmac::HMAC_SHA256,
        "A192CBC-HS384" => ring::hmac::HMAC_SHA384,
        "A256CBC-HS512" => ring::hmac::HMAC_SHA512,
        _ => return None,
    })
}

/// Whether `tag` is the authentication tag of an `AES_CBC_HMAC_SHA2` ciphertext
/// ([RFC 7518 §5.2.2.2](https://www.rfc-editor.org/rfc/rfc7518#section-5.2.2.2)): the
/// first half of the CEK is the MAC key; the tag is the first half of
/// `HMAC(MAC_KEY, A || IV || E || AL)`, where `AL` is the AAD's length in bits as a 64-bit
/// big-endian number. Compared in constant time.
fn cbc_hs_tag_matches(
    hmac: ring::hmac::Algorithm,
    cek: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> bool {
    let mac_key_len = cek.len() / 2;
    if cek.len() % 2 != 0 || mac_key_len == 0 || tag.len() != mac_key_len {
        return false;
    }
    let key = ring::hmac::Key::new(hmac, &cek[..mac_key_len]);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ciphertext);
    ctx.update(&((aad.len() as u64) * 8).to_be_bytes());
    let full = ctx.sign();
    full.as_ref().get(..mac_key_len).is_some_and(|t| crate::secret::constant_time_eq(t, tag))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jose::testkeys::{P256_PEM, P384_PEM, RSA1_PEM};
    use josekit::jwe::{JweHeader, ECDH_ES, ECDH_ES_A128KW, ECDH_ES_A256KW, RSA_OAEP, RSA_OAEP_256};
    use proptest::prelude::*;

    pub(crate) fn public_pem(private_pem: &str) -> Vec<u8> {
        openssl::pkey::PKey::private_key_from_pem(private_pem.as_bytes()).unwrap().public_key_to_pem().unwrap()
    }

    /// Encrypts `plaintext` to the public half of `private_pem` (test helper).
    pub(crate) fn encrypt(plaintext: &[u8], private_pem: &str, alg: &str, enc: &str) -> String {
        let public = public_pem(private_pem);
        let mut header = JweHeader::new();
        header.set_content_encryption(enc);
        header.set_content_type("JWT");
        let encrypter: Box<dyn josekit::jwe::JweEncrypter> = match alg {
            "RSA-OAEP" => Box::new(RSA_OAEP.encrypter_from_pem(&public).unwrap()),
            "RSA-OAEP-256" => Box::new(RSA_OAEP_256.encrypter_from_pem(&public).unwrap()),
            "ECDH-ES" => Box::new(ECDH_ES.encrypter_from_pem(&public).unwrap()),
            "ECDH-ES+A128KW" => Box::new(ECDH_ES_A128KW.encrypter_from_pem(&public).unwrap()),
            "ECDH-ES+A256KW" => Box::new(ECDH_ES_A256KW.encrypter_from_pem(&public).unwrap()),
            #[allow(deprecated)]
            "RSA1_5" => Box::new(josekit::jwe::RSA1_5.encrypter_from_pem(&public).unwrap()),
            other => panic!("{other}"),
        };
        josekit::jwe::serialize_compact(plaintext, &header, &*encrypter).unwrap()
    }

    pub(crate) fn key(pem: &str) -> DecryptionKey {
        DecryptionKey::from_material(&PrivateKeyMaterial::new(pem)).unwrap()
    }

    fn jose_err(r: Result<Vec<u8>, Error>) -> JoseError {
        match r {
            Err(Error::Jose(e)) => e,
            other => panic!("expected a JOSE error, got {other:?}"),
        }
    }

    #[test]
    fn rsa_oaep_round_trips_with_every_content_encryption() {
        let k = key(RSA1_PEM);
        for alg in ["RSA-OAEP", "RSA-OAEP-256"] {
            for enc in CONTENT_ENCRYPTIONS {
                let jwe = encrypt(b"inner.jws.token", RSA1_PEM, alg, enc);
                assert_eq!(decrypt(&jwe, &k).unwrap(), b"inner.jws.token", "{alg} {enc}");
            }
        }
    }

    #[test]
    fn ecdh_es_round_trips() {
        for pem in [P256_PEM, P384_PEM] {
            let k = key(pem);
            for alg in ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"] {
                for enc in ["A128GCM", "A256GCM", "A128CBC-HS256"] {
                    let jwe = encrypt(b"payload", pem, alg, enc);
                    assert_eq!(decrypt(&jwe, &k).unwrap(), b"payload", "{alg} {enc}");
                }
            }
        }
    }

    #[test]
    fn a_private_jwk_works_as_a_decryption_key() {
        let pair = josekit::jwk::alg::ec::EcKeyPair::from_pem(P256_PEM, None).unwrap();
        let jwk = pair.to_jwk_private_key().to_string();
        let k = DecryptionKey::from_material(&PrivateKeyMaterial::new(jwk)).unwrap();
        let jwe = encrypt(b"hi", P256_PEM, "ECDH-ES+A128KW", "A256GCM");
        assert_eq!(decrypt(&jwe, &k).unwrap(), b"hi");
    }

    #[test]
    fn rsa1_5_is_refused() {
        let jwe = encrypt(b"x", RSA1_PEM, "RSA1_5", "A128GCM");
        assert_eq!(jose_err(decrypt(&jwe, &key(RSA1_PEM))), JoseError::UnsupportedAlgorithm { alg: "RSA1_5".into() });
    }

    fn with_header(jwe: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut h: Map<String, Value> = serde_json::from_slice(&b64::decode(&parts[0]).unwrap()).unwrap();
        edit(&mut h);
        parts[0] = b64::encode(Value::Object(h).to_string().as_bytes());
        parts.join(".")
    }

    #[test]
    fn dir_zip_crit_and_unknown_enc_are_refused() {
        let jwe = encrypt(b"x", RSA1_PEM, "RSA-OAEP", "A128GCM");
        let k = key(RSA1_PEM);
        let dir = with_header(&jwe, |h| {
            h.insert("alg".into(), "dir".into());
        });
        assert_eq!(jose_err(decrypt(&dir, &k)), JoseError::UnsupportedAlgorithm { alg: "dir".into() });
        let zip = with_header(&jwe, |h| {
            h.insert("zip".into(), "DEF".into());
        });
        assert_eq!(jose_err(decrypt(&zip, &k)), JoseError::UnsupportedAlgorithm { alg: "zip".into() });
        let crit = with_header(&jwe, |h| {
            h.insert("crit".into(), serde_json::json!(["exp"]));
        });
        assert_eq!(jose_err(decrypt(&crit, &k)), JoseError::CritUnsupported);
        let enc = with_header(&jwe, |h| {
            h.insert("enc".into(), "A128CTR".into());
        });
        assert!(matches!(jose_err(decrypt(&enc, &k)), JoseError::UnsupportedAlgorithm { .. }));
    }

    #[test]
    fn a_key_of_the_wrong_type_is_a_mismatch() {
        let jwe = encrypt(b"x", P256_PEM, "ECDH-ES", "A128GCM");
        assert!(matches!(jose_err(decrypt(&jwe, &key(RSA1_PEM))), JoseError::KeyTypeMismatch { .. }));
    }

    #[test]
    fn the_wrong_key_or_a_tampered_ciphertext_is_a_decryption_error() {
        let jwe = encrypt(b"secret", RSA1_PEM, "RSA-OAEP", "A256GCM");
        let other = include_str!("testdata/rsa2.pem");
        assert_eq!(jose_err(decrypt(&jwe, &key(other))), JoseError::Decryption);
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        parts[3] = b64::encode(b"tampered ciphertext!");
        assert_eq!(jose_err(decrypt(&parts.join("."), &key(RSA1_PEM))), JoseError::Decryption);
    }

    #[test]
    fn a_cbc_hs_tag_is_checked_before_the_cipher_sees_the_ciphertext() {
        for enc in ["A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"] {
            let jwe = encrypt(b"the inner JWS", RSA1_PEM, "RSA-OAEP", enc);
            assert_eq!(decrypt(&jwe, &key(RSA1_PEM)).unwrap(), b"the inner JWS", "{enc}");
            let parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
            let with = |i: usize, value: String| {
                let mut p = parts.clone();
                p[i] = value;
                p.join(".")
            };
            // A ciphertext that is no whole number of AES blocks would fail CBC unpadding;
            // refused by the tag first, with the same answer as any forgery.
            let ragged = with(3, b64::encode(&[7u8; 21]));
            assert_eq!(jose_err(decrypt(&ragged, &key(RSA1_PEM))), JoseError::Decryption, "{enc}");
            // One bit of the tag, of the IV, of the protected header (the AAD): refused.
            let mut tag = b64::decode(&parts[4]).unwrap();
            tag[0] ^= 1;
            assert_eq!(jose_err(decrypt(&with(4, b64::encode(&tag)), &key(RSA1_PEM))), JoseError::Decryption);
            let mut iv = b64::decode(&parts[2]).unwrap();
            iv[15] ^= 1;
            assert_eq!(jose_err(decrypt(&with(2, b64::encode(&iv)), &key(RSA1_PEM))), JoseError::Decryption);
        }
    }

    #[test]
    fn the_cbc_hs_tag_is_rfc_7518s_hmac_over_aad_iv_ciphertext_and_length() {
        let cek: Vec<u8> = (0u8..32).collect();
        let (aad, iv, ct) = (b"eyJhbGciOiJ4In0".as_slice(), [1u8; 16], [2u8; 32]);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &cek[..16]);
        let mut input = Vec::new();
        input.extend_from_slice(aad);
        input.extend_from_slice(&iv);
        input.extend_from_slice(&ct);
        input.extend_from_slice(&(aad.len() as u64 * 8).to_be_bytes());
        let tag = ring::hmac::sign(&key, &input);
        assert!(cbc_hs_tag_matches(ring::hmac::HMAC_SHA256, &cek, aad, &iv, &ct, &tag.as_ref()[..16]));
        assert!(!cbc_hs_tag_matches(ring::hmac::HMAC_SHA256, &cek, aad, &iv, &ct, &tag.as_ref()[..15]));
        assert!(!cbc_hs_tag_matches(ring::hmac::HMAC_SHA256, &cek[..31], aad, &iv, &ct, &tag.as_ref()[..16]));
        let mut other = tag.as_ref()[..16].to_vec();
        other[15] ^= 0x80;
        assert!(!cbc_hs_tag_matches(ring::hmac::HMAC_SHA256, &cek, aad, &iv, &ct, &other));
    }

    /// Found by the `jwe` fuzz target: a 15-byte IV with a CBC `enc` made OpenSSL panic
    /// (`assertion failed: iv_len <= iv.len()`) — before the tag check, and with ECDH-ES any
    /// point on the curve yields a content key, so anyone could send it.
    #[test]
    fn an_iv_or_tag_of_the_wrong_length_is_malformed_not_a_panic() {
        for enc in CONTENT_ENCRYPTIONS {
            for (alg, pem) in [("ECDH-ES", P256_PEM), ("ECDH-ES+A128KW", P256_PEM), ("RSA-OAEP", RSA1_PEM)] {
                let jwe = encrypt(b"x", pem, alg, enc);
                let parts: Vec<&str> = jwe.split('.').collect();
                let (iv_len, tag_len) = iv_and_tag_len(enc).unwrap();
                for (index, len) in [(2, iv_len - 1), (2, iv_len + 1), (2, 0), (4, tag_len - 1), (4, 0)] {
                    let mut bad: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
                    bad[index] = b64::encode(&vec![0; len]);
                    let err = jose_err(decrypt(&bad.join("."), &key(pem)));
                    assert!(matches!(err, JoseError::Malformed { .. }), "{alg} {enc} part {index} len {len}: {err:?}");
                }
            }
        }
    }

    #[test]
    fn jws_and_garbage_are_malformed() {
        let k = key(RSA1_PEM);
        for bad in ["a.b.c", "", "a.b.c.d.e", "e30.b.c.d.e"] {
            assert!(matches!(jose_err(decrypt(bad, &k)), JoseError::Malformed { .. }), "{bad}");
        }
    }

    #[test]
    fn bad_key_material_is_a_typed_error_without_the_key() {
        for text in
            ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "{\"kty\":\"oct\",\"k\":\"AAAA\"}", ""]
        {
            let err = DecryptionKey::from_material(&PrivateKeyMaterial::new(text)).unwrap_err();
            assert!(matches!(err, Error::Jose(JoseError::InvalidDecryptionKey { .. })));
            assert!(!err.to_string().contains("AAAA"));
        }
        let public_only = josekit::jwk::alg::ec::EcKeyPair::from_pem(P256_PEM, None).unwrap().to_jwk_public_key();
        let err = DecryptionKey::from_material(&PrivateKeyMaterial::new(public_only.to_string())).unwrap_err();
        assert!(matches!(err, Error::Jose(JoseError::InvalidDecryptionKey { .. })));
        assert!(!format!("{:?}", key(RSA1_PEM)).contains("BEGIN"));
    }

    proptest! {
        #[test]
        fn jwe_parsing_never_panics(s in "\\PC{0,300}") {
            let _ = decrypt(&s, &key(RSA1_PEM));
        }

        #[test]
        fn jwe_with_random_parts_never_panics(parts in proptest::collection::vec("[A-Za-z0-9_-]{0,60}", 5)) {
            let h = b64::encode(br#"{"alg":"RSA-OAEP","enc":"A128GCM"}"#);
            let token = format!("{h}.{}", parts[1..].join("."));
            let _ = decrypt(&token, &key(RSA1_PEM));
            let _ = decrypt(&parts.join("."), &key(RSA1_PEM));
        }
    }
}
