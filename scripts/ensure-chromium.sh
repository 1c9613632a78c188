#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium, for the web app's browser tests (Playwright
# drives it; no browser is downloaded from the internet). Idempotent; installing needs root.
set -uo pipefail

if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
  exit 1
fi
echo "ensure-chromium: installing Chromium"
DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium: chromium did not install" >&2
  exit 1
fi
echo "ensure-chromium: $(/usr/bin/chromium --version)"
