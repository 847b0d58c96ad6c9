#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: one engine step, the whole pipeline
# on a real Redis, and redis-benchmark's SET on the same Redis at the same
# concurrency, so the ratio shows how close the pipeline comes to Redis's ceiling.
# `./bench.sh loadtest` runs only the section of `enlace loadtest` against serve.
set -euo pipefail
cd "$(dirname "$0")"
C=${BENCH_CONCURRENCY:-8}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 16399)
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done

echo "## machine"; echo "$(nproc) cores, $(go version), $(redis-server --version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# loadtest_section runs `enlace loadtest` against real serve processes on this
# Redis (SMS only: Telegram's 30/s would set the pace), and in the same run
# the one-round-trip go-redis baseline and redis-benchmark's SET on the same
# Redis, and prints the ratios.
loadtest_section() {
	local people=${LOADTEST_PEOPLE:-500} messages=${LOADTEST_MESSAGES:-5000} bin="$DIR/enlace"
	go build -o "$bin" ./cmd/enlace
	echo "## enlace loadtest: serve on Redis, $messages SMS from $people people, flat out (then 1 and 3 serves)"
	for serves in 1 3; do
		REDIS_URL="redis://127.0.0.1:$PORT/0" "$bin" loadtest -people "$people" -messages "$messages" -telegram 0 -serves "$serves" -json 2>/dev/null >"$DIR/loadtest-$serves.json" || true
		cat "$DIR/loadtest-$serves.json"
	done
	REDIS_URL="redis://127.0.0.1:$PORT/0" BENCH_CONCURRENCY=$C go test -run '^$' -bench 'BenchmarkRedisOneRoundTrip$' -benchtime 100000x -count 1 ./bot/ | tee "$DIR/baseline.txt"
	redis-benchmark -p "$PORT" -t set -c "$C" -n 200000 -q | tr "\r" "\n" | grep "requests per second" | tee "$DIR/redis-benchmark.txt"
	echo "load average now $(cut -d' ' -f1-3 /proc/loadavg)"
	python3 - "$DIR" <<'PY'
import json, re, sys
d = sys.argv[1]
base = float(re.search(r"([\d.]+) op/s", open(d + "/baseline.txt").read()).group(1))
sets = float(re.search(r"SET: ([\d.]+) requests per second", open(d + "/redis-benchmark.txt").read()).group(1))
print("| serves | msg/s accepted | p50 ms | p99 ms | all replies after | lost | doubled | / one-round-trip baseline (%.0f op/s) | / redis-benchmark SET (%.0f/s) |" % (base, sets))
for serves in (1, 3):
    try:
        r = json.load(open("%s/loadtest-%d.json" % (d, serves)))
    except Exception as e:
        print("| %d | loadtest failed: %s |" % (serves, e)); continue
    msgs = r["replied"] and r["accepted"] / r["replies_seconds"] if r["replies_seconds"] else 0
    print("| %d | %.0f | %.2f | %.2f | %.1f s (%.0f msg/s end to end) | %d | %d | %.2f %% accepted, %.2f %% end to end | %.2f %% accepted |" % (
        serves, r["accepted_per_second"], r["latency_p50_ms"], r["latency_p99_ms"], r["replies_seconds"], msgs,
        r["lost"], r["doubled"], 100 * r["accepted_per_second"] / base, 100 * msgs / base, 100 * r["accepted_per_second"] / sets))
PY
}
if [ "${1:-}" = loadtest ]; then loadtest_section; exit 0; fi
echo "## engine step"
go test -run '^$' -bench 'BenchmarkStep$' -benchmem -count 3 ./flows/
echo "## pipeline on Redis, concurrency $C"
REDIS_URL="redis://127.0.0.1:$PORT/0" BENCH_CONCURRENCY=$C go test -run '^$' -bench 'BenchmarkPipelineRedisRun$|BenchmarkPipelineRedis$|BenchmarkRedisOneRoundTrip$' -benchmem -benchtime 10000x -count 2 ./bot/
echo "## Redis round trips per message (accept to reply acknowledged)"
go test ./bot -run TestRoundTripsPerMessage -v -count 1 | grep -E 'accept|handle|deliver|total|^(ok|FAIL)'
echo "## Redis memory: an idle onboarded person, and one who wrote 500 messages"
go test ./bot -run '^$' -bench 'BenchmarkRedisMemory' -benchtime 1x -count 1 | grep -E '^Benchmark'
echo "## delivery lanes: Telegram replies with an SMS backlog at TWILIO_RATE=1"
go test -run '^$' -bench 'BenchmarkTelegramWithSMSBacklog' -benchtime 3x -count 2 ./bot/
echo "## redis-benchmark SET, concurrency $C"
redis-benchmark -p "$PORT" -t set -c "$C" -n 200000 -q
echo "## shelter search over 100,000 places (p99 in the p99-ms column)"
go test ./store/embedded -run '^$' -bench Places -benchtime=20000x -count=2
REDIS_URL="redis://127.0.0.1:$PORT/0" go test ./store/redis -run '^$' -bench Places -benchtime=20000x -count=2
echo "## typed towns with a typo (p50-ms, p99-ms)"
go test ./places/gazetteer -run '^$' -bench FindTypos -benchtime 2000x -count 2
echo "## first reply after start on the embedded store, 100,000 places"
go test ./cmd/enlace -run '^$' -bench FirstReply -benchtime 3x -count 2
echo "## embedded store: write transactions while idle and per message"
go test ./store/embedded -run 'TestIdleWritesNothing|TestWritesPerMessage' -v -count 1 | grep -E 'write transactions|^(ok|FAIL|---)'
echo "## tracing: matching one case against 100,000 (p99 in the p99-ms column)"
go test ./tracing -run '^$' -bench 'Match100k|PINVerify' -benchtime 2000x -count 2
loadtest_section
