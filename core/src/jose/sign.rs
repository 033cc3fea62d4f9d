//! Signing keys for JWT client assertions
//! ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2),
//! [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
//!
//! A [`SigningKey`] is parsed once from PEM or JWK text into a ready-to-sign `ring` key;
//! signing a JWT never re-parses it. Supported:
//!
//! | key                         | PEM                                              | JWK                          | `alg`   |
//! |-----------------------------|--------------------------------------------------|------------------------------|---------|
//! | RSA (2048–8192 bits)        | `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) | `n e d p q dp dq qi`       | `RS256` |
//! | EC P-256                    | `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC 1) | `crv: P-256`, `x y d`        | `ES256` |
//! | Ed25519                     | `PRIVATE KEY` (PKCS#8)                           | `kty: OKP`, `crv: Ed25519`, `x d` | `EdDSA` |
//! | client secret (≥ 32 bytes)  | —                                                | —                            | `HS256` |
//!
//! Encrypted PEM keys are refused (decrypt them before configuring rpkit).
//!
//! # Security
//! No error and no `Debug` output contains key material: errors name the format, the JWK
//! member or `ring`'s rejection reason, never a value.
//!
//! `ring` accepts only its own random source for RSA padding and ECDSA nonces, so
//! signatures draw from the operating system's CSPRNG through `ring` (ECDSA nonces are
//! additionally hedged with the key and message). Signatures are the only place where
//! the core uses randomness that is not injected; no protocol decision depends on them.

use crate::error::Error;
use crate::secret::ClientSecret;
use base64ct::{Base64, Encoding};
use ring::signature::{self, KeyPair};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// A JWS algorithm rpkit can sign with ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA with P-256 and SHA-256; the signature is `r || s`, 64 bytes (RFC 7518 §3.4).
    Es256,
    /// Ed25519 ([RFC 8037 §3.1](https://www.rfc-editor.org/rfc/rfc8037#section-3.1)).
    EdDsa,
    /// HMAC with SHA-256, keyed by the client secret (`client_secret_jwt`).
    Hs256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name, e.g. `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Hs256 => "HS256",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why private key material could not be turned into a [`SigningKey`].
///
/// The messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The text is neither a PEM document nor a JSON object.
    #[error("the key is neither PEM text nor a JWK (JSON object)")]
    UnrecognizedFormat,
    /// The PEM text is broken (unterminated block, bad base64, …).
    #[error("malformed PEM: {0}")]
    Pem(&'static str),
    /// The PEM text holds no private key (only a certificate or a public key, say).
    #[error("the PEM text holds no `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block")]
    NoPrivateKey,
    /// The key is encrypted with a passphrase.
    #[error("encrypted private keys are not supported: decrypt the key before configuring it")]
    Encrypted,
    /// The JWK is malformed; names the member.
    #[error("malformed JWK: {0}")]
    Jwk(String),
    /// The key's type, curve or algorithm is not one rpkit signs with.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// `ring` rejected the key (the reason is `ring`'s, e.g. `InvalidEncoding`, `TooSmall`).
    #[error("the key was rejected: {0}")]
    Rejected(String),
    /// An HMAC key shorter than the hash output (RFC 7518 §3.2 requires ≥ 32 bytes for HS256).
    #[error("an HS256 key must be at least 32 bytes long (RFC 7518 §3.2)")]
    WeakHmacKey,
    /// Signing itself failed.
    #[error("signing failed")]
    SigningFailed,
}

impl From<SigningKeyError> for Error {
    fn from(e: SigningKeyError) -> Self {
        Error::malformed(format!("private key: {e}"))
    }
}

enum KeyKind {
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
    Hmac(ring::hmac::Key),
}

/// A private (or HMAC) key, parsed once, ready to sign JWTs.
///
/// ```
/// use rpkit::jose::sign::{SigningAlgorithm, SigningKey};
/// use rpkit::secret::ClientSecret;
///
/// let key = SigningKey::hs256(&ClientSecret::new("a client secret of at least 32 bytes")).unwrap();
/// assert_eq!(key.algorithm(), SigningAlgorithm::Hs256);
/// let jwt = key.sign_jwt(None, &serde_json::json!({"iss": "client", "aud": "https://op.example/token"})).unwrap();
/// assert_eq!(jwt.split('.').count(), 3);
/// assert!(!format!("{key:?}").contains("secret"));
/// ```
pub struct SigningKey {
    kind: KeyKind,
    kid: Option<String>,
    // ring's signing APIs take only ring's (sealed) random source; see the module docs.
    rng: ring::rand::SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm().as_str())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

impl SigningKey {
    /// Parses PEM text or a JWK (JSON object), whichever `text` is.
    ///
    /// # Errors
    /// [`SigningKeyError`] saying what is wrong, without echoing the key.
    pub fn from_text(text: &str) -> Result<Self, SigningKeyError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            Self::from_jwk(trimmed)
        } else if trimmed.contains("-----BEGIN ") {
            Self::from_pem(text)
        } else {
            Err(SigningKeyError::UnrecognizedFormat)
        }
    }

    /// Parses configured key material (see [`SigningKey::from_text`]).
    ///
    /// # Errors
    /// As [`SigningKey::from_text`].
    pub fn from_material(material: &crate::secret::PrivateKeyMaterial) -> Result<Self, SigningKeyError> {
        Self::from_text(material.secret())
    }

    /// Parses a PEM private key: PKCS#8 `PRIVATE KEY` (RSA, P-256, Ed25519), PKCS#1
    /// `RSA PRIVATE KEY` or SEC 1 `EC PRIVATE KEY` (P-256). Text around the block and other
    /// blocks (`EC PARAMETERS`, certificates) are skipped; CRLF line ends are fine.
    ///
    /// # Errors
    /// [`SigningKeyError::Pem`], [`SigningKeyError::NoPrivateKey`],
    /// [`SigningKeyError::Encrypted`], [`SigningKeyError::Unsupported`] or
    /// [`SigningKeyError::Rejected`].
    pub fn from_pem(text: &str) -> Result<Self, SigningKeyError> {
        let blocks = pem_blocks(text)?;
        for block in &blocks {
            if block.encrypted || block.label == "ENCRYPTED PRIVATE KEY" {
                return Err(SigningKeyError::Encrypted);
            }
            match block.label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&block.der),
                "RSA PRIVATE KEY" => {
                    let key = signature::RsaKeyPair::from_der(&block.der).map_err(rejected)?;
                    return Ok(Self::new(KeyKind::Rsa(key)));
                }
                "EC PRIVATE KEY" => return Self::from_pkcs8_der(&sec1_p256_to_pkcs8(&block.der)),
                _ => {}
            }
        }
        Err(SigningKeyError::NoPrivateKey)
    }

    /// Parses a DER-encoded PKCS#8 private key (RSA, EC P-256 or Ed25519), e.g. from
    /// `ring`'s `generate_pkcs8`.
    ///
    /// # Errors
    /// [`SigningKeyError::Unsupported`] for other algorithms and curves,
    /// [`SigningKeyError::Rejected`] when `ring` refuses the key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SigningKeyError> {
        let rng = ring::rand::SystemRandom::new();
        let kind = match pkcs8_algorithm(der)? {
            Pkcs8Alg::Rsa => KeyKind::Rsa(signature::RsaKeyPair::from_pkcs8(der).map_err(rejected)?),
            Pkcs8Alg::EcP256 => KeyKind::Ec(
                signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(rejected)?,
            ),
            Pkcs8Alg::Ed25519 => {
                KeyKind::Ed(signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
        };
        Ok(SigningKey { kind, kid: None, rng })
    }

    /// Parses a private JWK ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517),
    /// [RFC 7518 §6](https://www.rfc-editor.org/rfc/rfc7518#section-6),
    /// [RFC 8037](https://www.rfc-editor.org/rfc/rfc8037)) given as JSON text. Its `kid`,
    /// if any, becomes the key's default `kid`.
    ///
    /// # Errors
    /// As [`SigningKey::from_jwk_value`].
    pub fn from_jwk(text: &str) -> Result<Self, SigningKeyError> {
        let value: Value = serde_json::from_str(text).map_err(|_| SigningKeyError::Jwk("not valid JSON".to_owned()))?;
        Self::from_jwk_value(&value)
    }

    /// Parses a private JWK given as a JSON value.
    ///
    /// `use`, when present, must be `sig`; `key_ops`, when present, must contain `sign`;
    /// `alg`, when present, must be the algorithm of the key type (`RS256`, `ES256`, `EdDSA`).
    ///
    /// # Errors
    /// [`SigningKeyError::Jwk`] naming a missing or malformed member,
    /// [`SigningKeyError::Unsupported`] for other key types, curves, algorithms and
    /// multi-prime RSA, [`SigningKeyError::Rejected`] when `ring` refuses the key.
    pub fn from_jwk_value(value: &Value) -> Result<Self, SigningKeyError> {
        let jwk = value.as_object().ok_or_else(|| SigningKeyError::Jwk("not a JSON object".to_owned()))?;
        let kty = jwk_str(jwk, "kty")?.ok_or_else(|| SigningKeyError::Jwk("`kty` is missing".to_owned()))?;
        if let Some(usage) = jwk_str(jwk, "use")? {
            if usage != "sig" {
                return Err(SigningKeyError::Unsupported("the JWK's `use` is not `sig`".to_owned()));
            }
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array().ok_or_else(|| SigningKeyError::Jwk("`key_ops` is not an array".to_owned()))?;
            if !ops.iter().any(|op| op.as_str() == Some("sign")) {
                return Err(SigningKeyError::Unsupported("the JWK's `key_ops` does not allow `sign`".to_owned()));
            }
        }
        let kid = jwk_str(jwk, "kid")?.map(str::to_owned);
        let rng = ring::rand::SystemRandom::new();
        let (kind, alg) = match kty {
            "RSA" => {
                if jwk.contains_key("oth") {
                    return Err(SigningKeyError::Unsupported("multi-prime RSA (`oth`)".to_owned()));
                }
                let member = |name: &'static str| jwk_bytes(jwk, name);
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents { n: member("n")?, e: member("e")? },
                    d: member("d")?,
                    p: member("p")?,
                    q: member("q")?,
                    dP: member("dp")?,
                    dQ: member("dq")?,
                    qInv: member("qi")?,
                };
                (KeyKind::Rsa(signature::RsaKeyPair::from_components(&components).map_err(rejected)?), "RS256")
            }
            "EC" => {
                match jwk_str(jwk, "crv")? {
                    Some("P-256") => {}
                    Some(_) => return Err(SigningKeyError::Unsupported("EC curve (only P-256 is supported)".into())),
                    None => return Err(SigningKeyError::Jwk("`crv` is missing".to_owned())),
                }
                let x = jwk_fixed(jwk, "x", 32)?;
                let y = jwk_fixed(jwk, "y", 32)?;
                let d = jwk_fixed(jwk, "d", 32)?;
                let mut public = Vec::with_capacity(65);
                public.push(0x04);
                public.extend_from_slice(&x);
                public.extend_from_slice(&y);
                let key = signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &d,
                    &public,
                    &rng,
                )
                .map_err(rejected)?;
                (KeyKind::Ec(key), "ES256")
            }
            "OKP" => {
                match jwk_str(jwk, "crv")? {
                    Some("Ed25519") => {}
                    Some(_) => {
                        return Err(SigningKeyError::Unsupported("OKP curve (only Ed25519 is supported)".into()))
                    }
                    None => return Err(SigningKeyError::Jwk("`crv` is missing".to_owned())),
                }
                let x = jwk_fixed(jwk, "x", 32)?;
                let d = jwk_fixed(jwk, "d", 32)?;
                let key = signature::Ed25519KeyPair::from_seed_and_public_key(&d, &x).map_err(rejected)?;
                (KeyKind::Ed(key), "EdDSA")
            }
            "oct" => {
                return Err(SigningKeyError::Unsupported(
                    "symmetric JWK (use `client_secret_jwt` with the client secret)".to_owned(),
                ))
            }
            _ => return Err(SigningKeyError::Unsupported("JWK `kty`".to_owned())),
        };
        if let Some(declared) = jwk_str(jwk, "alg")? {
            if declared != alg {
                return Err(SigningKeyError::Unsupported(format!("JWK `alg` (this key signs with {alg})")));
            }
        }
        Ok(SigningKey { kind, kid, rng })
    }

    /// An HS256 key from the client secret, for `client_secret_jwt`
    /// ([OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
    ///
    /// # Errors
    /// [`SigningKeyError::WeakHmacKey`] when the secret is shorter than 32 bytes
    /// ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
    pub fn hs256(secret: &ClientSecret) -> Result<Self, SigningKeyError> {
        let bytes = secret.secret().as_bytes();
        if bytes.len() < 32 {
            return Err(SigningKeyError::WeakHmacKey);
        }
        Ok(Self::new(KeyKind::Hmac(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes))))
    }

    fn new(kind: KeyKind) -> Self {
        SigningKey { kind, kid: None, rng: ring::rand::SystemRandom::new() }
    }

    /// Sets the default `kid` put in JWT headers.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The default `kid` (from the JWK or [`SigningKey::with_kid`]).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self.kind {
            KeyKind::Rsa(_) => SigningAlgorithm::Rs256,
            KeyKind::Ec(_) => SigningAlgorithm::Es256,
            KeyKind::Ed(_) => SigningAlgorithm::EdDsa,
            KeyKind::Hmac(_) => SigningAlgorithm::Hs256,
        }
    }

    /// The public half as a JWK (with `kid`, `alg` and `use: sig`), to register with the
    /// provider; `None` for HMAC keys.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = Map::new();
        match &self.kind {
            KeyKind::Rsa(key) => {
                let public: ring::rsa::PublicKeyComponents<Vec<u8>> = key.public().into();
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), crate::jose::b64::encode(&public.n).into());
                jwk.insert("e".into(), crate::jose::b64::encode(&public.e).into());
            }
            KeyKind::Ec(key) => {
                let point = key.public_key().as_ref();
                let (x, y) = (point.get(1..33)?, point.get(33..65)?);
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), crate::jose::b64::encode(x).into());
                jwk.insert("y".into(), crate::jose::b64::encode(y).into());
            }
            KeyKind::Ed(key) => {
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), crate::jose::b64::encode(key.public_key().as_ref()).into());
            }
            KeyKind::Hmac(_) => return None,
        }
        jwk.insert("alg".into(), self.algorithm().as_str().into());
        jwk.insert("use".into(), "sig".into());
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), kid.clone().into());
        }
        Some(Value::Object(jwk))
    }

    /// Signs `message` (the JWS signing input) and returns the raw signature.
    ///
    /// # Errors
    /// [`SigningKeyError::SigningFailed`] when `ring` fails.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningKeyError> {
        match &self.kind {
            KeyKind::Rsa(key) => {
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| SigningKeyError::SigningFailed)?;
                Ok(sig)
            }
            KeyKind::Ec(key) => {
                key.sign(&self.rng, message).map(|s| s.as_ref().to_vec()).map_err(|_| SigningKeyError::SigningFailed)
            }
            KeyKind::Ed(key) => Ok(key.sign(message).as_ref().to_vec()),
            KeyKind::Hmac(key) => Ok(ring::hmac::sign(key, message).as_ref().to_vec()),
        }
    }

    /// Signs `claims` as a compact JWS with the header `{"alg":…,"typ":"JWT","kid":…}`
    /// ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)).
    ///
    /// `kid` overrides the key's default `kid`; with neither, the header has no `kid`.
    ///
    /// # Errors
    /// [`Error::Malformed`] when `claims` is not a JSON object or signing failed.
    pub fn sign_jwt(&self, kid: Option<&str>, claims: &Value) -> Result<String, Error> {
        if !claims.is_object() {
            return Err(Error::malformed("JWT claims: not a JSON object"));
        }
        let header = JwsHeader { alg: self.algorithm().as_str(), typ: "JWT", kid: kid.or(self.kid.as_deref()) };
        let header = serde_json::to_vec(&header).map_err(|_| Error::malformed("JWT header"))?;
        let mut out = crate::jose::b64::encode(&header);
        out.push('.');
        out.push_str(&crate::jose::b64::encode(claims.to_string().as_bytes()));
        let sig = self.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&crate::jose::b64::encode(&sig));
        Ok(out)
    }
}

fn rejected(e: ring::error::KeyRejected) -> SigningKeyError {
    SigningKeyError::Rejected(e.to_string())
}

fn jwk_str<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, SigningKeyError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SigningKeyError::Jwk(format!("`{name}` is not a string"))),
    }
}

fn jwk_bytes(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, SigningKeyError> {
    let text = jwk_str(jwk, name)?.ok_or_else(|| SigningKeyError::Jwk(format!("`{name}` is missing")))?;
    let bytes =
        crate::jose::b64::decode(text).ok_or_else(|| SigningKeyError::Jwk(format!("`{name}` is not base64url")))?;
    if bytes.is_empty() {
        return Err(SigningKeyError::Jwk(format!("`{name}` is empty")));
    }
    Ok(bytes)
}

fn jwk_fixed(jwk: &Map<String, Value>, name: &str, len: usize) -> Result<Vec<u8>, SigningKeyError> {
    let bytes = jwk_bytes(jwk, name)?;
    if bytes.len() != len {
        return Err(SigningKeyError::Jwk(format!("`{name}` is not {len} bytes long")));
    }
    Ok(bytes)
}

struct PemBlock {
    label: String,
    der: Vec<u8>,
    encrypted: bool,
}

/// Reads every PEM block of `text` ([RFC 7468](https://www.rfc-editor.org/rfc/rfc7468)),
/// tolerating CRLF, surrounding text and RFC 1421 headers (which only flag encryption).
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, SigningKeyError> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String, bool)> = None;
    for raw in text.lines() {
        let line = raw.trim();
        match current.as_mut() {
            None => {
                if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
                    current = Some((label.to_owned(), String::new(), false));
                }
            }
            Some((label, body, encrypted)) => {
                if let Some(end) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
                    if end != label {
                        return Err(SigningKeyError::Pem("END label does not match BEGIN label"));
                    }
                    let der = Base64::decode_vec(body).map_err(|_| SigningKeyError::Pem("invalid base64"))?;
                    blocks.push(PemBlock { label: std::mem::take(label), der, encrypted: *encrypted });
                    current = None;
                } else if line.starts_with("-----") {
                    return Err(SigningKeyError::Pem("unterminated block"));
                } else if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("Proc-Type") && value.contains("ENCRYPTED") {
                        *encrypted = true;
                    }
                } else {
                    body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
                }
            }
        }
    }
    if current.is_some() {
        return Err(SigningKeyError::Pem("unterminated block"));
    }
    if blocks.is_empty() {
        return Err(SigningKeyError::Pem("no PEM block"));
    }
    Ok(blocks)
}

enum Pkcs8Alg {
    Rsa,
    EcP256,
    Ed25519,
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Reads the `privateKeyAlgorithm` of a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5) to pick the
/// parser and give a precise error for unsupported algorithms.
fn pkcs8_algorithm(der: &[u8]) -> Result<Pkcs8Alg, SigningKeyError> {
    let bad = SigningKeyError::Rejected("InvalidEncoding".to_owned());
    let (info, _) = der_read(der, 0x30).ok_or_else(|| bad.clone())?;
    let (_version, rest) = der_read(info, 0x02).ok_or_else(|| bad.clone())?;
    let (alg_id, _) = der_read(rest, 0x30).ok_or_else(|| bad.clone())?;
    let (oid, params) = der_read(alg_id, 0x06).ok_or_else(|| bad.clone())?;
    if oid == OID_RSA_ENCRYPTION {
        Ok(Pkcs8Alg::Rsa)
    } else if oid == OID_ED25519 {
        Ok(Pkcs8Alg::Ed25519)
    } else if oid == OID_EC_PUBLIC_KEY {
        match der_read(params, 0x06) {
            Some((curve, _)) if curve == OID_P256 => Ok(Pkcs8Alg::EcP256),
            _ => Err(SigningKeyError::Unsupported("EC curve (only P-256 is supported)".to_owned())),
        }
    } else {
        Err(SigningKeyError::Unsupported("PKCS#8 key algorithm (RSA, EC P-256 and Ed25519 are supported)".to_owned()))
    }
}

/// Reads one DER TLV with the expected tag; returns (contents, rest).
fn der_read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
        (len_bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
    };
    Some((rest.get(..len)?, rest.get(len..)?))
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

fn der_tlv(tag: u8, contents: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    der_len(contents.len(), out);
    out.extend_from_slice(contents);
}

/// Wraps a SEC 1 `ECPrivateKey` (RFC 5915) in a PKCS#8 `PrivateKeyInfo` for P-256, the only
/// curve `ring` signs ES256 with. A key of another curve is then refused by `ring`, which
/// checks the SEC 1 `parameters` against the wrapper.
fn sec1_p256_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    let mut alg_id = Vec::new();
    der_tlv(0x06, OID_EC_PUBLIC_KEY, &mut alg_id);
    der_tlv(0x06, OID_P256, &mut alg_id);
    let mut info = vec![0x02, 0x01, 0x00];
    der_tlv(0x30, &alg_id, &mut info);
    der_tlv(0x04, sec1, &mut info);
    let mut out = Vec::new();
    der_tlv(0x30, &info, &mut out);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use ring::signature::{UnparsedPublicKey, VerificationAlgorithm};

    pub(crate) const RSA_PKCS8: &str = include_str!("../../tests/data/rsa2048-pkcs8.pem");
    const RSA_PKCS1: &str = include_str!("../../tests/data/rsa2048-pkcs1.pem");
    const RSA_JWK: &str = include_str!("../../tests/data/rsa2048.jwk.json");
    const RSA_1024: &str = include_str!("../../tests/data/rsa1024-pkcs8.pem");
    const RSA_ENCRYPTED: &str = include_str!("../../tests/data/rsa2048-encrypted.pem");
    pub(crate) const EC_PKCS8: &str = include_str!("../../tests/data/ec-p256-pkcs8.pem");
    const EC_SEC1: &str = include_str!("../../tests/data/ec-p256-sec1.pem");
    const EC_JWK: &str = include_str!("../../tests/data/ec-p256.jwk.json");
    const EC_P384: &str = include_str!("../../tests/data/ec-p384-pkcs8.pem");
    const ED_PKCS8: &str = include_str!("../../tests/data/ed25519-pkcs8.pem");
    pub(crate) const ED_JWK: &str = include_str!("../../tests/data/ed25519.jwk.json");

    fn verifier(key: &SigningKey) -> (&'static dyn VerificationAlgorithm, Vec<u8>) {
        match &key.kind {
            KeyKind::Rsa(k) => (&signature::RSA_PKCS1_2048_8192_SHA256, k.public().as_ref().to_vec()),
            KeyKind::Ec(k) => (&signature::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref().to_vec()),
            KeyKind::Ed(k) => (&signature::ED25519, k.public_key().as_ref().to_vec()),
            KeyKind::Hmac(_) => unreachable!("HMAC keys are verified with ring::hmac"),
        }
    }

    /// Verifies a compact JWS with the key's public half; returns (header, claims).
    pub(crate) fn verify_jwt(key: &SigningKey, jwt: &str) -> (Value, Value) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let input = format!("{}.{}", parts[0], parts[1]);
        let sig = crate::jose::b64::decode(parts[2]).unwrap();
        let (alg, public) = verifier(key);
        UnparsedPublicKey::new(alg, public).verify(input.as_bytes(), &sig).expect("signature verifies");
        let header = serde_json::from_slice(&crate::jose::b64::decode(parts[0]).unwrap()).unwrap();
        let claims = serde_json::from_slice(&crate::jose::b64::decode(parts[1]).unwrap()).unwrap();
        (header, claims)
    }

    fn pem_of(label: &str, der: &[u8]) -> String {
        let b64 = Base64::encode_string(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    }

    #[test]
    fn rsa_pkcs8_pem_signs_verifiable_rs256_jwts() {
        let key = SigningKey::from_pem(RSA_PKCS8).unwrap();
        assert_eq!(key.algorithm(), SigningAlgorithm::Rs256);
        let jwt = key.sign_jwt(Some("k1"), &serde_json::json!({"sub": "c"})).unwrap();
        let (header, claims) = verify_jwt(&key, &jwt);
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
        assert_eq!(claims["sub"], "c");
    }

    #[test]
    fn rsa_pkcs1_pem_and_jwk_are_the_same_key_as_pkcs8() {
        let a = SigningKey::from_pem(RSA_PKCS8).unwrap();
        let b = SigningKey::from_pem(RSA_PKCS1).unwrap();
        let c = SigningKey::from_jwk(RSA_JWK).unwrap();
        // RSA PKCS#1 v1.5 signatures are deterministic.
        assert_eq!(a.sign(b"msg").unwrap(), b.sign(b"msg").unwrap());
        assert_eq!(a.sign(b"msg").unwrap(), c.sign(b"msg").unwrap());
        assert_eq!(c.kid(), Some("rsa-test-1"));
        assert_eq!(a.public_jwk().unwrap()["n"], c.public_jwk().unwrap()["n"]);
    }

    #[test]
    fn crlf_pem_with_surrounding_text_is_accepted() {
        let crlf = format!("a comment line\r\n{}\r\ntrailing", RSA_PKCS8.replace('\n', "\r\n"));
        assert_eq!(SigningKey::from_text(&crlf).unwrap().algorithm(), SigningAlgorithm::Rs256);
    }

    #[test]
    fn ec_p256_pem_pkcs8_sec1_and_jwk_sign_fixed_size_es256() {
        for key in [
            SigningKey::from_pem(EC_PKCS8).unwrap(),
            SigningKey::from_pem(EC_SEC1).unwrap(),
            SigningKey::from_jwk(EC_JWK).unwrap(),
        ] {
            assert_eq!(key.algorithm(), SigningAlgorithm::Es256);
            let jwt = key.sign_jwt(None, &serde_json::json!({"a": 1})).unwrap();
            let sig = crate::jose::b64::decode(jwt.rsplit('.').next().unwrap()).unwrap();
            assert_eq!(sig.len(), 64, "ES256 signatures are r || s");
            let (header, _) = verify_jwt(&key, &jwt);
            assert_eq!(header["alg"], "ES256");
        }
    }

    #[test]
    fn ec_jwk_matches_its_pem() {
        let pem = SigningKey::from_pem(EC_PKCS8).unwrap().public_jwk().unwrap();
        let jwk = SigningKey::from_jwk(EC_JWK).unwrap().public_jwk().unwrap();
        assert_eq!((&pem["x"], &pem["y"]), (&jwk["x"], &jwk["y"]));
    }

    #[test]
    fn ed25519_pem_and_jwk_sign_eddsa() {
        let a = SigningKey::from_pem(ED_PKCS8).unwrap();
        let b = SigningKey::from_jwk(ED_JWK).unwrap();
        assert_eq!(a.algorithm(), SigningAlgorithm::EdDsa);
        assert_eq!(a.sign(b"m").unwrap(), b.sign(b"m").unwrap());
        let (header, _) = verify_jwt(&b, &b.sign_jwt(None, &serde_json::json!({})).unwrap());
        assert_eq!(header, serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": "ed-test-1"}));
    }

    #[test]
    fn ring_generated_pkcs8_keys_are_accepted_as_pem() {
        let rng = ring::rand::SystemRandom::new();
        let ec = signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ed = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec = SigningKey::from_pem(&pem_of("PRIVATE KEY", ec.as_ref())).unwrap();
        let ed = SigningKey::from_pem(&pem_of("PRIVATE KEY", ed.as_ref())).unwrap();
        assert_eq!(ec.algorithm(), SigningAlgorithm::Es256);
        assert_eq!(ed.algorithm(), SigningAlgorithm::EdDsa);
    }

    #[test]
    fn hs256_signs_with_the_client_secret() {
        let secret = ClientSecret::new("0123456789abcdef0123456789abcdef");
        let key = SigningKey::hs256(&secret).unwrap();
        let jwt = key.sign_jwt(None, &serde_json::json!({"x": 1})).unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let vkey = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.secret().as_bytes());
        ring::hmac::verify(&vkey, input.as_bytes(), &crate::jose::b64::decode(sig).unwrap()).unwrap();
        assert!(key.public_jwk().is_none());
    }

    #[test]
    fn short_hmac_secret_is_rejected() {
        let err = SigningKey::hs256(&ClientSecret::new("too-short")).unwrap_err();
        assert_eq!(err, SigningKeyError::WeakHmacKey);
    }

    #[test]
    fn encrypted_pem_is_rejected() {
        assert_eq!(SigningKey::from_pem(RSA_ENCRYPTED).unwrap_err(), SigningKeyError::Encrypted);
        let legacy = RSA_PKCS1.replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n",
            1,
        );
        assert_eq!(SigningKey::from_pem(&legacy).unwrap_err(), SigningKeyError::Encrypted);
    }

    #[test]
    fn small_rsa_key_is_rejected_by_ring() {
        assert!(matches!(SigningKey::from_pem(RSA_1024).unwrap_err(), SigningKeyError::Rejected(_)));
    }

    #[test]
    fn p384_key_is_unsupported() {
        assert!(matches!(SigningKey::from_pem(EC_P384).unwrap_err(), SigningKeyError::Unsupported(_)));
        let mut jwk: Value = serde_json::from_str(EC_JWK).unwrap();
        jwk["crv"] = "P-384".into();
        assert!(matches!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Unsupported(_)));
    }

    #[test]
    fn public_key_pem_is_not_a_private_key() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";
        assert_eq!(SigningKey::from_pem(pem).unwrap_err(), SigningKeyError::NoPrivateKey);
    }

    #[test]
    fn broken_pem_is_a_typed_error() {
        let unterminated = "-----BEGIN PRIVATE KEY-----\nMIIB\n";
        assert!(matches!(SigningKey::from_pem(unterminated).unwrap_err(), SigningKeyError::Pem(_)));
        let mismatched = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(mismatched).unwrap_err(), SigningKeyError::Pem(_)));
        let bad_b64 = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(bad_b64).unwrap_err(), SigningKeyError::Pem(_)));
        assert_eq!(SigningKey::from_text("just text").unwrap_err(), SigningKeyError::UnrecognizedFormat);
    }

    #[test]
    fn jwk_with_missing_or_bad_members_names_the_member() {
        let mut jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
        jwk.as_object_mut().unwrap().remove("qi");
        assert_eq!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Jwk("`qi` is missing".into()));
        let mut jwk: Value = serde_json::from_str(EC_JWK).unwrap();
        jwk["d"] = 5.into();
        assert_eq!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Jwk("`d` is not a string".into()));
        jwk["d"] = "AAAA".into();
        assert_eq!(
            SigningKey::from_jwk_value(&jwk).unwrap_err(),
            SigningKeyError::Jwk("`d` is not 32 bytes long".into())
        );
    }

    #[test]
    fn jwk_for_encryption_or_with_foreign_alg_is_refused() {
        let mut jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
        jwk["use"] = "enc".into();
        assert!(matches!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Unsupported(_)));
        let mut jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
        jwk["alg"] = "PS256".into();
        assert!(matches!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Unsupported(_)));
        let oct = serde_json::json!({"kty": "oct", "k": "AAAA"});
        assert!(matches!(SigningKey::from_jwk_value(&oct).unwrap_err(), SigningKeyError::Unsupported(_)));
    }

    #[test]
    fn mismatched_ec_jwk_halves_are_rejected() {
        let mut jwk: Value = serde_json::from_str(EC_JWK).unwrap();
        let other: Value = SigningKey::from_pem(EC_SEC1).unwrap().public_jwk().unwrap();
        jwk["x"] = other["x"].clone();
        jwk["y"] = other["y"].clone();
        assert!(matches!(SigningKey::from_jwk_value(&jwk).unwrap_err(), SigningKeyError::Rejected(_)));
    }

    #[test]
    fn debug_and_errors_never_show_key_material() {
        let key = SigningKey::from_jwk(RSA_JWK).unwrap();
        let jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
        let d = jwk["d"].as_str().unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("RS256") && !debug.contains(&d[..16]));
        let mut broken = jwk.clone();
        broken["p"] = "AAAA".into();
        let err = SigningKey::from_jwk_value(&broken).unwrap_err().to_string();
        assert!(!err.contains(&d[..16]));
        let err = Error::from(SigningKeyError::Pem("invalid base64")).to_string();
        assert_eq!(err, "malformed private key: malformed PEM: invalid base64");
    }

    #[test]
    fn sign_jwt_refuses_non_object_claims() {
        let key = SigningKey::from_pem(ED_PKCS8).unwrap();
        assert!(matches!(key.sign_jwt(None, &serde_json::json!([1])), Err(Error::Malformed { .. })));
    }

    proptest! {
        #[test]
        fn key_parsing_never_panics(text in ".{0,300}") {
            let _ = SigningKey::from_text(&text);
            let _ = SigningKey::from_pem(&format!("-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----"));
        }

        #[test]
        fn der_parsing_never_panics(der in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SigningKey::from_pkcs8_der(&der);
            let _ = SigningKey::from_pem(&pem_of("EC PRIVATE KEY", &der));
            let _ = SigningKey::from_pem(&pem_of("RSA PRIVATE KEY", &der));
        }

        #[test]
        fn jwk_parsing_never_panics(
            kty in prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("x")],
            crv in prop_oneof![Just("P-256"), Just("Ed25519"), Just("P-521")],
            x in "[A-Za-z0-9_-]{0,50}",
            d in "[A-Za-z0-9_=-]{0,50}",
        ) {
            let jwk = serde_json::json!({"kty": kty, "crv": crv, "x": x, "y": x, "d": d,
                "n": x, "e": "AQAB", "p": d, "q": d, "dp": d, "dq": d, "qi": d});
            let _ = SigningKey::from_jwk_value(&jwk);
        }
    }
}
