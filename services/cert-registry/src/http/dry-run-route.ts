// POST /api/v1/accounts/:id/dry-run — "why was sensor-17 refused?" answered by the broker's own decision
// (docs/broker.md, "Dry run"). Here: authorise (any role: it changes nothing), bound the rate per token,
// read the chain strictly (domain/dry-run-input.ts), ask any broker replica over NATS, name the
// registrations the caller may read, and audit that the dry run was made (`dry_run.decided`). The body
// may hold a password: it is never logged (libs/telemetry redacts `password`), echoed or audited.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApiPrefix, DryRunBody, DryRunResult, PathParams, RequestSubjects, type DryRunRegistration, type DryRunRequest } from '@twoway/contracts';
import { ApiError, authorize, isErrorCode, type Resolver } from '@twoway/http';
import { RemoteError, UnavailableError, type Bus } from '@twoway/nats';
import { currentTraceparent, escapeField } from '@twoway/telemetry';
import type { CertificateStore } from '../db/certificate-store.js';
import type { DryRunLimiter } from '../domain/dry-run-limiter.js';
import { dryRunChain } from '../domain/dry-run-input.js';
import { dryRunDecided } from '../domain/events.js';
import { actorOf } from './certificate-routes.js';

/** Asks a broker replica (`twoway.v1.connect.dry_run`); throws UnavailableError when none answers. */
export type AskBroker = (req: DryRunRequest) => Promise<DryRunResult>;

/** A broker's dry run waits on account-settings (a password hash) and on trust-set pages when its cache is cold. */
export const DRY_RUN_TIMEOUT_MS = 10_000;

export const natsAskBroker = (bus: Bus): AskBroker => (req) => bus.request(RequestSubjects.ConnectDryRun, req, DryRunResult, { timeoutMs: DRY_RUN_TIMEOUT_MS });

/** Dry runs by what became of them, for /metrics (http/metrics.ts). */
export class DryRunCounts {
  answered = 0;
  /** Refused at TWOWAY_DRY_RUNS_PER_MINUTE. */
  rateLimited = 0;
  /** A chain that is not PEM certificates, holds a private key, or is too long. */
  invalid = 0;
  /** No broker replica answered, or one answered an error (OVERLOADED). */
  unavailable = 0;
}

export interface DryRunRouteDeps {
  store: CertificateStore;
  resolver: Resolver;
  askBroker: AskBroker;
  limiter: DryRunLimiter;
  counts: DryRunCounts;
  now?: () => Date;
  newId: () => string;
}

const EXAMPLE_RESULT: DryRunResult = {
  decision: 'refuse',
  reason: 'ANCHOR_SUSPENDED',
  returnCode: 5,
  explanation: 'The CA the device’s certificate chains to is suspended.',
  fix: 'Set the CA VALID again when the suspension should end, or move the device to a certificate under another VALID anchor.',
  account: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30',
  credential: { found: true, key: 'username', username: 'sensor-17', accountId: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30' },
  password: { checked: true },
  chain: {
    status: 'blocked',
    reason: 'ANCHOR_SUSPENDED',
    evaluatedFor: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30',
    presented: [],
    path: [
      {
        role: 'leaf', from: 'presented', subject: 'CN=sensor-17', issuer: 'CN=Factory root,O=Acme', fingerprint: '9a1b…', serial: '01', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z',
        kind: 'leaf', keyType: 'EC P-256', validity: 'valid', registrations: [],
      },
      {
        role: 'anchor', from: 'registered', subject: 'CN=Factory root,O=Acme', issuer: 'CN=Factory root,O=Acme', fingerprint: '5d0c…', serial: '4a1f09', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2036-01-01T00:00:00.000Z',
        kind: 'root', keyType: 'EC P-256', validity: 'valid',
        registrations: [{ id: '3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10', accountId: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30', fingerprint: '5d0c…', status: 'SUSPENDED', name: 'Factory root', inherited: false }],
      },
    ],
    blockedBy: { fingerprint: '5d0c…' },
  },
  settings: { tls: { enabled: false }, mutualTls: { available: true, enabled: true }, identity: { bindCertificateTo: 'clientId', credentialLookup: 'username' }, fallback: 'off' },
  notes: ['Lockouts per source address are not evaluated: a dry run has no address.'],
  replica: 'broker-7f9c-1',
  decidedAt: '2026-11-23T10:00:00.000Z',
};

export function registerDryRunRoute(app: FastifyInstance, deps: DryRunRouteDeps): void {
  const now = deps.now ?? (() => new Date());
  app.post(
    `${ApiPrefix}/accounts/:id/dry-run`,
    {
      schema: {
        operationId: 'dryRunConnect',
        summary: "Decide a device's connection without connecting (dry run)",
        description:
          "Answers what the broker would decide if this device connected now, and why: one broker replica runs the connect decision a CONNECT runs, on the live registry, settings and credentials, with `decision`, the `reason` code a real connect's audit event would carry, a plain `explanation` and the `fix`, every certificate with the registrations it matched, the path, and the settings that applied. " +
          'Nothing happens to the device: no session, no connect audit event, no failed attempt counted against a lockout. The dry run itself is audited (`dry_run.decided`: who asked, for which device, what it answered; never the password). ' +
          `Without \`password\` the decision assumes the device sends the right one and \`password.note\` says what the check needs. Only credentials of this account and the accounts below it are found. The chain is PEM, the device's own certificate first, at most 10 certificates; a private key is refused (\`CERT_PRIVATE_KEY_REJECTED\`) and goes nowhere. ` +
          'At most `TWOWAY_DRY_RUNS_PER_MINUTE` per token (429 `RATE_LIMITED` with `Retry-After`). Roles: all.',
        tags: ['Diagnostics'],
        params: Type.Object({ id: PathParams.id }),
        body: DryRunBody,
        response: { 200: DryRunResult },
        errors: ['ACCOUNT_NOT_FOUND', 'BAD_REQUEST', 'CERT_PEM_INVALID', 'CERT_PRIVATE_KEY_REJECTED', 'RATE_LIMITED', 'UNAVAILABLE', 'OVERLOADED'],
        examples: { request: { chain: '-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIU…\n-----END CERTIFICATE-----\n', clientId: 'sensor-17', username: 'sensor-17' }, response: EXAMPLE_RESULT },
      },
    },
    async (req, reply) => {
      const accountId = (req.params as { id: string }).id;
      const { principal, ancestry } = await authorize(req, deps.resolver, accountId, 'read');
      const at = now();
      const allowed = deps.limiter.take(principal.tokenId, at.getTime());
      if (!allowed.ok) {
        deps.counts.rateLimited += 1;
        void reply.header('retry-after', String(Math.max(1, Math.ceil(allowed.retryAfterMs / 1000))));
        throw new ApiError('RATE_LIMITED', `too many dry runs for this token: try again in ${Math.max(1, Math.ceil(allowed.retryAfterMs / 1000))} s`);
      }
      const body = req.body as DryRunBody;
      let chain;
      try {
        chain = dryRunChain(body.chain);
      } catch (e) {
        deps.counts.invalid += 1;
        throw e;
      }
      let answer: DryRunResult;
      try {
        answer = await deps.askBroker({
          accountId,
          chain: chain.map((c) => Buffer.from(c.der).toString('base64')),
          ...(body.clientId !== undefined ? { clientId: body.clientId } : {}),
          ...(body.username !== undefined ? { username: body.username } : {}),
          ...(body.password !== undefined ? { password: body.password } : {}),
        });
      } catch (e) {
        deps.counts.unavailable += 1;
        if (e instanceof UnavailableError) throw new ApiError('UNAVAILABLE', 'no broker replica answered the dry run; try again', { cause: e });
        if (e instanceof RemoteError && isErrorCode(e.code)) throw new ApiError(e.code, e.message);
        throw e;
      }
      deps.counts.answered += 1;
      await nameRegistrations(answer, deps.store, principal.accountId, ancestry.map((a) => a.id));
      const leaf = chain[0];
      await deps.store.recordAudit(
        dryRunDecided(
          accountId,
          { actor: actorOf(principal), now: at, newId: deps.newId, accountPath: ancestry.map((a) => a.id) },
          { clientId: body.clientId, username: body.username, ...(leaf ? { leaf: { fingerprint: leaf.fingerprint, subject: escapeField(leaf.subject, 1024) ?? '' } } : {}) },
          { decision: answer.decision, reason: answer.reason, account: answer.account, passwordGiven: body.password !== undefined, passwordChecked: answer.password.checked, certificates: chain.length, replica: answer.replica },
        ),
        currentTraceparent(),
      );
      req.log.info({ account: accountId, tokenId: principal.tokenId, decision: answer.decision, reason: answer.reason, replica: answer.replica }, 'dry run');
      return answer;
    },
  );
}

/**
 * Names of the registrations the answer mentions, where the caller's token may read them: a
 * registration of an account above the token's own (an inherited anchor) keeps its id and status only,
 * as the certificate routes would answer 404 for it.
 */
async function nameRegistrations(answer: DryRunResult, store: CertificateStore, tokenAccount: string, ancestry: readonly string[]): Promise<void> {
  // `ancestry` is the asked account's, self first: the accounts after the token's own are above its reach.
  const above = new Set(ancestry.slice(ancestry.indexOf(tokenAccount) + 1));
  const regs: DryRunRegistration[] = [...answer.chain.presented, ...answer.chain.path].flatMap((c) => c.registrations).filter((r) => !above.has(r.accountId));
  const names = await store.namesOf(regs.map((r) => r.id));
  for (const r of regs) {
    const name = names.get(r.id);
    if (name !== undefined) r.name = name;
  }
}
