//! A development OpenID Provider on loopback, usable as a library.
//!
//! `rpkit-conformance` plays the *other side of the wire* for rpkit: a small but complete
//! OpenID Provider that a test, the demo app or a conformance case starts in-process on
//! `127.0.0.1` with a free port. It does not depend on `rpkit`, so tests that use it
//! check rpkit against an independent implementation of the protocol.
//!
//! ```text
//!   test / demo                         DevProvider (axum on 127.0.0.1:PORT)
//!   ───────────                         ───────────────────────────────────
//!   RP ── GET  /.well-known/openid-configuration ──▶  metadata (RFC 8414 / OIDC Discovery)
//!   RP ── GET  /jwks ───────────────────────────────▶  RS256 + ES256 + EdDSA public keys
//!   browser ── GET /authorize ──────────────────────▶  login form (no password)
//!   browser ── POST /authorize ─────────────────────▶  302 redirect_uri?code&state&iss
//!   RP ── POST /token ──────────────────────────────▶  access, refresh and ID tokens
//!   RP ── GET|POST /userinfo ───────────────────────▶  claims by scope
//!   RP ── POST /par (client auth, request object) ──▶  201 request_uri (RFC 9126, 9101)
//!   browser ── GET /end_session ────────────────────▶  302 post_logout_redirect_uri?state
//!   RP ◀── POST backchannel_logout_uri (logout_token) ── provider
//! ```
//!
//! Every endpoint can be made to misbehave at runtime through a [`Behavior`] (wrong
//! `iss`, unsigned ID tokens, a token endpoint that hangs, …) so RP tests can show
//! that each check rejects what it should; [`Counters`] count requests per endpoint so
//! caching and single-flight tests can assert "exactly one JWKS fetch".
//!
//! # Example
//! ```
//! use rpkit_conformance::{ClientRegistration, DevProvider, DevUser, Endpoint};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let op = DevProvider::builder()
//!     .client(
//!         ClientRegistration::confidential("demo-client", "demo-secret")
//!             .redirect_uri("http://127.0.0.1:8000/auth/dev/callback"),
//!     )
//!     .user(DevUser::new("alice").email("alice@example.com"))
//!     .start()
//!     .await?;
//! let meta = op.metadata();
//! assert_eq!(meta["issuer"], op.issuer());
//! assert_eq!(meta["token_endpoint"], op.endpoint_url(Endpoint::Token));
//!
//! // Switch a misbehaviour on for the next requests.
//! op.behavior().update(|b| b.metadata_issuer = Some("https://evil.example".into()));
//! assert_eq!(op.metadata()["issuer"], "https://evil.example");
//! op.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//! This is a test tool. It listens only on loopback, logs anyone in as any registered
//! user without a password and sends back-channel logout tokens only to loopback
//! `http` URIs. Never expose it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod behavior;
pub mod cases;
mod endpoints;
mod error;
mod issue;
mod keys;
pub mod oauth1;
mod provider;
mod registration;
mod respond;
mod state;
mod util;

pub use behavior::{Behavior, BehaviorHandle, Endpoint, EndpointDelay, SigningAlg};
pub use endpoints::device::DeviceUser;
pub use endpoints::dpop::DpopProofRecord;
pub use endpoints::logout::BackchannelDelivery;
pub use endpoints::par::{ParBehavior, ParRecord};
pub use error::DevProviderError;
pub use issue::BACKCHANNEL_LOGOUT_EVENT;
pub use oauth1::Oauth1Consumer;
pub use provider::{DevProvider, DevProviderBuilder, RunningProvider, SessionInfo};
pub use registration::{AuthMethod, ClientRegistration, DevUser};
pub use respond::HUGE_BODY_BYTES;
pub use state::{Counters, TokenRequestRecord};

/// The README's examples, compiled (and run) as doctests of this crate, which depends on
/// every crate they use.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
