// Stale charts: once the inputs a chart was drawn from change, or the run that should replace it
// fails or is cancelled, the chart no longer answers what the form asks. Each panel keeps the
// inputs its result came from; staleReason says whether (and why) the result is out of date, and
// markStale shows it — the charts dimmed, with a note above them — without redrawing anything.

import { h } from './host';

export { staleReason } from './job';

/** The note element placed above the charts (hidden while they are current). */
export function staleNote(): HTMLElement {
  const note = h('p', { class: 'stale-note', id: 'stale', role: 'status' });
  note.hidden = true;
  return note;
}

/** Dims the charts under `root` and fills the note, or clears both. */
export function markStale(root: HTMLElement, reason: string | undefined): void {
  root.classList.toggle('stale', !!reason);
  const note = root.querySelector<HTMLElement>('#stale');
  if (!note) return;
  note.textContent = reason ? `Stale: ${reason}` : '';
  note.hidden = !reason;
}
