#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: one engine step, the whole pipeline
# on a real Redis, and redis-benchmark's SET on the same Redis at the same
# concurrency, so the ratio shows how close the pipeline comes to Redis's ceiling.
set -euo pipefail
cd "$(dirname "$0")"
C=${BENCH_CONCURRENCY:-8}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 16399)
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done

echo "## machine"; echo "$(nproc) cores, $(go version), $(redis-server --version | cut -d' ' -f3)"
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
