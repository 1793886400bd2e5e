// What the offline plan prints: the preview-like summary, the diff lines with
// stateful resources flagged, the policy report, and the one place where
// values are made safe to print (secrets and offline placeholders masked).
import { RecordedResource, Rendered, SECRET_PLACEHOLDER, Secret, redact } from "./render";
import type { Changed, PlanDiff, ResourceRef } from "./diff";
import { SECURE_PLACEHOLDER } from "./stackfile";
// Types only (erased from the build): printing a report never loads the policy SDK.
import type { PolicyReport, PolicyViolation } from "./policy";

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
    [/^aws:eks\/cluster:/, "cluster"],
    [/^kubernetes:core\/v1:(Secret|PersistentVolumeClaim|PersistentVolume)$/, "secret or volume"],
    [/^kubernetes:external-secrets\.io\/[^:]+:ExternalSecret$/, "secret"],
    [/^random:index\/random(Password|String|Bytes|Id):/, "secret"],
    [/^tls:index\/privateKey:/, "key"],
];

/** What kind of state a resource type holds ("database", "secret", ...), or undefined. */
export function statefulKind(type: string): string | undefined {
    return STATEFUL.find(([re]) => re.test(type))?.[1];
}

/**
 * Stateful types whose replacement loses what they hold: the data of a
 * database, cache, bucket, image repository, file system or volume, a cluster
 * and its workloads, or a key (and whatever it encrypted), or a secret with all
 * its versions. A replaced Kubernetes Secret or ExternalSecret is rebuilt from
 * its inputs, a replaced secret version or random password is a rotation:
 * flagged STATEFUL, but not a data loss.
 */
const LOST_ON_REPLACE: readonly RegExp[] = [
    /^aws:rds\/(instance|cluster|clusterInstance|globalCluster):/,
    /^aws:elasticache\/(replicationGroup|cluster|serverlessCache|globalReplicationGroup):/,
    /^aws:s3\/(bucket|bucketV2):/,
    /^aws:ecr\/repository:/,
    /^aws:secretsmanager\/secret:/,
    /^aws:kms\/(key|replicaKey|externalKey):/,
    /^aws:(dynamodb\/table|efs\/fileSystem|ebs\/volume|backup\/vault):/,
    /^aws:eks\/cluster:/,
    /^kubernetes:core\/v1:(PersistentVolumeClaim|PersistentVolume)$/,
];

/** Whether replacing a resource of this type loses its data (the plan's loudest line, and a policy violation). */
export function lostOnReplace(type: string): boolean {
    return LOST_ON_REPLACE.some((re) => re.test(type));
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

/** What the diff is of, for its header and its policy check. */
export interface DiffContext {
    readonly stack: string;
    /** The edits, as typed (`--set ...`, or `<base file> -> <file>`). */
    readonly edits: readonly string[];
    /** The stack's `allowReplacement`: logical names of stateful resources the edit may replace. */
    readonly allowReplacement?: readonly string[];
}

const ARROW = "\u2192";

/** A value as one line of text: JSON, "(none)" when absent, cut at 100 characters. */
export function showValue(v: unknown): string {
    if (v === undefined) return "(none)";
    if (v === SECRET_PLACEHOLDER) return SECRET_PLACEHOLDER;
    const t = JSON.stringify(v);
    return t.length > 100 ? `${t.slice(0, 97)}...` : t;
}

/**
 * Old and new value as text. Two long strings that differ past the cut are
 * shown around their first difference, so the change itself is visible.
 */
export function showPair(a: unknown, b: unknown): [string, string] {
    const ta = showValue(a);
    const tb = showValue(b);
    if (ta !== tb || typeof a !== "string" || typeof b !== "string" || a === b) return [ta, tb];
    const fa = JSON.stringify(a);
    const fb = JSON.stringify(b);
    let i = 0;
    while (i < fa.length && fa[i] === fb[i]) i++;
    const from = Math.max(0, i - 30);
    const cut = (t: string) => `${from > 0 ? "..." : ""}${t.slice(from, from + 90)}${t.length > from + 90 ? "..." : ""}`;
    return [cut(fa), cut(fb)];
}

const headingOf = (component: string | null) => {
    if (!component) return "(stack)";
    const [type, name] = component.split("::");
    return `${type} ${name}`;
};

/** Resources the edit replaces whose data would be lost (the loudest lines of the diff). */
export function statefulReplacements(d: PlanDiff): Changed[] {
    return d.changed.filter((c) => c.replace && lostOnReplace(c.type));
}

/**
 * The plan's own policy over a diff (with `--policy`): replacing a stateful
 * resource is a mandatory violation unless the stack's `allowReplacement`
 * names it.
 */
export const REPLACEMENT_POLICY = "plan-stateful-replacement";
export function replacementViolations(d: PlanDiff, allow: readonly string[] = []): PolicyViolation[] {
    return statefulReplacements(d)
        .filter((c) => !allow.includes(c.name))
        .map((c) => ({
            policy: REPLACEMENT_POLICY,
            level: "mandatory" as const,
            type: c.type,
            name: c.name,
            message:
                `${c.type} ${c.name} (${statefulKind(c.type)}) would be REPLACED: ${c.replaceBecause.join(", ")} force${c.replaceBecause.length === 1 ? "s" : ""} a new resource, and the old one's data does not move to it${c.retainOnDelete ? " (the old one is retained, outside the stack)" : ""}.` +
                (c.protect ? " It is protected, so `pulumi up` refuses it until `pulumi state unprotect`." : "") +
                ` If the replacement is intended, list it in the stack config key allowReplacement (pulumi config set --path 'allowReplacement[0]' ${c.name}) in the same change.`,
        }));
}

/** One sentence: what the edit does, in words ("4 services: live blue -> green; nothing else changes"). */
export function diffSummary(d: PlanDiff): string {
    if (!d.changed.length && !d.added.length && !d.removed.length) return "no changes";
    const SVC = "candlefish:apps:BlueGreenService::";
    const explained = new Set<ResourceRef>();
    const live = new Map<string, string[]>(); // "blue -> green" -> services
    const rolled = new Map<string, string[]>(); // "roll|<paths>" -> "<service> <color>"
    const facts: string[] = [];
    const services = new Set([...d.changed, ...d.added, ...d.removed].map((x) => x.component).filter((c): c is string => !!c && c.startsWith(SVC)).map((c) => c.slice(SVC.length)));
    const tagOf = (image: unknown) => (typeof image === "string" ? image.slice(image.lastIndexOf(":") + 1) : showValue(image));
    for (const svc of [...services].sort()) {
        const mine = (x: ResourceRef) => x.component === `${SVC}${svc}` || x.component === `candlefish:operations:Migrations::${svc}-migrations`;
        const ch = d.changed.filter(mine);
        const selector = ch.find((c) => c.name === `${svc}-service` && c.paths.join() === "spec.selector.version");
        let flipped = false;
        if (selector) {
            const v = selector.values["spec.selector.version"];
            const key = `${String(v.old)} ${ARROW} ${String(v.new)}`;
            live.set(key, [...(live.get(key) ?? []), svc]);
            explained.add(selector);
            flipped = true;
        }
        let imageChanged = false;
        for (const c of ch.filter((x) => x.type === "kubernetes:apps/v1:Deployment" && /-(blue|green)$/.test(x.name) && x.name.startsWith(`${svc}-`))) {
            const color = c.name.slice(svc.length + 1);
            const parts: string[] = [];
            const images = c.paths.filter((p) => /^spec\.template\.spec\.containers\.\d+\.image$/.test(p));
            for (const p of images) parts.push(`image ${tagOf(c.values[p].old)} ${ARROW} ${tagOf(c.values[p].new)}`);
            if (c.paths.includes("spec.replicas")) parts.push(`replicas ${showValue(c.values["spec.replicas"].old)} ${ARROW} ${showValue(c.values["spec.replicas"].new)}`);
            const rest = c.paths.filter((p) => !images.includes(p) && p !== "spec.replicas");
            if (images.length) imageChanged = true;
            if (parts.length) facts.push(`${svc} ${color}: ${parts.join(", ")}${c.replace ? " (REPLACED)" : ""}`);
            if (rest.length) {
                // The same other change on many Deployments (a rotated secret's checksum) is one fact.
                const what = rest.map((p) => p.split(".").pop()).join(", ");
                const rolls = rest.some((p) => p.startsWith("spec.template."));
                rolled.set(`${rolls ? "roll" : "change"}|${what}`, [...(rolled.get(`${rolls ? "roll" : "change"}|${what}`) ?? []), `${svc} ${color}`]);
            }
            explained.add(c);
        }
        // Consequences of the above: the preview Service and the promotion gates follow a flip,
        // a migration Job follows a new image.
        for (const x of [...ch, ...d.added.filter(mine), ...d.removed.filter(mine)]) {
            if (flipped && (x.name === `${svc}-preview` || x.name.startsWith(`${svc}-gate-`))) explained.add(x);
            if (imageChanged && x.type === "kubernetes:batch/v1:Job") explained.add(x);
        }
    }
    const parts: string[] = [];
    for (const [flip, svcs] of live) parts.push(`${svcs.length === 1 ? svcs[0] : `${svcs.length} services`}: live ${flip}`);
    parts.push(...facts);
    for (const [key, who] of rolled) {
        const [how, what] = key.split("|");
        const subject = who.length === 1 ? who[0] : `${who.length} Deployments`;
        parts.push(how === "roll" ? `${subject} roll${who.length === 1 ? "s its" : " their"} pods (${what})` : `${subject}: ${what} changes`);
    }
    const replaced = d.changed.filter((c) => c.replace && !explained.has(c));
    for (const c of replaced) {
        parts.push(`${c.name} is REPLACED (${c.replaceBecause.join(", ")})`);
        explained.add(c);
    }
    const others = [...d.changed, ...d.added, ...d.removed].filter((x) => !explained.has(x));
    if (others.length === 0) parts.push("nothing else changes");
    else {
        const n = (k: number, what: string) => (k ? [`${k} ${what}`] : []);
        const counts = [
            ...n(d.changed.filter((x) => others.includes(x)).length, "updated"),
            ...n(d.added.filter((x) => others.includes(x)).length, "created"),
            ...n(d.removed.filter((x) => others.includes(x)).length, "deleted"),
        ];
        const names = others.slice(0, 3).map((x) => x.name).join(", ");
        parts.push(`${parts.length ? "also " : ""}${counts.join(", ")}: ${names}${others.length > 3 ? ", ..." : ""}`);
    }
    return parts.join("; ");
}

/**
 * Preview-like diff, grouped by component: `~` update, `+-` replace (with the
 * paths that force it), `+` create, `-` delete, each change with its old and
 * new value (secrets masked). A stateful replacement is the first and loudest
 * line; stateful resources are flagged and repeated in a closing banner; the
 * last line says in words what the edit does.
 */
export function formatDiff(d: PlanDiff, ctx: DiffContext): string {
    const lines: string[] = [];
    const stateful: string[] = [];
    const mark = (x: ResourceRef): string => {
        const kind = statefulKind(x.type);
        if (!kind) return "";
        stateful.push(`${x.type} ${x.name} (${kind})`);
        return `   <-- STATEFUL (${kind})`;
    };
    lines.push(`Offline diff of stack ${ctx.stack}: ${ctx.edits.length ? ctx.edits.join(" ") : "(no --set edits)"}`);
    const allow = ctx.allowReplacement ?? [];
    const loud = statefulReplacements(d);
    if (loud.length) {
        lines.push("");
        for (const c of loud) {
            lines.push(
                `!!! REPLACES A STATEFUL RESOURCE: ${c.type} ${c.name} (${statefulKind(c.type)}): forced by ${c.replaceBecause.join(", ")}; a new one is created and the old one ${c.retainOnDelete ? "leaves the stack (retainOnDelete: it keeps running)" : "deleted"}, its data does not move.` +
                    (c.protect ? " Protected: `pulumi up` refuses it until `pulumi state unprotect`." : "") +
                    (allow.includes(c.name) ? " Allowed by allowReplacement." : " Not in allowReplacement."),
            );
        }
    }
    const groups = new Map<string | null, string[]>();
    const add = (component: string | null, ...ls: string[]) => groups.set(component, [...(groups.get(component) ?? []), ...ls]);
    for (const c of d.changed) {
        const sign = c.replace ? "+-" : "~";
        const why = c.replace
            ? ` (replace: forced by ${c.replaceBecause.join(", ")})`
            : c.mayReplace.length
              ? ` (may replace: ${c.mayReplace.join(", ")}, if the provider's condition holds)`
              : c.replaceKnown
                ? ""
                : " (replace or update: not determined offline for this type)";
        add(c.component, `  ${sign} ${c.type} ${c.name} [${c.paths.join(", ")}]${why}${mark(c)}`);
        for (const p of c.paths) {
            const v = c.values[p];
            const [o, n] = showPair(v.old, v.new);
            add(c.component, `      ${p}: ${o} ${ARROW} ${n}${o === n ? " (changed)" : ""}${c.replaceBecause.includes(p) ? "   forces replacement" : ""}`);
        }
    }
    for (const a of d.added) add(a.component, `  + ${a.type} ${a.name}${mark(a)}`);
    for (const r of d.removed) add(r.component, `  - ${r.type} ${r.name}${mark(r)}`);
    if (groups.size === 0) lines.push("", "  (no changes)");
    for (const key of [...groups.keys()].sort((x, y) => headingOf(x).localeCompare(headingOf(y)))) {
        lines.push("", headingOf(key), ...groups.get(key)!);
    }
    const replaced = d.changed.filter((c) => c.replace).length;
    lines.push("");
    lines.push(`Changes: ${d.changed.length - replaced} to update, ${replaced} to replace, ${d.added.length} to create, ${d.removed.length} to delete`);
    if (stateful.length) {
        const bar = "!".repeat(78);
        lines.push("", bar, `!!! WARNING: this edit touches ${stateful.length} STATEFUL resource(s): data, credentials or keys may be`, "!!! replaced, lost or rotated. Review each one before `pulumi up`:");
        for (const s of stateful) lines.push(`!!!   ${s}`);
        lines.push(bar);
    }
    lines.push(`Summary: ${diffSummary(d)}`);
    return lines.join("\n") + "\n";
}

/** Stateful resources a diff touches, for a stderr warning next to `--diff --json`. */
export function statefulChanges(d: PlanDiff): string[] {
    return [...d.changed, ...d.added, ...d.removed]
        .filter((x) => statefulKind(x.type))
        .map((x) => `${x.type} ${x.name} (${statefulKind(x.type)})${(x as Changed).replace ? " REPLACED" : ""}`);
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
