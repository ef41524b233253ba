/**
 * The ablation engine from a notebook: the same `ablate` / `collect` path and run store as the CLI
 * (`coreface ablate <experiment> --results <store>`), so a run trained by a notebook is the store entry the CLI
 * reuses and the other way round (test/notebooks/store-sharing.test.ts).
 */
import * as path from 'path';
import { ablate, collectOutcomes } from '../experiments/ablate';
import { getExperiment } from '../experiments/registry';
import { planRuns, type PlannedRun, type ResolvedExperiment } from '../experiments/spec';
import { RunStore } from '../experiments/store';
import { summarizeExperiment, type ExperimentSummary } from '../experiments/summary';
import { fromRecords, type TableData } from '../report/table';
import { projectRoot } from './notebook';
import { shownPath, type NotebookParams } from './params';

/** The parameters {@link runNotebookExperiment} reads (a {@link NotebookParams} has them all). */
export type NotebookExperimentParams = Pick<NotebookParams, 'experiment' | 'variants' | 'seeds' | 'results' | 'train'>;

/** Options of {@link runNotebookExperiment}. */
export interface NotebookRunOptions {
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
  /**
   * Forward every line of the engine, the training children's progress lines included (default false: only the
   * `[ablate]` / `[collect]` lines: runs started, finished, failed, the estimate and the ETA).
   */
  verbose?: boolean;
  /** Parallel training processes (default: the engine's, one per core on wasm). */
  jobs?: number;
  /** Also write report.html beside the tables (default false: the notebook shows the figures itself). */
  report?: boolean;
}

/** What {@link runNotebookExperiment} returns. */
export interface NotebookExperimentRun {
  experiment: ResolvedExperiment;
  /** The summary over the planned runs (variants and seeds of the parameters). */
  summary: ExperimentSummary;
  /** Planned runs. */
  planned: number;
  /** Runs the store held before (reused, not trained). */
  reused: number;
  /** Runs that finished during this call. */
  trained: number;
  /** Planned runs without a result after the call (failed, busy elsewhere, or not trained: `train` false). */
  unfinished: number;
  wallSeconds: number;
  /** The store root. */
  store: string;
  /** Folder of the views (`<store>/<experiment>/`: summary.json, table.md, ...), null when nothing was written. */
  views: string | null;
}

function planned(p: NotebookExperimentParams): { exp: ResolvedExperiment; runs: PlannedRun[] } {
  if (p.experiment === null) throw new Error('this notebook has no experiment: set one with NOTEBOOK_EXPERIMENT or the notebook\'s parameters');
  const exp = getExperiment(p.experiment);
  return { exp, runs: planRuns(exp, { variants: p.variants, seeds: p.seeds }) };
}

function finishedCount(runs: PlannedRun[], store: RunStore): number {
  return runs.filter((r) => store.result(r.key, r.config) !== null).length;
}

/**
 * Runs the notebook's experiment through the engine: with `train` (default), `ablate` (the runs the store lacks
 * train in child processes, `coreface train --resume`, as the CLI runs them; then the views are written to
 * `<store>/<experiment>/`); without, the summary of what the store holds (nothing trained, nothing written).
 */
export async function runNotebookExperiment(p: NotebookExperimentParams, opts: NotebookRunOptions = {}): Promise<NotebookExperimentRun> {
  const { exp, runs } = planned(p);
  const store = new RunStore(p.results);
  const before = finishedCount(runs, store);
  const t0 = Date.now();
  // project paths shown relative to the project root (outputs committed from one checkout name no machine folder)
  const root = projectRoot() + path.sep;
  const sink = opts.log ?? ((l: string) => console.log(l));
  const out = (l: string): void => sink(l.split(root).join(''));
  const log = opts.verbose ? out : (l: string) => { if (/^\[(ablate|collect)\]/.test(l)) out(l); };
  if (!p.train) {
    const summary = summarizeExperiment(exp, collectOutcomes(runs, store));
    out(`[notebook] ${exp.name}: ${before}/${runs.length} runs in the store ${shownPath(store.root)} (train = false: nothing trained)`);
    return { experiment: exp, summary, planned: runs.length, reused: before, trained: 0, unfinished: runs.length - before, wallSeconds: 0, store: store.root, views: null };
  }
  const res = await ablate(exp, { results: store.root, variants: p.variants, seeds: p.seeds, report: opts.report ?? false, jobs: opts.jobs, log });
  const after = finishedCount(runs, store);
  return {
    experiment: exp, summary: res.summary, planned: runs.length, reused: before, trained: Math.max(0, after - before), unfinished: runs.length - after,
    wallSeconds: (Date.now() - t0) / 1000, store: store.root, views: res.files ? path.join(store.root, exp.name) : null,
  };
}

/**
 * The experiment as a table, before anything runs: per variant its label, what it changes, and how many of its
 * planned runs the store already holds.
 */
export function experimentPlanTable(p: NotebookExperimentParams): TableData {
  const { exp, runs } = planned(p);
  const store = new RunStore(p.results);
  return fromRecords(exp.variants.filter((v) => runs.some((r) => r.variant === v.name)).map((v) => {
    const mine = runs.filter((r) => r.variant === v.name);
    return {
      variant: v.name,
      label: v.label,
      description: v.description,
      'runs in the store': `${finishedCount(mine, store)}/${mine.length}`,
    };
  }));
}

/** The `coreface` command that does what {@link runNotebookExperiment} does with these parameters (run in the project root). */
export function cliCommand(p: NotebookExperimentParams): string {
  if (p.experiment === null) return '';
  const parts = ['npx coreface', p.train ? 'ablate' : 'collect', p.experiment, '--results', shownPath(p.results)];
  if (p.variants) parts.push('--variants', p.variants.join(','));
  if (p.seeds) {
    // --seeds takes a count n (seeds 0..n-1) or a list a,b: one seed other than 0 has no spelling there
    const count = p.seeds.every((s, i) => s === i);
    if (count || p.seeds.length > 1) parts.push('--seeds', count ? String(p.seeds.length) : p.seeds.join(','));
    else return `${parts.join(' ')}   # seed ${p.seeds[0]} alone: use a list of 2+ seeds or a count with --seeds`;
  }
  return parts.join(' ');
}
