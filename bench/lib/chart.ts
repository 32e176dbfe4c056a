import type { Row } from './summary';

/**
 * A hand-written SVG bar chart (no native deps): one bar per figure with a target, its length
 * the share of the target reached (lower-is-better figures inverted, so 100 % always means
 * "just met"), on a log scale because the figures span from a few percent to several times the target.
 * Figures compared with Kafka get a second, blue bar: ours ÷ the raw broker.
 */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function svgChart(rows: Row[], title: string): string {
  const bars = rows.flatMap((r) => [
    ...(r.share !== undefined
      ? [{ label: r.figure, value: r.share, color: r.met === 'yes' ? '#2e7d32' : '#c62828', what: 'of target' }]
      : []),
    ...(r.vsKafka !== undefined ? [{ label: r.figure, value: r.vsKafka, color: '#1565c0', what: 'of raw Kafka' }] : []),
  ]);
  const left = 430;
  const width = 420;
  const rowH = 22;
  const top = 56;
  const height = top + bars.length * rowH + 40;
  const [lo, hi] = [0.001, 10]; // 0.1 % … 1000 %
  const x = (v: number): number =>
    ((Math.log10(Math.min(hi, Math.max(lo, v))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * width;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 160}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">green/red: share of target reached (met/not met); blue: ours ÷ Kafka's own perf tool; log scale</text>`,
  ];
  for (const tick of [0.001, 0.01, 0.1, 1, 10]) {
    const tx = left + x(tick);
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 30}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${tx}" y="${height - 16}" text-anchor="middle" fill="#555">${tick * 100} %</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const label = b.label.length > 68 ? `${b.label.slice(0, 66)}…` : b.label;
    out.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(label)}</text>`);
    out.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.value)).toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/>`);
    const shown =
      b.value >= 10 ? `${b.value.toFixed(0)}×` : `${b.value >= 0.1 ? (b.value * 100).toFixed(0) : (b.value * 100).toFixed(2)} %`;
    out.push(`<text x="${left + x(b.value) + 4}" y="${y + 14}">${shown} ${b.what}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
