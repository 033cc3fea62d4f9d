//! JWT claims as a JSON map with typed accessors.
//!
//! Custom claims need no type aliases: read them with [`Claims::get`] or deserialize the
//! whole map into your own struct with [`Claims::deserialize_into`].

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// A set of claims (ID token, UserInfo, logout token), kept as the provider sent them.
///
/// Claims returned by [`IdTokenValidator`](crate::id_token::IdTokenValidator) keep the
/// validated JSON text and build the JSON map only when it is first needed ([`get`](Self::get),
/// [`as_map`](Self::as_map), …); the typed accessors of the registered claims (`sub`,
/// `iss`, `exp`, …) read the text directly. Either way the values are the ones the map
/// holds (for a duplicated member, the last one, as RFC 7519 §4 allows).
///
/// ```
/// use rpkit::claims::Claims;
/// let c = Claims::from_json(r#"{"sub":"248289761001","email":"j@example.com","aud":["a","b"]}"#).unwrap();
/// assert_eq!(c.sub(), Some("248289761001"));
/// assert_eq!(c.email(), Some("j@example.com"));
/// assert_eq!(c.audiences(), Some(vec!["a", "b"]));
/// ```
#[derive(Clone, Default)]
pub struct Claims {
    /// The map, built on first use when `source` is set.
    map: OnceLock<Map<String, Value>>,
    /// The JSON object text the claims came from, with the registered claims located.
    source: Option<Box<Source>>,
}

/// Validated JSON object text and where its registered claims are.
#[derive(Clone)]
struct Source {
    text: String,
    found: [Found; Claim::COUNT],
}

/// Where one registered claim is in [`Source::text`], as far as the typed accessors need.
#[derive(Clone, Copy)]
enum Found {
    Absent,
    /// A string without escapes: its bytes in the text.
    Span(u32, u32),
    /// A number that reads as a `NumericDate`.
    Time(u64),
    Bool(bool),
    /// Anything else: read it from the map.
    InMap,
}

macro_rules! names {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// The claims [`ClaimsView`] and the typed accessors know by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Claim {
            $($variant),*
        }

        impl Claim {
            const COUNT: usize = [$(Claim::$variant),*].len();

            fn of(key: &str) -> Option<Claim> {
                match key {
                    $($name => Some(Claim::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Claim::$variant => $name,)*
                }
            }
        }
    };
}

names! {
    Iss = "iss", Sub = "sub", Aud = "aud", Azp = "azp", Exp = "exp", Iat = "iat", Nbf = "nbf",
    AuthTime = "auth_time", Nonce = "nonce", AtHash = "at_hash", CHash = "c_hash", Events = "events",
    Sid = "sid", Jti = "jti", Acr = "acr", Tid = "tid", Email = "email", EmailVerified = "email_verified",
    FullName = "name", GivenName = "given_name", FamilyName = "family_name",
    PreferredUsername = "preferred_username", Picture = "picture", Locale = "locale",
}

macro_rules! str_claims {
    ($($(#[$doc:meta])* $name:ident = $variant:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> Option<&str> {
                self.str_of(Claim::$variant)
            }
        )*
    };
}

impl Claims {
    /// Wraps a JSON object.
    pub fn new(map: Map<String, Value>) -> Self {
        Claims { map: OnceLock::from(map), source: None }
    }

    /// Parses a JSON object.
    ///
    /// # Errors
    /// When the text is not a JSON object.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Parses `text` as a JSON object into a [`ClaimsView`], runs `check` on it and, when it
    /// passes, returns claims that keep `text` and build their map only when asked.
    ///
    /// `text` is accepted exactly when `serde_json` would parse it into a map, so the map
    /// built later is the one an eager parse would have given.
    pub(crate) fn parse_checked<E>(
        text: String,
        not_an_object: impl FnOnce() -> E,
        check: impl FnOnce(&ClaimsView<'_>) -> Result<(), E>,
    ) -> Result<Claims, E> {
        let found = {
            let view = match ClaimsView::walk(&text) {
                Some(view) => view,
                None => serde_json::from_str(&text).map_err(|_| not_an_object())?,
            };
            check(&view)?;
            view.locate(&text)
        };
        Ok(Claims { map: OnceLock::new(), source: Some(Box::new(Source { text, found })) })
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// A string claim.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match Claim::of(name) {
            Some(known) => self.str_of(known),
            None => self.get(name).and_then(Value::as_str),
        }
    }

    /// A `NumericDate` claim (integer seconds; a fractional value is truncated).
    pub fn get_time(&self, name: &str) -> Option<u64> {
        match Claim::of(name) {
            Some(known) => self.time_of(known),
            None => self.get(name).and_then(numeric_date),
        }
    }

    /// The whole map.
    pub fn as_map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| match &self.source {
            // Cannot fail: `parse_checked` accepted the text with the same parser.
            Some(source) => serde_json::from_str(&source.text).unwrap_or_default(),
            None => Map::new(),
        })
    }

    /// The whole map, owned.
    pub fn into_map(mut self) -> Map<String, Value> {
        self.as_map();
        self.map.take().unwrap_or_default()
    }

    /// Deserializes the claims into a type of your own.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.as_map().clone()))
    }

    /// Where a registered claim is, when the claims were parsed from text.
    fn found(&self, name: Claim) -> Option<(Found, &str)> {
        let source = self.source.as_deref()?;
        source.found.get(name as usize).map(|f| (*f, source.text.as_str()))
    }

    fn str_of(&self, name: Claim) -> Option<&str> {
        match self.found(name) {
            Some((Found::Span(start, end), text)) => text.get(start as usize..end as usize),
            Some((Found::Absent | Found::Time(_) | Found::Bool(_), _)) => None,
            Some((Found::InMap, _)) | None => self.as_map().get(name.as_str()).and_then(Value::as_str),
        }
    }

    fn time_of(&self, name: Claim) -> Option<u64> {
        match self.found(name) {
            Some((Found::Time(t), _)) => Some(t),
            Some((Found::Absent | Found::Span(..) | Found::Bool(_), _)) => None,
            Some((Found::InMap, _)) | None => self.as_map().get(name.as_str()).and_then(numeric_date),
        }
    }

    str_claims! {
        /// `iss`.
        iss = Iss,
        /// `sub`.
        sub = Sub,
        /// `azp`.
        azp = Azp,
        /// `nonce`.
        nonce = Nonce,
        /// `sid` (session id).
        sid = Sid,
        /// `jti`.
        jti = Jti,
        /// `at_hash`.
        at_hash = AtHash,
        /// `c_hash`.
        c_hash = CHash,
        /// `acr`.
        acr = Acr,
        /// `email`.
        email = Email,
        /// `name`.
        name = FullName,
        /// `given_name`.
        given_name = GivenName,
        /// `family_name`.
        family_name = FamilyName,
        /// `preferred_username`.
        preferred_username = PreferredUsername,
        /// `picture`.
        picture = Picture,
        /// `locale`.
        locale = Locale,
    }

    /// `email_verified`.
    pub fn email_verified(&self) -> Option<bool> {
        match self.found(Claim::EmailVerified) {
            Some((Found::Bool(b), _)) => Some(b),
            Some((Found::Absent | Found::Span(..) | Found::Time(_), _)) => None,
            Some((Found::InMap, _)) | None => self.as_map().get("email_verified").and_then(Value::as_bool),
        }
    }

    /// `exp`.
    pub fn exp(&self) -> Option<u64> {
        self.time_of(Claim::Exp)
    }

    /// `iat`.
    pub fn iat(&self) -> Option<u64> {
        self.time_of(Claim::Iat)
    }

    /// `nbf`.
    pub fn nbf(&self) -> Option<u64> {
        self.time_of(Claim::Nbf)
    }

    /// `auth_time`.
    pub fn auth_time(&self) -> Option<u64> {
        self.time_of(Claim::AuthTime)
    }

    /// `aud` as a list (a single string is a list of one); `None` when absent or malformed.
    pub fn audiences(&self) -> Option<Vec<&str>> {
        match self.found(Claim::Aud) {
            Some((Found::Span(..), _)) => self.str_of(Claim::Aud).map(|aud| vec![aud]),
            Some((Found::Absent | Found::Time(_) | Found::Bool(_), _)) => None,
            Some((Found::InMap, _)) | None => match self.as_map().get("aud")? {
                Value::String(s) => Some(vec![s.as_str()]),
                Value::Array(items) => items.iter().map(Value::as_str).collect(),
                _ => None,
            },
        }
    }
}

/// A JSON number read as a `NumericDate`: integer seconds, a fraction truncated.
fn numeric_date(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().and_then(float_date))
}

fn float_date(f: f64) -> Option<u64> {
    (f >= 0.0 && f.is_finite()).then_some(f as u64)
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(self.as_map()).finish()
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.as_map() == other.as_map()
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Claims::new)
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Self {
        Claims::new(map)
    }
}

/// A registered claim's value as [`ClaimsView`] keeps it: what the checks need, borrowed
/// from the JSON text when it has no escapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member<'a> {
    /// Not in the object.
    Absent,
    /// A string.
    Str(Cow<'a, str>),
    /// A number, with its `NumericDate` reading (`None`: negative).
    Number(Option<u64>),
    /// `true` or `false`.
    Bool(bool),
    /// An array of strings only (possibly empty).
    StrList(Vec<Cow<'a, str>>),
    /// `null`, an object, or an array holding something other than strings.
    Other,
}

impl Member<'_> {
    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, Member::Absent)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Member::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_time(&self) -> Option<u64> {
        match self {
            Member::Number(t) => *t,
            _ => None,
        }
    }
}

/// The registered claims of a JSON object, parsed without building the map: what the
/// validators check. Parsing walks every member exactly as `serde_json` builds a map (same
/// syntax, string, number and nesting-depth rules, the last of duplicated members wins),
/// so it accepts exactly the texts the map accepts.
pub(crate) struct ClaimsView<'a> {
    members: [Member<'a>; Claim::COUNT],
}

impl<'a> ClaimsView<'a> {
    pub(crate) fn get(&self, name: Claim) -> &Member<'a> {
        self.members.get(name as usize).unwrap_or(&Member::Absent)
    }

    /// The view of `text` through the fast walk ([`crate::jsonscan`]); `None` when the
    /// walk is not sure, and `serde_json` must decide. Where it answers, the view is the
    /// one `serde_json` gives (a property test compares them).
    fn walk(text: &'a str) -> Option<Self> {
        use crate::jsonscan::{array_strings, walk_object, Value};
        let mut view = ClaimsView { members: std::array::from_fn(|_| Member::Absent) };
        walk_object(text, |name, value| {
            if let Some(slot) = Claim::of(name).and_then(|c| view.members.get_mut(c as usize)) {
                *slot = match value {
                    Value::Str(s) => Member::Str(Cow::Borrowed(s)),
                    Value::UInt(n) => Member::Number(Some(n)),
                    Value::Bool(b) => Member::Bool(b),
                    Value::Array { raw, strings_only: true } => {
                        Member::StrList(array_strings(raw).map(Cow::Borrowed).collect())
                    }
                    Value::Null | Value::Object | Value::Array { .. } => Member::Other,
                };
            }
            Some(())
        })?;
        Some(view)
    }

    /// Where each member is in `text` (the text this view was parsed from).
    fn locate(&self, text: &str) -> [Found; Claim::COUNT] {
        let base = text.as_ptr() as usize;
        let mut found = [Found::InMap; Claim::COUNT];
        for (slot, member) in found.iter_mut().zip(&self.members) {
            *slot = match member {
                Member::Absent => Found::Absent,
                Member::Number(Some(t)) => Found::Time(*t),
                Member::Bool(b) => Found::Bool(*b),
                Member::Str(Cow::Borrowed(s)) => {
                    let start = (s.as_ptr() as usize).wrapping_sub(base);
                    let end = start.wrapping_add(s.len());
                    let inside = text.get(start..end).is_some_and(|t| t.as_ptr() == s.as_ptr());
                    match (u32::try_from(start), u32::try_from(end)) {
                        (Ok(start), Ok(end)) if inside => Found::Span(start, end),
                        _ => Found::InMap,
                    }
                }
                Member::Str(Cow::Owned(_)) | Member::Number(None) | Member::StrList(_) | Member::Other => Found::InMap,
            };
        }
        found
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ClaimsView<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = ClaimsView<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut view = ClaimsView { members: std::array::from_fn(|_| Member::Absent) };
                while let Some(Key(name)) = map.next_key()? {
                    match name.and_then(|n| view.members.get_mut(n as usize)) {
                        Some(slot) => *slot = map.next_value()?,
                        None => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(view)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A member name, recognised without allocating.
struct Key(Option<Claim>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(Key(Claim::of(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                Ok(Member::Bool(b))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Member::Number(Some(n)))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Member::Number(u64::try_from(n).ok()))
            }

            fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
                Ok(Member::Number(float_date(f)))
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Member::Str(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Member::Str(Cow::Owned(s.to_owned())))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Member::Other)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut strings = Some(Vec::new());
                while let Some(item) = seq.next_element::<Member<'de>>()? {
                    match (item, &mut strings) {
                        (Member::Str(s), Some(list)) => list.push(s),
                        _ => strings = None,
                    }
                }
                Ok(strings.map_or(Member::Other, Member::StrList))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                SkipVisitor.visit_map(map).map(|Skip| Member::Other)
            }
        }
        deserializer.deserialize_any(MemberVisitor)
    }
}

/// Any JSON value, walked the way `serde_json::Value` is built and kept nowhere.
struct Skip;

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
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

    /// Claims as the validators return them: parsed through the view, map built lazily.
    fn lazy(text: &str) -> Result<Claims, ()> {
        Claims::parse_checked(text.to_owned(), || (), |_| Ok(()))
    }

    /// Every accessor of `lazy` agrees with the same accessor on an eagerly built map.
    #[track_caller]
    fn assert_same_as_eager(text: &str) {
        let eager = Claims::from_json(text).unwrap();
        let lazy = lazy(text).unwrap();
        assert_eq!(lazy.iss(), eager.iss());
        assert_eq!(lazy.sub(), eager.sub());
        assert_eq!(lazy.azp(), eager.azp());
        assert_eq!(lazy.nonce(), eager.nonce());
        assert_eq!(lazy.name(), eager.name());
        assert_eq!(lazy.email_verified(), eager.email_verified());
        assert_eq!(lazy.exp(), eager.exp());
        assert_eq!(lazy.iat(), eager.iat());
        assert_eq!(lazy.nbf(), eager.nbf());
        assert_eq!(lazy.audiences(), eager.audiences());
        assert_eq!(lazy.get_str("sid"), eager.get_str("sid"));
        assert_eq!(lazy.get_time("auth_time"), eager.get_time("auth_time"));
        assert_eq!(lazy.get_str("custom"), eager.get_str("custom"));
        assert_eq!(lazy.as_map(), eager.as_map());
        assert_eq!(lazy, eager);
        assert_eq!(lazy.clone().into_map(), eager.into_map());
    }

    #[test]
    fn lazy_claims_read_like_eager_ones() {
        assert_same_as_eager(
            r#"{"iss":"https://op.example","sub":"248289761001","aud":["a","b"],"exp":1700000300,
            "iat":1700000000.9,"nbf":-5,"name":"J\u00e9r\u00f4me","email_verified":true,
            "azp":null,"nonce":7,"sid":"s","auth_time":17e8,"custom":"x"}"#,
        );
        assert_same_as_eager(r#"{"sub":["x"],"exp":"soon","aud":[1],"iat":true,"email_verified":"yes"}"#);
        assert_same_as_eager(r#"{"aud":"client","nbf":null,"iss":{"a":[1,{"b":null}]}}"#);
        assert_same_as_eager("{}");
    }

    #[test]
    fn duplicated_claims_keep_the_last_value_in_the_view_and_the_map() {
        let text = r#"{"sub":"first","iss":"a","sub":"last","exp":1,"exp":"late","aud":"x","aud":["y"]}"#;
        assert_same_as_eager(text);
        let c = lazy(text).unwrap();
        assert_eq!(c.sub(), Some("last"));
        assert_eq!(c.exp(), None);
        assert_eq!(c.audiences(), Some(vec!["y"]));
    }

    #[test]
    fn escaped_member_names_are_the_names_they_spell() {
        let text = r#"{"\u0073ub":"escaped-name","iss":"plain"}"#;
        assert_same_as_eager(text);
        assert_eq!(lazy(text).unwrap().sub(), Some("escaped-name"));
    }

    #[test]
    fn the_view_rejects_exactly_what_the_map_rejects() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for bad in [
            r#"{"x":"\ud800"}"#,   // lone surrogate, in an ignored member
            r#"{"sub":"\ud800"}"#, // and in a registered one
            r#"{"\udc00":1}"#,     // in a member name
            r#"{"x":1e400}"#,      // number out of range
            r#"{"x":[1,]}"#,
            r#"{"x":1} trailing"#,
            "{\"x\":\"a\u{1}b\"}", // control character in a string
            "[1]",
            "null",
            "\"sub\"",
            &deep,
        ] {
            assert!(Claims::from_json(bad).is_err(), "{bad}");
            assert!(lazy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_failed_check_returns_its_error() {
        let r = Claims::parse_checked(
            r#"{"sub":"x"}"#.to_owned(),
            || "json",
            |view| {
                assert_eq!(view.get(Claim::Sub).as_str(), Some("x"));
                Err("check")
            },
        );
        assert_eq!(r.unwrap_err(), "check");
    }

    #[test]
    fn default_and_wrapped_claims_behave_as_maps() {
        assert!(Claims::default().as_map().is_empty());
        assert_eq!(Claims::default().sub(), None);
        let mut m = Map::new();
        m.insert("sub".into(), Value::String("x".into()));
        assert_eq!(Claims::from(m.clone()).sub(), Some("x"));
        assert_eq!(Claims::new(m.clone()).into_map(), m);
    }

    #[test]
    fn lazy_claims_serialize_and_deserialize_as_a_plain_object() {
        let c = lazy(r#"{"sub":"x","aud":["a"]}"#).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"sub":"x","aud":["a"]}"#);
        let back: Claims = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(format!("{c:?}"), format!("{:?}", Claims::from_json(&json).unwrap()));
    }

    #[test]
    fn typical_claims_take_the_fast_walk() {
        let text = r#"{"iss":"https://op.example","sub":"248289761001","aud":"client-1","exp":1700086400,
            "iat":1699999990,"auth_time":1699999900,"nonce":"n-0S6_WzA2Mj","azp":"client-1",
            "amr":["pwd","mfa"],"email_verified":true,"groups":["a","b"],"address":{"country":"NL"}}"#;
        let walked = ClaimsView::walk(text).unwrap();
        let parsed: ClaimsView<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(walked.members, parsed.members);
        assert_eq!(walked.get(Claim::Sub).as_str(), Some("248289761001"));
        // An escape is left to serde_json, which decodes it.
        assert!(ClaimsView::walk(r#"{"sub":"\u0061"}"#).is_none());
        assert_eq!(lazy(r#"{"sub":"\u0061"}"#).unwrap().sub(), Some("a"));
    }

    proptest::proptest! {
        #[test]
        fn the_view_accepts_what_the_map_accepts(text in r#"\{("(sub|aud|exp|x|\\u0073ub)":(-?[0-9]{1,3}(\.[0-9])?(e[0-9]{1,3})?|"[a-z\\]{0,4}"|\[("[a-z]"|1|null)?\]|null|true|\{\}),?){0,4}\}"#) {
            let eager = Claims::from_json(&text);
            let lazy = lazy(&text);
            proptest::prop_assert_eq!(eager.is_ok(), lazy.is_ok());
            if let (Ok(eager), Ok(lazy)) = (eager, lazy) {
                proptest::prop_assert_eq!(lazy.sub(), eager.sub());
                proptest::prop_assert_eq!(lazy.exp(), eager.exp());
                proptest::prop_assert_eq!(lazy.audiences(), eager.audiences());
                proptest::prop_assert_eq!(lazy.as_map(), eager.as_map());
            }
        }

        #[test]
        fn the_walked_view_is_the_serde_view(text in r#"\{ ?("(sub|aud|exp|iat|nbf|email_verified|x|\\u0073ub)" ?: ?(-?[0-9]{1,3}(\.[0-9])?(e[0-9]{1,3})?|"[a-z\\]{0,4}"|\[ ?("[a-z]{0,2}"|1|null|\[\]) ?(, ?"[a-z]")?\]|null|true|false|\{"a":\[\]\}),?){0,5}\} ?"#) {
            if let Some(walked) = ClaimsView::walk(&text) {
                let parsed = serde_json::from_str::<ClaimsView<'_>>(&text);
                proptest::prop_assert!(parsed.is_ok(), "walked what serde_json rejects: {}", text);
                if let Ok(parsed) = parsed {
                    proptest::prop_assert_eq!(&walked.members[..], &parsed.members[..]);
                }
            }
        }

        #[test]
        fn the_view_never_panics(text in "\\PC{0,64}") {
            let _ = lazy(&text).map(|c| (c.sub().map(str::len), c.as_map().len()));
        }
    }
}
