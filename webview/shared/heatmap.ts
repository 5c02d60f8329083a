// Heatmaps shared by the panels (Activations, Causal tracing). Pure drawing of the cells onto a
// canvas-like context: one fillRect per cell, colours from a 256-entry lookup table (no string formatting per cell), so 48 × 1024 cells draw in a
// few milliseconds. No DOM types: the unit tests pass a fake context.

/** values[layer * tokens + token]; NaN where there is no value. Layer 0 is drawn at the bottom. */
export interface Grid {
  layers: number;
  tokens: number;
  values: Float32Array;
  /** A text per cell (e.g. the logit-lens top-1), when the metric has one. */
  labels?: string[];
}

/** The part of CanvasRenderingContext2D the heatmap uses. */
export interface CellContext {
  fillStyle: string | unknown;
  strokeStyle: string | unknown;
  lineWidth: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
}

export interface Layout {
  /** The cell area in canvas pixels (layers on y, layer 0 at the bottom; tokens on x). */
  width: number;
  height: number;
}

export type Palette = 'sequential' | 'diverging';

export interface DrawOptions {
  domain: [number, number];
  palette: Palette;
  /** Background for NaN cells. */
  missing: string;
}

function hex(r: number, g: number, b: number): string {
  const c = (v: number) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0');
  return `#${c(r)}${c(g)}${c(b)}`;
}

function ramp(stops: [number, number, number][]): string[] {
  return Array.from({ length: 256 }, (_, i) => {
    const t = (i / 255) * (stops.length - 1);
    const j = Math.min(stops.length - 2, Math.floor(t));
    const f = t - j;
    const [a, b] = [stops[j], stops[j + 1]];
    return hex(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f);
  });
}

// Viridis (perceptually uniform, readable in light, dark and high-contrast themes) and a
// blue-white-red diverging ramp for differences.
const VIRIDIS = ramp([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]]);
const DIVERGING = ramp([[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43]]);

export function paletteColors(p: Palette): readonly string[] {
  return p === 'diverging' ? DIVERGING : VIRIDIS;
}

/** The lookup-table index (0…255) of a value; -1 for NaN. Diverging domains are centred on 0. */
export function colorIndex(v: number, domain: [number, number], palette: Palette): number {
  if (Number.isNaN(v)) return -1;
  let t: number;
  if (palette === 'diverging') {
    const m = Math.max(Math.abs(domain[0]), Math.abs(domain[1])) || 1;
    t = (v / m + 1) / 2;
  } else {
    const span = domain[1] - domain[0];
    t = span > 0 ? (v - domain[0]) / span : 0.5;
  }
  return Math.max(0, Math.min(255, Math.round(t * 255)));
}

export function cellSize(g: Grid, layout: Layout): { w: number; h: number } {
  return { w: layout.width / g.tokens, h: layout.height / g.layers };
}

/** Draws every cell; returns the number of fillRect calls. */
export function drawCells(ctx: CellContext, g: Grid, layout: Layout, o: DrawOptions): number {
  const colors = paletteColors(o.palette);
  const { w, h } = cellSize(g, layout);
  ctx.clearRect(0, 0, layout.width, layout.height);
  // Cells snapped to whole pixels so neighbours meet without hairline gaps.
  const xs = new Float64Array(g.tokens + 1);
  for (let p = 0; p <= g.tokens; p++) xs[p] = Math.round(p * w);
  let calls = 0;
  let current = '';
  for (let l = 0; l < g.layers; l++) {
    const y0 = Math.round(layout.height - (l + 1) * h);
    const y1 = Math.round(layout.height - l * h);
    const base = l * g.tokens;
    for (let p = 0; p < g.tokens; p++) {
      const i = colorIndex(g.values[base + p], o.domain, o.palette);
      const c = i < 0 ? o.missing : colors[i];
      if (c !== current) {
        ctx.fillStyle = c;
        current = c;
      }
      ctx.fillRect(xs[p], y0, Math.max(1, xs[p + 1] - xs[p]), Math.max(1, y1 - y0));
      calls++;
    }
  }
  return calls;
}

/** The cell under a point of the cell area, or undefined outside it. */
export function hitTest(g: Grid, layout: Layout, x: number, y: number): { layer: number; token: number } | undefined {
  if (x < 0 || y < 0 || x >= layout.width || y >= layout.height) return undefined;
  const { w, h } = cellSize(g, layout);
  const token = Math.min(g.tokens - 1, Math.floor(x / w));
  const layer = Math.min(g.layers - 1, Math.floor((layout.height - y) / h));
  return { layer, token };
}

/** The cursor / hover outline: drawn on an overlay canvas, so hovering never redraws the cells. */
export function drawCursor(ctx: CellContext, g: Grid, layout: Layout, cell: { layer: number; token: number } | undefined, color: string, selectedToken?: number): void {
  ctx.clearRect(0, 0, layout.width, layout.height);
  const { w, h } = cellSize(g, layout);
  ctx.lineWidth = 1;
  if (selectedToken !== undefined) {
    ctx.strokeStyle = color;
    ctx.strokeRect(Math.round(selectedToken * w) + 0.5, 0.5, Math.max(1, Math.round(w) - 1), layout.height - 1);
  }
  if (cell) {
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.strokeRect(Math.round(cell.token * w) + 1, Math.round(layout.height - (cell.layer + 1) * h) + 1, Math.max(2, Math.round(w) - 2), Math.max(2, Math.round(h) - 2));
  }
}

/**
 * Where a tooltip of size (w, h) goes for a pointer at (x, y), in page coordinates, inside a page
 * whose visible part is [left, left + viewW) × [top, top + viewH): below-right of the pointer,
 * flipped to the left (or above) where it would cross the right (or bottom) edge, never off-page.
 */
export function placeTooltip(x: number, y: number, w: number, h: number, view: { left: number; top: number; width: number; height: number }, gap = 14): { left: number; top: number } {
  let left = x + gap;
  if (left + w > view.left + view.width) left = x - gap - w;
  let top = y + gap;
  if (top + h > view.top + view.height) top = y - gap - h;
  return { left: Math.max(view.left, left), top: Math.max(view.top, top) };
}

/** The part of a 2-D context that cell labels need. */
export interface LabelContext {
  fillStyle: string | unknown;
  font: string;
  textAlign: string;
  textBaseline: string;
  fillText(text: string, x: number, y: number, maxWidth?: number): void;
}

/**
 * Writes each cell's label (Grid.labels, e.g. the logit lens top-1 token) in the cell, when cells
 * are at least minWidth × 10 pixels; returns the number written. Text colour contrasts with the
 * cell's colour (dark on the light end of the palette, light on the dark end).
 */
export function drawLabels(ctx: LabelContext, g: Grid, layout: Layout, o: DrawOptions, dpr = 1, minWidth = 26): number {
  if (!g.labels) return 0;
  const { w, h } = cellSize(g, layout);
  if (w < minWidth * dpr || h < 10 * dpr) return 0;
  ctx.font = `${Math.round(Math.min(h * 0.7, 11 * dpr))}px sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  let n = 0;
  for (let l = 0; l < g.layers; l++) {
    for (let p = 0; p < g.tokens; p++) {
      const text = g.labels[l * g.tokens + p];
      if (!text) continue;
      const i = colorIndex(g.values[l * g.tokens + p], o.domain, o.palette);
      ctx.fillStyle = o.palette === 'sequential' ? (i > 150 ? '#000' : '#fff') : '#000';
      ctx.fillText(text.trim() || '␣', (p + 0.5) * w, layout.height - (l + 0.5) * h, w - 2);
      n++;
    }
  }
  return n;
}

/** Arrow-key cursor movement, clamped to the grid. */
export function moveCursor(g: Grid, cell: { layer: number; token: number }, key: string): { layer: number; token: number } {
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  switch (key) {
    case 'ArrowLeft': return { ...cell, token: clamp(cell.token - 1, g.tokens) };
    case 'ArrowRight': return { ...cell, token: clamp(cell.token + 1, g.tokens) };
    case 'ArrowUp': return { ...cell, layer: clamp(cell.layer + 1, g.layers) };
    case 'ArrowDown': return { ...cell, layer: clamp(cell.layer - 1, g.layers) };
    case 'Home': return { ...cell, token: 0 };
    case 'End': return { ...cell, token: g.tokens - 1 };
    default: return cell;
  }
}
