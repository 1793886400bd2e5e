// The real workspace: a LocalWorkspace of the Pulumi Automation API on the
// project directory, whose `pulumi up` runs the gated update with the policy
// pack, and the stack file edited atomically (switch/stackfile.ts).
//
// The Pulumi CLI runs in its own process group with its output going to files
// (tailed into the switch's log). So a Ctrl-C on the terminal reaches only the
// switch, which decides what it means (roll back, or keep; the up in flight is
// never cancelled by the first one), and after a second Ctrl-C the switch can
// exit at once while the CLI, sent one SIGINT, finishes cancelling on its own
// instead of dying on a closed pipe.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { UpOptions, Workspace } from "./core";
import { ColorEdit, StackColors, StackFile } from "./stackfile";

/* eslint-disable @typescript-eslint/no-require-imports */
const { CommandResult } = require("@pulumi/pulumi/automation/cmd");
const { createCommandError } = require("@pulumi/pulumi/automation/errors");

/** Where the CLI's output of each run goes. */
export const LOG_DIR = path.join(os.tmpdir(), "candlefish-switch");

/** The pulumi on PATH (checked against the SDK's minimum version), run detached with its output in files. */
export async function detachedPulumiCommand(log: (line: string) => void = () => undefined): Promise<PulumiCommand> {
    const real = await PulumiCommand.get();
    const cmd = Object.create(real) as PulumiCommand & { run: (...a: any[]) => Promise<any> };
    let n = 0;
    cmd.run = (args: string[], cwd: string, additionalEnv: Record<string, string>, onOutput?: (s: string) => void, onError?: (s: string) => void, signal?: AbortSignal) => {
        if (!args.includes("--non-interactive")) args.push("--non-interactive");
        const env: NodeJS.ProcessEnv = { ...process.env, ...additionalEnv, PULUMI_AUTOMATION_API: "true" };
        if (path.isAbsolute(real.command)) env.PATH = path.dirname(real.command) + path.delimiter + (additionalEnv.PATH ?? process.env.PATH ?? "");
        fs.mkdirSync(LOG_DIR, { recursive: true });
        const base = path.join(LOG_DIR, `${process.pid}-${++n}-${args[0]}`);
        const files = { out: `${base}.out.log`, err: `${base}.err.log` };
        const fds = { out: fs.openSync(files.out, "w"), err: fs.openSync(files.err, "w") };
        if (args[0] === "up") log(`pulumi ${args.join(" ")} (output also in ${files.out})`);
        return new Promise((resolve, reject) => {
            const child = spawn(real.command, args, { cwd, env, detached: true, stdio: ["ignore", fds.out, fds.err] });
            fs.closeSync(fds.out);
            fs.closeSync(fds.err);
            const read = { out: 0, err: 0 };
            const tail = (which: "out" | "err") => {
                const fd = fs.openSync(files[which], "r");
                try {
                    const size = fs.fstatSync(fd).size;
                    if (size <= read[which]) return;
                    const buf = Buffer.alloc(size - read[which]);
                    fs.readSync(fd, buf, 0, buf.length, read[which]);
                    read[which] = size;
                    (which === "out" ? onOutput : onError)?.(buf.toString("utf8"));
                } finally {
                    fs.closeSync(fd);
                }
            };
            const timer = setInterval(() => {
                tail("out");
                tail("err");
            }, 250);
            const onAbort = () => {
                try {
                    if (child.pid) process.kill(child.pid, "SIGINT");
                } catch {
                    // already gone
                }
            };
            signal?.addEventListener("abort", onAbort);
            child.on("error", (e) => {
                clearInterval(timer);
                reject(createCommandError(new CommandResult("", e.message, -2, e)));
            });
            child.on("close", (code) => {
                clearInterval(timer);
                signal?.removeEventListener("abort", onAbort);
                tail("out");
                tail("err");
                const result = new CommandResult(fs.readFileSync(files.out, "utf8"), fs.readFileSync(files.err, "utf8"), code ?? -1);
                if (args[0] !== "up" || code === 0) for (const f of Object.values(files)) fs.rmSync(f, { force: true });
                if (code === 0) resolve(result);
                else reject(createCommandError(result));
            });
        });
    };
    return cmd;
}

/** Splits streamed chunks into lines. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
    let rest = "";
    return {
        push(chunk) {
            const parts = (rest + chunk).split(/\r?\n/);
            rest = parts.pop() ?? "";
            for (const p of parts) onLine(p);
        },
        flush() {
            if (rest) onLine(rest);
            rest = "";
        },
    };
}

export class AutomationWorkspace implements Workspace {
    readonly describe: string;

    private constructor(
        private readonly file: StackFile,
        readonly stack: Stack,
        private readonly policyPacks: string[],
    ) {
        this.describe = path.basename(file.file);
    }

    /** A LocalWorkspace on dir and the stack selected in it. */
    static async open(dir: string, stackName: string, file: StackFile, log: (line: string) => void): Promise<AutomationWorkspace> {
        const ws = await LocalWorkspace.create({ workDir: dir, pulumiCommand: await detachedPulumiCommand(log) });
        const stack = await Stack.select(stackName, ws);
        const policies = path.join(dir, "policies");
        return new AutomationWorkspace(file, stack, fs.existsSync(path.join(policies, "PulumiPolicy.yaml")) ? [policies] : []);
    }

    read(): StackColors {
        return this.file.read();
    }

    write(edit: ColorEdit): void {
        this.file.write(edit);
    }

    async up(o: UpOptions): Promise<void> {
        const out = lineSplitter(o.onOutput);
        const err = lineSplitter(o.onOutput);
        try {
            await this.stack.up({
                message: o.message,
                policyPacks: this.policyPacks,
                color: "never",
                signal: o.signal,
                onOutput: (s) => out.push(s),
                onError: (s) => err.push(s),
            });
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The stack's outputs (secret ones included, as values). */
    async outputs(): Promise<Record<string, unknown>> {
        const o = await this.stack.outputs();
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
    }
}
