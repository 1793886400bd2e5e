// The AWS foundation: network, EKS cluster and ECR registry, as production and
// staging declare them, the differences between the two, and the config that
// is refused before anything is registered.
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { ConfigError, ConfigSource, parseConfig } from "../config";
import { EKS_VERSIONS, inExtendedSupport } from "../config/aws";
import { planSubnets } from "../components/network";
import { lifecyclePolicy } from "../components/registry";
import { CLUSTER_ADMIN_POLICY, CLUSTER_VIEW_POLICY, EBS_CSI_SERVICE_ACCOUNT, VPC_CNI_SERVICE_ACCOUNT, noImplicitCreatorAdmin } from "../components/cluster";
import { MOCK_ACCOUNT, mockZones, mocks } from "../plan/mocks";
import { RecordedResource, Rendered, Secret, render } from "../plan/render";
import { STAND_INS, readStack } from "../plan/stackfile";
import { DEPLOYMENT, SERVICES, at, diffRenders, expectRejected, find, inputs, ofType, renderBoth, renderStack, renderWith, stackConfig, withRegistrationCount } from "./harness";

const VPC = "aws:ec2/vpc:Vpc";
const SUBNET = "aws:ec2/subnet:Subnet";
const NAT = "aws:ec2/natGateway:NatGateway";
const ROUTE_TABLE = "aws:ec2/routeTable:RouteTable";
const EKS = "eks:index:Cluster";
const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const ADDON = "aws:eks/addon:Addon";
const ROLE = "aws:iam/role:Role";
const ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const KMS = "aws:kms/key:Key";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const REPO = "aws:ecr/repository:Repository";
const LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";

const CLUSTER = { production: "candlefish-maturity-map-production-eks", staging: "candlefish-maturity-map-staging-eks" } as const;
const K8S_PROVIDER = (stack: keyof typeof CLUSTER) => `pulumi:providers:kubernetes::${CLUSTER[stack]}-k8s`;
const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];

const one = (r: Rendered, type: string): RecordedResource => {
    const all = ofType(r, type);
    assert.equal(all.length, 1, `expected one ${type}, found ${all.map((x) => x.name).join(", ")}`);
    return all[0];
};
const json = (v: unknown) => JSON.parse(v as string);
const idOf = (res: RecordedResource) => `${res.name}-id`; // the mocks' id for a created resource

let prod: Rendered;
let staging: Rendered;
let rendered: Promise<void> | undefined;
/** Both stack files, rendered once for every suite below (not a root hook: other files don't pay for it). */
async function renderBothOnce(this: Mocha.Context): Promise<void> {
    this.timeout(60000);
    rendered ??= (async () => {
        ({ prod, staging } = await renderBoth());
    })();
    await rendered;
}

describe("network: VPC across three us-east-1 zones", () => {
    before(renderBothOnce);

    it("uses 10.0.0.0/16 in production and 10.1.0.0/16 in staging, with VPC DNS on", () => {
        for (const [r, cidr] of [[prod, "10.0.0.0/16"], [staging, "10.1.0.0/16"]] as const) {
            const vpc = inputs(one(r, VPC));
            assert.equal(vpc.cidrBlock, cidr);
            assert.equal(vpc.enableDnsSupport, true);
            assert.equal(vpc.enableDnsHostnames, true);
        }
        assert.equal(prod.outputs.vpcId, idOf(one(prod, VPC)));
    });

    it("derives a /19 private and a /22 public subnet per zone, none assigning public IPs (FSBP EC2.15)", () => {
        const subnets = ofType(prod, SUBNET).map(inputs);
        const tier = (t: string) => subnets.filter((s) => s.tags.tier === t).map((s) => [s.availabilityZone, s.cidrBlock]);
        assert.deepEqual(tier("private"), [["us-east-1a", "10.0.0.0/19"], ["us-east-1b", "10.0.32.0/19"], ["us-east-1c", "10.0.64.0/19"]]);
        assert.deepEqual(tier("public"), [["us-east-1a", "10.0.128.0/22"], ["us-east-1b", "10.0.132.0/22"], ["us-east-1c", "10.0.136.0/22"]]);
        for (const s of subnets) assert.equal(s.mapPublicIpOnLaunch, false, s.tags.Name);
        const stagingPrivate = ofType(staging, SUBNET).map(inputs).filter((s) => s.tags.tier === "private").map((s) => s.cidrBlock);
        assert.deepEqual(stagingPrivate, ["10.1.0.0/19", "10.1.32.0/19", "10.1.64.0/19"]);
    });

    it("tags subnets for EKS load balancers: public -> elb, private -> internal-elb", () => {
        for (const s of ofType(prod, SUBNET).map(inputs)) {
            const isPublic = s.tags.tier === "public";
            assert.equal(s.tags["kubernetes.io/role/elb"], isPublic ? "1" : undefined, s.tags.Name);
            assert.equal(s.tags["kubernetes.io/role/internal-elb"], isPublic ? undefined : "1", s.tags.Name);
            assert.equal(s.tags[`kubernetes.io/cluster/${CLUSTER.production}`], "shared");
        }
    });

    it("production: a NAT gateway per zone, each private route table using its own zone's NAT", () => {
        const nats = ofType(prod, NAT);
        assert.equal(nats.length, 3);
        const publicIds = ofType(prod, SUBNET).filter((s) => inputs(s).tags.tier === "public").map(idOf);
        assert.deepEqual(nats.map((n) => inputs(n).subnetId), publicIds);
        for (const zone of ZONES) {
            const rt = inputs(find(prod, ROUTE_TABLE, `candlefish-production-private-${zone}`));
            assert.deepEqual(rt.routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: `candlefish-production-nat-${zone}-id` }]);
        }
    });

    it("staging: one NAT gateway shared by every private route table", () => {
        const nats = ofType(staging, NAT);
        assert.deepEqual(nats.map((n) => n.name), ["candlefish-staging-nat-us-east-1a"]);
        for (const zone of ZONES) {
            const rt = inputs(find(staging, ROUTE_TABLE, `candlefish-staging-private-${zone}`));
            assert.deepEqual(rt.routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: "candlefish-staging-nat-us-east-1a-id" }]);
        }
        // The one-key edit back to production's layout.
        return renderWith("staging", ["network.natGateways=perAz"]).then((r) => assert.equal(ofType(r, NAT).length, 3));
    });

    it("keeps S3 traffic from the private subnets on a gateway endpoint", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const ep = inputs(one(r, "aws:ec2/vpcEndpoint:VpcEndpoint"));
            assert.equal(ep.serviceName, "com.amazonaws.us-east-1.s3");
            assert.equal(ep.vpcEndpointType, "Gateway");
            assert.equal(ep.vpcId, idOf(one(r, VPC)));
            assert.deepEqual(ep.routeTableIds, ZONES.map((z) => `candlefish-${stack}-private-${z}-id`));
        }
    });

    it("routes the public subnets to the internet gateway only", () => {
        const rt = inputs(find(prod, ROUTE_TABLE, "candlefish-production-public-rt"));
        assert.deepEqual(rt.routes, [{ cidrBlock: "0.0.0.0/0", gatewayId: "candlefish-production-igw-id" }]);
    });

    it("strips every rule from the default security group (FSBP EC2.2)", () => {
        const sg = inputs(one(prod, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"));
        assert.equal(sg.vpcId, idOf(one(prod, VPC)));
        assert.deepEqual(sg.ingress, []);
        assert.deepEqual(sg.egress, []);
    });

    it("logs all VPC traffic to CloudWatch with a role only this account's flow logs can assume (FSBP EC2.6)", () => {
        for (const [r, days] of [[prod, 365], [staging, 30]] as const) {
            const log = inputs(one(r, "aws:ec2/flowLog:FlowLog"));
            const group = ofType(r, LOG_GROUP).find((g) => g.name.endsWith("-flow-logs"))!;
            assert.equal(log.vpcId, idOf(one(r, VPC)));
            assert.equal(log.trafficType, "ALL");
            assert.equal(log.logDestinationType, "cloud-watch-logs");
            assert.equal(log.logDestination, `arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:${inputs(group).name}`);
            assert.equal(inputs(group).retentionInDays, days);
            const role = ofType(r, ROLE).find((x) => x.name.endsWith("-flow-logs"))!;
            assert.equal(log.iamRoleArn, `arn:aws:iam::${MOCK_ACCOUNT}:role/${role.name}`);
            const trust = json(inputs(role).assumeRolePolicy).Statement[0];
            assert.deepEqual(trust.Principal, { Service: "vpc-flow-logs.amazonaws.com" });
            assert.deepEqual(trust.Condition, { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } });
            const rolePolicy = inputs(find(r, "aws:iam/rolePolicy:RolePolicy", role.name));
            assert.equal(rolePolicy.role, `${role.name}-id`);
            const policy = json(rolePolicy.policy).Statement[0];
            assert.deepEqual(policy.Resource, [log.logDestination, `${log.logDestination}:*`]);
        }
    });

    it("planSubnets: every subnet lies inside the VPC and no two overlap, for any valid VPC block", () => {
        const toInt = (c: string) => c.split("/")[0].split(".").reduce((a, o) => a * 256 + Number(o), 0);
        const range = (c: string): [number, number] => [toInt(c), toInt(c) + 2 ** (32 - Number(c.split("/")[1]))];
        fc.assert(
            fc.property(fc.integer({ min: 16, max: 20 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 2, max: 4 }), (prefix, second, zones) => {
                const base = 10 * 2 ** 24 + second * 2 ** 16;
                const vpc = `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${prefix}`;
                const plan = planSubnets(vpc, ZONES.concat("us-east-1d").slice(0, zones));
                const [lo, hi] = range(vpc);
                const all = plan.flatMap((p) => [range(p.privateCidr), range(p.publicCidr)]);
                for (const [a, b] of all) assert.ok(a >= lo && b <= hi, `${vpc}: subnet outside the VPC`);
                all.sort((x, y) => x[0] - y[0]);
                for (let i = 1; i < all.length; i++) assert.ok(all[i][0] >= all[i - 1][1], `${vpc}: overlapping subnets`);
            }),
        );
        assert.deepEqual(planSubnets("172.16.0.0/20", ["us-east-1a"]), [{ zone: "us-east-1a", privateCidr: "172.16.0.0/23", publicCidr: "172.16.8.0/26" }]);
    });
});

describe("cluster: EKS as the runbook addresses it", () => {
    before(renderBothOnce);

    it("is named candlefish-maturity-map-<stack>-eks (runbook: aws eks update-kubeconfig --name ...)", () => {
        assert.equal(inputs(one(prod, EKS)).name, CLUSTER.production);
        assert.equal(inputs(one(staging, EKS)).name, CLUSTER.staging);
        assert.equal(prod.outputs.clusterName, CLUSTER.production);
        assert.equal(staging.outputs.clusterName, CLUSTER.staging);
    });

    it("runs a supported version, private endpoint only, Secrets encrypted with a rotating, protected KMS key", () => {
        for (const r of [prod, staging]) {
            const eks = one(r, EKS);
            const i = inputs(eks);
            assert.equal(i.version, "1.35");
            assert.ok((EKS_VERSIONS as readonly string[]).includes(i.version));
            // FSBP EKS.1
            assert.equal(i.endpointPrivateAccess, true);
            assert.equal(i.endpointPublicAccess, false);
            assert.equal(i.publicAccessCidrs, undefined);
            // FSBP EKS.3
            const key = ofType(r, KMS).find((k) => k.options.parent === `candlefish:cluster:Cluster::${i.name}`)!;
            assert.equal(i.encryptionConfigKeyArn, `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/${key.name}`);
            assert.equal(inputs(key).enableKeyRotation, true);
            assert.equal(key.options.protect, true);
            assert.equal(i.authenticationMode, "API");
            assert.equal(i.createOidcProvider, true);
            assert.deepEqual(i.upgradePolicy, { supportType: "STANDARD" });
        }
        assert.equal(inputs(one(prod, EKS)).deletionProtection, true);
        assert.equal(inputs(one(staging, EKS)).deletionProtection, false);
    });

    it("opens the public endpoint only to configured CIDRs", async () => {
        const r = await renderWith("staging", ["cluster.publicAccessCidrs[0]=203.0.113.0/24", "cluster.publicAccessCidrs[1]=198.51.100.7/32"]);
        const i = inputs(one(r, EKS));
        assert.equal(i.endpointPublicAccess, true);
        assert.equal(i.endpointPrivateAccess, true);
        assert.deepEqual(i.publicAccessCidrs, ["203.0.113.0/24", "198.51.100.7/32"]);
    });

    it("ships api, audit and authenticator logs to a log group with a retention (FSBP EKS.8)", () => {
        for (const [r, stack, days] of [[prod, "production", 365], [staging, "staging", 30]] as const) {
            const eks = one(r, EKS);
            assert.deepEqual(inputs(eks).enabledClusterLogTypes, ["api", "audit", "authenticator"]);
            const group = find(r, LOG_GROUP, `${CLUSTER[stack]}-control-plane`);
            assert.equal(inputs(group).name, `/aws/eks/${CLUSTER[stack]}/cluster`);
            assert.equal(inputs(group).retentionInDays, days);
            assert.deepEqual(eks.options.dependsOn, [`${LOG_GROUP}::${group.name}`]);
        }
    });

    it("declares every access entry explicitly: deploy role and admins cluster-admin, people read-only; the creator gets nothing implicitly", async () => {
        const role = (n: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${n}`;
        const entries = (r: Rendered) =>
            Object.fromEntries(
                ofType(r, "aws:eks/accessEntry:AccessEntry").map((e) => {
                    const i = inputs(e);
                    const assoc = ofType(r, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").filter((a) => inputs(a).principalArn === i.principalArn);
                    assert.equal(i.type, "STANDARD");
                    assert.equal(i.clusterName, CLUSTER[r.stack as keyof typeof CLUSTER]);
                    assert.equal(i.kubernetesGroups, undefined, "no Kubernetes groups: the access policy is all it gets");
                    assert.equal(assoc.length, 1, e.name);
                    assert.deepEqual(inputs(assoc[0]).accessScope, { type: "cluster" });
                    assert.equal(assoc[0].options.parent, `aws:eks/accessEntry:AccessEntry::${e.name}`);
                    return [e.name.replace(`${CLUSTER[r.stack as keyof typeof CLUSTER]}-`, ""), [i.principalArn, inputs(assoc[0]).policyArn]];
                }),
            );
        // Production: three roles, each its own entry (stood in for offline; the operator sets them).
        assert.deepEqual(entries(prod), {
            admin: [role("offline-plan-stand-in"), CLUSTER_ADMIN_POLICY],
            deploy: [role("offline-plan-deploy-stand-in"), CLUSTER_ADMIN_POLICY],
            "read-only": [role("offline-plan-read-only-stand-in"), CLUSTER_VIEW_POLICY],
        });
        assert.equal(CLUSTER_VIEW_POLICY, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy");
        // Staging: every role optional; without a deploy role the creator keeps EKS's default
        // admin (no transform), or nobody could deploy a new cluster.
        assert.deepEqual(entries(staging), {});
        assert.equal(one(staging, EKS).options.transforms, undefined);
        const r = await renderWith("staging", ["cluster.adminRoleArn=arn:aws:iam::210987654321:role/ops/staging-admin", "cluster.deployRoleArn=arn:aws:iam::210987654321:role/ci/deploy"]);
        assert.deepEqual(entries(r), {
            admin: ["arn:aws:iam::210987654321:role/ops/staging-admin", CLUSTER_ADMIN_POLICY],
            deploy: ["arn:aws:iam::210987654321:role/ci/deploy", CLUSTER_ADMIN_POLICY],
        });
        assert.equal(one(r, EKS).options.transforms, 1);
        // No access entry goes through the eks component any more (it would be created with the cluster's creator as admin too).
        assert.equal(inputs(one(prod, EKS)).accessEntries, undefined);
        // The creator's implicit admin is turned off by a transform on the component's aws.eks.Cluster
        // (@pulumi/eks 4.3.0 hard-codes true); the engine runs it, offline it is only registered.
        assert.equal(one(prod, EKS).options.transforms, 1);
        const t = noImplicitCreatorAdmin({ type: "aws:eks/cluster:Cluster", name: "c", props: { accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true } }, opts: {} } as any);
        assert.deepEqual((t as any).props.accessConfig, { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false });
        assert.equal(noImplicitCreatorAdmin({ type: "aws:eks/accessEntry:AccessEntry", name: "e", props: {}, opts: {} } as any), undefined);
        // The Kubernetes provider (and so every in-cluster resource) waits for the entries.
        const provider = find(prod, "pulumi:providers:kubernetes", `${CLUSTER.production}-k8s`);
        for (const n of ["admin", "deploy", "read-only"]) assert.ok(provider.options.dependsOn.includes(`aws:eks/accessEntry:AccessEntry::${CLUSTER.production}-${n}`), n);
    });

    it("refuses production without its deploy, admin and read-only roles, and one role in two entries, naming the keys", async () => {
        const prodMissing = await expectRejected("production", [], { cluster: {} });
        assert.match(prodMissing.message, /cluster\.deployRoleArn: required in production: the IAM role `pulumi up` runs as/);
        assert.match(prodMissing.message, /cluster\.adminRoleArn: required in production/);
        assert.match(prodMissing.message, /cluster\.readOnlyRoleArn: required in production/);
        assert.equal(prodMissing.registered, 0);
        const same = await expectRejected("staging", [], { cluster: { deployRoleArn: "arn:aws:iam::210987654321:role/x", readOnlyRoleArn: "arn:aws:iam::210987654321:role/x" } });
        assert.match(same.message, /cluster\.readOnlyRoleArn: is the same role as cluster\.deployRoleArn \(arn:aws:iam::210987654321:role\/x\); EKS gives one principal one access entry/);
        assert.equal(same.registered, 0);
        // Fixed: accepted.
        await renderWith("staging", [], { cluster: { deployRoleArn: "arn:aws:iam::210987654321:role/ci/deploy", readOnlyRoleArn: "arn:aws:iam::210987654321:role/ops/readers" } });
    });

    it("has no default node group and leaves the add-ons to the managed add-ons below", () => {
        const i = inputs(one(prod, EKS));
        assert.equal(i.skipDefaultNodeGroup, true);
        assert.equal(i.bootstrapSelfManagedAddons, false);
        assert.equal(i.corednsAddonOptions.enabled, false);
        assert.equal(i.kubeProxyAddonOptions.enabled, false);
    });

    it("runs managed node groups in the private subnets only: m6i.xlarge 3..9 in production, t3.large 1..4 in staging", () => {
        const expect = {
            production: { r: prod, types: ["m6i.xlarge"], scaling: { minSize: 3, desiredSize: 3, maxSize: 9 }, disk: 50 },
            staging: { r: staging, types: ["t3.large"], scaling: { minSize: 1, desiredSize: 2, maxSize: 4 }, disk: 30 },
        };
        for (const [stack, e] of Object.entries(expect) as [keyof typeof CLUSTER, (typeof expect)["staging"]][]) {
            const ng = inputs(one(e.r, NODE_GROUP));
            const privateIds = ofType(e.r, SUBNET).filter((s) => inputs(s).tags.tier === "private").map(idOf);
            assert.deepEqual(ng.subnetIds, privateIds);
            assert.equal(ng.clusterName, CLUSTER[stack]);
            assert.equal(ng.nodeGroupName, `${CLUSTER[stack]}-general`);
            assert.deepEqual(ng.instanceTypes, e.types);
            assert.deepEqual(ng.scalingConfig, e.scaling);
            assert.equal(ng.amiType, "AL2023_x86_64_STANDARD");
            assert.equal(ng.capacityType, "ON_DEMAND");
            const lt = one(e.r, LAUNCH_TEMPLATE);
            assert.deepEqual(ng.launchTemplate, { id: idOf(lt), version: "1" });
            assert.equal(inputs(lt).blockDeviceMappings[0].ebs.volumeSize, e.disk);
        }
    });

    it("requires IMDSv2 on every node (FSBP EC2.8), encrypts root volumes, and puts nodes in the node security group", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const lt = inputs(one(r, LAUNCH_TEMPLATE));
            assert.deepEqual(lt.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" });
            assert.deepEqual(lt.blockDeviceMappings[0].ebs, { volumeSize: stack === "production" ? 50 : 30, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
            assert.deepEqual(lt.vpcSecurityGroupIds, [`sg-nodes-${CLUSTER[stack]}`]);
        }
    });

    it("gives nodes a role EC2 assumes, with worker, ECR read-only and SSM policies (the CNI's are on its own IRSA role)", () => {
        const role = find(prod, ROLE, `${CLUSTER.production}-nodes`);
        assert.deepEqual(json(inputs(role).assumeRolePolicy).Statement, [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
        assert.equal(inputs(one(prod, NODE_GROUP)).nodeRoleArn, `arn:aws:iam::${MOCK_ACCOUNT}:role/${role.name}`);
        const attached = ofType(prod, ATTACH).filter((a) => inputs(a).role === role.name).map((a) => inputs(a).policyArn).sort();
        assert.deepEqual(attached, [
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        ]);
    });

    it("installs vpc-cni, kube-proxy, coredns, aws-ebs-csi-driver and metrics-server as EKS managed add-ons, in a bootable order", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const addons = ofType(r, ADDON);
            assert.deepEqual(addons.map((a) => inputs(a).addonName).sort(), ["aws-ebs-csi-driver", "coredns", "kube-proxy", "metrics-server", "vpc-cni"]);
            for (const a of addons) assert.equal(inputs(a).clusterName, CLUSTER[stack]);
            const ref = (x: RecordedResource) => `${x.type}::${x.name}`;
            const byName = (n: string) => addons.find((a) => inputs(a).addonName === n)!;
            const ng = one(r, NODE_GROUP);
            // Nodes become Ready only with the CNI and kube-proxy DaemonSets in place...
            assert.ok(ng.options.dependsOn.includes(ref(byName("vpc-cni"))));
            assert.ok(ng.options.dependsOn.includes(ref(byName("kube-proxy"))));
            // ...and coredns and the EBS CSI controller are Deployments that need nodes.
            assert.ok(byName("coredns").options.dependsOn.includes(ref(ng)));
            assert.ok(byName("aws-ebs-csi-driver").options.dependsOn.includes(ref(ng)));
            // The runbook's `kubectl top pods`: metrics-server (a Deployment, so after the nodes), no IAM role.
            assert.ok(byName("metrics-server").options.dependsOn.includes(ref(ng)));
            assert.equal(inputs(byName("metrics-server")).serviceAccountRoleArn, undefined);
            // Without the network policy agent EKS accepts NetworkPolicies and enforces none.
            assert.deepEqual(JSON.parse(inputs(byName("vpc-cni")).configurationValues), { enableNetworkPolicy: "true" });
        }
    });

    for (const c of [
        { addon: "aws-ebs-csi-driver", role: "ebs-csi", sa: "system:serviceaccount:kube-system:ebs-csi-controller-sa", policy: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" },
        { addon: "vpc-cni", role: "vpc-cni", sa: "system:serviceaccount:kube-system:aws-node", policy: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy" },
    ]) {
        it(`gives ${c.addon} an IRSA role only ${c.sa} can assume, with ${c.policy.split("/").pop()} only`, () => {
            for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
                const role = find(r, ROLE, `${CLUSTER[stack]}-${c.role}`);
                const issuer = `oidc.eks.us-east-1.amazonaws.com/id/MOCK${CLUSTER[stack].length}`;
                assert.deepEqual(json(inputs(role).assumeRolePolicy).Statement, [
                    {
                        Effect: "Allow",
                        Principal: { Federated: `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/${issuer}` },
                        Action: "sts:AssumeRoleWithWebIdentity",
                        Condition: { StringEquals: { [`${issuer}:sub`]: c.sa, [`${issuer}:aud`]: "sts.amazonaws.com" } },
                    },
                ]);
                const addon = ofType(r, ADDON).find((a) => inputs(a).addonName === c.addon)!;
                assert.equal(inputs(addon).serviceAccountRoleArn, `arn:aws:iam::${MOCK_ACCOUNT}:role/${role.name}`);
                const attach = ofType(r, ATTACH).filter((a) => inputs(a).role === role.name);
                assert.deepEqual(attach.map((a) => inputs(a).policyArn), [c.policy]);
                // The add-on waits for its permissions.
                assert.ok(addon.options.dependsOn.includes(`${ATTACH}::${attach[0].name}`));
            }
        });
    }
    it("names the service accounts the IRSA roles trust", () => {
        assert.equal(EBS_CSI_SERVICE_ACCOUNT, "system:serviceaccount:kube-system:ebs-csi-controller-sa");
        assert.equal(VPC_CNI_SERVICE_ACCOUNT, "system:serviceaccount:kube-system:aws-node");
    });

    it("makes gp3 the default, encrypted StorageClass; production keeps volumes, staging deletes them", () => {
        for (const [r, stack, reclaim] of [[prod, "production", "Retain"], [staging, "staging", "Delete"]] as const) {
            const sc = one(r, STORAGE_CLASS);
            const i = inputs(sc);
            assert.equal(i.metadata.name, "gp3");
            assert.equal(i.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
            assert.equal(i.provisioner, "ebs.csi.aws.com");
            assert.deepEqual(i.parameters, { type: "gp3", encrypted: "true", fsType: "ext4" });
            assert.equal(i.reclaimPolicy, reclaim);
            assert.equal(i.volumeBindingMode, "WaitForFirstConsumer");
            assert.equal(sc.options.provider, K8S_PROVIDER(stack));
            // No second default: gp2 is demoted only where EKS still marks it (before 1.30).
            assert.equal(ofType(r, "kubernetes:storage.k8s.io/v1:StorageClassPatch").length, 0);
        }
    });

    it("demotes EKS's gp2 default on clusters older than 1.30", async () => {
        const r = await renderWith("staging", [], { cluster: { version: "1.29" } });
        assert.equal(inputs(one(r, EKS)).version, "1.29");
        const patch = inputs(one(r, "kubernetes:storage.k8s.io/v1:StorageClassPatch"));
        assert.deepEqual(patch.metadata, { name: "gp2", annotations: { "storageclass.kubernetes.io/is-default-class": "false" } });
    });

    it("builds the Kubernetes provider from the cluster's kubeconfig, kept secret, and exports it as a secret", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const p = find(r, "pulumi:providers:kubernetes", `${CLUSTER[stack]}-k8s`);
            assert.ok(p.inputs.kubeconfig instanceof Secret, "kubeconfig input must be secret");
            const kc = json(inputs(p).kubeconfig);
            assert.equal(kc.clusters[0].name, CLUSTER[stack]);
            // The region comes from the cluster's ARN (@pulumi/eks 4.3.0 generateKubeconfig; the mocks do the same).
            assert.deepEqual(kc.users[0].user.exec.args, ["--region", "us-east-1", "eks", "get-token", "--cluster-name", CLUSTER[stack]]);
            assert.ok(r.outputs.kubeconfig instanceof Secret, "the kubeconfig stack output must be secret");
        }
    });

    it("every in-cluster resource waits for the nodes and the core add-ons: its provider depends on them", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const deps = find(r, "pulumi:providers:kubernetes", `${CLUSTER[stack]}-k8s`).options.dependsOn;
            const groups = ofType(r, NODE_GROUP).map((g) => `${NODE_GROUP}::${g.name}`);
            assert.ok(groups.length > 0);
            for (const g of groups) assert.ok(deps.includes(g), `provider must wait for ${g}`);
            for (const a of ["coredns", "aws-ebs-csi-driver"]) assert.ok(deps.includes(`${ADDON}::${CLUSTER[stack]}-${a}`), `provider must wait for ${a}: ${deps.join(", ")}`);
        }
    });

    it("points every in-cluster resource at the cluster's provider", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const inCluster = r.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"));
            assert.ok(ofType(r, DEPLOYMENT).length >= 8, "the services' Deployments are rendered");
            const wrong = inCluster.filter((x) => x.options.provider !== K8S_PROVIDER(stack)).map((x) => `${x.type}::${x.name} -> ${x.options.provider}`);
            assert.deepEqual(wrong, []);
        }
    });
});

describe("registry: ECR repositories owned by one stack, looked up by the others", () => {
    before(renderBothOnce);

    it("production owns one protected repository per service: scan on push, IMMUTABLE tags, KMS (FSBP ECR.1, ECR.2)", () => {
        const repos = ofType(prod, REPO);
        assert.deepEqual(repos.map((x) => inputs(x).name), [...SERVICES]);
        const key = ofType(prod, KMS).find((k) => k.options.parent === "candlefish:registry:Registry::ecr")!;
        assert.equal(key.options.protect, true);
        assert.equal(inputs(key).enableKeyRotation, true);
        for (const repo of repos) {
            const i = inputs(repo);
            assert.equal(repo.options.protect, true, repo.name);
            assert.deepEqual(i.imageScanningConfiguration, { scanOnPush: true });
            assert.equal(i.imageTagMutability, "IMMUTABLE");
            assert.deepEqual(i.encryptionConfigurations, [{ encryptionType: "KMS", kmsKey: `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/${key.name}` }]);
            assert.equal(i.forceDelete, false);
        }
    });

    it("gives every repository a lifecycle policy: untagged expire after 14 days, the last 100 tagged stay (FSBP ECR.3)", () => {
        const policies = ofType(prod, LIFECYCLE);
        assert.deepEqual(policies.map((p) => inputs(p).repository), [...SERVICES]);
        const rules = json(inputs(policies[0]).policy).rules;
        assert.deepEqual(rules.map((x: any) => x.selection), [
            { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 },
            { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: 100 },
        ]);
        assert.deepEqual(rules.map((x: any) => x.action.type), ["expire", "expire"]);
        assert.equal(inputs(policies[0]).policy, lifecyclePolicy(14, 100));
    });

    it("deploys production's images from the repositories it owns", () => {
        const website = inputs(find(prod, DEPLOYMENT, "candlefish-website-blue"));
        assert.equal(website.spec.template.spec.containers[0].image, `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/candlefish-website:v1.2.3`);
        assert.deepEqual(prod.outputs.repositoryUrls, Object.fromEntries(SERVICES.map((s) => [s, `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${s}`])));
    });

    it("staging creates no repository, key or policy, and deploys from the looked-up repositories", () => {
        assert.deepEqual(ofType(staging, REPO), []);
        assert.deepEqual(ofType(staging, LIFECYCLE), []);
        assert.equal(ofType(staging, KMS).filter((k) => k.options.parent === "candlefish:registry:Registry::ecr").length, 0);
        const rtpm = inputs(find(staging, DEPLOYMENT, "rtpm-api-green"));
        assert.equal(rtpm.spec.template.spec.containers[0].image, `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/rtpm-api:v2.5.0-rc.2`);
        assert.deepEqual(staging.outputs.repositoryUrls, prod.outputs.repositoryUrls);
    });

    it("an owning staging stack creates them with its own lifecycle settings", async () => {
        const r = await renderWith("staging", ["registry.owner=true", "registry.untaggedExpiryDays=7", "registry.keepTaggedImages=30"]);
        assert.equal(ofType(r, REPO).length, 4);
        assert.deepEqual(json(inputs(ofType(r, LIFECYCLE)[0]).policy).rules.map((x: any) => x.selection.countNumber), [7, 30]);
    });
});

describe("AWS foundation: app-level edits never touch the network, the cluster or the registry", () => {
    before(renderBothOnce);

    const FOUNDATION = /^candlefish:(network:Network|cluster:Cluster|registry:Registry)::/;
    const catalogue: { what: string; edits: string[] }[] = [
        { what: "a color flip", edits: ["activeColor=green"] },
        { what: "an image bump", edits: ["services.rtpm-api.blue.imageTag=v2.5.0"] },
        { what: "a replica change", edits: ["services.nanda-api.blue.replicas=5"] },
        { what: "a feature flag", edits: ["services.candlefish-website.green.featureFlags.NEW_UI=true"] },
    ];
    for (const c of catalogue) {
        it(`${c.what} changes no foundation resource`, async function () {
            this.timeout(30000);
            const foundation = new Set(prod.resources.filter((x) => FOUNDATION.test(x.options.parent ?? "")).map((x) => `${x.type}::${x.name}`));
            assert.ok(foundation.size > 50, `foundation resources found: ${foundation.size}`);
            const d = diffRenders(prod, await renderWith("production", c.edits));
            assert.ok(d.changed.length > 0, "the edit must change something, or this test proves nothing");
            const touched = [...d.changed, ...d.added, ...d.removed].map((x) => `${x.type}::${x.name}`).filter((k) => foundation.has(k));
            assert.deepEqual(touched, []);
        });
    }
});

describe("AWS foundation: bad input is refused before anything is registered", () => {
    const cases: { what: string; stack?: string; edits?: string[]; replace?: Record<string, unknown>; key: string; says: RegExp }[] = [
        { what: "a CIDR with a bad prefix", edits: ["network.cidr=10.0.0.0/33"], key: "network.cidr", says: /IPv4 CIDR block/ },
        { what: "a CIDR with host bits set", edits: ["network.cidr=10.0.0.1/16"], key: "network.cidr", says: /host bits set; did you mean 10\.0\.0\.0\/16/ },
        { what: "a VPC larger than AWS allows", edits: ["network.cidr=10.0.0.0/12"], key: "network.cidr", says: /from \/16/ },
        { what: "a VPC too small for pod IPs", edits: ["network.cidr=10.0.0.0/24"], key: "network.cidr", says: /to \/20/ },
        { what: "a public address block", edits: ["network.cidr=8.8.0.0/16"], key: "network.cidr", says: /private address space/ },
        { what: "a zone outside us-east-1", replace: { network: { availabilityZones: ["us-east-1a", "us-west-2b"] } }, key: "network.availabilityZones.1", says: /availability zone of us-east-1/ },
        { what: "the same zone twice", replace: { network: { availabilityZones: ["us-east-1a", "us-east-1a", "us-east-1b"] } }, key: "network.availabilityZones", says: /twice/ },
        { what: "fewer than 3 zones in production", stack: "production", replace: { network: { availabilityZones: ["us-east-1a", "us-east-1b"] } }, key: "network.availabilityZones", says: /at least 3 zones/ },
        { what: "an unknown NAT mode", edits: ["network.natGateways=two"], key: "network.natGateways", says: /"perAz", "single"/ },
        { what: "a retention CloudWatch does not offer", edits: ["network.flowLogRetentionDays=100"], key: "network.flowLogRetentionDays", says: /nearest above: 120/ },
        { what: "a typo'd network key", edits: ["network.cdir=10.2.0.0/16"], key: "network.cdir", says: /did you mean "cidr"/ },
        { what: "a Kubernetes version below 1.28", replace: { cluster: { version: "1.27" } }, key: "cluster.version", says: /below 1\.28/ },
        { what: "a Kubernetes version EKS does not offer", replace: { cluster: { version: "1.99" } }, key: "cluster.version", says: /not a version EKS offers/ },
        { what: "a version that is not a minor version", replace: { cluster: { version: "latest" } }, key: "cluster.version", says: /minor version/ },
        { what: "a version that lost its trailing zero in YAML", edits: ["cluster.version=1.30"], key: "cluster.version", says: /quote the version \(e\.g\. "1\.30"\)/ },
        { what: "a malformed admin role ARN", edits: ["cluster.adminRoleArn=arn:aws:iam::1234:role/admin"], key: "cluster.adminRoleArn", says: /IAM role ARN/ },
        { what: "a user ARN where a role ARN belongs", edits: ["cluster.adminRoleArn=arn:aws:iam::123456789012:user/alice"], key: "cluster.adminRoleArn", says: /IAM role ARN/ },
        { what: "production without an admin role", stack: "production", replace: { cluster: undefined }, key: "cluster.adminRoleArn", says: /required in production/ },
        { what: "a public endpoint open to the internet", edits: ["cluster.publicAccessCidrs[0]=0.0.0.0/0"], key: "cluster.publicAccessCidrs.0", says: /whole internet \(FSBP EKS\.1\)/ },
        { what: "desiredSize above maxSize", edits: ["cluster.nodeGroups.general.desiredSize=5", "cluster.nodeGroups.general.maxSize=4"], key: "cluster.nodeGroups.general.desiredSize", says: /minSize <= desiredSize <= maxSize/ },
        { what: "desiredSize below minSize", edits: ["cluster.nodeGroups.general.minSize=3", "cluster.nodeGroups.general.desiredSize=2"], key: "cluster.nodeGroups.general.desiredSize", says: /outside minSize\.\.maxSize \(3\.\.4\)/ },
        { what: "minSize above maxSize", edits: ["cluster.nodeGroups.general.minSize=6", "cluster.nodeGroups.general.maxSize=5"], key: "cluster.nodeGroups.general.minSize", says: /above maxSize 5/ },
        { what: "a negative node count", edits: ["cluster.nodeGroups.general.minSize=-1"], key: "cluster.nodeGroups.general.minSize", says: /from 0 to 100/ },
        { what: "a maxSize of 0", edits: ["cluster.nodeGroups.general.maxSize=0"], key: "cluster.nodeGroups.general.maxSize", says: /from 1 to 100/ },
        { what: "an instance type too small for a node", edits: ["cluster.nodeGroups.general.instanceTypes[0]=t3.micro"], key: "cluster.nodeGroups.general.instanceTypes.0", says: /too small/ },
        { what: "something that is not an instance type", edits: ["cluster.nodeGroups.general.instanceTypes[0]=large"], key: "cluster.nodeGroups.general.instanceTypes.0", says: /EC2 instance type/ },
        { what: "ARM and x86 types in one node group", replace: { cluster: { nodeGroups: { general: { instanceTypes: ["m6i.large", "m7g.large"] } } } }, key: "cluster.nodeGroups.general.instanceTypes", says: /split them into two groups/ },
        { what: "a root volume below 20 GiB", edits: ["cluster.nodeGroups.general.diskSizeGiB=8"], key: "cluster.nodeGroups.general.diskSizeGiB", says: /from 20 to 1000/ },
        { what: "a node group name that is not a DNS label", edits: ["cluster.nodeGroups.General_1.minSize=1"], key: "cluster.nodeGroups.General_1", says: /DNS label/ },
        { what: "registry.owner that is not a boolean", edits: ["registry.owner=yes"], key: "registry.owner", says: /true or false/ },
        { what: "too few tagged images kept for rollbacks", edits: ["registry.keepTaggedImages=3"], key: "registry.keepTaggedImages", says: /from 10 to 1000/ },
    ];
    for (const c of cases) {
        it(`rejects ${c.what}`, async () => {
            const { message, registered } = await expectRejected(c.stack ?? "staging", c.edits ?? [], c.replace);
            assert.equal(registered, 0, "nothing may be registered");
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, `no line names ${c.key}:\n${message}`);
            assert.match(line!, c.says);
        });
    }

    it("refuses a stack name that makes an EKS cluster or node group name AWS would refuse", () => {
        const raw = (extra: Record<string, string> = {}) => ({
            environment: "development",
            activeColor: "blue",
            services: JSON.stringify({ x: { blue: { imageTag: "v1.0.0" }, green: { imageTag: "v1.0.0" } } }),
            ...extra,
        });
        const problems = (stack: string, extra?: Record<string, string>) => {
            try {
                parseConfig(new ConfigSource(stack, raw(extra), new Set(), { "aws:region": "us-east-1" }));
                return [];
            } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
                return e.issues.filter((i) => i.key.startsWith("cluster"));
            }
        };
        assert.deepEqual(problems("dev-alice"), []);
        const dotted = problems("dev.alice");
        assert.deepEqual(dotted.map((i) => i.key), ["cluster"]);
        assert.match(dotted[0].message, /"candlefish-maturity-map-dev\.alice-eks", which EKS refuses/);
        const long = problems("dev-alice", { cluster: JSON.stringify({ nodeGroups: { "general-purpose-worker-pool": {} } }) });
        assert.deepEqual(long.map((i) => i.key), ["cluster.nodeGroups.general-purpose-worker-pool"]);
        assert.match(long[0].message, /EKS allows 63/);
    });

    it("accepts what the cases above refuse once it is fixed (the harness can tell valid from invalid)", async () => {
        const r = await renderWith("staging", [
            "network.cidr=10.42.0.0/16",
            "cluster.nodeGroups.general.minSize=2",
            "cluster.nodeGroups.general.desiredSize=3",
            "cluster.nodeGroups.general.maxSize=5",
            "cluster.nodeGroups.general.instanceTypes[0]=m7g.large",
        ]);
        assert.equal(inputs(one(r, VPC)).cidrBlock, "10.42.0.0/16");
        const ng = inputs(one(r, NODE_GROUP));
        assert.deepEqual(ng.scalingConfig, { minSize: 2, desiredSize: 3, maxSize: 5 });
        assert.equal(ng.amiType, "AL2023_ARM_64_STANDARD");
        assert.equal(at(ng, "instanceTypes.0"), "m7g.large");
    });
});

describe("EKS version: standard support by default, extended support only when accepted (production)", () => {
    it("defaults to 1.35 and accepts the newer 1.36", async () => {
        const r = await renderStack("production", ["cluster.version=\"1.36\""]);
        assert.equal(inputs(one(r, "eks:index:Cluster")).version, "1.36");
    });

    it("refuses in production a version past standard support (1.33), naming the key and the way out", async () => {
        assert.ok(inExtendedSupport("1.33", "2026-11-30") && !inExtendedSupport("1.35", "2026-11-30"));
        const r = await expectRejected("production", ["cluster.version=\"1.33\""]);
        assert.equal(r.registered, 0);
        assert.match(r.message, /cluster\.version: Kubernetes 1\.33 is past EKS standard support \(ended 2026-07-29\).*cluster\.acceptExtendedSupport=true/);
        const ok = await renderStack("production", ["cluster.version=\"1.33\"", "cluster.acceptExtendedSupport=true"]);
        assert.equal(inputs(one(ok, "eks:index:Cluster")).version, "1.33");
    });

    it("staging may run an older version (a rehearsal of the upgrade)", async () => {
        const r = await renderStack("staging", ["cluster.version=\"1.33\""]);
        assert.equal(inputs(one(r, "eks:index:Cluster")).version, "1.33");
    });
});

describe("region: one explicit AWS provider in aws:region; zones, endpoints and names follow it (issue 12 item 16)", () => {
    before(renderBothOnce);
    const AWS_PROVIDER = "pulumi:providers:aws::aws";

    /** Every invoke the mocks answer while `fn` runs: its token and the provider it went through. */
    async function withCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: { token: string; provider?: string }[] }> {
        const original = mocks.call;
        const calls: { token: string; provider?: string }[] = [];
        mocks.call = (args) => {
            calls.push({ token: args.token, provider: args.provider });
            return original.call(mocks, args);
        };
        try {
            return { result: await fn(), calls };
        } finally {
            mocks.call = original;
        }
    }

    it("declares one AWS provider, in the stack's aws:region, and every AWS resource goes through it", () => {
        for (const r of [prod, staging]) {
            const providers = ofType(r, "pulumi:providers:aws");
            assert.deepEqual(providers.map((p) => [p.name, inputs(p).region]), [["aws", "us-east-1"]]);
            const aws = r.resources.filter((x) => x.custom && x.type.startsWith("aws:"));
            assert.ok(aws.length > 60, `AWS resources rendered: ${aws.length}`);
            const elsewhere = aws.filter((x) => x.options.provider !== AWS_PROVIDER).map((x) => `${x.type}::${x.name} -> ${x.options.provider}`);
            assert.deepEqual(elsewhere, [], "no AWS resource may fall back to the default provider");
        }
    });

    it("every AWS lookup (caller identity, zones, ECR, Route53, the NLB) goes through the same provider", async () => {
        for (const stack of ["production", "staging"]) {
            const { calls } = await withCalls(() => renderStack(stack));
            const awsCalls = calls.filter((c) => c.token.startsWith("aws:"));
            const tokens = new Set(awsCalls.map((c) => c.token));
            for (const t of ["aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getAvailabilityZones:getAvailabilityZones", "aws:lb/getLoadBalancer:getLoadBalancer", "aws:route53/getZone:getZone"])
                assert.ok(tokens.has(t), `${stack} looks up ${t}`);
            const elsewhere = awsCalls.filter((c) => !c.provider?.startsWith(`urn:pulumi:${stack}::candlefish-maturity-map::${AWS_PROVIDER.replace("::aws", "")}::aws::`));
            assert.deepEqual(elsewhere, [], `${stack}: every lookup names the stack's provider`);
        }
    });

    it("the stack files turn the default AWS provider off, so a resource that missed the provider fails instead of landing elsewhere", () => {
        for (const stack of ["production", "staging"]) {
            const v = readStack(stack).values;
            assert.equal(v["aws:region"], "us-east-1");
            assert.deepEqual(v["pulumi:disable-default-providers"], ["aws"]);
        }
    });

    it("aws:region=us-west-2 moves the provider, the zones, the S3 endpoint, the secrets store, the kubeconfig and the SES endpoint; the diff is not empty", async function () {
        this.timeout(60000);
        const west = await renderStack("production", ["aws:region=us-west-2"]);
        assert.equal(inputs(find(west, "pulumi:providers:aws", "aws")).region, "us-west-2");
        assert.deepEqual([...new Set(ofType(west, SUBNET).map((x) => inputs(x).availabilityZone))].sort(), ["us-west-2a", "us-west-2b", "us-west-2c"]);
        assert.equal(inputs(one(west, "aws:ec2/vpcEndpoint:VpcEndpoint")).serviceName, "com.amazonaws.us-west-2.s3");
        const store = inputs(find(west, "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore", "secret-delivery-store"));
        assert.equal(store.spec.provider.aws.region, "us-west-2");
        const kc = json(inputs(find(west, "pulumi:providers:kubernetes", `${CLUSTER.production}-k8s`)).kubeconfig);
        assert.deepEqual(kc.users[0].user.exec.args.slice(0, 2), ["--region", "us-west-2"]);
        // E-mail is opt-in (issue 12 item 10): with it on, SES's SMTP endpoint is the stack's region's.
        const mailWest = await renderWith("production", ["aws:region=us-west-2", "alerts.email=oncall@candlefish.ai", "alerts.smtp.username=AKIAEXAMPLE", "alerts.smtp.password=example-password"], {}, { secret: ["alerts"] });
        const am = inputs(find(mailWest, "kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack")).values.alertmanager.config;
        assert.equal(am.global.smtp_smarthost, "email-smtp.us-west-2.amazonaws.com:587");
        assert.ok(!JSON.stringify(west.resources.map((x) => x.inputs)).includes("us-east-1"), "nothing the program declares still names us-east-1");
        // The symptom the issue reports: the offline diff of a region change was empty.
        const d = diffRenders(prod, west);
        assert.ok(d.changed.some((c) => c.type === "pulumi:providers:aws" && c.paths.includes("region")), JSON.stringify(d.changed.slice(0, 5)));
        assert.ok(d.added.some((a) => a.type === SUBNET && a.name.endsWith("us-west-2a")));
        assert.ok(d.removed.some((a) => a.type === SUBNET && a.name.endsWith("us-east-1a")));
    });

    it("unset network.availabilityZones: AWS's first three zones of the region, asked through the provider", async function () {
        this.timeout(60000);
        mockZones.set("eu-central-1", ["eu-central-1c", "eu-central-1a", "eu-central-1b", "eu-central-1d"]);
        try {
            const r = await renderStack("staging", ["aws:region=eu-central-1"]);
            assert.deepEqual(ofType(r, SUBNET).filter((x) => x.name.includes("private")).map((x) => inputs(x).availabilityZone), ["eu-central-1a", "eu-central-1b", "eu-central-1c"]);
        } finally {
            mockZones.delete("eu-central-1");
        }
    });

    it("a region with two zones for this account: production is refused naming network.availabilityZones (only the provider was registered); staging uses both", async function () {
        this.timeout(60000);
        mockZones.set("us-west-1", ["us-west-1b", "us-west-1c"]);
        try {
            const { config, secretKeys } = stackConfig("production", ["aws:region=us-west-1"]);
            const original = mocks.newResource;
            const types: string[] = [];
            mocks.newResource = (args) => (types.push(args.type), original.call(mocks, args));
            try {
                await assert.rejects(render({ stack: "production", config, secretKeys }), (e: Error) => {
                    assert.ok(e instanceof ConfigError, String(e));
                    assert.match(e.message, /- network\.availabilityZones: us-west-1 \(aws:region\) offers this account 2 Availability Zone\(s\) \(us-west-1b, us-west-1c\); production spreads over at least 3/);
                    return true;
                });
            } finally {
                mocks.newResource = original;
            }
            // The stack's reference to its own last outputs (config/previous.ts) and the provider: no cloud resource.
            assert.deepEqual(types.sort(), ["pulumi:providers:aws", "pulumi:pulumi:StackReference"]);
            const st = await renderStack("staging", ["aws:region=us-west-1"]);
            assert.deepEqual(ofType(st, SUBNET).filter((x) => x.name.includes("private")).map((x) => inputs(x).availabilityZone), ["us-west-1b", "us-west-1c"]);
        } finally {
            mockZones.delete("us-west-1");
        }
    });

    it("explicit zones must be the region's", async () => {
        const r = await renderWith("staging", ["aws:region=us-west-2"], { network: { availabilityZones: ["us-west-2a", "us-west-2c"] } });
        assert.deepEqual(ofType(r, SUBNET).filter((x) => x.name.includes("private")).map((x) => inputs(x).availabilityZone), ["us-west-2a", "us-west-2c"]);
        const { message, registered } = await expectRejected("staging", ["aws:region=us-west-2"], { network: { availabilityZones: ["us-east-1a", "us-east-1b"] } });
        assert.equal(registered, 0);
        assert.match(message, /- network\.availabilityZones\.0: .*availability zone of us-west-2 \(aws:region\) such as us-west-2a/);
    });

    const refusals: { what: string; edits: string[]; says: RegExp }[] = [
        { what: "a GovCloud region", edits: ["aws:region=us-gov-west-1"], says: /aws-us-gov partition; this program writes arn:aws: ARNs/ },
        { what: "a China region", edits: ["aws:region=cn-north-1"], says: /aws-cn partition/ },
        { what: "a region without its hyphens", edits: ["aws:region=useast1"], says: /did you mean "us-east-1"\?/ },
        { what: "something that is not a region", edits: ["aws:region=Virginia"], says: /AWS region of the aws partition such as us-east-1/ },
    ];
    for (const c of refusals) {
        it(`refuses ${c.what}, naming aws:region, before anything is registered`, async () => {
            const { message, registered } = await expectRejected("staging", c.edits);
            assert.equal(registered, 0);
            assert.match(message.split("\n").find((l) => l.includes("- aws:region:")) ?? message, c.says);
        });
    }

    it("refuses an AWS stack without aws:region: the provider would otherwise follow whatever the environment says", async () => {
        const { config, secretKeys } = stackConfig("staging");
        delete config["aws:region"];
        await withRegistrationCount(async (registered) => {
            await assert.rejects(render({ stack: "staging", config, secretKeys }), /- aws:region: required; expected an AWS region of the aws partition such as us-east-1 .*\(pulumi config set aws:region us-east-1\)/);
            assert.equal(registered(), 0);
        });
    });
});
