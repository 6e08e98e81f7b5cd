#!/usr/bin/env bash
# Prints the comparison table: every contender on the same payload, in
# interleaved rounds (flags: -rounds N, -per DURATION), then cookie sizes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec go run ./cmd/table "$@"
