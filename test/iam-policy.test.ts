// The deploying role's IAM policy (docs/iam/deployer-policy*.json,
// docs/FIRST-DEPLOY.md "IAM permissions") covers every AWS resource type and
// every AWS lookup the rendered program declares, and nothing it does not
// need. What each type needs is written down here (create, read, update,
// delete, tag, and what the service does with the caller's credentials, such
// as iam:PassRole or kms:CreateGrant); a type the program starts declaring
// fails this test until it is mapped and the policy allows it.
//
// Limits of this check (docs/FIRST-DEPLOY.md says so too): the actions per
// type are this file's reading of what the AWS provider calls, not observed
// from a real account; IAM Access Analyzer's policy generation over the
// CloudTrail of a first real deploy is what would confirm or tighten them.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ROOT } from "../plan/stackfile";
import { Rendered } from "../plan/render";
import { mocks } from "../plan/mocks";
import { inputs, ofType, renderStack } from "./harness";

export const POLICY_FILES = ["docs/iam/deployer-policy.json", "docs/iam/deployer-policy-data.json"];
/** AWS's limit for one customer managed policy, whitespace not counted (AWS Knowledge Center "iam-increase-policy-size"). */
const MANAGED_POLICY_MAX_CHARS = 6144;

const ec2Tags = ["ec2:CreateTags", "ec2:DeleteTags"];
const passRole = "iam:PassRole";
const kmsUse = ["kms:DescribeKey", "kms:CreateGrant"];
const s3Read = [
    "s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
    "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging", "s3:GetBucketPolicy",
];

/** What the deploying role needs per AWS resource type (the AWS provider's calls, and the service's on the caller's behalf). */
export const TYPE_ACTIONS: Readonly<Record<string, readonly string[]>> = {
    "aws:ec2/vpc:Vpc": ["ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", ...ec2Tags],
    "aws:ec2/subnet:Subnet": ["ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute", "ec2:DescribeSubnets", ...ec2Tags],
    "aws:ec2/internetGateway:InternetGateway": ["ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DescribeInternetGateways", ...ec2Tags],
    "aws:ec2/eip:Eip": ["ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress", "ec2:DescribeAddresses", ...ec2Tags],
    "aws:ec2/natGateway:NatGateway": ["ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:DescribeNatGateways", ...ec2Tags],
    "aws:ec2/routeTable:RouteTable": ["ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute", "ec2:DescribeRouteTables", ...ec2Tags],
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ["ec2:AssociateRouteTable", "ec2:DisassociateRouteTable", "ec2:DescribeRouteTables"],
    "aws:ec2/securityGroup:SecurityGroup": [
        "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
        "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress", ...ec2Tags,
    ],
    "aws:ec2/securityGroupRule:SecurityGroupRule": [
        "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        "ec2:ModifySecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
    ],
    // The deploy runner's rule into the cluster security group (components/cluster.ts).
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules", "ec2:DescribeSecurityGroupRules", ...ec2Tags,
    ],
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ["ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", ...ec2Tags],
    "aws:ec2/flowLog:FlowLog": ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:DescribeFlowLogs", passRole, ...ec2Tags],
    "aws:ec2/vpcEndpoint:VpcEndpoint": ["ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:ModifyVpcEndpoint", "ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", ...ec2Tags],
    "aws:ec2/launchTemplate:LaunchTemplate": [
        "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplate", "ec2:DeleteLaunchTemplateVersions", "ec2:ModifyLaunchTemplate",
        "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", ...ec2Tags,
    ],
    "aws:eks/cluster:Cluster": ["eks:CreateCluster", "eks:DeleteCluster", "eks:DescribeCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion", "eks:DescribeUpdate", "eks:TagResource", "eks:UntagResource", "eks:ListTagsForResource", passRole, ...kmsUse],
    // A managed node group with a launch template: EKS launches with the caller's ec2:RunInstances (docs/FIRST-DEPLOY.md: unverified).
    "aws:eks/nodeGroup:NodeGroup": ["eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:DescribeNodegroup", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion", "eks:DescribeUpdate", "eks:TagResource", passRole, "ec2:RunInstances", "ec2:DescribeLaunchTemplateVersions"],
    "aws:eks/addon:Addon": ["eks:CreateAddon", "eks:DeleteAddon", "eks:DescribeAddon", "eks:UpdateAddon", "eks:DescribeAddonVersions", "eks:DescribeAddonConfiguration", "eks:TagResource", passRole],
    "aws:eks/accessEntry:AccessEntry": ["eks:CreateAccessEntry", "eks:DeleteAccessEntry", "eks:DescribeAccessEntry", "eks:UpdateAccessEntry", "eks:ListAccessEntries", "eks:TagResource"],
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ["eks:AssociateAccessPolicy", "eks:DisassociateAccessPolicy", "eks:ListAssociatedAccessPolicies"],
    "aws:iam/role:Role": ["iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"],
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": [
        "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
    ],
    "aws:kms/key:Key": ["kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:UpdateKeyDescription", "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion"],
    "aws:kms/alias:Alias": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:ListAliases"],
    "aws:cloudwatch/logGroup:LogGroup": ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:TagLogGroup", "logs:ListTagsLogGroup"],
    // manageMasterUserPassword: RDS creates the rds!db-... secret, encrypted with our key, with the caller's rights.
    "aws:rds/instance:Instance": [
        "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:DescribeDBInstances", "rds:AddTagsToResource", "rds:RemoveTagsFromResource", "rds:ListTagsForResource",
        "rds:RestoreDBInstanceFromDBSnapshot", "rds:DescribeDBSnapshots", "rds:CreateDBSnapshot", passRole, ...kmsUse,
        "secretsmanager:CreateSecret", "secretsmanager:TagResource", "kms:GenerateDataKey", "kms:Decrypt",
    ],
    "aws:rds/subnetGroup:SubnetGroup": ["rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:DescribeDBSubnetGroups", "rds:AddTagsToResource", "rds:ListTagsForResource"],
    "aws:rds/parameterGroup:ParameterGroup": ["rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:AddTagsToResource", "rds:ListTagsForResource"],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        "elasticache:CreateReplicationGroup", "elasticache:ModifyReplicationGroup", "elasticache:DeleteReplicationGroup", "elasticache:DescribeReplicationGroups", "elasticache:DescribeCacheClusters",
        "elasticache:CreateSnapshot", "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource", "elasticache:ListTagsForResource", ...kmsUse,
    ],
    "aws:elasticache/subnetGroup:SubnetGroup": ["elasticache:CreateCacheSubnetGroup", "elasticache:ModifyCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup", "elasticache:DescribeCacheSubnetGroups", "elasticache:AddTagsToResource", "elasticache:ListTagsForResource"],
    "aws:secretsmanager/secret:Secret": ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:RestoreSecret", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource", "kms:DescribeKey"],
    "aws:secretsmanager/secretVersion:SecretVersion": ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds", "secretsmanager:DescribeSecret", "kms:GenerateDataKey", "kms:Decrypt"],
    "aws:ecr/repository:Repository": ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:TagResource", "ecr:UntagResource", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", ...kmsUse],
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ["ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy"],
    "aws:s3/bucket:Bucket": ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging", ...s3Read],
    "aws:s3/bucketVersioning:BucketVersioning": ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
    "aws:s3/bucketPolicy:BucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ["s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"],
    // A vault: Backup mounts its storage with the caller's backup-storage:MountCapsule.
    "aws:backup/vault:Vault": ["backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:DescribeBackupVault", "backup:TagResource", "backup:UntagResource", "backup:ListTags", "backup-storage:MountCapsule", ...kmsUse],
    "aws:backup/plan:Plan": ["backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupPlan", "backup:GetBackupPlan", "backup:TagResource", "backup:ListTags"],
    "aws:backup/selection:Selection": ["backup:CreateBackupSelection", "backup:DeleteBackupSelection", "backup:GetBackupSelection", passRole],
    "aws:route53/record:Record": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange", "route53:GetHostedZone"],
};

/**
 * The AWS resources a remote component creates in its own provider (the mock
 * engine records the component, not its children). eks:index:Cluster, as
 * components/cluster.ts configures it, in pulumi/pulumi-eks v4.3.0
 * nodejs/eks/cluster/cluster.ts: the cluster, its service role and policy
 * attachment (ServiceRole), the cluster and node security groups and their
 * rules (nodes/securitygroup.ts), the OIDC provider (createOidcProvider), and
 * the access entries (cluster/authenticationMode.ts). No default node group,
 * instance role, VPC CNI add-on (useDefaultVpcCni) or aws-auth ConfigMap.
 */
export const REMOTE_CHILDREN: Readonly<Record<string, readonly string[]>> = {
    "eks:index:Cluster": [
        "aws:eks/cluster:Cluster",
        "aws:iam/role:Role",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    ],
    // A Helm release of the cert-manager chart, in the cluster only.
    "kubernetes-cert-manager:index:CertManager": [],
};
/** The managed policy eks:index:Cluster attaches to its service role (same file, "AmazonEKSClusterPolicy"). */
const REMOTE_POLICY_ARNS = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];

/** What each lookup the program makes needs (none: answered without an AWS API call or without permissions). */
export const INVOKE_ACTIONS: Readonly<Record<string, readonly string[]>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": [], // sts:GetCallerIdentity needs no permission
    "aws:index/getRegion:getRegion": [],
    "aws:index/getPartition:getPartition": [],
    "aws:iam/getPolicyDocument:getPolicyDocument": [], // rendered locally
    "aws:index/getAvailabilityZones:getAvailabilityZones": ["ec2:DescribeAvailabilityZones"],
    "aws:ecr/getRepositories:getRepositories": ["ecr:DescribeRepositories"],
    "aws:ecr/getRepository:getRepository": ["ecr:DescribeRepositories", "ecr:ListTagsForResource"],
    "aws:lb/getLoadBalancer:getLoadBalancer": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"],
    "aws:route53/getZone:getZone": ["route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:GetHostedZone", "route53:ListTagsForResource"],
    // backups.bucket=existing: HeadBucket (twice: the bucket, then its region) and GetBucketWebsite
    // (terraform-provider-aws, mirror commit 1a5174b137, internal/service/s3/bucket_data_source.go).
    "aws:s3/getBucket:getBucket": ["s3:ListBucket", "s3:GetBucketWebsite"],
    // secrets.jwtSecretRestoreVersionId: GetSecretValue of the earlier version (same provider,
    // internal/service/secretsmanager/secret_version_data_source.go), decrypted with the secrets key.
    "aws:secretsmanager/getSecretVersion:getSecretVersion": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
};

/**
 * What the deploying role calls outside the program, in the workflows' own steps, each with the step.
 * The image-scan gates (switch/scans.ts) read ECR scans with the AWS CLI and the role's credentials.
 */
const WORKFLOW_ACTIONS: Readonly<Record<string, string>> = {
    "ecr:DescribeImageScanFindings": 'deploy.yml\'s "Image scans" step (npm run scan-check) and switch.yml\'s npm run switch read the ECR scans of the images about to take traffic',
};

/** Patterns the policy grants beyond the exact actions above, each with its reason. */
const WIDER: Readonly<Record<string, string>> = {
    "ec2:Describe*": "read-only; the provider's reads span many Describe calls (attributes, rules, prefix lists, zones)",
    "s3:GetBucket*": "read-only, on candlefish-* buckets only; the provider reads every bucket sub-configuration",
    "s3:PutBucket*": "on candlefish-* buckets only; each bucket sub-configuration resource writes its own",
    "rds:Describe*": "read-only",
    "elasticache:Describe*": "read-only",
    "kms:Encrypt": "the stacks' secrets provider (awskms://alias/candlefish-pulumi, docs/FIRST-DEPLOY.md) encrypts config secrets with the deploying role; kms:Decrypt is needed anyway",
    "iam:CreateServiceLinkedRole": "first use of EKS, node groups, Auto Scaling, RDS, ElastiCache, ELB and Backup in an account creates their service-linked roles (condition: those services only)",
};

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

const policies = POLICY_FILES.map((f) => ({ file: f, text: fs.readFileSync(path.join(ROOT, f), "utf8") }));
const statements: Statement[] = policies.flatMap((p) => (JSON.parse(p.text).Statement as Statement[]));
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");
const allows = (action: string) => statements.filter((s) => s.Effect === "Allow" && list(s.Action).some((a) => glob(a).test(action)));

/** Every AWS type and lookup in production and staging, in the variants that add some (a restore, a DR copy, the platform phase, a JWT restore, an existing bucket). */
async function declared(): Promise<{ types: Set<string>; invokes: Set<string>; renders: Rendered[] }> {
    const invokes = new Set<string>();
    const call = mocks.call;
    mocks.call = (args: pulumi.runtime.MockCallArgs) => {
        invokes.add(args.token);
        return call.call(mocks, args);
    };
    const renders: Rendered[] = [];
    try {
        renders.push(await renderStack("production"));
        renders.push(await renderStack("staging"));
        renders.push(await renderStack("production", ["database.restoreFromSnapshot=candlefish-pre-migration-0042", "backups.copyToRegion=us-west-2"]));
        renders.push(await renderStack("staging", ["bootstrap.phase=platform"]));
        // A JWT secret restored from an earlier version, a backup bucket used as it is.
        renders.push(
            await renderStack("staging", [
                "secrets.jwtSecretRestoreVersionId=0b3d2f4e-1c5a-4e7b-9f60-8a1d2c3b4e5f",
                "backups.bucket=existing",
                "backups.bucketName=candlefish-backups",
            ]),
        );
    } finally {
        mocks.call = call;
    }
    const types = new Set<string>();
    for (const r of renders)
        for (const x of r.resources) {
            if (x.type.startsWith("aws:") && !x.read) types.add(x.type);
            for (const child of REMOTE_CHILDREN[x.type] ?? []) types.add(child);
            if (x.remote && !(x.type in REMOTE_CHILDREN)) types.add(`unmapped remote component ${x.type}`);
        }
    types.delete("pulumi:providers:aws");
    return { types, invokes: new Set([...invokes].filter((t) => t.startsWith("aws:"))), renders };
}

describe("the deploying role's IAM policy (docs/iam/) covers what the program declares", function () {
    this.timeout(120000);
    let d: Awaited<ReturnType<typeof declared>>;
    before(async () => {
        d = await declared();
    });

    it("two customer managed policies, each valid JSON within AWS's 6,144-character limit, no wildcard service grants", () => {
        for (const p of policies) {
            const doc = JSON.parse(p.text);
            assert.equal(doc.Version, "2012-10-17", p.file);
            assert.equal(JSON.stringify(doc).replace(/\s/g, "").length <= MANAGED_POLICY_MAX_CHARS, true, `${p.file}: over ${MANAGED_POLICY_MAX_CHARS} characters`);
            for (const s of doc.Statement as Statement[]) {
                assert.equal(s.Effect, "Allow", `${p.file} ${s.Sid}`);
                for (const a of list(s.Action)) assert.doesNotMatch(a, /^(\*|[a-z0-9-]+:\*)$/, `${p.file} ${s.Sid}: ${a} grants a whole service`);
            }
        }
        assert.equal(new Set(statements.map((s) => s.Sid)).size, statements.length, "Sids are unique");
    });

    it("every AWS resource type the program declares (and pulumi-eks creates for it) is mapped", () => {
        const unmapped = [...d.types].filter((t) => !(t in TYPE_ACTIONS)).sort();
        assert.deepEqual(unmapped, [], "map these in TYPE_ACTIONS (test/iam-policy.test.ts) and allow their actions in docs/iam/");
        // The check has teeth: it sees the types, including the remote component's children.
        for (const t of ["aws:rds/instance:Instance", "aws:eks/cluster:Cluster", "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:backup/vault:Vault"]) assert.ok(d.types.has(t), t);
    });

    it("every AWS lookup the program makes is mapped", () => {
        const unmapped = [...d.invokes].filter((t) => !(t in INVOKE_ACTIONS)).sort();
        assert.deepEqual(unmapped, [], "map these in INVOKE_ACTIONS (test/iam-policy.test.ts)");
        assert.ok(d.invokes.has("aws:ecr/getRepositories:getRepositories"));
    });

    it("the policy allows every action those types and lookups need", () => {
        const needed = new Set([...[...d.types].flatMap((t) => TYPE_ACTIONS[t] ?? []), ...[...d.invokes].flatMap((t) => INVOKE_ACTIONS[t] ?? []), ...Object.keys(WORKFLOW_ACTIONS)]);
        const missing = [...needed].filter((a) => allows(a).length === 0).sort();
        assert.deepEqual(missing, []);
    });

    it("and nothing else: every action the policy grants is needed by a declared type or lookup, or is listed with its reason", () => {
        const needed = [...new Set([...Object.values(TYPE_ACTIONS).flat(), ...Object.values(INVOKE_ACTIONS).flat(), ...Object.keys(WORKFLOW_ACTIONS)])];
        const granted = statements.flatMap((s) => list(s.Action));
        const spare = granted.filter((g) => !(g in WIDER) && !needed.some((a) => glob(g).test(a)));
        assert.deepEqual(spare, []);
        for (const w of Object.keys(WIDER)) assert.ok(granted.includes(w), `WIDER lists ${w}, which the policy no longer grants`);
    });

    it("the image-scan gates may read the scans of every service repository the program creates (ecr:DescribeImageScanFindings), and the workflows still run them", () => {
        const repos = d.renders.flatMap((r) => ofType(r, "aws:ecr/repository:Repository").map((x) => inputs(x).name as string));
        assert.ok(repos.includes("rtpm-api"), repos.join(", "));
        for (const repo of repos) {
            const arn = `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`;
            const grants = allows("ecr:DescribeImageScanFindings").filter((s) => list(s.Resource).some((r) => glob(r).test(arn)));
            assert.ok(grants.length > 0, `no statement allows ecr:DescribeImageScanFindings on ${arn}`);
        }
        // The reason in WORKFLOW_ACTIONS stays true: both workflows read the scans.
        assert.match(fs.readFileSync(path.join(ROOT, ".github/workflows/deploy.yml"), "utf8"), /npm run --silent scan-check -- --stack production/);
        assert.match(fs.readFileSync(path.join(ROOT, ".github/workflows/switch.yml"), "utf8"), /npm run --silent switch -- /);
    });

    it("IAM is scoped to what the program names: roles candlefish*, the cluster's OIDC provider, the managed policies it attaches", () => {
        const roleScoped = statements.filter((s) => list(s.Action).some((a) => /^iam:(CreateRole|PassRole|PutRolePolicy|AttachRolePolicy)$/.test(a)));
        for (const s of roleScoped) assert.deepEqual(list(s.Resource), ["arn:aws:iam::*:role/candlefish*"], s.Sid);
        // Every role the program names, or lets Pulumi name after its logical name, starts with candlefish.
        for (const r of d.renders)
            for (const role of ofType(r, "aws:iam/role:Role")) assert.match(inputs(role).name ?? role.name, /^candlefish/, role.name);
        // eks:index:Cluster names its service role after the cluster: <cluster>-eksRole-<suffix>.
        assert.ok(d.renders.every((r) => ofType(r, "eks:index:Cluster").every((c) => /^candlefish/.test(c.name))));
        const attach = statements.find((s) => list(s.Action).includes("iam:AttachRolePolicy"))!;
        const allowedArns = list(attach.Condition!.ArnEquals["iam:PolicyARN"]).sort();
        const attached = new Set([...REMOTE_POLICY_ARNS, ...d.renders.flatMap((r) => ofType(r, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => inputs(a).policyArn as string))]);
        assert.deepEqual(allowedArns, [...attached].sort(), "iam:AttachRolePolicy is limited to exactly the managed policies the program attaches");
        const oidc = statements.find((s) => list(s.Action).includes("iam:CreateOpenIDConnectProvider"))!;
        assert.deepEqual(list(oidc.Resource), ["arn:aws:iam::*:oidc-provider/oidc.eks.*.amazonaws.com/id/*"]);
    });

    it("secrets and buckets are scoped to the program's names (candlefish/..., RDS's rds!..., candlefish-*)", () => {
        const secrets = statements.find((s) => list(s.Action).includes("secretsmanager:CreateSecret"))!;
        const patterns = list(secrets.Resource).map((r) => glob(r));
        for (const r of d.renders)
            for (const sec of ofType(r, "aws:secretsmanager/secret:Secret")) {
                const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${inputs(sec).name}-AbCdEf`;
                assert.ok(patterns.some((p) => p.test(arn)), arn);
            }
        assert.ok(patterns.some((p) => p.test("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-abcd")), "the RDS-managed master secret");
        const s3 = statements.filter((s) => list(s.Action).some((a) => a.startsWith("s3:")));
        for (const s of s3) assert.deepEqual(list(s.Resource), ["arn:aws:s3:::candlefish-*"], s.Sid);
        for (const r of d.renders) for (const b of ofType(r, "aws:s3/bucket:Bucket")) assert.match(inputs(b).bucket, /^candlefish-/);
    });
});
