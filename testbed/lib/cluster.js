// The testbed's local Kubernetes control plane, with no container runtime:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (the
// fake kubelet, with the Stages in testbed/kwok/), all on 127.0.0.1 on free
// ports, in one data directory ($TESTBED_DIR, else <user cache>/candlefish-testbed/cluster).
//
//   up()        builds what is missing, starts what is not running, waits until the
//               API serves and the fake nodes are Ready; returns { env, dataDir, reused }.
//               A second call finds it running and returns the same env.
//   down()      stops every process it started (their process groups) and removes the data directory.
//   withTestbed(fn)  up, fn(env), and down whatever fn did (for a test runner).
//
// Progress goes to stderr ("[testbed] starting etcd… 3s"); nothing here writes to stdout.
"use strict";
const fs = require("fs");
const net = require("net");
const path = require("path");
const http = require("http");
const https = require("https");
const { spawn, spawnSync } = require("child_process");

const tools = require("../tools.js");
const { CONTROL_PLANE_TOOLS } = require("./control-plane-tools.js");

/** Local-only: encrypts the secrets of stacks in this testbed's file backend, nothing else. */
const LOCAL_PASSPHRASE = "candlefish-local-testbed-only";
const SERVICE_CIDR = "10.96.0.0/16";
const SERVICE_IP = "10.96.0.1";
/** Fake nodes: one per zone, each with its own pod CIDR (kwok hands out pod IPs from it). */
const NODES = ["a", "b", "c"].map((z, i) => ({
    name: `kwok-node-${z}`, zone: `local-${z}`, podCIDR: `10.244.${i + 1}.0/24`, ip: `10.240.0.${i + 1}`,
}));
const NODE_ALLOCATABLE = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" };
const KWOK_MANAGED = "kwok.x-k8s.io/node";
/** Start order; down() stops them in reverse. */
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];

const T0 = Date.now();
function elapsed(t0 = T0) {
    const s = Math.round((Date.now() - t0) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
const log = (msg) => process.stderr.write(`[testbed] ${msg} ${elapsed()}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function dataDir() {
    return path.resolve(process.env.TESTBED_DIR || path.join(tools.cacheRoot(), "cluster"));
}

function paths(dir = dataDir()) {
    return {
        dir,
        state: path.join(dir, "state.json"),
        lock: path.join(dir, ".lock"),
        pki: path.join(dir, "pki"),
        etcd: path.join(dir, "etcd"),
        logs: path.join(dir, "logs"),
        kubeconfig: path.join(dir, "kubeconfig"),
        backend: path.join(dir, "pulumi-backend"),
        home: path.join(dir, "home"),
    };
}

// ---------------------------------------------------------------- state and processes

function readState(p) {
    try { return JSON.parse(fs.readFileSync(p.state, "utf8")); } catch { return null; }
}

function writeState(p, state) {
    fs.writeFileSync(`${p.state}.tmp`, JSON.stringify(state, null, 2) + "\n");
    fs.renameSync(`${p.state}.tmp`, p.state);
}

/** True when pid is alive and is still the binary we started (a reused pid is someone else's). */
function isOurs(pid, binary) {
    try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        if (/\)\s+Z\s/.test(stat)) return false; // a zombie waiting for its parent: gone
        return path.basename(cmd) === path.basename(binary);
    } catch {
        return false;
    }
}

function startProcess(p, state, name, binary, args, extraEnv = {}) {
    const out = fs.openSync(path.join(p.logs, `${name}.log`), "a");
    const child = spawn(binary, args, {
        detached: true, // its own process group, which down() signals as a whole
        stdio: ["ignore", out, out],
        env: { ...process.env, ...extraEnv },
        cwd: p.dir,
    });
    fs.closeSync(out);
    child.unref();
    state.processes[name] = { pid: child.pid, binary, args };
    writeState(p, state);
    return child;
}

/** Stops the processes in reverse start order (kwok first, etcd last), each one's whole process group. */
async function stopProcesses(state) {
    const signal = (pid, sig) => {
        try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* gone */ } }
    };
    for (const [name, { pid, binary }] of Object.entries((state && state.processes) || {}).reverse()) {
        if (!isOurs(pid, binary)) continue;
        signal(pid, "SIGTERM");
        const deadline = Date.now() + 15000;
        while (isOurs(pid, binary) && Date.now() < deadline) await sleep(50);
        if (isOurs(pid, binary)) {
            log(`${name} (pid ${pid}) still running 15 s after SIGTERM: killing it`);
            signal(pid, "SIGKILL");
            const killDeadline = Date.now() + 5000;
            while (isOurs(pid, binary) && Date.now() < killDeadline) await sleep(50);
        }
    }
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

function tail(file, lines = 25) {
    try { return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n"); } catch { return "(no log)"; }
}

// ---------------------------------------------------------------- certificates and kubeconfigs

function openssl(args, cwd) {
    const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
    if (r.error && r.error.code === "ENOENT") throw new Error("openssl is not installed (apt-get install openssl): the testbed makes its certificates with it");
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA, the API server's serving cert, a client cert per component, and the service-account key pair. */
function makePki(pki) {
    fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(pki, "openssl.cnf"), "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n");
    const req = ["req", "-x509", "-new", "-config", "openssl.cnf", ...EC];
    openssl([...req, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=candlefish-testbed-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], pki);
    const leaf = (name, subj, eku, san) => openssl([...req, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "365", "-subj", subj,
        "-CA", "ca.crt", "-CAkey", "ca.key", "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment", "-addext", `extendedKeyUsage=${eku}`,
        ...(san ? ["-addext", `subjectAltName=${san}`] : [])], pki);
    leaf("apiserver", "/CN=kube-apiserver", "serverAuth",
        `IP:127.0.0.1,IP:${SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`);
    // The identities Kubernetes' bootstrap RBAC already grants what each needs.
    leaf("admin", "/O=system:masters/CN=kubernetes-admin", "clientAuth");
    leaf("controller-manager", "/CN=system:kube-controller-manager", "clientAuth");
    leaf("scheduler", "/CN=system:kube-scheduler", "clientAuth");
    // kwok plays every node's kubelet and patches any pod's status: cluster-wide rights.
    leaf("kwok", "/O=system:masters/CN=system:kwok-controller", "clientAuth");
    // The aggregation layer's request-header authentication (its own CA, as kubeadm does): the
    // controller-manager and scheduler read it for their delegated authentication.
    openssl([...req, "-keyout", "front-proxy-ca.key", "-out", "front-proxy-ca.crt", "-days", "3650", "-subj", "/CN=candlefish-testbed-front-proxy-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], pki);
    openssl([...req, "-keyout", "front-proxy-client.key", "-out", "front-proxy-client.crt", "-days", "365", "-subj", "/CN=front-proxy-client",
        "-CA", "front-proxy-ca.crt", "-CAkey", "front-proxy-ca.key", "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment", "-addext", "extendedKeyUsage=clientAuth"], pki);
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key"], pki);
    openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki);
    for (const f of fs.readdirSync(pki)) if (f.endsWith(".key")) fs.chmodSync(path.join(pki, f), 0o600);
}

function writeKubeconfig(file, server, pki, user) {
    const b64 = (f) => fs.readFileSync(path.join(pki, f)).toString("base64");
    fs.writeFileSync(file, [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: testbed",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${b64("ca.crt")}`,
        "users:",
        `- name: ${user}`,
        "  user:",
        `    client-certificate-data: ${b64(`${user}.crt`)}`,
        `    client-key-data: ${b64(`${user}.key`)}`,
        "contexts:",
        "- name: testbed",
        "  context:",
        "    cluster: testbed",
        `    user: ${user}`,
        "    namespace: default",
        "current-context: testbed",
        "",
    ].join("\n"), { mode: 0o600 });
}

// ---------------------------------------------------------------- a minimal API client

/** A JSON client for the API server with the admin certificate: request(method, path, body) → { status, body }. */
function apiClient(dir = dataDir()) {
    const p = paths(dir);
    const state = readState(p);
    if (!state || !state.ports) throw new Error(`no testbed in ${p.dir}`);
    const agent = new https.Agent({
        ca: fs.readFileSync(path.join(p.pki, "ca.crt")),
        cert: fs.readFileSync(path.join(p.pki, "admin.crt")),
        key: fs.readFileSync(path.join(p.pki, "admin.key")),
        keepAlive: true,
    });
    const request = (method, urlPath, body, { contentType = "application/json", timeoutMs = 10000 } = {}) => new Promise((resolve, reject) => {
        const data = body === undefined ? null : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
        const req = https.request({
            host: "127.0.0.1", port: state.ports.apiserver, path: urlPath, method, agent, timeout: timeoutMs,
            headers: { Accept: "application/json", ...(data ? { "Content-Type": contentType, "Content-Length": data.length } : {}) },
        }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d) => { text += d; });
            res.on("end", () => {
                let parsed = text;
                try { parsed = JSON.parse(text); } catch { /* plain text, e.g. /readyz */ }
                resolve({ status: res.statusCode, body: parsed });
            });
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
        req.on("error", reject);
        if (data) req.write(data);
        req.end();
    });
    return { request, close: () => agent.destroy(), port: state.ports.apiserver };
}

function get(url, { insecure = false } = {}) {
    return new Promise((resolve) => {
        const mod = url.startsWith("https:") ? https : http;
        const req = mod.get(url, { timeout: 2000, ...(insecure ? { rejectUnauthorized: false } : {}) }, (res) => {
            let text = "";
            res.on("data", (d) => { text += d; });
            res.on("end", () => resolve({ status: res.statusCode, body: text }));
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve({ status: 0, body: "" }));
    });
}

/** Polls check() until it returns a truthy value; fails early when a watched process exits. */
async function waitFor(what, check, { timeoutMs = 120000, intervalMs = 250, children = [], p } = {}) {
    const t0 = Date.now();
    let lastLog = Date.now();
    for (;;) {
        const v = await check().catch(() => null);
        if (v) return v;
        for (const [name, child] of children) {
            if (child.exitCode !== null || child.signalCode !== null) {
                throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}; its log ends:\n${tail(path.join(p.logs, `${name}.log`))}`);
            }
        }
        if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${elapsed(t0)} waiting for ${what}`);
        if (Date.now() - lastLog > 10000) { log(`still waiting for ${what}…`); lastLog = Date.now(); }
        await sleep(intervalMs);
    }
}

// ---------------------------------------------------------------- up / down

function exportsFor(toolsEnv, p) {
    return {
        ...toolsEnv,
        KUBECONFIG: p.kubeconfig,
        PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
        PULUMI_BACKEND_URL: `file://${p.backend}`,
    };
}

async function isHealthy(p, state) {
    if (!state || !state.ready) return false;
    for (const name of COMPONENTS) {
        const proc = state.processes[name];
        if (!proc || !isOurs(proc.pid, proc.binary)) return false;
    }
    const client = apiClient(p.dir);
    try {
        const r = await client.request("GET", "/readyz");
        return r.status === 200;
    } catch {
        return false;
    } finally {
        client.close();
    }
}

/** Takes the data directory's lock (one `up`/`down` at a time); returns its release. */
async function lock(p) {
    fs.mkdirSync(p.dir, { recursive: true });
    const deadline = Date.now() + 600000;
    for (;;) {
        try {
            fs.writeFileSync(p.lock, String(process.pid), { flag: "wx" });
            return () => fs.rmSync(p.lock, { force: true });
        } catch (e) {
            if (e.code !== "EEXIST") throw e;
            const holder = Number(fs.readFileSync(p.lock, "utf8")) || 0;
            let alive = false;
            try { process.kill(holder, 0); alive = true; } catch { /* stale */ }
            if (!alive) { fs.rmSync(p.lock, { force: true }); continue; }
            if (Date.now() > deadline) throw new Error(`another testbed command (pid ${holder}) holds ${p.lock}`);
            await sleep(500);
        }
    }
}

/**
 * Starts the control plane unless it is already running. Options:
 *   clusterOnly  build only the control plane's tools (no Pulumi CLI/provider); the env then lacks PULUMI_HOME's provider.
 */
async function up({ clusterOnly = false } = {}) {
    const p = paths();
    // Tools first, outside the lock: a cold build takes many minutes, and tools.js is safe to run twice.
    log(`ensuring tools${clusterOnly ? " (control plane only)" : ""}…`);
    const built = await tools.ensureTools(clusterOnly ? { only: CONTROL_PLANE_TOOLS } : { all: true });
    const bin = (name) => path.join(built.results.find((r) => r.tool.name === name).dir, name);
    const env = exportsFor(built.env, p);
    const release = await lock(p);
    try {
        const old = readState(p);
        if (await isHealthy(p, old)) {
            log(`already running in ${p.dir} (api server on 127.0.0.1:${old.ports.apiserver})`);
            return { env, dataDir: p.dir, reused: true };
        }
        if (old) {
            log(`a previous testbed in ${p.dir} is not healthy: stopping what is left of it and starting afresh`);
            await stopProcesses(old);
        }
        for (const f of fs.readdirSync(p.dir)) if (f !== ".lock") fs.rmSync(path.join(p.dir, f), { recursive: true, force: true });
        for (const d of [p.logs, p.backend, p.home]) fs.mkdirSync(d, { recursive: true });
        fs.mkdirSync(p.etcd, { recursive: true, mode: 0o700 });

        const tStart = Date.now();
        const state = { startedAt: new Date().toISOString(), dataDir: p.dir, processes: {}, ports: {}, ready: false };
        for (const k of ["etcdClient", "etcdPeer", "apiserver", "controllerManager", "scheduler"]) state.ports[k] = await freePort();
        writeState(p, state);

        log("generating certificates…");
        makePki(p.pki);
        const server = `https://127.0.0.1:${state.ports.apiserver}`;
        writeKubeconfig(p.kubeconfig, server, p.pki, "admin");
        for (const user of ["controller-manager", "scheduler", "kwok"]) writeKubeconfig(path.join(p.pki, `${user}.kubeconfig`), server, p.pki, user);
        const pki = (f) => path.join(p.pki, f);
        const children = [];

        log("starting etcd…");
        const etcdUrl = `http://127.0.0.1:${state.ports.etcdClient}`;
        const peerUrl = `http://127.0.0.1:${state.ports.etcdPeer}`;
        children.push(["etcd", startProcess(p, state, "etcd", bin("etcd"), [
            "--name=testbed", `--data-dir=${p.etcd}`,
            `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
            `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
            `--initial-cluster=testbed=${peerUrl}`, "--initial-cluster-state=new",
            // Throwaway data: no fsync keeps a 2-core machine's disk out of every write's path.
            "--unsafe-no-fsync", "--log-level=warn", "--quota-backend-bytes=2147483648",
        ])]);
        await waitFor("etcd", async () => (await get(`${etcdUrl}/health`)).body.includes('"health":"true"'), { children, p });

        log("starting kube-apiserver…");
        children.push(["kube-apiserver", startProcess(p, state, "kube-apiserver", bin("kube-apiserver"), [
            `--etcd-servers=${etcdUrl}`,
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${state.ports.apiserver}`,
            `--tls-cert-file=${pki("apiserver.crt")}`, `--tls-private-key-file=${pki("apiserver.key")}`,
            `--client-ca-file=${pki("ca.crt")}`,
            `--requestheader-client-ca-file=${pki("front-proxy-ca.crt")}`, "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            `--proxy-client-cert-file=${pki("front-proxy-client.crt")}`, `--proxy-client-key-file=${pki("front-proxy-client.key")}`,
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${pki("sa.pub")}`, `--service-account-signing-key-file=${pki("sa.key")}`,
            `--service-cluster-ip-range=${SERVICE_CIDR}`,
            // The advertise address is loopback, which Endpoints may not hold: no endpoints for default/kubernetes.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--profiling=false", "--v=1",
        ])]);
        const client = apiClient(p.dir);
        try {
            await waitFor("the API server to be ready", async () => (await client.request("GET", "/readyz")).status === 200, { children, p, timeoutMs: 180000 });

            log("starting kube-controller-manager…");
            children.push(["kube-controller-manager", startProcess(p, state, "kube-controller-manager", bin("kube-controller-manager"), [
                `--kubeconfig=${pki("controller-manager.kubeconfig")}`,
                `--authentication-kubeconfig=${pki("controller-manager.kubeconfig")}`,
                `--authorization-kubeconfig=${pki("controller-manager.kubeconfig")}`,
                "--bind-address=127.0.0.1", `--secure-port=${state.ports.controllerManager}`,
                "--leader-elect=false", "--use-service-account-credentials=true",
                `--service-account-private-key-file=${pki("sa.key")}`, `--root-ca-file=${pki("ca.crt")}`,
                `--cluster-signing-cert-file=${pki("ca.crt")}`, `--cluster-signing-key-file=${pki("ca.key")}`,
                // Every default controller (deployment, replicaset, endpoint, endpointslice, job, garbage
                // collector, namespace, serviceaccount and its token, node lifecycle, ...).
                "--controllers=*", "--profiling=false", "--v=1",
            ])]);
            log("starting kube-scheduler…");
            children.push(["kube-scheduler", startProcess(p, state, "kube-scheduler", bin("kube-scheduler"), [
                `--kubeconfig=${pki("scheduler.kubeconfig")}`,
                `--authentication-kubeconfig=${pki("scheduler.kubeconfig")}`,
                `--authorization-kubeconfig=${pki("scheduler.kubeconfig")}`,
                "--bind-address=127.0.0.1", `--secure-port=${state.ports.scheduler}`,
                "--leader-elect=false", "--profiling=false", "--v=1",
            ])]);

            log(`creating ${NODES.length} fake nodes…`);
            for (const n of NODES) await createNode(client, n);

            log("starting kwok…");
            const stages = path.resolve(__dirname, "..", "kwok");
            children.push(["kwok", startProcess(p, state, "kwok", bin("kwok"), [
                `--kubeconfig=${pki("kwok.kubeconfig")}`,
                `--config=${path.join(stages, "nodes.yaml")}`, `--config=${path.join(stages, "pods.yaml")}`,
                `--manage-nodes-with-annotation-selector=${KWOK_MANAGED}=fake`,
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
            ], { HOME: p.home })]); // kwok also reads ~/.kwok/kwok.yaml: not someone's own

            await waitFor("kube-controller-manager", async () => (await get(`https://127.0.0.1:${state.ports.controllerManager}/healthz`, { insecure: true })).body === "ok", { children, p });
            await waitFor("kube-scheduler", async () => (await get(`https://127.0.0.1:${state.ports.scheduler}/healthz`, { insecure: true })).body === "ok", { children, p });
            log("waiting for nodes…");
            await waitFor("the fake nodes to be Ready", async () => {
                const r = await client.request("GET", "/api/v1/nodes");
                return r.status === 200 && NODES.every((n) => r.body.items.some((i) => i.metadata.name === n.name
                    && (i.status.conditions || []).some((c) => c.type === "Ready" && c.status === "True")));
            }, { children, p });
            log("waiting for the default service account…");
            await waitFor("the default ServiceAccount", async () => (await client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200, { children, p });
        } finally {
            client.close();
        }
        state.ready = true;
        state.startupSeconds = Math.round((Date.now() - tStart) / 100) / 10;
        writeState(p, state);
        log(`ready in ${p.dir}: control plane started in ${state.startupSeconds}s (api server https://127.0.0.1:${state.ports.apiserver})`);
        return { env, dataDir: p.dir, reused: false };
    } catch (e) {
        const state = readState(p);
        if (state) {
            log(`start-up failed: stopping what was started (logs kept in ${p.logs}; \`npm run testbed -- down\` removes them)`);
            await stopProcesses(state);
            state.ready = false;
            writeState(p, state);
        }
        throw e;
    } finally {
        release();
    }
}

async function createNode(client, n) {
    const body = {
        apiVersion: "v1", kind: "Node",
        metadata: {
            name: n.name,
            annotations: { [KWOK_MANAGED]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
                "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "kwok", "topology.kubernetes.io/region": "local",
                "topology.kubernetes.io/zone": n.zone, type: "kwok",
            },
        },
        spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
        status: {
            allocatable: NODE_ALLOCATABLE, capacity: NODE_ALLOCATABLE,
            addresses: [{ type: "InternalIP", address: n.ip }, { type: "Hostname", address: n.name }],
            nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: "v1.35.4", containerRuntimeVersion: "kwok://0.8.0", kernelVersion: "kwok", osImage: "kwok", kubeProxyVersion: "", bootID: "", machineID: "", systemUUID: "" },
        },
    };
    const r = await client.request("POST", "/api/v1/nodes", body);
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating node ${n.name}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Stops every process the testbed started and removes its data directory. */
async function down() {
    const p = paths();
    if (!fs.existsSync(p.dir)) { log(`nothing to stop (${p.dir} does not exist)`); return; }
    const release = await lock(p);
    try {
        const state = readState(p);
        if (state) {
            log("stopping kwok, kube-scheduler, kube-controller-manager, kube-apiserver, etcd…");
            await stopProcesses(state);
        }
    } finally {
        release();
    }
    fs.rmSync(p.dir, { recursive: true, force: true });
    log(`stopped; removed ${p.dir}`);
}

async function status() {
    const p = paths();
    const state = readState(p);
    const healthy = await isHealthy(p, state);
    return { dataDir: p.dir, running: healthy, state };
}

/**
 * For a test runner: up, run fn(env, info), and down afterwards whether fn passed or threw
 * (also when up itself failed half-way). A testbed that was already running before
 * (someone's `testbed up`) is left running unless { stopReused: true }.
 */
async function withTestbed(fn, { stopReused = false, ...opts } = {}) {
    let started = null;
    try {
        started = await up(opts);
        return await fn(started.env, started);
    } finally {
        if (!started || !started.reused || stopReused) await down().catch((e) => log(`down failed: ${e.message}`));
    }
}

module.exports = { up, down, status, withTestbed, apiClient, dataDir, LOCAL_PASSPHRASE, NODES };
