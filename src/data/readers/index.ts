/**
 * Readers for the face-recognition data formats users bring: image folders, insightface RecordIO training sets,
 * insightface verification `.bin` files and LFW `pairs.txt`. Streaming (batches, bounded prefetch, progress),
 * tensor-free (typed arrays), with typed errors for bad input. Each file's top comment documents its format.
 */
export { DataReaderError, DataFormatError, DataNotFoundError, ImageDecodeError } from './errors';
export type { ErrorPosition } from './errors';
export {
  decodeImage, sniffImageFormat, preprocessInto, preprocessImage, resizeGeometry, resolvePreprocess, normalizePixel,
  DEFAULT_READER_SIZE, DEFAULT_READER_CHANNELS, DEFAULT_MAX_MEGAPIXELS,
} from './decode';
export type { DecodedImage, DecodeOptions, ImageFormat, PreprocessOptions, ResolvedPreprocess } from './decode';
export {
  ImageStream, prefetch, batchItems, formatReadSummary, resolveStreamOptions, stderrLog,
  DEFAULT_BATCH_SIZE, DEFAULT_PREFETCH, DEFAULT_READ_AHEAD, DEFAULT_PROGRESS_EVERY, SUMMARY_MAX_LISTED,
} from './stream';
export type {
  ImageBatch, ReadSummary, SkippedImage, ReadProgress, StreamOptions, ItemSource, LoadedImage, CollectedImages, LogFn,
} from './stream';
export {
  unpickle, unpickleFile, describePickleValue, pickleOffset, opcodeName, PickleTuple, PickleDict, PickleBytesRef,
  BufferByteSource, FileByteSource, MAX_PICKLE_PROTOCOL,
} from './pickle';
export type { PickleValue, ByteSource, UnpickleOptions } from './pickle';
export {
  scanImageFolder, imageFolderStream, openImageFolder, loadImageFolder, isImageFileName, IMAGE_EXTENSIONS,
} from './image-folder';
export type { ImageFolderIndex, ScanOptions, LoadedImageFolder } from './image-folder';
export {
  RecordIODataset, streamRecordIO, readRecordPayload, parseImageRecord, recordLabel, RECORDIO_MAGIC, IR_HEADER_BYTES,
} from './recordio';
export type { IRHeader, RecordIORecord, RecordIOLayout, RecordIOOpenOptions } from './recordio';
export { VerificationSource, contiguousFolds, DEFAULT_VERIFICATION_FOLDS, UNKNOWN_LABEL } from './verification-set';
export type { VerificationSet } from './verification-set';
export { openVerificationBin, readVerificationBin, readVerificationBinContent, checkVerificationPickle } from './verification-bin';
export type { VerificationBinOptions, VerificationBinContent } from './verification-bin';
export { openLfwPairs, readLfwPairs, parseLfwPairs, lfwImagePath, DEFAULT_LFW_EXTENSION } from './lfw-pairs';
export type { LfwPairsOptions, LfwPair, LfwPairsFile } from './lfw-pairs';
