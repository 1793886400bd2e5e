import * as pulumi from "@pulumi/pulumi";
import { ConfigError, ConfigIssue, Field, Invalid, fail, isInvalid, unknownKeyMessage } from "./schema";

// Not in the public typings; the runtime knows which keys hold `secure:` values.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig: { isConfigSecret(key: string): boolean } = require("@pulumi/pulumi/runtime/config");

/** The project namespace of every config key this program owns. */
export const PROJECT = "candlefish-maturity-map";

/**
 * The `--path` keys whose values are secrets ("*": any one key). The program
 * refuses each in plaintext (the runtime tells it only whether the top-level
 * key holds a secret; test/config.test.ts checks each path here is refused);
 * the offline plan refuses a plaintext `--set` of any of them.
 */
export const SECRET_PATHS: readonly string[] = [
    "alerts.slackWebhookUrl",
    "alerts.smtp.password",
    "secrets.config.*",
    "local.database.password",
    "local.redis.password",
    "local.jwtSecret",
    "local.config.*",
];

/**
 * The stack's raw config, read once. Sections pull their top-level keys from
 * it; every key a section reads becomes "known", and `finish()` rejects the
 * rest, so a typo such as `activeColour` stops the program instead of being
 * ignored during a rollback.
 */
export class ConfigSource {
    readonly issues: ConfigIssue[] = [];
    private readonly known = new Set<string>();

    constructor(
        /** The stack name, as `pulumi.getStack()` returns it. */
        readonly stack: string,
        /** Top-level values of the project namespace, as Pulumi hands them to the program. */
        private readonly raw: Readonly<Record<string, string>>,
        private readonly secretKeys: ReadonlySet<string> = new Set(),
        /**
         * Plain (non-secret) keys of other namespaces, full keys (`aws:region`): settings of
         * the providers that this program must agree with, read with `readForeign`.
         */
        private readonly foreign: Readonly<Record<string, string>> = {},
    ) {}

    /** Reads the stack config the Pulumi runtime was given. */
    static fromRuntime(): ConfigSource {
        const all = pulumi.runtime.allConfig();
        const prefix = `${PROJECT}:`;
        const raw: Record<string, string> = {};
        const secret = new Set<string>();
        const foreign: Record<string, string> = {};
        for (const [k, v] of Object.entries(all)) {
            if (!k.startsWith(prefix)) {
                // Other namespaces (aws:region, ...) belong to their providers; the plain ones are
                // kept for readForeign, secrets (credentials) are never read.
                if (!runtimeConfig.isConfigSecret(k)) foreign[k] = v;
                continue;
            }
            const key = k.slice(prefix.length);
            raw[key] = v;
            if (runtimeConfig.isConfigSecret(k)) secret.add(key);
        }
        return new ConfigSource(pulumi.getStack(), raw, secret, foreign);
    }

    /** Reads one top-level key through its spec; absent keys fall back as the field says. */
    read<T>(key: string, spec: Field<T>): T | Invalid {
        this.known.add(key);
        const text = this.raw[key];
        const ctx = { path: key, issues: this.issues };
        if (text === undefined || text === "") {
            if (spec.optional) return spec.fallback as T;
            return fail(ctx, `required; expected ${spec.expected}`);
        }
        let value: unknown = text;
        if (/^\s*[[{]/.test(text)) {
            try {
                value = JSON.parse(text);
            } catch (e) {
                return fail(ctx, `is not valid structured config: ${(e as Error).message}`);
            }
        }
        return spec.parse(value, ctx);
    }

    /**
     * Reads a key of another namespace by its full name (`aws:region`): a provider's
     * own setting that the program must agree with. Unknown-key checks never apply.
     */
    readForeign<T>(fullKey: string, spec: Field<T>): T | Invalid {
        const text = this.foreign[fullKey];
        const ctx = { path: fullKey, issues: this.issues };
        if (text === undefined || text === "") {
            if (spec.optional) return spec.fallback as T;
            return fail(ctx, `required; expected ${spec.expected}`);
        }
        return spec.parse(text, ctx);
    }

    /**
     * Whether the stack sets a top-level key. Pulumi.yaml's empty defaults
     * count as unset. The key becomes known, so a section that refuses it
     * reports its own reason rather than "unknown key".
     */
    isSet(key: string): boolean {
        this.known.add(key);
        const text = this.raw[key];
        return text !== undefined && text !== "";
    }

    /** The top-level keys sections have read so far (Pulumi.yaml must declare each). */
    get knownKeys(): ReadonlySet<string> {
        return this.known;
    }

    isSecret(key: string): boolean {
        return this.secretKeys.has(key);
    }

    /** Records a problem found by a cross-key check. */
    problem(key: string, message: string): void {
        this.issues.push({ key, message });
    }

    /** Rejects unknown keys and throws every collected issue at once. */
    finish(): void {
        for (const key of Object.keys(this.raw)) {
            if (!this.known.has(key)) this.issues.push({ key, message: unknownKeyMessage(key, this.known) });
        }
        if (this.issues.length > 0) throw new ConfigError(this.issues);
    }
}

/** Narrows a parsed value for code that runs only when there were no issues. */
export function ok<T>(v: T | Invalid): T {
    if (isInvalid(v)) throw new Error("internal: invalid config value used after validation");
    return v as T;
}
