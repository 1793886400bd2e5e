// `npm run switch -- ...` flags. Parsing is pure: a bad flag is an error that
// names it (with a did-you-mean), and nothing has been read or changed yet.
import { didYouMean } from "../config/schema";
import { BAKE_SECONDS_MAX } from "../config/services";
import { Color, isColor } from "./stackfile";

export interface SwitchArgs {
    readonly stack: string;
    readonly to: Color;
    /** Named services (each switched through services.<name>.activeColor); empty: all, through activeColor. */
    readonly services: readonly string[];
    /** The bake window in seconds; undefined: promotion.bakeSeconds from the stack config. */
    readonly bakeSeconds?: number;
    readonly dryRun: boolean;
    readonly prometheusUrl?: string;
    readonly grafanaUrl?: string;
    readonly keepOnInterrupt: boolean;
    /** Goes into the Pulumi update messages and the Grafana annotation. */
    readonly message?: string;
    /** Critical image-scan findings (or an unreadable scan) warn instead of refusing. */
    readonly acceptScanFindings: boolean;
}

export type Parsed = { readonly help: true } | ({ readonly help: false } & SwitchArgs);

export class UsageError extends Error {}

const VALUE_FLAGS = ["--stack", "--to", "--service", "--bake", "--prometheus-url", "--grafana-url", "--message"] as const;
const BOOL_FLAGS = ["--dry-run", "--keep-on-interrupt", "--accept-scan-findings", "--help"] as const;

export const USAGE = `Usage: npm run switch -- --stack <stack> --to <blue|green> [--service <name>]... [--bake <duration>] [--dry-run]
                        [--prometheus-url <url>] [--grafana-url <url>] [--keep-on-interrupt] [--message <text>]
                        [--accept-scan-findings]

Switches live traffic to a color with the gated pulumi up, watches that color for the
bake window (error ratio and P95 latency with the runbook alerts' own expressions and
thresholds, and the ready endpoints behind each switched <svc>-service), and rolls back
(config set back + pulumi up) on a breach. The stack file always ends holding the color
that is live. docs/SWITCH.md has the details.

  --stack <stack>          stack to switch (production, staging, ...; org/stack accepted)
  --to <blue|green>        the color that should take live traffic
  --service <name>         switch only this service (services.<name>.activeColor); repeatable.
                           Without it: activeColor, for every service without its own override
  --bake <duration>        how long to watch: 300, 300s, 5m, 1m30s; 0 = do not watch
                           (default: promotion.bakeSeconds from the stack config, 300 s)
  --dry-run                say what would change and check Prometheus and the cluster; change nothing
  --prometheus-url <url>   query this Prometheus instead of the cluster's (through the API server's service proxy)
  --grafana-url <url>      annotate this Grafana instead of the cluster's
  --keep-on-interrupt      Ctrl-C during the bake stops watching and keeps the new color (default: roll back)
  --message <text>         why; goes into the Pulumi update messages and the annotation
  --accept-scan-findings   switch even if an image to switch to has critical findings in its ECR scan, or no
                           readable scan (default: refuse before anything changes); for an emergency rollback
  --help                   this text

Exit status: 0 switched (or nothing to do, or a dry run); 1 rolled back, the old color is live;
2 nothing changed (bad flags, or refused before the switch); 3 unexpected error; 4 the rollback
itself failed (the stack file says what the Services select); 130 interrupted.`;

/** "300", "300s", "5m", "1m30s", "1h" -> seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
    const t = text.trim();
    if (/^\d+$/.test(t)) return Number(t);
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
    if (!m || t === "") return undefined;
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** Seconds -> "5m", "1m30s", "45s". */
export function formatDuration(seconds: number): string {
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    return [h ? `${h}h` : "", m ? `${m}m` : "", r || (!h && !m) ? `${r}s` : ""].join("");
}

function checkUrl(flag: string, v: string): string {
    let u: URL;
    try {
        u = new URL(v);
    } catch {
        throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a URL (e.g. http://127.0.0.1:9090)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`${flag}: ${JSON.stringify(v)} must be an http:// or https:// URL`);
    return v.replace(/\/+$/, "");
}

/** The flags of one command. */
export interface FlagSet {
    readonly values: readonly string[];
    readonly bools: readonly string[];
    /** Value flags that may be given more than once. */
    readonly repeatable?: readonly string[];
    /** The flag a stray word most likely belongs to, for the hint (`--to` for the switch). */
    readonly example: string;
}

/**
 * `--flag value`, `--flag=value` and boolean `--flag`s (`-h` is `--help`): each
 * value flag's values in order, and the boolean flags given. An unknown flag is
 * an error with a did-you-mean; a flag given twice is one unless repeatable.
 */
export function parseFlags(argv: readonly string[], set: FlagSet): { values: Record<string, string[]>; bools: Set<string> } {
    const all = [...set.values, ...set.bools];
    const values: Record<string, string[]> = {};
    const bools = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-h") {
            bools.add("--help");
            continue;
        }
        if (!a.startsWith("--")) {
            throw new UsageError(`unexpected argument ${JSON.stringify(a)}; every value follows its flag (e.g. ${set.example} ${a})`);
        }
        const eq = a.indexOf("=");
        const flag = eq > 0 ? a.slice(0, eq) : a;
        if (set.bools.includes(flag)) {
            if (eq > 0) throw new UsageError(`${flag} takes no value`);
            bools.add(flag);
            continue;
        }
        if (!set.values.includes(flag)) {
            const hint = didYouMean(flag, all);
            throw new UsageError(`unknown flag ${flag}${hint ? `; did you mean ${hint}?` : `; the flags are ${all.join(", ")}`}`);
        }
        let v: string | undefined;
        if (eq > 0) v = a.slice(eq + 1);
        else {
            v = argv[i + 1];
            if (v === undefined || (v.startsWith("--") && v.length > 2)) throw new UsageError(`${flag} needs a value`);
            i++;
        }
        if (v === "") throw new UsageError(`${flag} needs a value`);
        (values[flag] ??= []).push(v);
    }
    if (bools.has("--help")) return { values, bools };
    for (const [flag, vs] of Object.entries(values)) {
        if (!set.repeatable?.includes(flag) && vs.length > 1) throw new UsageError(`${flag} given ${vs.length} times; give it once`);
    }
    return { values, bools };
}

/** The required `--stack` value: `production`, or `org/production` as the Pulumi CLI takes it. */
export function stackFlag(stack: string | undefined): string {
    if (!stack) throw new UsageError("--stack is required (e.g. --stack staging)");
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/.test(stack)) throw new UsageError(`--stack: ${JSON.stringify(stack)} is not a stack name`);
    return stack;
}

export function parseArgs(argv: readonly string[]): Parsed {
    const { values, bools } = parseFlags(argv, { values: VALUE_FLAGS, bools: BOOL_FLAGS, repeatable: ["--service"], example: "--to" });
    if (bools.has("--help")) return { help: true };
    const one = (f: string) => values[f]?.[0];
    const stack = stackFlag(one("--stack"));
    const to = one("--to");
    if (!to) throw new UsageError("--to is required: --to blue or --to green");
    if (!isColor(to)) {
        const hint = didYouMean(to, ["blue", "green"]);
        throw new UsageError(`--to must be blue or green, got ${JSON.stringify(to)}${hint ? `; did you mean ${hint}?` : ""}`);
    }
    const services = [...new Set(values["--service"] ?? [])];
    for (const s of services) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)) throw new UsageError(`--service: ${JSON.stringify(s)} is not a service name`);
    let bakeSeconds: number | undefined;
    const bake = one("--bake");
    if (bake !== undefined) {
        bakeSeconds = parseDuration(bake);
        if (bakeSeconds === undefined) throw new UsageError(`--bake: ${JSON.stringify(bake)} is not a duration (e.g. 300, 300s, 5m, 1m30s)`);
        if (bakeSeconds > BAKE_SECONDS_MAX) throw new UsageError(`--bake: ${bake} is longer than the maximum, ${formatDuration(BAKE_SECONDS_MAX)}`);
    }
    const prom = one("--prometheus-url");
    const graf = one("--grafana-url");
    return {
        help: false,
        stack,
        to,
        services,
        bakeSeconds,
        dryRun: bools.has("--dry-run"),
        prometheusUrl: prom === undefined ? undefined : checkUrl("--prometheus-url", prom),
        grafanaUrl: graf === undefined ? undefined : checkUrl("--grafana-url", graf),
        keepOnInterrupt: bools.has("--keep-on-interrupt"),
        message: one("--message"),
        acceptScanFindings: bools.has("--accept-scan-findings"),
    };
}
