// One metric family in the Prometheus text format (version 0.0.4), for the services that render their
// few metrics from counts they keep anyway when scraped, instead of registering them in a library.

export interface PromSeries {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

// Label values may hold anything (an account id is client-chosen text): escape as the format requires.
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelsOf = (l: Readonly<Record<string, string>> | undefined) => {
  const e = l ? Object.entries(l) : [];
  return e.length ? `{${e.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
};

/** `# HELP`, `# TYPE` and one line per series. */
export function promFamily(name: string, type: 'counter' | 'gauge', help: string, series: readonly PromSeries[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series.map((s) => `${name}${labelsOf(s.labels)} ${s.value}`)].join('\n');
}
