// The RDS instance's CloudWatch metrics in Prometheus: YACE (prometheus-community's
// yet-another-cloudwatch-exporter) in `monitoring`, reading CPUUtilization,
// FreeableMemory and FreeStorageSpace, plus the allocated storage (so the
// disk alert follows storage autoscaling), through an IRSA role that can only
// read metrics. Runbook "Warning Alerts" for the database host: the alerts
// are Prometheus rules (components/alert-rules.ts, group candlefish-rds), so
// they reach the same AlertManager receivers, silences and inhibitions as
// every other alert, and promtool tests them like the others.
//
// Decision (issue 14, item 9): an exporter rather than CloudWatch alarms. Alarms
// would need SNS plus a Slack bridge (AWS Chatbot or a Lambda) and e-mail
// subscriptions confirmed by hand, a second routing tree that AlertManager's
// silences and inhibitions do not reach, and no offline test. The cost is one
// small pod and CloudWatch GetMetricData calls (3 metrics a minute).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as YAML from "yaml";
import { CLOUDWATCH_EXPORTER } from "./alert-rules";
import { irsaRole } from "./irsa";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";

/** Pinned. Enhanced metrics (RDS AllocatedStorage) exist from v0.64.0 (its CHANGELOG, #1795). */
export const YACE_IMAGE = "quay.io/prometheuscommunity/yet-another-cloudwatch-exporter:v0.67.0";
const PORT = 5000;
/** The image's USER nobody. */
const UID = 65534;
/** CloudWatch publishes RDS metrics every minute; YACE asks once a minute for the last 5. */
export const SCRAPE_INTERVAL_SECONDS = 60;
/** The RDS CloudWatch metrics the alerts read (YACE exports them as aws_rds_<snake_case>_average). */
export const RDS_METRICS = ["CPUUtilization", "FreeableMemory", "FreeStorageSpace"] as const;

export interface CloudWatchExporterArgs {
    /** The stack name (IAM role name). */
    readonly stack: string;
    /** Namespace the exporter runs in (`monitoring`). */
    readonly namespace: pulumi.Input<string>;
    readonly region: string;
    /** Tags that pick out this stack's RDS instance(s) in the Resource Groups Tagging API (all must match). */
    readonly searchTags: Readonly<Record<string, string>>;
    /** The cluster's IRSA issuer. */
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly oidcProviderUrl: pulumi.Input<string>;
    /** Tags for the IAM role. */
    readonly tags?: Record<string, string>;
}

/** YACE's config file: one discovery job for AWS/RDS in the stack's region, found by tag. */
export function yaceConfig(region: string, searchTags: Readonly<Record<string, string>>): Record<string, unknown> {
    // searchTags values are regexes: anchor and escape, so `staging` never matches `staging-2`.
    const exact = (v: string) => `^${v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
    return {
        apiVersion: "v1alpha1",
        discovery: {
            jobs: [
                {
                    type: "AWS/RDS",
                    regions: [region],
                    searchTags: Object.entries(searchTags).map(([key, value]) => ({ key, value: exact(value) })),
                    // Only the per-instance series (not the per-engine or per-class aggregates).
                    dimensionNameRequirements: ["DBInstanceIdentifier"],
                    period: 60,
                    length: 300,
                    metrics: RDS_METRICS.map((name) => ({ name, statistics: ["Average"] })),
                    // AllocatedStorage from rds:DescribeDBInstances, in bytes (aws_rds_allocated_storage).
                    enhancedMetrics: [{ name: "AllocatedStorage" }],
                },
            ],
        },
    };
}

export class CloudWatchExporter extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: CloudWatchExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:monitoring:CloudWatchExporter", name, {}, opts);
        const labels = { app: CLOUDWATCH_EXPORTER, "app.kubernetes.io/name": CLOUDWATCH_EXPORTER, "app.kubernetes.io/part-of": "candlefish-maturity-map" };

        // IRSA: only this service account assumes the role, and the role can only read.
        this.role = irsaRole(
            `${name}-irsa`,
            {
                roleName: `candlefish-${args.stack}-cloudwatch-exporter`,
                description: `CloudWatch exporter of the ${args.stack} cluster: read RDS metrics`,
                oidcProviderArn: args.oidcProviderArn,
                oidcProviderUrl: args.oidcProviderUrl,
                namespace: args.namespace,
                serviceAccount: CLOUDWATCH_EXPORTER,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            // None of these actions supports resource-level permissions
                            // (ListMetrics, GetMetricData, tag:GetResources), and
                            // DescribeDBInstances is called with a filter, which IAM
                            // authorizes against db:*; all four only read.
                            Sid: "ReadRdsMetrics",
                            Effect: "Allow",
                            Action: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources", "rds:DescribeDBInstances"],
                            Resource: "*",
                        },
                    ],
                }),
                tags: args.tags,
            },
            this,
        );

        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels, annotations: { "eks.amazonaws.com/role-arn": this.role.arn } },
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        const config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels },
                data: { "config.yml": YAML.stringify(yaceConfig(args.region, args.searchTags)) },
            },
            { parent: this },
        );

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: { app: CLOUDWATCH_EXPORTER } },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: CLOUDWATCH_EXPORTER,
                            // The Kubernetes API token is not needed; the EKS pod identity
                            // webhook mounts its own projected token for STS (IRSA).
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(UID, { fsGroup: false }),
                            containers: [
                                {
                                    name: CLOUDWATCH_EXPORTER,
                                    image: YACE_IMAGE,
                                    args: [
                                        "--config.file=/etc/yace/config.yml",
                                        // The default, 127.0.0.1:5000, is unreachable for Prometheus.
                                        `--listen-address=:${PORT}`,
                                        `--scraping-interval=${SCRAPE_INTERVAL_SECONDS}`,
                                    ],
                                    ports: [{ name: "metrics", containerPort: PORT, protocol: "TCP" }],
                                    env: [{ name: "AWS_REGION", value: args.region }],
                                    volumeMounts: [{ name: "config", mountPath: "/etc/yace", readOnly: true }],
                                    resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                                    readinessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 10 },
                                    livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 30 },
                                    securityContext: restrictedContainerSecurity(),
                                },
                            ],
                            volumes: [{ name: "config", configMap: { name: CLOUDWATCH_EXPORTER } }],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [sa, config], deleteBeforeReplace: true },
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: CLOUDWATCH_EXPORTER } } } },
            { parent: this, deleteBeforeReplace: true },
        );
        new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels },
                spec: { type: "ClusterIP", selector: { app: CLOUDWATCH_EXPORTER }, ports: [{ name: "metrics", port: PORT, targetPort: "metrics", protocol: "TCP" }] },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: CLOUDWATCH_EXPORTER, namespace: args.namespace, labels },
                spec: {
                    selector: { matchLabels: { app: CLOUDWATCH_EXPORTER } },
                    // CloudWatch values change once a minute; scraping faster only repeats them.
                    endpoints: [{ port: "metrics", interval: "60s", scrapeTimeout: "30s" }],
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );

        this.registerOutputs({ roleArn: this.role.arn });
    }
}
