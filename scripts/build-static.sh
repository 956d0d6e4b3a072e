#!/bin/sh
# Builds the static, CGO-free pregon binary. The Dockerfile runs exactly this
# script, and e2e/docker_build_test.go runs it too, so `make test` proves that
# the image's build yields a binary that starts and answers /api/health.
set -eu
out="${1:-bin/pregon}"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out" .
