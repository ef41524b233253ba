/** `coreface train`: one model from a config file, or on the user's own faces (--data). */
import * as path from 'path';
import { configHash, resolveTrainConfig } from '../config';
import { createDataset, DataReaderError, DatasetError, USER_DATASET_NAMES, userDatasetForPath } from '../data';
import type { FaceBenchmark, UserDatasetName } from '../data';
import { Trainer } from '../train';
import { Command, fail, fmtPct, parse, readJson, startBackend, UsageError } from './common';

const USAGE = `  coreface train --config FILE.json [--out DIR] [--resume] [--label NAME]
      Train one model; writes DIR/{config.json,metrics.jsonl,checkpoint.ckpt,result.json}.
  coreface train --data FOLDER|FILE.rec [--config FILE.json] [--out DIR] [--resume] [--label NAME]
      Train on your own faces: an image FOLDER (<identity>/<image>) or an insightface .rec (.idx beside it).
      Identities are held out for evaluation; other dataset options (size, testIdentities, maxImages, ...) come
      from the config's dataset.options when its dataset.name is image-folder or recordio (data/README.md).
      Sets larger than maxImages (default 200000) are streamed from disk batch by batch ("stream": "auto").
`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The config with `path` set to the --data path in the options of a user dataset it names (unless it sets one):
 * user datasets need a path to resolve, and --data gives it.
 */
function withDataPath(raw: unknown, data: string): unknown {
  if (!isObject(raw) || !isObject(raw.dataset) || !(USER_DATASET_NAMES as readonly unknown[]).includes(raw.dataset.name)) return raw;
  const options = raw.dataset.options === undefined ? {} : raw.dataset.options;
  if (!isObject(options)) return raw;
  return { ...raw, dataset: { ...raw.dataset, options: { path: path.resolve(data), ...options } } };
}

async function run(argv: string[]): Promise<number> {
  const o = parse(argv, {
    config: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, label: { type: 'string' },
  });
  if (typeof o.config !== 'string' && typeof o.data !== 'string') throw new UsageError('train needs --config FILE.json, or --data FOLDER|FILE.rec');
  const raw = typeof o.config === 'string' ? readJson(o.config) : {};
  let cfg = resolveTrainConfig(typeof o.data === 'string' ? withDataPath(raw, o.data) : raw); // config errors first, whatever --data is
  if (typeof o.data === 'string') {
    // --data sets the dataset (by what the path is); the config's dataset options apply when its name matches
    let name: UserDatasetName;
    try {
      name = userDatasetForPath(o.data);
    } catch (e) {
      if (e instanceof DatasetError) fail(e.message);
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
      if (e instanceof DatasetError || e instanceof DataReaderError) fail(e.message);
      throw e;
    }
  }
  // The run name goes into a folder name: keep it to safe characters (a name like '../x' must not escape results/).
  const outDir = typeof o.out === 'string' ? o.out : path.join('results', 'train', `${cfg.name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')}-${configHash(cfg)}`);
  await startBackend(o.backend);
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

/** `coreface train`. */
export const trainCommand: Command = { name: 'train', usage: USAGE, run };
