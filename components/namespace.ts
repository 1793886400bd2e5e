// The app namespace (`production`, `staging`): Pod Security Standards
// "restricted" enforced by the API server, and default-deny NetworkPolicies
// for both directions, plus DNS to kube-dns for every pod. Every other flow is
// opened per workload and port by components/network-policies.ts (runbook
// Troubleshooting: "verify network policies are not blocking traffic": these
// and `kubectl -n <ns> get networkpolicy` are the ones that exist).
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { KUBE_DNS, networkPolicy } from "./network-policies";

export interface AppNamespaceArgs {
    /** The namespace name, fixed (the runbook's `-n production`). */
    readonly name: string;
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
        const own = { parent: this };

        // Default deny, both ways: nothing reaches a pod, and a pod reaches nothing
        // (the instance metadata service, the API server, the internet, other
        // namespaces), unless a rule of components/network-policies.ts lets it.
        networkPolicy(`${name}-default-deny`, { name: "default-deny-ingress", namespace: this.name, podSelector: {}, ingress: [] }, own);
        networkPolicy(`${name}-default-deny-egress`, { name: "default-deny-egress", namespace: this.name, podSelector: {}, egress: [] }, own);
        // Every pod resolves names (the Services it calls, the database's host) through kube-dns.
        networkPolicy(
            `${name}-allow-dns`,
            {
                name: "allow-dns-egress",
                namespace: this.name,
                podSelector: {},
                egress: [{ to: [KUBE_DNS], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }],
            },
            own,
        );
        this.registerOutputs({ name: this.name });
    }
}
