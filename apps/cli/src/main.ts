// `twoway` command dispatch: each top-level command lives in its own module and is loaded lazily,
// so `twoway pki verify` does not pay for the service launcher's imports.
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  up: { summary: 'start the whole system on the embedded default (SQLite, local nats-server, dev PKI)', load: () => import('./up/index.js') },
  pki: { summary: 'local PKI work: init-ca, issue-intermediate, issue-device, verify', load: () => import('./pki/index.js') },
  certs: { summary: 'trust anchors over the REST API: add, ls, show, suspend, revoke, restore, rm; CRLs and revoked serials: crl, crl-upload, revoke-serial, …', load: () => import('./rest/certs.js') },
  accounts: { summary: 'the account tree: create, show, children', load: () => import('./rest/accounts.js') },
  settings: { summary: "an account's TLS, mutual TLS and identity settings: get, set", load: () => import('./rest/settings.js') },
  'topic-rules': { summary: "an account's topic permissions (allow/deny rules): ls, add, rm, set, clear", load: () => import('./rest/topic-rules.js') },
  credentials: { summary: 'device MQTT credentials: add, ls, disable, enable, rm', load: () => import('./rest/credentials.js') },
  tokens: { summary: 'API tokens: create, ls, revoke', load: () => import('./rest/tokens.js') },
  audit: { summary: 'audit events: query, export (NDJSON, CSV), follow live (--follow)', load: () => import('./rest/audit.js') },
  decide: { summary: 'why a device is let in or refused: a dry run of the connect decision', load: () => import('./rest/decide.js') },
};

export function usage(): string {
  const rows = Object.entries(commands).map(([k, v]) => `  ${k.padEnd(12)} ${v.summary}`);
  return `usage: twoway <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun 'twoway <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const c = commands[cmd];
  if (!c) {
    console.error(`twoway: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  const mod = await c.load();
  return mod.run(rest);
}
