// The two charts, drawn as SVG by hand: a bar chart of clicks per feature and a line chart of daily clicks. Six bars
// and a few dozen points need no chart library, and the page then has no build step and nothing to download.
// Each chart keeps the data it shows in data-series (JSON), which the end-to-end test compares with the API.

const SVG = 'http://www.w3.org/2000/svg';
const PAD = { top: 22, right: 16, bottom: 46, left: 44 };

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About five round steps from 0 to at least max (1, 2, 5 × 10^n), so the axis reads well. */
function ticks(max) {
  if (max <= 0) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // Whole steps: the counts are whole, and an axis of 0.2 clicks reads oddly.
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw));
  const out = [];
  for (let v = 0; v < max + step; v += step) out.push(v);
  return out;
}

/**
 * A fresh SVG in the container with a y axis from 0 to at least max, gridlines and labels: what both charts draw on.
 * series (the chart's data) goes to data-series. Returns the SVG, the axis top and the plot's size inside PAD.
 */
function plot(container, { width, height, series, label, max }) {
  container.replaceChildren();
  container.dataset.series = JSON.stringify(series);
  const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  container.append(svg);
  const scale = ticks(max);
  const top = scale[scale.length - 1];
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  for (const t of scale) {
    const y = PAD.top + plotH * (1 - t / top);
    svg.append(el('line', { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: 'grid-line' }));
    svg.append(el('text', { x: PAD.left - 8, y: y + 4, class: 'axis-label', 'text-anchor': 'end' }, t.toLocaleString('en-US')));
  }
  return { svg, top, plotW, plotH };
}

function empty(container, text) {
  container.replaceChildren();
  container.dataset.series = '[]';
  const p = document.createElement('p');
  p.className = 'chart-empty';
  p.textContent = text;
  container.append(p);
}

/**
 * counts: [{feature_name, count}] (the API's order, most clicked first). zoom widens the plot (the box scrolls
 * sideways); selected is the highlighted feature; onSelect(feature) runs on a click or Enter/Space on a bar.
 */
export function barChart(container, counts, { width, height = 280, zoom = 1, selected = '', onSelect }) {
  if (counts.length === 0) return empty(container, 'No clicks match these filters.');
  const { svg, top, plotW, plotH } = plot(container, {
    width: Math.max(width, 200) * zoom, height, series: counts.map((c) => [c.feature_name, c.count]),
    label: 'Clicks per feature', max: Math.max(...counts.map((c) => c.count)),
  });
  const slot = plotW / counts.length;
  const barW = Math.min(slot * 0.62, 90 * zoom);
  counts.forEach((c, i) => {
    const h = (plotH * c.count) / top;
    const x = PAD.left + slot * i + (slot - barW) / 2;
    const y = PAD.top + plotH - h;
    const g = el('g', {
      class: `bar${c.feature_name === selected ? ' selected' : ''}`, tabindex: 0, role: 'button',
      'data-feature': c.feature_name, 'data-count': c.count,
      'aria-label': `${c.feature_name}: ${c.count} clicks`, 'aria-pressed': c.feature_name === selected,
    });
    // A full-height hit area, so short bars are as easy to click as tall ones.
    g.append(el('rect', { x: PAD.left + slot * i, y: PAD.top, width: slot, height: plotH, class: 'hit' }));
    g.append(el('rect', { x, y, width: barW, height: Math.max(h, 1), rx: 4, class: 'bar-rect' }));
    g.append(el('text', { x: x + barW / 2, y: y - 6, class: 'bar-value', 'text-anchor': 'middle' }, c.count.toLocaleString('en-US')));
    g.append(el('text', { x: x + barW / 2, y: PAD.top + plotH + 18, class: 'axis-label', 'text-anchor': 'middle' }, c.feature_name));
    g.addEventListener('click', () => onSelect(c.feature_name));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(c.feature_name); }
    });
    svg.append(g);
  });
}

/** Every day from first to last (YYYY-MM-DD, UTC), so days without clicks are drawn as zero, not skipped. */
export function fillDays(daily, from, to) {
  const byDate = new Map(daily.map((d) => [d.date, d.count]));
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  const days = (end - start) / 86400000;
  // A range of years (a typed date far away) would draw thousands of points: keep only the days with clicks then.
  if (!(days >= 0) || days > 400) return daily.map((d) => ({ ...d }));
  const out = [];
  for (let t = start; t <= end; t += 86400000) {
    const date = new Date(t).toISOString().slice(0, 10);
    out.push({ date, count: byDate.get(date) ?? 0 });
  }
  return out;
}

/**
 * daily: [{date, count}] by date (the API's); from/to: the days to span (the filter's range, else the data's).
 * onEnter runs when the pointer enters the plot; the tooltip follows the nearest day.
 */
export function lineChart(container, tooltip, daily, { width, height = 280, from, to, onEnter }) {
  tooltip.hidden = true;
  if (daily.length === 0) return empty(container, 'No clicks on these days.');
  const points = fillDays(daily, from ?? daily[0].date, to ?? daily[daily.length - 1].date);
  const w = Math.max(width, 200);
  const { svg, top, plotW, plotH } = plot(container, {
    width: w, height, series: daily.map((d) => [d.date, d.count]), label: 'Daily clicks',
    max: Math.max(...points.map((p) => p.count)),
  });
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const xy = points.map((p, i) => [PAD.left + (points.length > 1 ? step * i : plotW / 2), PAD.top + plotH * (1 - p.count / top)]);

  const labelEvery = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(plotW / 70))));
  points.forEach((p, i) => {
    if (i % labelEvery === 0) {
      svg.append(el('text', { x: xy[i][0], y: PAD.top + plotH + 18, class: 'axis-label', 'text-anchor': 'middle' }, p.date.slice(5)));
    }
  });
  const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
  const bottom = PAD.top + plotH;
  svg.append(el('path', { d: `${line}L${xy[xy.length - 1][0].toFixed(1)},${bottom}L${xy[0][0].toFixed(1)},${bottom}Z`, class: 'line-area' }));
  svg.append(el('path', { d: line, class: 'line-path' }));
  const dots = xy.map(([x, y], i) => {
    const dot = el('circle', { cx: x, cy: y, r: 3, class: 'line-dot', 'data-date': points[i].date, 'data-count': points[i].count });
    svg.append(dot);
    return dot;
  });
  const guide = el('line', { x1: 0, x2: 0, y1: PAD.top, y2: bottom, class: 'guide', visibility: 'hidden' });
  svg.append(guide);

  const hover = el('rect', { x: PAD.left - step / 2, y: PAD.top, width: plotW + step, height: plotH, class: 'hover-area', 'data-testid': 'line-hover-area' });
  svg.append(hover);
  let active = -1;
  hover.addEventListener('pointerenter', () => onEnter());
  hover.addEventListener('pointermove', (e) => {
    const box = svg.getBoundingClientRect();
    const x = e.clientX - box.left;
    const i = step ? Math.min(points.length - 1, Math.max(0, Math.round((x - PAD.left) / step))) : 0;
    if (i === active) return;
    if (active >= 0) dots[active].classList.remove('active');
    active = i;
    dots[i].classList.add('active');
    guide.setAttribute('x1', xy[i][0]);
    guide.setAttribute('x2', xy[i][0]);
    guide.setAttribute('visibility', 'visible');
    tooltip.textContent = '';
    const day = document.createElement('strong');
    day.textContent = points[i].date;
    tooltip.append(day, ` · ${points[i].count.toLocaleString('en-US')} clicks`);
    tooltip.dataset.date = points[i].date;
    tooltip.dataset.count = points[i].count;
    tooltip.hidden = false;
    tooltip.style.left = `${Math.min(xy[i][0], w - 150)}px`;
    tooltip.style.top = `${Math.max(xy[i][1] - 44, 0)}px`;
  });
  hover.addEventListener('pointerleave', () => {
    if (active >= 0) dots[active].classList.remove('active');
    active = -1;
    guide.setAttribute('visibility', 'hidden');
    tooltip.hidden = true;
  });
}
