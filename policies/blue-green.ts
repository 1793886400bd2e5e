// Blue/green invariants: what must hold for the runbook's traffic switch
// ("Blue-Green Deployment" Step 4, "Rollback Procedures") to be safe. No public
// pack has these; they are why the switch is config and not a kubectl patch.
// All mandatory: each one, broken, sends live traffic to pods that do not exist,
// are not ready, or run an image nobody can roll back to. Plus data safety:
// stateful resources are protected from a mistaken delete or rename.
import { PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import { COLORS, Color, IMAGE_TAG_PATTERN, otherColor } from "../config/services";
import {
    K8S,
    PRODUCTION_NAMESPACES_SCHEMA,
    UNKNOWN,
    Unknown,
    configOf,
    containersOf,
    k8sName,
    k8sNamespace,
    map,
    parseImage,
    read,
    resourcePolicy,
    selects,
    stackPolicy,
    str,
    withFix,
} from "./lib";

/** One service's blue/green objects in one namespace, found by the runbook's names. */
interface BlueGreenSet {
    readonly namespace: string;
    /** The service name: <name>-blue, <name>-green, <name>-service, <name>-preview. */
    readonly name: string;
    readonly deployments: Record<Color, PolicyResource[]>;
    live?: PolicyResource;
    preview?: PolicyResource;
}

/** Groups Deployments and Services by (namespace, service name). Objects whose namespace is unknown are skipped. */
export function blueGreenSets(resources: readonly PolicyResource[]): BlueGreenSet[] {
    const sets = new Map<string, BlueGreenSet>();
    const get = (namespace: string, name: string) => {
        const key = `${namespace}/${name}`;
        let s = sets.get(key);
        if (!s) sets.set(key, (s = { namespace, name, deployments: { blue: [], green: [] } }));
        return s;
    };
    for (const r of resources) {
        if (r.type !== K8S.Deployment && r.type !== K8S.Service) continue;
        const ns = k8sNamespace(r.props);
        if (ns === UNKNOWN) continue;
        const name = k8sName(r.props, r.name);
        if (r.type === K8S.Deployment) {
            const m = /^(.+)-(blue|green)$/.exec(name);
            if (m) get(ns, m[1]).deployments[m[2] as Color].push(r);
        } else {
            const m = /^(.+)-(service|preview)$/.exec(name);
            if (!m) continue;
            const s = get(ns, m[1]);
            if (m[2] === "service") s.live = r;
            else s.preview = r;
        }
    }
    // A `-service` with no colored Deployment and no version selector is an ordinary Service.
    return [...sets.values()].filter(
        (s) => s.deployments.blue.length + s.deployments.green.length > 0 || (s.live && read(s.live.props, "spec.selector.version") !== undefined),
    );
}

/** The color a Service selects, or why it selects none. */
function selectedColor(svc: PolicyResource): Color | Unknown | string {
    const v = read(svc.props, "spec.selector.version");
    if (v === UNKNOWN) return UNKNOWN;
    if (v === "blue" || v === "green") return v;
    return v === undefined ? "no version in its selector (it selects both colors at once)" : `version ${JSON.stringify(v)}, which is not blue or green`;
}

const isColor = (c: unknown): c is Color => (COLORS as readonly unknown[]).includes(c);

function forSets(args: StackValidationArgs, fn: (s: BlueGreenSet) => void): void {
    for (const s of blueGreenSets(args.resources)) fn(s);
}

export const bothColors = stackPolicy(
    {
        name: "bluegreen-both-colors",
        description: "Every blue/green service has exactly one <name>-blue and one <name>-green Deployment, so the switch always has a target.",
        enforcementLevel: "mandatory",
        control: "runbook Blue-Green Deployment",
        remediation: "declare the service through BlueGreenService (config services.<name>.blue and .green, each with an imageTag); scale an unused color to 0 instead of removing it.",
    },
    (args, report) =>
        forSets(args, (s) => {
            for (const c of COLORS) {
                const n = s.deployments[c].length;
                if (n !== 1)
                    report(
                        withFix(
                            `${s.namespace}/${s.name} has ${n} ${s.name}-${c} Deployments (expected exactly one).`,
                            `declare ${s.name} through BlueGreenService, with services.${s.name}.blue.imageTag and services.${s.name}.green.imageTag set; scale an unused color to 0 (services.${s.name}.${c}.replicas: 0) instead of removing it.`,
                        ),
                        s.deployments[c][1]?.urn ?? s.live?.urn,
                    );
            }
        }),
);

const LIVE_SCHEMA = {
    properties: {
        productionNamespaces: PRODUCTION_NAMESPACES_SCHEMA,
        minimumLiveReplicas: { type: "integer" as const, minimum: 1, default: 1, description: "Replicas the live color needs outside production." },
        minimumProductionLiveReplicas: { type: "integer" as const, minimum: 1, default: 2, description: "Replicas the live color needs in production (one pod can be drained while one serves)." },
        immutableTagPattern: {
            type: "string" as const,
            default: IMAGE_TAG_PATTERN.source,
            description: "A tag the live color may run: a release tag, a git SHA or a digest (the config's imageTag rule).",
        },
    },
};

interface LiveConfig {
    productionNamespaces: string[];
    minimumLiveReplicas: number;
    minimumProductionLiveReplicas: number;
    immutableTagPattern: string;
}

export const liveSelectsReadyColor = stackPolicy(
    {
        name: "bluegreen-live-service-selects-ready-color",
        description:
            "Each live <name>-service selects one color whose Deployment exists, carries the selected labels, runs enough replicas (>= 2 in production) and an immutable image tag.",
        enforcementLevel: "mandatory",
        control: "runbook Blue-Green Deployment Step 4",
        remediation:
            "set activeColor (or services.<name>.activeColor) to a color with services.<name>.<color>.imageTag = an immutable tag (v1.2.3) and replicas >= 1 (>= 2 in production).",
        configSchema: LIVE_SCHEMA,
    },
    (args, report) => {
        const cfg = configOf<LiveConfig>(args, LIVE_SCHEMA);
        const tagPattern = new RegExp(cfg.immutableTagPattern);
        forSets(args, (s) => {
            const id = `${s.namespace}/${s.name}-service`;
            if (!s.live) {
                report(
                    withFix(
                        `${s.namespace}/${s.name} has blue/green Deployments but no ${s.name}-service to carry live traffic.`,
                        `declare ${s.name} through BlueGreenService (config services.${s.name}), which registers ${s.name}-service.`,
                    ),
                    s.deployments.blue[0]?.urn ?? s.deployments.green[0]?.urn,
                );
                return;
            }
            const color = selectedColor(s.live);
            if (color === UNKNOWN) return;
            if (!isColor(color)) return report(withFix(`${id} has ${color}.`, `set activeColor (or services.${s.name}.activeColor) to blue or green.`), s.live.urn);
            const dep = s.deployments[color][0];
            if (!dep)
                return report(
                    withFix(
                        `${id} selects ${color}, but ${s.namespace}/${s.name}-${color} does not exist: live traffic would have no pods.`,
                        `set services.${s.name}.${color}.imageTag to an immutable tag (v1.2.3), or make ${otherColor(color)} live (services.${s.name}.activeColor: ${otherColor(color)}).`,
                    ),
                    s.live.urn,
                );
            checkReady(s, color, dep, s.live, cfg, tagPattern, report);
        });
    },
);

function checkReady(s: BlueGreenSet, color: Color, dep: PolicyResource, live: PolicyResource, cfg: LiveConfig, tagPattern: RegExp, report: ReportViolation): void {
    const depName = `${s.namespace}/${s.name}-${color}`;
    const selector = map(live.props, "spec.selector");
    if (selector !== UNKNOWN && selector) {
        const ok = selects(selector, map(dep.props, "spec.template.metadata.labels"));
        if (ok === false)
            report(
                withFix(
                    `${s.namespace}/${s.name}-service selects ${JSON.stringify(selector)}, which ${depName}'s pod labels do not carry.`,
                    `register ${s.name}-service and ${s.name}-${color} through BlueGreenService, which gives both the labels { app: ${s.name}, version: ${color} }.`,
                ),
                live.urn,
            );
    }
    const replicas = read(dep.props, "spec.replicas");
    const prod = cfg.productionNamespaces.includes(s.namespace);
    const min = prod ? cfg.minimumProductionLiveReplicas : cfg.minimumLiveReplicas;
    const n = replicas === undefined ? 1 : replicas;
    if (n !== UNKNOWN && (typeof n !== "number" || n < min))
        report(
            withFix(
                `${depName} is live with ${String(n)} replica(s); at least ${min} required${prod ? " in production" : ""}.`,
                `set services.${s.name}.${color}.replicas to ${min} or more.`,
            ),
            dep.urn,
        );
    const cs = containersOf(read(dep.props, "spec.template.spec"));
    if (cs === UNKNOWN) return;
    for (const c of cs) {
        const image = str(c.c, "image");
        if (image === UNKNOWN) continue;
        const { tag, digest } = parseImage(image ?? "");
        if (digest && /^sha256:[0-9a-f]{64}$/.test(digest)) continue;
        if (!tag || !tagPattern.test(tag))
            report(
                withFix(
                    `${depName} is live with image ${image ?? "(none)"}, whose tag is not immutable: a rollback could not return to it.`,
                    `set services.${s.name}.${color}.imageTag to an immutable tag such as v1.2.3 (or a git SHA, or a digest).`,
                ),
                dep.urn,
            );
    }
}

export const previewSelectsOther = stackPolicy(
    {
        name: "bluegreen-preview-selects-other-color",
        description: "Each <name>-preview Service exists and selects the color the live Service does not, so the next release can be tested before the switch.",
        enforcementLevel: "mandatory",
        control: "runbook Blue-Green Deployment Step 3",
        remediation: "declare the service through BlueGreenService, which sets <name>-preview's selector to { app: <name>, version: <the other color> }.",
    },
    (args, report) =>
        forSets(args, (s) => {
            if (!s.live) return; // reported by bluegreen-live-service-selects-ready-color
            const live = selectedColor(s.live);
            if (!isColor(live)) return;
            const fix = `declare ${s.name} through BlueGreenService, which sets ${s.name}-preview's selector to { app: ${s.name}, version: ${otherColor(live)} }.`;
            if (!s.preview) return report(withFix(`${s.namespace}/${s.name} has no ${s.name}-preview Service selecting ${otherColor(live)}.`, fix), s.live.urn);
            const prev = selectedColor(s.preview);
            if (prev === UNKNOWN) return;
            if (prev !== otherColor(live))
                return report(withFix(`${s.namespace}/${s.name}-preview selects ${isColor(prev) ? prev : `nothing valid (${prev})`}; the live color is ${live}, so it must select ${otherColor(live)}.`, fix), s.preview.urn);
            const ls = map(s.live.props, "spec.selector");
            const ps = map(s.preview.props, "spec.selector");
            if (ls && ps && ls !== UNKNOWN && ps !== UNKNOWN) {
                const diff = [...new Set([...Object.keys(ls), ...Object.keys(ps)])].filter((k) => k !== "version" && ls[k] !== ps[k]);
                if (diff.length) report(withFix(`${s.namespace}/${s.name}-preview and -service differ in selector keys ${diff.join(", ")}: the preview would not test the same app.`, fix), s.preview.urn);
            }
        }),
);

export const liveDependsOnDeployment = stackPolicy(
    {
        name: "bluegreen-live-service-depends-on-deployment",
        description:
            "Each live <name>-service depends on the Deployment it selects and on that color's promotion gate <name>-gate-<color>, so its selector moves only after any rollout of that color and after the gate found the color ready (a dependency alone waits for nothing when the Deployment is unchanged).",
        enforcementLevel: "mandatory",
        control: "runbook Blue-Green Deployment Steps 2-4",
        remediation: "register the live Service with dependsOn: [the selected color's Deployment, every <svc>-gate-<color> of the stack] (BlueGreenService does this).",
    },
    (args, report) =>
        forSets(args, (s) => {
            if (!s.live) return;
            const color = selectedColor(s.live);
            if (!isColor(color)) return;
            const dep = s.deployments[color][0];
            if (!dep) return;
            const gate = `${s.name}-gate-${color}`;
            const fix = `register ${s.name}-service with dependsOn: [${s.name}-${color}, ${gate}] (BlueGreenService does this).`;
            if (!s.live.dependencies.some((d) => d.urn === dep.urn))
                report(withFix(`${s.namespace}/${s.name}-service does not depend on ${s.name}-${color}: the switch could happen before its pods are ready.`, fix), s.live.urn);
            if (!s.live.dependencies.some((d) => d.urn.endsWith(`::${gate}`)))
                report(withFix(`${s.namespace}/${s.name}-service does not depend on its promotion gate ${gate}: nothing checks ${color} before the selector moves.`, fix), s.live.urn);
        }),
);

const STATEFUL_SCHEMA = {
    properties: {
        statefulTypes: {
            type: "array" as const,
            items: { type: "string" as const },
            default: [
                "aws:rds/instance:Instance",
                "aws:rds/cluster:Cluster",
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "aws:s3/bucket:Bucket",
                "aws:s3/bucketV2:BucketV2",
                "aws:ecr/repository:Repository",
                "aws:kms/key:Key",
                "aws:secretsmanager/secret:Secret",
                "aws:backup/vault:Vault",
                "aws:efs/fileSystem:FileSystem",
                "kubernetes:core/v1:PersistentVolumeClaim",
            ],
            description: "Resource types that hold data (or keys to data) and must be declared with protect: true.",
        },
    },
};

export const statefulProtected = resourcePolicy(
    {
        name: "stateful-resources-protected",
        description: "Resources that hold data (databases, caches, buckets, repositories, secrets, KMS keys) are protected, so a destroy or rename cannot delete them.",
        enforcementLevel: "mandatory",
        control: "runbook Disaster Recovery",
        remediation: "declare the resource with { protect: true } (and retainOnDelete for data that must outlive the stack).",
        configSchema: STATEFUL_SCHEMA,
    },
    (args, report) => {
        const { statefulTypes } = configOf<{ statefulTypes: string[] }>(args, STATEFUL_SCHEMA);
        if (!statefulTypes.includes(args.type)) args.notApplicable(`Policy only applies to stateful types (${statefulTypes.length} configured)`);
        if (!args.opts.protect) report(`${args.type.split(":").pop()} ${args.name} is not protected.`);
    },
);

export const BLUE_GREEN_POLICIES = [bothColors, liveSelectsReadyColor, previewSelectsOther, liveDependsOnDeployment, statefulProtected];
