// The runbook's alerts, proven with Prometheus's and AlertManager's own tools
// on what the program renders (not on a hand-written copy):
//   promtool check rules   the PrometheusRule's groups, written to a rule file
//   promtool test rules    test/promtool/*.test.yml: each alert fires just above
//                          its threshold and stays silent just below
//   amtool check-config    the AlertManager config in the chart values
//   lezer-promql           every expression in the rules and the dashboards parses
// promtool and amtool are the testbed's (testbed/tools.js, built by the test
// set-up from Go modules) at the versions the pinned kube-prometheus-stack chart
// deploys, not whatever else is on PATH.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parser } from "@prometheus-io/lezer-promql";
import { Rendered } from "../plan/render";
import { ROOT } from "../plan/stackfile";
import { ALERT_NAMES, RULE_NAME } from "../components/alert-rules";
import { find, inputs, ofType, renderBoth, renderStack } from "./harness";
import { testbedTool, testbedVersion } from "./testbed";

const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const TEST_DIR = path.join(ROOT, "test", "promtool");
const RULE_FILE = `${RULE_NAME}.rules.yml`;

/** Runs one of the testbed's tools; a missing tool fails the test with how to build it. */
function run(tool: string, args: string[], cwd: string): { status: number; out: string } {
    const r = spawnSync(testbedTool(tool), args, { cwd, encoding: "utf8", timeout: 60000 });
    if (r.error) assert.fail(`${tool}: ${r.error.message}`);
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function ruleGroups(r: Rendered): any[] {
    return inputs(find(r, RULE, `monitoring-${RULE_NAME}`)).spec.groups;
}

/** A temp dir holding the rendered rule file and the promtool test files. */
function ruleDir(groups: unknown): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-rules-"));
    fs.writeFileSync(path.join(dir, RULE_FILE), YAML.stringify({ groups }));
    for (const f of fs.readdirSync(TEST_DIR)) if (f.endsWith(".test.yml")) fs.copyFileSync(path.join(TEST_DIR, f), path.join(dir, f));
    return dir;
}

const testFiles = () => fs.readdirSync(TEST_DIR).filter((f) => f.endsWith(".test.yml")).sort();

describe("alerts: the rendered rules and AlertManager config pass Prometheus's own tools", () => {
    let prod: Rendered;
    let staging: Rendered;
    let dir: string;
    before(async function () {
        this.timeout(60000);
        ({ prod, staging } = await renderBoth());
        dir = ruleDir(ruleGroups(prod));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a missing tool fails the run with how to build it (never a silent skip)", () => {
        assert.throws(() => run("promtool-not-built-here", ["--version"], dir), /not in the testbed's tools .*node testbed\/tools\.js/);
    });

    it("runs the testbed's promtool 2.54.1 and amtool 0.27.0 (what kube-prometheus-stack 65.1.1 deploys)", () => {
        assert.equal(testbedVersion("promtool"), "2.54.1");
        assert.equal(testbedVersion("amtool"), "0.27.0");
        assert.match(run("promtool", ["--version"], dir).out, /^promtool, version 2\.54\.1 /m);
        assert.match(run("amtool", ["--version"], dir).out, /^amtool, version 0\.27\.0 /m);
    });

    it(`promtool check rules: the rendered rule file is valid and holds the ${ALERT_NAMES.length} rules`, () => {
        const { status, out } = run("promtool", ["check", "rules", RULE_FILE], dir);
        assert.equal(status, 0, out);
        assert.match(out, new RegExp(`SUCCESS: ${ALERT_NAMES.length} rules found`));
        // Staging's rules (other namespace) are valid too.
        const sdir = ruleDir(ruleGroups(staging));
        try {
            const s = run("promtool", ["check", "rules", RULE_FILE], sdir);
            assert.equal(s.status, 0, s.out);
        } finally {
            fs.rmSync(sdir, { recursive: true, force: true });
        }
    });

    it("the promtool tests cover every alert: a firing case and a silent case each", () => {
        const covered: Record<string, { fires: number; silent: number }> = {};
        for (const f of testFiles()) {
            const doc = YAML.parse(fs.readFileSync(path.join(TEST_DIR, f), "utf8"));
            assert.deepEqual(doc.rule_files, [RULE_FILE], f);
            for (const t of doc.tests) {
                for (const a of t.alert_rule_test ?? []) {
                    const c = (covered[a.alertname] ??= { fires: 0, silent: 0 });
                    if ((a.exp_alerts ?? []).length > 0) c.fires++;
                    else c.silent++;
                }
            }
        }
        for (const name of ALERT_NAMES) {
            assert.ok(covered[name]?.fires > 0, `${name} has no firing case`);
            assert.ok(covered[name]?.silent > 0, `${name} has no silent case`);
        }
        assert.deepEqual(Object.keys(covered).sort(), [...ALERT_NAMES].sort());
    });

    it("promtool test rules: each alert fires just above its threshold and stays silent just below", function () {
        this.timeout(30000);
        for (const f of testFiles()) {
            const { status, out } = run("promtool", ["test", "rules", f], dir);
            assert.equal(status, 0, out);
            assert.match(out, /SUCCESS/);
        }
    });

    // The tests above must be able to fail: moving any threshold or `for:` in the
    // rendered rules by a hair makes promtool's unit tests fail.
    // `only`: the mutation touches that alert's rule alone, so each alert's own test is shown to bite.
    const mutations: [string, RegExp, string, string?][] = [
        ["HighErrorRate 5% -> 5.2%", /> 0\.05\b/, "> 0.052"],
        ["HighErrorRate counts every non-2xx (the original runbook's query)", /code=~"5\.\."/, 'code!~"2.."', "HighErrorRate"],
        ["HighLatencyP95 2s -> 2.1s", /\n> 2$/m, "\n> 2.1"],
        ["HighCPUUsage/HighMemoryUsage 80% -> 78%", /\) > 0\.8$/m, ") > 0.78"],
        ["HighDiskUsage 85% -> 84%", /> 0\.85\b/, "> 0.84", "HighDiskUsage"],
        ["HighDatabaseConnections 80% -> 82%", /\n> 0\.8$/m, "\n> 0.82", "HighDatabaseConnections"],
        ["DatabaseConnectionFailures pg_up == 0 -> < 0", /\(pg_up\{([^}]*)\}\) == 0/, "(pg_up{$1}) < 0"],
        ["DatabaseConnectionFailures without the exporter-down branch", /\nor\nlabel_replace\(max by \(namespace, job\) \(up\{[^\n]*/, "", "DatabaseConnectionFailures"],
        ["DatabaseConnectionFailures without the absent() branch", /\nor\nlabel_replace\(absent[^\n]*$/, "", "DatabaseConnectionFailures"],
        ["ServiceDown counts not-ready addresses as healthy", /, ready="true"\}/, "}"],
        ["NodeHighCPUUsage 80% -> 82%", /> 0\.8$/, "> 0.82", "NodeHighCPUUsage"],
        ["NodeHighMemoryUsage 80% -> 78%", /> 0\.8$/, "> 0.78", "NodeHighMemoryUsage"],
        ["NodeHighDiskUsage 85% -> 86%", /> 0\.85$/, "> 0.86", "NodeHighDiskUsage"],
        ["RDSHighCPUUsage 80 -> 78", /> 80$/, "> 78", "RDSHighCPUUsage"],
        ["RDSHighMemoryUsage against 8 GiB instead of the class's 16", / 17179869184\n/, " 8589934592\n", "RDSHighMemoryUsage"],
        ["RDSHighDiskUsage 85% -> 86%", /> 0\.85$/, "> 0.86", "RDSHighDiskUsage"],
        ["RDSMetricsMissing never fires", /^absent\((.*)\)$/, "absent($1) * 0 > 1", "RDSMetricsMissing"],
        ["CertificateRenewalOverdue at 20 days instead of 21", /< 21 \* 86400$/, "< 20 * 86400", "CertificateRenewalOverdue"],
        ["CertificateExpiresSoon at 8 days instead of 7", /< 7 \* 86400$/, "< 8 * 86400", "CertificateExpiresSoon"],
        ["LogicalBackupMissing at 27 hours instead of 26", / > 93600\n/, " > 97200\n", "LogicalBackupMissing"],
        ["LogicalBackupMissing ignores a CronJob that never succeeded", /\nor\ntime\(\) - max by \(namespace, cronjob\) \(kube_cronjob_created[\s\S]*$/, "", "LogicalBackupMissing"],
        ["CertificateMetricsMissing never fires", /^absent\((.*)\)$/, "absent($1) * 0 > 1", "CertificateMetricsMissing"],
    ];
    for (const [what, from, to, only] of mutations) {
        it(`promtool test rules fails when the rules are wrong: ${what}`, function () {
            this.timeout(30000);
            const groups = ruleGroups(prod).map((g: any) => ({
                ...g,
                rules: g.rules.map((r: any) => (only && r.alert !== only ? r : { ...r, expr: r.expr.replace(from, to) })),
            }));
            const changed = JSON.stringify(groups) !== JSON.stringify(ruleGroups(prod));
            assert.ok(changed, `mutation ${what} did not apply`);
            const mdir = ruleDir(groups);
            try {
                const results = testFiles().map((f) => run("promtool", ["test", "rules", f], mdir));
                assert.ok(results.some((r) => r.status !== 0), `promtool passed a mutated rule set (${what})`);
            } finally {
                fs.rmSync(mdir, { recursive: true, force: true });
            }
        });
    }

    it("amtool check-config: the rendered AlertManager config (production and staging) is valid", () => {
        for (const [stack, r] of [["production", prod], ["staging", staging]] as const) {
            const config = inputs(find(r, RELEASE, "monitoring-kube-prometheus-stack")).values.alertmanager.config;
            const file = path.join(dir, `alertmanager-${stack}.yml`);
            fs.writeFileSync(file, YAML.stringify(config));
            const { status, out } = run("amtool", ["check-config", file], dir);
            assert.equal(status, 0, `${stack}: ${out}`);
            assert.match(out, /SUCCESS/);
            assert.match(out, /3 receivers/);
        }
    });
});

/** Parses PromQL; returns the error node count and the tree. */
function parse(expr: string) {
    const tree = parser.parse(expr);
    let errors = 0;
    const matchers: string[] = [];
    const grouping: string[] = [];
    tree.iterate({
        enter(n) {
            if (n.type.isError) errors++;
            if (n.name === "LabelName" && n.node.parent) {
                const label = expr.slice(n.from, n.to);
                if (n.node.parent.name === "UnquotedLabelMatcher") matchers.push(label);
                if (n.node.parent.name === "GroupingLabels") grouping.push(label);
            }
        },
    });
    return { errors, matchers, grouping, tree };
}

describe("alerts: every PromQL expression parses (lezer-promql)", () => {
    let prod: Rendered;
    before(async function () {
        this.timeout(60000);
        prod = await renderStack("production");
    });

    it("the parser reports errors (so a pass means something)", () => {
        assert.ok(parse("sum by (app (rate(x[5m]))").errors > 0);
        assert.ok(parse('rate(http_requests_total{code=~"5.."}[5m]) >').errors > 0);
    });

    it("every rule expression parses without an error node", () => {
        const rules = ruleGroups(prod).flatMap((g: any) => g.rules);
        assert.equal(rules.length, ALERT_NAMES.length);
        for (const r of rules) assert.equal(parse(r.expr).errors, 0, `${r.alert}: ${r.expr}`);
    });

    it("every dashboard panel query parses without an error node", () => {
        const maps = ofType(prod, "kubernetes:core/v1:ConfigMap").filter((c) => c.name.startsWith("monitoring-dashboard-"));
        assert.equal(maps.length, 3);
        let n = 0;
        for (const m of maps) {
            for (const json of Object.values(inputs(m).data) as string[]) {
                for (const p of JSON.parse(json).panels) {
                    for (const t of p.targets) {
                        n++;
                        assert.equal(parse(t.expr).errors, 0, `${m.name} / ${p.title}: ${t.expr}`);
                    }
                }
            }
        }
        assert.ok(n >= 25, `only ${n} queries`);
    });

    it("application rules select only by namespace and app (plus the status code) and aggregate by them", () => {
        const rules = Object.fromEntries(ruleGroups(prod).flatMap((g: any) => g.rules).map((r: any) => [r.alert, r.expr]));
        const e = parse(rules.HighErrorRate);
        assert.deepEqual([...new Set(e.matchers)].sort(), ["app", "code", "namespace"]);
        assert.deepEqual([...new Set(e.grouping)].sort(), ["app", "namespace"]);
        const l = parse(rules.HighLatencyP95);
        assert.deepEqual([...new Set(l.matchers)].sort(), ["app", "namespace"]);
        assert.deepEqual([...new Set(l.grouping)].sort(), ["app", "le", "namespace"]);
        // No app rule looks at a color: blue and green count together.
        for (const name of ["ServiceDown", "HighErrorRate", "HighLatencyP95"]) assert.ok(!/version/.test(rules[name]), name);
        // ServiceDown watches only the live Services (never the preview ones).
        assert.match(rules.ServiceDown, /endpoint=~"candlefish-website-service\|rtpm-api-service\|nanda-api-service\|otter-gateway-service"/);
    });
});
