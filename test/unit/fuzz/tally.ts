// Counts of what the fuzz test saw, and the failures worth printing (with how to reproduce them).

export interface Seen {
  outcome: 'ok' | 'error' | 'hang' | 'crash';
  mechedit?: boolean;
  code?: string;
  file?: string;
  field?: string;
  message?: string;
  stack?: string;
}

export class Tally {
  variants = 0;
  ok = 0;
  /** MechEditErrors with code bad-input / not-found / io naming a file or a field. */
  clean = 0;
  /** Anything thrown that is not a MechEditError (a stack trace for the user). */
  stack = 0;
  /** MechEditErrors of another code, or naming neither file nor field. */
  unnamed = 0;
  crash = 0;
  hang = 0;
  /** Variants known to be wrong (overlapping offsets, fewer layers than the weights…) that were accepted. */
  accepted = 0;
  /** Variants known to be right (a valid file with a BOM) that were refused. */
  refused = 0;
  readonly failures: string[] = [];

  constructor(readonly name: string) {}

  add(seen: Seen, label: string, invalid = false, valid = false): void {
    this.variants++;
    let failure: string | undefined;
    if (seen.outcome === 'error' && valid && seen.mechedit) {
      this.refused++;
      failure = `a valid input was refused: ${seen.message}`;
    } else if (seen.outcome === 'ok' && invalid) {
      this.accepted++;
      failure = 'a wrong input was accepted';
    } else if (seen.outcome === 'ok') this.ok++;
    else if (seen.outcome === 'hang') {
      this.hang++;
      failure = 'hang';
    } else if (seen.outcome === 'crash') {
      this.crash++;
      failure = `crash: ${seen.message}`;
    } else if (!seen.mechedit) {
      this.stack++;
      failure = `stack trace: ${(seen.stack ?? seen.message ?? '').split('\n').slice(0, 3).join(' | ')}`;
    } else if ((seen.code === 'bad-input' || seen.code === 'not-found' || seen.code === 'io') && (seen.file || seen.field)) this.clean++;
    else {
      this.unnamed++;
      failure = `error without file/field or with code ${seen.code}: ${seen.message}`;
    }
    if (failure && this.failures.length < 25) this.failures.push(`${label}: ${failure}`);
  }

  get bad(): number {
    return this.stack + this.unnamed + this.crash + this.hang + this.accepted + this.refused;
  }

  summary(): string {
    return `${this.name}: ${this.variants} variants, ${this.ok} accepted, ${this.clean} clean errors, ${this.stack} stack traces, ${this.unnamed} unnamed errors, ${this.crash} crashes, ${this.hang} hangs, ${this.accepted} wrong inputs accepted, ${this.refused} valid inputs refused`;
  }
}
