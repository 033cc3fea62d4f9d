//! Environment overrides: `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>[__<SUBKEY>]=value`.

use crate::error::SettingsError;
use crate::ENV_PREFIX;
use serde_json::Value;

/// Top-level keys whose value is an object, so `…__<KEY>__<SUBKEY>` may set one entry.
pub(crate) const NESTED_KEYS: &[&str] =
    &["client_kwargs", "authorize_params", "access_token_params", "refresh_token_params", "request_token_params"];

/// One parsed override.
#[derive(Debug)]
pub(crate) struct Override {
    /// The variable's name, for errors.
    pub(crate) var: String,
    /// The client name, lowercased (matched case-insensitively against the file's names).
    pub(crate) client: String,
    /// The key, lowercased.
    pub(crate) key: String,
    /// The sub-key under an object-valued key, lowercased.
    pub(crate) sub: Option<String>,
    /// The value, already typed for the key.
    pub(crate) value: Value,
}

impl Override {
    /// The order overrides are applied in: by client and key, a whole object before the
    /// entries set inside it, so the result does not depend on the environment's order.
    pub(crate) fn sort_key(&self) -> (&str, &str, Option<&str>, &str) {
        (&self.client, &self.key, self.sub.as_deref(), &self.var)
    }
}

/// Parses one environment variable; `Ok(None)` when it is not an override.
pub(crate) fn parse(var: &str, value: &str) -> Result<Option<Override>, SettingsError> {
    let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
        return Ok(None);
    };
    let bad = |expected: &str| SettingsError::EnvVar { var: var.to_owned(), expected: expected.to_owned() };
    let parts: Vec<&str> = rest.split("__").collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("a name of the form RPKIT_OAUTH_CLIENTS__<NAME>__<KEY> (a part is empty)"));
    }
    let (client, key, sub) =
        match parts.as_slice() {
            [client, key] => (client, key, None),
            [client, key, sub] => (client, key, Some(sub.to_lowercase())),
            _ => return Err(bad(
                "a name of the form RPKIT_OAUTH_CLIENTS__<NAME>__<KEY> or RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>__<SUBKEY>",
            )),
        };
    let key = key.to_lowercase();
    let value = typed_value(&key, sub.as_deref(), value);
    Ok(Some(Override { var: var.to_owned(), client: client.to_lowercase(), key, sub, value }))
}

/// How an environment string is turned into the JSON value a key expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Always a string (URLs, ids, secrets: `client_id=123` stays the text "123").
    Text,
    /// JSON when it parses (numbers, booleans, objects), else a string, which the core
    /// then rejects with what it expected.
    Json,
    /// A JSON array when it starts with `[`, else a (space-separated) string.
    ListOrText,
    /// `true`/`false` as booleans, anything else as a string (`code_challenge_method`).
    FlagOrText,
}

fn kind(key: &str, sub: Option<&str>) -> Kind {
    match (key, sub) {
        ("client_kwargs", Some(sub)) => match sub {
            "scope" => Kind::ListOrText,
            "code_challenge_method" => Kind::FlagOrText,
            // Numbers and the boolean switches (every `bool` of `ClientKwargs`).
            "leeway" | "max_pending" | "pending_ttl" | "id_token_max_age" | "timeout" => Kind::Json,
            "userinfo_post"
            | "danger_allow_insecure_http"
            | "accept_unverifiable_iss"
            | "dpop"
            | "use_par"
            | "request_object" => Kind::Json,
            _ => Kind::Text,
        },
        // Request parameters are sent as text anyway.
        (_, Some(_)) => Kind::Text,
        (key, None) if NESTED_KEYS.contains(&key) => Kind::Json,
        ("id_token_signing_alg_values_supported", None) => Kind::ListOrText,
        _ => Kind::Text,
    }
}

fn typed_value(key: &str, sub: Option<&str>, raw: &str) -> Value {
    let text = || Value::String(raw.to_owned());
    match kind(key, sub) {
        Kind::Text => text(),
        Kind::Json => serde_json::from_str(raw).unwrap_or_else(|_| text()),
        Kind::ListOrText if raw.trim_start().starts_with('[') => serde_json::from_str(raw).unwrap_or_else(|_| text()),
        Kind::ListOrText => text(),
        Kind::FlagOrText => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => text(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(var: &str, value: &str) -> Override {
        match parse(var, value) {
            Ok(Some(o)) => o,
            other => panic!("expected an override, got {other:?}"),
        }
    }

    #[test]
    fn other_variables_are_not_overrides() {
        assert!(matches!(parse("PATH", "/bin"), Ok(None)));
        assert!(matches!(parse("RPKIT_OAUTH_CLIENTS", "x"), Ok(None)));
        assert!(matches!(parse("rpkit_oauth_clients__github__client_id", "x"), Ok(None)));
    }

    #[test]
    fn name_and_key_are_lowercased() {
        let o = one("RPKIT_OAUTH_CLIENTS__GitHub__CLIENT_SECRET", "s");
        assert_eq!((o.client.as_str(), o.key.as_str(), o.sub), ("github", "client_secret", None));
        assert_eq!(o.value, json!("s"));
    }

    #[test]
    fn nested_key_is_split_off() {
        let o = one("RPKIT_OAUTH_CLIENTS__GOOGLE__CLIENT_KWARGS__SCOPE", "openid email");
        assert_eq!((o.key.as_str(), o.sub.as_deref()), ("client_kwargs", Some("scope")));
        assert_eq!(o.value, json!("openid email"));
    }

    #[test]
    fn malformed_names_are_rejected_by_name() {
        for var in [
            "RPKIT_OAUTH_CLIENTS__",
            "RPKIT_OAUTH_CLIENTS__GITHUB",
            "RPKIT_OAUTH_CLIENTS____CLIENT_ID",
            "RPKIT_OAUTH_CLIENTS__GITHUB__",
            "RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_KWARGS__SCOPE__X",
        ] {
            let err = parse(var, "hunter2").unwrap_err();
            assert!(matches!(&err, SettingsError::EnvVar { var: v, .. } if v == var), "{var}: {err:?}");
            assert!(!err.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn values_are_typed_by_the_key_they_set() {
        assert_eq!(typed_value("client_id", None, "12345"), json!("12345"));
        assert_eq!(typed_value("client_secret", None, "true"), json!("true"));
        assert_eq!(typed_value("client_kwargs", Some("leeway"), "30"), json!(30));
        assert_eq!(typed_value("client_kwargs", Some("timeout"), "2.5"), json!(2.5));
        assert_eq!(typed_value("client_kwargs", Some("leeway"), "soon"), json!("soon"));
        assert_eq!(typed_value("client_kwargs", Some("userinfo_post"), "true"), json!(true));
        assert_eq!(typed_value("client_kwargs", Some("code_challenge_method"), "false"), json!(false));
        assert_eq!(typed_value("client_kwargs", Some("code_challenge_method"), "S256"), json!("S256"));
        assert_eq!(typed_value("client_kwargs", Some("scope"), "openid email"), json!("openid email"));
        assert_eq!(typed_value("client_kwargs", Some("scope"), r#"["openid","email"]"#), json!(["openid", "email"]));
        assert_eq!(typed_value("client_kwargs", None, r#"{"scope":"openid"}"#), json!({"scope": "openid"}));
        assert_eq!(typed_value("authorize_params", Some("max_age"), "300"), json!("300"));
        assert_eq!(typed_value("id_token_signing_alg_values_supported", None, "RS256 ES256"), json!("RS256 ES256"));
        assert_eq!(typed_value("id_token_signing_alg_values_supported", None, r#"["RS256"]"#), json!(["RS256"]));
    }
}
