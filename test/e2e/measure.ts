// Measuring a `pulumi up` against the cluster's own state: a Poller runs from
// just before the CLI starts until just after it exits, and the figures come
// from its timeline. `npm run e2e` uses it for every scenario; a benchmark can
// use measureSwitch() for flip and rollback times.
import { Kube } from "./kube";
import { CliResult, LocalProject, RunOptions } from "./stack";
import { Color, EndpointView, Poller, Snapshot } from "./timeline";

export interface MeasuredUp {
    readonly result: CliResult;
    readonly ok: boolean;
    /** Wall seconds from spawn to exit. */
    readonly seconds: number;
    /** Every poll; t is ms since the CLI was spawned (the first snapshot, taken before, has t <= 0). */
    readonly timeline: Snapshot[];
    readonly pollErrors: number;
    readonly lastPollError: string;
    /** Seconds from the start of `up` to the first and last change of any `<svc>-service`'s endpoints; undefined if none changed. */
    readonly firstEndpointChange?: number;
    readonly lastEndpointChange?: number;
    /** Per service: seconds to the last change of its live endpoints. */
    readonly lastEndpointChangeBy: Record<string, number>;
}

/** The live endpoints of a service as a comparable string: pod names with their readiness. */
export function endpointKey(eps: readonly EndpointView[]): string {
    return eps.map((e) => `${e.pod}:${e.ready ? "r" : "u"}${e.terminating ? "t" : ""}`).join(",");
}

/** The colors of a list of endpoints (unknown pods count as "?"). */
export function colorsOf(eps: readonly EndpointView[]): string[] {
    return [...new Set(eps.map((e) => e.color ?? "?"))].sort();
}

/** Seconds from t = 0 to each change of the live endpoints, per service. */
export function endpointChanges(timeline: readonly Snapshot[], services: readonly string[]): { service: string; t: number }[] {
    const out: { service: string; t: number }[] = [];
    for (let i = 1; i < timeline.length; i++) {
        for (const s of services) {
            if (endpointKey(timeline[i].live[s] ?? []) !== endpointKey(timeline[i - 1].live[s] ?? [])) out.push({ service: s, t: timeline[i].t / 1000 });
        }
    }
    return out;
}

/** Runs `pulumi up` on the project while polling the namespace. */
export async function measuredUp(project: LocalProject, kube: Kube, namespace: string, services: readonly string[], opts: RunOptions = {}): Promise<MeasuredUp> {
    const poller = new Poller(kube, namespace, services);
    await poller.start();
    poller.markOrigin();
    let result: CliResult;
    try {
        result = await project.up(opts);
    } catch (e) {
        await poller.stop();
        throw e;
    }
    const timeline = await poller.stop();
    const changes = endpointChanges(timeline, services);
    const lastBy: Record<string, number> = {};
    for (const c of changes) lastBy[c.service] = c.t;
    return {
        result,
        ok: result.code === 0,
        seconds: result.seconds,
        timeline,
        pollErrors: poller.errors,
        lastPollError: poller.lastError,
        firstEndpointChange: changes.length ? changes[0].t : undefined,
        lastEndpointChange: changes.length ? changes[changes.length - 1].t : undefined,
        lastEndpointChangeBy: lastBy,
    };
}

export interface SwitchMeasure {
    readonly to: string;
    readonly ok: boolean;
    /** Wall seconds of the whole `pulumi up`. */
    readonly upSeconds: number;
    /** Seconds from the start of `up` to the last change of any live endpoints (the switch as traffic sees it). */
    readonly toLastEndpointChange?: number;
    readonly measured: MeasuredUp;
}

/**
 * A flip or rollback as the runbook does it: `pulumi config set activeColor <color>`
 * then `pulumi up`, timed to the last change of any `<svc>-service`'s endpoints.
 */
export async function measureSwitch(project: LocalProject, kube: Kube, namespace: string, services: readonly string[], to: Color, opts: RunOptions = {}): Promise<SwitchMeasure> {
    await project.configSet({ activeColor: to });
    const measured = await measuredUp(project, kube, namespace, services, { label: `up-switch-${to}`, ...opts });
    return { to, ok: measured.ok, upSeconds: measured.seconds, toLastEndpointChange: measured.lastEndpointChange, measured };
}

/** The median of some numbers (undefined for none). */
export function median(xs: readonly number[]): number | undefined {
    if (!xs.length) return undefined;
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
