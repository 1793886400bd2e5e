// Issue 13: a review an operator can trust under pressure. Services are
// declared, not created by a typo; a replacement is shown as one (from the
// providers' own force-new lists) and a stateful one fails --policy unless the
// stack allows it; the diff names the stack, shows old -> new values and ends
// in a sentence; exit codes and messages match docs/PLAN.md; the command's
// stdout is JSON without npm's banner.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RecordedResource } from "../plan/render";
import { ROOT, applySet, readStack } from "../plan/stackfile";
import { forceNewData, replacementOf } from "../plan/replace";
import { valueAt } from "../plan/diff";
import { ConfigError, ConfigSource, PROJECT, parseConfig } from "../config";
import { SECRET_PATHS } from "../config/source";
import { SERVICE_CATALOG } from "../config/services";
import { parseWith, plan, renderStack } from "./harness";


const prodActive = () => readStack("production").values[`${PROJECT}:activeColor`] as string;
const other = (c: string) => (c === "blue" ? "green" : "blue");
const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), "plan-review-"));

describe("plan review: a service is declared, never created by a typo (issue 13.1)", function () {
    this.timeout(60000);

    it("a misspelt service under services. is an error with a did-you-mean, and nothing else is asked of it", async () => {
        const r = await plan("--diff", "--policy", "--set", "services.rtpm-ap.green.imageTag=v1.0.0");
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /services\.rtpm-ap: unknown service; did you mean "rtpm-api"\? Services: candlefish-website, nanda-api, otter-gateway, rtpm-api\./);
        assert.match(r.stderr, /declare it in serviceCatalog\.rtpm-ap\.port/);
        // The old hint sent the operator on to set the other color's tag, which created the service.
        assert.doesNotMatch(r.stderr, /services\.rtpm-ap\.blue\.imageTag/);
    });

    it("following the old hint does not create a service either", async () => {
        const r = await plan("--diff", "--json", "--set", "services.rtpm-ap.green.imageTag=v1.0.0", "--set", "services.rtpm-ap.blue.imageTag=v1.0.0");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /services\.rtpm-ap: unknown service/);
    });

    it("a service the stack declares in serviceCatalog is created, with the declared port", async () => {
        const r = await plan(
            "--diff",
            "--json",
            "--set",
            "serviceCatalog.billing-api.port=8081",
            "--set",
            "services.billing-api.blue.imageTag=v1.0.0",
            "--set",
            "services.billing-api.green.imageTag=v1.0.0",
        );
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout);
        const added = d.added.map((a: { type: string; name: string }) => `${a.type} ${a.name}`);
        assert.ok(added.includes("aws:ecr/repository:Repository billing-api"), added.join("\n"));
        assert.ok(added.includes("kubernetes:apps/v1:Deployment billing-api-blue"));
        const cfg = parseWith("production", ["serviceCatalog.billing-api.port=8081", "services.billing-api.blue.imageTag=v1.0.0", "services.billing-api.green.imageTag=v1.0.0"]);
        assert.equal(cfg.services.find((s) => s.name === "billing-api")!.port, 8081);
    });

    it("serviceCatalog needs a port, and may not redeclare one of the program's own services", () => {
        assert.throws(() => parseWith("production", ["serviceCatalog.billing-api.containerName=billing"]), (e: ConfigError) =>
            e.issues.some((i) => i.key === "serviceCatalog.billing-api.port" && /required/.test(i.message)),
        );
        assert.throws(() => parseWith("production", ["serviceCatalog.rtpm-api.port=9000"]), (e: ConfigError) =>
            e.issues.some((i) => i.key === "serviceCatalog.rtpm-api" && /declared by the program itself/.test(i.message)),
        );
        assert.deepEqual(Object.keys(SERVICE_CATALOG).sort(), ["candlefish-website", "nanda-api", "otter-gateway", "rtpm-api"]);
    });
});

/** A synthetic recorded resource for the replacement rules. */
function res(type: string, inputs: Record<string, unknown> = {}): RecordedResource {
    return {
        type,
        name: "x",
        urn: `urn:${type}::x`,
        custom: true,
        read: false,
        inputs,
        options: { protect: false, retainOnDelete: false, parent: null, dependsOn: [], provider: null, ignoreChanges: [], deleteBeforeReplace: false },
    };
}

describe("plan review: replacements are derived from the providers' sources (issue 13.2)", function () {
    this.timeout(60000);

    it("plan/force-new.json records where each list comes from", () => {
        const data = forceNewData();
        for (const [what, src] of Object.entries(data.sources)) {
            assert.match(String(src.commit), /^[0-9a-f]{40}$/, `${what}: a commit`);
            assert.ok(src.repository && src.sdk, `${what}: repository and SDK version`);
        }
        assert.equal(data.sources.aws.sdk, "@pulumi/aws 7.48.0");
        assert.equal(data.sources.kubernetes.sdk, "@pulumi/kubernetes 4.34.2");
    });

    it("covers every AWS and random resource type the program registers, in every stack", async () => {
        const data = forceNewData();
        const types = new Set<string>();
        for (const stack of ["production", "staging", "development", "local"]) for (const r of (await renderStack(stack)).resources) types.add(r.type);
        const missing = [...types].filter((t) => (t.startsWith("aws:") || t.startsWith("random:")) && !data.aws[t] && !data.random[t]);
        assert.deepEqual(missing, [], "run scripts/extract-force-new.js for these types (docs/PLAN.md)");
    });

    it("the extraction reads Go schema literals: ForceNew, names.Attr keys, MaxItems 1 blocks flattened, lists as *", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const x = require(path.join(ROOT, "scripts", "extract-force-new.js"));
        const go = `
            "db_name": { Type: schema.TypeString, Optional: true, ForceNew: true }, // a comment with { braces }
            names.AttrName: { Type: schema.TypeString, Description: "a string with } and {", ForceNew: true },
            "engine_version": { Type: schema.TypeString, Optional: true },
            "arn": { Type: schema.TypeString, Computed: true, ForceNew: true },
            "s3_import": { Type: schema.TypeList, MaxItems: 1, Optional: true, Elem: &schema.Resource{ Schema: map[string]*schema.Schema{
                "bucket_name": { Type: schema.TypeString, Required: true, ForceNew: true },
            } } },
            "ingress": { Type: schema.TypeSet, Optional: true, Elem: &schema.Resource{ Schema: map[string]*schema.Schema{
                "from_port": { Type: schema.TypeInt, Required: true, ForceNew: true },
                "cidr_blocks": { Type: schema.TypeList, Optional: true },
            } } },
        `;
        const schema = x.sdkSchema(go, { consts: { AttrName: "name" }, pkg: "", where: "test" });
        const out = { forceNew: [] as string[], mayReplace: [] as string[] };
        x.flatten(schema, "", out);
        assert.deepEqual(out.forceNew.sort(), ["dbName", "ingress.*.fromPort", "name", "s3Import.bucketName"]);
    });

    it("Kubernetes: the provider's table (Deployment selector, Job template, Service clusterIP, PVC storage class, ...)", () => {
        const k = forceNewData().kubernetes;
        assert.deepEqual(k.always, ["metadata.name", "metadata.namespace"]);
        assert.ok(k.kinds["apps/v1:Deployment"].includes("spec.selector"));
        assert.ok(k.kinds["batch/v1:Job"].includes("spec.template"));
        assert.deepEqual(k.kinds["core/v1:Service"], ["spec.clusterIP"]);
        assert.ok(k.kinds["core/v1:PersistentVolumeClaim"].includes("spec.storageClassName"));
        assert.equal(k.kinds["policy/v1:PodDisruptionBudget"], undefined, "only policy/v1beta1 PDBs are replaced on a spec change");
        assert.deepEqual(k.helmRelease, ["name", "namespace"]);
    });

    it("decides replace or update per changed path, as the Kubernetes provider does", () => {
        const v = (type: string, paths: string[], before: unknown = {}, after: unknown = {}, provider?: Record<string, unknown>, inputs: Record<string, unknown> = {}) =>
            replacementOf(res(type, inputs), paths, before, after, provider);
        assert.deepEqual(v("kubernetes:apps/v1:Deployment", ["spec.selector.matchLabels.app"]).because, ["spec.selector.matchLabels.app"]);
        assert.equal(v("kubernetes:apps/v1:Deployment", ["spec.template.spec.containers.0.image", "spec.replicas"]).replace, false);
        assert.equal(v("kubernetes:batch/v1:Job", ["spec.template.spec.containers.0.image"]).replace, true);
        assert.equal(v("kubernetes:core/v1:Service", ["spec.clusterIP"]).replace, true);
        assert.equal(v("kubernetes:core/v1:Service", ["spec.type"]).replace, false, "a type change is an update (pulumi-kubernetes #1139)");
        assert.equal(v("kubernetes:core/v1:PersistentVolumeClaim", ["spec.storageClassName"]).replace, true);
        assert.equal(v("kubernetes:core/v1:PersistentVolumeClaim", ["spec.resources.requests.storage"]).replace, false);
        assert.equal(v("kubernetes:storage.k8s.io/v1:StorageClass", ["parameters.type"]).replace, true);
        assert.equal(v("kubernetes:core/v1:ConfigMap", ["data.a"]).replace, true);
        assert.equal(v("kubernetes:core/v1:ConfigMap", ["data.a"], {}, {}, { enableConfigMapMutable: "true" }).replace, false);
        assert.equal(v("kubernetes:core/v1:Secret", ["stringData.password"]).replace, true);
        assert.equal(v("kubernetes:core/v1:Secret", ["stringData.password"], {}, {}, { enableSecretMutable: true }).replace, false);
        assert.equal(v("kubernetes:core/v1:Secret", ["stringData.password"], {}, {}, { enableSecretMutable: true }, { immutable: true }).replace, true);
        assert.equal(v("kubernetes:helm.sh/v3:Release", ["values.replicas"]).replace, false);
        assert.equal(v("kubernetes:helm.sh/v3:Release", ["namespace"]).replace, true);
        assert.equal(v("kubernetes:core/v1:Namespace", ["metadata.name"]).replace, true);
        // A whole block added counts when it carries a force-new path.
        assert.equal(v("kubernetes:apps/v1:Deployment", ["spec"], {}, { spec: { selector: { matchLabels: { a: "b" } } } }).replace, true);
        assert.equal(v("kubernetes:apps/v1:Deployment", ["spec"], {}, { spec: { replicas: 2 } }).replace, false);
    });

    it("AWS and random: force-new attributes, conditional ones, and types it cannot decide", () => {
        assert.deepEqual(replacementOf(res("aws:rds/instance:Instance"), ["dbName", "instanceClass"], {}, {}).because, ["dbName"]);
        assert.equal(replacementOf(res("aws:rds/instance:Instance"), ["engineVersion", "allocatedStorage"], {}, {}).replace, false);
        assert.equal(replacementOf(res("aws:rds/instance:Instance"), ["snapshotIdentifier"], {}, {}).replace, true);
        const cache = replacementOf(res("aws:elasticache/replicationGroup:ReplicationGroup"), ["engineVersion"], {}, {});
        assert.deepEqual([cache.replace, cache.mayReplace], [false, ["engineVersion"]], "a downgrade replaces (CustomizeDiff), an upgrade does not");
        assert.equal(replacementOf(res("aws:s3/bucket:Bucket"), ["bucket"], {}, {}).replace, true);
        assert.equal(replacementOf(res("random:index/randomPassword:RandomPassword"), ["length"], {}, {}).replace, true);
        const eks = replacementOf({ ...res("eks:index:Cluster"), custom: false, remote: true }, ["accessEntries.admin.principalArn"], {}, {});
        assert.deepEqual([eks.replace, eks.known], [false, false]);
    });

    it("--diff marks the RDS instance replaced by a new dbName: +- with the forcing path, replace: true in --json", async () => {
        const json = await plan("--diff", "--json", "--set", "database.dbName=candlefish2");
        assert.equal(json.code, 0, json.stderr);
        const d = JSON.parse(json.stdout);
        const db = d.changed.find((c: any) => c.type === "aws:rds/instance:Instance");
        assert.deepEqual([db.name, db.replace, db.replaceBecause, db.protect], ["database-instance", true, ["dbName"], true]);
        assert.deepEqual(db.values.dbName, { old: "candlefish", new: "candlefish2" });
        // Also replaced, and rightly: the role Job's SQL (an immutable ConfigMap) names the database, and the Job
        // that runs it is named after its content (components/database-roles.ts); nothing else.
        assert.deepEqual(d.changed.filter((x: any) => x !== db && x.replace).map((x: any) => x.name).sort(), ["database-roles-job", "database-roles-sql"]);
        assert.match(json.stderr, /STATEFUL resource: aws:rds\/instance:Instance database-instance \(database\) REPLACED/);

        const text = await plan("--diff", "--set", "database.dbName=candlefish2");
        const lines = text.stdout.split("\n");
        // The loudest line comes first, right after the header.
        assert.match(lines[2], /^!!! REPLACES A STATEFUL RESOURCE: aws:rds\/instance:Instance database-instance \(database\): forced by dbName; .* Protected: `pulumi up` refuses it until `pulumi state unprotect`\. Not in allowReplacement\.$/);
        assert.match(text.stdout, /^ {2}\+- aws:rds\/instance:Instance database-instance \[dbName\] \(replace: forced by dbName\) {3}<-- STATEFUL \(database\)$/m);
        assert.match(text.stdout, /^ {6}dbName: "candlefish" \u2192 "candlefish2" {3}forces replacement$/m);
        // Updated in place: the two connection URLs, and the logical dump's DB_NAME (its file name).
        assert.match(text.stdout, /^Changes: 3 to update, 3 to replace, 0 to create, 0 to delete$/m);
        assert.match(text.stdout, /^ {6}spec\.jobTemplate\.spec\.template\.spec\.containers\.0\.env\.2\.value: "candlefish" \u2192 "candlefish2"$/m);
        assert.doesNotMatch(text.stdout, /to update.*\n.*~ aws:rds\/instance/);
    });

    it("a restore from a snapshot replaces the instance (snapshotIdentifier)", async () => {
        const r = await plan("--diff", "--json", "--set", "database.restoreFromSnapshot=candlefish-before-migration");
        assert.equal(r.code, 0, r.stderr);
        const db = JSON.parse(r.stdout).changed.find((c: any) => c.type === "aws:rds/instance:Instance");
        assert.equal(db.replace, true);
        assert.ok(db.replaceBecause.includes("snapshotIdentifier"), db.replaceBecause.join());
    });

    it("--policy: a stateful replacement is a mandatory violation naming allowReplacement; listing it there allows it", async () => {
        const bad = await plan("--diff", "--policy", "--json", "--set", "database.dbName=candlefish2");
        assert.equal(bad.code, 1, bad.stderr);
        const v = JSON.parse(bad.stdout).policy.violations.filter((x: any) => x.policy === "plan-stateful-replacement");
        assert.equal(v.length, 1);
        assert.equal(v[0].level, "mandatory");
        assert.equal(v[0].name, "database-instance");
        assert.match(v[0].message, /dbName forces a new resource/);
        assert.match(v[0].message, /allowReplacement \(pulumi config set --path 'allowReplacement\[0\]' database-instance\)/);

        const ok = await plan("--diff", "--policy", "--set", "database.dbName=candlefish2", "--set", "allowReplacement[0]=database-instance");
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, /Allowed by allowReplacement\./);
        assert.doesNotMatch(ok.stdout, /plan-stateful-replacement/);

        // A stale allowance is pointed out, not silently kept.
        const stale = await plan("--diff", "--set", "allowReplacement[0]=database-instance");
        assert.equal(stale.code, 0);
        assert.match(stale.stderr, /allowReplacement lists database-instance, which this change does not replace/);
    });

    it("a rotation (a secret version replaced) is flagged STATEFUL but is not the loud data-loss line", async () => {
        const r = await plan("--diff", "--policy", "--set-secret", "secrets.config.NEW_TOKEN=t0k3n-value-xyz");
        assert.equal(r.code, 0, r.stdout);
        assert.match(r.stdout, /\+- aws:secretsmanager\/secretVersion:SecretVersion secrets-config \[secretString\]/);
        assert.doesNotMatch(r.stdout, /REPLACES A STATEFUL RESOURCE/);
        assert.ok(!r.stdout.includes("t0k3n-value-xyz") && !r.stderr.includes("t0k3n-value-xyz"));
    });
});

describe("plan review: the diff names the stack, shows values, groups by component, ends in words (issue 13.3)", function () {
    this.timeout(60000);

    it("a flip: header, each service's live and preview Service together, old -> new, one-line summary", async () => {
        const live = prodActive();
        const r = await plan("--diff", "--set", `activeColor=${other(live)}`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Offline diff of stack production: --set activeColor=${other(live)}$`, "m"));
        const block = new RegExp(
            "^candlefish:apps:BlueGreenService rtpm-api\\n" +
                `  ~ kubernetes:core/v1:Service rtpm-api-service \\[spec\\.selector\\.version\\]\\n      spec\\.selector\\.version: "${live}" \u2192 "${other(live)}"\\n` +
                `  ~ kubernetes:core/v1:Service rtpm-api-preview \\[spec\\.selector\\.version\\]\\n      spec\\.selector\\.version: "${other(live)}" \u2192 "${live}"\\n` +
                `  \\+ pulumi-nodejs:dynamic/candlefish:Resource rtpm-api-gate-${other(live)}\\n` +
                `  - pulumi-nodejs:dynamic/candlefish:Resource rtpm-api-gate-${live}\\n`,
            "m",
        );
        assert.match(r.stdout, block);
        const last = r.stdout.trimEnd().split("\n").pop();
        assert.equal(last, `Summary: 4 services: live ${live} \u2192 ${other(live)}; nothing else changes`);
    });

    it("an image bump, a scale-down and a secret: the summary says each, values of secrets are masked", async () => {
        const idle = other(prodActive());
        const r = await plan("--diff", "--set", `services.nanda-api.${idle}.imageTag=v9.9.9`, "--set", `services.candlefish-website.${idle}.replicas=0`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Summary: candlefish-website ${idle}: replicas \\d+ \u2192 0; nanda-api ${idle}: image v\\S+ \u2192 v9\\.9\\.9; nothing else changes$`, "m"));

        const hook = "https://hooks.slack.com/services/T000/B000/plan-review-secret";
        const s = await plan("--diff", "--set-secret", `alerts.slackWebhookUrl=${hook}`);
        assert.equal(s.code, 0, s.stderr);
        assert.ok(!s.stdout.includes(hook) && !s.stderr.includes(hook));
        assert.match(s.stdout, /--set-secret alerts\.slackWebhookUrl=\[secret\]/);
        assert.match(s.stdout, /\[secret\] \u2192 \[secret\] \(changed\)/);
    });
});

describe("plan review: values under keys that hold dots", () => {
    it("a ConfigMap's roles.sql or an annotation's checksum/secrets is read as one key, not as a path (it showed (none) -> (none))", () => {
        const obj = { data: { "roles.sql": "GRANT ...", roles: { sql: "not this" } }, metadata: { annotations: { "checksum/secrets": "abc" } }, spec: { ports: [{ port: 80 }] } };
        assert.equal(valueAt(obj, "data.roles.sql"), "GRANT ...");
        assert.equal(valueAt(obj, "metadata.annotations.checksum/secrets"), "abc");
        assert.equal(valueAt(obj, "spec.ports.0.port"), 80);
        assert.equal(valueAt(obj, "spec.missing.key"), undefined);
        assert.equal(valueAt({ data: { roles: { sql: "nested" } } }, "data.roles.sql"), "nested");
    });
});

describe("plan review: exit codes and messages match docs/PLAN.md (issue 13.4)", function () {
    this.timeout(60000);

    it("a stack file that is not YAML exits 1 (bad input), naming the file", async () => {
        const dir = tmpdir();
        const file = path.join(dir, "Pulumi.production.yaml");
        fs.writeFileSync(file, "config:\n  candlefish-maturity-map:activeColor: [blue\n");
        const r = await plan("--config-file", file, "--json");
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^plan: Pulumi\.production\.yaml: not valid YAML: /);
        const ok = await plan("--config-file", path.join(ROOT, "Pulumi.production.yaml"), "--json");
        assert.equal(ok.code, 0, ok.stderr);
    });

    it("--set refuses a plaintext value for a key that must be secret (exit 1); --set-secret takes it", async () => {
        for (const key of ["alerts.smtp.password", "secrets.config.STRIPE_KEY"]) {
            const r = await plan("--set", "alerts.smtp.username=ops", "--set", `${key}=hunter2-plain`);
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, new RegExp(`--set ${key.replace(/\./g, "\\.")}: this key holds a secret, and a plaintext value is refused .*--set-secret ${key.replace(/\./g, "\\.")}=VALUE`));
            assert.ok(!r.stderr.includes("hunter2-plain"));
        }
        // A key the stack file holds as secure: is refused in plaintext too, listed or not.
        const local = readStack("local");
        assert.ok(local.secretPaths.has("local.database.password") && local.secretPaths.has("local.jwtSecret"));
        local.secretPaths.add("maintenance.message");
        assert.throws(() => applySet(local, "maintenance.message=plain", false, true), /--set maintenance\.message: this key holds a secret/);
        applySet(local, "maintenance.message=plain"); // tests may feed the program plaintext on purpose
        // E-mail is opt-in (alerts.email), and then wants both SMTP credentials.
        const ok = await plan("--set", "alerts.email=oncall@candlefish.ai", "--set", "alerts.smtp.username=ops", "--set-secret", "alerts.smtp.password=hunter2-secret", "--json");
        assert.equal(ok.code, 0, ok.stderr);
        assert.ok(!ok.stdout.includes("hunter2-secret") && !ok.stderr.includes("hunter2-secret"));
    });

    it("every SECRET_PATHS key is one the program itself refuses in plaintext", () => {
        const samples: Record<string, [string, Record<string, unknown>]> = {
            "alerts.slackWebhookUrl": ["production", { alerts: { slackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x" } }],
            "alerts.smtp.password": ["production", { alerts: { slackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x", email: "oncall@candlefish.ai", smtp: { username: "u", password: "p" } } }],
            "secrets.config.*": ["production", { secrets: { config: { X: "y" } } }],
            "local.database.password": ["local", { local: { database: { password: "p" }, jwtSecret: "j" } }],
            "local.redis.password": ["local", { local: { database: { password: "p" }, redis: { password: "r" }, jwtSecret: "j" } }],
            "local.jwtSecret": ["local", { local: { database: { password: "p" }, jwtSecret: "j" } }],
            "local.config.*": ["local", { local: { database: { password: "p" }, jwtSecret: "j", config: { X: "y" } } }],
        };
        assert.deepEqual(Object.keys(samples).sort(), [...SECRET_PATHS].sort());
        for (const [key, [stack, over]] of Object.entries(samples)) {
            const cfg = readStack(stack);
            const raw: Record<string, string> = {};
            for (const [k, v] of Object.entries(cfg.values)) if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = typeof v === "object" ? JSON.stringify(v) : String(v);
            for (const [k, v] of Object.entries(over)) raw[k] = JSON.stringify(v);
            assert.throws(
                () => parseConfig(new ConfigSource(stack, raw, new Set())),
                (e: ConfigError) => e.issues.some((i) => /secret|plaintext/.test(i.message)),
                key,
            );
        }
    });

    it("zero replicas on the live color: no 'switch back' when nothing was switched; --diff names the undo when the edit switched", async () => {
        const live = prodActive();
        const still = await plan("--set", `services.rtpm-api.${live}.replicas=0`);
        assert.equal(still.code, 1);
        assert.match(still.stderr, new RegExp(`services\\.rtpm-api\\.${live}\\.replicas: ${live} is the live color \\(activeColor=${live}\\) but has 0 replicas`));
        assert.doesNotMatch(still.stderr, /switch|back/);

        const flip = await plan("--diff", "--set", `activeColor=${other(live)}`, "--set", `services.rtpm-api.${other(live)}.replicas=0`);
        assert.equal(flip.code, 1);
        assert.match(flip.stderr, new RegExp(`hint: this edit makes ${other(live)} live for rtpm-api \\(the base has ${live} live\\); to undo the switch, set activeColor=${live}`));
    });

    it("violation texts name the real service, color and key, never a <name> placeholder", async () => {
        const live = prodActive();
        const r = await plan("--policy", "--json", "--set", `services.nanda-api.${live}.replicas=1`);
        assert.equal(r.code, 1);
        const v = JSON.parse(r.stdout).violations;
        assert.ok(v.length >= 1);
        for (const x of v) assert.doesNotMatch(x.message, /<(name|svc|color|identifier|rules)>/, x.message);
        assert.ok(v.some((x: any) => x.message.endsWith(`Fix: set services.nanda-api.${live}.replicas to 2 or more.`)), v.map((x: any) => x.message).join("\n"));
    });
});

describe("plan review: a command whose stdout is only the plan (issue 13.5)", function () {
    this.timeout(120000);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

    it("package.json declares the bin, an executable node script", () => {
        assert.deepEqual(pkg.bin, { "candlefish-plan": "scripts/plan.js" });
        const file = path.join(ROOT, pkg.bin["candlefish-plan"]);
        assert.match(fs.readFileSync(file, "utf8"), /^#!\/usr\/bin\/env node\n/);
        assert.ok((fs.statSync(file).mode & 0o111) !== 0, "executable");
    });

    it("`npx --no -- candlefish-plan --json` prints one JSON document; `npm run plan -- --json` does not (npm's banner)", () => {
        // `--`: without it npm reads --json (one of its own options) and --stack itself.
        const npx = spawnSync("npx", ["--no", "--", "candlefish-plan", "--stack", "staging", "--json"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(npx.status, 0, npx.stderr);
        assert.equal(JSON.parse(npx.stdout).stack, "staging");
        // As a user types it: not the log level of an npm that may have started this suite (`npm --silent test`).
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.toLowerCase() !== "npm_config_loglevel"));
        const npm = spawnSync("npm", ["run", "plan", "--", "--stack", "staging", "--json"], { cwd: ROOT, encoding: "utf8", env });
        assert.equal(npm.status, 0, npm.stderr);
        assert.throws(() => JSON.parse(npm.stdout), "npm run without --silent prints its banner on stdout");
        assert.match(npm.stdout, /^\n?> [^\n]+ plan\n> node scripts\/plan\.js/);
    });
});

describe("Node engines (issue 13.7)", () => {
    it("every installed package that declares no Node 20 support is named where the docs explain the EBADENGINE warning", () => {
        const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
        const strict = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
            .filter(([p, m]) => p && /^>=\s*2[2-9]/.test(m.engines?.node ?? ""))
            .map(([p]) => p.replace(/^.*node_modules\//, ""));
        assert.ok(strict.length > 0);
        const doc = fs.readFileSync(path.join(ROOT, "docs", "TESTING.md"), "utf8");
        for (const name of new Set(strict)) assert.ok(doc.includes(`\`${name}\``), `docs/TESTING.md names ${name}`);
        const engines = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).engines.node;
        assert.equal(engines, ">=20.19 <21 || >=22");
        assert.ok(doc.includes(engines), "docs/TESTING.md quotes the engines range");
    });
});
