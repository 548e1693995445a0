// `stack run -d --rm`'s reaper, a detached process: `node oneoff-reaper.js PROJECT NAME` waits
// until the one-off's command has ended, then removes the one-off (oneoff-remove.ts). It goes
// without doing anything when the one-off is removed meanwhile (`stack down`). It reads the
// state root from STACK_ROOT like every stack command.
import { setTimeout as sleep } from 'node:timers/promises';
import { readSnapshot } from '../../state/snapshot.js';
import { isSameProcess } from '../../sys/proc.js';
import { stateRoots } from '../../state/paths.js';
import { serviceRecords } from '../../state/records.js';
import { supervisorControl } from '../../supervisor/index.js';
import { executorEnv } from './executor-env.js';
import { removeOneOff } from './oneoff-remove.js';
import { ONE_OFF_LABEL } from '../../planner/oneoff.js';

const POLL_MS = 200;

async function main(project: string, name: string): Promise<void> {
  const roots = stateRoots(process.env);
  for (;;) {
    const record = await serviceRecords.read(roots, project, name).catch(() => undefined);
    if (!record) return; // removed meanwhile
    if (!record.process || !isSameProcess(record.process.pid, record.process.startTime)) break;
    await sleep(POLL_MS);
  }
  const snapshot = await readSnapshot(roots, project);
  if (!snapshot) return;
  // The project as up applied it, without the one-offs the snapshot also carries.
  const services = Object.fromEntries(Object.entries(snapshot.project.services).filter(([, s]) => s.labels[ONE_OFF_LABEL] === undefined));
  await removeOneOff(executorEnv({ env: process.env }, supervisorControl(roots)), { ...snapshot.project, services }, name);
}

const [project, name] = process.argv.slice(2);
if (project === undefined || name === undefined) {
  process.stderr.write('usage: oneoff-reaper PROJECT NAME\n');
  process.exitCode = 2;
} else {
  main(project, name).catch((e: unknown) => {
    process.stderr.write(`stack run --rm: removing ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
