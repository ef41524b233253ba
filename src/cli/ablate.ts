/** `coreface ablate` and `coreface collect`: an experiment's runs through the run store, and its tables and report. */
import * as fs from 'fs';
import * as path from 'path';
import { ablate, collect, getExperiment, listExperiments, mainTable, parseShard, planRuns, rebaseSummary, resolveSeeds, writeTableViews } from '../experiments';
import type { AblateResult, ExperimentSummary } from '../experiments';
import { tableToMarkdown } from '../report';
import { Command, intOption, OptionSpec, parseWithPositionals, readJson, startBackend, UsageError } from './common';

const ABLATE_USAGE = `  coreface ablate EXPERIMENT|FILE.json [--variants a,b] [--seeds N|a,b] [--jobs N] [--shard k/n]
                  [--results DIR] [--retry-failed] [--no-report] [--check-report] [--estimate-only]
      Run the runs of an experiment that the store lacks (finished runs are reused, interrupted ones resume,
      failures are recorded), then write summary.json, table.{md,csv,tex}, runs.csv and report.html to
      DIR/<experiment>/ (default DIR: results). With --shard k/n only every n-th run from k (1-based) runs
      and the views are left to 'collect' (Slurm job arrays, Kubernetes Indexed Jobs: docs/cluster.md).
`;

const COLLECT_USAGE = `  coreface collect EXPERIMENT|FILE.json [--variants a,b] [--seeds N|a,b] [--results DIR] [--no-report]
                   [--check-report]
      Summarise what the store holds for an experiment (no training) and write its tables and report;
      --check-report opens report.html in headless Chromium (plots rendered, console errors, report.png).
  coreface collect --summary FILE [--baseline VARIANT] [--out DIR]
      Rebuild table.md, table.csv, runs.csv and table.tex from a summary.json alone (no store needed, e.g. the
      committed docs/results/<experiment>/summary.json), into DIR (default: the summary's folder). --baseline
      pairs every variant against VARIANT instead of the experiment's baseline (recomputed from the summary's
      per-run values; default DIR then: <summary's folder>/vs-VARIANT).
`;

/** --variants a,b as a list of names. */
function listOption(v: string | boolean | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError('--variants needs a comma-separated list of variant names');
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

/** --seeds N (a count) or a,b,c (a list). */
function seedsOption(v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError('--seeds needs a count N or a list a,b,c');
  const parsed = v.includes(',') ? v.split(',').map((x) => Number(x)) : Number(v);
  return resolveSeeds(parsed, '--seeds');
}

/** The main table of an ablation (stdout), with where its views are or how to write them. */
export function printResult(res: AblateResult, results: string | undefined): void {
  const s = res.summary;
  const files = res.files;
  const over = s.replicates ? `(seed, ${s.replicates.label}) runs: seeds ${s.seeds.join(', ')} x ${s.replicates.label} ${s.replicates.values.join(', ')}` : `seeds ${s.seeds.join(', ')}`;
  process.stdout.write(`\n${tableToMarkdown(mainTable(s))}\nmean ± std over ${over} (backend ${s.backends.join(', ') || 'n/a'})` +
    `${res.wallSeconds ? `; wall time ${(res.wallSeconds / 60).toFixed(1)} min` : ''}` +
    `${files ? `; tables and report in ${path.dirname(files.summary)}` : `; run 'coreface collect ${res.experiment}${results ? ` --results ${results}` : ''}' for the tables`}\n`);
}

/** The names of the registered experiments, for messages. */
function registered(): string {
  return listExperiments().map((e) => e.name).join(', ');
}

const EXPERIMENT_OPTIONS: OptionSpec = {
  variants: { type: 'string' }, seeds: { type: 'string' }, results: { type: 'string' }, 'no-report': { type: 'boolean' }, 'check-report': { type: 'boolean' },
};

async function runAblate(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseWithPositionals(argv, {
    ...EXPERIMENT_OPTIONS, jobs: { type: 'string' }, shard: { type: 'string' }, 'retry-failed': { type: 'boolean' }, 'estimate-only': { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError(`ablate needs one experiment name or FILE.json (registered: ${registered()})`);
  const shard = typeof o.shard === 'string' ? parseShard(o.shard) : undefined;
  // Every option is checked before the backend starts (and before any run).
  const variants = listOption(o.variants), seeds = seedsOption(o.seeds), jobs = intOption(o.jobs, 'jobs');
  const exp = getExperiment(positionals[0]);
  planRuns(exp, { variants, seeds }); // unknown variants and invalid configs fail here, before any work
  await startBackend(o.backend);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await ablate(exp, {
    variants, seeds, results, report: !o['no-report'], checkReport: Boolean(o['check-report']),
    jobs, shard, retryFailed: Boolean(o['retry-failed']), estimateOnly: Boolean(o['estimate-only']),
    backend: typeof o.backend === 'string' ? o.backend : undefined,
  });
  if (!o['estimate-only']) printResult(res, results);
  return res.unfinished > 0 && !o['estimate-only'] ? 1 : 0;
}

async function runCollect(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseWithPositionals(argv, { ...EXPERIMENT_OPTIONS, summary: { type: 'string' }, out: { type: 'string' }, baseline: { type: 'string' } });
  if (typeof o.summary === 'string') {
    if (positionals.length > 0 || o.variants || o.seeds || o.results) throw new UsageError('collect --summary FILE takes no experiment, --variants, --seeds or --results (the summary is the whole input)');
    const read = readJson(o.summary) as ExperimentSummary;
    if (!read || typeof read !== 'object' || typeof read.experiment !== 'string' || !Array.isArray(read.variants) || !Array.isArray(read.runs)) {
      throw new UsageError(`${o.summary} is not a summary.json of coreface collect (no experiment, variants and runs fields)`);
    }
    if (o.baseline !== undefined && (typeof o.baseline !== 'string' || o.baseline === '')) throw new UsageError('--baseline needs a variant name');
    const baseline = typeof o.baseline === 'string' ? o.baseline : undefined;
    let summary = read;
    if (baseline !== undefined) {
      try {
        summary = rebaseSummary(read, baseline);
      } catch (e) {
        throw new UsageError(`--baseline ${baseline}: ${(e as Error).message}`);
      }
    }
    const out = typeof o.out === 'string' ? o.out : baseline === undefined ? path.dirname(o.summary) : path.join(path.dirname(o.summary), `vs-${baseline}`);
    const files = writeTableViews(out, summary);
    process.stdout.write(`${fs.readFileSync(files.markdown, 'utf8')}\nrebuilt from ${o.summary}: ${path.join(out, '{table.md,table.csv,runs.csv,table.tex}')}\n`);
    return 0;
  }
  if (o.out || o.baseline !== undefined) throw new UsageError(`--${o.out ? 'out' : 'baseline'} goes with --summary FILE (views of a store go to DIR/<experiment>/ of --results)`);
  if (positionals.length !== 1) throw new UsageError(`collect needs one experiment name or FILE.json (registered: ${registered()})`);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await collect(positionals[0], { variants: listOption(o.variants), seeds: seedsOption(o.seeds), results, report: !o['no-report'], checkReport: Boolean(o['check-report']) });
  printResult(res, results);
  return 0;
}

/** `coreface ablate`. */
export const ablateCommand: Command = { name: 'ablate', usage: ABLATE_USAGE, run: runAblate };
/** `coreface collect`. */
export const collectCommand: Command = { name: 'collect', usage: COLLECT_USAGE, run: runCollect };
