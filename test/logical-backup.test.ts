// Runbook "Database Backup": the scheduled pg_dump into s3://<backups bucket>/database/,
// its IRSA role (put under database/ only), its retention (a lifecycle rule the
// bucket-wide expiry can never undercut), and the two container scripts run
// here with stand-ins for pg_dump, pg_restore and aws.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rendered } from "../plan/render";
import { PG_CLIENT_IMAGES } from "../config/data";
import { AWS_CLI_IMAGE, DUMP_SCRIPT, LOGICAL_BACKUP, UPLOAD_SCRIPT } from "../components/logical-backup";
import { expectRejected, find, inputs, parseWith, renderBoth, renderWith } from "./harness";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";

describe("logical backups: the scheduled pg_dump to the backups bucket", function () {
    this.timeout(60000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("a CronJob postgres-logical-backup in the app namespace: daily at 04:15 UTC, never two at once", () => {
        const c = inputs(find(prod, CRONJOB, "logical-backup-cronjob"));
        assert.equal(c.metadata.name, LOGICAL_BACKUP);
        assert.equal(c.metadata.namespace, "production");
        assert.equal(c.spec.schedule, "15 4 * * *");
        assert.equal(c.spec.timeZone, "Etc/UTC");
        assert.equal(c.spec.concurrencyPolicy, "Forbid");
        const pod = c.spec.jobTemplate.spec.template.spec;
        assert.equal(pod.restartPolicy, "Never");
        assert.equal(pod.serviceAccountName, LOGICAL_BACKUP);
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        // dump first (init), then upload: the upload never runs after a failed dump.
        const [dump] = pod.initContainers;
        const [upload] = pod.containers;
        assert.equal(dump.name, "dump");
        assert.equal(dump.image, PG_CLIENT_IMAGES[16], "pg_dump of the server's major (16)");
        assert.deepEqual(dump.command, ["sh", "-c", DUMP_SCRIPT]);
        assert.deepEqual(dump.env[0], { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "rtpm-api-database", key: "DATABASE_URL" } } });
        assert.equal(upload.image, AWS_CLI_IMAGE);
        const env = Object.fromEntries(upload.env.map((e: any) => [e.name, e.value]));
        assert.deepEqual(env, {
            // The stack's created bucket (backups.bucket=create: account regional namespace).
            BUCKET: "candlefish-backups-123456789012-us-east-1-an",
            KMS_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/backups-kms",
            DB_NAME: "candlefish",
            AWS_REGION: "us-east-1",
            HOME: "/tmp",
        });
        for (const x of [dump, upload]) {
            assert.equal(x.securityContext.readOnlyRootFilesystem, true, x.name);
            assert.ok(x.resources.limits.memory && x.resources.requests.cpu, x.name);
        }
        // The dump goes to a gp3 volume of the database's size, deleted with the pod.
        const vol = pod.volumes.find((v: any) => v.name === "backup").ephemeral.volumeClaimTemplate.spec;
        assert.equal(vol.storageClassName, "gp3");
        assert.equal(vol.resources.requests.storage, "100Gi");
        assert.equal(inputs(find(staging, CRONJOB, "logical-backup-cronjob")).spec.jobTemplate.spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources.requests.storage, "20Gi");
    });

    it("its IRSA role can only put (and abort) objects under database/, encrypting with the backups key through S3", () => {
        const role = inputs(find(prod, "aws:iam/role:Role", "logical-backup-irsa"));
        const sub = Object.entries(JSON.parse(role.assumeRolePolicy).Statement[0].Condition.StringEquals).find(([k]) => k.endsWith(":sub"))?.[1];
        assert.equal(sub, "system:serviceaccount:production:postgres-logical-backup");
        const policy = JSON.parse(inputs(find(prod, "aws:iam/rolePolicy:RolePolicy", "logical-backup-irsa")).policy);
        assert.deepEqual(policy.Statement, [
            { Sid: "PutDumps", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: "arn:aws:s3:::candlefish-backups-123456789012-us-east-1-an/database/*" },
            {
                Sid: "EncryptDumps",
                Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                Resource: "arn:aws:kms:us-east-1:123456789012:key/backups-kms",
                Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
            },
        ]);
        // No read, list or delete: a compromised job cannot read or destroy older dumps.
        assert.ok(!/s3:(Get|List|Delete)/.test(JSON.stringify(policy)));
        const sa = inputs(find(prod, "kubernetes:core/v1:ServiceAccount", "logical-backup-sa"));
        assert.equal(sa.metadata.annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::123456789012:role/candlefish-production-logical-backup");
    });

    it("it logs in as the app's own login (rtpm-api-database, candlefish_app_a|b), never the master user, and is created after the role Job made that login", () => {
        const es = inputs(find(prod, "kubernetes:external-secrets.io/v1beta1:ExternalSecret", "secret-delivery-rtpm-api-database"));
        assert.equal(es.spec.target.name, "rtpm-api-database");
        assert.match(JSON.stringify(es.spec), /candlefish\/production\/database-app/);
        const cron = find(prod, CRONJOB, "logical-backup-cronjob");
        const pod = inputs(cron).spec.jobTemplate.spec.template.spec;
        assert.doesNotMatch(JSON.stringify(pod), /candlefish-db-admin|postgres-exporter-database/);
        assert.ok(cron.options.dependsOn.includes("kubernetes:batch/v1:Job::database-roles-job"), cron.options.dependsOn.join(", "));
    });

    it("backups.bucket=existing: the dumps go to the named bucket (its ARN read, not managed); no lifecycle rule is declared on it", async () => {
        const r = await renderWith("staging", ["backups.bucket=existing", "backups.bucketName=candlefish-backups"]);
        const upload = inputs(find(r, CRONJOB, "logical-backup-cronjob")).spec.jobTemplate.spec.template.spec.containers[0];
        assert.equal(upload.env.find((e: any) => e.name === "BUCKET").value, "candlefish-backups");
        const policy = JSON.parse(inputs(find(r, "aws:iam/rolePolicy:RolePolicy", "logical-backup-irsa")).policy);
        assert.equal(policy.Statement[0].Resource, "arn:aws:s3:::candlefish-backups/database/*");
        assert.equal(r.resources.filter((x) => x.type === LIFECYCLE).length, 0, "the owner's lifecycle, not ours (docs/AWS.md)");
    });

    it("retention: database/ expires after backups.logicalDump.retentionDays (90 production, 14 staging), never before", () => {
        for (const [r, days, bucketWide] of [[prod, 90, 365], [staging, 14, 180]] as const) {
            const rules = inputs(find(r, LIFECYCLE, "backups-lifecycle")).rules;
            const dumps = rules.find((x: any) => x.id === "database-dumps");
            assert.deepEqual(dumps, { id: "database-dumps", status: "Enabled", filter: { prefix: "database/" }, expiration: { days } });
            // The bucket-wide rule also covers database/: it must not expire a dump earlier.
            const all = rules.find((x: any) => x.id === "tier-then-expire");
            assert.deepEqual(all.filter, {});
            assert.equal(all.expiration.days, bucketWide);
            assert.ok(all.expiration.days >= days);
        }
    });

    it("config: a retention beyond the bucket-wide expiry is refused, naming both keys; nothing registered", async () => {
        const { message, registered } = await expectRejected("staging", ["backups.logicalDump.retentionDays=200"]);
        assert.match(message, /backups\.logicalDump\.retentionDays: 200 days is longer than backups\.expireAfterDays \(180\)/);
        assert.equal(registered, 0);
        // Raising the bucket-wide expiry with it passes.
        const c = parseWith("staging", ["backups.logicalDump.retentionDays=200", "backups.expireAfterDays=400"]);
        assert.equal(c.backups.logicalDump.retentionDays, 200);
        const r = await renderWith("staging", ["backups.logicalDump.schedule=0 */6 * * *", "backups.logicalDump.retentionDays=30"]);
        assert.equal(inputs(find(r, CRONJOB, "logical-backup-cronjob")).spec.schedule, "0 */6 * * *");
        assert.equal(inputs(find(r, LIFECYCLE, "backups-lifecycle")).rules.find((x: any) => x.id === "database-dumps").expiration.days, 30);
    });

    it("config: pg_dump follows the engine's major; a major without a pinned client needs backups.logicalDump.image", async () => {
        assert.equal(parseWith("staging", ["database.engineVersion=15"]).backups.logicalDump.image, "postgres:15.10-alpine");
        const { message, registered } = await expectRejected("staging", ["database.engineVersion=18"]);
        assert.match(message, /backups\.logicalDump\.image: no pg_dump image is pinned here for PostgreSQL 18/);
        assert.equal(registered, 0);
        assert.equal(parseWith("staging", ["database.engineVersion=18", "backups.logicalDump.image=postgres:18.1-alpine"]).backups.logicalDump.image, "postgres:18.1-alpine");
        assert.match((await expectRejected("staging", ["backups.logicalDump.image=postgres:latest"])).message, /backups\.logicalDump\.image: .*pinned PostgreSQL client image/);
        assert.match((await expectRejected("staging", ["backups.logicalDump.schedule=daily"])).message, /backups\.logicalDump\.schedule: .*five-field cron/);
        assert.match((await expectRejected("staging", ["backups.logicalDump.retentionDayz=3"])).message, /backups\.logicalDump\.retentionDayz.*retentionDays/);
    });
});

/** Runs a container script under sh with stand-in commands; paths under /backup are moved into a temp dir. */
function runScript(script: string, stubs: Record<string, string>, env: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-backup-"));
    const bin = path.join(dir, "bin");
    const backup = path.join(dir, "backup");
    fs.mkdirSync(bin);
    fs.mkdirSync(backup);
    const log = path.join(dir, "calls.log");
    for (const [name, body] of Object.entries(stubs)) {
        fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
    }
    const r = spawnSync("sh", ["-c", script.split("/backup/").join(`${backup}/`)], {
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    const result = { status: r.status, out: r.stdout + r.stderr, calls, backup };
    return { ...result, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe("logical backups: the container scripts (with stand-ins for pg_dump, pg_restore, aws)", () => {
    // A pg_dump stand-in that writes the file its --file= names.
    const pgDumpOk = 'for a in "$@"; do case "$a" in --file=*) printf "PGDMP-archive" > "${a#--file=}";; esac; done';

    it("dump: pg_dump --format=custom of $DATABASE_URL, then pg_restore --list reads it back", () => {
        const r = runScript(DUMP_SCRIPT, { pg_dump: pgDumpOk, pg_restore: "exit 0" }, { DATABASE_URL: "postgresql://u:p@db:5432/candlefish?sslmode=require" });
        try {
            assert.equal(r.status, 0, r.out);
            assert.equal(r.calls.length, 2);
            assert.match(r.calls[0], /^pg_dump --format=custom --compress=6 --file=\S+\/backup\/dump --dbname=postgresql:\/\/u:p@db:5432\/candlefish\?sslmode=require$/);
            assert.match(r.calls[1], /^pg_restore --list \S+\/backup\/dump$/);
            assert.match(r.out, /dumped 13 bytes/);
        } finally {
            r.cleanup();
        }
    });

    it("dump: a failing pg_dump fails the container (so the upload never starts), before pg_restore", () => {
        const r = runScript(DUMP_SCRIPT, { pg_dump: "echo 'connection refused' >&2; exit 1", pg_restore: "exit 0" }, { DATABASE_URL: "x" });
        try {
            assert.notEqual(r.status, 0);
            assert.deepEqual(r.calls.map((c) => c.split(" ")[0]), ["pg_dump"]);
        } finally {
            r.cleanup();
        }
    });

    it("dump: an archive pg_restore cannot list (truncated) fails the container", () => {
        const r = runScript(DUMP_SCRIPT, { pg_dump: pgDumpOk, pg_restore: "echo 'pg_restore: error: could not read input file: end of file' >&2; exit 1" }, { DATABASE_URL: "x" });
        try {
            assert.notEqual(r.status, 0);
        } finally {
            r.cleanup();
        }
    });

    const uploadEnv = { BUCKET: "candlefish-backups", KMS_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/k", DB_NAME: "candlefish" };

    it("upload: one object database/<db>-<UTC yyyymmdd-hhmm>.dump, SSE-KMS with the backups key", () => {
        const r = runScript(`mkdir -p /backup/ && printf PGDMP > /backup/dump\n${UPLOAD_SCRIPT}`, { aws: "exit 0" }, uploadEnv);
        try {
            assert.equal(r.status, 0, r.out);
            assert.equal(r.calls.length, 1);
            assert.match(
                r.calls[0],
                /^aws s3 cp \S+\/backup\/dump s3:\/\/candlefish-backups\/database\/candlefish-\d{8}-\d{4}\.dump --sse aws:kms --sse-kms-key-id arn:aws:kms:us-east-1:123456789012:key\/k --only-show-errors$/,
            );
            assert.match(r.out, /uploaded s3:\/\/candlefish-backups\/database\/candlefish-\d{8}-\d{4}\.dump/);
        } finally {
            r.cleanup();
        }
    });

    it("upload: an empty or missing dump is never uploaded; a failed upload fails the Job", () => {
        const empty = runScript(`: > /backup/dump\n${UPLOAD_SCRIPT}`, { aws: "exit 0" }, uploadEnv);
        const failed = runScript(`printf PGDMP > /backup/dump\n${UPLOAD_SCRIPT}`, { aws: "echo AccessDenied >&2; exit 1" }, uploadEnv);
        try {
            assert.notEqual(empty.status, 0);
            assert.deepEqual(empty.calls, []);
            assert.notEqual(failed.status, 0);
            assert.doesNotMatch(failed.out, /uploaded/);
        } finally {
            empty.cleanup();
            failed.cleanup();
        }
    });
});

describe("logical backups: the restore pod the runbook shows", () => {
    it("docs/RUNBOOK.md's restore-pod.json is valid JSON, PSS restricted, and reads DATABASE_URL and the client image as the CronJob does", async function () {
        this.timeout(60000);
        const md = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "RUNBOOK.md"), "utf8");
        const m = /<!-- restore-pod\.json -->\n```json\n([\s\S]*?)\n```/.exec(md);
        assert.ok(m, "the runbook shows restore-pod.json");
        const pod = JSON.parse(m[1]).spec;
        const job = inputs(find(await renderWith("production"), CRONJOB, "logical-backup-cronjob")).spec.jobTemplate.spec.template.spec;
        const dump = job.initContainers[0];
        const c = pod.containers[0];
        assert.equal(c.name, "pg-restore", "kubectl run pg-restore merges the override into its container by name");
        assert.equal(c.image, dump.image);
        assert.deepEqual(c.env, [dump.env[0]]);
        assert.equal(pod.automountServiceAccountToken, false);
        const { fsGroup: _fs, ...jobPodSecurity } = job.securityContext;
        assert.deepEqual(pod.securityContext, jobPodSecurity);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        // The runbook's command writes the dump to /tmp, which must be writable.
        assert.deepEqual(c.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
        assert.ok(md.includes("kubectl -n production run pg-restore --rm -i --restart=Never --image=postgres:16.6-alpine"));
    });
});
