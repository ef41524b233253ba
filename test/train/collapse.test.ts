// The collapse warning (src/train/collapse.ts) on the epoch records of real runs: a glyphs ArcFace + dropout run
// that fell into ArcFace's degenerate solution (session 5, distortion 1, 800 classes) and a plain ArcFace run on the
// same data that trained; plus the guards (warm-up, few classes, no head).
import { strict as assert } from 'assert';
import { collapseWarning, type EpochTrend } from '../../src/train/collapse';

const trend = (rows: [number, number][]): EpochTrend[] => rows.map(([meanLoss, meanAccuracy], epoch) => ({ epoch, meanLoss, meanAccuracy }));

// results/runs/32229a4d7162fd3b (arcface-dropout, seed 0): verification 55.75%
const COLLAPSED = trend([[46.656, 0.00475], [39.637, 0.014], [25.401, 0.016], [13.377, 0.001875], [10.507, 0.0015], [9.05, 0.00175]]);
// results/runs/b58b81a9b311a611 (arcface, seed 0): verification 92.42%, trained
const TRAINED = trend([[46.621, 0.008625], [40.745, 0.087125], [35.946, 0.267125], [29.743, 0.588125], [27.336, 0.7175], [25.868, 0.779875]]);
const OPTS = { numClasses: 800, warmupEpochs: 1 };

describe('train: collapse warning', () => {
  it('fires on the first epoch where the loss has halved with accuracy at chance, with the numbers in the text', () => {
    const fired = COLLAPSED.map((_, i) => collapseWarning(COLLAPSED.slice(0, i + 1), OPTS));
    assert.deepEqual(fired.map((m) => m !== null), [false, false, false, true, true, true]);
    assert.match(fired[3] ?? '', /after epoch 4 is 0\.19% \(chance 0\.13%\) while the loss fell from 46\.656 to 13\.377/);
    assert.match(fired[3] ?? '', /easyMargin/);
  });

  it('stays silent for a run that trains, inside the warm-up, with few classes or without a head (NaN accuracy)', () => {
    TRAINED.forEach((_, i) => assert.equal(collapseWarning(TRAINED.slice(0, i + 1), OPTS), null, `epoch ${i}`));
    assert.equal(collapseWarning(COLLAPSED.slice(0, 4), { numClasses: 800, warmupEpochs: 4 }), null, 'epoch 3 is inside a 4-epoch warm-up');
    assert.notEqual(collapseWarning(COLLAPSED.slice(0, 5), { numClasses: 800, warmupEpochs: 4 }), null, 'epoch 4 is past it');
    assert.equal(collapseWarning(COLLAPSED, { numClasses: 6, warmupEpochs: 1 }), null);
    const noHead = COLLAPSED.map((e) => ({ ...e, meanAccuracy: NaN }));
    assert.equal(collapseWarning(noHead, OPTS), null);
    assert.equal(collapseWarning([], OPTS), null);
  });

  it('thresholds are options: accuracy at 1.5x chance passes at multiple 2, not at 1', () => {
    const e = trend([[10, 0], [4, 1.5 / 800]]);
    assert.notEqual(collapseWarning(e, OPTS), null);
    assert.equal(collapseWarning(e, { ...OPTS, chanceMultiple: 1 }), null);
    assert.equal(collapseWarning(e, { ...OPTS, lossRatio: 0.3 }), null);
  });
});
