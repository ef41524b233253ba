#!/usr/bin/env node
// The `coreface` command: runs the compiled CLI (npm install builds it through the `prepare` script).
'use strict';
const fs = require('fs');
const path = require('path');

const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('coreface: the library is not built yet; run `npm run build` (npm install does it)\n');
  process.exit(1);
}
process.on('unhandledRejection', (err) => {
  process.stderr.write(`coreface: unexpected error: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
let cli;
try {
  cli = require(entry);
} catch (err) {
  // A broken build or a missing dependency: one line, not a stack (COREFACE_DEBUG=1 shows it).
  process.stderr.write(`coreface: cannot load the CLI (${err && err.message ? err.message.split('\n')[0] : err}); try \`npm install\`\n`);
  if (process.env.COREFACE_DEBUG) process.stderr.write(`${err && err.stack}\n`);
  process.exit(1);
}
cli
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
