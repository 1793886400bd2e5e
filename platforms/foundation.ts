// What the app tier needs from whatever it runs on. index.ts chooses the
// foundation once (config `platform`): platforms/aws.ts builds it on AWS,
// platforms/local.ts on an existing cluster. The app tier (namespace,
// blue/green services, migrations, maintenance page) is composed once, over
// this interface, and never asks which platform it is on.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Platform } from "../config";
import type { AppNamespace } from "../components/namespace";
import type { MaintenancePage } from "../components/maintenance";
import type { SecretEnv } from "../components/blue-green-service";
import type { PodFiles } from "../components/rds-ca";
import type { ClusterAccess } from "../components/promotion-gate";
import type { ServicePlan } from "../config/bootstrap";
import type { DataStoreDestinations, TrafficSources } from "../components/network-policies";

/** How the promotion gates, run by `pulumi up` on the operator's machine, reach the cluster: the provider's kubeconfig. */
export type { ClusterAccess };

/** The app secrets, delivered into the app namespace as Kubernetes Secrets. */
export interface DeliveredSecrets {
    /** One service's env from those Secrets: exactly the names it lists (`services.<name>.secrets`), variable -> Secret name and key. */
    secretEnvFor(secrets: readonly string[]): SecretEnv;
    /** The files that env names, for the same pods (AWS: the RDS root CAs when it holds DATABASE_URL; none locally). */
    secretFilesFor(secrets: readonly string[]): PodFiles;
    /** Changes exactly when a delivered value changes; as the pod annotation `checksum/secrets` it rolls both colors. */
    readonly rotationChecksum: pulumi.Input<string>;
    /**
     * What the app workloads (Deployments, migration Jobs) must wait for before
     * they start: on AWS, the Job that provisions their own database roles.
     */
    readonly ready: readonly pulumi.Resource[];
}

/** What the app tier declared, for the in-cluster platform the foundation installs around it. */
export interface AppTier {
    readonly namespace: AppNamespace;
    /** The maintenance page, when the stack configures one. */
    readonly maintenance: MaintenancePage | undefined;
}

/**
 * The foundation's own stack outputs. The AWS foundation fills every one;
 * a local foundation has none of these things, so it leaves them out.
 */
export interface FoundationOutputs {
    readonly clusterName?: pulumi.Input<string>;
    readonly kubeconfig?: pulumi.Input<string>;
    readonly vpcId?: pulumi.Input<string>;
    readonly databaseAddress?: pulumi.Input<string>;
    readonly databaseSecretArn?: pulumi.Input<string>;
    readonly redisEndpoint?: pulumi.Input<string>;
    readonly backupBucket?: pulumi.Input<string>;
    readonly backupVault?: pulumi.Input<string>;
    /** The Route53 zone (created or found, `dns.zone`), and the name servers the domain must be delegated to. */
    readonly dnsZoneId?: pulumi.Input<string>;
    readonly dnsNameServers?: pulumi.Input<string[]>;
    readonly secretNames?: Readonly<Record<string, string>>;
    readonly urls?: readonly string[];
    readonly loadBalancerHostname?: pulumi.Input<string>;
    readonly grafanaAdminPassword?: pulumi.Input<string>;
    /** The CI runner the workflows deploy this stack from (label, how it reaches the API, where to launch it). */
    readonly deployRunner?: {
        readonly label: string;
        readonly access: string;
        readonly securityGroupId?: pulumi.Input<string>;
        readonly subnetIds?: pulumi.Input<string>[];
    };
}

export interface Foundation {
    readonly platform: Platform;
    /** The provider of every in-cluster resource: the app tier never uses an ambient default provider. */
    readonly provider: k8s.Provider;
    /** The same cluster, for checks that read it while `pulumi up` runs. */
    readonly cluster: ClusterAccess;
    /**
     * The configured services this update runs, and those it holds back (the AWS
     * foundation's first-deploy phase, config/bootstrap.ts; a local one runs all).
     */
    readonly services: ServicePlan;
    /** Per service this update runs, the image repository its colors run `<repository>:<tag>` from. */
    readonly repositories: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * The pods of the in-cluster platform this foundation installs that reach
     * app pods: the ingress controller (serving ports) and Prometheus (metrics
     * ports). The app namespace admits these and nothing else from outside it.
     * Empty lists: none is installed.
     */
    readonly trafficSources: TrafficSources;
    /** Where DATABASE_URL and REDIS_URL point, as NetworkPolicy destinations (the app namespace denies all other egress). */
    readonly dataStores: DataStoreDestinations;
    /** Delivers the app secrets into the app namespace, once it exists (called once). */
    deliverSecrets(namespace: AppNamespace): DeliveredSecrets;
    /** Installs the in-cluster platform around the app tier (called once, last) and returns the foundation's outputs. */
    installPlatform(app: AppTier): FoundationOutputs;
}
