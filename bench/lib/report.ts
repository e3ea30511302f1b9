/**
 * Results: rows of samples per server, their summaries (median, min–max), the
 * markdown table, the JSON document and an SVG chart of the main ratios.
 */
import type { ServerKind } from './servers.js';

/** Order and names of the servers in tables. */
export const SERVERS: { kind: ServerKind; name: string }[] = [
  { kind: 'smartstorage', name: 'SmartStorage' },
  { kind: 'smartstorage-nofsync', name: 'SmartStorage (fsync off)' },
  { kind: 's3rver', name: 's3rver' },
];

/** One measured quantity. */
export interface Row {
  id: string;
  group: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Samples per server (one per repetition). */
  samples: Partial<Record<ServerKind, number[]>>;
  /** Shown in the SVG chart of ratios. */
  chart?: boolean;
  note?: string;
}

/** Median, min and max of samples. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(samples: number[] | undefined): Summary | undefined {
  if (!samples || samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Formats with 3 significant digits (thousands separated). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function cell(s: Summary | undefined): string {
  if (!s) return '–';
  return s.n > 1 && s.min !== s.max ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
}

/** SmartStorage ÷ s3rver of the medians, when both exist. */
export function ratio(row: Row, kind: ServerKind = 'smartstorage'): number | undefined {
  const a = summarize(row.samples[kind])?.median;
  const b = summarize(row.samples.s3rver)?.median;
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

/** How many times better SmartStorage is (ratio, inverted for lower-is-better). */
export function advantage(row: Row, kind: ServerKind = 'smartstorage'): number | undefined {
  const r = ratio(row, kind);
  if (r === undefined || r === 0) return undefined;
  return row.better === 'higher' ? r : 1 / r;
}

/** The markdown table: one line per row, grouped. */
export function markdownTable(rows: Row[]): string {
  const out: string[] = [];
  let group = '';
  const header = '| Scenario | Unit | SmartStorage | SmartStorage (fsync off) | s3rver | SmartStorage / s3rver |';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      out.push('', `**${group}**`, '', header, '| --- | --- | ---: | ---: | ---: | ---: |');
    }
    const r = ratio(row);
    const rn = ratio(row, 'smartstorage-nofsync');
    const arrow = row.better === 'higher' ? '↑' : '↓';
    let ratioText = r !== undefined ? `${fmt(r)}×` : rn !== undefined ? `${fmt(rn)}× (fsync off)` : '–';
    if (r !== undefined && rn !== undefined) ratioText += ` · ${fmt(rn)}× (fsync off)`;
    const title = row.note ? `${row.title} ¹` : row.title;
    out.push(
      `| ${title} | ${row.unit} ${arrow} | ${cell(summarize(row.samples.smartstorage))} | ${cell(summarize(row.samples['smartstorage-nofsync']))} | ${cell(summarize(row.samples.s3rver))} | ${ratioText} |`,
    );
  }
  const notes = rows.filter((r) => r.note).map((r) => `¹ ${r.title}: ${r.note}`);
  if (notes.length) out.push('', ...notes);
  return out.join('\n').trim();
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A chart label that stands without its table group: "4 KiB · GET, concurrency 32". */
function chartLabel(row: Row): string {
  const group = row.group;
  const prefix = group.startsWith('Big objects')
    ? 'big'
    : group.startsWith('Small objects (4 KiB), Rust')
      ? '4 KiB'
      : group.startsWith('Small objects (4 KiB), AWS')
        ? '4 KiB, SDK'
        : group.startsWith('ListObjectsV2')
          ? 'list'
          : group.startsWith('Server CPU')
            ? 'CPU'
            : '';
  const label = prefix ? `${prefix} · ${row.title}` : row.title;
  return label.length > 52 ? `${label.slice(0, 51)}…` : label;
}

/**
 * Horizontal bars of "times better than s3rver" on a log scale (1× in the
 * middle line), one per charted row.
 */
export function svgChart(rows: Row[], title: string): string {
  const bars = rows
    .filter((r) => r.chart)
    .map((r) => ({ label: chartLabel(r), value: advantage(r) ?? advantage(r, 'smartstorage-nofsync') }))
    .filter((b): b is { label: string; value: number } => b.value !== undefined && Number.isFinite(b.value));
  const rowH = 26;
  const labelW = 370;
  const plotW = 520;
  const top = 50;
  const height = top + bars.length * rowH + 40;
  const maxLog = Math.max(1, ...bars.map((b) => Math.ceil(Math.log10(Math.max(b.value, 1)))));
  const minLog = Math.min(0, ...bars.map((b) => Math.floor(Math.log10(Math.min(b.value, 1)))));
  const x = (v: number) => labelW + ((Math.log10(v) - minLog) / (maxLog - minLog)) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 90}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" fill="#555">times better than s3rver (log scale; throughput ÷, latency and startup inverted)</text>`,
  ];
  for (let p = minLog; p <= maxLog; p++) {
    const gx = x(10 ** p);
    parts.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="${p === 0 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${gx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${10 ** p}×</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(b.value);
    const good = b.value >= 1;
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${escapeXml(b.label)}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${good ? '#2b7de9' : '#e05a47'}"/>`);
    parts.push(`<text x="${Math.max(x0, x1) + 6}" y="${y + 16}">${fmt(b.value)}×</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
