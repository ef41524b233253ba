import * as fs from 'fs';
import * as path from 'path';
import { configHash, resolveTrainConfig } from '../config';
import type { RunResult } from '../train';

/**
 * The finished result in `dir/result.json` when it exists, parses and was produced by the same resolved config
 * (content hash); otherwise null. result.json is written atomically at the very end of a run, so a run that was
 * interrupted never looks finished.
 */
export function cachedResult(dir: string, config: unknown): RunResult | null {
  const file = path.join(dir, 'result.json');
  if (!fs.existsSync(file)) return null;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult;
    return r.configHash === configHash(resolveTrainConfig(config)) ? r : null;
  } catch {
    return null;
  }
}
