// The progress text of a long run — done / total, the rate and the time left — in one wording for
// every front end: the progress notifications (unlearning, lifelong editing), the Unlearning and
// Lifelong editing panels, and the estimate asked before a long start. Pure: no DOM, no vscode.
//
// The rate is measured from the run's own first sample (the units done when it started, e.g. a
// resumed run's saved edits, are not counted as work of this run): rate = (done − startDone) /
// elapsed; time left = (total − done) / rate. Before one unit is done the rate is unknown and the
// text says "estimating".

/** A duration in words: "45 s", "3 min 20 s", "1 h 5 min"; "—" for a value that is not a finite time ≥ 0. */
export function durationText(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return m >= 10 || rest === 0 ? `${Math.round(s / 60)} min` : `${m} min ${rest} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : m === 60 ? `${h + 1} h` : `${h} h ${m} min`;
}

/** A rate in words, per second when at least one a second, else per minute: "2.4 steps/s", "7.5 edits/min". */
export function rateText(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '—';
  const per = perSecond >= 1 ? { value: perSecond, by: 's' } : { value: perSecond * 60, by: 'min' };
  const digits = per.value >= 100 ? 0 : per.value >= 10 ? 1 : 2;
  return `${per.value.toFixed(digits)} ${unit}/${per.by}`;
}

/** A sample of a run's progress. */
export interface ProgressSample {
  /** Units done so far (steps, edits). */
  done: number;
  /** Units planned, when known. */
  total?: number;
  /** Units already done when this run started (a resumed run's); default 0. */
  startDone?: number;
  /** Seconds since this run started. */
  elapsedSeconds: number;
  /** The unit, plural ("steps", "edits"). */
  unit: string;
}

/** The figures behind the text: rate (units/s) and seconds left, undefined while unknown. */
export function progressFigures(p: ProgressSample): { rate?: number; secondsLeft?: number } {
  const work = p.done - (p.startDone ?? 0);
  if (!(work > 0) || !(p.elapsedSeconds > 0)) return {};
  const rate = work / p.elapsedSeconds;
  const secondsLeft = p.total !== undefined && p.total >= p.done ? (p.total - p.done) / rate : undefined;
  return { rate, secondsLeft };
}

/** "12 / 30 edits · 0.80 edits/min · about 23 min left" (no total: "12 steps · 2.4 steps/s"; no unit done yet: "· estimating the time left"). */
export function progressText(p: ProgressSample): string {
  const count = p.total !== undefined ? `${p.done} / ${p.total} ${p.unit}` : `${p.done} ${p.unit}`;
  const { rate, secondsLeft } = progressFigures(p);
  if (rate === undefined) return p.total !== undefined && p.done >= p.total ? count : `${count} · estimating the time left`;
  const left = secondsLeft === undefined ? '' : secondsLeft === 0 ? ' · finishing' : ` · about ${durationText(secondsLeft)} left`;
  return `${count} · ${rateText(rate, p.unit)}${left}`;
}

/** The estimate asked before a start: "about 12 min (100 edits at 7.2 s each)". */
export function estimateText(units: number, secondsPerUnit: number, unit: string): string {
  return `about ${durationText(units * secondsPerUnit)} (${units} ${unit} at ${secondsPerUnit.toFixed(1)} s each)`;
}

/**
 * A run's clock for progressText: the first sample fixes the start (its time and units done), so a
 * host that only sees notifications (done, total) can give rate and time left. `now` in ms.
 */
export class ProgressClock {
  private start: { at: number; done: number } | undefined;

  constructor(readonly unit: string, private readonly now: () => number = () => Date.now()) {}

  /** The text for `done` of `total`; the first call starts the clock. */
  text(done: number, total?: number): string {
    const at = this.now();
    this.start ??= { at, done };
    return progressText({ done, total, startDone: this.start.done, elapsedSeconds: (at - this.start.at) / 1000, unit: this.unit });
  }

  /** Seconds since the first sample (0 before it). */
  elapsed(): number {
    return this.start ? (this.now() - this.start.at) / 1000 : 0;
  }
}
