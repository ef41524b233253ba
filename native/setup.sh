#!/usr/bin/env bash
# Installs OpenBLAS (Debian: libopenblas-dev, required) and oneDNN (libdnnl-dev, optional: the convolutions then run
# on it, ~2.5x faster than im2col + OpenBLAS) when missing, and builds the native kernels
# (native/build/coreface_native.node, see native/build.js). Idempotent; fast when everything is in place.
# As root it runs apt-get; as any other user it prints the exact command (exit 1 when OpenBLAS is missing; a missing
# oneDNN only prints the command and builds without it).
#
#   npm run native        (also part of `npm run setup`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

headers="$(ls /usr/include/cblas.h /usr/include/*/cblas.h 2>/dev/null || true)"
libs="$(ldconfig -p 2>/dev/null || true)"
missing=()
if [ -z "$headers" ] || [[ "$libs" != *libopenblas.so* ]]; then missing+=(libopenblas-dev); fi
if [ "${COREFACE_DNNL:-}" != "0" ] && { [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ] || [[ "$libs" != *libdnnl.so* ]]; }; then
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
    echo "native/setup.sh: OpenBLAS headers missing; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  else
    echo "native/setup.sh: oneDNN missing (optional, faster convolutions); run as root: apt-get install -y libdnnl-dev" >&2
  fi
fi
command -v g++ >/dev/null 2>&1 || command -v "${CXX:-g++}" >/dev/null 2>&1 || {
  echo "native/setup.sh: no C++ compiler (apt-get install -y g++)" >&2
  exit 1
}
node "$here/build.js"
