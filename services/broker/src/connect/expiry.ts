// Step 4 of an accepted connect: device certificates near their end. The leaf and the intermediates of
// the verified path that expire within TWOWAY_EXPIRY_WARNING_DAYS are counted at every connect and
// audited (`device.cert_expiring`) at most once per certificate per TWOWAY_EXPIRY_AUDIT_INTERVAL_MS, so a
// fleet reconnecting below an intermediate that ends next week yields one event for it, not one per
// device. The registered anchor a path ends at is cert-registry's to watch (its expiry scan).
import { ExpiryStates, daysLeft, expiryOf } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import type { ParsedCert } from '@twoway/pki';

export interface ExpiringCert {
  role: 'leaf' | 'intermediate';
  fingerprint: string;
  /** As the certificate says it: escaped where it reaches an event or a log. */
  subject: string;
  notAfter: Date;
  daysLeft: number;
}

/**
 * The certificates of a verified path (fingerprints, leaf first) that expire within the window, from the
 * chain the device presented. The path's last certificate is the registered anchor it reached and is
 * left out, except for a pinned leaf (a path of one), which is the device's own certificate.
 */
export function expiringOnPath(path: readonly string[], presented: readonly ParsedCert[], nowMs: number, windowDays: number): ExpiringCert[] {
  const out: ExpiringCert[] = [];
  const end = path.length > 1 ? path.length - 1 : path.length;
  for (let i = 0; i < end; i++) {
    const c = presented.find((p) => p.fingerprint === path[i]);
    if (!c || expiryOf(c.notAfter.getTime(), nowMs, windowDays) !== ExpiryStates.Expiring) continue;
    out.push({ role: i === 0 ? 'leaf' : 'intermediate', fingerprint: c.fingerprint, subject: c.subject, notAfter: c.notAfter, daysLeft: daysLeft(c.notAfter.getTime(), nowMs) });
  }
  return out;
}

/**
 * When each expiring certificate was last audited, by fingerprint, in a bounded map: at the bound the
 * certificate seen least recently is forgotten (counted in `evictions`), and may then be audited again
 * before its interval is over — more events, never fewer. Time passed in.
 */
export class ExpiryAuditLimiter {
  private readonly lastAudited: LruMap<string, number>;
  /** Expiring certificates seen again within their interval, so not audited. */
  suppressed = 0;

  constructor(maxEntries: number, private readonly intervalMs: number) {
    this.lastAudited = new LruMap(maxEntries);
  }

  /** Those of `certs` to audit now, recorded as audited at `nowMs`. */
  due(certs: readonly ExpiringCert[], nowMs: number): ExpiringCert[] {
    const out: ExpiringCert[] = [];
    for (const c of certs) {
      // `get` marks it used: a certificate connecting all the time stays remembered, a quiet one leaves first.
      const at = this.lastAudited.get(c.fingerprint);
      if (at !== undefined && nowMs - at < this.intervalMs) {
        this.suppressed += 1;
        continue;
      }
      this.lastAudited.set(c.fingerprint, nowMs);
      out.push(c);
    }
    return out;
  }

  get size(): number {
    return this.lastAudited.size;
  }
  /** Certificates forgotten at the bound. */
  get evictions(): number {
    return this.lastAudited.evictions;
  }
}
