/**
 * `npm run bench`: builds, then prints ONE JSON document on stdout, one key
 * per benchmark section:
 *
 * - `cardLink`: the card-link benchmark (card-link-bench.ts);
 * - `purse`: payments end to end and disk bytes per payment (purse-measure.ts;
 *   alone: `node dist/test/bench/purse-bench.js`);
 * - `delegated`: latency, throughput, CPU per process and the per-stage
 *   breakdown of an authorization (delegated-bench.ts; alone: delegated-main.js);
 * - `gateway`: `gateway run` alone, start-up and memory by phase
 *   (gateway-bench.ts; alone: `node dist/test/bench/gateway-main.js`);
 * - `mqtt`: decision → mail through Mosquitto, dashboard state rate under a
 *   flapping input, start-up to retained `online` (mqtt-bench.ts);
 * - `cardEmulator`: the card emulator's CPU per authorization (card-emulator-cpu.ts;
 *   alone: `node dist/test/bench/card-emulator-bench.js`);
 * - `device`: bundle size per architecture, start-up of a flashed gateway,
 *   native and under qemu (device-bench.ts; alone: `node dist/test/bench/device-main.js`);
 * - `socket`: the card socket: insertion to ready, removal to card-absent, SIGN
 *   before and after PPS, T=1 framing at IFSC 32 and 254 (socket-bench.ts).
 *
 * Progress and errors go to stderr.
 * For the bare JSON: `npm run -s bench`, or `node dist/test/bench/run.js`.
 */
import { runCardLinkBench } from './card-link-bench.js';
import { runPurseBench } from './purse-measure.js';
import { runDelegatedBench } from './delegated-bench.js';
import { runMqttBench } from './mqtt-bench.js';
import { runCardEmulatorBench } from './card-emulator-cpu.js';
import { runDeviceBench } from './device-bench.js';
import { runSocketBench } from './socket-bench.js';
import { runGatewayBench } from './gateway-bench.js';

try {
  const result: Record<string, unknown> = {};

  // ---- card link ----
  result.cardLink = await runCardLinkBench();

  // ---- purse ----
  result.purse = await runPurseBench();

  // ---- card emulator CPU per authorization (card-emulator-cpu.ts) ----
  result.cardEmulator = await runCardEmulatorBench();

  // ---- delegated path (delegated-bench.ts; alone: node dist/test/bench/delegated-main.js) ----
  result.delegated = await runDelegatedBench();
  result.gateway = await runGatewayBench(); // gateway run alone: start-up and memory (gateway-bench.ts)

  // ---- MQTT: mail latency, dashboard state rate, start-up (mqtt-bench.ts; alone: node dist/test/bench/mqtt-bench.js) ----
  result.mqtt = await runMqttBench();

  // ---- device: bundle sizes, start-up from a bundle, native and emulated (device-bench.ts) ----
  result.device = await runDeviceBench();

  // ---- card socket (socket-bench.ts; alone: node dist/test/bench/socket-main.js) ----
  result.socket = await runSocketBench();

  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (e) {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
