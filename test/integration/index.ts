// Entry point of the integration suite, loaded by VS Code's extension host
// (extensionTestsPath = <repo>/out/test/integration). VS Code calls run() and treats a rejected
// promise as failure (exit code 1). scripts/vscode/run-tests.mjs starts VS Code and streams this
// output (Mocha's spec reporter) to the terminal.
//
// Runs every `*.test.js` in this folder of the compiled output, in name order. A failed test
// leaves test-results/failed-<title>.png under run-tests.mjs (see screenshot.ts).
// Env: MECHEDIT_TEST_GREP (only tests whose full title matches), MECHEDIT_TEST_TIMEOUT_MS (per test).
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { screenshot } from './screenshot';

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    timeout: Number(process.env.MECHEDIT_TEST_TIMEOUT_MS) || 60_000,
  });
  // On failure, a screenshot of the workbench as the test left it: test-results/failed-<title>.png.
  // Only under run-tests.mjs (it sets the variable); elsewhere nobody answers and each would wait 20 s.
  mocha.suite.afterEach(async function () {
    const test = this.currentTest;
    if (test?.state === 'failed' && process.env.MECHEDIT_SCREENSHOT_REQUESTS) {
      await screenshot(`failed-${test.fullTitle()}`.slice(0, 120));
    }
  });
  if (process.env.MECHEDIT_TEST_GREP) {
    mocha.grep(process.env.MECHEDIT_TEST_GREP);
  }
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of files) {
    mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => {
        if (failures > 0) {
          reject(new Error(`${failures} integration test(s) failed.`));
        } else {
          resolve();
        }
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
