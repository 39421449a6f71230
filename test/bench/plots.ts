// Charts of benchmark results as SVG files, drawn by Vega-Lite (rendered headless by Vega: no browser,
// no canvas). One bar per system with its spread (min–max over the runs) as an error bar.
import { writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface PlotRow {
  system: string;
  median: number;
  min: number;
  max: number;
}

export async function barChartSvg(title: string, unit: string, rows: PlotRow[], file: string, o: { higherIsBetter?: boolean } = {}): Promise<void> {
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `${unit}; ${o.higherIsBetter ? 'higher' : 'lower'} is better; bars: median, whiskers: min–max of the runs` },
    width: 360,
    height: 28 * rows.length,
    data: { values: rows },
    encoding: { y: { field: 'system', type: 'nominal', sort: null, title: null } },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'median', type: 'quantitative', title: unit },
          color: { field: 'system', type: 'nominal', legend: null, scale: { domain: ['Mosquitto', 'bare aedes', 'twoway'], range: ['#8c8c8c', '#4c78a8', '#f58518'] } },
        },
      },
      { mark: { type: 'rule' }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { x: { field: 'max', type: 'quantitative' }, text: { field: 'median', type: 'quantitative', format: '.3~r' } } },
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  await writeFile(file, await view.toSVG());
  view.finalize();
}
