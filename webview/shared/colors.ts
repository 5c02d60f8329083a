// The panels' colours, from the theme (light, dark and high-contrast alike): chart series take the
// theme's --vscode-charts-* colours in one order, made opaque (base.css --series-0…5: VS Code's
// default charts.orange is 33 % transparent and reads dark brown on a dark background), text and
// axes the foreground. Nothing here is a hard-coded colour.
//
// Series order: blue, orange, green, red, purple, yellow (then again). "Before" is blue and
// "after" orange wherever both are shown (--series-before, --series-after); CSS uses the
// variables, code that sets paints inline uses seriesPaint(). Pure (no DOM: the unit tests load it through the panels'
// data modules); colorReport.ts reads the colours in the webview.

export const SERIES = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'] as const;
export type SeriesName = (typeof SERIES)[number];

/** The CSS variable of series i (wrapping around), e.g. '--vscode-charts-blue'. */
export function seriesVar(i: number): string {
  return `--vscode-charts-${SERIES[wrap(i)]}`;
}

/** The index of series i in the palette (wrapping around). */
function wrap(i: number): number {
  return ((i % SERIES.length) + SERIES.length) % SERIES.length;
}

/** The custom property (base.css) of series i's opaque colour, e.g. '--series-0'. */
export function seriesProp(i: number): string {
  return `--series-${wrap(i)}`;
}

/**
 * Series i's paint for an inline style (style('stroke', …)): base.css's --series-<i>, so that the
 * marks follow a theme change without a redraw (exports bake the computed colour: export.ts).
 */
export function seriesPaint(i: number): string {
  return `var(${seriesProp(i)})`;
}

/** Colours roles: the same meaning has the same colour in every panel. */
export const ROLE_SERIES = { before: 0, after: 1 } as const;
