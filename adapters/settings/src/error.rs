//! The settings adapter's error type.
//!
//! Every variant says *where* (the file, the key path such as
//! `AUTHLIB_OAUTH_CLIENTS.github.client_kwargs.scope`, or the environment variable) and
//! *what was expected*. No variant carries a configured value: values may be secrets
//! (`client_secret`, `private_key`), and a syntax error's description is the parser's
//! fixed message, never the offending line.

use rpkit::error::ConfigError;
use std::fmt;
use std::path::PathBuf;

/// The syntax of a settings file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `.toml` ([TOML 1.0](https://toml.io/en/v1.0.0)).
    Toml,
    /// `.json` ([RFC 8259](https://www.rfc-editor.org/rfc/rfc8259)).
    Json,
}

impl Format {
    /// The format named by `path`'s extension (`.toml` or `.json`, ASCII case-insensitive).
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("toml") {
            Some(Format::Toml)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
        })
    }
}

/// Why settings could not be loaded or merged.
///
/// # Security
/// No variant holds a configured value, so `Display` and `Debug` are safe to log even
/// when the file holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The settings file does not exist.
    #[error("settings file `{}` was not found", path.display())]
    NotFound {
        /// The file as named (by `RPKIT_SETTINGS` or the caller).
        path: PathBuf,
    },
    /// The settings file exists but could not be read.
    #[error("settings file `{}` could not be read: {kind}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        kind: std::io::ErrorKind,
    },
    /// The settings file is larger than [`crate::MAX_SETTINGS_BYTES`].
    #[error("settings file `{}` is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The settings file is not UTF-8 text.
    #[error("settings file `{}` is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file name does not end in `.toml` or `.json`.
    #[error("settings file `{}`: expected a name ending in `.toml` or `.json`", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML or JSON.
    ///
    /// `description` is the parser's own fixed message (e.g. "trailing comma"); it never
    /// quotes the file.
    #[error("settings file `{}`: {format} syntax error{}: {description}", path.display(), at(*line, *column))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// 1-based line of the error, when the parser reports one.
        line: Option<usize>,
        /// 1-based column (in characters) of the error, when the parser reports one.
        column: Option<usize>,
        /// What the parser expected.
        description: String,
    },
    /// A value outside the client settings has the wrong shape (the top level, the
    /// `AUTHLIB_OAUTH_CLIENTS` table, a TOML date).
    #[error("settings file `{}`: {}: expected {expected}", path.display(), key_display(key_path))]
    Shape {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `AUTHLIB_OAUTH_CLIENTS.github.client_id` (empty for the top level).
        key_path: String,
        /// What was expected there.
        expected: String,
    },
    /// Both `AUTHLIB_OAUTH_CLIENTS` and its alias `oauth_clients` are present; which one
    /// is meant is not guessed.
    #[error("settings file `{}`: both `AUTHLIB_OAUTH_CLIENTS` and `oauth_clients` are present; expected only one", path.display())]
    DuplicateClientsKey {
        /// The file.
        path: PathBuf,
    },
    /// A client's settings in the file are unusable: an unknown key or a value of the
    /// wrong type.
    #[error("settings file `{}`: {}: {}", path.display(), key_display(key_path), what(source))]
    Client {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `AUTHLIB_OAUTH_CLIENTS.github.client_kwargs.scope`.
        key_path: String,
        /// The core's description (client, key, what was expected).
        #[source]
        source: ConfigError,
    },
    /// An `RPKIT_OAUTH_CLIENTS__…` variable's name or value cannot be used as it is.
    #[error("environment variable `{var}`: expected {expected}")]
    EnvVar {
        /// The variable's name (never its value).
        var: String,
        /// What was expected.
        expected: String,
    },
    /// An environment override names an unknown key or has a value of the wrong type.
    #[error("environment variable `{var}`: {}", source)]
    Env {
        /// The variable's name (never its value).
        var: String,
        /// The core's description (client, key path, what was expected).
        #[source]
        source: ConfigError,
    },
    /// The configuration passed to [`crate::Settings::register`] in code is unusable.
    #[error("registering client `{client}` in code: {source}")]
    Code {
        /// The client's name.
        client: String,
        /// The core's description.
        #[source]
        source: ConfigError,
    },
}

impl SettingsError {
    /// The core's [`ConfigError`] behind this error, when there is one.
    pub fn config_error(&self) -> Option<&ConfigError> {
        match self {
            SettingsError::Client { source, .. }
            | SettingsError::Env { source, .. }
            | SettingsError::Code { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

fn key_display(key_path: &str) -> String {
    if key_path.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{key_path}`")
    }
}

fn what(e: &ConfigError) -> String {
    match e {
        ConfigError::UnknownKey { .. } => "unknown key".to_owned(),
        ConfigError::Invalid { expected, .. } => format!("expected {expected}"),
        other => other.to_string(),
    }
}
