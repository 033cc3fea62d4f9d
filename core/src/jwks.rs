//! The provider's JWK Set: request, parse, key selection and the refetch rule.
//!
//! [RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5),
//! [OIDC Core §10.1.1](https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys)
//! (signing key rotation: an unknown `kid` means "fetch the set again").
//!
//! The set is parsed once into ready-to-verify keys ([`Jwk`]); keys rpkit cannot use for
//! verification (`use: enc`, unknown `kty`/`crv`, broken members) are skipped without
//! failing the whole set. [`JwksCache`] is the plain value a caller keeps, with the rule
//! that allows at most one refetch per minute for an unknown `kid`.

use crate::error::{Endpoint, Error};
use crate::jose::crypto::Algorithm;
use crate::jose::jwk::Jwk;
use crate::jose::{truncated, JoseError};
use crate::time::UnixTime;
use crate::wire;
use serde_json::Value;
use std::sync::Arc;

/// The minimum time between two refetches of a JWK Set for an unknown `kid`, in seconds.
pub const REFETCH_INTERVAL_SECS: u64 = 60;

/// A parsed JWK Set: the signature-verification keys of a provider.
///
/// Cheap to clone (the keys are shared).
///
/// ```
/// use rpkit::jwks::JwkSet;
/// let set = JwkSet::parse(br#"{"keys":[
///     {"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty":"RSA","use":"enc","kid":"e1","n":"AQAB","e":"AQAB"},
///     {"kty":"weird","kid":"w"}
/// ]}"#).unwrap();
/// // The encryption key and the unknown key type are skipped, not fatal.
/// assert_eq!(set.len(), 1);
/// assert!(set.contains_kid("k1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkSet {
    keys: Arc<[Jwk]>,
}

impl JwkSet {
    /// Parses a JWK Set document (`{"keys": [...]}`).
    ///
    /// # Errors
    /// [`JoseError::Malformed`] when the bytes are not a JSON object with a `keys` array;
    /// [`JoseError::NoUsableKeys`] when no member is a usable verification key.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|_| JoseError::malformed("JWK Set: not JSON"))?;
        let members = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JoseError::malformed("JWK Set: no `keys` array"))?;
        let keys: Vec<Jwk> = members.iter().filter_map(|m| Jwk::from_json(m).ok()).collect();
        if keys.is_empty() {
            return Err(JoseError::NoUsableKeys.into());
        }
        Ok(JwkSet { keys: keys.into() })
    }

    /// Parses the JWKS endpoint's response.
    ///
    /// # Errors
    /// [`Error::Http`] for a non-2xx status, [`Error::TooLarge`] past
    /// [`wire::MAX_RESPONSE_BYTES`], otherwise as [`JwkSet::parse`].
    pub fn from_response<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<Self, Error> {
        if !response.status().is_success() {
            return Err(Error::Http { endpoint: Endpoint::Jwks, status: response.status().as_u16() });
        }
        Self::parse(wire::body_of(response, Endpoint::Jwks)?)
    }

    /// A set made of the given keys (tests, pinned keys).
    pub fn from_keys(keys: Vec<Jwk>) -> Self {
        JwkSet { keys: keys.into() }
    }

    /// The keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `other` is this very set (the same fetch), not merely equal keys.
    pub fn same_as(&self, other: &JwkSet) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys)
    }

    /// Whether a key has this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// Selects the key that verifies a JWS with header `kid` and `alg`.
    ///
    /// With a `kid`: the key with that `kid` (the first that fits `alg` when several share
    /// it). Without: the only key that fits `alg`. Header `jwk`/`jku`/`x5u`/`x5c` are never
    /// consulted.
    ///
    /// # Errors
    /// [`JoseError::UnknownKid`] when no key has the `kid` (refetch the set once);
    /// [`JoseError::KeyTypeMismatch`] when keys with the `kid` exist but none fits `alg`;
    /// [`JoseError::AmbiguousKey`] when there is no `kid` and several keys fit;
    /// [`JoseError::NoKey`] when there is no `kid` and no key fits.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Jwk, JoseError> {
        match kid {
            Some(kid) => {
                let mut same_kid = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
                if same_kid.peek().is_none() {
                    return Err(JoseError::UnknownKid { kid: truncated(kid, 64) });
                }
                same_kid.find(|k| k.fits(alg)).ok_or(JoseError::KeyTypeMismatch { alg: alg.name().to_owned() })
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Ok(key),
                    (Some(_), Some(_)) => Err(JoseError::AmbiguousKey),
                    (None, _) => Err(JoseError::NoKey { alg: alg.name().to_owned() }),
                }
            }
        }
    }
}

/// The request for a JWK Set: `GET uri` with `Accept: application/json`.
///
/// ```
/// let req = rpkit::jwks::request("https://op.example/jwks").unwrap();
/// assert_eq!(req.method(), http::Method::GET);
/// assert_eq!(req.headers()[http::header::ACCEPT], "application/json");
/// ```
///
/// # Errors
/// [`Error::Malformed`] when `uri` is not an absolute URL.
pub fn request(uri: &str) -> Result<http::Request<Vec<u8>>, Error> {
    wire::parse_url(uri, "jwks_uri")?;
    wire::get(uri, "application/json")?.build()
}

/// How long a fetched JWK Set is used before the next validation fetches it again, when the
/// response has no usable `Cache-Control` (10 minutes).
pub const DEFAULT_JWKS_MAX_AGE_SECS: u64 = 600;
/// The shortest lifetime given to a JWK Set, whatever `Cache-Control` says (`no-store`
/// included): one fetch a minute at most, so that a provider cannot make every
/// validation a network round trip.
pub const MIN_JWKS_MAX_AGE_SECS: u64 = 60;
/// The longest lifetime given to a JWK Set, whatever `Cache-Control` says: a key the
/// provider removed (rotated out, or compromised) stops verifying within an hour.
pub const MAX_JWKS_MAX_AGE_SECS: u64 = 3600;

/// The lifetime of a JWK Set response: its `Cache-Control` `max-age` (or
/// [`DEFAULT_JWKS_MAX_AGE_SECS`] without one), bounded to
/// [`MIN_JWKS_MAX_AGE_SECS`]..=[`MAX_JWKS_MAX_AGE_SECS`].
///
/// ```
/// use rpkit::jwks::{max_age_of, MAX_JWKS_MAX_AGE_SECS};
/// let mut h = http::HeaderMap::new();
/// assert_eq!(max_age_of(&h), 600);
/// h.insert("cache-control", "public, max-age=120".parse().unwrap());
/// assert_eq!(max_age_of(&h), 120);
/// h.insert("cache-control", "max-age=31536000".parse().unwrap());
/// assert_eq!(max_age_of(&h), MAX_JWKS_MAX_AGE_SECS);
/// h.insert("cache-control", "no-store".parse().unwrap());
/// assert_eq!(max_age_of(&h), 60);
/// ```
pub fn max_age_of(headers: &http::HeaderMap) -> u64 {
    let declared = crate::discovery::declared_max_age(headers).unwrap_or(DEFAULT_JWKS_MAX_AGE_SECS);
    declared.clamp(MIN_JWKS_MAX_AGE_SECS, MAX_JWKS_MAX_AGE_SECS)
}

/// A cached JWK Set with its fetch time, its lifetime and the refetch rate limit.
///
/// Plain data: the async client keeps one per provider and asks it what to do.
///
/// - Before verifying: [`JwksCache::is_stale`] — past its max age the set is fetched
///   again before use, so a key the provider removed stops verifying within
///   [`max_age`](Self::max_age) (at most [`MAX_JWKS_MAX_AGE_SECS`]).
/// - After a failed verification: [`JwksCache::claim_refetch`] says whether the failure
///   justifies one more fetch (an unknown `kid`; or, for a token without `kid`, no
///   fitting key or a signature that the cached keys do not verify, when the set is at
///   least [`REFETCH_INTERVAL_SECS`] old — the provider may have replaced its only key),
///   rate-limited to one refetch per [`REFETCH_INTERVAL_SECS`]. A bad signature on a
///   token that names its `kid`, which is in the set, never causes a refetch.
///
/// ```
/// use rpkit::jwks::{JwkSet, JwksCache};
/// use rpkit::time::UnixTime;
/// # let set = JwkSet::parse(br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#).unwrap();
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = JwksCache::new(set, now);
/// assert!(!cache.is_stale(now.plus(599)));
/// assert!(cache.is_stale(now.plus(600)));
/// let unknown_kid = rpkit::Error::Jose(rpkit::jose::JoseError::UnknownKid { kid: "k2".into() });
/// assert!(cache.claim_refetch(&unknown_kid, true, now));
/// // Rate-limited: not again within a minute.
/// assert!(!cache.claim_refetch(&unknown_kid, true, now.plus(30)));
/// assert!(cache.claim_refetch(&unknown_kid, true, now.plus(60)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksCache {
    /// The keys.
    pub set: JwkSet,
    /// When `set` was fetched.
    pub fetched_at: UnixTime,
    /// Seconds `set` is used after `fetched_at` ([`max_age_of`] its response).
    pub max_age: u64,
    /// When the last refetch after a failed verification started, if any.
    pub last_refetch: Option<UnixTime>,
}

impl JwksCache {
    /// A cache holding `set`, fetched at `now`, for [`DEFAULT_JWKS_MAX_AGE_SECS`].
    pub fn new(set: JwkSet, now: UnixTime) -> Self {
        JwksCache { set, fetched_at: now, max_age: DEFAULT_JWKS_MAX_AGE_SECS, last_refetch: None }
    }

    /// Parses the JWKS endpoint's response ([`JwkSet::from_response`]) into a cache
    /// entry whose lifetime comes from its `Cache-Control` ([`max_age_of`]).
    ///
    /// # Errors
    /// As [`JwkSet::from_response`].
    pub fn from_response<B: AsRef<[u8]>>(response: &http::Response<B>, now: UnixTime) -> Result<Self, Error> {
        let set = JwkSet::from_response(response)?;
        Ok(JwksCache { set, fetched_at: now, max_age: max_age_of(response.headers()), last_refetch: None })
    }

    /// Whether the set is past its max age at `now` and must be fetched before use.
    #[must_use]
    pub fn is_stale(&self, now: UnixTime) -> bool {
        now.secs_since(self.fetched_at) >= self.max_age
    }

    /// Whether a refetch for an unknown `kid` is allowed at `now`: at most one per
    /// [`REFETCH_INTERVAL_SECS`].
    #[must_use]
    pub fn may_refetch_for_unknown_kid(&self, now: UnixTime) -> bool {
        self.last_refetch.map_or(true, |last| now.secs_since(last) >= REFETCH_INTERVAL_SECS)
    }

    /// Decides whether `err`, the failure of a verification against this set, justifies
    /// fetching the set once more, and if so records the refetch (rate limit) at `now`.
    /// `token_has_kid` says whether the token's header named a key.
    ///
    /// Yes for an unknown `kid` or no fitting key ([`JoseError::is_unknown_key`]); yes
    /// for a bad signature on a token **without** `kid` when the set is at least
    /// [`REFETCH_INTERVAL_SECS`] old (its only key may have been replaced); never for a
    /// bad signature under a known `kid`. Always at most one refetch per
    /// [`REFETCH_INTERVAL_SECS`].
    #[must_use]
    pub fn claim_refetch(&mut self, err: &Error, token_has_kid: bool, now: UnixTime) -> bool {
        let justified = newer_keys_could_fix(err, token_has_kid)
            && (is_unknown_key(err) || now.secs_since(self.fetched_at) >= REFETCH_INTERVAL_SECS);
        if !justified || !self.may_refetch_for_unknown_kid(now) {
            return false;
        }
        self.last_refetch = Some(now);
        true
    }

    /// Records that a refetch starts at `now` (call before sending the request, so that
    /// concurrent callers do not all refetch).
    pub fn record_refetch(&mut self, now: UnixTime) {
        self.last_refetch = Some(now);
    }

    /// Replaces the keys with a freshly fetched set (keeping the refetch rate limit).
    pub fn replace(&mut self, set: JwkSet, now: UnixTime) {
        self.set = set;
        self.fetched_at = now;
    }

    /// Takes the keys and lifetime of `fresh`, a newer fetch, keeping this cache's
    /// refetch rate limit.
    pub fn update(&mut self, fresh: JwksCache) {
        let last_refetch = self.last_refetch.max(fresh.last_refetch);
        *self = JwksCache { last_refetch, ..fresh };
    }
}

fn is_unknown_key(err: &Error) -> bool {
    matches!(err, Error::Jose(e) if e.is_unknown_key())
}

/// Whether a newer JWK Set could turn `err` into a success: an unknown `kid` (or no key
/// for the algorithm), or a bad signature on a token that names no key (its provider may
/// have replaced its only key). A bad signature under a named key: never.
fn newer_keys_could_fix(err: &Error, token_names_key: bool) -> bool {
    let bad_signature =
        matches!(err, Error::Jose(JoseError::BadSignature) | Error::IdToken(crate::error::IdTokenError::Signature));
    is_unknown_key(err) || (bad_signature && !token_names_key)
}

/// Where a [`KeyCheck`] finds the provider's keys and records refetches.
///
/// `Option<JwksCache>` implements it for a caller that owns its cache (the
/// [`Provider`](crate::login::Provider) of an embedder); the async client implements it
/// over the cache its tasks share.
pub trait KeySource {
    /// The cached set, when there is one that is fresh at `now` ([`JwksCache::is_stale`]).
    fn fresh_keys(&mut self, now: UnixTime) -> Option<JwkSet>;
    /// Whether `err`, a failed verification against the cached set, justifies one more
    /// fetch; records it when it does ([`JwksCache::claim_refetch`]).
    fn claim_refetch(&mut self, err: &Error, token_names_key: bool, now: UnixTime) -> bool;
}

impl KeySource for Option<JwksCache> {
    fn fresh_keys(&mut self, now: UnixTime) -> Option<JwkSet> {
        self.as_ref().filter(|c| !c.is_stale(now)).map(|c| c.set.clone())
    }

    fn claim_refetch(&mut self, err: &Error, token_names_key: bool, now: UnixTime) -> bool {
        self.as_mut().is_some_and(|c| c.claim_refetch(err, token_names_key, now))
    }
}

/// Installs a freshly fetched set in `cache`, keeping its refetch rate limit.
pub fn install(cache: &mut Option<JwksCache>, fresh: JwksCache) {
    match cache {
        Some(c) => c.update(fresh),
        None => *cache = Some(fresh),
    }
}

/// What a [`KeyCheck`] needs next.
#[derive(Debug)]
#[must_use]
// Returned once per step and consumed at once; boxing the request would cost more.
#[allow(clippy::large_enum_variant)]
pub enum KeyStep<T> {
    /// The check is over: the verified value.
    Done(T),
    /// Send this JWK Set request, install the answer ([`install`] or a shared cache),
    /// call [`KeyCheck::keys_fetched`] and [`KeyCheck::poll`] again.
    Fetch(http::Request<Vec<u8>>),
}

/// The verification of one JWT (ID token, logout token, signed UserInfo) against the
/// provider's keys, as a state machine: every decision about the JWK Set is made here.
///
/// - An `HS*` token is keyed by the client secret and needs no JWK Set: no fetch at all.
/// - No cached set, or one past its max age: fetch first.
/// - A failure that a newer set could fix ([`JwksCache::claim_refetch`]: an unknown `kid`;
///   a bad signature on a token without `kid` once the set is a minute old), at most one
///   refetch a minute per provider: fetch once more and check again.
/// - Once a set was fetched for this check, its verdict is final.
///
/// ```
/// use rpkit::jwks::{JwksCache, KeyCheck, KeyStep};
/// use rpkit::{ClientConfig, UnixTime};
/// let config = ClientConfig::new("op").jwks_uri("https://op.example/jwks");
/// let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln"; // {"alg":"ES256","kid":"k1"}
/// let mut keys: Option<JwksCache> = None;
/// let mut check = KeyCheck::new(token, &config, None)?;
/// let now = UnixTime::from_secs(1_700_000_000);
/// // Nothing cached: the machine asks for the JWK Set.
/// match check.poll(&mut keys, now, |set| Ok(set.len()))? {
///     KeyStep::Fetch(request) => assert_eq!(request.uri(), "https://op.example/jwks"),
///     KeyStep::Done(_) => unreachable!(),
/// }
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyCheck {
    jwks_uri: Option<String>,
    names_key: bool,
    fetched: bool,
}

impl KeyCheck {
    /// A check of `compact` for the client `config` with optional provider `metadata`.
    ///
    /// # Errors
    /// [`ConfigError::Missing`](crate::error::ConfigError::Missing) (`jwks_uri`) or
    /// [`ConfigError::InsecureEndpoint`](crate::error::ConfigError::InsecureEndpoint) when
    /// the token needs the JWK Set and its URL is unknown or not TLS.
    pub fn new(
        compact: &str,
        config: &crate::ClientConfig,
        metadata: Option<&crate::discovery::ProviderMetadata>,
    ) -> Result<Self, Error> {
        let jwks_uri = if needs_keys(compact) {
            let endpoints = crate::discovery::Endpoints::resolve(config, metadata);
            Some(endpoints.require_jwks_uri(config)?.to_owned())
        } else {
            None
        };
        Ok(KeyCheck { jwks_uri, names_key: names_a_key(compact), fetched: false })
    }

    /// Runs `check` with the keys of `keys`, or says which request must come first.
    ///
    /// # Errors
    /// The error of `check` when no (further) fetch could change it;
    /// [`Error::Malformed`] for an unusable `jwks_uri`.
    pub fn poll<T>(
        &mut self,
        keys: &mut dyn KeySource,
        now: UnixTime,
        check: impl Fn(&JwkSet) -> Result<T, Error>,
    ) -> Result<KeyStep<T>, Error> {
        let Some(uri) = self.jwks_uri.as_deref() else {
            return check(&JwkSet::from_keys(Vec::new())).map(KeyStep::Done);
        };
        let Some(set) = keys.fresh_keys(now) else {
            if self.fetched {
                // Fetched for this check and still nothing fresh: nothing more to try.
                return Err(JoseError::NoUsableKeys.into());
            }
            return request(uri).map(KeyStep::Fetch);
        };
        match check(&set) {
            Ok(value) => Ok(KeyStep::Done(value)),
            Err(err) if self.fetched => Err(err),
            Err(err) => {
                // Another caller installed a newer set since ours was read: that set is the
                // refetch this failure may have (checked with the same rule).
                if let Some(newer) = keys.fresh_keys(now).filter(|n| !n.same_as(&set)) {
                    if newer_keys_could_fix(&err, self.names_key) {
                        self.fetched = true;
                        return check(&newer).map(KeyStep::Done);
                    }
                }
                if keys.claim_refetch(&err, self.names_key, now) {
                    request(uri).map(KeyStep::Fetch)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Records that the JWK Set was fetched (and installed) for this check: from now on a
    /// failure is final.
    pub fn keys_fetched(&mut self) {
        self.fetched = true;
    }

    /// Whether this check needs the JWK Set at all (not for `HS*`).
    pub fn needs_keys(&self) -> bool {
        self.jwks_uri.is_some()
    }
}

/// Whether verifying `compact` needs the provider's JWK Set: not for `HS*`, which is keyed
/// by the client secret (OIDC Core §10.1). A JWE always does (its inner JWS is unknown).
pub fn needs_keys(compact: &str) -> bool {
    if crate::jose::is_jwe(compact) {
        return true;
    }
    crate::jose::jws::peek_header(compact).map_or(true, |h| !h.alg.is_hmac())
}

/// Whether a compact JWS names its key (`kid`). A JWE's signing key is inside it, so an
/// encrypted token counts as naming one: a bad signature there never causes a refetch.
fn names_a_key(compact: &str) -> bool {
    crate::jose::is_jwe(compact) || crate::jose::jws::peek_header(compact).map_or(true, |h| h.kid.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64;
    use crate::jose::crypto::{Curve, PublicKey};
    use proptest::prelude::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn ec(kid: Option<&str>, curve: Curve) -> Jwk {
        let c = vec![9u8; curve.coordinate_len()];
        Jwk::from_public_key(PublicKey::ec(curve, &c, &c).unwrap(), kid.map(Into::into), None)
    }

    fn rsa(kid: Option<&str>) -> Jwk {
        Jwk::from_public_key(PublicKey::rsa(&[0xc5; 256], &[1, 0, 1]).unwrap(), kid.map(Into::into), None)
    }

    #[test]
    fn selection_by_kid_is_exact() {
        let set = JwkSet::from_keys(vec![rsa(Some("a")), rsa(Some("b")), ec(Some("c"), Curve::P256)]);
        assert_eq!(set.select(Some("b"), Algorithm::Rs256).unwrap().kid(), Some("b"));
        assert_eq!(set.select(Some("c"), Algorithm::Es256).unwrap().kid(), Some("c"));
    }

    #[test]
    fn an_unknown_kid_is_reported_distinctly() {
        let set = JwkSet::from_keys(vec![rsa(Some("a"))]);
        assert_eq!(set.select(Some("zz"), Algorithm::Rs256), Err(JoseError::UnknownKid { kid: "zz".into() }));
        assert_eq!(set.select(Some("A"), Algorithm::Rs256), Err(JoseError::UnknownKid { kid: "A".into() }));
    }

    #[test]
    fn a_key_never_verifies_an_algorithm_of_another_type() {
        let set = JwkSet::from_keys(vec![rsa(Some("r")), ec(Some("p256"), Curve::P256)]);
        assert!(matches!(set.select(Some("r"), Algorithm::Es256), Err(JoseError::KeyTypeMismatch { .. })));
        assert!(matches!(set.select(Some("p256"), Algorithm::Es384), Err(JoseError::KeyTypeMismatch { .. })));
        assert!(matches!(set.select(Some("p256"), Algorithm::Hs256), Err(JoseError::KeyTypeMismatch { .. })));
    }

    #[test]
    fn without_kid_the_single_fitting_key_is_used() {
        let set = JwkSet::from_keys(vec![rsa(Some("r")), ec(Some("e"), Curve::P256)]);
        assert_eq!(set.select(None, Algorithm::Es256).unwrap().kid(), Some("e"));
        assert_eq!(set.select(None, Algorithm::Rs256).unwrap().kid(), Some("r"));
    }

    #[test]
    fn without_kid_several_fitting_keys_are_ambiguous() {
        let set = JwkSet::from_keys(vec![rsa(Some("r1")), rsa(Some("r2")), ec(None, Curve::P256)]);
        assert_eq!(set.select(None, Algorithm::Rs256), Err(JoseError::AmbiguousKey));
        assert!(set.select(None, Algorithm::Es256).is_ok());
    }

    #[test]
    fn without_kid_and_no_fitting_key_there_is_no_key() {
        let set = JwkSet::from_keys(vec![rsa(None)]);
        assert!(matches!(set.select(None, Algorithm::EdDsa), Err(JoseError::NoKey { .. })));
        assert!(matches!(set.select(None, Algorithm::Hs256), Err(JoseError::NoKey { .. })));
    }

    #[test]
    fn unusable_members_are_skipped_without_failing_the_set() {
        let doc = format!(
            r#"{{"keys":[
                {{"kty":"OKP","crv":"Ed25519","kid":"ok","x":"{ED_X}"}},
                {{"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":"{ED_X}"}},
                {{"kty":"EC","crv":"P-256","kid":"short","x":"AAAA","y":"AAAA"}},
                {{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"}},
                {{"kty":"oct","kid":"sym","k":"c2VjcmV0"}},
                "not an object",
                {{"kty":"EC","crv":"P-999","kid":"curve"}}
            ]}}"#
        );
        let set = JwkSet::parse(doc.as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.keys()[0].kid(), Some("ok"));
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        assert_eq!(JwkSet::parse(br#"{"keys":[]}"#), Err(Error::Jose(JoseError::NoUsableKeys)));
        let only_enc = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","use":"enc","x":"{ED_X}"}}]}}"#);
        assert_eq!(JwkSet::parse(only_enc.as_bytes()), Err(Error::Jose(JoseError::NoUsableKeys)));
    }

    #[test]
    fn non_json_or_shapeless_sets_are_malformed() {
        assert!(matches!(JwkSet::parse(b"<html>"), Err(Error::Jose(JoseError::Malformed { .. }))));
        assert!(matches!(JwkSet::parse(br#"{"keys":{}}"#), Err(Error::Jose(JoseError::Malformed { .. }))));
        assert!(matches!(JwkSet::parse(br#"[]"#), Err(Error::Jose(JoseError::Malformed { .. }))));
    }

    #[test]
    fn padded_members_are_tolerated() {
        let x = b64::encode(&[3u8; 32]);
        let doc = format!(r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{x}=","y":"{x}="}}]}}"#);
        assert_eq!(JwkSet::parse(doc.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn responses_are_checked_for_status_and_size() {
        let doc = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}]}}"#);
        let ok = http::Response::new(doc.clone().into_bytes());
        assert_eq!(JwkSet::from_response(&ok).unwrap().len(), 1);
        let err = http::Response::builder().status(503).body(doc.into_bytes()).unwrap();
        assert_eq!(JwkSet::from_response(&err), Err(Error::Http { endpoint: Endpoint::Jwks, status: 503 }));
        let huge = http::Response::new(vec![b' '; wire::MAX_RESPONSE_BYTES + 1]);
        assert!(matches!(JwkSet::from_response(&huge), Err(Error::TooLarge { endpoint: Endpoint::Jwks, .. })));
    }

    #[test]
    fn the_request_is_a_json_get() {
        let req = request("https://op.example/jwks").unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(req.uri(), "https://op.example/jwks");
        assert_eq!(req.headers()[http::header::ACCEPT], "application/json");
        assert!(request("not a uri").is_err());
    }

    #[test]
    fn refetch_is_rate_limited_to_once_a_minute() {
        let t0 = UnixTime::from_secs(1_000_000);
        let mut cache = JwksCache::new(JwkSet::from_keys(vec![rsa(None)]), t0);
        assert!(cache.may_refetch_for_unknown_kid(t0));
        cache.record_refetch(t0);
        assert!(!cache.may_refetch_for_unknown_kid(t0));
        assert!(!cache.may_refetch_for_unknown_kid(t0.plus(59)));
        assert!(cache.may_refetch_for_unknown_kid(t0.plus(60)));
        cache.replace(JwkSet::from_keys(vec![rsa(Some("new"))]), t0.plus(1));
        assert_eq!(cache.fetched_at, t0.plus(1));
        assert!(cache.set.contains_kid("new"));
    }

    #[test]
    fn a_set_is_stale_after_its_max_age_from_cache_control() {
        let t0 = UnixTime::from_secs(1_000_000);
        let resp = |cc: Option<&str>| {
            let doc = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}]}}"#);
            let mut b = http::Response::builder();
            if let Some(cc) = cc {
                b = b.header("cache-control", cc);
            }
            b.body(doc.into_bytes()).unwrap()
        };
        let default = JwksCache::from_response(&resp(None), t0).unwrap();
        assert_eq!(default.max_age, DEFAULT_JWKS_MAX_AGE_SECS);
        assert!(!default.is_stale(t0.plus(DEFAULT_JWKS_MAX_AGE_SECS - 1)));
        assert!(default.is_stale(t0.plus(DEFAULT_JWKS_MAX_AGE_SECS)));
        assert_eq!(JwksCache::from_response(&resp(Some("max-age=300")), t0).unwrap().max_age, 300);
        assert_eq!(JwksCache::from_response(&resp(Some("max-age=5")), t0).unwrap().max_age, MIN_JWKS_MAX_AGE_SECS);
        assert_eq!(JwksCache::from_response(&resp(Some("no-cache")), t0).unwrap().max_age, MIN_JWKS_MAX_AGE_SECS);
        assert_eq!(
            JwksCache::from_response(&resp(Some("max-age=99999999999")), t0).unwrap().max_age,
            MAX_JWKS_MAX_AGE_SECS
        );
        assert_eq!(JwksCache::from_response(&resp(Some("public")), t0).unwrap().max_age, DEFAULT_JWKS_MAX_AGE_SECS);
    }

    #[test]
    fn only_a_failure_a_newer_set_could_fix_claims_a_refetch() {
        let t0 = UnixTime::from_secs(1_000_000);
        let unknown = Error::Jose(JoseError::UnknownKid { kid: "k9".into() });
        let bad_sig = Error::Jose(JoseError::BadSignature);
        let id_bad_sig = Error::IdToken(crate::error::IdTokenError::Signature);
        let expired = Error::IdToken(crate::error::IdTokenError::Expired);
        let fresh = || JwksCache::new(JwkSet::from_keys(vec![rsa(None)]), t0);

        assert!(fresh().claim_refetch(&unknown, true, t0));
        assert!(!fresh().claim_refetch(&expired, false, t0.plus(600)));
        // A bad signature under a named key: never.
        assert!(!fresh().claim_refetch(&bad_sig, true, t0.plus(600)));
        assert!(!fresh().claim_refetch(&id_bad_sig, true, t0.plus(600)));
        // Without kid: only once the set is a minute old.
        assert!(!fresh().claim_refetch(&id_bad_sig, false, t0.plus(REFETCH_INTERVAL_SECS - 1)));
        assert!(fresh().claim_refetch(&id_bad_sig, false, t0.plus(REFETCH_INTERVAL_SECS)));
        assert!(fresh().claim_refetch(&bad_sig, false, t0.plus(REFETCH_INTERVAL_SECS)));
        // And every claim counts against the one-a-minute limit.
        let mut cache = fresh();
        assert!(cache.claim_refetch(&unknown, true, t0.plus(100)));
        assert!(!cache.claim_refetch(&unknown, true, t0.plus(159)));
        assert!(!cache.claim_refetch(&id_bad_sig, false, t0.plus(159)));
        assert!(cache.claim_refetch(&unknown, true, t0.plus(160)));
    }

    #[test]
    fn an_update_keeps_the_refetch_rate_limit() {
        let t0 = UnixTime::from_secs(1_000_000);
        let mut cache = JwksCache::new(JwkSet::from_keys(vec![rsa(None)]), t0);
        cache.record_refetch(t0.plus(10));
        cache.update(JwksCache::new(JwkSet::from_keys(vec![rsa(Some("new"))]), t0.plus(11)));
        assert!(cache.set.contains_kid("new"));
        assert_eq!(cache.fetched_at, t0.plus(11));
        assert_eq!(cache.last_refetch, Some(t0.plus(10)));
    }

    #[test]
    fn a_relative_jwks_uri_is_refused_before_any_request() {
        assert!(matches!(request("/jwks"), Err(Error::Config(crate::error::ConfigError::Unusable { .. }))));
    }

    proptest! {
        #[test]
        fn jwks_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = JwkSet::parse(&bytes);
        }

        #[test]
        fn jwks_parsing_of_jsonish_text_never_panics(
            kty in "(RSA|EC|OKP|oct|x)", crv in "(P-256|P-384|P-521|Ed25519|X25519|)",
            x in "[A-Za-z0-9_=-]{0,90}", y in "[A-Za-z0-9_=-]{0,90}", use_ in "(sig|enc|)",
        ) {
            let doc = format!(r#"{{"keys":[{{"kty":"{kty}","crv":"{crv}","x":"{x}","y":"{y}","n":"{x}","e":"{y}","use":"{use_}"}}]}}"#);
            let _ = JwkSet::parse(doc.as_bytes());
        }
    }
}
