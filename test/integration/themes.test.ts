// Every panel and view that shows results, in a light and a dark theme (Light Modern, Dark Modern:
// code-server's theme-defaults), each screenshotted as theme-<light|dark>-<panel>.png.
//
// What is checked, from each webview's colour report (webview/shared/colors.ts, asked through
// PanelHost.probeColours): every colour an SVG mark is painted with (shapes' fill and stroke, text)
// is one of the theme's colours — no hard-coded colour, and none left over from the other theme
// (the panels are drawn in the light theme and only shown again in the dark one, unless they lost
// their drawing on the tab switch: then they are given their data again); panels that
// draw series paint them with the series colours, which are the theme's --vscode-charts-* colours
// made opaque (base.css --series-<i>); the webview's background is
// light or dark as VS Code says the theme is (activeColorTheme.kind); every series colour drawn,
// composited over the background, has a contrast of at least 2:1 against it (VS Code's default
// charts.orange, 33 % transparent, fails this on Dark Modern: the "dark-brown bars"); and the
// series colours differ between the themes. Heatmap cells (canvas, a fixed viridis / blue-red palette readable on both) are not
// checked. Data where cheap: the engine self-test, a causal trace, an activations run, concept
// directions, one ROME edit (Edit Strengths), the lifelong fixture session, and a made-up
// unlearning snapshot sent to the Unlearning panel (its colours, not its figures, are the point).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelHost } from '../../src/extension/webview/panelHost';
import type { ColourReport } from '../../src/protocol/colours';
import type { UnlearnRunSnapshot } from '../../src/protocol/panels';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any panel protocol
type AnyHost = PanelHost<any, any>;
type Api = DefaultModelSuite['api'];

/**
 * A panel or view to show in both themes: the command that opens it, the host, and how to give it
 * cheap data when it shows none (first time, or a panel that lost its drawing on a tab switch).
 */
interface PanelCase {
  name: string;
  command: string;
  host(api: Api): AnyHost | undefined;
  /** Starts drawing its data (not awaited: the colour report waits for the marks). */
  draw?(api: Api, host: AnyHost): Promise<unknown>;
  /** The number of distinct series colours its marks must use (0: none required). */
  series: number;
  /** The command's argument, if it takes one. */
  arg?(): unknown;
}

const TRACE = { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', samples: 4 };
/** The ROME edit of the first test (the Edit Result view's edit). */
let editFile: string | undefined;
const LIFELONG_SESSION = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'lifelong', 'session');

// Every result panel. The Edit Result view shows the ROME edit of the first test.
const PANELS: PanelCase[] = [
  { name: 'engine', command: 'mechedit.showEngine', host: (api) => api.panels.engine(), draw: () => Promise.resolve(vscode.commands.executeCommand('mechedit.selfTest')), series: 1 },
  { name: 'activations', command: 'mechedit.showActivations', host: (api) => api.panels.activations(), draw: async (_, h) => h.notify('run', { prompt: TRACE.prompt, metric: 'residNorm', view: 'side', token: 2 }), series: 2 },
  { name: 'tracing', command: 'mechedit.showCausalTracing', host: (api) => api.panels.tracing(), draw: async (_, h) => h.notify('run', TRACE), series: 0 },
  { name: 'diagnostics', command: 'mechedit.showDiagnostics', host: (api) => api.panels.diagnostics(), series: 0 },
  { name: 'concepts', command: 'mechedit.showConcepts', host: (api) => api.panels.concepts(), draw: async (_, h) => h.notify('run', { positive: 'Veltrazine is colored\nDravokine is colored', negative: 'Brindlecake is colored\nSunmallow is colored' }), series: 1 },
  { name: 'features', command: 'mechedit.showFeatures', host: (api) => api.panels.features(), series: 0 },
  { name: 'unlearning', command: 'mechedit.showUnlearning', host: (api) => api.panels.unlearn(), draw: async (_, h) => h.notify('run', unlearnSnapshot()), series: 3 },
  { name: 'lifelong', command: 'mechedit.lifelong', host: (api) => api.panels.lifelong(), draw: () => Promise.resolve(vscode.commands.executeCommand('mechedit.lifelong', { folder: LIFELONG_SESSION })), series: 2 },
  { name: 'strengths', command: 'mechedit.strengths.focus', host: (api) => api.strengths(), series: 0 },
  { name: 'edit-result', command: 'mechedit.showEditResult', host: (api) => api.panels.editResult(), arg: () => editFile, series: 0 },
];

const THEMES = [
  { kind: 'light', id: 'Light Modern', vscodeKind: vscode.ColorThemeKind.Light },
  { kind: 'dark', id: 'Dark Modern', vscodeKind: vscode.ColorThemeKind.Dark },
] as const;

/** A computed CSS colour (rgb(), rgba() or color(srgb …)) as [r, g, b] in 0…255 and alpha. */
function rgba(c: string): [number, number, number, number] {
  const n = (c.match(/-?[\d.]+(e-?\d+)?/g) ?? []).map(Number);
  const k = c.startsWith('color(') ? 255 : 1;
  return [n[0] * k, n[1] * k, n[2] * k, n[3] ?? 1];
}

/** Relative luminance (WCAG) of a colour, composited over `bg` when it is translucent. */
function luminance(c: string, bg = 'rgb(128, 128, 128)'): number {
  const [r, g, b, a] = rgba(c);
  const under = rgba(bg);
  const [R, G, B] = [r, g, b].map((v, i) => {
    const s = (a * v + (1 - a) * under[i]) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * R + 0.7152 * G + 0.0722 * B;
}

/** WCAG contrast of a mark's colour (as seen over the background) with the background. */
const contrast = (c: string, bg: string) => {
  const [hi, lo] = [luminance(c, bg), luminance(bg)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

const SERIES_NAMES = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'];

/** A made-up unlearning run (20 steps): enough for the chart's four lines. */
function unlearnSnapshot(): UnlearnRunSnapshot {
  const points = Array.from({ length: 20 }, (_, step) => ({
    step, loss: -step / 4, metrics: { forgetTop1: 1 - step / 20, forgetProb: 0.9 - step / 25, retainTop1: 1 - step / 200 },
  }));
  return { status: 'cancelled', method: 'graddiff', methodLabel: 'GradDiff', concept: 'Veltrazine (colours check)', material: 'made-up points', forms: ['qa'], steps: 20, points, startedAt: new Date().toISOString() };
}

describe('Themes: every result panel in a light and a dark theme', () => {
  let suite: DefaultModelSuite;
  let api: Api;
  let previousTheme: string | undefined;
  const reports: Record<string, Record<string, ColourReport>> = { light: {}, dark: {} };

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
    previousTheme = vscode.workspace.getConfiguration('workbench').inspect<string>('colorTheme')?.globalValue;
  });

  after(async () => {
    for (const host of [api.panels.engine(), api.panels.activations(), api.panels.tracing(), api.panels.editResult(), api.panels.diagnostics(), api.panels.concepts(), api.panels.features(), api.panels.unlearn(), api.panels.lifelong()]) host?.panel.dispose();
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', previousTheme, vscode.ConfigurationTarget.Global);
    await endOnDefaultModel(suite);
    if (editFile) for (const f of [editFile, editFile.replace(/\.json$/, '.safetensors')]) fs.rmSync(f, { force: true });
  });

  it('applies one ROME edit (Edit Strengths shows it; charts drawn after it are not stale)', async function () {
    this.timeout(120_000);
    const r = await vscode.commands.executeCommand<{ file: string; applied: boolean }>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], layer: 0, force: true });
    editFile = r?.file;
    assert.ok(editFile, 'the ROME edit was computed');
    if (!r.applied) await vscode.commands.executeCommand('mechedit.applyEditAnyway', vscode.Uri.file(editFile));
    assert.equal(api.engine.stack.items.length, 1, 'the ROME edit is applied');
  });

  for (const theme of THEMES) {
    it(`shows every panel in ${theme.id}: marks painted with the theme's colours only, series with its chart colours`, async function () {
      this.timeout(240_000);
      await setTheme(theme);
      await vscode.commands.executeCommand('workbench.view.extension.mechedit');
      await vscode.commands.executeCommand('mechedit.edits.focus');
      await new Promise((res) => setTimeout(res, 800));
      await screenshot(`theme-${theme.kind}-sidebar`);
      const problems: string[] = [];
      for (const p of PANELS) {
        await vscode.commands.executeCommand(p.command, ...(p.arg ? [p.arg()] : []));
        const host = p.host(api);
        assert.ok(host, `${p.name}: it did not open`);
        const report = await themedReport(api, p, host, theme.kind);
        reports[theme.kind][p.name] = report;
        await screenshot(`theme-${theme.kind}-${p.name}`);
        const bg = report.theme['editor-background'];
        const foreign = report.marks.filter((m) => !m.theme);
        const series = seriesMarks(report);
        // The series colours are the theme's chart colours, opaque (same red, green, blue).
        report.series.forEach((c, i) => {
          const want = rgba(report.theme[`charts-${SERIES_NAMES[i]}`] ?? report.theme.foreground);
          const got = rgba(c);
          if (got[3] !== 1 || [0, 1, 2].some((k) => Math.abs(got[k] - want[k]) > 1)) problems.push(`${p.name}: series ${i} is ${c}, not the theme's charts-${SERIES_NAMES[i]} ${report.theme[`charts-${SERIES_NAMES[i]}`]} made opaque`);
        });
        console.log(`[themes] ${theme.kind} ${p.name}: bg ${bg}; ${report.marks.map((m) => `${m.theme ?? 'FOREIGN'} ${m.colour} ×${m.count} (${m.example})`).join('; ') || 'no SVG marks'}`);
        for (const m of foreign) problems.push(`${p.name}: ${m.example} is painted ${m.colour}, not a theme colour`);
        if (series.length < p.series) problems.push(`${p.name}: ${series.length} series colour(s) drawn, ${p.series} expected`);
        for (const m of series) {
          const ratio = contrast(m.colour, bg);
          if (ratio < 2) problems.push(`${p.name}: ${m.theme} ${m.colour} on ${bg} has contrast ${ratio.toFixed(2)} < 2`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }

  it('the series colours differ between the two themes', () => {
    const light = reports.light.unlearning?.series;
    const dark = reports.dark.unlearning?.series;
    assert.ok(light && dark, 'both themes were reported');
    console.log(`[themes] series light ${light.join(' ')} | dark ${dark.join(' ')}`);
    assert.ok(light.some((c, i) => c !== dark[i]), 'at least one series colour changes with the theme');
    assert.notEqual(reports.light.unlearning.theme.foreground, reports.dark.unlearning.theme.foreground);
  });
});

/** The marks painted with a series colour (the theme's chart colours, not its foreground or lines). */
function seriesMarks(r: ColourReport): ColourReport['marks'] {
  return r.marks.filter((m) => m.theme?.startsWith('series-') || (m.theme?.startsWith('charts-') && !['charts-foreground', 'charts-lines'].includes(m.theme)));
}

/** How many distinct series colours the marks use. */
const seriesDrawn = (r: ColourReport) => new Set(seriesMarks(r).map((m) => m.theme)).size;

/** Switches the colour theme and waits until VS Code says it is active. */
async function setTheme(theme: (typeof THEMES)[number]): Promise<void> {
  if (vscode.window.activeColorTheme.kind !== theme.vscodeKind) {
    const changed = waitFor(vscode.window.onDidChangeActiveColorTheme, (t) => t.kind === theme.vscodeKind, `the ${theme.id} theme`, 15_000);
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme.id, vscode.ConfigurationTarget.Global);
    await changed;
  } else {
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme.id, vscode.ConfigurationTarget.Global);
  }
  assert.equal(vscode.window.activeColorTheme.kind, theme.vscodeKind);
}

/**
 * The webview's colour report once its background is as light or dark as the theme (webviews get
 * the new colours a moment later) and, for a panel with data, once it has drawn: a panel that
 * shows nothing (first time, or its drawing lost on a tab switch) is given its data. A probe sent
 * while a revealed webview reloads is lost, so it is sent again.
 */
async function themedReport(api: Api, p: PanelCase, host: AnyHost, kind: 'light' | 'dark'): Promise<ColourReport> {
  // Generous for a loaded machine; a few seconds on an idle one.
  const deadline = Date.now() + 90_000;
  let last = 'no report';
  let drawn = false;
  for (;;) {
    await new Promise((res) => setTimeout(res, 500));
    const r = await host.probeColours(2000).catch(() => undefined);
    if (r) {
      const l = luminance(r.theme['editor-background'] ?? 'rgb(128, 128, 128)');
      const themed = kind === 'light' ? l > 0.5 : l < 0.2;
      // A panel an earlier test left showing other data (fewer series) is given this test's data too.
      const enough = r.marks.length > 0 && seriesDrawn(r) >= p.series;
      if (themed && (!p.draw || enough)) return r;
      if (themed && p.draw && !drawn) {
        drawn = true;
        console.log(`[themes] ${kind} ${p.name}: ${r.marks.length ? `${seriesDrawn(r)} series drawn` : 'nothing drawn'}${kind === 'dark' ? ' (lost on the tab switch?)' : ''}; giving it data`);
        void p.draw(api, host);
      }
      last = `background ${r.theme['editor-background']} (luminance ${l.toFixed(2)}), ${r.marks.length} marks`;
    }
    assert.ok(Date.now() < deadline, `${p.name}: no ${kind} report with marks: ${last}`);
  }
}
