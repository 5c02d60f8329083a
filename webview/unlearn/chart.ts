// The loss chart of an unlearning run (d3 scales and axes, SVG): the loss per step on the left
// axis, the forget items' top-1 accuracy (and the other 0…1 metrics) on the right axis in
// percent, the x axis spanning the planned steps so the run fills it as it trains. Colours are the
// theme's series colours as inline var() paints (they follow a theme change; exports bake the
// computed colours: shared/export.ts); the legend is part of the SVG.

import { select } from 'd3-selection';
import { scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft, axisRight } from 'd3-axis';
import { max, min } from 'd3-array';
import type { UnlearnChartPoint } from '../../src/protocol/panels';
import { chartSeries, linePath } from './data';
import { seriesPaint } from '../shared/colors';

export function lossChart(points: readonly UnlearnChartPoint[], o: { steps?: number; width: number; height?: number }): SVGSVGElement {
  const width = o.width;
  const height = o.height ?? 260;
  const m = { top: 28, right: 52, bottom: 34, left: 56 };
  const s = chartSeries(points);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart loss-chart')
    .attr('width', width)
    .attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `Loss${s.rates.length ? ` and ${s.rates.map((r) => r.label).join(', ')}` : ''} over ${s.last} steps`);
  const x = scaleLinear().domain([1, Math.max(2, o.steps ?? 0, s.last)]).range([m.left, width - m.right]);
  const lo = min(s.loss.values, (v) => v[1]) ?? 0;
  const hi = max(s.loss.values, (v) => v[1]) ?? 1;
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  const yLoss = scaleLinear().domain([lo - pad, hi + pad]).nice().range([height - m.bottom, m.top]);
  const yRate = scaleLinear().domain([0, 1]).range([height - m.bottom, m.top]);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${height - m.bottom})`).call(axisBottom(x).ticks(Math.min(10, Math.max(1, (o.steps ?? s.last) - 1))).tickFormat((d) => String(d)));
  svg.append('g').attr('class', 'axis axis-loss').attr('transform', `translate(${m.left},0)`).call(axisLeft(yLoss).ticks(5));
  svg.append('g').attr('class', 'axis axis-rate').attr('transform', `translate(${width - m.right},0)`).call(axisRight(yRate).ticks(5).tickFormat((d) => `${Math.round(100 * Number(d))} %`));
  svg.append('text').attr('x', (m.left + width - m.right) / 2).attr('y', height - 4).attr('text-anchor', 'middle').text('step');
  svg.append('text').attr('transform', `translate(14,${(m.top + height - m.bottom) / 2}) rotate(-90)`).attr('text-anchor', 'middle').text('loss');
  // The theme's series colours (shared/colors.ts), solid lines: thin dashes vanish on dark themes.
  const lines = [
    { series: s.loss, y: yLoss, cls: 'line-loss', colour: seriesPaint(0) },
    ...s.rates.map((r, i) => ({ series: r, y: yRate, cls: `line-rate line-${r.key}`, colour: seriesPaint(i + 1) })),
  ];
  for (const l of lines) {
    svg.append('path').attr('class', `line ${l.cls}`).attr('fill', 'none').style('stroke', l.colour).attr('stroke-width', 2).attr('d', linePath(l.series.values, x, l.y));
    // One dot per step while there are few, so a short run still shows its points.
    if (l.series.values.length <= 60) {
      svg.append('g').attr('class', `dots ${l.cls}`).selectAll('circle').data(l.series.values).join('circle')
        .attr('cx', (v) => x(v[0])).attr('cy', (v) => l.y(v[1])).attr('r', 2.5).style('fill', l.colour)
        .append('title').text((v) => `step ${v[0]}: ${l.series.label} ${l.y === yRate ? `${(100 * v[1]).toFixed(1)} %` : v[1].toFixed(4)}`);
    }
  }
  // Legend, top left, in the SVG (exports keep it).
  const legend = svg.append('g').attr('class', 'legend-items').attr('transform', `translate(${m.left},12)`);
  let lx = 0;
  for (const l of lines) {
    const g = legend.append('g').attr('transform', `translate(${lx},0)`);
    g.append('rect').attr('class', `swatch ${l.cls}`).attr('x', 0).attr('y', -1.5).attr('width', 16).attr('height', 3).style('fill', l.colour);
    g.append('text').attr('x', 20).attr('y', 4).text(`${l.series.label}${l.y === yRate ? ' (%)' : ''}`);
    lx += 32 + 7 * (l.series.label.length + (l.y === yRate ? 4 : 0));
  }
  return svg.node()!;
}
