// Composition root. Read top to bottom, this is the whole platform:
// config -> network -> EKS -> ECR -> data stores (secrets, RDS, Redis, backups)
// -> app namespace and secret delivery -> blue/green services (+ migration Jobs)
// -> maintenance page -> TLS, ingress, monitoring. Data flows one way: each
// component gets what it needs as args and returns what others need.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { previousPromotionState } from "./config/previous";
import { checkTransitions, deployedTags, enforceTransitions, promotionState } from "./config/transitions";
import { REGION } from "./config/aws";
import { Network } from "./components/network";
import { Cluster } from "./components/cluster";
import { Registry } from "./components/registry";
import { AppSecrets, K8S_SECRETS, SecretDelivery } from "./components/secrets";
import { Database } from "./components/database";
import { Cache } from "./components/cache";
import { Backups, backupBucketName } from "./components/backups";
import { AppNamespace } from "./components/namespace";
import { BlueGreenService } from "./components/blue-green-service";
import { PromotionGates } from "./components/promotion-gate";
import { Migrations } from "./components/migrations";
import { MaintenancePage } from "./components/maintenance";
import { Certificates } from "./components/certificates";
import { Ingress, INGRESS_CLASS } from "./components/ingress";
import { Monitoring } from "./components/monitoring";

const jobsOf = <T>(job: T | undefined): T[] => (job ? [job] : []);

async function main() {
    // Parsed and validated before anything is registered: bad config stops here.
    const config = loadConfig();
    // Judged against the last deployment (config/transitions.ts): a refused edit stops here too.
    const previous = await previousPromotionState();
    enforceTransitions(checkTransitions(previous, config.services), (m) => pulumi.log.warn(m));

    // AWS foundation: network -> EKS cluster -> ECR repositories (issue "AWS platform").
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

    const ns = new AppNamespace(config.namespace, {
        name: config.namespace,
        allowFromNamespaces: ["ingress-nginx", "monitoring"],
    }, inCluster);

    // Secrets reach pods as Kubernetes Secrets through External Secrets Operator (IRSA).
    const delivery = new SecretDelivery("secret-delivery", {
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

    // Operations as config (runbook "Database Migrations", "Emergency read-only mode").
    // READ_ONLY_MODE goes to both colors of every service, never to one color: a
    // flip of activeColor must still change only the Service selectors.
    const modeEnv = { READ_ONLY_MODE: String(config.readOnlyMode) };
    // The promotion gate reads the cluster with the same credentials as the Kubernetes provider.
    const promotion = new PromotionGates(config.promotion, { kubeconfig: cluster.kubeconfig });
    const services = config.services.map((svc) => {
        const repository = registry.repositoryUrls[svc.name];
        const migration = config.migrations.find((m) => m.service === svc.name);
        const secretEnv = delivery.secretEnvFor(svc.name);
        const migrations = migration
            ? new Migrations(`${svc.name}-migrations`, { service: svc, migration, namespace: ns.name, repository, secretEnv, deployedTags: deployedTags(previous, svc.name) }, { ...inCluster, dependsOn: [ns] })
            : undefined;
        return new BlueGreenService(
            svc.name,
            {
                service: svc,
                namespace: ns.name,
                repository,
                env: modeEnv,
                secretEnv,
                // A rotated or restored secret rolls both colors (no `kubectl rollout restart`).
                podAnnotations: { "checksum/secrets": delivery.rotationChecksum },
                // Each color waits for its own image's migration Job.
                colorDependsOn: migrations && { blue: jobsOf(migrations.jobs.blue), green: jobsOf(migrations.jobs.green) },
                promotion,
            },
            { ...inCluster, dependsOn: [ns] },
        );
    });
    // Every live Service waits for all of these gates: they move together or not at all.
    promotion.seal();

    // Runbook "Enable Maintenance Mode": the page runs whenever an image is configured;
    // `maintenanceMode` only moves the domain to it (see the Ingress).
    const maintenance = config.maintenance
        ? new MaintenancePage("maintenance-page", { page: config.maintenance, namespace: ns.name }, { ...inCluster, dependsOn: [ns] })
        : undefined;

    // In-cluster platform (issue "In-cluster platform"): TLS, ingress + DNS, monitoring.
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
    }, { ...inCluster, dependsOn: [ns, delivery] });

    return {
        clusterName: cluster.clusterName,
        /** `aws eks update-kubeconfig` does the same; kept secret in the stack's outputs. */
        kubeconfig: cluster.kubeconfig,
        vpcId: network.vpcId,
        repositoryUrls: registry.repositoryUrls,
        /** The database host (TLS required) and the RDS-managed secret with its master credentials. */
        databaseAddress: database.address,
        databaseSecretArn: database.masterUserSecretArn,
        redisEndpoint: cache.primaryEndpoint,
        /** The runbook's s3://candlefish-backups (suffixed outside production) and the AWS Backup vault. */
        backupBucket: backups.bucketName,
        backupVault: backups.vault.name,
        /** Secrets Manager names (runbook `aws secretsmanager ... --secret-id`). */
        secretNames: { config: secrets.configSecretName, jwt: secrets.jwtSecretName },
        namespace: ns.name,
        /** Per service: the color its live `<name>-service` selects (runbook Step 1). */
        liveColors: Object.fromEntries(services.map((s) => [s.serviceName, s.liveColor])),
        /** The maintenance page's Service, when the stack configures one. */
        maintenancePage: maintenance?.backend.serviceName,
        maintenanceMode: config.maintenanceMode,
        readOnlyMode: config.readOnlyMode,
        /** The URLs the runbook curls (https://<domain>/api/health ...). */
        urls: ingress.hosts.map((h) => `https://${h}`),
        loadBalancerHostname: ingress.loadBalancerHostname,
        grafanaAdminPassword: monitoring.grafanaAdminPassword,
        /** What the transition rules judge the next edit against (config/transitions.ts). */
        promotionState: promotionState(config.services),
    };
}

// Pulumi awaits the promise; its properties are the stack outputs.
export = main();
