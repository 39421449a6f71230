// Reads and writes of the audit store. Writes are insert-or-ignore by event id (SQLite and PostgreSQL
// both speak `ON CONFLICT DO NOTHING`), so a redelivered message never stores an event twice.
import type { DataSource, SelectQueryBuilder } from 'typeorm';
import type { AuditEvent } from '@twoway/contracts';
import type { AuditRow } from '../domain/audit-row.js';
import { encodeCursor, type CursorKey } from '../domain/cursor.js';
import type { AuditFilter } from '../domain/filter.js';
import { AuditEventEntity, DeadLetterEntity, type DeadLetterRow } from './audit-event.entity.js';

/** Rows per INSERT statement: 16 parameters each stays far below SQLite's and PostgreSQL's limits. */
const ROWS_PER_STATEMENT = 200;

/** `_` and `%` are LIKE wildcards and `_` is legal in ids. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export class AuditRepository {
  constructor(private readonly ds: DataSource) {}

  /** Store events and dead letters in one transaction; resolves only once it has committed. */
  async store(rows: AuditRow[], deadLetters: DeadLetterRow[] = []): Promise<void> {
    await this.ds.transaction(async (em) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        await em.createQueryBuilder().insert().into(AuditEventEntity).values(rows.slice(i, i + ROWS_PER_STATEMENT)).orIgnore().updateEntity(false).execute();
      }
      for (let i = 0; i < deadLetters.length; i += ROWS_PER_STATEMENT) {
        await em.createQueryBuilder().insert().into(DeadLetterEntity).values(deadLetters.slice(i, i + ROWS_PER_STATEMENT)).orIgnore().updateEntity(false).execute();
      }
    });
  }

  /** One page, newest first, and the cursor of the next page (null on the last). */
  async page(f: AuditFilter, limit: number): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const rows = await this.filtered(f)
      .select(['e.id', 'e.time', 'e.payload'])
      .orderBy('e.time', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => JSON.parse(r.payload) as AuditEvent),
      nextCursor: more && last ? encodeCursor({ time: last.time, id: last.id }) : null,
    };
  }

  /** The (time, id) key of an event, if it is one this filter can see (no probing of other tenants). */
  async keyOf(f: AuditFilter, id: string): Promise<CursorKey | undefined> {
    const r = await this.filtered(f).select(['e.id', 'e.time']).andWhere('e.id = :keyId', { keyId: id }).getOne();
    return r ? { time: r.time, id: r.id } : undefined;
  }

  /** Events newer than `f.after`, oldest first (a live tail catching up). */
  async since(f: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const rows = await this.filtered(f).select(['e.id', 'e.time', 'e.payload']).orderBy('e.time', 'ASC').addOrderBy('e.id', 'ASC').limit(limit).getMany();
    return rows.map((r) => JSON.parse(r.payload) as AuditEvent);
  }

  private filtered(f: AuditFilter): SelectQueryBuilder<AuditRow> {
    const qb = this.ds.getRepository(AuditEventEntity).createQueryBuilder('e');
    if (f.subtreePathPrefix) {
      const unattributed = f.includeUnattributed ? ' OR e.accountId IS NULL' : '';
      qb.where(`(e.accountId = :account OR e.accountPath LIKE :prefix ESCAPE '\\'${unattributed})`, { account: f.accountId, prefix: `${likeEscape(f.subtreePathPrefix)}%` });
    } else {
      qb.where('e.accountId = :account', { account: f.accountId });
    }
    if (f.types) {
      const parts: string[] = [];
      const params: Record<string, string | string[]> = {};
      if (f.types.exact.length) {
        parts.push('e.type IN (:...types)');
        params.types = f.types.exact;
      }
      f.types.prefixes.forEach((p, i) => {
        parts.push(`e.type LIKE :tp${i} ESCAPE '\\'`);
        params[`tp${i}`] = `${likeEscape(p)}%`;
      });
      if (parts.length) qb.andWhere(`(${parts.join(' OR ')})`, params);
    }
    if (f.outcome) qb.andWhere('e.outcome = :outcome', { outcome: f.outcome });
    if (f.reason) qb.andWhere('e.reason = :reason', { reason: f.reason });
    if (f.clientId) qb.andWhere('e.clientId = :clientId', { clientId: f.clientId });
    if (f.username) qb.andWhere('e.username = :username', { username: f.username });
    if (f.certificate) qb.andWhere('(e.certificateId = :certId OR e.certificateFingerprint = :certFp)', { certId: f.certificate.id, certFp: f.certificate.fingerprint });
    if (f.from) qb.andWhere('e.time >= :from', { from: f.from });
    if (f.to) qb.andWhere('e.time < :to', { to: f.to });
    if (f.before) qb.andWhere('(e.time < :ct OR (e.time = :ct AND e.id < :ci))', { ct: f.before.time, ci: f.before.id });
    if (f.after) qb.andWhere('(e.time > :at OR (e.time = :at AND e.id > :ai))', { at: f.after.time, ai: f.after.id });
    return qb;
  }

  /** Delete events older than the cutoff; returns how many went. */
  async deleteOlderThan(cutoffIso: string): Promise<number> {
    const r = await this.ds.createQueryBuilder().delete().from(AuditEventEntity).where('time < :cutoff', { cutoff: cutoffIso }).execute();
    return r.affected ?? 0;
  }

  async ping(): Promise<boolean> {
    try {
      await this.ds.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}
