// `npm run bench`: how fast the offline plan is, and how far an edit reaches.
// Every row is measured in one run, side by side, in child processes (wall
// time from spawn to exit; peak RSS reported by the child itself), repeated
// and reported as the median:
//   Floor        a Node process that only loads the Pulumi SDKs the program uses
//   Plan         `plan --json` of production and staging, and its ratio to the floor (goal <= 1.5x)
//   Scaling      plan time and resource count at 4, 16 and 64 services (goal t(64)/t(4) <= 3)
//   Blast radius what a color flip and an inactive-color image bump change
//                (goals: only Services, one or two per service; one Deployment)
//
//   Real engine  the local stack under the real CLI on a testbed of its own: first up, preview with
//                no change, flip and rollback to the last endpoint change (bench/real-engine.ts)
//
// Usage: npm run bench [-- --reps N] [--rounds N] [--offline]   (--offline: skip the real-engine rows)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT } from "../config/source";
import { writeSyntheticStack } from "./synthetic";

const ROOT = path.resolve(__dirname, "..", "..");
const LAUNCHER = path.join(ROOT, "scripts", "plan.js");
const RUSAGE = path.join(__dirname, "rusage.js");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-bench-"));

interface Sample {
    readonly ms: number;
    readonly cpuMs: number;
    readonly rssMb: number;
    readonly stdout: string;
}

/** Runs `node -r rusage <args>` once; fails loudly if the child fails. */
function once(args: string[], env: Record<string, string> = {}): Sample {
    const file = path.join(TMP, `rusage-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", RUSAGE, ...args], {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 1 << 28,
        env: { ...process.env, ...env, BENCH_RUSAGE_FILE: file },
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
    const { maxRssKb, cpuUs } = JSON.parse(fs.readFileSync(file, "utf8")) as { maxRssKb: number; cpuUs: number };
    fs.rmSync(file, { force: true });
    return { ms, cpuMs: cpuUs / 1000, rssMb: maxRssKb / 1024, stdout: r.stdout };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Measured = Sample;

/**
 * Runs each command `reps` times after one warm-up (file cache), interleaved
 * (A B C A B C ...) so that load from other processes falls on all of them
 * alike; the median of each figure.
 */
function measureAll(commands: (string[] | { args: string[]; env: Record<string, string> })[], reps: number): Measured[] {
    const run = (c: (typeof commands)[number]) => (Array.isArray(c) ? once(c) : once(c.args, c.env));
    for (const c of commands) run(c);
    const samples: Sample[][] = commands.map(() => []);
    for (let i = 0; i < reps; i++) commands.forEach((c, j) => samples[j].push(run(c)));
    return samples.map((ss) => ({
        ms: median(ss.map((s) => s.ms)),
        cpuMs: median(ss.map((s) => s.cpuMs)),
        rssMb: median(ss.map((s) => s.rssMb)),
        stdout: ss[ss.length - 1].stdout,
    }));
}

/**
 * The SDK code the program loads: each `@pulumi/*` package its sources import,
 * and each namespace it reaches into (aws.ec2, k8s.apps.v1, ...), since the
 * SDKs load those lazily on first access.
 */
function floorScript(): string {
    const sources: string[] = [];
    const walk = (p: string) => {
        if (!fs.existsSync(p)) return;
        if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
        else if (p.endsWith(".ts")) sources.push(fs.readFileSync(p, "utf8"));
    };
    for (const p of ["index.ts", "config", "platforms", "components"]) walk(path.join(ROOT, p));
    const aliases = new Map<string, string>();
    const chains = new Set<string>();
    for (const src of sources) {
        for (const m of src.matchAll(/import \* as (\w+) from "(@pulumi\/[a-z-]+)"/g)) aliases.set(m[1], m[2]);
        for (const m of src.matchAll(/import \{[^}]*\} from "(@pulumi\/[a-z-]+)"/g)) aliases.set(`_${m[1]}`, m[1]);
    }
    for (const src of sources) {
        for (const [alias] of aliases) {
            for (const m of src.matchAll(new RegExp(`\\b${alias}((?:\\.[a-z][A-Za-z0-9]*)+)`, "g"))) chains.add(`${alias}${m[1]}`);
        }
    }
    // Resolved from the project, as the program resolves them.
    const lines = [`const load = require("module").createRequire(${JSON.stringify(path.join(ROOT, "package.json"))});`];
    for (const pkg of new Set(aliases.values())) lines.push(`const ${varOf(pkg)} = load(${JSON.stringify(pkg)});`);
    for (const chain of [...chains].sort()) {
        const [alias, ...rest] = chain.split(".");
        const pkg = aliases.get(alias)!;
        // Touch each step; a name that is a function or value rather than a namespace just stops the walk.
        lines.push(`try { void ${varOf(pkg)}${rest.map((r) => `[${JSON.stringify(r)}]`).join("?.")}; } catch {}`);
    }
    const file = path.join(TMP, "floor.js");
    fs.writeFileSync(file, lines.join("\n") + "\n");
    return file;
}

function varOf(pkg: string): string {
    return "m_" + pkg.replace(/[^A-Za-z0-9]/g, "_");
}

/** The production stack file with `n` services: its own, plus synthetic ones (bench/synthetic.ts). */
function syntheticStack(n: number): string {
    return writeSyntheticStack(n, TMP, ROOT);
}

/** Changed/added/removed resources of a diff, counted by type. */
function blast(diff: { changed: { type: string }[]; added: { type: string }[]; removed: { type: string }[] }): string {
    const part = (sign: string, xs: { type: string }[]) => {
        const counts = new Map<string, number>();
        for (const x of xs) counts.set(x.type, (counts.get(x.type) ?? 0) + 1);
        return [...counts].map(([t, c]) => `${sign}${c} ${t.split(":").pop()}`);
    };
    const parts = [...part("~", diff.changed), ...part("+", diff.added), ...part("-", diff.removed)];
    return parts.length ? parts.join(", ") : "no change";
}

function main(): void {
    const argv = process.argv.slice(2);
    const i = argv.indexOf("--reps");
    const reps = i >= 0 ? Number(argv[i + 1]) : 5;
    if (!Number.isInteger(reps) || reps < 1) throw new Error("--reps: expects a positive integer");
    const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

    log(`floor, production and staging plans (${reps} reps + warm-up, interleaved)`);
    const [floor, ...plans] = measureAll(
        [
            [floorScript()],
            ...["production", "staging"].map((stack) => [LAUNCHER, "--stack", stack, "--json"]),
        ],
        reps,
    );
    const rows: string[][] = [];
    const fmt = (m: Measured) => [`${m.ms.toFixed(0)} ms`, `${m.cpuMs.toFixed(0)} ms`, `${m.rssMb.toFixed(0)} MB`];
    const ratio = (m: Measured) => `${(m.ms / floor.ms).toFixed(2)}x (CPU ${(m.cpuMs / floor.cpuMs).toFixed(2)}x)`;
    rows.push(["Floor", "node: load the Pulumi SDKs the program uses", ...fmt(floor), "1.00x", "-"]);
    ["production", "staging"].forEach((stack, i) => {
        const m = plans[i];
        const n = (JSON.parse(m.stdout) as { resources: unknown[] }).resources.length;
        const r = m.ms / floor.ms;
        rows.push(["Plan", `plan --json --stack ${stack} (${n} resources)`, ...fmt(m), ratio(m), r <= 1.5 ? "ok: <= 1.5x" : "MISSED: <= 1.5x"]);
    });

    log(`scaling: 4, 16, 64 services (${reps} reps + warm-up, interleaved)`);
    const sizes = [4, 16, 64];
    const scaled = measureAll(sizes.map((n) => [LAUNCHER, "--config-file", syntheticStack(n), "--json"]), reps);
    sizes.forEach((n, i) => {
        const count = (JSON.parse(scaled[i].stdout) as { resources: unknown[] }).resources.length;
        rows.push(["Scaling", `${n} services (${count} resources)`, ...fmt(scaled[i]), ratio(scaled[i]), "-"]);
    });
    const growth = scaled[2].ms / scaled[0].ms;
    rows.push(["Scaling", "t(64) / t(4)", "-", "-", "-", `${growth.toFixed(2)} (CPU ${(scaled[2].cpuMs / scaled[0].cpuMs).toFixed(2)})`, growth <= 3 ? "ok: <= 3" : "MISSED: <= 3"]);

    const prod = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8")).config;
    const live = prod[`${PROJECT}:activeColor`] as string;
    const idle = live === "blue" ? "green" : "blue";
    const nServices = Object.keys(prod[`${PROJECT}:services`]).length;
    const GATE = "pulumi-nodejs:dynamic/candlefish:Resource";
    const only = (d: any, type: string) => d.changed.every((c: any) => c.type === type);
    const cases: [string, string, string, (d: any) => boolean][] = [
        // A flip also creates the new color's promotion gate and deletes the old one's, per service (docs/PROMOTION.md).
        [`color flip: activeColor=${idle}`, `activeColor=${idle}`, "only Services, <= 2 per service (+ a gate per service)", (d) =>
            only(d, "kubernetes:core/v1:Service") && d.changed.length <= 2 * nServices &&
            [...d.added, ...d.removed].every((x: any) => x.type === GATE && /-gate-(blue|green)$/.test(x.name)) && d.added.length <= nServices && d.removed.length <= nServices],
        [`idle-color image bump (nanda-api)`, `services.nanda-api.${idle}.imageTag=v9.9.9`, "one Deployment", (d) =>
            d.added.length === 0 && d.removed.length === 0 && d.changed.length === 1 && only(d, "kubernetes:apps/v1:Deployment")],
        // rtpm-api runs a migration Job per image tag before its color rolls (runbook: migrations).
        [`idle-color image bump (rtpm-api)`, `services.rtpm-api.${idle}.imageTag=v9.9.9`, "one Deployment (+ that tag's migration Job)", (d) =>
            d.changed.length === 1 && only(d, "kubernetes:apps/v1:Deployment") && [...d.added, ...d.removed].every((x: any) => x.type === "kubernetes:batch/v1:Job")],
    ];
    for (const [label, set, goalText, goal] of cases) {
        log(`blast radius: ${label}`);
        const [m] = measureAll([[LAUNCHER, "--diff", "--json", "--set", set]], 1);
        const d = JSON.parse(m.stdout);
        rows.push(["Blast radius", `${label}: --set ${set}`, ...fmt(m), blast(d), `${goal(d) ? "ok" : "MISSED"}: ${goalText}`]);
    }

    const head = ["Measure", "What", "Wall", "CPU", "Peak RSS", "Ratio to floor / result", "Goal"];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
    const out = [
        `Offline plan benchmark: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), ${reps} reps + 1 warm-up each, medians; blast radius: 1 run each`,
        "",
        line(head),
        `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
        ...rows.map(line),
    ];
    process.stdout.write(out.join("\n") + "\n");
    fs.rmSync(TMP, { recursive: true, force: true });

    if (argv.includes("--offline")) return;
    // The real-engine rows: a child process of their own, so the offline rows are printed whatever happens there.
    const j = argv.indexOf("--rounds");
    log("real engine: the local stack on a testbed of its own (builds what is missing first; minutes)");
    const real = spawnSync(process.execPath, ["--enable-source-maps", path.join(__dirname, "real-engine.js"), ...(j >= 0 ? ["--rounds", argv[j + 1]] : [])], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
    process.stdout.write("\n" + (real.stdout ?? ""));
    if (real.status !== 0) {
        process.stderr.write(`bench: the real-engine measures failed (exit ${real.status ?? real.signal})\n`);
        process.exitCode = 1;
    }
}

main();
