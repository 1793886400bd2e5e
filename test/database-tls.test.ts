// verify-full on a real PostgreSQL server and a real libpq (psql 15, the
// machine's): the connection string the program renders, and the role Job's
// PGSSLMODE/PGSSLROOTCERT, connect to a server whose certificate chains to the
// trusted root and names the host dialled, and refuse anything else. The server
// sends its leaf and intermediate certificates and the client holds only the
// root, as with RDS's G1 CAs (the bundle pins roots only, components/rds-ca.ts).
// The same server is accepted unverified by sslmode=require, what the pods
// used before (issue 14 item 5).
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { RDS_CA, VERIFY_FULL_PARAMS, rdsCaBundle } from "../components/rds-ca";
import { inputs, ofType, renderStack } from "./harness";

const ES = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";

/** A command on PATH, else (the server's) in Debian's /usr/lib/postgresql/<newest>/bin. */
function which(cmd: string): string | undefined {
    const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
    if (r.status === 0) return r.stdout.trim();
    const base = "/usr/lib/postgresql";
    const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
    return versions.map((v) => path.join(base, v, "bin", cmd)).find((p) => fs.existsSync(p));
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

/** A root CA, an intermediate, and server certificates (leaf + intermediate) for the given names. */
function makePki(dir: string) {
    openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "7", "-subj", "/CN=Test Root CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=Test Intermediate CA"]);
    fs.writeFileSync(path.join(dir, "int.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
    openssl(dir, ["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "int.pem", "-days", "7", "-extfile", "int.ext"]);
    openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    fs.writeFileSync(path.join(dir, "leaf.ext"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    openssl(dir, ["x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "7", "-extfile", "leaf.ext"]);
    fs.writeFileSync(path.join(dir, "chain.pem"), fs.readFileSync(path.join(dir, "leaf.pem"), "utf8") + fs.readFileSync(path.join(dir, "int.pem"), "utf8"));
}

describe("database TLS on a real PostgreSQL: verify-full accepts the instance and nothing else (issue 14 item 5)", function () {
    this.timeout(120000);
    const tools = { postgres: which("postgres"), pg_ctl: which("pg_ctl"), initdb: which("initdb"), psql: which("psql"), openssl: which("openssl") };
    let dir = "";
    let port = 0;
    let asServer: string[] = [];
    let pgCtl: (...args: string[]) => void = () => undefined;
    let renderedQuery = "";

    before(async function () {
        const missing = Object.entries(tools).filter(([, p]) => !p).map(([t]) => t);
        if (missing.length) {
            if (process.env.CANDLEFISH_SKIP_POSTGRES === "1") return this.skip();
            assert.fail(`${missing.join(", ")} not found: install postgresql and openssl (Debian: apt-get install postgresql openssl), or set CANDLEFISH_SKIP_POSTGRES=1`);
        }
        // The query string of the rendered app login, as External Secrets writes it into DATABASE_URL.
        const prod = await renderStack("production");
        const url = ofType(prod, ES).map((x) => inputs(x)).find((es) => es.metadata.name === "rtpm-api-database").spec.target.template.data.DATABASE_URL as string;
        renderedQuery = url.slice(url.indexOf("?") + 1);
        assert.equal(renderedQuery, VERIFY_FULL_PARAMS);

        dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-pgtls-"));
        makePki(dir);
        port = await freePort();
        // postgres refuses to run as root: as nobody then, owning the data directory and the key.
        asServer = process.getuid?.() === 0 ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] : [];
        const run = (cmd: string[]) => execFileSync(cmd[0], cmd.slice(1), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        fs.writeFileSync(path.join(dir, "pw"), "secret\n");
        fs.mkdirSync(path.join(dir, "data"), { mode: 0o700 });
        fs.chmodSync(path.join(dir, "server.key"), 0o600);
        if (asServer.length) for (const f of [dir, "data", "pw", "server.key"]) run(["chown", "nobody:nogroup", path.resolve(dir, f)]);
        run([...asServer, tools.initdb!, "-D", path.join(dir, "data"), "-U", "candlefish_app_a", `--pwfile=${path.join(dir, "pw")}`, "-A", "scram-sha-256"]);
        fs.writeFileSync(path.join(dir, "data", "pg_hba.conf"), "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n");
        pgCtl = (...args: string[]) => void run([...asServer, tools.pg_ctl!, "-D", path.join(dir, "data"), ...args]);
        pgCtl("-l", path.join(dir, "log"), "-w", "-o",
            `-p ${port} -k ${dir} -c listen_addresses=localhost -c ssl=on -c ssl_cert_file=${path.join(dir, "chain.pem")} -c ssl_key_file=${path.join(dir, "server.key")}`, "start");
    });

    after(() => {
        if (!dir) return;
        try {
            pgCtl("-m", "immediate", "stop");
        } catch {
            // not started
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /** psql with a URL (or libpq env): exit status, stdout, stderr. */
    const psql = (url: string, env: Record<string, string> = {}) => {
        const r = spawnSync(tools.psql!, ["--no-psqlrc", "-Atc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()", url], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, PGPASSWORD: "secret", PGCONNECT_TIMEOUT: "10", ...env },
        });
        return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    /** The rendered query with sslrootcert pointing at `root` instead of the pods' mount. */
    const urlTo = (host: string, root: string) =>
        `postgresql://candlefish_app_a@${host}:${port}/postgres?${renderedQuery.replace(`sslrootcert=${RDS_CA.file}`, `sslrootcert=${root}`)}`;

    it("the rendered DATABASE_URL connects, over TLS, to a server whose chain ends at the trusted root and names the host", () => {
        const r = psql(urlTo("localhost", path.join(dir, "root.pem")));
        assert.deepEqual(r, { status: 0, out: "t", err: "" });
    });

    it("refuses the same server dialled by a name its certificate does not carry", () => {
        const r = psql(urlTo("127.0.0.1", path.join(dir, "root.pem")));
        assert.equal(r.status, 2);
        assert.match(r.err, /server certificate for "localhost" .*does not match host name "127\.0\.0\.1"/);
    });

    it("refuses a server the rendered RDS bundle does not vouch for (the pods' own trust)", () => {
        const bundle = path.join(dir, "rds-ca.pem");
        fs.writeFileSync(bundle, rdsCaBundle("us-east-1"));
        const r = psql(urlTo("localhost", bundle));
        assert.equal(r.status, 2);
        assert.match(r.err, /certificate verify failed/);
    });

    it("the role Job's libpq environment (PGSSLMODE=verify-full, PGSSLROOTCERT) verifies the same way", () => {
        const base = `postgresql://candlefish_app_a@localhost:${port}/postgres`;
        assert.deepEqual(psql(base, { PGSSLMODE: "verify-full", PGSSLROOTCERT: path.join(dir, "root.pem") }), { status: 0, out: "t", err: "" });
        fs.writeFileSync(path.join(dir, "rds-ca.pem"), rdsCaBundle("us-east-1"));
        const r = psql(base, { PGSSLMODE: "verify-full", PGSSLROOTCERT: path.join(dir, "rds-ca.pem") });
        assert.equal(r.status, 2);
        assert.match(r.err, /certificate verify failed/);
    });

    it("sslmode=require, the old setting, connects to that unvouched server: encryption without verification", () => {
        const r = psql(`postgresql://candlefish_app_a@localhost:${port}/postgres?sslmode=require`, { PGSSLROOTCERT: path.join(dir, "absent.pem") });
        assert.deepEqual(r, { status: 0, out: "t", err: "" });
    });
});
