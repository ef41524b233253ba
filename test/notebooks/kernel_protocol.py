"""Talks to the project's tslab kernel over the Jupyter protocol and prints what it answered, as JSON.

    JUPYTER_PATH=.kernel/share/jupyter /usr/bin/python3 test/notebooks/kernel_protocol.py OUT.json

Used by test/notebooks/kernel.test.ts, which asserts on the JSON (the assertions live in the TypeScript test; this
helper only records; the JSON goes to a file because the kernel process shares this process's stdout). Each scenario records the shell reply content and the iopub messages (type + content) that
the request produced, between its `busy` and `idle` status messages.
"""
import json
import os
import queue
import sys
import time

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60


PENDING = {}  # iopub messages read while waiting for another request's, by parent msg_id


def collect_iopub(kc, msg_id, deadline):
    """The iopub messages of request msg_id up to its idle status (status messages themselves left out)."""
    out = []
    for msg in PENDING.pop(msg_id, []):
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                return out
            continue
        out.append({"type": msg["msg_type"], "content": msg["content"]})
    while time.time() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        parent = msg["parent_header"].get("msg_id")
        if parent != msg_id:
            PENDING.setdefault(parent, []).append(msg)
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        out.append({"type": msg["msg_type"], "content": msg["content"]})
    return out


def shell_reply(kc, msg_id, deadline):
    while True:
        msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return {"type": msg["msg_type"], "content": msg["content"]}


def execute(kc, code, **kw):
    deadline = time.time() + TIMEOUT
    msg_id = kc.execute(code, **kw)
    reply = shell_reply(kc, msg_id, deadline)
    return {"code": code, "reply": reply, "iopub": collect_iopub(kc, msg_id, deadline)}


def execute_queued(kc, codes, **kw):
    """Sends every request before reading any reply (as 'Run All' does); records them in order."""
    deadline = time.time() + TIMEOUT
    ids = [kc.execute(c, **kw) for c in codes]
    replies = {}
    while len(replies) < len(ids):
        msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        pid = msg["parent_header"].get("msg_id")
        if pid in ids:
            replies[pid] = {"type": msg["msg_type"], "content": msg["content"]}
    return [{"code": c, "reply": replies[i], "iopub": collect_iopub(kc, i, deadline)} for c, i in zip(codes, ids)]


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: kernel_protocol.py OUT.json", file=sys.stderr)
        return 2
    cwd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks")
    km, kc = start_new_kernel(kernel_name="tslab", cwd=cwd, startup_timeout=TIMEOUT)
    res = {}
    try:
        kc.kernel_info()
        res["kernel_info"] = kc.get_shell_msg(timeout=TIMEOUT)["content"]
        while True:  # start_new_kernel's own kernel_info leaves iopub status messages behind
            try:
                kc.get_iopub_msg(timeout=0.3)
            except queue.Empty:
                break
        res["value"] = execute(kc, "const answer = 6 * 7;\nanswer")
        res["string_value"] = execute(kc, "'abc'")
        res["undefined_value"] = execute(kc, "undefined")
        res["statement"] = execute(kc, "console.log('printed');")
        res["throw"] = execute(kc, "function fail(): never { throw new RangeError('boom'); }\nfail();")
        res["compile_error"] = execute(kc, "const bad: number = 'x';")
        res["async_reject"] = execute(kc, "await Promise.reject(new TypeError('later'));")
        # An error with requests already queued behind it: they are answered 'aborted', not run, not left silent.
        res["queued_after_error"] = execute_queued(kc, ["throw new Error('first');", "console.log('second');", "console.log('third');"])
        # A request sent right after the error reply arrived (what nbclient --allow-errors does) runs normally.
        res["right_after_error"] = execute(kc, "console.log('next cell ran');")
        # stop_on_error=False: the queue is not aborted.
        res["queued_no_stop"] = execute_queued(kc, ["throw new Error('tolerated');", "console.log('still ran');"], stop_on_error=False)
        res["silent"] = execute(kc, "6 * 7", silent=True)
        # One display_data with several MIME types (display.bundle, added by the patch).
        res["bundle"] = execute(kc, "import * as tslab from 'tslab';\n"
                                    "tslab.display.bundle({ 'text/plain': 'fig', 'image/png': new Uint8Array([137, 80, 78, 71]),"
                                    " 'application/vnd.plotly.v1+json': { data: [{ y: [1, 2] }] } });")
        res["is_complete"] = {}
        for code in ["1 + 1", "function f() { return 1; }", "const a = <number>(1 as unknown);", "function f() {",
                     "const x = [", "let y = ", "`abc", "const = ;", "}", "a b", "const = ; function g() {", "'abc"]:
            kc.is_complete(code)
            res["is_complete"][code] = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    with open(sys.argv[1], "w") as f:
        json.dump(res, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
