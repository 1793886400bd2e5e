// The one mocks module: what "the cloud" answers when the program runs under
// Pulumi's mock runtime, for the offline plan and for every test.
//
// Resources echo their inputs and add the outputs the program reads
// (ARNs, endpoints, repository URLs, the EKS kubeconfig). Values are stable so
// that two renders of the same config are byte-identical and diffs show only
// what an edit changed.
import * as pulumi from "@pulumi/pulumi";

export const MOCK_ACCOUNT = "123456789012";
/** The region of an answer when no AWS provider names one (the runbook's, as the stack files set it). */
export const MOCK_REGION = "us-east-1";
export const MOCK_AZS = ["us-east-1a", "us-east-1b", "us-east-1c"];

type State = Record<string, unknown>;
type Outputs = (name: string, inputs: State, region: string) => State;

// Answers follow the region of the AWS provider a resource or an invoke goes
// through (the program's explicit provider, platforms/aws.ts), so a render with
// another aws:region shows that region in every ARN, endpoint and zone.
const providerRegions = new Map<string, string>();
let lastProviderRegion = MOCK_REGION;
/**
 * The zones getAvailabilityZones answers per region: `<region>a..c` unless a
 * test sets others here (a region that offers fewer zones, say). Cleared by
 * nobody but the test that sets it.
 */
export const mockZones = new Map<string, readonly string[]>();
/** Forgets the providers of the last render (plan/render.ts calls it before each render). */
export function resetMockRegions(): void {
    providerRegions.clear();
    lastProviderRegion = MOCK_REGION;
}
/** A per-resource `region` input (aws v7), else the region of the provider reference (`<urn>::<id>`), else the last AWS provider's. */
function regionOf(provider: string | undefined, inputs: State | undefined): string {
    if (typeof inputs?.region === "string" && inputs.region) return inputs.region;
    const id = provider ? provider.slice(provider.lastIndexOf("::") + 2) : undefined;
    return (id && providerRegions.get(id)) || lastProviderRegion;
}
/** The mocks' zone ids: `<region>-az<n>` (AWS's real ids differ, e.g. use1-az1; nothing reads them). */
const zonesOf = (region: string) => mockZones.get(region) ?? ["a", "b", "c"].map((l) => `${region}${l}`);

const arnIn = (region: string) => (service: string, resource: string) => `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${resource}`;

/** Per-type computed outputs. Everything else echoes inputs plus an ARN. */
const OUTPUTS: Record<string, Outputs> = {
    "aws:ecr/repository:Repository": (name, i, region) => ({
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${i.name ?? name}`,
        arn: arnIn(region)("ecr", `repository/${i.name ?? name}`),
        registryId: MOCK_ACCOUNT,
    }),
    "aws:rds/instance:Instance": (name, i, region) => ({
        address: `${i.identifier ?? name}.abcdefghijkl.${region}.rds.amazonaws.com`,
        endpoint: `${i.identifier ?? name}.abcdefghijkl.${region}.rds.amazonaws.com:${i.port ?? 5432}`,
        port: i.port ?? 5432,
        arn: arnIn(region)("rds", `db:${i.identifier ?? name}`),
        resourceId: `db-${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
        masterUserSecrets: [{ secretArn: arnIn(region)("secretsmanager", `secret:rds!db-${name}`), kmsKeyId: i.masterUserSecretKmsKeyId ?? "", secretStatus: "active" }],
    }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (name, i, region) => ({
        // ElastiCache endpoints carry a short region code (use1 for us-east-1); elsewhere the mocks use the region's name.
        primaryEndpointAddress: `master.${i.replicationGroupId ?? name}.abcdef.${region === MOCK_REGION ? "use1" : region}.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${i.replicationGroupId ?? name}.abcdef.${region === MOCK_REGION ? "use1" : region}.cache.amazonaws.com`,
        arn: arnIn(region)("elasticache", `replicationgroup:${i.replicationGroupId ?? name}`),
    }),
    "aws:s3/bucket:Bucket": (name, i, region) => ({
        bucket: i.bucket ?? name,
        arn: `arn:aws:s3:::${i.bucket ?? name}`,
        bucketRegionalDomainName: `${i.bucket ?? name}.s3.${region}.amazonaws.com`,
    }),
    "aws:s3/bucketV2:BucketV2": (name, i) => ({ bucket: i.bucket ?? name, arn: `arn:aws:s3:::${i.bucket ?? name}` }),
    "aws:kms/key:Key": (name, _i, region) => ({ arn: arnIn(region)("kms", `key/${name}`), keyId: `key-${name}` }),
    "aws:secretsmanager/secret:Secret": (name, i, region) => ({ arn: arnIn(region)("secretsmanager", `secret:${i.name ?? name}-AbCdEf`) }),
    "aws:iam/role:Role": (name, i) => ({ arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${i.name ?? name}`, name: i.name ?? name }),
    "aws:iam/policy:Policy": (name, i) => ({ arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${i.name ?? name}` }),
    "aws:ec2/vpc:Vpc": (name, _i, region) => ({ arn: arnIn(region)("ec2", `vpc/vpc-${name}`), defaultSecurityGroupId: `sg-default-${name}` }),
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
    "eks:index:Cluster": (name, i, region) => mockEksCluster(name, i, region),
    "aws:ec2/launchTemplate:LaunchTemplate": (name) => ({ id: `lt-${name}`, latestVersion: 1, defaultVersion: 1 }),
    "aws:eks/nodeGroup:NodeGroup": (name, i, region) => ({ arn: arnIn(region)("eks", `nodegroup/${i.clusterName}/${i.nodeGroupName ?? name}`), status: "ACTIVE" }),
    "aws:eks/addon:Addon": (name, i, region) => ({ arn: arnIn(region)("eks", `addon/${i.clusterName}/${i.addonName}`), addonVersion: "v0.0.0-eksbuild.1" }),
    "aws:cloudwatch/logGroup:LogGroup": (name, i, region) => ({ arn: arnIn(region)("logs", `log-group:${i.name ?? name}`) }),
};

/**
 * A kubeconfig that @pulumi/kubernetes accepts; it points nowhere. Its exec
 * args name the region as @pulumi/eks 4.3.0's generateKubeconfig does, first, taken
 * from the cluster's ARN (nodejs/eks/cluster/cluster.ts, lines 203-216 and 852).
 */
export function mockKubeconfig(clusterName: string, region: string = MOCK_REGION): object {
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: `https://${clusterName}.gr7.${region}.eks.amazonaws.com`, "certificate-authority-data": "LS0tLS1CRUdJTi0tLS0t" } }],
        contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
        "current-context": "aws",
        users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["--region", region, "eks", "get-token", "--cluster-name", clusterName] } } }],
    };
}

function mockEksCluster(name: string, i: State, region: string): State {
    const arn = arnIn(region);
    const clusterName = (i.name as string) ?? name;
    const kubeconfig = mockKubeconfig(clusterName, region);
    const oidcIssuer = `https://oidc.eks.${region}.amazonaws.com/id/MOCK${clusterName.length}`;
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
            endpoint: `https://${clusterName}.gr7.${region}.eks.amazonaws.com`,
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
const CALLS: Record<string, (inputs: State, region: string) => State> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "MOCK" }),
    "aws:index/getRegion:getRegion": (_i, region) => ({ name: region, region, id: region }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": (_i, region) => {
        const names = zonesOf(region);
        return { names, zoneIds: names.map((_, n) => `${region}-az${n + 1}`), id: region };
    },
    // The account's repositories before this update (the bootstrap check, platforms/aws.ts).
    "aws:ecr/getRepositories:getRepositories": (_i, region) => ({ names: repositoriesInAccount(), id: region, region }),
    "aws:ecr/getRepository:getRepository": (i, region) => ({
        name: i.name,
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${i.name}`,
        arn: arnIn(region)("ecr", `repository/${i.name}`),
    }),
    // The ingress NLB, found by its candlefish.ai/ingress tag (components/ingress.ts).
    "aws:lb/getLoadBalancer:getLoadBalancer": (i, region) => ({
        arn: arnIn(region)("elasticloadbalancing", "loadbalancer/net/ingress-nginx/0123456789abcdef"),
        dnsName: `ingress-nginx-0123456789abcdef.elb.${region}.amazonaws.com`,
        zoneId: "Z26RNL4JYFTOTI",
        loadBalancerType: "network",
        tags: i.tags,
    }),
    // A zone looked up by name answers ZMOCK<length of the name>; by id, that id (with the name the test gave: candlefish.ai).
    "aws:route53/getZone:getZone": (i) =>
        i.zoneId
            ? { zoneId: i.zoneId, id: i.zoneId, name: i.name ?? "candlefish.ai", nameServers: ["ns-2.awsdns-02.net"] }
            : { zoneId: `ZMOCK${String(i.name ?? "").length}`, id: `ZMOCK${String(i.name ?? "").length}`, name: i.name, nameServers: ["ns-2.awsdns-02.net"] },
    "aws:s3/getBucket:getBucket": (i, region) => ({ bucket: i.bucket, id: i.bucket, arn: `arn:aws:s3:::${i.bucket}`, region }),
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

/**
 * The ECR repositories the mock account already has. By default, one per
 * service the stack configures (a running account: every render but a first
 * deploy's, so `plan` renders in this world); a test of the first deploy sets
 * the list, e.g. none.
 */
let existingRepositories: readonly string[] | undefined;
export function setExistingRepositories(names: readonly string[] | undefined): void {
    existingRepositories = names;
}
function repositoriesInAccount(): string[] {
    if (existingRepositories) return [...existingRepositories];
    const services = pulumi.runtime.allConfig()["candlefish-maturity-map:services"];
    try {
        return Object.keys(JSON.parse(services ?? "{}"));
    } catch {
        return [];
    }
}

export const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } {
        if (args.type === "pulumi:pulumi:StackReference") {
            return { id: args.id || args.name, state: { name: args.inputs.name, outputs: previousOutputs, secretOutputNames: [] } };
        }
        const id = args.id || `${args.name}-id`;
        if (args.type === "pulumi:providers:aws" && typeof args.inputs.region === "string") {
            providerRegions.set(id, args.inputs.region);
            lastProviderRegion = args.inputs.region;
        }
        const region = regionOf(args.provider, args.inputs);
        const extra = OUTPUTS[args.type]?.(args.name, args.inputs, region) ?? {};
        return { id, state: { arn: arnIn(region)("mock", `${args.type}/${args.name}`), ...args.inputs, ...extra } };
    },
    call(args: pulumi.runtime.MockCallArgs): State {
        const fn = CALLS[args.token];
        return fn ? fn(args.inputs, regionOf(args.provider, undefined)) : args.inputs;
    },
};
