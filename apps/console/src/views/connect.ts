// Connect a device: where devices of this account connect (GET /api/v1/connection-info), the server CA
// they must trust (downloadable), what the account's settings ask of them, and commands to try it with
// one of its credentials — mosquitto_pub, Python with Paho, MQTT.js — that need nothing but the device's
// files, plus the settings for the device examples (examples/devices/).
import type { ConnectionInfo, Credential, Settings } from '@twoway/contracts';
import { errorMessage, type ApiError } from '../api.js';
import { DEVICE_FILES, PASSWORD_LINE, deviceEnv, mosquittoPub, mqttJsPub, pahoScript, type DeviceSetup } from '../device-command.js';
import { formatDate, h, icon, replace, saveFile, shortFingerprint } from '../dom.js';
import type { Ctx } from '../session.js';
import { copyButton, errorBox, field, loading, pageHeader } from '../ui/parts.js';
import { BIND, connectionMode } from './settings.js';
import type { View } from './view.js';

/** Topic of the example command: topics are per account, so any plain name will do. */
const EXAMPLE_TOPIC = 'devices/hello';

/** Settle one request into its value or its error, so one failing part does not hide the others. */
const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

export function connectView(ctx: Ctx): View {
  const acc = `/accounts/${encodeURIComponent(ctx.account.id)}`;
  const body = h('div', { class: 'stack' }, loading('Loading connection details…'));

  async function load(): Promise<void> {
    const [info, settings, creds] = await Promise.all([
      settle(ctx.api.get<ConnectionInfo>('/connection-info')),
      settle(ctx.api.get<Settings>(`${acc}/settings`)),
      settle(ctx.api.get<{ items: Credential[] }>(`${acc}/credentials`, { limit: 100 })),
    ]);
    const fail = (r: { ok: false; error: unknown }) => errorBox(errorMessage(r.error), (r.error as ApiError).code);
    replace(
      body,
      info.ok ? brokerCard(info.value) : fail(info),
      info.ok ? caCard(info.value) : null,
      settings.ok ? accountCard(settings.value) : fail(settings),
      info.ok && settings.ok ? tryCard(info.value, settings.value, creds.ok ? creds.value.items : []) : null,
      creds.ok ? null : fail(creds),
    );
  }

  function brokerCard(info: ConnectionInfo): HTMLElement {
    const row = (label: string, value: string, note?: string) => [
      h('dt', null, label),
      h('dd', null, h('div', { class: 'copy-line' }, h('code', { class: 'mono break' }, value), copyButton('Copy', () => value)), note ? h('div', { class: 'hint' }, note) : null),
    ];
    return h(
      'section',
      { class: 'card card-pad', 'aria-labelledby': 'cn-broker' },
      h('h2', { id: 'cn-broker', class: 'card-title' }, 'Broker endpoint'),
      h(
        'dl',
        { class: 'details' },
        row('MQTT over TLS', info.mqtt.url, `Host ${info.mqtt.host}, port ${info.mqtt.port}. MQTT 3.1.1 (or 5), TLS 1.2 or newer.`),
        info.wss
          ? row('MQTT over WebSocket', info.wss.url, 'Subprotocol mqtt; the same TLS, certificates and credentials as MQTT over TLS.')
          : [h('dt', null, 'MQTT over WebSocket'), h('dd', { class: 'muted' }, 'Not enabled on this installation.')],
      ),
      h('p', { class: 'hint' }, 'Devices check the broker’s certificate against the server CA and this host name: connect to the name exactly as shown.'),
    );
  }

  function caCard(info: ConnectionInfo): HTMLElement {
    const ca = info.serverCa;
    return h(
      'section',
      { class: 'card card-pad', 'aria-labelledby': 'cn-ca' },
      h('h2', { id: 'cn-ca', class: 'card-title' }, 'Server CA'),
      ca
        ? [
            h('p', { class: 'muted' }, 'The CA that issued the broker’s certificate. Every device needs it to trust the broker (mosquitto ', h('code', null, '--cafile'), ', the examples’ ', h('code', null, 'MQTT_CA_FILE'), '). It is not the CA of your devices’ certificates.'),
            h(
              'ul',
              { class: 'plain-list' },
              ca.certificates.map((c) => h('li', null, h('span', { class: 'mono break' }, c.subject), h('span', { class: 'cell-sub', title: c.fingerprint }, `SHA-256 ${shortFingerprint(c.fingerprint)} · expires ${formatDate(c.notAfter)}`))),
            ),
            h(
              'div',
              { class: 'inline-actions' },
              h(
                'button',
                { type: 'button', class: 'btn btn-primary', onclick: () => saveFile(DEVICE_FILES.ca, new Blob([ca.pem], { type: 'application/x-pem-file' })) },
                icon('download'),
                'Download server CA',
              ),
              h('span', { class: 'muted small' }, DEVICE_FILES.ca),
            ),
          ]
        : h('div', { class: 'alert alert-info' }, h('strong', null, 'No server CA is configured on this installation. '), 'Ask your provider for the CA that issued the broker’s certificate (the gateway serves it when TWOWAY_SERVER_CA_FILE is set).'),
    );
  }

  function accountCard(s: Settings): HTMLElement {
    const mode = connectionMode(s);
    const mtls = s.mutualTls.available && s.mutualTls.enabled;
    const need: [string, string, string][] = [
      ['Server CA', DEVICE_FILES.ca, 'Downloaded above: the device trusts the broker with it.'],
      ...(mtls
        ? ([
            ['Its certificate chain', DEVICE_FILES.chain, 'The device certificate followed by its intermediate CA(s), from your PKI. The chain must reach a certificate registered under Certificates in this account or above it.'],
            ['Its private key', DEVICE_FILES.key, 'Generated with the certificate; it stays on the device and is never uploaded.'],
          ] as [string, string, string][])
        : []),
      ['A credential', 'username and password', 'One of this account’s credentials (Credentials).'],
    ];
    const bind = s.identity.bindCertificateTo;
    return h(
      'section',
      { class: 'card card-pad', 'aria-labelledby': 'cn-account' },
      h('h2', { id: 'cn-account', class: 'card-title' }, `What ${ctx.account.name} asks of a device`),
      h('div', { class: 'mode' }, h('div', { class: `alert alert-${mode.tone === 'ok' ? 'ok' : mode.tone === 'warn' ? 'info' : 'error'}` }, mode.text)),
      h('h3', { class: 'subhead' }, 'What the device needs'),
      h('ul', { class: 'plain-list' }, need.map(([what, file, why]) => h('li', null, h('strong', null, what), ' — ', h('code', null, file), h('div', { class: 'hint' }, why)))),
      mtls
        ? h(
            'div',
            { class: 'mode' },
            h(
              'div',
              { class: bind === 'none' ? 'alert alert-info' : 'hint' },
              h(
                'span',
                null,
                h('strong', null, `Identity binding: ${BIND[bind]}. `),
                bind === 'none'
                  ? 'Any device with a trusted certificate and valid credentials gets in, whatever its certificate names. For one device, one secret, bind certificates to the client id or username in Settings.'
                  : 'The certificate’s Common Name (or a SAN) must match, so each device needs its own certificate.',
              ),
            ),
          )
        : null,
    );
  }

  function tryCard(info: ConnectionInfo, s: Settings, creds: Credential[]): HTMLElement {
    const mtls = s.mutualTls.available && s.mutualTls.enabled;
    const pick = h('select', { class: 'input' }, creds.length ? creds.map((c) => h('option', { value: c.username }, c.username)) : h('option', { value: '' }, '(no credential yet)'));
    const block = (label: string) => h('pre', { class: 'json wrap full', 'aria-label': label });
    const password = block('Password line');
    password.textContent = PASSWORD_LINE;
    const commands: [title: string, label: string, make: (d: DeviceSetup) => string, el: HTMLPreElement][] = [
      ['mosquitto (mosquitto-clients 2.x)', 'mosquitto command', mosquittoPub, block('mosquitto command')],
      ['Python with Eclipse Paho (python3-paho-mqtt, or pip install paho-mqtt)', 'Python Paho command', pahoScript, block('Python Paho command')],
      ['Node.js with MQTT.js (npx fetches the mqtt package the first time)', 'MQTT.js command', mqttJsPub, block('MQTT.js command')],
    ];
    const env = block('Device example settings');
    const note = h('p', { class: 'hint' });
    const setup = (): DeviceSetup => {
      const username = pick.value || '<username>';
      return {
        host: info.mqtt.host,
        port: info.mqtt.port,
        caFile: DEVICE_FILES.ca,
        ...(mtls ? { certFile: DEVICE_FILES.chain, keyFile: DEVICE_FILES.key } : {}),
        username,
        clientId: username,
        topic: EXAMPLE_TOPIC,
      };
    };
    const refresh = (): void => {
      const d = setup();
      for (const [, , make, el] of commands) el.textContent = make(d);
      env.textContent = `${deviceEnv(d)}\n\nset -a; . ./device.env; set +a\nexamples/devices/mosquitto/device.sh   # or: python3 examples/devices/python-paho/device.py, node examples/devices/mqttjs/device.mjs`;
      const bind = s.identity.bindCertificateTo;
      note.textContent =
        bind === 'clientId' || bind === 'both' || bind === 'username'
          ? `This account binds certificates (${BIND[bind]}): the device certificate’s CN must be “${d.username}”, the client id used here.`
          : 'The client id is the username here; any id unique to the device will do.';
    };
    pick.addEventListener('change', refresh);
    refresh();
    const credentialsHref = `#/credentials?account=${encodeURIComponent(ctx.account.id)}`;
    const files = mtls ? `${DEVICE_FILES.ca}, ${DEVICE_FILES.chain} and ${DEVICE_FILES.key}` : DEVICE_FILES.ca;
    return h(
      'section',
      { class: 'card card-pad', 'aria-labelledby': 'cn-try' },
      h('h2', { id: 'cn-try', class: 'card-title' }, 'Try it'),
      creds.length
        ? field('Credential', pick, 'The commands use its username; the password is never shown again after it was created.')
        : h('div', { class: 'alert alert-info' }, h('span', null, 'This account has no credential yet. ', h('a', { href: credentialsHref }, 'Add one under Credentials'), ' and come back.')),
      h('p', { class: 'muted' }, `Each command publishes one message to ${EXAMPLE_TOPIC}. Run it in a shell in the folder that holds ${files}, after giving it the credential’s password:`),
      password,
      h('div', { class: 'inline-actions' }, copyButton('Copy password line', () => password.textContent ?? '')),
      commands.map(([title, label, , el]) => [h('h3', { class: 'subhead' }, title), el, h('div', { class: 'inline-actions' }, copyButton(`Copy ${label}`, () => el.textContent ?? ''))]),
      note,
      h(
        'p',
        { class: 'muted' },
        'Run a device that stays connected, receives its own messages and reconnects with backoff: the examples in ',
        h('code', null, 'examples/devices/'),
        ' of the twoway repository (shell, Python, Node.js) read these settings',
        mtls ? '' : ' (they always present a certificate: give them one even where the account accepts credentials alone)',
        ':',
      ),
      env,
      h('div', { class: 'inline-actions' }, copyButton('Copy settings', () => env.textContent ?? '')),
    );
  }

  void load();
  return {
    el: h('div', { class: 'page' }, pageHeader('Connect a device', ['How devices of ', h('strong', null, ctx.account.name), ' reach the broker, and what they need.']), body),
  };
}
