/**
 * The options of the CoReFace contrastive loss, declared once: their values, ranges and defaults. The config schema
 * (src/config/train-config.ts), the loss class (src/coreface/contrastive.ts) and the fused kernel wrapper
 * (src/backends/fused.ts, which passes protocol and mask to the native kernel as indices into these lists) read
 * them from here. Values as in the reference implementation (Song & Wang, Pattern Recognition 152, 2024).
 */

/** Pair coupling protocols (spec: "Pair coupling protocols"), in the order the native kernel indexes them. */
export const CONTRASTIVE_PROTOCOLS = ['one-way-n', 'two-way-n', '2n'] as const;
/** Pair coupling protocol. */
export type ContrastiveProtocol = (typeof CONTRASTIVE_PROTOCOLS)[number];

/** Treatments of other images with the anchor's label, in the order the native kernel indexes them. */
export const CONTRASTIVE_MASKS = ['zero', 'exclude', 'none'] as const;
/** Treatment of other images with the anchor's label. */
export type ContrastiveMask = (typeof CONTRASTIVE_MASKS)[number];

/** The named margin modes; a margin may also be a fixed number in {@link CONTRASTIVE_MARGIN_RANGE}. */
export const CONTRASTIVE_MARGIN_MODES = ['adaptive', 'none'] as const;
/** Margin mode: adaptive (reference), a fixed number, or none (0). */
export type ContrastiveMargin = (typeof CONTRASTIVE_MARGIN_MODES)[number] | number;

/**
 * Range of a fixed margin m, [-2, 2]: m is subtracted from the positive's cosine similarity and compared with the
 * negatives' (Z = s (S - m I)), so it is a difference of two cosines; beyond +-2 it can no longer change which
 * entry is larger. The adaptive margin (mean positive minus mean hardest negative) stays inside [-2, 1] itself.
 */
export const CONTRASTIVE_MARGIN_RANGE: Readonly<{ min: number; max: number }> = Object.freeze({ min: -2, max: 2 });

/** Range of `batchWeight`, the weight of the current batch in the adaptive margin update. */
export const CONTRASTIVE_BATCH_WEIGHT_RANGE: Readonly<{ min: number; max: number }> = Object.freeze({ min: 0, max: 1 });

/** Default scale s of the contrastive logits (reference: 64). */
export const DEFAULT_CONTRASTIVE_SCALE = 64;
/** Default weight of the current batch in the margin update (reference: m <- 0.99 m_batch + 0.01 m). */
export const DEFAULT_BATCH_WEIGHT = 0.99;
/** Default protocol: the released one-way N. */
export const DEFAULT_PROTOCOL: ContrastiveProtocol = 'one-way-n';
/** Default mask: same-label similarities replaced by the constant 0. */
export const DEFAULT_MASK: ContrastiveMask = 'zero';
/** Default margin mode. */
export const DEFAULT_MARGIN_MODE: ContrastiveMargin = 'adaptive';

/** Whether `m` is an accepted margin: a named mode or a finite number in {@link CONTRASTIVE_MARGIN_RANGE}. */
export function isContrastiveMargin(m: unknown): m is ContrastiveMargin {
  if (typeof m === 'number') return Number.isFinite(m) && m >= CONTRASTIVE_MARGIN_RANGE.min && m <= CONTRASTIVE_MARGIN_RANGE.max;
  return (CONTRASTIVE_MARGIN_MODES as readonly unknown[]).includes(m);
}
