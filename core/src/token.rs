//! Token requests and responses ([RFC 6749 §4.1.3–§5](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)).

use crate::claims::Claims;
use crate::secret::{AccessToken, IdTokenString, RefreshToken};
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Errors specific to token responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// An `openid` request's token response has no `id_token` (OIDC Core §3.1.3.3).
    #[error("the token response to an OpenID Connect request has no `id_token`")]
    MissingIdToken,
}

/// A token as the provider issued it, plus what rpkit derived (`expires_at`, `userinfo`).
///
/// Serializes (secrets included, in full) for storage in a session or database; its
/// `Debug` is redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// `access_token`.
    pub access_token: AccessToken,
    /// `token_type` as sent (compare with [`Token::is_bearer`]).
    pub token_type: String,
    /// `expires_in` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// `expires_in` added to the time the response was received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UnixTime>,
    /// `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// `refresh_expires_in` (Keycloak and others), kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
    /// `scope` as granted (absent: as requested, RFC 6749 §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `id_token`, compact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdTokenString>,
    /// The validated ID token's claims, as Authlib puts them in `token['userinfo']`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Claims>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Token {
    /// Whether `token_type` is `Bearer`, compared case-insensitively (RFC 6749 §5.1).
    pub fn is_bearer(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("bearer")
    }
}
