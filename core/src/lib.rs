//! # rpkit — the relying-party kit, sans-IO core
//!
//! This crate contains no networking code and reads no clock: it builds
//! `http::Request`s, consumes `http::Response`s, and takes the current time (`now`) and a
//! random source as parameters. The caller — an HTTP adapter, the async
//! [`client`](https://docs.rs/rpkit) layer, or your own stack — moves the bytes.
//!
//! ```text
//!   your code / rpkit::client                            provider (OP / AS)
//!   ─────────────────────────                            ──────────────────
//!   authorize::AuthorizationRequest::build(rng, now) ─► URL ─► browser ─► authorization endpoint
//!            │ PendingAuthorization (serde) → PendingSet in the session
//!   callback::CallbackParams::from_query | from_form_body ◄─ browser ◄─ redirect: code, state, iss
//!   callback::validate_callback(params, pending, now)  → code + the pending entry, or an error
//!   token::exchange_request ──────────► http::Request ──► token endpoint
//!   token::parse_token_response(now) ◄─ http::Response ◄──
//!   id_token::IdTokenValidator::validate(jwks, now) → claims | "unknown kid: refetch the JWKS once"
//!   discovery / jwks / userinfo / resource / logout ─► http::Request ──► the other endpoints
//!
//!   par::push_request → request_uri ─► URL            pushed authorization (RFC 9126)
//!   jar::request_object(key, now)   → `request`       signed request objects (RFC 9101)
//!   dpop::DpopKey::proof(htm, htu, now, rng)          sender-constrained tokens (RFC 9449)
//!   device::device_authorization_request → DevicePoll device grant (RFC 8628)
//!   registration::registration_request → RegisteredClient   (RFC 7591/7592)
//!   revocation::revocation_request | introspection_request   (RFC 7009/7662)
//! ```
//!
//! Every step is a pure function or a small state value: feed it input and `now`, get a
//! value, an error, or the next request to send. Tests drive it with an in-memory
//! provider and a fixed clock.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authorize;
pub mod backchannel;
pub mod callback;
pub mod claims;
#[cfg(feature = "client")]
pub mod client;
pub mod client_auth;
pub mod config;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod id_token;
pub mod jar;
pub mod jose;
mod jsonscan;
pub mod jwks;
mod jwt;
pub mod login;
pub mod logout;
pub mod oauth1;
pub mod par;
pub mod pending;
pub mod providers;
pub mod rand;
pub mod resource;
pub mod revocation;
pub mod secret;
pub mod time;
pub mod token;
pub mod userinfo;
pub mod wire;
// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
pub mod device;
pub mod registration;

pub use claims::Claims;
pub use config::ClientConfig;
pub use error::{Error, ProviderError, StateError};
pub use time::UnixTime;
pub use token::Token;
