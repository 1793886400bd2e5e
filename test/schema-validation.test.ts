// Validation by things no one here wrote: every object `plan --out` writes for
// production and staging is checked against the Kubernetes OpenAPI schema
// (kubernetes-models) and, for CRD-backed kinds, against the CRD's schema
// (@kubernetes-models/cert-manager, prometheus-operator, external-secrets).
// A schema error fails the test, naming the object and the field.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { main } from "../plan/cli";
import { OUT_MARKER } from "../plan/out";

/** The package whose models cover an API group (groups not listed: kubernetes-models). */
const CRD_PACKAGES: Record<string, string> = {
    "cert-manager.io": "@kubernetes-models/cert-manager",
    "acme.cert-manager.io": "@kubernetes-models/cert-manager",
    "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
    "external-secrets.io": "@kubernetes-models/external-secrets",
};

/**
 * Kinds no installed model covers, each with the reason it is acceptable.
 * Anything else without a model fails the test.
 */
export const KNOWN_UNVALIDATED: Readonly<Record<string, string>> = {};

/**
 * Built-in API versions a Kubernetes 1.33 API server serves (EKS's default
 * here; kubernetes-models carries the 1.35 schema, a superset). A built-in
 * object at any other version would validate above but be refused by the
 * cluster. CRD-backed groups are served by their operators, not listed here.
 */
const SERVED_BUILTINS_1_33 = new Set([
    "v1",
    "apps/v1",
    "batch/v1",
    "policy/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "networking.k8s.io/v1",
    "storage.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "coordination.k8s.io/v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "certificates.k8s.io/v1",
    "discovery.k8s.io/v1",
    "node.k8s.io/v1",
]);

interface Finding {
    readonly file: string;
    readonly problem: string;
}

/** The module holding the model for apiVersion/kind, e.g. kubernetes-models/apps/v1/Deployment. */
export function modelModule(apiVersion: string, kind: string): string {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    if (!group) return `kubernetes-models/${version}/${kind}`;
    return `${CRD_PACKAGES[group] ?? "kubernetes-models"}/${group}/${version}/${kind}`;
}

// The model packages are ESM-only; a real dynamic import (kept as is by the
// transpiler) loads them from this CommonJS test.
const importModel = (spec: string): Promise<Record<string, any>> => import(spec);

/** Validates one object; returns the schema errors as "<field>: <message>". */
export async function validateObject(obj: any): Promise<{ model: string; errors: string[] } | { model: undefined; reason: string }> {
    const spec = modelModule(String(obj?.apiVersion), String(obj?.kind));
    let mod: Record<string, any>;
    try {
        mod = await importModel(spec);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
            return { model: undefined, reason: `no model ${spec}` };
        }
        throw e;
    }
    const Model = mod[obj.kind];
    if (typeof Model !== "function") return { model: undefined, reason: `${spec} exports no ${obj.kind}` };
    try {
        new Model(obj).validate();
        return { model: spec, errors: [] };
    } catch (e) {
        const errs: any[] = (e as any).errors ?? [];
        if (!errs.length) return { model: spec, errors: [(e as Error).message] };
        return {
            model: spec,
            errors: errs.map((x) => {
                const field = String(x.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "(object)";
                const extra = x.params?.allowedValues ? ` ${JSON.stringify(x.params.allowedValues)}` : x.params?.missingProperty ? ` (${x.params.missingProperty})` : "";
                return `${field}: ${x.message}${extra}`;
            }),
        };
    }
}

async function planOut(stack: string): Promise<string> {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `schema-${stack}-`)), "out");
    let stderr = "";
    const code = await main(["--stack", stack, "--out", dir], { stdout: () => undefined, stderr: (t) => void (stderr += t) });
    assert.equal(code, 0, `plan --stack ${stack} --out failed: ${stderr}`);
    return dir;
}

async function validateDir(dir: string): Promise<{ findings: Finding[]; validated: Map<string, number> }> {
    const findings: Finding[] = [];
    const validated = new Map<string, number>();
    const files = fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".yaml"))
        .sort();
    for (const file of files) {
        const obj = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8"));
        const gvk = `${obj.apiVersion}/${obj.kind}`;
        const group = String(obj.apiVersion).includes("/") ? String(obj.apiVersion).split("/")[0] : "";
        if (!(group in CRD_PACKAGES) && !SERVED_BUILTINS_1_33.has(obj.apiVersion) && (group === "" || group.endsWith(".k8s.io") || !group.includes("."))) {
            findings.push({ file, problem: `${gvk}: ${obj.apiVersion} is not served by a Kubernetes 1.33 API server` });
        }
        const r = await validateObject(obj);
        if (r.model === undefined) {
            if (!(gvk in KNOWN_UNVALIDATED)) findings.push({ file, problem: `${gvk}: ${r.reason}, and the kind is not listed as known-unvalidated` });
            continue;
        }
        for (const e of r.errors) findings.push({ file, problem: `${gvk} ${obj.metadata?.name}: ${e}` });
        validated.set(gvk, (validated.get(gvk) ?? 0) + 1);
    }
    return { findings, validated };
}

describe("schema validation of every rendered Kubernetes object", function () {
    this.timeout(120000);

    for (const stack of ["production", "staging", "local"]) {
        it(`${stack}: every object validates against its Kubernetes or CRD schema`, async () => {
            const dir = await planOut(stack);
            const { findings, validated } = await validateDir(dir);
            assert.deepEqual(findings.map((f) => `${f.file}: ${f.problem}`), []);
            // The run really checked the objects the blue/green services are made of.
            assert.ok((validated.get("apps/v1/Deployment") ?? 0) >= 8, JSON.stringify([...validated]));
            assert.ok((validated.get("v1/Service") ?? 0) >= 8);
            assert.ok((validated.get("policy/v1/PodDisruptionBudget") ?? 0) >= 8);
            assert.ok(fs.existsSync(path.join(dir, OUT_MARKER)));
        });
    }

    it("catches a schema error, naming the object and the field", async () => {
        const bad = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "rtpm-api-blue" },
            spec: { replicas: "3", selector: {}, template: { spec: { containers: [{ name: "rtpm-api", image: "x:v1", ports: [{ containerPort: "8000" }] }] } } },
        };
        const r = await validateObject(bad);
        assert.equal(r.model, "kubernetes-models/apps/v1/Deployment");
        assert.deepEqual((r as { errors: string[] }).errors, ["spec.replicas: must be integer", "spec.template.spec.containers.0.ports.0.containerPort: must be integer"]);
    });

    it("checks CRD-backed objects against the CRD schema", async () => {
        const cert = {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: { name: "candlefish-ai-tls", namespace: "production" },
            spec: { secretName: "candlefish-ai-tls", issuerRef: { name: "letsencrypt-prod", kind: "ClusterIssuer" }, dnsNames: ["candlefish.ai"], duration: 2160 },
        };
        const r = await validateObject(cert);
        assert.equal(r.model, "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate");
        assert.deepEqual((r as { errors: string[] }).errors, ["spec.duration: must be string"]);
        const rule = await validateObject({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: { name: "r" },
            spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "up == 0", for: "5m" }] }] },
        });
        assert.deepEqual(rule, { model: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", errors: [] });
    });

    it("a built-in object at an API version the cluster does not serve is reported", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "schema-version-"));
        fs.writeFileSync(path.join(dir, "PodDisruptionBudget-x.yaml"), "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: x\n");
        const { findings } = await validateDir(dir);
        assert.equal(findings[0].problem, "policy/v1beta1/PodDisruptionBudget: policy/v1beta1 is not served by a Kubernetes 1.33 API server");
    });

    it("a kind with no model is reported unless listed as known-unvalidated", async () => {
        const r = await validateObject({ apiVersion: "example.candlefish.ai/v1", kind: "Widget", metadata: { name: "w" } });
        assert.equal(r.model, undefined);
        assert.match((r as { reason: string }).reason, /no model kubernetes-models\/example\.candlefish\.ai\/v1\/Widget/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "schema-nomodel-"));
        fs.writeFileSync(path.join(dir, "Widget-w.yaml"), "apiVersion: example.candlefish.ai/v1\nkind: Widget\nmetadata:\n  name: w\n");
        const { findings } = await validateDir(dir);
        assert.deepEqual(findings, [{ file: "Widget-w.yaml", problem: "example.candlefish.ai/v1/Widget: no model kubernetes-models/example.candlefish.ai/v1/Widget, and the kind is not listed as known-unvalidated" }]);
    });
});
