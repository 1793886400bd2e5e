// NetworkPolicies: who may reach which pod on which port, and where the app
// pods may connect to. The app namespace denies all ingress and all egress
// (components/namespace.ts: default-deny-ingress, default-deny-egress, plus
// DNS to kube-dns); the rules here open exactly the flows the platform needs:
//
//   app pods      <- the ingress controller, on the serving port only
//                 <- the services listed in services.<name>.callers, on the serving port only
//                 <- Prometheus, on the metrics port only (services.<name>.metricsPort)
//                 -> the database / cache port, only for the services whose
//                    secrets include DATABASE_URL / REDIS_URL
//                 -> the services that list them as callers, on their serving port
//   migrations    -> the database port (services with DATABASE_URL)
//   maintenance   <- the ingress controller, on its port
//   labelled candlefish.ai/egress=aws-apis -> HTTPS anywhere but the metadata
//                 service (AWS APIs, for a workload that uses IRSA; none today)
//
// No rule anywhere admits 169.254.169.254 (the instance metadata service): an
// ipBlock that would contain it lists it in `except` (anyAddressExceptMetadata).
//
// The AWS foundation adds PlatformNetworkPolicies: default deny in every
// platform namespace, and per-target rules (Prometheus and AlertManager accept
// only Prometheus, Grafana and their own peers; webhooks accept the API server).
//
// Enforcement: on EKS the VPC CNI's network policy agent (enableNetworkPolicy in
// components/cluster.ts); on a local cluster, whatever its CNI enforces
// (unverified per CNI); the testbed's kwok runs no containers, so nothing is
// enforced there: the objects are only accepted by its API server.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ServiceConfig } from "../config";
import { CONTAINER_PORT as MAINTENANCE_PORT, MAINTENANCE_NAME } from "./maintenance";

export type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type PolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;

/** The instance metadata service (IMDS): node credentials live behind it. Never an allowed destination. */
export const METADATA_CIDR = "169.254.169.254/32";

/** A place pods may connect to: these peers, on this TCP port. */
export interface Destination {
    readonly to: readonly Peer[];
    readonly port: number;
    /**
     * The store may run as a pod of the app namespace itself (a local cluster's
     * `postgres.<namespace>.svc`): the namespace's default deny would refuse its
     * clients, so its pods accept the store's consumers on this port.
     */
    readonly inAppNamespace?: boolean;
}

/** Where the app tier's data stores are, as NetworkPolicy destinations. */
export interface DataStoreDestinations {
    /** What DATABASE_URL points at. */
    readonly database: Destination;
    /** What REDIS_URL points at. */
    readonly redis: Destination;
}

/** The pods outside the app namespace that reach app pods. Empty lists: none is installed. */
export interface TrafficSources {
    /** The ingress controller: reaches serving ports (and the ACME HTTP-01 solver). */
    readonly ingress: readonly Peer[];
    /** Prometheus: reaches metrics ports. */
    readonly scrape: readonly Peer[];
}

/** Pods with these labels in the namespace named `namespace` (from another namespace). */
export function podsIn(namespace: string, labels: Record<string, string>): Peer {
    return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } }, podSelector: { matchLabels: { ...labels } } };
}

/** Pods with these labels in the policy's own namespace. */
export function pods(labels: Record<string, string>): Peer {
    return { podSelector: { matchLabels: { ...labels } } };
}

/** Pods of any of these services (label `app`, either color) in the policy's own namespace. */
export function appPods(names: readonly string[]): Peer {
    return { podSelector: { matchExpressions: [{ key: "app", operator: "In", values: [...names].sort() }] } };
}

/** Whether the IPv4 block `cidr` contains `ip`. */
export function cidrContains(cidr: string, ip: string): boolean {
    const [base, bits] = cidr.split("/");
    const n = (dotted: string) => dotted.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(bits));
    return Math.floor(n(base) / size) === Math.floor(n(ip) / size);
}

/**
 * Any address in `cidr` (default: any address at all) except the instance
 * metadata service. The API server refuses an `except` outside its `cidr`,
 * so a block that does not contain the metadata address carries none.
 */
export function anyAddressExceptMetadata(cidr = "0.0.0.0/0"): Peer {
    return { ipBlock: cidrContains(cidr, METADATA_CIDR.split("/")[0]) ? { cidr, except: [METADATA_CIDR] } : { cidr } };
}

export const tcp = (...ports: number[]): PolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));

/** kube-dns (CoreDNS) in kube-system: its label on EKS, kind, k3d and minikube. */
export const KUBE_DNS: Peer = podsIn("kube-system", { "k8s-app": "kube-dns" });

/**
 * The label a pod of the app namespace carries to call AWS APIs (IRSA: STS,
 * then S3 or Secrets Manager): HTTPS to any address but the metadata service.
 * AWS's public endpoints have no fixed addresses (and this VPC has no
 * endpoints), so the rule cannot be narrower than port 443. No app pod
 * carries it: the apps get their secrets as env and call no AWS API.
 */
export const AWS_API_EGRESS_LABEL = { "candlefish.ai/egress": "aws-apis" } as const;

/** Labels of a service's migration Job pods (components/migrations.ts). */
export const migrationPodLabels = (service: string) => ({ "app.kubernetes.io/name": service, "app.kubernetes.io/component": "migration" });

/**
 * One NetworkPolicy with a fixed name (`kubectl get networkpolicy` shows what
 * each one is for). `ingress`/`egress` given (even empty) puts that direction
 * under the policy: an empty list denies it for the selected pods.
 */
export function networkPolicy(
    logicalName: string,
    spec: {
        readonly name: string;
        readonly namespace: pulumi.Input<string>;
        readonly podSelector: Record<string, string>;
        readonly ingress?: IngressRule[];
        readonly egress?: EgressRule[];
    },
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
    const policyTypes = [...(spec.ingress ? ["Ingress"] : []), ...(spec.egress ? ["Egress"] : [])];
    return new k8s.networking.v1.NetworkPolicy(
        logicalName,
        {
            metadata: { name: spec.name, namespace: spec.namespace, labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
            spec: {
                podSelector: Object.keys(spec.podSelector).length ? { matchLabels: { ...spec.podSelector } } : {},
                policyTypes,
                // An empty list is left out: with its type listed, no rule means deny all.
                ...(spec.ingress?.length ? { ingress: spec.ingress } : {}),
                ...(spec.egress?.length ? { egress: spec.egress } : {}),
            },
        },
        { deleteBeforeReplace: true, ...opts },
    );
}

// ---------------------------------------------------------------------------
// The app tier

export interface AppNetworkPoliciesArgs {
    /** The app namespace. */
    readonly namespace: pulumi.Input<string>;
    /** Every blue/green service: ports, callers and secrets decide its rules. */
    readonly services: readonly ServiceConfig[];
    /** Services whose migrations run as Jobs (they reach the database). */
    readonly migrations: readonly string[];
    /** Whether the maintenance page runs (it accepts the ingress controller). */
    readonly maintenance: boolean;
    /** The pods outside the namespace that reach app pods (the foundation's). */
    readonly sources: TrafficSources;
    /** The database and the cache (the foundation's). */
    readonly dataStores: DataStoreDestinations;
}

export class AppNetworkPolicies extends pulumi.ComponentResource {
    /** Per service, its `allow-<name>` policy. */
    public readonly services: Readonly<Record<string, k8s.networking.v1.NetworkPolicy>>;

    constructor(name: string, args: AppNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:apps:AppNetworkPolicies", name, {}, opts);
        const own: pulumi.CustomResourceOptions = { parent: this };
        const { sources, dataStores } = args;
        const toStore = (d: Destination): EgressRule => ({ to: [...d.to], ports: tcp(d.port) });

        const byService: Record<string, k8s.networking.v1.NetworkPolicy> = {};
        for (const svc of args.services) {
            const ingress: IngressRule[] = [];
            // The serving port: the ingress controller and the listed callers (one peer for all of them).
            const serving = [...sources.ingress, ...(svc.callers.length ? [appPods(svc.callers)] : [])];
            if (serving.length) ingress.push({ from: serving, ports: tcp(svc.port) });
            // The metrics port: Prometheus only.
            if (sources.scrape.length) ingress.push({ from: [...sources.scrape], ports: tcp(svc.metricsPort) });

            const egress: EgressRule[] = [];
            if (svc.secrets.includes("DATABASE_URL")) egress.push(toStore(dataStores.database));
            if (svc.secrets.includes("REDIS_URL")) egress.push(toStore(dataStores.redis));
            // The services that accept this one as a caller, on their serving port: one rule per
            // port, one peer per rule. A peer per callee made every policy grow with the number of
            // services, so the stack's policies grew with its square (docs/BENCHMARK.md).
            const callees = args.services.filter((t) => t.name !== svc.name && t.callers.includes(svc.name));
            for (const port of [...new Set(callees.map((t) => t.port))].sort((a, b) => a - b)) {
                egress.push({ to: [appPods(callees.filter((t) => t.port === port).map((t) => t.name))], ports: tcp(port) });
            }
            byService[svc.name] = networkPolicy(
                `${name}-${svc.name}`,
                // `app` only: both colors; the migration pods carry no `app` label.
                { name: `allow-${svc.name}`, namespace: args.namespace, podSelector: { app: svc.name }, ingress, egress },
                own,
            );
        }
        this.services = byService;

        for (const m of args.migrations) {
            const svc = args.services.find((s) => s.name === m);
            if (!svc) continue;
            networkPolicy(
                `${name}-${m}-migrations`,
                {
                    name: `allow-${m}-migrations`,
                    namespace: args.namespace,
                    podSelector: migrationPodLabels(m),
                    ingress: [],
                    egress: svc.secrets.includes("DATABASE_URL") ? [toStore(dataStores.database)] : [],
                },
                own,
            );
        }

        // A data store running in the app namespace (platform local) accepts its consumers.
        for (const [store, env] of [["database", "DATABASE_URL"], ["redis", "REDIS_URL"]] as const) {
            const dest = dataStores[store];
            if (!dest.inAppNamespace) continue;
            const consumers = [
                ...args.services.filter((svc) => svc.secrets.includes(env)).map((svc) => pods({ app: svc.name })),
                ...(store === "database" ? args.migrations.filter((m) => args.services.find((x) => x.name === m)?.secrets.includes(env)).map((m) => pods(migrationPodLabels(m))) : []),
            ];
            networkPolicy(
                `${name}-${store}-in-namespace`,
                { name: `allow-${store}-clients`, namespace: args.namespace, podSelector: {}, ingress: consumers.length ? [{ from: consumers, ports: tcp(dest.port) }] : [] },
                own,
            );
        }

        // Opt-in HTTPS egress for a workload that calls AWS APIs (AWS_API_EGRESS_LABEL).
        networkPolicy(
            `${name}-aws-apis`,
            { name: "allow-aws-apis-egress", namespace: args.namespace, podSelector: { ...AWS_API_EGRESS_LABEL }, egress: [{ to: [anyAddressExceptMetadata()], ports: tcp(443) }] },
            own,
        );

        if (args.maintenance) {
            networkPolicy(
                `${name}-${MAINTENANCE_NAME}`,
                {
                    name: `allow-${MAINTENANCE_NAME}`,
                    namespace: args.namespace,
                    podSelector: { app: MAINTENANCE_NAME },
                    ingress: sources.ingress.length ? [{ from: [...sources.ingress], ports: tcp(MAINTENANCE_PORT) }] : [],
                    egress: [],
                },
                own,
            );
        }
        this.registerOutputs({});
    }
}
