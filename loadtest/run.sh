#!/usr/bin/env bash
# Load scenario: create and raw-read throughput against a release build on loopback.
#
#   loadtest/run.sh [seconds-per-run]
#
# Needs wrk (Debian package `wrk`) and curl. Starts its own server on free ports with a fresh
# database in a temporary directory, runs bounded wrk scenarios against 127.0.0.1 only, reads the
# storage writer's metrics between runs, and prints a summary. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-10}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --bin flaskpaste >&2

# Rate limiting and duplicate throttling would refuse a load generator on one address; this
# scenario measures the paths behind them (loadtest/subsystems.sh measures the checks).
FLASKPASTE_RATE_LIMIT=0 FLASKPASTE_DEDUP_MAX=0 \
FLASKPASTE_BIND=127.0.0.1:0 FLASKPASTE_METRICS_ADDR=127.0.0.1:0 FLASKPASTE_LOG_FORMAT=json \
  RUST_LOG=warn,flaskpaste::server=info FLASKPASTE_DB="$work/load.db" \
  ./target/release/flaskpaste > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -q '"listening"' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
listening="$(grep '"listening"' "$work/server.log")"
addr="$(sed -E 's/.*"addr":"([^"]+)".*/\1/' <<<"$listening")"
metrics_addr="$(sed -E 's/.*"metrics_addr":"([^"]+)".*/\1/' <<<"$listening")"
base="http://$addr"

metric() { # metric NAME -> summed value of all its samples
  curl -s "http://$metrics_addr/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}

run_create() { # run_create CONNECTIONS
  local c="$1" count0 sum0 commits0 count1 sum1 commits1 rps
  count0="$(metric flaskpaste_storage_batch_size_count)"; sum0="$(metric flaskpaste_storage_batch_size_sum)"
  commits0="$(metric flaskpaste_storage_commits_total)"
  rps="$(wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${duration}s" -s loadtest/create.lua "$base/" | tee "$work/create-$c.txt" | awk '/Requests\/sec/ {print $2}')"
  count1="$(metric flaskpaste_storage_batch_size_count)"; sum1="$(metric flaskpaste_storage_batch_size_sum)"
  commits1="$(metric flaskpaste_storage_commits_total)"
  local batches=$((count1 - count0)) ops=$((sum1 - sum0))
  local mean; mean="$(awk -v o="$ops" -v b="$batches" 'BEGIN { printf "%.1f", (b ? o / b : 0) }')"
  local latency; latency="$(awk '/Latency/ {print $2}' "$work/create-$c.txt")"
  echo "create  connections=$c  requests/s=$rps  mean-latency=$latency  transactions=$((commits1 - commits0))  mean-batch-size=$mean"
}

run_create 1
run_create 64

for i in $(seq 200); do
  curl -s --data-binary "hot paste $i $(head -c 512 /dev/urandom | base64 -w0)" "$base/" \
    | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4
done > "$work/ids"
touches0="$(metric flaskpaste_storage_touch_batches_total)"
rps="$(IDS_FILE="$work/ids" wrk -t 2 -c 64 -d "${duration}s" -s loadtest/read.lua "$base/" | tee "$work/read.txt" | awk '/Requests\/sec/ {print $2}')"
latency="$(awk '/Latency/ {print $2}' "$work/read.txt")"
touches1="$(metric flaskpaste_storage_touch_batches_total)"
echo "read    connections=64  requests/s=$rps  mean-latency=$latency  touch-batches=$((touches1 - touches0)) (flush interval 5 s)"

non2xx="$(cat "$work"/create-*.txt "$work/read.txt" | awk '/Non-2xx/ {s += $NF} END {print s + 0}')"
echo "non-2xx answers: $non2xx"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
