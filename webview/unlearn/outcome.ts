// The Unlearning panel's outcome (pure DOM from the run's result): each figure says what it was
// measured on — the forget items trained on; the training retain set (kept by the retain term, so
// it says little about anything else); the forget target's ORT neighbour sets, measured in the
// same run (not trained on: where collateral damage shows); the KL on neutral prompts; and, once
// Diagnose ran, ORT's forms of the edit alone, linked in.

import type { UnlearnFormRow, UnlearnRunSnapshot } from '../../src/protocol/panels';
import { h } from '../shared/host';
import { percent } from './data';

type Result = NonNullable<UnlearnRunSnapshot['result']>;

const fileName = (p: string | undefined) => (p ? p.split(/[\\/]/).slice(-3).join('/') : '');

/** ORT's figure as its table prints it: ×100, one decimal. */
const x100 = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? (100 * v).toFixed(1) : '—');

function topTable(x: Result): HTMLElement {
  const f = x.figures;
  const retain = x.retainItems
    ? h('tr', { class: 'retain' },
      h('td', { title: 'The retain set trained on (its retain term keeps these): it says little about facts the run did not see. The neighbour sets below were not trained on.' },
        `training retain set: top-1 (up to 256 of ${x.retainItems}${x.retainSource ? `, ${fileName(x.retainSource)}` : ''})`),
      h('td', {}, percent(f.retainTop1[0])), h('td', {}, percent(f.retainTop1[1])))
    : h('tr', {}, h('td', {}, 'training retain set'), h('td', { colspan: '2', class: 'muted' }, 'none (no retain material)'));
  return h('table', { class: 'figures', id: 'figures' },
    h('tr', {}, h('th', {}, ''), h('th', {}, 'before'), h('th', {}, 'after')),
    h('tr', {}, h('td', {}, `forget items trained on: top-1 (${x.forgetItems})`), h('td', {}, percent(f.forgetTop1[0])), h('td', {}, percent(f.forgetTop1[1]))),
    retain,
    h('tr', {}, h('td', {}, 'KL on neutral prompts'), h('td', {}, ''), h('td', {}, `${x.klNeutral.toFixed(4)} nats`)),
  );
}

/** ORT-form rows (loss_prob ×100 and token accuracy, before → after), one per set · form. */
function formTable(id: string, rows: UnlearnFormRow[], withSet: boolean): HTMLElement {
  return h('table', { class: 'figures forms', id },
    h('tr', {}, ...[withSet ? 'set · form' : 'form', 'items', 'loss_prob before', 'after', 'token acc. before', 'after'].map((c) => h('th', {}, c))),
    ...rows.map((r) => h('tr', { class: `form-row set-${r.set}` },
      h('td', {}, withSet ? `${r.set === 'neighbor' ? 'neighbour' : r.set} · ${r.form}` : r.form),
      h('td', { class: 'num' }, String(r.items)),
      h('td', { class: 'num' }, x100(r.before.lossProb)), h('td', { class: 'num' }, x100(r.after?.lossProb)),
      h('td', { class: 'num' }, x100(r.before.tokenAccuracy)), h('td', { class: 'num' }, x100(r.after?.tokenAccuracy)))));
}

/** The outcome's figures: the top table, the neighbour sets of the same run, ORT's forms after Diagnose. */
export function outcomeFigures(x: Result): HTMLElement[] {
  const out = [topTable(x)];
  if (x.neighbours?.rows.length) {
    out.push(
      h('h3', {}, `Neighbour sets of ${x.neighbours.target} (this run, not trained on)`),
      h('p', { class: 'muted' }, 'ORT\'s neighbour items, scored with ORT\'s formulas before and after this edit: loss_prob ×100 (mean P of the answer) and token accuracy; higher is better.'),
      formTable('neighbours', x.neighbours.rows, false),
    );
  } else {
    out.push(h('p', { class: 'muted', id: 'no-neighbours' }, 'No neighbour sets: the forget material is not an ORT target folder with neighbor_*.json files. Diagnose measures the ORT forms of its concept.'));
  }
  if (x.ort) {
    out.push(
      h('h3', {}, `ORT forms${x.ort.target ? ` of ${x.ort.target}` : ''} (Diagnose: the edit alone, ${x.ort.seconds.toFixed(1)} s)`),
      x.ort.rows.length ? formTable('ort-forms', x.ort.rows, true) : h('p', { class: 'muted' }, 'The diagnosis found no ORT target for this edit\'s concept.'),
    );
  }
  return out;
}
