// The offline plan as a reviewer and a CI job use it (issue 3): flags, the
// one-JSON-document contract, diffs that answer "does this rollback touch
// anything but the Service selectors?", --out files, and every error path
// (non-zero exit, nothing on stdout, the key or flag named on stderr).
// Most cases call main() in-process; two spawn the real command.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { OFFLINE_PROVIDER_TEXT } from "../plan/fast";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { UsageError, parseArgs } from "../plan/cli";
import { OUT_MARKER, apiVersionOf, kubernetesObjects } from "../plan/out";
import { formatDiff, formatPolicy, planDocument, scrubbed, statefulKind } from "../plan/summary";
import { Rendered, Secret } from "../plan/render";
import { ROOT, SECURE_PLACEHOLDER, readStack } from "../plan/stackfile";
import { PROJECT } from "../config/source";
import { brief, DEPLOYMENT, plan, renderStack, Run, SERVICE, SERVICES } from "./harness";


/** A failed run: the exit code, empty stdout, and stderr naming `what`. */
function assertRejected(r: Run, code: number, ...what: (string | RegExp)[]): void {
    assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, "", "nothing on stdout");
    for (const w of what) {
        if (typeof w === "string") assert.ok(r.stderr.includes(w), `stderr names ${w}: ${r.stderr}`);
        else assert.match(r.stderr, w);
    }
}

function tmpdir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
}

/** The stack's color that is not live, and its service/replica settings, read from the stack file. */
const prodServices = () => readStack("production").values[`${PROJECT}:services`] as Record<string, any>;
const prodActive = () => readStack("production").values[`${PROJECT}:activeColor`] as string;
const other = (c: string) => (c === "blue" ? "green" : "blue");

/** One render of production, shared by the tests that compare against it. */
let prodRender: Promise<Rendered> | undefined;
const production = () => (prodRender ??= renderStack("production"));

describe("plan CLI: flags", function () {
    it("defaults to the production stack, the summary and no edits", () => {
        assert.deepEqual(parseArgs([]), { stack: "production", sets: [], secretSets: [], json: false, diff: false, policy: false, help: false });
    });

    it("takes values as separate words or after =, and --set repeatedly in order", () => {
        const a = parseArgs(["--stack=staging", "--set", "activeColor=green", "--set=services.rtpm-api.green.replicas=4", "--json", "--out", "/tmp/x"]);
        assert.equal(a.stack, "staging");
        assert.deepEqual(a.sets, ["activeColor=green", "services.rtpm-api.green.replicas=4"]);
        assert.equal(a.json, true);
        assert.equal(a.out, "/tmp/x");
    });

    it("refuses bad invocations, naming the flag", () => {
        const cases: [string[], RegExp][] = [
            [["--jsn"], /--jsn: unknown flag/],
            [["--stak", "x"], /--stak: unknown flag/],
            [["activeColor=green"], /activeColor=green: unexpected argument; .*--set activeColor=green/],
            [["--stack"], /--stack: expects a value/],
            [["--set", "--json"], /--set: expects a value/],
            [["--out"], /--out: expects a value/],
            [["--stack", "a", "--stack", "b"], /--stack: given more than once/],
            [["--json=yes"], /--json: takes no value/],
        ];
        for (const [argv, re] of cases) assert.throws(() => parseArgs(argv), (e: Error) => e instanceof UsageError && re.test(e.message), argv.join(" "));
    });

    it("--help prints the usage on stdout and exits 0", async () => {
        const r = await plan("--help");
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^usage: npx --no -- candlefish-plan \[--stack NAME\] \[--set PATH=VALUE\]\.\.\. \[--json\] \[--diff\] \[--out DIR\] \[--policy\]/);
    });
});

describe("plan CLI: stand-ins for required values the stack file leaves unset", function () {
    this.timeout(60000);
    it("production renders, and stderr says which values were stood in for and how to set them", async () => {
        const r = await plan("--json");
        assert.equal(r.code, 0, r.stderr);
        JSON.parse(r.stdout);
        assert.match(
            r.stderr,
            /^note: stack production leaves required values unset; the offline plan stands in for them \(cluster\.adminRoleArn=arn:aws:iam::123456789012:role\/offline-plan-stand-in, cluster\.deployRoleArn=arn:aws:iam::123456789012:role\/offline-plan-deploy-stand-in, cluster\.readOnlyRoleArn=arn:aws:iam::123456789012:role\/offline-plan-read-only-stand-in, alerts\.slackWebhookUrl=\[secret\], dns\.zone=existing\)\. A real pulumi preview\/up stops until they are set: pulumi config set --path cluster\.adminRoleArn \.\.\.; pulumi config set --path cluster\.deployRoleArn \.\.\.; pulumi config set --path cluster\.readOnlyRoleArn \.\.\.; pulumi config set --secret --path alerts\.slackWebhookUrl \.\.\.; pulumi config set --path dns\.zone \.\.\.$/m,
        );
        assert.ok(!r.stderr.includes(SECURE_PLACEHOLDER));
    });

    it("no note where nothing is stood in for (staging; production with every value set)", async () => {
        const staging = await plan("--stack", "staging", "--json");
        assert.equal(staging.code, 0, staging.stderr);
        assert.doesNotMatch(staging.stderr, /stands in/);
        const dir = tmpdir();
        const file = path.join(dir, "Pulumi.production.yaml");
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"));
        doc.config[`${PROJECT}:cluster`] = {
            adminRoleArn: "arn:aws:iam::210987654321:role/ops/admins",
            deployRoleArn: "arn:aws:iam::210987654321:role/ci/deploy",
            readOnlyRoleArn: "arn:aws:iam::210987654321:role/ops/readers",
        };
        doc.config[`${PROJECT}:alerts`].slackWebhookUrl = { secure: "v1:AAAAplanTestCiphertext0123" };
        doc.config[`${PROJECT}:dns`] = { zone: "existing" };
        fs.writeFileSync(file, YAML.stringify(doc));
        try {
            const r = await plan("--config-file", file, "--json");
            assert.equal(r.code, 0, r.stderr);
            assert.doesNotMatch(r.stderr, /stands in/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("plan CLI: --json", function () {
    this.timeout(60000);
    let doc: any;
    let rendered: Rendered;
    before(async () => {
        const r = await plan("--json");
        assert.equal(r.code, 0, r.stderr);
        doc = JSON.parse(r.stdout); // exactly one document, or this throws
        rendered = await production();
    });

    it("prints exactly one JSON document with the contract's keys", () => {
        assert.deepEqual(Object.keys(doc), ["stack", "resources", "outputs"]);
        assert.equal(doc.stack, "production");
        for (const r of doc.resources) {
            assert.deepEqual(Object.keys(r), ["type", "name", "inputs", "options"], `${r.type} ${r.name}`);
            assert.deepEqual(Object.keys(r.options), ["protect", "retainOnDelete", "parent", "dependsOn"]);
            assert.equal(typeof r.options.protect, "boolean");
            assert.equal(typeof r.options.retainOnDelete, "boolean");
            assert.ok(Array.isArray(r.options.dependsOn));
        }
    });

    it("lists every registered resource in order, with parents and dependsOn as <type>::<name> of listed resources", () => {
        assert.deepEqual(
            doc.resources.map((r: any) => `${r.type}::${r.name}`),
            rendered.resources.filter((r) => !r.read).map((r) => `${r.type}::${r.name}`),
        );
        const refs = new Set(doc.resources.map((r: any) => `${r.type}::${r.name}`));
        for (const r of doc.resources) {
            if (r.options.parent !== null) assert.ok(refs.has(r.options.parent), `${r.name}: parent ${r.options.parent}`);
            for (const d of r.options.dependsOn) assert.ok(refs.has(d), `${r.name}: dependsOn ${d}`);
        }
    });

    it("carries the inputs the provider would receive", () => {
        const svcs = prodServices();
        const dep = doc.resources.find((r: any) => r.type === DEPLOYMENT && r.name === "rtpm-api-blue");
        assert.equal(dep.options.parent, "candlefish:apps:BlueGreenService::rtpm-api");
        assert.equal(dep.inputs.spec.replicas, svcs["rtpm-api"].blue.replicas);
        assert.match(dep.inputs.spec.template.spec.containers[0].image, new RegExp(`/rtpm-api:${svcs["rtpm-api"].blue.imageTag.replace(/\./g, "\\.")}$`));
        const live = doc.resources.find((r: any) => r.type === SERVICE && r.name === "rtpm-api-service");
        assert.equal(live.inputs.spec.selector.version, prodActive());
        const ns = doc.resources.find((r: any) => r.type === "kubernetes:core/v1:Namespace" && r.name === "production");
        assert.equal(ns.options.protect, true);
    });

    it("includes the stack outputs", () => {
        assert.deepEqual(doc.outputs.liveColors, Object.fromEntries(SERVICES.map((s) => [s, prodActive()])));
        assert.equal(doc.outputs.namespace, "production");
    });
});

describe("plan CLI: summary", function () {
    this.timeout(60000);
    it("counts resources by type and shows each service's live color, images and replicas", async () => {
        const r = await plan();
        assert.equal(r.code, 0, r.stderr);
        const rendered = await production();
        const deployments = rendered.resources.filter((x) => x.type === DEPLOYMENT).length;
        assert.ok(deployments >= 8);
        assert.match(r.stdout, new RegExp(`^\\s+${deployments}  kubernetes:apps/v1:Deployment$`, "m"));
        assert.match(r.stdout, new RegExp(`^Resources: ${rendered.resources.filter((x) => x.custom && !x.read).length} to create`, "m"));
        const svcs = prodServices();
        const live = prodActive();
        for (const name of SERVICES) {
            const b = svcs[name].blue;
            const g = svcs[name].green;
            const row = new RegExp(`^\\s+${name}\\s+production\\s+${live}\\s+\\S+/${name}:${b.imageTag}\\s+${b.replicas}\\s+\\S+/${name}:${g.imageTag}\\s+${g.replicas}$`, "m");
            assert.match(r.stdout, row, `row for ${name}`);
        }
    });

    it("reflects --set edits (pulumi config set --path semantics, YAML scalar values)", async () => {
        const r = await plan("--stack", "staging", "--set", "activeColor=blue", "--set", 'services["nanda-api"].blue.replicas=7', "--json");
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        const dep = doc.resources.find((x: any) => x.type === DEPLOYMENT && x.name === "nanda-api-blue");
        assert.equal(dep.inputs.spec.replicas, 7); // a number, not "7"
        for (const s of SERVICES) assert.equal(doc.resources.find((x: any) => x.type === SERVICE && x.name === `${s}-service`).inputs.spec.selector.version, "blue");
        assert.equal(doc.stack, "staging");
    });
});

describe("plan CLI: --diff", function () {
    this.timeout(60000);

    it("shows a change to a remote component's inputs (eks:index:Cluster, built by the eks provider)", async () => {
        const r = await plan("--diff", "--json", "--set", "cluster.publicAccessCidrs[0]=203.0.113.0/24");
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.deepEqual(brief(doc), {
            changed: [{ type: "eks:index:Cluster", name: "candlefish-maturity-map-production-eks", paths: ["endpointPublicAccess", "publicAccessCidrs"] }],
            added: [],
            removed: [],
        });
        // A remote component: its own provider decides what its children do, so the plan does not claim an update.
        assert.deepEqual([doc.changed[0].replace, doc.changed[0].replaceKnown], [false, false]);
        const rendered = await production();
        const eks = rendered.resources.find((x) => x.type === "eks:index:Cluster")!;
        assert.deepEqual([eks.custom, eks.remote], [false, true]);
        assert.ok(rendered.resources.filter((x) => !x.custom && x.type.startsWith("candlefish:")).every((x) => !x.remote), "the program's own components are local");
    });

    it("a color flip changes only the Service selectors: each service's live and preview Service", async () => {
        const live = prodActive();
        const r = await plan("--diff", "--json", "--set", `activeColor=${other(live)}`);
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout);
        assert.deepEqual(Object.keys(d), ["stack", "changed", "added", "removed", "summary"]);
        assert.equal(d.stack, "production");
        assert.equal(d.summary, `4 services: live ${live} \u2192 ${other(live)}; nothing else changes`);
        // Plus the promotion gates: one added for the new color, one removed for the old, per service.
        assert.deepEqual(d.added.map((a: any) => a.name).sort(), SERVICES.map((s) => `${s}-gate-${other(live)}`).sort());
        assert.deepEqual(d.removed.map((a: any) => a.name).sort(), SERVICES.map((s) => `${s}-gate-${live}`).sort());
        const expected = SERVICES.flatMap((s) => [`${s}-service`, `${s}-preview`]).sort();
        assert.deepEqual(d.changed.map((c: any) => c.name).sort(), expected);
        for (const c of d.changed) {
            assert.equal(c.type, SERVICE);
            assert.deepEqual(c.paths, ["spec.selector.version"]);
            assert.equal(c.replace, false);
            const svc = c.name.replace(/-(service|preview)$/, "");
            assert.equal(c.component, `candlefish:apps:BlueGreenService::${svc}`);
            const [from, to] = c.name.endsWith("-service") ? [live, other(live)] : [other(live), live];
            assert.deepEqual(c.values, { "spec.selector.version": { old: from, new: to } });
        }
    });

    it("an inactive-color image bump changes one Deployment, the inactive one, and only its image", async () => {
        const idle = other(prodActive());
        const r = await plan("--diff", "--json", "--set", `services.nanda-api.${idle}.imageTag=v9.9.9`);
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout);
        assert.deepEqual(brief(d).changed, [{ type: DEPLOYMENT, name: `nanda-api-${idle}`, paths: ["spec.template.spec.containers.0.image"] }]);
        assert.equal(d.changed[0].replace, false, "a Deployment's template is updated in place (a rollout), not replaced");
        assert.deepEqual([...d.added, ...d.removed], []);
    });

    it("a region change is a change (issue 12 item 16: it printed \"(no changes)\"): the provider's region, every subnet's zone, the bucket's name", async () => {
        const r = await plan("--diff", "--json", "--set", "aws:region=us-west-2");
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout);
        const provider = d.changed.find((c: any) => c.type === "pulumi:providers:aws");
        assert.deepEqual([provider.name, provider.paths, provider.values.region], ["aws", ["region"], { old: "us-east-1", new: "us-west-2" }]);
        const subnets = (list: any[]) => list.filter((x) => x.type === "aws:ec2/subnet:Subnet").map((x) => x.name.replace(/^candlefish-production-/, "")).sort();
        assert.deepEqual(subnets(d.added), ["a", "b", "c"].flatMap((z) => [`private-us-west-2${z}`, `public-us-west-2${z}`]).sort());
        assert.deepEqual(subnets(d.removed), ["a", "b", "c"].flatMap((z) => [`private-us-east-1${z}`, `public-us-east-1${z}`]).sort());
        assert.deepEqual(d.changed.find((c: any) => c.name === "backups-bucket").paths, ["bucket"]);
        const text = await plan("--diff", "--set", "aws:region=us-west-2");
        assert.doesNotMatch(text.stdout, /\(no changes\)/);
        assert.match(text.stdout, /pulumi:providers:aws aws/);
        assert.match(text.stdout, /region: "us-east-1" → "us-west-2"/);
    });

    it("prints preview-like lines without --json", async () => {
        const r = await plan("--diff", "--set", `activeColor=${other(prodActive())}`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^ {2}~ kubernetes:core\/v1:Service rtpm-api-service \[spec\.selector\.version\]$/m);
        assert.match(r.stdout, /^ {2}\+ pulumi-nodejs:dynamic\/candlefish:Resource rtpm-api-gate-/m);
        assert.match(r.stdout, /^Changes: 8 to update, 0 to replace, 4 to create, 4 to delete$/m);
        assert.doesNotMatch(r.stdout, /STATEFUL/);
    });

    it("--diff-base compares with another stack file (a PR's base), plus any --set edits", async () => {
        const live = prodActive();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diff-base-"));
        const base = path.join(dir, "Pulumi.production.yaml");
        // The base branch had the other color live and an older nanda-api on the idle color.
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8");
        const doc = YAML.parse(text);
        doc.config["candlefish-maturity-map:activeColor"] = other(live);
        fs.writeFileSync(base, YAML.stringify(doc));
        const r = await plan("--diff", "--json", "--diff-base", base);
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout);
        assert.deepEqual(d.changed.map((c: any) => c.name).sort(), SERVICES.flatMap((s) => [`${s}-preview`, `${s}-service`]).sort());
        assert.equal(d.summary, `4 services: live ${other(live)} \u2192 ${live}; nothing else changes`);
        for (const c of d.changed) assert.deepEqual(c.paths, ["spec.selector.version"]);
        const text2 = await plan("--diff", "--diff-base", base);
        assert.ok(text2.stdout.includes(`Offline diff of stack production: ${base} -> Pulumi.production.yaml\n`), text2.stdout.slice(0, 200));
        assert.throws(() => parseArgs(["--diff-base", base]), /--diff-base: only with --diff/);
        // A missing base is named as --diff-base (not --config-file), exit 2, nothing on stdout.
        const nope = path.join(dir, "nope.yaml");
        assertRejected(await plan("--diff", "--diff-base", nope), 2, `--diff-base: no such file ${nope}`);
        assert.doesNotMatch((await plan("--diff", "--diff-base", nope)).stderr, /--config-file/);
    });

    it("with no edits reports no changes", async () => {
        const r = await plan("--diff", "--json");
        assert.deepEqual(JSON.parse(r.stdout), { stack: "production", changed: [], added: [], removed: [], summary: "no changes" });
    });

    it("flags changes to stateful resources loudly, decided by type token", () => {
        const kinds: [string, string | undefined][] = [
            ["aws:rds/instance:Instance", "database"],
            ["aws:elasticache/replicationGroup:ReplicationGroup", "cache"],
            ["aws:s3/bucketV2:BucketV2", "bucket"],
            ["aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "bucket"],
            ["aws:ecr/repository:Repository", "repository"],
            ["aws:secretsmanager/secret:Secret", "secret"],
            ["aws:kms/key:Key", "key"],
            ["kubernetes:core/v1:Secret", "secret or volume"],
            ["random:index/randomPassword:RandomPassword", "secret"],
            ["kubernetes:core/v1:Service", undefined],
            ["kubernetes:apps/v1:Deployment", undefined],
            ["aws:rds/subnetGroup:SubnetGroup", undefined],
            ["eks:index:Cluster", undefined],
        ];
        for (const [t, k] of kinds) assert.equal(statefulKind(t), k, t);
        const change = (type: string, name: string, path: string, old: unknown, now: unknown) => ({
            type,
            name,
            component: null,
            paths: [path],
            replace: false,
            replaceBecause: [],
            mayReplace: [],
            replaceKnown: true,
            protect: false,
            retainOnDelete: false,
            values: { [path]: { old, new: now } },
        });
        const text = formatDiff(
            {
                changed: [change("aws:rds/instance:Instance", "candlefish-db", "engineVersion", "16.1", "16.2"), change(SERVICE, "rtpm-api-service", "spec.selector.version", "blue", "green")],
                added: [],
                removed: [{ type: "aws:kms/key:Key", name: "data-key", component: null }],
            },
            { stack: "production", edits: ["--set x=1"] },
        );
        assert.match(text, /^Offline diff of stack production: --set x=1$/m);
        assert.match(text, /^ {2}~ aws:rds\/instance:Instance candlefish-db \[engineVersion\] {3}<-- STATEFUL \(database\)$/m);
        assert.match(text, /^ {6}engineVersion: "16\.1" \u2192 "16\.2"$/m);
        assert.match(text, /^ {2}~ kubernetes:core\/v1:Service rtpm-api-service \[spec\.selector\.version\]$/m);
        assert.match(text, /^ {2}- aws:kms\/key:Key data-key {3}<-- STATEFUL \(key\)$/m);
        assert.match(text, /!!! WARNING: this edit touches 2 STATEFUL resource\(s\)/);
    });
});

describe("plan CLI: --out", function () {
    this.timeout(60000);

    it("writes one YAML file per Kubernetes object at <namespace or _cluster>/<Kind>-<name>.yaml", async () => {
        const dir = path.join(tmpdir(), "out");
        const r = await plan("--out", dir, "--json");
        assert.equal(r.code, 0, r.stderr);
        JSON.parse(r.stdout); // --out does not disturb the JSON document
        const rendered = await production();
        const k8s = rendered.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:") && !x.type.startsWith("kubernetes:helm.sh/"));
        const files = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".yaml")).sort();
        assert.equal(files.length, k8s.length);
        assert.ok(files.includes(path.join("_cluster", "Namespace-production.yaml")), files.join(" "));

        const dep = YAML.parse(fs.readFileSync(path.join(dir, "production", "Deployment-rtpm-api-blue.yaml"), "utf8"));
        assert.deepEqual(Object.keys(dep).slice(0, 3), ["apiVersion", "kind", "metadata"]);
        assert.equal(dep.apiVersion, "apps/v1");
        assert.equal(dep.kind, "Deployment");
        assert.equal(dep.metadata.name, "rtpm-api-blue");
        assert.equal(dep.metadata.namespace, "production");
        assert.equal(dep.spec.replicas, prodServices()["rtpm-api"].blue.replicas);
        const svc = YAML.parse(fs.readFileSync(path.join(dir, "production", "Service-rtpm-api-service.yaml"), "utf8"));
        assert.equal(svc.apiVersion, "v1"); // the core group has no group prefix
        assert.equal(svc.spec.selector.version, prodActive());
        const ns = YAML.parse(fs.readFileSync(path.join(dir, "_cluster", "Namespace-production.yaml"), "utf8"));
        assert.equal(ns.metadata.namespace, undefined);
        assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("replaces what a previous --out wrote and refuses a directory it did not write", async () => {
        const dir = path.join(tmpdir(), "out");
        assert.equal((await plan("--out", dir)).code, 0);
        fs.writeFileSync(path.join(dir, "production", "Deployment-stale.yaml"), "stale: true\n");
        assert.equal((await plan("--out", dir, "--set", `activeColor=${other(prodActive())}`)).code, 0);
        assert.ok(!fs.existsSync(path.join(dir, "production", "Deployment-stale.yaml")));
        const svc = YAML.parse(fs.readFileSync(path.join(dir, "production", "Service-rtpm-api-service.yaml"), "utf8"));
        assert.equal(svc.spec.selector.version, other(prodActive()));

        const foreign = tmpdir();
        fs.writeFileSync(path.join(foreign, "notes.txt"), "mine");
        assertRejected(await plan("--out", foreign), 2, `--out: ${foreign} is not empty`);
        const file = path.join(foreign, "notes.txt");
        assertRejected(await plan("--out", file), 2, `--out: ${file} exists and is not a directory`);
        assert.deepEqual(fs.readdirSync(foreign), ["notes.txt"]);
        assert.ok(fs.existsSync(path.join(dir, OUT_MARKER)));
    });

    // Issue 13 item 9 (docs/PLAN.md "--out and --policy"): a refused state is written, for review,
    // and said to be refused on stderr, in the directory's marker, and by the exit code.
    it("--out with --policy: a mandatory violation still writes the objects, exits 1, and says so on stderr and in the marker", async () => {
        const live = prodActive();
        const edit = `services.rtpm-api.${live}.replicas=1`; // production's live color needs >= 2: mandatory
        for (const mode of [[], ["--diff"]]) {
            const dir = path.join(tmpdir(), "out");
            const bad = await plan(...mode, "--policy", "--out", dir, "--set", edit);
            assert.equal(bad.code, 1, bad.stderr);
            assert.match(bad.stdout, /^Policies: \d+ evaluated; [1-9]\d* mandatory/m, `${mode}: the report is printed`);
            // The state the pack refused is what was written: the one replica.
            const dep = YAML.parse(fs.readFileSync(path.join(dir, "production", `Deployment-rtpm-api-${live}.yaml`), "utf8"));
            assert.equal(dep.spec.replicas, 1, `${mode}`);
            assert.match(bad.stderr, /^wrote \d+ Kubernetes objects to /m, `${mode}`);
            assert.ok(
                bad.stderr.includes(`plan: --out: the policy pack refuses the state written to ${dir} (`) && /mandatory violation\(s\)\); the files are for review, not to apply \(marked in .*\); exit 1$/m.test(bad.stderr),
                `${mode}: ${bad.stderr}`,
            );
            assert.match(fs.readFileSync(path.join(dir, OUT_MARKER), "utf8"), /^policy: REFUSED: [1-9]\d* mandatory and \d+ advisory violation\(s\) of \d+ policies; these objects are for review, not to apply$/m);

            // The passing counterpart: the same directory, replaced; the marker says it passed; no refusal line.
            const ok = await plan(...mode, "--policy", "--out", dir);
            assert.equal(ok.code, 0, ok.stderr);
            assert.doesNotMatch(ok.stderr, /refuses the state/);
            assert.match(fs.readFileSync(path.join(dir, OUT_MARKER), "utf8"), /^policy: passed: \d+ policies, 0 mandatory and 0 advisory violation\(s\)$/m);
            const again = YAML.parse(fs.readFileSync(path.join(dir, "production", `Deployment-rtpm-api-${live}.yaml`), "utf8"));
            assert.equal(again.spec.replicas, prodServices()["rtpm-api"][live].replicas ?? prodServices()["rtpm-api"].replicas ?? 2);
        }
        // Without --policy the marker says nothing was judged.
        const plain = path.join(tmpdir(), "out");
        assert.equal((await plan("--out", plain)).code, 0);
        assert.match(fs.readFileSync(path.join(plain, OUT_MARKER), "utf8"), /^policy: not evaluated \(run without --policy\)$/m);
    });

    it("maps type tokens to apiVersion and places namespaced objects without a namespace in the provider's", () => {
        assert.deepEqual(apiVersionOf("kubernetes:core/v1:ConfigMap"), { apiVersion: "v1", kind: "ConfigMap" });
        assert.deepEqual(apiVersionOf("kubernetes:cert-manager.io/v1:Certificate"), { apiVersion: "cert-manager.io/v1", kind: "Certificate" });
        assert.equal(apiVersionOf("kubernetes:helm.sh/v3:Release")?.kind, "Release");
        assert.equal(apiVersionOf("kubernetes:yaml:ConfigFile"), undefined);
        const opts = { protect: false, retainOnDelete: false, parent: null, dependsOn: [], ignoreChanges: [], deleteBeforeReplace: false };
        const res = (type: string, name: string, inputs: Record<string, unknown>, provider: string | null = null) =>
            ({ type, name, urn: `urn:${name}`, custom: true, read: false, inputs, options: { ...opts, provider } });
        const { objects, skipped } = kubernetesObjects({
            stack: "s",
            outputs: {},
            resources: [
                res("pulumi:providers:kubernetes", "k8s", { namespace: "platform" }),
                res("kubernetes:core/v1:ConfigMap", "cm", { kind: "ConfigMap", apiVersion: "v1", data: { a: "b" } }, "pulumi:providers:kubernetes::k8s"),
                res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "cr", { metadata: { name: "reader" }, rules: [] }),
                res("kubernetes:helm.sh/v3:Release", "prom", { chart: "kube-prometheus-stack" }),
                res("kubernetes:external-secrets.io/v1beta1:ClusterSecretStore", "store", { metadata: { name: "aws" }, spec: {} }),
                res("kubernetes:core/v1:Secret", "s", { metadata: { name: "db", namespace: "production" }, stringData: { password: new Secret("hunter2") } }),
            ],
        });
        assert.deepEqual(objects.map((o) => o.file), [
            "platform/ConfigMap-cm.yaml",
            "_cluster/ClusterRole-reader.yaml",
            "_cluster/ClusterSecretStore-aws.yaml",
            "production/Secret-db.yaml",
        ]);
        assert.deepEqual(objects[0].object, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "platform" }, data: { a: "b" } });
        assert.deepEqual((objects[3].object as any).stringData, { password: "[secret]" });
        assert.deepEqual(skipped.map((s) => s.name), ["prom"]);
    });
});

describe("plan CLI: errors leave stdout empty and name the key or flag", function () {
    this.timeout(60000);

    it("unknown stack", async () => {
        assertRejected(await plan("--stack", "prodution", "--json"), 2, '--stack: unknown stack "prodution"', "production");
    });

    it("bad flag", async () => {
        assertRejected(await plan("--json", "--stak", "production"), 2, "--stak: unknown flag", "did you mean --stack?");
    });

    it("bad --set: malformed path, missing =, structured value, scalar with children", async () => {
        assertRejected(await plan("--set", "services..x=1"), 2, '--set: bad path "services..x"');
        assertRejected(await plan("--set", "activeColor"), 2, "--set: expected PATH=VALUE");
        assertRejected(await plan("--set", "activeColor=[blue]"), 2, "--set: VALUE must be a scalar");
        assertRejected(await plan("--set", "activeColor.x=1"), 2, "--set: activeColor is a scalar");
    });

    it("invalid config stops the plan before any output or file, naming the key and the reason", async () => {
        const dir = path.join(tmpdir(), "out");
        assertRejected(await plan("--json", "--out", dir, "--set", "activeColor=purple"), 1, "activeColor", 'expected one of "blue", "green", got "purple"');
        assert.ok(!fs.existsSync(dir), "no --out directory for a failed plan");
        assertRejected(await plan("--set", "services.rtpm-api.green.imageTag=latest"), 1, "services.rtpm-api.green.imageTag", "moving tags such as latest are refused");
        assertRejected(await plan("--diff", "--set", "activeColour=green"), 1, "activeColour", "activeColor");
    });

    it("an invalid secure value is named by its key, never echoed", async () => {
        // activeColor stored as a secure value: its offline stand-in is not a
        // color, and the error names the key without echoing the stand-in.
        const src = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"));
        src.config[`${PROJECT}:activeColor`] = { secure: "v1:AAAAnotAColor" };
        const file = path.join(tmpdir(), "Pulumi.production.yaml");
        fs.writeFileSync(file, YAML.stringify(src));
        const r = await plan("--config-file", file, "--json");
        assertRejected(r, 1, "activeColor");
        assert.ok(!r.stderr.includes(SECURE_PLACEHOLDER) && !r.stderr.includes("AAAAnotAColor"), r.stderr);
    });

    it("--config-file that does not exist", async () => {
        assertRejected(await plan("--config-file", "/nonexistent/Pulumi.x.yaml"), 2, "--config-file: no such file");
    });
});

describe("plan CLI: secrets", function () {
    this.timeout(60000);

    it("masks Secret values and any unmarked secure placeholder, reporting where it leaked", () => {
        const { value, leaks } = scrubbed({
            a: new Secret("hunter2"),
            b: [`x-${SECURE_PLACEHOLDER}`],
            c: SECURE_PLACEHOLDER,
            d: 3,
            // A secret map keeps its shape, so a Secret's stringData is still a map.
            stringData: new Secret({ password: "hunter2", nested: { token: "t0k" }, list: ["a"] }),
        });
        assert.deepEqual(value, {
            a: "[secret]",
            b: ["x-[secret]"],
            c: "[secret]",
            d: 3,
            stringData: { password: "[secret]", nested: { token: "[secret]" }, list: ["[secret]"] },
        });
        assert.deepEqual(leaks, ["b[0]", "c"]);
        const warnings: string[] = [];
        const doc = planDocument(
            {
                stack: "s",
                outputs: { url: SECURE_PLACEHOLDER },
                resources: [
                    {
                        type: "kubernetes:core/v1:Secret",
                        name: "db",
                        urn: "u",
                        custom: true,
                        read: false,
                        inputs: { stringData: { password: SECURE_PLACEHOLDER } },
                        options: { protect: false, retainOnDelete: false, parent: null, dependsOn: [], provider: null, ignoreChanges: [], deleteBeforeReplace: false },
                    },
                ],
            },
            (m) => warnings.push(m),
        );
        assert.ok(!JSON.stringify(doc).includes(SECURE_PLACEHOLDER));
        assert.deepEqual(warnings.map((w) => w.split(" holds")[0]), ["kubernetes:core/v1:Secret db input stringData.password", "stack output url"]);
    });

    it("never prints a secure: value, its ciphertext or its offline placeholder, in any output mode", async () => {
        // A copy of production with one more `secure:` value (an extra entry of
        // candlefish/<stack>/config), planned through --config-file.
        const CIPHERTEXT = "v1:AAAAplanTestCiphertext0123";
        const src = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"));
        const key = `${PROJECT}:secrets`;
        src.config[key] = { ...(src.config[key] ?? {}), config: { ...(src.config[key]?.config ?? {}), PLAN_TEST_TOKEN: { secure: CIPHERTEXT } } };
        // Secrets are delivered per service: nanda-api receives the token.
        src.config[`${PROJECT}:services`]["nanda-api"].secrets = ["PLAN_TEST_TOKEN"];
        const dir = tmpdir();
        const file = path.join(dir, "Pulumi.production.yaml");
        fs.writeFileSync(file, YAML.stringify(src));
        const runs: Run[] = [];
        const ROTATED = "plan-test-rotated-token-7f3a9c";
        for (const args of [["--json", "--out", path.join(dir, "out")], [], ["--diff", "--json", "--set-secret", `secrets.config.PLAN_TEST_TOKEN=${ROTATED}`], ["--diff", "--set-secret", `secrets.config.PLAN_TEST_TOKEN=${ROTATED}`]]) {
            const r = await plan("--config-file", file, ...args);
            assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
            for (const text of [r.stdout, r.stderr]) {
                assert.ok(!text.includes(SECURE_PLACEHOLDER) && !text.includes(CIPHERTEXT) && !text.includes(ROTATED), args.join(" "));
            }
            runs.push(r);
        }
        // The rotated secret did change what the stack deploys, shown masked.
        assert.match(runs[3].stdout, /\[secret\] \u2192 \[secret\] \(changed\)/);
        // The value did reach the plan, masked.
        assert.ok(runs[0].stdout.includes('"[secret]"'));
        for (const f of fs.readdirSync(path.join(dir, "out"), { recursive: true }).map(String)) {
            const p = path.join(dir, "out", f);
            if (fs.statSync(p).isFile()) assert.ok(!fs.readFileSync(p, "utf8").includes(SECURE_PLACEHOLDER), f);
        }
    });
});

describe("plan CLI: policy report", () => {
    it("prints each violation with its level and fails only on mandatory ones", () => {
        const text = formatPolicy({
            policies: 3,
            violations: [
                { policy: "rds-storage-encrypted", level: "mandatory", type: "aws:rds/instance:Instance", name: "db", message: "FSBP RDS.3: set storageEncrypted" },
                { policy: "pod-readonly-rootfs", level: "advisory", type: DEPLOYMENT, name: "x", message: "set readOnlyRootFilesystem" },
            ],
        });
        assert.match(text, /^Policies: 3 evaluated; 1 mandatory and 1 advisory violation\(s\)$/m);
        assert.match(text, /^ {2}\[mandatory\] rds-storage-encrypted: aws:rds\/instance:Instance db$/m);
        assert.match(text, /FAILED: mandatory policy violations/);
        assert.doesNotMatch(formatPolicy({ policies: 3, violations: [] }), /FAILED/);
    });

    it("--policy --json prints exactly {policies, violations}; production is clean", async function () {
        this.timeout(60000);
        const r = await plan("--policy", "--json");
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.deepEqual(Object.keys(doc), ["policies", "violations"]);
        assert.ok(doc.policies >= 50, `only ${doc.policies} policies evaluated`);
        assert.deepEqual(doc.violations, []);
    });

    it("--diff --policy judges the stack as the edit leaves it, and fails the edit on a mandatory violation", async function () {
        this.timeout(60000);
        // Production needs >= 2 replicas on the live color: scaling it to 1 is a mandatory violation.
        const live = prodActive();
        const bad = await plan("--diff", "--policy", "--json", "--set", `services.rtpm-api.${live}.replicas=1`);
        assert.equal(bad.code, 1, bad.stderr);
        const doc = JSON.parse(bad.stdout);
        assert.deepEqual(Object.keys(doc), ["stack", "changed", "added", "removed", "summary", "policy"]);
        assert.deepEqual(brief(doc).changed, [{ type: DEPLOYMENT, name: `rtpm-api-${live}`, paths: ["spec.replicas"] }]);
        const mandatory = doc.policy.violations.filter((v: any) => v.level === "mandatory");
        assert.ok(mandatory.length >= 1);
        assert.ok(mandatory.every((v: any) => Object.keys(v).sort().join() === "level,message,name,policy,type"));
        // Each text names the real service, color and key, never a <name> placeholder.
        for (const v of doc.policy.violations) assert.doesNotMatch(v.message, /<(name|svc|color|identifier)>/, v.message);
        assert.ok(
            mandatory.some((v: any) => v.message.includes(`Fix: set services.rtpm-api.${live}.replicas to 2 or more.`)),
            mandatory.map((v: any) => v.message).join("\n"),
        );

        const ok = await plan("--diff", "--policy", "--set", `activeColor=${other(live)}`);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^Changes: 8 to update, 0 to replace, 4 to create, 4 to delete$/m);
        assert.match(ok.stdout, /^Policies: \d+ evaluated; 0 mandatory and 0 advisory violation\(s\)$/m);
    });
});

describe("plan command end to end (spawned)", function () {
    this.timeout(60000);
    const launcher = path.join(ROOT, "scripts", "plan.js");

    it("--json keeps stdout to one JSON document even when something prints during the run", () => {
        // A preload that prints to stdout while the program runs, as an SDK warning might.
        const noisy = path.join(tmpdir(), "noise.js");
        fs.writeFileSync(noisy, "setTimeout(() => console.log('NOISE from the program'), 0); process.stdout.write('NOISE at load\\n');\n");
        const r = spawnSync(process.execPath, ["-r", noisy, launcher, "--stack", "staging", "--json"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
        assert.equal(doc.stack, "staging");
        // Only the preload's own top-level write, before the plan started, may reach stdout.
        assert.equal(r.stdout.slice(0, r.stdout.indexOf("{")), "NOISE at load\n");
        assert.match(r.stderr, /NOISE from the program/);
    });

    it("the promotion gates' provider code is not serialized by the offline plan (the engine does it at deploy time), and TypeScript is never loaded", () => {
        // Report which modules loaded, from inside the plan process, after it finishes.
        const probe = path.join(tmpdir(), "probe-modules.js");
        fs.writeFileSync(probe, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache).filter((f) => /node_modules[\\\\/]typescript[\\\\/]/.test(f)).length) + '\\n'));\n");
        const r = spawnSync(process.execPath, ["-r", probe, launcher, "--stack", "production", "--json"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const gates = (JSON.parse(r.stdout).resources as any[]).filter((x) => x.type === "pulumi-nodejs:dynamic/candlefish:Resource");
        assert.equal(gates.length, 4);
        for (const g of gates) assert.equal(g.inputs.__provider, OFFLINE_PROVIDER_TEXT, g.name);
        assert.match(r.stderr, /\nLOADED 0\n/, "TypeScript was loaded by the plan command");
    });

    it("an unknown stack exits 2 with nothing on stdout", () => {
        const r = spawnSync(process.execPath, [launcher, "--stack", "nope", "--json"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 2);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /--stack: unknown stack "nope"/);
    });
});
