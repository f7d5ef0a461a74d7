#!/usr/bin/env bash
# Make sure headless Chromium (Debian's package) is there for the report's browser test.
# Quick and silent when it is installed; installs it with apt-get when missing and root;
# otherwise says so and leaves the test to skip itself with the reason.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing and cannot be installed here (needs root and apt-get); the browser test will be skipped" >&2
    exit 0
fi
echo "ensure-chromium: installing chromium (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends chromium >/dev/null \
        || echo "ensure-chromium: apt-get could not install chromium; the browser test will be skipped" >&2
fi
