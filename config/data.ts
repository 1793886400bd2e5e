// Data-store config: database (RDS PostgreSQL), cache (ElastiCache Redis),
// secrets (Secrets Manager and their delivery to pods) and backups (the
// runbook's s3://candlefish-backups bucket, the AWS Backup plan, restore).
//
// Every key has a default that differs between production and the other
// stacks only where the runbook or a security control asks for it (FSBP RDS.5
// multi-AZ, RDS.11 retention, ElastiCache.3 failover). Sizes, retentions and
// identifiers are validated here, so a typo stops the program before any
// resource is registered.
import * as s from "./schema";
import { ConfigSource } from "./source";
import { CoreConfig, PLATFORM_SECRET_ENV } from "./services";

/** RDS PostgreSQL settings. */
export interface DatabaseConfig {
    /** db.<family>.<size>, e.g. db.r6g.large. */
    readonly instanceClass: string;
    /** PostgreSQL major (or major.minor); minors are upgraded automatically (FSBP RDS.13). */
    readonly engineVersion: string;
    /** The major version, for the parameter group family (postgres16). */
    readonly engineMajor: number;
    /** GiB at creation. */
    readonly allocatedStorage: number;
    /** Storage autoscaling ceiling in GiB; always above allocatedStorage. */
    readonly maxAllocatedStorage: number;
    /** Automated backup retention, 7 to 35 days (FSBP RDS.11 requires >= 7). */
    readonly backupRetentionDays: number;
    /** Standby in a second AZ (FSBP RDS.5). */
    readonly multiAz: boolean;
    /** The database the runbook dumps (`pg_dump ... candlefish`). */
    readonly dbName: string;
    /** Master user name; its password is managed (and rotated) by RDS in Secrets Manager. Only the role Job uses it. */
    readonly username: string;
    /**
     * Bump to rotate the passwords of the apps' and the exporter's own logins
     * (components/database-roles.ts); pods roll to the new ones, and those still
     * running keep working meanwhile (two logins alternate).
     */
    readonly credentialsVersion: number;
    /** Enhanced monitoring interval in seconds (FSBP RDS.6); 0 turns it off. */
    readonly monitoringIntervalSeconds: number;
    /** Create the instance from this snapshot (identifier or ARN). See docs/PLATFORM.md "Restore". */
    readonly restoreFromSnapshot: string | undefined;
    /**
     * The instance class's memory in GiB, for the RDS memory alert (CloudWatch
     * reports only FreeableMemory): derived from instanceClass, or `database.memoryGiB`.
     */
    readonly memoryGiB: number;
    /**
     * The RDS CA that issues the instance's server certificate. The pods trust
     * all three G1 roots of the region (components/rds-ca.ts), so a change
     * between them never breaks verify-full; RDS restarts the instance to apply it.
     */
    readonly caCertIdentifier: RdsCaCertIdentifier;
}

/** RDS's current certificate authorities (the G1 generation, valid until 2061 and later). */
export const RDS_CA_CERT_IDENTIFIERS = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"] as const;
export type RdsCaCertIdentifier = (typeof RDS_CA_CERT_IDENTIFIERS)[number];

/** ElastiCache Redis settings. */
export interface CacheConfig {
    /** cache.<family>.<size>, e.g. cache.r7g.large. */
    readonly nodeType: string;
    /** Redis OSS engine version (6.2 or newer: AUTH with TLS). */
    readonly engineVersion: string;
    /** Primary plus replicas; at least 2 when multiAz is on. */
    readonly numCacheClusters: number;
    /** Automatic failover and multi-AZ (FSBP ElastiCache.3). */
    readonly multiAz: boolean;
    /** Bump to rotate the AUTH token (candlefish/<stack>/redis-auth); 1 is the token generated at creation. */
    readonly authTokenVersion: number;
    /** ROTATE: the new token is accepted alongside the previous one; SET: only the current token is accepted. */
    readonly authTokenStrategy: "ROTATE" | "SET";
    /** Daily snapshots kept, 1 to 35 (FSBP ElastiCache.1). */
    readonly snapshotRetentionDays: number;
}

/** Secrets Manager secrets and their delivery to pods. */
export interface SecretsConfig {
    /** Bump to regenerate candlefish/<stack>/jwt-secret; pods roll to the new value. */
    readonly jwtSecretVersion: number;
    /**
     * Roll back: the VersionId of an earlier version of candlefish/<stack>/jwt-secret
     * whose value becomes current again (read from Secrets Manager at deploy time).
     */
    readonly jwtSecretRestoreVersionId: string | undefined;
    /**
     * Extra values for candlefish/<stack>/config, from Pulumi *secret* config
     * (`pulumi config set --secret --path secrets.config.NAME value`).
     * Delivered as env NAME to the services that list NAME in services.<name>.secrets.
     */
    readonly config: Readonly<Record<string, string>>;
    /** Days Secrets Manager keeps a deleted secret recoverable. */
    readonly recoveryWindowDays: number;
    /** External Secrets Operator Helm chart version (pinned). */
    readonly externalSecretsChartVersion: string;
    /** How often ESO re-reads Secrets Manager (a rotation forces an immediate sync). */
    readonly refreshInterval: string;
}

/**
 * Where the backup bucket comes from (docs/AWS.md "Backup bucket"). S3 bucket
 * names are global across every AWS account, so the runbook's
 * `candlefish-backups` is not assumed to be free:
 *   create    this stack creates the bucket in S3's account regional namespace
 *             (backupBucketName: `<prefix>-<account>-<region>-an`, a name no
 *             other account can take), and protects it
 *   import    this stack adopts the existing `backups.bucketName` (Pulumi's
 *             `import` option) and from then on manages it like a created one
 *   existing  the stack uses `backups.bucketName` as it is: it reads it, never
 *             changes or deletes it
 */
export const BUCKET_MODES = ["create", "import", "existing"] as const;
export type BucketMode = (typeof BUCKET_MODES)[number];

/**
 * The bucket name `create` gives: S3's account regional namespace format
 * `<prefix>-<account>-<region>-an` (S3 user guide, "Namespaces for general
 * purpose buckets"), the stack in the prefix outside production.
 */
export function backupBucketName(stack: string, production: boolean, account: string, region: string): string {
    return `${production ? "candlefish-backups" : `candlefish-backups-${stack}`}-${account}-${region}-an`;
}

/** Regions without S3's account regional namespace (S3 user guide: Middle East (Bahrain) and (UAE)). */
export const NO_ACCOUNT_REGIONAL_NAMESPACE: readonly string[] = ["me-south-1", "me-central-1"];

/** S3's rules for a general purpose bucket name (3-63 lower-case letters, digits, dots, hyphens). */
export const BUCKET_NAME_PATTERN = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The backup bucket and the AWS Backup plan. */
export interface BackupsConfig {
    /** create | import | existing (BUCKET_MODES). */
    readonly bucket: BucketMode;
    /** The bucket `import` adopts or `existing` uses; undefined with `create` (backupBucketName). */
    readonly bucketName: string | undefined;
    /** Days AWS Backup keeps each daily RDS recovery point (> 0). */
    readonly retentionDays: number;
    /** Optional second region that receives a copy of every recovery point (DR). */
    readonly copyToRegion: string | undefined;
    /** Bucket objects move to STANDARD_IA after this many days. */
    readonly infrequentAccessAfterDays: number;
    /** ... then to GLACIER after this many days. */
    readonly glacierAfterDays: number;
    /** ... and expire after this many days. */
    readonly expireAfterDays: number;
    /** The scheduled logical dump (pg_dump) into s3://<bucket>/database/ (runbook "Database Backup"). */
    readonly logicalDump: LogicalDumpConfig;
}

/** The scheduled pg_dump: its schedule, how long its dumps are kept, the client image, its scratch volume. */
export interface LogicalDumpConfig {
    /** Cron schedule, UTC (default 04:15, after the RDS backup window 03:00-04:00 and before AWS Backup's 05:00). */
    readonly schedule: string;
    /** Days each dump is kept in the bucket (its own lifecycle rule on database/); never more than expireAfterDays. */
    readonly retentionDays: number;
    /** The PostgreSQL client image: pg_dump of the server's major version, pinned. */
    readonly image: string;
    /** Size of the per-run scratch volume (gp3, deleted with the pod) the dump is written to before upload. */
    readonly volumeSize: string;
    /** LogicalBackupMissing fires when the last successful dump is older than this (above the schedule's longest gap). */
    readonly alertAfterHours: number;
}

/**
 * pg_dump per PostgreSQL major, pinned (the November 2024 minor releases). The
 * client's major matches the server's: an older pg_dump refuses a newer server,
 * and a newer one writes dumps the older server may not load.
 */
export const PG_CLIENT_IMAGES: Readonly<Record<number, string>> = {
    13: "postgres:13.18-alpine",
    14: "postgres:14.15-alpine",
    15: "postgres:15.10-alpine",
    16: "postgres:16.6-alpine",
    17: "postgres:17.2-alpine",
};

export interface DataConfig {
    readonly database: DatabaseConfig;
    readonly cache: CacheConfig;
    readonly secrets: SecretsConfig;
    readonly backups: BackupsConfig;
}

/** The roles components/database-roles.ts creates (groups and their a/b logins); the master user may not be one. */
export const DB_ROLE_NAME = /^candlefish_(app|monitor)(_[ab])?$/;

export const INSTANCE_CLASS_PATTERN = /^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d{0,2}xlarge|metal(-\d+xl)?)$/;
/**
 * Memory of an RDS instance class, in GiB, where the family's rule is known:
 * burstable classes by size; general purpose (m) 4 GiB and memory optimised (r)
 * 8 GiB per vCPU, x2g 16; `large` has 2 vCPUs, `xlarge` 4, `<n>xlarge` 4n. From
 * the hardware table of AWS's "DB instance classes" page (db.t4g.medium 4 GiB,
 * db.r6g.large 16 GiB, the defaults here); other classes: set database.memoryGiB.
 */
export function instanceClassMemoryGiB(instanceClass: string): number | undefined {
    const m = /^db\.([a-z0-9-]+)\.(micro|small|medium|large|(\d*)xlarge)$/.exec(instanceClass);
    if (!m) return undefined;
    const [, family, size, n] = m;
    if (/^t[34]g?$/.test(family)) return ({ micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32 } as Record<string, number>)[size];
    const perVcpu = /^m[5-7][a-z]*$/.test(family) ? 4 : /^r[5-8][a-z]*$/.test(family) ? 8 : /^x2[a-z]*$/.test(family) ? 16 : undefined;
    if (perVcpu === undefined || ["micro", "small", "medium"].includes(size)) return undefined;
    const vcpus = size === "large" ? 2 : 4 * (n ? Number(n) : 1);
    return perVcpu * vcpus;
}

export const NODE_TYPE_PATTERN = /^cache\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d{0,2}xlarge)$/;

// An RDS DB snapshot: a manual identifier (letter first, letters, digits and
// single hyphens, no trailing hyphen), an automated one (`rds:<id>`), an AWS
// Backup recovery point (`awsbackup:job-<uuid>`), or the ARN of any of these.
const SNAPSHOT_ID = "(?:rds:)?[A-Za-z](?:-?[A-Za-z0-9])*|awsbackup:job-[0-9a-fA-F-]{36}";
export const SNAPSHOT_PATTERN = new RegExp(
    `^(?:${SNAPSHOT_ID}|arn:aws(?:-[a-z]+)*:rds:[a-z]{2}(?:-[a-z]+)+-\\d:\\d{12}:snapshot:(?:${SNAPSHOT_ID}))$`,
);

/**
 * An engine version. YAML reads `engineVersion: 16` as a number, so whole
 * numbers are accepted as majors; a decimal such as 16.10 would silently read
 * as 16.1, so decimals must be quoted.
 */
function version(pattern: RegExp, expected: string): s.Spec<string> {
    const str = s.string({ pattern, expected });
    return {
        expected,
        parse(value, ctx) {
            if (typeof value === "number") {
                if (!Number.isInteger(value))
                    return s.fail(ctx, `write the version as a quoted string ("${value}"), so that a minor such as 16.10 is not read as 16.1`);
                return str.parse(String(value), ctx);
            }
            return str.parse(value, ctx);
        },
    };
}

const region = s.string({
    pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
    expected: "an AWS region such as us-west-2",
});

const databaseShape = s.object({
    instanceClass: s.optional(
        s.string({ pattern: INSTANCE_CLASS_PATTERN, expected: "an RDS instance class such as db.r6g.large or db.t4g.medium" }),
    ),
    engineVersion: s.optional(version(/^(1[3-9]|[2-9]\d)(\.\d+)?$/, "a PostgreSQL version such as 16 or \"16.4\" (13 or newer)")),
    allocatedStorage: s.optional(s.int({ min: 20, max: 65536 })),
    maxAllocatedStorage: s.optional(s.int({ min: 21, max: 65536 })),
    // FSBP RDS.11: automated backups of at least 7 days; 35 is the RDS maximum.
    backupRetentionDays: s.optional(s.int({ min: 7, max: 35 })),
    multiAz: s.optional(s.bool()),
    dbName: s.optional(
        s.string({ pattern: /^[a-z][a-z0-9_]{0,62}$/, expected: "a PostgreSQL database name (lower-case letter first, then letters, digits, _)" }),
    ),
    username: s.optional(
        s.string({
            pattern: /^[a-z][a-z0-9_]{0,62}$/,
            expected: "a PostgreSQL user name (lower-case letter first, then letters, digits, _)",
            check: (u) =>
                ["rdsadmin", "postgres", "admin"].includes(u)
                    ? `"${u}" is reserved or too guessable; choose an application-specific name`
                    : DB_ROLE_NAME.test(u)
                      ? `"${u}" is a role the program creates for the apps or the exporter (components/database-roles.ts); choose another master user name`
                      : undefined,
        }),
    ),
    monitoringIntervalSeconds: s.optional(s.int({ min: 0, max: 60 })),
    credentialsVersion: s.optional(s.int({ min: 1 })),
    caCertIdentifier: s.optional(s.oneOf(RDS_CA_CERT_IDENTIFIERS)),
    memoryGiB: s.optional(s.int({ min: 1, max: 4096 })),
    restoreFromSnapshot: s.optional(
        s.string({
            pattern: SNAPSHOT_PATTERN,
            maxLength: 1024,
            expected:
                "an RDS DB snapshot identifier (my-snapshot, rds:<automated-id>, awsbackup:job-<uuid>) or its ARN arn:aws:rds:<region>:<account>:snapshot:<id>",
        }),
    ),
});

const cacheShape = s.object({
    nodeType: s.optional(s.string({ pattern: NODE_TYPE_PATTERN, expected: "an ElastiCache node type such as cache.r7g.large or cache.t4g.small" })),
    engineVersion: s.optional(version(/^(6\.2|[7-9]\.\d+)$/, "a Redis OSS version 6.2 or newer, as a quoted major.minor (\"7.1\")")),
    numCacheClusters: s.optional(s.int({ min: 1, max: 6 })),
    multiAz: s.optional(s.bool()),
    // FSBP ElastiCache.1: automatic backups on; 0 would turn them off.
    snapshotRetentionDays: s.optional(s.int({ min: 1, max: 35 })),
    authTokenVersion: s.optional(s.int({ min: 1 })),
    authTokenStrategy: s.optional(s.oneOf(["ROTATE", "SET"] as const)),
});

const envName = s.string({ pattern: /^[A-Z][A-Z0-9_]*$/, expected: "an UPPER_SNAKE_CASE env var name" });
/** Names the platform delivers itself; config may not shadow them. */
export const RESERVED_SECRET_ENV = PLATFORM_SECRET_ENV;

const secretsShape = s.object({
    jwtSecretVersion: s.optional(s.int({ min: 1 })),
    jwtSecretRestoreVersionId: s.optional(
        s.string({
            pattern: /^[A-Za-z0-9-]{32,64}$/,
            expected: "a Secrets Manager VersionId, as `aws secretsmanager list-secret-version-ids --include-deprecated` prints it (a UUID)",
        }),
    ),
    config: s.optional(s.record(envName, s.string({ minLength: 1, maxLength: 4096 }), "a map of ENV_NAME: secret value")),
    recoveryWindowDays: s.optional(s.int({ min: 7, max: 30 })),
    externalSecretsChartVersion: s.optional(
        s.string({ pattern: /^\d+\.\d+\.\d+$/, expected: "an exact chart version such as 0.10.7 (ranges are refused)" }),
    ),
    refreshInterval: s.optional(s.string({ pattern: /^\d+(s|m|h)$/, expected: "a duration such as 1h or 15m" })),
});

const backupsShape = s.object({
    bucket: s.optional(s.oneOf(BUCKET_MODES)),
    bucketName: s.optional(
        s.string({ pattern: BUCKET_NAME_PATTERN, expected: "an S3 bucket name such as candlefish-backups (3-63 lower-case letters, digits, dots and hyphens)" }),
    ),
    retentionDays: s.optional(s.int({ min: 1, max: 36500 })),
    copyToRegion: s.optional(region),
    infrequentAccessAfterDays: s.optional(s.int({ min: 30, max: 3650 })),
    glacierAfterDays: s.optional(s.int({ min: 1, max: 3650 })),
    expireAfterDays: s.optional(s.int({ min: 1, max: 36500 })),
    logicalDump: s.optional(
        s.object({
            schedule: s.optional(
                s.string({
                    pattern: /^(\S+\s+){4}\S+$/,
                    expected: "a five-field cron schedule (UTC) such as \"15 4 * * *\"",
                    check: (v) => (/^[0-9*,/-]+$/.test(v.replace(/\s+/g, "")) ? undefined : `expected cron fields of digits, *, /, - and , only, got "${v}"`),
                }),
            ),
            retentionDays: s.optional(s.int({ min: 1, max: 36500 })),
            image: s.optional(
                s.string({
                    pattern: /^[a-z0-9./_-]+(:[0-9][A-Za-z0-9._-]*|@sha256:[0-9a-f]{64})$/,
                    expected: "a pinned PostgreSQL client image such as postgres:16.6-alpine (a version tag or a digest, never latest)",
                }),
            ),
            volumeSize: s.optional(s.string({ pattern: /^[1-9]\d{0,4}Gi$/, expected: "a volume size in Gi such as 100Gi" })),
            alertAfterHours: s.optional(s.int({ min: 2, max: 24 * 40 })),
        }),
    ),
});

/** The configured value, or the default. */
const or = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);

/** `region`: the stack's `aws:region` (config/aws.ts). */
export function readData(src: ConfigSource, core: CoreConfig, region: string): DataConfig {
    const prod = core.environment === "production";
    const db = src.read("database", s.optional(databaseShape, {} as s.Infer<typeof databaseShape>));
    const cache = src.read("cache", s.optional(cacheShape, {} as s.Infer<typeof cacheShape>));
    const sec = src.read("secrets", s.optional(secretsShape, {} as s.Infer<typeof secretsShape>));
    const bk = src.read("backups", s.optional(backupsShape, {} as s.Infer<typeof backupsShape>));

    const d = s.isInvalid(db) ? ({} as Partial<s.Infer<typeof databaseShape>>) : db;
    const c = s.isInvalid(cache) ? ({} as Partial<s.Infer<typeof cacheShape>>) : cache;
    const x = s.isInvalid(sec) ? ({} as Partial<s.Infer<typeof secretsShape>>) : sec;
    const b = s.isInvalid(bk) ? ({} as Partial<s.Infer<typeof backupsShape>>) : bk;

    const engineVersion = or(d.engineVersion, "16");
    const allocatedStorage = or(d.allocatedStorage, prod ? 100 : 20);
    const maxAllocatedStorage = or(d.maxAllocatedStorage, Math.max(prod ? 1000 : 100, allocatedStorage * 2));
    if (maxAllocatedStorage <= allocatedStorage) {
        src.problem(
            "database.maxAllocatedStorage",
            `must be above database.allocatedStorage (${allocatedStorage} GiB), got ${maxAllocatedStorage}; it is the storage autoscaling ceiling`,
        );
    }
    const instanceClass = or(d.instanceClass, prod ? "db.r6g.large" : "db.t4g.medium");
    const memoryGiB = d.memoryGiB ?? instanceClassMemoryGiB(instanceClass);
    if (memoryGiB === undefined) {
        src.problem(
            "database.memoryGiB",
            `the memory of ${instanceClass} is not known here (known: db.t3/t4g, db.m5-m7*, db.r5-r8*, db.x2*); ` +
                "set it for the RDS memory alert: pulumi config set --path database.memoryGiB <GiB>",
        );
    }
    const database: DatabaseConfig = Object.freeze({
        instanceClass,
        engineVersion,
        engineMajor: Number(engineVersion.split(".")[0]),
        allocatedStorage,
        maxAllocatedStorage,
        backupRetentionDays: or(d.backupRetentionDays, prod ? 30 : 7),
        multiAz: or(d.multiAz, prod),
        dbName: or(d.dbName, "candlefish"),
        username: or(d.username, "candlefish_admin"),
        credentialsVersion: or(d.credentialsVersion, 1),
        monitoringIntervalSeconds: or(d.monitoringIntervalSeconds, 60),
        restoreFromSnapshot: d.restoreFromSnapshot,
        memoryGiB: memoryGiB ?? 0,
        caCertIdentifier: or(d.caCertIdentifier, "rds-ca-rsa2048-g1"),
    });
    if (![0, 1, 5, 10, 15, 30, 60].includes(database.monitoringIntervalSeconds)) {
        src.problem("database.monitoringIntervalSeconds", `expected one of 0, 1, 5, 10, 15, 30, 60, got ${database.monitoringIntervalSeconds}`);
    }

    const multiAz = or(c.multiAz, prod);
    const numCacheClusters = or(c.numCacheClusters, multiAz ? 2 : 1);
    if (multiAz && numCacheClusters < 2) {
        src.problem(
            "cache.numCacheClusters",
            `cache.multiAz needs a replica to fail over to: expected at least 2, got ${numCacheClusters} (or set cache.multiAz=false)`,
        );
    }
    const cacheCfg: CacheConfig = Object.freeze({
        nodeType: or(c.nodeType, prod ? "cache.r7g.large" : "cache.t4g.small"),
        engineVersion: or(c.engineVersion, "7.1"),
        numCacheClusters,
        multiAz,
        snapshotRetentionDays: or(c.snapshotRetentionDays, prod ? 7 : 1),
        authTokenVersion: or(c.authTokenVersion, 1),
        authTokenStrategy: or(c.authTokenStrategy, "ROTATE" as const),
    });

    const extra = x.config ?? {};
    // Values in the stack file must be `secure:`; a plaintext secret in git is the
    // failure this whole section exists to prevent.
    if (Object.keys(extra).length > 0 && !src.isSecret("secrets")) {
        src.problem(
            "secrets.config",
            "holds plaintext values; set each with `pulumi config set --secret --path secrets.config.NAME <value>` so the stack file stores only ciphertext",
        );
    }
    for (const k of Object.keys(extra)) {
        if ((RESERVED_SECRET_ENV as readonly string[]).includes(k))
            src.problem(`secrets.config.${k}`, `${k} is delivered by the platform itself; choose another name`);
    }
    const secrets: SecretsConfig = Object.freeze({
        jwtSecretVersion: or(x.jwtSecretVersion, 1),
        jwtSecretRestoreVersionId: x.jwtSecretRestoreVersionId,
        config: Object.freeze({ ...extra }),
        recoveryWindowDays: or(x.recoveryWindowDays, prod ? 30 : 7),
        externalSecretsChartVersion: or(x.externalSecretsChartVersion, "0.10.7"),
        refreshInterval: or(x.refreshInterval, "1h"),
    });

    const infrequentAccessAfterDays = or(b.infrequentAccessAfterDays, 30);
    const glacierAfterDays = or(b.glacierAfterDays, 90);
    const expireAfterDays = or(b.expireAfterDays, prod ? 365 : 180);
    if (glacierAfterDays <= infrequentAccessAfterDays)
        src.problem("backups.glacierAfterDays", `must be after backups.infrequentAccessAfterDays (${infrequentAccessAfterDays}), got ${glacierAfterDays}`);
    // GLACIER bills a 90-day minimum; expiring earlier pays for days never kept.
    if (expireAfterDays < glacierAfterDays + 90)
        src.problem(
            "backups.expireAfterDays",
            `must be at least backups.glacierAfterDays + 90 (${glacierAfterDays + 90}; Glacier's minimum storage duration), got ${expireAfterDays}`,
        );
    if (b.copyToRegion === region)
        src.problem("backups.copyToRegion", `must be a second region for disaster recovery, not the stack's own region ${region} (aws:region)`);

    const bucket = or(b.bucket, "create");
    if (bucket === "create") {
        if (b.bucketName !== undefined)
            src.problem(
                "backups.bucketName",
                `a created bucket is named by the stack (${backupBucketName(src.stack, prod, "<account>", region)}: S3 names are global, this one is unique per account and region); ` +
                    `to use ${b.bucketName}, set backups.bucket to "import" (this stack adopts and manages it) or "existing" (used as it is)`,
            );
        else if (NO_ACCOUNT_REGIONAL_NAMESPACE.includes(region)) {
            src.problem(
                "backups.bucket",
                `"create" makes the bucket in S3's account regional namespace, which ${region} (aws:region) does not offer; ` +
                    `create one yourself and set backups.bucket to "import" or "existing" with backups.bucketName`,
            );
        } else {
            const sample = backupBucketName(src.stack, prod, "123456789012", region);
            if (!BUCKET_NAME_PATTERN.test(sample) || sample.length > 63)
                src.problem(
                    "backups.bucket",
                    `the stack name ${JSON.stringify(src.stack)} makes the bucket name ${backupBucketName(src.stack, prod, "<account>", region)} (${sample.length} characters), which S3 refuses (3-63 lower-case letters, digits, dots, hyphens); ` +
                        `rename the stack, or name a bucket with backups.bucket=existing|import and backups.bucketName`,
                );
        }
    } else if (b.bucketName === undefined) {
        src.problem(
            "backups.bucketName",
            `required with backups.bucket=${bucket}: the existing bucket's name (pulumi config set --path backups.bucketName candlefish-backups)`,
        );
    }
    // The logical dumps: a quarter in production (the runbook's quarterly "Backup and
    // recovery testing" restores from the previous quarter), two weeks elsewhere.
    const ld: Partial<NonNullable<typeof b.logicalDump>> = b.logicalDump ?? {};
    const dumpRetention = or(ld.retentionDays, prod ? 90 : 14);
    // Both lifecycle rules apply to database/; the bucket-wide expiry would silently cut the dumps' retention short.
    if (dumpRetention > expireAfterDays)
        src.problem(
            "backups.logicalDump.retentionDays",
            `${dumpRetention} days is longer than backups.expireAfterDays (${expireAfterDays}), which expires every object in the bucket, dumps included; raise backups.expireAfterDays or shorten the retention`,
        );
    const pgImage = ld.image ?? PG_CLIENT_IMAGES[database.engineMajor];
    if (pgImage === undefined)
        src.problem(
            "backups.logicalDump.image",
            `no pg_dump image is pinned here for PostgreSQL ${database.engineMajor} (pinned: ${Object.keys(PG_CLIENT_IMAGES).join(", ")}); set one of that major, e.g. postgres:${database.engineMajor}.<minor>-alpine`,
        );
    const logicalDump: LogicalDumpConfig = Object.freeze({
        schedule: or(ld.schedule, "15 4 * * *"),
        retentionDays: dumpRetention,
        image: pgImage ?? "",
        volumeSize: or(ld.volumeSize, `${allocatedStorage}Gi`),
        // A daily schedule plus two hours.
        alertAfterHours: or(ld.alertAfterHours, 26),
    });
    const backups: BackupsConfig = Object.freeze({
        bucket,
        logicalDump,
        bucketName: bucket === "create" ? undefined : b.bucketName,
        retentionDays: or(b.retentionDays, prod ? 35 : 7),
        copyToRegion: b.copyToRegion,
        infrequentAccessAfterDays,
        glacierAfterDays,
        expireAfterDays,
    });

    return { database, cache: cacheCfg, secrets, backups };
}
