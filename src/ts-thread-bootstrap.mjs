// The first module of a pool thread whose real module is TypeScript (under tsx: development and
// tests; the compiled build's threads load their .js modules directly). It registers tsx's ESM loader
// in this thread, so static and dynamic imports of .ts modules all resolve, then hands piscina the
// real module's default export. ts-thread.ts puts both URLs in the pool's workerData.
import { workerData } from 'piscina';

const { tsxEsmApi, tsEntry } = workerData;
const { register } = await import(tsxEsmApi);
register();
const entry = await import(tsEntry);
export default entry.default;
