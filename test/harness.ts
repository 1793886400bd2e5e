// Test helpers over the one render harness (plan/render.ts) and the one mocks
// module (plan/mocks.ts): render a stack file with edits, find what it declared.
import { RecordedResource, Rendered, render, reveal } from "../plan/render";
import { loadStack } from "../plan/stackfile";
import { PROJECT } from "../config/source";

export { diffRenders } from "../plan/diff";

/** Renders Pulumi.<stack>.yaml with `--set`-style edits applied. */
export async function renderStack(stack: string, sets: readonly string[] = []): Promise<Rendered> {
    const { config, secretKeys } = loadStack(stack, sets);
    return render({ stack, config, secretKeys });
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
