import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The patched tslab kernel (patches/tslab+1.0.22.patch) over the real Jupyter protocol: jupyter_client on
// /usr/bin/python3 starts it (test/notebooks/kernel_protocol.py records the replies as JSON; the assertions are here),
// and Debian's jupyter-kernel-test suite runs against it (kernels-setup/conformance.py).

const ROOT = path.resolve(__dirname, '..', '..');
const PY = '/usr/bin/python3';
const JUPYTER_PATH = path.join(ROOT, '.kernel', 'share', 'jupyter');
const ENV = { ...process.env, JUPYTER_PATH, PYDEVD_DISABLE_FILE_VALIDATION: '1' };

/** Why the kernel cannot be started here, or null. */
function missingPrerequisite(module: string): string | null {
  const py = spawnSync(PY, ['-c', `import jupyter_client, ${module}`], { encoding: 'utf8' });
  if (py.status !== 0) return `${PY} lacks jupyter_client/${module} (npm run kernel:install installs them from Debian)`;
  if (!fs.existsSync(path.join(JUPYTER_PATH, 'kernels', 'tslab', 'kernel.json'))) return 'the tslab kernel is not registered under .kernel/ (npm run kernel:install)';
  return null;
}

function requirePrerequisites(ctx: Mocha.Context, module: string): void {
  const missing = missingPrerequisite(module);
  if (!missing) return;
  if (process.env.CI === 'true') assert.fail(`the kernel tests cannot run in CI: ${missing} (.ci/run must call npm run setup first)`);
  console.log(`      SKIPPED: ${missing}`);
  ctx.skip();
}

interface Msg { type: string; content: Record<string, unknown> }
interface Exec { code: string; reply: Msg; iopub: Msg[] }
interface Protocol {
  kernel_info: Record<string, unknown>;
  value: Exec; string_value: Exec; undefined_value: Exec; statement: Exec; throw: Exec; compile_error: Exec;
  async_reject: Exec; queued_after_error: Exec[]; right_after_error: Exec; queued_no_stop: Exec[]; silent: Exec;
  bundle: Exec; is_complete: Record<string, { status: string; indent?: string }>;
}

const ofType = (e: Exec, t: string): Msg[] => e.iopub.filter((m) => m.type === t);
const stdout = (e: Exec): string => e.iopub.filter((m) => m.type === 'stream' && m.content.name === 'stdout').map((m) => String(m.content.text)).join('');

/** Checks an error execution: reply status 'error' with ename/evalue/traceback, the same in one iopub `error`. */
function assertError(e: Exec, ename: string, evalue: RegExp): void {
  const c = e.reply.content;
  assert.equal(c.status, 'error', `${e.code}: reply ${JSON.stringify(c)}`);
  assert.equal(c.ename, ename, `${e.code}: ename`);
  assert.match(String(c.evalue), evalue, `${e.code}: evalue`);
  assert.ok(Array.isArray(c.traceback) && c.traceback.length > 0, `${e.code}: traceback ${JSON.stringify(c.traceback)}`);
  assert.equal(typeof c.execution_count, 'number', `${e.code}: execution_count`);
  const errs = ofType(e, 'error');
  assert.equal(errs.length, 1, `${e.code}: one iopub error message, got ${JSON.stringify(e.iopub)}`);
  assert.deepEqual(errs[0].content, { ename: c.ename, evalue: c.evalue, traceback: c.traceback });
  assert.equal(ofType(e, 'stream').length, 0, `${e.code}: the error is not (also) printed to a stream`);
  for (const line of c.traceback as string[]) assert.ok(!/tslab[\\/]dist|node:vm/.test(line), `${e.code}: tslab's own frames are left out: ${line}`);
}

describe('notebooks: the patched tslab kernel speaks the Jupyter protocol', function () {
  this.timeout(180000);

  it('errors, execute_result, kernel_info status, is_complete, aborted queue, display bundles', function () {
    requirePrerequisites(this, 'jupyter_client');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-kernel-'));
    let p: Protocol;
    try {
      const out = path.join(dir, 'protocol.json');
      const r = spawnSync(PY, [path.join(__dirname, 'kernel_protocol.py'), out], { cwd: ROOT, encoding: 'utf8', env: ENV, timeout: 150000 });
      assert.equal(r.status, 0, `kernel_protocol.py failed:\n${r.stdout}\n${r.stderr}`);
      p = JSON.parse(fs.readFileSync(out, 'utf8')) as Protocol;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // (c) kernel_info_reply carries status 'ok'.
    assert.equal(p.kernel_info.status, 'ok');
    assert.equal((p.kernel_info.language_info as { name: string }).name, 'typescript');

    // (b) the last expression's value is an execute_result (text/plain as Node's util.inspect), not stdout.
    for (const [e, text] of [[p.value, '42'], [p.string_value, "'abc'"]] as [Exec, string][]) {
      assert.equal(e.reply.content.status, 'ok');
      const res = ofType(e, 'execute_result');
      assert.equal(res.length, 1, `${e.code}: ${JSON.stringify(e.iopub)}`);
      assert.deepEqual(res[0].content.data, { 'text/plain': text });
      assert.equal(res[0].content.execution_count, e.reply.content.execution_count);
      assert.equal(stdout(e), '', `${e.code}: nothing on stdout`);
    }
    assert.equal(ofType(p.undefined_value, 'execute_result').length, 0, 'undefined is not shown');
    assert.equal(ofType(p.statement, 'execute_result').length, 0);
    assert.equal(stdout(p.statement), 'printed\n');
    const input = ofType(p.value, 'execute_input');
    assert.deepEqual(input.map((m) => m.content), [{ code: p.value.code, execution_count: p.value.reply.content.execution_count }]);

    // (a) exceptions (sync and async) and TypeScript diagnostics are error messages + error replies.
    assertError(p.throw, 'RangeError', /^boom$/);
    assert.ok((p.throw.reply.content.traceback as string[]).some((l) => /at fail \(/.test(l)), 'the user frame stays in the traceback');
    assertError(p.compile_error, 'CompileError', /1:7 - Type 'string' is not assignable to type 'number'/);
    assertError(p.async_reject, 'TypeError', /^later$/);

    // After an error, requests already queued are answered 'aborted' (not executed, not silent) ...
    const [first, second, third] = p.queued_after_error;
    assertError(first, 'Error', /^first$/);
    for (const e of [second, third]) {
      assert.deepEqual(e.reply.content, { status: 'aborted' }, `${e.code}: ${JSON.stringify(e.reply)}`);
      assert.equal(stdout(e), '', `${e.code} did not run`);
    }
    // ... while a request sent after the error reply arrived runs (nbclient's allow_errors, cell by cell).
    assert.equal(p.right_after_error.reply.content.status, 'ok', JSON.stringify(p.right_after_error.reply));
    assert.equal(stdout(p.right_after_error), 'next cell ran\n');
    // stop_on_error=False: the error is reported, the queue goes on.
    assertError(p.queued_no_stop[0], 'Error', /^tolerated$/);
    assert.equal(p.queued_no_stop[1].reply.content.status, 'ok');
    assert.equal(stdout(p.queued_no_stop[1]), 'still ran\n');
    // silent: no execute_input/execute_result, the counter does not move.
    assert.deepEqual(p.silent.iopub, []);
    assert.equal(p.silent.reply.content.execution_count, p.queued_no_stop[1].reply.content.execution_count);

    // (d) is_complete: complete / incomplete (with an indent hint) / invalid.
    const want: Record<string, string> = {
      '1 + 1': 'complete', 'function f() { return 1; }': 'complete', 'const a = <number>(1 as unknown);': 'complete',
      'function f() {': 'incomplete', 'const x = [': 'incomplete', 'let y = ': 'incomplete', '`abc': 'incomplete',
      'const = ;': 'invalid', '}': 'invalid', 'a b': 'invalid', 'const = ; function g() {': 'invalid', "'abc": 'invalid',
    };
    for (const [code, status] of Object.entries(want)) assert.equal(p.is_complete[code]?.status, status, `is_complete(${JSON.stringify(code)})`);
    assert.equal(p.is_complete['function f() {'].indent, '  ');

    // display.bundle: one display_data with every MIME type; bytes base64, JSON values as objects.
    const shown = ofType(p.bundle, 'display_data');
    assert.equal(shown.length, 1, JSON.stringify(p.bundle.iopub));
    assert.deepEqual(shown[0].content.data, { 'text/plain': 'fig', 'image/png': 'iVBORw==', 'application/vnd.plotly.v1+json': { data: [{ y: [1, 2] }] } });
  });

  it("passes every applicable test of Debian's jupyter-kernel-test (kernels-setup/conformance.py)", function () {
    requirePrerequisites(this, 'jupyter_kernel_test');
    const r = spawnSync(PY, [path.join(ROOT, 'kernels-setup', 'conformance.py'), '-v'], { cwd: ROOT, encoding: 'utf8', env: ENV, timeout: 150000 });
    const log = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `conformance suite failed:\n${log}`);
    const ok = log.split('\n').filter((l) => / \.\.\. ok$/.test(l)).map((l) => l.replace(/ \(.*/, ''));
    const expected = ['test_completion', 'test_display_data', 'test_error', 'test_execute_result', 'test_execute_stderr',
      'test_execute_stdout', 'test_inspect', 'test_is_complete', 'test_kernel_info'];
    assert.deepEqual(ok.sort(), expected, `passing tests:\n${log}`);
    assert.match(log, /^OK \(skipped=5\)$/m);
  });
});
