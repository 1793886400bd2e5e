// The PostgreSQL database behind rtpm-api: one RDS instance in the private
// subnets, reachable only from the EKS nodes, encrypted, backed up, and with
// its master password owned by RDS in Secrets Manager (never in config or
// Pulumi state). Runbook: "Database Migrations", "Database Rollback",
// "Backup Procedures" / "Database Recovery" (now snapshots and AWS Backup).
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { DatabaseConfig } from "../config/data";

export interface DatabaseArgs {
    /** Sizes, retention, restore source: `database.*` from the stack config. */
    readonly settings: DatabaseConfig;
    /** The physical instance identifier, e.g. candlefish-maturity-map-production-db. */
    readonly identifier: string;
    /** The VPC the database's security group belongs to. */
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets (one per AZ) for the DB subnet group. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The EKS node security group: the only source allowed to reach port 5432. */
    readonly nodeSecurityGroupId: pulumi.Input<string>;
    /**
     * KMS key for the RDS-managed master user secret. The secrets key, so the
     * one IRSA role that delivers secrets to pods can decrypt it.
     */
    readonly masterUserSecretKmsKeyArn: pulumi.Input<string>;
    /** Tags for every AWS resource. */
    readonly tags?: Record<string, string>;
}

export const POSTGRES_PORT = 5432;

/**
 * The identifier actually used: a restore creates a *new* instance next to
 * the old one (which is retained, see `retainOnDelete`), so it gets its own
 * name derived from the snapshot.
 */
export function instanceIdentifier(base: string, restoreFromSnapshot: string | undefined): string {
    if (!restoreFromSnapshot) return base;
    const h = crypto.createHash("sha256").update(restoreFromSnapshot).digest("hex").slice(0, 6);
    return `${base}-r${h}`;
}

export class Database extends pulumi.ComponentResource {
    public readonly instance: aws.rds.Instance;
    /** Encrypts storage and Performance Insights (FSBP RDS.3). */
    public readonly kmsKey: aws.kms.Key;
    public readonly securityGroup: aws.ec2.SecurityGroup;
    public readonly address: pulumi.Output<string>;
    public readonly port: number;
    public readonly dbName: string;
    public readonly arn: pulumi.Output<string>;
    /** The RDS-managed secret holding `username` and `password`. */
    public readonly masterUserSecretArn: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:Database", name, {}, opts);
        const cfg = args.settings;
        const tags = { ...args.tags, component: "database" };
        // Stateful: a mistaken destroy or rename must not delete data.
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: true };

        // FSBP RDS.3 (storage), RDS.4 (snapshots inherit it), KMS.4 (rotation).
        this.kmsKey = new aws.kms.Key(
            `${name}-kms`,
            {
                description: `RDS storage and Performance Insights for ${args.identifier}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags,
            },
            keep,
        );
        new aws.kms.Alias(`${name}-kms-alias`, { name: `alias/${args.identifier}`, targetKeyId: this.kmsKey.keyId }, { parent: this });

        // Private subnets only (FSBP RDS.2 / RDS.18: in a VPC, no public path).
        const subnets = new aws.rds.SubnetGroup(
            `${name}-subnets`,
            { name: args.identifier, description: "Private subnets for the candlefish database", subnetIds: args.subnetIds, tags },
            { parent: this },
        );

        // Port 5432 from the EKS nodes and nothing else; no egress needed.
        this.securityGroup = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                name: `${args.identifier}-sg`,
                description: "PostgreSQL from the EKS nodes only",
                vpcId: args.vpcId,
                ingress: [
                    {
                        description: "PostgreSQL from EKS nodes",
                        protocol: "tcp",
                        fromPort: POSTGRES_PORT,
                        toPort: POSTGRES_PORT,
                        securityGroups: [args.nodeSecurityGroupId],
                    },
                ],
                egress: [],
                tags,
            },
            { parent: this },
        );

        const params = new aws.rds.ParameterGroup(
            `${name}-params`,
            {
                name: `${args.identifier}-pg${cfg.engineMajor}`,
                family: `postgres${cfg.engineMajor}`,
                description: "candlefish: TLS only, slow and DDL statements logged",
                parameters: [
                    // Clients must use TLS; plaintext connections are refused.
                    { name: "rds.force_ssl", value: "1" },
                    // Migrations and slow queries show up in the exported logs (FSBP RDS.9).
                    { name: "log_statement", value: "ddl" },
                    { name: "log_min_duration_statement", value: "1000" },
                ],
                tags,
            },
            { parent: this },
        );

        // Enhanced monitoring (FSBP RDS.6) publishes OS metrics through this role.
        let monitoringRoleArn: pulumi.Output<string> | undefined;
        if (cfg.monitoringIntervalSeconds > 0) {
            const role = new aws.iam.Role(
                `${name}-monitoring`,
                {
                    name: `${args.identifier}-monitoring`,
                    assumeRolePolicy: pulumi.jsonStringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Principal: { Service: "monitoring.rds.amazonaws.com" },
                                Action: "sts:AssumeRole",
                                // Confused-deputy guard: only RDS acting for this account may assume it.
                                Condition: { StringEquals: { "aws:SourceAccount": aws.getCallerIdentityOutput({}, { parent: this }).accountId } },
                            },
                        ],
                    }),
                    tags,
                },
                { parent: this },
            );
            new aws.iam.RolePolicyAttachment(
                `${name}-monitoring`,
                { role: role.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole" },
                { parent: this },
            );
            monitoringRoleArn = role.arn;
        }

        const identifier = instanceIdentifier(args.identifier, cfg.restoreFromSnapshot);
        const restoring = cfg.restoreFromSnapshot !== undefined;
        this.instance = new aws.rds.Instance(
            `${name}-instance`,
            {
                identifier,
                engine: "postgres",
                engineVersion: cfg.engineVersion,
                instanceClass: cfg.instanceClass,
                port: POSTGRES_PORT,
                // A restored instance takes its database and master user from the snapshot.
                ...(restoring ? { snapshotIdentifier: cfg.restoreFromSnapshot } : { dbName: cfg.dbName, username: cfg.username }),
                // The password lives only in an RDS-managed secret, rotated by RDS:
                // nothing secret in config, code or Pulumi state.
                manageMasterUserPassword: true,
                masterUserSecretKmsKeyId: args.masterUserSecretKmsKeyArn,
                allocatedStorage: cfg.allocatedStorage,
                maxAllocatedStorage: cfg.maxAllocatedStorage,
                storageType: "gp3",
                storageEncrypted: true, // FSBP RDS.3
                kmsKeyId: this.kmsKey.arn, // FSBP RDS.3
                multiAz: cfg.multiAz, // FSBP RDS.5
                publiclyAccessible: false, // FSBP RDS.2
                dbSubnetGroupName: subnets.name,
                vpcSecurityGroupIds: [this.securityGroup.id],
                parameterGroupName: params.name,
                backupRetentionPeriod: cfg.backupRetentionDays, // FSBP RDS.11
                backupWindow: "03:00-04:00",
                maintenanceWindow: "sun:04:30-sun:05:30",
                deletionProtection: true, // FSBP RDS.8
                skipFinalSnapshot: false,
                finalSnapshotIdentifier: `${identifier}-final`,
                deleteAutomatedBackups: false,
                copyTagsToSnapshot: true, // FSBP RDS.17
                performanceInsightsEnabled: true,
                performanceInsightsKmsKeyId: this.kmsKey.arn,
                performanceInsightsRetentionPeriod: 7,
                monitoringInterval: cfg.monitoringIntervalSeconds, // FSBP RDS.6
                monitoringRoleArn,
                enabledCloudwatchLogsExports: ["postgresql", "upgrade"], // FSBP RDS.9
                iamDatabaseAuthenticationEnabled: true, // FSBP RDS.10
                // Named, not left to RDS's default: the pods verify the server against this CA's root (components/rds-ca.ts).
                caCertIdentifier: cfg.caCertIdentifier,
                autoMinorVersionUpgrade: true, // FSBP RDS.13
                allowMajorVersionUpgrade: false,
                applyImmediately: false,
                tags: { ...tags, ...(restoring ? { "restored-from": cfg.restoreFromSnapshot!.slice(-250) } : {}) },
            },
            // protect: no destroy or replace without an explicit `pulumi state unprotect`.
            // retainOnDelete: when a restore replaces the instance, the old one is left
            // running outside the stack for inspection instead of being deleted.
            { ...keep, retainOnDelete: true },
        );

        this.address = this.instance.address;
        this.port = POSTGRES_PORT;
        this.dbName = cfg.dbName;
        this.arn = this.instance.arn;
        this.masterUserSecretArn = this.instance.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? "");
        this.registerOutputs({ address: this.address, arn: this.arn, masterUserSecretArn: this.masterUserSecretArn });
    }
}
