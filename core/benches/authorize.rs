//! Authorization URL (PKCE S256 + `state` + `nonce`): rpkit against `oauth2` 5.
//!
//! Run with `cargo bench -p rpkit --bench authorize` (add `-- --interleaved-only` for the
//! interleaved table alone).
//!
//! - `rpkit_thread`: `AuthorizationRequest::build` with `ThreadRandom`, the source the
//!   client layer uses by default (a per-thread ChaCha20 generator keyed from the OS, with a
//!   `getpid` fork check and a re-key after every draw): 256-bit `state` and `nonce`, a
//!   43-character (256-bit) PKCE verifier and its S256 challenge, the URL, and the
//!   `PendingAuthorization` to store. Everything is drawn with one `fill`.
//! - `rpkit_system`: the same with `SystemRandom` (the OS CSPRNG through `ring`: one
//!   `getrandom` system call per request).
//! - `rpkit_seeded`: the same with `SeededRandom` (SHA-256 of seed and counter; tests only).
//! - `oauth2`: v5 `BasicClient::authorize_url(CsrfToken::new_random)` with three scopes,
//!   `set_pkce_challenge(PkceCodeChallenge::new_random_sha256())` and a nonce
//!   (`CsrfToken::new_random`) as an extra parameter, then `url()` (a `url::Url`; rpkit
//!   returns the URL as a checked string, `AuthorizationUrl`). Its randomness is `rand`
//!   0.8's `thread_rng` (a user-space ChaCha12 generator seeded from the OS, re-seeded after
//!   a fork through `pthread_atfork`, no re-key per draw); its `state` and nonce are 128-bit,
//!   its PKCE verifier 32 bytes like rpkit's.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

#[path = "support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, Criterion};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use rpkit::authorize::AuthorizationRequest;
use rpkit::config::ClientConfig;
use rpkit::rand::{SecureRandom, SeededRandom, SystemRandom, ThreadRandom};
use rpkit::time::UnixTime;

const AUTHORIZE: &str = "https://op.example/authorize";
const CLIENT: &str = "client-1";
const REDIRECT: &str = "https://app.example/callback";
const SCOPES: [&str; 3] = ["openid", "email", "profile"];
const CONTENDERS: [&str; 4] = ["rpkit_thread", "rpkit_system", "rpkit_seeded", "oauth2"];

type OAuth2Client = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
>;

struct Setup {
    config: ClientConfig,
    now: UnixTime,
    thread: ThreadRandom,
    system: SystemRandom,
    seeded: SeededRandom,
    oauth2: OAuth2Client,
}

impl Setup {
    fn new() -> Self {
        let config = ClientConfig::new("bench")
            .client_id(CLIENT)
            .authorize_url(AUTHORIZE)
            .redirect_uri(REDIRECT)
            .scope(SCOPES.join(" "));
        let oauth2 = BasicClient::new(ClientId::new(CLIENT.into()))
            .set_auth_uri(AuthUrl::new(AUTHORIZE.into()).unwrap())
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
        Setup {
            config,
            now: UnixTime::from_secs(1_700_000_000),
            thread: ThreadRandom::new(),
            system: SystemRandom::new(),
            seeded: SeededRandom::new(7),
            oauth2,
        }
    }

    fn rpkit(&self, rng: &dyn SecureRandom) -> usize {
        let (url, pending) = AuthorizationRequest::new(&self.config).build(rng, self.now).unwrap();
        url.as_str().len() + usize::from(pending.nonce().is_some())
    }

    fn oauth2(&self) -> usize {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let (url, state) = self
            .oauth2
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).into())))
            .add_extra_param("nonce", nonce.secret())
            .set_pkce_challenge(challenge)
            .url();
        // What a caller stores until the callback.
        let _ = black_box((state, nonce, verifier));
        url.as_str().len()
    }

    /// Runs contender `which` (an index into [`CONTENDERS`]) once.
    fn run(&self, which: usize) -> usize {
        match which {
            0 => self.rpkit(&self.thread),
            1 => self.rpkit(&self.system),
            2 => self.rpkit(&self.seeded),
            _ => self.oauth2(),
        }
    }
}

fn bench(c: &mut Criterion) {
    let setup = Setup::new();
    support::group(c, "authorize", &CONTENDERS, |which| setup.run(which));
}

criterion_group! {
    name = benches;
    config = support::criterion(std::time::Duration::from_secs(3));
    targets = bench
}

fn main() {
    if !support::interleaved_only() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    let (rounds, batch) = (300, 200);
    let setup = Setup::new();
    let (url, _) = AuthorizationRequest::new(&setup.config).build(&setup.seeded, setup.now).unwrap();
    for needle in ["state=", "nonce=", "code_challenge=", "code_challenge_method=S256", "scope=openid+email+profile"] {
        assert!(url.as_str().contains(needle), "rpkit URL lacks {needle}: {url}");
    }
    println!("\ninterleaved minimum per call ({rounds} rounds x {batch} calls), ratio to oauth2:");
    let best = support::minimum_per_call(rounds, batch, CONTENDERS.len(), |which| setup.run(which));
    support::print_ratios("authorize", &CONTENDERS, &best, CONTENDERS.len() - 1);
}
