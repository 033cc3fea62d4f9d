//! Client registrations for rpkit from a settings file and the environment, in the shape
//! of Authlib's Django `AUTHLIB_OAUTH_CLIENTS` setting.
//!
//! A Django project keeps its OAuth clients in `settings.py`:
//!
//! ```python
//! AUTHLIB_OAUTH_CLIENTS = {
//!     'github': {
//!         'client_id': '…', 'client_secret': '…',
//!         'access_token_url': 'https://github.com/login/oauth/access_token',
//!         'authorize_url': 'https://github.com/login/oauth/authorize',
//!         'api_base_url': 'https://api.github.com/',
//!         'client_kwargs': {'scope': 'user:email'},
//!     }
//! }
//! ```
//!
//! The same dict, written as JSON or TOML, loads unchanged ([`Settings`]):
//!
//! * **The file.** The environment variable `RPKIT_SETTINGS` names a `.toml` or `.json`
//!   file (chosen by extension; anything else is [`SettingsError::UnsupportedFormat`]).
//!   Its top-level key `AUTHLIB_OAUTH_CLIENTS` (alias `oauth_clients`; both at once is an
//!   error) maps client names to client settings with the keys of
//!   [`rpkit::config::ClientConfig`] (DESIGN §2). **Other top-level keys are ignored**, so
//!   a file exported from a whole Django settings module (`DEBUG`, `DATABASES`, …) loads
//!   as it is — except keys that differ from the two names above only in case, which are
//!   rejected as typos. Unknown keys **inside** a client are errors naming the client and
//!   the key path. (A key repeated in a JSON object keeps its last value, as in a Python
//!   dict literal; TOML rejects repeated keys.)
//! * **The environment.** `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>=value` overrides one key,
//!   `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>__<SUBKEY>=value` one entry of `client_kwargs` or
//!   of a `*_params` table (e.g. `RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRET`,
//!   `RPKIT_OAUTH_CLIENTS__GOOGLE__CLIENT_KWARGS__SCOPE`). `NAME` matches a client of the
//!   file case-insensitively (an unmatched name creates a client, named in lower case);
//!   `KEY` and `SUBKEY` are lowercased; the `RPKIT_OAUTH_CLIENTS__` prefix itself is
//!   case-sensitive. The value is text; where the key expects a
//!   number, a boolean, a list or an object, the text is read as JSON
//!   (`…__CLIENT_KWARGS__LEEWAY=30`, `…__CLIENT_KWARGS__SCOPE=["openid","email"]`).
//! * **Code.** [`Settings::register`] merges what the program passes in code with the
//!   settings the way Authlib's `oauth.register(name, overwrite=False, **kwargs)` does.
//!
//! # Security
//! Secrets (`client_secret`, `private_key`, `decryption_key`) are held in rpkit's secret
//! types, whose `Debug` is redacted, and no [`SettingsError`] contains a configured value:
//! errors name the file, the key path or the environment variable, and what was expected.
//! A file syntax error gives the line, the column and the parser's own description, never
//! the text of the line.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod env;
mod error;
mod file;

pub use error::{Format, SettingsError};

use rpkit::config::ClientConfig;
use rpkit::error::ConfigError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that names the settings file.
pub const SETTINGS_VAR: &str = "RPKIT_SETTINGS";
/// The prefix of environment overrides: `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>`.
pub const ENV_PREFIX: &str = "RPKIT_OAUTH_CLIENTS__";
/// The settings file's top-level key, as in Django's settings.
pub const CLIENTS_KEY: &str = "AUTHLIB_OAUTH_CLIENTS";
/// The accepted alias of [`CLIENTS_KEY`].
pub const CLIENTS_KEY_ALIAS: &str = "oauth_clients";
/// The largest settings file read, in bytes.
pub const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// The OAuth clients configured by a settings file and the environment.
///
/// Build it with [`Settings::from_env`] (reads `RPKIT_SETTINGS` and the overrides from the
/// process environment), [`Settings::from_env_vars`] (the same from given pairs, for tests
/// and for programs that manage their environment), [`Settings::from_file`] or
/// [`Settings::parse`]; then read the clients ([`Settings::get`], [`Settings::clients`],
/// [`Settings::into_configs`]) or merge them with code ([`Settings::register`]).
///
/// ```
/// use rpkit_settings::{Format, Settings};
/// use serde_json::json;
///
/// // A Django project's settings, written as JSON; `DEBUG` is not ours and is ignored.
/// let file = r#"{
///   "DEBUG": false,
///   "AUTHLIB_OAUTH_CLIENTS": {
///     "github": {
///       "client_id": "GitHub Client ID",
///       "access_token_url": "https://github.com/login/oauth/access_token",
///       "authorize_url": "https://github.com/login/oauth/authorize",
///       "api_base_url": "https://api.github.com/",
///       "client_kwargs": {"scope": "user:email"}
///     }
///   }
/// }"#;
/// // The secret comes from the environment (injected here; `from_env` reads the real one).
/// let env = [("RPKIT_OAUTH_CLIENTS__GITHUB__CLIENT_SECRET".to_owned(), "s3cret".to_owned())];
/// let settings = Settings::parse(file, Format::Json, "settings.json")?.with_env_overrides(env)?;
///
/// let github = settings.get("github").expect("configured");
/// assert_eq!(github.client_id.as_deref(), Some("GitHub Client ID"));
/// assert!(github.client_secret.as_ref().is_some_and(|s| s.ct_eq("s3cret")));
/// assert!(!format!("{settings:?}").contains("s3cret"));
///
/// // Code registration: kwargs passed in code win unless `overwrite` is set.
/// let cfg = settings.register("github", &json!({"client_kwargs": {"scope": "read:user"}}), false)?;
/// assert_eq!(cfg.scope_str(), Some("read:user"));
/// assert_eq!(cfg.api_base_url.as_deref(), Some("https://api.github.com/"));
///
/// // A typo inside a client is an error naming the file and the key path.
/// let typo = r#"{"AUTHLIB_OAUTH_CLIENTS": {"github": {"client_kwargs": {"scpoe": "x"}}}}"#;
/// let err = Settings::parse(typo, Format::Json, "settings.json").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "settings file `settings.json`: `AUTHLIB_OAUTH_CLIENTS.github.client_kwargs.scpoe`: unknown key"
/// );
/// # Ok::<(), rpkit_settings::SettingsError>(())
/// ```
#[derive(Clone, Default)]
pub struct Settings {
    file: Option<PathBuf>,
    clients: BTreeMap<String, Entry>,
}

/// One client: the settings as given (for merging with code) and as validated.
#[derive(Clone)]
struct Entry {
    raw: Map<String, Value>,
    config: ClientConfig,
}

impl fmt::Debug for Settings {
    /// Shows the file and the validated configurations, whose secrets are redacted; the
    /// raw settings (which hold the secrets as plain JSON) are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("file", &self.file)
            .field("clients", &self.clients.values().map(|e| &e.config).collect::<Vec<_>>())
            .finish()
    }
}

impl Settings {
    /// No clients, no file.
    pub fn new() -> Self {
        Settings::default()
    }

    /// Loads the file named by `RPKIT_SETTINGS` (if set), then applies the
    /// `RPKIT_OAUTH_CLIENTS__…` overrides, all from the process environment.
    ///
    /// Variables that are neither `RPKIT_SETTINGS` nor overrides are not read. Unlike
    /// `std::env::vars`, a variable that is not Unicode does not panic: an override whose
    /// value is not Unicode is an error, and `RPKIT_SETTINGS` may be any path.
    ///
    /// # Errors
    /// As [`Settings::from_env_vars`].
    pub fn from_env() -> Result<Self, SettingsError> {
        let mut file = None;
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            if name == SETTINGS_VAR {
                file = Some(PathBuf::from(value));
                continue;
            }
            let lossy = name.to_string_lossy();
            if !lossy.starts_with(ENV_PREFIX) {
                continue;
            }
            match (name.to_str(), value.into_string()) {
                (Some(name), Ok(value)) => vars.push((name.to_owned(), value)),
                _ => {
                    return Err(SettingsError::EnvVar {
                        var: lossy.into_owned(),
                        expected: "a name and a value that are valid Unicode".to_owned(),
                    })
                }
            }
        }
        Settings::load(file, vars)
    }

    /// Loads the file named by `RPKIT_SETTINGS` among `vars` (if present), then applies the
    /// `RPKIT_OAUTH_CLIENTS__…` overrides among `vars`. Other variables are ignored.
    ///
    /// Pass `std::env::vars()`-like pairs; tests pass a literal list instead of touching the
    /// process environment.
    ///
    /// # Errors
    /// Any error of [`Settings::from_file`], and [`SettingsError::EnvVar`] /
    /// [`SettingsError::Env`] for an override that cannot be applied (see
    /// [`Settings::with_env_overrides`]).
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut file = None;
        let mut rest = Vec::new();
        for (k, v) in vars {
            let (k, v) = (k.into(), v.into());
            if k == SETTINGS_VAR {
                file = Some(PathBuf::from(v));
            } else {
                rest.push((k, v));
            }
        }
        Settings::load(file, rest)
    }

    fn load(file: Option<PathBuf>, vars: Vec<(String, String)>) -> Result<Self, SettingsError> {
        let settings = match file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::new(),
        };
        settings.with_env_overrides(vars)
    }

    /// Loads a settings file; its extension (`.toml`, `.json`) chooses the syntax.
    ///
    /// # Errors
    /// [`SettingsError::UnsupportedFormat`], [`SettingsError::NotFound`],
    /// [`SettingsError::Read`], [`SettingsError::TooLarge`], [`SettingsError::NotUtf8`],
    /// and every error of [`Settings::parse`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SettingsError> {
        let path = path.as_ref();
        let (format, text) = file::read(path)?;
        Settings::parse(&text, format, path)
    }

    /// Parses settings text; `path` is only used to name the file in errors.
    ///
    /// # Errors
    /// [`SettingsError::Syntax`] (with line and column), [`SettingsError::Shape`] when the
    /// top level or the clients table has the wrong shape,
    /// [`SettingsError::DuplicateClientsKey`] when both `AUTHLIB_OAUTH_CLIENTS` and
    /// `oauth_clients` are present, and [`SettingsError::Client`] for an unknown key or a
    /// value of the wrong type inside a client.
    pub fn parse(text: &str, format: Format, path: impl AsRef<Path>) -> Result<Self, SettingsError> {
        let path = path.as_ref();
        let mut settings = Settings { file: Some(path.to_owned()), clients: BTreeMap::new() };
        let Some(table) = file::parse(text, format, path)? else {
            return Ok(settings);
        };
        for (name, value) in table.clients {
            let config = ClientConfig::from_value(&name, &value).map_err(|source| SettingsError::Client {
                path: path.to_owned(),
                key_path: key_path(table.key, &name, &source),
                source,
            })?;
            let raw = match value {
                Value::Object(raw) => raw,
                // `from_value` accepted it, so it is an object; stay total all the same.
                _ => Map::new(),
            };
            settings.clients.insert(name, Entry { raw, config });
        }
        Ok(settings)
    }

    /// Applies `RPKIT_OAUTH_CLIENTS__<NAME>__<KEY>[__<SUBKEY>]` overrides among `vars`;
    /// other variables (including `RPKIT_SETTINGS`) are ignored.
    ///
    /// `NAME` matches a configured client case-insensitively; an unmatched name creates the
    /// client (named in lower case). Overrides apply in a fixed order whatever the order of
    /// `vars`: a whole `client_kwargs` before entries set inside it.
    ///
    /// # Errors
    /// [`SettingsError::EnvVar`] for a malformed name (an empty part, too many parts), a
    /// `NAME` that matches several clients differing only in case, or two variables that set
    /// the same key; [`SettingsError::Env`] for an unknown key or a value of the wrong type.
    /// Errors name the variable, never its value.
    pub fn with_env_overrides<I, K, V>(mut self, vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        // Later duplicates of the same name replace earlier ones, as in an environment.
        let vars: BTreeMap<String, String> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut overrides = Vec::new();
        for (var, value) in &vars {
            if let Some(o) = env::parse(var, value)? {
                overrides.push(o);
            }
        }
        overrides.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        for pair in overrides.windows(2) {
            if let [a, b] = pair {
                if (&a.client, &a.key, &a.sub) == (&b.client, &b.key, &b.sub) {
                    return Err(SettingsError::EnvVar {
                        var: b.var.clone(),
                        expected: format!("one variable per client key, but `{}` sets the same key", a.var),
                    });
                }
            }
        }
        for o in overrides {
            self.apply(o)?;
        }
        Ok(self)
    }

    fn apply(&mut self, o: env::Override) -> Result<(), SettingsError> {
        let mut matching = self.clients.keys().filter(|n| n.to_lowercase() == o.client);
        let name = match (matching.next(), matching.next()) {
            (None, _) => o.client.clone(),
            (Some(n), None) => n.clone(),
            (Some(a), Some(b)) => {
                return Err(SettingsError::EnvVar {
                    var: o.var,
                    expected: format!("a client name that matches one client, not both `{a}` and `{b}`"),
                })
            }
        };
        let entry = self
            .clients
            .entry(name.clone())
            .or_insert_with(|| Entry { raw: Map::new(), config: ClientConfig::new(name.as_str()) });
        let value = match o.sub {
            None => o.value,
            Some(sub) => {
                if !env::NESTED_KEYS.contains(&o.key.as_str()) {
                    let key = format!("{}.{sub}", o.key);
                    return Err(SettingsError::Env {
                        var: o.var,
                        source: ConfigError::UnknownKey { client: name, key },
                    });
                }
                let mut table = match entry.raw.get(&o.key) {
                    Some(Value::Object(t)) => t.clone(),
                    _ => Map::new(),
                };
                table.insert(sub, o.value);
                Value::Object(table)
            }
        };
        entry.config.set_key(&o.key, &value).map_err(|source| SettingsError::Env { var: o.var, source })?;
        entry.raw.insert(o.key, value);
        Ok(())
    }

    /// The file the settings came from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The configuration of the client registered as `name` (exact match).
    pub fn get(&self, name: &str) -> Option<&ClientConfig> {
        self.clients.get(name).map(|e| &e.config)
    }

    /// Every configured client, by name in sorted order.
    pub fn clients(&self) -> impl Iterator<Item = (&str, &ClientConfig)> {
        self.clients.iter().map(|(n, e)| (n.as_str(), &e.config))
    }

    /// The number of configured clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is configured.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every configured client, by name in sorted order.
    pub fn into_configs(self) -> Vec<ClientConfig> {
        self.clients.into_values().map(|e| e.config).collect()
    }

    /// Merges the settings for `name` with `code` — the keyword arguments a program passes
    /// in code, as a JSON object of [`ClientConfig`] keys — like Authlib's
    /// `oauth.register(name, overwrite=False, **kwargs)`.
    ///
    /// Key by key: a key only one side sets is taken from that side. A key both set is
    /// taken from `code` when `overwrite` is `false` (code wins), and from the settings
    /// when `overwrite` is `true` (settings win); a settings value of `null` never wins.
    /// Object-valued keys (`client_kwargs` and the `*_params` tables) are merged entry by
    /// entry with the same rule. Unlike Authlib (which, with `overwrite=False`, replaces the
    /// whole `client_kwargs` dict), a `client_kwargs` entry set only in the settings — say
    /// `token_endpoint_auth_method` — therefore survives a code `client_kwargs` that does
    /// not mention it; and every rpkit key is merged, not only Authlib's
    /// `OAUTH_CLIENT_PARAMS`. With no settings for `name`, the result is `code` alone.
    /// `code` may be `null` (no keyword arguments).
    ///
    /// ```
    /// use rpkit_settings::{Format, Settings};
    /// use serde_json::json;
    /// let toml = r#"
    /// [AUTHLIB_OAUTH_CLIENTS.google]
    /// client_id = "from-settings"
    /// server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"
    /// client_kwargs = { scope = "openid profile email", token_endpoint_auth_method = "client_secret_post" }
    /// "#;
    /// let settings = Settings::parse(toml, Format::Toml, "settings.toml")?;
    /// let code = json!({"client_id": "from-code", "client_kwargs": {"scope": "openid"}});
    ///
    /// let code_wins = settings.register("google", &code, false)?;
    /// assert_eq!(code_wins.client_id.as_deref(), Some("from-code"));
    /// assert_eq!(code_wins.scope_str(), Some("openid"));
    /// assert!(code_wins.client_kwargs.token_endpoint_auth_method.is_some());
    ///
    /// let settings_win = settings.register("google", &code, true)?;
    /// assert_eq!(settings_win.client_id.as_deref(), Some("from-settings"));
    /// assert_eq!(settings_win.scope_str(), Some("openid profile email"));
    /// # Ok::<(), rpkit_settings::SettingsError>(())
    /// ```
    ///
    /// # Errors
    /// [`SettingsError::Code`] when `code` is not an object or names an unknown key or a
    /// value of the wrong type.
    pub fn register(&self, name: &str, code: &Value, overwrite: bool) -> Result<ClientConfig, SettingsError> {
        let empty = Map::new();
        let code_map = match code {
            Value::Object(m) => m,
            Value::Null => &empty,
            _ => {
                return Err(SettingsError::Code {
                    client: name.to_owned(),
                    source: ConfigError::Invalid {
                        client: name.to_owned(),
                        key: String::new(),
                        expected: "an object of client settings".to_owned(),
                    },
                })
            }
        };
        let merged = match self.clients.get(name) {
            Some(entry) => merge(&entry.raw, code_map, overwrite),
            None => code_map.clone(),
        };
        ClientConfig::from_value(name, &Value::Object(merged))
            .map_err(|source| SettingsError::Code { client: name.to_owned(), source })
    }
}

/// Merges settings and code key by key (see [`Settings::register`]).
fn merge(settings: &Map<String, Value>, code: &Map<String, Value>, overwrite: bool) -> Map<String, Value> {
    let mut out = settings.clone();
    for (key, code_value) in code {
        let merged = match (settings.get(key).filter(|v| !v.is_null()), code_value) {
            (None, _) => code_value.clone(),
            (Some(Value::Object(s)), Value::Object(c)) if overwrite => Value::Object(overlay(c, s, true)),
            (Some(Value::Object(s)), Value::Object(c)) => Value::Object(overlay(s, c, false)),
            (Some(s), _) if overwrite => s.clone(),
            (Some(_), _) => code_value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    out
}

/// `base` with the entries of `top` on it; `top`'s nulls are skipped when `skip_null`.
fn overlay(base: &Map<String, Value>, top: &Map<String, Value>, skip_null: bool) -> Map<String, Value> {
    let mut out = base.clone();
    for (k, v) in top {
        if !(skip_null && v.is_null()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// `AUTHLIB_OAUTH_CLIENTS.<client>[.<key path>]` for an error inside a client.
fn key_path(top: &str, client: &str, e: &ConfigError) -> String {
    let key = match e {
        ConfigError::UnknownKey { key, .. } | ConfigError::Invalid { key, .. } | ConfigError::Missing { key, .. } => {
            key.as_str()
        }
        _ => "",
    };
    if key.is_empty() {
        format!("{top}.{client}")
    } else {
        format!("{top}.{client}.{key}")
    }
}

#[cfg(test)]
mod tests;
