// npm run e2e: the local stack under the real Pulumi engine against the
// testbed's Kubernetes API server (issue 11's scenarios, with issue 16's checks).
//
//   1. builds what it needs (testbed/tools.js via the testbed's up(): the Pulumi
//      CLI, our language host, the Kubernetes provider and the control plane);
//   2. starts a testbed of its own (TESTBED_DIR: a fresh temp dir unless set),
//      through withTestbed, so it is stopped at the end whatever happened;
//   3. copies the project into a temp dir and runs the scenarios in order,
//      each `pulumi up` watched by a poller (test/e2e/timeline.ts);
//   4. prints a summary table and writes test/e2e/results.json (not committed);
//   5. checks that no process it started and no port the testbed listened on
//      is left.
//
// node dist/test/e2e/run.js [--only 1,2,3] [--keep-workdir]
// Exit 0 when every scenario passed, 1 otherwise, 2 on a bad invocation.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Kube } from "./kube";
import { Ctx, FAIL_MARGIN_SECONDS, GATE, SCENARIOS, ScenarioRecord } from "./scenarios";
import { LocalProject, PROJECT, STACK, pulumiOnPath } from "./stack";
import { Color } from "./timeline";

interface TestbedModule {
    withTestbed<T>(fn: (env: Record<string, string>, info: { dataDir: string; reused: boolean }) => Promise<T>, opts?: { stopReused?: boolean }): Promise<T>;
    LOCAL_PASSPHRASE: string;
}

const T0 = Date.now();
const elapsed = (t0 = T0) => {
    const s = Math.round((Date.now() - t0) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};
const log = (msg: string) => process.stderr.write(`[e2e ${elapsed()}] ${msg}\n`);

function projectRoot(dir: string): string {
    for (let d = dir; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml")) && fs.existsSync(path.join(d, "testbed", "lib", "cluster.js"))) return d;
        if (path.dirname(d) === d) throw new Error(`no project root (Pulumi.yaml, testbed/lib/cluster.js) above ${dir}`);
    }
}

/** Ports in LISTEN state on this machine (IPv4 and IPv6). */
function listeningPorts(): Set<number> {
    const out = new Set<number>();
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        let text = "";
        try {
            text = fs.readFileSync(f, "utf8");
        } catch {
            continue;
        }
        for (const line of text.split("\n").slice(1)) {
            const cols = line.trim().split(/\s+/);
            if (cols.length > 3 && cols[3] === "0A") out.add(parseInt(cols[1].split(":").pop()!, 16));
        }
    }
    return out;
}

function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/\)\s+Z\s/.test(stat);
    } catch {
        return false;
    }
}

function parseArgs(argv: string[]): { only?: number[]; keepWorkdir: boolean } {
    const out: { only?: number[]; keepWorkdir: boolean } = { keepWorkdir: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--only") {
            out.only = (argv[++i] ?? "").split(",").map(Number);
            if (!out.only.length || out.only.some((n) => !Number.isInteger(n) || n < 1 || n > SCENARIOS.length)) throw new Error(`--only takes scenario numbers 1-${SCENARIOS.length}, comma-separated`);
        } else if (a === "--keep-workdir") out.keepWorkdir = true;
        else throw new Error(`unknown argument ${a} (usage: --only 1,2,3 --keep-workdir)`);
    }
    return out;
}

function table(rows: string[][]): string {
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
    return [line(rows[0]), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

const fmt = (x: number | string | undefined, unit = " s") => (x === undefined ? "-" : typeof x === "number" ? `${x}${unit}` : x);

/** The figure that matters most for each scenario, for the summary table. */
function keyFigure(r: ScenarioRecord): string {
    const f = r.figures;
    switch (r.n) {
        case 1: return `first up ${fmt(f.firstUp)}`;
        case 2: return `deploy ${fmt(f.deploy)}; migration complete ${fmt(f.migrationComplete)}, rtpm-api rolled ${fmt(f.rtpmGenerationChange)}`;
        case 3: return `flip: last endpoint change ${fmt(f.toLastEndpointChange)} (up ${fmt(f.upSeconds)})`;
        case 4: return `rollback: last endpoint change ${fmt(f.toLastEndpointChange)} (up ${fmt(f.upSeconds)})`;
        case 5: return `failed flip: one ${fmt(f.failedFlipOne)}, four ${fmt(f.failedFlipFour)} (gate ${fmt(f.failedFlipFourGateWait)})`;
        case 6: return `killed at ${fmt(f.killedAt)}; next up ${fmt(f.convergeUp)}`;
        case 7: return `up failed after ${fmt(f.failedMigrationUp)} (Job Failed at ${fmt(f.jobFailedAt)})`;
        case 8: return `refused flip ${fmt(f.refusedFlip)} (gate ${fmt(f.refusedFlipGateWait)})`;
        default: return "";
    }
}

async function main(): Promise<number> {
    let args: ReturnType<typeof parseArgs>;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`e2e: ${(e as Error).message}\n`);
        return 2;
    }
    const root = projectRoot(__dirname);
    const stackFile = path.join(root, `Pulumi.${STACK}.yaml`);
    if (!fs.existsSync(stackFile)) {
        log(`Pulumi.${STACK}.yaml is missing: the e2e deploys the local stack (issue 11); nothing was started`);
        return 1;
    }
    // A testbed of its own: a developer's running testbed is neither reused nor stopped.
    if (!process.env.TESTBED_DIR) process.env.TESTBED_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-e2e-testbed-"));
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-e2e-"));
    const testbed = require(path.join(root, "testbed", "lib", "cluster.js")) as TestbedModule;
    const portsBefore = listeningPorts();
    const records: ScenarioRecord[] = [];
    const wanted = SCENARIOS.map((_, i) => i + 1).filter((n) => !args.only || args.only.includes(n));
    let project: LocalProject | undefined;
    let ctx: Ctx | undefined;
    let testbedPorts: number[] = [];
    let testbedPids: number[] = [];
    let interrupted = false;
    const onSignal = (sig: string) => {
        if (interrupted) return;
        interrupted = true;
        log(`${sig}: stopping the scenario in progress, then the testbed`);
        if (ctx) ctx.aborted = true;
        project?.abort();
    };
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));

    log(`building what is missing and starting a testbed in ${process.env.TESTBED_DIR} (a cold machine builds the tools from Go modules: minutes)`);
    let fatal: Error | undefined;
    try {
        await testbed.withTestbed(async (env, info) => {
            log(`testbed ready${info.reused ? " (already running)" : ""} in ${info.dataDir}`);
            try {
                const state = JSON.parse(fs.readFileSync(path.join(info.dataDir, "state.json"), "utf8"));
                testbedPorts = Object.values(state.ports ?? {}) as number[];
                testbedPids = Object.values(state.processes ?? {}).map((p: any) => p.pid);
            } catch {
                // reported below as unknown
            }
            if (!pulumiOnPath(env)) throw new Error("the testbed's env has no pulumi on PATH");
            log(`copying the project (index.ts, its directories, Pulumi.yaml, Pulumi.${STACK}.yaml) into ${workDir}/project; file backend in ${workDir}/backend`);
            project = await LocalProject.create(root, workDir, { ...process.env, ...env, PULUMI_CONFIG_PASSPHRASE: testbed.LOCAL_PASSPHRASE });
            const cfg = project.stackConfig();
            const namespace: string = cfg.namespace || STACK;
            const services = Object.keys(cfg.services ?? {});
            if (!services.length) throw new Error(`Pulumi.${STACK}.yaml has no services`);
            const kube = new Kube(env.KUBECONFIG);
            ctx = { project, kube, namespace, services, live: (cfg.activeColor as Color) || "blue", tags: {}, log, aborted: interrupted };
            log(`stack ${PROJECT}/${STACK}: namespace ${namespace}, services ${services.join(", ")}, live ${ctx.live}; gate timeout ${GATE.timeoutSeconds} s, settle ${GATE.settleSeconds} s in the copy`);
            try {
                for (let i = 0; i < SCENARIOS.length; i++) {
                    const n = i + 1;
                    if (!wanted.includes(n)) continue;
                    if (ctx.aborted) break;
                    const sc = SCENARIOS[i];
                    const name = sc.name(ctx);
                    const rec: ScenarioRecord = { n, name, pass: false, seconds: 0, failures: [], notes: [], figures: {}, ups: [] };
                    records.push(rec);
                    const t0 = Date.now();
                    log(`scenario ${n}/${SCENARIOS.length}: ${name} …`);
                    try {
                        await sc.run(ctx, rec);
                    } catch (e) {
                        rec.failures.push(`threw: ${(e as Error).stack ?? e}`);
                    }
                    rec.seconds = Math.round((Date.now() - t0) / 100) / 10;
                    rec.pass = rec.failures.length === 0;
                    log(`scenario ${n}/${SCENARIOS.length}: ${name} … ${Math.round(rec.seconds)} s ${rec.pass ? "PASS" : "FAIL"}`);
                    for (const f of rec.failures) log(`  ✗ ${f}`);
                    for (const note of rec.notes) log(`  · ${note}`);
                }
            } finally {
                kube.close();
            }
        });
    } catch (e) {
        fatal = e as Error;
        log(`stopped: ${fatal.stack ?? fatal.message}`);
    }

    // Nothing left behind: the CLI runs' process groups, the testbed's processes and ports.
    const leftovers: string[] = [];
    const survivors = project?.survivors() ?? [];
    if (survivors.length) {
        const still = project!.survivors(true);
        leftovers.push(`processes of pulumi runs still alive: ${survivors.join(", ")} (killed now${still.length ? `; still alive: ${still.join(", ")}` : ""})`);
    }
    const deadPids = testbedPids.filter(alive);
    if (deadPids.length) leftovers.push(`testbed processes still alive: ${deadPids.join(", ")}`);
    const portsAfter = listeningPorts();
    const stillListening = testbedPorts.filter((p) => portsAfter.has(p) && !portsBefore.has(p));
    if (stillListening.length) leftovers.push(`testbed ports still listening: ${stillListening.join(", ")}`);
    if (fs.existsSync(process.env.TESTBED_DIR!)) leftovers.push(`testbed data directory still there: ${process.env.TESTBED_DIR}`);
    log(leftovers.length ? `LEFT BEHIND: ${leftovers.join("; ")}` : `nothing left behind: no pulumi process, testbed stopped (${testbedPids.length} processes, ports ${testbedPorts.join(", ") || "?"} closed), its data removed`);

    const machine = { node: process.version, cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) };
    const results = {
        startedAt: new Date(T0).toISOString(),
        seconds: Math.round((Date.now() - T0) / 1000),
        machine,
        gate: { ...GATE, failMarginSeconds: FAIL_MARGIN_SECONDS },
        logs: path.join(workDir, "logs"),
        fatal: fatal?.message,
        leftovers,
        scenarios: records,
    };
    const resultsFile = path.join(root, "test", "e2e", "results.json");
    fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2) + "\n");

    const rows = [["#", "scenario", "result", "wall", "figures (seconds from the start of its pulumi up)"]];
    for (const r of records) rows.push([String(r.n), r.name.length > 70 ? r.name.slice(0, 67) + "..." : r.name, r.pass ? "pass" : "FAIL", `${Math.round(r.seconds)} s`, keyFigure(r)]);
    process.stdout.write(`\nE2E on the testbed: node ${machine.node}, ${machine.cpus} CPUs (${machine.model}), load ${machine.loadavg.join(" ")}; total ${elapsed()}\n`);
    if (records.length) process.stdout.write(table(rows) + "\n");
    process.stdout.write(`results: ${path.relative(process.cwd(), resultsFile)}; logs and timelines: ${path.join(workDir, "logs")}\n`);

    const ok = !fatal && !interrupted && !leftovers.length && records.length === wanted.length && records.every((r) => r.pass);
    // One plain line for CI logs (.ci/run repeats it): scenarios that did not run count as failed.
    const passed = records.filter((r) => r.pass).length;
    process.stdout.write(`e2e: ${passed} passed, ${wanted.length - passed} failed${fatal ? ` (stopped: ${fatal.message.split("\n")[0]})` : ""}${leftovers.length ? " (left processes or data behind)" : ""}\n`);
    if (ok && !args.keepWorkdir) {
        for (const d of ["project", "backend"]) fs.rmSync(path.join(workDir, d), { recursive: true, force: true });
    }
    return ok ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`e2e: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
