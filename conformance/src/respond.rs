//! Response helpers shared by the endpoints, and the transport faults of [`Behavior`].
//!
//! [`Behavior`]: crate::Behavior

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use http::{HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::behavior::Endpoint;
use crate::state::Shared;
use crate::util::html_escape;

/// Size of the body sent by the `huge_body` fault.
pub const HUGE_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Build a response; header values built here are always valid.
pub(crate) fn response(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON response that must not be cached (RFC 6749 §5.1).
pub(crate) fn json_no_store(status: StatusCode, value: &Value) -> Response {
    let mut r = response(status, "application/json", value.to_string());
    no_store(&mut r);
    r
}

/// Add `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn no_store(r: &mut Response) {
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An RFC 6749 §5.2 error body.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_no_store(status, &json!({ "error": error, "error_description": description }))
}

/// A redirect (`302 Found`) to `location`; an unusable location becomes a 500 page.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = response(StatusCode::FOUND, "text/plain; charset=utf-8", "");
            r.headers_mut().insert(LOCATION, v);
            r
        }
        Err(_) => html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Bad redirect",
            "<p>The redirect location is not a valid header value.</p>",
        ),
    }
}

/// A minimal HTML page; `body_html` must already be escaped.
pub(crate) fn html_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t} — rpkit dev provider</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         button{{margin:.25rem 0;padding:.4rem .8rem}}code{{background:#eee;padding:0 .2rem}}</style>\
         </head><body><h1>{t}</h1>\n{body_html}\n</body></html>\n",
        t = html_escape(title)
    );
    let mut r = response(status, "text/html; charset=utf-8", page);
    no_store(&mut r);
    r
}

/// An error page shown to the user instead of redirecting to an unverified client.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    html_page(status, "Request rejected", &format!("<p>{}</p>", html_escape(message)))
}

/// Count the request and apply the transport faults aimed at `endpoint`. `Some` is the
/// faulty response to send instead of the real one.
pub(crate) async fn faults(shared: &Shared, endpoint: Endpoint) -> Option<Response> {
    shared.counters.hit(endpoint);
    let b = shared.behavior.get();
    if let Some(delay) = b.delay.filter(|d| d.endpoint == endpoint) {
        tokio::time::sleep(Duration::from_millis(delay.millis)).await;
    }
    if b.html_500 == Some(endpoint) {
        return Some(html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "<p>Something went wrong (on purpose: <code>html_500</code>).</p>",
        ));
    }
    if b.huge_body == Some(endpoint) {
        let mut body = String::with_capacity(HUGE_BODY_BYTES + 32);
        body.push_str("{\"padding\":\"");
        body.extend(std::iter::repeat('a').take(HUGE_BODY_BYTES));
        body.push_str("\"}");
        return Some(response(StatusCode::OK, "application/json", body));
    }
    None
}
