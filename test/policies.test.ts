// Every policy of the pack, passing and failing, evaluated through the offline
// evaluator (plan/policy.ts), which wraps props with @pulumi/policy's
// unknownCheckingProxy exactly as the analyzer runtime does. Plus: unknown
// values never crash a policy, and the evaluator mirrors the runtime's
// handling of levels, config, isType/asType, notApplicable and unknowns.
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import { Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RecordedResource, UNKNOWN_VALUE, Secret } from "../plan/render";
import { PolicyConfigError, PolicyReport, evaluate, resolveConfig } from "../plan/policy";
import { POLICIES } from "../policies/pack";
import { K8S } from "../policies/lib";
import * as f from "./policy-fixtures";

const { res, set, withOptions, replace } = f;
const byName = new Map(POLICIES.map((p) => [p.name, p]));

async function run(policy: string, resources: RecordedResource[], config?: Record<string, unknown>, stack = "production"): Promise<PolicyReport> {
    const p = byName.get(policy);
    if (!p) throw new Error(`no policy ${policy}`);
    return evaluate([p], { stack, resources }, { config });
}

interface Case {
    /** What the failing variant breaks. */
    readonly label: string;
    readonly resources: RecordedResource[];
    /** A fragment of the expected violation message. */
    readonly expect: string;
    readonly config?: Record<string, unknown>;
    readonly stack?: string;
}

interface PolicyCases {
    readonly pass: RecordedResource[][];
    readonly fail: Case[];
}

const BG = K8S.Deployment;
const DEP = (pod: (p: any) => void, name = "api") => {
    const d = f.deployment(name);
    const inputs = structuredClone(d.inputs) as any;
    pod(inputs.spec.template.spec);
    return { ...d, inputs };
};

const CASES: Record<string, PolicyCases> = {
    // ------------------------------------------------------------------ AWS
    "eks-endpoint-not-public": {
        pass: [[f.eksCluster()], [f.awsEksCluster()], [set(set(f.eksCluster(), "endpointPublicAccess", true), "publicAccessCidrs", ["203.0.113.0/24"])]],
        fail: [
            { label: "public with no allowlist", resources: [set(f.eksCluster(), "endpointPublicAccess", true)], expect: "public to 0.0.0.0/0" },
            { label: "public access unset (defaults to true)", resources: [set(f.eksCluster(), "endpointPublicAccess", undefined)], expect: "defaults to true" },
            { label: "allowlist contains 0.0.0.0/0", resources: [set(set(f.eksCluster(), "endpointPublicAccess", true), "publicAccessCidrs", ["0.0.0.0/0"])], expect: "public to 0.0.0.0/0" },
            { label: "aws.eks.Cluster public", resources: [set(f.awsEksCluster(), "vpcConfig.endpointPublicAccess", true)], expect: "vpcConfig.endpointPublicAccess is true" },
        ],
    },
    "eks-supported-version": {
        pass: [[f.eksCluster()], [f.awsEksCluster()]],
        fail: [
            { label: "old version", resources: [set(f.eksCluster(), "version", "1.27")], expect: "Kubernetes 1.27 is not an allowed version" },
            { label: "unpinned", resources: [set(f.awsEksCluster(), "version", undefined)], expect: "No version is pinned" },
            { label: "not in a configured list", resources: [f.eksCluster()], config: { "eks-supported-version": { allowedVersions: ["1.33"] } }, expect: "1.31 is not an allowed version (allowed: 1.33)" },
        ],
    },
    "eks-audit-logging": {
        pass: [[f.eksCluster()], [f.awsEksCluster()]],
        fail: [
            { label: "audit missing", resources: [set(f.eksCluster(), "enabledClusterLogTypes", ["api"])], expect: "not enabled: audit, authenticator" },
            { label: "no logs on aws.eks.Cluster", resources: [set(f.awsEksCluster(), "enabledClusterLogTypes", undefined)], expect: "api, audit, authenticator" },
        ],
    },
    "eks-secrets-kms-encryption": {
        pass: [[f.eksCluster()], [f.awsEksCluster()]],
        fail: [
            { label: "no key", resources: [set(f.eksCluster(), "encryptionConfigKeyArn", undefined)], expect: "encryptionConfigKeyArn is not set" },
            { label: "aws.eks.Cluster without secrets", resources: [set(f.awsEksCluster(), "encryptionConfig.resources", [])], expect: 'does not cover "secrets"' },
        ],
    },
    "eks-no-implicit-cluster-admin": {
        pass: [
            [set(f.awsEksCluster(), "accessConfig", { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false })],
            // Outside the production stacks it is not enforced.
            [f.awsEksCluster({ stack: "staging" })],
        ],
        fail: [
            { label: "accessConfig unset (EKS defaults it to true)", resources: [f.awsEksCluster()], expect: "is unset, which EKS treats as true" },
            { label: "bootstrap left on", resources: [set(f.awsEksCluster(), "accessConfig", { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true })], expect: "bootstrapClusterCreatorAdminPermissions is true" },
        ],
    },
    "iam-service-trust-source-account": {
        pass: [
            [f.serviceRole()],
            [f.serviceRole("monitoring.rds.amazonaws.com", { ArnLike: { "aws:SourceArn": "arn:aws:rds:us-east-1:123456789012:db:*" } })],
            // Instance profiles and the EKS cluster role are exempt by default; web identity (IRSA) is not a service principal.
            [f.serviceRole("ec2.amazonaws.com", null)],
            [f.res("aws:iam/role:Role", "irsa", { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/x" }, Action: "sts:AssumeRoleWithWebIdentity" }] }) })],
        ],
        fail: [
            { label: "AWS Backup with no condition", resources: [f.serviceRole("backup.amazonaws.com", null)], expect: "lets backup.amazonaws.com assume this role with no aws:SourceAccount" },
            { label: "RDS monitoring with an unrelated condition", resources: [f.serviceRole("monitoring.rds.amazonaws.com", { Bool: { "aws:SecureTransport": "true" } })], expect: "lets monitoring.rds.amazonaws.com assume" },
            { label: "a service list, one unguarded", resources: [f.serviceRole(["ec2.amazonaws.com", "backup.amazonaws.com"] as any, null)], expect: "lets backup.amazonaws.com assume" },
        ],
    },
    "ec2-imdsv2-required": {
        pass: [
            [f.launchTemplate()],
            [f.ec2Instance()],
            [f.managedNodeGroup()],
            [f.eksCluster()],
            [res("aws:eks/nodeGroup:NodeGroup", "general", { clusterName: "c", launchTemplate: { id: "nodes-id", version: "1" } })],
        ],
        fail: [
            { label: "launch template optional tokens", resources: [set(f.launchTemplate(), "metadataOptions.httpTokens", "optional")], expect: 'httpTokens is "optional"' },
            { label: "instance unset", resources: [set(f.ec2Instance(), "metadataOptions", undefined)], expect: "unset (IMDSv1 allowed)" },
            { label: "managed node group without IMDSv2", resources: [set(f.managedNodeGroup(), "enableIMDSv2", false)], expect: "enableIMDSv2 is not true" },
            { label: "eks default node group", resources: [set(f.eksCluster(), "skipDefaultNodeGroup", undefined)], expect: "default node group is created" },
            { label: "aws.eks.NodeGroup on EKS's default template", resources: [res("aws:eks/nodeGroup:NodeGroup", "general", { clusterName: "c" })], expect: "has no launchTemplate" },
        ],
    },
    "ec2-default-security-group-closed": {
        pass: [[f.vpc(), f.defaultSg()]],
        fail: [
            { label: "rules on the default SG", resources: [f.vpc(), set(f.defaultSg(), "ingress", [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }])], expect: "has 1 ingress rule(s)" },
            { label: "default SG not managed", resources: [f.vpc()], expect: "VPC vpc has no aws.ec2.DefaultSecurityGroup" },
        ],
    },
    "vpc-flow-logs": {
        pass: [[f.vpc(), f.flowLog()]],
        fail: [
            { label: "no flow log", resources: [f.vpc()], expect: "VPC vpc has no flow log" },
            { label: "flow log of another VPC", resources: [f.vpc(), set(f.flowLog(), "vpcId", "other-vpc-id")], expect: "VPC vpc has no flow log" },
        ],
    },
    "ec2-subnet-no-auto-public-ip": {
        pass: [[res("aws:ec2/subnet:Subnet", "private-a", { cidrBlock: "10.0.0.0/19", mapPublicIpOnLaunch: false })], [res("aws:ec2/subnet:Subnet", "public-a", { cidrBlock: "10.0.128.0/22" })]],
        fail: [{ label: "auto-assigned public IPs", resources: [res("aws:ec2/subnet:Subnet", "public-a", { cidrBlock: "10.0.128.0/22", mapPublicIpOnLaunch: true })], expect: "mapPublicIpOnLaunch is true" }],
    },
    "ec2-no-unrestricted-ingress": {
        pass: [
            [res("aws:ec2/securityGroup:SecurityGroup", "db-sg", { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-nodes"] }] })],
            [res("aws:ec2/securityGroup:SecurityGroup", "lb-sg", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] })],
            [res("aws:ec2/securityGroupRule:SecurityGroupRule", "egress", { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] })],
            [res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "vpn", { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "10.8.0.0/16" })],
        ],
        fail: [
            {
                label: "PostgreSQL open to the internet",
                resources: [res("aws:ec2/securityGroup:SecurityGroup", "db-sg", { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }] })],
                expect: "ingress[0] admits ports 5432-5432/tcp from 0.0.0.0/0",
            },
            {
                label: "all traffic over IPv6 (SecurityGroupRule)",
                resources: [res("aws:ec2/securityGroupRule:SecurityGroupRule", "all", { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] })],
                expect: "admits all traffic from ::/0",
            },
            {
                label: "SSH from anywhere (vpc.SecurityGroupIngressRule)",
                resources: [res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ssh", { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" })],
                expect: "ports 22-22/tcp from 0.0.0.0/0",
            },
            {
                label: "443 when the configured public ports are only 80",
                resources: [res("aws:ec2/securityGroup:SecurityGroup", "lb-sg", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] })],
                config: { "ec2-no-unrestricted-ingress": { allowedPublicPorts: [80] } },
                expect: "ports 443-443/tcp",
            },
        ],
    },
    "rds-iam-authentication": {
        pass: [[f.rds()]],
        fail: [{ label: "off", resources: [set(f.rds(), "iamDatabaseAuthenticationEnabled", false)], expect: "iamDatabaseAuthenticationEnabled is not true" }],
    },
    "rds-not-publicly-accessible": {
        pass: [[f.rds()]],
        fail: [{ label: "public", resources: [set(f.rds(), "publiclyAccessible", true)], expect: "publiclyAccessible is true" }],
    },
    "rds-storage-encrypted": {
        pass: [[f.rds()]],
        fail: [
            { label: "unencrypted", resources: [set(f.rds(), "storageEncrypted", false)], expect: "storageEncrypted is not true" },
            { label: "AWS-managed key", resources: [set(f.rds(), "kmsKeyId", undefined)], expect: "kmsKeyId is not set" },
        ],
    },
    "rds-multi-az-production": {
        pass: [[f.rds()], [set(f.rds({ stack: "staging" }), "multiAz", false)]],
        fail: [
            { label: "single-AZ production", resources: [set(f.rds(), "multiAz", false)], expect: "multiAz is false in production stack production" },
            { label: "configured production stack", resources: [set(f.rds({ stack: "prod-eu" }), "multiAz", undefined)], stack: "prod-eu", config: { "rds-multi-az-production": { productionStacks: ["prod-eu"] } }, expect: "multiAz is unset" },
        ],
    },
    "rds-deletion-protection": {
        pass: [[f.rds()]],
        fail: [{ label: "off", resources: [set(f.rds(), "deletionProtection", undefined)], expect: "deletionProtection is not true" }],
    },
    "rds-log-exports": {
        pass: [[f.rds()], [set(set(f.rds(), "engine", "mysql"), "enabledCloudwatchLogsExports", [])]],
        fail: [{ label: "no postgresql log", resources: [set(f.rds(), "enabledCloudwatchLogsExports", ["upgrade"])], expect: '"postgresql"' }],
    },
    "rds-backup-retention": {
        pass: [[f.rds()], [set(f.rds(), "backupRetentionPeriod", 7)]],
        fail: [
            { label: "1 day", resources: [set(f.rds(), "backupRetentionPeriod", 1)], expect: "backupRetentionPeriod is 1; at least 7 days" },
            { label: "unset", resources: [set(f.rds(), "backupRetentionPeriod", undefined)], expect: "unset (AWS default 1 day)" },
            { label: "below a configured minimum", resources: [set(f.rds(), "backupRetentionPeriod", 7)], config: { "rds-backup-retention": { minimumRetentionDays: 14 } }, expect: "at least 14 days" },
        ],
    },
    "rds-auto-minor-version-upgrade": {
        pass: [[f.rds()]],
        fail: [{ label: "off", resources: [set(f.rds(), "autoMinorVersionUpgrade", false)], expect: "autoMinorVersionUpgrade is false" }],
    },
    "rds-copy-tags-to-snapshots": {
        pass: [[f.rds()]],
        fail: [{ label: "off", resources: [set(f.rds(), "copyTagsToSnapshot", false)], expect: "copyTagsToSnapshot is not true" }],
    },
    "rds-final-snapshot": {
        pass: [[f.rds()]],
        fail: [
            { label: "skipped", resources: [set(f.rds(), "skipFinalSnapshot", true)], expect: "skipFinalSnapshot is true" },
            { label: "no identifier", resources: [set(f.rds(), "finalSnapshotIdentifier", undefined)], expect: "finalSnapshotIdentifier is not set" },
        ],
    },
    "rds-force-ssl": {
        pass: [[f.rds(), f.paramGroup()], [set(f.paramGroup(), "family", "mysql8.0")]],
        fail: [
            { label: "force_ssl 0", resources: [set(f.paramGroup(), "parameters", [{ name: "rds.force_ssl", value: "0" }])], expect: 'rds.force_ssl is "0"' },
            { label: "force_ssl missing", resources: [set(f.paramGroup(), "parameters", [])], expect: "rds.force_ssl is not set" },
            { label: "default parameter group", resources: [set(f.rds(), "parameterGroupName", "default.postgres16")], expect: "the default group does not force SSL" },
        ],
    },
    "elasticache-automatic-backups": {
        pass: [[f.cache()]],
        fail: [{ label: "no snapshots", resources: [set(f.cache(), "snapshotRetentionLimit", 0)], expect: "snapshotRetentionLimit is 0" }],
    },
    "elasticache-auto-minor-version-upgrade": {
        pass: [[f.cache()]],
        fail: [{ label: "off", resources: [set(f.cache(), "autoMinorVersionUpgrade", false)], expect: "autoMinorVersionUpgrade is false" }],
    },
    "elasticache-automatic-failover": {
        pass: [[f.cache()], [set(f.cache({ stack: "staging" }), "automaticFailoverEnabled", false)]],
        fail: [{ label: "production without failover", resources: [set(f.cache(), "automaticFailoverEnabled", false)], expect: "automaticFailoverEnabled is false in production" }],
    },
    "elasticache-encryption-at-rest": {
        pass: [[f.cache()]],
        fail: [
            { label: "unencrypted", resources: [set(f.cache(), "atRestEncryptionEnabled", false)], expect: "atRestEncryptionEnabled is not true" },
            { label: "no CMK", resources: [set(f.cache(), "kmsKeyId", undefined)], expect: "kmsKeyId is not set" },
        ],
    },
    "elasticache-encryption-in-transit": {
        pass: [[f.cache()]],
        fail: [
            { label: "plaintext", resources: [set(f.cache(), "transitEncryptionEnabled", false)], expect: "transitEncryptionEnabled is not true" },
            { label: "preferred mode", resources: [set(f.cache(), "transitEncryptionMode", "preferred")], expect: '"preferred"' },
            { label: "no AUTH", resources: [set(f.cache(), "authToken", undefined)], expect: "no authToken" },
        ],
    },
    "elasticache-custom-subnet-group": {
        pass: [[f.cache()]],
        fail: [{ label: "default group", resources: [set(f.cache(), "subnetGroupName", undefined)], expect: "subnetGroupName is unset" }],
    },
    "ecr-scan-on-push": {
        pass: [[f.repo()]],
        fail: [{ label: "no scan", resources: [set(f.repo(), "imageScanningConfiguration", undefined)], expect: "scanOnPush is not true" }],
    },
    "ecr-immutable-tags": {
        pass: [[f.repo()]],
        fail: [
            { label: "mutable", resources: [set(f.repo(), "imageTagMutability", "MUTABLE")], expect: 'imageTagMutability is "MUTABLE"' },
            { label: "unset", resources: [set(f.repo(), "imageTagMutability", undefined)], expect: "unset (MUTABLE)" },
        ],
    },
    "ecr-lifecycle-policy": {
        pass: [[f.repo(), f.lifecycle()]],
        fail: [
            { label: "none", resources: [f.repo()], expect: "Repository rtpm-api has no lifecycle policy" },
            { label: "only another repo's", resources: [f.repo(), f.repo("nanda-api"), f.lifecycle("nanda-api")], expect: "Repository rtpm-api has no lifecycle policy" },
        ],
    },
    "s3-public-access-blocked": {
        pass: [f.bucketSet()],
        fail: [
            { label: "no block", resources: f.bucketSet().filter((r) => !r.type.includes("PublicAccessBlock")), expect: "Bucket backups has no public access block" },
            {
                label: "policy block off",
                resources: replace(f.bucketSet(), "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-pab", (r) => set(r, "blockPublicPolicy", false)),
                expect: "leaves blockPublicPolicy off",
            },
        ],
    },
    "s3-ssl-only": {
        pass: [f.bucketSet()],
        fail: [
            { label: "no policy", resources: f.bucketSet().filter((r) => !r.type.includes("bucketPolicy")), expect: "no bucket policy" },
            {
                label: "policy without the deny",
                resources: replace(f.bucketSet(), "aws:s3/bucketPolicy:BucketPolicy", "backups-policy", (r) => set(r, "policy", JSON.stringify({ Statement: [{ Effect: "Allow", Action: "s3:GetObject" }] }))),
                expect: "a policy without aws:SecureTransport=false deny",
            },
        ],
    },
    "s3-versioning": {
        pass: [f.bucketSet()],
        fail: [
            { label: "no versioning", resources: f.bucketSet().filter((r) => !r.type.includes("Versioning")), expect: "does not have versioning Enabled" },
            {
                label: "suspended",
                resources: replace(f.bucketSet(), "aws:s3/bucketVersioning:BucketVersioning", "backups-versioning", (r) => set(r, "versioningConfiguration.status", "Suspended")),
                expect: "status Suspended",
            },
        ],
    },
    "s3-kms-encryption": {
        pass: [f.bucketSet()],
        fail: [
            { label: "no SSE config", resources: f.bucketSet().filter((r) => !r.type.includes("ServerSide")), expect: "no SSE-KMS default encryption" },
            {
                label: "SSE-S3 only",
                resources: replace(f.bucketSet(), "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-sse", (r) =>
                    set(r, "rules", [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]),
                ),
                expect: "no SSE-KMS",
            },
        ],
    },
    "secretsmanager-kms-key": {
        pass: [[f.secret()]],
        fail: [{ label: "default key", resources: [set(f.secret(), "kmsKeyId", undefined)], expect: "kmsKeyId is not set" }],
    },

    // ----------------------------------------------------------- Kubernetes
    "k8s-run-as-non-root": {
        pass: [[f.deployment("api")], [f.cronJob()]],
        fail: [
            { label: "no runAsNonRoot", resources: [DEP((p) => delete p.securityContext.runAsNonRoot)], expect: "containers[0] (app) does not set runAsNonRoot: true" },
            { label: "uid 0 on the container", resources: [DEP((p) => (p.containers[0].securityContext.runAsUser = 0))], expect: "runs as uid 0" },
            { label: "CronJob pod as root", resources: [set(f.cronJob(), "spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot", false)], expect: "CronJob report" },
        ],
    },
    "k8s-no-privilege-escalation": {
        pass: [[f.deployment("api")]],
        fail: [
            { label: "privileged", resources: [DEP((p) => (p.containers[0].securityContext.privileged = true))], expect: "is privileged" },
            { label: "escalation allowed", resources: [DEP((p) => delete p.containers[0].securityContext.allowPrivilegeEscalation)], expect: "allowPrivilegeEscalation: false" },
            {
                label: "init container escalates",
                resources: [DEP((p) => (p.initContainers = [{ name: "init", image: "busybox:1.36", securityContext: { allowPrivilegeEscalation: true } }]))],
                expect: "initContainers[0] (init)",
            },
        ],
    },
    "k8s-drop-all-capabilities": {
        pass: [[f.deployment("api")], [DEP((p) => (p.containers[0].securityContext.capabilities.add = ["NET_BIND_SERVICE"]))]],
        fail: [
            { label: "drop nothing", resources: [DEP((p) => delete p.containers[0].securityContext.capabilities)], expect: "does not drop ALL capabilities" },
            { label: "adds NET_ADMIN", resources: [DEP((p) => (p.containers[0].securityContext.capabilities.add = ["NET_ADMIN"]))], expect: "adds capabilities NET_ADMIN" },
        ],
    },
    "k8s-seccomp-runtime-default": {
        pass: [[f.deployment("api")], [DEP((p) => ((p.securityContext.seccompProfile = undefined), (p.containers[0].securityContext.seccompProfile = { type: "RuntimeDefault" })))]],
        fail: [
            { label: "unset", resources: [DEP((p) => delete p.securityContext.seccompProfile)], expect: "seccompProfile unset" },
            { label: "unconfined container", resources: [DEP((p) => (p.containers[0].securityContext.seccompProfile = { type: "Unconfined" }))], expect: '"Unconfined"' },
        ],
    },
    "k8s-no-host-access": {
        pass: [[f.deployment("api")]],
        fail: [
            { label: "hostNetwork", resources: [DEP((p) => (p.hostNetwork = true))], expect: "sets hostNetwork: true" },
            { label: "hostPath", resources: [DEP((p) => p.volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } }))], expect: "mounts hostPath volume docker" },
            { label: "hostPort", resources: [DEP((p) => (p.containers[0].ports[0].hostPort = 8000))], expect: "binds hostPort 8000" },
        ],
    },
    "k8s-read-only-root-filesystem": {
        pass: [[f.deployment("api")]],
        fail: [{ label: "writable", resources: [DEP((p) => (p.containers[0].securityContext.readOnlyRootFilesystem = false))], expect: "writable root filesystem" }],
    },
    "k8s-resources-requests-limits": {
        pass: [[f.deployment("api")]],
        fail: [
            { label: "no limits", resources: [DEP((p) => delete p.containers[0].resources.limits)], expect: "no resources.limits.cpu, resources.limits.memory" },
            { label: "nothing", resources: [DEP((p) => delete p.containers[0].resources)], expect: "resources.requests.cpu" },
        ],
    },
    "k8s-readiness-liveness-probes": {
        pass: [[f.deployment("api")], [f.cronJob()].map((r) => set(r, "spec.jobTemplate.spec.template.spec.containers.0.readinessProbe", undefined))],
        fail: [
            { label: "no readiness", resources: [DEP((p) => delete p.containers[0].readinessProbe)], expect: "has no readinessProbe" },
            { label: "no probes", resources: [DEP((p) => (delete p.containers[0].readinessProbe, delete p.containers[0].livenessProbe))], expect: "readinessProbe or livenessProbe" },
        ],
    },
    "k8s-image-tag-pinned": {
        pass: [[f.deployment("api")], [f.deployment("api", { image: "registry.local:5000/app@sha256:" + "a".repeat(64) })]],
        fail: [
            { label: "latest", resources: [f.deployment("api", { image: "nginx:latest" })], expect: "moving tag latest" },
            { label: "untagged with a registry port", resources: [f.deployment("api", { image: "registry.local:5000/app" })], expect: "has no tag" },
            { label: "configured moving tag", resources: [f.deployment("api", { image: "app:main" })], config: { "k8s-image-tag-pinned": { mutableTags: ["latest", "main"] } }, expect: "moving tag main" },
        ],
    },
    "k8s-no-service-account-token-automount": {
        pass: [
            [f.deployment("api")],
            [set(DEP((p) => delete p.automountServiceAccountToken), "metadata.annotations", { "candlefish.ai/kubernetes-api-access": "leader election" })],
        ],
        fail: [{ label: "default automount", resources: [DEP((p) => delete p.automountServiceAccountToken)], expect: "mounts a service-account token" }],
    },
    "k8s-ingress-tls": {
        pass: [[f.ingress()]],
        fail: [
            { label: "no tls", resources: [set(f.ingress(), "spec.tls", undefined)], expect: "has no spec.tls" },
            { label: "host not covered", resources: [set(f.ingress(), "spec.tls", [{ hosts: ["candlefish.ai"], secretName: "t" }])], expect: "routes rtpm-api.candlefish.ai without TLS" },
        ],
    },
    "k8s-pdb-per-deployment": {
        pass: [[f.deployment("api"), f.pdb("api", { app: "api" })]],
        fail: [
            { label: "no PDB", resources: [f.deployment("api")], expect: "Deployment production/api has no PodDisruptionBudget" },
            { label: "PDB in another namespace", resources: [f.deployment("api"), f.pdb("api", { app: "api" }, "staging")], expect: "has no PodDisruptionBudget" },
            { label: "PDB selecting other pods", resources: [f.deployment("api"), f.pdb("api", { app: "web" })], expect: "has no PodDisruptionBudget" },
        ],
    },
    "k8s-namespace-network-policy": {
        pass: [[f.namespace(), f.netpol(), f.deployment("api")], [f.namespace("monitoring"), f.deployment("exporter", { ns: "monitoring" })]],
        fail: [
            { label: "declared namespace without policy", resources: [f.namespace(), f.deployment("api")], expect: "App namespace production has no NetworkPolicy" },
            { label: "policy only elsewhere", resources: [f.deployment("api", { ns: "staging" }), f.netpol("production")], expect: "App namespace staging" },
        ],
    },

    "k8s-namespace-default-deny": {
        pass: [
            [f.namespace(), f.netpol(), f.netpolDenyEgress()],
            // A platform namespace needs the ingress default only.
            [f.namespace("monitoring"), f.netpol("monitoring")],
            // kube-system is exempt by default.
            [f.namespace("kube-system")],
        ],
        fail: [
            { label: "namespace with no policy", resources: [f.namespace("monitoring")], expect: "Namespace monitoring has no default-deny ingress NetworkPolicy" },
            { label: "app namespace without the egress default", resources: [f.namespace(), f.netpol()], expect: "App namespace production has no default-deny egress NetworkPolicy" },
            { label: "the 'default' only selects some pods", resources: [f.namespace("monitoring"), set(f.netpol("monitoring"), "spec.podSelector", { matchLabels: { app: "x" } })], expect: "Namespace monitoring has no default-deny ingress" },
            { label: "the 'default' allows a rule", resources: [f.namespace("cert-manager"), set(f.netpol("cert-manager"), "spec.ingress", [{ ports: [{ port: 10250 }] }])], expect: "Namespace cert-manager has no default-deny ingress" },
            { label: "configured app namespace", resources: [f.namespace("dev-alice"), f.netpol("dev-alice")], config: { "k8s-namespace-default-deny": { appNamespaces: ["dev-alice"] } }, expect: "App namespace dev-alice has no default-deny egress" },
        ],
    },
    "k8s-network-policy-scoped": {
        pass: [
            [f.netpolAllow()],
            [f.netpolAllow("production", [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] } }])],
            // Outside app namespaces a webhook port may admit every source (the API server is not a pod).
            [set(f.netpolAllow("cert-manager"), "spec.ingress", [{ ports: [{ protocol: "TCP", port: 10250 }] }])],
            [f.netpol(), f.netpolDenyEgress()],
        ],
        fail: [
            { label: "egress to everything, metadata included", resources: [f.netpolAllow("production", [{ ipBlock: { cidr: "0.0.0.0/0" } }])], expect: "admits 0.0.0.0/0 without excepting the instance metadata address 169.254.169.254" },
            { label: "egress to the link-local block", resources: [f.netpolAllow("monitoring", [{ ipBlock: { cidr: "169.254.0.0/16", except: ["169.254.170.0/24"] } }])], expect: "admits 169.254.0.0/16 without excepting" },
            { label: "ingress from every source", resources: [set(f.netpolAllow(), "spec.ingress.0.from", undefined)], expect: "ingress[0] has no `from`, so it admits every source" },
            { label: "ingress on every port", resources: [set(f.netpolAllow(), "spec.ingress.0.ports", undefined)], expect: "ingress[0] has no `ports`, so it opens every port" },
            { label: "egress to every destination", resources: [set(f.netpolAllow(), "spec.egress.0.to", [])], expect: "egress[0] has no `to`, so it reaches every destination" },
        ],
    },

    // ------------------------------------------------------------ blue/green
    "bluegreen-both-colors": {
        pass: [f.blueGreen(), [...f.blueGreen(), ...f.blueGreen({ name: "nanda-api" })]],
        fail: [
            { label: "green missing", resources: f.blueGreen().filter((r) => !(r.type === BG && r.name === "rtpm-api-green")), expect: "has 0 rtpm-api-green Deployments" },
            { label: "two blues", resources: [...f.blueGreen(), (({ urn, ...d }) => ({ ...d, name: "rtpm-api-blue-2", urn: `${urn}-2` }))(f.deployment("rtpm-api-blue"))], expect: "has 2 rtpm-api-blue Deployments" },
        ],
    },
    "bluegreen-live-service-selects-ready-color": {
        pass: [f.blueGreen(), f.blueGreen({ live: "green" }), f.blueGreen({ ns: "staging", replicas: { blue: 1, green: 0 } }), f.blueGreen({ replicas: { blue: 2, green: 0 } })],
        fail: [
            { label: "selects a scaled-down color", resources: f.blueGreen({ replicas: { blue: 0, green: 2 } }), expect: "production/rtpm-api-blue is live with 0 replica(s); at least 2 required in production" },
            { label: "one replica in production", resources: f.blueGreen({ replicas: { blue: 1, green: 1 } }), expect: "at least 2 required in production" },
            { label: "mutable tag", resources: f.blueGreen({ tags: { blue: "latest", green: "v2.4.0" } }), expect: "rtpm-api:latest, whose tag is not immutable" },
            { label: "moving branch tag", resources: f.blueGreen({ live: "green", tags: { blue: "v2.4.1", green: "main" } }), expect: "whose tag is not immutable" },
            {
                label: "selects a color without a Deployment",
                resources: f.blueGreen().filter((r) => !(r.type === BG && r.name === "rtpm-api-blue")),
                expect: "selects blue, but production/rtpm-api-blue does not exist",
            },
            {
                label: "no version in the selector",
                resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-service", (r) => set(r, "spec.selector", { app: "rtpm-api" })),
                expect: "selects both colors",
            },
            {
                label: "selector the pods do not carry",
                resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-service", (r) => set(r, "spec.selector.app", "rtpm")),
                expect: "pod labels do not carry",
            },
            { label: "no live service", resources: f.blueGreen().filter((r) => r.name !== "rtpm-api-service"), expect: "no rtpm-api-service" },
            {
                label: "configured production namespace",
                resources: f.blueGreen({ ns: "prod", replicas: { blue: 1, green: 1 } }),
                config: { "bluegreen-live-service-selects-ready-color": { productionNamespaces: ["prod"] } },
                expect: "at least 2 required in production",
            },
        ],
    },
    "bluegreen-preview-selects-other-color": {
        pass: [f.blueGreen(), f.blueGreen({ live: "green" })],
        fail: [
            { label: "preview on the live color", resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-preview", (r) => set(r, "spec.selector.version", "blue")), expect: "must select green" },
            { label: "no preview", resources: f.blueGreen().filter((r) => r.name !== "rtpm-api-preview"), expect: "has no rtpm-api-preview Service selecting green" },
            { label: "preview of another app", resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-preview", (r) => set(r, "spec.selector.app", "nanda-api")), expect: "differ in selector keys app" },
        ],
    },
    "bluegreen-live-service-depends-on-deployment": {
        pass: [f.blueGreen(), f.blueGreen({ live: "green" })],
        fail: [
            { label: "no dependency", resources: f.blueGreen({ dependsOn: false }), expect: "does not depend on rtpm-api-blue" },
            {
                label: "depends on the other color",
                resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-service", (r) => withOptions(r, { dependsOn: [`${K8S.Deployment}::rtpm-api-green`] })),
                expect: "does not depend on rtpm-api-blue",
            },
            {
                label: "no promotion gate",
                resources: replace(f.blueGreen(), K8S.Service, "rtpm-api-service", (r) => withOptions(r, { dependsOn: [`${K8S.Deployment}::rtpm-api-blue`] })),
                expect: "does not depend on its promotion gate rtpm-api-gate-blue",
            },
        ],
    },
    "stateful-resources-protected": {
        pass: [[f.rds(), f.cache(), f.repo(), f.secret(), ...f.bucketSet()], [f.vpc()]],
        fail: [
            { label: "unprotected database", resources: [f.rds({ protect: false })], expect: "Instance db is not protected" },
            { label: "unprotected KMS key", resources: [res("aws:kms/key:Key", "secrets-kms", { enableKeyRotation: true })], expect: "Key secrets-kms is not protected" },
            { label: "configured extra type", resources: [f.vpc()], config: { "stateful-resources-protected": { statefulTypes: ["aws:ec2/vpc:Vpc"] } }, expect: "Vpc vpc is not protected" },
        ],
    },
};

/** Every leaf (or, at depth 1, every top-level value) replaced by the render's unknown marker. */
function unknownize(v: unknown, depth: number): unknown {
    if (depth === 0) return UNKNOWN_VALUE;
    if (Array.isArray(v)) return v.map((x) => unknownize(x, depth - 1));
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unknownize(x, depth - 1)]));
    return UNKNOWN_VALUE;
}

describe("policy pack: every policy passes its compliant case and catches its violations", () => {
    it("the pack has 56 uniquely named policies, each with a description, a deliberate level and a remediation", () => {
        assert.equal(POLICIES.length, 56);
        assert.equal(new Set(POLICIES.map((p) => p.name)).size, POLICIES.length);
        for (const p of POLICIES) {
            assert.ok(p.description.length > 20, p.name);
            assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
            assert.ok((p.remediationSteps ?? "").length > 10, p.name);
        }
    });

    it("every policy has test cases here", () => {
        assert.deepEqual(POLICIES.map((p) => p.name).filter((n) => !CASES[n]), []);
        assert.deepEqual(Object.keys(CASES).filter((n) => !byName.has(n)), []);
    });

    it("FSBP control IDs are carried by the AWS policies' descriptions and tags", () => {
        const controls = POLICIES.flatMap((p) => p.tags ?? []);
        for (const c of ["FSBP EKS.1", "FSBP EKS.2", "FSBP EKS.3", "FSBP EKS.8", "FSBP RDS.2", "FSBP RDS.3", "FSBP RDS.5", "FSBP RDS.8", "FSBP RDS.9", "FSBP RDS.10", "FSBP RDS.11", "FSBP RDS.13", "FSBP RDS.17"])
            assert.ok(controls.includes(c), c);
        for (const n of [1, 2, 3, 4, 5, 7]) assert.ok(controls.includes(`FSBP ElastiCache.${n}`), `ElastiCache.${n}`);
        for (const c of ["FSBP ECR.1", "FSBP ECR.2", "FSBP ECR.3", "FSBP EC2.2", "FSBP EC2.6", "FSBP EC2.8", "FSBP EC2.15", "FSBP EC2.18", "FSBP S3.5", "FSBP S3.8", "FSBP S3.14", "FSBP S3.17"]) assert.ok(controls.includes(c), c);
        assert.match(byName.get("rds-storage-encrypted")!.description, /^\[FSBP RDS\.3\] /);
    });

    for (const [name, cases] of Object.entries(CASES)) {
        describe(name, () => {
            cases.pass.forEach((resources, i) => {
                it(`passes compliant case ${i + 1} (${resources.map((r) => r.type.split(":").pop()).join(", ")})`, async () => {
                    const r = await run(name, resources);
                    assert.deepEqual(r.violations, []);
                    assert.equal(r.policies, 1);
                });
            });
            for (const c of cases.fail) {
                it(`catches: ${c.label}`, async () => {
                    const r = await run(name, c.resources, c.config, c.stack);
                    assert.ok(r.violations.length >= 1, `no violation for ${c.label}`);
                    const v = r.violations.find((x) => x.message.includes(c.expect));
                    assert.ok(v, `expected a message containing ${JSON.stringify(c.expect)}, got ${JSON.stringify(r.violations.map((x) => x.message))}`);
                    assert.equal(v.policy, name);
                    assert.equal(v.level, byName.get(name)!.enforcementLevel);
                    assert.match(v.message, / Fix: .{10,}/, "every violation says what to set");
                    assert.ok(c.resources.some((x) => x.type === v.type && x.name === v.name) || v.type === "pulumi:pulumi:Stack", `${v.type} ${v.name}`);
                });
            }
            it("does not crash on unknown values (leaves, and whole top-level properties)", async () => {
                for (const resources of [...cases.pass, ...cases.fail.map((c) => c.resources)]) {
                    for (const depth of [1, 3, 99]) {
                        const unknown = resources.map((x) => ({ ...x, inputs: unknownize(x.inputs, depth) as Record<string, unknown> }));
                        const r = await run(name, unknown);
                        assert.deepEqual(r.violations.filter((v) => v.message.includes("can't run")), [], `depth ${depth}`);
                    }
                }
            });
        });
    }
});

describe("offline evaluator: mirrors the analyzer runtime", () => {
    const probe = (validate: ResourceValidationPolicy["validateResource"], extra: Partial<ResourceValidationPolicy> = {}): Policies => [
        { name: "probe", description: "probe", enforcementLevel: "mandatory", validateResource: validate, ...extra },
    ];

    it("props are wrapped in unknownCheckingProxy: touching an unknown value throws UnknownValueError, reported advisory as in a preview", async () => {
        const r = await evaluate(
            probe((args, report) => {
                if (args.props.kmsKeyId) report("unreachable");
            }),
            { stack: "production", resources: [res("aws:rds/instance:Instance", "db", { kmsKeyId: UNKNOWN_VALUE })] },
        );
        assert.equal(r.violations.length, 1);
        assert.equal(r.violations[0].level, "advisory");
        assert.match(r.violations[0].message, /can't run policy 'probe' .* during preview: string value at \.kmsKeyId can't be known during preview/);
    });

    it("isType/asType compare the class's type token; secrets arrive unwrapped; opts carry protect and the parent URN", async () => {
        const seen: any[] = [];
        const parent = res("candlefish:data:Database", "database", {}, { custom: false });
        await evaluate(
            probe((args) => {
                seen.push({
                    isRds: args.isType(aws.rds.Instance),
                    isBucket: args.isType(aws.s3.Bucket),
                    engine: args.asType(aws.rds.Instance)?.engine,
                    bucket: args.asType(aws.s3.Bucket),
                    password: args.props.password,
                    protect: args.opts.protect,
                    parent: args.opts.parent,
                    provider: args.provider?.name,
                });
            }),
            {
                stack: "production",
                resources: [
                    parent,
                    res("pulumi:providers:aws", "east", { region: "us-east-1" }),
                    res("aws:rds/instance:Instance", "db", { engine: "postgres", password: new Secret("s3cret") }, {
                        protect: true,
                        parent: "candlefish:data:Database::database",
                        provider: "pulumi:providers:aws::east",
                    }),
                ],
            },
        );
        assert.deepEqual(seen[2], { isRds: true, isBucket: false, engine: "postgres", bucket: undefined, password: "s3cret", protect: true, parent: parent.urn, provider: "east" });
    });

    it("read resources are not analyzed, but stack policies see them with dependencies resolved", async () => {
        const seen: string[] = [];
        const stackSeen: string[] = [];
        const policies: Policies = [
            { name: "r", description: "r", validateResource: (a) => void seen.push(a.name) },
            {
                name: "s",
                description: "s",
                validateStack: (a) => {
                    for (const r of a.resources) stackSeen.push(`${r.name}<-${r.dependencies.map((d) => d.name).join(",")}`);
                },
            } as StackValidationPolicy,
        ];
        await evaluate(policies, {
            stack: "staging",
            resources: [res("aws:ecr/repository:Repository", "looked-up", { name: "x" }, { read: true }), res("aws:ec2/vpc:Vpc", "vpc", {}), res("aws:ec2/flowLog:FlowLog", "fl", { vpcId: "vpc-id" })],
        });
        assert.deepEqual(seen, ["vpc", "fl"]);
        assert.deepEqual(stackSeen, ["looked-up<-", "vpc<-", "fl<-vpc"]);
    });

    it("a stack violation without a URN is reported against the stack", async () => {
        const r = await evaluate([{ name: "s", description: "d", enforcementLevel: "mandatory", validateStack: (_a, report) => report("whole stack") } as StackValidationPolicy], {
            stack: "production",
            resources: [f.vpc()],
        });
        assert.deepEqual(r.violations, [{ policy: "s", level: "mandatory", type: "pulumi:pulumi:Stack", name: "candlefish-maturity-map-production", message: "whole stack" }]);
    });

    it("a policy's own error fails the evaluation naming policy and resource (as the runtime fails the preview)", async () => {
        await assert.rejects(
            evaluate(
                probe(() => {
                    throw new TypeError("boom");
                }),
                { stack: "production", resources: [f.vpc()] },
            ),
            /Error validating aws:ec2\/vpc:Vpc vpc with policy 'probe': boom/,
        );
    });

    it("pack config: 'all' and per-policy levels, disabled policies are not counted, remediate counts as mandatory", async () => {
        const resources = [set(f.rds(), "publiclyAccessible", true), set(f.rds(), "copyTagsToSnapshot", false)];
        const pick = POLICIES.filter((p) => ["rds-not-publicly-accessible", "rds-copy-tags-to-snapshots"].includes(p.name));
        const base = await evaluate(pick, { stack: "production", resources });
        assert.deepEqual(base.violations.map((v) => [v.policy, v.level]), [["rds-not-publicly-accessible", "mandatory"], ["rds-copy-tags-to-snapshots", "advisory"]]);
        const all = await evaluate(pick, { stack: "production", resources }, { config: { all: "mandatory" } });
        assert.deepEqual(all.violations.map((v) => v.level), ["mandatory", "mandatory"]);
        const off = await evaluate(pick, { stack: "production", resources }, { config: { "rds-copy-tags-to-snapshots": "disabled", "rds-not-publicly-accessible": { enforcementLevel: "remediate" } } });
        assert.equal(off.policies, 1);
        assert.deepEqual(off.violations.map((v) => [v.policy, v.level]), [["rds-not-publicly-accessible", "mandatory"]]);
        assert.equal((await evaluate(pick, { stack: "production", resources }, { config: { all: "disabled" } })).policies, 0);
    });

    it("pack config is checked against each policy's configSchema, and defaults apply", () => {
        const cfg = resolveConfig(POLICIES, { "rds-backup-retention": { minimumRetentionDays: 14 } });
        assert.deepEqual(cfg.get("rds-backup-retention")!.props, { minimumRetentionDays: 14 });
        assert.deepEqual(cfg.get("eks-supported-version")!.props.allowedVersions, ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]);
        const bad: [Record<string, unknown>, RegExp][] = [
            [{ "rds-backup-retentoin": "mandatory" }, /unknown policy "rds-backup-retentoin"/],
            [{ "rds-backup-retention": { minimumRetentionDays: "7" } }, /rds-backup-retention\.minimumRetentionDays: expected integer, got "7"/],
            [{ "rds-backup-retention": { minimumRetentionDays: 0 } }, /rds-backup-retention\.minimumRetentionDays: expected >= 1, got 0/],
            [{ "rds-backup-retention": { minDays: 7 } }, /rds-backup-retention\.minDays: unknown property \(known: minimumRetentionDays\)/],
            [{ "eks-supported-version": { allowedVersions: ["1.31", "v1.32"] } }, /allowedVersions: \[1\]: expected to match/],
            [{ "rds-not-publicly-accessible": "blocking" }, /rds-not-publicly-accessible\.enforcementLevel: "blocking" is not one of/],
            [{ "rds-not-publicly-accessible": { threshold: 1 } }, /this policy takes no config/],
        ];
        for (const [config, msg] of bad) assert.throws(() => resolveConfig(POLICIES, config), (e: unknown) => e instanceof PolicyConfigError && msg.test((e as Error).message));
    });
});

describe("policy pack packaging (what `pulumi preview --policy-pack policies` loads)", () => {
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const root = path.resolve(__dirname, "..", "..");
    const dir = path.join(root, "policies");

    it("PulumiPolicy.yaml declares the nodejs runtime and package.json's main is the entry file", () => {
        assert.match(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        assert.equal(pkg.main, "index.ts");
        assert.match(pkg.version, /^\d+\.\d+\.\d+$/, "PolicyPack reads its version from package.json");
    });

    it("the pack's dependencies are pinned to the program's versions (one SDK, one set of type tokens)", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        const top = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
        for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }))
            assert.equal(version, top.dependencies[name] ?? top.devDependencies[name], name);
    });

    it("only the entry file constructs the PolicyPack (constructing it starts the analyzer server)", () => {
        const constructs = fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && /new PolicyPack\(/.test(fs.readFileSync(path.join(dir, f), "utf8")));
        assert.deepEqual(constructs, ["index.ts"]);
    });
});
