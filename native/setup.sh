#!/usr/bin/env bash
# Installs OpenBLAS (Debian: libopenblas-dev) when missing and builds the native kernels
# (native/build/coreface_native.node, see native/build.js). Idempotent; fast when both are in place.
# As root it runs apt-get; as any other user it prints the exact command and exits with status 1 (writing
# nothing). Test hook: COREFACE_SETUP_TEST_MISSING="libopenblas-dev g++" makes the named Debian packages count as
# missing (kernels-setup/README.md).
#
#   npm run native        (also part of `npm run setup`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

test_missing() { [[ " ${COREFACE_SETUP_TEST_MISSING:-} " == *" $1 "* ]]; }

headers="$(ls /usr/include/cblas.h /usr/include/*/cblas.h 2>/dev/null || true)"
libs="$(ldconfig -p 2>/dev/null || true)"
if test_missing libopenblas-dev || [ -z "$headers" ] || [[ "$libs" != *libopenblas.so* ]]; then
  if [ "$(id -u)" = "0" ]; then
    echo "[native] installing libopenblas-dev (OpenBLAS, Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends libopenblas-dev >/dev/null 2>&1 || {
      apt-get update >/dev/null && apt-get install -y --no-install-recommends libopenblas-dev >/dev/null
    }
  else
    echo "native/setup.sh: OpenBLAS (Debian libopenblas-dev) is missing; run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends libopenblas-dev" >&2
    echo "(or: sudo bash native/setup.sh)" >&2
    exit 1
  fi
fi
if test_missing g++ || ! { command -v g++ >/dev/null 2>&1 || command -v "${CXX:-g++}" >/dev/null 2>&1; }; then
  echo "native/setup.sh: no C++ compiler; run as root:" >&2
  echo "  sudo apt-get install -y --no-install-recommends g++" >&2
  exit 1
fi
node "$here/build.js"
