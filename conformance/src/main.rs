//! `cargo run -p rpkit-conformance`: run the OpenID RP certification cases against
//! rpkit's async client and print a table (test ID, profile, expected, outcome) and a
//! last line `N passed, M failed`; exit non-zero when any case failed.

use std::process::ExitCode;

use rpkit_conformance::cases::{render_table, run_all, summary};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let reports = run_all().await;
    print!("{}", render_table(&reports));
    println!("{}", summary(&reports));
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
