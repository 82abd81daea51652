#!/usr/bin/env bash
# services.sh — make sure PostgreSQL+PostGIS, Redis, RabbitMQ (and, when their
# scripts are present, OpenSearch and the embeddings server) are installed,
# running on loopback and answering. Idempotent: on a machine where everything
# already runs it only checks, in about a second.
#
#   scripts/services.sh [ensure]     install what is missing, start, wait
#   scripts/services.sh core         only PostgreSQL, Redis and RabbitMQ
#   scripts/services.sh status       one line per service
#
# Works on a fresh Debian 12 machine as root (or with sudo) and without
# systemd: every service is started directly, detached, so CI and containers
# behave the same as a laptop.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${COUPONPOP_STATE:-$HOME/.local/state/couponpop}
PG_VERSION=15
PG_DB=${PG_DB:-couponpop}
PG_USER=${PG_USER:-couponpop}
PG_PASSWORD=${PG_PASSWORD:-couponpop}
REDIS_PORT=${REDIS_PORT:-6379}

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
say() { printf '%-12s %s\n' "$1" "$2"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }

# wait_for NAME TIMEOUT CMD... retries CMD every half second.
wait_for() {
	local name=$1 timeout=$2; shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

apt_updated=0
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$apt_updated" -eq 0 ]; then
		sudo_ apt-get update -qq
		apt_updated=1
	fi
	say install "${missing[*]}"
	# policy-rc.d stops the packages' own init scripts from starting daemons
	# that we start ourselves below, with our own flags.
	sudo_ env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
		-o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

ensure_postgres() {
	apt_install postgresql-$PG_VERSION postgresql-$PG_VERSION-postgis-3 postgresql-client-$PG_VERSION
	if ! pg_lsclusters -h 2>/dev/null | awk -v v=$PG_VERSION '$1==v && $2=="main"' | grep -q .; then
		sudo_ pg_createcluster $PG_VERSION main >/dev/null
	fi
	local conf=/etc/postgresql/$PG_VERSION/main/conf.d/couponpop.conf
	if [ ! -f "$conf" ]; then
		# Sized for a 2-core, 24 GiB machine running the whole platform and its
		# load tests. Durability stays on (fsync, synchronous_commit): the
		# issuance benchmark measures durable writes.
		sudo_ tee "$conf" >/dev/null <<-EOF
			listen_addresses = '127.0.0.1'
			max_connections = 300
			shared_buffers = 1GB
			effective_cache_size = 4GB
			work_mem = 16MB
			maintenance_work_mem = 256MB
			wal_buffers = 16MB
			checkpoint_timeout = 15min
			max_wal_size = 4GB
			commit_delay = 0
			random_page_cost = 1.1
		EOF
	fi
	if ! pg_lsclusters -h | awk -v v=$PG_VERSION '$1==v && $2=="main" {print $4}' | grep -q online; then
		sudo_ pg_ctlcluster $PG_VERSION main start
	fi
	wait_for postgres 60 pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not answer; see /var/log/postgresql/postgresql-$PG_VERSION-main.log"
	# A superuser on loopback: tests create scratch databases with PostGIS,
	# which only a superuser may install.
	as_postgres psql -q -v ON_ERROR_STOP=1 -h /var/run/postgresql <<-EOF >/dev/null
		DO \$\$ BEGIN
		  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
		    CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
		  END IF;
		END \$\$;
	EOF
	if ! as_postgres psql -tAq -h /var/run/postgresql -c "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
		as_postgres createdb -h /var/run/postgresql -O "$PG_USER" "$PG_DB"
	fi
	as_postgres psql -q -h /var/run/postgresql -d "$PG_DB" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
	say postgres "ok (127.0.0.1:5432/$PG_DB, PostGIS $(as_postgres psql -tAq -h /var/run/postgresql -d "$PG_DB" -c 'SELECT postgis_lib_version()'))"
}

ensure_redis() {
	apt_install redis-server
	# The package may have started its own instance; it listens on the same
	# port with the same defaults, so either is fine.
	if ! redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
		mkdir -p "$STATE/redis"
		# A cache of PostgreSQL (DESIGN.md invariant 4): no persistence needed.
		redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
			--save '' --appendonly no --dir "$STATE/redis" \
			--logfile "$STATE/redis/redis.log" --pidfile "$STATE/redis/redis.pid" \
			--maxclients 10000 >/dev/null
	fi
	wait_for redis 30 sh -c "redis-cli -p $REDIS_PORT ping | grep -q PONG" || die "Redis did not answer on :$REDIS_PORT"
	say redis "ok (127.0.0.1:$REDIS_PORT, $(redis-server --version | awk '{print $3}'))"
}

rabbit_up() { rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; }

ensure_rabbitmq() {
	apt_install rabbitmq-server
	if ! rabbit_up; then
		# Listen on loopback only; detached so it outlives this script.
		sudo_ mkdir -p /etc/rabbitmq
		if [ ! -f /etc/rabbitmq/rabbitmq.conf ] || ! grep -q couponpop /etc/rabbitmq/rabbitmq.conf; then
			sudo_ tee /etc/rabbitmq/rabbitmq.conf >/dev/null <<-EOF
				# couponpop: loopback only
				listeners.tcp.default = 127.0.0.1:5672
				loopback_users.guest = true
			EOF
		fi
		sudo_ env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached >/dev/null 2>&1 || true
	fi
	wait_for rabbitmq 90 rabbit_up || die "RabbitMQ did not answer; see /var/log/rabbitmq/"
	say rabbitmq "ok (127.0.0.1:5672)"
}

ensure_optional() {
	# OpenSearch and the embeddings server have scripts of their own.
	[ -x "$here/opensearch.sh" ] && "$here/opensearch.sh" ensure
	[ -x "$here/embeddings.sh" ] && "$here/embeddings.sh" ensure
	[ -x "$here/pytools.sh" ] && "$here/pytools.sh" ensure
	return 0
}

status() {
	pg_isready -q -h 127.0.0.1 && say postgres up || say postgres down
	redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && say redis up || say redis down
	rabbit_up && say rabbitmq up || say rabbitmq down
	[ -x "$here/opensearch.sh" ] && "$here/opensearch.sh" status || true
}

case "${1:-ensure}" in
ensure) ensure_postgres; ensure_redis; ensure_rabbitmq; ensure_optional ;;
core) ensure_postgres; ensure_redis; ensure_rabbitmq ;;
status) status ;;
*) die "usage: $0 [ensure|core|status]" ;;
esac
