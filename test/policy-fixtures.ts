// Fixtures for the policy tests: recorded resources shaped exactly like a
// render's (plan/render.ts), so the offline evaluator wraps them the way the
// analyzer runtime does. Every builder returns a compliant resource; tests
// break one field at a time with `set`.
import { RecordedResource, ResourceOptions } from "../plan/render";
import { K8S } from "../policies/lib";

export const PROJECT = "candlefish-maturity-map";

type Opts = Partial<ResourceOptions> & { stack?: string; custom?: boolean; read?: boolean };

export function res(type: string, name: string, inputs: Record<string, unknown>, o: Opts = {}): RecordedResource {
    const { stack = "production", custom = true, read = false, ...options } = o;
    return {
        type,
        name,
        urn: `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`,
        custom,
        read,
        inputs,
        options: { protect: false, retainOnDelete: false, parent: null, dependsOn: [], provider: null, ignoreChanges: [], deleteBeforeReplace: false, ...options },
    };
}

/** A copy of `r` with `path` ("a.b.0.c") set to `value` (undefined deletes it). */
export function set(r: RecordedResource, path: string, value: unknown): RecordedResource {
    const inputs = structuredClone(r.inputs) as any;
    const parts = path.split(".");
    let o = inputs;
    for (const p of parts.slice(0, -1)) {
        if (o[p] === undefined) o[p] = {};
        o = o[p];
    }
    const last = parts[parts.length - 1];
    if (value === undefined) delete o[last];
    else o[last] = value;
    return { ...r, inputs };
}

export function withOptions(r: RecordedResource, options: Partial<ResourceOptions>): RecordedResource {
    return { ...r, options: { ...r.options, ...options } };
}

export const KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/k";

// ----------------------------------------------------------------------- AWS

export const eksCluster = (o: Opts = {}) =>
    res(
        "eks:index:Cluster",
        "eks",
        {
            name: "candlefish-maturity-map-production-eks",
            version: "1.31",
            endpointPrivateAccess: true,
            endpointPublicAccess: false,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            encryptionConfigKeyArn: KMS_ARN,
            skipDefaultNodeGroup: true,
        },
        { custom: false, ...o },
    );

export const awsEksCluster = (o: Opts = {}) =>
    res(
        "aws:eks/cluster:Cluster",
        "eks-cluster",
        {
            version: "1.31",
            vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: false, subnetIds: ["a", "b"] },
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            encryptionConfig: { resources: ["secrets"], provider: { keyArn: KMS_ARN } },
        },
        o,
    );

export const launchTemplate = () => res("aws:ec2/launchTemplate:LaunchTemplate", "nodes", { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } });
export const ec2Instance = () => res("aws:ec2/instance:Instance", "bastion", { ami: "ami-1", metadataOptions: { httpTokens: "required" } });
export const managedNodeGroup = () => res("eks:index:ManagedNodeGroup", "general", { enableIMDSv2: true, instanceTypes: ["m6i.xlarge"] }, { custom: false });

export const vpc = () => res("aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.0.0.0/16" });
export const defaultSg = () => res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg", { vpcId: "vpc-id", ingress: [], egress: [] });
export const flowLog = () => res("aws:ec2/flowLog:FlowLog", "flow-log", { vpcId: "vpc-id", trafficType: "ALL", logDestinationType: "cloud-watch-logs" });

export const rds = (o: Opts = {}) =>
    res(
        "aws:rds/instance:Instance",
        "db",
        {
            engine: "postgres",
            engineVersion: "16",
            publiclyAccessible: false,
            storageEncrypted: true,
            kmsKeyId: KMS_ARN,
            multiAz: true,
            deletionProtection: true,
            enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
            backupRetentionPeriod: 14,
            autoMinorVersionUpgrade: true,
            copyTagsToSnapshot: true,
            iamDatabaseAuthenticationEnabled: true,
            skipFinalSnapshot: false,
            finalSnapshotIdentifier: "db-final",
            parameterGroupName: "candlefish-postgres16",
        },
        { protect: true, ...o },
    );

export const paramGroup = () =>
    res("aws:rds/parameterGroup:ParameterGroup", "pg", {
        family: "postgres16",
        parameters: [
            { name: "rds.force_ssl", value: "1" },
            { name: "log_min_duration_statement", value: "500" },
        ],
    });

export const cache = (o: Opts = {}) =>
    res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "redis",
        {
            engine: "redis",
            snapshotRetentionLimit: 7,
            autoMinorVersionUpgrade: true,
            automaticFailoverEnabled: true,
            multiAzEnabled: true,
            atRestEncryptionEnabled: true,
            kmsKeyId: KMS_ARN,
            transitEncryptionEnabled: true,
            authToken: "generated",
            subnetGroupName: "candlefish-production-redis",
        },
        { protect: true, ...o },
    );

export const repo = (name = "rtpm-api") =>
    res("aws:ecr/repository:Repository", name, { name, imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true } }, { protect: true });
export const lifecycle = (name = "rtpm-api") => res("aws:ecr/lifecyclePolicy:LifecyclePolicy", `${name}-lifecycle`, { repository: name, policy: "{}" });

/** A bucket with all four companions; mock IDs (<name>-id) link them, as in a render. */
export function bucketSet(): RecordedResource[] {
    return [
        res("aws:s3/bucket:Bucket", "backups", { bucket: "candlefish-backups" }, { protect: true }),
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-pab", {
            bucket: "backups-id",
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }),
        res("aws:s3/bucketVersioning:BucketVersioning", "backups-versioning", { bucket: "backups-id", versioningConfiguration: { status: "Enabled" } }),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-sse", {
            bucket: "backups-id",
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KMS_ARN }, bucketKeyEnabled: true }],
        }),
        res("aws:s3/bucketPolicy:BucketPolicy", "backups-policy", {
            bucket: "backups-id",
            policy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::candlefish-backups/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
            }),
        }),
    ];
}

export const secret = () => res("aws:secretsmanager/secret:Secret", "jwt", { name: "candlefish/production/jwt-secret", kmsKeyId: KMS_ARN }, { protect: true });

// ---------------------------------------------------------------- Kubernetes

export const goodPodSpec = () => ({
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
        {
            name: "app",
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/rtpm-api:v2.4.1",
            ports: [{ name: "http", containerPort: 8000 }],
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            readinessProbe: { httpGet: { path: "/api/health", port: "http" } },
            livenessProbe: { httpGet: { path: "/api/health", port: "http" } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ["ALL"] } },
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        },
    ],
    volumes: [{ name: "tmp", emptyDir: {} }],
});

export function deployment(name: string, o: { ns?: string; replicas?: number; labels?: Record<string, string>; image?: string; opts?: Opts } = {}): RecordedResource {
    const m = /^(.+)-(blue|green)$/.exec(name);
    const labels = o.labels ?? (m ? { app: m[1], version: m[2] } : { app: name });
    const pod = goodPodSpec();
    if (o.image) pod.containers[0].image = o.image;
    return res(
        K8S.Deployment,
        name,
        {
            metadata: { name, namespace: o.ns ?? "production" },
            spec: { replicas: o.replicas ?? 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } },
        },
        o.opts,
    );
}

export const cronJob = () =>
    res(K8S.CronJob, "report", {
        metadata: { name: "report", namespace: "production" },
        spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { ...goodPodSpec(), restartPolicy: "Never" } } } } },
    });

export const pdb = (name: string, labels: Record<string, string>, ns = "production") =>
    res(K8S.PodDisruptionBudget, name, { metadata: { name, namespace: ns }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } });

export const namespace = (name = "production") => res(K8S.Namespace, name, { metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } });
export const netpol = (ns = "production") =>
    res(K8S.NetworkPolicy, `${ns}-default-deny`, { metadata: { name: "default-deny-ingress", namespace: ns }, spec: { podSelector: {}, policyTypes: ["Ingress"] } });
export const netpolDenyEgress = (ns = "production") =>
    res(K8S.NetworkPolicy, `${ns}-default-deny-egress`, { metadata: { name: "default-deny-egress", namespace: ns }, spec: { podSelector: {}, policyTypes: ["Egress"] } });
/** An allow policy as components/network-policies.ts writes them: peers and ports on every rule. */
export const netpolAllow = (ns = "production", egressTo: unknown[] = [{ ipBlock: { cidr: "10.0.0.0/16" } }]) =>
    res(K8S.NetworkPolicy, `allow-api-${ns}`, {
        metadata: { name: "allow-api", namespace: ns },
        spec: {
            podSelector: { matchLabels: { app: "api" } },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } } }], ports: [{ protocol: "TCP", port: 8000 }] }],
            egress: [{ to: egressTo, ports: [{ protocol: "TCP", port: 5432 }] }],
        },
    });
/** An IAM role an AWS service assumes, with the confused-deputy guard. */
export const serviceRole = (service = "backup.amazonaws.com", condition: unknown = { StringEquals: { "aws:SourceAccount": "123456789012" } }) =>
    res("aws:iam/role:Role", "service-role", {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }],
        }),
    });

export const ingress = () =>
    res(K8S.Ingress, "candlefish", {
        metadata: { name: "candlefish", namespace: "production" },
        spec: {
            ingressClassName: "nginx",
            tls: [{ hosts: ["candlefish.ai", "*.candlefish.ai"], secretName: "candlefish-ai-tls" }],
            rules: [
                { host: "candlefish.ai", http: { paths: [] } },
                { host: "rtpm-api.candlefish.ai", http: { paths: [] } },
            ],
        },
    });

export interface BlueGreenOptions {
    name?: string;
    ns?: string;
    live?: "blue" | "green";
    replicas?: { blue: number; green: number };
    tags?: { blue: string; green: string };
    dependsOn?: boolean;
}

/** The promotion gate's resource type (components/promotion-gate.ts). */
export const GATE_TYPE = "pulumi-nodejs:dynamic/candlefish:Resource";

/** One BlueGreenService as it renders: two Deployments, two PDBs, the promotion gate, the live and preview Services. */
export function blueGreen(o: BlueGreenOptions = {}): RecordedResource[] {
    const name = o.name ?? "rtpm-api";
    const ns = o.ns ?? "production";
    const live = o.live ?? "blue";
    const prev = live === "blue" ? "green" : "blue";
    const replicas = o.replicas ?? { blue: 2, green: 2 };
    const tags = o.tags ?? { blue: "v2.4.1", green: "v2.4.0" };
    const service = (svcName: string, color: string, dependsOn: string[]) =>
        res(
            K8S.Service,
            svcName,
            { metadata: { name: svcName, namespace: ns }, spec: { type: "ClusterIP", selector: { app: name, version: color }, ports: [{ port: 80, targetPort: "http" }] } },
            { dependsOn },
        );
    return [
        ...(["blue", "green"] as const).flatMap((c) => [
            deployment(`${name}-${c}`, { ns, replicas: replicas[c], image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}:${tags[c]}` }),
            pdb(`${name}-${c}`, { app: name, version: c }, ns),
        ]),
        res(GATE_TYPE, `${name}-gate-${live}`, { service: name, color: live, deployment: `${name}-${live}` }, { dependsOn: [`${K8S.Deployment}::${name}-${live}`] }),
        service(`${name}-service`, live, o.dependsOn === false ? [] : [`${K8S.Deployment}::${name}-${live}`, `${GATE_TYPE}::${name}-gate-${live}`]),
        service(`${name}-preview`, prev, []),
    ];
}

/** Replaces the resource of `type` named `name` in `rs`. */
export function replace(rs: RecordedResource[], type: string, name: string, f: (r: RecordedResource) => RecordedResource): RecordedResource[] {
    let hit = false;
    const out = rs.map((r) => (r.type === type && r.name === name ? ((hit = true), f(r)) : r));
    if (!hit) throw new Error(`fixture has no ${type} ${name}`);
    return out;
}
