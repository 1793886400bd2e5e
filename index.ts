// Composition root: config -> namespace -> blue/green services.
// Read top to bottom, this is the whole platform.
import { loadConfig } from "./config";
import { AppNamespace } from "./components/namespace";
import { BlueGreenService } from "./components/blue-green-service";

// Parsed and validated before anything is registered: bad config stops here.
const config = loadConfig();

const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

const ns = new AppNamespace(config.namespace, {
    name: config.namespace,
    allowFromNamespaces: ["ingress-nginx", "monitoring"],
});

const services = config.services.map(
    (svc) =>
        new BlueGreenService(
            svc.name,
            { service: svc, namespace: ns.name, repository: `${registry}/${svc.name}` },
            { dependsOn: [ns] },
        ),
);

export const namespace = ns.name;
/** Per service: the live color and the Services' in-cluster URLs. */
export const liveColors = Object.fromEntries(services.map((s) => [s.serviceName, s.liveColor]));
