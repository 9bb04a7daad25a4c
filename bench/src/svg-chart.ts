import type { RunRecord } from './run-record.js';
import type { SystemId } from './systems/system-driver.js';

const COLORS: Record<SystemId, string> = {
  ours: '#d62728',
  'ours-ingest': '#ff7f0e',
  B0: '#7f7f7f',
  B1: '#1f77b4',
  B2: '#2ca02c',
};

const LEGEND: Record<SystemId, string> = {
  ours: 'ours (library)',
  'ours-ingest': 'ours via HTTP ingest',
  B0: 'B0 raw list',
  B1: 'B1 direct',
  B2: 'B2 BullMQ',
};

const WIDTH = 900;
const HEIGHT = 560;
const MARGIN = { left: 80, right: 170, top: 50, bottom: 60 };

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot' }[c]};`,
  );
}

/** Decades covering [min, max] on a log axis. */
function decades(min: number, max: number): { lo: number; hi: number } {
  return {
    lo: 10 ** Math.floor(Math.log10(Math.max(min, 1e-3))),
    hi: 10 ** Math.ceil(Math.log10(Math.max(max, min * 10, 1e-3))),
  };
}

function tickLabel(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 1_000) return `${value / 1_000}k`;
  return String(value);
}

/**
 * Throughput against latency, one colour per system: each run a point at (triggers/s end to end,
 * p99 enqueue→answer) with its p50 as a hollow marker below it, a system's runs joined in order
 * of throughput. Both axes are logarithmic. Hand-written SVG, no dependency (pure).
 */
export function throughputLatencySvg(runs: readonly RunRecord[], title: string): string {
  const points = runs
    .filter((r) => r.scenario === 'drain' || r.scenario === 'paced')
    .filter((r) => r.throughput.endToEnd !== null && r.latencyMs.p99 !== null)
    .map((r) => ({
      system: r.system,
      label: r.scenario === 'drain' ? 'backlog' : `${r.params.rate}/s`,
      x: r.throughput.endToEnd as number,
      p99: Math.max(1, r.latencyMs.p99 as number),
      p50: Math.max(1, r.latencyMs.p50 ?? 1),
    }));
  const xs = decades(
    Math.min(...points.map((p) => p.x), 100),
    Math.max(...points.map((p) => p.x), 1_000),
  );
  const ys = decades(
    Math.min(...points.map((p) => p.p50), 10),
    Math.max(...points.map((p) => p.p99), 100),
  );
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) =>
    MARGIN.left + ((Math.log10(x) - Math.log10(xs.lo)) / Math.log10(xs.hi / xs.lo)) * plotW;
  const sy = (y: number) =>
    MARGIN.top + plotH - ((Math.log10(y) - Math.log10(ys.lo)) / Math.log10(ys.hi / ys.lo)) * plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(
    `<text x="${MARGIN.left}" y="28" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (let v = xs.lo; v <= xs.hi * 1.0001; v *= 10) {
    const x = sx(v).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${tickLabel(v)}</text>`,
    );
  }
  for (let v = ys.lo; v <= ys.hi * 1.0001; v *= 10) {
    const y = sy(v).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(v)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">triggers/s, end to end (log)</text>`,
  );
  parts.push(
    `<text transform="translate(22 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">enqueue → answer, ms (log): ● p99, ○ p50</text>`,
  );

  const systems = [...new Set(points.map((p) => p.system))];
  systems.forEach((system, i) => {
    const color = COLORS[system];
    const own = points.filter((p) => p.system === system).sort((a, b) => a.x - b.x);
    const path = (key: 'p99' | 'p50') =>
      own
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`)
        .join(' ');
    if (own.length > 1) {
      parts.push(`<path d="${path('p99')}" fill="none" stroke="${color}" stroke-width="2"/>`);
      parts.push(
        `<path d="${path('p50')}" fill="none" stroke="${color}" stroke-width="1" stroke-dasharray="4 3"/>`,
      );
    }
    for (const p of own) {
      const x = sx(p.x).toFixed(1);
      parts.push(`<circle cx="${x}" cy="${sy(p.p99).toFixed(1)}" r="5" fill="${color}"/>`);
      parts.push(
        `<circle cx="${x}" cy="${sy(p.p50).toFixed(1)}" r="4" fill="white" stroke="${color}" stroke-width="1.5"/>`,
      );
      // Labels near the right edge go to the left of their point.
      const nearEdge = sx(p.x) > MARGIN.left + plotW - 60;
      parts.push(
        `<text x="${(sx(p.x) + (nearEdge ? -8 : 8)).toFixed(1)}" y="${(sy(p.p99) - 6).toFixed(1)}" fill="${color}"${nearEdge ? ' text-anchor="end"' : ''}>${escapeXml(p.label)}</text>`,
      );
    }
    const ly = MARGIN.top + 10 + i * 22;
    const lx = MARGIN.left + plotW + 20;
    parts.push(`<circle cx="${lx}" cy="${ly}" r="5" fill="${color}"/>`);
    parts.push(
      `<text x="${lx + 12}" y="${ly}" dominant-baseline="middle">${escapeXml(LEGEND[system])}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
