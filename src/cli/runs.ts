/**
 * `coreface runs`: the results index of a store (src/experiments/runs-index.ts) on the command line: list with
 * filters and exports, `diff` of two runs, `prune` of runs no experiment plans. Self-contained (its own usage and
 * error handling) so that src/cli/main.ts only dispatches to it.
 */
import { parseArgs } from 'util';
import { ConfigError } from '../config';
import type { Command } from './common';
import {
  alignedMarkdown, buildRunsIndex, diffRuns, filterRuns, findRun, formatRunDiff, getExperiment, parseWhere, pruneRuns,
  registeredExperiments, ResolvedExperiment, RUN_STATUSES, RunStatus, runsIndexCsv, runsIndexTable, RunStore, DEFAULT_RESULTS_DIR,
} from '../experiments';

export const RUNS_USAGE = `Usage:
  coreface runs [--results DIR] [--where PATH=VALUE | PATH!=VALUE]... [--status S[,S]] [--experiment FILE.json]...
                [--json | --csv]
      List every run of the store DIR/runs (default DIR: results) as a table: key, experiment, variant, seed,
      status, verification accuracy, TAR@FAR=1e-3, rank-1, any 'gap' of result.json, wall time, backend, code
      version. Experiments are the registered ones plus the --experiment files. --where filters on the run's
      resolved config by dotted path (head.name=arcface, coreface.enabled!=true, optimizer.lr=0.1) or on
      key, experiment, variant, status, backend, code; repeated --where are ANDed. --status done, failed,
      running, partial or missing (comma-separated or repeated). --json / --csv export the rows.
  coreface runs diff A B [--results DIR] [--experiment FILE.json]... [--json]
      The config keys that differ between runs A and B (run keys or unique key prefixes) and every metric with
      its difference B - A.
  coreface runs prune [--results DIR] [--experiment FILE.json]... [--yes]
      Remove the run folders that no experiment plans (the registered ones and the --experiment files, at their
      seeds or any seed found in the store). Dry run by default: lists what would go; --yes deletes.
`;

class RunsUsageError extends Error {}

const OPTIONS = {
  results: { type: 'string' },
  where: { type: 'string', multiple: true },
  status: { type: 'string', multiple: true },
  experiment: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function experimentsFrom(files: string[] | undefined): ResolvedExperiment[] {
  const extra = (files ?? []).map((f) => {
    if (!f.endsWith('.json')) throw new RunsUsageError(`--experiment takes an experiment FILE.json, got '${f}' (registered experiments are always included)`);
    return getExperiment(f);
  });
  const all = [...registeredExperiments(), ...extra];
  const seen = new Set<string>();
  return all.filter((e) => (seen.has(e.name) ? false : (seen.add(e.name), true)));
}

function statuses(values: string[] | undefined): RunStatus[] | undefined {
  if (!values) return undefined;
  const out = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of out) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) throw new RunsUsageError(`--status must be one of ${RUN_STATUSES.join(', ')}, got '${s}'`);
  }
  return out as RunStatus[];
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** `coreface runs ...`; resolves to the exit code (2 for usage and config errors, 1 for other errors). */
export async function cmdRuns(argv: string[]): Promise<number> {
  try {
    return await runs(argv);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const msg = err.message.replace(/\s*\r?\n\s*/g, ' ');
    if (err instanceof RunsUsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`coreface: ${msg}\nRun 'coreface runs --help' for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`coreface: config error: ${msg}\n`);
      return 2;
    }
    process.stderr.write(`coreface: error: ${msg}\n`);
    return 1;
  }
}

async function runs(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  if (o.help) {
    process.stdout.write(RUNS_USAGE);
    return 0;
  }
  const [sub, ...args] = positionals;
  const store = new RunStore(o.results ?? DEFAULT_RESULTS_DIR);
  const only = (allowed: string[], what: string): void => {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k) && o[k as keyof typeof o] !== undefined) throw new RunsUsageError(`${what} does not take --${k}`);
    }
  };
  if (sub === 'diff') {
    only(['results', 'experiment', 'json'], 'runs diff');
    if (args.length !== 2) throw new RunsUsageError(`runs diff needs two runs (keys or unique key prefixes), got ${args.length}`);
    const entries = buildRunsIndex(store, { experiments: experimentsFrom(o.experiment) });
    const d = diffRuns(findRun(entries, args[0]), findRun(entries, args[1]));
    if (o.json) process.stdout.write(JSON.stringify({ a: d.a.key, b: d.b.key, config: d.config, metrics: d.metrics }, null, 2) + '\n');
    else process.stdout.write(formatRunDiff(d) + '\n');
    return 0;
  }
  if (sub === 'prune') {
    only(['results', 'experiment', 'yes'], 'runs prune');
    if (args.length) throw new RunsUsageError(`runs prune takes no arguments, got '${args.join(' ')}'`);
    const r = pruneRuns(store, { experiments: experimentsFrom(o.experiment), dryRun: !o.yes });
    for (const x of r.removed) process.stdout.write(`${r.dryRun ? 'would remove' : 'removed'} ${x.key} (${x.status}, ${mib(x.bytes)})\n`);
    for (const k of r.busy) process.stdout.write(`kept ${k}: a live process is training it\n`);
    process.stdout.write(`${r.removed.length} run(s) no experiment plans (${mib(r.bytes)}) ${r.dryRun ? 'would be removed; run again with --yes to delete them' : 'removed'}; ` +
      `${r.kept} run(s) kept${r.busy.length ? `, ${r.busy.length} busy` : ''} in ${store.root}/runs\n`);
    return 0;
  }
  if (sub !== undefined) throw new RunsUsageError(`unknown runs subcommand '${sub}' (runs [options], runs diff A B, runs prune)`);
  only(['results', 'where', 'status', 'experiment', 'json', 'csv'], 'runs');
  if (o.json && o.csv) throw new RunsUsageError('--json and --csv exclude each other');
  const where = (o.where ?? []).map((w) => {
    try {
      return parseWhere(w);
    } catch (e) {
      throw new RunsUsageError((e as Error).message);
    }
  });
  const all = buildRunsIndex(store, { experiments: experimentsFrom(o.experiment) });
  const shown = filterRuns(all, { where, status: statuses(o.status) });
  if (o.json) {
    process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
  } else if (o.csv) {
    process.stdout.write(runsIndexCsv(shown));
  } else if (shown.length === 0) {
    process.stdout.write(all.length === 0 ? `no runs in ${store.root}/runs\n` : `none of the ${all.length} runs in ${store.root}/runs matches\n`);
  } else {
    process.stdout.write(alignedMarkdown(runsIndexTable(shown)) + '\n');
    const failed = shown.filter((e) => e.status === 'failed');
    if (failed.length) process.stdout.write(`\nFailed: ${failed.map((e) => `${e.key} (${e.error ?? 'no message'})`).join('; ')}\n`);
  }
  const counts = RUN_STATUSES.map((s) => [s, shown.filter((e) => e.status === s).length] as const).filter(([, n]) => n > 0);
  process.stderr.write(`${shown.length} of ${all.length} runs (${counts.map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}) in ${store.root}/runs\n`);
  return 0;
}

/** `coreface runs`: the results index of a store. */
export const runsCommand: Command = {
  name: 'runs',
  usage: `  coreface runs [--where PATH=VALUE]... [--status S] [--json|--csv] | runs diff A B | runs prune [--yes]
      The results index of a store: list, filter, compare and prune runs ('coreface runs --help').
`,
  run: cmdRuns,
};
