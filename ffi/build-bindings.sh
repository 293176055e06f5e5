#!/usr/bin/env bash
# Builds the siteproof-ffi library on its own and generates its Kotlin, Swift and Python
# bindings (uniffi library mode) into target/bindings/{kotlin,swift,python}.
#
#   ffi/build-bindings.sh            # debug build
#   PROFILE=release ffi/build-bindings.sh
#
# The library is built with `-p siteproof-ffi` alone: building it together with the generator
# would unify features and link the generator into the mobile library. Prints the library's
# path as its last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

profile="${PROFILE:-debug}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
profile_flag=()
[[ "$profile" == release ]] && profile_flag=(--release)

case "$(uname -s)" in
  Darwin) lib_name=libsiteproof_ffi.dylib ;;
  *) lib_name=libsiteproof_ffi.so ;;
esac
lib="$target_dir/$profile/$lib_name"

echo "==> cargo build -p siteproof-ffi ${profile_flag[*]:-}" >&2
cargo build -p siteproof-ffi "${profile_flag[@]}" >&2
echo "==> cargo build -p siteproof-uniffi-bindgen" >&2
cargo build -p siteproof-uniffi-bindgen >&2

out="$target_dir/bindings"
rm -rf "$out/kotlin" "$out/swift" "$out/python"
"$target_dir/debug/uniffi-bindgen" "$lib" "$out" kotlin swift python >&2

# Python loads the library from the module's own folder.
ln -sf "$lib" "$out/python/$lib_name"

echo "==> bindings in $out/{kotlin,swift,python}" >&2
echo "$lib"
