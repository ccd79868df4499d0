#!/usr/bin/env bash
# Load scenario: what each abuse-prevention subsystem costs on POST /.
#
#   loadtest/subsystems.sh [seconds-per-run]
#
# Needs wrk, curl and python3. For each configuration it starts a fresh release server on
# loopback, runs the create scenario with 64 connections, and prints requests/s and latency.
# Budgets are set so high that nothing is refused: what is measured is the cost of the checks.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-10}"
work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

cargo build --release --bin flaskpaste >&2

all_off=(FLASKPASTE_RATE_LIMIT=0 FLASKPASTE_DEDUP_MAX=0 FLASKPASTE_POW_DIFFICULTY=0 FLASKPASTE_MIN_ENTROPY=0)
rate_on=(FLASKPASTE_RATE_LIMIT=1 FLASKPASTE_RATE_MAX=4000000000)
dedup_on=(FLASKPASTE_DEDUP_MAX=1000000)
policy_on=(FLASKPASTE_MIN_ENTROPY=0.5)
pow_on=(FLASKPASTE_POW_DIFFICULTY=1 FLASKPASTE_POW_FLOOD_THRESHOLD=4000000000 FLASKPASTE_POW_TTL=3600)

start_server() { # start_server NAME=VALUE...
  rm -f "$work"/sub.db*
  env "$@" FLASKPASTE_BIND=127.0.0.1:0 FLASKPASTE_METRICS_ADDR= FLASKPASTE_LOG_FORMAT=json \
    RUST_LOG=warn,flaskpaste::server=info FLASKPASTE_DB="$work/sub.db" \
    ./target/release/flaskpaste > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q '"listening"' "$work/server.log" 2>/dev/null && break
    sleep 0.1
  done
  base="http://$(grep '"listening"' "$work/server.log" | sed -E 's/.*"addr":"([^"]+)".*/\1/')"
}

measure() { # measure LABEL SCRIPT NAME=VALUE...
  local label="$1" script="$2"; shift 2
  start_server "$@"
  if [ "$script" = loadtest/pow-create.lua ]; then
    python3 loadtest/solve_challenges.py "$base" $((duration * 25000)) > "$work/tokens"
  fi
  TOKENS_FILE="$work/tokens" wrk -t 2 -c 64 -d "${duration}s" -s "$script" "$base/" > "$work/run.txt"
  local rps latency non2xx
  rps="$(awk '/Requests\/sec/ {print $2}' "$work/run.txt")"
  latency="$(awk '/Latency/ {print $2}' "$work/run.txt")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' "$work/run.txt")"
  printf '%-22s requests/s=%-10s mean-latency=%-8s non-2xx=%s\n' "$label" "$rps" "$latency" "${non2xx:-0}"
  stop_server
}

measure "all off" loadtest/create.lua "${all_off[@]}"
measure "rate limiter" loadtest/create.lua "${all_off[@]}" "${rate_on[@]}"
measure "duplicate tracker" loadtest/create.lua "${all_off[@]}" "${dedup_on[@]}"
measure "content policy" loadtest/create.lua "${all_off[@]}" "${policy_on[@]}"
measure "proof-of-work (1 bit)" loadtest/pow-create.lua "${all_off[@]}" "${pow_on[@]}"
measure "all on" loadtest/pow-create.lua "${rate_on[@]}" "${dedup_on[@]}" "${policy_on[@]}" "${pow_on[@]}"
echo "machine: $(nproc) cores; wrk runs on the same cores as the server"
