// The promotion gate (components/promotion-gate.ts, components/gate-runtime.ts):
// its decision on fixtures, its watch loop against a fake API server on
// loopback, and how the program wires it (under the mocks). What the engine
// does with it on a real API server is test/e2e/.
import { deploymentTimeouts } from "../components/blue-green-service";
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import {
    DeploymentSnapshot,
    GateInputs,
    PodSnapshot,
    deploymentSnapshot,
    gateDecision,
    kubeTarget,
    podSnapshot,
    runGate,
} from "../components/gate-runtime";
import { DEPLOYMENT, SERVICE, SERVICES, brief, diffRenders, expectRejected, find, inputs, ofType, renderStack } from "./harness";
import { Rendered, Secret } from "../plan/render";

const GATE = "pulumi-nodejs:dynamic/candlefish:Resource";
const NOW = Date.parse("2026-11-30T12:00:00Z");
const ago = (s: number) => NOW - s * 1000;

const dep = (o: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot => ({
    generation: 4,
    observedGeneration: 4,
    specReplicas: 2,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    ...o,
});
const pod = (name: string, o: Partial<PodSnapshot> = {}): PodSnapshot => ({ name, phase: "Running", ready: true, readySince: ago(600), restarts: 0, ...o });
const warm = [pod("a"), pod("b")];

describe("Promotion gate: the decision (fixtures)", () => {
    it("passes a color whose pods have all been Ready, unrestarted, for longer than the settle window", () => {
        assert.deepEqual(gateDecision(dep(), warm, NOW, 30), { pass: true, fatal: false, reasons: [] });
    });

    it("a warm color passes with a settle window of 0 too, and a settle of 0 admits pods Ready a moment ago", () => {
        assert.equal(gateDecision(dep(), [pod("a", { readySince: ago(1) }), pod("b", { readySince: ago(1) })], NOW, 0).pass, true);
    });

    it("crash-looping: a restart seen while the gate watches is fatal (no point waiting)", () => {
        const v = gateDecision(dep(), [pod("a", { restarts: 3, ready: false, waitingReason: "CrashLoopBackOff" }), pod("b")], NOW, 30, new Map([["a", 2], ["b", 0]]));
        assert.equal(v.pass, false);
        assert.equal(v.fatal, true);
        assert.deepEqual(v.reasons, ["pod a restarted 1 time(s) while the gate watched (CrashLoopBackOff)"]);
    });

    it("crash-looping before the gate looked: Ready now, but restarted within the settle window: waits", () => {
        const v = gateDecision(dep(), [pod("a", { restarts: 4, lastRestartAt: ago(12) }), pod("b")], NOW, 30, new Map([["a", 4]]));
        assert.equal(v.pass, false);
        assert.equal(v.fatal, false);
        assert.deepEqual(v.reasons, ["pod a restarted 12s ago, within the 30s settle window"]);
    });

    it("Pending pods: not ready, with the phase named", () => {
        const v = gateDecision(dep({ readyReplicas: 0, availableReplicas: 0 }), [pod("a", { phase: "Pending", ready: false }), pod("b", { phase: "Pending", ready: false })], NOW, 30);
        assert.equal(v.pass, false);
        assert.deepEqual(v.reasons, ["ready 0/2, available 0/2 replicas", "pod a is not Ready (Pending)", "pod b is not Ready (Pending)"]);
    });

    it("0 replicas: refused at once, a color with no pods cannot serve", () => {
        const v = gateDecision(dep({ specReplicas: 0, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 }), [], NOW, 30);
        assert.deepEqual(v, { pass: false, fatal: true, reasons: ["it has 0 replicas: a color with no pods cannot serve"] });
    });

    it("a stale generation: the controller has not seen the latest spec, whatever the counts say", () => {
        const v = gateDecision(dep({ generation: 5, observedGeneration: 4 }), warm, NOW, 30);
        assert.deepEqual(v.reasons, ["its controller has not seen the latest spec yet (observedGeneration 4 < generation 5)"]);
    });

    it("a rollout in progress: updated short of spec, and pods of the old ReplicaSet still running", () => {
        const v = gateDecision(dep({ replicas: 3, updatedReplicas: 1 }), [...warm, pod("c")], NOW, 30);
        assert.deepEqual(v.reasons, ["updated 1/2 replicas", "1 pod(s) of an older rollout still running"]);
    });

    it("fresh pods wait out the settle window, and say how far they are", () => {
        const v = gateDecision(dep(), [pod("a", { readySince: ago(10) }), pod("b")], NOW, 30);
        assert.deepEqual(v, { pass: false, fatal: false, reasons: ["pod a has been Ready for 10s of the 30s settle window"] });
    });

    it("a missing Deployment, and fewer pods than replicas, are not ready", () => {
        assert.deepEqual(gateDecision(undefined, [], NOW, 30).reasons, ["the Deployment does not exist"]);
        assert.deepEqual(gateDecision(dep(), [pod("a")], NOW, 30).reasons, ["1 of 2 pods exist"]);
    });

    it("reads the API's objects: Ready condition time, restart counts and the last termination", () => {
        const p = podSnapshot({
            metadata: { name: "rtpm-api-green-x" },
            status: {
                phase: "Running",
                conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-11-30T11:59:00Z" }],
                containerStatuses: [
                    { restartCount: 2, lastState: { terminated: { finishedAt: "2026-11-30T11:58:50Z" } }, state: { running: {} } },
                    { restartCount: 1, state: { waiting: { reason: "CrashLoopBackOff" } } },
                ],
            },
        });
        assert.deepEqual(p, {
            name: "rtpm-api-green-x",
            phase: "Running",
            ready: true,
            readySince: Date.parse("2026-11-30T11:59:00Z"),
            restarts: 3,
            lastRestartAt: Date.parse("2026-11-30T11:58:50Z"),
            waitingReason: "CrashLoopBackOff",
        });
        assert.deepEqual(deploymentSnapshot({ metadata: { generation: 3 }, spec: { replicas: 2 }, status: { observedGeneration: 3, replicas: 2, readyReplicas: 1 } }), {
            generation: 3,
            observedGeneration: 3,
            specReplicas: 2,
            replicas: 2,
            updatedReplicas: 0,
            readyReplicas: 1,
            availableReplicas: 0,
        });
    });
});

/** A fake API server on loopback serving one Deployment and its pods, which a test mutates between looks. */
class FakeApi {
    deployment: any;
    pods: any[] = [];
    service: any;
    requests: string[] = [];
    status = 200;
    private server = http.createServer((req, res) => {
        this.requests.push(`${req.headers.authorization ?? ""} ${req.url}`);
        const send = (code: number, body: unknown) => {
            res.writeHead(code, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        };
        if (this.status !== 200) return send(this.status, { kind: "Status", message: "forbidden" });
        const url = new URL(req.url!, "http://x");
        if (url.pathname === "/apis/apps/v1/namespaces/production/deployments/rtpm-api-green") {
            return this.deployment ? send(200, this.deployment) : send(404, {});
        }
        if (url.pathname === "/api/v1/namespaces/production/pods") {
            assert.equal(url.searchParams.get("labelSelector"), "app=rtpm-api,version=green");
            return send(200, { items: this.pods });
        }
        if (url.pathname === "/api/v1/namespaces/production/services/rtpm-api-service") return this.service ? send(200, this.service) : send(404, {});
        send(404, {});
    });
    port = 0;
    async start(): Promise<void> {
        await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
        this.port = (this.server.address() as AddressInfo).port;
    }
    stop(): Promise<void> {
        return new Promise((r) => this.server.close(() => r()));
    }
    kubeconfig(): string {
        return JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            "current-context": "t",
            contexts: [{ name: "t", context: { cluster: "c", user: "u" } }],
            clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${this.port}` } }],
            users: [{ name: "u", user: { token: "gate-token" } }],
        });
    }
}

const k8sDeployment = (o: { generation?: number; observed?: number; replicas?: number; ready?: number } = {}) => ({
    metadata: { name: "rtpm-api-green", generation: o.generation ?? 2 },
    spec: { replicas: o.replicas ?? 2, selector: { matchLabels: { version: "green", app: "rtpm-api" } } },
    status: {
        observedGeneration: o.observed ?? o.generation ?? 2,
        replicas: o.replicas ?? 2,
        updatedReplicas: o.replicas ?? 2,
        readyReplicas: o.ready ?? o.replicas ?? 2,
        availableReplicas: o.ready ?? o.replicas ?? 2,
    },
});
const k8sPod = (name: string, o: { ready?: boolean; since?: string; restarts?: number } = {}) => ({
    metadata: { name },
    status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True", lastTransitionTime: o.since ?? "2026-01-01T00:00:00Z" }],
        containerStatuses: [{ restartCount: o.restarts ?? 0, state: { running: {} } }],
    },
});

describe("Promotion gate: the watch, against a fake API server on loopback", () => {
    const api = new FakeApi();
    before(() => api.start());
    after(() => api.stop());
    beforeEach(() => {
        api.status = 200;
        api.requests = [];
    });
    const gate = (o: Partial<GateInputs> = {}): GateInputs => ({
        service: "rtpm-api",
        namespace: "production",
        color: "green",
        previousColor: "blue",
        deployment: "rtpm-api-green",
        liveService: "rtpm-api-service",
        settleSeconds: 30,
        timeoutSeconds: 3,
        pollSeconds: 1,
        kubeconfig: api.kubeconfig(),
        ...o,
    });

    it("a warm color passes on the first look, with the kubeconfig's token", async () => {
        api.deployment = k8sDeployment();
        api.pods = [k8sPod("g1"), k8sPod("g2")];
        const r = await runGate(gate());
        assert.equal(r.looks, 1);
        assert.equal(r.seconds, 0);
        assert.ok(api.requests.every((q) => q.startsWith("Bearer gate-token ")), api.requests.join("\n"));
    });

    it("a color that never becomes Ready fails after the timeout, naming the service, the color and what was not ready", async () => {
        api.deployment = k8sDeployment({ ready: 0 });
        api.pods = [k8sPod("g1", { ready: false }), k8sPod("g2", { ready: false })];
        const t0 = Date.now();
        await assert.rejects(runGate(gate()), (e: Error) => {
            assert.match(e.message, /^promotion gate: rtpm-api cannot go green \(not ready within 3s\): ready 0\/2, available 0\/2 replicas; pod g1 is not Ready \(Running\); pod g2 is not Ready \(Running\)\. Its live Service rtpm-api-service still selects blue/);
            return true;
        });
        const took = Date.now() - t0;
        assert.ok(took >= 1500 && took < 4500, `took ${took} ms`);
    });

    it("a restart while it watches fails at once, before the timeout", async () => {
        api.deployment = k8sDeployment();
        api.pods = [k8sPod("g1", { since: new Date().toISOString() }), k8sPod("g2")];
        const lines: string[] = [];
        const run = runGate(gate({ timeoutSeconds: 60 }), (m) => lines.push(m));
        await new Promise((r) => setTimeout(r, 300));
        api.pods = [k8sPod("g1", { ready: false, restarts: 1 }), k8sPod("g2")];
        const t0 = Date.now();
        await assert.rejects(run, /rtpm-api cannot go green \(failed\): pod g1 restarted 1 time\(s\) while the gate watched/);
        assert.ok(Date.now() - t0 < 3000);
        assert.match(lines[0], /^rtpm-api: green not ready yet after 0s: pod g1 has been Ready for 0s of the 30s settle window$/);
    });

    it("a rollout the controller has not observed yet holds the gate until it has", async () => {
        api.deployment = k8sDeployment({ generation: 3, observed: 2 });
        api.pods = [k8sPod("g1"), k8sPod("g2")];
        const run = runGate(gate({ timeoutSeconds: 10 }));
        await new Promise((r) => setTimeout(r, 1200));
        api.deployment = k8sDeployment({ generation: 3, observed: 3 });
        const r = await run;
        assert.ok(r.looks >= 2, `looks ${r.looks}`);
    });

    it("an API error is a reason, not a pass", async () => {
        api.status = 403;
        await assert.rejects(runGate(gate({ timeoutSeconds: 2 })), /cannot read the cluster: GET \/apis\/apps\/v1\/namespaces\/production\/deployments\/rtpm-api-green: HTTP 403/);
    });
});

describe("Promotion gate: the kubeconfig it reads", () => {
    const base = (user: object) =>
        JSON.stringify({
            "current-context": "a",
            contexts: [
                { name: "a", context: { cluster: "c", user: "u" } },
                { name: "b", context: { cluster: "c2", user: "u" } },
            ],
            clusters: [
                { name: "c", cluster: { server: "https://10.0.0.1:6443/", "certificate-authority-data": Buffer.from("CA").toString("base64") } },
                { name: "c2", cluster: { server: "https://other:443", "insecure-skip-tls-verify": true } },
            ],
            users: [{ name: "u", user }],
        });

    it("client certificates, CA data and the current context", () => {
        const t = kubeTarget(base({ "client-certificate-data": Buffer.from("CERT").toString("base64"), "client-key-data": Buffer.from("KEY").toString("base64") }));
        assert.equal(t.server, "https://10.0.0.1:6443");
        assert.equal(String(t.ca), "CA");
        assert.equal(String(t.cert), "CERT");
        assert.equal(String(t.key), "KEY");
        assert.equal(t.insecure, false);
    });

    it("an exec credential plugin (as `aws eks get-token` is), with its env", () => {
        const t = kubeTarget(
            base({
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: process.execPath,
                    args: ["-e", "console.log(JSON.stringify({status:{token:'tok-'+process.env.GATE_TEST}}))"],
                    env: [{ name: "GATE_TEST", value: "42" }],
                },
            }),
        );
        assert.equal(t.token, "tok-42");
    });

    it("a named context, and an unknown one is an error that names it", () => {
        assert.equal(kubeTarget(base({ token: "x" }), "b").server, "https://other:443");
        assert.throws(() => kubeTarget(base({ token: "x" }), "nope"), /kubeconfig has no context named "nope"/);
    });
});

describe("Promotion gate: wiring (under the mocks)", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });
    const gates = (r: Rendered) => ofType(r, GATE).map((g) => g.name).sort();

    it("one gate per service, named for the live color, after that color's Deployment", () => {
        assert.deepEqual(gates(prod), SERVICES.map((s) => `${s}-gate-blue`).sort());
        for (const s of SERVICES) {
            const g = find(prod, GATE, `${s}-gate-blue`);
            const i = inputs(g);
            assert.deepEqual(
                { service: i.service, namespace: i.namespace, color: i.color, previousColor: i.previousColor, deployment: i.deployment, liveService: i.liveService },
                { service: s, namespace: "production", color: "blue", previousColor: "green", deployment: `${s}-blue`, liveService: `${s}-service` },
            );
            assert.deepEqual({ settle: i.settleSeconds, timeout: i.timeoutSeconds, poll: i.pollSeconds }, { settle: 30, timeout: 180, poll: 3 });
            assert.deepEqual(g.options.dependsOn, [`${DEPLOYMENT}::${s}-blue`]);
            assert.equal(typeof i.__provider, "string", "the serialized provider travels with the gate");
        }
    });

    it("the gate reads the cluster with the stack's own kubeconfig, kept secret", () => {
        const raw = find(prod, GATE, "rtpm-api-gate-blue").inputs.kubeconfig;
        assert.ok(raw instanceof Secret, "the gate's kubeconfig input must be secret");
        assert.equal(JSON.parse(inputs(find(prod, GATE, "rtpm-api-gate-blue")).kubeconfig)["current-context"], "aws");
    });

    it("every live Service waits for the gates of all services; every preview Service for its live Service", () => {
        const all = SERVICES.map((s) => `${GATE}::${s}-gate-blue`).sort();
        for (const s of SERVICES) {
            const live = find(prod, SERVICE, `${s}-service`).options.dependsOn;
            assert.deepEqual(live.filter((d) => d.startsWith(GATE)).sort(), all);
            assert.deepEqual(find(prod, SERVICE, `${s}-preview`).options.dependsOn, [`${SERVICE}::${s}-service`]);
        }
    });

    it("promotion settings come from config, and bad ones are refused naming the key", async () => {
        const r = await renderStack("production", ["promotion.settleSeconds=5", "promotion.timeoutSeconds=60"]);
        const i = inputs(find(r, GATE, "nanda-api-gate-blue"));
        assert.deepEqual([i.settleSeconds, i.timeoutSeconds], [5, 60]);
        const slow = await expectRejected("production", ["promotion.timeoutSeconds=20", "promotion.settleSeconds=30"]);
        assert.match(slow.message, /promotion\.timeoutSeconds: must be longer than promotion\.settleSeconds \(30\); got 20/);
        assert.equal(slow.registered, 0);
        assert.match((await expectRejected("production", ["promotion.settleSecs=5"])).message, /promotion\.settleSecs.*settleSeconds/);
    });

    it("a flip of one service adds its new gate, removes the old, and changes only selectors besides", async () => {
        const flipped = await renderStack("production", ["services.nanda-api.activeColor=green"]);
        const d = diffRenders(prod, flipped);
        assert.deepEqual(brief(d).added, [{ type: GATE, name: "nanda-api-gate-green" }]);
        assert.deepEqual(brief(d).removed, [{ type: GATE, name: "nanda-api-gate-blue" }]);
        assert.deepEqual(d.changed.map((c) => [c.name, c.paths]), [["nanda-api-service", ["spec.selector.version"]], ["nanda-api-preview", ["spec.selector.version"]]]);
    });
});

describe("Draining: no in-flight request dropped on a selector change or a pod's termination", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("every color: a preStop sleep (no shell needed), a grace period above preStop plus the longest request, minReadySeconds", () => {
        for (const s of SERVICES) {
            for (const c of ["blue", "green"]) {
                const d = inputs(find(prod, DEPLOYMENT, `${s}-${c}`));
                assert.equal(d.spec.minReadySeconds, 10);
                assert.equal(d.spec.template.spec.terminationGracePeriodSeconds, 45);
                assert.deepEqual(d.spec.template.spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 10 } } });
            }
        }
    });

    it("per service, from config; a grace period not above preStop is refused", async () => {
        const r = await renderStack("production", ["services.rtpm-api.drain.preStopSeconds=20", "services.rtpm-api.drain.terminationGracePeriodSeconds=90", "services.rtpm-api.drain.minReadySeconds=0"]);
        const d = inputs(find(r, DEPLOYMENT, "rtpm-api-green"));
        assert.equal(d.spec.minReadySeconds, 0);
        assert.equal(d.spec.template.spec.terminationGracePeriodSeconds, 90);
        assert.deepEqual(d.spec.template.spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 20 } } });
        assert.equal(inputs(find(r, DEPLOYMENT, "nanda-api-green")).spec.template.spec.terminationGracePeriodSeconds, 45);
        const bad = await expectRejected("production", ["services.rtpm-api.drain.preStopSeconds=30", "services.rtpm-api.drain.terminationGracePeriodSeconds=30"]);
        assert.match(bad.message, /services\.rtpm-api\.drain\.terminationGracePeriodSeconds: must be longer than drain\.preStopSeconds \(30\) plus the longest request; got 30/);
        const none = await renderStack("production", ["services.rtpm-api.drain.preStopSeconds=0"]);
        assert.equal(inputs(find(none, DEPLOYMENT, "rtpm-api-blue")).spec.template.spec.containers[0].lifecycle, undefined);
    });
});

describe("Rollout deadline: a color that cannot roll out fails `pulumi up` at the deadline, not after the provider's 10 minutes", () => {
    it("progressDeadlineSeconds and Pulumi's await timeout come from promotion.rolloutTimeoutSeconds (600 by default)", async () => {
        const prod = await renderStack("production");
        const d = find(prod, DEPLOYMENT, "rtpm-api-green");
        assert.equal(inputs(d).spec.progressDeadlineSeconds, 600);
        const fast = await renderStack("production", ["promotion.rolloutTimeoutSeconds=90"]);
        for (const s of SERVICES) assert.equal(inputs(find(fast, DEPLOYMENT, `${s}-blue`)).spec.progressDeadlineSeconds, 90);
        const bad = await expectRejected("production", ["promotion.rolloutTimeoutSeconds=5"]);
        assert.match(bad.message, /promotion\.rolloutTimeoutSeconds: .*30/);
    });

    it("in a flip, the target color's update step is bounded by promotion.timeoutSeconds (a re-awaited failed rollout fails within the gate's time)", () => {
        assert.deepEqual(deploymentTimeouts(600, undefined), { create: "600s", update: "600s" });
        assert.deepEqual(deploymentTimeouts(600, 180), { create: "600s", update: "180s" });
        // The rollout's own deadline still wins when it is the shorter one.
        assert.deepEqual(deploymentTimeouts(120, 180), { create: "120s", update: "120s" });
    });
});

