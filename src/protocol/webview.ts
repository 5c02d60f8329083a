// Messages between the extension host and a webview panel (one envelope for every panel).
// The webview posts 'ready' once its script has loaded; the host posts nothing before that.
// Requests carry an id and get exactly one response (result or ErrorData) with inReplyTo = id;
// both sides time out requests that get no reply. Notifications are fire-and-forget; what is sent
// to a webview is always a complete snapshot, never a delta (GitLens's rule).

import type { ErrorData } from './errors';

export type Envelope =
  | { kind: 'ready' }
  | { kind: 'request'; id: number; method: string; params: unknown }
  | { kind: 'response'; inReplyTo: number; result?: unknown; error?: ErrorData }
  | { kind: 'notify'; method: string; params: unknown };

/**
 * The 'restore' notification (host → webview): the last answer of a request the panel keeps
 * (PanelHost.kept), sent again once the page is loaded again after a tab switch or a reload.
 */
export interface RestoreParams {
  method: string;
  params: unknown;
  result: unknown;
}

/** A panel's protocol: what the webview may ask the host, and what the host pushes. */
export interface PanelProtocol {
  requests: Record<string, { params: unknown; result: unknown }>;
  notifications: Record<string, unknown>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'ready' || kind === 'request' || kind === 'response' || kind === 'notify';
}

/**
 * A panel's "Export": a save dialog in the workspace folder, then the file written there. Charts
 * come as SVG text or PNG bytes (base64), data as CSV or JSON text.
 */
export interface SaveParams {
  format: 'png' | 'svg' | 'csv' | 'json';
  suggestedName: string;
  text?: string;
  base64?: string;
}

export interface SaveRequest {
  params: SaveParams;
  result: { saved: boolean; path?: string };
}
