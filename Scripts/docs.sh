#!/usr/bin/env bash
# Builds the DocC documentation of the Descent library (Sources/Descent/Descent.docc and the
# `///` comments) and fails on any warning; checks that every public declaration has a `///`
# comment (Scripts/doc_coverage.py).
#   Scripts/docs.sh [OUTPUT_DIR]      # default: .build/docs
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build/docs}
python3 Scripts/doc_coverage.py --check | tail -n 1
swift package --allow-writing-to-directory "$out" generate-documentation --target Descent \
    --output-path "$out" --warnings-as-errors --disable-indexing
echo "documentation written to $out"
