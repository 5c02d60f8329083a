// The themes test's hook (asked through host.ts, COLOUR_PROBE): the theme's colours as the webview
// computes them, and every colour its SVG marks are painted with, each named after the theme
// colour it is (none: a colour that is not the theme's, e.g. hard-coded or left from another theme).

import type { ColourReport } from '../../src/protocol/colours';
import { SERIES, seriesPaint } from './colors';

/** The value of a theme variable on the body ('' when the theme does not set it). */
function themeVar(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}

// The theme colours a panel may paint marks with (variable names without --vscode-).
const THEME_NAMES = [
  ...SERIES.map((s) => `charts-${s}`), 'charts-foreground', 'charts-lines', 'foreground', 'descriptionForeground', 'disabledForeground',
  'panel-border', 'editor-background', 'editor-foreground', 'focusBorder', 'errorForeground', 'editorWarning-foreground',
  'testing-iconPassed', 'textLink-foreground', 'badge-background', 'badge-foreground', 'list-activeSelectionBackground',
  'list-activeSelectionForeground', 'editorHoverWidget-background', 'editorHoverWidget-border', 'input-background', 'input-border',
  'widget-border', 'button-background', 'button-foreground',
];

/** A CSS colour as the browser computes it (rgb()/rgba()), through a probe element. */
function computed(value: string, probe: HTMLElement): string {
  probe.style.color = '';
  probe.style.color = value;
  return getComputedStyle(probe).color;
}

const invisible = (c: string) => !c || c === 'none' || /^rgba\(.*,\s*0\)$/.test(c) || c.startsWith('url(');

/** The test hook: the theme's colours, the series colours, and every colour the SVG marks use. */
export function colourReport(): ColourReport {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  document.body.append(probe);
  const theme: Record<string, string> = {};
  for (const n of THEME_NAMES) {
    const v = themeVar(`--vscode-${n}`);
    if (v) theme[n] = computed(v, probe);
  }
  const series = SERIES.map((_, i) => computed(seriesPaint(i), probe));
  SERIES.forEach((_, i) => (theme[`series-${i}`] = series[i]));
  // A colour that is several of them is named after the first: the series, then the theme's.
  const byColour = new Map<string, string>();
  for (const [n, c] of [...Object.entries(theme).filter(([n]) => n.startsWith('series-')), ...Object.entries(theme)]) if (!byColour.has(c)) byColour.set(c, n);
  const marks = new Map<string, { colour: string; theme?: string; count: number; example: string }>();
  for (const el of document.querySelectorAll<SVGElement>('svg path, svg rect, svg circle, svg line, svg polyline, svg polygon, svg text')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const paints = el.tagName.toLowerCase() === 'text' ? [style.fill] : [style.fill, style.stroke];
    for (const c of paints) {
      if (invisible(c)) continue;
      const m = marks.get(c) ?? { colour: c, theme: byColour.get(c), count: 0, example: `${el.tagName.toLowerCase()}${el.getAttribute('class') ? `.${el.getAttribute('class')!.trim().split(/\s+/).join('.')}` : ''}` };
      m.count++;
      marks.set(c, m);
    }
  }
  probe.remove();
  return { theme, series, marks: [...marks.values()] };
}
