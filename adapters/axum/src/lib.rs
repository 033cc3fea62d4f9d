//! # rpkit-axum — log users in with OAuth 2.0 / OpenID Connect in an axum app
//!
//! The glue between [`rpkit::client`] and axum, named as in Authlib's Django client:
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
//! and the logged-in user live in the session, through [`AuthSession`], which works over
//! either store:
//!
//! * **[tower-sessions](https://docs.rs/tower-sessions)** (`SessionManagerLayer` with any
//!   of its stores; `MemoryStore` for one process, Redis/SQL for several);
//! * **an encrypted cookie** ([`CookieSessionLayer`], AES-256-GCM, key from
//!   configuration): no shared store, so a login started on one instance finishes on
//!   another — but a logout cannot revoke a copied cookie before its absolute lifetime
//!   ends; prefer a server-side store where that matters.
//!
//! Every step is the one of [`rpkit::client::web`] of the same name (shared with
//! `rpkit-actix`); this crate only reads the session, converts the types and writes back
//! the edit the step returns.
//!
//! Errors become responses by themselves ([`AuthError`]), by the one table of
//! [`Fault`]: the browser's bad input → `400 {"error":"<code>"}`; configuration → `500`;
//! the provider down, timing out or answering garbage → `502`; nothing is half-stored on failure — the session gets the user only after
//! every check passed, and the pending authorization is consumed either way.
//!
//! ```no_run
//! use axum::extract::{FromRef, Path, State};
//! use axum::response::{IntoResponse, Redirect, Response};
//! use axum::response::Html;
//! use axum::routing::{get, post};
//! use axum::{Json, Router};
//! use rpkit::client::{web::logout_form, AuthorizeOptions, LogoutOptions, OAuth};
//! use rpkit_axum::{
//!     authorize_redirect, complete_login, csrf_token, logout_redirect, AuthError, AuthRedirect, AuthSession, Callback,
//!     CurrentUser, LogoutForm, Revocations,
//! };
//! use tower_sessions::{cookie::SameSite, MemoryStore, SessionManagerLayer};
//!
//! #[derive(Clone, FromRef)]
//! struct AppState {
//!     oauth: OAuth,
//!     revocations: Revocations,
//! }
//!
//! async fn login(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession)
//!     -> Result<Response, AuthError> {
//!     let client = oauth.create_client(&name)?;
//!     let redirect_uri = format!("https://app.example/auth/{name}/callback");
//!     Ok(authorize_redirect(&session, &client, &AuthorizeOptions::redirect_uri(redirect_uri)).await?.into_response())
//! }
//!
//! async fn callback(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession, cb: Callback)
//!     -> Result<Redirect, AuthError> {
//!     let client = oauth.create_client(&name)?;
//!     complete_login(&session, &client, &cb).await?;
//!     Ok(Redirect::to("/"))
//! }
//!
//! async fn me(CurrentUser(user): CurrentUser) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "sub": user.sub(), "email": user.email() }))
//! }
//!
//! // The logout button is a POST form carrying the session's CSRF token…
//! async fn home(State(oauth): State<OAuth>, session: AuthSession, CurrentUser(user): CurrentUser)
//!     -> Result<Html<String>, AuthError> {
//!     let token = csrf_token(&session, &oauth).await?;
//!     Ok(Html(logout_form(&user.provider, &token)))
//! }
//!
//! // …which logout_redirect checks (403 otherwise); a GET is 405 and logs nobody out.
//! async fn logout(State(oauth): State<OAuth>, Path(name): Path<String>, session: AuthSession, form: LogoutForm)
//!     -> Result<AuthRedirect, AuthError> {
//!     logout_redirect(&session, &oauth.create_client(&name)?, &form, LogoutOptions::default()).await
//! }
//!
//! # fn app(oauth: OAuth) -> Router {
//! Router::new()
//!     .route("/", get(home))
//!     .route("/logout/{name}", post(logout))
//!     .route("/login/{name}", get(login))
//!     .route("/auth/{name}/callback", get(callback).post(callback))
//!     .route("/me", get(me))
//!     .with_state(AppState { oauth, revocations: Revocations::new() })
//!     .layer(SessionManagerLayer::new(MemoryStore::default()).with_same_site(SameSite::Lax))
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cookie_store;
mod error;
mod flow;
mod session;
mod user;

pub use crate::cookie_store::{
    CookieKey, CookieSession, CookieSessionLayer, CookieSessionService, DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_COOKIE_NAME,
    DEFAULT_MAX_AGE, DEFAULT_MAX_COOKIE_BYTES, HOST_PREFIX, KEY_LEN,
};
pub use crate::error::AuthError;
pub use crate::flow::{
    authorize_access_token, authorize_redirect, backchannel_logout, check_csrf, complete_login, csrf_token,
    form_post_relay, login, logout_redirect, update_token, validate_logout_response, AuthRedirect, BackchannelResponse,
    Callback, LogoutForm,
};
pub use crate::session::{AuthSession, SessionError};
pub use crate::user::CurrentUser;
pub use ::cookie::SameSite;
pub use rpkit::client::web::{
    escape_html, logout_form, AuthUser, Fault, Revocations, WebError, CSRF_FIELD, CSRF_KEY, DEFAULT_MAX_REVOCATIONS,
    DEFAULT_REVOCATION_TTL_SECS, LOGOUT_KEY, PENDING_KEY, RELAY_FIELD, USER_KEY,
};
