// `twoway settings`: plain TLS, mutual TLS (its availability is the provider's to grant) and identity binding.
import type { Settings, SettingsPatch } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, onOff, oneOf, processIo, type Io } from './command.js';
import { asJson, keyValues } from './output.js';

const BIND = ['none', 'clientId', 'username', 'both'] as const;
const LOOKUP = ['username', 'certificateCn', 'certificateSubject'] as const;
const STALE_CRL = ['accept', 'refuse'] as const;

const print = (s: Settings): string =>
  keyValues([
    ['tls', s.tls.enabled ? 'on' : 'off'],
    ['mutual tls available', `${s.mutualTls.available ? 'yes' : 'no'} (provider-controlled)`],
    ['mutual tls', s.mutualTls.enabled ? 'on' : 'off'],
    ['bind certificate to', s.identity.bindCertificateTo],
    ['credential lookup', s.identity.credentialLookup],
    ['stale CRL', s.revocation?.staleCrl ?? 'accept'],
  ]);

export const settings = command('settings', "An account's connection settings.", {
  get: {
    summary: 'show the settings',
    async run(c) {
      const s = await c.api.json<Settings>('GET', `/accounts/${enc(await c.account())}/settings`);
      c.io.out(c.json ? asJson(s) : print(s));
    },
  },
  set: {
    summary: 'change some settings (only the ones given are sent)',
    options: {
      tls: { type: 'string', arg: 'on|off', help: 'plain TLS with username and password' },
      mtls: { type: 'string', arg: 'on|off', help: 'mutual TLS (must be available first)' },
      'mtls-available': { type: 'string', arg: 'on|off', help: 'make mutual TLS available to the account (provider tokens only)' },
      bind: { type: 'string', arg: 'MODE', help: `bind the certificate CN/SAN to: ${BIND.join(', ')}` },
      lookup: { type: 'string', arg: 'MODE', help: `look credentials up by: ${LOOKUP.join(', ')}` },
      'stale-crl': { type: 'string', arg: 'POLICY', help: "a CA's CRL past its next update: accept (audited) or refuse (CRL_STALE)" },
    },
    notes: ['example: twoway settings set --mtls on --bind clientId'],
    async run(c) {
      const patch: SettingsPatch = {};
      const tls = onOff('tls', c.str('tls'));
      if (tls !== undefined) patch.tls = { enabled: tls };
      const available = onOff('mtls-available', c.str('mtls-available'));
      const mtls = onOff('mtls', c.str('mtls'));
      if (available !== undefined || mtls !== undefined) patch.mutualTls = { ...(available !== undefined ? { available } : {}), ...(mtls !== undefined ? { enabled: mtls } : {}) };
      const bind = oneOf('bind', c.str('bind'), BIND);
      const lookup = oneOf('lookup', c.str('lookup'), LOOKUP);
      if (bind || lookup) patch.identity = { ...(bind ? { bindCertificateTo: bind } : {}), ...(lookup ? { credentialLookup: lookup } : {}) };
      const staleCrl = oneOf('stale-crl', c.str('stale-crl'), STALE_CRL);
      if (staleCrl) patch.revocation = { staleCrl };
      if (!Object.keys(patch).length) throw new CliError('nothing to change: pass at least one of --tls, --mtls, --mtls-available, --bind, --lookup, --stale-crl', 2);
      const s = await c.api.json<Settings>('PUT', `/accounts/${enc(await c.account())}/settings`, { body: patch });
      c.io.out(c.json ? asJson(s) : print(s));
    },
  },
});

export const run = (argv: string[], io: Io = processIo()): Promise<number> => settings(argv, io);
