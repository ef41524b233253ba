/**
 * tfjs backend selection: native TensorFlow through `@tensorflow/tfjs-node-gpu` when the user installed it,
 * else WebAssembly (the default here), else plain-JS cpu.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from './wasm-kernels';
import { registerWasmMatMul } from './wasm-matmul';
import { registerWasmDropout } from './wasm-dropout';
import { enableNativeKernels } from './native-kernels';
import type { NativeKernelsStatus } from './native-kernels';

/** Backends coreface can run on, in the order {@link initBackend} tries them. */
export type BackendName = 'tfjs-node-gpu' | 'wasm' | 'cpu';

/** Allowed values of {@link InitBackendOptions.backend} and of the `COREFACE_BACKEND` variable, in try order. */
export const BACKEND_NAMES: readonly BackendName[] = ['tfjs-node-gpu', 'wasm', 'cpu'];

/** Environment variable that forces a backend when {@link InitBackendOptions.backend} is not given. */
export const BACKEND_ENV_VAR = 'COREFACE_BACKEND';

/** npm package of the optional native backend; never a dependency, loaded lazily only if installed. */
export const NODE_GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

/** What {@link initBackend} selected. */
export interface BackendInfo {
  /** coreface name of the backend. */
  name: BackendName;
  /** The tfjs backend name now active (`tf.getBackend()`): 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** Version of the package providing the backend (tfjs-node-gpu, tfjs-backend-wasm or tfjs-backend-cpu). */
  version: string;
  /** One-line human description, e.g. "wasm, SIMD, 1 thread (tfjs disables threads in Node)". */
  note: string;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Force this backend; loading it must succeed or initBackend throws. Default: the `COREFACE_BACKEND`
   * environment variable if set and non-empty, else automatic (tfjs-node-gpu -> wasm -> cpu).
   */
  backend?: BackendName;
  /** Do not print the `[coreface] backend: ...` line to stderr. Default false. */
  quiet?: boolean;
}

const INSTALL_HINT = `npm install ${NODE_GPU_PACKAGE} (needs CUDA 11.2, cuDNN 8.1)`;

let current: BackendInfo | undefined;
/** The request (forced name or 'auto') that produced `current`, for idempotent repeat calls. */
let currentRequest: BackendName | 'auto' | undefined;

class BackendLoadError extends Error {}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

async function loadNodeGpu(): Promise<BackendInfo> {
  // createRequire + a runtime-built name: no static import, no types needed, bundlers leave it alone.
  const req = createRequire(__filename);
  const pkg = ['@tensorflow', 'tfjs-node-gpu'].join('/');
  try {
    req.resolve(pkg);
  } catch {
    throw new BackendLoadError(`${NODE_GPU_PACKAGE} is not installed: ${INSTALL_HINT}`);
  }
  let version = 'unknown';
  try {
    req(pkg);
  } catch (e) {
    throw new BackendLoadError(`${NODE_GPU_PACKAGE} is installed but failed to load (${describeError(e)}); it ` +
      'needs libtensorflow 2.9.1 with CUDA 11.2, cuDNN 8.1 and an NVIDIA driver >= 450');
  }
  try {
    const meta: unknown = req(`${pkg}/package.json`);
    if (typeof meta === 'object' && meta !== null && typeof (meta as { version?: unknown }).version === 'string') {
      version = (meta as { version: string }).version;
    }
  } catch {
    // package.json not exported: keep 'unknown'.
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new BackendLoadError(`${NODE_GPU_PACKAGE} ${version} loaded but registered no 'tensorflow' backend with ` +
      `this copy of @tensorflow/tfjs ${tf.version_core}; install matching versions`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendLoadError(`${NODE_GPU_PACKAGE} ${version} loaded but its 'tensorflow' backend failed to ` +
      'initialise (see the tfjs warning above)');
  }
  await tf.ready();
  return {
    name: 'tfjs-node-gpu',
    tfBackend: tf.getBackend(),
    version,
    note: `native TensorFlow via ${NODE_GPU_PACKAGE} ${version}, GPU when CUDA 11.2 / cuDNN 8.1 are usable`,
  };
}

async function loadWasm(): Promise<BackendInfo> {
  registerWasmGradientKernels();
  const simdMatMul = registerWasmMatMul();
  registerWasmDropout();
  let ok: boolean;
  try {
    ok = await tf.setBackend('wasm');
  } catch (e) {
    throw new BackendLoadError(`the wasm backend failed to initialise: ${describeError(e)}`);
  }
  if (!ok) {
    throw new BackendLoadError('the wasm backend failed to initialise (see the tfjs warning above)');
  }
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  let threads = 1;
  try {
    threads = getThreadsCount();
  } catch {
    // Not initialised yet cannot happen after setBackend succeeded; keep 1.
  }
  const threadNote = threads === 1
    ? (tf.env().getBool('IS_NODE') ? '1 thread (tfjs disables threads in Node)' : '1 thread')
    : `${threads} threads`;
  const nativeNote = nativeKernelsNote(enableNativeKernels());
  return {
    name: 'wasm',
    tfBackend: tf.getBackend(),
    version: version_wasm,
    note: `wasm, ${simd ? 'SIMD' : 'no SIMD'}, ${threadNote}, +${WASM_GRADIENT_KERNELS.length} gradient kernels${simdMatMul ? ', SIMD matmul' : ''}, dropout kernel; ${nativeNote}`,
  };
}

async function loadCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) {
    throw new BackendLoadError('the cpu backend failed to initialise');
  }
  await tf.ready();
  return {
    name: 'cpu',
    tfBackend: tf.getBackend(),
    version: tf.version['tfjs-backend-cpu'] ?? tf.version_core,
    note: 'plain JavaScript, ~25x slower than wasm; for debugging and reference results',
  };
}

const LOADERS: Record<BackendName, () => Promise<BackendInfo>> = {
  'tfjs-node-gpu': loadNodeGpu,
  wasm: loadWasm,
  cpu: loadCpu,
};

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** The forced backend (option, then environment) and how to name its source in messages. */
function requestedBackend(opts: InitBackendOptions): { name: BackendName; source: string } | undefined {
  const fromOption: unknown = opts.backend;
  const envValue = process.env[BACKEND_ENV_VAR]?.trim();
  let raw: string;
  let source: string;
  if (fromOption !== undefined) {
    raw = String(fromOption);
    source = `backend '${raw}'`;
  } else if (envValue) {
    raw = envValue;
    source = `${BACKEND_ENV_VAR}=${raw}`;
  } else {
    return undefined;
  }
  if (!isBackendName(raw)) {
    const where = fromOption !== undefined ? 'backend' : BACKEND_ENV_VAR;
    throw new Error(`${where} must be one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}, got '${raw}'`);
  }
  return { name: raw, source };
}

/** The wasm backend note's part on the native kernels (result.json records it; {@link nativeThreadsInNote} reads it back). */
export function nativeKernelsNote(native: NativeKernelsStatus): string {
  const blas = native.blas?.split(' ').slice(0, 2).join(' ');
  const what = native.convEngine === 'onednn' && native.dnnl ? `conv and matmul via ${native.dnnl}, losses via ${blas}` : `conv, matmul, sums via ${blas}`;
  return native.active
    ? `native kernels on (${what}, ${native.threads} thread${native.threads === 1 ? '' : 's'})`
    : `native kernels off: ${native.reason}`;
}

/** The native kernels' thread count in a backend note written with {@link nativeKernelsNote}; null when they were off. */
export function nativeThreadsInNote(note: string): number | null {
  const m = /native kernels on \(.*?(\d+) threads?\)/.exec(note);
  return m ? Number(m[1]) : null;
}

/**
 * Selects and initialises the tfjs backend, and returns what was selected.
 *
 * Order when nothing is forced: `@tensorflow/tfjs-node-gpu` ('tensorflow' backend) if it is installed and loads
 * (lazily required, never a dependency) -> wasm (with {@link registerWasmGradientKernels}, so conv training
 * works) -> cpu. `opts.backend`, else the `COREFACE_BACKEND` environment variable, forces one backend; if that
 * backend cannot load, this throws an error naming it and the reason (e.g. the npm install hint for
 * tfjs-node-gpu). An unknown name throws listing the allowed values ({@link BACKEND_NAMES}).
 *
 * Prints `[coreface] backend: <name> (<note>)` to stderr unless `opts.quiet`. Idempotent: a repeat call with
 * the same request while that backend is still active returns the cached info without printing.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const forced = requestedBackend(opts);
  const request: BackendName | 'auto' = forced?.name ?? 'auto';
  if (current !== undefined && currentRequest === request && tf.getBackend() === current.tfBackend) {
    return current;
  }
  let info: BackendInfo;
  if (forced !== undefined) {
    try {
      info = await LOADERS[forced.name]();
    } catch (e) {
      throw new Error(`${forced.source} requested but ${describeError(e)}`);
    }
  } else {
    const skipped: string[] = [];
    let found: BackendInfo | undefined;
    for (const name of BACKEND_NAMES) {
      try {
        found = await LOADERS[name]();
        break;
      } catch (e) {
        // Not installed is the normal case for tfjs-node-gpu: no need to mention it.
        const msg = describeError(e);
        if (!(name === 'tfjs-node-gpu' && msg.includes('is not installed'))) {
          skipped.push(`${name}: ${msg}`);
        }
      }
    }
    if (found === undefined) {
      throw new Error(`no tfjs backend could be initialised (${skipped.join('; ')})`);
    }
    info = skipped.length > 0 ? { ...found, note: `${found.note}; skipped ${skipped.join('; ')}` } : found;
  }
  current = info;
  currentRequest = request;
  if (!opts.quiet) {
    process.stderr.write(`[coreface] backend: ${info.name} (${info.note})\n`);
  }
  return info;
}

/**
 * The backend selected by the last {@link initBackend} call, or undefined if initBackend has not run or the
 * active tfjs backend has since been switched away from it (e.g. by `tf.setBackend`).
 */
export function backendInfo(): BackendInfo | undefined {
  if (current === undefined || tf.getBackend() !== current.tfBackend) {
    return undefined;
  }
  return current;
}
