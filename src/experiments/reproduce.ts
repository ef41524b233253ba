import { ConfigError } from '../config';
import { ablate, AblateResult } from './ablate';
import { QUICK_SUBSET } from './builtin';
import { resolveSeeds } from './spec';
import { tableToMarkdown } from '../report/table';
import { mainTable } from './views';

/** A preset of `coreface reproduce`: an experiment and the variants of it that the preset runs. */
export interface ReproducePreset {
  name: string;
  experiment: string;
  /** Variants run (default all of the experiment). */
  variants?: string[];
  description: string;
}

/** Presets of `coreface reproduce`. */
export const REPRODUCE_PRESETS: Record<string, ReproducePreset> = {
  quick: {
    name: 'quick',
    experiment: 'coreface-ablation-quick',
    variants: QUICK_SUBSET,
    description: `the paper's main comparison (${QUICK_SUBSET.join(', ')}) from the quick-scale CoReFace ablation, 2 seeds (about 3 minutes on 2 idle cores with the native kernels, 16-25 on plain wasm)`,
  },
  full: {
    name: 'full',
    experiment: 'coreface-ablation',
    description: 'the whole CoReFace ablation at full scale, 5 seeds (days on 2 cores: see the printed estimate)',
  },
};

/** Options of `reproduce`. */
export interface ReproduceOptions {
  /** 'quick' (default) or 'full'. */
  preset?: string;
  /** Seeds per variant (default: the experiment's). Seeds are 0..n-1. */
  seeds?: number;
  /** Parallel worker processes (default: one per CPU core; one per GPU with tfjs-node-gpu, see `defaultWorkers`). */
  jobs?: number;
  /** Results root (default 'results'); finished runs in it are reused. */
  results?: string;
  /** Only the timing probe and the estimate (default false). */
  estimateOnly?: boolean;
  log?: (line: string) => void;
}

/** `coreface reproduce`: `ablate` on the preset's experiment and variants; returns its result and the Markdown table. */
export async function reproduce(opts: ReproduceOptions = {}): Promise<AblateResult & { table: string }> {
  const preset = REPRODUCE_PRESETS[opts.preset ?? 'quick'];
  if (!preset) throw new ConfigError('preset', `unknown preset '${opts.preset}' (available: ${Object.keys(REPRODUCE_PRESETS).join(', ')})`);
  const seeds = opts.seeds === undefined ? undefined : resolveSeeds(opts.seeds, '--seeds');
  (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(`[reproduce] preset ${preset.name}: ${preset.description}`);
  const res = await ablate(preset.experiment, { variants: preset.variants, seeds, jobs: opts.jobs, results: opts.results, estimateOnly: opts.estimateOnly, log: opts.log });
  return { ...res, table: tableToMarkdown(mainTable(res.summary)) };
}
