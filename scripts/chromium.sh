#!/usr/bin/env bash
# chromium.sh — make sure a headless-capable Chromium is installed for the
# merchant page's browser test (internal/dashboard). Idempotent: when the
# browser is already there it only prints its path and version.
#
#   scripts/chromium.sh [ensure]   install Debian's chromium if missing
#   scripts/chromium.sh path       print the browser's path (exit 1 if none)
#
# The test finds the browser through CHROME_PATH or the names below, so a
# machine with Google Chrome instead of Debian's chromium works too.
set -euo pipefail

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

find_browser() {
	if [ -n "${CHROME_PATH:-}" ] && [ -x "$CHROME_PATH" ]; then
		echo "$CHROME_PATH"
		return 0
	fi
	local b
	for b in chromium chromium-browser google-chrome-stable google-chrome headless-shell; do
		if command -v "$b" >/dev/null 2>&1; then
			command -v "$b"
			return 0
		fi
	done
	return 1
}

ensure() {
	if ! find_browser >/dev/null; then
		echo "chromium    install"
		sudo_ apt-get update -qq
		# fonts-liberation gives the screenshots legible text without any
		# network fonts; the page itself uses system fonts only.
		sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-liberation >/dev/null
	fi
	local b
	b=$(find_browser) || { echo "chromium: not found after install" >&2; exit 1; }
	printf '%-12s %s (%s)\n' chromium "$b" "$("$b" --version 2>/dev/null | head -1)"
}

case "${1:-ensure}" in
ensure) ensure ;;
path) find_browser ;;
*) echo "usage: $0 [ensure|path]" >&2; exit 2 ;;
esac
