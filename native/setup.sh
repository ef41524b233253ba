#!/usr/bin/env bash
# Installs OpenBLAS (Debian: libopenblas-dev) when missing and builds the native kernels
# (native/build/coreface_native.node, see native/build.js). Idempotent; fast when both are in place.
# As root it runs apt-get; as any other user it prints the exact command and exits with status 1.
#
#   npm run native        (also part of `npm run setup`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

headers="$(ls /usr/include/cblas.h /usr/include/*/cblas.h 2>/dev/null || true)"
libs="$(ldconfig -p 2>/dev/null || true)"
if [ -z "$headers" ] || [[ "$libs" != *libopenblas.so* ]]; then
  if [ "$(id -u)" = "0" ]; then
    echo "[native] installing libopenblas-dev (OpenBLAS, Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends libopenblas-dev >/dev/null 2>&1 || {
      apt-get update >/dev/null && apt-get install -y --no-install-recommends libopenblas-dev >/dev/null
    }
  else
    echo "native/setup.sh: OpenBLAS headers missing; run as root: apt-get install -y libopenblas-dev" >&2
    exit 1
  fi
fi
command -v g++ >/dev/null 2>&1 || command -v "${CXX:-g++}" >/dev/null 2>&1 || {
  echo "native/setup.sh: no C++ compiler (apt-get install -y g++)" >&2
  exit 1
}
node "$here/build.js"
