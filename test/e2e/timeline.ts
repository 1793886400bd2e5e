// The cluster's own state, polled every ~250 ms while a `pulumi up` runs:
// which pods the EndpointSlices of `<svc>-service` and `<svc>-preview` hold
// (and whether each is ready), the Services' selectors, every Deployment's
// generation and rollout counts, the Jobs' status and the pods' readiness and
// restarts. Assertions are made on this timeline, not on Pulumi's output.
import { Kube } from "./kube";

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

/** One endpoint of an EndpointSlice: the pod behind it and its conditions. */
export interface EndpointView {
    readonly pod: string;
    /** From the pod name's `<svc>-<color>-` prefix; undefined for anything else. */
    readonly color?: Color;
    readonly ready: boolean;
    readonly terminating: boolean;
}

export interface DeploymentView {
    readonly generation: number;
    readonly observedGeneration: number;
    readonly replicas: number;
    readonly statusReplicas: number;
    readonly updated: number;
    readonly ready: number;
    readonly available: number;
    readonly image: string;
}

export interface JobView {
    /** metadata.uid: a Job deleted and created again under the same name is another Job (its migration ran again). */
    readonly uid: string;
    readonly image: string;
    readonly active: number;
    readonly succeeded: number;
    readonly failed: number;
    /** "Complete", "Failed" or "" while it runs. */
    readonly condition: string;
}

export interface PodView {
    readonly ready: boolean;
    readonly phase: string;
    readonly restarts: number;
    readonly deleting: boolean;
}

export interface Snapshot {
    /** Milliseconds since the timeline's origin (the start of the `up`); the poll's start. */
    readonly t: number;
    readonly at: number;
    /** Per service name: the endpoints of `<svc>-service` and `<svc>-preview`. */
    readonly live: Record<string, EndpointView[]>;
    readonly preview: Record<string, EndpointView[]>;
    /** Service name -> spec.selector.version. */
    readonly selectors: Record<string, string | undefined>;
    readonly deployments: Record<string, DeploymentView>;
    readonly jobs: Record<string, JobView>;
    readonly pods: Record<string, PodView>;
}

export function colorOfPod(service: string, pod: string): Color | undefined {
    return COLORS.find((c) => pod.startsWith(`${service}-${c}-`));
}

/** Reads the namespace once: five list calls made together. */
export async function snapshot(kube: Kube, namespace: string, services: readonly string[], origin: number): Promise<Snapshot> {
    const at = Date.now();
    const ns = encodeURIComponent(namespace);
    const [slices, svcs, deps, jobs, pods] = await Promise.all([
        kube.get(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`),
        kube.get(`/api/v1/namespaces/${ns}/services`),
        kube.get(`/apis/apps/v1/namespaces/${ns}/deployments`),
        kube.get(`/apis/batch/v1/namespaces/${ns}/jobs`),
        kube.get(`/api/v1/namespaces/${ns}/pods`),
    ]);
    const bySvc = new Map<string, EndpointView[]>();
    for (const s of slices?.items ?? []) {
        const owner: string | undefined = s.metadata?.labels?.["kubernetes.io/service-name"];
        if (!owner) continue;
        const base = services.find((n) => owner === `${n}-service` || owner === `${n}-preview`);
        const list = bySvc.get(owner) ?? [];
        for (const e of s.endpoints ?? []) {
            const pod = e.targetRef?.kind === "Pod" ? String(e.targetRef.name) : `?${(e.addresses ?? []).join(",")}`;
            list.push({
                pod,
                color: base ? colorOfPod(base, pod) : undefined,
                ready: e.conditions?.ready === true,
                terminating: e.conditions?.terminating === true,
            });
        }
        bySvc.set(owner, list);
    }
    const sorted = (l: EndpointView[] | undefined) => (l ?? []).slice().sort((a, b) => a.pod.localeCompare(b.pod));
    const live: Record<string, EndpointView[]> = {};
    const preview: Record<string, EndpointView[]> = {};
    for (const n of services) {
        live[n] = sorted(bySvc.get(`${n}-service`));
        preview[n] = sorted(bySvc.get(`${n}-preview`));
    }
    const selectors: Record<string, string | undefined> = {};
    for (const s of svcs?.items ?? []) selectors[s.metadata.name] = s.spec?.selector?.version;
    const deployments: Record<string, DeploymentView> = {};
    for (const d of deps?.items ?? []) {
        const st = d.status ?? {};
        deployments[d.metadata.name] = {
            generation: d.metadata.generation ?? 0,
            observedGeneration: st.observedGeneration ?? 0,
            replicas: d.spec?.replicas ?? 1,
            statusReplicas: st.replicas ?? 0,
            updated: st.updatedReplicas ?? 0,
            ready: st.readyReplicas ?? 0,
            available: st.availableReplicas ?? 0,
            image: d.spec?.template?.spec?.containers?.[0]?.image ?? "",
        };
    }
    const jobViews: Record<string, JobView> = {};
    for (const j of jobs?.items ?? []) {
        const st = j.status ?? {};
        const cond = (st.conditions ?? []).find((c: any) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
        jobViews[j.metadata.name] = {
            uid: j.metadata.uid ?? "",
            image: j.spec?.template?.spec?.containers?.[0]?.image ?? "",
            active: st.active ?? 0,
            succeeded: st.succeeded ?? 0,
            failed: st.failed ?? 0,
            condition: cond?.type ?? "",
        };
    }
    const podViews: Record<string, PodView> = {};
    for (const p of pods?.items ?? []) {
        const st = p.status ?? {};
        podViews[p.metadata.name] = {
            ready: (st.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
            phase: st.phase ?? "",
            restarts: (st.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
            deleting: !!p.metadata.deletionTimestamp,
        };
    }
    return { t: at - origin, at, live, preview, selectors, deployments, jobs: jobViews, pods: podViews };
}

/** Polls until stopped; keeps every snapshot. A failed poll is counted, not fatal. */
export class Poller {
    readonly snapshots: Snapshot[] = [];
    errors = 0;
    lastError = "";
    private running = false;
    private loop?: Promise<void>;
    private origin = Date.now();

    constructor(
        private readonly kube: Kube,
        readonly namespace: string,
        readonly services: readonly string[],
        readonly intervalMs = 250,
    ) {}

    /** Starts polling and resolves once the first snapshot is in (the "before" state). */
    async start(): Promise<Snapshot> {
        this.origin = Date.now();
        this.running = true;
        const first = await snapshot(this.kube, this.namespace, this.services, this.origin);
        this.snapshots.push(first);
        this.loop = (async () => {
            while (this.running) {
                const t0 = Date.now();
                try {
                    this.snapshots.push(await snapshot(this.kube, this.namespace, this.services, this.origin));
                } catch (e) {
                    this.errors++;
                    this.lastError = (e as Error).message;
                }
                const wait = this.intervalMs - (Date.now() - t0);
                if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            }
        })();
        return first;
    }

    /** Moves the origin (t = 0) to now: call it right when the `up` starts. */
    markOrigin(): void {
        this.origin = Date.now();
    }

    get originAt(): number {
        return this.origin;
    }

    /** Takes one more snapshot after the `up` ended, then stops; every snapshot's t is relative to the origin. */
    async stop(): Promise<Snapshot[]> {
        this.running = false;
        await this.loop;
        try {
            this.snapshots.push(await snapshot(this.kube, this.namespace, this.services, this.origin));
        } catch (e) {
            this.errors++;
            this.lastError = (e as Error).message;
        }
        return this.snapshots.map((s) => ({ ...s, t: s.at - this.origin }));
    }
}
