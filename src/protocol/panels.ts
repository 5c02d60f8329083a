// Per-panel protocols. Each panel's webview bundle (webview/<panel>/) and host provider
// (src/extension/panels/) share one of these.

import type { EngineInfo, SelfTestResult } from './engine';
import type { ModelInfo } from './model';
import type { PanelProtocol } from './webview';

/** The Engine panel: engine state, execution providers, and an on-demand self-test. */
export interface EnginePanel extends PanelProtocol {
  requests: {
    /** Runs the engine self-test (with a progress notification in the window). */
    runSelfTest: { params: { size: number; iterations: number }; result: SelfTestResult };
    /** Restarts the engine process. */
    restartEngine: { params: Record<string, never>; result: EngineInfo };
  };
  notifications: {
    /** Complete snapshot of the engine state; sent after 'ready' and on every change. */
    state: EngineStateSnapshot;
  };
}

export type EngineStatus = 'stopped' | 'starting' | 'running' | 'crashed';

export interface EngineStateSnapshot {
  status: EngineStatus;
  info?: EngineInfo;
  /** Why the engine last stopped unexpectedly, when it did. */
  lastCrash?: string;
  restarts: number;
  lastSelfTest?: SelfTestResult;
  /** The model open in the engine, if any; modelError when opening the configured one failed. */
  model?: ModelInfo;
  modelError?: string;
}

/** Webview state persisted with setState and restored by the panel serializer. */
export interface EnginePanelState {
  size: number;
  iterations: number;
}
