// Composition root. Read top to bottom, this is the whole platform:
// config -> the foundation, chosen once by `platform` (platforms/aws.ts: VPC,
// EKS, ECR, data stores; platforms/local.ts: an existing cluster, no AWS) ->
// the app tier, composed once over it: namespace, secret delivery, blue/green
// services (+ migration Jobs, promotion gates), maintenance page -> the
// in-cluster platform the foundation installs around it (AWS: TLS, ingress,
// monitoring). Data flows one way: each part gets what it needs as args and
// returns what others need.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig, undeliveredSecrets } from "./config";
import { previousDeployment } from "./config/previous";
import { checkTransitions, deployedTags, enforceTransitions, promotionState } from "./config/transitions";
import { awsFoundation } from "./platforms/aws";
import { localFoundation } from "./platforms/local";
import { AppNamespace } from "./components/namespace";
import { AppNetworkPolicies } from "./components/network-policies";
import { BlueGreenService } from "./components/blue-green-service";
import { PromotionGates } from "./components/promotion-gate";
import { Migrations, newestTag } from "./components/migrations";
import { MaintenancePage } from "./components/maintenance";

const jobsOf = <T>(job: T | undefined): T[] => (job ? [job] : []);

async function main() {
    // Parsed and validated before anything is registered: bad config stops here.
    const config = loadConfig();
    for (const m of undeliveredSecrets(config)) pulumi.log.warn(m);
    // Judged against the last deployment (config/transitions.ts): a refused edit stops here too.
    const last = await previousDeployment();
    const previous = last.state;
    enforceTransitions(checkTransitions(previous, config.services), (m) => pulumi.log.warn(m));
    // Tags whose migrations ran (or started) before: the last state's, and the high-water mark.
    const migratedBefore = (svc: string) => [...deployedTags(previous, svc), ...(last.migrationHighWater[svc] ? [last.migrationHighWater[svc]] : [])];

    // The foundation, chosen here and nowhere else.
    // On AWS it also says which services this update runs (bootstrap.phase, config/bootstrap.ts).
    const foundation = config.platform === "local" ? localFoundation(config) : await awsFoundation(config, last.runningServices);
    const run = foundation.services.run;
    // Every in-cluster resource talks to the foundation's cluster, never to an ambient default provider.
    const inCluster = { providers: [foundation.provider] };

    // The app tier. The namespace denies all traffic both ways but DNS; the
    // network policies open each workload's flows, port by port: the
    // foundation's ingress controller and Prometheus in, the data stores out.
    const ns = new AppNamespace(config.namespace, { name: config.namespace }, inCluster);
    const network = new AppNetworkPolicies("app-network", {
        namespace: ns.name,
        // Only the services this update runs (bootstrap.phase): a held-back service has no pods to open flows for.
        services: run,
        migrations: config.migrations.map((m) => m.service),
        maintenance: config.maintenance !== undefined,
        sources: foundation.trafficSources,
        dataStores: foundation.dataStores,
    }, { ...inCluster, dependsOn: [ns] });
    // Pods start only once their flows are open (a migration Job would otherwise fail to reach the database).
    const afterNetwork = { ...inCluster, dependsOn: [ns, network] };
    const delivery = foundation.deliverSecrets(ns);

    // Operations as config (runbook "Database Migrations", "Emergency read-only mode").
    // READ_ONLY_MODE goes to both colors of every service, never to one color: a
    // flip of activeColor must still change only the Service selectors.
    const modeEnv = { READ_ONLY_MODE: String(config.readOnlyMode) };
    // The promotion gate reads the cluster with the same credentials as the Kubernetes provider.
    const promotion = new PromotionGates(config.promotion, foundation.cluster);
    const services = run.map((svc) => {
        const repository = foundation.repositories[svc.name];
        const migration = config.migrations.find((m) => m.service === svc.name);
        // Per service: only the secrets it lists (services.<name>.secrets).
        const secretEnv = delivery.secretEnvFor(svc.secrets);
        const secretFiles = delivery.secretFilesFor(svc.secrets);
        const migrations = migration
            ? new Migrations(
                  `${svc.name}-migrations`,
                  { service: svc, migration, namespace: ns.name, repository, secretEnv, secretFiles, deployedTags: migratedBefore(svc.name), after: delivery.ready },
                  afterNetwork,
              )
            : undefined;
        return new BlueGreenService(
            svc.name,
            {
                service: svc,
                namespace: ns.name,
                repository,
                env: modeEnv,
                secretEnv,
                secretFiles,
                // A rotated or restored secret rolls both colors (no `kubectl rollout restart`).
                podAnnotations: { "checksum/secrets": delivery.rotationChecksum },
                // Each color waits for what the foundation readies first (the database logins), and for its own image's migration Job.
                colorDependsOn: {
                    blue: [...delivery.ready, ...jobsOf(migrations?.jobs.blue)],
                    green: [...delivery.ready, ...jobsOf(migrations?.jobs.green)],
                },
                promotion,
                rolloutTimeoutSeconds: config.promotion.rolloutTimeoutSeconds,
                flipping: previous?.[svc.name]?.live !== svc.activeColor,
                flipTimeoutSeconds: config.promotion.timeoutSeconds,
            },
            afterNetwork,
        );
    });
    // The outputs that say which color is live resolve only once every live Service was
    // updated: after a failed switch the engine would otherwise record the new colors as
    // outputs while the Services still select the old ones (seen on the testbed); now
    // they are absent, and the next update's transition rules say they have nothing to judge.
    const afterLiveServices = <T>(value: T): pulumi.Output<T> =>
        pulumi.all(services.map((s) => s.liveService.spec.selector)).apply(() => value);
    // Every live Service waits for all of these gates: they move together or not at all.
    promotion.seal();

    // Runbook "Enable Maintenance Mode": the page runs whenever an image is configured;
    // `maintenanceMode` only moves the domain to it (see the Ingress).
    const maintenance = config.maintenance
        ? new MaintenancePage("maintenance-page", { page: config.maintenance, namespace: ns.name }, afterNetwork)
        : undefined;

    // The in-cluster platform around the app tier (AWS: TLS, ingress + DNS, monitoring).
    const platform = foundation.installPlatform({ namespace: ns, maintenance });

    return {
        // The foundation's own outputs: the AWS foundation fills them, a local one has none.
        clusterName: platform.clusterName,
        /** `aws eks update-kubeconfig` does the same; kept secret in the stack's outputs. */
        kubeconfig: platform.kubeconfig,
        vpcId: platform.vpcId,
        repositoryUrls: foundation.repositories,
        /** The database host (TLS required) and the RDS-managed secret with its master credentials. */
        databaseAddress: platform.databaseAddress,
        databaseSecretArn: platform.databaseSecretArn,
        redisEndpoint: platform.redisEndpoint,
        /** The backup bucket (backups.bucket: created per account and region, or the named one) and the AWS Backup vault. */
        backupBucket: platform.backupBucket,
        backupVault: platform.backupVault,
        /** The Route53 zone; with dns.zone=create, delegate the domain to these name servers at its registrar. */
        dnsZoneId: platform.dnsZoneId,
        dnsNameServers: platform.dnsNameServers,
        /** Secrets Manager names (runbook `aws secretsmanager ... --secret-id`). */
        secretNames: platform.secretNames,
        namespace: ns.name,
        /** Per service: the color its live `<name>-service` selects (runbook Step 1). */
        liveColors: afterLiveServices(Object.fromEntries(services.map((s) => [s.serviceName, s.liveColor]))),
        /** The maintenance page's Service, when the stack configures one. */
        maintenancePage: maintenance?.backend.serviceName,
        maintenanceMode: config.maintenanceMode,
        readOnlyMode: config.readOnlyMode,
        /** The URLs the runbook curls (https://<domain>/api/health ...). */
        urls: platform.urls,
        loadBalancerHostname: platform.loadBalancerHostname,
        grafanaAdminPassword: platform.grafanaAdminPassword,
        /** The self-hosted runner the workflows deploy from: its label and, inside the VPC, its security group and subnets. */
        deployRunner: platform.deployRunner,
        /** What the transition rules judge the next edit against (config/transitions.ts). */
        promotionState: afterLiveServices(promotionState(run)),
        /** The services this update runs: a plain list, written even by a failed update (config/previous.ts). */
        deployedServices: run.map((s) => s.name),
        /** AWS: platform in the first-deploy phase (services held back; deploy.yml skips its health checks), else apps. */
        bootstrapPhase: config.platform === "aws" ? config.bootstrap.phase : undefined,
        /** Per service with migrations: the newest tag ever migrated; written even by a failed update (components/migrations.ts). */
        migrationHighWater: Object.fromEntries(
            config.migrations.map((m) => {
                // A service held back by the platform phase ran no migration: its mark stays as it was.
                const svc = run.find((s) => s.name === m.service);
                return [m.service, newestTag([...migratedBefore(m.service), ...(svc ? [svc.colors.blue.imageTag, svc.colors.green.imageTag] : [])])];
            }).filter(([, t]) => t !== undefined),
        ),
    };
}

// Pulumi awaits the promise; its properties are the stack outputs.
export = main();
