// cert-manager, the two Let's Encrypt ClusterIssuers, and the
// `candlefish-ai-tls` Certificate the Ingress serves.
// Runbook "Security Procedures > Certificate Renewal": `kubectl describe
// certificate candlefish-ai-tls -n production` addresses this object, and
// renewal is cert-manager's job ("cert-manager should handle this").
//
// Challenges are DNS-01 through Route53 (docs/AWS.md "TLS"): cert-manager
// writes a TXT record in the stack's zone with an IAM role only its own
// service account can assume (IRSA), limited to TXT records in that one zone.
// Nothing has to reach the cluster, so issuance works before the domain points
// at the load balancer, and HTTP-01's self-check through the NLB (reported by
// issue 12 to fail by hairpin with externalTrafficPolicy Local) is not on the
// path (docs/AWS.md "TLS").
// HTTP-01 stays available, only when a stack sets tls.solver=http01.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { AcmeSolver, IssuerName } from "../config/platform";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";
import type { ScrapeTarget } from "./monitoring";

/** cert-manager chart, pinned: an unpinned chart upgrades CRDs behind our back. */
export const CERT_MANAGER_CHART_VERSION = "v1.16.2";
/** The chart repository cert-manager publishes its chart to (the one @pulumi/kubernetes-cert-manager defaulted to). */
export const CERT_MANAGER_REPO = "https://charts.jetstack.io";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
/** The Secret and Certificate name the runbook uses. */
export const TLS_SECRET_NAME = "candlefish-ai-tls";

/** cert-manager's controller service account (set, not derived from the release name), which the DNS-01 role trusts. */
export const CERT_MANAGER_SERVICE_ACCOUNT = "cert-manager";
/** The IRSA annotation the EKS pod identity webhook reads. */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

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
export function certManagerValues(replicas: number, dns01RoleArn?: pulumi.Input<string>): Record<string, unknown> {
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
        // The DNS-01 role reaches the controller through its service account's IRSA annotation;
        // fsGroup keeps the projected IRSA token readable by the non-root controller
        // (cert-manager's Route53 docs, v1.16, "Update file system permissions").
        serviceAccount: { name: CERT_MANAGER_SERVICE_ACCOUNT, ...(dns01RoleArn ? { annotations: { [IRSA_ROLE_ANNOTATION]: dns01RoleArn } } : {}) },
        ...(dns01RoleArn ? { securityContext: { ...hardened.securityContext, fsGroup: 1001 } } : {}),
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
    /**
     * How challenges are solved: dns01 (needs `dns01`), http01 (through
     * `ingressClassName`), or none: no Route53 zone yet (dns.enabled=false), so
     * no issuer and no Certificate; cert-manager alone is installed.
     */
    readonly solver: AcmeSolver | "none";
    /** IngressClass the HTTP-01 solver uses (the controller must serve it). */
    readonly ingressClassName: string;
    /** DNS-01 through Route53 with IRSA; required when solver is dns01. */
    readonly dns01?: Dns01Args;
    /** Controller replicas; 2 or more keeps issuance running through a node drain. */
    readonly replicas?: number;
}

export interface Dns01Args {
    /** The Route53 hosted zone the challenge records go in (components/dns.ts). */
    readonly hostedZoneId: pulumi.Input<string>;
    /** The stack's region: the solver's region hint (Route53 itself is global). */
    readonly region: string;
    /** The cluster's IAM OIDC provider and issuer (without https://), for the IRSA trust policy. */
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly oidcProviderUrl: pulumi.Input<string>;
    /** The IAM role's name (the deploying role may create only candlefish-* roles). */
    readonly roleName: string;
    readonly tags: Record<string, string>;
}

/**
 * The DNS-01 role's permissions: cert-manager's documented Route53 policy
 * (cert-manager/website, content/docs/configuration/acme/dns01/route53.md,
 * "Set up an IAM Policy": GetChange on changes; Change/ListResourceRecordSets
 * on the zone, TXT records only), narrowed to the one hosted zone. No
 * ListHostedZonesByName: the solver is given the zone's id.
 */
export function dns01Policy(hostedZoneId: string): { Version: string; Statement: Record<string, unknown>[] } {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ChallengePropagation", Effect: "Allow", Action: "route53:GetChange", Resource: "arn:aws:route53:::change/*" },
            {
                Sid: "ChallengeRecords",
                Effect: "Allow",
                Action: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
                Resource: `arn:aws:route53:::hostedzone/${hostedZoneId}`,
                Condition: { "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] } },
            },
        ],
    };
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
    /** Both issuers, or none when the solver is "none". */
    public readonly issuers: Readonly<Partial<Record<IssuerName, k8s.apiextensions.CustomResource>>>;
    /** The Certificate, unless the solver is "none". */
    public readonly certificate?: k8s.apiextensions.CustomResource;
    /** The IAM role cert-manager's service account assumes for DNS-01. */
    public readonly dns01Role?: aws.iam.Role;
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
        if (args.solver === "dns01" && !args.dns01) throw new Error("Certificates: the dns01 solver needs dns01 (the hosted zone and the cluster's OIDC provider)");
        const replicas = args.replicas ?? 2;

        // DNS-01: a role only cert-manager's service account in this cluster can assume.
        if (args.solver === "dns01" && args.dns01) {
            const d = args.dns01;
            this.dns01Role = new aws.iam.Role(
                `${name}-dns01`,
                {
                    name: d.roleName,
                    description: "cert-manager DNS-01 challenges in the stack's Route53 zone (IRSA)",
                    assumeRolePolicy: irsaTrustPolicy(d.oidcProviderArn, d.oidcProviderUrl, serviceAccountSubject(CERT_MANAGER_NAMESPACE, CERT_MANAGER_SERVICE_ACCOUNT)),
                    tags: d.tags,
                },
                { parent: this },
            );
            new aws.iam.RolePolicy(
                `${name}-dns01`,
                { role: this.dns01Role.id, policy: pulumi.output(d.hostedZoneId).apply((id) => JSON.stringify(dns01Policy(id))) },
                { parent: this },
            );
        }

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
                values: certManagerValues(replicas, this.dns01Role?.arn),
            },
            { parent: this, dependsOn: [ns] },
        );

        // The one solver both issuers use.
        const solver =
            args.solver === "dns01" && args.dns01
                ? { dns01: { route53: { region: args.dns01.region, hostedZoneID: args.dns01.hostedZoneId } } }
                : // HTTP-01 through the same ingress-nginx that serves the site (tls.solver=http01 only).
                  { http01: { ingress: { ingressClassName: args.ingressClassName } } };

        // ClusterIssuers (cluster-scoped, fixed names) need cert-manager's CRDs and webhook first.
        const issuers: Partial<Record<IssuerName, k8s.apiextensions.CustomResource>> = {};
        for (const issuer of args.solver === "none" ? [] : (Object.keys(ACME_SERVERS) as IssuerName[])) {
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
                            solvers: [solver],
                        },
                    },
                },
                { parent: this, dependsOn: [this.release], deleteBeforeReplace: true },
            );
        }
        this.issuers = issuers;
        const signer = issuers[args.issuer];
        if (!signer) {
            // No solver yet (a first run without DNS): no Certificate, so no ACME order fails
            // against Let's Encrypt's rate limits; the Ingress serves the controller's default
            // certificate until DNS is configured.
            this.registerOutputs({ secretName: this.secretName });
            return;
        }

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
            { parent: this, dependsOn: [signer], deleteBeforeReplace: true },
        );

        this.registerOutputs({ secretName: this.secretName });
    }
}
