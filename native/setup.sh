#!/usr/bin/env bash
# Installs OpenBLAS (Debian: libopenblas-dev, required) and oneDNN (libdnnl-dev, optional: the convolutions then run
# on it, ~2.5x faster than im2col + OpenBLAS) when missing, and builds the native kernels
# (native/build/coreface_native.node, see native/build.js). Idempotent; fast when everything is in place.
# As root it runs apt-get; as any other user it prints the exact command (exit 1, writing nothing, when OpenBLAS or
# g++ is missing; a missing oneDNN only prints the command and builds without it). Test hook:
# COREFACE_SETUP_TEST_MISSING="libopenblas-dev libdnnl-dev g++" makes the named Debian packages count as missing
# (kernels-setup/README.md).
#
#   npm run native        (also part of `npm run setup`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

test_missing() { [[ " ${COREFACE_SETUP_TEST_MISSING:-} " == *" $1 "* ]]; }

headers="$(ls /usr/include/cblas.h /usr/include/*/cblas.h 2>/dev/null || true)"
libs="$(ldconfig -p 2>/dev/null || true)"
missing=()
if test_missing libopenblas-dev || [ -z "$headers" ] || [[ "$libs" != *libopenblas.so* ]]; then missing+=(libopenblas-dev); fi
if [ "${COREFACE_DNNL:-}" != "0" ] && { test_missing libdnnl-dev || [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ] || [[ "$libs" != *libdnnl.so* ]]; }; then
  missing+=(libdnnl-dev)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "[native] installing ${missing[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    } || [[ " ${missing[*]} " != *" libopenblas-dev "* ]] || exit 1
  elif [[ " ${missing[*]} " == *" libopenblas-dev "* ]]; then
    echo "native/setup.sh: OpenBLAS (Debian libopenblas-dev) is missing; run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "(or: sudo bash native/setup.sh)" >&2
    exit 1
  else
    echo "native/setup.sh: oneDNN is missing (optional: faster convolutions); run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends libdnnl-dev" >&2
  fi
fi
if test_missing g++ || ! { command -v g++ >/dev/null 2>&1 || command -v "${CXX:-g++}" >/dev/null 2>&1; }; then
  echo "native/setup.sh: no C++ compiler; run as root:" >&2
  echo "  sudo apt-get install -y --no-install-recommends g++" >&2
  exit 1
fi
node "$here/build.js"
