#!/usr/bin/env bash
# Builds the siteproof-ffi static library for iOS devices and simulators, generates the Swift
# bindings, and packs them for the demo:
#
#   ios-demo/Generated/SiteproofFFI.xcframework   static library + C header + module map
#   ios-demo/Generated/Siteproof.swift            the Swift API (compiled into the app)
#
# Run on a Mac with Xcode and rustup:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   ios-demo/build-xcframework.sh            # release build
#   PROFILE=debug ios-demo/build-xcframework.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

profile="${PROFILE:-release}"
flag=(); [[ "$profile" == release ]] && flag=(--release)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$here/Generated"

# The static library per platform; the two simulator architectures become one fat library.
for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build -p siteproof-ffi --target "$target" "${flag[@]}"
done
sim="$target_dir/ios-simulator/$profile"
mkdir -p "$sim"
lipo -create \
  "$target_dir/aarch64-apple-ios-sim/$profile/libsiteproof_ffi.a" \
  "$target_dir/x86_64-apple-ios/$profile/libsiteproof_ffi.a" \
  -output "$sim/libsiteproof_ffi.a"

# The Swift bindings, from the host build (the interface is the same on every target).
PROFILE=debug ffi/build-bindings.sh >/dev/null
swift="$target_dir/bindings/swift"

# Headers folder of the XCFramework: the C header and a module map named module.modulemap,
# so Swift can `import SiteproofFFI`.
headers="$target_dir/ios-headers"
rm -rf "$headers" && mkdir -p "$headers"
cp "$swift/SiteproofFFI.h" "$headers/"
cp "$swift/SiteproofFFI.modulemap" "$headers/module.modulemap"

rm -rf "$out" && mkdir -p "$out"
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/$profile/libsiteproof_ffi.a" -headers "$headers" \
  -library "$sim/libsiteproof_ffi.a" -headers "$headers" \
  -output "$out/SiteproofFFI.xcframework"
cp "$swift/Siteproof.swift" "$out/"
echo "==> $out/SiteproofFFI.xcframework and $out/Siteproof.swift"
