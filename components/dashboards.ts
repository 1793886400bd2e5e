// Grafana dashboards for the runbook's "Key Metrics to Monitor", as plain
// dashboard JSON. The Monitoring component ships each as a ConfigMap that the
// chart's Grafana sidecar loads (label grafana_dashboard: "1").
//
// Every panel query is plain PromQL (no Grafana interval macros), so the
// tests parse each one with the Prometheus grammar. The only template
// variable, $app, sits inside a regex matcher's string.
import { POSTGRES_EXPORTER, REDIS_EXPORTER } from "./alert-rules";

export interface DashboardOptions {
    /** The app namespace (production, staging). */
    readonly namespace: string;
    /** Service names, for the $app variable. */
    readonly services: readonly string[];
}

export interface Target {
    readonly expr: string;
    readonly legendFormat: string;
    readonly refId: string;
}
export interface Panel {
    readonly id: number;
    readonly type: string;
    readonly title: string;
    readonly datasource: { readonly type: string; readonly uid: string };
    readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
    readonly fieldConfig: { readonly defaults: { readonly unit: string; readonly min?: number; readonly max?: number } };
    readonly targets: readonly Target[];
}
export interface Dashboard {
    readonly uid: string;
    readonly title: string;
    readonly tags: readonly string[];
    readonly schemaVersion: number;
    readonly time: { readonly from: string; readonly to: string };
    readonly refresh: string;
    readonly templating: { readonly list: readonly unknown[] };
    readonly panels: readonly Panel[];
}

const DATASOURCE = { type: "prometheus", uid: "prometheus" };

/** Lays panels out two to a row. */
function build(uid: string, title: string, specs: { title: string; unit: string; exprs: [string, string][]; max?: number }[], templating: unknown[] = []): Dashboard {
    return {
        uid,
        title,
        tags: ["candlefish"],
        schemaVersion: 39,
        time: { from: "now-6h", to: "now" },
        refresh: "30s",
        templating: { list: templating },
        panels: specs.map((p, i) => ({
            id: i + 1,
            type: "timeseries",
            title: p.title,
            datasource: DATASOURCE,
            gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
            fieldConfig: { defaults: { unit: p.unit, min: 0, ...(p.max !== undefined ? { max: p.max } : {}) } },
            targets: p.exprs.map(([expr, legendFormat], j) => ({ expr, legendFormat, refId: String.fromCharCode(65 + j) })),
        })),
    };
}

/** Services: RPS, error %, P95/P99 and availability, per service and per color (`version`). */
export function servicesDashboard(o: DashboardOptions): Dashboard {
    const sel = `namespace="${o.namespace}", app=~"$app"`;
    const rate = (m: string, extra = "") => `rate(${m}{${sel}${extra}}[5m])`;
    const q = (p: number) => `histogram_quantile(${p}, sum by (app, version, le) (${rate("http_request_duration_seconds_bucket")}))`;
    const appVar = {
        name: "app",
        label: "Service",
        type: "custom",
        query: o.services.join(","),
        multi: true,
        includeAll: true,
        allValue: o.services.join("|"),
        current: { text: "All", value: "$__all" },
    };
    return build(
        "candlefish-services",
        "Candlefish / Services (blue vs green)",
        [
            { title: "Requests per second", unit: "reqps", exprs: [[`sum by (app, version) (${rate("http_requests_total")})`, "{{app}} {{version}}"]] },
            {
                title: "Error rate (5xx %)",
                unit: "percentunit",
                exprs: [
                    [`sum by (app, version) (${rate("http_requests_total", ', code=~"5.."')}) / sum by (app, version) (${rate("http_requests_total")})`, "{{app}} {{version}}"],
                ],
            },
            { title: "Latency P95", unit: "s", exprs: [[q(0.95), "{{app}} {{version}} p95"]] },
            { title: "Latency P99", unit: "s", exprs: [[q(0.99), "{{app}} {{version}} p99"]] },
            {
                title: "Availability (non-5xx share)",
                unit: "percentunit",
                max: 1,
                exprs: [
                    [`1 - (sum by (app, version) (${rate("http_requests_total", ', code=~"5.."')}) / sum by (app, version) (${rate("http_requests_total")}))`, "{{app}} {{version}}"],
                ],
            },
            {
                title: "Healthy instances behind the live Service",
                unit: "short",
                exprs: [[`sum by (endpoint) (kube_endpoint_address{namespace="${o.namespace}", ready="true"})`, "{{endpoint}}"]],
            },
            {
                title: "Ready pods per color",
                unit: "short",
                exprs: [
                    [
                        `sum by (app, version) (kube_pod_status_ready{namespace="${o.namespace}", condition="true"} * on (namespace, pod) group_left (app, version) label_replace(label_replace(kube_pod_labels{namespace="${o.namespace}", label_app=~"$app"}, "app", "$1", "label_app", "(.+)"), "version", "$1", "label_version", "(.+)"))`,
                        "{{app}} {{version}}",
                    ],
                ],
            },
        ],
        [appVar],
    );
}

/** Infrastructure: CPU, memory, disk and network, for the app pods and the nodes. */
export function infrastructureDashboard(o: DashboardOptions): Dashboard {
    const ns = `namespace="${o.namespace}"`;
    return build("candlefish-infrastructure", "Candlefish / Infrastructure", [
        {
            title: "Container CPU (% of limit)",
            unit: "percentunit",
            exprs: [
                [
                    `sum by (pod, container) (rate(container_cpu_usage_seconds_total{${ns}, container!="", container!="POD"}[5m])) / sum by (pod, container) (kube_pod_container_resource_limits{${ns}, resource="cpu"})`,
                    "{{pod}}/{{container}}",
                ],
            ],
        },
        {
            title: "Container memory (% of limit)",
            unit: "percentunit",
            exprs: [
                [
                    `sum by (pod, container) (container_memory_working_set_bytes{${ns}, container!="", container!="POD"}) / sum by (pod, container) (kube_pod_container_resource_limits{${ns}, resource="memory"})`,
                    "{{pod}}/{{container}}",
                ],
            ],
        },
        { title: "Node CPU busy", unit: "percentunit", exprs: [[`1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))`, "{{instance}}"]] },
        { title: "Node memory used", unit: "percentunit", exprs: [[`1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`, "{{instance}}"]] },
        {
            title: "Disk usage (volumes and node root filesystems)",
            unit: "percentunit",
            max: 1,
            exprs: [
                [`kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes`, "{{namespace}}/{{persistentvolumeclaim}}"],
                [`1 - node_filesystem_avail_bytes{mountpoint="/", fstype!="tmpfs"} / node_filesystem_size_bytes{mountpoint="/", fstype!="tmpfs"}`, "{{instance}} /"],
            ],
        },
        {
            title: "Network I/O (app pods)",
            unit: "Bps",
            exprs: [
                [`sum by (pod) (rate(container_network_receive_bytes_total{${ns}}[5m]))`, "{{pod}} rx"],
                [`- sum by (pod) (rate(container_network_transmit_bytes_total{${ns}}[5m]))`, "{{pod}} tx"],
            ],
        },
    ]);
}

/** Database: connections, query performance, deadlocks, replication lag (postgres_exporter), and Redis. */
export function databaseDashboard(o: DashboardOptions): Dashboard {
    const pg = `namespace="${o.namespace}", job="${POSTGRES_EXPORTER}"`;
    const redis = `namespace="${o.namespace}", job="${REDIS_EXPORTER}"`;
    return build("candlefish-database", "Candlefish / Database", [
        {
            title: "Connections (of max_connections)",
            unit: "short",
            exprs: [
                [`sum by (state) (pg_stat_activity_count{${pg}})`, "{{state}}"],
                [`max(pg_settings_max_connections{${pg}})`, "max_connections"],
            ],
        },
        {
            title: "Transactions per second",
            unit: "ops",
            exprs: [
                [`sum by (datname) (rate(pg_stat_database_xact_commit{${pg}}[5m]))`, "{{datname}} commits"],
                [`sum by (datname) (rate(pg_stat_database_xact_rollback{${pg}}[5m]))`, "{{datname}} rollbacks"],
            ],
        },
        {
            title: "Query performance: cache hit ratio and rows read",
            unit: "percentunit",
            exprs: [
                [
                    `sum by (datname) (rate(pg_stat_database_blks_hit{${pg}}[5m])) / (sum by (datname) (rate(pg_stat_database_blks_hit{${pg}}[5m])) + sum by (datname) (rate(pg_stat_database_blks_read{${pg}}[5m])))`,
                    "{{datname}} cache hit",
                ],
            ],
        },
        {
            title: "Rows fetched and returned per second",
            unit: "rps",
            exprs: [
                [`sum by (datname) (rate(pg_stat_database_tup_fetched{${pg}}[5m]))`, "{{datname}} fetched"],
                [`sum by (datname) (rate(pg_stat_database_tup_returned{${pg}}[5m]))`, "{{datname}} returned"],
            ],
        },
        { title: "Deadlocks", unit: "short", exprs: [[`sum by (datname) (increase(pg_stat_database_deadlocks{${pg}}[5m]))`, "{{datname}}"]] },
        { title: "Replication lag", unit: "s", exprs: [[`max(pg_replication_lag_seconds{${pg}})`, "lag"]] },
        { title: "PostgreSQL reachable", unit: "short", max: 1, exprs: [[`max(pg_up{${pg}})`, "pg_up"]] },
        {
            title: "Redis clients and memory",
            unit: "short",
            exprs: [
                [`max(redis_connected_clients{${redis}})`, "clients"],
                [`max(redis_memory_used_bytes{${redis}}) / max(redis_memory_max_bytes{${redis}} > 0)`, "memory used / maxmemory"],
            ],
        },
    ]);
}

export function dashboards(o: DashboardOptions): Record<"services" | "infrastructure" | "database", Dashboard> {
    return { services: servicesDashboard(o), infrastructure: infrastructureDashboard(o), database: databaseDashboard(o) };
}
