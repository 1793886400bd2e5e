// What an edit changes: two renders compared resource by resource (by URN),
// input by input. Secrets are compared by value and printed never. Each
// change says whether the provider would replace the resource (plan/replace.ts).
import { RecordedResource, Rendered, reveal } from "./render";
import { replacementOf } from "./replace";
import { scrubbed } from "./summary";

/** One input's value before and after the edit; secrets as "[secret]", absent as undefined. */
export interface ValueChange {
    readonly old: unknown;
    readonly new: unknown;
}

export interface ResourceRef {
    readonly type: string;
    readonly name: string;
    /** "<type>::<name>" of the top-level component the resource belongs to, or null. */
    readonly component: string | null;
}

export interface Changed extends ResourceRef {
    /** Dotted input paths whose values differ ("spec.selector.version"). */
    readonly paths: string[];
    /** The provider would replace the resource (delete and create), not update it. */
    readonly replace: boolean;
    /** The changed paths that force the replacement. */
    readonly replaceBecause: string[];
    /** Changed paths that force a replacement only under a condition the provider checks itself (e.g. a version downgrade). */
    readonly mayReplace: string[];
    /** False when the plan has no force-new list for the type (a remote component, a dynamic provider). */
    readonly replaceKnown: boolean;
    /** The resource is protected: `pulumi up` refuses to replace or delete it. */
    readonly protect: boolean;
    /** retainOnDelete: a replaced resource's old instance leaves the stack but is not deleted. */
    readonly retainOnDelete: boolean;
    /** Old and new value per changed path, secrets masked. */
    readonly values: Record<string, ValueChange>;
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

/** The top-level component a resource sits under ("<type>::<name>"), or null for a top-level resource. */
export function componentOf(r: Rendered, x: RecordedResource): string | null {
    const byRef = new Map(r.resources.map((y) => [`${y.type}::${y.name}`, y]));
    let top: string | null = null;
    for (let p = x.options.parent; p; p = byRef.get(p)?.options.parent ?? null) {
        if (byRef.get(p)?.type === "pulumi:pulumi:Stack") break;
        top = p;
    }
    return top;
}

export function valueAt(v: unknown, path: string): unknown {
    // Keys may hold dots themselves (a ConfigMap's "roles.sql", an annotation's
    // "checksum/secrets" is fine): at each level take the longest key that exists.
    const parts = path.split(".");
    let cur = v;
    for (let i = 0; i < parts.length; ) {
        if (cur === null || typeof cur !== "object") return undefined;
        const obj = cur as Record<string, unknown>;
        let j = parts.length;
        while (j > i + 1 && !(parts.slice(i, j).join(".") in obj)) j--;
        cur = obj[parts.slice(i, j).join(".")];
        i = j;
    }
    return cur;
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
    const providers = new Map(after.resources.filter((x) => x.type.startsWith("pulumi:providers:")).map((x) => [`${x.type}::${x.name}`, x]));
    for (const [urn, r] of b) {
        const old = a.get(urn);
        if (!old) {
            added.push({ type: r.type, name: r.name, component: componentOf(after, r) });
            continue;
        }
        // Pulumi never acts on an input under the resource's ignoreChanges, so neither does the diff.
        const ignored = r.options.ignoreChanges;
        const oldInputs = reveal(old.inputs);
        const newInputs = reveal(r.inputs);
        const paths = changedPaths(oldInputs, newInputs).filter((p) => !ignored.some((i) => p === i || p.startsWith(`${i}.`)));
        if (!paths.length) continue;
        const provider = r.options.provider ? providers.get(r.options.provider) : undefined;
        const verdict = replacementOf(r, paths, oldInputs, newInputs, provider && (reveal(provider.inputs) as Record<string, unknown>));
        const shownOld = scrubbed(old.inputs).value;
        const shownNew = scrubbed(r.inputs).value;
        const values: Record<string, ValueChange> = {};
        for (const p of paths) values[p] = { old: valueAt(shownOld, p), new: valueAt(shownNew, p) };
        changed.push({
            type: r.type,
            name: r.name,
            component: componentOf(after, r),
            paths,
            replace: verdict.replace,
            replaceBecause: verdict.because,
            mayReplace: verdict.mayReplace,
            replaceKnown: verdict.known,
            protect: r.options.protect || old.options.protect,
            retainOnDelete: old.options.retainOnDelete,
            values,
        });
    }
    for (const [urn, r] of a) if (!b.has(urn)) removed.push({ type: r.type, name: r.name, component: componentOf(before, r) });
    return { changed, added, removed };
}
