//! Small helpers: randomness, time, parameter parsing, HTML escaping.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::rand::SecureRandom;

/// `n_bytes` of system randomness, base64url without padding.
pub(crate) fn random_token(n_bytes: usize) -> String {
    let mut buf = vec![0u8; n_bytes];
    // SystemRandom only fails when the OS has no entropy source at all; a dev provider
    // cannot do anything useful then, but it must not hand out predictable values.
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
    Base64UrlUnpadded::encode_string(&buf)
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Equality of two strings whose time does not depend on where they differ (the length
/// may leak, as it does anyway on the wire).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Parameters of a request (query or form body). RFC 6749 §3.1: a parameter must not be
/// sent more than once, so duplicates are an error.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

/// A parameter appeared more than once.
#[derive(Debug)]
pub(crate) struct DuplicateParam(pub(crate) String);

impl Params {
    /// Parse `application/x-www-form-urlencoded` data.
    pub(crate) fn parse(input: &[u8]) -> Result<Self, DuplicateParam> {
        let mut map = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(input) {
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(DuplicateParam(k.into_owned()));
            }
        }
        Ok(Self(map))
    }

    /// The value of `key`, if present (an empty value counts as absent, as RFC 6749 §3.1 says).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Whether `key` was sent at all.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All parameters.
    pub(crate) fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Parameters from a map (a pushed request's, a request object's).
    pub(crate) fn from_map(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

/// Escape text for HTML element content and double-quoted attribute values (the core's
/// escaper, which the web adapters use too).
pub(crate) use rpkit::client::web::escape_html as html_escape;

/// Split a space-separated scope string.
pub(crate) fn scopes(scope: &str) -> Vec<&str> {
    scope.split(' ').filter(|s| !s.is_empty()).collect()
}

/// Whether `host` of an `http` URL is a loopback address.
pub(crate) fn is_loopback_http(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_neutralises_markup() {
        assert_eq!(
            html_escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn duplicate_parameters_are_rejected() {
        assert!(Params::parse(b"a=1&b=2").is_ok());
        let err = Params::parse(b"a=1&a=2").unwrap_err();
        assert_eq!(err.0, "a");
    }

    #[test]
    fn empty_parameters_count_as_absent() {
        let p = Params::parse(b"state=&code=x").unwrap();
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("code"), Some("x"));
    }

    #[test]
    fn only_loopback_http_is_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:8000/x"));
        assert!(is_loopback_http("http://localhost/x"));
        assert!(is_loopback_http("http://[::1]:9/x"));
        assert!(!is_loopback_http("https://127.0.0.1/x"));
        assert!(!is_loopback_http("http://10.0.0.1/x"));
        assert!(!is_loopback_http("http://example.com/x"));
        assert!(!is_loopback_http("not a url"));
    }

    proptest::proptest! {
        #[test]
        fn params_parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = Params::parse(&bytes);
        }
    }
}
