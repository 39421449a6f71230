// The registry's reads and writes. Every write commits its rows, the status-history row and the
// change + audit events (transactional outbox) in ONE transaction, then wakes the relay: no change
// is stored without its events, and no event leaves for a change that was not stored.
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { enqueueEvent, transact } from '@twoway/persistence';
import { DAY_MS, type AuditEvent, type Certificate, type CertificateQuery, type CertStatus, type TrustEntry, type TrustRevocation } from '@twoway/contracts';
import { CertificateEntity, RevocationStateEntity, RevokedSerialEntity, StatusHistoryEntity, type CertificateRow, type ExpiryNotice, type RevocationStateRow, type StatusHistoryRow } from './entities.js';
import { CertDuplicateError, CertNotFoundError } from '../errors.js';
import type { PlannedEntry } from '../domain/upload.js';
import { certAdded, certDeleted, certRenamed, certStatusChanged, type ChangeFacts, type EventContext, type Outgoing } from '../domain/events.js';
import { planStatusChange, type StatusChange } from '../domain/status.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { ApiError } from '@twoway/http';
import { TrustDigest } from '@twoway/pki';

export const DEFAULT_PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A position in (notAfter, id) order, for the expiry scan's pages. */
export interface ExpiryPosition {
  notAfter: Date;
  id: string;
}

/** Registrations near or past their end (not revoked), per account: what the expiry gauges show. */
export interface ExpiryCounts {
  expiring: number;
  expired: number;
  /** The accounts with the most, most first, at most the bound asked for. */
  accounts: { accountId: string; expiring: number; expired: number }[];
  /** Accounts with such registrations beyond that bound (their registrations are in the totals). */
  accountsOmitted: number;
}

export interface WriteContext extends EventContext {
  /** W3C trace context stored with the outbox rows, so the relay's publish joins the request's trace. */
  traceparent?: string;
}

export function toCertificate(r: CertificateRow): Certificate {
  return {
    id: r.id,
    accountId: r.accountId,
    name: r.name,
    usage: r.usage,
    status: r.status,
    fingerprint: r.fingerprint,
    subject: r.subject,
    issuer: r.issuer,
    serial: r.serial,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    kind: r.kind,
    keyType: r.keyType,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** Lowercase hex without separators: `AB:CD…` and `abcd…` find the same certificate. */
/** Registrations read per query while computing a trust set's digest. */
const DIGEST_PAGE_ROWS = 5000;

export const normalizeFingerprint = (f: string): string => f.replace(/:/g, '').toLowerCase();

/**
 * A CA's revocation data as brokers hold it (trust sets, `cert.revocation_changed`); undefined while it
 * never changed. Once it has, the revision stays even with nothing left (`serials` 0, no `crl`): a broker
 * orders the change events it receives by it.
 */
export function trustRevocationOf(st: RevocationStateRow): TrustRevocation | undefined {
  if (st.revision === 0) return undefined;
  return {
    revision: st.revision,
    serials: st.crlEntries + st.manualCount,
    ...(st.crlThisUpdate ? { crl: { thisUpdate: st.crlThisUpdate.toISOString(), nextUpdate: st.crlNextUpdate?.toISOString() ?? null } } : {}),
  };
}

/** The row of this account; another account's id answers exactly like an unknown id. */
export async function findCertificateRow(em: EntityManager, accountId: string, certificateId: string, lock = false): Promise<CertificateRow> {
  const id = certificateId.toLowerCase();
  // Not a UUID: cannot exist (and PostgreSQL would refuse to compare it with a uuid column).
  if (!UUID.test(id)) throw new CertNotFoundError(accountId, certificateId);
  const pg = em.connection.options.type === 'postgres';
  const row = await em.getRepository(CertificateEntity).findOne({
    where: { id, accountId },
    ...(lock && pg ? { lock: { mode: 'pessimistic_write' as const } } : {}),
  });
  if (!row) throw new CertNotFoundError(accountId, certificateId);
  return row;
}

/**
 * A store whose every write commits its rows and their change + audit events (transactional outbox) in
 * one transaction, then wakes the relay.
 */
export abstract class OutboxStore {
  constructor(
    protected readonly ds: DataSource,
    /**
     * Called after every commit that enqueued events and awaited before the write returns: the outbox
     * relay's `settle`, so the API answers once the events are published (or the outbox keeps them).
     */
    protected readonly onCommitted: () => Promise<unknown> | void,
  ) {}

  /** One write transaction (serialised on SQLite by libs/persistence, shared with the outbox relay). */
  protected write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return transact(this.ds, fn);
  }

  protected async enqueue(em: EntityManager, facts: ChangeFacts<{ id: string }>, traceparent?: string): Promise<void> {
    await enqueueEvent(em, facts.change.subject, facts.change.event, traceparent);
    await enqueueEvent(em, facts.audit.subject, facts.audit.event, traceparent);
  }
}

export class CertificateStore extends OutboxStore {
  private history(em: EntityManager, c: CertificateRow, before: CertStatus | null, after: CertStatus | null, ctx: WriteContext): Promise<unknown> {
    const row: StatusHistoryRow = {
      certificateId: c.id,
      accountId: c.accountId,
      fingerprint: c.fingerprint,
      before,
      after,
      actorKind: ctx.actor.kind,
      actorId: ctx.actor.id,
      actorName: ctx.actor.name ?? null,
      at: ctx.now,
    };
    return em.getRepository(StatusHistoryEntity).insert(row);
  }

  /** Register entries all-or-nothing; any duplicate in the account refuses the whole upload. */
  async add(accountId: string, entries: PlannedEntry[], ctx: WriteContext): Promise<Certificate[]> {
    const fingerprints = entries.map((e) => e.cert.fingerprint);
    try {
      const created = await this.write(async (em) => {
        await this.refuseDuplicates(em, accountId, fingerprints, entries.length > 1);
        const rows: CertificateRow[] = entries.map(({ name, cert }) => ({
          id: ctx.newId(),
          accountId,
          name,
          usage: 'MUTUAL_AUTHENTICATION',
          status: 'VALID',
          fingerprint: cert.fingerprint,
          subject: cert.subject,
          issuer: cert.issuer,
          serial: cert.serial,
          notBefore: cert.notBefore,
          notAfter: cert.notAfter,
          kind: cert.kind,
          keyType: cert.keyType,
          pem: cert.pem,
          createdAt: ctx.now,
          updatedAt: ctx.now,
          createdBy: ctx.actor.id,
        }));
        await em.getRepository(CertificateEntity).insert(rows);
        for (const r of rows) await this.history(em, r, null, 'VALID', ctx);
        // Events last: a failure above rolls back before anything was queued.
        for (const r of rows) await this.enqueue(em, certAdded(toCertificate(r), ctx, r.pem), ctx.traceparent);
        return rows.map(toCertificate);
      });
      await this.onCommitted();
      return created;
    } catch (e) {
      // A concurrent upload of the same certificate won the race on the unique index.
      if (isUniqueViolation(e)) await this.refuseDuplicates(this.ds.manager, accountId, fingerprints, entries.length > 1);
      throw e;
    }
  }

  private async refuseDuplicates(em: EntityManager, accountId: string, fingerprints: string[], numbered: boolean): Promise<void> {
    const existing = await em
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .select(['c.id', 'c.fingerprint'])
      .where('c.accountId = :accountId AND c.fingerprint IN (:...fingerprints)', { accountId, fingerprints })
      .getMany();
    if (existing.length === 0) return;
    const byFp = new Map(existing.map((r) => [r.fingerprint, r.id]));
    const dups = fingerprints.flatMap((fingerprint, i) => {
      const existingId = byFp.get(fingerprint);
      return existingId ? [{ entry: numbered ? i + 1 : undefined, fingerprint, existingId }] : [];
    });
    throw new CertDuplicateError(accountId, dups);
  }

  async get(accountId: string, certificateId: string): Promise<Certificate> {
    return toCertificate(await this.row(this.ds.manager, accountId, certificateId));
  }

  private row(em: EntityManager, accountId: string, certificateId: string, lock = false): Promise<CertificateRow> {
    return findCertificateRow(em, accountId, certificateId, lock);
  }

  /** `now` is the time `expiresWithinDays` counts from. */
  async list(accountId: string, q: CertificateQuery, now: Date): Promise<{ items: Certificate[]; nextCursor: string | null }> {
    const limit = q.limit ?? DEFAULT_PAGE_SIZE;
    const qb = this.ds
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .where('c.accountId = :accountId', { accountId });
    if (q.status) qb.andWhere('c.status = :status', { status: q.status });
    if (q.kind) qb.andWhere('c.kind = :kind', { kind: q.kind });
    if (q.fingerprint) qb.andWhere('c.fingerprint = :fp', { fp: normalizeFingerprint(q.fingerprint) });
    if (q.name) qb.andWhere('c.name = :name', { name: q.name });
    if (q.expiresWithinDays !== undefined) qb.andWhere('c.notAfter <= :until', { until: new Date(now.getTime() + q.expiresWithinDays * DAY_MS) });
    // IdPrefix admits no LIKE wildcard (`%`, `_`); ids are lowercase UUIDs, a PostgreSQL uuid only compares as text.
    if (q.idPrefix) qb.andWhere('CAST(c.id AS TEXT) LIKE :idPrefix', { idPrefix: `${q.idPrefix.toLowerCase()}%` });
    if (q.q) {
      const like = `%${q.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      qb.andWhere(`(LOWER(c.name) LIKE :like ESCAPE '\\' OR LOWER(c.subject) LIKE :like ESCAPE '\\')`, { like });
    }
    if (q.cursor) {
      const after = decodeCursor(q.cursor);
      if (!after) throw new ApiError('BAD_REQUEST', 'invalid cursor: pass the nextCursor of a previous page');
      qb.andWhere('(c.createdAt > :at OR (c.createdAt = :at AND c.id > :afterId))', { at: after.createdAt, afterId: after.id });
    }
    const rows = await qb.orderBy('c.createdAt', 'ASC').addOrderBy('c.id', 'ASC').limit(limit + 1).getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toCertificate),
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  /** Set the status; the same status again is a no-op (no history row, no event). */
  setStatus(accountId: string, certificateId: string, status: CertStatus, ctx: WriteContext): Promise<Certificate> {
    return this.update(accountId, certificateId, { status }, ctx);
  }

  /**
   * A new name, a new status, or both, in one transaction. What does not change writes nothing (no
   * history row, no event); a rename is audited (`cert.renamed`) but is no change for the brokers.
   */
  async update(accountId: string, certificateId: string, patch: { status?: CertStatus; name?: string }, ctx: WriteContext): Promise<Certificate> {
    let changed = false;
    const cert = await this.write(async (em) => {
      const row = await this.row(em, accountId, certificateId, true);
      let current = toCertificate(row);
      if (patch.name !== undefined && patch.name !== row.name) {
        await em.getRepository(CertificateEntity).update({ id: row.id }, { name: patch.name, updatedAt: ctx.now });
        const before = current.name;
        current = { ...current, name: patch.name, updatedAt: ctx.now.toISOString() };
        const renamed = certRenamed(current, before, ctx);
        await enqueueEvent(em, renamed.subject, renamed.event, ctx.traceparent);
        changed = true;
      }
      const plan: StatusChange = patch.status === undefined ? { changed: false } : planStatusChange(row.status, patch.status);
      if (plan.changed) {
        await em.getRepository(CertificateEntity).update({ id: row.id }, { status: plan.after, updatedAt: ctx.now });
        current = { ...current, status: plan.after, updatedAt: ctx.now.toISOString() };
        await this.history(em, row, plan.before, plan.after, ctx);
        await this.enqueue(em, certStatusChanged(current, plan.before, ctx), ctx.traceparent);
        changed = true;
      }
      return current;
    });
    if (changed) await this.onCommitted();
    return cert;
  }

  async remove(accountId: string, certificateId: string, ctx: WriteContext): Promise<void> {
    await this.write(async (em) => {
      const row = await this.row(em, accountId, certificateId, true);
      await em.getRepository(CertificateEntity).delete({ id: row.id });
      // Its CRL and revoked serials go with it (the cert.deleted event drops the brokers' trust sets).
      await em.getRepository(RevokedSerialEntity).delete({ certificateId: row.id });
      await em.getRepository(RevocationStateEntity).delete({ certificateId: row.id });
      await this.history(em, row, row.status, null, ctx);
      await this.enqueue(em, certDeleted(toCertificate(row), ctx), ctx.traceparent);
    });
    await this.onCommitted();
  }

  /**
   * Registrations of the accounts, any status, in id order: all of them, or `limit` after id `after`;
   * a CA with revocation data carries its summary (one more query on the primary key of the page's ids).
   */
  async trustSet(accountIds: string[], page?: { after?: string; limit: number }): Promise<TrustEntry[]> {
    let q = this.ds
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .select(['c.id', 'c.accountId', 'c.fingerprint', 'c.status', 'c.kind', 'c.pem', 'c.updatedAt'])
      .where('c.accountId IN (:...accountIds)', { accountIds: [...new Set(accountIds)] });
    if (page) {
      if (page.after !== undefined) q = q.andWhere('c.id > :after', { after: page.after });
      q = q.orderBy('c.id', 'ASC').limit(page.limit);
    }
    const rows = await q.getMany();
    const revocation = await this.revocationOf(rows.filter((r) => r.kind !== 'leaf').map((r) => r.id));
    return rows.map((r) => {
      const rev = revocation.get(r.id);
      return { id: r.id, accountId: r.accountId, fingerprint: r.fingerprint, status: r.status, kind: r.kind, pem: r.pem, updatedAt: r.updatedAt.toISOString(), ...(rev ? { revocation: rev } : {}) };
    });
  }

  /**
   * The digest of what `trustSet` answers for `accountIds` (libs/pki trust-digest.ts), read in pages of
   * DIGEST_PAGE_ROWS without PEMs: memory stays bounded however large the set.
   */
  async trustDigest(accountIds: string[], pageRows = DIGEST_PAGE_ROWS): Promise<{ count: number; digest: string }> {
    const d = new TrustDigest();
    for (let after: string | undefined; ; ) {
      let q = this.ds
        .getRepository(CertificateEntity)
        .createQueryBuilder('c')
        .select(['c.id', 'c.accountId', 'c.fingerprint', 'c.status', 'c.kind'])
        .where('c.accountId IN (:...accountIds)', { accountIds: [...new Set(accountIds)] });
      if (after !== undefined) q = q.andWhere('c.id > :after', { after });
      const rows = await q.orderBy('c.id', 'ASC').limit(pageRows).getMany();
      const revocation = await this.revocationOf(rows.filter((r) => r.kind !== 'leaf').map((r) => r.id));
      for (const r of rows) d.add({ id: r.id, accountId: r.accountId, fingerprint: r.fingerprint, status: r.status, revocationRevision: revocation.get(r.id)?.revision ?? 0 });
      if (rows.length < pageRows) break;
      after = rows[rows.length - 1]!.id;
    }
    return { count: d.count, digest: d.value };
  }

  private async revocationOf(ids: string[]): Promise<Map<string, TrustRevocation>> {
    const out = new Map<string, TrustRevocation>();
    if (ids.length === 0) return out;
    const states = await this.ds.getRepository(RevocationStateEntity).createQueryBuilder('s').where('s.certificateId IN (:...ids)', { ids }).getMany();
    for (const st of states) {
      const rev = trustRevocationOf(st);
      if (rev) out.set(st.certificateId, rev);
    }
    return out;
  }

  /**
   * Registrations the expiry scan may owe a notice: not revoked, ending by `until`, and not yet audited
   * as far as they are now (never, or `expiring` and ended before `now`). Soonest end first, `limit`
   * after `after`, on the not_after index.
   */
  async expiryCandidates(now: Date, until: Date, limit: number, after?: ExpiryPosition): Promise<CertificateRow[]> {
    const qb = this.ds
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .where("c.notAfter <= :until AND c.status <> 'REVOKED'", { until })
      .andWhere("(c.expiryNotice IS NULL OR (c.expiryNotice = 'expiring' AND c.notAfter < :now))", { now });
    if (after) qb.andWhere('(c.notAfter > :afterAt OR (c.notAfter = :afterAt AND c.id > :afterId))', { afterAt: after.notAfter, afterId: after.id });
    return qb.orderBy('c.notAfter', 'ASC').addOrderBy('c.id', 'ASC').limit(limit).getMany();
  }

  /**
   * Record each notice and enqueue its audit event, in one transaction. The update only applies while
   * the registration is still as the scan read it, so a notice another replica (or an earlier scan)
   * wrote meanwhile is not written, nor audited, twice. Returns the notices written.
   */
  async recordExpiryNotices(items: { row: CertificateRow; notice: ExpiryNotice; audit: Outgoing<AuditEvent> }[], traceparent?: string): Promise<ExpiryNotice[]> {
    if (items.length === 0) return [];
    const written = await this.write(async (em) => {
      const out: ExpiryNotice[] = [];
      for (const { row, notice, audit } of items) {
        const r = await em.getRepository(CertificateEntity).update({ id: row.id, expiryNotice: row.expiryNotice ?? IsNull() }, { expiryNotice: notice });
        if (r.affected !== 1) continue;
        await enqueueEvent(em, audit.subject, audit.event, traceparent);
        out.push(notice);
      }
      return out;
    });
    if (written.length) await this.onCommitted();
    return written;
  }

  /** What the expiry gauges show: registrations (not revoked) ending by `until`, those ended before `now` apart. */
  async expiryCounts(now: Date, until: Date, maxAccounts: number): Promise<ExpiryCounts> {
    const expiredSum = 'SUM(CASE WHEN c.notAfter < :now THEN 1 ELSE 0 END)';
    const near = () =>
      this.ds
        .getRepository(CertificateEntity)
        .createQueryBuilder('c')
        .where("c.notAfter <= :until AND c.status <> 'REVOKED'", { until })
        .setParameter('now', now);
    const totals = await near()
      .select('COUNT(*)', 'total')
      .addSelect(expiredSum, 'expired')
      .addSelect('COUNT(DISTINCT c.accountId)', 'accounts')
      .getRawOne<{ total: unknown; expired: unknown; accounts: unknown }>();
    // Grouped by an expression, not the column: SQLite would otherwise walk the whole (account_id, …)
    // index to group instead of reading the few rows near their end on the not_after index (measured:
    // 1.1 s instead of 7–42 ms on 100,000 registrations, services/cert-registry/bench/expiry-scan.bench.ts).
    const account = "c.accountId || ''";
    const rows = await near()
      .select(account, 'accountId')
      .addSelect('COUNT(*)', 'total')
      .addSelect(expiredSum, 'expired')
      .groupBy(account)
      .orderBy('COUNT(*)', 'DESC')
      .addOrderBy(account, 'ASC')
      .limit(maxAccounts)
      .getRawMany<{ accountId: string; total: unknown; expired: unknown }>();
    // Aggregates come back as strings from PostgreSQL (bigint) and SUM over no row is NULL.
    const n = (v: unknown) => Number(v ?? 0);
    const expired = n(totals?.expired);
    return {
      expiring: n(totals?.total) - expired,
      expired,
      accounts: rows.map((r) => ({ accountId: r.accountId, expiring: n(r.total) - n(r.expired), expired: n(r.expired) })),
      accountsOmitted: Math.max(0, n(totals?.accounts) - rows.length),
    };
  }

  /** The status history of a certificate, oldest first (kept after deletion). */
  async historyOf(certificateId: string): Promise<StatusHistoryRow[]> {
    return this.ds.getRepository(StatusHistoryEntity).find({ where: { certificateId }, order: { seq: 'ASC' } });
  }

  /** Cheap round trip for readiness. */
  /** The names of these registrations (ids not found are left out): a dry run's answer names what a path matched. */
  async namesOf(ids: readonly string[]): Promise<Map<string, string>> {
    const valid = [...new Set(ids)].filter((id) => UUID.test(id));
    if (valid.length === 0) return new Map();
    const rows = await this.ds.getRepository(CertificateEntity).find({ select: { id: true, name: true }, where: { id: In(valid) } });
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** An audit event of its own (a dry run changes nothing): through the outbox, so it is published even if NATS is away now. */
  async recordAudit(out: Outgoing<AuditEvent>, traceparent?: string): Promise<void> {
    await this.write((em) => enqueueEvent(em, out.subject, out.event, traceparent));
    await this.onCommitted();
  }

  async ping(): Promise<void> {
    await this.ds.query('SELECT 1');
  }
}

function isUniqueViolation(e: unknown): boolean {
  const d = ((e as { driverError?: unknown })?.driverError ?? e) as { code?: string };
  return d?.code === '23505' || d?.code === 'SQLITE_CONSTRAINT_UNIQUE' || d?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
