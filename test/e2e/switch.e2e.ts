// npm run switch end to end on the testbed (issue 15 "How it is checked"): the
// real CLI (scripts/switch.js, the Automation API, the testbed's Pulumi CLI and
// Kubernetes provider) against a testbed of its own, with a fake Prometheus on
// loopback given by --prometheus-url (the local platform deploys no
// Prometheus). The local stack runs in a copy of the project
// (test/e2e/stack.ts); what the Services select is read from the API server
// by test/e2e/kube.ts, not by the code under test.
//
//   1. first pulumi up of the local stack (blue live)
//   2. switch to green, healthy bake           -> exit 0, green live, file green
//   3. switch to blue, blue's error ratio 20%  -> exit 1, rolled back, green live, file green
//   4. switch to blue, Ctrl-C during the bake  -> exit 130, rolled back, green live, file green
//   5. --dry-run to blue                        -> exit 0, nothing changed
//
// node dist/test/e2e/switch.e2e.js [--keep-workdir]   (exit 0 when every step passed)
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FakeClock, FakePrometheus, Script, healthy } from "../switch-fakes";
import { Kube } from "./kube";
import { LocalProject, STACK, pulumiOnPath } from "./stack";

interface TestbedModule {
    withTestbed<T>(fn: (env: Record<string, string>, info: { dataDir: string; reused: boolean }) => Promise<T>): Promise<T>;
    LOCAL_PASSPHRASE: string;
}

const T0 = Date.now();
const stamp = () => `${Math.round((Date.now() - T0) / 1000)}s`;
const log = (msg: string) => process.stderr.write(`[switch-e2e ${stamp()}] ${msg}\n`);

function projectRoot(dir: string): string {
    for (let d = dir; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml")) && fs.existsSync(path.join(d, "scripts", "switch.js"))) return d;
        if (path.dirname(d) === d) throw new Error(`no project root above ${dir}`);
    }
}

interface SwitchRun {
    code: number | null;
    seconds: number;
    stdout: string;
    stderr: string;
    /** stderr lines with the seconds since the start of the run. */
    lines: { t: number; text: string }[];
}

/** Runs the switch CLI in the project copy, as `npm run switch -- ...` would, logging its output with timestamps. */
function runSwitch(root: string, project: LocalProject, args: string[], onLine?: (text: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<SwitchRun> {
    const t0 = Date.now();
    const logFile = path.join(project.logDir, `switch-${args.filter((a) => !a.startsWith("http")).join("_").replace(/[^A-Za-z0-9_.-]+/g, "")}-${t0}.log`);
    log(`$ npm run switch -- ${args.join(" ")}   (log: ${logFile})`);
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(root, "scripts", "switch.js"), ...args], { cwd: project.dir, env: project.env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let rest = "";
        const lines: { t: number; text: string }[] = [];
        const kill = (sig: NodeJS.Signals) => child.kill(sig);
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => {
            stderr += d;
            const parts = (rest + d).split("\n");
            rest = parts.pop() ?? "";
            for (const text of parts) {
                const t = (Date.now() - t0) / 1000;
                lines.push({ t, text });
                fs.appendFileSync(logFile, `[${t.toFixed(1)}s] ${text}\n`);
                onLine?.(text, kill);
            }
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 20 * 60_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            fs.appendFileSync(logFile, `[exit ${code}] stdout: ${stdout}`);
            resolve({ code, seconds: (Date.now() - t0) / 1000, stdout, stderr, lines });
        });
    });
}

async function main(): Promise<number> {
    const keep = process.argv.includes("--keep-workdir");
    const root = projectRoot(__dirname);
    if (!fs.existsSync(path.join(root, `Pulumi.${STACK}.yaml`))) {
        log(`Pulumi.${STACK}.yaml is missing; nothing to run`);
        return 1;
    }
    if (!process.env.TESTBED_DIR) process.env.TESTBED_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-switch-e2e-testbed-"));
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-switch-e2e-"));
    const testbed = require(path.join(root, "testbed", "lib", "cluster.js")) as TestbedModule;
    const failures: string[] = [];
    const results: { step: string; pass: boolean; seconds: number; note: string }[] = [];
    const check = (step: string, ok: boolean, what: string) => {
        if (!ok) failures.push(`${step}: ${what}`);
        return ok;
    };
    let project: LocalProject | undefined;
    log(`starting a testbed of its own in ${process.env.TESTBED_DIR} (tools built if missing)`);
    await testbed.withTestbed(async (env) => {
        if (!pulumiOnPath(env)) throw new Error("the testbed's env has no pulumi on PATH");
        project = await LocalProject.create(root, workDir, { ...process.env, ...env, PULUMI_CONFIG_PASSPHRASE: testbed.LOCAL_PASSPHRASE });
        const cfg = project.stackConfig();
        const namespace: string = cfg.namespace || STACK;
        const services = Object.keys(cfg.services ?? {});
        const kube = new Kube(env.KUBECONFIG);
        const selectors = async () => {
            const out: Record<string, string | undefined> = {};
            for (const s of services) out[s] = (await kube.get(`/api/v1/namespaces/${namespace}/services/${s}-service`))?.spec?.selector?.version;
            return out;
        };
        const allOn = (sel: Record<string, string | undefined>, c: string) => services.every((s) => sel[s] === c);
        const fileColor = () => project!.stackConfig().activeColor;
        const clock = { now: () => Date.now() - T0 } as unknown as FakeClock;
        let script: Script = healthy;
        const prom = await new FakePrometheus(clock, (q) => script(q)).start();
        log(`fake Prometheus on ${prom.url}`);
        try {
            // 1. The stack, deployed: a short gate so a run takes seconds, not minutes.
            await project.configSet({
                "promotion.timeoutSeconds": 60,
                "promotion.settleSeconds": 10,
                ...Object.fromEntries(services.map((s) => [`services.${s}.drain.minReadySeconds`, 0])),
            });
            log("first pulumi up of the local stack …");
            const first = await project.up();
            results.push({ step: "first up", pass: first.code === 0, seconds: first.seconds, note: `exit ${first.code}` });
            if (!check("first up", first.code === 0, `exit ${first.code}:\n${first.output.split("\n").slice(-25).join("\n")}`)) return;
            const start = await selectors();
            check("first up", allOn(start, "blue"), `live selectors ${JSON.stringify(start)}`);
            const fileBefore = () => fs.readFileSync(path.join(project!.dir, `Pulumi.${STACK}.yaml`), "utf8");

            // 2. A healthy switch.
            script = healthy;
            let q0 = prom.queries.length;
            const a = await runSwitch(root, project, ["--stack", STACK, "--to", "green", "--bake", "20s", "--prometheus-url", prom.url, "--message", "e2e healthy"]);
            const selA = await selectors();
            const bakeLinesA = a.lines.filter((l) => / bake green /.test(l.text));
            const okA =
                check("healthy switch", a.code === 0, `exit ${a.code}; stderr ends:\n${a.stderr.split("\n").slice(-20).join("\n")}`) &&
                check("healthy switch", fileColor() === "green", `the stack file says ${fileColor()}`) &&
                check("healthy switch", allOn(selA, "green"), `live selectors ${JSON.stringify(selA)}`) &&
                check("healthy switch", /^switch local: .* blue -> green; set \S+, up \S+, bake 20s; green is live and the stack file says so\n$/.test(a.stdout), `summary: ${a.stdout}`) &&
                check("healthy switch", bakeLinesA.length >= 4 && /endpoints 2\/2/.test(bakeLinesA[0].text), `bake lines: ${bakeLinesA.map((l) => l.text).join(" | ")}`) &&
                check("healthy switch", prom.queries.slice(q0).filter((q) => q.query !== "vector(1)").every((q) => q.query.includes('version="green"')), "a bake query without version=\"green\"");
            const gapsA = bakeLinesA.slice(1).map((l, i) => l.t - bakeLinesA[i].t);
            results.push({ step: "switch to green, healthy bake", pass: okA, seconds: a.seconds, note: `${a.stdout.trim()} (bake lines every ${gapsA.length ? Math.max(...gapsA).toFixed(1) : "?"} s at most)` });

            // 3. A breach: blue's error ratio is 20%.
            script = (q) => (q.kind === "errors" && q.version === "blue" ? 0.2 : healthy(q));
            const b = await runSwitch(root, project, ["--stack", STACK, "--to", "blue", "--bake", "30s", "--prometheus-url", prom.url]);
            const selB = await selectors();
            const okB =
                check("breach", b.code === 1, `exit ${b.code}; stderr ends:\n${b.stderr.split("\n").slice(-20).join("\n")}`) &&
                check("breach", fileColor() === "green", `the stack file says ${fileColor()}`) &&
                check("breach", allOn(selB, "green"), `live selectors ${JSON.stringify(selB)}`) &&
                check("breach", /BREACH .*: error ratio \(HighErrorRate\) is 20%, threshold > 5%/.test(b.stderr), "no BREACH line with value and threshold") &&
                check("breach", /query: sum by \(namespace, app\) \(rate\(http_requests_total\{namespace="candlefish-local", app=~"[a-z-]+", version="blue", code=~"5\.\."\}\[5m\]\)\)/.test(b.stderr), "the breach does not print its query") &&
                check("breach", /ROLLED BACK .*; set \S+, up \S+, bake \S+, set back \S+, up \(rollback\) \S+; green is live/.test(b.stdout), `summary: ${b.stdout}`);
            results.push({ step: "switch to blue, error ratio 20% -> rollback", pass: okB, seconds: b.seconds, note: b.stdout.trim() });

            // 4. Ctrl-C during the bake rolls back.
            script = healthy;
            const beforeC = fileBefore();
            let sent = false;
            const c = await runSwitch(root, project, ["--stack", STACK, "--to", "blue", "--bake", "5m", "--prometheus-url", prom.url], (text, kill) => {
                if (!sent && / bake blue 1\d?s\//.test(text)) {
                    sent = true;
                    log("  sending SIGINT to the switch during its bake");
                    kill("SIGINT");
                }
            });
            const selC = await selectors();
            const okC =
                check("interrupt", sent, "never saw the bake to interrupt it") &&
                check("interrupt", c.code === 130, `exit ${c.code}; stderr ends:\n${c.stderr.split("\n").slice(-20).join("\n")}`) &&
                check("interrupt", fileBefore() === beforeC, "the stack file is not byte for byte what it was") &&
                check("interrupt", allOn(selC, "green"), `live selectors ${JSON.stringify(selC)}`) &&
                check("interrupt", /interrupt: rolling back\. Press Ctrl-C again to exit at once\./.test(c.stderr), "no interrupt line");
            results.push({ step: "switch to blue, Ctrl-C in the bake -> rollback", pass: okC, seconds: c.seconds, note: c.stdout.trim() });

            // 5. --dry-run changes nothing.
            q0 = prom.queries.length;
            const beforeD = fileBefore();
            const d = await runSwitch(root, project, ["--stack", STACK, "--to", "blue", "--dry-run", "--prometheus-url", prom.url]);
            const okD =
                check("dry run", d.code === 0, `exit ${d.code}: ${d.stderr.split("\n").slice(-10).join("\n")}`) &&
                check("dry run", fileBefore() === beforeD, "the stack file changed") &&
                check("dry run", allOn(await selectors(), "green"), "a selector moved") &&
                check("dry run", prom.queries.slice(q0).every((q) => q.query === "vector(1)"), "the dry run polled");
            results.push({ step: "--dry-run to blue", pass: okD, seconds: d.seconds, note: d.stdout.trim() });
        } finally {
            await prom.stop();
            kube.close();
        }
    });

    // Nothing the switch started is left: no process runs in the copy.
    const leftovers = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
            try {
                return fs.readlinkSync(`/proc/${p}/cwd`) === project?.dir;
            } catch {
                return false;
            }
        });
    check("cleanup", leftovers.length === 0, `processes still running in the project copy: ${leftovers.join(", ")}`);
    for (const r of results) process.stdout.write(`${r.pass ? "pass" : "FAIL"}  ${r.step}  (${r.seconds.toFixed(1)} s)  ${r.note}\n`);
    for (const f of failures) process.stdout.write(`  ✗ ${f}\n`);
    process.stdout.write(`machine: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}; total ${stamp()}; logs in ${project?.logDir}\n`);
    const ok = failures.length === 0 && results.length === 5;
    if (ok && !keep) fs.rmSync(workDir, { recursive: true, force: true });
    return ok ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`switch-e2e: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
