#!/usr/bin/env node
// Extracts, from the providers' own sources, which inputs of each resource
// type force a replacement instead of an update, and writes plan/force-new.json
// (read by plan/replace.ts, which marks `+-` lines in `plan --diff`).
//
//   node scripts/extract-force-new.js \
//     --kubernetes-git <pulumi/pulumi-kubernetes git dir> --kubernetes-rev <rev> \
//     --aws-git <terraform-provider-aws git dir> --aws-rev <rev> [--aws-label TEXT] \
//     --random-git <terraform-provider-random git dir> --random-rev <rev> \
//     [--check-random-rev <rev>]... [--out plan/force-new.json]
//
// Sources (nothing is guessed; each list is read out of the provider's code):
// - Kubernetes: pulumi-kubernetes provider/pkg/provider/diff.go (the table
//   `forceNew`, plus the Secret/ConfigMap branches of forceNewProperties),
//   provider.go (metadata.name/namespace for every kind, Patch resources) and
//   helm_release.go (Release: name, namespace). This is what the provider's
//   Diff reports as a replacement (provider.go, convertPatchToDiff).
// - AWS: terraform-provider-aws, the schema of each resource type the program
//   registers: `ForceNew: true` (SDKv2) and `RequiresReplace` plan modifiers
//   (framework). pulumi-aws is a bridged provider: its Diff replaces exactly
//   when the Terraform plan requires a replacement. Conditional replacements
//   (CustomizeDiff ForceNewIf/ForceNewIfChange, RequiresReplaceIf) are listed
//   apart, as "may replace".
// - random: terraform-provider-random's RandomPassword schema (framework).
//
// Property names: the Terraform name in camelCase, which is pulumi-aws's
// default naming; each top-level name is checked against the installed
// @pulumi/aws SDK's <Resource>Args interface, and names the SDK does not
// have are listed under `unmapped` instead of being used.
"use strict";
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..");

/** Pulumi type token -> Terraform resource type, for every AWS type the program registers (all stacks). */
const AWS_TYPES = {
    "aws:backup/plan:Plan": "aws_backup_plan",
    "aws:backup/selection:Selection": "aws_backup_selection",
    "aws:backup/vault:Vault": "aws_backup_vault",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:elasticache/replicationGroup:ReplicationGroup": "aws_elasticache_replication_group",
    "aws:elasticache/subnetGroup:SubnetGroup": "aws_elasticache_subnet_group",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:route53/record:Record": "aws_route53_record",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
};

// ---------------------------------------------------------------------------
// Reading sources: a git directory at a revision.

function gitReader(dir, rev) {
    const git = (...args) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const commit = git("rev-parse", `${rev}^{commit}`).trim();
    const date = git("show", "-s", "--format=%cs", commit).trim();
    const files = new Map();
    const lists = new Map();
    return {
        commit,
        date,
        read: (p) => {
            if (!files.has(p)) files.set(p, git("show", `${commit}:${p}`));
            return files.get(p);
        },
        list: (dirPath) => {
            if (!lists.has(dirPath)) lists.set(dirPath, git("ls-tree", "--name-only", `${commit}:${dirPath}`).split("\n").filter(Boolean));
            return lists.get(dirPath);
        },
        /** Paths (from the root) of every file under dirPath matching `re`. */
        find: (dirPath, re) => git("ls-tree", "-r", "--name-only", commit, dirPath).split("\n").filter((f) => re.test(f)),
        /** `git grep -l` for a fixed string under dirPath. */
        grep: (needle, dirPath) => {
            try {
                return git("grep", "-l", "-F", needle, commit, "--", `${dirPath}/*.go`).split("\n").filter(Boolean).map((l) => l.slice(commit.length + 1));
            } catch {
                return [];
            }
        },
    };
}

// ---------------------------------------------------------------------------
// A small Go scanner: enough to walk composite literals without being fooled
// by strings, runes, raw strings and comments.

/** Index just past the bracket closing the one at `open` ('{', '(' or '['). */
function matchBracket(src, open) {
    const pairs = { "{": "}", "(": ")", "[": "]" };
    const stack = [pairs[src[open]]];
    let i = open + 1;
    while (i < src.length) {
        const c = src[i];
        if (c === "/" && src[i + 1] === "/") {
            i = src.indexOf("\n", i);
            if (i < 0) return src.length;
            continue;
        }
        if (c === "/" && src[i + 1] === "*") {
            i = src.indexOf("*/", i + 2) + 2;
            continue;
        }
        if (c === '"' || c === "'") {
            i++;
            while (i < src.length && src[i] !== c) i += src[i] === "\\" ? 2 : 1;
            i++;
            continue;
        }
        if (c === "`") {
            i = src.indexOf("`", i + 1) + 1;
            continue;
        }
        if (pairs[c]) stack.push(pairs[c]);
        else if (c === "}" || c === ")" || c === "]") {
            if (stack.pop() !== c) throw new Error(`unbalanced ${c} at ${i}`);
            if (stack.length === 0) return i + 1;
        }
        i++;
    }
    throw new Error("unterminated bracket");
}

/** Splits the inside of a composite literal body (between its braces) at top-level commas. */
function splitTopLevel(body) {
    const parts = [];
    let start = 0;
    let i = 0;
    while (i < body.length) {
        const c = body[i];
        if (c === "/" && body[i + 1] === "/") {
            const nl = body.indexOf("\n", i);
            i = nl < 0 ? body.length : nl;
            continue;
        }
        if (c === "/" && body[i + 1] === "*") {
            i = body.indexOf("*/", i + 2) + 2;
            continue;
        }
        if (c === '"' || c === "'") {
            i++;
            while (i < body.length && body[i] !== c) i += body[i] === "\\" ? 2 : 1;
            i++;
            continue;
        }
        if (c === "`") {
            i = body.indexOf("`", i + 1) + 1;
            continue;
        }
        if (c === "{" || c === "(" || c === "[") {
            i = matchBracket(body, i);
            continue;
        }
        if (c === ",") {
            parts.push(body.slice(start, i));
            start = i + 1;
        }
        i++;
    }
    parts.push(body.slice(start));
    return parts.map(stripComments).map((p) => p.trim()).filter(Boolean);
}

function stripComments(s) {
    // Only whole-line and trailing // comments outside strings matter here.
    return s
        .split("\n")
        .map((l) => {
            let inStr = null;
            for (let i = 0; i < l.length; i++) {
                const c = l[i];
                if (inStr) {
                    if (c === "\\" && inStr !== "`") i++;
                    else if (c === inStr) inStr = null;
                } else if (c === '"' || c === "`" || c === "'") inStr = c;
                else if (c === "/" && l[i + 1] === "/") return l.slice(0, i);
            }
            return l;
        })
        .join("\n");
}

/** Splits `key: value` at the first top-level colon. */
function keyValue(entry) {
    let depth = 0;
    for (let i = 0; i < entry.length; i++) {
        const c = entry[i];
        if (c === '"' || c === "`") {
            const end = c === "`" ? entry.indexOf("`", i + 1) : (() => {
                let j = i + 1;
                while (j < entry.length && entry[j] !== '"') j += entry[j] === "\\" ? 2 : 1;
                return j;
            })();
            i = end;
            continue;
        }
        if ("{([".includes(c)) depth++;
        else if ("})]".includes(c)) depth--;
        else if (c === ":" && depth === 0) return [entry.slice(0, i).trim(), entry.slice(i + 1).trim()];
    }
    return [undefined, entry.trim()];
}

/** The body (inside the braces) of the first `marker{` at or after `from`; undefined if absent. */
function literalAfter(src, marker, from = 0) {
    const at = src.indexOf(marker, from);
    if (at < 0) return undefined;
    const open = src.indexOf("{", at + marker.length - 1);
    const close = matchBracket(src, open);
    return { body: src.slice(open + 1, close - 1), end: close };
}

/** The body of `func name(` ... `{ ... }` in `src`, or undefined. */
function funcBody(src, name) {
    const re = new RegExp(`func (\\([^)]*\\) )?${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\(`, "g");
    const m = re.exec(src);
    if (!m) return undefined;
    const params = matchBracket(src, m.index + m[0].length - 1);
    // Skip the result type (which may contain braces only in literals, never here).
    const open = src.indexOf("{", params);
    return src.slice(open + 1, matchBracket(src, open) - 1);
}

const goString = (s) => {
    const t = s.trim();
    if (t.startsWith('"')) return JSON.parse(t);
    if (t.startsWith("`")) return t.slice(1, -1);
    return undefined;
};

// ---------------------------------------------------------------------------
// Kubernetes: pulumi-kubernetes provider/pkg/provider/diff.go.

function extractKubernetes(src) {
    const diff = src.read("provider/pkg/provider/diff.go");
    const provider = src.read("provider/pkg/provider/provider.go");
    const helm = src.read("provider/pkg/provider/helm_release.go");

    // Functions of the form func f(prefix string) properties { return properties{ prefix + ".x", ... } }
    // or func f(prefixes ...string) properties { for ... { props = append(props, properties{ prefix + ".x" }...) } }.
    const fnSuffixes = (name) => {
        const body = funcBody(diff, name);
        if (!body) throw new Error(`diff.go: no func ${name}`);
        const lit = literalAfter(body, "properties{");
        return splitTopLevel(lit.body).map((e) => {
            const m = /^prefix\s*\+\s*("(?:[^"\\]|\\.)*")$/.exec(e);
            if (!m) throw new Error(`diff.go ${name}: unexpected entry ${e}`);
            return JSON.parse(m[1]);
        });
    };
    const fns = {};
    for (const name of ["metadataForceNewProperties", "containerForceNewProperties", "labelSelectorForceNewProperties"]) fns[name] = fnSuffixes(name);

    const vars = {};
    const varRe = /^var (\w+) = /gm;
    let m;
    while ((m = varRe.exec(diff)) !== null) {
        const start = m.index + m[0].length;
        // The value runs to the bracket that closes its first opening bracket.
        const open = diff.slice(start).search(/[{(]/) + start;
        vars[m[1]] = diff.slice(start, matchBracket(diff, open));
    }

    /** Evaluates a `properties` expression: a literal, a var, append(...), or a call with string args. */
    const props = (expr) => {
        expr = expr.trim();
        if (expr.endsWith("...")) expr = expr.slice(0, -3).trim();
        if (/^\w+$/.test(expr)) {
            if (!vars[expr]) throw new Error(`diff.go: unknown identifier ${expr}`);
            return props(vars[expr]);
        }
        if (expr.startsWith("properties{")) return splitTopLevel(expr.slice(expr.indexOf("{") + 1, -1)).map((s) => goString(s));
        if (expr.startsWith("append(")) {
            const args = splitTopLevel(expr.slice(7, -1));
            return args.flatMap(props);
        }
        const call = /^(\w+)\((.*)\)$/s.exec(expr);
        if (call && fns[call[1]]) {
            const prefixes = splitTopLevel(call[2]).map(goString);
            return prefixes.flatMap((p) => fns[call[1]].map((s) => p + s));
        }
        throw new Error(`diff.go: cannot evaluate ${expr.slice(0, 80)}`);
    };

    /** _groups{ "g": _versions{...} | ident }, _versions{ "v": _kinds{...} }, _kinds{ "Kind": expr } */
    const table = {};
    const evalVersions = (expr) => {
        expr = expr.trim();
        if (/^\w+$/.test(expr)) return evalVersions(vars[expr]);
        const out = {};
        for (const e of splitTopLevel(expr.slice(expr.indexOf("{") + 1, -1))) {
            const [k, v] = keyValue(e);
            out[goString(k)] = {};
            for (const ke of splitTopLevel(v.slice(v.indexOf("{") + 1, -1))) {
                const [kind, p] = keyValue(ke);
                out[goString(k)][goString(kind)] = props(p);
            }
        }
        return out;
    };
    for (const e of splitTopLevel(vars.forceNew.slice(vars.forceNew.indexOf("{") + 1, -1))) {
        const [g, v] = keyValue(e);
        table[goString(g)] = evalVersions(v);
    }

    // forceNewProperties: metadata always; Secret and ConfigMap special cases.
    const fnp = funcBody(diff, "forceNewProperties");
    const metaCall = /props := (metadataForceNewProperties\("[^"]+"\))/.exec(fnp);
    if (!metaCall) throw new Error("diff.go forceNewProperties: no metadata properties");
    const always = props(metaCall[1]);
    const branch = (test) => {
        const at = fnp.indexOf(test);
        if (at < 0) throw new Error(`diff.go forceNewProperties: no branch ${test}`);
        const lit = literalAfter(fnp, "properties{", at);
        return splitTopLevel(lit.body).map(goString);
    };
    const secret = branch("clients.IsSecret(obj)");
    const configMap = branch("clients.IsConfigMap(obj)");
    const secretCond = /clients\.IsSecret\(obj\) && (.*) \{/.exec(fnp)[1];
    const cmCond = /clients\.IsConfigMap\(obj\) && (.*) \{/.exec(fnp)[1];
    // Both spellings seen in the provider's history mean: replace unless the mutable option is on and the object is not immutable.
    const knownCond = (c, opt) => [`(!k.${opt} || clients.IsImmutable(obj))`, `!(k.${opt} && !clients.IsImmutable(obj))`].includes(c.trim());
    if (!knownCond(secretCond, "enableSecretMutable") || !knownCond(cmCond, "enableConfigMapMutable")) {
        throw new Error(`diff.go forceNewProperties: the Secret/ConfigMap conditions changed (${secretCond}; ${cmCond}); read them again`);
    }
    if (!provider.includes('forceNewFields := []string{".metadata.name", ".metadata.namespace"}') || !/IsPatchResource\(/.test(provider)) {
        throw new Error("provider.go: the Patch-resource force-new fields changed; read them again");
    }
    const helmFields = /forceNewFields := \[\]string\{([^}]*)\}/.exec(helm);
    if (!helmFields) throw new Error("helm_release.go: no forceNewFields");

    const strip = (ps) => [...new Set(ps.map((p) => p.replace(/^\./, "").replace(/\[\*\]/g, ".*")))];
    const kinds = {};
    for (const [group, versions] of Object.entries(table)) {
        for (const [version, ks] of Object.entries(versions)) {
            for (const [kind, ps] of Object.entries(ks)) kinds[`${group === "" ? "core" : group}/${version}:${kind}`] = strip(ps);
        }
    }
    return {
        always: strip(always),
        kinds,
        secret: { paths: strip(secret), unless: "the provider's enableSecretMutable is true and the Secret is not immutable" },
        configMap: { paths: strip(configMap), unless: "the provider's enableConfigMapMutable is true and the ConfigMap is not immutable" },
        patchResources: ["metadata.name", "metadata.namespace"],
        helmRelease: strip(helmFields[1].split(",").map(goString)),
    };
}

// ---------------------------------------------------------------------------
// Terraform providers: SDKv2 and framework schemas.

/** names.AttrXxx constants of terraform-provider-aws. */
function attrConstants(src) {
    const consts = {};
    for (const f of src.list("names").filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))) {
        const text = src.read(`names/${f}`);
        for (const m of text.matchAll(/^\s*(Attr\w+)\s*=\s*"([^"]+)"/gm)) consts[m[1]] = m[2];
    }
    return consts;
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * Parses a `map[string]*schema.Schema{...}` body into attribute -> info,
 * recursing into nested resources. `pkg` is the package's concatenated source,
 * for helper functions that return a schema.
 */
function sdkSchema(body, ctx) {
    const out = {};
    for (const entry of splitTopLevel(body)) {
        const [k, v] = keyValue(entry);
        if (k === undefined) continue;
        const name = goString(k) ?? (k.startsWith("names.") ? ctx.consts[k.slice(6)] : undefined);
        if (name === undefined) throw new Error(`${ctx.where}: cannot resolve key ${k}`);
        out[name] = sdkAttr(v, ctx, `${ctx.where} ${name}`);
    }
    return out;
}

function sdkAttr(v, ctx, where) {
    let lit = v.trim();
    if (lit.startsWith("&schema.Schema{")) lit = lit.slice("&schema.Schema".length);
    if (!lit.startsWith("{")) {
        // A helper: tftags.TagsSchema(), verify.X(), or a function of this package returning a schema.
        const call = /^(\w+)\(\)$/.exec(lit);
        if (call) {
            const body = funcBody(ctx.pkg, call[1]);
            if (body) {
                const ret = /return\s+(&schema\.Schema)?\{/.exec(body);
                if (ret) return sdkAttr(body.slice(body.indexOf("{", ret.index)).slice(0, matchBracket(body.slice(body.indexOf("{", ret.index)), 0)), ctx, where);
            }
        }
        return { forceNew: false, opaque: lit.slice(0, 60) };
    }
    const fields = {};
    for (const f of splitTopLevel(lit.slice(1, -1))) {
        const [fk, fv] = keyValue(f);
        if (fk) fields[fk] = fv;
    }
    const info = {
        forceNew: fields.ForceNew === "true",
        type: fields.Type,
        maxItemsOne: fields.MaxItems === "1",
        computedOnly: fields.Computed === "true" && fields.Optional !== "true" && fields.Required !== "true",
    };
    const elem = fields.Elem;
    if (elem && /^&schema\.Resource\{/.test(elem)) {
        const inner = literalAfter(elem, "map[string]*schema.Schema{");
        if (inner) info.nested = sdkSchema(inner.body, { ...ctx, where });
    } else if (elem && /^\w+\(\)$/.test(elem)) {
        const body = funcBody(ctx.pkg, elem.slice(0, -2));
        const inner = body && literalAfter(body, "map[string]*schema.Schema{");
        if (inner) info.nested = sdkSchema(inner.body, { ...ctx, where });
    }
    return info;
}

/** Framework: Attributes (RequiresReplace plan modifiers) and Blocks. */
function frameworkSchema(body, ctx) {
    const out = {};
    const attrs = literalAfter(body, "Attributes: map[string]schema.Attribute{");
    if (attrs) {
        for (const entry of splitTopLevel(attrs.body)) {
            const [k, v] = keyValue(entry);
            const name = goString(k) ?? (k && k.startsWith("names.") ? ctx.consts[k.slice(6)] : undefined);
            if (name === undefined) {
                if (/^\w+\.\w+$/.test(k ?? "") || /^\w+$/.test(k ?? "")) continue; // framework helpers (framework.IDAttribute())
                throw new Error(`${ctx.where}: cannot resolve key ${k}`);
            }
            out[name] = {
                forceNew: /\bRequiresReplace\(\)/.test(v),
                conditional: /RequiresReplaceIf\w*\(/.test(v) && !/\bRequiresReplace\(\)/.test(v),
                computedOnly: /Computed:\s*true/.test(v) && !/Optional:\s*true|Required:\s*true/.test(v),
            };
        }
    }
    const blocks = literalAfter(body, "Blocks: map[string]schema.Block{");
    if (blocks) {
        for (const entry of splitTopLevel(blocks.body)) {
            const [k, v] = keyValue(entry);
            const name = goString(k) ?? (k.startsWith("names.") ? ctx.consts[k.slice(6)] : undefined);
            out[name] = { forceNew: /\bRequiresReplace\(\)/.test(v.split("NestedObject")[0]), nested: frameworkSchema(v, { ...ctx, where: `${ctx.where} ${name}` }) };
        }
    }
    return out;
}

/**
 * The CustomizeDiff value of a resource, plus the bodies of the package's
 * functions it names (one level), where ForceNew calls usually live.
 */
function customizeDiffText(factoryBody, pkg) {
    const res = literalAfter(factoryBody, "&schema.Resource{");
    if (!res) return "";
    const field = splitTopLevel(res.body).map(keyValue).find(([k]) => k === "CustomizeDiff");
    if (!field) return "";
    // Follow the package's functions it calls, three levels deep.
    const seen = new Set();
    const texts = [field[1]];
    let frontier = [field[1]];
    for (let depth = 0; depth < 3; depth++) {
        const next = [];
        for (const t of frontier) {
            for (const [, n] of t.matchAll(/\b([A-Za-z_]\w*)\(/g)) {
                if (seen.has(n)) continue;
                seen.add(n);
                const b = funcBody(pkg, n);
                if (b) next.push(b);
            }
            // Functions passed by name (customdiff.Sequence(f, g)).
            for (const [, n] of t.matchAll(/\b([A-Za-z_]\w*)\b(?!\()/g)) {
                if (seen.has(n)) continue;
                seen.add(n);
                const b = funcBody(pkg, n);
                if (b) next.push(b);
            }
        }
        texts.push(...next);
        frontier = next;
    }
    return texts.join("\n");
}

/** Conditional replacements a CustomizeDiff declares: ForceNewIfChange("x", ...), ForceNewIf("x", ...), d.ForceNew("x"). */
function customizeDiffForceNew(text, consts) {
    const names = new Set();
    for (const m of text.matchAll(/(?:ForceNewIfChange|ForceNewIf|\.ForceNew)\(\s*("[^"]+"|names\.\w+)/g)) {
        names.add(goString(m[1]) ?? consts[m[1].slice(6)]);
    }
    return [...names].filter(Boolean);
}

/**
 * Flattens a schema to Pulumi-style dotted paths: camelCase names, `*` for a
 * list element, and no index for a MaxItems:1 block (pulumi-aws flattens those
 * to a single object).
 */
function flatten(schema, prefix, out, flattenOne = true) {
    for (const [name, a] of Object.entries(schema)) {
        if (a.computedOnly) continue;
        const p = prefix ? `${prefix}.${camel(name)}` : camel(name);
        if (a.forceNew) out.forceNew.push(p);
        if (a.conditional) out.mayReplace.push(p);
        if (a.nested) {
            const isList = flattenOne ? !(a.maxItemsOne) : true;
            flatten(a.nested, isList ? `${p}.*` : p, out, flattenOne);
        }
    }
}

/** Top-level property names of `export interface <Class>Args` in the installed SDK. */
function sdkArgs(token) {
    const [, mod, cls] = /^[^:]+:([^:]+):(\w+)$/.exec(token);
    const [pkg, file] = mod.split("/");
    const dts = path.join(ROOT, "node_modules", "@pulumi", token.split(":")[0], ...(pkg === "index" ? [] : [pkg]), `${file}.d.ts`);
    const text = fs.readFileSync(dts, "utf8");
    const lit = literalAfter(text, `export interface ${cls}Args {`);
    if (!lit) throw new Error(`${dts}: no ${cls}Args`);
    return new Set([...lit.body.matchAll(/^ {4}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]));
}

function tfResource(src, tfType, consts, where) {
    // The service package that registers tfType: SDKv2 in service_package_gen.go, framework in Metadata.
    const hits = src.grep(`"${tfType}"`, "internal/service").filter((f) => !f.endsWith("_test.go"));
    for (const genFile of hits.filter((f) => f.endsWith("/service_package_gen.go"))) {
        const dir = path.posix.dirname(genFile);
        const gen = src.read(genFile);
        const reg = new RegExp(`Factory:\\s*(\\w+),\\s*\\n\\s*TypeName:\\s*"${tfType}"`).exec(gen.split("SDKResources(")[1] ?? "");
        if (!reg) continue;
        const files = src.list(dir).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go") && f !== "service_package_gen.go");
        const file = files.find((f) => new RegExp(`func ${reg[1]}\\(`).test(src.read(`${dir}/${f}`)));
        if (!file) throw new Error(`${where}: ${tfType}: no func ${reg[1]} in ${dir}`);
        const pkg = files.map((f) => src.read(`${dir}/${f}`)).join("\n");
        const body = funcBody(src.read(`${dir}/${file}`), reg[1]);
        let lit = literalAfter(body, "map[string]*schema.Schema{");
        if (!lit) {
            const call = /Schema(?:Func)?:\s*(\w+),?/.exec(body);
            const fb = call && funcBody(pkg, call[1]);
            lit = fb && literalAfter(fb, "map[string]*schema.Schema{");
        }
        if (!lit) throw new Error(`${where}: ${tfType}: no schema in ${reg[1]}`);
        const schema = sdkSchema(lit.body, { consts, pkg, where: tfType });
        const cdText = customizeDiffText(body, pkg);
        return { file: `${dir}/${file}`, kind: "sdkv2", schema, conditional: customizeDiffForceNew(cdText, consts) };
    }
    // Framework resources: the TypeName is set in Metadata (response.TypeName = "aws_x").
    for (const f of hits) {
        const text = src.read(f);
        if (!new RegExp(`TypeName\\s*=\\s*"${tfType}"`).test(text)) continue;
        const schemaFn = /func \([^)]*\) Schema\(/.exec(text);
        const body = funcBody(text.slice(schemaFn.index), "Schema");
        return { file: f, kind: "framework", schema: frameworkSchema(body, { consts, where: tfType }), conditional: [] };
    }
    throw new Error(`${where}: ${tfType} is not registered at ${src.commit}`);
}

function extractAws(src) {
    const consts = attrConstants(src);
    const out = {};
    for (const [token, tfType] of Object.entries(AWS_TYPES)) {
        const r = tfResource(src, tfType, consts, token);
        const paths = { forceNew: [], mayReplace: [] };
        flatten(r.schema, "", paths);
        const args = sdkArgs(token);
        // pulumi-aws names a list or set attribute in the plural (selection_tag -> selectionTags).
        const rename = (p) => {
            const [first, ...rest] = p.split(".");
            if (args.has(first)) return p;
            const plural = first.endsWith("y") ? `${first.slice(0, -1)}ies` : `${first}s`;
            return args.has(plural) ? [plural, ...rest].join(".") : p;
        };
        paths.forceNew = paths.forceNew.map(rename);
        paths.mayReplace = paths.mayReplace.map(rename);
        const conditional = r.conditional.map(camel).map(rename);
        const top = (p) => p.split(".")[0];
        out[token] = {
            terraform: tfType,
            file: r.file,
            forceNew: paths.forceNew.filter((p) => args.has(top(p))).sort(),
            mayReplace: [...new Set([...paths.mayReplace, ...conditional])].filter((p) => args.has(top(p)) && !paths.forceNew.includes(p)).sort(),
            // Force-new in Terraform, but not an input of the pinned SDK (removed or renamed by pulumi-aws).
            unmapped: [...new Set([...paths.forceNew, ...conditional].filter((p) => !args.has(top(p))))].sort(),
        };
    }
    return out;
}

function extractRandom(src) {
    const text = src.read("internal/provider/resource_password.go");
    const schemaFn = /func \([^)]*\) Schema\(/.exec(text);
    const body = funcBody(text.slice(schemaFn.index), "Schema");
    const call = /resp\.Schema\s*=\s*(\w+)\(\)/.exec(body);
    const schemaBody = call ? funcBody(text, call[1]) : body;
    const schema = frameworkSchema(schemaBody, { consts: {}, where: "random_password" });
    const paths = { forceNew: [], mayReplace: [] };
    flatten(schema, "", paths);
    const token = "random:index/randomPassword:RandomPassword";
    const args = sdkArgs(token);
    return {
        [token]: {
            terraform: "random_password",
            file: "internal/provider/resource_password.go",
            forceNew: paths.forceNew.filter((p) => args.has(p.split(".")[0])).sort(),
            mayReplace: paths.mayReplace.filter((p) => args.has(p.split(".")[0])).sort(),
            unmapped: paths.forceNew.filter((p) => !args.has(p.split(".")[0])).sort(),
        },
    };
}

// ---------------------------------------------------------------------------

function main(argv) {
    const opts = { checkRandom: [] };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const val = argv[++i];
        if (val === undefined) throw new Error(`${flag}: expects a value`);
        if (flag === "--check-random-rev") opts.checkRandom.push(val);
        else opts[flag.replace(/^--/, "").replace(/-(\w)/g, (_, c) => c.toUpperCase())] = val;
    }
    for (const k of ["kubernetesGit", "kubernetesRev", "awsGit", "awsRev", "randomGit", "randomRev"]) {
        if (!opts[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
    }
    const k8s = gitReader(opts.kubernetesGit, opts.kubernetesRev);
    const aws = gitReader(opts.awsGit, opts.awsRev);
    const random = gitReader(opts.randomGit, opts.randomRev);
    const randomData = extractRandom(random);
    for (const rev of opts.checkRandom) {
        const other = extractRandom(gitReader(opts.randomGit, rev));
        if (JSON.stringify(other) !== JSON.stringify(randomData)) throw new Error(`random: ${rev} differs from ${opts.randomRev}`);
    }
    const pkgVersion = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", ...name.split("/"), "package.json"), "utf8")).version;
    const doc = {
        generatedBy: "node scripts/extract-force-new.js " + argv.join(" ").replace(/\/\S*\/\.mirror\/[^ ]*/g, "<git dir>"),
        sources: {
            kubernetes: {
                repository: "pulumi/pulumi-kubernetes",
                rev: opts.kubernetesRev,
                commit: k8s.commit,
                date: k8s.date,
                files: ["provider/pkg/provider/diff.go", "provider/pkg/provider/provider.go", "provider/pkg/provider/helm_release.go"],
                sdk: `@pulumi/kubernetes ${pkgVersion("@pulumi/kubernetes")}`,
            },
            aws: {
                repository: "hashicorp/terraform-provider-aws",
                rev: opts.awsRev,
                commit: aws.commit,
                date: aws.date,
                label: opts.awsLabel ?? opts.awsRev,
                sdk: `@pulumi/aws ${pkgVersion("@pulumi/aws")}`,
            },
            random: {
                repository: "hashicorp/terraform-provider-random",
                rev: opts.randomRev,
                commit: random.commit,
                date: random.date,
                sameAt: opts.checkRandom,
                sdk: `@pulumi/random ${pkgVersion("@pulumi/random")}`,
            },
        },
        kubernetes: extractKubernetes(k8s),
        aws: extractAws(aws),
        random: randomData,
    };
    const out = path.resolve(opts.out ?? path.join(ROOT, "plan", "force-new.json"));
    fs.writeFileSync(out, JSON.stringify(doc, null, 2) + "\n");
    const n = Object.values(doc.aws).reduce((a, r) => a + r.forceNew.length, 0);
    process.stderr.write(`wrote ${path.relative(ROOT, out)}: ${Object.keys(doc.kubernetes.kinds).length} Kubernetes kinds, ${Object.keys(doc.aws).length} AWS types (${n} force-new paths), random\n`);
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`extract-force-new: ${e.message}\n`);
        process.exit(1);
    }
}

module.exports = { matchBracket, splitTopLevel, keyValue, sdkSchema, flatten, AWS_TYPES };
