/**
 * What the numbers of an experiment do and do not show, as sentences computed from its summary (issue 16): no claim
 * here is written by hand about a particular result. Each rule reads the summary's paired comparisons, counts and
 * fit measurements, and says what they allow: a difference whose interval includes 0 is "not shown", a p-value is
 * put next to the smallest value its test can reach with that many pairs, a regulariser is read against the gap it
 * could close, and the scope (one benchmark, one schedule, the seeds) is stated from the summary itself.
 */
import { TABLE_METRICS, type ExperimentSummary, type MetricKey, type PairedComparison } from '../experiments/summary';
import { pairedDifferences } from './results';

/** Options of {@link summaryFindings}. */
export interface FindingsOptions {
  /** The metric the comparisons are read on (default verification accuracy). */
  metric?: MetricKey;
  /** Significance level the sentences refer to (default 0.05). */
  alpha?: number;
}

const pts = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
const pctText = (v: number): string => `${(100 * v).toFixed(2)}%`;
const pText = (p: number): string => (p < 0.001 ? '< 0.001' : p.toFixed(3));

/** Whether a comparison's interval exists and contains 0 (the difference is not shown). */
function includesZero(c: PairedComparison): boolean {
  return c.ciLow !== null && c.ciHigh !== null && c.ciLow <= 0 && c.ciHigh >= 0;
}

function interval(c: PairedComparison): string {
  return c.ciLow !== null && c.ciHigh !== null ? ` [${pts(c.ciLow)}, ${pts(c.ciHigh)}]` : '';
}

/** Above this many comparisons, those that show no difference are listed in one sentence. */
export const MAX_SPELLED_OUT = 6;

/** The two-sided exact sign-flip test's smallest p-value with n pairs: 2 / 2^n. */
export function signFlipFloor(n: number): number {
  return Math.min(1, 2 / 2 ** n);
}

/**
 * Markdown bullet lines on what the summary shows and what it does not: scope and completeness; each variant against
 * the baseline (difference, interval, both p-values, seeds won), with the floor of the sign-flip test; the number of
 * comparisons; the seed-to-seed spread next to the differences; the baseline's fit and gap and each variant's change
 * of the gap; the contrastive term's share of the loss; and what the experiment cannot say.
 */
export function summaryFindings(s: ExperimentSummary, opts: FindingsOptions = {}): string[] {
  const metric = opts.metric ?? 'verificationAccuracy';
  const alpha = opts.alpha ?? 0.05;
  const mLabel = TABLE_METRICS.find((t) => t.key === metric)?.label ?? metric;
  const base = s.variants.find((v) => v.variant === s.baseline);
  const baseLabel = base?.label ?? s.baseline;
  const out: string[] = [];
  const unitsWord = s.replicates ? `(seed, ${s.replicates.label}) runs` : 'seeds';

  // Scope and completeness.
  const planned = s.runs.length + s.failed.length + s.missing.length;
  out.push(`**Scope.** \`${s.experiment}\`: ${s.variants.length} variants x ${unitsWord === 'seeds' ? `seeds ${s.seeds.join(', ')}` : `${s.seeds.length} seeds x ${s.replicates?.values.length ?? 0} ${s.replicates?.label ?? ''} values`}: ` +
    `${s.runs.length} of ${planned} planned runs finished${s.failed.length ? `, ${s.failed.length} failed` : ''}${s.missing.length ? `, ${s.missing.length} not finished (left out of every number)` : ''}; ` +
    `backend ${s.backends.join(', ') || 'n/a'}.${s.description ? ` ${s.description}.` : ''}`);

  // Each variant against the baseline. With many variants, those whose interval includes 0 share one sentence.
  const diffs = pairedDifferences(s, metric);
  const comparisons = diffs.filter((d) => d.comparison !== null);
  const compact = comparisons.length > MAX_SPELLED_OUT;
  const unshown: string[] = [];
  let minPairs = Infinity;
  let below = 0;
  for (const d of diffs) {
    const c = d.comparison;
    if (!c) {
      out.push(`**${d.label}** has no ${unitsWord === 'seeds' ? 'seed' : 'run'} in common with ${baseLabel}: no paired comparison.`);
      continue;
    }
    minPairs = Math.min(minPairs, c.n);
    const won = d.diffs.filter((x) => x > 0).length;
    const lost = d.diffs.filter((x) => x < 0).length;
    const head = `**${d.label}** − ${baseLabel}: ${pts(c.meanDiff)} points of ${mLabel}${interval(c)}`;
    if (c.n < 2) {
      out.push(`${head} on a single ${unitsWord === 'seeds' ? 'seed' : 'run'}: one draw, no interval and no test; it shows nothing about a difference.`);
      continue;
    }
    const ps = `paired t p = ${c.pT === null ? 'n/a' : pText(c.pT)}, sign-flip p = ${c.pPermutation === null ? 'n/a (too many pairs to enumerate)' : pText(c.pPermutation)}`;
    const tally = `higher on ${won} of ${c.n} ${unitsWord}, lower on ${lost}`;
    if (c.pT !== null && c.pT < alpha) below++;
    if (includesZero(c)) {
      if (compact) unshown.push(`${d.label} ${pts(c.meanDiff)}`);
      else out.push(`${head} over ${c.n} ${unitsWord} (${ps}; ${tally}). The 95% interval includes 0: these runs do not show a difference.`);
    } else {
      const dir = c.meanDiff > 0 ? 'higher' : 'lower';
      const signOk = c.pPermutation !== null && c.pPermutation < alpha;
      out.push(`${head} over ${c.n} ${unitsWord} (${ps}; ${tally}). The 95% interval excludes 0: on this benchmark and at these ${unitsWord}, ${d.label} is ${dir}` +
        `${signOk ? '' : `, but the exact sign-flip test does not confirm it at ${alpha} (with ${c.n} pairs it cannot go below ${pText(signFlipFloor(c.n))})`}.`);
    }
  }
  if (unshown.length) {
    out.push(`**${unshown.length} of ${comparisons.length} variants** have a 95% interval of the difference to ${baseLabel} that includes 0, so these runs do not show a difference for them ` +
      `(mean differences in points: ${unshown.join(', ')}).`);
  }
  if (Number.isFinite(minPairs) && signFlipFloor(minPairs) > alpha) {
    out.push(`**Few ${unitsWord}.** With ${minPairs} pairs the exact sign-flip p cannot go below ${pText(signFlipFloor(minPairs))} (2/2^n): ` +
      `it needs at least ${Math.floor(Math.log2(2 / alpha)) + 1} ${unitsWord} to reach p < ${alpha}, whatever the data.`);
  }
  if (comparisons.length > 1) {
    out.push(`**Several comparisons.** ${comparisons.length} variants are compared with ${baseLabel}; if none differed, about ${(comparisons.length * alpha).toFixed(2)} of them would reach p < ${alpha} by chance ` +
      `(${below} did on the paired t-test). The tables apply no correction.`);
  }

  // Spread over seeds next to the differences.
  const baseStd = base?.metrics[metric]?.std ?? null;
  if (baseStd !== null && comparisons.length > 0) {
    const largest = Math.max(...comparisons.map((d) => Math.abs((d.comparison as PairedComparison).meanDiff)));
    out.push(`**Seed spread.** ${baseLabel}'s ${mLabel} varies by ${(100 * baseStd).toFixed(2)} points (sample std) from seed to seed; the largest mean difference to it is ${(100 * largest).toFixed(2)} points` +
      `${largest < baseStd ? ', smaller than that spread: pairing by seed is what makes such differences readable at all' : ''}.`);
  }

  // Fit and gap: can a regulariser help here?
  const train = base?.metrics.trainAccuracy ?? null;
  const gap = base?.metrics.gap ?? null;
  if (!train) {
    out.push('**Fit.** The runs have no fit measurements (training accuracy in evaluation mode): whether the baseline fits its training identities is not known here.');
  } else {
    const fits = train.mean >= 0.95;
    out.push(`**Fit.** ${baseLabel} reaches ${pctText(train.mean)} training accuracy (evaluation mode)` +
      `${fits ? ': it fits its training identities, so a regulariser has something to act on' : ': it does not fit its training identities (below the 95% the regime study asks for, docs/regime), a regime where a regulariser is not expected to help'}.`);
    if (!gap) {
      out.push('**Gap.** The dataset has no held-back images of the training identities: the train-vs-test gap is not measured in this experiment.');
    } else {
      const gapText = `${baseLabel} verifies ${pctText(base?.metrics.heldOutAccuracy?.mean ?? NaN)} on held-back images of its training identities against ${pctText(base?.metrics.verificationAccuracy?.mean ?? NaN)} on new identities: a gap of ${pts(gap.mean)} points`;
      const size = gap.mean <= 0 ? ' (none: the training identities verify no better than new ones, so there is no gap to close)' : gap.mean < 0.02 ? ' (small: there is little for a regulariser to close)' : '';
      out.push(`**Gap.** ${gapText}${size}.`);
      for (const v of s.variants) {
        const dg = v.vsBaseline?.gap ?? null;
        if (!dg || dg.n < 2) continue;
        out.push(`- ${v.label} changes the gap by ${pts(dg.meanDiff)} points${interval(dg)}: ${includesZero(dg) ? 'not distinguishable from no change' : dg.meanDiff < 0 ? 'a smaller gap at these seeds' : 'a larger gap at these seeds'}.`);
      }
    }
  }

  // Where the contrastive signal goes.
  for (const v of s.variants) {
    const shares = s.runs.filter((r) => r.variant === v.variant).map((r) => r.contrastiveShare).filter((x): x is number => x !== null && Number.isFinite(x));
    if (shares.length === 0) continue;
    const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
    if (mean === 0) {
      out.push(`**Signal.** ${v.label} computes the contrastive term with weight 0: it is measured, not trained on.`);
      continue;
    }
    out.push(`**Signal.** In ${v.label} the weighted contrastive term is ${pctText(mean)} of the final epoch's total loss (mean of ${shares.length} runs)` +
      `${mean < 0.05 ? ': most of the gradient still comes from the cross-entropy terms' : ''}.`);
  }

  // What the experiment cannot say.
  out.push('**Not shown.** Everything above holds for this experiment\'s data, model and schedule only (the scope above): ' +
    'other datasets (real faces at scale), backbones, schedules or hyper-parameters were not run here, and no number above transfers to them.');
  if (s.failed.length || s.missing.length) {
    out.push(`**Incomplete.** ${s.failed.length + s.missing.length} planned runs are not in these numbers; a variant whose runs failed is not "worse", it is unmeasured.`);
  }
  return out;
}
