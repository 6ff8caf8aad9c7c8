// onnxruntime-node 1.17.0 ships without its index.d.ts; its API is onnxruntime-common's.
declare module 'onnxruntime-node' {
  export * from 'onnxruntime-common';
}
