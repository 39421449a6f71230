// GET /api/v1/connection-info: where devices connect (MQTT over TLS, and over secure WebSocket when the
// brokers serve it) and the CA that issued the broker's certificate, which devices must trust. The
// console's "Connect a device" panel shows it; the gateway answers it itself, from its settings.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConnectionInfo, ConnectionInfoPath, MqttWssPath, errorBody } from '@twoway/contracts';
import { parsePemCertificates } from '@twoway/pki';
import type { Logger } from '@twoway/telemetry';
import type { GatewayConfig } from '../config.js';

/** A server CA file larger than this is not a CA certificate (or a short bundle of them). */
const MAX_CA_FILE_BYTES = 256 * 1024;

/** A host name or IP address as a Host header may carry it; anything else is not echoed into commands. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.?)*|\[[0-9A-Fa-f:.]+\])$/;

type ConnectionSettings = Pick<GatewayConfig, 'mqttPort' | 'mqttWssPort' | 'publicMqttHost' | 'publicMqttPort' | 'publicMqttWssPort'>;

/** The endpoints, from the settings; `requestHost` (the host the API was reached at) when no public host is set. */
export function endpoints(cfg: ConnectionSettings, requestHost: string): Pick<ConnectionInfo, 'mqtt' | 'wss'> {
  const host = cfg.publicMqttHost ?? (HOST.test(requestHost) ? requestHost.replace(/^\[|\]$/g, '') : 'localhost');
  const inUrl = host.includes(':') ? `[${host}]` : host;
  const port = cfg.publicMqttPort ?? cfg.mqttPort;
  const wssPort = cfg.publicMqttWssPort ?? cfg.mqttWssPort;
  return {
    mqtt: { host, port, url: `mqtts://${inUrl}:${port}` },
    wss: wssPort ? { host, port: wssPort, path: MqttWssPath, url: `wss://${inUrl}:${wssPort}${MqttWssPath}` } : null,
  };
}

/**
 * The server CA file: TWOWAY_SERVER_CA_FILE, else the dev PKI's root that `twoway up` generates — but
 * not when the brokers serve an operator's own certificate (TWOWAY_TLS_CERT_FILE, which `twoway up`
 * passes to every process): the dev root did not issue that one.
 */
export const serverCaFile = (cfg: Pick<GatewayConfig, 'serverCaFile' | 'tlsCertFile' | 'dataDir'>): string | undefined => {
  if (cfg.serverCaFile) return cfg.serverCaFile;
  if (cfg.tlsCertFile) return undefined;
  const dev = join(cfg.dataDir, 'pki', 'ca.pem');
  return existsSync(dev) ? dev : undefined;
};

/**
 * The certificates of the file, re-encoded by libs/pki, or null. Read at every request, so a rotated CA
 * is served at once. A file that holds anything but certificates (a private key put there by mistake)
 * is never served, not even in part: null, and the log says why without the content.
 */
export async function readServerCa(file: string | undefined, log: Logger): Promise<ConnectionInfo['serverCa']> {
  if (!file) return null;
  try {
    const text = await readFile(file, 'utf8');
    if (text.length > MAX_CA_FILE_BYTES) throw new Error(`larger than ${MAX_CA_FILE_BYTES} bytes`);
    const certs = parsePemCertificates(text);
    return {
      pem: certs.map((c) => c.pem).join(''),
      certificates: certs.map((c) => ({ subject: c.subject, fingerprint: c.fingerprint, notAfter: c.notAfter.toISOString() })),
    };
  } catch (e) {
    log.warn({ file, code: (e as { code?: string }).code, reason: (e as Error).message }, 'server CA file not served (TWOWAY_SERVER_CA_FILE)');
    return null;
  }
}

/**
 * Authenticated like every /api/v1 route: the token is checked by its owner, account-settings
 * (`GET /api/v1/whoami`), whose refusal is passed on as it is. Any valid token may read it: nothing in
 * it is per account or secret.
 */
export function registerConnectionInfo(app: FastifyInstance, cfg: GatewayConfig, deps: { log: Logger; accountSettings: URL }): void {
  const authenticated = async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    let r: Response;
    try {
      r = await fetch(new URL('/api/v1/whoami', deps.accountSettings), {
        headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
        signal: AbortSignal.timeout(cfg.upstreamTimeoutMs),
      });
    } catch (e) {
      deps.log.warn({ err: e }, 'account-settings unreachable: cannot check the token');
      void reply.status(503).send(errorBody('UNAVAILABLE', 'cannot check the token now; try again'));
      return false;
    }
    if (r.ok) return true;
    void reply.status(r.status).type('application/json').send(await r.text());
    return false;
  };
  app.get(
    ConnectionInfoPath,
    {
      schema: {
        operationId: 'getConnectionInfo',
        summary: 'Tell where devices connect, and the server CA they trust',
        description:
          'The MQTT over TLS endpoint, the MQTT over secure WebSocket endpoint when the brokers serve one (else `null`), and the CA that ' +
          'issued the broker\'s certificate (PEM, certificates only; `null` when none is configured). Set by the installation: ' +
          '`TWOWAY_PUBLIC_MQTT_HOST` (unset: the host this API was reached at), `TWOWAY_PUBLIC_MQTT_PORT`, `TWOWAY_PUBLIC_MQTT_WSS_PORT`, ' +
          '`TWOWAY_SERVER_CA_FILE`. The same for every account: answered by the gateway itself. Roles: all.',
        tags: ['Connection'],
        response: { 200: ConnectionInfo },
        examples: {
          response: {
            mqtt: { host: 'mqtt.example.com', port: 8883, url: 'mqtts://mqtt.example.com:8883' },
            wss: { host: 'mqtt.example.com', port: 8884, path: MqttWssPath, url: `wss://mqtt.example.com:8884${MqttWssPath}` },
            serverCa: {
              pem: '-----BEGIN CERTIFICATE-----\nMIIBlTCCATugAwIBAgIU…\n-----END CERTIFICATE-----\n',
              certificates: [{ subject: 'CN=twoway dev root CA', fingerprint: '3f2a9c01d4e5b6a7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5', notAfter: '2035-01-01T00:00:00.000Z' }],
            },
          },
        },
      },
    },
    async (req, reply) => {
      if (!(await authenticated(req, reply))) return reply;
      return { ...endpoints(cfg, req.hostname), serverCa: await readServerCa(serverCaFile(cfg), deps.log) };
    },
  );
}
