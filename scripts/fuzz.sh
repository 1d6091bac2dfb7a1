#!/usr/bin/env bash
# Runs every Go fuzz target for a bounded time (FUZZTIME, default 10s each),
# one after the other: go test fuzzes one target per invocation. A crash,
# hang or failed property stops the run with go test's report, and go test
# writes the input under the package's testdata/fuzz/<Target>/, where it
# becomes a regression seed once committed.
#
#   scripts/fuzz.sh               every target, FUZZTIME each
#   FUZZTIME=60s scripts/fuzz.sh  longer
#   FUZZFLAGS=-parallel=1 scripts/fuzz.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10s}"

# package target: the run and feedback decoders and the run merge, the
# /runs/multipart handler, the rules file decoder, the filter parser.
targets=(
	"./internal/runs FuzzDecodeRun"
	"./internal/runs FuzzDecodeFeedback"
	"./internal/runs FuzzMerge"
	"./internal/api FuzzMultipart"
	"./internal/rules FuzzParse"
	"./internal/filter FuzzParse"
)

for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "fuzz $pkg $name for $FUZZTIME"
	# shellcheck disable=SC2086 # FUZZFLAGS is a list of flags
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" ${FUZZFLAGS:-} "$pkg"
done
