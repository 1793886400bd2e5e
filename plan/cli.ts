// The offline plan: runs the real program under Pulumi's mock runtime and
// answers a reviewer's questions without the Pulumi CLI, provider plugins or
// cloud credentials ("does this rollback touch anything but the Service
// selectors?", "does this image bump restart the live color?", "does this
// edit replace the database?"). Reference: docs/PLAN.md.
//
//   npx --no -- candlefish-plan [--stack NAME] [--set PATH=VALUE]... [--json] [--diff] [--out DIR] [--policy]
//
// Contract (issue 3): stdout carries only the requested output; every error
// exits non-zero with nothing on stdout and a message on stderr that names the
// key or flag and the reason. Exit codes: 0 ok; 1 bad input (invalid config,
// a stack file that is not YAML, a plaintext secret), a program error or a
// mandatory policy violation; 2 a bad invocation (flag, stack, missing file,
// malformed --set, --out target).
import * as fs from "fs";
import * as path from "path";
import { Rendered, SECRET_PLACEHOLDER, render } from "./render";
import { diffRenders } from "./diff";
import { SECURE_PLACEHOLDER, StackFileError, StandIn, applySet, applyStandIns, readStack, toRuntimeConfig } from "./stackfile";
import { diffSummary, formatDiff, formatPolicy, formatSummary, planDocument, replacementViolations, statefulChanges } from "./summary";
import { PROJECT } from "../config/source";
// Types only: plan/policy.ts itself is loaded lazily (loadEvaluator).
import type { PolicyReport } from "./policy";
import { OUT_MARKER, OutDirError, OutVerdict, checkOutDir, kubernetesObjects, writeOut } from "./out";

export const USAGE = `usage: npx --no -- candlefish-plan [--stack NAME] [--set PATH=VALUE]... [--json] [--diff] [--out DIR] [--policy]
   (the same: node scripts/plan.js ...; \`npm run plan -- ...\` prints npm's banner on stdout unless --silent)

  --stack NAME              stack to plan, read from Pulumi.NAME.yaml (default: production)
  --config-file FILE        read the stack's config from FILE instead of Pulumi.NAME.yaml (as pulumi --config-file)
  --set PATH=VALUE          override config as \`pulumi config set --path PATH VALUE\` would; repeatable
  --set-secret PATH=VALUE   the same for a secret, as \`pulumi config set --secret --path\`; masked in all output
  --json                    print one JSON document instead of the summary
  --diff                    print what the edits change, compared with the stack as it is
  --diff-base FILE          with --diff: compare with the stack config in FILE (e.g. main's stack file in a PR)
  --out DIR                 write every Kubernetes object to DIR/<namespace or _cluster>/<Kind>-<name>.yaml
                            (with --policy, also a refused state: for review; exit 1, said on stderr and in DIR)
  --policy                  evaluate the policy pack; exit 1 on any mandatory violation
  --help                    this text

exit codes: 0 ok; 1 bad input (invalid config, stack file not YAML, plaintext secret), program error
or mandatory policy violation; 2 bad invocation (flag, unknown stack, missing file, malformed --set, --out target)`;

/** Where output goes; tests pass collectors, the command passes the process streams. */
export interface PlanIO {
    stdout(text: string): void;
    stderr(text: string): void;
}

export interface PlanArgs {
    readonly stack: string;
    readonly configFile?: string;
    /** With --diff: the stack config to compare with (e.g. the base branch's stack file). */
    readonly diffBase?: string;
    readonly sets: string[];
    /** --set-secret edits, applied after the --set edits. */
    readonly secretSets: string[];
    readonly json: boolean;
    readonly diff: boolean;
    readonly out?: string;
    readonly policy: boolean;
    readonly help: boolean;
}

/** A bad invocation: exit 2. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** Bad input (a stack file that is not YAML, a plaintext secret): exit 1, like invalid config. */
export class InputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InputError";
    }
}

const VALUE_FLAGS = new Set(["--stack", "--set", "--set-secret", "--out", "--config-file", "--diff-base"]);
const BOOL_FLAGS = new Set(["--json", "--diff", "--policy", "--help"]);

export function parseArgs(argv: readonly string[]): PlanArgs {
    const a = { stack: "production", sets: [] as string[], secretSets: [] as string[], json: false, diff: false, policy: false, help: false } as {
        -readonly [K in keyof PlanArgs]: PlanArgs[K];
    };
    const once = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
        const flag = eq > 0 ? arg.slice(0, eq) : arg;
        if (BOOL_FLAGS.has(flag)) {
            if (eq > 0) throw new UsageError(`${flag}: takes no value`);
            if (flag === "--json") a.json = true;
            else if (flag === "--diff") a.diff = true;
            else if (flag === "--policy") a.policy = true;
            else a.help = true;
            continue;
        }
        if (!VALUE_FLAGS.has(flag)) {
            const known = [...VALUE_FLAGS, ...BOOL_FLAGS];
            const hint = known.find((k) => editDistance(k, flag) <= 2);
            throw new UsageError(
                arg.startsWith("-")
                    ? `${arg}: unknown flag${hint ? ` (did you mean ${hint}?)` : ""}; flags: ${known.join(", ")}`
                    : `${arg}: unexpected argument; config edits are written --set ${arg}`,
            );
        }
        let value: string | undefined;
        if (eq > 0) value = arg.slice(eq + 1);
        else {
            value = argv[++i];
            if (value === undefined || (value.startsWith("--") && value !== "--")) throw new UsageError(`${flag}: expects a value`);
        }
        if (flag !== "--set" && flag !== "--set-secret") {
            if (once.has(flag)) throw new UsageError(`${flag}: given more than once`);
            once.add(flag);
        }
        if (flag === "--set") a.sets.push(value);
        else if (flag === "--set-secret") a.secretSets.push(value);
        else if (flag === "--stack") {
            if (!value) throw new UsageError("--stack: expects a stack name");
            a.stack = value;
        } else if (flag === "--out") {
            if (!value) throw new UsageError("--out: expects a directory");
            a.out = value;
        } else if (flag === "--diff-base") {
            if (!value) throw new UsageError("--diff-base: expects a file");
            a.diffBase = value;
        } else {
            if (!value) throw new UsageError("--config-file: expects a file");
            a.configFile = value;
        }
    }
    if (a.diffBase !== undefined && !a.diff) throw new UsageError("--diff-base: only with --diff");
    return a;
}

/** Levenshtein distance, for "did you mean --stack?". */
function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
    }
    return prev[b.length];
}

/** Where a stack's config comes from: the stack file, --config-file, or --diff-base (named in errors). */
interface ConfigOrigin {
    readonly file?: string;
    readonly flag: "--config-file" | "--diff-base";
}

/**
 * Reads the stack file and applies the edits, as the Pulumi runtime would
 * see them, plus the plan's stand-ins for required values left unset.
 */
function stackConfig(args: PlanArgs, origin: ConfigOrigin, sets: readonly string[], secretSets: readonly string[]) {
    let cfg;
    let standIns: StandIn[];
    try {
        if (origin.file !== undefined) {
            const file = path.resolve(origin.file);
            if (!fs.existsSync(file)) throw new StackFileError(`${origin.flag}: no such file ${origin.file}`);
            cfg = readStack(args.stack, path.dirname(file), file);
        } else cfg = readStack(args.stack);
        for (const s of sets) applySet(cfg, s, false, true);
        for (const s of secretSets) applySet(cfg, s, true);
        standIns = applyStandIns(args.stack, cfg);
    } catch (e) {
        if (e instanceof StackFileError) throw e.exitCode === 1 ? new InputError(e.message) : new UsageError(e.message);
        throw e;
    }
    const allow = cfg.values[`${PROJECT}:allowReplacement`];
    return { ...toRuntimeConfig(cfg), standIns, allowReplacement: Array.isArray(allow) ? allow.map(String) : [] };
}

/** Says, once, which required values the plan stood in for and how an operator sets them. */
function standInNote(standIns: readonly StandIn[], stack: string): string {
    if (standIns.length === 0) return "";
    const list = standIns.map((s) => `${s.key}=${s.secret ? SECRET_PLACEHOLDER : s.value}`).join(", ");
    const cmds = standIns.map((s) => `pulumi config set${s.secret ? " --secret" : ""} --path ${s.key} ...`).join("; ");
    return `note: stack ${stack} leaves required values unset; the offline plan stands in for them (${list}). A real pulumi preview/up stops until they are set: ${cmds}\n`;
}

async function renderWith(args: PlanArgs, origin: ConfigOrigin, edits: boolean, previousOutputs?: Record<string, unknown>): Promise<Rendered> {
    const { config, secretKeys } = stackConfig(args, origin, edits ? args.sets : [], edits ? args.secretSets : []);
    return render({ stack: args.stack, config, secretKeys, previousOutputs });
}

/**
 * For a config error in the edited stack of a `--diff`: when the edit made a
 * color live that has no replicas, say which color the base had live, so the
 * undo is named (the program alone cannot know that anything was switched).
 */
function switchBackHint(e: unknown, base: Rendered): string {
    if ((e as Error)?.name !== "ConfigError") return "";
    const live = (base.outputs.liveColors ?? {}) as Record<string, unknown>;
    const hints: string[] = [];
    for (const issue of (e as { issues?: { key: string; message: string }[] }).issues ?? []) {
        const m = /^services\.([^.]+)\.(blue|green)\.replicas$/.exec(issue.key);
        if (!m || !/is the live color .* but has 0 replicas/.test(issue.message)) continue;
        const was = live[m[1]];
        if (typeof was === "string" && was !== m[2]) {
            const via = /\((services\.[^.]+\.activeColor|activeColor)=/.exec(issue.message)?.[1] ?? "activeColor";
            hints.push(`hint: this edit makes ${m[2]} live for ${m[1]} (the base has ${was} live); to undo the switch, set ${via}=${was}\n`);
        }
    }
    return [...new Set(hints)].join("");
}

function checkOutDirOrUsage(dir: string): void {
    try {
        checkOutDir(dir);
    } catch (e) {
        if (e instanceof OutDirError) throw new UsageError(e.message);
        throw e;
    }
}

/** Loads plan/policy lazily: only --policy pays for the policy SDK. */
function loadEvaluator(): (r: Rendered) => Promise<PolicyReport> {
    let mod: { evaluatePolicies?: (r: Rendered) => Promise<PolicyReport> };
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require("./policy");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && /[\\/]policy['"]/.test((e as Error).message)) {
            throw new UsageError("--policy: the policy evaluator (plan/policy.ts) is not part of this build");
        }
        throw e;
    }
    if (typeof mod.evaluatePolicies !== "function") throw new UsageError("--policy: plan/policy.ts does not export evaluatePolicies");
    return mod.evaluatePolicies;
}

/**
 * Runs one plan. Output is assembled completely before anything is written,
 * so an error leaves stdout empty. Returns the exit code.
 */
export async function main(argv: readonly string[], rawIO: PlanIO): Promise<number> {
    // Last line of defence: the offline stand-in for a `secure:` value is never
    // printed, not even inside an error message that quotes a config value.
    const mask = (t: string) => (t.includes(SECURE_PLACEHOLDER) ? t.split(SECURE_PLACEHOLDER).join(SECRET_PLACEHOLDER) : t);
    const io: PlanIO = { stdout: (t) => rawIO.stdout(mask(t)), stderr: (t) => rawIO.stderr(mask(t)) };
    const warn = (msg: string) => io.stderr(`warning: ${msg}\n`);
    try {
        const args = parseArgs(argv);
        if (args.help) {
            io.stdout(USAGE + "\n");
            return 0;
        }
        const evaluate = args.policy ? loadEvaluator() : undefined;
        const origin: ConfigOrigin = { file: args.configFile, flag: "--config-file" };
        const baseOrigin: ConfigOrigin = args.diffBase !== undefined ? { file: args.diffBase, flag: "--diff-base" } : origin;
        // Validate the edits and the --out target before the (slower) render, so a typo fails fast.
        const edited = stackConfig(args, origin, args.sets, args.secretSets);
        io.stderr(standInNote(edited.standIns, args.stack));
        if (args.diffBase !== undefined) stackConfig(args, baseOrigin, [], []);
        if (args.out) checkOutDirOrUsage(args.out);

        if (args.diff) {
            const before = await renderWith(args, baseOrigin, false);
            // The program is deterministic under the mocks: without edits, "after" is "before".
            // The edit is judged as `pulumi up` would judge it after the base was deployed:
            // the program's transition rules see the base's promotionState output.
            let after: Rendered;
            try {
                after =
                    args.sets.length || args.secretSets.length || args.diffBase !== undefined
                        ? await renderWith(args, origin, true, { promotionState: before.outputs.promotionState })
                        : before;
            } catch (e) {
                io.stderr(switchBackHint(e, before));
                throw e;
            }
            const d = diffRenders(before, after);
            // With --policy, the pack judges the stack as the edit would leave it (what a PR deploys),
            // and the plan's own policy judges the diff: no stateful replacement unless allowed.
            let report = evaluate ? await evaluate(after) : undefined;
            if (report) report = { policies: report.policies + 1, violations: [...report.violations, ...replacementViolations(d, edited.allowReplacement)] };
            if (args.out) writeOutReporting(args.out, after, report, io);
            const replacedNames = new Set(d.changed.filter((c) => c.replace).map((c) => c.name));
            for (const n of edited.allowReplacement) if (!replacedNames.has(n)) warn(`allowReplacement lists ${n}, which this change does not replace; remove it once its replacement is deployed`);
            const code = report?.violations.some((v) => v.level === "mandatory") ? 1 : 0;
            if (args.json) {
                for (const s of statefulChanges(d)) warn(`this edit changes a STATEFUL resource: ${s}`);
                const doc = {
                    stack: args.stack,
                    changed: d.changed,
                    added: d.added,
                    removed: d.removed,
                    summary: diffSummary(d),
                    ...(report && { policy: { policies: report.policies, violations: report.violations } }),
                };
                io.stdout(JSON.stringify(doc, null, 2) + "\n");
            } else {
                const sets = [...args.sets.map((x) => `--set ${x}`), ...args.secretSets.map((x) => `--set-secret ${x.replace(/=.*/s, "=[secret]")}`)];
                const edits = args.diffBase !== undefined ? [`${args.diffBase} -> ${args.configFile ?? `Pulumi.${args.stack}.yaml`}`, ...sets] : sets;
                io.stdout(formatDiff(d, { stack: args.stack, edits, allowReplacement: edited.allowReplacement }) + (report ? "\n" + formatPolicy(report) : ""));
            }
            return code;
        }

        const rendered = await renderWith(args, origin, true);
        let text: string;
        let code = 0;
        let report: PolicyReport | undefined;
        if (evaluate) {
            report = await evaluate(rendered);
            const mandatory = report.violations.filter((v) => v.level === "mandatory").length;
            code = mandatory > 0 ? 1 : 0;
            text = args.json ? JSON.stringify({ policies: report.policies, violations: report.violations }, null, 2) + "\n" : formatPolicy(report);
        } else if (args.json) {
            text = JSON.stringify(planDocument(rendered, warn), null, 2) + "\n";
        } else {
            text = formatSummary(rendered, warn);
        }
        if (args.out) writeOutReporting(args.out, rendered, report, io);
        io.stdout(text);
        return code;
    } catch (e) {
        return failure(e, io);
    }
}

/**
 * `--out`: writes the objects, also when `--policy` refuses the state (a
 * decision, docs/PLAN.md "--out and --policy"): they are review material (the
 * objects a violation names, to read or run a schema check on), the diff and the
 * report are printed on a refusal too, and `pulumi up`, never these files, is
 * what deploys. A refusal is said on stderr and in the directory's marker file,
 * and the exit code stays 1.
 */
function writeOutReporting(dir: string, rendered: Rendered, report: PolicyReport | undefined, io: PlanIO): void {
    const { objects, skipped } = kubernetesObjects(rendered);
    const mandatory = report?.violations.filter((v) => v.level === "mandatory").length ?? 0;
    const verdict: OutVerdict = report ? { evaluated: true, policies: report.policies, mandatory, advisory: report.violations.length - mandatory } : { evaluated: false };
    writeOut(dir, objects, verdict);
    io.stderr(`wrote ${objects.length} Kubernetes objects to ${dir}\n`);
    for (const s of skipped) io.stderr(`  not written: ${s.type} ${s.name} (${s.reason})\n`);
    if (mandatory > 0)
        io.stderr(`plan: --out: the policy pack refuses the state written to ${dir} (${mandatory} mandatory violation(s)); the files are for review, not to apply (marked in ${dir}/${OUT_MARKER}); exit 1\n`);
}

function failure(e: unknown, io: PlanIO): number {
    const err = e as Error;
    if (err instanceof UsageError) {
        io.stderr(`plan: ${err.message}\n${err.message.startsWith("--stack") ? "" : "run with --help for usage\n"}`);
        return 2;
    }
    if (err instanceof InputError || err?.name === "ConfigError") {
        io.stderr(`plan: ${err.message}\n`);
        return 1;
    }
    // A program error: show where it came from, but never a config value.
    io.stderr(`plan: the program failed: ${err?.stack ?? String(e)}\n`);
    return 1;
}

/**
 * The command: keeps stdout for the plan alone. Anything else that prints
 * while the program runs (SDK warnings, a stray console.log) is sent to
 * stderr, so `--json` output always parses.
 */
export async function run(argv: readonly string[]): Promise<void> {
    const realWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: any, enc?: any, cb?: any) => process.stderr.write(chunk, enc, cb)) as typeof process.stdout.write;
    let code: number;
    try {
        code = await main(argv, {
            stdout: (t) => void realWrite(t),
            stderr: (t) => void process.stderr.write(t),
        });
    } catch (e) {
        process.stderr.write(`plan: ${(e as Error)?.stack ?? String(e)}\n`);
        code = 1;
    }
    // Exit once stdout has drained: the Pulumi runtime may hold handles open.
    realWrite("", () => process.exit(code));
}

if (require.main === module) void run(process.argv.slice(2));
