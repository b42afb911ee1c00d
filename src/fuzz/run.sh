#!/usr/bin/env bash
# Runs each fuzzer for SECONDS on its corpus and prints libFuzzer's final statistics
# (executions, coverage, new inputs) per target, then a summary table. New inputs go to
# build/fuzz/work/<target>/ (src/fuzz/corpus/ holds only the generated seeds); a crashing
# input is saved as build/fuzz/crash-<target>-*. Exits non-zero when any target failed.
#   usage: src/fuzz/run.sh SECONDS build/fuzz/fuzz_<target>...
set -u
seconds=$1
shift
summary=()
failed=0
for bin in "$@"; do
    t=${bin##*/fuzz_}
    work=build/fuzz/work/$t
    log=build/fuzz/$t.log
    mkdir -p "$work"
    echo "== fuzz $t: ${seconds} s"
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="build/fuzz/crash-$t-" "$work" "src/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' "$log" | tail -1)
    grep -E '^stat::|DONE' "$log"
    if [ $rc -ne 0 ]; then
        failed=1
        echo "!! fuzz $t FAILED (exit $rc); log: $log"
        grep -E 'ERROR|fuzz check failed|SUMMARY|Test unit written' "$log" | head -20
    fi
    summary+=("$(printf '%-10s %12s %8s %6s %8s %6s %s' "$t" "${execs:-?}" "${rate:-?}" \
        "${cov% *}" "${cov#* }" "${added:-?}" "$([ $rc -eq 0 ] && echo ok || echo FAILED)")")
done
printf '\n%-10s %12s %8s %6s %8s %6s %s\n' target executions exec/s cov ft new status
printf '%s\n' "${summary[@]}"
exit $failed
