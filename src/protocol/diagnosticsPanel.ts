// The Diagnostics panel's protocol (re-exported by ./panels.ts): EVOKE, FINE-KED, ORT and probes
// results, the run history, and what the panel keeps.

import type { PanelProtocol, SaveRequest } from './webview';
import type { DiagnosticsMethod, EditDiagnostics, EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from './diagnostics';
import type { MethodChoice } from './registry';
import type { SweepNotifications, SweepRequests } from './sweep';

/** The Diagnostics panel: EVOKE and ORT results as charts, before vs after, with the cases behind them. */
export interface DiagnosticsPanel extends PanelProtocol {
  requests: {
    /**
     * Runs EVOKE or ORT in the engine on the model's eval/ suites (progress and cancel in a
     * notification; per-case edits use the layer picked for edits and the mechedit.<method>.<setting> settings), or
     * diagnoses one edit file alone ('edit', "Diagnose This Edit").
     */
    run: { params: { kind: 'evoke' | 'ort' | 'fine-ked' | 'probes' | 'edit'; method?: DiagnosticsMethod; lti?: boolean; preset?: string; limit?: number; file?: string }; result: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics | EditDiagnostics };
    save: SaveRequest;
    /** Opens a run folder's self-contained report.html in a webview tab (desktop VS Code and code-server). */
    openReport: { params: { folder: string }; result: { opened: boolean } };
    /** Reads kept runs of the history (by file) whole: for "Show" and "Compare". */
    loadRuns: { params: { files: string[] }; result: { runs: DiagnosticsLast[] } };
  } & SweepRequests;
  notifications: {
    context: DiagnosticsContext;
    /** Sets the form and runs (commands and tests use it); 'edit' diagnoses the edit file `file`. */
    run: Partial<DiagnosticsPanelState> & { kind: 'evoke' | 'ort' | 'fine-ked' | 'probes' | 'edit'; file?: string };
    /** The last results (complete snapshot), sent when the webview starts: opened, revived after a reload, shown again. */
    last: DiagnosticsLast;
    /** The kept runs, newest first: sent when the webview starts and after every run. */
    history: DiagnosticsHistory;
    /** Compares two kept runs (files of DiagnosticsHistory.runs; absent: the ones picked, by default the two newest) side by side, as the Compare button does (tests use it). */
    compareRuns: { a?: string; b?: string };
  } & SweepNotifications;
}

/**
 * What a kept run was, in brief (written with it, so that the list needs no result read): the
 * diagnostic, its method ('none': the edit stack as it is), the labels of the enabled edits when it
 * ran, the per-case preset, the case limit.
 */
export interface DiagnosticsBrief {
  kind: 'evoke' | 'ort' | 'fine-ked' | 'probes' | 'edit';
  method?: string;
  edits: string[];
  /** "Diagnose This Edit": the edit file diagnosed. */
  file?: string;
  limit?: number;
}

/** One kept run of the Diagnostics panel (.mechedit/diagnostics/history/<time>-<kind>.json). */
export interface DiagnosticsRunEntry {
  file: string;
  savedAt: string;
  brief: DiagnosticsBrief;
  model?: string;
}

export interface DiagnosticsHistory {
  /** Newest first (at most HISTORY_LISTED). */
  runs: DiagnosticsRunEntry[];
  /** Where they are kept. */
  folder: string;
  /** Files that could not be read as kept runs (named, not dropped silently). */
  unreadable?: string[];
}

/** The Diagnostics panel's last results as the host kept them (.mechedit/diagnostics/last.json). */
export interface DiagnosticsLast {
  /** Absent when they could not be read back; `error` says why. */
  result?: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics | EditDiagnostics;
  /** When they were computed (ISO 8601). */
  savedAt: string;
  /** The model folder they were computed on. */
  model?: string;
  /** Read back from disk (after a reload, or the panel closed and opened again), not computed in this panel. */
  restored: boolean;
  /** Where they were read from. */
  file?: string;
  error?: string;
}

export interface DiagnosticsContext {
  model?: { path: string; layers: number; architecture: string };
  enabledEdits: number;
  /** The labels of the enabled edits, in stack order (the mode line names them). */
  enabledLabels?: string[];
  /** The fact editors that can make each case's own edit (the registry's with capabilities.perCase); empty until the engine has described its registry. */
  methods: MethodChoice[];
  /** The layer picked for edits: per-case edits of the methods that take a `layer` use it; absent: the model's default. */
  editLayer?: number;
  /** Per-method settings from the VS Code settings (mechedit.<method>.<setting>) that per-case edits use; a value left unset is the method's default. */
  methodSettings: ConfiguredSetting[];
  /** The diagnostics (by id) whose per-case edits take a preset (their registry descriptor has a `preset` setting); the others run each method's default preset. */
  presetKinds?: string[];
}

/** What the Concepts panel shows of the engine: the open model and its enabled edits. */
export type ConceptsContext = Pick<DiagnosticsContext, 'model' | 'enabledEdits'>;

/** A method's setting as the VS Code settings give it (`key`: mechedit.<method>.<setting>). */
export interface ConfiguredSetting {
  method: string;
  setting: string;
  key: string;
  /** Absent: not set (0 or empty), the method's default. */
  value?: number | string | boolean;
}

export interface DiagnosticsPanelState {
  /** 'none' (the edit stack) or a per-case fact editor (DiagnosticsContext.methods). */
  method: DiagnosticsMethod;
  lti: boolean;
  /** The per-case edits' preset ('' or absent: the method's default preset). */
  preset?: string;
  limit: number;
  /** The EVOKE task whose cases are listed. */
  task?: string;
}
