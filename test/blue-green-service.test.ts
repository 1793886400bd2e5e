// The blue/green contract, read like the runbook: names the kubectl commands
// address, selectors that carry traffic, and what a switch may touch.
import { strict as assert } from "assert";
import { DEPLOYMENT, PDB, SERVICE, SERVICES, at, brief, diffRenders, find, inputs, ofType, renderStack } from "./harness";
import { Rendered } from "../plan/render";

describe("BlueGreenService: names and selectors (runbook: Blue-Green Deployment)", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    for (const name of SERVICES) {
        it(`${name}: ${name}-blue and ${name}-green Deployments with fixed names and app/version pod labels`, () => {
            for (const color of ["blue", "green"]) {
                const d = inputs(find(prod, DEPLOYMENT, `${name}-${color}`));
                assert.equal(d.metadata.name, `${name}-${color}`);
                assert.equal(d.metadata.namespace, "production");
                assert.deepEqual(d.spec.selector.matchLabels, { app: name, version: color });
                assert.equal(d.spec.template.metadata.labels.app, name);
                assert.equal(d.spec.template.metadata.labels.version, color);
            }
        });

        it(`${name}: ${name}-service selects the live color and ${name}-preview the other`, () => {
            const live = inputs(find(prod, SERVICE, `${name}-service`));
            const preview = inputs(find(prod, SERVICE, `${name}-preview`));
            assert.equal(live.metadata.name, `${name}-service`);
            assert.equal(preview.metadata.name, `${name}-preview`);
            assert.deepEqual(live.spec.selector, { app: name, version: "blue" });
            assert.deepEqual(preview.spec.selector, { app: name, version: "green" });
            assert.deepEqual(live.spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }]);
        });

        it(`${name}: the live Service depends on the Deployment it selects, so the switch waits for its rollout`, async () => {
            assert.deepEqual(find(prod, SERVICE, `${name}-service`).options.dependsOn.filter((d) => d.startsWith(DEPLOYMENT)), [`${DEPLOYMENT}::${name}-blue`]);
            const flipped = await renderStack("production", ["activeColor=green"]);
            assert.deepEqual(find(flipped, SERVICE, `${name}-service`).options.dependsOn.filter((d) => d.startsWith(DEPLOYMENT)), [`${DEPLOYMENT}::${name}-green`]);
        });
    }

    it("names the website's container `website`, as `kubectl set image ... website=...` expects", () => {
        for (const color of ["blue", "green"]) {
            const c = inputs(find(prod, DEPLOYMENT, `candlefish-website-${color}`)).spec.template.spec.containers;
            assert.equal(c.length, 1);
            assert.equal(c[0].name, "website");
            assert.equal(c[0].ports[0].containerPort, 3000); // the runbook's port-forward 8080:3000
        }
    });

    it("runs each color's own image tag from its repository, with the configured replicas", () => {
        const blue = inputs(find(prod, DEPLOYMENT, "rtpm-api-blue"));
        const green = inputs(find(prod, DEPLOYMENT, "rtpm-api-green"));
        assert.match(blue.spec.template.spec.containers[0].image, /\/rtpm-api:v2\.4\.1$/);
        assert.match(green.spec.template.spec.containers[0].image, /\/rtpm-api:v2\.4\.0$/);
        assert.equal(blue.spec.replicas, 3);
        assert.equal(green.spec.replicas, 3);
    });

    it("has no auto-suffixed Kubernetes names anywhere", () => {
        for (const r of prod.resources.filter((x) => x.type.startsWith("kubernetes:") && x.custom && x.type !== "kubernetes:helm.sh/v3:Release")) {
            const name = inputs(r).metadata?.name;
            assert.ok(typeof name === "string" && name.length > 0, `${r.type} ${r.name} has no fixed metadata.name`);
        }
    });
});

describe("BlueGreenService: per-service override and feature flags", () => {
    it("services.<name>.activeColor overrides activeColor for that service only", async () => {
        const r = await renderStack("production", ["services.nanda-api.activeColor=green"]);
        assert.equal(inputs(find(r, SERVICE, "nanda-api-service")).spec.selector.version, "green");
        assert.equal(inputs(find(r, SERVICE, "nanda-api-preview")).spec.selector.version, "blue");
        for (const other of SERVICES.filter((s) => s !== "nanda-api")) {
            assert.equal(inputs(find(r, SERVICE, `${other}-service`)).spec.selector.version, "blue");
        }
        assert.equal(r.outputs.liveColors && (r.outputs.liveColors as Record<string, string>)["nanda-api"], "green");
    });

    it("a feature flag becomes FEATURE_<FLAG> on that color only (runbook: Feature Flags)", async () => {
        const r = await renderStack("staging");
        const env = (color: string) =>
            Object.fromEntries(
                inputs(find(r, DEPLOYMENT, `candlefish-website-${color}`)).spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
            );
        assert.equal(env("green").FEATURE_NEW_UI, "true");
        assert.equal(env("blue").FEATURE_NEW_UI, undefined);
    });
});

describe("BlueGreenService: workload hardening", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("every Deployment meets Pod Security Standards 'restricted' with a read-only root filesystem", () => {
        const deps = ofType(prod, DEPLOYMENT).filter((d) => SERVICES.some((s) => d.name.startsWith(s)));
        assert.equal(deps.length, 8);
        for (const d of deps) {
            const pod = inputs(d).spec.template.spec;
            assert.equal(pod.securityContext.runAsNonRoot, true, d.name);
            assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault", d.name);
            assert.equal(pod.automountServiceAccountToken, false, d.name);
            const c = pod.containers[0];
            assert.equal(c.securityContext.allowPrivilegeEscalation, false, d.name);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true, d.name);
            assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"], d.name);
            const tmp = c.volumeMounts.find((m: any) => m.mountPath === "/tmp");
            assert.ok(tmp, `${d.name} has no writable /tmp`);
            assert.ok(pod.volumes.find((v: any) => v.name === tmp.name).emptyDir, `${d.name} /tmp is not an emptyDir`);
        }
    });

    it("probes the runbook's health path, with startup, readiness and liveness probes", () => {
        const c = inputs(find(prod, DEPLOYMENT, "candlefish-website-green")).spec.template.spec.containers[0];
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            assert.deepEqual(c[probe].httpGet, { path: "/api/health", port: "http" }, probe);
        }
        assert.ok(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds >= 120, "startup allows at least 2 minutes to boot");
    });

    it("sets requests and limits from the service catalog", () => {
        const c = inputs(find(prod, DEPLOYMENT, "rtpm-api-blue")).spec.template.spec.containers[0];
        assert.deepEqual(c.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } });
    });

    it("rolls out with maxUnavailable 0 and spreads pods across zones", () => {
        const d = inputs(find(prod, DEPLOYMENT, "nanda-api-blue"));
        assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
        const zone = d.spec.template.spec.topologySpreadConstraints.find((t: any) => t.topologyKey === "topology.kubernetes.io/zone");
        assert.deepEqual(zone.labelSelector.matchLabels, { app: "nanda-api", version: "blue" });
        assert.equal(zone.maxSkew, 1);
    });

    it("gives every Deployment a PodDisruptionBudget so `kubectl drain` keeps service", () => {
        for (const name of SERVICES) {
            for (const color of ["blue", "green"]) {
                const pdb = inputs(find(prod, PDB, `${name}-${color}`));
                assert.equal(pdb.metadata.name, `${name}-${color}`);
                assert.equal(pdb.spec.maxUnavailable, 1);
                assert.deepEqual(pdb.spec.selector.matchLabels, { app: name, version: color });
            }
        }
    });

    it("does not make Pulumi wait for endpoints behind the preview Service (its color may be scaled to 0)", () => {
        assert.equal(inputs(find(prod, SERVICE, "rtpm-api-preview")).metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.equal(inputs(find(prod, SERVICE, "rtpm-api-service")).metadata.annotations?.["pulumi.com/skipAwait"], undefined);
    });
});

describe("Switch semantics", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("flipping activeColor changes only the selectors of the live and preview Services, plus one promotion gate per service", async () => {
        const d = diffRenders(prod, await renderStack("production", ["activeColor=green"]));
        const GATE = "pulumi-nodejs:dynamic/candlefish:Resource";
        assert.deepEqual(d.added.map((a) => `${a.type}::${a.name}`).sort(), SERVICES.map((s) => `${GATE}::${s}-gate-green`).sort());
        assert.deepEqual(d.removed.map((a) => `${a.type}::${a.name}`).sort(), SERVICES.map((s) => `${GATE}::${s}-gate-blue`).sort());
        assert.deepEqual(
            d.changed.map((c) => `${c.type}::${c.name}`).sort(),
            SERVICES.flatMap((s) => [`${SERVICE}::${s}-preview`, `${SERVICE}::${s}-service`]).sort(),
        );
        for (const c of d.changed) assert.deepEqual(c.paths, ["spec.selector.version"]);
    });

    it("rolling back is the same edit in reverse and restores the original inputs exactly", async () => {
        const flipped = await renderStack("production", ["activeColor=green"]);
        const back = await renderStack("production", ["activeColor=green", "activeColor=blue"]);
        assert.equal(diffRenders(flipped, back).changed.length, 8);
        assert.deepEqual(brief(diffRenders(prod, back)), { changed: [], added: [], removed: [] });
    });

    it("deploying to the inactive color touches only that color's Deployment (runbook Step 2)", async () => {
        const d = brief(diffRenders(prod, await renderStack("production", ["services.nanda-api.green.imageTag=v1.9.0"])));
        assert.deepEqual(d, {
            changed: [{ type: DEPLOYMENT, name: "nanda-api-green", paths: ["spec.template.spec.containers.0.image"] }],
            added: [],
            removed: [],
        });
    });

    it("deploying a new rtpm-api tag to the inactive color also brings that tag's migration Job, and nothing live", async () => {
        const d = brief(diffRenders(prod, await renderStack("production", ["services.rtpm-api.green.imageTag=v2.5.0"])));
        assert.deepEqual(d.changed, [{ type: DEPLOYMENT, name: "rtpm-api-green", paths: ["spec.template.spec.containers.0.image"] }]);
        assert.deepEqual(d.added, [{ type: "kubernetes:batch/v1:Job", name: "rtpm-api-migrate-v2-5-0" }]);
        // Blue's v2.4.1 is now the older tag: its completed Job goes (deleting it re-runs nothing).
        assert.deepEqual(d.removed, [{ type: "kubernetes:batch/v1:Job", name: "rtpm-api-migrate-v2-4-1" }]);
    });

    it("scaling the old color down is its own edit and touches only that Deployment's replicas (runbook Step 6)", async () => {
        const d = brief(diffRenders(prod, await renderStack("production", ["services.candlefish-website.green.replicas=0"])));
        assert.deepEqual(d.changed, [{ type: DEPLOYMENT, name: "candlefish-website-green", paths: ["spec.replicas"] }]);
    });

    it("trying a feature flag on the inactive color touches only that Deployment", async () => {
        const d = diffRenders(prod, await renderStack("production", ["services.candlefish-website.green.featureFlags.NEW_UI=true"]));
        assert.equal(d.changed.length, 1);
        assert.equal(d.changed[0].name, "candlefish-website-green");
        assert.ok(d.changed[0].paths.every((p) => p.startsWith("spec.template.spec.containers.0.env")), d.changed[0].paths.join());
        const env = inputs(find(await renderStack("production", ["services.candlefish-website.green.featureFlags.NEW_UI=true"]), DEPLOYMENT, "candlefish-website-green"));
        assert.ok(at(env, "spec.template.spec.containers.0.env").some((e: any) => e.name === "FEATURE_NEW_UI" && e.value === "true"));
    });
});
