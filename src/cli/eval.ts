/**
 * `coreface eval`: a trained checkpoint on its benchmark (--checkpoint), any model on a verification set (--data:
 * an insightface .bin or an LFW-style folder), or any model on a registered dataset's test split (--dataset).
 */
import * as fs from 'fs';
import * as path from 'path';
import { backendInfo } from '../backends';
import { createDataset, DataReaderError, DatasetError, listDatasets } from '../data';
import type { FaceBenchmark } from '../data';
import type { EvalReport } from '../eval';
import { Trainer, loadCheckpoint } from '../train';
import { Command, fail, fmtPct, intOption, OptionValues, parse, startBackend, UsageError } from './common';

const USAGE = `  coreface eval --checkpoint DIR [--json]
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
`;

type EmbeddersModule = typeof import('../embedders');
type EmbedderSpec = ReturnType<EmbeddersModule['resolveEmbedderSpec']>;

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

/** The embedder named by --model, checked to be available (an EmbedderError fails the command). */
function embedderSpec(emb: EmbeddersModule, model: string): EmbedderSpec {
  try {
    const spec = emb.resolveEmbedderSpec(model);
    if (spec.kind === 'registered') emb.checkEmbedderAvailable(spec.name);
    return spec;
  } catch (e) {
    if (e instanceof emb.EmbedderError) fail(e.message);
    throw e;
  }
}

/** Loads an embedder; a bad model (EmbedderError) fails the command. */
async function loadEmbedder(emb: EmbeddersModule, spec: EmbedderSpec): Promise<Awaited<ReturnType<EmbeddersModule['loadEmbedder']>>> {
  try {
    return await emb.loadEmbedder(spec);
  } catch (e) {
    if (e instanceof emb.EmbedderError) fail(e.message);
    throw e;
  }
}

/** `eval --checkpoint DIR`: the checkpoint of a `coreface train` run on its own benchmark. */
async function evalCheckpoint(o: OptionValues, dir: string): Promise<number> {
  const file = path.join(dir, 'checkpoint.ckpt');
  const { header } = loadCheckpoint<{ config: unknown }>(file);
  await startBackend(o.backend);
  const trainer = new Trainer(header.config, { outDir: dir, resume: true, progress: false });
  const report = trainer.evaluate();
  trainer.dispose();
  if (o.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const lines = [`checkpoint ${file} (epoch ${trainer.completedEpochs}, ${trainer.benchmark.name})`, ...evalReportLines(report)];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

/** The --dataset-options JSON object ({} without the option). */
function datasetOptions(raw: string | boolean | undefined): Record<string, unknown> {
  if (typeof raw !== 'string') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--dataset-options is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--dataset-options must be a JSON object (e.g. '{"seed": 1}'), got ${raw}`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * `eval --dataset NAME --model ...`: an embedder on a registered dataset's test split (or its first N identities)
 * with the training runs' protocol. Unknown datasets and models, bad options and too small subsets: one line, exit 2.
 */
async function evalOnDataset(opt: OptionValues, name: string): Promise<number> {
  if (typeof opt.data === 'string' || typeof opt.checkpoint === 'string') {
    throw new UsageError(`eval --dataset takes --model RUN_DIR | faceres | face-api, not --${typeof opt.data === 'string' ? 'data' : 'checkpoint'}`);
  }
  for (const k of ['pairs', 'size', 'align']) {
    if (opt[k] !== undefined) throw new UsageError(`eval --${k} goes with --data, not with --dataset`);
  }
  if (typeof opt.model !== 'string') throw new UsageError('eval --dataset needs --model RUN_DIR | faceres | face-api');
  const maxIdentities = intOption(opt['max-identities'], 'max-identities');
  if (maxIdentities === 1) throw new UsageError('--max-identities must be at least 2 (verification needs different identities)');
  const options = datasetOptions(opt['dataset-options']);
  const names = listDatasets().map((d) => d.name);
  if (!names.includes(name)) fail(`unknown dataset '${name}'; available: ${names.join(', ')}`);
  const emb = await import('../embedders');
  const spec = embedderSpec(emb, opt.model);
  // The dataset and its (sub)split are built before the backend and the model: bad options fail fast.
  let benchmark: FaceBenchmark;
  try {
    benchmark = createDataset(name, options);
  } catch (e) {
    if (e instanceof DatasetError || e instanceof DataReaderError) fail(e.message.includes(name) ? e.message : `${name}: ${e.message}`);
    throw e;
  }
  let split: ReturnType<typeof emb.benchmarkTestSplit>;
  try {
    split = emb.benchmarkTestSplit(benchmark, maxIdentities);
  } catch (e) {
    if (e instanceof emb.BenchmarkSubsetError) fail(`--max-identities ${maxIdentities}: ${e.message}`);
    throw e;
  }
  const p = split.protocol, id = split.identification, optionsText = JSON.stringify(options);
  process.stderr.write(`[eval] ${benchmark.name} ${optionsText === '{}' ? '(default options)' : optionsText}: ` +
    `${split.images.count} test images of ${split.identities} identities` +
    `${split.rebuilt ? ` (the first ${split.identities} of ${split.totalIdentities}; pairs and identification split rebuilt on them)` : ''}, ` +
    `${split.pairs.isSame.length} pairs in ${p.folds} ${p.foldLayout} folds, gallery ${id.gallery.length}, ` +
    `probes ${id.knownProbes.length} known + ${id.unknownProbes.length} unknown; flip fusion: 2 passes per image\n`);
  await startBackend(opt.backend);
  const embedder = await loadEmbedder(emb, spec);
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
async function evalOnData(opt: OptionValues, data: string): Promise<number> {
  if (typeof opt.model === 'string' && typeof opt.checkpoint === 'string') throw new UsageError('eval takes --model or --checkpoint, not both');
  const model = typeof opt.model === 'string' ? opt.model : typeof opt.checkpoint === 'string' ? opt.checkpoint : undefined;
  if (model === undefined) throw new UsageError('eval --data needs --model RUN_DIR | faceres | face-api');
  const size = intOption(opt.size, 'size');
  // Loaded here, not at the top: `coreface train` and friends never load the embedders or the readers.
  const emb = await import('../embedders');
  const readers = await import('../data/readers');
  const spec = embedderSpec(emb, model);
  if (!fs.existsSync(data)) fail(`${data}: no such file or folder`);
  const isFolder = fs.statSync(data).isDirectory();
  if (isFolder && typeof opt.pairs !== 'string') fail(`${data} is a folder: give its pairs file with --pairs pairs.txt (LFW layout), or give an insightface .bin file`);
  if (!isFolder && typeof opt.pairs === 'string') fail(`--pairs goes with an image FOLDER, but ${data} is a file (a .bin holds its own pairs)`);
  if (opt.align && !isFolder) fail(`--align detects and aligns faces in raw photos of an image FOLDER; ${data} is a file (insightface .bin images are aligned already)`);
  if (opt.align) {
    try {
      emb.checkEmbedderAvailable('face-api'); // the detector and landmark nets come with it
    } catch (e) {
      if (e instanceof emb.EmbedderError) fail(`--align: ${e.message}`);
      throw e;
    }
  }
  try {
    // Parse the pair list (no image decoded) before loading any model, so bad data fails fast.
    if (isFolder) await readers.openLfwPairs(opt.pairs as string, data);
    else readers.readVerificationBinContent(data);
  } catch (e) {
    if (e instanceof readers.DataReaderError) fail(e.message);
    throw e;
  }
  await startBackend(opt.backend);
  const embedder = await loadEmbedder(emb, spec);
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
      if (e instanceof readers.DataReaderError) fail(e.message);
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

async function run(argv: string[]): Promise<number> {
  const o = parse(argv, {
    checkpoint: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' }, pairs: { type: 'string' },
    model: { type: 'string' }, size: { type: 'string' }, align: { type: 'boolean' },
    dataset: { type: 'string' }, 'dataset-options': { type: 'string' }, 'max-identities': { type: 'string' },
  });
  if (typeof o.dataset === 'string') return evalOnDataset(o, o.dataset);
  for (const k of ['dataset-options', 'max-identities']) {
    if (o[k] !== undefined) throw new UsageError(`eval --${k} needs --dataset NAME`);
  }
  if (typeof o.data === 'string') return evalOnData(o, o.data);
  for (const k of ['model', 'pairs', 'size', 'align']) {
    if (o[k] !== undefined) throw new UsageError(`eval --${k} needs --data FILE.bin | FOLDER --pairs pairs.txt`);
  }
  if (typeof o.checkpoint !== 'string') throw new UsageError('eval needs --checkpoint DIR (a directory written by coreface train), --data ... --model ..., or --dataset ... --model ...');
  return evalCheckpoint(o, o.checkpoint);
}

/** `coreface eval`. */
export const evalCommand: Command = { name: 'eval', usage: USAGE, run };
