//! OAuth 1.0a: the request-token and access-token responses
//! (`oauth1::parse_request_token_response` / `parse_access_token_response`, input read as
//! an HTTP response), the callback query (`oauth1::validate_callback`) against a pending
//! authorization whose request token the input may or may not carry, and signing
//! (`oauth1::sign_request`, every method and placement) of a request whose URI and form
//! body come from the input, checked against the recomputed base string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::oauth1::{
    parse_access_token_response, parse_request_token_response, sign_request, signature_base_string, validate_callback,
    Credentials, OAuth1Error, PendingOAuth1, Placement, SignatureMethod,
};
use rpkit::rand::SeededRandom;
use rpkit::secret::TokenSecret;
use rpkit::Error;
use rpkit_fuzz::{CLIENT_ID, CLIENT_NAME, CLIENT_SECRET, NOW, RSA_PEM};

const REQUEST_TOKEN: &str = "hh5s93j4hdidpola";

fuzz_target!(|data: &[u8]| {
    let response = rpkit_fuzz::response(data);
    if let Ok(rt) = parse_request_token_response(&response) {
        assert!(!rt.token.is_empty() && !rt.secret.secret().is_empty());
        // `Debug` shows neither value: it is the same whatever they are.
        let other = rpkit::oauth1::RequestToken { token: "t".into(), secret: TokenSecret::new("s") };
        assert_eq!(format!("{rt:?}"), format!("{other:?}"));
    }
    if let Ok(token) = parse_access_token_response(&response) {
        assert!(!token.token.secret().is_empty() && !token.extra.contains_key("oauth_token"));
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(serde_json::from_str::<rpkit::oauth1::OAuth1Token>(&json).unwrap(), token);
    }
    if let Some(text) = rpkit_fuzz::text(data) {
        callback(text);
        sign(text);
    }
});

fn callback(query: &str) {
    let pending = PendingOAuth1 {
        client: CLIENT_NAME.into(),
        request_token: REQUEST_TOKEN.into(),
        request_token_secret: TokenSecret::new("hdhd0244k9j7ao03"),
        created_at: NOW.minus(30),
    };
    let mut session = rpkit::oauth1::PendingOAuth1Set::new();
    session.insert(pending, 8);
    match validate_callback(query, &mut session, NOW, 600) {
        Ok((_, verifier)) => {
            assert!(session.is_empty(), "a matched entry is used up");
            assert!(!verifier.secret().is_empty());
            let tokens: Vec<_> = url::form_urlencoded::parse(query.strip_prefix('?').unwrap_or(query).as_bytes())
                .filter(|(k, _)| k == "oauth_token")
                .collect();
            assert_eq!(tokens.len(), 1);
            assert_eq!(tokens[0].1, REQUEST_TOKEN);
        }
        Err(Error::OAuth1(
            OAuth1Error::TokenMismatch | OAuth1Error::MissingToken | OAuth1Error::MissingVerifier | OAuth1Error::Denied,
        ))
        | Err(Error::BadRequest { .. }) => {}
        Err(other) => panic!("unexpected callback error: {other:?}"),
    }
}

fn sign(text: &str) {
    let (uri, body) = text.split_once('\n').unwrap_or((text, ""));
    let creds = Credentials::new(CLIENT_ID).client_secret(CLIENT_SECRET).rsa_key(RSA_PEM).token("tok", "tok-secret");
    for method in [SignatureMethod::HmacSha1, SignatureMethod::RsaSha1, SignatureMethod::Plaintext] {
        for placement in [Placement::Header, Placement::Query, Placement::Body] {
            let Ok(mut req) = http::Request::post(uri.trim())
                .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.as_bytes().to_vec())
            else {
                return;
            };
            let before = req.clone();
            match sign_request(&mut req, &creds, method, placement, &SeededRandom::new(1), NOW) {
                Ok(()) => {
                    if method == SignatureMethod::Plaintext {
                        assert!(uri.trim().to_ascii_lowercase().starts_with("https:"));
                    }
                    let _ = signature_base_string(&req, &[]);
                }
                Err(_) => {
                    assert_eq!(req.uri(), before.uri());
                    assert_eq!(req.body(), before.body());
                }
            }
        }
    }
}
