// Runbook "Backup Procedures > Database Backup", as a schedule: a pg_dump of
// the database into s3://<backups bucket>/database/, every day. Snapshots
// (AWS Backup, RDS automated backups) restore a whole instance of the same
// major version; a logical dump restores one table, or into another major.
//
// One CronJob in the app namespace (where the connection Secret is delivered),
// logging in with the app's own login (DATABASE_URL of rtpm-api-database,
// candlefish_app_a|b: its group owns what the migrations create, so pg_dump
// can read every table), never the RDS master user (docs/DATABASE.md):
//   dump    (init container, postgres client of the server's major) pg_dump
//           --format=custom to a per-run gp3 volume, then pg_restore --list
//           reads the archive back (a truncated dump fails here, not at restore)
//   upload  (aws-cli) s3 cp to database/<db>-<UTC date-time>.dump, SSE-KMS with
//           the backups key, through an IRSA role that can only put objects
//           under database/ (no read, no list, no delete: a compromised job
//           cannot read or destroy older dumps; versioning keeps overwrites)
// Retention is the bucket's lifecycle rule on database/ (components/backups.ts,
// backups.logicalDump.retentionDays).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { LogicalDumpConfig } from "../config/data";
import { irsaRole } from "./irsa";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";
import type { PodFiles } from "./rds-ca";

/** The CronJob's fixed name (`kubectl create job --from=cronjob/postgres-logical-backup ...`). */
export const LOGICAL_BACKUP = "postgres-logical-backup";
/** Where the dumps go in the bucket: the runbook's s3://candlefish-backups/database/. */
export const DUMP_PREFIX = "database/";
/** Pinned aws-cli image for the upload. */
export const AWS_CLI_IMAGE = "amazon/aws-cli:2.22.35";
const DUMP_FILE = "/backup/dump";
/** nobody: both images have it (alpine's and Amazon Linux's passwd). */
const UID = 65534;

/** The dump container's script: dump, then read the archive's table of contents back. */
export const DUMP_SCRIPT = [
    "set -eu",
    `pg_dump --format=custom --compress=6 --file=${DUMP_FILE} --dbname="$DATABASE_URL"`,
    // A dump that pg_restore cannot list is not a backup.
    `pg_restore --list ${DUMP_FILE} > /dev/null`,
    `echo "dumped $(wc -c < ${DUMP_FILE}) bytes"`,
].join("\n");

/** The upload container's script: one object per run, named after the database and the UTC time. */
export const UPLOAD_SCRIPT = [
    "set -eu",
    `test -s ${DUMP_FILE}`,
    `key="${DUMP_PREFIX}\${DB_NAME}-$(date -u +%Y%m%d-%H%M).dump"`,
    `aws s3 cp ${DUMP_FILE} "s3://\${BUCKET}/\${key}" --sse aws:kms --sse-kms-key-id "\${KMS_KEY_ARN}" --only-show-errors`,
    'echo "uploaded s3://${BUCKET}/${key}"',
].join("\n");

export interface LogicalBackupArgs {
    readonly stack: string;
    /** The app namespace, where the connection Secret is. */
    readonly namespace: pulumi.Input<string>;
    readonly region: string;
    readonly settings: LogicalDumpConfig;
    /** The database name (the dump file's name). */
    readonly dbName: string;
    /** The Secret and key holding DATABASE_URL, and the files it names (the RDS root CAs of sslrootcert). */
    readonly databaseUrl: { readonly secretName: pulumi.Input<string>; readonly key: string; readonly files: PodFiles };
    /** The backups bucket and its KMS key. */
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The cluster's IRSA issuer. */
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly oidcProviderUrl: pulumi.Input<string>;
    /** gp3, the cluster's StorageClass. */
    readonly storageClass: string;
    readonly tags?: Record<string, string>;
    /** What makes the login DATABASE_URL names (the role Job): the CronJob is created after it. */
    readonly after?: readonly pulumi.Resource[];
}

export class LogicalBackup extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly cronJob: k8s.batch.v1.CronJob;

    constructor(name: string, args: LogicalBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:LogicalBackup", name, {}, opts);
        const cfg = args.settings;
        const labels = { app: LOGICAL_BACKUP, "app.kubernetes.io/name": LOGICAL_BACKUP, "app.kubernetes.io/part-of": "candlefish-maturity-map" };

        this.role = irsaRole(
            `${name}-irsa`,
            {
                roleName: `candlefish-${args.stack}-logical-backup`,
                description: `pg_dump of the ${args.stack} database: put objects under ${DUMP_PREFIX} of the backups bucket`,
                oidcProviderArn: args.oidcProviderArn,
                oidcProviderUrl: args.oidcProviderUrl,
                namespace: args.namespace,
                serviceAccount: LOGICAL_BACKUP,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "PutDumps",
                            Effect: "Allow",
                            Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
                            Resource: pulumi.interpolate`${args.bucketArn}/${DUMP_PREFIX}*`,
                        },
                        {
                            // SSE-KMS uploads: a data key per object, and Decrypt for multipart parts.
                            Sid: "EncryptDumps",
                            Effect: "Allow",
                            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                            Resource: args.kmsKeyArn,
                            Condition: { StringEquals: { "kms:ViaService": `s3.${args.region}.amazonaws.com` } },
                        },
                    ],
                }),
                tags: args.tags,
            },
            this,
        );
        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: LOGICAL_BACKUP, namespace: args.namespace, labels, annotations: { "eks.amazonaws.com/role-arn": this.role.arn } },
                automountServiceAccountToken: false,
            },
            { parent: this },
        );

        const resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
        const mount = [{ name: "backup", mountPath: "/backup" }];
        this.cronJob = new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            {
                metadata: { name: LOGICAL_BACKUP, namespace: args.namespace, labels },
                spec: {
                    schedule: cfg.schedule,
                    timeZone: "Etc/UTC",
                    // Never two dumps at once; a run missed by more than an hour waits for the next day.
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 3600,
                    successfulJobsHistoryLimit: 3,
                    failedJobsHistoryLimit: 3,
                    jobTemplate: {
                        metadata: { labels },
                        spec: {
                            backoffLimit: 2,
                            activeDeadlineSeconds: 6 * 3600,
                            template: {
                                metadata: { labels },
                                spec: {
                                    serviceAccountName: LOGICAL_BACKUP,
                                    // IRSA's token is projected by the EKS pod identity webhook; no API token.
                                    automountServiceAccountToken: false,
                                    restartPolicy: "Never",
                                    securityContext: restrictedPodSecurity(UID),
                                    initContainers: [
                                        {
                                            name: "dump",
                                            image: cfg.image,
                                            command: ["sh", "-c", DUMP_SCRIPT],
                                            env: [
                                                { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: args.databaseUrl.secretName, key: args.databaseUrl.key } } },
                                                { name: "PGCONNECT_TIMEOUT", value: "30" },
                                            ],
                                            volumeMounts: [...mount, ...args.databaseUrl.files.mounts],
                                            resources,
                                            securityContext: restrictedContainerSecurity(),
                                        },
                                    ],
                                    containers: [
                                        {
                                            name: "upload",
                                            image: AWS_CLI_IMAGE,
                                            command: ["sh", "-c", UPLOAD_SCRIPT],
                                            env: [
                                                { name: "BUCKET", value: args.bucketName },
                                                { name: "KMS_KEY_ARN", value: args.kmsKeyArn },
                                                { name: "DB_NAME", value: args.dbName },
                                                { name: "AWS_REGION", value: args.region },
                                                // The CLI writes its cache under HOME; the root filesystem is read-only.
                                                { name: "HOME", value: "/tmp" },
                                            ],
                                            volumeMounts: [...mount, { name: "tmp", mountPath: "/tmp" }],
                                            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                                            securityContext: restrictedContainerSecurity(),
                                        },
                                    ],
                                    volumes: [
                                        // A gp3 volume per run, deleted with the pod: a large dump never fills the node's disk.
                                        {
                                            name: "backup",
                                            ephemeral: {
                                                volumeClaimTemplate: {
                                                    metadata: { labels },
                                                    spec: { accessModes: ["ReadWriteOnce"], storageClassName: args.storageClass, resources: { requests: { storage: cfg.volumeSize } } },
                                                },
                                            },
                                        },
                                        { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                                        ...args.databaseUrl.files.volumes,
                                    ],
                                },
                            },
                        },
                    },
                },
            },
            { parent: this, dependsOn: [sa, ...(args.after ?? [])], deleteBeforeReplace: true },
        );

        this.registerOutputs({ cronJob: LOGICAL_BACKUP, roleArn: this.role.arn });
    }
}
