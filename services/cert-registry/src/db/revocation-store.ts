// Reads and writes of a registered CA's revocation data: its CRL (metadata in revocation_states, the
// serials as rows of revoked_serials), its revoked-serial entries and its distribution point. As for
// certificates, a change commits with its change and audit events (outbox); every change also raises
// the CA's revision, which the brokers key the serials they fetched on.
import type { EntityManager } from 'typeorm';
import { enqueueEvent, exclusive } from '@twoway/persistence';
import { crlIsStale, type ParsedCrl } from '@twoway/pki';
import type { Revocation, RevokedSerial, RevokedSerialPage, RevokedSerialQuery } from '@twoway/contracts';
import { ApiError } from '@twoway/http';
import { RevocationStateEntity, RevokedSerialEntity, type CertificateRow, type RevocationStateRow, type RevokedSerialRow, type RevokedSerialSource } from './entities.js';
import { findCertificateRow, OutboxStore, toCertificate, trustRevocationOf, type WriteContext } from './certificate-store.js';
import { CertNotCaError, CrlOutdatedError, RevocationNotFoundError, RevokedSerialLimitError } from '../errors.js';
import { diffSerials, nextFetchAfterFailure, planCrlReplacement } from '../domain/revocation.js';
import { crlFetchFailed, crlRemoved, crlUpdated, distributionPointChanged, serialRestored, serialRevoked, type CrlSummary } from '../domain/events.js';

/** Rows per INSERT or DELETE statement: within SQLite's and PostgreSQL's bound on bound parameters. */
const CHUNK = 1000;
const DEFAULT_PAGE_SIZE = 100;

export interface RevocationLimits {
  revokedSerialsMax: number;
}

/** Where a CRL came from: an upload, or the CA's distribution point (then the fetch is recorded with it). */
export type CrlOrigin = { kind: 'upload' } | { kind: 'fetch'; url: string; nextFetchAt: Date };

const emptyState = (cert: CertificateRow): RevocationStateRow => ({
  certificateId: cert.id,
  accountId: cert.accountId,
  revision: 0,
  crlFingerprint: null,
  crlIssuer: null,
  crlThisUpdate: null,
  crlNextUpdate: null,
  crlNumber: null,
  crlEntries: 0,
  crlSource: null,
  crlUpdatedAt: null,
  manualCount: 0,
  dpUrl: null,
  dpAccountPath: null,
  dpLastAttemptAt: null,
  dpLastSuccessAt: null,
  dpLastError: null,
  dpFailures: 0,
  dpNextFetchAt: null,
});

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function crlSummary(st: RevocationStateRow): CrlSummary | null {
  if (!st.crlFingerprint || !st.crlThisUpdate) return null;
  return { issuer: st.crlIssuer ?? '', thisUpdate: st.crlThisUpdate.toISOString(), nextUpdate: iso(st.crlNextUpdate), number: st.crlNumber, entries: st.crlEntries, fingerprint: st.crlFingerprint };
}

export function toRevocation(certificateId: string, st: RevocationStateRow | null, now: Date): Revocation {
  const crl = st ? crlSummary(st) : null;
  return {
    certificateId,
    crl: crl && st ? { ...crl, source: st.crlSource ?? 'upload', updatedAt: (st.crlUpdatedAt ?? now).toISOString(), stale: crlIsStale(st.crlNextUpdate, now) } : null,
    distributionPoint: st?.dpUrl
      ? { url: st.dpUrl, lastAttemptAt: iso(st.dpLastAttemptAt), lastSuccessAt: iso(st.dpLastSuccessAt), lastError: st.dpLastError, failures: st.dpFailures, nextFetchAt: iso(st.dpNextFetchAt) }
      : null,
    revokedSerials: st?.manualCount ?? 0,
  };
}

/** A revoked-serial entry (source `manual`: those always carry when and by whom). */
const toRevokedSerial = (r: RevokedSerialRow): RevokedSerial => ({ certificateId: r.certificateId, serial: r.serial, reason: r.reason, revokedAt: (r.revokedAt ?? new Date(0)).toISOString(), revokedBy: r.revokedBy ?? '' });

/**
 * A CRL's serials in plain multi-row INSERTs: TypeORM's insert builder costs tens of µs a row, seconds for a
 * CRL of 100,000. Only strings go in (CRL rows keep no date: the CRL is the record), so no driver converts.
 */
async function insertCrlSerials(em: EntityManager, cert: CertificateRow, serials: readonly string[]): Promise<void> {
  const pg = em.connection.options.type === 'postgres';
  for (let i = 0; i < serials.length; i += CHUNK) {
    const params: string[] = [];
    const tuples = serials.slice(i, i + CHUNK).map((serial) => {
      params.push(cert.id, serial, 'crl', cert.accountId);
      const n = params.length;
      return pg ? `($${n - 3}, $${n - 2}, $${n - 1}, $${n})` : '(?, ?, ?, ?)';
    });
    await em.query(`INSERT INTO revoked_serials (certificate_id, serial, source, account_id) VALUES ${tuples.join(', ')}`, params);
  }
}

/** A CA registration: revocation data belongs to CAs only (a pinned leaf revokes nothing). */
function requireCa(cert: CertificateRow): void {
  if (cert.kind === 'leaf') throw new CertNotCaError(cert.accountId, cert.id, `'${cert.name}' is a device certificate, not a CA: CRLs and revoked serials belong to the CA that issued the certificates (suspend or revoke this registration instead)`);
}

export interface DueFetch {
  certificateId: string;
  accountId: string;
  url: string;
  nextFetchAt: Date;
}

export class RevocationStore extends OutboxStore {
  constructor(ds: ConstructorParameters<typeof OutboxStore>[0], onCommitted: ConstructorParameters<typeof OutboxStore>[1], private readonly limits: RevocationLimits) {
    super(ds, onCommitted);
  }

  /** The registration a CRL is checked against (read outside the write: verifying is CPU work). */
  async ca(accountId: string, certificateId: string): Promise<CertificateRow> {
    const cert = await findCertificateRow(this.ds.manager, accountId, certificateId);
    requireCa(cert);
    return cert;
  }

  async state(accountId: string, certificateId: string, now: Date): Promise<Revocation> {
    const cert = await findCertificateRow(this.ds.manager, accountId, certificateId);
    return toRevocation(cert.id, await this.ds.getRepository(RevocationStateEntity).findOneBy({ certificateId: cert.id }), now);
  }

  /** The CA's state row for a write (locked on PostgreSQL), or a new one not yet saved. */
  private async lockedState(em: EntityManager, cert: CertificateRow): Promise<RevocationStateRow> {
    const pg = em.connection.options.type === 'postgres';
    const st = await em.getRepository(RevocationStateEntity).findOne({ where: { certificateId: cert.id }, ...(pg ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    return st ?? emptyState(cert);
  }

  /**
   * Store a CRL verified against the CA (the caller did: `verifyCrl`), unless it is older than the stored
   * one (CrlOutdatedError) or the same (no change, no event). Its serials replace the CRL's previous ones
   * by difference, so a daily CRL that adds a few entries writes a few rows.
   */
  async storeCrl(accountId: string, certificateId: string, crl: ParsedCrl, origin: CrlOrigin, ctx: WriteContext): Promise<{ changed: boolean; revocation: Revocation }> {
    let changed = false;
    const revocation = await this.write(async (em) => {
      const cert = await findCertificateRow(em, accountId, certificateId, true);
      requireCa(cert);
      const st = await this.lockedState(em, cert);
      const fetched = origin.kind === 'fetch' && st.dpUrl === origin.url;
      if (fetched) Object.assign(st, { dpLastAttemptAt: ctx.now, dpLastSuccessAt: ctx.now, dpLastError: null, dpFailures: 0, dpNextFetchAt: origin.nextFetchAt });
      const stored = st.crlFingerprint && st.crlThisUpdate ? { fingerprint: st.crlFingerprint, thisUpdate: st.crlThisUpdate, number: st.crlNumber === null ? undefined : BigInt(st.crlNumber) } : undefined;
      const plan = planCrlReplacement(stored, { fingerprint: crl.fingerprint, thisUpdate: crl.thisUpdate, number: crl.number });
      if (plan.action === 'refuse') throw new CrlOutdatedError(cert.id, `the CRL was not stored: ${plan.detail}`);
      if (plan.action === 'unchanged') {
        if (fetched) await em.getRepository(RevocationStateEntity).save(st);
        return toRevocation(cert.id, st, ctx.now);
      }
      const repo = em.getRepository(RevokedSerialEntity);
      // Raw rows: hydrating 100,000 entities costs seconds.
      const rows = await repo.createQueryBuilder('r').select('r.serial', 'serial').where('r.certificateId = :id AND r.source = :src', { id: cert.id, src: 'crl' }).getRawMany<{ serial: string }>();
      const existing = new Set(rows.map((r) => r.serial));
      const { added, removed } = diffSerials(existing, crl.serials);
      for (let i = 0; i < removed.length; i += CHUNK) {
        await repo.createQueryBuilder().delete().where('certificateId = :id AND source = :src AND serial IN (:...serials)', { id: cert.id, src: 'crl', serials: removed.slice(i, i + CHUNK) }).execute();
      }
      await insertCrlSerials(em, cert, added);
      const before = crlSummary(st);
      Object.assign(st, {
        revision: st.revision + 1,
        crlFingerprint: crl.fingerprint,
        crlIssuer: crl.issuer,
        crlThisUpdate: crl.thisUpdate,
        crlNextUpdate: crl.nextUpdate ?? null,
        crlNumber: crl.number === undefined ? null : crl.number.toString(),
        crlEntries: crl.serials.length,
        crlSource: origin.kind,
        crlUpdatedAt: ctx.now,
      });
      await em.getRepository(RevocationStateEntity).save(st);
      const source = origin.kind === 'fetch' ? { source: 'fetch' as const, url: origin.url } : { source: 'upload' as const };
      await this.enqueue(em, crlUpdated(toCertificate(cert), trustRevocationOf(st)!, before, crlSummary(st)!, { ...source, added: added.length, removed: removed.length }, ctx), ctx.traceparent);
      changed = true;
      return toRevocation(cert.id, st, ctx.now);
    });
    if (changed) await this.onCommitted();
    return { changed, revocation };
  }

  async removeCrl(accountId: string, certificateId: string, ctx: WriteContext): Promise<void> {
    await this.write(async (em) => {
      const cert = await findCertificateRow(em, accountId, certificateId, true);
      const st = await this.lockedState(em, cert);
      const before = crlSummary(st);
      if (!before) throw new RevocationNotFoundError(cert.id);
      await em.getRepository(RevokedSerialEntity).delete({ certificateId: cert.id, source: 'crl' });
      Object.assign(st, { revision: st.revision + 1, crlFingerprint: null, crlIssuer: null, crlThisUpdate: null, crlNextUpdate: null, crlNumber: null, crlEntries: 0, crlSource: null, crlUpdatedAt: null });
      await em.getRepository(RevocationStateEntity).save(st);
      await this.enqueue(em, crlRemoved(toCertificate(cert), trustRevocationOf(st)!, before, ctx), ctx.traceparent);
    });
    await this.onCommitted();
  }

  /** Set (fetched at once, then every interval) or clear (null) the CA's distribution point. Audited, no broker event. */
  async setDistributionPoint(accountId: string, certificateId: string, url: string | null, ctx: WriteContext): Promise<Revocation> {
    let changed = false;
    const revocation = await this.write(async (em) => {
      const cert = await findCertificateRow(em, accountId, certificateId, true);
      requireCa(cert);
      const st = await this.lockedState(em, cert);
      const before = st.dpUrl;
      if (before !== url) {
        Object.assign(st, { dpUrl: url, dpAccountPath: url && ctx.accountPath ? JSON.stringify(ctx.accountPath) : null, dpLastAttemptAt: null, dpLastSuccessAt: null, dpLastError: null, dpFailures: 0, dpNextFetchAt: url ? ctx.now : null });
        await em.getRepository(RevocationStateEntity).save(st);
        const audit = distributionPointChanged(toCertificate(cert), before, url, ctx);
        await enqueueEvent(em, audit.subject, audit.event, ctx.traceparent);
        changed = true;
      }
      return toRevocation(cert.id, st, ctx.now);
    });
    if (changed) await this.onCommitted();
    return revocation;
  }

  /** Revoke a serial under the CA; the same serial again is no change (`created` false). */
  async revokeSerial(accountId: string, certificateId: string, serial: string, reason: string | null, ctx: WriteContext): Promise<{ created: boolean; entry: RevokedSerial }> {
    let created = false;
    const entry = await this.write(async (em) => {
      const cert = await findCertificateRow(em, accountId, certificateId, true);
      requireCa(cert);
      const repo = em.getRepository(RevokedSerialEntity);
      const existing = await repo.findOneBy({ certificateId: cert.id, serial, source: 'manual' });
      if (existing) return toRevokedSerial(existing);
      const st = await this.lockedState(em, cert);
      if (st.manualCount >= this.limits.revokedSerialsMax) throw new RevokedSerialLimitError(cert.id, this.limits.revokedSerialsMax);
      const row: RevokedSerialRow = { certificateId: cert.id, serial, source: 'manual', accountId: cert.accountId, reason, revokedAt: ctx.now, revokedBy: ctx.actor.name ?? ctx.actor.id };
      await repo.insert(row);
      Object.assign(st, { revision: st.revision + 1, manualCount: st.manualCount + 1 });
      await em.getRepository(RevocationStateEntity).save(st);
      await this.enqueue(em, serialRevoked(toCertificate(cert), trustRevocationOf(st)!, serial, reason, ctx), ctx.traceparent);
      created = true;
      return toRevokedSerial(row);
    });
    if (created) await this.onCommitted();
    return { created, entry };
  }

  /** Remove a revoked-serial entry (a serial the CA's CRL lists stays revoked by the CRL). */
  async restoreSerial(accountId: string, certificateId: string, serial: string, ctx: WriteContext): Promise<void> {
    await this.write(async (em) => {
      const cert = await findCertificateRow(em, accountId, certificateId, true);
      const { affected } = await em.getRepository(RevokedSerialEntity).delete({ certificateId: cert.id, serial, source: 'manual' });
      if (!affected) throw new RevocationNotFoundError(cert.id, serial);
      const st = await this.lockedState(em, cert);
      Object.assign(st, { revision: st.revision + 1, manualCount: Math.max(0, st.manualCount - 1) });
      await em.getRepository(RevocationStateEntity).save(st);
      await this.enqueue(em, serialRestored(toCertificate(cert), trustRevocationOf(st)!, serial, ctx), ctx.traceparent);
    });
    await this.onCommitted();
  }

  /** The CA's revoked-serial entries in serial order (`cursor`: the last serial of the previous page). */
  async listSerials(accountId: string, certificateId: string, q: RevokedSerialQuery): Promise<RevokedSerialPage> {
    const cert = await findCertificateRow(this.ds.manager, accountId, certificateId);
    const limit = q.limit ?? DEFAULT_PAGE_SIZE;
    if (q.cursor !== undefined && !/^[0-9a-f]{1,80}$/.test(q.cursor)) throw new ApiError('BAD_REQUEST', 'invalid cursor: pass the nextCursor of a previous page');
    const qb = this.ds.getRepository(RevokedSerialEntity).createQueryBuilder('r').where('r.certificateId = :id AND r.source = :src', { id: cert.id, src: 'manual' });
    if (q.cursor !== undefined) qb.andWhere('r.serial > :after', { after: q.cursor });
    const rows = await qb.orderBy('r.serial', 'ASC').limit(limit + 1).getMany();
    const page = rows.slice(0, limit);
    return { items: page.map(toRevokedSerial), nextCursor: rows.length > limit ? page[page.length - 1]!.serial : null };
  }

  /**
   * A page of the CA's revoked serials (CRL and entries) for the brokers, in (serial, source) order after
   * `after`, with the revision it was read at. Read between two reads of the revision (and, on SQLite,
   * queued behind writes), so a page never mixes two revisions: when they differ it is read again.
   */
  async serialPage(certificateId: string, after: { serial: string; source: RevokedSerialSource } | undefined, limit: number): Promise<{ revision: number; rows: { serial: string; source: RevokedSerialSource }[] }> {
    const revisionOf = async () => (await this.ds.getRepository(RevocationStateEntity).findOne({ select: { revision: true }, where: { certificateId } }))?.revision ?? 0;
    for (let attempt = 0; ; attempt++) {
      const page = await exclusive(this.ds, async () => {
        const before = await revisionOf();
        const qb = this.ds.getRepository(RevokedSerialEntity).createQueryBuilder('r').select('r.serial', 'serial').addSelect('r.source', 'source').where('r.certificateId = :certificateId', { certificateId });
        if (after) qb.andWhere('(r.serial > :s OR (r.serial = :s AND r.source > :src))', { s: after.serial, src: after.source });
        const rows = await qb.orderBy('r.serial', 'ASC').addOrderBy('r.source', 'ASC').limit(limit).getRawMany<{ serial: string; source: RevokedSerialSource }>();
        return { before, revision: await revisionOf(), rows };
      });
      if (page.before === page.revision || attempt >= 3) return page;
    }
  }

  /** Distribution points due for a fetch, oldest due first. */
  async dueFetches(now: Date, limit: number): Promise<DueFetch[]> {
    const rows = await this.ds
      .getRepository(RevocationStateEntity)
      .createQueryBuilder('s')
      .where('s.dpUrl IS NOT NULL AND s.dpNextFetchAt <= :now', { now })
      .orderBy('s.dpNextFetchAt', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => ({ certificateId: r.certificateId, accountId: r.accountId, url: r.dpUrl!, nextFetchAt: r.dpNextFetchAt! }));
  }

  /**
   * Take a due fetch for `leaseMs` (its next fetch moved past the download): only the replica whose
   * update still sees the time it read wins, so several cert-registry replicas fetch each CRL once.
   */
  async claimFetch(due: DueFetch, now: Date, leaseMs: number): Promise<boolean> {
    return exclusive(this.ds, async () => {
      const r = await this.ds
        .getRepository(RevocationStateEntity)
        .createQueryBuilder()
        .update()
        .set({ dpNextFetchAt: new Date(now.getTime() + leaseMs), dpLastAttemptAt: now })
        .where('certificateId = :id AND dpUrl = :url AND dpNextFetchAt = :seen', { id: due.certificateId, url: due.url, seen: due.nextFetchAt })
        .execute();
      return (r.affected ?? 0) === 1;
    });
  }

  /** A fetch delivered no usable CRL: count it, schedule the retry (backing off) and audit it. */
  async recordFetchFailure(due: DueFetch, failure: { code: string; message: string }, intervalMs: number, ctx: WriteContext): Promise<void> {
    await this.write(async (em) => {
      const st = await em.getRepository(RevocationStateEntity).findOneBy({ certificateId: due.certificateId });
      // The URL was changed or cleared meanwhile: this failure is about a distribution point no longer used.
      if (!st || st.dpUrl !== due.url) return;
      const cert = await findCertificateRow(em, st.accountId, st.certificateId);
      const failures = st.dpFailures + 1;
      const nextFetchAt = nextFetchAfterFailure(failures, intervalMs, ctx.now.getTime());
      Object.assign(st, { dpLastAttemptAt: ctx.now, dpLastError: `${failure.code}: ${failure.message}`.slice(0, 1000), dpFailures: failures, dpNextFetchAt: nextFetchAt });
      await em.getRepository(RevocationStateEntity).save(st);
      const audit = crlFetchFailed(toCertificate(cert), { url: due.url, code: failure.code, error: failure.message, failures, nextFetchAt }, { ...ctx, accountPath: accountPathOf(st) });
      await enqueueEvent(em, audit.subject, audit.event, ctx.traceparent);
    });
    await this.onCommitted();
  }

  /** The ancestry stored with the distribution point, for the fetcher's events (accounts never move). */
  async fetchAccountPath(certificateId: string): Promise<string[] | undefined> {
    const st = await this.ds.getRepository(RevocationStateEntity).findOneBy({ certificateId });
    return st ? accountPathOf(st) : undefined;
  }
}

function accountPathOf(st: RevocationStateRow): string[] | undefined {
  try {
    const p = st.dpAccountPath ? (JSON.parse(st.dpAccountPath) as unknown) : undefined;
    return Array.isArray(p) && p.every((x) => typeof x === 'string') ? p : undefined;
  } catch {
    return undefined;
  }
}
