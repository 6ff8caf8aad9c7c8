// A training thread for the pool's tests: the real one (src/worker/train-thread.ts), except for two
// dataset ids that misbehave. `ds_exit` ends its thread mid-job (process.exit in a worker thread
// ends only that thread); `ds_hang` computes without ever yielding, so only terminating the thread
// stops it.
import train from '../../src/worker/train-thread.js';
import type { TrainTask } from '../../src/worker/thread-protocol.js';

export default async function misbehavingTrain(task: TrainTask): Promise<void> {
  if (task.input.spec.datasetId === 'ds_exit') process.exit(3);
  if (task.input.spec.datasetId === 'ds_hang') {
    const until = Date.now() + 10 * 60_000;
    while (Date.now() < until) {
      // busy: the thread's event loop never runs, so the abort message is never read
    }
  }
  return train(task);
}
