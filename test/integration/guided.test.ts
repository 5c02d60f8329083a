// The guided path of issue 33 on the bundled model, with no retry: open the model → trace the
// Causal Tracing panel's default example → edit the fact at the trace's recommended layer → the
// Edit Result view shows before/after top-k and greedy generations (checked against the engine's
// own model/predict with and without the edit) → compare activations → diagnose → revert.
// Screenshots: guided-1-trace … guided-5-reverted. The view's buttons are driven through its
// host's request handlers, as the webview's clicks would call them.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { EditResultPanel } from '../../src/protocol/editResult';
import { TRACE_EXAMPLE, TRACE_EXAMPLE_TARGET } from '../../src/protocol/traceExample';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

interface ResultSummary {
  status: string;
  error?: string;
  id?: string;
  applied?: boolean;
  heldBack?: string;
  heldBackBy?: string;
  prompts?: { kind: string; prompt: string; source: string; before: string[]; after: string[]; beforeProbs: number[]; afterProbs: number[]; generationBefore: string; generationAfter: string }[];
  target?: { before: number; after: number; top1After: boolean };
  layersSource?: string;
  layerEffects?: number[];
}

type Handlers = { [M in keyof EditResultPanel['requests']]: (p: EditResultPanel['requests'][M]['params']) => Promise<EditResultPanel['requests'][M]['result']> };

/** Polls a panel's last render until `accept` takes it. */
async function rendered<T>(get: () => { lastRender: unknown } | undefined, accept: (s: T) => boolean, what: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = get()?.lastRender as T | undefined;
    if (s !== undefined && accept(s)) return s;
    assert.ok(Date.now() < deadline, `timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(s)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const close = (a: number[], b: number[], what: string) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4, `${what}[${i}]: ${x} vs ${b[i]}`));

describe('The guided path (issue 33)', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    for (const p of [api.panels.tracing(), api.panels.editResult(), api.panels.activations(), api.panels.diagnostics()]) p?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('trace → edit at the recommended layer → before/after → activations → diagnose → revert', async function () {
    this.timeout(240_000);
    // 1. Trace the default example, as the panel offers it.
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    const tracing = api.panels.tracing()!;
    const traced = waitFor(tracing.onDidRender, (s) => ['drawn', 'error'].includes((s as { status: string }).status), 'the causal trace', 90_000);
    tracing.notify('run', { ...TRACE_EXAMPLE });
    const t = (await traced) as { status: string; error?: string; recommendedLayer?: number; answer: string; corruptedProb: number; mlpAtSubjectLast: number[] };
    assert.equal(t.status, 'drawn', t.error);
    assert.ok(t.recommendedLayer !== undefined, 'the trace recommends a layer');
    const layer = t.recommendedLayer;
    console.log(`      guided: trace of "${TRACE_EXAMPLE.prompt}" answers ${JSON.stringify(t.answer)}, recommends layer ${layer}`);
    await screenshot('guided-1-trace');

    // 2. Edit the fact at that layer (ROME; the example's counterfactual target, a city of the model's world: no target warning).
    const request = { subject: TRACE_EXAMPLE.subject, prompt: TRACE_EXAMPLE.prompt.replace(TRACE_EXAMPLE.subject, '{}'), target: TRACE_EXAMPLE_TARGET };
    const check = await api.engine.client.request('edits/checkFact', { requests: [request] });
    assert.equal(check.targets[0].warning, undefined, 'no target warning (no modal dialog)');
    const bare = await api.engine.client.request('model/predict', { prompt: TRACE_EXAMPLE.prompt, top: 5 });
    const r = await vscode.commands.executeCommand<{ file: string; id: string; succeeded: boolean; applied: boolean; reason?: string; notApplied?: string; efficacy: { targetProb: number }[]; health: { warnings: string[] } }>('mechedit.editFact', { method: 'rome', layer, requests: [request] });
    assert.ok(r, 'Edit a Fact returned nothing');
    console.log(`      guided: ROME at layer ${layer}: took ${String(r.succeeded)}${r.reason ? ` (${r.reason})` : ''}, P(target) ${r.efficacy[0]?.targetProb.toFixed(4)}, applied ${String(r.applied)}${r.notApplied ? ` (${r.notApplied})` : ''}; warnings: ${r.health.warnings.join(' | ') || 'none'}`);
    const view = () => api.panels.editResult();
    let s = await rendered<ResultSummary>(view, (x) => x.status === 'error' || (x.status === 'drawn' && x.id === r.id), 'the Edit Result view', 60_000);
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.applied, r.applied);
    if (!r.applied) assert.ok(s.heldBack === r.notApplied && s.heldBackBy === 'run', `a held-back edit shows its run's reason first: ${s.heldBack}`);
    assert.deepEqual(s.prompts!.map((p) => p.kind), ['prompt', 'paraphrase', 'neighbour']);
    const own = s.prompts![0];
    assert.deepEqual(own.before, bare.next.map((n) => n.text), 'before: the bare model\'s own top-k');
    close(own.beforeProbs, bare.next.map((n) => Math.exp(n.logprob)), 'before P');
    assert.ok(own.generationBefore.length > 0 && own.generationAfter.length > 0, 'greedy generations before and after');
    assert.equal(s.layersSource, 'trace', 'the layer list comes from the trace of the same prompt');
    close(s.layerEffects!, t.mlpAtSubjectLast.map((p) => p - t.corruptedProb), 'layer effects: the trace\'s indirect effects (restored − corrupted)');
    // The view's effects are at the subject's last token; the recommendation (layerRule.ts) takes the strongest at any subject token.
    console.log(`      guided: view: before ${own.before.join('|')} → after ${own.after.join('|')}; greedy ${JSON.stringify(own.generationBefore)} → ${JSON.stringify(own.generationAfter)}; P(target) ${s.target!.before.toExponential(2)} → ${s.target!.after.toFixed(4)}`);
    console.log(`      guided: ${s.prompts!.slice(1).map((p) => `${p.kind} "${p.prompt}" (${p.source}): ${p.before[0]} → ${p.after[0]}`).join('; ')}`);
    await screenshot('guided-2-edit-result');
    assert.equal(r.succeeded, true, `the edit at the trace's recommended layer ${layer} takes (${r.reason ?? ''})`);
    const handlers = (view() as unknown as { handlers: Handlers }).handlers;
    if (!r.applied) {
      // Apply Anyway, from the view (the guided path goes on with the edit on the stack).
      await handlers.apply({ file: r.file });
      s = await rendered<ResultSummary>(view, (x) => x.status === 'drawn' && x.applied === true, 'the view showing the edit applied', 30_000);
    }
    const edited = await api.engine.client.request('model/predict', { prompt: TRACE_EXAMPLE.prompt, top: 5 });
    assert.deepEqual(own.after, edited.next.map((n) => n.text), 'after: the model\'s top-k with the edit on the stack');
    close(own.afterProbs, edited.next.map((n) => Math.exp(n.logprob)), 'after P');
    assert.ok(` ${TRACE_EXAMPLE_TARGET}`.startsWith(own.after[0]), `the new target leads after the edit: ${own.after[0]}`);

    // 3. Compare activations before and after the edit.
    await vscode.commands.executeCommand('mechedit.showActivations');
    const act = api.panels.activations()!;
    const drawn = waitFor(act.onDidRender, (x) => ['drawn', 'error'].includes((x as { status: string }).status), 'the activations', 60_000);
    act.notify('run', { prompt: TRACE_EXAMPLE.prompt, target: TRACE_EXAMPLE_TARGET, metric: 'targetProb', view: 'side' });
    const a = (await drawn) as { status: string; error?: string; charts: string[]; layers: number };
    assert.equal(a.status, 'drawn', a.error);
    assert.deepEqual(a.charts, ['before the edits', 'after the edits']);
    await screenshot('guided-3-activations');

    // 4. Diagnose, from the view.
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const diag = api.panels.diagnostics()!;
    const diagnosed = waitFor(diag.onDidRender, (x) => ['drawn', 'error'].includes((x as { status: string }).status) && (x as { kind?: string }).kind === 'edit', 'the edit\'s diagnosis', 60_000);
    await handlers.diagnose({ file: r.file });
    const dg = (await diagnosed) as { status: string; error?: string; bars: { key: string; before: number; after: number }[] };
    assert.equal(dg.status, 'drawn', dg.error);
    const eff = dg.bars.find((b) => b.key.startsWith('efficacy'))!;
    console.log(`      guided: diagnose: ${eff.key} ${eff.before} → ${eff.after}`);
    await screenshot('guided-4-diagnose');

    // 5. Revert, from the view; the model is back to its bare answers.
    view()!.panel.reveal();
    await handlers.revert({ id: r.id });
    const reverted = await rendered<ResultSummary>(view, (x) => x.status === 'drawn' && x.applied === false, 'the view showing the edit reverted', 60_000);
    // A reverted edit is not "held back" by its run any more: the view says what the policy would do.
    assert.equal(reverted.heldBackBy, r.health.warnings.length ? 'policy' : undefined);
    assert.deepEqual(api.engine.stack.items, []);
    const back = await api.engine.client.request('model/predict', { prompt: TRACE_EXAMPLE.prompt, top: 5 });
    assert.deepEqual(back.next.map((n) => n.text), own.before);
    await screenshot('guided-5-reverted');
  });
});
