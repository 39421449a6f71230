// The API's OpenAPI document is the union of what each service generates from its own route
// schemas (`GET /openapi.json` on each service), so the document cannot drift from validation.
export async function mergeOpenApi(upstreams: URL[]): Promise<object> {
  const doc = {
    openapi: '3.0.3',
    info: { title: 'twoway API', version: '1.0.0', description: 'Mutual-TLS authentication for MQTT device fleets.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {} as Record<string, unknown>,
    },
    security: [{ bearer: [] }],
    paths: {} as Record<string, unknown>,
  };
  const parts = await Promise.all(
    upstreams.map(async (u) => {
      try {
        const r = await fetch(new URL('/openapi.json', u), { signal: AbortSignal.timeout(3000) });
        return r.ok ? ((await r.json()) as { paths?: Record<string, unknown>; components?: { schemas?: Record<string, unknown> } }) : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  for (const p of parts) {
    Object.assign(doc.paths, p?.paths ?? {});
    Object.assign(doc.components.schemas, p?.components?.schemas ?? {});
  }
  return doc;
}
