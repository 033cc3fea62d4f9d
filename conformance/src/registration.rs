//! Static registrations: the clients the provider knows and the users who can log in.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::behavior::SigningAlg;

/// How a client authenticates at the token endpoint.
///
/// See RFC 6749 §2.3 (<https://www.rfc-editor.org/rfc/rfc6749#section-2.3>) and OIDC
/// Core §9 (<https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A JWT assertion HMAC-signed (HS256) with the client secret.
    ClientSecretJwt,
    /// A JWT assertion signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
    /// No authentication: a public client that sends only `client_id`.
    None,
}

impl AuthMethod {
    /// The registered name (`client_secret_basic`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client (relying party) registered at the development provider.
///
/// Redirect URIs are matched exactly (no prefix or wildcard matching), as OAuth 2.0
/// Security BCP (RFC 9700 §4.1.3) asks.
///
/// A confidential client accepts `client_secret_basic`, `client_secret_post` and
/// `client_secret_jwt` unless [`token_endpoint_auth_method`](Self::token_endpoint_auth_method)
/// pins one; registering a key with [`private_key_jwt_key`](Self::private_key_jwt_key)
/// adds `private_key_jwt`. A public client accepts only `none` and must use PKCE.
///
/// # Example
/// ```
/// use rpkit_conformance::{AuthMethod, ClientRegistration};
///
/// let client = ClientRegistration::confidential("demo-client", "demo-secret")
///     .redirect_uri("http://127.0.0.1:8000/auth/dev/callback")
///     .post_logout_redirect_uri("http://127.0.0.1:8000/logged-out")
///     .backchannel_logout_uri("http://127.0.0.1:8000/backchannel-logout/dev");
/// assert_eq!(client.client_id(), "demo-client");
/// assert!(client.accepts(AuthMethod::ClientSecretBasic));
/// assert!(!client.accepts(AuthMethod::None));
/// // The secret never shows up in Debug output.
/// assert!(!format!("{client:?}").contains("demo-secret"));
///
/// let spa = ClientRegistration::public("spa").redirect_uri("http://127.0.0.1:3000/cb");
/// assert!(spa.accepts(AuthMethod::None));
/// ```
#[derive(Clone)]
pub struct ClientRegistration {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) backchannel_logout_uri: Option<String>,
    pub(crate) auth_methods: Vec<AuthMethod>,
    pub(crate) jwks: Vec<Value>,
    pub(crate) id_token_alg: SigningAlg,
    pub(crate) id_token_encryption_key: Option<Value>,
    pub(crate) userinfo_encryption_key: Option<Value>,
}

impl ClientRegistration {
    /// A confidential client with a shared secret.
    pub fn confidential(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: Some(secret.into()),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            auth_methods: vec![
                AuthMethod::ClientSecretBasic,
                AuthMethod::ClientSecretPost,
                AuthMethod::ClientSecretJwt,
            ],
            jwks: Vec::new(),
            id_token_alg: SigningAlg::RS256,
            id_token_encryption_key: None,
            userinfo_encryption_key: None,
        }
    }

    /// A public client (no secret; token endpoint authentication `none`).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            auth_methods: vec![AuthMethod::None],
            jwks: Vec::new(),
            id_token_alg: SigningAlg::RS256,
            id_token_encryption_key: None,
            userinfo_encryption_key: None,
        }
    }

    /// Register a redirect URI (may be called several times). Matched exactly.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Register a post-logout redirect URI for RP-initiated logout (may be called several
    /// times). Matched exactly.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Register the back-channel logout URI (OIDC Back-Channel Logout §2.2). It must be
    /// an `http` URI on a loopback host; [`DevProviderBuilder::start`](crate::DevProviderBuilder::start)
    /// rejects anything else.
    pub fn backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uri = Some(uri.into());
        self
    }

    /// Accept only this token endpoint authentication method.
    pub fn token_endpoint_auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_methods = vec![method];
        self
    }

    /// Register a public JWK (a JSON object) for `private_key_jwt`, and accept that method.
    /// Supported key types: RSA (RS256/PS256), EC P-256 (ES256), OKP Ed25519 (EdDSA).
    pub fn private_key_jwt_key(mut self, public_jwk: Value) -> Self {
        self.jwks.push(public_jwk);
        if !self.auth_methods.contains(&AuthMethod::PrivateKeyJwt) {
            self.auth_methods.push(AuthMethod::PrivateKeyJwt);
        }
        self
    }

    /// The algorithm ID tokens for this client are signed with (`id_token_signed_response_alg`);
    /// default RS256.
    pub fn id_token_signed_response_alg(mut self, alg: SigningAlg) -> Self {
        self.id_token_alg = alg;
        self
    }

    /// Encrypt ID tokens to this public RSA JWK (a JSON object): the signed ID token is
    /// nested in a compact JWE with `alg: RSA-OAEP`, `enc: A128GCM`, `cty: JWT`
    /// (OIDC Core §10.2, `id_token_encrypted_response_alg`).
    pub fn id_token_encryption_key(mut self, public_jwk: Value) -> Self {
        self.id_token_encryption_key = Some(public_jwk);
        self
    }

    /// Return UserInfo as a signed, then encrypted JWT (`application/jwt`) to this public
    /// RSA JWK, with `RSA-OAEP` and `A128GCM` (OIDC Core §5.3.2).
    pub fn userinfo_encryption_key(mut self, public_jwk: Value) -> Self {
        self.userinfo_encryption_key = Some(public_jwk);
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether the client is confidential (has a secret or a registered key).
    pub fn is_confidential(&self) -> bool {
        self.secret.is_some() || !self.jwks.is_empty()
    }

    /// Whether the client may authenticate with `method`.
    pub fn accepts(&self, method: AuthMethod) -> bool {
        self.auth_methods.contains(&method)
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .field("auth_methods", &self.auth_methods)
            .field("jwks", &self.jwks.len())
            .field("id_token_alg", &self.id_token_alg)
            .field("id_token_encryption", &self.id_token_encryption_key.is_some())
            .field("userinfo_encryption", &self.userinfo_encryption_key.is_some())
            .finish()
    }
}

/// Standard claims released with the `profile` scope (OIDC Core §5.4).
pub(crate) const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
/// Claims released with the `email` scope.
pub(crate) const EMAIL_CLAIMS: &[&str] = &["email", "email_verified"];
/// Claims released with the `address` scope.
pub(crate) const ADDRESS_CLAIMS: &[&str] = &["address"];
/// Claims released with the `phone` scope.
pub(crate) const PHONE_CLAIMS: &[&str] = &["phone_number", "phone_number_verified"];

/// A user who can log in at the development provider (no password: the login form asks
/// only for the username).
///
/// `sub` defaults to the username and `preferred_username` is set to it. Standard claims
/// are released by scope as OIDC Core §5.4 says (`profile`, `email`, `address`,
/// `phone`); other claims set with [`claim`](Self::claim) are released with `openid`.
///
/// # Example
/// ```
/// use rpkit_conformance::DevUser;
///
/// let alice = DevUser::new("alice").email("alice@example.com").name("Alice Example");
/// assert_eq!(alice.username(), "alice");
/// assert_eq!(alice.sub(), "alice");
/// let claims = alice.claims_for_scope(&["openid", "email"]);
/// assert_eq!(claims["email"], "alice@example.com");
/// assert_eq!(claims["email_verified"], true);
/// assert!(claims.get("name").is_none()); // needs the `profile` scope
/// ```
#[derive(Clone, Debug)]
pub struct DevUser {
    pub(crate) username: String,
    pub(crate) sub: String,
    pub(crate) claims: Map<String, Value>,
}

impl DevUser {
    /// A user whose `sub` and `preferred_username` are `username`.
    pub fn new(username: impl Into<String>) -> Self {
        let username = username.into();
        let mut claims = Map::new();
        claims.insert("preferred_username".into(), Value::from(username.clone()));
        Self { sub: username.clone(), username, claims }
    }

    /// Use this subject identifier instead of the username.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = sub.into();
        self
    }

    /// Set `email` (and `email_verified: true`; change it with [`email_verified`](Self::email_verified)).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.claims.insert("email".into(), Value::from(email.into()));
        self.claims.insert("email_verified".into(), Value::Bool(true));
        self
    }

    /// Set `email_verified`.
    pub fn email_verified(mut self, verified: bool) -> Self {
        self.claims.insert("email_verified".into(), Value::Bool(verified));
        self
    }

    /// Set `name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.claims.insert("name".into(), Value::from(name.into()));
        self
    }

    /// Set `given_name`.
    pub fn given_name(mut self, name: impl Into<String>) -> Self {
        self.claims.insert("given_name".into(), Value::from(name.into()));
        self
    }

    /// Set `family_name`.
    pub fn family_name(mut self, name: impl Into<String>) -> Self {
        self.claims.insert("family_name".into(), Value::from(name.into()));
        self
    }

    /// Set any claim (standard claims follow their scope; others come with `openid`).
    pub fn claim(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(key.into(), value.into());
        self
    }

    /// The login name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The subject identifier.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The claims released for `scopes`, always including `sub`.
    pub fn claims_for_scope(&self, scopes: &[&str]) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("sub".into(), Value::from(self.sub.clone()));
        let groups: [(&str, &[&str]); 4] = [
            ("profile", PROFILE_CLAIMS),
            ("email", EMAIL_CLAIMS),
            ("address", ADDRESS_CLAIMS),
            ("phone", PHONE_CLAIMS),
        ];
        for (key, value) in &self.claims {
            let group = groups.iter().find(|(_, names)| names.contains(&key.as_str())).map(|(scope, _)| *scope);
            let released = match group {
                Some(scope) => scopes.contains(&scope),
                None => scopes.contains(&"openid"),
            };
            if released && key != "sub" {
                out.insert(key.clone(), value.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_claims_need_the_profile_scope() {
        let u = DevUser::new("bob").name("Bob").claim("groups", vec!["admins"]);
        let c = u.claims_for_scope(&["openid"]);
        assert!(c.get("name").is_none());
        assert!(c.get("preferred_username").is_none());
        assert_eq!(c["groups"][0], "admins");
        let c = u.claims_for_scope(&["openid", "profile"]);
        assert_eq!(c["name"], "Bob");
        assert_eq!(c["preferred_username"], "bob");
    }

    #[test]
    fn a_claim_cannot_override_sub() {
        let u = DevUser::new("bob").claim("sub", "mallory");
        assert_eq!(u.claims_for_scope(&["openid"])["sub"], "bob");
    }

    #[test]
    fn pinning_an_auth_method_rejects_the_others() {
        let c = ClientRegistration::confidential("c", "s").token_endpoint_auth_method(AuthMethod::ClientSecretPost);
        assert!(c.accepts(AuthMethod::ClientSecretPost));
        assert!(!c.accepts(AuthMethod::ClientSecretBasic));
    }
}
