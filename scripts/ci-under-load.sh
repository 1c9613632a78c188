#!/usr/bin/env bash
# The suite on a busy machine (issue 19): a clean clone of HEAD, then CI's own `.ci/run` with
# `stress-ng --cpu N` (default 2: every core busy) beside it. Prints the exit code and duration.
# Run two at once (STUN_LOAD_CPUS=0 each) to load the machine with a second suite instead.
#   bash scripts/ci-under-load.sh [DIR]        (default DIR: a new temporary directory)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$(mktemp -d -t stun-ci-XXXXXX)}"
cpus="${STUN_LOAD_CPUS:-2}"
rm -rf "$dir" && git clone -q "$repo" "$dir" || exit 1
cd "$dir" || exit 1
stress=""
if [ "$cpus" != 0 ]; then
  command -v stress-ng >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq stress-ng >/dev/null; }
  stress-ng --cpu "$cpus" --timeout 5400s >/dev/null 2>&1 &
  stress=$!
fi
start=$(date +%s)
CI=true bash .ci/run > "$dir.log" 2>&1
rc=$?
[ -n "$stress" ] && kill "$stress" 2>/dev/null
echo "rc=$rc duration=$(( $(date +%s) - start ))s commit=$(git rev-parse --short HEAD) load=stress-ng×$cpus log=$dir.log"
exit $rc
