// The local foundation: an existing cluster (kind, k3d, minikube, the
// testbed's) and no AWS at all: no VPC, EKS, RDS, ElastiCache, ECR or
// Secrets Manager. What AWS provides comes from the stack's config instead:
//   the cluster     the ambient kubeconfig (KUBECONFIG, else ~/.kube/config),
//                   the context `local.kubeContext` or its current one
//   images          `<local.registry>/<service>:<tag>`
//   data stores     connection settings `local.database`, `local.redis`
//   app secrets     `local.*` secret config (Pulumi's secrets provider; the
//                   local stack files use the passphrase provider), written
//                   as plain Kubernetes Secrets with the names and keys the
//                   apps read on AWS (components/cluster-secrets.ts)
// Nothing of the in-cluster platform is installed (no ingress controller,
// cert-manager, External Secrets or monitoring): the app namespace admits
// traffic from its own pods only (the services' callers), and each service is
// reached through its `<name>-service` (kubectl port-forward).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { LocalStackConfig } from "../config";
import { ClusterSecrets } from "../components/cluster-secrets";
import { NO_POD_FILES } from "../components/rds-ca";
import { anyAddressExceptMetadata } from "../components/network-policies";
import type { AppNamespace } from "../components/namespace";
import { ClusterAccess, DeliveredSecrets, Foundation, FoundationOutputs } from "./foundation";

/** The logical name of the explicit Kubernetes provider every in-cluster resource uses. */
export const LOCAL_PROVIDER = "local-cluster";

export function localFoundation(config: LocalStackConfig): Foundation {
    const local = config.local;
    // No `kubeconfig` argument: the provider reads KUBECONFIG (else ~/.kube/config)
    // when it runs, so the cluster's credentials stay out of the program and its state.
    const provider = new k8s.Provider(LOCAL_PROVIDER, { context: local.kubeContext, enableServerSideApply: true });
    const inCluster = { providers: [provider] };
    let access: ClusterAccess | undefined;

    return {
        platform: "local",
        provider,
        // Read only when something needs it, and kept secret.
        get cluster(): ClusterAccess {
            access ??= { kubeconfig: pulumi.secret(ambientKubeconfig()), context: local.kubeContext };
            return access;
        },
        services: { run: config.services, heldBack: [] },
        repositories: Object.freeze(Object.fromEntries(config.services.map((s) => [s.name, `${local.registry}/${s.name}`]))),
        // Nothing of the in-cluster platform runs here: no ingress controller, no Prometheus.
        trafficSources: { ingress: [], scrape: [] },
        // The data stores may run in the cluster (a pod) or outside it (an address):
        // their port is open to any pod and any address but the instance metadata service.
        // A store addressed as a Service of the app namespace runs there: its pods then accept the store's clients.
        dataStores: {
            database: { to: [{ namespaceSelector: {} }, anyAddressExceptMetadata()], port: local.database.port, inAppNamespace: inNamespace(local.database.host, config.namespace) },
            redis: { to: [{ namespaceSelector: {} }, anyAddressExceptMetadata()], port: local.redis.port, inAppNamespace: inNamespace(local.redis.host, config.namespace) },
        },

        deliverSecrets(ns: AppNamespace): DeliveredSecrets {
            const secrets = new ClusterSecrets("app-secrets", {
                namespace: ns.name,
                database: local.database,
                redis: local.redis,
                jwtSecret: local.jwtSecret,
                config: local.config,
            }, { ...inCluster, dependsOn: [ns] });
            // The developer's database and its user are the developer's: nothing to provision first.
            // The local database's TLS is local.database.sslMode's business; no CA bundle is mounted.
            return { secretEnvFor: (names) => secrets.secretEnvFor(names), secretFilesFor: () => NO_POD_FILES, rotationChecksum: secrets.rotationChecksum, ready: [] };
        },

        installPlatform(): FoundationOutputs {
            return {};
        },
    };
}

/** `host` names a Service of `namespace` (`name`, `name.<namespace>`, `name.<namespace>.svc[.cluster.local]`). */
export function inNamespace(host: string, namespace: string): boolean {
    const parts = host.split(".");
    if (parts.length === 1) return true;
    return parts[1] === namespace && (parts.length === 2 || parts[2] === "svc");
}

/** The kubeconfig the provider will read: the first readable file of KUBECONFIG, else ~/.kube/config; "" when there is none. */
export function ambientKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
    const files = (env.KUBECONFIG || path.join(os.homedir(), ".kube", "config")).split(path.delimiter).filter(Boolean);
    for (const f of files) {
        try {
            return fs.readFileSync(f, "utf8");
        } catch {
            // try the next one
        }
    }
    return "";
}
