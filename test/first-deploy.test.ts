// docs/FIRST-DEPLOY.md says what the program does: the values it requires,
// the bootstrap order's commands, the cost at the configured sizes, and what
// teardown meets (protected resources). Each is checked against the program,
// so a new required key, a resize or a newly protected resource fails here
// until the doc follows. (The IAM policy has its own test/iam-policy.test.ts.)
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, ConfigSource, PROJECT, parseConfig } from "../config";
import { PLATFORM_PHASE_COMMAND } from "../config/bootstrap";
import { ROOT, readStack, toRuntimeConfig } from "../plan/stackfile";
import { PRICES, costTable, monthlyEstimate, totalUsd } from "../plan/cost";
import { Rendered } from "../plan/render";
import { extractFromMarkdown } from "./doc-commands";
import { renderStack } from "./harness";
import { POLICY_FILES, REMOTE_CHILDREN } from "./iam-policy.test";

const DOC = "docs/FIRST-DEPLOY.md";
const text = fs.readFileSync(path.join(ROOT, DOC), "utf8");
const { commands } = extractFromMarkdown(DOC, text);
const AWS_STACKS = ["production", "staging"];

/** The text between `<!-- name -->` and the next `<!-- /... -->`. */
function block(name: string): string {
    const start = text.indexOf(`<!-- ${name} -->`);
    assert.ok(start >= 0, `${DOC} has no <!-- ${name} --> block`);
    const end = text.indexOf("<!-- /", start + 1);
    return text.slice(start + `<!-- ${name} -->`.length, end).trim();
}
const rows = (table: string) =>
    table
        .split("\n")
        .filter((l) => l.startsWith("|") && !/^\|\s*-/.test(l))
        .slice(1)
        .map((l) => l.slice(1, -1).split(" | ").map((c) => c.trim()));

/** What the program itself reports as required and unset for a committed stack file, as it is (no stand-ins). */
function requiredIssues(stack: string): { key: string; message: string }[] {
    const { config, secretKeys } = toRuntimeConfig(readStack(stack));
    const raw: Record<string, string> = {};
    const foreign: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = v;
        else foreign[k] = v; // aws:region and the other providers' settings the program reads
    }
    const secret = new Set(secretKeys.filter((k) => k.startsWith(`${PROJECT}:`)).map((k) => k.slice(PROJECT.length + 1)));
    try {
        parseConfig(new ConfigSource(stack, raw, secret, foreign));
        return [];
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.issues.filter((i) => /^required\b/.test(i.message));
    }
}

describe(`${DOC}: the first deploy, as the program demands it`, function () {
    this.timeout(120000);
    const renders: Record<string, Rendered> = {};
    before(async () => {
        for (const s of AWS_STACKS) renders[s] = await renderStack(s);
    });

    it("the README links it, once", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.equal(readme.split("\n").filter((l) => l.includes("docs/FIRST-DEPLOY.md")).length, 1);
    });

    it("backend, login and the stacks: pulumi login, pulumi stack init for both stacks, the secrets provider", () => {
        assert.match(text, /^pulumi login\b/m);
        for (const s of AWS_STACKS) assert.match(text, new RegExp(`^pulumi stack init <org>/${s}$`, "m"));
        assert.match(text, /--secrets-provider "awskms:\/\/alias\/candlefish-pulumi\?region=us-east-1"/);
    });

    it("lists exactly the values the program requires, each with the command that sets it (--secret where the program says so)", () => {
        const demanded = AWS_STACKS.flatMap((stack) => requiredIssues(stack).map((i) => ({ stack, ...i })));
        assert.ok(demanded.length > 0, "production requires values (or this test checks nothing)");
        const listed = rows(block("required")).map(([stack, key, , command]) => ({ stack, key: key.replace(/`/g, ""), command: command.replace(/^`|`$/g, "") }));
        assert.deepEqual(listed.map((l) => `${l.stack} ${l.key}`).sort(), demanded.map((d) => `${d.stack} ${d.key}`).sort());
        for (const d of demanded) {
            const row = listed.find((l) => l.stack === d.stack && l.key === d.key)!;
            const cmd = commands.find((c) => c.verb === "set" && c.key === d.key && c.text === row.command);
            assert.ok(cmd, `${d.key}: the table's command is not a pulumi config set the docs' command test runs`);
            assert.equal(cmd!.secret, /--secret/.test(d.message), `${d.key}: --secret as the program's own message says`);
            assert.equal(cmd!.path, d.key.includes("."), `${d.key}: --path for a nested key`);
            assert.equal(cmd!.stack ?? "production", d.stack);
        }
    });

    it("the bootstrap order: platform for both stacks, then apps for both, with the command the program's refusal names", () => {
        const phase = (value: string, stack: string) =>
            commands.find((c) => c.key === "bootstrap.phase" && c.value === value && (c.stack ?? "production") === stack && c.path);
        for (const s of AWS_STACKS) {
            const platform = phase("platform", s);
            const apps = phase("apps", s);
            assert.ok(platform && apps, `${s}: both phases shown`);
            assert.ok(Number(platform!.where.split(":")[1]) < Number(apps!.where.split(":")[1]), `${s}: platform before apps`);
        }
        assert.ok(text.includes(PLATFORM_PHASE_COMMAND));
        assert.match(text, /steps\.up\.outputs\.bootstrapPhase|stack output `bootstrapPhase`/);
    });

    it("the cost tables are the program's own quantities at today's sizes, priced as plan/cost.ts says", () => {
        let total = 0;
        for (const s of AWS_STACKS) {
            const lines = monthlyEstimate(renders[s]);
            assert.equal(block(`cost:${s}`), costTable(lines), `${s}: paste the table plan/cost.ts renders`);
            total += totalUsd(lines);
        }
        const about = /Both stacks: about \$([\d,]+) a month/.exec(text);
        assert.ok(about, "the doc states both stacks' total");
        assert.equal(Number(about![1].replace(/,/g, "")), Math.round(total / 10) * 10);
        // Quantities follow the config: a resize changes the estimate.
        assert.match(block("cost:production"), /\| Nodes \(general\) \| 3 x m6i\.xlarge \|/);
        assert.match(block("cost:staging"), /\| RDS PostgreSQL \| db\.t4g\.medium \|/);
    });

    it("every price names a source and a date; the ones no page confirmed say unverified", async () => {
        for (const [key, p] of Object.entries(PRICES)) {
            assert.ok(p.source.length > 20 && /20\d\d/.test(p.date), key);
            if (!p.verified) assert.match(p.source, /^no public page read states it/, key);
        }
        const bigger = await renderStack("production", ["cluster.nodeGroups.general.desiredSize=4"]);
        const nodes = monthlyEstimate(bigger).find((l) => l.item === "Nodes (general)")!;
        assert.equal(nodes.quantity, "4 x m6i.xlarge");
        assert.equal(nodes.monthlyUsd, Math.round(4 * 0.192 * 730 * 100) / 100);
    });

    it("teardown: the protected resources per stack are the program's", () => {
        const doc = rows(block("protected")).map(([type, p, s]) => [type.replace(/`/g, ""), Number(p), Number(s)] as const);
        const count = (r: Rendered, type: string) => r.resources.filter((x) => x.options.protect && x.type === type).length;
        const types = new Set(AWS_STACKS.flatMap((s) => renders[s].resources.filter((x) => x.options.protect).map((x) => x.type)));
        assert.deepEqual(doc.map(([t]) => t).sort(), [...types].sort());
        for (const [type, p, s] of doc) assert.deepEqual([p, s], [count(renders.production, type), count(renders.staging, type)], type);
        // ... and the retained one, and the other holds the doc names.
        for (const s of AWS_STACKS) {
            const retained = renders[s].resources.filter((x) => x.options.retainOnDelete).map((x) => x.type);
            assert.deepEqual(retained, ["aws:rds/instance:Instance"]);
        }
        assert.match(text, /pulumi state unprotect --all/);
        assert.match(text, /pulumi config set --path cluster\.deletionProtection false/);
    });

    it("the IAM section names the policy files and counts as the policy test does", () => {
        for (const f of POLICY_FILES) assert.ok(text.includes(f), f);
        const eksChildren = REMOTE_CHILDREN["eks:index:Cluster"].length;
        assert.match(text, new RegExp(`plus the ${["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][eksChildren]} types \`eks:index:Cluster\` creates`));
        const attach = POLICY_FILES.flatMap((f) => JSON.parse(fs.readFileSync(path.join(ROOT, f), "utf8")).Statement).find((s: any) => [].concat(s.Action).includes("iam:AttachRolePolicy" as never));
        const n = attach.Condition.ArnEquals["iam:PolicyARN"].length;
        assert.match(text, new RegExp(`the ${["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][n]} managed policies the program attaches`));
    });
});
