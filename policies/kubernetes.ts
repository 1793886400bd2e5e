// Kubernetes workload policies: Pod Security Standards "restricted" (what the
// app namespaces' PSS labels make the API server enforce anyway — here it fails
// at preview instead of as a stuck rollout), plus the defaults that kube-score,
// Polaris and kube-linter agree on.
//
// mandatory: a pod that can become root, escalate or reach the host exposes
// the node and every secret on it; a moving image tag makes a rollback run
// different code; an Ingress without TLS or a namespace without a
// NetworkPolicy exposes traffic. advisory: probes, resources, read-only root,
// PDBs and token automount are hygiene a reviewer should see.
import * as k8s from "@pulumi/kubernetes";
import { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import {
    ContainerRef,
    K8S,
    LONG_RUNNING,
    POD_SPEC_PATH,
    PolicyMeta,
    UNKNOWN,
    Unknown,
    configOf,
    containersOf,
    isSet,
    k8sName,
    k8sNamespace,
    list,
    map,
    ofTypes,
    parseImage,
    read,
    resourcePolicy,
    selects,
    stackPolicy,
    str,
    withFix,
} from "./lib";

const EXEMPT_SCHEMA = {
    type: "array" as const,
    items: { type: "string" as const },
    default: ["kube-system"],
    description: "Namespaces whose workloads this policy does not check (cluster add-ons managed by AWS).",
};

interface WorkloadContext {
    readonly args: ResourceValidationArgs;
    readonly props: unknown;
    readonly podSpec: unknown;
    readonly containers: ContainerRef[];
    readonly report: ReportViolation;
    readonly cfg: Record<string, any>;
}

/**
 * A policy over every workload kind's pod spec (Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, Job, CronJob, Pod).
 */
function workloadPolicy(meta: PolicyMeta & { extraConfig?: PolicyConfigSchema["properties"] }, check: (ctx: WorkloadContext) => void) {
    const configSchema: PolicyConfigSchema = { properties: { exemptNamespaces: EXEMPT_SCHEMA, ...meta.extraConfig } };
    const { extraConfig: _unused, ...rest } = meta;
    return resourcePolicy({ ...rest, configSchema }, (args, report) => {
        const path = POD_SPEC_PATH[args.type];
        if (!path) args.notApplicable("Policy only applies to workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod)");
        const cfg = configOf<Record<string, any>>(args, configSchema);
        const ns = k8sNamespace(args.props);
        if (ns !== UNKNOWN && (cfg.exemptNamespaces as string[]).includes(ns)) return;
        const podSpec = read(args.props, path);
        if (podSpec === UNKNOWN || podSpec === undefined) return;
        const containers = containersOf(podSpec);
        if (containers === UNKNOWN) return;
        check({ args, props: args.props, podSpec, containers, report, cfg });
    });
}

/** A container's effective security setting: its own, else the pod's. */
function effective(ctx: WorkloadContext, c: unknown, field: string): unknown {
    const own = read(c, `securityContext.${field}`);
    return own !== undefined ? own : read(ctx.podSpec, `securityContext.${field}`);
}

const where = (ctx: WorkloadContext, c: ContainerRef) => `${ctx.args.type.split(":").pop()} ${k8sName(ctx.props, ctx.args.name)}: ${c.where}`;

/** The blue/green service and color a Deployment <svc>-<color> runs, for fixes that name the config key. */
function colorOf(ctx: WorkloadContext): { service: string; color: string } | undefined {
    if (ctx.args.type !== "kubernetes:apps/v1:Deployment") return undefined;
    const name = k8sName(ctx.props, ctx.args.name);
    const m = typeof name === "string" ? /^(.+)-(blue|green)$/.exec(name) : null;
    return m ? { service: m[1], color: m[2] } : undefined;
}

export const runAsNonRoot = workloadPolicy(
    {
        name: "k8s-run-as-non-root",
        description: "Containers run as a non-root user.",
        enforcementLevel: "mandatory",
        control: "PSS restricted: runAsNonRoot",
        remediation: "set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod or container level).",
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const nonRoot = effective(ctx, c.c, "runAsNonRoot");
            const uid = effective(ctx, c.c, "runAsUser");
            if (uid === 0) ctx.report(`${where(ctx, c)} runs as uid 0.`);
            else if (nonRoot !== true && nonRoot !== UNKNOWN) ctx.report(`${where(ctx, c)} does not set runAsNonRoot: true.`);
        }
    },
);

export const noPrivilegeEscalation = workloadPolicy(
    {
        name: "k8s-no-privilege-escalation",
        description: "Containers are not privileged and cannot gain privileges (setuid binaries, ptrace).",
        enforcementLevel: "mandatory",
        control: "PSS restricted: allowPrivilegeEscalation",
        remediation: "set securityContext.allowPrivilegeEscalation: false and leave privileged unset or false on every container.",
    },
    (ctx) => {
        for (const c of ctx.containers) {
            if (read(c.c, "securityContext.privileged") === true) ctx.report(`${where(ctx, c)} is privileged.`);
            const ape = read(c.c, "securityContext.allowPrivilegeEscalation");
            if (ape !== false && ape !== UNKNOWN) ctx.report(`${where(ctx, c)} does not set allowPrivilegeEscalation: false.`);
        }
    },
);

export const dropAllCapabilities = workloadPolicy(
    {
        name: "k8s-drop-all-capabilities",
        description: "Containers drop all Linux capabilities (adding back at most NET_BIND_SERVICE).",
        enforcementLevel: "mandatory",
        control: "PSS restricted: capabilities",
        remediation: 'set securityContext.capabilities: { drop: ["ALL"] } on every container.',
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const drop = list(c.c, "securityContext.capabilities.drop");
            const add = list(c.c, "securityContext.capabilities.add");
            if (drop !== UNKNOWN && !drop.includes("ALL")) ctx.report(`${where(ctx, c)} does not drop ALL capabilities.`);
            if (add !== UNKNOWN) {
                const extra = add.filter((a) => a !== "NET_BIND_SERVICE" && a !== UNKNOWN);
                if (extra.length) ctx.report(`${where(ctx, c)} adds capabilities ${extra.map(String).join(", ")}.`);
            }
        }
    },
);

export const seccompRuntimeDefault = workloadPolicy(
    {
        name: "k8s-seccomp-runtime-default",
        description: "Containers run with the RuntimeDefault (or a Localhost) seccomp profile.",
        enforcementLevel: "mandatory",
        control: "PSS restricted: seccompProfile",
        remediation: 'set securityContext.seccompProfile: { type: "RuntimeDefault" } on the pod (or every container).',
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const t = effective(ctx, c.c, "seccompProfile.type");
            if (t === UNKNOWN || t === "RuntimeDefault" || t === "Localhost") continue;
            ctx.report(`${where(ctx, c)} has seccompProfile ${t === undefined ? "unset" : JSON.stringify(t)}.`);
        }
    },
);

export const noHostAccess = workloadPolicy(
    {
        name: "k8s-no-host-access",
        description: "Pods share no host namespace (network, PID, IPC), mount no hostPath and bind no hostPort.",
        enforcementLevel: "mandatory",
        control: "PSS baseline: host namespaces, hostPath, hostPorts",
        remediation: "remove hostNetwork/hostPID/hostIPC, hostPath volumes and hostPort from the pod spec.",
    },
    (ctx) => {
        const name = `${ctx.args.type.split(":").pop()} ${k8sName(ctx.props, ctx.args.name)}`;
        for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (read(ctx.podSpec, f) === true) ctx.report(`${name} sets ${f}: true.`);
        const vols = list(ctx.podSpec, "volumes");
        if (vols !== UNKNOWN) for (const v of vols) if (isSet(v, "hostPath") && read(v, "hostPath") !== UNKNOWN) ctx.report(`${name} mounts hostPath volume ${String(read(v, "name"))}.`);
        for (const c of ctx.containers) {
            const ports = list(c.c, "ports");
            if (ports === UNKNOWN) continue;
            for (const p of ports) {
                const hp = read(p, "hostPort");
                if (typeof hp === "number" && hp > 0) ctx.report(`${where(ctx, c)} binds hostPort ${hp}.`);
            }
        }
    },
);

export const readOnlyRootFilesystem = workloadPolicy(
    {
        name: "k8s-read-only-root-filesystem",
        description: "Containers have a read-only root filesystem (writable paths are emptyDir mounts).",
        enforcementLevel: "advisory",
        control: "kube-score container-security-context-readonlyrootfilesystem",
        remediation: "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir at each path the app writes (e.g. /tmp).",
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const ro = read(c.c, "securityContext.readOnlyRootFilesystem");
            if (ro !== true && ro !== UNKNOWN) ctx.report(`${where(ctx, c)} has a writable root filesystem.`);
        }
    },
);

export const resourcesSet = workloadPolicy(
    {
        name: "k8s-resources-requests-limits",
        description: "Containers declare CPU and memory requests and limits, so the scheduler places them and a leak cannot starve the node.",
        enforcementLevel: "advisory",
        control: "kube-score container-resources",
        remediation: "set resources.requests.{cpu,memory} and resources.limits.{cpu,memory} on every container (config services.<name>.requests/limits).",
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const missing = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"].filter((k) => !isSet(c.c, `resources.${k}`));
            if (!missing.length) continue;
            const bg = colorOf(ctx);
            const fix = `set resources.${missing.join(", resources.")} on ${c.where}${bg ? ` (config services.${bg.service}.requests / services.${bg.service}.limits)` : ""}.`;
            ctx.report(withFix(`${where(ctx, c)} has no resources.${missing.join(", resources.")}.`, fix));
        }
    },
);

export const probesSet = workloadPolicy(
    {
        name: "k8s-readiness-liveness-probes",
        description: "Long-running containers have a readiness probe (no traffic before ready) and a liveness probe (restart when stuck).",
        enforcementLevel: "advisory",
        control: "kube-score pod-probes",
        remediation: "set readinessProbe and livenessProbe (httpGet on the health path, e.g. /api/health) on every container.",
    },
    (ctx) => {
        if (!LONG_RUNNING.has(ctx.args.type)) return;
        for (const c of ctx.containers) {
            if (c.init) continue;
            const missing = ["readinessProbe", "livenessProbe"].filter((p) => !isSet(c.c, p));
            if (missing.length) ctx.report(`${where(ctx, c)} has no ${missing.join(" or ")}.`);
        }
    },
);

export const imageTagPinned = workloadPolicy(
    {
        name: "k8s-image-tag-pinned",
        description: "Every image has an explicit tag or digest, and no moving tag such as latest.",
        enforcementLevel: "mandatory",
        control: "kube-linter latest-tag",
        remediation: "reference images as <repository>:<release tag> (e.g. :v1.2.3) or @sha256:<digest>; set config services.<name>.<color>.imageTag.",
        extraConfig: {
            mutableTags: {
                type: "array",
                items: { type: "string" },
                default: ["latest"],
                description: "Tags that move and therefore never identify one image.",
            },
        },
    },
    (ctx) => {
        for (const c of ctx.containers) {
            const image = str(c.c, "image");
            if (image === UNKNOWN) continue;
            if (image === undefined) {
                ctx.report(`${where(ctx, c)} has no image.`);
                continue;
            }
            const { tag, digest } = parseImage(image);
            if (digest) continue;
            const bg = colorOf(ctx);
            const fix = bg
                ? `set services.${bg.service}.${bg.color}.imageTag to a release tag such as v1.2.3 (or a git SHA, or sha256:<64 hex>).`
                : `reference ${image.split(/[:@]/)[0]} by a release tag (e.g. :v1.2.3) or a digest (@sha256:...).`;
            if (!tag) ctx.report(withFix(`${where(ctx, c)} image ${image} has no tag (pulls latest).`, fix));
            else if ((ctx.cfg.mutableTags as string[]).includes(tag)) ctx.report(withFix(`${where(ctx, c)} image ${image} uses the moving tag ${tag}.`, fix));
        }
    },
);

/** Annotation that documents why a workload needs its service-account token. */
export const API_ACCESS_ANNOTATION = "candlefish.ai/kubernetes-api-access";

export const noTokenAutomount = workloadPolicy(
    {
        name: "k8s-no-service-account-token-automount",
        description: "Pods that do not call the Kubernetes API do not mount a service-account token.",
        enforcementLevel: "advisory",
        control: "kube-linter no-automount-service-account-token",
        remediation: `set automountServiceAccountToken: false in the pod spec, or annotate the workload ${API_ACCESS_ANNOTATION}: "<why it needs the API>".`,
    },
    (ctx) => {
        const a = read(ctx.podSpec, "automountServiceAccountToken");
        if (a === false || a === UNKNOWN) return;
        const why = read(ctx.props, ["metadata", "annotations", API_ACCESS_ANNOTATION]);
        if (why === UNKNOWN || (typeof why === "string" && why.trim() !== "")) return;
        const what = `${ctx.args.type.split(":").pop()} ${k8sName(ctx.props, ctx.args.name)}`;
        ctx.report(
            withFix(
                `${what} mounts a service-account token it does not declare a need for.`,
                `set automountServiceAccountToken: false in ${what}'s pod spec, or annotate ${what} with ${API_ACCESS_ANNOTATION} saying why it calls the Kubernetes API.`,
            ),
        );
    },
);

/** Does a TLS host pattern (possibly *.example.com) cover `host`? */
function covers(pattern: string, host: string): boolean {
    if (pattern === host) return true;
    if (pattern.startsWith("*.")) {
        const rest = host.slice(host.indexOf(".") + 1);
        return host.includes(".") && rest === pattern.slice(2);
    }
    return false;
}

export const ingressTls = resourcePolicy(
    {
        name: "k8s-ingress-tls",
        description: "Every Ingress terminates TLS for every host it routes.",
        enforcementLevel: "mandatory",
        remediation: "set spec.tls: [{ hosts: [<every rule host>], secretName: <cert-manager certificate secret, e.g. candlefish-ai-tls> }].",
    },
    validateResourceOfType(k8s.networking.v1.Ingress, (ing, args, report) => {
        const name = k8sName(ing, args.name);
        const tls = list(ing, "spec.tls");
        const rules = list(ing, "spec.rules");
        if (tls === UNKNOWN || rules === UNKNOWN) return;
        const ruleHosts = rules.map((r) => read(r, "host")).filter((h): h is string => typeof h === "string");
        const hostFix = (hosts: string[]) => `set spec.tls on Ingress ${name}: [{ hosts: [${hosts.join(", ")}], secretName: the cert-manager Certificate's secret }].`;
        if (tls.length === 0) {
            report(withFix(`Ingress ${name} has no spec.tls: its hosts are served over plain HTTP.`, hostFix(ruleHosts)));
            return;
        }
        const tlsHosts: (string | Unknown)[] = [];
        for (const t of tls) {
            const hs = list(t, "hosts");
            if (hs === UNKNOWN) return;
            for (const h of hs) tlsHosts.push(h as string | Unknown);
            if (!isSet(t, "secretName")) report(withFix(`Ingress ${name} has a tls entry without secretName.`, `set secretName on Ingress ${name}'s tls entry for ${hs.map(String).join(", ")} to the cert-manager Certificate's secret.`));
        }
        if (tlsHosts.includes(UNKNOWN)) return;
        for (const r of rules) {
            const host = read(r, "host");
            if (typeof host !== "string") continue;
            if (!tlsHosts.some((p) => typeof p === "string" && covers(p, host))) report(withFix(`Ingress ${name} routes ${host} without TLS for it.`, `add ${host} to the hosts of a spec.tls entry of Ingress ${name} (and to its Certificate's dnsNames).`));
        }
    }),
);

// --------------------------------------------------------------- stack-level

export const pdbPerDeployment = stackPolicy(
    {
        name: "k8s-pdb-per-deployment",
        description: "Every Deployment has a PodDisruptionBudget, so a node drain evicts its pods one at a time (runbook: Drain Node for Maintenance).",
        enforcementLevel: "advisory",
        control: "kube-score pod-disruption-budget",
        remediation: "declare a policy/v1 PodDisruptionBudget in the Deployment's namespace with spec.selector.matchLabels equal to its pod labels and maxUnavailable: 1.",
    },
    (args, report) => {
        const pdbs = ofTypes(args.resources, K8S.PodDisruptionBudget);
        for (const d of ofTypes(args.resources, K8S.Deployment)) {
            const ns = k8sNamespace(d.props);
            const labels = map(d.props, "spec.template.metadata.labels");
            if (ns === UNKNOWN || labels === UNKNOWN) continue;
            const covered = pdbs.some((p) => {
                const pns = k8sNamespace(p.props);
                const sel = map(p.props, "spec.selector.matchLabels");
                if (pns === UNKNOWN || sel === UNKNOWN) return true;
                if (pns !== ns || !sel || Object.keys(sel).length === 0) return false;
                return selects(sel, labels) !== false;
            });
            if (!covered) report(`Deployment ${ns}/${k8sName(d.props, d.name)} has no PodDisruptionBudget selecting its pods.`, d.urn);
        }
    },
);

const APP_NS_SCHEMA = {
    properties: {
        appNamespaces: {
            type: "array" as const,
            items: { type: "string" as const },
            default: ["production", "staging", "development"],
            description: "The app namespaces (runbook Environments); each must carry a NetworkPolicy.",
        },
    },
};

export const networkPolicyPerNamespace = stackPolicy(
    {
        name: "k8s-namespace-network-policy",
        description: "Every app namespace has a NetworkPolicy (default deny plus the flows it needs).",
        enforcementLevel: "mandatory",
        remediation: "declare a networking.k8s.io/v1 NetworkPolicy in the namespace: podSelector {} with policyTypes [Ingress] (default deny), plus allow rules.",
        configSchema: APP_NS_SCHEMA,
    },
    (args, report) => {
        const { appNamespaces } = configOf<{ appNamespaces: string[] }>(args, APP_NS_SCHEMA);
        const covered = new Set<string>();
        let unknownNs = false;
        for (const np of ofTypes(args.resources, K8S.NetworkPolicy)) {
            const ns = k8sNamespace(np.props);
            if (ns === UNKNOWN) unknownNs = true;
            else covered.add(ns);
        }
        if (unknownNs) return;
        // Declared app namespaces, and app namespaces that hold this program's objects.
        const seen = new Map<string, string | undefined>();
        for (const r of args.resources) {
            if (!r.type.startsWith("kubernetes:")) continue;
            const name = r.type === K8S.Namespace ? k8sName(r.props, r.name) : k8sNamespace(r.props);
            if (name === UNKNOWN || !appNamespaces.includes(name)) continue;
            if (!seen.has(name) || r.type === K8S.Namespace) seen.set(name, r.urn);
        }
        for (const [ns, urn] of seen) if (!covered.has(ns)) report(`App namespace ${ns} has no NetworkPolicy: every pod in it accepts traffic from the whole cluster.`, urn);
    },
);

const DEFAULT_DENY_SCHEMA = {
    properties: {
        ...APP_NS_SCHEMA.properties,
        exemptNamespaces: { ...EXEMPT_SCHEMA, description: "Namespaces this policy does not check (managed by AWS)." },
    },
};

/** A NetworkPolicy that selects every pod of its namespace and, for `direction`, allows nothing. */
function deniesAll(np: unknown, direction: "Ingress" | "Egress"): boolean | Unknown {
    const sel = read(np, "spec.podSelector");
    const types = list(np, "spec.policyTypes");
    const rules = list(np, direction === "Ingress" ? "spec.ingress" : "spec.egress");
    if (sel === UNKNOWN || types === UNKNOWN || rules === UNKNOWN) return UNKNOWN;
    const everyPod = sel === undefined || sel === null || (typeof sel === "object" && Object.keys(sel as object).every((k) => {
        const v = read(sel, k);
        return v === undefined || (typeof v === "object" && v !== null && Object.keys(v).length === 0);
    }));
    // policyTypes defaults to Ingress (plus Egress when egress rules exist), so only a listed type counts for Egress.
    const covers = types.includes(direction) || (direction === "Ingress" && types.length === 0);
    return everyPod && covers && rules.length === 0;
}

export const namespaceDefaultDeny = stackPolicy(
    {
        name: "k8s-namespace-default-deny",
        description:
            "Every namespace the program declares denies all ingress by default (a NetworkPolicy selecting every pod with no ingress rule), and every app namespace also denies all egress: each flow is then opened on purpose.",
        enforcementLevel: "mandatory",
        remediation:
            "declare in the namespace a NetworkPolicy with podSelector {} and policyTypes [Ingress] and no ingress rules (default-deny-ingress); in an app namespace also one with policyTypes [Egress] and no egress rules (default-deny-egress), then allow DNS and each needed flow by pod and port.",
        configSchema: DEFAULT_DENY_SCHEMA,
    },
    (args, report) => {
        const cfg = configOf<{ appNamespaces: string[]; exemptNamespaces: string[] }>(args, DEFAULT_DENY_SCHEMA);
        const policies = ofTypes(args.resources, K8S.NetworkPolicy);
        const byNs = new Map<string, unknown[]>();
        for (const np of policies) {
            const ns = k8sNamespace(np.props);
            if (ns === UNKNOWN) return; // cannot tell which namespace it guards yet
            byNs.set(ns, [...(byNs.get(ns) ?? []), np.props]);
        }
        for (const n of ofTypes(args.resources, K8S.Namespace)) {
            const ns = k8sName(n.props, n.name);
            if (cfg.exemptNamespaces.includes(ns)) continue;
            const here = byNs.get(ns) ?? [];
            const has = (d: "Ingress" | "Egress") => here.some((p) => deniesAll(p, d) !== false);
            if (!has("Ingress")) report(`Namespace ${ns} has no default-deny ingress NetworkPolicy: every pod in it accepts traffic from the whole cluster on every port.`, n.urn);
            if (cfg.appNamespaces.includes(ns) && !has("Egress"))
                report(`App namespace ${ns} has no default-deny egress NetworkPolicy: its pods can reach any address, the instance metadata service and the API server included.`, n.urn);
        }
    },
);

/** The IPv4 block `cidr` contains `ip`. */
function cidrHas(cidr: string, ip: string): boolean {
    const [base, bits] = cidr.split("/");
    if (bits === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) return false;
    const n = (d: string) => d.split(".").reduce((a, o) => a * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(bits));
    return Math.floor(n(base) / size) === Math.floor(n(ip) / size);
}
const METADATA_IP = "169.254.169.254";

export const networkPolicyScoped = resourcePolicy(
    {
        name: "k8s-network-policy-scoped",
        description:
            "No NetworkPolicy rule admits the instance metadata address (169.254.169.254), and in app namespaces every rule names both its peers and its ports (a rule without `from`/`to` admits everyone, one without `ports` every port).",
        enforcementLevel: "mandatory",
        remediation:
            "give every ingress rule `from` (pods by namespace and labels) and `ports`, every egress rule `to` and `ports`; an ipBlock that contains 169.254.169.254 lists 169.254.169.254/32 in `except`.",
        configSchema: APP_NS_SCHEMA,
    },
    validateResourceOfType(k8s.networking.v1.NetworkPolicy, (np, args, report) => {
        const { appNamespaces } = configOf<{ appNamespaces: string[] }>(args, APP_NS_SCHEMA);
        const name = k8sName(np, args.name);
        const ns = k8sNamespace(np);
        for (const [field, peers] of [["ingress", "from"], ["egress", "to"]] as const) {
            const rules = list(np, `spec.${field}`);
            if (rules === UNKNOWN) continue;
            rules.forEach((rule, i) => {
                const ps = list(rule, peers);
                const ports = list(rule, "ports");
                if (ps !== UNKNOWN) {
                    for (const p of ps) {
                        const cidr = str(p, "ipBlock.cidr");
                        if (typeof cidr !== "string" || !cidrHas(cidr, METADATA_IP)) continue;
                        const except = list(p, "ipBlock.except");
                        if (except === UNKNOWN) continue;
                        if (!except.some((e) => typeof e === "string" && cidrHas(e, METADATA_IP)))
                            report(`NetworkPolicy ${name}: ${field}[${i}] admits ${cidr} without excepting the instance metadata address ${METADATA_IP}.`);
                    }
                }
                if (ns === UNKNOWN || !appNamespaces.includes(ns)) return;
                if (ps !== UNKNOWN && ps.length === 0) report(`NetworkPolicy ${ns}/${name}: ${field}[${i}] has no \`${peers}\`, so it ${field === "ingress" ? "admits every source" : "reaches every destination"}.`);
                if (ports !== UNKNOWN && ports.length === 0) report(`NetworkPolicy ${ns}/${name}: ${field}[${i}] has no \`ports\`, so it opens every port.`);
            });
        }
    }),
);

export const K8S_POLICIES = [
    runAsNonRoot,
    noPrivilegeEscalation,
    dropAllCapabilities,
    seccompRuntimeDefault,
    noHostAccess,
    readOnlyRootFilesystem,
    resourcesSet,
    probesSet,
    imageTagPinned,
    noTokenAutomount,
    ingressTls,
    pdbPerDeployment,
    networkPolicyPerNamespace,
    namespaceDefaultDeny,
    networkPolicyScoped,
];
