// Figures in the docs that the program can produce are produced by it (issue 13
// item 6): each figure below is read out of the markdown and compared with what
// the program renders or prints today, so a stale number fails here. A last
// check finds every count of that kind in README.md and docs/*.md and fails on
// one no check read (a new figure needs a check, or an entry in UNCHECKED with
// its source). Also: every relative link in the docs resolves, and every
// top-level config key is indexed in docs/CONFIGURATION.md.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../plan/stackfile";
import { PROJECT } from "../config/source";
import { writeSyntheticStack } from "../bench/synthetic";
import { AWS_POLICIES } from "../policies/aws";
import { K8S_POLICIES } from "../policies/kubernetes";
import { BLUE_GREEN_POLICIES } from "../policies/blue-green";
import { RULE_NAME, THRESHOLDS, percent } from "../components/alert-rules";
import { DEFAULT_DRAIN, DEFAULT_PROMOTION } from "../config/services";
import { docCommands } from "./doc-commands";
import { ofType, plan, renderStack } from "./harness";

/** The pages checked: the README and every page under docs/. */
const PAGES = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** Spans of the docs a check below read (file -> [start, end) offsets), for the final sweep. */
const checked = new Map<string, [number, number][]>();

/** Every match of `re` (global) in `file`, recorded as checked; fails when there is none. */
function figures(file: string, re: RegExp): RegExpExecArray[] {
    const text = read(file);
    const ms = [...text.matchAll(new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g"))];
    assert.ok(ms.length > 0, `${file} no longer states ${re}: update test/doc-figures.test.ts with the figure's new wording`);
    for (const m of ms) checked.set(file, [...(checked.get(file) ?? []), [m.index!, m.index! + m[0].length]]);
    return ms;
}

async function resourceCount(...argv: string[]): Promise<number> {
    const r = await plan(...argv, "--json");
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { resources: unknown[] }).resources.length;
}

describe("docs: figures the program produces match its output", function () {
    this.timeout(180000);

    it("docs/BENCHMARK.md: resources per stack, and per synthetic stack of 4, 16 and 64 services", async () => {
        for (const m of figures("docs/BENCHMARK.md", /plan --json --stack (production|staging) \((\d+) resources\)/)) {
            assert.equal(Number(m[2]), await resourceCount("--stack", m[1]), `docs/BENCHMARK.md: ${m[0]}`);
        }
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "doc-figures-"));
        try {
            const sizes = figures("docs/BENCHMARK.md", /\| (\d+) services \((\d+) resources\)/);
            assert.deepEqual(sizes.map((m) => m[1]), ["4", "16", "64"]);
            for (const m of sizes) {
                const n = await resourceCount("--config-file", writeSyntheticStack(Number(m[1]), tmp));
                assert.equal(Number(m[2]), n, `docs/BENCHMARK.md: ${m[0]} (production's services plus synthetic ones, as npm run bench builds them)`);
            }
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("README.md, docs/POLICIES.md: the policy report of production and staging, word for word", async () => {
        const first = async (stack: string) => {
            const r = await plan("--stack", stack, "--policy");
            return r.stdout.split("\n")[0];
        };
        const prod = await first("production");
        assert.equal(prod, await first("staging"), "docs/POLICIES.md says production and staging report the same");
        for (const file of ["README.md", "docs/POLICIES.md"])
            for (const m of figures(file, /Policies: \d+ evaluated; \d+ mandatory and \d+ advisory violation\(s\)/)) assert.equal(m[0], prod, file);
        // The README's prose around it: exit 0, as the report says no mandatory violation.
        assert.match(prod, /; 0 mandatory/);
        const [m] = figures("docs/POLICIES.md", /production and staging each have \*\*(\d+) mandatory and (\d+) advisory\*\* violations/);
        assert.equal(`Policies: ${AWS_POLICIES.length + K8S_POLICIES.length + BLUE_GREEN_POLICIES.length} evaluated; ${m[1]} mandatory and ${m[2]} advisory violation(s)`, prod);
    });

    it("docs/POLICIES.md: the pack's size, by topic and by level, and the plan's own policy on top with --diff", async () => {
        const all = [...AWS_POLICIES, ...K8S_POLICIES, ...BLUE_GREEN_POLICIES];
        const level = (l: string) => all.filter((p) => p.enforcementLevel === l).length;
        const [m] = figures("docs/POLICIES.md", /with \*\*(\d+) policies\*\*: (\d+) AWS, (\d+) Kubernetes, (\d+) blue\/green\.\n(\d+) are \*\*mandatory\*\*: .*?(\d+) are \*\*advisory\*\*/);
        assert.deepEqual(m.slice(1, 7).map(Number), [all.length, AWS_POLICIES.length, K8S_POLICIES.length, BLUE_GREEN_POLICIES.length, level("mandatory"), level("advisory")]);
        assert.ok(BLUE_GREEN_POLICIES.every((p) => p.enforcementLevel === "mandatory"), "docs/POLICIES.md: blue/green policies are all mandatory");
        const [d] = figures("docs/POLICIES.md", /a `--diff --policy` report counts (\d+)/);
        const r = await plan("--diff", "--policy", "--set", "activeColor=green");
        assert.match(r.stdout, new RegExp(`^Policies: ${d[1]} evaluated;`, "m"));
    });

    it("README.md: the color production runs, and so the inactive one its commands deploy to", () => {
        const [m] = figures("README.md", /it runs (blue|green), so (blue|green) is the inactive color/);
        const live = YAML.parse(read("Pulumi.production.yaml")).config[`${PROJECT}:activeColor`];
        assert.deepEqual([m[1], m[2]], [live, live === "blue" ? "green" : "blue"]);
    });

    it("README.md, docs/PLAN.md: the switch's diff ends with the counts and the summary the docs quote", async () => {
        const r = await plan("--diff", "--policy", "--set", "activeColor=green");
        assert.equal(r.code, 0, r.stderr);
        for (const file of ["README.md", "docs/PLAN.md"]) {
            for (const re of [/Changes: \d+ to update, \d+ to replace, \d+ to create, \d+ to delete/, /Summary: [^`\n]+/]) {
                for (const m of figures(file, re)) assert.ok(r.stdout.split("\n").includes(m[0].trim()), `${file}: "${m[0]}" is not a line of the plan's output:\n${r.stdout}`);
            }
        }
    });

    it("docs/PLATFORM.md: the alerts table is the rendered PrometheusRule (names, severities, for:, thresholds)", async () => {
        const prod = await renderStack("production");
        const rule = ofType(prod, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").find((r) => (r.inputs as any).metadata?.name === RULE_NAME);
        assert.ok(rule, RULE_NAME);
        const rendered = ((rule.inputs as any).spec.groups as any[]).flatMap((g) => g.rules).filter((r: any) => r.alert);
        const rows = figures("docs/PLATFORM.md", /^\| (\w+) \| (critical|warning) \| ([^|]+) \| (\w+) \|/m);
        assert.deepEqual(
            rows.map((m) => [m[1], m[2], m[4]]).sort(),
            rendered.map((r: any) => [r.alert, r.labels.severity, r.for]).sort(),
            "one row per alert, with its severity and for:",
        );
        const threshold: Record<string, string> = {
            HighErrorRate: `> ${percent(THRESHOLDS.errorRatio)}`,
            HighLatencyP95: `> ${THRESHOLDS.latencyP95Seconds} s`,
            HighCPUUsage: `> ${percent(THRESHOLDS.cpuRatio)}`,
            HighMemoryUsage: `> ${percent(THRESHOLDS.memoryRatio)}`,
            HighDiskUsage: `> ${percent(THRESHOLDS.diskRatio)}`,
            HighDatabaseConnections: `> ${percent(THRESHOLDS.dbConnectionRatio)}`,
        };
        for (const m of rows) if (threshold[m[1]]) assert.ok(m[3].includes(threshold[m[1]]), `${m[1]}: "${m[3]}" should say ${threshold[m[1]]}`);
        // The promtool unit tests the page counts.
        const tests = YAML.parse(read("test/promtool/runbook-alerts.test.yml")).tests as any[];
        const [p] = figures("docs/PLATFORM.md", /runs (\d+) test groups and (\d+) alert checks/);
        assert.deepEqual([Number(p[1]), Number(p[2])], [tests.length, tests.reduce((n, t) => n + (t.alert_rule_test ?? []).length, 0)]);
    });

    it("docs/PLATFORM.md: what a JWT rotation changes", async () => {
        const r = await plan("--diff", "--json", "--set", "secrets.jwtSecretVersion=2");
        assert.equal(r.code, 0, r.stderr);
        const d = JSON.parse(r.stdout) as { changed: { type: string; paths: string[] }[]; added: unknown[]; removed: unknown[] };
        const count = (type: string, p: RegExp) => d.changed.filter((c) => c.type.endsWith(type) && c.paths.some((x) => p.test(x))).length;
        const [m] = figures("docs/PLATFORM.md", /the password, its secret version, (\d+) ExternalSecret annotations and (\d+) pod-template\s+checksums/);
        assert.deepEqual([Number(m[1]), Number(m[2])], [count(":ExternalSecret", /force-sync/), count("apps/v1:Deployment", /checksum\/secrets/)]);
        // "Nothing else changes": those, the password and the secret version.
        assert.equal(d.changed.length, Number(m[1]) + Number(m[2]) + 2, JSON.stringify(d.changed.map((c) => c.type)));
        assert.deepEqual([d.added.length, d.removed.length], [0, 0]);
    });

    it("docs/TESTING.md: the number of distinct pulumi config commands the docs show", () => {
        const { commands } = docCommands(ROOT);
        const [m] = figures("docs/TESTING.md", /(\d+) distinct commands\s+today, (\d+) of them for the local stack/);
        assert.deepEqual([Number(m[1]), Number(m[2])], [commands.length, commands.filter((c) => c.stack === "local").length]);
    });

    it("docs/CONFIGURATION.md, docs/BLUE-GREEN.md: the promotion gate's and the drain's defaults", () => {
        for (const [key, value] of Object.entries(DEFAULT_PROMOTION)) {
            const [m] = figures("docs/CONFIGURATION.md", new RegExp(`^\\| \`promotion\\.${key}\` \\| [^|]+ \\| (\\d+) \\|`, "m"));
            assert.equal(Number(m[1]), value, `promotion.${key}`);
        }
        for (const [key, value] of Object.entries(DEFAULT_DRAIN)) {
            const [m] = figures("docs/CONFIGURATION.md", new RegExp(`^\\| \`services\\.<name>\\.drain\\.${key}\` \\| [^|]+ \\| (\\d+) \\|`, "m"));
            assert.equal(Number(m[1]), value, `drain.${key}`);
        }
        const [s] = figures("docs/BLUE-GREEN.md", /\(`promotion\.settleSeconds`, (\d+)\)/);
        const [t] = figures("docs/BLUE-GREEN.md", /`promotion\.timeoutSeconds` \((\d+)\)/);
        assert.deepEqual([Number(s[1]), Number(t[1])], [DEFAULT_PROMOTION.settleSeconds, DEFAULT_PROMOTION.timeoutSeconds]);
    });

    // Counts of things the program renders or evaluates. Each occurrence in the docs must have been read by a
    // check above, or be listed here with where it comes from.
    const COUNTED = /\b\d[\d,]*\s+(?:[A-Za-z-]+\s+)?(?:resources|policies|alerts|violations?|violation\(s\)|test groups|alert checks|distinct commands|ExternalSecret annotations|pod-template\s+checksums)\b/g;
    const UNCHECKED: { file: string; text: string; why: string }[] = [
    ];

    it("every such count in README.md and docs/*.md was checked above (or is listed with its source)", function () {
        // Needs the checks above to have run (mocha runs a describe's tests in order).
        if (checked.size === 0) this.skip();
        const unread: string[] = [];
        for (const file of PAGES) {
            const text = read(file);
            for (const m of text.matchAll(COUNTED)) {
                const inside = (checked.get(file) ?? []).some(([a, b]) => m.index! >= a && m.index! + m[0].length <= b);
                const listed = UNCHECKED.some((u) => u.file === file && u.text === m[0]);
                if (!inside && !listed) unread.push(`${file}:${text.slice(0, m.index).split("\n").length}: "${m[0]}"`);
            }
        }
        assert.deepEqual(unread, [], "figures no check compares with the program: add a check to test/doc-figures.test.ts (or, for a measured figure, UNCHECKED with its source)");
        for (const u of UNCHECKED) assert.ok(read(u.file).includes(u.text), `UNCHECKED: ${u.file} no longer says "${u.text}"; remove the entry`);
    });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
    const out = new Set<string>();
    const seen = new Map<string, number>();
    let fence = false;
    for (const line of markdown.split("\n")) {
        if (/^\s*(```|~~~)/.test(line)) fence = !fence;
        const h = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!h) continue;
        const base = h[1]
            .replace(/<[^>]+>/g, "")
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/\s/g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

describe("docs: links and the configuration index", () => {
    it("the anchor rule follows GitHub's", () => {
        assert.deepEqual([...anchors("# A b\n## `npm run e2e`: the local stack\n## DNS (`dns.*`)\n## 5. Bootstrap order\n## A b\n```\n# not a heading\n```")], [
            "a-b",
            "npm-run-e2e-the-local-stack",
            "dns-dns",
            "5-bootstrap-order",
            "a-b-1",
        ]);
    });

    it("every relative link in README.md and docs/*.md names a file that exists, and a heading in it", () => {
        const broken: string[] = [];
        for (const file of PAGES) {
            let fence = false;
            read(file)
                .split("\n")
                .forEach((line, i) => {
                    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
                    if (fence) return;
                    for (const m of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
                        const target = m[1];
                        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
                        const [rel, anchor] = target.split("#");
                        const dest = rel ? path.join(path.dirname(path.join(ROOT, file)), rel) : path.join(ROOT, file);
                        const where = `${file}:${i + 1}: ${target}`;
                        if (!fs.existsSync(dest)) broken.push(`${where} (no such file)`);
                        else if (anchor && !anchors(fs.readFileSync(dest, "utf8")).has(anchor)) broken.push(`${where} (no such heading)`);
                    }
                });
        }
        assert.deepEqual(broken, []);
    });

    it("docs/CONFIGURATION.md indexes every top-level key Pulumi.yaml declares, and no other", () => {
        const declared = Object.keys(YAML.parse(read("Pulumi.yaml")).config).sort();
        const doc = read("docs/CONFIGURATION.md");
        const index = doc.slice(doc.indexOf("## Where each key is documented"), doc.indexOf("## Blue/green and the app tier"));
        const listed = index
            .split("\n")
            .filter((l) => l.startsWith("| `"))
            .flatMap((l) => [...l.split("|")[1].matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]))
            .sort();
        assert.deepEqual(listed, declared);
    });

    it("the README is the short one: what, prerequisites, two commands, the daily operations, where the rest is", () => {
        const readme = read("README.md");
        const headings = readme.split("\n").filter((l) => l.startsWith("## "));
        assert.deepEqual(headings, ["## Prerequisites", "## Two commands", "## Daily operations", "## Where everything else is"]);
        assert.ok(readme.split("\n").length <= 120, `README.md has ${readme.split("\n").length} lines`);
        // Every docs page is in its index.
        for (const page of PAGES.filter((p) => p.startsWith("docs/"))) assert.ok(readme.includes(`](${page})`), `README.md links ${page}`);
    });
});
