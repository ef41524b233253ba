/**
 * What an executed notebook says about itself in its first output (issue 16): the library version and git commit
 * it ran on (and whether the code had local changes), the backend line, and the date; plus its parameters.
 * {@link startNotebook} is the first cell of every notebook in `notebooks/`.
 */
import { execFileSync } from 'child_process';
import { initBackend, type BackendInfo } from '../backends/select';
import { PACKAGE } from '../util/package';
import { showMarkdown } from './notebook';
import { notebookParams, paramsMarkdown, type NotebookParamOverrides, type NotebookParams } from './params';
import { prepareNotebookDataset } from './demo-folder';

/** The provenance of a notebook's outputs. */
export interface NotebookStamp {
  /** `coreface-lab@<version>` (the version is part of every run key). */
  version: string;
  /** Short commit of the library's checkout, or null when it is not a git checkout (or git is missing). */
  commit: string | null;
  /**
   * Whether tracked files outside `notebooks/` differ from that commit (the notebooks themselves are left out: they
   * are rewritten by `npm run notebooks -- --update` while it runs). null when unknown.
   */
  dirty: boolean | null;
  /** The backend line: name, description and tfjs version. */
  backend: string;
  /** ISO date and time (UTC) of the run, to the minute. */
  date: string;
  /** Node version. */
  node: string;
}

function git(args: string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 }).trim();
  } catch {
    return null;
  }
}

/** The commit of the checkout at `root` (default the library's) and whether it has local changes outside `notebooks/`. */
export function gitState(root: string = PACKAGE.root): { commit: string | null; dirty: boolean | null } {
  const commit = git(['rev-parse', '--short=10', 'HEAD'], root);
  if (commit === null) return { commit: null, dirty: null };
  const status = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)notebooks'], root);
  return { commit, dirty: status === null ? null : status.length > 0 };
}

/** The one-line backend description of {@link NotebookStamp.backend}. */
export function backendLine(b: BackendInfo): string {
  return `${b.name} (${b.note}), tfjs ${b.version}`;
}

/** The stamp of a notebook run now, on backend `b`. */
export function notebookStamp(b: BackendInfo, now: Date = new Date(), root: string = PACKAGE.root): NotebookStamp {
  const { commit, dirty } = gitState(root);
  return {
    version: `${PACKAGE.name}@${PACKAGE.version}`,
    commit,
    dirty,
    backend: backendLine(b),
    date: `${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    node: process.version,
  };
}

/** The stamp as Markdown lines: `run: <date>`, `code: <version>, commit <c>[ + local changes]`, `backend: <line>`. */
export function stampMarkdown(s: NotebookStamp): string {
  const commit = s.commit === null ? 'not a git checkout' : `commit \`${s.commit}\`${s.dirty ? ' with local changes (outside notebooks/)' : ''}`;
  return [`**run** ${s.date} · **code** ${s.version}, ${commit}, Node ${s.node}`, `**backend** ${s.backend}`].join('  \n');
}

/** What {@link startNotebook} returns: the parameters, the backend and the stamp. */
export interface NotebookSession extends NotebookParams {
  backend: BackendInfo;
  stamp: NotebookStamp;
}

/**
 * The first cell of a notebook: resolves its parameters ({@link notebookParams}; `overrides` is the notebook's own
 * parameter block), starts the tfjs backend quietly, generates the demo image folder when the dataset is
 * `demo-folder`, and shows ONE Markdown output: the stamp (date, code version and commit, backend line) and the
 * parameter table with where each value came from.
 */
export async function startNotebook(notebook: string, overrides: NotebookParamOverrides = {}): Promise<NotebookSession> {
  const params = notebookParams(notebook, overrides);
  const backend = await initBackend({ quiet: true });
  const stamp = notebookStamp(backend);
  if (params.dataset) prepareNotebookDataset(params.dataset);
  showMarkdown(`${stampMarkdown(stamp)}\n\n${paramsMarkdown(params)}`);
  return { ...params, backend, stamp };
}
