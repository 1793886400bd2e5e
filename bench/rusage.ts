// Preloaded (`node -r`) into every process the benchmark measures: on exit it
// writes the process's peak resident set size to $BENCH_RUSAGE_FILE, so the
// measured process's own stdout stays exactly what it would print.
import * as fs from "fs";

const file = process.env.BENCH_RUSAGE_FILE;
if (file) {
    process.on("exit", () => {
        const u = process.resourceUsage();
        // maxRSS is in kilobytes on Linux; CPU times in microseconds.
        fs.writeFileSync(file, JSON.stringify({ maxRssKb: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime }));
    });
}
