// The bake: what `npm run switch` watches on the new color after the gated up,
// and how it decides. The expressions and thresholds are the PrometheusRule's
// own (components/alert-rules.ts SERVICE_OBJECTIVES), narrowed to one service
// and one color by adding version="<color>" to the rule's selector.
import { SERVICE_OBJECTIVES, ServiceObjective, percent, requestRateExpr, serviceSelector } from "../components/alert-rules";
import { Color } from "./stackfile";

/** Polls in a row that may fail (Prometheus or the API server unreachable) before the bake gives up and rolls back. */
export const MAX_FAILED_POLLS = 3;

export interface BakeTarget {
    readonly namespace: string;
    readonly service: string;
    readonly color: Color;
}

export interface ObjectiveQuery {
    readonly objective: ServiceObjective;
    /** The value expression the bake polls (the rule's expression without `> threshold`). */
    readonly query: string;
    /** The alert expression narrowed to this color: what to paste into Prometheus to see it fire. */
    readonly alertExpr: string;
}

export interface TargetQueries {
    readonly target: BakeTarget;
    readonly selector: string;
    /** Requests per second of this color: no series (or 0) means no traffic to judge. */
    readonly requestRate: string;
    readonly objectives: readonly ObjectiveQuery[];
}

/** The queries for one service's new color, built from the rule's builders. */
export function bakeQueries(t: BakeTarget): TargetQueries {
    const selector = serviceSelector({ namespace: t.namespace, services: [t.service], version: t.color });
    return {
        target: t,
        selector,
        requestRate: requestRateExpr(selector),
        objectives: SERVICE_OBJECTIVES.map((objective) => ({ objective, query: objective.value(selector), alertExpr: objective.expr(selector) })),
    };
}

/** One instant-query result: a number per series (NaN and Inf as Prometheus sends them). */
export interface Sample {
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

/** What one poll read for one service. */
export interface ServiceReading {
    readonly service: string;
    /** Requests per second; undefined: no series. */
    readonly requestRate?: number;
    /** Per objective (alert name): the value, undefined when there is nothing to judge. */
    readonly values: Readonly<Record<string, number | undefined>>;
    /** Ready endpoints of the new color behind `<svc>-service`; undefined when unreadable. */
    readonly readyEndpoints?: number;
}

export interface Breach {
    readonly service: string;
    readonly what: string;
    /** The query that breached, as a person would paste it. */
    readonly query: string;
    readonly value: string;
    readonly threshold: string;
}

/** A series' value; several series (should not happen: one service, one color) count as their maximum. */
export function single(samples: readonly Sample[] | undefined): number | undefined {
    if (!samples || samples.length === 0) return undefined;
    return Math.max(...samples.map((s) => s.value));
}

export const formatValue = (o: ServiceObjective, v: number): string => (o.alert === "HighErrorRate" ? percent(v) : `${Number(v.toPrecision(4))}s`);
export const formatThreshold = (o: ServiceObjective): string => (o.alert === "HighErrorRate" ? percent(o.threshold()) : `${o.threshold()}s`);

/**
 * A reading from the raw query results. With traffic but no 5xx series the
 * error ratio is 0 (the numerator has no series at all); NaN (0/0, a quantile
 * of nothing) is no value.
 */
export function reading(q: TargetQueries, rate: readonly Sample[], results: readonly (readonly Sample[])[], readyEndpoints: number | undefined): ServiceReading {
    const rps = single(rate);
    const values: Record<string, number | undefined> = {};
    q.objectives.forEach((o, i) => {
        let v = single(results[i]);
        if (v !== undefined && Number.isNaN(v)) v = undefined;
        if (v === undefined && o.objective.alert === "HighErrorRate" && rps !== undefined && rps > 0) v = 0;
        values[o.objective.alert] = v;
    });
    return { service: q.target.service, requestRate: rps, values, readyEndpoints };
}

/** Breaches in one reading: an objective over its threshold, or fewer ready endpoints than when the bake started. */
export function breaches(q: TargetQueries, r: ServiceReading, baselineEndpoints: number | undefined): Breach[] {
    const out: Breach[] = [];
    for (const o of q.objectives) {
        const v = r.values[o.objective.alert];
        if (v !== undefined && o.objective.breaches(v)) {
            out.push({ service: r.service, what: `${o.objective.what} (${o.objective.alert})`, query: o.alertExpr, value: formatValue(o.objective, v), threshold: `> ${formatThreshold(o.objective)}` });
        }
    }
    const svc = `${q.target.service}-service`;
    if (r.readyEndpoints !== undefined && baselineEndpoints !== undefined) {
        if (r.readyEndpoints === 0 || r.readyEndpoints < baselineEndpoints) {
            out.push({
                service: r.service,
                what: "ready endpoints",
                query: `ready endpoints of ${q.target.color} behind ${svc} (EndpointSlices kubernetes.io/service-name=${svc})`,
                value: String(r.readyEndpoints),
                threshold: r.readyEndpoints === 0 ? "0 (none left)" : `< ${baselineEndpoints} (the count when the bake started)`,
            });
        }
    }
    return out;
}

/** Does this reading have something to judge for every objective? */
export function hasData(r: ServiceReading): boolean {
    return r.requestRate !== undefined && r.requestRate > 0 && Object.values(r.values).every((v) => v !== undefined);
}

/** "rtpm-api: errors 0.4%, p95 0.31s, 12.3 req/s, endpoints 2/2" (the thresholds are printed once, with the plan). */
export function describeReading(q: TargetQueries, r: ServiceReading, baselineEndpoints: number | undefined): string {
    const parts = q.objectives.map((o) => {
        const v = r.values[o.objective.alert];
        const name = o.objective.alert === "HighErrorRate" ? "errors" : "p95";
        return `${name} ${v === undefined ? "no data" : formatValue(o.objective, v)}`;
    });
    parts.push(r.requestRate === undefined ? "no traffic" : `${Number(r.requestRate.toPrecision(3))} req/s`);
    parts.push(`endpoints ${r.readyEndpoints ?? "?"}${baselineEndpoints !== undefined ? `/${baselineEndpoints}` : ""}`);
    return `${q.target.service}: ${parts.join(", ")}`;
}
