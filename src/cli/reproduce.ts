/** `coreface reproduce`: the paper's main comparison as an ablation preset (quick or full). */
import { REPRODUCE_PRESETS, reproduce } from '../experiments';
import { printResult } from './ablate';
import { Command, intOption, parse, startBackend, UsageError } from './common';

const USAGE = `  coreface reproduce [--preset quick|full] [--seeds N] [--jobs N] [--results DIR] [--estimate-only]
      quick (default): ArcFace, ArcFace+dropout and CoReFace from the quick CoReFace ablation, 2 seeds;
      full: the whole coreface-ablation experiment. Prints the table; writes results/<experiment>/.
`;

async function run(argv: string[]): Promise<number> {
  const o = parse(argv, {
    preset: { type: 'string' }, seeds: { type: 'string' }, jobs: { type: 'string' }, results: { type: 'string' },
    'estimate-only': { type: 'boolean' },
  });
  const preset = typeof o.preset === 'string' ? o.preset : 'quick';
  if (!REPRODUCE_PRESETS[preset]) throw new UsageError(`--preset must be one of ${Object.keys(REPRODUCE_PRESETS).join(', ')}, got '${preset}'`);
  // Every option is checked before the backend starts (and before any run).
  const seeds = intOption(o.seeds, 'seeds'), jobs = intOption(o.jobs, 'jobs');
  await startBackend(o.backend);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await reproduce({ preset, seeds, jobs, results, estimateOnly: Boolean(o['estimate-only']) });
  if (!o['estimate-only']) printResult(res, results);
  return res.unfinished > 0 && !o['estimate-only'] ? 1 : 0;
}

/** `coreface reproduce`. */
export const reproduceCommand: Command = { name: 'reproduce', usage: USAGE, run };
