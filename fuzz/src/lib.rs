//! Shared fixtures of the rpkit fuzz targets: a fixed clock, a fixed client and provider,
//! fixed keys (committed under `keys/`, made for fuzzing only), and the framing that turns
//! fuzz input into an `http::Response`.
//!
//! Every target feeds bytes the outside world controls (a provider's responses, a
//! browser's callback, a settings file) into rpkit's public API and checks that the
//! result is a value or a typed error, never a panic — plus a few invariants that must
//! hold whenever a check passes.

use rpkit::jose::jwe::DecryptionKey;
use rpkit::jose::sign::SigningKey;
use rpkit::jwks::JwkSet;
use rpkit::secret::{ClientSecret, PrivateKeyMaterial};
use rpkit::UnixTime;
use std::sync::OnceLock;

/// The fixed "now" of every target; the seed tokens are issued a few seconds before it.
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
/// The provider's issuer.
pub const ISSUER: &str = "https://op.example.com";
/// The relying party's client id.
pub const CLIENT_ID: &str = "s6BhdRkqt3";
/// The client secret, which keys `HS256`.
pub const CLIENT_SECRET: &str = "7Fjfp0ZBr1KtDRbnfVdmIw-fuzzing-only-secret";
/// The registered client name.
pub const CLIENT_NAME: &str = "op";
/// The `state` of the one pending authorization (and pending logout).
pub const STATE: &str = "af0ifjsldkj";
/// The `nonce` of the pending authorization.
pub const NONCE: &str = "n-0S6_WzA2Mj";
/// The access token issued with the seed ID tokens (their `at_hash` matches it).
pub const ACCESS_TOKEN: &str = "SlAV32hkKG-fuzz-access-token";
/// The authorization code of the seed ID tokens (their `c_hash` matches it).
pub const CODE: &str = "SplxlOBeZQQYbYS6WxSbIA";
/// The redirect URI.
pub const REDIRECT_URI: &str = "https://client.example.org/cb";

/// The signing keys' PEM (PKCS#8), made with `openssl genpkey` for these targets only.
pub const RSA_PEM: &str = include_str!("../keys/rsa.pem");
/// P-256 signing key.
pub const P256_PEM: &str = include_str!("../keys/p256.pem");
/// Ed25519 signing key.
pub const ED25519_PEM: &str = include_str!("../keys/ed25519.pem");
/// RSA key the JWE seeds are encrypted to (RSA-OAEP, RSA-OAEP-256).
pub const RSA_ENC_PEM: &str = include_str!("../keys/rsa-enc.pem");
/// P-256 key the JWE seeds are encrypted to (ECDH-ES, ECDH-ES+A*KW).
pub const P256_ENC_PEM: &str = include_str!("../keys/p256-enc.pem");

/// The `kid`s of the three public keys in [`Fixture::jwks`].
pub const KIDS: [&str; 3] = ["rsa-1", "ec-1", "ed-1"];

/// Keys shared by the targets, built once per process.
pub struct Fixture {
    /// The provider's JWK Set: RSA (`RS256`), P-256 (`ES256`) and Ed25519 (`EdDSA`).
    pub jwks: JwkSet,
    /// The client secret (for `HS256`).
    pub secret: ClientSecret,
    /// RSA decryption key.
    pub dec_rsa: DecryptionKey,
    /// EC (P-256) decryption key.
    pub dec_ec: DecryptionKey,
    /// Valid ID tokens ([`id_token_claims`]) signed by each key of [`Fixture::jwks`]
    /// (`RS256`, `ES256`, `EdDSA`) and by the client secret (`HS256`).
    pub id_tokens: Vec<String>,
}

/// The claims of a valid ID token for this client, issued 10 s before [`NOW`].
pub fn id_token_claims() -> serde_json::Value {
    let now = NOW.as_secs();
    serde_json::json!({
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT_ID,
        "nonce": NONCE,
        "iat": now - 10,
        "exp": now + 3600,
        "auth_time": now - 20,
        "name": "Jane Doe",
        "email": "janedoe@example.com",
        "email_verified": true,
    })
}

/// Every signing key of the fixture, the HMAC one (client secret) last.
pub fn all_signing_keys() -> Vec<SigningKey> {
    let mut keys = Vec::from(signing_keys());
    keys.push(SigningKey::hs256(&ClientSecret::new(CLIENT_SECRET)).expect("HS256 key"));
    keys
}

/// The signing keys (with their `kid`s), for the seed generator.
pub fn signing_keys() -> [SigningKey; 3] {
    let key = |pem: &str, kid: &str| SigningKey::from_pem(pem).expect("committed fuzz key").with_kid(kid);
    [key(RSA_PEM, KIDS[0]), key(P256_PEM, KIDS[1]), key(ED25519_PEM, KIDS[2])]
}

/// The provider's JWK Set document (public keys of [`signing_keys`]).
pub fn jwks_json() -> String {
    let keys: Vec<_> = signing_keys().iter().filter_map(SigningKey::public_jwk).collect();
    serde_json::json!({ "keys": keys }).to_string()
}

/// The shared keys.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dec = |pem: &str| DecryptionKey::from_material(&PrivateKeyMaterial::new(pem)).expect("committed fuzz key");
        Fixture {
            jwks: JwkSet::parse(jwks_json().as_bytes()).expect("fixture JWKS"),
            secret: ClientSecret::new(CLIENT_SECRET),
            dec_rsa: dec(RSA_ENC_PEM),
            dec_ec: dec(P256_ENC_PEM),
            id_tokens: all_signing_keys()
                .iter()
                .map(|k| k.sign_jwt(None, &id_token_claims()).expect("sign fixture token"))
                .collect(),
        }
    })
}

/// Turns fuzz input into an HTTP response.
///
/// The input is read like a bare HTTP/1 response head, so seeds stay readable:
///
/// ```text
/// 200
/// Content-Type: application/json
/// Cache-Control: max-age=3600
///
/// {"access_token": "..."}
/// ```
///
/// Everything before the first empty line (`\n\n` or `\r\n\r\n`) is the head: its first
/// line is the status (200 when it is not a valid status), the others `Name: value`
/// headers (lines that do not make a valid header are skipped). Input without an empty
/// line is all body, with status 200 and no headers.
pub fn response(data: &[u8]) -> http::Response<Vec<u8>> {
    let (head, body) = split_head(data);
    let mut builder = http::Response::builder();
    let mut status = http::StatusCode::OK;
    if let Some(head) = head {
        let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        if let Some(first) = lines.next() {
            if let Ok(s) = http::StatusCode::from_bytes(first.trim_ascii()) {
                status = s;
            }
        }
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            let (Ok(name), Ok(value)) =
                (http::HeaderName::from_bytes(name.trim_ascii()), http::HeaderValue::from_bytes(value))
            else {
                continue;
            };
            builder = builder.header(name, value);
        }
    }
    builder = builder.status(status);
    builder.body(body.to_vec()).unwrap_or_else(|_| {
        let mut r = http::Response::new(body.to_vec());
        *r.status_mut() = status;
        r
    })
}

fn split_head(data: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let find = |sep: &[u8]| data.windows(sep.len()).position(|w| w == sep).map(|i| (i, sep.len()));
    let found = match (find(b"\r\n\r\n"), find(b"\n\n")) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match found {
        Some((i, len)) => (data.get(..i), data.get(i + len..).unwrap_or_default()),
        None => (None, data),
    }
}

/// The input as text, when it is UTF-8.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The registered client: an OpenID Connect client of [`ISSUER`] with an `HS256`-capable
/// secret.
pub fn config() -> rpkit::ClientConfig {
    rpkit::ClientConfig::new(CLIENT_NAME)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .authorize_url("https://op.example.com/authorize")
        .access_token_url("https://op.example.com/token")
        .redirect_uri(REDIRECT_URI)
        .scope("openid profile email")
        .issuer(ISSUER)
}

/// Discovered metadata for [`ISSUER`]; `iss_supported` advertises RFC 9207.
pub fn metadata(iss_supported: bool) -> rpkit::discovery::ProviderMetadata {
    rpkit::discovery::ProviderMetadata {
        issuer: ISSUER.into(),
        authorization_endpoint: Some("https://op.example.com/authorize".into()),
        token_endpoint: Some("https://op.example.com/token".into()),
        authorization_response_iss_parameter_supported: iss_supported,
        ..Default::default()
    }
}

/// A session holding one pending authorization, made by [`CLIENT_NAME`] at [`NOW`] - 30 s
/// with `state` [`STATE`] and `nonce` [`NONCE`].
pub fn pending_set() -> rpkit::authorize::PendingSet {
    let stored = serde_json::json!({
        "c": CLIENT_NAME,
        "s": STATE,
        "n": NONCE,
        "v": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "r": REDIRECT_URI,
        "sc": "openid profile email",
        "t": NOW.as_secs() - 30,
    });
    let pending: rpkit::authorize::PendingAuthorization =
        serde_json::from_value(stored).expect("pending authorization fixture");
    let mut set = rpkit::authorize::PendingSet::new();
    set.insert(pending, 8);
    set
}
