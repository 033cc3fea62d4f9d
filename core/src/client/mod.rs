//! The async client: drives the sans-IO core over an [`HttpClient`] and a [`Clock`].
//!
//! Enabled by the default `client` feature; `--no-default-features` leaves only the
//! sans-IO layer (no async-trait, no async code at all).

mod http;

pub use self::http::{Clock, HttpClient, ManualClock, SystemClock, TransportError};
