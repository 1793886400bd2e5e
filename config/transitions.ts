// Transition rules: what one edit of the stack config may do to a service
// whose traffic is on one color. Each rule compares the stack's last deployed
// state (its `promotionState` output) with the config about to be deployed.
// The program runs them before it registers anything (index.ts), so a refused
// edit changes nothing; the offline `plan --diff` runs the same code through
// the same program, with the base config's render as "last deployed".
//
// Refused (each names the keys; the legal sequence is: deploy the inactive
// color, flip, bake, scale the old color down, each its own change):
//   1. a flip together with scaling the previously live color below its replicas;
//   2. a change to the image tag, feature flags or env of the color that stays
//      live, unless services.<name>.allowLiveChange (then a warning);
//   3. making a color live with fewer replicas than the color it replaces,
//      unless services.<name>.allowFewerReplicas;
//   4. a flip together with a new image tag or feature flags for the color
//      being made live: that color would take traffic untested; deploy it
//      first, test it on <name>-preview, then flip;
//   5. removing a service that is deployed: its live Service and both colors
//      would be deleted with traffic on them; scale it to 0 first is not
//      possible for the live color, so this needs the service's removal
//      planned outside a blue/green edit (remove it from the Ingress first).
import { createHash } from "crypto";
import { ConfigError } from "./schema";
import { COLORS, Color, ServiceConfig } from "./services";

/** What the stack remembers of one color, to judge the next edit. */
export interface ColorState {
    readonly imageTag: string;
    readonly replicas: number;
    /** A digest of the color's feature flags. */
    readonly flags: string;
}

/** What the stack remembers of one service: its live color and both colors. */
export interface ServiceState {
    readonly live: Color;
    /** A digest of the service-level env (applies to both colors). */
    readonly env: string;
    readonly colors: Readonly<Record<Color, ColorState>>;
}

/** The stack output `promotionState`: per service name. */
export type PromotionState = Readonly<Record<string, ServiceState>>;

const digest = (o: Readonly<Record<string, string>>): string =>
    createHash("sha256")
        .update(JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]])))
        .digest("hex")
        .slice(0, 16);

/** The state this config leaves behind (exported as the stack output `promotionState`). */
export function promotionState(services: readonly ServiceConfig[]): PromotionState {
    const out: Record<string, ServiceState> = {};
    for (const s of services) {
        const colors = {} as Record<Color, ColorState>;
        for (const c of COLORS) {
            colors[c] = { imageTag: s.colors[c].imageTag, replicas: s.colors[c].replicas, flags: digest(s.colors[c].featureFlags) };
        }
        out[s.name] = { live: s.activeColor, env: digest(s.env), colors };
    }
    return out;
}

export interface TransitionFinding {
    readonly level: "error" | "warning";
    /** The config key the finding is about. */
    readonly key: string;
    readonly message: string;
}

function isServiceState(v: unknown): v is ServiceState {
    const s = v as ServiceState;
    return (
        !!s &&
        typeof s === "object" &&
        (s.live === "blue" || s.live === "green") &&
        !!s.colors &&
        COLORS.every((c) => typeof s.colors[c]?.imageTag === "string" && typeof s.colors[c]?.replicas === "number")
    );
}

/** Reads a `promotionState` output of an earlier deployment; anything unrecognisable counts as none. */
export function parsePromotionState(v: unknown): PromotionState | undefined {
    if (!v || typeof v !== "object") return undefined;
    const out: Record<string, ServiceState> = {};
    for (const [k, s] of Object.entries(v as Record<string, unknown>)) if (isServiceState(s)) out[k] = s;
    return Object.keys(out).length ? out : undefined;
}

/** Judges the edit from `before` (last deployed) to `services` (about to deploy). No `before`: a first deploy, nothing to judge. */
export function checkTransitions(before: PromotionState | undefined, services: readonly ServiceConfig[]): TransitionFinding[] {
    if (!before) return [];
    const after = promotionState(services);
    const findings: TransitionFinding[] = [];
    const err = (key: string, message: string) => findings.push({ level: "error", key, message });

    for (const [name, old] of Object.entries(before)) {
        const now = after[name];
        if (!now) {
            err(
                `services.${name}`,
                `is deployed with traffic on ${old.live}, and removing it from services deletes its live Service and both colors at once. ` +
                    `Move its traffic elsewhere first (Ingress, ingress.rootService), then remove it in a change of its own`,
            );
            continue;
        }
        const svc = services.find((s) => s.name === name)!;
        const oldLive = old.live;
        const newLive = now.live;
        const flip = oldLive !== newLive;
        const k = (color: Color, field: string) => `services.${name}.${color}.${field}`;

        if (!flip) {
            // Rule 2: the color that stays live is not changed in place.
            const changes: string[] = [];
            if (old.colors[oldLive].imageTag !== now.colors[oldLive].imageTag) {
                changes.push(`${k(oldLive, "imageTag")} ${old.colors[oldLive].imageTag} -> ${now.colors[oldLive].imageTag}`);
            }
            if (old.colors[oldLive].flags !== now.colors[oldLive].flags) changes.push(`${k(oldLive, "featureFlags")}`);
            if (old.env !== now.env) changes.push(`services.${name}.env (both colors, the live one included)`);
            if (changes.length) {
                const what = `changes the live color ${oldLive} in place (${changes.join("; ")}): its pods roll while they serve traffic, bypassing blue/green`;
                if (svc.allowLiveChange) {
                    findings.push({ level: "warning", key: `services.${name}.allowLiveChange`, message: `${what}. Allowed by services.${name}.allowLiveChange=true (emergency hotfix); set it back to false afterwards` });
                } else {
                    err(
                        changes[0].split(" ")[0],
                        `${what}. Deploy the change to ${newLive === "blue" ? "green" : "blue"} (the inactive color), test it on ${name}-preview, then flip; ` +
                            `for an emergency hotfix set services.${name}.allowLiveChange=true in the same change`,
                    );
                }
            }
            continue;
        }

        // Rule 1: the old color stays as it was until the new one has baked.
        if (now.colors[oldLive].replicas < old.colors[oldLive].replicas) {
            err(
                k(oldLive, "replicas"),
                `scales ${oldLive} (${old.colors[oldLive].replicas} -> ${now.colors[oldLive].replicas}) in the same change that moves traffic off it (${oldLive} -> ${newLive}): ` +
                    `a rollback would find it cold. Flip first, let ${newLive} bake, then scale ${oldLive} down in a change of its own`,
            );
        }
        // Rule 4: the color taking traffic is the one that was deployed and tested, unchanged.
        const fresh: string[] = [];
        if (old.colors[newLive].imageTag !== now.colors[newLive].imageTag) {
            fresh.push(`${k(newLive, "imageTag")} ${old.colors[newLive].imageTag} -> ${now.colors[newLive].imageTag}`);
        }
        if (old.colors[newLive].flags !== now.colors[newLive].flags) fresh.push(k(newLive, "featureFlags"));
        if (old.env !== now.env) fresh.push(`services.${name}.env`);
        if (fresh.length) {
            err(
                fresh[0].split(" ")[0],
                `changes ${newLive} (${fresh.join("; ")}) in the same change that makes it live: it would take traffic untested. ` +
                    `Deploy it first (the change without the flip), test it on ${name}-preview, then flip`,
            );
        }
        // Rule 3: the new color can carry what the old one carried.
        const carried = old.colors[oldLive].replicas;
        if (now.colors[newLive].replicas < carried && !svc.allowFewerReplicas) {
            err(
                k(newLive, "replicas"),
                `makes ${newLive} live with ${now.colors[newLive].replicas} replicas where ${oldLive} served with ${carried}: ` +
                    `scale ${newLive} to ${carried} first, or confirm with services.${name}.allowFewerReplicas=true`,
            );
        }
    }
    return findings;
}

/**
 * Throws a ConfigError naming every refused key (so nothing is registered);
 * hands warnings to `warn`. The message says the edit was judged against the
 * last deployment, so nobody mistakes it for a plain typo.
 */
export function enforceTransitions(findings: readonly TransitionFinding[], warn: (msg: string) => void): void {
    for (const f of findings.filter((x) => x.level === "warning")) warn(`${f.key}: ${f.message}`);
    const errors = findings.filter((f) => f.level === "error");
    if (errors.length) {
        throw new ConfigError(errors.map((f) => ({ key: f.key, message: `${f.message} (judged against the stack's last deployment)` })));
    }
}

/** The image tags a service ran (either color) in the stack's last deployment. */
export function deployedTags(before: PromotionState | undefined, service: string): string[] {
    const s = before?.[service];
    return s ? COLORS.map((c) => s.colors[c].imageTag) : [];
}
