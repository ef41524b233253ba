"""Executes TypeScript notebooks headless through the project's tslab kernel (called by kernels-setup/notebooks.js).

    /usr/bin/python3 kernels-setup/run_notebooks.py --out results/notebooks [--update] [--timeout S] NB.ipynb ...

- Runs each notebook's code cells in order in a fresh kernel started in the notebook's folder.
- The kernel is tslab with patches/tslab+1.0.22.patch: an error (TypeScript diagnostics, an exception) is an
  `error` output (ename, evalue, traceback) plus an execute_reply with status 'error'. A cell fails when its reply
  status is not 'ok' or it has an `error` output; the runner stops at the first failing cell and prints the cell's
  source, its error and its stderr. (stderr alone is not a failure: the library prints its backend line and
  warnings there.)
- Writes the executed copy to <out>/<name>.ipynb (also a partial one on failure) and <out>/timings.json.
- With --update, copies each successfully executed notebook back over the source with its outputs, after
  stripping (strip_notebook): a plotly output keeps its PNG and its figure JSON when that is at most
  --max-plotly-kb, and loses its HTML (the plotly.js loader and the drawing script); other outputs larger than
  --max-output-kb are replaced by a note; execution timing metadata is dropped.
Exit status: 0 all passed, 1 a cell failed, 2 bad usage.
"""
import argparse
import copy
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


class Failure(Exception):
    pass


def output_size(out) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    data = out.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


PLOTLY_MIME = "application/vnd.plotly.v1+json"


def is_plotly_html(data) -> bool:
    html = data.get("text/html")
    if html is None:
        return False
    text = "".join(html) if isinstance(html, list) else html
    return "Plotly.newPlot" in text


def strip_plotly(out, max_plotly_kb: int):
    """A plotly output for committing: PNG and text kept, HTML dropped, figure JSON kept when small; None when
    nothing static is left (an HTML-only figure)."""
    data = dict(out.get("data", {}))
    data.pop("text/html", None)
    if PLOTLY_MIME in data and len(json.dumps(data[PLOTLY_MIME])) > max_plotly_kb * 1024:
        del data[PLOTLY_MIME]
    if "image/png" not in data and PLOTLY_MIME not in data:
        return None
    out = copy.deepcopy(out)
    out["data"] = data
    return out


def strip_notebook(nb, max_kb: int, max_plotly_kb: int = 16):
    """Small committed outputs: plotly outputs reduced to PNG (+ small figure JSON), huge outputs and volatile
    metadata dropped."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") in ("display_data", "execute_result"):
                out.get("metadata", {}).pop("transient", None)
                out.pop("transient", None)
                data = out.get("data", {})
                if PLOTLY_MIME in data or is_plotly_html(data):
                    out = strip_plotly(out, max_plotly_kb)
                    if out is None:
                        kept.append(nbformat.v4.new_output("stream", name="stdout", text="[interactive plotly output removed: see results/notebooks/plots/]\n"))
                        continue
            if output_size(out) > max_kb * 1024:
                kept.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text="[output of %d KB removed; run `npm run notebooks` to see it in results/notebooks/]\n" % (output_size(out) // 1024)))
                continue
            kept.append(out)
        cell["outputs"] = kept
    return nb


def stderr_of(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stderr")


def error_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append("%s: %s\n%s" % (out.get("ename", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))))
    return "\n".join(parts)


def run_one(path: str, out_dir: str, timeout: int, kernel: str):
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    replies = {}

    client = NotebookClient(
        nb, kernel_name=kernel, timeout=timeout, allow_errors=True, record_timing=False,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    # nbclient calls this hook with every cell's execute_reply (allow_errors=True: the runner, not nbclient,
    # decides what a failure is and reports it).
    client.on_cell_executed = lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply)

    t0 = time.time()
    cell_times = []
    failure = None
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            c0 = time.time()
            try:
                client.execute_cell(cell, i)
            except CellTimeoutError:
                failure = (i, "timed out after %d s" % timeout)
                break
            except DeadKernelError as e:
                failure = (i, "kernel died: %s" % e)
                break
            cell_times.append((i, time.time() - c0))
            reply = replies.get(i) or {}
            status = (reply.get("content") or {}).get("status", "missing reply")
            has_error_output = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if status != "ok" or has_error_output:
                failure = (i, "status %s" % status)
                break
    wall = time.time() - t0
    os.makedirs(out_dir, exist_ok=True)
    out_path = os.path.join(out_dir, name)
    nbformat.write(nb, out_path)
    if failure:
        i, why = failure
        cell = nb.cells[i]
        code_no = sum(1 for c in nb.cells[: i + 1] if c.cell_type == "code")
        msg = ["[notebooks] FAILED %s: code cell %d (cell index %d) %s after %.1f s" % (name, code_no, i, why, wall),
               "----- cell source -----", cell.source.rstrip(),
               "----- cell error -----", error_of(cell).rstrip() or "(no error output)",
               "----- cell stderr -----", stderr_of(cell).rstrip() or "(no stderr)", "-----------------------",
               "[notebooks] partial executed copy: %s" % out_path]
        raise Failure("\n".join(msg))
    slowest = sorted(cell_times, key=lambda t: -t[1])[:3]
    return nb, wall, slowest, out_path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--max-output-kb", type=int, default=200)
    ap.add_argument("--max-plotly-kb", type=int, default=16, help="figure JSON kept in committed copies up to this size")
    args = ap.parse_args()

    mode = os.environ.get("NOTEBOOK_MODE", "quick")
    timings_path = os.path.join(args.out, "timings.json")
    timings = {"mode": mode, "notebooks": {}}
    try:  # keep the entries of notebooks not run this time (same mode)
        with open(timings_path) as f:
            old = json.load(f)
        if old.get("mode") == mode:
            timings["notebooks"].update(old.get("notebooks", {}))
    except (OSError, ValueError):
        pass
    total0 = time.time()
    status = 0
    for path in args.notebooks:
        name = os.path.basename(path)
        print("[notebooks] %s (%s mode) ..." % (name, mode), flush=True)
        try:
            nb, wall, slowest, out_path = run_one(path, args.out, args.timeout, args.kernel)
        except Failure as e:
            print(str(e), file=sys.stderr, flush=True)
            timings["notebooks"][name] = {"ok": False}
            status = 1
            break
        size = os.path.getsize(out_path)
        timings["notebooks"][name] = {"ok": True, "seconds": round(wall, 1), "executedBytes": size,
                                      "slowestCells": [{"index": i, "seconds": round(s, 1)} for i, s in slowest]}
        line = "[notebooks] ok  %-26s %6.1f s  (slowest cells: %s)" % (
            name, wall, ", ".join("#%d %.1f s" % (i, s) for i, s in slowest))
        if args.update:
            stripped = strip_notebook(nb, args.max_output_kb, args.max_plotly_kb)
            nbformat.write(stripped, path)
            committed = os.path.getsize(path)
            timings["notebooks"][name]["committedBytes"] = committed
            line += "  -> %s (%.1f KB)" % (os.path.relpath(path), committed / 1024)
        print(line, flush=True)
    timings["lastRunSeconds"] = round(time.time() - total0, 1)
    os.makedirs(args.out, exist_ok=True)
    with open(timings_path, "w") as f:
        json.dump(timings, f, indent=2)
    print("[notebooks] %s in %.1f s; timings: %s" % ("all passed" if status == 0 else "FAILED", time.time() - total0,
                                                   os.path.relpath(timings_path)), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
