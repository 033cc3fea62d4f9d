//! base64url (RFC 4648 §5) as JOSE uses it: no padding on output; on input, padding is
//! tolerated because some providers pad JWK members.

use base64ct::{Base64UrlUnpadded, Encoding};

/// Encodes `data` as unpadded base64url.
pub fn encode(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

/// Decodes base64url, with or without trailing `=` padding.
///
/// Returns `None` for anything that is not base64url (standard-alphabet `+`/`/`, stray
/// characters, impossible lengths, non-canonical trailing bits).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.strip_suffix("==").or_else(|| text.strip_suffix('=')).unwrap_or(text);
    Base64UrlUnpadded::decode_vec(trimmed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"\xff\xfe\xfd\xfc"] {
            assert_eq!(decode(&encode(data)).unwrap(), data);
        }
    }

    #[test]
    fn padded_input_is_tolerated() {
        assert_eq!(decode("Zm8=").unwrap(), b"fo");
        assert_eq!(decode("Zg==").unwrap(), b"f");
    }

    #[test]
    fn standard_alphabet_and_garbage_are_rejected() {
        assert!(decode("+/+/").is_none());
        assert!(decode("a").is_none());
        assert!(decode("Zg===").is_none());
        assert!(decode("Z g").is_none());
    }
}
