// The offline policy evaluator: runs the pack's policy objects (the same ones
// `pulumi preview --policy-pack policies` serves) over a render from
// plan/render.ts, building each policy's arguments the way @pulumi/policy's
// analyzer server does (server.js: makeAnalyzeRpcFun / makeAnalyzeStackRpcFun):
//
// - props are the inputs, secrets unwrapped, wrapped in `unknownCheckingProxy`;
//   values the render marks "[unknown]" become the runtime's unknown sentinel,
//   so a policy touching one sees `UnknownValueError` exactly as in a preview;
// - opts carry protect, ignoreChanges, deleteBeforeReplace and the parent URN;
//   `isType`/`asType` compare the class's Pulumi type token;
// - enforcement levels and per-policy config resolve as the CLI's
//   `--policy-pack-config` does: { "all": level, "<policy>": level | { enforcementLevel, ...props } },
//   props checked against the policy's configSchema, defaults applied;
// - an UnknownValueError becomes an advisory "can't run during preview"
//   diagnostic, `notApplicable` skips, any other error fails the evaluation.
//
// Differences from a real preview, by construction of an offline render: stack
// policies see inputs rather than provider outputs, and dependencies are the
// explicit `dependsOn` plus the references recoverable from mock IDs (plan/mocks.ts
// gives every resource the ID "<name>-id").
import {
    EnforcementLevel,
    Policies,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
    unknownCheckingProxy,
} from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { RecordedResource, Rendered, Secret, UNKNOWN_VALUE } from "./render";
import { PACK_NAME, POLICIES } from "../policies/pack";

export interface PolicyViolation {
    readonly policy: string;
    readonly level: "mandatory" | "advisory";
    readonly type: string;
    readonly name: string;
    readonly message: string;
}

export interface PolicyReport {
    /** How many policies were evaluated (those not disabled by config). */
    readonly policies: number;
    readonly violations: PolicyViolation[];
}

export interface EvaluateOptions {
    /** Pack config as `pulumi preview --policy-pack-config` takes it. */
    readonly config?: Record<string, unknown>;
}

/** Evaluates the pack (policies/pack.ts) over a render. */
export async function evaluatePolicies(rendered: Rendered, opts?: EvaluateOptions): Promise<PolicyReport> {
    return evaluate(POLICIES, rendered, opts);
}

/** The runtime's sentinel for an unknown value (@pulumi/policy proxy.js `unknownStringValue`). */
export const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Thrown for pack config the CLI would refuse; names the policy and key. */
export class PolicyConfigError extends Error {}

/** Thrown by `args.notApplicable`; not an Error, so it captures no stack (it is thrown for most policy/resource pairs). */
class NotApplicable {
    constructor(readonly reason?: string) {}
}
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

interface Resolved {
    readonly level: EnforcementLevel;
    readonly props: Record<string, unknown>;
}

/** Resolves each policy's level and config, as the CLI does before `configure`. */
export function resolveConfig(policies: Policies, config: Record<string, unknown> = {}): Map<string, Resolved> {
    const names = new Set(policies.map((p) => p.name));
    for (const k of Object.keys(config)) {
        if (k !== "all" && !names.has(k)) {
            const hint = [...names].find((n) => n.includes(k) || k.includes(n));
            throw new PolicyConfigError(`policy pack config: unknown policy "${k}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
        }
    }
    const all = config.all;
    const allLevel = typeof all === "string" ? all : (all as { enforcementLevel?: string } | undefined)?.enforcementLevel;
    if (allLevel !== undefined && !LEVELS.includes(allLevel as EnforcementLevel))
        throw new PolicyConfigError(`policy pack config: all: enforcement level "${allLevel}" is not one of ${LEVELS.join(", ")}`);

    const out = new Map<string, Resolved>();
    for (const p of policies) {
        const raw = config[p.name];
        let level = (allLevel as EnforcementLevel | undefined) ?? p.enforcementLevel ?? "advisory";
        let given: Record<string, unknown> = {};
        if (typeof raw === "string") {
            level = raw as EnforcementLevel;
        } else if (raw !== undefined) {
            if (raw === null || typeof raw !== "object" || Array.isArray(raw))
                throw new PolicyConfigError(`policy pack config: ${p.name}: expected an enforcement level or an object`);
            const { enforcementLevel, ...rest } = raw as Record<string, unknown>;
            if (enforcementLevel !== undefined) level = enforcementLevel as EnforcementLevel;
            given = rest;
        }
        if (!LEVELS.includes(level)) throw new PolicyConfigError(`policy pack config: ${p.name}.enforcementLevel: "${String(level)}" is not one of ${LEVELS.join(", ")}`);
        out.set(p.name, { level, props: applySchema(p.name, p.configSchema, given) });
    }
    return out;
}

function applySchema(policy: string, schema: PolicyConfigSchema | undefined, given: Record<string, unknown>): Record<string, unknown> {
    const props = schema?.properties ?? {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(given)) {
        const s = props[k];
        if (s === undefined) {
            const known = Object.keys(props);
            throw new PolicyConfigError(`policy pack config: ${policy}.${k}: unknown property (${known.length ? `known: ${known.join(", ")}` : "this policy takes no config"})`);
        }
        const problem = typeof s === "object" ? check(v, s) : undefined;
        if (problem) throw new PolicyConfigError(`policy pack config: ${policy}.${k}: ${problem}`);
        out[k] = v;
    }
    for (const [k, s] of Object.entries(props)) if (!(k in out) && typeof s === "object" && s.default !== undefined) out[k] = s.default;
    for (const r of schema?.required ?? []) if (!(r in out)) throw new PolicyConfigError(`policy pack config: ${policy}.${r}: required`);
    return out;
}

/** The JSON-schema subset our policies use: type, enum, minimum/maximum, pattern, items. */
function check(v: unknown, s: PolicyConfigJSONSchema): string | undefined {
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    const typeOf = (x: unknown) => (Array.isArray(x) ? "array" : x === null ? "null" : Number.isInteger(x) ? "integer" : typeof x);
    if (types.length && !types.some((t) => t === typeOf(v) || (t === "number" && typeof v === "number"))) return `expected ${types.join(" or ")}, got ${JSON.stringify(v)}`;
    if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) return `expected one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(v)}`;
    if (typeof v === "number") {
        if (s.minimum !== undefined && v < s.minimum) return `expected >= ${s.minimum}, got ${v}`;
        if (s.maximum !== undefined && v > s.maximum) return `expected <= ${s.maximum}, got ${v}`;
    }
    if (typeof v === "string" && s.pattern && !new RegExp(s.pattern).test(v)) return `expected to match ${s.pattern}, got ${JSON.stringify(v)}`;
    if (Array.isArray(v) && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        for (let i = 0; i < v.length; i++) {
            const p = check(v[i], s.items);
            if (p) return `[${i}]: ${p}`;
        }
    }
    return undefined;
}

/** Inputs as the analyzer deserializes them: secrets unwrapped, unknowns as the runtime's sentinel. */
export function toRuntimeProps(v: unknown): any {
    if (v instanceof Secret) return toRuntimeProps(v.value);
    if (v === UNKNOWN_VALUE) return UNKNOWN_SENTINEL;
    if (Array.isArray(v)) return v.map(toRuntimeProps);
    if (v !== null && typeof v === "object") {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toRuntimeProps(x);
        return o;
    }
    return v;
}

type ResourceClass = { __pulumiType?: string; isInstance?: (o: unknown) => boolean };

/** server.js isTypeOf: the class's type token, else its isInstance. */
function isTypeOf(type: string, cls: ResourceClass): boolean {
    const t = cls.__pulumiType;
    if (typeof t === "string" && t.length > 0) return type === t;
    return typeof cls.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

const refOf = (r: RecordedResource) => `${r.type}::${r.name}`;

/** A resource as the engine sends it to the analyzer (AnalyzeRequest / AnalyzerResource), in plain data. */
export interface EngineResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Looked up (`.get`): sent to analyzeStack only. */
    readonly read: boolean;
    /** Deserialized props: secrets unwrapped, unknowns as the runtime sentinel. */
    readonly props: Record<string, unknown>;
    readonly protect: boolean;
    readonly ignoreChanges: readonly string[];
    readonly deleteBeforeReplace: boolean;
    readonly parent?: string;
    readonly provider?: { readonly type: string; readonly name: string; readonly urn: string; readonly props: Record<string, unknown> };
    /** URNs this resource depends on: explicit dependsOn plus property references. */
    readonly dependencies: readonly string[];
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

/**
 * What the engine would send the analyzer for a render. Parents, providers and
 * dependsOn are recorded as "<type>::<name>" and resolve to URNs; property
 * dependencies are recovered from the mock IDs (plan/mocks.ts: "<name>-id").
 */
export function engineView(rendered: Pick<Rendered, "resources">): EngineResource[] {
    const resources = rendered.resources;
    const byRef = new Map<string, RecordedResource>();
    for (const r of resources) if (!byRef.has(refOf(r))) byRef.set(refOf(r), r);
    const idOwner = new Map<string, string | null>(); // mock ID -> URN (null when ambiguous)
    for (const r of resources) if (r.custom) idOwner.set(`${r.name}-id`, idOwner.has(`${r.name}-id`) ? null : r.urn);
    const plain = new Map(resources.map((r) => [r, toRuntimeProps(r.inputs)]));
    return resources.map((r) => {
        const deps = new Set<string>();
        for (const d of r.options.dependsOn) {
            const t = byRef.get(d);
            if (t) deps.add(t.urn);
        }
        const propertyDependencies: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(r.inputs)) {
            const vals = (Array.isArray(v) ? v : [v]).map((x) => (x instanceof Secret ? x.value : x));
            const urns = vals.map((x) => (typeof x === "string" ? idOwner.get(x) : undefined)).filter((u): u is string => !!u && u !== r.urn);
            if (urns.length) {
                propertyDependencies[k] = urns;
                urns.forEach((u) => deps.add(u));
            }
        }
        const parent = r.options.parent ? byRef.get(r.options.parent) : undefined;
        const provider = r.options.provider ? byRef.get(r.options.provider) : undefined;
        return {
            type: r.type,
            name: r.name,
            urn: r.urn,
            read: r.read,
            props: plain.get(r)!,
            protect: r.options.protect,
            ignoreChanges: r.options.ignoreChanges,
            deleteBeforeReplace: r.options.deleteBeforeReplace,
            ...(parent ? { parent: parent.urn } : {}),
            ...(provider ? { provider: { type: provider.type, name: provider.name, urn: provider.urn, props: plain.get(provider)! } } : {}),
            dependencies: [...deps],
            propertyDependencies,
        };
    });
}

interface Diag {
    policy: string;
    level: EnforcementLevel;
    urn?: string;
    message: string;
}

/** Evaluates `policies` over a render (tests pass synthetic renders and single policies). */
export async function evaluate(policies: Policies, rendered: Pick<Rendered, "stack" | "resources">, opts?: EvaluateOptions): Promise<PolicyReport> {
    const resolved = resolveConfig(policies, opts?.config);
    const resources = engineView(rendered);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const project = resources[0]?.urn.split("::")[1] ?? "project";
    const stackTags: ReadonlyMap<string, string> = new Map([
        ["pulumi:project", project],
        ["pulumi:runtime", "nodejs"],
    ]);
    const optsOf = (r: EngineResource): PolicyResourceOptions => {
        const o: PolicyResourceOptions = {
            protect: r.protect,
            ignoreChanges: [...r.ignoreChanges],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
            deleteBeforeReplace: r.deleteBeforeReplace,
        };
        if (r.parent) o.parent = r.parent;
        return o;
    };
    // Every policy gets its own proxy over the (shared, read-only by convention) props.
    const providerOf = (r: EngineResource) => (r.provider ? { ...r.provider, props: unknownCheckingProxy(r.provider.props) } : undefined);
    const diags: Diag[] = [];
    const reporter = (policy: string, level: EnforcementLevel, urn?: string): ReportViolation => (message, at) => {
        if (typeof message === "object") {
            // The runtime's PolicyInfo form.
            const info = message as { message?: string; description?: string; urn?: string; enforcementLevel?: EnforcementLevel; name?: string };
            diags.push({ policy: info.name ?? policy, level: info.enforcementLevel ?? level, urn: info.urn ?? urn, message: info.message ?? info.description ?? "" });
        } else {
            diags.push({ policy, level, urn: urn ?? at, message: message ?? "" });
        }
    };
    const failed = (p: Policy, where: string, e: unknown, urn?: string) => {
        if (e instanceof UnknownValueError) {
            diags.push({ policy: p.name, level: "advisory", urn, message: `can't run policy '${p.name}' from policy pack '${PACK_NAME}' during preview: ${(e as Error).message}` });
            return;
        }
        if (e instanceof NotApplicable) return;
        throw new Error(`Error validating ${where} with policy '${p.name}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    };

    let evaluated = 0;
    const active = policies.filter((p) => {
        const lv = resolved.get(p.name)!.level;
        if (lv !== "disabled") evaluated++;
        return lv !== "disabled";
    });
    const levelOf = (p: Policy): EnforcementLevel => {
        const lv = resolved.get(p.name)!.level;
        return lv === "remediate" ? "mandatory" : lv;
    };

    // analyze: each resource's inputs, before it is created or updated (reads are not analyzed).
    for (const r of resources) {
        if (r.read) continue;
        for (const p of active) {
            const v = (p as ResourceValidationPolicy).validateResource;
            if (!v) continue;
            const validations: ResourceValidation[] = Array.isArray(v) ? v : [v];
            if (!Array.isArray(v)) {
                const t = (v as { __pulumiType?: string }).__pulumiType;
                if (t && t !== r.type) continue;
            }
            const report = reporter(p.name, levelOf(p), r.urn);
            for (const validation of validations) {
                // A typed validation (validateResourceOfType) of another type would only call notApplicable.
                const vt = (validation as { __pulumiType?: string }).__pulumiType;
                if (vt && vt !== r.type) continue;
                const props = unknownCheckingProxy(r.props);
                const args: ResourceValidationArgs = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: optsOf(r),
                    stackTags,
                    isType: (cls) => isTypeOf(r.type, cls as ResourceClass),
                    asType: ((cls: ResourceClass) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
                    getConfig: <T extends object>() => ({ ...resolved.get(p.name)!.props }) as T,
                    notApplicable,
                };
                const provider = providerOf(r);
                if (provider) args.provider = provider;
                try {
                    await validation(args, report);
                } catch (e) {
                    failed(p, `${r.type} ${r.name}`, e, r.urn);
                }
            }
        }
    }

    // analyzeStack: every resource at once, with parents and dependencies linked.
    const stackPolicies = active.filter((p): p is StackValidationPolicy => typeof (p as StackValidationPolicy).validateStack === "function");
    {
        for (const p of stackPolicies) {
            const built = new Map<string, PolicyResource>();
            for (const r of resources) {
                const props = unknownCheckingProxy(r.props);
                const res: PolicyResource = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: optsOf(r),
                    dependencies: [],
                    propertyDependencies: {},
                    isType: (cls) => isTypeOf(r.type, cls as ResourceClass),
                    asType: ((cls: ResourceClass) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
                };
                const provider = providerOf(r);
                if (provider) res.provider = provider;
                built.set(r.urn, res);
            }
            // As server.js does: parent and dependencies become the resource objects themselves.
            for (const r of resources) {
                const res = built.get(r.urn)!;
                if (r.parent && built.has(r.parent)) res.parent = built.get(r.parent);
                res.dependencies = r.dependencies.map((u) => built.get(u)!).filter(Boolean);
                for (const [k, urns] of Object.entries(r.propertyDependencies)) res.propertyDependencies[k] = urns.map((u) => built.get(u)!).filter(Boolean);
            }
            const args: StackValidationArgs = {
                resources: [...built.values()],
                getConfig: <T extends object>() => ({ ...resolved.get(p.name)!.props }) as T,
                stackTags,
                notApplicable,
            };
            const t = (p.validateStack as { __pulumiType?: string }).__pulumiType;
            if (t && !resources.some((r) => r.type === t)) continue;
            try {
                await p.validateStack(args, reporter(p.name, levelOf(p)));
            } catch (e) {
                failed(p, `stack ${rendered.stack}`, e);
            }
        }
    }

    const stackName = `${project}-${rendered.stack}`;
    return {
        policies: evaluated,
        violations: diags.map((d) => {
            const r = d.urn ? byUrn.get(d.urn) : undefined;
            return {
                policy: d.policy,
                level: d.level === "mandatory" ? "mandatory" : "advisory",
                type: r?.type ?? "pulumi:pulumi:Stack",
                name: r?.name ?? stackName,
                message: d.message,
            };
        }),
    };
}
