// Shared building blocks for the pack's topic modules: one way to declare a
// policy (name, description, level, control ID, remediation), one way to read
// props that may be unknown during a preview, and the few facts every topic
// needs (which stack is production, where a pod spec lives in a workload).
//
// Unknown values: the runtime wraps props in `unknownCheckingProxy`, which
// throws `UnknownValueError` when a policy touches a value that is not known
// until an earlier resource exists (an ARN, an auto-generated name). A policy
// here never lets that escape: `read`/`isSet` return UNKNOWN instead, and a
// validation that still trips over one is reported "not applicable during
// preview" — the same check runs again on `pulumi up`, when inputs are known.
import {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";

/** A value that is not known until an earlier resource exists. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

export type Level = Extract<EnforcementLevel, "mandatory" | "advisory">;

/** What every policy of this pack declares, besides its check. */
export interface PolicyMeta {
    /** Unique, kebab-case; what `--policy-pack-config` and the offline report name. */
    readonly name: string;
    /** What the policy requires, in one sentence. */
    readonly description: string;
    /**
     * mandatory: the violation loses data, exposes data or breaks the blue/green switch.
     * advisory: hygiene that a reviewer should see but that does not block a deploy.
     */
    readonly enforcementLevel: Level;
    /** The published control this implements, e.g. "FSBP RDS.3" or "PSS restricted". */
    readonly control?: string;
    /** Exactly what to set to fix a violation; appended to every violation message. */
    readonly remediation: string;
    /** Thresholds an operator may tune through the pack config. */
    readonly configSchema?: PolicyConfigSchema;
}

function describe(meta: PolicyMeta): string {
    return meta.control ? `[${meta.control}] ${meta.description}` : meta.description;
}

function common(meta: PolicyMeta) {
    return {
        name: meta.name,
        description: describe(meta),
        enforcementLevel: meta.enforcementLevel,
        remediationSteps: meta.remediation,
        tags: meta.control ? [meta.control] : [],
        ...(meta.configSchema ? { configSchema: meta.configSchema } : {}),
    };
}

const FIX = " Fix: ";

/**
 * A violation message with its own fix, naming the real keys and objects
 * (services.rtpm-api.green.replicas, not the remediation's services.<name>...).
 * The policy's generic remediation is then not appended.
 */
export function withFix(message: string, fix: string): string {
    return `${message}${FIX}${fix}`;
}

/** Appends the remediation to each message that has no fix of its own, so a violation says what to set. */
function withRemediation(meta: PolicyMeta, report: ReportViolation): ReportViolation {
    return (message, urn) => report(message.includes(FIX) ? message : `${message}${FIX}${meta.remediation}`, urn);
}

/**
 * A resource policy. Each validation is usually `validateResourceOfType(...)`;
 * an unknown value it trips over makes the policy not applicable for this
 * preview instead of failing the run.
 */
export function resourcePolicy(meta: PolicyMeta, ...validations: ResourceValidation[]): ResourceValidationPolicy {
    const wrapped = validations.map((v) => {
        const fn: ResourceValidation = async (args, report) => {
            try {
                await v(args, withRemediation(meta, report));
            } catch (e) {
                if (e instanceof UnknownValueError) args.notApplicable(`not checkable until known: ${(e as Error).message}`);
                throw e;
            }
        };
        // Keep the runtime's fast "wrong type" path.
        const t = (v as { __pulumiType?: string }).__pulumiType;
        if (t) (fn as { __pulumiType?: string }).__pulumiType = t;
        return fn;
    });
    return { ...common(meta), validateResource: wrapped.length === 1 ? wrapped[0] : wrapped };
}

/** A stack policy: sees every resource (with parents and dependencies) at once. */
export function stackPolicy(meta: PolicyMeta, validate: StackValidation): StackValidationPolicy {
    return {
        ...common(meta),
        validateStack: async (args: StackValidationArgs, report: ReportViolation) => {
            try {
                await validate(args, withRemediation(meta, report));
            } catch (e) {
                if (e instanceof UnknownValueError) args.notApplicable(`not checkable until known: ${(e as Error).message}`);
                throw e;
            }
        },
    };
}

/**
 * Reads `path` ("a.b.0.c" or segments) out of (proxied) props: the value,
 * `undefined` when absent, or UNKNOWN when it (or an object on the way) is
 * not known yet.
 */
export function read(obj: unknown, path: string | readonly (string | number)[]): unknown {
    const parts = typeof path === "string" ? (path === "" ? [] : path.split(".")) : path;
    try {
        let cur: any = obj;
        for (const p of parts) {
            if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
            cur = cur[p];
        }
        return cur;
    } catch (e) {
        if (e instanceof UnknownValueError) return UNKNOWN;
        throw e;
    }
}

/** A value is set: present and not empty. An unknown value counts as set (it references something). */
export function isSet(obj: unknown, path: string): boolean {
    const v = read(obj, path);
    if (v === UNKNOWN) return true;
    return v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);
}

/** Reads a string; UNKNOWN or undefined otherwise. */
export function str(obj: unknown, path: string): string | Unknown | undefined {
    const v = read(obj, path);
    return typeof v === "string" || v === UNKNOWN ? v : undefined;
}

/** Reads an array of (proxied) elements; UNKNOWN when the array is unknown, [] when absent. */
export function list(obj: unknown, path: string): unknown[] | Unknown {
    const v = read(obj, path);
    if (v === UNKNOWN) return UNKNOWN;
    if (!Array.isArray(v)) return [];
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(read(v, [i]));
    return out;
}

/** Reads a string map (labels, selectors); unknown entries are UNKNOWN. */
export function map(obj: unknown, path: string): Record<string, unknown> | Unknown | undefined {
    const v = read(obj, path);
    if (v === UNKNOWN) return UNKNOWN;
    if (v === undefined || v === null || typeof v !== "object") return undefined;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = read(v, [k]);
    return out;
}

/** The stack a URN belongs to: urn:pulumi:<stack>::<project>::... */
export function stackOf(urn: string): string {
    return urn.startsWith("urn:pulumi:") ? urn.slice("urn:pulumi:".length).split("::")[0] : "";
}

/** The schema property naming the production stacks, shared by production-only policies. */
export const PRODUCTION_STACKS_SCHEMA = {
    type: "array" as const,
    items: { type: "string" as const },
    default: ["production"],
    description: "Stacks held to production-only rules (multi-AZ, failover, replica minimums).",
};

export const PRODUCTION_NAMESPACES_SCHEMA = {
    type: "array" as const,
    items: { type: "string" as const },
    default: ["production"],
    description: "Kubernetes namespaces held to production-only rules (at least 2 replicas for a live color).",
};

/**
 * The policy's config: what the operator set over the schema's defaults.
 * (The CLI applies schema defaults itself; applying them here as well keeps a
 * policy correct when it is called with no config at all.)
 */
export function configOf<T extends object>(args: ResourceValidationArgs | StackValidationArgs, schema: PolicyConfigSchema): T {
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(schema.properties)) {
        if (typeof p === "object" && p.default !== undefined) out[k] = p.default;
    }
    const given = (args.getConfig<Record<string, unknown>>() ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
    return out as T;
}

// ---------------------------------------------------------------- Kubernetes

export const K8S = {
    Deployment: "kubernetes:apps/v1:Deployment",
    StatefulSet: "kubernetes:apps/v1:StatefulSet",
    DaemonSet: "kubernetes:apps/v1:DaemonSet",
    ReplicaSet: "kubernetes:apps/v1:ReplicaSet",
    Job: "kubernetes:batch/v1:Job",
    CronJob: "kubernetes:batch/v1:CronJob",
    Pod: "kubernetes:core/v1:Pod",
    Service: "kubernetes:core/v1:Service",
    Namespace: "kubernetes:core/v1:Namespace",
    NetworkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    Ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    PodDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
} as const;

/** Where each workload kind keeps its pod spec. */
export const POD_SPEC_PATH: Readonly<Record<string, string>> = {
    [K8S.Deployment]: "spec.template.spec",
    [K8S.StatefulSet]: "spec.template.spec",
    [K8S.DaemonSet]: "spec.template.spec",
    [K8S.ReplicaSet]: "spec.template.spec",
    [K8S.Job]: "spec.template.spec",
    [K8S.CronJob]: "spec.jobTemplate.spec.template.spec",
    [K8S.Pod]: "spec",
};

/** Workloads that run until stopped (probes and PDBs matter); Jobs run to completion. */
export const LONG_RUNNING = new Set<string>([K8S.Deployment, K8S.StatefulSet, K8S.DaemonSet, K8S.ReplicaSet, K8S.Pod]);

export interface ContainerRef {
    /** "containers[0] (website)" for messages. */
    readonly where: string;
    readonly init: boolean;
    readonly c: unknown;
}

/** Every container (init containers included) of a workload's pod spec; UNKNOWN if the list is unknown. */
export function containersOf(podSpec: unknown): ContainerRef[] | Unknown {
    const out: ContainerRef[] = [];
    for (const [field, init] of [["containers", false], ["initContainers", true]] as const) {
        const cs = list(podSpec, field);
        if (cs === UNKNOWN) return UNKNOWN;
        cs.forEach((c, i) => {
            const n = str(c, "name");
            out.push({ where: `${field}[${i}]${typeof n === "string" ? ` (${n})` : ""}`, init, c });
        });
    }
    return out;
}

/** The object's own name: metadata.name, else the Pulumi logical name. */
export function k8sName(props: unknown, fallback: string): string {
    const n = str(props, "metadata.name");
    return typeof n === "string" ? n : fallback;
}

/** The namespace (metadata.namespace), "default" when absent, UNKNOWN when not known. */
export function k8sNamespace(props: unknown): string | Unknown {
    const n = str(props, "metadata.namespace");
    return n === undefined ? "default" : n;
}

/** `selector` (a label map) matches `labels`: every selector entry is present and equal. */
export function selects(selector: Record<string, unknown>, labels: Record<string, unknown> | Unknown | undefined): boolean | Unknown {
    if (labels === UNKNOWN) return UNKNOWN;
    if (!labels) return Object.keys(selector).length === 0;
    for (const [k, v] of Object.entries(selector)) {
        if (v === UNKNOWN || labels[k] === UNKNOWN) return UNKNOWN;
        if (labels[k] !== v) return false;
    }
    return true;
}

/** Splits an image reference into its tag and digest (registry ports are not tags). */
export function parseImage(image: string): { tag?: string; digest?: string } {
    const at = image.indexOf("@");
    const digest = at >= 0 ? image.slice(at + 1) : undefined;
    const name = at >= 0 ? image.slice(0, at) : image;
    const lastSlash = name.lastIndexOf("/");
    const colon = name.indexOf(":", lastSlash + 1);
    const tag = colon >= 0 ? name.slice(colon + 1) : undefined;
    return { tag, digest };
}

/** Stack-policy helper: resources of the given types. */
export function ofTypes(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
    return resources.filter((r) => types.includes(r.type));
}
