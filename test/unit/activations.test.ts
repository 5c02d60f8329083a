// The Activations panel's pure data and drawing functions (webview/activations/data.ts, draw.ts),
// with a fake canvas context; prints the draw time of a 48-layer × 1024-token heatmap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceResult } from '../../src/protocol/model';
import { column, diffGrid, extent, metricGrid, toCsv, cellDetails } from '../../webview/activations/data';
import { colorIndex, drawCells, drawCursor, hitTest, moveCursor, type CellContext } from '../../webview/shared/heatmap';

function fakeTrace(layers: number, tokens: number, shift = 0): TraceResult {
  const tok = (i: number) => ({ id: i, text: `t${i}` });
  return {
    tokens: Array.from({ length: tokens }, (_, i) => tok(i)),
    target: { id: 7, text: 't7' },
    layers: Array.from({ length: layers }, (_, l) => ({
      layer: l,
      residNorm: Array.from({ length: tokens }, (_, p) => l * 10 + p + shift),
      attnNorm: Array.from({ length: tokens }, () => 1),
      mlpNorm: Array.from({ length: tokens }, (_, p) => p),
      targetProb: Array.from({ length: tokens }, () => (l + 1) / layers),
      lens: Array.from({ length: tokens }, (_, p) => ({ ...tok(p), prob: 0.5 })),
      topk: Array.from({ length: tokens }, (_, p) => [{ ...tok(p), prob: 0.5 }, { ...tok(p + 1), prob: 0.25 }]),
    })),
  };
}

class FakeContext implements CellContext {
  fillStyle: unknown = '';
  strokeStyle: unknown = '';
  lineWidth = 1;
  fills = 0;
  styles = 0;
  strokes: number[][] = [];
  private last: unknown;
  area = 0;
  fillRect(_x: number, _y: number, w: number, h: number): void {
    this.fills++;
    this.area += w * h;
    if (this.fillStyle !== this.last) {
      this.styles++;
      this.last = this.fillStyle;
    }
  }
  clearRect(): void {}
  strokeRect(x: number, y: number, w: number, h: number): void {
    this.strokes.push([x, y, w, h]);
  }
}

test('metric grids are layer-major and pick the right field', () => {
  const t = fakeTrace(3, 4);
  const g = metricGrid(t, 'residNorm');
  assert.equal(g.layers, 3);
  assert.equal(g.tokens, 4);
  assert.equal(g.values[2 * 4 + 1], 21);
  assert.deepEqual(column(g, 1), [1, 11, 21]);
  assert.deepEqual(Array.from(metricGrid(t, 'targetProb').values.slice(0, 4)), [1 / 3, 1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  assert.equal(metricGrid(t, 'lensProb').labels![5], 't1');
  const noTarget = { ...t, layers: t.layers.map(({ targetProb: _, ...l }) => l) };
  assert.ok(Number.isNaN(metricGrid(noTarget, 'targetProb').values[0]));
});

test('difference grid and extent', () => {
  const d = diffGrid(metricGrid(fakeTrace(2, 3, 5), 'residNorm'), metricGrid(fakeTrace(2, 3), 'residNorm'));
  assert.deepEqual(Array.from(d.values), [5, 5, 5, 5, 5, 5]);
  assert.deepEqual(extent(new Float32Array([3, -1, NaN, 2])), [-1, 3]);
  assert.throws(() => diffGrid(metricGrid(fakeTrace(2, 3), 'mlpNorm'), metricGrid(fakeTrace(3, 3), 'mlpNorm')));
});

test('colour index: sequential over the domain, diverging centred on zero, NaN missing', () => {
  assert.equal(colorIndex(0, [0, 1], 'sequential'), 0);
  assert.equal(colorIndex(1, [0, 1], 'sequential'), 255);
  assert.equal(colorIndex(5, [0, 1], 'sequential'), 255);
  assert.equal(colorIndex(0, [-2, 1], 'diverging'), 128);
  assert.equal(colorIndex(-2, [-2, 1], 'diverging'), 0);
  assert.equal(colorIndex(NaN, [0, 1], 'sequential'), -1);
});

test('drawCells fills every cell once, covering the whole area', () => {
  const g = metricGrid(fakeTrace(4, 6), 'residNorm');
  const ctx = new FakeContext();
  const calls = drawCells(ctx, g, { width: 60, height: 40 }, { domain: extent(g.values), palette: 'sequential', missing: '#000' });
  assert.equal(calls, 24);
  assert.equal(ctx.fills, 24);
  assert.equal(ctx.area, 60 * 40);
});

test('hit test, cursor keys and cursor outline', () => {
  const g = metricGrid(fakeTrace(4, 6), 'residNorm');
  const layout = { width: 60, height: 40 };
  assert.deepEqual(hitTest(g, layout, 0, 39), { layer: 0, token: 0 });
  assert.deepEqual(hitTest(g, layout, 59, 0), { layer: 3, token: 5 });
  assert.deepEqual(hitTest(g, layout, 25, 15), { layer: 2, token: 2 });
  assert.equal(hitTest(g, layout, 60, 0), undefined);
  let c = { layer: 0, token: 0 };
  c = moveCursor(g, c, 'ArrowLeft');
  assert.deepEqual(c, { layer: 0, token: 0 });
  c = moveCursor(g, moveCursor(g, c, 'ArrowRight'), 'ArrowUp');
  assert.deepEqual(c, { layer: 1, token: 1 });
  assert.deepEqual(moveCursor(g, c, 'End'), { layer: 1, token: 5 });
  assert.equal(moveCursor(g, c, 'x'), c);
  const ctx = new FakeContext();
  drawCursor(ctx, g, layout, c, '#f00', 3);
  assert.equal(ctx.strokes.length, 2);
});

test('CSV has one row per cell with quoted token texts', () => {
  const t = fakeTrace(2, 2);
  t.tokens[1].text = 'a,"b"';
  const csv = toCsv(t, 'mlpNorm', 'after').trim().split('\n');
  assert.equal(csv.length, 1 + 4);
  assert.equal(csv[2], 'after,0,1,"a,""b""",mlpNorm,1,t1,0.5');
  const d = cellDetails(t, 'residNorm', 1, 1);
  assert.equal(d.value, 11);
  assert.equal(d.topk.length, 2);
});

test('timing: 48 layers × 1024 tokens (printed, not asserted)', () => {
  const g = metricGrid(fakeTrace(48, 1024), 'residNorm');
  const layout = { width: 2048, height: 960 };
  const o = { domain: extent(g.values), palette: 'sequential' as const, missing: '#000' };
  drawCells(new FakeContext(), g, layout, o); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const ctx = new FakeContext();
    const t0 = performance.now();
    const n = drawCells(ctx, g, layout, o);
    times.push(performance.now() - t0);
    assert.equal(n, 48 * 1024);
  }
  times.sort((a, b) => a - b);
  const hover: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const cell = hitTest(g, layout, (i * 37) % 2048, (i * 13) % 960);
    drawCursor(new FakeContext(), g, layout, cell, '#fff', 5);
    hover.push(performance.now() - t0);
  }
  hover.sort((a, b) => a - b);
  console.log(`activations draw 48×1024 (fake context): median ${times[5].toFixed(2)} ms, max ${times[9].toFixed(2)} ms; hover update median ${(hover[100] * 1000).toFixed(1)} µs`);
});
