// The switch's real outside world: the API server (live Services, EndpointSlices),
// Prometheus and Grafana, reached through the API server's service proxy with
// the stack's own credentials (components/gate-runtime.ts kubeTarget/kubeGet),
// or at a URL given on the command line.
import * as http from "http";
import * as https from "https";
import { KubeTarget, kubeGet, kubeTarget } from "../components/gate-runtime";
import { Sample } from "./bake";
import { Cluster, Metrics } from "./core";
import { Color, isColor } from "./stackfile";

/** What components/monitoring.ts deploys (test/switch-remote.test.ts checks these against the render). */
export const MONITORING = {
    namespace: "monitoring",
    /** The `prometheus` Service the program declares in front of the operator's Prometheus (port `web`). */
    prometheus: { service: "prometheus", port: 9090 },
    /** The chart's Grafana Service (`grafana.fullnameOverride`, `service.port`). */
    grafana: { service: "grafana", port: 3000 },
} as const;

/** The API server path that proxies to a Service's port. */
export const serviceProxyPath = (namespace: string, service: string, port: number) =>
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/http:${encodeURIComponent(service)}:${port}/proxy`;

/** A kube target that is resolved again after a while (an exec plugin's token expires: EKS tokens last 15 minutes). */
export function refreshingTarget(kubeconfig: string, context?: string, maxAgeMs = 10 * 60_000): () => KubeTarget {
    let t: KubeTarget | undefined;
    let at = 0;
    return () => {
        if (!t || Date.now() - at > maxAgeMs) {
            t = kubeTarget(kubeconfig, context);
            at = Date.now();
        }
        return t;
    };
}

export interface HttpAnswer {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

/** One HTTP request; TLS and credentials from a kube target when given. */
export function request(
    url: string,
    opts: { method?: string; body?: string; headers?: Record<string, string>; target?: KubeTarget; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const t = opts.target;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
        const req = lib.request(
            u,
            {
                method: opts.method ?? "GET",
                ca: t?.ca,
                cert: t?.cert,
                key: t?.key,
                rejectUnauthorized: t ? !t.insecure : true,
                timeout: timeoutMs,
                headers: {
                    Accept: "application/json",
                    ...(opts.body !== undefined ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(opts.body)) } : {}),
                    ...(t?.token ? { Authorization: `Bearer ${t.token}` } : {}),
                    ...opts.headers,
                },
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (body += c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${opts.method ?? "GET"} ${u.pathname}: no answer in ${timeoutMs} ms`)));
        req.on("error", reject);
        if (opts.body !== undefined) req.write(opts.body);
        req.end();
    });
}

/** Prometheus's HTTP API, instant queries only. */
export class Prometheus implements Metrics {
    private constructor(
        readonly describe: string,
        private readonly get: (pathAndQuery: string) => Promise<any>,
    ) {}

    /** At a URL (--prometheus-url). */
    static at(base: string, timeoutMs = 10_000): Prometheus {
        const root = base.replace(/\/+$/, "");
        return new Prometheus(root, async (p) => {
            const r = await request(root + p, { timeoutMs });
            let body: any;
            try {
                body = JSON.parse(r.body);
            } catch {
                throw new Error(`HTTP ${r.status} from ${root}: not JSON (${r.body.slice(0, 120)})`);
            }
            if (r.status < 200 || r.status >= 300) throw new Error(`HTTP ${r.status} from ${root}: ${body?.error ?? r.body.slice(0, 200)}`);
            return body;
        });
    }

    /** Through the API server's service proxy to the cluster's `prometheus` Service. */
    static viaProxy(target: () => KubeTarget, timeoutMs = 10_000): Prometheus {
        const base = serviceProxyPath(MONITORING.namespace, MONITORING.prometheus.service, MONITORING.prometheus.port);
        return new Prometheus(`the API server's service proxy to ${MONITORING.namespace}/${MONITORING.prometheus.service}:${MONITORING.prometheus.port}`, async (p) => {
            const body = await kubeGet(target(), base + p, timeoutMs);
            if (body === undefined) throw new Error(`no Service ${MONITORING.namespace}/${MONITORING.prometheus.service} (HTTP 404)`);
            return body;
        });
    }

    async query(promql: string): Promise<Sample[]> {
        const body = await this.get(`/api/v1/query?query=${encodeURIComponent(promql)}`);
        if (body?.status !== "success") throw new Error(`query failed: ${body?.errorType ?? "?"}: ${body?.error ?? JSON.stringify(body).slice(0, 200)}`);
        const d = body.data ?? {};
        if (d.resultType === "scalar") return [{ labels: {}, value: Number(d.result[1]) }];
        if (d.resultType !== "vector") throw new Error(`expected an instant vector, got ${d.resultType}`);
        return (d.result as any[]).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
    }
}

/** Live Services and EndpointSlices of the app namespace. */
export class KubeCluster implements Cluster {
    constructor(
        private readonly target: () => KubeTarget,
        private readonly namespace: string,
    ) {}

    async readyEndpoints(service: string, color: Color): Promise<number> {
        const ns = encodeURIComponent(this.namespace);
        const sel = encodeURIComponent(`kubernetes.io/service-name=${service}-service`);
        const list = await kubeGet(this.target(), `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${sel}`);
        return countReady(list?.items ?? [], `${service}-${color}-`);
    }

    async liveColor(service: string): Promise<Color | undefined> {
        const svc = await kubeGet(this.target(), `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/services/${encodeURIComponent(`${service}-service`)}`);
        const v = svc?.spec?.selector?.version;
        return isColor(v) ? v : undefined;
    }
}

/**
 * Ready endpoints in EndpointSlices whose pod name starts with prefix
 * (`<svc>-<color>-`: the color's Deployment's pods). `conditions.ready` unset
 * counts as ready, as the EndpointSlice API defines it.
 */
export function countReady(slices: readonly any[], podPrefix: string): number {
    const seen = new Set<string>();
    for (const s of slices) {
        for (const e of s.endpoints ?? []) {
            const name: string | undefined = e.targetRef?.kind === "Pod" ? e.targetRef.name : undefined;
            if (!name || !name.startsWith(podPrefix)) continue;
            if (e.conditions?.ready === false) continue;
            seen.add(name); // one pod can appear in two slices (IPv4 and IPv6)
        }
    }
    return seen.size;
}

/**
 * A Grafana annotation, best effort: logs in as the chart's admin (POST /login
 * with the password from the stack output grafanaAdminPassword) and posts to
 * /api/annotations with the session cookie. A cookie, not an Authorization
 * header, because the API server's proxy consumes the Authorization header for
 * its own authentication and does not pass it on.
 */
export function grafanaAnnotator(
    send: (method: string, path: string, body: string, headers: Record<string, string>) => Promise<HttpAnswer>,
    password: string,
    user = "admin",
): (text: string, tags: string[]) => Promise<void> {
    let cookie: string | undefined;
    return async (text, tags) => {
        if (!cookie) {
            const login = await send("POST", "/login", JSON.stringify({ user, password }), {});
            if (login.status !== 200) throw new Error(`Grafana login: HTTP ${login.status} ${login.body.slice(0, 120)}`);
            const set = ([] as string[]).concat(login.headers["set-cookie"] ?? []);
            const session = set.map((c) => c.split(";")[0]).filter((c) => /^grafana_session=/.test(c));
            if (!session.length) throw new Error("Grafana login: no session cookie in the answer");
            cookie = session.join("; ");
        }
        const r = await send("POST", "/api/annotations", JSON.stringify({ time: Date.now(), tags, text }), { Cookie: cookie });
        if (r.status !== 200) throw new Error(`Grafana annotation: HTTP ${r.status} ${r.body.slice(0, 120)}`);
    };
}

/** Grafana at a URL, or through the API server's service proxy. */
export function grafanaSender(base: { url: string } | { target: () => KubeTarget }): (method: string, path: string, body: string, headers: Record<string, string>) => Promise<HttpAnswer> {
    if ("url" in base) return (method, p, body, headers) => request(base.url + p, { method, body, headers, timeoutMs: 5000 });
    const prefix = serviceProxyPath(MONITORING.namespace, MONITORING.grafana.service, MONITORING.grafana.port);
    return (method, p, body, headers) => {
        const t = base.target();
        return request(t.server + prefix + p, { method, body, headers, target: t, timeoutMs: 5000 });
    };
}
