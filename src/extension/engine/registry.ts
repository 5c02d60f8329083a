// The method registry as the engine describes it ('registry/describe'), kept on the extension's
// side. No vscode import: unit tests drive it in plain Node. Contract:
//  - fetched whenever the engine process reaches 'running' (its first start and every restart);
//  - get() answers the cached description, or asks the engine (starting it when it is not running);
//  - a failed fetch leaves the previous description (if any) in place and rejects get();
//  - listeners hear every description fetched.
// Every list of methods in src/extension (quick picks, CodeLenses, the panels' contexts) is a
// filter of this description; none is written by hand.

import type { RegistryDescription } from '../../protocol/registry';
import type { EngineClient } from './client';

type Source = Pick<EngineClient, 'request' | 'onStateChange'>;

export class RegistryCache {
  private value: RegistryDescription | undefined;
  private fetching: Promise<RegistryDescription> | undefined;
  private readonly listeners = new Set<(r: RegistryDescription) => void>();
  private readonly sub: { dispose(): void };
  /** How many descriptions were fetched (tests). */
  fetches = 0;

  constructor(private readonly client: Source) {
    this.sub = client.onStateChange((status) => {
      if (status === 'running') void this.fetch().catch(() => undefined);
    });
  }

  /** The last description fetched, if any. */
  get current(): RegistryDescription | undefined {
    return this.value;
  }

  /** The cached description, else the engine's (the engine starts if it is not running). */
  get(): Promise<RegistryDescription> {
    return this.value ? Promise.resolve(this.value) : this.fetch();
  }

  onDidChange(listener: (r: RegistryDescription) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private fetch(): Promise<RegistryDescription> {
    this.fetching ??= this.client.request('registry/describe', {}).then((r) => {
      this.value = r;
      this.fetches++;
      for (const l of this.listeners) l(r);
      return r;
    }).finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  dispose(): void {
    this.sub.dispose();
    this.listeners.clear();
  }
}
