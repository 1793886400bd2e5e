// Issue 12 item 5: every Helm release's values against the pinned chart's own
// values.yaml and values.schema.json (test/charts/, sources in its README).
// `helm install` validates the coalesced values against the chart's schema
// before it renders anything, so a key the chart does not have stops the
// first `pulumi up` (cert-manager's schema sets additionalProperties: false);
// where a chart has no schema, a misspelt key is silently ignored, which is
// why every path must also be a key of values.yaml.
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { Rendered } from "../plan/render";
import { CERT_MANAGER_CHART_VERSION, certManagerValues } from "../components/certificates";
import { CHARTS, chartDefaults, chartFile, checkValues, coalesce, schemaErrors, unknownPaths } from "./chart-values";
import { inputs, ofType, renderBoth, renderWith } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Every release in a render: chart, version and values as Helm receives them. */
function releases(r: Rendered): { name: string; chart: string; version: string; values: Record<string, unknown> }[] {
    return ofType(r, RELEASE).map((res) => {
        const i = inputs(res);
        return { name: res.name, chart: i.chart, version: i.version, values: i.values ?? {} };
    });
}

describe("Helm values: every release against its pinned chart's values.yaml and values.schema.json", () => {
    let prod: Rendered;
    let staging: Rendered;
    before(async function () {
        this.timeout(60000);
        ({ prod, staging } = await renderBoth());
    });

    it("production and staging install exactly the charts kept as test data, each at its pinned version", () => {
        for (const r of [prod, staging]) {
            const seen = releases(r).map((x) => `${x.chart}@${x.version}`).sort();
            assert.deepEqual(seen, ["cert-manager@v1.16.2", "external-secrets@0.10.7", "ingress-nginx@4.11.5", "kube-prometheus-stack@65.1.1"]);
        }
        // The test data is the version it claims to be.
        for (const [key, spec] of Object.entries(CHARTS)) {
            const version = key.split("@")[1];
            const chartYaml = chartFile(spec.dir, "Chart.yaml");
            if (chartYaml !== undefined) assert.equal(String(YAML.parse(chartYaml).version), version, `${spec.dir}/Chart.yaml`);
            else assert.match(chartFile(spec.dir, "README.md") ?? "", new RegExp(version.replace(/\./g, "\\.")), `${spec.dir}`);
        }
    });

    for (const stack of ["production", "staging"] as const) {
        it(`${stack}: every values path is a key of its chart (or a documented free-form map) and the coalesced values pass the chart's schema`, () => {
            const r = stack === "production" ? prod : staging;
            let checked = 0;
            for (const rel of releases(r)) {
                assert.deepEqual(checkValues(rel.chart, rel.version, rel.values), [], `${rel.name} (${rel.chart}@${rel.version})`);
                checked++;
            }
            assert.equal(checked, 4);
        });
    }

    it("with e-mail alerts on (the config-dependent alertmanager values), the values still fit their charts", async function () {
        this.timeout(60000);
        const r = await renderWith(
            "staging",
            ["alerts.email=oncall@candlefish.ai", "alerts.smtp.username=AKIAEXAMPLE", "alerts.smtp.password=example-password"],
            {},
            { secret: ["alerts"] },
        );
        assert.ok(JSON.stringify(releases(r)).includes("smtp_auth_password_file"), "the e-mail settings are in the rendered values");
        for (const rel of releases(r)) assert.deepEqual(checkValues(rel.chart, rel.version, rel.values), [], rel.name);
    });

    it("kube-prometheus-stack's subcharts are the versions its Chart.yaml resolves to (grafana 8.5.*, kube-state-metrics 5.25.*)", () => {
        const deps = YAML.parse(chartFile("kube-prometheus-stack-65.1.1", "Chart.yaml")!).dependencies as { name: string; version: string }[];
        for (const [key, dir] of Object.entries(CHARTS["kube-prometheus-stack@65.1.1"].subcharts!)) {
            const dep = deps.find((d) => d.name === key);
            assert.ok(dep, `${key} is a dependency`);
            const version = String(YAML.parse(chartFile(dir, "Chart.yaml")!).version);
            const range = new RegExp(`^${dep!.version.replace(/\./g, "\\.").replace(/\*/g, "\\d+")}$`);
            assert.match(version, range, `${key} ${version} within ${dep!.version}`);
        }
    });

    describe("the checker catches what Helm would refuse or ignore", () => {
        const spec = CHARTS[`cert-manager@${CERT_MANAGER_CHART_VERSION}`];

        it("cert-manager: the old `cainjector.podSecurityContext` is refused by the schema and is not a key of values.yaml", () => {
            const old = { installCRDs: true, cainjector: { replicaCount: 2, podSecurityContext: { runAsNonRoot: true } } };
            const errors = schemaErrors(spec, old);
            assert.ok(
                errors.some((e) => /^cainjector: must NOT have additional properties \(podSecurityContext\)$/.test(e)),
                errors.join("\n"),
            );
            assert.deepEqual(unknownPaths(spec, old).filter((p) => p.startsWith("cainjector.podSecurityContext")).length, 1);
            // The same values with the chart's key pass.
            assert.deepEqual(checkValues("cert-manager", CERT_MANAGER_CHART_VERSION, { cainjector: { replicaCount: 2, securityContext: { runAsNonRoot: true } } }), []);
        });

        it("cert-manager: a wrongly typed value is refused by the schema (replicaCount as a string)", () => {
            assert.ok(schemaErrors(spec, { replicaCount: "two" }).some((e) => /^replicaCount: must be (number|integer)/.test(e)));
        });

        it("the program's cert-manager values pass, for any replica count", () => {
            for (const n of [1, 2, 3]) assert.deepEqual(checkValues("cert-manager", CERT_MANAGER_CHART_VERSION, certManagerValues(n)), []);
        });

        it("schemaless charts: a misspelt key is reported with the keys that exist (ingress-nginx controller.replicas)", () => {
            const problems = unknownPaths(CHARTS["ingress-nginx@4.11.5"], { controller: { replicas: 3 } });
            assert.equal(problems.length, 1);
            assert.match(problems[0], /^controller\.replicas: not a key of the chart \(nearest keys here in values\.yaml: .*replicaCount/);
        });

        it("a free-form map ({} in values.yaml) accepts any keys; a value of the wrong kind is reported", () => {
            const ingress = CHARTS["ingress-nginx@4.11.5"];
            assert.deepEqual(chartDefaults(ingress.dir).controller && (chartDefaults(ingress.dir).controller as any).config, {});
            assert.deepEqual(unknownPaths(ingress, { controller: { config: { "anything-nginx-takes": "1" } } }), []);
            assert.match(unknownPaths(ingress, { controller: { replicaCount: "3" } })[0], /controller\.replicaCount: the chart's default is a number/);
        });

        it("subchart keys are checked against the subchart (grafana), with the parent's block for it", () => {
            const kps = CHARTS["kube-prometheus-stack@65.1.1"];
            // defaultDashboardsEnabled is the parent's own key under `grafana`; service.port the subchart's.
            assert.deepEqual(unknownPaths(kps, { grafana: { defaultDashboardsEnabled: true, service: { port: 3000 } } }), []);
            assert.match(unknownPaths(kps, { grafana: { servce: { port: 3000 } } })[0], /^grafana\.servce: not a key/);
        });

        it("a chart without test data is reported, naming the directory to add", () => {
            assert.match(checkValues("cert-manager", "v1.17.0", {})[0], /test\/charts\/cert-manager-v1\.17\.0/);
        });

        it("coalescing follows Helm: maps merge, lists and scalars replace, null deletes", () => {
            assert.deepEqual(coalesce({ a: { b: 1, c: 2 }, l: [1], d: 1 }, { a: { c: 3 }, l: [2], d: null }), { a: { b: 1, c: 3 }, l: [2] });
        });
    });
});
