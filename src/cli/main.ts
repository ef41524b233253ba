import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { backendInfo, initBackend, BackendName, BACKEND_NAMES } from '../backends';
import { ConfigError, configHash, resolveTrainConfig, schemaMarkdown, TRAIN_SCHEMA } from '../config';
import { createDataset, DataReaderError, listDatasets, USER_DATASET_NAMES, UserDatasetError, userDatasetForPath } from '../data';
import type { FaceBenchmark, UserDatasetName } from '../data';
import type { EvalReport } from '../eval';
import { listBackbones } from '../models';
import { listHeads } from '../heads';
import { Trainer, NumericalError, loadCheckpoint } from '../train';
import { ablate, collect, getExperiment, listExperiments, planRuns, mainTable, parseShard, reproduce, resolveSeeds, REPRODUCE_PRESETS, writeTableViews } from '../experiments';
import type { AblateResult, ExperimentSummary } from '../experiments';
import { tableToMarkdown } from '../report/table';

const USAGE = `coreface: CoReFace research workbench (TensorFlow.js)

Usage:
  coreface reproduce [--preset quick|full] [--seeds N] [--jobs N] [--results DIR] [--estimate-only]
      quick (default): ArcFace, ArcFace+dropout and CoReFace from the quick CoReFace ablation, 2 seeds;
      full: the whole coreface-ablation experiment. Prints the table; writes results/<experiment>/.
  coreface ablate EXPERIMENT|FILE.json [--variants a,b] [--seeds N|a,b] [--jobs N] [--shard k/n]
                  [--results DIR] [--retry-failed] [--no-report] [--check-report] [--estimate-only]
      Run the runs of an experiment that the store lacks (finished runs are reused, interrupted ones resume,
      failures are recorded), then write summary.json, table.{md,csv,tex}, runs.csv and report.html to
      DIR/<experiment>/ (default DIR: results). With --shard k/n only every n-th run from k (1-based) runs
      and the views are left to 'collect' (Slurm job arrays, Kubernetes Indexed Jobs: docs/cluster.md).
  coreface collect EXPERIMENT|FILE.json [--variants a,b] [--seeds N|a,b] [--results DIR] [--no-report]
                   [--check-report]
      Summarise what the store holds for an experiment (no training) and write its tables and report;
      --check-report opens report.html in headless Chromium (plots rendered, console errors, report.png).
  coreface collect --summary FILE [--out DIR]
      Rebuild table.md, table.csv, runs.csv and table.tex from a summary.json alone (no store needed, e.g. the
      committed docs/results/<experiment>/summary.json), into DIR (default: the summary's folder).
  coreface runs [--where PATH=VALUE]... [--status S] [--json|--csv] | runs diff A B | runs prune [--yes]
      The results index of a store: list, filter, compare and prune runs ('coreface runs --help').
  coreface train --config FILE.json [--out DIR] [--resume] [--label NAME]
      Train one model; writes DIR/{config.json,metrics.jsonl,checkpoint.ckpt,result.json}.
  coreface train --data FOLDER|FILE.rec [--config FILE.json] [--out DIR] [--resume] [--label NAME]
      Train on your own faces: an image FOLDER (<identity>/<image>) or an insightface .rec (.idx beside it).
      Identities are held out for evaluation; other dataset options (size, testIdentities, maxImages, ...) come
      from the config's dataset.options when its dataset.name is image-folder or recordio (data/README.md).
      Sets larger than maxImages (default 200000) are streamed from disk batch by batch ("stream": "auto").
  coreface eval --checkpoint DIR [--json]
      Evaluate the checkpoint in DIR on its benchmark (verification, identification, open set).
  coreface eval --data FILE.bin|FOLDER [--pairs pairs.txt] --model RUN_DIR|faceres|face-api [--size N] [--align] [--json]
      Verification (10-fold accuracy, AUC, EER, TAR@FAR; flip fusion) of a model on an insightface .bin, or on an
      LFW-style image FOLDER with its pairs.txt. --model: a run directory of 'coreface train', or a pretrained
      model from npm (faceres: npm install @vladmandic/human; face-api: npm install @vladmandic/face-api).
      Images are decoded at N x N (default: the model's input size) and resized to the model's input if needed.
      --align (FOLDER only; needs npm install @vladmandic/face-api): raw photos are replaced by the aligned crop of
      their most confident face (SSD MobileNet v1 + 68 landmarks); photos without a face drop their pairs.
  coreface eval --dataset NAME [--dataset-options JSON] --model RUN_DIR|faceres|face-api [--max-identities N]
                [--json]
      A model on the test split of a registered dataset ('coreface list') with the protocol training runs report
      (verification with folds, TAR@FAR, rank-1, DIR@FPIR; flip fusion). --dataset-options: the dataset's options
      as in a config's dataset.options (default: its defaults), e.g. '{"testPerClass": 60, "pairsPerFold": 50}'.
      --max-identities N: only the first N test identities, pairs and identification split rebuilt on them.
      Images are converted to the model's input (grey -> RGB, bilinear resize).
  coreface list
      Registered datasets, backbones, heads, experiments and reproduce presets.
  coreface config [--defaults | --docs]
      Print the default config (JSON) or the config reference (Markdown).

Common options:
  --backend tfjs-node-gpu|wasm|cpu   force a backend (also COREFACE_BACKEND); default: tfjs-node-gpu if
                                     installed, else wasm
  -h, --help                         this help
`;

/** A usage error: printed with the usage hint, exit code 2. */
class UsageError extends Error {}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(argv: string[], options: OptionSpec): Record<string, string | boolean | undefined> {
  return parseWithPositionals(argv, options, false).values;
}

function parseWithPositionals(argv: string[], options: OptionSpec, allowPositionals = true): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
    parsed = { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // A bad --backend is a usage error found before any work (not exit 1 after the config was read or the
  // backend of the in-process caller was switched).
  const b = parsed.values.backend;
  if (typeof b === 'string' && !(BACKEND_NAMES as readonly string[]).includes(b)) {
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}, got '${b}'`);
  }
  return parsed;
}

function intOption(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`config file not found: ${file}`);
    if (code === 'EISDIR') throw new UsageError(`config file ${file} is a directory`);
    throw new UsageError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')); // a BOM (Windows editors) is no reason to refuse a file
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * A message as one line without terminal control characters: messages quote file contents (JSON.parse
 * snippets of random bytes), config keys and node's multi-line parseArgs texts.
 */
function oneLine(msg: string): string {
  // eslint-disable-next-line no-control-regex
  return msg.replace(/\s*\r?\n\s*/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type EmbeddersModule = typeof import('../embedders');

/** Loads an embedder; a bad model (EmbedderError) goes to `fail`, whose exit code is returned instead. */
async function loadEmbedderOr(
  emb: EmbeddersModule, spec: ReturnType<EmbeddersModule['resolveEmbedderSpec']>, fail: (message: string) => number,
): Promise<Awaited<ReturnType<EmbeddersModule['loadEmbedder']>> | number> {
  try {
    return await emb.loadEmbedder(spec);
  } catch (e) {
    if (e instanceof emb.EmbedderError) return fail(e.message);
    throw e;
  }
}

async function backend(v: string | boolean | undefined): Promise<void> {
  await initBackend({ backend: typeof v === 'string' ? (v as BackendName) : undefined });
}

function fmtPct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`;
}

/** The metric lines of an open-set evaluation report (the `eval --checkpoint` and `eval --dataset` outputs). */
function evalReportLines(report: EvalReport): string[] {
  const v = report.verification;
  return [
    `verification accuracy ${fmtPct(v.accuracy)} ± ${fmtPct(v.std)} (${report.counts.pairs} pairs, ${v.foldAccuracies.length} folds), AUC ${fmtPct(v.auc)}, EER ${fmtPct(v.eer)}`,
    `TAR@FAR ${Object.entries(v.tarAtFar).map(([k, x]) => `${k}: ${fmtPct(x)}`).join(', ')}`,
    `identification rank-1 ${fmtPct(report.identification.rank1)}, rank-5 ${fmtPct(report.identification.rank5)}`,
    `open set DIR@FPIR ${report.openSet ? Object.entries(report.openSet.dirAtFpir).map(([k, x]) => `${k}: ${fmtPct(x)}`).join(', ') : 'n/a'}`,
  ];
}

async function cmdTrain(argv: string[]): Promise<number> {
  const o = parse(argv, {
    config: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, label: { type: 'string' },
  });
  if (o.help) return usage(0);
  if (typeof o.config !== 'string' && typeof o.data !== 'string') throw new UsageError('train needs --config FILE.json, or --data FOLDER|FILE.rec');
  const raw = typeof o.config === 'string' ? readJson(o.config) : {};
  let cfg = resolveTrainConfig(raw); // config errors first, whatever --data is
  const fail = (message: string): number => {
    process.stderr.write(`coreface: ${oneLine(message)}\n`);
    return 2;
  };
  if (typeof o.data === 'string') {
    // --data sets the dataset (by what the path is); the config's dataset options apply when its name matches
    let name: UserDatasetName;
    try {
      name = userDatasetForPath(o.data);
    } catch (e) {
      if (e instanceof UserDatasetError) return fail(e.message);
      throw e;
    }
    if (cfg.dataset.name !== name && (raw as { dataset?: unknown }).dataset !== undefined) {
      process.stderr.write(`[coreface] --data ${o.data} is ${name === 'recordio' ? 'a .rec file' : 'a folder'}: training on dataset '${name}' ` +
        `instead of the config's '${cfg.dataset.name}' (its dataset.options are not used)\n`);
    }
    const options = cfg.dataset.name === name ? { ...cfg.dataset.options } : {};
    cfg = resolveTrainConfig({ ...(raw as Record<string, unknown>), dataset: { name, options: { ...options, path: path.resolve(o.data) } } });
  }
  // User datasets are built here, before the backend starts, so bad data (too few identities, the memory guard,
  // a broken .rec) is one line and exit 2.
  let benchmark: FaceBenchmark | undefined;
  if ((USER_DATASET_NAMES as readonly string[]).includes(cfg.dataset.name)) {
    try {
      benchmark = createDataset(cfg.dataset.name, cfg.dataset.options);
    } catch (e) {
      if (e instanceof UserDatasetError || e instanceof DataReaderError) return fail(e.message);
      throw e;
    }
  }
  // The run name goes into a folder name: keep it to safe characters (a name like '../x' must not escape results/).
  const outDir = typeof o.out === 'string' ? o.out : path.join('results', 'train', `${cfg.name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')}-${configHash(cfg)}`);
  await backend(o.backend);
  const trainer = new Trainer(cfg, { outDir, resume: Boolean(o.resume), label: typeof o.label === 'string' ? o.label : cfg.name, benchmark });
  if (trainer.completedEpochs > 0) process.stderr.write(`[coreface] resumed from ${trainer.checkpointPath()} after epoch ${trainer.completedEpochs}\n`);
  const r = trainer.run();
  trainer.dispose();
  const v = r.final.verification;
  process.stdout.write(
    `${r.name} (seed ${r.seed}, ${r.backend}): verification ${fmtPct(v.accuracy)} ± ${fmtPct(v.std)}, ` +
      `TAR@FAR=1e-3 ${fmtPct(v.tarAtFar['1e-3'])}, rank-1 ${fmtPct(r.final.identification.rank1)}, ` +
      `DIR@FPIR=1e-2 ${fmtPct(r.final.openSet?.dirAtFpir['1e-2'])}; ${r.imgPerSec.toFixed(0)} img/s; ${outDir}/result.json\n`,
  );
  return 0;
}

async function cmdEval(argv: string[]): Promise<number> {
  const o = parse(argv, {
    checkpoint: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' }, pairs: { type: 'string' },
    model: { type: 'string' }, size: { type: 'string' }, align: { type: 'boolean' },
    dataset: { type: 'string' }, 'dataset-options': { type: 'string' }, 'max-identities': { type: 'string' },
  });
  if (o.help) return usage(0);
  if (typeof o.dataset === 'string') return evalOnDataset(o);
  for (const k of ['dataset-options', 'max-identities']) {
    if (o[k] !== undefined) throw new UsageError(`eval --${k} needs --dataset NAME`);
  }
  if (typeof o.data === 'string') return evalOnData(o);
  for (const k of ['model', 'pairs', 'size', 'align']) {
    if (o[k] !== undefined) throw new UsageError(`eval --${k} needs --data FILE.bin | FOLDER --pairs pairs.txt`);
  }
  if (typeof o.checkpoint !== 'string') throw new UsageError('eval needs --checkpoint DIR (a directory written by coreface train), --data ... --model ..., or --dataset ... --model ...');
  const file = path.join(o.checkpoint, 'checkpoint.ckpt');
  const { header } = loadCheckpoint<{ config: unknown }>(file);
  await backend(o.backend);
  const trainer = new Trainer(header.config, { outDir: o.checkpoint, resume: true, progress: false });
  const report = trainer.evaluate();
  trainer.dispose();
  if (o.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const lines = [`checkpoint ${file} (epoch ${trainer.completedEpochs}, ${trainer.benchmark.name})`, ...evalReportLines(report)];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;

  /**
   * `eval --dataset NAME --model ...`: an embedder on a registered dataset's test split (or its first N identities)
   * with the training runs' protocol. Unknown datasets and models, bad options and too small subsets: one line, exit 2.
   */
  async function evalOnDataset(opt: Record<string, string | boolean | undefined>): Promise<number> {
    const name = opt.dataset as string;
    if (typeof opt.data === 'string' || typeof opt.checkpoint === 'string') {
      throw new UsageError(`eval --dataset takes --model RUN_DIR | faceres | face-api, not --${typeof opt.data === 'string' ? 'data' : 'checkpoint'}`);
    }
    for (const k of ['pairs', 'size', 'align']) {
      if (opt[k] !== undefined) throw new UsageError(`eval --${k} goes with --data, not with --dataset`);
    }
    if (typeof opt.model !== 'string') throw new UsageError('eval --dataset needs --model RUN_DIR | faceres | face-api');
    const maxIdentities = intOption(opt['max-identities'], 'max-identities');
    if (maxIdentities === 1) throw new UsageError('--max-identities must be at least 2 (verification needs different identities)');
    let options: Record<string, unknown> = {};
    const rawOptions = opt['dataset-options'];
    if (typeof rawOptions === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawOptions);
      } catch (e) {
        throw new UsageError(`--dataset-options is not valid JSON: ${(e as Error).message}`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new UsageError(`--dataset-options must be a JSON object (e.g. '{"seed": 1}'), got ${rawOptions}`);
      }
      options = parsed as Record<string, unknown>;
    }
    const fail = (message: string): number => {
      process.stderr.write(`coreface: ${oneLine(message)}\n`);
      return 2;
    };
    const names = listDatasets().map((d) => d.name);
    if (!names.includes(name)) return fail(`unknown dataset '${name}'; available: ${names.join(', ')}`);
    const emb = await import('../embedders');
    let spec: ReturnType<typeof emb.resolveEmbedderSpec>;
    try {
      spec = emb.resolveEmbedderSpec(opt.model);
      if (spec.kind === 'registered') emb.checkEmbedderAvailable(spec.name);
    } catch (e) {
      if (e instanceof emb.EmbedderError) return fail(e.message);
      throw e;
    }
    // The dataset and its (sub)split are built before the backend and the model: bad options fail fast.
    let benchmark: FaceBenchmark;
    try {
      benchmark = createDataset(name, options);
    } catch (e) {
      // Datasets report bad options and missing sources as plain Errors naming the field or the fix.
      if (e instanceof Error && (e.constructor === Error || e instanceof UserDatasetError || e instanceof DataReaderError)) {
        return fail(e.message.includes(name) ? e.message : `${name}: ${e.message}`);
      }
      throw e;
    }
    let split: ReturnType<typeof emb.benchmarkTestSplit>;
    try {
      split = emb.benchmarkTestSplit(benchmark, maxIdentities);
    } catch (e) {
      if (e instanceof emb.BenchmarkSubsetError) return fail(`--max-identities ${maxIdentities}: ${e.message}`);
      throw e;
    }
    const p = split.protocol, id = split.identification, optionsText = JSON.stringify(options);
    process.stderr.write(`[eval] ${benchmark.name} ${optionsText === '{}' ? '(default options)' : optionsText}: ` +
      `${split.images.count} test images of ${split.identities} identities` +
      `${split.rebuilt ? ` (the first ${split.identities} of ${split.totalIdentities}; pairs and identification split rebuilt on them)` : ''}, ` +
      `${split.pairs.isSame.length} pairs in ${p.folds} ${p.foldLayout} folds, gallery ${id.gallery.length}, ` +
      `probes ${id.knownProbes.length} known + ${id.unknownProbes.length} unknown; flip fusion: 2 passes per image\n`);
    await backend(opt.backend);
    const embedder = await loadEmbedderOr(emb, spec, fail);
    if (typeof embedder === 'number') return embedder;
    try {
      const report = await emb.evaluateEmbedderOnBenchmark(embedder, benchmark, {
        split, datasetOptions: options, backend: backendInfo()?.name, log: (line) => process.stderr.write(`${line}\n`),
      });
      if (opt.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        const m = report.model, d = report.data;
        const lines = [
          `model ${m.name} (${m.embeddingDim}-d, input ${m.inputSize}x${m.inputSize}x${m.channels}) on dataset ${d.dataset}, ` +
            `options ${optionsText}${optionsText === '{}' ? ' (defaults)' : ''}, backend ${report.backend}`,
          `test split: ${d.images} images of ${d.identities} identities` +
            `${d.rebuilt ? ` (the first ${d.identities} of ${d.totalIdentities}; pairs and identification split rebuilt on them)` : ''}` +
            `${d.adapted ? `, resized from ${d.imageShape.join('x')}` : ''}; ${report.counts.pairs} pairs (${report.counts.genuinePairs} same, ` +
            `${report.counts.impostorPairs} different) in ${d.folds} ${d.foldLayout} folds; gallery ${report.counts.gallery}, ` +
            `probes ${report.counts.knownProbes} known + ${report.counts.unknownProbes} unknown; flip fusion`,
          ...evalReportLines(report),
          `${d.images} images in ${report.timing.embedSeconds.toFixed(1)} s (${report.timing.imagesPerSecond.toFixed(1)} img/s, 2 passes each)`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
      }
      return 0;
    } finally {
      embedder.dispose();
    }
  }

  /** `eval --data ... --model ...`: an embedder on a verification set. Bad model names and data: one line, exit 2. */
  async function evalOnData(opt: Record<string, string | boolean | undefined>): Promise<number> {
    const data = opt.data as string;
    if (typeof opt.model === 'string' && typeof opt.checkpoint === 'string') throw new UsageError('eval takes --model or --checkpoint, not both');
    const model = typeof opt.model === 'string' ? opt.model : typeof opt.checkpoint === 'string' ? opt.checkpoint : undefined;
    if (model === undefined) throw new UsageError('eval --data needs --model RUN_DIR | faceres | face-api');
    const size = intOption(opt.size, 'size');
    const fail = (message: string): number => {
      process.stderr.write(`coreface: ${message}\n`);
      return 2;
    };
    // Loaded here, not at the top: `coreface train` and friends never load the embedders or the readers.
    const emb = await import('../embedders');
    const readers = await import('../data/readers');
    let spec: ReturnType<typeof emb.resolveEmbedderSpec>;
    try {
      spec = emb.resolveEmbedderSpec(model);
      if (spec.kind === 'registered') emb.checkEmbedderAvailable(spec.name);
    } catch (e) {
      if (e instanceof emb.EmbedderError) return fail(e.message);
      throw e;
    }
    if (!fs.existsSync(data)) return fail(`${data}: no such file or folder`);
    const isFolder = fs.statSync(data).isDirectory();
    if (isFolder && typeof opt.pairs !== 'string') return fail(`${data} is a folder: give its pairs file with --pairs pairs.txt (LFW layout), or give an insightface .bin file`);
    if (!isFolder && typeof opt.pairs === 'string') return fail(`--pairs goes with an image FOLDER, but ${data} is a file (a .bin holds its own pairs)`);
    if (opt.align && !isFolder) return fail(`--align detects and aligns faces in raw photos of an image FOLDER; ${data} is a file (insightface .bin images are aligned already)`);
    if (opt.align) {
      try {
        emb.checkEmbedderAvailable('face-api'); // the detector and landmark nets come with it
      } catch (e) {
        if (e instanceof emb.EmbedderError) return fail(`--align: ${e.message}`);
        throw e;
      }
    }
    try {
      // Parse the pair list (no image decoded) before loading any model, so bad data fails fast.
      if (isFolder) await readers.openLfwPairs(opt.pairs as string, data);
      else readers.readVerificationBinContent(data);
    } catch (e) {
      if (e instanceof readers.DataReaderError) return fail(e.message);
      throw e;
    }
    await backend(opt.backend);
    const embedder = await loadEmbedderOr(emb, spec, fail);
    if (typeof embedder === 'number') return embedder;
    try {
      let set: Awaited<ReturnType<typeof readers.readVerificationBin>>;
      try {
        const ropts = { size: size ?? embedder.inputSize, channels: embedder.channels };
        set = typeof opt.pairs === 'string' ? await readers.readLfwPairs(opt.pairs, data, ropts) : await readers.readVerificationBin(data, ropts);
        if (opt.align) {
          // face-api's detector + 68 landmarks: the best face of each photo, cut at the model's input size
          const before = set.pairs.left.length;
          const a = await emb.alignVerificationSet(set, { size: embedder.inputSize });
          emb.releaseFaceApiDetector();
          set = a.set;
          const listed = a.noFace.slice(0, 5).map((x) => `${x.source} (${x.reason})`).join('; ');
          process.stderr.write(`aligned: ${set.images.count} photos with a face, ${a.noFace.length} without` +
            `${a.noFace.length ? ` (${listed}${a.noFace.length > 5 ? '; ...' : ''})` : ''}; ${before - set.pairs.left.length} pairs dropped\n`);
        }
      } catch (e) {
        if (e instanceof readers.DataReaderError) return fail(e.message);
        throw e;
      }
      const report = await emb.evaluateVerificationSet(embedder, set, { log: (line) => process.stderr.write(`${line}\n`) });
      if (opt.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        const v = report.verification, d = report.data, m = report.model;
        const lines = [
          `model ${m.name} (${m.embeddingDim}-d, input ${m.inputSize}x${m.inputSize}x${m.channels}) on ${d.name}: ${d.images} images` +
            `${d.adapted ? ` (resized from ${d.imageShape.join('x')})` : ''}, ${d.pairs} pairs (${d.genuinePairs} same, ${d.impostorPairs} different), ` +
            `${d.folds} folds, ${report.flip ? 'flip fusion' : 'no flip'}${d.droppedPairs ? `; ${d.droppedPairs} pairs dropped (${opt.align ? 'unreadable images or no face' : 'unreadable images'})` : ''}`,
          `verification accuracy ${fmtPct(v.accuracy)} ± ${fmtPct(v.std)}, AUC ${fmtPct(v.auc)}, EER ${fmtPct(v.eer)}`,
          `TAR@FAR ${Object.entries(v.tarAtFar).map(([k, x]) => `${k}: ${fmtPct(x)}`).join(', ')}`,
          `mean cosine: same ${report.scores.genuineMean?.toFixed(4) ?? 'n/a'}, different ${report.scores.impostorMean?.toFixed(4) ?? 'n/a'}`,
          `${d.images} images in ${report.timing.embedSeconds.toFixed(1)} s (${report.timing.imagesPerSecond.toFixed(1)} img/s${report.flip ? ', 2 passes each' : ''})`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
      }
      return 0;
    } finally {
      embedder.dispose();
    }
  }
}

function listOption(v: string | boolean | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError('--variants needs a comma-separated list of variant names');
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

function seedsOption(v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError('--seeds needs a count N or a list a,b,c');
  const parsed = v.includes(',') ? v.split(',').map((x) => Number(x)) : Number(v);
  return resolveSeeds(parsed, '--seeds');
}

function printResult(res: AblateResult, results: string | undefined): void {
  const s = res.summary;
  const files = res.files;
  const over = s.replicates ? `(seed, ${s.replicates.label}) runs: seeds ${s.seeds.join(', ')} x ${s.replicates.label} ${s.replicates.values.join(', ')}` : `seeds ${s.seeds.join(', ')}`;
  process.stdout.write(`\n${tableToMarkdown(mainTable(s))}\nmean ± std over ${over} (backend ${s.backends.join(', ') || 'n/a'})` +
    `${res.wallSeconds ? `; wall time ${(res.wallSeconds / 60).toFixed(1)} min` : ''}` +
    `${files ? `; tables and report in ${path.dirname(files.summary)}` : `; run 'coreface collect ${res.experiment}${results ? ` --results ${results}` : ''}' for the tables`}\n`);
}

const EXPERIMENT_OPTIONS: OptionSpec = {
  variants: { type: 'string' }, seeds: { type: 'string' }, results: { type: 'string' }, 'no-report': { type: 'boolean' }, 'check-report': { type: 'boolean' },
};

async function cmdAblate(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseWithPositionals(argv, {
    ...EXPERIMENT_OPTIONS, jobs: { type: 'string' }, shard: { type: 'string' }, 'retry-failed': { type: 'boolean' }, 'estimate-only': { type: 'boolean' },
  });
  if (o.help) return usage(0);
  if (positionals.length !== 1) throw new UsageError(`ablate needs one experiment name or FILE.json (registered: ${listExperiments().map((e) => e.name).join(', ')})`);
  const shard = typeof o.shard === 'string' ? parseShard(o.shard) : undefined;
  // Every option is checked before the backend starts (and before any run).
  const variants = listOption(o.variants), seeds = seedsOption(o.seeds), jobs = intOption(o.jobs, 'jobs');
  const exp = getExperiment(positionals[0]);
  planRuns(exp, { variants, seeds }); // unknown variants and invalid configs fail here, before any work
  await backend(o.backend);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await ablate(exp, {
    variants, seeds, results, report: !o['no-report'], checkReport: Boolean(o['check-report']),
    jobs, shard, retryFailed: Boolean(o['retry-failed']), estimateOnly: Boolean(o['estimate-only']),
    backend: typeof o.backend === 'string' ? o.backend : undefined,
  });
  if (!o['estimate-only']) printResult(res, results);
  return res.unfinished > 0 && !o['estimate-only'] ? 1 : 0;
}

async function cmdCollect(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseWithPositionals(argv, { ...EXPERIMENT_OPTIONS, summary: { type: 'string' }, out: { type: 'string' } });
  if (o.help) return usage(0);
  if (typeof o.summary === 'string') {
    if (positionals.length > 0 || o.variants || o.seeds || o.results) throw new UsageError('collect --summary FILE takes no experiment, --variants, --seeds or --results (the summary is the whole input)');
    const summary = readJson(o.summary) as ExperimentSummary;
    if (!summary || typeof summary !== 'object' || typeof summary.experiment !== 'string' || !Array.isArray(summary.variants) || !Array.isArray(summary.runs)) {
      throw new UsageError(`${o.summary} is not a summary.json of coreface collect (no experiment, variants and runs fields)`);
    }
    const out = typeof o.out === 'string' ? o.out : path.dirname(o.summary);
    const files = writeTableViews(out, summary);
    process.stdout.write(`${fs.readFileSync(files.markdown, 'utf8')}\nrebuilt from ${o.summary}: ${path.join(out, '{table.md,table.csv,runs.csv,table.tex}')}\n`);
    return 0;
  }
  if (o.out) throw new UsageError('--out goes with --summary FILE (views of a store go to DIR/<experiment>/ of --results)');
  if (positionals.length !== 1) throw new UsageError(`collect needs one experiment name or FILE.json (registered: ${listExperiments().map((e) => e.name).join(', ')})`);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await collect(positionals[0], { variants: listOption(o.variants), seeds: seedsOption(o.seeds), results, report: !o['no-report'], checkReport: Boolean(o['check-report']) });
  printResult(res, results);
  return 0;
}

async function cmdReproduce(argv: string[]): Promise<number> {
  const o = parse(argv, {
    preset: { type: 'string' }, seeds: { type: 'string' }, jobs: { type: 'string' }, results: { type: 'string' },
    'estimate-only': { type: 'boolean' },
  });
  if (o.help) return usage(0);
  const preset = typeof o.preset === 'string' ? o.preset : 'quick';
  if (!REPRODUCE_PRESETS[preset]) throw new UsageError(`--preset must be one of ${Object.keys(REPRODUCE_PRESETS).join(', ')}, got '${preset}'`);
  // Every option is checked before the backend starts (and before any run).
  const seeds = intOption(o.seeds, 'seeds'), jobs = intOption(o.jobs, 'jobs');
  await backend(o.backend);
  const results = typeof o.results === 'string' ? o.results : undefined;
  const res = await reproduce({
    preset,
    seeds,
    jobs,
    results,
    estimateOnly: Boolean(o['estimate-only']),
  });
  if (!o['estimate-only']) printResult(res, results);
  return res.unfinished > 0 && !o['estimate-only'] ? 1 : 0;
}

function cmdList(argv: string[]): number {
  const o = parse(argv, {});
  if (o.help) return usage(0);
  const lines = [
    `datasets:  ${listDatasets().map((d) => d.name).join(', ')}`,
    `backbones: ${listBackbones().join(', ')}`,
    `heads:     ${listHeads().join(', ')}`,
    `experiments: ${listExperiments().map((e) => `${e.name} (${e.variants} variants x ${e.seeds} seeds${e.replicates ? ` x ${e.replicates} replicates = ${e.runs} runs` : ''})`).join(', ')}`,
    `presets:   ${Object.entries(REPRODUCE_PRESETS).map(([k, p]) => `${k} -> ${p.experiment}${p.variants ? ` [${p.variants.join(', ')}]` : ''}`).join(', ')}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

function cmdConfig(argv: string[]): number {
  const o = parse(argv, { defaults: { type: 'boolean' }, docs: { type: 'boolean' } });
  if (o.help) return usage(0);
  if (o.docs) process.stdout.write(schemaMarkdown(TRAIN_SCHEMA) + '\n');
  else process.stdout.write(JSON.stringify(resolveTrainConfig({}), null, 2) + '\n');
  return 0;
}

function usage(code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(USAGE);
  return code;
}

/** Entry point of the `coreface` command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train': return await cmdTrain(rest);
      case 'eval': return await cmdEval(rest);
      case 'reproduce': return await cmdReproduce(rest);
      case 'ablate': return await cmdAblate(rest);
      case 'collect': return await cmdCollect(rest);
      case 'runs': return await (await import('./runs')).cmdRuns(rest); // the results index: src/cli/runs.ts
      case 'list': return cmdList(rest);
      case 'config': return cmdConfig(rest);
      case undefined: case '-h': case '--help': case 'help': return usage(cmd === undefined ? 2 : 0);
      default: throw new UsageError(`unknown command '${cmd}' (commands: reproduce, ablate, collect, runs, train, eval, list, config)`);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof UsageError) {
      process.stderr.write(`coreface: ${oneLine(err.message)}\nRun 'coreface --help' for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`coreface: config error: ${oneLine(err.message)}\n`);
      return 2;
    }
    if (err instanceof NumericalError) {
      process.stderr.write(`coreface: training stopped: ${oneLine(err.message)}\n`);
      return 3;
    }
    process.stderr.write(`coreface: error: ${oneLine(err.message)}\n`);
    if (process.env.COREFACE_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
