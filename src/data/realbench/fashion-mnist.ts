/**
 * `fashion-mnist`: Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; Zalando article images, 60,000 training + 10,000
 * test, 28x28 grey, 10 classes) as a class-disjoint open-set benchmark (see class-disjoint.ts). The gzipped IDX
 * files come from the Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist); nothing is
 * downloaded.
 */
import { registerDataset } from '../registry';
import type { FaceBenchmark } from '../types';
import {
  createClassDisjointBenchmark, resolveClassDisjointOptions, type ClassDisjointOptions,
} from './class-disjoint';
import { loadIdxDataset } from './idx';
import { displayPath } from '../../util/package';
import { DatasetError } from '../errors';

/** Where Debian's `dataset-fashion-mnist` installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

/** The error thrown when the IDX files are missing: says what to install (or, for a user folder, what is missing). */
export function fashionMnistNotFound(dir: string, absent: string[], userDir = false): Error {
  return new DatasetError(userDir
    ? `Fashion-MNIST not found at ${dir} (missing ${absent.join(', ')}): point \`dir\` at a folder holding the four Fashion-MNIST IDX files`
    : `Fashion-MNIST not found at ${dir}: run \`sudo bash data/setup.sh\` (apt-get install ${FASHION_MNIST_PACKAGE})`);
}

/** Build the `fashion-mnist` benchmark. Options: `ClassDisjointOptions` (all optional). */
export function createFashionMnist(opts: ClassDisjointOptions | Record<string, unknown> = {}): FaceBenchmark {
  const r = resolveClassDisjointOptions('fashion-mnist', opts);
  const dir = r.dir ?? FASHION_MNIST_DIR;
  const data = loadIdxDataset(dir, (d, absent) => fashionMnistNotFound(d, absent, r.dir !== null));
  return createClassDisjointBenchmark({
    name: 'fashion-mnist',
    train: data.train,
    test: data.test,
    classNames: FASHION_MNIST_CLASS_NAMES,
    source: { dataset: 'Fashion-MNIST (Zalando Research, MIT licence)', from: r.dir ? 'option dir' : `Debian package ${FASHION_MNIST_PACKAGE}`, files: data.files.map(displayPath) },
  }, r, data.loadMs);
}

/** Human-readable description of the `fashion-mnist` benchmark. */
export function describeFashionMnist(): string {
  return [
    'fashion-mnist: Fashion-MNIST (Debian dataset-fashion-mnist, 60k train + 10k test, 28x28 grey, 10 classes), class-disjoint',
    '  open set. Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.',
    '  partition p (default 0) picks testClasses (default 4) test classes in a fixed balanced order: 0: {0,1,2,3},',
    '    1: {4,5,6,7}, 2: {0,1,8,9}, 3: {2,3,4,5}, 4: {6,7,8,9}, ... (partitions 0-4 test every class twice).',
    '  options (defaults): partition 0, testClasses 4, trainPerClass 1000, testPerClass 500, resolution 32, resize pad,',
    '    channels 1, seed 0, unknownFraction 0.25, pairsPerFold 300, folds 10, dir (/usr/share/datasets/fashion-mnist).',
    '  protocols: pairs in 10 image-disjoint folds (P same then P different); identification with one gallery image per',
    '    known test class and 1 of 4 classes unknown: coarse (whole classes). Use glyphs for a many-identity open set.',
  ].join('\n');
}

registerDataset('fashion-mnist', {
  description: 'Fashion-MNIST (Debian dataset-fashion-mnist), class-disjoint open set: 6 train / 4 test classes per partition',
  resolveOptions: (opts) => ({ ...resolveClassDisjointOptions('fashion-mnist', opts ?? {}) }),
  create: (opts) => createFashionMnist(opts ?? {}),
});
