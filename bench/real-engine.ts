// `npm run bench`'s real-engine measures (issue 11): the local stack under the
// Pulumi CLI and Kubernetes provider built from Go modules, against a testbed
// of its own (a local API server with kwok nodes). Per round:
//   first up      `pulumi up` of the local stack from nothing (each round: a fresh stack and namespace;
//                 the app namespace is protected, so `pulumi destroy` cannot clear it)
//   preview       `pulumi preview` with no change
//   flip          `pulumi config set activeColor <other>` + `pulumi up`: wall time to the last
//                 change of any `<svc>-service`'s endpoints (and the whole up)
//   rollback      the same, back to the first color (still warm)
// Medians over the rounds, with the machine noted. Figures in seconds.
//
// Usage: node dist/bench/real-engine.js [--rounds N]   (npm run bench runs it after the offline rows)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Kube } from "../test/e2e/kube";
import { measuredUp, measureSwitch, median } from "../test/e2e/measure";
import { LocalProject, STACK } from "../test/e2e/stack";
import { Color } from "../test/e2e/timeline";

interface TestbedModule {
    withTestbed<T>(fn: (env: Record<string, string>, info: { dataDir: string; reused: boolean }) => Promise<T>): Promise<T>;
    LOCAL_PASSPHRASE: string;
}

const ROOT = path.resolve(__dirname, "..", "..");
const T0 = Date.now();
const log = (s: string) => process.stderr.write(`bench real-engine [${Math.round((Date.now() - T0) / 1000)} s]: ${s}\n`);

export interface RealEngineFigures {
    readonly rounds: number;
    readonly firstUp: number[];
    readonly preview: number[];
    readonly flipToLastEndpoint: number[];
    readonly flipUp: number[];
    readonly rollbackToLastEndpoint: number[];
    readonly rollbackUp: number[];
}

export async function measureRealEngine(rounds: number): Promise<RealEngineFigures> {
    if (!process.env.TESTBED_DIR) process.env.TESTBED_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-bench-testbed-"));
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-bench-real-"));
    const testbed = require(path.join(ROOT, "testbed", "lib", "cluster.js")) as TestbedModule;
    const f = { rounds, firstUp: [] as number[], preview: [] as number[], flipToLastEndpoint: [] as number[], flipUp: [] as number[], rollbackToLastEndpoint: [] as number[], rollbackUp: [] as number[] };
    log(`building what is missing and starting a testbed in ${process.env.TESTBED_DIR}`);
    await testbed.withTestbed(async (env) => {
        const kube = new Kube(env.KUBECONFIG);
        const projects: LocalProject[] = [];
        const must = (ok: boolean, what: string, output: string) => {
            if (!ok) throw new Error(`${what} failed:\n${output.split("\n").slice(-25).join("\n")}`);
        };
        try {
            for (let r = 1; r <= rounds; r++) {
                const roundDir = path.join(workDir, `round-${r}`);
                fs.mkdirSync(roundDir);
                const project = await LocalProject.create(ROOT, roundDir, { ...process.env, ...env, PULUMI_CONFIG_PASSPHRASE: testbed.LOCAL_PASSPHRASE });
                projects.push(project);
                const cfg = project.stackConfig();
                const namespace = `${cfg.namespace || STACK}-bench-${r}`;
                await project.configSet({ namespace });
                const services = Object.keys(cfg.services ?? {});
                const first = ((cfg.activeColor as Color) || "blue") as Color;
                const other: Color = first === "blue" ? "green" : "blue";
                log(`round ${r}/${rounds}: first up from nothing (namespace ${namespace})`);
                const up = await measuredUp(project, kube, namespace, services, { label: `bench-first-${r}` });
                must(up.ok, "first up", up.result.output);
                f.firstUp.push(up.seconds);
                log(`round ${r}/${rounds}: first up ${up.seconds.toFixed(1)} s; preview with no change`);
                const pv = await project.pulumi(["preview", "--non-interactive", "--stack", STACK], { timeoutMs: 600_000, label: `bench-preview-${r}` });
                must(pv.code === 0, "preview", pv.output);
                f.preview.push(pv.seconds);
                log(`round ${r}/${rounds}: preview ${pv.seconds.toFixed(1)} s; flip to ${other}`);
                const flip = await measureSwitch(project, kube, namespace, services, other, { label: `bench-flip-${r}` });
                must(flip.ok, "flip", flip.measured.result.output);
                f.flipUp.push(flip.upSeconds);
                if (flip.toLastEndpointChange !== undefined) f.flipToLastEndpoint.push(flip.toLastEndpointChange);
                log(`round ${r}/${rounds}: flip ${flip.toLastEndpointChange?.toFixed(1)} s to the last endpoint change (up ${flip.upSeconds.toFixed(1)} s); rollback to ${first}`);
                const back = await measureSwitch(project, kube, namespace, services, first, { label: `bench-rollback-${r}` });
                must(back.ok, "rollback", back.measured.result.output);
                f.rollbackUp.push(back.upSeconds);
                if (back.toLastEndpointChange !== undefined) f.rollbackToLastEndpoint.push(back.toLastEndpointChange);
                log(`round ${r}/${rounds}: rollback ${back.toLastEndpointChange?.toFixed(1)} s (up ${back.upSeconds.toFixed(1)} s)`);
            }
        } finally {
            kube.close();
            const left = projects.flatMap((p) => p.survivors(true));
            if (left.length) log(`killed processes of pulumi runs that outlived them: ${left.join(", ")}`);
        }
    });
    fs.rmSync(workDir, { recursive: true, force: true });
    return f;
}

/** Rows for the benchmark's table: [measure, what, median, runs]. */
export function realEngineRows(f: RealEngineFigures): string[][] {
    const s = (xs: number[]) => (xs.length ? `${median(xs)!.toFixed(1)} s` : "-");
    const all = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ") || "-";
    return [
        ["Real engine", "first up of the local stack from nothing", s(f.firstUp), all(f.firstUp)],
        ["Real engine", "pulumi preview, no change", s(f.preview), all(f.preview)],
        ["Real engine", "flip: start of up -> last live endpoint change", s(f.flipToLastEndpoint), all(f.flipToLastEndpoint)],
        ["Real engine", "flip: whole pulumi up", s(f.flipUp), all(f.flipUp)],
        ["Real engine", "rollback (warm): start of up -> last live endpoint change", s(f.rollbackToLastEndpoint), all(f.rollbackToLastEndpoint)],
        ["Real engine", "rollback (warm): whole pulumi up", s(f.rollbackUp), all(f.rollbackUp)],
    ];
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    const i = argv.indexOf("--rounds");
    const rounds = i >= 0 ? Number(argv[i + 1]) : 3;
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds: expects a positive integer");
    const f = await measureRealEngine(rounds);
    const rows = [["Measure", "What", "Median", "Runs (s)"], ...realEngineRows(f)];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
    const load = os.loadavg().map((x) => x.toFixed(1)).join(" ");
    process.stdout.write(
        [
            `Real-engine benchmark: local stack on the testbed (kwok nodes), Pulumi CLI 3.248.0, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), load ${load} at the end; ${rounds} rounds, medians. The runbook's rollback: "about 30 seconds".`,
            "",
            line(rows[0]),
            `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
            ...rows.slice(1).map(line),
        ].join("\n") + "\n",
    );
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (e) => {
            process.stderr.write(`bench real-engine: ${(e as Error).stack ?? e}\n`);
            process.exit(1);
        },
    );
}
