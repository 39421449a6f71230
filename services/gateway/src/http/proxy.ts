// Streams a request to the service that owns its path (contracts' RouteOwners) and the answer back.
// Bodies are not parsed here: each service validates its own input with its own schemas.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorBody, type ServiceName } from '@twoway/contracts';
import { injectHttpHeaders } from '@twoway/telemetry';

// RFC 7230 §6.1: hop-by-hop headers are not forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export interface Upstreams {
  get(service: ServiceName): URL | undefined;
}

export function proxy(req: IncomingMessage, res: ServerResponse, target: URL, timeoutMs: number, onError: (e: Error) => void): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  const fwd = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = [fwd, req.socket.remoteAddress].filter(Boolean).join(', ');
  headers['x-forwarded-proto'] = 'http';
  // The owner's span becomes a child of the gateway's (the incoming `traceparent` otherwise passes as is).
  injectHttpHeaders(headers);
  const isStream = (req.headers.accept ?? '').includes('text/event-stream');
  const up = httpRequest(
    { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (ur) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ur.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(ur.statusCode ?? 502, out);
      if (isStream) res.flushHeaders();
      ur.pipe(res);
      res.on('close', () => ur.destroy());
    },
  );
  if (!isStream) {
    up.setTimeout(timeoutMs, () => up.destroy(new Error('upstream timeout')));
  }
  up.on('error', (e) => {
    onError(e);
    if (!res.headersSent) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorBody('UNAVAILABLE', 'the service that owns this route is unavailable; try again')));
    } else res.destroy();
  });
  req.pipe(up);
}
