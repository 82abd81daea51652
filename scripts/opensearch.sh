#!/usr/bin/env bash
# A single-node OpenSearch on loopback for development and tests.
#
#   scripts/opensearch.sh ensure    assemble if missing, start if not running,
#                                   wait until the cluster is green/yellow
#   scripts/opensearch.sh stop      stop the node this script started
#   scripts/opensearch.sh status    say whether it runs (exit 0) or not (exit 3)
#   scripts/opensearch.sh smoke     check Nori, k-NN (lucene), geo_distance, _msearch
#   scripts/opensearch.sh assemble  only lay out the node home (lib/modules/plugins)
#
# The node is assembled from released artifacts on Maven Central by the Maven
# project in tools/opensearch-node (see docs/SEARCH-NODE.md). Production points
# OPENSEARCH_URL at a managed cluster and never runs this.
#
# Environment (all optional):
#   COUPONPOP_STATE            state root (default ~/.local/state/couponpop);
#                              data and logs go to $COUPONPOP_STATE/opensearch
#   XDG_CACHE_HOME             assembled node cached in
#                              $XDG_CACHE_HOME/couponpop/opensearch-<version>
#   OPENSEARCH_PORT            HTTP port on 127.0.0.1 (default 9200)
#   OPENSEARCH_HEAP_MIN/_MAX   JVM heap (default 512m / 1g)
#   OPENSEARCH_JAVA_OPTS       extra JVM flags
#   OPENSEARCH_START_TIMEOUT   seconds to wait for green/yellow (default 90)
#   OPENSEARCH_JAVA            java binary (default $JAVA_HOME/bin/java or java)
#   COUPONPOP_OPENSEARCH_RUN_AS  when run as root: "userns" (default where the
#                              kernel allows it) or "user" (system user couponpop)
set -euo pipefail

OS_VERSION=2.19.1 # keep in step with tools/opensearch-node/pom.xml
# Bump when assemble() below changes what it lays out, to rebuild cached nodes.
ASSEMBLY_REV=3

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_SRC=$ROOT_DIR/tools/opensearch-node
STATE_ROOT=${COUPONPOP_STATE:-$HOME/.local/state/couponpop}
OS_STATE=$STATE_ROOT/opensearch
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/couponpop
OS_HOME=$CACHE_ROOT/opensearch-$OS_VERSION
OS_HOST=127.0.0.1
OS_PORT=${OPENSEARCH_PORT:-9200}
OS_URL=http://$OS_HOST:$OS_PORT
PID_FILE=$OS_STATE/run/opensearch.pid
CLUSTER_NAME=couponpop
LOG_FILE=$OS_STATE/logs/$CLUSTER_NAME.log
STDOUT_LOG=$OS_STATE/logs/stdout.log
ASSEMBLE_LOG=$CACHE_ROOT/opensearch-$OS_VERSION-assemble.log
START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-90}
SERVICE_USER=couponpop

say() { printf 'opensearch: %s\n' "$*"; }
note() { printf 'opensearch: %s\n' "$*" >&2; }
die() {
	printf 'opensearch: ERROR: %s\n' "$*" >&2
	exit 1
}

# Prints the last lines of the node's logs, for failures.
show_logs() {
	local f
	for f in "$STDOUT_LOG" "$LOG_FILE"; do
		[[ -s $f ]] || continue
		printf '%s\n' "---- last lines of $f ----" >&2
		tail -n 40 "$f" >&2
	done
}

# ---------------------------------------------------------------- tools

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

find_java() {
	if [[ -n ${OPENSEARCH_JAVA:-} ]]; then
		JAVA=$OPENSEARCH_JAVA
	elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		JAVA=$JAVA_HOME/bin/java
	elif command -v java >/dev/null 2>&1; then
		JAVA=$(command -v java)
	else
		apt_install openjdk-17-jre-headless
		JAVA=$(command -v java)
	fi
	# "17.0.15" -> 17, "1.8.0_x" -> 8
	local v
	v=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}')
	v=${v#1.}
	JAVA_MAJOR=${v%%.*}
	[[ $JAVA_MAJOR =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA"
	((JAVA_MAJOR >= 11)) || die "OpenSearch $OS_VERSION needs Java 11 or newer; $JAVA is Java $JAVA_MAJOR"
}

need_maven() {
	command -v mvn >/dev/null 2>&1 || apt_install maven
	command -v javac >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
}

# ---------------------------------------------------------------- assemble

# A fingerprint of the assembly recipe: a change in tools/opensearch-node
# re-assembles the cached node.
recipe_stamp() {
	(
		cd "$NODE_SRC"
		printf '%s %s\n' "$OS_VERSION" "$ASSEMBLY_REV"
		find . -type f ! -name '*.swp' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	) | sha256sum | cut -d' ' -f1
}

assembled() {
	[[ -f $OS_HOME/.couponpop-recipe && $(cat "$OS_HOME/.couponpop-recipe") == "$(recipe_stamp)" ]]
}

assemble() {
	assembled && return 0
	need_maven
	mkdir -p "$CACHE_ROOT"
	note "assembling OpenSearch $OS_VERSION from Maven Central into $OS_HOME; cached for later runs"
	local tmp=$OS_HOME.new.$$ build=$OS_HOME.build.$$
	rm -rf "$tmp" "$build"
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp' '$build'" EXIT
	if ! mvn -B -q -Dstyle.color=never -f "$NODE_SRC/pom.xml" package \
		-Dnode.home="$tmp" -Dnode.build="$build" >"$ASSEMBLE_LOG" 2>&1; then
		tail -n 40 "$ASSEMBLE_LOG" >&2
		die "assembling the node failed (full log: $ASSEMBLE_LOG)"
	fi
	# A plugin's own copy of a library already in lib/ is "jar hell" to
	# OpenSearch: keep the one in lib/.
	local dir jar
	for dir in "$tmp"/modules/* "$tmp"/plugins/*; do
		for jar in "$dir"/*.jar; do
			[[ -e $jar && -e $tmp/lib/${jar##*/} ]] && rm -f "$jar"
		done
	done
	[[ -f $tmp/lib/opensearch-$OS_VERSION.jar ]] || die "assembly has no lib/opensearch-$OS_VERSION.jar"
	for dir in "$tmp"/modules/* "$tmp"/plugins/*; do
		[[ -f $dir/plugin-descriptor.properties ]] || die "assembly: $dir has no plugin-descriptor.properties"
	done
	# OpenSearch insists on a bin/ under its home (it grants itself access to it).
	mkdir -p "$tmp/bin"
	recipe_stamp >"$tmp/.couponpop-recipe"
	chmod -R a+rX "$tmp"
	rm -rf "$OS_HOME"
	mv "$tmp" "$OS_HOME"
	rm -rf "$build"
	trap - EXIT
}

# ---------------------------------------------------------------- process

# Prints the node's pid if the process in the pid file is our OpenSearch.
running_pid() {
	local pid
	[[ -s $PID_FILE ]] || return 1
	pid=$(tr -dc '0-9' <"$PID_FILE")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org.opensearch.bootstrap.OpenSearch' || return 1
	printf '%s\n' "$pid"
}

# Prints the cluster status (green/yellow/red) if the HTTP port answers.
health() {
	local body
	body=$(curl -fsS -m 5 "$OS_URL/_cluster/health" 2>/dev/null) || return 1
	[[ $body =~ \"status\":\"([a-z]+)\" ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# OpenSearch refuses to run as root. As root, run it either in a fresh user
# namespace (it then sees itself as "nobody" but keeps root's access to the
# files under root's home, and holds no privileges) or as a system user.
run_mode() {
	if [[ $(id -u) -ne 0 ]]; then
		echo direct
	elif [[ -n ${COUPONPOP_OPENSEARCH_RUN_AS:-} ]]; then
		echo "$COUPONPOP_OPENSEARCH_RUN_AS"
	elif unshare --user true 2>/dev/null; then
		echo userns
	else
		echo user
	fi
}

# Lets the system user reach (traverse) every directory above $1.
grant_traverse() {
	local d=$1
	while [[ $d != / && -n $d ]]; do
		if ! runuser -u "$SERVICE_USER" -- test -x "$d" 2>/dev/null; then
			command -v setfacl >/dev/null 2>&1 || apt_install acl
			setfacl -m "u:$SERVICE_USER:x" "$d"
		fi
		d=$(dirname "$d")
	done
}

prepare_user() {
	if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$SERVICE_USER" ||
			die "cannot create system user $SERVICE_USER"
	fi
	grant_traverse "$OS_HOME"
	grant_traverse "$OS_STATE"
	chown -R "$SERVICE_USER:" "$OS_STATE"
}

write_config() {
	mkdir -p "$OS_STATE"/{data,logs,config,tmp,run}
	cat >"$OS_STATE/config/opensearch.yml" <<-EOF
		# Written by scripts/opensearch.sh on every start; edit the script instead.
		cluster.name: $CLUSTER_NAME
		node.name: $CLUSTER_NAME-local
		path.data: $OS_STATE/data
		path.logs: $OS_STATE/logs
		network.host: $OS_HOST
		http.port: $OS_PORT
		transport.port: 9300-9399
		# one node, no discovery; this also skips the production bootstrap checks
		discovery.type: single-node
		# a developer's nearly full disk must not turn indices read-only
		cluster.routing.allocation.disk.threshold_enabled: false
	EOF
	cp "$NODE_SRC/config/log4j2.properties" "$OS_STATE/config/log4j2.properties"
}

start() {
	find_java
	write_config
	local mode
	mode=$(run_mode)

	local -a jvm=(
		"-Xms${OPENSEARCH_HEAP_MIN:-512m}" "-Xmx${OPENSEARCH_HEAP_MAX:-1g}"
		-XX:MaxDirectMemorySize=512m
		-XX:+UseG1GC
		-XX:-OmitStackTraceInFastThrow
		-XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$OS_STATE/tmp"
		"-XX:ErrorFile=$OS_STATE/logs/hs_err_pid%p.log"
		"-Djava.io.tmpdir=$OS_STATE/tmp" "-Djna.tmpdir=$OS_STATE/tmp"
		-Dfile.encoding=UTF-8 -Djava.awt.headless=true -Djna.nosys=true
		-Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
		-Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0
		-Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
	)
	((JAVA_MAJOR < 23)) && jvm+=("-Djava.locale.providers=SPI,COMPAT")
	((JAVA_MAJOR >= 18)) && jvm+=(-Djava.security.manager=allow)
	# shellcheck disable=SC2206
	[[ -n ${OPENSEARCH_JAVA_OPTS:-} ]] && jvm+=(${OPENSEARCH_JAVA_OPTS})
	jvm+=(
		"-Dopensearch.path.home=$OS_HOME" "-Dopensearch.path.conf=$OS_STATE/config"
		-Dopensearch.distribution.type=tar -Dopensearch.bundled_jdk=false
		-cp "$OS_HOME/lib/*" org.opensearch.bootstrap.OpenSearch -p "$PID_FILE"
	)

	local -a prefix=()
	case $mode in
	direct) ;;
	userns) prefix=(unshare --user) ;;
	user)
		prepare_user
		prefix=(runuser -u "$SERVICE_USER" --)
		;;
	*) die "COUPONPOP_OPENSEARCH_RUN_AS must be userns or user, not '$mode'" ;;
	esac

	rm -f "$PID_FILE"
	: >"$STDOUT_LOG"
	[[ $mode == user ]] && chown "$SERVICE_USER:" "$STDOUT_LOG"
	# Own session, no terminal: the node outlives the shell that started it.
	# fd 9 is the lock (see take_lock): the node must not inherit it.
	setsid "${prefix[@]}" "$JAVA" "${jvm[@]}" </dev/null >>"$STDOUT_LOG" 2>&1 9>&- &
	LAUNCHER_PID=$!
}

wait_healthy() {
	local deadline=$((SECONDS + START_TIMEOUT)) status
	while ((SECONDS < deadline)); do
		if status=$(health); then
			if [[ $status == green || $status == yellow ]]; then
				HEALTH=$status
				return 0
			fi
		fi
		if [[ -n ${LAUNCHER_PID:-} ]] && ! kill -0 "$LAUNCHER_PID" 2>/dev/null && ! running_pid >/dev/null; then
			show_logs
			die "the node exited during startup"
		fi
		sleep 0.5
	done
	show_logs
	die "no green/yellow cluster at $OS_URL after ${START_TIMEOUT}s (status: ${status:-no answer}); the node is left running, see $LOG_FILE"
}

# Serializes ensure/stop so parallel callers do not start two nodes.
take_lock() {
	mkdir -p "$OS_STATE"
	exec 9>"$OS_STATE/.lock"
	flock -w 300 9 || die "another scripts/opensearch.sh holds $OS_STATE/.lock"
}

cmd_ensure() {
	command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
	take_lock
	local pid status
	if pid=$(running_pid); then
		LAUNCHER_PID=
		wait_healthy
		say "running at $OS_URL (pid $pid, $HEALTH)"
		return 0
	fi
	if status=$(health); then
		[[ $status == green || $status == yellow ]] ||
			die "something not started by this script answers at $OS_URL with status $status"
		say "$OS_URL already answers ($status; not started by this script)"
		return 0
	fi
	assemble
	local t0=$SECONDS
	start
	wait_healthy
	pid=$(running_pid) || pid=$LAUNCHER_PID
	say "started OpenSearch $OS_VERSION at $OS_URL in $((SECONDS - t0))s (pid $pid, $HEALTH; logs in $OS_STATE/logs)"
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
	for ((i = 0; i < 120; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "pid $pid did not stop in 30s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$PID_FILE"
	say "stopped (pid $pid)"
}

cmd_status() {
	local pid status
	if pid=$(running_pid); then
		status=$(health) || status="not answering yet"
		say "running at $OS_URL (pid $pid, $status)"
		return 0
	fi
	if status=$(health); then
		say "$OS_URL answers ($status) but was not started by this script"
		return 0
	fi
	say "not running"
	return 3
}

cmd_assemble() {
	assemble
	say "assembled in $OS_HOME"
}

# ---------------------------------------------------------------- smoke

# http METHOD PATH [BODY] [CONTENT-TYPE]: prints the body; fails on non-2xx.
http() {
	local method=$1 path=$2 body=${3:-} ctype=${4:-application/json} out code
	out=$(mktemp)
	if [[ -n $body ]]; then
		code=$(curl -sS -m 30 -o "$out" -w '%{http_code}' -X "$method" -H "Content-Type: $ctype" \
			--data-binary "$body" "$OS_URL$path") || code=000
	else
		code=$(curl -sS -m 30 -o "$out" -w '%{http_code}' -X "$method" "$OS_URL$path") || code=000
	fi
	cat "$out"
	rm -f "$out"
	[[ $code == 2?? ]] || {
		printf '\n(HTTP %s from %s %s)\n' "$code" "$method" "$path" >&2
		return 1
	}
}

# check NAME PYTHON-EXPR JSON: evaluates EXPR with the parsed JSON as `r`.
check() {
	local name=$1 expr=$2 json=$3
	if ! python3 -c '
import json, sys
r = json.loads(sys.argv[2])
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" "$json" 2>/dev/null; then
		printf 'opensearch smoke: FAILED: %s\n  expected: %s\n  got: %s\n' "$name" "$expr" "${json:0:2000}" >&2
		return 1
	fi
}

cmd_smoke() {
	command -v python3 >/dev/null 2>&1 || apt_install python3
	local status r idx="couponpop-smoke-$$"
	status=$(health) || die "nothing answers at $OS_URL (run: scripts/opensearch.sh ensure)"
	[[ $status == green || $status == yellow ]] || die "cluster status is $status"
	# shellcheck disable=SC2064
	trap "curl -s -m 10 -X DELETE '$OS_URL/$idx' >/dev/null 2>&1 || true" EXIT

	r=$(http GET '/_cat/plugins?format=json')
	check "k-NN, Nori and k-NN guard plugins loaded" \
		'{"opensearch-knn", "couponpop-nori", "couponpop-knn-guard"} <= {p["component"] for p in r}' "$r"

	r=$(http POST /_analyze '{"tokenizer":"nori_tokenizer","text":"조용한 카페에서 커피"}')
	check "nori_tokenizer splits Korean morphemes" \
		'[t["token"] for t in r["tokens"]] == ["조용", "하", "ᆫ", "카페", "에서", "커피"]' "$r"
	r=$(http POST /_analyze '{"tokenizer":"standard","filter":["cjk_bigram"],"text":"조용한 카페"}')
	check "cjk_bigram (analysis-common) works" '"카페" in [t["token"] for t in r["tokens"]]' "$r"

	http PUT "/$idx" '{
	  "settings": {"index.knn": true, "number_of_shards": 1, "number_of_replicas": 0},
	  "mappings": {"properties": {
	    "name":     {"type": "text", "analyzer": "nori"},
	    "location": {"type": "geo_point"},
	    "embedding": {"type": "knn_vector", "dimension": 4,
	      "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}
	  }}
	}' >/dev/null

	r=$(http POST "/$idx/_bulk?refresh=true" '{"index":{"_id":"hongdae-cafe"}}
{"name":"조용한 카페","location":{"lat":37.5563,"lon":126.9236},"embedding":[1,0,0,0]}
{"index":{"_id":"gangnam-chicken"}}
{"name":"강남역 치킨집","location":{"lat":37.4979,"lon":127.0276},"embedding":[0,1,0,0]}
{"index":{"_id":"hongdae-coffee"}}
{"name":"홍대 커피 로스터리","location":{"lat":37.5571,"lon":126.9245},"embedding":[0.9,0.1,0,0]}
' application/x-ndjson)
	check "bulk indexing of 3 docs" 'not r["errors"] and len(r["items"]) == 3' "$r"

	r=$(http POST "/$idx/_search" '{"size":2,"query":{"knn":{"embedding":{"vector":[1,0,0,0],"k":2}}}}')
	check "knn query (lucene HNSW, cosine) ranks nearest vectors first" \
		'[h["_id"] for h in r["hits"]["hits"]] == ["hongdae-cafe", "hongdae-coffee"]' "$r"

	r=$(http POST "/$idx/_search" '{"query":{"bool":{"filter":{"geo_distance":{"distance":"1km","location":{"lat":37.5565,"lon":126.9240}}}}},
	  "sort":[{"_geo_distance":{"location":{"lat":37.5565,"lon":126.9240},"order":"asc","unit":"m"}}]}')
	check "geo_distance filter and distance sort" \
		'[h["_id"] for h in r["hits"]["hits"]] == ["hongdae-cafe", "hongdae-coffee"] and 0 < r["hits"]["hits"][0]["sort"][0] < 1000' "$r"

	r=$(http POST "/$idx/_search" '{"query":{"match":{"name":"카페"}}}')
	check "match query through the nori analyzer" '[h["_id"] for h in r["hits"]["hits"]] == ["hongdae-cafe"]' "$r"

	r=$(http POST /_msearch "{\"index\":\"$idx\"}
{\"query\":{\"match\":{\"name\":\"커피\"}}}
{\"index\":\"$idx\"}
{\"size\":1,\"query\":{\"knn\":{\"embedding\":{\"vector\":[0,1,0,0],\"k\":1}}}}
" application/x-ndjson)
	check "_msearch answers both searches" \
		'[[h["_id"] for h in x["hits"]["hits"]] for x in r["responses"]] == [["hongdae-coffee"], ["gangnam-chicken"]]' "$r"

	# A faiss/nmslib vector would kill this node (no native libraries): the
	# guard plugin must refuse such mappings, including the faiss default.
	local bad
	for bad in '{"name":"hnsw","engine":"faiss","space_type":"l2"}' '{"name":"hnsw","space_type":"l2"}'; do
		if r=$(http PUT "/$idx-native" "{\"settings\":{\"index.knn\":true},\"mappings\":{\"properties\":{\"v\":{\"type\":\"knn_vector\",\"dimension\":2,\"method\":$bad}}}}" 2>/dev/null); then
			http DELETE "/$idx-native" >/dev/null 2>&1 || true
			printf 'opensearch smoke: FAILED: a knn_vector mapping with method %s was accepted\n' "$bad" >&2
			return 1
		fi
		check "non-lucene knn_vector mapping refused with a hint" '"lucene" in r["error"]["reason"]' "$r"
	done

	http DELETE "/$idx" >/dev/null
	trap - EXIT
	echo "opensearch smoke: ok (nori, cjk_bigram, knn lucene hnsw, geo_distance, _msearch, knn engine guard)"
}

case ${1:-} in
ensure) cmd_ensure ;;
stop) cmd_stop ;;
status) cmd_status ;;
smoke) cmd_smoke ;;
assemble) cmd_assemble ;;
*)
	echo "usage: $0 ensure|stop|status|smoke|assemble" >&2
	exit 2
	;;
esac
