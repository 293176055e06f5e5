#!/usr/bin/env bash
# Runs every test siteproof has, installing what they need first. This is the README's test
# command and what CI runs (.ci/run). Safe to run again: installs are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Test tools: tuspy (a standard tus client the media tests upload with)"
python3 -c "import tusclient" 2>/dev/null || python3 -m pip install --quiet tuspy

step "Rust workspace tests (core, server, cli, cross-crate scenarios)"
cargo test --workspace --exclude siteproof-ffi --exclude siteproof-uniffi-bindgen

step "Format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --exclude siteproof-ffi --exclude siteproof-uniffi-bindgen --all-targets -- -D warnings
cargo clippy -p siteproof-ffi --all-targets -- -D warnings
