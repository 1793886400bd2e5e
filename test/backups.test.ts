// Backups: the backup bucket (the runbook's s3://candlefish-backups, created
// under a name unique per account and region, or an existing one imported or
// used as it is; private, versioned, SSE-KMS, TLS-only, tiered then expired)
// and the daily AWS Backup plan for RDS with retention from config and an
// optional second-region copy.
import { strict as assert } from "assert";
import { Rendered } from "../plan/render";
import { BACKUP_SCHEDULE } from "../components/backups";
import { ConfigError, ConfigSource, parseConfig } from "../config";
import { mocks } from "../plan/mocks";
import { expectRejected, find, inputs, ofType, renderBoth, renderStack } from "./harness";

const KMS = "arn:aws:kms:us-east-1:123456789012:key/backups-kms";

describe("backups (S3 bucket and AWS Backup)", function () {
    this.timeout(60000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("backups.bucket=create (both stack files): a protected bucket in S3's account regional namespace, never the global candlefish-backups", () => {
        const b = find(prod, "aws:s3/bucket:Bucket", "backups-bucket");
        assert.equal(inputs(b).bucketNamespace, "account-regional", "a name no other account can take");
        assert.equal(inputs(b).bucket, "candlefish-backups-123456789012-us-east-1-an");
        assert.equal(inputs(b).forceDestroy, false);
        assert.equal(b.options.protect, true);
        assert.equal(inputs(find(staging, "aws:s3/bucket:Bucket", "backups-bucket")).bucket, "candlefish-backups-staging-123456789012-us-east-1-an");
        assert.equal(prod.outputs.backupBucket, "candlefish-backups-123456789012-us-east-1-an");
    });

    it("blocks every form of public access and disables ACLs (FSBP S3.8, S3.12)", () => {
        assert.deepEqual(inputs(find(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access")), {
            bucket: "backups-bucket-id",
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        assert.equal(inputs(find(prod, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "backups-ownership")).rule.objectOwnership, "BucketOwnerEnforced");
    });

    it("is versioned and encrypted with the backups KMS key (FSBP S3.14, S3.17)", () => {
        assert.equal(inputs(find(prod, "aws:s3/bucketVersioning:BucketVersioning", "backups-versioning")).versioningConfiguration.status, "Enabled");
        const sse = inputs(find(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-sse"));
        assert.deepEqual(sse.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KMS }, bucketKeyEnabled: true }]);
        const key = find(prod, "aws:kms/key:Key", "backups-kms");
        assert.equal(inputs(key).enableKeyRotation, true);
        assert.equal(key.options.protect, true);
    });

    it("denies every request that is not over TLS (FSBP S3.5)", () => {
        const p = find(prod, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy");
        const doc = JSON.parse(inputs(p).policy);
        assert.deepEqual(doc.Statement, [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: ["arn:aws:s3:::candlefish-backups-123456789012-us-east-1-an", "arn:aws:s3:::candlefish-backups-123456789012-us-east-1-an/*"],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ]);
        assert.deepEqual(p.options.dependsOn, ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::backups-public-access"]);
    });

    it("moves objects to colder storage, then expires them; longer in production", () => {
        const rule = (r: Rendered) => inputs(find(r, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle")).rules[0];
        const p = rule(prod);
        assert.equal(p.status, "Enabled");
        assert.deepEqual(p.transitions, [
            { days: 30, storageClass: "STANDARD_IA" },
            { days: 90, storageClass: "GLACIER" },
        ]);
        assert.deepEqual(p.expiration, { days: 365 });
        assert.deepEqual(p.noncurrentVersionExpiration, { noncurrentDays: 120 });
        assert.deepEqual(p.abortIncompleteMultipartUpload, { daysAfterInitiation: 7 });
        assert.deepEqual(rule(staging).expiration, { days: 180 });
    });

    it("AWS Backup: a daily plan into a KMS-encrypted, protected vault, retention from config (35/7 days)", () => {
        const vault = find(prod, "aws:backup/vault:Vault", "backups-vault");
        assert.equal(inputs(vault).name, "candlefish-production-rds");
        assert.equal(inputs(vault).kmsKeyArn, KMS, "FSBP Backup.1");
        assert.equal(vault.options.protect, true);
        const rule = inputs(find(prod, "aws:backup/plan:Plan", "backups-plan")).rules[0];
        assert.equal(rule.schedule, BACKUP_SCHEDULE);
        assert.match(rule.schedule, /^cron\(0 5 \* \* \? \*\)$/, "daily");
        assert.equal(rule.targetVaultName, "candlefish-production-rds");
        assert.deepEqual(rule.lifecycle, { deleteAfter: 35 });
        assert.equal(rule.copyActions, undefined, "no second region unless configured");
        assert.deepEqual(inputs(find(staging, "aws:backup/plan:Plan", "backups-plan")).rules[0].lifecycle, { deleteAfter: 7 });
    });

    it("the selection backs up the RDS instance with a role AWS Backup can assume", () => {
        const sel = inputs(find(prod, "aws:backup/selection:Selection", "backups-selection"));
        assert.deepEqual(sel.resources, ["arn:aws:rds:us-east-1:123456789012:db:candlefish-maturity-map-production-db"]);
        assert.equal(sel.iamRoleArn, "arn:aws:iam::123456789012:role/candlefish-production-backup");
        const trust = JSON.parse(inputs(find(prod, "aws:iam/role:Role", "backups-role")).assumeRolePolicy);
        assert.deepEqual(trust.Statement[0].Principal, { Service: "backup.amazonaws.com" });
        const attached = ofType(prod, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            .filter((a) => a.name.startsWith("backups-role-"))
            .map((a) => inputs(a).policyArn)
            .sort();
        assert.deepEqual(attached, [
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        ]);
    });

    it("backups.retentionDays and backups.copyToRegion: a copy of every recovery point in a second-region vault", async () => {
        const r = await renderStack("production", ["backups.retentionDays=60", "backups.copyToRegion=us-west-2"]);
        const drKey = find(r, "aws:kms/key:Key", "backups-dr-kms");
        assert.equal(inputs(drKey).region, "us-west-2");
        assert.equal(drKey.options.protect, true);
        const dr = find(r, "aws:backup/vault:Vault", "backups-dr-vault");
        assert.equal(inputs(dr).region, "us-west-2");
        assert.equal(inputs(dr).name, "candlefish-production-rds-dr");
        assert.match(inputs(dr).kmsKeyArn, /:key\/backups-dr-kms$/, "the copy is encrypted with the second-region key");
        assert.equal(dr.options.protect, true);
        const rule = inputs(find(r, "aws:backup/plan:Plan", "backups-plan")).rules[0];
        assert.deepEqual(rule.lifecycle, { deleteAfter: 60 });
        assert.equal(rule.copyActions.length, 1);
        assert.deepEqual(rule.copyActions[0].lifecycle, { deleteAfter: 60 });
        assert.match(rule.copyActions[0].destinationVaultArn, /backups-dr-vault/);
    });

    it("a created bucket's name follows the region: aws:region=us-west-2 makes candlefish-backups-<account>-us-west-2-an", async () => {
        const r = await renderStack("production", ["aws:region=us-west-2"]);
        assert.equal(inputs(find(r, "aws:s3/bucket:Bucket", "backups-bucket")).bucket, "candlefish-backups-123456789012-us-west-2-an");
    });

    it("backups.bucket=import: the existing bucket is adopted (Pulumi import by its name), protected, and gets every setting a created one gets", async () => {
        const original = mocks.newResource;
        const imports: Record<string, string | undefined> = {};
        mocks.newResource = (args) => ((imports[`${args.type}::${args.name}`] = args.id), original.call(mocks, args));
        let r;
        try {
            r = await renderStack("production", ["backups.bucket=import", "backups.bucketName=candlefish-backups"]);
        } finally {
            mocks.newResource = original;
        }
        const b = find(r, "aws:s3/bucket:Bucket", "backups-bucket");
        assert.equal(inputs(b).bucket, "candlefish-backups");
        assert.equal(inputs(b).bucketNamespace, undefined, "an imported bucket keeps its own namespace");
        assert.equal(b.options.protect, true);
        assert.equal(imports["aws:s3/bucket:Bucket::backups-bucket"], "candlefish-backups", "imported by its name, not created");
        assert.equal(imports["aws:s3/bucketVersioning:BucketVersioning::backups-versioning"] || undefined, undefined, "its settings are declared, not imported");
        for (const [type, name] of [
            ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access"],
            ["aws:s3/bucketVersioning:BucketVersioning", "backups-versioning"],
            ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-sse"],
            ["aws:s3/bucketPolicy:BucketPolicy", "backups-policy"],
            ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"],
        ])
            find(r, type, name);
        assert.equal(r.outputs.backupBucket, "candlefish-backups");
    });

    it("backups.bucket=existing: the bucket is read, not managed: no bucket or settings declared, the name is the stack's output", async () => {
        const original = mocks.call;
        const lookups: unknown[] = [];
        mocks.call = (args) => (args.token === "aws:s3/getBucket:getBucket" && lookups.push(args.inputs), original.call(mocks, args));
        let r;
        try {
            r = await renderStack("production", ["backups.bucket=existing", "backups.bucketName=candlefish-backups"]);
        } finally {
            mocks.call = original;
        }
        assert.deepEqual(r.resources.filter((x) => x.type.startsWith("aws:s3/")).map((x) => x.name), []);
        assert.deepEqual(lookups, [{ bucket: "candlefish-backups" }]);
        assert.equal(r.outputs.backupBucket, "candlefish-backups");
        // The AWS Backup plan for RDS does not depend on the bucket.
        find(r, "aws:backup/plan:Plan", "backups-plan");
    });

    const refusals: { what: string; edits: string[]; key: string; says: RegExp }[] = [
        { what: "an unknown bucket mode", edits: ["backups.bucket=adopt"], key: "backups.bucket", says: /expected one of "create", "import", "existing"/ },
        { what: "import without the bucket's name", edits: ["backups.bucket=import"], key: "backups.bucketName", says: /required with backups\.bucket=import/ },
        { what: "existing without the bucket's name", edits: ["backups.bucket=existing"], key: "backups.bucketName", says: /required with backups\.bucket=existing/ },
        { what: "a name for a bucket to create", edits: ["backups.bucketName=candlefish-backups"], key: "backups.bucketName", says: /a created bucket is named by the stack \(candlefish-backups-<account>-us-east-1-an.*set backups\.bucket to "import".*or "existing"/ },
        { what: "a bucket name S3 refuses", edits: ["backups.bucket=existing", "backups.bucketName=Candlefish_Backups"], key: "backups.bucketName", says: /S3 bucket name/ },
    ];
    for (const c of refusals) {
        it(`refuses ${c.what}, naming ${c.key}, before anything is registered`, async () => {
            const { message, registered } = await expectRejected("production", c.edits);
            assert.equal(registered, 0);
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, message);
            assert.match(line, c.says);
        });
    }

    it("refuses backups.bucket=create where S3 has no account regional namespace (me-south-1), naming backups.bucket", async () => {
        const { message, registered } = await expectRejected("staging", ["aws:region=me-south-1"]);
        assert.equal(registered, 0);
        assert.match(message, /- backups\.bucket: "create" makes the bucket in S3's account regional namespace, which me-south-1 \(aws:region\) does not offer/);
        const { message: ok } = await expectRejected("staging", ["aws:region=me-south-1", "backups.bucket=existing"]);
        assert.match(ok, /- backups\.bucketName: required with backups\.bucket=existing/);
        assert.doesNotMatch(ok, /- backups\.bucket:/);
    });

    it("refuses a stack whose name would make a created bucket name S3 refuses, naming backups.bucket", () => {
        const raw = { activeColor: "blue", services: JSON.stringify({ x: { blue: { imageTag: "v1.0.0" }, green: { imageTag: "v1.0.0" } } }), dns: JSON.stringify({ enabled: false }) };
        const issues = (stack: string) => {
            try {
                parseConfig(new ConfigSource(stack, raw, new Set(), { "aws:region": "ap-southeast-2" }));
                return [];
            } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
                return e.issues.filter((i) => i.key.startsWith("backups"));
            }
        };
        assert.deepEqual(issues("dev-alice"), []);
        assert.match(issues("Dev_Alice")[0]?.message ?? "", /makes the bucket name candlefish-backups-Dev_Alice-<account>-ap-southeast-2-an .*which S3 refuses/);
        assert.match(issues("a-very-long-stack-name-for-testing")[0]?.message ?? "", /which S3 refuses/);
    });
});
