// Default parallelism of a grid: one worker per core on wasm/cpu, one per GPU (pinned) with tfjs-node-gpu. No GPU
// exists here, so the GPU list and the backend are stubbed.
import { strict as assert } from 'assert';
import { ablateWorkers, childEnv, defaultWorkers, detectGpus, workerGpu } from '../../src/experiments';

describe('experiments: default workers (one per core, or one per GPU with tfjs-node-gpu)', () => {
  const noProbe = (): string[] => assert.fail('nvidia-smi must not be probed when CUDA_VISIBLE_DEVICES is set');

  it('detectGpus reads CUDA_VISIBLE_DEVICES as CUDA does, else the nvidia-smi probe', () => {
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: '0,1' }, noProbe), ['0', '1']);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: ' 3 , 5 ' }, noProbe), ['3', '5']);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: '' }, noProbe), []);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: '-1' }, noProbe), []);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: 'NoDevFiles' }, noProbe), []);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: '2,-1,3' }, noProbe), ['2'], 'CUDA ignores devices after an invalid one');
    assert.deepEqual(detectGpus({}, () => ['0', '1', '2']), ['0', '1', '2']);
    assert.deepEqual(detectGpus({}, () => []), []);
  });

  it('wasm and cpu: one worker per core, no GPU pinning', () => {
    for (const backend of ['wasm', 'cpu']) {
      const p = defaultWorkers({ backend, gpus: ['0', '1'], cpus: 6 });
      assert.equal(p.jobs, 6);
      assert.equal(p.gpus, null);
      assert.match(p.reason, /one per CPU core/);
    }
  });

  it('tfjs-node-gpu: one worker per visible GPU, each pinned to its own, whatever the core count', () => {
    const p = defaultWorkers({ backend: 'tfjs-node-gpu', gpus: ['0', '1', '2', '3'], cpus: 2 });
    assert.equal(p.jobs, 4);
    assert.deepEqual([0, 1, 2, 3].map((w) => workerGpu(p, w)), ['0', '1', '2', '3']);
    assert.match(p.reason, /one per GPU .*GPUs 0, 1, 2, 3/);
    const one = defaultWorkers({ backend: 'tfjs-node-gpu', gpus: ['7'], cpus: 64 });
    assert.equal(one.jobs, 1);
    assert.equal(workerGpu(one, 0), '7');
  });

  it('tfjs-node-gpu without a GPU runs one at a time; an explicit --jobs wins and shares GPUs round-robin', () => {
    assert.equal(defaultWorkers({ backend: 'tfjs-node-gpu', gpus: [], cpus: 8 }).jobs, 1);
    const p = defaultWorkers({ backend: 'tfjs-node-gpu', gpus: ['0', '1'], cpus: 8, jobs: 3 });
    assert.equal(p.jobs, 3);
    assert.deepEqual([0, 1, 2].map((w) => workerGpu(p, w)), ['0', '1', '0']);
    assert.equal(defaultWorkers({ backend: 'wasm', gpus: [], cpus: 8, jobs: 3 }).jobs, 3);
    assert.throws(() => defaultWorkers({ backend: 'wasm', gpus: [], jobs: 0 }), /jobs must be a positive integer, got 0/);
  });

  it('ablate picks by the children\'s backend: GPUs are looked up only for tfjs-node-gpu', () => {
    const gpu = ablateWorkers({ backend: 'tfjs-node-gpu', gpus: ['0', '1', '2'] });
    assert.equal(gpu.jobs, 3);
    assert.deepEqual(gpu.gpus, ['0', '1', '2']);
    const wasm = ablateWorkers({ backend: 'wasm', gpus: ['0', '1', '2'] });
    assert.equal(wasm.gpus, null);
    assert.ok(wasm.jobs >= 1);
    assert.equal(ablateWorkers({ backend: 'tfjs-node-gpu', gpus: ['0', '1'], jobs: 1 }).jobs, 1);
  });

  it('a pinned child sees only its GPU; the thread count keeps a user\'s COREFACE_THREADS', () => {
    const env = childEnv({ PATH: '/bin', CUDA_VISIBLE_DEVICES: '0,1' }, 2, '1');
    assert.equal(env.CUDA_VISIBLE_DEVICES, '1');
    assert.equal(env.COREFACE_THREADS, '2');
    assert.equal(env.PATH, '/bin');
    assert.equal(childEnv({ CUDA_VISIBLE_DEVICES: '0,1' }, 2, null).CUDA_VISIBLE_DEVICES, '0,1');
    assert.equal(childEnv({ COREFACE_THREADS: '5' }, 2, null).COREFACE_THREADS, '5');
  });
});
