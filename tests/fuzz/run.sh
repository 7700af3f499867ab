#!/bin/bash
# run.sh SECONDS NAME...: each harness build/fuzz/NAME for SECONDS (or until
# FUZZ_RUNS executions, if set), one at a time, on its working corpus
# build/fuzz/corpus/NAME (the committed seeds copied in, kept between runs so
# that a long run goes on from the last); one line each: executions,
# coverage (libFuzzer's cov and ft), crashes. Exit 1 if any harness crashed
# (its artifact is in build/fuzz/artifacts/, its log in build/fuzz/logs/).
set -uo pipefail
seconds=$1
shift
cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/fuzz/artifacts build/fuzz/logs
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
failed=0
summary=()
for name in "$@"; do
	work=build/fuzz/corpus/$name
	mkdir -p "$work"
	[ -d "tests/fuzz/corpus/$name" ] && cp -n "tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null
	log=build/fuzz/logs/$name.log
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1 \
		build/fuzz/"$name" -max_total_time="$seconds" "${runs[@]}" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=1024 -max_len=4096 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- "$work" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ "$rc" != 0 ] || [ -n "$crash" ]; then
		failed=1
		crash=${crash:-"exit $rc, see $log"}
	fi
	line=$(printf '%-16s execs %-10s cov %-6s ft %-7s seconds %-6s crashes %s' "$name" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "$took" "${crash:-0}")
	echo "$line"
	[ "${crash:-0}" != 0 ] && grep -m 5 'ERROR\|invariant\|runtime error' "$log" | sed 's/^/    /'
	summary+=("$line")
done
echo "--- fuzz summary ---"
printf '%s\n' "${summary[@]}"
exit $failed
