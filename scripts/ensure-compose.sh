#!/usr/bin/env bash
# Make sure a Docker Compose is there to validate docker-compose.yml (no engine needed):
# the docker plugin if present, else Debian's docker-compose, installed when missing and root.
set -euo pipefail

if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-compose: no Docker Compose and cannot install it here (needs root and apt-get); the compose check will be skipped" >&2
    exit 0
fi
echo "ensure-compose: installing docker-compose (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends docker-compose >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends docker-compose >/dev/null \
        || echo "ensure-compose: apt-get could not install docker-compose; the compose check will be skipped" >&2
fi
