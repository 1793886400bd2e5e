// One service as a blue and a green Deployment, a live Service that selects
// the active color, and a preview Service that selects the other one.
// Runbook: "Blue-Green Deployment" steps 1-6 and "Rollback Procedures".
//
// The switch is the live Service's selector and nothing else: flipping
// `activeColor` patches two Service selectors (what `kubectl patch service`
// did by hand) and never touches a Deployment, so no pod restarts. Before the
// live selector moves, the promotion gate `<name>-gate-<color>` checks the
// target color's live state (components/promotion-gate.ts); every live
// Service waits for the gates of all services, so they move together.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { COLORS, Color, ServiceConfig, otherColor } from "../config";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";
import { PromotionGate, PromotionGates } from "./promotion-gate";
import { NO_POD_FILES, PodFiles } from "./rds-ca";

/** Environment variables taken from Kubernetes Secrets: variable name -> Secret name and key. */
export type SecretEnv = Record<string, { readonly secretName: pulumi.Input<string>; readonly key: pulumi.Input<string> }>;

export interface BlueGreenServiceArgs {
    /** The service's settings, from the stack config. */
    readonly service: ServiceConfig;
    /** Namespace the objects live in (the stack's environment). */
    readonly namespace: pulumi.Input<string>;
    /** Image repository (ECR URL); each color runs `<repository>:<imageTag>`. */
    readonly repository: pulumi.Input<string>;
    /** Extra environment for both colors (connection settings, modes). */
    readonly env?: Record<string, pulumi.Input<string>>;
    /** Environment taken from Kubernetes Secrets, for both colors. */
    readonly secretEnv?: SecretEnv;
    /** Files that environment names, mounted read-only in both colors (the RDS root CAs of DATABASE_URL's sslrootcert). */
    readonly secretFiles?: PodFiles;
    /** Pod-template annotations for both colors (e.g. a checksum that rolls pods when a secret rotates). */
    readonly podAnnotations?: Record<string, pulumi.Input<string>>;
    /** Per color: resources the Deployment must wait for (e.g. that color's migration Job). */
    readonly colorDependsOn?: Partial<Record<Color, pulumi.Input<pulumi.Resource>[]>>;
    /** Labels added to every object (and pod) of this service. */
    readonly labels?: Record<string, string>;
    /** The stack's promotion gates: this service adds its own, and its live Service waits for all of them. */
    readonly promotion: PromotionGates;
    /** How long a color's rollout may take (progressDeadlineSeconds and Pulumi's await). */
    readonly rolloutTimeoutSeconds: number;
    /**
     * This update makes the live color live where the last deployment had the other
     * one (or left no record): the flip's bound. The live color's Deployment then
     * gets at most `flipTimeoutSeconds` for its update step, so a flip to a color
     * whose earlier rollout failed (the engine steps that Deployment again and the
     * provider re-awaits it) fails within the promotion timeout, not the rollout's.
     */
    readonly flipping?: boolean;
    /** promotion.timeoutSeconds: the bound on the target color's update step in a flip. */
    readonly flipTimeoutSeconds?: number;
}

/** The Deployment's custom timeouts: the rollout's, except the update of a flip's target, bounded by the flip's. */
export function deploymentTimeouts(rolloutSeconds: number, flipSeconds: number | undefined): pulumi.CustomTimeouts {
    const update = flipSeconds === undefined ? rolloutSeconds : Math.min(rolloutSeconds, flipSeconds);
    return { create: `${rolloutSeconds}s`, update: `${update}s` };
}

/** A bound on the live Service's own await, so a failed switch surfaces in minutes, not the provider's 10. */
export const LIVE_SERVICE_TIMEOUTS: pulumi.CustomTimeouts = { create: "5m", update: "3m" };

/** Uid/gid the containers run as; the images must not need root. */
export const RUN_AS_USER = 10001;

/** `<repository>:<tag>`, or `<repository>@sha256:...` for a digest: what a color (and its migration Job) runs. */
export function imageRef(repository: pulumi.Input<string>, tag: string): pulumi.Output<string> {
    return pulumi.interpolate`${repository}${tag.startsWith("sha256:") ? "@" : ":"}${tag}`;
}

/** A container's env list: plain values, then Secret references, each sorted by name (stable diffs). */
export function containerEnv(env: Record<string, pulumi.Input<string>>, secretEnv: SecretEnv = {}): k8s.types.input.core.v1.EnvVar[] {
    return [
        ...Object.keys(env)
            .sort()
            .map((k) => ({ name: k, value: env[k] })),
        ...Object.keys(secretEnv)
            .sort()
            .map((k) => ({ name: k, valueFrom: { secretKeyRef: { name: secretEnv[k].secretName, key: secretEnv[k].key } } })),
    ];
}

/** The service's configured requests and limits, for every container that runs its image. */
export function serviceResources(svc: ServiceConfig): k8s.types.input.core.v1.ResourceRequirements {
    return {
        requests: { cpu: svc.requests.cpu, memory: svc.requests.memory },
        limits: { cpu: svc.limits.cpu, memory: svc.limits.memory },
    };
}

/** Paths that must stay writable under a read-only root filesystem. */
const WRITABLE_PATHS: Record<string, string[]> = {
    "candlefish-website": ["/tmp", "/app/.next/cache"], // Next.js image and fetch cache
};

export class BlueGreenService extends pulumi.ComponentResource {
    public readonly deployments: Readonly<Record<Color, k8s.apps.v1.Deployment>>;
    /** `<name>-gate-<live color>`: checks the live color before `<name>-service` selects it. */
    public readonly gate: PromotionGate;
    public readonly disruptionBudgets: Readonly<Record<Color, k8s.policy.v1.PodDisruptionBudget>>;
    /** `<name>-service`: selects the live color. Ingress targets it. */
    public readonly liveService: k8s.core.v1.Service;
    /** `<name>-preview`: selects the other color, for testing it before the switch. */
    public readonly previewService: k8s.core.v1.Service;
    public readonly liveColor: Color;
    public readonly serviceName: string;
    /** The live Service's in-cluster address, http://<name>-service.<ns>.svc.cluster.local */
    public readonly liveUrl: pulumi.Output<string>;
    public readonly previewUrl: pulumi.Output<string>;

    constructor(name: string, args: BlueGreenServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:apps:BlueGreenService", name, {}, opts);
        const svc = args.service;
        const live = svc.activeColor;
        const base = { app: svc.name, "app.kubernetes.io/name": svc.name, "app.kubernetes.io/part-of": "candlefish-maturity-map", ...args.labels };
        // Fixed names (the runbook's kubectl commands address them) cannot be
        // created before the old object is gone, so replacements delete first.
        const fixed: pulumi.CustomResourceOptions = { parent: this, deleteBeforeReplace: true };

        const deployments = {} as Record<Color, k8s.apps.v1.Deployment>;
        const pdbs = {} as Record<Color, k8s.policy.v1.PodDisruptionBudget>;
        for (const color of COLORS) {
            const spec = svc.colors[color];
            const selector = { app: svc.name, version: color };
            const image = imageRef(args.repository, spec.imageTag);
            const env: Record<string, pulumi.Input<string>> = {
                PORT: String(svc.port),
                ...svc.env,
                // /metrics on its own port, which no live or preview Service and no Ingress exposes.
                METRICS_PORT: String(svc.metricsPort),
                ...args.env,
                ...spec.featureFlags, // runbook "Feature Flags": on this color only
            };
            const writable = WRITABLE_PATHS[svc.name] ?? ["/tmp"];
            const files = args.secretFiles ?? NO_POD_FILES;

            deployments[color] = new k8s.apps.v1.Deployment(
                `${svc.name}-${color}`,
                {
                    metadata: {
                        name: `${svc.name}-${color}`,
                        namespace: args.namespace,
                        labels: { ...base, version: color, "app.kubernetes.io/instance": `${svc.name}-${color}` },
                    },
                    spec: {
                        replicas: spec.replicas,
                        // A new pod counts as available only after it stayed Ready this long.
                        minReadySeconds: svc.drain.minReadySeconds,
                        revisionHistoryLimit: 5,
                        progressDeadlineSeconds: args.rolloutTimeoutSeconds,
                        selector: { matchLabels: selector },
                        // Zero-downtime rollouts within a color: a new pod is ready before an old one goes.
                        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                        template: {
                            metadata: {
                                labels: { ...base, ...selector },
                                annotations: args.podAnnotations,
                            },
                            spec: {
                                // The apps do not call the Kubernetes API.
                                automountServiceAccountToken: false,
                                enableServiceLinks: false,
                                // preStop, then the longest request (services.<name>.drain).
                                terminationGracePeriodSeconds: svc.drain.terminationGracePeriodSeconds,
                                // Pod Security Standards "restricted".
                                securityContext: restrictedPodSecurity(RUN_AS_USER),
                                // Spread each color across zones and nodes so a zone outage or a
                                // `kubectl drain` never takes a whole color down.
                                topologySpreadConstraints: [
                                    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                                    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                                ],
                                containers: [
                                    {
                                        name: svc.containerName,
                                        image,
                                        imagePullPolicy: "IfNotPresent",
                                        ports: [
                                            { name: "http", containerPort: svc.port, protocol: "TCP" },
                                            { name: "metrics", containerPort: svc.metricsPort, protocol: "TCP" },
                                        ],
                                        env: containerEnv(env, args.secretEnv),
                                        resources: serviceResources(svc),
                                        // Runbook Step 3 health check, made continuous.
                                        startupProbe: { httpGet: { path: svc.healthPath, port: "http" }, periodSeconds: 5, failureThreshold: 30, timeoutSeconds: 3 },
                                        readinessProbe: { httpGet: { path: svc.healthPath, port: "http" }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
                                        livenessProbe: { httpGet: { path: svc.healthPath, port: "http" }, periodSeconds: 20, failureThreshold: 3, timeoutSeconds: 3 },
                                        securityContext: restrictedContainerSecurity(),
                                        // Keep serving while the endpoint is removed from every Service and
                                        // load balancer; a sleep action needs no shell in the image.
                                        ...(svc.drain.preStopSeconds > 0 ? { lifecycle: { preStop: { sleep: { seconds: svc.drain.preStopSeconds } } } } : {}),
                                        volumeMounts: [...writable.map((p, i) => ({ name: `writable-${i}`, mountPath: p })), ...files.mounts],
                                    },
                                ],
                                volumes: [...writable.map((_, i) => ({ name: `writable-${i}`, emptyDir: { sizeLimit: "256Mi" } })), ...files.volumes],
                            },
                        },
                    },
                },
                {
                    ...fixed,
                    dependsOn: args.colorDependsOn?.[color],
                    // A rollout that cannot finish fails `pulumi up` at the deadline, not after the provider's 10 minutes;
                    // in a flip, the target's update step (a re-await of a failed rollout, or a rollout
                    // in the same edit) gets the promotion timeout (docs/PROMOTION.md).
                    customTimeouts: deploymentTimeouts(args.rolloutTimeoutSeconds, color === live && args.flipping ? args.flipTimeoutSeconds : undefined),
                },
            );

            // Runbook "Drain Node for Maintenance": a drain evicts at most one pod of a color at a time.
            pdbs[color] = new k8s.policy.v1.PodDisruptionBudget(
                `${svc.name}-${color}`,
                {
                    metadata: { name: `${svc.name}-${color}`, namespace: args.namespace, labels: { ...base, version: color } },
                    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
                },
                fixed,
            );
        }

        const servicePorts = [{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }];
        // The gate for the live color runs after that color's Deployment step (if
        // any) and before the live Service's: it is named after the color, so a
        // flip creates it and an edit that does not flip leaves it unchanged.
        this.gate = new PromotionGate(
            `${svc.name}-gate-${live}`,
            {
                service: svc.name,
                namespace: args.namespace,
                color: live,
                previousColor: otherColor(live),
                deployment: `${svc.name}-${live}`,
                liveService: `${svc.name}-service`,
                settings: args.promotion.settings,
                cluster: args.promotion.cluster,
            },
            { parent: this, dependsOn: [deployments[live]] },
        );
        args.promotion.add(this.gate);
        // The live Service waits for the gates of every service in the stack:
        // if any target color fails its gate, no live selector moves.
        const afterGates: Promise<pulumi.Input<pulumi.Resource>[]> = args.promotion.all.then((gates) => [deployments[live], ...gates]);
        this.liveService = new k8s.core.v1.Service(
            `${svc.name}-service`,
            {
                metadata: { name: `${svc.name}-service`, namespace: args.namespace, labels: { ...base, "app.kubernetes.io/component": "live" } },
                spec: { type: "ClusterIP", selector: { app: svc.name, version: live }, ports: servicePorts },
            },
            {
                ...fixed,
                // An array holding the promise, not the promise itself: mergeOptions (which the
                // Kubernetes SDK calls) turns a top-level promise into an Output, and Output's
                // containsUnknowns then walks every resource reachable from the ones it holds,
                // once per service (@pulumi/pulumi 3.248.0 resource.js merge(), output.js
                // containsUnknowns): quadratic in the services. gatherExplicitDependencies awaits
                // a promise element and takes the array it gives (runtime/dependsOn.js), so the
                // engine gets the same dependencies.
                dependsOn: [afterGates as unknown as pulumi.Input<pulumi.Resource>],
                customTimeouts: LIVE_SERVICE_TIMEOUTS,
            },
        );
        // The preview Service replaces the runbook's port-forward (Step 3). Its
        // color may be scaled to zero after a switch (Step 6), so Pulumi must not
        // wait for endpoints behind it.
        this.previewService = new k8s.core.v1.Service(
            `${svc.name}-preview`,
            {
                metadata: {
                    name: `${svc.name}-preview`,
                    namespace: args.namespace,
                    labels: { ...base, "app.kubernetes.io/component": "preview" },
                    annotations: { "pulumi.com/skipAwait": "true" },
                },
                spec: { type: "ClusterIP", selector: { app: svc.name, version: otherColor(live) }, ports: servicePorts },
            },
            // Never select a color before the live Service has moved off it.
            { ...fixed, dependsOn: [this.liveService] },
        );

        this.deployments = deployments;
        this.disruptionBudgets = pdbs;
        this.liveColor = live;
        this.serviceName = svc.name;
        this.liveUrl = pulumi.interpolate`http://${svc.name}-service.${args.namespace}.svc.cluster.local`;
        this.previewUrl = pulumi.interpolate`http://${svc.name}-preview.${args.namespace}.svc.cluster.local`;
        this.registerOutputs({ liveColor: live, liveUrl: this.liveUrl, previewUrl: this.previewUrl });
    }
}
