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
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
      this.after();
      this.render();
    }
  }
}
