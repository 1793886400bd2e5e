// The promotion gate's decision and its read-only look at the cluster. This
// file is what the gate's dynamic provider runs inside `pulumi up`: Pulumi
// serializes the functions it uses into the stack's state, so it imports no
// Pulumi module and no other file of this project, only Node built-ins and
// the `yaml` package (a dependency of the program).
//
// Verdict, per target color (the one a live Service is about to select):
//   - the Deployment's controller has seen its latest spec
//     (status.observedGeneration == metadata.generation);
//   - spec.replicas > 0 and updated == ready == available == spec.replicas,
//     with no pod of an older ReplicaSet left (status.replicas == spec.replicas);
//   - every pod it selects is Ready, has been Ready for the whole settle
//     window, and no container restarted in that window or while the gate ran.
// A color whose pods have been Ready for longer than the window (a warm
// rollback) passes on the first look; a fresh one waits until the window has
// passed; a restart seen while waiting fails at once.

/** What the gate reads of a Deployment. */
export interface DeploymentSnapshot {
    readonly generation: number;
    readonly observedGeneration: number;
    readonly specReplicas: number;
    readonly replicas: number;
    readonly updatedReplicas: number;
    readonly readyReplicas: number;
    readonly availableReplicas: number;
}

/** What the gate reads of a pod. Times are epoch milliseconds. */
export interface PodSnapshot {
    readonly name: string;
    readonly phase: string;
    readonly ready: boolean;
    /** When the Ready condition last changed (its lastTransitionTime). */
    readonly readySince?: number;
    /** Sum of the containers' restartCount. */
    readonly restarts: number;
    /** The latest lastState.terminated.finishedAt of its containers. */
    readonly lastRestartAt?: number;
    /** Why a container is waiting (CrashLoopBackOff, ImagePullBackOff, ...), if any. */
    readonly waitingReason?: string;
}

export interface GateVerdict {
    /** The color can take traffic now. */
    readonly pass: boolean;
    /** Give up now: waiting cannot help (a container restarted while the gate watched). */
    readonly fatal: boolean;
    /** What is not ready, in words; empty when it passes. */
    readonly reasons: string[];
}

/**
 * The gate's decision, a pure function of what the cluster says. `baseline`
 * holds each pod's restart count at the gate's first look: any increase while
 * the gate watches is fatal.
 */
export function gateDecision(
    deployment: DeploymentSnapshot | undefined,
    pods: readonly PodSnapshot[],
    now: number,
    settleSeconds: number,
    baseline: ReadonlyMap<string, number> = new Map(),
): GateVerdict {
    if (!deployment) return { pass: false, fatal: false, reasons: ["the Deployment does not exist"] };
    const d = deployment;
    const reasons: string[] = [];
    let fatal = false;
    if (d.specReplicas <= 0) {
        return { pass: false, fatal: true, reasons: ["it has 0 replicas: a color with no pods cannot serve"] };
    }
    if (d.observedGeneration < d.generation) {
        reasons.push(`its controller has not seen the latest spec yet (observedGeneration ${d.observedGeneration} < generation ${d.generation})`);
    }
    const want = d.specReplicas;
    const counts: [string, number][] = [
        ["updated", d.updatedReplicas],
        ["ready", d.readyReplicas],
        ["available", d.availableReplicas],
    ];
    const short = counts.filter(([, n]) => n !== want);
    if (short.length) reasons.push(`${short.map(([k, n]) => `${k} ${n}/${want}`).join(", ")} replicas`);
    if (d.replicas > want) reasons.push(`${d.replicas - want} pod(s) of an older rollout still running`);

    const windowStart = now - settleSeconds * 1000;
    for (const p of pods) {
        const before = baseline.get(p.name);
        if (before !== undefined && p.restarts > before) {
            fatal = true;
            reasons.push(`pod ${p.name} restarted ${p.restarts - before} time(s) while the gate watched${p.waitingReason ? ` (${p.waitingReason})` : ""}`);
            continue;
        }
        if (!p.ready) {
            reasons.push(`pod ${p.name} is not Ready (${p.waitingReason ?? p.phase})`);
            continue;
        }
        if (p.lastRestartAt !== undefined && p.lastRestartAt > windowStart) {
            reasons.push(`pod ${p.name} restarted ${Math.round((now - p.lastRestartAt) / 1000)}s ago, within the ${settleSeconds}s settle window`);
            continue;
        }
        if (p.readySince !== undefined && p.readySince > windowStart) {
            reasons.push(`pod ${p.name} has been Ready for ${Math.max(0, Math.round((now - p.readySince) / 1000))}s of the ${settleSeconds}s settle window`);
        }
    }
    if (pods.length < want) reasons.push(`${pods.length} of ${want} pods exist`);
    return { pass: reasons.length === 0, fatal, reasons };
}

// ---------------------------------------------------------------------------
// Reading the cluster: a small read-only client over the stack's kubeconfig.

export interface KubeTarget {
    readonly server: string;
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly token?: string;
    readonly insecure?: boolean;
}

/** Resolves a kubeconfig (YAML or JSON text) to a server and credentials; runs an exec plugin if the user has one. */
export function kubeTarget(kubeconfig: string, context?: string): KubeTarget {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const YAML = require("yaml");
    const fs = require("fs");
    const cp = require("child_process");
    const cfg = YAML.parse(kubeconfig);
    const ctxName: string = context || cfg["current-context"];
    const named = (list: any[] | undefined, name: string, what: string) => {
        const hit = (list ?? []).find((x: any) => x.name === name);
        if (!hit) throw new Error(`kubeconfig has no ${what} named "${name}"`);
        return hit;
    };
    const ctx = named(cfg.contexts, ctxName, "context").context;
    const cluster = named(cfg.clusters, ctx.cluster, "cluster").cluster;
    const user = ctx.user ? named(cfg.users, ctx.user, "user").user ?? {} : {};
    const fileOrData = (data?: string, file?: string): Buffer | undefined =>
        data ? Buffer.from(data, "base64") : file ? fs.readFileSync(file) : undefined;
    let token: string | undefined = user.token ?? (user.tokenFile ? String(fs.readFileSync(user.tokenFile)).trim() : undefined);
    if (!token && user.exec) {
        // client.authentication.k8s.io ExecCredential, as kubectl runs it (`aws eks get-token` on EKS).
        const env = { ...process.env };
        for (const e of user.exec.env ?? []) env[e.name] = e.value;
        const out = cp.execFileSync(user.exec.command, user.exec.args ?? [], { env, encoding: "utf8", timeout: 60000 });
        token = JSON.parse(out).status?.token;
        if (!token) throw new Error(`the kubeconfig's exec plugin (${user.exec.command}) returned no token`);
    }
    return {
        server: String(cluster.server).replace(/\/$/, ""),
        ca: fileOrData(cluster["certificate-authority-data"], cluster["certificate-authority"]),
        cert: fileOrData(user["client-certificate-data"], user["client-certificate"]),
        key: fileOrData(user["client-key-data"], user["client-key"]),
        token,
        insecure: Boolean(cluster["insecure-skip-tls-verify"]),
    };
}

/** GET a Kubernetes API path; resolves to the parsed body, or undefined on 404. */
export function kubeGet(target: KubeTarget, path: string, timeoutMs = 15000): Promise<any> {
    const https = require("https");
    const http = require("http");
    const url = new URL(target.server + path);
    const lib = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
        const req = lib.request(
            url,
            {
                method: "GET",
                ca: target.ca,
                cert: target.cert,
                key: target.key,
                rejectUnauthorized: !target.insecure,
                headers: { Accept: "application/json", ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}) },
                timeout: timeoutMs,
            },
            (res: any) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (body += c));
                res.on("end", () => {
                    if (res.statusCode === 404) return resolve(undefined);
                    if (res.statusCode < 200 || res.statusCode >= 300) {
                        return reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.slice(0, 300)}`));
                    }
                    try {
                        resolve(JSON.parse(body));
                    } catch (e) {
                        reject(new Error(`GET ${path}: not JSON: ${(e as Error).message}`));
                    }
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

const time = (s?: string): number | undefined => (s ? Date.parse(s) : undefined);

/** A Deployment object to the gate's snapshot. */
export function deploymentSnapshot(obj: any): DeploymentSnapshot | undefined {
    if (!obj) return undefined;
    const st = obj.status ?? {};
    return {
        generation: obj.metadata?.generation ?? 0,
        observedGeneration: st.observedGeneration ?? 0,
        specReplicas: obj.spec?.replicas ?? 1,
        replicas: st.replicas ?? 0,
        updatedReplicas: st.updatedReplicas ?? 0,
        readyReplicas: st.readyReplicas ?? 0,
        availableReplicas: st.availableReplicas ?? 0,
    };
}

/** A pod object to the gate's snapshot. */
export function podSnapshot(obj: any): PodSnapshot {
    const st = obj.status ?? {};
    const readyCond = (st.conditions ?? []).find((c: any) => c.type === "Ready");
    const containers: any[] = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])];
    const finished = containers.map((c) => time(c.lastState?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
    const waiting = containers.map((c) => c.state?.waiting?.reason).find((r) => r);
    return {
        name: obj.metadata?.name ?? "?",
        phase: st.phase ?? "Unknown",
        ready: readyCond?.status === "True",
        readySince: time(readyCond?.lastTransitionTime),
        restarts: containers.reduce((n, c) => n + (c.restartCount ?? 0), 0),
        lastRestartAt: finished.length ? Math.max(...finished) : undefined,
        waitingReason: waiting,
    };
}

/** The gate's inputs, as stored in the stack's state. */
export interface GateInputs {
    readonly service: string;
    readonly namespace: string;
    readonly color: string;
    readonly previousColor: string;
    readonly deployment: string;
    readonly liveService: string;
    readonly settleSeconds: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
    readonly kubeconfig: string;
    readonly kubeContext?: string;
}

/** One look at the target color: its Deployment and the pods its selector matches (terminating pods excluded). */
export async function observe(target: KubeTarget, g: GateInputs): Promise<{ deployment?: DeploymentSnapshot; pods: PodSnapshot[] }> {
    const ns = encodeURIComponent(g.namespace);
    const dep = await kubeGet(target, `/apis/apps/v1/namespaces/${ns}/deployments/${encodeURIComponent(g.deployment)}`);
    if (!dep) return { deployment: undefined, pods: [] };
    const match = dep.spec?.selector?.matchLabels ?? {};
    const selector = Object.keys(match)
        .sort()
        .map((k) => `${k}=${match[k]}`)
        .join(",");
    const list = await kubeGet(target, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
    const pods = (list?.items ?? []).filter((p: any) => !p.metadata?.deletionTimestamp).map(podSnapshot);
    return { deployment: deploymentSnapshot(dep), pods };
}

/** The color the live Service selects right now, or undefined if it does not exist (or the cluster cannot be read). */
export async function liveSelectorColor(g: GateInputs): Promise<string | undefined> {
    const target = kubeTarget(g.kubeconfig, g.kubeContext);
    const svc = await kubeGet(target, `/api/v1/namespaces/${encodeURIComponent(g.namespace)}/services/${encodeURIComponent(g.liveService)}`);
    return svc?.spec?.selector?.version;
}

/**
 * Watches the target color until it passes, a restart makes waiting useless,
 * or the timeout runs out; throws with the service, the color and what was
 * not ready. `log` gets a line whenever the reasons change.
 */
export async function runGate(g: GateInputs, log: (msg: string) => void = () => undefined): Promise<{ seconds: number; looks: number }> {
    const t0 = Date.now();
    const target = kubeTarget(g.kubeconfig, g.kubeContext);
    const baseline = new Map<string, number>();
    let last = "";
    let looks = 0;
    for (;;) {
        let verdict: GateVerdict;
        try {
            const seen = await observe(target, g);
            for (const p of seen.pods) if (!baseline.has(p.name)) baseline.set(p.name, p.restarts);
            verdict = gateDecision(seen.deployment, seen.pods, Date.now(), g.settleSeconds, baseline);
        } catch (e) {
            verdict = { pass: false, fatal: false, reasons: [`cannot read the cluster: ${(e as Error).message}`] };
        }
        looks++;
        const seconds = Math.round((Date.now() - t0) / 1000);
        if (verdict.pass) return { seconds, looks };
        const text = verdict.reasons.join("; ");
        if (text !== last) log(`${g.service}: ${g.color} not ready yet after ${seconds}s: ${text}`);
        last = text;
        if (verdict.fatal || Date.now() - t0 + g.pollSeconds * 1000 > g.timeoutSeconds * 1000) {
            throw new Error(
                `promotion gate: ${g.service} cannot go ${g.color} ` +
                    `(${verdict.fatal ? "failed" : `not ready within ${g.timeoutSeconds}s`}): ${text}. ` +
                    `Its live Service ${g.liveService} still selects ${g.previousColor}, and no live Service moved in this update.`,
            );
        }
        await new Promise((r) => setTimeout(r, g.pollSeconds * 1000));
    }
}
