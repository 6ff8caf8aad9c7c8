// Second half of `npm run build`: tsc emits the JavaScript; this copies every file under src/ that
// tsc does not handle (the .wasm kernels, and any other asset a module loads next to itself) to the
// same place under dist/, so the compiled code finds them exactly as the sources do.
// Plain JavaScript on purpose: it runs during `npm ci`, before anything else could load TypeScript.
import { cpSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
cpSync(join(root, 'src'), join(root, 'dist'), {
  recursive: true,
  filter: (path) => !path.endsWith('.ts'),
});
