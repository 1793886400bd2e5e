// The runbook's pre-deployment "Unit tests > 80% coverage" as a gate (issue 14
// item 16): `npm test`, the README's test command that CI runs, is mocha under
// c8 with .c8rc.json, which fails the run when statements, lines or branches of
// the program's own code are not above 80%. Shown here by running c8 with that
// very config on small programs: each metric below the bar fails, all above pass.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const CONFIG = path.join(ROOT, ".c8rc.json");
const C8 = path.join(ROOT, "node_modules", ".bin", "c8");

const PROGRAMS: Record<string, string> = {
    // 2 of 6 lines run.
    "lines.js": ["function used(x) { return x + 1; }", "function unused(x) {", "  if (x > 1) { return x * 2; }", "  return x - 1;", "}", "console.log(used(1));"].join("\n"),
    // 17 of 20 lines run, but only one arm of the if chain.
    "branches.js": [
        "let total = 0;",
        "function pick(x) {",
        "  if (x === 1) { total += 1; }",
        "  else if (x === 2) { total += 2; }",
        "  else if (x === 3) { total += 3; }",
        "  else { total += 4; }",
        "}",
        "pick(1);",
        "pick(1);",
        ...Array.from({ length: 10 }, (_, i) => `total += ${i + 1};`),
        "console.log(total);",
    ].join("\n"),
    "covered.js": ['function f(x) { return x > 0 ? "pos" : "neg"; }', "console.log(f(1), f(-1));"].join("\n"),
};

describe("coverage gate: npm test fails below the runbook's 80% (issue 14 item 16)", function () {
    this.timeout(60000);
    let dir = "";
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-c8-"));
        for (const [f, text] of Object.entries(PROGRAMS)) fs.writeFileSync(path.join(dir, f), text + "\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const c8 = (file: string) => {
        const env = { ...process.env };
        delete env.NODE_V8_COVERAGE; // the outer c8's, when the suite itself runs under it
        const r = spawnSync(C8, ["--config", CONFIG, "node", file], { cwd: dir, env, encoding: "utf8" });
        return { status: r.status, errors: r.stderr.split("\n").filter((l) => l.startsWith("ERROR:")) };
    };

    it("npm test runs mocha under c8, and .c8rc.json gates statements, lines and branches above 80%", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pkg.scripts.test, 'tsc --noEmit -p . && node scripts/build.js && c8 mocha "dist/test/**/*.test.js"');
        const cfg = JSON.parse(fs.readFileSync(CONFIG, "utf8"));
        assert.equal(cfg["check-coverage"], true);
        for (const m of ["statements", "lines", "branches"]) assert.ok(cfg[m] > 80 && cfg[m] <= 80.01, `${m}: ${cfg[m]}`);
        // Only the tests, benchmarks and testbed are left out, never the program.
        assert.deepEqual(cfg.exclude, ["test/**", "bench/**", "testbed/**", "dist/test/**", "dist/bench/**"]);
        // CI runs the README's test command.
        assert.match(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8"), /^npm test 2>&1 \| tee /m);
    });

    it("fails when lines and statements are below (2 of 6 run)", () => {
        assert.deepEqual(c8("lines.js"), {
            status: 1,
            errors: ["ERROR: Coverage for lines (33.33%) does not meet global threshold (80.01%)", "ERROR: Coverage for statements (33.33%) does not meet global threshold (80.01%)"],
        });
    });

    it("fails when only branches are below (lines at 85%)", () => {
        assert.deepEqual(c8("branches.js"), { status: 1, errors: ["ERROR: Coverage for branches (66.66%) does not meet global threshold (80.01%)"] });
    });

    it("passes when everything is covered", () => {
        assert.deepEqual(c8("covered.js"), { status: 0, errors: [] });
    });
});
