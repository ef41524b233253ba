/**
 * The parameter block of every notebook (issue 16), in one place: the mode, the run store, the experiment a
 * notebook runs or reads, its variants and seeds, whether missing runs train, and the dataset, each from (highest
 * first) the notebook's own override object, an environment variable, or the notebook's default below.
 *
 * | variable | value | default |
 * |---|---|---|
 * | `NOTEBOOK_MODE` | `quick` or `full` | `quick` |
 * | `NOTEBOOK_RESULTS` | run store root (runs in `<root>/runs/<key>/`, as `coreface ablate --results`) | `<project>/results`, the CLI's store |
 * | `NOTEBOOK_OUT` | folder of plots and generated files | `<project>/results/notebooks` |
 * | `NOTEBOOK_EXPERIMENT` | a registered experiment or FILE.json (03-06) | per notebook and mode, {@link NOTEBOOK_DEFAULTS} |
 * | `NOTEBOOK_VARIANTS` | `a,b,c`: only these variants | all |
 * | `NOTEBOOK_SEEDS` | a count `n` (0..n-1) or a list `a,b` | the experiment's |
 * | `NOTEBOOK_TRAIN` | `1` / `0`: train the runs the store lacks, or only read it | `1` |
 * | `NOTEBOOK_SOURCE` | `auto`, `store` or `committed`: where 06 reads a summary | `auto` |
 * | `NOTEBOOK_DATASET` | `synthfaces`, `glyphs`, `mnist`, `fashion-mnist`, `demo-folder`, or a path (an image folder or a `.rec`) (01, 02, 07) | per notebook |
 */
import * as fs from 'fs';
import * as path from 'path';
import { CLASS_PARTITION_REPLICATES, GLYPHS_QUICK_BASE, classDisjointQuickBase } from '../experiments/builtin';
import { getExperiment, listExperiments } from '../experiments/registry';
import { planRuns, resolveSeeds } from '../experiments/spec';
import { RunStore } from '../experiments/store';
import { PACKAGE } from '../util/package';
import { userDatasetForPath } from '../data/user/options';
import { NOTEBOOK_MODE_ENV, NOTEBOOK_OUT_ENV, NotebookMode, notebookMode, projectRoot } from './notebook';

/** Environment variable of the run store root of the notebooks (default `<project>/results`, the CLI's store). */
export const NOTEBOOK_RESULTS_ENV = 'NOTEBOOK_RESULTS';
/** Environment variable naming the experiment a notebook runs or reads (a registered name or FILE.json). */
export const NOTEBOOK_EXPERIMENT_ENV = 'NOTEBOOK_EXPERIMENT';
/** Environment variable: only these variants (`a,b,c`). */
export const NOTEBOOK_VARIANTS_ENV = 'NOTEBOOK_VARIANTS';
/** Environment variable: other seeds than the experiment's (a count n or a list `a,b`). */
export const NOTEBOOK_SEEDS_ENV = 'NOTEBOOK_SEEDS';
/** Environment variable: `0` reads the store only (no training), `1` (default) trains the runs it lacks. */
export const NOTEBOOK_TRAIN_ENV = 'NOTEBOOK_TRAIN';
/** Environment variable: where the results notebook reads a summary (`auto`, `store`, `committed`). */
export const NOTEBOOK_SOURCE_ENV = 'NOTEBOOK_SOURCE';
/** Environment variable choosing the dataset of 01, 02 and 07 (a name of {@link NOTEBOOK_DATASET_NAMES} or a path). */
export const NOTEBOOK_DATASET_ENV = 'NOTEBOOK_DATASET';

/** Where 06-results reads an experiment's summary: the run store, the committed `docs/results/<experiment>/summary.json`, or the first that has it. */
export type SummarySource = 'auto' | 'store' | 'committed';
const SUMMARY_SOURCES: readonly SummarySource[] = ['auto', 'store', 'committed'];

/** Datasets a notebook can take by name; anything else in `NOTEBOOK_DATASET` is a path (an image folder or a .rec). */
export const NOTEBOOK_DATASET_NAMES = ['synthfaces', 'glyphs', 'mnist', 'fashion-mnist', 'demo-folder'] as const;
/** A dataset name of {@link NOTEBOOK_DATASET_NAMES}. */
export type NotebookDatasetName = (typeof NOTEBOOK_DATASET_NAMES)[number];

/** The generated image folder of `demo-folder` (synthfaces identities written as PNG files, see ./demo-folder). */
export interface DemoFolderSpec {
  /** Folder the images are written to: `<out>/demo-faces-<mode>`. */
  dir: string;
  identities: number;
  imagesPerIdentity: number;
  /** Side of the written images in pixels. */
  resolution: number;
}

/** The dataset of a notebook: a registered dataset name and its options, ready for `createDataset` or a config. */
export interface NotebookDataset {
  /** What was asked for: a name of {@link NOTEBOOK_DATASET_NAMES}, or the path given. */
  choice: string;
  /** Registered dataset (`synthfaces`, `glyphs`, `mnist`, `fashion-mnist`, `image-folder`, `recordio`). */
  name: string;
  /** Its options in this mode. */
  options: Record<string, unknown>;
  /** For `demo-folder`: the folder to generate before use (`prepareNotebookDataset`). */
  demo?: DemoFolderSpec;
}

/** One candidate experiment of a notebook's default, with the reason shown to the reader. */
export interface NotebookExperimentChoice {
  experiment: string;
  /** Only these variants of it (default all). */
  variants?: string[];
  /** Why this experiment: shown under the stamp. */
  why: string;
  /**
   * When the candidate applies: 'registered' (default: the experiment is registered in this version) or 'data' (the
   * store holds all its runs, or `docs/results/<experiment>/summary.json` is committed). The first that applies wins.
   */
  when?: 'registered' | 'data';
}

/** What a notebook uses when nothing overrides it. */
export interface NotebookDefaults {
  /** Experiment candidates per mode (notebooks that run or read an experiment). */
  experiments?: Record<NotebookMode, NotebookExperimentChoice[]>;
  /** Dataset (notebooks that train on a dataset themselves). */
  dataset?: NotebookDatasetName;
  /**
   * The notebook reads an experiment's summary instead of running it (06-results): its experiment may be a name
   * with only a committed summary, and `train` does not apply (default false).
   */
  reads?: boolean;
}

/**
 * The defaults of the notebooks in `notebooks/`, by file name without `.ipynb`. Quick mode runs the registered smoke
 * experiments (seconds per run: CI runs every notebook); full mode the experiments the paper tables use (hours of
 * training unless the store holds them).
 */
export const NOTEBOOK_DEFAULTS: Readonly<Record<string, NotebookDefaults>> = {
  '01-quickstart': { dataset: 'synthfaces' },
  '02-coreface-anatomy': { dataset: 'synthfaces' },
  '03-ablation': {
    experiments: {
      quick: [{ experiment: 'notebook-ablation-smoke', why: 'quick mode: the regime comparison at smoke scale (seconds per run; numbers mean nothing)' }],
      full: [{ experiment: 'coreface-regime', why: 'full mode: the regime study, where the baseline fits its training identities (issue 15)' }],
    },
  },
  '04-pair-coupling': {
    dataset: 'synthfaces',
    experiments: {
      quick: [{ experiment: 'notebook-coupling-smoke', why: 'quick mode: the pair-coupling protocols at smoke scale (seconds per run; numbers mean nothing)' }],
      full: [{ experiment: 'coreface-regime-coupling', why: 'full mode: the pair-coupling protocols and a fixed margin in the regime' }],
    },
  },
  '05-heads': {
    experiments: {
      quick: [{ experiment: 'notebook-heads-smoke', why: 'quick mode: every head at smoke scale (seconds per run; numbers mean nothing)' }],
      full: [{ experiment: 'heads', why: 'full mode: every registered head on the quick synthfaces scale, the README\'s heads table' }],
    },
  },
  '06-results': {
    reads: true,
    experiments: {
      quick: [
        { experiment: 'coreface-regime', when: 'data', why: 'the regime study: its runs or its committed summary are here, and reading them trains nothing' },
        { experiment: 'notebook-ablation-smoke', why: 'quick mode: the regime study\'s results are neither in the store nor committed, so the smoke experiment of notebook 03' },
      ],
      full: [{ experiment: 'coreface-regime', why: 'the regime study (issue 15)' }],
    },
  },
  '07-your-data': { dataset: 'demo-folder' },
};

/** What a notebook's parameter cell may set; each field wins over its environment variable. */
export interface NotebookParamOverrides {
  mode?: NotebookMode;
  /** Run store root. */
  results?: string;
  /** Output folder of plots and generated files. */
  out?: string;
  experiment?: string;
  variants?: string[];
  /** Seeds (a count n means 0..n-1). */
  seeds?: number | number[];
  train?: boolean;
  source?: SummarySource;
  /** A name of {@link NOTEBOOK_DATASET_NAMES} or a path (an image folder `<root>/<identity>/<image>`, or a `.rec`). */
  dataset?: string;
}

/** The resolved parameters of a notebook. */
export interface NotebookParams {
  /** The notebook (file name without `.ipynb`). */
  notebook: string;
  mode: NotebookMode;
  /** mode === 'quick'. */
  quick: boolean;
  /** Run store root (absolute): the same store `coreface ablate --results <it>` uses. */
  results: string;
  /** Output folder of plots and generated files (absolute). */
  out: string;
  /** The experiment the notebook runs or reads (null for notebooks without one). */
  experiment: string | null;
  /** Why that experiment (the default's reason, or where the override came from). */
  experimentWhy: string;
  /** Only these variants (undefined: all). */
  variants: string[] | undefined;
  /** Other seeds than the experiment's (undefined: the experiment's). */
  seeds: number[] | undefined;
  /** Train the runs the store lacks (false: read what it holds). */
  train: boolean;
  /** The notebook reads summaries instead of running experiments ({@link NotebookDefaults.reads}). */
  reads: boolean;
  /** Where a summary is read from (06-results). */
  source: SummarySource;
  /** The dataset of notebooks that train on one (null for the others). */
  dataset: NotebookDataset | null;
  /** Where each parameter came from: 'default', 'notebook' (the override object) or the environment variable's name. */
  origin: Record<string, string>;
}

/** Dataset options per mode of the named datasets (the quick ones build in about a second). */
function namedDataset(name: Exclude<NotebookDatasetName, 'demo-folder'>, mode: NotebookMode): Record<string, unknown> {
  const quick = mode === 'quick';
  switch (name) {
    case 'synthfaces':
      return quick
        ? { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 }
        : { trainIdentities: 100, imagesPerIdentity: 20, testIdentities: 100, testImagesPerIdentity: 6, pairsPerFold: 60, resolution: 32, channels: 1, nuisance: 0.6 };
    case 'glyphs':
      return quick
        ? { trainIdentities: 40, imagesPerIdentity: 6, testIdentities: 40, testImagesPerIdentity: 4, pairsPerFold: 15, resolution: 16, channels: 1, distortion: 0.5 }
        : { ...((GLYPHS_QUICK_BASE.dataset as { options: Record<string, unknown> }).options) };
    case 'mnist':
    case 'fashion-mnist':
      return quick
        ? { testClasses: 4, trainPerClass: 60, testPerClass: 40, pairsPerFold: 20, resolution: 16, resize: 'scale', channels: 1, partition: CLASS_PARTITION_REPLICATES.values[0] }
        : { ...((classDisjointQuickBase(name).dataset as { options: Record<string, unknown> }).options), partition: CLASS_PARTITION_REPLICATES.values[0] };
  }
}

/** The dataset of `choice` (a name or a path) in `mode`; `out` is where `demo-folder` is generated. */
export function notebookDataset(choice: string, mode: NotebookMode, out: string): NotebookDataset {
  if (choice === 'demo-folder') {
    const quick = mode === 'quick';
    const demo: DemoFolderSpec = { dir: path.join(out, `demo-faces-${mode}`), identities: quick ? 36 : 150, imagesPerIdentity: quick ? 6 : 10, resolution: 32 };
    // Quick: 20 held-out identities (the fewest that fill 10 identity-disjoint folds) and 16 to train, at 16x16.
    return { choice, name: 'image-folder', options: quick ? { path: demo.dir, size: 16, testIdentities: 20 } : { path: demo.dir, size: 32 }, demo };
  }
  if ((NOTEBOOK_DATASET_NAMES as readonly string[]).includes(choice)) {
    return { choice, name: choice, options: namedDataset(choice as Exclude<NotebookDatasetName, 'demo-folder'>, mode) };
  }
  if (choice.trim() === '') throw new Error(`${NOTEBOOK_DATASET_ENV} must be one of ${NOTEBOOK_DATASET_NAMES.join(', ')} or a path, got an empty string`);
  let kind: string;
  try {
    kind = userDatasetForPath(choice);
  } catch (e) {
    throw new Error(`dataset '${choice}' is not one of ${NOTEBOOK_DATASET_NAMES.join(', ')}, and as a path: ${(e as Error).message}`);
  }
  return { choice, name: kind, options: { path: path.resolve(choice), size: mode === 'quick' ? 16 : 32 } };
}

function parseBool(v: string, name: string): boolean {
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(t)) return true;
  if (['0', 'false', 'no'].includes(t)) return false;
  throw new Error(`${name} must be 1 or 0 (true/false, yes/no), got '${v}'`);
}

function parseList(v: string, name: string): string[] {
  const items = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`${name} must be a comma-separated list of variant names, got '${v}'`);
  return items;
}

function parseSeeds(v: number | number[] | string, name: string): number[] {
  const raw = typeof v === 'string' ? (v.includes(',') ? v.split(',').map((x) => Number(x.trim())) : Number(v)) : v;
  return resolveSeeds(raw, name);
}

/** The committed experiment views of the library: `docs/results/` of its checkout (each `<experiment>/summary.json`). */
export function committedResultsDir(): string {
  return path.join(PACKAGE.root, 'docs', 'results');
}

/** Whether the results notebook has data for `experiment`: a committed summary, or every planned run in the store. */
export function experimentHasData(experiment: string, results: string, committedDir: string = committedResultsDir()): boolean {
  if (fs.existsSync(path.join(committedDir, experiment, 'summary.json'))) return true;
  if (!listExperiments().some((e) => e.name === experiment)) return false;
  const store = new RunStore(results);
  return planRuns(getExperiment(experiment)).every((r) => store.result(r.key, r.config) !== null);
}

/**
 * The parameters of `notebook` (its file name without `.ipynb`; unknown names get no experiment and no dataset
 * unless given). Precedence: `overrides` (the notebook's parameter cell), then the environment variables of the
 * module comment, then {@link NOTEBOOK_DEFAULTS}. Checks everything it can before any work: the mode, that the
 * experiment is registered (or a FILE.json; the results notebook also takes names it only has a committed summary
 * of), that the variants exist in it, the seeds, the train flag, the summary source, and the dataset (a path must
 * exist and be a folder or a .rec file). Errors name the variable and what is allowed.
 */
export function notebookParams(notebook: string, overrides: NotebookParamOverrides = {}, env: NodeJS.ProcessEnv = process.env): NotebookParams {
  const origin: Record<string, string> = {};
  const pick = <T>(key: string, over: T | undefined, envName: string, fromEnv: (v: string) => T, dflt: T): T => {
    if (over !== undefined) { origin[key] = 'notebook'; return over; }
    const e = env[envName];
    if (e !== undefined && e !== '') { origin[key] = envName; return fromEnv(e); }
    origin[key] = 'default';
    return dflt;
  };
  const defaults = NOTEBOOK_DEFAULTS[notebook] ?? {};
  const mode = pick<NotebookMode>('mode', overrides.mode, NOTEBOOK_MODE_ENV, () => notebookMode(env), 'quick');
  if (mode !== 'quick' && mode !== 'full') throw new Error(`mode must be 'quick' or 'full', got '${String(mode)}'`);
  const root = projectRoot();
  const results = path.resolve(pick('results', overrides.results, NOTEBOOK_RESULTS_ENV, (v) => v, path.join(root, 'results')));
  const out = path.resolve(pick('out', overrides.out, NOTEBOOK_OUT_ENV, (v) => v, path.join(root, 'results', 'notebooks')));
  const train = pick('train', overrides.train, NOTEBOOK_TRAIN_ENV, (v) => parseBool(v, NOTEBOOK_TRAIN_ENV), true);
  const source = pick<SummarySource>('source', overrides.source, NOTEBOOK_SOURCE_ENV, (v) => v as SummarySource, 'auto');
  if (!SUMMARY_SOURCES.includes(source)) {
    throw new Error(`${origin.source === 'notebook' ? 'source' : NOTEBOOK_SOURCE_ENV} must be one of ${SUMMARY_SOURCES.join(', ')}, got '${source}'`);
  }

  // The experiment: the override or variable, else the first default candidate that applies in this mode.
  const reads = defaults.reads ?? false;
  let experiment: string | null = null;
  let experimentWhy = '';
  let variants: string[] | undefined;
  const candidates = defaults.experiments?.[mode] ?? [];
  const given = pick<string | undefined>('experiment', overrides.experiment, NOTEBOOK_EXPERIMENT_ENV, (v) => v, undefined);
  if (given !== undefined) {
    experiment = given;
    experimentWhy = origin.experiment === 'notebook' ? 'set in the notebook' : `set by ${NOTEBOOK_EXPERIMENT_ENV}`;
  } else if (candidates.length > 0) {
    const registered = new Set(listExperiments().map((e) => e.name));
    const applies = (c: NotebookExperimentChoice): boolean => ((c.when ?? 'registered') === 'data' ? experimentHasData(c.experiment, results) : registered.has(c.experiment));
    const c = candidates.find(applies) ?? candidates[candidates.length - 1];
    experiment = c.experiment;
    experimentWhy = c.why;
    variants = c.variants;
  }
  const variantsGiven = pick<string[] | undefined>('variants', overrides.variants, NOTEBOOK_VARIANTS_ENV, (v) => parseList(v, NOTEBOOK_VARIANTS_ENV), undefined);
  if (variantsGiven !== undefined) variants = variantsGiven;
  else if (variants !== undefined) origin.variants = 'default';
  const seedsRaw = pick<number | number[] | string | undefined>('seeds', overrides.seeds, NOTEBOOK_SEEDS_ENV, (v) => v, undefined);
  const seeds = seedsRaw === undefined ? undefined : parseSeeds(seedsRaw, origin.seeds === 'notebook' ? 'seeds' : NOTEBOOK_SEEDS_ENV);
  if (experiment !== null) {
    const known = experiment.endsWith('.json') || listExperiments().some((e) => e.name === experiment);
    if (known) {
      planRuns(getExperiment(experiment), { variants, seeds }); // unknown variants fail here, naming the experiment's
    } else if (!reads) {
      getExperiment(experiment); // throws: unknown experiment, with the registered names
    }
  }

  const datasetChoice = pick<string | undefined>('dataset', overrides.dataset, NOTEBOOK_DATASET_ENV, (v) => v, defaults.dataset);
  const dataset = datasetChoice === undefined ? null : notebookDataset(datasetChoice, mode, out);
  return { notebook, mode, quick: mode === 'quick', results, out, experiment, experimentWhy, variants, seeds, train, reads, source, dataset, origin };
}

/**
 * A path as the notebooks show it: relative to the project root when inside it (so outputs committed from one
 * checkout name no machine folder), else absolute.
 */
export function shownPath(p: string, root: string = projectRoot()): string {
  const rel = path.relative(root, p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** The parameters as a Markdown table (parameter, value, where it came from). */
export function paramsMarkdown(p: NotebookParams): string {
  const rows: [string, string, string][] = [['mode', p.mode, p.origin.mode]];
  if (p.experiment !== null) {
    rows.push(['experiment', `\`${p.experiment}\` (${p.experimentWhy})`, p.origin.experiment]);
    if (p.variants) rows.push(['variants', p.variants.join(', '), p.origin.variants ?? 'default']);
    if (p.seeds) rows.push(['seeds', p.seeds.join(', '), p.origin.seeds]);
    rows.push(['run store', `\`${shownPath(p.results)}\``, p.origin.results]);
    if (!p.reads) rows.push(['train missing runs', p.train ? 'yes' : 'no (read the store only)', p.origin.train]);
    else rows.push(['summary source', p.source, p.origin.source]);
  }
  if (p.dataset) {
    const options = typeof p.dataset.options.path === 'string' ? { ...p.dataset.options, path: shownPath(p.dataset.options.path) } : p.dataset.options;
    const choice = p.dataset.demo || p.dataset.choice === p.dataset.name ? p.dataset.choice : shownPath(p.dataset.choice);
    rows.push(['dataset', `${choice}${choice === p.dataset.name ? '' : ` (\`${p.dataset.name}\`)`}: \`${JSON.stringify(options)}\``, p.origin.dataset]);
  }
  rows.push(['output folder', `\`${shownPath(p.out)}\``, p.origin.out]);
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return ['| parameter | value | from |', '|---|---|---|', ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
