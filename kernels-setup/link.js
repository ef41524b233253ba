#!/usr/bin/env node
// Creates notebooks/node_modules/coreface-lab -> ../.. (a relative symlink to the project root), so that a notebook
// in notebooks/ imports the compiled library as a package: `import { initBackend } from 'coreface-lab'`
// (resolves to dist/src/index.js through package.json "main"). tslab cannot import ../src/*.ts ("not under
// rootDir"); a package import works. The link is generated (git-ignored by the `node_modules/` pattern);
// its dependencies (@tensorflow/tfjs, ...) resolve from the project's own node_modules through the real path,
// so a notebook's `import * as tf from '@tensorflow/tfjs'` gets the very same tfjs instance as the library.
'use strict';
const fs = require('fs');
const path = require('path');

function ensureLink(root = path.resolve(__dirname, '..'), quiet = false) {
  const dir = path.join(root, 'notebooks', 'node_modules');
  const link = path.join(dir, 'coreface-lab');
  const target = path.join('..', '..');
  fs.mkdirSync(dir, { recursive: true });
  let ok = false;
  try {
    ok = fs.lstatSync(link).isSymbolicLink() && fs.realpathSync(link) === fs.realpathSync(root);
  } catch {
    ok = false;
  }
  if (!ok) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link, 'dir');
    if (!quiet) console.log(`[kernel] linked notebooks/node_modules/coreface-lab -> ${target}`);
  } else if (!quiet) {
    console.log('[kernel] notebooks/node_modules/coreface-lab link present');
  }
  return link;
}

module.exports = { ensureLink };
if (require.main === module) ensureLink();
