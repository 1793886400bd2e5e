// The runbook's CPU/memory > 80% and disk > 85% warnings cover the platform,
// not only the containers: node alerts from node-exporter, RDS alerts from the
// RDS instance's CloudWatch metrics through the CloudWatch exporter (YACE),
// read with a read-only IRSA role. (promtool proves the thresholds: test/alerts.test.ts
// with test/promtool/platform-alerts.test.yml.)
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { Rendered } from "../plan/render";
import { instanceClassMemoryGiB } from "../config/data";
import { CLOUDWATCH_EXPORTER, RDS_ALERTS, runbookAlertGroups } from "../components/alert-rules";
import { RDS_METRICS, YACE_IMAGE, yaceConfig } from "../components/cloudwatch-exporter";
import { DEPLOYMENT, expectRejected, find, inputs, parseWith, renderBoth, renderWith } from "./harness";

const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const rules = (r: Rendered) =>
    Object.fromEntries(inputs(find(r, RULE, "monitoring-candlefish-runbook-alerts")).spec.groups.flatMap((g: any) => g.rules).map((x: any) => [x.alert, x]));

describe("platform alerts: nodes and the RDS instance", function () {
    this.timeout(60000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("node CPU, memory and filesystem alerts read node-exporter at the runbook's 80% / 80% / 85%", () => {
        const r = rules(prod);
        assert.match(r.NodeHighCPUUsage.expr, /node_cpu_seconds_total\{job="node-exporter", mode="idle"\}/);
        assert.match(r.NodeHighCPUUsage.expr, /\n> 0\.8$/);
        assert.match(r.NodeHighMemoryUsage.expr, /node_memory_MemAvailable_bytes[\s\S]*node_memory_MemTotal_bytes[\s\S]*\n> 0\.8$/);
        assert.match(r.NodeHighDiskUsage.expr, /node_filesystem_avail_bytes[\s\S]*node_filesystem_size_bytes[\s\S]*\n> 0\.85$/);
        for (const a of ["NodeHighCPUUsage", "NodeHighMemoryUsage", "NodeHighDiskUsage"]) assert.equal(r[a].labels.severity, "warning", a);
    });

    it("the RDS memory alert divides by the instance class's memory: 16 GiB (db.r6g.large, production), 4 GiB (db.t4g.medium, staging)", () => {
        assert.match(rules(prod).RDSHighMemoryUsage.expr, /aws_rds_freeable_memory_average\{job="cloudwatch-exporter"\}\) \/ 17179869184\n> 0\.8$/);
        assert.match(rules(staging).RDSHighMemoryUsage.expr, / \/ 4294967296\n> 0\.8$/);
        assert.match(rules(prod).RDSHighCPUUsage.expr, /aws_rds_cpuutilization_average\{job="cloudwatch-exporter"\}\)\n> 80$/);
        // Storage is measured against the allocation the exporter reads from RDS (it grows with autoscaling), not a config number.
        assert.match(rules(prod).RDSHighDiskUsage.expr, /aws_rds_free_storage_space_average[\s\S]*\/ max by \(dimension_DBInstanceIdentifier\) \(aws_rds_allocated_storage\{job="cloudwatch-exporter"\}\)\n> 0\.85$/);
    });

    it("a rule set without an RDS instance has no RDS alerts (and the node alerts still)", () => {
        const names = runbookAlertGroups({ namespace: "production", services: ["rtpm-api"] }).flatMap((g) => g.rules.map((x) => x.alert));
        for (const a of RDS_ALERTS) assert.ok(!names.includes(a), a);
        assert.ok(names.includes("NodeHighCPUUsage"));
    });

    it("instance class memory: the known families by rule, the rest refused unless database.memoryGiB says it", async () => {
        assert.deepEqual(
            ["db.t4g.micro", "db.t3.small", "db.t4g.medium", "db.t4g.2xlarge", "db.m6g.large", "db.m7g.4xlarge", "db.r6g.large", "db.r6g.xlarge", "db.r7g.16xlarge", "db.r6gd.2xlarge", "db.x2g.large"].map(instanceClassMemoryGiB),
            [1, 2, 4, 32, 8, 64, 16, 32, 512, 64, 32],
        );
        assert.equal(instanceClassMemoryGiB("db.z1d.large"), undefined);
        assert.equal(instanceClassMemoryGiB("db.m6g.medium"), undefined);
        assert.equal(parseWith("production").database.memoryGiB, 16);
        assert.equal(parseWith("staging").database.memoryGiB, 4);
        const { message, registered } = await expectRejected("staging", ["database.instanceClass=db.z1d.large"]);
        assert.match(message, /database\.memoryGiB: the memory of db\.z1d\.large is not known here .*pulumi config set --path database\.memoryGiB <GiB>/);
        assert.equal(registered, 0);
        assert.equal(parseWith("staging", ["database.instanceClass=db.z1d.large", "database.memoryGiB=16"]).database.memoryGiB, 16);
        const r = await renderWith("staging", ["database.instanceClass=db.z1d.large", "database.memoryGiB=16"]);
        assert.match(rules(r).RDSHighMemoryUsage.expr, / \/ 17179869184\n/);
        // An override wins over the derived value.
        assert.equal(parseWith("staging", ["database.memoryGiB=8"]).database.memoryGiB, 8);
        assert.match((await expectRejected("staging", ["database.memoryGiB=0"])).message, /database\.memoryGiB/);
    });

    it("runs the CloudWatch exporter (YACE, pinned) in monitoring: one RDS discovery job for this stack's tagged instance", () => {
        const d = inputs(find(prod, DEPLOYMENT, "cloudwatch-exporter-deployment"));
        assert.equal(d.metadata.name, CLOUDWATCH_EXPORTER);
        assert.equal(d.metadata.namespace, "monitoring");
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        assert.equal(c.image, YACE_IMAGE);
        assert.match(c.image, /:v\d+\.\d+\.\d+$/);
        assert.ok(c.args.includes("--listen-address=:5000"), "reachable by Prometheus, not the default 127.0.0.1");
        assert.equal(pod.serviceAccountName, CLOUDWATCH_EXPORTER);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        const cm = inputs(find(prod, "kubernetes:core/v1:ConfigMap", "cloudwatch-exporter-config"));
        const cfg: any = YAML.parse(cm.data["config.yml"]);
        const expected: unknown = yaceConfig("us-east-1", { project: "candlefish-maturity-map", stack: "production", component: "database" });
        assert.deepEqual(cfg, expected);
        const job = YAML.parse(cm.data["config.yml"]).discovery.jobs[0];
        assert.equal(job.type, "AWS/RDS");
        assert.deepEqual(job.regions, ["us-east-1"]);
        // Exact tag values: staging's exporter never reads production's database.
        assert.deepEqual(job.searchTags, [
            { key: "project", value: "^candlefish-maturity-map$" },
            { key: "stack", value: "^production$" },
            { key: "component", value: "^database$" },
        ]);
        assert.deepEqual(job.metrics.map((m: any) => m.name), [...RDS_METRICS]);
        assert.deepEqual(job.enhancedMetrics, [{ name: "AllocatedStorage" }]);
        // The tags it searches for are the instance's own.
        const db = inputs(find(prod, "aws:rds/instance:Instance", "database-instance"));
        for (const t of job.searchTags) assert.ok(new RegExp(t.value).test(db.tags[t.key]), t.key);
        const sm = inputs(find(prod, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "cloudwatch-exporter-monitor"));
        assert.deepEqual(sm.spec.selector.matchLabels, { app: CLOUDWATCH_EXPORTER });
    });

    it("its IRSA role only reads: assumable by monitoring/cloudwatch-exporter alone, four read actions", () => {
        const role = inputs(find(prod, "aws:iam/role:Role", "cloudwatch-exporter-irsa"));
        assert.equal(role.name, "candlefish-production-cloudwatch-exporter");
        const trust = JSON.parse(role.assumeRolePolicy);
        const cond = trust.Statement[0].Condition.StringEquals;
        assert.deepEqual(Object.entries(cond).find(([k]) => k.endsWith(":sub"))?.[1], "system:serviceaccount:monitoring:cloudwatch-exporter");
        const policy = JSON.parse(inputs(find(prod, "aws:iam/rolePolicy:RolePolicy", "cloudwatch-exporter-irsa")).policy);
        const actions = policy.Statement.flatMap((s: any) => s.Action).sort();
        assert.deepEqual(actions, ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "rds:DescribeDBInstances", "tag:GetResources"]);
        for (const a of actions) assert.match(a, /:(Get|List|Describe)/, a);
        const sa = inputs(find(prod, "kubernetes:core/v1:ServiceAccount", "cloudwatch-exporter-sa"));
        assert.equal(sa.metadata.annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::123456789012:role/candlefish-production-cloudwatch-exporter");
    });
});

describe("platform metrics: cert-manager and ingress-nginx are scraped", function () {
    this.timeout(60000);
    let prod: Rendered;
    before(async () => {
        ({ prod } = await renderBoth());
    });
    const SM = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";

    it("cert-manager: a ServiceMonitor in cert-manager selects the chart's metrics Service (port tcp-prometheus-servicemonitor), keeping the Certificate's namespace", () => {
        const sm = find(prod, SM, "monitoring-cert-manager-monitor");
        const i = inputs(sm);
        assert.equal(i.metadata.name, "cert-manager");
        assert.equal(i.metadata.namespace, "cert-manager");
        // cert-manager v1.16.2 deploy/charts/cert-manager/templates/service.yaml: these labels, this port name.
        assert.deepEqual(i.spec.selector.matchLabels, { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" });
        assert.deepEqual(i.spec.endpoints, [{ port: "tcp-prometheus-servicemonitor", path: "/metrics", interval: "60s", scrapeTimeout: "10s", honorLabels: true }]);
        // The chart renders that Service only with prometheus.enabled; no nameOverride, so its name label is the chart's.
        const cm = inputs(find(prod, "kubernetes:helm.sh/v3:Release", "tls-cert-manager"));
        assert.equal(cm.chart, "cert-manager");
        assert.equal(cm.values.prometheus.enabled, true);
        assert.equal(cm.values.nameOverride, undefined);
        assert.ok(sm.options.dependsOn.includes("kubernetes:helm.sh/v3:Release::monitoring-kube-prometheus-stack"), "the ServiceMonitor CRD first");
    });

    it("ingress-nginx: the metrics Service carries our label (controller.metrics.service.labels) and a ServiceMonitor selects only it", () => {
        const v = inputs(find(prod, "kubernetes:helm.sh/v3:Release", "ingress-controller")).values.controller.metrics;
        assert.deepEqual(v, { enabled: true, service: { labels: { "candlefish.ai/metrics": "ingress-nginx" } } });
        const i = inputs(find(prod, SM, "monitoring-ingress-nginx-monitor"));
        assert.equal(i.metadata.namespace, "ingress-nginx");
        assert.deepEqual(i.spec.selector.matchLabels, { "candlefish.ai/metrics": "ingress-nginx" });
        assert.equal(i.spec.endpoints[0].port, "metrics");
        assert.equal(i.spec.endpoints[0].honorLabels, true);
    });

    it("certificate alerts: renewal overdue under 21 days (warning), expiry under 7 days (critical), metrics missing (warning)", () => {
        const r = rules(prod);
        assert.match(r.CertificateRenewalOverdue.expr, /certmanager_certificate_expiration_timestamp_seconds\) - time\(\)\n< 21 \* 86400$/);
        assert.equal(r.CertificateRenewalOverdue.labels.severity, "warning");
        assert.match(r.CertificateExpiresSoon.expr, /< 7 \* 86400$/);
        assert.equal(r.CertificateExpiresSoon.labels.severity, "critical");
        assert.equal(r.CertificateMetricsMissing.expr, 'absent(certmanager_certificate_expiration_timestamp_seconds{namespace="production"})');
        // 21 days is inside the Certificate's renewBefore (30 days): overdue means renewal failed for 9 days.
        const cert = inputs(find(prod, "kubernetes:cert-manager.io/v1:Certificate", "tls-candlefish-ai-tls"));
        assert.equal(cert.spec.renewBefore, "720h");
    });
});
