//! Reading and parsing the settings file (TOML or JSON) down to the clients table.

use crate::error::{Format, SettingsError};
use crate::{CLIENTS_KEY, CLIENTS_KEY_ALIAS, MAX_SETTINGS_BYTES};
use serde_json::{Map, Value};
use std::io::Read;
use std::path::Path;

/// The clients table of a settings file and the top-level key it was found under.
pub(crate) struct ClientsTable {
    pub(crate) key: &'static str,
    pub(crate) clients: Map<String, Value>,
}

/// Reads `path` as UTF-8 text, at most [`MAX_SETTINGS_BYTES`] of it.
pub(crate) fn read(path: &Path) -> Result<(Format, String), SettingsError> {
    let format = Format::from_path(path).ok_or_else(|| SettingsError::UnsupportedFormat { path: path.to_owned() })?;
    let io_err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SettingsError::NotFound { path: path.to_owned() },
        kind => SettingsError::Read { path: path.to_owned(), kind },
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_SETTINGS_BYTES + 1).read_to_end(&mut bytes).map_err(io_err)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_SETTINGS_BYTES) {
        return Err(SettingsError::TooLarge { path: path.to_owned(), limit: MAX_SETTINGS_BYTES });
    }
    let text = String::from_utf8(bytes).map_err(|_| SettingsError::NotUtf8 { path: path.to_owned() })?;
    Ok((format, text))
}

/// Parses a whole settings document and returns its clients table (`None` when the
/// document has neither `AUTHLIB_OAUTH_CLIENTS` nor `oauth_clients`).
pub(crate) fn parse(text: &str, format: Format, path: &Path) -> Result<Option<ClientsTable>, SettingsError> {
    // Editors on Windows like to start UTF-8 files with a byte-order mark; neither parser
    // accepts one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => parse_json(text, path),
        Format::Toml => parse_toml(text, path),
    }
}

fn parse_json(text: &str, path: &Path) -> Result<Option<ClientsTable>, SettingsError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let line = Some(e.line()).filter(|l| *l > 0);
        // serde_json counts the column in bytes; report characters, as for TOML.
        let column = line.and_then(|l| char_column(text, l, e.column())).or(Some(e.column())).filter(|c| *c > 0);
        // serde_json appends " at line L column C"; the position is kept separately.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(idx) => full.get(..idx).unwrap_or_default(),
            None => full.as_str(),
        };
        SettingsError::Syntax {
            path: path.to_owned(),
            format: Format::Json,
            line,
            column,
            description: safe_description(message, text),
        }
    })?;
    let Value::Object(mut top) = doc else {
        return Err(shape(path, "", "a JSON object at the top level"));
    };
    let Some(key) = pick_clients_key(top.keys().map(String::as_str), path)? else {
        return Ok(None);
    };
    match top.remove(key) {
        Some(Value::Object(clients)) => Ok(Some(ClientsTable { key, clients })),
        _ => Err(shape(path, key, "an object mapping client names to client settings")),
    }
}

fn parse_toml(text: &str, path: &Path) -> Result<Option<ClientsTable>, SettingsError> {
    let mut top: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let (line, column) = e.span().and_then(|s| line_column(text, s.start)).unzip();
        SettingsError::Syntax {
            path: path.to_owned(),
            format: Format::Toml,
            line,
            column,
            // `message()` is the parser's description alone; `Display` would quote the line.
            description: safe_description(e.message(), text),
        }
    })?;
    let Some(key) = pick_clients_key(top.keys().map(String::as_str), path)? else {
        return Ok(None);
    };
    match top.remove(key) {
        Some(toml::Value::Table(table)) => {
            let mut clients = Map::new();
            for (name, value) in table {
                let here = format!("{key}.{name}");
                let json = toml_to_json(value, &here, 0).map_err(|(at, expected)| shape(path, &at, expected))?;
                clients.insert(name, json);
            }
            Ok(Some(ClientsTable { key, clients }))
        }
        _ => Err(shape(path, key, "a table mapping client names to client settings")),
    }
}

/// Finds which of `AUTHLIB_OAUTH_CLIENTS` / `oauth_clients` the document uses.
///
/// Other top-level keys are ignored (a Django settings module has many), except near
/// misses that differ only in case: those are almost certainly typos that would
/// otherwise silently load no clients at all.
fn pick_clients_key<'a>(
    keys: impl Iterator<Item = &'a str>,
    path: &Path,
) -> Result<Option<&'static str>, SettingsError> {
    let (mut main, mut alias) = (false, false);
    for k in keys {
        if k == CLIENTS_KEY {
            main = true;
        } else if k == CLIENTS_KEY_ALIAS {
            alias = true;
        } else if k.eq_ignore_ascii_case(CLIENTS_KEY) || k.eq_ignore_ascii_case(CLIENTS_KEY_ALIAS) {
            return Err(shape(path, k, "`AUTHLIB_OAUTH_CLIENTS` or `oauth_clients` (the names are case-sensitive)"));
        }
    }
    match (main, alias) {
        (true, true) => Err(SettingsError::DuplicateClientsKey { path: path.to_owned() }),
        (true, false) => Ok(Some(CLIENTS_KEY)),
        (false, true) => Ok(Some(CLIENTS_KEY_ALIAS)),
        (false, false) => Ok(None),
    }
}

/// Deeper than any client setting needs; bounds the recursion of [`toml_to_json`].
const MAX_DEPTH: usize = 32;

/// Converts a TOML value to the JSON shape `ClientConfig::from_value` reads. On failure,
/// returns the key path and what was expected there.
fn toml_to_json(value: toml::Value, here: &str, depth: usize) -> Result<Value, (String, &'static str)> {
    if depth > MAX_DEPTH {
        return Err((here.to_owned(), "a value nested less deeply"));
    }
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| (here.to_owned(), "a finite number"))?
        }
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(_) => {
            return Err((here.to_owned(), "a string, number, boolean, array or table (not a TOML date or time)"))
        }
        toml::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(v, &format!("{here}[{i}]"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| {
                    let at = format!("{here}.{k}");
                    toml_to_json(v, &at, depth + 1).map(|v| (k, v))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn shape(path: &Path, key_path: &str, expected: &str) -> SettingsError {
    SettingsError::Shape { path: path.to_owned(), key_path: key_path.to_owned(), expected: expected.to_owned() }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> Option<(usize, usize)> {
    let before = text.get(..at)?;
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..)?.chars().count() + 1;
    Some((line, column))
}

/// Converts serde_json's 1-based line and byte count within it to a count of characters.
fn char_column(text: &str, line: usize, byte_column: usize) -> Option<usize> {
    let line_text = text.split('\n').nth(line.checked_sub(1)?)?;
    Some(line_text.get(..byte_column)?.chars().count())
}

/// Shortest run of characters that counts as quoting the input.
const QUOTE_WINDOW: usize = 6;

/// The parser's description, if it does not quote the input.
///
/// Both parsers' messages are fixed texts ("trailing comma", "string values must be
/// quoted"); `toml`'s `Display` adds the offending line, which is why only `message()`
/// is used. As a second line of defence, a description that shares any run of
/// [`QUOTE_WINDOW`] characters with the input is replaced by a generic one: the input may
/// hold a secret, and a less helpful message is the safe failure.
fn safe_description(message: &str, input: &str) -> String {
    let message = message.trim().replace('\n', "; ");
    let chars: Vec<char> = message.chars().collect();
    let quotes_input = chars.windows(QUOTE_WINDOW).any(|w| input.contains(&w.iter().collect::<String>()));
    if message.is_empty() || quotes_input {
        "the parser cannot read the text here".to_owned()
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        assert_eq!(line_column("ab\ncé d", 7), Some((2, 4)));
        assert_eq!(line_column("abc", 0), Some((1, 1)));
        assert_eq!(line_column("é", 1), None);
        assert_eq!(line_column("abc", 10), None);
    }

    #[test]
    fn json_column_is_counted_in_characters() {
        let err = parse("{\"é\": \"ü\",\n \"ä\": ,}", Format::Json, Path::new("s.json")).err();
        assert!(matches!(err, Some(SettingsError::Syntax { line: Some(2), column: Some(7), .. })), "{err:?}");
        assert_eq!(char_column("aé", 1, 3), Some(2));
        assert_eq!(char_column("aé", 1, 2), None);
        assert_eq!(char_column("a", 0, 1), None);
    }

    #[test]
    fn description_that_quotes_the_input_is_replaced() {
        assert_eq!(safe_description("trailing comma", "{\"a\": [1,]}"), "trailing comma");
        let d = safe_description("invalid value `hunter2-secret`", "x = hunter2-secret");
        assert!(!d.contains("hunter2"));
        assert_eq!(d, "the parser cannot read the text here");
    }

    #[test]
    fn format_is_chosen_by_extension() {
        assert_eq!(Format::from_path(Path::new("a/settings.toml")), Some(Format::Toml));
        assert_eq!(Format::from_path(Path::new("settings.JSON")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("settings.py")), None);
        assert_eq!(Format::from_path(Path::new("settings")), None);
        assert_eq!(Format::from_path(Path::new("")), None);
    }
}
