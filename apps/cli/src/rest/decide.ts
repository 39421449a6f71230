// `twoway decide`: why a device is let in or refused — a dry run of the broker's connect decision
// (`POST /api/v1/accounts/{id}/dry-run`) on the live registry, settings and credentials, without
// connecting. Prints the decision, its reason, what it means and how to fix it, the path and the
// settings that applied. The password is read from standard input, never from the command line by default.
import type { DryRunCertificate, DryRunPathEntry, DryRunResult } from '@twoway/contracts';
import { CliError } from './client.js';
import { readCertificates } from './certs.js';
import { command, enc, processIo, type Io } from './command.js';
import { asJson, keyValues, table } from './output.js';

/** Certificate fields come from the device: nothing that moves the terminal's cursor reaches it. */
const safe = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
const short = (fp: string): string => `${fp.slice(0, 16)}…`;

function registrations(c: DryRunCertificate): string {
  return c.registrations.map((r) => `${r.name ? `“${safe(r.name)}” ` : ''}${r.status}${r.inherited ? ' (inherited)' : ''}`).join(', ');
}

function settingsLine(s: NonNullable<DryRunResult['settings']>): string {
  const mutual = !s.mutualTls.available ? 'not available' : s.mutualTls.enabled ? 'on' : 'off';
  return `mutual TLS ${mutual}, plain TLS ${s.tls.enabled ? 'on' : 'off'}, fallback ${s.fallback}, certificate bound to ${s.identity.bindCertificateTo}, credentials by ${s.identity.credentialLookup}`;
}

export function render(r: DryRunResult): string {
  const head = `${r.decision}  ${r.reason}${r.returnCode !== undefined ? `  (CONNACK ${r.returnCode})` : r.mode ? `  (${r.mode})` : ''}`;
  const lines = [
    head,
    keyValues([
      ['why', r.explanation],
      ['fix', r.fix],
      ['account', r.account ?? 'none (no credential of this account matched)'],
      ['credential', r.credential.found ? `${r.credential.username ? safe(r.credential.username) : 'found'}${r.credential.accountId ? ` in ${r.credential.accountId}` : ''}` : 'not found'],
      ['password', r.password.checked ? 'checked' : `not checked${r.password.note ? ` — ${r.password.note}` : ''}`],
      ['settings', r.settings ? settingsLine(r.settings) : undefined],
      ['chain', `${r.chain.status}${r.chain.reason ? ` (${r.chain.reason})` : ''}${r.chain.detail ? `: ${safe(r.chain.detail)}` : ''}`],
    ]),
  ];
  const path: DryRunPathEntry[] = r.chain.path;
  if (path.length) lines.push('', table(['role', 'from', 'subject', 'sha256', 'validity', 'registered'], path.map((p) => [p.role, p.from, safe(p.subject), short(p.fingerprint), p.validity, registrations(p)])));
  else if (r.chain.presented.length) lines.push('', table(['presented', 'subject', 'sha256', 'validity', 'registered'], r.chain.presented.map((p, i) => [String(i + 1), safe(p.subject), short(p.fingerprint), p.validity, registrations(p)])));
  if (r.chain.blockedBy) lines.push('', `blocked by ${r.chain.blockedBy.fingerprint}`);
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `note: ${n}`));
  lines.push('', `decided by ${r.replica} at ${r.decidedAt}`);
  return lines.join('\n');
}

export const decide = command(
  'decide',
  "Why a device is let in or refused: the broker's connect decision, run without connecting (a dry run).",
  {
    '': {
      summary: 'decide a device connection as the broker would now, and say why',
      options: {
        chain: { type: 'string', arg: 'FILE', help: "the device's certificate chain, PEM: its own first, then its intermediates ('-': standard input)" },
        'client-id': { type: 'string', arg: 'ID', help: 'the MQTT client id the device sends' },
        username: { type: 'string', arg: 'NAME', help: 'the MQTT username the device sends' },
        'password-stdin': { type: 'boolean', help: 'read the password from standard input and check it too' },
        password: { type: 'string', arg: 'PASSWORD', help: 'the password (visible in shell history: prefer --password-stdin)' },
      },
      notes: [
        'Without a password the decision assumes the device sends the right one, and says what the check needs.',
        'Nothing happens to the device: no session, no connect audit event, no failed attempt counted. The dry run',
        'itself is audited (dry_run.decided), never the password. Exit 0 when decided (admit or refuse).',
        '',
        'examples:',
        '  twoway decide --chain sensor-17.pem --client-id sensor-17 --username sensor-17',
        '  twoway decide --chain sensor-17.pem --client-id sensor-17 --username sensor-17 --password-stdin < pw.txt',
      ],
      async run(c) {
        const file = c.str('chain');
        if (file === '-' && c.opts['password-stdin']) throw new CliError('--chain - and --password-stdin both read standard input: pass the chain as a file', 2);
        const chain = file ? (await readCertificates(c, file)).join('') : undefined;
        let password = c.str('password');
        if (c.opts['password-stdin']) password = (await c.io.stdin()).replace(/\r?\n$/, '');
        if (password === '') throw new CliError('the password read is empty', 2);
        const body = {
          ...(chain ? { chain } : {}),
          ...(c.str('client-id') !== undefined ? { clientId: c.str('client-id') } : {}),
          ...(c.str('username') !== undefined ? { username: c.str('username') } : {}),
          ...(password !== undefined ? { password } : {}),
        };
        const r = await c.api.json<DryRunResult>('POST', `/accounts/${enc(await c.account())}/dry-run`, { body });
        c.io.out(c.json ? asJson(r) : render(r));
      },
    },
  },
  '',
);

export const run = (argv: string[], io: Io = processIo()): Promise<number> => decide(argv, io);
