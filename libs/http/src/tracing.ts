// A SERVER span per REST call (`/api/v1/...`), parented by the request's `traceparent` header, and
// active while the route runs: the NATS requests it makes (token checks) become its children and the
// outbox rows it writes store its traceparent, so HTTP write → outbox → publish is one trace. Probes,
// API documents and console files are not traced. With tracing off each hook is the API's no-op.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ApiPrefix } from '@twoway/contracts';
import {
  AttributeNames as A, SpanKind, SpanNames, SpanStatusCode, contextWithSpan, extractHttpHeaders, startSpan, traceIdOf, traceparentOf, withContext,
  type Span, type TraceContext,
} from '@twoway/telemetry';

const traced = new WeakMap<FastifyRequest, { span: Span; ctx: TraceContext }>();

/** The trace id of a request's span (for its error log lines); undefined when not traced or tracing is off. */
export function traceIdOfRequest(req: FastifyRequest): string | undefined {
  const t = traced.get(req);
  return t ? traceIdOf(traceparentOf(t.span)) : undefined;
}

function onRequest(req: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const parent = extractHttpHeaders(req.headers);
  const span = startSpan(SpanNames.HttpRequest, { kind: SpanKind.SERVER, parent });
  if (span.isRecording()) span.setAttributes({ [A.HttpMethod]: req.method, [A.HttpRoute]: req.routeOptions.url ?? '' });
  const ctx = contextWithSpan(parent, span);
  traced.set(req, { span, ctx });
  // 'close' comes after the response is sent, after a hijacked reply (the gateway's proxy) and on abort.
  reply.raw.once('close', () => {
    const status = reply.raw.statusCode;
    if (span.isRecording()) {
      span.setAttribute(A.HttpStatus, status);
      // A 4xx is an answer; a client leaving a live tail is normal; a 5xx is a failure.
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
    }
    span.end();
  });
  withContext(ctx, done);
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Register before the routes: every API route gets the span hook, and its handler runs inside the span. */
export function traceApiRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(ApiPrefix)) return;
    route.onRequest = [onRequest, ...asArray(route.onRequest)] as RouteOptions['onRequest'];
    const handler = route.handler;
    // The body arrives on the socket's own async context; entering the span's context again here keeps
    // the handler (and everything it awaits) inside it.
    route.handler = function tracedHandler(this: FastifyInstance, req, reply) {
      const t = traced.get(req);
      return t ? withContext(t.ctx, () => handler.call(this, req, reply)) : handler.call(this, req, reply);
    };
  });
}
