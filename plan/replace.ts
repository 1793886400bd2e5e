// Which changed inputs force a replacement rather than an update, read from
// plan/force-new.json: the providers' own lists, extracted from their sources
// by scripts/extract-force-new.js (sources and revisions recorded in the file
// and in docs/PLAN.md). Nothing here is a guess about a provider: a type the
// file does not cover is reported as "not determined", never as an update.
import * as fs from "fs";
import * as path from "path";
import { RecordedResource } from "./render";
import { ROOT } from "./stackfile";

interface TypeEntry {
    readonly terraform: string;
    readonly file: string;
    /** Pulumi-style dotted paths ("s3Import.bucketName", "*" for a list element). */
    readonly forceNew: string[];
    /** Replaced only under a condition the provider decides at plan time (CustomizeDiff, RequiresReplaceIf). */
    readonly mayReplace: string[];
    readonly unmapped: string[];
}

export interface ForceNewData {
    readonly sources: Record<string, Record<string, unknown>>;
    readonly kubernetes: {
        readonly always: string[];
        readonly kinds: Record<string, string[]>;
        readonly secret: { paths: string[]; unless: string };
        readonly configMap: { paths: string[]; unless: string };
        readonly patchResources: string[];
        readonly helmRelease: string[];
    };
    readonly aws: Record<string, TypeEntry>;
    readonly random: Record<string, TypeEntry>;
}

export const FORCE_NEW_FILE = path.join(ROOT, "plan", "force-new.json");

let cached: ForceNewData | undefined;
export function forceNewData(): ForceNewData {
    return (cached ??= JSON.parse(fs.readFileSync(FORCE_NEW_FILE, "utf8")) as ForceNewData);
}

export interface ReplaceVerdict {
    /** Whether the provider would replace the resource for these changes. */
    readonly replace: boolean;
    /** The changed paths that force it (empty when not replaced). */
    readonly because: string[];
    /** Changed paths that force a replacement only under a condition the provider checks at plan time. */
    readonly mayReplace: string[];
    /** False: the plan has no force-new list for this type (a remote component, a dynamic provider). */
    readonly known: boolean;
}

const segs = (p: string) => p.split(".");

/** Does changed path `p` fall under force-new pattern `q` ("*" matches any list index)? */
function under(p: string[], q: string[]): boolean {
    if (q.length > p.length) return false;
    return q.every((s, i) => s === "*" || s === p[i]);
}

/** Is there a value at pattern `rest` ("*" for any element) inside `v`? */
function hasAt(v: unknown, rest: string[]): boolean {
    if (rest.length === 0) return v !== undefined && v !== null;
    if (v === null || typeof v !== "object") return false;
    const [head, ...tail] = rest;
    if (head === "*") return Array.isArray(v) && v.some((e) => hasAt(e, tail));
    return hasAt((v as Record<string, unknown>)[head], tail);
}

function valueAt(v: unknown, p: string[]): unknown {
    let cur = v;
    for (const s of p) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string, unknown>)[s];
    }
    return cur;
}

/**
 * The changed paths among `paths` that match a pattern: at or below it, or
 * above it when the change carries a value at the pattern (a whole block added
 * or removed).
 */
export function matching(paths: readonly string[], patterns: readonly string[], before: unknown, after: unknown): string[] {
    const hits: string[] = [];
    for (const p of paths) {
        const ps = segs(p);
        const hit = patterns.some((q) => {
            const qs = segs(q);
            if (under(ps, qs)) return true;
            if (qs.length > ps.length && under(ps, qs.slice(0, ps.length))) {
                const rest = qs.slice(ps.length);
                return hasAt(valueAt(before, ps), rest) || hasAt(valueAt(after, ps), rest);
            }
            return false;
        });
        if (hit) hits.push(p);
    }
    return hits;
}

/** The force-new patterns for a Kubernetes resource, as the provider computes them (diff.go forceNewProperties). */
export function kubernetesPatterns(r: RecordedResource, providerInputs: Record<string, unknown> | undefined): string[] | undefined {
    const m = /^kubernetes:([^:]+)\/([^:/]+):(\w+)$/.exec(r.type);
    if (!m) return undefined;
    const [, group, version, kind] = m;
    const k = forceNewData().kubernetes;
    if (group === "helm.sh") return k.helmRelease;
    if (kind.endsWith("Patch")) return k.patchResources;
    const truthy = (v: unknown) => v === true || v === "true";
    const immutable = truthy((r.inputs as Record<string, unknown>).immutable);
    if (group === "core" && kind === "Secret" && !(truthy(providerInputs?.enableSecretMutable) && !immutable)) return [...k.always, ...k.secret.paths];
    const own = k.kinds[`${group}/${version}:${kind}`];
    if (own) return [...k.always, ...own];
    if (group === "core" && kind === "ConfigMap" && !(truthy(providerInputs?.enableConfigMapMutable) && !immutable)) return [...k.always, ...k.configMap.paths];
    return k.always;
}

/** Decides replace-or-update for one changed resource. */
export function replacementOf(
    r: RecordedResource,
    paths: readonly string[],
    before: unknown,
    after: unknown,
    providerInputs?: Record<string, unknown>,
): ReplaceVerdict {
    const data = forceNewData();
    let forceNew: readonly string[] | undefined;
    let mayReplace: readonly string[] = [];
    if (r.type.startsWith("kubernetes:")) forceNew = kubernetesPatterns(r, providerInputs);
    else {
        const entry = data.aws[r.type] ?? data.random[r.type];
        if (entry) {
            forceNew = entry.forceNew;
            mayReplace = entry.mayReplace;
        }
    }
    if (!forceNew) return { replace: false, because: [], mayReplace: [], known: false };
    const because = matching(paths, forceNew, before, after);
    const may = matching(paths, mayReplace, before, after).filter((p) => !because.includes(p));
    return { replace: because.length > 0, because, mayReplace: may, known: true };
}
