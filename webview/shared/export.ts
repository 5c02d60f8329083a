// Chart export shared by the panels: the chart boxes on screen (SVG axes, with the canvas cells
// of heatmaps inlined as images and the theme's computed colours baked in) as one SVG file laid
// out left to right, or the same rendered to a PNG at device-pixel resolution.

import type { SaveParams } from '../../src/protocol/panels';

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

/** One box (a .heatmap wrapper, or any element holding an <svg>) as standalone SVG text. */
function boxSvg(box: HTMLElement): string {
  const svg = (box.tagName.toLowerCase() === 'svg' ? box : box.querySelector('svg')!).cloneNode(true) as SVGSVGElement;
  for (const cells of box.querySelectorAll<HTMLCanvasElement>('canvas.cells')) {
    const img = document.createElementNS('http://www.w3.org/2000/svg', 'image');
    img.setAttribute('href', cells.toDataURL('image/png'));
    img.setAttribute('x', cells.style.left.replace('px', '') || '0');
    img.setAttribute('y', cells.style.top.replace('px', '') || '0');
    img.setAttribute('width', cells.style.width.replace('px', ''));
    img.setAttribute('height', cells.style.height.replace('px', ''));
    img.setAttribute('preserveAspectRatio', 'none');
    svg.insertBefore(img, svg.firstChild);
  }
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  // Every mark keeps the colour it has on screen (theme variables, classes and inline var() paints
  // resolve only in the panel): the computed fill and stroke are baked in as attributes.
  const marks = 'path, rect, circle, line, polyline, polygon, text';
  const live = (box.tagName.toLowerCase() === 'svg' ? box : box.querySelector('svg')!).querySelectorAll<SVGElement>(marks);
  svg.querySelectorAll<SVGElement>(marks).forEach((el, i) => {
    if (!live[i]) return;
    const cs = getComputedStyle(live[i]);
    el.style.removeProperty('fill');
    el.style.removeProperty('stroke');
    el.setAttribute('fill', cs.fill);
    el.setAttribute('stroke', cs.stroke);
  });
  svg.setAttribute('style', `background:${css('--vscode-editor-background', '#fff')}`);
  return new XMLSerializer().serializeToString(svg);
}

export function chartsSvg(boxes: HTMLElement[]): { text: string; width: number; height: number } {
  let x = 0;
  const parts = boxes.map((b) => {
    const g = `<g transform="translate(${x},0)">${boxSvg(b)}</g>`;
    x += b.offsetWidth || Number(b.getAttribute('width')) || 0;
    return g;
  });
  const height = Math.max(...boxes.map((b) => b.offsetHeight || Number(b.getAttribute('height')) || 0));
  return { text: `<svg xmlns="http://www.w3.org/2000/svg" width="${x}" height="${height}">${parts.join('')}</svg>`, width: x, height };
}

/** The same charts as PNG (base64, no data: prefix). */
export async function chartsPng(boxes: HTMLElement[]): Promise<string> {
  const { text, width, height } = chartsSvg(boxes);
  const dpr = window.devicePixelRatio || 1;
  const out = document.createElement('canvas');
  out.width = Math.max(1, Math.round(width * dpr));
  out.height = Math.max(1, Math.round(height * dpr));
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = css('--vscode-editor-background', '#fff');
  ctx.fillRect(0, 0, out.width, out.height);
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(text)))}`;
  await img.decode();
  ctx.drawImage(img, 0, 0, out.width, out.height);
  return out.toDataURL('image/png').split(',')[1];
}

/** The save request for these charts as `<name>.svg` or `<name>.png`. */
export async function chartFile(boxes: HTMLElement[], format: 'png' | 'svg', name: string): Promise<SaveParams> {
  const suggestedName = `${name}.${format}`;
  return format === 'svg' ? { format, suggestedName, text: chartsSvg(boxes).text } : { format, suggestedName, base64: await chartsPng(boxes) };
}
