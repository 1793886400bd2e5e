// The test set-up (test/setup.ts, mocha's global set-up): it says what it is
// doing, puts the testbed's tools first on PATH, and without Go stops the run
// naming what is missing.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TESTBED_BIN_ENV } from "./setup";
import { testbedEnv, testbedTool, testbedVersion } from "./testbed";

describe("test set-up: the testbed's tools", () => {
    it("ran before the tests: its bin directory is first on the PATH it exported and holds every default tool", () => {
        const bin = process.env[TESTBED_BIN_ENV]!;
        assert.ok(bin, "the set-up exported the bin directory");
        assert.equal(testbedEnv().PATH.split(path.delimiter)[0], bin);
        for (const t of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "pulumi-resource-pulumi-nodejs", "promtool", "amtool"]) {
            assert.ok(fs.existsSync(testbedTool(t)), t);
        }
        assert.ok(fs.existsSync(testbedEnv().PULUMI_HOME), "PULUMI_HOME");
        assert.equal(testbedVersion("pulumi"), JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")).dependencies["@pulumi/pulumi"]);
    });

    it("without Go (and nothing cached) it fails before any test runs, naming Go and how to get the tools", function () {
        this.timeout(60000);
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-nogo-"));
        try {
            const setup = path.join(__dirname, "setup.js");
            const r = spawnSync(
                process.execPath,
                ["-e", `require(${JSON.stringify(setup)}).mochaGlobalSetup().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(7); })`],
                // Only node's own directory on PATH: no go.
                { env: { HOME: cache, XDG_CACHE_HOME: cache, PATH: path.dirname(process.execPath) }, encoding: "utf8", timeout: 60000 },
            );
            assert.ok(!fs.existsSync(path.join(path.dirname(process.execPath), "go")), "this check needs node and go in different directories");
            assert.equal(r.status, 7, r.stderr);
            assert.match(r.stderr, /\[test set-up\] the real-CLI, promtool and amtool tests use the testbed's pinned tools: building what is missing into .*candlefish-testbed/);
            assert.match(r.stderr, /\[test set-up\] cannot provide the testbed's tools, so no test runs: Go is not installed: the testbed's tools are built from Go modules \(Go >= 1\.25\.11.*\), and pulumi 3\.248\.0, .*promtool 2\.54\.1, amtool 0\.27\.0 are not built yet\. Install Go, then run `npm run testbed -- tools`\./);
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });

    it("with the tools cached, it needs no Go", function () {
        this.timeout(60000);
        const setup = path.join(__dirname, "setup.js");
        // The user's cache (the one this run's set-up filled); only node's own directory on PATH.
        const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: path.dirname(process.execPath) };
        if (process.env.XDG_CACHE_HOME) env.XDG_CACHE_HOME = process.env.XDG_CACHE_HOME;
        const r = spawnSync(
            process.execPath,
            ["-e", `require(${JSON.stringify(setup)}).mochaGlobalSetup().then(() => console.log(process.env.PATH.split(":")[0]), (e) => { console.error(e.message); process.exit(7); })`],
            { env, encoding: "utf8", timeout: 60000 },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), process.env[TESTBED_BIN_ENV]);
        assert.match(r.stderr, /\[test set-up\] tools ready in [0-9.]+ s: pulumi 3\.248\.0, /);
    });
});
