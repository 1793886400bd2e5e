// Cluster: the EKS cluster the runbook's kubectl commands talk to
// (`aws eks update-kubeconfig --region us-east-1 --name
// candlefish-maturity-map-<stack>-eks`), its managed node groups, the EKS
// managed add-ons, gp3 as the default StorageClass, and the Kubernetes
// provider every in-cluster resource uses.
//
// The control plane comes from @pulumi/eks (a remote component); node groups,
// launch templates, IAM and add-ons are plain @pulumi/aws resources so that
// their security settings are visible to tests and policies.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import { DeployRunnerConfig, EksVersion, NodeGroupConfig, isArm } from "../config/aws";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";

/** A managed node group as config `cluster.nodeGroups` declares it; the EKS node group is `<cluster>-<name>`. */
export type ClusterNodeGroupArgs = NodeGroupConfig;

export interface ClusterArgs {
    /** The EKS cluster's physical name, fixed: `candlefish-maturity-map-<stack>-eks`. */
    readonly clusterName: string;
    /** Kubernetes minor version, e.g. "1.33". */
    readonly version: EksVersion;
    readonly vpcId: pulumi.Input<string>;
    /** Nodes run here (and only here). */
    readonly privateSubnetIds: pulumi.Input<string>[];
    /** For internet-facing load balancers. */
    readonly publicSubnetIds: pulumi.Input<string>[];
    /** The VPC's IPv4 block (the deploy runner's DNS goes to the VPC resolver inside it). */
    readonly vpcCidr: string;
    /** Empty: private API endpoint only. Otherwise the public endpoint admits exactly these CIDRs. */
    readonly publicAccessCidrs: readonly string[];
    /** The CI runner that deploys this cluster; access "vpc" gets a security group the API admits. */
    readonly deployRunner: DeployRunnerConfig;
    /** IAM role granted cluster-admin through an access entry (the platform team); none if undefined. */
    readonly adminRoleArn?: string;
    /** IAM role `pulumi up` runs as, granted cluster-admin through an access entry; none if undefined. */
    readonly deployRoleArn?: string;
    /** IAM role people read the cluster with (AmazonEKSViewPolicy); none if undefined. */
    readonly readOnlyRoleArn?: string;
    /** Retention of /aws/eks/<cluster>/cluster, in days. */
    readonly logRetentionDays: number;
    /** EKS deletion protection. */
    readonly deletionProtection: boolean;
    readonly nodeGroups: readonly ClusterNodeGroupArgs[];
    /** Keep EBS volumes when their claim is deleted (production data). */
    readonly retainVolumes: boolean;
    /** Tags for every AWS resource. */
    readonly tags: Record<string, string>;
}

/** EKS access policy that maps to cluster-admin. */
export const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/** EKS access policy similar to Kubernetes' `view` ClusterRole (read most objects, not Secrets). */
export const CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

/**
 * @pulumi/eks 4.3.0 hard-codes `accessConfig.bootstrapClusterCreatorAdminPermissions: true`
 * on the aws.eks.Cluster it creates (nodejs/eks/cluster/cluster.ts:739), which makes
 * whoever runs the first `pulumi up` cluster-admin through an access entry that EKS
 * creates and no program declares. This transform (resource option `transforms`, which
 * reaches the children of packaged components such as eks.Cluster) turns it off; every
 * principal with access is then one of the access entries this component declares.
 */
export const noImplicitCreatorAdmin: pulumi.ResourceTransform = (args) => {
    if (args.type !== "aws:eks/cluster:Cluster") return undefined;
    const accessConfig = { ...(args.props.accessConfig ?? {}), bootstrapClusterCreatorAdminPermissions: false };
    return { props: { ...args.props, accessConfig }, opts: args.opts };
};
/** The EBS CSI controller's service account, which its IRSA role trusts. */
export const EBS_CSI_SERVICE_ACCOUNT = serviceAccountSubject("kube-system", "ebs-csi-controller-sa");
/** The VPC CNI's service account (the aws-node DaemonSet), which its IRSA role trusts. */
export const VPC_CNI_SERVICE_ACCOUNT = serviceAccountSubject("kube-system", "aws-node");
/** HTTPS: the Kubernetes API's port, and everything the deploy runner calls. */
const HTTPS = 443;

/** Control-plane log types shipped to CloudWatch (FSBP EKS.8 requires audit; api and authenticator for incident work). */
export const CONTROL_PLANE_LOGS = ["api", "audit", "authenticator"] as const;

const NODE_POLICIES = {
    worker: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    ecr: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    // Session Manager instead of SSH: no key pairs, no port 22 (runbook "Node Maintenance").
    ssm: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
};

/** The EKS add-on that serves the Metrics API (`kubectl top`). */
export const METRICS_SERVER_ADDON = "metrics-server";

export class Cluster extends pulumi.ComponentResource {
    public readonly eksCluster: eks.Cluster;
    /** The Kubernetes provider for every in-cluster resource, built from this cluster's kubeconfig. */
    public readonly provider: k8s.Provider;
    public readonly clusterName: pulumi.Output<string>;
    /** The security group the nodes run in; data stores admit it (RDS 5432, Redis 6379). */
    public readonly nodeSecurityGroupId: pulumi.Output<string>;
    /** The IAM OIDC provider, for IRSA trust policies. */
    public readonly oidcProviderArn: pulumi.Output<string>;
    /** The OIDC issuer without `https://` (the prefix of IRSA condition keys such as `<url>:sub`). */
    public readonly oidcProviderUrl: pulumi.Output<string>;
    /** Kubeconfig for operators (secret: it names the cluster endpoint and CA). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** KMS key that envelope-encrypts Kubernetes Secrets. */
    public readonly secretsKey: aws.kms.Key;
    public readonly nodeGroups: aws.eks.NodeGroup[];
    /** The deploy runner's security group (access "vpc"): launch the runner in the private subnets with it. */
    public readonly deployRunnerSecurityGroup?: aws.ec2.SecurityGroup;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:cluster:Cluster", name, {}, opts);
        const tags = args.tags;

        // FSBP EKS.3: Kubernetes Secrets are envelope-encrypted with a customer-managed
        // key. Rotation on (FSBP KMS.4). Protected: losing it makes every Secret unreadable.
        this.secretsKey = new aws.kms.Key(
            `${name}-secrets`,
            {
                description: `Envelope encryption of Kubernetes Secrets in ${args.clusterName}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags,
            },
            { parent: this, protect: true },
        );
        new aws.kms.Alias(`${name}-secrets`, { name: `alias/${args.clusterName}-secrets`, targetKeyId: this.secretsKey.keyId }, { parent: this });

        // EKS writes control-plane logs to this group; created first so it has a
        // retention (EKS would create it with "never expire").
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-control-plane`,
            { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays, tags },
            { parent: this },
        );

        const publicEndpoint = args.publicAccessCidrs.length > 0;
        this.eksCluster = new eks.Cluster(
            name,
            {
                name: args.clusterName,
                version: args.version,
                vpcId: args.vpcId,
                privateSubnetIds: args.privateSubnetIds,
                publicSubnetIds: args.publicSubnetIds,
                // FSBP EKS.1: the API endpoint is private; a public endpoint exists only
                // when config lists the networks allowed to reach it.
                endpointPrivateAccess: true,
                endpointPublicAccess: publicEndpoint,
                ...(publicEndpoint ? { publicAccessCidrs: [...args.publicAccessCidrs] } : {}),
                // FSBP EKS.3: KMS envelope encryption of Secrets.
                encryptionConfigKeyArn: this.secretsKey.arn,
                // FSBP EKS.8: audit logging (plus api and authenticator) to CloudWatch Logs.
                enabledClusterLogTypes: [...CONTROL_PLANE_LOGS],
                // IRSA: pods get IAM roles through the cluster's OIDC issuer.
                createOidcProvider: true,
                // Access entries only; the aws-auth ConfigMap is not consulted. The entries
                // are declared below, each one explicitly; the creator gets none implicitly.
                authenticationMode: "API",
                // Nodes are the managed node groups below; vpc-cni, kube-proxy and
                // coredns are EKS managed add-ons declared below, not the bootstrap copies.
                skipDefaultNodeGroup: true,
                bootstrapSelfManagedAddons: false,
                useDefaultVpcCni: true,
                corednsAddonOptions: { enabled: false },
                kubeProxyAddonOptions: { enabled: false },
                nodeAssociatePublicIpAddress: false,
                deletionProtection: args.deletionProtection,
                // Standard support only: a version past it fails loudly instead of billing extended support.
                upgradePolicy: { supportType: "STANDARD" },
                tags,
            },
            // With a declared deploy role, nobody gets access implicitly; without one (allowed
            // outside production only) the creator keeps EKS's default, or nobody could deploy.
            { parent: this, dependsOn: [logGroup], transforms: args.deployRoleArn ? [noImplicitCreatorAdmin] : [] },
        );

        this.clusterName = this.eksCluster.eksCluster.name;

        // --- Who may use the Kubernetes API: exactly these IAM roles (runbook "Required
        // Permissions": CI deploys, admins administer, people read). Managed node groups
        // get their EC2_LINUX entries from EKS itself.
        const accessEntry = (key: string, principalArn: string, policyName: string, policyArn: string, aliases?: pulumi.Alias[]) => {
            const entry = new aws.eks.AccessEntry(
                `${name}-${key}`,
                { clusterName: this.clusterName, principalArn, type: "STANDARD", tags },
                { parent: this, aliases },
            );
            const association = new aws.eks.AccessPolicyAssociation(
                `${name}-${key}-${policyName}`,
                { clusterName: this.clusterName, principalArn, policyArn, accessScope: { type: "cluster" } },
                { parent: entry, dependsOn: [entry] },
            );
            return [entry, association];
        };
        const access: pulumi.Resource[] = [
            // The admin entry was declared through eks.Cluster's accessEntries before (a child
            // of the eks component, same name): the alias keeps it the same resource.
            ...(args.adminRoleArn ? accessEntry("admin", args.adminRoleArn, "clusterAdmin", CLUSTER_ADMIN_POLICY, [{ parent: this.eksCluster }]) : []),
            // The deploying role installs CRDs, cluster-wide RBAC and the charts: cluster-admin.
            ...(args.deployRoleArn ? accessEntry("deploy", args.deployRoleArn, "clusterAdmin", CLUSTER_ADMIN_POLICY) : []),
            // People read; no Secrets, no writes (changes go through pull requests).
            ...(args.readOnlyRoleArn ? accessEntry("read-only", args.readOnlyRoleArn, "view", CLUSTER_VIEW_POLICY) : []),
        ];
        this.nodeSecurityGroupId = this.eksCluster.nodeSecurityGroupId;
        this.oidcProviderArn = this.eksCluster.oidcProviderArn;
        this.oidcProviderUrl = this.eksCluster.oidcIssuer;
        this.kubeconfig = pulumi.secret(this.eksCluster.kubeconfigJson);

        // --- The deploy runner (issue 12 item 4). The API endpoint is private unless
        // cluster.publicAccessCidrs lists networks, and GitHub-hosted runners have no fixed
        // addresses to list; so the workflows run on a self-hosted runner. With access
        // "vpc" it runs in this VPC's private subnets, in this security group, which the
        // cluster security group (@pulumi/eks attaches it to the control plane's ENIs)
        // admits on 443 next to the nodes' rule.
        if (args.deployRunner.access === "vpc") {
            const runnerSg = new aws.ec2.SecurityGroup(
                `${name}-deploy-runner`,
                {
                    name: `${args.clusterName}-deploy-runner`,
                    description: `CI runner ${args.deployRunner.label}: deploys ${args.clusterName} from inside the VPC`,
                    vpcId: args.vpcId,
                    // Nothing connects to the runner; it polls GitHub for jobs.
                    ingress: [],
                    egress: [
                        {
                            description: "HTTPS: GitHub, Pulumi Cloud, AWS APIs, the EKS API, chart and package repositories",
                            protocol: "tcp",
                            fromPort: HTTPS,
                            toPort: HTTPS,
                            cidrBlocks: ["0.0.0.0/0"],
                        },
                        { description: "DNS to the VPC resolver", protocol: "udp", fromPort: 53, toPort: 53, cidrBlocks: [args.vpcCidr] },
                        { description: "DNS to the VPC resolver (TCP)", protocol: "tcp", fromPort: 53, toPort: 53, cidrBlocks: [args.vpcCidr] },
                    ],
                    tags: { ...tags, Name: `${args.clusterName}-deploy-runner`, "candlefish.ai/runner-label": args.deployRunner.label },
                },
                { parent: this },
            );
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-api-from-deploy-runner`,
                {
                    securityGroupId: this.eksCluster.clusterSecurityGroupId,
                    referencedSecurityGroupId: runnerSg.id,
                    ipProtocol: "tcp",
                    fromPort: HTTPS,
                    toPort: HTTPS,
                    description: `Kubernetes API from the deploy runner ${args.deployRunner.label}`,
                    tags,
                },
                { parent: this },
            );
            this.deployRunnerSecurityGroup = runnerSg;
        }

        // --- Add-ons that must exist before nodes can become Ready (DaemonSets).
        const addon = (addonName: string, extra: Partial<aws.eks.AddonArgs>, dependsOn: pulumi.Resource[] = []) =>
            new aws.eks.Addon(
                `${name}-${addonName}`,
                {
                    clusterName: this.clusterName,
                    addonName,
                    // This program owns the add-ons' configuration.
                    resolveConflictsOnCreate: "OVERWRITE",
                    resolveConflictsOnUpdate: "OVERWRITE",
                    tags,
                    ...extra,
                },
                { parent: this, dependsOn },
            );
        // IRSA: a role only one service account of this cluster can assume, through its OIDC issuer.
        const irsa = (suffix: string, serviceAccount: string, policyArn: string) => {
            const role = new aws.iam.Role(
                `${name}-${suffix}`,
                {
                    description: `IRSA role of ${serviceAccount} in ${args.clusterName}`,
                    assumeRolePolicy: irsaTrustPolicy(this.oidcProviderArn, this.oidcProviderUrl, serviceAccount),
                    tags,
                },
                { parent: this },
            );
            const attachment = new aws.iam.RolePolicyAttachment(`${name}-${suffix}`, { role: role.name, policyArn }, { parent: this });
            return { role, attachment };
        };

        // The CNI's ENI permissions belong to aws-node alone (IRSA), not to the node role.
        // enableNetworkPolicy turns on the VPC CNI's network policy agent: without it
        // EKS accepts NetworkPolicy objects and enforces none of them.
        const cni = irsa("vpc-cni", VPC_CNI_SERVICE_ACCOUNT, "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy");
        const vpcCni = addon("vpc-cni", { serviceAccountRoleArn: cni.role.arn, configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }) }, [cni.attachment]);
        const kubeProxy = addon("kube-proxy", {});

        // --- Managed node groups, in the private subnets only.
        const nodeRole = new aws.iam.Role(
            `${name}-nodes`,
            {
                description: `EC2 nodes of ${args.clusterName}`,
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags,
            },
            { parent: this },
        );
        const attachments = Object.entries(NODE_POLICIES).map(
            ([k, policyArn]) => new aws.iam.RolePolicyAttachment(`${name}-nodes-${k}`, { role: nodeRole.name, policyArn }, { parent: this }),
        );

        this.nodeGroups = args.nodeGroups.map((g) => {
            const arm = g.instanceTypes.some(isArm);
            const lt = new aws.ec2.LaunchTemplate(
                `${name}-${g.name}`,
                {
                    description: `Nodes of ${args.clusterName}/${g.name}`,
                    // FSBP EC2.8: IMDSv2 only. Hop limit 1: a pod's request crosses one
                    // more hop and never arrives, so no pod can take the node role's
                    // credentials; everything that calls AWS uses IRSA (hostNetwork pods
                    // such as aws-node are on the node's own network and unaffected).
                    metadataOptions: {
                        httpEndpoint: "enabled",
                        httpTokens: "required",
                        httpPutResponseHopLimit: 1,
                        instanceMetadataTags: "disabled",
                    },
                    // Encrypted gp3 root volumes (FSBP EC2.7 for the nodes' disks).
                    blockDeviceMappings: [
                        {
                            deviceName: "/dev/xvda",
                            ebs: { volumeSize: g.diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                        },
                    ],
                    // The node security group @pulumi/eks created (control plane <-> kubelet
                    // rules); data stores admit exactly this group.
                    vpcSecurityGroupIds: [this.nodeSecurityGroupId],
                    tagSpecifications: [
                        { resourceType: "instance", tags: { ...tags, Name: `${args.clusterName}-${g.name}` } },
                        { resourceType: "volume", tags },
                    ],
                    updateDefaultVersion: true,
                    tags,
                },
                { parent: this },
            );
            return new aws.eks.NodeGroup(
                `${name}-${g.name}`,
                {
                    clusterName: this.clusterName,
                    nodeGroupName: `${args.clusterName}-${g.name}`,
                    nodeRoleArn: nodeRole.arn,
                    subnetIds: args.privateSubnetIds,
                    amiType: arm ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD",
                    capacityType: g.capacityType,
                    instanceTypes: [...g.instanceTypes],
                    scalingConfig: { minSize: g.minSize, desiredSize: g.desiredSize, maxSize: g.maxSize },
                    // Runbook "Node Maintenance": one node drained at a time.
                    updateConfig: { maxUnavailable: 1 },
                    launchTemplate: { id: lt.id, version: pulumi.interpolate`${lt.latestVersion}` },
                    labels: { "candlefish.ai/node-group": g.name },
                    tags,
                },
                { parent: this, dependsOn: [...attachments, vpcCni, kubeProxy] },
            );
        });

        // --- Add-ons that run as Deployments: they need nodes.
        const coredns = addon("coredns", {}, this.nodeGroups);
        // The runbook's `kubectl top pods` reads the Metrics API, which only
        // metrics-server serves (EKS installs none). The EKS community add-on
        // `metrics-server` (namespace kube-system, no IAM; EKS user guide,
        // community-addons.adoc) listens on 10251, inside the 1025-65535 the node
        // security group admits from the control plane (@pulumi/eks v4.3.0
        // nodes/securitygroup.ts, eksNodeClusterIngressRule).
        addon(METRICS_SERVER_ADDON, {}, this.nodeGroups);

        const ebsCsi = irsa("ebs-csi", EBS_CSI_SERVICE_ACCOUNT, "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
        const ebsCsiAddon = addon("aws-ebs-csi-driver", { serviceAccountRoleArn: ebsCsi.role.arn }, [...this.nodeGroups, ebsCsi.attachment]);

        // The provider of every in-cluster resource waits for the nodes and the core
        // add-ons: a Helm release (atomic, with a timeout) or a Deployment started
        // before any node is Ready, or before CoreDNS answers, would only time out.
        // Every resource using the provider waits for the provider.
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.kubeconfig, enableServerSideApply: true },
            // ... and for the access entries: without the deploy role's, no call would be authorized.
            { parent: this, dependsOn: [...this.nodeGroups, coredns, ebsCsiAddon, ...access] },
        );

        // gp3 is the default StorageClass: cheaper and faster than gp2, always encrypted.
        new k8s.storage.v1.StorageClass(
            `${name}-gp3`,
            {
                metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
                provisioner: "ebs.csi.aws.com",
                parameters: { type: "gp3", encrypted: "true", fsType: "ext4" },
                // Production keeps the volume when its claim goes (data safety); staging cleans up.
                reclaimPolicy: args.retainVolumes ? "Retain" : "Delete",
                // Bind in the zone the pod lands in.
                volumeBindingMode: "WaitForFirstConsumer",
                allowVolumeExpansion: true,
            },
            { parent: this, provider: this.provider, dependsOn: [ebsCsiAddon], deleteBeforeReplace: true },
        );
        // Before 1.30, EKS marks its own gp2 class as default too; two defaults make
        // PVC defaulting ambiguous, so gp2 is demoted there.
        if (Number(args.version.split(".")[1]) < 30) {
            new k8s.storage.v1.StorageClassPatch(
                `${name}-gp2-not-default`,
                { metadata: { name: "gp2", annotations: { "storageclass.kubernetes.io/is-default-class": "false" } } },
                { parent: this, provider: this.provider },
            );
        }

        this.registerOutputs({
            clusterName: this.clusterName,
            nodeSecurityGroupId: this.nodeSecurityGroupId,
            oidcProviderArn: this.oidcProviderArn,
            oidcProviderUrl: this.oidcProviderUrl,
            kubeconfig: this.kubeconfig,
        });
    }
}
