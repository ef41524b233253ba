#!/usr/bin/env bash
# npm run notebook [-- JUPYTER-NOTEBOOK-OPTIONS]
#
# Opens notebooks/ in Debian's Jupyter Notebook (classic Notebook 6.4; JupyterLab is not packaged in Debian) with
# the project's TypeScript kernel (tslab under .kernel/, seen through JUPYTER_PATH): a local server on 127.0.0.1,
# with a token; the browser opens the notebook list. Extra options go to jupyter-notebook, e.g.
#   npm run notebook -- --no-browser --port 8890
# dist/ is rebuilt first when a src/*.ts file is newer (the notebooks import the compiled library).
set -euo pipefail
cd "$(dirname "$0")/.."
export JUPYTER_PATH="$PWD/.kernel/share/jupyter"
export PYDEVD_DISABLE_FILE_VALIDATION=1   # silences debugpy's "frozen modules" warning on Python 3.11
if [ ! -x /usr/bin/jupyter-notebook ] || [ ! -f "$JUPYTER_PATH/kernels/tslab/kernel.json" ]; then
  echo "[notebook] Jupyter Notebook or the tslab kernel is missing: run 'npm run kernel:install' first" >&2
  exit 1
fi
node -e "require('./kernels-setup/link').ensureLink(process.cwd(), true)"
if [ ! -f dist/src/index.js ] || [ -n "$(find src -name '*.ts' -newer dist/src/index.js -print -quit)" ]; then
  echo "[notebook] dist/ is missing or older than src/: npm run build"
  npm run --silent build
fi
root=()
if [ "$(id -u)" = 0 ]; then root=(--allow-root); fi   # Jupyter refuses to run as root without it
exec /usr/bin/jupyter-notebook --ip=127.0.0.1 --notebook-dir="$PWD/notebooks" "${root[@]}" "$@"
