// A small, strict schema language for stack config.
//
// Every value the program reads from `pulumi config` goes through one of these
// specs. A spec either returns a typed value or records an error that names the
// full config key (`services.rtpm-api.green.imageTag`) and says what was
// expected. Errors are collected, never thrown one at a time, so an operator
// fixing a rollback at 3 a.m. sees every mistake in one run.

/** One problem with one config key. */
export interface ConfigIssue {
    readonly key: string;
    readonly message: string;
}

/** Thrown by `loadConfig` before any resource is registered. */
export class ConfigError extends Error {
    /**
     * Marks it as a `pulumi.RunError` (the SDK tests this property): `pulumi
     * preview`/`up` then print just the message, naming each key, with no
     * stack trace or object dump (test/real-cli.test.ts).
     */
    readonly __pulumiRunError = true;

    constructor(readonly issues: readonly ConfigIssue[]) {
        super(
            "invalid stack config:\n" +
                issues.map((i) => `  - ${i.key}: ${i.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Where a value sits, and the sink its problems go to. */
export interface Ctx {
    readonly path: string;
    readonly issues: ConfigIssue[];
}

const INVALID: unique symbol = Symbol("invalid");
/** A spec returns INVALID after recording an issue; callers propagate it. */
export type Invalid = typeof INVALID;

export interface Spec<T> {
    /** What the spec accepts, in words ("an integer from 0 to 100"). */
    readonly expected: string;
    parse(value: unknown, ctx: Ctx): T | Invalid;
}

export type Infer<S> = S extends Spec<infer T> ? T : never;

export const isInvalid = (v: unknown): v is Invalid => v === INVALID;

export function fail(ctx: Ctx, message: string): Invalid {
    ctx.issues.push({ key: ctx.path || "(root)", message });
    return INVALID;
}

export function child(ctx: Ctx, key: string): Ctx {
    return { path: ctx.path ? `${ctx.path}.${key}` : key, issues: ctx.issues };
}

export function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    if (typeof value === "string") return JSON.stringify(value);
    return `${typeof value} ${String(value)}`;
}

/** Levenshtein distance, for "did you mean" hints on typo'd keys. */
export function distance(a: string, b: string): number {
    const d: number[] = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = d[0];
        d[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = d[j];
            d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return d[b.length];
}

/** The closest known key, if it is close enough to be a typo. */
export function suggest(key: string, known: Iterable<string>): string | undefined {
    let best: string | undefined;
    let bestD = Infinity;
    for (const k of known) {
        const dd = distance(key.toLowerCase(), k.toLowerCase());
        if (dd < bestD) {
            best = k;
            bestD = dd;
        }
    }
    return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** The closest known name: a typo (edit distance) or an unambiguous prefix (`prod` for `production`). */
export function didYouMean(x: string, known: readonly string[]): string | undefined {
    const typo = suggest(x, known);
    if (typo) return typo;
    const prefixed = known.filter((k) => k.startsWith(x) || x.startsWith(k));
    return prefixed.length === 1 ? prefixed[0] : undefined;
}

export function unknownKeyMessage(key: string, known: Iterable<string>): string {
    const hint = suggest(key, known);
    const list = [...known].sort().join(", ");
    return hint
        ? `unknown key; did you mean "${hint}"?`
        : `unknown key; expected one of: ${list}`;
}

// ---------------------------------------------------------------------------
// Scalars. Stack files hold typed YAML, but `pulumi config set` at the top
// level stores strings, so numbers and booleans accept their canonical string
// forms too (the same coercion `config.getNumber`/`getBoolean` apply).

export function string(opts: {
    pattern?: RegExp;
    expected?: string;
    minLength?: number;
    maxLength?: number;
    check?: (s: string) => string | undefined;
} = {}): Spec<string> {
    const expected = opts.expected ?? (opts.pattern ? `a string matching ${opts.pattern}` : "a string");
    return {
        expected,
        parse(value, ctx) {
            if (typeof value !== "string") return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            if (opts.minLength !== undefined && value.length < opts.minLength)
                return fail(ctx, `expected ${expected}, got ${describe(value)} (too short)`);
            if (opts.maxLength !== undefined && value.length > opts.maxLength)
                return fail(ctx, `expected ${expected}, got ${describe(value)} (longer than ${opts.maxLength})`);
            if (opts.pattern && !opts.pattern.test(value))
                return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            const problem = opts.check?.(value);
            if (problem) return fail(ctx, problem);
            return value;
        },
    };
}

export function oneOf<const T extends string>(values: readonly T[]): Spec<T> {
    const expected = `one of ${values.map((v) => `"${v}"`).join(", ")}`;
    return {
        expected,
        parse(value, ctx) {
            if (typeof value === "string" && (values as readonly string[]).includes(value)) return value as T;
            const hint = typeof value === "string" ? suggest(value, values) : undefined;
            return fail(ctx, `expected ${expected}, got ${describe(value)}${hint ? `; did you mean "${hint}"?` : ""}`);
        },
    };
}

export function int(opts: { min?: number; max?: number } = {}): Spec<number> {
    const { min, max } = opts;
    const expected =
        min !== undefined && max !== undefined
            ? `an integer from ${min} to ${max}`
            : min !== undefined
              ? `an integer >= ${min}`
              : max !== undefined
                ? `an integer <= ${max}`
                : "an integer";
    return {
        expected,
        parse(value, ctx) {
            const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
            if (typeof n !== "number" || !Number.isInteger(n)) return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            if ((min !== undefined && n < min) || (max !== undefined && n > max))
                return fail(ctx, `expected ${expected}, got ${n}`);
            return n;
        },
    };
}

export function bool(): Spec<boolean> {
    return {
        expected: "true or false",
        parse(value, ctx) {
            if (typeof value === "boolean") return value;
            if (value === "true") return true;
            if (value === "false") return false;
            return fail(ctx, `expected true or false, got ${describe(value)}`);
        },
    };
}

// ---------------------------------------------------------------------------
// Structure.

export type Field<T> = Spec<T> & { readonly optional?: boolean; readonly fallback?: T };

/** A field that may be absent; absent means `fallback` (or undefined). */
export function optional<T>(spec: Spec<T>): Field<T | undefined>;
export function optional<T>(spec: Spec<T>, fallback: T): Field<T>;
export function optional<T>(spec: Spec<T>, fallback?: T): Field<T | undefined> {
    return { ...spec, expected: spec.expected, parse: spec.parse.bind(spec), optional: true, fallback };
}

type Shape = Record<string, Spec<unknown>>;
export type ObjectOf<S extends Shape> = { readonly [K in keyof S]: Infer<S[K]> };

/** A strict object: unknown keys are errors, with a "did you mean" hint. */
export function object<S extends Shape>(shape: S, expected = "an object"): Spec<ObjectOf<S>> {
    return {
        expected,
        parse(value, ctx) {
            if (value === null || typeof value !== "object" || Array.isArray(value))
                return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            const input = value as Record<string, unknown>;
            const out: Record<string, unknown> = {};
            let ok = true;
            for (const key of Object.keys(input)) {
                if (!(key in shape)) {
                    fail(child(ctx, key), unknownKeyMessage(key, Object.keys(shape)));
                    ok = false;
                }
            }
            for (const [key, spec] of Object.entries(shape)) {
                const f = spec as Field<unknown>;
                const c = child(ctx, key);
                if (input[key] === undefined || input[key] === null) {
                    if (f.optional) {
                        out[key] = f.fallback;
                        continue;
                    }
                    fail(c, `required; expected ${spec.expected}`);
                    ok = false;
                    continue;
                }
                const v = spec.parse(input[key], c);
                if (isInvalid(v)) ok = false;
                else out[key] = v;
            }
            return ok ? (Object.freeze(out) as ObjectOf<S>) : INVALID;
        },
    };
}

/** A map with free keys (checked by `keySpec`) and uniform values. */
export function record<T>(keySpec: Spec<string>, valueSpec: Spec<T>, expected = "a map"): Spec<Readonly<Record<string, T>>> {
    return {
        expected,
        parse(value, ctx) {
            if (value === null || typeof value !== "object" || Array.isArray(value))
                return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            const out: Record<string, T> = {};
            let ok = true;
            for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
                const c = child(ctx, key);
                const k = keySpec.parse(key, { path: c.path, issues: ctx.issues });
                const parsed = valueSpec.parse(v, c);
                if (isInvalid(k) || isInvalid(parsed)) ok = false;
                else out[k] = parsed;
            }
            return ok ? Object.freeze(out) : INVALID;
        },
    };
}

export function list<T>(item: Spec<T>, opts: { min?: number; max?: number } = {}): Spec<readonly T[]> {
    const expected = `a list of ${item.expected}`;
    return {
        expected,
        parse(value, ctx) {
            if (!Array.isArray(value)) return fail(ctx, `expected ${expected}, got ${describe(value)}`);
            if (opts.min !== undefined && value.length < opts.min)
                return fail(ctx, `expected at least ${opts.min} item(s), got ${value.length}`);
            if (opts.max !== undefined && value.length > opts.max)
                return fail(ctx, `expected at most ${opts.max} item(s), got ${value.length}`);
            const out: T[] = [];
            let ok = true;
            value.forEach((v, i) => {
                const parsed = item.parse(v, child(ctx, String(i)));
                if (isInvalid(parsed)) ok = false;
                else out.push(parsed);
            });
            return ok ? Object.freeze(out) : INVALID;
        },
    };
}

/** Either of two shapes (e.g. a flag value that is a boolean or a string). */
export function either<A, B>(a: Spec<A>, b: Spec<B>): Spec<A | B> {
    const expected = `${a.expected} or ${b.expected}`;
    return {
        expected,
        parse(value, ctx) {
            const scratch: ConfigIssue[] = [];
            const va = a.parse(value, { path: ctx.path, issues: scratch });
            if (!isInvalid(va)) return va;
            const vb = b.parse(value, { path: ctx.path, issues: [] });
            if (!isInvalid(vb)) return vb;
            return fail(ctx, `expected ${expected}, got ${describe(value)}`);
        },
    };
}

// ---------------------------------------------------------------------------
// Common value shapes, shared by every section.

/** RFC 1123 label: Kubernetes names, namespaces, service names. */
export const dnsLabel = string({
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    maxLength: 63,
    expected: "a DNS label (lower-case letters, digits and '-', at most 63 characters)",
});

/** A fully qualified domain name such as candlefish.ai or staging.candlefish.ai. */
export const domainName = string({
    pattern: /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    expected: "a lower-case domain name such as candlefish.ai",
});

export const email = string({
    pattern: /^[^\s@]+@([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/i,
    expected: "an email address such as infrastructure@candlefish.ai",
});

/** IPv4 CIDR with a valid prefix and no host bits set. */
export const cidr = string({
    expected: "an IPv4 CIDR block such as 10.0.0.0/16",
    check(s) {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
        if (!m) return `expected an IPv4 CIDR block such as 10.0.0.0/16, got ${JSON.stringify(s)}`;
        const octets = m.slice(1, 5).map(Number);
        const prefix = Number(m[5]);
        if (octets.some((o) => o > 255) || prefix > 32)
            return `expected an IPv4 CIDR block such as 10.0.0.0/16, got ${JSON.stringify(s)}`;
        const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
        const size = 2 ** (32 - prefix);
        if (ip % size !== 0) return `${JSON.stringify(s)} has host bits set; did you mean ${cidrBase(ip, prefix)}?`;
        return undefined;
    },
});

function cidrBase(ip: number, prefix: number): string {
    const size = 2 ** (32 - prefix);
    const base = ip - (ip % size);
    return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${prefix}`;
}

/** Kubernetes CPU quantity (250m, 1, 1.5). */
export const cpuQuantity = string({ pattern: /^(\d+m|\d+(\.\d+)?)$/, expected: "a CPU quantity such as 250m or 1" });
/** Kubernetes memory quantity (256Mi, 1Gi). */
export const memoryQuantity = string({
    pattern: /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/,
    expected: "a memory quantity such as 256Mi or 1Gi",
});
