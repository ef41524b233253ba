// Float64 reference of the CoReFace contrastive loss, written as explicit loops over anchors and candidates.
import { Mat, cosine } from '../heads/helpers';

export type Protocol = 'one-way-n' | 'two-way-n' | '2n';
export type MaskMode = 'zero' | 'exclude' | 'none';

interface Item {
  vec: number[];
  img: number;
  view: 1 | 2;
}

interface Entry {
  sim: number; // after masking ('zero' -> 0)
  positive: boolean;
  dropped: boolean; // excluded from the softmax ('exclude' same-label, or the anchor itself)
}

/** Rows of (anchor, candidate) entries, per the protocol definitions of the spec. */
function rows(v1: Mat, v2: Mat, labels: number[], protocol: Protocol, mask: MaskMode): Entry[][] {
  const n = labels.length;
  const one: Item[] = v1.map((vec, img) => ({ vec, img, view: 1 }));
  const two: Item[] = v2.map((vec, img) => ({ vec, img, view: 2 }));
  const problems: Array<[Item[], Item[]]> = [];
  if (protocol === 'one-way-n') problems.push([one, two]);
  if (protocol === 'two-way-n') problems.push([one, two], [two, one]);
  const out: Entry[][] = [];
  if (protocol === '2n') {
    const all = [...one, ...two];
    for (const a of all) {
      const row: Entry[] = [];
      for (const c of all) {
        if (c === a) {
          row.push({ sim: 0, positive: false, dropped: true });
          continue;
        }
        row.push(entry(a, c, labels, mask, c.img === a.img));
      }
      out.push(row);
    }
    return out;
  }
  for (const [anchors, cands] of problems) {
    for (const a of anchors) out.push(cands.map((c) => entry(a, c, labels, mask, c.img === a.img)));
  }
  if (out.length !== (protocol === 'one-way-n' ? n : 2 * n)) throw new Error('bad row count');
  return out;
}

function entry(a: Item, c: Item, labels: number[], mask: MaskMode, positive: boolean): Entry {
  const s = cosine(a.vec, c.vec);
  if (positive) return { sim: s, positive: true, dropped: false };
  const sameLabel = labels[a.img] === labels[c.img];
  if (sameLabel && mask === 'zero') return { sim: 0, positive: false, dropped: false };
  if (sameLabel && mask === 'exclude') return { sim: s, positive: false, dropped: true };
  return { sim: s, positive: false, dropped: false };
}

/** m_batch = mean over rows of pos - max(0, max over non-dropped negatives). */
export function batchMargin(v1: Mat, v2: Mat, labels: number[], protocol: Protocol, mask: MaskMode): number {
  const R = rows(v1, v2, labels, protocol, mask);
  let total = 0;
  for (const row of R) {
    let pos = NaN;
    let neg = 0; // the diagonal set to 0
    for (const e of row) {
      if (e.positive) pos = e.sim;
      else if (!e.dropped) neg = Math.max(neg, e.sim);
    }
    total += pos - neg;
  }
  return total / R.length;
}

/** The loss for a given margin (no state). */
export function contrastiveLoss(
  v1: Mat, v2: Mat, labels: number[], protocol: Protocol, mask: MaskMode, scale: number, margin: number,
): number {
  const R = rows(v1, v2, labels, protocol, mask);
  let total = 0;
  for (const row of R) {
    const logits: number[] = [];
    let posLogit = NaN;
    for (const e of row) {
      if (e.dropped) continue;
      const z = scale * (e.positive ? e.sim - margin : e.sim);
      if (e.positive) posLogit = z;
      logits.push(z);
    }
    const mx = Math.max(...logits);
    let s = 0;
    for (const z of logits) s += Math.exp(z - mx);
    total += -(posLogit - mx - Math.log(s));
  }
  return total / R.length;
}

/** A stateful reference: update the margin (as the spec says), then the loss with the updated margin. */
export class ReferenceContrastive {
  margin: number;
  constructor(
    readonly protocol: Protocol, readonly mask: MaskMode, readonly scale: number,
    readonly marginMode: 'adaptive' | 'none' | number, readonly batchWeight: number,
  ) {
    this.margin = typeof marginMode === 'number' ? marginMode : 0;
  }
  step(v1: Mat, v2: Mat, labels: number[]): number {
    if (this.marginMode === 'adaptive') {
      const mb = batchMargin(v1, v2, labels, this.protocol, this.mask);
      this.margin = this.batchWeight * mb + (1 - this.batchWeight) * this.margin;
    }
    return contrastiveLoss(v1, v2, labels, this.protocol, this.mask, this.scale, this.margin);
  }
}
