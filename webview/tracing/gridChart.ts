// A labelled heatmap of a rows × columns grid (the Patching tab's node grids, the Attention view's
// query × key patterns): canvas cells (shared/heatmap.ts), d3 axes, a tooltip on hover, a click
// callback. Row 0 is drawn at the bottom unless `topDown`.

import { select } from 'd3-selection';
import { scaleBand } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import { h } from '../shared/host';
import { heatmapDom, showTooltipAt } from '../shared/canvas';
import { drawCells, drawCursor, hitTest, type Grid, type Palette } from '../shared/heatmap';

export interface GridChart {
  title: string;
  /** Row labels, row 0 first. */
  rows: string[];
  columns: string[];
  /** values[row][column]; null: no value. */
  values: (number | null)[][];
  domain: [number, number];
  palette: Palette;
  yTitle: string;
  topDown?: boolean;
  tooltip: (row: number, column: number) => (Node | string)[];
  onClick?: (row: number, column: number) => void;
  id?: string;
}

const MARGIN = { top: 8, right: 8, bottom: 64, left: 56 };
const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export function gridChart(c: GridChart, width: number, tooltip: HTMLElement): HTMLElement {
  const R = c.rows.length;
  const C = c.columns.length;
  // Grid rows run bottom-up (layer 0 at the bottom); topDown flips the data so row 0 is on top.
  const at = (gridRow: number) => (c.topDown ? R - 1 - gridRow : gridRow);
  const values = new Float32Array(R * C);
  for (let l = 0; l < R; l++) for (let t = 0; t < C; t++) values[l * C + t] = c.values[at(l)][t] ?? NaN;
  const g: Grid = { layers: R, tokens: C, values };
  const cw = Math.max(120, width - MARGIN.left - MARGIN.right);
  const ch = Math.max(80, Math.min(520, R * 16));
  const { wrap, cells, overlay, dpr } = heatmapDom(cw, ch, MARGIN);
  if (c.id) wrap.id = c.id;
  overlay.tabIndex = 0;
  overlay.setAttribute('role', 'grid');
  overlay.setAttribute('aria-label', `${c.title}: ${R} rows × ${C} columns`);
  const layout = { width: cells.width, height: cells.height };
  drawCells(cells.getContext('2d')!, g, layout, { domain: c.domain, palette: c.palette, missing: css('--vscode-editor-background', '#000') });
  const octx = overlay.getContext('2d')!;
  const accent = css('--vscode-focusBorder', '#007fd4');
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart axes').attr('width', cw + MARGIN.left + MARGIN.right).attr('height', ch + MARGIN.top + MARGIN.bottom);
  const x = scaleBand<number>().domain(c.columns.map((_, i) => i)).range([MARGIN.left, MARGIN.left + cw]);
  const y = scaleBand<number>().domain(Array.from({ length: R }, (_, i) => i)).range([MARGIN.top + ch, MARGIN.top]);
  const yEvery = Math.ceil(R / Math.max(1, Math.floor(ch / 14)));
  svg.append('g').attr('class', 'axis x').attr('transform', `translate(0,${MARGIN.top + ch})`)
    .call(axisBottom(x).tickFormat((i) => c.columns[i].slice(0, 12)))
    .selectAll('text').attr('transform', 'rotate(-45)').style('text-anchor', 'end').attr('dx', '-0.4em').attr('dy', '0.3em');
  svg.append('g').attr('class', 'axis y').attr('transform', `translate(${MARGIN.left},0)`)
    .call(axisLeft(y).tickValues(y.domain().filter((i) => i % yEvery === 0)).tickFormat((i) => c.rows[at(i)].slice(0, 10)));
  svg.append('text').attr('transform', `translate(10,${MARGIN.top + ch / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(c.yTitle);
  const cellAt = (e: MouseEvent) => {
    const b = overlay.getBoundingClientRect();
    return hitTest(g, layout, (e.clientX - b.left) * dpr, (e.clientY - b.top) * dpr);
  };
  overlay.addEventListener('mousemove', (e) => {
    const cell = cellAt(e);
    if (!cell) return;
    drawCursor(octx, g, layout, cell, accent);
    tooltip.replaceChildren(...c.tooltip(at(cell.layer), cell.token).map((n) => h('div', {}, n)));
    showTooltipAt(tooltip, e.pageX, e.pageY);
  });
  overlay.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    drawCursor(octx, g, layout, undefined, accent);
  });
  if (c.onClick) {
    overlay.addEventListener('click', (e) => {
      const cell = cellAt(e);
      if (cell) c.onClick!(at(cell.layer), cell.token);
    });
  }
  wrap.append(svg.node()!, cells, overlay);
  return h('div', { class: 'chart-box' }, h('h3', {}, c.title), wrap);
}
