// What a webview reports of the colours it draws with (the themes test hook, webview/shared/colors.ts):
// the theme's colours it knows by name, and every distinct colour its SVG marks are painted with.

/** The message the host posts to ask (kind 'notify'), and the one the webview answers with. */
export const COLOUR_PROBE = 'mechedit.probeColours';
export const COLOUR_REPORT = 'mechedit.colours';

export interface ColourReport {
  /** The theme's colours by variable name without --vscode- ('charts-blue', 'foreground', …) and the series' opaque colours ('series-0'…'series-5', base.css), as computed CSS colour strings. */
  theme: Record<string, string>;
  /** The colour the shared palette gives series 0, 1, … (base.css --series-<i>), computed. */
  series: string[];
  /** Each distinct colour of the SVG marks (shapes' fill and stroke, text fill), with the theme colour it is (if any), how many marks use it and one of them. */
  marks: { colour: string; theme?: string; count: number; example: string }[];
}
