/** `coreface list`: what is registered (datasets, backbones, heads, experiments, reproduce presets). */
import { listDatasets } from '../data';
import { listBackbones } from '../models';
import { listHeads } from '../heads';
import { listExperiments, REPRODUCE_PRESETS } from '../experiments';
import { Command, parse } from './common';

const USAGE = `  coreface list
      Registered datasets, backbones, heads, experiments and reproduce presets.
`;

function run(argv: string[]): number {
  parse(argv, {});
  const lines = [
    `datasets:  ${listDatasets().map((d) => d.name).join(', ')}`,
    `backbones: ${listBackbones().map((b) => b.name).join(', ')}`,
    `heads:     ${listHeads().map((h) => h.name).join(', ')}`,
    `experiments: ${listExperiments().map((e) => `${e.name} (${e.variants} variants x ${e.seeds} seeds${e.replicates ? ` x ${e.replicates} replicates = ${e.runs} runs` : ''})`).join(', ')}`,
    `presets:   ${Object.entries(REPRODUCE_PRESETS).map(([k, p]) => `${k} -> ${p.experiment}${p.variants ? ` [${p.variants.join(', ')}]` : ''}`).join(', ')}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `coreface list`. */
export const listCommand: Command = { name: 'list', usage: USAGE, run };
