// What config/previous.ts relies on, on the real engine (the testbed's CLI, a
// file backend in a temp dir, no cloud): a StackReference to the stack itself
// reads the outputs of its last completed update, in `pulumi up` and in
// `pulumi preview`, and a stack that never deployed has none. The transition
// rules (config/transitions.ts) judge each edit against exactly that.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testbedTool } from "./testbed";

const ROOT = path.resolve(__dirname, "..", "..");

describe("StackReference to the stack itself (real CLI): the last deployment's outputs", function () {
    this.timeout(240_000);
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const pulumi = (...args: string[]) => {
        const r = spawnSync(testbedTool("pulumi"), [...args, "--non-interactive"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
        return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
    };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-selfref-"));
        fs.mkdirSync(path.join(dir, "state"));
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: selfref\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "selfref", main: "index.js" }));
        // The same read config/previous.ts makes (compiled program: previousDeployment).
        const previous = path.join(ROOT, "dist", "config", "previous.js");
        fs.writeFileSync(
            path.join(dir, "index.js"),
            `const pulumi = require("@pulumi/pulumi");
const { previousDeployment } = require(${JSON.stringify(previous)});
module.exports = (async () => {
    const before = (await previousDeployment()).state;
    pulumi.log.info("previous=" + JSON.stringify(before ?? null));
    const live = new pulumi.Config().require("live");
    const color = { imageTag: "v1.0.0", replicas: 2, flags: "0" };
    return { promotionState: { web: { live, env: "0", colors: { blue: color, green: color } } } };
})();
`,
        );
        env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "selfref-test-only", PULUMI_SKIP_UPDATE_CHECK: "true" };
        const init = pulumi("stack", "init", "dev");
        assert.equal(init.code, 0, init.out);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a first deploy reads none; each later up and preview reads the last completed update's", () => {
        assert.equal(pulumi("config", "set", "live", "blue").code, 0);
        const first = pulumi("up", "--yes", "--skip-preview");
        assert.equal(first.code, 0, first.out);
        assert.match(first.out, /previous=null/);

        assert.equal(pulumi("config", "set", "live", "green").code, 0);
        const preview = pulumi("preview");
        assert.equal(preview.code, 0, preview.out);
        assert.match(preview.out, /previous=\{"web":\{[^\n]*"live":"blue"\}\}/);

        const second = pulumi("up", "--yes", "--skip-preview");
        assert.equal(second.code, 0, second.out);
        assert.match(second.out, /previous=\{"web":\{[^\n]*"live":"blue"\}\}/, "up sees the last completed update, not its own");
        const third = pulumi("preview");
        assert.match(third.out, /previous=\{"web":\{[^\n]*"live":"green"\}\}/);
    });
});
