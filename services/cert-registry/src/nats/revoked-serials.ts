// Answers the brokers' question "which serials has this CA revoked?": the entries of its stored CRL
// and its revoked-serial entries, in pages. A CRL may list 100,000s of serials and a NATS message is at
// most `max_payload` (1 MB by default): a page holds at most PAGE_ROWS serials and about half of
// `max_payload`; `next` names where the following page starts ((serial, source) order, so a page boundary
// never skips or repeats one). Every page says the revision it was read at (RevocationStore.serialPage).
import { RequestSubjects, RevokedSerialsRequest, type RevokedSerialsReply } from '@twoway/contracts';
import { CodedError, type Bus } from '@twoway/nats';
import type { RevocationStore } from '../db/revocation-store.js';
import type { RevokedSerialSource } from '../db/entities.js';

export const PAGE_ROWS = 20_000;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CURSOR = /^([0-9a-f]{1,80})\.(crl|manual)$/;

/** How many serials from the front of `rows` fit in `budget` bytes of JSON (at least one). */
export function serialsWithin(rows: readonly { serial: string }[], budget: number): number {
  let bytes = 128; // the reply's keys, revision and cursor
  let n = 0;
  for (const r of rows) {
    const size = r.serial.length + 3; // quotes and comma
    if (n > 0 && bytes + size > budget) break;
    bytes += size;
    n++;
  }
  return n;
}

export function serveRevokedSerials(bus: Bus, store: RevocationStore): void {
  bus.serve(RequestSubjects.RevokedSerialsGet, RevokedSerialsRequest, async (req): Promise<RevokedSerialsReply> => {
    // Registrations have UUID ids; anything else has no serials (and PostgreSQL would refuse the comparison).
    if (!UUID.test(req.certificateId)) return { revision: 0, crl: [], manual: [] };
    let after: { serial: string; source: RevokedSerialSource } | undefined;
    if (req.after !== undefined) {
      const m = CURSOR.exec(req.after);
      if (!m) throw new CodedError('BAD_REQUEST', 'invalid cursor: pass the next of the previous page');
      after = { serial: m[1]!, source: m[2] as RevokedSerialSource };
    }
    const budget = Math.floor((bus.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) / 2);
    const { revision, rows } = await store.serialPage(req.certificateId, after, PAGE_ROWS);
    const page = rows.slice(0, serialsWithin(rows, budget));
    const last = page[page.length - 1];
    const more = page.length < rows.length || rows.length === PAGE_ROWS;
    return {
      revision,
      crl: page.filter((r) => r.source === 'crl').map((r) => r.serial),
      manual: page.filter((r) => r.source === 'manual').map((r) => r.serial),
      ...(more && last ? { next: `${last.serial}.${last.source}` } : {}),
    };
  });
}
