// The sync table of scripts/bench-peers.sh: siteproof's sync-bench figures beside the
// automerge-repo peer's stage results from the same run.
//
//   node scripts/bench-peers-table.mjs FIGURES OUT
//
// FIGURES: the `name value` lines `sync-bench --figures` wrote. OUT: the peer's out/ folder
// (bench.sh's JSON per stage). Ratio = siteproof / peer.
import fs from "node:fs";
import path from "node:path";

const [figuresFile, out] = process.argv.slice(2);
const ours = Object.fromEntries(
  fs.readFileSync(figuresFile, "utf8").trim().split("\n").map((l) => {
    const [name, value] = l.split(" ");
    return [name, Number(value)];
  }),
);
const peer = (file) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(out, file), "utf8"));
  } catch {
    return null;
  }
};
const cold = peer("pull-n1000-requested-f50-cold.json");
const warm = peer("pull-n1000-requested-f50-warm.json");
const pullServer = peer("pull-n1000-requested-f50.server.json");
const inc = peer("incremental-n1000-requested.json");
const conc = peer("concurrent-n100-c100-k50-requested.json");
// A stage that failed (or left nothing) gives its reason instead of a figure.
const from = (stage, pick) => {
  if (!stage) return "no result";
  if (stage.ok === false) return `failed: ${stage.error}`;
  return pick(stage);
};

const rows = [
  ["fresh device pulls 1,000 visits, s (peer: cold server, 50 finds in flight)", ours.pull_ms / 1000, from(cold, (r) => r.wall_ms / 1000)],
  ["fresh device pulls 1,000 visits, s (peer: warm server, 50 finds in flight)", ours.pull_ms / 1000, from(warm, (r) => r.wall_ms / 1000)],
  ["fresh pull, bytes on the wire, KiB (siteproof: sync bodies; peer: socket)", ours.pull_bytes / 1024, from(cold, (r) => (r.wire_in_bytes + r.wire_out_bytes) / 1024)],
  ["one changed answer, writer has the server's ack, ms p50", ours.one_change_ack_ms, from(inc, (r) => r.server_ack_to_a_ms.p50)],
  ["one changed answer, other device has it, ms p50 (siteproof: its next sync right after)", ours.one_change_seen_ms, from(inc, (r) => r.seen_by_b_ms.p50)],
  ["one changed answer, bytes of both devices (siteproof: sync bodies; peer: socket)", ours.one_change_bytes, from(inc, (r) => r.bytes_total_per_change.p50)],
  ["100 devices x 50 changes, each acked before the next: changes/s", ours.acked_per_s, from(conc, (r) => r.throughput_changes_per_s)],
  ["  latency change to ack, ms p50", ours.acked_p50_ms, from(conc, (r) => r.latency_ms.p50)],
  ["  latency change to ack, ms p99", ours.acked_p99_ms, from(conc, (r) => r.latency_ms.p99)],
  ["server peak RSS, MiB (siteproof: 61,000-change push + pull; peer: pull stage)", ours.peak_rss_seed_mib, from(pullServer, (r) => r.server_peak_rss_mb)],
];

const fmt = (x) => (typeof x === "number" ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : x);
console.log("| measure | siteproof | automerge-repo 2.5 | ratio (siteproof / peer) |");
console.log("| --- | --- | --- | --- |");
for (const [name, a, b] of rows) {
  const ratio = typeof b === "number" ? `${(a / b).toFixed(3)}` : "-";
  console.log(`| ${name} | ${fmt(a)} | ${fmt(b)} | ${ratio} |`);
}
