#!/usr/bin/env bash
# Load scenario: do unprotected reads keep their latency while 200 clients flood a protected
# paste with wrong passwords?
#
#   loadtest/password-flood.sh [seconds-per-run]
#
# Needs wrk and curl. Starts its own release server on loopback with a fresh database, measures
# the p99 latency of unprotected raw reads alone, then again during the flood, and prints both,
# their ratio, and the password pool's metrics. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-10}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --bin flaskpaste >&2

# Rate limiting and duplicate throttling would refuse a load generator on one address; this
# scenario measures the paths behind them (loadtest/subsystems.sh measures the checks).
FLASKPASTE_RATE_LIMIT=0 FLASKPASTE_DEDUP_MAX=0 \
FLASKPASTE_BIND=127.0.0.1:0 FLASKPASTE_METRICS_ADDR=127.0.0.1:0 FLASKPASTE_LOG_FORMAT=json \
  RUST_LOG=warn,flaskpaste::server=info FLASKPASTE_DB="$work/flood.db" \
  ./target/release/flaskpaste > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q '"listening"' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
listening="$(grep '"listening"' "$work/server.log")"
base="http://$(sed -E 's/.*"addr":"([^"]+)".*/\1/' <<<"$listening")"
metrics="http://$(sed -E 's/.*"metrics_addr":"([^"]+)".*/\1/' <<<"$listening")/metrics"

id_of() { grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4; }
protected="$(curl -s -H 'X-Paste-Password: the-password' --data-binary 'protected' "$base/" | id_of)"
for i in $(seq 50); do curl -s --data-binary "open paste $i" "$base/" | id_of; done > "$work/ids"

p99() { awk '/^ +99%/ {print $2}' "$1"; }
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /ms$/) { sub(/ms/, "", v); print v } else if (v ~ /us$/) { sub(/us/, "", v); print v / 1000 } else { sub(/s/, "", v); print v * 1000 } }'; }

IDS_FILE="$work/ids" wrk -t 1 -c 16 -d "${duration}s" --latency -s loadtest/read.lua "$base/" > "$work/alone.txt"

PROTECTED_ID="$protected" wrk -t 1 -c 200 -d "$((duration + 2))s" -s loadtest/wrong-password.lua "$base/" > "$work/flood.txt" &
pids+=($!)
sleep 1
IDS_FILE="$work/ids" wrk -t 1 -c 16 -d "${duration}s" --latency -s loadtest/read.lua "$base/" > "$work/during.txt"
wait "${pids[-1]}"

alone="$(to_ms "$(p99 "$work/alone.txt")")"
during="$(to_ms "$(p99 "$work/during.txt")")"
echo "unprotected reads alone:       p99 ${alone} ms, $(awk '/Requests\/sec/ {print $2}' "$work/alone.txt") requests/s"
echo "unprotected reads during flood: p99 ${during} ms, $(awk '/Requests\/sec/ {print $2}' "$work/during.txt") requests/s"
echo "p99 ratio (during / alone): $(awk -v a="$alone" -v d="$during" 'BEGIN { printf "%.2f", d / a }')"
echo "flood: $(awk '/requests in/ {print $1}' "$work/flood.txt") wrong-password requests answered"
curl -s "$metrics" | grep -E '^flaskpaste_password_(refusals_total|busy_total|hash_duration_seconds_(count|sum))' || true
echo "machine: $(nproc) cores; wrk runs on the same cores as the server"
