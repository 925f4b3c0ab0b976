import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip,
} from 'chart.js';

// Only what the two charts use, so the bundle stays small.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export const COLORS = { A: '#6366f1', B: '#14b8a6' };
const FILL = { A: 'rgba(99, 102, 241, 0.85)', B: 'rgba(20, 184, 166, 0.85)' };

Chart.defaults.font.family = "'Inter', ui-sans-serif, system-ui, sans-serif";
Chart.defaults.font.size = 12;
Chart.defaults.color = '#6b7280';

const nf = new Intl.NumberFormat('en-US');

function baseOptions({ yTitle, xTitle, tooltipLabel, tooltipTitle }) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    // Redrawing on every auto-refresh should not replay the intro animation.
    animation: { duration: 400 },
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { position: 'top', align: 'end', labels: { boxWidth: 10, boxHeight: 10, useBorderRadius: true, borderRadius: 3 } },
      tooltip: { callbacks: { label: tooltipLabel, ...(tooltipTitle ? { title: tooltipTitle } : {}) } },
    },
    scales: {
      x: {
        grid: { display: false },
        border: { display: false },
        ticks: { maxRotation: 0, autoSkip: false },
        title: { display: !!xTitle, text: xTitle },
      },
      y: {
        beginAtZero: true,
        border: { display: false },
        grid: { color: '#eef0f4' },
        ticks: { callback: (v) => nf.format(v), maxTicksLimit: 6 },
        title: { display: !!yTitle, text: yTitle },
      },
    },
  };
}

function dataset(variant, data) {
  return {
    label: `Variant ${variant}`,
    data,
    backgroundColor: FILL[variant],
    hoverBackgroundColor: COLORS[variant],
    borderRadius: 4,
    maxBarThickness: 42,
  };
}

// Creates the chart on first use and updates it in place afterwards.
function upsert(holder, canvas, config) {
  if (holder.chart) {
    holder.chart.data.labels = config.data.labels;
    config.data.datasets.forEach((d, i) => {
      if (holder.chart.data.datasets[i]) Object.assign(holder.chart.data.datasets[i], { data: d.data });
      else holder.chart.data.datasets.push(d);
    });
    holder.chart.update();
  } else {
    holder.chart = new Chart(canvas, config);
  }
  return holder.chart;
}

const funnelHolder = {};
export function drawFunnel(canvas, rows) {
  const byVariant = Object.fromEntries(rows.map((r) => [r.variant, r]));
  const steps = [['viewed', 'Viewed'], ['started', 'Started'], ['completed', 'Completed']];
  const labels = steps.map(([, label]) => label);
  const series = ['A', 'B'].map((v) => steps.map(([key]) => byVariant[v]?.[key] ?? 0));
  canvas.dataset.series = JSON.stringify(series);
  return upsert(funnelHolder, canvas, {
    type: 'bar',
    data: { labels, datasets: [dataset('A', series[0]), dataset('B', series[1])] },
    options: baseOptions({
      yTitle: 'users',
      tooltipLabel: (ctx) => {
        const first = ctx.dataset.data[0] || 1;
        return ` ${ctx.dataset.label}: ${nf.format(ctx.parsed.y)} users (${((100 * ctx.parsed.y) / first).toFixed(1)}% of viewers)`;
      },
    }),
  });
}

const histogramHolder = {};
export function drawHistogram(canvas, rows) {
  const byVariant = Object.fromEntries(rows.map((r) => [r.variant, r]));
  const buckets = (byVariant.A?.histogram ?? byVariant.B?.histogram ?? []);
  // Each bar is a one-second bucket [from, to); the axis names its start, the tooltip the whole range.
  const labels = buckets.map((b) => (b.to_ms == null ? `${b.from_ms / 1000}+` : `${b.from_ms / 1000}`));
  const ranges = buckets.map((b) => (b.to_ms == null ? `${b.from_ms / 1000} s and more` : `${b.from_ms / 1000}–${b.to_ms / 1000} s`));
  const series = ['A', 'B'].map((v) => (byVariant[v]?.histogram ?? []).map((b) => b.count));
  canvas.dataset.series = JSON.stringify(series);
  return upsert(histogramHolder, canvas, {
    type: 'bar',
    data: { labels, datasets: [dataset('A', series[0]), dataset('B', series[1])] },
    options: {
      ...baseOptions({
        yTitle: 'completions',
        xTitle: 'completion time (seconds)',
        tooltipTitle: (items) => ranges[items[0].dataIndex],
        tooltipLabel: (ctx) => {
          const total = ctx.dataset.data.reduce((a, b) => a + b, 0) || 1;
          return ` ${ctx.dataset.label}: ${nf.format(ctx.parsed.y)} (${((100 * ctx.parsed.y) / total).toFixed(1)}%)`;
        },
      }),
      datasets: { bar: { categoryPercentage: 0.8, barPercentage: 0.9 } },
    },
  });
}
