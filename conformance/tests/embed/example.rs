use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::login::{LoginStep, Provider, Verify};
use rpkit::rand::SystemRandom;
use rpkit::{Error, Token, UnixTime};

/// Your HTTP stack: sends one request, returns the whole response (no redirects
/// followed, a timeout and a size limit: see `rpkit::wire::MAX_RESPONSE_BYTES`).
trait Http {
    async fn send(&mut self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;
}

/// Step 1 (the "log in" link): discover the provider if needed, build the authorization
/// URL. Redirect the browser to the URL; keep the `PendingSet` in the user's session.
async fn start_login(
    provider: &mut Provider,
    http: &mut impl Http,
    redirect_uri: &str,
    now: UnixTime,
) -> Result<(String, PendingSet), Error> {
    if let Some(request) = provider.poll_discovery(now)? {
        let response = http.send(request).await;
        provider.handle_discovery_response(&response, now)?;
    }
    let (url, pending) = provider.authorization_url([("redirect_uri", redirect_uri)], &SystemRandom::new(), now)?;
    let mut session = PendingSet::new();
    session.insert(pending, PendingSet::max_for(provider.config()));
    Ok((url.to_string(), session))
}

/// Step 2 (the callback): every check of the response, the code exchange, the ID token
/// (fetching the provider's keys when the core asks for them).
async fn finish_login(
    provider: &mut Provider,
    http: &mut impl Http,
    session: &mut PendingSet,
    callback_query: &str,
    now: UnixTime,
) -> Result<Token, Error> {
    let params = CallbackParams::from_query(callback_query)?;
    let exchange = provider.handle_callback(&params, session, &SystemRandom::new(), now)?;
    let response = http.send(exchange.request).await;
    let check = match exchange.next.handle_token_response(provider, &response, now)? {
        LoginStep::Done(token) => return Ok(token), // plain OAuth 2.0
        LoginStep::VerifyIdToken(check) => check,
    };
    let mut step = check.poll(&mut provider.keys, now)?;
    loop {
        match step {
            Verify::Done(token) => return Ok(token), // ID token claims in `token.userinfo`
            Verify::Fetch(fetch) => {
                let response = http.send(fetch.request).await;
                step = fetch.next.handle_keys_response(&mut provider.keys, &response, now)?;
            }
        }
    }
}
