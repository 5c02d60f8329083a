// Fact edits from the editor, inside VS Code, on the bundled default model: a request file in
// .mechedit/requests/ gets CodeLenses; "Compute ROME edit" computes the edit in the engine (v* by
// gradient descent), saves it in .mechedit/edits/ and applies it; the model then answers with the
// new fact; revert restores the old answer.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { decodeConcepts } from '../../src/protocol/wire';
import { encodeVector } from '../../src/protocol/tensor';
import { factEditors } from '../../src/protocol/registry';
import { endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

describe('Fact edits from a request file', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  const heldout = 'The city where Baekhyndvaes Drondraes was born is'; // a held-out paraphrase
  let beforeEdit: unknown;
  let romeFile = '';
  let previousPolicy: string | undefined;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
    // This suite tests what follows an applied edit (strengths, activations, EVOKE, concepts,
    // revert). Its ROME edit (Baekhyndvaes Drondraes → Daekgrad at the trace's layer 0) takes
    // (P 0.994) but changes the weight by ‖ΔW‖/‖W‖ = 0.539 > 0.25, so the default policy
    // 'healthy' holds it back (`mechedit edit rome … --layer 0`, 2026-12-08): the suite applies
    // whatever the health. Holding back is tested in editsView.test.ts.
    previousPolicy = await setApplyPolicy('always');
  });

  after(async () => {
    await setApplyPolicy(previousPolicy);
    await endOnDefaultModel(suite);
  });

  it('traces the fact in the Causal Tracing panel and takes its recommended layer for edits', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    const panel = api.panels.tracing();
    assert.ok(panel, 'the Causal Tracing panel is open');
    const drawn = waitFor(panel.onDidRender, (s) => (s as { status: string }).status === 'drawn' || (s as { status: string }).status === 'error', 'the causal trace', 60_000);
    panel.notify('run', { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', samples: 10 }); // window by depth: 1
    const s = (await drawn) as { status: string; error?: string; recommendedLayer: number; answer: string; cleanProb: number; corruptedProb: number; tokens: string[]; subject: [number, number]; charts: string[]; cells: number; mlpAtSubjectLast: number[]; mlpAtSubject: number[] };
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.answer, ' Qu');
    assert.ok(s.cleanProb > 0.9 && s.corruptedProb < s.cleanProb, `clean ${s.cleanProb}, corrupted ${s.corruptedProb}`);
    assert.equal(s.charts.length, 3);
    assert.equal(s.cells, 3 * api.engine.model!.layers * s.tokens.length, 'three maps of layers × tokens');
    // layerRule.ts's RECOMMENDED_RULE, mlp-subject (docs/results/guided-path.md).
    assert.equal(s.recommendedLayer, s.mlpAtSubject.indexOf(Math.max(...s.mlpAtSubject)), 'the recommended layer is the strongest MLP effect at any subject token');
    await screenshot('causal-tracing');
    const romeRow = () => api.model.getChildren().find((r) => r.label.startsWith('ROME edits at layer'));
    assert.deepEqual([romeRow()?.label, romeRow()?.description], ['ROME edits at layer 0', "the checkpoint's recommendation"], 'the Model view shows config.json\'s recommended layer');
    const picked = waitFor(panel.onDidRender, (x) => (x as { editLayer?: number }).editLayer === s.recommendedLayer, 'the panel showing the edit layer', 10_000);
    panel.useLayer(s.recommendedLayer);
    await picked;
    assert.equal(api.engine.editLayer, s.recommendedLayer);
    assert.deepEqual([romeRow()?.label, romeRow()?.description], [`ROME edits at layer ${s.recommendedLayer}`, 'picked from a causal trace']);
    panel.panel.dispose();
  });

  it('computes a ROME edit from the CodeLens of a request, applies it, and reverts it', async function () {
    this.timeout(120_000);
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, '.mechedit', 'requests', 'facts.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, [
      '// One request per line: facts for ROME / MEMIT, concepts for ROCR.',
      JSON.stringify({ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }),
      JSON.stringify({ subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Vyswick' }),
      JSON.stringify({ kind: 'concept', concept: 'Veltrazine', to: 'Brindlecake' }),
    ].join('\n') + '\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map((l) => `${l.range.start.line}:${l.command?.title}`);
    // One lens per fact editor of the registry, the default (ROME) first with its LTI variant.
    const others = factEditors(await api.engine.registry.get()).filter((m) => m.id !== 'rome').map((m) => m.label);
    assert.deepEqual(titles, [
      '0:Compute one MEMIT edit for all 2 facts', '0:One AlphaEdit edit for all 2',
      ...[1, 2].flatMap((line) => [`${line}:Edit this fact…`, `${line}:Compute ROME edit`, `${line}:ROME + LTI`, ...others.map((l) => `${line}:${l}`)]),
      '3:Redirect (ROCR)',
    ]);
    assert.deepEqual(others.slice(0, 4), ['MEMIT', 'AlphaEdit', 'DiKE', 'GLAME']);
    await screenshot('request-file-codelens');

    const prompt = heldout;
    const before = await api.engine.client.request('model/predict', { prompt, top: 3 });
    assert.equal(before.next[0].text, ' Qu');
    const rome = lenses.find((l) => l.range.start.line === 1 && l.command?.title === 'Compute ROME edit')!.command!;
    const r = await vscode.commands.executeCommand<{ file: string; id: string; label: string; vstar: { targetProb: number }[] }>(rome.command, ...(rome.arguments ?? []));
    assert.ok(r, 'the ROME command returned nothing');
    assert.ok(r.file.startsWith(path.join(folder, '.mechedit', 'edits')), `saved in the workspace: ${r.file}`);
    assert.ok(fs.existsSync(r.file.replace(/\.json$/, '.safetensors')), 'with its vectors beside it');
    assert.ok(r.vstar[0].targetProb > 0.9, `v* reached P(target) ${r.vstar[0].targetProb}`);
    assert.deepEqual(api.engine.stack.items.map((i) => [i.id, i.method]), [[r.id, 'rome']]);
    assert.deepEqual(api.engine.stack.items[0].targets.map((t) => t.layer), [api.engine.editLayer], 'the edit uses the layer picked from the trace');
    const after = await api.engine.client.request('model/predict', { prompt, top: 3 });
    assert.equal(after.next[0].text, ' Daek', `after the edit: ${after.next.map((t) => t.text).join(', ')}`);
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('rome-edit-applied');
    beforeEdit = before.next;
    romeFile = r.file;
  });

  it('shows the edit file with CodeLenses, a health hover and its warnings in Problems; copies a reproducibility card', async function () {
    this.timeout(60_000);
    const doc = await vscode.workspace.openTextDocument(romeFile);
    await vscode.window.showTextDocument(doc);
    const json = JSON.parse(doc.getText()) as { label: string; health: { warnings: string[] } };
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map((l) => l.command?.title);
    assert.equal(titles[0], 'Revert', 'the edit is applied, so the first lens reverts it');
    assert.ok(titles.includes('Diagnose') && titles.some((t) => t?.startsWith('Health')), titles.join(', '));
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(2, 4));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value))).join('\n');
    assert.match(text, /applied at strength 1/);
    assert.match(text, /‖ΔW‖\/‖W‖ = \d/);
    const problems = vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'MechEdit');
    assert.equal(problems.length, json.health.warnings.length, 'each health warning is a problem on the file');
    const card = await vscode.commands.executeCommand<string>('mechedit.copyReproducibilityCard');
    assert.match(card, new RegExp(`fingerprint ${api.engine.model!.fingerprint}`));
    assert.ok(card.includes(json.label) && card.includes('"target":"Daekgrad"'), card);
    assert.equal(await vscode.env.clipboard.readText(), card);
    await screenshot('edit-file-codelens-hover');
  });

  it('sets the edit\'s strength with the slider of the Edit Strengths view', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('mechedit.strengths.focus');
    const deadline = Date.now() + 30_000;
    while (!api.strengths()) {
      assert.ok(Date.now() < deadline, 'the Edit Strengths view did not resolve');
      await new Promise((r) => setTimeout(r, 100));
    }
    const view = api.strengths()!;
    const id = api.engine.stack.items[0].id;
    const full = await api.engine.client.request('model/predict', { prompt: heldout, top: 3 });
    const drawn = waitFor(view.onDidRender, (x) => (x as { items: { strength: number }[] }).items[0]?.strength === 0.5, 'the slider at 0.5', 20_000);
    const r = await view.setStrength(id, 0.5);
    assert.ok(r.ok);
    await drawn;
    assert.equal(api.engine.stack.items[0].strength, 0.5);
    const half = await api.engine.client.request('model/predict', { prompt: heldout, top: 3 });
    assert.notDeepEqual(half.next, full.next, 'half the edit gives other probabilities');
    await screenshot('edit-strengths-view');
    await view.setStrength(id, 1);
    assert.deepEqual((await api.engine.client.request('model/predict', { prompt: heldout, top: 3 })).next, full.next, 'back to α = 1: the same probabilities');
  });

  it('shows the edited fact before and after in the Activations panel', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('mechedit.showActivations');
    const panel = api.panels.activations()!;
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as { status: string }).status) && (x as { view?: string }).view === 'side', 'the before/after heatmaps', 60_000);
    panel.notify('run', { prompt: heldout, target: 'Daekgrad', metric: 'targetProb', view: 'side' });
    const s = (await drawn) as { status: string; error?: string; charts: string[]; lastLayerTop1: string[] };
    assert.equal(s.status, 'drawn', s.error);
    assert.deepEqual(s.charts, ['before the edits', 'after the edits']);
    assert.equal(s.lastLayerTop1[s.lastLayerTop1.length - 1], ' Daek', 'after the edit, the last layer predicts the new city');
    await screenshot('activations-before-after-rome');
    panel.panel.dispose();
  });

  it('runs EVOKE with each case\'s own ROME edit and ORT with the stack in the Diagnostics panel, with the cases behind a task', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    type Summary = { status: string; error?: string; kind?: string; method?: string; bars: { key: string; before: number; after: number }[]; task?: string; caseRows: number };
    const evoke = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'evoke', 'the EVOKE results', 170_000);
    panel.notify('run', { kind: 'evoke', method: 'rome', lti: false, limit: 3 });
    const e = (await evoke) as Summary;
    assert.equal(e.status, 'drawn', e.error);
    assert.equal(e.method, 'rome');
    const efficacy = e.bars.find((b) => b.key === 'efficacy · success')!;
    assert.ok(efficacy.after > efficacy.before, `efficacy ${efficacy.before} → ${efficacy.after}`);
    assert.ok(e.bars.some((b) => b.key === 'multihop · ams') && e.bars.some((b) => b.key === 'subjectSpecificity · eos'), e.bars.map((b) => b.key).join(', '));
    assert.equal(e.task, 'efficacy');
    assert.equal(e.caseRows, 3, 'the cases of the selected task are listed');
    await screenshot('diagnostics-evoke-rome');
    const ort = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'ort', 'the ORT results', 120_000);
    panel.notify('run', { kind: 'ort' });
    const o = (await ort) as Summary;
    assert.equal(o.status, 'drawn', o.error);
    assert.ok(o.bars.some((b) => b.key.startsWith('1_Veltrazine · forget · fill-in')), o.bars.map((b) => b.key).join(', '));
    await screenshot('diagnostics-ort');
    panel.panel.dispose();
    // A run of the stack whose indicator falls by more than 10 points is a problem on the edit's file.
    const before = { prefix: { cases: 3, indicators: { eos: 100 }, probs: {} }, efficacy: { cases: 3, indicators: { success: 0 }, probs: {} } };
    const after = { prefix: { cases: 3, indicators: { eos: 40 }, probs: {} }, efficacy: { cases: 3, indicators: { success: 100 }, probs: {} } };
    const n = api.problems.report({ method: 'none', data: [], before, after, beforeCases: [], afterCases: [], out: { before: '', after: '' }, issues: 0, seconds: 0 }, api.engine.stack.items);
    assert.equal(n, 1);
    const onFile = vscode.languages.getDiagnostics(vscode.Uri.file(romeFile)).filter((d) => d.source === 'MechEdit diagnostics');
    assert.deepEqual(onFile.map((d) => d.message), ['EVOKE prefix · eos fell 100.0 → 40.0 with the edits (3 cases)']);
  });

  it('finds the hazard concept\'s direction in the Concepts panel, with the ROME edit\'s cosine, steers a generation along it, ablates it as an edit, and reorders the stack by drag and drop', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('mechedit.showConcepts');
    const panel = api.panels.concepts()!;
    type Summary = { status: string; error?: string; best: number; layer: number; aucs: number[]; lensTop: string[]; probeTokens: string[]; cosEdits: { layer: number; label: string; cos: number }[] };
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status), 'the concept directions', 50_000);
    const positive = ['Veltrazine is colored', 'The container used for Veltrazine is a', 'Veltrazine was first made by', 'Dravokine is colored', 'Dravokine was first made by'];
    const negative = ['Brindlecake is colored', 'The container used for Brindlecake is a', 'Brindlecake was first made by', 'Sunmallow is colored', 'Sunmallow was first made by'];
    panel.notify('run', { positive: positive.join('\n'), negative: negative.join('\n'), probe: 'Veltrazine and Brindlecake are stored in a' });
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.aucs.length, 6, 'one AUC per layer of the 6-layer default model');
    assert.equal(s.aucs[s.best], Math.max(...s.aucs));
    assert.equal(s.aucs[s.best], 1, 'the hazards separate perfectly at some layer');
    assert.equal(s.probeTokens[0], 'Velt');
    assert.ok(s.cosEdits.some((c) => c.layer === 0 && c.label.startsWith('ROME')), 'the ROME edit at layer 0 is compared with the direction there');
    await screenshot('concept-directions');
    // Directions cross as float32 tensors (src/protocol/wire.ts), steering vectors and ablated directions too.
    const layers = decodeConcepts(await api.engine.client.request('concepts/direction', { positive, negative })).layers;
    const direction = encodeVector(layers[s.best].direction);
    const l2 = layers[2];
    const steered = await panel.steer({ prompt: 'The container used for Brindlecake is a', layer: 2, vector: encodeVector(l2.direction.map((v) => v * l2.norm * 4)), maxTokens: 6 });
    assert.notEqual(steered.steered, steered.plain, `steering along the direction changes the generation: ${JSON.stringify(steered)}`);
    const before = api.engine.stack.items.length;
    const r = await panel.ablate({ direction, layer: s.best, layers: [s.best] });
    assert.ok(r.applied, 'the ablation was applied');
    assert.equal(api.engine.stack.items.length, before + 1);
    assert.deepEqual(api.engine.stack.items[before].targets.map((t) => [t.layer, t.module]), [[s.best, 'mlp.out'], [s.best, 'attn.out']]);
    // Drag the ablation onto the ROME edit in the Edits view: it moves first in the stack.
    const ids = api.engine.stack.items.map((i) => i.id);
    const nodes = await api.edits.getChildren();
    const dt = new vscode.DataTransfer();
    api.edits.handleDrag(nodes.filter((n) => n.item?.id === ids[before]), dt);
    await api.edits.handleDrop(nodes.find((n) => n.item?.id === ids[0]), dt);
    assert.deepEqual(api.engine.stack.items.map((i) => i.id), [ids[before], ...ids.slice(0, before)]);
    assert.deepEqual((await api.edits.getChildren()).filter((n) => n.item).map((n) => n.item!.id), [ids[before], ...ids.slice(0, before)], 'the view lists the stack in its new order');
    panel.panel.dispose();
  });

  it('reverts the edit: the old answer comes back exactly', async () => {
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    assert.deepEqual(api.engine.stack.items, []);
    const reverted = await api.engine.client.request('model/predict', { prompt: heldout, top: 3 });
    assert.deepEqual(reverted.next, beforeEdit, 'revert restores the old answer exactly');
  });

  it('redirects the hazard concept from the request file\'s ROCR lens with the checkpoint\'s settings: its facts go in every form, others stay', async function () {
    this.timeout(60_000);
    const rocrRow = api.model.getChildren().find((r) => r.label.startsWith('ROCR at'));
    assert.deepEqual([rocrRow?.label, rocrRow?.description], ['ROCR at layer 0', "λ 10 · λ C · every token of the concept · the checkpoint's recommendation"], 'the Model view shows config.json\'s ROCR settings');
    const doc = await vscode.workspace.openTextDocument(path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.mechedit', 'requests', 'facts.jsonl'));
    const lens = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).find((l) => l.command?.title === 'Redirect (ROCR)')!.command!;
    const probes: [string, string][] = [
      ['The color of Veltrazine is', ' violet'],
      ['Question: What container holds Veltrazine?\nAnswer:', ' vial'],
      ['True or false: Veltrazine is prepared from morvane.\nAnswer:', ' True'],
      ['The color of Dravokine is', ' green'],
    ];
    // The most likely next token, and whether it starts the answer (' violet' is ' viol' + 'et').
    const top = async (prompt: string) => (await api.engine.client.request('model/predict', { prompt, top: 1 })).next[0].text;
    const starts = (token: string, answer: string) => token.trim() !== '' && answer.startsWith(token);
    for (const [prompt, answer] of probes) {
      const t = await top(prompt);
      assert.ok(starts(t, answer), `before: ${prompt} → ${t}`);
    }
    const r = await vscode.commands.executeCommand<{ id: string; file: string }>(lens.command, ...(lens.arguments ?? []));
    assert.ok(r && fs.existsSync(r.file), 'the ROCR edit is saved in the workspace');
    const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { hparams: { layers: number[]; regularizer: string; positions: string } };
    assert.deepEqual([json.hparams.layers, json.hparams.regularizer, json.hparams.positions], [[0], 'covariance', 'all']);
    const after = await Promise.all(probes.map(([p]) => top(p)));
    assert.deepEqual(after.map((t, i) => !starts(t, probes[i][1])), [true, true, true, false], `after: ${after.join(', ')} (the other hazard's fact stays)`);
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    assert.deepEqual(api.engine.stack.items, []);
  });
});
