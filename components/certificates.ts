// cert-manager, the two Let's Encrypt ClusterIssuers, and the
// `candlefish-ai-tls` Certificate the Ingress serves.
// Runbook "Security Procedures > Certificate Renewal": `kubectl describe
// certificate candlefish-ai-tls -n production` addresses this object, and
// renewal is cert-manager's job ("cert-manager should handle this").
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CertManager } from "@pulumi/kubernetes-cert-manager";
import { IssuerName } from "../config/platform";
import type { ScrapeTarget } from "./monitoring";

/** cert-manager chart (charts.jetstack.io), pinned: an unpinned chart upgrades CRDs behind our back. */
export const CERT_MANAGER_CHART_VERSION = "v1.16.2";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
/** The Secret and Certificate name the runbook uses. */
export const TLS_SECRET_NAME = "candlefish-ai-tls";

export const ACME_SERVERS: Readonly<Record<IssuerName, string>> = {
    "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
    // Untrusted certificates, generous rate limits: for trying issuer changes.
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
};

export interface CertificatesArgs {
    /** ACME account email (Let's Encrypt expiry notices). */
    readonly acmeEmail: string;
    /** The ClusterIssuer that signs the Certificate. */
    readonly issuer: IssuerName;
    /** Namespace of the Certificate and its Secret: the app namespace the Ingress lives in. */
    readonly namespace: pulumi.Input<string>;
    /** Names on the certificate; the first is the common name (the stack's domain). */
    readonly dnsNames: readonly string[];
    /** IngressClass the HTTP-01 solver uses (the controller must serve it). */
    readonly ingressClassName: string;
    /** Controller replicas; 2 or more keeps issuance running through a node drain. */
    readonly replicas?: number;
}

export class Certificates extends pulumi.ComponentResource {
    public readonly certManager: CertManager;
    public readonly issuers: Readonly<Record<IssuerName, k8s.apiextensions.CustomResource>>;
    public readonly certificate: k8s.apiextensions.CustomResource;
    /** The TLS Secret the Ingress references. */
    public readonly secretName: string = TLS_SECRET_NAME;
    /**
     * cert-manager's metrics Service (chart v1.16.2 templates/service.yaml: rendered with
     * prometheus.enabled, port 9402 `tcp-prometheus-servicemonitor`, these labels), for Prometheus.
     */
    public readonly metricsTarget: ScrapeTarget;

    constructor(name: string, args: CertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:tls:Certificates", name, {}, opts);
        if (args.dnsNames.length === 0) throw new Error("Certificates: dnsNames must name at least the stack's domain");
        const replicas = args.replicas ?? 2;

        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            {
                metadata: {
                    name: CERT_MANAGER_NAMESPACE,
                    // cert-manager's pods run unprivileged; PSS "restricted" holds.
                    labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" },
                },
            },
            { parent: this },
        );

        this.metricsTarget = {
            name: "cert-manager",
            namespace: ns.metadata.name,
            matchLabels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" },
            port: "tcp-prometheus-servicemonitor",
        };

        const hardened = {
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
        };
        const container = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
        this.certManager = new CertManager(
            `${name}-cert-manager`,
            {
                installCRDs: true,
                replicaCount: replicas,
                securityContext: hardened,
                containerSecurityContext: container,
                webhook: { replicaCount: replicas, securityContext: hardened, containerSecurityContext: container },
                cainjector: { replicaCount: replicas, podSecurityContext: hardened, containerSecurityContext: container },
                // Exposes certmanager_certificate_expiration_timestamp_seconds to Prometheus.
                prometheus: { enabled: true },
                helmOptions: {
                    name: "cert-manager",
                    namespace: CERT_MANAGER_NAMESPACE,
                    version: CERT_MANAGER_CHART_VERSION,
                    atomic: true,
                    cleanupOnFail: true,
                },
            },
            { parent: this, dependsOn: [ns] },
        );

        // ClusterIssuers (cluster-scoped, fixed names) need cert-manager's CRDs and webhook first.
        const issuers = {} as Record<IssuerName, k8s.apiextensions.CustomResource>;
        for (const issuer of Object.keys(ACME_SERVERS) as IssuerName[]) {
            issuers[issuer] = new k8s.apiextensions.CustomResource(
                `${name}-${issuer}`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "ClusterIssuer",
                    metadata: { name: issuer },
                    spec: {
                        acme: {
                            server: ACME_SERVERS[issuer],
                            email: args.acmeEmail,
                            // The ACME account key; cert-manager creates it on first use.
                            privateKeySecretRef: { name: `${issuer}-account-key` },
                            // HTTP-01 through the same ingress-nginx that serves the site: no
                            // DNS credentials in the cluster.
                            solvers: [{ http01: { ingress: { ingressClassName: args.ingressClassName } } }],
                        },
                    },
                },
                { parent: this, dependsOn: [this.certManager], deleteBeforeReplace: true },
            );
        }
        this.issuers = issuers;

        this.certificate = new k8s.apiextensions.CustomResource(
            `${name}-${TLS_SECRET_NAME}`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: TLS_SECRET_NAME, namespace: args.namespace },
                spec: {
                    secretName: TLS_SECRET_NAME,
                    issuerRef: { name: args.issuer, kind: "ClusterIssuer", group: "cert-manager.io" },
                    commonName: args.dnsNames[0],
                    dnsNames: [...args.dnsNames],
                    // Let's Encrypt issues 90-day certificates; renew with 30 days to spare,
                    // so a stalled renewal is noticed (and retried) weeks before expiry.
                    duration: "2160h",
                    renewBefore: "720h",
                    // A fresh key on every renewal.
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                    secretTemplate: { labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" } },
                },
            },
            { parent: this, dependsOn: [issuers[args.issuer]], deleteBeforeReplace: true },
        );

        this.registerOutputs({ secretName: this.secretName });
    }
}
