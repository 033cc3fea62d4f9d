//! axum glue for rpkit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cookie;
mod session;

pub use crate::cookie::{CookieKey, CookieSession, CookieSessionLayer, CookieSessionService};
pub use crate::session::{AuthSession, SessionError};
