// Composition root: config -> namespace -> blue/green services.
// Read top to bottom, this is the whole platform.
import { loadConfig } from "./config";
import { AppNamespace } from "./components/namespace";
import { BlueGreenService } from "./components/blue-green-service";
import { Migrations } from "./components/migrations";
import { MaintenancePage } from "./components/maintenance";

// Parsed and validated before anything is registered: bad config stops here.
const config = loadConfig();

const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

const ns = new AppNamespace(config.namespace, {
    name: config.namespace,
    allowFromNamespaces: ["ingress-nginx", "monitoring"],
});

// Operations as config (runbook "Database Migrations", "Emergency read-only mode").
// READ_ONLY_MODE goes to both colors of every service, never to one color: a
// flip of activeColor must still change only the Service selectors.
const modeEnv = { READ_ONLY_MODE: String(config.readOnlyMode) };
const services = config.services.map((svc) => {
    const repository = `${registry}/${svc.name}`;
    const migration = config.migrations.find((m) => m.service === svc.name);
    const migrations = migration
        ? new Migrations(`${svc.name}-migrations`, { service: svc, migration, namespace: ns.name, repository }, { dependsOn: [ns] })
        : undefined;
    return new BlueGreenService(
        svc.name,
        {
            service: svc,
            namespace: ns.name,
            repository,
            env: modeEnv,
            // Each color waits for its own image's migration Job.
            colorDependsOn: migrations && { blue: [migrations.jobs.blue], green: [migrations.jobs.green] },
        },
        { dependsOn: [ns] },
    );
});

// Runbook "Enable Maintenance Mode": the page runs whenever an image is configured;
// `maintenanceMode` only moves the domain to it (see the Ingress).
const maintenance = config.maintenance
    ? new MaintenancePage("maintenance-page", { page: config.maintenance, namespace: ns.name }, { dependsOn: [ns] })
    : undefined;

export const namespace = ns.name;
/** Per service: the live color and the Services' in-cluster URLs. */
export const liveColors = Object.fromEntries(services.map((s) => [s.serviceName, s.liveColor]));
/** The maintenance page's Service, when the stack configures one. */
export const maintenancePage = maintenance?.backend.serviceName;
export const maintenanceMode = config.maintenanceMode;
export const readOnlyMode = config.readOnlyMode;
