'use strict';
/*
 * Mocha's spec reporter plus one plain closing line, `mocha: N passed, N failed, N skipped`, after its own summary.
 * CI log readers that do not know mocha's "N passing" wording read that line to tell a run that executed tests from
 * one that executed none (.ci/run and `npm test` use this reporter through .mocharc.json).
 */
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`mocha: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SpecWithTotals;
