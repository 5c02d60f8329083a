// What a diagnostic is to the rest of MechEdit: a DiagnosticPlugin. Its descriptor (settings with
// types, defaults and bounds) is what the registry lists and the CLI derives its flags from; its
// run always goes through the crash-safe run-folder runner (runner.ts: run.json, cases.jsonl,
// summary.json; --resume, --shard); runDiagnostic (run.ts) checks the inputs once for the CLI and
// the engine alike and picks the defaults (data beside the checkpoint, the run folder's name).

import type { MethodDescriptor } from '../../../protocol/registry';
import type { LoadedModel } from '../../runtime/model';
import type { EditStack } from '../../edits/stack';
import type { CaseLineRules, RunConfig, RunProgress, Shard } from '../runner';
import type { PerCaseEdits } from '../caseEdit';

/** What a caller hears from a run: progress (`phase` names one of a comparison's runs), cancel, skipped records. */
export interface DiagnosticHooks {
  onProgress?: (p: RunProgress, phase?: string) => void;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
}

/** A run's options after runDiagnostic checked them against the descriptor. */
export interface DiagnosticOptions {
  /** Every setting of the descriptor, checked, defaults filled in (by the settings' names). */
  settings: Record<string, unknown>;
  /** The data file or folder: the one given, else the plugin's defaultData (it exists). */
  data: string;
  /** The run folder (checked by checkRunFolder: not in the checkpoint, not someone else's). */
  out: string;
  /** 'none' for a plugin without a method setting. */
  method: string;
  /** LTI for the per-case edits (false without them). */
  lti: boolean;
  limit?: number;
  shard?: Shard;
  resume: boolean;
  /** Each case's own edit on top of the run's stack: set when `method` is a fact editor. */
  perCase?: PerCaseEdits;
}

/** How mergeRuns reads a tool's cases.jsonl lines, orders them, and finishes the merged folder (issues, summary.json last, report). */
export interface MergeTool {
  rules: CaseLineRules<unknown>;
  /** Absent: the order the shards hold them in. */
  order?: (a: unknown, b: unknown) => number;
  /** Returns the part of the merge's result that is the tool's (its figures). */
  finish(out: string, config: RunConfig, results: unknown[], dirs: string[]): Record<string, unknown>;
}

export interface DiagnosticPlugin {
  /** family 'diagnostic', kind 'diagnostic'; `id` is the run.json tool and the CLI command. */
  descriptor: MethodDescriptor;
  /** The setting that names the data file or folder ('data'; ORT: 'target'). */
  dataSetting: string;
  /** The data beside the checkpoint (eval/…); a bad-input error naming it (field dataSetting) when it is not there. */
  defaultData(model: LoadedModel): string;
  /**
   * One run into o.out on `stack` (the run's own copy: never changed). Returns the CLI's JSON
   * result. Absent for a diagnostic with its own command (sequential).
   */
  run?(model: LoadedModel, stack: EditStack, o: DiagnosticOptions, hooks: DiagnosticHooks): Promise<unknown>;
  /**
   * The Diagnostics panel's result ('diagnostics/run'): EVOKE and FINE-KED compare a run on the
   * model with every edit disabled (o.out/before) with one on the stack (o.out/after); ORT and
   * probes are one run. Absent: the panel does not run it.
   */
  panel?(stack: EditStack, o: DiagnosticOptions, hooks: DiagnosticHooks): Promise<unknown>;
  /** Joins the shards of a run (mergeRuns); absent: its runs are not merged. */
  merge?: MergeTool;
  /** The HTML sections report.html shows for a finished run's summary.json (absent: no report). */
  reportSections?(summary: unknown): string[];
  /**
   * The JSON schema of one record of its run (schemas/runs/<id>.schema.json): a cases.jsonl line,
   * for sequential a curve.jsonl point. --resume and merge check every record against it.
   */
  records: object;
  /** The id of the panel view that draws its result. */
  renderer: string;
}
