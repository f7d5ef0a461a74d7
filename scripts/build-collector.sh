#!/usr/bin/env bash
# Build the collector distribution described by collector/manifest.yaml with the
# OpenTelemetry Collector Builder, once. The binary is cached outside the repository,
# keyed by the manifest and the Go version, so reruns and fresh clones on the same
# machine reuse it; build/otelcol-tau2 links to it.
#
#   TAU2OBSERVE_CACHE  cache root (default ~/.cache/tau2observe)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$repo/collector/manifest.yaml"
cache="${TAU2OBSERVE_CACHE:-$HOME/.cache/tau2observe}/collector"
link="$repo/build/otelcol-tau2"

if ! command -v go >/dev/null 2>&1; then
    echo "build-collector: the Go toolchain ('go') is not on PATH; it is needed to build the collector" >&2
    exit 1
fi

version="$(sed -n 's/^  version: *//p' "$manifest" | head -n1)"
if [[ -z "$version" ]]; then
    echo "build-collector: no 'dist.version' in $manifest" >&2
    exit 1
fi
go_version="$(go env GOVERSION)"
key="$( { cat "$manifest"; echo "$go_version"; } | sha256sum | cut -c1-16)"
dir="$cache/$key"
binary="$dir/otelcol-tau2"

# Module and build caches live under the cache root too: a manifest change rebuilds
# incrementally instead of downloading the datadog exporter's dependency tree again.
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOPATH="$cache/go"
mkdir -p "$cache"

if [[ ! -x "$binary" ]]; then
    # One build at a time per cache, even when several checkouts run `make collector`.
    exec 9>"$cache/.lock"
    flock 9
    if [[ ! -x "$binary" ]]; then
        ocb_dir="$cache/tools/builder-v$version"
        if [[ ! -x "$ocb_dir/builder" ]]; then
            echo "build-collector: installing the collector builder v$version" >&2
            GOBIN="$ocb_dir" go install "go.opentelemetry.io/collector/cmd/builder@v$version"
        fi
        work="$dir.work"
        rm -rf "$work"
        mkdir -p "$work"
        cp "$manifest" "$work/manifest.yaml"
        echo "build-collector: building collector $version with $go_version (several minutes the first time)" >&2
        started=$SECONDS
        # GOFLAGS=-e reaches only the go commands that know -e (ocb's `go mod tidy`, which
        # also resolves the test-only dependencies of every component, some of which the
        # module proxy does not serve). `go build` still fails if anything the binary
        # needs is missing.
        (cd "$work" && GOFLAGS=-e CGO_ENABLED=0 "$ocb_dir/builder" --config manifest.yaml)
        mkdir -p "$dir"
        mv "$work/src/otelcol-tau2" "$binary.tmp"
        mv "$binary.tmp" "$binary"
        rm -rf "$work"
        echo "build-collector: built in $((SECONDS - started)) s: $binary" >&2
    fi
fi

mkdir -p "$(dirname "$link")"
ln -sfn "$binary" "$link"
echo "$link -> $binary"
