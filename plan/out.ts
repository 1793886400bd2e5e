// `plan --out DIR`: every Kubernetes object the program declares, written as
// the API server would receive it (apiVersion, kind, metadata, spec, ...), one
// YAML file per object at DIR/<namespace or _cluster>/<Kind>-<name>.yaml, so a
// reviewer can run kubeconform, kubectl diff or a schema check on a stack
// without a cluster.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { RecordedResource, Rendered } from "./render";
import { scrubbed } from "./summary";

/** The directory name for objects that have no namespace. */
export const CLUSTER_DIR = "_cluster";
/** Written into DIR so that a re-run may clear what the previous run wrote, and nothing else. */
export const OUT_MARKER = ".candlefish-plan-out";

/**
 * Kubernetes resource types that are not one API object: Helm releases and
 * charts, YAML/kustomize bundles (their objects come from files or charts the
 * plan does not render), and server-side-apply patches (partial objects).
 */
const NOT_AN_OBJECT = /^kubernetes:(helm\.sh\/|yaml[:/]|kustomize[:/])|Patch$/;

/** Kinds with no namespace (core and the CRDs the platform installs). */
const CLUSTER_SCOPED = new Set([
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "CSIDriver",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ClusterIssuer", // cert-manager.io
    "ClusterSecretStore", // external-secrets.io
    "ClusterExternalSecret", // external-secrets.io
]);

export interface KubeObject {
    /** The Pulumi resource type token and logical name it came from. */
    readonly type: string;
    readonly name: string;
    /** Path under DIR: "<namespace or _cluster>/<Kind>-<name>.yaml". */
    readonly file: string;
    /** The object as the API server receives it; secrets as "[secret]". */
    readonly object: Record<string, unknown>;
}

export interface Skipped {
    readonly type: string;
    readonly name: string;
    readonly reason: string;
}

/** "kubernetes:apps/v1:Deployment" -> {apiVersion: "apps/v1", kind: "Deployment"}; the core group is written "core/v1". */
export function apiVersionOf(type: string): { apiVersion: string; kind: string } | undefined {
    const m = /^kubernetes:([^:]+)\/([^:/]+):([A-Za-z0-9]+)$/.exec(type);
    if (!m) return undefined;
    const [, group, version, kind] = m;
    return { apiVersion: group === "core" ? version : `${group}/${version}`, kind };
}

/** Splits what a render declared into API objects and the Kubernetes-provider resources that are not one. */
export function kubernetesObjects(rendered: Rendered): { objects: KubeObject[]; skipped: Skipped[] } {
    const providers = new Map<string, RecordedResource>();
    for (const r of rendered.resources) if (r.type === "pulumi:providers:kubernetes") providers.set(`${r.type}::${r.name}`, r);
    const objects: KubeObject[] = [];
    const skipped: Skipped[] = [];
    const seen = new Map<string, string>();
    for (const r of rendered.resources) {
        if (!r.type.startsWith("kubernetes:") || r.read) continue;
        if (!r.custom || NOT_AN_OBJECT.test(r.type)) {
            skipped.push({ type: r.type, name: r.name, reason: r.custom ? "not a single API object (chart, bundle or patch)" : "a component" });
            continue;
        }
        const gvk = apiVersionOf(r.type);
        if (!gvk) {
            skipped.push({ type: r.type, name: r.name, reason: "type token is not kubernetes:<group>/<version>:<Kind>" });
            continue;
        }
        const inputs = scrubbed(r.inputs).value as Record<string, unknown>;
        const metadata = { ...((inputs.metadata as Record<string, unknown>) ?? {}) };
        // Pulumi auto-names an object without metadata.name (<name>-<random>); the
        // plan cannot know the suffix, so it shows the logical name.
        if (metadata.name === undefined) metadata.name = r.name;
        const clusterScoped = CLUSTER_SCOPED.has(gvk.kind);
        if (!clusterScoped && metadata.namespace === undefined) {
            // The provider puts it in its own default namespace, else "default".
            const provider = r.options.provider ? providers.get(r.options.provider) : undefined;
            metadata.namespace = (provider?.inputs.namespace as string | undefined) ?? "default";
        }
        if (clusterScoped) delete metadata.namespace;
        // Key order as kubectl prints it: apiVersion, kind, metadata, then the rest.
        const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = inputs;
        const object = { apiVersion: gvk.apiVersion, kind: gvk.kind, metadata, ...rest };
        const dir = clusterScoped ? CLUSTER_DIR : String(metadata.namespace);
        const file = `${dir}/${gvk.kind}-${String(metadata.name)}.yaml`;
        const clash = seen.get(file);
        if (clash) throw new Error(`--out: ${r.type} ${r.name} and ${clash} would both be written to ${file}`);
        seen.set(file, `${r.type} ${r.name}`);
        objects.push({ type: r.type, name: r.name, file, object });
    }
    return { objects, skipped };
}

/** Refuses a target that is a file, or a non-empty directory a previous `--out` did not write. */
export function checkOutDir(dir: string): void {
    if (!fs.existsSync(dir)) return;
    if (!fs.statSync(dir).isDirectory()) throw new OutDirError(`--out: ${dir} exists and is not a directory`);
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes(OUT_MARKER)) {
        throw new OutDirError(`--out: ${dir} is not empty and was not written by plan --out; choose an empty or new directory`);
    }
}

export class OutDirError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OutDirError";
    }
}

/** What `--policy` said about the state `--out` writes (recorded in the marker file). */
export type OutVerdict = { readonly evaluated: false } | { readonly evaluated: true; readonly policies: number; readonly mandatory: number; readonly advisory: number };

/**
 * The marker's policy line. A refused state is still written (docs/PLAN.md
 * "--out and --policy"): the objects are review material, and the directory
 * then says, as stderr and the exit code do, that the pack refused them.
 */
export function verdictLine(v: OutVerdict): string {
    if (!v.evaluated) return "policy: not evaluated (run without --policy)";
    if (v.mandatory > 0) return `policy: REFUSED: ${v.mandatory} mandatory and ${v.advisory} advisory violation(s) of ${v.policies} policies; these objects are for review, not to apply`;
    return `policy: passed: ${v.policies} policies, 0 mandatory and ${v.advisory} advisory violation(s)`;
}

/**
 * Writes the objects under `dir`. A directory a previous `--out` wrote is
 * cleared first, so no stale object survives; any other non-empty directory
 * is refused rather than mixed into.
 */
export function writeOut(dir: string, objects: readonly KubeObject[], verdict: OutVerdict = { evaluated: false }): void {
    checkOutDir(dir);
    if (fs.existsSync(dir)) for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, OUT_MARKER),
        "Written by `npm run plan -- --out`; the next run replaces this directory's contents.\n" + verdictLine(verdict) + "\n",
    );
    for (const o of objects) {
        const dest = path.join(dir, o.file);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, YAML.stringify(o.object, { lineWidth: 0 }));
    }
}
