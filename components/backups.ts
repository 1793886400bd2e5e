// Backups: the runbook's s3://candlefish-backups bucket (database/ dumps,
// manifests) made private, versioned, KMS-encrypted and TLS-only with a
// lifecycle to colder storage; and an AWS Backup plan that takes the daily
// RDS recovery points the runbook's hand-run `pg_dump` used to, optionally
// copied to a second region. Runbook "Backup Procedures", "Disaster Recovery".
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { BackupsConfig, BucketMode } from "../config/data";

export interface BackupsArgs {
    /** The stack name (vault, plan and role names). */
    readonly stack: string;
    /**
     * Where the bucket comes from (`backups.bucket`, config/data.ts): `create`
     * it, `import` an existing one into the stack, or use an `existing` one as it is.
     */
    readonly bucketMode: BucketMode;
    /**
     * create: the name to create (account regional namespace: backupBucketName);
     * import / existing: the existing bucket's name (`backups.bucketName`).
     */
    readonly bucketName: pulumi.Input<string>;
    /** Retention, second region, bucket lifecycle: `backups.*`. */
    readonly settings: BackupsConfig;
    /** The RDS instance the plan backs up. */
    readonly databaseArn: pulumi.Input<string>;
    /** Tags for every AWS resource. */
    readonly tags?: Record<string, string>;
}

/** Daily at 05:00 UTC, after the RDS backup window (03:00-04:00). */
export const BACKUP_SCHEDULE = "cron(0 5 * * ? *)";

export class Backups extends pulumi.ComponentResource {
    /** The bucket this stack manages (create, import); undefined for an `existing` one, which it only reads. */
    public readonly bucket?: aws.s3.Bucket;
    public readonly kmsKey: aws.kms.Key;
    public readonly vault: aws.backup.Vault;
    /** The vault in `backups.copyToRegion`, when configured. */
    public readonly copyVault?: aws.backup.Vault;
    public readonly plan: aws.backup.Plan;
    public readonly bucketName: pulumi.Output<string>;
    /** The bucket's ARN, whichever mode (the logical dump's role may put under database/ of it). */
    public readonly bucketArn: pulumi.Output<string>;

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:Backups", name, {}, opts);
        const cfg = args.settings;
        const tags = { ...args.tags, component: "backups" };
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: true };

        // One key for the bucket and the vault (FSBP S3.17, Backup.1); KMS.4 rotation.
        // The vault key does not re-encrypt RDS recovery points: RDS is not a service
        // whose backups AWS Backup fully manages, so its snapshots keep the database's
        // own KMS key (per AWS Backup's documentation; not verified from here).
        this.kmsKey = new aws.kms.Key(
            `${name}-kms`,
            { description: `Backups of candlefish ${args.stack}`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
            keep,
        );

        if (args.bucketMode === "existing") {
            // Used as it is: read (the up stops here if it does not exist), never changed or deleted.
            // Its encryption, versioning, public access and lifecycle are its owner's.
            const found = aws.s3.getBucketOutput({ bucket: args.bucketName }, { parent: this });
            this.bucketName = found.bucket;
            this.bucketArn = found.arn;
        } else {
            this.bucket = this.declareBucket(name, args, tags);
            this.bucketName = this.bucket.bucket;
            this.bucketArn = this.bucket.arn;
        }

        // FSBP Backup.1: recovery points encrypted with the backups key.
        this.vault = new aws.backup.Vault(`${name}-vault`, { name: `candlefish-${args.stack}-rds`, kmsKeyArn: this.kmsKey.arn, tags }, keep);

        let copyActions: aws.types.input.backup.PlanRuleCopyAction[] | undefined;
        if (cfg.copyToRegion) {
            // A region-wide outage leaves a copy of every recovery point elsewhere.
            const drKey = new aws.kms.Key(
                `${name}-dr-kms`,
                {
                    region: cfg.copyToRegion,
                    description: `Backup copies of candlefish ${args.stack}`,
                    enableKeyRotation: true,
                    deletionWindowInDays: 30,
                    tags,
                },
                keep,
            );
            this.copyVault = new aws.backup.Vault(
                `${name}-dr-vault`,
                { region: cfg.copyToRegion, name: `candlefish-${args.stack}-rds-dr`, kmsKeyArn: drKey.arn, tags },
                keep,
            );
            copyActions = [{ destinationVaultArn: this.copyVault.arn, lifecycle: { deleteAfter: cfg.retentionDays } }];
        }

        this.plan = new aws.backup.Plan(
            `${name}-plan`,
            {
                name: `candlefish-${args.stack}-rds-daily`,
                rules: [
                    {
                        ruleName: "daily",
                        targetVaultName: this.vault.name,
                        schedule: BACKUP_SCHEDULE,
                        startWindow: 60,
                        completionWindow: 360,
                        lifecycle: { deleteAfter: cfg.retentionDays },
                        recoveryPointTags: { ...tags, plan: "daily" },
                        copyActions,
                    },
                ],
                tags,
            },
            { parent: this },
        );

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                name: `candlefish-${args.stack}-backup`,
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "backup.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            // Confused-deputy guard: only AWS Backup acting for this account may assume it.
                            Condition: { StringEquals: { "aws:SourceAccount": aws.getCallerIdentityOutput({}, { parent: this }).accountId } },
                        },
                    ],
                }),
                tags,
            },
            { parent: this },
        );
        for (const [suffix, policy] of [
            ["backup", "AWSBackupServiceRolePolicyForBackup"],
            ["restore", "AWSBackupServiceRolePolicyForRestores"],
        ]) {
            new aws.iam.RolePolicyAttachment(
                `${name}-role-${suffix}`,
                { role: role.name, policyArn: `arn:aws:iam::aws:policy/service-role/${policy}` },
                { parent: this },
            );
        }
        new aws.backup.Selection(
            `${name}-selection`,
            { name: `candlefish-${args.stack}-rds`, planId: this.plan.id, iamRoleArn: role.arn, resources: [args.databaseArn] },
            { parent: this },
        );

        this.registerOutputs({ bucketName: this.bucketName, vaultName: this.vault.name, planId: this.plan.id });
    }

    /**
     * The bucket this stack manages, created or imported, and its settings. An
     * imported bucket gets the same settings: its own encryption, versioning,
     * policy and lifecycle rules are replaced by these (docs/AWS.md "Backup bucket").
     */
    private declareBucket(name: string, args: BackupsArgs, tags: Record<string, string>): aws.s3.Bucket {
        const cfg = args.settings;
        if (args.bucketMode === "import" && typeof args.bucketName !== "string") throw new Error("Backups: an imported bucket is named by config (a string)");
        // `import`: Pulumi reads the existing bucket by its name (its id) into the stack instead of creating it.
        const adopt = args.bucketMode === "import" ? { import: args.bucketName as string } : {};
        const b = new aws.s3.Bucket(
            `${name}-bucket`,
            {
                bucket: args.bucketName,
                // A created bucket lives in the account regional namespace: its name can never be
                // taken by another account (an imported one keeps the namespace it has).
                ...(args.bucketMode === "create" ? { bucketNamespace: "account-regional" } : {}),
                forceDestroy: false,
                tags,
            },
            { parent: this, protect: true, ...adopt },
        );
        const bucket = b.id;

        // FSBP S3.12: no ACLs; the bucket owner owns every object.
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        // FSBP S3.8 (and S3.1 at account level): no public access, whatever a policy says.
        const pab = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        // FSBP S3.14: an overwritten or deleted dump stays recoverable.
        new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, { parent: this });
        // FSBP S3.17: SSE-KMS with the backups key; bucket keys keep KMS costs flat.
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-sse`,
            {
                bucket,
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKey.arn }, bucketKeyEnabled: true }],
            },
            { parent: this },
        );
        // FSBP S3.5: requests without TLS are denied.
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            {
                bucket,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "s3:*",
                            Resource: [b.arn, pulumi.interpolate`${b.arn}/*`],
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                }),
            },
            // S3 refuses the policy while the public access block is being written.
            { parent: this, dependsOn: [pab] },
        );
        // FSBP S3.13 / S3.10: lifecycle for current and noncurrent versions.
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket,
                rules: [
                    {
                        id: "tier-then-expire",
                        status: "Enabled",
                        filter: {},
                        transitions: [
                            { days: cfg.infrequentAccessAfterDays, storageClass: "STANDARD_IA" },
                            { days: cfg.glacierAfterDays, storageClass: "GLACIER" },
                        ],
                        expiration: { days: cfg.expireAfterDays },
                        noncurrentVersionTransitions: [{ noncurrentDays: 30, storageClass: "GLACIER" }],
                        noncurrentVersionExpiration: { noncurrentDays: 120 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                    // The scheduled pg_dumps (components/logical-backup.ts) are kept
                    // backups.logicalDump.retentionDays; config refuses a retention longer
                    // than the bucket-wide expiry above, which applies to them too.
                    {
                        id: "database-dumps",
                        status: "Enabled",
                        filter: { prefix: "database/" },
                        expiration: { days: cfg.logicalDump.retentionDays },
                    },
                ],
            },
            { parent: this },
        );
        return b;
    }
}
