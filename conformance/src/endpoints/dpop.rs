//! DPoP proofs at the token and UserInfo endpoints (RFC 9449 §4.3, §5, §7, §8, §9).
//!
//! The provider checks every proof strictly: one `DPoP` header, a JWS with
//! `typ: dpop+jwt`, an asymmetric `alg`, a public `jwk` in the header that verifies the
//! signature, `htm` equal to the method, `htu` equal to the endpoint URL (without query
//! and fragment), `iat` within a minute, a `jti` never seen before, the current nonce when
//! it demands one, and on UserInfo `ath` = the hash of the access token and the key the
//! token is bound to. A token issued in answer to a proof is `token_type: DPoP`, bound to
//! the proof key's thumbprint (`cnf.jkt` in introspection), and refused when presented as
//! Bearer.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::response::Response;
use base64ct::{Base64UrlUnpadded, Encoding};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::behavior::{Behavior, Endpoint};
use crate::keys::{split_compact, verify_with_jwk};
use crate::respond::oauth_error;
use crate::state::{lock, Shared};
use crate::util::{ct_eq, now, random_token};

/// How far `iat` may be from the provider's clock, in seconds.
const IAT_WINDOW: i64 = 60;
/// Proofs remembered for [`RunningProvider::dpop_proofs`](crate::RunningProvider::dpop_proofs).
const MAX_LOGGED: usize = 256;

/// One DPoP proof the provider received, and what it made of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopProofRecord {
    /// Where it was sent.
    pub endpoint: Endpoint,
    /// Its `htm`.
    pub htm: Option<String>,
    /// Its `htu`.
    pub htu: Option<String>,
    /// Its `nonce`.
    pub nonce: Option<String>,
    /// Whether it carried `ath`.
    pub ath: bool,
    /// `None` when accepted, else the error answered (`use_dpop_nonce`, `invalid_dpop_proof`, …).
    pub refused: Option<String>,
}

/// The provider's DPoP state.
#[derive(Default)]
pub(crate) struct DpopState {
    /// The nonce currently accepted.
    nonce: Mutex<Option<String>>,
    /// `jti`s seen, with when they may be forgotten.
    jtis: Mutex<HashMap<String, i64>>,
    /// Access tokens bound to a key thumbprint.
    bound: Mutex<HashMap<String, String>>,
    log: Mutex<Vec<DpopProofRecord>>,
}

impl DpopState {
    fn current_nonce(&self) -> String {
        lock(&self.nonce).get_or_insert_with(|| random_token(16)).clone()
    }

    fn rotate_nonce(&self) -> String {
        let fresh = random_token(16);
        *lock(&self.nonce) = Some(fresh.clone());
        fresh
    }

    fn record(&self, record: DpopProofRecord) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOGGED {
            log.remove(0);
        }
        log.push(record);
    }

    /// Every proof received (the latest [`MAX_LOGGED`]).
    pub(crate) fn proofs(&self) -> Vec<DpopProofRecord> {
        lock(&self.log).clone()
    }

    /// Forgets every proof, `jti`, binding and nonce.
    pub(crate) fn reset(&self) {
        lock(&self.log).clear();
        lock(&self.jtis).clear();
        *lock(&self.nonce) = None;
    }

    /// The thumbprint `token` is bound to, if it is.
    pub(crate) fn binding(&self, token: &str) -> Option<String> {
        lock(&self.bound).get(token).cloned()
    }
}

/// Why a proof was refused.
pub(crate) enum Refusal {
    /// A nonce is required and the proof lacks the current one.
    UseNonce(String),
    /// The proof is invalid (the description says why).
    Invalid(String),
}

fn invalid(d: impl Into<String>) -> Refusal {
    Refusal::Invalid(d.into())
}

/// The RFC 7638 thumbprint of a public JWK.
fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), Value::from(jwk.get(*m)?.as_str()?));
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, Value::Object(canonical).to_string().as_bytes());
    Some(Base64UrlUnpadded::encode_string(digest.as_ref()))
}

/// Checks the `DPoP` header of a request to `endpoint` (method `htm`); `access_token` on
/// resource requests. `Ok(None)`: no proof was sent. `Ok(Some(jkt))`: a valid proof.
pub(crate) fn check(
    shared: &Shared,
    b: &Behavior,
    headers: &HeaderMap,
    endpoint: Endpoint,
    htm: &str,
    access_token: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else { return Ok(None) };
    let mut record = DpopProofRecord { endpoint, htm: None, htu: None, nonce: None, ath: false, refused: None };
    let outcome = (|| {
        if values.next().is_some() {
            return Err(invalid("more than one DPoP header"));
        }
        let proof = first.to_str().map_err(|_| invalid("the DPoP header is not ASCII"))?;
        let parts = split_compact(proof).ok_or_else(|| invalid("the DPoP proof is not a compact JWS"))?;
        let claim = |k: &str| parts.payload.get(k).and_then(Value::as_str).map(str::to_owned);
        record.htm = claim("htm");
        record.htu = claim("htu");
        record.nonce = claim("nonce");
        record.ath = parts.payload.contains_key("ath");
        if parts.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
            return Err(invalid("typ must be dpop+jwt"));
        }
        let alg = parts.header.get("alg").and_then(Value::as_str).unwrap_or_default();
        if !matches!(alg, "ES256" | "RS256" | "PS256" | "EdDSA") {
            return Err(invalid("alg must be an asymmetric algorithm"));
        }
        let jwk = parts.header.get("jwk").and_then(Value::as_object).ok_or_else(|| invalid("jwk is missing"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| jwk.contains_key(*m)) {
            return Err(invalid("the header jwk holds private key material"));
        }
        if !verify_with_jwk(&parts, &Value::Object(jwk.clone())) {
            return Err(invalid("the proof signature does not verify with the header jwk"));
        }
        let jkt = thumbprint(jwk).ok_or_else(|| invalid("unusable jwk"))?;
        if record.htm.as_deref() != Some(htm) {
            return Err(invalid(format!("htm must be {htm}")));
        }
        if record.htu.as_deref() != Some(shared.url(endpoint).as_str()) {
            return Err(invalid("htu must be the endpoint URL without query and fragment"));
        }
        let iat = parts.payload.get("iat").and_then(Value::as_i64).ok_or_else(|| invalid("iat is missing"))?;
        let now = now();
        if (iat - now).abs() > IAT_WINDOW {
            return Err(invalid("iat is too far from now"));
        }
        let jti = claim("jti").filter(|j| j.len() >= 16).ok_or_else(|| invalid("jti is missing or short"))?;
        match access_token {
            Some(token) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
                let expected = Base64UrlUnpadded::encode_string(digest.as_ref());
                if !claim("ath").is_some_and(|a| ct_eq(&a, &expected)) {
                    return Err(invalid("ath does not match the access token"));
                }
            }
            None if record.ath => return Err(invalid("ath on a token request")),
            None => {}
        }
        // The nonce, after the signature: an unsigned guess never learns one.
        if b.dpop_nonce_always_stale {
            return Err(Refusal::UseNonce(shared.dpop.rotate_nonce()));
        }
        if b.dpop_require_nonce || b.dpop_rotate_nonce {
            let current = shared.dpop.current_nonce();
            if !record.nonce.as_deref().is_some_and(|n| ct_eq(n, &current)) {
                return Err(Refusal::UseNonce(current));
            }
        }
        let mut jtis = lock(&shared.dpop.jtis);
        jtis.retain(|_, until| *until >= now);
        if jtis.insert(jti, now + 2 * IAT_WINDOW).is_some() {
            return Err(invalid("jti was already used"));
        }
        Ok(Some(jkt))
    })();
    record.refused = match &outcome {
        Ok(_) => None,
        Err(Refusal::UseNonce(_)) => Some("use_dpop_nonce".to_owned()),
        Err(Refusal::Invalid(d)) => Some(format!("invalid_dpop_proof: {d}")),
    };
    shared.dpop.record(record);
    outcome
}

fn nonce_header(r: &mut Response, nonce: &str) {
    if let Ok(v) = HeaderValue::from_str(nonce) {
        r.headers_mut().insert("dpop-nonce", v);
    }
}

/// The token endpoint's answer to a refused proof (RFC 9449 §5, §8).
pub(crate) fn token_refusal(refusal: Refusal) -> Response {
    match refusal {
        Refusal::UseNonce(nonce) => {
            let mut r = oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce", "send the server's DPoP nonce");
            nonce_header(&mut r, &nonce);
            r
        }
        Refusal::Invalid(d) => oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &d),
    }
}

/// A resource server's answer to a refused proof or a misused DPoP token (RFC 9449 §7.1, §9).
pub(crate) fn resource_refusal(refusal: Refusal) -> Response {
    let (error, description, nonce) = match refusal {
        Refusal::UseNonce(n) => ("use_dpop_nonce", "send the server's DPoP nonce".to_owned(), Some(n)),
        Refusal::Invalid(d) => ("invalid_dpop_proof", d, None),
    };
    let mut r = oauth_error(StatusCode::UNAUTHORIZED, error, &description);
    let challenge = format!("DPoP algs=\"ES256 RS256 PS256 EdDSA\", error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    if let Some(n) = nonce {
        nonce_header(&mut r, &n);
    }
    r
}

/// A DPoP-bound token presented without its proof (as Bearer, or by another key).
pub(crate) fn token_misuse(description: &str) -> Response {
    let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", description);
    let challenge = "DPoP algs=\"ES256 RS256 PS256 EdDSA\", error=\"invalid_token\"";
    r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    r
}

/// Makes a token response DPoP-bound to `jkt`: `token_type: DPoP`, the binding recorded.
pub(crate) fn bind(shared: &Shared, body: &mut Map<String, Value>, jkt: &str) {
    body.insert("token_type".into(), Value::from("DPoP"));
    if let Some(at) = body.get("access_token").and_then(Value::as_str) {
        lock(&shared.dpop.bound).insert(at.to_owned(), jkt.to_owned());
    }
}

/// Adds a `DPoP-Nonce` to a successful response: always when nonces are demanded (a
/// fresh one when the provider rotates them).
pub(crate) fn decorate(shared: &Shared, b: &Behavior, r: &mut Response) {
    if b.dpop_rotate_nonce {
        let fresh = shared.dpop.rotate_nonce();
        nonce_header(r, &fresh);
    } else if b.dpop_require_nonce {
        nonce_header(r, &shared.dpop.current_nonce());
    }
}

/// `cnf` for the introspection of a bound token (RFC 9449 §6.2).
pub(crate) fn confirmation(shared: &Shared, token: &str) -> Option<Value> {
    shared.dpop.binding(token).map(|jkt| serde_json::json!({ "jkt": jkt }))
}
