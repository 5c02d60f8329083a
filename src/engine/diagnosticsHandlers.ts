// 'diagnostics/run': EVOKE or FINE-KED before / after, or ORT without / with the edits, for the
// Diagnostics panel (FINE-KED's runs are made like EVOKE's, by fineKed() below). EVOKE's two runs are ordinary run folders (cases.jsonl, summary.json, report.html) under
// outDir/<time>-<method>/{before,after}; 'before' is the model with every edit disabled, 'after'
// the stack as it was when the run started (method none) or each case's own edit (a fact editor)
// on top of it. The user's stack is never changed by a run: it runs on its own copy.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../core/runtime/model';
import type { EditStack } from '../core/edits/stack';
import { runEvoke, EVOKE_METHODS } from '../core/diagnostics/evokeRun';
import { runFineKed, FINE_KED_METHODS } from '../core/diagnostics/fineKedRun';
import { runProbes, PROBE_METHODS } from '../core/diagnostics/probesRun';
import { readEdit } from '../core/edits/editFile';
import { readCases } from '../core/diagnostics/runner';
import { runOrt } from '../core/diagnostics/ort';
import { ortTargets } from '../core/diagnostics/ortData';
import type { CaseResult } from '../core/diagnostics/evoke';
import { badInput } from '../core/errors';
import { checkRunFolder } from '../core/outputs';
import { labelOf } from '../protocol/registry';
import { describeRegistry } from '../core/registry';
import type { EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, DiagnosticsParams, ProbesDiagnostics } from '../protocol/diagnostics';
import type { RunProgress } from '../core/diagnostics/runner';
import type { Progress } from '../core/runtime/selftest';
import type { EngineServer } from './server';
import { flag, lambda, layerList, oneOf, optionalInt, optionalText, outputFolder } from './params';

function beside(m: LoadedModel, rel: string, given: string | undefined, what: string): string {
  const file = given ?? path.join(m.checkpoint.dir, 'eval', rel);
  if (!fs.existsSync(file)) throw badInput(given ? `${what} not found` : `The model has no eval/${rel}: give the ${what} to run`, { file, field: given ? undefined : 'data', hint: 'EVOKE takes evoke_main.json-format files; ORT a Target/<n>_<Name>/ folder.' });
  return file;
}

/** Checks the per-case settings of a run (layer for ROME, layers and λ for MEMIT). */
function perCaseSettings(p: DiagnosticsParams, n: number): { layer?: number; layers?: number[]; lambda?: number } {
  return {
    layer: optionalInt(p.layer, 'layer', 0, n - 1),
    layers: layerList(p.layers, n),
    lambda: lambda(p.lambda),
  };
}

/** `snapshot`: a request's own copy of the user's stack, which runs never change. */
export function registerDiagnostics(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('diagnostics/run', async (p: DiagnosticsParams, ctx) => {
    const s = snapshot();
    const m = s.model;
    const progress = ctx.progress(p.progressToken);
    const isCancelled = () => progress.cancelled;
    const t0 = performance.now();
    if (p.kind === 'ort') {
      const dirs = ortTargets(beside(m, 'ort', optionalText(p.target, 'target'), 'ORT target folder'));
      const targets: OrtDiagnostics['targets'] = [];
      for (const [i, dir] of dirs.entries()) {
        progress.report(i, dirs.length, `ORT: ${path.basename(dir)}`, true);
        const r = await runOrt(m, s, dir, { isCancelled });
        targets.push({ target: r.target, rows: r.rows, skipped: r.skipped });
      }
      return { targets, enabledEdits: s.list().filter((e) => e.enabled).length, seconds: (performance.now() - t0) / 1000 } satisfies OrtDiagnostics;
    }
    if (p.kind === 'fine-ked') return fineKed(s, p, progress);
    if (p.kind === 'probes') return probes(s, p, progress);
    if (p.kind !== 'evoke') throw badInput(`Unknown diagnostics kind ${JSON.stringify(p.kind)}`, { field: 'kind', hint: 'Use evoke, fine-ked, probes or ort.' });
    const outDir = outputFolder(p.outDir, 'outDir');
    const data = beside(m, 'evoke.json', optionalText(p.data, 'data'), 'EVOKE data file');
    const subjDefault = path.join(m.checkpoint.dir, 'eval', 'evoke_subj_spec.json');
    const subjSpec = optionalText(p.subjSpec, 'subjSpec') ?? (!p.data && fs.existsSync(subjDefault) ? subjDefault : undefined);
    const method = oneOf(p.method, 'method', EVOKE_METHODS, 'none');
    const lti = flag(p.lti, 'lti');
    const limit = optionalInt(p.limit, 'limit', 1, 10_000_000);
    // The per-case edits' settings: the user's (layer picked for edits, mechedit.memit.lambda), else the model's defaults.
    const settings = perCaseSettings(p, m.dims.layers);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const dir = path.join(outDir, `${stamp}-evoke-${method}${lti ? '-lti' : ''}`);
    checkRunFolder(dir, m.checkpoint, 'outDir'); // before the runs: not in the checkpoint, not over others' files
    const phase = (name: string) => phaseOf(progress, name);
    const common = { data, subjSpec, limit, isCancelled };
    const before = await runEvoke(m.bare(), { ...common, method: 'none', out: path.join(dir, 'before'), onProgress: phase('before the edits') });
    const after = await runEvoke(m, {
      ...common,
      method,
      out: path.join(dir, 'after'),
      baseline: path.join(dir, 'before'),
      edits: s.list().filter((e) => e.enabled).map((e) => e.id),
      perCase: method === 'none' ? undefined : { stack: s, lti, ...settings },
      onProgress: phase(method === 'none' ? 'with the edits' : `with each case's ${methodName(method)} edit`),
    });
    const cases = (d: string) => readCases<CaseResult>(path.join(d, 'cases.jsonl'));
    return {
      method: `${method}${lti ? '+lti' : ''}`,
      settings: method === 'none' ? undefined : settings,
      data: [data, ...(subjSpec ? [subjSpec] : [])],
      before: before.summary,
      after: after.summary,
      beforeCases: cases(before.out),
      afterCases: cases(after.out),
      out: { before: before.out, after: after.out },
      issues: after.issues.length,
      seconds: (performance.now() - t0) / 1000,
    } satisfies EvokeDiagnostics;
  });
}

/** Progress of one of a diagnostic's two runs, as "name: done/total cases, N s left". */
const phaseOf = (progress: Progress, name: string) => (x: RunProgress) =>
  progress.report(x.done, x.total, `${name}: ${x.done}/${x.total} cases${x.etaSeconds !== undefined ? `, ${Math.round(x.etaSeconds)} s left` : ''}`);

/** FINE-KED before (method none on the model without edits) and after (the stack, or each case's own edit on it). */
async function fineKed(s: EditStack, p: DiagnosticsParams, progress: Progress): Promise<FineKedDiagnostics> {
  const t0 = performance.now();
  const m = s.model;
  const isCancelled = () => progress.cancelled;
  const outDir = outputFolder(p.outDir, 'outDir');
  const data = beside(m, 'fine_ked.json', optionalText(p.data, 'data'), 'FINE-KED data file');
  const method = oneOf(p.method, 'method', FINE_KED_METHODS, 'none');
  const lti = flag(p.lti, 'lti');
  const limit = optionalInt(p.limit, 'limit', 1, 10_000_000);
  const settings = perCaseSettings(p, m.dims.layers);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const dir = path.join(outDir, `${stamp}-fine-ked-${method}${lti ? '-lti' : ''}`);
  checkRunFolder(dir, m.checkpoint, 'outDir');
  const before = await runFineKed(m.bare(), { data, limit, isCancelled, method: 'none', out: path.join(dir, 'before'), onProgress: phaseOf(progress, 'before the edits') });
  const after = await runFineKed(m, {
    data, limit, isCancelled, method,
    out: path.join(dir, 'after'),
    baseline: path.join(dir, 'before'),
    edits: s.list().filter((e) => e.enabled).map((e) => e.id),
    perCase: method === 'none' ? undefined : { stack: s, lti, ...settings },
    onProgress: phaseOf(progress, method === 'none' ? 'with the edits' : `with each case's ${methodName(method)} edit`),
  });
  return {
    kind: 'fine-ked',
    method: `${method}${lti ? '+lti' : ''}`,
    settings: method === 'none' ? undefined : settings,
    data,
    before: before.summary,
    after: after.summary,
    out: { before: before.out, after: after.out },
    issues: after.issues.length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Knowledge probes (core/diagnostics/probesRun.ts): method none probes the stack's enabled edits,
 * each on the cases its request matches (every case on the model without edits when none is
 * enabled); a fact editor each case's own edit on top of the stack. One run folder under outDir.
 */
async function probes(s: EditStack, p: DiagnosticsParams, progress: Progress): Promise<ProbesDiagnostics> {
  const m = s.model;
  const outDir = outputFolder(p.outDir, 'outDir');
  const cases = beside(m, 'probes.json', optionalText(p.data, 'data'), 'probe cases file');
  const method = oneOf(p.method, 'method', PROBE_METHODS, 'none');
  const lti = flag(p.lti, 'lti');
  const limit = optionalInt(p.limit, 'limit', 1, 10_000_000);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = path.join(outDir, `${stamp}-probes-${method}${lti ? '-lti' : ''}`);
  checkRunFolder(out, m.checkpoint, 'outDir');
  // The enabled edits' files give their requests (which cases each one is probed on).
  const edits = s.list().filter((e) => e.enabled && e.file).map((e) => readEdit(e.file!));
  const r = await runProbes(m, {
    cases, method, limit, out, edits,
    perCase: method === 'none' ? undefined : { stack: s, lti, ...perCaseSettings(p, m.dims.layers) },
    isCancelled: () => progress.cancelled,
    onProgress: (done, total) => progress.report(done, total, `knowledge probes: ${done}/${total} cases`),
  });
  return { kind: 'probes', method: `${method}${lti ? '+lti' : ''}`, data: cases, groups: r.groups, summary: r.summary, out, issues: r.issues.length, seconds: r.seconds };
}

/** A per-case method as users know it ("AlphaEdit", not "ALPHAEDIT"). */
function methodName(method: string): string {
  return labelOf(describeRegistry(), method);
}
