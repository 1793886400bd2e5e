// The runbook's "Alert Thresholds" as Prometheus alerting rules, in the
// PrometheusRule `candlefish-runbook-alerts`. Pure data: the Monitoring
// component declares it, and the tests hand exactly this to `promtool`.
//
// Application rules select only by `namespace` and `app` and aggregate by
// them, so both colors of a service count together (a flip does not reset an
// alert) and the alert's `app` label names the service on-call acts on.

/** Runbook thresholds ("Critical Alerts", "Warning Alerts"). */
export const THRESHOLDS = {
    /** Certificate time left (days): renewal overdue (warning), expiry imminent (critical). */
    certificateRenewalOverdueDays: 21,
    certificateExpiresSoonDays: 7,
    /** Error rate > 5% */
    errorRatio: 0.05,
    /** Response time P95 > 2s */
    latencyP95Seconds: 2,
    /** CPU usage > 80% (of the container's limit) */
    cpuRatio: 0.8,
    /** Memory usage > 80% (of the container's limit) */
    memoryRatio: 0.8,
    /** Disk usage > 85% */
    diskRatio: 0.85,
    /** High database connections (> 80% of max) */
    dbConnectionRatio: 0.8,
} as const;

/**
 * What HighErrorRate counts, precisely: responses the services themselves
 * answered with a 5xx status (`http_requests_total{code=~"5.."}`) over all
 * their responses, per app (both colors together), over 5 minutes. 4xx
 * (a client's mistake, e.g. an expired token or a scanner's 404) and 3xx are
 * not errors here; the original runbook's troubleshooting query
 * (`code!~"2.."`) counted them too. Requests that never reach a service (no
 * ready pod) are not in this series: ServiceDown covers them.
 */
export const ERROR_CODES_REGEX = "5..";

/**
 * How long a condition must hold before it pages. Critical alerts are short:
 * the runbook's rollback takes 30 seconds, and a switch is verified within
 * "5-10 minutes", so an error-rate alert must arrive inside that window.
 * Warnings wait long enough to ignore a deploy's or a batch job's spike.
 */
export const FOR_DURATIONS = {
    ServiceDown: "1m",
    HighErrorRate: "2m",
    HighLatencyP95: "5m",
    DatabaseConnectionFailures: "1m",
    HighCPUUsage: "10m",
    HighMemoryUsage: "10m",
    HighDiskUsage: "15m",
    HighDatabaseConnections: "10m",
    // The platform under the services: the runbook's CPU/memory > 80% and disk
    // > 85% for the nodes and for the RDS instance, not only for containers and PVCs.
    NodeHighCPUUsage: "10m",
    NodeHighMemoryUsage: "10m",
    NodeHighDiskUsage: "15m",
    RDSHighCPUUsage: "10m",
    RDSHighMemoryUsage: "10m",
    RDSHighDiskUsage: "15m",
    // CloudWatch data arrives 5-10 minutes late; 15 minutes without any is an outage of the exporter.
    RDSMetricsMissing: "15m",
    // cert-manager renews 30 days ahead (components/certificates.ts, renewBefore 720h): under
    // 21 days left means renewal has been failing for 9 days; under 7, users will see it soon.
    CertificateRenewalOverdue: "1h",
    CertificateExpiresSoon: "10m",
    // No certificate metrics: cert-manager is not scraped, or the certificate was never issued.
    CertificateMetricsMissing: "30m",
    // The age is already a day; a few minutes of scrape gaps must not page.
    LogicalBackupMissing: "15m",
} as const;

export type AlertName = keyof typeof FOR_DURATIONS;
export const ALERT_NAMES = Object.keys(FOR_DURATIONS) as AlertName[];
export const CRITICAL_ALERTS: readonly AlertName[] = ["ServiceDown", "HighErrorRate", "HighLatencyP95", "DatabaseConnectionFailures", "CertificateExpiresSoon"];
export const WARNING_ALERTS: readonly AlertName[] = [
    "HighCPUUsage",
    "HighMemoryUsage",
    "HighDiskUsage",
    "HighDatabaseConnections",
    "NodeHighCPUUsage",
    "NodeHighMemoryUsage",
    "NodeHighDiskUsage",
    "RDSHighCPUUsage",
    "RDSHighMemoryUsage",
    "RDSHighDiskUsage",
    "RDSMetricsMissing",
    "CertificateRenewalOverdue",
    "CertificateMetricsMissing",
    "LogicalBackupMissing",
];
/** The alerts that exist only where the RDS instance is watched (RuleOptions.rds). */
export const RDS_ALERTS: readonly AlertName[] = ["RDSHighCPUUsage", "RDSHighMemoryUsage", "RDSHighDiskUsage", "RDSMetricsMissing"];

/** The PrometheusRule's fixed name. */
export const RULE_NAME = "candlefish-runbook-alerts";
/** Service (and so `job` label) of the postgres_exporter scrape target. */
export const POSTGRES_EXPORTER = "postgres-exporter";
export const REDIS_EXPORTER = "redis-exporter";
/** Service (and `job`) of the CloudWatch exporter (YACE) that reads the RDS instance's CloudWatch metrics. */
export const CLOUDWATCH_EXPORTER = "cloudwatch-exporter";
/** kube-prometheus-stack's node-exporter job (its Service's `jobLabel`). */
export const NODE_EXPORTER_JOB = "node-exporter";

export interface AlertRule {
    readonly alert: AlertName;
    readonly expr: string;
    readonly for: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
}
export interface RuleGroup {
    readonly name: string;
    readonly interval?: string;
    readonly rules: readonly AlertRule[];
}

export interface RuleOptions {
    /** The app namespace (production, staging). */
    readonly namespace: string;
    /** Service names; each is reached through its live `<name>-service`. */
    readonly services: readonly string[];
    /**
     * The RDS instance, watched through the CloudWatch exporter; omitted: no RDS
     * alerts. `memoryBytes` is the instance class's memory (CloudWatch reports only
     * FreeableMemory, never the total).
     */
    readonly rds?: { readonly memoryBytes: number };
    /** The scheduled pg_dump's CronJob in the app namespace; omitted: no backup alert. */
    readonly logicalBackup?: { readonly cronJob: string; readonly alertAfterHours: number };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
/** A PromQL regex alternative of names, quoted for a label matcher. */
const alt = (names: readonly string[]) => names.map(escapeRegex).join("|");

// ---------------------------------------------------------------------------
// The service-level expressions, one definition for every user: the
// PrometheusRule below and the bake of `npm run switch` (switch/bake.ts), which
// evaluates the same expressions for one service and one color. A selector goes
// in, PromQL comes out; the threshold is read from THRESHOLDS when called, so
// the rule and the bake always compare against the same number.

/** The label selector of the application rules: `namespace`, `app` (and, for one color, `version`). */
export function serviceSelector(o: { readonly namespace: string; readonly services: readonly string[]; readonly version?: string }): string {
    return `namespace="${o.namespace}", app=~"${alt(o.services)}"${o.version ? `, version="${o.version}"` : ""}`;
}

/** Requests per second by (namespace, app): the error ratio's denominator, and "is there any traffic at all". */
export function requestRateExpr(selector: string): string {
    return `sum by (namespace, app) (rate(http_requests_total{${selector}}[5m]))`;
}

/** The share of requests answered with a 5xx, by (namespace, app). */
export function errorRatioExpr(selector: string): string {
    return `sum by (namespace, app) (rate(http_requests_total{${selector}, code=~"${ERROR_CODES_REGEX}"}[5m]))\n/\n${requestRateExpr(selector)}`;
}

/** P95 request latency in seconds, by (namespace, app). */
export function latencyP95Expr(selector: string): string {
    return `histogram_quantile(0.95, sum by (namespace, app, le) (rate(http_request_duration_seconds_bucket{${selector}}[5m])))`;
}

/** A value expression and its threshold: the alert fires (and a bake breaches) when value > threshold. */
export interface ServiceObjective {
    readonly alert: "HighErrorRate" | "HighLatencyP95";
    /** What the number is, for messages. */
    readonly what: string;
    readonly value: (selector: string) => string;
    readonly threshold: () => number;
    /** The comparison the rule renders: a breach is exactly `value > threshold`. */
    readonly breaches: (value: number) => boolean;
    /** The alert expression: value, then `> threshold`. */
    readonly expr: (selector: string) => string;
}

function objective(alert: ServiceObjective["alert"], what: string, value: (sel: string) => string, threshold: () => number): ServiceObjective {
    return { alert, what, value, threshold, breaches: (v) => v > threshold(), expr: (sel) => `${value(sel)}\n> ${threshold()}` };
}

/** The runbook's critical service objectives, shared by the PrometheusRule and the switch's bake. */
export const SERVICE_OBJECTIVES: readonly ServiceObjective[] = [
    objective("HighErrorRate", "error ratio", errorRatioExpr, () => THRESHOLDS.errorRatio),
    objective("HighLatencyP95", "P95 latency", latencyP95Expr, () => THRESHOLDS.latencyP95Seconds),
];
/** 0.05 -> "5%" (for messages; never rounded into a different number). */
export const percent = (ratio: number) => `${Number((ratio * 100).toPrecision(6))}%`;
const objectiveOf = (alert: ServiceObjective["alert"]) => SERVICE_OBJECTIVES.find((o) => o.alert === alert)!;

/** Inline PromQL for a warning's `app` label: pods' `app` label from kube-state-metrics. */
const podApp = (ns: string) =>
    `max by (namespace, pod, app) (label_replace(kube_pod_labels{namespace="${ns}"}, "app", "$1", "label_app", "(.+)"))`;

export function runbookAlertGroups(o: RuleOptions): RuleGroup[] {
    const ns = o.namespace;
    const liveServices = alt(o.services.map((s) => `${s}-service`));
    const sel = serviceSelector({ namespace: ns, services: o.services });
    const pg = `namespace="${ns}", job="${POSTGRES_EXPORTER}"`;
    const node = `job="${NODE_EXPORTER_JOB}"`;
    const rule: RuleFn = (alert, expr, severity, annotations, labels = {}) => ({
        alert,
        expr,
        for: FOR_DURATIONS[alert],
        labels: { severity, ...labels },
        annotations,
    });

    return [
        {
            name: "candlefish-services",
            rules: [
                // "Service down (0 healthy instances)": the live Service has no ready
                // endpoint address. kube-state-metrics keys endpoints by name, so the
                // `app` label is recovered from `<app>-service`.
                rule(
                    "ServiceDown",
                    `label_replace(\n` +
                        `  count by (namespace, endpoint) (kube_endpoint_info{namespace="${ns}", endpoint=~"${liveServices}"})\n` +
                        `  unless\n` +
                        `  count by (namespace, endpoint) (kube_endpoint_address{namespace="${ns}", endpoint=~"${liveServices}", ready="true"}),\n` +
                        `  "app", "$1", "endpoint", "(.+)-service"\n` +
                        `)`,
                    "critical",
                    {
                        summary: "{{ $labels.app }}: 0 healthy instances behind {{ $labels.endpoint }}",
                        description:
                            "The live Service {{ $labels.namespace }}/{{ $labels.endpoint }} has no ready endpoint. Runbook: Troubleshooting > Service Unavailable; if a switch just happened, Rollback Procedures > Emergency Rollback (pulumi config set activeColor <previous>).",
                    },
                ),
                rule(
                    "HighErrorRate",
                    objectiveOf("HighErrorRate").expr(sel),
                    "critical",
                    {
                        summary: `{{ $labels.app }}: {{ $value | humanizePercentage }} of requests fail with 5xx (threshold ${percent(THRESHOLDS.errorRatio)})`,
                        description: "Runbook: Troubleshooting > High Error Rate. Roll back if a deployment is recent (Rollback Procedures > Emergency Rollback).",
                    },
                ),
                rule(
                    "HighLatencyP95",
                    objectiveOf("HighLatencyP95").expr(sel),
                    "critical",
                    {
                        summary: `{{ $labels.app }}: P95 latency {{ $value | humanizeDuration }} (threshold ${THRESHOLDS.latencyP95Seconds}s)`,
                        description: "Runbook: Blue-Green Deployment Verification > Performance Verification; compare colors on the Services dashboard.",
                    },
                ),
            ],
        },
        {
            name: "candlefish-database",
            rules: [
                // "Database connection failures": the exporter cannot connect (pg_up 0),
                // or nobody is checking: the exporter does not answer its scrape (up 0)
                // or is not scraped at all (absent). A silent exporter must page, or a
                // deleted Deployment would hide a database outage. `reason` says which.
                rule(
                    "DatabaseConnectionFailures",
                    `label_replace(max by (namespace, job) (pg_up{${pg}}) == 0, "reason", "pg_up == 0", "", "")\n` +
                        `or\n` +
                        `label_replace(max by (namespace, job) (up{${pg}}) == 0, "reason", "exporter down (up == 0)", "", "")\n` +
                        `or\n` +
                        `label_replace(absent(up{${pg}}), "reason", "exporter not scraped", "", "")`,
                    "critical",
                    {
                        summary: "PostgreSQL connection failures or no connection check: {{ $labels.reason }}",
                        description:
                            "pg_up == 0: the database is unreachable from the cluster. Otherwise postgres-exporter itself is down or gone and nothing checks the database (kubectl -n {{ $labels.namespace }} get deploy,pods -l app=postgres-exporter). Runbook: Troubleshooting > Database Connection Issues (credentials in secrets, security group rules, DNS), Emergency Procedures > Database Emergency.",
                    },
                    { app: "postgresql" },
                ),
                rule(
                    "HighDatabaseConnections",
                    `sum by (namespace, job) (pg_stat_activity_count{${pg}})\n` +
                        `/ on (namespace, job)\n` +
                        `max by (namespace, job) (pg_settings_max_connections{${pg}})\n` +
                        `> ${THRESHOLDS.dbConnectionRatio}`,
                    "warning",
                    {
                        summary: "PostgreSQL connections at {{ $value | humanizePercentage }} of max_connections (threshold 80%)",
                        description: "Runbook: Monitoring & Alerting > Database Metrics. Look for connection leaks or an over-scaled color before raising max_connections.",
                    },
                    { app: "postgresql" },
                ),
            ],
        },
        {
            name: "candlefish-resources",
            rules: [
                rule(
                    "HighCPUUsage",
                    `(\n` +
                        `  sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{namespace="${ns}", container!="", container!="POD"}[5m]))\n` +
                        `  / on (namespace, pod, container)\n` +
                        `  sum by (namespace, pod, container) (kube_pod_container_resource_limits{namespace="${ns}", resource="cpu"})\n` +
                        `  * on (namespace, pod) group_left (app) ${podApp(ns)}\n` +
                        `) > ${THRESHOLDS.cpuRatio}`,
                    "warning",
                    {
                        summary: "{{ $labels.app }} {{ $labels.pod }}/{{ $labels.container }}: CPU at {{ $value | humanizePercentage }} of its limit (threshold 80%)",
                        description: "Runbook: Troubleshooting > Pod Stuck in Pending (resources); raise services.<name>.limits.cpu or the color's replicas.",
                    },
                ),
                rule(
                    "HighMemoryUsage",
                    `(\n` +
                        `  sum by (namespace, pod, container) (container_memory_working_set_bytes{namespace="${ns}", container!="", container!="POD"})\n` +
                        `  / on (namespace, pod, container)\n` +
                        `  sum by (namespace, pod, container) (kube_pod_container_resource_limits{namespace="${ns}", resource="memory"})\n` +
                        `  * on (namespace, pod) group_left (app) ${podApp(ns)}\n` +
                        `) > ${THRESHOLDS.memoryRatio}`,
                    "warning",
                    {
                        summary: "{{ $labels.app }} {{ $labels.pod }}/{{ $labels.container }}: memory at {{ $value | humanizePercentage }} of its limit (threshold 80%)",
                        description: "The container is close to being OOM-killed; raise services.<name>.limits.memory or find the leak.",
                    },
                ),
                // Every persistent volume in the cluster (Prometheus's and
                // AlertManager's own among them): the app pods keep no state on disk.
                rule(
                    "HighDiskUsage",
                    `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes)\n` +
                        `/ on (namespace, persistentvolumeclaim)\n` +
                        `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes)\n` +
                        `> ${THRESHOLDS.diskRatio}`,
                    "warning",
                    {
                        summary: "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full (threshold 85%)",
                        description: "Grow the volume (gp3 expands online) or shorten retention (monitoring.retention).",
                    },
                ),
            ],
        },
        {
            // The nodes under every pod (node-exporter, one series per node).
            name: "candlefish-nodes",
            rules: [
                rule(
                    "NodeHighCPUUsage",
                    `1 - avg by (instance) (rate(node_cpu_seconds_total{${node}, mode="idle"}[5m]))\n> ${THRESHOLDS.cpuRatio}`,
                    "warning",
                    {
                        summary: `Node {{ $labels.instance }}: CPU at {{ $value | humanizePercentage }} (threshold ${percent(THRESHOLDS.cpuRatio)})`,
                        description: "Runbook: Troubleshooting > Pod Stuck in Pending (resources). Raise cluster.nodeGroups[].desiredSize/maxSize or the instance type.",
                    },
                ),
                rule(
                    "NodeHighMemoryUsage",
                    `1 - max by (instance) (node_memory_MemAvailable_bytes{${node}})\n/ max by (instance) (node_memory_MemTotal_bytes{${node}})\n> ${THRESHOLDS.memoryRatio}`,
                    "warning",
                    {
                        summary: `Node {{ $labels.instance }}: memory at {{ $value | humanizePercentage }} (threshold ${percent(THRESHOLDS.memoryRatio)})`,
                        description: "The kubelet starts evicting pods when memory runs out. Raise cluster.nodeGroups sizes, or lower requests that overcommit the node.",
                    },
                ),
                // Every real filesystem of the node (the chart's node-exporter already
                // ignores tmpfs, overlay and the kubelet's pod mounts).
                rule(
                    "NodeHighDiskUsage",
                    `1 - max by (instance, mountpoint) (node_filesystem_avail_bytes{${node}, fstype!=""})\n/ max by (instance, mountpoint) (node_filesystem_size_bytes{${node}, fstype!=""})\n> ${THRESHOLDS.diskRatio}`,
                    "warning",
                    {
                        summary: `Node {{ $labels.instance }}: {{ $labels.mountpoint }} is {{ $value | humanizePercentage }} full (threshold ${percent(THRESHOLDS.diskRatio)})`,
                        description: "Images and logs fill the node's root volume; the kubelet garbage-collects images at 85% and evicts pods at 90%. Grow the node group's disk or replace the node (Node Maintenance: drain).",
                    },
                ),
            ],
        },
        ...(o.rds ? [rdsGroup(o.rds.memoryBytes, rule)] : []),
        ...(o.logicalBackup ? [backupGroup(ns, o.logicalBackup.cronJob, o.logicalBackup.alertAfterHours, rule)] : []),
        {
            // TLS (runbook "Certificate Renewal": "cert-manager should handle this"; these say when it did not).
            // cert-manager's metrics are scraped with honorLabels, so `namespace` is the Certificate's.
            name: "candlefish-certificates",
            rules: [
                rule(
                    "CertificateRenewalOverdue",
                    `min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds) - time()\n< ${THRESHOLDS.certificateRenewalOverdueDays} * 86400`,
                    "warning",
                    {
                        summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in {{ $value | humanizeDuration }} and was not renewed",
                        description: `cert-manager renews 30 days ahead; under ${THRESHOLDS.certificateRenewalOverdueDays} days left, renewal has been failing. kubectl describe certificate {{ $labels.name }} -n {{ $labels.namespace }}; kubectl get certificaterequests,orders,challenges -n {{ $labels.namespace }}.`,
                    },
                ),
                rule(
                    "CertificateExpiresSoon",
                    `min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds) - time()\n< ${THRESHOLDS.certificateExpiresSoonDays} * 86400`,
                    "critical",
                    {
                        summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in {{ $value | humanizeDuration }}",
                        description: "Browsers will refuse the site when it expires. Runbook: Security Procedures > Certificate Renewal; check the ACME challenge (HTTP-01 through ingress-nginx) and Let's Encrypt's rate limits.",
                    },
                ),
                rule(
                    "CertificateMetricsMissing",
                    `absent(certmanager_certificate_expiration_timestamp_seconds{namespace="${ns}"})`,
                    "warning",
                    {
                        summary: "No certificate expiry metrics for namespace {{ $labels.namespace }}: the certificate alerts cannot fire",
                        description: "cert-manager is not scraped (kubectl -n cert-manager get servicemonitor,endpoints cert-manager) or the certificate was never issued (kubectl get certificate -n {{ $labels.namespace }}).",
                    },
                ),
            ],
        },
    ];
}

type RuleFn = (alert: AlertName, expr: string, severity: "critical" | "warning", annotations: Record<string, string>, labels?: Record<string, string>) => AlertRule;

/**
 * The RDS instance, from its CloudWatch metrics as the CloudWatch exporter
 * (YACE, components/cloudwatch-exporter.ts) exports them: `aws_rds_<metric>_average`
 * per `dimension_DBInstanceIdentifier`, and `aws_rds_allocated_storage` (bytes,
 * from rds:DescribeDBInstances, so it follows storage autoscaling).
 */
function rdsGroup(memoryBytes: number, rule: RuleFn): RuleGroup {
    const cw = `job="${CLOUDWATCH_EXPORTER}"`;
    const by = "max by (dimension_DBInstanceIdentifier)";
    const db = { app: "postgresql" };
    return {
        name: "candlefish-rds",
        rules: [
            rule(
                "RDSHighCPUUsage",
                `${by} (aws_rds_cpuutilization_average{${cw}})\n> ${THRESHOLDS.cpuRatio * 100}`,
                "warning",
                {
                    summary: `RDS {{ $labels.dimension_DBInstanceIdentifier }}: CPU at {{ printf "%.1f" $value }}% (threshold ${percent(THRESHOLDS.cpuRatio)})`,
                    description: "Look for slow queries (Database dashboard: Query performance) before raising database.instanceClass.",
                },
                db,
            ),
            rule(
                "RDSHighMemoryUsage",
                `1 - ${by} (aws_rds_freeable_memory_average{${cw}}) / ${memoryBytes}\n> ${THRESHOLDS.memoryRatio}`,
                "warning",
                {
                    summary: `RDS {{ $labels.dimension_DBInstanceIdentifier }}: memory at {{ $value | humanizePercentage }} of the instance class's ${memoryBytes / 2 ** 30} GiB (threshold ${percent(THRESHOLDS.memoryRatio)})`,
                    description: "FreeableMemory is low: swapping follows. Check connection counts (each connection holds memory) before raising database.instanceClass.",
                },
                db,
            ),
            rule(
                "RDSHighDiskUsage",
                `1 - ${by} (aws_rds_free_storage_space_average{${cw}})\n/ ${by} (aws_rds_allocated_storage{${cw}})\n> ${THRESHOLDS.diskRatio}`,
                "warning",
                {
                    summary: `RDS {{ $labels.dimension_DBInstanceIdentifier }}: storage {{ $value | humanizePercentage }} used (threshold ${percent(THRESHOLDS.diskRatio)})`,
                    description: "Storage autoscaling grows the volume at 90% used until database.maxAllocatedStorage; if it is already there, raise it (pulumi config set --path database.maxAllocatedStorage ...).",
                },
                db,
            ),
            // Without CloudWatch data the three alerts above can never fire.
            rule(
                "RDSMetricsMissing",
                `absent(aws_rds_cpuutilization_average{${cw}})`,
                "warning",
                {
                    summary: "No RDS CloudWatch metrics: the RDS CPU, memory and storage alerts cannot fire",
                    description: "kubectl -n monitoring logs deploy/cloudwatch-exporter (IRSA role, cloudwatch:GetMetricData, tag:GetResources, rds:DescribeDBInstances).",
                },
                db,
            ),
        ],
    };
}

/**
 * The scheduled pg_dump (components/logical-backup.ts), from kube-state-metrics:
 * no successful run for `hours`, or none at all since the CronJob was created
 * that long ago. A failing backup is otherwise silent until someone needs it.
 */
function backupGroup(ns: string, cronJob: string, hours: number, rule: RuleFn): RuleGroup {
    const sel = `namespace="${ns}", cronjob="${cronJob}"`;
    const age = hours * 3600;
    return {
        name: "candlefish-backups",
        rules: [
            rule(
                "LogicalBackupMissing",
                `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${sel}}) > ${age}\n` +
                    `or\n` +
                    `time() - max by (namespace, cronjob) (kube_cronjob_created{${sel}}) > ${age}\n` +
                    `  unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${sel}}`,
                "warning",
                {
                    summary: `No successful logical backup (pg_dump) of {{ $labels.namespace }} for {{ $value | humanizeDuration }} (threshold ${hours}h)`,
                    description: `kubectl -n {{ $labels.namespace }} get jobs -l app=${cronJob}; kubectl -n {{ $labels.namespace }} logs job/<the last one> -c dump (then -c upload). Runbook: Disaster Recovery > Backup Procedures.`,
                },
                { app: "postgresql" },
            ),
        ],
    };
}

/** Every expression in the groups, by alert name. */
export function ruleExpressions(groups: readonly RuleGroup[]): { alert: string; expr: string }[] {
    return groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}
