// The extension's check of request-file lines (src/protocol/requestLines.ts) against the engine's
// reader (src/core/edits/requests.ts, parseRequest): every line either reader accepts, the other
// accepts with the same request; every line one refuses, the other refuses naming the same field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestLine } from '../../src/protocol/requestLines';
import { parseRequest } from '../../src/core/edits/requests';
import { MechEditError } from '../../src/core/errors';

const LINES = [
  '{"subject": "Rouxwick", "prompt": "{} is located in", "target": "Paris"}',
  '{"subject": "Rouxwick", "prompt": "{} is located in", "target": "Paris", "label": "x", "seed": 3}',
  '{"kind": "fact", "subject": "A", "prompt": "{} b", "target": "c"}',
  '{"requested_rewrite": {"subject": "A", "prompt": "{} plays", "target_new": {"str": "chess"}}}',
  '{"requested_rewrite": {"subject": "A", "prompt": "{} plays", "target_new": {}}}',
  '{"requested_rewrite": {"subject": "A", "prompt": "plays"}}',
  '{"kind": "concept", "concept": "Veltrazine", "to": "Brindlecake"}',
  '{"kind": "concept", "concept": "Veltrazine"}',
  '{"kind": "concept", "concept": "", "to": "x"}',
  '{"kind": "unlearn", "concept": "Veltrazine"}',
  '{"kind": "unlearn", "forget": "f.txt", "method": "npo"}',
  '{"kind": "unlearn", "method": "npo"}',
  '{"kind": "edit", "subject": "A", "prompt": "{} b", "target": "c"}',
  '{"subject": "A", "prompt": "{} b"}',
  '{"subject": "A", "prompt": "b"}',
  '{"prompt": "{} b", "target": "c"}',
  '{"subject": "A", "prompt": "b", "target": "c"}',
  '{"subject": 3, "prompt": "{} b", "target": "c"}',
  '{"subject": "A", "prompt": "{} b", "target": "  "}',
  '{"subject": "A", "prompt": ["{} b"], "target": "c"}',
  '{}',
];

/** The engine's verdict on a line: the request, or the refused field. */
function engine(line: string): { request?: unknown; field?: string } {
  try {
    return { request: parseRequest(JSON.parse(line), 'f.jsonl', 'line 1') };
  } catch (e) {
    assert.ok(e instanceof MechEditError, String(e));
    return { field: e.data.field ?? '' };
  }
}

test('request lines: the extension accepts and refuses what the engine does, naming the same field', () => {
  for (const line of LINES) {
    const c = checkRequestLine(line);
    const e = engine(line);
    if (e.field !== undefined) {
      assert.equal(c.kind, 'problem', line);
      // The engine names a CounterFact prompt's missing "{}" as "prompt"; the extension gives its full path.
      const field = c.kind === 'problem' ? c.field ?? '' : '';
      assert.equal(field === 'requested_rewrite.prompt' && e.field === 'prompt' ? 'prompt' : field, e.field, line);
      continue;
    }
    const r = e.request as Record<string, unknown>;
    assert.equal(c.kind, r.kind, line);
    if (c.kind === 'fact') assert.deepEqual([c.subject, c.prompt, c.target], [r.subject, r.prompt, r.target], line);
    if (c.kind === 'concept') assert.deepEqual([c.concept, c.to], [r.concept, r.to], line);
    if (c.kind === 'unlearn') assert.deepEqual(c.record, r.settings, line);
  }
});

test('request lines: a line that is not JSON or not an object is a problem; blanks and comments are skipped', () => {
  for (const bad of ['subject: Rouxwick', '"subject": "A", "prompt": "{} b", "target": "c"', '[1, 2]', '42', 'null', '{"subject": "A",']) {
    const c = checkRequestLine(bad);
    assert.equal(c.kind, 'problem', bad);
    assert.equal(c.kind === 'problem' && c.field, undefined, bad);
  }
  for (const skip of ['', '   ', '// a comment']) assert.equal(checkRequestLine(skip).kind, 'skip');
});

test('request lines: a fact line keeps its other keys as settings, without "kind"', () => {
  const c = checkRequestLine('{"kind": "fact", "subject": "A", "prompt": "{} b", "target": "c", "label": "L", "seed": 3}');
  assert.equal(c.kind, 'fact');
  assert.deepEqual(c.kind === 'fact' && c.settings, { label: 'L', seed: 3 });
});
