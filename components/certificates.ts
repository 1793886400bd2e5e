// cert-manager, the two Let's Encrypt ClusterIssuers, and the
// `candlefish-ai-tls` Certificate the Ingress serves.
// Runbook "Security Procedures > Certificate Renewal": `kubectl describe
// certificate candlefish-ai-tls -n production` addresses this object, and
// renewal is cert-manager's job ("cert-manager should handle this").
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { IssuerName } from "../config/platform";

/** cert-manager chart, pinned: an unpinned chart upgrades CRDs behind our back. */
export const CERT_MANAGER_CHART_VERSION = "v1.16.2";
/** The chart repository cert-manager publishes its chart to (the one @pulumi/kubernetes-cert-manager defaulted to). */
export const CERT_MANAGER_REPO = "https://charts.jetstack.io";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
/** The Secret and Certificate name the runbook uses. */
export const TLS_SECRET_NAME = "candlefish-ai-tls";

export const ACME_SERVERS: Readonly<Record<IssuerName, string>> = {
    "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
    // Untrusted certificates, generous rate limits: for trying issuer changes.
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
};

/**
 * The cert-manager chart's values. Every key is one of the chart's own
 * (values.yaml / values.schema.json of the pinned version, checked by
 * test/chart-values.test.ts).
 */
export function certManagerValues(replicas: number): Record<string, unknown> {
    // The chart's defaults (v1.16.2 values.yaml) are already these; stating them keeps
    // the namespace's PSS "restricted" label true whatever a chart upgrade defaults to.
    const hardened = {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    };
    return {
        // `installCRDs` is deprecated since v1.15 in favour of crds.enabled; crds.keep (the
        // default) leaves the CRDs, and so every Certificate, in place if the release goes.
        crds: { enabled: true, keep: true },
        replicaCount: replicas,
        ...hardened,
        webhook: { replicaCount: replicas, ...hardened },
        // The chart's key is cainjector.securityContext (the pod's); there is no podSecurityContext.
        cainjector: { replicaCount: replicas, ...hardened },
        startupapicheck: { ...hardened },
        // Exposes certmanager_certificate_expiration_timestamp_seconds to Prometheus.
        prometheus: { enabled: true },
    };
}

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
    /**
     * cert-manager as a plain Helm release, not the @pulumi/kubernetes-cert-manager
     * component: that component maps its typed `cainjector` args to the chart key
     * `cainjector.podSecurityContext`, which the chart's values.schema.json refuses
     * (additionalProperties: false), and its values are computed inside its provider,
     * out of reach of a test. Here the values are exactly what Helm receives, and
     * test/chart-values.test.ts checks them against the pinned chart.
     */
    public readonly release: k8s.helm.v3.Release;
    public readonly issuers: Readonly<Record<IssuerName, k8s.apiextensions.CustomResource>>;
    public readonly certificate: k8s.apiextensions.CustomResource;
    /** The TLS Secret the Ingress references. */
    public readonly secretName: string = TLS_SECRET_NAME;

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

        this.release = new k8s.helm.v3.Release(
            `${name}-cert-manager`,
            {
                name: "cert-manager",
                chart: "cert-manager",
                version: CERT_MANAGER_CHART_VERSION,
                repositoryOpts: { repo: CERT_MANAGER_REPO },
                namespace: CERT_MANAGER_NAMESPACE,
                atomic: true,
                cleanupOnFail: true,
                values: certManagerValues(replicas),
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
                { parent: this, dependsOn: [this.release], deleteBeforeReplace: true },
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
