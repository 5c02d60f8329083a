// The Edits view under the default apply policy (issue 33, defects 1, 3 and 8): an unhealthy edit
// is saved, not applied, and marked on its row (icon, the reason first in the tooltip), and Apply
// Anyway applies it; every row shows its label (a reverted edit keeps it), its id in the tooltip;
// failed and broken files are marked, a broken file gets a Problems entry when it is saved; the
// title bar's filter hides failed edits; each kind of row gets the menu entries that fit it.
// The files this suite writes are removed afterwards.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { FactEditResult } from '../../src/extension/factEdits';
import type { EditNode } from '../../src/extension/views/editsView';
import { screenshot } from './screenshot';
import { endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

interface MenuEntry {
  command: string;
  when?: string;
  group?: string;
}

/** Evaluates the Edits view's row `when` clauses of package.json for one contextValue (a model open). */
function rowMenu(viewItem: string): MenuEntry[] {
  const pkg = vscode.extensions.all.find((e) => e.packageJSON?.name === 'mechedit')!.packageJSON as { contributes: { menus: Record<string, MenuEntry[]> } };
  const holds = (term: string): boolean => {
    const t = term.trim();
    if (t === 'view == mechedit.edits' || t === 'mechedit.modelLoaded') return true;
    const eq = /^viewItem == (\S+)$/.exec(t);
    if (eq) return viewItem === eq[1];
    const re = /^viewItem =~ \/(.+)\/$/.exec(t);
    if (re) return new RegExp(re[1]).test(viewItem);
    return false; // another view, or a key this evaluator does not know
  };
  return pkg.contributes.menus['view/item/context'].filter((m) => (m.when ?? '').split('&&').every(holds));
}

describe('Edits view: held-back edits, labels, row menus, the failed-edit filter', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  let previousPolicy: string | undefined;
  const written: string[] = [];
  let unhealthy: FactEditResult;

  /** The view's row of a file, once its scan lists it (file events can lag: scans again, 10 s at most). */
  async function rowOf(file: string): Promise<EditNode> {
    for (let i = 0; i < 20; i++) {
      const node = api.edits.getChildren().find((n) => n.uri?.fsPath === file);
      if (node) return node;
      await api.edits.refresh();
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`the Edits view does not list ${path.basename(file)}`);
  }
  const tooltip = (t: vscode.TreeItem) => (t.tooltip as vscode.MarkdownString).value;
  const icon = (t: vscode.TreeItem) => (t.iconPath as vscode.ThemeIcon | undefined)?.id;
  const ids = () => api.engine.stack.items.map((i) => i.id);

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
    previousPolicy = await setApplyPolicy(undefined); // the default, 'healthy'
  });

  after(async () => {
    await vscode.commands.executeCommand('mechedit.showFailedEdits');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const f of written) for (const x of [f, f.replace(/\.json$/, '.safetensors')]) fs.rmSync(x, { force: true });
    await setApplyPolicy(previousPolicy);
    await endOnDefaultModel(suite);
  });

  it('an unhealthy edit under the default policy is saved, not applied, marked on its row with the reason first; Apply Anyway applies it', async function () {
    this.timeout(90_000);
    const prompt = 'Nobody Here was born in';
    const before = await api.engine.client.request('model/predict', { prompt, top: 3 });
    // A subject the bundled model does not know (issue 33's example); force: as after "Compute Anyway".
    unhealthy = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Nobody Here', prompt: '{} was born in', target: 'Grikport' }], layer: 0, force: true });
    const r = unhealthy;
    written.push(r.file);
    const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { health: { targets: { relNorm: number }[]; klNeutral: number; warnings: string[] } };
    console.log(`ROME "Nobody Here" → Grikport at layer 0: P(target) ${r.efficacy[0].targetProb.toFixed(3)}, ‖ΔW‖/‖W‖ ${json.health.targets[0].relNorm.toFixed(3)}, KL ${json.health.klNeutral.toFixed(3)}; ${r.notApplied}`);
    assert.equal(r.succeeded, true, 'it took: health alone holds it back');
    assert.ok(json.health.targets[0].relNorm > 0.25, 'the edit is past the ‖ΔW‖/‖W‖ threshold (else this test checks nothing)');
    assert.equal(r.applied, false);
    assert.match(r.notApplied ?? '', /^not applied: unhealthy edit \(layer 0 mlp\.out: ‖ΔW‖\/‖W‖ = 0\.\d+ > 0\.25/);
    assert.deepEqual(r.offered, ['Apply Anyway', 'Open']);
    assert.deepEqual(ids(), [], 'nothing on the stack');
    assert.deepEqual((await api.engine.client.request('model/predict', { prompt, top: 3 })).next, before.next, 'the model answers as before');

    const row = api.edits.getTreeItem(await rowOf(r.file));
    assert.equal(row.label, r.label, 'the row shows the label, not the id');
    assert.equal(icon(row), 'warning');
    assert.match(String(row.description), /^unhealthy · not applied/);
    assert.ok(tooltip(row).startsWith(`**unhealthy: ${json.health.warnings.join('; ')}** (not applied; *Apply Anyway* on its row)`), tooltip(row));
    assert.ok(tooltip(row).includes(`id \`${r.id}\``), 'the id is in the tooltip');
    assert.equal(row.contextValue, 'mechedit.edit.heldBack');
    const menu = rowMenu('mechedit.edit.heldBack');
    assert.ok(menu.some((m) => m.command === 'mechedit.applyEditAnyway' && m.group === 'inline'), 'Apply Anyway on the row itself');
    assert.ok(menu.some((m) => m.command === 'mechedit.applyEditAnyway' && m.group !== 'inline'), 'and in its context menu');
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('edits-held-back');

    await vscode.commands.executeCommand('mechedit.applyEditAnyway', await rowOf(r.file));
    assert.deepEqual(ids(), [r.id], 'Apply Anyway puts it on the stack');
    const after = await api.engine.client.request('model/predict', { prompt, top: 3 });
    assert.ok(' Grikport'.startsWith(after.next[0].text), `with it, the model answers the target: ${after.next.map((t) => t.text).join(', ')}`);
    const applied = api.edits.getTreeItem(await rowOf(r.file));
    assert.deepEqual([applied.label, applied.contextValue, applied.checkboxState], [r.label, 'mechedit.edit.applied', vscode.TreeItemCheckboxState.Checked]);
    assert.equal(icon(applied), 'warning', 'applied anyway, it keeps its mark');
    assert.ok(tooltip(applied).startsWith(`**unhealthy: ${json.health.warnings[0]}`) && tooltip(applied).includes('(applied anyway)'), tooltip(applied));
    assert.match(String(applied.description), /^unhealthy · active/);
    await new Promise((res) => setTimeout(res, 1000)); // the tree redraws after the stack's event
    await screenshot('edits-apply-anyway');

    await vscode.commands.executeCommand('mechedit.revertEdit', await rowOf(r.file));
    assert.deepEqual(ids(), []);
    const reverted = api.edits.getTreeItem(await rowOf(r.file));
    assert.deepEqual([reverted.label, reverted.contextValue], [r.label, 'mechedit.edit.heldBack'], 'a reverted edit keeps its label and its mark');
  });

  it('marks failed and broken files, gives a file broken on save a Problems entry, hides failed edits behind the filter, and fits each row\'s menu', async function () {
    this.timeout(90_000);
    // A failed edit: Zürich splits into byte pieces and does not take at layer 0 (honest.test.ts).
    const failed = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Zürich' }], layer: 0, force: true });
    written.push(failed.file);
    assert.deepEqual([failed.succeeded, failed.applied], [false, false]);
    const failedRow = api.edits.getTreeItem(await rowOf(failed.file));
    assert.equal(failedRow.label, failed.label);
    assert.equal(icon(failedRow), 'error');
    assert.match(String(failedRow.description), /^did not take · not applied/);
    assert.ok(tooltip(failedRow).startsWith(`**did not take: ${failed.reason}**`), tooltip(failedRow));

    // A copy of the unhealthy edit, broken on save: Problems names it, and its row is marked broken, with no check box.
    const broken = path.join(path.dirname(unhealthy.file), 'broken-on-save.json');
    written.push(broken);
    fs.copyFileSync(unhealthy.file, broken);
    const doc = await vscode.workspace.openTextDocument(broken);
    await vscode.window.showTextDocument(doc);
    const we = new vscode.WorkspaceEdit();
    we.replace(doc.uri, new vscode.Range(doc.lineCount - 2, 0, doc.lineCount, 0), '');
    await vscode.workspace.applyEdit(we);
    await doc.save();
    let problem: vscode.Diagnostic | undefined;
    for (let i = 0; i < 50 && !problem; i++, await new Promise((r) => setTimeout(r, 100))) problem = vscode.languages.getDiagnostics(doc.uri).find((d) => d.source === 'MechEdit edit file');
    assert.match(problem?.message ?? '', /^Not valid JSON/, 'the saved broken file has a problem');
    await api.edits.refresh();
    const brokenRow = api.edits.getTreeItem(await rowOf(broken));
    assert.deepEqual([icon(brokenRow), brokenRow.contextValue, brokenRow.checkboxState], ['error', 'mechedit.edit.broken', undefined]);
    assert.ok(tooltip(brokenRow).startsWith('**broken: Not valid JSON'), tooltip(brokenRow));

    // The filter: failed files go, unhealthy and broken ones stay; the view says how many are hidden.
    await vscode.commands.executeCommand('mechedit.hideFailedEdits');
    const shown = api.edits.getChildren().map((n) => n.uri?.fsPath);
    assert.ok(!shown.includes(failed.file) && shown.includes(unhealthy.file) && shown.includes(broken), shown.join(', '));
    assert.match(api.edits.tree.message ?? '', /^\d+ failed edit\(s\) hidden by the filter/);
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('edits-filter');
    await vscode.commands.executeCommand('mechedit.showFailedEdits');
    assert.ok(api.edits.getChildren().some((n) => n.uri?.fsPath === failed.file), 'shown again');
    assert.equal(api.edits.tree.message, undefined);
    await screenshot('edits-labels');

    // The menus: what each row offers (other entries may be there too).
    const has = (viewItem: string) => new Set(rowMenu(viewItem).map((m) => m.command));
    const everyRow = ['mechedit.revealEditFile'];
    const withFile = [...everyRow, 'mechedit.diagnoseEdit', 'mechedit.copyReproducibilityCard'];
    const expect: Record<string, [string[], string[]]> = {
      'mechedit.edit': [[...withFile, 'mechedit.applyEdit', 'mechedit.renameEditLabel', 'mechedit.deleteEditFile'], ['mechedit.revertEdit', 'mechedit.applyEditAnyway']],
      'mechedit.edit.heldBack': [[...withFile, 'mechedit.applyEditAnyway', 'mechedit.renameEditLabel', 'mechedit.deleteEditFile'], ['mechedit.applyEdit', 'mechedit.revertEdit']],
      'mechedit.edit.applied': [[...withFile, 'mechedit.revertEdit', 'mechedit.setEditStrength'], ['mechedit.deleteEditFile', 'mechedit.renameEditLabel', 'mechedit.applyEdit']],
      'mechedit.edit.broken': [[...everyRow, 'mechedit.deleteEditFile'], ['mechedit.applyEdit', 'mechedit.applyEditAnyway', 'mechedit.diagnoseEdit', 'mechedit.copyReproducibilityCard']],
    };
    for (const [viewItem, [offered, notOffered]] of Object.entries(expect)) {
      const menu = has(viewItem);
      for (const c of offered) assert.ok(menu.has(c), `${viewItem} offers ${c}`);
      for (const c of notOffered) assert.ok(!menu.has(c), `${viewItem} does not offer ${c}`);
    }

    // From a row: Copy Card is that edit's alone; Delete refuses an applied edit (revert first).
    const card = await vscode.commands.executeCommand<string>('mechedit.copyReproducibilityCard', await rowOf(failed.file));
    assert.ok(card.includes('## Edit\n') && card.includes(`### ${failed.label}`) && card.includes('"target":"Zürich"') && card.includes('- not applied'), card);
    assert.ok(!card.includes('## Edit stack'));
    await vscode.commands.executeCommand('mechedit.applyEditAnyway', await rowOf(unhealthy.file));
    await vscode.commands.executeCommand('mechedit.deleteEditFile', await rowOf(unhealthy.file));
    assert.ok(fs.existsSync(unhealthy.file), 'an applied edit\'s file is not deleted');
    assert.deepEqual(ids(), [unhealthy.id]);
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
  });
});
