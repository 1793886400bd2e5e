// NetworkPolicies of the in-cluster platform the AWS foundation installs:
// default deny ingress in every platform namespace, and per target the
// sources and ports it needs (components/network-policies.ts has the app
// tier's). What each port is, from the pinned charts:
//
//   monitoring     Prometheus 9090 (web), 8080 (config-reloader "reloader-web",
//                  prometheus-operator v0.77.1 pkg/operator/config_reloader.go:29);
//                  AlertManager 9093, 8080, 9094 TCP+UDP ("mesh-tcp"/"mesh-udp",
//                  pkg/alertmanager/statefulset.go:387-392); Grafana 3000
//                  (grafana 8.5.x values service.targetPort); kube-state-metrics
//                  8080 (kube-state-metrics 5.25.1 values service.port); the
//                  operator 10250 (kube-prometheus-stack 65.1.1 values
//                  prometheusOperator.tls.internalPort: its admission webhook
//                  and metrics)
//   ingress-nginx  80/443 (controller.containerPort), 8443 (admission webhook),
//                  10254 (metrics), ingress-nginx chart 4.11.5 values.yaml
//   cert-manager   10250 (webhook.securePort), 9402 (controller metrics), v1.16.2
//   external-secrets 10250 (webhook.port), 8080 (metrics), chart 0.10.7
//   app namespace  the ACME HTTP-01 solver pods on 8089 (cert-manager v1.16.2
//                  pkg/issuer/acme/http/http.go:49), label
//                  acme.cert-manager.io/http01-solver=true; the database
//                  exporters on their metrics ports, out to the data stores
//
// Prometheus and AlertManager accept only Prometheus, Grafana and their own
// peers: an app pod (or any other pod) cannot query Prometheus, post alerts,
// or create silences. Webhook ports accept any source, because the caller is
// the EKS control plane (ENIs in the VPC), not a pod a selector could name.
// node-exporter runs with hostNetwork, which NetworkPolicy does not govern;
// its namespace still gets the default deny, so a pod added there is covered.
import * as pulumi from "@pulumi/pulumi";
import { CERT_MANAGER_NAMESPACE } from "./certificates";
import { INGRESS_NAMESPACE } from "./ingress";
import { MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT } from "./monitoring";
import { POSTGRES_EXPORTER, REDIS_EXPORTER } from "./alert-rules";
import { ESO_NAMESPACE } from "./secrets";
import { Destination, Peer, TrafficSources, networkPolicy, pods, podsIn, tcp } from "./network-policies";

/** The ingress-nginx controller's pods (chart labels; components/ingress.ts spreads them by the same). */
export const INGRESS_CONTROLLER_LABELS = { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" };
/** Prometheus's pods (prometheus-operator sets app.kubernetes.io/name=prometheus). */
export const PROMETHEUS_LABELS = { "app.kubernetes.io/name": "prometheus" };
export const ALERTMANAGER_LABELS = { "app.kubernetes.io/name": "alertmanager" };
export const GRAFANA_LABELS = { "app.kubernetes.io/name": "grafana" };
/** The cert-manager HTTP-01 solver pods, created in the Certificate's (the app) namespace. */
export const ACME_SOLVER_LABELS = { "acme.cert-manager.io/http01-solver": "true" };
export const ACME_SOLVER_PORT = 8089;

/** What the AWS foundation's platform sends into the app namespace. */
export const AWS_TRAFFIC_SOURCES: TrafficSources = Object.freeze({
    ingress: [podsIn(INGRESS_NAMESPACE, INGRESS_CONTROLLER_LABELS)],
    scrape: [podsIn(MONITORING_NAMESPACE, PROMETHEUS_LABELS)],
});

/** Every namespace the AWS foundation installs a platform component in. */
export const PLATFORM_NAMESPACES = [INGRESS_NAMESPACE, MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE, CERT_MANAGER_NAMESPACE, ESO_NAMESPACE] as const;

export interface PlatformNetworkPoliciesArgs {
    /** The app namespace (the ACME solver and the exporters run there). */
    readonly appNamespace: pulumi.Input<string>;
    /** Where the database exporters connect to; omitted: that exporter is not installed. */
    readonly exporters: { readonly postgres?: Destination; readonly redis?: Destination };
}

export class PlatformNetworkPolicies extends pulumi.ComponentResource {
    constructor(name: string, args: PlatformNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:platform:PlatformNetworkPolicies", name, {}, opts);
        const own: pulumi.CustomResourceOptions = { parent: this };
        const prometheus = pods(PROMETHEUS_LABELS);
        const prometheusAnywhere = podsIn(MONITORING_NAMESPACE, PROMETHEUS_LABELS);
        const policy = (key: string, spec: Parameters<typeof networkPolicy>[1]) => networkPolicy(`${name}-${key}`, spec, own);

        for (const ns of PLATFORM_NAMESPACES) policy(`${ns}-default-deny`, { name: "default-deny-ingress", namespace: ns, podSelector: {}, ingress: [] });

        // --- monitoring: Prometheus and AlertManager accept only what needs them.
        policy("prometheus", {
            name: "allow-prometheus",
            namespace: MONITORING_NAMESPACE,
            podSelector: PROMETHEUS_LABELS,
            ingress: [
                // Grafana's datasource, and Prometheus scraping itself.
                { from: [pods(GRAFANA_LABELS), prometheus], ports: tcp(9090) },
                { from: [prometheus], ports: tcp(8080) },
            ],
        });
        policy("alertmanager", {
            name: "allow-alertmanager",
            namespace: MONITORING_NAMESPACE,
            podSelector: ALERTMANAGER_LABELS,
            ingress: [
                // Alerts come from Prometheus; Grafana's AlertManager datasource reads them.
                { from: [prometheus, pods(GRAFANA_LABELS)], ports: tcp(9093) },
                { from: [prometheus], ports: tcp(8080) },
                // The replicas gossip silences and notification state among themselves.
                { from: [pods(ALERTMANAGER_LABELS)], ports: [{ protocol: "TCP", port: 9094 }, { protocol: "UDP", port: 9094 }] },
            ],
        });
        policy("grafana", {
            name: "allow-grafana",
            namespace: MONITORING_NAMESPACE,
            podSelector: GRAFANA_LABELS,
            ingress: [{ from: [prometheus], ports: tcp(3000) }],
        });
        policy("kube-state-metrics", {
            name: "allow-kube-state-metrics",
            namespace: MONITORING_NAMESPACE,
            podSelector: { "app.kubernetes.io/name": "kube-state-metrics" },
            ingress: [{ from: [prometheus], ports: tcp(8080) }],
        });
        policy("prometheus-operator", {
            name: "allow-prometheus-operator",
            namespace: MONITORING_NAMESPACE,
            podSelector: { "app.kubernetes.io/component": "prometheus-operator" },
            // The API server calls its admission webhook; Prometheus scrapes the same port.
            ingress: [{ ports: tcp(10250) }],
        });

        // --- ingress-nginx: clients through the NLB, the API server's webhook calls, Prometheus.
        policy("ingress-controller", {
            name: "allow-ingress-controller",
            namespace: INGRESS_NAMESPACE,
            podSelector: INGRESS_CONTROLLER_LABELS,
            ingress: [{ ports: tcp(80, 443) }, { ports: tcp(8443) }, { from: [prometheusAnywhere], ports: tcp(10254) }],
        });

        // --- cert-manager and External Secrets: their webhooks, and Prometheus.
        policy("cert-manager", {
            name: "allow-webhook-and-metrics",
            namespace: CERT_MANAGER_NAMESPACE,
            podSelector: {},
            ingress: [{ ports: tcp(10250) }, { from: [prometheusAnywhere], ports: tcp(9402) }],
        });
        policy("external-secrets", {
            name: "allow-webhook-and-metrics",
            namespace: ESO_NAMESPACE,
            podSelector: {},
            ingress: [{ ports: tcp(10250) }, { from: [prometheusAnywhere], ports: tcp(8080) }],
        });

        // --- in the app namespace: the ACME HTTP-01 solver and the database exporters.
        policy("acme-http01-solver", {
            name: "allow-acme-http01-solver",
            namespace: args.appNamespace,
            podSelector: ACME_SOLVER_LABELS,
            ingress: [{ from: [...AWS_TRAFFIC_SOURCES.ingress], ports: tcp(ACME_SOLVER_PORT) }],
            egress: [],
        });
        const exporter = (app: string, port: number, dest: Destination) =>
            policy(app, {
                name: `allow-${app}`,
                namespace: args.appNamespace,
                podSelector: { app },
                ingress: [{ from: [...AWS_TRAFFIC_SOURCES.scrape], ports: tcp(port) }],
                egress: [{ to: [...dest.to] as Peer[], ports: tcp(dest.port) }],
            });
        if (args.exporters.postgres) exporter(POSTGRES_EXPORTER, POSTGRES_EXPORTER_PORT, args.exporters.postgres);
        if (args.exporters.redis) exporter(REDIS_EXPORTER, REDIS_EXPORTER_PORT, args.exporters.redis);

        this.registerOutputs({});
    }
}
