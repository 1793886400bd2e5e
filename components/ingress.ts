// ingress-nginx behind an AWS NLB, the Ingress that puts the services on the
// stack's domain, and the Route53 records that point the domain at the NLB (in
// the zone components/dns.ts created or found).
//
// Why ingress-nginx + NLB rather than the AWS Load Balancer Controller + ALB:
// the runbook's TLS is cert-manager's `candlefish-ai-tls` Secret. An ALB can
// only serve ACM certificates, so TLS would move out of the cluster and
// `kubectl describe certificate candlefish-ai-tls` would describe nothing that
// serves traffic. A TCP NLB passes TLS through to nginx, which serves that
// Secret and redirects HTTP to HTTPS (cert-manager's challenges are DNS-01 by
// default, HTTP-01 through this controller only when a stack chooses it).
//
// Routing never names a color: every backend is a live `<name>-service`, so a
// blue/green switch (a Service selector patch) never edits the Ingress.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { ScrapeTarget } from "./monitoring";

/**
 * ingress-nginx chart 4.11.5 (controller v1.11.5), pinned: the first 4.11.x
 * release outside the CVE-2025-1974 ("IngressNightmare") range, which covers
 * controller versions before 1.11.5. ingress-nginx is retired upstream
 * (March 2026): the move to the Gateway API is recorded as open work in docs/PLATFORM.md.
 */
export const INGRESS_NGINX_CHART_VERSION = "4.11.5";
export const INGRESS_NGINX_REPO = "https://kubernetes.github.io/ingress-nginx";
export const INGRESS_NAMESPACE = "ingress-nginx";
export const INGRESS_CLASS = "nginx";
/** The runbook's health checks ("Blue-Green Deployment Verification"). */
export const HEALTH_PATHS = ["/api/health", "/api/health/db", "/api/health/cache", "/api/health/dependencies"] as const;
/** Tag put on the NLB so the DNS records can find it (and nothing else). */
export const LB_TAG_KEY = "candlefish.ai/ingress";
/** Label on the controller's metrics Service, which the ServiceMonitor selects. */
export const METRICS_SERVICE_LABEL = "candlefish.ai/metrics";

/** Port of every live `<name>-service` (BlueGreenService). */
const LIVE_SERVICE_PORT = 80;

export interface MaintenanceBackend {
    /** Service in the app namespace serving the maintenance page. */
    readonly serviceName: string;
    readonly port: number;
}

export interface IngressArgs {
    /** The app namespace, where the Services and the TLS Secret live. */
    readonly namespace: pulumi.Input<string>;
    /** The stack's domain; it routes to `rootService`. */
    readonly domain: string;
    /** The service behind the bare domain (candlefish-website), including the runbook's health endpoints. */
    readonly rootService: string;
    /** Every other service's host, by service name. */
    readonly hosts: Readonly<Record<string, string>>;
    /** TLS Secret for every host (cert-manager's candlefish-ai-tls). */
    readonly tlsSecretName: string;
    /** ingress-nginx controller pods. */
    readonly controllerReplicas: number;
    /** Value of the NLB's `candlefish.ai/ingress` tag; unique per stack and account. */
    readonly loadBalancerTag: string;
    /**
     * Maintenance mode: when set, every host routes to this backend instead of
     * the live services, except the runbook's health endpoints, which keep
     * answering from the live services.
     */
    readonly maintenanceBackend?: MaintenanceBackend;
    /** Route53 records for every host; omitted: no DNS records. */
    readonly dns?: IngressDnsArgs;
}

export interface IngressDnsArgs {
    /** The hosted zone (components/dns.ts). */
    readonly zoneId: pulumi.Input<string>;
    /**
     * Take over a record that already exists for a host (the provider's
     * allowOverwrite: an UPSERT). False: AWS refuses to create over it and the
     * up stops there, so an existing record is never replaced by accident.
     */
    readonly overwriteExisting: boolean;
}

type Path = { path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } };

const backend = (name: string, port: number) => ({ service: { name, port: { number: port } } });

/** The HTTP paths of one host: everything to `live`, or to maintenance with health kept on `live`. */
export function hostPaths(live: string, maintenance?: MaintenanceBackend): Path[] {
    const liveBackend = backend(`${live}-service`, LIVE_SERVICE_PORT);
    if (!maintenance) return [{ path: "/", pathType: "Prefix", backend: liveBackend }];
    return [
        // Exact matches win over the "/" prefix in ingress-nginx.
        ...HEALTH_PATHS.map((p) => ({ path: p, pathType: "Exact", backend: liveBackend })),
        { path: "/", pathType: "Prefix", backend: backend(maintenance.serviceName, maintenance.port) },
    ];
}

export class Ingress extends pulumi.ComponentResource {
    public readonly controller: k8s.helm.v3.Release;
    public readonly ingress: k8s.networking.v1.Ingress;
    /** Every host served, the domain first. */
    public readonly hosts: string[];
    /** The NLB's DNS name (known once the controller's Service has its load balancer). */
    public readonly loadBalancerHostname: pulumi.Output<string>;
    /**
     * The controller's metrics Service `ingress-nginx-controller-metrics` (chart 4.11.5
     * templates/controller-service-metrics.yaml: port `metrics`, 10254; labelled by
     * controller.metrics.service.labels), for Prometheus.
     */
    public readonly metricsTarget: ScrapeTarget;

    constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:ingress:Ingress", name, {}, opts);
        const apiHosts = Object.entries(args.hosts).sort(([a], [b]) => a.localeCompare(b));
        this.hosts = [args.domain, ...apiHosts.map(([, h]) => h)];

        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            {
                metadata: {
                    name: INGRESS_NAMESPACE,
                    // The controller binds 80/443 with NET_BIND_SERVICE: "baseline" is
                    // enforced, "restricted" violations are reported.
                    labels: {
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                    },
                },
            },
            { parent: this },
        );

        this.metricsTarget = { name: "ingress-nginx", namespace: ns.metadata.name, matchLabels: { [METRICS_SERVICE_LABEL]: "ingress-nginx" }, port: "metrics" };

        const spread = (whenUnsatisfiable: string, topologyKey: string) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable,
            labelSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" } },
        });
        this.controller = new k8s.helm.v3.Release(
            `${name}-controller`,
            {
                name: "ingress-nginx",
                chart: "ingress-nginx",
                version: INGRESS_NGINX_CHART_VERSION,
                repositoryOpts: { repo: INGRESS_NGINX_REPO },
                namespace: INGRESS_NAMESPACE,
                atomic: true,
                cleanupOnFail: true,
                values: {
                    fullnameOverride: "ingress-nginx",
                    controller: {
                        replicaCount: args.controllerReplicas,
                        // A drain or a zone outage never takes every controller down.
                        minAvailable: 1,
                        topologySpreadConstraints: [spread("ScheduleAnyway", "topology.kubernetes.io/zone"), spread("ScheduleAnyway", "kubernetes.io/hostname")],
                        ingressClassResource: { name: INGRESS_CLASS, enabled: true, default: true, controllerValue: "k8s.io/ingress-nginx" },
                        config: {
                            // HTTP -> HTTPS for every host with TLS, plus HSTS.
                            "ssl-redirect": "true",
                            hsts: "true",
                            "hsts-max-age": "31536000",
                            "ssl-protocols": "TLSv1.2 TLSv1.3",
                            "server-tokens": "false",
                            // Snippet annotations can read any Secret the controller can (CVE-2021-25742).
                            "allow-snippet-annotations": "false",
                        },
                        service: {
                            type: "LoadBalancer",
                            // Keeps the client IP (runbook "Check for unauthorized access attempts").
                            externalTrafficPolicy: "Local",
                            annotations: {
                                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                                "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
                                "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": `${LB_TAG_KEY}=${args.loadBalancerTag}`,
                            },
                        },
                        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                        // The metrics Service carries a label of ours, so the ServiceMonitor
                        // selects it and never the LoadBalancer Service.
                        metrics: { enabled: true, service: { labels: { [METRICS_SERVICE_LABEL]: "ingress-nginx" } } },
                        admissionWebhooks: { enabled: true },
                    },
                },
            },
            { parent: this, dependsOn: [ns] },
        );

        const maintenance = args.maintenanceBackend;
        const rules = [
            { host: args.domain, http: { paths: hostPaths(args.rootService, maintenance) } },
            ...apiHosts.map(([svc, host]) => ({ host, http: { paths: hostPaths(svc, maintenance) } })),
        ];
        this.ingress = new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: {
                    name: "candlefish",
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                    annotations: {
                        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                        "candlefish.ai/maintenance-mode": maintenance ? "on" : "off",
                    },
                },
                spec: {
                    ingressClassName: INGRESS_CLASS,
                    tls: [{ hosts: [...this.hosts], secretName: args.tlsSecretName }],
                    rules,
                },
            },
            // The controller's admission webhook validates Ingresses: it must run first.
            { parent: this, dependsOn: [this.controller], deleteBeforeReplace: true },
        );

        // The NLB is created by the controller's Service; look it up by our tag
        // once the release exists (the lookup waits on the release's id).
        const lb = aws.lb.getLoadBalancerOutput(
            { tags: { [LB_TAG_KEY]: this.controller.id.apply(() => args.loadBalancerTag) } },
            { parent: this },
        );
        this.loadBalancerHostname = lb.dnsName;

        if (args.dns) {
            for (const host of this.hosts) {
                new aws.route53.Record(
                    `${name}-${host}`,
                    {
                        zoneId: args.dns.zoneId,
                        name: host,
                        type: "A",
                        // Alias records: free, follow the NLB's addresses, and work at the zone apex.
                        aliases: [{ name: lb.dnsName, zoneId: lb.zoneId, evaluateTargetHealth: true }],
                        // dns.overwriteRecords: the operator's decision about a record already there.
                        allowOverwrite: args.dns.overwriteExisting,
                    },
                    { parent: this },
                );
            }
        }

        this.registerOutputs({ hosts: this.hosts, loadBalancerHostname: this.loadBalancerHostname });
    }
}
