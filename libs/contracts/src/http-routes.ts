// Which service owns which REST path, for the HTTP front (gateway) and the Ingress. Longest prefix wins.
export const ApiPrefix = '/api/v1';
/** Answered by the gateway itself: where devices connect and the server CA they trust. */
export const ConnectionInfoPath = `${ApiPrefix}/connection-info`;

export const RouteOwners = [
  { pattern: /^\/api\/v1\/accounts\/[^/]+\/certificates(\/|$|\?)/, service: 'cert-registry' },
  { pattern: /^\/api\/v1\/accounts\/[^/]+\/audit(\/|$|\?)/, service: 'audit' },
  // cert-registry checks the chain and asks a broker replica over NATS (the gateway speaks HTTP only).
  { pattern: /^\/api\/v1\/accounts\/[^/]+\/dry-run(\/|$|\?)/, service: 'cert-registry' },
  { pattern: /^\/api\/v1\/accounts(\/|$|\?)/, service: 'account-settings' },
  { pattern: /^\/api\/v1\/whoami(\/|$|\?)/, service: 'account-settings' },
] as const;
export type ServiceName = 'cert-registry' | 'audit' | 'account-settings' | 'broker' | 'gateway';

export const ownerOf = (path: string): ServiceName | undefined =>
  RouteOwners.find((r) => r.pattern.test(path))?.service;

/** The groups of the API reference, in its order. Each route names its group in `schema.tags`. */
export const ApiTags = [
  { name: 'Accounts', description: 'The account tree. A token acts on its own account and the accounts below it; any other account answers 404 `ACCOUNT_NOT_FOUND`, as if it did not exist.' },
  { name: 'Settings', description: "An account's connection settings: plain TLS, mutual TLS (made available by the provider) and how a certificate is bound to the device's identity." },
  { name: 'Permissions', description: "An account's topic permissions: ordered allow and deny rules over MQTT topic filters, with `${username}`, `${cn}` and `${clientId}` standing for each device's identity. The first rule that matches decides; with rules, what no rule allows is refused. Brokers apply a change to live sessions at once." },
  { name: 'Certificates', description: 'Trust anchors: root and intermediate CAs, or single device certificates, with their status. Suspending or revoking one refuses new connections through it and ends the live sessions it concerns on every broker.' },
  { name: 'Revocation', description: "A registered CA's CRL (uploaded, or fetched from its distribution point) and serial numbers revoked under it without their certificates. Every broker refuses the serials they list and ends the live sessions of those devices." },
  { name: 'Credentials', description: 'MQTT usernames and passwords of the devices of an account. Passwords are stored hashed and never returned.' },
  { name: 'Tokens', description: 'API tokens and their roles: `admin` (everything in its subtree), `operator` (read only), `provisioner` (certificates only). A token secret is shown once, when it is created.' },
  { name: 'Diagnostics', description: "Why a device is let in or refused: a dry run of the broker's connect decision on the live registry, settings and credentials, without connecting." },
  { name: 'Audit', description: 'Every connection attempt with its reason and every change, queried, exported (NDJSON, CSV) or followed live (Server-Sent Events).' },
  { name: 'Connection', description: "Where this installation's devices connect (MQTT over TLS, MQTT over secure WebSocket) and the server CA they trust." },
  { name: 'Reference', description: 'This API described: the OpenAPI document and its readable rendering. No token needed.' },
] as const;

/** Default ports of each process (all overridable with TWOWAY_* settings). */
export const DefaultPorts = {
  gateway: 8080,
  'account-settings': 8081,
  'cert-registry': 8082,
  audit: 8083,
  broker: 8084,
  mqtts: 8883,
  /** MQTT over secure WebSocket, when a broker enables it (TWOWAY_MQTT_WSS_PORT); off by default. */
  mqttWss: 8884,
} as const;

/** The HTTP path of the MQTT over secure WebSocket listener (subprotocol `mqtt`). */
export const MqttWssPath = '/mqtt';
