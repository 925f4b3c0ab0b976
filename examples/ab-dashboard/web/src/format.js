// Display helpers. The numbers arrive rounded by SQL; these only add separators, units and signs.
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const two = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const fmtInt = (n) => (n == null ? '–' : int.format(n));
export const fmtPct = (n) => (n == null ? '–' : `${two.format(n)}%`);
export const fmtNum2 = (n) => (n == null ? '–' : two.format(n));
export const fmtSeconds = (ms) => (ms == null ? '–' : `${two.format(Number(ms) / 1000)} s`);

export function signed(n, formatter) {
  if (n == null) return '–';
  const v = Number(n);
  const s = formatter(Math.abs(v));
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

export function timeAgo(iso, now = Date.now()) {
  if (!iso) return '–';
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 45) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

export function clock(date) {
  return date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
