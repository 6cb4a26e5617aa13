/**
 * AES-256-GCM for secrets that must be stored (data-source passwords, password hashes in
 * events). The associated data binds a ciphertext to its owner (organization, record),
 * so a ciphertext copied to another row fails to decrypt. Each ciphertext names its
 * key id, so keys can be rotated: old ids stay decryptable while new writes use the
 * current key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

export class SecretBox {
  private readonly keys = new Map<string, Uint8Array>();
  readonly currentKeyId: string;

  constructor(currentKey: Uint8Array, previousKeys: Uint8Array[] = []) {
    if (currentKey.length !== 32) throw new RangeError("encryption key must be 32 bytes");
    this.currentKeyId = keyId(currentKey);
    this.keys.set(this.currentKeyId, currentKey);
    for (const k of previousKeys) this.keys.set(keyId(k), k);
  }

  /** `v1.<key id>.<iv>.<ciphertext+tag>` in base64url. */
  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(associatedData, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.currentKeyId}.${iv.toString("base64url")}.${body.toString("base64url")}`;
  }

  open(sealed: string, associatedData: string): string {
    const [version, kid, ivText, bodyText] = sealed.split(".");
    if (version !== "v1" || !kid || !ivText || !bodyText) throw new Error("not a sealed secret");
    const key = this.keys.get(kid);
    if (!key) throw new Error(`unknown encryption key id ${kid}`);
    const body = Buffer.from(bodyText, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(ivText, "base64url"));
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8");
  }
}

function keyId(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}
