// Runbook "Monitoring & Alerting": kube-prometheus-stack (Prometheus, Grafana,
// AlertManager) in namespace `monitoring`, scraping of both colors of every
// service, postgres_exporter and redis_exporter, the runbook's alert rules and
// its "Key Metrics to Monitor" dashboards.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { AlertsConfig, MonitoringConfig } from "../config/platform";
import { POSTGRES_EXPORTER, REDIS_EXPORTER, RULE_NAME, RuleGroup, runbookAlertGroups } from "./alert-rules";
import { dashboards } from "./dashboards";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";
import { NO_POD_FILES, PodFiles } from "./rds-ca";

/** kube-prometheus-stack (prometheus-community), pinned. */
export const KUBE_PROMETHEUS_STACK_VERSION = "65.1.1";
export const PROMETHEUS_COMMUNITY_REPO = "https://prometheus-community.github.io/helm-charts";
export const MONITORING_NAMESPACE = "monitoring";
/**
 * node-exporter's own namespace: it reads the host's /proc, /sys and network
 * namespace (hostNetwork, hostPID, a hostPath of /), which only the
 * "privileged" Pod Security level admits. Nothing else runs here, so
 * `monitoring` (Prometheus, Grafana, AlertManager, the operator, the hook
 * Jobs, next to the receiver and admin Secrets) is held at "baseline".
 */
export const NODE_EXPORTER_NAMESPACE = "monitoring-node-exporter";
/** The Role Grafana's sidecars get in `monitoring`: ConfigMaps only (dashboards, datasources), never Secrets. */
export const GRAFANA_SIDECAR_ROLE = "grafana-sidecar";
/** Chart resources are named from this (`kube-prometheus-prometheus`, ...). */
const FULLNAME = "kube-prometheus";
export const POSTGRES_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.15.0";
export const REDIS_EXPORTER_IMAGE = "quay.io/oliver006/redis_exporter:v1.62.0";
/** The Secret AlertManager mounts at /etc/alertmanager/secrets/<name>/: the webhook and SMTP password never enter its config. */
export const RECEIVER_SECRET = "alertmanager-receivers";
const SECRET_DIR = `/etc/alertmanager/secrets/${RECEIVER_SECRET}`;
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** Label the Grafana sidecar selects dashboard ConfigMaps by. */
export const DASHBOARD_LABEL = "grafana_dashboard";
/** The headless `<name>-metrics` Services' port number (a headless Service's endpoints carry the pods' own `metrics` port). */
const METRICS_SERVICE_PORT = 9090;
/** The exporters' metrics ports (their images' defaults). */
export const POSTGRES_EXPORTER_PORT = 9187;
export const REDIS_EXPORTER_PORT = 9121;
/** Label on the per-service metrics Services the ServiceMonitor selects. */
const METRICS_LABEL = "candlefish.ai/metrics";

/** A connection string the exporter reads from a Kubernetes Secret in the app namespace. */
export interface ExporterSecretRef {
    /** Secret name (delivered by External Secrets). */
    readonly secretName: pulumi.Input<string>;
    /** Key holding the URL: postgresql://user:pass@host:5432/db?sslmode=verify-full&sslrootcert=..., or rediss://:token@host:6379/0. */
    readonly key: string;
    /** Files the URL names (the RDS root CAs of sslrootcert), mounted into the exporter. */
    readonly files?: PodFiles;
    /** Changes when the credentials rotate: the pod annotation `checksum/secrets`, so the exporter rolls to them. */
    readonly rotationChecksum?: pulumi.Input<string>;
}

/** A platform component's metrics Service, scraped by a ServiceMonitor next to it (cert-manager, ingress-nginx). */
export interface ScrapeTarget {
    /** Names the ServiceMonitor (and so the `job`). */
    readonly name: string;
    /** The component's namespace (its Namespace resource's name output, so the monitor waits for it). */
    readonly namespace: pulumi.Input<string>;
    /** Labels of the metrics Service. */
    readonly matchLabels: Readonly<Record<string, string>>;
    /** The Service's port name. */
    readonly port: string;
}

export interface MonitoringArgs {
    /** The app namespace name (production, staging): alert rules and dashboards select it. */
    readonly appNamespace: string;
    /** The app namespace resource's name output, so app-namespace objects wait for it. */
    readonly appNamespaceRef?: pulumi.Input<string>;
    /** Every blue/green service; each is scraped (both colors) and alerted on. */
    readonly services: readonly string[];
    /** Environment, put on every series as an external label. */
    readonly environment: string;
    readonly monitoring: MonitoringConfig;
    readonly alerts: AlertsConfig;
    /** postgres_exporter's DSN (pointed at RDS); omitted: no exporter (the database alerts then never fire). */
    readonly postgres?: ExporterSecretRef;
    /** redis_exporter's URL (ElastiCache, TLS); omitted: no exporter. */
    readonly redis?: ExporterSecretRef;
    /** The in-cluster platform's own metrics (cert-manager, ingress-nginx); each gets a ServiceMonitor. */
    readonly platformTargets?: readonly ScrapeTarget[];
    /** The scheduled logical dump, alerted on when it has not succeeded for `alertAfterHours`; omitted: no such alert. */
    readonly logicalBackup?: { readonly cronJob: string; readonly alertAfterHours: number };
    /** The RDS instance, alerted on from its CloudWatch metrics (components/cloudwatch-exporter.ts); omitted: no RDS alerts. */
    readonly rds?: { readonly memoryBytes: number };
}

/** Prometheus stops writing at 90% of its volume, before the disk alert's 85% turns into an outage. */
export function retentionSize(storageSize: string): string {
    const gi = Number(/^(\d+)Gi$/.exec(storageSize)?.[1] ?? NaN);
    if (!Number.isFinite(gi)) throw new Error(`retentionSize: expected a size in Gi, got ${storageSize}`);
    return `${Math.floor(gi * 0.9 * 1.073741824)}GB`;
}

/** AlertManager's config: critical -> Slack and (when opted in) e-mail, warning -> Slack. */
export function alertmanagerConfig(alerts: AlertsConfig): Record<string, unknown> {
    const slack = alerts.slackWebhookUrl !== undefined;
    const slackConfig = (severity: string) => ({
        api_url_file: `${SECRET_DIR}/slack-webhook-url`,
        channel: alerts.slackChannel,
        send_resolved: true,
        title: `[{{ .Status | toUpper }}] ${severity}: {{ .CommonLabels.alertname }}{{ if .CommonLabels.app }} ({{ .CommonLabels.app }}){{ end }}`,
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
    });
    const global: Record<string, unknown> = { resolve_timeout: "5m" };
    // E-mail is opt-in (config/platform.ts): the SMTP settings exist only when it is on,
    // and then always with SES SMTP credentials, the password as a mounted file.
    if (alerts.email !== undefined && alerts.smtp !== undefined) {
        Object.assign(global, {
            smtp_smarthost: alerts.smtp.smarthost,
            smtp_from: alerts.smtp.from,
            smtp_require_tls: true,
            smtp_auth_username: alerts.smtp.username,
            smtp_auth_password_file: `${SECRET_DIR}/smtp-password`,
        });
    }
    const critical: Record<string, unknown> = { name: "critical" };
    if (slack) critical.slack_configs = [slackConfig("critical")];
    if (alerts.email !== undefined && alerts.smtp !== undefined) critical.email_configs = [{ to: alerts.email, send_resolved: true }];
    const warning: Record<string, unknown> = { name: "warning" };
    if (slack) warning.slack_configs = [slackConfig("warning")];
    return {
        global,
        route: {
            receiver: "null",
            group_by: ["alertname", "namespace", "app"],
            group_wait: "30s",
            group_interval: "5m",
            repeat_interval: "4h",
            routes: [
                // The chart's always-firing dead-man's switch: nobody should be paged by it.
                { receiver: "null", matchers: ['alertname="Watchdog"'] },
                { receiver: "critical", matchers: ['severity="critical"'], repeat_interval: "1h" },
                { receiver: "warning", matchers: ['severity="warning"'] },
            ],
        },
        // A service that is down also burns CPU or errors; page once, for the cause.
        inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ["namespace", "app"] }],
        receivers: [{ name: "null" }, critical, warning],
    };
}

/** The exporters run as nobody; they write no volume (the RDS CA is a world-readable ConfigMap file), so no fsGroup. */
const EXPORTER_UID = 65534;

export class Monitoring extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    public readonly rules: k8s.apiextensions.CustomResource;
    /** The rule groups in `candlefish-runbook-alerts`, as declared. */
    public readonly ruleGroups: readonly RuleGroup[];
    /** AlertManager's config as rendered into the chart values (no secrets in it). */
    public readonly alertmanagerConfig: Record<string, unknown>;
    public readonly grafanaAdminPassword: pulumi.Output<string>;
    public readonly namespace: string = MONITORING_NAMESPACE;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:monitoring:Monitoring", name, {}, opts);
        const m = args.monitoring;
        const appNs = args.appNamespaceRef ?? args.appNamespace;

        // Pod Security: `monitoring` enforces "baseline" (no host namespaces, no
        // privileged containers, no hostPath) and warns/audits at "restricted";
        // node-exporter, the one component that needs the host, runs in its own
        // "privileged" namespace (chart value prometheus-node-exporter.namespaceOverride).
        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            {
                metadata: {
                    name: MONITORING_NAMESPACE,
                    labels: {
                        "app.kubernetes.io/part-of": "candlefish-maturity-map",
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/audit": "restricted",
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                },
            },
            { parent: this },
        );
        const nodeExporterNs = new k8s.core.v1.Namespace(
            `${name}-node-exporter-ns`,
            {
                metadata: {
                    name: NODE_EXPORTER_NAMESPACE,
                    labels: {
                        "app.kubernetes.io/part-of": "candlefish-maturity-map",
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    },
                },
            },
            { parent: this },
        );

        // Grafana's admin password: generated, kept in a Secret, never the chart's default.
        const password = new random.RandomPassword(`${name}-grafana-admin`, { length: 32, special: false }, { parent: this });
        this.grafanaAdminPassword = pulumi.secret(password.result);
        const grafanaSecret = new k8s.core.v1.Secret(
            `${name}-grafana-admin`,
            {
                metadata: { name: GRAFANA_ADMIN_SECRET, namespace: MONITORING_NAMESPACE },
                type: "Opaque",
                stringData: { "admin-user": "admin", "admin-password": this.grafanaAdminPassword },
            },
            { parent: this, dependsOn: [ns], deleteBeforeReplace: true },
        );

        const receiverData: Record<string, pulumi.Input<string>> = {};
        if (args.alerts.slackWebhookUrl !== undefined) receiverData["slack-webhook-url"] = pulumi.secret(args.alerts.slackWebhookUrl);
        if (args.alerts.smtp !== undefined) receiverData["smtp-password"] = pulumi.secret(args.alerts.smtp.password);
        const receiverSecret = new k8s.core.v1.Secret(
            `${name}-alertmanager-receivers`,
            {
                metadata: { name: RECEIVER_SECRET, namespace: MONITORING_NAMESPACE },
                type: "Opaque",
                stringData: receiverData,
            },
            { parent: this, dependsOn: [ns], deleteBeforeReplace: true },
        );

        // Grafana's sidecars: ConfigMaps in `monitoring`, read-only; no Secrets anywhere.
        const sidecarRole = new k8s.rbac.v1.Role(
            `${name}-grafana-sidecar`,
            {
                metadata: { name: GRAFANA_SIDECAR_ROLE, namespace: MONITORING_NAMESPACE, labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
                rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
            },
            { parent: this, dependsOn: [ns], deleteBeforeReplace: true },
        );

        this.alertmanagerConfig = alertmanagerConfig(args.alerts);
        const pvc = (size: string) => ({
            volumeClaimTemplate: {
                spec: { storageClassName: m.storageClass, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
            },
        });
        this.release = new k8s.helm.v3.Release(
            `${name}-kube-prometheus-stack`,
            {
                name: "kube-prometheus-stack",
                chart: "kube-prometheus-stack",
                version: KUBE_PROMETHEUS_STACK_VERSION,
                repositoryOpts: { repo: PROMETHEUS_COMMUNITY_REPO },
                namespace: MONITORING_NAMESPACE,
                atomic: true,
                cleanupOnFail: true,
                // CRDs are large; Helm's client-side apply of them can exceed the timeout.
                timeout: 900,
                values: {
                    fullnameOverride: FULLNAME,
                    crds: { enabled: true },
                    // EKS runs the control plane itself: controller-manager, scheduler and
                    // etcd are not scrape targets, so their ServiceMonitors and default
                    // rules would only fire KubeControllerManagerDown/KubeSchedulerDown
                    // (critical) forever.
                    defaultRules: {
                        create: true,
                        rules: { etcd: false, kubeControllerManager: false, kubeSchedulerAlerting: false, kubeSchedulerRecording: false },
                    },
                    kubeControllerManager: { enabled: false },
                    kubeScheduler: { enabled: false },
                    kubeEtcd: { enabled: false },
                    prometheus: {
                        prometheusSpec: {
                            replicas: m.prometheusReplicas,
                            retention: m.retention,
                            retentionSize: retentionSize(m.storageSize),
                            externalLabels: { environment: args.environment },
                            // Pick up every ServiceMonitor, PodMonitor and PrometheusRule in
                            // every namespace, not only those carrying the chart's release label.
                            ruleSelectorNilUsesHelmValues: false,
                            serviceMonitorSelectorNilUsesHelmValues: false,
                            podMonitorSelectorNilUsesHelmValues: false,
                            probeSelectorNilUsesHelmValues: false,
                            ruleSelector: {},
                            ruleNamespaceSelector: {},
                            serviceMonitorSelector: {},
                            serviceMonitorNamespaceSelector: {},
                            podMonitorSelector: {},
                            podMonitorNamespaceSelector: {},
                            storageSpec: pvc(m.storageSize),
                            resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
                        },
                    },
                    alertmanager: {
                        config: this.alertmanagerConfig,
                        alertmanagerSpec: {
                            replicas: m.alertmanagerReplicas,
                            secrets: [RECEIVER_SECRET],
                            storage: pvc(m.alertmanagerStorageSize),
                        },
                    },
                    grafana: {
                        // Service `grafana` on port 3000: the runbook's
                        // `kubectl port-forward service/grafana 3000:3000 -n monitoring`.
                        fullnameOverride: "grafana",
                        service: { port: 3000 },
                        admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
                        persistence: { enabled: true, storageClassName: m.storageClass, size: "10Gi" },
                        defaultDashboardsEnabled: true,
                        // The sidecars read dashboard and datasource ConfigMaps in `monitoring`
                        // only (every one of them lives here). With rbac.namespaced the chart
                        // binds a Role instead of a ClusterRole with get/list/watch on every
                        // Secret in the cluster (grafana 8.5.x templates/clusterrole.yaml), and
                        // useExistingRole binds ours, which grants ConfigMaps and no Secrets at
                        // all (the chart's own Role would grant the Secrets of `monitoring`).
                        rbac: { namespaced: true, useExistingRole: GRAFANA_SIDECAR_ROLE },
                        sidecar: {
                            dashboards: { enabled: true, label: DASHBOARD_LABEL, labelValue: "1", searchNamespace: MONITORING_NAMESPACE, resource: "configmap" },
                            datasources: { resource: "configmap" },
                        },
                    },
                    // node-exporter (hostNetwork, hostPID, hostPath /) in its own privileged namespace.
                    "prometheus-node-exporter": { namespaceOverride: NODE_EXPORTER_NAMESPACE },
                    // Pod labels app and version on kube_pod_labels, so resource alerts
                    // name the service and the dashboards compare colors.
                    "kube-state-metrics": { metricLabelsAllowlist: ["pods=[app,version]"] },
                },
            },
            { parent: this, dependsOn: [ns, nodeExporterNs, grafanaSecret, receiverSecret, sidecarRole] },
        );
        const afterCrds: pulumi.CustomResourceOptions = { parent: this, dependsOn: [this.release], deleteBeforeReplace: true };

        // The runbook's `kubectl port-forward service/prometheus 9090:9090` and
        // `service/alertmanager 9093:9093 -n monitoring` address these names.
        for (const [svc, port, selector] of [
            ["prometheus", 9090, { "app.kubernetes.io/name": "prometheus", prometheus: `${FULLNAME}-prometheus` }],
            ["alertmanager", 9093, { "app.kubernetes.io/name": "alertmanager", alertmanager: `${FULLNAME}-alertmanager` }],
        ] as const) {
            new k8s.core.v1.Service(
                `${name}-${svc}`,
                {
                    metadata: { name: svc, namespace: MONITORING_NAMESPACE, labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
                    spec: { type: "ClusterIP", selector: { ...selector }, ports: [{ name: "web", port, targetPort: port, protocol: "TCP" }] },
                },
                { parent: this, dependsOn: [ns], deleteBeforeReplace: true },
            );
        }

        // The runbook's alerts.
        this.ruleGroups = runbookAlertGroups({ namespace: args.appNamespace, services: args.services, rds: args.rds, logicalBackup: args.logicalBackup });
        this.rules = new k8s.apiextensions.CustomResource(
            `${name}-${RULE_NAME}`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: RULE_NAME, namespace: MONITORING_NAMESPACE, labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
                spec: { groups: this.ruleGroups },
            },
            afterCrds,
        );

        // Scraping. A headless Service per app selects BOTH colors (app only, no
        // version), so one ServiceMonitor scrapes blue and green alike and a
        // switch never changes what is scraped. `podTargetLabels` copies the pod
        // labels app and version onto every series.
        for (const svc of args.services) {
            new k8s.core.v1.Service(
                `${name}-${svc}-metrics`,
                {
                    metadata: {
                        name: `${svc}-metrics`,
                        namespace: appNs,
                        labels: { app: svc, [METRICS_LABEL]: "true", "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                    },
                    // The pods' `metrics` port (services.<name>.metricsPort), never the serving
                    // port the live Services and the Ingress expose: /metrics is not public.
                    spec: { clusterIP: "None", selector: { app: svc }, ports: [{ name: "metrics", port: METRICS_SERVICE_PORT, targetPort: "metrics", protocol: "TCP" }] },
                },
                { parent: this, deleteBeforeReplace: true },
            );
        }
        new k8s.apiextensions.CustomResource(
            `${name}-services-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: "candlefish-services", namespace: appNs },
                spec: {
                    selector: { matchLabels: { [METRICS_LABEL]: "true" } },
                    podTargetLabels: ["app", "version"],
                    // `job` is the app, whichever Service found the pod.
                    jobLabel: "app",
                    endpoints: [{ port: "metrics", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }],
                },
            },
            afterCrds,
        );

        // The platform itself (issue 14 item 15): cert-manager's certificate expiry and
        // ingress-nginx's request metrics. honorLabels keeps the metrics' own `namespace`
        // (the Certificate's, the Ingress's) instead of renaming it to exported_namespace.
        for (const t of args.platformTargets ?? []) {
            new k8s.apiextensions.CustomResource(
                `${name}-${t.name}-monitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "ServiceMonitor",
                    metadata: { name: t.name, namespace: t.namespace, labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
                    spec: {
                        selector: { matchLabels: { ...t.matchLabels } },
                        endpoints: [{ port: t.port, path: "/metrics", interval: "60s", scrapeTimeout: "10s", honorLabels: true }],
                    },
                },
                afterCrds,
            );
        }

        // Database exporters, in the app namespace where the connection Secrets are delivered.
        if (args.postgres) {
            this.exporter(name, POSTGRES_EXPORTER, appNs, POSTGRES_EXPORTER_IMAGE, POSTGRES_EXPORTER_PORT, [
                { name: "DATA_SOURCE_NAME", valueFrom: { secretKeyRef: { name: args.postgres.secretName, key: args.postgres.key } } },
            ], afterCrds, args.postgres.rotationChecksum, args.postgres.files);
        }
        if (args.redis) {
            this.exporter(name, REDIS_EXPORTER, appNs, REDIS_EXPORTER_IMAGE, REDIS_EXPORTER_PORT, [
                // A rediss:// URL with the AUTH token: ElastiCache encrypts in transit.
                { name: "REDIS_ADDR", valueFrom: { secretKeyRef: { name: args.redis.secretName, key: args.redis.key } } },
            ], afterCrds);
        }

        // The runbook's "Key Metrics to Monitor", loaded by the Grafana sidecar.
        for (const [key, dash] of Object.entries(dashboards({ namespace: args.appNamespace, services: args.services }))) {
            new k8s.core.v1.ConfigMap(
                `${name}-dashboard-${key}`,
                {
                    metadata: {
                        name: `candlefish-dashboard-${key}`,
                        namespace: MONITORING_NAMESPACE,
                        labels: { [DASHBOARD_LABEL]: "1", "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                    },
                    data: { [`candlefish-${key}.json`]: JSON.stringify(dash, null, 2) },
                },
                { parent: this, dependsOn: [ns], deleteBeforeReplace: true },
            );
        }

        this.registerOutputs({ namespace: MONITORING_NAMESPACE, rules: RULE_NAME });
    }

    /** One exporter: a hardened Deployment, its PodDisruptionBudget, its Service and a ServiceMonitor (job = the exporter's name). */
    private exporter(
        name: string,
        app: string,
        namespace: pulumi.Input<string>,
        image: string,
        port: number,
        env: k8s.types.input.core.v1.EnvVar[],
        crdOpts: pulumi.CustomResourceOptions,
        rotationChecksum?: pulumi.Input<string>,
        files: PodFiles = NO_POD_FILES,
    ): void {
        const labels = { app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "candlefish-maturity-map" };
        new k8s.apps.v1.Deployment(
            `${name}-${app}`,
            {
                metadata: { name: app, namespace, labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: { app } },
                    template: {
                        metadata: { labels, ...(rotationChecksum ? { annotations: { "checksum/secrets": rotationChecksum } } : {}) },
                        spec: {
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(EXPORTER_UID, { fsGroup: false }),
                            containers: [
                                {
                                    name: app,
                                    image,
                                    ports: [{ name: "metrics", containerPort: port, protocol: "TCP" }],
                                    env,
                                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                                    readinessProbe: { httpGet: { path: "/", port: "metrics" }, periodSeconds: 10 },
                                    livenessProbe: { httpGet: { path: "/", port: "metrics" }, periodSeconds: 30 },
                                    securityContext: restrictedContainerSecurity(),
                                    ...(files.mounts.length ? { volumeMounts: files.mounts } : {}),
                                },
                            ],
                            ...(files.volumes.length ? { volumes: files.volumes } : {}),
                        },
                    },
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        // A drain evicts the exporter's pod one at a time like every other Deployment's
        // (runbook "Drain Node for Maintenance"); with one replica it never blocks a drain.
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-${app}`,
            {
                metadata: { name: app, namespace, labels },
                spec: { maxUnavailable: 1, selector: { matchLabels: { app } } },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        new k8s.core.v1.Service(
            `${name}-${app}`,
            {
                metadata: { name: app, namespace, labels },
                spec: { type: "ClusterIP", selector: { app }, ports: [{ name: "metrics", port, targetPort: "metrics", protocol: "TCP" }] },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-${app}-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: app, namespace },
                spec: {
                    selector: { matchLabels: { app } },
                    endpoints: [{ port: "metrics", interval: "30s", scrapeTimeout: "10s" }],
                },
            },
            crdOpts,
        );
    }
}
