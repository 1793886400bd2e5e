// The app namespace (`production`, `staging`): Pod Security Standards
// "restricted" enforced by the API server, and a default-deny NetworkPolicy
// with the few flows the platform needs (runbook Troubleshooting: "verify
// network policies are not blocking traffic" — these are the ones that exist).
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

export interface AppNamespaceArgs {
    /** The namespace name, fixed (the runbook's `-n production`). */
    readonly name: string;
    /** Namespaces allowed to reach the app pods (ingress controller, monitoring). */
    readonly allowFromNamespaces: readonly string[];
}

export class AppNamespace extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: AppNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:apps:AppNamespace", name, {}, opts);
        this.namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: {
                    name: args.name,
                    labels: {
                        "app.kubernetes.io/part-of": "candlefish-maturity-map",
                        // PSS "restricted": the API server refuses pods that would weaken it.
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/audit": "restricted",
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                },
            },
            // Deleting the namespace deletes everything in it.
            { parent: this, protect: true },
        );
        this.name = this.namespace.metadata.name;

        // Default deny: nothing reaches a pod unless a rule below lets it.
        new k8s.networking.v1.NetworkPolicy(
            `${name}-default-deny`,
            {
                metadata: { name: "default-deny-ingress", namespace: this.name },
                spec: { podSelector: {}, policyTypes: ["Ingress"] },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-allow-platform`,
            {
                metadata: { name: "allow-platform-ingress", namespace: this.name },
                spec: {
                    podSelector: {},
                    policyTypes: ["Ingress"],
                    ingress: [
                        // Service-to-service calls inside the environment.
                        { from: [{ podSelector: {} }] },
                        // The ingress controller and Prometheus.
                        ...(args.allowFromNamespaces.length
                            ? [{ from: args.allowFromNamespaces.map((ns) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } })) }]
                            : []),
                    ],
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({ name: this.name });
    }
}
