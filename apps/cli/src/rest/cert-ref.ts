// A certificate named on the command line (`twoway certs show|suspend|crl… <ref>`): by id, a unique id
// prefix (8+ hex digits) or its name, in the account acted on.
import { enc, type Call } from './command.js';
import { certificateKind, resolveRef } from './resolve.js';

export const certificatesPath = async (c: Call): Promise<string> => `/accounts/${enc(await c.account())}/certificates`;

/** The route of the certificate `ref` names in the account: its id, an id prefix (8+ hex digits) or its name. */
export async function certPath(c: Call, ref: string): Promise<string> {
  const path = await certificatesPath(c);
  return `${path}/${enc(await resolveRef(c.api, certificateKind(path), ref))}`;
}

/** How a certificate argument is written in help. */
export const REF = '<id|prefix|name>';
