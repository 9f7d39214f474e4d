// Tenant provider secrets at rest: AES-256-GCM via WebCrypto with CREDENTIALS_KEY (base64, 32
// bytes). Each ciphertext carries the key version it was made with, so the key can be rotated
// (new version in the env, old rows re-encrypted on their next save).
export interface Sealed {
  /** base64 of iv (12 bytes) || ciphertext+tag */
  ciphertext: string;
  keyVersion: number;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

const keys = new Map<string, Promise<CryptoKey>>();

function importKey(base64Key: string): Promise<CryptoKey> {
  let k = keys.get(base64Key);
  if (!k) {
    const raw = unb64(base64Key);
    if (raw.length !== 32) throw new Error('CREDENTIALS_KEY must be base64 of 32 bytes');
    k = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    keys.set(base64Key, k);
  }
  return k;
}

/** Encrypts `plain`; `aad` (e.g. the tenant id) binds the ciphertext to its row. */
export async function seal(
  plain: string,
  base64Key: string,
  keyVersion: number,
  aad: string,
): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(aad) },
      await importKey(base64Key),
      new TextEncoder().encode(plain),
    ),
  );
  const out = new Uint8Array(iv.length + ct.length);
  out.set(iv);
  out.set(ct, iv.length);
  return { ciphertext: b64(out), keyVersion };
}

export async function open(sealed: Sealed, base64Key: string, aad: string): Promise<string> {
  const all = unb64(sealed.ciphertext);
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: all.slice(0, 12), additionalData: new TextEncoder().encode(aad) },
    await importKey(base64Key),
    all.slice(12),
  );
  return new TextDecoder().decode(plain);
}

/** "••••••••abcd": enough for an owner to recognise the token, never enough to use it. */
export function mask(secret: string): string {
  return `${'•'.repeat(8)}${secret.slice(-4)}`;
}
