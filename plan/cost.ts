// A monthly cost estimate of a rendered stack at its configured sizes
// (docs/FIRST-DEPLOY.md "What it costs"). Quantities come from what the
// program declares (node groups, NAT gateways, the RDS instance, the cache,
// volumes, keys, secrets), prices from PRICES, each with its public source and
// the date it was read; a price no public page confirmed is marked unverified.
// test/first-deploy.test.ts checks the doc's tables against this, so a resize
// in config/ that the doc does not follow fails.
import { RecordedResource, Rendered, reveal } from "./render";

/** Hours in a month, as AWS's pricing examples count them (24 x 365 / 12). */
export const HOURS_PER_MONTH = 730;

export interface Price {
    readonly usd: number;
    readonly unit: string;
    /** Where the figure was read (a public page), or why there is none. */
    readonly source: string;
    /** When the page states it (or when it was read). */
    readonly date: string;
    /** false: no public page read for this estimate confirmed the figure. */
    readonly verified: boolean;
}

const READ = "read 2026-11-30";

/** us-east-1, on-demand, Linux; USD. */
export const PRICES = {
    eksCluster: {
        usd: 0.1,
        unit: "cluster-hour (standard support)",
        source: "AWS Containers Blog, \"Amazon EKS extended support for Kubernetes versions pricing\" (standard support $0.10, extended $0.60 per cluster-hour)",
        date: `2024, ${READ}`,
        verified: true,
    },
    "ec2:t3.large": {
        usd: 0.0832,
        unit: "instance-hour",
        source: "go-cloud.io \"Amazon EC2 Pricing\" guide and hacecuentas.com EC2 calculator (t3.large us-east-1 $0.0832/hr)",
        date: `2026 (calculator reviewed 2026-04-17), ${READ}`,
        verified: true,
    },
    "ec2:m6i.xlarge": {
        usd: 0.192,
        unit: "instance-hour",
        source: "no public page read states it; $0.192 is m5.xlarge's rate (kindatechnical.com EKS pricing lesson) and m6i is assumed equal",
        date: READ,
        verified: false,
    },
    ebsGp3: { usd: 0.08, unit: "GiB-month", source: "no public page read states it (AWS EBS pricing page not read)", date: READ, verified: false },
    natGateway: {
        usd: 0.045,
        unit: "gateway-hour (+ $0.045 per GB processed)",
        source: "basavytix.com \"AWS NAT Gateway pricing\" and cloudburn.io NAT Gateway guide (us-east-1: $0.045/hr, $0.045/GB)",
        date: `2026-02-24, ${READ}`,
        verified: true,
    },
    publicIpv4: {
        usd: 0.005,
        unit: "address-hour",
        source: "doit.com \"AWS Public IPv4 price increase — the complete guide\"; AWS Networking blog \"Identify and optimize public IPv4 address usage on AWS\" (charged from 2024-02-01)",
        date: `2024-02-01, ${READ}`,
        verified: true,
    },
    nlb: {
        usd: 0.0225,
        unit: "load-balancer-hour (+ $0.006 per NLCU-hour)",
        source: "clustercost.com \"AWS Network Load Balancer Pricing (US-East-1 2025)\"; awsnegotiations.com \"Elastic Load Balancer Cost\"",
        date: `2025 / 2026-05, ${READ}`,
        verified: true,
    },
    "rds:db.t4g.medium": {
        usd: 0.065,
        unit: "instance-hour (single-AZ; Multi-AZ twice)",
        source: "infratally.com \"AWS RDS pricing explained (2026)\" (PostgreSQL db.t4g.medium single-AZ $0.065/hr, Multi-AZ $0.130/hr)",
        date: `2026, ${READ}`,
        verified: true,
    },
    "rds:db.r6g.large": {
        usd: 0.225,
        unit: "instance-hour (single-AZ; Multi-AZ twice)",
        source: "no public page read states it; Multi-AZ as twice single-AZ per the RDS User Guide \"On-Demand DB instances\" (\"approximately twice\")",
        date: READ,
        verified: false,
    },
    rdsGp3: {
        usd: 0.115,
        unit: "GiB-month (single-AZ; Multi-AZ twice)",
        source: "usage.ai \"RDS pricing calculator\" (gp3 $0.115/GB-month, backup storage up to 100% of provisioned size free); Multi-AZ storage charged for primary and standby (RDS User Guide)",
        date: `2026-06, ${READ}`,
        verified: true,
    },
    "elasticache:cache.r7g.large": { usd: 0.219, unit: "node-hour", source: "no public page read states it", date: READ, verified: false },
    "elasticache:cache.t4g.small": { usd: 0.032, unit: "node-hour", source: "no public page read states it", date: READ, verified: false },
    secret: {
        usd: 0.4,
        unit: "secret-month (+ $0.05 per 10,000 API calls)",
        source: "hivebook.wiki \"AWS Secrets Manager\" ($0.40 per secret per month + $0.05 per 10k API calls)",
        date: `undated page, ${READ}`,
        verified: true,
    },
    kmsKey: { usd: 1, unit: "key-month (+ requests)", source: "no public page read states it", date: READ, verified: false },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;

export interface CostLine {
    readonly item: string;
    /** What is counted, e.g. "3 x m6i.xlarge". */
    readonly quantity: string;
    readonly price: PriceKey;
    readonly monthlyUsd: number;
}

const of = (r: Rendered, type: string): RecordedResource[] => r.resources.filter((x) => x.type === type && !x.read);
const one = (r: Rendered, type: string): any => {
    const xs = of(r, type);
    if (xs.length !== 1) throw new Error(`cost: expected one ${type}, found ${xs.length}`);
    return reveal(xs[0].inputs);
};
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The stack's fixed monthly charges (usage-based charges are listed in the doc, not here). */
export function monthlyEstimate(r: Rendered): CostLine[] {
    const lines: CostLine[] = [];
    const hourly = (item: string, quantity: string, count: number, price: PriceKey) =>
        lines.push({ item, quantity, price, monthlyUsd: round2(count * PRICES[price].usd * HOURS_PER_MONTH) });
    const monthly = (item: string, quantity: string, count: number, price: PriceKey) =>
        lines.push({ item, quantity, price, monthlyUsd: round2(count * PRICES[price].usd) });
    const priceOf = (prefix: string, type: string): PriceKey => {
        const k = `${prefix}:${type}`;
        if (!(k in PRICES)) throw new Error(`cost: no price for ${k}; add it to PRICES in plan/cost.ts`);
        return k as PriceKey;
    };

    hourly("EKS control plane", `${of(r, "eks:index:Cluster").length} cluster`, of(r, "eks:index:Cluster").length, "eksCluster");

    // Nodes at their desired size, and their root volumes (the launch template's).
    const templates = new Map(of(r, "aws:ec2/launchTemplate:LaunchTemplate").map((t) => [t.name, reveal(t.inputs) as any]));
    for (const ng of of(r, "aws:eks/nodeGroup:NodeGroup")) {
        const i = reveal(ng.inputs) as any;
        const n: number = i.scalingConfig.desiredSize;
        const type: string = i.instanceTypes[0];
        const group = ng.name.replace(/^.*-eks-/, "");
        hourly(`Nodes (${group})`, `${n} x ${type}`, n, priceOf("ec2", type));
        // components/cluster.ts names each group's launch template as the group.
        const lt = templates.get(ng.name);
        if (!lt) throw new Error(`cost: no launch template for node group ${ng.name}`);
        const disk: number = lt.blockDeviceMappings[0].ebs.volumeSize;
        monthly(`Node root volumes (${group})`, `${n} x ${disk} GiB gp3`, n * disk, "ebsGp3");
    }

    const nat = of(r, "aws:ec2/natGateway:NatGateway").length;
    hourly("NAT gateways", `${nat}`, nat, "natGateway");
    // The NAT gateways' Elastic IPs, and the internet-facing NLB's one address per public subnet.
    const eips = of(r, "aws:ec2/eip:Eip").length;
    const publicSubnets = of(r, "aws:ec2/subnet:Subnet").filter((s) => /-public-/.test(s.name)).length;
    hourly("Public IPv4 addresses", `${eips} NAT + ${publicSubnets} NLB`, eips + publicSubnets, "publicIpv4");
    hourly("Network Load Balancer (ingress)", "1", 1, "nlb");

    const db = one(r, "aws:rds/instance:Instance");
    const az = db.multiAz ? 2 : 1;
    hourly("RDS PostgreSQL", `${db.instanceClass}${db.multiAz ? " Multi-AZ" : ""}`, az, priceOf("rds", db.instanceClass));
    monthly("RDS storage", `${db.allocatedStorage} GiB gp3${db.multiAz ? " x 2 (Multi-AZ)" : ""}`, db.allocatedStorage * az, "rdsGp3");

    const cache = one(r, "aws:elasticache/replicationGroup:ReplicationGroup");
    hourly("ElastiCache Redis", `${cache.numCacheClusters} x ${cache.nodeType}`, cache.numCacheClusters, priceOf("elasticache", cache.nodeType));

    // Prometheus, AlertManager and Grafana volumes (kube-prometheus-stack values).
    const mon = of(r, "kubernetes:helm.sh/v3:Release").map((x) => reveal(x.inputs) as any).find((x) => x.chart === "kube-prometheus-stack");
    if (mon) {
        const gi = (s: string) => Number(/^(\d+)Gi$/.exec(s)?.[1] ?? NaN);
        const p = mon.values.prometheus.prometheusSpec;
        const a = mon.values.alertmanager.alertmanagerSpec;
        const prom = p.replicas * gi(p.storageSpec.volumeClaimTemplate.spec.resources.requests.storage);
        const am = a.replicas * gi(a.storage.volumeClaimTemplate.spec.resources.requests.storage);
        const graf = gi(mon.values.grafana.persistence.size);
        monthly("Monitoring volumes", `Prometheus ${prom} + AlertManager ${am} + Grafana ${graf} GiB gp3`, prom + am + graf, "ebsGp3");
    }

    // The program's secrets, plus the one RDS manages for the master password.
    const secrets = of(r, "aws:secretsmanager/secret:Secret").length + 1;
    monthly("Secrets Manager", `${secrets - 1} + 1 RDS-managed`, secrets, "secret");
    const keys = of(r, "aws:kms/key:Key").length;
    monthly("KMS keys", `${keys}`, keys, "kmsKey");
    return lines;
}

export const totalUsd = (lines: readonly CostLine[]) => round2(lines.reduce((s, l) => s + l.monthlyUsd, 0));

const usd = (n: number) => `$${n.toFixed(2)}`;

/** The markdown table docs/FIRST-DEPLOY.md shows for a stack (checked by test/first-deploy.test.ts). */
export function costTable(lines: readonly CostLine[]): string {
    const rows = lines.map((l) => {
        const p = PRICES[l.price];
        return `| ${l.item} | ${l.quantity} | $${p.usd} per ${p.unit}${p.verified ? "" : " (unverified)"} | ${usd(l.monthlyUsd)} |`;
    });
    return ["| item | quantity | price | per month |", "|---|---|---|---|", ...rows, `| **fixed total** | | | **${usd(totalUsd(lines))}** |`].join("\n");
}
