#!/usr/bin/env bash
# npm run kernel:install
#
# Sets up everything the TypeScript notebooks need, idempotently (a second run takes a few seconds):
#   0. a check that tslab is installed and its zeromq native binary loads (else: the cause and the fix, exit 1);
#   1. Jupyter from Debian (jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel, and jupyter-notebook:
#      the classic Notebook 6.4 that `npm run notebook` opens; JupyterLab is not packaged in Debian; and
#      python3-jupyter-kernel-test, the conformance suite of test/notebooks/kernel.test.ts), when missing;
#   2. Debian chromium, when missing (plotly figures are rendered to PNG through it);
#   3. the project's own tslab registered as a kernel under the project-local prefix .kernel/
#      (use it with JUPYTER_PATH=$PWD/.kernel/share/jupyter; nothing global is touched);
#   4. the link notebooks/node_modules/coreface-lab -> .. so notebooks can `import ... from 'coreface-lab'`;
#   5. dist/ built (npm run build) when missing;
#   6. a check that the kernel is listed and executes one cell.
# Without root, missing Debian packages are reported with the exact command to run, and the script exits 1
# (nothing is written then). Test hook: COREFACE_SETUP_TEST_MISSING="pkg ..." makes the Debian packages named
# there count as missing (test/setup/nonroot.test.ts; see kernels-setup/README.md).
# Options: --no-chromium (skip 2), --no-check (skip 6).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY=/usr/bin/python3
KERNEL_PREFIX="$ROOT/.kernel"
export JUPYTER_PATH="$KERNEL_PREFIX/share/jupyter"
export PYDEVD_DISABLE_FILE_VALIDATION=1   # silences debugpy's "frozen modules" warning on Python 3.11
WANT_CHROMIUM=1
CHECK=1
for a in "$@"; do
  case "$a" in
    --no-chromium) WANT_CHROMIUM=0 ;;
    --no-check) CHECK=0 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "[kernel] unknown option '$a' (allowed: --no-chromium, --no-check)" >&2; exit 2 ;;
  esac
done
t0=$(date +%s)
say() { echo "[kernel] $*"; }

# ---- 0: the npm side: tslab installed, its zeromq binary loads ------------------------------------------------
TSLAB_BIN="$ROOT/node_modules/.bin/tslab"
if [ ! -x "$TSLAB_BIN" ]; then
  echo "[kernel] $TSLAB_BIN not found: run 'npm install' first" >&2
  exit 1
fi
node "$ROOT/kernels-setup/check_zeromq.js" >/dev/null || exit 1   # prints the cause and the fix on stderr

# ---- 1 + 2: Debian packages -------------------------------------------------------------------------------
JUPYTER_DEBS=(jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)
# test hook: true when one of the named packages is listed in COREFACE_SETUP_TEST_MISSING
test_missing() {
  local p
  for p in "$@"; do [[ " ${COREFACE_SETUP_TEST_MISSING:-} " == *" $p "* ]] && return 0; done
  return 1
}
missing=()
have_jupyter() {
  ! test_missing "${JUPYTER_DEBS[@]}" && [ -x /usr/bin/jupyter ] && [ -x "$PY" ] &&
    "$PY" -c 'import nbclient, nbformat, jupyter_client, ipykernel' 2>/dev/null
}
have_chromium() { ! test_missing chromium && [ -x /usr/bin/chromium ]; }
have_notebook() { ! test_missing jupyter-notebook && [ -x /usr/bin/jupyter-notebook ] && "$PY" -c 'import notebook' 2>/dev/null; }
have_kernel_test() { ! test_missing python3-jupyter-kernel-test && "$PY" -c 'import jupyter_kernel_test' 2>/dev/null; }
if ! have_jupyter; then missing+=("${JUPYTER_DEBS[@]}"); fi
if ! have_notebook; then missing+=(jupyter-notebook); fi
if ! have_kernel_test; then missing+=(python3-jupyter-kernel-test); fi
if [ "$WANT_CHROMIUM" = 1 ] && ! have_chromium; then missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[kernel] missing Debian packages: ${missing[*]}" >&2
    echo "[kernel] run as root:  sudo sh -c '$cmd'" >&2
    echo "[kernel] then run 'npm run kernel:install' again" >&2
    exit 1
  fi
else
  say "Debian packages present (jupyter, jupyter-notebook$([ "$WANT_CHROMIUM" = 1 ] && echo ', chromium'))"
fi

# ---- 3: the project's tslab as a project-local kernel --------------------------------------------------------
SPEC="$JUPYTER_PATH/kernels/tslab/kernel.json"
if [ -f "$SPEC" ] && grep -q "\"$TSLAB_BIN\"" "$SPEC"; then
  say "tslab kernel already registered under .kernel/"
else
  say "registering tslab (node_modules/.bin/tslab) under .kernel/"
  "$TSLAB_BIN" install --python="$PY" --binary="$TSLAB_BIN" --prefix="$KERNEL_PREFIX" >/dev/null
fi

# ---- 4: library link for the notebooks -----------------------------------------------------------------------
node "$ROOT/kernels-setup/link.js"

# ---- 5: compiled library -------------------------------------------------------------------------------------
if [ ! -f "$ROOT/dist/src/index.js" ]; then
  say "dist/ missing: npm run build"
  npm run --silent build
fi

# ---- 6: verification -----------------------------------------------------------------------------------------
if [ "$CHECK" = 1 ]; then
  # the listing is captured first: `jupyter ... | grep -q` under pipefail fails whenever jupyter's exit status is
  # not 0 even though grep matched (a clean-clone CI run failed here once with the kernel listed)
  specs=$(/usr/bin/jupyter kernelspec list 2>&1) || true
  if ! grep -qF "$JUPYTER_PATH/kernels/tslab" <<<"$specs"; then
    echo "[kernel] 'jupyter kernelspec list' does not show $JUPYTER_PATH/kernels/tslab:" >&2
    echo "$specs" >&2
    exit 1
  fi
  say "kernelspec: $(grep -F "$JUPYTER_PATH/kernels/tslab" <<<"$specs" | sed 's/^ *//')"
  "$PY" "$ROOT/kernels-setup/check_kernel.py"
fi
say "ready in $(( $(date +%s) - t0 )) s. Open the notebooks: npm run notebook   (headless: npm run notebooks; see kernels-setup/README.md)"
