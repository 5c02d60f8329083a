// The Causal Tracing panel's Patching tab and Attention view inside VS Code, on the bundled model:
// exact patching of a prompt pair of its world draws the four grids with the engine's own numbers,
// attribution patching draws the same layout, "Use layer N for edits" sets the edit layer, and the
// Attention view draws a head's pattern with the prompt's tokens on both axes; screenshots of each.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { decodeAttention, decodePatching } from '../../src/protocol/patching';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

interface PatchSummary {
  tab: string;
  status: string;
  error?: string;
  method?: string;
  clean?: number;
  corrupt?: number;
  kinds?: string[];
  rows?: number[];
  tokens?: string[];
  strongestMlpLayer?: number;
  normalized?: Record<string, (number | null)[][]>;
  editLayer?: number;
  layer?: number;
  heads?: number[];
  pattern?: number[][];
}

const PAIR = { clean: 'Baekpen Jaekdixjol was born in', corrupt: 'Baequa Kaekmyth was born in', answer: 'Grikport', wrong: 'Kurhiassa' };

describe('Patching tab and Attention view', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.engine.editLayer = undefined;
    api.panels.tracing()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  const done = (tab: string, method?: string) => (s: unknown) => {
    const x = s as PatchSummary;
    return x.tab === tab && (x.status === 'error' || (x.status === 'drawn' && (method === undefined || x.method === method)));
  };

  it('patching draws resid, MLP, attention and head grids equal to the engine, attribution in the same layout, and an attention pattern', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    const panel = api.panels.tracing()!;
    assert.ok(panel, 'the Causal Tracing panel is open');

    let drawn = waitFor(panel.onDidRender, done('patching', 'exact'), 'the exact patching grids', 90_000);
    panel.notify('runPatch', { ...PAIR, method: 'exact', metric: 'logit-diff' });
    const exact = (await drawn) as PatchSummary;
    assert.equal(exact.status, 'drawn', exact.error);
    const ref = decodePatching(await api.engine.client.request('model/patch', { ...PAIR, method: 'exact', nodes: ['resid', 'mlp', 'attn', 'heads'] }));
    assert.deepEqual(exact.kinds, ['resid', 'mlp', 'attn', 'heads']);
    assert.deepEqual(exact.rows, [6, 6, 6, 24]);
    assert.deepEqual(exact.tokens, ref.tokens.map((t) => t.text));
    for (const g of ref.grids) {
      g.normalized.forEach((row, l) => row.forEach((v, t) => assert.ok(Math.abs((exact.normalized![g.kind][l][t] ?? NaN) - v!) < 1e-9, `${g.kind} ${l} ${t}`)));
    }
    assert.ok(Math.abs(exact.normalized!.resid[5][ref.tokens.length - 1]! - 1) < 1e-5, 'the last residual at the last token restores the clean metric');
    await screenshot('patching-exact');

    // "Use layer N for edits", as in the trace tab.
    const layer = exact.strongestMlpLayer!;
    const used = waitFor(panel.onDidRender, (s) => (s as PatchSummary).editLayer === layer, 'the edit layer', 30_000);
    assert.equal(panel.useLayer(layer).layer, layer);
    assert.equal(api.engine.editLayer, layer);
    await used;

    drawn = waitFor(panel.onDidRender, done('patching', 'atp'), 'the attribution grids', 90_000);
    panel.notify('runPatch', { ...PAIR, method: 'atp' });
    const atp = (await drawn) as PatchSummary;
    assert.equal(atp.status, 'drawn', atp.error);
    assert.deepEqual(atp.rows, exact.rows, 'attribution draws the same grid layout');
    assert.notDeepEqual(atp.normalized, exact.normalized, 'the estimates are not the exact values');
    await screenshot('patching-attribution');

    drawn = waitFor(panel.onDidRender, done('attention'), 'the attention pattern', 60_000);
    panel.notify('runAttention', { prompt: PAIR.clean, layer: 2, head: 1 });
    const attn = (await drawn) as PatchSummary;
    assert.equal(attn.status, 'drawn', attn.error);
    const want = decodeAttention(await api.engine.client.request('model/attention', { prompt: PAIR.clean, layer: 2, head: 1 }));
    assert.deepEqual(attn.tokens, want.tokens.map((t) => t.text));
    assert.deepEqual(attn.pattern, want.patterns[0]);
    attn.pattern!.forEach((row, q) => assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5 && row.slice(q + 1).every((v) => v === 0), `query ${q} is a causal distribution`));
    await screenshot('attention-view');
  });
});
