//! Provider metadata: OpenID Connect Discovery 1.0 and RFC 8414.
//!
//! [OIDC Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata),
//! [RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Errors of provider metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The metadata's `issuer` is not the issuer the discovery URL was built from
    /// (OIDC Discovery §4.3).
    #[error("the metadata's issuer `{found}` is not the expected issuer `{expected}`")]
    IssuerMismatch {
        /// What the configuration (or discovery URL) implies.
        expected: String,
        /// What the metadata says.
        found: String,
    },
}

/// Provider metadata: the members rpkit uses, typed; all others kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// `userinfo_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `end_session_endpoint` (RP-Initiated Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// `scopes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `response_types_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// `response_modes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// `grant_types_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// `userinfo_signing_alg_values_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// `backchannel_logout_supported`.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
