// The panels' colours, from the theme (light, dark and high-contrast alike): chart series take the
// theme's --vscode-charts-* colours in one order, text and axes the foreground. Nothing here is a
// hard-coded colour, so nothing vanishes on a dark background.
//
// Series order: blue, orange, green, red, purple, yellow (then again). "Before" is blue and
// "after" orange wherever both are shown. colourReport() is the test hook: the themes test asks
// every panel (COLOUR_PROBE, see host.ts) and checks that each mark is painted with a theme colour.

import type { ColourReport } from '../../src/protocol/colours';

export const SERIES = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'] as const;
export type SeriesName = (typeof SERIES)[number];

/** The CSS variable of series i (wrapping around), e.g. '--vscode-charts-blue'. */
export function seriesVar(i: number): string {
  return `--vscode-charts-${SERIES[((i % SERIES.length) + SERIES.length) % SERIES.length]}`;
}

/** The value of a theme variable on the body ('' when the theme does not set it). */
export function themeVar(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}

/** Series i's colour as the theme sets it (the foreground when a theme has no chart colours). */
export function seriesColour(i: number): string {
  return themeVar(seriesVar(i)) || themeVar('--vscode-foreground');
}

/**
 * Series i's paint for an inline style (style('stroke', …)): the variable itself, so that the
 * marks follow a theme change without a redraw (exports bake the computed colour: export.ts).
 */
export function seriesPaint(i: number): string {
  return `var(${seriesVar(i)}, var(--vscode-foreground))`;
}

/** Colours roles: the same meaning has the same colour in every panel. */
export const ROLE_SERIES = { before: 0, after: 1 } as const;

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
  const series = SERIES.map((_, i) => computed(seriesColour(i), probe));
  const byColour = new Map<string, string>();
  for (const [n, c] of Object.entries(theme)) if (!byColour.has(c)) byColour.set(c, n);
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
