// Step 3 of a connect: record the decision as an audit event (never awaited on the connect path;
// see audit/audit-queue.ts). Certificate fields are escaped; no password ever appears.
import { randomUUID } from 'node:crypto';
import { AuditTypes, ConnectReasons, auditAccountPath, type AuditEvent, type ConnectReason, type MqttTransport } from '@twoway/contracts';
import { escapeField } from '@twoway/telemetry';
import type { ChainFacts, Decision, LeafFacts } from './decide.js';
import type { ExpiringCert } from './expiry.js';

export interface AuditContext {
  source: string;
  nowMs: number;
  traceId?: string;
}

export interface DeviceRecord {
  clientId: string;
  username: string | undefined;
  leaf: LeafFacts | undefined;
  sourceAddress: string | undefined;
  accountId: string | undefined;
  /**
   * The account's ancestry, self first, as the settings and credential lookups answered it (a live
   * session keeps it): becomes the event's `accountPath`, so subtree audit queries find the event.
   */
  ancestry?: readonly string[] | undefined;
}

function device(d: DeviceRecord): AuditEvent['device'] {
  return {
    clientId: escapeField(d.clientId),
    ...(d.username !== undefined ? { username: escapeField(d.username) } : {}),
    ...(d.leaf ? { certificateFingerprint: d.leaf.fingerprint, certificateSubject: escapeField(d.leaf.subject, 1024) } : {}),
  };
}

function base(type: string, d: DeviceRecord, ctx: AuditContext): AuditEvent {
  const accountPath = auditAccountPath(d.accountId, d.ancestry);
  return {
    id: randomUUID(),
    type,
    time: new Date(ctx.nowMs).toISOString(),
    account: d.accountId ?? null,
    ...(accountPath ? { accountPath } : {}),
    actor: { kind: 'device', id: escapeField(d.clientId) ?? '' },
    device: device(d),
    ...(d.sourceAddress ? { sourceAddress: d.sourceAddress } : {}),
    ...(ctx.traceId ? { traceId: ctx.traceId } : {}),
    source: ctx.source,
  };
}

/**
 * `fallbackBlockedBy`: the refusal is about the chain the credential last connected with, not the one
 * presented (detail.fallbackRefused, detail.blockedFingerprint and detail.lastPath say which).
 */
export function connectEvent(decision: Decision, d: DeviceRecord, chain: ChainFacts, transport: MqttTransport, ctx: AuditContext, fallback?: { blockedBy?: { fingerprint: string }; lastPath?: readonly string[] }): AuditEvent {
  const refusedFallback = decision.outcome === 'rejected' && fallback?.blockedBy;
  // Why the chain did not count, when the credential's requirement refused the password-only way in.
  const chainReason =
    decision.reason === ConnectReasons.CREDENTIAL_REQUIRES_CERTIFICATE ? (chain.kind === 'untrusted' ? chain.reason : chain.kind === 'none' ? ConnectReasons.CHAIN_EMPTY : undefined) : undefined;
  return {
    ...base(decision.type, d, ctx),
    outcome: decision.outcome,
    reason: decision.reason,
    detail: {
      transport,
      certificate: chain.kind,
      ...(decision.outcome === 'accepted' ? { mode: decision.mode } : { returnCode: decision.returnCode }),
      ...('path' in chain ? { path: chain.path } : {}),
      ...('fingerprint' in chain ? { blockedFingerprint: chain.fingerprint } : {}),
      ...(chain.kind === 'blocked' && chain.serial ? { blockedSerial: chain.serial } : {}),
      // Accepted with a CRL past its nextUpdate (the account accepts stale CRLs): the warning, with the CA.
      ...(chain.kind === 'trusted' && chain.staleCrl ? { staleCrl: chain.staleCrl } : {}),
      ...(refusedFallback ? { fallbackRefused: true, blockedFingerprint: fallback.blockedBy!.fingerprint, lastPath: fallback.lastPath } : {}),
      ...(chainReason ? { chainReason } : {}),
    },
  };
}

export function sessionEndedEvent(reason: ConnectReason, d: DeviceRecord, ctx: AuditContext, detail: Record<string, unknown>): AuditEvent {
  return { ...base('session.ended', d, ctx), outcome: 'ended', reason, detail };
}

/** An admitted device whose certificates (leaf, intermediates) expire within `windowDays` (step 4). */
export function deviceCertExpiringEvent(d: DeviceRecord, certs: readonly ExpiringCert[], windowDays: number, transport: MqttTransport, ctx: AuditContext): AuditEvent {
  return {
    ...base(AuditTypes.DeviceCertExpiring, d, ctx),
    detail: {
      transport,
      windowDays,
      certificates: certs.map((c) => ({ role: c.role, fingerprint: c.fingerprint, subject: escapeField(c.subject, 1024), notAfter: c.notAfter.toISOString(), daysLeft: c.daysLeft })),
    },
  };
}

/** A live session's PUBLISH or SUBSCRIBE refused by the account's topic rules (topic-rules/denials.ts). */
export function topicDeniedEvent(reason: ConnectReason, d: DeviceRecord, ctx: AuditContext, detail: Record<string, unknown>): AuditEvent {
  return { ...base(AuditTypes.SessionTopicDenied, d, ctx), outcome: 'rejected', reason, detail };
}
