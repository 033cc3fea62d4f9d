//! A fast walk over the members of a small JSON object, for the hot paths that read a
//! few members (a JWS header, ID token claims).
//!
//! It knows a strict subset of JSON: strings without escapes, non-negative integers of at
//! most 18 digits, `true`, `false`, `null`, and arrays and objects of those nested at most
//! [`MAX_DEPTH`] deep. For anything else — an escape, a negative or fractional number, a
//! syntax error, trailing characters — it answers `None`, meaning "not sure", and the
//! caller parses with `serde_json`, which decides. So a text the walk accepts is one
//! `serde_json` accepts too, and the walk sees the same members in it; property tests
//! compare the two on generated and mutated texts.
//!
//! Strings are searched eight bytes at a time for `"`, `\` and control characters; the
//! text is a `&str`, so every string in it is valid UTF-8 already.

/// Deeper nesting is left to `serde_json` (whose own limit is 128).
const MAX_DEPTH: usize = 32;

/// Longer integers may not fit a `u64`; `serde_json` reads them as floats.
const MAX_INT_DIGITS: usize = 18;

/// A member's value as the walk reports it.
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

/// The strings of an array the walk reported with `strings_only`.
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
    let mut walk = Walk { text, pos: 0 };
    walk.skip_ws();
    if walk.peek()? != b'{' {
        return None;
    }
    walk.object(1, &mut member)?;
    walk.skip_ws();
    (walk.pos == text.len()).then_some(())
}

struct Walk<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Walk<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// After whitespace, `byte` (consumed).
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// A string starting at `pos` (its opening quote), without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        let rest = self.text.as_bytes().get(start..)?;
        let len = find_special(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    fn uint(&mut self) -> Option<u64> {
        let rest = self.text.as_bytes().get(self.pos..)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > MAX_INT_DIGITS || (digits > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = rest.get(digits) {
            return None;
        }
        let text = self.text.get(self.pos..self.pos + digits)?;
        self.pos += digits;
        text.parse().ok()
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Option<Value<'a>> {
        let rest = self.text.get(self.pos..)?;
        rest.starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Value<'a>> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b'0'..=b'9' => self.uint().map(Value::UInt),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'[' => {
                let start = self.pos;
                let strings_only = self.array(depth + 1)?;
                Some(Value::Array { raw: self.text.get(start..self.pos)?, strings_only })
            }
            b'{' => {
                self.object(depth + 1, &mut |_, _| Some(()))?;
                Some(Value::Object)
            }
            _ => None,
        }
    }

    /// An array starting at `pos`; whether all its items are strings.
    fn array(&mut self, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(true);
        }
        let mut strings_only = true;
        loop {
            strings_only &= matches!(self.value(depth)?, Value::Str(_));
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(strings_only);
                }
                _ => return None,
            }
        }
    }

    /// An object starting at `pos`.
    fn object(&mut self, depth: usize, member: &mut dyn FnMut(&'a str, Value<'a>) -> Option<()>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            if self.peek()? != b'"' {
                return None;
            }
            let name = self.string()?;
            self.expect(b':')?;
            let value = self.value(depth)?;
            member(name, value)?;
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The index of the first `"`, `\` or control character (< 0x20) in `bytes`.
fn find_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Bytes below `n` (n ≤ 0x80) get their high bit set. Borrows can also flag bytes
    // above the first true one, never below it, so the lowest flag is exact.
    fn below(word: u64, n: u8) -> u64 {
        word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH
    }
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let flags =
            below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1) | below(word, 0x20);
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| offset + i)
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
            r#"{"a":1234567890123456789}"#,
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
                    assert_eq!(find_special(&bytes), Some(at), "len {len} at {at} byte {special}");
                }
            }
            assert_eq!(find_special(&vec![0xffu8; len]), None);
            assert_eq!(find_special(&vec![b'#'; len]), None);
            assert_eq!(find_special(&vec![b']'; len]), None);
        }
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
