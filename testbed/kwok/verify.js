#!/usr/bin/env node
// Checks the testbed's pod rules (pods.yaml) against a running testbed and
// prints what it measured: `node testbed/kwok/verify.js` after
// `npm run --silent testbed -- up` (same TESTBED_DIR). Works in a namespace of
// its own, which it deletes at the end. Exit 0 when every rule held.
//   1. a Deployment (2 replicas) and its Service: pods Ready, Endpoints and EndpointSlice filled
//   2. a rollout to a -unready tag: the new pod runs, never Ready; the Service keeps the old pods
//   3. a -crashes Deployment: Ready, then not Ready ~15 s later with restarts climbing
//   4. a Job: Complete; a -fails Job with backoffLimit 1: two pods Failed (exit 1), the Job Failed
//   5. deleting the namespace removes every pod
"use strict";
const { apiClient } = require("../lib/cluster.js");

const NS = `verify-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const secs = (t = t0) => ((Date.now() - t) / 1000).toFixed(1);
const results = [];
function check(name, ok, detail) {
    results.push({ name, ok });
    process.stdout.write(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` (${detail})` : ""}\n`);
}

async function main() {
    const api = apiClient();
    const req = async (method, path, body, opts) => {
        const r = await api.request(method, path, body, opts);
        if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
        return r.body;
    };
    const until = async (what, fn, timeoutMs = 60000) => {
        const start = Date.now();
        for (;;) {
            const v = await fn();
            if (v) return (Date.now() - start) / 1000;
            if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
            await sleep(100);
        }
    };
    const pods = async (selector) => (await req("GET", `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}`)).items;
    const ready = (p) => (p.status.conditions || []).some((c) => c.type === "Ready" && c.status === "True");
    const deployment = (name, image, replicas = 1) => ({
        apiVersion: "apps/v1", kind: "Deployment", metadata: { name },
        spec: {
            replicas, selector: { matchLabels: { app: name } },
            strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
            template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image, ports: [{ name: "http", containerPort: 8080 }] }] } },
        },
    });
    const job = (name, image, backoffLimit) => ({
        apiVersion: "batch/v1", kind: "Job", metadata: { name },
        spec: { backoffLimit, template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image }] } } },
    });

    await req("POST", "/api/v1/namespaces", { metadata: { name: NS } });
    await until("the namespace's default ServiceAccount", async () => (await api.request("GET", `/api/v1/namespaces/${NS}/serviceaccounts/default`)).status === 200);
    try {
        // 1
        let t = Date.now();
        await req("POST", `/apis/apps/v1/namespaces/${NS}/deployments`, deployment("web", "registry.local/web:v1", 2));
        await req("POST", `/api/v1/namespaces/${NS}/services`, { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } });
        const avail = await until("web available", async () => (await req("GET", `/apis/apps/v1/namespaces/${NS}/deployments/web`)).status.availableReplicas === 2);
        const webPods = await pods("app=web");
        const ips = webPods.map((p) => p.status.podIP).sort();
        const epsWait = await until("endpoints", async () => {
            const ep = await api.request("GET", `/api/v1/namespaces/${NS}/endpoints/web`);
            const slices = await req("GET", `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
            const epIPs = ((ep.body.subsets || [])[0]?.addresses || []).map((a) => a.ip).sort();
            const sliceIPs = slices.items.flatMap((s) => (s.endpoints || []).filter((e) => e.conditions.ready).map((e) => e.addresses[0])).sort();
            return JSON.stringify(epIPs) === JSON.stringify(ips) && JSON.stringify(sliceIPs) === JSON.stringify(ips);
        });
        check("Deployment of 2: available, pods Ready with IPs and startTime", webPods.length === 2 && webPods.every((p) => ready(p) && p.status.podIP && p.status.startTime && p.status.containerStatuses[0].state.running),
            `available ${secs(t)} s after create (${avail.toFixed(1)} s wait), IPs ${ips.join(", ")}`);
        check("Service: Endpoints and EndpointSlice hold both pods", true, `${epsWait.toFixed(1)} s after available`);

        // 2
        t = Date.now();
        await req("PATCH", `/apis/apps/v1/namespaces/${NS}/deployments/web`, { spec: { template: { spec: { containers: [{ name: "app", image: "registry.local/web:v2-unready" }] } } } },
            { contentType: "application/strategic-merge-patch+json" });
        await until("the -unready pod running", async () => (await pods("app=web")).some((p) => p.spec.containers[0].image.endsWith("-unready") && p.status.phase === "Running"));
        const runAt = secs(t);
        await sleep(20000);
        const after = await pods("app=web");
        const bad = after.filter((p) => p.spec.containers[0].image.endsWith("-unready"));
        const slices = await req("GET", `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
        const readyIPs = slices.items.flatMap((s) => (s.endpoints || []).filter((e) => e.conditions.ready).map((e) => e.addresses[0])).sort();
        check("-unready: the new pod Running, never Ready; the Service keeps the old pods", bad.length === 1 && bad.every((p) => p.status.phase === "Running" && !ready(p)
            && p.status.containerStatuses[0].ready === false) && JSON.stringify(readyIPs) === JSON.stringify(ips),
        `Running ${runAt} s after the patch, still not Ready after 20 s more; ready endpoints ${readyIPs.join(", ")}`);

        // 3
        t = Date.now();
        await req("POST", `/apis/apps/v1/namespaces/${NS}/deployments`, deployment("crash", "registry.local/crash:v1-crashes"));
        await until("the -crashes pod Ready", async () => (await pods("app=crash")).some(ready));
        const readyAt = Date.now();
        await until("the -crashes pod not Ready", async () => !(await pods("app=crash")).some(ready), 60000);
        const crashAfter = secs(readyAt);
        const [first] = await pods("app=crash");
        const cs1 = first.status.containerStatuses[0];
        await until("a second restart", async () => (await pods("app=crash"))[0].status.containerStatuses[0].restartCount >= 2, 60000);
        const secondAfter = secs(readyAt);
        check("-crashes: Ready, then not Ready with restarts climbing (CrashLoopBackOff)",
            cs1.restartCount === 1 && cs1.lastState.terminated?.exitCode === 1 && cs1.state.waiting?.reason === "CrashLoopBackOff" && first.status.phase === "Running",
            `Ready ${((readyAt - t) / 1000).toFixed(1)} s after create, crashed ${crashAfter} s after Ready, restartCount 2 at ${secondAfter} s`);

        // 4
        t = Date.now();
        await req("POST", `/apis/batch/v1/namespaces/${NS}/jobs`, job("ok", "registry.local/migrate:v1", 2));
        await req("POST", `/apis/batch/v1/namespaces/${NS}/jobs`, job("bad", "registry.local/migrate:v1-fails", 1));
        const cond = async (name, type) => ((await req("GET", `/apis/batch/v1/namespaces/${NS}/jobs/${name}`)).status.conditions || []).some((c) => c.type === type && c.status === "True");
        const okAt = await until("Job ok Complete", () => cond("ok", "Complete"));
        const badAt = await until("Job bad Failed", () => cond("bad", "Failed"), 90000);
        const badPods = await pods("job-name=bad");
        check("Job: Complete", true, `${okAt.toFixed(1)} s after create`);
        check("-fails Job (backoffLimit 1): Failed after 2 failed pods (exit 1)",
            badPods.length === 2 && badPods.every((p) => p.status.phase === "Failed" && p.status.containerStatuses[0].state.terminated?.exitCode === 1),
            `${badAt.toFixed(1)} s after create (includes the Job controller's 10 s back-off)`);
    } finally {
        // 5
        const t = Date.now();
        await req("DELETE", `/api/v1/namespaces/${NS}`);
        let gone = true;
        try {
            await until("the namespace gone", async () => (await api.request("GET", `/api/v1/namespaces/${NS}`)).status === 404, 120000);
        } catch { gone = false; }
        check("namespace deletion removes every pod (kwok finishes graceful deletion)", gone, `${secs(t)} s`);
        api.close();
    }
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
    return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`verify: ${e.message}\n`);
    process.exit(1);
});
