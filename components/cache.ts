// The Redis cache (runbook "Redis connectivity", /api/health/cache): an
// ElastiCache replication group in the private subnets, reachable only from
// the EKS nodes, encrypted at rest and in transit, with an AUTH token that is
// generated here and kept in Secrets Manager, never in config.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import type { CacheConfig } from "../config/data";

export interface CacheArgs {
    /** Node type, replicas, failover, snapshots: `cache.*` from the stack config. */
    readonly settings: CacheConfig;
    /** Replication group id and subnet group name (at most 40 characters), e.g. candlefish-production-redis. */
    readonly identifier: string;
    /** The VPC the cache's security group belongs to. */
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets for the cache's own subnet group (FSBP ElastiCache.7). */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The EKS node security group: the only source allowed to reach port 6379. */
    readonly nodeSecurityGroupId: pulumi.Input<string>;
    /** Secrets Manager name for the AUTH token, e.g. candlefish/production/redis-auth. */
    readonly authSecretName: string;
    /** KMS key for that secret (the secrets key, which the delivery role may use). */
    readonly secretsKmsKeyArn: pulumi.Input<string>;
    /** Days a deleted secret stays recoverable. */
    readonly recoveryWindowDays: number;
    /** Tags for every AWS resource. */
    readonly tags?: Record<string, string>;
}

export const REDIS_PORT = 6379;

export class Cache extends pulumi.ComponentResource {
    public readonly replicationGroup: aws.elasticache.ReplicationGroup;
    /** Encrypts the data at rest (FSBP ElastiCache.4). */
    public readonly kmsKey: aws.kms.Key;
    public readonly securityGroup: aws.ec2.SecurityGroup;
    /** The Secrets Manager secret holding `{"auth-token": ...}`. */
    public readonly authSecret: aws.secretsmanager.Secret;
    public readonly authSecretVersion: aws.secretsmanager.SecretVersion;
    public readonly primaryEndpoint: pulumi.Output<string>;
    public readonly port: number;

    constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:Cache", name, {}, opts);
        if (args.identifier.length > 40 || !/^[a-z][a-z0-9-]*$/.test(args.identifier))
            throw new Error(`Cache: identifier "${args.identifier}" must be lower-case, start with a letter and be at most 40 characters`);
        const cfg = args.settings;
        const tags = { ...args.tags, component: "cache" };
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: true };

        // FSBP ElastiCache.4 with a customer-managed key; KMS.4 rotation.
        this.kmsKey = new aws.kms.Key(
            `${name}-kms`,
            { description: `ElastiCache at-rest encryption for ${args.identifier}`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
            keep,
        );

        // FSBP ElastiCache.7: its own subnet group, not the default one.
        const subnets = new aws.elasticache.SubnetGroup(
            `${name}-subnets`,
            { name: args.identifier, description: "Private subnets for the candlefish cache", subnetIds: args.subnetIds, tags },
            { parent: this },
        );

        this.securityGroup = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                name: `${args.identifier}-sg`,
                description: "Redis from the EKS nodes only",
                vpcId: args.vpcId,
                ingress: [
                    {
                        description: "Redis from EKS nodes",
                        protocol: "tcp",
                        fromPort: REDIS_PORT,
                        toPort: REDIS_PORT,
                        securityGroups: [args.nodeSecurityGroupId],
                    },
                ],
                egress: [],
                tags,
            },
            { parent: this },
        );

        // AUTH token: 64 alphanumerics (ElastiCache refuses some punctuation).
        // Generated once; its value reaches AWS and pods only as a secret.
        // Rotation: cache.authTokenVersion is the keeper from 2 on (version 1 has
        // none, so the token generated before rotation existed is kept).
        const token = new random.RandomPassword(
            `${name}-auth-token`,
            { length: 64, special: false, ...(cfg.authTokenVersion > 1 ? { keepers: { version: String(cfg.authTokenVersion) } } : {}) },
            { parent: this },
        );

        this.authSecret = new aws.secretsmanager.Secret(
            `${name}-auth`,
            {
                name: args.authSecretName,
                description: "AUTH token of the candlefish Redis replication group",
                kmsKeyId: args.secretsKmsKeyArn,
                recoveryWindowInDays: args.recoveryWindowDays,
                tags,
            },
            keep,
        );
        this.replicationGroup = new aws.elasticache.ReplicationGroup(
            `${name}-redis`,
            {
                replicationGroupId: args.identifier,
                description: "candlefish Redis (sessions, cache)",
                engine: "redis",
                engineVersion: cfg.engineVersion,
                // ElastiCache's default groups: default.redis6.x for 6.x, default.redis7 for 7.x.
                parameterGroupName: redisParameterGroup(cfg.engineVersion),
                nodeType: cfg.nodeType,
                port: REDIS_PORT,
                numCacheClusters: cfg.numCacheClusters,
                automaticFailoverEnabled: cfg.multiAz, // FSBP ElastiCache.3
                multiAzEnabled: cfg.multiAz,
                subnetGroupName: subnets.name, // FSBP ElastiCache.7
                securityGroupIds: [this.securityGroup.id],
                atRestEncryptionEnabled: true, // FSBP ElastiCache.4
                kmsKeyId: this.kmsKey.arn,
                transitEncryptionEnabled: true, // FSBP ElastiCache.5
                // Redis 7 can refuse plaintext outright; 6.2 has no such mode (TLS is still on).
                ...(Number(cfg.engineVersion.split(".")[0]) >= 7 ? { transitEncryptionMode: "required" } : {}),
                authToken: token.result, // FSBP ElastiCache.6
                // A changed token is sent in its own ModifyReplicationGroup call with
                // ApplyImmediately true whatever applyImmediately says, and waited for
                // (terraform-provider-aws, which @pulumi/aws bridges:
                // internal/service/elasticache/replication_group.go, resourceReplicationGroupUpdate).
                // ROTATE: the previous token keeps working while the pods roll to the new one.
                authTokenUpdateStrategy: cfg.authTokenStrategy,
                snapshotRetentionLimit: cfg.snapshotRetentionDays, // FSBP ElastiCache.1
                snapshotWindow: "02:00-03:00",
                maintenanceWindow: "sun:05:30-sun:06:30",
                autoMinorVersionUpgrade: true, // FSBP ElastiCache.2
                finalSnapshotIdentifier: `${args.identifier}-final`,
                applyImmediately: false,
                tags,
            },
            keep,
        );

        // The pods get a new token only after ElastiCache accepts it: the secret's new
        // version (and so REDIS_URL and the pods' roll) waits for the replication group.
        this.authSecretVersion = new aws.secretsmanager.SecretVersion(
            `${name}-auth`,
            { secretId: this.authSecret.id, secretString: pulumi.jsonStringify({ "auth-token": token.result }) },
            { parent: this, dependsOn: [this.replicationGroup] },
        );

        this.primaryEndpoint = this.replicationGroup.primaryEndpointAddress;
        this.port = REDIS_PORT;
        this.registerOutputs({ primaryEndpoint: this.primaryEndpoint, authSecretArn: this.authSecret.arn });
    }
}

/** The default parameter group of a Redis engine version: `default.redis6.x` for 6.x, `default.redis<major>` from 7 on. */
export function redisParameterGroup(engineVersion: string): string {
    const major = Number(engineVersion.split(".")[0]);
    return major === 6 ? "default.redis6.x" : `default.redis${major}`;
}
