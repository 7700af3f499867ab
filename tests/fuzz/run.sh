#!/bin/bash
# run.sh SECONDS NAME...: each harness build/fuzz/NAME for SECONDS on a copy
# of its seed corpus, one at a time; one line each: executions, coverage
# (libFuzzer's cov and ft), crashes. Exit 1 if any harness crashed.
set -u
cd "$(dirname "$0")/../.." || exit 1
seconds=$1
shift
crashed=0
mkdir -p build/fuzz/artifacts
for name in "$@"; do
	corpus=build/fuzz/corpus/$name
	rm -rf "$corpus"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	log=build/fuzz/$name.log
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"build/fuzz/$name" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
		-artifact_prefix="build/fuzz/artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
	art=$(grep -o 'build/fuzz/artifacts/[^ ]*' "$log" | head -n 1)
	if [ "$rc" -ne 0 ]; then
		crashed=1
		echo "fuzz: $name: ${execs:-?} executions, ${cov:-cov: ?}, ${ft:-ft: ?}, CRASH: ${art:-see $log}"
		grep -m 5 'ERROR\|invariant\|runtime error' "$log" | sed 's/^/    /'
	else
		echo "fuzz: $name: ${execs:-?} executions in ${seconds} s, ${cov:-cov: ?}, ${ft:-ft: ?}, 0 crashes"
	fi
done
exit $crashed
