// The testbed's tools as the tests use them: the binaries test/setup.ts built
// or found with testbed/tools.js, by absolute path, never whatever else is on PATH.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { TESTBED_BIN_ENV, TESTBED_EXPORTS_ENV, TESTBED_TOOLS_ENV } from "./setup";

/** The absolute path of a testbed tool; fails with how to get it when the set-up did not run. */
export function testbedTool(name: string): string {
    const bin = process.env[TESTBED_BIN_ENV];
    if (!bin) assert.fail(`${name}: the testbed's tools are not set up; run the tests through mocha with .mocharc.json (npm test), whose set-up runs testbed/tools.js`);
    const p = path.join(bin, name);
    if (!fs.existsSync(p)) assert.fail(`${name} is not in the testbed's tools (${bin}); run \`node testbed/tools.js\``);
    return p;
}

/**
 * The variables the set-up exported (PATH with the tools first, PULUMI_HOME, ...), for a process a test
 * starts: taken from the set-up itself, so another test that changed process.env.PATH cannot lose them.
 */
export function testbedEnv(): Record<string, string> {
    const text = process.env[TESTBED_EXPORTS_ENV];
    if (!text) assert.fail("the testbed's tools are not set up; run the tests through mocha with .mocharc.json (npm test)");
    return JSON.parse(text);
}

/** The version testbed/tools.js built a tool at (its cache key). */
export function testbedVersion(name: string): string {
    const tools = JSON.parse(process.env[TESTBED_TOOLS_ENV] ?? "{}") as Record<string, { version: string }>;
    const t = tools[name];
    if (!t) assert.fail(`${name}: not among the testbed's tools (${Object.keys(tools).join(", ") || "set-up did not run"})`);
    return t.version;
}
