// Generated device passwords, one alphabet for the console and the CLI: base64url's 64 symbols
// (letters, digits, '-' and '_'), which need no quoting in a shell, a URL or a config file.
// The caller supplies the random bytes (Web Crypto in the console, node:crypto in the CLI).

export const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** 24 symbols × 6 bits = 144 bits. */
export const GENERATED_PASSWORD_LENGTH = 24;

/** One symbol per byte (64 divides 256, so no bias); the first is a letter or digit, so no tool reads it as an option. */
export function passwordFromBytes(bytes: Uint8Array): string {
  if (bytes.length < GENERATED_PASSWORD_LENGTH) throw new RangeError(`need ${GENERATED_PASSWORD_LENGTH} random bytes`);
  return Array.from(bytes.subarray(0, GENERATED_PASSWORD_LENGTH), (b, i) => PASSWORD_ALPHABET[i === 0 ? b % 62 : b % 64]).join('');
}
