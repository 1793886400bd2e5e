// What an edit changes: two renders compared resource by resource (by URN),
// input by input. Secrets are compared by value and printed never.
import { RecordedResource, Rendered, reveal } from "./render";

export interface Changed {
    readonly type: string;
    readonly name: string;
    /** Dotted input paths whose values differ ("spec.selector.version"). */
    readonly paths: string[];
}
export interface ResourceRef {
    readonly type: string;
    readonly name: string;
}
export interface PlanDiff {
    readonly changed: Changed[];
    readonly added: ResourceRef[];
    readonly removed: ResourceRef[];
}

/** Dotted paths at which `a` and `b` differ; objects recurse, arrays compare by index. */
export function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
    if (a === b) return [];
    const isObj = (v: unknown) => v !== null && typeof v === "object";
    if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
        const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
        const out: string[] = [];
        for (const k of [...keys].sort()) {
            out.push(...changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
        }
        return out;
    }
    return [prefix || "(root)"];
}

function managed(r: Rendered): Map<string, RecordedResource> {
    return new Map(r.resources.filter((x) => (x.custom || x.remote === true) && !x.read).map((x) => [x.urn, x]));
}

/**
 * Compares the custom resources two renders declare, and the remote components
 * (eks:index:Cluster: its children are the eks provider's, so its inputs are
 * what changes). Local components carry no inputs of their own.
 */
export function diffRenders(before: Rendered, after: Rendered): PlanDiff {
    const a = managed(before);
    const b = managed(after);
    const changed: Changed[] = [];
    const added: ResourceRef[] = [];
    const removed: ResourceRef[] = [];
    for (const [urn, r] of b) {
        const old = a.get(urn);
        if (!old) {
            added.push({ type: r.type, name: r.name });
            continue;
        }
        // Pulumi never acts on an input under the resource's ignoreChanges, so neither does the diff.
        const ignored = r.options.ignoreChanges;
        const paths = changedPaths(reveal(old.inputs), reveal(r.inputs)).filter((p) => !ignored.some((i) => p === i || p.startsWith(`${i}.`)));
        if (paths.length) changed.push({ type: r.type, name: r.name, paths });
    }
    for (const [urn, r] of a) if (!b.has(urn)) removed.push({ type: r.type, name: r.name });
    return { changed, added, removed };
}
