// `npm start`: the whole service on one machine. Redis (a private one when none answers and
// redis-server is installed), the API and one training worker, stopped together on Ctrl-C.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { startSupervisor } from './supervisor.js';

// The services next to this file: the compiled .js under dist/, or the .ts sources under tsx.
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const script = (relative: string) => fileURLToPath(new URL(`${relative}.${ext}`, import.meta.url));

async function main(): Promise<number> {
  const config = loadConfig();
  const supervisor = await startSupervisor({
    config,
    services: [
      { name: 'api', script: script('../http/server') },
      { name: 'worker', script: script('../worker/main') },
    ],
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => supervisor.stop(signal === 'SIGHUP' ? 'SIGTERM' : signal));
  }
  return supervisor.done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Startup problems are for a person to fix: the message, not a stack trace.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`[start] ${message}`);
    process.exit(1);
  },
);
