"""Starts the project's tslab kernel (JUPYTER_PATH must point at .kernel/share/jupyter) and executes one cell.

Run by kernels-setup/install.sh with /usr/bin/python3. Exits non-zero with the kernel's output on failure.
"""
import os
import sys
import time

from jupyter_client.manager import start_new_kernel

CODE = "const answer: number = 6 * 7;\nconsole.log(`tslab ok ${answer} node ${process.version}`);"


def main() -> int:
    t0 = time.time()
    cwd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks")
    km, kc = start_new_kernel(kernel_name="tslab", cwd=cwd, startup_timeout=60)
    try:
        out, err = [], []

        def hook(msg):
            if msg["msg_type"] == "stream":
                (out if msg["content"]["name"] == "stdout" else err).append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                err.append("\n".join(msg["content"].get("traceback", [])))

        reply = kc.execute_interactive(CODE, timeout=60, output_hook=hook)
        text = "".join(out)
        if reply["content"]["status"] != "ok" or err or "tslab ok 42" not in text:
            print("[kernel] check FAILED: status %s\nstdout: %s\nstderr: %s" % (reply["content"]["status"], text, "".join(err)),
                  file=sys.stderr)
            return 1
        print("[kernel] one-cell check ok (%s) in %.1f s" % (text.strip(), time.time() - t0))
        return 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
