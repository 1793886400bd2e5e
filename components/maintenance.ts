// The maintenance page. Runbook "Enable Maintenance Mode":
// `kubectl apply -f k8s/maintenance-mode.yaml`, or a MAINTENANCE_MODE env
// patch on one color that the next deploy silently undid.
//
// The page runs whenever the stack configures `maintenance.image`, whether or
// not maintenance mode is on, so it is already rolled out and healthy before
// anyone needs it; `maintenanceMode: true` then changes only where the Ingress
// sends the domain. Every request gets a 503 with a human page and a
// Retry-After header (so crawlers and clients back off instead of caching an
// error), except /healthz, which the page's own probes use.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MaintenancePage as MaintenancePageConfig } from "../config/operations";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";

export interface MaintenancePageArgs {
    /** Image, replicas, Retry-After and message, from config `maintenance`. */
    readonly page: MaintenancePageConfig;
    /** Namespace the page runs in (the apps' namespace, so the Ingress can reach it). */
    readonly namespace: pulumi.Input<string>;
    /** Labels added to every object. */
    readonly labels?: Record<string, string>;
}

/** Fixed name: `kubectl -n production get deploy,svc maintenance-page`. */
export const MAINTENANCE_NAME = "maintenance-page";
/** nginx-unprivileged's user; the image needs no root and no writable root filesystem. */
export const NGINX_UID = 101;
export const CONTAINER_PORT = 8080;
const SERVICE_PORT = 80;

const escapeHtml = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** The human 503 page. Self-contained: no external fonts, scripts or images. */
export function maintenanceHtml(message: string): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Down for maintenance - Candlefish</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#0b1020;color:#e8ecf4}
main{max-width:36rem;padding:2rem;text-align:center}
h1{font-size:1.6rem;margin:0 0 1rem}
a{color:#8ab4ff}
</style>
</head>
<body>
<main>
<h1>We'll be right back</h1>
<p>${escapeHtml(message)}</p>
<p><a href="https://status.candlefish.ai">status.candlefish.ai</a></p>
</main>
</body>
</html>
`;
}

/**
 * nginx answers 503 + the page for every path except /healthz. Temp files and
 * the pid live in /tmp (an emptyDir) because the root filesystem is read-only.
 */
export function maintenanceNginxConf(retryAfterSeconds: number): string {
    return `worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 1024; }
http {
    access_log /dev/stdout;
    server_tokens off;
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    server {
        listen ${CONTAINER_PORT};
        root /etc/nginx/maintenance;
        # The page's own liveness/readiness probe.
        location = /healthz {
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }
        location = /maintenance.html {
            internal;
            default_type text/html;
            add_header Retry-After ${retryAfterSeconds} always;
            add_header Cache-Control "no-store" always;
        }
        # Everything else: 503 with the human page as the body.
        location / {
            error_page 503 /maintenance.html;
            return 503;
        }
    }
}
`;
}

export class MaintenancePage extends pulumi.ComponentResource {
    /** What the Ingress routes the domain to in maintenance mode. */
    public readonly backend: { readonly serviceName: string; readonly port: number };
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: MaintenancePageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:operations:MaintenancePage", name, {}, opts);
        const page = args.page;
        const labels = {
            app: MAINTENANCE_NAME,
            "app.kubernetes.io/name": MAINTENANCE_NAME,
            "app.kubernetes.io/component": "maintenance",
            "app.kubernetes.io/part-of": "candlefish-maturity-map",
            ...args.labels,
        };
        const selector = { app: MAINTENANCE_NAME };
        const fixed: pulumi.CustomResourceOptions = { parent: this, deleteBeforeReplace: true };
        const data = {
            "nginx.conf": maintenanceNginxConf(page.retryAfterSeconds),
            "maintenance.html": maintenanceHtml(page.message),
        };
        // ConfigMap edits do not restart pods; the checksum on the pod template does.
        const checksum = crypto.createHash("sha256").update(JSON.stringify(data)).digest("hex");

        const config = new k8s.core.v1.ConfigMap(
            `${name}-content`,
            { metadata: { name: MAINTENANCE_NAME, namespace: args.namespace, labels }, data },
            fixed,
        );

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { name: MAINTENANCE_NAME, namespace: args.namespace, labels },
                spec: {
                    replicas: page.replicas,
                    revisionHistoryLimit: 3,
                    selector: { matchLabels: selector },
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: { labels, annotations: { "candlefish.ai/content-checksum": checksum } },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            terminationGracePeriodSeconds: 10,
                            // Pod Security Standards "restricted".
                            securityContext: restrictedPodSecurity(NGINX_UID),
                            topologySpreadConstraints: [
                                { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                            ],
                            containers: [
                                {
                                    name: "nginx",
                                    image: page.image,
                                    imagePullPolicy: "IfNotPresent",
                                    // Bypass the image's entrypoint scripts: they rewrite files
                                    // under /etc/nginx, which is read-only here.
                                    command: ["nginx", "-c", "/etc/nginx/maintenance/nginx.conf", "-g", "daemon off;"],
                                    ports: [{ name: "http", containerPort: CONTAINER_PORT, protocol: "TCP" }],
                                    resources: {
                                        requests: { cpu: "10m", memory: "16Mi" },
                                        limits: { cpu: "100m", memory: "64Mi" },
                                    },
                                    readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
                                    livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 20, failureThreshold: 3, timeoutSeconds: 2 },
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [
                                        { name: "content", mountPath: "/etc/nginx/maintenance", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "content", configMap: { name: config.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "32Mi" } },
                            ],
                        },
                    },
                },
            },
            fixed,
        );

        // A drain never takes the last page pod while the domain points here.
        new k8s.policy.v1.PodDisruptionBudget(
            name,
            {
                metadata: { name: MAINTENANCE_NAME, namespace: args.namespace, labels },
                spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
            },
            fixed,
        );

        this.service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: MAINTENANCE_NAME, namespace: args.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector,
                    ports: [{ name: "http", port: SERVICE_PORT, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
                },
            },
            // Pulumi waits for endpoints: the page must be serving before the domain can point at it.
            { ...fixed, dependsOn: [this.deployment] },
        );

        this.backend = Object.freeze({ serviceName: MAINTENANCE_NAME, port: SERVICE_PORT });
        this.registerOutputs({ backend: this.backend });
    }
}
