//! Fast, strict reading of the small JSON objects on rpkit's hot paths (JWS headers, ID
//! token claims, token responses), in front of `serde_json`.
//!
//! [`Scanner`] is the shared lexer: whitespace, literals, the extent of a string (found 16
//! bytes at a time), of a number and of a nested value. Two readers sit on it:
//!
//! - [`walk_object`] reports the members of an object whose values are all in a strict
//!   subset of JSON (strings without escapes, non-negative integers of at most 19 digits,
//!   `true`, `false`, `null`, and arrays and objects of those nested at most [`MAX_DEPTH`]
//!   deep) — used for headers and claims;
//! - the token response's reader (`token::scan`) hands any other value's text to
//!   `serde_json`.
//!
//! Neither ever rejects anything: for a text outside what they know they answer `None`,
//! meaning "not sure", and the caller parses the whole text with `serde_json`, which
//! decides (acceptance, error variants and messages stay `serde_json`'s). So what a reader
//! accepts, `serde_json` accepts too, with the same members; property tests compare them
//! on generated, mutated and arbitrary text. The text is a `&str`, so every string in it is
//! valid UTF-8 already.

use std::borrow::Cow;

/// Deeper nesting is left to `serde_json` (whose own limit is 128, counted from the
/// outermost value: far below it, a slice parses as it would inside the whole text).
pub(crate) const MAX_DEPTH: usize = 32;

/// The longest integer taken as a `u64` here (19 digits cannot overflow); longer ones are
/// `serde_json`'s to read (as floats).
const MAX_INT_DIGITS: usize = 19;

/// A member's value as [`walk_object`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    /// A string without escapes: its text, borrowed.
    Str(&'a str),
    /// A non-negative integer.
    UInt(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array (its text from `[` to `]`), and whether every item is a string.
    Array { raw: &'a str, strings_only: bool },
    /// An object.
    Object,
}

/// The strings of an array [`walk_object`] reported with `strings_only`.
///
/// Its strings hold no `"` (no escapes), so the text between quotes alternates between
/// separators and items.
pub(crate) fn array_strings(raw: &str) -> impl Iterator<Item = &str> {
    raw.split('"').skip(1).step_by(2)
}

/// Walks the JSON object `text`, calling `member` with each member's name and value in
/// order (duplicates included). `None` when `text` is outside the subset the walk knows
/// (or is not JSON), or when `member` returns `None`.
pub(crate) fn walk_object<'a>(text: &'a str, mut member: impl FnMut(&'a str, Value<'a>) -> Option<()>) -> Option<()> {
    let mut s = Scanner::new(text);
    s.skip_ws();
    if s.peek()? != b'{' {
        return None;
    }
    object(&mut s, 1, &mut member)?;
    s.at_end().then_some(())
}

fn value<'a>(s: &mut Scanner<'a>, depth: usize) -> Option<Value<'a>> {
    s.skip_ws();
    match s.peek()? {
        b'"' => s.plain_string().map(Value::Str),
        b'0'..=b'9' => plain_u64(s.number()).map(Value::UInt),
        b't' => s.literal("true").map(|()| Value::Bool(true)),
        b'f' => s.literal("false").map(|()| Value::Bool(false)),
        b'n' => s.literal("null").map(|()| Value::Null),
        b'[' => {
            let start = s.pos;
            let strings_only = array(s, depth + 1)?;
            Some(Value::Array { raw: s.text.get(start..s.pos)?, strings_only })
        }
        b'{' => {
            object(s, depth + 1, &mut |_, _| Some(()))?;
            Some(Value::Object)
        }
        _ => None,
    }
}

/// An array starting at `pos`; whether all its items are strings.
fn array(s: &mut Scanner<'_>, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    s.pos += 1;
    s.skip_ws();
    if s.eat(b']').is_some() {
        return Some(true);
    }
    let mut strings_only = true;
    loop {
        strings_only &= matches!(value(s, depth)?, Value::Str(_));
        s.skip_ws();
        match s.peek()? {
            b',' => s.pos += 1,
            b']' => {
                s.pos += 1;
                return Some(strings_only);
            }
            _ => return None,
        }
    }
}

/// An object starting at `pos`.
fn object<'a>(
    s: &mut Scanner<'a>,
    depth: usize,
    member: &mut dyn FnMut(&'a str, Value<'a>) -> Option<()>,
) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    s.pos += 1;
    s.skip_ws();
    if s.eat(b'}').is_some() {
        return Some(());
    }
    loop {
        s.skip_ws();
        let name = s.plain_string()?;
        s.skip_ws();
        s.eat(b':')?;
        let value = value(s, depth)?;
        member(name, value)?;
        s.skip_ws();
        match s.peek()? {
            b',' => s.pos += 1,
            b'}' => {
                s.pos += 1;
                return Some(());
            }
            _ => return None,
        }
    }
}

/// The lexer both readers share: a position in a text, moved forward only.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    /// Always at a character boundary of `text` (it only steps over ASCII bytes, or to
    /// the position just after an ASCII delimiter).
    pub(crate) pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    /// The bytes from the current position on.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// `byte`, consumed, if it is next.
    pub(crate) fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// JSON whitespace only (RFC 8259 §2), as `serde_json` skips it.
    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.text.len()
    }

    pub(crate) fn literal(&mut self, word: &str) -> Option<()> {
        self.rest().starts_with(word.as_bytes()).then(|| self.pos += word.len())
    }

    /// The string whose opening `"` is at `pos`: its text between the quotes (escapes
    /// left as they are) and whether it has escapes. `None` for a control character
    /// (invalid in a JSON string) or no closing quote. The escapes themselves are not
    /// checked: a caller that takes an escaped string has `serde_json` decode it.
    pub(crate) fn raw_string(&mut self) -> Option<(&'a str, bool)> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i += plain_len(bytes.get(i..)?);
            match *bytes.get(i)? {
                b'"' => {
                    self.pos = i + 1;
                    return Some((self.text.get(start..i)?, escaped));
                }
                // Stepping over the escaped character keeps an escaped `"` or `\` from
                // ending the string here.
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes at `pos`, borrowed; `None` for any other string.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        match self.raw_string()? {
            (text, false) => Some(text),
            (_, true) => None,
        }
    }

    /// The string at `pos`, borrowed when it has no escapes; escapes (and their errors:
    /// lone surrogates, unknown escapes) are `serde_json`'s to decode.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        match self.raw_string()? {
            (text, false) => Some(Cow::Borrowed(text)),
            (_, true) => serde_json::from_str::<String>(self.text.get(start..self.pos)?).ok().map(Cow::Owned),
        }
    }

    /// The text of the number-like run at `pos` (digits, sign, point, exponent): only its
    /// extent; [`plain_u64`] or `serde_json` read it.
    pub(crate) fn number(&mut self) -> &'a str {
        let start = self.pos;
        let run =
            self.rest().iter().take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')).count();
        self.pos += run;
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// The text of the array or object starting at `pos`, skipping over strings; `None`
    /// past `max_depth` levels or at the end of the text. Only the extent is found here:
    /// the caller has `serde_json` check the slice.
    pub(crate) fn nested(&mut self, max_depth: usize) -> Option<&'a str> {
        let start = self.pos;
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max_depth {
                        return None;
                    }
                    self.pos += 1;
                }
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    self.pos += 1;
                    if depth == 0 {
                        return self.text.get(start..self.pos);
                    }
                }
                b'"' => {
                    self.raw_string()?;
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// Digits only, no leading zero, at most [`MAX_INT_DIGITS`] of them: the one number form
/// whose value is taken here (`serde_json` gives the same `u64`).
pub(crate) fn plain_u64(number: &str) -> Option<u64> {
    let bytes = number.as_bytes();
    let plain = !bytes.is_empty()
        && bytes.len() <= MAX_INT_DIGITS
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes.len() == 1 || bytes.first() != Some(&b'0'));
    plain.then(|| bytes.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// How many leading bytes are neither `"`, `\` nor a control character: 16 at a time (a
/// loop the compiler turns into vector compares), then 8 at a time to find which.
fn plain_len(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(16);
    let mut done = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(0u8, |any, &b| any | u8::from(stop(b))) != 0 {
            let (low, high) = chunk.split_at(8);
            let low = stop_mask(u64::from_le_bytes(low.try_into().unwrap_or([0; 8])));
            let high = stop_mask(u64::from_le_bytes(high.try_into().unwrap_or([0; 8])));
            let first = if low != 0 { low.trailing_zeros() } else { 64 + high.trailing_zeros() };
            return done + (first / 8) as usize;
        }
        done += 16;
    }
    // Member names and most values are short: one more word at a time before bytes.
    let mut words = chunks.remainder().chunks_exact(8);
    for word in &mut words {
        let mask = stop_mask(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
        if mask != 0 {
            return done + (mask.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    let rest = words.remainder();
    done + rest.iter().position(|&b| stop(b)).unwrap_or(rest.len())
}

fn stop(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b & 0xe0 == 0)
}

/// The high bit of each byte of `word` (little-endian) that is `"`, `\` or below 0x20 is
/// set in the lowest such byte; bytes above it may be flagged too (borrows), so only the
/// lowest set bit is meaningful.
fn stop_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word & HIGH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The members the walk reports, or `None`.
    fn members(text: &str) -> Option<Vec<(&str, Value<'_>)>> {
        let mut out = Vec::new();
        walk_object(text, |k, v| {
            out.push((k, v));
            Some(())
        })?;
        Some(out)
    }

    /// The same members as `serde_json` reads them (as `Value`s for comparison).
    fn serde_members(text: &str) -> Option<Vec<(String, serde_json::Value)>> {
        struct Members(Vec<(String, serde_json::Value)>);
        impl<'de> serde::Deserialize<'de> for Members {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Members;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                        let mut out = Vec::new();
                        while let Some(entry) = map.next_entry()? {
                            out.push(entry);
                        }
                        Ok(Members(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
        serde_json::from_str::<Members>(text).ok().map(|m| m.0)
    }

    /// Whenever the walk answers, `serde_json` accepts the text and sees the same members.
    fn assert_agrees(text: &str) -> Result<(), TestCaseError> {
        if let Some(ours) = members(text) {
            let theirs = serde_members(text);
            prop_assert!(theirs.is_some(), "walk accepted what serde_json rejects: {text:?}");
            let theirs = theirs.unwrap_or_default();
            prop_assert_eq!(ours.len(), theirs.len());
            for ((name, value), (their_name, their_value)) in ours.iter().zip(&theirs) {
                prop_assert_eq!(*name, their_name.as_str());
                let same = match (value, their_value) {
                    (Value::Str(s), serde_json::Value::String(t)) => s == t,
                    (Value::UInt(n), serde_json::Value::Number(t)) => t.as_u64() == Some(*n),
                    (Value::Bool(b), serde_json::Value::Bool(t)) => b == t,
                    (Value::Null, serde_json::Value::Null) => true,
                    (Value::Object, serde_json::Value::Object(_)) => true,
                    (Value::Array { raw, strings_only }, serde_json::Value::Array(items)) => {
                        let all = items.iter().all(serde_json::Value::is_string);
                        let listed = strings_only.then(|| array_strings(raw).collect::<Vec<_>>());
                        let theirs =
                            all.then(|| items.iter().filter_map(serde_json::Value::as_str).collect::<Vec<_>>());
                        *strings_only == all && listed == theirs
                    }
                    _ => false,
                };
                prop_assert!(same, "{name}: {value:?} vs {their_value:?} in {text:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn walks_a_typical_header_and_claims() {
        let m = members(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#).unwrap();
        assert_eq!(m, [("alg", Value::Str("RS256")), ("kid", Value::Str("k1")), ("typ", Value::Str("JWT"))]);
        let m = members(
            " {\"aud\" : [\"a\", \"b\"],\n\"exp\":1700000000,\t\"v\":true,\"n\":null,\"o\":{\"x\":[[],{}]},\"e\":[]}\r\n",
        )
        .unwrap();
        assert_eq!(m[0], ("aud", Value::Array { raw: r#"["a", "b"]"#, strings_only: true }));
        assert_eq!(array_strings(r#"["a", "b"]"#).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m[1], ("exp", Value::UInt(1_700_000_000)));
        assert_eq!(m[2], ("v", Value::Bool(true)));
        assert_eq!(m[3], ("n", Value::Null));
        assert_eq!(m[4], ("o", Value::Object));
        assert_eq!(m[5], ("e", Value::Array { raw: "[]", strings_only: true }));
        assert_eq!(array_strings("[]").count(), 0);
        assert_eq!(members("{}").unwrap(), []);
    }

    #[test]
    fn leaves_everything_outside_its_subset_to_serde() {
        for text in [
            r#"{"a":"\u00e9"}"#,
            r#"{"a\n":1}"#,
            r#"{"a":-1}"#,
            r#"{"a":-0}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":1E3}"#,
            r#"{"a":01}"#,
            r#"{"a":12345678901234567890}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1} x"#,
            r#"{"a":1}}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":nul"#,
            r#"{"a":"#,
            r#"{"a":"x"#,
            r#"["a"]"#,
            r#""a""#,
            "",
            "{\u{c}}",
        ] {
            assert_eq!(members(text), None, "{text:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(members(&deep), None);
        let deep_enough = format!("{{\"a\":{}{}}}", "[".repeat(30), "]".repeat(30));
        assert!(members(&deep_enough).is_some());
    }

    #[test]
    fn finds_the_first_special_byte_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0u8, 0x1f] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    // A later special byte, and bytes just around the borders of the classes.
                    if at + 2 < len {
                        bytes[at + 2] = b'"';
                    }
                    if at > 0 {
                        bytes[at - 1] = if at % 2 == 0 { 0x20 } else { 0x21 };
                    }
                    assert_eq!(plain_len(&bytes), at, "len {len} at {at} byte {special}");
                }
            }
            assert_eq!(plain_len(&vec![0xffu8; len]), len);
            assert_eq!(plain_len(&vec![b'#'; len]), len);
            assert_eq!(plain_len(&vec![b']'; len]), len);
        }
    }

    #[test]
    fn the_lexer_measures_strings_numbers_and_nested_values() {
        let mut s = Scanner::new(r#""a\"b" -1.5e3 [1,{"x":"]"}] tail"#);
        assert_eq!(s.raw_string(), Some((r#"a\"b"#, true)));
        s.skip_ws();
        assert_eq!(s.number(), "-1.5e3");
        s.skip_ws();
        assert_eq!(s.nested(MAX_DEPTH), Some(r#"[1,{"x":"]"}]"#));
        assert!(!s.at_end());
        assert_eq!(Scanner::new(r#""\u00e9""#).string().as_deref(), Some("\u{e9}"));
        assert_eq!(Scanner::new(r#""\ud800""#).string(), None, "a lone surrogate is serde_json's to refuse");
        assert_eq!(Scanner::new("[[[]]]").nested(2), None);
        assert_eq!(Scanner::new("[[").nested(9), None);
        assert_eq!(plain_u64("9999999999999999999"), Some(9_999_999_999_999_999_999));
        assert_eq!(plain_u64("01"), None);
        assert_eq!(plain_u64(""), None);
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<u64>().prop_map(|n| serde_json::json!(n)),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| serde_json::json!(f)),
            "[a-z\"\\\\\u{e9}\u{1}\n ]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::vec(("[a-z]{0,3}", inner), 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = String> {
        proptest::collection::vec(("(aud|exp|sub|[a-z]{1,3})", json_value()), 0..8).prop_map(|members| {
            // Built by hand so that duplicates survive.
            let body: Vec<String> = members.iter().map(|(k, v)| format!("{}:{}", serde_json::json!(k), v)).collect();
            format!("{{{}}}", body.join(","))
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_on_generated_objects(text in json_object()) {
            assert_agrees(&text)?;
        }

        #[test]
        fn agrees_with_serde_on_mutated_objects(
            text in json_object(),
            at in any::<proptest::sample::Index>(),
            insert in "[ \\[\\]{}:,\"\\\\0-9.eE+tfnul\u{1}\t-]{0,3}",
            cut in 0usize..3,
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len() + 1);
            let end = (i + cut).min(chars.len());
            chars.splice(i..end, insert.chars());
            let text: String = chars.into_iter().collect();
            assert_agrees(&text)?;
        }

        #[test]
        fn agrees_with_serde_on_any_text(text in "\\PC{0,64}") {
            assert_agrees(&text)?;
        }

        #[test]
        fn agrees_with_serde_on_json_like_text(text in "[ \\[\\]{}:,\"a0-9.e-]{0,40}") {
            assert_agrees(&text)?;
        }
    }
}
