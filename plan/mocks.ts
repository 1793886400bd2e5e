// The one mocks module: what "the cloud" answers when the program runs under
// Pulumi's mock runtime, for the offline plan and for every test.
//
// Resources echo their inputs and add the outputs the program reads
// (ARNs, endpoints, repository URLs, the EKS kubeconfig). Values are stable so
// that two renders of the same config are byte-identical and diffs show only
// what an edit changed.
import * as pulumi from "@pulumi/pulumi";

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "us-east-1";
export const MOCK_AZS = ["us-east-1a", "us-east-1b", "us-east-1c"];

type State = Record<string, unknown>;
type Outputs = (name: string, inputs: State) => State;

const arn = (service: string, resource: string) => `arn:aws:${service}:${MOCK_REGION}:${MOCK_ACCOUNT}:${resource}`;

/** Per-type computed outputs. Everything else echoes inputs plus an ARN. */
const OUTPUTS: Record<string, Outputs> = {
    "aws:ecr/repository:Repository": (name, i) => ({
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${i.name ?? name}`,
        arn: arn("ecr", `repository/${i.name ?? name}`),
        registryId: MOCK_ACCOUNT,
    }),
    "aws:rds/instance:Instance": (name, i) => ({
        address: `${i.identifier ?? name}.abcdefghijkl.${MOCK_REGION}.rds.amazonaws.com`,
        endpoint: `${i.identifier ?? name}.abcdefghijkl.${MOCK_REGION}.rds.amazonaws.com:${i.port ?? 5432}`,
        port: i.port ?? 5432,
        arn: arn("rds", `db:${i.identifier ?? name}`),
        resourceId: `db-${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
        masterUserSecrets: [{ secretArn: arn("secretsmanager", `secret:rds!db-${name}`), kmsKeyId: i.masterUserSecretKmsKeyId ?? "", secretStatus: "active" }],
    }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (name, i) => ({
        primaryEndpointAddress: `master.${i.replicationGroupId ?? name}.abcdef.use1.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${i.replicationGroupId ?? name}.abcdef.use1.cache.amazonaws.com`,
        arn: arn("elasticache", `replicationgroup:${i.replicationGroupId ?? name}`),
    }),
    "aws:s3/bucket:Bucket": (name, i) => ({
        bucket: i.bucket ?? name,
        arn: `arn:aws:s3:::${i.bucket ?? name}`,
        bucketRegionalDomainName: `${i.bucket ?? name}.s3.${MOCK_REGION}.amazonaws.com`,
    }),
    "aws:s3/bucketV2:BucketV2": (name, i) => ({ bucket: i.bucket ?? name, arn: `arn:aws:s3:::${i.bucket ?? name}` }),
    "aws:kms/key:Key": (name) => ({ arn: arn("kms", `key/${name}`), keyId: `key-${name}` }),
    "aws:secretsmanager/secret:Secret": (name, i) => ({ arn: arn("secretsmanager", `secret:${i.name ?? name}-AbCdEf`) }),
    "aws:iam/role:Role": (name, i) => ({ arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${i.name ?? name}`, name: i.name ?? name }),
    "aws:iam/policy:Policy": (name, i) => ({ arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${i.name ?? name}` }),
    "aws:ec2/vpc:Vpc": (name) => ({ arn: arn("ec2", `vpc/vpc-${name}`), defaultSecurityGroupId: `sg-default-${name}` }),
    "aws:route53/zone:Zone": (name) => ({ zoneId: `Z${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`, nameServers: ["ns-1.awsdns-01.org"] }),
    // A new value is a new version (AWS mints a fresh VersionId); same value, same id.
    "aws:secretsmanager/secretVersion:SecretVersion": (_name, i) => ({
        versionId: `v-${[...JSON.stringify(i.secretString ?? "")].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261).toString(16)}`,
    }),
    // Keepers model rotation: a changed keeper replaces the password, so the value changes too.
    "random:index/randomPassword:RandomPassword": (name, i) => ({
        result: `mock-password-${name}${i.keepers ? `-${[...JSON.stringify(i.keepers)].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261).toString(16)}` : ""}`,
    }),
    "random:index/randomId:RandomId": (name) => ({ hex: `0123abcd${name.length}`, b64Url: `ASOrzQ${name.length}` }),
    "eks:index:Cluster": (name, i) => mockEksCluster(name, i),
    "aws:ec2/launchTemplate:LaunchTemplate": (name) => ({ id: `lt-${name}`, latestVersion: 1, defaultVersion: 1 }),
    "aws:eks/nodeGroup:NodeGroup": (name, i) => ({ arn: arn("eks", `nodegroup/${i.clusterName}/${i.nodeGroupName ?? name}`), status: "ACTIVE" }),
    "aws:eks/addon:Addon": (name, i) => ({ arn: arn("eks", `addon/${i.clusterName}/${i.addonName}`), addonVersion: "v0.0.0-eksbuild.1" }),
    "aws:cloudwatch/logGroup:LogGroup": (name, i) => ({ arn: arn("logs", `log-group:${i.name ?? name}`) }),
};

/** A kubeconfig that @pulumi/kubernetes accepts; it points nowhere. */
export function mockKubeconfig(clusterName: string): object {
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: `https://${clusterName}.gr7.${MOCK_REGION}.eks.amazonaws.com`, "certificate-authority-data": "LS0tLS1CRUdJTi0tLS0t" } }],
        contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
        "current-context": "aws",
        users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName] } } }],
    };
}

function mockEksCluster(name: string, i: State): State {
    const clusterName = (i.name as string) ?? name;
    const kubeconfig = mockKubeconfig(clusterName);
    const oidcIssuer = `https://oidc.eks.${MOCK_REGION}.amazonaws.com/id/MOCK${clusterName.length}`;
    return {
        kubeconfig,
        kubeconfigJson: JSON.stringify(kubeconfig),
        eksCluster: {
            name: clusterName,
            arn: arn("eks", `cluster/${clusterName}`),
            version: i.version,
            identities: [{ oidcs: [{ issuer: oidcIssuer }] }],
            vpcConfig: { clusterSecurityGroupId: `sg-cluster-${name}` },
            certificateAuthority: { data: "LS0tLS1CRUdJTi0tLS0t" },
            endpoint: `https://${clusterName}.gr7.${MOCK_REGION}.eks.amazonaws.com`,
        },
        clusterSecurityGroupId: `sg-cluster-${name}`,
        nodeSecurityGroupId: `sg-nodes-${name}`,
        oidcProviderArn: `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/${oidcIssuer.slice("https://".length)}`,
        // As in the .d.ts: oidcProviderUrl is the issuer URL, oidcIssuer the same without https://.
        oidcProviderUrl: oidcIssuer,
        oidcIssuer: oidcIssuer.slice("https://".length),
        core: { cluster: { name: clusterName } },
        // The remaining scalar outputs of eks.Cluster (cluster.d.ts), as a cluster without
        // a default node group, Fargate or Auto Mode reports them.
        clusterIngressRuleId: `sgrule-${name}`,
        defaultNodeGroupAsgName: "",
        fargateProfileId: "",
        fargateProfileStatus: "",
        autoModeNodeRoleName: "",
    };
}

/** Invokes (data sources) the program makes. */
const CALLS: Record<string, (inputs: State) => State> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "MOCK" }),
    "aws:index/getRegion:getRegion": () => ({ name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({ names: MOCK_AZS, zoneIds: ["use1-az1", "use1-az2", "use1-az4"] }),
    "aws:ecr/getRepository:getRepository": (i) => ({
        name: i.name,
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${i.name}`,
        arn: arn("ecr", `repository/${i.name}`),
    }),
    // The ingress NLB, found by its candlefish.ai/ingress tag (components/ingress.ts).
    "aws:lb/getLoadBalancer:getLoadBalancer": (i) => ({
        arn: arn("elasticloadbalancing", "loadbalancer/net/ingress-nginx/0123456789abcdef"),
        dnsName: "ingress-nginx-0123456789abcdef.elb.us-east-1.amazonaws.com",
        zoneId: "Z26RNL4JYFTOTI",
        loadBalancerType: "network",
        tags: i.tags,
    }),
    "aws:route53/getZone:getZone": (i) => ({ zoneId: `ZMOCK${String(i.name ?? "").length}`, name: i.name }),
    // An earlier version of a secret (secrets.jwtSecretRestoreVersionId): its value names the version read.
    "aws:secretsmanager/getSecretVersion:getSecretVersion": (i) => ({
        secretId: i.secretId,
        versionId: i.versionId,
        secretString: JSON.stringify({ "jwt-secret": `restored-${i.versionId}` }),
    }),
    "aws:iam/getPolicyDocument:getPolicyDocument": (i) => ({ json: JSON.stringify({ Version: "2012-10-17", Statement: i.statements ?? [] }) }),
};

/**
 * The outputs of the stack's last deployment, as a StackReference to the stack
 * itself reads them (config/previous.ts). None by default: a first deploy.
 * `plan --diff` sets the base render's outputs here before rendering the edit.
 */
let previousOutputs: Record<string, unknown> = {};
export function setPreviousOutputs(outputs: Record<string, unknown> | undefined): void {
    previousOutputs = outputs ?? {};
}

export const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } {
        if (args.type === "pulumi:pulumi:StackReference") {
            return { id: args.id || args.name, state: { name: args.inputs.name, outputs: previousOutputs, secretOutputNames: [] } };
        }
        const extra = OUTPUTS[args.type]?.(args.name, args.inputs) ?? {};
        const id = args.id || `${args.name}-id`;
        return { id, state: { arn: arn("mock", `${args.type}/${args.name}`), ...args.inputs, ...extra } };
    },
    call(args: pulumi.runtime.MockCallArgs): State {
        const fn = CALLS[args.token];
        return fn ? fn(args.inputs) : args.inputs;
    },
};
