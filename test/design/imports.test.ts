/**
 * The dependency direction between src/ folders (docs/DESIGN.md, "Dependency direction"): the import statements of
 * src/**\/*.ts (static imports, `export ... from`, `import type` and dynamic `import()`), read with TypeScript's own
 * pre-processor, must form no cycle between folders, and every import must point to a folder of a lower layer.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

/**
 * The layers, lowest first; a folder may import from folders of lower layers only (folders of one layer not from
 * each other). Files directly in src/ (index.ts) are the top. Keep docs/DESIGN.md's table in step.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['ops', 'eval', 'stats'],
  ['backends'],
  ['data', 'models', 'heads', 'losses'],
  ['coreface'],
  ['config'],
  ['train'],
  ['embedders', 'report'],
  ['experiments'],
  ['notebook'],
  ['cli'],
];

/** One import between two folders. */
interface FolderImport {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The folder of a path under `root`: its first segment, or '(root)' for files directly in it. */
function folderOf(root: string, file: string): string {
  const parts = path.relative(root, file).split(path.sep);
  return parts.length === 1 ? '(root)' : parts[0];
}

/** Every relative import of the .ts files under `root` that crosses folders. */
function folderImports(root: string): FolderImport[] {
  const out: FolderImport[] = [];
  for (const file of tsFiles(root)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      const from = folderOf(root, file);
      const to = folderOf(root, fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'index.ts') : `${target}.ts`);
      if (from !== to) out.push({ from, to, file: path.relative(root, file), specifier });
    }
  }
  return out;
}

/** The strongly connected components of more than one folder (Tarjan), each sorted; none means no cycle. */
function folderCycles(imports: readonly FolderImport[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!edges.has(i.from)) edges.set(i.from, new Set());
    if (!edges.has(i.to)) edges.set(i.to, new Set());
    (edges.get(i.from) as Set<string>).add(i.to);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** A cycle as text: the folders, then the import statements that close it. */
function describeCycle(scc: readonly string[], imports: readonly FolderImport[]): string {
  const inside = imports.filter((i) => scc.includes(i.from) && scc.includes(i.to));
  const lines = new Set(inside.map((i) => `  ${i.from} -> ${i.to}: src/${i.file} imports '${i.specifier}'`));
  return `import cycle between src/ folders ${scc.join(', ')}:\n${[...lines].join('\n')}`;
}

describe('design: dependency direction between src/ folders', () => {
  const imports = folderImports(SRC);

  it('no import cycle between src/ folders', () => {
    const cycles = folderCycles(imports);
    assert.equal(cycles.length, 0, cycles.map((c) => describeCycle(c, imports)).join('\n'));
  });

  it('every import points to a lower layer (docs/DESIGN.md)', () => {
    const layer = new Map<string, number>();
    LAYERS.forEach((folders, i) => folders.forEach((f) => layer.set(f, i)));
    layer.set('(root)', LAYERS.length);
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    const unplaced = folders.filter((f) => !layer.has(f));
    assert.deepEqual(unplaced, [], `src/ folders missing from LAYERS (add them, and to docs/DESIGN.md): ${unplaced.join(', ')}`);
    const upward = imports.filter((i) => (layer.get(i.to) as number) >= (layer.get(i.from) as number));
    assert.deepEqual(
      upward.map((i) => `${i.from} -> ${i.to}: src/${i.file} imports '${i.specifier}'`), [],
      'imports to the same or a higher layer',
    );
  });

  it('the cycle check finds a cycle, and names the imports that make it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-imports-'));
    try {
      const write = (file: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      write('a/x.ts', "import { y } from '../b/y';\nexport const x = y;\n");
      write('b/y.ts', "export const y = 1;\nexport async function z(): Promise<unknown> { return import('../c'); }\n");
      write('c/index.ts', "export type { x } from '../a/x';\n");
      write('d/w.ts', "import { x } from '../a/x';\nexport const w = x;\n");
      write('index.ts', "export * from './d/w';\n");
      const found = folderImports(root);
      assert.deepEqual(folderCycles(found), [['a', 'b', 'c']]);
      assert.match(describeCycle(['a', 'b', 'c'], found), /c -> a: src\/c\/index\.ts imports '\.\.\/a\/x'/);
      fs.writeFileSync(path.join(root, 'c', 'index.ts'), 'export const c = 1;\n');
      assert.deepEqual(folderCycles(folderImports(root)), []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
