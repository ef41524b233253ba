import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

describe('setup: the project compiles with its own TypeScript', () => {
  // tslab depends on @tslab/typescript-for-tslab (TypeScript 5.0.4), which also declares a `tsc` bin, and npm links
  // node_modules/.bin/tsc to it: a bare `tsc` (and `npx tsc`) in this project runs 5.0.4, not the declared version.
  it('build, prepare and typecheck run node_modules/typescript, whose version is the declared one', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
    for (const s of ['build', 'prepare', 'typecheck']) {
      assert.match(pkg.scripts[s], /^node node_modules\/typescript\/bin\/tsc -p tsconfig\.json/, `${s}: ${pkg.scripts[s]}`);
    }
    const declared = /(\d+)\.(\d+)\.\d+/.exec(pkg.devDependencies.typescript);
    assert.ok(declared, pkg.devDependencies.typescript);
    const installed = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(installed.split('.').slice(0, 2).join('.'), `${declared[1]}.${declared[2]}`, `node_modules/typescript is ${installed}, package.json declares ${pkg.devDependencies.typescript}`);
  });
});
