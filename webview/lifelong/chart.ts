// The Lifelong editing panel's small multiples (d3 scales and axes, one SVG): a chart per measure
// (data.ts MEASURES), the number of edits along x, a line per method with a dot per measured point.
// Colours are the theme's series colours as inline var() paints (they follow a theme change; the
// PNG / SVG exports bake the computed colours: shared/export.ts); the legend is part of the SVG.

import { select } from 'd3-selection';
import { scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import type { LifelongRunSnapshot } from '../../src/protocol/lifelong';
import type { MethodChoice } from '../../src/protocol/registry';
import { editsDomain, linePath, measureLines, MEASURES, methodLabel, methodStyle } from './data';

// A theme variable with its fallback, as an inline paint: marks follow a theme change without a redraw.
const paint = ([name, fallback]: [string, string]) => `var(${name}, ${fallback})`;

const CELL_H = 210;
const LEGEND_H = 26;

/** `methods`: the panel's method list (labels, and each method's style by its place in it). */
export function curvesChart(runs: readonly LifelongRunSnapshot[], width: number, methods: readonly MethodChoice[]): SVGSVGElement {
  const order = methods.map((x) => x.id);
  const label = (id: string) => methodLabel(id, methods);
  const style = (id: string) => methodStyle(id, order, runs);
  const cols = Math.max(1, Math.min(MEASURES.length, Math.floor(width / 290)));
  const cellW = Math.floor(width / cols);
  const rows = Math.ceil(MEASURES.length / cols);
  const height = LEGEND_H + rows * CELL_H;
  const m = { top: 24, right: 14, bottom: 34, left: 46 };
  const end = editsDomain(runs);
  const shown = runs.filter((r) => r.points.length);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart curves')
    .attr('width', cols * cellW)
    .attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `${MEASURES.map((x) => x.label).join(', ')} against the number of edits, for ${shown.map((r) => label(r.method)).join(', ') || 'no method yet'}`);

  const legend = svg.append('g').attr('class', 'legend-items').attr('transform', `translate(${m.left},14)`);
  let lx = 0;
  for (const r of runs) {
    const s = style(r.method);
    const g = legend.append('g').attr('transform', `translate(${lx},0)`);
    g.append('rect').attr('class', `swatch swatch-${r.method}`).attr('x', 0).attr('y', -1.5).attr('width', 22).attr('height', 3).style('fill', paint(s.colour));
    g.append('text').attr('x', 28).attr('y', 4).text(label(r.method));
    lx += 40 + 8 * label(r.method).length;
  }

  MEASURES.forEach((measure, i) => {
    const ox = (i % cols) * cellW;
    const oy = LEGEND_H + Math.floor(i / cols) * CELL_H;
    const cell = svg.append('g').attr('class', `cell cell-${measure.key}`).attr('transform', `translate(${ox},${oy})`);
    const lines = measureLines(runs, measure);
    const x = scaleLinear().domain([0, end]).range([m.left, cellW - m.right]);
    const top = measure.percent ? 100 : Math.max(1e-6, ...lines.flatMap((l) => l.values.map((v) => v[1]))) * 1.1;
    const y = scaleLinear().domain([0, top]).nice().range([CELL_H - m.bottom, m.top]);
    cell.append('text').attr('class', 'cell-title').attr('x', m.left).attr('y', 14).text(measure.label);
    cell.append('g').attr('class', 'axis').attr('transform', `translate(0,${CELL_H - m.bottom})`).call(axisBottom(x).tickValues(x.ticks(Math.min(end, Math.max(2, Math.floor(cellW / 70)))).filter(Number.isInteger)).tickFormat((d) => String(d)));
    cell.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(5).tickFormat((d) => (measure.percent ? `${d} %` : String(d))));
    cell.append('text').attr('class', 'axis-label').attr('x', (m.left + cellW - m.right) / 2).attr('y', CELL_H - 4).attr('text-anchor', 'middle').text('edits');
    for (const l of lines) {
      const s = style(l.method);
      const colour = paint(s.colour);
      cell.append('path').attr('class', `line line-${l.method}`).attr('fill', 'none').style('stroke', colour).attr('stroke-width', 2).attr('stroke-dasharray', s.dash || null).attr('d', linePath(l.values, x, y));
      cell.append('g').attr('class', `dots dots-${l.method}`).selectAll('circle').data(l.values).join('circle')
        .attr('class', 'pt').attr('cx', (v) => x(v[0])).attr('cy', (v) => y(v[1])).attr('r', l.values.length > 80 ? 1.5 : 2.5).style('fill', colour)
        .append('title').text((v) => `${label(l.method)} after ${v[0]} edits: ${measure.label} ${measure.percent ? `${v[1].toFixed(1)} %` : v[1].toPrecision(3)}`);
    }
  });
  return svg.node()!;
}
