"""Jupyter kernel conformance (Debian python3-jupyter-kernel-test) against the project's tslab kernel.

    /usr/bin/python3 kernels-setup/conformance.py -v

Uses .kernel/share/jupyter (npm run kernel:install registers the kernel there). The kernel is tslab 1.0.22 with
patches/tslab+1.0.22.patch applied (npm install runs patch-package): every applicable test passes; the table before
and after the patch, and the tests that do not apply, are in docs/notebooks.md.
"""
import os
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ["JUPYTER_PATH"] = os.path.join(ROOT, ".kernel", "share", "jupyter")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
os.chdir(os.path.join(ROOT, "notebooks"))  # the kernel resolves packages from its working directory

import jupyter_kernel_test  # noqa: E402


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tslab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = "console.log('hello, world');"
    code_stderr = "console.error('some error');"
    code_generate_error = "throw new Error('conformance error');"
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'abc'", "result": "'abc'"},
    ]
    code_display_data = [
        {"code": "import * as tslab from 'tslab';\ntslab.display.html('<b>hi</b>');", "mime": "text/html"},
        {"code": "import * as tslab from 'tslab';\ntslab.display.png(new Uint8Array([137, 80, 78, 71]));", "mime": "image/png"},
    ]
    completion_samples = [
        {"text": "const longVariableName = 1;\nlongVariab", "matches": {"longVariableName"}},
        {"text": "Math.ma", "matches": {"max"}},
    ]
    complete_code_samples = ["1 + 1", "function f() { return 1; }", "const n = <number>(1 as unknown);"]
    incomplete_code_samples = ["function f() {", "const x = [", "let y = ", "const s = `a"]
    invalid_code_samples = ["const = ;", "}", "const = ; function g() {"]
    code_inspect_sample = "Math.max"
    code_page_something = ""      # tslab has no pager
    code_history_pattern = ""     # tslab implements no history
    code_clear_output = ""        # no clear_output API in tslab's display


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:])
