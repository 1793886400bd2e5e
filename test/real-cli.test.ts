// The real Pulumi CLI (the testbed's, at the version of @pulumi/pulumi) on
// COPIES of the project files in a temp dir: a file backend there, the
// passphrase secrets provider, never the repo's own stack files or state.
//
//   - `pulumi config` on each stack lists Pulumi.yaml's declared keys and
//     decrypts every value (a fake `secure:` value fails here).
//   - Every `pulumi config set|get` command the docs show (DOC_FILES in test/doc-commands.ts: README.md and the docs/ pages listed there)
//     (parsed out of the markdown) runs literally, placeholders replaced by
//     samples; the program's config loader accepts what the CLI then hands it,
//     with the intended types; the offline plan reads the same config as its
//     own `--set` emulation and shows the change the docs say the command makes.
//   - `pulumi preview` of both stacks gets through config validation and
//     decryption into the program; what stops it without AWS credentials is the
//     AWS provider (production first stops at the program's own required-value
//     error, until the docs' set-once commands set them).
//
// No request leaves the machine: no AWS credentials, IMDS disabled, every AWS
// endpoint pointed at a closed port on 127.0.0.1, no kubeconfig, no plugin
// downloads; every CLI run is bounded by a timeout.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, ConfigSource, PROJECT, StackConfig, parseConfig } from "../config";
import { ROOT, STAND_INS, applySet, applyStandIns, listStacks, parsePath, readStack, toRuntimeConfig } from "../plan/stackfile";
import { main as planMain } from "../plan/cli";
import { PlanDiff } from "../plan/diff";
import { brief } from "./harness";
import { DocCommand, docCommands, placeholders, substitute } from "./doc-commands";
import { testbedEnv, testbedTool, testbedVersion } from "./testbed";

const PASSPHRASE = "candlefish real-cli test passphrase";
const CONFIG_TIMEOUT_MS = 60_000;
const PREVIEW_TIMEOUT_MS = 300_000;
/** Every committed stack file. */
const STACKS = listStacks();

/** A stack file committed with its own encryption salt holds real ciphertext: its passphrase is the one docs/LOCAL.md publishes for it. */
const hasCommittedSalt = (stack: string) => /^encryptionsalt: /m.test(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
function passphraseFor(stack: string | undefined): string {
    if (stack === undefined || !STACKS.includes(stack) || !hasCommittedSalt(stack)) return PASSPHRASE;
    const published = /^export PULUMI_CONFIG_PASSPHRASE=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "docs", "LOCAL.md"), "utf8"))?.[1];
    assert.ok(published, `Pulumi.${stack}.yaml has its own encryption salt, but docs/LOCAL.md publishes no PULUMI_CONFIG_PASSPHRASE for it`);
    return published;
}

/** Sample values for the docs' placeholders. A new placeholder fails the test until it gets one here. */
const SAMPLES: Readonly<Record<string, string>> = {
    "<stack>": "production",
    "<account>": "210987654321",
    "<admins>": "candlefish-platform-admins",
    "<deployer>": "candlefish-ci-deploy",
    "<readers>": "candlefish-readers",
    "<team-id>": "T0CANDLE",
    "<hook-id>": "B0FISH",
    "<token>": "s3cr3tw3bh00k",
    "<name>": "rtpm-api",
    "<svc>": "rtpm-api",
    "<color>": "green",
    // Production's live color is blue: the inactive one is green; "old" is blue after a switch (see PRECONDITIONS).
    "<inactive>": "green",
    "<old>": "blue",
    "<tag>": "v2.5.1",
    "<NAME>": "PARTNER_API_TOKEN",
    "<value>": "sample-secret-value",
    "<snapshot>": "candlefish-pre-migration-0042",
    "<id-or-arn>": "candlefish-pre-migration-0042",
    "<snapshot-id-or-arn>": "arn:aws:rds:us-east-1:210987654321:snapshot:candlefish-pre-migration-0042",
};

/**
 * Values the program requires that no stack file carries: an operator sets them
 * once per stack with the docs' commands, so every other command runs on a
 * stack where they are set (what a working stack looks like).
 */
const SET_ONCE = STAND_INS.map((s) => s.key);

/** Where a doc command only makes sense after another edit, that edit runs first (with the real CLI too). */
const PRECONDITIONS: { match: RegExp; why: string; first: string[] }[] = [
    { match: /^pulumi config set activeColor blue\b/, why: "a rollback follows a switch", first: ["pulumi config set activeColor green"] },
    { match: /\.blue\.replicas 0\b/, why: "the old color is scaled down after the switch", first: ["pulumi config set activeColor green"] },
    { match: /^pulumi config set maintenanceMode false\b/, why: "maintenance ends after it began", first: ["pulumi config set maintenanceMode true"] },
];

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const APP_SERVICES = ["candlefish-website", "rtpm-api", "nanda-api", "otter-gateway"];

interface Ctx {
    readonly cmd: DocCommand;
    readonly key: string;
    readonly value: string | undefined;
    readonly diff: PlanDiff;
    /** Stand-ins the offline plan still needs after the command. */
    readonly standInsAfter: string[];
}

const names = (d: PlanDiff, type?: string) => d.changed.filter((c) => !type || c.type === type).map((c) => c.name).sort();
/** No workload is added, removed or changed: no pod restarts, no Job. */
const noPodChanges = (d: PlanDiff, what: string) => {
    const workload = /^kubernetes:(apps\/v1:(Deployment|StatefulSet|DaemonSet|ReplicaSet)|batch\/v1:Job|core\/v1:Pod)$/;
    for (const r of [...d.changed, ...d.added, ...d.removed]) assert.doesNotMatch(r.type, workload, `${what}: ${r.type} ${r.name}`);
};
const onlyTypes = (d: PlanDiff, types: string[], what: string) =>
    assert.deepEqual(d.changed.filter((c) => !types.includes(c.type)), [], `${what}: only ${types.join(", ")} change`);

/**
 * What each documented edit is meant to change in the offline plan (the docs'
 * own claims). A doc command whose key matches no entry fails until one is added.
 */
const INTENDED: { key: RegExp; says: string; check(c: Ctx): void }[] = [
    {
        key: /^activeColor$/,
        says: "only Service selectors change: every service's live and preview Service, at spec.selector.version",
        check({ diff }) {
            onlyTypes(diff, [SERVICE], "a switch");
            noPodChanges(diff, "a switch");
            assert.deepEqual(names(diff), APP_SERVICES.flatMap((s) => [`${s}-preview`, `${s}-service`]).sort());
            for (const c of diff.changed) assert.deepEqual(c.paths, ["spec.selector.version"], c.name);
        },
    },
    {
        key: /^services\.([^.]+)\.activeColor$/,
        says: "the override moves that service's live and preview Service selectors only",
        check({ diff, key }) {
            const svc = key.split(".")[1];
            onlyTypes(diff, [SERVICE], "a per-service switch");
            noPodChanges(diff, "a per-service switch");
            assert.deepEqual(names(diff), [`${svc}-preview`, `${svc}-service`]);
            for (const c of diff.changed) assert.deepEqual(c.paths, ["spec.selector.version"], c.name);
        },
    },
    {
        key: /^services\.([^.]+)\.(blue|green)\.imageTag$/,
        says: "only that color's Deployment gets the new image (plus that tag's migration Job where the service migrates)",
        check({ diff, key, value }) {
            const [, svc, color] = key.split(".");
            assert.deepEqual(names(diff), [`${svc}-${color}`]);
            assert.ok(diff.changed[0].paths.includes("spec.template.spec.containers.0.image"), JSON.stringify(diff.changed[0].paths));
            for (const r of [...diff.added, ...diff.removed]) assert.equal(r.type, "kubernetes:batch/v1:Job", `${r.type} ${r.name}`);
            if (diff.added.length) assert.deepEqual(diff.added.map((r) => r.name), [`${svc}-migrate-${value!.replace(/\./g, "-")}`]);
        },
    },
    {
        key: /^services\.([^.]+)\.(blue|green)\.replicas$/,
        says: "only that Deployment's spec.replicas changes",
        check({ diff, key }) {
            const [, svc, color] = key.split(".");
            assert.deepEqual(brief(diff), { changed: [{ type: DEPLOYMENT, name: `${svc}-${color}`, paths: ["spec.replicas"] }], added: [], removed: [] });
        },
    },
    {
        key: /^services\.([^.]+)\.(blue|green)\.featureFlags\.[A-Z0-9_]+$/,
        says: "the flag reaches that color's pods only (its container env)",
        check({ diff, key }) {
            const [, svc, color] = key.split(".");
            assert.deepEqual(names(diff), [`${svc}-${color}`]);
            assert.ok(diff.changed[0].paths.every((p) => p.startsWith("spec.template.spec.containers.0.env")), JSON.stringify(diff.changed[0].paths));
        },
    },
    {
        key: /^readOnlyMode$/,
        says: "READ_ONLY_MODE on both colors of all four services, nothing else",
        check({ diff }) {
            onlyTypes(diff, [DEPLOYMENT], "read-only mode");
            assert.deepEqual(names(diff), APP_SERVICES.flatMap((s) => [`${s}-blue`, `${s}-green`]).sort());
            for (const c of diff.changed) assert.ok(c.paths.every((p) => p.startsWith("spec.template.spec.containers.0.env")), `${c.name}: ${c.paths}`);
            assert.deepEqual([diff.added, diff.removed], [[], []]);
        },
    },
    {
        key: /^maintenanceMode$/,
        says: "only the Ingress changes",
        check({ diff }) {
            onlyTypes(diff, [INGRESS], "maintenance mode");
            assert.ok(diff.changed.length > 0, "the Ingress changes");
            assert.deepEqual([diff.added, diff.removed], [[], []]);
        },
    },
    {
        key: /^maintenance\.message$/,
        says: "the maintenance page's pods roll to the new page",
        check({ diff }) {
            assert.ok(diff.changed.some((c) => c.type === DEPLOYMENT && /maintenance/.test(c.name)), JSON.stringify(diff.changed));
            assert.ok(!diff.changed.some((c) => c.type === DEPLOYMENT && APP_SERVICES.some((s) => c.name.startsWith(s))), "the app services do not roll");
        },
    },
    {
        key: /^secrets\.jwtSecretVersion$/,
        says: "a new JWT secret, and the pods roll by themselves (checksum annotation)",
        check({ diff }) {
            assert.ok(diff.changed.some((c) => c.type === "random:index/randomPassword:RandomPassword" && c.name === "secrets-jwt"), JSON.stringify(diff.changed));
            for (const s of APP_SERVICES) for (const color of ["blue", "green"]) {
                const d = diff.changed.find((c) => c.type === DEPLOYMENT && c.name === `${s}-${color}`);
                assert.deepEqual(d?.paths, ["spec.template.metadata.annotations.checksum/secrets"], `${s}-${color}`);
            }
        },
    },
    {
        key: /^secrets\.jwtSecretRestoreVersionId$/,
        says: "the JWT secret gets that earlier version's value (no new random value), and the pods roll by themselves",
        check({ diff }) {
            assert.ok(diff.changed.some((c) => c.type === "aws:secretsmanager/secretVersion:SecretVersion" && c.name === "secrets-jwt-secret"), JSON.stringify(diff.changed));
            assert.ok(!diff.changed.some((c) => c.type === "random:index/randomPassword:RandomPassword"), JSON.stringify(diff.changed));
            for (const s of APP_SERVICES) for (const color of ["blue", "green"]) {
                const d = diff.changed.find((c) => c.type === DEPLOYMENT && c.name === `${s}-${color}`);
                assert.deepEqual(d?.paths, ["spec.template.metadata.annotations.checksum/secrets"], `${s}-${color}`);
            }
        },
    },
    {
        key: /^cache\.authToken(Version|Strategy)$/,
        says: "the Redis AUTH token (version) or its update strategy changes on the replication group; a new token reaches the pods through a roll",
        check({ diff, key }) {
            const rg = diff.changed.find((c) => c.type === "aws:elasticache/replicationGroup:ReplicationGroup");
            assert.deepEqual(rg?.paths, [key === "cache.authTokenVersion" ? "authToken" : "authTokenUpdateStrategy"], JSON.stringify(diff.changed));
            if (key === "cache.authTokenVersion")
                for (const s of APP_SERVICES) for (const color of ["blue", "green"]) {
                    const d = diff.changed.find((c) => c.type === DEPLOYMENT && c.name === `${s}-${color}`);
                    assert.deepEqual(d?.paths, ["spec.template.metadata.annotations.checksum/secrets"], `${s}-${color}`);
                }
            else noPodChanges(diff, "a strategy change");
        },
    },
    {
        key: /^secrets\.config\.[A-Z0-9_]+$/,
        says: "the app config secret gets the value (Secrets Manager) and the pods roll",
        check({ diff }) {
            assert.ok(diff.changed.some((c) => c.type.startsWith("aws:secretsmanager/")), JSON.stringify(diff.changed));
        },
    },
    {
        key: /^database\.restoreFromSnapshot$/,
        says: "the RDS instance is restored from the snapshot (a replacement, flagged stateful)",
        check({ diff }) {
            const db = diff.changed.find((c) => c.type === "aws:rds/instance:Instance");
            assert.ok(db && db.paths.includes("snapshotIdentifier"), JSON.stringify(diff.changed));
        },
    },
    {
        key: /^cluster\.(admin|deploy|readOnly)RoleArn$/,
        says: "the EKS access entry (and its access policy association) names the operator's role instead of the plan's stand-in",
        check({ diff }) {
            assert.deepEqual(diff.changed.map((c) => c.type).sort(), ["aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"], JSON.stringify(diff.changed));
            for (const c of diff.changed) assert.deepEqual(c.paths, ["principalArn"], JSON.stringify(diff.changed));
        },
    },
    {
        key: /^alerts\.slackWebhookUrl$/,
        says: "a secret the offline plan cannot read: nothing visible changes, and the plan no longer stands in for it",
        check({ diff, standInsAfter }) {
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
            assert.ok(!standInsAfter.includes("alerts.slackWebhookUrl"), JSON.stringify(standInsAfter));
        },
    },
    {
        key: /^local\.registry$/,
        says: "every app Deployment pulls from the new registry, nothing else changes",
        check({ diff }) {
            assert.deepEqual(names(diff), APP_SERVICES.flatMap((s) => [`${s}-blue`, `${s}-green`]).sort());
            for (const c of diff.changed) assert.deepEqual([c.type, c.paths], [DEPLOYMENT, ["spec.template.spec.containers.0.image"]], c.name);
            assert.deepEqual([diff.added, diff.removed], [[], []]);
        },
    },
    {
        key: /^local\.database\.host$/,
        says: "the rtpm-api-database Secret (DATABASE_URL) changes and the pods roll by their checksum annotation",
        check({ diff }) {
            const secret = diff.changed.find((c) => c.type === "kubernetes:core/v1:Secret");
            assert.equal(secret?.name, "app-secrets-rtpm-api-database", JSON.stringify(diff.changed));
            onlyTypes(diff, ["kubernetes:core/v1:Secret", DEPLOYMENT], "a database host");
            for (const d of diff.changed.filter((c) => c.type === DEPLOYMENT)) assert.deepEqual(d.paths, ["spec.template.metadata.annotations.checksum/secrets"], d.name);
            assert.ok(diff.changed.some((c) => c.name === "rtpm-api-blue") && diff.changed.some((c) => c.name === "rtpm-api-green"), "rtpm-api's pods roll");
        },
    },
    {
        key: /^local\.(database\.password|redis\.password|jwtSecret)$/,
        says: "a secret replacing a secret: the offline plan reads neither, so nothing visible changes (the CLI stored ciphertext, checked above)",
        check({ diff }) {
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
        },
    },
    {
        key: /^dns\.zone$/,
        says: "the operator's statement that the zone exists (the plan's own stand-in): nothing changes, and the plan no longer stands in for it",
        check({ diff, value, standInsAfter }) {
            assert.equal(value, "existing");
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
            assert.ok(!standInsAfter.includes("dns.zone"), JSON.stringify(standInsAfter));
        },
    },
    {
        key: /^bootstrap\.phase$/,
        says: "docs/FIRST-DEPLOY.md: on a stack whose services run, neither phase deletes or starts anything (the platform phase keeps what the last update ran)",
        check({ diff }) {
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
        },
    },
    {
        key: /^database\.credentialsVersion$/,
        says: "docs/DATABASE.md: the _b logins get new passwords, the role Job runs again, every app pod and the exporter roll; nothing stateful",
        check({ diff }) {
            const changed = new Map(diff.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
            for (const p of ["app", "monitor"]) {
                assert.deepEqual(changed.get(`random:index/randomPassword:RandomPassword::database-credentials-${p}-b`), ["keepers.generation"], p);
                assert.equal(changed.get(`random:index/randomPassword:RandomPassword::database-credentials-${p}-a`), undefined, `${p}-a keeps its password`);
            }
            for (const s of APP_SERVICES) for (const color of ["blue", "green"])
                assert.deepEqual(changed.get(`${DEPLOYMENT}::${s}-${color}`), ["spec.template.metadata.annotations.checksum/secrets"], `${s}-${color}`);
            for (const c of diff.changed) assert.doesNotMatch(c.type, /^aws:(rds|elasticache|kms|s3)\//, `${c.type} ${c.name}`);
        },
    },
    {
        key: /^cluster\.deletionProtection$/,
        says: "docs/FIRST-DEPLOY.md teardown: only the EKS cluster's deletion protection changes",
        check({ diff }) {
            assert.deepEqual(brief(diff), { changed: [{ type: "eks:index:Cluster", name: "candlefish-maturity-map-production-eks", paths: ["deletionProtection"] }], added: [], removed: [] });
        },
    },
    {
        key: /^imageScan\.acceptCriticalFindings\[\d+\]$/,
        says: "docs/SWITCH.md: an image's scan findings accepted, read by npm run scan-check and npm run switch only: nothing the program deploys changes",
        check({ diff }) {
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
        },
    },
    {
        key: /^dns\.zoneName$/,
        says: "candlefish.ai is already production's zone: nothing changes",
        check({ diff, value }) {
            assert.equal(value, "candlefish.ai");
            assert.deepEqual(brief(diff), { changed: [], added: [], removed: [] });
        },
    },
];

// --------------------------------------------------------------------------
// Running the CLI

interface RunResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly timedOut: boolean;
    readonly ms: number;
}

/** Runs a command in its own process group; on timeout the whole group is killed. */
function run(cmd: string, args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => {
            timedOut = true;
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                /* already gone */
            }
        }, opts.timeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, timedOut, ms: Date.now() - t0 });
        });
    });
}

const SKIP_COPY = new Set(["node_modules", "dist", ".git", "testbed", "coverage", "out", ".nyc_output", ".github", "docs", "test", "bench", "scripts"]);

/** A copy of the project in a temp dir with its own file backend; node_modules is a symlink to the repo's. */
class Workspace {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    private readonly pulumiBin = testbedTool("pulumi");

    constructor() {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-real-cli-"));
        const project = path.join(this.dir, "project");
        fs.mkdirSync(project);
        for (const e of fs.readdirSync(ROOT)) {
            if (SKIP_COPY.has(e) || e.startsWith(".")) continue;
            fs.cpSync(path.join(ROOT, e), path.join(project, e), { recursive: true });
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"), "dir");
        fs.mkdirSync(path.join(this.dir, "state"));
        const env: NodeJS.ProcessEnv = {};
        for (const [k, v] of Object.entries(process.env)) {
            // Nothing of the caller's cloud, cluster or Pulumi identity leaks in.
            if (/^(AWS_|PULUMI_ACCESS_TOKEN$|PULUMI_BACKEND_URL$|PULUMI_CONFIG_PASSPHRASE|PULUMI_STACK$|KUBECONFIG$)/.test(k)) continue;
            env[k] = v;
        }
        const closed = "http://127.0.0.1:9"; // discard port, nothing listens: a stray request fails at once, locally
        this.env = {
            ...env,
            // PATH (the tools first: the engine finds the language host there) and PULUMI_HOME as the set-up exported them.
            ...testbedEnv(),
            PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_SHARED_CREDENTIALS_FILE: path.join(this.dir, "no-aws-credentials"),
            AWS_CONFIG_FILE: path.join(this.dir, "no-aws-config"),
            AWS_ENDPOINT_URL: closed,
            AWS_ENDPOINT_URL_STS: closed,
            KUBECONFIG: path.join(this.dir, "no-kubeconfig"),
            NO_COLOR: "1",
        };
    }

    get project(): string {
        return path.join(this.dir, "project");
    }

    stackFile(stack: string): string {
        return path.join(this.project, `Pulumi.${stack}.yaml`);
    }

    /** The stack `pulumi stack select` (or `init`) last selected here. */
    selected: string | undefined;

    /** The stack a command acts on: its --stack, else the selected one. */
    private stackOf(args: readonly string[]): string | undefined {
        const i = args.findIndex((a) => a === "--stack" || a === "-s");
        if (i >= 0) return args[i + 1];
        const eq = args.find((a) => a.startsWith("--stack="));
        if (eq) return eq.slice("--stack=".length);
        if (args[0] === "stack" && (args[1] === "select" || args[1] === "init")) return args[2];
        return this.selected;
    }

    /** Runs the CLI with the passphrase of the stack the command acts on. */
    async pulumi(args: readonly string[], timeoutMs = CONFIG_TIMEOUT_MS): Promise<RunResult> {
        const stack = this.stackOf(args);
        const r = await run(this.pulumiBin, args, { cwd: this.project, env: { ...this.env, PULUMI_CONFIG_PASSPHRASE: passphraseFor(stack) }, timeoutMs });
        if (args[0] === "stack" && (args[1] === "select" || args[1] === "init") && r.code === 0) this.selected = args[2];
        return r;
    }

    /** `pulumi config set|get` as a doc shows it (shell words), with `--non-interactive` so a missing value fails instead of prompting. */
    config(argv: readonly string[]): Promise<RunResult> {
        assert.equal(argv[0], "pulumi");
        return this.pulumi([...argv.slice(1), "--non-interactive"]);
    }

    remove(): void {
        if (process.env.CANDLEFISH_KEEP_REAL_CLI_DIR) process.stderr.write(`kept ${this.dir}\n`);
        else fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

const out = (r: RunResult) => `${r.stdout}${r.stderr}`;
function ok(r: RunResult, what: string): RunResult {
    assert.ok(!r.timedOut, `${what}: timed out after ${r.ms} ms\n${out(r)}`);
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${out(r)}`);
    return r;
}

/** `pulumi config --json --show-secrets`: what the engine hands the program (every value decrypted). */
async function cliConfig(ws: Workspace, stack: string): Promise<Record<string, { value: string; objectValue?: unknown; secret: boolean }>> {
    const r = ok(await ws.pulumi(["config", "--json", "--show-secrets", "--stack", stack]), `pulumi config --json --show-secrets (${stack})`);
    return JSON.parse(r.stdout);
}

/** The program's config loader on what the CLI hands it (project keys; secret keys as the runtime marks them). */
function loaderView(stack: string, cfg: Awaited<ReturnType<typeof cliConfig>>): { parsed?: StackConfig; error?: ConfigError } {
    const raw: Record<string, string> = {};
    const secret = new Set<string>();
    const foreign: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg)) {
        if (!k.startsWith(`${PROJECT}:`)) {
            if (!v.secret) foreign[k] = v.value; // aws:region, as the runtime hands it over
            continue;
        }
        const key = k.slice(PROJECT.length + 1);
        raw[key] = v.value;
        if (v.secret) secret.add(key);
    }
    try {
        return { parsed: parseConfig(new ConfigSource(stack, raw, secret, foreign)) };
    } catch (e) {
        if (e instanceof ConfigError) return { error: e };
        throw e;
    }
}

/** The offline plan's view of a stack file (stand-ins applied), plus `--set` edits. */
function offline(stack: string, file: string, sets: string[] = []) {
    const cfg = readStack(stack, path.dirname(file), file);
    for (const s of sets) applySet(cfg, s);
    const standIns = applyStandIns(stack, cfg).map((s) => s.key);
    return { ...toRuntimeConfig(cfg), standIns };
}

async function planDiff(stack: string, before: string, after: string): Promise<PlanDiff> {
    let stdout = "";
    let stderr = "";
    const code = await planMain(["--stack", stack, "--config-file", after, "--diff", "--diff-base", before, "--json"], {
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
    });
    assert.equal(code, 0, `offline plan --diff: ${stderr}`);
    return JSON.parse(stdout);
}

/** A `pulumi config set --path` value as the CLI stores it: numbers and booleans typed. */
function typedValue(v: string): unknown {
    if (/^-?(0|[1-9][0-9]*)$/.test(v)) return Number(v);
    if (v === "true" || v === "false") return v === "true";
    return v;
}

function at(obj: unknown, segments: string[]): unknown {
    return segments.reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);
}

// --------------------------------------------------------------------------

describe("the real Pulumi CLI on copies of the stack files", function () {
    this.timeout(PREVIEW_TIMEOUT_MS + 60_000);
    let ws: Workspace;
    /** Each stack file right after `pulumi stack init` (its encryption salt added), to restore between commands. */
    const pristine: Record<string, string> = {};

    /** The repo's own project files as they were before any CLI ran. */
    const repoFiles = () => Object.fromEntries(["Pulumi.yaml", ...STACKS.map((s) => `Pulumi.${s}.yaml`)].map((f) => [f, fs.readFileSync(path.join(ROOT, f), "utf8")]));
    let repoBefore: Record<string, string>;

    before(async function () {
        repoBefore = repoFiles();
        ws = new Workspace();
        for (const stack of STACKS) {
            ok(await ws.pulumi(["stack", "init", stack, "--secrets-provider", "passphrase"]), `pulumi stack init ${stack}`);
            pristine[stack] = fs.readFileSync(ws.stackFile(stack), "utf8");
        }
    });
    after(() => ws?.remove());

    after("the repo's Pulumi.yaml and stack files are byte for byte as before", () => {
        assert.deepEqual(repoFiles(), repoBefore);
    });

    const restore = (stack: string) => fs.writeFileSync(ws.stackFile(stack), pristine[stack]);

    it("is the pinned CLI with the Kubernetes provider installed where the engine looks", async () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(testbedVersion("pulumi"), pkg.dependencies["@pulumi/pulumi"]);
        assert.equal(ok(await ws.pulumi(["version"]), "pulumi version").stdout.trim(), `v${pkg.dependencies["@pulumi/pulumi"]}`);
        const plugins = ok(await ws.pulumi(["plugin", "ls"]), "pulumi plugin ls").stdout;
        assert.match(plugins, new RegExp(`^kubernetes\\s+resource\\s+${pkg.dependencies["@pulumi/kubernetes"].replace(/\./g, "\\.")}\\s`, "m"), plugins);
    });

    it("stack init adds only the passphrase salt to a copied stack file (none where the file has its own); the repo's files are untouched", () => {
        for (const stack of STACKS) {
            const repo = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
            if (hasCommittedSalt(stack)) {
                assert.equal(pristine[stack], repo, `${stack}: its committed salt is used as it is`);
                continue;
            }
            const added = pristine[stack].slice(repo.length);
            assert.ok(pristine[stack].startsWith(repo), `${stack}: the copy starts with the repo's file`);
            assert.match(added, /^encryptionsalt: v1:\S+\n$/);
        }
        assert.ok(!hasCommittedSalt("production") && !hasCommittedSalt("staging"), "production and staging carry no salt: their secrets are the operator's");
    });

    for (const stack of STACKS) {
        it(`pulumi config (${stack}) lists every key Pulumi.yaml declares and decrypts every value`, async () => {
            restore(stack);
            const declared = Object.keys(YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config);
            const r = ok(await ws.pulumi(["config", "--stack", stack]), `pulumi config --stack ${stack}`);
            assert.equal(r.stderr, "", r.stderr);
            const listed = r.stdout.split("\n").slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean);
            // The project's declared keys, plus the stack file's keys of other namespaces (aws:region).
            const others = Object.keys(readStack(stack).values).filter((k) => !k.startsWith(`${PROJECT}:`));
            assert.deepEqual(listed.sort(), [...declared, ...others].sort());
            const cfg = await cliConfig(ws, stack);
            assert.equal(cfg[`${PROJECT}:activeColor`].value, readStack(stack).values[`${PROJECT}:activeColor`]);
            // Without a committed salt a stack file can hold no ciphertext a CLI could decrypt: it holds none.
            if (!hasCommittedSalt(stack)) assert.ok(Object.values(cfg).every((v) => !v.secret), JSON.stringify(cfg));
        });
    }

    it("a fake `secure:` value (the old production placeholder) is what `pulumi config --show-secrets` refuses", async () => {
        // Production as committed before this test existed: its alerts block held this placeholder.
        const doc = YAML.parse(pristine.production);
        doc.config[`${PROJECT}:alerts`].slackWebhookUrl = { secure: "v1:cGxhY2Vob2xkZXI=:c2V0LXdpdGgtcHVsdW1pLWNvbmZpZy1zZXQtLXNlY3JldA==" };
        const file = path.join(ws.dir, "Pulumi.production.fake.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const r = await ws.pulumi(["config", "--show-secrets", "--stack", "production", "--config-file", file]);
        assert.notEqual(r.code, 0, out(r));
        assert.match(out(r), /could not decrypt configuration values?: bad value: nonce size is incorrect/);
        const plain = await ws.pulumi(["config", "--show-secrets", "--stack", "production"]);
        assert.equal(plain.code, 0, out(plain));
    });

    it("the program's loader names production's unset required values and the exact commands; the other stacks need none", async () => {
        for (const stack of STACKS) restore(stack);
        for (const stack of STACKS.filter((s) => s !== "production")) {
            const v = loaderView(stack, await cliConfig(ws, stack));
            assert.equal(v.error, undefined, `${stack}: ${v.error?.message}`);
            assert.equal(v.parsed!.activeColor, readStack(stack).values[`${PROJECT}:activeColor`]);
        }
        const prod = loaderView("production", await cliConfig(ws, "production"));
        assert.ok(prod.error, "production needs its set-once values");
        assert.deepEqual(prod.error.issues.map((i) => i.key).sort(), [...SET_ONCE].sort());
        const msg = prod.error.message;
        assert.match(msg, /- cluster\.adminRoleArn: required in production: .*pulumi config set --path cluster\.adminRoleArn arn:aws:iam::<account>:role\/<name>/);
        assert.match(msg, /- alerts\.slackWebhookUrl: required in production: .*`pulumi config set --secret --path alerts\.slackWebhookUrl https:\/\/hooks\.slack\.com\/services\/\S+`/);
    });

    describe("every `pulumi config set|get` the docs (DOC_FILES) show, run literally", () => {
        const { commands, mentions } = docCommands(ROOT);
        const setOnce = (key: string) => {
            const c = commands.find((x) => x.verb === "set" && x.key === key);
            assert.ok(c, `the docs show no command that sets ${key}, a value every production stack must set`);
            return substitute(c.argv.join("\u0001"), SAMPLES, c.where).split("\u0001");
        };
        /** Production with the set-once values set by the docs' own commands (real CLI), saved once. */
        let ready: string | undefined;
        const readyProduction = async (except?: string) => {
            restore("production");
            if (except === undefined && ready !== undefined) return fs.writeFileSync(ws.stackFile("production"), ready);
            if (ws.selected !== "production") ok(await ws.pulumi(["stack", "select", "production"]), "pulumi stack select production");
            for (const key of SET_ONCE) if (key !== except) ok(await ws.config(setOnce(key)), `set-once ${key}`);
            if (except === undefined) ready = fs.readFileSync(ws.stackFile("production"), "utf8");
        };

        it("finds the commands (and only bare mentions are not run)", () => {
            assert.ok(commands.length >= 25, `found ${commands.length}`);
            for (const m of mentions) assert.match(m.text, /^pulumi config (set|get)( --[a-z]+)*( \.\.\.)?$/, `${m.where}: ${m.text}`);
            for (const c of commands) if (c.verb === "set") assert.ok(c.value !== undefined, `${c.where}: \`${c.text}\` has no value: the CLI would prompt for one`);
            for (const c of commands) for (const p of placeholders(c.text)) assert.ok(p in SAMPLES, `${c.where}: no sample for ${p}`);
            for (const c of commands.filter((x) => x.verb === "set")) {
                const key = substitute(c.key, SAMPLES, c.where);
                assert.ok(INTENDED.some((i) => i.key.test(key)), `${c.where}: \`${c.text}\`: no intended change for ${key} in INTENDED (test/real-cli.test.ts)`);
            }
        });

        for (const c of commands) {
            const where = [c.where, ...c.also].join(", ");
            it(`${where}: ${c.text}`, async function () {
                const argv = substitute(c.argv.join("\u0001"), SAMPLES, c.where).split("\u0001");
                const line = argv.join(" ");
                const stack = c.stack ? substitute(c.stack, SAMPLES, c.where) : "production";
                assert.ok(STACKS.includes(stack), `${c.where}: no Pulumi.${stack}.yaml`);
                const keyArg = substitute(c.key, SAMPLES, c.where);
                const value = c.value === undefined ? undefined : substitute(c.value, SAMPLES, c.where);

                // The stack as it would be when an operator runs this command.
                if (stack === "production") await readyProduction(SET_ONCE.includes(keyArg) ? keyArg : undefined);
                else restore(stack);
                // As the docs: production is the selected stack; a command for another names it with --stack.
                if (ws.selected !== "production") ok(await ws.pulumi(["stack", "select", "production"]), "pulumi stack select production");
                for (const p of PRECONDITIONS.filter((p) => p.match.test(line))) {
                    for (const first of p.first) ok(await ws.config(first.split(" ")), `${first} (${p.why})`);
                }
                const before = path.join(ws.dir, "before.yaml");
                fs.copyFileSync(ws.stackFile(stack), before);

                if (c.verb === "get") {
                    const r = ok(await ws.config(argv), line);
                    const segments = c.path ? parsePath(keyArg).map(String) : [keyArg];
                    // What the whole config says (decrypted), and, for a plaintext value, what the file says.
                    const entry = (await cliConfig(ws, stack))[`${PROJECT}:${segments[0]}`];
                    const expected = segments.length > 1 ? at(entry?.objectValue, segments.slice(1)) : entry?.value;
                    assert.notEqual(expected, undefined, `${keyArg} is set in Pulumi.${stack}.yaml`);
                    assert.equal(r.stdout.trim(), String(expected));
                    const inFile = at(readStack(stack, path.dirname(before), before).values[`${PROJECT}:${segments[0]}`], segments.slice(1));
                    if (!entry.secret) assert.equal(String(inFile), String(expected));
                    return;
                }

                ok(await ws.config(argv), line);
                const after = fs.readFileSync(ws.stackFile(stack), "utf8");

                // What the engine will hand the program: decrypted, typed as the CLI stored it.
                const cfg = await cliConfig(ws, stack);
                const segments = c.path ? parsePath(keyArg).map(String) : [keyArg];
                const entry = cfg[`${PROJECT}:${segments[0]}`];
                assert.ok(entry, `${keyArg}: not in pulumi config`);
                const stored = c.path && segments.length > 1 ? at(entry.objectValue, segments.slice(1)) : entry.value;
                assert.deepEqual(stored, c.path ? typedValue(value!) : value, `${keyArg} as stored`);
                if (c.path && typeof typedValue(value!) !== "string") assert.equal(typeof stored, typeof typedValue(value!), `${keyArg} keeps its type`);
                if (c.secret) {
                    assert.equal(entry.secret, true, `${segments[0]} is secret`);
                    assert.ok(!after.includes(value!), "the stack file holds ciphertext, not the value");
                }
                // The program's loader accepts it, with the intended types.
                const view = loaderView(stack, cfg);
                assert.equal(view.error, undefined, view.error?.message);
                if (segments.length === 1 && segments[0] in view.parsed!) assert.deepEqual((view.parsed as any)[segments[0]], typedValue(value!), `parsed ${segments[0]}`);

                // The offline plan reads the CLI's stack file as its own --set emulation of the command.
                const afterFile = path.join(ws.dir, "after.yaml");
                fs.writeFileSync(afterFile, after);
                const planned = offline(stack, afterFile);
                if (!c.secret) assert.deepEqual(planned.config, offline(stack, before, [`${keyArg}=${value}`]).config);

                // And shows the change the docs promise.
                const diff = await planDiff(stack, before, afterFile);
                const intended = INTENDED.find((i) => i.key.test(keyArg))!;
                intended.check({ cmd: c, key: keyArg, value, diff, standInsAfter: planned.standIns });
            });
        }
    });

    describe("pulumi preview gets through config and decryption into the program; the AWS provider stops it", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const awsVersion: string = pkg.dependencies["@pulumi/aws"];
        // The program's one explicit AWS provider (platforms/aws.ts); the default one is disabled in the stack files.
        const awsProvider = "pulumi:providers:aws (aws)";
        // The testbed builds no AWS provider (its Go module is far too large for a test set-up), so the engine
        // stops where it would start it. With the plugin installed, the provider itself stops without credentials.
        const AWS_STOP = new RegExp(
            `no resource plugin 'pulumi-resource-aws' found in the workspace at version v${awsVersion.replace(/\./g, "\\.")}` +
                "|No valid credential sources found|failed to refresh cached credentials|unable to validate AWS credentials",
        );

        async function preview(stack: string): Promise<{ r: RunResult; text: string; diagnostics: Record<string, string[]> }> {
            const r = await ws.pulumi(["preview", "--stack", stack, "--non-interactive", "--color", "never"], PREVIEW_TIMEOUT_MS);
            assert.ok(!r.timedOut, `pulumi preview --stack ${stack} timed out after ${r.ms} ms:\n${out(r)}`);
            const text = out(r);
            process.stderr.write(`      (pulumi preview --stack ${stack}: ${(r.ms / 1000).toFixed(1)} s, exit ${r.code})\n`);
            // Nothing about config or secrets: those are what this test is for.
            assert.doesNotMatch(text, /failed to decrypt|could not decrypt|nonce size|decrypt/i);
            assert.doesNotMatch(text, /validating stack config|is missing configuration|must be of type|is not namespaced/);
            return { r, text, diagnostics: diagnosticsOf(text) };
        }

        /** `Diagnostics:` of a preview: "<type> (<name>)" to its error lines. */
        function diagnosticsOf(text: string): Record<string, string[]> {
            const d: Record<string, string[]> = {};
            const section = text.split(/^Diagnostics:$/m)[1]?.split(/^Resources:$/m)[0] ?? "";
            let cur: string | undefined;
            for (const line of section.split("\n")) {
                const head = /^  (\S+ \(.+\)):$/.exec(line);
                if (head) cur = head[1];
                else if (cur && /^    error: /.test(line)) (d[cur] ??= []).push(line.trim());
            }
            return d;
        }

        it("staging: the program runs and registers resources; the only error is the AWS provider's", async () => {
            restore("staging");
            const { r, text, diagnostics } = await preview("staging");
            assert.equal(r.code, 1, text);
            assert.match(text, /pulumi:pulumi:Stack candlefish-maturity-map-staging/);
            assert.deepEqual(Object.keys(diagnostics), [awsProvider], text);
            assert.match(diagnostics[awsProvider].join("\n"), AWS_STOP);
        });

        it("production as committed: the program itself stops, naming every set-once value and its command", async () => {
            restore("production");
            const { r, text, diagnostics } = await preview("production");
            assert.equal(r.code, 1, text);
            assert.deepEqual(Object.keys(diagnostics), ["pulumi:pulumi:Stack (candlefish-maturity-map-production)"], text);
            // Just the message: no stack trace, no object dump.
            assert.doesNotMatch(text, /unhandled exception|at ConfigSource\.finish|issues: \[/);
            assert.match(
                text,
                /error: invalid stack config:\n\s+- cluster\.adminRoleArn: required in production: .*\(pulumi config set --path cluster\.adminRoleArn arn:aws:iam::<account>:role\/<name>\)\n\s+- cluster\.deployRoleArn: required in production: .*\n\s+- cluster\.readOnlyRoleArn: required in production: .*\n\s+- dns\.zone: required: .*\(pulumi config set --path dns\.zone existing\)\n\s+- alerts\.slackWebhookUrl: required in production: .*Set it with `pulumi config set --secret --path alerts\.slackWebhookUrl https:\/\/hooks\.slack\.com\/services\/\S+`/,
            );
            assert.doesNotMatch(text, AWS_STOP, "nothing reached a provider");
        });

        it("production after the docs' set-once commands (one with --secret): the AWS provider is what stops it", async () => {
            restore("production");
            ok(await ws.pulumi(["stack", "select", "production"]), "pulumi stack select production");
            const { commands } = docCommands(ROOT);
            for (const key of SET_ONCE) {
                const c = commands.find((x) => x.verb === "set" && x.key === key)!;
                ok(await ws.config(substitute(c.argv.join("\u0001"), SAMPLES, c.where).split("\u0001")), c.text);
            }
            const file = fs.readFileSync(ws.stackFile("production"), "utf8");
            assert.match(file, /slackWebhookUrl:\n\s+secure: v1:/, "the webhook is stored encrypted");
            const { r, text, diagnostics } = await preview("production");
            assert.equal(r.code, 1, text);
            assert.match(text, /pulumi:pulumi:Stack candlefish-maturity-map-production/);
            assert.deepEqual(Object.keys(diagnostics), [awsProvider], text);
            assert.match(diagnostics[awsProvider].join("\n"), AWS_STOP);
        });

        it("Pulumi.yaml's scalar types are checked by the CLI before the program runs", async () => {
            restore("staging");
            ok(await ws.pulumi(["config", "set", "readOnlyMode", "yes", "--stack", "staging"]), "config set readOnlyMode yes");
            const r = await ws.pulumi(["preview", "--stack", "staging", "--non-interactive", "--color", "never"], PREVIEW_TIMEOUT_MS);
            restore("staging");
            assert.equal(r.code, 1, out(r));
            assert.match(out(r), /validating stack config: Stack 'staging' with configuration key 'readOnlyMode' must be of type 'boolean'/);
        });

        it("an undeclared key passes the CLI; the program refuses it, naming it with a did-you-mean", async () => {
            restore("staging");
            ok(await ws.pulumi(["config", "set", "activeColour", "green", "--stack", "staging"]), "config set activeColour green");
            const r = await ws.pulumi(["preview", "--stack", "staging", "--non-interactive", "--color", "never"], PREVIEW_TIMEOUT_MS);
            restore("staging");
            assert.equal(r.code, 1, out(r));
            assert.match(out(r), /error: invalid stack config:\n\s+- activeColour: unknown key; did you mean "activeColor"\?/);
            assert.doesNotMatch(out(r), /unhandled exception|at ConfigSource\.finish/);
            assert.doesNotMatch(out(r), AWS_STOP, "nothing reached a provider");
        });
    });
});
