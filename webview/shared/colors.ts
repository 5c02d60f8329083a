// The panels' colours, from the theme (light, dark and high-contrast alike): chart series take the
// theme's --vscode-charts-* colours in one order, text and axes the foreground. Nothing here is a
// hard-coded colour, so nothing vanishes on a dark background.
//
// Series order: blue, orange, green, red, purple, yellow (then again). "Before" is blue and
// "after" orange wherever both are shown. Pure (no DOM: the unit tests load it through the panels'
// data modules); colorReport.ts reads the colours in the webview.

export const SERIES = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'] as const;
export type SeriesName = (typeof SERIES)[number];

/** The CSS variable of series i (wrapping around), e.g. '--vscode-charts-blue'. */
export function seriesVar(i: number): string {
  return `--vscode-charts-${SERIES[((i % SERIES.length) + SERIES.length) % SERIES.length]}`;
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
