//! Provider presets: what it takes to log in with a well-known provider, as data.
//!
//! A preset is a starting [`ClientConfig`]: its endpoints, scope and settings, and the
//! quirks a user would otherwise rediscover. Settings override it key by key — in code
//! (`preset("github").unwrap().client_id(…)`) or in `AUTHLIB_OAUTH_CLIENTS`, where an
//! entry may name one (`{"preset": "github", "client_id": "…", "client_secret": "…"}`).
//!
//! | preset | protocol | what it configures | quirks handled |
//! | --- | --- | --- | --- |
//! | `github` | OAuth 2.0 | authorize / token endpoints, `api_base_url` `https://api.github.com/`, scope `user:email` | the token response is form-encoded unless `Accept: application/json` (rpkit sends it and reads both); no OpenID Connect: the identity is `GET user` (and `user/emails` for the e-mail) |
//! | `google` | OpenID Connect | discovery `https://accounts.google.com/.well-known/openid-configuration`, scope `openid email profile` | — |
//! | `microsoft` | OpenID Connect | Microsoft Entra ID multi-tenant discovery (`common`), issuer `https://login.microsoftonline.com/{tenantid}/v2.0`, scope `openid email profile` | the issuer is a template: the ID token's `iss` must equal it with the token's own `tid` |
//! | `gitlab` | OpenID Connect | discovery `https://gitlab.com/.well-known/openid-configuration`, `api_base_url` `https://gitlab.com/api/v4/`, scope `openid profile email` | — |
//! | `discord` | OAuth 2.0 | authorize / token endpoints, `api_base_url` `https://discord.com/api/`, scope `identify email` | the identity is `GET users/@me` |
//! | `twitter` | OAuth 1.0a | request token, `authenticate`, access token, `api_base_url` `https://api.twitter.com/1.1/` | HMAC-SHA1 in the header; a refusal arrives as `denied=…` |
//! | `x` | OAuth 2.0 + PKCE | `twitter.com/i/oauth2/authorize`, `api.twitter.com/2/oauth2/token`, `api_base_url` `https://api.twitter.com/2/`, scope `tweet.read users.read offline.access` | confidential clients authenticate with `client_secret_basic`; the identity is `GET users/me` |
//!
//! ```
//! use rpkit::providers::preset;
//! let github = preset("github").unwrap().client_id("my-id").client_secret("my-secret");
//! assert_eq!(github.api_base_url.as_deref(), Some("https://api.github.com/"));
//! assert!(preset("myspace").is_none());
//!
//! // The same from settings, overriding the scope:
//! let json = serde_json::json!({"preset": "github", "client_id": "my-id", "client_kwargs": {"scope": "read:user"}});
//! let cfg = rpkit::ClientConfig::from_value("github", &json).unwrap();
//! assert_eq!(cfg.scope_str(), Some("read:user"));
//! assert_eq!(cfg.access_token_url.as_deref(), Some("https://github.com/login/oauth/access_token"));
//! ```

use crate::config::{ClientConfig, TokenEndpointAuthMethod};

/// The placeholder of a multi-tenant issuer template, replaced by the ID token's `tid`
/// claim (Microsoft Entra ID's `common`, `organizations` and `consumers` endpoints).
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The names of the presets, in the order of the table above.
pub const PRESETS: [&str; 7] = ["github", "google", "microsoft", "gitlab", "discord", "twitter", "x"];

/// The preset `name` as a starting configuration (registered under `name`), or `None` for
/// an unknown name.
pub fn preset(name: &str) -> Option<ClientConfig> {
    let c = ClientConfig::new(name);
    let cfg = match name {
        "github" => c
            .authorize_url("https://github.com/login/oauth/authorize")
            .access_token_url("https://github.com/login/oauth/access_token")
            .api_base_url("https://api.github.com/")
            .scope("user:email"),
        "google" => c
            .server_metadata_url("https://accounts.google.com/.well-known/openid-configuration")
            .scope("openid email profile"),
        "microsoft" => c
            .server_metadata_url("https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration")
            .issuer(format!("https://login.microsoftonline.com/{TENANT_PLACEHOLDER}/v2.0"))
            .api_base_url("https://graph.microsoft.com/v1.0/")
            .scope("openid email profile"),
        "gitlab" => c
            .server_metadata_url("https://gitlab.com/.well-known/openid-configuration")
            .api_base_url("https://gitlab.com/api/v4/")
            .scope("openid profile email"),
        "discord" => c
            .authorize_url("https://discord.com/oauth2/authorize")
            .access_token_url("https://discord.com/api/oauth2/token")
            .api_base_url("https://discord.com/api/")
            .scope("identify email"),
        "twitter" => {
            let mut c = c
                .authorize_url("https://api.twitter.com/oauth/authenticate")
                .access_token_url("https://api.twitter.com/oauth/access_token")
                .api_base_url("https://api.twitter.com/1.1/");
            c.request_token_url = Some("https://api.twitter.com/oauth/request_token".into());
            c
        }
        "x" => c
            .authorize_url("https://twitter.com/i/oauth2/authorize")
            .access_token_url("https://api.twitter.com/2/oauth2/token")
            .api_base_url("https://api.twitter.com/2/")
            .scope("tweet.read users.read offline.access")
            .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretBasic),
        _ => return None,
    };
    Some(cfg)
}

/// Where a preset's user identity comes from when the provider is not an OpenID Provider:
/// the resource path (relative to `api_base_url`) and the member holding the user's id.
/// `None` for OpenID Connect presets (the ID token is the identity) and unknown names.
///
/// ```
/// assert_eq!(rpkit::providers::identity_endpoint("github"), Some(("user", "id")));
/// assert_eq!(rpkit::providers::identity_endpoint("google"), None);
/// ```
pub fn identity_endpoint(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "github" => Some(("user", "id")),
        "discord" => Some(("users/@me", "id")),
        "twitter" => Some(("account/verify_credentials.json", "id_str")),
        "x" => Some(("users/me", "data.id")),
        _ => None,
    }
}

/// Whether `found` is the issuer `expected`, where `expected` may be a multi-tenant
/// template ([`TENANT_PLACEHOLDER`]): then `found` must be the template with `tid` (the
/// token's own tenant id, non-empty) in place of the placeholder.
///
/// ```
/// use rpkit::providers::issuer_matches;
/// let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
/// assert!(issuer_matches(template, &iss, Some(tid)));
/// assert!(!issuer_matches(template, &iss, Some("another-tenant")));
/// assert!(!issuer_matches(template, &iss, None));
/// assert!(issuer_matches("https://op.example", "https://op.example", None));
/// ```
pub fn issuer_matches(expected: &str, found: &str, tid: Option<&str>) -> bool {
    match expected.split_once(TENANT_PLACEHOLDER) {
        None => expected == found,
        Some((head, tail)) => tid.filter(|t| !t.is_empty()).is_some_and(|tid| {
            found.len() == head.len() + tid.len() + tail.len()
                && found.starts_with(head)
                && found.ends_with(tail)
                && found.get(head.len()..head.len() + tid.len()) == Some(tid)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_usable_tls_configuration() {
        for name in PRESETS {
            let cfg = preset(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(cfg.name, name);
            for url in [&cfg.authorize_url, &cfg.access_token_url, &cfg.api_base_url, &cfg.server_metadata_url]
                .into_iter()
                .flatten()
            {
                assert!(url.starts_with("https://"), "{name}: {url}");
            }
            // OpenID Connect presets discover, the others name their endpoints.
            assert!(cfg.server_metadata_url.is_some() || cfg.access_token_url.is_some(), "{name}");
            assert_eq!(cfg.is_openid(), identity_endpoint(name).is_none(), "{name}");
        }
    }

    #[test]
    fn an_unknown_preset_is_none() {
        assert!(preset("GitHub").is_none());
        assert!(preset("").is_none());
    }

    #[test]
    fn a_tenant_template_needs_the_tokens_own_tenant() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(issuer_matches(t, "https://login.microsoftonline.com/abc/v2.0", Some("abc")));
        assert!(!issuer_matches(t, "https://login.microsoftonline.com/abc/v2.0", Some("ab")));
        assert!(!issuer_matches(t, "https://login.microsoftonline.com/abc/v2.0", Some("")));
        assert!(!issuer_matches(t, "https://login.microsoftonline.com//v2.0", Some("")));
        assert!(!issuer_matches(t, "https://evil.example/abc/v2.0", Some("abc")));
        assert!(!issuer_matches(t, "https://login.microsoftonline.com/abc/v2.0/x", Some("abc")));
    }
}
