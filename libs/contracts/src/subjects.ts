// Every NATS subject twoway uses, declared once and versioned. Facts are past tense
// (`twoway.v1.cert.status_changed`); requests are verbs (`twoway.v1.settings.get`).

/** Request/reply subjects: a service answers, callers wait for one reply. */
export const RequestSubjects = {
  /** account-settings: resolve a bearer token into a principal. */
  TokenVerify: 'twoway.v1.auth.token.verify',
  /** account-settings: the ancestry of an account, self first, root last. */
  AccountAncestry: 'twoway.v1.account.ancestry.get',
  /** account-settings: effective settings of an account. */
  SettingsGet: 'twoway.v1.settings.get',
  /** account-settings: check an MQTT username/password (or certificate-derived key) and say whose it is. */
  CredentialVerify: 'twoway.v1.credential.verify',
  /**
   * account-settings: remember the verified path (fingerprints, leaf first) a credential last connected
   * with, so a device cannot fall back to its password once that path is suspended or revoked.
   */
  CredentialChainRecord: 'twoway.v1.credential.chain.record',
  /** account-settings: the verified path a credential last connected with, if any. */
  CredentialChainGet: 'twoway.v1.credential.chain.get',
  /** cert-registry: every registration (anchor or not) of the given accounts, with status. */
  TrustSetGet: 'twoway.v1.cert.trust_set.get',
  /** cert-registry: the digest of a trust set (libs/pki trust-digest.ts), to check a cached set without fetching it. */
  TrustSetDigest: 'twoway.v1.cert.trust_set.digest',
  /**
   * broker: how many live sessions a registration's status change would end. Scatter-gather: EVERY
   * replica answers (no queue group) and the caller sums the replies that arrive within its wait.
   */
  SessionsCount: 'twoway.v1.sessions.count',
  /** cert-registry: the revoked serial numbers of one registered CA (its CRL and revoked-serial entries), in pages. */
  RevokedSerialsGet: 'twoway.v1.cert.revoked_serials.get',
  /**
   * broker: decide a device's connection without one (a dry run, docs/broker.md). Queue group: any
   * replica answers, with the decision code a CONNECT runs. Asked by cert-registry's REST route.
   */
  ConnectDryRun: 'twoway.v1.connect.dry_run',
  /** account-settings: a credential as a connect would find it, without counting a failure (for a dry run). */
  CredentialInspect: 'twoway.v1.credential.inspect',
} as const;
export type RequestSubject = (typeof RequestSubjects)[keyof typeof RequestSubjects];

/** Change facts. Published to the CHANGES stream; every broker replica applies them at once. */
export const ChangeSubjects = {
  AccountCreated: 'twoway.v1.account.created',
  SettingsChanged: 'twoway.v1.settings.changed',
  CredentialChanged: 'twoway.v1.credential.changed',
  TokenRevoked: 'twoway.v1.token.revoked',
  CertAdded: 'twoway.v1.cert.added',
  CertStatusChanged: 'twoway.v1.cert.status_changed',
  CertDeleted: 'twoway.v1.cert.deleted',
  /** A CA's revocation data changed: a CRL stored or removed, a serial revoked or restored. */
  CertRevocationChanged: 'twoway.v1.cert.revocation_changed',
} as const;
export type ChangeSubject = (typeof ChangeSubjects)[keyof typeof ChangeSubjects];

/**
 * Core NATS (not JetStream): each change fact is also announced here, `twoway.v1.live.<fact>`, the
 * moment its writer's outbox relay first sees it, before the CHANGES stream stores it. Brokers apply an
 * announcement at once and the stream's copy later only if the announcement never arrived (same event
 * id). While the stream has no leader (a NATS node lost: the election takes seconds) a revocation
 * still reaches every connected broker in milliseconds; the stream stays the durable, ordered record.
 */
export const LiveChangeSubjectPrefix = 'twoway.v1.live';
const VersionPrefix = 'twoway.v1.';
/** The announcement subject of a change fact. */
export const liveChangeSubject = (subject: string): string => `${LiveChangeSubjectPrefix}.${subject.slice(VersionPrefix.length)}`;
/** The change fact an announcement subject stands for (undefined: not an announcement). */
export function changeSubjectOfLive(live: string): string | undefined {
  return live.startsWith(`${LiveChangeSubjectPrefix}.`) ? `${VersionPrefix}${live.slice(LiveChangeSubjectPrefix.length + 1)}` : undefined;
}

/**
 * Audit facts: `twoway.v1.audit.<area>.<fact>`. The AUDIT stream captures `twoway.v1.audit.>`;
 * downstream consumers filter on the hierarchy (e.g. `twoway.v1.audit.connect.>`).
 */
export const AuditSubjectPrefix = 'twoway.v1.audit';
export const auditSubject = (type: string): string => `${AuditSubjectPrefix}.${type}`;

export const Streams = {
  /** Durable audit trail for the audit service and downstream consumers. */
  Audit: { name: 'TWOWAY_AUDIT', subjects: [`${AuditSubjectPrefix}.>`] },
  /** Configuration and trust changes; brokers follow it, none may be lost. */
  Changes: { name: 'TWOWAY_CHANGES', subjects: Object.values(ChangeSubjects) as string[] },
} as const;

/** The durable consumer the audit service stores from. */
export const AuditStoreConsumer = 'audit-store';

/**
 * Core NATS (not JetStream): every MQTT PUBLISH accepted by one broker replica, fanned out to the other
 * replicas so their subscribers receive it. Payload: `MqttForwardEnvelope` in services/broker/src/cluster.
 */
export const MqttForwardSubject = 'twoway.v1.mqtt.published';

/** JetStream key-value bucket of MQTT retained messages, shared by every broker replica (key: base64url of the topic). */
export const MqttRetainedBucket = 'TWOWAY_MQTT_RETAINED';

/** NATS header carrying W3C trace context (`traceparent`) across services. */
export const TraceHeader = 'traceparent';
