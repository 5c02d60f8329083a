// The Edit Strengths view's webview: one slider (α from 0 to 2, step 0.05) and one enable box per
// applied edit. Dragging shows the value; releasing (or the arrow keys) rescales the edit.

import type { StrengthsView } from '../../src/protocol/panels';
import { Host, h } from '../shared/host';
import './style.css';

const host = new Host<StrengthsView>();
const root = document.getElementById('root')!;
type Item = StrengthsView['notifications']['stack']['items'][number];
let items: Item[] = [];

function row(item: Item): HTMLElement {
  const value = h('span', { class: 'value' }, `×${item.strength.toFixed(2)}`);
  const slider = h('input', { type: 'range', min: '0', max: '2', step: '0.05', value: String(item.strength), 'aria-label': `Strength of ${item.label}` }) as HTMLInputElement;
  slider.addEventListener('input', () => (value.textContent = `×${Number(slider.value).toFixed(2)}`));
  slider.addEventListener('change', () => void host.request('scale', { id: item.id, strength: Number(slider.value) }));
  const box = h('input', { type: 'checkbox', 'aria-label': `Enable ${item.label}` }) as HTMLInputElement;
  box.checked = item.enabled;
  box.addEventListener('change', () => void host.request('setEnabled', { id: item.id, enabled: box.checked }));
  return h('div', { class: 'edit' }, h('div', { class: 'label' }, box, h('span', { class: 'name', title: item.label }, item.label), value), slider);
}

function render(): void {
  root.replaceChildren(...(items.length ? items.map(row) : [h('p', { class: 'muted' }, 'No edit is applied. Apply one from the Edits view.')]));
  host.rendered({ items: items.map((i) => ({ id: i.id, strength: i.strength, enabled: i.enabled })) });
}

host.on('stack', (s) => {
  items = s.items;
  render();
});
render();
host.ready();
