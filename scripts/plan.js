#!/usr/bin/env node
// `npm run plan`: the offline plan. Transpiles to dist/ only when a source
// changed (no type-check on this path; `npm test` type-checks), then runs
// dist/plan/cli.js in this same process, so a plan costs one Node start.
"use strict";
const path = require("path");
const { build, OUT } = require("./build");

try {
    if (build()) process.stderr.write("plan: sources changed; rebuilt dist/\n");
} catch (e) {
    process.stderr.write(`plan: build failed: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
}
// Before the SDK loads (see plan/fast.ts): keep V8's compiled code for the
// SDKs between runs (Node >= 22.1 does it natively; older Node through
// vm.Script cached data), and defer the parts of the SDK a plan never runs.
const fast = require(path.join(OUT, "plan", "fast.js"));
const Module = require("module");
if (process.env.CANDLEFISH_PLAN_CODE_CACHE === "0") {
    /* benchmark baseline: no code cache */
} else if (typeof Module.enableCompileCache === "function") Module.enableCompileCache();
else fast.installCodeCache(path.join(__dirname, "..", "node_modules", ".cache", "candlefish-plan"));
fast.installFastPaths();
require(path.join(OUT, "plan", "cli.js")).run(process.argv.slice(2));
