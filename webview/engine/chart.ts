// Latency chart of the self-test: one bar per timed run (d3, SVG: at most a few hundred bars).

import { select } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import { max } from 'd3-array';

export function latencyChart(runMs: number[], width = 560, height = 200): SVGSVGElement {
  const margin = { top: 10, right: 10, bottom: 30, left: 50 };
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart')
    .attr('width', width)
    .attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `Latency of ${runMs.length} runs`);
  const x = scaleBand<number>().domain(runMs.map((_, i) => i)).range([margin.left, width - margin.right]).padding(0.15);
  const y = scaleLinear().domain([0, (max(runMs) ?? 1) * 1.1]).nice().range([height - margin.bottom, margin.top]);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${height - margin.bottom})`)
    .call(axisBottom(x).tickValues(x.domain().filter((i) => i % Math.ceil(runMs.length / 10) === 0)).tickFormat((i) => String(i + 1)));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${margin.left},0)`).call(axisLeft(y).ticks(5));
  svg.append('text').attr('x', margin.left).attr('y', height - 2).text('run');
  svg.append('text').attr('transform', `translate(12,${margin.top + 60}) rotate(-90)`).text('ms');
  svg.append('g').selectAll('rect').data(runMs).join('rect')
    .attr('class', 'bar')
    .attr('x', (_, i) => x(i) ?? 0)
    .attr('y', (d) => y(d))
    .attr('width', x.bandwidth())
    .attr('height', (d) => y(0) - y(d))
    .append('title').text((d, i) => `run ${i + 1}: ${d.toFixed(3)} ms`);
  return svg.node()!;
}
