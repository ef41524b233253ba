// tfjs backend selection (tfjs-node-gpu -> wasm -> cpu) and the gradient kernels wasm lacks.
export {
  initBackend,
  backendInfo,
  BACKEND_NAMES,
  BACKEND_ENV_VAR,
  NODE_GPU_PACKAGE,
  type BackendName,
  type BackendInfo,
  type InitBackendOptions,
} from './select';
export { registerWasmGradientKernels, WASM_GRADIENT_KERNELS, WASM_BACKEND_NAME } from './wasm-kernels';
export { registerWasmMatMul, unregisterWasmMatMul, wasmMatMulCalls } from './wasm-matmul';
export { registerWasmDropout, aleaUniform, DROPOUT_KERNEL } from './wasm-dropout';
export {
  enableNativeKernels,
  disableNativeKernels,
  nativeKernelsActive,
  nativeKernelsStatus,
  defaultNativeThreads,
  setNativeColumnBudget,
  setNativeConvEngine,
  nativeConvCalls,
  NATIVE_KERNELS,
  NATIVE_ENV_VAR,
  THREADS_ENV_VAR,
  NATIVE_ADDON_PATH,
  type NativeKernelsStatus,
  type EnableNativeOptions,
  type NativeConvEngine,
} from './native-kernels';
