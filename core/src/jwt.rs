//! The rules every JWT from the provider obeys, whatever it carries: one encryption rule
//! and one registered-claims checker, shared by ID tokens ([`crate::id_token`]) and
//! back-channel logout tokens ([`crate::backchannel`]).
//!
//! - Encryption ([OIDC Core §10.2](https://openid.net/specs/openid-connect-core-1_0.html#Encryption),
//!   [Back-Channel Logout §2.4](https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken)):
//!   the same registration governs both tokens, so when a decryption key is configured
//!   the token must be a JWE, and a JWE without a configured key is refused.
//! - Registered claims ([RFC 7519 §4.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1),
//!   OIDC Core §3.1.3.7 items 2–5, 9, 10): `iss` exactly the issuer (for a multi-tenant
//!   issuer template, the template with the token's own `tid`); `aud` contains the
//!   client id; `azp` equal to it when present and required with several audiences;
//!   `exp` in the future (`exp + leeway > now`); `iat` not in the future
//!   (`iat <= now + leeway`) and not older than the maximum age
//!   (`iat + max_age + leeway >= now`); `nbf`, when present, reached
//!   (`nbf <= now + leeway`). One comparison for each boundary, for every token type.

use crate::claims::{Claim, ClaimsView, Member};
use crate::error::Error;
use crate::jose::jwe::{self, DecryptionKey};
use crate::jose::{is_jwe, JoseError};
use std::borrow::Cow;

/// Why a token's encryption is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncryptionViolation {
    /// A decryption key is configured and the token is a plain JWS.
    Required,
    /// The token is a JWE and no decryption key is configured.
    NoKey,
}

/// The JWS inside `compact`: decrypted with `key` when it is a JWE, as it is otherwise —
/// by the one encryption rule.
pub(crate) fn jws_of<'a>(
    compact: &'a str,
    key: Option<&DecryptionKey>,
) -> Result<Result<Cow<'a, str>, EncryptionViolation>, Error> {
    match (key, is_jwe(compact)) {
        (Some(key), true) => {
            let plain = jwe::decrypt(compact, key)?;
            let text = String::from_utf8(plain).map_err(|_| JoseError::malformed("JWE plaintext is not a JWS"))?;
            Ok(Ok(Cow::Owned(text.trim().to_owned())))
        }
        (Some(_), false) => Ok(Err(EncryptionViolation::Required)),
        (None, true) => Ok(Err(EncryptionViolation::NoKey)),
        (None, false) => Ok(Ok(Cow::Borrowed(compact))),
    }
}

/// What the registered claims are checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// The expected `iss`.
    pub issuer: &'a str,
    /// The client id `aud` must contain (and `azp` must equal).
    pub client_id: &'a str,
    /// Clock leeway in seconds.
    pub leeway: u64,
    /// The oldest acceptable `iat`, in seconds before now.
    pub max_iat_age: u64,
    /// Whether `exp` must be present (ID tokens) or is checked only when present (logout
    /// tokens).
    pub exp_required: bool,
}

/// A registered claim that fails its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A required claim is absent, or present with the wrong type.
    Missing(&'static str),
    /// `iss` is not the issuer (the value found, cut and cleaned).
    Issuer(String),
    /// `aud` does not contain the client id (or is not a string or string list).
    Audience,
    /// `azp` is not the client id, or absent with several audiences.
    AuthorizedParty,
    /// `exp + leeway <= now`.
    Expired(u64),
    /// `iat > now + leeway`.
    IssuedInFuture(u64),
    /// `iat + max_age + leeway < now`.
    IssuedTooLongAgo(u64),
    /// `nbf > now + leeway`.
    NotYetValid,
}

/// The times a passing token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Times {
    pub iat: u64,
    pub exp: Option<u64>,
}

/// Checks the registered claims of `claims` at `now` (seconds) under `rules`.
pub(crate) fn check_registered(claims: &ClaimsView<'_>, rules: &Rules<'_>, now: u64) -> Result<Times, Violation> {
    use Violation as V;
    let leeway = rules.leeway;
    match claims.get(Claim::Iss) {
        Member::Str(iss) if crate::providers::issuer_matches(rules.issuer, iss, claims.get(Claim::Tid).as_str()) => {}
        Member::Str(other) => return Err(V::Issuer(crate::error::sanitized(other, 256))),
        _ => return Err(V::Missing("iss")),
    }

    let (has_client, several) = match claims.get(Claim::Aud) {
        Member::Absent => return Err(V::Missing("aud")),
        Member::Str(aud) => (aud == rules.client_id, false),
        // Every member is a string (else the view holds `Other`).
        Member::StrList(items) => (items.iter().any(|aud| aud == rules.client_id), items.len() > 1),
        _ => return Err(V::Audience),
    };
    if !has_client {
        return Err(V::Audience);
    }
    match claims.get(Claim::Azp) {
        Member::Str(azp) if azp == rules.client_id => {}
        Member::Absent if !several => {}
        _ => return Err(V::AuthorizedParty),
    }

    let exp = match claims.get(Claim::Exp) {
        Member::Absent if !rules.exp_required => None,
        member => Some(member.as_time().ok_or(V::Missing("exp"))?),
    };
    if let Some(exp) = exp {
        if exp.saturating_add(leeway) <= now {
            return Err(V::Expired(exp));
        }
    }
    let iat = claims.get(Claim::Iat).as_time().ok_or(V::Missing("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(V::IssuedInFuture(iat));
    }
    if iat.saturating_add(rules.max_iat_age).saturating_add(leeway) < now {
        return Err(V::IssuedTooLongAgo(iat));
    }
    let nbf = claims.get(Claim::Nbf);
    if !nbf.is_absent() {
        let nbf = nbf.as_time().ok_or(V::Missing("nbf"))?;
        if nbf > now.saturating_add(leeway) {
            return Err(V::NotYetValid);
        }
    }
    Ok(Times { iat, exp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Claims;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;
    const RULES: Rules<'static> =
        Rules { issuer: "https://op.example", client_id: "c", leeway: 60, max_iat_age: 600, exp_required: true };

    fn check(claims: serde_json::Value, rules: &Rules<'_>) -> Result<Times, Violation> {
        let mut out = None;
        let parsed = Claims::parse_checked(
            claims.to_string(),
            || Violation::Missing("object"),
            |view| {
                out = Some(check_registered(view, rules, NOW));
                Ok(())
            },
        );
        parsed.unwrap();
        out.unwrap()
    }

    fn base() -> serde_json::Value {
        json!({"iss": "https://op.example", "aud": "c", "exp": NOW + 300, "iat": NOW - 10})
    }

    fn with(mut c: serde_json::Value, k: &str, v: serde_json::Value) -> serde_json::Value {
        c[k] = v;
        c
    }

    #[test]
    fn every_boundary_has_one_rule_with_the_leeway() {
        assert!(check(base(), &RULES).is_ok());
        // exp: accepted until exp + leeway, refused at it.
        assert!(check(with(base(), "exp", json!(NOW - 59)), &RULES).is_ok());
        assert_eq!(check(with(base(), "exp", json!(NOW - 60)), &RULES), Err(Violation::Expired(NOW - 60)));
        // iat: up to leeway in the future.
        assert!(check(with(base(), "iat", json!(NOW + 60)), &RULES).is_ok());
        assert_eq!(check(with(base(), "iat", json!(NOW + 61)), &RULES), Err(Violation::IssuedInFuture(NOW + 61)));
        // iat: at most max_age + leeway old.
        assert!(check(with(base(), "iat", json!(NOW - 660)), &RULES).is_ok());
        assert_eq!(check(with(base(), "iat", json!(NOW - 661)), &RULES), Err(Violation::IssuedTooLongAgo(NOW - 661)));
        // nbf: reached with leeway.
        assert!(check(with(base(), "nbf", json!(NOW + 60)), &RULES).is_ok());
        assert_eq!(check(with(base(), "nbf", json!(NOW + 61)), &RULES), Err(Violation::NotYetValid));
        assert_eq!(check(with(base(), "nbf", json!("soon")), &RULES), Err(Violation::Missing("nbf")));
    }

    #[test]
    fn exp_is_required_only_where_the_token_type_requires_it() {
        let mut no_exp = base();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(no_exp.clone(), &RULES), Err(Violation::Missing("exp")));
        let optional = Rules { exp_required: false, ..RULES };
        assert_eq!(check(no_exp, &optional), Ok(Times { iat: NOW - 10, exp: None }));
        // Present, it is checked the same way.
        assert_eq!(check(with(base(), "exp", json!(NOW - 60)), &optional), Err(Violation::Expired(NOW - 60)));
        assert_eq!(check(with(base(), "exp", json!("x")), &optional), Err(Violation::Missing("exp")));
    }

    #[test]
    fn issuer_audience_and_authorized_party() {
        assert_eq!(
            check(with(base(), "iss", json!("https://evil\r\n.example")), &RULES),
            Err(Violation::Issuer("https://evil\u{FFFD}\u{FFFD}.example".into()))
        );
        assert_eq!(check(with(base(), "aud", json!("other")), &RULES), Err(Violation::Audience));
        assert_eq!(check(with(base(), "aud", json!(["c", 7])), &RULES), Err(Violation::Audience));
        assert_eq!(check(with(base(), "aud", json!(["c", "api"])), &RULES), Err(Violation::AuthorizedParty));
        let azp = with(with(base(), "aud", json!(["c", "api"])), "azp", json!("c"));
        assert!(check(azp, &RULES).is_ok());
        assert_eq!(check(with(base(), "azp", json!("api")), &RULES), Err(Violation::AuthorizedParty));
    }

    #[test]
    fn one_encryption_rule() {
        let key = crate::jose::jwe::tests::key(crate::jose::testkeys::P256_PEM);
        assert_eq!(jws_of("a.b.c", Some(&key)).unwrap(), Err(EncryptionViolation::Required));
        assert_eq!(jws_of("a.b.c.d.e", None).unwrap(), Err(EncryptionViolation::NoKey));
        assert_eq!(jws_of("a.b.c", None).unwrap(), Ok(Cow::Borrowed("a.b.c")));
    }
}
