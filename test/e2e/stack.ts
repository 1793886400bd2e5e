// The local stack on a COPY of the project: the program's sources, Pulumi.yaml
// and Pulumi.local.yaml copied into a temp dir (node_modules symlinked), a
// file backend in another temp dir, the testbed's passphrase, and the Pulumi
// CLI the testbed built. Every CLI run is its own process group, logged to a
// file with timestamps, bounded by a timeout, and reaped afterwards: nothing
// it started outlives it.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const PROJECT = "candlefish-maturity-map";
export const STACK = "local";

export interface CliResult {
    readonly args: readonly string[];
    readonly code: number | null;
    readonly signal: string | null;
    /** Wall seconds from spawn to exit. */
    readonly seconds: number;
    readonly output: string;
    /** Why the harness stopped it early, if it did. */
    readonly stoppedBy?: string;
    /** Time (ms since spawn) of each output line. */
    readonly lines: readonly { t: number; text: string }[];
}

export interface RunOptions {
    readonly timeoutMs?: number;
    /** Called for each output line (t: ms since spawn); return "kill" to SIGKILL the run's process group, "interrupt" to SIGINT the CLI. */
    readonly onLine?: (text: string, t: number) => void | "kill" | "interrupt";
    /** Called every second while it runs; same return values as onLine. */
    readonly onTick?: (t: number) => void | "kill" | "interrupt";
    readonly label?: string;
}

interface ProcInfo {
    readonly pid: number;
    readonly ppid: number;
    readonly pgid: number;
    /** Start time in clock ticks since boot: a pid with another start time is another process. */
    readonly start: string;
    readonly zombie: boolean;
}

function procs(): ProcInfo[] {
    const out: ProcInfo[] = [];
    for (const d of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
            // After the command's closing parenthesis: state, ppid, pgrp, ... starttime is field 22.
            const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            out.push({ pid: Number(d), ppid: Number(f[1]), pgid: Number(f[2]), start: f[19], zombie: f[0] === "Z" });
        } catch {
            // gone
        }
    }
    return out;
}

/** Process ids whose process group is pgid (read from /proc). */
export function groupMembers(pgid: number): number[] {
    return procs().filter((p) => p.pgid === pgid && !p.zombie).map((p) => p.pid);
}

/** Every live descendant of pid. The CLI starts its plugins (language host, providers) in process groups of their own. */
function descendants(pid: number): ProcInfo[] {
    const all = procs();
    const out: ProcInfo[] = [];
    const want = new Set([pid]);
    let grew = true;
    while (grew) {
        grew = false;
        for (const p of all) {
            if (!want.has(p.pid) && want.has(p.ppid)) {
                want.add(p.pid);
                if (!p.zombie) out.push(p);
                grew = true;
            }
        }
    }
    return out;
}

function isAlive(p: { pid: number; start: string }): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${p.pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return f[19] === p.start && f[0] !== "Z";
    } catch {
        return false;
    }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
    if (!groupMembers(pgid).length) return;
    try {
        process.kill(-pgid, signal);
    } catch {
        // gone
    }
}

/** Kills processes we started: each one and its process group (a plugin's group is its own). */
function killAll(list: readonly ProcInfo[]): void {
    for (const p of list) {
        if (!isAlive(p)) continue;
        try {
            process.kill(p.pid, "SIGKILL");
        } catch {
            // gone
        }
        if (p.pgid === p.pid) killGroup(p.pgid, "SIGKILL");
    }
}

export class LocalProject {
    /** Process groups of CLI runs, for the end-of-run check that nothing survived. */
    readonly groups: number[] = [];
    /** Every process a CLI run started (seen while it ran), for the same check. */
    private readonly spawned = new Map<string, ProcInfo>();
    private current?: { pgid: number; pid: number };
    private runs = 0;

    private constructor(
        readonly dir: string,
        readonly backendDir: string,
        readonly logDir: string,
        readonly env: NodeJS.ProcessEnv,
    ) {}

    /**
     * Copies the program (index.ts, the top-level directories it imports,
     * Pulumi.yaml, Pulumi.local.yaml, package.json, tsconfig.json) from root
     * into workDir/project, symlinks node_modules, and inits the stack on a
     * file backend in workDir/backend.
     */
    static async create(root: string, workDir: string, baseEnv: NodeJS.ProcessEnv): Promise<LocalProject> {
        const dir = path.join(workDir, "project");
        const backendDir = path.join(workDir, "backend");
        const logDir = path.join(workDir, "logs");
        for (const d of [dir, backendDir, logDir]) fs.mkdirSync(d, { recursive: true });
        const main = fs.readFileSync(path.join(root, "index.ts"), "utf8");
        const tops = new Set<string>();
        for (const m of main.matchAll(/from\s+"\.\/([^/"]+)/g)) tops.add(m[1]);
        for (const f of ["index.ts", "Pulumi.yaml", `Pulumi.${STACK}.yaml`, "package.json", "tsconfig.json"]) {
            if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing in ${root}`);
            fs.copyFileSync(path.join(root, f), path.join(dir, f));
        }
        for (const t of tops) {
            const src = path.join(root, t);
            if (fs.existsSync(src) && fs.statSync(src).isDirectory()) fs.cpSync(src, path.join(dir, t), { recursive: true });
            else if (fs.existsSync(`${src}.ts`)) fs.copyFileSync(`${src}.ts`, path.join(dir, `${t}.ts`));
        }
        fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
        const env: NodeJS.ProcessEnv = {
            ...baseEnv,
            PULUMI_BACKEND_URL: `file://${backendDir}`,
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
        };
        const p = new LocalProject(dir, backendDir, logDir, env);
        const init = await p.pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase"], { timeoutMs: 120_000, label: "stack-init" });
        if (init.code !== 0) throw new Error(`pulumi stack init ${STACK} failed (exit ${init.code}):\n${init.output}`);
        return p;
    }

    /** The stack file's config, as the CLI left it (keys without the project prefix for the project's own keys). */
    stackConfig(): Record<string, any> {
        const doc = YAML.parse(fs.readFileSync(path.join(this.dir, `Pulumi.${STACK}.yaml`), "utf8")) ?? {};
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(doc.config ?? {})) out[k.startsWith(`${PROJECT}:`) ? k.slice(PROJECT.length + 1) : k] = v;
        return out;
    }

    /** Runs the Pulumi CLI in the copy. Never rejects on a non-zero exit: the result says how it ended. */
    pulumi(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
        const label = opts.label ?? args[0];
        const n = ++this.runs;
        const logFile = path.join(this.logDir, `${String(n).padStart(3, "0")}-${label.replace(/[^A-Za-z0-9_.-]+/g, "_")}.log`);
        const log = fs.openSync(logFile, "w");
        fs.writeSync(log, `$ pulumi ${args.join(" ")}\n`);
        const t0 = Date.now();
        return new Promise((resolve) => {
            const child = spawn("pulumi", [...args], { cwd: this.dir, env: this.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
            const pgid = child.pid!;
            this.groups.push(pgid);
            this.current = { pgid, pid: pgid };
            const track = () => {
                for (const p of descendants(pgid)) this.spawned.set(`${p.pid}/${p.start}`, p);
            };
            const lines: { t: number; text: string }[] = [];
            let output = "";
            let stoppedBy: string | undefined;
            const act = (what: void | "kill" | "interrupt", why: string) => {
                if (!what || stoppedBy) return;
                stoppedBy = `${what}: ${why}`;
                fs.writeSync(log, `[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${stoppedBy}\n`);
                if (what === "kill") {
                    // The whole tree, as when a CI runner dies: the CLI, and the plugins it started in groups of their own.
                    track();
                    killGroup(pgid, "SIGKILL");
                    killAll([...this.spawned.values()]);
                } else child.kill("SIGINT");
            };
            const partial: Record<string, string> = { out: "", err: "" };
            const onData = (which: string) => (d: Buffer) => {
                const t = Date.now() - t0;
                partial[which] += d.toString();
                const parts = partial[which].split("\n");
                partial[which] = parts.pop()!;
                for (const text of parts) {
                    lines.push({ t, text });
                    output += text + "\n";
                    fs.writeSync(log, `[${(t / 1000).toFixed(1)}s] ${text}\n`);
                    act(opts.onLine?.(text, t), `on output line: ${text.trim()}`);
                }
            };
            child.stdout!.on("data", onData("out"));
            child.stderr!.on("data", onData("err"));
            const tick = setInterval(() => {
                const t = Date.now() - t0;
                track();
                act(opts.onTick?.(t), `at ${(t / 1000).toFixed(1)}s`);
                if (opts.timeoutMs && t > opts.timeoutMs) {
                    if (!stoppedBy) act("interrupt", `timeout of ${opts.timeoutMs / 1000}s`);
                    else if (t > opts.timeoutMs + 60_000) killGroup(pgid, "SIGKILL");
                }
            }, 1000);
            child.on("close", (code, signal) => {
                clearInterval(tick);
                for (const w of ["out", "err"]) if (partial[w]) { lines.push({ t: Date.now() - t0, text: partial[w] }); output += partial[w] + "\n"; }
                const seconds = (Date.now() - t0) / 1000;
                fs.writeSync(log, `[e2e] exit ${code ?? signal} after ${seconds.toFixed(1)}s\n`);
                fs.closeSync(log);
                // Whatever the CLI started and left behind (a killed run's plugins) goes with it.
                killGroup(pgid, "SIGKILL");
                if (stoppedBy) killAll([...this.spawned.values()]);
                this.current = undefined;
                resolve({ args, code, signal, seconds, output, stoppedBy, lines });
            });
        });
    }

    /** Kills the CLI run in progress, if any, with everything it started (for an interrupted e2e). */
    abort(): void {
        if (!this.current) return;
        for (const p of descendants(this.current.pid)) this.spawned.set(`${p.pid}/${p.start}`, p);
        killGroup(this.current.pgid, "SIGKILL");
        killAll([...this.spawned.values()]);
    }

    up(opts: RunOptions = {}): Promise<CliResult> {
        return this.pulumi(["up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK], { timeoutMs: 20 * 60_000, label: "up", ...opts });
    }

    /** `pulumi config set-all --path`: several plaintext values in one run; throws if the CLI refuses. */
    async configSet(values: Readonly<Record<string, string | number | boolean>>): Promise<void> {
        const args = ["config", "set-all", "--path", "--stack", STACK];
        for (const [k, v] of Object.entries(values)) args.push("--plaintext", `${k}=${v}`);
        const r = await this.pulumi(args, { timeoutMs: 120_000, label: "config-set" });
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${r.code}):\n${r.output}`);
    }

    async configRm(key: string): Promise<void> {
        const r = await this.pulumi(["config", "rm", "--path", "--stack", STACK, key], { timeoutMs: 120_000, label: "config-rm" });
        if (r.code !== 0) throw new Error(`pulumi config rm --path ${key} failed (exit ${r.code}):\n${r.output}`);
    }

    /** The file backend's lock files for the stack (left behind by a killed `up`). */
    lockFiles(): string[] {
        const dir = path.join(this.backendDir, ".pulumi", "locks");
        const out: string[] = [];
        const walk = (d: string) => {
            if (!fs.existsSync(d)) return;
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else out.push(p);
            }
        };
        walk(dir);
        return out;
    }

    /**
     * Processes of this project's CLI runs still alive: members of a run's
     * process group, processes a run started (seen while it ran), and any
     * process whose working directory is the project copy (a plugin the CLI
     * started just before it was killed). With kill, they are killed first
     * and the survivors of that are returned.
     */
    survivors(kill = false): number[] {
        const found = new Map<number, ProcInfo>();
        const all = procs();
        for (const p of all) {
            if (p.zombie) continue;
            let cwd = "";
            try {
                cwd = fs.readlinkSync(`/proc/${p.pid}/cwd`);
            } catch {
                // gone, or not ours to read
            }
            if (this.groups.includes(p.pgid) || cwd === this.dir || cwd.startsWith(this.dir + path.sep)) found.set(p.pid, p);
        }
        for (const p of this.spawned.values()) if (isAlive(p)) found.set(p.pid, p);
        if (kill && found.size) {
            killAll([...found.values()]);
            const deadline = Date.now() + 2000;
            while (Date.now() < deadline && [...found.values()].some(isAlive)) spawnSync("sleep", ["0.1"]);
        }
        return [...found.values()].filter(isAlive).map((p) => p.pid);
    }
}

/** The pulumi binary on the env's PATH, or undefined. */
export function pulumiOnPath(env: NodeJS.ProcessEnv): string | undefined {
    const r = spawnSync("sh", ["-c", "command -v pulumi"], { env, encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : undefined;
}
