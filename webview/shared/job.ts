// A panel's long request (trace, run, analyse): busy while it runs, its error message if it
// fails; the panel renders before and after, and saves its state after.

export class Job {
  busy = false;
  error = '';

  constructor(private readonly render: () => void, private readonly after: () => void = () => undefined) {}

  async run(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = '';
    this.render();
    try {
      await fn();
    } catch (e) {
      // A cancelled request says so plainly ("Cancelled.") rather than as an engine error.
      this.error = (e as { data?: { code?: string } }).data?.code === 'cancelled' ? 'Cancelled.' : (e as Error).message;
    } finally {
      this.busy = false;
      this.after();
      this.render();
    }
  }
}

/**
 * Why the drawn result no longer matches the form: the inputs it was drawn from differ from the
 * current ones (compared as JSON), or the last run failed. Undefined when it is current or when
 * nothing is drawn.
 */
export function staleReason(drawnFrom: unknown, current: unknown, lastError: string): string | undefined {
  if (drawnFrom === undefined) return undefined;
  if (lastError) return 'The last run failed: these charts are from the run before it.';
  if (JSON.stringify(drawnFrom) !== JSON.stringify(current)) return 'The inputs changed: these charts are for the previous inputs. Run again to update them.';
  return undefined;
}
