#!/usr/bin/env bash
# deploy/ecs/render.sh FILE: print FILE with its ${PLACEHOLDERS} filled in from
# the environment, ready for `aws ... --cli-input-json file://...`.
#
# Only the placeholders listed below are substituted (envsubst with an explicit
# list), so any other "$" in a file -- such as the shell variable the worker's
# fcm-credentials init container expands at run time -- is left alone. A
# placeholder that is not listed, a listed one that is unset or empty or holds
# a character that would need JSON escaping, and output that is not valid JSON
# are errors.
set -euo pipefail

PLACEHOLDERS=(
	AWS_ACCOUNT_ID
	AWS_REGION
	IMAGE
	ECS_CLUSTER
	SUBNET_A
	SUBNET_B
	SECURITY_GROUP_ID
	VPC_ID
	API_TARGET_GROUP_ARN
	BATCH_TASK_DEFINITION_ARN
	REDIS_ADDR
	EMBEDDINGS_URL
	FCM_PROJECT_ID
)

if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
	echo "usage: $0 deploy/ecs/FILE.json" >&2
	exit 2
fi
file="$1"

used="$(grep -o '[$][{][A-Za-z_][A-Za-z0-9_]*[}]' "$file" | sort -u || true)"
missing=()
for placeholder in $used; do
	name="${placeholder#\$\{}"
	name="${name%\}}"
	known=""
	for p in "${PLACEHOLDERS[@]}"; do
		if [ "$p" = "$name" ]; then
			known=1
		fi
	done
	if [ -z "$known" ]; then
		echo "render: $file uses \${$name}, which render.sh does not know" >&2
		exit 1
	fi
	value="${!name:-}"
	if [ -z "$value" ]; then
		missing+=("$name")
	fi
	case "$value" in
	*'"'* | *\\* | *[[:cntrl:]]*)
		echo "render: \$$name must not contain quotes, backslashes or control characters" >&2
		exit 1
		;;
	esac
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "render: $file needs ${missing[*]} set in the environment" >&2
	exit 1
fi

# The list envsubst substitutes, e.g. '${AWS_REGION} ${IMAGE}'.
# shellcheck disable=SC2016 # the dollar signs are for envsubst, not the shell
shell_format="$(printf '${%s} ' "${PLACEHOLDERS[@]}")"
out="$(envsubst "$shell_format" <"$file")"
if ! printf '%s' "$out" | jq -e . >/dev/null; then
	echo "render: $file is not valid JSON after substitution" >&2
	exit 1
fi
printf '%s\n' "$out"
