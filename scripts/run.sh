#!/usr/bin/env bash
# run.sh — what `make run` runs once the services are up: build every
# deployable into bin/, migrate, load the demo data, then serve the API on
# 127.0.0.1:8080 with the background workers beside it, until Ctrl-C.
#
#   scripts/run.sh        (make run also ensures the services first)
#
# Workers are started only if their binary was built: bin/worker (RabbitMQ
# → FCM pushes), bin/indexer (outbox → OpenSearch), and bin/batch, run
# every minute for announce, expire and remind (ECS schedules them; every
# job is safe to run again). Their logs go to $COUPONPOP_STATE/logs; the
# API logs to the terminal. Ctrl-C (or SIGTERM) stops the API gracefully
# and then every worker this script started.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
STATE=${COUPONPOP_STATE:-$HOME/.local/state/couponpop}
LOGS=$STATE/logs
ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
mkdir -p "$LOGS" bin

say() { printf 'run: %s\n' "$*"; }

say "building bin/"
go build -o bin/ ./cmd/...
bin/migrate up
seed_out=$(bin/seed)
printf '%s\n' "$seed_out"

pids=()
stop_all() {
	trap - EXIT INT TERM
	# The API first, so it drains its requests while the workers still run.
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap stop_all EXIT
trap 'exit 130' INT TERM # runs stop_all through the EXIT trap

# start NAME CMD... runs CMD in the background, logging to $LOGS/NAME.log.
start() {
	local name=$1
	shift
	"$@" >>"$LOGS/$name.log" 2>&1 &
	pids+=("$!")
	say "started $name (pid $!, log $LOGS/$name.log)"
}

# batch_loop runs the scheduled jobs every minute until it is told to stop.
batch_loop() {
	local sleeper=
	trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM
	while :; do
		for job in announce expire remind; do
			bin/batch "$job" || echo "batch $job failed; retrying in a minute"
		done
		sleep 60 &
		sleeper=$!
		wait "$sleeper" || true
	done
}

# The API runs in the background only so this script can wait for it to
# answer and then print where everything is; it still logs here.
bin/api &
api=$!
pids=("$api")

host=${ADDR%:*}
port=${ADDR##*:}
[ -n "$host" ] || host=127.0.0.1
base="http://$host:$port"
for _ in $(seq 1 60); do
	if ! kill -0 "$api" 2>/dev/null; then
		say "the API exited during start-up (is $ADDR already in use?)"
		wait "$api" || exit $?
		exit 1
	fi
	if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
		break
	fi
	sleep 0.5
done

# http_status PATH prints the status code of GET PATH (bash only: the
# machine may have no curl).
http_status() {
	local line
	exec 3<>"/dev/tcp/$host/$port" || return 0
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$host" >&3
	read -r _ line _ <&3 || true
	exec 3>&-
	printf '%s' "$line"
}
merchant=
[ "$(http_status /merchant)" = 200 ] && merchant="  merchant    $base/merchant"

[ -x bin/worker ] && start worker bin/worker
[ -x bin/indexer ] && start indexer bin/indexer
[ -x bin/batch ] && start batch batch_loop

cat <<EOF

CouponPop is running.
  API         $base/api/v1/   (e.g. $base/api/v1/coupons/nearby?lat=37.5563&lng=126.9236)
  OpenAPI     $base/openapi.yaml
${merchant:+$merchant
}  ops         $base/healthz  $base/readyz  $base/metrics
  worker logs $LOGS/
$(printf '%s\n' "$seed_out" | sed -n '/^demo logins/,$p')

Log in: curl -s $base/api/v1/auth/login -d '{"email":"customer@demo.couponpop.dev","password":"demo1234"}'
Ctrl-C stops the API and the workers.
EOF

wait "$api"
