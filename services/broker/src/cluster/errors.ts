// Errors of the cross-replica message fan-out.

/** A PUBLISH whose forwarded form exceeds the NATS server's max_payload: refused on every replica alike. */
export class MqttForwardTooLargeError extends Error {
  override name = 'MqttForwardTooLargeError';
  readonly code = 'MQTT_PAYLOAD_TOO_LARGE';
  constructor(readonly topic: string, readonly encodedBytes: number, readonly maxPayloadBytes: number) {
    super(`MQTT message of ${encodedBytes} bytes (forwarded form) exceeds the cluster limit of ${maxPayloadBytes} bytes`);
  }
}

/** emit() after close(), like mqemitter's own error. */
export class MqEmitterClosedError extends Error {
  override name = 'MqEmitterClosedError';
  constructor() {
    super('mqemitter is closed');
  }
}
