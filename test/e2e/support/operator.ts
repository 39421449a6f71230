// What an operator does over REST, for end-to-end tests: accounts, settings, credentials, anchors.
import assert from 'node:assert/strict';
import type { System } from '@twoway/testing';

export interface AuditItem {
  id: string;
  type: string;
  outcome?: string;
  reason?: string;
  account: string | null;
  device?: { clientId?: string; username?: string; certificateFingerprint?: string; certificateSubject?: string };
  certificateId?: string;
  [k: string]: unknown;
}

export class Operator {
  constructor(readonly sys: System, readonly token = sys.token) {}

  private async call<T>(method: string, path: string, body: unknown, expect: number): Promise<T> {
    const r = await this.sys.api<T>(method, path, body, this.token);
    assert.equal(r.status, expect, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async account(name: string, opts: { parentId?: string; mtls?: boolean; tls?: boolean; identity?: Record<string, string> } = {}): Promise<string> {
    const a = await this.call<{ id: string }>('POST', '/api/v1/accounts', { name, ...(opts.parentId ? { parentId: opts.parentId } : {}) }, 201);
    await this.settings(a.id, {
      tls: { enabled: opts.tls ?? false },
      mutualTls: { available: true, enabled: opts.mtls ?? true },
      ...(opts.identity ? { identity: opts.identity } : {}),
    });
    return a.id;
  }
  settings(accountId: string, patch: unknown) {
    return this.call('PUT', `/api/v1/accounts/${accountId}/settings`, patch, 200);
  }
  /** Without `requireCertificate` the API's default applies (on when the account has mutual TLS on). */
  credential(accountId: string, username: string, password: string, opts: { requireCertificate?: boolean } = {}) {
    return this.call<{ id: string; requireCertificate: boolean }>('POST', `/api/v1/accounts/${accountId}/credentials`, { username, password, ...opts }, 201);
  }
  register(accountId: string, name: string, pem: string) {
    return this.call<{ id: string; fingerprint: string; kind: string; status: string }>('POST', `/api/v1/accounts/${accountId}/certificates`, { name, usage: 'MUTUAL_AUTHENTICATION', certificate: pem }, 201);
  }
  setStatus(accountId: string, certId: string, status: 'VALID' | 'SUSPENDED' | 'REVOKED') {
    return this.call<{ status: string }>('PATCH', `/api/v1/accounts/${accountId}/certificates/${certId}`, { status }, 200);
  }
  async audit(accountId: string, query: Record<string, string>): Promise<AuditItem[]> {
    const r = await this.sys.api<{ items: AuditItem[] }>('GET', `/api/v1/accounts/${accountId}/audit?${new URLSearchParams(query)}`, undefined, this.token);
    return r.status === 200 ? r.body.items : [];
  }
}
