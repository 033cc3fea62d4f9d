#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after the other, one job each.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Installs cargo-fuzz when it is missing, builds all targets once (stable toolchain,
# RUSTC_BOOTSTRAP=1 for the -Z sanitizer flags), runs each target on its corpus
# (fuzz/corpus/<target>: the committed seed-* files plus whatever earlier local runs
# found), prints executions per target, and exits non-zero when any target crashed
# (crash inputs land in fuzz/artifacts/<target>/).
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none
#   FUZZ_LOG_DIR    where per-target logs go (default fuzz/target/fuzz-logs)
#   FUZZ_ARGS       extra libFuzzer arguments (e.g. "-max_len=8192")
set -uo pipefail

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2

export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
log_dir=${FUZZ_LOG_DIR:-$here/target/fuzz-logs}
mkdir -p "$log_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    t0=$(date +%s)
    cargo install cargo-fuzz --locked || { echo "cargo-fuzz install failed" >&2; exit 2; }
    echo "== cargo-fuzz installed in $(( $(date +%s) - t0 )) s"
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "no fuzz targets found" >&2; exit 2; }

echo "== building ${#targets[@]} targets (sanitizer: $sanitizer)"
t0=$(date +%s)
if ! cargo fuzz build -s "$sanitizer"; then
    echo "fuzz build failed" >&2
    exit 2
fi
echo "== built in $(( $(date +%s) - t0 )) s"

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus="$here/corpus/$target"
    mkdir -p "$corpus"
    log="$log_dir/$target.log"
    echo "== $target: ${seconds} s"
    t0=$(date +%s)
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of libFuzzer flags.
    cargo fuzz run -s "$sanitizer" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_ARGS:-} \
        >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [[ $rc -ne 0 ]]; then
        failed+=("$target")
        status="CRASH (exit $rc)"
        echo "---- $target failed; last lines of $log:"
        tail -40 "$log"
        grep -oE 'artifacts/[^ ]+/(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+' "$log" | sort -u |
            sed 's|^|     input: fuzz/|'
    else
        status=ok
    fi
    line=$(printf '%-15s %5ss %12s execs %8s/s  cov %6s  %s' "$target" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$status")
    echo "$line"
    summary+=("$line")
done

echo
echo "== summary (${seconds} s per target, logs in $log_dir)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== crashed: ${failed[*]}"
    exit 1
fi
echo "== no crashes"
