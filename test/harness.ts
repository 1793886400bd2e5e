// Test helpers over the one render harness (plan/render.ts) and the one mocks
// module (plan/mocks.ts): render or parse a stack file with edits, expect bad
// config to be refused before anything is registered, find what was declared.
import { strict as assert } from "assert";
import { AwsStackConfig, ConfigError, ConfigSource, StackConfig, parseConfig } from "../config";
import { RecordedResource, Rendered, render, reveal } from "../plan/render";
import { loadStack } from "../plan/stackfile";
import { mocks } from "../plan/mocks";
import { PROJECT } from "../config/source";
import { main as planMain } from "../plan/cli";

export { diffRenders } from "../plan/diff";

/** A diff reduced to what most tests compare: each change's type, name and paths; each addition's and deletion's type and name. */
export function brief(d: {
    changed: readonly { type: string; name: string; paths: string[] }[];
    added: readonly { type: string; name: string }[];
    removed: readonly { type: string; name: string }[];
}) {
    return {
        changed: d.changed.map((c) => ({ type: c.type, name: c.name, paths: c.paths })),
        added: d.added.map((a) => ({ type: a.type, name: a.name })),
        removed: d.removed.map((r) => ({ type: r.type, name: r.name })),
    };
}

/** Renders Pulumi.<stack>.yaml with `--set`-style edits applied. */
export async function renderStack(stack: string, sets: readonly string[] = []): Promise<Rendered> {
    const { config, secretKeys } = loadStack(stack, sets);
    return render({ stack, config, secretKeys });
}

/** Renders the committed production and staging stack files, in that order (nothing cached). */
export async function renderBoth(): Promise<{ prod: Rendered; staging: Rendered }> {
    const prod = await renderStack("production");
    const staging = await renderStack("staging");
    return { prod, staging };
}

/** Whole top-level keys (project namespace, unqualified) replaced in a stack's config; `undefined` removes the key. */
export type Replace = Readonly<Record<string, unknown>>;

/** Secret marking beyond what the stack file says (top-level keys, project namespace, unqualified). */
export interface SecretOptions {
    /** Keys to mark secret, as `pulumi config set --secret` would leave them (e.g. a replaced `secrets`). */
    readonly secret?: readonly string[];
    /** Keys to hand over in plaintext although the stack file stores them `secure:`. */
    readonly plaintext?: readonly string[];
}

/**
 * Pulumi.<stack>.yaml's config as the program receives it: `--set`-style `edits`
 * applied, then whole top-level keys replaced (an object becomes structured
 * JSON config, a scalar its string, `undefined` drops the key), and the secret
 * keys adjusted by `opts`.
 */
export function stackConfig(
    stack: string,
    edits: readonly string[] = [],
    replace: Replace = {},
    opts: SecretOptions = {},
): { config: Record<string, string>; secretKeys: string[] } {
    const { config, secretKeys } = loadStack(stack, edits);
    const qualified = (k: string) => `${PROJECT}:${k}`;
    for (const [k, v] of Object.entries(replace)) {
        if (v === undefined) delete config[qualified(k)];
        else config[qualified(k)] = typeof v === "object" ? JSON.stringify(v) : String(v);
    }
    const plaintext = new Set((opts.plaintext ?? []).map(qualified));
    const keys = secretKeys.filter((k) => !plaintext.has(k));
    for (const k of (opts.secret ?? []).map(qualified)) if (!keys.includes(k)) keys.push(k);
    return { config, secretKeys: keys };
}

/** Renders a stack file with edits, replaced keys and secret marking (see stackConfig). */
export function renderWith(stack: string, edits: readonly string[] = [], replace: Replace = {}, opts: SecretOptions = {}): Promise<Rendered> {
    return render({ stack, ...stackConfig(stack, edits, replace, opts) });
}

/**
 * Parses a stack file's config (see stackConfig) without rendering: the
 * project-namespace keys, with their secret marking, as the program's
 * ConfigSource sees them. `opts.as` parses it under another stack name.
 */
export function parseStack(stack: string, edits: readonly string[] = [], replace: Replace = {}, opts: SecretOptions & { as?: string } = {}): StackConfig {
    const { config, secretKeys } = stackConfig(stack, edits, replace, opts);
    const prefix = `${PROJECT}:`;
    const strip = (k: string) => k.slice(prefix.length);
    const raw: Record<string, string> = {};
    const foreign: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        if (k.startsWith(prefix)) raw[strip(k)] = v;
        else if (!secretKeys.includes(k)) foreign[k] = v; // aws:region, as the runtime hands it over
    }
    const secret = new Set(secretKeys.filter((k) => k.startsWith(prefix)).map(strip));
    return parseConfig(new ConfigSource(opts.as ?? stack, raw, secret, foreign));
}

/** parseStack for a stack on the AWS foundation (production, staging); fails for any other. */
export function parseWith(stack: string, edits: readonly string[] = [], replace: Replace = {}, opts: SecretOptions & { as?: string } = {}): AwsStackConfig {
    const c = parseStack(stack, edits, replace, opts);
    if (c.platform !== "aws") return assert.fail(`${stack} parses as platform "${c.platform}", not "aws"`);
    return c;
}

/**
 * Runs `fn` with every resource the mock engine is asked to create counted
 * (mocks.newResource wrapped, and restored afterwards); `fn` reads the count
 * so far through `registered()`.
 */
export async function withRegistrationCount<T>(fn: (registered: () => number) => Promise<T>): Promise<T> {
    const original = mocks.newResource;
    let registered = 0;
    mocks.newResource = (args) => {
        registered++;
        return original.call(mocks, args);
    };
    try {
        return await fn(() => registered);
    } finally {
        mocks.newResource = original;
    }
}

/**
 * Renders a stack file (see stackConfig) and expects a ConfigError; fails if it
 * renders or throws anything else. Returns the error's message and how many
 * resources the mock engine was asked to create, so "nothing was registered"
 * is measured, not assumed.
 */
export async function expectRejected(
    stack: string,
    edits: readonly string[] = [],
    replace: Replace = {},
    opts: SecretOptions = {},
): Promise<{ message: string; registered: number }> {
    const { config, secretKeys } = stackConfig(stack, edits, replace, opts);
    return withRegistrationCount(async (registered) => {
        try {
            await render({ stack, config, secretKeys });
        } catch (e) {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error).stack}`);
            return { message: e.message, registered: registered() };
        }
        return assert.fail(`expected ${JSON.stringify({ stack, edits, replace, ...opts })} to be rejected, but ${registered()} resources were registered`);
    });
}

/** Renders an explicit config (project-namespace keys; objects become structured config). */
export async function renderConfig(stack: string, values: Record<string, unknown>): Promise<Rendered> {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
        const key = k.includes(":") ? k : `${PROJECT}:${k}`;
        config[key] = typeof v === "object" ? JSON.stringify(v) : String(v);
    }
    return render({ stack, config });
}

export function ofType(r: Rendered, type: string): RecordedResource[] {
    return r.resources.filter((x) => x.type === type);
}

/** The one resource of `type` with logical `name`; fails loudly otherwise. */
export function find(r: Rendered, type: string, name: string): RecordedResource {
    const hits = r.resources.filter((x) => x.type === type && x.name === name);
    if (hits.length !== 1) {
        const names = ofType(r, type).map((x) => x.name).join(", ");
        throw new Error(`expected one ${type} named ${name}, found ${hits.length} (have: ${names})`);
    }
    return hits[0];
}

/** A resource's inputs with secrets revealed, for assertions. */
export function inputs(res: RecordedResource): any {
    return reveal(res.inputs);
}

/** Reads a dotted path out of a plain object. */
export function at(obj: unknown, dotted: string): any {
    return dotted.split(".").reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);
}

export const SERVICES = ["candlefish-website", "rtpm-api", "nanda-api", "otter-gateway"] as const;
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const SERVICE = "kubernetes:core/v1:Service";
export const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

/** What one in-process run of the plan command printed, and its exit code. */
export interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs the plan command (`npm run plan -- <argv>`) in this process, capturing stdout and stderr. */
export async function plan(...argv: string[]): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const code = await planMain(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    return { code, stdout, stderr };
}
