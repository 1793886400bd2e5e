// The AWS foundation: network -> EKS -> ECR -> data stores (Secrets Manager,
// RDS, ElastiCache, backups) -> secret delivery into the app namespace
// (External Secrets Operator, IRSA) -> the in-cluster platform around the app
// tier (cert-manager and TLS, ingress-nginx and DNS, monitoring).
// Resources are registered at the top level, as index.ts always did, so
// their URNs do not depend on this module.
import { AwsStackConfig } from "../config";
import { REGION } from "../config/aws";
import { Network } from "../components/network";
import { Cluster } from "../components/cluster";
import { Registry } from "../components/registry";
import { AppSecrets, K8S_SECRETS, SecretDelivery } from "../components/secrets";
import { Database } from "../components/database";
import { Cache } from "../components/cache";
import { Backups, backupBucketName } from "../components/backups";
import { Certificates } from "../components/certificates";
import { INGRESS_NAMESPACE, Ingress, INGRESS_CLASS } from "../components/ingress";
import { MONITORING_NAMESPACE, Monitoring } from "../components/monitoring";
import { CloudWatchExporter } from "../components/cloudwatch-exporter";
import { LOGICAL_BACKUP, LogicalBackup } from "../components/logical-backup";
import { AppTier, DeliveredSecrets, Foundation, FoundationOutputs } from "./foundation";
import type { AppNamespace } from "../components/namespace";

export function awsFoundation(config: AwsStackConfig): Foundation {
    // Network -> EKS cluster -> ECR repositories (issue "AWS platform").
    const network = new Network(`candlefish-${config.stack}`, { ...config.network, clusterName: config.cluster.name, tags: config.tags });
    const cluster = new Cluster(config.cluster.name, {
        ...config.cluster,
        clusterName: config.cluster.name,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        retainVolumes: config.isProduction,
        tags: config.tags,
    });
    const registry = new Registry("ecr", { ...config.registry, tags: config.tags });

    // Data stores: secrets -> database, cache -> backups. Private subnets, reachable
    // from the nodes only, every stateful resource protected.
    const secrets = new AppSecrets("secrets", { stack: config.stack, settings: config.secrets, tags: config.tags });
    const dataPlacement = { vpcId: network.vpcId, subnetIds: network.privateSubnetIds, nodeSecurityGroupId: cluster.nodeSecurityGroupId, tags: config.tags };
    const database = new Database("database", {
        ...dataPlacement,
        settings: config.database,
        identifier: `candlefish-maturity-map-${config.stack}-db`,
        masterUserSecretKmsKeyArn: secrets.kmsKey.arn,
    });
    const cache = new Cache("cache", {
        ...dataPlacement,
        settings: config.cache,
        identifier: `candlefish-${config.stack}-redis`,
        authSecretName: `${secrets.prefix}redis-auth`,
        secretsKmsKeyArn: secrets.kmsKey.arn,
        recoveryWindowDays: config.secrets.recoveryWindowDays,
    });
    const backups = new Backups("backups", {
        stack: config.stack,
        bucketName: backupBucketName(config.stack, config.isProduction),
        settings: config.backups,
        databaseArn: database.arn,
        tags: config.tags,
    });
    // Every in-cluster resource talks to this cluster, never to an ambient kubeconfig.
    const inCluster = { providers: [cluster.provider] };
    let delivery: SecretDelivery | undefined;

    return {
        platform: "aws",
        provider: cluster.provider,
        cluster: { kubeconfig: cluster.kubeconfig },
        repositories: registry.repositoryUrls,
        platformNamespaces: [INGRESS_NAMESPACE, MONITORING_NAMESPACE],

        // Secrets reach pods as Kubernetes Secrets through External Secrets Operator (IRSA).
        deliverSecrets(ns: AppNamespace): DeliveredSecrets {
            const d = new SecretDelivery("secret-delivery", {
                stack: config.stack,
                region: REGION,
                namespace: ns.name,
                settings: config.secrets,
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                secrets,
                database: { address: database.address, port: database.port, dbName: database.dbName, masterUserSecretArn: database.masterUserSecretArn },
                redis: { host: cache.primaryEndpoint, port: cache.port, authSecretName: `${secrets.prefix}redis-auth`, authVersionId: cache.authSecretVersion.versionId },
                tags: config.tags,
            }, { ...inCluster, dependsOn: [ns] });
            delivery = d;
            return { secretEnvFor: (service) => d.secretEnvFor(service), rotationChecksum: d.rotationChecksum };
        },

        // In-cluster platform (issue "In-cluster platform"): TLS, ingress + DNS, monitoring.
        installPlatform({ namespace: ns, maintenance }: AppTier): FoundationOutputs {
            if (!delivery) throw new Error("internal: installPlatform before deliverSecrets");
            const apiHosts = config.ingress.hosts;
            const tls = new Certificates("tls", {
                acmeEmail: config.tls.acmeEmail,
                issuer: config.tls.issuer,
                namespace: ns.name,
                dnsNames: [config.domain, ...Object.values(apiHosts).sort()],
                ingressClassName: INGRESS_CLASS,
            }, inCluster);
            const ingress = new Ingress("ingress", {
                namespace: ns.name,
                domain: config.domain,
                rootService: config.ingress.rootService,
                hosts: apiHosts,
                tlsSecretName: tls.secretName,
                controllerReplicas: config.ingress.controllerReplicas,
                loadBalancerTag: `candlefish-maturity-map-${config.stack}`,
                // Runbook "Enable Maintenance Mode": the domain moves to the page; health endpoints keep answering.
                maintenanceBackend: config.maintenanceMode ? maintenance?.backend : undefined,
                dns: config.dns.enabled ? { zoneId: config.dns.zoneId, zoneName: config.dns.zoneName } : undefined,
                // In maintenance mode the domain moves only once the page's Service has endpoints.
            }, { ...inCluster, dependsOn: [ns, ...(config.maintenanceMode && maintenance ? [maintenance.service] : [])] });
            const monitoring = new Monitoring("monitoring", {
                appNamespace: config.namespace,
                appNamespaceRef: ns.name,
                services: config.services.map((s) => s.name),
                environment: config.environment,
                monitoring: config.monitoring,
                alerts: config.alerts,
                // The exporters read the same connection Secrets rtpm-api gets.
                postgres: { secretName: K8S_SECRETS.database, key: "DATABASE_URL" },
                redis: { secretName: K8S_SECRETS.redis, key: "REDIS_URL" },
                rds: { memoryBytes: config.database.memoryGiB * 2 ** 30 },
                platformTargets: [tls.metricsTarget, ingress.metricsTarget],
                logicalBackup: { cronJob: LOGICAL_BACKUP, alertAfterHours: config.backups.logicalDump.alertAfterHours },
            }, { ...inCluster, dependsOn: [ns, delivery] });
            // RDS CPU, memory and storage reach Prometheus (and so the same receivers) through CloudWatch.
            new CloudWatchExporter("cloudwatch-exporter", {
                stack: config.stack,
                namespace: MONITORING_NAMESPACE,
                region: REGION,
                // The tags components/database.ts puts on the instance: this stack's database only.
                searchTags: { project: config.tags.project, stack: config.tags.stack, component: "database" },
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                tags: config.tags,
            }, { ...inCluster, dependsOn: [monitoring.release] });
            // Runbook "Database Backup": the daily pg_dump into s3://<backups bucket>/database/.
            new LogicalBackup("logical-backup", {
                stack: config.stack,
                namespace: ns.name,
                region: REGION,
                settings: config.backups.logicalDump,
                dbName: config.database.dbName,
                databaseUrl: { secretName: K8S_SECRETS.database, key: "DATABASE_URL" },
                bucketName: backups.bucketName,
                bucketArn: backups.bucket.arn,
                kmsKeyArn: backups.kmsKey.arn,
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                // The cluster's default StorageClass (components/cluster.ts).
                storageClass: "gp3",
                tags: config.tags,
            }, { ...inCluster, dependsOn: [ns, delivery] });

            return {
                clusterName: cluster.clusterName,
                kubeconfig: cluster.kubeconfig,
                vpcId: network.vpcId,
                databaseAddress: database.address,
                databaseSecretArn: database.masterUserSecretArn,
                redisEndpoint: cache.primaryEndpoint,
                backupBucket: backups.bucketName,
                backupVault: backups.vault.name,
                secretNames: { config: secrets.configSecretName, jwt: secrets.jwtSecretName },
                urls: ingress.hosts.map((h) => `https://${h}`),
                loadBalancerHostname: ingress.loadBalancerHostname,
                grafanaAdminPassword: monitoring.grafanaAdminPassword,
            };
        },
    };
}
