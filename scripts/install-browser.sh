#!/usr/bin/env bash
# Install the browser the HTML report's tests drive: Debian's chromium package, at /usr/bin/chromium.
# Playwright's own browser download is not used (`playwright install` fetches a build of its own);
# the tests point Playwright at this one. Does nothing when the browser is already there, so the
# test fixture that calls it costs nothing after the first run.
set -euo pipefail

BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install-browser.sh: $BROWSER is missing and installing it needs root: run" \
    "'apt-get install chromium' as root, or this script with sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser.sh: $BROWSER is missing and apt-get is not available: install" \
    "Chromium so that $BROWSER runs it" >&2
  exit 1
fi

# Two test processes (pytest-xdist workers) may ask at once: one installs, the other waits for it.
exec 9>"${TMPDIR:-/tmp}/arcanos-install-browser.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if [ -x "$BROWSER" ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
if [ ! -x "$BROWSER" ]; then
  echo "install-browser.sh: apt-get installed chromium but $BROWSER is not there" >&2
  exit 1
fi
echo "install-browser.sh: installed $("$BROWSER" --version 2>/dev/null || echo chromium)"
