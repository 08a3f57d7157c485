#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those missing.
set -euo pipefail
pkgs=(
  build-essential pkg-config meson ninja-build clang clang-format clang-tidy libclang-rt-14-dev
  libuv1-dev libyaml-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler
  libsystemd-dev libjansson-dev check uthash-dev
  python3 python3-protobuf protobuf-compiler python3-dbusmock python3-yaml python3-dbus python3-prometheus-client
  dbus-daemon dbus-bin openssl default-jdk-headless systemd procps cppcheck prometheus-node-exporter duktape
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
