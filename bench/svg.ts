// A hand-written SVG strip plot of takeover times: one row per (scenario, implementation), a
// dot per trial on a log time axis, a bar at the median, the time with two holders written
// at the right. No plotting library.

export interface SvgSeries {
  group: string;
  label: string;
  kind: 'piha' | 'keepalived';
  values: number[];
  twoHoldersMs?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function takeoverSvg(series: SvgSeries[], title: string): string {
  const W = 900;
  const left = 260;
  const right = 130;
  const rowH = 22;
  const groupGap = 14;
  const top = 48;
  const xmin = Math.log10(10);
  const xmax = Math.log10(20_000);
  const x = (ms: number) => left + ((Math.log10(Math.min(Math.max(ms, 10), 20_000)) - xmin) / (xmax - xmin)) * (W - left - right);
  const color = { piha: '#1f77b4', keepalived: '#e6761b' };
  const groups = [...new Set(series.map((s) => s.group))];
  let y = top;
  const parts: string[] = [];
  // rows
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${esc(g)}</text>`);
    y += 16;
    for (const s of series.filter((q) => q.group === g)) {
      const cy = y + rowH / 2;
      parts.push(`<text x="20" y="${cy + 4}">${esc(s.label)}</text>`);
      parts.push(`<line x1="${left}" x2="${W - right}" y1="${cy}" y2="${cy}" stroke="#eee"/>`);
      const sorted = [...s.values].sort((a, b) => a - b);
      sorted.forEach((v, i) => {
        const jitter = ((i * 7) % 9) - 4; // deterministic spread so equal values stay visible
        parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter).toFixed(1)}" r="2.6" fill="${color[s.kind]}" fill-opacity="0.55"/>`);
      });
      if (sorted.length) {
        const med = sorted[Math.ceil(sorted.length / 2) - 1]!;
        parts.push(`<line x1="${x(med).toFixed(1)}" x2="${x(med).toFixed(1)}" y1="${cy - 8}" y2="${cy + 8}" stroke="#000" stroke-width="2"/>`);
        parts.push(`<text x="${(x(med) + 4).toFixed(1)}" y="${cy - 6}" font-size="10">${Math.round(med)}</text>`);
      }
      if (s.twoHoldersMs !== undefined) {
        const t = s.twoHoldersMs;
        const txt = t === 0 ? '0 ms' : t < 10_000 ? `${Math.round(t)} ms` : `${(t / 1000).toFixed(1)} s`;
        parts.push(`<text x="${W - right + 10}" y="${cy + 4}" fill="${t > 0 ? '#c00' : '#070'}">${txt}</text>`);
      }
      y += rowH;
    }
    y += groupGap;
  }
  // axis
  const axisY = y;
  const ticks = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000];
  const axis: string[] = [`<line x1="${left}" x2="${W - right}" y1="${axisY}" y2="${axisY}" stroke="#000"/>`];
  for (const t of ticks) {
    axis.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${axisY + 4}" stroke="#ddd"/>`);
    axis.push(`<text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" font-size="10">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`);
  }
  const H = axisY + 56;
  const legend = `<circle cx="${left}" cy="${axisY + 36}" r="4" fill="${color.piha}"/><text x="${left + 8}" y="${axisY + 40}">piha</text>
<circle cx="${left + 70}" cy="${axisY + 36}" r="4" fill="${color.keepalived}"/><text x="${left + 78}" y="${axisY + 40}">keepalived</text>
<line x1="${left + 170}" x2="${left + 170}" y1="${axisY + 29}" y2="${axisY + 43}" stroke="#000" stroke-width="2"/><text x="${left + 176}" y="${axisY + 40}">median (ms); one dot per trial; log scale</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" font-size="14" font-weight="bold">${esc(title)}</text>
<text x="${W - right + 10}" y="${top - 8}" font-size="11">two holders</text>
${axis.join('\n')}
${parts.join('\n')}
${legend}
</svg>
`;
}
