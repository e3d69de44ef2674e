// Renders one horizontal bar chart as a standalone SVG string: no dependency, no fonts to load.
// Input: { title, unit, bars: [{ label, value }] } (the chart shape a package benchmark writes).

const escape = (text) =>
  String(text).replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c],
  );

const format = (value) =>
  Math.abs(value) >= 100
    ? value.toFixed(0)
    : Math.abs(value) >= 1
      ? value.toFixed(2)
      : value.toPrecision(2);

export function barChartSvg({ title, unit, bars }) {
  const labelWidth = 260;
  const plotWidth = 380;
  const rowHeight = 26;
  const top = 44;
  const width = labelWidth + plotWidth + 90;
  const height = top + bars.length * rowHeight + 16;
  const max = Math.max(...bars.map((bar) => bar.value), Number.EPSILON);
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, (bar.value / max) * plotWidth);
    const fill = i === 0 ? '#2f6f4f' : '#8aa39b';
    return [
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${fill}"/>`,
      `<text x="${labelWidth + w + 6}" y="${y + 17}">${escape(format(bar.value))} ${escape(unit)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
