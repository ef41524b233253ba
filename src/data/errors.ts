/**
 * The error of a dataset that the user must fix: a bad option value, a missing or corrupt source (MNIST not
 * installed, a font not found), or options the benchmark cannot satisfy (too few test identities for the folds).
 * Programming errors stay other types, so callers can tell the two apart: the CLI prints a DatasetError's message
 * and exits with code 2. (Problems of the data readers are {@link DataReaderError}s, src/data/readers/errors.ts.)
 */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
