"""Starts the project's tslab kernel (JUPYTER_PATH must point at .kernel/share/jupyter) and executes one cell.

Run by kernels-setup/install.sh with /usr/bin/python3. Exits non-zero with the kernel's output on failure, also when
the cell's last value does not come back as an execute_result: then tslab runs without patches/tslab+1.0.22.patch
(e.g. after `npm install --ignore-scripts`) and `npx patch-package` applies it.
"""
import os
import sys
import time

from jupyter_client.manager import start_new_kernel

CODE = "const answer: number = 6 * 7;\nconsole.log(`tslab ok ${answer} node ${process.version}`);\nanswer"


def main() -> int:
    t0 = time.time()
    cwd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks")
    km, kc = start_new_kernel(kernel_name="tslab", cwd=cwd, startup_timeout=60)
    try:
        out, err, results = [], [], []

        def hook(msg):
            if msg["msg_type"] == "execute_result":
                results.append(msg["content"]["data"].get("text/plain"))
            elif msg["msg_type"] == "stream":
                (out if msg["content"]["name"] == "stdout" else err).append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                err.append("\n".join(msg["content"].get("traceback", [])))

        reply = kc.execute_interactive(CODE, timeout=60, output_hook=hook)
        text = "".join(out)
        if reply["content"]["status"] != "ok" or err or "tslab ok 42" not in text:
            print("[kernel] check FAILED: status %s\nstdout: %s\nstderr: %s" % (reply["content"]["status"], text, "".join(err)),
                  file=sys.stderr)
            return 1
        if results != ["42"]:
            print("[kernel] check FAILED: the cell's last value came back as %r, not as an execute_result '42': tslab is "
                  "not patched (patches/tslab+1.0.22.patch); run `npx patch-package`, then this again" % (results or text),
                  file=sys.stderr)
            return 1
        print("[kernel] one-cell check ok (%s, execute_result %s) in %.1f s" % (text.strip(), results[0], time.time() - t0))
        return 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
