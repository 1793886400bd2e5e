// Assertions on a timeline (test/e2e/timeline.ts). Each returns the
// violations it found, as sentences with the poll's time, so a failed
// scenario says exactly what the cluster did and when.
import { colorsOf } from "./measure";
import { Color, Snapshot } from "./timeline";

const at = (s: Snapshot) => `t=${(s.t / 1000).toFixed(2)}s`;
const describe = (eps: Snapshot["live"][string]) => (eps.length ? eps.map((e) => `${e.pod}${e.ready ? "" : "(unready)"}${e.terminating ? "(terminating)" : ""}`).join(", ") : "(none)");

/** Keeps the first few violations and counts the rest. */
function limited(all: string[], max = 5): string[] {
    return all.length > max ? [...all.slice(0, max), `... and ${all.length - max} more poll(s)`] : all;
}

/** At every poll, each `<svc>-service` holds ready endpoints of a single color only (none counts as fine unless requireEndpoints). */
export function liveOneReadyColor(timeline: readonly Snapshot[], services: readonly string[], requireEndpoints = false): string[] {
    const out: string[] = [];
    for (const s of timeline) {
        for (const svc of services) {
            const eps = s.live[svc] ?? [];
            const colors = colorsOf(eps);
            const unready = eps.filter((e) => !e.ready);
            if (colors.length > 1) out.push(`${at(s)} ${svc}-service held pods of ${colors.join(" and ")}: ${describe(eps)}`);
            else if (unready.length) out.push(`${at(s)} ${svc}-service held unready endpoints: ${describe(eps)}`);
            else if (requireEndpoints && !eps.length) out.push(`${at(s)} ${svc}-service had no endpoints`);
        }
    }
    return limited(out);
}

/** At every poll, `<svc>-service` never held a pod of `color` and its selector never said `color`. */
export function liveNeverColor(timeline: readonly Snapshot[], services: readonly string[], color: Color): string[] {
    const out: string[] = [];
    for (const s of timeline) {
        for (const svc of services) {
            const eps = (s.live[svc] ?? []).filter((e) => e.color === color);
            if (eps.length) out.push(`${at(s)} ${svc}-service held ${color} pod(s): ${describe(s.live[svc])}`);
            if (s.selectors[`${svc}-service`] === color) out.push(`${at(s)} ${svc}-service's selector said version=${color}`);
        }
    }
    return limited(out);
}

/**
 * The preview Service never moves onto a color the live Service holds: at a
 * poll where `<svc>-preview` holds a color it did not hold at the poll
 * before, `<svc>-service` must not hold that color (issue 16: the preview
 * moves only after the live Service has moved off it). The other direction,
 * the live Service moving onto the color the preview still holds, is how
 * every flip starts and is measured by sharedColorSeconds().
 */
export function previewNeverMovesOntoLive(timeline: readonly Snapshot[], services: readonly string[]): string[] {
    const out: string[] = [];
    for (let i = 1; i < timeline.length; i++) {
        const s = timeline[i];
        for (const svc of services) {
            const before = new Set(colorsOf(timeline[i - 1].preview[svc] ?? []));
            const live = new Set(colorsOf(s.live[svc] ?? []));
            const onto = colorsOf(s.preview[svc] ?? []).filter((c) => !before.has(c) && live.has(c) && c !== "?");
            if (onto.length) out.push(`${at(s)} ${svc}-preview moved onto ${onto.join(",")} while ${svc}-service held it (live: ${describe(s.live[svc])}; preview: ${describe(s.preview[svc])})`);
        }
    }
    return limited(out);
}

/** Per service: seconds during which `<svc>-service` and `<svc>-preview` held the same color (between the live patch and the preview patch of a flip). */
export function sharedColorSeconds(timeline: readonly Snapshot[], services: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const svc of services) {
        let ms = 0;
        for (let i = 1; i < timeline.length; i++) {
            const s = timeline[i - 1];
            const live = new Set(colorsOf(s.live[svc] ?? []));
            if (colorsOf(s.preview[svc] ?? []).some((c) => live.has(c) && c !== "?")) ms += timeline[i].t - s.t;
        }
        out[svc] = Math.round(ms / 100) / 10;
    }
    return out;
}

/** The resources a `pulumi up` took a step on, read from its progress lines: "op type name". */
export function steps(output: string): { op: string; type: string; name: string }[] {
    const seen = new Map<string, { op: string; type: string; name: string }>();
    for (const line of output.split("\n")) {
        const m = /^\s*(\+\+|\+-|-\+|--|\+|-|~)\s+(\S+:\S+)\s+(\S+)\s+(creating|created|updating|updated|deleting|deleted|replacing|replaced|creating replacement|created replacement|deleting original|deleted original)\b/.exec(line);
        if (!m) continue;
        const key = `${m[2]} ${m[3]}`;
        // Any of a replacement's lines (--, +-, ++) makes it a replacement, shown as +-.
        const op = ["--", "+-", "++", "-+"].includes(m[1]) ? "+-" : m[1];
        if (!seen.has(key) || op === "+-") seen.set(key, { op, type: m[2], name: m[3] });
    }
    return [...seen.values()];
}

/** A color's pods were all Ready whenever the live Service held them (checked against the pods' own status too). */
export function liveOnlyReadyPods(timeline: readonly Snapshot[], services: readonly string[]): string[] {
    const out: string[] = [];
    for (const s of timeline) {
        for (const svc of services) {
            for (const e of s.live[svc] ?? []) {
                const pod = s.pods[e.pod];
                if (pod && !pod.ready && !pod.deleting) out.push(`${at(s)} ${svc}-service held ${e.pod}, whose pod is not Ready (${pod.phase}, ${pod.restarts} restart(s))`);
            }
        }
    }
    return limited(out);
}

/** Deployments whose metadata.generation differs, at any poll, from the first snapshot's. */
export function generationChanges(timeline: readonly Snapshot[]): Map<string, { from: number; to: number; t: number }> {
    const first = timeline[0];
    const out = new Map<string, { from: number; to: number; t: number }>();
    for (const s of timeline) {
        for (const [name, d] of Object.entries(s.deployments)) {
            const before = first.deployments[name]?.generation;
            if (!out.has(name) && before !== d.generation) out.set(name, { from: before ?? 0, to: d.generation, t: s.t / 1000 });
        }
    }
    return out;
}

/** Jobs created during the timeline: absent from the first snapshot, or there under another uid (deleted and created again). */
export function jobsCreated(timeline: readonly Snapshot[]): { name: string; t: number; image: string }[] {
    const first = timeline[0];
    const out = new Map<string, { name: string; t: number; image: string }>();
    for (const s of timeline) {
        for (const [name, j] of Object.entries(s.jobs)) {
            if (!out.has(name) && first.jobs[name]?.uid !== j.uid) out.set(name, { name, t: s.t / 1000, image: j.image });
        }
    }
    return [...out.values()];
}

/**
 * The final state: `<svc>-service` (or `-preview`) holds only ready `color`
 * pods, at least one. Terminating endpoints are left out: the old pods of a
 * rollout that just finished are still draining (ready false, terminating).
 */
export function finalLive(timeline: readonly Snapshot[], services: readonly string[], color: Color, which: "live" | "preview" = "live"): string[] {
    const last = timeline[timeline.length - 1];
    const out: string[] = [];
    for (const svc of services) {
        const eps = (last[which][svc] ?? []).filter((e) => !e.terminating);
        const name = `${svc}-${which === "live" ? "service" : "preview"}`;
        if (!eps.length) out.push(`at the end ${name} had no endpoints`);
        else if (eps.some((e) => e.color !== color || !e.ready)) out.push(`at the end ${name} held ${describe(eps)}, not only ready ${color} pods`);
    }
    return out;
}

/** The final state: every Deployment with replicas > 0 is rolled out and available. */
export function allAvailable(timeline: readonly Snapshot[]): string[] {
    const last = timeline[timeline.length - 1];
    const out: string[] = [];
    for (const [name, d] of Object.entries(last.deployments)) {
        if (d.replicas === 0) continue;
        if (d.observedGeneration < d.generation || d.available !== d.replicas || d.updated !== d.replicas || d.ready !== d.replicas) {
            out.push(`at the end Deployment ${name} was not available: generation ${d.generation}, observed ${d.observedGeneration}, ${d.updated} updated / ${d.ready} ready / ${d.available} available of ${d.replicas}`);
        }
    }
    return out;
}
