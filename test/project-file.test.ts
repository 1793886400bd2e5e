// Pulumi.yaml declares exactly the keys the program reads, and the defaults
// Pulumi injects for undeclared-in-stack keys mean "the program's default".
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigSource, PROJECT, parseConfig } from "../config";
import { ROOT, loadStack } from "../plan/stackfile";
import { parseStack } from "./harness";

const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
const declared: Record<string, { type?: string; default?: unknown; description?: string }> = project.config;

/** The project-namespace config as Pulumi hands it to the program: stack values, then declared defaults. */
function asPulumiPasses(stack: string) {
    const { config, secretKeys } = loadStack(stack);
    const raw: Record<string, string> = {};
    const foreign: Record<string, string> = {};
    const strip = (k: string) => k.slice(PROJECT.length + 1);
    for (const [k, v] of Object.entries(config)) {
        if (k.startsWith(`${PROJECT}:`)) raw[strip(k)] = v;
        else foreign[k] = v; // aws:region
    }
    for (const [k, d] of Object.entries(declared)) {
        if (raw[k] === undefined && d.default !== undefined) raw[k] = typeof d.default === "object" ? JSON.stringify(d.default) : String(d.default);
    }
    return new ConfigSource(stack, raw, new Set(secretKeys.map(strip)), foreign);
}

describe("Pulumi.yaml", () => {
    it("names the project the runbook's resources are named after and runs index.ts", () => {
        assert.equal(project.name, "candlefish-maturity-map");
        assert.equal(project.runtime.name, "nodejs");
        assert.equal(project.main, "index.ts");
    });

    for (const stack of ["production", "staging", "local", "development"]) {
        it(`declares exactly the top-level keys the program reads (${stack})`, () => {
            const src = asPulumiPasses(stack);
            parseConfig(src);
            assert.deepEqual(Object.keys(declared).sort(), [...src.knownKeys].sort());
        });

        it(`${stack}: Pulumi's injected defaults parse to the same config as leaving the keys out`, () => {
            const withDefaults = parseConfig(asPulumiPasses(stack));
            const without = parseStack(stack);
            assert.deepEqual(JSON.parse(JSON.stringify(withDefaults)), JSON.parse(JSON.stringify(without)));
        });
    }

    it("requires activeColor and services (no default), types every scalar, and describes every key", () => {
        assert.equal(declared.activeColor.default, undefined);
        assert.equal(declared.services.default, undefined);
        assert.equal(declared.activeColor.type, "string");
        assert.equal(declared.maintenanceMode.type, "boolean");
        assert.equal(declared.readOnlyMode.type, "boolean");
        for (const [k, d] of Object.entries(declared)) assert.ok(d.description && d.description.length > 10, `${k} has no description`);
    });
});
