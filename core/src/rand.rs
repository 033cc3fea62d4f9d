//! Randomness as an injected source.
//!
//! The core draws every random byte (state, nonce, PKCE verifier, `jti`) through
//! [`SecureRandom`]. Production code uses [`SystemRandom`] (the operating system's CSPRNG
//! through `ring`); tests use [`SeededRandom`] so that URLs and assertions repeat.

use crate::error::Error;
use ring::digest;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of cryptographically secure random bytes (as rustls' `SecureRandom`).
pub trait SecureRandom: Send + Sync {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`Error::Random`] when the source failed; callers must not fall back to anything weaker.
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's CSPRNG, through `ring::rand::SystemRandom`.
///
/// ```
/// use rpkit::rand::{SecureRandom, SystemRandom};
/// let mut buf = [0u8; 16];
/// SystemRandom::new().fill(&mut buf).unwrap();
/// ```
#[derive(Clone)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl SystemRandom {
    /// A handle to the system CSPRNG.
    pub fn new() -> Self {
        SystemRandom(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SystemRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SystemRandom")
    }
}

impl SecureRandom for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        ring::rand::SecureRandom::fill(&self.0, dest).map_err(|_| Error::Random)
    }
}

/// A deterministic generator for tests: SHA-256 over `seed || counter`.
///
/// **Never use it outside tests**: anyone who knows the seed knows every state and nonce.
///
/// ```
/// use rpkit::rand::{SecureRandom, SeededRandom};
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// let (mut x, mut y) = ([0u8; 40], [0u8; 40]);
/// a.fill(&mut x).unwrap();
/// b.fill(&mut y).unwrap();
/// assert_eq!(x, y);
/// ```
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: AtomicU64,
}

impl SeededRandom {
    /// A generator whose output depends only on `seed` and the number of bytes drawn so far.
    pub fn new(seed: u64) -> Self {
        SeededRandom { seed, counter: AtomicU64::new(0) }
    }
}

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        for chunk in dest.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut input = [0u8; 16];
            input[..8].copy_from_slice(&self.seed.to_be_bytes());
            input[8..].copy_from_slice(&n.to_be_bytes());
            let block = digest::digest(&digest::SHA256, &input);
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for &R {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for std::sync::Arc<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for Box<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}

/// `n_bytes` random bytes, base64url-encoded without padding (URL-safe, RFC 4648 §5).
///
/// 16 bytes give the 128 bits DESIGN §3 asks of `state` and `nonce`.
///
/// # Errors
/// [`Error::Random`] when the source failed.
pub fn random_token(rng: &dyn SecureRandom, n_bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; n_bytes];
    rng.fill(&mut buf)?;
    Ok(crate::jose::b64::encode(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_differs_by_seed_and_by_draw() {
        let a = SeededRandom::new(1);
        let b = SeededRandom::new(2);
        let (mut x1, mut x2, mut y) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        a.fill(&mut x1).unwrap();
        a.fill(&mut x2).unwrap();
        b.fill(&mut y).unwrap();
        assert_ne!(x1, x2);
        assert_ne!(x1, y);
    }

    #[test]
    fn system_random_fills_buffers() {
        let r = SystemRandom::new();
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        r.fill(&mut x).unwrap();
        r.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn random_token_is_url_safe_and_long_enough() {
        let t = random_token(&SeededRandom::new(3), 16).unwrap();
        assert_eq!(t.len(), 22);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
