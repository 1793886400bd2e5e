// The synthetic stacks `npm run bench` scales the plan with (production's own
// services plus declared synthetic ones), shared with test/doc-figures.test.ts,
// which checks that the resource counts docs/BENCHMARK.md quotes are still the
// program's.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT } from "../config/source";
import { ROOT } from "../plan/stackfile";

/** The production stack file's document with `n` services: its own, plus synthetic ones. */
export function syntheticStackDoc(n: number, root = ROOT): Record<string, any> {
    const doc = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.production.yaml"), "utf8"));
    const key = `${PROJECT}:services`;
    const services = { ...(doc.config[key] as Record<string, unknown>) };
    // Each synthetic service is declared, as any service beyond the program's own must be (serviceCatalog).
    const catalog: Record<string, unknown> = {};
    for (let i = 1; Object.keys(services).length < n; i++) {
        const name = `synthetic-${String(i).padStart(2, "0")}`;
        services[name] = { blue: { imageTag: `v1.0.${i}`, replicas: 2 }, green: { imageTag: `v1.0.${i - 1}`, replicas: 2 } };
        catalog[name] = { port: 8080 };
    }
    const names = Object.keys(services);
    if (names.length > n) throw new Error(`production already has ${names.length} services; cannot scale down to ${n}`);
    doc.config[key] = services;
    if (Object.keys(catalog).length) doc.config[`${PROJECT}:serviceCatalog`] = catalog;
    return doc;
}

/** Writes that document as `<dir>/stack-<n>/Pulumi.production.yaml` and returns the file, for `plan --config-file`. */
export function writeSyntheticStack(n: number, dir: string, root = ROOT): string {
    const sub = path.join(dir, `stack-${n}`);
    fs.mkdirSync(sub, { recursive: true });
    const file = path.join(sub, "Pulumi.production.yaml");
    fs.writeFileSync(file, YAML.stringify(syntheticStackDoc(n, root)));
    return file;
}
