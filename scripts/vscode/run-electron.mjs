// The same integration suite in desktop VS Code through @vscode/test-electron, for machines that
// can download VS Code (not this one: offline, scripts/vscode/run-tests.mjs uses code-server).
// Needs `npm run build && npm run compile` first.
import { runTests } from '@vscode/test-electron';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'integration', 'index.js'),
    launchArgs: [path.join(root, 'test', 'fixtures', 'workspace'), '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (err) {
  console.error(`integration suite failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
