use super::*;
use rpkit::config::{CodeChallengeMethod, TokenEndpointAuthMethod};
use serde_json::json;
use std::io::Write;

/// The seed's Django example (`AUTHLIB_OAUTH_CLIENTS` in `settings.py`), as JSON.
const DJANGO_JSON: &str = r#"{
  "SECRET_KEY": "django-insecure-not-ours",
  "DEBUG": true,
  "INSTALLED_APPS": ["django.contrib.auth", "django.contrib.sessions"],
  "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}},
  "AUTHLIB_OAUTH_CLIENTS": {
    "github": {
      "client_id": "GitHub Client ID",
      "client_secret": "GitHub Client Secret",
      "access_token_url": "https://github.com/login/oauth/access_token",
      "authorize_url": "https://github.com/login/oauth/authorize",
      "api_base_url": "https://api.github.com/",
      "client_kwargs": {"scope": "user:email"}
    },
    "google": {
      "client_id": "Google Client ID",
      "client_secret": "Google Client Secret",
      "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
      "client_kwargs": {"scope": "openid profile email"}
    }
  }
}"#;

/// The same settings as TOML.
const DJANGO_TOML: &str = r#"
SECRET_KEY = "django-insecure-not-ours"
DEBUG = true
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.sessions"]
RELEASED = 2024-05-01T12:00:00Z

[DATABASES.default]
ENGINE = "django.db.backends.sqlite3"
NAME = "db.sqlite3"

[AUTHLIB_OAUTH_CLIENTS.github]
client_id = "GitHub Client ID"
client_secret = "GitHub Client Secret"
access_token_url = "https://github.com/login/oauth/access_token"
authorize_url = "https://github.com/login/oauth/authorize"
api_base_url = "https://api.github.com/"
client_kwargs = { scope = "user:email" }

[AUTHLIB_OAUTH_CLIENTS.google]
client_id = "Google Client ID"
client_secret = "Google Client Secret"
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

[AUTHLIB_OAUTH_CLIENTS.google.client_kwargs]
scope = "openid profile email"
"#;

const SECRET: &str = "S3CR3T-do-not-print-7f9c";

fn github() -> ClientConfig {
    ClientConfig::new("github")
        .client_id("GitHub Client ID")
        .client_secret("GitHub Client Secret")
        .access_token_url("https://github.com/login/oauth/access_token")
        .authorize_url("https://github.com/login/oauth/authorize")
        .api_base_url("https://api.github.com/")
        .scope("user:email")
}

fn google() -> ClientConfig {
    ClientConfig::new("google")
        .client_id("Google Client ID")
        .client_secret("Google Client Secret")
        .server_metadata_url("https://accounts.google.com/.well-known/openid-configuration")
        .scope("openid profile email")
}

fn json(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(text, Format::Json, "settings.json")
}

fn toml(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(text, Format::Toml, "settings.toml")
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn temp_file(suffix: &str, contents: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().prefix("rpkit-settings-").suffix(suffix).tempfile().expect("temp file");
    f.write_all(contents).expect("write temp file");
    f
}

/// Asserts that neither `Display`, `Debug` nor any source in the chain shows `secret`.
fn assert_hides(err: &SettingsError, secret: &str) {
    let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        texts.push(s.to_string());
        texts.push(format!("{s:?}"));
        source = s.source();
    }
    for t in texts {
        assert!(!t.contains(secret), "secret leaked in: {t}");
    }
}

// ---- The file ----

#[test]
fn django_settings_as_json_load_unchanged() {
    let s = json(DJANGO_JSON).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s.get("github"), Some(&github()));
    assert_eq!(s.get("google"), Some(&google()));
    let google = s.get("google").unwrap();
    assert!(google.is_openid());
    assert_eq!(google.expected_issuer().as_deref(), Some("https://accounts.google.com"));
    assert_eq!(s.file(), Some(Path::new("settings.json")));
}

#[test]
fn django_settings_as_toml_load_the_same_clients_as_json() {
    let t = toml(DJANGO_TOML).unwrap();
    let j = json(DJANGO_JSON).unwrap();
    assert_eq!(t.clone().into_configs(), j.into_configs());
    assert_eq!(t.clients().map(|(n, _)| n).collect::<Vec<_>>(), ["github", "google"]);
    assert_eq!(t.get("github"), Some(&github()));
}

#[test]
fn oauth_clients_alias_is_accepted() {
    let t = toml("[oauth_clients.github]\nclient_id = \"GitHub Client ID\"\n").unwrap();
    assert_eq!(t.get("github").and_then(|c| c.client_id.as_deref()), Some("GitHub Client ID"));
    let j = json(r#"{"oauth_clients": {"github": {"client_id": "x"}}}"#).unwrap();
    assert_eq!(j.len(), 1);
}

#[test]
fn both_clients_keys_are_rejected() {
    let err = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {}, "oauth_clients": {}}"#).unwrap_err();
    assert!(matches!(err, SettingsError::DuplicateClientsKey { .. }), "{err:?}");
    let err = toml("[AUTHLIB_OAUTH_CLIENTS]\n[oauth_clients]\n").unwrap_err();
    assert!(matches!(err, SettingsError::DuplicateClientsKey { .. }), "{err:?}");
}

#[test]
fn settings_without_clients_key_have_no_clients() {
    assert!(json(r#"{"DEBUG": true}"#).unwrap().is_empty());
    assert!(toml("").unwrap().is_empty());
    assert!(json(r#"{"AUTHLIB_OAUTH_CLIENTS": {}}"#).unwrap().is_empty());
}

#[test]
fn clients_key_differing_only_in_case_is_rejected_as_a_typo() {
    for text in [r#"{"authlib_oauth_clients": {}}"#, r#"{"OAUTH_CLIENTS": {}}"#, r#"{"Authlib_OAuth_Clients": {}}"#] {
        let err = json(text).unwrap_err();
        assert!(
            matches!(&err, SettingsError::Shape { key_path, .. } if key_path.eq_ignore_ascii_case(CLIENTS_KEY) || key_path.eq_ignore_ascii_case(CLIENTS_KEY_ALIAS)),
            "{err:?}"
        );
        assert!(err.to_string().contains("case-sensitive"));
    }
}

#[test]
fn unknown_key_inside_a_client_names_file_and_key_path() {
    let err = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {"github": {"client_kwargs": {"scpoe": "x"}}}}"#).unwrap_err();
    match &err {
        SettingsError::Client { path, key_path, source: ConfigError::UnknownKey { client, key } } => {
            assert_eq!(path, Path::new("settings.json"));
            assert_eq!(key_path, "AUTHLIB_OAUTH_CLIENTS.github.client_kwargs.scpoe");
            assert_eq!((client.as_str(), key.as_str()), ("github", "client_kwargs.scpoe"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.config_error().is_some());

    let err = toml("[oauth_clients.gh]\nauthorise_url = \"https://x\"\n").unwrap_err();
    assert!(
        matches!(&err, SettingsError::Client { key_path, source: ConfigError::UnknownKey { .. }, .. } if key_path == "oauth_clients.gh.authorise_url"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "settings file `settings.toml`: `oauth_clients.gh.authorise_url`: unknown key");
}

#[test]
fn wrong_type_inside_a_client_says_what_was_expected() {
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.google.client_kwargs]\nscope = 42\n").unwrap_err();
    match &err {
        SettingsError::Client { key_path, source: ConfigError::Invalid { expected, .. }, .. } => {
            assert_eq!(key_path, "AUTHLIB_OAUTH_CLIENTS.google.client_kwargs.scope");
            assert_eq!(expected, "a list of strings");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "settings file `settings.toml`: `AUTHLIB_OAUTH_CLIENTS.google.client_kwargs.scope`: expected a list of strings"
    );
}

#[test]
fn client_that_is_not_a_table_is_rejected_at_its_name() {
    let err = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {"github": null}}"#).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Client { key_path, source: ConfigError::Invalid { .. }, .. } if key_path == "AUTHLIB_OAUTH_CLIENTS.github"),
        "{err:?}"
    );
    let err = toml("AUTHLIB_OAUTH_CLIENTS = { github = \"x\" }").unwrap_err();
    assert!(matches!(&err, SettingsError::Client { key_path, .. } if key_path == "AUTHLIB_OAUTH_CLIENTS.github"));
}

#[test]
fn clients_key_that_is_not_a_table_is_rejected() {
    let err = json(r#"{"AUTHLIB_OAUTH_CLIENTS": ["github"]}"#).unwrap_err();
    assert!(matches!(&err, SettingsError::Shape { key_path, .. } if key_path == CLIENTS_KEY), "{err:?}");
    let err = toml("oauth_clients = 3").unwrap_err();
    assert!(matches!(&err, SettingsError::Shape { key_path, .. } if key_path == CLIENTS_KEY_ALIAS), "{err:?}");
}

#[test]
fn json_top_level_that_is_not_an_object_is_rejected() {
    let err = json(r#"[{"AUTHLIB_OAUTH_CLIENTS": {}}]"#).unwrap_err();
    assert!(matches!(&err, SettingsError::Shape { key_path, .. } if key_path.is_empty()), "{err:?}");
    assert!(err.to_string().contains("the top level"));
}

#[test]
fn toml_date_or_non_finite_float_in_a_client_is_rejected_with_its_path() {
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.x]\nclient_id = 2024-01-01\n").unwrap_err();
    assert!(
        matches!(&err, SettingsError::Shape { key_path, .. } if key_path == "AUTHLIB_OAUTH_CLIENTS.x.client_id"),
        "{err:?}"
    );
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.x.client_kwargs]\ntimeout = nan\n").unwrap_err();
    assert!(
        matches!(&err, SettingsError::Shape { key_path, expected, .. } if key_path == "AUTHLIB_OAUTH_CLIENTS.x.client_kwargs.timeout" && expected == "a finite number"),
        "{err:?}"
    );
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.x]\nid_token_signing_alg_values_supported = [\"RS256\", 1979-05-27]\n")
        .unwrap_err();
    assert!(
        matches!(&err, SettingsError::Shape { key_path, .. } if key_path.ends_with("id_token_signing_alg_values_supported[1]"))
    );
}

#[test]
fn typed_values_from_toml_reach_the_config() {
    let s = toml(
        r#"
[AUTHLIB_OAUTH_CLIENTS.corp]
id_token_signing_alg_values_supported = ["RS256", "ES256"]
authorize_params = { max_age = 300, prompt = "login" }
[AUTHLIB_OAUTH_CLIENTS.corp.client_kwargs]
scope = ["openid", "email"]
leeway = 30
timeout = 2.5
code_challenge_method = false
token_endpoint_auth_method = "private_key_jwt"
userinfo_post = true
"#,
    )
    .unwrap();
    let c = s.get("corp").unwrap();
    assert_eq!(c.id_token_signing_alg_values_supported.as_deref(), Some(&["RS256".to_owned(), "ES256".to_owned()][..]));
    assert_eq!(c.authorize_params.get("max_age").map(String::as_str), Some("300"));
    assert_eq!(c.scope_str(), Some("openid email"));
    assert_eq!(c.client_kwargs.leeway, Some(30));
    assert_eq!(c.client_kwargs.timeout, Some(2.5));
    assert_eq!(c.client_kwargs.code_challenge_method, CodeChallengeMethod::Disabled);
    assert_eq!(c.client_kwargs.token_endpoint_auth_method, Some(TokenEndpointAuthMethod::PrivateKeyJwt));
    assert!(c.client_kwargs.userinfo_post);
}

#[test]
fn json_syntax_error_gives_line_and_column() {
    let err = json("{\n  \"AUTHLIB_OAUTH_CLIENTS\": {\n    \"github\": {\"client_id\": \"x\",}\n  }\n}").unwrap_err();
    match &err {
        SettingsError::Syntax { format: Format::Json, line, column, description, .. } => {
            assert_eq!(*line, Some(3));
            assert_eq!(*column, Some(33));
            assert_eq!(description, "trailing comma");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "settings file `settings.json`: JSON syntax error at line 3, column 33: trailing comma"
    );
}

#[test]
fn toml_syntax_error_gives_line_and_column_without_the_line() {
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.github]\nclient_id = \"x\"\nclient_secret = hunter2secret\n").unwrap_err();
    match &err {
        SettingsError::Syntax { format: Format::Toml, line, column, description, .. } => {
            assert_eq!((*line, *column), (Some(3), Some(17)));
            assert!(description.contains("quoted"), "{description}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_hides(&err, "hunter2secret");
    assert!(!err.to_string().contains("client_secret ="));
}

#[test]
fn byte_order_mark_is_tolerated() {
    let text = format!("\u{feff}{DJANGO_JSON}");
    assert_eq!(json(&text).unwrap().len(), 2);
}

// ---- Reading files ----

#[test]
fn settings_load_from_toml_and_json_files() {
    let t = temp_file(".toml", DJANGO_TOML.as_bytes());
    let j = temp_file(".json", DJANGO_JSON.as_bytes());
    let from_toml = Settings::from_file(t.path()).unwrap();
    let from_json = Settings::from_file(j.path()).unwrap();
    assert_eq!(from_toml.file(), Some(t.path()));
    assert_eq!(from_toml.into_configs(), from_json.into_configs());
}

#[test]
fn file_with_another_extension_is_rejected_before_reading() {
    for name in ["settings.py", "settings.yaml", "settings", "/nonexistent/settings.ini"] {
        let err = Settings::from_file(name).unwrap_err();
        assert!(matches!(&err, SettingsError::UnsupportedFormat { path } if path == Path::new(name)), "{err:?}");
    }
}

#[test]
fn missing_file_is_not_found() {
    let err = Settings::from_file("/nonexistent/rpkit/settings.toml").unwrap_err();
    assert!(matches!(&err, SettingsError::NotFound { path } if path == Path::new("/nonexistent/rpkit/settings.toml")));
    assert_eq!(err.to_string(), "settings file `/nonexistent/rpkit/settings.toml` was not found");
}

#[test]
fn unreadable_path_is_a_read_error() {
    let dir = tempfile::Builder::new().suffix(".json").tempdir().unwrap();
    let err = Settings::from_file(dir.path()).unwrap_err();
    assert!(matches!(err, SettingsError::Read { .. }), "{err:?}");
}

#[test]
fn file_that_is_not_utf8_is_rejected() {
    let f = temp_file(".toml", b"a = \"\xff\xfe\"\n");
    let err = Settings::from_file(f.path()).unwrap_err();
    assert!(matches!(err, SettingsError::NotUtf8 { .. }), "{err:?}");
}

#[test]
fn file_over_the_size_limit_is_rejected() {
    let big = vec![b' '; usize::try_from(MAX_SETTINGS_BYTES).unwrap() + 1];
    let f = temp_file(".json", &big);
    let err = Settings::from_file(f.path()).unwrap_err();
    assert!(matches!(err, SettingsError::TooLarge { limit: MAX_SETTINGS_BYTES, .. }), "{err:?}");
}

#[test]
fn rpkit_settings_variable_names_the_file() {
    let f = temp_file(".json", DJANGO_JSON.as_bytes());
    let path = f.path().to_str().unwrap();
    let s = Settings::from_env_vars(vars(&[("HOME", "/root"), (SETTINGS_VAR, path)])).unwrap();
    assert_eq!(s.get("github"), Some(&github()));

    let err = Settings::from_env_vars(vars(&[(SETTINGS_VAR, "/nonexistent/x.json")])).unwrap_err();
    assert!(matches!(err, SettingsError::NotFound { .. }));
    let err = Settings::from_env_vars(vars(&[(SETTINGS_VAR, "")])).unwrap_err();
    assert!(matches!(err, SettingsError::UnsupportedFormat { .. }));
}

#[test]
fn no_settings_variable_means_environment_only() {
    let s = Settings::from_env_vars(vars(&[("PATH", "/bin")])).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.file(), None);
    let s = Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_ID", "abc")])).unwrap();
    assert_eq!(s.get("github").and_then(|c| c.client_id.as_deref()), Some("abc"));
}

#[test]
fn from_env_reads_the_process_environment_without_panicking() {
    // The test process sets neither variable, so this only checks that it runs.
    if std::env::var_os(SETTINGS_VAR).is_none() {
        assert!(Settings::from_env().is_ok());
    }
}

// ---- Environment overrides ----

#[test]
fn env_secret_overrides_the_file_and_matches_the_name_case_insensitively() {
    let s = json(DJANGO_JSON)
        .unwrap()
        .with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRET", "from-env")]))
        .unwrap();
    let gh = s.get("github").unwrap();
    assert!(gh.client_secret.as_ref().unwrap().ct_eq("from-env"));
    assert_eq!(gh.client_id.as_deref(), Some("GitHub Client ID"));
    assert_eq!(s.len(), 2);

    let s = toml("[AUTHLIB_OAUTH_CLIENTS.MyIdP]\nclient_id = \"a\"\n")
        .unwrap()
        .with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__MYIDP__CLIENT_ID", "b")]))
        .unwrap();
    assert_eq!(s.clients().map(|(n, c)| (n, c.client_id.as_deref())).collect::<Vec<_>>(), [("MyIdP", Some("b"))]);
}

#[test]
fn env_nested_kwarg_overrides_one_entry_and_keeps_the_others() {
    let s = toml("[AUTHLIB_OAUTH_CLIENTS.google.client_kwargs]\nscope = \"openid\"\ntoken_endpoint_auth_method = \"client_secret_post\"\n")
        .unwrap()
        .with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__GOOGLE__CLIENT_KWARGS__SCOPE", "openid profile email")]))
        .unwrap();
    let g = s.get("google").unwrap();
    assert_eq!(g.scope_str(), Some("openid profile email"));
    assert_eq!(g.client_kwargs.token_endpoint_auth_method, Some(TokenEndpointAuthMethod::ClientSecretPost));
}

#[test]
fn env_values_are_parsed_for_numeric_boolean_and_list_keys() {
    let s = Settings::from_env_vars(vars(&[
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_ID", "12345"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__LEEWAY", "30"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__TIMEOUT", "2.5"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__USERINFO_POST", "true"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__CODE_CHALLENGE_METHOD", "false"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__MAX_PENDING", "4"),
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__SCOPE", r#"["openid", "email"]"#),
        ("RPKIT_OAUTH_CLIENTS__X__ID_TOKEN_SIGNING_ALG_VALUES_SUPPORTED", "RS256 ES256"),
        ("RPKIT_OAUTH_CLIENTS__X__AUTHORIZE_PARAMS__PROMPT", "consent"),
        ("RPKIT_OAUTH_CLIENTS__X__ACCESS_TOKEN_PARAMS", r#"{"resource": "https://api"}"#),
    ]))
    .unwrap();
    let x = s.get("x").unwrap();
    assert_eq!(x.client_id.as_deref(), Some("12345"));
    assert_eq!(x.client_kwargs.leeway, Some(30));
    assert_eq!(x.client_kwargs.timeout, Some(2.5));
    assert!(x.client_kwargs.userinfo_post);
    assert_eq!(x.client_kwargs.code_challenge_method, CodeChallengeMethod::Disabled);
    assert_eq!(x.client_kwargs.max_pending, Some(4));
    assert_eq!(x.scope_str(), Some("openid email"));
    assert_eq!(x.id_token_signing_alg_values_supported.as_ref().map(Vec::len), Some(2));
    assert_eq!(x.authorize_params.get("prompt").map(String::as_str), Some("consent"));
    assert_eq!(x.access_token_params.get("resource").map(String::as_str), Some("https://api"));
}

#[test]
fn env_override_for_an_unknown_client_creates_it() {
    let s = json(DJANGO_JSON)
        .unwrap()
        .with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__GITLAB__CLIENT_ID", "gl")]))
        .unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s.get("gitlab").map(|c| c.name.as_str()), Some("gitlab"));
}

#[test]
fn env_unknown_key_names_the_variable_not_the_value() {
    let err = Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRETT", SECRET)])).unwrap_err();
    match &err {
        SettingsError::Env { var, source: ConfigError::UnknownKey { client, key } } => {
            assert_eq!(var, "RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRETT");
            assert_eq!((client.as_str(), key.as_str()), ("github", "client_secrett"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_hides(&err, SECRET);

    let err =
        Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_KWARGS__SCPOE", SECRET)])).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Env { source: ConfigError::UnknownKey { key, .. }, .. } if key == "client_kwargs.scpoe"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "environment variable `RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_KWARGS__SCPOE`: client `github`: unknown key `client_kwargs.scpoe`"
    );
    assert_hides(&err, SECRET);
}

#[test]
fn env_subkey_under_a_scalar_key_is_an_unknown_key() {
    let err =
        Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRET__VALUE", SECRET)])).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Env { source: ConfigError::UnknownKey { key, .. }, .. } if key == "client_secret.value"),
        "{err:?}"
    );
    assert_hides(&err, SECRET);
}

#[test]
fn env_value_of_the_wrong_type_says_what_was_expected() {
    let err = Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__TIMEOUT", SECRET)])).unwrap_err();
    match &err {
        SettingsError::Env { var, source: ConfigError::Invalid { key, expected, .. } } => {
            assert_eq!(var, "RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__TIMEOUT");
            assert_eq!(key, "client_kwargs.timeout");
            assert_eq!(expected, "a positive number of seconds, at most 600");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_hides(&err, SECRET);
    let err = Settings::from_env_vars(vars(&[("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS", "not json")])).unwrap_err();
    assert!(matches!(err, SettingsError::Env { source: ConfigError::Invalid { .. }, .. }), "{err:?}");
}

#[test]
fn env_name_matching_two_clients_is_ambiguous() {
    let s = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {"GitHub": {}, "github": {}}}"#).unwrap();
    let err = s.with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_ID", "x")])).unwrap_err();
    assert!(
        matches!(&err, SettingsError::EnvVar { var, .. } if var == "RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_ID"),
        "{err:?}"
    );
}

#[test]
fn two_env_variables_setting_the_same_key_are_rejected() {
    let err = Settings::from_env_vars(vars(&[
        ("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_ID", "a"),
        ("RPKIT_OAUTH_CLIENTS__github__client_id", "b"),
    ]))
    .unwrap_err();
    assert!(matches!(err, SettingsError::EnvVar { .. }), "{err:?}");
}

#[test]
fn env_overrides_apply_in_the_same_order_whatever_the_environment_order() {
    let pairs = [
        ("RPKIT_OAUTH_CLIENTS__X__CLIENT_KWARGS__SCOPE", "openid"),
        ("RPKIT_OAUTH_CLIENTS__X__client_kwargs", r#"{"scope": "email", "leeway": 5}"#),
    ];
    let forward = Settings::from_env_vars(vars(&pairs)).unwrap();
    let mut reversed = pairs;
    reversed.reverse();
    let backward = Settings::from_env_vars(vars(&reversed)).unwrap();
    let x = forward.get("x").unwrap();
    assert_eq!(x.scope_str(), Some("openid"));
    assert_eq!(x.client_kwargs.leeway, Some(5));
    assert_eq!(forward.into_configs(), backward.into_configs());
}

#[test]
fn env_override_is_seen_by_register() {
    let s = json(DJANGO_JSON)
        .unwrap()
        .with_env_overrides(vars(&[("RPKIT_OAUTH_CLIENTS__GOOGLE__CLIENT_KWARGS__LEEWAY", "15")]))
        .unwrap();
    let g = s.register("google", &json!({"client_kwargs": {"scope": "openid"}}), false).unwrap();
    assert_eq!(g.client_kwargs.leeway, Some(15));
    assert_eq!(g.scope_str(), Some("openid"));
}

// ---- register ----

#[test]
fn register_code_wins_without_overwrite_and_keeps_settings_only_keys() {
    let s = json(DJANGO_JSON).unwrap();
    let cfg = s
        .register("github", &json!({"client_id": "code-id", "authorize_params": {"allow_signup": "false"}}), false)
        .unwrap();
    assert_eq!(cfg.client_id.as_deref(), Some("code-id"));
    assert!(cfg.client_secret.as_ref().unwrap().ct_eq("GitHub Client Secret"));
    assert_eq!(cfg.api_base_url.as_deref(), Some("https://api.github.com/"));
    assert_eq!(cfg.authorize_params.get("allow_signup").map(String::as_str), Some("false"));
    assert_eq!(cfg.name, "github");
}

#[test]
fn register_settings_win_with_overwrite_but_not_with_null() {
    let s = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {"a": {"client_id": "settings-id", "api_base_url": null}}}"#).unwrap();
    let cfg = s
        .register("a", &json!({"client_id": "code-id", "api_base_url": "https://code/", "issuer": "https://iss"}), true)
        .unwrap();
    assert_eq!(cfg.client_id.as_deref(), Some("settings-id"));
    assert_eq!(cfg.api_base_url.as_deref(), Some("https://code/"));
    assert_eq!(cfg.issuer.as_deref(), Some("https://iss"));
}

#[test]
fn register_merges_client_kwargs_entry_by_entry() {
    let s = json(r#"{"AUTHLIB_OAUTH_CLIENTS": {"g": {"client_kwargs": {"scope": "openid profile email", "leeway": 10, "timeout": null}}}}"#)
        .unwrap();
    let code = json!({"client_kwargs": {"scope": "openid", "timeout": 3, "response_mode": "form_post"}});

    let code_wins = s.register("g", &code, false).unwrap();
    assert_eq!(code_wins.scope_str(), Some("openid"));
    assert_eq!(code_wins.client_kwargs.leeway, Some(10));
    assert_eq!(code_wins.client_kwargs.timeout, Some(3.0));
    assert_eq!(code_wins.client_kwargs.response_mode.as_deref(), Some("form_post"));

    let settings_win = s.register("g", &code, true).unwrap();
    assert_eq!(settings_win.scope_str(), Some("openid profile email"));
    assert_eq!(settings_win.client_kwargs.leeway, Some(10));
    assert_eq!(settings_win.client_kwargs.timeout, Some(3.0), "a null setting does not win");
    assert_eq!(settings_win.client_kwargs.response_mode.as_deref(), Some("form_post"));
}

#[test]
fn register_without_settings_uses_code_alone() {
    let s = Settings::new();
    let cfg = s.register("github", &json!({"client_id": "x", "client_kwargs": {"scope": "user:email"}}), true).unwrap();
    assert_eq!(cfg, ClientConfig::new("github").client_id("x").scope("user:email"));
    assert_eq!(s.register("github", &Value::Null, false).unwrap(), ClientConfig::new("github"));
}

#[test]
fn register_with_null_code_returns_the_settings() {
    let s = json(DJANGO_JSON).unwrap();
    assert_eq!(s.register("github", &Value::Null, false).unwrap(), github());
    assert_eq!(s.register("github", &json!({}), true).unwrap(), github());
}

#[test]
fn register_rejects_unknown_code_keys_and_non_objects() {
    let s = json(DJANGO_JSON).unwrap();
    let err = s.register("github", &json!({"client_kwargs": {"scpoe": "x"}}), false).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Code { client, source: ConfigError::UnknownKey { key, .. } } if client == "github" && key == "client_kwargs.scpoe"),
        "{err:?}"
    );
    let err = s.register("github", &json!(["client_id"]), false).unwrap_err();
    assert!(matches!(err, SettingsError::Code { source: ConfigError::Invalid { .. }, .. }), "{err:?}");
    let err = s.register("github", &json!({"client_secret": 5}), false).unwrap_err();
    assert!(matches!(err, SettingsError::Code { source: ConfigError::Invalid { .. }, .. }), "{err:?}");
}

// ---- Secrets ----

#[test]
fn debug_of_settings_never_shows_secrets() {
    let text = format!(
        r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": "{SECRET}", "private_key": "-----BEGIN {SECRET}", "decryption_key": {{"kty": "oct", "k": "{SECRET}"}}}}}}}}"#
    );
    let s = json(&text).unwrap();
    for shown in
        [format!("{s:?}"), format!("{s:#?}"), format!("{:?}", s.get("a")), format!("{:?}", s.clone().into_configs())]
    {
        assert!(!shown.contains(SECRET), "{shown}");
    }
    let registered = s.register("a", &json!({"client_id": "x"}), false).unwrap();
    assert!(!format!("{registered:?}").contains(SECRET));
}

#[test]
fn errors_from_files_holding_a_secret_never_show_it() {
    let json_cases = [
        // A secret of the wrong type.
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": ["{SECRET}"]}}}}}}"#),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": {{"value": "{SECRET}"}}}}}}}}"#),
        r#"{"AUTHLIB_OAUTH_CLIENTS": {"a": {"client_secret": 738291046573829104}}}"#.to_owned(),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"private_key": ["{SECRET}"]}}}}}}"#),
        // A secret under a misspelt key, or in a key of another type.
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"clent_secret": "{SECRET}"}}}}}}"#),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_kwargs": {{"leeway": "{SECRET}"}}}}}}}}"#),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"authorize_params": {{"x": ["{SECRET}"]}}}}}}}}"#),
        // Syntax errors at the secret.
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": {SECRET}}}}}}}"#),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": "{SECRET}"#),
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": "{SECRET}\q"}}}}}}"#),
        format!("{{\"AUTHLIB_OAUTH_CLIENTS\": {{\"a\": {{\"client_secret\": \"{SECRET}\u{1}\"}}}}}}"),
    ];
    for text in &json_cases {
        let err = json(text).unwrap_err();
        assert_hides(&err, SECRET);
        assert_hides(&err, "738291046573829104");
    }
    let toml_cases = [
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = [\"{SECRET}\"]\n"),
        "[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = 738291046573829104\n".to_owned(),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = {SECRET}\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = \"{SECRET}\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = '''{SECRET}"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = \"{SECRET}\" extra\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = \"x\"\nclient_secret = \"{SECRET}\"\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = 1979-05-27T{SECRET}\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a]\nprivate_key = {{ d = {SECRET} }}\n"),
        format!("[AUTHLIB_OAUTH_CLIENTS.a.client_kwargs]\ntimeout = \"{SECRET}\"\n"),
    ];
    for text in &toml_cases {
        let err = toml(text).unwrap_err();
        assert_hides(&err, SECRET);
        assert_hides(&err, "738291046573829104");
    }
}

#[test]
fn errors_from_files_on_disk_holding_a_secret_never_show_it() {
    let f = temp_file(".toml", format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_secret = {SECRET}\n").as_bytes());
    let err = Settings::from_file(f.path()).unwrap_err();
    assert!(matches!(err, SettingsError::Syntax { .. }));
    assert_hides(&err, SECRET);
    let f = temp_file(
        ".json",
        format!(r#"{{"AUTHLIB_OAUTH_CLIENTS": {{"a": {{"client_secret": 1, "x": "{SECRET}"}}}}}}"#).as_bytes(),
    );
    let err = Settings::from_file(f.path()).unwrap_err();
    assert_hides(&err, SECRET);
}

// ---- Never panics ----

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z_ ]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("client_id".to_owned()),
                        Just("client_secret".to_owned()),
                        Just("client_kwargs".to_owned()),
                        Just("scope".to_owned()),
                        Just("leeway".to_owned()),
                        Just("timeout".to_owned()),
                        Just("authorize_params".to_owned()),
                        Just("private_key".to_owned()),
                        Just("code_challenge_method".to_owned()),
                        Just("id_token_signing_alg_values_supported".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_var() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            Just("GITHUB".to_owned()),
            Just("CLIENT_KWARGS".to_owned()),
            Just("SCOPE".to_owned()),
            Just("LEEWAY".to_owned()),
            Just("TIMEOUT".to_owned()),
            Just("CLIENT_SECRET".to_owned()),
            Just("AUTHORIZE_PARAMS".to_owned()),
            Just("ID_TOKEN_SIGNING_ALG_VALUES_SUPPORTED".to_owned()),
            Just(String::new()),
            "[A-Za-z_ÄÉ]{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(part, 0..5).prop_map(|parts| format!("{ENV_PREFIX}{}", parts.join("__"))),
            Just(SETTINGS_VAR.to_owned()),
            "\\PC{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_json_text_gives_ok_or_err(text in "\\PC{0,200}") {
            let _ = json(&text);
            let _ = json(&format!("{{\"AUTHLIB_OAUTH_CLIENTS\": {text}"));
        }

        #[test]
        fn arbitrary_toml_text_gives_ok_or_err(text in "\\PC{0,200}") {
            let _ = toml(&text);
            let _ = toml(&format!("[AUTHLIB_OAUTH_CLIENTS.a]\n{text}"));
        }

        #[test]
        fn arbitrary_toml_like_text_gives_ok_or_err(text in "[\\[\\]{}=\"'a-z_.,\n #0-9:TZ+-]{0,120}") {
            let _ = toml(&format!("[AUTHLIB_OAUTH_CLIENTS.a]\n{text}"));
            let _ = toml(&text);
        }

        #[test]
        fn arbitrary_client_values_give_ok_or_err(clients in arb_json(), code in arb_json(), overwrite in any::<bool>()) {
            let doc = json!({ "AUTHLIB_OAUTH_CLIENTS": clients });
            if let Ok(s) = json(&doc.to_string()) {
                for (name, _) in s.clients() {
                    let _ = s.register(name, &code, overwrite);
                }
                let _ = s.register("other", &code, overwrite);
            }
        }

        #[test]
        fn arbitrary_env_pairs_give_ok_or_err_and_never_show_values(
            pairs in prop::collection::vec((arb_var(), "\\PC{0,20}"), 0..8),
        ) {
            let base = json(DJANGO_JSON).unwrap();
            let marked: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(k, _)| k != SETTINGS_VAR)
                .map(|(k, v)| (k, format!("{SECRET}{v}")))
                .collect();
            if let Err(e) = base.with_env_overrides(marked.clone()) {
                assert_hides(&e, SECRET);
            }
            if let Err(e) = Settings::from_env_vars(marked) {
                assert_hides(&e, SECRET);
            }
        }

        #[test]
        fn arbitrary_env_values_for_typed_keys_give_ok_or_err(value in "\\PC{0,30}") {
            for key in ["CLIENT_KWARGS", "CLIENT_KWARGS__LEEWAY", "CLIENT_KWARGS__TIMEOUT", "CLIENT_KWARGS__SCOPE",
                        "CLIENT_KWARGS__CODE_CHALLENGE_METHOD", "ID_TOKEN_SIGNING_ALG_VALUES_SUPPORTED",
                        "AUTHORIZE_PARAMS", "PRIVATE_KEY", "CLIENT_KWARGS__MAX_PENDING"] {
                let _ = Settings::from_env_vars([(format!("{ENV_PREFIX}G__{key}"), value.clone())]);
            }
        }
    }
}

#[test]
fn deeply_nested_input_is_rejected_without_overflowing_the_stack() {
    let deep_toml = format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_id = {}", "[".repeat(100_000));
    assert!(toml(&deep_toml).is_err());
    let deep_toml = format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_id = {}1{}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(toml(&deep_toml), Err(SettingsError::Syntax { .. })));
    let deep_toml = format!("[AUTHLIB_OAUTH_CLIENTS.a]\nclient_id = {}1{}", "[".repeat(40), "]".repeat(40));
    let err = toml(&deep_toml).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Shape { expected, .. } if expected == "a value nested less deeply"),
        "{err:?}"
    );
    let deep_inline = format!("AUTHLIB_OAUTH_CLIENTS = {}", "{a = ".repeat(5_000));
    assert!(toml(&deep_inline).is_err());
    let deep_json = format!("{{\"AUTHLIB_OAUTH_CLIENTS\": {}", "[".repeat(100_000));
    assert!(json(&deep_json).is_err());
}

#[test]
fn the_device_authorization_endpoint_loads_from_a_file_and_the_environment() {
    let settings = toml(
        "[AUTHLIB_OAUTH_CLIENTS.tv]\nclient_id = \"tv\"\ndevice_authorization_endpoint = \"https://op.example/device\"\n",
    )
    .unwrap();
    assert_eq!(settings.get("tv").unwrap().device_authorization_endpoint.as_deref(), Some("https://op.example/device"));
    let settings = toml("[AUTHLIB_OAUTH_CLIENTS.tv]\nclient_id = \"tv\"\n")
        .unwrap()
        .with_env_overrides(vars(&[(
            "RPKIT_OAUTH_CLIENTS__TV__DEVICE_AUTHORIZATION_ENDPOINT",
            "https://op.example/d2",
        )]))
        .unwrap();
    assert_eq!(settings.get("tv").unwrap().device_authorization_endpoint.as_deref(), Some("https://op.example/d2"));
    assert!(toml("[AUTHLIB_OAUTH_CLIENTS.tv]\ndevice_authorization_endpoint = 7\n").is_err());
}

// ---- DPoP (RFC 9449) ----

#[test]
fn dpop_keys_load_from_toml_and_the_environment_and_stay_hidden() {
    let d = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
    let text = format!(
        "[AUTHLIB_OAUTH_CLIENTS.bank]\nclient_id = \"x\"\nclient_kwargs = {{ dpop = true }}\n\
         dpop_key = {{ kty = \"EC\", crv = \"P-256\", x = \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", \
         y = \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\", d = \"{d}\" }}\n"
    );
    let s = toml(&text).unwrap();
    let bank = s.get("bank").unwrap();
    assert!(bank.client_kwargs.dpop);
    assert!(bank.parsed_dpop_key().unwrap().is_some());
    assert!(!format!("{s:?}").contains(d));

    let s = Settings::from_env_vars(vars(&[
        ("RPKIT_OAUTH_CLIENTS__BANK__CLIENT_KWARGS__DPOP", "true"),
        ("RPKIT_OAUTH_CLIENTS__BANK__DPOP_KEY", "-----BEGIN PRIVATE KEY-----"),
    ]))
    .unwrap();
    let bank = s.get("bank").unwrap();
    assert!(bank.client_kwargs.dpop);
    assert!(bank.dpop_key.is_some());
    let err = bank.parsed_dpop_key().unwrap_err();
    assert!(!err.to_string().contains("BEGIN"), "{err}");
    assert!(toml("[AUTHLIB_OAUTH_CLIENTS.bank]\nclient_kwargs = { dpop = \"on\" }\n").is_err());
}

// ---- PAR (RFC 9126) and JAR (RFC 9101), and the other boolean switches ----

#[test]
fn par_and_jar_keys_load_from_toml_and_the_environment() {
    let s = toml(
        "[AUTHLIB_OAUTH_CLIENTS.bank]\nclient_id = \"x\"\n\
         pushed_authorization_request_endpoint = \"https://op.example/par\"\n\
         client_kwargs = { use_par = true, request_object = true, request_object_signing_alg = \"ES256\" }\n",
    )
    .unwrap();
    let bank = s.get("bank").unwrap();
    assert_eq!(bank.pushed_authorization_request_endpoint.as_deref(), Some("https://op.example/par"));
    assert!(bank.client_kwargs.use_par && bank.client_kwargs.request_object);
    assert_eq!(bank.client_kwargs.request_object_signing_alg.as_deref(), Some("ES256"));

    let s = Settings::from_env_vars(vars(&[
        ("RPKIT_OAUTH_CLIENTS__BANK__CLIENT_KWARGS__USE_PAR", "true"),
        ("RPKIT_OAUTH_CLIENTS__BANK__CLIENT_KWARGS__REQUEST_OBJECT", "true"),
        ("RPKIT_OAUTH_CLIENTS__BANK__CLIENT_KWARGS__REQUEST_OBJECT_SIGNING_ALG", "PS256"),
        ("RPKIT_OAUTH_CLIENTS__BANK__PUSHED_AUTHORIZATION_REQUEST_ENDPOINT", "https://op.example/par"),
    ]))
    .unwrap();
    let bank = s.get("bank").unwrap();
    assert!(bank.client_kwargs.use_par && bank.client_kwargs.request_object);
    assert_eq!(bank.client_kwargs.request_object_signing_alg.as_deref(), Some("PS256"));
    assert_eq!(bank.pushed_authorization_request_endpoint.as_deref(), Some("https://op.example/par"));
    let err = toml("[AUTHLIB_OAUTH_CLIENTS.bank]\nclient_kwargs = { use_par = \"yes\" }\n").unwrap_err();
    assert!(err.to_string().contains("use_par"), "{err}");
}

#[test]
fn every_boolean_switch_is_a_boolean_from_the_environment() {
    for key in
        ["USERINFO_POST", "DANGER_ALLOW_INSECURE_HTTP", "ACCEPT_UNVERIFIABLE_ISS", "DPOP", "USE_PAR", "REQUEST_OBJECT"]
    {
        let name = format!("RPKIT_OAUTH_CLIENTS__OP__CLIENT_KWARGS__{key}");
        let s = Settings::from_env_vars(vars(&[(name.as_str(), "true")])).unwrap_or_else(|e| panic!("{key}: {e}"));
        let kw = &s.get("op").unwrap().client_kwargs;
        let on = match key {
            "USERINFO_POST" => kw.userinfo_post,
            "DANGER_ALLOW_INSECURE_HTTP" => kw.danger_allow_insecure_http,
            "ACCEPT_UNVERIFIABLE_ISS" => kw.accept_unverifiable_iss,
            "DPOP" => kw.dpop,
            "USE_PAR" => kw.use_par,
            _ => kw.request_object,
        };
        assert!(on, "{key}=true did not switch it on");
    }
}
