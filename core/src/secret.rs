//! Secret values: redacted `Debug`, constant-time comparison.
//!
//! A secret never reaches a log line, an error message or a `Debug` dump by accident:
//! its `Debug` prints the type name and `"[redacted]"`, and there is no `Display`.
//! Reading the value is explicit (`secret()`), so a reviewer can grep for every use.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Compares two byte strings in time that depends only on their lengths.
///
/// Used for every comparison of a value an attacker may probe (state, logout state,
/// `at_hash`, `c_hash`, HMAC outputs are compared by `ring` itself).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident, clone) => {
        secret_string!(@def $(#[$doc])* #[derive(Clone)] $name);
    };
    ($(#[$doc:meta])* $name:ident) => {
        secret_string!(@def $(#[$doc])* $name);
    };
    (@def $(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself. Every call site is a place where the secret leaves the type.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Constant-time comparison with `other`.
            pub fn ct_eq(&self, other: &str) -> bool {
                constant_time_eq(self.0.as_bytes(), other.as_bytes())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }
    };
}

secret_string!(
    /// A client secret ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
    ClientSecret,
    clone
);
secret_string!(
    /// An access token ([RFC 6749 §1.4](https://www.rfc-editor.org/rfc/rfc6749#section-1.4)).
    AccessToken,
    clone
);
secret_string!(
    /// A refresh token ([RFC 6749 §1.5](https://www.rfc-editor.org/rfc/rfc6749#section-1.5)).
    RefreshToken,
    clone
);
secret_string!(
    /// An ID token in its compact serialization ([OIDC Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).
    IdTokenString,
    clone
);
secret_string!(
    /// An authorization code ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)).
    /// Single-use, so not `Clone`.
    AuthorizationCode
);
secret_string!(
    /// A PKCE code verifier ([RFC 7636 §4.1](https://www.rfc-editor.org/rfc/rfc7636#section-4.1)).
    /// Single-use, so not `Clone`.
    PkceVerifier
);
secret_string!(
    /// Private key material (PEM or JWK text) for `private_key_jwt` or JWE decryption.
    PrivateKeyMaterial,
    clone
);
secret_string!(
    /// A `state` or `nonce` value held for a later comparison.
    Nonce,
    clone
);
secret_string!(
    /// An OAuth 1.0a token secret: of temporary or token credentials
    /// ([RFC 5849 §2.1](https://www.rfc-editor.org/rfc/rfc5849#section-2.1), [§2.3](https://www.rfc-editor.org/rfc/rfc5849#section-2.3)).
    TokenSecret,
    clone
);
secret_string!(
    /// An OAuth 1.0a `oauth_verifier` ([RFC 5849 §2.2](https://www.rfc-editor.org/rfc/rfc5849#section-2.2)).
    /// Single-use, so not `Clone`.
    OAuth1Verifier
);
secret_string!(
    /// A device code ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)): the
    /// credential the client polls the token endpoint with.
    DeviceCode,
    clone
);
secret_string!(
    /// A registration access token ([RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3)):
    /// the Bearer credential for reading, updating and deleting a dynamically registered client.
    RegistrationAccessToken,
    clone
);
secret_string!(
    /// An initial access token ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)):
    /// what a provider may require before it registers a client.
    InitialAccessToken,
    clone
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = ClientSecret::new("hunter2");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        let v = PkceVerifier::new("verifier-value");
        assert!(!format!("{v:?}").contains("verifier-value"));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
        assert!(ClientSecret::new("x").ct_eq("x"));
        assert!(!ClientSecret::new("x").ct_eq("y"));
    }

    #[test]
    fn secrets_serialize_transparently_for_session_storage() {
        let t = RefreshToken::new("rt");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"rt\"");
    }
}
