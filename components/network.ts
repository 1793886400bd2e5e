// Network: the VPC the cluster and the data stores live in. A public and a
// private subnet per availability zone, NAT for the private subnets' egress,
// VPC flow logs, and a default security group that allows nothing.
//
// Plain @pulumi/aws resources (not awsx), so every input is visible to the
// tests and to the policy pack.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { NatMode } from "../config/aws";

export interface NetworkArgs {
    /** The stack's region (`aws:region`); the zones are in it, and its S3 endpoint is the gateway endpoint's. */
    readonly region: string;
    /** The VPC's IPv4 block (validated by config: /16 to /20, private space). */
    readonly cidr: string;
    /** Zones to spread over; one public and one private subnet in each. */
    readonly availabilityZones: readonly string[];
    /** `perAz`: one NAT gateway per zone; `single`: one NAT gateway for every zone. */
    readonly natGateways: NatMode;
    /** Retention of the flow-log group, in days. */
    readonly flowLogRetentionDays: number;
    /** The EKS cluster that will use the subnets (its name goes into the discovery tags). */
    readonly clusterName: string;
    /** Tags for every resource. */
    readonly tags: Record<string, string>;
}

/** One zone's pair of subnets. */
export interface SubnetPlan {
    readonly zone: string;
    readonly privateCidr: string;
    readonly publicCidr: string;
}

/**
 * Splits the VPC block: private subnets take /(p+3) slices from the bottom
 * (nodes and pods: the VPC CNI gives every pod a VPC address, so they are
 * large), public subnets take /(p+6) slices from the upper half (load
 * balancers and NAT gateways only). A /16 gives /19 private (8190 addresses)
 * and /22 public subnets; up to 4 zones fit, leaving room to grow.
 */
export function planSubnets(cidr: string, zones: readonly string[]): SubnetPlan[] {
    const [ip, prefixText] = cidr.split("/");
    const prefix = Number(prefixText);
    const base = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    if (zones.length > 4) throw new Error(`planSubnets: at most 4 zones fit the layout, got ${zones.length}`);
    const privateSize = 2 ** (32 - (prefix + 3));
    const publicSize = 2 ** (32 - (prefix + 6));
    const half = 2 ** (32 - prefix) / 2;
    return zones.map((zone, i) => ({
        zone,
        privateCidr: `${dotted(base + i * privateSize)}/${prefix + 3}`,
        publicCidr: `${dotted(base + half + i * publicSize)}/${prefix + 6}`,
    }));
}

function dotted(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export class Network extends pulumi.ComponentResource {
    public readonly vpc: aws.ec2.Vpc;
    public readonly vpcId: pulumi.Output<string>;
    /** The VPC's IPv4 block (for security-group rules that admit the whole VPC). */
    public readonly vpcCidr: pulumi.Output<string>;
    /** One per zone, in zone order. Nodes, databases and caches go here. */
    public readonly privateSubnetIds: pulumi.Output<string>[];
    /** One per zone, in zone order. Internet-facing load balancers and NAT gateways only. */
    public readonly publicSubnetIds: pulumi.Output<string>[];
    public readonly natGatewayIds: pulumi.Output<string>[];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:network:Network", name, {}, opts);
        const tags = (extra: Record<string, string>) => ({ ...args.tags, ...extra });
        const plan = planSubnets(args.cidr, args.availabilityZones);

        this.vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: args.cidr,
                // EKS nodes and RDS/ElastiCache endpoints resolve through the VPC's DNS.
                enableDnsSupport: true,
                enableDnsHostnames: true,
                tags: tags({ Name: `${name}-vpc` }),
            },
            { parent: this },
        );
        this.vpcId = this.vpc.id;
        this.vpcCidr = this.vpc.cidrBlock;

        // FSBP EC2.2: the default security group allows no inbound or outbound
        // traffic. Declaring it with no rules makes Pulumi strip the rules AWS
        // puts on it, so nothing can fall back to it by accident.
        new aws.ec2.DefaultSecurityGroup(
            `${name}-default-sg`,
            { vpcId: this.vpc.id, ingress: [], egress: [], tags: tags({ Name: `${name}-default-deny` }) },
            { parent: this },
        );

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: tags({ Name: `${name}-igw` }) }, { parent: this });

        const publicRoutes = new aws.ec2.RouteTable(
            `${name}-public-rt`,
            { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags({ Name: `${name}-public` }) },
            { parent: this },
        );

        const publicSubnets = plan.map((p) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-public-${p.zone}`,
                {
                    vpcId: this.vpc.id,
                    cidrBlock: p.publicCidr,
                    availabilityZone: p.zone,
                    // FSBP EC2.15: no automatic public IPs, even here: load balancers and
                    // NAT gateways get their addresses explicitly; nothing else runs here.
                    mapPublicIpOnLaunch: false,
                    tags: tags({
                        Name: `${name}-public-${p.zone}`,
                        tier: "public",
                        // Where the AWS Load Balancer Controller puts internet-facing load balancers.
                        "kubernetes.io/role/elb": "1",
                        [`kubernetes.io/cluster/${args.clusterName}`]: "shared",
                    }),
                },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-public-${p.zone}`,
                { subnetId: subnet.id, routeTableId: publicRoutes.id },
                { parent: this },
            );
            return subnet;
        });

        // NAT per zone in production: an AZ outage does not cut the other zones'
        // egress (image pulls, AWS APIs). One shared NAT in staging, for cost.
        const natZones = args.natGateways === "perAz" ? plan.length : 1;
        const nats = plan.slice(0, natZones).map((p, i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${p.zone}`, { domain: "vpc", tags: tags({ Name: `${name}-nat-${p.zone}` }) }, { parent: this });
            return new aws.ec2.NatGateway(
                `${name}-nat-${p.zone}`,
                { allocationId: eip.id, subnetId: publicSubnets[i].id, connectivityType: "public", tags: tags({ Name: `${name}-nat-${p.zone}` }) },
                { parent: this, dependsOn: [igw] },
            );
        });

        const privateRouteTables: aws.ec2.RouteTable[] = [];
        const privateSubnets = plan.map((p, i) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-private-${p.zone}`,
                {
                    vpcId: this.vpc.id,
                    cidrBlock: p.privateCidr,
                    availabilityZone: p.zone,
                    // FSBP EC2.15: nothing in a private subnet gets a public address.
                    mapPublicIpOnLaunch: false,
                    tags: tags({
                        Name: `${name}-private-${p.zone}`,
                        tier: "private",
                        // Where internal load balancers go.
                        "kubernetes.io/role/internal-elb": "1",
                        [`kubernetes.io/cluster/${args.clusterName}`]: "shared",
                    }),
                },
                { parent: this },
            );
            const nat = nats[args.natGateways === "perAz" ? i : 0];
            const routes = new aws.ec2.RouteTable(
                `${name}-private-${p.zone}`,
                { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tags({ Name: `${name}-private-${p.zone}` }) },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(`${name}-private-${p.zone}`, { subnetId: subnet.id, routeTableId: routes.id }, { parent: this });
            privateRouteTables.push(routes);
            return subnet;
        });

        this.publicSubnetIds = publicSubnets.map((s) => s.id);
        this.privateSubnetIds = privateSubnets.map((s) => s.id);
        this.natGatewayIds = nats.map((n) => n.id);

        // S3 traffic from the private subnets (image layers, database backups to
        // s3://candlefish-backups) stays on the AWS network and off the NAT bill.
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: this.vpc.id,
                serviceName: `com.amazonaws.${args.region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRouteTables.map((r) => r.id),
                tags: tags({ Name: `${name}-s3` }),
            },
            { parent: this },
        );

        // FSBP EC2.6: VPC flow logging, all traffic (accepted and rejected), to CloudWatch Logs.
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-flow-logs`,
            { name: `/aws/vpc/flow-logs/${name}`, retentionInDays: args.flowLogRetentionDays, tags: args.tags },
            { parent: this },
        );
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const flowLogRole = new aws.iam.Role(
            `${name}-flow-logs`,
            {
                description: `VPC flow logs of ${name} to CloudWatch Logs`,
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            // Confused-deputy guard: only flow logs of this account may assume it.
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                    ],
                }),
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: flowLogRole.id,
                // Least privilege: write to this one log group only.
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                            Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
                        },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.ec2.FlowLog(
            `${name}-flow-log`,
            {
                vpcId: this.vpc.id,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: logGroup.arn,
                iamRoleArn: flowLogRole.arn,
                maxAggregationInterval: 60,
                tags: args.tags,
            },
            { parent: this },
        );

        this.registerOutputs({
            vpcId: this.vpcId,
            vpcCidr: this.vpcCidr,
            privateSubnetIds: this.privateSubnetIds,
            publicSubnetIds: this.publicSubnetIds,
        });
    }
}
