#!/usr/bin/env bash
# Installs every package Papillon needs to build, test and run, on Debian 12 (bookworm) and 13 (trixie):
# the names are the same on both. Idempotent.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format
  libtorch-dev libopenblas0-pthread libgoogle-glog-dev libgflags-dev libprotobuf-dev
  nlohmann-json3-dev libsentencepiece-dev libicu-dev
  qt6-base-dev qt6-base-dev-tools qt6-declarative-dev qt6-declarative-dev-tools
  qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
  qml6-module-qtquick-window qml6-module-qtquick-templates qml6-module-qtquick-dialogs
  qml6-module-qtqml-workerscript qml6-module-qtquick-shapes qml6-module-qttest
  qml6-module-qt-labs-settings qml6-module-qt-labs-folderlistmodel qml6-module-qtcore
  libgl-dev libxkbcommon-dev xvfb xauth fonts-wqy-microhei
  dataset-fashion-mnist
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
