#!/usr/bin/env bash
# Install Debian's Chromium for the end-to-end UI tests when it is missing.
# Never downloads a browser build of its own: Playwright is only the driver and is pointed at
# /usr/bin/chromium. Without root (or apt-get) it says what to do and leaves the choice to the tests,
# which skip with a reason locally and fail under CI=true.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "ensure-browser: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: /usr/bin/chromium is missing and this is not root;" \
       "install it with: sudo apt-get install -y chromium" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: /usr/bin/chromium is missing and apt-get is not available; install Chromium by hand." >&2
  exit 0
fi
echo "ensure-browser: installing Debian's chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null  # fonts: readable screenshots
/usr/bin/chromium --version
