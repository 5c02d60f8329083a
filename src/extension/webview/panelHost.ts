// One base for every webview panel (vscode-extension-samples + GitLens rules):
//  - CSP with a nonce, no remote content: scripts, styles and fonts only from dist/webview;
//  - localResourceRoots limited to dist/webview; URIs through asWebviewUri;
//  - the host posts nothing before the webview's 'ready'; notifications sent earlier are kept
//    (the latest per method: they are complete snapshots) and flushed on 'ready';
//  - webview requests are dispatched to typed handlers and always answered: a result, or
//    ErrorData when the handler throws;
//  - panels are revived after reload by a WebviewPanelSerializer (see register()).
//  - results survive a tab switch without retainContextWhenHidden: VS Code drops a hidden
//    webview's page and loads it again when it is shown (a new 'ready'). The answers of the
//    requests a panel lists in `kept` are remembered and sent again after each 'ready' as a
//    'restore' notification ({ method, params, result }, webview/shared/host.ts onRestore), and so
//    is an answer that arrives after the page that asked for it is gone. While the panel is
//    hidden, notifications are queued as before the first 'ready'.

import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { isEnvelope, type Envelope, type PanelProtocol, type RestoreParams } from '../../protocol/webview';
import type { ErrorData } from '../../protocol/errors';
import { EngineError } from '../engine/client';
import { COLOUR_PROBE, COLOUR_REPORT, type ColourReport } from '../../protocol/colours';

export type RequestHandlers<P extends PanelProtocol> = {
  [M in keyof P['requests']]: (params: P['requests'][M]['params']) => Promise<P['requests'][M]['result']>;
};

export interface PanelDescriptor {
  /** The webview panel type (also the serializer's key), e.g. 'mechedit.engine'. */
  viewType: string;
  title: string;
  /** The bundle name: dist/webview/<bundle>.js, built from webview/<bundle>/main.ts. */
  bundle: string;
}

/** A webview panel or a webview view (e.g. in the MechEdit side bar). */
export interface WebviewContainer {
  readonly webview: vscode.Webview;
  readonly onDidDispose: vscode.Event<void>;
}

export abstract class PanelHost<P extends PanelProtocol, W extends WebviewContainer = vscode.WebviewPanel> implements vscode.Disposable {
  private ready = false;
  private readonly queued = new Map<string, unknown>();
  protected readonly disposables: vscode.Disposable[] = [];
  /** What the webview last said it drew (for tests and the reproducibility card). */
  lastRender: unknown;
  private readonly rendered = new vscode.EventEmitter<unknown>();
  readonly onDidRender = this.rendered.event;

  private readonly coloured = new vscode.EventEmitter<ColourReport>();

  protected abstract readonly handlers: RequestHandlers<P>;
  /** Requests whose last answer is the panel's result: sent again after a tab switch or a reload of the page. */
  protected readonly kept: readonly (keyof P['requests'] & string)[] = [];
  private readonly lastAnswers = new Map<string, RestoreParams>();
  /** Counts the page's loads ('ready'): an answer for an earlier load is sent as a 'restore'. */
  private loads = 0;

  constructor(readonly panel: W, private readonly extensionUri: vscode.Uri, private readonly descriptor: PanelDescriptor) {
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.webview.html = this.html(panel.webview, root);
    this.disposables.push(
      this.rendered,
      this.coloured,
      panel.webview.onDidReceiveMessage((m) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    // A hidden panel's page is gone: notifications wait (the latest per method) for the next 'ready'.
    const viewState = (panel as unknown as Partial<vscode.WebviewPanel>).onDidChangeViewState;
    if (viewState) this.disposables.push(viewState((e) => !e.webviewPanel.visible && (this.ready = false)));
  }

  /** Sends a complete snapshot; before 'ready' only the latest one per method is kept. */
  notify<M extends keyof P['notifications'] & string>(method: M, params: P['notifications'][M]): void {
    this.onNotify(method);
    if (!this.ready) {
      this.queued.set(method, params);
      return;
    }
    void this.panel.webview.postMessage({ kind: 'notify', method, params } satisfies Envelope);
  }

  /** Called for every notification the host sends (before it is queued or posted). */
  protected onNotify(_method: string): void {}

  /** Called once the webview is ready (and again after it reloads): send the initial state. */
  protected abstract onReady(): void;

  /** The colours the webview's marks are drawn with (the themes test's hook; webview/shared/colors.ts). */
  probeColours(timeoutMs = 10_000): Promise<ColourReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`${this.descriptor.viewType}: no colour report within ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.coloured.event((r) => {
        clearTimeout(timer);
        sub.dispose();
        resolve(r);
      });
      void this.panel.webview.postMessage({ kind: 'notify', method: COLOUR_PROBE, params: {} } satisfies Envelope);
    });
  }

  private async receive(message: unknown): Promise<void> {
    if (!isEnvelope(message)) return;
    if (message.kind === 'ready') {
      this.ready = true;
      this.loads++;
      this.onReady();
      for (const [method, params] of this.queued) void this.panel.webview.postMessage({ kind: 'notify', method, params });
      this.queued.clear();
      for (const restore of this.lastAnswers.values()) this.postRestore(restore);
      return;
    }
    if (message.kind === 'notify' && message.method === COLOUR_REPORT) {
      this.coloured.fire(message.params as ColourReport);
      return;
    }
    if (message.kind === 'notify' && message.method === 'rendered') {
      this.lastRender = message.params;
      this.rendered.fire(message.params);
      return;
    }
    if (message.kind !== 'request') return;
    const handler = (this.handlers as Record<string, ((p: unknown) => Promise<unknown>) | undefined>)[message.method];
    let reply: Envelope;
    const load = this.loads;
    try {
      if (!handler) throw new Error(`Unknown request "${message.method}"`);
      reply = { kind: 'response', inReplyTo: message.id, result: await handler(message.params) };
    } catch (err) {
      reply = { kind: 'response', inReplyTo: message.id, error: errorData(err) };
    }
    if ((this.kept as readonly string[]).includes(message.method) && 'result' in reply) {
      const restore = { method: message.method, params: message.params, result: reply.result };
      this.lastAnswers.set(message.method, restore);
      // The page that asked was dropped (a tab switch) and loaded again meanwhile: it gets the answer as a restore.
      if (load !== this.loads) return this.postRestore(restore);
    }
    void this.panel.webview.postMessage(reply);
  }

  private postRestore(restore: RestoreParams): void {
    if (this.ready) void this.panel.webview.postMessage({ kind: 'notify', method: 'restore', params: restore } satisfies Envelope);
  }

  private html(webview: vscode.Webview, root: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(root, ...p)).toString();
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('codicons', 'codicon.css')}" id="vscode-codicon-stylesheet" nonce="${nonce}">
<link rel="stylesheet" href="${uri('base.css')}" nonce="${nonce}">
${this.descriptor.bundle ? `<link rel="stylesheet" href="${uri(`${this.descriptor.bundle}.css`)}" nonce="${nonce}">` : ''}
<title>${this.descriptor.title}</title>
</head>
<body>
<main id="root" aria-live="polite"></main>
<script nonce="${nonce}" src="${uri(`${this.descriptor.bundle}.js`)}"></script>
</body>
</html>`;
  }

  dispose(): void {
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

function errorData(err: unknown): ErrorData {
  if (err instanceof EngineError) return err.data;
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Registers a singleton panel kind: a command opens (or reveals) it, and a serializer revives it
 * after a window reload with the state the webview saved with setState.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any panel protocol
export function registerPanel<H extends PanelHost<any>>(
  context: vscode.ExtensionContext,
  descriptor: PanelDescriptor,
  create: (panel: vscode.WebviewPanel) => H,
): { show(): H; current(): H | undefined } {
  let current: H | undefined;
  const adopt = (panel: vscode.WebviewPanel) => {
    current = create(panel);
    panel.onDidDispose(() => (current = undefined));
    return current;
  };
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(descriptor.viewType, {
      async deserializeWebviewPanel(panel) {
        adopt(panel);
      },
    }),
    { dispose: () => current?.panel.dispose() },
  );
  return {
    show() {
      if (current) {
        current.panel.reveal();
        return current;
      }
      const panel = vscode.window.createWebviewPanel(descriptor.viewType, descriptor.title, vscode.ViewColumn.Active, {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
      });
      return adopt(panel);
    },
    current: () => current,
  };
}
