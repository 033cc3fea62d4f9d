//! Randomness as an injected source.
//!
//! The core draws every random byte (state, nonce, PKCE verifier, `jti`) through
//! [`SecureRandom`]. Production code uses [`ThreadRandom`] (a per-thread ChaCha20
//! generator seeded from the operating system, the client layer's default) or
//! [`SystemRandom`] (one system call to the operating system's CSPRNG per draw, through
//! `ring`); tests use `SeededRandom` (only with the `test-util` feature) so that URLs and
//! assertions repeat.
//!
//! Where a repeated value is a break rather than a weakness — an AES-GCM nonce repeats
//! and the key is lost — take a [`CryptoRandom`]: only the operating-system-backed
//! sources are one.

use crate::error::Error;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
#[cfg(any(test, feature = "test-util"))]
use ring::digest;
use std::cell::RefCell;
use std::fmt;
#[cfg(any(test, feature = "test-util"))]
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

/// A per-thread ChaCha20 generator seeded from the operating system's CSPRNG: the source
/// the client layer (`OAuth::new`) uses by default.
///
/// [`SystemRandom`] costs one `getrandom` system call per draw (about 0.8 µs on a Linux
/// without the vDSO `getrandom`, several times the cost of building the rest of an
/// authorization URL). `ThreadRandom` draws from a ChaCha20 keystream in user space
/// instead (rust-random's `rand_chacha`; the same design as `rand`'s `ThreadRng`, with 20
/// rounds rather than 12):
///
/// - **Seeding**: each thread's generator is keyed with 32 bytes from [`SystemRandom`] on
///   first use, and again after every 64 KiB drawn.
/// - **Fork safety**: the generator remembers the process id it was seeded in and is
///   re-keyed from the operating system when it differs (a forked child never repeats its
///   parent's values). This costs a `getpid` per draw; `rand` ≥ 0.9 dropped this check.
///   (Like any process-id check, it misses only a descendant that inherits a generator
///   it never drew from and is then given its exited ancestor's process id.)
/// - **Backtracking resistance** ("fast key erasure"): after every draw the generator is
///   re-keyed with 32 bytes of its own output and the rest of the block is discarded, so
///   memory read later (a core dump, a leaked thread stack) does not reveal the `state`,
///   nonce or PKCE verifier already handed out.
/// - **Failure**: when the operating system's source fails, the draw fails with
///   [`Error::Random`]; nothing weaker is used. Draws larger than 4 KiB, and draws while
///   the thread is being torn down, go to [`SystemRandom`] directly.
///
/// The type is a zero-sized handle; every handle on a thread shares that thread's generator.
///
/// ```
/// use rpkit::rand::{SecureRandom, ThreadRandom};
/// let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
/// ThreadRandom::new().fill(&mut x)?;
/// ThreadRandom::new().fill(&mut y)?;
/// assert_ne!(x, y);
/// # Ok::<(), rpkit::Error>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct ThreadRandom {
    _private: (),
}

impl fmt::Debug for ThreadRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadRandom")
    }
}

impl ThreadRandom {
    /// A handle to the calling thread's generator (created on first draw).
    pub fn new() -> Self {
        ThreadRandom { _private: () }
    }
}

/// Bytes a thread's generator hands out before it is re-keyed from the operating system.
const RESEED_AFTER: usize = 64 * 1024;

/// Draws larger than this bypass the thread's generator.
const MAX_THREAD_DRAW: usize = 4096;

/// One thread's generator.
struct ThreadState {
    rng: ChaCha20Rng,
    /// The process the generator was keyed in.
    pid: u32,
    /// Bytes left before the next re-key from the operating system.
    left: usize,
}

impl ThreadState {
    fn seeded(os: &dyn SecureRandom, pid: u32) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        os.fill(&mut seed)?;
        let rng = ChaCha20Rng::from_seed(seed);
        seed.fill(0);
        Ok(ThreadState { rng, pid, left: RESEED_AFTER })
    }

    /// Fills `dest` from the generator in `slot`, (re-)keying it from `os` first when
    /// there is none, it comes from another process, or its budget is spent.
    fn fill(slot: &mut Option<ThreadState>, os: &dyn SecureRandom, dest: &mut [u8]) -> Result<(), Error> {
        let pid = std::process::id();
        let state = match slot {
            Some(state) if state.pid == pid && state.left >= dest.len() => state,
            _ => {
                // A generator that may not be used again is dropped even if re-keying fails.
                *slot = None;
                slot.insert(ThreadState::seeded(os, pid)?)
            }
        };
        state.rng.fill_bytes(dest);
        state.left -= dest.len();
        // Fast key erasure: the key that produced `dest` does not outlive this call.
        let mut key = [0u8; 32];
        state.rng.fill_bytes(&mut key);
        state.rng = ChaCha20Rng::from_seed(key);
        key.fill(0);
        Ok(())
    }
}

thread_local! {
    static THREAD_STATE: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
}

impl SecureRandom for ThreadRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        if dest.len() > MAX_THREAD_DRAW {
            return SystemRandom::new().fill(dest);
        }
        let drawn = THREAD_STATE.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => Some(ThreadState::fill(&mut slot, &SystemRandom::new(), dest)),
            Err(_) => None,
        });
        match drawn {
            Ok(Some(result)) => result,
            // The thread is being torn down (or the generator is in use further up the stack).
            _ => SystemRandom::new().fill(dest),
        }
    }
}

/// A source the operating system seeds, that never repeats its output across processes
/// or instances: [`SystemRandom`] and [`ThreadRandom`] (and `Arc`s of them), nothing
/// else. The trait is sealed.
///
/// Take it instead of [`SecureRandom`] where a deterministic source would be a break, not
/// a weakness: AES-GCM nonces (a repeated nonce under one key leaks the key stream and
/// lets anyone forge), long-lived keys. `SeededRandom` is not one:
///
/// ```compile_fail
/// fn nonces(_: impl rpkit::rand::CryptoRandom) {}
/// nonces(rpkit::rand::SeededRandom::new(1)); // does not compile
/// ```
pub trait CryptoRandom: SecureRandom + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::SystemRandom {}
    impl Sealed for super::ThreadRandom {}
    impl<R: Sealed + ?Sized> Sealed for std::sync::Arc<R> {}
}

impl CryptoRandom for SystemRandom {}
impl CryptoRandom for ThreadRandom {}
impl<R: CryptoRandom + ?Sized> CryptoRandom for std::sync::Arc<R> {}

/// A deterministic generator for tests: SHA-256 over `seed || counter`. Only with the
/// `test-util` feature (or in rpkit's own tests).
///
/// **Never use it outside tests**: anyone who knows the seed knows every state and nonce.
/// It is not a [`CryptoRandom`], so nothing that seals data accepts it.
///
/// ```
/// use rpkit::rand::{SecureRandom, SeededRandom};
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// let (mut x, mut y) = ([0u8; 40], [0u8; 40]);
/// a.fill(&mut x).unwrap();
/// b.fill(&mut y).unwrap();
/// assert_eq!(x, y);
/// ```
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: AtomicU64,
}

#[cfg(any(test, feature = "test-util"))]
impl SeededRandom {
    /// A generator whose output depends only on `seed` and the number of bytes drawn so far.
    pub fn new(seed: u64) -> Self {
        SeededRandom { seed, counter: AtomicU64::new(0) }
    }
}

#[cfg(any(test, feature = "test-util"))]
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
    fn thread_random_differs_by_draw_and_by_thread() {
        let r = ThreadRandom::new();
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        r.fill(&mut x).unwrap();
        r.fill(&mut y).unwrap();
        assert_ne!(x, y);
        let other = std::thread::spawn(|| {
            let mut z = [0u8; 32];
            ThreadRandom::new().fill(&mut z).map(|()| z)
        })
        .join()
        .unwrap()
        .unwrap();
        assert_ne!(other, x);
        assert_ne!(other, y);
    }

    #[test]
    fn thread_random_rekeys_after_every_draw() {
        let mut slot = None;
        let mut x = [0u8; 16];
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut x).unwrap();
        let state = slot.as_mut().unwrap();
        // A fresh key at stream position 0: the block `x` came from is gone.
        assert_eq!(state.rng.get_word_pos(), 0);
        assert_eq!(state.left, RESEED_AFTER - 16);
        let seed = state.rng.get_seed();
        let mut y = [0u8; 16];
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut y).unwrap();
        assert_ne!(x, y);
        assert_ne!(slot.as_ref().unwrap().rng.get_seed(), seed);
        assert_eq!(slot.as_ref().unwrap().rng.get_word_pos(), 0);
    }

    #[test]
    fn thread_random_reseeds_in_another_process_and_when_used_up() {
        let mut slot = None;
        let mut x = [0u8; 32];
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut x).unwrap();
        // A generator inherited from another process (as after `fork`) is replaced.
        let state = slot.as_mut().unwrap();
        state.pid = state.pid.wrapping_add(1);
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut x).unwrap();
        let state = slot.as_mut().unwrap();
        assert_eq!(state.pid, std::process::id());
        assert_eq!(state.left, RESEED_AFTER - 32);
        // One that has handed out its budget is replaced too.
        state.left = 10;
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut x).unwrap();
        assert_eq!(slot.as_ref().unwrap().left, RESEED_AFTER - 32);
    }

    #[test]
    fn thread_random_fails_with_random_when_the_os_source_fails_and_keeps_no_stale_generator() {
        struct Broken;
        impl SecureRandom for Broken {
            fn fill(&self, _: &mut [u8]) -> Result<(), Error> {
                Err(Error::Random)
            }
        }
        let mut slot = None;
        let mut x = [0u8; 32];
        assert_eq!(ThreadState::fill(&mut slot, &Broken, &mut x).unwrap_err(), Error::Random);
        assert!(slot.is_none());
        // A generator that is due for re-keying is not used when re-keying fails.
        ThreadState::fill(&mut slot, &SystemRandom::new(), &mut x).unwrap();
        if let Some(state) = slot.as_mut() {
            state.pid = state.pid.wrapping_add(1);
        }
        assert_eq!(ThreadState::fill(&mut slot, &Broken, &mut x).unwrap_err(), Error::Random);
        assert!(slot.is_none());
    }

    #[test]
    fn thread_random_serves_large_and_empty_draws() {
        let mut big = vec![0u8; MAX_THREAD_DRAW + 1];
        ThreadRandom::new().fill(&mut big).unwrap();
        assert!(big.iter().any(|&b| b != 0));
        ThreadRandom::new().fill(&mut []).unwrap();
        let mut edge = vec![0u8; MAX_THREAD_DRAW];
        ThreadRandom::new().fill(&mut edge).unwrap();
        assert!(edge.iter().any(|&b| b != 0));
    }

    /// `<Probe<R>>::IS_CRYPTO` is true exactly when `R: CryptoRandom` (an inherent
    /// constant wins over the trait's default when its bound holds).
    struct Probe<R: ?Sized>(std::marker::PhantomData<R>);
    trait NotCrypto {
        const IS_CRYPTO: bool = false;
    }
    impl<R: ?Sized> NotCrypto for Probe<R> {}
    #[allow(dead_code)]
    impl<R: CryptoRandom + ?Sized> Probe<R> {
        const IS_CRYPTO: bool = true;
    }

    #[test]
    fn only_operating_system_sources_are_crypto_random() {
        const { assert!(<Probe<SystemRandom>>::IS_CRYPTO) };
        const { assert!(<Probe<ThreadRandom>>::IS_CRYPTO) };
        const { assert!(<Probe<std::sync::Arc<SystemRandom>>>::IS_CRYPTO) };
        const { assert!(!<Probe<SeededRandom>>::IS_CRYPTO) };
        const { assert!(!<Probe<std::sync::Arc<SeededRandom>>>::IS_CRYPTO) };
        const { assert!(!<Probe<dyn SecureRandom>>::IS_CRYPTO) };
    }

    #[test]
    fn random_token_is_url_safe_and_long_enough() {
        let t = random_token(&SeededRandom::new(3), 16).unwrap();
        assert_eq!(t.len(), 22);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
