// AWS policies, one per AWS Foundational Security Best Practices control the
// platform declares resources for (FSBP IDs in each policy's `control`), plus
// the two the standard lacks: EKS secrets envelope encryption and RDS forced SSL.
//
// EKS is the remote component `eks:index:Cluster` in this program (its inputs
// are what the policy sees); a real preview also shows the component's children
// (`aws:eks/cluster:Cluster`, launch templates), so each EKS rule checks both.
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import { PolicyResource, ReportViolation, StackValidationArgs, validateResourceOfType } from "@pulumi/policy";
import {
    PRODUCTION_STACKS_SCHEMA,
    UNKNOWN,
    configOf,
    isSet,
    list,
    ofTypes,
    read,
    resourcePolicy,
    stackOf,
    stackPolicy,
    str,
    withFix,
} from "./lib";

const OPEN_CIDRS = ["0.0.0.0/0", "::/0"];

// ------------------------------------------------------------------------ EKS

export const eksEndpointNotPublic = resourcePolicy(
    {
        name: "eks-endpoint-not-public",
        description: "The EKS API endpoint is private, or public only to an explicit CIDR allowlist (never 0.0.0.0/0).",
        enforcementLevel: "mandatory",
        control: "FSBP EKS.1",
        remediation:
            "set endpointPublicAccess: false (config cluster.publicAccessCidrs unset), or list the allowed office/VPN CIDRs in publicAccessCidrs (vpcConfig.publicAccessCidrs on aws.eks.Cluster).",
    },
    validateResourceOfType(eks.Cluster, (c, _args, report) => checkEndpoint(c, "", report)),
    validateResourceOfType(aws.eks.Cluster, (c, _args, report) => checkEndpoint(c, "vpcConfig.", report)),
);

function checkEndpoint(props: unknown, prefix: string, report: ReportViolation): void {
    const pub = read(props, `${prefix}endpointPublicAccess`);
    if (pub === false || pub === UNKNOWN) return;
    const cidrs = list(props, `${prefix}publicAccessCidrs`);
    if (cidrs === UNKNOWN) return;
    // EKS defaults both "public on" and the allowlist to the whole internet.
    if (cidrs.length === 0) {
        report(`The API endpoint is public to 0.0.0.0/0 (${prefix}endpointPublicAccess is ${pub === undefined ? "unset, which defaults to true" : "true"} with no publicAccessCidrs).`);
        return;
    }
    const open = cidrs.filter((c) => typeof c === "string" && OPEN_CIDRS.includes(c));
    if (open.length) report(`The API endpoint is public to ${open.join(", ")}.`);
}

const EKS_VERSION_SCHEMA = {
    properties: {
        allowedVersions: {
            type: "array" as const,
            items: { type: "string" as const, pattern: "^1\\.\\d+$" },
            default: ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"],
            description: "Kubernetes minor versions EKS supports (standard support) that this platform accepts.",
        },
    },
};

export const eksSupportedVersion = resourcePolicy(
    {
        name: "eks-supported-version",
        description: "The EKS cluster pins a Kubernetes version that EKS supports and the platform has approved.",
        enforcementLevel: "advisory",
        control: "FSBP EKS.2",
        remediation: "set config cluster.version (the cluster's version) to one of the pack's allowedVersions, upgrading one minor version at a time.",
        configSchema: EKS_VERSION_SCHEMA,
    },
    validateResourceOfType(eks.Cluster, (c, args, report) => checkVersion(c, configOf(args, EKS_VERSION_SCHEMA), report)),
    validateResourceOfType(aws.eks.Cluster, (c, args, report) => checkVersion(c, configOf(args, EKS_VERSION_SCHEMA), report)),
);

function checkVersion(props: unknown, cfg: { allowedVersions: string[] }, report: ReportViolation): void {
    const v = read(props, "version");
    if (v === UNKNOWN) return;
    if (v === undefined) report(`No version is pinned, so EKS picks its default and upgrades are unplanned (allowed: ${cfg.allowedVersions.join(", ")}).`);
    else if (!cfg.allowedVersions.includes(String(v))) report(`Kubernetes ${String(v)} is not an allowed version (allowed: ${cfg.allowedVersions.join(", ")}).`);
}

const EKS_LOGS_SCHEMA = {
    properties: {
        requiredLogTypes: {
            type: "array" as const,
            items: { type: "string" as const, enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] },
            default: ["api", "audit", "authenticator"],
            description: "Control-plane log types that must be sent to CloudWatch.",
        },
    },
};

export const eksAuditLogging = resourcePolicy(
    {
        name: "eks-audit-logging",
        description: "EKS control-plane logging is on for the api, audit and authenticator log types.",
        enforcementLevel: "advisory",
        control: "FSBP EKS.8",
        remediation: 'set enabledClusterLogTypes: ["api", "audit", "authenticator"] on the cluster.',
        configSchema: EKS_LOGS_SCHEMA,
    },
    validateResourceOfType(eks.Cluster, (c, args, report) => checkLogs(c, configOf(args, EKS_LOGS_SCHEMA), report)),
    validateResourceOfType(aws.eks.Cluster, (c, args, report) => checkLogs(c, configOf(args, EKS_LOGS_SCHEMA), report)),
);

function checkLogs(props: unknown, cfg: { requiredLogTypes: string[] }, report: ReportViolation): void {
    const types = list(props, "enabledClusterLogTypes");
    if (types === UNKNOWN) return;
    const missing = cfg.requiredLogTypes.filter((t) => !types.includes(t));
    if (missing.length) report(`Control-plane log types not enabled: ${missing.join(", ")}.`);
}

export const eksSecretsEncryption = resourcePolicy(
    {
        name: "eks-secrets-kms-encryption",
        description: "Kubernetes Secrets in the EKS cluster are envelope-encrypted with a customer-managed KMS key.",
        enforcementLevel: "mandatory",
        control: "FSBP EKS.3",
        remediation:
            'set encryptionConfigKeyArn to a KMS key ARN with rotation on (on aws.eks.Cluster: encryptionConfig { resources: ["secrets"], provider.keyArn }).',
    },
    validateResourceOfType(eks.Cluster, (c, _args, report) => {
        if (!isSet(c, "encryptionConfigKeyArn")) report("encryptionConfigKeyArn is not set, so Secrets are stored in etcd without a customer-managed key.");
    }),
    validateResourceOfType(aws.eks.Cluster, (c, _args, report) => {
        const resources = list(c, "encryptionConfig.resources");
        if (resources === UNKNOWN) return;
        if (!resources.includes("secrets") || !isSet(c, "encryptionConfig.provider.keyArn"))
            report('encryptionConfig does not cover "secrets" with a KMS key ARN.');
    }),
);

// ------------------------------------------------------------------------ EC2

export const ec2Imdsv2 = resourcePolicy(
    {
        name: "ec2-imdsv2-required",
        description: "Instances and node groups require IMDSv2 session tokens, so an SSRF in a pod cannot read node credentials.",
        enforcementLevel: "mandatory",
        control: "FSBP EC2.8",
        remediation:
            'set metadataOptions.httpTokens: "required" (launch templates, instances; give aws.eks.NodeGroup such a launchTemplate), enableIMDSv2: true (eks.ManagedNodeGroup), and skipDefaultNodeGroup: true on eks.Cluster.',
    },
    validateResourceOfType(aws.ec2.LaunchTemplate, (lt, _args, report) => checkTokens(lt, report)),
    validateResourceOfType(aws.ec2.Instance, (i, _args, report) => checkTokens(i, report)),
    validateResourceOfType(aws.eks.NodeGroup, (ng, _args, report) => {
        // Without a launch template EKS uses its own, which leaves IMDSv1 on; the template itself is checked above.
        if (!isSet(ng, "launchTemplate")) report("The node group has no launchTemplate, so EKS's default template (IMDSv1 allowed) is used.");
    }),
    validateResourceOfType(eks.ManagedNodeGroup, (ng, _args, report) => {
        // A custom launch template carries its own metadataOptions (checked on the template itself).
        if (read(ng, "enableIMDSv2") === true || read(ng, "enableIMDSv2") === UNKNOWN || isSet(ng, "launchTemplate")) return;
        report("enableIMDSv2 is not true and no launch template is given, so nodes accept IMDSv1.");
    }),
    validateResourceOfType(eks.NodeGroupV2, (_ng, _args, report) => {
        // @pulumi/eks 4.x has no IMDSv2 switch for self-managed node groups.
        report("Self-managed eks.NodeGroupV2 launch templates allow IMDSv1; use eks.ManagedNodeGroup with enableIMDSv2: true.");
    }),
    validateResourceOfType(eks.Cluster, (c, _args, report) => {
        // The component's default (self-managed) node group has no IMDSv2 switch in @pulumi/eks 4.x.
        if (read(c, "skipDefaultNodeGroup") === true || isSet(c, "fargate") || read(c, "autoMode.enabled") === true) return;
        report("The default node group is created (skipDefaultNodeGroup is not true) and its launch template allows IMDSv1.");
    }),
);

function checkTokens(props: unknown, report: ReportViolation): void {
    const t = read(props, "metadataOptions.httpTokens");
    if (t === UNKNOWN || t === "required") return;
    report(`metadataOptions.httpTokens is ${t === undefined ? "unset (IMDSv1 allowed)" : JSON.stringify(t)}.`);
}

/**
 * Does `sub` (e.g. a FlowLog) point at `target` (a VPC) through its `key` input?
 * At runtime the property dependencies say so exactly; otherwise the value is
 * compared with the target's name, and a value not known yet matches a target
 * under the same parent component.
 */
export function refersTo(sub: PolicyResource, key: string, target: PolicyResource, targetIds: readonly unknown[]): boolean {
    const deps = sub.propertyDependencies?.[key];
    if (deps && deps.length) return deps.some((d) => d.urn === target.urn);
    const v = read(sub.props, key);
    if (v === UNKNOWN) return sub.parent !== undefined && sub.parent?.urn === target.parent?.urn;
    return v !== undefined && targetIds.some((id) => id !== undefined && id !== UNKNOWN && id === v);
}

export const ec2DefaultSecurityGroup = stackPolicy(
    {
        name: "ec2-default-security-group-closed",
        description: "Every VPC's default security group is managed and allows no inbound or outbound traffic.",
        enforcementLevel: "mandatory",
        control: "FSBP EC2.2",
        remediation: "declare aws.ec2.DefaultSecurityGroup for the VPC (vpcId: vpc.id) with no ingress and no egress rules.",
    },
    (args, report) => {
        const vpcs = ofTypes(args.resources, "aws:ec2/vpc:Vpc");
        const dsgs = ofTypes(args.resources, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
        for (const dsg of dsgs) {
            for (const dir of ["ingress", "egress"]) {
                const rules = list(dsg.props, dir);
                if (rules !== UNKNOWN && rules.length) report(`The default security group ${dsg.name} has ${rules.length} ${dir} rule(s).`, dsg.urn);
            }
        }
        for (const vpc of vpcs) {
            if (!dsgs.some((d) => refersTo(d, "vpcId", vpc, [])))
                report(`VPC ${vpc.name} has no aws.ec2.DefaultSecurityGroup, so its default group keeps AWS's allow-all-within-group rules.`, vpc.urn);
        }
    },
);

export const vpcFlowLogs = stackPolicy(
    {
        name: "vpc-flow-logs",
        description: "Every VPC has flow logs enabled.",
        enforcementLevel: "advisory",
        control: "FSBP EC2.6",
        remediation: 'declare aws.ec2.FlowLog { vpcId: vpc.id, trafficType: "ALL" } to CloudWatch Logs or S3.',
    },
    (args, report) => {
        const logs = ofTypes(args.resources, "aws:ec2/flowLog:FlowLog");
        for (const vpc of ofTypes(args.resources, "aws:ec2/vpc:Vpc")) {
            if (!logs.some((l) => refersTo(l, "vpcId", vpc, []))) report(`VPC ${vpc.name} has no flow log.`, vpc.urn);
        }
    },
);

export const ec2SubnetNoPublicIp = resourcePolicy(
    {
        name: "ec2-subnet-no-auto-public-ip",
        description: "Subnets do not give launched instances public IPv4 addresses; nodes stay private and the load balancer is the only way in.",
        enforcementLevel: "mandatory",
        control: "FSBP EC2.15",
        remediation: "set mapPublicIpOnLaunch: false (public subnets carry only load balancers and NAT gateways, which get their own addresses).",
    },
    validateResourceOfType(aws.ec2.Subnet, (subnet, _args, report) => {
        if (read(subnet, "mapPublicIpOnLaunch") === true) report("mapPublicIpOnLaunch is true: every instance launched here gets a public IP.");
    }),
);

const INGRESS_SCHEMA = {
    properties: {
        allowedPublicPorts: {
            type: "array" as const,
            items: { type: "integer" as const, minimum: 0, maximum: 65535 },
            default: [80, 443],
            description: "TCP ports that may be open to 0.0.0.0/0 or ::/0 (a public load balancer's HTTP and HTTPS).",
        },
    },
};

/** An ingress rule open to the internet on ports other than the allowed ones. */
function openIngress(rule: unknown, keys: { v4: string; v6: string; protocol: string }, allowed: number[]): string | undefined {
    const v4 = read(rule, keys.v4);
    const v6 = read(rule, keys.v6);
    const sources = [...(Array.isArray(v4) ? v4 : [v4]), ...(Array.isArray(v6) ? v6 : [v6])];
    const open = sources.filter((c) => typeof c === "string" && OPEN_CIDRS.includes(c));
    if (!open.length) return undefined;
    const protocol = read(rule, keys.protocol);
    const from = read(rule, "fromPort");
    const to = read(rule, "toPort");
    if (protocol === UNKNOWN || from === UNKNOWN || to === UNKNOWN) return undefined;
    if (protocol === "-1" || protocol === "all") return `all traffic from ${open.join(", ")}`;
    if (typeof from === "number" && from === to && allowed.includes(from)) return undefined;
    return `ports ${String(from)}-${String(to)}/${String(protocol)} from ${open.join(", ")}`;
}

export const ec2NoUnrestrictedIngress = resourcePolicy(
    {
        name: "ec2-no-unrestricted-ingress",
        description: "No security group admits the internet (0.0.0.0/0, ::/0) except on the allowed public ports (80, 443).",
        enforcementLevel: "mandatory",
        control: "FSBP EC2.18",
        remediation: "restrict the rule's source to a security group (e.g. the EKS node group) or a private CIDR; only allowedPublicPorts may be open to the internet.",
        configSchema: INGRESS_SCHEMA,
    },
    validateResourceOfType(aws.ec2.SecurityGroup, (sg, args, report) => {
        const { allowedPublicPorts } = configOf<{ allowedPublicPorts: number[] }>(args, INGRESS_SCHEMA);
        const rules = list(sg, "ingress");
        if (rules === UNKNOWN) return;
        rules.forEach((r, i) => {
            const open = openIngress(r, { v4: "cidrBlocks", v6: "ipv6CidrBlocks", protocol: "protocol" }, allowedPublicPorts);
            if (open) report(`ingress[${i}] admits ${open}.`);
        });
    }),
    validateResourceOfType(aws.ec2.SecurityGroupRule, (rule, args, report) => {
        if (read(rule, "type") !== "ingress") return;
        const { allowedPublicPorts } = configOf<{ allowedPublicPorts: number[] }>(args, INGRESS_SCHEMA);
        const open = openIngress(rule, { v4: "cidrBlocks", v6: "ipv6CidrBlocks", protocol: "protocol" }, allowedPublicPorts);
        if (open) report(`The rule admits ${open}.`);
    }),
    validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (rule, args, report) => {
        const { allowedPublicPorts } = configOf<{ allowedPublicPorts: number[] }>(args, INGRESS_SCHEMA);
        const open = openIngress(rule, { v4: "cidrIpv4", v6: "cidrIpv6", protocol: "ipProtocol" }, allowedPublicPorts);
        if (open) report(`The rule admits ${open}.`);
    }),
);

// ------------------------------------------------------------------------ RDS

const PROD_SCHEMA = { properties: { productionStacks: PRODUCTION_STACKS_SCHEMA } };
const isProdStack = (urn: string, cfg: { productionStacks: string[] }) => cfg.productionStacks.includes(stackOf(urn));

export const rdsNotPublic = resourcePolicy(
    {
        name: "rds-not-publicly-accessible",
        description: "RDS instances are not reachable from the internet.",
        enforcementLevel: "mandatory",
        control: "FSBP RDS.2",
        remediation: "set publiclyAccessible: false and place the instance in a DB subnet group of private subnets.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        if (read(db, "publiclyAccessible") === true) report("publiclyAccessible is true.");
    }),
);

export const rdsEncrypted = resourcePolicy(
    {
        name: "rds-storage-encrypted",
        description: "RDS storage (and its snapshots) is encrypted at rest with a KMS key.",
        enforcementLevel: "mandatory",
        control: "FSBP RDS.3",
        remediation: "set storageEncrypted: true and kmsKeyId to the platform's KMS key ARN.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const enc = read(db, "storageEncrypted");
        if (enc !== true && enc !== UNKNOWN) report("storageEncrypted is not true.");
        else if (!isSet(db, "kmsKeyId")) report("kmsKeyId is not set, so the AWS-managed key is used and the key policy cannot be scoped.");
    }),
);

export const rdsMultiAz = resourcePolicy(
    {
        name: "rds-multi-az-production",
        description: "Production RDS instances keep a synchronous standby in a second AZ, so an AZ failure loses no committed writes.",
        enforcementLevel: "mandatory",
        control: "FSBP RDS.5",
        remediation: "set multiAz: true (config database.multiAz in the production stack).",
        configSchema: PROD_SCHEMA,
    },
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
        if (!isProdStack(args.urn, configOf(args, PROD_SCHEMA))) return;
        const m = read(db, "multiAz");
        if (m !== true && m !== UNKNOWN) report(`multiAz is ${m === undefined ? "unset" : String(m)} in production stack ${stackOf(args.urn)}.`);
    }),
);

export const rdsDeletionProtection = resourcePolicy(
    {
        name: "rds-deletion-protection",
        description: "RDS instances have deletion protection on.",
        enforcementLevel: "mandatory",
        control: "FSBP RDS.8",
        remediation: "set deletionProtection: true.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const d = read(db, "deletionProtection");
        if (d !== true && d !== UNKNOWN) report("deletionProtection is not true.");
    }),
);

export const rdsLogExports = resourcePolicy(
    {
        name: "rds-log-exports",
        description: "RDS PostgreSQL exports its logs to CloudWatch Logs.",
        enforcementLevel: "advisory",
        control: "FSBP RDS.9",
        remediation: 'set enabledCloudwatchLogsExports: ["postgresql", "upgrade"] (at least "postgresql").',
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const engine = str(db, "engine");
        if (typeof engine === "string" && !engine.includes("postgres")) return;
        const logs = list(db, "enabledCloudwatchLogsExports");
        if (logs !== UNKNOWN && !logs.includes("postgresql")) report('enabledCloudwatchLogsExports does not include "postgresql".');
    }),
);

const RETENTION_SCHEMA = {
    properties: {
        minimumRetentionDays: {
            type: "integer" as const,
            minimum: 1,
            maximum: 35,
            default: 7,
            description: "Minimum automated-backup retention, in days (FSBP RDS.11 asks for 7).",
        },
    },
};

export const rdsIamAuthentication = resourcePolicy(
    {
        name: "rds-iam-authentication",
        description: "RDS accepts IAM database authentication, so services can connect with short-lived tokens instead of a shared password.",
        enforcementLevel: "advisory",
        control: "FSBP RDS.10",
        remediation: "set iamDatabaseAuthenticationEnabled: true.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const v = read(db, "iamDatabaseAuthenticationEnabled");
        if (v !== true && v !== UNKNOWN) report("iamDatabaseAuthenticationEnabled is not true.");
    }),
);

export const rdsBackupRetention = resourcePolicy(
    {
        name: "rds-backup-retention",
        description: "RDS automated backups are kept at least the minimum retention (7 days by default), so point-in-time restore reaches back far enough.",
        enforcementLevel: "mandatory",
        control: "FSBP RDS.11",
        remediation: "set backupRetentionPeriod (config database.backupRetentionDays) to at least the pack's minimumRetentionDays.",
        configSchema: RETENTION_SCHEMA,
    },
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
        const { minimumRetentionDays: min } = configOf<{ minimumRetentionDays: number }>(args, RETENTION_SCHEMA);
        const r = read(db, "backupRetentionPeriod");
        if (r === UNKNOWN) return;
        if (typeof r !== "number" || r < min)
            report(`backupRetentionPeriod is ${r === undefined ? "unset (AWS default 1 day)" : String(r)}; at least ${min} days are required.`);
    }),
);

export const rdsAutoMinorUpgrade = resourcePolicy(
    {
        name: "rds-auto-minor-version-upgrade",
        description: "RDS applies minor engine upgrades (security patches) in the maintenance window.",
        enforcementLevel: "advisory",
        control: "FSBP RDS.13",
        remediation: "set autoMinorVersionUpgrade: true and a maintenanceWindow.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        if (read(db, "autoMinorVersionUpgrade") === false) report("autoMinorVersionUpgrade is false.");
    }),
);

export const rdsCopyTags = resourcePolicy(
    {
        name: "rds-copy-tags-to-snapshots",
        description: "RDS copies the instance's tags to its snapshots, so backups stay attributable and covered by tag-based backup rules.",
        enforcementLevel: "advisory",
        control: "FSBP RDS.17",
        remediation: "set copyTagsToSnapshot: true.",
    },
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const c = read(db, "copyTagsToSnapshot");
        if (c !== true && c !== UNKNOWN) report("copyTagsToSnapshot is not true.");
    }),
);

export const rdsFinalSnapshot = resourcePolicy(
    {
        name: "rds-final-snapshot",
        description: "Deleting an RDS instance leaves a final snapshot, so a mistaken delete does not lose the data.",
        enforcementLevel: "mandatory",
        remediation: "set skipFinalSnapshot: false and finalSnapshotIdentifier (e.g. <identifier>-final).",
    },
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
        const skip = read(db, "skipFinalSnapshot");
        const id = read(db, "identifier");
        const base = typeof id === "string" ? id : args.name;
        const fix = `set skipFinalSnapshot: false and finalSnapshotIdentifier (e.g. ${base}-final) on ${args.name}.`;
        if (skip === true) report(withFix("skipFinalSnapshot is true.", fix));
        else if (skip !== UNKNOWN && !isSet(db, "finalSnapshotIdentifier")) report(withFix("finalSnapshotIdentifier is not set, so a delete fails or loses the data.", fix));
    }),
);

export const rdsForceSsl = resourcePolicy(
    {
        name: "rds-force-ssl",
        description: "PostgreSQL on RDS refuses unencrypted connections: a custom parameter group sets rds.force_ssl=1 and the instance uses it.",
        enforcementLevel: "mandatory",
        remediation: 'set parameter { name: "rds.force_ssl", value: "1" } in an aws.rds.ParameterGroup of a postgres family, and parameterGroupName on the instance.',
    },
    validateResourceOfType(aws.rds.ParameterGroup, (pg, _args, report) => {
        const family = str(pg, "family");
        if (typeof family !== "string" || !family.startsWith("postgres")) return;
        const params = list(pg, "parameters");
        if (params === UNKNOWN) return;
        const force = params.find((p) => read(p, "name") === "rds.force_ssl");
        const v = force === undefined ? undefined : read(force, "value");
        if (v === UNKNOWN) return;
        if (v === undefined || String(v) !== "1") report(`rds.force_ssl is ${v === undefined ? "not set" : JSON.stringify(v)} in parameter group of family ${family}.`);
    }),
    validateResourceOfType(aws.rds.Instance, (db, _args, report) => {
        const engine = str(db, "engine");
        if (typeof engine === "string" && !engine.includes("postgres")) return;
        const pg = read(db, "parameterGroupName");
        if (pg === UNKNOWN) return;
        if (typeof pg !== "string" || pg === "" || pg.startsWith("default.")) report(`parameterGroupName is ${pg ? JSON.stringify(pg) : "unset"}: the default group does not force SSL.`);
    }),
);

// ---------------------------------------------------------------- ElastiCache

const SNAPSHOT_SCHEMA = {
    properties: {
        minimumSnapshotRetentionDays: { type: "integer" as const, minimum: 1, maximum: 35, default: 1, description: "Minimum ElastiCache snapshot retention, in days." },
    },
};

export const elasticacheBackups = resourcePolicy(
    {
        name: "elasticache-automatic-backups",
        description: "ElastiCache Redis takes automatic snapshots.",
        enforcementLevel: "mandatory",
        control: "FSBP ElastiCache.1",
        remediation: "set snapshotRetentionLimit to at least the pack's minimumSnapshotRetentionDays (and a snapshotWindow).",
        configSchema: SNAPSHOT_SCHEMA,
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, args, report) => {
        const { minimumSnapshotRetentionDays: min } = configOf<{ minimumSnapshotRetentionDays: number }>(args, SNAPSHOT_SCHEMA);
        const r = read(rg, "snapshotRetentionLimit");
        if (r === UNKNOWN) return;
        if (typeof r !== "number" || r < min) report(`snapshotRetentionLimit is ${r === undefined ? "unset (no snapshots)" : String(r)}; at least ${min} required.`);
    }),
);

export const elasticacheAutoMinorUpgrade = resourcePolicy(
    {
        name: "elasticache-auto-minor-version-upgrade",
        description: "ElastiCache applies minor engine upgrades automatically.",
        enforcementLevel: "advisory",
        control: "FSBP ElastiCache.2",
        remediation: "set autoMinorVersionUpgrade: true.",
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, _args, report) => {
        if (read(rg, "autoMinorVersionUpgrade") === false) report("autoMinorVersionUpgrade is false.");
    }),
);

export const elasticacheFailover = resourcePolicy(
    {
        name: "elasticache-automatic-failover",
        description: "Production Redis replication groups fail over automatically to a replica in another AZ.",
        // Advisory: the cache holds reconstructible data (sessions, rate limits); losing the primary costs latency, not records.
        enforcementLevel: "advisory",
        control: "FSBP ElastiCache.3",
        remediation: "set automaticFailoverEnabled: true, multiAzEnabled: true and numCacheClusters >= 2 (config cache.* in the production stack).",
        configSchema: PROD_SCHEMA,
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, args, report) => {
        if (!isProdStack(args.urn, configOf(args, PROD_SCHEMA))) return;
        const f = read(rg, "automaticFailoverEnabled");
        if (f !== true && f !== UNKNOWN) report(`automaticFailoverEnabled is ${f === undefined ? "unset" : String(f)} in production stack ${stackOf(args.urn)}.`);
    }),
);

export const elasticacheAtRest = resourcePolicy(
    {
        name: "elasticache-encryption-at-rest",
        description: "ElastiCache data and snapshots are encrypted at rest with a KMS key.",
        enforcementLevel: "mandatory",
        control: "FSBP ElastiCache.4",
        remediation: "set atRestEncryptionEnabled: true and kmsKeyId.",
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, _args, report) => {
        const e = read(rg, "atRestEncryptionEnabled");
        if (e !== true && e !== UNKNOWN) report("atRestEncryptionEnabled is not true.");
        else if (!isSet(rg, "kmsKeyId")) report("kmsKeyId is not set (AWS-owned key).");
    }),
);

export const elasticacheInTransit = resourcePolicy(
    {
        name: "elasticache-encryption-in-transit",
        description: "ElastiCache connections use TLS, with Redis AUTH.",
        enforcementLevel: "mandatory",
        control: "FSBP ElastiCache.5",
        remediation: "set transitEncryptionEnabled: true and authToken (a generated secret kept in Secrets Manager).",
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, _args, report) => {
        const t = read(rg, "transitEncryptionEnabled");
        if (t !== true && t !== UNKNOWN) report("transitEncryptionEnabled is not true.");
        else if (read(rg, "transitEncryptionMode") === "preferred") report('transitEncryptionMode is "preferred", which still accepts plaintext clients.');
        else if (!isSet(rg, "authToken") && !isSet(rg, "authTokenWo") && !isSet(rg, "userGroupIds")) report("no authToken (or user group): any client in the subnet can connect.");
    }),
);

export const elasticacheSubnetGroup = resourcePolicy(
    {
        name: "elasticache-custom-subnet-group",
        description: "ElastiCache runs in the platform's own subnet group (private subnets), not the default one.",
        enforcementLevel: "advisory",
        control: "FSBP ElastiCache.7",
        remediation: "set subnetGroupName to an aws.elasticache.SubnetGroup over the private subnets.",
    },
    validateResourceOfType(aws.elasticache.ReplicationGroup, (rg, _args, report) => {
        const s = read(rg, "subnetGroupName");
        if (s === UNKNOWN) return;
        if (typeof s !== "string" || s === "" || s === "default") report(`subnetGroupName is ${s ? JSON.stringify(s) : "unset"} (the default subnet group).`);
    }),
);

// ------------------------------------------------------------------------ ECR

export const ecrScanOnPush = resourcePolicy(
    {
        name: "ecr-scan-on-push",
        description: "ECR scans every pushed image for vulnerabilities (the runbook's pre-deployment security scan).",
        enforcementLevel: "advisory",
        control: "FSBP ECR.1",
        remediation: "set imageScanningConfiguration: { scanOnPush: true }.",
    },
    validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
        const s = read(repo, "imageScanningConfiguration.scanOnPush");
        if (s !== true && s !== UNKNOWN) report("imageScanningConfiguration.scanOnPush is not true.");
    }),
);

export const ecrImmutableTags = resourcePolicy(
    {
        name: "ecr-immutable-tags",
        description: "ECR tags are immutable, so a rollback to v1.2.3 runs exactly the image that was tested as v1.2.3.",
        enforcementLevel: "mandatory",
        control: "FSBP ECR.2",
        remediation: 'set imageTagMutability: "IMMUTABLE".',
    },
    validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
        const m = read(repo, "imageTagMutability");
        if (m === UNKNOWN || m === "IMMUTABLE") return;
        report(`imageTagMutability is ${m === undefined ? "unset (MUTABLE)" : JSON.stringify(m)}.`);
    }),
);

export const ecrLifecyclePolicy = stackPolicy(
    {
        name: "ecr-lifecycle-policy",
        description: "Every ECR repository has a lifecycle policy (expire untagged images, keep the last N releases).",
        enforcementLevel: "advisory",
        control: "FSBP ECR.3",
        remediation: "declare aws.ecr.LifecyclePolicy { repository: repo.name, policy: <rules> } for the repository.",
    },
    (args, report) => {
        const policies = ofTypes(args.resources, "aws:ecr/lifecyclePolicy:LifecyclePolicy");
        for (const repo of ofTypes(args.resources, "aws:ecr/repository:Repository")) {
            if (!policies.some((p) => refersTo(p, "repository", repo, [read(repo.props, "name")])))
                report(withFix(`Repository ${repo.name} has no lifecycle policy.`, `declare an aws.ecr.LifecyclePolicy with repository: ${repo.name}'s name and the expiry rules (components/registry.ts declares one per repository).`), repo.urn);
        }
    },
);

// ------------------------------------------------------------------------- S3

const BUCKETS = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

function bucketsAnd(args: StackValidationArgs, ...subTypes: string[]): { bucket: PolicyResource; subs: PolicyResource[] }[] {
    const subs = ofTypes(args.resources, ...subTypes);
    return ofTypes(args.resources, ...BUCKETS).map((bucket) => ({
        bucket,
        subs: subs.filter((s) => refersTo(s, "bucket", bucket, [read(bucket.props, "bucket")])),
    }));
}

export const s3PublicAccessBlocked = stackPolicy(
    {
        name: "s3-public-access-blocked",
        description: "Every S3 bucket blocks all public access (ACLs and policies).",
        enforcementLevel: "mandatory",
        control: "FSBP S3.8",
        remediation:
            "declare aws.s3.BucketPublicAccessBlock { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }.",
    },
    (args, report) => {
        for (const { bucket, subs } of bucketsAnd(args, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")) {
            if (!subs.length) {
                report(`Bucket ${bucket.name} has no public access block.`, bucket.urn);
                continue;
            }
            for (const pab of subs) {
                const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((k) => {
                    const v = read(pab.props, k);
                    return v !== true && v !== UNKNOWN;
                });
                if (off.length) report(`Bucket ${bucket.name}'s public access block leaves ${off.join(", ")} off.`, pab.urn);
            }
        }
    },
);

/** A bucket policy statement that denies requests without TLS. */
function deniesInsecureTransport(policy: unknown): boolean | typeof UNKNOWN {
    if (policy === UNKNOWN) return UNKNOWN;
    let doc: any = policy;
    if (typeof policy === "string") {
        try {
            doc = JSON.parse(policy);
        } catch {
            return false;
        }
    }
    const stmts = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
    return stmts.some((s: any) => {
        if (s?.Effect !== "Deny") return false;
        const cond = s?.Condition?.Bool?.["aws:SecureTransport"];
        return cond === false || cond === "false" || (Array.isArray(cond) && cond.map(String).includes("false"));
    });
}

export const s3SslOnly = stackPolicy(
    {
        name: "s3-ssl-only",
        description: "Every S3 bucket's policy denies requests that do not use TLS.",
        enforcementLevel: "mandatory",
        control: "FSBP S3.5",
        remediation:
            'declare aws.s3.BucketPolicy with a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN/*], Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
    },
    (args, report) => {
        for (const { bucket, subs } of bucketsAnd(args, "aws:s3/bucketPolicy:BucketPolicy")) {
            const results = subs.map((p) => deniesInsecureTransport(read(p.props, "policy")));
            if (results.some((r) => r === true || r === UNKNOWN)) continue;
            report(`Bucket ${bucket.name} has ${subs.length ? "a policy without" : "no bucket policy, so no"} aws:SecureTransport=false deny.`, bucket.urn);
        }
    },
);

export const s3Versioning = stackPolicy(
    {
        name: "s3-versioning",
        description: "Every S3 bucket keeps object versions, so an overwrite or delete of a backup is recoverable.",
        enforcementLevel: "mandatory",
        control: "FSBP S3.14",
        remediation: 'declare aws.s3.BucketVersioning { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }.',
    },
    (args, report) => {
        for (const { bucket, subs } of bucketsAnd(args, "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")) {
            const inline = read(bucket.props, "versioning.enabled");
            if (inline === true || inline === UNKNOWN) continue;
            const statuses = subs.map((v) => read(v.props, "versioningConfiguration.status"));
            if (statuses.some((s) => s === "Enabled" || s === UNKNOWN)) continue;
            report(`Bucket ${bucket.name} does not have versioning Enabled${statuses.length ? ` (status ${statuses.map(String).join(", ")})` : ""}.`, bucket.urn);
        }
    },
);

export const s3Encryption = stackPolicy(
    {
        name: "s3-kms-encryption",
        description: "Every S3 bucket encrypts new objects with SSE-KMS by default (S3 otherwise uses S3-managed keys).",
        enforcementLevel: "advisory",
        control: "FSBP S3.17",
        remediation:
            'declare aws.s3.BucketServerSideEncryptionConfiguration { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }] }.',
    },
    (args, report) => {
        const types = ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"];
        for (const { bucket, subs } of bucketsAnd(args, ...types)) {
            const algos: unknown[] = [read(bucket.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm")];
            for (const s of subs) {
                const rules = list(s.props, "rules");
                if (rules === UNKNOWN) algos.push(UNKNOWN);
                else for (const r of rules) algos.push(read(r, "applyServerSideEncryptionByDefault.sseAlgorithm"));
            }
            if (algos.some((a) => a === UNKNOWN || (typeof a === "string" && a.startsWith("aws:kms")))) continue;
            report(`Bucket ${bucket.name} has no SSE-KMS default encryption.`, bucket.urn);
        }
    },
);

// ------------------------------------------------------------ Secrets Manager

export const secretsManagerKms = resourcePolicy(
    {
        name: "secretsmanager-kms-key",
        description: "Secrets Manager secrets are encrypted with the platform's customer-managed KMS key, so decrypt access is scoped by its key policy.",
        enforcementLevel: "advisory",
        remediation: "set kmsKeyId to the secrets KMS key ARN.",
    },
    validateResourceOfType(aws.secretsmanager.Secret, (s, _args, report) => {
        if (!isSet(s, "kmsKeyId")) report("kmsKeyId is not set (aws/secretsmanager default key).");
    }),
);

// ------------------------------------------------------------ access control

export const eksNoImplicitClusterAdmin = resourcePolicy(
    {
        name: "eks-no-implicit-cluster-admin",
        description:
            "In production, the EKS cluster grants its creator no implicit cluster-admin: bootstrapClusterCreatorAdminPermissions is false, so every principal with access is an access entry the program declares.",
        enforcementLevel: "mandatory",
        remediation:
            "set config cluster.deployRoleArn (the role `pulumi up` runs as): components/cluster.ts then declares its access entry and turns the creator's bootstrap admin off (accessConfig.bootstrapClusterCreatorAdminPermissions: false on aws.eks.Cluster).",
        configSchema: PROD_SCHEMA,
    },
    // What a real preview shows: the child aws.eks.Cluster of the eks component (offline, the component is opaque).
    validateResourceOfType(aws.eks.Cluster, (c, args, report) => {
        if (!isProdStack(args.urn, configOf(args, PROD_SCHEMA))) return;
        const v = read(c, "accessConfig.bootstrapClusterCreatorAdminPermissions");
        if (v === false || v === UNKNOWN) return;
        report(
            v === undefined
                ? "accessConfig.bootstrapClusterCreatorAdminPermissions is unset, which EKS treats as true: the creator becomes cluster-admin through an entry no program declares."
                : "accessConfig.bootstrapClusterCreatorAdminPermissions is true: the creator becomes cluster-admin through an entry no program declares.",
        );
    }),
);

const TRUST_SCHEMA = {
    properties: {
        exemptServices: {
            type: "array" as const,
            items: { type: "string" as const },
            default: ["ec2.amazonaws.com", "eks.amazonaws.com"],
            description: "Service principals that assume roles for this account's own resources without a source (instance profiles, the EKS cluster role).",
        },
    },
};

/** An IAM policy document: a JSON string (as the program writes it) or an object. */
function policyDocument(v: unknown): Record<string, unknown> | typeof UNKNOWN | undefined {
    if (v === UNKNOWN) return UNKNOWN;
    if (typeof v === "string") {
        try {
            return JSON.parse(v);
        } catch {
            return undefined;
        }
    }
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
}

export const iamTrustSourceAccount = resourcePolicy(
    {
        name: "iam-service-trust-source-account",
        description:
            "A role that an AWS service assumes on this account's behalf (RDS monitoring, AWS Backup, flow logs) trusts that service only for this account: its trust policy conditions on aws:SourceAccount or aws:SourceArn (the confused-deputy guard).",
        enforcementLevel: "mandatory",
        remediation: 'add Condition: { StringEquals: { "aws:SourceAccount": <account id> } } (or aws:SourceArn) to each statement whose Principal is a Service.',
        configSchema: TRUST_SCHEMA,
    },
    validateResourceOfType(aws.iam.Role, (role, args, report) => {
        const { exemptServices } = configOf<{ exemptServices: string[] }>(args, TRUST_SCHEMA);
        const doc = policyDocument(read(role, "assumeRolePolicy"));
        if (doc === UNKNOWN || doc === undefined) return;
        const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
        for (const st of statements as Record<string, any>[]) {
            if (st.Effect !== "Allow") continue;
            const services = ([] as unknown[]).concat(st.Principal?.Service ?? []).filter((x): x is string => typeof x === "string");
            const guarded = services.filter((svc) => !exemptServices.includes(svc));
            if (guarded.length === 0) continue;
            const keys = Object.values((st.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((c) => Object.keys(c ?? {}));
            if (!keys.some((k) => /^aws:Source(Account|Arn)$/i.test(k)))
                report(`The trust policy lets ${guarded.join(", ")} assume this role with no aws:SourceAccount or aws:SourceArn condition: the service could be made to act for another account.`);
        }
    }),
);

export const AWS_POLICIES = [
    eksEndpointNotPublic,
    eksNoImplicitClusterAdmin,
    iamTrustSourceAccount,
    eksSupportedVersion,
    eksAuditLogging,
    eksSecretsEncryption,
    ec2Imdsv2,
    ec2DefaultSecurityGroup,
    vpcFlowLogs,
    ec2SubnetNoPublicIp,
    ec2NoUnrestrictedIngress,
    rdsNotPublic,
    rdsEncrypted,
    rdsMultiAz,
    rdsDeletionProtection,
    rdsLogExports,
    rdsIamAuthentication,
    rdsBackupRetention,
    rdsAutoMinorUpgrade,
    rdsCopyTags,
    rdsFinalSnapshot,
    rdsForceSsl,
    elasticacheBackups,
    elasticacheAutoMinorUpgrade,
    elasticacheFailover,
    elasticacheAtRest,
    elasticacheInTransit,
    elasticacheSubnetGroup,
    ecrScanOnPush,
    ecrImmutableTags,
    ecrLifecyclePolicy,
    s3PublicAccessBlocked,
    s3SslOnly,
    s3Versioning,
    s3Encryption,
    secretsManagerKms,
];
