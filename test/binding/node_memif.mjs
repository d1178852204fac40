// SPDX-License-Identifier: MIT
// node_memif.mjs - a third-party consumer of libmemif: the npm package
// `memif` (node-memif, a C++ addon written for upstream libmemif 4.0), built
// against our installed header and library, pings our icmp-responder.
//
// Run by node_memif.sh from a directory where `memif` is installed:
//
//   node node_memif.mjs --role client|server --socket PATH --lib-dir DIR
//
// It uses the package as its README and dist/memif.d.ts show: a Memif is a
// Duplex stream in object mode; "memif:up" / "memif:down" events; received
// packets come as "data" (chained buffers already concatenated); a packet is
// sent by writing a Uint8Array (longer than `dataroom`: chained). The README
// calls memif.send() and memif.close(), which the published class does not
// have; write() and destroy() are the stream methods that reach its
// _write() and _destroy().
//
// Checks: the addon runs on the libmemif of --lib-dir; an ARP request is
// answered; ICMP echo requests of 60 to 9000 bytes (9000 bytes = 5 buffers of
// 2048), one at a time and then a burst, come back intact with swapped
// addresses and valid checksums; the package's counters show every packet
// and every fragment both ways and no drop. Exit 0 when all hold, 1 otherwise.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { Memif } from "memif";

const { values: opt } = parseArgs({
  options: {
    role: { type: "string" },
    socket: { type: "string" },
    "lib-dir": { type: "string" },
    "responder-ip": { type: "string", default: "192.0.2.1" },
    "responder-mac": { type: "string", default: "02:fe:00:00:00:01" },
    ip: { type: "string", default: "192.0.2.2" },
    mac: { type: "string", default: "02:fe:00:00:02:01" },
    timeout: { type: "string", default: "20" },
  },
});
if (!["client", "server"].includes(opt.role) || !opt.socket || !opt["lib-dir"]) {
  console.error("usage: node_memif.mjs --role client|server --socket PATH --lib-dir DIR");
  process.exit(2);
}

const TIMEOUT_MS = Number(opt.timeout) * 1000;
const DATAROOM = 2048;
const ETH_HLEN = 14;
const IP_HLEN = 20;
const ICMP_HLEN = 8;

const macBytes = (s) => Uint8Array.from(s.split(":"), (x) => Number.parseInt(x, 16));
const ipBytes = (s) => Uint8Array.from(s.split("."), Number);
const hex = (b) => Buffer.from(b).toString("hex");
const sameBytes = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

const myMac = macBytes(opt.mac);
const myIp = ipBytes(opt.ip);
const peerMac = macBytes(opt["responder-mac"]);
const peerIp = ipBytes(opt["responder-ip"]);
const broadcast = new Uint8Array(6).fill(0xff);

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function log(msg) {
  console.log(`[node ${opt.role}] ${msg}`);
}

// RFC 1071 Internet checksum; 0 over a region that includes a valid checksum.
function inetCsum(b) {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) {
    sum += (b[i] << 8) | b[i + 1];
  }
  if (b.length % 2) {
    sum += b[b.length - 1] << 8;
  }
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

const get16 = (b, off) => (b[off] << 8) | b[off + 1];
function put16(b, off, v) {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}

function ethHeader(frame, dst, type) {
  frame.set(dst, 0);
  frame.set(myMac, 6);
  put16(frame, 12, type);
}

function arpRequest() {
  const f = new Uint8Array(60);
  ethHeader(f, broadcast, 0x0806);
  const a = f.subarray(ETH_HLEN);
  put16(a, 0, 1); // Ethernet
  put16(a, 2, 0x0800); // IPv4
  a[4] = 6;
  a[5] = 4;
  put16(a, 6, 1); // request
  a.set(myMac, 8);
  a.set(myIp, 14);
  a.set(peerIp, 24); // target hardware address stays zero
  return f;
}

function checkArpReply(f) {
  const a = f.subarray(ETH_HLEN);
  if (!sameBytes(f.subarray(0, 6), myMac) || !sameBytes(f.subarray(6, 12), peerMac) ||
      get16(f, 12) !== 0x0806) {
    fail(`ARP reply: bad Ethernet header ${hex(f.subarray(0, 14))}`);
  }
  if (get16(a, 6) !== 2 || !sameBytes(a.subarray(8, 14), peerMac) ||
      !sameBytes(a.subarray(14, 18), peerIp) || !sameBytes(a.subarray(18, 24), myMac) ||
      !sameBytes(a.subarray(24, 28), myIp)) {
    fail(`ARP reply: bad contents ${hex(a.subarray(0, 28))}`);
  }
}

const icmpId = process.pid & 0xffff;
let nextSeq = 1;

// An ICMP echo request in an Ethernet frame of exactly frameLen bytes.
function echoRequest(frameLen) {
  const f = new Uint8Array(frameLen);
  const seq = nextSeq++;
  ethHeader(f, peerMac, 0x0800);
  const ip = f.subarray(ETH_HLEN);
  ip[0] = 0x45;
  put16(ip, 2, frameLen - ETH_HLEN);
  put16(ip, 4, seq);
  ip[8] = 64; // TTL
  ip[9] = 1; // ICMP
  ip.set(myIp, 12);
  ip.set(peerIp, 16);
  put16(ip, 10, inetCsum(ip.subarray(0, IP_HLEN)));
  const icmp = ip.subarray(IP_HLEN);
  icmp[0] = 8; // echo request
  put16(icmp, 4, icmpId);
  put16(icmp, 6, seq);
  icmp.set(randomBytes(icmp.length - ICMP_HLEN), ICMP_HLEN);
  put16(icmp, 2, inetCsum(icmp));
  return { frame: f, seq };
}

function checkEchoReply(req, f) {
  const what = `reply to seq ${req.seq} (${req.frame.length} bytes)`;
  if (f.length !== req.frame.length) {
    fail(`${what}: ${f.length} bytes`);
  }
  if (!sameBytes(f.subarray(0, 6), myMac) || !sameBytes(f.subarray(6, 12), peerMac) ||
      get16(f, 12) !== 0x0800) {
    fail(`${what}: bad Ethernet header ${hex(f.subarray(0, 14))}`);
  }
  const ip = f.subarray(ETH_HLEN);
  if (ip[0] !== 0x45 || get16(ip, 2) !== f.length - ETH_HLEN || ip[9] !== 1 ||
      inetCsum(ip.subarray(0, IP_HLEN)) !== 0 || !sameBytes(ip.subarray(12, 16), peerIp) ||
      !sameBytes(ip.subarray(16, 20), myIp)) {
    fail(`${what}: bad IPv4 header ${hex(ip.subarray(0, IP_HLEN))}`);
  }
  const icmp = ip.subarray(IP_HLEN);
  if (icmp[0] !== 0 || icmp[1] !== 0 || inetCsum(icmp) !== 0 || get16(icmp, 4) !== icmpId ||
      get16(icmp, 6) !== req.seq) {
    fail(`${what}: bad ICMP header ${hex(icmp.subarray(0, ICMP_HLEN))}`);
  }
  const sent = req.frame.subarray(ETH_HLEN + IP_HLEN + ICMP_HLEN);
  if (!sameBytes(icmp.subarray(ICMP_HLEN), sent)) {
    fail(`${what}: payload differs from the request's`);
  }
}

// ---- The interface ----------------------------------------------------------

const memif = new Memif({
  role: opt.role,
  socketName: opt.socket,
  id: 0,
  dataroom: DATAROOM,
  ringCapacity: 1024,
});
memif.on("error", (err) => fail(`stream error: ${err}`));

const received = [];
let wake = null;
let downs = 0;
memif.on("data", (pkt) => {
  received.push(pkt);
  if (wake) {
    wake();
  }
});
memif.on("memif:down", () => {
  downs++;
  if (wake) {
    wake();
  }
});

// Resolves when pred() holds, checked after every event; fails at the deadline.
function until(pred, what) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`timed out waiting for ${what}`), TIMEOUT_MS);
    const check = () => {
      if (pred()) {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
    };
    wake = check;
    check();
  });
}

let ups = 0;
memif.on("memif:up", () => {
  ups++;
  if (wake) {
    wake();
  }
});

const fragments = (len) => Math.ceil(len / DATAROOM);
let txPackets = 0;
let txFragments = 0;

function send(frame) {
  memif.write(frame);
  txPackets++;
  txFragments += fragments(frame.length);
}

async function receive(n, what) {
  await until(() => received.length >= n, what);
  return received.splice(0, n);
}

// ---- The run ----------------------------------------------------------------

log(`socket ${opt.socket}, dataroom ${memif.dataroom}, waiting for the link`);
await until(() => memif.connected, "memif:up");
log("connected");

// The addon must run on the library under test, not on some other libmemif.
const maps = fs.readFileSync("/proc/self/maps", "utf8");
const libs = [...new Set(maps.split("\n").map((l) => l.split(/\s+/)[5]).filter(
  (p) => p && /\/libmemif\.so/.test(p)))];
const libDir = fs.realpathSync(opt["lib-dir"]);
if (libs.length !== 1 || path.dirname(fs.realpathSync(libs[0])) !== libDir) {
  fail(`the addon loaded libmemif from [${libs.join(", ")}], expected ${libDir}`);
}
log(`addon runs on ${libs[0]}`);

// A master's link is up when it answers CONNECT, before the slave has offered
// its first buffers (it refills once it learns the link is up): the first
// request may find no buffer and be dropped (the package counts it in
// nTxDropped). Send it again until it goes out.
let arpDrops = 0;
for (;;) {
  const before = memif.counters.nTxDropped;
  send(arpRequest());
  if (memif.counters.nTxDropped === before) {
    break;
  }
  txPackets--;
  txFragments--;
  if (++arpDrops === 100) {
    fail("the ARP request was dropped 100 times: the peer offers no buffers");
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
if (arpDrops) {
  log(`ARP request sent after ${arpDrops} drop(s): no buffer offered yet`);
}
const [arp] = await receive(1, "the ARP reply");
checkArpReply(arp);
log("ARP reply ok");

// One at a time: one buffer, exactly one buffer, just over, chained up to 9000.
const sizes = [60, 98, 1514, 2048, 2049, 4096, 6000, 9000];
for (const size of sizes) {
  const req = echoRequest(size);
  send(req.frame);
  const [reply] = await receive(1, `the reply to a ${size}-byte frame`);
  checkEchoReply(req, reply);
  log(`echo ${size} bytes (${fragments(size)} buffer(s) each way) ok`);
}

// A burst, sent back to back: several packets and chains in one rx burst
// (41 buffers, under the addon's rx burst of 64).
const burst = [9000, 60, 9000, 1514, 4097, 98, 9000, 2048, 9000, 60, 9000, 3000, 9000, 128];
const reqs = burst.map((size) => echoRequest(size));
for (const req of reqs) {
  send(req.frame);
}
const replies = await receive(reqs.length, `${reqs.length} replies to a burst`);
reqs.forEach((req, i) => checkEchoReply(req, replies[i]));
log(`burst of ${reqs.length} (${burst.reduce((s, n) => s + fragments(n), 0)} buffers) ok`);

// Nothing more may arrive; then the package's own counters.
await new Promise((resolve) => setTimeout(resolve, 200));
if (received.length !== 0) {
  fail(`${received.length} unexpected packet(s) after the replies`);
}
const c = memif.counters;
const want = {
  nTxPackets: txPackets,
  nTxFragments: txFragments,
  nTxDropped: arpDrops,
  nRxPackets: txPackets,
  nRxFragments: txFragments,
};
for (const [k, v] of Object.entries(want)) {
  if (c[k] !== BigInt(v)) {
    fail(`counter ${k} is ${c[k]}, expected ${v}`);
  }
}
log(`counters ok: ${txPackets} packets, ${txFragments} buffers each way, ${arpDrops} dropped`);

memif.destroy();
await until(() => downs === 1 && memif.destroyed, "memif:down after destroy()");
if (ups !== 1) {
  fail(`${ups} memif:up events, expected 1`);
}
console.log(`PASS: node-memif as ${opt.role} exchanged ${txPackets} packets with icmp-responder`);
