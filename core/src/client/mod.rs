//! The async client: drives the sans-IO core over an [`HttpClient`] and a [`Clock`].
//!
//! Enabled by the default `client` feature; `--no-default-features` leaves only the
//! sans-IO layer (no async-trait, no async code at all).

mod transport;

pub use self::transport::{Clock, HttpClient, ManualClock, SystemClock, TransportError};
