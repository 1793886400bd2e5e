// A small read-only Kubernetes client for the e2e poller: the kubeconfig's
// server and client certificate (or token), one keep-alive agent, JSON GETs.
// Independent of the product's own client (components/gate-runtime.ts), so
// what the poller sees is not filtered through the code under test.
import * as fs from "fs";
import * as https from "https";
import * as YAML from "yaml";

export class Kube {
    private readonly agent: https.Agent;
    private readonly url: URL;
    private readonly token?: string;

    constructor(kubeconfigPath: string) {
        const cfg = YAML.parse(fs.readFileSync(kubeconfigPath, "utf8"));
        const named = (list: any[] | undefined, name: string) => (list ?? []).find((x) => x.name === name);
        const ctx = named(cfg.contexts, cfg["current-context"])?.context;
        if (!ctx) throw new Error(`${kubeconfigPath}: no current context`);
        const cluster = named(cfg.clusters, ctx.cluster)?.cluster ?? {};
        const user = named(cfg.users, ctx.user)?.user ?? {};
        const data = (d?: string, f?: string) => (d ? Buffer.from(d, "base64") : f ? fs.readFileSync(f) : undefined);
        this.url = new URL(String(cluster.server));
        this.token = user.token;
        this.agent = new https.Agent({
            keepAlive: true,
            maxSockets: 8,
            ca: data(cluster["certificate-authority-data"], cluster["certificate-authority"]),
            cert: data(user["client-certificate-data"], user["client-certificate"]),
            key: data(user["client-key-data"], user["client-key"]),
            rejectUnauthorized: !cluster["insecure-skip-tls-verify"],
        });
    }

    /** GET a path; the parsed body, or undefined on 404. */
    get(path: string, timeoutMs = 10000): Promise<any> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: this.url.hostname,
                    port: this.url.port || 443,
                    path,
                    method: "GET",
                    agent: this.agent,
                    timeout: timeoutMs,
                    headers: { Accept: "application/json", ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
                },
                (res) => {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (d) => (body += d));
                    res.on("end", () => {
                        if (res.statusCode === 404) return resolve(undefined);
                        if (!res.statusCode || res.statusCode >= 300) return reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
                        try {
                            resolve(JSON.parse(body));
                        } catch (e) {
                            reject(new Error(`GET ${path}: ${(e as Error).message}`));
                        }
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
            req.on("error", reject);
            req.end();
        });
    }

    close(): void {
        this.agent.destroy();
    }
}
