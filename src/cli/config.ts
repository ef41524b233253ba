/** `coreface config`: the default config (JSON) or the config reference (Markdown, docs/config.md). */
import { resolveTrainConfig, schemaMarkdown, TRAIN_SCHEMA } from '../config';
import { Command, parse } from './common';

const USAGE = `  coreface config [--defaults | --docs]
      Print the default config (JSON) or the config reference (Markdown).
`;

function run(argv: string[]): number {
  const o = parse(argv, { defaults: { type: 'boolean' }, docs: { type: 'boolean' } });
  if (o.docs) process.stdout.write(schemaMarkdown(TRAIN_SCHEMA) + '\n');
  else process.stdout.write(JSON.stringify(resolveTrainConfig({}), null, 2) + '\n');
  return 0;
}

/** `coreface config`. */
export const configCommand: Command = { name: 'config', usage: USAGE, run };
