/**
 * Datasets from the user's own data, passed by path: `image-folder` (`<path>/<identity>/<image>`) and `recordio`
 * (an insightface `.rec` + `.idx`). Both hold out identities for the open-set evaluation (verification pairs in 10
 * identity-disjoint folds, identification split), guard memory, and skip and count unreadable images (common.ts).
 * Importing this folder registers both; `coreface train --data <folder | file.rec>` picks one by the path.
 */
export * from './build';
export * from './image-folder';
export * from './recordio';
