// Monitoring: kube-prometheus-stack (pinned) in namespace `monitoring`, its
// values (retention, gp3 storage, selectors, Grafana's admin Secret,
// AlertManager receivers), scraping of both colors, the database exporters,
// the runbook's PrometheusRule and the dashboards.
import { strict as assert } from "assert";
import { Rendered, Secret } from "../plan/render";
import { ALERT_NAMES, CRITICAL_ALERTS, FOR_DURATIONS, WARNING_ALERTS } from "../components/alert-rules";
import { KUBE_PROMETHEUS_STACK_VERSION, retentionSize } from "../components/monitoring";
import { DEPLOYMENT, SERVICE, SERVICES, at, find, inputs, ofType, renderStack, renderWith } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
const WEBHOOK = "https://hooks.slack.com/services/T0CANDLE/B0FISH/s3cr3tw3bh00k";

const values = (r: Rendered) => inputs(find(r, RELEASE, "monitoring-kube-prometheus-stack")).values;

describe("monitoring: kube-prometheus-stack", () => {
    let prod: Rendered;
    let staging: Rendered;
    before(async function () {
        this.timeout(60000);
        // As `pulumi config set --secret --path alerts.slackWebhookUrl ...` leaves it: the alerts key secret.
        prod = await renderWith("production", [`alerts.slackWebhookUrl=${WEBHOOK}`], {}, { secret: ["alerts"] });
        staging = await renderStack("staging");
    });

    it("installs the prometheus-community chart, pinned, in namespace monitoring", () => {
        const i = inputs(find(prod, RELEASE, "monitoring-kube-prometheus-stack"));
        assert.equal(i.chart, "kube-prometheus-stack");
        assert.equal(i.version, KUBE_PROMETHEUS_STACK_VERSION);
        assert.match(KUBE_PROMETHEUS_STACK_VERSION, /^\d+\.\d+\.\d+$/);
        assert.equal(i.repositoryOpts.repo, "https://prometheus-community.github.io/helm-charts");
        assert.equal(i.namespace, "monitoring");
        assert.equal(inputs(find(prod, "kubernetes:core/v1:Namespace", "monitoring-ns")).metadata.name, "monitoring");
    });

    it("Prometheus keeps 30d (production) / 7d (staging) on gp3 volumes, capped below the volume size", () => {
        const p = values(prod).prometheus.prometheusSpec;
        assert.equal(p.retention, "30d");
        assert.equal(p.retentionSize, "96GB");
        assert.equal(p.replicas, 2);
        assert.deepEqual(p.storageSpec.volumeClaimTemplate.spec, { storageClassName: "gp3", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "100Gi" } } });
        assert.deepEqual(p.externalLabels, { environment: "production" });
        const s = values(staging).prometheus.prometheusSpec;
        assert.equal(s.retention, "7d");
        assert.equal(s.replicas, 1);
        assert.equal(s.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "20Gi");
        assert.equal(retentionSize("20Gi"), "19GB");
        // AlertManager's silences survive restarts too.
        assert.equal(values(prod).alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName, "gp3");
        assert.equal(values(prod).alertmanager.alertmanagerSpec.replicas, 3);
    });

    it("selects every ServiceMonitor, PodMonitor and PrometheusRule, not only the chart's own", () => {
        const p = values(prod).prometheus.prometheusSpec;
        for (const k of ["ruleSelectorNilUsesHelmValues", "serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues", "probeSelectorNilUsesHelmValues"]) {
            assert.equal(p[k], false, k);
        }
        for (const k of ["ruleSelector", "ruleNamespaceSelector", "serviceMonitorSelector", "serviceMonitorNamespaceSelector", "podMonitorSelector", "podMonitorNamespaceSelector"]) {
            assert.deepEqual(p[k], {}, k);
        }
        assert.deepEqual(values(prod)["kube-state-metrics"].metricLabelsAllowlist, ["pods=[app,version]"]);
    });

    it("Grafana's admin password is a generated secret in Secret grafana-admin, never the chart default", () => {
        const g = values(prod).grafana;
        assert.deepEqual(g.admin, { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
        assert.equal(g.adminPassword, undefined);
        const sec = find(prod, SECRET, "monitoring-grafana-admin");
        assert.equal(inputs(sec).metadata.name, "grafana-admin");
        assert.equal(inputs(sec).metadata.namespace, "monitoring");
        assert.ok(sec.inputs.stringData instanceof Secret || (sec.inputs.stringData as any)["admin-password"] instanceof Secret, "the password is a secret");
        assert.equal(inputs(sec).stringData["admin-password"], "mock-password-monitoring-grafana-admin");
        assert.equal(inputs(find(prod, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin")).length, 32);
        assert.ok(prod.outputs.grafanaAdminPassword instanceof Secret);
        // The runbook's `kubectl port-forward service/grafana 3000:3000 -n monitoring`.
        assert.equal(g.fullnameOverride, "grafana");
        assert.equal(g.service.port, 3000);
        assert.deepEqual(g.sidecar.dashboards, { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "monitoring", resource: "configmap" });
    });

    it("Grafana cannot read Secrets: its sidecars search `monitoring` only, through a namespaced Role of ours granting ConfigMaps alone", () => {
        const g = values(prod).grafana;
        // rbac.namespaced: the chart renders no ClusterRole/ClusterRoleBinding (grafana 8.5.x
        // templates/clusterrole.yaml: `if and .Values.rbac.create (or (not .Values.rbac.namespaced) ...)`),
        // and useExistingRole: its RoleBinding binds our Role, and it renders no Role of its own
        // (templates/role.yaml: `if and .Values.rbac.create (not .Values.rbac.useExistingRole)`).
        assert.deepEqual(g.rbac, { namespaced: true, useExistingRole: "grafana-sidecar" });
        assert.equal(g.sidecar.dashboards.searchNamespace, "monitoring");
        assert.notEqual(g.sidecar.dashboards.searchNamespace, "ALL");
        assert.equal(g.sidecar.dashboards.resource, "configmap");
        assert.equal(g.sidecar.datasources.resource, "configmap");
        const role = inputs(find(prod, "kubernetes:rbac.authorization.k8s.io/v1:Role", "monitoring-grafana-sidecar"));
        assert.deepEqual(role.metadata.name, "grafana-sidecar");
        assert.equal(role.metadata.namespace, "monitoring");
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]);
        // Nothing in the program grants Grafana (or anyone) a ClusterRole.
        assert.deepEqual(ofType(prod, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"), []);
        assert.deepEqual(ofType(prod, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"), []);
        // Every dashboard ConfigMap the sidecar must find is in monitoring.
        const dash = ofType(prod, CONFIGMAP).filter((c) => inputs(c).metadata.labels?.grafana_dashboard === "1");
        assert.ok(dash.length >= 3);
        for (const c of dash) assert.equal(inputs(c).metadata.namespace, "monitoring", c.name);
    });

    it("node-exporter runs in its own privileged namespace; monitoring enforces baseline and warns at restricted", () => {
        const ns = (name: string) => inputs(find(prod, "kubernetes:core/v1:Namespace", name)).metadata;
        const mon = ns("monitoring-ns");
        assert.equal(mon.name, "monitoring");
        assert.equal(mon.labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert.equal(mon.labels["pod-security.kubernetes.io/warn"], "restricted");
        assert.equal(mon.labels["pod-security.kubernetes.io/audit"], "restricted");
        const ne = ns("monitoring-node-exporter-ns");
        assert.equal(ne.name, "monitoring-node-exporter");
        assert.equal(ne.labels["pod-security.kubernetes.io/enforce"], "privileged");
        // The chart puts the DaemonSet, its Service and ServiceMonitor there
        // (prometheus-node-exporter 4.39.0 templates: namespace from namespaceOverride).
        assert.deepEqual(values(prod)["prometheus-node-exporter"], { namespaceOverride: "monitoring-node-exporter" });
        // The release waits for both namespaces.
        const deps = find(prod, RELEASE, "monitoring-kube-prometheus-stack").options.dependsOn;
        for (const n of ["monitoring-ns", "monitoring-node-exporter-ns", "monitoring-grafana-sidecar"]) assert.ok(deps.some((d) => d.endsWith(`::${n}`)), n);
    });

    it("the runbook's port-forward targets exist: service/prometheus 9090 and service/alertmanager 9093 in monitoring", () => {
        for (const [name, port] of [["prometheus", 9090], ["alertmanager", 9093]] as const) {
            const s = inputs(find(prod, SERVICE, `monitoring-${name}`));
            assert.equal(s.metadata.name, name);
            assert.equal(s.metadata.namespace, "monitoring");
            assert.equal(s.spec.ports[0].port, port);
            assert.equal(s.spec.selector["app.kubernetes.io/name"], name);
            assert.equal(s.spec.selector[name], `kube-prometheus-${name}`);
        }
    });

    it("AlertManager: critical and warning -> Slack #candlefish-ops; no e-mail unless opted in; the webhook stays in a Secret", () => {
        const am = values(prod).alertmanager;
        const routes = am.config.route.routes;
        assert.deepEqual(routes.map((r: any) => [r.receiver, r.matchers]), [
            ["null", ['alertname="Watchdog"']],
            ["critical", ['severity="critical"']],
            ["warning", ['severity="warning"']],
        ]);
        const recv = Object.fromEntries(am.config.receivers.map((r: any) => [r.name, r]));
        assert.deepEqual(recv.critical.slack_configs.map((c: any) => c.channel), ["#candlefish-ops"]);
        // E-mail is opt-in: the production stack file does not turn it on, so no SMTP settings at all.
        assert.equal(recv.critical.email_configs, undefined);
        assert.deepEqual(am.config.global, { resolve_timeout: "5m" });
        assert.equal(inputs(find(prod, SECRET, "monitoring-alertmanager-receivers")).stringData["smtp-password"], undefined);
        assert.deepEqual(recv.warning.slack_configs.map((c: any) => c.channel), ["#candlefish-ops"]);
        assert.equal(recv.warning.email_configs, undefined);
        const file = "/etc/alertmanager/secrets/alertmanager-receivers/slack-webhook-url";
        assert.equal(recv.critical.slack_configs[0].api_url_file, file);
        assert.deepEqual(am.alertmanagerSpec.secrets, ["alertmanager-receivers"]);
        // The webhook is only in the Secret, marked secret; never in the chart values.
        const sec = find(prod, SECRET, "monitoring-alertmanager-receivers");
        assert.ok((sec.inputs.stringData as any)["slack-webhook-url"] instanceof Secret || sec.inputs.stringData instanceof Secret);
        assert.equal(inputs(sec).stringData["slack-webhook-url"], WEBHOOK);
        assert.ok(!JSON.stringify(values(prod)).includes("hooks.slack.com"));
    });

    it("e-mail opted in (alerts.email with SES SMTP credentials as secrets): critical alerts are mailed, the password reaches AlertManager as a mounted file", async () => {
        const edits = [
            "alerts.email=oncall@candlefish.ai",
            "alerts.smtp.smarthost=smtp.candlefish.ai:587",
            "alerts.smtp.username=alertmanager",
            "alerts.smtp.password=hunter2hunter2",
        ];
        // As `pulumi config set --secret --path alerts.smtp.password` leaves it.
        const r = await renderWith("staging", edits, {}, { secret: ["alerts"] });
        const am = values(r).alertmanager.config;
        assert.deepEqual(am.global, {
            resolve_timeout: "5m",
            smtp_smarthost: "smtp.candlefish.ai:587",
            smtp_from: "alertmanager@candlefish.ai",
            smtp_require_tls: true,
            smtp_auth_username: "alertmanager",
            smtp_auth_password_file: "/etc/alertmanager/secrets/alertmanager-receivers/smtp-password",
        });
        const critical = am.receivers.find((x: any) => x.name === "critical");
        assert.deepEqual(critical.email_configs, [{ to: "oncall@candlefish.ai", send_resolved: true }]);
        // Staging has no Slack webhook: no Slack receiver config at all.
        assert.equal(critical.slack_configs, undefined);
        assert.equal(inputs(find(r, SECRET, "monitoring-alertmanager-receivers")).stringData["smtp-password"], "hunter2hunter2");
        assert.ok(!JSON.stringify(values(r)).includes("hunter2"));
    });

    it("scrapes both colors of every service through one ServiceMonitor, keeping the pod labels app and version", () => {
        const sm = inputs(find(prod, SERVICE_MONITOR, "monitoring-services-monitor"));
        assert.equal(sm.metadata.namespace, "production");
        assert.deepEqual(sm.spec.podTargetLabels, ["app", "version"]);
        assert.equal(sm.spec.jobLabel, "app");
        // The pods' own metrics port, not the serving port ("http") the live Services and the Ingress expose.
        assert.deepEqual(sm.spec.endpoints.map((e: any) => [e.port, e.path]), [["metrics", "/metrics"]]);
        for (const svc of SERVICES) {
            const m = inputs(find(prod, SERVICE, `monitoring-${svc}-metrics`));
            assert.equal(m.metadata.name, `${svc}-metrics`);
            // app only: blue and green pods alike, whichever is live.
            assert.deepEqual(m.spec.selector, { app: svc });
            assert.equal(m.spec.clusterIP, "None");
            assert.deepEqual(m.spec.ports.map((p: any) => [p.name, p.targetPort]), [["metrics", "metrics"]]);
            assert.deepEqual(at(m, "metadata.labels"), { app: svc, "candlefish.ai/metrics": "true", "app.kubernetes.io/part-of": "candlefish-maturity-map" });
            assert.deepEqual(sm.spec.selector.matchLabels, { "candlefish.ai/metrics": "true" });
        }
    });

    it("runs postgres_exporter and redis_exporter on the delivered connection Secrets, hardened, each with a ServiceMonitor", () => {
        const env = (name: string) => inputs(find(prod, DEPLOYMENT, `monitoring-${name}`)).spec.template.spec.containers[0].env;
        // Its own pg_monitor login (docs/DATABASE.md), not rtpm-api's.
        assert.deepEqual(env("postgres-exporter"), [{ name: "DATA_SOURCE_NAME", valueFrom: { secretKeyRef: { name: "postgres-exporter-database", key: "DATABASE_URL" } } }]);
        assert.deepEqual(env("redis-exporter"), [{ name: "REDIS_ADDR", valueFrom: { secretKeyRef: { name: "candlefish-redis", key: "REDIS_URL" } } }]);
        for (const name of ["postgres-exporter", "redis-exporter"]) {
            const d = inputs(find(prod, DEPLOYMENT, `monitoring-${name}`));
            assert.equal(d.metadata.namespace, "production");
            assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
            assert.equal(d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
            assert.deepEqual(d.spec.template.spec.containers[0].securityContext.capabilities, { drop: ["ALL"] });
            assert.match(d.spec.template.spec.containers[0].image, /:v\d+\.\d+\.\d+$/);
            const sm = inputs(find(prod, SERVICE_MONITOR, `monitoring-${name}-monitor`));
            assert.deepEqual(sm.spec.selector.matchLabels, { app: name });
        }
    });

    it("declares PrometheusRule candlefish-runbook-alerts with the runbook alerts (services, database, containers, nodes, RDS, certificates), severities and for: durations", () => {
        const res = find(prod, RULE, "monitoring-candlefish-runbook-alerts");
        const rule = inputs(res);
        assert.equal(rule.metadata.name, "candlefish-runbook-alerts");
        assert.equal(rule.metadata.namespace, "monitoring");
        assert.ok(res.options.dependsOn.includes(`${RELEASE}::monitoring-kube-prometheus-stack`), "CRDs first");
        const alerts = rule.spec.groups.flatMap((g: any) => g.rules);
        assert.deepEqual(alerts.map((a: any) => a.alert).sort(), [...ALERT_NAMES].sort());
        assert.deepEqual([...ALERT_NAMES].sort(), [
            "CertificateExpiresSoon", "CertificateMetricsMissing", "CertificateRenewalOverdue",
            "DatabaseConnectionFailures", "HighCPUUsage", "HighDatabaseConnections", "HighDiskUsage",
            "HighErrorRate", "HighLatencyP95", "HighMemoryUsage", "LogicalBackupMissing",
            "NodeHighCPUUsage", "NodeHighDiskUsage", "NodeHighMemoryUsage",
            "RDSHighCPUUsage", "RDSHighDiskUsage", "RDSHighMemoryUsage", "RDSMetricsMissing",
            "ServiceDown",
        ]);
        for (const a of alerts) {
            assert.equal(a.labels.severity, CRITICAL_ALERTS.includes(a.alert) ? "critical" : "warning", a.alert);
            assert.ok(CRITICAL_ALERTS.includes(a.alert) !== WARNING_ALERTS.includes(a.alert));
            assert.equal(a.for, FOR_DURATIONS[a.alert as keyof typeof FOR_DURATIONS]);
            assert.ok(a.annotations.summary && a.annotations.description, a.alert);
        }
        // The app namespace and services are the stack's.
        const errorRate = alerts.find((a: any) => a.alert === "HighErrorRate").expr;
        assert.match(errorRate, /namespace="production", app=~"candlefish-website\|rtpm-api\|nanda-api\|otter-gateway"/);
        assert.match(inputs(find(staging, RULE, "monitoring-candlefish-runbook-alerts")).spec.groups[0].rules[1].expr, /namespace="staging"/);
    });

    it("ships the services, infrastructure and database dashboards as ConfigMaps for Grafana's sidecar", () => {
        const maps = ofType(prod, CONFIGMAP).filter((c) => c.name.startsWith("monitoring-dashboard-")).map(inputs);
        assert.deepEqual(maps.map((m) => m.metadata.name).sort(), ["candlefish-dashboard-database", "candlefish-dashboard-infrastructure", "candlefish-dashboard-services"]);
        const titles: Record<string, string[]> = {};
        for (const m of maps) {
            assert.equal(m.metadata.namespace, "monitoring");
            assert.equal(m.metadata.labels.grafana_dashboard, "1");
            const [file, json] = Object.entries(m.data)[0] as [string, string];
            assert.match(file, /^candlefish-\w+\.json$/);
            const d = JSON.parse(json);
            titles[m.metadata.name] = d.panels.map((p: any) => p.title);
            for (const p of d.panels) assert.ok(p.targets.length > 0, p.title);
        }
        // The runbook's "Key Metrics to Monitor".
        const has = (dash: string, ...words: RegExp[]) => words.forEach((w) => assert.ok(titles[dash].some((t) => w.test(t)), `${dash}: ${w}`));
        has("candlefish-dashboard-services", /Requests per second/, /Error rate/, /P95/, /P99/, /Availability/);
        has("candlefish-dashboard-infrastructure", /CPU/, /memory/, /Disk/, /Network/);
        has("candlefish-dashboard-database", /Connections/, /Query performance/, /Deadlocks/, /Replication lag/);
        // Per color: the services dashboard groups by version.
        const services = JSON.parse(Object.values(maps.find((m) => m.metadata.name === "candlefish-dashboard-services")!.data)[0] as string);
        for (const p of services.panels.slice(0, 5)) assert.match(p.targets[0].expr, /by \(app, version/, p.title);
    });

    it("gives both database exporters a CPU limit and a PodDisruptionBudget selecting their pods (no advisory policy violations)", () => {
        const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
        for (const r of [prod, staging]) {
            for (const name of ["postgres-exporter", "redis-exporter"]) {
                const d = inputs(find(r, DEPLOYMENT, `monitoring-${name}`));
                const limits = d.spec.template.spec.containers[0].resources.limits;
                assert.equal(limits.cpu, "200m", name);
                assert.equal(limits.memory, "128Mi", name);
                const pdb = inputs(find(r, PDB, `monitoring-${name}`));
                assert.equal(pdb.metadata.name, name);
                assert.equal(pdb.metadata.namespace, d.metadata.namespace);
                assert.equal(pdb.spec.maxUnavailable, 1);
                assert.deepEqual(pdb.spec.selector.matchLabels, { app: name });
                for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(d.spec.template.metadata.labels[k], v, `${name}: ${k}`);
            }
        }
    });
});

describe("monitoring: no alerts for the control plane EKS runs itself", () => {
    it("controller-manager, scheduler and etcd are neither scraped nor alerted on (KubeControllerManagerDown would page forever)", async () => {
        const v = values(await renderStack("production"));
        assert.deepEqual([v.kubeControllerManager, v.kubeScheduler, v.kubeEtcd], [{ enabled: false }, { enabled: false }, { enabled: false }]);
        assert.deepEqual(v.defaultRules, { create: true, rules: { etcd: false, kubeControllerManager: false, kubeSchedulerAlerting: false, kubeSchedulerRecording: false } });
    });
});

