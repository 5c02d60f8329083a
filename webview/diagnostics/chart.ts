// The Diagnostics panel's grouped bars (d3, SVG), 0…100, before (blue) and after (orange). The
// axis labels are rotated; the margins are computed from the labels' measured widths so that no
// label is ever clipped, however long (ORT's "target · set · form"): the layout makes room, the
// labels are never shortened.

import { select } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import { h } from '../shared/host';
import { labelMargins, type Bar } from './data';

let measurer: CanvasRenderingContext2D | null | undefined;

/** The width of `text` in the chart's font (11px, the panel's family); a rough estimate when there is no canvas. */
function textWidth(text: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * 6.5;
  measurer.font = `11px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
  return measurer.measureText(text).width;
}

/** Grouped bars; clicking a bar group (or Enter on it) calls onPick (EVOKE: lists its cases). */
export function bars(data: Bar[], width: number, onPick?: (b: Bar) => void, selected?: string, keys: [string, string] = ['before', 'after']): HTMLElement {
  const w = Math.max(360, Math.min(1100, width - 16));
  const labelOf = new Map(data.map((b) => [b.key, b.label ?? b.key]));
  const fit = labelMargins(data.map((b) => textWidth(labelOf.get(b.key)!)), w);
  const m = { top: 8, right: 8, bottom: fit.bottom, left: fit.left };
  const hgt = 190 + m.bottom;
  const x = scaleBand<string>().domain(data.map((b) => b.key)).range([m.left, w - m.right]).padding(0.2);
  const inner = scaleBand<string>().domain(['before', 'after']).range([0, x.bandwidth()]).padding(0.05);
  const y = scaleLinear().domain([0, 100]).range([hgt - m.bottom, m.top]);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg')).attr('class', 'chart bars').attr('width', w).attr('height', hgt).attr('role', 'img');
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${hgt - m.bottom})`).call(axisBottom(x).tickFormat((k) => labelOf.get(k) ?? k))
    .selectAll('text').attr('transform', 'rotate(-40)').style('text-anchor', 'end').attr('dx', '-0.4em').attr('dy', '0.4em');
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(5));
  const groups = svg.append('g').selectAll('g').data(data).join('g')
    .attr('class', (b) => `bar-group${b.group === selected ? ' selected' : ''}`)
    .attr('transform', (b) => `translate(${x(b.key)},0)`)
    .attr('tabindex', onPick ? 0 : null)
    .attr('aria-label', (b) => `${b.label ?? b.key}: before ${b.before.toFixed(1)}, after ${b.after.toFixed(1)}`);
  for (const which of ['before', 'after'] as const) {
    groups.append('rect').attr('class', which).attr('x', inner(which)!).attr('width', inner.bandwidth())
      .attr('y', (b) => y(Number.isNaN(b[which]) ? 0 : b[which])).attr('height', (b) => y(0) - y(Number.isNaN(b[which]) ? 0 : b[which]))
      .append('title').text((b) => `${b.label ?? b.key}, ${which}: ${b[which].toFixed(2)}`);
  }
  if (onPick) {
    groups.on('click', (_e, b) => onPick(b)).on('keydown', (e: KeyboardEvent, b) => {
      if (e.key === 'Enter' || e.key === ' ') onPick(b);
    });
  }
  return h('div', {}, h('div', { class: 'keys' }, h('span', { class: 'key before' }, keys[0]), h('span', { class: 'key after' }, keys[1])), svg.node()!);
}

/**
 * How many axis labels of the drawn charts reach outside their chart (clipped), as laid out on
 * screen: 0 is the rule. Hidden charts (no layout) count none.
 */
export function labelsOutside(): number {
  return [...document.querySelectorAll<SVGSVGElement>('svg.bars')].flatMap((svg) => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll<SVGTextElement>('.axis text')].filter((t) => {
      const r = t.getBoundingClientRect();
      return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5);
    });
  }).length;
}
