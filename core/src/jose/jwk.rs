//! A JSON Web Key for signature verification, decoded once into a ready key.
//!
//! [RFC 7517 §4](https://www.rfc-editor.org/rfc/rfc7517#section-4) (members),
//! [RFC 7518 §6](https://www.rfc-editor.org/rfc/rfc7518#section-6) (RSA and EC keys),
//! [RFC 8037 §2](https://www.rfc-editor.org/rfc/rfc8037#section-2) (OKP Ed25519 keys).

use super::b64;
use super::crypto::{Algorithm, Curve, KeyKind, PublicKey};
use super::{truncated, JoseError};
use serde_json::{Map, Value};

/// One public signature-verification key of a JWK Set: its `kid`, optional `alg`, and
/// the decoded [`PublicKey`].
///
/// ```
/// use rpkit::jose::jwk::Jwk;
/// use rpkit::jose::Algorithm;
/// let jwk = Jwk::parse(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
/// assert_eq!(jwk.kid(), Some("k1"));
/// assert!(jwk.fits(Algorithm::EdDsa));
/// assert!(!jwk.fits(Algorithm::Es256));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: PublicKey,
}

fn unusable(what: impl Into<String>) -> JoseError {
    JoseError::UnusableKey { what: what.into() }
}

fn member_bytes(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = obj.get(name).and_then(Value::as_str).ok_or_else(|| unusable(format!("`{name}` missing")))?;
    b64::decode(text).ok_or_else(|| unusable(format!("`{name}` is not base64url")))
}

impl Jwk {
    /// Parses a JWK from its JSON text.
    ///
    /// # Errors
    /// [`JoseError::Malformed`] for text that is not a JSON object; otherwise as
    /// [`Jwk::from_json`].
    pub fn parse(text: &str) -> Result<Self, JoseError> {
        let value: Value = serde_json::from_str(text).map_err(|_| JoseError::malformed("JWK: not JSON"))?;
        Self::from_json(&value)
    }

    /// Decodes a JWK from a JSON value into a ready-to-verify key.
    ///
    /// Accepted: `kty: RSA` (2048–8192 bits), `kty: EC` with `crv` P-256/P-384/P-521
    /// (coordinates of exactly the curve's length), `kty: OKP` with `crv: Ed25519`.
    /// Private members (`d`, …) are ignored: only the public part is kept.
    ///
    /// # Errors
    /// [`JoseError::UnusableKey`] for a key meant for encryption (`use: enc`, or
    /// `key_ops` without `verify`), an unknown `kty`/`crv`/`alg`, an `alg` that does not
    /// fit the key, or a missing or undecodable member; [`JoseError::Malformed`] when the
    /// value is not an object.
    pub fn from_json(value: &Value) -> Result<Self, JoseError> {
        let obj = value.as_object().ok_or_else(|| JoseError::malformed("JWK: not a JSON object"))?;
        let kty = obj.get("kty").and_then(Value::as_str).ok_or_else(|| unusable("`kty` missing"))?;
        match obj.get("use") {
            None => {}
            Some(Value::String(u)) if u == "sig" => {}
            Some(Value::String(u)) if u == "enc" => return Err(unusable("an encryption key (`use: enc`)")),
            // Other values are allowed by RFC 7517 §4.2; they say nothing against signing.
            Some(Value::String(_)) => {}
            Some(_) => return Err(unusable("`use` is not a string")),
        }
        if let Some(ops) = obj.get("key_ops") {
            let ops = ops.as_array().ok_or_else(|| unusable("`key_ops` is not an array"))?;
            if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                return Err(unusable("`key_ops` does not allow `verify`"));
            }
        }
        let alg = match obj.get("alg") {
            None => None,
            Some(Value::String(name)) => Some(
                Algorithm::from_name(name)
                    .ok_or_else(|| unusable(format!("unsupported `alg` `{}`", truncated(name, 32))))?,
            ),
            Some(_) => return Err(unusable("`alg` is not a string")),
        };
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(unusable("`kid` is not a string")),
        };
        let crv = || obj.get("crv").and_then(Value::as_str).ok_or_else(|| unusable("`crv` missing"));
        let key = match kty {
            "RSA" => PublicKey::rsa(&member_bytes(obj, "n")?, &member_bytes(obj, "e")?)?,
            "EC" => {
                let curve = match crv()? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    "P-521" => Curve::P521,
                    other => return Err(unusable(format!("unsupported EC curve `{}`", truncated(other, 32)))),
                };
                PublicKey::ec(curve, &member_bytes(obj, "x")?, &member_bytes(obj, "y")?)?
            }
            "OKP" => match crv()? {
                "Ed25519" => PublicKey::ed25519(&member_bytes(obj, "x")?)?,
                other => return Err(unusable(format!("unsupported OKP curve `{}`", truncated(other, 32)))),
            },
            other => return Err(unusable(format!("unsupported `kty` `{}`", truncated(other, 32)))),
        };
        if let Some(alg) = alg {
            if !key.fits(alg) {
                return Err(unusable(format!("`alg` {alg} does not fit the key")));
            }
        }
        Ok(Jwk { kid, alg, key })
    }

    /// A key built directly from a [`PublicKey`] (tests, pinned keys).
    pub fn from_public_key(key: PublicKey, kid: Option<String>, alg: Option<Algorithm>) -> Self {
        Jwk { kid, alg, key }
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `alg` the JWK is restricted to, if it says.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.key.kind()
    }

    /// The decoded public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether this key may verify a signature made with `alg`: the key type and curve
    /// fit, and the JWK's own `alg` (if any) is the same. Never true for HMAC.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.key.fits(alg) && self.alg.map_or(true, |own| own == alg)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn ec_json(crv: &str, len: usize) -> String {
        let c = b64::encode(&vec![7u8; len]);
        format!(r#"{{"kty":"EC","crv":"{crv}","x":"{c}","y":"{c}"}}"#)
    }

    #[test]
    fn ec_keys_bind_their_curve() {
        let p256 = Jwk::parse(&ec_json("P-256", 32)).unwrap();
        assert_eq!(p256.kind(), KeyKind::Ec(Curve::P256));
        assert!(p256.fits(Algorithm::Es256));
        assert!(!p256.fits(Algorithm::Es384));
        assert!(Jwk::parse(&ec_json("P-384", 48)).unwrap().fits(Algorithm::Es384));
        assert!(Jwk::parse(&ec_json("P-521", 66)).unwrap().fits(Algorithm::Es512));
    }

    #[test]
    fn ec_coordinates_of_the_wrong_length_are_unusable() {
        assert!(matches!(Jwk::parse(&ec_json("P-256", 33)), Err(JoseError::UnusableKey { .. })));
        assert!(matches!(Jwk::parse(&ec_json("P-384", 32)), Err(JoseError::UnusableKey { .. })));
    }

    #[test]
    fn unknown_curves_and_key_types_are_unusable() {
        assert!(matches!(Jwk::parse(&ec_json("secp256k1", 32)), Err(JoseError::UnusableKey { .. })));
        let x25519 = format!(r#"{{"kty":"OKP","crv":"X25519","x":"{ED_X}"}}"#);
        assert!(matches!(Jwk::parse(&x25519), Err(JoseError::UnusableKey { .. })));
        assert!(matches!(Jwk::parse(r#"{"kty":"oct","k":"c2VjcmV0"}"#), Err(JoseError::UnusableKey { .. })));
        assert!(matches!(Jwk::parse(r#"{"n":"AQAB"}"#), Err(JoseError::UnusableKey { .. })));
    }

    #[test]
    fn encryption_keys_are_unusable_for_verification() {
        let enc = format!(r#"{{"kty":"OKP","crv":"Ed25519","use":"enc","x":"{ED_X}"}}"#);
        assert!(matches!(Jwk::parse(&enc), Err(JoseError::UnusableKey { .. })));
        let ops = format!(r#"{{"kty":"OKP","crv":"Ed25519","key_ops":["encrypt"],"x":"{ED_X}"}}"#);
        assert!(matches!(Jwk::parse(&ops), Err(JoseError::UnusableKey { .. })));
        let ok = format!(r#"{{"kty":"OKP","crv":"Ed25519","use":"sig","key_ops":["verify"],"x":"{ED_X}"}}"#);
        assert!(Jwk::parse(&ok).is_ok());
    }

    #[test]
    fn a_jwk_alg_restricts_the_key() {
        let ed = format!(r#"{{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"{ED_X}"}}"#);
        assert!(Jwk::parse(&ed).unwrap().fits(Algorithm::EdDsa));
        let wrong = format!(r#"{{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"{ED_X}"}}"#);
        assert!(matches!(Jwk::parse(&wrong), Err(JoseError::UnusableKey { .. })));
        let enc_alg = format!(r#"{{"kty":"OKP","crv":"Ed25519","alg":"RSA-OAEP","x":"{ED_X}"}}"#);
        assert!(matches!(Jwk::parse(&enc_alg), Err(JoseError::UnusableKey { .. })));
    }

    #[test]
    fn padded_base64url_members_are_tolerated() {
        let padded = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}="}}"#);
        assert!(Jwk::parse(&padded).is_ok());
    }

    #[test]
    fn non_objects_are_malformed() {
        assert!(matches!(Jwk::parse("[]"), Err(JoseError::Malformed { .. })));
        assert!(matches!(Jwk::parse("nope"), Err(JoseError::Malformed { .. })));
    }
}
