// Maintenance mode (runbook "Enable Maintenance Mode"): a small hardened
// page that answers 503 with a human page, always deployed when the stack
// configures an image, so switching the mode moves only the routing.
import { strict as assert } from "assert";
import { DEPLOYMENT, PDB, SERVICE, brief, diffRenders, find, inputs, ofType, renderStack, renderWith } from "./harness";
import { Rendered } from "../plan/render";
import { maintenanceHtml, maintenanceNginxConf } from "../components/maintenance";

const CONFIGMAP = "kubernetes:core/v1:ConfigMap";

/** A small structural check of an nginx config: balanced blocks, every simple directive ends with `;`. */
function nginxStructureProblems(conf: string): string[] {
    const problems: string[] = [];
    let depth = 0;
    let statement = "";
    let inString = false;
    for (const ch of conf.replace(/#[^\n]*/g, "")) {
        if (ch === '"') inString = !inString;
        if (inString) {
            statement += ch;
            continue;
        }
        if (ch === "{") {
            depth++;
            statement = "";
        } else if (ch === "}") {
            if (statement.trim()) problems.push(`unterminated directive before }: ${statement.trim()}`);
            depth--;
            if (depth < 0) problems.push("unbalanced }");
            statement = "";
        } else if (ch === ";") statement = "";
        else statement += ch;
    }
    if (depth !== 0) problems.push(`unbalanced braces (depth ${depth})`);
    if (statement.trim()) problems.push(`trailing text: ${statement.trim()}`);
    return problems;
}

describe("MaintenancePage: the page itself", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("runs the pinned image with fixed names the runbook can address, two replicas in production", () => {
        const d = inputs(find(prod, DEPLOYMENT, "maintenance-page"));
        assert.equal(d.metadata.name, "maintenance-page");
        assert.equal(d.metadata.namespace, "production");
        assert.equal(d.spec.replicas, 2);
        const c = d.spec.template.spec.containers[0];
        assert.equal(c.image, "nginxinc/nginx-unprivileged:1.27.3-alpine");
        assert.deepEqual(c.command, ["nginx", "-c", "/etc/nginx/maintenance/nginx.conf", "-g", "daemon off;"]);
        assert.equal(c.readinessProbe.httpGet.path, "/healthz");
        assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    });

    it("is hardened: PSS restricted, read-only root, no SA token, bounded resources, writable /tmp only", () => {
        const pod = inputs(find(prod, DEPLOYMENT, "maintenance-page")).spec.template.spec;
        const c = pod.containers[0];
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(pod.securityContext.runAsUser, 101);
        assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        assert.deepEqual(c.resources, { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } });
        assert.deepEqual(
            c.volumeMounts.map((m: any) => m.mountPath),
            ["/etc/nginx/maintenance", "/tmp"],
        );
        assert.equal(pod.volumes.find((v: any) => v.name === "content").configMap.name, "maintenance-page");
    });

    it("serves 503 with the human page and Retry-After for everything but /healthz", () => {
        const cm = inputs(find(prod, CONFIGMAP, "maintenance-page-content"));
        assert.equal(cm.metadata.name, "maintenance-page");
        const conf: string = cm.data["nginx.conf"];
        assert.deepEqual(nginxStructureProblems(conf), []);
        assert.match(conf, /listen 8080;/);
        assert.match(conf, /location = \/healthz \{[^}]*return 200/);
        assert.match(conf, /location \/ \{\s*error_page 503 \/maintenance\.html;\s*return 503;\s*\}/);
        assert.match(conf, /location = \/maintenance\.html \{[^}]*internal;[^}]*add_header Retry-After 1800 always;/);
        assert.match(conf, /pid \/tmp\/nginx\.pid;/); // read-only root: the pid lives in the emptyDir
        const html: string = cm.data["maintenance.html"];
        assert.match(html, /status\.candlefish\.ai/);
        assert.match(html, /down for scheduled maintenance/);
    });

    it("the structural nginx check catches a missing semicolon", () => {
        assert.notDeepEqual(nginxStructureProblems("events { worker_connections 10 }"), []);
        assert.deepEqual(nginxStructureProblems(maintenanceNginxConf(60)), []);
    });

    it("escapes the configured message into the HTML", () => {
        assert.match(maintenanceHtml(`<script>alert("x")</script> & co`), /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; co/);
    });

    it("exposes the page as Service maintenance-page:80, which waits for the Deployment", () => {
        const s = inputs(find(prod, SERVICE, "maintenance-page"));
        assert.equal(s.metadata.name, "maintenance-page");
        assert.deepEqual(s.spec.selector, { app: "maintenance-page" });
        assert.deepEqual(s.spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }]);
        assert.ok(find(prod, SERVICE, "maintenance-page").options.dependsOn.includes(`${DEPLOYMENT}::maintenance-page`));
        assert.equal(inputs(find(prod, PDB, "maintenance-page")).spec.maxUnavailable, 1);
        assert.deepEqual(prod.outputs.maintenancePage, "maintenance-page");
    });

    it("a new message restarts the pods (content checksum) and changes nothing else", async () => {
        const after = await renderStack("production", ["maintenance.message=Back at 02:00 UTC."]);
        const d = diffRenders(prod, after);
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        assert.deepEqual(
            d.changed.map((c) => [c.type, c.name, c.paths]).sort(),
            [
                [CONFIGMAP, "maintenance-page-content", ["data.maintenance.html"]],
                [DEPLOYMENT, "maintenance-page", ["spec.template.metadata.annotations.candlefish.ai/content-checksum"]],
            ].sort(),
        );
        assert.match(inputs(find(after, CONFIGMAP, "maintenance-page-content")).data["maintenance.html"], /Back at 02:00 UTC\./);
    });

    it("a stack without maintenance.image runs no page", async () => {
        const r = await renderWith("staging", [], { maintenance: undefined });
        assert.equal(ofType(r, DEPLOYMENT).filter((x) => x.name === "maintenance-page").length, 0);
        assert.equal(ofType(r, CONFIGMAP).filter((x) => x.name.startsWith("maintenance-page")).length, 0);
        // ...and the apps are all still there.
        assert.equal(ofType(r, DEPLOYMENT).filter((x) => /-(blue|green)$/.test(x.name)).length, 8);
    });
});

describe("maintenance mode: routing (runbook: Maintenance Window Process)", () => {
    const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
    let off: Rendered;
    let on: Rendered;
    before(async () => {
        off = await renderStack("production");
        on = await renderStack("production", ["maintenanceMode=true"]);
    });
    const rules = (r: Rendered) => inputs(find(r, INGRESS, "ingress-ingress")).spec.rules as { host: string; http: { paths: any[] } }[];

    it("off: every host routes / to its live service", () => {
        for (const rule of rules(off)) {
            assert.equal(rule.http.paths.length, 1, rule.host);
            assert.match(rule.http.paths[0].backend.service.name, /-service$/);
        }
        assert.equal(rules(off)[0].host, "candlefish.ai");
        assert.equal(rules(off)[0].http.paths[0].backend.service.name, "candlefish-website-service");
    });

    it("on: every host routes / to maintenance-page:80, the health endpoints stay on the live service", () => {
        const all = rules(on);
        assert.equal(all.length, rules(off).length);
        for (const [i, rule] of all.entries()) {
            const live = rules(off)[i].http.paths[0].backend.service.name;
            const root = rule.http.paths.find((p) => p.path === "/");
            assert.deepEqual(root.backend, { service: { name: "maintenance-page", port: { number: 80 } } }, rule.host);
            const health = rule.http.paths.filter((p) => p.path.startsWith("/api/health"));
            assert.deepEqual(health.map((p) => p.path).sort(), ["/api/health", "/api/health/cache", "/api/health/db", "/api/health/dependencies"]);
            for (const p of health) {
                assert.equal(p.pathType, "Exact");
                assert.equal(p.backend.service.name, live, `${rule.host}${p.path}`);
            }
        }
    });

    it("switching it on changes only the Ingress; the page was already running", () => {
        const d = diffRenders(off, on);
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        assert.deepEqual(d.changed.map((c) => [c.type, c.name]), [[INGRESS, "ingress-ingress"]]);
        assert.ok(d.changed[0].paths.every((p) => p.startsWith("spec.rules.") || p === "metadata.annotations.candlefish.ai/maintenance-mode"), d.changed[0].paths.join());
    });

    it("in maintenance mode the Ingress waits for the page's Service (and so for its endpoints)", () => {
        const dep = `${SERVICE}::maintenance-page`;
        assert.ok(find(on, "candlefish:ingress:Ingress", "ingress").options.dependsOn.includes(dep));
        assert.ok(!find(off, "candlefish:ingress:Ingress", "ingress").options.dependsOn.includes(dep));
    });

    it("setting it back restores the routing exactly", async () => {
        const back = await renderStack("production", ["maintenanceMode=true", "maintenanceMode=false"]);
        assert.deepEqual(brief(diffRenders(off, back)), { changed: [], added: [], removed: [] });
    });

    it("a color flip during maintenance still changes only Service selectors", async () => {
        const flipped = await renderStack("production", ["maintenanceMode=true", "activeColor=green"]);
        const d = diffRenders(on, flipped);
        assert.ok(d.changed.length > 0);
        for (const c of d.changed) {
            assert.equal(c.type, SERVICE, `${c.type} ${c.name}`);
            assert.deepEqual(c.paths, ["spec.selector.version"]);
        }
    });
});
