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
// Before the SDK loads: defer the parts of it a plan never runs (plan/fast.ts).
require(path.join(OUT, "plan", "fast.js")).deferUnusedSdkModules();
require(path.join(OUT, "plan", "cli.js")).run(process.argv.slice(2));
