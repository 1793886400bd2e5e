// What the offline plan prints: the preview-like summary, the diff lines with
// stateful resources flagged, the policy report, and the one place where
// values are made safe to print (secrets and offline placeholders masked).
import { RecordedResource, Rendered, SECRET_PLACEHOLDER, Secret, redact } from "./render";
import { PlanDiff, ResourceRef } from "./diff";
import { SECURE_PLACEHOLDER } from "./stackfile";
// Types only (erased from the build): printing a report never loads the policy SDK.
import type { PolicyReport } from "./policy";

/**
 * JSON-safe copy of `v` with secret values as "[secret]". A secret map or list
 * keeps its shape (each leaf masked), so a Kubernetes Secret's `stringData`
 * still reads as a map of keys to "[secret]". A `secure:` config value that
 * reached a resource without being marked secret (a bug in the program) is
 * masked too, and its dotted path reported, so the placeholder is never
 * printed.
 */
export function scrubbed(v: unknown): { value: unknown; leaks: string[] } {
    const leaks: string[] = [];
    const walk = (x: unknown, at: string, secret: boolean): unknown => {
        if (x instanceof Secret) return walk(x.value, at, true);
        if (Array.isArray(x)) return x.map((e, i) => walk(e, `${at}[${i}]`, secret));
        if (x !== null && typeof x === "object") {
            if (typeof (x as { toJSON?: unknown }).toJSON === "function") return walk(redact(x), at, secret);
            const o: Record<string, unknown> = {};
            for (const [k, e] of Object.entries(x)) if (e !== undefined) o[k] = walk(e, at ? `${at}.${k}` : k, secret);
            return o;
        }
        if (secret && x !== undefined) return SECRET_PLACEHOLDER;
        if (typeof x === "string" && x.includes(SECURE_PLACEHOLDER)) {
            leaks.push(at || "(root)");
            return x === SECURE_PLACEHOLDER ? SECRET_PLACEHOLDER : x.split(SECURE_PLACEHOLDER).join(SECRET_PLACEHOLDER);
        }
        return x;
    };
    return { value: walk(v ?? null, "", false), leaks };
}

/** The `--json` document: every registered resource (lookups excluded) and the stack outputs. */
export interface PlanDocument {
    readonly stack: string;
    readonly resources: {
        type: string;
        name: string;
        inputs: Record<string, unknown>;
        options: { protect: boolean; retainOnDelete: boolean; parent: string | null; dependsOn: string[] };
    }[];
    readonly outputs: Record<string, unknown>;
}

/** Builds the `--json` document; `warn` hears of any unmarked secure value. */
export function planDocument(r: Rendered, warn: (msg: string) => void): PlanDocument {
    const resources = r.resources
        .filter((x) => !x.read)
        .map((x) => {
            const { value, leaks } = scrubbed(x.inputs);
            for (const l of leaks) warn(`${x.type} ${x.name} input ${l} holds a secure config value not marked secret; printed as ${SECRET_PLACEHOLDER}`);
            const o = x.options;
            return {
                type: x.type,
                name: x.name,
                inputs: value as Record<string, unknown>,
                options: { protect: o.protect, retainOnDelete: o.retainOnDelete, parent: o.parent, dependsOn: [...o.dependsOn] },
            };
        });
    const out = scrubbed(r.outputs);
    for (const l of out.leaks) warn(`stack output ${l} holds a secure config value not marked secret; printed as ${SECRET_PLACEHOLDER}`);
    return { stack: r.stack, resources, outputs: out.value as Record<string, unknown> };
}

// ---------------------------------------------------------------------------
// Stateful resources: a change to one of these can lose or expose data, or
// rotate a credential under running pods. Decided by type token.

const STATEFUL: readonly [RegExp, string][] = [
    [/^aws:rds\/(instance|cluster|clusterInstance|globalCluster|snapshot|clusterSnapshot):/, "database"],
    [/^aws:elasticache\/(replicationGroup|cluster|serverlessCache|globalReplicationGroup):/, "cache"],
    [/^aws:s3\/bucket/, "bucket"],
    [/^aws:ecr\/(repository|lifecyclePolicy):/, "repository"],
    [/^aws:secretsmanager\//, "secret"],
    [/^aws:ssm\/parameter:/, "secret"],
    [/^aws:kms\/(key|replicaKey|externalKey):/, "key"],
    [/^aws:(dynamodb\/table|efs\/fileSystem|ebs\/volume|backup\/vault):/, "data store"],
    [/^kubernetes:core\/v1:(Secret|PersistentVolumeClaim|PersistentVolume)$/, "secret or volume"],
    [/^kubernetes:external-secrets\.io\/[^:]+:ExternalSecret$/, "secret"],
    [/^random:index\/random(Password|String|Bytes|Id):/, "secret"],
    [/^tls:index\/privateKey:/, "key"],
];

/** What kind of state a resource type holds ("database", "secret", ...), or undefined. */
export function statefulKind(type: string): string | undefined {
    return STATEFUL.find(([re]) => re.test(type))?.[1];
}

// ---------------------------------------------------------------------------

function table(rows: string[][], indent = "    "): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd());
}

interface ColorView {
    readonly image: string;
    readonly replicas: string;
}
export interface ServiceView {
    readonly name: string;
    readonly namespace: string;
    readonly live: string;
    readonly colors: Record<string, ColorView>;
}

const COLOR_NAMES = ["blue", "green"];

/**
 * Per service, read back from the rendered objects (not from config, so the
 * summary shows what would be applied): the color the live Service selects,
 * and each color's Deployment image and replicas.
 */
export function serviceViews(r: Rendered): ServiceView[] {
    const byParent = new Map<string, RecordedResource[]>();
    for (const x of r.resources) {
        if (!x.options.parent) continue;
        const list = byParent.get(x.options.parent) ?? [];
        list.push(x);
        byParent.set(x.options.parent, list);
    }
    const views: ServiceView[] = [];
    for (const comp of r.resources.filter((x) => x.type === "candlefish:apps:BlueGreenService")) {
        const children = byParent.get(`${comp.type}::${comp.name}`) ?? [];
        const colors: Record<string, ColorView> = {};
        let namespace = "";
        for (const d of children.filter((c) => c.type === "kubernetes:apps/v1:Deployment")) {
            const i = scrubbed(d.inputs).value as any;
            const color = i?.spec?.selector?.matchLabels?.version ?? COLOR_NAMES.find((c) => d.name.endsWith(`-${c}`)) ?? d.name;
            const containers: any[] = i?.spec?.template?.spec?.containers ?? [];
            colors[color] = {
                image: containers.map((c) => String(c.image)).join(", ") || "-",
                replicas: i?.spec?.replicas === undefined ? "-" : String(i.spec.replicas),
            };
            namespace ||= i?.metadata?.namespace ?? "";
        }
        const liveSvc = children.find((c) => c.type === "kubernetes:core/v1:Service" && (c.inputs as any)?.metadata?.name === `${comp.name}-service`);
        const live = String((liveSvc?.inputs as any)?.spec?.selector?.version ?? "?");
        views.push({ name: comp.name, namespace, live, colors });
    }
    return views;
}

/** The no-flag output: what `pulumi preview` would show, offline. */
export function formatSummary(r: Rendered, warn: (msg: string) => void): string {
    const doc = planDocument(r, warn);
    const lines: string[] = [];
    const managed = r.resources.filter((x) => x.custom && !x.read);
    const components = r.resources.filter((x) => !x.custom);
    const reads = r.resources.filter((x) => x.read);
    lines.push(`Offline plan of stack ${r.stack} (mock runtime: no cloud calls, no credentials)`);
    lines.push("");
    lines.push(`Resources: ${managed.length} to create, ${components.length} components, ${reads.length} read`);
    const counts = new Map<string, number>();
    for (const x of r.resources.filter((y) => !y.read)) counts.set(x.type, (counts.get(x.type) ?? 0) + 1);
    const rows = [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([t, n]) => [String(n).padStart(4), t]);
    lines.push(...table(rows));
    const protectedOnes = managed.filter((x) => x.options.protect || x.options.retainOnDelete);
    if (protectedOnes.length) {
        lines.push("");
        lines.push(`Protected or retained on delete: ${protectedOnes.length}`);
        lines.push(...table(protectedOnes.map((x) => [x.type, x.name, [x.options.protect && "protect", x.options.retainOnDelete && "retainOnDelete"].filter(Boolean).join(", ")])));
    }
    const views = serviceViews(r);
    if (views.length) {
        lines.push("");
        lines.push("Services (live = the color <name>-service selects):");
        const colorNames = [...new Set(views.flatMap((v) => Object.keys(v.colors)))].sort();
        const head = ["SERVICE", "NAMESPACE", "LIVE", ...colorNames.flatMap((c) => [`${c.toUpperCase()} IMAGE`, "REPLICAS"])];
        const body = views.map((v) => [
            v.name,
            v.namespace,
            v.live,
            ...colorNames.flatMap((c) => [v.colors[c]?.image ?? "-", v.colors[c]?.replicas ?? "-"]),
        ]);
        lines.push(...table([head, ...body]));
    }
    const outputs = Object.entries(doc.outputs);
    if (outputs.length) {
        lines.push("");
        lines.push("Outputs:");
        for (const [k, v] of outputs) lines.push(`    ${k}: ${JSON.stringify(v)}`);
    }
    return lines.join("\n") + "\n";
}

/** Preview-like diff lines; stateful resources get a loud marker and a closing banner. */
export function formatDiff(d: PlanDiff, sets: readonly string[]): string {
    const lines: string[] = [];
    const stateful: string[] = [];
    const mark = (x: ResourceRef): string => {
        const kind = statefulKind(x.type);
        if (!kind) return "";
        stateful.push(`${x.type} ${x.name} (${kind})`);
        return `   <-- STATEFUL (${kind})`;
    };
    lines.push(`Offline diff: ${sets.length ? sets.join(" ") : "(no --set edits)"}`);
    lines.push("");
    for (const c of d.changed) lines.push(`  ~ ${c.type} ${c.name} [${c.paths.join(", ")}]${mark(c)}`);
    for (const a of d.added) lines.push(`  + ${a.type} ${a.name}${mark(a)}`);
    for (const r of d.removed) lines.push(`  - ${r.type} ${r.name}${mark(r)}`);
    if (!d.changed.length && !d.added.length && !d.removed.length) lines.push("  (no changes)");
    lines.push("");
    lines.push(`Changes: ${d.changed.length} to update, ${d.added.length} to create, ${d.removed.length} to delete`);
    if (stateful.length) {
        const bar = "!".repeat(78);
        lines.push("", bar, `!!! WARNING: this edit touches ${stateful.length} STATEFUL resource(s): data, credentials or keys may be`, "!!! replaced, lost or rotated. Review each one before `pulumi up`:");
        for (const s of stateful) lines.push(`!!!   ${s}`);
        lines.push(bar);
    }
    return lines.join("\n") + "\n";
}

/** Stateful resources a diff touches, for a stderr warning next to `--diff --json`. */
export function statefulChanges(d: PlanDiff): string[] {
    return [...d.changed, ...d.added, ...d.removed].filter((x) => statefulKind(x.type)).map((x) => `${x.type} ${x.name} (${statefulKind(x.type)})`);
}

export function formatPolicy(p: PolicyReport): string {
    const mandatory = p.violations.filter((v) => v.level === "mandatory");
    const advisory = p.violations.filter((v) => v.level !== "mandatory");
    const lines = [`Policies: ${p.policies} evaluated; ${mandatory.length} mandatory and ${advisory.length} advisory violation(s)`];
    for (const v of [...mandatory, ...advisory]) {
        lines.push(`  [${v.level}] ${v.policy}: ${v.type} ${v.name}`);
        for (const l of v.message.split("\n")) lines.push(`      ${l}`);
    }
    if (mandatory.length) lines.push("", "FAILED: mandatory policy violations; `pulumi up` would be refused.");
    return lines.join("\n") + "\n";
}
