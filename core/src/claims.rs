//! JWT claims as a JSON map with typed accessors.
//!
//! Custom claims need no type aliases: read them with [`Claims::get`] or deserialize the
//! whole map into your own struct with [`Claims::deserialize_into`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A set of claims (ID token, UserInfo, logout token), kept as the provider sent them.
///
/// ```
/// use rpkit::claims::Claims;
/// let c = Claims::from_json(r#"{"sub":"248289761001","email":"j@example.com","aud":["a","b"]}"#).unwrap();
/// assert_eq!(c.sub(), Some("248289761001"));
/// assert_eq!(c.email(), Some("j@example.com"));
/// assert_eq!(c.audiences(), Some(vec!["a", "b"]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Claims(Map<String, Value>);

macro_rules! str_claims {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> Option<&str> {
                self.get_str(stringify!($name))
            }
        )*
    };
}

impl Claims {
    /// Wraps a JSON object.
    pub fn new(map: Map<String, Value>) -> Self {
        Claims(map)
    }

    /// Parses a JSON object.
    ///
    /// # Errors
    /// When the text is not a JSON object.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A `NumericDate` claim (integer seconds; a fractional value is truncated).
    pub fn get_time(&self, name: &str) -> Option<u64> {
        let v = self.0.get(name)?;
        v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.is_finite()).map(|f| f as u64))
    }

    /// The whole map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The whole map, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// Deserializes the claims into a type of your own.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.0.clone()))
    }

    str_claims! {
        /// `iss`.
        iss,
        /// `sub`.
        sub,
        /// `azp`.
        azp,
        /// `nonce`.
        nonce,
        /// `sid` (session id).
        sid,
        /// `jti`.
        jti,
        /// `at_hash`.
        at_hash,
        /// `c_hash`.
        c_hash,
        /// `acr`.
        acr,
        /// `email`.
        email,
        /// `name`.
        name,
        /// `given_name`.
        given_name,
        /// `family_name`.
        family_name,
        /// `preferred_username`.
        preferred_username,
        /// `picture`.
        picture,
        /// `locale`.
        locale,
    }

    /// `email_verified`.
    pub fn email_verified(&self) -> Option<bool> {
        self.0.get("email_verified").and_then(Value::as_bool)
    }

    /// `exp`.
    pub fn exp(&self) -> Option<u64> {
        self.get_time("exp")
    }

    /// `iat`.
    pub fn iat(&self) -> Option<u64> {
        self.get_time("iat")
    }

    /// `nbf`.
    pub fn nbf(&self) -> Option<u64> {
        self.get_time("nbf")
    }

    /// `auth_time`.
    pub fn auth_time(&self) -> Option<u64> {
        self.get_time("auth_time")
    }

    /// `aud` as a list (a single string is a list of one); `None` when absent or malformed.
    pub fn audiences(&self) -> Option<Vec<&str>> {
        match self.0.get("aud")? {
            Value::String(s) => Some(vec![s.as_str()]),
            Value::Array(items) => items.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Self {
        Claims(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_ignore_claims_of_the_wrong_type() {
        let c = Claims::from_json(r#"{"sub":5,"exp":"soon","aud":[1]}"#).unwrap();
        assert_eq!(c.sub(), None);
        assert_eq!(c.exp(), None);
        assert_eq!(c.audiences(), None);
    }

    #[test]
    fn numeric_dates_accept_fractions() {
        let c = Claims::from_json(r#"{"iat":1700000000.7}"#).unwrap();
        assert_eq!(c.iat(), Some(1_700_000_000));
    }

    #[test]
    fn custom_claims_deserialize_into_user_types() {
        #[derive(serde::Deserialize)]
        struct Mine {
            groups: Vec<String>,
        }
        let c = Claims::from_json(r#"{"groups":["admin"]}"#).unwrap();
        let m: Mine = c.deserialize_into().unwrap();
        assert_eq!(m.groups, ["admin"]);
    }
}
