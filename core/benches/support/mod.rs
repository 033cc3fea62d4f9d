//! What every rpkit benchmark shares (included by each with `#[path]`): criterion's
//! settings, the one-group-per-comparison runner, and the interleaved measurement.
//!
//! The interleaved measurement is robust on a shared machine: every round times a batch
//! of each contender in turn, and the per-contender minimum over the rounds is kept.
//! Other load only ever adds time, so minima of interleaved batches keep the ratios
//! honest; criterion's medians are printed too but move with the machine's load.

#![allow(dead_code)] // each bench uses the part it needs

use criterion::{black_box, Criterion};
use std::time::{Duration, Instant};

/// Criterion as every bench runs it: 60 samples, 1 s warm-up, `measure` per function.
pub fn criterion(measure: Duration) -> Criterion {
    Criterion::default().sample_size(60).warm_up_time(Duration::from_secs(1)).measurement_time(measure)
}

/// `--interleaved-only` on the command line: skip criterion, print only the minima.
pub fn interleaved_only() -> bool {
    std::env::args().any(|a| a == "--interleaved-only")
}

/// One criterion group named `group`, one function per contender (`run(i)` runs the
/// contender `names[i]` once).
pub fn group(c: &mut Criterion, group: &str, names: &[&str], run: impl Fn(usize) -> usize) {
    let mut g = c.benchmark_group(group);
    for (which, name) in names.iter().enumerate() {
        g.bench_function(*name, |b| b.iter(|| run(which)));
    }
    g.finish();
}

/// The minimum time per call, in µs, of each of `contenders` over `rounds` interleaved
/// batches of `batch` calls.
pub fn minimum_per_call(rounds: usize, batch: usize, contenders: usize, run: impl Fn(usize) -> usize) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; contenders];
    for _ in 0..rounds {
        for (which, best) in best.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..batch {
                black_box(run(which));
            }
            *best = best.min(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
        }
    }
    best
}

/// Prints one line per contender: `label name  µs  ratio` against `best[base]`.
pub fn print_ratios(label: &str, names: &[&str], best: &[f64], base: usize) {
    for (name, t) in names.iter().zip(best) {
        println!("  {label:<9} {name:<18} {t:>9.3} µs  {:>6.3}x", t / best[base]);
    }
}
