// An in-memory stand-in for the twoway REST API (docs/design.md §3), serving the built console at / on one
// origin like the gateway does, so the console's browser test runs without NATS or the services.
// It keeps the real contracts: error bodies, list pages, the audit SSE stream, provider-only settings.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  DAY_MS,
  DEFAULT_EXPIRY_WARNING_DAYS,
  DEFAULT_SETTINGS,
  ErrorCodes,
  ReasonDocs,
  expiryOf,
  errorBody,
  requireCertificateDefault,
  parseTopicFilter,
  type Account,
  type AuditEvent,
  type Certificate,
  type CertificateSessions,
  type ConnectionInfo,
  type Credential,
  type DryRunCertificate,
  type DryRunResult,
  type ErrorCode,
  type Principal,
  type Settings,
  type TokenInfo,
  type TopicRule,
} from '@twoway/contracts';
import { containsPrivateKey, parsePemCertificates } from '@twoway/pki';

export interface FakeApiOptions {
  /** Directory of the built console (apps/console/dist). */
  consoleDir: string;
  /** Answer GET /api/v1/whoami (false: 404, as an API without it would). */
  whoami?: boolean;
  /** The server CA GET /api/v1/connection-info serves (PEM); none when absent. */
  serverCaPem?: string;
}

class Refusal extends Error {
  constructor(readonly code: ErrorCode, message?: string) {
    super(message);
  }
}

export class FakeApi {
  readonly rootAccount: Account = { id: 'acc_root', name: 'Acme IoT', parentId: null, createdAt: new Date().toISOString() };
  readonly adminToken = `tw_${randomBytes(16).toString('hex')}`;
  /** An admin of the sub-account "Factory Berlin": not the provider. */
  readonly factoryAdminToken = `tw_${randomBytes(16).toString('hex')}`;
  readonly accounts = new Map<string, Account>([[this.rootAccount.id, this.rootAccount]]);
  readonly settings = new Map<string, Settings>();
  readonly certificates: Certificate[] = [];
  readonly credentials: Credential[] = [];
  readonly tokens: (TokenInfo & { secret: string })[] = [];
  readonly audit: AuditEvent[] = [];
  /** What GET …/certificates/{certId}/sessions answers per certificate id (the brokers' count); none counted otherwise. */
  readonly liveSessions = new Map<string, Omit<CertificateSessions, 'certificateId' | 'fingerprint'>>();
  /** Every request the API saw (method and path), to prove what the console did and did not send. */
  readonly requests: { method: string; url: string; body: unknown }[] = [];
  private readonly sse = new Set<ServerResponse>();
  private readonly app = Fastify({ logger: false, forceCloseConnections: true });
  url = '';

  private constructor(private readonly opts: FakeApiOptions) {
    const now = new Date().toISOString();
    this.tokens.push({ id: 'tok_bootstrap', accountId: this.rootAccount.id, name: 'bootstrap', role: 'admin', expiresAt: null, revokedAt: null, createdAt: now, secret: this.adminToken });
    const child: Account = { id: 'acc_factory', name: 'Factory Berlin', parentId: this.rootAccount.id, createdAt: now };
    this.tokens.push({ id: 'tok_factory', accountId: child.id, name: 'berlin-admin', role: 'admin', expiresAt: null, revokedAt: null, createdAt: now, secret: this.factoryAdminToken });
    this.accounts.set(child.id, child);
  }

  static async start(opts: FakeApiOptions): Promise<FakeApi> {
    const f = new FakeApi(opts);
    await f.routes();
    f.url = await f.app.listen({ port: 0, host: '127.0.0.1' });
    return f;
  }

  async stop(): Promise<void> {
    for (const r of this.sse) r.end();
    this.sse.clear();
    await this.app.close();
  }

  /** An audit event as the audit service would publish it; reaches every open live tail. */
  emitAudit(e: Partial<AuditEvent> & Pick<AuditEvent, 'type'>): AuditEvent {
    const ev: AuditEvent = { id: randomUUID(), time: new Date().toISOString(), account: this.rootAccount.id, actor: { kind: 'system', id: 'fake' }, source: 'fake-api', ...e };
    this.audit.unshift(ev);
    for (const r of this.sse) r.write(`id: ${ev.id}\ndata: ${JSON.stringify(ev)}\n\n`);
    return ev;
  }

  private principal(req: FastifyRequest): Principal {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const t = m && this.tokens.find((x) => x.secret === m[1] && !x.revokedAt);
    if (!t) throw new Refusal('UNAUTHENTICATED');
    return { tokenId: t.id, name: t.name, accountId: t.accountId, role: t.role, provider: t.accountId === this.rootAccount.id };
  }

  /** The account, if it is in the token's subtree (else 404, so ids cannot be probed). */
  private account(req: FastifyRequest, write = false): { p: Principal; acc: Account } {
    const p = this.principal(req);
    const id = (req.params as { id: string }).id;
    const acc = this.accounts.get(id);
    let a: Account | undefined = acc;
    while (a && a.id !== p.accountId) a = a.parentId ? this.accounts.get(a.parentId) : undefined;
    if (!acc || !a) throw new Refusal('ACCOUNT_NOT_FOUND');
    if (write && p.role === 'operator') throw new Refusal('FORBIDDEN');
    return { p, acc };
  }

  /** An account's ancestry, itself first (as events carry it in `accountPath`). */
  pathOf(id: string): string[] {
    const path: string[] = [];
    for (let a = this.accounts.get(id); a; a = a.parentId ? this.accounts.get(a.parentId) : undefined) path.push(a.id);
    return path;
  }

  private actor(p: Principal): AuditEvent['actor'] {
    return { kind: 'token', id: p.tokenId, name: p.name, accountId: p.accountId };
  }

  private async routes(): Promise<void> {
    const app = this.app;
    app.addHook('onRequest', async (req) => {
      if (req.url.startsWith('/api/')) this.requests.push({ method: req.method, url: req.url, body: undefined });
    });
    app.addHook('preHandler', async (req) => {
      const last = this.requests.at(-1);
      if (last && req.url.startsWith('/api/')) last.body = req.body;
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      if (err instanceof Refusal) return reply.code(ErrorCodes[err.code].status).send(errorBody(err.code, err.message || undefined));
      return reply.code(err.statusCode ?? 500).send(errorBody(err.statusCode === 400 ? 'VALIDATION_FAILED' : 'INTERNAL'));
    });
    await app.register(fastifyStatic, { root: this.opts.consoleDir, prefix: '/' });

    app.get('/api/v1/connection-info', async (req): Promise<ConnectionInfo> => {
      this.principal(req);
      const ca = this.opts.serverCaPem ? parsePemCertificates(this.opts.serverCaPem) : [];
      return {
        mqtt: { host: req.hostname, port: 8883, url: `mqtts://${req.hostname}:8883` },
        wss: null,
        serverCa: ca.length ? { pem: ca.map((c) => c.pem).join(''), certificates: ca.map((c) => ({ subject: c.subject, fingerprint: c.fingerprint, notAfter: c.notAfter.toISOString() })) } : null,
      };
    });
    app.get('/api/v1/whoami', async (req, reply) => {
      if (!this.opts.whoami) return reply.code(404).send(errorBody('NOT_FOUND'));
      return { principal: this.principal(req) };
    });
    app.post('/api/v1/accounts', async (req, reply) => {
      const p = this.principal(req);
      const body = req.body as { name: string; parentId?: string };
      const parentId = body.parentId ?? p.accountId;
      (req.params as Record<string, string>).id = parentId;
      this.account(req, true);
      const acc: Account = { id: `acc_${randomBytes(4).toString('hex')}`, name: body.name, parentId, createdAt: new Date().toISOString() };
      this.accounts.set(acc.id, acc);
      this.emitAudit({ type: 'account.created', account: acc.id, actor: this.actor(p), after: acc });
      return reply.code(201).send(acc);
    });
    app.get('/api/v1/accounts/:id', async (req) => this.account(req).acc);
    app.get('/api/v1/accounts/:id/children', async (req) => {
      const { acc } = this.account(req);
      return { items: [...this.accounts.values()].filter((a) => a.parentId === acc.id), nextCursor: null };
    });
    app.get('/api/v1/accounts/:id/settings', async (req) => this.settings.get(this.account(req).acc.id) ?? DEFAULT_SETTINGS);
    app.put('/api/v1/accounts/:id/settings', async (req) => {
      const { p, acc } = this.account(req, true);
      const patch = req.body as { tls?: { enabled: boolean }; mutualTls?: { available?: boolean; enabled?: boolean }; identity?: Partial<Settings['identity']> };
      const before = this.settings.get(acc.id) ?? DEFAULT_SETTINGS;
      if (patch.mutualTls?.available !== undefined && !p.provider) throw new Refusal('PROVIDER_ONLY');
      const after: Settings = {
        tls: { ...before.tls, ...patch.tls },
        mutualTls: { ...before.mutualTls, ...patch.mutualTls },
        identity: { ...before.identity, ...patch.identity },
      };
      if (after.mutualTls.enabled && !after.mutualTls.available) throw new Refusal('MTLS_NOT_AVAILABLE');
      this.settings.set(acc.id, after);
      this.emitAudit({ type: 'settings.changed', account: acc.id, actor: this.actor(p), before, after });
      return after;
    });

    app.get('/api/v1/accounts/:id/topic-rules', async (req) => ({ rules: this.settings.get(this.account(req).acc.id)?.topicRules ?? [] }));
    app.put('/api/v1/accounts/:id/topic-rules', async (req) => {
      const { p, acc } = this.account(req, true);
      const { rules } = req.body as { rules: TopicRule[] };
      for (const [i, r] of rules.entries()) {
        const parsed = parseTopicFilter(r.filter);
        if (!parsed.ok) throw new Refusal('TOPIC_RULES_INVALID', `rules[${i}].filter: ${parsed.problem}`);
      }
      const before = this.settings.get(acc.id) ?? DEFAULT_SETTINGS;
      const { topicRules: _old, ...rest } = before;
      const after: Settings = { ...rest, ...(rules.length ? { topicRules: rules } : {}) };
      this.settings.set(acc.id, after);
      this.emitAudit({ type: 'settings.changed', account: acc.id, actor: this.actor(p), before, after });
      return { rules };
    });

    // ---- certificates ----
    const certsOf = (accountId: string): Certificate[] => this.certificates.filter((c) => c.accountId === accountId);
    // As cert-registry answers: where each stands against the default window, when asked.
    const withExpiry = (c: Certificate): Certificate => ({ ...c, expiry: expiryOf(Date.parse(c.notAfter), Date.now(), DEFAULT_EXPIRY_WARNING_DAYS) });
    app.get('/api/v1/accounts/:id/certificates', async (req) => {
      const { acc } = this.account(req);
      const q = req.query as { q?: string; status?: string; kind?: string; fingerprint?: string; expiresWithinDays?: string };
      const needle = q.q?.toLowerCase();
      const fp = q.fingerprint?.replace(/:/g, '').toLowerCase();
      const until = q.expiresWithinDays === undefined ? Infinity : Date.now() + Number(q.expiresWithinDays) * DAY_MS;
      const items = certsOf(acc.id).filter(
        (c) =>
          (!q.status || c.status === q.status) &&
          (!q.kind || c.kind === q.kind) &&
          (!fp || c.fingerprint === fp) &&
          Date.parse(c.notAfter) <= until &&
          (!needle || [c.name, c.subject, c.fingerprint].some((s) => s.toLowerCase().includes(needle))),
      );
      return { items: items.map(withExpiry), nextCursor: null };
    });
    app.post('/api/v1/accounts/:id/certificates', async (req, reply) => {
      const { p, acc } = this.account(req, true);
      const body = req.body as { name: string; usage: string; certificate: string };
      const split = (req.query as { split?: string }).split === 'true';
      if (containsPrivateKey(body.certificate)) throw new Refusal('CERT_PRIVATE_KEY_REJECTED');
      let parsed;
      try {
        parsed = parsePemCertificates(body.certificate);
      } catch {
        throw new Refusal('CERT_PEM_INVALID');
      }
      if (parsed.length === 0 || (!split && parsed.length !== 1)) throw new Refusal(parsed.length ? 'CERT_MULTIPLE' : 'CERT_PEM_INVALID');
      // All or nothing, and the refused entry named, as cert-registry answers a split upload.
      parsed.forEach((pc, i) => {
        const dup = certsOf(acc.id).find((c) => c.fingerprint === pc.fingerprint);
        if (dup) throw new Refusal('CERT_DUPLICATE', split ? `nothing was stored: entry ${i + 1}: certificate sha256 ${pc.fingerprint} is already registered in this account as ${dup.id}.` : undefined);
      });
      const created = parsed.map((pc, i) => this.addCertificate(acc.id, split && parsed.length > 1 ? `${body.name} #${i + 1} (${pc.kind})` : body.name, pc, p));
      return reply.code(201).send(split ? { items: created.map(withExpiry) } : withExpiry(created[0]!));
    });

    const findCert = (req: FastifyRequest, write = false): { p: Principal; acc: Account; cert: Certificate } => {
      const { p, acc } = this.account(req, write);
      const cert = certsOf(acc.id).find((c) => c.id === (req.params as { certId: string }).certId);
      if (!cert) throw new Refusal('CERT_NOT_FOUND');
      return { p, acc, cert };
    };
    app.get('/api/v1/accounts/:id/certificates/:certId', async (req) => withExpiry(findCert(req).cert));
    app.patch('/api/v1/accounts/:id/certificates/:certId', async (req) => {
      const { p, acc, cert } = findCert(req, true);
      const patch = req.body as { status?: Certificate['status']; name?: string };
      const detail = () => ({ name: cert.name, fingerprint: cert.fingerprint, subject: cert.subject, kind: cert.kind });
      if (patch.name !== undefined && patch.name !== cert.name) {
        const before = cert.name;
        cert.name = patch.name;
        this.emitAudit({ type: 'cert.renamed', account: acc.id, actor: this.actor(p), certificateId: cert.id, before: { name: before }, after: { name: cert.name }, detail: detail() });
      }
      if (patch.status !== undefined && patch.status !== cert.status) {
        const before = cert.status;
        cert.status = patch.status;
        // As cert-registry writes it: before/after are the statuses, detail names the certificate.
        this.emitAudit({ type: 'cert.status_changed', account: acc.id, actor: this.actor(p), certificateId: cert.id, before, after: cert.status, detail: detail() });
      }
      cert.updatedAt = new Date().toISOString();
      return withExpiry(cert);
    });
    app.get('/api/v1/accounts/:id/certificates/:certId/sessions', async (req) => {
      const { cert } = findCert(req);
      return { certificateId: cert.id, fingerprint: cert.fingerprint, ...(this.liveSessions.get(cert.id) ?? { sessions: 0, accounts: [], accountsTruncated: false, replicas: 1, replicasWithSessions: 0, couldFallBack: 0 }) };
    });
    app.delete('/api/v1/accounts/:id/certificates/:certId', async (req, reply) => {
      const { p, acc, cert } = findCert(req, true);
      this.certificates.splice(this.certificates.indexOf(cert), 1);
      this.emitAudit({ type: 'cert.deleted', account: acc.id, actor: this.actor(p), certificateId: cert.id });
      return reply.code(204).send();
    });

    // ---- dry run: not the broker's decision, a fixed refusal over what was sent, for the view's layout ----
    app.post('/api/v1/accounts/:id/dry-run', async (req) => {
      const { acc } = this.account(req);
      const b = req.body as { chain?: string; clientId?: string; username?: string };
      const presented: DryRunCertificate[] = parsePemCertificates(b.chain ?? '').map((pc) => ({
        subject: pc.subject,
        issuer: pc.issuer,
        fingerprint: pc.fingerprint,
        serial: pc.serial,
        notBefore: pc.notBefore.toISOString(),
        notAfter: pc.notAfter.toISOString(),
        kind: pc.kind,
        keyType: pc.keyType,
        validity: 'valid',
        registrations: certsOf(acc.id)
          .filter((c) => c.fingerprint === pc.fingerprint)
          .map((c) => ({ id: c.id, accountId: c.accountId, fingerprint: c.fingerprint, status: c.status, name: c.name, inherited: false })),
      }));
      const cred = this.credentials.find((c) => c.accountId === acc.id && c.username === b.username);
      const result: DryRunResult = {
        decision: 'refuse',
        reason: 'CN_MISMATCH',
        returnCode: 5,
        explanation: ReasonDocs.CN_MISMATCH.explanation,
        fix: ReasonDocs.CN_MISMATCH.fix,
        account: cred ? acc.id : null,
        credential: { found: !!cred, ...(cred ? { key: 'username' as const, username: cred.username, accountId: acc.id } : {}) },
        password: { checked: false, note: 'No password was given: the answer assumes the right one.' },
        chain: { status: 'trusted', evaluatedFor: acc.id, presented, path: presented.map((c, i) => ({ ...c, role: i === 0 ? 'leaf' : i === presented.length - 1 ? 'anchor' : 'intermediate', from: 'presented' })) },
        settings: { ...(this.settings.get(acc.id) ?? DEFAULT_SETTINGS), fallback: 'off' },
        notes: [`The client id ${b.clientId ?? '(none)'} is not the certificate's Common Name.`],
        replica: 'broker-0',
        decidedAt: new Date().toISOString(),
      };
      return result;
    });

    // ---- credentials ----
    app.get('/api/v1/accounts/:id/credentials', async (req) => ({ items: this.credentials.filter((c) => c.accountId === this.account(req).acc.id), nextCursor: null }));
    app.post('/api/v1/accounts/:id/credentials', async (req, reply) => {
      const { p, acc } = this.account(req, true);
      const b = req.body as { username: string; password: string; enabled?: boolean; expiresAt?: string | null; requireCertificate?: boolean };
      if (this.credentials.some((c) => c.accountId === acc.id && c.username === b.username)) throw new Refusal('CREDENTIAL_DUPLICATE');
      const c: Credential = {
        id: `cred_${randomBytes(4).toString('hex')}`,
        accountId: acc.id,
        username: b.username,
        enabled: b.enabled ?? true,
        expiresAt: b.expiresAt ?? null,
        createdAt: new Date().toISOString(),
        requireCertificate: b.requireCertificate ?? requireCertificateDefault(this.settings.get(acc.id) ?? DEFAULT_SETTINGS),
      };
      this.credentials.push(c);
      // As account-settings writes it: the acting token is the actor, the credential's username the device.
      this.emitAudit({ type: 'credential.added', account: acc.id, actor: this.actor(p), device: { username: c.username }, after: { username: c.username } });
      return reply.code(201).send(c);
    });
    const findCred = (req: FastifyRequest): { p: Principal; acc: Account; cred: Credential } => {
      const { p, acc } = this.account(req, true);
      const cred = this.credentials.find((c) => c.accountId === acc.id && c.id === (req.params as { credId: string }).credId);
      if (!cred) throw new Refusal('CREDENTIAL_NOT_FOUND');
      return { p, acc, cred };
    };
    app.patch('/api/v1/accounts/:id/credentials/:credId', async (req) => {
      const { cred } = findCred(req);
      Object.assign(cred, req.body as Partial<Credential>);
      return cred;
    });
    app.delete('/api/v1/accounts/:id/credentials/:credId', async (req, reply) => {
      const { cred } = findCred(req);
      this.credentials.splice(this.credentials.indexOf(cred), 1);
      return reply.code(204).send();
    });

    // ---- tokens ----
    app.get('/api/v1/accounts/:id/tokens', async (req) => ({
      items: this.tokens.filter((t) => t.accountId === this.account(req).acc.id).map(({ secret: _secret, ...t }) => t),
      nextCursor: null,
    }));
    app.post('/api/v1/accounts/:id/tokens', async (req, reply) => {
      const { p, acc } = this.account(req, true);
      const b = req.body as { name: string; role: TokenInfo['role']; expiresAt?: string };
      const t = { id: `tok_${randomBytes(4).toString('hex')}`, accountId: acc.id, name: b.name, role: b.role, expiresAt: b.expiresAt ?? null, revokedAt: null, createdAt: new Date().toISOString(), secret: `tw_${randomBytes(16).toString('hex')}` };
      this.tokens.push(t);
      this.emitAudit({ type: 'token.created', account: acc.id, actor: this.actor(p), detail: { tokenId: t.id, role: t.role } });
      return reply.code(201).send({ id: t.id, token: t.secret });
    });
    app.delete('/api/v1/accounts/:id/tokens/:tokenId', async (req, reply) => {
      const { acc } = this.account(req, true);
      const t = this.tokens.find((x) => x.accountId === acc.id && x.id === (req.params as { tokenId: string }).tokenId);
      if (!t) throw new Refusal('TOKEN_NOT_FOUND');
      t.revokedAt = new Date().toISOString();
      return reply.code(204).send();
    });

    // ---- audit ----
    app.get('/api/v1/accounts/:id/audit', async (req, reply) => {
      const { acc } = this.account(req);
      const q = req.query as { type?: string; outcome?: string; format?: string; subtree?: string; clientId?: string; username?: string; certificate?: string };
      // As the audit service answers: the account's own events, with subtree those of every account below it too.
      const inScope = (e: AuditEvent): boolean => e.account === acc.id || (q.subtree === 'true' && (e.accountPath ?? (e.account ? this.pathOf(e.account) : [])).includes(acc.id));
      const items = this.audit.filter(
        (e) =>
          inScope(e) &&
          (!q.type || e.type === q.type) &&
          (!q.outcome || e.outcome === q.outcome) &&
          (!q.clientId || e.device?.clientId === q.clientId) &&
          (!q.username || e.device?.username === q.username) &&
          (!q.certificate || e.certificateId === q.certificate || e.device?.certificateFingerprint === q.certificate),
      );
      if (q.format === 'ndjson') return reply.type('application/x-ndjson').send(items.map((e) => JSON.stringify(e)).join('\n') + '\n');
      if (q.format === 'csv') return reply.type('text/csv').send(['id,time,type,outcome,reason', ...items.map((e) => [e.id, e.time, e.type, e.outcome ?? '', e.reason ?? ''].join(','))].join('\n') + '\n');
      return { items, nextCursor: null };
    });
    app.get('/api/v1/accounts/:id/audit/stream', async (req: FastifyRequest, reply: FastifyReply) => {
      this.account(req);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      this.sse.add(res);
      req.raw.on('close', () => this.sse.delete(res));
    });
  }

  private addCertificate(accountId: string, name: string, pc: ReturnType<typeof parsePemCertificates>[number], p: Principal): Certificate {
    const now = new Date().toISOString();
    const cert: Certificate = {
      id: `crt_${randomBytes(6).toString('hex')}`,
      accountId,
      name,
      usage: 'MUTUAL_AUTHENTICATION',
      status: 'VALID',
      fingerprint: pc.fingerprint,
      subject: pc.subject,
      issuer: pc.issuer,
      serial: pc.serial,
      notBefore: pc.notBefore.toISOString(),
      notAfter: pc.notAfter.toISOString(),
      kind: pc.kind,
      keyType: pc.keyType,
      createdAt: now,
      updatedAt: now,
    };
    this.certificates.push(cert);
    this.emitAudit({ type: 'cert.added', account: accountId, actor: this.actor(p), certificateId: cert.id, after: { name: cert.name, status: cert.status } });
    return cert;
  }

  /** How many live-tail connections are open (the test waits for the console's). */
  get liveTails(): number {
    return this.sse.size;
  }
}
