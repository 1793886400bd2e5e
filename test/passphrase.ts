// Pulumi's passphrase secrets provider, decrypt side only, so a test can check
// that every `secure:` value in a committed stack file is real ciphertext
// under the documented passphrase (a fake one fails `pulumi up` before the
// program runs). The scheme is the Pulumi CLI's (pkg/secrets/passphrase and
// its symmetric crypter): the stack file's `encryptionsalt` is
// `v1:<base64 salt>:<the word "pulumi", encrypted>`; the key is
// PBKDF2-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes); each value
// is `v1:<base64 12-byte nonce>:<base64 AES-256-GCM ciphertext and tag>`.
import * as crypto from "crypto";

/** The local stacks' passphrase (Pulumi.local.yaml, Pulumi.development.yaml): local-only, published on purpose. */
export const LOCAL_STACK_PASSPHRASE = "candlefish-local-testbed-only";

/** A decrypter for one stack file's values; throws if the passphrase does not open its `encryptionsalt`. */
export function passphraseDecrypter(encryptionsalt: string, passphrase: string): (ciphertext: string) => string {
    const [version, salt, ...check] = encryptionsalt.split(":");
    if (version !== "v1" || !salt || check.length === 0) throw new Error(`not a passphrase encryptionsalt: ${encryptionsalt}`);
    const key = crypto.pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const decrypt = (ciphertext: string): string => {
        const [v, nonce, body] = ciphertext.split(":");
        if (v !== "v1" || !nonce || !body) throw new Error(`not a v1 secure value: ${ciphertext}`);
        const buf = Buffer.from(body, "base64");
        const d = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
        d.setAuthTag(buf.subarray(buf.length - 16));
        return Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]).toString("utf8");
    };
    if (decrypt(check.join(":")) !== "pulumi") throw new Error("the passphrase does not open this stack's encryptionsalt");
    return decrypt;
}

/** Every `secure:` ciphertext in a stack file's config, with its dotted path. */
export function secureValues(config: unknown, prefix = ""): { path: string; ciphertext: string }[] {
    if (config === null || typeof config !== "object") return [];
    const o = config as Record<string, unknown>;
    if (!Array.isArray(o) && Object.keys(o).length === 1 && typeof o.secure === "string") return [{ path: prefix, ciphertext: o.secure }];
    return Object.entries(o).flatMap(([k, v]) => secureValues(v, prefix ? `${prefix}.${k}` : k));
}
