// Which service owns which REST path, for the HTTP front (gateway) and the Ingress. Longest prefix wins.
export const ApiPrefix = '/api/v1';
/** Answered by the gateway itself: where devices connect and the server CA they trust. */
export const ConnectionInfoPath = `${ApiPrefix}/connection-info`;

export const RouteOwners = [
  { pattern: /^\/api\/v1\/accounts\/[^/]+\/certificates(\/|$|\?)/, service: 'cert-registry' },
  { pattern: /^\/api\/v1\/accounts\/[^/]+\/audit(\/|$|\?)/, service: 'audit' },
  { pattern: /^\/api\/v1\/accounts(\/|$|\?)/, service: 'account-settings' },
  { pattern: /^\/api\/v1\/whoami(\/|$|\?)/, service: 'account-settings' },
] as const;
export type ServiceName = 'cert-registry' | 'audit' | 'account-settings' | 'broker' | 'gateway';

export const ownerOf = (path: string): ServiceName | undefined =>
  RouteOwners.find((r) => r.pattern.test(path))?.service;

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
