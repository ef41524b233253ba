/**
 * What the two user datasets (`image-folder`, `recordio`) share: their options, the memory guard, and the build of a
 * {@link FaceBenchmark} from a list of encoded images grouped by identity.
 *
 * Why synchronous: a registered dataset's `create` returns its benchmark synchronously (registry.ts) and the Trainer
 * builds it in its constructor, so `coreface eval --checkpoint` and resumed runs rebuild it without an event loop.
 * The streaming readers (src/data/readers) are asynchronous, so these datasets read files with the synchronous
 * `fs` calls and reuse the readers' synchronous parts: the decoders, the preprocessing (short-side bilinear resize,
 * centre crop, insightface normalisation `((x / 255) - 0.5) / 0.5`), the typed errors and the summary format. The
 * tests check that both paths give the same pixels.
 *
 * Build ({@link buildUserBenchmark}), in this order
 * 1. Identities with fewer than `minImagesPerIdentity` listed images are dropped (counted, named in `meta`).
 * 2. Checks before any image is decoded: the memory guard (`maxImages`) and whether the held-out identities can
 *    hold 10 identity-disjoint verification folds (at least 2 identities per fold). The option `stream` decides
 *    where the training images live (see "Streaming" below); the guard counts the images held in memory.
 * 3. `testIdentities` identities (a count, or a fraction of the kept ones, rounded) are chosen with the seed and
 *    held out: training and test identities are disjoint. Training labels are 0..K-1 and test labels 0..T-1, each
 *    in identity order (folder name order; numeric label order for RecordIO); sets are identity-major.
 * 4. Images are decoded in input order; a corrupt, truncated or unreadable image is skipped, counted and listed
 *    (progress lines every `progressEvery` images on long loads, then the readers' summary line). An identity left
 *    with fewer than `minImagesPerIdentity` decodable images is dropped too. When streaming, this is the
 *    validation pass: training images are decoded and their pixels discarded (a checksum of their bytes is kept).
 * 5. Verification pairs (`makeVerificationPairs`, 10 identity-disjoint folds, P same then P different per fold)
 *    and the open-set identification split (`makeIdentificationSplit`) on the held-out identities, from forks of
 *    the seed, as synthfaces does. P is `pairsPerFold`, or by default the largest number <= 300 that every fold
 *    can hold.
 *
 * Streaming (option `stream`: `'auto'` (default), `true`, `false`)
 * - In memory (`false`, and `'auto'` when all listed images fit under `maxImages`): train and test images are
 *   held as float32, and the guard counts all listed images, as before the option existed.
 * - Streamed (`true`, and `'auto'` when the listed images exceed `maxImages`): the training set holds no pixels
 *   (`images` is empty); its `fetch` reads an image's bytes again (the file, or the record at its .idx offset),
 *   checks them against the validation pass's checksum, decodes and preprocesses them exactly as the in-memory
 *   path does (same pixels, bit for bit), and the trainer calls it for each batch (`readImageInto`). The held-out
 *   test images stay in memory (evaluation reads them many times), so the guard counts them only. A source that
 *   can no longer be read, or whose bytes changed since the build, is a {@link StreamedImageError} naming the
 *   file (and byte offset for RecordIO): never wrong pixels. The labels, counts, pairs and split are those of the
 *   in-memory build.
 */
import { Rng } from '../../util/rng';
import { decodeImage, preprocessInto } from '../readers/decode';
import { ImageDecodeError, errorMessage } from '../readers/errors';
import { formatReadSummary, stderrLog, type ReadSummary } from '../readers/stream';
import { displayPath } from '../../util/package';
import { makeIdentificationSplit, makeVerificationPairs, minIdentitiesPerFold } from '../splits';
import type { FaceBenchmark, ImageSet, VerificationPairs } from '../types';
import {
  DEFAULT_USER_PROGRESS_EVERY, DEFAULT_USER_STREAM, USER_DATASET_FOLDS, USER_MAX_AUTO_PAIRS_PER_FOLD, UserDatasetError, userDatasetBytes,
  type ResolvedUserDatasetOptions, type UserDatasetName, type UserLoadOptions,
} from './options';
import { streamedSet, userImageChecksum, type UserImageSource } from './source';

/** At most this many identity names are listed in `meta` per list. */
const META_MAX_NAMES = 100;

/** `"1.23 GB"`-style size. */
function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let u = 0, v = n;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n} bytes` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Number of held-out identities for `testIdentities` (a count, or a fraction of `kept`, rounded). */
function heldOutCount(testIdentities: number, kept: number): number {
  return testIdentities < 1 ? Math.round(testIdentities * kept) : testIdentities;
}

function listNames(names: string[]): { count: number; names: string[]; truncated: boolean } {
  return { count: names.length, names: names.slice(0, META_MAX_NAMES), truncated: names.length > META_MAX_NAMES };
}

/** The 10-fold capacity check: throws the "too few identities" message. */
function tooFew(dataset: string, r: ResolvedUserDatasetOptions, kept: number, held: number, when: string): never {
  const need = 2 * USER_DATASET_FOLDS;
  const frac = r.testIdentities < 1;
  const needTotal = frac ? Math.max(need + 2, Math.ceil((need - 0.5) / r.testIdentities)) : need + 2;
  const how = kept >= need + 2
    ? frac
      ? `raise testIdentities (e.g. "testIdentities": ${need}, a count) or add identities (${needTotal} are needed with testIdentities=${r.testIdentities})`
      : `set testIdentities to at least ${need}`
    : `add identities: at least ${need + 2} with >= ${r.minImagesPerIdentity} images each are needed (${need} held out + 2 to train)` +
      (frac && needTotal > need + 2 ? `, ${needTotal} with testIdentities=${r.testIdentities}` : '');
  throw new UserDatasetError(`${dataset}: ${kept} identities with >= ${r.minImagesPerIdentity} images ${when}, ${held} held out for evaluation ` +
    `(testIdentities=${r.testIdentities}); ${USER_DATASET_FOLDS} identity-disjoint verification folds need at least ${need} held-out identities ` +
    `(2 per fold) with >= 2 images each: ${how}`);
}

function checkSplit(dataset: string, r: ResolvedUserDatasetOptions, kept: number, held: number, when: string): void {
  if (held < 2 * USER_DATASET_FOLDS) tooFew(dataset, r, kept, held, when);
  if (kept - held < 2) {
    throw new UserDatasetError(`${dataset}: testIdentities=${r.testIdentities} holds out ${held} of the ${kept} identities with ` +
      `>= ${r.minImagesPerIdentity} images ${when}, leaving ${kept - held} to train; at least 2 training identities are needed ` +
      `(lower testIdentities to at most ${kept - 2})`);
  }
  if (held - Math.round(r.unknownFraction * held) < 1) {
    throw new UserDatasetError(`${dataset}: unknownFraction=${r.unknownFraction} leaves no known held-out identity for the gallery`);
  }
}

/**
 * Verification pairs on the held-out set: `pairsPerFold` when given, else the largest P <= 300 that every fold holds
 * (found by bisection; the folds' identities depend only on the rng, not on P).
 */
function buildPairs(dataset: string, labels: Int32Array, T: number, requested: number | null, rng: Rng): { pairs: VerificationPairs; perFold: number } {
  const attempt = (P: number): VerificationPairs | null => {
    try {
      return makeVerificationPairs(labels, T, { folds: USER_DATASET_FOLDS, pairsPerFold: P }, rng.fork('pairs'));
    } catch {
      return null;
    }
  };
  const largest = (hi: number): { P: number; pairs: VerificationPairs } | null => {
    let lo = 0, best: VerificationPairs | null = null;
    const top = attempt(hi);
    if (top) return { P: hi, pairs: top };
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const p = attempt(mid);
      if (p) { lo = mid; best = p; } else hi = mid;
    }
    if (lo === 0) return null;
    return { P: lo, pairs: best ?? (attempt(lo) as VerificationPairs) };
  };
  if (requested !== null) {
    const p = attempt(requested);
    if (p) return { pairs: p, perFold: requested };
    const max = largest(Math.max(1, requested - 1));
    throw new UserDatasetError(`${dataset}: pairsPerFold=${requested} is more than the ${T} held-out identities hold in ` +
      `${USER_DATASET_FOLDS} identity-disjoint folds (at most ${max ? max.P : 0} same and different pairs per fold); lower pairsPerFold, ` +
      `leave it out (automatic), or hold out more identities (testIdentities; about ` +
      `${USER_DATASET_FOLDS * minIdentitiesPerFold(requested, 2)} identities with 2 images each hold ${requested} per fold)`);
  }
  const best = largest(USER_MAX_AUTO_PAIRS_PER_FOLD);
  if (!best) {
    throw new UserDatasetError(`${dataset}: the ${T} held-out identities cannot hold one same and one different pair in each of ` +
      `${USER_DATASET_FOLDS} folds; at least ${2 * USER_DATASET_FOLDS} held-out identities with >= 2 images are needed`);
  }
  return { pairs: best.pairs, perFold: best.P };
}

/** Target of one identity while decoding. */
interface Slot {
  /** 0 = train, 1 = test, -1 = dropped before decoding. */
  set: number;
  /** First image slot of the identity in its set's buffer. */
  base: number;
  /** Images decoded so far. */
  fill: number;
}

/**
 * Builds the benchmark of a user dataset from its listed images (see the file comment).
 * @throws UserDatasetError for too few identities, the memory guard and pair capacity; a reader error from
 *   `src.read` other than ImageDecodeError (a broken container).
 */
export function buildUserBenchmark(dataset: UserDatasetName, src: UserImageSource, r: ResolvedUserDatasetOptions,
  load: UserLoadOptions = {}, timings: Record<string, number> = {}): FaceBenchmark {
  const log = load.log === undefined ? stderrLog : load.log;
  const progressEvery = load.progressEvery ?? DEFAULT_USER_PROGRESS_EVERY;
  if (!Number.isInteger(progressEvery) || progressEvery < 1) throw new RangeError(`progressEvery must be a positive integer, got ${progressEvery}`);
  const t0 = Date.now();
  const K0 = src.identities.length;
  const per = r.size * r.size * r.channels;

  // 1. identities with too few listed images
  const candidates: number[] = [];
  const droppedListed: string[] = [...(src.emptyIdentities ?? [])];
  for (let id = 0; id < K0; id++) {
    if (src.groups[id].length >= r.minImagesPerIdentity) candidates.push(id);
    else droppedListed.push(src.identities[id]);
  }
  let listed = 0;
  for (const id of candidates) listed += src.groups[id].length;

  // 2. memory guard and fold capacity, before decoding anything; where the training images live (file comment)
  const streamOption = r.stream ?? DEFAULT_USER_STREAM;
  const stream = streamOption === true || (streamOption === 'auto' && listed > r.maxImages);
  const guardAll = (): string => `${dataset}: ${src.name} has ${listed} images (of ${candidates.length} identities with >= ` +
    `${r.minImagesPerIdentity} images); held as float32 at ${r.size}x${r.size}x${r.channels} they take about ` +
    `${formatBytes(userDatasetBytes(listed, r.size, r.channels))} (${listed} x ${r.size} x ${r.size} x ${r.channels} x 4 bytes), ` +
    `above the memory guard maxImages=${r.maxImages} (${formatBytes(userDatasetBytes(r.maxImages, r.size, r.channels))}). ` +
    `If the machine has the memory, raise it: "dataset": {"options": {"maxImages": ${listed}}} in the config; or lower size/channels, ` +
    'or train on a subset';
  if (!stream && listed > r.maxImages) {
    throw new UserDatasetError(`${guardAll()}; or stream the training images ("stream": true or "auto": only the held-out test images are then held)`);
  }
  const held0 = heldOutCount(r.testIdentities, candidates.length);
  checkSplit(dataset, r, candidates.length, held0, 'listed');

  // 3. held-out identities (seeded), train/test slots
  const root = new Rng(`${dataset}/${r.seed}`);
  const order = [...candidates];
  root.fork('held-out').shuffle(order);
  const heldSet = new Set(order.slice(0, held0));
  const slots: Slot[] = Array.from({ length: K0 }, () => ({ set: -1, base: 0, fill: 0 }));
  const cap = [0, 0];
  for (const id of candidates) {
    const s = heldSet.has(id) ? 1 : 0;
    slots[id] = { set: s, base: cap[s], fill: 0 };
    cap[s] += src.groups[id].length;
  }
  if (stream && cap[1] > r.maxImages) {
    // streaming holds the test images only: they alone are over the guard
    const testBytes = formatBytes(userDatasetBytes(cap[1], r.size, r.channels));
    const why = `the ${cap[1]} images of the ${held0} held-out identities stay in memory for evaluation (${testBytes} as float32 at ` +
      `${r.size}x${r.size}x${r.channels}) and alone exceed maxImages=${r.maxImages}; lower testIdentities, or raise maxImages to at ` +
      `least ${cap[1]} to stream the training images`;
    throw new UserDatasetError(streamOption === 'auto'
      ? `${guardAll()}. Streaming the training images ("stream": "auto", the default) does not help: ${why}`
      : `${dataset}: "stream": true streams the training images of ${src.name}, but ${why} (or all ${listed}: "stream": false)`);
  }
  if (log) {
    const why = streamOption === 'auto'
      ? `"stream": "auto": ${listed} listed images ${stream ? '>' : '<='} maxImages=${r.maxImages}` : `"stream": ${streamOption}`;
    log(stream
      ? `${dataset}: streaming the ${cap[0]} training images from ${src.name} (${why}): a validation pass decodes each once now, then ` +
        `every batch decodes its images again; the ${cap[1]} held-out test images are held in memory`
      : `${dataset}: all ${listed} images in memory (${why})`);
  }
  const itemId = new Int32Array(src.count).fill(-1);
  for (const id of candidates) for (const i of src.groups[id]) itemId[i] = id;
  const buffers = [new Float32Array(stream ? 0 : cap[0] * per), new Float32Array(cap[1] * per)];
  // streaming: which items decoded (the training set lists them) and the checksum of their bytes
  const decoded = stream ? new Uint8Array(src.count) : null;
  const sums = stream ? new Uint32Array(src.count) : null;

  // 4. decode in input order
  const tDecode = Date.now();
  const summary: ReadSummary = { name: src.name, total: listed, read: 0, skipped: 0, reasons: [], seconds: 0, complete: false };
  let done = 0;
  for (let i = 0; i < src.count; i++) {
    const id = itemId[i];
    if (id < 0) continue;
    const slot = slots[id];
    try {
      const bytes = src.read(i);
      const img = decodeImage(bytes, src.source(i));
      if (decoded && sums && slot.set === 0) {
        decoded[i] = 1;
        sums[i] = userImageChecksum(bytes);
      } else {
        preprocessInto(img, buffers[slot.set], (slot.base + slot.fill) * per, r.size, r.channels, false);
      }
      slot.fill++;
      summary.read++;
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      summary.skipped++;
      summary.reasons.push({ source: src.source(i), reason: errorMessage(e) });
    }
    done++;
    if (log && done % progressEvery === 0 && done < listed) {
      const s = (Date.now() - tDecode) / 1000;
      log(`${src.name}: ${done}/${listed} images (${summary.skipped} skipped${s > 0 ? `, ${Math.round(done / s)} images/s` : ''})`);
    }
  }
  summary.seconds = (Date.now() - tDecode) / 1000;
  summary.complete = true;
  if (log) log(formatReadSummary(summary));
  const decodeMs = Date.now() - tDecode;

  // identities left with too few decodable images are dropped; compact each set (identity-major, name order)
  const droppedAfterSkips: string[] = [];
  const sets: ImageSet[] = [];
  const members: number[][] = [[], []];
  for (let s = 0; s < 2; s++) {
    const buf = buffers[s];
    const labels = new Int32Array(cap[s]);
    const streamed = decoded !== null && s === 0;
    const items = streamed ? new Int32Array(cap[s]) : null; // streamed: the source item of each training image
    let n = 0, label = 0;
    for (const id of candidates) {
      const slot = slots[id];
      if (slot.set !== s) continue;
      if (slot.fill < r.minImagesPerIdentity) { droppedAfterSkips.push(src.identities[id]); continue; }
      if (items && decoded) {
        let k = n;
        for (const i of src.groups[id]) if (decoded[i]) items[k++] = i;
      } else if (n !== slot.base) {
        buf.copyWithin(n * per, slot.base * per, (slot.base + slot.fill) * per);
      }
      labels.fill(label, n, n + slot.fill);
      n += slot.fill;
      label++;
      members[s].push(id);
    }
    const setLabels = n === cap[s] ? labels : labels.subarray(0, n);
    if (items && sums) {
      const chosen = items.slice(0, n);
      sets.push(streamedSet(dataset, src, chosen, Uint32Array.from(chosen, (i) => sums[i]), setLabels, r.size, r.channels));
    } else {
      sets.push({ images: n === cap[s] ? buf : buf.subarray(0, n * per), labels: setLabels, count: n, height: r.size, width: r.size, channels: r.channels });
    }
  }
  const [train, test] = sets;
  const K = members[0].length, T = members[1].length;
  if (droppedAfterSkips.length > 0) checkSplit(dataset, r, K + T, T, 'after skipping unreadable images');

  // 5. protocols on the held-out identities
  const { pairs, perFold } = buildPairs(dataset, test.labels, T, r.pairsPerFold, root);
  const identification = makeIdentificationSplit(test.labels, T, r.unknownFraction, root.fork('identification'));
  const names = (ids: number[]): string[] => ids.map((id) => src.identities[id]);
  let imagesOfDropped = src.count - listed;
  for (const id of candidates) if (slots[id].fill < r.minImagesPerIdentity) imagesOfDropped += slots[id].fill;
  const buildMs = Date.now() - t0 - decodeMs;
  const held = stream ? test.count : train.count + test.count;
  if (log) {
    log(`${dataset}: ${K} training identities (${train.count} images), ${T} held-out identities (${test.count} images), ` +
      `${droppedListed.length + droppedAfterSkips.length} identities dropped (< ${r.minImagesPerIdentity} images), ${summary.skipped} images skipped; ` +
      `${USER_DATASET_FOLDS} folds x ${perFold} same + ${perFold} different pairs; ${formatBytes(userDatasetBytes(held, r.size, r.channels))} in memory` +
      (stream ? ' (test images; training images streamed)' : ''));
  }
  return {
    name: dataset,
    train,
    numClasses: K,
    test,
    pairs,
    identification,
    meta: {
      source: { ...src.describe, path: displayPath(r.path) },
      options: { ...r, path: displayPath(r.path), pairsPerFold: r.pairsPerFold ?? 'auto', stream: streamOption },
      protocol: 'identity-disjoint open set: held-out identities (chosen with the seed) are disjoint from the training identities; ' +
        'train labels 0..K-1 and test labels 0..T-1, each in identity order',
      counts: {
        identitiesFound: K0 + (src.emptyIdentities?.length ?? 0),
        identitiesKept: K + T,
        identitiesDropped: droppedListed.length + droppedAfterSkips.length,
        trainIdentities: K,
        heldOutIdentities: T,
        imagesListed: src.count,
        imagesOfDroppedIdentities: imagesOfDropped,
        imagesRead: summary.read,
        imagesSkipped: summary.skipped,
        train: train.count,
        test: test.count,
        pairs: pairs.left.length,
        pairsPerFold: perFold,
        gallery: identification.gallery.length,
        knownProbes: identification.knownProbes.length,
        unknownProbes: identification.unknownProbes.length,
      },
      droppedIdentities: listNames([...droppedListed, ...droppedAfterSkips]),
      trainIdentities: { ...listNames(names(members[0])), note: 'train label i = names[i]' },
      heldOutIdentities: { ...listNames(names(members[1])), note: 'test label i = names[i]' },
      skipped: { count: summary.skipped, first: summary.reasons.slice(0, 20) },
      memory: {
        bytes: userDatasetBytes(held, r.size, r.channels), maxImages: r.maxImages, stream: streamOption,
        training: stream ? 'streamed' : 'in memory', guardCounts: stream ? 'held-out test images' : 'all images',
      },
      pairLayout: 'fold k = pairs [k*2P, (k+1)*2P): P same then P different; folds are identity-disjoint',
      timings: { ...timings, decodeMs, buildMs, totalMs: (timings.scanMs ?? 0) + Date.now() - t0 },
    },
  };
}
