/**
 * Datasets from the user's own data, passed by path: `image-folder` (`<path>/<identity>/<image>`) and `recordio`
 * (an insightface `.rec` + `.idx`). Both hold out identities for the open-set evaluation (verification pairs in 10
 * identity-disjoint folds, identification split), guard memory, and skip and count unreadable images: options.ts
 * (options, memory guard), source.ts (image sources, streaming), build.ts (the benchmark build).
 * Importing this folder registers both; `coreface train --data <folder | file.rec>` picks one by the path.
 */
export * from './options';
export { StreamedImageError, userImageChecksum } from './source';
export type { UserImageSource, UserItemReader } from './source';
export * from './build';
export * from './image-folder';
export * from './recordio';
