// Form controls shared by the panels (@vscode-elements/elements, so they follow the theme).

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { h } from './host';

/** A labelled text field; onChange on change and on Enter, then onEnter (e.g. run). */
export function textfield(id: string, label: string, value: string, onChange: (v: string) => void, opts: { wide?: boolean; onEnter?: () => void; className?: string } = {}): HTMLElement {
  const input = document.createElement('vscode-textfield');
  input.id = id;
  input.setAttribute('value', value);
  if (opts.wide) input.classList.add('wide');
  if (opts.className) input.classList.add(opts.className);
  input.addEventListener('change', () => onChange((input as unknown as { value: string }).value));
  input.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') {
      onChange((input as unknown as { value: string }).value);
      opts.onEnter?.();
    }
  });
  return h('div', { class: opts.wide ? 'grow' : '' }, h('vscode-label', { for: id }, label), input);
}

export function dropdown<T extends string>(id: string, label: string, options: { id: T; label: string }[], value: T, onChange: (v: T) => void): HTMLElement {
  const sel = document.createElement('vscode-single-select');
  sel.id = id;
  for (const o of options) {
    const opt = h('vscode-option', { value: o.id }, o.label);
    if (o.id === value) opt.setAttribute('selected', '');
    sel.append(opt);
  }
  sel.addEventListener('change', () => onChange((sel as unknown as { value: string }).value as T));
  return h('div', {}, h('vscode-label', { for: id }, label), sel);
}

/**
 * A button. Export buttons (ids 'export-…' or '…-export-…': PNG, SVG, CSV, JSON) are secondary,
 * so that they weigh less than the panel's own actions.
 */
export function button(label: string, icon: string, onClick: () => void, id?: string, disabled = false): HTMLElement {
  const b = h('vscode-button', { icon, ...(id ? { id } : {}) }, label);
  if (id && /(^|-)export-/.test(id)) b.setAttribute('secondary', '');
  if (disabled) b.setAttribute('disabled', '');
  b.addEventListener('click', onClick);
  return b;
}
