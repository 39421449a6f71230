// The twoway mark: two interlocking rings, one for each side that proves who it is.
export function logo(size = 28): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'logo');
  const rect = document.createElementNS(ns, 'rect');
  Object.entries({ width: '32', height: '32', rx: '8', fill: 'var(--brand)' }).forEach(([k, v]) => rect.setAttribute(k, v));
  svg.appendChild(rect);
  for (const cx of ['12.5', '19.5']) {
    const c = document.createElementNS(ns, 'circle');
    Object.entries({ cx, cy: '16', r: '6.5', fill: 'none', stroke: '#fff', 'stroke-width': '2.6' }).forEach(([k, v]) => c.setAttribute(k, v));
    svg.appendChild(c);
  }
  return svg;
}
