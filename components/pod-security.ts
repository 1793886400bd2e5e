// Pod Security Standards "restricted", as every pod this program declares
// itself runs it (the blue/green colors, migration Jobs, the maintenance page,
// the database exporters). Charts (cert-manager, kube-prometheus-stack) take
// their own values and are not covered here.
import * as k8s from "@pulumi/kubernetes";

export interface RestrictedPodSecurityOptions {
    /**
     * Set fsGroup to the uid, so mounted volumes are group-writable by it.
     * Default true; pods that mount nothing writable (the exporters) leave it out.
     */
    readonly fsGroup?: boolean;
}

/** Pod-level securityContext: non-root as `uid` (group too), RuntimeDefault seccomp. */
export function restrictedPodSecurity(uid: number, opts: RestrictedPodSecurityOptions = {}): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        ...(opts.fsGroup === false ? {} : { fsGroup: uid }),
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level securityContext: no escalation, read-only root, no capabilities, RuntimeDefault seccomp. */
export function restrictedContainerSecurity(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}
