// The Engine panel's webview: status, providers, self-test. Everything drawn comes from the
// host's 'state' snapshot; the form values persist with setState across reloads.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import type { EnginePanel, EnginePanelState, EngineStateSnapshot } from '../../src/protocol/panels';
import { Host, h } from '../shared/host';
import { latencyChart } from './chart';
import './style.css';

const host = new Host<EnginePanel, EnginePanelState>();
const root = document.getElementById('root')!;
let form: EnginePanelState = host.getState() ?? { size: 256, iterations: 50 };
let busy = false;
let error = '';

function field(label: string, key: keyof EnginePanelState): HTMLElement {
  const input = document.createElement('vscode-textfield');
  input.setAttribute('id', `f-${key}`);
  input.setAttribute('type', 'number');
  input.setAttribute('value', String(form[key]));
  input.addEventListener('change', () => {
    form = { ...form, [key]: Number((input as unknown as { value: string }).value) };
    host.setState(form);
  });
  return h('div', {}, h('vscode-label', { for: `f-${key}` }, label), input);
}

function button(label: string, icon: string, onClick: () => void): HTMLElement {
  const b = h('vscode-button', { icon }, label);
  if (busy) b.setAttribute('disabled', '');
  b.addEventListener('click', onClick);
  return b;
}

function render(s: EngineStateSnapshot): void {
  const info = s.info;
  const rows: [string, string][] = info
    ? [
        ['Process', `pid ${info.pid}, ${info.platform}, Node ${info.nodeVersion}`],
        ['onnxruntime-node', `${info.ortVersion} (backends: ${info.ortBackends.join(', ')})`],
        ['Execution provider', `${info.resolvedProvider ?? 'not resolved yet'} (setting: ${info.config.executionProvider})`],
        ['Threads', info.config.threads ? String(info.config.threads) : 'chosen by onnxruntime'],
        ['Telemetry', info.telemetryDisabled ? 'off' : 'ON'],
      ]
    : [];
  const probes = s.lastSelfTest?.probes ?? info?.probes ?? [];
  root.replaceChildren(
    h('h1', {}, 'MechEdit engine ', h('span', { class: `badge ${s.status}`, id: 'status' }, s.status)),
    s.lastCrash ? h('p', { class: 'error' }, `Last crash: ${s.lastCrash} (restarts: ${s.restarts})`) : '',
    h('table', { class: 'kv', id: 'info' }, ...rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v)))),
    h('h2', {}, 'Execution providers'),
    probes.length
      ? h('ul', { id: 'probes' }, ...probes.map((p) => h('li', {}, h('span', { class: p.ok ? 'ok' : p.skipped ? 'muted' : 'fail' }, p.ok ? '✓ ' : p.skipped ? '– ' : '✗ '), h('b', {}, p.provider), p.reason ? h('span', { class: 'muted' }, ` — ${p.reason}`) : '')))
      : h('p', { class: 'muted' }, 'Run the self-test to see which providers work here.'),
    h('h2', {}, 'Self-test'),
    h('div', { class: 'row' },
      field('Matrix size', 'size'),
      field('Runs', 'iterations'),
      button(busy ? 'Running…' : 'Run self-test', 'play', () => void selfTest()),
      button('Restart engine', 'debug-restart', () => void restart()),
    ),
    error ? h('p', { class: 'error', role: 'alert' }, error) : '',
    s.lastSelfTest ? selfTestSummary(s) : '',
  );
  host.rendered({ status: s.status, infoRows: rows.length, probes: probes.length, bars: s.lastSelfTest?.runMs.length ?? 0 });
}

function selfTestSummary(s: EngineStateSnapshot): HTMLElement {
  const t = s.lastSelfTest!;
  const sorted = [...t.runMs].sort((a, b) => a - b);
  return h('div', { id: 'selftest' },
    h('p', {}, `${t.provider}: ${t.size}×${t.size} probe, opened in ${t.openMs.toFixed(1)} ms; median run ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} ms over ${t.iterations} runs; max error ${t.maxAbsError.toExponential(2)}.`),
    latencyChart(t.runMs),
  );
}

let last: EngineStateSnapshot = { status: 'stopped', restarts: 0 };

async function selfTest(): Promise<void> {
  busy = true;
  error = '';
  render(last);
  try {
    await host.request('runSelfTest', { size: form.size, iterations: form.iterations }, 10 * 60_000);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    busy = false;
    render(last);
  }
}

async function restart(): Promise<void> {
  error = '';
  try {
    await host.request('restartEngine', {});
  } catch (e) {
    error = (e as Error).message;
    render(last);
  }
}

host.on('state', (s) => {
  last = s;
  render(s);
});
render(last);
host.ready();
