// 'diagnostics/run': the Diagnostics panel's run of a diagnostic plugin (core/diagnostics/plugins):
// EVOKE and FINE-KED before (every edit disabled) / after (the stack, or each case's own edit on it),
// ORT without / with the edits, knowledge probes per edit; each a crash-safe run folder under
// outDir/<time>-<tool>-<method>[-lti]. The settings are checked by the plugin's descriptor, as
// for the CLI. The user's stack is never changed by a run: it runs on its own copy.

import type { EditStack } from '../core/edits/stack';
import { runDiagnosticPanel } from '../core/diagnostics/plugins/index';
import type { RunProgress } from '../core/diagnostics/runner';
import type { DiagnosticsParams, EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from '../protocol/diagnostics';
import type { Progress } from '../core/runtime/selftest';
import type { EngineServer } from './server';

/** Progress of a run as "phase: done/total cases, N s left" (the first report always goes through). */
const report = (progress: Progress) => (x: RunProgress, phase?: string) =>
  progress.report(x.done, x.total, `${phase ?? 'run'}: ${x.done}/${x.total} cases${x.etaSeconds !== undefined ? `, ${Math.round(x.etaSeconds)} s left` : ''}`, x.done === 0);

/** `snapshot`: a request's own copy of the user's stack, which runs never change. */
export function registerDiagnostics(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('diagnostics/run', async (p: DiagnosticsParams, ctx) => {
    const stack = snapshot();
    const progress = ctx.progress(p.progressToken);
    // Every field but these is a setting of the plugin's descriptor (an unknown one is ignored).
    const { kind, outDir, progressToken: _, ...raw } = (p ?? {}) as DiagnosticsParams;
    const hooks = { isCancelled: () => progress.cancelled, onProgress: report(progress) };
    return (await runDiagnosticPanel(kind, stack, raw, hooks, { outDir })) as EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics;
  });
}
