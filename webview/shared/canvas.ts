// The DOM of a heatmap: a wrapper sized for the cells plus margins, a cell canvas and an overlay
// canvas (for the cursor, so hovering never redraws the cells), both at device-pixel resolution.

import { h } from './host';
import { placeTooltip } from './heatmap';

export interface HeatmapDom {
  wrap: HTMLElement;
  cells: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
  dpr: number;
}

export function heatmapDom(cw: number, ch: number, margin: { top: number; right: number; bottom: number; left: number }): HeatmapDom {
  const wrap = h('div', { class: 'heatmap' });
  wrap.style.width = `${cw + margin.left + margin.right}px`;
  wrap.style.height = `${ch + margin.top + margin.bottom}px`;
  const dpr = window.devicePixelRatio || 1;
  const mk = (cls: string) => {
    const cv = document.createElement('canvas');
    cv.className = cls;
    cv.width = Math.round(cw * dpr);
    cv.height = Math.round(ch * dpr);
    Object.assign(cv.style, { width: `${cw}px`, height: `${ch}px`, left: `${margin.left}px`, top: `${margin.top}px` });
    return cv;
  };
  return { wrap, cells: mk('cells'), overlay: mk('overlay'), dpr };
}

/** Shows `tooltip` by the pointer at page (x, y), kept inside the visible page (placeTooltip). */
export function showTooltipAt(tooltip: HTMLElement, x: number, y: number): void {
  tooltip.hidden = false;
  const view = { left: window.scrollX, top: window.scrollY, width: document.documentElement.clientWidth, height: document.documentElement.clientHeight };
  const at = placeTooltip(x, y, tooltip.offsetWidth, tooltip.offsetHeight, view);
  tooltip.style.left = `${at.left}px`;
  tooltip.style.top = `${at.top}px`;
}
