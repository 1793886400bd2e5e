// npm run switch, the parts around the sequencing: its flags (each bad one a
// clear error that changes nothing), the stack file (comments kept, atomic
// writes, a killed writer never leaves half a file), the one definition of the
// thresholds shared with the PrometheusRule, and the real clients of the API
// server's service proxy (Prometheus, EndpointSlices, Services, Grafana)
// against a fake API server on loopback.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { THRESHOLDS, runbookAlertGroups } from "../components/alert-rules";
import { MONITORING_NAMESPACE } from "../components/monitoring";
import { ROOT } from "../plan/stackfile";
import { ConfigSource } from "../config/source";
import { readPromotion } from "../config/services";
import { UsageError, formatDuration, parseArgs, parseDuration } from "../switch/args";
import { bakeQueries, breaches, reading } from "../switch/bake";
import { KubeCluster, MONITORING, Prometheus, countReady, grafanaAnnotator, grafanaSender, refreshingTarget, serviceProxyPath } from "../switch/remote";
import { processInterrupts } from "../switch/cli";
import { StackFile, applyColorEdit, parseStackFile, writeFileAtomic } from "../switch/stackfile";
import { find, inputs, renderStack } from "./harness";
import { failingFs, projectCopy } from "./switch-fakes";
import { AutomationWorkspace, LOG_DIR } from "../switch/workspace";

const PROJECT = "candlefish-maturity-map";
const usageError = (argv: string[]) => {
    try {
        parseArgs(argv);
    } catch (e) {
        assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
        return (e as Error).message;
    }
    assert.fail(`accepted: ${argv.join(" ")}`);
};

describe("switch: flags", () => {
    const base = ["--stack", "production", "--to", "green"];

    it("parses the issue's command line, --flag=value too; --service repeats (deduplicated)", () => {
        assert.deepEqual(parseArgs([...base, "--service", "rtpm-api", "--service=nanda-api", "--service", "rtpm-api", "--bake", "1m30s", "--dry-run", "--keep-on-interrupt", "--prometheus-url", "http://127.0.0.1:9090/", "--message", "release 42"]), {
            help: false,
            stack: "production",
            to: "green",
            services: ["rtpm-api", "nanda-api"],
            bakeSeconds: 90,
            dryRun: true,
            prometheusUrl: "http://127.0.0.1:9090",
            grafanaUrl: undefined,
            keepOnInterrupt: true,
            message: "release 42",
            acceptScanFindings: false,
        });
        const a = parseArgs([...base, "--accept-scan-findings"]);
        assert.ok(!a.help && a.acceptScanFindings);
        const d = parseArgs(["--stack=org/staging", "--to=blue"]);
        assert.ok(!d.help);
        if (!d.help) {
            assert.equal(d.stack, "org/staging");
            assert.equal(d.bakeSeconds, undefined, "no --bake: the stack's promotion.bakeSeconds");
            assert.deepEqual(d.services, []);
        }
        assert.deepEqual(parseArgs(["--help"]), { help: true });
        assert.deepEqual(parseArgs(["-h"]), { help: true });
    });

    it("durations: seconds, s, m, h and combinations; 0 is allowed (no bake)", () => {
        assert.deepEqual(["0", "300", "300s", "5m", "1m30s", "1h", "2m0s"].map(parseDuration), [0, 300, 300, 300, 90, 3600, 120]);
        for (const bad of ["", "5 minutes", "1.5m", "-5", "m", "5d", "1s1m"]) assert.equal(parseDuration(bad), undefined, bad);
        assert.deepEqual([0, 45, 60, 90, 300, 3600, 3725].map(formatDuration), ["0s", "45s", "1m", "1m30s", "5m", "1h", "1h2m5s"]);
    });

    const cases: [string, string[], RegExp][] = [
        ["a typo'd flag", [...base, "--bak", "5m"], /^unknown flag --bak; did you mean --bake\?$/],
        ["a typo'd boolean flag", [...base, "--keep-on-interupt"], /^unknown flag --keep-on-interupt; did you mean --keep-on-interrupt\?$/],
        ["a typo'd flag with =", [...base, "--servce=rtpm-api"], /^unknown flag --servce; did you mean --service\?$/],
        ["an unknown flag far from any", [...base, "--frobnicate"], /^unknown flag --frobnicate; the flags are --stack, --to, /],
        ["a misspelt color", ["--stack", "production", "--to", "gren"], /^--to must be blue or green, got "gren"; did you mean green\?$/],
        ["a color that is none", ["--stack", "production", "--to", "red"], /^--to must be blue or green, got "red"$/],
        ["no --to", ["--stack", "production"], /^--to is required: --to blue or --to green$/],
        ["no --stack", ["--to", "green"], /^--stack is required/],
        ["a flag without its value", ["--stack", "production", "--to"], /^--to needs a value$/],
        ["a flag followed by another flag", ["--stack", "--to", "green"], /^--stack needs a value$/],
        ["an empty value", ["--stack=", "--to", "green"], /^--stack needs a value$/],
        ["a bad duration", [...base, "--bake", "5minutes"], /^--bake: "5minutes" is not a duration \(e\.g\. 300, 300s, 5m, 1m30s\)$/],
        ["a bake past the maximum", [...base, "--bake", "2h"], /^--bake: 2h is longer than the maximum, 1h$/],
        ["a Prometheus URL without a scheme", [...base, "--prometheus-url", "localhost:9090"], /^--prometheus-url: "localhost:9090" must be an http:\/\/ or https:\/\/ URL$/],
        ["a Prometheus URL that is none", [...base, "--prometheus-url", "not a url"], /^--prometheus-url: "not a url" is not a URL/],
        ["a value on a boolean flag", [...base, "--dry-run=yes"], /^--dry-run takes no value$/],
        ["a stray word", [...base, "green"], /^unexpected argument "green"; every value follows its flag/],
        ["a flag given twice", [...base, "--to", "blue"], /^--to given 2 times; give it once$/],
        ["a service name that cannot be one", [...base, "--service", "RTPM_API"], /^--service: "RTPM_API" is not a service name$/],
    ];
    for (const [what, argv, msg] of cases) {
        it(`refuses ${what}, naming the flag: ${argv.join(" ")}`, () => assert.match(usageError(argv), msg));
    }
});

describe("switch: bad invocations of the CLI change nothing", function () {
    this.timeout(120000);
    let copy: ReturnType<typeof projectCopy>;
    before(() => {
        copy = projectCopy("production");
    });
    after(() => fs.rmSync(copy.dir, { recursive: true, force: true }));

    /** Runs `npm run switch`'s launcher in the copy; nothing in the copy may change. */
    function cli(argv: string[]): { status: number | null; stderr: string; stdout: string } {
        const before = fs.readdirSync(copy.dir).map((f) => [f, fs.readFileSync(path.join(copy.dir, f), "utf8"), fs.statSync(path.join(copy.dir, f)).mtimeMs]);
        const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "switch.js"), ...argv], { cwd: copy.dir, encoding: "utf8", timeout: 60000, env: { ...process.env, PATH: "/nonexistent" } });
        const afterFiles = fs.readdirSync(copy.dir).map((f) => [f, fs.readFileSync(path.join(copy.dir, f), "utf8"), fs.statSync(path.join(copy.dir, f)).mtimeMs]);
        assert.deepEqual(afterFiles, before, "the project directory is unchanged");
        return { status: r.status, stderr: r.stderr, stdout: r.stdout };
    }

    it("an unknown flag: exit 2, the flag and its did-you-mean, and that nothing was changed", () => {
        const r = cli(["--stack", "production", "--to", "green", "--dryrun"]);
        assert.equal(r.status, 2);
        assert.equal(r.stderr, "switch: unknown flag --dryrun; did you mean --dry-run?\n(npm run switch -- --help for the flags; nothing was changed)\n");
    });

    it("a stack with no stack file: exit 2 with the stacks there are", () => {
        const r = cli(["--stack", "prod", "--to", "green"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^switch: --stack prod: no stack file Pulumi\.prod\.yaml in .*; did you mean production\? \(stacks: production\)\n/);
    });

    it("a service the stack does not have: exit 2 with its did-you-mean and the services", () => {
        const r = cli(["--stack", "production", "--to", "green", "--service", "rtpm"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^switch: --service rtpm: no such service in Pulumi\.production\.yaml; did you mean rtpm-api\? \(services: candlefish-website, rtpm-api, nanda-api, otter-gateway\)\n/);
    });

    it("an invalid promotion.bakeSeconds in the stack file: exit 2 naming the key", () => {
        const text = fs.readFileSync(copy.file, "utf8");
        try {
            fs.writeFileSync(copy.file, `${text}  ${PROJECT}:promotion:\n    bakeSecnds: 60\n`);
            const r = cli(["--stack", "production", "--to", "green"]);
            assert.equal(r.status, 2);
            assert.match(r.stderr, /^switch: Pulumi\.production\.yaml: promotion\.bakeSecnds: unknown key; did you mean "bakeSeconds"\?/);
        } finally {
            fs.writeFileSync(copy.file, text);
        }
    });

    it("--help: the usage on stdout, exit 0", () => {
        const r = cli(["--help"]);
        assert.equal(r.status, 0);
        assert.match(r.stdout, /^Usage: npm run switch -- --stack <stack> --to <blue\|green> \[--service <name>\]\.\.\. \[--bake <duration>\] \[--dry-run\]/);
        assert.match(r.stdout, /--keep-on-interrupt/);
    });

    it("no Pulumi CLI to open the stack with: exit 2 before anything changes", () => {
        const r = cli(["--stack", "production", "--to", "green"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /switch: cannot open stack production: /);
    });
});

describe("switch: promotion.bakeSeconds, the default bake", () => {
    it("defaults to 300 s, takes 0-3600, and the program accepts it", async function () {
        this.timeout(120000);
        const read = (v?: string) => {
            const src = new ConfigSource("production", v === undefined ? {} : { promotion: v });
            return { p: readPromotion(src), issues: src.issues.map((i) => `${i.key}: ${i.message}`) };
        };
        assert.equal(read().p.bakeSeconds, 300);
        assert.equal(read('{"bakeSeconds": 0}').p.bakeSeconds, 0);
        assert.equal(read('{"bakeSeconds": 600, "settleSeconds": 10}').p.bakeSeconds, 600);
        assert.match(read('{"bakeSeconds": 3601}').issues.join(), /promotion\.bakeSeconds: .*3600/);
        const r = await renderStack("production", ["promotion.bakeSeconds=120"]);
        assert.ok(r.resources.length > 0);
    });
});

describe("switch: the stack file", () => {
    it("an edit changes only its line: comments, order and secure values stay byte for byte", () => {
        for (const stack of ["production", "staging", "local", "development"]) {
            const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
            const view = parseStackFile(text, PROJECT);
            const other = view.global === "blue" ? "green" : "blue";
            const edited = applyColorEdit(text, PROJECT, { global: other });
            assert.equal(edited, text.replace(`${PROJECT}:activeColor: ${view.global}`, `${PROJECT}:activeColor: ${other}`), stack);
            // There and back is the identity, for an added per-service key too.
            assert.equal(applyColorEdit(edited, PROJECT, { global: view.global }), text);
            const svc = view.services[1];
            const withOverride = applyColorEdit(text, PROJECT, { overrides: { [svc]: other } });
            assert.equal(parseStackFile(withOverride, PROJECT).overrides[svc], other);
            assert.equal(withOverride.split("\n").length, text.split("\n").length + 1, "one line added");
            assert.equal(applyColorEdit(withOverride, PROJECT, { overrides: { [svc]: null } }), text);
        }
    });

    it("refuses what it cannot read: a color that is none, an unknown service", () => {
        assert.throws(() => parseStackFile(`config:\n  ${PROJECT}:activeColor: red\n  ${PROJECT}:services: {a: {}}\n`, PROJECT), /activeColor is "red"; expected blue or green/);
        assert.throws(() => parseStackFile(`config:\n  ${PROJECT}:activeColor: blue\n  ${PROJECT}:services: {a: {activeColor: teal}}\n`, PROJECT), /services\.a\.activeColor is "teal"/);
        assert.throws(() => applyColorEdit(`config:\n  ${PROJECT}:services: {a: {}}\n`, PROJECT, { overrides: { b: "green" } }), /no service b/);
    });

    it("atomic write: a failed rename or a failed write leaves the original and no temp file", () => {
        const c = projectCopy("production");
        try {
            const failRename = failingFs(() => true);
            assert.throws(() => new StackFile(c.dir, "production", failRename).write({ global: "green" }), /EIO/);
            const failWrite = { ...failingFs(() => false), writeSync: () => { throw new Error("ENOSPC: no space left on device"); } };
            assert.throws(() => new StackFile(c.dir, "production", failWrite).write({ global: "green" }), /ENOSPC/);
            assert.equal(fs.readFileSync(c.file, "utf8"), c.original);
            assert.deepEqual(fs.readdirSync(c.dir).sort(), ["Pulumi.production.yaml", "Pulumi.yaml"]);
            // And a write that works: temp file, fsync, rename, same mode.
            fs.chmodSync(c.file, 0o640);
            const calls: string[] = [];
            const spy = failingFs(() => false);
            const traced = { ...spy, fsyncSync: (fd: number) => { calls.push("fsync"); spy.fsyncSync(fd); }, renameSync: (a: string, b: string) => { calls.push(`rename ${path.basename(a)} -> ${path.basename(b)}`); spy.renameSync(a, b); } };
            new StackFile(c.dir, "production", traced).write({ global: "green" });
            assert.deepEqual(calls.map((x) => x.replace(/\.\d+\.\w+\.tmp/, ".<pid>.<t>.tmp")), ["fsync", "rename .Pulumi.production.yaml.<pid>.<t>.tmp -> Pulumi.production.yaml", "fsync"]);
            assert.equal(fs.statSync(c.file).mode & 0o777, 0o640);
            assert.equal(parseStackFile(fs.readFileSync(c.file, "utf8"), PROJECT).global, "green");
        } finally {
            fs.rmSync(c.dir, { recursive: true, force: true });
        }
    });

    it("a writer killed (SIGKILL) mid-write never leaves a half-written file: it is always one whole version", async function () {
        this.timeout(60000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-atomic-"));
        try {
            const file = path.join(dir, "Pulumi.x.yaml");
            // Two versions of 2 MB each: large enough that a write takes a while. The same
            // loop with fs.writeFileSync (truncate, then write) left a half-written file in
            // 6 rounds of 6 on the machine this was written on.
            const version = (c: string) => `config:\n  p:activeColor: ${c}\n# ${c.repeat(2_000_000 / c.length)}\n`;
            const versions = new Set([version("blue"), version("green")]);
            fs.writeFileSync(file, version("blue"));
            const modulePath = path.join(ROOT, "dist", "switch", "stackfile.js");
            const script = `const { writeFileAtomic } = require(${JSON.stringify(modulePath)}); const v = ${version.toString()}; const vs = [v("green"), v("blue")]; for (let i = 0; ; i++) writeFileAtomic(${JSON.stringify(file)}, vs[i % 2]);`;
            for (let round = 0; round < 6; round++) {
                const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
                await new Promise((r) => setTimeout(r, 150 + round * 97));
                child.kill("SIGKILL");
                await new Promise((r) => child.on("exit", r));
                const text = fs.readFileSync(file, "utf8");
                assert.ok(versions.has(text), `round ${round}: the file is neither version (${text.length} bytes)`);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("switch: one definition of the thresholds, shared with the PrometheusRule", () => {
    const rule = (groups: ReturnType<typeof runbookAlertGroups>, alert: string) => groups.flatMap((g) => g.rules).find((r) => r.alert === alert)!;

    it("the bake's queries are the rule's expressions with version=\"<color>\" added to the selector", () => {
        const groups = runbookAlertGroups({ namespace: "production", services: ["rtpm-api"] });
        const q = bakeQueries({ namespace: "production", service: "rtpm-api", color: "green" });
        for (const o of q.objectives) {
            const r = rule(groups, o.objective.alert);
            assert.equal(o.alertExpr, r.expr.split('app=~"rtpm-api"').join('app=~"rtpm-api", version="green"'));
        }
    });

    it("changing a threshold moves the rendered PrometheusRule and the bake together", async function () {
        this.timeout(120000);
        const saved = { ...THRESHOLDS };
        const t = THRESHOLDS as { -readonly [K in keyof typeof THRESHOLDS]: number };
        try {
            t.errorRatio = 0.1;
            t.latencyP95Seconds = 1.5;
            // The rule as the program renders it.
            const r = await renderStack("production");
            const rules = inputs(find(r, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-candlefish-runbook-alerts")).spec.groups.flatMap((g: any) => g.rules);
            const byName = (a: string) => rules.find((x: any) => x.alert === a);
            assert.match(byName("HighErrorRate").expr, /\n> 0\.1$/);
            assert.match(byName("HighErrorRate").annotations.summary, /\(threshold 10%\)/);
            assert.match(byName("HighLatencyP95").expr, /\n> 1\.5$/);
            assert.match(byName("HighLatencyP95").annotations.summary, /\(threshold 1\.5s\)/);
            // The bake.
            const q = bakeQueries({ namespace: "production", service: "rtpm-api", color: "green" });
            assert.match(q.objectives[0].alertExpr, /\n> 0\.1$/);
            assert.match(q.objectives[1].alertExpr, /\n> 1\.5$/);
            const at = (err: number, p95: number) => breaches(q, reading(q, [{ labels: {}, value: 10 }], [[{ labels: {}, value: err }], [{ labels: {}, value: p95 }]], 2), 2).map((b) => `${b.what} ${b.value} ${b.threshold}`);
            assert.deepEqual(at(0.08, 1.4), [], "8% is under the new 10%");
            assert.deepEqual(at(0.11, 1.6), ["error ratio (HighErrorRate) 11% > 10%", "P95 latency (HighLatencyP95) 1.6s > 1.5s"]);
        } finally {
            Object.assign(t, saved);
        }
        // Back to the runbook's numbers.
        const q = bakeQueries({ namespace: "production", service: "rtpm-api", color: "green" });
        assert.match(q.objectives[0].alertExpr, /\n> 0\.05$/);
        assert.match(q.objectives[1].alertExpr, /\n> 2$/);
    });
});

describe("switch: the cluster's Prometheus, EndpointSlices, Services and Grafana through a fake API server on loopback", () => {
    let server: http.Server;
    let url = "";
    const seen: { method: string; path: string; auth?: string; cookie?: string; body: string }[] = [];
    let grafanaAnnotations: any[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                const u = new URL(req.url ?? "/", "http://x");
                seen.push({ method: req.method ?? "", path: u.pathname + u.search, auth: req.headers.authorization, cookie: req.headers.cookie, body });
                const json = (code: number, v: unknown, headers: Record<string, string | string[]> = {}) => res.writeHead(code, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(v));
                if (req.headers.authorization !== "Bearer kube-token") return json(401, { kind: "Status", message: "Unauthorized" });
                const prom = serviceProxyPath("monitoring", "prometheus", 9090);
                const graf = serviceProxyPath("monitoring", "grafana", 3000);
                if (u.pathname === `${prom}/api/v1/query`) {
                    const q = u.searchParams.get("query");
                    if (q === "bad(") return json(400, { status: "error", errorType: "bad_data", error: "parse error" });
                    if (q === "scalar(1)") return json(200, { status: "success", data: { resultType: "scalar", result: [1, "1"] } });
                    return json(200, { status: "success", data: { resultType: "vector", result: [{ metric: { app: "rtpm-api" }, value: [1, "0.25"] }, { metric: { app: "x" }, value: [1, "NaN"] }] } });
                }
                if (u.pathname === "/apis/discovery.k8s.io/v1/namespaces/production/endpointslices") {
                    assert.equal(u.searchParams.get("labelSelector"), "kubernetes.io/service-name=rtpm-api-service");
                    return json(200, {
                        items: [
                            { endpoints: [{ targetRef: { kind: "Pod", name: "rtpm-api-green-7d9-a" }, conditions: { ready: true } }, { targetRef: { kind: "Pod", name: "rtpm-api-green-7d9-b" }, conditions: {} }] },
                            { endpoints: [{ targetRef: { kind: "Pod", name: "rtpm-api-green-7d9-a" }, conditions: { ready: true } }, { targetRef: { kind: "Pod", name: "rtpm-api-green-7d9-c" }, conditions: { ready: false } }] },
                        ],
                    });
                }
                if (u.pathname === "/api/v1/namespaces/production/services/rtpm-api-service") return json(200, { spec: { selector: { app: "rtpm-api", version: "green" } } });
                if (u.pathname === `${graf}/login` && req.method === "POST") {
                    const b = JSON.parse(body);
                    if (b.user !== "admin" || b.password !== "grafana-pw") return json(401, { message: "invalid username or password" });
                    return json(200, { message: "Logged in" }, { "Set-Cookie": ["grafana_session=abc123; Path=/; HttpOnly", "other=1; Path=/"] });
                }
                if (u.pathname === `${graf}/api/annotations` && req.method === "POST") {
                    if (req.headers.cookie !== "grafana_session=abc123") return json(401, { message: "Unauthorized" });
                    grafanaAnnotations.push(JSON.parse(body));
                    return json(200, { message: "Annotation added", id: 1 });
                }
                return json(404, { kind: "Status", code: 404 });
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    const target = () => ({ server: url, token: "kube-token" });

    it("the service proxy paths address what components/monitoring.ts deploys (checked against the render)", async function () {
        this.timeout(120000);
        assert.equal(MONITORING.namespace, MONITORING_NAMESPACE);
        const r = await renderStack("production");
        const svc = inputs(find(r, "kubernetes:core/v1:Service", "monitoring-prometheus"));
        assert.deepEqual([svc.metadata.name, svc.metadata.namespace, svc.spec.ports[0].port], [MONITORING.prometheus.service, MONITORING.namespace, MONITORING.prometheus.port]);
        const grafana = inputs(find(r, "kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack")).values.grafana;
        assert.deepEqual([grafana.fullnameOverride, grafana.service.port], [MONITORING.grafana.service, MONITORING.grafana.port]);
        assert.equal(serviceProxyPath("monitoring", "prometheus", 9090), "/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy");
    });

    it("Prometheus through the proxy: the query path, the stack's bearer token, vector and scalar results, errors", async () => {
        const p = Prometheus.viaProxy(target);
        const samples = await p.query('sum(rate(x{version="green"}[5m]))');
        assert.deepEqual(samples.map((s) => [s.labels.app, s.value]), [["rtpm-api", 0.25], ["x", NaN]]);
        const last = seen.at(-1)!;
        assert.equal(last.path, `/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/api/v1/query?query=${encodeURIComponent('sum(rate(x{version="green"}[5m]))')}`);
        assert.equal(last.auth, "Bearer kube-token");
        assert.deepEqual(await p.query("scalar(1)"), [{ labels: {}, value: 1 }]);
        await assert.rejects(p.query("bad("), /HTTP 400 .*parse error/);
        await assert.rejects(Prometheus.viaProxy(() => ({ server: url, token: "wrong" })).query("up"), /HTTP 401/);
        await assert.rejects(Prometheus.at(`${url}/nowhere`).query("up"), /HTTP 401/);
    });

    it("EndpointSlices: ready (or unset) endpoints of the color's pods, each pod once; the live Service's color", async () => {
        const c = new KubeCluster(target, "production");
        assert.equal(await c.readyEndpoints("rtpm-api", "green"), 2);
        assert.equal(await c.readyEndpoints("rtpm-api", "blue"), 0);
        assert.equal(await c.liveColor("rtpm-api"), "green");
        assert.equal(await c.liveColor("nanda-api"), undefined, "no such Service (404)");
        assert.equal(countReady([{ endpoints: [{ targetRef: { kind: "Pod", name: "a-blue-1" } }, { targetRef: { kind: "Node", name: "a-blue-2" } }] }], "a-blue-"), 1);
    });

    it("Grafana through the proxy: logs in with the admin password, then annotates with the session cookie", async () => {
        grafanaAnnotations = [];
        const annotate = grafanaAnnotator(grafanaSender({ target }), "grafana-pw");
        await annotate("switch production: rtpm-api blue -> green", ["switch", "production", "green"]);
        await annotate("rollback production", ["switch", "rollback"]);
        assert.deepEqual(grafanaAnnotations.map((a) => [a.text, a.tags]), [
            ["switch production: rtpm-api blue -> green", ["switch", "production", "green"]],
            ["rollback production", ["switch", "rollback"]],
        ]);
        assert.equal(typeof grafanaAnnotations[0].time, "number");
        assert.equal(seen.filter((s) => s.path.endsWith("/login")).length, 1, "one login, the cookie reused");
        await assert.rejects(grafanaAnnotator(grafanaSender({ target }), "wrong")("x", []), /Grafana login: HTTP 401/);
    });
});

describe("switch: the Automation API workspace runs a fake pulumi the way it runs the real one", function () {
    this.timeout(60000);
    let dir: string;
    let bin: string;
    let record: string;
    // Captured when the hooks run, after mocha's global set-up has put the testbed's tools on PATH
    // (a value captured at load time would take them off PATH again for the tests after these).
    let savedPath: string | undefined;
    before(() => {
        dir = projectCopy("production").dir;
        fs.mkdirSync(path.join(dir, "policies"));
        fs.writeFileSync(path.join(dir, "policies", "PulumiPolicy.yaml"), "runtime: nodejs\n");
        bin = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-fake-pulumi-"));
        record = path.join(bin, "record.jsonl");
        // Answers what the Automation API asks (version, stack select, outputs, history); `up`
        // records its argv and process group, prints two lines, and on SIGINT says so and fails.
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!/bin/sh
case "$1" in
  version) echo v3.248.0 ;;
  stack)
    case "$2" in
      output) echo '{}' ;;
      history) echo '[]' ;;
      *) : ;;
    esac ;;
  up)
    pgid=$(cut -d' ' -f5 /proc/$$/stat)
    node -e 'process.stdout.write(JSON.stringify({argv: process.argv.slice(1), pgid: Number(process.argv[1])}) + "\\n")' "$pgid" "$@" >> "${record}"
    trap 'echo "^C received; cancelling"; exit 255' INT
    echo "Updating (production):"
    echo "warning: on stderr" >&2
    if [ -n "$FAKE_UP_WAIT" ]; then i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi
    echo "Resources: 4 updated" ;;
esac
`,
            { mode: 0o755 },
        );
        savedPath = process.env.PATH;
        process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
    });
    after(() => {
        process.env.PATH = savedPath;
        delete process.env.FAKE_UP_WAIT;
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(bin, { recursive: true, force: true });
        // The failed up's output, which the switch keeps for people to read.
        for (const f of fs.existsSync(LOG_DIR) ? fs.readdirSync(LOG_DIR) : []) if (f.startsWith(`${process.pid}-`)) fs.rmSync(path.join(LOG_DIR, f));
    });

    it("pulumi up with the message and the policy pack, in its own process group, its output as lines", async () => {
        const ws = await AutomationWorkspace.open(dir, "production", new StackFile(dir, "production"), () => undefined);
        const lines: string[] = [];
        await ws.up({ message: "switch rtpm-api to green: because", onOutput: (l) => lines.push(l), signal: new AbortController().signal });
        const rec = JSON.parse(fs.readFileSync(record, "utf8").trim().split("\n").pop()!);
        const argv: string[] = rec.argv.slice(1);
        assert.equal(argv[0], "up");
        assert.deepEqual(argv.slice(argv.indexOf("--message"), argv.indexOf("--message") + 2), ["--message", "switch rtpm-api to green: because"]);
        assert.deepEqual(argv.slice(argv.indexOf("--policy-pack"), argv.indexOf("--policy-pack") + 2), ["--policy-pack", path.join(dir, "policies")]);
        for (const f of ["--yes", "--skip-preview", "--non-interactive"]) assert.ok(argv.includes(f), f);
        assert.deepEqual(argv.slice(argv.indexOf("--stack"), argv.indexOf("--stack") + 2), ["--stack", "production"]);
        const ownGroup = Number(fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[2]);
        assert.notEqual(rec.pgid, ownGroup, "a terminal's Ctrl-C (sent to the switch's process group) does not reach pulumi");
        assert.deepEqual(lines.sort(), ["Resources: 4 updated", "Updating (production):", "warning: on stderr"]);
    });

    it("an aborted up (the second Ctrl-C) sends pulumi SIGINT; its failure is an error with its output", async () => {
        process.env.FAKE_UP_WAIT = "1";
        const ws = await AutomationWorkspace.open(dir, "production", new StackFile(dir, "production"), () => undefined);
        const abort = new AbortController();
        const lines: string[] = [];
        const up = ws.up({ message: "m", onOutput: (l) => { lines.push(l); if (/Updating/.test(l)) abort.abort(); }, signal: abort.signal });
        await assert.rejects(up, /\^C received; cancelling/);
        assert.ok(lines.includes("^C received; cancelling"));
        // The failed up's output is kept for people to read.
        const kept = fs.readdirSync(LOG_DIR).filter((f) => f.startsWith(`${process.pid}-`) && /-up\.out\.log$/.test(f));
        assert.ok(kept.some((f) => /\^C received; cancelling/.test(fs.readFileSync(path.join(LOG_DIR, f), "utf8"))), `kept: ${kept.join(", ")}`);
    });
});

describe("switch: credentials and signals", () => {
    it("the kubeconfig's exec plugin runs once, and again once the target is older than its maximum age (token expiry)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-exec-"));
        try {
            const count = path.join(dir, "runs");
            const plugin = path.join(dir, "get-token");
            fs.writeFileSync(plugin, `#!/bin/sh\necho run >> "${count}"\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"tok-'$(wc -l < "${count}")'"}}'\n`, { mode: 0o755 });
            const kubeconfig = JSON.stringify({
                "current-context": "c",
                contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
                clusters: [{ name: "k", cluster: { server: "https://127.0.0.1:1" } }],
                users: [{ name: "u", user: { exec: { command: plugin, args: [] } } }],
            });
            const target = refreshingTarget(kubeconfig, undefined, 300);
            assert.equal(target().token, "tok-1");
            assert.equal(target().token, "tok-1");
            await new Promise((r) => setTimeout(r, 400));
            assert.equal(target().token, "tok-2");
            assert.equal(fs.readFileSync(count, "utf8").trim().split("\n").length, 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("SIGINT and SIGTERM both reach the switch's interrupt handler until it unsubscribes", () => {
        // Other listeners (a reporter's) are set aside so the emitted signals reach only the switch's.
        const others = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(sig);
        try {
            let n = 0;
            const off = processInterrupts.subscribe(() => n++);
            process.emit("SIGINT");
            process.emit("SIGTERM");
            assert.equal(n, 2);
            off();
            assert.equal(process.listenerCount("SIGINT") + process.listenerCount("SIGTERM"), 0);
        } finally {
            for (const sig of ["SIGINT", "SIGTERM"] as const) for (const l of others[sig]) process.on(sig, l as () => void);
        }
    });
});
