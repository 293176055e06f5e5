#!/usr/bin/env bash
# pytest over the Python bindings, against a real server: builds the library and bindings
# (unless SKIP_BINDINGS=1), installs pytest if missing, starts `siteproof serve`, runs
# ffi/tests/python. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
source "$here/server.sh"

python3 -c "import pytest" 2>/dev/null || python3 -m pip install --quiet pytest
[[ "${SKIP_BINDINGS:-0}" == 1 ]] || "$root/ffi/build-bindings.sh" >/dev/null

scratch="$target_dir/ffi-tests/python"
rm -rf "$scratch" && mkdir -p "$scratch"
start_server "$scratch/server"

echo "==> pytest ffi/tests/python" >&2
cd "$here/python"
PYTHONPATH="$target_dir/bindings/python" python3 -m pytest -q -p no:cacheprovider \
  --basetemp "$scratch/tmp" .
