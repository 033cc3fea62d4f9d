//! # rpkit-actix — log users in with OAuth 2.0 / OpenID Connect in an actix-web app
//!
//! The glue between [`rpkit::client`] and actix-web, named as in Authlib's Django client:
//!
//! | step | function | answers |
//! |---|---|---|
//! | start a login | [`authorize_redirect`] | `302` to the provider |
//! | the callback (`GET` query or `form_post`) | [`authorize_access_token`] / [`complete_login`] | the [`Token`](rpkit::Token) / the [`AuthUser`] in the session |
//! | who is logged in | [`CurrentUser`] extractor | `401` when nobody |
//! | log out | [`logout_redirect`], then [`validate_logout_response`] | `302` to the end-session endpoint |
//! | back-channel logout | [`backchannel_logout`] + [`BackchannelResponse`] | `200` / `400`, `no-store` |
//!
//! What must survive between the redirect and the callback — the
//! [`PendingSet`](rpkit::authorize::PendingSet) with `state`, `nonce` and PKCE verifier —
//! the pending logouts and the logged-in user live in the
//! [actix-session](https://docs.rs/actix-session) [`Session`](actix_session::Session) as
//! plain serde data, so every store works unchanged: `CookieSessionStore` (the session,
//! encrypted, in the cookie), `RedisSessionStore` (the cookie holds only an id) or your
//! own. [`session_middleware`] sets the middleware up with safe cookie attributes.
//!
//! Errors become responses by themselves ([`AuthError`] is an actix `ResponseError`):
//! bad input from the browser or the provider → `400 {"error":"<code>"}`; the provider
//! down, timing out or answering 5xx → `502`; nothing is half-stored on failure — the
//! session gets the user only after every check passed, and the pending authorization is
//! consumed either way.
//!
//! ```no_run
//! use actix_session::storage::CookieSessionStore;
//! use actix_session::Session;
//! use actix_web::cookie::Key;
//! use actix_web::http::header::LOCATION;
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use rpkit::client::{AuthorizeOptions, OAuth};
//! use rpkit_actix::{authorize_redirect, complete_login, AuthError, Callback, CurrentUser, Revocations};
//!
//! async fn login(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session)
//!     -> Result<HttpResponse, AuthError> {
//!     let client = oauth.create_client(&name)?;
//!     let redirect_uri = format!("https://app.example/auth/{name}/callback");
//!     authorize_redirect(&session, &client, &AuthorizeOptions::redirect_uri(redirect_uri)).await
//! }
//!
//! async fn callback(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session, cb: Callback)
//!     -> Result<HttpResponse, AuthError> {
//!     let client = oauth.create_client(&name)?;
//!     complete_login(&session, &client, &cb).await?;
//!     Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish())
//! }
//!
//! async fn me(CurrentUser(user): CurrentUser) -> HttpResponse {
//!     HttpResponse::Ok().json(serde_json::json!({ "sub": user.sub(), "email": user.email() }))
//! }
//!
//! # async fn run(oauth: OAuth) -> std::io::Result<()> {
//! let oauth = web::Data::new(oauth);
//! let revocations = web::Data::new(Revocations::new());
//! let key = Key::generate(); // a fixed key from configuration in production
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(oauth.clone())
//!         .app_data(revocations.clone())
//!         .wrap(rpkit_actix::session_middleware(CookieSessionStore::default(), key.clone(), true))
//!         .route("/login/{name}", web::get().to(login))
//!         .route("/auth/{name}/callback", web::route().to(callback))
//!         .route("/me", web::get().to(me))
//! })
//! .bind("127.0.0.1:8000")?
//! .run()
//! .await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod flow;
mod session;
mod user;

pub use crate::error::{AuthError, SessionError};
pub use crate::flow::{
    authorize_access_token, authorize_redirect, backchannel_logout, complete_login, form_post_relay, login,
    logout_redirect, redirect_to_provider, update_token, validate_logout_response, BackchannelResponse, Callback,
};
pub use crate::session::{session_middleware, DEFAULT_COOKIE_NAME};
pub use crate::user::CurrentUser;
pub use rpkit::client::web::{
    escape_html, AuthUser, Revocations, DEFAULT_MAX_REVOCATIONS, DEFAULT_REVOCATION_TTL_SECS, LOGOUT_KEY, PENDING_KEY,
    RELAY_FIELD, USER_KEY,
};
