/**
 * A child process for the SIGKILL-mid-append test: appends `{ n, pad }`
 * records to the log named in argv[2] as fast as it can and prints `n` to
 * stdout once each append resolved (is durable). Killed from outside.
 */
import { RecordLog } from '../../card-io/durable/record-log.js';

const [path, padBytes] = [process.argv[2]!, Number(process.argv[3] ?? '64')];
const { log, records } = await RecordLog.open<{ n: number; pad: string }>(path);
const pad = 'x'.repeat(padBytes);
for (let n = records.length; ; n++) {
  await log.append({ n, pad });
  process.stdout.write(`${n}\n`);
}
