// Who can get in where they don't belong (issue 14, items 3, 4, 7, 8): the
// rendered production stack read as a set of permissions, not as a list of
// objects. NetworkPolicies are evaluated with Kubernetes' own semantics (a pod
// selected by no policy of a direction is open in that direction; otherwise a
// flow needs a matching rule on both ends), so the tests ask questions such as
// "can an app pod reach AlertManager?" and "can rtpm-api reach the instance
// metadata service?" and check the answer, not the YAML.
import { strict as assert } from "assert";
import { Rendered } from "../plan/render";
import { K8S } from "../policies/lib";
import { cidrContains } from "../components/network-policies";
import { loadStack } from "../plan/stackfile";
import { inNamespace } from "../platforms/local";
import { DEPLOYMENT, SERVICE, SERVICES, expectRejected, find, inputs, ofType, parseWith, renderStack, renderWith } from "./harness";

type Labels = Record<string, string>;
/** One end of a flow: a pod (namespace and labels) or a bare address outside the cluster. */
type End = { ns: string; labels: Labels } | { ip: string };
const pod = (ns: string, labels: Labels): End => ({ ns, labels });

/** A label selector (matchLabels AND every matchExpression), as Kubernetes evaluates it. */
const matches = (sel: any, labels: Labels) =>
    Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (sel?.matchExpressions ?? []).every((e: any) => {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        switch (e.operator) {
            case "In":
                return has && e.values.includes(labels[e.key]);
            case "NotIn":
                return !has || !e.values.includes(labels[e.key]);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            default:
                throw new Error(`unknown selector operator ${e.operator}`);
        }
    });

/** Whether `peer` (a NetworkPolicy from/to entry of a policy in `policyNs`) names `end`. */
function peerMatches(peer: any, policyNs: string, end: End): boolean {
    if (peer.ipBlock) {
        if (!("ip" in end)) return false; // pod IPs are not modelled; every rule here names pods by selector
        return cidrContains(peer.ipBlock.cidr, end.ip) && !(peer.ipBlock.except ?? []).some((e: string) => cidrContains(e, end.ip));
    }
    if ("ip" in end) return false;
    const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, { "kubernetes.io/metadata.name": end.ns }) : end.ns === policyNs;
    return nsOk && (peer.podSelector ? matches(peer.podSelector, end.labels) : true);
}

function ruleAllows(rule: any, peersKey: "from" | "to", policyNs: string, other: End, port: number, protocol: string): boolean {
    const peers = rule[peersKey];
    const peerOk = !peers || peers.length === 0 || peers.some((p: any) => peerMatches(p, policyNs, other));
    const ports = rule.ports;
    const portOk = !ports || ports.length === 0 || ports.some((p: any) => p.port === port && (p.protocol ?? "TCP") === protocol);
    return peerOk && portOk;
}

/** Kubernetes NetworkPolicy semantics over the rendered policies. */
function allowed(r: Rendered, from: End, to: End, port: number, protocol = "TCP"): boolean {
    const policies = ofType(r, K8S.NetworkPolicy).map(inputs);
    const side = (self: End, other: End, dir: "Ingress" | "Egress") => {
        if ("ip" in self) return true; // outside the cluster: no policy applies
        const mine = policies.filter((p) => p.metadata.namespace === self.ns && matches(p.spec.podSelector, self.labels) && (p.spec.policyTypes ?? ["Ingress"]).includes(dir));
        if (mine.length === 0) return true;
        const key = dir === "Ingress" ? "ingress" : "egress";
        return mine.some((p) => (p.spec[key] ?? []).some((rule: any) => ruleAllows(rule, dir === "Ingress" ? "from" : "to", self.ns, other, port, protocol)));
    };
    return side(from, to, "Egress") && side(to, from, "Ingress");
}

const NS = "production";
const app = (name: string, color = "blue") => pod(NS, { app: name, version: color, "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "candlefish-maturity-map" });
const migration = (name: string) => pod(NS, { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "migration", "app.kubernetes.io/part-of": "candlefish-maturity-map" });
const controller = pod("ingress-nginx", { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller", "app.kubernetes.io/instance": "ingress-nginx" });
const prometheus = pod("monitoring", { "app.kubernetes.io/name": "prometheus", prometheus: "kube-prometheus-prometheus" });
const alertmanager = pod("monitoring", { "app.kubernetes.io/name": "alertmanager", alertmanager: "kube-prometheus-alertmanager" });
const grafana = pod("monitoring", { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack" });
const kubeDns = pod("kube-system", { "k8s-app": "kube-dns" });
const METADATA = { ip: "169.254.169.254" };
/** An address in production's VPC (10.0.0.0/16): where RDS and ElastiCache answer. */
const IN_VPC = { ip: "10.0.12.34" };
const INTERNET = { ip: "203.0.113.10" };
const PORTS: Record<string, number> = { "candlefish-website": 3000, "rtpm-api": 8000, "nanda-api": 3000, "otter-gateway": 3000 };

describe("least privilege: who can reach what (production, rendered)", function () {
    this.timeout(120000);
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    describe("item 3: /metrics is not public", () => {
        it("every color serves /metrics on its own port (METRICS_PORT, default 9090), not on the serving port", () => {
            for (const svc of SERVICES)
                for (const color of ["blue", "green"]) {
                    const c = inputs(find(prod, DEPLOYMENT, `${svc}-${color}`)).spec.template.spec.containers[0];
                    assert.deepEqual(c.ports, [
                        { name: "http", containerPort: PORTS[svc], protocol: "TCP" },
                        { name: "metrics", containerPort: 9090, protocol: "TCP" },
                    ]);
                    assert.equal(c.env.find((e: any) => e.name === "METRICS_PORT").value, "9090");
                    // Probes stay on the serving port.
                    assert.equal(c.readinessProbe.httpGet.port, "http");
                }
        });

        it("the live and preview Services and the Ingress expose only the serving port; only the headless metrics Services reach `metrics`", () => {
            for (const svc of SERVICES) {
                for (const kind of ["service", "preview"]) {
                    const s = inputs(find(prod, SERVICE, `${svc}-${kind}`));
                    assert.deepEqual(s.spec.ports.map((p: any) => p.targetPort), ["http"], `${svc}-${kind}`);
                }
                assert.deepEqual(inputs(find(prod, SERVICE, `monitoring-${svc}-metrics`)).spec.ports.map((p: any) => p.targetPort), ["metrics"]);
            }
            const ing = inputs(ofType(prod, "kubernetes:networking.k8s.io/v1:Ingress")[0]);
            const backends = ing.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => p.backend.service));
            assert.ok(backends.length >= 4);
            const live = new Set(SERVICES.map((s) => `${s}-service`));
            for (const b of backends) assert.ok(live.has(b.name) || b.name === "maintenance-page", b.name);
            // ... and the ServiceMonitor scrapes the `metrics` port only.
            const sm = inputs(find(prod, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitoring-services-monitor"));
            assert.deepEqual(sm.spec.endpoints.map((e: any) => e.port), ["metrics"]);
        });

        it("the network agrees: the ingress controller reaches the serving port but not the metrics port; Prometheus the reverse", () => {
            for (const svc of SERVICES) {
                assert.ok(allowed(prod, controller, app(svc), PORTS[svc]), `controller -> ${svc}:${PORTS[svc]}`);
                assert.ok(!allowed(prod, controller, app(svc), 9090), `controller -> ${svc}:9090`);
                assert.ok(allowed(prod, prometheus, app(svc, "green"), 9090), `prometheus -> ${svc}:9090`);
                assert.ok(!allowed(prod, prometheus, app(svc), PORTS[svc]), `prometheus -> ${svc}:${PORTS[svc]}`);
            }
        });

        it("refuses a metrics port equal to the serving port, naming the key; another port is accepted", async () => {
            const same = await expectRejected("staging", ["services.rtpm-api.metricsPort=8000"]);
            assert.match(same.message, /services\.rtpm-api\.metricsPort: the metrics port and the serving port are both 8000; \/metrics must not be on the port the live Service and the Ingress expose/);
            assert.equal(same.registered, 0);
            const viaPort = await expectRejected("staging", ["services.nanda-api.port=9090"]);
            assert.match(viaPort.message, /services\.nanda-api\.port: the metrics port and the serving port are both 9090/);
            const env = await expectRejected("staging", ["services.nanda-api.env.METRICS_PORT=nine"]);
            assert.match(env.message, /services\.nanda-api\.env\.METRICS_PORT: METRICS_PORT is set by the platform from services\.nanda-api\.metricsPort/);
            assert.equal(parseWith("staging", ["services.rtpm-api.metricsPort=9464"]).services.find((s) => s.name === "rtpm-api")!.metricsPort, 9464);
        });
    });

    describe("item 4: NetworkPolicies", () => {
        it("the app namespace denies ingress and egress by default and lets every pod resolve names through kube-dns only", () => {
            const byName = Object.fromEntries(ofType(prod, K8S.NetworkPolicy).filter((p) => inputs(p).metadata.namespace === NS).map((p) => [inputs(p).metadata.name, inputs(p).spec]));
            assert.deepEqual(byName["default-deny-ingress"], { podSelector: {}, policyTypes: ["Ingress"] });
            assert.deepEqual(byName["default-deny-egress"], { podSelector: {}, policyTypes: ["Egress"] });
            for (const svc of SERVICES) {
                assert.ok(allowed(prod, app(svc), kubeDns, 53, "UDP"), svc);
                assert.ok(allowed(prod, app(svc), kubeDns, 53, "TCP"), svc);
                assert.ok(!allowed(prod, app(svc), kubeDns, 443), svc);
            }
            // The old allow-everything policy is gone.
            assert.equal(byName["allow-platform-ingress"], undefined);
        });

        it("no app pod reaches the instance metadata service, the internet, or the API server's network", () => {
            for (const svc of SERVICES)
                for (const port of [80, 443, 5432, 6379]) {
                    assert.ok(!allowed(prod, app(svc), METADATA, port), `${svc} -> metadata:${port}`);
                    assert.ok(!allowed(prod, app(svc), INTERNET, port), `${svc} -> internet:${port}`);
                }
            for (const who of [migration("rtpm-api"), pod(NS, { app: "postgres-exporter" }), pod(NS, { app: "redis-exporter" }), pod(NS, { app: "maintenance-page" })])
                for (const port of [80, 443]) assert.ok(!allowed(prod, who, METADATA, port));
            // Only a pod labelled for AWS APIs gets HTTPS out, and never to the metadata address.
            const awsCaller = pod(NS, { app: "logical-backup", "candlefish.ai/egress": "aws-apis" });
            assert.ok(allowed(prod, awsCaller, INTERNET, 443));
            assert.ok(!allowed(prod, awsCaller, METADATA, 443));
            assert.ok(!allowed(prod, awsCaller, METADATA, 80));
            assert.ok(!allowed(prod, awsCaller, INTERNET, 80));
            for (const svc of SERVICES) assert.ok(!allowed(prod, app(svc), INTERNET, 443), `${svc} has no AWS API egress`);
            // The VPC block the data-store rules use does not contain the metadata address.
            assert.ok(!cidrContains("10.0.0.0/16", "169.254.169.254"));
            assert.ok(cidrContains("0.0.0.0/0", "169.254.169.254") && cidrContains("10.0.0.0/16", "10.0.255.255") && !cidrContains("10.0.0.0/16", "10.1.0.0"));
        });

        it("only the pods whose secrets name a data store reach it, on its port only", () => {
            assert.ok(allowed(prod, app("rtpm-api"), IN_VPC, 5432));
            assert.ok(allowed(prod, app("rtpm-api", "green"), IN_VPC, 6379));
            assert.ok(!allowed(prod, app("rtpm-api"), IN_VPC, 22));
            for (const svc of ["candlefish-website", "nanda-api", "otter-gateway"]) {
                assert.ok(!allowed(prod, app(svc), IN_VPC, 5432), `${svc} -> db`);
                assert.ok(!allowed(prod, app(svc), IN_VPC, 6379), `${svc} -> redis`);
            }
            // The migrations reach the database, not the cache; the exporters each reach theirs.
            assert.ok(allowed(prod, migration("rtpm-api"), IN_VPC, 5432));
            assert.ok(!allowed(prod, migration("rtpm-api"), IN_VPC, 6379));
            assert.ok(allowed(prod, pod(NS, { app: "postgres-exporter" }), IN_VPC, 5432));
            assert.ok(!allowed(prod, pod(NS, { app: "postgres-exporter" }), IN_VPC, 6379));
            assert.ok(allowed(prod, pod(NS, { app: "redis-exporter" }), IN_VPC, 6379));
            assert.ok(allowed(prod, prometheus, pod(NS, { app: "postgres-exporter" }), 9187));
            assert.ok(!allowed(prod, app("nanda-api"), pod(NS, { app: "postgres-exporter" }), 9187));
        });

        it("the database role Job reaches the database port and nothing else; its policy exists before the Job runs", () => {
            // The Job's pod labels, as rendered (components/database-roles.ts).
            const job = find(prod, "kubernetes:batch/v1:Job", "database-roles-job");
            const labels: Labels = inputs(job).spec.template.metadata.labels;
            assert.equal(labels["app.kubernetes.io/name"], "db-roles");
            const roles = pod(NS, labels);
            assert.ok(allowed(prod, roles, IN_VPC, 5432), "db-roles -> RDS:5432");
            assert.ok(allowed(prod, roles, kubeDns, 53, "UDP"), "names resolve");
            for (const port of [6379, 443, 22]) assert.ok(!allowed(prod, roles, IN_VPC, port), `db-roles -> VPC:${port}`);
            for (const port of [80, 443, 5432]) {
                assert.ok(!allowed(prod, roles, METADATA, port), `db-roles -> metadata:${port}`);
                assert.ok(!allowed(prod, roles, INTERNET, port), `db-roles -> internet:${port}`);
            }
            assert.ok(!allowed(prod, roles, app("rtpm-api"), 8000), "it calls no service");
            for (const from of [app("rtpm-api"), controller, prometheus]) assert.ok(!allowed(prod, from, roles, 5432), "nothing connects to it");
            // Declared before the Job: without it the namespace's default deny refuses the Job's connection.
            const policy = find(prod, K8S.NetworkPolicy, "database-roles-network");
            assert.equal(inputs(policy).metadata.name, "allow-db-roles");
            assert.ok(job.options.dependsOn.includes(`${K8S.NetworkPolicy}::database-roles-network`));
            // Without the Job's policy, it could not reach the database: the check has teeth.
            const without: Rendered = { ...prod, resources: prod.resources.filter((r) => r !== policy) };
            assert.ok(!allowed(without, roles, IN_VPC, 5432));
        });

        it("database Secrets go only where needed: the master login to the role Job, the exporter's login to the exporter, the app login to rtpm-api and its migrations", () => {
            // Every pod template in the app namespace, and the Secrets its env and volumes name.
            const users: Record<string, string[]> = {};
            for (const r of prod.resources) {
                const spec = inputs(r)?.spec?.template?.spec;
                if (!spec || inputs(r).metadata?.namespace !== NS) continue;
                const text = JSON.stringify(spec);
                for (const secret of ["candlefish-db-admin", "candlefish-db-role-verifiers", "postgres-exporter-database", "rtpm-api-database"])
                    if (text.includes(`"${secret}"`)) (users[secret] ??= []).push(r.name);
            }
            for (const list of Object.values(users)) list.sort();
            assert.deepEqual(users["candlefish-db-admin"], ["database-roles-job"]);
            assert.deepEqual(users["candlefish-db-role-verifiers"], ["database-roles-job"]);
            assert.deepEqual(users["postgres-exporter-database"], ["monitoring-postgres-exporter"]);
            const app = users["rtpm-api-database"];
            assert.ok(app.includes("rtpm-api-blue") && app.includes("rtpm-api-green"));
            assert.ok(app.filter((n) => !/^rtpm-api-(blue|green)$/.test(n)).every((n) => n.startsWith("rtpm-api-migrate-")), app.join(", "));
        });

        it("services call each other on serving ports only, as services.<name>.callers says (default: every other service)", async () => {
            assert.ok(allowed(prod, app("otter-gateway"), app("rtpm-api", "green"), 8000));
            assert.ok(!allowed(prod, app("otter-gateway"), app("rtpm-api"), 9090), "not the metrics port");
            assert.ok(!allowed(prod, migration("rtpm-api"), app("nanda-api"), 3000), "a migration pod calls nobody");
            assert.ok(!allowed(prod, pod(NS, { app: "postgres-exporter" }), app("rtpm-api"), 8000));
            // Narrowed: only the gateway may call nanda-api.
            const narrow = await renderWith("production", ["services.nanda-api.callers[0]=otter-gateway"]);
            assert.ok(allowed(narrow, app("otter-gateway"), app("nanda-api"), 3000));
            assert.ok(!allowed(narrow, app("candlefish-website"), app("nanda-api"), 3000));
            assert.ok(!allowed(narrow, app("rtpm-api"), app("nanda-api"), 3000));
            assert.ok(allowed(narrow, app("candlefish-website"), app("rtpm-api"), 8000), "other services keep their defaults");
        });

        it("refuses callers that are not other services of the stack, with a did-you-mean", async () => {
            const typo = await expectRejected("staging", ["services.nanda-api.callers[0]=otter-gatway"]);
            assert.match(typo.message, /services\.nanda-api\.callers\.0: otter-gatway is not a service of this stack; did you mean "otter-gateway"\?/);
            assert.equal(typo.registered, 0);
            const self = await expectRejected("staging", ["services.nanda-api.callers[0]=nanda-api"]);
            assert.match(self.message, /services\.nanda-api\.callers\.0: nanda-api is this service itself/);
            assert.deepEqual(parseWith("staging", ["services.nanda-api.callers[0]=otter-gateway"]).services.find((s) => s.name === "nanda-api")!.callers, ["otter-gateway"]);
        });

        it("Prometheus and AlertManager accept only what needs them: no app pod can query Prometheus or silence an alert", () => {
            const monitoringNs = ofType(prod, K8S.NetworkPolicy).filter((p) => inputs(p).metadata.namespace === "monitoring").map((p) => inputs(p).metadata.name).sort();
            assert.deepEqual(monitoringNs, ["allow-alertmanager", "allow-grafana", "allow-kube-state-metrics", "allow-prometheus", "allow-prometheus-operator", "default-deny-ingress"]);
            assert.ok(allowed(prod, prometheus, alertmanager, 9093));
            assert.ok(allowed(prod, grafana, alertmanager, 9093));
            assert.ok(allowed(prod, alertmanager, alertmanager, 9094, "UDP"), "replicas gossip");
            assert.ok(allowed(prod, grafana, prometheus, 9090));
            for (const svc of SERVICES) {
                assert.ok(!allowed(prod, app(svc), alertmanager, 9093), `${svc} -> alertmanager`);
                assert.ok(!allowed(prod, app(svc), prometheus, 9090), `${svc} -> prometheus`);
                assert.ok(!allowed(prod, app(svc), grafana, 3000), `${svc} -> grafana`);
            }
            for (const other of [controller, pod("cert-manager", { "app.kubernetes.io/name": "cert-manager" }), pod("external-secrets", { "app.kubernetes.io/name": "external-secrets" })]) {
                assert.ok(!allowed(prod, other, alertmanager, 9093));
                assert.ok(!allowed(prod, other, prometheus, 9090));
            }
        });

        it("every platform namespace denies ingress by default; webhooks and scrape ports are the only ways in", () => {
            const defaults = ofType(prod, K8S.NetworkPolicy).map(inputs).filter((p) => p.metadata.name === "default-deny-ingress").map((p) => p.metadata.namespace).sort();
            assert.deepEqual(defaults, ["cert-manager", "external-secrets", "ingress-nginx", "monitoring", "monitoring-node-exporter", "production"]);
            const api = { ip: "10.0.99.1" }; // an EKS control-plane ENI in the VPC
            assert.ok(allowed(prod, api, pod("cert-manager", { "app.kubernetes.io/name": "webhook" }), 10250));
            assert.ok(!allowed(prod, app("rtpm-api"), pod("cert-manager", { "app.kubernetes.io/name": "webhook" }), 10250), "the app pod's own egress is denied");
            assert.ok(allowed(prod, INTERNET, controller, 443), "clients through the NLB");
            assert.ok(!allowed(prod, INTERNET, controller, 10254), "controller metrics are not public");
            assert.ok(allowed(prod, prometheus, controller, 10254));
            // The ACME HTTP-01 solver in the app namespace answers the controller only.
            const solver = pod(NS, { "acme.cert-manager.io/http01-solver": "true" });
            assert.ok(allowed(prod, controller, solver, 8089));
            assert.ok(!allowed(prod, app("nanda-api"), solver, 8089));
        });

        it("the local stack keeps the same app-tier policies with no platform sources, and its data stores reachable on their ports", async () => {
            const local = await renderStack("local");
            const lns = "candlefish-local";
            const lapp = (name: string) => pod(lns, { app: name, version: "blue", "app.kubernetes.io/name": name });
            const names = ofType(local, K8S.NetworkPolicy).map((p) => inputs(p).metadata.name).sort();
            assert.deepEqual(names, [
                "allow-aws-apis-egress",
                "allow-candlefish-website",
                // The local stack's database and cache are Services of its own namespace (postgres.candlefish-local.svc...).
                "allow-database-clients",
                "allow-dns-egress",
                "allow-maintenance-page",
                "allow-nanda-api",
                "allow-otter-gateway",
                "allow-redis-clients",
                "allow-rtpm-api",
                "allow-rtpm-api-migrations",
                "default-deny-egress",
                "default-deny-ingress",
            ]);
            const pg = pod(lns, { app: "postgres" });
            assert.ok(allowed(local, lapp("rtpm-api"), pg, 5432), "an in-cluster database");
            assert.ok(allowed(local, pod(lns, { "app.kubernetes.io/name": "rtpm-api", "app.kubernetes.io/component": "migration" }), pg, 5432), "the migrations too");
            assert.ok(allowed(local, lapp("rtpm-api"), pod(lns, { app: "redis" }), 6379));
            assert.ok(!allowed(local, lapp("candlefish-website"), pg, 5432), "not the website");
            assert.ok(inNamespace("postgres", lns) && inNamespace(`postgres.${lns}.svc.cluster.local`, lns) && !inNamespace("postgres.data.svc.cluster.local", lns) && !inNamespace("db.example.com", lns));
            assert.ok(allowed(local, lapp("rtpm-api"), { ip: "192.168.1.20" }, 5432), "or one outside the cluster");
            assert.ok(!allowed(local, lapp("rtpm-api"), METADATA, 5432));
            assert.ok(!allowed(local, lapp("nanda-api"), pg, 5432));
            assert.ok(allowed(local, lapp("nanda-api"), lapp("rtpm-api"), 8000));
        });
    });

    describe("item 7: per-service secrets", () => {
        it("platformSecrets overrides a service's platform secrets; secrets adds config keys; refusals name the key", async () => {
            const gw = parseWith("staging", ["services.candlefish-website.platformSecrets[0]=JWT_SECRET"]).services.find((s) => s.name === "candlefish-website")!;
            assert.deepEqual(gw.secrets, ["JWT_SECRET"]);
            const none = await renderWith("staging", [], { services: { ...servicesOf("staging"), "otter-gateway": { ...servicesOf("staging")["otter-gateway"], platformSecrets: [] } } });
            const env = inputs(find(none, DEPLOYMENT, "otter-gateway-blue")).spec.template.spec.containers[0].env;
            assert.equal(env.find((e: any) => e.name === "JWT_SECRET"), undefined);
            const platform = await expectRejected("staging", ["services.nanda-api.secrets[0]=JWT_SECRET"]);
            assert.match(platform.message, /services\.nanda-api\.secrets\.0: JWT_SECRET is a platform secret; list it in services\.nanda-api\.platformSecrets/);
            const unknown = await expectRejected("staging", ["services.nanda-api.secrets[0]=STRIPE_KEY"]);
            assert.match(unknown.message, /services\.nanda-api\.secrets\.0: STRIPE_KEY is not a key of secrets\.config; set it with `pulumi config set --secret --path secrets\.config\.STRIPE_KEY <value>`/);
            const typo = await expectRejected("staging", ["services.nanda-api.platformSecrets[0]=JWT_SECRTE"]);
            assert.match(typo.message, /services\.nanda-api\.platformSecrets\.0: expected one of "DATABASE_URL", "REDIS_URL", "JWT_SECRET", got "JWT_SECRTE"; did you mean "JWT_SECRET"\?/);
            const plain = await expectRejected("staging", ["services.nanda-api.env.JWT_SECRET=x"]);
            assert.match(plain.message, /services\.nanda-api\.env\.JWT_SECRET: JWT_SECRET is a secret the platform delivers/);
            assert.equal(plain.registered, 0);
        });
    });

    describe("item 8: trust policies name this account", () => {
        it("the RDS monitoring role and the AWS Backup role trust their service only with aws:SourceAccount = this account", () => {
            for (const [name, service] of [["database-monitoring", "monitoring.rds.amazonaws.com"], ["backups-role", "backup.amazonaws.com"]]) {
                const trust = JSON.parse(inputs(find(prod, "aws:iam/role:Role", name)).assumeRolePolicy);
                assert.deepEqual(trust.Statement, [
                    { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } },
                ], name);
            }
        });
    });
});

/** The `services` map of a stack file, as plain data (to replace one service's settings). */
function servicesOf(stack: string): Record<string, any> {
    return JSON.parse(loadStack(stack).config["candlefish-maturity-map:services"]);
}
