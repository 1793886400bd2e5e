// Reads Pulumi.<stack>.yaml and applies `--set PATH=VALUE` edits exactly as
// `pulumi config set --path PATH VALUE` would, producing the config map the
// Pulumi runtime hands the program (full keys to strings; structured values as
// JSON). Values stored as `secure:` cannot be decrypted offline: they become a
// clearly marked placeholder and are flagged secret, so they are never printed.
// Required values a stack file leaves to the operator (no example or fake
// ciphertext is committed for them) get the plan's own stand-ins (STAND_INS).
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT, SECRET_PATHS } from "../config/source";
import { ConfigError, ConfigSource, parseConfig } from "../config";
import { MOCK_ACCOUNT } from "./mocks";

/** The project directory (holding Pulumi.yaml), from the sources or from dist/. */
export const ROOT = findRoot(__dirname);

function findRoot(dir: string): string {
    for (let d = dir; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
        if (path.dirname(d) === d) return path.resolve(__dirname, "..");
    }
}
/** What a `secure:` value becomes offline. Never a real secret. */
export const SECURE_PLACEHOLDER = "offline-placeholder-for-secure-value";

export class StackFileError extends Error {
    /**
     * 2: a bad invocation (unknown stack, missing file, malformed --set);
     * 1: bad input (a stack file that is not YAML, a plaintext value for a secret key), as invalid config.
     */
    constructor(
        message: string,
        readonly exitCode: 1 | 2 = 2,
    ) {
        super(message);
        this.name = "StackFileError";
    }
}

export interface StackConfigMap {
    /** Top-level keys, namespaced ("candlefish-maturity-map:services"), to their YAML values. */
    readonly values: Record<string, unknown>;
    /** Keys holding a `secure:` value somewhere inside. */
    readonly secretKeys: Set<string>;
    /** Dotted `--path` paths (project keys without namespace) whose value is a secret: `secure:` in the file, or set with --set-secret. */
    readonly secretPaths: Set<string>;
}

export function stackFile(stack: string, root = ROOT): string {
    return path.join(root, `Pulumi.${stack}.yaml`);
}

export function listStacks(root = ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** Loads a stack file's config block (`file`: another file for the same stack, as `pulumi --config-file`). */
export function readStack(stack: string, root = ROOT, file = stackFile(stack, root)): StackConfigMap {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) {
        const known = listStacks(root);
        throw new StackFileError(`--stack: unknown stack "${stack}"; no ${path.basename(file)} (stacks: ${known.join(", ") || "none"})`);
    }
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    } catch (e) {
        // Bad input, like invalid config (exit 1), named by the file the operator gave.
        throw new StackFileError(`${path.basename(file)}: not valid YAML: ${(e as Error).message}`, 1);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new StackFileError(`${path.basename(file)}: expected a YAML mapping with a config: block`, 1);
    const config = ((doc as Record<string, unknown>).config ?? {}) as Record<string, unknown>;
    const values: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    const secretPaths = new Set<string>();
    for (const [k, v] of Object.entries(config)) {
        const key = k.includes(":") ? k : `${PROJECT}:${k}`;
        const leaves: string[] = [];
        const { value, secret } = replaceSecure(v, key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : key, leaves);
        values[key] = value;
        if (secret) secretKeys.add(key);
        for (const l of leaves) secretPaths.add(l);
    }
    return { values, secretKeys, secretPaths };
}

function replaceSecure(v: unknown, at: string, leaves: string[]): { value: unknown; secret: boolean } {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (Object.keys(o).length === 1 && typeof o.secure === "string") {
            leaves.push(at);
            return { value: SECURE_PLACEHOLDER, secret: true };
        }
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) {
            const r = replaceSecure(x, `${at}.${k}`, leaves);
            out[k] = r.value;
            secret ||= r.secret;
        }
        return { value: out, secret };
    }
    if (Array.isArray(v)) {
        let secret = false;
        const out = v.map((x, i) => {
            const r = replaceSecure(x, `${at}.${i}`, leaves);
            secret ||= r.secret;
            return r.value;
        });
        return { value: out, secret };
    }
    return { value: v, secret: false };
}

/** Whether a dotted path must hold a secret: one of the program's SECRET_PATHS ("*" = any one key). */
export function mustBeSecret(dotted: string): boolean {
    const p = dotted.split(".");
    return SECRET_PATHS.some((pattern) => {
        const q = pattern.split(".");
        return q.length === p.length && q.every((s, i) => s === "*" || s === p[i]);
    });
}

/** Splits a `pulumi config set --path` path: a.b["c.d"][0] -> ["a", "b", "c.d", 0]. */
export function parsePath(p: string): (string | number)[] {
    const out: (string | number)[] = [];
    const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|(\.)/gy;
    let m: RegExpExecArray | null;
    let last = 0;
    let expectSegment = true;
    while ((m = re.exec(p)) !== null) {
        if (m[4]) {
            if (expectSegment) throw new StackFileError(`--set: bad path "${p}"`);
            expectSegment = true;
        } else {
            if (m[1] !== undefined) {
                if (!expectSegment) throw new StackFileError(`--set: bad path "${p}"`);
                out.push(m[1]);
            } else if (m[2] !== undefined) out.push(Number(m[2]));
            else out.push(JSON.parse(`"${m[3]}"`));
            expectSegment = false;
        }
        last = re.lastIndex;
    }
    if (last !== p.length || expectSegment || out.length === 0) throw new StackFileError(`--set: bad path "${p}"`);
    return out;
}

/**
 * Applies one `PATH=VALUE` edit. The first path segment is the key, in the
 * project namespace unless written `ns:key`. VALUE is parsed as a YAML scalar.
 * `secret`: the edit is `--set-secret` (as `pulumi config set --secret`).
 * `refusePlaintextSecrets` (the plan's --set): a plain edit of a key that must
 * be secret is refused, as the program refuses a plaintext value in the stack
 * file. Tests leave it off to feed the program plaintext on purpose.
 */
export function applySet(cfg: StackConfigMap, assignment: string, secret = false, refusePlaintextSecrets = false): void {
    const flag = secret ? "--set-secret" : "--set";
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new StackFileError(`${flag}: expected PATH=VALUE, got "${secret ? assignment.replace(/=.*/s, "=...") : assignment}"`);
    const segments = parsePath(assignment.slice(0, eq));
    const dotted = segments.map(String).join(".");
    if (refusePlaintextSecrets && !secret && (mustBeSecret(dotted) || cfg.secretPaths.has(dotted))) {
        throw new StackFileError(
            `--set ${dotted}: this key holds a secret, and a plaintext value is refused (the stack file must store it as ciphertext: pulumi config set --secret --path ${dotted} ...). ` +
                `To plan with another value, pass it with --set-secret ${dotted}=VALUE; it is masked like a secure: value`,
            1,
        );
    }
    let value: unknown;
    try {
        value = YAML.parse(assignment.slice(eq + 1));
    } catch {
        value = assignment.slice(eq + 1);
    }
    if (value !== null && typeof value === "object") throw new StackFileError(`${flag}: VALUE must be a scalar, got "${secret ? "..." : assignment.slice(eq + 1)}"`);
    if (secret) value = String(value);
    const first = String(segments[0]);
    const key = first.includes(":") ? first : `${PROJECT}:${first}`;
    if (secret) {
        cfg.secretKeys.add(key);
        cfg.secretPaths.add(dotted);
    }
    if (segments.length === 1) {
        cfg.values[key] = value;
        return;
    }
    let node = (cfg.values[key] ??= typeof segments[1] === "number" ? [] : {}) as Record<string | number, unknown>;
    if (typeof node !== "object" || node === null) throw new StackFileError(`--set: ${first} is a scalar, it has no ${String(segments[1])}`);
    for (let i = 1; i < segments.length - 1; i++) {
        const seg = segments[i];
        let next = node[seg];
        if (next === undefined || next === null) {
            next = typeof segments[i + 1] === "number" ? [] : {};
            node[seg] = next;
        }
        if (typeof next !== "object") throw new StackFileError(`--set: ${segments.slice(0, i + 1).join(".")} is a scalar, it has no ${String(segments[i + 1])}`);
        node = next as Record<string | number, unknown>;
    }
    node[segments[segments.length - 1]] = value;
}

/** The runtime's view: every value a string, structured ones as JSON. */
export function toRuntimeConfig(cfg: StackConfigMap): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.values)) {
        if (v === undefined || v === null) continue;
        config[k] = typeof v === "object" ? JSON.stringify(v) : String(v);
    }
    return { config, secretKeys: [...cfg.secretKeys] };
}

/**
 * A value the program requires but a stack file leaves to the operator
 * (`pulumi config set ...` once per stack), and what the offline plan uses in
 * its place so that the stack still renders. Never written to a stack file.
 */
export interface StandIn {
    /** The `--path` key, project namespace. */
    readonly key: string;
    readonly value: string;
    /** Stands in for a `pulumi config set --secret` value: flagged secret, printed as [secret]. */
    readonly secret: boolean;
}

export const STAND_INS: readonly StandIn[] = [
    // An IAM role in the mock account; EKS would refuse it ("invalid principal"), the mocks do not.
    { key: "cluster.adminRoleArn", value: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-stand-in`, secret: false },
    { key: "cluster.deployRoleArn", value: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-deploy-stand-in`, secret: false },
    { key: "cluster.readOnlyRoleArn", value: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-read-only-stand-in`, secret: false },
    // What a real `secure:` value becomes offline (readStack), so it is masked everywhere.
    { key: "alerts.slackWebhookUrl", value: SECURE_PLACEHOLDER, secret: true },
    // Whether the account already has the zone is the operator's to say; offline, the zone is looked up (mocks answer).
    { key: "dns.zone", value: "existing", secret: false },
];

/**
 * Applies a stand-in for each value the program's own validation reports as
 * required and unset (an issue on that key whose message starts "required"),
 * and returns the stand-ins applied. Values the stack sets, and values the
 * program does not require for this stack, are left alone.
 */
export function applyStandIns(stack: string, cfg: StackConfigMap): StandIn[] {
    const { config, secretKeys } = toRuntimeConfig(cfg);
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    const foreign: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
        else if (!secretKeys.includes(k)) foreign[k] = v;
    }
    const secret = new Set(secretKeys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
    let issues: ConfigError["issues"];
    try {
        parseConfig(new ConfigSource(stack, raw, secret, foreign));
        return [];
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        issues = e.issues;
    }
    const obj = (o: unknown): o is Record<string, unknown> => typeof o === "object" && o !== null && !Array.isArray(o);
    const unset = (segments: string[]) => {
        let v: unknown = cfg.values[`${PROJECT}:${segments[0]}`];
        for (const seg of segments.slice(1)) v = obj(v) ? v[seg] : undefined;
        return v === undefined || v === null || v === "";
    };
    // Only values that are absent: a value the stack sets, even a wrong one, is the stack's to fix.
    const needed = STAND_INS.filter((s) => unset(parsePath(s.key).map(String)) && issues.some((i) => i.key === s.key && /^required\b/.test(i.message)));
    for (const s of needed) {
        const [first, ...rest] = parsePath(s.key).map(String);
        const key = `${PROJECT}:${first}`;
        if (!obj(cfg.values[key])) cfg.values[key] = {}; // unset, or Pulumi.yaml's empty default
        let node = cfg.values[key] as Record<string, unknown>;
        for (const seg of rest.slice(0, -1)) {
            if (!obj(node[seg])) node[seg] = {};
            node = node[seg] as Record<string, unknown>;
        }
        node[rest[rest.length - 1]] = s.value;
        if (s.secret) cfg.secretKeys.add(key);
    }
    return needed;
}

/** Reads a stack, applies edits and the plan's stand-ins for unset required values, ready for `render`. */
export function loadStack(stack: string, sets: readonly string[] = [], root = ROOT): { config: Record<string, string>; secretKeys: string[] } {
    const cfg = readStack(stack, root);
    for (const s of sets) applySet(cfg, s);
    applyStandIns(stack, cfg);
    return toRuntimeConfig(cfg);
}
