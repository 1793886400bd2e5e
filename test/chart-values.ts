// Checks Helm values against the pinned chart's own files, kept as test data
// in test/charts/<chart>-<version>/ (source repository, tag and commit in
// test/charts/README.md):
//   - every path the program sets is a key of the chart's values.yaml (or of
//     a subchart's, under its key), or lies under a free-form map the chart
//     documents (a `{}` default such as podAnnotations, or a listed exception
//     with the template line that reads it);
//   - where the chart ships values.schema.json, the values Helm would
//     validate (the chart's defaults coalesced with ours) pass that schema,
//     as `helm install` checks them before rendering anything.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../plan/stackfile";
import { distance } from "../config/schema";

// ajv 8.20.0: a direct dev dependency (the JSON-schema validator Helm's values.schema.json checks need).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Ajv = require("ajv").default;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Ajv2020 = require("ajv/dist/2020").default;

export const CHARTS_DIR = path.join(ROOT, "test", "charts");

/** A key absent from values.yaml that the chart's templates read anyway, or a subtree passed through verbatim. */
export interface Exception {
    /** Dotted values path. */
    readonly path: string;
    /** Where the chart reads it (file:line in the chart at its tag), quoted. */
    readonly evidence: string;
}

export interface ChartSpec {
    /** Directory under test/charts. */
    readonly dir: string;
    /** Subcharts the program sets values for: values key -> directory under test/charts. */
    readonly subcharts?: Readonly<Record<string, string>>;
    /** Paths allowed although values.yaml does not list them (commented-out options, verbatim configs). */
    readonly exceptions?: readonly Exception[];
}

/**
 * Every chart the program installs, by `<chart>@<version>`. A Release whose
 * chart and version is not here fails the test: a version bump needs the new
 * chart's files.
 */
export const CHARTS: Readonly<Record<string, ChartSpec>> = {
    "cert-manager@v1.16.2": {
        dir: "cert-manager-v1.16.2",
        exceptions: [
            {
                path: "serviceAccount.name",
                evidence: "templates/_helpers.tpl:31: `{{ default (include \"cert-manager.fullname\" .) .Values.serviceAccount.name }}` (values.yaml:191 lists it commented out as a +docs:property; values.schema.json defines helm-values.serviceAccount.name)",
            },
            {
                path: "serviceAccount.annotations",
                evidence: "templates/serviceaccount.yaml:12: `{{- with .Values.serviceAccount.annotations }}` (values.yaml:195 lists it commented out; values.schema.json defines helm-values.serviceAccount.annotations)",
            },
            {
                path: "securityContext.fsGroup",
                evidence: "templates/deployment.yaml:63-64: `{{- with .Values.securityContext }}` / `securityContext:` (the pod's core/v1 PodSecurityContext passed through; values.schema.json types helm-values.securityContext as a free object)",
            },
        ],
    },
    "ingress-nginx@4.11.5": {
        dir: "ingress-nginx-4.11.5",
        exceptions: [
            {
                path: "fullnameOverride",
                evidence: "templates/_helpers.tpl:21-22: `{{- if .Values.fullnameOverride -}}` ... `trunc 63` (values.yaml:8 lists it commented out)",
            },
            {
                path: "controller.resources",
                evidence:
                    "templates/controller-deployment.yaml:175: `resources: {{ toYaml .Values.controller.resources | nindent 12 }}` (a core/v1 ResourceRequirements passed through; values.yaml:385 shows `limits` commented out)",
            },
        ],
    },
    "external-secrets@0.10.7": { dir: "external-secrets-0.10.7" },
    "kube-prometheus-stack@65.1.1": {
        dir: "kube-prometheus-stack-65.1.1",
        subcharts: { grafana: "grafana-8.5.2", "kube-state-metrics": "kube-state-metrics-5.25.1" },
        exceptions: [
            {
                path: "alertmanager.config",
                evidence:
                    "templates/alertmanager/secret.yaml:24: `alertmanager.yaml: {{ toYaml .Values.alertmanager.config | b64enc | quote }}` (Alertmanager's own configuration file, passed through; its keys are Alertmanager's)",
            },
        ],
    },
    "grafana@8.5.2": {
        dir: "grafana-8.5.2",
        exceptions: [
            {
                path: "fullnameOverride",
                evidence: "templates/_helpers.tpl:15-16: `{{- if .Values.fullnameOverride }}` / `{{- .Values.fullnameOverride | trunc 63 | trimSuffix \"-\" }}` (values.yaml does not list it)",
            },
            {
                path: "persistence.storageClassName",
                evidence: "templates/pvc.yaml:31: `{{- with .Values.persistence.storageClassName }}` (values.yaml:375 lists it commented out)",
            },
            {
                path: "rbac.useExistingRole",
                evidence:
                    "templates/rolebinding.yaml:16-17: `{{- if .Values.rbac.useExistingRole }}` / `name: {{ .Values.rbac.useExistingRole }}` (the RoleBinding's roleRef), and templates/role.yaml:1: `{{- if and .Values.rbac.create (not .Values.rbac.useExistingRole) -}}` (no Role of the chart's own); values.yaml:22 lists it commented out",
            },
        ],
    },
};

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "list" : typeof v === "object" ? "map" : typeof v);

export function chartFile(dir: string, file: string): string | undefined {
    const p = path.join(CHARTS_DIR, dir, file);
    return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined;
}

export function chartDefaults(dir: string): Record<string, unknown> {
    const text = chartFile(dir, "values.yaml");
    if (text === undefined) throw new Error(`test/charts/${dir}/values.yaml is missing`);
    return (YAML.parse(text) ?? {}) as Record<string, unknown>;
}

/** Helm's coalescing of user values over chart defaults: maps merge, anything else replaces, null deletes. */
export function coalesce(defaults: unknown, user: unknown): unknown {
    if (!isMap(defaults) || !isMap(user)) return user === undefined ? defaults : user;
    const out: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(user)) {
        if (v === null) delete out[k];
        else out[k] = coalesce(defaults[k], v);
    }
    return out;
}

/**
 * Paths in `values` that the chart does not have. A path whose chart default
 * is an empty map is free-form (annotations, labels, selectors, configs), and
 * everything beneath it is accepted. A scalar or list set where the chart's
 * default is of another kind is reported too.
 */
export function unknownPaths(spec: ChartSpec, values: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const exceptions = new Set((spec.exceptions ?? []).map((e) => e.path));
    const walk = (user: Record<string, unknown>, defaults: Record<string, unknown>, prefix: string, sub: Readonly<Record<string, string>>, exc: Set<string>) => {
        for (const [k, v] of Object.entries(user)) {
            const p = prefix ? `${prefix}.${k}` : k;
            if (exc.has(p)) continue;
            // Helm passes `global` to every chart; none is set here, but it is never unknown.
            if (!prefix && k === "global") continue;
            let d = defaults[k];
            const subDir = !prefix ? sub[k] : undefined;
            if (subDir !== undefined) {
                // A subchart's values: its own defaults, overridden by the parent's block for it.
                const subSpec = Object.values(CHARTS).find((c) => c.dir === subDir) ?? { dir: subDir };
                d = coalesce(chartDefaults(subDir), d);
                if (!isMap(v)) {
                    problems.push(`${p}: expected a map of ${subDir} values, got a ${kind(v)}`);
                    continue;
                }
                // The subchart's exceptions apply under its key.
                const subExc = new Set([...exc, ...(subSpec.exceptions ?? []).map((e) => `${k}.${e.path}`)]);
                walk(v, d as Record<string, unknown>, p, {}, subExc);
                continue;
            }
            if (!(k in defaults)) {
                const near = Object.keys(defaults)
                    .map((key) => ({ key, d: distance(k.toLowerCase(), key.toLowerCase()) }))
                    .sort((a, b) => a.d - b.d || a.key.localeCompare(b.key))
                    .slice(0, 5)
                    .map((x) => x.key);
                problems.push(`${p}: not a key of the chart (nearest keys here in values.yaml: ${near.join(", ") || "none"})`);
                continue;
            }
            if (d === null || d === undefined) continue; // a null default is a documented slot for any value
            if (isMap(d)) {
                if (!isMap(v)) problems.push(`${p}: the chart expects a map here, got a ${kind(v)}`);
                else if (Object.keys(d).length > 0) walk(v, d, p, {}, exc);
                continue; // {}: free-form
            }
            if (kind(d) !== kind(v)) problems.push(`${p}: the chart's default is a ${kind(d)} (${JSON.stringify(d)}), got a ${kind(v)}`);
        }
    };
    walk(values, chartDefaults(spec.dir), "", spec.subcharts ?? {}, exceptions);
    return problems;
}

const validators = new Map<string, (v: unknown) => string[]>();

/** A validator for the chart's values.schema.json (draft-07 or 2020-12), or undefined when the chart has none. */
export function schemaValidator(dir: string): ((values: unknown) => string[]) | undefined {
    if (validators.has(dir)) return validators.get(dir);
    const text = chartFile(dir, "values.schema.json");
    if (text === undefined) return undefined;
    const schema = JSON.parse(text);
    const AjvClass = /2020-12/.test(String(schema.$schema ?? "")) ? Ajv2020 : Ajv;
    const ajv = new AjvClass({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const fn = (values: unknown): string[] => {
        if (validate(values)) return [];
        return (validate.errors ?? []).map((e: { instancePath: string; message?: string; params?: Record<string, unknown> }) => {
            const where = e.instancePath.replace(/^\//, "").replace(/\//g, ".") || "(root)";
            const extra = e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : "";
            return `${where}: ${e.message ?? "invalid"}${extra}`;
        });
    };
    validators.set(dir, fn);
    return fn;
}

/** Schema errors of the values Helm validates: the chart's defaults coalesced with `values`. Subcharts with a schema are validated on their part. */
export function schemaErrors(spec: ChartSpec, values: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const top = schemaValidator(spec.dir);
    const merged = coalesce(chartDefaults(spec.dir), values) as Record<string, unknown>;
    if (top) errors.push(...top(merged));
    for (const [key, dir] of Object.entries(spec.subcharts ?? {})) {
        const v = schemaValidator(dir);
        if (!v) continue;
        const sub = coalesce(chartDefaults(dir), merged[key] ?? {});
        errors.push(...v(sub).map((e) => `${key}.${e}`));
    }
    return errors;
}

/** Everything wrong with `values` for chart `<chart>@<version>`, or a note that the chart's files are missing. */
export function checkValues(chart: string, version: string, values: Record<string, unknown>): string[] {
    const spec = CHARTS[`${chart}@${version}`];
    if (!spec) return [`no test data for ${chart}@${version}: add test/charts/${chart}-${version}/ (values.yaml, values.schema.json if the chart has one) and an entry in CHARTS`];
    return [...unknownPaths(spec, values), ...schemaErrors(spec, values)];
}
