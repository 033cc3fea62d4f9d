//! # rpkit-actix — log users in with OAuth 2.0 / OpenID Connect in an actix-web app
//!
//! The glue between [`rpkit::client`] and actix-web, named as in Authlib's Django client:
//!
//! | step | function | answers |
//! |---|---|---|
//! | start a login | [`authorize_redirect`] | `302` to the provider |
//! | the callback (`GET` query or `form_post`) | [`authorize_access_token`] / [`complete_login`] | the [`Token`](rpkit::Token) / the [`AuthUser`] in the session |
//! | who is logged in | [`CurrentUser`] extractor | `401` when nobody |
//! | log out (`POST` form with [`csrf_token`]) | [`LogoutForm`] + [`logout_redirect`], then [`validate_logout_response`] | `302` to the end-session endpoint; `403` without the token |
//! | back-channel logout | [`backchannel_logout`] + [`BackchannelResponse`] | `200` / `400`, `no-store` |
//!
//! What must survive between the redirect and the callback — the
//! [`PendingSet`](rpkit::authorize::PendingSet) with `state`, `nonce` and PKCE verifier —
//! the pending logouts and the logged-in user live in the
//! [actix-session](https://docs.rs/actix-session) [`Session`](actix_session::Session) as
//! plain serde data, so every store works unchanged. [`session_middleware`] sets the
//! middleware up with safe cookie attributes (`__Host-` behind `https`).
//!
//! **Use a server-side store** — `RedisSessionStore` for several instances, this crate's
//! [`MemorySessionStore`] for one — where logout matters: the cookie holds only an id and
//! logout deletes the session for every copy of the cookie. `CookieSessionStore` keeps
//! the whole session in the cookie, so a logout cannot revoke it before it expires: a
//! copied cookie keeps the login. Back-channel logouts ([`Revocations`]) are checked on
//! every request whatever the store.
//!
//! Every step is the one of [`rpkit::client::web`] of the same name (shared with
//! `rpkit-axum`); this crate only reads the session, converts the types and writes back
//! the edit the step returns.
//!
//! Errors become responses by themselves ([`AuthError`] is an actix `ResponseError`), by
//! the one table of [`Fault`]: the browser's bad input → `400 {"error":"<code>"}`;
//! configuration → `500`; the provider down, timing out or answering garbage → `502`; nothing is half-stored on failure — the
//! session gets the user only after every check passed, and the pending authorization is
//! consumed either way.
//!
//! ```no_run
//! use actix_session::Session;
//! use actix_web::cookie::Key;
//! use actix_web::http::header::LOCATION;
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use rpkit::client::web::logout_form;
//! use rpkit::client::{AuthorizeOptions, LogoutOptions, OAuth};
//! use rpkit_actix::{
//!     authorize_redirect, complete_login, csrf_token, logout_redirect, AuthError, Callback, CurrentUser, LogoutForm,
//!     MemorySessionStore, Revocations,
//! };
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
//! // The logout button is a POST form carrying the session's CSRF token…
//! async fn home(oauth: web::Data<OAuth>, session: Session, CurrentUser(user): CurrentUser)
//!     -> Result<HttpResponse, AuthError> {
//!     let token = csrf_token(&session, &oauth)?;
//!     Ok(HttpResponse::Ok().content_type("text/html").body(logout_form(&user.provider, &token)))
//! }
//!
//! // …which logout_redirect checks (403 otherwise); a GET is 405 and logs nobody out.
//! async fn logout(oauth: web::Data<OAuth>, name: web::Path<String>, session: Session, form: LogoutForm)
//!     -> Result<HttpResponse, AuthError> {
//!     let client = oauth.create_client(&name)?;
//!     logout_redirect(&session, &client, &form, LogoutOptions::default()).await
//! }
//!
//! # async fn run(oauth: OAuth) -> std::io::Result<()> {
//! let oauth = web::Data::new(oauth);
//! let revocations = web::Data::new(Revocations::new());
//! let key = Key::generate(); // a fixed key from configuration in production
//! let sessions = MemorySessionStore::new(); // RedisSessionStore for several instances
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(oauth.clone())
//!         .app_data(revocations.clone())
//!         .wrap(rpkit_actix::session_middleware(sessions.clone(), key.clone(), true))
//!         .route("/", web::get().to(home))
//!         .route("/login/{name}", web::get().to(login))
//!         .service(
//!             web::resource("/auth/{name}/callback").route(web::get().to(callback)).route(web::post().to(callback)),
//!         )
//!         .service(web::resource("/logout/{name}").route(web::post().to(logout)))
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
mod memory_store;
mod session;
mod user;

pub use crate::error::{AuthError, SessionError};
pub use crate::flow::{
    authorize_access_token, authorize_redirect, backchannel_logout, check_csrf, complete_login, csrf_token,
    form_post_relay, login, logout_redirect, redirect_to_provider, update_token, validate_logout_response,
    BackchannelResponse, Callback, LogoutForm,
};
pub use crate::memory_store::MemorySessionStore;
pub use crate::session::{session_middleware, DEFAULT_COOKIE_NAME, DEFAULT_COOKIE_NAME_HTTPS};
pub use crate::user::CurrentUser;
pub use rpkit::client::web::{
    escape_html, logout_form, AuthUser, Fault, Revocations, WebError, CSRF_FIELD, CSRF_KEY, DEFAULT_MAX_REVOCATIONS,
    DEFAULT_REVOCATION_TTL_SECS, LOGOUT_KEY, PENDING_KEY, RELAY_FIELD, USER_KEY,
};
